//! The assessment in the API: `assessText` at the root, for a draft that is not stored, and
//! the types `Recommendation.assessment` shares with it. Open to everyone (no token): the
//! delegation of a recommending State checks its draft before making it, as UPR Info's
//! SMART guidance asks, and the assessment reads nothing from the store.

use std::sync::{Arc, OnceLock};

use async_graphql::{Enum, Object, Result};

use crate::assess;
use crate::graphql::errors::{bad_input, refusal};
use crate::model::limits;

/// The text an [`Assessment`] is of, and its full assessment (with reasons), computed the
/// first time a field asks for a reason: a stored recommendation's catalog keeps the values
/// only (`catalog::assessments`), and most queries never ask why.
struct Source {
    text: String,
    full: OnceLock<assess::Assessment>,
}

impl Source {
    fn full(&self) -> &assess::Assessment {
        self.full.get_or_init(|| assess::assess(&self.text))
    }
}

pub struct Assessment {
    brief: assess::Brief,
    source: Arc<Source>,
}

impl Assessment {
    /// The assessment of a stored recommendation, from its catalog's values; reasons are
    /// computed on demand from `text`.
    pub fn of_stored(brief: assess::Brief, text: String) -> Assessment {
        Assessment {
            brief,
            source: Arc::new(Source {
                text,
                full: OnceLock::new(),
            }),
        }
    }

    /// The assessment of a draft, already computed in full.
    fn of_draft(text: String) -> Assessment {
        let full = assess::assess(&text);
        Assessment {
            brief: assess::Brief::of(&full),
            source: Arc::new(Source {
                text,
                full: OnceLock::from(full),
            }),
        }
    }
}

/// The automatic assessment of a recommendation's text: the action it asks for, the issues
/// and affected groups it bears on, and how SMART it is. Every value comes with its reasons.
/// Computed by rules and tables kept as data (see the README, "The assessment"); the action
/// category and themes were fitted on UPR Info's coding of sessions 1-15.
#[Object]
impl Assessment {
    /// The action asked of the State, on UPR Info's 1-5 scale.
    async fn action_category(&self) -> AssessedActionCategory {
        AssessedActionCategory {
            value: self.brief.action_category,
            confidence: self.brief.confidence,
            source: self.source.clone(),
        }
    }
    /// UPR Info issues (theme slugs) the text bears on, most likely first.
    async fn themes(&self) -> Vec<AssessedTag> {
        self.brief
            .themes()
            .map(|slug| AssessedTag {
                slug,
                groups: false,
                source: self.source.clone(),
            })
            .collect()
    }
    /// Affected-person groups (group slugs) the text bears on, most likely first.
    async fn groups(&self) -> Vec<AssessedTag> {
        self.brief
            .groups()
            .map(|slug| AssessedTag {
                slug,
                groups: true,
                source: self.source.clone(),
            })
            .collect()
    }
    /// How specific, measurable, achievable, relevant and time-bound the text is.
    async fn smart(&self) -> SmartAssessment {
        SmartAssessment {
            scores: self.brief.smart,
            total: self.brief.smart_total,
            source: self.source.clone(),
        }
    }
}

pub struct AssessedActionCategory {
    value: u8,
    confidence: f32,
    source: Arc<Source>,
}

/// An assessed action category.
#[Object]
impl AssessedActionCategory {
    /// 1 minimal action (share or seek), 2 continuing, 3 considering, 4 general, 5 specific.
    async fn value(&self) -> i32 {
        i32::from(self.value)
    }
    /// The estimated probability that UPR Info's coders would give `value`: the model's
    /// softmax, its temperature fitted on sessions 13-15 (which the model was not fitted on),
    /// so that over many recommendations the mean confidence matches the share that agree
    /// (see the README, "The assessment", for how well it does on sessions 16-20).
    async fn confidence(&self) -> f64 {
        f64::from(self.confidence)
    }
    /// The category's name, then the words that weighed most for it, e.g. "starts with
    /// 'ratify' (weight +23.93)".
    async fn reasons(&self) -> Vec<String> {
        self.source.full().action_category.reasons.clone()
    }
}

pub struct AssessedTag {
    slug: &'static str,
    /// A group rather than a theme.
    groups: bool,
    source: Arc<Source>,
}

/// A suggested theme or group.
#[Object]
impl AssessedTag {
    /// The theme's or group's slug.
    async fn slug(&self) -> &str {
        self.slug
    }
    /// The words that triggered it, strongest first, e.g. "'torture' (weight +40.57)".
    async fn reasons(&self) -> Vec<String> {
        let full = self.source.full();
        let list = if self.groups {
            &full.groups
        } else {
            &full.themes
        };
        list.iter()
            .find(|s| s.slug == self.slug)
            .map(|s| s.reasons.clone())
            .unwrap_or_default()
    }
}

pub struct SmartAssessment {
    scores: [f32; 5],
    total: f32,
    source: Arc<Source>,
}

impl SmartAssessment {
    fn criterion(&self, c: assess::Criterion) -> SmartCriterion {
        let i = assess::Criterion::ALL
            .iter()
            .position(|x| *x == c)
            .unwrap_or_default();
        SmartCriterion {
            criterion: c,
            score: self.scores[i],
            source: self.source.clone(),
        }
    }
}

/// The SMART criteria, each scored in [0, 1] with its reasons.
#[Object]
impl SmartAssessment {
    /// Names a concrete action on a named object rather than a general call for efforts.
    async fn specific(&self) -> SmartCriterion {
        self.criterion(assess::Criterion::Specific)
    }
    /// Its implementation can be measured: a quantity, target, indicator or checkable output.
    async fn measurable(&self) -> SmartCriterion {
        self.criterion(assess::Criterion::Measurable)
    }
    /// Within the State's reach: a single act it controls, or the means or partners named.
    async fn achievable(&self) -> SmartCriterion {
        self.criterion(assess::Criterion::Achievable)
    }
    /// Bears on a right, an obligation or the people they protect.
    async fn relevant(&self) -> SmartCriterion {
        self.criterion(assess::Criterion::Relevant)
    }
    /// Gives a deadline or a time frame.
    async fn time_bound(&self) -> SmartCriterion {
        self.criterion(assess::Criterion::TimeBound)
    }
    /// The mean of the five scores.
    async fn total(&self) -> f64 {
        f64::from(self.total)
    }
}

pub struct SmartCriterion {
    criterion: assess::Criterion,
    score: f32,
    source: Arc<Source>,
}

/// One SMART criterion.
#[Object]
impl SmartCriterion {
    /// In [0, 1].
    async fn score(&self) -> f64 {
        f64::from(self.score)
    }
    /// Why, e.g. "time-bound: names a deadline, 'by 2022'" or "measurable: no quantity,
    /// target or indicator".
    async fn reasons(&self) -> Vec<String> {
        let s = &self.source.full().smart;
        let score = match self.criterion {
            assess::Criterion::Specific => &s.specific,
            assess::Criterion::Measurable => &s.measurable,
            assess::Criterion::Achievable => &s.achievable,
            assess::Criterion::Relevant => &s.relevant,
            assess::Criterion::TimeBound => &s.time_bound,
        };
        score.reasons.clone()
    }
}

/// Where a recommendation's effective value comes from.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AssessmentSource {
    /// Coded by UPR Info (it came with the data).
    UprInfo,
    /// The record came without one: the assessment's value is shown.
    Assessed,
    /// A person set it through `classifyRecommendation` or `updateRecommendation` (who:
    /// `Recommendation.setBy`); no re-assessment or repeat import replaces it.
    Editor,
}

/// The root field of the assessment.
#[derive(Default)]
pub struct AssessQuery;

#[Object]
impl AssessQuery {
    /// Assesses a draft recommendation that is not stored: its action category, themes,
    /// groups and SMART scores, each with reasons. No token is needed. `text` must not be
    /// blank and is at most 20,000 characters (as a stored recommendation's text).
    async fn assess_text(&self, text: String) -> Result<Assessment> {
        if text.trim().is_empty() {
            return Err(bad_input(
                "text",
                "text is blank: give the recommendation to assess",
            ));
        }
        let mut refusals = Vec::new();
        limits::text(&mut refusals, "text", &text, limits::LONG_TEXT);
        if let Some(r) = refusals.into_iter().next() {
            return Err(refusal(r));
        }
        Ok(Assessment::of_draft(text))
    }
}
