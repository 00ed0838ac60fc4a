//! Filter inputs and their evaluation to sets of ids. In every filter a list means "any of"
//! and fields combine with AND; an absent or empty list does not filter.
//!
//! Evaluation needs only a [`Catalog`], so the same filter serves the GraphQL connections and
//! the downloads (`server::downloads`), which read it from JSON with [`from_json`].

use async_graphql::{InputObject, InputObjectType, Result};
use roaring::RoaringBitmap;

use super::errors::bad_input;
use super::scalars::{
    ActionKind, ConcernKind, Date, LinkRelation, LinkStatus, MeasureCategory, Response, Severity,
    UnRegionalGroup,
};
use crate::catalog::regressions::overlaps_cycle;
use crate::catalog::text::TextIndex;
use crate::catalog::Catalog;
use crate::model::{self, CountryCode, CycleNumber, Slug};
use crate::store::Index;

/// Filters recommendations.
#[derive(InputObject, Debug, Clone, Default)]
pub struct RecommendationFilter {
    /// ISO 3166-1 alpha-3 codes of the State under review.
    pub state_under_review: Option<Vec<String>>,
    /// ISO 3166-1 alpha-3 codes of a recommending State.
    pub recommending_state: Option<Vec<String>>,
    /// UN regional group of the State under review.
    pub un_regional_group: Option<Vec<UnRegionalGroup>>,
    /// UN regional group of a recommending State.
    pub recommending_regional_group: Option<Vec<UnRegionalGroup>>,
    /// UPR cycle numbers.
    pub cycle: Option<Vec<i32>>,
    /// UPR Working Group session numbers.
    pub session: Option<Vec<i32>>,
    /// The State's response.
    pub response: Option<Vec<Response>>,
    /// UPR Info action categories, 1 (minimal) to 5 (specific action).
    pub action_category: Option<Vec<i32>>,
    /// Theme slugs (see `themes`).
    pub theme: Option<Vec<String>>,
    /// Affected-group slugs (see `groups`).
    pub group: Option<Vec<String>>,
    /// SDG goals, 1 to 17.
    pub sdg: Option<Vec<i32>>,
    /// Words that must all appear in the text (English stemming: "violations" finds
    /// "violation").
    pub text: Option<String>,
    /// With `true`, only recommendations with at least one CONFIRMED link; with `false`,
    /// only those without.
    pub linked: Option<bool>,
    /// Action categories as the automatic assessment gives them (`assessment.actionCategory`),
    /// 1 to 5, whatever UPR Info coded.
    pub assessed_action_category: Option<Vec<i32>>,
    /// The assessment's SMART total (`assessment.smart.total`) within this range.
    pub smart_score: Option<ScoreRange>,
}

/// A range of scores in [0, 1]; an end left out is open. `max` includes its end, `below`
/// leaves it out (the bands of the `smartScore` facet are `{ min, below }` ranges, the last
/// one `{ min: 0.8 }`).
#[derive(InputObject, Debug, Clone, Copy, Default)]
pub struct ScoreRange {
    /// At least this.
    pub min: Option<f64>,
    /// At most this.
    pub max: Option<f64>,
    /// Less than this.
    pub below: Option<f64>,
}

/// The bands of the `smartScore` facet: `[0, 0.2)`, `[0.2, 0.4)`, `[0.4, 0.6)`, `[0.6, 0.8)`
/// and `[0.8, 1]`, each with its facet value and the filter range that selects it.
pub const SMART_BANDS: [(&str, ScoreRange); 5] = [
    ("0.0-0.2", ScoreRange::band(0.0, Some(0.2))),
    ("0.2-0.4", ScoreRange::band(0.2, Some(0.4))),
    ("0.4-0.6", ScoreRange::band(0.4, Some(0.6))),
    ("0.6-0.8", ScoreRange::band(0.6, Some(0.8))),
    ("0.8-1.0", ScoreRange::band(0.8, None)),
];

impl ScoreRange {
    const fn band(min: f64, below: Option<f64>) -> ScoreRange {
        ScoreRange {
            min: Some(min),
            max: None,
            below,
        }
    }

    /// Refuses an end outside [0, 1] or a `min` above the `max` (or not below `below`).
    fn check(&self, field: &str) -> Result<()> {
        for (end, v) in [("min", self.min), ("max", self.max), ("below", self.below)] {
            if let Some(v) = v {
                if !(0.0..=1.0).contains(&v) {
                    return Err(bad_input(
                        &format!("{field}.{end}"),
                        format!("{v} is outside [0, 1]"),
                    ));
                }
            }
        }
        if let (Some(min), Some(max)) = (self.min, self.max) {
            if min > max {
                return Err(bad_input(
                    &format!("{field}.max"),
                    format!("{max} is below min {min}"),
                ));
            }
        }
        if let (Some(min), Some(below)) = (self.min, self.below) {
            if below <= min {
                return Err(bad_input(
                    &format!("{field}.below"),
                    format!("{below} is not above min {min}"),
                ));
            }
        }
        Ok(())
    }

    /// Whether a score (an assessment's `f32`, widened as the filter widens it) is in range.
    pub fn contains(&self, v: f64) -> bool {
        self.min.is_none_or(|m| v >= m)
            && self.max.is_none_or(|m| v <= m)
            && self.below.is_none_or(|m| v < m)
    }
}

/// Filters COVID-19 measures.
#[derive(InputObject, Debug, Clone, Default)]
pub struct MeasureFilter {
    /// ISO 3166-1 alpha-3 codes of the State that took the measure.
    pub country: Option<Vec<String>>,
    /// UN regional group of that State.
    pub un_regional_group: Option<Vec<UnRegionalGroup>>,
    /// Measure categories.
    pub category: Option<Vec<MeasureCategory>>,
    /// Theme slugs.
    pub theme: Option<Vec<String>>,
    /// Affected-group slugs.
    pub group: Option<Vec<String>>,
    /// SDG goals, 1 to 17.
    pub sdg: Option<Vec<i32>>,
    /// In force on that day (started on or before it, not ended before it).
    pub active_on: Option<Date>,
    /// Started on or after this day.
    pub started_from: Option<Date>,
    /// Started on or before this day.
    pub started_to: Option<Date>,
    /// In force at some time during this UPR cycle (the measure's dates overlap the cycle's).
    pub in_force_during_cycle: Option<i32>,
    /// Words that must all appear in the title or description.
    pub text: Option<String>,
    /// With `true`, only measures with at least one CONFIRMED link; `false`, only without.
    pub linked: Option<bool>,
}

/// Filters good practices.
#[derive(InputObject, Debug, Clone, Default)]
pub struct GoodPracticeFilter {
    /// ISO 3166-1 alpha-3 codes of a country of the practice.
    pub country: Option<Vec<String>>,
    /// Theme slugs.
    pub theme: Option<Vec<String>>,
    /// Affected-group slugs.
    pub group: Option<Vec<String>>,
    /// SDG goals, 1 to 17.
    pub sdg: Option<Vec<i32>>,
    /// Years the practice was reported.
    pub year: Option<Vec<i32>>,
    /// Words that must all appear in the title or description.
    pub text: Option<String>,
}

/// Filters issues of concern.
#[derive(InputObject, Debug, Clone, Default)]
pub struct ConcernFilter {
    /// ISO 3166-1 alpha-3 codes of a State the concern is about.
    pub country: Option<Vec<String>>,
    /// UN regional group of a State the concern is about.
    pub un_regional_group: Option<Vec<UnRegionalGroup>>,
    /// Trend, risk or early warning.
    pub kind: Option<Vec<ConcernKind>>,
    /// How grave it is.
    pub severity: Option<Vec<Severity>>,
    /// Theme slugs.
    pub theme: Option<Vec<String>>,
    /// Affected-group slugs.
    pub group: Option<Vec<String>>,
    /// SDG goals, 1 to 17.
    pub sdg: Option<Vec<i32>>,
    /// Reported on or after this day.
    pub reported_from: Option<Date>,
    /// Reported on or before this day.
    pub reported_to: Option<Date>,
    /// Words that must all appear in the title or description.
    pub text: Option<String>,
}

/// Filters actions of UN Human Rights.
#[derive(InputObject, Debug, Clone, Default)]
pub struct ActionFilter {
    /// ISO 3166-1 alpha-3 codes of a State the action took place in or for.
    pub country: Option<Vec<String>>,
    /// UN regional group of such a State.
    pub un_regional_group: Option<Vec<UnRegionalGroup>>,
    /// The report's heading for the action.
    pub kind: Option<Vec<ActionKind>>,
    /// Theme slugs.
    pub theme: Option<Vec<String>>,
    /// Affected-group slugs.
    pub group: Option<Vec<String>>,
    /// SDG goals, 1 to 17.
    pub sdg: Option<Vec<i32>>,
    /// Started on or after this day.
    pub started_from: Option<Date>,
    /// Started on or before this day.
    pub started_to: Option<Date>,
    /// Words that must all appear in the title, description or outcome.
    pub text: Option<String>,
}

/// Filters links.
#[derive(InputObject, Debug, Clone, Default)]
pub struct LinkFilter {
    /// How the measure bears on the recommendation.
    pub relation: Option<Vec<LinkRelation>>,
    /// Review status.
    pub status: Option<Vec<LinkStatus>>,
    /// ISO 3166-1 alpha-3 codes: links whose recommendation was made to, or whose measure was
    /// taken by, one of these States.
    pub country: Option<Vec<String>>,
    /// Authors (token names) who created the link.
    pub created_by: Option<Vec<String>>,
}

/// Filters countries.
#[derive(InputObject, Debug, Clone, Default)]
pub struct CountryFilter {
    /// UN regional groups.
    pub un_regional_group: Option<Vec<UnRegionalGroup>>,
    /// UN geoscheme regions (`Africa`, `Americas`, `Asia`, `Europe`, `Oceania`).
    pub region: Option<Vec<String>>,
    /// Case-insensitive part of the name.
    pub name_contains: Option<String>,
}

/// Reads a filter given as JSON text exactly as GraphQL reads the same value given as a
/// variable: the same field names (camelCase), enum values, scalars and coercions (one value
/// where a list is expected is a list of one), by the same parsing code. `null` (or nothing)
/// is no filter. A field the filter does not have, or a field whose value is invalid, is a
/// `BAD_USER_INPUT` naming `filter.<field>`; text that is not a JSON object names `filter`.
pub fn from_json<T: InputObjectType + Default>(text: &str) -> Result<T> {
    use async_graphql::Value;
    let type_name = T::type_name();
    let value: serde_json::Value = if text.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(text).map_err(|e| bad_input("filter", format!("is not JSON: {e}")))?
    };
    let fields = match value {
        serde_json::Value::Null => return Ok(T::default()),
        serde_json::Value::Object(fields) => fields,
        _ => {
            return Err(bad_input(
                "filter",
                format!("must be a JSON object with fields of {type_name}"),
            ))
        }
    };
    // An input object's value lists every field it has, set or not.
    let known: Vec<String> = match T::default().to_value() {
        Value::Object(m) => m.keys().map(|k| k.to_string()).collect(),
        _ => vec![],
    };
    // Each field on its own first, so that an error names the field at fault.
    for (name, v) in &fields {
        let arg = format!("filter.{name}");
        if !known.contains(name) {
            return Err(bad_input(
                &arg,
                format!(
                    "{type_name} has no field {name:?}; its fields are {}",
                    known.join(", ")
                ),
            ));
        }
        let one = serde_json::Value::Object([(name.clone(), v.clone())].into_iter().collect());
        parse_input::<T>(&arg, one)?;
    }
    parse_input("filter", serde_json::Value::Object(fields))
}

/// `T` parsed from a JSON value by GraphQL's input parsing; an error names `arg`.
fn parse_input<T: InputObjectType>(arg: &str, json: serde_json::Value) -> Result<T> {
    let value = async_graphql::Value::from_json(json).map_err(|e| bad_input(arg, e))?;
    T::parse(Some(value)).map_err(|e| {
        let message = e.into_server_error(Default::default()).message;
        // Keep the innermost message: the field is named by `arg` already.
        let message = match message.split_once(" (occurred while parsing") {
            Some((inner, _)) => inner.to_owned(),
            None => message,
        };
        bad_input(arg, message)
    })
}

/// Keeps the members for which `keep` holds.
fn retain(acc: &mut RoaringBitmap, keep: impl Fn(u32) -> bool) {
    *acc = acc.iter().filter(|&i| keep(i)).collect();
}

fn non_empty<T>(v: &Option<Vec<T>>) -> Option<&[T]> {
    v.as_deref().filter(|v| !v.is_empty())
}

fn countries(catalog: &Catalog, arg: &str, codes: &[String]) -> Result<Vec<CountryCode>> {
    codes
        .iter()
        .map(|c| {
            let code = CountryCode::parse(c).map_err(|e| bad_input(arg, e))?;
            catalog
                .country(code)
                .map(|_| code)
                .ok_or_else(|| bad_input(arg, format!("unknown country {c:?}")))
        })
        .collect()
}

fn in_groups(catalog: &Catalog, groups: &[UnRegionalGroup]) -> Vec<CountryCode> {
    let groups: Vec<model::UnRegionalGroup> = groups.iter().map(|&g| g.into()).collect();
    catalog
        .countries
        .iter()
        .filter(|c| {
            c.record
                .un_regional_group
                .is_some_and(|g| groups.contains(&g))
        })
        .map(|c| c.record.code)
        .collect()
}

/// The stems of a text filter, or an error when it has no searchable word.
pub fn text_terms(catalog: &Catalog, arg: &str, text: &str) -> Result<Vec<String>> {
    let terms = catalog.analyzer.query_terms(text);
    if terms.is_empty() {
        return Err(bad_input(arg, format!("{text:?} has no searchable word")));
    }
    Ok(terms)
}

/// A set being narrowed by one filter field after another. Each method checks its field's
/// values (naming `arg` when one is invalid) and keeps the members found in the posting list
/// of any of them; an absent or empty field keeps everything.
struct Narrowing<'c> {
    c: &'c Catalog,
    set: RoaringBitmap,
}

impl<'c> Narrowing<'c> {
    fn new(c: &'c Catalog, within: &RoaringBitmap) -> Self {
        Narrowing {
            c,
            set: within.clone(),
        }
    }

    fn any_of(&mut self, lists: impl IntoIterator<Item = &'c RoaringBitmap>) {
        let mut union = RoaringBitmap::new();
        for l in lists {
            union |= l;
        }
        self.set &= union;
    }

    fn countries(
        &mut self,
        arg: &str,
        v: &Option<Vec<String>>,
        index: fn(CountryCode) -> Index,
    ) -> Result<()> {
        if let Some(v) = non_empty(v) {
            let c = self.c;
            let codes = countries(c, arg, v)?;
            self.any_of(codes.into_iter().map(|k| c.list(&index(k))));
        }
        Ok(())
    }

    fn regional_groups(
        &mut self,
        v: &Option<Vec<UnRegionalGroup>>,
        index: fn(CountryCode) -> Index,
    ) {
        if let Some(v) = non_empty(v) {
            let c = self.c;
            self.any_of(in_groups(c, v).into_iter().map(|k| c.list(&index(k))));
        }
    }

    fn themes(
        &mut self,
        arg: &str,
        v: &Option<Vec<String>>,
        index: fn(Slug) -> Index,
    ) -> Result<()> {
        let c = self.c;
        self.slugs(arg, "theme", v, |s| c.theme(s).is_some(), index)
    }

    fn groups(
        &mut self,
        arg: &str,
        v: &Option<Vec<String>>,
        index: fn(Slug) -> Index,
    ) -> Result<()> {
        let c = self.c;
        self.slugs(arg, "group", v, |s| c.group(s).is_some(), index)
    }

    fn slugs(
        &mut self,
        arg: &str,
        what: &str,
        v: &Option<Vec<String>>,
        exists: impl Fn(&str) -> bool,
        index: fn(Slug) -> Index,
    ) -> Result<()> {
        if let Some(v) = non_empty(v) {
            let slugs = v
                .iter()
                .map(|x| {
                    let s = Slug::parse(x).map_err(|e| bad_input(arg, e))?;
                    if exists(x) {
                        Ok(s)
                    } else {
                        Err(bad_input(arg, format!("unknown {what} slug {x:?}")))
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            let c = self.c;
            self.any_of(slugs.into_iter().map(|s| c.list(&index(s))));
        }
        Ok(())
    }

    /// A numeric field whose values `parse` checks and `list` maps to posting lists.
    fn numbers<T>(
        &mut self,
        arg: &str,
        v: &Option<Vec<i32>>,
        parse: impl Fn(i64) -> Result<T, model::InvalidValue>,
        list: impl Fn(T) -> &'c RoaringBitmap,
    ) -> Result<()> {
        if let Some(v) = non_empty(v) {
            let values = v
                .iter()
                .map(|&n| parse(n as i64).map_err(|e| bad_input(arg, e)))
                .collect::<Result<Vec<_>>>()?;
            self.any_of(values.into_iter().map(list));
        }
        Ok(())
    }

    fn sdgs(
        &mut self,
        arg: &str,
        v: &Option<Vec<i32>>,
        index: fn(model::SdgGoal) -> Index,
    ) -> Result<()> {
        let c = self.c;
        self.numbers(arg, v, model::SdgGoal::new, |g| c.list(&index(g)))
    }

    fn text(&mut self, arg: &str, text: &Option<String>, index: &TextIndex) -> Result<()> {
        if let Some(t) = text {
            let terms = text_terms(self.c, arg, t)?;
            self.set &= index.matching(&terms);
        }
        Ok(())
    }

    fn linked(&mut self, linked: Option<bool>, with_links: &RoaringBitmap) {
        match linked {
            Some(true) => self.set &= with_links,
            Some(false) => self.set -= with_links,
            None => {}
        }
    }
}

impl RecommendationFilter {
    /// The ids of the recommendations that pass, within `within`.
    pub fn evaluate(&self, catalog: &Catalog, within: &RoaringBitmap) -> Result<RoaringBitmap> {
        use Index as I;
        let c = catalog;
        let mut n = Narrowing::new(c, within);
        n.countries(
            "filter.stateUnderReview",
            &self.state_under_review,
            I::RecommendationsReceived,
        )?;
        n.countries(
            "filter.recommendingState",
            &self.recommending_state,
            I::RecommendationsMade,
        )?;
        n.regional_groups(&self.un_regional_group, I::RecommendationsReceived);
        n.regional_groups(&self.recommending_regional_group, I::RecommendationsMade);
        n.numbers("filter.cycle", &self.cycle, model::CycleNumber::new, |k| {
            c.recommendations_in_cycle(k)
        })?;
        n.numbers(
            "filter.session",
            &self.session,
            model::SessionNumber::new,
            |s| c.list(&I::SessionRecommendations(s)),
        )?;
        if let Some(v) = non_empty(&self.response) {
            n.any_of(
                v.iter()
                    .map(|&r| c.list(&I::RecommendationsByResponse(r.into()))),
            );
        }
        n.numbers(
            "filter.actionCategory",
            &self.action_category,
            model::ActionCategory::new,
            |a| c.list(&I::RecommendationsByAction(a)),
        )?;
        n.themes("filter.theme", &self.theme, I::RecommendationsByTheme)?;
        n.groups("filter.group", &self.group, I::RecommendationsByGroup)?;
        n.sdgs("filter.sdg", &self.sdg, I::RecommendationsBySdg)?;
        n.text("filter.text", &self.text, &c.recommendation_text)?;
        n.linked(self.linked, &c.linked_recommendations);
        let mut acc = n.set;
        self.retain_assessed(c, &mut acc)?;
        Ok(acc)
    }

    /// The assessment filters, last: they assess each recommendation still in the set (once
    /// per snapshot, see `catalog::assessments`), so every filter that narrows by index
    /// goes first.
    fn retain_assessed(&self, c: &Catalog, acc: &mut RoaringBitmap) -> Result<()> {
        let categories = non_empty(&self.assessed_action_category);
        if let Some(v) = categories {
            if let Some(bad) = v.iter().find(|a| !(1..=5).contains(*a)) {
                return Err(bad_input(
                    "filter.assessedActionCategory",
                    format!("{bad} is not an action category (1 to 5)"),
                ));
            }
        }
        if let Some(r) = &self.smart_score {
            r.check("filter.smartScore")?;
        }
        if categories.is_none() && self.smart_score.is_none() {
            return Ok(());
        }
        retain(acc, |id| {
            let Some(a) = c.assessment(id) else {
                return false;
            };
            categories.is_none_or(|v| v.contains(&i32::from(a.action_category)))
                && self
                    .smart_score
                    .is_none_or(|r| r.contains(f64::from(a.smart_total)))
        });
        Ok(())
    }
}

impl MeasureFilter {
    pub fn evaluate(&self, catalog: &Catalog, within: &RoaringBitmap) -> Result<RoaringBitmap> {
        use Index as I;
        let c = catalog;
        let mut n = Narrowing::new(c, within);
        n.countries("filter.country", &self.country, I::MeasuresByCountry)?;
        n.regional_groups(&self.un_regional_group, I::MeasuresByCountry);
        if let Some(v) = non_empty(&self.category) {
            n.any_of(v.iter().map(|&k| c.list(&I::MeasuresByCategory(k.into()))));
        }
        n.themes("filter.theme", &self.theme, I::MeasuresByTheme)?;
        n.groups("filter.group", &self.group, I::MeasuresByGroup)?;
        n.sdgs("filter.sdg", &self.sdg, I::MeasuresBySdg)?;
        n.text("filter.text", &self.text, &c.measure_text)?;
        n.linked(self.linked, &c.linked_measures);
        let mut acc = n.set;
        if let Some(k) = self.in_force_during_cycle {
            let cycle = CycleNumber::new(k as i64)
                .ok()
                .and_then(|k| c.cycle(k))
                .ok_or_else(|| bad_input("filter.inForceDuringCycle", format!("no cycle {k}")))?
                .clone();
            retain(&mut acc, |id| {
                c.measures
                    .get(id)
                    .is_some_and(|m| overlaps_cycle(&m.record, &cycle.record))
            });
        }
        if self.active_on.is_some() || self.started_from.is_some() || self.started_to.is_some() {
            if let (Some(from), Some(to)) = (self.started_from, self.started_to) {
                if to < from {
                    return Err(bad_input(
                        "filter.startedTo",
                        format!("{} is before startedFrom {}", to.0, from.0),
                    ));
                }
            }
            retain(&mut acc, |id| {
                let Some(m) = c.measures.get(id) else {
                    return false;
                };
                let m = &m.record;
                self.active_on
                    .is_none_or(|d| m.start_date <= d.0 && m.end_date.is_none_or(|e| e >= d.0))
                    && self.started_from.is_none_or(|d| m.start_date >= d.0)
                    && self.started_to.is_none_or(|d| m.start_date <= d.0)
            });
        }
        Ok(acc)
    }
}

impl GoodPracticeFilter {
    pub fn evaluate(&self, catalog: &Catalog, within: &RoaringBitmap) -> Result<RoaringBitmap> {
        use Index as I;
        let c = catalog;
        let mut n = Narrowing::new(c, within);
        n.countries("filter.country", &self.country, I::GoodPracticesByCountry)?;
        n.themes("filter.theme", &self.theme, I::GoodPracticesByTheme)?;
        n.groups("filter.group", &self.group, I::GoodPracticesByGroup)?;
        n.sdgs("filter.sdg", &self.sdg, I::GoodPracticesBySdg)?;
        n.text("filter.text", &self.text, &c.good_practice_text)?;
        let mut acc = n.set;
        if let Some(years) = non_empty(&self.year) {
            retain(&mut acc, |id| {
                c.good_practices
                    .get(id)
                    .and_then(|g| g.record.year)
                    .is_some_and(|y| years.contains(&y))
            });
        }
        Ok(acc)
    }
}

/// Refuses a date range that ends before it starts, naming the `to` field.
fn date_range(from: Option<Date>, to: Option<Date>, to_field: &str, from_name: &str) -> Result<()> {
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            return Err(bad_input(
                to_field,
                format!("{} is before {from_name} {}", to.0, from.0),
            ));
        }
    }
    Ok(())
}

impl ConcernFilter {
    pub fn evaluate(&self, catalog: &Catalog, within: &RoaringBitmap) -> Result<RoaringBitmap> {
        use Index as I;
        let c = catalog;
        let mut n = Narrowing::new(c, within);
        n.countries("filter.country", &self.country, I::ConcernsByCountry)?;
        n.regional_groups(&self.un_regional_group, I::ConcernsByCountry);
        if let Some(v) = non_empty(&self.kind) {
            n.any_of(v.iter().map(|&k| c.list(&I::ConcernsByKind(k.into()))));
        }
        if let Some(v) = non_empty(&self.severity) {
            n.any_of(v.iter().map(|&k| c.list(&I::ConcernsBySeverity(k.into()))));
        }
        n.themes("filter.theme", &self.theme, I::ConcernsByTheme)?;
        n.groups("filter.group", &self.group, I::ConcernsByGroup)?;
        n.sdgs("filter.sdg", &self.sdg, I::ConcernsBySdg)?;
        n.text("filter.text", &self.text, &c.concern_text)?;
        let mut acc = n.set;
        date_range(
            self.reported_from,
            self.reported_to,
            "filter.reportedTo",
            "reportedFrom",
        )?;
        if self.reported_from.is_some() || self.reported_to.is_some() {
            retain(&mut acc, |id| {
                c.concerns.get(id).is_some_and(|r| {
                    let d = r.record.reported_on;
                    self.reported_from.is_none_or(|f| d >= f.0)
                        && self.reported_to.is_none_or(|t| d <= t.0)
                })
            });
        }
        Ok(acc)
    }
}

impl ActionFilter {
    pub fn evaluate(&self, catalog: &Catalog, within: &RoaringBitmap) -> Result<RoaringBitmap> {
        use Index as I;
        let c = catalog;
        let mut n = Narrowing::new(c, within);
        n.countries("filter.country", &self.country, I::ActionsByCountry)?;
        n.regional_groups(&self.un_regional_group, I::ActionsByCountry);
        if let Some(v) = non_empty(&self.kind) {
            n.any_of(v.iter().map(|&k| c.list(&I::ActionsByKind(k.into()))));
        }
        n.themes("filter.theme", &self.theme, I::ActionsByTheme)?;
        n.groups("filter.group", &self.group, I::ActionsByGroup)?;
        n.sdgs("filter.sdg", &self.sdg, I::ActionsBySdg)?;
        n.text("filter.text", &self.text, &c.action_text)?;
        let mut acc = n.set;
        date_range(
            self.started_from,
            self.started_to,
            "filter.startedTo",
            "startedFrom",
        )?;
        if self.started_from.is_some() || self.started_to.is_some() {
            retain(&mut acc, |id| {
                c.actions.get(id).is_some_and(|r| {
                    let d = r.record.start_date;
                    self.started_from.is_none_or(|f| d >= f.0)
                        && self.started_to.is_none_or(|t| d <= t.0)
                })
            });
        }
        Ok(acc)
    }
}

impl LinkFilter {
    /// Positions (in `Catalog::links`) of the links that pass, within `within`.
    pub fn evaluate(&self, catalog: &Catalog, within: &RoaringBitmap) -> Result<RoaringBitmap> {
        let c = catalog;
        let countries = match non_empty(&self.country) {
            Some(v) => Some(countries(c, "filter.country", v)?),
            None => None,
        };
        let relations: Option<Vec<model::LinkRelation>> =
            non_empty(&self.relation).map(|v| v.iter().map(|&r| r.into()).collect());
        let statuses: Option<Vec<model::LinkStatus>> =
            non_empty(&self.status).map(|v| v.iter().map(|&r| r.into()).collect());
        let authors = non_empty(&self.created_by);
        let mut acc = within.clone();
        retain(&mut acc, |i| {
            let Some(l) = c.links.get(i as usize) else {
                return false;
            };
            relations
                .as_ref()
                .is_none_or(|r| r.contains(&l.record.relation))
                && statuses
                    .as_ref()
                    .is_none_or(|s| s.contains(&l.record.status))
                && authors
                    .is_none_or(|a| l.record.created_by.as_ref().is_some_and(|b| a.contains(b)))
                && countries.as_ref().is_none_or(|cs| {
                    let sur = c
                        .recommendations
                        .get(l.recommendation)
                        .map(|r| r.record.state_under_review);
                    let of = c.measures.get(l.measure).map(|m| m.record.country);
                    cs.iter().any(|k| Some(*k) == sur || Some(*k) == of)
                })
        });
        Ok(acc)
    }
}

impl CountryFilter {
    /// Positions (in `Catalog::countries`) of the countries that pass.
    pub fn evaluate(&self, catalog: &Catalog) -> RoaringBitmap {
        let groups: Option<Vec<model::UnRegionalGroup>> =
            non_empty(&self.un_regional_group).map(|v| v.iter().map(|&g| g.into()).collect());
        let regions = non_empty(&self.region);
        let needle = self.name_contains.as_ref().map(|s| s.to_lowercase());
        catalog
            .countries
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                let c = &c.record;
                groups
                    .as_ref()
                    .is_none_or(|g| c.un_regional_group.is_some_and(|x| g.contains(&x)))
                    && regions.is_none_or(|r| c.region.as_ref().is_some_and(|x| r.contains(x)))
                    && needle
                        .as_ref()
                        .is_none_or(|n| c.name.to_lowercase().contains(n.as_str()))
            })
            .map(|(i, _)| i as u32)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argument(e: &async_graphql::Error) -> String {
        let ext = e.extensions.as_ref().expect("extensions");
        assert_eq!(
            ext.get("code"),
            Some(&async_graphql::Value::from("BAD_USER_INPUT"))
        );
        match ext.get("argument") {
            Some(async_graphql::Value::String(s)) => s.clone(),
            other => panic!("no argument: {other:?}"),
        }
    }

    #[test]
    fn a_json_filter_reads_as_graphql_reads_a_variable() {
        let f: RecommendationFilter = from_json(
            r#"{"stateUnderReview": ["HND"], "response": "NOTED", "unRegionalGroup": ["ASIA_PACIFIC"],
                "cycle": [3, 4], "text": "water", "linked": true, "theme": null}"#,
        )
        .expect("a valid filter");
        assert_eq!(f.state_under_review, Some(vec!["HND".to_owned()]));
        // One value where a list is expected is a list of one, as in GraphQL.
        assert_eq!(f.response, Some(vec![Response::Noted]));
        assert_eq!(
            f.un_regional_group,
            Some(vec![UnRegionalGroup::AsiaPacific])
        );
        assert_eq!(f.cycle, Some(vec![3, 4]));
        assert_eq!(f.text.as_deref(), Some("water"));
        assert_eq!(f.linked, Some(true));
        assert_eq!(f.theme, None);
        let m: MeasureFilter =
            from_json(r#"{"activeOn": "2020-04-01", "category": ["GENDER_BASED_VIOLENCE"]}"#)
                .expect("a valid filter");
        assert_eq!(
            m.active_on.map(|d| d.0.to_string()).as_deref(),
            Some("2020-04-01")
        );
        assert_eq!(m.category, Some(vec![MeasureCategory::GenderBasedViolence]));
        let l: LinkFilter =
            from_json(r#"{"relation": ["PARTIALLY_IMPLEMENTS"], "status": "REJECTED"}"#)
                .expect("a valid filter");
        assert_eq!(l.relation, Some(vec![LinkRelation::PartiallyImplements]));
        assert_eq!(l.status, Some(vec![LinkStatus::Rejected]));
    }

    #[test]
    fn no_filter_is_the_default() {
        for text in ["", "  ", "null", "{}"] {
            let f: GoodPracticeFilter = from_json(text).expect("no filter");
            assert!(f.country.is_none() && f.year.is_none() && f.text.is_none());
        }
    }

    #[test]
    fn an_invalid_json_filter_names_the_field_at_fault() {
        for (text, arg) in [
            (r#"{"response": ["MAYBE"]}"#, "filter.response"),
            (r#"{"response": [null]}"#, "filter.response"),
            (r#"{"cycle": ["three"]}"#, "filter.cycle"),
            (r#"{"cycle": [1.5]}"#, "filter.cycle"),
            (r#"{"cycle": [99999999999]}"#, "filter.cycle"),
            (r#"{"linked": "yes"}"#, "filter.linked"),
            (
                r#"{"theme": ["health"], "colour": ["red"]}"#,
                "filter.colour",
            ),
            (
                r#"{"state_under_review": ["HND"]}"#,
                "filter.state_under_review",
            ),
            (r#"{"response": ["NOTED"]"#, "filter"),
            (r#"["NOTED"]"#, "filter"),
            ("NOTED", "filter"),
        ] {
            let e = from_json::<RecommendationFilter>(text).expect_err(text);
            assert_eq!(argument(&e), arg, "{text}: {}", e.message);
            assert!(e.message.starts_with(&format!("{arg}: ")), "{}", e.message);
        }
        let e = from_json::<MeasureFilter>(r#"{"activeOn": "2020-13-01"}"#).expect_err("bad date");
        assert_eq!(argument(&e), "filter.activeOn");
        let e = from_json::<RecommendationFilter>(r#"{"colour": 1}"#).expect_err("unknown field");
        assert!(
            e.message.contains("stateUnderReview"),
            "the fields are listed: {}",
            e.message
        );
    }
}
