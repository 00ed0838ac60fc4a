//! Filter inputs and their evaluation to sets of ids. In every filter a list means "any of"
//! and fields combine with AND; an absent or empty list does not filter.

use async_graphql::{InputObject, Result};
use roaring::RoaringBitmap;

use super::errors::bad_input;
use super::scalars::{Date, LinkRelation, LinkStatus, MeasureCategory, Response, UnRegionalGroup};
use crate::catalog::Catalog;
use crate::model::{self, CountryCode, Slug};
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

/// Narrows `acc` to the union of the lists (no lists given: no narrowing).
fn narrow(acc: &mut RoaringBitmap, lists: Option<Vec<&RoaringBitmap>>) {
    if let Some(lists) = lists {
        let mut union = RoaringBitmap::new();
        for l in lists {
            union |= l;
        }
        *acc &= union;
    }
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

fn slugs(
    arg: &str,
    what: &str,
    values: &[String],
    exists: impl Fn(&str) -> bool,
) -> Result<Vec<Slug>> {
    values
        .iter()
        .map(|v| {
            let s = Slug::parse(v).map_err(|e| bad_input(arg, e))?;
            if exists(v) {
                Ok(s)
            } else {
                Err(bad_input(arg, format!("unknown {what} slug {v:?}")))
            }
        })
        .collect()
}

fn numbers<T>(
    arg: &str,
    values: &[i32],
    parse: impl Fn(i64) -> Result<T, model::InvalidValue>,
) -> Result<Vec<T>> {
    values
        .iter()
        .map(|&n| parse(n as i64).map_err(|e| bad_input(arg, e)))
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

impl RecommendationFilter {
    /// The ids of the recommendations that pass, within `within`.
    pub fn evaluate(&self, catalog: &Catalog, within: &RoaringBitmap) -> Result<RoaringBitmap> {
        let mut acc = within.clone();
        let c = catalog;
        if let Some(v) = non_empty(&self.state_under_review) {
            let codes = countries(c, "filter.stateUnderReview", v)?;
            narrow(
                &mut acc,
                Some(
                    codes
                        .into_iter()
                        .map(|k| c.list(&Index::RecommendationsReceived(k)))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.recommending_state) {
            let codes = countries(c, "filter.recommendingState", v)?;
            narrow(
                &mut acc,
                Some(
                    codes
                        .into_iter()
                        .map(|k| c.list(&Index::RecommendationsMade(k)))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.un_regional_group) {
            let codes = in_groups(c, v);
            narrow(
                &mut acc,
                Some(
                    codes
                        .into_iter()
                        .map(|k| c.list(&Index::RecommendationsReceived(k)))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.recommending_regional_group) {
            let codes = in_groups(c, v);
            narrow(
                &mut acc,
                Some(
                    codes
                        .into_iter()
                        .map(|k| c.list(&Index::RecommendationsMade(k)))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.cycle) {
            let cycles = numbers("filter.cycle", v, model::CycleNumber::new)?;
            narrow(
                &mut acc,
                Some(
                    cycles
                        .into_iter()
                        .map(|n| c.recommendations_in_cycle(n))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.session) {
            let sessions = numbers("filter.session", v, model::SessionNumber::new)?;
            narrow(
                &mut acc,
                Some(
                    sessions
                        .into_iter()
                        .map(|n| c.list(&Index::SessionRecommendations(n)))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.response) {
            narrow(
                &mut acc,
                Some(
                    v.iter()
                        .map(|&r| c.list(&Index::RecommendationsByResponse(r.into())))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.action_category) {
            let a = numbers("filter.actionCategory", v, model::ActionCategory::new)?;
            narrow(
                &mut acc,
                Some(
                    a.into_iter()
                        .map(|a| c.list(&Index::RecommendationsByAction(a)))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.theme) {
            let s = slugs("filter.theme", "theme", v, |x| c.theme(x).is_some())?;
            narrow(
                &mut acc,
                Some(
                    s.into_iter()
                        .map(|s| c.list(&Index::RecommendationsByTheme(s)))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.group) {
            let s = slugs("filter.group", "group", v, |x| c.group(x).is_some())?;
            narrow(
                &mut acc,
                Some(
                    s.into_iter()
                        .map(|s| c.list(&Index::RecommendationsByGroup(s)))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.sdg) {
            let g = numbers("filter.sdg", v, model::SdgGoal::new)?;
            narrow(
                &mut acc,
                Some(
                    g.into_iter()
                        .map(|g| c.list(&Index::RecommendationsBySdg(g)))
                        .collect(),
                ),
            );
        }
        if let Some(t) = &self.text {
            let terms = text_terms(c, "filter.text", t)?;
            acc &= c.recommendation_text.matching(&terms);
        }
        match self.linked {
            Some(true) => acc &= &c.linked_recommendations,
            Some(false) => acc -= &c.linked_recommendations,
            None => {}
        }
        Ok(acc)
    }
}

impl MeasureFilter {
    pub fn evaluate(&self, catalog: &Catalog, within: &RoaringBitmap) -> Result<RoaringBitmap> {
        let mut acc = within.clone();
        let c = catalog;
        if let Some(v) = non_empty(&self.country) {
            let codes = countries(c, "filter.country", v)?;
            narrow(
                &mut acc,
                Some(
                    codes
                        .into_iter()
                        .map(|k| c.list(&Index::MeasuresByCountry(k)))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.un_regional_group) {
            let codes = in_groups(c, v);
            narrow(
                &mut acc,
                Some(
                    codes
                        .into_iter()
                        .map(|k| c.list(&Index::MeasuresByCountry(k)))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.category) {
            narrow(
                &mut acc,
                Some(
                    v.iter()
                        .map(|&k| c.list(&Index::MeasuresByCategory(k.into())))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.theme) {
            let s = slugs("filter.theme", "theme", v, |x| c.theme(x).is_some())?;
            narrow(
                &mut acc,
                Some(
                    s.into_iter()
                        .map(|s| c.list(&Index::MeasuresByTheme(s)))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.group) {
            let s = slugs("filter.group", "group", v, |x| c.group(x).is_some())?;
            narrow(
                &mut acc,
                Some(
                    s.into_iter()
                        .map(|s| c.list(&Index::MeasuresByGroup(s)))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.sdg) {
            let g = numbers("filter.sdg", v, model::SdgGoal::new)?;
            narrow(
                &mut acc,
                Some(
                    g.into_iter()
                        .map(|g| c.list(&Index::MeasuresBySdg(g)))
                        .collect(),
                ),
            );
        }
        if let Some(t) = &self.text {
            let terms = text_terms(c, "filter.text", t)?;
            acc &= c.measure_text.matching(&terms);
        }
        match self.linked {
            Some(true) => acc &= &c.linked_measures,
            Some(false) => acc -= &c.linked_measures,
            None => {}
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
        let mut acc = within.clone();
        let c = catalog;
        if let Some(v) = non_empty(&self.country) {
            let codes = countries(c, "filter.country", v)?;
            narrow(
                &mut acc,
                Some(
                    codes
                        .into_iter()
                        .map(|k| c.list(&Index::GoodPracticesByCountry(k)))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.theme) {
            let s = slugs("filter.theme", "theme", v, |x| c.theme(x).is_some())?;
            narrow(
                &mut acc,
                Some(
                    s.into_iter()
                        .map(|s| c.list(&Index::GoodPracticesByTheme(s)))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.group) {
            let s = slugs("filter.group", "group", v, |x| c.group(x).is_some())?;
            narrow(
                &mut acc,
                Some(
                    s.into_iter()
                        .map(|s| c.list(&Index::GoodPracticesByGroup(s)))
                        .collect(),
                ),
            );
        }
        if let Some(v) = non_empty(&self.sdg) {
            let g = numbers("filter.sdg", v, model::SdgGoal::new)?;
            narrow(
                &mut acc,
                Some(
                    g.into_iter()
                        .map(|g| c.list(&Index::GoodPracticesBySdg(g)))
                        .collect(),
                ),
            );
        }
        if let Some(t) = &self.text {
            let terms = text_terms(c, "filter.text", t)?;
            acc &= c.good_practice_text.matching(&terms);
        }
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
