//! Import: a dataset becomes one all-or-nothing store transaction.
//!
//! Every line is parsed into its validated model type; every problem found anywhere (bad
//! JSON, a missing field, an unknown enum value or slug, a dangling reference, a duplicate
//! id, a State under review missing from its session, a text or list over its limit of
//! [`crate::model::limits`]) is reported as `file:line: reason`, and
//! then nothing is written. Records already stored identically are left alone, so importing
//! the same dataset twice changes nothing; a different dataset adds to and updates the store,
//! record by natural key.

use std::collections::HashMap;
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use serde::de::DeserializeOwned;

use super::{DatasetError, HistoryLine, Source, IMPORT_ORDER as FILES};
use crate::model::*;
use crate::store::{ApplyOptions, Change, Outcome, Record, Store, StoreError};

/// How many problems a report lists before it says how many more there are.
pub const MAX_PROBLEMS_SHOWN: usize = 100;

/// One thing wrong with one line of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.reason)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.reason)
        }
    }
}

pub fn format_problems(problems: &[Problem]) -> String {
    let mut s = format!(
        "the dataset has {} problem(s); nothing was imported\n",
        problems.len()
    );
    for p in problems.iter().take(MAX_PROBLEMS_SHOWN) {
        s.push_str(&p.to_string());
        s.push('\n');
    }
    if problems.len() > MAX_PROBLEMS_SHOWN {
        s.push_str(&format!(
            "... and {} more\n",
            problems.len() - MAX_PROBLEMS_SHOWN
        ));
    }
    s.truncate(s.trim_end().len());
    s
}

/// What an import did, per file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub files: Vec<FileSummary>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSummary {
    pub file: &'static str,
    pub records: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl ImportSummary {
    pub fn total(&self) -> FileSummary {
        let mut t = FileSummary {
            file: "total",
            ..Default::default()
        };
        for f in &self.files {
            t.records += f.records;
            t.created += f.created;
            t.updated += f.updated;
            t.unchanged += f.unchanged;
        }
        t
    }
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<36} {:>9} {:>9} {:>9} {:>9}",
            "file", "records", "created", "updated", "unchanged"
        )?;
        for s in self.files.iter().chain(std::iter::once(&self.total())) {
            writeln!(
                f,
                "{:<36} {:>9} {:>9} {:>9} {:>9}",
                s.file, s.records, s.created, s.updated, s.unchanged
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Show progress bars on stderr (only when it is a terminal).
    pub progress: bool,
}

/// Parses one line, naming the field at fault: `state_under_review: "ukr" is not an ISO ...`.
fn parse_line<T: DeserializeOwned>(line: &str) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_str(line);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = if inner.is_syntax() || inner.is_eof() {
            format!("not valid JSON ({})", strip_position(&inner.to_string()))
        } else {
            strip_position(&inner.to_string())
        };
        if path == "." || path.is_empty() || msg.starts_with("not valid JSON") {
            msg
        } else {
            format!("{path}: {msg}")
        }
    })?;
    de.end()
        .map_err(|e| format!("not valid JSON ({})", strip_position(&e.to_string())))?;
    Ok(value)
}

/// serde_json appends " at line 1 column 57": the line is ours to report, the column is noise.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// The records of a dataset with where each came from, and the problems met reading them.
struct Parsed {
    changes: Vec<Change>,
    origins: Vec<(usize, usize)>, // (index in FILES, line)
    problems: Vec<Problem>,
    per_file: Vec<usize>,
}

/// A change that creates or replaces a record.
fn put<T>(wrap: fn(T) -> Record) -> impl Fn(T) -> Change {
    move |r| Change::put(wrap(r))
}

fn parse_file<T: DeserializeOwned>(
    parsed: &mut Parsed,
    file: usize,
    bytes: &[u8],
    key: impl Fn(&T) -> String,
    what: &str,
    wrap: impl Fn(T) -> Change,
) {
    let name = FILES[file];
    let mut seen: HashMap<String, usize> = HashMap::new();
    let problem = |line, reason| Problem {
        file: name.to_owned(),
        line,
        reason,
    };
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let Ok(text) = std::str::from_utf8(raw) else {
            parsed.problems.push(problem(line, "not UTF-8".into()));
            continue;
        };
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.trim().is_empty() {
            continue;
        }
        match parse_line::<T>(text) {
            Err(reason) => parsed.problems.push(problem(line, reason)),
            Ok(record) => {
                let k = key(&record);
                if let Some(first) = seen.get(&k) {
                    parsed.problems.push(problem(
                        line,
                        format!("duplicate {what} {k} (first at {name}:{first})"),
                    ));
                    continue;
                }
                seen.insert(k, line);
                parsed.changes.push(wrap(record));
                parsed.origins.push((file, line));
                parsed.per_file[file] += 1;
            }
        }
    }
}

fn read_all(source: &dyn Source, bar: &ProgressBar) -> Result<Parsed, DatasetError> {
    let mut parsed = Parsed {
        changes: vec![],
        origins: vec![],
        problems: vec![],
        per_file: vec![0; FILES.len()],
    };
    let mut found_any = false;
    for (i, &name) in FILES.iter().enumerate() {
        bar.set_message(name);
        let bytes = source.read(name).map_err(|e| {
            super::io_error(
                std::path::Path::new(&format!("{}/{name}", source.describe())),
                e,
            )
        })?;
        let Some(bytes) = bytes else { continue };
        found_any = true;
        let p = &mut parsed;
        match name {
            "taxonomy/themes.jsonl" => parse_file(
                p,
                i,
                &bytes,
                |t: &Theme| format!("{:?}", t.slug.as_str()),
                "theme slug",
                put(Record::Theme),
            ),
            "taxonomy/groups.jsonl" => parse_file(
                p,
                i,
                &bytes,
                |t: &Group| format!("{:?}", t.slug.as_str()),
                "group slug",
                put(Record::Group),
            ),
            "taxonomy/sdgs.jsonl" => parse_file(
                p,
                i,
                &bytes,
                |t: &Sdg| t.goal.to_string(),
                "SDG goal",
                put(Record::Sdg),
            ),
            "taxonomy/measure_categories.jsonl" => parse_file(
                p,
                i,
                &bytes,
                |t: &MeasureCategoryInfo| t.code.to_string(),
                "measure category",
                put(Record::MeasureCategory),
            ),
            "countries.jsonl" => parse_file(
                p,
                i,
                &bytes,
                |t: &Country| format!("{:?}", t.code.as_str()),
                "country code",
                put(Record::Country),
            ),
            "cycles.jsonl" => parse_file(
                p,
                i,
                &bytes,
                |t: &Cycle| t.number.to_string(),
                "cycle number",
                put(Record::Cycle),
            ),
            "sessions.jsonl" => parse_file(
                p,
                i,
                &bytes,
                |t: &Session| t.number.to_string(),
                "session number",
                put(Record::Session),
            ),
            "recommendations.jsonl" => parse_file(
                p,
                i,
                &bytes,
                |t: &Recommendation| format!("{:?}", t.id.as_str()),
                "recommendation id",
                put(Record::Recommendation),
            ),
            "measures.jsonl" => parse_file(
                p,
                i,
                &bytes,
                |t: &Measure| format!("{:?}", t.id.as_str()),
                "measure id",
                put(Record::Measure),
            ),
            "good_practices.jsonl" => parse_file(
                p,
                i,
                &bytes,
                |t: &GoodPractice| format!("{:?}", t.id.as_str()),
                "good practice id",
                put(Record::GoodPractice),
            ),
            "concerns.jsonl" => parse_file(
                p,
                i,
                &bytes,
                |t: &Concern| format!("{:?}", t.id.as_str()),
                "concern id",
                put(Record::Concern),
            ),
            "actions.jsonl" => parse_file(
                p,
                i,
                &bytes,
                |t: &Action| format!("{:?}", t.id.as_str()),
                "action id",
                put(Record::Action),
            ),
            "links.jsonl" => parse_file(
                p,
                i,
                &bytes,
                |t: &Link| {
                    format!(
                        "({:?}, {:?})",
                        t.recommendation.as_str(),
                        t.measure.as_str()
                    )
                },
                "link",
                put(Record::Link),
            ),
            "history.jsonl" => parse_file(
                p,
                i,
                &bytes,
                |t: &HistoryLine| format!("entry {}", t.seq),
                "history",
                |line: HistoryLine| Change::Audit(line.into_entry()),
            ),
            other => unreachable!("FILES lists {other} without a parser"),
        }
        bar.inc(1);
    }
    if !found_any {
        return Err(DatasetError::NotADataset(source.describe()));
    }
    Ok(parsed)
}

fn bar(options: ImportOptions, len: u64, template: &str) -> ProgressBar {
    if options.progress && std::io::stderr().is_terminal() {
        let b = ProgressBar::new(len);
        b.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    }
}

/// Imports a dataset: every record, or (on any problem) none.
pub fn import(
    store: &Store,
    source: &dyn Source,
    options: ImportOptions,
) -> Result<ImportSummary, DatasetError> {
    let reading = bar(
        options,
        FILES.len() as u64,
        "reading  {bar:30} {pos}/{len} files {msg}",
    );
    let parsed = read_all(source, &reading)?;
    reading.finish_and_clear();

    let Parsed {
        changes,
        origins,
        mut problems,
        per_file,
    } = parsed;
    let n = changes.len() as u64;
    let applying = bar(options, n, "checking {bar:30} {pos}/{len} records");
    let progress = |i: u64| applying.set_position(i);
    // With problems already found, the store still checks every record (so the report lists
    // everything wrong at once) but writes nothing.
    let result = store.apply(
        changes,
        ApplyOptions {
            durable: true,
            dry_run: !problems.is_empty(),
            progress: Some(&progress),
            ..ApplyOptions::default()
        },
    );
    applying.finish_and_clear();
    // Problems of parsing and of the store's rules are reported together, in file order.
    let report = match result {
        Err(StoreError::Rejected(rejections)) => {
            for r in rejections {
                let (file, line) = origins[r.change];
                problems.push(Problem {
                    file: FILES[file].to_owned(),
                    line,
                    reason: r.refusal.reason,
                });
            }
            None
        }
        Err(e) => return Err(e.into()),
        Ok(report) => Some(report),
    };
    if !problems.is_empty() {
        problems.sort_by_key(|p| (FILES.iter().position(|&f| f == p.file), p.line));
        return Err(DatasetError::Invalid(problems));
    }
    let report = report.expect("no problems means the store accepted and wrote the changes");
    // Parsing and the store both found nothing wrong, so every parsed record has exactly one
    // outcome, in the order of `origins`.
    let mut files: Vec<FileSummary> = FILES
        .iter()
        .enumerate()
        .map(|(i, &file)| FileSummary {
            file,
            records: per_file[i],
            ..Default::default()
        })
        .collect();
    for (outcome, &(file, _)) in report.outcomes.iter().zip(&origins) {
        let s = &mut files[file];
        match outcome {
            Outcome::Created { .. } => s.created += 1,
            Outcome::Updated { .. } => s.updated += 1,
            Outcome::Unchanged { .. } => s.unchanged += 1,
            Outcome::Deleted { .. } => {}
        }
    }
    // A dataset without an audit trail reports only its record files.
    files.retain(|f| f.file != super::HISTORY_FILE || f.records > 0);
    files.retain(|f| !super::OPTIONAL_FILES.contains(&f.file) || f.records > 0);
    Ok(ImportSummary { files })
}
