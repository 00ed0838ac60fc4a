//! The one way to build the application, used by the binary, the tests and the benches, so a
//! setting cannot be wired in one place and forgotten in another:
//!
//! ```no_run
//! # async fn example(store: recover_better::store::Store) -> Result<(), Box<dyn std::error::Error>> {
//! use recover_better::server::{App, HttpOptions};
//! let app = App::builder(std::sync::Arc::new(store))
//!     .http(HttpOptions { require_token: true, ..HttpOptions::default() })
//!     .build()?;
//! let live = app.live.clone(); // the running state, for writes and tests
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! app.serve(listener, recover_better::server::shutdown_signal()).await?;
//! live.store().flush()?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use axum::Router;

use crate::catalog::Catalog;
use crate::graphql::{self, AppSchema, Limits};
use crate::live::Live;
use crate::server::metrics::Metrics;
use crate::server::rate_limit::RateLimiter;
use crate::server::serve::{self, ConnectionLimits, ConnectionStats};
use crate::server::{edge, router, EdgeService, HttpOptions};
use crate::store::{Store, StoreError};

/// A built application: the running state, the schema and the router, ready to serve.
pub struct App {
    /// The store, the snapshot queries read, writes, the stream of changes.
    pub live: Arc<Live>,
    /// The schema (for in-process execution, as the benches do).
    pub schema: AppSchema,
    /// Every route, without the edge layers (request log, metrics, CORS, request timeout)
    /// that [`App::service`] and [`App::serve`] put around it; a test may add its own
    /// layers here.
    pub router: Router,
    /// The metrics, when on.
    pub metrics: Option<Arc<Metrics>>,
    options: HttpOptions,
    connections: Arc<ConnectionStats>,
}

/// Settings for [`App`]; every one has a default.
pub struct AppBuilder {
    store: Arc<Store>,
    catalog: Option<Catalog>,
    limits: Limits,
    http: HttpOptions,
    assess_in_background: bool,
}

impl App {
    /// Starts building an app over `store`.
    pub fn builder(store: Arc<Store>) -> AppBuilder {
        AppBuilder {
            store,
            catalog: None,
            limits: Limits::default(),
            http: HttpOptions::default(),
            assess_in_background: false,
        }
    }

    /// Serves on `listener` until `shutdown` resolves. Then `/ready` answers 503, subscriptions
    /// end, the listener closes, and in-flight requests get `shutdown_timeout` to finish
    /// before their connections are cut. Returns once every connection is closed; flushing
    /// the store is the caller's.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let limits = ConnectionLimits {
            header_read_timeout: self.options.header_read_timeout,
            max_connections: self.options.max_connections,
            shutdown_timeout: self.options.shutdown_timeout,
        };
        let live = self.live.clone();
        let (service, connections) = self.service_and_stats();
        let shutdown = async move {
            shutdown.await;
            // Ends subscriptions and closes WebSocket connections; /ready turns 503.
            live.shut_down();
        };
        serve::serve(listener, service, &limits, connections, shutdown).await
    }

    /// The router inside its edge layers: what [`App::serve`] serves (for
    /// `tower::ServiceExt::oneshot` in tests).
    pub fn service(self) -> EdgeService {
        self.service_and_stats().0
    }

    fn service_and_stats(self) -> (EdgeService, Arc<ConnectionStats>) {
        (
            edge(self.router, &self.options, self.metrics),
            self.connections,
        )
    }
}

impl AppBuilder {
    /// Serves this catalog instead of loading one from the store (queries read only the
    /// catalog, so it need not come from the store).
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// The query limits (depth, complexity, directives).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The HTTP settings: CORS, tokens, rate limit, metrics, deadlines.
    pub fn http(mut self, options: HttpOptions) -> Self {
        self.http = options;
        self
    }

    /// With `true`, a background thread assesses every recommendation once the catalog is
    /// loaded, and those of each write after, so no query waits for the assessment (see
    /// `catalog::assessments`); the app starts serving at once. Off by default: tests and
    /// short-lived tools assess only what they ask for.
    pub fn assess_in_background(mut self, on: bool) -> Self {
        self.assess_in_background = on;
        self
    }

    /// Loads the catalog (unless given) and assembles the app.
    pub fn build(self) -> Result<App, StoreError> {
        // A replicated store is read through a view pinned at one revision, and followed
        // from there (a catalog given must be of the store as it is now).
        let pinned = self.store.pin()?;
        let catalog = match self.catalog {
            Some(c) => c,
            None => {
                let started = std::time::Instant::now();
                let from = pinned.as_ref().map_or(&*self.store, |(view, _)| view);
                let catalog = Catalog::load(from)?;
                tracing::info!(
                    recommendations = catalog.recommendations.len(),
                    measures = catalog.measures.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "catalog loaded"
                );
                catalog
            }
        };
        let live = match pinned {
            Some((view, point)) => Live::replicated(self.store, catalog, view.revision()?, point),
            None => Arc::new(Live::new(self.store, catalog)),
        };
        if self.assess_in_background {
            assess_in_background(live.clone());
        }
        let api = graphql::api(live.clone(), self.limits);
        let schema = api.schema().clone();
        let connections = Arc::new(ConnectionStats::default());
        let limiter = self
            .http
            .rate_limit
            .map(|rps| Arc::new(RateLimiter::new(rps)));
        let metrics = self.http.metrics.then(|| {
            Arc::new(Metrics::new(
                live.clone(),
                connections.clone(),
                limiter.clone(),
                self.http.require_token,
            ))
        });
        let router = router(api, live.clone(), &self.http, limiter, metrics.clone());
        Ok(App {
            live,
            schema,
            router,
            metrics,
            options: self.http,
            connections,
        })
    }
}

/// How often the background assessment looks for a new snapshot.
const ASSESS_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// Starts the thread that keeps every recommendation of the latest snapshot assessed: all of
/// them after the load, then those a write changed. It ends with the server's shutdown.
fn assess_in_background(live: Arc<Live>) {
    let shutdown = live.on_shutdown();
    let spawned = std::thread::Builder::new()
        .name("assess".into())
        .spawn(move || {
            let mut done: std::sync::Weak<Catalog> = std::sync::Weak::new();
            while !*shutdown.borrow() {
                let snapshot = live.snapshot();
                // A Weak keeps the old snapshot's address from being reused, without keeping
                // the snapshot itself.
                if !std::ptr::eq(done.as_ptr(), Arc::as_ptr(&snapshot)) {
                    let started = std::time::Instant::now();
                    let assessed = snapshot.assess_all();
                    if assessed > 0 {
                        tracing::info!(
                            assessed,
                            ms = started.elapsed().as_millis() as u64,
                            "recommendations assessed"
                        );
                    }
                    done = Arc::downgrade(&snapshot);
                }
                drop(snapshot);
                std::thread::sleep(ASSESS_POLL);
            }
        });
    if let Err(e) = spawned {
        // Without the thread, assessments are made on first use: slower queries, same answers.
        tracing::warn!(error = %e, "cannot start the background assessment");
    }
}
