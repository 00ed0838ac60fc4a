//! The outermost layer: one log line per request, and its metrics when they are on.
//!
//! The line carries the method and the path (never the query string: a secret sent in a GET
//! parameter must not reach the log), the status, the latency, and the operation name that
//! the GraphQL handler left in the response's [`GraphqlOutcome`]. It is one event, written
//! once the response is ready, and no span: a span per request would add its creation, the
//! formatting of its fields and an enter and exit at every poll of the request's future, and
//! per-request logging is already the largest cost of a `{ __typename }` (benches/README). Lines are written in
//! batches by a background thread ([`super::logs`]), so this never waits on stderr.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use tower::{Layer, Service};

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
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        // The route pattern, not the path: a bounded set of label values.
        let route = request.extensions().get::<MatchedPath>().cloned();
        let method = request.method().clone();
        // The path only: never the query string.
        let path = request.uri().path().to_owned();
        let response = self.inner.call(request);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let Ok(response) = response.await;
            let elapsed = started.elapsed();
            let outcome = response.extensions().get::<GraphqlOutcome>();
            let operation = outcome.and_then(|o| o.operation.as_deref());
            let code = outcome.and_then(|o| o.codes.first()).map(String::as_str);
            tracing::info!(
                method = %method,
                path,
                status = response.status().as_u16(),
                latency_us = elapsed.as_micros() as u64,
                operation,
                code,
                "finished"
            );
            if let Some(m) = metrics {
                let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
                m.observe(route, response.status(), operation, code, elapsed);
            }
            Ok(response)
        })
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
}
