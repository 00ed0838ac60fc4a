//! The root query: every entity by natural key, every collection as a filtered connection,
//! the taxonomies, full-text search and Relay's `node`.

use std::sync::Arc;

use async_graphql::{Context, Interface, Object, Result, SimpleObject, Union, ID};
use roaring::RoaringBitmap;

use super::connection::{connection, DEFAULT_PAGE, MAX_PAGE};
use super::errors::bad_input;
use super::filter::{
    text_terms, CountryFilter, GoodPracticeFilter, LinkFilter, MeasureFilter, RecommendationFilter,
};
use super::ids::{decode_cursor, encode_cursor, parse_global_id};
use super::object::{
    catalog, country, good_practice, link, measure, recommendation, Action, Concern, Country,
    CountryConnection, Cycle, GoodPractice, GoodPracticeConnection, Group, Link, LinkConnection,
    Measure, MeasureCategoryInfo, MeasureConnection, Recommendation, RecommendationConnection, Sdg,
    Session, Theme,
};
use crate::catalog::{text, Catalog};
use crate::model::{CountryCode, CycleNumber, SessionNumber};

/// Anything with a global id: fetch it again with `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "A global id, opaque and stable."))]
pub enum Node {
    Country(Country),
    Cycle(Cycle),
    Session(Session),
    Recommendation(Recommendation),
    Measure(Measure),
    GoodPractice(GoodPractice),
    Concern(Concern),
    Action(Action),
    Link(Link),
    Theme(Theme),
    Group(Group),
    Sdg(Sdg),
    MeasureCategoryInfo(MeasureCategoryInfo),
}

/// What a search hit is.
#[derive(Union, Clone)]
pub enum SearchResult {
    Recommendation(Recommendation),
    Measure(Measure),
    GoodPractice(GoodPractice),
    Concern(Concern),
    Action(Action),
}

/// One search hit: the record, its relevance and where the words matched.
#[derive(SimpleObject, Clone)]
pub struct SearchHit {
    /// BM25 relevance; higher is better. Comparable within one search only.
    pub score: f64,
    /// A passage of the text around the first matches, HTML-escaped, each matching word
    /// wrapped in `<mark>…</mark>`.
    pub snippet: String,
    /// The recommendation, measure, good practice, concern or action found.
    pub node: SearchResult,
}

connection!(SearchConnection, SearchEdge, SearchHit, "search hit");

fn parse_code(arg: &str, code: &str) -> Result<CountryCode> {
    CountryCode::parse(code).map_err(|e| bad_input(arg, e))
}

/// The root fields for the entities that existed before roots were merged per entity; a new
/// entity adds its own `#[Object]` beside this one and joins [`super::QueryRoot`].
#[derive(Default)]
pub struct CoreQuery;

#[Object]
impl CoreQuery {
    /// A country by ISO 3166-1 alpha-3 code; null if there is none.
    async fn country(&self, ctx: &Context<'_>, code: String) -> Result<Option<Country>> {
        let code = parse_code("code", &code)?;
        Ok(catalog(ctx)?.country(code).cloned().map(Country))
    }

    /// Countries in code order.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, last, child_complexity)")]
    async fn countries(
        &self,
        ctx: &Context<'_>,
        filter: Option<CountryFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<CountryConnection> {
        country::countries(catalog(ctx)?.as_ref(), filter, first, after, last, before)
    }

    /// Every UPR cycle, in order.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn cycles(&self, ctx: &Context<'_>) -> Result<Vec<Cycle>> {
        Ok(catalog(ctx)?.cycles.iter().cloned().map(Cycle).collect())
    }

    /// A UPR cycle by number; null if there is none.
    async fn cycle(&self, ctx: &Context<'_>, number: i32) -> Result<Option<Cycle>> {
        let n = CycleNumber::new(number as i64).map_err(|e| bad_input("number", e))?;
        Ok(catalog(ctx)?.cycle(n).cloned().map(Cycle))
    }

    /// A Working Group session by number; null if there is none.
    async fn session(&self, ctx: &Context<'_>, number: i32) -> Result<Option<Session>> {
        let n = SessionNumber::new(number as i64).map_err(|e| bad_input("number", e))?;
        Ok(catalog(ctx)?.session(n).cloned().map(Session))
    }

    /// Sessions in order, all or those of one cycle.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn sessions(&self, ctx: &Context<'_>, cycle: Option<i32>) -> Result<Vec<Session>> {
        let cycle = cycle
            .map(|c| CycleNumber::new(c as i64).map_err(|e| bad_input("cycle", e)))
            .transpose()?;
        Ok(catalog(ctx)?
            .sessions
            .iter()
            .filter(|s| cycle.is_none_or(|c| s.record.cycle == c))
            .cloned()
            .map(Session)
            .collect())
    }

    /// A recommendation by its dataset key; null if there is none.
    async fn recommendation(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "ref")] reference: String,
    ) -> Result<Option<Recommendation>> {
        Ok(catalog(ctx)?
            .recommendations
            .by_ref(&reference)
            .cloned()
            .map(Recommendation))
    }

    /// Recommendations in key order, with facet counts over the filtered set.
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
        recommendation::recommendations(
            &c,
            &c.recommendations.all,
            filter,
            first,
            after,
            last,
            before,
        )
    }

    /// A measure by its dataset key; null if there is none.
    async fn measure(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "ref")] reference: String,
    ) -> Result<Option<Measure>> {
        Ok(catalog(ctx)?
            .measures
            .by_ref(&reference)
            .cloned()
            .map(Measure))
    }

    /// COVID-19 measures in key order, with facet counts over the filtered set.
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
        measure::measures(&c, &c.measures.all, filter, first, after, last, before)
    }

    /// A good practice by its dataset key; null if there is none.
    async fn good_practice(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "ref")] reference: String,
    ) -> Result<Option<GoodPractice>> {
        Ok(catalog(ctx)?
            .good_practices
            .by_ref(&reference)
            .cloned()
            .map(GoodPractice))
    }

    /// Good practices in key order.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, last, child_complexity)")]
    async fn good_practices(
        &self,
        ctx: &Context<'_>,
        filter: Option<GoodPracticeFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<GoodPracticeConnection> {
        let c = catalog(ctx)?;
        good_practice::good_practices(
            &c,
            &c.good_practices.all,
            filter,
            first,
            after,
            last,
            before,
        )
    }

    /// The link between a recommendation and a measure; null if there is none.
    async fn link(
        &self,
        ctx: &Context<'_>,
        recommendation: String,
        measure: String,
    ) -> Result<Option<Link>> {
        Ok(catalog(ctx)?
            .link(&recommendation, &measure)
            .cloned()
            .map(Link))
    }

    /// Links in key order (recommendation, then measure).
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, last, child_complexity)")]
    async fn links(
        &self,
        ctx: &Context<'_>,
        filter: Option<LinkFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<LinkConnection> {
        link::links(catalog(ctx)?.as_ref(), filter, first, after, last, before)
    }

    /// UPR Info's issues (plus `covid-19`), by slug.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn themes(&self, ctx: &Context<'_>) -> Result<Vec<Theme>> {
        Ok(catalog(ctx)?.themes.iter().cloned().map(Theme).collect())
    }

    /// Affected-person groups, by slug.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn groups(&self, ctx: &Context<'_>) -> Result<Vec<Group>> {
        Ok(catalog(ctx)?.groups.iter().cloned().map(Group).collect())
    }

    /// The 17 Sustainable Development Goals.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn sdgs(&self, ctx: &Context<'_>) -> Result<Vec<Sdg>> {
        Ok(catalog(ctx)?.sdgs.iter().cloned().map(Sdg).collect())
    }

    /// The measure categories with their themes and OxCGRT indicators.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn measure_categories(&self, ctx: &Context<'_>) -> Result<Vec<MeasureCategoryInfo>> {
        Ok(catalog(ctx)?
            .measure_categories
            .iter()
            .cloned()
            .map(MeasureCategoryInfo)
            .collect())
    }

    /// Full-text search over recommendations, measures and good practices, best first.
    /// Every word must match (English stemming); each hit has a score and a snippet.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, None, child_complexity)")]
    async fn search(
        &self,
        ctx: &Context<'_>,
        text: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<SearchConnection> {
        // Scoring and snippets are CPU work: off the request threads (see `cost::heavy`).
        let c = catalog(ctx)?.clone();
        crate::graphql::cost::heavy(ctx, move |_| Ok(search(&c, &text, first, after))).await?
    }

    /// Any object by its global id; null if there is none.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        Ok(node(catalog(ctx)?.as_ref(), &id))
    }

    /// Every change made through the API (and imported history), oldest first: sync by
    /// keeping the last `endCursor` and asking again with `after`. `since` starts at an
    /// instant instead.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, None, child_complexity)")]
    async fn changes(
        &self,
        ctx: &Context<'_>,
        since: Option<crate::graphql::scalars::DateTime>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<crate::graphql::history::ChangeConnection> {
        crate::graphql::history::changes(ctx, since, first, after)
    }

    /// The API tokens: names, roles and creation times, never secrets (needs an admin
    /// token).
    async fn tokens(&self, ctx: &Context<'_>) -> Result<Vec<crate::graphql::mutation::TokenInfo>> {
        crate::graphql::mutation::tokens(ctx)
    }

    /// Objects by global ids, in the order given (null where there is none).
    #[graphql(complexity = "ids.len() * child_complexity + 1")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>> {
        if ids.len() > MAX_PAGE as usize {
            return Err(bad_input(
                "ids",
                format!("at most {MAX_PAGE} ids, got {}", ids.len()),
            ));
        }
        let c = catalog(ctx)?;
        Ok(ids.iter().map(|id| node(&c, id)).collect())
    }
}

fn node(c: &Catalog, id: &ID) -> Option<Node> {
    let (t, key) = parse_global_id(id)?;
    node_of_type(c, &t, &key)
}

/// The record a history entry names, if it still exists.
pub fn node_by_key(c: &Catalog, entity: crate::model::Entity, key: &str) -> Option<Node> {
    use crate::model::Entity as E;
    let t = match entity {
        E::Country => "Country",
        E::Cycle => "Cycle",
        E::Session => "Session",
        E::Recommendation => "Recommendation",
        E::Measure => "Measure",
        E::GoodPractice => "GoodPractice",
        E::Link => "Link",
        E::Theme => "Theme",
        E::Group => "Group",
        E::Sdg => "Sdg",
        E::MeasureCategory => "MeasureCategoryInfo",
        E::Concern => "Concern",
        E::Action => "Action",
    };
    node_of_type(c, t, key)
}

fn node_of_type(c: &Catalog, t: &str, key: &str) -> Option<Node> {
    let key = key.to_owned();
    Some(match t {
        "Country" => Node::Country(Country(c.country(CountryCode::parse(&key).ok()?)?.clone())),
        "Cycle" => Node::Cycle(Cycle(
            c.cycle(CycleNumber::new(key.parse().ok()?).ok()?)?.clone(),
        )),
        "Session" => Node::Session(Session(
            c.session(SessionNumber::new(key.parse().ok()?).ok()?)?
                .clone(),
        )),
        "Recommendation" => {
            Node::Recommendation(Recommendation(c.recommendations.by_ref(&key)?.clone()))
        }
        "Measure" => Node::Measure(Measure(c.measures.by_ref(&key)?.clone())),
        "GoodPractice" => Node::GoodPractice(GoodPractice(c.good_practices.by_ref(&key)?.clone())),
        "Concern" => Node::Concern(Concern(c.concerns.by_ref(&key)?.clone())),
        "Action" => Node::Action(Action(c.actions.by_ref(&key)?.clone())),
        "Link" => {
            let (r, m) = crate::model::LinkKey::split(&key)?;
            Node::Link(Link(c.link(r, m)?.clone()))
        }
        "Theme" => Node::Theme(Theme(c.theme(&key)?.clone())),
        "Group" => Node::Group(Group(c.group(&key)?.clone())),
        "Sdg" => Node::Sdg(Sdg(c
            .sdg(crate::model::SdgGoal::new(key.parse().ok()?).ok()?)?
            .clone())),
        "MeasureCategoryInfo" => Node::MeasureCategoryInfo(MeasureCategoryInfo(
            c.measure_category(crate::model::MeasureCategory::parse(&key)?)?
                .clone(),
        )),
        _ => return None,
    })
}

/// Longest snippet, in words.
const SNIPPET_WORDS: usize = 30;

fn search(
    c: &Catalog,
    text: &str,
    first: Option<i32>,
    after: Option<String>,
) -> Result<SearchConnection> {
    let first = match first {
        Some(n) if n < 0 => {
            return Err(bad_input("first", format!("must not be negative, got {n}")))
        }
        Some(n) if n > MAX_PAGE => {
            return Err(bad_input(
                "first",
                format!("at most {MAX_PAGE} items per page, got {n}"),
            ))
        }
        Some(n) => n as usize,
        None => DEFAULT_PAGE,
    };
    let offset = match after {
        None => 0,
        Some(a) => decode_cursor(&a)
            .and_then(|k| k.parse::<usize>().ok())
            .map(|o| o + 1)
            .ok_or_else(|| bad_input("after", format!("{a:?} is not a cursor of this search")))?,
    };
    let terms = text_terms(c, "text", text)?;
    // (score, kind, id); kind orders ties: recommendations, measures, good practices,
    // concerns, actions.
    let mut hits: Vec<(f32, u8, u32)> = vec![];
    let mut total = RoaringBitmap::new();
    for (kind, index) in [
        (0u8, &c.recommendation_text),
        (1, &c.measure_text),
        (2, &c.good_practice_text),
        (3, &c.concern_text),
        (4, &c.action_text),
    ] {
        let docs = index.matching(&terms);
        total.insert_range(hits.len() as u32..(hits.len() as u64 + docs.len()) as u32);
        hits.extend(
            index
                .scores(&terms, &docs)
                .into_iter()
                .map(|(id, s)| (s, kind, id)),
        );
    }
    hits.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let total_count = hits.len() as u64;
    let page: Vec<_> = hits.iter().enumerate().skip(offset).take(first).collect();
    let edges: Vec<(String, SearchHit)> = page
        .iter()
        .filter_map(|&(i, &(score, kind, id))| {
            let (node, body) = match kind {
                0 => {
                    let r = c.recommendations.get(id)?;
                    (
                        SearchResult::Recommendation(Recommendation(r.clone())),
                        r.record.text.clone(),
                    )
                }
                1 => {
                    let m = c.measures.get(id)?;
                    (
                        SearchResult::Measure(Measure(m.clone())),
                        format!("{} — {}", m.record.title, m.record.description),
                    )
                }
                2 => {
                    let g = c.good_practices.get(id)?;
                    (
                        SearchResult::GoodPractice(GoodPractice(g.clone())),
                        format!("{} — {}", g.record.title, g.record.description),
                    )
                }
                3 => {
                    let g = c.concerns.get(id)?;
                    (
                        SearchResult::Concern(Concern(g.clone())),
                        format!("{} — {}", g.record.title, g.record.description),
                    )
                }
                _ => {
                    let a = c.actions.get(id)?;
                    let outcome = a.record.outcome.as_deref().unwrap_or("");
                    (
                        SearchResult::Action(Action(a.clone())),
                        format!("{} — {} {outcome}", a.record.title, a.record.description),
                    )
                }
            };
            let snippet = text::snippet(&c.analyzer, &body, &terms, SNIPPET_WORDS);
            Some((
                encode_cursor(&i.to_string()),
                SearchHit {
                    score: score as f64,
                    snippet,
                    node,
                },
            ))
        })
        .collect();
    let info = super::connection::PageInfo {
        has_next_page: offset + edges.len() < hits.len(),
        has_previous_page: offset > 0,
        start_cursor: edges.first().map(|(c, _)| c.clone()),
        end_cursor: edges.last().map(|(c, _)| c.clone()),
    };
    Ok(SearchConnection::new(
        edges,
        info,
        total_count,
        Arc::new(total),
    ))
}
