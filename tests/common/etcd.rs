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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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

    fn starting(n: usize, etcd_defaults: bool) -> Cluster {
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
        cluster.wait_healthy();
        cluster
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

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        for n in self.nodes.iter().filter(|n| n.child.is_some()) {
            loop {
                let healthy = health(n.client);
                if healthy {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "etcd node {} did not become healthy; see {}",
                    n.name,
                    self.dir.path().display()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
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
