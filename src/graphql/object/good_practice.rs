use std::sync::Arc;

use async_graphql::{Context, Object, Result, ID};
use roaring::RoaringBitmap;

use super::{Country, Group, Measure, Recommendation, Sdg, Theme};
use crate::catalog::{Catalog, Row};
use crate::graphql::connection::{connection, edges, page_request};
use crate::graphql::filter::GoodPracticeFilter;
use crate::graphql::ids::global_id;
use crate::model;

/// A practice worth copying, with the countries, measures and recommendations it draws on.
#[derive(Clone)]
pub struct GoodPractice(pub Arc<Row<model::GoodPractice>>);

/// A practice worth copying, with the countries, measures and recommendations it draws on.
#[Object(serial)]
impl GoodPractice {
    /// A global id, opaque and stable across restarts and export/import.
    pub async fn id(&self) -> ID {
        global_id("GoodPractice", self.0.record.id.as_str())
    }
    /// The dataset's key (e.g. `GP-001`).
    #[graphql(name = "ref")]
    async fn reference(&self) -> &str {
        self.0.record.id.as_str()
    }
    /// A short name of the practice.
    async fn title(&self) -> &str {
        &self.0.record.title
    }
    /// What was done and to what effect.
    async fn description(&self) -> &str {
        &self.0.record.description
    }
    /// The States where it was done.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn countries(&self, ctx: &Context<'_>) -> Result<Vec<Country>> {
        super::related(ctx, &self.0.record.countries, super::countries_of)
    }
    /// The year it was reported.
    async fn year(&self) -> Option<i32> {
        self.0.record.year
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
    /// SDG goals it serves.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn sdgs(&self, ctx: &Context<'_>) -> Result<Vec<Sdg>> {
        super::related(ctx, &self.0.record.sdgs, super::sdgs_of)
    }
    /// The measures the practice draws on.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn measures(&self, ctx: &Context<'_>) -> Result<Vec<Measure>> {
        super::related(ctx, &self.0.record.measures, super::measures_of)
    }
    /// The recommendations the practice answers.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn recommendations(&self, ctx: &Context<'_>) -> Result<Vec<Recommendation>> {
        super::related(
            ctx,
            &self.0.record.recommendations,
            super::recommendations_of,
        )
    }
    /// A citation of the source.
    async fn source(&self) -> Option<&str> {
        self.0.record.source.as_deref()
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
            crate::model::Entity::GoodPractice,
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

connection!(
    GoodPracticeConnection,
    GoodPracticeEdge,
    GoodPractice,
    "good practice"
);

pub fn good_practices(
    c: &Catalog,
    within: &RoaringBitmap,
    filter: Option<GoodPracticeFilter>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<GoodPracticeConnection> {
    let req = page_request(first, after, last, before)?;
    let set = Arc::new(filter.unwrap_or_default().evaluate(c, within)?);
    let page = c.good_practices.page(&set, &req, |r| r.id.as_str());
    let (edges, info) = edges(page, |id| {
        c.good_practices.get(id).cloned().map(GoodPractice)
    });
    Ok(GoodPracticeConnection::new(edges, info, set.len(), set))
}
