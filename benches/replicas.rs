//! Servers on a replicated store (issue 12): a 3-node etcd cluster on loopback ports, the
//! default dataset, two API servers on it, and one on a sled folder for comparison, all the
//! release binary. Prints, as markdown tables:
//! - the import of the default dataset into each store;
//! - reads (Q1, Q3, Q5 of `load.sh`) at concurrency 16 from an etcd-backed and a sled-backed
//!   server (the same in-memory read path: expect the same);
//! - `linkRecommendation` at concurrency 16 through the sled server, through one etcd-backed
//!   server, and through two, with and without turns (two more servers on the same store with
//!   `--no-write-turns`), with the races lost and turns taken;
//! - the delay from a write acknowledged by server A to the same write read through B.
//!
//! `cargo bench --features etcd --bench replicas` (needs Debian's etcd-server).

// The bench uses part of the test cluster harness.
#[allow(dead_code)]
#[path = "../tests/common/etcd.rs"]
mod etcd;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_recover-better");
const CLIENTS: usize = 16;

fn run(location: &str, args: &[&str]) -> (String, Duration) {
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["--store", location])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (String::from_utf8(out.stdout).unwrap(), started.elapsed())
}

struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(location: &str) -> Server {
        Server::start_with(location, &[])
    }

    fn start_with(location: &str, env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(BIN)
            .args(["--store", location, "serve", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let address = loop {
            let line = lines
                .next()
                .expect("the server prints its address")
                .unwrap();
            if let Some(a) = line.strip_prefix("GraphiQL: ") {
                break a.trim_end_matches('/').to_owned();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, address }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time (user + system, in clock ticks) a process has used.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// Waits (up to two minutes) until a process uses under 5 % of a core over a second.
fn wait_idle(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let before = cpu_ticks(pid);
        std::thread::sleep(Duration::from_secs(1));
        if cpu_ticks(pid) - before <= 5 {
            return;
        }
    }
}

fn token(location: &str) -> String {
    let (out, _) = run(
        location,
        &["token", "create", "--name", "bench", "--role", "editor"],
    );
    out.lines().last().unwrap().to_owned()
}

async fn post(http: &reqwest::Client, address: &str, token: Option<&str>, body: &Value) -> Value {
    let mut req = http.post(format!("{address}/graphql")).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().json().await.unwrap()
}

/// The races a server's writes lost and the turns they took, from its `/metrics`.
async fn contention(http: &reqwest::Client, address: &str) -> (u64, u64) {
    let text = http
        .get(format!("{address}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    (
        value("recover_better_write_races_lost_total "),
        value("recover_better_write_turns_total "),
    )
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// `CLIENTS` clients sending `make(client, i)` to the addresses in turn for `secs`; returns
/// (answers without errors, answers with errors by `extensions.code`, latencies sorted).
async fn drive(
    addresses: &[String],
    token: Option<&str>,
    secs: u64,
    make: impl Fn(usize, usize) -> Value + Send + Sync + 'static,
) -> (usize, Errors, Vec<Duration>, Duration) {
    let make = Arc::new(make);
    let until = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let address = addresses[c % addresses.len()].clone();
            let token = token.map(str::to_owned);
            let make = make.clone();
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let (mut ok, mut failed, mut times) = (0, Errors::default(), vec![]);
                let mut i = 0;
                while Instant::now() < until {
                    let body = make(c, i);
                    i += 1;
                    let t = Instant::now();
                    let v = post(&http, &address, token.as_deref(), &body).await;
                    times.push(t.elapsed());
                    if v.get("errors").is_some() {
                        let code = v["errors"][0]["extensions"]["code"]
                            .as_str()
                            .unwrap_or("(no code)");
                        *failed.0.entry(code.to_owned()).or_default() += 1;
                    } else {
                        ok += 1;
                    }
                }
                (ok, failed, times)
            })
        })
        .collect();
    let (mut ok, mut failed, mut times) = (0, Errors::default(), vec![]);
    for t in tasks {
        let (a, b, c) = t.await.unwrap();
        ok += a;
        for (code, n) in b.0 {
            *failed.0.entry(code).or_default() += n;
        }
        times.extend(c);
    }
    times.sort();
    (ok, failed, times, started.elapsed())
}

/// Answers with errors, counted by their first error's `extensions.code`.
#[derive(Default)]
struct Errors(std::collections::BTreeMap<String, usize>);

impl std::fmt::Display for Errors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return write!(f, "0");
        }
        let parts: Vec<String> = self.0.iter().map(|(c, n)| format!("{n} {c}")).collect();
        write!(f, "{}", parts.join(", "))
    }
}

async fn refs(address: &str) -> (Vec<String>, Vec<String>, String) {
    let http = reqwest::Client::new();
    let q = json!({ "query": "{ recommendations(first: 200, filter: { cycle: [3] }) { nodes { ref } } measures(first: 200) { nodes { ref country { code } } } }" });
    let v = post(&http, address, None, &q).await;
    let recs = v["data"]["recommendations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["ref"].as_str().unwrap().to_owned())
        .collect();
    let measures: Vec<String> = v["data"]["measures"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["ref"].as_str().unwrap().to_owned())
        .collect();
    let country = v["data"]["measures"]["nodes"][0]["country"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    (recs, measures, country)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let cluster = etcd::Cluster::start(3);
    let url = cluster.url("bench");
    let sled_dir = tempfile::tempdir().unwrap();
    let sled = sled_dir.path().join("store").display().to_string();

    println!("## Replicated store (etcd 3-node cluster on loopback) vs sled\n");
    println!("| import of the default dataset | wall |\n|---|---:|");
    for (name, at) in [("sled folder", &sled), ("etcd, 3 nodes", &url)] {
        let at = at.clone();
        let (_, took) = tokio::task::spawn_blocking(move || run(&at, &["init"]))
            .await
            .unwrap();
        println!("| {name} | {:.1} s |", took.as_secs_f64());
    }
    let (sled_token, etcd_token) = (token(&sled), token(&url));
    let s = Server::start(&sled);
    let a = Server::start(&url);
    let b = Server::start(&url);
    // Two more on the same store, without turns, to compare in the same run.
    let no_turns = [("RECOVER_BETTER_NO_WRITE_TURNS", "on")];
    let c = Server::start_with(&url, &no_turns);
    let d = Server::start_with(&url, &no_turns);
    // Each server assesses every recommendation in the background once it has started: wait
    // until all of them are idle, so the figures measure requests, not that start-up work.
    for server in [&s, &a, &b, &c, &d] {
        wait_idle(server.child.id());
    }
    let (recs, measures, country) = refs(&a.address).await;
    let rec = recs[0].clone();

    println!("\n| reads, 16 clients, 5 s | store | req/s | p50 ms | p99 ms | errors |\n|---|---|---:|---:|---:|---:|");
    let queries = [
        ("Q1", format!("{{ recommendation(ref: \"{rec}\") {{ ref text stateUnderReview {{ name }} recommendingStates {{ name }} }} }}")),
        ("Q2", format!("{{ country(code: \"{country}\") {{ name recommendationsReceived(first: 20, filter: {{cycle: [3]}}) {{ totalCount nodes {{ ref text response }} }} measures(first: 10) {{ totalCount nodes {{ ref title startDate }} }} }} }}")),
        ("Q3", "{ recommendations(first: 50, filter: {theme: [\"right-to-health\"], response: [SUPPORTED], cycle: [3]}) { totalCount nodes { ref text stateUnderReview { name } } } }".to_owned()),
        ("Q5", "{ recommendations(first: 50, filter: {theme: [\"right-to-health\"], response: [SUPPORTED], cycle: [3]}) { totalCount nodes { ref } facets { response { value count } actionCategory { value count } theme { value count } group { value count } sdg { value count } cycle { value count } session { value count } stateUnderReview { value count } recommendingState { value count } } } }".to_owned()),
    ];
    for (name, q) in &queries {
        for (store, address) in [("sled", &s.address), ("etcd", &a.address)] {
            let body = json!({ "query": q });
            let (ok, failed, times, took) =
                drive(std::slice::from_ref(address), None, 5, move |_, _| {
                    body.clone()
                })
                .await;
            println!(
                "| {name} | {store} | {:.0} | {:.2} | {:.2} | {failed} |",
                ok as f64 / took.as_secs_f64(),
                percentile(&times, 0.5),
                percentile(&times, 0.99)
            );
        }
    }

    println!("\n| linkRecommendation, 16 clients, 8 s | servers | acknowledged/s | p50 ms | p99 ms | max ms | errors | races lost | turns |\n|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let link = "mutation($r: String!, $m: String!, $n: String) { linkRecommendation(input: { recommendation: $r, measure: $m, relation: RELATED, note: $n }) { link { version } } }";
    let two = vec![a.address.clone(), b.address.clone()];
    let two_without = vec![c.address.clone(), d.address.clone()];
    // The two-server rows alternate with and without turns, twice, so that the machine's
    // drift over the run shows.
    let targets: [(&str, Vec<String>, &str); 6] = [
        ("sled, one server", vec![s.address.clone()], &sled_token),
        ("etcd, one server", vec![a.address.clone()], &etcd_token),
        ("etcd, two servers", two.clone(), &etcd_token),
        (
            "etcd, two servers, no turns",
            two_without.clone(),
            &etcd_token,
        ),
        ("etcd, two servers", two, &etcd_token),
        ("etcd, two servers, no turns", two_without, &etcd_token),
    ];
    // Every request links a pair never linked before (pair k of recommendations × measures),
    // so none is refused: the rounds on the etcd store take disjoint ranges of pairs (about
    // 1,000 writes a round at most; the visibility probe below starts at pair 30,000).
    let offsets = [0usize, 0, 4_000, 8_000, 12_000, 16_000];
    let http = reqwest::Client::new();
    for (round, (name, addresses, token)) in targets.iter().enumerate() {
        let (recs, measures) = (recs.clone(), measures.clone());
        let offset = offsets[round];
        let mut before = (0, 0);
        for address in addresses {
            let (l, t) = contention(&http, address).await;
            before = (before.0 + l, before.1 + t);
        }
        let (ok, failed, times, took) = drive(addresses, Some(token), 8, move |c, i| {
            let k = offset + i * CLIENTS + c;
            let r = &recs[k % recs.len()];
            let m = &measures[(k / recs.len()) % measures.len()];
            json!({ "query": link, "variables": { "r": r, "m": m, "n": format!("bench {round} {c} {i}") } })
        })
        .await;
        let mut after = (0, 0);
        for address in addresses {
            let (l, t) = contention(&http, address).await;
            after = (after.0 + l, after.1 + t);
        }
        println!(
            "| {name} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {failed} | {} | {} |",
            addresses.len(),
            ok as f64 / took.as_secs_f64(),
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times.last().map_or(f64::NAN, |t| t.as_secs_f64() * 1e3),
            after.0 - before.0,
            after.1 - before.1
        );
    }

    // Visibility: a write acknowledged by A, then B read every millisecond until it shows it.
    let mut delays = vec![];
    let probe = "query($r: String!) { recommendation(ref: $r) { links { measure { ref } note } } }";
    for i in 0..200 {
        let k = 30_000 + i;
        let r = &recs[k % recs.len()];
        let m = &measures[(k / recs.len()) % measures.len()];
        let note = format!("visibility {i}");
        let body = json!({ "query": link, "variables": { "r": r, "m": m, "n": note } });
        let v = post(&http, &a.address, Some(&etcd_token), &body).await;
        assert!(v.get("errors").is_none(), "{v}");
        let acked = Instant::now();
        loop {
            let v = post(
                &http,
                &b.address,
                None,
                &json!({ "query": probe, "variables": { "r": r } }),
            )
            .await;
            let seen = v["data"]["recommendation"]["links"]
                .as_array()
                .is_some_and(|ls| {
                    ls.iter()
                        .any(|l| l["measure"]["ref"] == *m && l["note"] == *note)
                });
            if seen {
                delays.push(acked.elapsed());
                break;
            }
            assert!(
                acked.elapsed() < Duration::from_secs(10),
                "B never saw write {i}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    delays.sort();
    println!(
        "\n| visibility: acknowledged by A → read through B (200 writes) | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|\n| etcd, two servers | {:.2} | {:.2} | {:.2} |",
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays.last().unwrap().as_secs_f64() * 1e3
    );
}
