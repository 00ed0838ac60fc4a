//! The crosswalk from each tracker's own types to our measure categories, kept as data in
//! `taxonomy/measure_categories.jsonl`: each category lists the OxCGRT indicators
//! (`oxcgrt`), CoronaNet types (`coronanet`) and ACAPS measures (`acaps`) it covers.
//!
//! It is data, not code, so that a curator who disagrees with a mapping, or meets a type
//! a new release added, edits one line and re-imports. A CoronaNet entry may be a type
//! (`Curfew`) or a type and sub-type (`Restriction and Regulation of Government Services /
//! Public courts`): the more specific one wins. Names are compared without regard to case
//! or runs of whitespace, since the trackers' own spelling of them drifts between releases.

use std::collections::HashMap;

use serde::Deserialize;

use crate::dataset::import::Problem;
use crate::model::{MeasureCategory, MeasureCategoryInfo};

/// The crosswalk of the default dataset, the one `import-measures` uses unless given another.
pub const DEFAULT_JSONL: &str =
    include_str!("../../../data/default/taxonomy/measure_categories.jsonl");

#[derive(Deserialize)]
struct Line {
    code: MeasureCategory,
    #[serde(default)]
    oxcgrt: Vec<String>,
    #[serde(default)]
    coronanet: Vec<String>,
    #[serde(default)]
    acaps: Vec<String>,
}

/// Tracker type → category, per tracker.
#[derive(Debug, Clone, Default)]
pub struct Crosswalk {
    oxcgrt: HashMap<String, MeasureCategory>,
    coronanet: HashMap<String, MeasureCategory>,
    acaps: HashMap<String, MeasureCategory>,
}

fn key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Crosswalk {
    /// The crosswalk built into the binary (the default dataset's).
    pub fn embedded() -> Crosswalk {
        // The embedded file is checked by a test below; a broken one cannot ship.
        Crosswalk::parse("taxonomy/measure_categories.jsonl", DEFAULT_JSONL).unwrap_or_default()
    }

    /// Reads a `measure_categories.jsonl`; a line that does not parse, or a tracker type
    /// listed under two categories, is a problem at its line.
    pub fn parse(file: &str, text: &str) -> Result<Crosswalk, Vec<Problem>> {
        let mut c = Crosswalk::default();
        let mut problems = vec![];
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            if raw.trim().is_empty() {
                continue;
            }
            let mut problem = |reason: String| {
                problems.push(Problem {
                    file: file.to_owned(),
                    line,
                    reason,
                })
            };
            let parsed: Line = match serde_json::from_str(raw) {
                Ok(l) => l,
                Err(e) => {
                    problem(e.to_string());
                    continue;
                }
            };
            for reason in c.add(
                parsed.code,
                &parsed.oxcgrt,
                &parsed.coronanet,
                &parsed.acaps,
            ) {
                problem(reason);
            }
        }
        if problems.is_empty() {
            Ok(c)
        } else {
            Err(problems)
        }
    }

    /// The crosswalk a store holds: the lists of its measure categories, as an `import` of a
    /// taxonomy left them. A tracker none of the store's categories lists anything for (a
    /// store written before record format 3 holds no CoronaNet or ACAPS lists) takes the
    /// embedded default's list instead, and says so in the second value. A tracker type
    /// listed under two categories is an error naming both.
    pub fn of_store(
        categories: &[MeasureCategoryInfo],
    ) -> Result<(Crosswalk, Vec<&'static str>), Vec<String>> {
        let mut c = Crosswalk::default();
        let mut problems = vec![];
        for cat in categories {
            problems.extend(c.add(cat.code, &cat.oxcgrt, &cat.coronanet, &cat.acaps));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let embedded = Crosswalk::embedded();
        let mut defaulted = vec![];
        for (tracker, mine, theirs) in [
            ("OxCGRT", &mut c.oxcgrt, embedded.oxcgrt),
            ("CoronaNet", &mut c.coronanet, embedded.coronanet),
            ("ACAPS", &mut c.acaps, embedded.acaps),
        ] {
            if mine.is_empty() {
                *mine = theirs;
                defaulted.push(tracker);
            }
        }
        Ok((c, defaulted))
    }

    /// Adds one category's lists; a type already under another category is a problem.
    fn add(
        &mut self,
        code: MeasureCategory,
        oxcgrt: &[String],
        coronanet: &[String],
        acaps: &[String],
    ) -> Vec<String> {
        let mut problems = vec![];
        for (tracker, names, map) in [
            ("oxcgrt", oxcgrt, &mut self.oxcgrt),
            ("coronanet", coronanet, &mut self.coronanet),
            ("acaps", acaps, &mut self.acaps),
        ] {
            for name in names {
                match map.insert(key(name), code) {
                    Some(other) if other != code => problems.push(format!(
                        "{tracker}: {name:?} is listed under both {other} and {code}"
                    )),
                    _ => {}
                }
            }
        }
        problems
    }

    /// An OxCGRT indicator (`C1`); a newer release's split codes (`C1M`, `C1NV`) fall back
    /// to their indicator.
    pub fn oxcgrt(&self, code: &str) -> Option<MeasureCategory> {
        let k = key(code);
        self.oxcgrt.get(&k).copied().or_else(|| {
            let base: String = k
                .char_indices()
                .take_while(|&(i, ch)| i == 0 || ch.is_ascii_digit())
                .map(|(_, ch)| ch)
                .collect();
            self.oxcgrt.get(&base).copied()
        })
    }

    /// A CoronaNet type and sub-type: `type / sub-type` first, then `type`.
    pub fn coronanet(&self, kind: &str, sub: &str) -> Option<MeasureCategory> {
        if !sub.is_empty() {
            if let Some(&c) = self.coronanet.get(&key(&format!("{kind} / {sub}"))) {
                return Some(c);
            }
        }
        self.coronanet.get(&key(kind)).copied()
    }

    /// An ACAPS `MEASURE`.
    pub fn acaps(&self, measure: &str) -> Option<MeasureCategory> {
        self.acaps.get(&key(measure)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_crosswalk_parses() {
        let c = Crosswalk::parse("embedded", DEFAULT_JSONL).expect("the embedded crosswalk parses");
        assert_eq!(c.oxcgrt("C1"), Some(MeasureCategory::Education));
        assert_eq!(c.oxcgrt("C1M"), Some(MeasureCategory::Education));
        assert_eq!(c.coronanet("Curfew", ""), Some(MeasureCategory::Movement));
        assert_eq!(
            c.coronanet(
                "Restriction and Regulation of Government Services",
                "Public courts"
            ),
            Some(MeasureCategory::Justice)
        );
        assert_eq!(
            c.acaps("changes in  prison-related policies"),
            Some(MeasureCategory::Detention)
        );
    }

    #[test]
    fn a_type_under_two_categories_is_refused_at_its_line() {
        let text = "{\"code\":\"HEALTH\",\"acaps\":[\"Curfews\"]}\n{\"code\":\"MOVEMENT\",\"acaps\":[\"curfews\"]}\n";
        let problems = Crosswalk::parse("c.jsonl", text).expect_err("refused");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 2);
        assert!(
            problems[0].reason.contains("both HEALTH and MOVEMENT"),
            "{}",
            problems[0].reason
        );
    }
}
