//! Requests per second per caller (`--rate-limit RPS`): a token bucket per bearer token, or
//! per client address for requests without one, with a burst of RPS requests. A refused
//! request gets HTTP 429, `Retry-After` (whole seconds, rounded up) and a GraphQL error with
//! `extensions.code` `RATE_LIMITED`.
//!
//! The bucket of a token is keyed by a hash of the `Authorization` header, not by the token's
//! name: resolving the token would read the store before the limit protects it. A client that
//! cycles made-up tokens escapes its address's bucket, but an invalid token is refused (401)
//! before any query runs, so all it buys is 401s.
//!
//! Each bucket is one number (GCRA: the time at which the bucket is full again). A bucket whose
//! time has passed is the same as no bucket, so it may be dropped at any moment: that is how
//! memory stays bounded. When a shard is full, the idle buckets are swept out; when it is still
//! full (that many callers all active at once), new callers share one overflow bucket.

use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rustc_hash::FxHashMap;

use crate::server::outcome::GraphqlOutcome;

/// Buckets kept at most, over all shards (about 40 bytes each).
pub const MAX_BUCKETS: usize = 100_000;
const SHARDS: usize = 16;
/// A full shard is swept at most this often; meanwhile new callers share the overflow bucket.
const SWEEP_EVERY: Duration = Duration::from_millis(200);
/// The key of the bucket that new callers share while their shard is full of active buckets.
const OVERFLOW: u64 = 0;

/// The limiter of one app.
pub struct RateLimiter {
    /// Nanoseconds between two requests at the steady rate.
    interval: u64,
    /// How far ahead of now a bucket's full-again time may be (burst − 1 intervals).
    tolerance: u64,
    started: Instant,
    /// Keys the hash of a header or an address; random per limiter, so no client can aim at
    /// another's bucket or at one shard.
    hasher: std::collections::hash_map::RandomState,
    shards: Vec<Mutex<Shard>>,
    refused: AtomicU64,
}

#[derive(Default)]
struct Shard {
    /// Key → the time (ns since `started`) at which the bucket is full again.
    full_at: FxHashMap<u64, u64>,
    last_sweep: u64,
}

/// Why a request was refused: how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after: Duration,
}

impl RateLimiter {
    /// `rps` requests per second per caller, with a burst of `rps`.
    pub fn new(rps: NonZeroU32) -> RateLimiter {
        let interval = 1_000_000_000 / u64::from(rps.get());
        RateLimiter {
            interval,
            tolerance: interval * (u64::from(rps.get()) - 1),
            started: Instant::now(),
            hasher: Default::default(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            refused: AtomicU64::new(0),
        }
    }

    /// How many requests were refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// How many buckets are kept (for tests and metrics).
    pub fn buckets(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).full_at.len())
            .sum()
    }

    /// The key of a caller: its `Authorization` header when it sends one, else its address
    /// (an IPv6 address by its /64, which one host usually holds whole).
    pub fn key(&self, authorization: Option<&HeaderValue>, peer: Option<IpAddr>) -> u64 {
        let mut h = self.hasher.build_hasher();
        match (authorization, peer) {
            (Some(a), _) => (0u8, a.as_bytes()).hash(&mut h),
            (None, Some(IpAddr::V4(ip))) => (1u8, ip.octets()).hash(&mut h),
            (None, Some(IpAddr::V6(ip))) => (2u8, &ip.octets()[..8]).hash(&mut h),
            (None, None) => 3u8.hash(&mut h),
        }
        // 0 is the overflow bucket's.
        h.finish().max(1)
    }

    /// Takes one request from `key`'s bucket.
    pub fn check(&self, key: u64) -> Result<(), Refused> {
        self.check_at(key, self.started.elapsed().as_nanos() as u64)
    }

    fn check_at(&self, key: u64, now: u64) -> Result<(), Refused> {
        let per_shard = MAX_BUCKETS / SHARDS;
        let mut shard = self.shards[(key as usize) % SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut key = key;
        if !shard.full_at.contains_key(&key) && shard.full_at.len() >= per_shard {
            if now.saturating_sub(shard.last_sweep) >= SWEEP_EVERY.as_nanos() as u64 {
                shard.full_at.retain(|_, full_at| *full_at > now);
                shard.last_sweep = now;
            }
            if shard.full_at.len() >= per_shard {
                key = OVERFLOW;
            }
        }
        let full_at = shard.full_at.get(&key).copied().unwrap_or(now).max(now);
        if full_at - now > self.tolerance {
            drop(shard);
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Refused {
                retry_after: Duration::from_nanos(full_at - now - self.tolerance),
            });
        }
        shard.full_at.insert(key, full_at + self.interval);
        Ok(())
    }
}

/// The middleware: refuses a request over its caller's rate.
pub async fn limit(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let key = limiter.key(request.headers().get(header::AUTHORIZATION), peer);
    match limiter.check(key) {
        Ok(()) => next.run(request).await,
        Err(refused) => too_many_requests(refused),
    }
}

fn too_many_requests(refused: Refused) -> Response {
    let seconds = refused
        .retry_after
        .as_nanos()
        .div_ceil(1_000_000_000)
        .max(1);
    let body = serde_json::json!({ "errors": [{
        "message": format!("too many requests: retry in {seconds} s"),
        "extensions": { "code": "RATE_LIMITED" },
    }]});
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, seconds.to_string())],
        axum::Json(body),
    )
        .into_response();
    response.extensions_mut().insert(GraphqlOutcome {
        operation: None,
        codes: vec!["RATE_LIMITED".to_owned()],
        operations: 0,
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn limiter(rps: u32) -> RateLimiter {
        RateLimiter::new(NonZeroU32::new(rps).unwrap())
    }

    #[test]
    fn a_burst_of_rps_requests_passes_and_the_next_waits_one_interval() {
        let l = limiter(5);
        for _ in 0..5 {
            assert!(l.check_at(7, SECOND).is_ok());
        }
        let refused = l.check_at(7, SECOND).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_millis(200));
        // One interval later one more request passes.
        assert!(l.check_at(7, SECOND + SECOND / 5).is_ok());
        assert!(l.check_at(7, SECOND + SECOND / 5).is_err());
        assert_eq!(l.refused(), 2);
    }

    #[test]
    fn callers_have_their_own_buckets() {
        let l = limiter(1);
        assert!(l.check_at(7, SECOND).is_ok());
        assert!(l.check_at(7, SECOND).is_err());
        assert!(l.check_at(8, SECOND).is_ok());
    }

    #[test]
    fn keys_tell_tokens_and_addresses_apart() {
        let l = limiter(1);
        let a = HeaderValue::from_static("Bearer a");
        let b = HeaderValue::from_static("Bearer b");
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert_ne!(l.key(Some(&a), Some(ip)), l.key(Some(&b), Some(ip)));
        assert_eq!(l.key(Some(&a), Some(ip)), l.key(Some(&a), None));
        assert_ne!(l.key(None, Some(ip)), l.key(Some(&a), Some(ip)));
        let v6 = |s: &str| l.key(None, Some(s.parse().unwrap()));
        assert_eq!(v6("2001:db8::1"), v6("2001:db8::2"));
        assert_ne!(v6("2001:db8::1"), v6("2001:db9::1"));
    }

    #[test]
    fn a_client_cycling_keys_cannot_grow_the_map_past_its_bound() {
        let l = limiter(1);
        // Far more callers than buckets, all within one burst window: the map stops growing,
        // and the extra callers share the overflow bucket.
        let mut passed = 0;
        for key in 1..(MAX_BUCKETS as u64 * 2) {
            passed += l.check_at(key, SECOND).is_ok() as usize;
        }
        assert!(l.buckets() <= MAX_BUCKETS + SHARDS, "{}", l.buckets());
        assert!(passed <= MAX_BUCKETS + SHARDS, "{passed}");
        // Once they are idle, a sweep drops them.
        assert!(l.check_at(u64::MAX, 10 * SECOND).is_ok());
        assert!(l.buckets() < MAX_BUCKETS, "{}", l.buckets());
    }
}
