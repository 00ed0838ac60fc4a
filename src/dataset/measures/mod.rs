//! `import-measures`: COVID-19 measures from the files the trackers publish (OxCGRT,
//! CoronaNet, ACAPS), mapped onto [`Measure`]s and written all or nothing.
//!
//! Each tracker records a policy differently: OxCGRT as an indicator's value per day (or per
//! change), CoronaNet as events grouped by `policy_id`, ACAPS as introduction and phase-out
//! rows with no id linking them. The format modules fold those rows into one [`Draft`] per
//! policy, with its start and end dates, so a measure that lasted a year is one record, not
//! hundreds. Everything else is shared here:
//!
//! - **Rows are streamed** (`csv` reads one record at a time into a reused buffer): only the
//!   drafts are held, so a world-sized file costs memory in measures, not in rows.
//! - **Columns are found by header name**, never by position: trackers reorder and add
//!   columns between releases.
//! - **Malformed versus refused.** A row that breaks its format (a date that is not a date, a
//!   country code that is not one, a field count that differs from the header) is
//!   *malformed*: every one is reported as `file:line: reason` and nothing is written. A
//!   well-formed row that cannot become a measure (a country not in the store, a type the
//!   crosswalk does not map, no start date) is *refused*: counted by reason in the summary,
//!   listed with its line, and the rest is imported. A tracker's full file always has some
//!   of the latter, and one of them must not block the other tens of thousands.
//! - **Ids come from the source's own ids** (CoronaNet's `policy_id`, ACAPS' `ID`, OxCGRT's
//!   indicator and spell start), so importing the same file twice changes nothing and a
//!   newer release of the file updates the measures it already created.
//! - **The category comes from the crosswalk** of `taxonomy/measure_categories.jsonl`
//!   ([`Crosswalk`]): the one the store's taxonomy holds ([`Crosswalk::of_store`]), or a file
//!   given instead; themes are the category's themes plus `covid-19`, SDGs follow from the
//!   themes, as for the measures of the default dataset.
//! - **One write**: the measures go through [`Store::apply`], the store's one write path, as
//!   one atomic change set.

pub mod acaps;
pub mod coronanet;
pub mod crosswalk;
pub mod oxcgrt;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

pub use crosswalk::Crosswalk;

use super::import::Problem;
use crate::model::*;
use crate::store::{ApplyOptions, Change, Outcome, Record, Store, StoreError};

/// How many refused or malformed rows a summary or an error lists one by one.
pub const MAX_LISTED: usize = 100;

/// The trackers whose files `import-measures` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Oxford COVID-19 Government Response Tracker: its responses file (one row per change of
    /// an indicator) or its daily file (one row per country and day).
    Oxcgrt,
    /// CoronaNet Research Project's release CSV (one row per policy event).
    Coronanet,
    /// ACAPS COVID-19 Government Measures dataset.
    Acaps,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Oxcgrt, Format::Coronanet, Format::Acaps];

    pub fn name(self) -> &'static str {
        match self {
            Format::Oxcgrt => "oxcgrt",
            Format::Coronanet => "coronanet",
            Format::Acaps => "acaps",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == s)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What to import and how.
pub struct MeasureImportOptions {
    pub format: Format,
    /// Only rows of these countries (`--country`); the others are counted as skipped.
    pub countries: Option<BTreeSet<CountryCode>>,
    /// The crosswalk of tracker types to categories (`--crosswalk FILE`); `None`: the one
    /// the store's taxonomy holds ([`Crosswalk::of_store`]).
    pub crosswalk: Option<Crosswalk>,
    /// Check everything and count what would change, but write nothing.
    pub dry_run: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum MeasureImportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", format_listed("malformed row(s); nothing was imported", .0))]
    Malformed(Vec<Problem>),
    /// The store's own taxonomy lists a tracker type under two categories.
    #[error("the store's measure categories are not a crosswalk (give one with --crosswalk FILE):{}", .0.iter().map(|p| format!("\n{p}")).collect::<String>())]
    StoredCrosswalk(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn format_listed(what: &str, problems: &[Problem]) -> String {
    let mut s = format!("{} {what}", problems.len());
    for p in problems.iter().take(MAX_LISTED) {
        s.push_str(&format!("\n{p}"));
    }
    if problems.len() > MAX_LISTED {
        s.push_str(&format!("\n... and {} more", problems.len() - MAX_LISTED));
    }
    s
}

/// What an import read, did, and left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeasureImportSummary {
    /// Data rows of the file (the header excluded).
    pub rows_read: usize,
    /// Rows of countries left out by `--country`.
    pub skipped: usize,
    /// Rows folded into a measure begun by an earlier row (a CoronaNet update, an OxCGRT day
    /// or change that continues a spell, an ACAPS phase-out that ended an introduction).
    pub merged_rows: usize,
    /// Measures the file maps to, and what writing them did.
    pub measures: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Refused rows (for OxCGRT's daily file, refused indicator values) by reason.
    pub refused: BTreeMap<String, usize>,
    /// The first [`MAX_LISTED`] refused rows, as `file:line: reason`.
    pub refused_rows: Vec<Problem>,
    /// Where the crosswalk came from: "the store's taxonomy", or the file given.
    pub crosswalk: String,
}

impl MeasureImportSummary {
    pub fn refused_total(&self) -> usize {
        self.refused.values().sum()
    }
}

impl std::fmt::Display for MeasureImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.crosswalk.is_empty() {
            writeln!(f, "crosswalk: {}", self.crosswalk)?;
        }
        let rows = [
            ("rows read", self.rows_read),
            ("rows skipped (--country)", self.skipped),
            ("rows merged into a measure", self.merged_rows),
            ("rows refused", self.refused_total()),
            ("measures", self.measures),
            ("  created", self.created),
            ("  updated", self.updated),
            ("  unchanged", self.unchanged),
        ];
        for (what, n) in rows {
            writeln!(f, "{what:<32} {n:>9}")?;
        }
        if !self.refused.is_empty() {
            writeln!(f, "refused, by reason:")?;
            for (reason, n) in &self.refused {
                writeln!(f, "  {n:>9}  {reason}")?;
            }
        }
        Ok(())
    }
}

/// The store's vocabulary a measure must use: its countries, its categories' themes, its
/// themes' SDGs, its groups. Read once, before the file.
pub(crate) struct Reference {
    countries: HashSet<CountryCode>,
    category_themes: HashMap<MeasureCategory, Vec<Slug>>,
    theme_sdgs: HashMap<Slug, Vec<SdgGoal>>,
    groups: HashSet<Slug>,
}

const COVID_THEME: &str = "covid-19";

impl Reference {
    fn load(store: &Store) -> Result<Reference, StoreError> {
        let mut r = Reference {
            countries: HashSet::new(),
            category_themes: HashMap::new(),
            theme_sdgs: HashMap::new(),
            groups: HashSet::new(),
        };
        for c in store.countries() {
            r.countries.insert(c?.record.code);
        }
        for c in store.measure_categories() {
            let c = c?.record;
            r.category_themes.insert(c.code, c.themes);
        }
        for t in store.themes() {
            let t = t?.record;
            r.theme_sdgs.insert(t.slug, t.sdgs);
        }
        for g in store.groups() {
            r.groups.insert(g?.record.slug);
        }
        Ok(r)
    }

    /// The draft as a measure of the store: themes are the category's plus `covid-19`, SDGs
    /// those of the themes, groups those the store knows.
    fn measure(&self, d: Draft) -> Result<Measure, String> {
        let id = Ref::parse(&d.id).map_err(|e| e.0)?;
        let mut themes: Vec<Slug> = self
            .category_themes
            .get(&d.category)
            .cloned()
            .unwrap_or_default();
        if let Ok(covid) = Slug::parse(COVID_THEME) {
            if self.theme_sdgs.contains_key(&covid) {
                themes.push(covid);
            }
        }
        themes.sort();
        themes.dedup();
        let mut sdgs: Vec<SdgGoal> = themes
            .iter()
            .filter_map(|t| self.theme_sdgs.get(t))
            .flatten()
            .copied()
            .collect();
        sdgs.sort();
        sdgs.dedup();
        let mut groups: Vec<Slug> = d
            .groups
            .into_iter()
            .filter(|g| self.groups.contains(g))
            .collect();
        groups.sort();
        groups.dedup();
        Ok(Measure {
            id,
            country: d.country,
            title: clip(&d.title, limits::TITLE),
            description: clip(&d.description, limits::LONG_TEXT),
            category: d.category,
            start_date: d.start,
            end_date: d.end,
            themes,
            groups,
            sdgs,
            source: Some(clip(&d.source, limits::CITATION)),
            source_code: Some(clip(&d.source_code, limits::CODE)),
            source_url: d.source_url.filter(|u| u.chars().count() <= limits::URL),
        })
    }
}

/// A measure being assembled from the rows of one policy.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub id: String,
    /// The line of the row that began it (for messages).
    pub line: usize,
    pub country: CountryCode,
    pub title: String,
    pub description: String,
    pub category: MeasureCategory,
    pub start: Date,
    pub end: Option<Date>,
    pub groups: Vec<Slug>,
    pub source: String,
    pub source_code: String,
    pub source_url: Option<String>,
}

/// One import in progress: where rows are counted, refused or found malformed.
pub(crate) struct Run<'a> {
    pub file: String,
    pub crosswalk: &'a Crosswalk,
    reference: &'a Reference,
    countries: Option<&'a BTreeSet<CountryCode>>,
    pub summary: MeasureImportSummary,
    pub malformed: Vec<Problem>,
}

impl Run<'_> {
    pub fn malformed(&mut self, line: usize, reason: impl Into<String>) {
        self.malformed.push(Problem {
            file: self.file.clone(),
            line,
            reason: reason.into(),
        });
    }

    pub fn refuse(&mut self, line: usize, reason: impl Into<String>) {
        let reason = reason.into();
        if self.summary.refused_rows.len() < MAX_LISTED {
            self.summary.refused_rows.push(Problem {
                file: self.file.clone(),
                line,
                reason: reason.clone(),
            });
        }
        *self.summary.refused.entry(reason).or_default() += 1;
    }

    /// The row's country, when the row is to be imported: `None` for a malformed code, a
    /// country left out by `--country` or one the store does not hold.
    pub fn country(&mut self, line: usize, column: &str, raw: &str) -> Option<CountryCode> {
        let code = match CountryCode::parse(raw) {
            Ok(c) => c,
            Err(e) => {
                self.malformed(line, format!("{column}: {}", e.0));
                return None;
            }
        };
        if self.countries.is_some_and(|only| !only.contains(&code)) {
            self.summary.skipped += 1;
            return None;
        }
        if !self.reference.countries.contains(&code) {
            self.refuse(line, format!("country {code} is not in the store"));
            return None;
        }
        Some(code)
    }

    /// The category the crosswalk gives, if the store has it; refuses the row otherwise.
    pub fn category(
        &mut self,
        line: usize,
        found: Option<MeasureCategory>,
        what: &str,
    ) -> Option<MeasureCategory> {
        match found {
            None => {
                self.refuse(line, format!("{what} is not in the crosswalk"));
                None
            }
            Some(c) if !self.reference.category_themes.contains_key(&c) => {
                self.refuse(
                    line,
                    format!("category {c} (of {what}) is not in the store's taxonomy"),
                );
                None
            }
            Some(c) => Some(c),
        }
    }

    /// A date of the format `YYYY-MM-DD`; blank is `Ok(None)`, anything else malformed.
    pub fn date(&mut self, line: usize, column: &str, raw: &str) -> Result<Option<Date>, ()> {
        if raw.is_empty() {
            return Ok(None);
        }
        Date::parse(raw).map(Some).map_err(|e| {
            self.malformed(line, format!("{column}: {}", e.0));
        })
    }
}

/// The columns of a CSV file by header name.
pub(crate) struct Header {
    names: HashMap<String, usize>,
    pub all: Vec<String>,
}

impl Header {
    fn new(record: &csv::ByteRecord) -> Header {
        let all: Vec<String> = record
            .iter()
            .map(|f| {
                String::from_utf8_lossy(f)
                    .trim()
                    .trim_start_matches('\u{feff}')
                    .to_owned()
            })
            .collect();
        let names = all
            .iter()
            .enumerate()
            .rev()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        Header { names, all }
    }

    pub fn get(&self, name: &str) -> Option<usize> {
        self.names.get(name).copied()
    }

    pub fn has(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    /// The position of each named column; every missing one is a problem of line 1.
    pub fn require<const N: usize>(
        &self,
        file: &str,
        names: [&str; N],
    ) -> Result<[usize; N], MeasureImportError> {
        let missing: Vec<Problem> = names
            .iter()
            .filter(|n| !self.has(n))
            .map(|n| Problem {
                file: file.to_owned(),
                line: 1,
                reason: format!("no column {n:?} in the header"),
            })
            .collect();
        if !missing.is_empty() {
            return Err(MeasureImportError::Malformed(missing));
        }
        Ok(names.map(|n| self.names[n]))
    }
}

/// A field of a record, trimmed; bytes that are not UTF-8 become U+FFFD rather than refuse
/// the row (some trackers' files mix encodings in free text).
pub(crate) fn field(record: &csv::ByteRecord, i: usize) -> Cow<'_, str> {
    match String::from_utf8_lossy(record.get(i).unwrap_or_default()) {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) => Cow::Owned(s.trim().to_owned()),
    }
}

/// `s` cut to at most `limit` characters, ending with `…` when cut.
pub(crate) fn clip(s: &str, limit: usize) -> String {
    match s.char_indices().nth(limit) {
        None => s.to_owned(),
        Some(_) => {
            let end = s.char_indices().nth(limit - 1).map_or(s.len(), |(i, _)| i);
            format!("{}…", &s[..end])
        }
    }
}

/// Whitespace runs (newlines included) as one space.
pub(crate) fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first http(s) URL in a text, without trailing punctuation.
pub(crate) fn first_url(text: &str) -> Option<String> {
    text.split_whitespace()
        .map(|w| w.trim_start_matches(['(', '[', '"', '<']))
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| {
            w.trim_end_matches(['.', ',', ';', ':', ')', ']', '"', '>', '\''])
                .to_owned()
        })
}

/// A cell that is a source URL, if it is one.
pub(crate) fn url_cell(raw: &str) -> Option<String> {
    let raw = raw.trim();
    ((raw.starts_with("http://") || raw.starts_with("https://"))
        && !raw.contains(char::is_whitespace))
    .then(|| raw.to_owned())
}

/// A CSV reader over a file, with its header read.
pub(crate) struct CsvFile {
    pub reader: csv::Reader<std::io::BufReader<std::fs::File>>,
    pub header: Header,
    pub path: PathBuf,
}

impl CsvFile {
    fn open(path: &Path) -> Result<CsvFile, MeasureImportError> {
        let io = |source| MeasureImportError::Io {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(std::io::BufReader::with_capacity(1 << 16, file));
        let mut first = csv::ByteRecord::new();
        match reader.read_byte_record(&mut first) {
            Ok(true) => {}
            Ok(false) => {
                return Err(MeasureImportError::Malformed(vec![Problem {
                    file: path.display().to_string(),
                    line: 1,
                    reason: "the file is empty (no header)".into(),
                }]))
            }
            Err(e) => return Err(csv_failure(path, e)),
        }
        Ok(CsvFile {
            reader,
            header: Header::new(&first),
            path: path.to_owned(),
        })
    }

    /// Reads the next data row into `record`; `Ok(None)` at the end. A row whose field
    /// count differs from the header's (or that is otherwise not CSV) is reported through
    /// `run` and skipped, so every such row of the file is listed at once.
    pub fn next(
        &mut self,
        record: &mut csv::ByteRecord,
        run: &mut Run<'_>,
    ) -> Result<Option<usize>, MeasureImportError> {
        loop {
            match self.reader.read_byte_record(record) {
                Ok(false) => return Ok(None),
                Ok(true) => {
                    run.summary.rows_read += 1;
                    let line = record.position().map_or(0, |p| p.line() as usize);
                    if record.len() != self.header.all.len() {
                        run.malformed(
                            line,
                            format!(
                                "{} fields where the header has {}",
                                record.len(),
                                self.header.all.len()
                            ),
                        );
                        continue;
                    }
                    return Ok(Some(line));
                }
                Err(e) => match e.kind() {
                    csv::ErrorKind::Io(_) => return Err(csv_failure(&self.path, e)),
                    _ => {
                        run.summary.rows_read += 1;
                        let line = e.position().map_or(0, |p| p.line() as usize);
                        run.malformed(line, format!("not CSV: {e}"));
                    }
                },
            }
        }
    }
}

fn csv_failure(path: &Path, e: csv::Error) -> MeasureImportError {
    let line = e.position().map_or(0, |p| p.line() as usize);
    match e.into_kind() {
        csv::ErrorKind::Io(source) => MeasureImportError::Io {
            path: path.to_owned(),
            source,
        },
        other => MeasureImportError::Malformed(vec![Problem {
            file: path.display().to_string(),
            line,
            reason: format!("not CSV: {other:?}"),
        }]),
    }
}

/// Reads `path` in `options.format` and writes the measures it maps to, all or nothing.
///
/// On malformed rows nothing is written and every one is returned in
/// [`MeasureImportError::Malformed`]; refused rows are counted in the summary.
pub fn import_measures(
    store: &Store,
    path: &Path,
    options: &MeasureImportOptions,
) -> Result<MeasureImportSummary, MeasureImportError> {
    let reference = Reference::load(store)?;
    let (crosswalk, from) = match &options.crosswalk {
        Some(given) => (
            std::borrow::Cow::Borrowed(given),
            "the file given".to_owned(),
        ),
        None => {
            let categories = store
                .measure_categories()
                .map(|c| c.map(|v| v.record))
                .collect::<Result<Vec<_>, _>>()?;
            let (c, defaulted) =
                Crosswalk::of_store(&categories).map_err(MeasureImportError::StoredCrosswalk)?;
            let from = match defaulted.as_slice() {
                [] => "the store's taxonomy".to_owned(),
                lists => format!(
                    "the store's taxonomy; the embedded default's {} list (the store holds none)",
                    lists.join(", ")
                ),
            };
            (std::borrow::Cow::Owned(c), from)
        }
    };
    let mut csv = CsvFile::open(path)?;
    let mut run = Run {
        file: path.display().to_string(),
        crosswalk: &crosswalk,
        reference: &reference,
        countries: options.countries.as_ref(),
        summary: MeasureImportSummary {
            crosswalk: from,
            ..MeasureImportSummary::default()
        },
        malformed: vec![],
    };
    let drafts = match options.format {
        Format::Oxcgrt => oxcgrt::read(&mut csv, &mut run)?,
        Format::Coronanet => coronanet::read(&mut csv, &mut run)?,
        Format::Acaps => acaps::read(&mut csv, &mut run)?,
    };
    if !run.malformed.is_empty() {
        run.malformed.sort_by_key(|p| p.line);
        return Err(MeasureImportError::Malformed(run.malformed));
    }
    let mut summary = run.summary;
    write(
        store,
        &run.file,
        &reference,
        drafts,
        &mut summary,
        options.dry_run,
    )?;
    Ok(summary)
}

/// The drafts become measures and one change set; a draft the store's rules refuse (which
/// the checks above should make impossible) is reported at the line that began it.
fn write(
    store: &Store,
    file: &str,
    reference: &Reference,
    mut drafts: Vec<Draft>,
    summary: &mut MeasureImportSummary,
    dry_run: bool,
) -> Result<(), MeasureImportError> {
    drafts.sort_by(|a, b| a.id.cmp(&b.id));
    let mut problems = vec![];
    let mut lines = Vec::with_capacity(drafts.len());
    let mut changes = Vec::with_capacity(drafts.len());
    for d in drafts {
        let line = d.line;
        match reference.measure(d) {
            Ok(m) => {
                lines.push(line);
                changes.push(Change::put(Record::Measure(m)));
            }
            Err(reason) => problems.push(Problem {
                file: file.to_owned(),
                line,
                reason,
            }),
        }
    }
    summary.measures = changes.len();
    let result = store.apply(
        changes,
        ApplyOptions {
            durable: true,
            dry_run: dry_run || !problems.is_empty(),
            ..ApplyOptions::default()
        },
    );
    let report = match result {
        Err(StoreError::Rejected(rejections)) => {
            problems.extend(rejections.into_iter().map(|r| Problem {
                file: file.to_owned(),
                line: lines[r.change],
                reason: r.refusal.reason,
            }));
            None
        }
        Err(e) => return Err(e.into()),
        Ok(report) => Some(report),
    };
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.line);
        return Err(MeasureImportError::Malformed(problems));
    }
    if let Some(report) = report {
        for o in &report.outcomes {
            match o {
                Outcome::Created { .. } => summary.created += 1,
                Outcome::Updated { .. } => summary.updated += 1,
                Outcome::Unchanged { .. } => summary.unchanged += 1,
                Outcome::Deleted { .. } => {}
            }
        }
    }
    Ok(())
}

/// Appends a dated note to a description, unless it says nothing new.
pub(crate) fn append_note(description: &mut String, date: Date, note: &str) {
    if note.is_empty() || description.contains(note) {
        return;
    }
    // Past the limit the text would be clipped anyway: stop growing it.
    if description.len() > limits::LONG_TEXT * 4 {
        return;
    }
    if !description.is_empty() {
        description.push_str("\n\n");
    }
    description.push_str(&format!("{date}: {note}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_cuts_on_characters_and_marks_the_cut() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "ab…");
        assert_eq!(clip("ééééé", 4).chars().count(), 4);
    }

    #[test]
    fn first_url_drops_trailing_punctuation() {
        assert_eq!(
            first_url("see (https://example.org/a), then").as_deref(),
            Some("https://example.org/a")
        );
        assert_eq!(first_url("no link here"), None);
    }
}
