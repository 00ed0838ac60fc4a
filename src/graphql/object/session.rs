use std::sync::Arc;

use async_graphql::{Context, Object, Result, ID};

use super::recommendation::{recommendations, RecommendationConnection};
use super::{catalog, Country};
use crate::catalog::Row;
use crate::graphql::filter::RecommendationFilter;
use crate::graphql::ids::global_id;
use crate::graphql::scalars::Date;
use crate::model;
use crate::store::Index;

/// A UPR cycle: every State is reviewed once in each.
#[derive(Clone)]
pub struct Cycle(pub Arc<Row<model::Cycle>>);

/// A UPR cycle: every State is reviewed once in each.
#[Object(serial)]
impl Cycle {
    /// A global id, opaque and stable across restarts and export/import.
    pub async fn id(&self) -> ID {
        global_id("Cycle", &self.0.record.number.to_string())
    }
    /// 1 for the first cycle (from 2008), and so on.
    async fn number(&self) -> i32 {
        self.0.record.number.get() as i32
    }
    /// The first day of its first session.
    async fn start_date(&self) -> Option<Date> {
        self.0.record.start_date.map(Date)
    }
    /// The last day of its last session; null while the cycle runs.
    async fn end_date(&self) -> Option<Date> {
        self.0.record.end_date.map(Date)
    }
    /// Its sessions, in order.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn sessions(&self, ctx: &Context<'_>) -> Result<Vec<Session>> {
        let c = catalog(ctx)?;
        Ok(c.list(&Index::CycleSessions(self.0.record.number))
            .iter()
            .filter_map(|n| model::SessionNumber::new(n as i64).ok())
            .filter_map(|n| c.session(n).cloned().map(Session))
            .collect())
    }
}

/// A session of the UPR Working Group and the States it reviewed.
#[derive(Clone)]
pub struct Session(pub Arc<Row<model::Session>>);

/// A session of the UPR Working Group and the States it reviewed.
#[Object(serial)]
impl Session {
    /// A global id, opaque and stable across restarts and export/import.
    pub async fn id(&self) -> ID {
        global_id("Session", &self.0.record.number.to_string())
    }
    /// The Working Group session number, e.g. 36.
    async fn number(&self) -> i32 {
        self.0.record.number.get() as i32
    }
    /// The cycle the session belongs to.
    async fn cycle(&self, ctx: &Context<'_>) -> Result<Option<Cycle>> {
        Ok(catalog(ctx)?.cycle(self.0.record.cycle).cloned().map(Cycle))
    }
    /// The first day of the session, where known.
    async fn start_date(&self) -> Option<Date> {
        self.0.record.start_date.map(Date)
    }
    /// The last day of the session, where known.
    async fn end_date(&self) -> Option<Date> {
        self.0.record.end_date.map(Date)
    }
    /// The States reviewed in this session, by code.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn states_under_review(&self, ctx: &Context<'_>) -> Result<Vec<Country>> {
        super::related(ctx, &self.0.record.states_under_review, super::countries_of)
    }
    /// The recommendations made in this session.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, last, child_complexity)")]
    async fn recommendations(
        &self,
        ctx: &Context<'_>,
        filter: Option<RecommendationFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<RecommendationConnection> {
        let c = catalog(ctx)?;
        let within = c.list(&Index::SessionRecommendations(self.0.record.number));
        recommendations(&c, within, filter, first, after, last, before)
    }
}
