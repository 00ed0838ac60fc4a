//! An action of UN Human Rights (OHCHR), its relations and its filtered connection.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::{Context, Object, Result, ID};
use roaring::RoaringBitmap;

use super::concern::Concern;
use super::{catalog, Country, FacetCount, Facets, Group, Measure, Recommendation, Sdg, Theme};
use crate::catalog::{Catalog, Row};
use crate::graphql::connection::{connection, edges, page_request};
use crate::graphql::filter::ActionFilter;
use crate::graphql::ids::global_id;
use crate::graphql::object::recommendation::facet;
use crate::graphql::scalars::{ActionKind, Date};
use crate::model;
use crate::store::Index;

/// An action undertaken by UN Human Rights (OHCHR) in response to COVID-19: the concerns it
/// addressed, the measures it supported and the recommendations it followed up.
#[derive(Clone)]
pub struct Action(pub Arc<Row<model::Action>>);

/// An action undertaken by UN Human Rights (OHCHR) in response to COVID-19: the concerns it
/// addressed, the measures it supported and the recommendations it followed up.
#[Object(serial)]
impl Action {
    /// A global id, opaque and stable across restarts and export/import.
    pub async fn id(&self) -> ID {
        global_id("Action", self.0.record.id.as_str())
    }
    /// The dataset's key (e.g. `A-BDI-001`).
    #[graphql(name = "ref")]
    async fn reference(&self) -> &str {
        self.0.record.id.as_str()
    }
    /// A short name of the action.
    async fn title(&self) -> &str {
        &self.0.record.title
    }
    /// What was done.
    async fn description(&self) -> &str {
        &self.0.record.description
    }
    /// The report's heading for it.
    async fn kind(&self) -> ActionKind {
        self.0.record.kind.into()
    }
    /// The day it started.
    async fn start_date(&self) -> Date {
        Date(self.0.record.start_date)
    }
    /// The day it ended, if it has.
    async fn end_date(&self) -> Option<Date> {
        self.0.record.end_date.map(Date)
    }
    /// What it achieved, in words (e.g. "206 cases expedited, 89 detainees released").
    async fn outcome(&self) -> Option<&str> {
        self.0.record.outcome.as_deref()
    }
    /// How many people it reached, where the source says so.
    async fn people_reached(&self) -> Option<u64> {
        self.0.record.people_reached
    }
    /// The States it took place in or for.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn countries(&self, ctx: &Context<'_>) -> Result<Vec<Country>> {
        super::related(ctx, &self.0.record.countries, super::countries_of)
    }
    /// Themes it bears on.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn themes(&self, ctx: &Context<'_>) -> Result<Vec<Theme>> {
        super::related(ctx, &self.0.record.themes, super::themes_of)
    }
    /// Affected-person groups it served.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn groups(&self, ctx: &Context<'_>) -> Result<Vec<Group>> {
        super::related(ctx, &self.0.record.groups, super::groups_of)
    }
    /// SDG goals it served.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn sdgs(&self, ctx: &Context<'_>) -> Result<Vec<Sdg>> {
        super::related(ctx, &self.0.record.sdgs, super::sdgs_of)
    }
    /// The concerns it addressed, in the order the record lists them.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn concerns(&self, ctx: &Context<'_>) -> Result<Vec<Concern>> {
        super::related(ctx, &self.0.record.concerns, super::concerns_of)
    }
    /// The measures it supported, in the order the record lists them.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn measures(&self, ctx: &Context<'_>) -> Result<Vec<Measure>> {
        super::related(ctx, &self.0.record.measures, super::measures_of)
    }
    /// The recommendations it followed up, in the order the record lists them.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn recommendations(&self, ctx: &Context<'_>) -> Result<Vec<Recommendation>> {
        super::related(
            ctx,
            &self.0.record.recommendations,
            super::recommendations_of,
        )
    }
    /// A citation of the source (for the default dataset, the report's own sentence).
    async fn source(&self) -> &str {
        &self.0.record.source
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
            crate::model::Entity::Action,
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

/// The actions of a posting list, in key order.
pub fn actions_in(c: &Catalog, ids: &RoaringBitmap) -> Vec<Action> {
    let mut rows: Vec<_> = ids
        .iter()
        .filter_map(|id| c.actions.get(id).cloned())
        .collect();
    rows.sort_by(|a, b| a.record.id.cmp(&b.record.id));
    rows.into_iter().map(Action).collect()
}

/// Counts over the whole filtered set of actions.
pub struct ActionFacets(Arc<RoaringBitmap>);

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

/// Counts over the whole filtered set of actions.
#[Object(serial)]
impl ActionFacets {
    /// By the report's heading.
    async fn kind(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        let values = model::ActionKind::ALL
            .iter()
            .map(|&k| (k.as_str().to_owned(), Index::ActionsByKind(k)))
            .collect();
        Ok(by_index(&c, &self.0, values))
    }
    /// By theme slug.
    async fn theme(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        let values = c
            .themes
            .iter()
            .map(|t| (t.slug.to_string(), Index::ActionsByTheme(t.slug.clone())))
            .collect();
        Ok(by_index(&c, &self.0, values))
    }
    /// By affected-group slug.
    async fn group(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        let values = c
            .groups
            .iter()
            .map(|g| (g.slug.to_string(), Index::ActionsByGroup(g.slug.clone())))
            .collect();
        Ok(by_index(&c, &self.0, values))
    }
    /// By State (ISO alpha-3 codes); an action for several States counts for each.
    async fn country(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        let values = c
            .countries
            .iter()
            .map(|k| {
                (
                    k.record.code.to_string(),
                    Index::ActionsByCountry(k.record.code),
                )
            })
            .collect();
        Ok(by_index(&c, &self.0, values))
    }
    /// By the year the action started.
    async fn year(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        let mut years: BTreeMap<i32, u64> = BTreeMap::new();
        for id in self.0.iter() {
            if let Some(r) = c.actions.get(id) {
                *years.entry(r.record.start_date.year()).or_default() += 1;
            }
        }
        Ok(Facets(facet(
            years
                .into_iter()
                .map(|(y, count)| FacetCount {
                    value: y.to_string(),
                    count,
                })
                .collect(),
        )))
    }
}

connection!(
    ActionConnection,
    ActionEdge,
    Action,
    "action",
    /// Counts over the whole filtered set (not just this page), per facet.
    async fn facets(&self) -> ActionFacets {
        ActionFacets(self.set.clone())
    }
);

/// A page of the actions in one posting list of the request's catalog (those of a State, a
/// theme or a group).
#[allow(clippy::too_many_arguments)]
pub fn actions_within(
    ctx: &async_graphql::Context<'_>,
    index: Index,
    filter: Option<ActionFilter>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<ActionConnection> {
    let c = super::catalog(ctx)?;
    actions(&c, c.list(&index), filter, first, after, last, before)
}

pub fn actions(
    c: &Catalog,
    within: &RoaringBitmap,
    filter: Option<ActionFilter>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<ActionConnection> {
    let req = page_request(first, after, last, before)?;
    let set = Arc::new(filter.unwrap_or_default().evaluate(c, within)?);
    let page = c.actions.page(&set, &req, |r| r.id.as_str());
    let (edges, info) = edges(page, |id| c.actions.get(id).cloned().map(Action));
    Ok(ActionConnection::new(edges, info, set.len(), set))
}
