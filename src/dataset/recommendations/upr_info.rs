//! UPR Info's database export (CSV), read with the mapping the default dataset was built with
//! (`data/default/PROVENANCE.md`, "recommendations.jsonl"):
//!
//! - columns by header: `To`, `Text`, `From`, `Response`, `Action`, `Issue`, `Session`
//!   (others, such as the regional groups, are ignored);
//! - `To` and `From` through the country aliases; a `From` of "(Unknown)" (which the export
//!   writes "&#40;Unknown&#41;") is refused (no State made it), every other unknown name is a
//!   problem;
//! - `Response`: Accepted -> SUPPORTED, Noted -> NOTED, an empty cell -> PENDING, and
//!   "Partially accepted" -> PARTIALLY_SUPPORTED; anything else is a problem (the default
//!   dataset's rows hold only Accepted and Noted);
//! - `Action` 1-5 or empty; `Issue`: comma-separated issue names, each the `name` of a theme;
//!   `sdgs`: the union of the themes' goals;
//! - rows of one review with the same text, response, action and issues are one joint
//!   recommendation, its States in row order (an exact repeat adds nothing);
//! - ids `R-{session}-{ISO3}-{nnnn}`, numbered in row order within each review.
//!
//! Not applied: the default dataset's keyword rules for `groups`; imported rows have none.
//! Rows are numbered as lines of the file (the header is line 1).

use std::collections::HashMap;

use super::vocabulary::Vocabulary;
use super::{recommendation_ref, Draft, ImportOptions, Parsed};
use crate::dataset::import::Problem;
use crate::model::*;

const COLUMNS: [&str; 7] = [
    "To", "Text", "From", "Response", "Action", "Issue", "Session",
];

/// The fields of one row that decide whether two rows are the same recommendation.
type JointKey = (
    SessionNumber,
    CountryCode,
    String,
    Response,
    Option<ActionCategory>,
    Vec<Slug>,
);

pub fn read(name: &str, bytes: &[u8], vocabulary: &Vocabulary, options: &ImportOptions) -> Parsed {
    let mut parsed = Parsed::default();
    let problem = |row: usize, reason: String| Problem {
        file: name.to_owned(),
        line: row,
        reason,
    };
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            parsed
                .problems
                .push(problem(1, format!("no CSV header: {e}")));
            return parsed;
        }
    };
    let mut at = [0usize; 7];
    for (i, column) in COLUMNS.iter().enumerate() {
        match header.iter().position(|h| h.trim() == *column) {
            Some(p) => at[i] = p,
            None => parsed.problems.push(problem(
                1,
                format!(
                    "no {column:?} column (the header is {:?})",
                    header.iter().collect::<Vec<_>>()
                ),
            )),
        }
    }
    if !parsed.problems.is_empty() {
        return parsed;
    }
    let mut joint: HashMap<JointKey, usize> = HashMap::new();
    let mut per_review: HashMap<(SessionNumber, CountryCode), usize> = HashMap::new();
    for result in reader.records() {
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                let row = e.position().map_or(0, |p| p.line() as usize);
                parsed
                    .problems
                    .push(problem(row, format!("not a readable CSV row: {e}")));
                continue;
            }
        };
        let row = record.position().map_or(0, |p| p.line() as usize);
        let cell = |i: usize| record.get(at[i]).unwrap_or("").trim();
        let mut reasons = vec![];

        let session = match cell(6)
            .parse::<i64>()
            .ok()
            .and_then(|n| SessionNumber::new(n).ok())
        {
            Some(s) => Some(s),
            None => {
                reasons.push(format!("Session {:?} is not a session number", cell(6)));
                None
            }
        };
        if let (Some(s), Some(given)) = (session, options.session.as_ref()) {
            if s != given.number {
                reasons.push(format!("Session {s} is not --session {}", given.number));
            }
        }
        let to = vocabulary.country(cell(0));
        if to.is_none() {
            reasons.push(format!("unknown State name {:?} in To", cell(0)));
        }
        // The export writes some parentheses as HTML character references: "&#40;Unknown&#41;".
        if cell(2).replace("&#40;", "(").replace("&#41;", ")") == "(Unknown)" {
            parsed.refused.push(problem(
                row,
                "the recommending State is recorded as \"(Unknown)\"; no State can be named".into(),
            ));
            continue;
        }
        let from = vocabulary.country(cell(2));
        if from.is_none() {
            reasons.push(format!("unknown State name {:?} in From", cell(2)));
        }
        let response = match cell(3) {
            "Accepted" => Some(Response::Supported),
            "Noted" => Some(Response::Noted),
            "Partially accepted" => Some(Response::PartiallySupported),
            "" => Some(Response::Pending),
            other => {
                reasons.push(format!(
                    "unknown Response {other:?} (expected Accepted, Noted, Partially accepted or nothing)"
                ));
                None
            }
        };
        let action = match cell(4) {
            "" => None,
            a => match a
                .parse::<i64>()
                .ok()
                .and_then(|n| ActionCategory::new(n).ok())
            {
                Some(c) => Some(c),
                None => {
                    reasons.push(format!("Action {a:?} is not an action category 1-5"));
                    None
                }
            },
        };
        let mut themes = vec![];
        for issue in cell(5).split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match vocabulary.issue(issue) {
                Some(slug) => themes.push(slug.clone()),
                None => reasons.push(format!("unknown Issue {issue:?} (not the name of a theme)")),
            }
        }
        themes.sort();
        themes.dedup();
        let text = cell(1).to_owned();
        if text.is_empty() {
            reasons.push("empty Text".into());
        }
        let (Some(session), Some(to), Some(from), Some(response), true) =
            (session, to, from, response, reasons.is_empty())
        else {
            parsed
                .problems
                .extend(reasons.into_iter().map(|r| problem(row, r)));
            continue;
        };

        let key = (session, to, text.clone(), response, action, themes.clone());
        if let Some(&i) = joint.get(&key) {
            let states = &mut parsed.drafts[i].record.recommending_states;
            if !states.contains(&from) {
                states.push(from);
            }
            parsed.merged += 1;
            continue;
        }
        let n = per_review.entry((session, to)).or_default();
        *n += 1;
        let id = match recommendation_ref(session, to, &format!("{n:04}")) {
            Ok(id) => id,
            Err(r) => {
                parsed.problems.push(problem(row, r));
                continue;
            }
        };
        joint.insert(key, parsed.drafts.len());
        let sdgs = vocabulary.sdgs_of(&themes);
        parsed.drafts.push(Draft {
            row,
            record: Recommendation {
                id,
                text,
                state_under_review: to,
                recommending_states: vec![from],
                session,
                response,
                action_category: action,
                themes,
                groups: vec![],
                sdgs,
                document: None,
                paragraph: None,
                source_themes: vec![],
                set_by: None,
            },
        });
    }
    parsed
}
