//! GraphQL over WebSocket at `/graphql/ws`: the graphql-transport-ws protocol
//! (<https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md>), implemented here so
//! that every part a client controls has a limit. (The older subscriptions-transport-ws
//! protocol, `graphql-ws`, is not spoken: a client that offers only it is refused.)
//!
//! Before the upgrade: the `Origin` header, when there is one, must be the server's own or
//! one of the CORS origins (`403` otherwise: a web page elsewhere cannot ride a visitor's
//! network position); open connections are capped per client address and in all (`429`).
//!
//! After it: `connection_init` must come within [`WsOptions::init_timeout`] (else close
//! 4408), once (4429), with a valid token when one is given or the server requires one
//! (4403). Then each `subscribe` runs one operation through [`crate::graphql::Api`], with
//! the token resolved again (a revoked token's operations are refused with
//! `UNAUTHENTICATED`; when it is revoked, its running subscriptions end with that error). A
//! message larger than the HTTP body limit closes the connection (1009); one that is not a
//! protocol message closes it with 4400; an id already running, with 4409; a `subscribe`
//! before the acknowledgement, with 4401. At most [`WsOptions::max_operations`] operations
//! run at once per connection (the next gets an `error`, `TOO_MANY_OPERATIONS`).
//!
//! A connection quiet for [`WsOptions::keepalive`] is pinged (a WebSocket ping, which
//! clients answer by themselves), and closed with 4504 if it stays quiet as long again.
//!
//! Writes to the socket have a deadline ([`WsOptions::write_timeout`]): a client that does
//! not read is disconnected. Until then its operations wait on a small outbox, so their
//! event queues (in [`crate::live`]) fill to their budget and are dropped: a client that
//! does not read costs bounded memory.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::{ErrorExtensions, Executor, Response as GqlResponse, ServerError};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{BoxStream, SplitSink};
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::AppState;
use crate::graphql::auth::Principal;

/// The subprotocol spoken.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// Messages waiting for the socket, per connection. Small: what waits here is not yet
/// accounted to any subscriber's budget.
const OUTBOX: usize = 16;

/// The limits of GraphQL over WebSocket.
#[derive(Debug, Clone)]
pub struct WsOptions {
    /// Operations (subscriptions, and queries or mutations in progress) per connection.
    pub max_operations: usize,
    /// Open connections in all.
    pub max_connections: usize,
    /// Open connections per client IP address.
    pub max_connections_per_ip: usize,
    /// How long a new connection may take to send `connection_init`.
    pub init_timeout: Duration,
    /// How long one message may take to reach a client before it is disconnected.
    pub write_timeout: Duration,
    /// After this long without a message from the client, a WebSocket ping is sent (browsers
    /// and client libraries answer it by themselves); after as long again without one, the
    /// connection is closed with 4504. Keeps proxies from closing quiet subscriptions, and
    /// frees the place of a client that vanished without closing. `None`: never.
    pub keepalive: Option<Duration>,
}

impl Default for WsOptions {
    fn default() -> Self {
        WsOptions {
            max_operations: 100,
            max_connections: 4096,
            max_connections_per_ip: 64,
            init_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            keepalive: Some(Duration::from_secs(30)),
        }
    }
}

/// Who may open a connection: origins, and how many are open (in all and per address).
pub(super) struct Gate {
    options: WsOptions,
    max_message: usize,
    cors_origins: Vec<String>,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// A connection's place in the counts, given back when it is dropped.
struct Permit {
    gate: Arc<Gate>,
    ip: Option<IpAddr>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.gate.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total -= 1;
        if let Some(ip) = self.ip {
            if let Some(n) = open.by_ip.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    open.by_ip.remove(&ip);
                }
            }
        }
    }
}

/// A refusal before the upgrade, as a GraphQL-shaped JSON body with a code.
fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body =
        serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, axum::Json(body)).into_response()
}

impl Gate {
    pub(super) fn new(options: WsOptions, max_message: usize, cors_origins: Vec<String>) -> Gate {
        Gate {
            options,
            max_message,
            cors_origins,
            open: Mutex::default(),
        }
    }

    /// No `Origin` (not a browser), the server's own, or one of the CORS origins.
    fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        if self.cors_origins.iter().any(|o| o == "*" || o == origin) {
            return true;
        }
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
    }

    fn admit(self: &Arc<Self>, ip: Option<IpAddr>) -> Result<Permit, Full> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.total >= self.options.max_connections {
            return Err(Full::Server);
        }
        if let Some(ip) = ip {
            let n = open.by_ip.entry(ip).or_default();
            if *n >= self.options.max_connections_per_ip {
                return Err(Full::Address);
            }
            *n += 1;
        }
        open.total += 1;
        Ok(Permit {
            gate: self.clone(),
            ip,
        })
    }
}

/// Why a connection was not admitted.
enum Full {
    Server,
    Address,
}

impl IntoResponse for Full {
    fn into_response(self) -> Response {
        match self {
            Full::Server => refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "TOO_MANY_CONNECTIONS",
                "the server has as many WebSocket connections open as it accepts; try again later",
            ),
            Full::Address => refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_CONNECTIONS",
                "too many WebSocket connections from this address; close one first (a connection carries many subscriptions)",
            ),
        }
    }
}

/// The upgrade: origin, subprotocol and connection limits first.
pub(super) async fn graphql_ws(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let gate = state.ws.clone();
    if !gate.origin_allowed(&headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "WebSocket connections from this origin are not allowed (see --cors-origin)",
        );
    }
    let offered = upgrade.requested_protocols().count();
    let ours = upgrade
        .requested_protocols()
        .any(|p| p.as_bytes() == PROTOCOL.as_bytes());
    if offered > 0 && !ours {
        return refuse(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "this server speaks the graphql-transport-ws subprotocol only",
        );
    }
    let permit = match gate.admit(peer.map(|Extension(ConnectInfo(a))| a.ip())) {
        Ok(p) => p,
        Err(full) => return full.into_response(),
    };
    upgrade
        .protocols([PROTOCOL])
        .max_message_size(gate.max_message)
        .max_frame_size(gate.max_message)
        .on_upgrade(move |socket| async move {
            let _permit = permit;
            serve(state, socket).await;
        })
}

/// What a client sends.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Value>,
    },
    Ping {
        #[serde(default)]
        payload: Option<Value>,
    },
    Pong {},
    Subscribe {
        id: String,
        payload: Box<async_graphql::Request>,
    },
    Complete {
        id: String,
    },
}

/// What the server sends.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ServerMessage<'a> {
    ConnectionAck,
    Pong {
        #[serde(skip_serializing_if = "Option::is_none")]
        payload: Option<Value>,
    },
    Next {
        id: &'a str,
        payload: &'a GqlResponse,
    },
    Error {
        id: &'a str,
        payload: Vec<ServerError>,
    },
    Complete {
        id: &'a str,
    },
}

impl ServerMessage<'_> {
    fn text(&self) -> Message {
        // Serializing these types cannot fail (string keys, no non-finite floats).
        Message::Text(serde_json::to_string(self).unwrap_or_default().into())
    }
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// An error for an `error` message: no position in the query (it is not about its text).
fn operation_error(e: async_graphql::Error) -> ServerError {
    let mut e = e.into_server_error(async_graphql::Pos::default());
    e.locations.clear();
    e
}

/// The operations running on one connection: id → (serial, task).
type Operations = Arc<Mutex<HashMap<String, (u64, AbortHandle)>>>;

fn ops_lock(ops: &Operations) -> std::sync::MutexGuard<'_, HashMap<String, (u64, AbortHandle)>> {
    ops.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether to go on reading the connection.
enum Step {
    Continue,
    Stop,
}

struct Connection {
    state: AppState,
    outbox: mpsc::Sender<Message>,
    ops: Operations,
    serial: u64,
    /// Set by `connection_init`: the `Authorization` value it gave (resolved again for every
    /// operation), and the token's name.
    init: Option<(Option<String>, Option<String>)>,
}

async fn serve(state: AppState, socket: WebSocket) {
    let options = state.ws.options.clone();
    let (sink, mut incoming) = socket.split();
    let (outbox, rx) = mpsc::channel(OUTBOX);
    let mut writer = tokio::spawn(write_all(sink, rx, options.write_timeout));
    let mut shutdown = state.live.on_shutdown();
    let mut revocations = state.live.revocations();
    let mut conn = Connection {
        state,
        outbox,
        ops: Operations::default(),
        serial: 0,
        init: None,
    };
    let mut writer_done = false;
    let init_deadline = tokio::time::sleep(options.init_timeout);
    tokio::pin!(init_deadline);
    // Keepalive: the next moment to ping (or, once pinged, to give up), pushed back by
    // every message the client sends.
    // (Without keepalive the timer is never polled; a year keeps its deadline in range.)
    let keepalive = options
        .keepalive
        .unwrap_or(Duration::from_secs(365 * 86_400));
    let quiet = tokio::time::sleep(keepalive);
    tokio::pin!(quiet);
    let mut pinged = false;
    loop {
        let step = tokio::select! {
            m = incoming.next() => match m {
                Some(Ok(m)) => {
                    if options.keepalive.is_some() {
                        quiet.as_mut().reset(tokio::time::Instant::now() + keepalive);
                        pinged = false;
                    }
                    conn.on_message(m).await
                }
                Some(Err(e)) => {
                    // Mostly a message past the size limit; the stream cannot go on.
                    tracing::debug!(error = %e, "WebSocket read failed");
                    conn.close(1009, "message too big or malformed").await
                }
                None => Step::Stop,
            },
            _ = &mut init_deadline, if conn.init.is_none() => {
                conn.close(4408, "Connection initialisation timeout").await
            }
            _ = &mut quiet, if options.keepalive.is_some() => {
                if pinged {
                    tracing::debug!("closing a WebSocket connection that answered no ping");
                    conn.close(4504, "Keepalive timeout").await
                } else {
                    pinged = true;
                    quiet.as_mut().reset(tokio::time::Instant::now() + keepalive);
                    conn.send(Message::Ping(Default::default())).await
                }
            }
            _ = shutdown.wait_for(|&down| down).map(|_| ()) => {
                conn.close(1001, "the server is shutting down").await
            }
            r = revocations.recv() => conn.on_revocation(r).await,
            _ = &mut writer => {
                writer_done = true;
                Step::Stop
            }
        };
        if let Step::Stop = step {
            break;
        }
    }
    for (_, (_, task)) in ops_lock(&conn.ops).drain() {
        task.abort();
    }
    drop(conn);
    // The writer ends once it has sent what is queued (a close frame) or its deadline passed.
    if !writer_done
        && tokio::time::timeout(options.write_timeout, &mut writer)
            .await
            .is_err()
    {
        writer.abort();
    }
}

/// Sends queued messages, each within `deadline`; stops at a close frame, an error, or a
/// client that does not read.
async fn write_all(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Message>,
    deadline: Duration,
) {
    while let Some(m) = rx.recv().await {
        let last = matches!(m, Message::Close(_));
        match tokio::time::timeout(deadline, sink.send(m)).await {
            Ok(Ok(())) if !last => {}
            Ok(Ok(())) => return,
            Ok(Err(_)) => return,
            Err(_) => {
                tracing::info!("closing a WebSocket connection whose client does not read");
                return;
            }
        }
    }
}

impl Connection {
    async fn send(&self, m: Message) -> Step {
        match self.outbox.send(m).await {
            Ok(()) => Step::Continue,
            Err(_) => Step::Stop,
        }
    }

    async fn close(&self, code: u16, reason: &str) -> Step {
        self.send(close(code, reason)).await;
        Step::Stop
    }

    async fn on_message(&mut self, m: Message) -> Step {
        let text = match m {
            Message::Text(t) => t,
            Message::Binary(_) => {
                return self.close(4400, "binary messages are not supported").await
            }
            // Pings are answered by the WebSocket layer.
            Message::Ping(_) | Message::Pong(_) => return Step::Continue,
            Message::Close(_) => return Step::Stop,
        };
        let message = match serde_json::from_str::<ClientMessage>(text.as_str()) {
            Ok(m) => m,
            Err(_) => return self.close(4400, "Invalid message received").await,
        };
        match message {
            ClientMessage::ConnectionInit { payload } => self.on_init(payload).await,
            ClientMessage::Ping { payload } => {
                self.send(ServerMessage::Pong { payload }.text()).await
            }
            ClientMessage::Pong {} => Step::Continue,
            ClientMessage::Subscribe { id, payload } => self.on_subscribe(id, *payload).await,
            ClientMessage::Complete { id } => {
                if let Some((_, task)) = ops_lock(&self.ops).remove(&id) {
                    task.abort();
                }
                Step::Continue
            }
        }
    }

    async fn on_init(&mut self, payload: Option<Value>) -> Step {
        if self.init.is_some() {
            return self.close(4429, "Too many initialisation requests").await;
        }
        let payload = payload.unwrap_or(Value::Null);
        let field = |k: &str| payload.get(k).and_then(|v| v.as_str());
        let header = field("Authorization")
            .or_else(|| field("authorization"))
            .map(str::to_owned)
            .or_else(|| field("authToken").map(|t| format!("Bearer {t}")));
        let name = match self.state.principal(header.as_deref()) {
            Ok(Principal::Token { name, .. }) => Some(name),
            Ok(_) => None,
            Err(_) => return self.close(4403, "Forbidden").await,
        };
        self.init = Some((header, name));
        self.send(ServerMessage::ConnectionAck.text()).await
    }

    async fn on_subscribe(&mut self, id: String, request: async_graphql::Request) -> Step {
        let Some((header, _)) = &self.init else {
            return self.close(4401, "Unauthorized").await;
        };
        // The token again: it may have been revoked since `connection_init`.
        let principal = self.state.principal(header.as_deref());
        let max = self.state.ws.options.max_operations;
        let refusal = {
            let mut ops = ops_lock(&self.ops);
            if ops.contains_key(&id) {
                None
            } else if ops.len() >= max {
                Some(
                    async_graphql::Error::new(format!(
                        "this connection runs {max} operations already (the most it may); complete one first"
                    ))
                    .extend_with(|_, e| {
                        e.set("code", "TOO_MANY_OPERATIONS");
                        e.set("limit", max);
                    }),
                )
            } else {
                match principal {
                    Err(e) => Some(e),
                    Ok(principal) => {
                        let stream = self.state.api.execute_stream(request.data(principal), None);
                        self.serial += 1;
                        // Registered under the lock the task takes to deregister, so it
                        // cannot finish first.
                        let task = tokio::spawn(run_operation(
                            id.clone(),
                            self.serial,
                            stream,
                            self.outbox.clone(),
                            self.ops.clone(),
                        ));
                        ops.insert(id, (self.serial, task.abort_handle()));
                        return Step::Continue;
                    }
                }
            }
        };
        match refusal {
            Some(e) => {
                let message = ServerMessage::Error {
                    id: &id,
                    payload: vec![operation_error(e)],
                };
                self.send(message.text()).await
            }
            None => {
                let reason = format!("Subscriber for {id} already exists");
                // A close reason has at most 123 bytes.
                let reason = if reason.len() > 123 {
                    "Subscriber for this id already exists".to_owned()
                } else {
                    reason
                };
                self.close(4409, &reason).await
            }
        }
    }

    /// A token was revoked: if it is this connection's, its operations end with
    /// `UNAUTHENTICATED` (and new ones are refused, as the token no longer resolves).
    async fn on_revocation(&mut self, r: Result<Arc<str>, RecvError>) -> Step {
        let Some((header, Some(name))) = &self.init else {
            return Step::Continue;
        };
        let ours = match r {
            Ok(revoked) => *revoked == **name,
            // Missed some: ask the store.
            Err(RecvError::Lagged(_)) => self.state.principal(header.as_deref()).is_err(),
            Err(RecvError::Closed) => false,
        };
        if !ours {
            return Step::Continue;
        }
        let running: Vec<(String, (u64, AbortHandle))> = ops_lock(&self.ops).drain().collect();
        for (id, (_, task)) in running {
            task.abort();
            let e = crate::graphql::auth::unauthenticated(
                "the token of this connection was revoked; its operations have ended",
            );
            let message = ServerMessage::Error {
                id: &id,
                payload: vec![operation_error(e)],
            };
            if let Step::Stop = self.send(message.text()).await {
                return Step::Stop;
            }
        }
        Step::Continue
    }
}

/// Runs one operation: its responses as `next`, then `complete` (unless the client completed
/// it first).
async fn run_operation(
    id: String,
    serial: u64,
    mut stream: BoxStream<'static, GqlResponse>,
    outbox: mpsc::Sender<Message>,
    ops: Operations,
) {
    while let Some(response) = stream.next().await {
        let message = ServerMessage::Next {
            id: &id,
            payload: &response,
        };
        if outbox.send(message.text()).await.is_err() {
            return;
        }
    }
    let ours = {
        let mut ops = ops_lock(&ops);
        let ours = ops.get(&id).is_some_and(|(s, _)| *s == serial);
        if ours {
            ops.remove(&id);
        }
        ours
    };
    if ours {
        let _ = outbox
            .send(ServerMessage::Complete { id: &id }.text())
            .await;
    }
}
