//! The object types of the schema, one file per entity. Each wraps a row of the catalog
//! (an `Arc`, so building a page copies no record) and resolves relations from the catalog's
//! in-memory indexes: no nested field reads the store.

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

use crate::catalog::{Catalog, LinkRow};
use crate::graphql::scalars::LinkStatus;
use crate::live::Live;
use crate::model;
use crate::model::{CountryCode, SdgGoal, Slug};

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
pub fn catalog(ctx: &Context<'_>) -> Result<Arc<Catalog>> {
    if let Some(s) = ctx.data_opt::<Snapshot>() {
        return Ok(s.get());
    }
    Ok(ctx.data::<Arc<Live>>()?.snapshot())
}

/// The catalog one request reads, so that every field of a response agrees. A mutation moves
/// it on to the catalog that includes its write, so its payload shows the new state.
pub struct Snapshot(std::sync::RwLock<Arc<Catalog>>);

impl Snapshot {
    pub fn new(c: Arc<Catalog>) -> Snapshot {
        Snapshot(std::sync::RwLock::new(c))
    }
    pub fn get(&self) -> Arc<Catalog> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub fn set(&self, c: Arc<Catalog>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = c;
    }
}
