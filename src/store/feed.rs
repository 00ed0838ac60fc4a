//! The feed of committed write sets, for servers that share a replicated store: every commit,
//! whichever server made it, typed as the writer's own [`ChangeSet`] and audit entries, in
//! commit order. Key bytes and record bytes are decoded here, so the catalog and the live
//! layer never see them.

use super::codec::{self, Stored};
use super::keys::Index;
use super::write::{location, Record, RecordChange, REVISION};
use super::{ChangeSet, Result, StoreError, TreeId, DEPENDENCY_ORDER};
use crate::model::{Entity, HistoryEntry};

/// Where a snapshot loaded from a replicated store stands, so that following the feed from
/// there misses and repeats nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowPoint {
    pub(super) revision: i64,
    pub(super) generation: u64,
}

/// What the feed hands over next.
pub enum FeedItem {
    /// One commit of the store.
    Commit {
        changes: ChangeSet,
        history: Vec<HistoryEntry>,
    },
    /// The feed ended (the store was replaced by a large write, history was compacted past
    /// where the follower stood, or the connection was lost): reload, then follow again.
    Lost(String),
}

/// The commits of a replicated store, from a [`FollowPoint`] on.
pub struct Feed {
    #[cfg(feature = "etcd")]
    pub(super) rx: tokio::sync::mpsc::UnboundedReceiver<super::etcd::RawItem>,
}

impl Feed {
    /// The next commit, or why the feed ended (after which it only says so again).
    pub async fn next(&mut self) -> FeedItem {
        #[cfg(feature = "etcd")]
        loop {
            use super::etcd::RawItem;
            match self.rx.recv().await {
                None => return FeedItem::Lost("the feed closed".into()),
                Some(RawItem::Lost(why)) => return FeedItem::Lost(why),
                Some(RawItem::Commit { revision, events }) => {
                    let events = events
                        .into_iter()
                        .map(|e| (e.tree, e.key, e.before, e.after))
                        .collect();
                    match decode_commit(events) {
                        Ok(Some((changes, history))) => {
                            return FeedItem::Commit { changes, history }
                        }
                        // Not a write of the store's (a token, the format mark).
                        Ok(None) => continue,
                        Err(e) => {
                            return FeedItem::Lost(format!(
                                "a commit at etcd revision {revision} could not be read: {e}"
                            ))
                        }
                    }
                }
            }
        }
        #[cfg(not(feature = "etcd"))]
        FeedItem::Lost("this build has no replicated store".into())
    }
}

/// One key a commit wrote: its tree, its key, its value before and after.
#[cfg_attr(not(feature = "etcd"), allow(dead_code))]
pub(super) type KeyChange = (TreeId, Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>);

/// The entity whose records a tree holds.
#[cfg_attr(not(feature = "etcd"), allow(dead_code))]
fn entity_of(t: TreeId) -> Option<Entity> {
    DEPENDENCY_ORDER
        .iter()
        .copied()
        .find(|&e| super::tree_of(e) == t)
}

/// A commit's keys, typed: `None` when they are not a store write (every store write bumps
/// the `revision` key).
#[cfg_attr(not(feature = "etcd"), allow(dead_code))]
pub(super) fn decode_commit(
    events: Vec<KeyChange>,
) -> Result<Option<(ChangeSet, Vec<HistoryEntry>)>> {
    let corrupt = |tree: TreeId, reason: String| StoreError::Corrupt {
        tree: tree.name(),
        reason,
    };
    let mut revision = None;
    let mut records = vec![];
    let mut postings = vec![];
    let mut history = vec![];
    for (tree, key, before, after) in events {
        if tree == TreeId::Meta {
            if key == REVISION {
                revision = after
                    .as_deref()
                    .and_then(|v| v.try_into().ok())
                    .map(u64::from_be_bytes);
            }
            continue;
        }
        if tree == TreeId::Index {
            let index = Index::decode_key(&key)
                .ok_or_else(|| corrupt(tree, format!("undecodable key {key:?}")))?;
            let list = match after {
                Some(v) => codec::decode_postings(&v)
                    .map_err(|e| corrupt(tree, format!("{index:?}: {e}")))?,
                None => roaring::RoaringBitmap::new(),
            };
            postings.push((index, list));
            continue;
        }
        if tree == TreeId::History {
            if let Some(v) = after {
                let entry: Stored<HistoryEntry> =
                    codec::decode(&v).map_err(|e| corrupt(tree, e.to_string()))?;
                history.push(entry.record);
            }
            continue;
        }
        let Some(entity) = entity_of(tree) else {
            continue;
        };
        let decode = |v: Option<Vec<u8>>| v.map(|v| Record::decode(entity, &v)).transpose();
        let (before, after) = (decode(before)?, decode(after)?);
        let Some(any) = after.as_ref().or(before.as_ref()) else {
            continue;
        };
        if before == after {
            continue;
        }
        records.push(RecordChange {
            key: any.record.key(),
            at: location(entity, &key),
            before,
            after,
        });
    }
    let Some(revision) = revision else {
        return Ok(None);
    };
    // Removals first, dependents before what they depend on; then what is created or
    // changed, in dependency order.
    let rank = |c: &RecordChange| {
        let e = c.key.entity();
        let at = DEPENDENCY_ORDER.iter().position(|&x| x == e).unwrap_or(0) as i64;
        match c.after {
            None => -1 - at,
            Some(_) => at,
        }
    };
    records.sort_by_key(rank);
    history.sort_by_key(|e| e.seq);
    Ok(Some((
        ChangeSet {
            revision,
            records,
            postings,
        },
        history,
    )))
}
