//! The HTTP server: [`App::builder`] assembles the application (the binary, the tests and
//! the benches all build it so), [`App::serve`] serves it until a shutdown signal, then stops
//! accepting, lets requests finish within a bound, and returns so the caller can flush the
//! store.
//!
//! Routes: POST and GET `/graphql` (the GraphQL-over-HTTP edge: [`http`]), GraphQL over WebSocket (graphql-transport-ws) at
//! `/graphql/ws`, GraphiQL at `/` from assets embedded in the binary, `/health` (liveness),
//! `/ready` (readiness), `/metrics` (Prometheus, unless turned off), the downloads at
//! `/export/…` ([`downloads`]) and the Tracker's printable snapshots at `/snapshots/…`
//! ([`snapshots`]).
//!
//! Layers, outermost first, around the whole router ([`EdgeService`]): the request log and
//! metrics ([`observe`]), CORS, the request timeout (body upload included); on the GraphQL
//! routes only, the rate limit ([`rate_limit`]). Connection deadlines are the accept loop's ([`serve`]).
//!
//! Each HTTP request gets the catalog snapshot current when it arrives (so every field of
//! the response agrees) and its caller, from the `Authorization: Bearer` header. A WebSocket
//! connection gives its token in the `connection_init` payload (`{"Authorization": "Bearer
//! …"}`). A token that is given but not valid is refused (`UNAUTHENTICATED`, HTTP 401), as is
//! a request without one when the server requires tokens for reading.

mod app;
pub mod charts;
pub mod cors;
pub mod downloads;
pub mod graphiql;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod observe;
pub mod outcome;
pub mod rate_limit;
pub mod serve;
pub mod snapshots;
pub mod ws;

pub use app::{App, AppBuilder};

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;

use crate::graphql::auth::{unauthenticated, Principal};
use crate::graphql::Api;
use crate::live::Live;

/// How the HTTP layer behaves, beyond the schema's own limits.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Origins allowed by CORS; empty means same-origin only, `*` means any.
    pub cors_origins: Vec<String>,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Refuse queries without a valid token (of any role).
    pub require_token: bool,
    /// GraphQL over WebSocket (`/graphql/ws`).
    pub ws: ws::WsOptions,
    /// Requests per second per token (or per client address without one), with a burst of as
    /// many; `None`: no limit.
    pub rate_limit: Option<NonZeroU32>,
    /// Serve `/metrics` and count requests for it.
    pub metrics: bool,
    /// Keep the parsed documents of recent queries, per thread ([`http`]'s `documents`), so
    /// a query sent again (a dashboard's, a page's) is not parsed again.
    pub document_cache: bool,
    /// Longest wait for a request's headers, from the connection's start or the previous
    /// response (so also the keep-alive idle limit).
    pub header_read_timeout: Duration,
    /// Most connections served at once (more wait in the listen backlog).
    pub max_connections: usize,
    /// Longest wait, once shutting down, for in-flight requests before connections are cut.
    pub shutdown_timeout: Duration,
    /// Most operations in one batch (a JSON array body); 0 turns batches off.
    pub max_batch: usize,
    /// How long a GET response may be reused (`Cache-Control: max-age`); its `ETag` follows
    /// every write.
    pub cache_max_age: Duration,
    /// The operator's allow-list of persisted queries (`--persisted-queries FILE`).
    pub persisted_queries: Option<Arc<http::PersistedQueryManifest>>,
    /// Run only the queries of the allow-list (and register no new ones).
    pub only_persisted: bool,
    /// Most documents kept from clients' automatic persisted query registrations.
    pub persisted_query_cache_entries: usize,
    /// Most bytes of documents kept from those registrations.
    pub persisted_query_cache_bytes: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            cors_origins: vec![],
            max_body_bytes: 1 << 20,
            request_timeout: Duration::from_secs(30),
            require_token: false,
            ws: ws::WsOptions::default(),
            rate_limit: None,
            metrics: true,
            document_cache: true,
            header_read_timeout: Duration::from_secs(10),
            max_connections: 4096,
            shutdown_timeout: Duration::from_secs(10),
            max_batch: 10,
            cache_max_age: Duration::from_secs(5),
            persisted_queries: None,
            only_persisted: false,
            persisted_query_cache_entries: 1000,
            persisted_query_cache_bytes: 4 << 20,
        }
    }
}

/// What the handlers share. One `Arc`: axum clones the state for every request, and one
/// reference count is cheaper than the five of its parts (benches/README).
#[derive(Clone)]
struct AppState(Arc<Shared>);

struct Shared {
    api: Api,
    live: Arc<Live>,
    require_token: bool,
    ws: Arc<ws::Gate>,
    edge: Arc<http::Edge>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl Shared {
    /// The caller, or why it is refused.
    fn principal(&self, authorization: Option<&str>) -> Result<Principal, async_graphql::Error> {
        match Principal::from_header(self.live.store(), authorization) {
            Principal::Invalid => Err(unauthenticated(
                "the bearer token is not valid (mistyped, or revoked)",
            )),
            Principal::Anonymous if self.require_token => Err(unauthenticated(
                "this server requires a token: send `Authorization: Bearer <token>`",
            )),
            p => Ok(p),
        }
    }
}

/// Every route of [`router`], as axum writes its pattern: the `route` label of the
/// metrics (the edge layers wrap the whole router, where axum's `MatchedPath` is not known
/// yet; a test checks this list against the router).
pub const ROUTES: &[&str] = &[
    "/graphql",
    "/graphql/ws",
    "/export/{file}",
    "/snapshots",
    "/snapshots/regions/{group}",
    "/snapshots/countries/{code}",
    "/health",
    "/ready",
    "/metrics",
    "/",
    "/assets/{file}",
    "/licenses",
];

/// The pattern of [`ROUTES`] that `path` matches (a `{name}` is one non-empty segment), or
/// `unmatched`.
pub fn route_label(path: &str) -> &'static str {
    // The common case first, without looking at the list.
    if path == "/graphql" {
        return "/graphql";
    }
    let matches = |pattern: &str| {
        let mut given = path.split('/');
        let mut wanted = pattern.split('/');
        loop {
            match (given.next(), wanted.next()) {
                (None, None) => return true,
                (Some(g), Some(w)) if w.starts_with('{') => {
                    if g.is_empty() {
                        return false;
                    }
                }
                (Some(g), Some(w)) if g == w => {}
                _ => return false,
            }
        }
    };
    ROUTES
        .iter()
        .find(|pattern| matches(pattern))
        .copied()
        .unwrap_or("unmatched")
}

/// The application's routes, without the edge layers of [`edge`] (see [`App::builder`]).
fn router(
    api: Api,
    live: Arc<Live>,
    options: &HttpOptions,
    limiter: Option<Arc<rate_limit::RateLimiter>>,
    metrics: Option<Arc<metrics::Metrics>>,
) -> Router {
    let state = AppState(Arc::new(Shared {
        api,
        live: live.clone(),
        require_token: options.require_token,
        ws: Arc::new(ws::Gate::new(
            options.ws.clone(),
            options.max_body_bytes,
            options.cors_origins.clone(),
        )),
        edge: Arc::new(http::Edge::new(options)),
    }));
    let mut graphql_routes = Router::new()
        .route("/graphql", get(http::graphql).post(http::graphql))
        .route("/graphql/ws", get(ws::graphql_ws))
        .merge(downloads::router())
        .merge(snapshots::router())
        .with_state(state);
    if let Some(limiter) = limiter {
        graphql_routes = graphql_routes.route_layer(axum::middleware::from_fn_with_state(
            limiter,
            rate_limit::limit,
        ));
    }
    let mut router = graphql_routes
        .route("/health", get(health))
        .route("/ready", get(ready).with_state(live))
        .merge(graphiql::router());
    if let Some(metrics) = metrics {
        router = router.route("/metrics", get(metrics::scrape).with_state(metrics));
    }
    // No body-limit layer: `/graphql` is the only route that reads a body and enforces
    // `max_body_bytes` itself, so that announced and streamed bodies both get a JSON 413.
    router
}

/// The router under the edge layers, outermost first: the request log and metrics
/// ([`observe`]), CORS ([`cors`]), the request timeout (body upload included).
pub type EdgeService =
    observe::Observe<cors::CorsForOriginsService<tower_http::timeout::Timeout<Router>>>;

/// Wraps the whole router in the edge layers, once. Not with `Router::layer`, which wraps
/// every route apart: that costs, for every request and layer, a boxed copy of the route's
/// service and a boxed future (benches/README, "the framework floor").
fn edge(
    router: Router,
    options: &HttpOptions,
    metrics: Option<Arc<metrics::Metrics>>,
) -> EdgeService {
    let permissive = options.cors_origins.iter().any(|o| o == "*");
    let cors = if permissive {
        CorsLayer::permissive()
    } else {
        let origins: Vec<HeaderValue> = options
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                axum::http::header::CONTENT_TYPE,
                axum::http::header::AUTHORIZATION,
            ])
    };
    tower::ServiceBuilder::new()
        .layer(observe::ObserveLayer { metrics })
        .layer(cors::CorsForOrigins {
            cors: Arc::new(cors),
            all: permissive,
        })
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            options.request_timeout,
        ))
        .service(router)
}

/// Liveness: the process answers. Touches nothing.
async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the store answers and a snapshot is loaded; 503 once shutting down.
async fn ready(State(live): State<Arc<Live>>) -> Response {
    let version = env!("CARGO_PKG_VERSION");
    let generation = live.snapshot().generation;
    let shutting_down = *live.on_shutdown().borrow();
    // One read of a kept counter: cheap, and it fails if the store cannot be read.
    let store = live
        .store()
        .count(crate::store::Entity::Recommendation)
        .is_ok();
    // On a replicated store: whether the snapshot follows the store's feed (while it
    // reloads, it serves an older snapshot: out of rotation until it caught up).
    let replica = live.replica_state();
    let following = replica.as_ref().is_none_or(|r| r.following);
    let (status, word) = match (shutting_down, store, following) {
        (true, _, _) => (StatusCode::SERVICE_UNAVAILABLE, "shutting down"),
        (false, false, _) => (StatusCode::SERVICE_UNAVAILABLE, "store unreadable"),
        (false, true, false) => (StatusCode::SERVICE_UNAVAILABLE, "reloading"),
        (false, true, true) => (StatusCode::OK, "ready"),
    };
    let mut body = serde_json::json!({
        "status": word,
        "version": version,
        "store": if store { "open" } else { "unreadable" },
        "snapshotGeneration": generation,
    });
    if let Some(r) = replica {
        body["replica"] = serde_json::json!({
            "following": r.following,
            "revision": r.revision,
            "commits": r.commits,
            "reloads": r.reloads,
            "lastReload": r.last_reload,
        });
    }
    (status, Json(body)).into_response()
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
