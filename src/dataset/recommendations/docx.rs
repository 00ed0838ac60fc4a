//! The text of a Word (`.docx`) document as an importer needs it: its tables laid out on
//! their grid, the paragraphs before the first table, and the page headers.
//!
//! Read as Word writes documents, not only as one sample was written:
//! - the main part is the one `_rels/.rels` names (`word/document.xml` when it names none);
//! - a cell spanning columns (`w:gridSpan`) fills its grid columns (the first holds the text,
//!   the others are marked [`Cell::spanned`]), and a row's skipped leading columns
//!   (`w:gridBefore`) are empty cells, so a column is at the same place in every row;
//! - a cell that continues the one above (`w:vMerge` without `restart`) holds the text of
//!   that cell, as the reader sees it;
//! - deleted tracked changes (`w:delText`), the source of tracked moves (`w:moveFrom`) and
//!   field instructions are not text; inserted and moved-to text is; the fallback of
//!   alternate content (`mc:Fallback`, a copy of the choice) is skipped;
//!   tabs and breaks are spaces, a non-breaking hyphen is `-`, a soft hyphen nothing;
//! - a table nested in a cell is read into that cell.

use std::io::{Cursor, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// The most of one part that is read (uncompressed bytes).
const MAX_PART: u64 = 256 << 20;

/// A table: rows of cells, one cell per grid column.
pub type Table = Vec<Vec<Cell>>;

/// One grid column of a row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    /// The paragraphs of the cell (empty in a spanned column).
    pub paragraphs: Vec<String>,
    /// This grid column is covered by the cell to its left (`w:gridSpan`).
    pub spanned: bool,
}

impl Cell {
    /// The cell's paragraphs joined by spaces, trimmed.
    pub fn text(&self) -> String {
        self.paragraphs.join(" ").trim().to_owned()
    }
}

/// What an importer reads of a document.
#[derive(Debug, Default)]
pub struct Document {
    /// Every top-level table, in document order.
    pub tables: Vec<Table>,
    /// The top-level paragraphs before the first table (a title, an introduction).
    pub preamble: Vec<String>,
    /// The paragraphs of the page headers.
    pub headers: Vec<String>,
}

/// Reads a `.docx` file; the error says why it is not one that can be read.
pub fn read(bytes: &[u8]) -> Result<Document, String> {
    read_bounded(bytes, MAX_PART)
}

/// [`read`], reading at most `max_part` uncompressed bytes of any part.
fn read_bounded(bytes: &[u8], max_part: u64) -> Result<Document, String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("not a .docx (Word) file: {e}"))?;
    let mut names: Vec<String> = zip
        .file_names()
        .filter(|n| n.starts_with("word/header") && n.ends_with(".xml"))
        .map(str::to_owned)
        .collect();
    names.sort();
    let mut part = |name: &str| -> Result<Option<String>, String> {
        let mut file = match zip.by_name(name) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(format!("not a .docx (Word) file: {name}: {e}")),
        };
        // A part is read up to a bound whatever size its entry declares: a compressed bomb is
        // refused, not inflated into memory.
        let mut s = String::new();
        (&mut file)
            .take(max_part + 1)
            .read_to_string(&mut s)
            .map_err(|e| format!("{name}: {e}"))?;
        if s.len() as u64 > max_part {
            return Err(format!(
                "{name} is larger than {} KiB uncompressed; a list of recommendations is far smaller",
                max_part >> 10
            ));
        }
        Ok(Some(s))
    };
    let main = match part("_rels/.rels")? {
        Some(rels) => main_part(&rels)?,
        None => None,
    }
    .unwrap_or_else(|| "word/document.xml".to_owned());
    let xml = part(&main)?.ok_or_else(|| {
        format!("not a .docx (Word) file: it has no {main} (its main document part)")
    })?;
    let mut document = body(&main, &xml)?;
    for name in names {
        if let Some(xml) = part(&name)? {
            let header = body(&name, &xml)?;
            document.headers.extend(header.preamble);
            for table in header.tables {
                for cell in table.into_iter().flatten() {
                    document.headers.extend(cell.paragraphs);
                }
            }
        }
    }
    Ok(document)
}

/// The target of the package's `officeDocument` relationship.
fn main_part(rels: &str) -> Result<Option<String>, String> {
    let mut reader = Reader::from_str(rels);
    loop {
        match reader
            .read_event()
            .map_err(|e| format!("_rels/.rels is not well-formed XML: {e}"))?
        {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"Relationship" => {
                let kind = attribute(&e, b"Type").unwrap_or_default();
                if kind.ends_with("/officeDocument") {
                    return Ok(attribute(&e, b"Target")
                        .map(|t| t.trim_start_matches('/').to_owned())
                        .filter(|t| !t.is_empty()));
                }
            }
            Event::Eof => return Ok(None),
            _ => {}
        }
    }
}

/// An attribute's value by local name (`w:val` is `val`).
fn attribute(e: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::default())
                .ok()
                .map(|v| v.into_owned())
        })
}

/// The cell being read: its paragraphs, span and whether it continues the one above.
struct OpenCell {
    paragraphs: Vec<String>,
    span: usize,
    continues: bool,
}

/// Tables and preamble of a part (the main document or a page header).
fn body(name: &str, xml: &str) -> Result<Document, String> {
    let mut reader = Reader::from_str(xml);
    let mut document = Document::default();
    let mut depth = 0usize;
    let mut row: Option<Vec<Cell>> = None;
    let mut cell: Option<OpenCell> = None;
    let mut paragraph = String::new();
    let mut in_text = false;
    // Inside an element whose text the reader does not see, and how deeply: `mc:Fallback`
    // (a copy of the `mc:Choice` before it) or `w:moveFrom` (text a tracked move took away;
    // it is read where `w:moveTo` put it).
    let mut skipping: Option<(Vec<u8>, usize)> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("{name} is not well-formed XML: {e}"))?;
        if let Some((element, depth)) = skipping.as_mut() {
            match &event {
                Event::Start(e) if e.local_name().as_ref() == element.as_slice() => *depth += 1,
                Event::End(e) if e.local_name().as_ref() == element.as_slice() => {
                    *depth -= 1;
                    if *depth == 0 {
                        skipping = None;
                    }
                }
                Event::Eof => break,
                _ => {}
            }
            continue;
        }
        match event {
            Event::Start(e) => match e.local_name().as_ref() {
                n @ (b"Fallback" | b"moveFrom") => skipping = Some((n.to_vec(), 1)),
                b"tbl" => {
                    depth += 1;
                    if depth == 1 {
                        document.tables.push(vec![]);
                    }
                }
                b"tr" if depth == 1 => row = Some(vec![]),
                b"tc" if depth == 1 => {
                    cell = Some(OpenCell {
                        paragraphs: vec![],
                        span: 1,
                        continues: false,
                    })
                }
                b"vMerge" if depth == 1 => merge(&e, cell.as_mut()),
                b"t" => in_text = true,
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                b"tab" | b"br" | b"cr" => paragraph.push(' '),
                b"noBreakHyphen" => paragraph.push('-'),
                b"gridSpan" if depth == 1 => {
                    if let (Some(c), Some(n)) = (
                        cell.as_mut(),
                        attribute(&e, b"val").and_then(|v| v.parse::<usize>().ok()),
                    ) {
                        c.span = n.clamp(1, 64);
                    }
                }
                b"gridBefore" if depth == 1 && cell.is_none() => {
                    let n = attribute(&e, b"val")
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0)
                        .min(64);
                    if let Some(r) = row.as_mut() {
                        r.extend(std::iter::repeat_n(Cell::default(), n));
                    }
                }
                b"vMerge" if depth == 1 => merge(&e, cell.as_mut()),
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                b"tbl" => depth = depth.saturating_sub(1),
                b"t" => in_text = false,
                b"p" => {
                    let text = std::mem::take(&mut paragraph);
                    match cell.as_mut() {
                        Some(c) if depth >= 1 => c.paragraphs.push(text),
                        _ if depth == 0 && document.tables.is_empty() => {
                            document.preamble.push(text)
                        }
                        _ => {}
                    }
                }
                b"tc" if depth == 1 => {
                    if let (Some(open), Some(r)) = (cell.take(), row.as_mut()) {
                        let above = document
                            .tables
                            .last()
                            .and_then(|t| t.last())
                            .and_then(|prev| prev.get(r.len()))
                            .filter(|_| open.continues)
                            .map(|c| c.paragraphs.clone());
                        r.push(Cell {
                            paragraphs: above.unwrap_or(open.paragraphs),
                            spanned: false,
                        });
                        for _ in 1..open.span {
                            r.push(Cell {
                                paragraphs: vec![],
                                spanned: true,
                            });
                        }
                    }
                }
                b"tr" if depth == 1 => {
                    if let (Some(r), Some(t)) = (row.take(), document.tables.last_mut()) {
                        t.push(r);
                    }
                }
                _ => {}
            },
            Event::Text(t) if in_text => {
                paragraph.push_str(&t.decode().map_err(|e| format!("{name}: {e}"))?)
            }
            Event::GeneralRef(r) if in_text => paragraph.push(entity(&r)?),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(document)
}

/// `w:vMerge`: without a value, or `continue`, the cell continues the one above.
fn merge(e: &BytesStart<'_>, cell: Option<&mut OpenCell>) {
    if let Some(c) = cell {
        c.continues = attribute(e, b"val").is_none_or(|v| v != "restart");
    }
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

    const NS: &str = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" \
                      xmlns:mc=\"http://schemas.openxmlformats.org/markup-compatibility/2006\"";

    fn doc(body: &str) -> Document {
        super::body(
            "word/document.xml",
            &format!("<w:document {NS}><w:body>{body}</w:body></w:document>"),
        )
        .unwrap()
    }

    fn texts(t: &Table) -> Vec<Vec<(String, bool)>> {
        t.iter()
            .map(|r| r.iter().map(|c| (c.text(), c.spanned)).collect())
            .collect()
    }

    #[test]
    fn spans_merges_and_skipped_columns_keep_every_column_in_its_place() {
        let d = doc(concat!(
            "<w:p><w:r><w:t>UPR of Chile</w:t></w:r></w:p>",
            "<w:tbl>",
            "<w:tr><w:tc><w:tcPr><w:gridSpan w:val=\"2\"/></w:tcPr><w:p><w:r><w:t>Recommendation</w:t></w:r></w:p></w:tc>",
            "<w:tc><w:p><w:r><w:t>Position</w:t></w:r></w:p></w:tc></w:tr>",
            "<w:tr><w:tc><w:p><w:r><w:t>1.1</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Act</w:t></w:r></w:p></w:tc>",
            "<w:tc><w:tcPr><w:vMerge w:val=\"restart\"/></w:tcPr><w:p><w:r><w:t>Noted</w:t></w:r></w:p></w:tc></w:tr>",
            "<w:tr><w:trPr><w:gridBefore w:val=\"1\"/></w:trPr><w:tc><w:p><w:r><w:t>Do</w:t></w:r></w:p></w:tc>",
            "<w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc></w:tr>",
            "</w:tbl><w:p><w:r><w:t>after</w:t></w:r></w:p>",
        ));
        assert_eq!(d.preamble, ["UPR of Chile"]);
        let s = |x: &str, spanned| (x.to_owned(), spanned);
        assert_eq!(
            texts(&d.tables[0]),
            [
                vec![
                    s("Recommendation", false),
                    s("", true),
                    s("Position", false)
                ],
                vec![s("1.1", false), s("Act", false), s("Noted", false)],
                vec![s("", false), s("Do", false), s("Noted", false)],
            ]
        );
    }

    #[test]
    fn deleted_text_fallbacks_and_special_characters_read_as_the_reader_sees_them() {
        let d = doc(concat!(
            "<w:tbl><w:tr><w:tc><w:p>",
            "<w:r><w:t>non</w:t><w:noBreakHyphen/><w:t>discri</w:t><w:softHyphen/><w:t>mination</w:t></w:r>",
            "<w:del><w:r><w:delText> gone</w:delText></w:r></w:del>",
            "<w:ins><w:r><w:t xml:space=\"preserve\"> &amp; more</w:t></w:r></w:ins>",
            "<w:r><w:tab/><w:instrText>PAGE</w:instrText></w:r>",
            "<mc:AlternateContent><mc:Choice><w:r><w:t>once</w:t></w:r></mc:Choice>",
            "<mc:Fallback><w:r><w:t>twice</w:t></w:r></mc:Fallback></mc:AlternateContent>",
            "<w:moveFrom><w:r><w:t> moved away</w:t></w:r></w:moveFrom>",
            "<w:moveTo><w:r><w:t xml:space=\"preserve\"> moved here</w:t></w:r></w:moveTo>",
            "</w:p></w:tc></w:tr></w:tbl>",
        ));
        assert_eq!(
            d.tables[0][0][0].text(),
            "non-discrimination & more once moved here"
        );
    }

    #[test]
    fn a_part_larger_than_the_bound_is_refused_without_being_inflated() {
        use std::io::Write;
        let mut out = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        zip.start_file(
            "word/document.xml",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        let body = format!(
            "<w:document {NS}><w:body>{}</w:body></w:document>",
            " ".repeat(4096)
        );
        zip.write_all(body.as_bytes()).unwrap();
        zip.finish().unwrap();
        let bytes = out.into_inner();
        assert!(read_bounded(&bytes, 1 << 20).is_ok());
        assert_eq!(
            read_bounded(&bytes, 1024).unwrap_err(),
            "word/document.xml is larger than 1 KiB uncompressed; a list of recommendations is far smaller"
        );
    }

    #[test]
    fn the_main_part_is_the_one_the_package_relationships_name() {
        let rels = "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
            <Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" Target=\"docProps/core.xml\"/>\
            <Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"/word/document2.xml\"/>\
            </Relationships>";
        assert_eq!(
            main_part(rels).unwrap().as_deref(),
            Some("word/document2.xml")
        );
        assert_eq!(main_part("<Relationships/>").unwrap(), None);
    }
}
