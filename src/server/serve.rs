//! The accept loop: HTTP/1.1 and HTTP/2 (h2c) on one port, with upgrades (WebSocket), under
//! deadlines that a slow or silent client cannot stretch.
//!
//! - At most `max_connections` connections are served at once; beyond that, new ones wait in
//!   the listen backlog until one closes.
//! - A connection must deliver its first request's headers within `header_read_timeout`, and
//!   each later request's headers within the same time once the previous response is sent
//!   (hyper's HTTP/1 header timer also runs while a keep-alive connection is idle). So a
//!   silent socket, a half-sent request and an idle keep-alive connection are closed, and a
//!   few hundred of them cannot exhaust the connection limit for long.
//! - A request (body upload included) is bounded by the router's request timeout.
//! - On shutdown the listener closes at once, connections that have not delivered a request
//!   yet are closed, the others are asked to finish their current request, and whatever is
//!   still open after `shutdown_timeout` is cut, so `serve` returns within that bound and the
//!   caller can flush the store.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::server::EdgeService;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::Service;

/// The connection deadlines and bounds (see the module documentation).
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_timeout: Duration,
}

/// Counters of the accept loop, read by `/metrics`.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    pub accepted: AtomicU64,
    pub open: AtomicU64,
    /// Closed for not sending a request's headers in time.
    pub timed_out: AtomicU64,
    /// Cut at the shutdown deadline.
    pub cut: AtomicU64,
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains as described above.
pub async fn serve(
    listener: TcpListener,
    router: EdgeService,
    limits: &ConnectionLimits,
    stats: Arc<ConnectionStats>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        // WebSocket over HTTP/2 (RFC 8441), as axum::serve does.
        .enable_connect_protocol()
        // Finds peers that vanished without closing.
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(20));
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    // Tells connections that have not delivered a request yet to close at once on shutdown
    // (nothing of theirs is in flight; hyper would wait for their headers).
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        let started = Arc::new(AtomicBool::new(false));
        let service = PeerService {
            router: router.clone(),
            peer,
            started: started.clone(),
        };
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        let header_read_timeout = limits.header_read_timeout;
        let stats = stats.clone();
        let mut stop = stop.clone();
        connections.spawn(async move {
            stats.open.fetch_add(1, Ordering::Relaxed);
            let _open = OpenGuard {
                stats: &stats,
                _permit: permit,
            };
            let mut connection = std::pin::pin!(connection);
            // hyper's HTTP/1 header timer starts once the protocol is known; before that (a
            // silent socket, a partial HTTP/2 preface) only this deadline holds.
            let stopping = tokio::select! {
                _ = &mut connection => return,
                _ = tokio::time::sleep(header_read_timeout) => false,
                _ = stop.wait_for(|&s| s) => true,
            };
            if !started.load(Ordering::Relaxed) {
                if !stopping {
                    stats.timed_out.fetch_add(1, Ordering::Relaxed);
                }
                return;
            }
            let _ = connection.await;
        });
    }
    drop(listener);
    stopping.send_replace(true);
    let open = graceful.count();
    tracing::info!(open, "stopped accepting; finishing in-flight requests");
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        let cut = connections.len();
        stats.cut.fetch_add(cut as u64, Ordering::Relaxed);
        tracing::warn!(
            connections = cut,
            "shutdown deadline reached: closing the connections still open"
        );
        connections.abort_all();
    }
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Counts an open connection and holds its permit until the connection ends.
struct OpenGuard<'a> {
    stats: &'a ConnectionStats,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The router for one connection: each request learns the peer's address (`ConnectInfo`),
/// and the connection learns that a request arrived.
#[derive(Clone)]
struct PeerService {
    router: EdgeService,
    peer: SocketAddr,
    started: Arc<AtomicBool>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for PeerService {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = <EdgeService as Service<axum::extract::Request>>::Future;

    fn call(&self, mut request: hyper::Request<Incoming>) -> Self::Future {
        self.started.store(true, Ordering::Relaxed);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        // Always ready: the router is, and the edge layers are as ready as it.
        self.router.clone().call(request.map(axum::body::Body::new))
    }
}
