//! The SMART criteria, as rules kept as data in `data/assess/smart.tsv` (the file documents
//! its format and each rule). Hand-written rather than fitted: UPR Info publishes guidance on
//! what makes a recommendation SMART, not a coded dataset to learn it from.

use regex::{Regex, RegexBuilder};

use super::linear::TableError;

/// The five criteria, in the order SMART spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Criterion {
    Specific,
    Measurable,
    Achievable,
    Relevant,
    TimeBound,
}

impl Criterion {
    pub const ALL: [Criterion; 5] = [
        Criterion::Specific,
        Criterion::Measurable,
        Criterion::Achievable,
        Criterion::Relevant,
        Criterion::TimeBound,
    ];

    fn parse(s: &str) -> Option<Criterion> {
        Some(match s {
            "specific" => Criterion::Specific,
            "measurable" => Criterion::Measurable,
            "achievable" => Criterion::Achievable,
            "relevant" => Criterion::Relevant,
            "time_bound" => Criterion::TimeBound,
            _ => return None,
        })
    }

    /// As a reason starts: "time-bound: ...".
    pub fn label(self) -> &'static str {
        match self {
            Criterion::Specific => "specific",
            Criterion::Measurable => "measurable",
            Criterion::Achievable => "achievable",
            Criterion::Relevant => "relevant",
            Criterion::TimeBound => "time-bound",
        }
    }
}

/// One line of `smart.tsv`.
#[derive(Debug)]
pub struct Rule {
    pub criterion: Criterion,
    pub points: f32,
    /// None for the line that gives the reason when no positive rule matched.
    pub pattern: Option<Regex>,
    pub reason: String,
}

/// A criterion's score in [0, 1] and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub score: f32,
    pub reasons: Vec<String>,
}

/// Reads `smart.tsv`.
pub fn parse(table: &'static str, text: &str) -> Result<Vec<Rule>, TableError> {
    let mut rules = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |reason: String| TableError {
            table,
            line: n + 1,
            reason,
        };
        let [criterion, points, pattern, reason] = line.split('\t').collect::<Vec<_>>()[..] else {
            return Err(err("expected 4 columns separated by tabs".to_owned()));
        };
        let criterion = Criterion::parse(criterion)
            .ok_or_else(|| err(format!("unknown criterion '{criterion}'")))?;
        let points = points
            .parse()
            .map_err(|_| err(format!("points '{points}' is not a number")))?;
        let pattern = match pattern {
            "-" => None,
            p => Some(
                RegexBuilder::new(p)
                    .case_insensitive(true)
                    .build()
                    .map_err(|e| err(format!("pattern does not compile: {e}")))?,
            ),
        };
        rules.push(Rule {
            criterion,
            points,
            pattern,
            reason: reason.to_owned(),
        });
    }
    Ok(rules)
}

/// Scores one criterion: the sum of the points of the rules that match (plus `extra`, the
/// points and reasons the caller derived from the rest of the assessment), clamped to [0, 1].
pub fn score(rules: &[Rule], criterion: Criterion, text: &str, extra: Vec<(f32, String)>) -> Score {
    let mut total = 0.0f32;
    let mut reasons = Vec::new();
    let mut positive = false;
    for (points, reason) in extra {
        positive |= points > 0.0;
        total += points;
        reasons.push(format!("{}: {reason}", criterion.label()));
    }
    let mut fallback = None;
    for rule in rules.iter().filter(|r| r.criterion == criterion) {
        match &rule.pattern {
            None => fallback = Some(rule),
            Some(p) => {
                if let Some(m) = p.find(text) {
                    positive |= rule.points > 0.0;
                    total += rule.points;
                    reasons.push(format!(
                        "{}: {}, '{}'",
                        criterion.label(),
                        rule.reason,
                        m.as_str().trim()
                    ));
                }
            }
        }
    }
    if !positive {
        if let Some(rule) = fallback {
            total += rule.points;
            reasons.push(format!("{}: {}", criterion.label(), rule.reason));
        }
    }
    Score {
        score: total.clamp(0.0, 1.0),
        reasons,
    }
}
