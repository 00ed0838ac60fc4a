//! `/metrics` in the Prometheus text format, from a registry of the app's own (no global
//! recorder: servers in one process, as in the tests, keep their counts apart).
//!
//! Counted per request (by [`super::observe`]): requests by route, HTTP status, operation
//! name and error code, and their latency. Read when scraped: the snapshot generation, writes
//! committed, the store's size on disk, subscribers, connections, rate-limited requests.
//!
//! Operation names come from clients, so they are labels only while there are few: the first
//! [`MAX_OPERATIONS`] distinct names, each at most [`MAX_LABEL_LEN`] bytes, are kept; later
//! names are counted as `other`, and a name that is not a GraphQL name as `invalid`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::graphql::auth::Principal;
use crate::live::Live;
use crate::server::rate_limit::RateLimiter;
use crate::server::serve::ConnectionStats;

/// Distinct operation names kept as labels.
pub const MAX_OPERATIONS: usize = 200;
/// Distinct error codes kept as labels (the server has a few dozen).
pub const MAX_CODES: usize = 64;
/// The longest label value kept (longer names are cut).
pub const MAX_LABEL_LEN: usize = 64;

/// Latency buckets, in seconds: from a cached lookup to the request timeout.
const BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0, 30.0,
];

/// The metrics of one app.
pub struct Metrics {
    /// Tells this app's series apart from another's in the per-thread cache (unique in the
    /// process, unlike an address, which a later app may reuse).
    id: u64,
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    operations: Labels,
    codes: Labels,
    generation: IntGauge,
    writes: IntCounter,
    races_lost: IntCounter,
    turns: IntCounter,
    lagged: IntCounter,
    store_bytes: IntGauge,
    subscribers: IntGauge,
    connections_open: IntGauge,
    connections_accepted: IntCounter,
    connections_timed_out: IntCounter,
    rate_limited: IntCounter,
    live: Arc<Live>,
    connections: Arc<ConnectionStats>,
    limiter: Option<Arc<RateLimiter>>,
    first_generation: u64,
    require_token: bool,
    /// Scrapes turn read values into counter increments one at a time.
    scrape: Mutex<()>,
}

impl Metrics {
    pub fn new(
        live: Arc<Live>,
        connections: Arc<ConnectionStats>,
        limiter: Option<Arc<RateLimiter>>,
        require_token: bool,
    ) -> Metrics {
        let registry =
            Registry::new_custom(Some("recover_better".into()), None).expect("a valid prefix");
        fn register<C: prometheus::core::Collector + Clone + 'static>(r: &Registry, c: C) -> C {
            r.register(Box::new(c.clone()))
                .expect("metric names are distinct and valid");
            c
        }
        let counter = |name: &str, help: &str| {
            register(&registry, IntCounter::new(name, help).expect("valid"))
        };
        let gauge =
            |name: &str, help: &str| register(&registry, IntGauge::new(name, help).expect("valid"));
        let first_generation = live.snapshot().generation;
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Metrics {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            requests: register(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "http_requests_total",
                        "HTTP requests answered, by route, status, GraphQL operation name and first error code.",
                    ),
                    &["route", "status", "operation", "code"],
                )
                .expect("valid"),
            ),
            duration: register(
                &registry,
                HistogramVec::new(
                    HistogramOpts::new(
                        "http_request_duration_seconds",
                        "Time to answer a request (to its response head), by route and operation name.",
                    )
                    .buckets(BUCKETS.to_vec()),
                    &["route", "operation"],
                )
                .expect("valid"),
            ),
            operations: Labels::new(MAX_OPERATIONS),
            codes: Labels::new(MAX_CODES),
            generation: gauge(
                "snapshot_generation",
                "Generation of the snapshot queries read (one more per committed write).",
            ),
            writes: counter(
                "writes_committed_total",
                "Writes committed (that changed the store) since the server started.",
            ),
            races_lost: counter(
                "write_races_lost_total",
                "Writes of this server planned again because another server wrote first (replicated stores).",
            ),
            turns: counter(
                "write_turns_total",
                "Turns this server's writers took after a lost race, to write in order with the other servers (replicated stores).",
            ),
            store_bytes: gauge("store_size_bytes", "Size of the store on disk."),
            subscribers: gauge(
                "subscribers",
                "Live subscriptions following committed changes.",
            ),
            connections_open: gauge("connections_open", "Connections being served."),
            connections_accepted: counter("connections_accepted_total", "Connections accepted."),
            connections_timed_out: counter(
                "connections_timed_out_total",
                "Connections closed for not sending request headers in time.",
            ),
            rate_limited: counter(
                "rate_limited_total",
                "Requests refused with 429 by the rate limit.",
            ),
            lagged: counter(
                "subscribers_lagged_total",
                "Subscriptions dropped for falling behind (SUBSCRIPTION_LAGGED).",
            ),
            registry,
            live,
            connections,
            limiter,
            first_generation,
            require_token,
            scrape: Mutex::new(()),
        }
    }

    /// Counts one answered request.
    ///
    /// The series' handles come from a per-thread cache ([`HANDLES`]): resolving them
    /// through the registry takes two read locks, two label hashes and two reference counts
    /// per request, each an atomic on a cache line that both cores write, so under load it
    /// cost more than the counting itself.
    pub fn observe(
        &self,
        route: &str,
        status: StatusCode,
        operation: Option<&str>,
        code: Option<&str>,
        elapsed: Duration,
    ) {
        let key = SeriesKey {
            metrics: self.id,
            route,
            status: status.as_u16(),
            operation: operation.unwrap_or(""),
            code: code.unwrap_or(""),
            has_operation: operation.is_some(),
            has_code: code.is_some(),
        };
        HANDLES.with(|cache| {
            let mut cache = cache.borrow_mut();
            let handles = cache.get_or_insert(&key, || self.resolve(&key));
            handles.requests.inc();
            handles.duration.observe(elapsed.as_secs_f64());
        });
    }

    /// The series of a request, from the registry (the slow way, once per thread and key).
    fn resolve(&self, key: &SeriesKey<'_>) -> Handles {
        let operation = if key.has_operation {
            self.operations.label(key.operation)
        } else {
            ""
        };
        let code = if key.has_code {
            self.codes.label(key.code)
        } else {
            ""
        };
        let status = StatusCode::from_u16(key.status).unwrap_or(StatusCode::OK);
        Handles {
            requests: self.requests.with_label_values(&[
                key.route,
                status.as_str(),
                operation,
                code,
            ]),
            duration: self.duration.with_label_values(&[key.route, operation]),
        }
    }

    /// The text exposition of every series, the read ones read now.
    pub fn render(&self) -> String {
        let _one_at_a_time = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        let generation = self.live.snapshot().generation;
        self.generation.set(generation as i64);
        catch_up(
            &self.writes,
            generation.saturating_sub(self.first_generation),
        );
        let contention = self.live.store().write_contention();
        catch_up(&self.races_lost, contention.races_lost);
        catch_up(&self.turns, contention.turns_taken);
        match self.live.store().size_on_disk() {
            Ok(n) => self.store_bytes.set(n as i64),
            Err(e) => tracing::warn!(error = %e, "store size unavailable"),
        }
        self.subscribers.set(self.live.subscribers() as i64);
        catch_up(&self.lagged, self.live.lagged_drops());
        let c = &self.connections;
        self.connections_open
            .set(c.open.load(Ordering::Relaxed) as i64);
        catch_up(
            &self.connections_accepted,
            c.accepted.load(Ordering::Relaxed),
        );
        catch_up(
            &self.connections_timed_out,
            c.timed_out.load(Ordering::Relaxed),
        );
        if let Some(l) = &self.limiter {
            catch_up(&self.rate_limited, l.refused());
        }
        let mut text = vec![];
        // Writing into a Vec cannot fail, and every family is well formed.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut text);
        String::from_utf8(text).unwrap_or_default()
    }
}

/// Advances a counter to a total counted elsewhere.
fn catch_up(counter: &IntCounter, total: u64) {
    counter.inc_by(total.saturating_sub(counter.get()));
}

/// `GET /metrics`. With `--require-token`, it needs a valid token too.
pub async fn scrape(State(metrics): State<Arc<Metrics>>, headers: HeaderMap) -> Response {
    if metrics.require_token {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if !matches!(
            Principal::from_header(metrics.live.store(), authorization),
            Principal::Token { .. }
        ) {
            return (
                StatusCode::UNAUTHORIZED,
                "this server requires a token: send `Authorization: Bearer <token>`\n",
            )
                .into_response();
        }
    }
    (
        [(header::CONTENT_TYPE, TextEncoder::new().format_type())],
        metrics.render(),
    )
        .into_response()
}

/// The series one request is counted in.
struct Handles {
    requests: IntCounter,
    duration: Histogram,
}

/// What picks a request's series: the app, and the raw values before they become labels
/// (so a hit skips [`Labels`] too; a value's label never changes once given).
#[derive(Hash)]
struct SeriesKey<'a> {
    metrics: u64,
    route: &'a str,
    status: u16,
    operation: &'a str,
    code: &'a str,
    has_operation: bool,
    has_code: bool,
}

impl SeriesKey<'_> {
    fn owned(&self) -> OwnedKey {
        OwnedKey {
            metrics: self.metrics,
            route: self.route.into(),
            status: self.status,
            operation: self.operation.into(),
            code: self.code.into(),
            has_operation: self.has_operation,
            has_code: self.has_code,
        }
    }
}

#[derive(PartialEq, Eq)]
struct OwnedKey {
    metrics: u64,
    route: Box<str>,
    status: u16,
    operation: Box<str>,
    code: Box<str>,
    has_operation: bool,
    has_code: bool,
}

impl OwnedKey {
    fn is(&self, k: &SeriesKey<'_>) -> bool {
        self.metrics == k.metrics
            && self.status == k.status
            && self.has_operation == k.has_operation
            && self.has_code == k.has_code
            && *self.route == *k.route
            && *self.operation == *k.operation
            && *self.code == *k.code
    }
}

/// Most keys one thread keeps; past it the cache starts again (operation names come from
/// clients, so the keys are not bounded by the server).
const MAX_CACHED_SERIES: usize = 1024;

/// A thread's handles to the series it counted requests in, by the hash of their key.
#[derive(Default)]
struct HandleCache {
    by_hash: FxHashMap<u64, Vec<(OwnedKey, Handles)>>,
    len: usize,
}

impl HandleCache {
    fn get_or_insert(
        &mut self,
        key: &SeriesKey<'_>,
        resolve: impl FnOnce() -> Handles,
    ) -> &Handles {
        use std::hash::BuildHasher;
        let hash = rustc_hash::FxBuildHasher.hash_one(key);
        let found = self
            .by_hash
            .get(&hash)
            .and_then(|entries| entries.iter().position(|(k, _)| k.is(key)));
        if found.is_none() && self.len >= MAX_CACHED_SERIES {
            self.by_hash.clear();
            self.len = 0;
        }
        let entries = self.by_hash.entry(hash).or_default();
        let i = match found {
            Some(i) if i < entries.len() => i,
            _ => {
                entries.push((key.owned(), resolve()));
                self.len += 1;
                entries.len() - 1
            }
        };
        &entries[i].1
    }
}

thread_local! {
    /// Per thread, so a request touches no shared lock or reference count to find its series.
    static HANDLES: std::cell::RefCell<HandleCache> = std::cell::RefCell::default();
}

/// A bounded set of label values: the first `cap` distinct ones.
struct Labels {
    known: RwLock<FxHashSet<Box<str>>>,
    cap: usize,
}

impl Labels {
    fn new(cap: usize) -> Labels {
        Labels {
            known: RwLock::default(),
            cap,
        }
    }

    /// `value` (cut to [`MAX_LABEL_LEN`]) while it is one of the first `cap`; else `other`.
    /// A value that is not a GraphQL name is `invalid`.
    fn label<'a>(&self, value: &'a str) -> &'a str {
        let is_name = value
            .bytes()
            .enumerate()
            .all(|(i, b)| b == b'_' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()));
        if value.is_empty() || !is_name {
            return "invalid";
        }
        // ASCII, so any cut is on a character boundary.
        let value = &value[..value.len().min(MAX_LABEL_LEN)];
        if self
            .known
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(value)
        {
            return value;
        }
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        if known.contains(value) {
            return value;
        }
        if known.len() < self.cap {
            known.insert(value.into());
            value
        } else {
            "other"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::store::Store;

    fn metrics() -> Metrics {
        let store = Arc::new(Store::temporary().unwrap());
        let live = Arc::new(Live::new(store.clone(), Catalog::load(&store).unwrap()));
        Metrics::new(live, Arc::new(ConnectionStats::default()), None, false)
    }

    fn count(m: &Metrics, series: &str) -> Option<u64> {
        m.render()
            .lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
    }

    /// The per-thread cache of series handles keeps two apps of one process apart, and
    /// counts every request in the series of its own labels, on every thread.
    #[test]
    fn cached_handles_count_each_app_and_each_series_apart() {
        let (a, b) = (metrics(), metrics());
        let ms = Duration::from_millis(1);
        for _ in 0..3 {
            a.observe("/graphql", StatusCode::OK, Some("Q"), None, ms);
        }
        b.observe("/graphql", StatusCode::OK, Some("Q"), None, ms);
        a.observe("/graphql", StatusCode::OK, None, None, ms);
        a.observe(
            "/graphql",
            StatusCode::BAD_REQUEST,
            Some("Q"),
            Some("BAD_REQUEST"),
            ms,
        );
        std::thread::scope(|s| {
            s.spawn(|| a.observe("/graphql", StatusCode::OK, Some("Q"), None, ms));
        });
        let ok_q = "recover_better_http_requests_total{code=\"\",operation=\"Q\",route=\"/graphql\",status=\"200\"}";
        assert_eq!(count(&a, ok_q), Some(4));
        assert_eq!(count(&b, ok_q), Some(1));
        assert_eq!(
            count(&a, "recover_better_http_requests_total{code=\"\",operation=\"\",route=\"/graphql\",status=\"200\"}"),
            Some(1)
        );
        assert_eq!(
            count(&a, "recover_better_http_requests_total{code=\"BAD_REQUEST\",operation=\"Q\",route=\"/graphql\",status=\"400\"}"),
            Some(1)
        );
        assert_eq!(
            count(&a, "recover_better_http_request_duration_seconds_count{operation=\"Q\",route=\"/graphql\"}"),
            Some(5)
        );
    }

    /// Past its bound the cache starts again, and nothing is lost.
    #[test]
    fn the_handle_cache_is_bounded() {
        let m = metrics();
        let ms = Duration::from_millis(1);
        let names: Vec<String> = (0..MAX_CACHED_SERIES + 10)
            .map(|i| format!("Op{i}"))
            .collect();
        for n in &names {
            m.observe("/graphql", StatusCode::OK, Some(n), None, ms);
        }
        HANDLES.with(|c| assert!(c.borrow().len <= MAX_CACHED_SERIES));
        m.observe("/graphql", StatusCode::OK, Some("Op0"), None, ms);
        let op0 = "recover_better_http_requests_total{code=\"\",operation=\"Op0\",route=\"/graphql\",status=\"200\"}";
        assert_eq!(count(&m, op0), Some(2));
        // Names past the label cap are counted as `other`, cached or not.
        let other = "recover_better_http_requests_total{code=\"\",operation=\"other\",route=\"/graphql\",status=\"200\"}";
        assert_eq!(
            count(&m, other),
            Some((names.len() - MAX_OPERATIONS) as u64)
        );
    }

    #[test]
    fn labels_keep_the_first_names_then_count_the_rest_as_other() {
        let l = Labels::new(2);
        assert_eq!(l.label("A"), "A");
        assert_eq!(l.label("B"), "B");
        assert_eq!(l.label("C"), "other");
        assert_eq!(l.label("A"), "A");
        assert_eq!(l.label("not a name"), "invalid");
        assert_eq!(l.label("1abc"), "invalid");
        assert_eq!(l.label(""), "invalid");
    }

    #[test]
    fn long_names_are_cut() {
        let l = Labels::new(10);
        let long = "x".repeat(500);
        assert_eq!(l.label(&long).len(), MAX_LABEL_LEN);
    }
}
