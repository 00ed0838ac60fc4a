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
//! - `Action` 1-5 or empty; `Issue`: comma-separated issue names, each the `name` of a theme
//!   (or mapped to themes by a `--upr-info-issues` file, for issues a later export adds);
//!   `sdgs`: the union of the themes' goals;
//! - rows of one review with the same text, response, action and issues are one joint
//!   recommendation, its States in row order (an exact repeat adds nothing);
//! - ids `R-{session}-{ISO3}-{nnnn}`: a recommendation keeps the id of the stored one of its
//!   review with the same text ([`match_stored`]), the others are numbered in row order after
//!   the review's highest number; so a later export (rows in another order, rows added,
//!   responses filled in) updates the records it should and renumbers none.
//!
//! The export is read as Excel and other tools save it: a UTF-8 byte-order mark is skipped,
//! headers match whatever their case, and the delimiter is `,`, `;` or a tab, whichever
//! splits the header into the columns above. Responses match whatever their case, with
//! OHCHR's words too (Supported, Supported in part, Partially supported, Pending).
//!
//! Not applied: the default dataset's keyword rules for `groups`; imported rows have none.
//! Rows are numbered as lines of the file (the header is line 1).

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::vocabulary::{NameList, Vocabulary};
use super::{recommendation_ref, Draft, ImportOptions, Parsed};
use crate::dataset::import::Problem;
use crate::model::*;
use crate::store::{Index, Store, StoreError};

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
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .delimiter(delimiter(bytes))
        .from_reader(bytes);
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
        match header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(column))
        {
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
            reasons.push(format!(
                "unknown State name {:?} in To (not in countries.jsonl nor {})",
                cell(0),
                NameList::CountryAliases.hint()
            ));
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
            reasons.push(format!(
                "unknown State name {:?} in From (not in countries.jsonl nor {})",
                cell(2),
                NameList::CountryAliases.hint()
            ));
        }
        let response = match cell(3).to_lowercase().as_str() {
            "accepted" | "supported" => Some(Response::Supported),
            "noted" => Some(Response::Noted),
            "partially accepted" | "partially supported" | "supported in part" => {
                Some(Response::PartiallySupported)
            }
            "" | "pending" => Some(Response::Pending),
            _ => {
                let other = cell(3);
                reasons.push(format!(
                    "unknown Response {other:?} (expected Accepted, Noted, Partially accepted, Pending or nothing)"
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
                Some(slugs) => themes.extend(slugs.iter().cloned()),
                None => reasons.push(format!(
                    "unknown Issue {issue:?} (not the name of a theme; a file given with {} can map it)",
                    NameList::UprInfoIssues.option()
                )),
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

/// The delimiter that splits the header line into the most of the columns read (`,` when
/// none does better).
fn delimiter(bytes: &[u8]) -> u8 {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let line = String::from_utf8_lossy(line);
    let found = |d: char| {
        line.split(d)
            .map(|h| h.trim().trim_matches('"').trim())
            .filter(|h| COLUMNS.iter().any(|c| h.eq_ignore_ascii_case(c)))
            .count()
    };
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&d| (found(d as char), d == b','))
        .unwrap_or(b',')
}

/// A text as compared with the stored ones: case, runs of white space, typographic quotes
/// and a final full stop or semicolon do not count.
fn same_text(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .replace(['\u{2018}', '\u{2019}'], "'")
        .replace(['\u{201C}', '\u{201D}'], "\"")
        .trim_end_matches(['.', ';', ' '])
        .to_owned()
}

/// Gives each recommendation read the id of the stored recommendation of its review (session,
/// State under review) with the same text, each stored one to one recommendation at most, in
/// row order; the others are numbered after the review's highest `nnnn`, in row order (so a
/// first import numbers from 0001). Returns the stored recommendations of the file's reviews
/// that no row matched: the import keeps them, and says so.
pub(super) fn match_stored(
    store: &Store,
    name: &str,
    parsed: &mut Parsed,
) -> Result<Vec<Ref>, StoreError> {
    let mut reviews: BTreeMap<(SessionNumber, CountryCode), Vec<usize>> = BTreeMap::new();
    for (i, d) in parsed.drafts.iter().enumerate() {
        reviews
            .entry((d.record.session, d.record.state_under_review))
            .or_default()
            .push(i);
    }
    let mut unmatched_stored = vec![];
    for ((session, state), members) in reviews {
        let mut stored: Vec<(Ref, String)> = vec![];
        for id in &store.postings(&Index::SessionRecommendations(session))? {
            if let Some(r) = store.recommendation_by_id(id)? {
                if r.record.state_under_review == state {
                    stored.push((r.record.id.clone(), same_text(&r.record.text)));
                }
            }
        }
        stored.sort();
        let prefix = format!("R-{session}-{}-", state.as_str());
        let mut last = stored
            .iter()
            .filter_map(|(r, _)| r.as_str().strip_prefix(prefix.as_str()))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .filter_map(|n| n.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        let mut by_text: HashMap<String, VecDeque<Ref>> = HashMap::new();
        for (r, text) in stored {
            by_text.entry(text).or_default().push_back(r);
        }
        let mut new = vec![];
        for i in members {
            let draft = &mut parsed.drafts[i];
            match by_text
                .get_mut(&same_text(&draft.record.text))
                .and_then(VecDeque::pop_front)
            {
                Some(r) => draft.record.id = r,
                None => new.push(i),
            }
        }
        for i in new {
            last += 1;
            let draft = &mut parsed.drafts[i];
            match recommendation_ref(session, state, &format!("{last:04}")) {
                Ok(id) => draft.record.id = id,
                Err(reason) => parsed.problems.push(Problem {
                    file: name.to_owned(),
                    line: draft.row,
                    reason,
                }),
            }
        }
        let mut left: Vec<Ref> = by_text.into_values().flatten().collect();
        left.sort();
        unmatched_stored.extend(left);
    }
    Ok(unmatched_stored)
}
