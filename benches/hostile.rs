//! Hostile load, bounded and on loopback only: the attacks of the hardening issue, each run
//! against the release binary on the embedded default dataset while a monitor keeps asking
//! `/health` and a Q1 query (one recommendation by ref) and samples the server's resident
//! memory. Prints, per phase, what the attack got back, the p99 of both monitor requests and
//! the server's peak RSS. Nothing here asserts a time: the regression tests for each attack are
//! in `tests/hostile/`; this is the figure for `benches/README.md`.
//!
//! `cargo bench --bench hostile` (about a minute and a half; HOSTILE_BENCH_SECONDS sets the
//! length of the timed phases, default 8).
//!
//! Phases:
//! 1. fragment bomb: 2 clients sending twelve fragments, each spreading the previous one ten
//!    times (10^11 expansions, about 1 KB), over and over;
//! 2. batch bomb: a 4,000-item batch of page-sized queries (about 370 KB), over and over;
//! 3. stalled subscriber: a WebSocket subscriber of `measureChanged` that never reads, while
//!    1,000 measure updates with a 4 KB description are made;
//! 4. 10k subscriptions: 10 connections asking for 1,000 subscriptions each, then 20 writes.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_recover-better");
const Q1: &str = r#"{ recommendation(ref: "R-9-HND-0058") { ref text stateUnderReview { name } recommendingStates { name } } }"#;
const MEASURE: &str = "M-HND-OH-01";

struct Server {
    child: Child,
    address: String,
    token: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("store");
    let out = Command::new(BIN)
        .args(["--data", data.to_str().unwrap(), "init"])
        .output()
        .expect("init");
    assert!(out.status.success(), "init failed: {out:?}");
    let out = Command::new(BIN)
        .args(["--data", data.to_str().unwrap()])
        .args(["token", "create", "--name", "bench", "--role", "admin"])
        .output()
        .expect("token");
    assert!(out.status.success(), "token create failed: {out:?}");
    let token = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let mut child = Command::new(BIN)
        .args(["--data", data.to_str().unwrap()])
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    use std::io::BufRead;
    let stdout = child.stdout.take().expect("stdout");
    let mut address = String::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.expect("server output");
        if let Some(rest) = line.strip_prefix("GraphiQL: ") {
            address = rest.trim_end_matches('/').to_owned();
            break;
        }
    }
    assert!(!address.is_empty(), "the server printed no address");
    Server {
        child,
        address,
        token,
        _dir: dir,
    }
}

/// Resident memory of a process in MiB, from /proc.
fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[derive(Default)]
struct Samples {
    health: Vec<Duration>,
    q1: Vec<Duration>,
    failures: usize,
    peak_rss: f64,
}

/// Asks `/health` and Q1 every 20 ms and samples RSS until `stop` is set.
async fn monitor(address: String, pid: u32, stop: Arc<AtomicBool>, samples: Arc<Mutex<Samples>>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let body = json!({ "query": Q1 });
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        let health = client.get(format!("{address}/health")).send().await;
        let health_time = t.elapsed();
        let t = Instant::now();
        let q1 = client
            .post(format!("{address}/graphql"))
            .json(&body)
            .send()
            .await;
        let q1_ok = match q1 {
            Ok(r) if r.status().is_success() => r
                .json::<Value>()
                .await
                .is_ok_and(|v| v["data"]["recommendation"]["ref"] == "R-9-HND-0058"),
            _ => false,
        };
        let q1_time = t.elapsed();
        let rss = rss_mib(pid);
        let health_ok = health.is_ok_and(|r| r.status().is_success());
        {
            let mut s = samples.lock().unwrap();
            s.peak_rss = s.peak_rss.max(rss);
            if health_ok {
                s.health.push(health_time);
            } else {
                s.failures += 1;
            }
            if q1_ok {
                s.q1.push(q1_time);
            } else {
                s.failures += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn p99(v: &mut [Duration]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort();
    v[((v.len() as f64 * 0.99).ceil() as usize).clamp(1, v.len()) - 1].as_secs_f64() * 1e3
}

/// Runs `attack` while the monitor runs; prints one table row.
async fn phase<F: std::future::Future<Output = String>>(server: &Server, name: &str, attack: F) {
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Samples::default()));
    let watcher = tokio::spawn(monitor(
        server.address.clone(),
        server.child.id(),
        stop.clone(),
        samples.clone(),
    ));
    let started = Instant::now();
    let outcome = attack.await;
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = watcher.await;
    let s = samples.lock().unwrap();
    let (h, q) = (p99(&mut s.health.clone()), p99(&mut s.q1.clone()));
    println!(
        "| {name:<20} | {seconds:>5.1} | {:>6} | {h:>9.1} | {q:>9.1} | {:>8} | {:>9.0} | {outcome}",
        s.health.len(),
        s.failures,
        s.peak_rss
    );
}

fn seconds() -> Duration {
    Duration::from_secs(
        std::env::var("HOSTILE_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(8),
    )
}

fn fragment_bomb() -> String {
    let mut q = String::from("query Bomb { ...F11 }\nfragment F0 on Query { __typename }\n");
    for i in 1..12 {
        q.push_str(&format!("fragment F{i} on Query {{"));
        for _ in 0..10 {
            q.push_str(&format!(" ...F{}", i - 1));
        }
        q.push_str(" }\n");
    }
    q
}

/// Sends `body` over and over for the phase's length from `clients` clients; tallies what
/// came back (status and first error code).
async fn repeat(address: &str, body: Vec<u8>, clients: usize) -> String {
    let deadline = Instant::now() + seconds();
    let tally = Arc::new(Mutex::new(
        std::collections::BTreeMap::<String, usize>::new(),
    ));
    let mut tasks = vec![];
    for _ in 0..clients {
        let (url, body, tally) = (format!("{address}/graphql"), body.clone(), tally.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap();
            while Instant::now() < deadline {
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let key = match r {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let body = r.bytes().await.unwrap_or_default();
                        let code = serde_json::from_slice::<Value>(&body)
                            .ok()
                            .and_then(|v| {
                                let e = v.get("errors")?.get(0)?.get("extensions")?.get("code")?;
                                e.as_str().map(str::to_owned)
                            })
                            .unwrap_or_else(|| "no error".into());
                        format!("{status} {code} ({} KB)", body.len() / 1024)
                    }
                    Err(e) if e.is_timeout() => "timeout".into(),
                    Err(_) => "connection error".into(),
                };
                *tally.lock().unwrap().entry(key).or_default() += 1;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let tally = tally.lock().unwrap();
    tally
        .iter()
        .map(|(k, n)| format!("{n}× {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn ws_connect(
    address: &str,
    token: &str,
) -> Option<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
> {
    let url = format!("{}/graphql/ws", address.replacen("http", "ws", 1));
    let mut request = url.into_client_request().ok()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.ok()?;
    let init =
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
    ws.send(Message::text(init.to_string())).await.ok()?;
    let ack = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .ok()??
        .ok()?;
    ack.to_text().ok()?.contains("connection_ack").then_some(ws)
}

async fn graphql(
    client: &reqwest::Client,
    server: &Server,
    query: &str,
    variables: Value,
) -> Value {
    client
        .post(format!("{}/graphql", server.address))
        .bearer_auth(&server.token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .map(|r| r.json::<Value>())
        .expect("request")
        .await
        .unwrap_or(Value::Null)
}

const UPDATE: &str = "mutation($input: UpdateMeasureInput!) { updateMeasure(input: $input) { changed measure { version } } }";

/// `n` measure updates, each based on the version the previous one returned; the count that
/// succeeded and the slowest.
async fn measure_updates(server: &Server, n: usize) -> (usize, Duration) {
    let client = reqwest::Client::new();
    let v = graphql(
        &client,
        server,
        "query($r: String!) { measure(ref: $r) { version } }",
        json!({ "r": MEASURE }),
    )
    .await;
    let mut version = v["data"]["measure"]["version"].as_i64().unwrap_or(1);
    let (mut ok, mut slowest) = (0, Duration::ZERO);
    for i in 0..n {
        let description = format!(
            "{} {i}",
            "Released detainees to reduce overcrowding. ".repeat(95)
        );
        let t = Instant::now();
        let r = graphql(
            &client,
            server,
            UPDATE,
            json!({ "input": { "ref": MEASURE, "expectedVersion": version, "description": description } }),
        )
        .await;
        slowest = slowest.max(t.elapsed());
        if let Some(v) = r["data"]["updateMeasure"]["measure"]["version"].as_i64() {
            version = v;
            ok += 1;
        }
    }
    (ok, slowest)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let server = start();
        println!(
            "hostile load against {} (release binary, default dataset); {} cores; phases of {} s",
            server.address,
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            seconds().as_secs()
        );
        println!(
            "| phase                | s     | health | health p99 ms | Q1 p99 ms | failures | peak RSS MiB | what the attack got"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---|");

        phase(&server, "baseline", async {
            tokio::time::sleep(seconds()).await;
            "nothing".into()
        })
        .await;

        let bomb = serde_json::to_vec(&json!({ "query": fragment_bomb() })).unwrap();
        phase(&server, "fragment bomb", repeat(&server.address, bomb, 2)).await;

        let item = json!({ "query": "{ recommendations(first: 100) { nodes { ref text } } }" });
        let batch = serde_json::to_vec(&vec![item; 4000]).unwrap();
        let size = batch.len() / 1024;
        phase(&server, "batch bomb", async {
            format!("{size} KB body: {}", repeat(&server.address, batch, 1).await)
        })
        .await;

        phase(&server, "stalled subscriber", async {
            let ws = ws_connect(&server.address, &server.token).await;
            let Some(mut ws) = ws else {
                return "WebSocket refused".into();
            };
            let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { measureChanged { kind measure { ref description } } }"}});
            let _ = ws.send(Message::text(subscribe.to_string())).await;
            // From here on the socket is never read.
            let (ok, slowest) = measure_updates(&server, 1000).await;
            drop(ws);
            format!("{ok} of 1000 updates made, slowest {:.0} ms", slowest.as_secs_f64() * 1e3)
        })
        .await;

        phase(&server, "10k subscriptions", async {
            let mut sockets = vec![];
            let (mut connected, mut sent) = (0, 0);
            for c in 0..10 {
                let Some(mut ws) = ws_connect(&server.address, &server.token).await else {
                    continue;
                };
                connected += 1;
                for i in 0..1000 {
                    let subscribe = json!({"id": format!("{c}-{i}"), "type": "subscribe", "payload": {"query": "subscription { linkChanged { kind } }"}});
                    if ws.send(Message::text(subscribe.to_string())).await.is_err() {
                        break;
                    }
                    sent += 1;
                }
                sockets.push(ws);
            }
            let (ok, slowest) = measure_updates(&server, 20).await;
            // What the server said back on each socket: refusals, events, closes.
            let (mut closed, mut refused, mut events) = (0, 0, 0);
            for ws in &mut sockets {
                while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(300), ws.next()).await {
                    match m {
                        Ok(Message::Text(t)) => {
                            let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                            match v["type"].as_str() {
                                Some("error") => refused += 1,
                                Some("next") => events += 1,
                                _ => {}
                            }
                        }
                        Ok(Message::Close(_)) | Err(_) => {
                            closed += 1;
                            break;
                        }
                        _ => {}
                    }
                }
            }
            format!(
                "{connected} connections, {sent} subscribes sent: {refused} refused, {events} events delivered, {closed} connections closed; {ok} of 20 writes, slowest {:.0} ms",
                slowest.as_secs_f64() * 1e3
            )
        })
        .await;
    });
}
