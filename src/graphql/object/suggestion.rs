//! Explained link suggestions and the rights-regression view (the scoring lives in
//! [`crate::catalog::suggest`] and [`crate::catalog::regressions`]).

use async_graphql::{Context, Object, Result};

use super::{catalog, themes_of, Measure, Recommendation, Theme};
use crate::catalog::regressions;
use crate::catalog::suggest::{self, Suggestion};
use crate::graphql::cost::heavy;
use crate::graphql::errors::bad_input;
use crate::model::CountryCode;

/// The most suggestions one field returns.
pub const MAX_SUGGESTIONS: i32 = 100;

pub fn suggestion_count(first: Option<i32>) -> Result<usize> {
    match first.unwrap_or(10) {
        n if (0..=MAX_SUGGESTIONS).contains(&n) => Ok(n as usize),
        n => Err(bad_input(
            "first",
            format!("must be between 0 and {MAX_SUGGESTIONS}, got {n}"),
        )),
    }
}

/// A measure that may implement (or run against) a recommendation, with why.
pub struct MeasureSuggestion(pub Suggestion);

/// A measure that may implement (or run against) a recommendation, with why.
#[Object]
impl MeasureSuggestion {
    /// The suggested measure.
    async fn measure(&self, ctx: &Context<'_>) -> Result<Option<Measure>> {
        Ok(catalog(ctx)?
            .measures
            .get(self.0.measure)
            .cloned()
            .map(Measure))
    }
    /// How well it matches; higher is better (see the schema's description of
    /// `suggestedMeasures` for the formula).
    async fn score(&self) -> f64 {
        self.0.score
    }
    /// Why, one reason per contributing factor ("shares theme right-to-health", "matching
    /// words: prison, release", "in force 2020-03-16 to 2020-06-01, after the review …").
    async fn reasons(&self) -> &[String] {
        &self.0.reasons
    }
}

/// A recommendation a measure may implement (or run against), with why.
pub struct RecommendationSuggestion(pub Suggestion);

/// A recommendation a measure may implement (or run against), with why.
#[Object]
impl RecommendationSuggestion {
    /// The suggested recommendation.
    async fn recommendation(&self, ctx: &Context<'_>) -> Result<Option<Recommendation>> {
        Ok(catalog(ctx)?
            .recommendations
            .get(self.0.recommendation)
            .cloned()
            .map(Recommendation))
    }
    /// How well it matches; higher is better.
    async fn score(&self) -> f64 {
        self.0.score
    }
    /// Why, one reason per contributing factor.
    async fn reasons(&self) -> &[String] {
        &self.0.reasons
    }
}

/// `Recommendation.suggestedMeasures`: scored on a blocking thread, against the request's
/// deadline (see [`heavy`]).
pub async fn suggested_measures(
    ctx: &Context<'_>,
    recommendation: u32,
    first: Option<i32>,
) -> Result<Vec<MeasureSuggestion>> {
    let n = suggestion_count(first)?;
    let c = catalog(ctx)?.clone(); // owned: the work runs on another thread
    let found = heavy(ctx, move |deadline| {
        suggest::measures_for(&c, recommendation, n, deadline)
    })
    .await?;
    Ok(found.into_iter().map(MeasureSuggestion).collect())
}

/// `Measure.suggestedRecommendations`: scored on a blocking thread, against the request's
/// deadline (see [`heavy`]).
pub async fn suggested_recommendations(
    ctx: &Context<'_>,
    measure: u32,
    first: Option<i32>,
) -> Result<Vec<RecommendationSuggestion>> {
    let n = suggestion_count(first)?;
    let c = catalog(ctx)?.clone(); // owned: the work runs on another thread
    let found = heavy(ctx, move |deadline| {
        suggest::recommendations_for(&c, measure, n, deadline)
    })
    .await?;
    Ok(found.into_iter().map(RecommendationSuggestion).collect())
}

/// `Country.regressions`: found on a blocking thread, once a core is free and if the
/// request's deadline has not passed (see [`heavy`]).
pub async fn regressions_of(ctx: &Context<'_>, country: CountryCode) -> Result<Vec<Regression>> {
    let c = catalog(ctx)?.clone(); // owned: the work runs on another thread
    let found = heavy(ctx, move |_| Ok(regressions::regressions(&c, country))).await?;
    Ok(found.into_iter().map(Regression).collect())
}

/// A measure that may have set back rights the State had committed to.
pub struct Regression(pub regressions::Regression);

/// A measure that may have set back rights the State had committed to: linked as CONTRADICTS
/// to a recommendation, or in a restrictive category (MOVEMENT, ASSEMBLY, EMERGENCY_POWERS,
/// PRIVACY), while the State had SUPPORTED recommendations on the themes it affects.
#[Object]
impl Regression {
    /// The measure.
    async fn measure(&self, ctx: &Context<'_>) -> Result<Option<Measure>> {
        Ok(catalog(ctx)?
            .measures
            .get(self.0.measure)
            .cloned()
            .map(Measure))
    }
    /// Why it is listed ("restrictive category MOVEMENT", "linked as CONTRADICTS to R-…").
    async fn reasons(&self) -> &[String] {
        &self.0.reasons
    }
    /// The affected themes on which the State had supported recommendations.
    async fn themes(&self, ctx: &Context<'_>) -> Result<Vec<Theme>> {
        Ok(themes_of(catalog(ctx)?.as_ref(), &self.0.themes))
    }
    /// The SUPPORTED recommendations it runs against, in ref order.
    async fn supported_recommendations(&self, ctx: &Context<'_>) -> Result<Vec<Recommendation>> {
        let c = catalog(ctx)?;
        Ok(self
            .0
            .recommendations
            .iter()
            .filter_map(|&r| c.recommendations.get(r).cloned().map(Recommendation))
            .collect())
    }
}
