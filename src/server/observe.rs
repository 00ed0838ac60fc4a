//! The outermost layer: one log line per request, and its metrics when they are on.
//!
//! The line carries the method and the path (never the query string: a secret sent in a GET
//! parameter must not reach the log), the status, the latency, and the operation name that
//! the GraphQL handler left in the response's [`GraphqlOutcome`]. It is one event, written
//! once the response is ready, and no span: a span per request would add its creation, the
//! formatting of its fields and an enter and exit at every poll of the request's future, and
//! per-request logging is already the largest cost of a `{ __typename }` (benches/README).
//! The binary writes the line itself ([`super::logs::request_finished`]), in batches from a
//! background thread, so this never waits on stderr.
//!
//! The layer wraps the whole router, not each route (as `Router::layer` would, with a boxed
//! service clone and a boxed future per layer and request), so its future is a plain struct
//! and the route label comes from [`super::route_label`] rather than axum's `MatchedPath`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{Method, Uri};
use axum::response::Response;
use tower::{Layer, Service};

use crate::server::logs::{self, RequestLine};
use crate::server::metrics::Metrics;
use crate::server::outcome::GraphqlOutcome;

#[derive(Clone)]
pub struct ObserveLayer {
    pub metrics: Option<Arc<Metrics>>,
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    metrics: Option<Arc<Metrics>>,
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ObserveFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let method = request.method().clone();
        // A reference to the request's URI bytes, not a copy; only its path is ever logged.
        let uri = request.uri().clone();
        ObserveFuture {
            inner: self.inner.call(request),
            started,
            method,
            uri,
            metrics: self.metrics.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response of the inner service, then the log line and the metrics.
    pub struct ObserveFuture<F> {
        #[pin]
        inner: F,
        started: Instant,
        method: Method,
        uri: Uri,
        metrics: Option<Arc<Metrics>>,
    }
}

impl<F> Future for ObserveFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(response) = ready!(this.inner.poll(cx));
        let elapsed = this.started.elapsed();
        let outcome = response.extensions().get::<GraphqlOutcome>();
        let operation = outcome.and_then(|o| o.operation.as_deref());
        let code = outcome.and_then(|o| o.codes.first()).map(String::as_str);
        let path = this.uri.path();
        logs::request_finished(&RequestLine {
            method: this.method,
            path,
            status: response.status().as_u16(),
            latency_us: elapsed.as_micros() as u64,
            operation,
            code,
        });
        if let Some(m) = this.metrics.as_ref() {
            // The route pattern, not the path: a bounded set of label values.
            m.observe(
                super::route_label(path),
                response.status(),
                operation,
                code,
                elapsed,
            );
        }
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::live::Live;
    use crate::server::serve::ConnectionStats;
    use crate::store::Store;
    use axum::routing::get;
    use tower::ServiceExt;

    /// What the GraphQL handler leaves in its response is what the metrics count.
    #[tokio::test]
    async fn requests_are_counted_by_the_operation_and_code_the_handler_reports() {
        let store = Arc::new(Store::temporary().unwrap());
        let live = Arc::new(Live::new(store.clone(), Catalog::load(&store).unwrap()));
        let metrics = Arc::new(Metrics::new(
            live,
            Arc::new(ConnectionStats::default()),
            None,
            false,
        ));
        let router = axum::Router::new()
            .route(
                "/graphql",
                get(|| async {
                    let mut r = Response::new(axum::body::Body::empty());
                    r.extensions_mut().insert(GraphqlOutcome {
                        operation: Some("Probe".into()),
                        codes: vec!["BAD_USER_INPUT".into(), "INTERNAL".into()],
                        operations: 1,
                    });
                    r
                }),
            )
            .layer(ObserveLayer {
                metrics: Some(metrics.clone()),
            });
        for _ in 0..3 {
            let request = Request::get("/graphql?secret=x").body(axum::body::Body::empty());
            router.clone().oneshot(request.unwrap()).await.unwrap();
        }
        let text = metrics.render();
        assert!(
            text.contains(
                "recover_better_http_requests_total{code=\"BAD_USER_INPUT\",operation=\"Probe\",route=\"/graphql\",status=\"200\"} 3"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "recover_better_http_request_duration_seconds_count{operation=\"Probe\",route=\"/graphql\"} 3"
            ),
            "{text}"
        );
    }

    /// The metrics' route labels, which the edge computes from the path, are the patterns
    /// the application's router matches, for every route (and `unmatched` for none).
    #[tokio::test]
    async fn route_labels_are_the_patterns_the_router_matches() {
        use crate::server::{route_label, App, ROUTES};
        let store = Arc::new(Store::temporary().unwrap());
        let app = App::builder(store).build().unwrap();
        // Each route tells, in a header, the pattern axum matched for it.
        let router = app.router.layer(axum::middleware::from_fn(
            |request: Request, next: axum::middleware::Next| async move {
                let matched = request
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .cloned();
                let mut response = next.run(request).await;
                if let Some(m) = matched {
                    let value = axum::http::HeaderValue::from_str(m.as_str()).unwrap();
                    response.headers_mut().insert("x-matched", value);
                }
                response
            },
        ));
        for pattern in ROUTES {
            let path = pattern
                .split('/')
                .map(|s| if s.starts_with('{') { "x1" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let path = if path.is_empty() {
                "/".to_owned()
            } else {
                path
            };
            assert_eq!(route_label(&path), *pattern, "{path}");
            let response = router
                .clone()
                .oneshot(Request::get(&path).body(axum::body::Body::empty()).unwrap())
                .await
                .unwrap();
            let matched = response.headers().get("x-matched");
            assert_eq!(
                matched.and_then(|m| m.to_str().ok()),
                Some(*pattern),
                "{path}: {:?}",
                response.status()
            );
        }
        for path in [
            "/nope",
            "/graphql/x",
            "/export",
            "/export/",
            "/snapshots/regions",
            "",
        ] {
            assert_eq!(route_label(path), "unmatched", "{path}");
        }
    }
}
