//! The one write path: a list of [`Change`]s becomes one atomic write (a sled transaction, or
//! for very large write sets the undo journal of [`super::journal`]) that writes the
//! records, moves their index entries, keeps the natural-key map and the counters, and
//! cascades link deletions. Nothing is written unless every change is valid.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::codec::{self, Stored};
use super::engine::{CommitError, WriteSet};
use super::history;
use super::keys::*;
use super::{Rejection, Result, Store, StoreError, TreeId};
use crate::model::*;
use roaring::RoaringBitmap;
use serde::Serialize;

/// A whole record of any entity.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Country(Country),
    Cycle(Cycle),
    Session(Session),
    Recommendation(Recommendation),
    Measure(Measure),
    GoodPractice(GoodPractice),
    Concern(Concern),
    Action(Action),
    Link(Link),
    Theme(Theme),
    Group(Group),
    Sdg(Sdg),
    MeasureCategory(MeasureCategoryInfo),
}

/// The natural key of a record of any entity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Country(CountryCode),
    Cycle(CycleNumber),
    Session(SessionNumber),
    Recommendation(Ref),
    Measure(Ref),
    GoodPractice(Ref),
    Concern(Ref),
    Action(Ref),
    Link(LinkKey),
    Theme(Slug),
    Group(Slug),
    Sdg(SdgGoal),
    MeasureCategory(MeasureCategory),
}

/// One write: create-or-replace a record, or delete one by key. `expected_version`, when
/// given, must equal the stored version (0 meaning "must not exist yet").
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Put {
        record: Record,
        expected_version: Option<u32>,
    },
    Delete {
        key: Key,
        expected_version: Option<u32>,
    },
    /// Restore an entry of the audit trail as it is (an import of `history.jsonl`).
    Audit(HistoryEntry),
}

impl Change {
    pub fn put(record: Record) -> Change {
        Change::Put {
            record,
            expected_version: None,
        }
    }
    pub fn delete(key: Key) -> Change {
        Change::Delete {
            key,
            expected_version: None,
        }
    }
}

impl Record {
    pub fn entity(&self) -> Entity {
        match self {
            Record::Country(_) => Entity::Country,
            Record::Cycle(_) => Entity::Cycle,
            Record::Session(_) => Entity::Session,
            Record::Recommendation(_) => Entity::Recommendation,
            Record::Measure(_) => Entity::Measure,
            Record::GoodPractice(_) => Entity::GoodPractice,
            Record::Concern(_) => Entity::Concern,
            Record::Action(_) => Entity::Action,
            Record::Link(_) => Entity::Link,
            Record::Theme(_) => Entity::Theme,
            Record::Group(_) => Entity::Group,
            Record::Sdg(_) => Entity::Sdg,
            Record::MeasureCategory(_) => Entity::MeasureCategory,
        }
    }

    pub fn key(&self) -> Key {
        match self {
            Record::Country(r) => Key::Country(r.code),
            Record::Cycle(r) => Key::Cycle(r.number),
            Record::Session(r) => Key::Session(r.number),
            Record::Recommendation(r) => Key::Recommendation(r.id.clone()),
            Record::Measure(r) => Key::Measure(r.id.clone()),
            Record::GoodPractice(r) => Key::GoodPractice(r.id.clone()),
            Record::Concern(r) => Key::Concern(r.id.clone()),
            Record::Action(r) => Key::Action(r.id.clone()),
            Record::Link(r) => Key::Link(r.key()),
            Record::Theme(r) => Key::Theme(r.slug.clone()),
            Record::Group(r) => Key::Group(r.slug.clone()),
            Record::Sdg(r) => Key::Sdg(r.goal),
            Record::MeasureCategory(r) => Key::MeasureCategory(r.code),
        }
    }

    fn problems(&self) -> Vec<Refusal> {
        match self {
            Record::Country(r) => r.problems(),
            Record::Cycle(r) => r.problems(),
            Record::Session(r) => r.problems(),
            Record::Recommendation(r) => r.problems(),
            Record::Measure(r) => r.problems(),
            Record::GoodPractice(r) => r.problems(),
            Record::Concern(r) => r.problems(),
            Record::Action(r) => r.problems(),
            Record::Link(r) => r.problems(),
            Record::Theme(r) => r.problems(),
            Record::Group(r) => r.problems(),
            Record::Sdg(r) => r.problems(),
            Record::MeasureCategory(r) => r.problems(),
        }
    }

    fn encode(&self, version: u32) -> Vec<u8> {
        fn e<T: Serialize>(version: u32, record: &T) -> Vec<u8> {
            codec::encode(&Stored { version, record })
        }
        match self {
            Record::Country(r) => e(version, r),
            Record::Cycle(r) => e(version, r),
            Record::Session(r) => e(version, r),
            Record::Recommendation(r) => e(version, r),
            Record::Measure(r) => e(version, r),
            Record::GoodPractice(r) => e(version, r),
            Record::Concern(r) => e(version, r),
            Record::Action(r) => e(version, r),
            Record::Link(r) => e(version, r),
            Record::Theme(r) => e(version, r),
            Record::Group(r) => e(version, r),
            Record::Sdg(r) => e(version, r),
            Record::MeasureCategory(r) => e(version, r),
        }
    }

    /// The record in the interchange format, as one line of JSON.
    pub fn to_json(&self) -> String {
        fn j<T: Serialize>(r: &T) -> String {
            serde_json::to_string(r).unwrap_or_default()
        }
        match self {
            Record::Country(r) => j(r),
            Record::Cycle(r) => j(r),
            Record::Session(r) => j(r),
            Record::Recommendation(r) => j(r),
            Record::Measure(r) => j(r),
            Record::GoodPractice(r) => j(r),
            Record::Concern(r) => j(r),
            Record::Action(r) => j(r),
            Record::Link(r) => j(r),
            Record::Theme(r) => j(r),
            Record::Group(r) => j(r),
            Record::Sdg(r) => j(r),
            Record::MeasureCategory(r) => j(r),
        }
    }

    /// Decodes a stored value of the given kind.
    pub(super) fn decode(kind: Entity, bytes: &[u8]) -> Result<Stored<Record>> {
        fn d<T: codec::Versioned>(
            kind: Entity,
            bytes: &[u8],
            wrap: fn(T) -> Record,
        ) -> Result<Stored<Record>> {
            let s: Stored<T> = codec::decode(bytes).map_err(|e| StoreError::Corrupt {
                tree: super::tree_of(kind).name(),
                reason: e.to_string(),
            })?;
            Ok(Stored {
                version: s.version,
                record: wrap(s.record),
            })
        }
        match kind {
            Entity::Country => d(kind, bytes, Record::Country),
            Entity::Cycle => d(kind, bytes, Record::Cycle),
            Entity::Session => d(kind, bytes, Record::Session),
            Entity::Recommendation => d(kind, bytes, Record::Recommendation),
            Entity::Measure => d(kind, bytes, Record::Measure),
            Entity::GoodPractice => d(kind, bytes, Record::GoodPractice),
            Entity::Concern => d(kind, bytes, Record::Concern),
            Entity::Action => d(kind, bytes, Record::Action),
            Entity::Link => d(kind, bytes, Record::Link),
            Entity::Theme => d(kind, bytes, Record::Theme),
            Entity::Group => d(kind, bytes, Record::Group),
            Entity::Sdg => d(kind, bytes, Record::Sdg),
            Entity::MeasureCategory => d(kind, bytes, Record::MeasureCategory),
        }
    }
}

impl Key {
    pub fn entity(&self) -> Entity {
        match self {
            Key::Country(_) => Entity::Country,
            Key::Cycle(_) => Entity::Cycle,
            Key::Session(_) => Entity::Session,
            Key::Recommendation(_) => Entity::Recommendation,
            Key::Measure(_) => Entity::Measure,
            Key::GoodPractice(_) => Entity::GoodPractice,
            Key::Concern(_) => Entity::Concern,
            Key::Action(_) => Entity::Action,
            Key::Link(_) => Entity::Link,
            Key::Theme(_) => Entity::Theme,
            Key::Group(_) => Entity::Group,
            Key::Sdg(_) => Entity::Sdg,
            Key::MeasureCategory(_) => Entity::MeasureCategory,
        }
    }
}

impl Key {
    /// The natural key as history entries name it.
    pub fn history_key(&self) -> String {
        match self {
            Key::Country(c) => c.to_string(),
            Key::Cycle(n) => n.to_string(),
            Key::Session(n) => n.to_string(),
            Key::Recommendation(r)
            | Key::Measure(r)
            | Key::GoodPractice(r)
            | Key::Concern(r)
            | Key::Action(r) => r.to_string(),
            Key::Link(k) => k.to_string(),
            Key::Theme(s) | Key::Group(s) => s.to_string(),
            Key::Sdg(g) => g.to_string(),
            Key::MeasureCategory(c) => c.to_string(),
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Country(c) => write!(f, "country {c}"),
            Key::Cycle(n) => write!(f, "cycle {n}"),
            Key::Session(n) => write!(f, "session {n}"),
            Key::Recommendation(r) => write!(f, "recommendation {r}"),
            Key::Measure(r) => write!(f, "measure {r}"),
            Key::GoodPractice(r) => write!(f, "good practice {r}"),
            Key::Concern(r) => write!(f, "concern {r}"),
            Key::Action(r) => write!(f, "action {r}"),
            Key::Link(LinkKey {
                recommendation,
                measure,
            }) => write!(f, "link {recommendation} -> {measure}"),
            Key::Theme(s) => write!(f, "theme {s}"),
            Key::Group(s) => write!(f, "group {s}"),
            Key::Sdg(g) => write!(f, "SDG {g}"),
            Key::MeasureCategory(c) => write!(f, "measure category {c}"),
        }
    }
}

/// What [`Store::apply`] did to one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created {
        version: u32,
    },
    Updated {
        version: u32,
    },
    /// The record was already stored exactly so: nothing was written.
    Unchanged {
        version: u32,
    },
    Deleted {
        cascaded_links: usize,
    },
}

#[derive(Default)]
pub struct ApplyOptions<'a> {
    /// Who makes the change: when given, every change appends an entry to the audit trail
    /// (see [`super::history`]) in the same transaction.
    pub author: Option<&'a str>,
    /// Return what changed in [`ApplyReport::changes`] (for keeping a snapshot in step).
    pub report_changes: bool,
    /// Flush to disk before returning, so the write survives a crash or SIGKILL.
    pub durable: bool,
    /// Check every change and report what would happen, but write nothing.
    pub dry_run: bool,
    /// Called with the number of changes planned so far (for progress bars).
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
}

/// Where a changed record lives in the snapshot: its internal id, the internal ids of a
/// link's two ends, or (for the small tables) its natural key alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Id(u32),
    Link { recommendation: u32, measure: u32 },
    Natural,
}

/// One record a commit created, changed or deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordChange {
    pub key: Key,
    pub at: Location,
    pub before: Option<Stored<Record>>,
    pub after: Option<Stored<Record>>,
}

/// What one commit changed, typed: records with their before and after, and the posting
/// lists it rewrote (an empty list: removed). Applying the records in order, then the
/// lists, turns a snapshot of the store before the commit into one after it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeSet {
    /// The store's commit number after this commit (it counts every commit).
    pub revision: u64,
    pub records: Vec<RecordChange>,
    pub postings: Vec<(Index, RoaringBitmap)>,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.postings.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplyReport {
    pub outcomes: Vec<Outcome>,
    /// With [`ApplyOptions::report_changes`]: what the commit changed.
    pub changes: ChangeSet,
    /// The audit entries written.
    pub history: Vec<HistoryEntry>,
}

impl ApplyReport {
    pub fn created(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Created { .. }))
    }
    pub fn updated(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Updated { .. }))
    }
    pub fn unchanged(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Unchanged { .. }))
    }
    pub fn deleted(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Deleted { .. }))
    }
    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(o)).count()
    }
}

impl Store {
    /// Applies every change atomically, or none of them: as one sled transaction, or past
    /// [`super::journal::SINGLE_TRANSACTION_MAX_WRITES`] writes through the undo journal.
    ///
    /// Later changes see earlier ones (a dataset's recommendations may refer to the sessions
    /// just before them). On any invalid change nothing is written and every problem is
    /// returned in [`StoreError::Rejected`].
    ///
    /// On a replicated store a write that lost a race to another server's plans again. For
    /// [`TURNS_AFTER_A_LOSS`] after such a loss, this process's writes take turns with the
    /// other servers' (see `etcd`), and so does a write that finds another writer holding
    /// or waiting for a turn; a writer keeps its turn for the writers queued behind it, up
    /// to [`TURN_WRITES`] writes, then hands it on.
    pub fn apply(&self, changes: Vec<Change>, options: ApplyOptions<'_>) -> Result<ApplyReport> {
        use std::sync::atomic::Ordering;
        let w = &self.writer;
        w.waiting.fetch_add(1, Ordering::SeqCst);
        // A poisoned lock only means another writer panicked; its transaction never committed.
        let guard = w.lock.lock().unwrap_or_else(|p| p.into_inner());
        w.waiting.fetch_sub(1, Ordering::SeqCst);
        // On a replicated store that other servers write to at the same moment: this process's
        // turn (see `etcd`), kept for this write by the one before it, or taken now.
        let mut turn = w.turn.lock().unwrap_or_else(|p| p.into_inner()).take();
        if turn.is_none() && self.lost_a_race_lately() {
            turn = self.take_turn();
        }
        let result = self.apply_planned(&changes, &options, &mut turn);
        // The turn is kept for a writer queued behind this one, for a few writes; otherwise
        // it is handed back, so the other servers' writers get theirs in order.
        if let Some((t, served)) = turn {
            if served + 1 < TURN_WRITES && w.waiting.load(Ordering::SeqCst) > 0 {
                *w.turn.lock().unwrap_or_else(|p| p.into_inner()) = Some((t, served + 1));
            }
        }
        drop(guard);
        result
    }

    /// Whether a write of this process lost a race to another's within [`TURNS_AFTER_A_LOSS`].
    fn lost_a_race_lately(&self) -> bool {
        self.writer
            .lost
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|at| at.elapsed() < TURNS_AFTER_A_LOSS)
    }

    /// This process's turn to write, when the engine is shared and turns are on.
    fn take_turn(&self) -> Option<(super::engine::Turn, u32)> {
        if !self.writer.turns.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        let turn = self.engine.write_turn()?;
        self.writer
            .turns_taken
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some((turn, 0))
    }

    fn apply_planned(
        &self,
        changes: &[Change],
        options: &ApplyOptions<'_>,
        turn: &mut Option<(super::engine::Turn, u32)>,
    ) -> Result<ApplyReport> {
        let mut attempt = 1;
        let started = std::time::Instant::now();
        loop {
            // On a remote engine, a large write is planned against all of the store read in
            // one go, not one round trip per key it looks at; a small one against a view at
            // one revision, whose reads any member answers without a consensus round each.
            let view = match changes.len() >= BULK_CHANGES {
                true => self.bulk_view()?,
                false => self.writer_view()?,
            };
            // Other writers take turns: this one waits for its own, then plans on what the
            // store holds once it has it.
            if turn.is_none() && view.as_ref().is_some_and(|v| v.engine.turns_asked()) {
                *turn = self.take_turn();
                if turn.is_some() {
                    continue;
                }
            }
            let planner = view.as_ref().unwrap_or(self);
            match planner.plan_and_commit(changes, options)? {
                Ok(report) => {
                    if options.durable {
                        self.flush()?;
                    }
                    return Ok(report);
                }
                // What the plan read changed under it (another process wrote): plan again.
                Err(CommitError::Conflict { tree, key })
                    if attempt < MAX_ATTEMPTS
                        || (self.is_replicated() && started.elapsed() < CONTENDED_PATIENCE) =>
                {
                    tracing::debug!(
                        tree = tree.name(),
                        key = %String::from_utf8_lossy(&key),
                        attempt,
                        "write raced another; planning again"
                    );
                    if self.is_replicated() {
                        *self.writer.lost.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(std::time::Instant::now());
                        self.writer
                            .races_lost
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if turn.is_none() {
                            *turn = self.take_turn();
                        }
                        // Without a turn, a writer that keeps losing steps aside for a moment
                        // instead of racing again at once.
                        if turn.is_none() && attempt >= 3 {
                            let ms = 2u64 << attempt.min(5);
                            std::thread::sleep(std::time::Duration::from_millis(
                                rand::random::<u64>() % ms,
                            ));
                        }
                    }
                    attempt += 1;
                }
                Err(e) => return Err(e.into_store()),
            }
        }
    }

    fn plan_and_commit(
        &self,
        changes: &[Change],
        options: &ApplyOptions<'_>,
    ) -> Result<Result<ApplyReport, CommitError>> {
        let mut plan = Plan::new(self)?;
        plan.author = options.author.map(str::to_owned);
        plan.report = options.report_changes;
        let mut outcomes = Vec::with_capacity(changes.len());
        let mut rejections = vec![];
        for (i, change) in changes.iter().enumerate() {
            let result = match change {
                Change::Put {
                    record,
                    expected_version,
                } => plan.put(record, *expected_version)?,
                Change::Delete {
                    key,
                    expected_version,
                } => plan.delete(key, *expected_version)?,
                Change::Audit(entry) => plan.restore_entry(entry)?,
            };
            match result {
                Ok(o) => outcomes.push(o),
                Err(refusals) => rejections.extend(
                    refusals
                        .into_iter()
                        .map(|refusal| Rejection { change: i, refusal }),
                ),
            }
            if let Some(p) = options.progress {
                if i % 1024 == 0 {
                    p(i as u64);
                }
            }
        }
        if !rejections.is_empty() {
            return Err(StoreError::Rejected(rejections));
        }
        if options.dry_run {
            return Ok(Ok(ApplyReport {
                outcomes,
                ..ApplyReport::default()
            }));
        }
        Ok(plan.commit().map(|(changes, history)| ApplyReport {
            outcomes,
            changes,
            history,
        }))
    }
}

/// Writes of at least this many changes are planned against a bulk read of the store
/// ([`super::engine::Engine::bulk`]) when its engine is remote.
const BULK_CHANGES: usize = 256;

/// On a replicated store: how many writes of one process one turn serves, at most, when
/// writers are queued behind each other (see [`Store::apply`]).
const TURN_WRITES: u32 = 8;
/// On a replicated store: how long after a lost race this process's writes take turns.
const TURNS_AFTER_A_LOSS: std::time::Duration = std::time::Duration::from_secs(5);

/// How many times a write is planned again after losing a race to another writer.
const MAX_ATTEMPTS: u32 = 16;
/// On a replicated store, where every server's writers race each other: how long a write
/// keeps planning again, however many races it lost, before it gives up
/// ([`StoreError::Contended`]).
const CONTENDED_PATIENCE: std::time::Duration = std::time::Duration::from_secs(15);

/// The meta key counting commits: every write reads it and bumps it, and commits only if
/// it is unchanged, so writers are serialised by the engine itself, whatever else they
/// read (scans included).
pub(super) const REVISION: &[u8] = b"revision";

type Problems = Vec<Refusal>;

/// One index entry: a posting list's key in the `index` tree, and one target in it.
pub(super) type Entry = (Vec<u8>, u32);

/// The store as it will be once the changes planned so far are written: reads see the
/// pending writes first. Built fresh (empty) it is simply a read view, which is how the
/// integrity check shares the rules below.
pub(super) struct Plan<'s> {
    store: &'s Store,
    /// The writes planned so far, and what they rest on.
    ws: WriteSet,
    /// The store's revision when planning began.
    revision: u64,
    /// Whether to collect the typed changes.
    report: bool,
    changes: Vec<RecordChange>,
    /// Posting lists read or changed so far, by `index` key, and whether they changed.
    lists: BTreeMap<Vec<u8>, (RoaringBitmap, bool)>,
    counts: HashMap<Entity, i64>,
    next_ids: HashMap<RefKind, u32>,
    /// Set when changes are audited.
    author: Option<String>,
    /// Audit entries to write, their time and sequence number still to be assigned.
    pending_history: Vec<HistoryEntry>,
    /// Entries restored as they are, and the sequence number after the largest of them.
    restored_seq: u64,
}

fn next_id_key(kind: RefKind) -> Vec<u8> {
    format!("next-id/{}", kind as u8).into_bytes()
}

impl<'s> Plan<'s> {
    pub(super) fn new(store: &'s Store) -> Result<Self> {
        let seen = store.engine.get(TreeId::Meta, REVISION)?;
        let revision = seen
            .as_deref()
            .and_then(|v| v.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        let mut ws = WriteSet::new();
        ws.expect(TreeId::Meta, REVISION.to_vec(), seen);
        Ok(Plan {
            store,
            ws,
            revision,
            report: false,
            changes: vec![],
            lists: BTreeMap::new(),
            counts: HashMap::new(),
            next_ids: HashMap::new(),
            author: None,
            pending_history: vec![],
            restored_seq: 0,
        })
    }

    fn get(&self, t: TreeId, k: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(v) = self.ws.writes[t as usize].get(k) {
            return Ok(v.clone());
        }
        Ok(self.store.engine.get(t, k)?.map(|v| v.to_vec()))
    }

    fn exists(&self, t: TreeId, k: &[u8]) -> Result<bool> {
        if let Some(v) = self.ws.writes[t as usize].get(k) {
            return Ok(v.is_some());
        }
        self.store.engine.contains(t, k)
    }

    fn set(&mut self, t: TreeId, k: Vec<u8>, v: Vec<u8>) {
        self.ws.set(t, k, v);
    }

    fn del(&mut self, t: TreeId, k: Vec<u8>) {
        self.ws.remove(t, k);
    }

    /// Keys under a prefix, the pending writes included, ascending.
    fn keys_with_prefix(&self, t: TreeId, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut keys: BTreeSet<Vec<u8>> = BTreeSet::new();
        for kv in self.store.engine.prefix(t, prefix) {
            keys.insert(kv?.0.to_vec());
        }
        for (k, v) in self.ws.writes[t as usize].range(prefix.to_vec()..) {
            if !k.starts_with(prefix) {
                break;
            }
            if v.is_some() {
                keys.insert(k.clone());
            } else {
                keys.remove(k);
            }
        }
        Ok(keys.into_iter().collect())
    }

    /// A posting list as planned so far.
    pub(super) fn postings(&self, index: &Index) -> Result<RoaringBitmap> {
        let key = index.key();
        if let Some((list, _)) = self.lists.get(&key) {
            return Ok(list.clone());
        }
        self.store.stored_postings(&key)
    }

    fn list_mut(&mut self, key: Vec<u8>) -> Result<&mut RoaringBitmap> {
        let list = match self.lists.entry(key) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let stored = self.store.stored_postings(e.key())?;
                e.insert((stored, false))
            }
        };
        list.1 = true;
        Ok(&mut list.0)
    }

    fn unindex(&mut self, entries: impl IntoIterator<Item = Entry>) -> Result<()> {
        for (key, target) in entries {
            self.list_mut(key)?.remove(target);
        }
        Ok(())
    }

    fn index(&mut self, entries: impl IntoIterator<Item = Entry>) -> Result<()> {
        for (key, target) in entries {
            self.list_mut(key)?.insert(target);
        }
        Ok(())
    }

    pub(super) fn id(&self, kind: RefKind, r: &Ref) -> Result<Option<u32>> {
        Ok(self
            .get(TreeId::Refs, &ref_key(kind, r))?
            .and_then(|v| decode_id(&v)))
    }

    fn allocate(&mut self, kind: RefKind) -> Result<u32> {
        let next = match self.next_ids.get(&kind) {
            Some(&n) => n,
            None => self
                .get(TreeId::Meta, &next_id_key(kind))?
                .and_then(|v| decode_id(&v))
                .unwrap_or(0),
        };
        self.next_ids.insert(kind, next + 1);
        Ok(next)
    }

    fn session(&self, n: SessionNumber) -> Result<Option<Session>> {
        Ok(match self.get(TreeId::Sessions, &session_key(n))? {
            Some(v) => match Record::decode(Entity::Session, &v)?.record {
                Record::Session(s) => Some(s),
                _ => None,
            },
            None => None,
        })
    }

    /// Where a record of this key lives: its tree and key bytes. Ids of refs that are not
    /// stored yet are allocated when `allocate` is set, else the location is `None`.
    fn locate(&mut self, key: &Key, allocate: bool) -> Result<Option<(TreeId, Vec<u8>)>> {
        let tree = super::tree_of(key.entity());
        let by_ref = |plan: &mut Self, kind, r| -> Result<Option<Vec<u8>>> {
            Ok(match plan.id(kind, r)? {
                Some(id) => Some(id_key(id).to_vec()),
                None if allocate => {
                    let id = plan.allocate(kind)?;
                    plan.set(TreeId::Refs, ref_key(kind, r), id_key(id).to_vec());
                    Some(id_key(id).to_vec())
                }
                None => None,
            })
        };
        let k = match key {
            Key::Country(c) => Some(country_key(*c).to_vec()),
            Key::Cycle(n) => Some(cycle_key(*n).to_vec()),
            Key::Session(n) => Some(session_key(*n).to_vec()),
            Key::Theme(s) | Key::Group(s) => Some(s.as_str().as_bytes().to_vec()),
            Key::Sdg(g) => Some(sdg_key(*g).to_vec()),
            Key::MeasureCategory(c) => Some(category_key(*c).to_vec()),
            Key::Recommendation(r) => by_ref(self, RefKind::Recommendation, r)?,
            Key::Measure(r) => by_ref(self, RefKind::Measure, r)?,
            Key::GoodPractice(r) => by_ref(self, RefKind::GoodPractice, r)?,
            Key::Concern(r) => by_ref(self, RefKind::Concern, r)?,
            Key::Action(r) => by_ref(self, RefKind::Action, r)?,
            Key::Link(LinkKey {
                recommendation,
                measure,
            }) => match (
                self.id(RefKind::Recommendation, recommendation)?,
                self.id(RefKind::Measure, measure)?,
            ) {
                (Some(r), Some(m)) => Some(link_key(r, m).to_vec()),
                _ => None,
            },
        };
        Ok(k.map(|k| (tree, k)))
    }

    /// The index entries a record produces: the one rule that both writes and the integrity
    /// check follow. `at` is the record's storage key.
    pub(super) fn derived_entries(&self, record: &Record, at: &[u8]) -> Result<Vec<Entry>> {
        use Index as I;
        let mut out = vec![];
        let mut add = |i: I, target: u32| out.push((i.key(), target));
        match record {
            Record::Session(s) => {
                let n = s.number.get() as u32;
                add(I::CycleSessions(s.cycle), n);
                for &c in &s.states_under_review {
                    add(I::CountryReviews(c), n);
                }
            }
            Record::Recommendation(r) => {
                let id = decode_id(at).unwrap_or_default();
                add(I::RecommendationsReceived(r.state_under_review), id);
                for &c in &r.recommending_states {
                    add(I::RecommendationsMade(c), id);
                }
                add(I::SessionRecommendations(r.session), id);
                add(I::RecommendationsByResponse(r.response), id);
                if let Some(a) = r.action_category {
                    add(I::RecommendationsByAction(a), id);
                }
                for t in &r.themes {
                    add(I::RecommendationsByTheme(t.clone()), id);
                }
                for g in &r.groups {
                    add(I::RecommendationsByGroup(g.clone()), id);
                }
                for &g in &r.sdgs {
                    add(I::RecommendationsBySdg(g), id);
                }
            }
            Record::Measure(m) => {
                let id = decode_id(at).unwrap_or_default();
                add(I::MeasuresByCountry(m.country), id);
                add(I::MeasuresByCategory(m.category), id);
                for t in &m.themes {
                    add(I::MeasuresByTheme(t.clone()), id);
                }
                for g in &m.groups {
                    add(I::MeasuresByGroup(g.clone()), id);
                }
                for &g in &m.sdgs {
                    add(I::MeasuresBySdg(g), id);
                }
            }
            Record::GoodPractice(p) => {
                let id = decode_id(at).unwrap_or_default();
                for &c in &p.countries {
                    add(I::GoodPracticesByCountry(c), id);
                }
                for t in &p.themes {
                    add(I::GoodPracticesByTheme(t.clone()), id);
                }
                for g in &p.groups {
                    add(I::GoodPracticesByGroup(g.clone()), id);
                }
                for &g in &p.sdgs {
                    add(I::GoodPracticesBySdg(g), id);
                }
                for m in &p.measures {
                    if let Some(m) = self.id(RefKind::Measure, m)? {
                        add(I::GoodPracticesByMeasure(m), id);
                    }
                }
                for r in &p.recommendations {
                    if let Some(r) = self.id(RefKind::Recommendation, r)? {
                        add(I::GoodPracticesByRecommendation(r), id);
                    }
                }
            }
            Record::Concern(c) => {
                let id = decode_id(at).unwrap_or_default();
                for &country in &c.countries {
                    add(I::ConcernsByCountry(country), id);
                }
                add(I::ConcernsByKind(c.kind), id);
                add(I::ConcernsBySeverity(c.severity), id);
                for t in &c.themes {
                    add(I::ConcernsByTheme(t.clone()), id);
                }
                for g in &c.groups {
                    add(I::ConcernsByGroup(g.clone()), id);
                }
                for &g in &c.sdgs {
                    add(I::ConcernsBySdg(g), id);
                }
                for m in &c.measures {
                    if let Some(m) = self.id(RefKind::Measure, m)? {
                        add(I::ConcernsByMeasure(m), id);
                    }
                }
                for r in &c.recommendations {
                    if let Some(r) = self.id(RefKind::Recommendation, r)? {
                        add(I::ConcernsByRecommendation(r), id);
                    }
                }
            }
            Record::Action(a) => {
                let id = decode_id(at).unwrap_or_default();
                for &country in &a.countries {
                    add(I::ActionsByCountry(country), id);
                }
                add(I::ActionsByKind(a.kind), id);
                for t in &a.themes {
                    add(I::ActionsByTheme(t.clone()), id);
                }
                for g in &a.groups {
                    add(I::ActionsByGroup(g.clone()), id);
                }
                for &g in &a.sdgs {
                    add(I::ActionsBySdg(g), id);
                }
                for c in &a.concerns {
                    if let Some(c) = self.id(RefKind::Concern, c)? {
                        add(I::ActionsByConcern(c), id);
                    }
                }
                for m in &a.measures {
                    if let Some(m) = self.id(RefKind::Measure, m)? {
                        add(I::ActionsByMeasure(m), id);
                    }
                }
                for r in &a.recommendations {
                    if let Some(r) = self.id(RefKind::Recommendation, r)? {
                        add(I::ActionsByRecommendation(r), id);
                    }
                }
            }
            Record::Link(_) => {
                if let Some((r, m)) = decode_link_key(at) {
                    add(I::LinksByMeasure(m), r);
                }
            }
            Record::Country(_)
            | Record::Cycle(_)
            | Record::Theme(_)
            | Record::Group(_)
            | Record::Sdg(_)
            | Record::MeasureCategory(_) => {}
        }
        Ok(out)
    }

    /// Every reference of the record that does not resolve, and the cross-record invariants
    /// it breaks, as messages naming the field.
    pub(super) fn broken_references(&self, record: &Record) -> Result<Problems> {
        let mut p = vec![];
        let country = |p: &mut Problems, field: &str, c: CountryCode| -> Result<()> {
            if !self.exists(TreeId::Countries, &country_key(c))? {
                p.push(Refusal::unresolved(
                    field,
                    format!(
                        "{field}={:?} does not resolve (no such country)",
                        c.as_str()
                    ),
                ));
            }
            Ok(())
        };
        let slugs =
            |p: &mut Problems, field: &str, t: TreeId, what: &str, v: &[Slug]| -> Result<()> {
                for s in v {
                    if !self.exists(t, s.as_str().as_bytes())? {
                        p.push(Refusal::unresolved(
                            field,
                            format!("{field}: unknown {what} slug {:?}", s.as_str()),
                        ));
                    }
                }
                Ok(())
            };
        let sdgs = |p: &mut Problems, v: &[SdgGoal]| -> Result<()> {
            for &g in v {
                if !self.exists(TreeId::Sdgs, &sdg_key(g))? {
                    p.push(Refusal::unresolved(
                        "sdgs",
                        format!("sdgs: unknown SDG goal {g}"),
                    ));
                }
            }
            Ok(())
        };
        let refs =
            |p: &mut Problems, field: &str, kind: RefKind, what: &str, v: &[Ref]| -> Result<()> {
                for r in v {
                    if self.id(kind, r)?.is_none() {
                        p.push(Refusal::unresolved(
                            field,
                            format!("{field}={:?} does not resolve (no such {what})", r.as_str()),
                        ));
                    }
                }
                Ok(())
            };
        match record {
            Record::Country(_) | Record::Cycle(_) | Record::Group(_) | Record::Sdg(_) => {}
            Record::Theme(t) => sdgs(&mut p, &t.sdgs)?,
            Record::MeasureCategory(c) => {
                slugs(&mut p, "themes", TreeId::Themes, "theme", &c.themes)?
            }
            Record::Session(s) => {
                if !self.exists(TreeId::Cycles, &cycle_key(s.cycle))? {
                    p.push(Refusal::unresolved(
                        "cycle",
                        format!("cycle={} does not resolve (no such cycle)", s.cycle),
                    ));
                }
                for &c in &s.states_under_review {
                    country(&mut p, "states_under_review", c)?;
                }
            }
            Record::Recommendation(r) => {
                country(&mut p, "state_under_review", r.state_under_review)?;
                for &c in &r.recommending_states {
                    country(&mut p, "recommending_states", c)?;
                }
                match self.session(r.session)? {
                    None => p.push(Refusal::unresolved(
                        "session",
                        format!("session={} does not resolve (no such session)", r.session),
                    )),
                    Some(s) if !s.states_under_review.contains(&r.state_under_review) => {
                        p.push(Refusal::invalid(
                            "state_under_review",
                            format!(
                                "state_under_review={:?} is not among the states_under_review of session {}",
                                r.state_under_review.as_str(),
                                r.session
                            ),
                        ))
                    }
                    Some(_) => {}
                }
                slugs(&mut p, "themes", TreeId::Themes, "theme", &r.themes)?;
                slugs(&mut p, "groups", TreeId::Groups, "group", &r.groups)?;
                sdgs(&mut p, &r.sdgs)?;
            }
            Record::Measure(m) => {
                country(&mut p, "country", m.country)?;
                if !self.exists(TreeId::MeasureCategories, &category_key(m.category))? {
                    p.push(Refusal::unresolved(
                        "category",
                        format!(
                            "category={:?} does not resolve (not in taxonomy/measure_categories)",
                            m.category.as_str()
                        ),
                    ));
                }
                slugs(&mut p, "themes", TreeId::Themes, "theme", &m.themes)?;
                slugs(&mut p, "groups", TreeId::Groups, "group", &m.groups)?;
                sdgs(&mut p, &m.sdgs)?;
            }
            Record::GoodPractice(g) => {
                for &c in &g.countries {
                    country(&mut p, "countries", c)?;
                }
                slugs(&mut p, "themes", TreeId::Themes, "theme", &g.themes)?;
                slugs(&mut p, "groups", TreeId::Groups, "group", &g.groups)?;
                sdgs(&mut p, &g.sdgs)?;
                refs(&mut p, "measures", RefKind::Measure, "measure", &g.measures)?;
                refs(
                    &mut p,
                    "recommendations",
                    RefKind::Recommendation,
                    "recommendation",
                    &g.recommendations,
                )?;
            }
            Record::Concern(c) => {
                for &code in &c.countries {
                    country(&mut p, "countries", code)?;
                }
                slugs(&mut p, "themes", TreeId::Themes, "theme", &c.themes)?;
                slugs(&mut p, "groups", TreeId::Groups, "group", &c.groups)?;
                sdgs(&mut p, &c.sdgs)?;
                refs(&mut p, "measures", RefKind::Measure, "measure", &c.measures)?;
                refs(
                    &mut p,
                    "recommendations",
                    RefKind::Recommendation,
                    "recommendation",
                    &c.recommendations,
                )?;
            }
            Record::Action(a) => {
                for &code in &a.countries {
                    country(&mut p, "countries", code)?;
                }
                slugs(&mut p, "themes", TreeId::Themes, "theme", &a.themes)?;
                slugs(&mut p, "groups", TreeId::Groups, "group", &a.groups)?;
                sdgs(&mut p, &a.sdgs)?;
                refs(&mut p, "concerns", RefKind::Concern, "concern", &a.concerns)?;
                refs(&mut p, "measures", RefKind::Measure, "measure", &a.measures)?;
                refs(
                    &mut p,
                    "recommendations",
                    RefKind::Recommendation,
                    "recommendation",
                    &a.recommendations,
                )?;
            }
            Record::Link(l) => {
                refs(
                    &mut p,
                    "recommendation",
                    RefKind::Recommendation,
                    "recommendation",
                    std::slice::from_ref(&l.recommendation),
                )?;
                refs(
                    &mut p,
                    "measure",
                    RefKind::Measure,
                    "measure",
                    std::slice::from_ref(&l.measure),
                )?;
            }
        }
        Ok(p)
    }

    fn version_conflict(expected: Option<u32>, current: Option<u32>) -> Option<Refusal> {
        let expected = expected?;
        let current = current.unwrap_or(0);
        (expected != current).then(|| {
            Refusal::conflict(
                current,
                format!("version conflict: expected version {expected}, but the stored version is {current}"),
            )
        })
    }

    fn put(&mut self, record: &Record, expected: Option<u32>) -> Result<Result<Outcome, Problems>> {
        let mut problems = record.problems();
        // A list over its limit is not looked up entry by entry.
        if !problems
            .iter()
            .any(|p| matches!(p.kind, RefusalKind::TooMany { .. }))
        {
            problems.extend(self.broken_references(record)?);
        }
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        let kind = record.entity();
        let key = record.key();
        if let Record::Session(s) = record {
            problems.extend(self.orphaned_reviews(s)?);
        }
        // Links need both ends resolved; broken_references has just checked they exist.
        let Some((tree, at)) = self.locate(&key, true)? else {
            return Ok(Err(vec![Refusal::new(
                RefusalKind::Invalid,
                None,
                format!("{key} cannot be located"),
            )]));
        };
        let old = self
            .get(tree, &at)?
            .map(|v| Record::decode(kind, &v))
            .transpose()?;
        if let Some(conflict) = Self::version_conflict(expected, old.as_ref().map(|o| o.version)) {
            problems.push(conflict);
        }
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        if let Some(old) = &old {
            if old.record == *record {
                return Ok(Ok(Outcome::Unchanged {
                    version: old.version,
                }));
            }
        }
        let new_entries: BTreeSet<Entry> = self.derived_entries(record, &at)?.into_iter().collect();
        let old_entries: BTreeSet<Entry> = match &old {
            Some(o) => self.derived_entries(&o.record, &at)?.into_iter().collect(),
            None => BTreeSet::new(),
        };
        self.unindex(old_entries.difference(&new_entries).cloned())?;
        self.index(new_entries.difference(&old_entries).cloned())?;
        let version = old.as_ref().map_or(1, |o| o.version + 1);
        self.audit(
            &key,
            version,
            old.as_ref().map(|o| &o.record),
            Some(record),
            None,
        );
        let existed = old.is_some();
        if self.report {
            self.changes.push(RecordChange {
                at: location(kind, &at),
                key,
                before: old,
                after: Some(Stored {
                    version,
                    record: record.clone(),
                }),
            });
        }
        self.set(tree, at, record.encode(version));
        Ok(Ok(if existed {
            Outcome::Updated { version }
        } else {
            *self.counts.entry(kind).or_default() += 1;
            Outcome::Created { version }
        }))
    }

    /// A session update may not drop a State that still has recommendations in it.
    fn orphaned_reviews(&self, s: &Session) -> Result<Problems> {
        let Some(old) = self.session(s.number)? else {
            return Ok(vec![]);
        };
        let in_session = self.postings(&Index::SessionRecommendations(s.number))?;
        let mut p = vec![];
        for c in old
            .states_under_review
            .iter()
            .filter(|c| !s.states_under_review.contains(c))
        {
            let n = self
                .postings(&Index::RecommendationsReceived(*c))?
                .intersection_len(&in_session);
            if n > 0 {
                p.push(Refusal::new(
                    RefusalKind::StillReferenced {
                        by: format!("{n} recommendation(s) in session {}", s.number),
                    },
                    Some("states_under_review"),
                    format!(
                        "states_under_review: cannot drop {c}, which received {n} recommendation(s) in session {}",
                        s.number
                    ),
                ));
            }
        }
        Ok(p)
    }

    fn delete(&mut self, key: &Key, expected: Option<u32>) -> Result<Result<Outcome, Problems>> {
        let kind = key.entity();
        let Some((tree, at)) = self.locate(key, false)? else {
            return Ok(Err(vec![Refusal::not_found(format!("no {key} to delete"))]));
        };
        let Some(old) = self
            .get(tree, &at)?
            .map(|v| Record::decode(kind, &v))
            .transpose()?
        else {
            return Ok(Err(vec![Refusal::not_found(format!("no {key} to delete"))]));
        };
        let mut problems = vec![];
        if let Some(conflict) = Self::version_conflict(expected, Some(old.version)) {
            problems.push(conflict);
        }
        problems.extend(self.references_to(key, &at)?);
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        let mut cascaded_links = 0;
        let doomed_links: Vec<Vec<u8>> = match key {
            Key::Recommendation(_) => self.keys_with_prefix(TreeId::Links, &at)?,
            Key::Measure(_) => {
                let m = decode_id(&at).unwrap_or_default();
                self.postings(&Index::LinksByMeasure(m))?
                    .iter()
                    .map(|r| link_key(r, m).to_vec())
                    .collect()
            }
            _ => vec![],
        };
        for link_at in doomed_links {
            if let Some(v) = self.get(TreeId::Links, &link_at)? {
                let link = Record::decode(Entity::Link, &v)?;
                self.remove(&link.record.key(), TreeId::Links, link_at, &link)?;
                self.audit(
                    &link.record.key(),
                    link.version,
                    Some(&link.record),
                    None,
                    Some(format!("deleted with {key}")),
                );
                cascaded_links += 1;
            }
        }
        self.audit(key, old.version, Some(&old.record), None, None);
        self.remove(key, tree, at, &old)?;
        match key {
            Key::Recommendation(r) => self.del(TreeId::Refs, ref_key(RefKind::Recommendation, r)),
            Key::Measure(r) => self.del(TreeId::Refs, ref_key(RefKind::Measure, r)),
            Key::GoodPractice(r) => self.del(TreeId::Refs, ref_key(RefKind::GoodPractice, r)),
            Key::Concern(r) => self.del(TreeId::Refs, ref_key(RefKind::Concern, r)),
            Key::Action(r) => self.del(TreeId::Refs, ref_key(RefKind::Action, r)),
            _ => {}
        }
        Ok(Ok(Outcome::Deleted { cascaded_links }))
    }

    fn remove(&mut self, key: &Key, tree: TreeId, at: Vec<u8>, old: &Stored<Record>) -> Result<()> {
        let entries = self.derived_entries(&old.record, &at)?;
        self.unindex(entries)?;
        let kind = key.entity();
        *self.counts.entry(kind).or_default() -= 1;
        if self.report {
            self.changes.push(RecordChange {
                key: key.clone(),
                at: location(kind, &at),
                before: Some(old.clone()),
                after: None,
            });
        }
        self.del(tree, at);
        Ok(())
    }

    /// Why a record cannot be deleted: the records that still refer to it (links excepted,
    /// which are deleted with their recommendation or measure).
    fn references_to(&self, key: &Key, at: &[u8]) -> Result<Problems> {
        use Index as I;
        let id = decode_id(at).unwrap_or_default();
        let checks: Vec<(I, &str)> = match key {
            Key::Country(c) => vec![
                (
                    I::RecommendationsReceived(*c),
                    "recommendation(s) it received",
                ),
                (I::RecommendationsMade(*c), "recommendation(s) it made"),
                (I::MeasuresByCountry(*c), "measure(s) it took"),
                (I::GoodPracticesByCountry(*c), "good practice(s)"),
                (I::ConcernsByCountry(*c), "concern(s)"),
                (I::ActionsByCountry(*c), "action(s)"),
                (I::CountryReviews(*c), "session(s) that reviewed it"),
            ],
            Key::Cycle(n) => vec![(I::CycleSessions(*n), "session(s) of the cycle")],
            Key::Session(n) => vec![(
                I::SessionRecommendations(*n),
                "recommendation(s) made in it",
            )],
            Key::Recommendation(_) => vec![
                (
                    I::GoodPracticesByRecommendation(id),
                    "good practice(s) that cite it",
                ),
                (I::ConcernsByRecommendation(id), "concern(s) that cite it"),
                (
                    I::ActionsByRecommendation(id),
                    "action(s) that follow it up",
                ),
            ],
            Key::Measure(_) => vec![
                (
                    I::GoodPracticesByMeasure(id),
                    "good practice(s) that cite it",
                ),
                (I::ConcernsByMeasure(id), "concern(s) it mitigates"),
                (I::ActionsByMeasure(id), "action(s) that supported it"),
            ],
            Key::Concern(_) => vec![(I::ActionsByConcern(id), "action(s) that address it")],
            Key::Theme(s) => vec![
                (I::RecommendationsByTheme(s.clone()), "recommendation(s)"),
                (I::MeasuresByTheme(s.clone()), "measure(s)"),
                (I::GoodPracticesByTheme(s.clone()), "good practice(s)"),
                (I::ConcernsByTheme(s.clone()), "concern(s)"),
                (I::ActionsByTheme(s.clone()), "action(s)"),
            ],
            Key::Group(s) => vec![
                (I::RecommendationsByGroup(s.clone()), "recommendation(s)"),
                (I::MeasuresByGroup(s.clone()), "measure(s)"),
                (I::GoodPracticesByGroup(s.clone()), "good practice(s)"),
                (I::ConcernsByGroup(s.clone()), "concern(s)"),
                (I::ActionsByGroup(s.clone()), "action(s)"),
            ],
            Key::Sdg(g) => vec![
                (I::RecommendationsBySdg(*g), "recommendation(s)"),
                (I::MeasuresBySdg(*g), "measure(s)"),
                (I::GoodPracticesBySdg(*g), "good practice(s)"),
                (I::ConcernsBySdg(*g), "concern(s)"),
                (I::ActionsBySdg(*g), "action(s)"),
            ],
            Key::MeasureCategory(c) => vec![(I::MeasuresByCategory(*c), "measure(s)")],
            Key::GoodPractice(_) | Key::Action(_) | Key::Link(_) => vec![],
        };
        let mut p = vec![];
        for (index, what) in checks {
            let n = self.postings(&index)?.len();
            if n > 0 {
                p.push(Refusal::new(
                    RefusalKind::StillReferenced {
                        by: format!("{n} {what}"),
                    },
                    None,
                    format!(
                        "{key} is still referenced by {n} {what}; change or delete those first"
                    ),
                ));
            }
        }
        // The taxonomy's own crosswalks refer to themes and SDGs.
        match key {
            Key::Theme(s) => {
                for k in self.keys_with_prefix(TreeId::MeasureCategories, &[])? {
                    if let Some(v) = self.get(TreeId::MeasureCategories, &k)? {
                        if let Record::MeasureCategory(c) =
                            Record::decode(Entity::MeasureCategory, &v)?.record
                        {
                            if c.themes.contains(s) {
                                let by = format!("measure category {}", c.code);
                                p.push(Refusal::new(
                                    RefusalKind::StillReferenced { by: by.clone() },
                                    None,
                                    format!("{key} is still listed by {by}"),
                                ));
                            }
                        }
                    }
                }
            }
            Key::Sdg(g) => {
                for k in self.keys_with_prefix(TreeId::Themes, &[])? {
                    if let Some(v) = self.get(TreeId::Themes, &k)? {
                        if let Record::Theme(t) = Record::decode(Entity::Theme, &v)?.record {
                            if t.sdgs.contains(g) {
                                let by = format!("theme {}", t.slug);
                                p.push(Refusal::new(
                                    RefusalKind::StillReferenced { by: by.clone() },
                                    None,
                                    format!("{key} is still mapped from {by}"),
                                ));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(p)
    }

    /// Queues the audit entry of one change (when changes are audited).
    fn audit(
        &mut self,
        key: &Key,
        version: u32,
        before: Option<&Record>,
        after: Option<&Record>,
        note: Option<String>,
    ) {
        let Some(author) = &self.author else {
            return;
        };
        let change = match (before, after) {
            (None, _) => ChangeKind::Created,
            (Some(_), Some(_)) => ChangeKind::Updated,
            (Some(_), None) => ChangeKind::Deleted,
        };
        self.pending_history.push(HistoryEntry {
            seq: 0,
            at: Timestamp::now(),
            author: author.clone(),
            entity: key.entity(),
            key: key.history_key(),
            change,
            version,
            before: before.map(Record::to_json),
            after: after.map(Record::to_json),
            note,
        });
    }

    /// Writes an entry of an imported audit trail as it is.
    fn restore_entry(&mut self, entry: &HistoryEntry) -> Result<Result<Outcome, Problems>> {
        let problems = entry.problems();
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        let at = history::history_key(entry.at, entry.seq);
        let value = codec::encode(&Stored {
            version: 1,
            record: entry,
        });
        if self.get(TreeId::History, &at)?.as_deref() == Some(value.as_slice()) {
            return Ok(Ok(Outcome::Unchanged { version: 1 }));
        }
        self.set(
            TreeId::HistoryIndex,
            history::index_key(entry.entity, &entry.key, &at),
            vec![],
        );
        self.set(TreeId::History, at.to_vec(), value);
        self.restored_seq = self.restored_seq.max(entry.seq + 1);
        Ok(Ok(Outcome::Created { version: 1 }))
    }

    /// Gives the queued audit entries their sequence numbers and strictly increasing times,
    /// and plans their writes.
    fn write_history(&mut self) -> Result<Vec<HistoryEntry>> {
        let read_u64 = |plan: &Self, k: &[u8]| -> Result<u64> {
            Ok(plan
                .get(TreeId::Meta, k)?
                .and_then(|v| v.as_slice().try_into().ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0))
        };
        let stored_seq = read_u64(self, history::NEXT_SEQ)?;
        let mut seq = stored_seq.max(self.restored_seq);
        if self.pending_history.is_empty() {
            if seq != stored_seq {
                self.set(
                    TreeId::Meta,
                    history::NEXT_SEQ.to_vec(),
                    seq.to_be_bytes().to_vec(),
                );
            }
            return Ok(vec![]);
        }
        let mut last = read_u64(self, history::LAST_AT)? as i64;
        let mut entries = std::mem::take(&mut self.pending_history);
        for e in &mut entries {
            let micros = e.at.unix_micros().max(last + 1);
            e.at = Timestamp::from_unix_micros(micros).unwrap_or(e.at);
            last = micros;
            e.seq = seq;
            seq += 1;
            let at = history::history_key(e.at, e.seq);
            self.set(
                TreeId::HistoryIndex,
                history::index_key(e.entity, &e.key, &at),
                vec![],
            );
            self.set(
                TreeId::History,
                at.to_vec(),
                codec::encode(&Stored {
                    version: 1,
                    record: &*e,
                }),
            );
        }
        self.set(
            TreeId::Meta,
            history::NEXT_SEQ.to_vec(),
            seq.to_be_bytes().to_vec(),
        );
        self.set(
            TreeId::Meta,
            history::LAST_AT.to_vec(),
            (last as u64).to_be_bytes().to_vec(),
        );
        Ok(entries)
    }

    /// Writes everything planned, atomically, if nothing it read has changed since; returns
    /// what changed and the audit entries.
    fn commit(mut self) -> Result<(ChangeSet, Vec<HistoryEntry>), CommitError> {
        let history = self.write_history()?;
        for (kind, delta) in std::mem::take(&mut self.counts) {
            if delta != 0 {
                let now = self.store.count(kind)? as i64 + delta;
                self.set(
                    TreeId::Meta,
                    super::counter_key(kind),
                    (now.max(0) as u64).to_be_bytes().to_vec(),
                );
            }
        }
        let mut postings = vec![];
        for (key, (list, changed)) in std::mem::take(&mut self.lists) {
            if changed {
                let index = match self.report {
                    true => Some(Index::decode_key(&key).ok_or_else(|| StoreError::Corrupt {
                        tree: "index",
                        reason: format!("undecodable planned key {key:?}"),
                    })?),
                    false => None,
                };
                if list.is_empty() {
                    self.del(TreeId::Index, key);
                } else {
                    self.set(TreeId::Index, key, codec::encode_postings(&list));
                }
                if let Some(index) = index {
                    postings.push((index, list));
                }
            }
        }
        for (kind, next) in std::mem::take(&mut self.next_ids) {
            self.set(TreeId::Meta, next_id_key(kind), id_key(next).to_vec());
        }
        let mut changes = ChangeSet {
            revision: self.revision,
            records: std::mem::take(&mut self.changes),
            postings,
        };
        if self.ws.is_empty() {
            // Nothing to write; the reads must still hold for the answer to be current.
            self.store.engine.commit(&self.ws)?;
            return Ok((changes, history));
        }
        changes.revision += 1;
        self.set(
            TreeId::Meta,
            REVISION.to_vec(),
            changes.revision.to_be_bytes().to_vec(),
        );
        self.store.engine.commit(&self.ws)?;
        Ok((changes, history))
    }
}

/// Where the record stored at `at` lives in a snapshot.
pub(super) fn location(entity: Entity, at: &[u8]) -> Location {
    let id = || decode_id(at).map_or(Location::Natural, Location::Id);
    match entity {
        Entity::Link => decode_link_key(at).map_or(Location::Natural, |(r, m)| Location::Link {
            recommendation: r,
            measure: m,
        }),
        Entity::Recommendation
        | Entity::Measure
        | Entity::GoodPractice
        | Entity::Concern
        | Entity::Action => id(),
        _ => Location::Natural,
    }
}
