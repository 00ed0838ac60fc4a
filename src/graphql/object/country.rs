use std::sync::Arc;

use async_graphql::{Context, Object, Result, Value, ID};
use roaring::RoaringBitmap;

use super::measure::{measures, MeasureConnection};
use super::recommendation::{recommendations, RecommendationConnection};
use super::{catalog, GoodPractice, Session};
use crate::catalog::{page, Catalog, Row};
use crate::graphql::connection::{connection, edges, page_request};
use crate::graphql::filter::{CountryFilter, MeasureFilter, RecommendationFilter};
use crate::graphql::ids::global_id;
use crate::graphql::leaves::Plain;
use crate::graphql::scalars::UnRegionalGroup;
use crate::model;
use crate::store::Index;

/// A State: one of the 193 UN Member States, the State of Palestine or the Holy See.
#[derive(Clone)]
pub struct Country(pub Arc<Row<model::Country>>);

/// A State: one of the 193 UN Member States, the State of Palestine or the Holy See.
#[Object(serial)]
impl Country {
    /// A global id, opaque and stable across restarts and export/import.
    pub async fn id(&self) -> ID {
        global_id("Country", self.0.record.code.as_str())
    }
    /// ISO 3166-1 alpha-3 code, e.g. `UKR`.
    async fn code(&self) -> &str {
        self.0.record.code.as_str()
    }
    /// ISO 3166-1 alpha-2 code, e.g. `UA`.
    async fn iso2(&self) -> Option<&str> {
        self.0.record.iso2.as_ref().map(|c| c.as_str())
    }
    /// The short English name.
    async fn name(&self) -> &str {
        &self.0.record.name
    }
    /// UN geoscheme region, e.g. `Europe`.
    async fn region(&self) -> Option<&str> {
        self.0.record.region.as_deref()
    }
    /// UN geoscheme subregion, e.g. `Eastern Europe`.
    async fn subregion(&self) -> Option<&str> {
        self.0.record.subregion.as_deref()
    }
    /// The UN regional group, if the State belongs to one.
    async fn un_regional_group(&self) -> Option<UnRegionalGroup> {
        self.0.record.un_regional_group.map(Into::into)
    }
    /// Recommendations this State received as State under review.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, last, child_complexity)")]
    async fn recommendations_received(
        &self,
        ctx: &Context<'_>,
        filter: Option<RecommendationFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<RecommendationConnection> {
        let c = catalog(ctx)?;
        let within = c.list(&Index::RecommendationsReceived(self.0.record.code));
        recommendations(&c, within, filter, first, after, last, before)
    }
    /// Recommendations this State made to others (joint ones included).
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, last, child_complexity)")]
    async fn recommendations_made(
        &self,
        ctx: &Context<'_>,
        filter: Option<RecommendationFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<RecommendationConnection> {
        let c = catalog(ctx)?;
        let within = c.list(&Index::RecommendationsMade(self.0.record.code));
        recommendations(&c, within, filter, first, after, last, before)
    }
    /// The COVID-19 measures this State took.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, last, child_complexity)")]
    async fn measures(
        &self,
        ctx: &Context<'_>,
        filter: Option<MeasureFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<MeasureConnection> {
        let c = catalog(ctx)?;
        let within = c.list(&Index::MeasuresByCountry(self.0.record.code));
        measures(&c, within, filter, first, after, last, before)
    }
    /// Good practices of this State, in key order.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn good_practices(&self, ctx: &Context<'_>) -> Result<Vec<GoodPractice>> {
        let c = catalog(ctx)?;
        let mut rows: Vec<_> = c
            .list(&Index::GoodPracticesByCountry(self.0.record.code))
            .iter()
            .filter_map(|id| c.good_practices.get(id).cloned())
            .collect();
        rows.sort_by(|a, b| a.record.id.cmp(&b.record.id));
        Ok(rows.into_iter().map(GoodPractice).collect())
    }
    /// Measures of this State that may have set back rights it had committed to: linked as
    /// CONTRADICTS to a recommendation, or in a restrictive category (MOVEMENT, ASSEMBLY,
    /// EMERGENCY_POWERS, PRIVACY), in force while the State had SUPPORTED recommendations on
    /// the themes the measure affects (its own and its category's). Ordered by start date.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn regressions(&self, ctx: &Context<'_>) -> Result<Vec<super::suggestion::Regression>> {
        super::suggestion::regressions_of(ctx, self.0.record.code).await
    }
    /// Issues of concern about this State, in key order.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, last, child_complexity)")]
    async fn concerns(
        &self,
        ctx: &Context<'_>,
        filter: Option<crate::graphql::filter::ConcernFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<super::ConcernConnection> {
        super::concern::concerns_within(
            ctx,
            crate::store::Index::ConcernsByCountry(self.0.record.code),
            filter,
            first,
            after,
            last,
            before,
        )
    }
    /// Actions of UN Human Rights for this State, in key order.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, last, child_complexity)")]
    async fn actions(
        &self,
        ctx: &Context<'_>,
        filter: Option<crate::graphql::filter::ActionFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<super::ActionConnection> {
        super::action::actions_within(
            ctx,
            crate::store::Index::ActionsByCountry(self.0.record.code),
            filter,
            first,
            after,
            last,
            before,
        )
    }
    /// The sessions in which this State was reviewed, in session order.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn reviews(&self, ctx: &Context<'_>) -> Result<Vec<Session>> {
        let c = catalog(ctx)?;
        Ok(c.list(&Index::CountryReviews(self.0.record.code))
            .iter()
            .filter_map(|n| model::SessionNumber::new(n as i64).ok())
            .filter_map(|n| c.session(n).cloned().map(Session))
            .collect())
    }
}

/// The fields of a State that `recommendingStates { name }` and the like read, without a
/// future each (see `graphql::leaves`); they must give what the resolvers above give.
impl Plain for Country {
    fn plain(&self, name: &str) -> Option<Value> {
        let r = &self.0.record;
        let text = |v: &str| Value::String(v.to_owned());
        let optional = |v: Option<&str>| v.map_or(Value::Null, text);
        Some(match name {
            "code" => text(r.code.as_str()),
            "iso2" => optional(r.iso2.as_ref().map(|c| c.as_str())),
            "name" => text(&r.name),
            "region" => optional(r.region.as_deref()),
            "subregion" => optional(r.subregion.as_deref()),
            _ => return None,
        })
    }
}

connection!(CountryConnection, CountryEdge, Country, "country");

pub fn countries(
    c: &Catalog,
    filter: Option<CountryFilter>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<CountryConnection> {
    let req = page_request(first, after, last, before)?;
    let set: Arc<RoaringBitmap> = Arc::new(filter.unwrap_or_default().evaluate(c));
    let order: Vec<u32> = (0..c.countries.len() as u32).collect();
    let position = |cursor: &str| {
        c.countries
            .binary_search_by(|k| k.record.code.as_str().cmp(cursor))
            .map(|p| p as u32)
            .map_err(|p| p as u32)
    };
    let page = page::page(&order, &order, &set, &req, position, |i| {
        c.countries[i as usize].record.code.to_string()
    });
    let (edges, info) = edges(page, |i| c.countries.get(i as usize).cloned().map(Country));
    Ok(CountryConnection::new(edges, info, set.len(), set))
}
