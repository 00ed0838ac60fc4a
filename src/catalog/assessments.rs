//! The assessment of every recommendation, held beside the record in the snapshot.
//!
//! Each slot is filled by whichever comes first: something that asks (a
//! `Recommendation.assessment`, an `assessedActionCategory` or `smartScore` filter or facet),
//! or the server's background pass ([`crate::catalog::Catalog::assess_all`], started by
//! `recover-better serve` once the snapshot is loaded, so the start does not wait for it).
//! Loading a catalog never assesses: tests and commands that build a catalog do not pay for
//! it. A write forgets the slots of the recommendations it touched ([`Assessments::forget`]),
//! so a changed text is assessed again and never shows a stale assessment; the other slots
//! carry over to the new snapshot, and the background pass fills the forgotten ones again.
//!
//! A slot holds the assessment's values only ([`Brief`]: the category, its confidence, the
//! SMART scores, the suggested themes and groups as indices), not its reasons, which are
//! text and were most of the memory: `Recommendation.assessment` computes the reasons again
//! when a query asks for them (see `graphql::assess`).

use std::sync::OnceLock;

use roaring::RoaringBitmap;

use super::cow::Chunked;
use crate::assess::{brief, Brief};

/// Assessments by recommendation id, filled on first use. In chunks ([`Chunked`]): a write
/// forgets a few slots by copying their chunk, not every slot.
#[derive(Clone)]
pub struct Assessments {
    slots: Chunked<OnceLock<Brief>>,
    /// Ids below this have a slot of their own.
    size: usize,
}

impl Default for Assessments {
    fn default() -> Self {
        Self::with_size(0)
    }
}

impl Assessments {
    /// Room for ids below `size`.
    pub fn with_size(size: usize) -> Assessments {
        let mut slots = Chunked::new(OnceLock::new());
        if size > 0 {
            // Creates every chunk up to `size`.
            slots.set(size - 1, OnceLock::new());
        }
        Assessments { slots, size }
    }

    /// The slot of `id`, if it has one of its own (never the shared fill).
    fn slot(&self, id: u32) -> Option<&OnceLock<Brief>> {
        ((id as usize) < self.size).then(|| self.slots.get(id as usize))
    }

    /// The assessment of `text`, the text of recommendation `id`.
    pub fn get(&self, id: u32, text: &str) -> Brief {
        match self.slot(id) {
            Some(slot) => slot.get_or_init(|| brief(text)).clone(),
            // An id beyond the slots cannot be: `Catalog::absorb` makes room for every id it
            // adds. Assessing without keeping it is still right.
            None => brief(text),
        }
    }

    /// Reads the assessment of `text`, the text of recommendation `id`, without copying it.
    pub fn with<R>(&self, id: u32, text: &str, read: impl FnOnce(&Brief) -> R) -> R {
        match self.slot(id) {
            Some(slot) => read(slot.get_or_init(|| brief(text))),
            None => read(&brief(text)),
        }
    }

    /// Whether recommendation `id`'s assessment is already there.
    pub fn is_filled(&self, id: u32) -> bool {
        self.slot(id).is_some_and(|s| s.get().is_some())
    }

    /// Forgets the assessments of `ids` and makes room for ids below `size`.
    pub fn forget(&mut self, ids: &RoaringBitmap, size: usize) {
        if self.size < size {
            self.slots.set(size - 1, OnceLock::new());
            self.size = size;
        }
        for id in ids {
            if (id as usize) < self.size {
                self.slots.set(id as usize, OnceLock::new());
            }
        }
    }
}
