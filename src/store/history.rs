//! The audit trail: one [`HistoryEntry`] per change, written by [`Store::apply`] in the same
//! transaction as the change it describes.
//!
//! | tree            | key                                                   | value        |
//! |-----------------|-------------------------------------------------------|--------------|
//! | `history`       | time (µs since the epoch, u64) ++ seq (u64)           | entry        |
//! | `history_index` | [`Entity`] code (u8) ++ natural key ++ 0x00 ++ history key | empty   |
//! | `meta`          | `history/next-seq`, `history/last-at`                 | u64          |
//!
//! Live writes get strictly increasing times (a clock that steps back is overtaken by one
//! microsecond a write), so key order is both time order and commit order: a client that
//! syncs with the `changes` cursor never misses an entry. Imported entries keep their own
//! times and sequence numbers.

use super::codec::{self, Stored};
use super::engine::Bytes;
use super::{Result, Store, StoreError, TreeId};
use crate::model::*;

/// The key of an entry in the `history` tree: sorts by time, then sequence.
pub type HistoryKey = [u8; 16];

pub(super) const NEXT_SEQ: &[u8] = b"history/next-seq";
pub(super) const LAST_AT: &[u8] = b"history/last-at";

pub fn history_key(at: Timestamp, seq: u64) -> HistoryKey {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&(at.unix_micros().max(0) as u64).to_be_bytes());
    k[8..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// The first key at or after an instant.
pub fn history_key_from(at: Timestamp) -> HistoryKey {
    history_key(at, 0)
}

/// The prefix of one record's entries in `history_index`.
pub fn record_prefix(entity: Entity, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + key.len());
    k.push(entity.code());
    k.extend_from_slice(key.as_bytes());
    k.push(0);
    k
}

pub(super) fn index_key(entity: Entity, key: &str, at: &HistoryKey) -> Vec<u8> {
    let mut k = record_prefix(entity, key);
    k.extend_from_slice(at);
    k
}

fn decode_key(k: &[u8]) -> Option<HistoryKey> {
    k.try_into().ok()
}

impl Store {
    fn history_entry(&self, k: &[u8], v: &Bytes) -> Result<(HistoryKey, HistoryEntry)> {
        let key = decode_key(k).ok_or_else(|| StoreError::Corrupt {
            tree: "history",
            reason: format!("key {k:?}"),
        })?;
        let s: Stored<HistoryEntry> = codec::decode(v).map_err(|e| StoreError::Corrupt {
            tree: "history",
            reason: e.to_string(),
        })?;
        Ok((key, s.record))
    }

    /// Up to `limit` entries, oldest first, strictly after `after` (a key from an earlier
    /// page) or else from `since` on, and none past `until` (the newest entry known to be
    /// durable: a server shows no entry that a crash could still take back).
    pub fn changes(
        &self,
        since: Option<Timestamp>,
        after: Option<HistoryKey>,
        until: HistoryKey,
        limit: usize,
    ) -> Result<Vec<(HistoryKey, HistoryEntry)>> {
        use std::ops::Bound::{Excluded, Included};
        let start = since.map(history_key_from).unwrap_or([0; 16]);
        let iter = match after {
            Some(a) if a >= start => {
                if a >= until {
                    return Ok(vec![]);
                }
                self.engine
                    .range(TreeId::History, Excluded(&a), Included(&until))
            }
            _ if start > until => return Ok(vec![]),
            _ => self
                .engine
                .range(TreeId::History, Included(&start), Included(&until)),
        };
        iter.take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                self.history_entry(&k, &v)
            })
            .collect()
    }

    /// How many entries there are from `since` on (a key scan: linear in that number; a
    /// server counts with [`crate::live::Live::count_changes`] instead).
    pub fn count_changes(&self, since: Option<Timestamp>) -> Result<u64> {
        let start = since.map(history_key_from).unwrap_or([0; 16]);
        let mut n = 0;
        for kv in self.engine.range(
            TreeId::History,
            std::ops::Bound::Included(&start),
            std::ops::Bound::Unbounded,
        ) {
            kv?;
            n += 1;
        }
        Ok(n)
    }

    /// Every entry's key, in order (a key scan, for a server to count from memory).
    pub fn history_keys(&self) -> Result<Vec<HistoryKey>> {
        self.engine
            .iter(TreeId::History)
            .map(|kv| {
                let (k, _) = kv?;
                decode_key(&k).ok_or_else(|| StoreError::Corrupt {
                    tree: "history",
                    reason: format!("key {k:?}"),
                })
            })
            .collect()
    }

    /// Every entry, oldest first (for export).
    pub fn all_history(&self) -> impl Iterator<Item = Result<HistoryEntry>> + '_ {
        self.engine.iter(TreeId::History).map(move |kv| {
            let (k, v) = kv?;
            Ok(self.history_entry(&k, &v)?.1)
        })
    }

    /// One record's entries, newest first, strictly before `before` (a key from an earlier
    /// page), at most `limit` of them; and how many there are in all. Entries past `until`
    /// (not yet durable) are left out of both.
    pub fn history_of(
        &self,
        entity: Entity,
        key: &str,
        before: Option<HistoryKey>,
        until: HistoryKey,
        limit: usize,
    ) -> Result<(Vec<(HistoryKey, HistoryEntry)>, u64)> {
        let prefix = record_prefix(entity, key);
        let mut total = 0;
        let mut out = vec![];
        for kv in self.engine.prefix_rev(TreeId::HistoryIndex, &prefix) {
            let (k, _) = kv?;
            let Some(at) = decode_key(&k[prefix.len()..]) else {
                return Err(StoreError::Corrupt {
                    tree: "history_index",
                    reason: format!("key {k:?}"),
                });
            };
            if at > until {
                continue;
            }
            total += 1;
            if before.is_some_and(|b| at >= b) || out.len() >= limit {
                continue;
            }
            let v = self
                .engine
                .get(TreeId::History, &at)?
                .ok_or_else(|| StoreError::Corrupt {
                    tree: "history_index",
                    reason: format!("entry {at:?} is indexed but missing"),
                })?;
            out.push(self.history_entry(&at, &v)?);
        }
        Ok((out, total))
    }
}
