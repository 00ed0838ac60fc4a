//! The assessment in the API: `assessText` at the root, for a draft that is not stored, and
//! the types `Recommendation.assessment` shares with it. Open to everyone (no token): the
//! delegation of a recommending State checks its draft before making it, as UPR Info's
//! SMART guidance asks, and the assessment reads nothing from the store.

use async_graphql::{Enum, Object, Result, SimpleObject};

use crate::assess;
use crate::graphql::errors::{bad_input, refusal};
use crate::model::limits;

/// The automatic assessment of a recommendation's text: the action it asks for, the issues
/// and affected groups it bears on, and how SMART it is. Every value comes with its reasons.
/// Computed by rules and tables kept as data (see the README, "The assessment"); the action
/// category and themes were fitted on UPR Info's coding of sessions 1-15.
#[derive(SimpleObject)]
pub struct Assessment {
    /// The action asked of the State, on UPR Info's 1-5 scale.
    pub action_category: AssessedActionCategory,
    /// UPR Info issues (theme slugs) the text bears on, most likely first.
    pub themes: Vec<AssessedTag>,
    /// Affected-person groups (group slugs) the text bears on, most likely first.
    pub groups: Vec<AssessedTag>,
    /// How specific, measurable, achievable, relevant and time-bound the text is.
    pub smart: SmartAssessment,
}

/// An assessed action category.
#[derive(SimpleObject)]
pub struct AssessedActionCategory {
    /// 1 minimal action (share or seek), 2 continuing, 3 considering, 4 general, 5 specific.
    pub value: i32,
    /// The assessment's share of belief in `value`, in (0, 1] (a softmax of the five
    /// categories' scores; relative, not a calibrated probability).
    pub confidence: f64,
    /// The category's name, then the words that weighed most for it, e.g. "starts with
    /// 'ratify' (weight +23.93)".
    pub reasons: Vec<String>,
}

/// A suggested theme or group.
#[derive(SimpleObject)]
pub struct AssessedTag {
    /// The theme's or group's slug.
    pub slug: String,
    /// The words that triggered it, strongest first, e.g. "'torture' (weight +40.57)".
    pub reasons: Vec<String>,
}

/// The SMART criteria, each scored in [0, 1] with its reasons.
#[derive(SimpleObject)]
pub struct SmartAssessment {
    /// Names a concrete action on a named object rather than a general call for efforts.
    pub specific: SmartCriterion,
    /// Its implementation can be measured: a quantity, target, indicator or checkable output.
    pub measurable: SmartCriterion,
    /// Within the State's reach: a single act it controls, or the means or partners named.
    pub achievable: SmartCriterion,
    /// Bears on a right, an obligation or the people they protect.
    pub relevant: SmartCriterion,
    /// Gives a deadline or a time frame.
    pub time_bound: SmartCriterion,
    /// The mean of the five scores.
    pub total: f64,
}

/// One SMART criterion.
#[derive(SimpleObject)]
pub struct SmartCriterion {
    /// In [0, 1].
    pub score: f64,
    /// Why, e.g. "time-bound: names a deadline, 'by 2022'" or "measurable: no quantity,
    /// target or indicator".
    pub reasons: Vec<String>,
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

fn criterion(s: &assess::Score) -> SmartCriterion {
    SmartCriterion {
        score: f64::from(s.score),
        reasons: s.reasons.clone(),
    }
}

fn tags(list: &[assess::Suggestion]) -> Vec<AssessedTag> {
    list.iter()
        .map(|s| AssessedTag {
            slug: s.slug.clone(),
            reasons: s.reasons.clone(),
        })
        .collect()
}

impl From<&assess::Assessment> for Assessment {
    fn from(a: &assess::Assessment) -> Assessment {
        Assessment {
            action_category: AssessedActionCategory {
                value: i32::from(a.action_category.value),
                confidence: f64::from(a.action_category.confidence),
                reasons: a.action_category.reasons.clone(),
            },
            themes: tags(&a.themes),
            groups: tags(&a.groups),
            smart: SmartAssessment {
                specific: criterion(&a.smart.specific),
                measurable: criterion(&a.smart.measurable),
                achievable: criterion(&a.smart.achievable),
                relevant: criterion(&a.smart.relevant),
                time_bound: criterion(&a.smart.time_bound),
                total: f64::from(a.smart.total),
            },
        }
    }
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
        Ok(Assessment::from(&assess::assess(&text)))
    }
}
