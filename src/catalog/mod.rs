//! The in-memory read model that the GraphQL API queries: every record, the store's posting
//! lists as roaring bitmaps, natural-key order for cursors, and the full-text indexes.
//!
//! The store is the durable source of truth; a [`Catalog`] is an immutable snapshot of it,
//! built in one pass when the server starts (about a second for the world preset), so a
//! query never waits on disk: filters are bitmap intersections, `totalCount` is a
//! cardinality, facets are intersection counts, and a page is a walk in natural-key order.
//!
//! Writes do not rebuild it: [`Catalog::absorb`] takes what one write changed in the store
//! (its typed [`ChangeSet`]: records with their ids, and posting lists) and applies it to a
//! copy. Every part of a catalog sits behind its own `Arc`, and the big ones (tables, text
//! indexes) are split into chunks and shards behind their own `Arc`s ([`cow`]), so the copy
//! shares everything the write did not touch, a write costs what it changed rather than
//! the size of the table, and readers holding the previous snapshot are never disturbed
//! (copy-on-write with [`Arc::make_mut`]).

pub mod assessments;
pub mod cow;
pub mod page;
pub mod regressions;
pub mod snapshot;
pub mod suggest;
pub mod text;

use std::collections::HashMap;
use std::sync::Arc;

use roaring::RoaringBitmap;

use crate::model::*;
use crate::store::{ChangeSet, Entity, Index, Key, Location, Record, Result, Store, Stored};
use cow::{Chunked, Runs, Sharded};
pub use page::{Page, PageRequest};
use text::{Analyzer, TextIndex};

/// A record with its internal id and version.
#[derive(Debug)]
pub struct Row<T> {
    pub id: u32,
    pub version: u32,
    pub record: T,
}

/// A record with a natural key (its `ref`).
pub trait Keyed {
    fn natural_key(&self) -> &str;
}

impl Keyed for Recommendation {
    fn natural_key(&self) -> &str {
        self.id.as_str()
    }
}

impl Keyed for Measure {
    fn natural_key(&self) -> &str {
        self.id.as_str()
    }
}

impl Keyed for GoodPractice {
    fn natural_key(&self) -> &str {
        self.id.as_str()
    }
}

impl Keyed for Concern {
    fn natural_key(&self) -> &str {
        self.id.as_str()
    }
}

impl Keyed for Action {
    fn natural_key(&self) -> &str {
        self.id.as_str()
    }
}

/// The records of one entity, by internal id, with their natural-key order. Cheap to
/// clone: an edit that keeps the natural key copies one chunk of rows.
#[derive(Clone)]
pub struct Table<T> {
    rows: Chunked<Option<Arc<Row<T>>>>,
    by_ref: Sharded<String, u32>,
    /// Ids in natural-key order.
    order: Arc<Vec<u32>>,
    /// Position of each id in `order` (`u32::MAX` where there is no record).
    rank: Arc<Vec<u32>>,
    pub all: Arc<RoaringBitmap>,
}

impl<T: Keyed> Table<T> {
    fn build(rows: Vec<(u32, Stored<T>)>) -> Table<T> {
        let key = |r: &T| r.natural_key().to_owned();
        let size = rows
            .iter()
            .map(|(id, _)| *id as usize + 1)
            .max()
            .unwrap_or(0);
        let mut table = Table {
            rows: Chunked::new(None),
            by_ref: Sharded::default(),
            order: Arc::default(),
            rank: Arc::new(vec![u32::MAX; size]),
            all: Arc::default(),
        };
        let mut keyed: Vec<(String, u32)> = Vec::with_capacity(rows.len());
        let mut all = RoaringBitmap::new();
        for (id, s) in rows {
            let k = key(&s.record);
            table.by_ref.insert(k.clone(), id);
            keyed.push((k, id));
            all.insert(id);
            table.rows.set(
                id as usize,
                Some(Arc::new(Row {
                    id,
                    version: s.version,
                    record: s.record,
                })),
            );
        }
        keyed.sort_unstable();
        let rank = Arc::make_mut(&mut table.rank);
        let order = Arc::make_mut(&mut table.order);
        order.reserve(keyed.len());
        for (pos, (_, id)) in keyed.into_iter().enumerate() {
            rank[id as usize] = pos as u32;
            order.push(id);
        }
        table.all = Arc::new(all);
        table
    }

    /// Adds or replaces the record with this id.
    fn upsert(&mut self, id: u32, stored: Stored<T>) {
        let row = Arc::new(Row {
            id,
            version: stored.version,
            record: stored.record,
        });
        if let Some(old) = self.get(id) {
            if old.record.natural_key() == row.record.natural_key() {
                // The common edit: one chunk of rows is copied, nothing else.
                self.rows.set(id as usize, Some(row));
                return;
            }
            self.remove(id);
        }
        let size = id as usize + 1;
        let rank = Arc::make_mut(&mut self.rank);
        if rank.len() < size {
            rank.resize(size, u32::MAX);
        }
        let k = row.record.natural_key();
        let rows = &self.rows;
        let pos = self.order.partition_point(|&o| {
            rows.get(o as usize)
                .as_ref()
                .map(|r| r.record.natural_key())
                .unwrap_or("")
                < k
        });
        Arc::make_mut(&mut self.order).insert(pos, id);
        self.by_ref.insert(k.to_owned(), id);
        Arc::make_mut(&mut self.all).insert(id);
        self.rows.set(id as usize, Some(row));
        self.rerank(pos);
    }

    /// Removes the record with this id, returning it.
    fn remove(&mut self, id: u32) -> Option<Arc<Row<T>>> {
        self.get(id)?;
        let row = self.rows.get_mut(id as usize).take()?;
        let pos = self.rank[id as usize] as usize;
        Arc::make_mut(&mut self.order).remove(pos);
        Arc::make_mut(&mut self.rank)[id as usize] = u32::MAX;
        self.by_ref.remove(row.record.natural_key());
        Arc::make_mut(&mut self.all).remove(id);
        self.rerank(pos);
        Some(row)
    }

    fn rerank(&mut self, from: usize) {
        let rank = Arc::make_mut(&mut self.rank);
        for (p, &id) in self.order.iter().enumerate().skip(from) {
            rank[id as usize] = p as u32;
        }
    }
}

impl<T> Table<T> {
    pub fn get(&self, id: u32) -> Option<&Arc<Row<T>>> {
        self.rows.get(id as usize).as_ref()
    }

    pub fn by_ref(&self, r: &str) -> Option<&Arc<Row<T>>> {
        self.by_ref.get(r).and_then(|&id| self.get(id))
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// A page of `set` in natural-key order; cursors are natural keys.
    pub fn page(
        &self,
        set: &RoaringBitmap,
        req: &PageRequest,
        key: impl Fn(&T) -> &str,
    ) -> Page<u32> {
        let position = |cursor: &str| -> std::result::Result<u32, u32> {
            // Where the key is or would be: Err(insertion point) for a deleted record.
            self.order
                .binary_search_by(|&id| {
                    self.get(id)
                        .map(|r| key(&r.record))
                        .unwrap_or("")
                        .cmp(cursor)
                })
                .map(|p| p as u32)
                .map_err(|p| p as u32)
        };
        page::page(&self.order, &self.rank, set, req, position, |id| {
            self.get(id)
                .map(|r| key(&r.record).to_owned())
                .unwrap_or_default()
        })
    }
}

/// A link with the internal ids of its two ends.
#[derive(Debug)]
pub struct LinkRow {
    pub recommendation: u32,
    pub measure: u32,
    pub version: u32,
    pub record: Link,
}

impl LinkRow {
    /// The natural key's text form (a cursor, a global id).
    pub fn key(&self) -> String {
        self.record.key().to_string()
    }
}

/// A snapshot of the store, cheap to copy (every part is shared until written).
#[derive(Clone)]
pub struct Catalog {
    /// How many writes this snapshot has absorbed since it was loaded.
    pub generation: u64,
    pub countries: Arc<Vec<Arc<Row<Country>>>>,
    pub cycles: Arc<Vec<Arc<Row<Cycle>>>>,
    pub sessions: Arc<Vec<Arc<Row<Session>>>>,
    pub themes: Arc<Vec<Theme>>,
    pub groups: Arc<Vec<Group>>,
    pub sdgs: Arc<Vec<Sdg>>,
    pub measure_categories: Arc<Vec<MeasureCategoryInfo>>,
    pub recommendations: Arc<Table<Recommendation>>,
    pub measures: Arc<Table<Measure>>,
    pub good_practices: Arc<Table<GoodPractice>>,
    pub concerns: Arc<Table<Concern>>,
    pub actions: Arc<Table<Action>>,
    /// Every link, in natural-key order; a link's position is its id in pagination (within
    /// one snapshot).
    pub links: Arc<Runs<Arc<LinkRow>>>,
    postings: Sharded<Index, Arc<RoaringBitmap>>,
    /// Recommendations by cycle (the union of the cycle's sessions).
    recommendations_by_cycle: Arc<HashMap<CycleNumber, RoaringBitmap>>,
    /// Recommendations and measures with at least one CONFIRMED link.
    pub linked_recommendations: Arc<RoaringBitmap>,
    pub linked_measures: Arc<RoaringBitmap>,
    pub analyzer: Arc<Analyzer>,
    pub recommendation_text: Arc<TextIndex>,
    pub measure_text: Arc<TextIndex>,
    pub good_practice_text: Arc<TextIndex>,
    pub concern_text: Arc<TextIndex>,
    pub action_text: Arc<TextIndex>,
    empty: Arc<RoaringBitmap>,
    /// The assessment of each recommendation, computed on first use (see [`assessments`]).
    pub assessments: Arc<assessments::Assessments>,
    /// Results computed from this snapshot for a set of ids (facet counts), kept for the
    /// snapshot's lifetime: a write makes a new snapshot with an empty memo.
    pub memo: Arc<Memo>,
}

/// Per-snapshot memory of what was computed for a set of ids, bounded in entries.
#[derive(Default)]
pub struct Memo {
    entries: std::sync::Mutex<HashMap<u64, Vec<MemoEntry>>>,
}

type MemoEntry = (Arc<RoaringBitmap>, Arc<dyn std::any::Any + Send + Sync>);

/// How many sets a snapshot remembers before it forgets them all.
const MEMO_ENTRIES: usize = 512;

impl Memo {
    /// Forgets everything (for measuring the cost of a first query).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// The value remembered for `set`, or `compute`'s, remembered.
    pub fn get_or_insert<T: Send + Sync + 'static>(
        &self,
        set: &Arc<RoaringBitmap>,
        compute: impl FnOnce() -> Arc<T>,
    ) -> Arc<T> {
        use std::hash::{Hash, Hasher};
        let mut h = rustc_hash::FxHasher::default();
        std::any::TypeId::of::<T>().hash(&mut h);
        set.len().hash(&mut h);
        for id in set.iter() {
            id.hash(&mut h);
        }
        let key = h.finish();
        {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(found) = entries.get(&key).and_then(|v| {
                v.iter()
                    .find(|(s, _)| s == set)
                    .and_then(|(_, value)| value.clone().downcast::<T>().ok())
            }) {
                return found;
            }
        }
        // Computed outside the lock: two requests may both compute it once.
        let value = compute();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MEMO_ENTRIES {
            entries.clear();
        }
        entries
            .entry(key)
            .or_default()
            .push((set.clone(), value.clone()));
        value
    }
}

fn measure_text(m: &Measure) -> String {
    format!("{}\n{}", m.title, m.description)
}

fn good_practice_text(p: &GoodPractice) -> String {
    format!("{}\n{}", p.title, p.description)
}

fn concern_text(p: &Concern) -> String {
    format!("{}\n{}", p.title, p.description)
}

fn action_text(p: &Action) -> String {
    let outcome = p.outcome.as_deref().unwrap_or("");
    format!("{}\n{}\n{outcome}", p.title, p.description)
}

/// Links sort by (recommendation ref, measure ref).
fn link_order(l: &LinkRow) -> (&str, &str) {
    (l.record.recommendation.as_str(), l.record.measure.as_str())
}

/// The entities whose records a [`Table`] holds, read out of a changed record.
trait Tabled: Keyed + Clone {
    /// The version and record, when the record is of this entity.
    fn of(stored: &Stored<Record>) -> Option<(u32, &Self)>;
}

macro_rules! tabled {
    ($($t:ident),*) => {$(
        impl Tabled for $t {
            fn of(stored: &Stored<Record>) -> Option<(u32, &Self)> {
                match &stored.record {
                    Record::$t(r) => Some((stored.version, r)),
                    _ => None,
                }
            }
        }
    )*};
}
tabled!(Recommendation, Measure, GoodPractice, Concern, Action);

impl Link {
    fn of(stored: &Stored<Record>) -> Option<(u32, &Link)> {
        match &stored.record {
            Record::Link(l) => Some((stored.version, l)),
            _ => None,
        }
    }
}

/// Replaces (or removes, when `after` is `None`) one row of a table and its text. An edit
/// that keeps the natural key replaces the row in place, and an unchanged text is left
/// alone: neither copies more than a chunk.
fn absorb_row<T: Tabled>(
    table: &mut Arc<Table<T>>,
    text: &mut Arc<TextIndex>,
    analyzer: &Analyzer,
    id: u32,
    after: Option<&Stored<Record>>,
    text_of: fn(&T) -> String,
) {
    let old_text = table.get(id).map(|old| text_of(&old.record));
    let table = Arc::make_mut(table);
    match after.and_then(T::of) {
        Some((version, record)) => {
            let new_text = text_of(record);
            if old_text.as_ref() != Some(&new_text) {
                let text = Arc::make_mut(text);
                text.remove(id);
                text.insert(analyzer, id, &new_text);
            }
            table.upsert(
                id,
                Stored {
                    version,
                    record: record.clone(),
                },
            );
        }
        None => {
            if table.remove(id).is_some() {
                Arc::make_mut(text).remove(id);
            }
        }
    }
}

impl Catalog {
    /// Reads the whole store into a snapshot.
    pub fn load(store: &Store) -> Result<Catalog> {
        // Every record is read: on a remote engine, all of them in one go.
        let bulk = store.bulk_view()?;
        let store = bulk.as_ref().unwrap_or(store);
        let recommendations = Table::build(store.recommendations().collect::<Result<Vec<_>>>()?);
        let size = recommendations.all.max().map_or(0, |m| m as usize + 1);
        let measures = Table::build(store.measures().collect::<Result<Vec<_>>>()?);
        let good_practices = Table::build(store.good_practices().collect::<Result<Vec<_>>>()?);
        let concerns = Table::build(store.concerns().collect::<Result<Vec<_>>>()?);
        let actions = Table::build(store.actions().collect::<Result<Vec<_>>>()?);

        let mut links: Vec<Arc<LinkRow>> = store
            .links()
            .map(|l| {
                l.map(|((r, m), s)| {
                    Arc::new(LinkRow {
                        recommendation: r,
                        measure: m,
                        version: s.version,
                        record: s.record,
                    })
                })
            })
            .collect::<Result<_>>()?;
        links.sort_by(|a, b| link_order(a).cmp(&link_order(b)));
        let mut linked_recommendations = RoaringBitmap::new();
        let mut linked_measures = RoaringBitmap::new();
        for l in links
            .iter()
            .filter(|l| l.record.status == LinkStatus::Confirmed)
        {
            linked_recommendations.insert(l.recommendation);
            linked_measures.insert(l.measure);
        }
        let postings: Sharded<Index, Arc<RoaringBitmap>> = store
            .posting_lists()
            .map(|r| r.map(|(i, l)| (i, Arc::new(l))))
            .collect::<Result<_>>()?;

        let analyzer = Analyzer::default();
        let recommendation_text = TextIndex::build(
            &analyzer,
            recommendations
                .order_by_id()
                .map(|r| (r.id, r.record.text.as_str())),
        );
        let texts: Vec<(u32, String)> = measures
            .order_by_id()
            .map(|r| (r.id, measure_text(&r.record)))
            .collect();
        let measure_text = TextIndex::build(&analyzer, texts.iter().map(|(i, t)| (*i, t.as_str())));
        let texts: Vec<(u32, String)> = good_practices
            .order_by_id()
            .map(|r| (r.id, good_practice_text(&r.record)))
            .collect();
        let good_practice_text =
            TextIndex::build(&analyzer, texts.iter().map(|(i, t)| (*i, t.as_str())));
        let texts: Vec<(u32, String)> = concerns
            .order_by_id()
            .map(|r| (r.id, concern_text(&r.record)))
            .collect();
        let concern_text = TextIndex::build(&analyzer, texts.iter().map(|(i, t)| (*i, t.as_str())));
        let texts: Vec<(u32, String)> = actions
            .order_by_id()
            .map(|r| (r.id, action_text(&r.record)))
            .collect();
        let action_text = TextIndex::build(&analyzer, texts.iter().map(|(i, t)| (*i, t.as_str())));

        let mut catalog = Catalog {
            generation: 0,
            countries: Arc::default(),
            cycles: Arc::default(),
            sessions: Arc::default(),
            themes: Arc::default(),
            groups: Arc::default(),
            sdgs: Arc::default(),
            measure_categories: Arc::default(),
            recommendations: Arc::new(recommendations),
            measures: Arc::new(measures),
            good_practices: Arc::new(good_practices),
            concerns: Arc::new(concerns),
            actions: Arc::new(actions),
            links: Arc::new(Runs::from(links)),
            postings,
            recommendations_by_cycle: Arc::default(),
            linked_recommendations: Arc::new(linked_recommendations),
            linked_measures: Arc::new(linked_measures),
            analyzer: Arc::new(analyzer),
            recommendation_text: Arc::new(recommendation_text),
            measure_text: Arc::new(measure_text),
            good_practice_text: Arc::new(good_practice_text),
            concern_text: Arc::new(concern_text),
            action_text: Arc::new(action_text),
            empty: Arc::default(),
            assessments: Arc::new(assessments::Assessments::with_size(size)),
            memo: Arc::default(),
        };
        catalog.reload_small_tables(store)?;
        Ok(catalog)
    }

    /// Reads the small tables (countries, cycles, sessions, taxonomy) again, whole.
    fn reload_small_tables(&mut self, store: &Store) -> Result<()> {
        fn rows<T>(it: impl Iterator<Item = Result<Stored<T>>>) -> Result<Arc<Vec<Arc<Row<T>>>>> {
            it.map(|s| {
                s.map(|s| {
                    Arc::new(Row {
                        id: 0,
                        version: s.version,
                        record: s.record,
                    })
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Arc::new)
        }
        fn records<T>(it: impl Iterator<Item = Result<Stored<T>>>) -> Result<Arc<Vec<T>>> {
            it.map(|s| s.map(|s| s.record))
                .collect::<Result<Vec<_>>>()
                .map(Arc::new)
        }
        self.countries = rows(store.countries())?;
        self.cycles = rows(store.cycles())?;
        self.sessions = rows(store.sessions())?;
        self.themes = records(store.themes())?;
        self.groups = records(store.groups())?;
        self.sdgs = records(store.sdgs())?;
        let mut categories = store
            .measure_categories()
            .map(|s| s.map(|s| s.record))
            .collect::<Result<Vec<_>>>()?;
        categories.sort_by_key(|c| c.code);
        self.measure_categories = Arc::new(categories);
        self.regroup_cycles();
        Ok(())
    }

    fn regroup_cycles(&mut self) {
        let mut by_cycle: HashMap<CycleNumber, RoaringBitmap> = HashMap::new();
        for s in self.sessions.iter() {
            if let Some(l) = self
                .postings
                .get(&Index::SessionRecommendations(s.record.number))
            {
                *by_cycle.entry(s.record.cycle).or_default() |= l.as_ref();
            }
        }
        self.recommendations_by_cycle = Arc::new(by_cycle);
    }

    /// Applies one commit of the store, as its typed change set (see
    /// [`crate::store::ApplyOptions::report_changes`]). The result is what
    /// [`Catalog::load`] would read now.
    pub fn absorb(&mut self, store: &Store, changes: &ChangeSet) -> Result<()> {
        let mut small_tables = false;
        let mut sessions_changed = false;
        let mut touched_recommendations = RoaringBitmap::new();
        // Recommendations whose own record changed: their assessment (of the text) may have.
        let mut edited_recommendations = RoaringBitmap::new();
        let mut touched_measures = RoaringBitmap::new();
        for change in &changes.records {
            let after = change.after.as_ref();
            match change.at {
                Location::Link {
                    recommendation: r,
                    measure: m,
                } => {
                    touched_recommendations.insert(r);
                    touched_measures.insert(m);
                    let links = Arc::make_mut(&mut self.links);
                    // Links sort by their refs, which the change's key holds.
                    let found = match &change.key {
                        Key::Link(k) => links
                            .binary_search_by(|l| {
                                link_order(l).cmp(&(k.recommendation.as_str(), k.measure.as_str()))
                            })
                            .ok(),
                        _ => None,
                    };
                    if let Some(at) = found.filter(|&at| {
                        links
                            .get(at)
                            .is_some_and(|l| l.recommendation == r && l.measure == m)
                    }) {
                        links.remove(at);
                    }
                    if let Some((version, link)) = after.and_then(Link::of) {
                        let row = Arc::new(LinkRow {
                            recommendation: r,
                            measure: m,
                            version,
                            record: link.clone(),
                        });
                        let at = links.partition_point(|l| link_order(l) < link_order(&row));
                        links.insert(at, row);
                    }
                }
                Location::Id(id) => match change.key.entity() {
                    Entity::Recommendation => {
                        absorb_row(
                            &mut self.recommendations,
                            &mut self.recommendation_text,
                            &self.analyzer,
                            id,
                            after,
                            |r| r.text.clone(),
                        );
                        touched_recommendations.insert(id);
                        edited_recommendations.insert(id);
                    }
                    Entity::Measure => {
                        absorb_row(
                            &mut self.measures,
                            &mut self.measure_text,
                            &self.analyzer,
                            id,
                            after,
                            measure_text,
                        );
                        touched_measures.insert(id);
                    }
                    Entity::GoodPractice => absorb_row(
                        &mut self.good_practices,
                        &mut self.good_practice_text,
                        &self.analyzer,
                        id,
                        after,
                        good_practice_text,
                    ),
                    Entity::Concern => absorb_row(
                        &mut self.concerns,
                        &mut self.concern_text,
                        &self.analyzer,
                        id,
                        after,
                        concern_text,
                    ),
                    Entity::Action => absorb_row(
                        &mut self.actions,
                        &mut self.action_text,
                        &self.analyzer,
                        id,
                        after,
                        action_text,
                    ),
                    _ => small_tables = true,
                },
                Location::Natural => small_tables = true,
            }
        }
        if !changes.postings.is_empty() {
            let postings = &mut self.postings;
            for (index, list) in &changes.postings {
                sessions_changed |= matches!(index, Index::SessionRecommendations(_));
                if list.is_empty() {
                    postings.remove(index);
                } else {
                    postings.insert(index.clone(), Arc::new(list.clone()));
                }
            }
        }
        if small_tables {
            self.reload_small_tables(store)?;
        } else if sessions_changed {
            self.regroup_cycles();
        }
        if !edited_recommendations.is_empty() {
            let size = self.recommendations.all.max().map_or(0, |m| m as usize + 1);
            Arc::make_mut(&mut self.assessments).forget(&edited_recommendations, size);
        }
        // The linked sets are copied only when one of their members changes.
        for r in &touched_recommendations {
            let confirmed = self
                .links_of_recommendation(r)
                .any(|l| l.record.status == LinkStatus::Confirmed);
            if confirmed != self.linked_recommendations.contains(r) {
                let linked = Arc::make_mut(&mut self.linked_recommendations);
                if confirmed {
                    linked.insert(r);
                } else {
                    linked.remove(r);
                }
            }
        }
        for m in &touched_measures {
            let confirmed = self
                .links_of_measure(m)
                .iter()
                .any(|l| l.record.status == LinkStatus::Confirmed);
            if confirmed != self.linked_measures.contains(m) {
                let linked = Arc::make_mut(&mut self.linked_measures);
                if confirmed {
                    linked.insert(m);
                } else {
                    linked.remove(m);
                }
            }
        }
        self.memo = Arc::default();
        self.generation += 1;
        Ok(())
    }

    /// A posting list of the store (empty when no record has that value).
    pub fn list(&self, index: &Index) -> &RoaringBitmap {
        self.postings
            .get(index)
            .map(Arc::as_ref)
            .unwrap_or(&self.empty)
    }

    /// The assessment of recommendation `id` (its values, see [`assessments`]), if there is
    /// such a recommendation.
    pub fn assessment(&self, id: u32) -> Option<crate::assess::Brief> {
        let row = self.recommendations.get(id)?;
        Some(self.assessments.get(id, &row.record.text))
    }

    pub fn recommendations_in_cycle(&self, c: CycleNumber) -> &RoaringBitmap {
        self.recommendations_by_cycle.get(&c).unwrap_or(&self.empty)
    }

    pub fn country(&self, code: CountryCode) -> Option<&Arc<Row<Country>>> {
        self.countries
            .binary_search_by(|c| c.record.code.cmp(&code))
            .ok()
            .map(|i| &self.countries[i])
    }

    pub fn cycle(&self, n: CycleNumber) -> Option<&Arc<Row<Cycle>>> {
        self.cycles.iter().find(|c| c.record.number == n)
    }

    pub fn session(&self, n: SessionNumber) -> Option<&Arc<Row<Session>>> {
        self.sessions
            .binary_search_by(|s| s.record.number.cmp(&n))
            .ok()
            .map(|i| &self.sessions[i])
    }

    pub fn theme(&self, slug: &str) -> Option<&Theme> {
        self.themes.iter().find(|t| t.slug.as_str() == slug)
    }

    pub fn group(&self, slug: &str) -> Option<&Group> {
        self.groups.iter().find(|t| t.slug.as_str() == slug)
    }

    pub fn sdg(&self, goal: SdgGoal) -> Option<&Sdg> {
        self.sdgs.iter().find(|s| s.goal == goal)
    }

    pub fn measure_category(&self, c: MeasureCategory) -> Option<&MeasureCategoryInfo> {
        self.measure_categories.iter().find(|m| m.code == c)
    }

    /// The links of a recommendation, in natural-key order (a binary search: links sort by
    /// recommendation first).
    pub fn links_of_recommendation(&self, id: u32) -> impl Iterator<Item = &Arc<LinkRow>> {
        let range = match self.recommendations.get(id) {
            Some(r) => {
                let r = r.record.id.as_str();
                let from = self
                    .links
                    .partition_point(|l| l.record.recommendation.as_str() < r);
                let to = self
                    .links
                    .partition_point(|l| l.record.recommendation.as_str() <= r);
                from..to
            }
            None => 0..0,
        };
        self.links.range(range)
    }

    /// The links of a measure, in natural-key order (through the `LinksByMeasure` posting
    /// list).
    pub fn links_of_measure(&self, id: u32) -> Vec<&Arc<LinkRow>> {
        let Some(m) = self.measures.get(id) else {
            return vec![];
        };
        let mut out: Vec<&Arc<LinkRow>> = self
            .list(&Index::LinksByMeasure(id))
            .iter()
            .filter_map(|r| {
                let r = self.recommendations.get(r)?;
                self.link(r.record.id.as_str(), m.record.id.as_str())
            })
            .collect();
        out.sort_by(|a, b| link_order(a).cmp(&link_order(b)));
        out
    }

    pub fn link(&self, recommendation: &str, measure: &str) -> Option<&Arc<LinkRow>> {
        let key = (recommendation, measure);
        self.links
            .binary_search_by(|l| {
                (l.record.recommendation.as_str(), l.record.measure.as_str()).cmp(&key)
            })
            .ok()
            .and_then(|i| self.links.get(i))
    }

    /// A page of links (by position in `links`), cursors being link keys.
    pub fn links_page(&self, set: &RoaringBitmap, req: &PageRequest) -> Page<u32> {
        let order: Vec<u32> = (0..self.links.len() as u32).collect();
        let position = |cursor: &str| -> std::result::Result<u32, u32> {
            let (r, m) = LinkKey::split(cursor).unwrap_or((cursor, ""));
            self.links
                .binary_search_by(|l| {
                    (l.record.recommendation.as_str(), l.record.measure.as_str()).cmp(&(r, m))
                })
                .map(|p| p as u32)
                .map_err(|p| p as u32)
        };
        page::page(&order, &order, set, req, position, |i| {
            self.links
                .get(i as usize)
                .map(|l| l.key())
                .unwrap_or_default()
        })
    }
}

impl<T> Table<T> {
    /// Every row in id order.
    pub fn order_by_id(&self) -> impl Iterator<Item = &Arc<Row<T>>> {
        self.rows.iter().flatten()
    }

    /// Every row in natural-key order.
    pub fn in_order(&self) -> impl Iterator<Item = &Arc<Row<T>>> {
        self.order.iter().filter_map(|&id| self.get(id))
    }

    /// The position of record `id` in natural-key order (None where there is no record), to
    /// sort ids by their refs without comparing strings.
    pub fn rank(&self, id: u32) -> Option<u32> {
        self.rank
            .get(id as usize)
            .copied()
            .filter(|&r| r != u32::MAX)
    }
}

impl Catalog {
    /// Where two catalogs differ, as readable lines (none when they serve the same data).
    /// Used to check that a catalog kept up by [`Catalog::absorb`] equals a fresh load.
    pub fn differences(&self, other: &Catalog) -> Vec<String> {
        fn table<T: PartialEq + std::fmt::Debug>(
            out: &mut Vec<String>,
            what: &str,
            a: &Table<T>,
            b: &Table<T>,
        ) {
            let rows = |t: &Table<T>| -> Vec<(u32, u32)> {
                t.in_order().map(|r| (r.id, r.version)).collect()
            };
            if rows(a) != rows(b) {
                out.push(format!("{what}: ids or versions in order differ"));
            }
            for (x, y) in a.in_order().zip(b.in_order()) {
                if x.record != y.record {
                    out.push(format!("{what} {}: {:?} != {:?}", x.id, x.record, y.record));
                }
            }
            if a.all != b.all || a.by_ref != b.by_ref {
                out.push(format!("{what}: id sets or natural keys differ"));
            }
            for (i, &id) in a.order.iter().enumerate() {
                if a.rank[id as usize] != i as u32 || b.rank.get(id as usize) != Some(&(i as u32)) {
                    out.push(format!("{what}: rank of {id} differs"));
                }
            }
        }
        let mut out = vec![];
        table(
            &mut out,
            "recommendations",
            &self.recommendations,
            &other.recommendations,
        );
        table(&mut out, "measures", &self.measures, &other.measures);
        table(
            &mut out,
            "good practices",
            &self.good_practices,
            &other.good_practices,
        );
        table(&mut out, "concerns", &self.concerns, &other.concerns);
        table(&mut out, "actions", &self.actions, &other.actions);
        let links = |c: &Catalog| -> Vec<(u32, u32, u32, Link)> {
            c.links
                .iter()
                .map(|l| (l.recommendation, l.measure, l.version, l.record.clone()))
                .collect()
        };
        if links(self) != links(other) {
            out.push("links differ".into());
        }
        let postings = |c: &Catalog| -> Vec<(Vec<u8>, Vec<u32>)> {
            let mut v: Vec<_> = c
                .postings
                .iter()
                .filter(|(_, l)| !l.is_empty())
                .map(|(i, l)| (i.key(), l.iter().collect()))
                .collect();
            v.sort();
            v
        };
        if postings(self) != postings(other) {
            out.push("posting lists differ".into());
        }
        let cycles = |c: &Catalog| -> Vec<(CycleNumber, Vec<u32>)> {
            let mut v: Vec<_> = c
                .recommendations_by_cycle
                .iter()
                .map(|(k, l)| (*k, l.iter().collect()))
                .collect();
            v.sort();
            v
        };
        if cycles(self) != cycles(other) {
            out.push("recommendations by cycle differ".into());
        }
        if self.linked_recommendations != other.linked_recommendations
            || self.linked_measures != other.linked_measures
        {
            out.push("linked sets differ".into());
        }
        for (what, a, b) in [
            (
                "recommendation text",
                &self.recommendation_text,
                &other.recommendation_text,
            ),
            ("measure text", &self.measure_text, &other.measure_text),
            (
                "good practice text",
                &self.good_practice_text,
                &other.good_practice_text,
            ),
            ("concern text", &self.concern_text, &other.concern_text),
            ("action text", &self.action_text, &other.action_text),
        ] {
            if !a.same_as(b) {
                out.push(format!("{what} indexes differ"));
            }
        }
        let small = |c: &Catalog| {
            format!(
                "{:?}{:?}{:?}",
                c.countries.iter().map(|r| &r.record).collect::<Vec<_>>(),
                c.sessions.iter().map(|r| &r.record).collect::<Vec<_>>(),
                c.cycles.iter().map(|r| &r.record).collect::<Vec<_>>()
            )
        };
        if small(self) != small(other) {
            out.push("countries, sessions or cycles differ".into());
        }
        out
    }
}

impl Catalog {
    /// Assesses every recommendation whose assessment is not yet there; returns how many it
    /// assessed. Run by the server in the background after a load and after each write (see
    /// [`assessments`]).
    pub fn assess_all(&self) -> usize {
        let mut assessed = 0;
        for row in self.recommendations.order_by_id() {
            if !self.assessments.is_filled(row.id) {
                self.assessments.with(row.id, &row.record.text, |_| ());
                assessed += 1;
            }
        }
        assessed
    }
}
