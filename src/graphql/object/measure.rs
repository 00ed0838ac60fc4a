use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::{Context, Object, Result, ID};
use roaring::RoaringBitmap;

use super::recommendation::facet;
use super::{
    catalog, Country, FacetCount, Facets, GoodPractice, Group, Link, MeasureCategoryInfo, Sdg,
    Theme,
};
use crate::catalog::{Catalog, Row};
use crate::graphql::connection::{connection, edges, page_request};
use crate::graphql::filter::MeasureFilter;
use crate::graphql::ids::global_id;
use crate::graphql::leaves::Leaf;
use crate::graphql::scalars::{self, Date, LinkStatus};
use crate::model::{self, MeasureCategory};
use crate::store::Index;

/// A COVID-19 measure taken by a State.
#[derive(Clone)]
pub struct Measure(pub Arc<Row<model::Measure>>);

/// A COVID-19 measure taken by a State.
#[Object(serial)]
impl Measure {
    /// A global id, opaque and stable across restarts and export/import.
    pub async fn id(&self) -> ID {
        global_id("Measure", self.0.record.id.as_str())
    }
    /// The dataset's key for this measure (e.g. `M-UKR-001`).
    #[graphql(name = "ref")]
    async fn reference(&self) -> &str {
        self.0.record.id.as_str()
    }
    /// The State that took it.
    async fn country(&self, ctx: &Context<'_>) -> Result<Leaf<Country>> {
        Ok(Leaf(
            catalog(ctx)?
                .country(self.0.record.country)
                .cloned()
                .map(Country),
        ))
    }
    /// A short name of the measure.
    async fn title(&self) -> &str {
        &self.0.record.title
    }
    /// What the measure did, as the source describes it.
    async fn description(&self) -> &str {
        &self.0.record.description
    }
    /// What kind of measure it is.
    async fn category(&self) -> scalars::MeasureCategory {
        self.0.record.category.into()
    }
    /// The category's name, themes and OxCGRT indicators.
    async fn category_info(&self, ctx: &Context<'_>) -> Result<Option<MeasureCategoryInfo>> {
        Ok(catalog(ctx)?
            .measure_category(self.0.record.category)
            .cloned()
            .map(MeasureCategoryInfo))
    }
    /// The first day in force.
    async fn start_date(&self) -> Date {
        Date(self.0.record.start_date)
    }
    /// The last day in force; null while in force or unknown.
    async fn end_date(&self) -> Option<Date> {
        self.0.record.end_date.map(Date)
    }
    /// Themes the measure bears on.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn themes(&self, ctx: &Context<'_>) -> Result<Vec<Theme>> {
        super::related(ctx, &self.0.record.themes, super::themes_of)
    }
    /// Affected-person groups the measure concerns.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn groups(&self, ctx: &Context<'_>) -> Result<Vec<Group>> {
        super::related(ctx, &self.0.record.groups, super::groups_of)
    }
    /// SDG goals the measure serves.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn sdgs(&self, ctx: &Context<'_>) -> Result<Vec<Sdg>> {
        super::related(ctx, &self.0.record.sdgs, super::sdgs_of)
    }
    /// A citation of the source.
    async fn source(&self) -> Option<&str> {
        self.0.record.source.as_deref()
    }
    /// The source's own code, e.g. `OxCGRT C1=3`.
    async fn source_code(&self) -> Option<&str> {
        self.0.record.source_code.as_deref()
    }
    /// Where the source can be read.
    async fn source_url(&self) -> Option<&str> {
        self.0.record.source_url.as_deref()
    }
    /// Links to the recommendations this measure bears on, each with its recommendation;
    /// all statuses unless `status` is given.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn links(&self, ctx: &Context<'_>, status: Option<Vec<LinkStatus>>) -> Result<Vec<Link>> {
        let c = catalog(ctx)?;
        Ok(super::links_with_status(
            c.links_of_measure(self.0.id).into_iter(),
            status,
        ))
    }
    /// Issues of concern that this measure mitigates, in key order.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn concerns(&self, ctx: &Context<'_>) -> Result<Vec<super::Concern>> {
        let c = catalog(ctx)?;
        Ok(super::concern::concerns_in(
            &c,
            c.list(&Index::ConcernsByMeasure(self.0.id)),
        ))
    }
    /// Actions of UN Human Rights that supported this measure, in key order.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn actions(&self, ctx: &Context<'_>) -> Result<Vec<super::Action>> {
        let c = catalog(ctx)?;
        Ok(super::action::actions_in(
            &c,
            c.list(&Index::ActionsByMeasure(self.0.id)),
        ))
    }
    /// Good practices that draw on this measure.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn good_practices(&self, ctx: &Context<'_>) -> Result<Vec<GoodPractice>> {
        let c = catalog(ctx)?;
        Ok(super::good_practices_in(
            &c,
            c.list(&Index::GoodPracticesByMeasure(self.0.id)),
        ))
    }
    /// Recommendations received by its State that it may implement (or run against), best
    /// first, with score and reasons (the score of `Recommendation.suggestedMeasures`);
    /// linked and REJECTED pairs are left out. `first` defaults to 10, at most 100.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, None, child_complexity)")]
    async fn suggested_recommendations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> Result<Vec<super::suggestion::RecommendationSuggestion>> {
        super::suggestion::suggested_recommendations(ctx, self.0.id, first).await
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
            crate::model::Entity::Measure,
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

/// Counts over the whole filtered set of measures.
pub struct MeasureFacets(Arc<RoaringBitmap>);

/// Counts over the whole filtered set of measures.
#[Object(serial)]
impl MeasureFacets {
    /// By measure category.
    async fn category(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        Ok(Facets(facet(
            MeasureCategory::ALL
                .iter()
                .map(|&k| FacetCount {
                    value: k.as_str().into(),
                    count: c
                        .list(&Index::MeasuresByCategory(k))
                        .intersection_len(&self.0),
                })
                .collect(),
        )))
    }
    /// By State (ISO alpha-3 codes).
    async fn country(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        Ok(Facets(facet(
            c.countries
                .iter()
                .map(|k| FacetCount {
                    value: k.record.code.to_string(),
                    count: c
                        .list(&Index::MeasuresByCountry(k.record.code))
                        .intersection_len(&self.0),
                })
                .collect(),
        )))
    }
    /// By theme slug.
    async fn theme(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        Ok(Facets(facet(
            c.themes
                .iter()
                .map(|t| FacetCount {
                    value: t.slug.to_string(),
                    count: c
                        .list(&Index::MeasuresByTheme(t.slug.clone()))
                        .intersection_len(&self.0),
                })
                .collect(),
        )))
    }
    /// By the year the measure started.
    async fn year(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        let mut years: BTreeMap<i32, u64> = BTreeMap::new();
        for id in self.0.iter() {
            if let Some(m) = c.measures.get(id) {
                *years.entry(m.record.start_date.year()).or_default() += 1;
            }
        }
        Ok(Facets(facet(
            years
                .into_iter()
                .map(|(y, n)| FacetCount {
                    value: y.to_string(),
                    count: n,
                })
                .collect(),
        )))
    }
}

connection!(
    MeasureConnection,
    MeasureEdge,
    Measure,
    "measure",
    /// Counts over the whole filtered set (not just this page), per facet.
    async fn facets(&self) -> MeasureFacets {
        MeasureFacets(self.set.clone())
    }
);

pub fn measures(
    c: &Catalog,
    within: &RoaringBitmap,
    filter: Option<MeasureFilter>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<MeasureConnection> {
    let req = page_request(first, after, last, before)?;
    let set = Arc::new(filter.unwrap_or_default().evaluate(c, within)?);
    let page = c.measures.page(&set, &req, |r| r.id.as_str());
    let (edges, info) = edges(page, |id| c.measures.get(id).cloned().map(Measure));
    Ok(MeasureConnection::new(edges, info, set.len(), set))
}
