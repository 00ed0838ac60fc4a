//! The figures behind the Tracker's two-page snapshots of a region or a country.
//!
//! OHCHR's COVID-19 Tracker produced a two-page visual snapshot per region for the UN's Crisis
//! Management Team, assembled by hand from its records. [`figures`] computes the same figures
//! from one catalog snapshot, for the States of a UN regional group or for one State, over an
//! optional period; the HTML page (`server::snapshots`) and GraphQL's `snapshot` both draw
//! from it, so the page and the API cannot disagree.
//!
//! What the period selects (both bounds inclusive, either may be open):
//! - measures by their start date, concerns by the day they were reported, actions by their
//!   start date: what happened in the period;
//! - recommendations are not dated events but standing commitments: every recommendation the
//!   States received counts, whatever the period;
//! - links and regressions follow their measure (a measure of the period brings its links);
//! - good practices by their year, when they have one.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Datelike;
use roaring::RoaringBitmap;

use super::regressions::{regressions_of, Regression};
use super::{Catalog, LinkRow};
use crate::model::*;
use crate::store::Index;

/// Whose snapshot it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The States of a UN regional group.
    Region(UnRegionalGroup),
    /// One State.
    Country(CountryCode),
}

/// The days a snapshot covers; `None` leaves that side open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    pub from: Option<Date>,
    pub to: Option<Date>,
}

impl Period {
    /// Whether the day falls in the period.
    pub fn contains(&self, day: Date) -> bool {
        self.from.is_none_or(|f| f <= day) && self.to.is_none_or(|t| day <= t)
    }

    /// Whether the year meets the period.
    pub fn meets_year(&self, year: i32) -> bool {
        self.from.is_none_or(|f| f.year() <= year) && self.to.is_none_or(|t| year <= t.year())
    }
}

/// How many measures of one category started in one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthCount {
    /// `YYYY-MM`.
    pub month: String,
    pub category: MeasureCategory,
    pub count: u32,
}

/// How well a theme's commitments are matched by measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeCoverage {
    pub theme: Slug,
    /// SUPPORTED recommendations received by the States, on the theme.
    pub supported_recommendations: u32,
    /// Of those, how many have a CONFIRMED IMPLEMENTS or PARTIALLY_IMPLEMENTS link to a measure
    /// of the period.
    pub implemented_recommendations: u32,
    /// Measures of the period on the theme with a CONFIRMED IMPLEMENTS or
    /// PARTIALLY_IMPLEMENTS link to a recommendation.
    pub implementing_measures: u32,
}

/// A count by a theme, group or other label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelCount<T> {
    pub label: T,
    pub count: u32,
}

/// Everything a snapshot page shows.
#[derive(Debug, Clone)]
pub struct Figures {
    pub scope: Scope,
    pub period: Period,
    /// The States covered, by code.
    pub countries: Vec<CountryCode>,
    /// Internal ids of the measures that started in the period.
    pub measures: RoaringBitmap,
    /// Internal ids of the recommendations the States received.
    pub recommendations: RoaringBitmap,
    pub supported_recommendations: u64,
    pub partially_supported_recommendations: u64,
    /// CONFIRMED links of the period's measures, by relation (every relation listed).
    pub links_by_relation: Vec<LabelCount<LinkRelation>>,
    /// Measures started per month and category, in month order, then category order.
    pub measures_by_month: Vec<MonthCount>,
    /// Measures of the period by category, largest first.
    pub measures_by_category: Vec<LabelCount<MeasureCategory>>,
    /// Themes with a supported recommendation or an implementing measure, most supported
    /// recommendations first.
    pub theme_coverage: Vec<ThemeCoverage>,
    /// The period's possible regressions (see [`super::regressions`]), by start date.
    pub regressions: Vec<Regression>,
    /// Internal ids of the good practices of the States (and of the period, by year).
    pub good_practices: Vec<u32>,
    /// Internal ids of the issues of concern reported in the period.
    pub concerns: RoaringBitmap,
    /// Internal ids of UN Human Rights' actions started in the period.
    pub actions: RoaringBitmap,
    /// The period's concerns by theme, most first, without the themes every one of them
    /// carries (`covid-19` on Tracker records), which would say nothing.
    pub concerns_by_theme: Vec<LabelCount<Slug>>,
    /// The period's concerns, most severe first, then most recent, then by ref.
    pub top_concerns: Vec<u32>,
}

/// The States of a scope, in code order.
pub fn countries_of(cat: &Catalog, scope: Scope) -> Vec<CountryCode> {
    match scope {
        Scope::Country(code) => vec![code],
        Scope::Region(group) => {
            let mut codes: Vec<CountryCode> = cat
                .countries
                .iter()
                .filter(|c| c.record.un_regional_group == Some(group))
                .map(|c| c.record.code)
                .collect();
            codes.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
            codes
        }
    }
}

/// Computes a snapshot's figures from one catalog snapshot.
pub fn figures(cat: &Catalog, scope: Scope, period: Period) -> Figures {
    let countries = countries_of(cat, scope);
    let measures = measures_of(cat, &countries, period);
    let recommendations = union(
        cat,
        countries.iter().map(|c| Index::RecommendationsReceived(*c)),
    );
    let supported =
        &recommendations & cat.list(&Index::RecommendationsByResponse(Response::Supported));
    let partially = (&recommendations
        & cat.list(&Index::RecommendationsByResponse(
            Response::PartiallySupported,
        )))
    .len();

    // One pass over the links, keeping those of the period's measures: cheaper than looking up
    // each measure's links (a search by refs per link) once for each figure that needs them.
    let links: Vec<&LinkRow> = cat
        .links
        .iter()
        .filter(|l| measures.contains(l.measure))
        .map(|l| l.as_ref())
        .collect();
    let links_by_relation = links_by_relation(&links);
    let (measures_by_month, measures_by_category) = measures_by_time(cat, &measures);
    let theme_coverage = theme_coverage(cat, &supported, &links);
    let regressions = regressions_of(cat, &countries)
        .into_iter()
        .flatten()
        .filter(|r| measures.contains(r.measure))
        .collect::<Vec<_>>();
    let regressions = by_start_date(cat, regressions);
    let good_practices = good_practices_of(cat, &countries, period);
    let concerns = dated(
        cat,
        countries.iter().map(|c| Index::ConcernsByCountry(*c)),
        |id| cat.concerns.get(id).map(|c| c.record.reported_on),
        period,
    );
    let actions = dated(
        cat,
        countries.iter().map(|c| Index::ActionsByCountry(*c)),
        |id| cat.actions.get(id).map(|a| a.record.start_date),
        period,
    );
    let concerns_by_theme = concerns_by_theme(cat, &concerns);
    let top_concerns = top_concerns(cat, &concerns);

    Figures {
        scope,
        period,
        countries,
        supported_recommendations: supported.len(),
        partially_supported_recommendations: partially,
        measures,
        recommendations,
        links_by_relation,
        measures_by_month,
        measures_by_category,
        theme_coverage,
        regressions,
        good_practices,
        concerns,
        actions,
        concerns_by_theme,
        top_concerns,
    }
}

/// The records of the lists whose day falls in the period.
fn dated(
    cat: &Catalog,
    lists: impl Iterator<Item = Index>,
    day: impl Fn(u32) -> Option<Date>,
    period: Period,
) -> RoaringBitmap {
    union(cat, lists)
        .iter()
        .filter(|&id| day(id).is_some_and(|d| period.contains(d)))
        .collect()
}

fn concerns_by_theme(cat: &Catalog, concerns: &RoaringBitmap) -> Vec<LabelCount<Slug>> {
    let rows = concerns.iter().filter_map(|id| cat.concerns.get(id));
    let counts = count_themes(rows.flat_map(|c| c.record.themes.iter()));
    counts
        .into_iter()
        .filter(|t| u64::from(t.count) < concerns.len() || concerns.len() == 1)
        .collect()
}

fn top_concerns(cat: &Catalog, concerns: &RoaringBitmap) -> Vec<u32> {
    let mut rows: Vec<_> = concerns
        .iter()
        .filter_map(|id| cat.concerns.get(id))
        .collect();
    rows.sort_by(|a, b| {
        (b.record.severity, b.record.reported_on)
            .cmp(&(a.record.severity, a.record.reported_on))
            .then_with(|| a.record.id.as_str().cmp(b.record.id.as_str()))
    });
    rows.into_iter().map(|r| r.id).collect()
}

fn union(cat: &Catalog, lists: impl Iterator<Item = Index>) -> RoaringBitmap {
    let mut set = RoaringBitmap::new();
    for index in lists {
        set |= cat.list(&index);
    }
    set
}

fn measures_of(cat: &Catalog, countries: &[CountryCode], period: Period) -> RoaringBitmap {
    let all = union(cat, countries.iter().map(|c| Index::MeasuresByCountry(*c)));
    if period == Period::default() {
        return all;
    }
    all.iter()
        .filter(|&id| {
            cat.measures
                .get(id)
                .is_some_and(|m| period.contains(m.record.start_date))
        })
        .collect()
}

fn links_by_relation(links: &[&LinkRow]) -> Vec<LabelCount<LinkRelation>> {
    let mut counts: BTreeMap<LinkRelation, u32> =
        LinkRelation::ALL.iter().map(|r| (*r, 0)).collect();
    for l in links {
        if l.record.status == LinkStatus::Confirmed {
            *counts.entry(l.record.relation).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .map(|(label, count)| LabelCount { label, count })
        .collect()
}

fn measures_by_time(
    cat: &Catalog,
    measures: &RoaringBitmap,
) -> (Vec<MonthCount>, Vec<LabelCount<MeasureCategory>>) {
    // Months as (year, month) while counting, `YYYY-MM` once at the end (the same order).
    let mut by_month: BTreeMap<((i32, u32), MeasureCategory), u32> = BTreeMap::new();
    let mut by_category: BTreeMap<MeasureCategory, u32> = BTreeMap::new();
    for m in measures.iter().filter_map(|id| cat.measures.get(id)) {
        let day = m.record.start_date.naive();
        let month = (day.year(), day.month());
        *by_month.entry((month, m.record.category)).or_default() += 1;
        *by_category.entry(m.record.category).or_default() += 1;
    }
    let by_month = by_month
        .into_iter()
        .map(|(((year, month), category), count)| MonthCount {
            month: format!("{year:04}-{month:02}"),
            category,
            count,
        })
        .collect();
    let mut by_category: Vec<_> = by_category
        .into_iter()
        .map(|(label, count)| LabelCount { label, count })
        .collect();
    by_category.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
    (by_month, by_category)
}

fn implements(l: &Link) -> bool {
    l.status == LinkStatus::Confirmed
        && matches!(
            l.relation,
            LinkRelation::Implements | LinkRelation::PartiallyImplements
        )
}

fn theme_coverage(
    cat: &Catalog,
    supported: &RoaringBitmap,
    links: &[&LinkRow],
) -> Vec<ThemeCoverage> {
    // Recommendations and measures joined by an implementing link, within the scope.
    let mut implemented = RoaringBitmap::new();
    let mut implementing = RoaringBitmap::new();
    for l in links {
        if implements(&l.record) {
            implementing.insert(l.measure);
            if supported.contains(l.recommendation) {
                implemented.insert(l.recommendation);
            }
        }
    }
    let mut rows: Vec<ThemeCoverage> = cat
        .themes
        .iter()
        .map(|t| {
            let on_theme = cat.list(&Index::RecommendationsByTheme(t.slug.clone())) & supported;
            let measures_on_theme =
                cat.list(&Index::MeasuresByTheme(t.slug.clone())) & &implementing;
            ThemeCoverage {
                theme: t.slug.clone(),
                supported_recommendations: on_theme.len() as u32,
                implemented_recommendations: (&on_theme & &implemented).len() as u32,
                implementing_measures: measures_on_theme.len() as u32,
            }
        })
        .filter(|c| c.supported_recommendations > 0 || c.implementing_measures > 0)
        .collect();
    rows.sort_by(|a, b| {
        b.supported_recommendations
            .cmp(&a.supported_recommendations)
            .then_with(|| a.theme.as_str().cmp(b.theme.as_str()))
    });
    rows
}

fn by_start_date(cat: &Catalog, mut found: Vec<Regression>) -> Vec<Regression> {
    // The rank in ref order stands for the ref: no string to copy or compare.
    let key = |r: &Regression| {
        cat.measures
            .get(r.measure)
            .map(|m| (m.record.start_date, cat.measures.rank(r.measure)))
    };
    found.sort_by_cached_key(key);
    found
}

fn good_practices_of(cat: &Catalog, countries: &[CountryCode], period: Period) -> Vec<u32> {
    let ids = union(
        cat,
        countries.iter().map(|c| Index::GoodPracticesByCountry(*c)),
    );
    let mut found: Vec<(&str, u32)> = ids
        .iter()
        .filter_map(|id| cat.good_practices.get(id))
        .filter(|p| p.record.year.is_none_or(|y| period.meets_year(y)))
        .map(|p| (p.record.id.as_str(), p.id))
        .collect();
    found.sort_unstable();
    found.into_iter().map(|(_, id)| id).collect()
}

/// The themes of a set of records counted, most frequent first (ties by slug).
pub fn count_themes<'a>(themes: impl Iterator<Item = &'a Slug>) -> Vec<LabelCount<Slug>> {
    let mut counts: BTreeMap<&Slug, u32> = BTreeMap::new();
    for t in themes {
        *counts.entry(t).or_default() += 1;
    }
    let mut rows: Vec<_> = counts
        .into_iter()
        .map(|(label, count)| LabelCount {
            label: label.clone(),
            count,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.label.as_str().cmp(b.label.as_str()))
    });
    rows
}

/// The months from the first to the last of `months` (`YYYY-MM`), none missing, so a chart's
/// axis shows the quiet months too.
pub fn month_axis(months: &BTreeSet<String>) -> Vec<String> {
    let (Some(first), Some(last)) = (months.first(), months.last()) else {
        return vec![];
    };
    let parse = |m: &str| -> Option<(i32, u32)> {
        let (y, mo) = m.split_once('-')?;
        Some((y.parse().ok()?, mo.parse().ok()?))
    };
    let (Some((mut y, mut m)), Some(end)) = (parse(first), parse(last)) else {
        return months.iter().cloned().collect();
    };
    let mut axis = vec![];
    while (y, m) <= end {
        axis.push(format!("{y:04}-{m:02}"));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    axis
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn a_period_includes_both_of_its_bounds_and_is_open_where_it_has_none() {
        let p = Period {
            from: Some(day("2020-03-01")),
            to: Some(day("2020-03-31")),
        };
        assert!(p.contains(day("2020-03-01")));
        assert!(p.contains(day("2020-03-31")));
        assert!(!p.contains(day("2020-02-29")));
        assert!(!p.contains(day("2020-04-01")));
        assert!(Period::default().contains(day("1999-01-01")));
        assert!(p.meets_year(2020));
        assert!(!p.meets_year(2021));
    }

    #[test]
    fn the_month_axis_fills_the_quiet_months_across_a_year_end() {
        let months: BTreeSet<String> = ["2020-11", "2021-02"].map(String::from).into();
        assert_eq!(
            month_axis(&months),
            ["2020-11", "2020-12", "2021-01", "2021-02"]
        );
        assert!(month_axis(&BTreeSet::new()).is_empty());
    }
}
