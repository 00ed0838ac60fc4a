//! `snapshot`: the figures of the Tracker's two-page snapshot of a region or a country (the
//! page at `/snapshots/…` draws the same [`figures`]), so a front end can draw its own.

use std::sync::Arc;

use async_graphql::{Context, Object, Result, SimpleObject};

use super::cost::heavy;
use super::errors::bad_input;
use super::object::suggestion::Regression;
use super::object::{catalog, countries_of, Action, Concern, Country, GoodPractice, Theme};
use super::scalars::{Date, LinkRelation, MeasureCategory, UnRegionalGroup};
use crate::catalog::snapshot::{figures, Figures, Period, Scope};
use crate::catalog::Catalog;
use crate::model::CountryCode;

/// The root field (joined to `QueryRoot`).
#[derive(Default)]
pub struct SnapshotQuery;

#[Object]
impl SnapshotQuery {
    /// The figures of a two-page snapshot in the manner of OHCHR's COVID-19 Tracker, for the
    /// States of a UN regional group or for one State (give exactly one of `region` and
    /// `country`), over an optional period (both bounds inclusive). The printable page is at
    /// `/snapshots/regions/{region}` or `/snapshots/countries/{code}`. Measures count by their
    /// start date, issues of concern by the day they were reported, actions by their start
    /// date; recommendations are standing commitments and count whatever the period; links
    /// and regressions follow their measure; good practices count by year.
    async fn snapshot(
        &self,
        ctx: &Context<'_>,
        region: Option<UnRegionalGroup>,
        country: Option<String>,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<TrackerSnapshot> {
        let cat: Arc<Catalog> = Arc::clone(&*catalog(ctx)?);
        let scope = match (region, country) {
            (Some(r), None) => Scope::Region(r.into()),
            (None, Some(c)) => {
                let code = CountryCode::parse(&c).map_err(|e| bad_input("country", e))?;
                if cat.country(code).is_none() {
                    return Err(bad_input(
                        "country",
                        format!("no country with the code {c:?}"),
                    ));
                }
                Scope::Country(code)
            }
            (Some(_), Some(_)) => {
                return Err(bad_input(
                    "country",
                    "give either `region` or `country`, not both",
                ))
            }
            (None, None) => {
                return Err(bad_input(
                    "region",
                    "give a `region` (a UN regional group) or a `country` (ISO3)",
                ))
            }
        };
        let period = Period {
            from: from.map(|d| d.0),
            to: to.map(|d| d.0),
        };
        if let (Some(f), Some(t)) = (period.from, period.to) {
            if f > t {
                return Err(bad_input(
                    "from",
                    format!("`from` ({f}) is after `to` ({t})"),
                ));
            }
        }
        let shared = cat.clone();
        let figures = heavy(ctx, move |_| Ok(figures(&shared, scope, period))).await?;
        Ok(TrackerSnapshot {
            cat,
            figures: Arc::new(figures),
        })
    }
}

/// The figures of a snapshot.
pub struct TrackerSnapshot {
    cat: Arc<Catalog>,
    figures: Arc<Figures>,
}

/// How many measures of one category started in one month.
#[derive(SimpleObject)]
pub struct MonthCategoryCount {
    /// `YYYY-MM`.
    month: String,
    category: MeasureCategory,
    count: u32,
}

/// How many measures are in one category.
#[derive(SimpleObject)]
pub struct MeasureCategoryCount {
    category: MeasureCategory,
    count: u32,
}

/// How many issues of concern bear on one theme.
#[derive(SimpleObject)]
pub struct ThemeCount {
    theme: Theme,
    count: u32,
}

/// How many CONFIRMED links have one relation.
#[derive(SimpleObject)]
pub struct RelationCount {
    relation: LinkRelation,
    count: u32,
}

/// A theme's commitments against the measures that implement them.
#[derive(SimpleObject)]
pub struct ThemeCoverage {
    theme: Theme,
    /// SUPPORTED recommendations the States received on the theme.
    supported_recommendations: u32,
    /// Of those, how many a measure of the period implements (a CONFIRMED IMPLEMENTS or
    /// PARTIALLY_IMPLEMENTS link).
    implemented_recommendations: u32,
    /// Measures of the period on the theme with a CONFIRMED IMPLEMENTS or PARTIALLY_IMPLEMENTS
    /// link to a recommendation.
    implementing_measures: u32,
}

#[Object(name = "Snapshot")]
impl TrackerSnapshot {
    /// The UN regional group, for a region's snapshot.
    async fn region(&self) -> Option<UnRegionalGroup> {
        match self.figures.scope {
            Scope::Region(g) => Some(g.into()),
            Scope::Country(_) => None,
        }
    }
    /// The State, for a country's snapshot.
    async fn country(&self) -> Option<Country> {
        match self.figures.scope {
            Scope::Country(c) => self.cat.country(c).cloned().map(Country),
            Scope::Region(_) => None,
        }
    }
    /// The first day covered, if the period has one.
    async fn from(&self) -> Option<Date> {
        self.figures.period.from.map(Date)
    }
    /// The last day covered, if the period has one.
    async fn to(&self) -> Option<Date> {
        self.figures.period.to.map(Date)
    }
    /// The States covered, by code.
    async fn countries(&self) -> Vec<Country> {
        countries_of(&self.cat, &self.figures.countries)
    }
    /// Issues of concern reported in the period about the States.
    async fn concern_count(&self) -> u64 {
        self.figures.concerns.len()
    }
    /// Actions of UN Human Rights in the States started in the period.
    async fn action_count(&self) -> u64 {
        self.figures.actions.len()
    }
    /// The period's issues of concern, most severe first, then most recently reported.
    async fn concerns(&self) -> Vec<Concern> {
        self.figures
            .top_concerns
            .iter()
            .filter_map(|id| self.cat.concerns.get(*id).cloned().map(Concern))
            .collect()
    }
    /// The period's actions of UN Human Rights, by ref.
    async fn actions(&self) -> Vec<Action> {
        let mut rows: Vec<_> = self
            .figures
            .actions
            .iter()
            .filter_map(|id| self.cat.actions.get(id).cloned())
            .collect();
        rows.sort_by(|a, b| a.record.id.as_str().cmp(b.record.id.as_str()));
        rows.into_iter().map(Action).collect()
    }
    /// The period's issues of concern by theme, most first, leaving out a theme that every
    /// one of them carries (`covid-19` on the Tracker's records), which would say nothing.
    async fn concerns_by_theme(&self) -> Vec<ThemeCount> {
        self.figures
            .concerns_by_theme
            .iter()
            .filter_map(|t| {
                Some(ThemeCount {
                    theme: self.cat.theme(t.label.as_str()).cloned().map(Theme)?,
                    count: t.count,
                })
            })
            .collect()
    }
    /// Measures the States started in the period.
    async fn measure_count(&self) -> u64 {
        self.figures.measures.len()
    }
    /// Recommendations the States received (all of them: commitments are not dated events).
    async fn recommendation_count(&self) -> u64 {
        self.figures.recommendations.len()
    }
    /// Of those, the SUPPORTED ones.
    async fn supported_recommendation_count(&self) -> u64 {
        self.figures.supported_recommendations
    }
    /// Of those, the ones supported in part (PARTIALLY_SUPPORTED).
    async fn partially_supported_recommendation_count(&self) -> u64 {
        self.figures.partially_supported_recommendations
    }
    /// CONFIRMED links of the period's measures, by relation (every relation, zero included).
    async fn links_by_relation(&self) -> Vec<RelationCount> {
        self.figures
            .links_by_relation
            .iter()
            .map(|l| RelationCount {
                relation: l.label.into(),
                count: l.count,
            })
            .collect()
    }
    /// Measures started per month and category, in month order, then category.
    async fn measures_by_month(&self) -> Vec<MonthCategoryCount> {
        self.figures
            .measures_by_month
            .iter()
            .map(|m| MonthCategoryCount {
                month: m.month.clone(),
                category: m.category.into(),
                count: m.count,
            })
            .collect()
    }
    /// The period's measures by category, most first.
    async fn measures_by_category(&self) -> Vec<MeasureCategoryCount> {
        self.figures
            .measures_by_category
            .iter()
            .map(|c| MeasureCategoryCount {
                category: c.label.into(),
                count: c.count,
            })
            .collect()
    }
    /// Per theme, the supported recommendations against those a measure of the period
    /// implements: where the second falls short of the first, commitments wait for action.
    /// Themes with most supported recommendations first.
    async fn theme_coverage(&self) -> Vec<ThemeCoverage> {
        self.figures
            .theme_coverage
            .iter()
            .filter_map(|c| {
                Some(ThemeCoverage {
                    theme: self.cat.theme(c.theme.as_str()).cloned().map(Theme)?,
                    supported_recommendations: c.supported_recommendations,
                    implemented_recommendations: c.implemented_recommendations,
                    implementing_measures: c.implementing_measures,
                })
            })
            .collect()
    }
    /// How many possible regressions the period's measures are.
    async fn regression_count(&self) -> usize {
        self.figures.regressions.len()
    }
    /// The period's measures that may have set back rights the States had committed to
    /// (as `Country.regressions` finds them), by start date.
    async fn regressions(&self) -> Vec<Regression> {
        self.figures
            .regressions
            .iter()
            .cloned()
            .map(Regression)
            .collect()
    }
    /// Good practices of the States (of the period's years, when they have a year), by ref.
    async fn good_practices(&self) -> Vec<GoodPractice> {
        self.figures
            .good_practices
            .iter()
            .filter_map(|id| self.cat.good_practices.get(*id).cloned().map(GoodPractice))
            .collect()
    }
}
