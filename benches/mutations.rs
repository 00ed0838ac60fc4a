//! Mutation throughput: `linkRecommendation` at concurrency 16, every call a durable write
//! (a new link or a changed note), over loopback HTTP against a server on its own runtime;
//! then the same with WebSocket subscribers attached (readers of `linkChanged` and one that
//! never reads its socket). Prints requests/s, p50 and p99.
//!
//! `cargo bench --bench mutations` (about a minute; set MUTATION_BENCH_SECONDS to change the
//! 10 s per phase). The store lives on disk under target/, as a real server's would.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use recover_better::catalog::Catalog;
use recover_better::dataset::embedded::DefaultDataset;
use recover_better::dataset::import::{import, ImportOptions};
use recover_better::graphql::{self, Limits};
use recover_better::live::Live;
use recover_better::model::Role;
use recover_better::server::{self, HttpOptions};
use recover_better::store::Store;

const CLIENTS: usize = 16;

static PHASE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

const LINK: &str = "mutation($input: LinkRecommendationInput!) {
    linkRecommendation(input: $input) { changed link { version } }
}";

struct Phase {
    requests: usize,
    errors: usize,
    seconds: f64,
    latencies: Vec<Duration>,
}

impl Phase {
    fn print(&self, name: &str) {
        let mut l = self.latencies.clone();
        l.sort();
        let q = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)];
        println!(
            "{name:<44} {:>8.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} requests, {} errors)",
            self.requests as f64 / self.seconds,
            q(0.50).as_secs_f64() * 1e3,
            q(0.99).as_secs_f64() * 1e3,
            self.requests,
            self.errors
        );
    }
}

async fn load(address: &str, token: &str, pairs: &[(String, String)], seconds: f64) -> Phase {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (address, token, pairs) = (address.to_owned(), token.to_owned(), pairs.to_vec());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                // Seeds differ by phase too: a repeated (pair, note) would change nothing.
                let seed = PHASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
                let (mut lat, mut errors) = (vec![], 0);
                while Instant::now() < until {
                    let (r, m) = pairs.choose(&mut rng).unwrap();
                    let input = json!({ "recommendation": r, "measure": m, "relation": "RELATED",
                                        "note": format!("note {}", rng.gen::<u64>()) });
                    let t = Instant::now();
                    let reply = http
                        .post(format!("{address}/graphql"))
                        .bearer_auth(&token)
                        .json(&json!({ "query": LINK, "variables": { "input": input } }))
                        .send()
                        .await;
                    let ok = match reply {
                        Ok(r) => r
                            .json::<serde_json::Value>()
                            .await
                            .map(|v| {
                                let ok = v["data"]["linkRecommendation"]["changed"] == true;
                                if !ok && errors == 0 {
                                    eprintln!("first failure of client {i}: {v}");
                                }
                                ok
                            })
                            .unwrap_or(false),
                        Err(_) => false,
                    };
                    lat.push(t.elapsed());
                    if !ok {
                        errors += 1;
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let mut phase = Phase {
        requests: 0,
        errors: 0,
        seconds: 0.0,
        latencies: vec![],
    };
    for t in tasks {
        let (lat, errors) = t.await.unwrap();
        phase.requests += lat.len();
        phase.errors += errors;
        phase.latencies.extend(lat);
    }
    phase.seconds = started.elapsed().as_secs_f64();
    phase
}

/// A WebSocket subscriber of every link change; counts what it receives, or never reads.
async fn subscriber(ws_url: String, reads: bool, received: Arc<std::sync::atomic::AtomicUsize>) {
    let mut req = ws_url.into_client_request().unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let send = |v: serde_json::Value| Message::Text(v.to_string().into());
    ws.send(send(json!({ "type": "connection_init" })))
        .await
        .unwrap();
    ws.next().await;
    ws.send(send(json!({ "id": "1", "type": "subscribe", "payload": {
        "query": "subscription { linkChanged { kind link { version note measure { title } } } }" } })))
        .await
        .unwrap();
    if !reads {
        std::future::pending::<()>().await;
    }
    while let Some(Ok(m)) = ws.next().await {
        if matches!(m, Message::Text(_)) {
            received.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

fn main() {
    let seconds: f64 = std::env::var("MUTATION_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let dir = tempfile::Builder::new()
        .prefix("bench-mutations-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    import(&store, &DefaultDataset, ImportOptions::default()).unwrap();
    let token = store.create_token("bench", Role::Editor).unwrap();
    let catalog = Catalog::load(&store).unwrap();
    // Pairs of one State's recommendations and measures (as curators link them).
    let mut pairs = vec![];
    for m in catalog
        .measures
        .in_order()
        .filter(|m| m.record.country.as_str() == "HND")
    {
        for r in catalog
            .recommendations
            .in_order()
            .filter(|r| r.record.state_under_review.as_str() == "HND")
            .take(40)
        {
            pairs.push((r.record.id.to_string(), m.record.id.to_string()));
        }
    }
    let live = Arc::new(Live::new(Arc::new(store), catalog));

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let address = server_rt.block_on(async {
        let api = graphql::api(live.clone(), Limits::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let app = server::app(api, live.clone(), &HttpOptions::default());
        tokio::spawn(server::run(listener, app, std::future::pending()));
        address
    });
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "linkRecommendation, {CLIENTS} concurrent clients, durable, {} pairs, {seconds} s per phase",
        pairs.len()
    );
    client_rt.block_on(async {
        // Warm up (connections, page cache), then measure.
        load(&address, &token, &pairs, 1.0).await;
        load(&address, &token, &pairs, seconds)
            .await
            .print("no subscribers");
        let received = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let ws = format!("{}/graphql/ws", address.replacen("http", "ws", 1));
        for i in 0..9 {
            tokio::spawn(subscriber(ws.clone(), i < 8, received.clone()));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let phase = load(&address, &token, &pairs, seconds).await;
        phase.print("8 reading subscribers + 1 that never reads");
        tokio::time::sleep(Duration::from_millis(500)).await;
        println!(
            "subscribers received {} events ({} per reading subscriber per change)",
            received.load(std::sync::atomic::Ordering::Relaxed),
            format_args!(
                "{:.2}",
                received.load(std::sync::atomic::Ordering::Relaxed) as f64
                    / 8.0
                    / (phase.requests - phase.errors).max(1) as f64
            )
        );
    });
    // One writer, in-process: what a write of each kind costs, the snapshot update included.
    // A recommendation's edit copies the recommendations table and its text index (the
    // snapshot is copy-on-write per part); a link's copies only the links and posting lists.
    let timed = |n: usize, change: &dyn Fn(usize) -> recover_better::store::Change| {
        let t = Instant::now();
        for i in 0..n {
            live.write(vec![change(i)], "bench").unwrap();
        }
        t.elapsed() / n as u32
    };
    let snapshot = live.snapshot();
    let rec = snapshot
        .recommendations
        .in_order()
        .next()
        .unwrap()
        .record
        .clone();
    let (r0, m0) = pairs[0].clone();
    let link = timed(200, &|i| {
        use recover_better::model::*;
        recover_better::store::Change::put(recover_better::store::Record::Link(Link {
            recommendation: Ref::parse(&r0).unwrap(),
            measure: Ref::parse(&m0).unwrap(),
            relation: LinkRelation::Related,
            status: LinkStatus::Confirmed,
            note: Some(format!("one writer {i}")),
            evidence_url: None,
            created_by: None,
            created_at: None,
            updated_at: None,
        }))
    });
    let recommendation = timed(100, &|i| {
        let mut r = rec.clone();
        r.text = format!("{} (edit {i})", rec.text);
        recover_better::store::Change::put(recover_better::store::Record::Recommendation(r))
    });
    println!(
        "one writer, durable: a link write {:.2} ms, a recommendation edit {:.2} ms (mean)",
        link.as_secs_f64() * 1e3,
        recommendation.as_secs_f64() * 1e3
    );
    println!(
        "store on disk: {:.1} MB",
        live.store().size_on_disk().unwrap() as f64 / 1e6
    );
}
