//! An issue of concern of the COVID-19 Tracker, its relations and its filtered connection.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::{Context, Object, Result, ID};
use roaring::RoaringBitmap;

use super::action::Action;
use super::{catalog, Country, FacetCount, Facets, Group, Measure, Recommendation, Sdg, Theme};
use crate::catalog::{Catalog, Row};
use crate::graphql::connection::{connection, edges, page_request};
use crate::graphql::filter::ConcernFilter;
use crate::graphql::ids::global_id;
use crate::graphql::object::recommendation::facet;
use crate::graphql::scalars::{ConcernKind, Date, Severity};
use crate::model;
use crate::store::Index;

/// An issue of concern recorded by the COVID-19 Tracker: a trend, a risk or an early warning
/// about the human rights of people in one or more States.
#[derive(Clone)]
pub struct Concern(pub Arc<Row<model::Concern>>);

/// An issue of concern recorded by the COVID-19 Tracker: a trend, a risk or an early warning
/// about the human rights of people in one or more States.
#[Object(serial)]
impl Concern {
    /// A global id, opaque and stable across restarts and export/import.
    pub async fn id(&self) -> ID {
        global_id("Concern", self.0.record.id.as_str())
    }
    /// The dataset's key (e.g. `C-KHM-001`).
    #[graphql(name = "ref")]
    async fn reference(&self) -> &str {
        self.0.record.id.as_str()
    }
    /// A short statement of the concern.
    async fn title(&self) -> &str {
        &self.0.record.title
    }
    /// What was observed, and where.
    async fn description(&self) -> &str {
        &self.0.record.description
    }
    /// Trend, risk or early warning.
    async fn kind(&self) -> ConcernKind {
        self.0.record.kind.into()
    }
    /// How grave it is.
    async fn severity(&self) -> Severity {
        self.0.record.severity.into()
    }
    /// The day it was reported.
    async fn reported_on(&self) -> Date {
        Date(self.0.record.reported_on)
    }
    /// The States it is about.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn countries(&self, ctx: &Context<'_>) -> Result<Vec<Country>> {
        super::related(ctx, &self.0.record.countries, super::countries_of)
    }
    /// Themes it bears on.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn themes(&self, ctx: &Context<'_>) -> Result<Vec<Theme>> {
        super::related(ctx, &self.0.record.themes, super::themes_of)
    }
    /// Affected-person groups it concerns.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn groups(&self, ctx: &Context<'_>) -> Result<Vec<Group>> {
        super::related(ctx, &self.0.record.groups, super::groups_of)
    }
    /// SDG goals at stake.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn sdgs(&self, ctx: &Context<'_>) -> Result<Vec<Sdg>> {
        super::related(ctx, &self.0.record.sdgs, super::sdgs_of)
    }
    /// Measures that mitigate it, in the order the record lists them.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn measures(&self, ctx: &Context<'_>) -> Result<Vec<Measure>> {
        super::related(ctx, &self.0.record.measures, super::measures_of)
    }
    /// Recommendations that speak to it, in the order the record lists them.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn recommendations(&self, ctx: &Context<'_>) -> Result<Vec<Recommendation>> {
        super::related(
            ctx,
            &self.0.record.recommendations,
            super::recommendations_of,
        )
    }
    /// Actions of UN Human Rights that address it, in key order.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn actions(&self, ctx: &Context<'_>) -> Result<Vec<Action>> {
        let c = catalog(ctx)?;
        Ok(super::action::actions_in(
            &c,
            c.list(&Index::ActionsByConcern(self.0.id)),
        ))
    }
    /// A citation of the source (for the default dataset, the report's own sentence).
    async fn source(&self) -> &str {
        &self.0.record.source
    }
    /// Where the source can be read.
    async fn source_url(&self) -> Option<&str> {
        self.0.record.source_url.as_deref()
    }
    /// Every change to it, newest first: who, when, before and after.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, None, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<crate::graphql::history::ChangeConnection> {
        crate::graphql::history::history_of(
            ctx,
            crate::model::Entity::Concern,
            self.0.record.id.as_str(),
            first,
            after,
        )
    }
    /// Grows by one with every change (for optimistic concurrency).
    async fn version(&self) -> i32 {
        self.0.version as i32
    }
}

/// The concerns of a posting list, in key order.
pub fn concerns_in(c: &Catalog, ids: &RoaringBitmap) -> Vec<Concern> {
    let mut rows: Vec<_> = ids
        .iter()
        .filter_map(|id| c.concerns.get(id).cloned())
        .collect();
    rows.sort_by(|a, b| a.record.id.cmp(&b.record.id));
    rows.into_iter().map(Concern).collect()
}

/// Counts over the whole filtered set of concerns.
pub struct ConcernFacets(Arc<RoaringBitmap>);

fn by_index(c: &Catalog, set: &RoaringBitmap, values: Vec<(String, Index)>) -> Facets {
    Facets(facet(
        values
            .into_iter()
            .map(|(value, i)| FacetCount {
                value,
                count: c.list(&i).intersection_len(set),
            })
            .collect(),
    ))
}

/// Counts over the whole filtered set of concerns.
#[Object(serial)]
impl ConcernFacets {
    /// By kind (trend, risk, early warning).
    async fn kind(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        let values = model::ConcernKind::ALL
            .iter()
            .map(|&k| (k.as_str().to_owned(), Index::ConcernsByKind(k)))
            .collect();
        Ok(by_index(&c, &self.0, values))
    }
    /// By severity.
    async fn severity(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        let values = model::Severity::ALL
            .iter()
            .map(|&k| (k.as_str().to_owned(), Index::ConcernsBySeverity(k)))
            .collect();
        Ok(by_index(&c, &self.0, values))
    }
    /// By theme slug.
    async fn theme(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        let values = c
            .themes
            .iter()
            .map(|t| (t.slug.to_string(), Index::ConcernsByTheme(t.slug.clone())))
            .collect();
        Ok(by_index(&c, &self.0, values))
    }
    /// By affected-group slug.
    async fn group(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        let values = c
            .groups
            .iter()
            .map(|g| (g.slug.to_string(), Index::ConcernsByGroup(g.slug.clone())))
            .collect();
        Ok(by_index(&c, &self.0, values))
    }
    /// By State (ISO alpha-3 codes); a concern about several States counts for each.
    async fn country(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        let values = c
            .countries
            .iter()
            .map(|k| {
                (
                    k.record.code.to_string(),
                    Index::ConcernsByCountry(k.record.code),
                )
            })
            .collect();
        Ok(by_index(&c, &self.0, values))
    }
    /// By UN regional group of the States concerned; a concern counts once per group even
    /// when it is about several States of it.
    async fn un_regional_group(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        Ok(Facets(facet(
            model::UnRegionalGroup::ALL
                .iter()
                .map(|&g| {
                    let mut in_group = RoaringBitmap::new();
                    for k in c
                        .countries
                        .iter()
                        .filter(|k| k.record.un_regional_group == Some(g))
                    {
                        in_group |= c.list(&Index::ConcernsByCountry(k.record.code));
                    }
                    FacetCount {
                        value: g.as_str().into(),
                        count: in_group.intersection_len(&self.0),
                    }
                })
                .collect(),
        )))
    }
    /// By the month it was reported (`YYYY-MM`).
    async fn month(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        let mut months: BTreeMap<String, u64> = BTreeMap::new();
        for id in self.0.iter() {
            if let Some(r) = c.concerns.get(id) {
                let d = r.record.reported_on.naive();
                *months.entry(d.format("%Y-%m").to_string()).or_default() += 1;
            }
        }
        Ok(Facets(facet(
            months
                .into_iter()
                .map(|(value, count)| FacetCount { value, count })
                .collect(),
        )))
    }
}

connection!(
    ConcernConnection,
    ConcernEdge,
    Concern,
    "concern",
    /// Counts over the whole filtered set (not just this page), per facet.
    async fn facets(&self) -> ConcernFacets {
        ConcernFacets(self.set.clone())
    }
);

/// A page of the concerns in one posting list of the request's catalog (those of a State, a
/// theme or a group).
#[allow(clippy::too_many_arguments)]
pub fn concerns_within(
    ctx: &async_graphql::Context<'_>,
    index: Index,
    filter: Option<ConcernFilter>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<ConcernConnection> {
    let c = super::catalog(ctx)?;
    concerns(&c, c.list(&index), filter, first, after, last, before)
}

pub fn concerns(
    c: &Catalog,
    within: &RoaringBitmap,
    filter: Option<ConcernFilter>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<ConcernConnection> {
    let req = page_request(first, after, last, before)?;
    let set = Arc::new(filter.unwrap_or_default().evaluate(c, within)?);
    let page = c.concerns.page(&set, &req, |r| r.id.as_str());
    let (edges, info) = edges(page, |id| c.concerns.get(id).cloned().map(Concern));
    Ok(ConcernConnection::new(edges, info, set.len(), set))
}
