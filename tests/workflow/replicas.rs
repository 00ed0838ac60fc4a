//! Several API servers on one replicated store: a 3-node etcd cluster on loopback ports and
//! two servers on it. Concurrent editors split across both servers lose nothing, the servers
//! agree with each other and with a fresh load, a subscriber on each server gets every
//! committed change once and in commit order, whichever server made it, a transaction whose
//! answer is lost is made exactly once, and both survive an etcd node and a server
//! killed with SIGKILL; a sled store exported, imported into etcd and back gives identical
//! files.
//!
//! Needs the `etcd` feature and Debian's `etcd-server` (`.ci/run` installs it).

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use recover_better::model::ChangeKind;
use recover_better::store::{check, Store};

use crate::common::etcd::Cluster;
use crate::common::{self, bin, Dataset};
use crate::concurrency::{
    assert_acknowledged, assert_history_matches_links, editor, start_server_at,
    start_server_logging, Ack, Unavailable, CLIENTS,
};

/// A server process; killed on drop.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(location: &str) -> Server {
        let (child, address) = start_server_at(location);
        Server { child, address }
    }

    /// With its log in `CARGO_TARGET_TMPDIR/<name>.log` (printed when a test fails).
    fn logged(location: &str, name: &str) -> Server {
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.log"));
        eprintln!("server log: {}", path.display());
        let file = std::fs::File::create(&path).unwrap();
        let (child, address) = start_server_logging(location, Stdio::from(file));
        Server { child, address }
    }
}

/// A `linkChanged` subscriber (all links) on a server, collecting `(recommendation ->
/// measure, kind, version)` as the events arrive.
struct LinkEvents {
    task: tokio::task::JoinHandle<Vec<(String, String, i64)>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    seen: Arc<std::sync::atomic::AtomicUsize>,
}

impl LinkEvents {
    async fn subscribe(address: &str) -> LinkEvents {
        use crate::subscriptions::{connect_url, send, subscribe};
        use futures_util::StreamExt;
        use std::sync::atomic::Ordering;
        let url = format!("{}/graphql/ws", address.replacen("http", "ws", 1));
        let (mut ws, ack) = connect_url(&url, None).await;
        assert_eq!(ack.unwrap()["type"], "connection_ack");
        subscribe(
            &mut ws,
            "links",
            "subscription { linkChanged { kind recommendation measure change { version } } }",
        )
        .await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (stop2, seen2) = (stop.clone(), seen.clone());
        let task = tokio::spawn(async move {
            use tokio_tungstenite::tungstenite::Message;
            let mut events = vec![];
            loop {
                let m = match tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
                    // Half a second without a message: the end, once the test says so.
                    Err(_) if stop2.load(Ordering::SeqCst) => return events,
                    Err(_) => continue,
                    Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str::<Value>(&t).unwrap(),
                    Ok(Some(Ok(Message::Close(c)))) => panic!("the server closed: {c:?}"),
                    Ok(Some(Ok(_))) => continue,
                    Ok(other) => panic!("the connection ended: {other:?}"),
                };
                if m["type"] == "ping" {
                    send(&mut ws, json!({ "type": "pong" })).await;
                    continue;
                }
                assert_eq!(m["type"], "next", "the subscription ended: {m}");
                assert!(m["payload"].get("errors").is_none(), "{m}");
                let e = &m["payload"]["data"]["linkChanged"];
                events.push((
                    format!(
                        "{} -> {}",
                        e["recommendation"].as_str().unwrap(),
                        e["measure"].as_str().unwrap()
                    ),
                    e["kind"].as_str().unwrap().to_owned(),
                    e["change"]["version"].as_i64().unwrap(),
                ));
                seen2.store(events.len(), Ordering::SeqCst);
            }
        });
        LinkEvents { task, stop, seen }
    }

    /// Waits for the first event (the probe), then forgets it.
    async fn first(&mut self) {
        use std::sync::atomic::Ordering;
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.seen.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline, "the probe's event never came");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.seen.store(0, Ordering::SeqCst);
    }

    /// Every event after the probe, once none came for half a second.
    async fn finish(self) -> Vec<(String, String, i64)> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut events = self.task.await.unwrap();
        events.remove(0); // the probe
        events
    }
}

/// Prints the warnings and errors of the log of [`Server::logged`] `name`.
fn print_warnings(name: &str) {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.log"));
    let log = std::fs::read_to_string(&path).unwrap_or_default();
    for line in log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .take(40)
    {
        println!("{name}: {line}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary on the store at `location`; its stdout.
fn run(location: &str, args: &[&str]) -> String {
    let out = Command::new(bin())
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
    String::from_utf8(out.stdout).unwrap()
}

/// The small dataset imported and an editor's token made, through the command line.
fn seed(location: &str) -> String {
    let dataset = Dataset::small().write_temp();
    run(location, &["import", dataset.path().to_str().unwrap()]);
    let out = run(
        location,
        &["token", "create", "--name", "eddie", "--role", "editor"],
    );
    let token = out.lines().last().unwrap().to_owned();
    assert!(token.starts_with("rb_"), "{out}");
    token
}

async fn post(address: &str, query: &str) -> Value {
    graphql(address, None, query).await
}

/// A query or mutation with an editor's token.
async fn post_as(address: &str, token: &str, query: &str) -> Value {
    graphql(address, Some(token), query).await
}

async fn graphql(address: &str, token: Option<&str>, query: &str) -> Value {
    let mut request = reqwest::Client::new().post(format!("{address}/graphql"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn get_text(address: &str, path: &str) -> String {
    reqwest::get(format!("{address}{path}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The server's `/ready` answer.
async fn ready(address: &str) -> Value {
    reqwest::get(format!("{address}/ready"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// What the servers are compared on: every link and recommendation downloaded whole, and a
/// few of the read API's queries.
async fn view(address: &str) -> BTreeMap<&'static str, String> {
    let mut v = BTreeMap::new();
    v.insert("links", get_text(address, "/export/links.jsonl").await);
    v.insert(
        "recommendations",
        get_text(address, "/export/recommendations.jsonl").await,
    );
    v.insert(
        "measures",
        get_text(address, "/export/measures.jsonl").await,
    );
    let queries = [
        "{ recommendations(first: 20, filter: { cycle: 3 }) { totalCount edges { node { ref text response actionCategory } } } }",
        "{ measures(first: 10) { totalCount edges { node { ref title links { recommendation { ref } relation version } } } } }",
        "{ recommendations(first: 5) { facets { theme { value count } response { value count } } } }",
        "{ changes(first: 100) { totalCount edges { node { entity key kind version author } } } }",
    ];
    for (i, q) in queries.iter().enumerate() {
        let name: &'static str = ["q1", "q2", "q3", "q4"][i];
        v.insert(name, post(address, q).await.to_string());
    }
    v
}

/// Waits until every server has reached the store's last commit.
async fn converge(addresses: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut revisions = vec![];
        for a in addresses {
            revisions.push(ready(a).await["replica"]["revision"].as_u64());
        }
        if revisions.iter().all(|r| r.is_some() && *r == revisions[0]) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "servers did not converge: {revisions:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The store at `location` after editors made the acknowledged changes `acks`: its check is
/// clean, every acknowledged change has its history entry, each link agrees with its last
/// entry, and versions never went back.
async fn verify_store(location: &str, acks: &[Ack]) {
    let (location, acks) = (location.to_owned(), acks.to_vec());
    tokio::task::spawn_blocking(move || {
        let store = Store::open_location(&location).unwrap();
        let report = check::check(&store).unwrap();
        assert!(report.is_clean(), "{:?}", report.violations);
        assert_acknowledged(&store, &acks, "eddie");
        assert_history_matches_links(&store);
        assert_versions_never_go_back(&store);
    })
    .await
    .unwrap();
}

/// Per link, versions only go up between a creation and a deletion, in history order.
fn assert_versions_never_go_back(store: &Store) {
    let mut last: BTreeMap<String, u32> = BTreeMap::new();
    for e in store.all_history().map(Result::unwrap) {
        match e.change {
            ChangeKind::Created => {
                assert_eq!(e.version, 1, "{} created at version {}", e.key, e.version);
                last.insert(e.key, 1);
            }
            ChangeKind::Deleted => {
                last.remove(&e.key);
            }
            _ => {
                let before = last.get(&e.key).copied().unwrap_or(0);
                assert!(
                    e.version > before,
                    "{}: version {} after {before}",
                    e.key,
                    e.version
                );
                last.insert(e.key, e.version);
            }
        }
    }
}

async fn editors(
    servers: &[&str],
    token: &str,
    seed: u64,
    until: Instant,
    acks: Arc<Mutex<Vec<Ack>>>,
    unavailable: Unavailable,
) -> Vec<tokio::task::JoinHandle<(usize, usize)>> {
    (0..CLIENTS as u64)
        .map(|i| {
            tokio::spawn(editor(
                servers[i as usize % servers.len()].to_owned(),
                token.to_owned(),
                seed + i,
                until,
                acks.clone(),
                unavailable,
            ))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_a_three_node_cluster_agree_under_sixteen_editors() {
    let cluster = Cluster::start(3);
    let url = cluster.url("rb");
    let token = tokio::task::spawn_blocking({
        let url = url.clone();
        move || seed(&url)
    })
    .await
    .unwrap();
    let a = Server::logged(&url, "replica-agree-a");
    let b = Server::logged(&url, "replica-agree-b");

    // The same answers from A, B and a server on a sled store of the same dataset.
    let sled_dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let sled = sled_dir.path().join("store").display().to_string();
    tokio::task::spawn_blocking({
        let sled = sled.clone();
        move || seed(&sled)
    })
    .await
    .unwrap();
    let c = Server::start(&sled);
    let on_sled = view(&c.address).await;
    assert_eq!(view(&a.address).await, on_sled, "server A and sled differ");
    assert_eq!(view(&b.address).await, on_sled, "server B and sled differ");
    drop(c);

    // A write through A is read through B.
    let link = "mutation { linkRecommendation(input: { recommendation: \"R-36-HND-001\", measure: \"M-USA-001\", relation: RELATED }) { link { version } } }";
    let r = post_as(&a.address, &token, link).await;
    assert_eq!(r["data"]["linkRecommendation"]["link"]["version"], 1, "{r}");
    converge(&[&a.address, &b.address]).await;
    let seen = post(
        &b.address,
        "{ recommendation(ref: \"R-36-HND-001\") { links { measure { ref } } } }",
    )
    .await;
    assert!(seen.to_string().contains("M-USA-001"), "{seen}");

    // A subscriber on each server, told of every link change whichever server made it.
    let mut subscribers = vec![];
    for address in [&a.address, &b.address] {
        subscribers.push(LinkEvents::subscribe(address).await);
    }
    // Subscribed once a write through B reaches both (the subscribe message has no answer).
    let probe = "mutation { linkRecommendation(input: { recommendation: \"R-36-HND-001\", measure: \"M-USA-001\", relation: RELATED, note: \"probe\", expectedVersion: 1 }) { link { version } } }";
    let r = post_as(&b.address, &token, probe).await;
    assert_eq!(r["data"]["linkRecommendation"]["link"]["version"], 2, "{r}");
    for s in &mut subscribers {
        s.first().await;
    }
    let history_before = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            Store::open_location(&url).unwrap().all_history().count()
        })
        .await
        .unwrap()
    };

    // Sixteen editors, half on each server.
    let acks = Arc::new(Mutex::new(vec![]));
    let until = Instant::now() + Duration::from_secs(6);
    let tasks = editors(
        &[&a.address, &b.address],
        &token,
        0,
        until,
        acks.clone(),
        Unavailable::Fails,
    )
    .await;
    let (mut sent, mut refused) = (0, 0);
    for t in tasks {
        let (s, r) = match t.await {
            Ok(counts) => counts,
            Err(e) => {
                // What the servers logged says why an editor got an answer it should not.
                for name in ["replica-agree-a", "replica-agree-b"] {
                    print_warnings(name);
                }
                std::panic::resume_unwind(e.into_panic());
            }
        };
        sent += s;
        refused += r;
    }
    let acks = acks.lock().unwrap().clone();
    eprintln!(
        "{sent} mutations through two servers, {} acknowledged, {refused} conflicts",
        acks.len()
    );
    assert!(acks.len() > 50, "too few changes: {}", acks.len());
    assert!(
        refused > 0,
        "16 editors on 12 pairs must conflict sometimes"
    );

    converge(&[&a.address, &b.address]).await;
    verify_store(&url, &acks).await;
    // Each subscriber got every committed link change, from both servers, once, in commit
    // order: the history's link entries since the probe.
    let committed: Vec<(String, String, i64)> = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            Store::open_location(&url)
                .unwrap()
                .all_history()
                .skip(history_before)
                .map(Result::unwrap)
                .filter(|e| e.entity == recover_better::model::Entity::Link)
                .map(|e| {
                    (
                        e.key.replace('\t', " -> "),
                        format!("{:?}", e.change).to_uppercase(),
                        i64::from(e.version),
                    )
                })
                .collect()
        })
        .await
        .unwrap()
    };
    assert!(committed.len() > 50, "{} link changes", committed.len());
    for (s, name) in subscribers.into_iter().zip(["A", "B"]) {
        let events = s.finish().await;
        assert_eq!(
            events.len(),
            committed.len(),
            "the subscriber on server {name} got {} events for {} committed changes",
            events.len(),
            committed.len()
        );
        if let Some(i) = (0..events.len()).find(|&i| events[i] != committed[i]) {
            panic!(
                "server {name}'s subscriber: event {i} is {:?}, the commit {:?}",
                events[i], committed[i]
            );
        }
    }
    // Both servers equal a fresh load (a third server started now).
    let fresh = Server::start(&url);
    let expected = view(&fresh.address).await;
    assert_eq!(
        view(&a.address).await,
        expected,
        "server A differs from a fresh load"
    );
    assert_eq!(
        view(&b.address).await,
        expected,
        "server B differs from a fresh load"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_etcd_node_and_a_server_killed_under_load_lose_nothing() {
    let mut cluster = Cluster::start(3);
    let url = cluster.url("rb");
    let token = tokio::task::spawn_blocking({
        let url = url.clone();
        move || seed(&url)
    })
    .await
    .unwrap();
    let mut a = Server::logged(&url, "replica-kill-a");
    let b = Server::logged(&url, "replica-kill-b");

    let acks = Arc::new(Mutex::new(vec![]));
    let until = Instant::now() + Duration::from_secs(10);
    let tasks = editors(
        &[&a.address, &b.address],
        &token,
        1000,
        until,
        acks.clone(),
        Unavailable::NotAcknowledged,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.kill(0); // SIGKILL one of three etcd nodes: a quorum remains
    tokio::time::sleep(Duration::from_secs(2)).await;
    a.child.kill().unwrap(); // SIGKILL server A
    a.child.wait().unwrap();
    let acked_at_kill = acks.lock().unwrap().len();
    for t in tasks {
        t.await.unwrap();
    }
    let acks = acks.lock().unwrap().clone();
    eprintln!(
        "{} acknowledged, {acked_at_kill} of them before server A was killed",
        acks.len()
    );
    assert!(acked_at_kill > 10, "only {acked_at_kill} acknowledged");
    assert!(
        acks.len() > acked_at_kill + 10,
        "server B stopped acknowledging writes after the kills: {} then {acked_at_kill}",
        acks.len()
    );

    // Server A restarts on the two remaining nodes and catches up.
    let survivors = {
        let hosts: Vec<String> = cluster.nodes[1..]
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.client))
            .collect();
        format!("etcd://{}/rb", hosts.join(","))
    };
    a = Server::start(&survivors);
    converge(&[&a.address, &b.address]).await;
    verify_store(&survivors, &acks).await;
    assert_eq!(
        view(&a.address).await,
        view(&b.address).await,
        "the restarted server and the survivor differ"
    );
}

#[test]
fn a_sled_store_moved_to_etcd_and_back_exports_the_same_files() {
    let cluster = Cluster::start(1);
    let sled = common::store_with_small_dataset();
    let first = common::export_bytes(&sled);

    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in &first {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let etcd = Store::open_location(&cluster.url("moved")).unwrap();
    common::import_dir(&etcd, dir.path()).unwrap();
    common::assert_clean(&etcd);
    let second = common::export_bytes(&etcd);
    common::assert_same_files(&first, &second);

    let back_dir = tempfile::tempdir().unwrap();
    for (name, bytes) in &second {
        let path = back_dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let back_store = tempfile::tempdir().unwrap();
    let back = Store::open(&back_store.path().join("store")).unwrap();
    common::import_dir(&back, back_dir.path()).unwrap();
    common::assert_same_files(&first, &common::export_bytes(&back));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_hands_over_each_commit_as_its_writer_saw_it() {
    use recover_better::store::{ApplyOptions, Change, FeedItem, Key, Record};
    let cluster = Cluster::start(1);
    let url = cluster.url("feed");
    let store = Arc::new(
        tokio::task::spawn_blocking(move || {
            let store = Store::open_location(&url).unwrap();
            let dir = Dataset::small().write_temp();
            common::import_dir(&store, dir.path()).unwrap();
            store
        })
        .await
        .unwrap(),
    );
    let (_view, point) = store.pin().unwrap().expect("an etcd store is followed");
    let mut feed = store.follow(point).unwrap();

    // An edit, a creation with its index entries, a deletion that cascades to links.
    let (_, rec) = store.recommendations().next().unwrap().unwrap();
    let mut edited = rec.record.clone();
    edited.text.push_str(" (edited)");
    let (_, measure) = store
        .measures()
        .map(Result::unwrap)
        .find(|(id, m)| {
            let linked = store
                .links()
                .map(Result::unwrap)
                .any(|((_, x), _)| x == *id);
            let cited = store
                .good_practices()
                .map(Result::unwrap)
                .any(|(_, g)| g.record.measures.contains(&m.record.id));
            let mitigates = store
                .concerns()
                .map(Result::unwrap)
                .any(|(_, c)| c.record.measures.contains(&m.record.id));
            let acted = store
                .actions()
                .map(Result::unwrap)
                .any(|(_, a)| a.record.measures.contains(&m.record.id));
            linked && !cited && !mitigates && !acted
        })
        .expect("a measure with links that nothing else refers to");
    let writes = vec![
        vec![Change::put(Record::Recommendation(edited))],
        vec![Change::delete(Key::Measure(measure.record.id.clone()))],
    ];
    for changes in writes {
        let s = store.clone();
        let report = tokio::task::spawn_blocking(move || {
            s.apply(
                changes,
                ApplyOptions {
                    author: Some("feed-test"),
                    report_changes: true,
                    ..ApplyOptions::default()
                },
            )
            .unwrap()
        })
        .await
        .unwrap();
        let item = tokio::time::timeout(Duration::from_secs(10), feed.next())
            .await
            .expect("the commit comes through the feed");
        let FeedItem::Commit { changes, history } = item else {
            panic!("the feed was lost")
        };
        let sorted = |v: Vec<String>| {
            let mut v = v;
            v.sort();
            v
        };
        assert_eq!(changes.revision, report.changes.revision);
        assert_eq!(
            sorted(changes.records.iter().map(|r| format!("{r:?}")).collect()),
            sorted(
                report
                    .changes
                    .records
                    .iter()
                    .map(|r| format!("{r:?}"))
                    .collect()
            ),
        );
        assert_eq!(
            sorted(changes.postings.iter().map(|p| format!("{p:?}")).collect()),
            sorted(
                report
                    .changes
                    .postings
                    .iter()
                    .map(|p| format!("{p:?}"))
                    .collect()
            ),
        );
        assert_eq!(history, report.history);
        assert!(!history.is_empty());
    }
}

/// A transaction whose answer is lost (a timeout, a leader change) may have been applied or
/// not; the writer settles it through its fence and the write is made exactly once, with one
/// history entry, whichever way the answer was lost.
#[test]
fn a_write_whose_answer_is_lost_is_made_exactly_once() {
    use recover_better::model::Ref;
    use recover_better::store::{ApplyOptions, Change, Outcome, Record};

    let cluster = Cluster::start(3);
    let url = cluster.url("rb");
    seed(&url);
    let store = Store::open_location(&url).unwrap();
    let before = store.all_history().count();
    let (_, measure) = store
        .measure(&Ref::parse("M-USA-001").unwrap())
        .unwrap()
        .unwrap();
    let mut version = measure.version;
    for (i, applied) in [true, false, true].into_iter().enumerate() {
        assert!(store.lose_next_answer(applied), "an etcd store");
        let mut m = measure.record.clone();
        m.title = format!("Edited with a lost answer ({i})");
        let report = store
            .apply(
                vec![Change::Put {
                    record: Record::Measure(m),
                    expected_version: Some(version),
                }],
                ApplyOptions {
                    author: Some("eddie"),
                    ..ApplyOptions::default()
                },
            )
            .unwrap_or_else(|e| panic!("lost answer {i} (applied: {applied}): {e}"));
        assert_eq!(
            report.outcomes,
            vec![Outcome::Updated {
                version: version + 1
            }],
            "answer {i} lost (applied: {applied})"
        );
        version += 1;
    }
    let (_, now) = store
        .measure(&Ref::parse("M-USA-001").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(now.version, version);
    assert_eq!(now.record.title, "Edited with a lost answer (2)");
    // One entry per write: none lost, none doubled.
    let entries: Vec<_> = store
        .all_history()
        .skip(before)
        .map(Result::unwrap)
        .map(|e| (e.key, e.version))
        .collect();
    assert_eq!(
        entries,
        (measure.version + 1..=version)
            .map(|v| ("M-USA-001".to_owned(), v))
            .collect::<Vec<_>>()
    );
    let report = check::check(&store).unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
}

/// A server whose store is replaced under it (an import through the command line, written as
/// a new generation on a cluster with etcd's default limits) loses its feed: it reloads, says
/// so in its log and on `/ready`, and serves the new data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_store_is_replaced_reloads_and_says_so() {
    let cluster = Cluster::start_with_etcd_defaults(1);
    let url = cluster.url("rb");
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("tiny");
    let dir_arg = dir.to_str().unwrap().to_owned();
    run(
        &url,
        &[
            "generate", "--preset", "tiny", "--seed", "7", "--out", &dir_arg,
        ],
    );
    run(&url, &["import", &dir_arg]);
    let a = Server::logged(&url, "replica-reload-a");
    let first = ready(&a.address).await;
    assert_eq!(first["replica"]["reloads"], 0, "{first}");
    let rec = "{ recommendations(first: 1) { totalCount nodes { ref text } } }";
    let before = post(&a.address, rec).await;
    let id = before["data"]["recommendations"]["nodes"][0]["ref"]
        .as_str()
        .unwrap()
        .to_owned();

    // Every recommendation's text revised: hundreds of keys, past etcd's 128 operations.
    let path = dir.join("recommendations.jsonl");
    let revised: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut r: Value = serde_json::from_str(l).unwrap();
            let text = format!("{} (revised)", r["text"].as_str().unwrap());
            r["text"] = Value::String(text);
            r.to_string()
        })
        .collect();
    assert!(revised.len() > 20, "{} recommendations", revised.len());
    std::fs::write(&path, revised.join("\n") + "\n").unwrap();
    run(&url, &["import", &dir_arg]);

    let deadline = Instant::now() + Duration::from_secs(20);
    let state = loop {
        let state = ready(&a.address).await;
        if state["replica"]["reloads"] == 1 && state["status"] == "ready" {
            break state;
        }
        assert!(
            Instant::now() < deadline,
            "no reload after the store was replaced: {state}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let why = state["replica"]["lastReload"].as_str().unwrap_or_default();
    assert!(!why.is_empty(), "{state}");
    let log = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("replica-reload-a.log"),
    )
    .unwrap();
    assert!(
        log.contains("reloading the snapshot"),
        "the log does not say it reloads:\n{log}"
    );
    let q = format!("{{ recommendation(ref: \"{id}\") {{ text }} }}");
    let after = post(&a.address, &q).await;
    let text = after["data"]["recommendation"]["text"].as_str().unwrap();
    assert!(text.ends_with("(revised)"), "{after}");
    assert_eq!(
        post(&a.address, rec).await["data"]["recommendations"]["totalCount"],
        before["data"]["recommendations"]["totalCount"]
    );
}

/// Two servers' writers on one store at once: every write bumps the store's `revision` key, so
/// they race; after a lost race each server's writers take turns with the other's, so few
/// writes are planned twice, and every write is made exactly once.
#[test]
fn writers_of_two_servers_take_turns_after_a_lost_race_and_every_write_is_made_once() {
    use recover_better::store::{ApplyOptions, Change, Record};
    // The seed dataset's four recommendations, two edited through each store.
    const WRITERS: usize = 4;
    const WRITES: u32 = 40;
    let cluster = Cluster::start(3);
    let url = cluster.url("rb");
    seed(&url);
    // Two stores on one prefix: two processes' engines, each with its own writer lock.
    let stores: Vec<Arc<Store>> = (0..2)
        .map(|_| Arc::new(Store::open_location(&url).unwrap()))
        .collect();
    let recommendations: Vec<_> = stores[0]
        .recommendations()
        .map(Result::unwrap)
        .take(WRITERS)
        .map(|(_, r)| r)
        .collect();
    assert_eq!(recommendations.len(), WRITERS);
    let history_before = stores[0].all_history().count();

    // Each writer edits its recommendation `WRITES` times through its store, from `from` on.
    let edit_all = |from: u32| {
        std::thread::scope(|s| {
            for (i, r) in recommendations.iter().enumerate() {
                let store = stores[i % 2].clone();
                s.spawn(move || {
                    for w in from..from + WRITES {
                        let mut record = r.record.clone();
                        record.text = format!("{} (edit {w})", r.record.text);
                        store
                            .apply(
                                vec![Change::Put {
                                    record: Record::Recommendation(record),
                                    expected_version: Some(r.version + w),
                                }],
                                ApplyOptions {
                                    author: Some("turns"),
                                    ..ApplyOptions::default()
                                },
                            )
                            .unwrap_or_else(|e| panic!("{} edit {w}: {e}", r.record.id));
                    }
                });
            }
        });
        for r in &recommendations {
            let (_, now) = stores[1].recommendation(&r.record.id).unwrap().unwrap();
            assert_eq!(now.version, r.version + from + WRITES, "{}", r.record.id);
            assert!(now
                .record
                .text
                .ends_with(&format!("(edit {})", from + WRITES - 1)));
        }
        assert_eq!(
            stores[0].all_history().count(),
            history_before + WRITERS * (from + WRITES) as usize,
            "one history entry per write"
        );
        let seen: Vec<_> = stores.iter().map(|s| s.write_contention()).collect();
        eprintln!("contention after edits {from}..: {seen:?}");
        seen
    };

    let seen = edit_all(0);
    let lost: u64 = seen.iter().map(|c| c.races_lost).sum();
    assert!(
        lost > 0,
        "the two stores' writers never raced, so this shows nothing: {seen:?}"
    );
    for c in &seen {
        assert!(
            c.races_lost == 0 || c.turns_taken > 0,
            "a store that lost a race took no turn: {seen:?}"
        );
    }
    // Once a writer waits for a turn, every other writer sees it and waits for its own: only
    // writes planned before the first turn was asked for can still lose.
    assert!(
        lost <= 2 * WRITERS as u64,
        "{lost} races lost: turns did not stop the racing ({seen:?})"
    );

    // The same edits again without turns: the writers race, and lose many more times (25 to
    // 49 in six runs, against 1 or 2 with turns); still every write is made once.
    for store in &stores {
        store.set_write_turns(false);
    }
    let after = edit_all(WRITES);
    let lost_racing: u64 = after.iter().map(|c| c.races_lost).sum::<u64>() - lost;
    let turns = |v: &[recover_better::store::WriteContention]| -> u64 {
        v.iter().map(|c| c.turns_taken).sum()
    };
    assert_eq!(turns(&after), turns(&seen), "no turn taken with turns off");
    assert!(
        lost_racing > lost,
        "{lost_racing} races lost without turns, {lost} with ({after:?})"
    );

    let report = check::check(&stores[0]).unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);

    // Closed, the stores take their fences and their turns' leases with them; so did the
    // command-line processes that seeded the store.
    assert_eq!(cluster.keys("rb/w/").len(), 2, "the two stores' fences");
    assert!(
        cluster.leases() >= 1,
        "a store that took turns holds a lease"
    );
    drop(stores);
    assert_eq!(cluster.keys("rb/w/"), Vec::<String>::new(), "fences left");
    assert_eq!(cluster.keys("rb/turn/"), Vec::<String>::new(), "turns left");
    assert_eq!(cluster.leases(), 0, "leases left");
}
