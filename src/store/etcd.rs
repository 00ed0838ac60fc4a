//! The replicated engine: the store's trees as key ranges in an etcd cluster.
//!
//! # Layout under the store's prefix `P` (`--store etcd://HOST:PORT[,…]/P`)
//! - `P/gen`: the current *generation* (16 hex digits). All data lives under it:
//! - `P/g/<generation>/<tree>/<key>`: one store key, its value as the store wrote it;
//! - `P/gens/<generation>`: a generation that is not current: being written by a large
//!   write (`writing`), or replaced by one (`retired`); removed with its data when the next
//!   large write starts.
//!
//! # Writes
//! A write set is one etcd transaction: it compares that the generation is still current and
//! that every key the writer read still holds what it saw (the store always reads its
//! `revision` key, so two writers from any servers are serialised by etcd itself), then puts
//! and deletes. etcd's commit (Raft, fsync on a quorum) is the durability point: there is no
//! flush of ours.
//!
//! A transaction whose answer is lost (a timeout, a leader change, a member that died while
//! it held the request) may or may not have been applied, and may still be applied later.
//! Each process therefore writes through a *fence*, `P/w/<writer>`: every transaction it
//! sends compares that key with the sequence number of its last commit and puts the next
//! one. After a lost answer the writer asks etcd, in one transaction, to move the fence past
//! the lost transaction if it is still where it was: if that succeeds the lost transaction
//! can never apply, and the write is sent again; if the fence had already moved, the lost
//! transaction was applied, and the write is done. Either way it is applied exactly once, or
//! the writer says the outcome is unknown ([`StoreError::Unavailable`]) when etcd does not
//! answer within [`PATIENCE`]. A process removes its fence when it closes the store, unless a
//! lost answer is still unsettled; one that dies leaves it behind (a few bytes).
//!
//! # Turns
//! Every write bumps the store's `revision` key, so any two writes from different servers
//! conflict, and the one that loses plans again. Servers writing back to back would otherwise
//! race again and again, and a writer could lose many times in a row. A server that lost a race
//! therefore takes a *turn* before it plans again, and for every write it makes for a moment
//! after: etcd's lock service on `P/turn`, held under a lease of this process, granted in the
//! order asked for. A writer whose view shows someone holding or waiting for a turn (the
//! view's read counts the queue under `P/turn/`) waits for its own turn too. A server keeps
//! its turn for the writes queued behind the one that took it (up to a few), then hands it on.
//!
//! The turn only orders writers; what keeps writes correct is still the transaction's
//! compare. A turn etcd does not grant within [`TURN_PATIENCE`] (most likely held by a process
//! that died, until its lease runs out) means that write, and this process's writes for the
//! lease's time-to-live, race as before; so does a turn lost with its lease.
//!
//! A write set larger than one transaction may be (etcd's `--max-txn-ops`, default 128, and
//! `--max-request-bytes`, default 1.5 MiB) is written as a new generation: the current one
//! copied, with the write set applied, under a new prefix in many small transactions, then
//! made current by one transaction that compares what the write read. Until that last
//! transaction nobody sees any of it, and a crash before it leaves the previous generation
//! serving; the orphan is removed later.
//!
//! # The feed
//! [`EtcdEngine::follow`] watches the current generation from a revision on, and hands over
//! each committed transaction's keys with their previous values, in commit order; a change
//! of generation, a compaction past the revision, or a lost watch ends the feed with the
//! reason, and the follower reloads.

use std::collections::VecDeque;
use std::future::Future;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, EventType, GetOptions, LockOptions, SortOrder,
    SortTarget, Txn, TxnOp, WatchOptions,
};
use futures_util::StreamExt;

use super::engine::{Bytes, CommitError, Scan, WriteSet};
use super::{Result, StoreError, TreeId};

/// Keys fetched per round trip of a scan.
const PAGE: i64 = 2_000;
/// A write set up to this many operations (and [`TXN_MAX_BYTES`]) is tried as one
/// transaction; etcd refuses it if its own limits are lower, and then it is written as a new
/// generation.
const TXN_MAX_OPS: usize = 10_000;
const TXN_MAX_BYTES: usize = 8 << 20;
/// Batches that copy a generation stay inside etcd's default limits.
const COPY_BATCH_OPS: usize = 100;
const COPY_BATCH_BYTES: usize = 1 << 20;
/// Copy transactions in flight at once.
const COPY_IN_FLIGHT: usize = 16;
/// How long a write keeps trying while etcd does not answer (no leader, a member down, a
/// lost answer) before it gives up with [`StoreError::Unavailable`].
pub(super) const PATIENCE: std::time::Duration = std::time::Duration::from_secs(15);

/// How long a writer waits for its turn ([`EtcdEngine::write_turn`]) before it writes without.
const TURN_PATIENCE: std::time::Duration = std::time::Duration::from_secs(1);
/// The time-to-live of the lease a process's turns are held under: a process that dies
/// holding the turn holds it at most this long.
const TURN_LEASE_SECONDS: i64 = 6;

/// Where a store lives in etcd: the cluster's endpoints and the store's key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdUrl {
    pub endpoints: Vec<String>,
    pub prefix: String,
}

impl EtcdUrl {
    /// Parses `etcd://HOST:PORT[,HOST:PORT…]/PREFIX`.
    pub fn parse(url: &str) -> std::result::Result<EtcdUrl, String> {
        let rest = url.strip_prefix("etcd://").ok_or_else(|| {
            format!("{url:?}: an etcd store is etcd://HOST:PORT[,HOST:PORT…]/PREFIX")
        })?;
        let (hosts, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let endpoints: Vec<String> = hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| format!("http://{h}"))
            .collect();
        if endpoints.is_empty() {
            return Err(format!("{url:?}: no etcd endpoint (HOST:PORT) given"));
        }
        for h in hosts.split(',') {
            let ok = h
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !ok {
                return Err(format!("{url:?}: {h:?} is not HOST:PORT"));
            }
        }
        let prefix = prefix.trim_matches('/');
        if prefix.is_empty() {
            return Err(format!(
                "{url:?}: name the store's key prefix after the hosts (etcd://…/recover-better)"
            ));
        }
        Ok(EtcdUrl {
            endpoints,
            prefix: prefix.to_owned(),
        })
    }
}

struct Shared {
    /// The client's own threads (taken on drop, which must not block: a store may be
    /// dropped on an async thread).
    runtime: Option<tokio::runtime::Runtime>,
    client: Client,
    /// `P/`
    root: Vec<u8>,
    /// The generation this process believes current (checked by every write).
    generation: Mutex<u64>,
    /// This process's writer fence; held while a transaction is sent and settled, so this
    /// process's transactions go one at a time.
    fence: Mutex<Fence>,
    /// Tests only: the next transaction's answer is lost (after it was sent, or before).
    lose_next: Mutex<Option<LoseAnswer>>,
    /// The lease this process's turns are held under, kept alive by a task of the runtime
    /// (0: none granted yet, or lost; the next turn asks for a new one).
    lease: Arc<std::sync::atomic::AtomicI64>,
    /// The hand-back of the last turn, still on its way: the next turn waits for it, since a
    /// lock asked for under the same lease before it lands would be granted at once (etcd
    /// takes it as the same acquisition), and then handed back under the new turn.
    handing_back: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// After a turn that did not come (its holder died, and its lease has not run out yet):
    /// until when this process writes without asking for turns.
    no_turns_until: Mutex<Option<std::time::Instant>>,
}

/// A writer's turn on the store (see the module documentation); handed back on drop.
pub struct WriteTurn {
    shared: Arc<Shared>,
    key: Vec<u8>,
}

impl Drop for WriteTurn {
    fn drop(&mut self) {
        // Handed back in the background: the write's answer does not wait for it. Should
        // etcd not take it, the lease's end hands it back.
        let mut lock = self.shared.client.lock_client();
        let key = std::mem::take(&mut self.key);
        if let Some(rt) = self.shared.runtime.as_ref() {
            let handing = rt.spawn(async move {
                for attempt in 1..=3u64 {
                    match lock.unlock(key.clone()).await {
                        Ok(_) => return,
                        Err(e) => {
                            tracing::debug!(error = %e, attempt, "handing a write turn back");
                            tokio::time::sleep(std::time::Duration::from_millis(20 * attempt))
                                .await;
                        }
                    }
                }
            });
            *self
                .shared
                .handing_back
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(handing);
        }
    }
}

/// A writer's fence (see the module documentation).
struct Fence {
    /// `P/w/<writer>`.
    key: Vec<u8>,
    /// The sequence number the key holds (0: not written yet).
    seq: u64,
    /// A transaction sent with `seq + 1` whose answer was lost, still to be settled.
    pending: bool,
}

impl Fence {
    fn new(root: &[u8]) -> Fence {
        use std::hash::{BuildHasher, Hasher};
        // Random (std's hasher keys are), and different for every engine of the process.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        let writer = format!("{:016x}{:016x}", h.finish(), rand::random::<u64>());
        Fence {
            key: [root, b"w/", writer.as_bytes()].concat(),
            seq: 0,
            pending: false,
        }
    }

    /// The compare that holds while nobody else moved the fence.
    fn unchanged(&self) -> Compare {
        match self.seq {
            0 => Compare::version(self.key.clone(), CompareOp::Equal, 0),
            n => Compare::value(self.key.clone(), CompareOp::Equal, n.to_string()),
        }
    }

    fn advance(&self) -> TxnOp {
        TxnOp::put(self.key.clone(), (self.seq + 1).to_string(), None)
    }
}

/// A fault a test can inject: how the next transaction's answer is lost.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoseAnswer {
    /// The transaction reached etcd and was applied; its answer did not come back.
    AfterApplying,
    /// The request failed before etcd applied it (e.g. it timed out in a queue).
    BeforeApplying,
}

/// The store on etcd. A *pinned* engine reads at one etcd revision: a read-only view for
/// loading a snapshot ([`EtcdEngine::pin`]), or a writer's view ([`EtcdEngine::writer_view`]).
pub struct EtcdEngine {
    shared: Arc<Shared>,
    /// The etcd revision and generation every read is made at. Such reads are
    /// *serializable*: any member that has applied the revision answers, from its own copy,
    /// without a round of the Raft leader per read; they all see the same store.
    pinned: Option<(i64, u64)>,
    /// Writes refused (a snapshot's view).
    read_only: bool,
    /// A whole generation read into memory at one revision, for planning a large write
    /// without a round trip per key ([`EtcdEngine::bulk`]); writes still go to etcd.
    local: Option<Arc<Local>>,
    /// A writer's view: whether another writer held or waited for a turn when it was read.
    turns_asked: bool,
}

/// Every tree of one generation, as etcd held it at one revision.
struct Local {
    generation: u64,
    trees: Vec<std::collections::BTreeMap<Vec<u8>, Bytes>>,
}

/// One key of a committed transaction, as the feed hands it over.
pub struct RawEvent {
    pub tree: TreeId,
    pub key: Vec<u8>,
    pub before: Option<Vec<u8>>,
    pub after: Option<Vec<u8>>,
}

/// What the feed hands over.
pub enum RawItem {
    /// The keys one transaction wrote, at etcd revision `revision`.
    Commit {
        revision: i64,
        events: Vec<RawEvent>,
    },
    /// The feed ended: the follower must reload (why, for the log and `/ready`).
    Lost(String),
}

fn etcd_error(e: etcd_client::Error) -> StoreError {
    StoreError::Etcd(e.to_string())
}

/// The first key after every key that starts with `prefix`.
fn range_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(&last) = end.last() {
        if last < 0xff {
            *end.last_mut().unwrap() += 1;
            return end;
        }
        end.pop();
    }
    vec![0] // every key
}

/// How many times a request that failed for want of a connection is sent again (a member
/// that died stays among the client's endpoints; the next attempt may pick a live one).
const ATTEMPTS: u64 = 20;

/// Whether a request failed before it reached etcd: it can be sent again, whatever it does.
fn not_sent(e: &etcd_client::Error) -> bool {
    let m = e.to_string();
    m.contains("tcp connect error") || m.contains("onnection refused")
}

/// Whether a read can be sent again after `e` (a read changes nothing).
fn read_again(e: &etcd_client::Error) -> bool {
    let m = e.to_string();
    not_sent(e)
        || m.contains("unavailable")
        || m.contains("transport error")
        || m.contains("h2 protocol error")
        || m.contains("no leader")
}

/// A read at a revision the member that answered has not applied yet (another member
/// answered the read that gave the revision): it will have it in a moment.
fn not_there_yet(e: &etcd_client::Error) -> bool {
    e.to_string().contains("future revision")
}

async fn get_retrying(
    mut kv: etcd_client::KvClient,
    key: Vec<u8>,
    options: Option<GetOptions>,
) -> std::result::Result<etcd_client::GetResponse, etcd_client::Error> {
    let (mut attempt, mut waits) = (0, 0);
    loop {
        match kv.get(key.clone(), options.clone()).await {
            Err(e) if waits < 2_000 && not_there_yet(&e) => {
                waits += 1;
                tokio::time::sleep(std::time::Duration::from_micros(500)).await;
            }
            Err(e) if attempt < ATTEMPTS && read_again(&e) => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(10 * attempt)).await;
            }
            r => return r,
        }
    }
}

/// A transaction is sent again only if it never reached etcd: one that may have been applied
/// is the caller's to find out about (its preconditions make a repeat fail, not apply twice).
async fn txn_retrying(
    kv: etcd_client::KvClient,
    txn: Txn,
) -> std::result::Result<etcd_client::TxnResponse, etcd_client::Error> {
    txn_sent_again(kv, txn, not_sent).await
}

/// A transaction sent again after the failures `again` accepts: [`not_sent`] for one that
/// writes, [`read_again`] for one that only reads.
async fn txn_sent_again(
    mut kv: etcd_client::KvClient,
    txn: Txn,
    again: fn(&etcd_client::Error) -> bool,
) -> std::result::Result<etcd_client::TxnResponse, etcd_client::Error> {
    let mut attempt = 0;
    loop {
        match kv.txn(txn.clone()).await {
            Err(e) if attempt < ATTEMPTS && again(&e) => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(10 * attempt)).await;
            }
            r => return r,
        }
    }
}

fn parse_generation(v: &[u8]) -> Option<u64> {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| u64::from_str_radix(s, 16).ok())
}

impl Drop for Shared {
    fn drop(&mut self) {
        let Some(rt) = self.runtime.take() else {
            return;
        };
        // What this process holds in etcd goes with it: its fence, unless a transaction's
        // outcome is still to be settled (then the key must stay for whoever reads it), and
        // the lease of its turns. Waited for briefly, never past [`CLOSE_PATIENCE`]: a
        // process that cannot reach etcd leaves them (the lease runs out by itself).
        let fence = self.fence.get_mut().unwrap_or_else(|p| p.into_inner());
        let mut ops = vec![];
        if fence.seq > 0 && !fence.pending {
            let delete = Txn::new()
                .when([fence.unchanged()])
                .and_then([TxnOp::delete(fence.key.clone(), None)]);
            let mut kv = self.client.kv_client();
            ops.push(rt.spawn(async move {
                let _ = kv.txn(delete).await;
            }));
        }
        let lease = self.lease.swap(0, std::sync::atomic::Ordering::AcqRel);
        if lease != 0 {
            let mut leases = self.client.lease_client();
            ops.push(rt.spawn(async move {
                let _ = leases.revoke(lease).await;
            }));
        }
        if !ops.is_empty() {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            rt.spawn(async move {
                for op in ops {
                    let _ = op.await;
                }
                let _ = tx.send(());
            });
            let _ = rx.recv_timeout(CLOSE_PATIENCE);
        }
        rt.shutdown_background();
    }
}

/// How long a closing store waits for etcd to take back its fence and lease.
const CLOSE_PATIENCE: std::time::Duration = std::time::Duration::from_millis(500);

impl Shared {
    fn rt(&self) -> &tokio::runtime::Runtime {
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the engine")
    }

    /// Runs a request on the engine's runtime and waits for it (from any thread, async
    /// worker threads included: the request runs on the engine's own threads).
    fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = std::result::Result<T, etcd_client::Error>> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.rt().spawn(async move {
            let _ = tx.send(f.await);
        });
        rx.recv()
            .map_err(|_| StoreError::Etcd("the etcd client stopped".into()))?
            .map_err(etcd_error)
    }

    fn pointer(&self) -> Vec<u8> {
        [&self.root[..], b"gen"].concat()
    }

    fn generation_prefix(&self, generation: u64) -> Vec<u8> {
        let mut k = self.root.clone();
        k.extend_from_slice(format!("g/{generation:016x}/").as_bytes());
        k
    }

    fn tree_prefix(&self, generation: u64, t: TreeId) -> Vec<u8> {
        let mut k = self.generation_prefix(generation);
        k.extend_from_slice(t.name().as_bytes());
        k.push(b'/');
        k
    }

    fn marker(&self, generation: u64) -> Vec<u8> {
        let mut k = self.root.clone();
        k.extend_from_slice(format!("gens/{generation:016x}").as_bytes());
        k
    }

    /// The current generation and the etcd revision it was read at.
    fn read_generation(&self) -> Result<(Option<u64>, i64)> {
        let kv = self.client.kv_client();
        let key = self.pointer();
        let resp = self.run(get_retrying(kv, key, None))?;
        let revision = resp.header().map_or(0, |h| h.revision());
        match resp.kvs().first() {
            None => Ok((None, revision)),
            Some(kv) => match parse_generation(kv.value()) {
                Some(g) => Ok((Some(g), revision)),
                None => Err(StoreError::Corrupt {
                    tree: "etcd",
                    reason: format!("generation pointer {:?}", kv.value()),
                }),
            },
        }
    }

    /// The lease of this process's turns: the one held, or a new one, then kept alive every
    /// third of its time-to-live until etcd stops answering for it.
    fn lease(&self) -> Result<i64> {
        use std::sync::atomic::Ordering;
        let held = self.lease.load(Ordering::Acquire);
        if held != 0 {
            return Ok(held);
        }
        let mut leases = self.client.lease_client();
        let slot = self.lease.clone();
        self.run(async move {
            let id = leases.grant(TURN_LEASE_SECONDS, None).await?.id();
            let (mut keeper, mut answers) = leases.keep_alive(id).await?;
            slot.store(id, Ordering::Release);
            tokio::spawn(async move {
                let every = std::time::Duration::from_secs(TURN_LEASE_SECONDS as u64) / 3;
                loop {
                    tokio::time::sleep(every).await;
                    let kept = keeper.keep_alive().await.is_ok()
                        && matches!(answers.message().await, Ok(Some(a)) if a.ttl() > 0);
                    if !kept {
                        tracing::debug!(lease = id, "the write turns' lease ended");
                        let _ = slot.compare_exchange(id, 0, Ordering::AcqRel, Ordering::Acquire);
                        return;
                    }
                }
            });
            Ok(id)
        })
    }

    /// `P/turn`: etcd's lock service keeps the turn's queue under `P/turn/`.
    fn turn_name(&self) -> Vec<u8> {
        [&self.root[..], b"turn"].concat()
    }

    fn current(&self) -> u64 {
        *self.generation.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_current(&self, g: u64) {
        *self.generation.lock().unwrap_or_else(|p| p.into_inner()) = g;
    }

    /// Sends a transaction of this process's writer through its fence: applied exactly once
    /// when this returns `Ok(true)`, not applied (a compare failed) on `Ok(false)`, and sent
    /// again while etcd does not answer, for up to [`PATIENCE`].
    fn fenced(
        &self,
        compares: Vec<Compare>,
        ops: Vec<TxnOp>,
    ) -> std::result::Result<bool, FencedError> {
        let mut fence = self.fence.lock().unwrap_or_else(|p| p.into_inner());
        let deadline = std::time::Instant::now() + PATIENCE;
        let mut attempt = 0u32;
        loop {
            if fence.pending {
                // An earlier write's lost answer: its outcome was reported as unknown; now
                // it is settled, one way or the other, before anything else is sent.
                self.settle(&mut fence, deadline)?;
            }
            let mut when = compares.clone();
            when.push(fence.unchanged());
            let mut then = ops.clone();
            then.push(fence.advance());
            let txn = Txn::new().when(when).and_then(then);
            let lose = self
                .lose_next
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            let sent = match lose {
                None => self.run(txn_retrying(self.client.kv_client(), txn)),
                Some(LoseAnswer::AfterApplying) => self
                    .run(txn_retrying(self.client.kv_client(), txn))
                    .and(Err(StoreError::Etcd(
                        "injected: the answer was lost".into(),
                    ))),
                Some(LoseAnswer::BeforeApplying) => {
                    Err(StoreError::Etcd("injected: the request was lost".into()))
                }
            };
            match sent {
                Ok(resp) if resp.succeeded() => {
                    fence.seq += 1;
                    return Ok(true);
                }
                Ok(_) => return Ok(false),
                Err(StoreError::Etcd(m))
                    if m.contains("too many operations") || m.contains("request is too large") =>
                {
                    return Err(FencedError::TooLarge(m));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "an etcd transaction's answer was lost; settling it");
                    fence.pending = true;
                    if self.settle(&mut fence, deadline)? {
                        return Ok(true);
                    }
                    if std::time::Instant::now() >= deadline {
                        return Err(FencedError::Store(StoreError::Unavailable(format!(
                            "etcd did not take the write within {} s ({e}); nothing was written",
                            PATIENCE.as_secs()
                        ))));
                    }
                    attempt += 1;
                    std::thread::sleep(backoff(attempt));
                }
            }
        }
    }

    /// Decides a transaction whose answer was lost: moves the fence past it if it is still
    /// where it was (then it can never apply: `false`), or finds the fence moved by it (it
    /// was applied: `true`).
    fn settle(
        &self,
        fence: &mut Fence,
        deadline: std::time::Instant,
    ) -> std::result::Result<bool, FencedError> {
        let mut attempt = 0u32;
        loop {
            let txn = Txn::new()
                .when([fence.unchanged()])
                .and_then([fence.advance()])
                .or_else([TxnOp::get(fence.key.clone(), None)]);
            match self.run(txn_retrying(self.client.kv_client(), txn)) {
                Ok(resp) => {
                    fence.seq += 1;
                    fence.pending = false;
                    if resp.succeeded() {
                        return Ok(false);
                    }
                    let now = resp.op_responses().into_iter().find_map(|r| match r {
                        etcd_client::TxnOpResponse::Get(g) => Some(
                            g.kvs()
                                .first()
                                .map(|kv| String::from_utf8_lossy(kv.value()).into_owned()),
                        ),
                        _ => None,
                    });
                    return match now.flatten() {
                        Some(v) if v == fence.seq.to_string() => Ok(true),
                        other => Err(FencedError::Store(StoreError::Corrupt {
                            tree: "etcd",
                            reason: format!(
                                "the writer fence {} holds {other:?}, not {} or {}",
                                String::from_utf8_lossy(&fence.key),
                                fence.seq - 1,
                                fence.seq
                            ),
                        })),
                    };
                }
                Err(e) if std::time::Instant::now() >= deadline => {
                    return Err(FencedError::Store(StoreError::Unavailable(format!(
                        "etcd did not answer for {} s ({e}); whether the last write was made is \
                         not known yet (read it back before repeating it)",
                        PATIENCE.as_secs()
                    ))));
                }
                Err(_) => {
                    attempt += 1;
                    std::thread::sleep(backoff(attempt));
                }
            }
        }
    }
}

/// Why a fenced transaction was not applied.
enum FencedError {
    /// Over etcd's request limits (nothing was applied).
    TooLarge(String),
    Store(StoreError),
}

impl From<FencedError> for StoreError {
    fn from(e: FencedError) -> StoreError {
        match e {
            FencedError::TooLarge(m) => StoreError::Etcd(m),
            FencedError::Store(e) => e,
        }
    }
}

/// 10, 20, 40 … up to 500 ms, with jitter.
fn backoff(attempt: u32) -> std::time::Duration {
    let base = 10u64.saturating_mul(1 << attempt.min(6)).min(500);
    std::time::Duration::from_millis(base / 2 + rand::random::<u64>() % (base / 2 + 1))
}

impl EtcdEngine {
    /// Connects to the cluster; a store that does not exist there yet is created empty.
    pub fn connect(url: &EtcdUrl) -> Result<EtcdEngine> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("etcd-client")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Etcd(format!("starting the etcd client: {e}")))?;
        let endpoints = url.endpoints.clone();
        // Not `block_on`: the caller may be on an async thread itself.
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            let options = ConnectOptions::new()
                .with_connect_timeout(std::time::Duration::from_secs(2))
                // A request to a member that died is given up quickly, and retried (by
                // the store's writer, or the caller) on another.
                .with_timeout(std::time::Duration::from_secs(5))
                // Not more often than etcd allows (`--grpc-keepalive-min-time`, 5 s by
                // default): a member pinged more often closes the connection.
                .with_keep_alive(
                    std::time::Duration::from_secs(10),
                    std::time::Duration::from_secs(5),
                )
                .with_keep_alive_while_idle(true)
                // A member cut off from the quorum refuses at once instead of waiting.
                .with_require_leader(true);
            let _ = tx.send(Client::connect(endpoints, Some(options)).await);
        });
        let connected = rx
            .recv()
            .map_err(|_| StoreError::Etcd("the etcd client stopped".into()))
            .and_then(|r| {
                r.map_err(|e| {
                    StoreError::Etcd(format!(
                        "cannot reach etcd at {}: {e}",
                        url.endpoints.join(",")
                    ))
                })
            });
        let client = match connected {
            Ok(c) => c,
            Err(e) => {
                rt.shutdown_background();
                return Err(e);
            }
        };
        let shared = Arc::new(Shared {
            runtime: Some(rt),
            client,
            root: format!("{}/", url.prefix).into_bytes(),
            generation: Mutex::new(0),
            fence: Mutex::new(Fence::new(format!("{}/", url.prefix).as_bytes())),
            lose_next: Mutex::new(None),
            lease: Arc::new(std::sync::atomic::AtomicI64::new(0)),
            handing_back: Mutex::new(None),
            no_turns_until: Mutex::new(None),
        });
        let generation = match shared.read_generation()?.0 {
            Some(g) => g,
            None => {
                // A new store: its first generation, unless another process made one first.
                let g = rand::random::<u64>();
                let pointer = shared.pointer();
                let kv = shared.client.kv_client();
                let value = format!("{g:016x}");
                let txn = Txn::new()
                    .when([Compare::version(pointer.clone(), CompareOp::Equal, 0)])
                    .and_then([TxnOp::put(pointer, value, None)]);
                shared.run(txn_retrying(kv, txn))?;
                shared
                    .read_generation()?
                    .0
                    .ok_or_else(|| StoreError::Corrupt {
                        tree: "etcd",
                        reason: "the generation pointer vanished after it was created".into(),
                    })?
            }
        };
        shared.set_current(generation);
        Ok(EtcdEngine {
            shared,
            pinned: None,
            read_only: false,
            local: None,
            turns_asked: false,
        })
    }

    /// A read-only view at the latest revision, and that revision: a snapshot loaded through
    /// the view, then [`Self::follow`] from the revision after, misses and repeats nothing.
    pub fn pin(&self) -> Result<(EtcdEngine, i64)> {
        let (generation, revision) = self.shared.read_generation()?;
        let generation = generation.unwrap_or_else(|| self.shared.current());
        self.shared.set_current(generation);
        Ok((
            EtcdEngine {
                shared: self.shared.clone(),
                pinned: Some((revision, generation)),
                read_only: true,
                local: None,
                turns_asked: false,
            },
            revision,
        ))
    }

    /// What a writer plans against: the store as it is now (one linearizable read of the
    /// generation pointer gives the revision), every further read made at that revision from
    /// whichever member answers. Writes go to etcd as usual, and compare what the plan read
    /// (the store's `revision` key among it): a write planned on a view that went stale
    /// meanwhile is refused, and planned again.
    pub fn writer_view(&self) -> Result<EtcdEngine> {
        // The generation and whether anyone holds or waits for a turn, in one linearizable
        // read (a transaction of two reads).
        let turns = self.shared.turn_name();
        let txn = Txn::new().and_then([
            TxnOp::get(self.shared.pointer(), None),
            TxnOp::get(
                [&turns[..], b"/"].concat(),
                Some(GetOptions::new().with_prefix().with_count_only()),
            ),
        ]);
        let resp = self.shared.run(txn_sent_again(
            self.shared.client.kv_client(),
            txn,
            read_again,
        ))?;
        let revision = resp.header().map_or(0, |h| h.revision());
        let mut gets = resp.op_responses().into_iter().filter_map(|r| match r {
            etcd_client::TxnOpResponse::Get(g) => Some(g),
            _ => None,
        });
        let generation = match gets.next().as_ref().and_then(|g| g.kvs().first()) {
            None => self.shared.current(),
            Some(kv) => parse_generation(kv.value()).ok_or_else(|| StoreError::Corrupt {
                tree: "etcd",
                reason: format!("generation pointer {:?}", kv.value()),
            })?,
        };
        let turns_asked = gets.next().is_some_and(|g| g.count() > 0);
        Ok(EtcdEngine {
            shared: self.shared.clone(),
            pinned: Some((revision, generation)),
            read_only: false,
            local: None,
            turns_asked,
        })
    }

    /// A writer's view: whether a writer (of any process, this one's included) held or
    /// waited for a turn when the view was read.
    pub fn turns_asked(&self) -> bool {
        self.turns_asked
    }

    fn generation(&self) -> u64 {
        match (&self.pinned, &self.local) {
            (Some((_, g)), _) => *g,
            (None, Some(l)) => l.generation,
            (None, None) => self.shared.current(),
        }
    }

    /// The same engine reading the whole current generation from memory, as it is now (one
    /// paged read): a large write is planned against it with no round trip per key, and
    /// committed to etcd as usual (its preconditions say whether what it read still holds).
    pub fn bulk(&self) -> Result<EtcdEngine> {
        if self.local.is_some() {
            return Err(StoreError::Unsupported("a bulk view of a bulk view".into()));
        }
        // A pinned view is read at its revision (and stays read-only); otherwise, now.
        let pinned;
        let view = match self.pinned {
            Some(_) => self,
            None => {
                pinned = self.pin()?.0;
                &pinned
            }
        };
        let generation = view.generation();
        let mut trees = vec![std::collections::BTreeMap::new(); TreeId::ALL.len()];
        for (i, t) in TreeId::ALL.iter().enumerate() {
            for kv in view.range(*t, Bound::Unbounded, Bound::Unbounded, false) {
                let (k, v) = kv?;
                trees[i].insert(k.to_vec(), v);
            }
        }
        Ok(EtcdEngine {
            shared: self.shared.clone(),
            pinned: self.pinned,
            read_only: self.read_only,
            local: Some(Arc::new(Local { generation, trees })),
            turns_asked: false,
        })
    }

    /// A scan of the in-memory generation.
    fn local_range<'a>(
        local: &'a Local,
        t: TreeId,
        from: Bound<Vec<u8>>,
        to: Bound<Vec<u8>>,
        reverse: bool,
    ) -> Scan<'a> {
        let range = local.trees[t as usize]
            .range::<Vec<u8>, _>((from, to))
            .map(|(k, v)| Ok((Bytes::from(k.as_slice()), v.clone())));
        if reverse {
            Box::new(range.rev())
        } else {
            Box::new(range)
        }
    }

    fn key(&self, t: TreeId, k: &[u8]) -> Vec<u8> {
        let mut key = self.shared.tree_prefix(self.generation(), t);
        key.extend_from_slice(k);
        key
    }

    fn get_options(&self) -> Option<GetOptions> {
        self.pinned.map(|(revision, _)| {
            GetOptions::new()
                .with_revision(revision)
                .with_serializable()
        })
    }

    pub fn get(&self, t: TreeId, k: &[u8]) -> Result<Option<Bytes>> {
        if let Some(l) = &self.local {
            return Ok(l.trees[t as usize].get(k).cloned());
        }
        let kv = self.shared.client.kv_client();
        let key = self.key(t, k);
        let options = self.get_options();
        let resp = self.shared.run(get_retrying(kv, key, options))?;
        Ok(resp.kvs().first().map(|kv| Bytes::from(kv.value())))
    }

    /// Pairs with keys in `[from, to)` of tree `t`, in key order (or reversed), page by page
    /// at one etcd revision.
    pub fn range(
        &self,
        t: TreeId,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        reverse: bool,
    ) -> Scan<'_> {
        let prefix = self.shared.tree_prefix(self.generation(), t);
        let with = |k: &[u8]| [&prefix[..], k].concat();
        let start = match from {
            Bound::Included(k) => with(k),
            Bound::Excluded(k) => {
                let mut s = with(k);
                s.push(0);
                s
            }
            Bound::Unbounded => prefix.clone(),
        };
        let end = match to {
            Bound::Included(k) => {
                let mut e = with(k);
                e.push(0);
                e
            }
            Bound::Excluded(k) => with(k),
            Bound::Unbounded => range_end(&prefix),
        };
        Box::new(Pages::new(self, prefix.len(), start, end, reverse))
    }

    /// Pairs whose key starts with `p`, in key order (or reversed).
    pub fn prefix(&self, t: TreeId, p: &[u8], reverse: bool) -> Scan<'_> {
        if let Some(l) = &self.local {
            let to = match range_end(p) {
                end if p.is_empty() || end.as_slice() <= p => Bound::Unbounded,
                end => Bound::Excluded(end),
            };
            return Self::local_range(l, t, Bound::Included(p.to_vec()), to, reverse);
        }
        let tree = self.shared.tree_prefix(self.generation(), t);
        let start = [&tree[..], p].concat();
        // The tree's prefix ends in '/', so the range end is always past `start`.
        let end = range_end(&start);
        Box::new(Pages::new(self, tree.len(), start, end, reverse))
    }

    /// Writes the set if the generation is still current and its preconditions hold.
    pub fn commit(&self, set: &WriteSet) -> std::result::Result<(), CommitError> {
        if self.read_only {
            return Err(CommitError::Store(StoreError::Etcd(
                "a pinned view of the store is read-only".into(),
            )));
        }
        let generation = self.generation();
        let bytes: usize = set
            .writes
            .iter()
            .flat_map(|w| w.iter())
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len) + 64)
            .sum();
        if set.len() + set.expect.len() + 1 > TXN_MAX_OPS || bytes > TXN_MAX_BYTES {
            return self.commit_as_generation(set);
        }
        let mut compares = vec![Compare::value(
            self.shared.pointer(),
            CompareOp::Equal,
            format!("{generation:016x}"),
        )];
        compares.extend(set.expect.iter().map(|(t, k, seen)| {
            let key = self.key(*t, k);
            match seen {
                None => Compare::version(key, CompareOp::Equal, 0),
                Some(v) => Compare::value(key, CompareOp::Equal, v.to_vec()),
            }
        }));
        let mut ops = Vec::with_capacity(set.len());
        for (i, writes) in set.writes.iter().enumerate() {
            let t = TreeId::ALL[i];
            for (k, v) in writes {
                let key = self.key(t, k);
                ops.push(match v {
                    Some(v) => TxnOp::put(key, v.clone(), None),
                    None => TxnOp::delete(key, None),
                });
            }
        }
        match self.shared.fenced(compares, ops) {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.which_conflict(set)),
            Err(FencedError::TooLarge(_)) => self.commit_as_generation(set),
            Err(FencedError::Store(e)) => Err(CommitError::Store(e)),
        }
    }

    /// Tests only: loses the answer of this process's next transaction.
    #[doc(hidden)]
    /// Waits for this process's turn to write (see the module documentation): `None` when
    /// etcd does not grant it within [`TURN_PATIENCE`] or cannot be asked, and the write then
    /// races the others as it would without one.
    pub fn write_turn(&self) -> Option<WriteTurn> {
        let now = std::time::Instant::now();
        let mut off = self
            .shared
            .no_turns_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match *off {
            Some(until) if now < until => return None,
            _ => *off = None,
        }
        drop(off);
        let turn = self.ask_for_turn();
        if turn.is_none() {
            // A turn that does not come is most likely held by a process that died: its
            // lease hands it back within its time-to-live; until then, write without turns
            // instead of waiting again on every write.
            *self
                .shared
                .no_turns_until
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(
                std::time::Instant::now()
                    + std::time::Duration::from_secs(TURN_LEASE_SECONDS as u64),
            );
        }
        turn
    }

    fn ask_for_turn(&self) -> Option<WriteTurn> {
        let lease = match self.shared.lease() {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(error = %e, "no lease for a write turn; writing without one");
                return None;
            }
        };
        let name = self.shared.turn_name();
        let mut lock = self.shared.client.lock_client();
        let handing_back = self
            .shared
            .handing_back
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let granted = self.shared.run(async move {
            if let Some(h) = handing_back {
                let _ = h.await;
            }
            let asked = lock.lock(name, Some(LockOptions::new().with_lease(lease)));
            match tokio::time::timeout(TURN_PATIENCE, asked).await {
                Ok(answer) => answer.map(|a| Some(a.key().to_vec())),
                // Dropping the request withdraws it: etcd removes its place in the queue.
                Err(_) => Ok(None),
            }
        });
        match granted {
            Ok(Some(key)) => Some(WriteTurn {
                shared: self.shared.clone(),
                key,
            }),
            Ok(None) => {
                tracing::debug!("no write turn within {TURN_PATIENCE:?}; writing without one");
                None
            }
            Err(e) => {
                // The lease may be gone: the next turn asks for a new one.
                self.shared
                    .lease
                    .store(0, std::sync::atomic::Ordering::Release);
                tracing::warn!(error = %e, "no write turn; writing without one");
                None
            }
        }
    }

    pub fn lose_next_answer(&self, how: LoseAnswer) {
        *self
            .shared
            .lose_next
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(how);
    }

    /// After a refused transaction: which precondition failed (the generation, or a key).
    fn which_conflict(&self, set: &WriteSet) -> CommitError {
        match self.shared.read_generation() {
            Ok((Some(g), _)) if g != self.shared.current() => {
                self.shared.set_current(g);
                return CommitError::Conflict {
                    tree: TreeId::Meta,
                    key: b"(generation)".to_vec(),
                };
            }
            Err(e) => return CommitError::Store(e),
            _ => {}
        }
        for (t, k, seen) in &set.expect {
            match self.get(*t, k) {
                Ok(now) if now != *seen => {
                    return CommitError::Conflict {
                        tree: *t,
                        key: k.clone(),
                    }
                }
                Err(e) => return CommitError::Store(e),
                _ => {}
            }
        }
        // Changed and changed back between the transaction and these reads.
        let (tree, key) = set
            .expect
            .first()
            .map(|(t, k, _)| (*t, k.clone()))
            .unwrap_or((TreeId::Meta, vec![]));
        CommitError::Conflict { tree, key }
    }

    /// Removes generations that are not current, and their markers.
    fn remove_stale_generations(&self) -> Result<usize> {
        let current = self.shared.current();
        let kv = self.shared.client.kv_client();
        let markers = [&self.shared.root[..], b"gens/"].concat();
        let options = GetOptions::new().with_prefix().with_keys_only();
        let resp = self.shared.run(get_retrying(kv, markers, Some(options)))?;
        let mut removed = 0;
        for m in resp.kvs() {
            let Some(g) = m
                .key()
                .rsplit(|&b| b == b'/')
                .next()
                .and_then(parse_generation)
            else {
                continue;
            };
            if g == current {
                continue;
            }
            let prefix = self.shared.generation_prefix(g);
            let marker = m.key().to_vec();
            let kv = self.shared.client.kv_client();
            let txn = Txn::new().and_then([
                TxnOp::delete(
                    prefix,
                    Some(etcd_client::DeleteOptions::new().with_prefix()),
                ),
                TxnOp::delete(marker, None),
            ]);
            self.shared.run(txn_retrying(kv, txn))?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Nothing to undo at open: a large write that crashed left a generation nobody reads,
    /// which the next large write removes (removing it here could cut the ground under
    /// another process's import in progress).
    pub fn recover(&self) -> Result<bool> {
        Ok(false)
    }

    /// A crashed large write is never visible, so there is never anything to roll back.
    pub fn pending_rollback(&self) -> Result<bool> {
        Ok(false)
    }

    /// A write set too large for one transaction: the current generation copied with the set
    /// applied, under a new generation, then switched to in one transaction.
    fn commit_as_generation(&self, set: &WriteSet) -> std::result::Result<(), CommitError> {
        self.remove_stale_generations()?;
        let old = self.generation();
        let new = loop {
            let g = rand::random::<u64>();
            if g != old {
                break g;
            }
        };
        let marker = self.shared.marker(new);
        {
            let kv = self.shared.client.kv_client();
            let m = marker.clone();
            self.shared.run(txn_retrying(
                kv,
                Txn::new().and_then([TxnOp::put(m, "writing", None)]),
            ))?;
        }
        let result = self.copy_with(set, old, new);
        let switched = result.and_then(|()| self.switch(set, old, new, &marker));
        match switched {
            Ok(true) => {
                self.shared.set_current(new);
                Ok(())
            }
            Ok(false) => {
                let _ = self.drop_generation(new, &marker);
                Err(self.which_conflict(set))
            }
            Err(e) => {
                let _ = self.drop_generation(new, &marker);
                Err(CommitError::Store(e))
            }
        }
    }

    fn drop_generation(&self, generation: u64, marker: &[u8]) -> Result<()> {
        let kv = self.shared.client.kv_client();
        let txn = Txn::new().and_then([
            TxnOp::delete(
                self.shared.generation_prefix(generation),
                Some(etcd_client::DeleteOptions::new().with_prefix()),
            ),
            TxnOp::delete(marker.to_vec(), None),
        ]);
        self.shared.run(txn_retrying(kv, txn))?;
        Ok(())
    }

    /// Writes generation `new`: every key of `old` (read at one revision) that the set does
    /// not touch, and every key the set puts.
    fn copy_with(&self, set: &WriteSet, old: u64, new: u64) -> Result<()> {
        let (_, revision) = self.shared.read_generation()?;
        let reader = EtcdEngine {
            shared: self.shared.clone(),
            pinned: Some((revision, old)),
            read_only: true,
            local: None,
            turns_asked: false,
        };
        let mut batches: Vec<Vec<TxnOp>> = vec![];
        let mut batch: Vec<TxnOp> = vec![];
        let mut batch_bytes = 0;
        let mut push = |key: Vec<u8>, value: Vec<u8>, batches: &mut Vec<Vec<TxnOp>>| {
            let size = key.len() + value.len() + 16;
            if !batch.is_empty()
                && (batch.len() >= COPY_BATCH_OPS || batch_bytes + size > COPY_BATCH_BYTES)
            {
                batches.push(std::mem::take(&mut batch));
                batch_bytes = 0;
            }
            batch_bytes += size;
            batch.push(TxnOp::put(key, value, None));
        };
        for (i, writes) in set.writes.iter().enumerate() {
            let t = TreeId::ALL[i];
            let target = self.shared.tree_prefix(new, t);
            let mut planned = writes.iter().peekable();
            for kv in reader.range(t, Bound::Unbounded, Bound::Unbounded, false) {
                let (k, v) = kv?;
                // The set's keys before this one.
                while let Some((pk, pv)) = planned.peek() {
                    if pk.as_slice() >= k.as_ref() {
                        break;
                    }
                    if let Some(pv) = pv {
                        push([&target[..], pk].concat(), pv.clone(), &mut batches);
                    }
                    planned.next();
                }
                match planned.peek() {
                    Some((pk, pv)) if pk.as_slice() == k.as_ref() => {
                        if let Some(pv) = pv {
                            push([&target[..], pk].concat(), pv.clone(), &mut batches);
                        }
                        planned.next();
                    }
                    _ => push([&target[..], &k[..]].concat(), v.to_vec(), &mut batches),
                }
                if batches.len() >= COPY_IN_FLIGHT * 4 {
                    self.write_batches(std::mem::take(&mut batches))?;
                }
            }
            for (pk, pv) in planned {
                if let Some(pv) = pv {
                    push([&target[..], pk].concat(), pv.clone(), &mut batches);
                }
            }
        }
        if !batch.is_empty() {
            batches.push(batch);
        }
        self.write_batches(batches)
    }

    fn write_batches(&self, batches: Vec<Vec<TxnOp>>) -> Result<()> {
        if batches.is_empty() {
            return Ok(());
        }
        let client = self.shared.client.clone();
        self.shared.run(async move {
            let results: Vec<_> = futures_util::stream::iter(
                batches
                    .into_iter()
                    .map(|ops| txn_retrying(client.kv_client(), Txn::new().and_then(ops))),
            )
            .buffer_unordered(COPY_IN_FLIGHT)
            .collect()
            .await;
            for r in results {
                r?;
            }
            Ok(())
        })
    }

    /// Makes `new` current if `old` still is, `new` was not removed meanwhile, and the set's
    /// preconditions hold in `old`.
    fn switch(&self, set: &WriteSet, old: u64, new: u64, marker: &[u8]) -> Result<bool> {
        let pointer = self.shared.pointer();
        let mut compares = vec![
            Compare::value(pointer.clone(), CompareOp::Equal, format!("{old:016x}")),
            Compare::version(marker.to_vec(), CompareOp::Greater, 0),
        ];
        compares.extend(set.expect.iter().map(|(t, k, seen)| {
            let key = [&self.shared.tree_prefix(old, *t)[..], k].concat();
            match seen {
                None => Compare::version(key, CompareOp::Equal, 0),
                Some(v) => Compare::value(key, CompareOp::Equal, v.to_vec()),
            }
        }));
        let ops = vec![
            TxnOp::put(pointer, format!("{new:016x}"), None),
            TxnOp::delete(marker.to_vec(), None),
            TxnOp::put(self.shared.marker(old), "retired", None),
        ];
        Ok(self.shared.fenced(compares, ops)?)
    }

    /// Bytes the cluster member answering takes on disk (its whole database).
    pub fn size_on_disk(&self) -> Result<u64> {
        let mut m = self.shared.client.maintenance_client();
        let resp = self.shared.run(async move { m.status().await })?;
        Ok(resp.db_size().max(0) as u64)
    }

    /// Hands over every transaction committed to generation `generation` after etcd
    /// revision `after`, in commit order, until the feed ends ([`RawItem::Lost`]).
    pub fn follow(
        &self,
        after: i64,
        generation: u64,
    ) -> tokio::sync::mpsc::UnboundedReceiver<RawItem> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let shared = self.shared.clone();
        let data = shared.generation_prefix(generation);
        let pointer = shared.pointer();
        let client = shared.client.clone();
        let strip = data.len();
        shared.rt().spawn(async move {
            let reason = follow(client, data, pointer, strip, after, generation, &tx).await;
            let _ = tx.send(RawItem::Lost(reason));
        });
        rx
    }

    /// The generation a pinned view reads.
    pub fn pinned_generation(&self) -> Option<u64> {
        self.pinned.map(|(_, g)| g)
    }
}

/// The feed's loop; returns why it ended.
async fn follow(
    client: Client,
    data: Vec<u8>,
    pointer: Vec<u8>,
    strip: usize,
    after: i64,
    generation: u64,
    tx: &tokio::sync::mpsc::UnboundedSender<RawItem>,
) -> String {
    let mut w1 = client.watch_client();
    let mut w2 = client.watch_client();
    let options = WatchOptions::new()
        .with_prefix()
        .with_prev_key()
        .with_start_revision(after + 1);
    let mut records = match w1.watch(data, Some(options)).await {
        Ok(s) => s,
        Err(e) => return format!("watching the store failed: {e}"),
    };
    let options = WatchOptions::new().with_start_revision(after + 1);
    let mut switches = match w2.watch(pointer, Some(options)).await {
        Ok(s) => s,
        Err(e) => return format!("watching the generation failed: {e}"),
    };
    loop {
        tokio::select! {
            biased;
            msg = switches.message() => match msg {
                Ok(Some(resp)) => {
                    if resp.canceled() {
                        return format!("the watch was cancelled: {} (compacted to {})", resp.cancel_reason(), resp.compact_revision());
                    }
                    for e in resp.events() {
                        let now = e.kv().and_then(|kv| parse_generation(kv.value()));
                        if now != Some(generation) {
                            return format!("the store was replaced by a large write (generation {:016x})", now.unwrap_or(0));
                        }
                    }
                }
                Ok(None) => return "the watch ended".into(),
                Err(e) => return format!("the watch failed: {e}"),
            },
            msg = records.message() => match msg {
                Ok(Some(resp)) => {
                    if resp.canceled() {
                        return format!("the watch was cancelled: {} (compacted to {})", resp.cancel_reason(), resp.compact_revision());
                    }
                    let mut current: Option<(i64, Vec<RawEvent>)> = None;
                    for e in resp.events() {
                        let Some(kv) = e.kv() else { continue };
                        let revision = kv.mod_revision();
                        let Some(event) = raw_event(e.event_type(), kv.key(), kv.value(), e.prev_kv().map(|p| p.value()), strip) else {
                            continue;
                        };
                        match &mut current {
                            Some((r, events)) if *r == revision => events.push(event),
                            _ => {
                                if let Some((revision, events)) = current.take() {
                                    if tx.send(RawItem::Commit { revision, events }).is_err() {
                                        return "the follower stopped".into();
                                    }
                                }
                                current = Some((revision, vec![event]));
                            }
                        }
                    }
                    if let Some((revision, events)) = current {
                        if tx.send(RawItem::Commit { revision, events }).is_err() {
                            return "the follower stopped".into();
                        }
                    }
                }
                Ok(None) => return "the watch ended".into(),
                Err(e) => return format!("the watch failed: {e}"),
            },
        }
    }
}

fn raw_event(
    kind: EventType,
    key: &[u8],
    value: &[u8],
    before: Option<&[u8]>,
    strip: usize,
) -> Option<RawEvent> {
    let rest = key.get(strip..)?;
    let slash = rest.iter().position(|&b| b == b'/')?;
    let name = std::str::from_utf8(&rest[..slash]).ok()?;
    let tree = *TreeId::ALL.iter().find(|t| t.name() == name)?;
    Some(RawEvent {
        tree,
        key: rest[slash + 1..].to_vec(),
        before: before.map(<[u8]>::to_vec),
        after: match kind {
            EventType::Put => Some(value.to_vec()),
            EventType::Delete => None,
        },
    })
}

/// A scan: pages fetched as the iterator advances, all at the revision of the first.
struct Pages<'a> {
    engine: &'a EtcdEngine,
    strip: usize,
    start: Vec<u8>,
    end: Vec<u8>,
    reverse: bool,
    revision: Option<i64>,
    buffer: VecDeque<(Bytes, Bytes)>,
    done: bool,
}

impl<'a> Pages<'a> {
    fn new(
        engine: &'a EtcdEngine,
        strip: usize,
        start: Vec<u8>,
        end: Vec<u8>,
        reverse: bool,
    ) -> Pages<'a> {
        Pages {
            engine,
            strip,
            start,
            end,
            reverse,
            revision: engine.pinned.map(|(r, _)| r),
            buffer: VecDeque::new(),
            done: false,
        }
    }

    fn fetch(&mut self) -> Result<()> {
        let mut options = GetOptions::new()
            .with_range(self.end.clone())
            .with_limit(PAGE);
        if let Some(r) = self.revision {
            options = options.with_revision(r).with_serializable();
        }
        if self.reverse {
            options = options.with_sort(SortTarget::Key, SortOrder::Descend);
        }
        let kv = self.engine.shared.client.kv_client();
        let start = self.start.clone();
        let mut resp = self
            .engine
            .shared
            .run(get_retrying(kv, start, Some(options)))?;
        if self.revision.is_none() {
            self.revision = resp.header().map(|h| h.revision());
        }
        let more = resp.more();
        let kvs = resp.take_kvs();
        if let Some(last) = kvs.last() {
            if self.reverse {
                self.end = last.key().to_vec();
            } else {
                let mut next = last.key().to_vec();
                next.push(0);
                self.start = next;
            }
        }
        self.done = !more || kvs.is_empty();
        let strip = self.strip;
        self.buffer.extend(kvs.into_iter().map(|kv| {
            let (k, v) = kv.into_key_value();
            (Bytes::from(&k[strip..]), Bytes::from(v))
        }));
        Ok(())
    }
}

impl Iterator for Pages<'_> {
    type Item = Result<(Bytes, Bytes)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(pair) = self.buffer.pop_front() {
                return Some(Ok(pair));
            }
            if self.done {
                return None;
            }
            if let Err(e) = self.fetch() {
                self.done = true;
                return Some(Err(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_hosts_and_a_prefix() {
        let u = EtcdUrl::parse("etcd://127.0.0.1:2379,127.0.0.1:22379/rb/prod").unwrap();
        assert_eq!(
            u.endpoints,
            ["http://127.0.0.1:2379", "http://127.0.0.1:22379"]
        );
        assert_eq!(u.prefix, "rb/prod");
        for bad in [
            "http://127.0.0.1:2379/rb",
            "etcd:///rb",
            "etcd://127.0.0.1/rb",
            "etcd://127.0.0.1:2379",
            "etcd://127.0.0.1:2379/",
            "etcd://127.0.0.1:99999/rb",
        ] {
            assert!(EtcdUrl::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn range_ends_follow_the_prefix() {
        assert_eq!(range_end(b"ab"), b"ac");
        assert_eq!(range_end(b"a\xff"), b"b");
        assert_eq!(range_end(b"\xff\xff"), vec![0]);
    }
}
