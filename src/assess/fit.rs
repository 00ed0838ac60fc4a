//! Fitting the tables of [`super::linear`] on UPR Info's coding and measuring them against
//! it: the code behind `cargo run --release --example assess_fit` (which writes
//! `data/assess/*.tsv`) and `--example assess_eval` (which prints the figures in
//! `benches/README.md`), and behind the evaluation floor in `tests/assess.rs`.
//!
//! The split is fixed by session: tables are fitted on sessions 1-15 and measured on 16-20,
//! which they never saw. Splitting by session rather than at random keeps a review's
//! near-identical recommendations (States often repeat one another) on one side.

use std::fmt;
use std::ops::RangeInclusive;

use serde::Deserialize;

use super::linear::{fit_logistic_weighted, fit_multiclass, fit_one_vs_rest, fit_svm, Model};
use super::{action_features, assess, topic_features};

/// Sessions the tables are fitted on.
pub const FIT: RangeInclusive<u32> = 1..=15;
/// Sessions held out for the evaluation.
pub const HELD_OUT: RangeInclusive<u32> = 16..=20;
/// Sessions 1-15 split for choosing and calibrating: candidates are fitted on the first
/// ([`CHOOSE_FIT`]) and measured on the second ([`VALIDATE`]); 16-20 play no part.
pub const CHOOSE_FIT: RangeInclusive<u32> = 1..=12;
/// See [`CHOOSE_FIT`].
pub const VALIDATE: RangeInclusive<u32> = 13..=15;

/// A kind of action-category model and its settings.
#[derive(Debug, Clone, Copy)]
pub enum ActionModel {
    /// [`fit_multiclass`].
    Perceptron { epochs: usize },
    /// [`fit_logistic_weighted`].
    Logistic {
        epochs: usize,
        l2: f64,
        balance: f64,
    },
    /// [`fit_svm`]: cost `c`, weights below `prune` dropped.
    Svm { c: f64, prune: f64 },
}

/// The action-category model, chosen on [`VALIDATE`] by `examples/assess_select.rs`
/// (benches/README.md has the figures of every candidate).
pub const ACTION_MODEL: ActionModel = ActionModel::Svm {
    c: 0.5,
    prune: 0.05,
};

impl ActionModel {
    /// Fits this model on `examples`.
    pub fn fit(self, examples: &[(Vec<String>, usize)]) -> Model {
        let labels = (1..=5).map(|v: u8| v.to_string()).collect();
        match self {
            ActionModel::Perceptron { epochs } => fit_multiclass(examples, labels, epochs, KEEP),
            ActionModel::Logistic {
                epochs,
                l2,
                balance,
            } => fit_logistic_weighted(examples, labels, epochs, l2, 0.01, balance),
            ActionModel::Svm { c, prune } => fit_svm(examples, labels, c, prune),
        }
    }

    /// What the table's header says of it.
    fn describe(self) -> String {
        match self {
            ActionModel::Perceptron { epochs } => {
                format!("averaged-perceptron weights ({epochs} passes)")
            }
            ActionModel::Logistic {
                epochs,
                l2,
                balance,
            } => format!(
                "multinomial logistic regression weights ({epochs} passes, L2 {l2}, class balance {balance})"
            ),
            ActionModel::Svm { c, prune } => format!(
                "linear SVM weights (L2-regularised squared hinge, one against the rest, C {c},\n\
                 LIBLINEAR's dual coordinate descent; weights under {prune} dropped, the rest rounded\n\
                 to 4 significant digits)"
            ),
        }
    }

    /// What the table's format line says.
    fn format(self) -> &'static str {
        match self {
            ActionModel::Svm { .. } => {
                "Format: a `labels` line, `weighting idf-l2`, an `intercept` line (one per label), then\n\
                 feature <TAB> idf <TAB> one weight per label (0 for none). A text's score for a label\n\
                 is its intercept + the sum of idf × weight over the features it has, divided by the\n\
                 square root of the sum of their idf² (features listed with no weight count there too).\n\
                 idf = ln((1 + n) / (1 + examples with the feature)) + 1, n the fitting examples;\n\
                 features in fewer than 3 examples are not listed."
            }
            _ => PLAIN_FORMAT,
        }
    }
}

/// The action-category examples (features, category - 1) of the recommendations of
/// `sessions` that UPR Info coded.
pub fn action_examples(all: &[Coded], sessions: RangeInclusive<u32>) -> Vec<(Vec<String>, usize)> {
    all.iter()
        .filter(|c| sessions.contains(&c.session))
        .filter_map(|c| {
            let v = c.action_category.filter(|v| (1..=5).contains(v))?;
            Some((action_features(&c.text), usize::from(v) - 1))
        })
        .collect()
}

/// Passes of the perceptron over the examples.
const EPOCHS: usize = 6;
/// Averaged weights smaller than this (in perceptron updates) are left out of the tables:
/// they change few decisions and would multiply the tables' size.
const KEEP: f32 = 1.0;

/// A recommendation as UPR Info coded it: the fields of `recommendations.jsonl` the
/// assessment learns from.
#[derive(Debug, Clone, Deserialize)]
pub struct Coded {
    pub text: String,
    pub session: u32,
    pub action_category: Option<u8>,
    #[serde(default)]
    pub themes: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

/// A line of a `recommendations.jsonl` that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("recommendations.jsonl:{line}: {reason}")]
pub struct ReadError {
    pub line: usize,
    pub reason: String,
}

/// Reads the coded recommendations of a `recommendations.jsonl`.
pub fn read(jsonl: &str) -> Result<Vec<Coded>, ReadError> {
    jsonl
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).map_err(|e| ReadError {
                line: n + 1,
                reason: e.to_string(),
            })
        })
        .collect()
}

/// The three fitted tables.
pub struct Fitted {
    pub action_category: Model,
    pub themes: Model,
    pub groups: Model,
}

fn labels_of(coded: &[&Coded], pick: impl Fn(&Coded) -> &[String]) -> Vec<String> {
    let mut labels: Vec<String> = coded.iter().flat_map(|c| pick(c).to_vec()).collect();
    labels.sort_unstable();
    labels.dedup();
    labels
}

fn topics(coded: &[&Coded], pick: impl Fn(&Coded) -> &[String] + Copy) -> Model {
    let labels = labels_of(coded, pick);
    let examples: Vec<_> = coded
        .iter()
        .map(|c| {
            let ys = pick(c)
                .iter()
                .filter_map(|s| labels.iter().position(|l| l == s))
                .collect();
            (topic_features(&c.text), ys)
        })
        .collect();
    fit_one_vs_rest(&examples, labels, EPOCHS, KEEP)
}

/// Fits the tables on the recommendations of sessions [`FIT`] (others are ignored, so the
/// whole dataset can be passed). The action-category model's temperature is calibrated
/// first: the same model fitted on [`CHOOSE_FIT`], its temperature fitted on [`VALIDATE`]
/// ([`calibrate`]), then carried to the model fitted on all of [`FIT`].
pub fn fit(all: &[Coded]) -> Fitted {
    let train: Vec<&Coded> = all.iter().filter(|c| FIT.contains(&c.session)).collect();
    let temperature = calibrate(
        &ACTION_MODEL.fit(&action_examples(all, CHOOSE_FIT)),
        &action_examples(all, VALIDATE),
    );
    let mut action_category = ACTION_MODEL.fit(&action_examples(all, FIT));
    action_category.temperature = Some(temperature);
    Fitted {
        action_category,
        themes: topics(&train, |c| &c.themes),
        groups: topics(&train, |c| &c.groups),
    }
}

/// The probabilities a model gives the labels of `features`: a softmax of its scores divided
/// by `temperature`.
pub fn probabilities(model: &Model, features: &[String], temperature: f32) -> Vec<f64> {
    let scores = model.scores(features);
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f64> = scores
        .iter()
        .map(|s| (f64::from(s - max) / f64::from(temperature)).exp())
        .collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// The mean negative log-likelihood of the right labels at `temperature`.
pub fn log_loss(model: &Model, examples: &[(Vec<String>, usize)], temperature: f32) -> f64 {
    let sum: f64 = examples
        .iter()
        .map(|(fs, y)| -probabilities(model, fs, temperature)[*y].max(1e-12).ln())
        .sum();
    sum / examples.len().max(1) as f64
}

/// The temperature that minimises the log loss on `examples` (a validation split the model
/// was not fitted on): a search over log-temperature, between 0.05 and 100.
pub fn calibrate(model: &Model, examples: &[(Vec<String>, usize)]) -> f32 {
    // The scores do not change with the temperature: compute them once.
    let scored: Vec<(Vec<f32>, usize)> = examples
        .iter()
        .map(|(fs, y)| (model.scores(fs), *y))
        .collect();
    let loss = |t: f64| -> f64 {
        scored
            .iter()
            .map(|(s, y)| {
                let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let sum: f64 = s.iter().map(|v| (f64::from(v - max) / t).exp()).sum();
                -((f64::from(s[*y] - max) / t) - sum.ln())
            })
            .sum::<f64>()
    };
    // Golden-section search on ln t: the loss is unimodal in the temperature.
    let (mut a, mut b) = (0.05f64.ln(), 100f64.ln());
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..60 {
        let c = b - g * (b - a);
        let d = a + g * (b - a);
        if loss(c.exp()) < loss(d.exp()) {
            b = d;
        } else {
            a = c;
        }
    }
    (((a + b) / 2.0).exp() * 1e4).round() as f32 / 1e4
}

/// A reliability table: for bands of confidence (the probability of the chosen label), how
/// many were chosen, their mean confidence and the share that were right.
#[derive(Debug, Default, Clone)]
pub struct Reliability {
    /// `(count, sum of confidence, right)` by band of 0.1 (the last band takes 1.0).
    pub bands: [(u32, f64, u32); 10],
}

impl Reliability {
    pub fn add(&mut self, confidence: f64, right: bool) {
        let i = ((confidence * 10.0) as usize).min(9);
        let b = &mut self.bands[i];
        b.0 += 1;
        b.1 += confidence;
        b.2 += u32::from(right);
    }

    /// The expected calibration error: the mean gap between confidence and the share right,
    /// weighted by the bands' counts.
    pub fn error(&self) -> f64 {
        let n: u32 = self.bands.iter().map(|b| b.0).sum();
        let gap: f64 = self
            .bands
            .iter()
            .filter(|b| b.0 > 0)
            .map(|b| (b.1 - f64::from(b.2)).abs())
            .sum();
        gap / f64::from(n.max(1))
    }
}

impl fmt::Display for Reliability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "| confidence | assessed | mean confidence | right |")?;
        writeln!(f, "|---|---:|---:|---:|")?;
        for (i, b) in self.bands.iter().enumerate().filter(|(_, b)| b.0 > 0) {
            writeln!(
                f,
                "| {:.1}-{:.1} | {} | {:.3} | {:.3} |",
                i as f64 / 10.0,
                (i + 1) as f64 / 10.0,
                b.0,
                b.1 / f64::from(b.0),
                f64::from(b.2) / f64::from(b.0)
            )?;
        }
        writeln!(f, "\nExpected calibration error: {:.3}", self.error())
    }
}

/// The header written above the action-category table.
pub fn action_header() -> String {
    header_of(
        "UPR Info action category (1-5)",
        &ACTION_MODEL.describe(),
        ACTION_MODEL.format(),
    ) + &format!(
        "\n`temperature`: the divisor of the scores before the softmax that gives `confidence`,\n\
         fitted on sessions {}-{} to the model fitted on sessions {}-{} (see fit::calibrate).",
        VALIDATE.start(),
        VALIDATE.end(),
        CHOOSE_FIT.start(),
        CHOOSE_FIT.end()
    )
}

/// The header written above each table.
pub fn header(what: &str) -> String {
    header_of(what, "averaged-perceptron weights", PLAIN_FORMAT)
}

/// The format line of a table of `feature label weight` rows.
const PLAIN_FORMAT: &str = "Format: a `labels` line, then feature <TAB> label <TAB> weight.";

fn header_of(what: &str, model: &str, format: &str) -> String {
    format!(
        "{what}: {model} fitted on sessions {}-{} of data/default/recommendations.jsonl\n\
         (UPR Info's coding) by `cargo run --release --example assess_fit`; do not edit by hand.\n\
         {format}\n\
         Features: p1/p2/p3 = the text starts with these words, w = a word anywhere, b = two words\n\
         together, c = the opening word and a later word, s = the text's shape (numbers, years,\n\
         capitals, length), e = one of words 2-6, i1-i4 = word 2-5 at its place, bias = always.",
        FIT.start(),
        FIT.end()
    )
}

/// Counts of agreement with UPR Info on a set of recommendations.
#[derive(Debug, Default, Clone)]
pub struct Evaluation {
    /// `confusion[upr_info - 1][assessed - 1]`.
    pub confusion: [[u32; 5]; 5],
    /// The assessed category's confidence against whether UPR Info agreed.
    pub reliability: Reliability,
    pub themes: Overlap,
    pub groups: Overlap,
}

/// True positives, false positives and false negatives of suggested labels.
#[derive(Debug, Default, Clone, Copy)]
pub struct Overlap {
    pub tp: u32,
    pub fp: u32,
    pub fn_: u32,
}

impl Overlap {
    fn add(&mut self, suggested: &[String], coded: &[String]) {
        let hits = suggested.iter().filter(|s| coded.contains(s)).count() as u32;
        self.tp += hits;
        self.fp += suggested.len() as u32 - hits;
        self.fn_ += coded.len() as u32 - hits;
    }

    pub fn precision(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fp).max(1))
    }

    pub fn recall(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fn_).max(1))
    }

    /// Micro-averaged F1: over all (recommendation, label) pairs.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

impl Evaluation {
    pub fn total(&self) -> u32 {
        self.confusion.iter().flatten().sum()
    }

    pub fn agreed(&self) -> u32 {
        (0..5).map(|i| self.confusion[i][i]).sum()
    }

    /// Share of recommendations whose assessed category is UPR Info's.
    pub fn agreement(&self) -> f64 {
        f64::from(self.agreed()) / f64::from(self.total().max(1))
    }

    /// Of the recommendations UPR Info put in category `v`, the share assessed so.
    pub fn recall(&self, v: usize) -> f64 {
        let row: u32 = self.confusion[v - 1].iter().sum();
        f64::from(self.confusion[v - 1][v - 1]) / f64::from(row.max(1))
    }

    /// Of the recommendations assessed as category `v`, the share UPR Info put there.
    pub fn precision(&self, v: usize) -> f64 {
        let col: u32 = (0..5).map(|i| self.confusion[i][v - 1]).sum();
        f64::from(self.confusion[v - 1][v - 1]) / f64::from(col.max(1))
    }
}

/// Assesses the recommendations of sessions [`HELD_OUT`] with the embedded tables and counts
/// agreement with UPR Info's coding. Recommendations UPR Info left uncoded count only for
/// themes and groups.
pub fn evaluate(all: &[Coded]) -> Evaluation {
    let mut e = Evaluation::default();
    for c in all.iter().filter(|c| HELD_OUT.contains(&c.session)) {
        let a = assess(&c.text);
        if let Some(v) = c.action_category.filter(|v| (1..=5).contains(v)) {
            e.confusion[usize::from(v) - 1][usize::from(a.action_category.value) - 1] += 1;
            e.reliability.add(
                f64::from(a.action_category.confidence),
                v == a.action_category.value,
            );
        }
        let slugs = |s: &[super::Suggestion]| s.iter().map(|x| x.slug.clone()).collect::<Vec<_>>();
        e.themes.add(&slugs(&a.themes), &c.themes);
        e.groups.add(&slugs(&a.groups), &c.groups);
    }
    e
}

impl fmt::Display for Evaluation {
    /// The figures as `benches/README.md` shows them (Markdown).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Action category: {} of {} agree with UPR Info ({:.1} %)\n",
            self.agreed(),
            self.total(),
            100.0 * self.agreement()
        )?;
        writeln!(
            f,
            "| UPR Info \\ assessed | 1 | 2 | 3 | 4 | 5 | recall | precision |"
        )?;
        writeln!(f, "|---|---|---|---|---|---|---|---|")?;
        for v in 1..=5 {
            let row = &self.confusion[v - 1];
            writeln!(
                f,
                "| {v} {} | {} | {} | {} | {} | {} | {:.1} % | {:.1} % |",
                super::ACTION_CATEGORIES[v - 1],
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                100.0 * self.recall(v),
                100.0 * self.precision(v)
            )?;
        }
        writeln!(
            f,
            "\nConfidence of the assessed category against agreement:\n"
        )?;
        writeln!(f, "{}", self.reliability)?;
        for (name, o) in [("Themes", self.themes), ("Groups", self.groups)] {
            writeln!(
                f,
                "{name}: micro-F1 {:.3} (precision {:.3}, recall {:.3}; {} suggested right, {} wrong, {} missed)",
                o.f1(),
                o.precision(),
                o.recall(),
                o.tp,
                o.fp,
                o.fn_
            )?;
        }
        Ok(())
    }
}
