//! Operations: what the server tells its operators (/metrics, /ready, /health, logs) and the
//! limits that keep it reachable (rate limits, connection deadlines, a bounded shutdown).
//! Some tests drive the real binary, as an operator would run it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::num::NonZeroU32;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use recover_better::server::HttpOptions;

use crate::harness::{self, server, server_with, Server};

// ---------------------------------------------------------------------------------------
// Helpers

/// One series of the Prometheus text format.
#[derive(Debug)]
struct Series {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn parse_metrics(text: &str) -> Vec<Series> {
    let mut out = vec![];
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (head, value) = line.rsplit_once(' ').expect("a value");
        let value: f64 = value.parse().expect("a number");
        let (name, labels) = match head.split_once('{') {
            None => (head.to_owned(), BTreeMap::new()),
            Some((name, rest)) => {
                let mut labels = BTreeMap::new();
                let mut rest = rest.strip_suffix('}').expect("closing brace");
                while let Some((key, after)) = rest.split_once("=\"") {
                    let mut value = String::new();
                    let mut chars = after.char_indices();
                    let mut end = after.len();
                    while let Some((i, c)) = chars.next() {
                        match c {
                            '\\' => value.extend(chars.next().map(|(_, c)| c)),
                            '"' => {
                                end = i + 1;
                                break;
                            }
                            c => value.push(c),
                        }
                    }
                    labels.insert(key.trim_start_matches(',').to_owned(), value);
                    rest = &after[end..];
                }
                (name.to_owned(), labels)
            }
        };
        out.push(Series {
            name,
            labels,
            value,
        });
    }
    out
}

/// The sum of the series `name` whose labels include all of `want`.
fn sum(series: &[Series], name: &str, want: &[(&str, &str)]) -> f64 {
    series
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            want.iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
        })
        .map(|s| s.value)
        .sum()
}

async fn scrape(s: &Server) -> Vec<Series> {
    let r = reqwest::get(format!("{}/metrics", s.address))
        .await
        .expect("scrape");
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    parse_metrics(&r.text().await.unwrap())
}

const REQUESTS: &str = "recover_better_http_requests_total";
const DURATION_COUNT: &str = "recover_better_http_request_duration_seconds_count";

async fn get_json(url: String) -> (u16, Value) {
    let r = reqwest::get(url).await.expect("request");
    (r.status().as_u16(), r.json().await.expect("JSON"))
}

/// The real binary, serving an empty store on a free port; its stderr is collected.
struct Binary {
    child: Child,
    address: String,
    stderr: Option<std::thread::JoinHandle<String>>,
    _dir: tempfile::TempDir,
}

impl Binary {
    fn start(args: &[&str]) -> Binary {
        let dir = tempfile::Builder::new()
            .prefix("ops-binary-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_recover-better"));
        for (k, _) in std::env::vars() {
            if k.starts_with("RECOVER_BETTER_") {
                command.env_remove(k);
            }
        }
        let mut child = command
            .args(["--data", dir.path().join("store").to_str().unwrap()])
            .args(["serve", "--empty", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let address = loop {
            line.clear();
            if stdout.read_line(&mut line).unwrap() == 0 {
                let _ = child.kill();
                panic!("the binary exited early: {}", stderr.join().unwrap());
            }
            if let Some(rest) = line.trim().strip_prefix("GraphiQL: http://") {
                break rest.trim_end_matches('/').to_owned();
            }
        };
        // Keep draining stdout so the binary never blocks on it.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Binary {
            child,
            address,
            stderr: Some(stderr),
            _dir: dir,
        }
    }

    /// Sends SIGTERM; returns how it exited, how long it took, and its stderr.
    fn terminate(&mut self, within: Duration) -> (ExitStatus, Duration, String) {
        let started = Instant::now();
        let kill = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(kill.success());
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let stderr = self.stderr.take().unwrap().join().unwrap();
                return (status, started.elapsed(), stderr);
            }
            if started.elapsed() > within {
                let _ = self.child.kill();
                let stderr = self.stderr.take().unwrap().join().unwrap();
                panic!("still running {within:?} after SIGTERM; stderr:\n{stderr}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request over a plain socket; returns the status line's code and the whole response.
fn raw_request(address: &str, request: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    (status, response)
}

/// Waits until the peer closes `socket` (EOF or reset); panics after `within`.
async fn closed_within(socket: &mut tokio::net::TcpStream, within: Duration) {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.read(&mut buf)).await {
            Err(_) => panic!("the socket is still open after {within:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return,
            // A 408 or an error response before closing is fine.
            Ok(Ok(_)) => continue,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Metrics

#[tokio::test]
async fn metrics_count_each_request_once_by_route_status_and_operation() {
    let s = server().await;
    let before = scrape(&s).await;

    for _ in 0..5 {
        let r = s.gql(None, "query Probe { __typename }", json!({})).await;
        assert_eq!(r.status, 200);
    }
    for _ in 0..2 {
        let r = s
            .gql(Some("not-a-token"), "{ __typename }", json!({}))
            .await;
        assert_eq!(r.status, 401);
    }
    let after = scrape(&s).await;

    let delta = |want: &[(&str, &str)]| sum(&after, REQUESTS, want) - sum(&before, REQUESTS, want);
    assert_eq!(delta(&[("route", "/graphql"), ("status", "200")]), 5.0);
    assert_eq!(delta(&[("route", "/graphql"), ("status", "401")]), 2.0);
    assert_eq!(delta(&[("route", "/graphql")]), 7.0);
    // The first scrape is counted once it is answered, so the second one sees it.
    assert_eq!(delta(&[("route", "/metrics"), ("status", "200")]), 1.0);
    // Operation labels are the operation's name (the handler reports it), and codes the
    // response's first error code.
    assert_eq!(
        delta(&[("route", "/graphql"), ("operation", "Probe"), ("code", "")]),
        5.0
    );
    assert_eq!(
        delta(&[("route", "/graphql"), ("code", "UNAUTHENTICATED")]),
        2.0
    );
    // Latency: one observation per request.
    let observed = sum(&after, DURATION_COUNT, &[("route", "/graphql")])
        - sum(&before, DURATION_COUNT, &[("route", "/graphql")]);
    assert_eq!(observed, 7.0);
}

#[tokio::test]
async fn metrics_report_writes_the_snapshot_generation_subscribers_and_store_size() {
    let s = server().await;
    let before = scrape(&s).await;
    let generation = s.live.snapshot().generation as f64;
    assert_eq!(
        sum(&before, "recover_better_snapshot_generation", &[]),
        generation
    );
    assert_eq!(
        sum(&before, "recover_better_writes_committed_total", &[]),
        0.0
    );
    assert!(sum(&before, "recover_better_store_size_bytes", &[]) > 0.0);

    s.as_editor(
        harness::LINK,
        json!({ "input": { "recommendation": "R-36-HND-002", "measure": "M-HND-001", "relation": "RELATED" } }),
    )
    .await
    .data();
    let _subscriber = s
        .live
        .subscribe(recover_better::live::EventFilter::Measures { country: None });
    let after = scrape(&s).await;

    assert_eq!(
        sum(&after, "recover_better_snapshot_generation", &[]),
        generation + 1.0
    );
    assert_eq!(
        sum(&after, "recover_better_writes_committed_total", &[]),
        1.0
    );
    assert_eq!(
        sum(&after, "recover_better_subscribers", &[])
            - sum(&before, "recover_better_subscribers", &[]),
        1.0
    );
    // This scrape's own connection at least.
    assert!(sum(&after, "recover_better_connections_open", &[]) >= 1.0);
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let s = server_with(HttpOptions {
        metrics: false,
        ..HttpOptions::default()
    })
    .await;
    let r = reqwest::get(format!("{}/metrics", s.address))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Everything else still works.
    assert_eq!(
        s.read("{ __typename }", json!({})).await["__typename"],
        "QueryRoot"
    );
}

#[tokio::test]
async fn metrics_need_a_token_when_the_server_requires_one() {
    let s = server_with(HttpOptions {
        require_token: true,
        ..HttpOptions::default()
    })
    .await;
    let url = format!("{}/metrics", s.address);
    let anonymous = reqwest::get(&url).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let client = reqwest::Client::new();
    let with_token = client
        .get(&url)
        .bearer_auth(&s.reader)
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), 200);
}

// ---------------------------------------------------------------------------------------
// Health and readiness

#[tokio::test]
async fn ready_reports_the_version_the_store_and_the_snapshot_generation_until_shutdown() {
    let s = server().await;
    let (status, body) = get_json(format!("{}/ready", s.address)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["store"], "open");
    let generation = s.live.snapshot().generation;
    assert_eq!(body["snapshotGeneration"], generation);

    s.as_editor(
        harness::LINK,
        json!({ "input": { "recommendation": "R-36-HND-002", "measure": "M-HND-001", "relation": "RELATED" } }),
    )
    .await
    .data();
    let (_, body) = get_json(format!("{}/ready", s.address)).await;
    assert_eq!(body["snapshotGeneration"], generation + 1);

    // Shutting down: not ready any more, but alive.
    s.live.shut_down();
    let (status, body) = get_json(format!("{}/ready", s.address)).await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "shutting down");
    let (status, body) = get_json(format!("{}/health", s.address)).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
}

// ---------------------------------------------------------------------------------------
// Rate limits

#[tokio::test]
async fn a_caller_over_its_rate_gets_429_with_retry_after_while_others_go_on() {
    let s = server_with(HttpOptions {
        rate_limit: NonZeroU32::new(1),
        ..HttpOptions::default()
    })
    .await;
    // A burst of one a second: some of these quick requests are refused.
    let client = reqwest::Client::new();
    let query = json!({ "query": "{ __typename }" });
    let mut refused = None;
    for _ in 0..20 {
        let r = client
            .post(format!("{}/graphql", s.address))
            .json(&query)
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status(), 200);
    }
    let refused = refused.expect("twenty quick requests at one a second: some are refused");
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in whole seconds");
    assert_eq!(
        retry_after, 1,
        "a bucket of one a second is full again within a second"
    );
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{body}"
    );
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("retry"));

    // A token has a bucket of its own, and so has another client address.
    let r = s.gql(Some(&s.reader), "{ __typename }", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let elsewhere = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let r = elsewhere
        .post(format!("{}/graphql", s.address))
        .json(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Liveness and metrics are not limited, and the refusal is counted.
    let r = reqwest::get(format!("{}/health", s.address)).await.unwrap();
    assert_eq!(r.status(), 200);
    let m = scrape(&s).await;
    assert!(sum(&m, "recover_better_rate_limited_total", &[]) >= 1.0);
    assert!(sum(&m, REQUESTS, &[("status", "429"), ("code", "RATE_LIMITED")]) >= 1.0);
}

// ---------------------------------------------------------------------------------------
// Connection deadlines

#[tokio::test]
async fn silent_and_half_sent_connections_are_closed_and_the_server_stays_reachable() {
    let s = server_with(HttpOptions {
        header_read_timeout: Duration::from_secs(1),
        ..HttpOptions::default()
    })
    .await;
    let address = s.address.trim_start_matches("http://").to_owned();
    let mut silent = vec![];
    for _ in 0..300 {
        silent.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    let mut half_sent = tokio::net::TcpStream::connect(&address).await.unwrap();
    half_sent
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-")
        .await
        .unwrap();

    // Others are served meanwhile.
    let started = Instant::now();
    assert_eq!(
        s.read("{ __typename }", json!({})).await["__typename"],
        "QueryRoot"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    closed_within(&mut half_sent, Duration::from_secs(20)).await;
    for socket in &mut silent {
        closed_within(socket, Duration::from_secs(20)).await;
    }
}

#[tokio::test]
async fn beyond_the_connection_limit_a_client_waits_for_a_slot() {
    let s = server_with(HttpOptions {
        header_read_timeout: Duration::from_secs(1),
        max_connections: 4,
        ..HttpOptions::default()
    })
    .await;
    let address = s.address.trim_start_matches("http://").to_owned();
    let mut silent = vec![];
    for _ in 0..4 {
        silent.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    // Let the server accept them all before the next client comes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let d = tokio::time::timeout(Duration::from_secs(30), s.read("{ __typename }", json!({})))
        .await
        .expect("served once the silent connections are closed");
    assert_eq!(d["__typename"], "QueryRoot");
    // It waited for the silent ones' header deadline (one second after they connected).
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_half_sent_request_does_not_hold_up_a_shutdown() {
    let mut b = Binary::start(&["--header-read-timeout", "300", "--shutdown-timeout", "2"]);
    let mut half_sent = std::net::TcpStream::connect(&b.address).unwrap();
    half_sent
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Le")
        .unwrap();
    // And one that is in the middle of its body.
    let mut slow_upload = std::net::TcpStream::connect(&b.address).unwrap();
    slow_upload
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"query\":")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let (status, took, stderr) = b.terminate(Duration::from_secs(20));
    assert!(status.success(), "{status:?}\n{stderr}");
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert!(stderr.contains("store flushed"), "{stderr}");
}

// ---------------------------------------------------------------------------------------
// Logs

#[test]
fn query_strings_never_reach_the_log() {
    let mut b = Binary::start(&[]);
    let secret = "hunter2-s3cr3t";
    let (status, _) = raw_request(
        &b.address,
        &format!(
            "GET /graphql?query=%7B__typename%7D&password={secret} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(status, 200);
    let (_, _, stderr) = b.terminate(Duration::from_secs(20));
    assert!(!stderr.contains(secret), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("finished") && l.contains("/graphql"))
        .unwrap_or_else(|| panic!("no request line in\n{stderr}"));
    assert!(line.contains("GET") && line.contains("200"), "{line}");
}

#[test]
fn json_logs_are_one_object_a_line_with_the_request_fields() {
    let mut b = Binary::start(&["--log-format", "json"]);
    let (status, _) = raw_request(
        &b.address,
        "GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
    let (_, _, stderr) = b.terminate(Duration::from_secs(20));
    let lines: Vec<Value> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() >= 2, "{stderr}");
    let request = lines
        .iter()
        .find(|l| l["message"] == "finished")
        .unwrap_or_else(|| panic!("no request line in\n{stderr}"));
    assert_eq!(request["status"], 200, "{request}");
    assert_eq!(request["path"], "/graphql", "{request}");
    assert_eq!(request["method"], "GET", "{request}");
    assert!(request["latency_us"].is_u64(), "{request}");
}
