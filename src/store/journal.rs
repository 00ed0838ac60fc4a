//! Large writes (a dataset import) made atomic across crashes without one giant sled
//! transaction.
//!
//! sled keeps every page touched by a transaction or batch pinned in memory until it seals,
//! about 4 KB per write: a world-sized import (two million index entries) would need
//! gigabytes. So a write set larger than [`SINGLE_TRANSACTION_MAX_WRITES`] goes through an
//! undo journal instead:
//!
//! 1. the before-image of every key about to change is written to the `journal` tree and
//!    flushed (skipped when the store is empty: undoing then means emptying it);
//! 2. the `journal` marker is set in `meta` and flushed: from here on, a crash rolls back;
//! 3. the writes are applied and flushed;
//! 4. the marker is removed and flushed: this is the commit point; the journal is cleared.
//!
//! [`recover`] runs when the store opens: a marker still present means step 3 may be
//! partial, so every journaled key gets its before-image back (idempotent, so a crash during
//! recovery is recovered again), and the marker goes. sled recovers writes in the order they
//! were made, and each step is flushed before the next begins.

use super::engine::{SledEngine, TreeWrites};
use super::{tree_of, Result, TreeId, DEPENDENCY_ORDER};

const MARKER: &[u8] = b"journal";
/// Marker values: what a rollback must do.
const UNDO_TO_EMPTY: u8 = 0;
const UNDO_FROM_JOURNAL: u8 = 1;

const ABSENT: u8 = 0;
const PRESENT: u8 = 1;

fn journal_key(t: usize, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len());
    k.push(t as u8);
    k.extend_from_slice(key);
    k
}

/// Whether the store holds no record and no audit trail.
fn holds_nothing(store: &SledEngine) -> bool {
    DEPENDENCY_ORDER
        .iter()
        .all(|&e| store.tree(tree_of(e)).is_empty())
        && store.tree(TreeId::History).is_empty()
}

pub(super) fn apply_journaled(store: &SledEngine, overlay: &[TreeWrites]) -> Result<()> {
    let journal = store.tree(TreeId::Journal);
    let meta = store.tree(TreeId::Meta);
    journal.clear()?;
    // History counts as content: an emptied store may still have its audit trail.
    let mode = if holds_nothing(store) {
        UNDO_TO_EMPTY
    } else {
        for (t, writes) in overlay.iter().enumerate() {
            for k in writes.keys() {
                let before = match store.tree(TreeId::ALL[t]).get(k)? {
                    Some(v) => {
                        let mut b = Vec::with_capacity(1 + v.len());
                        b.push(PRESENT);
                        b.extend_from_slice(&v);
                        b
                    }
                    None => vec![ABSENT],
                };
                journal.insert(journal_key(t, k), before)?;
            }
        }
        UNDO_FROM_JOURNAL
    };
    store.flush()?;
    meta.insert(MARKER, &[mode])?;
    store.flush()?;
    for (t, writes) in overlay.iter().enumerate() {
        let tree = store.tree(TreeId::ALL[t]);
        for (k, v) in writes {
            match v {
                Some(v) => tree.insert(k.as_slice(), v.as_slice())?,
                None => tree.remove(k.as_slice())?,
            };
        }
    }
    store.flush()?;
    meta.remove(MARKER)?;
    store.flush()?;
    journal.clear()?;
    Ok(())
}

/// Rolls back a journaled write that a crash interrupted. Returns whether there was one.
pub(super) fn recover(store: &SledEngine) -> Result<bool> {
    let journal = store.tree(TreeId::Journal);
    let meta = store.tree(TreeId::Meta);
    let Some(mode) = meta.get(MARKER)? else {
        // A journal left without its marker was never acted on (or was already committed).
        if !journal.is_empty() {
            journal.clear()?;
        }
        return Ok(false);
    };
    match mode.first() {
        Some(&UNDO_TO_EMPTY) => {
            for t in TreeId::ALL {
                // Tokens are not part of any write set: they outlive a rolled-back import.
                if t != TreeId::Meta && t != TreeId::Tokens {
                    store.tree(t).clear()?;
                }
            }
            for k in meta.iter().keys() {
                let k = k?;
                if k.as_ref() != super::FORMAT_KEY && k.as_ref() != MARKER {
                    meta.remove(k)?;
                }
            }
        }
        _ => {
            for kv in journal.iter() {
                let (k, before) = kv?;
                let (&t, key) = k.split_first().unwrap_or((&u8::MAX, &[]));
                let Some(&t) = TreeId::ALL.get(t as usize) else {
                    continue;
                };
                let tree = store.tree(t);
                match before.split_first() {
                    Some((&PRESENT, v)) => tree.insert(key, v)?,
                    _ => tree.remove(key)?,
                };
            }
        }
    }
    store.flush()?;
    meta.remove(MARKER)?;
    store.flush()?;
    journal.clear()?;
    Ok(true)
}

/// Whether a journaled write is pending rollback (only between a crash and the next open).
pub(super) fn pending(store: &SledEngine) -> Result<bool> {
    Ok(store.tree(TreeId::Meta).contains_key(MARKER)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_restores_before_images_and_is_idempotent() {
        let engine = super::super::engine::Engine::temporary_sled().unwrap();
        #[allow(irrefutable_let_patterns)]
        let super::super::engine::Engine::Sled(store) = &engine
        else {
            unreachable!()
        };
        let countries = store.tree(TreeId::Countries);
        countries.insert(b"AAA", b"old".as_slice()).unwrap();
        // A journal as step 1 would write it, the marker of step 2, and a partial step 3.
        let journal = store.tree(TreeId::Journal);
        journal
            .insert(
                journal_key(TreeId::Countries as usize, b"AAA"),
                [&[PRESENT][..], b"old"].concat(),
            )
            .unwrap();
        journal
            .insert(
                journal_key(TreeId::Countries as usize, b"BBB"),
                vec![ABSENT],
            )
            .unwrap();
        store
            .tree(TreeId::Meta)
            .insert(MARKER, &[UNDO_FROM_JOURNAL])
            .unwrap();
        countries.insert(b"AAA", b"new".as_slice()).unwrap();
        countries.insert(b"BBB", b"new".as_slice()).unwrap();

        assert!(recover(store).unwrap());
        assert_eq!(countries.get(b"AAA").unwrap().as_deref(), Some(&b"old"[..]));
        assert_eq!(countries.get(b"BBB").unwrap(), None);
        assert!(!pending(store).unwrap());
        assert!(journal.is_empty());
        assert!(!recover(store).unwrap(), "nothing left to recover");
    }
}
