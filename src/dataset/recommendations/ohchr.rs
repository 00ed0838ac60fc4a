//! OHCHR's "thematic list of recommendations": a Word document with one table, a row per
//! paragraph of the Working Group report, grouped under "Theme: …" rows.
//!
//! Columns are found by their header, not their place, because the layout changes between
//! cycles (cycle-4 lists add columns): "Recommendation" (paragraph, text with the recommending
//! States in parentheses, then "Source of Position: A/HRC/…"), "Position" (Supported, Noted,
//! Supported in part) and the themes column ("Full list of themes": UHRI themes, then
//! "SDGs:" and "Affected persons:" sections). Separate "SDGs" or "Affected persons" columns
//! are read where a list has them. Rows are numbered from the header row (row 1), theme
//! headings included; a problem names the file and that row.
//!
//! The page header ("UPR of Slovenia (3rd Cycle - 34th Session)") names the State and the
//! session; `--state` and `--session` stand in for a header that does not.

use std::io::{Cursor, Read};

use quick_xml::events::Event;
use quick_xml::Reader;

use super::vocabulary::Vocabulary;
use super::{recommendation_ref, Draft, ImportOptions, Parsed};
use crate::dataset::import::Problem;
use crate::model::*;

/// A table as Word holds it: rows of cells of paragraphs.
type Table = Vec<Vec<Vec<String>>>;

pub fn read(name: &str, bytes: &[u8], vocabulary: &Vocabulary, options: &ImportOptions) -> Parsed {
    let mut parsed = Parsed::default();
    let problem = |row: usize, reason: String| Problem {
        file: name.to_owned(),
        line: row,
        reason,
    };
    let (table, header) = match open(bytes) {
        Ok(x) => x,
        Err(reason) => {
            parsed.problems.push(problem(0, reason));
            return parsed;
        }
    };
    let review = match review(&header, vocabulary, options) {
        Ok(r) => r,
        Err(reason) => {
            parsed.problems.push(problem(0, reason));
            return parsed;
        }
    };
    let Some(head) = table.first() else {
        parsed
            .problems
            .push(problem(0, "the document holds no table".into()));
        return parsed;
    };
    let columns = match Columns::find(head) {
        Ok(c) => c,
        Err(reason) => {
            parsed.problems.push(problem(1, reason));
            return parsed;
        }
    };
    let mut cluster: Option<String> = None;
    for (i, cells) in table.iter().enumerate().skip(1) {
        let row = i + 1;
        let joined = |c: &Vec<String>| c.join(" ").trim().to_owned();
        // A theme heading spans the table: one cell, "Theme: …".
        if cells.len() < columns.needed() {
            let text = cells.iter().map(joined).collect::<Vec<_>>().join(" ");
            match text.trim().strip_prefix("Theme:") {
                Some(t) => cluster = Some(t.trim().to_owned()),
                None if text.trim().is_empty() => {}
                None => parsed.problems.push(problem(
                    row,
                    format!(
                        "a row of {} cells that is not a \"Theme:\" heading (the header has {} columns)",
                        cells.len(),
                        head.len()
                    ),
                )),
            }
            continue;
        }
        match draft(&columns, cells, cluster.as_deref(), review, vocabulary) {
            Ok(record) => parsed.drafts.push(Draft { row, record }),
            Err(reasons) => parsed
                .problems
                .extend(reasons.into_iter().map(|r| problem(row, r))),
        }
    }
    parsed
}

/// The session and State the list reviews.
fn review(
    header: &str,
    vocabulary: &Vocabulary,
    options: &ImportOptions,
) -> Result<(SessionNumber, CountryCode), String> {
    let from_header = parse_header(header, vocabulary);
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

/// "UPR of Slovenia (3rd Cycle - 34th Session)" -> (SVN, 34), as far as it can be read.
fn parse_header(
    header: &str,
    vocabulary: &Vocabulary,
) -> (Option<CountryCode>, Option<SessionNumber>) {
    let Some(rest) = header.split("UPR of ").nth(1) else {
        return (None, None);
    };
    let state = rest
        .split(" (")
        .next()
        .and_then(|name| vocabulary.country(name.trim()));
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

/// Which column holds what.
struct Columns {
    recommendation: usize,
    position: usize,
    themes: usize,
    sdgs: Option<usize>,
    affected_persons: Option<usize>,
}

impl Columns {
    fn find(head: &[Vec<String>]) -> Result<Columns, String> {
        let names: Vec<String> = head
            .iter()
            .map(|c| c.join(" ").trim().to_lowercase())
            .collect();
        let find = |test: &dyn Fn(&str) -> bool| names.iter().position(|n| test(n));
        let missing = |what: &str| {
            format!(
                "the table has no {what} column (its headers: {})",
                head.iter()
                    .map(|c| format!("{:?}", c.join(" ").trim()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        Ok(Columns {
            recommendation: find(&|n| n.starts_with("recommendation"))
                .ok_or_else(|| missing("\"Recommendation\""))?,
            position: find(&|n| n.starts_with("position"))
                .ok_or_else(|| missing("\"Position\""))?,
            themes: find(&|n| n.contains("theme"))
                .ok_or_else(|| missing("themes (\"Full list of themes\")"))?,
            sdgs: find(&|n| n.starts_with("sdg")),
            affected_persons: find(&|n| n.starts_with("affected persons")),
        })
    }

    /// A recommendation row has at least as many cells as the last column read.
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
        .max()
        .unwrap_or(0)
            + 1
    }
}

/// One row as a recommendation, or every reason it is not one.
fn draft(
    columns: &Columns,
    cells: &[Vec<String>],
    cluster: Option<&str>,
    (session, state): (SessionNumber, CountryCode),
    vocabulary: &Vocabulary,
) -> Result<Recommendation, Vec<String>> {
    let mut reasons = vec![];
    let recommendation = &cells[columns.recommendation];
    let (body, document): (Vec<&str>, Vec<&str>) = recommendation
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .partition(|p| !p.starts_with("Source of Position"));
    let body = body.join(" ");
    let (paragraph, rest) = match body.split_once(char::is_whitespace) {
        Some((p, rest)) if p.contains('.') && p.chars().all(|c| c.is_ascii_digit() || c == '.') => {
            (p.to_owned(), rest.trim())
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

    let position = cells[columns.position]
        .iter()
        .map(|p| p.trim())
        .find(|p| !p.is_empty())
        .unwrap_or("");
    let response = match position.to_lowercase().as_str() {
        "supported" => Some(Response::Supported),
        "noted" => Some(Response::Noted),
        "supported in part" | "partially supported" | "supported/noted" => {
            Some(Response::PartiallySupported)
        }
        _ => {
            reasons.push(format!(
                "unknown position {position:?} (expected Supported, Noted or Supported in part)"
            ));
            None
        }
    };

    let mut lists = ThemeLists::default();
    lists.read(&cells[columns.themes], Section::Themes);
    if let Some(c) = columns.sdgs {
        lists.read(&cells[c], Section::Sdgs);
    }
    if let Some(c) = columns.affected_persons {
        lists.read(&cells[c], Section::AffectedPersons);
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
                "UHRI theme {label:?} is not in the crosswalk (data/import/uhri_themes.tsv)"
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
                "UHRI affected persons {label:?} is neither a group nor in data/import/uhri_affected_persons.tsv"
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
                    return Err(format!("unknown State name {g:?} (not in data/import/country_aliases.tsv nor countries.jsonl)"));
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

/// The first table of `word/document.xml` whose header names a "Recommendation" column, and
/// the text of the page headers.
fn open(bytes: &[u8]) -> Result<(Table, String), String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("not a .docx (Word) file: {e}"))?;
    let part = |zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str| -> Result<String, String> {
        let mut s = String::new();
        zip.by_name(name)
            .map_err(|e| format!("not a .docx (Word) file: {name}: {e}"))?
            .read_to_string(&mut s)
            .map_err(|e| format!("{name}: {e}"))?;
        Ok(s)
    };
    let document = part(&mut zip, "word/document.xml")?;
    let headers: Vec<String> = zip
        .file_names()
        .filter(|n| n.starts_with("word/header") && n.ends_with(".xml"))
        .map(str::to_owned)
        .collect();
    let mut header = String::new();
    for name in headers {
        let xml = part(&mut zip, &name)?;
        for p in paragraphs(&xml)? {
            header.push_str(&p);
            header.push('\n');
        }
    }
    let tables = tables(&document)?;
    let table = tables
        .into_iter()
        .find(|t| {
            t.first().is_some_and(|head| {
                head.iter().any(|c| {
                    c.join(" ")
                        .trim()
                        .to_lowercase()
                        .starts_with("recommendation")
                })
            })
        })
        .ok_or("no table with a \"Recommendation\" column")?;
    Ok((table, header))
}

/// Every top-level table: rows of cells of paragraphs of text. Nested tables are read into
/// the cell that holds them.
fn tables(xml: &str) -> Result<Vec<Table>, String> {
    let mut reader = Reader::from_str(xml);
    let mut tables: Vec<Table> = vec![];
    let mut depth = 0usize;
    let mut paragraph = String::new();
    let mut in_text = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("word/document.xml is not well-formed XML: {e}"))?;
        match event {
            Event::Start(e) => match e.local_name().as_ref() {
                b"tbl" => {
                    depth += 1;
                    if depth == 1 {
                        tables.push(vec![]);
                    }
                }
                b"tr" if depth == 1 => tables.last_mut().into_iter().for_each(|t| t.push(vec![])),
                b"tc" if depth == 1 => {
                    if let Some(row) = tables.last_mut().and_then(|t| t.last_mut()) {
                        row.push(vec![]);
                    }
                }
                b"p" => paragraph.clear(),
                b"t" => in_text = true,
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                b"tab" => paragraph.push(' '),
                b"br" | b"cr" => paragraph.push(' '),
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                b"tbl" => depth = depth.saturating_sub(1),
                b"t" => in_text = false,
                b"p" if depth >= 1 => {
                    if let Some(cell) = tables
                        .last_mut()
                        .and_then(|t| t.last_mut())
                        .and_then(|r| r.last_mut())
                    {
                        cell.push(std::mem::take(&mut paragraph));
                    }
                }
                _ => {}
            },
            Event::Text(t) if in_text => {
                paragraph.push_str(&t.decode().map_err(|e| format!("word/document.xml: {e}"))?)
            }
            Event::GeneralRef(r) if in_text => paragraph.push(entity(&r)?),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(tables)
}

/// The paragraphs of a part, as text.
fn paragraphs(xml: &str) -> Result<Vec<String>, String> {
    let mut reader = Reader::from_str(xml);
    let mut out = vec![];
    let mut paragraph = String::new();
    let mut in_text = false;
    loop {
        match reader
            .read_event()
            .map_err(|e| format!("a page header is not well-formed XML: {e}"))?
        {
            Event::Start(e) if e.local_name().as_ref() == b"t" => in_text = true,
            Event::End(e) if e.local_name().as_ref() == b"t" => in_text = false,
            Event::End(e) if e.local_name().as_ref() == b"p" => {
                out.push(std::mem::take(&mut paragraph))
            }
            Event::Text(t) if in_text => {
                paragraph.push_str(&t.decode().map_err(|e| format!("a page header: {e}"))?)
            }
            Event::GeneralRef(r) if in_text => paragraph.push(entity(&r)?),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

/// An entity reference in text: a character reference or one of XML's five.
fn entity(r: &quick_xml::events::BytesRef<'_>) -> Result<char, String> {
    if let Some(c) = r.resolve_char_ref().map_err(|e| e.to_string())? {
        return Ok(c);
    }
    match &**r {
        b"amp" => Ok('&'),
        b"lt" => Ok('<'),
        b"gt" => Ok('>'),
        b"quot" => Ok('"'),
        b"apos" => Ok('\''),
        other => Err(format!(
            "unknown entity &{};",
            String::from_utf8_lossy(other)
        )),
    }
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
