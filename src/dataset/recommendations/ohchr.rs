//! OHCHR's "thematic list of recommendations": a Word document with a table, a row per
//! paragraph of the Working Group report, grouped under "Theme: …" rows.
//!
//! Columns are found by their header, not their place, because the layout changes between
//! cycles (cycle-4 lists add columns): "Recommendation" (paragraph, text with the recommending
//! States in parentheses, then "Source of Position: A/HRC/…"), "Position" (Supported, Noted,
//! Supported in part) and the themes column ("Full list of themes": UHRI themes, then
//! "SDGs:" and "Affected persons:" sections). Separate "SDGs" or "Affected persons" columns
//! are read where a list has them; a header spanning two grid columns (a paragraph number
//! and a text in cells of their own) reads both. Every table of the document whose first row
//! names a "Recommendation" column is read (a list split into tables, by page or by theme),
//! and so is a table without a header that continues one with as many columns; other tables
//! are not recommendations. Rows are numbered through the tables read, from the first header
//! row (row 1), headers and theme headings included; a problem names the file and that row.
//!
//! The page header ("UPR of Slovenia (3rd Cycle - 34th Session)"), or else a paragraph
//! before the table, names the State and the session; `--state` and `--session` stand in
//! for a document that does not.

use super::docx::{self, Cell};
use super::vocabulary::{NameList, Vocabulary};
use super::{recommendation_ref, Draft, ImportOptions, Parsed};
use crate::dataset::import::Problem;
use crate::model::*;

pub fn read(name: &str, bytes: &[u8], vocabulary: &Vocabulary, options: &ImportOptions) -> Parsed {
    let mut parsed = Parsed::default();
    let problem = |row: usize, reason: String| Problem {
        file: name.to_owned(),
        line: row,
        reason,
    };
    let document = match docx::read(bytes) {
        Ok(d) => d,
        Err(reason) => {
            parsed.problems.push(problem(0, reason));
            return parsed;
        }
    };
    if !document
        .tables
        .iter()
        .any(|t| t.first().is_some_and(|r| is_header(r)))
    {
        parsed.problems.push(problem(
            0,
            "no table with a \"Recommendation\" column".into(),
        ));
        return parsed;
    }
    let review = match review(&document, vocabulary, options) {
        Ok(r) => r,
        Err(reason) => {
            parsed.problems.push(problem(0, reason));
            return parsed;
        }
    };
    // The columns of the last header read (`None` after a header that could not be read:
    // its rows are skipped, the header's problem said why).
    let mut columns: Option<Columns> = None;
    let mut seen_header = false;
    let mut row = 0;
    let mut cluster: Option<String> = None;
    for table in &document.tables {
        let starts_with_header = table.first().is_some_and(|r| is_header(r));
        let continues = !starts_with_header
            && columns
                .as_ref()
                .is_some_and(|c| table.iter().map(Vec::len).max() == Some(c.width));
        if !starts_with_header && !continues {
            if seen_header && columns.is_none() {
                // Rows of a table whose header was refused: counted, not read.
                row += table.len();
            }
            continue;
        }
        for cells in table {
            row += 1;
            if is_header(cells) {
                seen_header = true;
                columns = match Columns::find(cells) {
                    Ok(c) => Some(c),
                    Err(reason) => {
                        parsed.problems.push(problem(row, reason));
                        None
                    }
                };
                continue;
            }
            let Some(columns) = columns.as_ref() else {
                continue;
            };
            let filled: Vec<String> = cells
                .iter()
                .map(Cell::text)
                .filter(|t| !t.is_empty())
                .collect();
            // A theme heading spans the table: one cell, "Theme: …".
            if let [only] = filled.as_slice() {
                if let Some(t) = theme_heading(only) {
                    cluster = Some(t);
                    continue;
                }
            }
            if filled.is_empty() {
                continue;
            }
            if cells.len() < columns.needed() {
                parsed.problems.push(problem(
                    row,
                    format!(
                        "a row of {} cells that is not a \"Theme:\" heading (the header has {} columns)",
                        cells.iter().filter(|c| !c.spanned).count(),
                        columns.width
                    ),
                ));
                continue;
            }
            match draft(columns, cells, cluster.as_deref(), review, vocabulary) {
                Ok(record) => parsed.drafts.push(Draft { row, record }),
                Err(reasons) => parsed
                    .problems
                    .extend(reasons.into_iter().map(|r| problem(row, r))),
            }
        }
    }
    parsed
}

/// A header row: a cell that begins with "Recommendation".
fn is_header(cells: &[Cell]) -> bool {
    cells
        .iter()
        .any(|c| c.text().to_lowercase().starts_with("recommendation"))
}

/// "Theme: A12 Acceptance of international norms" -> the cluster's label.
fn theme_heading(text: &str) -> Option<String> {
    let (head, label) = text.split_once(':')?;
    let head = head.trim().to_lowercase();
    (head == "theme" || head == "themes" || head == "thematic cluster")
        .then(|| label.trim().to_owned())
        .filter(|l| !l.is_empty())
}

/// The session and State the list reviews.
fn review(
    document: &docx::Document,
    vocabulary: &Vocabulary,
    options: &ImportOptions,
) -> Result<(SessionNumber, CountryCode), String> {
    let pages = parse_header(&document.headers.join("\n"), vocabulary);
    let title = parse_header(&document.preamble.join("\n"), vocabulary);
    let from_header = (pages.0.or(title.0), pages.1.or(title.1));
    let session = match (options.session.as_ref().map(|s| s.number), from_header.1) {
        (Some(given), Some(found)) if given != found => {
            return Err(format!(
                "--session {given} disagrees with the page header, which names session {found}"
            ))
        }
        (Some(n), _) | (None, Some(n)) => n,
        (None, None) => {
            return Err("the page header names no session; give --session N".into());
        }
    };
    let state = match (options.state, from_header.0) {
        (Some(given), Some(found)) if given != found => {
            return Err(format!(
                "--state {} disagrees with the page header, which names {}",
                given.as_str(),
                found.as_str()
            ))
        }
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => {
            return Err("the page header names no State under review; give --state ISO3".into());
        }
    };
    Ok((session, state))
}

/// "UPR of Slovenia (3rd Cycle - 34th Session)" -> (SVN, 34), as far as it can be read; the
/// State's name may hold parentheses ("UPR of Iran (Islamic Republic of) (4th Cycle – 48th
/// session)").
fn parse_header(
    header: &str,
    vocabulary: &Vocabulary,
) -> (Option<CountryCode>, Option<SessionNumber>) {
    let Some(rest) = header.split("UPR of ").nth(1) else {
        return (None, None);
    };
    let rest = rest.lines().next().unwrap_or("");
    let name = match rest.find("Cycle").or_else(|| rest.find("cycle")) {
        Some(at) => rest[..at].rsplit_once('(').map_or(rest, |(n, _)| n),
        None => rest,
    };
    let state = vocabulary.country(name.trim()).or_else(|| {
        rest.split(" (")
            .next()
            .and_then(|n| vocabulary.country(n.trim()))
    });
    let session = rest
        .split_once("Cycle")
        .map(|(_, s)| s)
        .and_then(|s| {
            let digits: String = s
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<i64>().ok()
        })
        .and_then(|n| SessionNumber::new(n).ok());
    (state, session)
}

/// The grid columns a header cell covers: the first, and how many.
type Span = (usize, usize);

/// Which columns hold what.
struct Columns {
    recommendation: Span,
    position: Span,
    themes: Span,
    sdgs: Option<Span>,
    affected_persons: Option<Span>,
    /// The header's grid columns.
    width: usize,
}

impl Columns {
    fn find(head: &[Cell]) -> Result<Columns, String> {
        // Each header cell with the grid columns it spans.
        let mut named: Vec<(String, Span)> = vec![];
        for (i, c) in head.iter().enumerate() {
            match named.last_mut() {
                Some((_, (_, n))) if c.spanned => *n += 1,
                _ => named.push((c.text().to_lowercase(), (i, 1))),
            }
        }
        let find = |test: &dyn Fn(&str) -> bool| {
            named.iter().find(|(n, _)| test(n)).map(|(_, span)| *span)
        };
        let missing = |what: &str| {
            format!(
                "the table has no {what} column (its headers: {})",
                head.iter()
                    .filter(|c| !c.spanned)
                    .map(|c| format!("{:?}", c.text()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        Ok(Columns {
            recommendation: find(&|n| n.starts_with("recommendation"))
                .ok_or_else(|| missing("\"Recommendation\""))?,
            position: find(&|n| n.starts_with("position"))
                .ok_or_else(|| missing("\"Position\""))?,
            // "Full list of themes" before any other column naming themes (a "Theme
            // cluster" column, were a list to add one).
            themes: find(&|n| n.starts_with("full list of themes"))
                .or_else(|| find(&|n| n.contains("themes")))
                .or_else(|| find(&|n| n.contains("theme")))
                .ok_or_else(|| missing("themes (\"Full list of themes\")"))?,
            sdgs: find(&|n| n.starts_with("sdg")),
            affected_persons: find(&|n| n.starts_with("affected persons")),
            width: head.len(),
        })
    }

    /// A recommendation row reaches at least the last column read.
    fn needed(&self) -> usize {
        [
            Some(self.recommendation),
            Some(self.position),
            Some(self.themes),
            self.sdgs,
            self.affected_persons,
        ]
        .into_iter()
        .flatten()
        .map(|(first, n)| first + n)
        .max()
        .unwrap_or(0)
    }
}

/// The paragraphs of a row under a header cell (of every grid column it spans).
fn under(cells: &[Cell], (first, n): Span) -> Vec<String> {
    cells
        .iter()
        .skip(first)
        .take(n)
        .flat_map(|c| c.paragraphs.iter().cloned())
        .collect()
}

/// One row as a recommendation, or every reason it is not one.
fn draft(
    columns: &Columns,
    cells: &[Cell],
    cluster: Option<&str>,
    (session, state): (SessionNumber, CountryCode),
    vocabulary: &Vocabulary,
) -> Result<Recommendation, Vec<String>> {
    let mut reasons = vec![];
    let recommendation = under(cells, columns.recommendation);
    let (body, document): (Vec<&str>, Vec<&str>) = recommendation
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .partition(|p| !p.to_lowercase().starts_with("source of position"));
    let body = body.join(" ");
    let (paragraph, rest) = match body.split_once(char::is_whitespace) {
        // "121.1", or "121.1." as some lists write it.
        Some((p, rest))
            if p.trim_end_matches('.').contains('.')
                && p.chars().all(|c| c.is_ascii_digit() || c == '.') =>
        {
            (p.trim_end_matches('.').to_owned(), rest.trim())
        }
        _ => {
            reasons.push(format!(
                "the recommendation does not start with its paragraph number: {:?}",
                body.chars().take(60).collect::<String>()
            ));
            (String::new(), body.as_str())
        }
    };
    let (text, recommending_states) = match split_states(rest, vocabulary) {
        Ok(x) => x,
        Err(r) => {
            reasons.push(r);
            (String::new(), vec![])
        }
    };
    // The position is given in the report's addendum, but the recommendation is a paragraph
    // of the report itself: its symbol without "/Add.N".
    let document = document
        .first()
        .and_then(|d| d.split(':').nth(1))
        .and_then(|d| d.split(" - ").next())
        .map(|d| d.trim().split("/Add.").next().unwrap_or("").to_owned())
        .filter(|d| !d.is_empty());

    let position = under(cells, columns.position);
    let position = position
        .iter()
        .map(|p| p.trim())
        .find(|p| !p.is_empty())
        .unwrap_or("");
    // "Supported*", "Noted." and a doubled space read as the word.
    let word = clean(&position.to_lowercase())
        .trim_end_matches(['*', '.', ' '])
        .to_owned();
    let response = match word.as_str() {
        "supported" | "accepted" => Some(Response::Supported),
        "noted" => Some(Response::Noted),
        "supported in part" | "partially supported" | "supported/noted" => {
            Some(Response::PartiallySupported)
        }
        "pending" => Some(Response::Pending),
        _ => {
            reasons.push(format!(
                "unknown position {position:?} (expected Supported, Noted, Supported in part or Pending)"
            ));
            None
        }
    };

    let mut lists = ThemeLists::default();
    lists.read(&under(cells, columns.themes), Section::Themes);
    if let Some(c) = columns.sdgs {
        lists.read(&under(cells, c), Section::Sdgs);
    }
    if let Some(c) = columns.affected_persons {
        lists.read(&under(cells, c), Section::AffectedPersons);
    }
    let mut source_themes: Vec<String> = vec![];
    let mut themes: Vec<Slug> = vec![];
    for label in cluster
        .into_iter()
        .chain(lists.themes.iter().map(String::as_str))
    {
        match vocabulary.uhri_theme(label) {
            Some(slugs) => themes.extend(slugs.iter().cloned()),
            None => reasons.push(format!(
                "UHRI theme {label:?} is not in the crosswalk ({})",
                NameList::UhriThemes.hint()
            )),
        }
        if !source_themes.iter().any(|s| s == label) {
            source_themes.push(label.to_owned());
        }
    }
    themes.sort();
    themes.dedup();
    let mut groups: Vec<Slug> = vec![];
    for label in &lists.affected_persons {
        match vocabulary.affected_persons(label) {
            Some(slugs) => groups.extend(slugs.iter().cloned()),
            None => reasons.push(format!(
                "UHRI affected persons {label:?} is neither a group nor in {}",
                NameList::UhriAffectedPersons.hint()
            )),
        }
    }
    groups.sort();
    groups.dedup();
    let mut sdgs = vec![];
    for line in &lists.sdgs {
        let n: String = line.chars().take_while(char::is_ascii_digit).collect();
        match n.parse::<i64>().ok().and_then(|n| SdgGoal::new(n).ok()) {
            Some(g) if !sdgs.contains(&g) => sdgs.push(g),
            Some(_) => {}
            None => reasons.push(format!(
                "SDG {line:?} does not start with a goal number 1-17"
            )),
        }
    }
    sdgs.sort();

    let id = match recommendation_ref(session, state, &paragraph) {
        Ok(id) => Some(id),
        Err(r) if reasons.is_empty() => {
            reasons.push(r);
            None
        }
        Err(_) => None,
    };
    match (id, response) {
        (Some(id), Some(response)) if reasons.is_empty() => Ok(Recommendation {
            id,
            text,
            state_under_review: state,
            recommending_states,
            session,
            response,
            action_category: None,
            themes,
            groups,
            sdgs,
            document,
            paragraph: Some(paragraph),
            source_themes,
            set_by: None,
        }),
        _ => Err(reasons),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Section {
    Themes,
    Sdgs,
    AffectedPersons,
}

/// The "- label" lines of a themes cell, by section.
#[derive(Default)]
struct ThemeLists {
    themes: Vec<String>,
    sdgs: Vec<String>,
    affected_persons: Vec<String>,
}

impl ThemeLists {
    fn read(&mut self, cell: &[String], mut section: Section) {
        for line in cell.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
            let lower = line.to_lowercase();
            if lower.starts_with("sdgs:") || lower == "sdgs" {
                section = Section::Sdgs;
                continue;
            }
            if lower.starts_with("affected persons") {
                section = Section::AffectedPersons;
                continue;
            }
            let label = line.trim_start_matches(['-', '–', '•']).trim().to_owned();
            if label.is_empty() {
                continue;
            }
            match section {
                Section::Themes => self.themes.push(label),
                Section::Sdgs => self.sdgs.push(label),
                Section::AffectedPersons => self.affected_persons.push(label),
            }
        }
    }
}

/// Splits "Text (France) (Lithuania); Other text (Slovakia);" into the text without the
/// States ("Text; Other text") and the States. A run of parenthesised groups that ends a
/// recommendation (before ";", a final "." or the end) names its States, read from the end:
/// groups that are not States ("(No. 29)") stay in the text, but the last one must be a State.
fn split_states(s: &str, vocabulary: &Vocabulary) -> Result<(String, Vec<CountryCode>), String> {
    let pieces = pieces(s)?;
    let mut texts: Vec<String> = vec![];
    let mut states: Vec<CountryCode> = vec![];
    let mut current = String::new();
    let mut i = 0;
    while i < pieces.len() {
        let Piece::Group(..) = pieces[i] else {
            if let Piece::Text(t) = &pieces[i] {
                current.push_str(t);
            }
            i += 1;
            continue;
        };
        // The run of groups starting here, with only spaces between them.
        let mut j = i;
        let mut run: Vec<&str> = vec![];
        while j < pieces.len() {
            match &pieces[j] {
                Piece::Group(g, _) => run.push(g),
                Piece::Text(t) if t.trim().is_empty() => {}
                Piece::Text(_) => break,
            }
            j += 1;
        }
        let after = match pieces.get(j) {
            Some(Piece::Text(t)) => t.trim_start(),
            _ => "",
        };
        let ends = after.is_empty()
            || after.starts_with(';')
            || (after.starts_with('.') && after[1..].trim().is_empty());
        if !ends {
            for p in &pieces[i..j] {
                current.push_str(match p {
                    Piece::Text(t) => t,
                    Piece::Group(_, outer) => outer,
                });
            }
            i = j;
            continue;
        }
        let mut found: Vec<CountryCode> = vec![];
        let mut kept = run.len();
        for g in run.iter().rev() {
            match vocabulary.country(g) {
                Some(c) => {
                    found.push(c);
                    kept -= 1;
                }
                None if found.is_empty() => {
                    return Err(format!(
                        "unknown State name {g:?} (not in countries.jsonl nor {})",
                        NameList::CountryAliases.hint()
                    ));
                }
                None => break,
            }
        }
        for g in &run[..kept] {
            current.push_str(&format!(" ({g})"));
        }
        found.reverse();
        for c in found {
            if !states.contains(&c) {
                states.push(c);
            }
        }
        let t = clean(&current);
        if !t.is_empty() {
            texts.push(t);
        }
        current.clear();
        // Skip the separator after the run.
        if let Some(Piece::Text(t)) = pieces.get(j) {
            let rest = t.trim_start().trim_start_matches([';', '.']);
            current.push_str(rest);
        }
        i = j + 1;
    }
    if !clean(&current).is_empty() {
        return Err(format!(
            "no recommending State in parentheses after {:?}",
            clean(&current).chars().take(60).collect::<String>()
        ));
    }
    if states.is_empty() || texts.is_empty() {
        return Err("no recommendation text with its recommending State in parentheses".into());
    }
    Ok((texts.join("; "), states))
}

fn clean(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

enum Piece<'a> {
    Text(&'a str),
    /// A top-level parenthesised group (which may nest: "Iran (Islamic Republic of)"): its
    /// inside, and the whole with its parentheses.
    Group(&'a str, &'a str),
}

fn pieces(s: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = vec![];
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => {
                if depth == 0 {
                    if start < i {
                        out.push(Piece::Text(&s[start..i]));
                    }
                    start = i;
                }
                depth += 1;
            }
            ')' => {
                if depth == 0 {
                    return Err(format!("an unmatched \")\" in {:?}", clean(s)));
                }
                depth -= 1;
                if depth == 0 {
                    out.push(Piece::Group(&s[start + 1..i], &s[start..=i]));
                    start = i + 1;
                }
            }
            _ => {}
        }
    }
    if depth > 0 {
        return Err(format!("an unclosed \"(\" in {:?}", clean(s)));
    }
    if start < s.len() {
        out.push(Piece::Text(&s[start..]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_keep_nested_parentheses_inside_one_group() {
        let p = pieces("Act (Iran (Islamic Republic of));").unwrap();
        assert!(matches!(
            p[1],
            Piece::Group("Iran (Islamic Republic of)", _)
        ));
        assert!(pieces("Act (France;").is_err());
    }
}
