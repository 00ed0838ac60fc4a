//! A throwaway etcd cluster on loopback ports, for the replica tests and benchmarks.
//! Needs Debian's `etcd-server` (or `ETCD_BIN`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An etcd cluster of its own on free loopback ports, in a temporary folder; killed on drop.
pub struct Cluster {
    dir: tempfile::TempDir,
    pub nodes: Vec<Node>,
    /// Started with etcd's own request limits (128 operations a transaction) instead of the
    /// ones the README asks an operator to set.
    etcd_defaults: bool,
}

pub struct Node {
    name: String,
    pub client: u16,
    peer: u16,
    child: Option<Child>,
}

/// A free loopback port below Linux's ephemeral range (32768-60999), chosen at random and
/// never twice in one process.
///
/// A port the kernel hands out for `127.0.0.1:0` comes from the ephemeral range, the one the
/// outgoing connections of every test running beside it draw from too: between the moment
/// it is chosen and the moment etcd binds it, a client socket may take it, and the node dies
/// with "address already in use". That happened in CI.
fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(given.len());
        let port = 20_000 + (h.finish() % 12_000) as u16;
        if given.contains(&port) {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.insert(port);
            return port;
        }
    }
}

/// Whether an etcd node answers `/health` with `{"health":"true"}` (a plain HTTP/1.0 GET).
fn health(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /health HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.replace(' ', "").contains("\"health\":\"true\"")
}

fn etcd_binary() -> PathBuf {
    let path = std::env::var_os("ETCD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("etcd"));
    let found = Command::new(&path)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "etcd is needed by the replica tests: install Debian's etcd-server (.ci/run does), or set ETCD_BIN"
    );
    path
}

impl Cluster {
    pub fn start(n: usize) -> Cluster {
        Self::starting(n, false)
    }

    /// With etcd's default request limits: every write set over 128 operations is written as
    /// a new generation, as on a cluster whose operator did not raise them.
    pub fn start_with_etcd_defaults(n: usize) -> Cluster {
        Self::starting(n, true)
    }

    /// Starts the nodes and waits until each answers healthy. A cluster that does not come up
    /// (a port taken after all, elections starved on a loaded machine) is killed and started
    /// again on new ports, up to three times; the panic then says what each try's nodes logged.
    fn starting(n: usize, etcd_defaults: bool) -> Cluster {
        let mut failures = Vec::new();
        for _ in 0..3 {
            let dir = tempfile::Builder::new().prefix("etcd-").tempdir().unwrap();
            let nodes: Vec<Node> = (0..n)
                .map(|i| Node {
                    name: format!("n{i}"),
                    client: free_port(),
                    peer: free_port(),
                    child: None,
                })
                .collect();
            let mut cluster = Cluster {
                dir,
                nodes,
                etcd_defaults,
            };
            for i in 0..n {
                cluster.launch(i, "new");
            }
            match cluster.wait_healthy() {
                Ok(()) => return cluster,
                Err(why) => failures.push(why),
            }
        }
        panic!(
            "an etcd cluster of {n} did not start in three tries:\n{}",
            failures.join("\n")
        );
    }

    fn initial_cluster(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("{}=http://127.0.0.1:{}", n.name, n.peer))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn launch(&mut self, i: usize, state: &str) {
        let initial = self.initial_cluster();
        let dir = self.dir.path().join(&self.nodes[i].name);
        let log = std::fs::File::create(self.dir.path().join(format!("n{i}.log"))).unwrap();
        let limits: &[&str] = match self.etcd_defaults {
            true => &[],
            false => &["--max-txn-ops", "10000", "--max-request-bytes", "10485760"],
        };
        let n = &mut self.nodes[i];
        let client = format!("http://127.0.0.1:{}", n.client);
        let peer = format!("http://127.0.0.1:{}", n.peer);
        let child = Command::new(etcd_binary())
            .args(["--name", &n.name])
            .arg("--data-dir")
            .arg(&dir)
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &initial])
            .args(["--initial-cluster-state", state])
            .args(["--initial-cluster-token", "recover-better-test"])
            // The limits the README asks an operator to set: a write set of a few thousand
            // keys is one transaction.
            .args(limits)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        n.child = Some(child);
    }

    /// `etcd://` address of every node.
    pub fn url(&self, prefix: &str) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.client))
            .collect();
        format!("etcd://{}/{prefix}", hosts.join(","))
    }

    /// Waits up to 30 s for every running node to answer healthy; a node that exits or stays
    /// unhealthy is an error naming it, with how it ended and the end of its log.
    fn wait_healthy(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        for i in 0..self.nodes.len() {
            loop {
                let n = &mut self.nodes[i];
                let Some(child) = n.child.as_mut() else { break };
                if health(n.client) {
                    break;
                }
                let exited = child.try_wait().ok().flatten();
                if exited.is_some() || Instant::now() >= deadline {
                    let ended = match exited {
                        Some(status) => format!("exited ({status})"),
                        None => "was not healthy after 30 s".to_string(),
                    };
                    let log = std::fs::read_to_string(self.dir.path().join(format!("n{i}.log")))
                        .unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(8).collect();
                    let tail: Vec<&str> = tail.into_iter().rev().collect();
                    return Err(format!(
                        "etcd node {} (client port {}, peer port {}) {ended}; its log ends:\n  {}",
                        n.name,
                        n.client,
                        n.peer,
                        tail.join("\n  ")
                    ));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(())
    }

    /// The keys under `prefix`, read through the first live node's JSON gateway.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut end = prefix.as_bytes().to_vec();
        *end.last_mut().expect("a prefix") += 1;
        let answer = self.gateway(
            "/v3/kv/range",
            &serde_json::json!({
                "key": b64.encode(prefix),
                "range_end": b64.encode(&end),
                "keys_only": true,
            }),
        );
        answer["kvs"]
            .as_array()
            .map(|kvs| {
                kvs.iter()
                    .map(|kv| {
                        let key = b64.decode(kv["key"].as_str().unwrap_or("")).unwrap();
                        String::from_utf8_lossy(&key).into_owned()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many leases the cluster holds.
    pub fn leases(&self) -> usize {
        let answer = self.gateway("/v3/lease/leases", &serde_json::json!({}));
        answer["leases"].as_array().map_or(0, Vec::len)
    }

    /// A POST to etcd's JSON gateway (HTTP/1.0, one request a connection).
    fn gateway(&self, path: &str, body: &serde_json::Value) -> serde_json::Value {
        use std::io::{Read, Write};
        let node = self
            .nodes
            .iter()
            .find(|n| n.child.is_some())
            .expect("a live node");
        let body = body.to_string();
        let mut s = std::net::TcpStream::connect(("127.0.0.1", node.client)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            s,
            "POST {path} HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        let (_, json) = answer.split_once("\r\n\r\n").unwrap_or(("", ""));
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{path}: {e}: {answer}"))
    }

    /// SIGKILL one node.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}
