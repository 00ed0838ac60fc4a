use rustc_hash::FxHashMap;
use std::sync::{Arc, OnceLock};

use async_graphql::{Context, Object, Result, ID};
use roaring::RoaringBitmap;

use super::{catalog, Country, Cycle, GoodPractice, Group, Link, Sdg, Session, Theme};
use crate::catalog::{Catalog, Row};
use crate::graphql::assess::{Assessment, AssessmentSource};
use crate::graphql::connection::{connection, edges, page_request};
use crate::graphql::filter::{RecommendationFilter, SMART_BANDS};
use crate::graphql::ids::global_id;
use crate::graphql::leaves::{Leaf, Leaves};
use crate::graphql::scalars::{self, LinkStatus};
use crate::model::{self, ActionCategory, Response};
use crate::store::Index;

/// A recommendation made to a State under review by one or more recommending States in a
/// UPR Working Group session.
#[derive(Clone)]
pub struct Recommendation(pub Arc<Row<model::Recommendation>>);

/// A recommendation made to a State under review by one or more recommending States in a
/// UPR Working Group session.
#[Object(serial)]
impl Recommendation {
    /// A global id, opaque and stable across restarts and export/import.
    pub async fn id(&self) -> ID {
        global_id("Recommendation", self.0.record.id.as_str())
    }
    /// The dataset's key for this recommendation (e.g. `R-36-HND-001`).
    #[graphql(name = "ref")]
    async fn reference(&self) -> &str {
        self.0.record.id.as_str()
    }
    /// The recommendation as worded in the Working Group's report.
    async fn text(&self) -> &str {
        &self.0.record.text
    }
    /// The State the recommendation was made to.
    async fn state_under_review(&self, ctx: &Context<'_>) -> Result<Leaf<Country>> {
        Ok(Leaf(
            catalog(ctx)?
                .country(self.0.record.state_under_review)
                .cloned()
                .map(Country),
        ))
    }
    /// The States that made it (more than one for a joint recommendation).
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn recommending_states(&self, ctx: &Context<'_>) -> Result<Leaves<Country>> {
        super::related(ctx, &self.0.record.recommending_states, super::countries_of).map(Leaves)
    }
    /// The session in which it was made.
    async fn session(&self, ctx: &Context<'_>) -> Result<Option<Session>> {
        Ok(catalog(ctx)?
            .session(self.0.record.session)
            .cloned()
            .map(Session))
    }
    /// The UPR cycle of its session.
    async fn cycle(&self, ctx: &Context<'_>) -> Result<Option<Cycle>> {
        let c = catalog(ctx)?;
        Ok(c.session(self.0.record.session)
            .and_then(|s| c.cycle(s.record.cycle))
            .cloned()
            .map(Cycle))
    }
    /// The State's response.
    async fn response(&self) -> scalars::Response {
        self.0.record.response.into()
    }
    /// The action category: 1 minimal, 2 continuing, 3 considering, 4 general, 5 specific
    /// action. An editor's where one set it, else UPR Info's where it coded the
    /// recommendation, else the assessment's (see `actionCategorySource`).
    async fn action_category(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        Ok(Some(match self.0.record.action_category {
            Some(a) => a.get() as i32,
            None => i32::from(self.assessed(ctx)?.action_category),
        }))
    }
    /// Where `actionCategory` comes from: EDITOR when a person set it, UPR_INFO when it came
    /// with the data, ASSESSED for a record imported without one.
    async fn action_category_source(&self) -> AssessmentSource {
        let by = self.0.record.set_by.as_ref();
        if by.is_some_and(|b| b.action_category.is_some()) {
            AssessmentSource::Editor
        } else if self.0.record.action_category.is_some() {
            AssessmentSource::UprInfo
        } else {
            AssessmentSource::Assessed
        }
    }
    /// Who set the action category, themes or groups by hand (the token's name), for each
    /// whose source is EDITOR; null when none was.
    async fn set_by(&self) -> Option<ClassificationSetBy> {
        self.0.record.set_by.clone().map(ClassificationSetBy)
    }
    /// The automatic assessment of the text (action category, themes, groups, SMART, each
    /// with reasons), always computed, even where UPR Info coded the recommendation, so the
    /// two can be compared.
    async fn assessment(&self, ctx: &Context<'_>) -> Result<Assessment> {
        Ok(Assessment::of_stored(
            self.assessed(ctx)?,
            self.0.record.text.clone(),
        ))
    }
    /// UPR Info issues the recommendation is classified under (or an editor's choice); for a
    /// record imported without any, the themes the assessment suggests (see `themesSource`).
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn themes(&self, ctx: &Context<'_>) -> Result<Vec<Theme>> {
        let c = catalog(ctx)?;
        if self.themes_source() == AssessmentSource::Assessed {
            let assessed = self.assessed(ctx)?;
            return Ok(assessed
                .themes()
                .filter_map(|t| c.theme(t).cloned().map(Theme))
                .collect());
        }
        Ok(super::themes_of(c.as_ref(), &self.0.record.themes))
    }
    /// Where `themes` comes from: EDITOR when a person set them, UPR_INFO when they came
    /// with the data, ASSESSED for a record imported without any.
    #[graphql(name = "themesSource")]
    async fn themes_source_field(&self) -> AssessmentSource {
        self.themes_source()
    }
    /// Affected-person groups the recommendation concerns (UPR Info's, or an editor's); for a
    /// record imported with neither themes nor groups, the groups the assessment suggests
    /// (see `groupsSource`).
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn groups(&self, ctx: &Context<'_>) -> Result<Vec<Group>> {
        let c = catalog(ctx)?;
        if self.groups_source() == AssessmentSource::Assessed {
            let assessed = self.assessed(ctx)?;
            return Ok(assessed
                .groups()
                .filter_map(|g| c.group(g).cloned().map(Group))
                .collect());
        }
        Ok(super::groups_of(c.as_ref(), &self.0.record.groups))
    }
    /// Where `groups` comes from: EDITOR when a person set them; UPR_INFO when the record came
    /// with groups or themes (a coder who gave themes and no group said no group applies);
    /// ASSESSED for a record imported with neither.
    #[graphql(name = "groupsSource")]
    async fn groups_source_field(&self) -> AssessmentSource {
        self.groups_source()
    }
    /// SDG goals, through the themes' crosswalk.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn sdgs(&self, ctx: &Context<'_>) -> Result<Vec<Sdg>> {
        super::related(ctx, &self.0.record.sdgs, super::sdgs_of)
    }
    /// The UN document of the Working Group report (e.g. `A/HRC/46/9`).
    async fn document(&self) -> Option<&str> {
        self.0.record.document.as_deref()
    }
    /// The paragraph of the report (e.g. `128.15`).
    async fn paragraph(&self) -> Option<&str> {
        self.0.record.paragraph.as_deref()
    }
    /// The publisher's own theme labels, kept as published: for a recommendation imported
    /// from an OHCHR thematic list, the theme cluster it is listed under, then its UHRI
    /// themes (`themes` holds what they were mapped to). Empty where the source gave none.
    async fn source_themes(&self) -> &[String] {
        &self.0.record.source_themes
    }
    /// Links to the COVID-19 measures that bear on this recommendation, each with its
    /// measure; all statuses unless `status` is given.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn links(&self, ctx: &Context<'_>, status: Option<Vec<LinkStatus>>) -> Result<Vec<Link>> {
        let c = catalog(ctx)?;
        Ok(super::links_with_status(
            c.links_of_recommendation(self.0.id),
            status,
        ))
    }
    /// Issues of concern that this recommendation speaks to, in key order.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn concerns(&self, ctx: &Context<'_>) -> Result<Vec<super::Concern>> {
        let c = catalog(ctx)?;
        Ok(super::concern::concerns_in(
            &c,
            c.list(&Index::ConcernsByRecommendation(self.0.id)),
        ))
    }
    /// Actions of UN Human Rights that followed this recommendation up, in key order.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn actions(&self, ctx: &Context<'_>) -> Result<Vec<super::Action>> {
        let c = catalog(ctx)?;
        Ok(super::action::actions_in(
            &c,
            c.list(&Index::ActionsByRecommendation(self.0.id)),
        ))
    }
    /// Good practices that draw on this recommendation.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn good_practices(&self, ctx: &Context<'_>) -> Result<Vec<GoodPractice>> {
        let c = catalog(ctx)?;
        Ok(super::good_practices_in(
            &c,
            c.list(&Index::GoodPracticesByRecommendation(self.0.id)),
        ))
    }
    /// Measures of the State under review that may implement (or run against) it, best
    /// first, each with its score and reasons; pairs already linked, and REJECTED ones, are
    /// left out. Score = 3·themes + 1·groups + 0.5·SDGs + 3·words + 0.5·time, each factor in
    /// [0, 1]: a shared theme counts 1 (½ when only through the measure category's
    /// crosswalk); a shared affected group 1; SDGs the share of the recommendation's goals
    /// (its own and its themes') the measure has; words the BM25 relevance of the
    /// recommendation's words in the measure, relative to the best candidate (or to a floor
    /// of about two rare words in common, when even the best is weaker); time 1 when the
    /// measure was in force after the review. `first` defaults to 10, at most 100.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, None, child_complexity)")]
    async fn suggested_measures(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> Result<Vec<super::suggestion::MeasureSuggestion>> {
        super::suggestion::suggested_measures(ctx, self.0.id, first).await
    }
    /// How its response changed through the API, oldest first (from its history; the
    /// response it was imported with has no entry).
    async fn response_history(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<crate::graphql::history::ResponseChange>> {
        crate::graphql::history::response_history(ctx, self.0.record.id.as_str())
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
            crate::model::Entity::Recommendation,
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

impl Recommendation {
    /// The snapshot's assessment of the record (its values, computed once per snapshot).
    fn assessed(&self, ctx: &Context<'_>) -> Result<crate::assess::Brief> {
        Ok(catalog(ctx)?
            .assessments
            .get(self.0.id, &self.0.record.text))
    }

    fn themes_source(&self) -> AssessmentSource {
        themes_source(&self.0.record)
    }

    fn groups_source(&self) -> AssessmentSource {
        groups_source(&self.0.record)
    }
}

/// Where a record's effective themes come from (see `Recommendation.themesSource`).
pub fn themes_source(r: &model::Recommendation) -> AssessmentSource {
    if r.set_by.as_ref().is_some_and(|b| b.themes.is_some()) {
        AssessmentSource::Editor
    } else if r.themes.is_empty() {
        AssessmentSource::Assessed
    } else {
        AssessmentSource::UprInfo
    }
}

/// Where a record's effective groups come from (see `Recommendation.groupsSource`).
pub fn groups_source(r: &model::Recommendation) -> AssessmentSource {
    if r.set_by.as_ref().is_some_and(|b| b.groups.is_some()) {
        AssessmentSource::Editor
    } else if r.groups.is_empty() && r.themes.is_empty() {
        AssessmentSource::Assessed
    } else {
        AssessmentSource::UprInfo
    }
}

/// Who set a recommendation's classification by hand: the token's name, by field.
pub struct ClassificationSetBy(model::SetBy);

/// Who set a recommendation's classification by hand: the token's name, by field (null where
/// the field is not the editor's).
#[Object]
impl ClassificationSetBy {
    /// Who set `actionCategory`.
    async fn action_category(&self) -> Option<&str> {
        self.0.action_category.as_deref()
    }
    /// Who set `themes`.
    async fn themes(&self) -> Option<&str> {
        self.0.themes.as_deref()
    }
    /// Who set `groups`.
    async fn groups(&self) -> Option<&str> {
        self.0.groups.as_deref()
    }
}

pub use crate::graphql::facets::{FacetCount, Facets};

/// Counts that sort descending, then by value.
pub fn facet(mut counts: Vec<FacetCount>) -> Vec<FacetCount> {
    counts.retain(|f| f.count > 0);
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    counts
}

/// Counts over the whole filtered set of recommendations, for dashboards.
///
/// A small set is counted by reading each of its records once, for every facet at the same
/// time (cost grows with the set); a large one by intersecting it with each value's posting
/// list (cost grows with the number of values).
pub struct RecommendationFacets {
    set: Arc<RoaringBitmap>,
    scanned: OnceLock<Arc<Scanned>>,
}

/// Below this many members, facets read the records instead of intersecting posting lists.
const SCAN_BELOW: u64 = 20_000;

/// Every facet of a small set, counted in one pass over its records.
struct Scanned {
    response: Vec<FacetCount>,
    action_category: Vec<FacetCount>,
    theme: Vec<FacetCount>,
    group: Vec<FacetCount>,
    sdg: Vec<FacetCount>,
    session: Vec<FacetCount>,
    state_under_review: Vec<FacetCount>,
    recommending_state: Vec<FacetCount>,
}

/// Counts keyed by borrowed strings or numbers, so counting allocates nothing per record.
fn counted<K: Eq + std::hash::Hash + std::fmt::Display>(
    counts: FxHashMap<K, u64>,
) -> Vec<FacetCount> {
    facet(
        counts
            .into_iter()
            .map(|(value, count)| FacetCount {
                value: value.to_string(),
                count,
            })
            .collect(),
    )
}

impl RecommendationFacets {
    fn new(set: Arc<RoaringBitmap>) -> Self {
        RecommendationFacets {
            set,
            scanned: OnceLock::new(),
        }
    }

    /// The one-pass counts of the set: remembered by the snapshot, so a dashboard that asks
    /// again for the same filter (before any write) gets them without counting.
    fn scan(&self, c: &Catalog) -> &Scanned {
        self.scanned.get_or_init(|| {
            c.memo
                .get_or_insert(&self.set, || Arc::new(Self::count_all(c, &self.set)))
        })
    }

    fn count_all(c: &Catalog, set: &RoaringBitmap) -> Scanned {
        {
            let mut response: FxHashMap<&str, u64> = FxHashMap::default();
            let mut action: FxHashMap<u8, u64> = FxHashMap::default();
            let mut theme: FxHashMap<&str, u64> = FxHashMap::default();
            let mut group: FxHashMap<&str, u64> = FxHashMap::default();
            let mut sdg: FxHashMap<u8, u64> = FxHashMap::default();
            let mut session: FxHashMap<u16, u64> = FxHashMap::default();
            let mut sur: FxHashMap<&str, u64> = FxHashMap::default();
            let mut made: FxHashMap<&str, u64> = FxHashMap::default();
            for id in set.iter() {
                let Some(row) = c.recommendations.get(id) else {
                    continue;
                };
                let r = &row.record;
                *response.entry(r.response.as_str()).or_default() += 1;
                if let Some(a) = r.action_category {
                    *action.entry(a.get()).or_default() += 1;
                }
                for t in &r.themes {
                    *theme.entry(t.as_str()).or_default() += 1;
                }
                for g in &r.groups {
                    *group.entry(g.as_str()).or_default() += 1;
                }
                for g in &r.sdgs {
                    *sdg.entry(g.get()).or_default() += 1;
                }
                *session.entry(r.session.get()).or_default() += 1;
                *sur.entry(r.state_under_review.as_str()).or_default() += 1;
                for k in &r.recommending_states {
                    *made.entry(k.as_str()).or_default() += 1;
                }
            }
            Scanned {
                response: counted(response),
                action_category: counted(action),
                theme: counted(theme),
                group: counted(group),
                sdg: counted(sdg),
                session: counted(session),
                state_under_review: counted(sur),
                recommending_state: counted(made),
            }
        }
    }

    /// A facet: taken from the one-pass scan of a small set, or counted by intersections for
    /// a large one. `values` lists every value with its posting list.
    fn count(
        &self,
        c: &Catalog,
        values: impl Iterator<Item = (String, Index)>,
        scanned: fn(&Scanned) -> &Vec<FacetCount>,
    ) -> Vec<FacetCount> {
        if self.set.len() < SCAN_BELOW {
            scanned(self.scan(c)).clone()
        } else {
            facet(
                values
                    .map(|(value, index)| FacetCount {
                        value,
                        count: c.list(&index).intersection_len(&self.set),
                    })
                    .collect(),
            )
        }
    }
}

/// Counts over the whole filtered set of recommendations, for dashboards.
///
/// A small set is counted by reading its records (cost grows with the set); a large one by
/// intersecting it with each value's posting list (cost grows with the number of values).
#[Object(serial)]
impl RecommendationFacets {
    /// By response.
    async fn response(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        Ok(Facets(
            self.count(
                &c,
                Response::ALL
                    .iter()
                    .map(|&r| (r.as_str().into(), Index::RecommendationsByResponse(r))),
                |s| &s.response,
            ),
        ))
    }
    /// By UPR Info action category (1 to 5).
    async fn action_category(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        Ok(Facets(
            self.count(
                &c,
                (1..=5)
                    .filter_map(|a| ActionCategory::new(a).ok())
                    .map(|a| (a.to_string(), Index::RecommendationsByAction(a))),
                |s| &s.action_category,
            ),
        ))
    }
    /// By theme slug.
    async fn theme(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        Ok(Facets(self.count(
            &c,
            c.themes.iter().map(|t| {
                (
                    t.slug.to_string(),
                    Index::RecommendationsByTheme(t.slug.clone()),
                )
            }),
            |s| &s.theme,
        )))
    }
    /// By affected-group slug.
    async fn group(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        Ok(Facets(self.count(
            &c,
            c.groups.iter().map(|g| {
                (
                    g.slug.to_string(),
                    Index::RecommendationsByGroup(g.slug.clone()),
                )
            }),
            |s| &s.group,
        )))
    }
    /// By SDG goal.
    async fn sdg(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        Ok(Facets(
            self.count(
                &c,
                c.sdgs
                    .iter()
                    .map(|s| (s.goal.to_string(), Index::RecommendationsBySdg(s.goal))),
                |s| &s.sdg,
            ),
        ))
    }
    /// By UPR cycle.
    async fn cycle(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        // Cycles have no posting list of their own: count through sessions.
        let mut counts: FxHashMap<String, u64> = FxHashMap::default();
        for s in c.sessions.iter() {
            let n = c
                .list(&Index::SessionRecommendations(s.record.number))
                .intersection_len(&self.set);
            *counts.entry(s.record.cycle.to_string()).or_default() += n;
        }
        Ok(Facets(facet(
            counts
                .into_iter()
                .map(|(value, count)| FacetCount { value, count })
                .collect(),
        )))
    }
    /// By Working Group session.
    async fn session(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        Ok(Facets(self.count(
            &c,
            c.sessions.iter().map(|s| {
                (
                    s.record.number.to_string(),
                    Index::SessionRecommendations(s.record.number),
                )
            }),
            |s| &s.session,
        )))
    }
    /// By State under review (ISO alpha-3 codes).
    async fn state_under_review(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        Ok(Facets(self.count(
            &c,
            c.countries.iter().map(|k| {
                (
                    k.record.code.to_string(),
                    Index::RecommendationsReceived(k.record.code),
                )
            }),
            |s| &s.state_under_review,
        )))
    }
    /// By the action category the automatic assessment gives (1 to 5), whatever UPR Info
    /// coded: the counts the `assessedActionCategory` filter selects. Assesses each member
    /// of the set not yet assessed in this snapshot.
    async fn assessed_action_category(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        let mut counts: FxHashMap<u8, u64> = FxHashMap::default();
        for id in self.set.iter() {
            if let Some(a) = c.assessment(id) {
                *counts.entry(a.action_category).or_default() += 1;
            }
        }
        Ok(Facets(counted(counts)))
    }
    /// By band of the assessment's SMART total: `0.0-0.2` (at least 0, below 0.2), `0.2-0.4`,
    /// `0.4-0.6`, `0.6-0.8` and `0.8-1.0` (0.8 to 1 included); each band counts what the
    /// `smartScore` filter `{ min, below }` with its ends selects (`{ min: 0.8 }` for the last).
    async fn smart_score(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        let mut counts = [0u64; SMART_BANDS.len()];
        for id in self.set.iter() {
            if let Some(a) = c.assessment(id) {
                let v = f64::from(a.smart_total);
                if let Some(i) = SMART_BANDS.iter().position(|(_, r)| r.contains(v)) {
                    counts[i] += 1;
                }
            }
        }
        Ok(Facets(facet(
            SMART_BANDS
                .iter()
                .zip(counts)
                .map(|((value, _), count)| FacetCount {
                    value: (*value).to_owned(),
                    count,
                })
                .collect(),
        )))
    }
    /// By recommending State (a joint recommendation counts for each of its States).
    async fn recommending_state(&self, ctx: &Context<'_>) -> Result<Facets> {
        let c = catalog(ctx)?;
        Ok(Facets(self.count(
            &c,
            c.countries.iter().map(|k| {
                (
                    k.record.code.to_string(),
                    Index::RecommendationsMade(k.record.code),
                )
            }),
            |s| &s.recommending_state,
        )))
    }
}

connection!(
    RecommendationConnection,
    RecommendationEdge,
    Recommendation,
    "recommendation",
    /// Counts over the whole filtered set (not just this page), per facet.
    async fn facets(&self) -> RecommendationFacets {
        RecommendationFacets::new(self.set.clone())
    }
);

/// A page of the recommendations in `within` that pass `filter`.
pub fn recommendations(
    c: &Catalog,
    within: &RoaringBitmap,
    filter: Option<RecommendationFilter>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<RecommendationConnection> {
    let req = page_request(first, after, last, before)?;
    let set = Arc::new(filter.unwrap_or_default().evaluate(c, within)?);
    let page = c.recommendations.page(&set, &req, |r| r.id.as_str());
    let (edges, info) = edges(page, |id| {
        c.recommendations.get(id).cloned().map(Recommendation)
    });
    Ok(RecommendationConnection::new(edges, info, set.len(), set))
}
