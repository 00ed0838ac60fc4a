//! The HTTP server: `app(schema)` is the router (tests call it directly), `run` serves it
//! until a shutdown signal, then stops accepting, lets requests finish, and returns so the
//! caller can flush the store.
//!
//! Routes: POST and GET `/graphql`, GraphQL over WebSocket (graphql-transport-ws) at
//! `/graphql/ws`, GraphiQL at `/` from assets embedded in the binary, `/health`.
//!
//! Each HTTP request gets the catalog snapshot current when it arrives (so every field of
//! the response agrees) and its caller, from the `Authorization: Bearer` header. A WebSocket
//! connection gives its token in the `connection_init` payload (`{"Authorization": "Bearer
//! …"}`). A token that is given but not valid is refused (`UNAUTHENTICATED`, HTTP 401), as is
//! a request without one when the server requires tokens for reading.

pub mod graphiql;
pub mod outcome;

use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::{Data, ErrorExtensions};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLProtocol, GraphQLResponse, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;
use tracing::Level;

use crate::graphql::auth::{unauthenticated, Principal};
use crate::graphql::object::Snapshot;
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
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            cors_origins: vec![],
            max_body_bytes: 1 << 20,
            request_timeout: Duration::from_secs(30),
            require_token: false,
        }
    }
}

#[derive(Clone)]
struct AppState {
    api: Api,
    live: Arc<Live>,
    require_token: bool,
}

impl AppState {
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

async fn graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: GraphQLBatchRequest,
) -> Response {
    let authorization = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let principal = match state.principal(authorization) {
        Ok(p) => p,
        Err(e) => {
            let mut error = e.extend().into_server_error(async_graphql::Pos::default());
            error.locations.clear(); // not an error of the query's text
            let response = async_graphql::Response::from_errors(vec![error]);
            return (StatusCode::UNAUTHORIZED, GraphQLResponse::from(response)).into_response();
        }
    };
    let snapshot = state.live.snapshot();
    let request = request.into_inner();
    let request = match request {
        async_graphql::BatchRequest::Single(r) => {
            async_graphql::BatchRequest::Single(r.data(principal).data(Snapshot::new(snapshot)))
        }
        async_graphql::BatchRequest::Batch(rs) => async_graphql::BatchRequest::Batch(
            rs.into_iter()
                .map(|r| {
                    r.data(principal.clone())
                        .data(Snapshot::new(snapshot.clone()))
                })
                .collect(),
        ),
    };
    GraphQLResponse::from(state.api.execute_batch(request).await).into_response()
}

async fn graphql_ws(
    State(state): State<AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            let mut shutdown = state.live.on_shutdown();
            let auth = state.clone();
            let connection = GraphQLWebSocket::new(socket, state.api.clone(), protocol)
                .on_connection_init(move |payload: serde_json::Value| async move {
                    let field = |k: &str| payload.get(k).and_then(|v| v.as_str());
                    let header = field("Authorization")
                        .or_else(|| field("authorization"))
                        .map(str::to_owned)
                        .or_else(|| field("authToken").map(|t| format!("Bearer {t}")));
                    let principal = auth.principal(header.as_deref())?;
                    let mut data = Data::default();
                    data.insert(principal);
                    Ok(data)
                })
                .serve();
            tokio::select! {
                _ = connection => {}
                _ = shutdown.wait_for(|&down| down) => {}
            }
        })
}

/// The whole application as a router.
pub fn app(api: Api, live: Arc<Live>, options: &HttpOptions) -> Router {
    let cors = if options.cors_origins.iter().any(|o| o == "*") {
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
    let state = AppState {
        api,
        live,
        require_token: options.require_token,
    };
    Router::new()
        .route("/graphql", get(graphql).post(graphql))
        .route("/graphql/ws", get(graphql_ws))
        .with_state(state)
        .route("/health", get(health))
        .merge(graphiql::router())
        .layer(RequestBodyLimitLayer::new(options.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            options.request_timeout,
        ))
        .layer(cors)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_request(())
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(LatencyUnit::Micros),
                ),
        )
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn run(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
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
