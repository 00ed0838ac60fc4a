//! The seam under the store: an ordered key-value engine with four operations, and nothing
//! the store does above it needs to know which engine runs.
//!
//! - point reads ([`Engine::get`], [`Engine::contains`]);
//! - ordered range scans, both ways ([`Engine::range`], [`Engine::prefix`],
//!   [`Engine::prefix_rev`]);
//! - one atomic multi-key write with preconditions ([`Engine::commit`]): the [`WriteSet`]
//!   says, beside what it writes, which keys it read and what it saw there, and the write
//!   happens only if every one of them still holds that value; otherwise nothing is written
//!   and the writer gets [`CommitError::Conflict`] and plans again;
//! - durability ([`Engine::flush`]).
//!
//! Keys live in named trees ([`TreeId`]): a tree is a key prefix in engines that have one
//! key space. The byte layouts of keys and values stay the store's business
//! ([`super::keys`], [`super::codec`]).
//!
//! The embedded engine is sled; with the `etcd` feature, [`super::etcd`] is the replicated one.
//!
//! The embedded engine is sled. sled acknowledges a write before it is on disk, so durable
//! writers flush; write sets larger than [`SINGLE_TRANSACTION_MAX_WRITES`] go through the
//! undo journal of [`super::journal`], since a sled transaction pins every page it touches.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;

use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use sled::Transactional;

use super::{journal, Result, StoreError, TreeId, CACHE_BYTES};

/// Write sets up to this size commit as one sled transaction; larger ones use the journal.
pub const SINGLE_TRANSACTION_MAX_WRITES: usize = 20_000;

/// A key or value as an engine returns it (cheap to clone: shared, not copied).
pub(super) type Bytes = sled::IVec;

/// Key-value pairs in key order.
pub(super) type Scan<'a> = Box<dyn Iterator<Item = Result<(Bytes, Bytes)>> + 'a>;

/// What one tree's keys become: `Some(value)` to set, `None` to remove.
pub(super) type TreeWrites = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// One atomic write and its preconditions.
#[derive(Default)]
pub(super) struct WriteSet {
    /// By tree, in [`TreeId::ALL`] order.
    pub writes: Vec<TreeWrites>,
    /// Keys the writer read, and what it saw (`None`: absent). The write is made only if
    /// each still holds exactly that.
    pub expect: Vec<(TreeId, Vec<u8>, Option<Bytes>)>,
}

impl WriteSet {
    pub fn new() -> WriteSet {
        WriteSet {
            writes: vec![TreeWrites::new(); TreeId::ALL.len()],
            expect: vec![],
        }
    }

    pub fn len(&self) -> usize {
        self.writes.iter().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.writes.iter().all(BTreeMap::is_empty)
    }

    pub fn set(&mut self, t: TreeId, k: Vec<u8>, v: Vec<u8>) {
        self.writes[t as usize].insert(k, Some(v));
    }

    pub fn remove(&mut self, t: TreeId, k: Vec<u8>) {
        self.writes[t as usize].insert(k, None);
    }

    pub fn expect(&mut self, t: TreeId, k: Vec<u8>, seen: Option<Bytes>) {
        self.expect.push((t, k, seen));
    }
}

#[derive(Debug)]
pub(super) enum CommitError {
    /// A key the writer read changed before the write: nothing was written.
    Conflict {
        tree: TreeId,
        key: Vec<u8>,
    },
    Store(StoreError),
}

impl CommitError {
    /// For writers that do not plan again: a conflict is an error like any other.
    pub fn into_store(self) -> StoreError {
        match self {
            CommitError::Conflict { tree, .. } => StoreError::Contended { tree: tree.name() },
            CommitError::Store(e) => e,
        }
    }
}

impl From<StoreError> for CommitError {
    fn from(e: StoreError) -> Self {
        CommitError::Store(e)
    }
}

impl From<sled::Error> for CommitError {
    fn from(e: sled::Error) -> Self {
        CommitError::Store(StoreError::Sled(e))
    }
}

/// A writer's turn on a replicated store (see [`super::etcd`]): held while it writes, and
/// handed back when dropped.
#[cfg_attr(not(feature = "etcd"), allow(dead_code))]
pub(super) struct Turn {
    #[cfg(feature = "etcd")]
    _held: super::etcd::WriteTurn,
}

/// The engine a store runs on.
pub(super) enum Engine {
    Sled(SledEngine),
    #[cfg(feature = "etcd")]
    Etcd(super::etcd::EtcdEngine),
}

pub(super) struct SledEngine {
    db: sled::Db,
    trees: Vec<sled::Tree>,
}

impl Engine {
    /// sled in a folder (created if missing). Refused when another process has it open.
    pub fn open_sled(path: &Path) -> Result<Engine> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(|e| match e {
                sled::Error::Io(ref io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                    StoreError::Locked(path.to_owned())
                }
                sled::Error::Io(ref io) if io.to_string().contains("lock") => {
                    StoreError::Locked(path.to_owned())
                }
                other => StoreError::Sled(other),
            })?;
        Self::sled(db)
    }

    /// sled in memory and a temporary folder, removed on drop (for tests).
    pub fn temporary_sled() -> Result<Engine> {
        let db = sled::Config::new()
            .temporary(true)
            .cache_capacity(64 << 20)
            .open()?;
        Self::sled(db)
    }

    fn sled(db: sled::Db) -> Result<Engine> {
        let trees = TreeId::ALL
            .iter()
            .map(|t| db.open_tree(t.name()))
            .collect::<sled::Result<Vec<_>>>()?;
        Ok(Engine::Sled(SledEngine { db, trees }))
    }

    /// Waits for this process's turn to write, on an engine shared by several processes;
    /// `None` on sled (one process owns it), or when the turn was not granted in time.
    pub fn write_turn(&self) -> Option<Turn> {
        match self {
            Engine::Sled(_) => None,
            #[cfg(feature = "etcd")]
            Engine::Etcd(e) => e.write_turn().map(|held| Turn { _held: held }),
        }
    }

    /// A writer's view: whether some writer held or waited for a turn when it was read.
    pub fn turns_asked(&self) -> bool {
        match self {
            Engine::Sled(_) => false,
            #[cfg(feature = "etcd")]
            Engine::Etcd(e) => e.turns_asked(),
        }
    }

    /// Whether a large write is waiting to be rolled back (between a crash and the next open).
    pub fn pending_rollback(&self) -> Result<bool> {
        match self {
            Engine::Sled(e) => journal::pending(e),
            #[cfg(feature = "etcd")]
            Engine::Etcd(e) => e.pending_rollback(),
        }
    }

    /// Undoes a large write that a crash interrupted; returns whether there was one.
    pub fn recover(&self) -> Result<bool> {
        match self {
            Engine::Sled(e) => journal::recover(e),
            #[cfg(feature = "etcd")]
            Engine::Etcd(e) => e.recover(),
        }
    }

    pub fn get(&self, t: TreeId, k: &[u8]) -> Result<Option<Bytes>> {
        match self {
            Engine::Sled(e) => Ok(e.tree(t).get(k)?),
            #[cfg(feature = "etcd")]
            Engine::Etcd(e) => e.get(t, k),
        }
    }

    pub fn contains(&self, t: TreeId, k: &[u8]) -> Result<bool> {
        match self {
            Engine::Sled(e) => Ok(e.tree(t).contains_key(k)?),
            #[cfg(feature = "etcd")]
            Engine::Etcd(e) => Ok(e.get(t, k)?.is_some()),
        }
    }

    /// Every pair of a tree, in key order.
    pub fn iter(&self, t: TreeId) -> Scan<'_> {
        self.prefix(t, &[])
    }

    /// The pairs whose key starts with `prefix`, in key order.
    pub fn prefix(&self, t: TreeId, prefix: &[u8]) -> Scan<'_> {
        match self {
            Engine::Sled(e) => Box::new(e.tree(t).scan_prefix(prefix).map(sled_pair)),
            #[cfg(feature = "etcd")]
            Engine::Etcd(e) => e.prefix(t, prefix, false),
        }
    }

    /// The pairs whose key starts with `prefix`, in reverse key order.
    pub fn prefix_rev(&self, t: TreeId, prefix: &[u8]) -> Scan<'_> {
        match self {
            Engine::Sled(e) => Box::new(e.tree(t).scan_prefix(prefix).rev().map(sled_pair)),
            #[cfg(feature = "etcd")]
            Engine::Etcd(e) => e.prefix(t, prefix, true),
        }
    }

    /// The pairs with keys between two bounds, in key order.
    pub fn range(&self, t: TreeId, from: Bound<&[u8]>, to: Bound<&[u8]>) -> Scan<'_> {
        match self {
            Engine::Sled(e) => Box::new(e.tree(t).range::<&[u8], _>((from, to)).map(sled_pair)),
            #[cfg(feature = "etcd")]
            Engine::Etcd(e) => e.range(t, from, to, false),
        }
    }

    /// Writes the set atomically if its preconditions hold. Not durable until [`Self::flush`].
    pub fn commit(&self, set: &WriteSet) -> Result<(), CommitError> {
        match self {
            Engine::Sled(e) => e.commit(set),
            #[cfg(feature = "etcd")]
            Engine::Etcd(e) => e.commit(set),
        }
    }

    /// Makes every acknowledged write durable.
    pub fn flush(&self) -> Result<()> {
        match self {
            Engine::Sled(e) => {
                e.db.flush()?;
                Ok(())
            }
            // etcd's commit is the durability point (a quorum's fsync).
            #[cfg(feature = "etcd")]
            Engine::Etcd(_) => Ok(()),
        }
    }

    /// For a remote engine: the same engine with every key read into memory at once, to
    /// plan a large write against (see [`super::Store::apply`]); `None` when reads are local
    /// anyway.
    pub fn bulk(&self) -> Result<Option<Engine>> {
        match self {
            Engine::Sled(_) => Ok(None),
            #[cfg(feature = "etcd")]
            Engine::Etcd(e) => Ok(Some(Engine::Etcd(e.bulk()?))),
        }
    }

    /// For a remote engine: the view a writer plans against, every read at one revision
    /// (see [`super::etcd::EtcdEngine::writer_view`]); `None` when reads are local anyway.
    pub fn writer_view(&self) -> Result<Option<Engine>> {
        match self {
            Engine::Sled(_) => Ok(None),
            #[cfg(feature = "etcd")]
            Engine::Etcd(e) => Ok(Some(Engine::Etcd(e.writer_view()?))),
        }
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        match self {
            Engine::Sled(e) => Ok(e.db.size_on_disk()?),
            #[cfg(feature = "etcd")]
            Engine::Etcd(e) => e.size_on_disk(),
        }
    }
}

fn sled_pair(kv: sled::Result<(sled::IVec, sled::IVec)>) -> Result<(Bytes, Bytes)> {
    Ok(kv?)
}

impl SledEngine {
    pub(super) fn tree(&self, t: TreeId) -> &sled::Tree {
        &self.trees[t as usize]
    }

    pub(super) fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    /// Whether the preconditions hold now (outside a transaction: for the journal, whose
    /// writer holds the store's writer lock, so nothing changes them until it writes).
    fn check(&self, set: &WriteSet) -> Result<(), CommitError> {
        for (t, k, seen) in &set.expect {
            if self.tree(*t).get(k)? != *seen {
                return Err(CommitError::Conflict {
                    tree: *t,
                    key: k.clone(),
                });
            }
        }
        Ok(())
    }

    fn commit(&self, set: &WriteSet) -> Result<(), CommitError> {
        if set.is_empty() {
            return self.check(set);
        }
        if set.len() > SINGLE_TRANSACTION_MAX_WRITES {
            self.check(set)?;
            journal::apply_journaled(self, &set.writes)?;
            return Ok(());
        }
        let result = self.trees.as_slice().transaction(|trees| {
            for (t, k, seen) in &set.expect {
                if trees[*t as usize].get(k)? != *seen {
                    return Err(ConflictableTransactionError::Abort((*t, k.clone())));
                }
            }
            for (t, writes) in set.writes.iter().enumerate() {
                write_all(&trees[t], writes)?;
            }
            Ok(())
        });
        result.map_err(|e| match e {
            TransactionError::Storage(e) => CommitError::Store(StoreError::Sled(e)),
            TransactionError::Abort((tree, key)) => CommitError::Conflict { tree, key },
        })
    }
}

fn write_all(
    tree: &TransactionalTree,
    writes: &TreeWrites,
) -> std::result::Result<(), UnabortableTransactionError> {
    for (k, v) in writes {
        match v {
            Some(v) => tree.insert(k.as_slice(), v.as_slice())?,
            None => tree.remove(k.as_slice())?,
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_whose_reads_changed_is_refused_whole() {
        let e = Engine::temporary_sled().unwrap();
        let mut first = WriteSet::new();
        first.set(TreeId::Countries, b"AAA".to_vec(), b"1".to_vec());
        e.commit(&first).unwrap();

        // A writer that read AAA as "1" and BBB as absent writes both.
        let mut stale = WriteSet::new();
        stale.expect(TreeId::Countries, b"AAA".to_vec(), Some(b"1".into()));
        stale.expect(TreeId::Countries, b"BBB".to_vec(), None);
        stale.set(TreeId::Countries, b"AAA".to_vec(), b"2".to_vec());
        stale.set(TreeId::Countries, b"BBB".to_vec(), b"2".to_vec());

        // Someone else writes BBB first.
        let mut other = WriteSet::new();
        other.set(TreeId::Countries, b"BBB".to_vec(), b"x".to_vec());
        e.commit(&other).unwrap();

        match e.commit(&stale) {
            Err(CommitError::Conflict { tree, key }) => {
                assert_eq!(tree, TreeId::Countries);
                assert_eq!(key, b"BBB");
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(
            e.get(TreeId::Countries, b"AAA").unwrap().as_deref(),
            Some(&b"1"[..]),
            "nothing of the refused write is visible"
        );

        // Planned again on what is there now, it goes through.
        stale.expect[1].2 = Some(b"x".into());
        e.commit(&stale).unwrap();
        assert_eq!(
            e.get(TreeId::Countries, b"BBB").unwrap().as_deref(),
            Some(&b"2"[..])
        );
    }

    #[test]
    fn scans_are_ordered_both_ways_and_bounded() {
        let e = Engine::temporary_sled().unwrap();
        let mut w = WriteSet::new();
        for k in ["a1", "a2", "a3", "b1"] {
            w.set(TreeId::Meta, k.as_bytes().to_vec(), vec![]);
        }
        e.commit(&w).unwrap();
        let keys = |s: Scan<'_>| -> Vec<String> {
            s.map(|kv| String::from_utf8(kv.unwrap().0.to_vec()).unwrap())
                .collect()
        };
        assert_eq!(keys(e.prefix(TreeId::Meta, b"a")), ["a1", "a2", "a3"]);
        assert_eq!(keys(e.prefix_rev(TreeId::Meta, b"a")), ["a3", "a2", "a1"]);
        assert_eq!(
            keys(e.range(TreeId::Meta, Bound::Excluded(b"a1"), Bound::Included(b"b1"))),
            ["a2", "a3", "b1"]
        );
    }
}
