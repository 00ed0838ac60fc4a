//! The automatic, explained assessment of a recommendation: the action it asks for on UPR
//! Info's 1-5 scale, the themes and affected groups it bears on, and how SMART it is.
//!
//! A model-level module (no storage, no GraphQL), so the catalog can hold an assessment
//! beside every record and the API can assess a draft that is not stored with the same code.
//! Everything it knows is data under `data/assess/`, embedded at compile time:
//! - `action_category.tsv` (a linear SVM), `themes.tsv`, `groups.tsv` (averaged perceptrons):
//!   linear models fitted on sessions 1-15
//!   of the default dataset (UPR Info's own coding) by `cargo run --release --example
//!   assess_fit`; sessions 16-20 are held out for `cargo run --release --example
//!   assess_eval`, so the agreement it reports is measured on recommendations the tables
//!   never saw;
//! - `smart.tsv`: hand-written rules after UPR Info's SMART guidance.
//!
//! Every suggestion carries its reasons: the words that weighed most for it, or the rule
//! that matched and the words it matched.

pub mod fit;
pub mod linear;
pub mod smart;

use std::sync::LazyLock;

use linear::{describe, features, Model};
pub use smart::{Criterion, Score};

/// UPR Info's action categories, by value: what each asks of the State under review.
pub const ACTION_CATEGORIES: [&str; 5] = [
    "minimal action",
    "continuing action",
    "considering action",
    "general action",
    "specific action",
];

/// The temperature of a table that does not give its own (every table `assess_fit` writes
/// does, see `fit::calibrate`): the scale chosen by eye before calibration, perceptron scores
/// being counted in updates.
const TEMPERATURE: f32 = 10.0;

/// The most reasons given for one suggestion: the strongest, as a reader wants them.
const REASONS: usize = 3;

/// The assessment of one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub action_category: ActionCategory,
    pub themes: Vec<Suggestion>,
    pub groups: Vec<Suggestion>,
    pub smart: Smart,
}

/// The assessed action category.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionCategory {
    /// 1-5, as UPR Info codes it.
    pub value: u8,
    /// The estimated probability that UPR Info's coders give `value`, in (0, 1]: a softmax of
    /// the five scores divided by the table's temperature, fitted on sessions 13-15
    /// (`fit::calibrate`); on the held-out 16-20 its expected calibration error is 0.024.
    pub confidence: f32,
    pub reasons: Vec<String>,
}

/// A suggested theme or group, with the words that triggered it.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub slug: String,
    pub reasons: Vec<String>,
}

/// The five SMART criteria and their mean.
#[derive(Debug, Clone, PartialEq)]
pub struct Smart {
    pub specific: Score,
    pub measurable: Score,
    pub achievable: Score,
    pub relevant: Score,
    pub time_bound: Score,
    pub total: f32,
}

struct Tables {
    action_category: Model,
    themes: Model,
    groups: Model,
    smart: Vec<smart::Rule>,
}

/// The embedded tables, read once. They are part of the build, not input: a table that does
/// not read is a bug the `assess` tests catch before a release, hence the `expect`.
static TABLES: LazyLock<Tables> = LazyLock::new(|| Tables {
    action_category: Model::parse(
        "data/assess/action_category.tsv",
        include_str!("../../data/assess/action_category.tsv"),
    )
    .expect("the embedded action category table reads"),
    themes: Model::parse(
        "data/assess/themes.tsv",
        include_str!("../../data/assess/themes.tsv"),
    )
    .expect("the embedded themes table reads"),
    groups: Model::parse(
        "data/assess/groups.tsv",
        include_str!("../../data/assess/groups.tsv"),
    )
    .expect("the embedded groups table reads"),
    smart: smart::parse(
        "data/assess/smart.tsv",
        include_str!("../../data/assess/smart.tsv"),
    )
    .expect("the embedded SMART rules read"),
});

/// The features the action-category model reads, chosen on the validation split (sessions
/// 13-15, see `examples/assess_select.rs`): the opening words too, where the requested action
/// usually sits ("Consider ratifying", "Continue to"), the opening word with every later word
/// ("Take ... adopt ... law"), the text's shape (numbers, years, capitalised names, length),
/// and words 2-6 anywhere among them and words 2-5 at their place ("Take *all necessary*
/// measures"). With the linear SVM over idf-weighted features these agreed best on 13-15
/// (90.76 %, against 90.25 % without the early words and 89.11 % for the perceptron on the
/// rest; benches/README.md).
pub const ACTION_CUES: linear::Cues = linear::Cues {
    prefixes: true,
    conjunctions: true,
    shape: true,
    early: true,
    positions: true,
};

/// Features of the action-category model (see [`ACTION_CUES`]).
pub fn action_features(text: &str) -> Vec<linear::Feature> {
    linear::features_of(text, ACTION_CUES)
}

/// Features of the theme and group models: the words wherever they are.
pub fn topic_features(text: &str) -> Vec<linear::Feature> {
    features(text, false)
}

fn because(list: &[(linear::Feature, f32)]) -> Vec<String> {
    list.iter()
        .take(REASONS)
        .map(|(f, w)| format!("{} (weight {w:+.2})", describe(f)))
        .collect()
}

fn action_category(text: &str) -> ActionCategory {
    let model = &TABLES.action_category;
    let scored = model.score(&action_features(text));
    let best = scored
        .iter()
        .max_by(|a, b| a.score.total_cmp(&b.score).then(b.label.cmp(&a.label)))
        .cloned();
    let Some(best) = best else {
        return ActionCategory {
            value: 4,
            confidence: 0.0,
            reasons: vec!["no model".to_owned()],
        };
    };
    let temperature = model.temperature.unwrap_or(TEMPERATURE);
    let sum: f32 = scored
        .iter()
        .map(|s| ((s.score - best.score) / temperature).exp())
        .sum();
    let value: u8 = model.labels[best.label].parse().unwrap_or(4);
    let name = ACTION_CATEGORIES[usize::from(value.clamp(1, 5)) - 1];
    let mut reasons = vec![format!("{value}, {name}: the highest score of the five")];
    reasons.extend(because(&best.because));
    ActionCategory {
        value,
        confidence: 1.0 / sum,
        reasons,
    }
}

fn suggestions(model: &Model, fs: &[linear::Feature]) -> Vec<Suggestion> {
    let mut out: Vec<(f32, Suggestion)> = model
        .score(fs)
        .into_iter()
        .filter(|s| s.score > 0.0)
        .map(|s| {
            (
                s.score,
                Suggestion {
                    slug: model.labels[s.label].clone(),
                    reasons: because(&s.because),
                },
            )
        })
        .collect();
    out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.slug.cmp(&b.1.slug)));
    out.into_iter().map(|(_, s)| s).collect()
}

/// Assesses a text. Pure and deterministic: the same text always gets the same assessment.
pub fn assess(text: &str) -> Assessment {
    let t = &*TABLES;
    let action_category = action_category(text);
    let topics = topic_features(text);
    let themes = suggestions(&t.themes, &topics);
    let groups = suggestions(&t.groups, &topics);

    let specific_extra = match action_category.value {
        5 => vec![(0.3, "asks for a specific action (category 5)".to_owned())],
        1..=3 => vec![(
            -0.2,
            format!(
                "asks for {} (category {})",
                ACTION_CATEGORIES[usize::from(action_category.value) - 1],
                action_category.value
            ),
        )],
        _ => Vec::new(),
    };
    let relevant_extra = themes
        .first()
        .map(|s| vec![(0.3, format!("bears on a known issue, {}", s.slug))])
        .unwrap_or_default();
    let rules = &t.smart;
    let specific = smart::score(rules, Criterion::Specific, text, specific_extra);
    let measurable = smart::score(rules, Criterion::Measurable, text, Vec::new());
    let achievable = smart::score(rules, Criterion::Achievable, text, Vec::new());
    let relevant = smart::score(rules, Criterion::Relevant, text, relevant_extra);
    let time_bound = smart::score(rules, Criterion::TimeBound, text, Vec::new());
    let total =
        (specific.score + measurable.score + achievable.score + relevant.score + time_bound.score)
            / 5.0;
    Assessment {
        action_category,
        themes,
        groups,
        smart: Smart {
            specific,
            measurable,
            achievable,
            relevant,
            time_bound,
            total,
        },
    }
}

/// What a catalog keeps of an assessment: its values without their reasons (a few dozen
/// bytes rather than a few kilobytes of text). The reasons are computed again, by [`assess`],
/// when someone asks for them; the assessment is deterministic, so they are the reasons of
/// these values.
#[derive(Debug, Clone, PartialEq)]
pub struct Brief {
    /// 1-5.
    pub action_category: u8,
    /// As [`ActionCategory::confidence`].
    pub confidence: f32,
    /// Specific, measurable, achievable, relevant and time-bound, in SMART's order.
    pub smart: [f32; 5],
    /// Their mean.
    pub smart_total: f32,
    /// Suggested themes and groups, most likely first, as indices into the tables' labels.
    themes: Box<[u16]>,
    groups: Box<[u16]>,
}

fn indices(model: &Model, list: &[Suggestion]) -> Box<[u16]> {
    list.iter()
        .filter_map(|s| model.labels.iter().position(|l| *l == s.slug))
        .map(|i| i as u16)
        .collect()
}

impl Brief {
    /// The values of `a`.
    pub fn of(a: &Assessment) -> Brief {
        let t = &*TABLES;
        let s = &a.smart;
        Brief {
            action_category: a.action_category.value,
            confidence: a.action_category.confidence,
            smart: [
                s.specific.score,
                s.measurable.score,
                s.achievable.score,
                s.relevant.score,
                s.time_bound.score,
            ],
            smart_total: s.total,
            themes: indices(&t.themes, &a.themes),
            groups: indices(&t.groups, &a.groups),
        }
    }

    /// The suggested themes' slugs, most likely first.
    pub fn themes(&self) -> impl Iterator<Item = &'static str> + '_ {
        let labels = &TABLES.themes.labels;
        self.themes.iter().map(|&i| labels[usize::from(i)].as_str())
    }

    /// The suggested groups' slugs, most likely first.
    pub fn groups(&self) -> impl Iterator<Item = &'static str> + '_ {
        let labels = &TABLES.groups.labels;
        self.groups.iter().map(|&i| labels[usize::from(i)].as_str())
    }
}

/// The values of the assessment of `text` ([`Brief::of`] of [`assess`]).
pub fn brief(text: &str) -> Brief {
    Brief::of(&assess(text))
}
