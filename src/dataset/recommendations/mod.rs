//! Importers for the formats recommendations are published in, so that a new session's
//! recommendations reach the store without being retyped into the interchange format.
//!
//! - [`ohchr`]: OHCHR's "thematic list of recommendations" (`.docx`), one per review.
//! - [`upr_info`]: UPR Info's database export (CSV), the source of the default dataset.
//!
//! Each format is read into [`Draft`]s in the product's terms (names resolved through the
//! [`vocabulary`] lists); then this module checks the sessions and writes everything through
//! the store's one write path, in one transaction. Any problem in any row is reported as
//! `file:row: reason` and nothing is written; rows the format's mapping deliberately leaves out
//! (e.g. UPR Info rows whose recommending State is "(Unknown)") are not problems but are
//! counted and listed as refused. Ids derive from the session, the State under review and the
//! paragraph (or the row's place within its review), so importing a file again changes nothing.

pub mod docx;
pub mod ohchr;
pub mod upr_info;
pub mod vocabulary;

use std::collections::BTreeMap;
use std::path::Path;

use super::import::{format_problems, Problem};
use crate::model::*;
use crate::store::{ApplyOptions, Change, Outcome, Record, Store, StoreError};
use vocabulary::Vocabulary;

/// A published format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OHCHR's thematic list of recommendations (`.docx`).
    OhchrThematicList,
    /// UPR Info's database export (`.csv`).
    UprInfoCsv,
}

impl Format {
    pub const NAMES: [&'static str; 2] = ["ohchr-thematic-list", "upr-info-csv"];

    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "ohchr-thematic-list" => Some(Format::OhchrThematicList),
            "upr-info-csv" => Some(Format::UprInfoCsv),
            _ => None,
        }
    }
}

/// What the command line says of the session: enough to create it, or to add the State under
/// review to it, when the store does not have it so.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionDetails {
    pub number: SessionNumber,
    pub cycle: Option<CycleNumber>,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The session of the file (OHCHR lists name it in their page header; UPR Info rows carry
    /// it), with the details to create it if needed.
    pub session: Option<SessionDetails>,
    /// The State under review, for an OHCHR list whose header does not name it.
    pub state: Option<CountryCode>,
    /// Files extending the embedded name lists for this import.
    pub names: Vec<vocabulary::NameFile>,
}

/// One recommendation read from a file, and the row it came from (for error messages).
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub row: usize,
    pub record: Recommendation,
}

/// What reading a file gave: recommendations, rows left out on purpose, and problems.
#[derive(Debug, Default)]
pub struct Parsed {
    pub drafts: Vec<Draft>,
    /// Rows the format's mapping leaves out, each with its reason.
    pub refused: Vec<Problem>,
    /// Source rows folded into an earlier record (joint recommendations, exact repeats).
    pub merged: usize,
    pub problems: Vec<Problem>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Recommendations read (after joint rows were merged).
    pub recommendations: usize,
    pub imported: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Source rows folded into another record.
    pub merged: usize,
    pub refused: Vec<Problem>,
    /// Sessions created, or given their State under review.
    pub sessions_written: Vec<SessionNumber>,
    /// Stored recommendations of the file's reviews that the file does not hold (UPR Info
    /// exports, matched by text): kept as they are, listed so that a corrected or withdrawn
    /// text can be looked at.
    pub not_in_file: Vec<Ref>,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} recommendations: {} imported, {} updated, {} unchanged; {} rows merged into joint recommendations; {} rows refused",
            self.recommendations,
            self.imported,
            self.updated,
            self.unchanged,
            self.merged,
            self.refused.len()
        )?;
        for s in &self.sessions_written {
            writeln!(f, "session {s} created or given its State under review")?;
        }
        for r in &self.refused {
            writeln!(f, "refused {r}")?;
        }
        if !self.not_in_file.is_empty() {
            const SHOWN: usize = 20;
            let shown: Vec<&str> = self
                .not_in_file
                .iter()
                .take(SHOWN)
                .map(Ref::as_str)
                .collect();
            writeln!(
                f,
                "{} stored recommendations of these reviews are not in the file (kept as they are): {}{}",
                self.not_in_file.len(),
                shown.join(", "),
                if self.not_in_file.len() > SHOWN { ", …" } else { "" }
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecommendationImportError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{}", format_problems(.0))]
    Invalid(Vec<Problem>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Imports a file of the given format: every recommendation, or (on any problem) none.
pub fn import_file(
    store: &Store,
    format: Format,
    path: &Path,
    options: &ImportOptions,
) -> Result<ImportSummary, RecommendationImportError> {
    let bytes = std::fs::read(path).map_err(|source| RecommendationImportError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    import_bytes(store, format, &name, &bytes, options)
}

/// [`import_file`] over bytes already read; `name` is what errors call the file.
pub fn import_bytes(
    store: &Store,
    format: Format,
    name: &str,
    bytes: &[u8],
    options: &ImportOptions,
) -> Result<ImportSummary, RecommendationImportError> {
    let mut vocabulary = Vocabulary::load(store)?;
    let mut problems = vec![];
    for file in &options.names {
        problems.extend(vocabulary.extend(store, file)?);
    }
    if !problems.is_empty() {
        return Err(RecommendationImportError::Invalid(problems));
    }
    let (parsed, not_in_file) = match format {
        Format::OhchrThematicList => (ohchr::read(name, bytes, &vocabulary, options), vec![]),
        Format::UprInfoCsv => {
            let mut parsed = upr_info::read(name, bytes, &vocabulary, options);
            let not_in_file = upr_info::match_stored(store, name, &mut parsed)?;
            (parsed, not_in_file)
        }
    };
    let mut summary = write(store, name, parsed, options)?;
    summary.not_in_file = not_in_file;
    Ok(summary)
}

/// Checks the sessions, keeps what the file does not carry, and writes all or nothing.
fn write(
    store: &Store,
    name: &str,
    parsed: Parsed,
    options: &ImportOptions,
) -> Result<ImportSummary, RecommendationImportError> {
    let Parsed {
        drafts,
        refused,
        merged,
        mut problems,
    } = parsed;
    let problem = |row: usize, reason: String| Problem {
        file: name.to_owned(),
        line: row,
        reason,
    };

    // Each review (session, State) must be listed in its session, or be added to it.
    let mut reviews: BTreeMap<SessionNumber, (Vec<CountryCode>, usize)> = BTreeMap::new();
    for d in &drafts {
        let e = reviews
            .entry(d.record.session)
            .or_insert_with(|| (vec![], d.row));
        if !e.0.contains(&d.record.state_under_review) {
            e.0.push(d.record.state_under_review);
        }
    }
    let mut changes = vec![];
    let mut origins = vec![];
    let mut sessions_written = vec![];
    let mut missing_sessions = vec![];
    for (number, (states, row)) in reviews {
        match session_change(store, number, &states, options)? {
            Ok(None) => {}
            Ok(Some(session)) => {
                changes.push(Change::put(Record::Session(session)));
                origins.push(row);
                sessions_written.push(number);
            }
            Err(reason) => {
                problems.push(problem(row, reason));
                missing_sessions.push(number);
            }
        }
    }
    let first_recommendation = changes.len();
    // A review whose session is missing is reported once, not once per recommendation.
    for d in drafts
        .into_iter()
        .filter(|d| !missing_sessions.contains(&d.record.session))
    {
        let record = keep_what_the_file_lacks(store, d.record)?;
        changes.push(Change::put(Record::Recommendation(record)));
        origins.push(d.row);
    }
    let recommendations = changes.len() - first_recommendation;

    let result = store.apply(
        changes,
        ApplyOptions {
            durable: true,
            dry_run: !problems.is_empty(),
            ..ApplyOptions::default()
        },
    );
    let report = match result {
        Err(StoreError::Rejected(rejections)) => {
            for r in rejections {
                problems.push(problem(origins[r.change], r.refusal.reason));
            }
            None
        }
        Err(e) => return Err(e.into()),
        Ok(report) => Some(report),
    };
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.line);
        return Err(RecommendationImportError::Invalid(problems));
    }
    let report = report.expect("no problems means the store accepted and wrote the changes");
    let mut summary = ImportSummary {
        recommendations,
        merged,
        refused,
        sessions_written,
        ..ImportSummary::default()
    };
    for outcome in &report.outcomes[first_recommendation..] {
        match outcome {
            Outcome::Created { .. } => summary.imported += 1,
            Outcome::Updated { .. } => summary.updated += 1,
            Outcome::Unchanged { .. } => summary.unchanged += 1,
            Outcome::Deleted { .. } => {}
        }
    }
    Ok(summary)
}

/// The session to write so that it lists every State reviewed in the file, `Ok(None)` when it
/// already does, or why it cannot be done.
fn session_change(
    store: &Store,
    number: SessionNumber,
    states: &[CountryCode],
    options: &ImportOptions,
) -> Result<Result<Option<Session>, String>, StoreError> {
    let details = options.session.as_ref().filter(|d| d.number == number);
    let names = |s: &[CountryCode]| {
        s.iter()
            .map(|c| c.as_str().to_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(match (store.session(number)?, details) {
        (Some(stored), details) => {
            let mut session = stored.record;
            let missing: Vec<CountryCode> = states
                .iter()
                .filter(|s| !session.states_under_review.contains(s))
                .copied()
                .collect();
            if missing.is_empty() {
                Ok(None)
            } else if details.is_none() {
                Err(format!(
                    "session {number} does not list {} among its States under review; give --session {number} to add it",
                    names(&missing)
                ))
            } else {
                session.states_under_review.extend(missing);
                session.states_under_review.sort();
                Ok(Some(session))
            }
        }
        (None, Some(SessionDetails {
            cycle: Some(cycle),
            start_date,
            end_date,
            ..
        })) => {
            let mut states = states.to_vec();
            states.sort();
            Ok(Some(Session {
                number,
                cycle: *cycle,
                start_date: *start_date,
                end_date: *end_date,
                states_under_review: states,
            }))
        }
        (None, _) => Err(format!(
            "session {number} does not exist; give --session {number} --cycle N (and --start-date, --end-date where known) to create it"
        )),
    })
}

/// A file never carries what an assessment or an editor adds later (action category, themes,
/// groups), so a repeat import keeps those rather than erase them.
fn keep_what_the_file_lacks(
    store: &Store,
    mut record: Recommendation,
) -> Result<Recommendation, StoreError> {
    if let Some((_, stored)) = store.recommendation(&record.id)? {
        let stored = stored.record;
        // What an editor set by hand stays the editor's: a publisher's file does not
        // overwrite it.
        if let Some(by) = &stored.set_by {
            if by.action_category.is_some() {
                record.action_category = stored.action_category;
            }
            if by.themes.is_some() {
                record.themes = stored.themes.clone();
            }
            if by.groups.is_some() {
                record.groups = stored.groups.clone();
            }
        }
        record.set_by = stored.set_by;
        // What the file leaves empty keeps its stored value: a UPR Info row matched by text
        // to a recommendation imported from OHCHR's list, for instance, carries no document,
        // paragraph or OHCHR themes.
        or_stored(&mut record.action_category, stored.action_category);
        or_stored(&mut record.themes, stored.themes);
        or_stored(&mut record.groups, stored.groups);
        or_stored(&mut record.sdgs, stored.sdgs);
        or_stored(&mut record.document, stored.document);
        or_stored(&mut record.paragraph, stored.paragraph);
        or_stored(&mut record.source_themes, stored.source_themes);
    }
    Ok(record)
}

/// `stored` where the file's value is empty (`None`, no items).
fn or_stored<T: Default + PartialEq>(field: &mut T, stored: T) {
    if *field == T::default() {
        *field = stored;
    }
}

/// The id of a recommendation: stable across imports of the same review.
pub(crate) fn recommendation_ref(
    session: SessionNumber,
    state: CountryCode,
    local: &str,
) -> Result<Ref, String> {
    Ref::parse(&format!("R-{session}-{}-{local}", state.as_str())).map_err(|e| e.0)
}
