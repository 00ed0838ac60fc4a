//! The in-memory read model that the GraphQL API queries: every record, the store's posting
//! lists as roaring bitmaps, natural-key order for cursors, and the full-text indexes.
//!
//! The store is the durable source of truth; a [`Catalog`] is an immutable snapshot of it,
//! built in one pass when the server starts (about a second for the world preset), so a
//! query never waits on disk: filters are bitmap intersections, `totalCount` is a
//! cardinality, facets are intersection counts, and a page is a walk in natural-key order.

pub mod page;
pub mod regressions;
pub mod suggest;
pub mod text;

use std::collections::HashMap;
use std::sync::Arc;

use roaring::RoaringBitmap;

use crate::model::*;
use crate::store::{Index, Result, Store, Stored};
pub use page::{Page, PageRequest};
use text::{Analyzer, TextIndex};

/// A record with its internal id and version.
#[derive(Debug)]
pub struct Row<T> {
    pub id: u32,
    pub version: u32,
    pub record: T,
}

/// The records of one entity, by internal id, with their natural-key order.
pub struct Table<T> {
    rows: Vec<Option<Arc<Row<T>>>>,
    by_ref: HashMap<String, u32>,
    /// Ids in natural-key order.
    order: Vec<u32>,
    /// Position of each id in `order` (`u32::MAX` where there is no record).
    rank: Vec<u32>,
    pub all: RoaringBitmap,
}

impl<T> Table<T> {
    fn build(rows: Vec<(u32, Stored<T>)>, key: impl Fn(&T) -> String) -> Table<T> {
        let size = rows
            .iter()
            .map(|(id, _)| *id as usize + 1)
            .max()
            .unwrap_or(0);
        let mut table = Table {
            rows: (0..size).map(|_| None).collect(),
            by_ref: HashMap::with_capacity(rows.len()),
            order: Vec::with_capacity(rows.len()),
            rank: vec![u32::MAX; size],
            all: RoaringBitmap::new(),
        };
        let mut keyed: Vec<(String, u32)> = Vec::with_capacity(rows.len());
        for (id, s) in rows {
            let k = key(&s.record);
            table.by_ref.insert(k.clone(), id);
            keyed.push((k, id));
            table.all.insert(id);
            table.rows[id as usize] = Some(Arc::new(Row {
                id,
                version: s.version,
                record: s.record,
            }));
        }
        keyed.sort_unstable();
        for (pos, (_, id)) in keyed.into_iter().enumerate() {
            table.rank[id as usize] = pos as u32;
            table.order.push(id);
        }
        table
    }

    pub fn get(&self, id: u32) -> Option<&Arc<Row<T>>> {
        self.rows.get(id as usize).and_then(Option::as_ref)
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
    /// The natural key, as a cursor: recommendation ref, a tab, measure ref.
    pub fn key(&self) -> String {
        format!("{}\t{}", self.record.recommendation, self.record.measure)
    }
}

pub struct Catalog {
    pub countries: Vec<Arc<Row<Country>>>,
    pub cycles: Vec<Arc<Row<Cycle>>>,
    pub sessions: Vec<Arc<Row<Session>>>,
    pub themes: Vec<Theme>,
    pub groups: Vec<Group>,
    pub sdgs: Vec<Sdg>,
    pub measure_categories: Vec<MeasureCategoryInfo>,
    pub recommendations: Table<Recommendation>,
    pub measures: Table<Measure>,
    pub good_practices: Table<GoodPractice>,
    /// Every link, in natural-key order; a link's position is its id in pagination.
    pub links: Vec<Arc<LinkRow>>,
    links_by_recommendation: HashMap<u32, Vec<u32>>,
    links_by_measure: HashMap<u32, Vec<u32>>,
    postings: HashMap<Index, RoaringBitmap>,
    /// Recommendations by cycle (the union of the cycle's sessions).
    recommendations_by_cycle: HashMap<CycleNumber, RoaringBitmap>,
    /// Recommendations and measures with at least one CONFIRMED link.
    pub linked_recommendations: RoaringBitmap,
    pub linked_measures: RoaringBitmap,
    pub analyzer: Analyzer,
    pub recommendation_text: TextIndex,
    pub measure_text: TextIndex,
    pub good_practice_text: TextIndex,
    empty: RoaringBitmap,
}

fn rows<T>(it: impl Iterator<Item = Result<Stored<T>>>) -> Result<Vec<Arc<Row<T>>>> {
    it.map(|s| {
        s.map(|s| {
            Arc::new(Row {
                id: 0,
                version: s.version,
                record: s.record,
            })
        })
    })
    .collect()
}

impl Catalog {
    /// Reads the whole store into a snapshot.
    pub fn load(store: &Store) -> Result<Catalog> {
        let countries = rows(store.countries())?;
        let cycles = rows(store.cycles())?;
        let sessions = rows(store.sessions())?;
        let themes = store
            .themes()
            .map(|s| s.map(|s| s.record))
            .collect::<Result<Vec<_>>>()?;
        let groups = store
            .groups()
            .map(|s| s.map(|s| s.record))
            .collect::<Result<Vec<_>>>()?;
        let sdgs = store
            .sdgs()
            .map(|s| s.map(|s| s.record))
            .collect::<Result<Vec<_>>>()?;
        let mut measure_categories = store
            .measure_categories()
            .map(|s| s.map(|s| s.record))
            .collect::<Result<Vec<_>>>()?;
        measure_categories.sort_by_key(|c| c.code);

        let recommendations =
            Table::build(store.recommendations().collect::<Result<Vec<_>>>()?, |r| {
                r.id.to_string()
            });
        let measures = Table::build(store.measures().collect::<Result<Vec<_>>>()?, |r| {
            r.id.to_string()
        });
        let good_practices =
            Table::build(store.good_practices().collect::<Result<Vec<_>>>()?, |r| {
                r.id.to_string()
            });

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
        links.sort_by(|a, b| {
            (&a.record.recommendation, &a.record.measure)
                .cmp(&(&b.record.recommendation, &b.record.measure))
        });
        let mut links_by_recommendation: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut links_by_measure: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut linked_recommendations = RoaringBitmap::new();
        let mut linked_measures = RoaringBitmap::new();
        for (i, l) in links.iter().enumerate() {
            links_by_recommendation
                .entry(l.recommendation)
                .or_default()
                .push(i as u32);
            links_by_measure
                .entry(l.measure)
                .or_default()
                .push(i as u32);
            if l.record.status == LinkStatus::Confirmed {
                linked_recommendations.insert(l.recommendation);
                linked_measures.insert(l.measure);
            }
        }

        let postings: HashMap<Index, RoaringBitmap> =
            store.posting_lists().collect::<Result<_>>()?;
        let mut recommendations_by_cycle: HashMap<CycleNumber, RoaringBitmap> = HashMap::new();
        for s in &sessions {
            if let Some(l) = postings.get(&Index::SessionRecommendations(s.record.number)) {
                *recommendations_by_cycle.entry(s.record.cycle).or_default() |= l;
            }
        }

        let analyzer = Analyzer::default();
        let recommendation_text = TextIndex::build(
            &analyzer,
            recommendations
                .order_by_id()
                .map(|r| (r.id, r.record.text.as_str())),
        );
        let measure_texts: Vec<(u32, String)> = measures
            .order_by_id()
            .map(|r| {
                (
                    r.id,
                    format!("{}\n{}", r.record.title, r.record.description),
                )
            })
            .collect();
        let measure_text = TextIndex::build(
            &analyzer,
            measure_texts.iter().map(|(i, t)| (*i, t.as_str())),
        );
        let gp_texts: Vec<(u32, String)> = good_practices
            .order_by_id()
            .map(|r| {
                (
                    r.id,
                    format!("{}\n{}", r.record.title, r.record.description),
                )
            })
            .collect();
        let good_practice_text =
            TextIndex::build(&analyzer, gp_texts.iter().map(|(i, t)| (*i, t.as_str())));

        Ok(Catalog {
            countries,
            cycles,
            sessions,
            themes,
            groups,
            sdgs,
            measure_categories,
            recommendations,
            measures,
            good_practices,
            links,
            links_by_recommendation,
            links_by_measure,
            postings,
            recommendations_by_cycle,
            linked_recommendations,
            linked_measures,
            analyzer,
            recommendation_text,
            measure_text,
            good_practice_text,
            empty: RoaringBitmap::new(),
        })
    }

    /// A posting list of the store (empty when no record has that value).
    pub fn list(&self, index: &Index) -> &RoaringBitmap {
        self.postings.get(index).unwrap_or(&self.empty)
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

    pub fn links_of_recommendation(&self, id: u32) -> impl Iterator<Item = &Arc<LinkRow>> {
        self.links_by_recommendation
            .get(&id)
            .into_iter()
            .flatten()
            .map(|&i| &self.links[i as usize])
    }

    pub fn links_of_measure(&self, id: u32) -> impl Iterator<Item = &Arc<LinkRow>> {
        self.links_by_measure
            .get(&id)
            .into_iter()
            .flatten()
            .map(|&i| &self.links[i as usize])
    }

    pub fn link(&self, recommendation: &str, measure: &str) -> Option<&Arc<LinkRow>> {
        let key = (recommendation, measure);
        self.links
            .binary_search_by(|l| {
                (l.record.recommendation.as_str(), l.record.measure.as_str()).cmp(&key)
            })
            .ok()
            .map(|i| &self.links[i])
    }

    /// A page of links (by position in `links`), cursors being link keys.
    pub fn links_page(&self, set: &RoaringBitmap, req: &PageRequest) -> Page<u32> {
        let order: Vec<u32> = (0..self.links.len() as u32).collect();
        let position = |cursor: &str| -> std::result::Result<u32, u32> {
            let (r, m) = cursor.split_once('\t').unwrap_or((cursor, ""));
            self.links
                .binary_search_by(|l| {
                    (l.record.recommendation.as_str(), l.record.measure.as_str()).cmp(&(r, m))
                })
                .map(|p| p as u32)
                .map_err(|p| p as u32)
        };
        page::page(&order, &order, set, req, position, |i| {
            self.links[i as usize].key()
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
}
