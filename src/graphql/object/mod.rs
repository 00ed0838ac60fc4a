//! The object types of the schema, one file per entity. Each wraps a row of the catalog
//! (an `Arc`, so building a page copies no record) and resolves relations from the catalog's
//! in-memory indexes: no nested field reads the store.
//!
//! The entity objects resolve their fields one after the other (`#[Object(serial)]`): every
//! field here is computed at once from the catalog, so running them concurrently only added
//! a `FuturesUnordered` task per field (its allocation, waker and queue) to each object of a
//! page (benches/README). The CPU-heavy fields (suggestions, regressions) run on blocking
//! threads one per core anyway, and an object has at most one of them.

pub(crate) mod action;
pub(crate) mod concern;
pub(crate) mod country;
pub(crate) mod good_practice;
pub(crate) mod link;
pub(crate) mod measure;
pub(crate) mod recommendation;
mod session;
pub(crate) mod suggestion;
mod taxonomy;

use std::sync::Arc;

use async_graphql::{Context, Result};

pub use action::{Action, ActionConnection};
pub use concern::{Concern, ConcernConnection};
pub use country::{Country, CountryConnection};
pub use good_practice::{GoodPractice, GoodPracticeConnection};
pub use link::{Link, LinkConnection};
pub use measure::{Measure, MeasureConnection};
pub use recommendation::{FacetCount, Facets, Recommendation, RecommendationConnection};
pub use session::{Cycle, Session};
pub use taxonomy::{Group, MeasureCategoryInfo, Sdg, Theme};

use roaring::RoaringBitmap;

use crate::catalog::{Catalog, LinkRow, Row, Table};
use crate::graphql::scalars::LinkStatus;
use crate::live::Live;
use crate::model;
use crate::model::{CountryCode, Ref, SdgGoal, Slug};

/// The themes with these slugs, in the order given.
pub fn themes_of(c: &Catalog, slugs: &[Slug]) -> Vec<Theme> {
    slugs
        .iter()
        .filter_map(|s| c.theme(s.as_str()).cloned().map(Theme))
        .collect()
}

/// The groups with these slugs, in the order given.
pub fn groups_of(c: &Catalog, slugs: &[Slug]) -> Vec<Group> {
    slugs
        .iter()
        .filter_map(|s| c.group(s.as_str()).cloned().map(Group))
        .collect()
}

/// The SDGs with these goals, in the order given.
pub fn sdgs_of(c: &Catalog, goals: &[SdgGoal]) -> Vec<Sdg> {
    goals
        .iter()
        .filter_map(|&g| c.sdg(g).cloned().map(Sdg))
        .collect()
}

/// The countries with these codes, in the order given.
pub fn countries_of(c: &Catalog, codes: &[CountryCode]) -> Vec<Country> {
    codes
        .iter()
        .filter_map(|&k| c.country(k).cloned().map(Country))
        .collect()
}

/// The records of `table` with these refs, in the order given.
fn by_refs<T, O>(table: &Table<T>, refs: &[Ref], wrap: fn(Arc<Row<T>>) -> O) -> Vec<O> {
    refs.iter()
        .filter_map(|r| table.by_ref(r.as_str()).cloned().map(wrap))
        .collect()
}

/// The measures with these refs, in the order given.
pub fn measures_of(c: &Catalog, refs: &[Ref]) -> Vec<Measure> {
    by_refs(&c.measures, refs, Measure)
}

/// The recommendations with these refs, in the order given.
pub fn recommendations_of(c: &Catalog, refs: &[Ref]) -> Vec<Recommendation> {
    by_refs(&c.recommendations, refs, Recommendation)
}

/// The concerns with these refs, in the order given.
pub fn concerns_of(c: &Catalog, refs: &[Ref]) -> Vec<Concern> {
    by_refs(&c.concerns, refs, Concern)
}

/// A relation list of a record (`themes`, `countries`, `measures`...): `of` its keys, in the
/// request's catalog.
pub fn related<K, O>(
    ctx: &Context<'_>,
    keys: &[K],
    of: fn(&Catalog, &[K]) -> Vec<O>,
) -> Result<Vec<O>> {
    Ok(of(catalog(ctx)?.as_ref(), keys))
}

/// Links, all of them or those with one of the statuses (an empty list filters nothing, as
/// everywhere else).
pub fn links_with_status<'a>(
    links: impl Iterator<Item = &'a Arc<LinkRow>>,
    status: Option<Vec<LinkStatus>>,
) -> Vec<Link> {
    let status: Option<Vec<model::LinkStatus>> = status
        .filter(|v| !v.is_empty())
        .map(|v| v.into_iter().map(Into::into).collect());
    links
        .filter(|l| status.as_ref().is_none_or(|s| s.contains(&l.record.status)))
        .cloned()
        .map(Link)
        .collect()
}

/// The good practices of a posting list, in id order.
pub fn good_practices_in(c: &Catalog, ids: &RoaringBitmap) -> Vec<GoodPractice> {
    ids.iter()
        .filter_map(|id| c.good_practices.get(id).cloned().map(GoodPractice))
        .collect()
}

/// The catalog the request runs against.
pub fn catalog<'a>(ctx: &Context<'a>) -> Result<CatalogRef<'a>> {
    if let Some(s) = ctx.data_opt::<Snapshot>() {
        return Ok(s.get());
    }
    Ok(CatalogRef::Owned(ctx.data::<Arc<Live>>()?.snapshot()))
}

/// The catalog a field reads: borrowed from the request's [`Snapshot`] while no write moved
/// it, so a field costs no reference count. Every request shares the one `Arc<Catalog>`:
/// counting it up and down in every field made the two cores fight over its cache line
/// (benches/README). Derefs to the `Arc`, so `.clone()` still gives one to keep.
pub enum CatalogRef<'a> {
    Borrowed(&'a Arc<Catalog>),
    Owned(Arc<Catalog>),
}

impl std::ops::Deref for CatalogRef<'_> {
    type Target = Arc<Catalog>;

    fn deref(&self) -> &Arc<Catalog> {
        match self {
            CatalogRef::Borrowed(c) => c,
            CatalogRef::Owned(c) => c,
        }
    }
}

/// The catalog one request reads, so that every field of a response agrees. A mutation moves
/// it on to the catalog that includes its write, so its payload shows the new state.
pub struct Snapshot {
    at_arrival: Arc<Catalog>,
    after_write: std::sync::RwLock<Option<Arc<Catalog>>>,
    /// Whether `after_write` was ever set: a read-only request (nearly all of them) reads one
    /// flag per field instead of taking the lock.
    written: std::sync::atomic::AtomicBool,
}

impl Snapshot {
    pub fn new(c: Arc<Catalog>) -> Snapshot {
        Snapshot {
            at_arrival: c,
            after_write: std::sync::RwLock::new(None),
            written: std::sync::atomic::AtomicBool::new(false),
        }
    }
    pub fn get(&self) -> CatalogRef<'_> {
        if !self.written.load(std::sync::atomic::Ordering::Acquire) {
            return CatalogRef::Borrowed(&self.at_arrival);
        }
        match &*self.after_write.read().unwrap_or_else(|p| p.into_inner()) {
            Some(c) => CatalogRef::Owned(c.clone()),
            None => CatalogRef::Borrowed(&self.at_arrival),
        }
    }
    pub fn set(&self, c: Arc<Catalog>) {
        *self.after_write.write().unwrap_or_else(|p| p.into_inner()) = Some(c);
        self.written
            .store(true, std::sync::atomic::Ordering::Release);
    }
}
