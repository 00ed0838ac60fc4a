//! Concurrent editors: 16 clients linking, updating and unlinking the same few pairs for a
//! bounded time. Afterwards the store's check is clean, the catalog equals a fresh load, and
//! every acknowledged change is in the store with its history entry; also when the server is
//! killed with SIGKILL in the middle of it.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use recover_better::catalog::Catalog;
use recover_better::model::ChangeKind;
use recover_better::store::{check, Store};

use crate::common::{bin, Dataset};
use crate::harness::*;

const RECS: [&str; 4] = [
    "R-36-HND-001",
    "R-36-HND-002",
    "R-36-USA-001",
    "R-37-UKR-001",
];
const MEASURES: [&str; 3] = ["M-HND-001", "M-USA-001", "M-UKR-001"];
pub(crate) const CLIENTS: usize = 16;

/// A change the server acknowledged: the link's key, what happened and the version it made.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Ack {
    key: String,
    kind: ChangeKind,
    version: i64,
}

/// One client: random link, update and unlink calls until `until`, recording acknowledgements.
async fn client(
    address: String,
    token: String,
    seed: u64,
    until: Instant,
    acks: Arc<Mutex<Vec<Ack>>>,
) -> (usize, usize) {
    editor(address, token, seed, until, acks, Unavailable::Fails).await
}

/// What an editor makes of a server that answers with an internal error (a store that cannot
/// be reached for a moment): a failed test, or a write not acknowledged.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unavailable {
    Fails,
    NotAcknowledged,
}

/// [`client`], telling how it takes internal errors; returns (sent, refused).
pub(crate) async fn editor(
    address: String,
    token: String,
    seed: u64,
    until: Instant,
    acks: Arc<Mutex<Vec<Ack>>>,
    unavailable: Unavailable,
) -> (usize, usize) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut sent, mut refused) = (0, 0);
    while Instant::now() < until {
        let r = *RECS.choose(&mut rng).unwrap();
        let m = *MEASURES.choose(&mut rng).unwrap();
        let key = format!("{r}\t{m}");
        let post = |query: &str, variables: Value| {
            http.post(format!("{address}/graphql"))
                .bearer_auth(&token)
                .json(&json!({ "query": query, "variables": variables }))
                .send()
        };
        // The link's current version, as a client would read it before editing.
        let current = async {
            let v: Value = post(
                "query($r: String!) { recommendation(ref: $r) { links { measure { ref } version } } }",
                json!({ "r": r }),
            )
            .await
            .ok()?
            .json()
            .await
            .ok()?;
            v["data"]["recommendation"]["links"]
                .as_array()?
                .iter()
                .find(|l| l["measure"]["ref"] == m)
                .and_then(|l| l["version"].as_i64())
        };
        let op = rng.gen_range(0..3);
        // The version an unlink removes, for its acknowledgement.
        let mut unlinked = 0;
        let reply = match op {
            0 => {
                let relation = ["IMPLEMENTS", "RELATED", "CONTRADICTS"]
                    .choose(&mut rng)
                    .unwrap();
                post(
                    LINK,
                    json!({ "input": { "recommendation": r, "measure": m, "relation": relation,
                                       "note": format!("client {seed}") } }),
                )
                .await
            }
            1 => {
                let Some(v) = current.await else { continue };
                post(
                    UPDATE_LINK,
                    json!({ "input": { "recommendation": r, "measure": m, "expectedVersion": v,
                                       "note": format!("update by {seed} of {v}") } }),
                )
                .await
            }
            _ => {
                let Some(v) = current.await else { continue };
                post(
                    UNLINK,
                    json!({ "input": { "recommendation": r, "measure": m, "expectedVersion": v } }),
                )
                .await
                .inspect(|_| unlinked = v)
            }
        };
        sent += 1;
        let reply = match reply {
            Ok(r) => r,
            // A write that took too long (a store failing over) is not acknowledged.
            Err(e) if unavailable == Unavailable::NotAcknowledged && e.is_timeout() => {
                refused += 1;
                continue;
            }
            // The server is gone (killed): this client stops.
            Err(_) => break,
        };
        let Ok(body) = reply.json::<Value>().await else {
            continue;
        };
        if body.get("errors").is_some() {
            let code = &body["errors"][0]["extensions"]["code"];
            if unavailable == Unavailable::NotAcknowledged
                && code != "CONFLICT"
                && code != "NOT_FOUND"
            {
                refused += 1;
                continue;
            }
            assert!(
                code == "CONFLICT" || code == "NOT_FOUND",
                "only conflicts and vanished links are expected: {body}"
            );
            refused += 1;
            continue;
        }
        let ack = match op {
            0 | 1 => {
                let p = if op == 0 {
                    &body["data"]["linkRecommendation"]
                } else {
                    &body["data"]["updateLink"]
                };
                if p["changed"] != true {
                    continue;
                }
                let version = p["link"]["version"].as_i64().unwrap();
                Ack {
                    key: key.clone(),
                    kind: if version == 1 {
                        ChangeKind::Created
                    } else {
                        ChangeKind::Updated
                    },
                    version,
                }
            }
            _ => Ack {
                key: key.clone(),
                kind: ChangeKind::Deleted,
                version: unlinked,
            },
        };
        acks.lock().unwrap().push(ack);
    }
    (sent, refused)
}

/// Every acknowledged change has its history entry, by the right author.
pub(crate) fn assert_acknowledged(store: &Store, acks: &[Ack], author: &str) {
    let entries: HashSet<Ack> = store
        .all_history()
        .map(Result::unwrap)
        .filter(|e| e.author == author)
        .map(|e| Ack {
            key: e.key,
            kind: e.change,
            version: e.version as i64,
        })
        .collect();
    let missing: Vec<&Ack> = acks.iter().filter(|a| !entries.contains(a)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged changes missing: {missing:?}",
        missing.len()
    );
}

/// The newest state of each link agrees with its last history entry.
pub(crate) fn assert_history_matches_links(store: &Store) {
    let mut last: std::collections::HashMap<String, (ChangeKind, u32)> = Default::default();
    for e in store.all_history().map(Result::unwrap) {
        last.insert(e.key, (e.change, e.version));
    }
    for (key, (kind, version)) in last {
        let (r, m) = key.split_once('\t').unwrap();
        let stored = store
            .links()
            .map(Result::unwrap)
            .find(|(_, l)| l.record.recommendation.as_str() == r && l.record.measure.as_str() == m);
        match kind {
            ChangeKind::Deleted => assert!(stored.is_none(), "{key} deleted but present"),
            _ => assert_eq!(stored.map(|(_, l)| l.version), Some(version), "{key}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_editors_lose_nothing() {
    let s = server().await;
    let acks = Arc::new(Mutex::new(vec![]));
    // Rounds of 4 s until there are enough changes to mean something (on etcd, or on a
    // loaded machine, a round makes fewer), at most 40 s.
    let started = Instant::now();
    let (mut sent, mut refused) = (0, 0);
    for round in 0u64.. {
        let until = Instant::now() + Duration::from_secs(4);
        let tasks: Vec<_> = (0..CLIENTS as u64)
            .map(|i| {
                tokio::spawn(client(
                    s.address.clone(),
                    s.editor.clone(),
                    round * 100 + i,
                    until,
                    acks.clone(),
                ))
            })
            .collect();
        for t in tasks {
            let (a, b) = t.await.unwrap();
            sent += a;
            refused += b;
        }
        if acks.lock().unwrap().len() > 50 || started.elapsed() > Duration::from_secs(40) {
            break;
        }
    }
    let acks = acks.lock().unwrap().clone();
    eprintln!(
        "{sent} mutations sent, {} acknowledged changes, {refused} conflicts",
        acks.len()
    );
    assert!(
        acks.len() > 50,
        "too few changes to mean anything: {}",
        acks.len()
    );
    let store = s.live.store();
    let report = check::check(store).unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    assert_acknowledged(store, &acks, "eddie");
    assert_history_matches_links(store);
    let diff = s
        .live
        .snapshot()
        .differences(&Catalog::load(store).unwrap());
    assert!(diff.is_empty(), "{diff:?}");
}

/// Starts `serve` on a free port over the store at `location` (a folder, or `etcd://…`);
/// returns the child and its address.
pub(crate) fn start_server_at(location: &str) -> (Child, String) {
    start_server_logging(location, Stdio::null())
}

/// [`start_server_at`], its log (warnings and errors) going to `log`.
pub(crate) fn start_server_logging(location: &str, log: Stdio) -> (Child, String) {
    let mut child = Command::new(bin())
        .args(["--store", location])
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(log)
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
    // Keep draining stdout so the server never blocks on it.
    std::thread::spawn(move || lines.for_each(drop));
    (child, address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_killed_under_load_keeps_every_acknowledged_change() {
    let dir = tempfile::Builder::new()
        .prefix("kill-under-load-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let data = crate::common::test_location(dir.path());
    let dataset = Dataset::small().write_temp();
    let run = |args: &[&str]| {
        let out = Command::new(bin())
            .args(["--store", &data])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["import", dataset.path().to_str().unwrap()]);
    let out = run(&["token", "create", "--name", "eddie", "--role", "editor"]);
    let token = out.lines().last().unwrap().to_owned();
    assert!(token.starts_with("rb_"), "{out}");

    for round in 0..3u64 {
        let (mut child, address) = start_server_at(&data);
        let acks = Arc::new(Mutex::new(vec![]));
        let until = Instant::now() + Duration::from_secs(30);
        let tasks: Vec<_> = (0..CLIENTS as u64)
            .map(|i| {
                tokio::spawn(client(
                    address.clone(),
                    token.clone(),
                    round * 100 + i,
                    until,
                    acks.clone(),
                ))
            })
            .collect();
        // Kill at a moment that differs by round, with writes in flight, once some are
        // acknowledged (on etcd, or on a loaded machine, the first ones take longer).
        tokio::time::sleep(Duration::from_millis(700 + 450 * round)).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while acks.lock().unwrap().len() <= 10 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let acked_before_kill = acks.lock().unwrap().len();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        let acks = acks.lock().unwrap().clone();
        assert!(
            acked_before_kill > 10,
            "round {round}: only {acked_before_kill} acknowledged"
        );
        // Reopen (the lock goes with the process) and verify.
        let store = Store::open_location(&data).unwrap();
        let report = check::check(&store).unwrap();
        assert!(report.is_clean(), "round {round}: {:?}", report.violations);
        assert_acknowledged(&store, &acks, "eddie");
        assert_history_matches_links(&store);
        eprintln!(
            "round {round}: {} acknowledged changes all present after SIGKILL",
            acks.len()
        );
    }
}
