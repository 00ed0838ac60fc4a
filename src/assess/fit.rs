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

use super::linear::{fit_multiclass, fit_one_vs_rest, Model};
use super::{action_features, assess, topic_features};

/// Sessions the tables are fitted on.
pub const FIT: RangeInclusive<u32> = 1..=15;
/// Sessions held out for the evaluation.
pub const HELD_OUT: RangeInclusive<u32> = 16..=20;
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
/// whole dataset can be passed).
pub fn fit(all: &[Coded]) -> Fitted {
    let train: Vec<&Coded> = all.iter().filter(|c| FIT.contains(&c.session)).collect();
    let categories: Vec<_> = train
        .iter()
        .filter_map(|c| {
            let v = c.action_category.filter(|v| (1..=5).contains(v))?;
            Some((action_features(&c.text), usize::from(v) - 1))
        })
        .collect();
    let labels = (1..=5).map(|v: u8| v.to_string()).collect();
    Fitted {
        action_category: fit_multiclass(&categories, labels, EPOCHS, KEEP),
        themes: topics(&train, |c| &c.themes),
        groups: topics(&train, |c| &c.groups),
    }
}

/// The header written above each table.
pub fn header(what: &str) -> String {
    format!(
        "{what}: averaged-perceptron weights fitted on sessions {}-{} of data/default/recommendations.jsonl\n\
         (UPR Info's coding) by `cargo run --release --example assess_fit`; do not edit by hand.\n\
         Format: a `labels` line, then feature <TAB> label <TAB> weight. Features: p1/p2/p3 = the\n\
         text starts with these words, w = a word anywhere, b = two words together, bias = always.",
        FIT.start(),
        FIT.end()
    )
}

/// Counts of agreement with UPR Info on a set of recommendations.
#[derive(Debug, Default, Clone)]
pub struct Evaluation {
    /// `confusion[upr_info - 1][assessed - 1]`.
    pub confusion: [[u32; 5]; 5],
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
        writeln!(f)?;
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
