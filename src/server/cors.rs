//! CORS without its cost for requests that are not cross-origin.
//!
//! `tower_http`'s CORS layer builds a header map and a `Vary` value (three allocations) for
//! every request, and its service holds a copy of the whole configuration (the origin list
//! included), which is cloned with the service for every request. A request without an
//! `Origin` header (curl, servers, same-origin GETs) gets nothing from it but that `Vary`
//! header: such requests (other than `OPTIONS`) skip the layer here and get the same `Vary`
//! header, a static value; every other request goes through `tower_http`'s layer, built for
//! it from the shared configuration. With `--cors-origin '*'` (permissive: headers on every
//! response), every request goes through `tower_http`'s layer.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::header::{self, HeaderValue};
use axum::http::Method;
use axum::response::Response;
use futures_util::future::{Either, FutureExt, Map};
use tower::{Layer, Service};
use tower_http::cors::CorsLayer;

/// The `Vary` header `tower_http`'s layer adds to every response (its default list).
fn vary() -> HeaderValue {
    HeaderValue::from_static(
        "origin, access-control-request-method, access-control-request-headers",
    )
}

/// [`CorsLayer`] for requests with an `Origin` header and preflights (every request when
/// `all`); its `Vary` for the rest.
#[derive(Clone)]
pub struct CorsForOrigins {
    pub cors: Arc<CorsLayer>,
    pub all: bool,
}

impl<S> Layer<S> for CorsForOrigins {
    type Service = CorsForOriginsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CorsForOriginsService {
            cors: self.cors.clone(),
            all: self.all,
            inner,
        }
    }
}

#[derive(Clone)]
pub struct CorsForOriginsService<S> {
    cors: Arc<CorsLayer>,
    all: bool,
    inner: S,
}

type AddVary<F> = Map<F, fn(Result<Response, Infallible>) -> Result<Response, Infallible>>;

fn add_vary(response: Result<Response, Infallible>) -> Result<Response, Infallible> {
    let Ok(mut response) = response;
    response.headers_mut().append(header::VARY, vary());
    Ok(response)
}

impl<S> Service<Request> for CorsForOriginsService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<tower_http::cors::ResponseFuture<S::Future>, AddVary<S::Future>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if self.all
            || request.method() == Method::OPTIONS
            || request.headers().contains_key(header::ORIGIN)
        {
            // The inner service was made ready by `poll_ready`; the clone given to the CORS
            // layer takes its place, as tower's `Oneshot` would.
            let inner = self.inner.clone();
            let inner = std::mem::replace(&mut self.inner, inner);
            Either::Left(self.cors.layer(inner).call(request))
        } else {
            Either::Right(
                self.inner
                    .call(request)
                    .map(add_vary as fn(Result<Response, Infallible>) -> _),
            )
        }
    }
}
