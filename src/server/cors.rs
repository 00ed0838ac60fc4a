//! CORS for a list of origins, without its cost for requests that are not cross-origin.
//!
//! `tower_http`'s CORS layer builds a header map and a `Vary` value (three allocations) for
//! every request, although a request without an `Origin` header (curl, servers, same-origin
//! GETs) gets nothing from it but that `Vary` header. Such requests (other than `OPTIONS`)
//! skip the layer here and get the same `Vary` header, a static value; every other request
//! goes through `tower_http`'s layer as before. Used for a list of origins only: the
//! permissive layer (`--cors-origin '*'`) adds headers to every response, so it is used
//! whole.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::header::{self, HeaderValue};
use axum::http::Method;
use axum::response::Response;
use futures_util::future::{Either, FutureExt, Map};
use tower::{Layer, Service};
use tower_http::cors::{Cors, CorsLayer};

/// The `Vary` header `tower_http`'s layer adds to every response (its default list).
fn vary() -> HeaderValue {
    HeaderValue::from_static(
        "origin, access-control-request-method, access-control-request-headers",
    )
}

/// [`CorsLayer`] for requests with an `Origin` header and preflights; its `Vary` for the rest.
#[derive(Clone)]
pub struct CorsForOrigins {
    pub cors: CorsLayer,
}

impl<S: Clone> Layer<S> for CorsForOrigins {
    type Service = CorsForOriginsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CorsForOriginsService {
            cors: self.cors.layer(inner.clone()),
            inner,
        }
    }
}

#[derive(Clone)]
pub struct CorsForOriginsService<S> {
    cors: Cors<S>,
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
        // Both are the same (always ready) router service; each is asked as it is called.
        match self.cors.poll_ready(cx) {
            Poll::Ready(Ok(())) => self.inner.poll_ready(cx),
            other => other,
        }
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if request.method() == Method::OPTIONS || request.headers().contains_key(header::ORIGIN) {
            Either::Left(self.cors.call(request))
        } else {
            Either::Right(
                self.inner
                    .call(request)
                    .map(add_vary as fn(Result<Response, Infallible>) -> _),
            )
        }
    }
}
