//! Downloads: every list a front end can filter, whole, as CSV or JSON Lines.
//!
//! `GET /export/{recommendations,measures,links,good-practices,concerns,actions}.{csv,jsonl}`,
//! with
//! `?filter=<JSON>` (the GraphQL connection's filter input, read by [`filter::from_json`] as
//! GraphQL reads a variable, and evaluated by the same code) and, for CSV, `?bom=0|1`. A file
//! holds exactly the records the connection counts in `totalCount` for that filter, in the
//! connection's order (natural key), all read from one catalog snapshot: a write that lands
//! during a download is not half in it. `X-Total-Count` gives the number of rows up front.
//!
//! The body is streamed in chunks of about [`CHUNK_BYTES`], rendered as the client reads, so
//! a whole file is never held in memory (only the list of the selected ids is). When the
//! server shuts down, a download still streaming stops with an error, so the server can exit
//! and the client sees an aborted transfer rather than a file that looks whole.
//!
//! JSON Lines rows are the interchange records, byte for byte as `export` writes them, so a
//! download is a subset of the dataset's file of the same name and can be imported again.
//! CSV rows are flattened for spreadsheets: global ids, names beside codes, relations as
//! lists of refs joined by `;`. RFC 4180 quoting, CRLF line ends, a header row, a UTF-8
//! byte-order mark unless `bom=0` (Excel needs it to read UTF-8), and every cell that a
//! spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab, carriage return first) is
//! prefixed with `'`.

use std::borrow::Cow;
use std::sync::Arc;

use async_graphql::ErrorExtensions;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use roaring::RoaringBitmap;

use super::AppState;
use crate::catalog::{Catalog, Keyed, LinkRow, Row, Table};
use crate::graphql::errors::bad_input;
use crate::graphql::filter::{
    self, ActionFilter, ConcernFilter, GoodPracticeFilter, LinkFilter, MeasureFilter,
    RecommendationFilter,
};
use crate::graphql::ids::global_id;
use crate::model::{self, CountryCode, LinkStatus, Ref, SdgGoal, Slug};
use crate::store::Index;

/// About this many bytes are rendered before a chunk is handed to the client.
const CHUNK_BYTES: usize = 64 * 1024;

/// The download routes (registered by [`super::app`]).
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/export/{file}", get(download))
}

/// A list that can be downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    Recommendations,
    Measures,
    GoodPractices,
    Links,
    Concerns,
    Actions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Jsonl,
}

impl List {
    const ALL: [List; 6] = [
        List::Recommendations,
        List::Measures,
        List::GoodPractices,
        List::Links,
        List::Concerns,
        List::Actions,
    ];

    /// The file's name without its extension.
    fn name(self) -> &'static str {
        match self {
            List::Recommendations => "recommendations",
            List::Measures => "measures",
            List::GoodPractices => "good-practices",
            List::Links => "links",
            List::Concerns => "concerns",
            List::Actions => "actions",
        }
    }

    /// The list and format a file name asks for.
    fn file(name: &str) -> Option<(List, Format)> {
        let (stem, ext) = name.rsplit_once('.')?;
        let format = match ext {
            "csv" => Format::Csv,
            "jsonl" => Format::Jsonl,
            _ => return None,
        };
        let list = List::ALL.into_iter().find(|l| l.name() == stem)?;
        Some((list, format))
    }

    /// The members that pass the filter (given as JSON), in the connection's order:
    /// internal ids, or positions in `Catalog::links` for links.
    fn select(self, c: &Catalog, filter_json: &str) -> async_graphql::Result<Vec<u32>> {
        Ok(match self {
            List::Recommendations => {
                let f: RecommendationFilter = filter::from_json(filter_json)?;
                in_key_order(&c.recommendations, &f.evaluate(c, &c.recommendations.all)?)
            }
            List::Measures => {
                let f: MeasureFilter = filter::from_json(filter_json)?;
                in_key_order(&c.measures, &f.evaluate(c, &c.measures.all)?)
            }
            List::GoodPractices => {
                let f: GoodPracticeFilter = filter::from_json(filter_json)?;
                in_key_order(&c.good_practices, &f.evaluate(c, &c.good_practices.all)?)
            }
            List::Links => {
                let f: LinkFilter = filter::from_json(filter_json)?;
                // Links are kept in key order, so positions ascend with keys.
                let all: RoaringBitmap = (0..c.links.len() as u32).collect();
                f.evaluate(c, &all)?.iter().collect()
            }
            List::Concerns => {
                let f: ConcernFilter = filter::from_json(filter_json)?;
                in_key_order(&c.concerns, &f.evaluate(c, &c.concerns.all)?)
            }
            List::Actions => {
                let f: ActionFilter = filter::from_json(filter_json)?;
                in_key_order(&c.actions, &f.evaluate(c, &c.actions.all)?)
            }
        })
    }

    fn columns(self) -> &'static [&'static str] {
        match self {
            List::Recommendations => &RECOMMENDATION_COLUMNS,
            List::Measures => &MEASURE_COLUMNS,
            List::GoodPractices => &GOOD_PRACTICE_COLUMNS,
            List::Links => &LINK_COLUMNS,
            List::Concerns => &CONCERN_COLUMNS,
            List::Actions => &ACTION_COLUMNS,
        }
    }
}

fn in_key_order<T>(table: &Table<T>, set: &RoaringBitmap) -> Vec<u32> {
    table
        .in_order()
        .filter(|r| set.contains(r.id))
        .map(|r| r.id)
        .collect()
}

async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Err(e) = state.principal(authorization) {
        let mut response = error_response(StatusCode::UNAUTHORIZED, e);
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let Some((list, format)) = List::file(&file) else {
        let names: Vec<String> = List::ALL
            .iter()
            .flat_map(|l| [format!("{}.csv", l.name()), format!("{}.jsonl", l.name())])
            .collect();
        let e = async_graphql::Error::new(format!(
            "no download named {file:?}; there are {}",
            names.join(", ")
        ))
        .extend_with(|_, e| e.set("code", "NOT_FOUND"));
        return error_response(StatusCode::NOT_FOUND, e);
    };
    let params = match query {
        Ok(Query(params)) => params,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                bad_input("query", format!("not a query string: {e}")),
            )
        }
    };
    let options = match Options::parse(format, &params) {
        Ok(o) => o,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, e),
    };
    let catalog = state.live.snapshot();
    let ids = match list.select(&catalog, options.filter.as_deref().unwrap_or("")) {
        Ok(ids) => ids,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, e),
    };
    let (content_type, extension) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Jsonl => ("application/x-ndjson", "jsonl"),
    };
    let disposition = format!("attachment; filename=\"{}.{extension}\"", list.name());
    let total = ids.len().to_string();
    let rows = Rows {
        catalog,
        list,
        format,
        ids,
        next: 0,
        preamble: true,
        bom: options.bom,
        shutdown: state.live.on_shutdown(),
    };
    let body = Body::from_stream(futures_util::stream::unfold(rows, |mut rows| async move {
        let chunk = rows.chunk()?;
        Some((chunk, rows))
    }));
    let mut response = body.into_response();
    let h = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type.to_owned()),
        (header::CONTENT_DISPOSITION, disposition),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (header::HeaderName::from_static("x-total-count"), total),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    response
}

/// The query parameters of a download.
struct Options {
    filter: Option<String>,
    bom: bool,
}

impl Options {
    fn parse(format: Format, params: &[(String, String)]) -> async_graphql::Result<Options> {
        let mut filter = None;
        let mut bom = None;
        for (name, value) in params {
            let slot = match name.as_str() {
                "filter" => &mut filter,
                "bom" => &mut bom,
                _ => {
                    return Err(bad_input(
                        name,
                        "unknown parameter; a download takes `filter` and `bom`",
                    ))
                }
            };
            if slot.replace(value.clone()).is_some() {
                return Err(bad_input(name, "given more than once"));
            }
        }
        let bom = match (bom.as_deref(), format) {
            (None, Format::Csv) => true,
            (None, Format::Jsonl) => false,
            (Some("1" | "true"), Format::Csv) => true,
            (Some("0" | "false"), _) => false,
            (Some("1" | "true"), Format::Jsonl) => {
                return Err(bad_input(
                    "bom",
                    "a JSON Lines file never starts with a byte-order mark",
                ))
            }
            (Some(v), _) => {
                return Err(bad_input(
                    "bom",
                    format!("{v:?} is not 1, 0, true or false"),
                ))
            }
        };
        Ok(Options { filter, bom })
    }
}

/// `{"errors": [error]}` with the status given, as the GraphQL endpoint words errors.
fn error_response(status: StatusCode, e: async_graphql::Error) -> Response {
    let mut error = e.into_server_error(async_graphql::Pos::default());
    error.locations.clear(); // not an error of a query's text
    let body = serde_json::json!({ "errors": [error] });
    (status, axum::Json(body)).into_response()
}

/// A download being rendered: the rows still to write and where the next one is.
struct Rows {
    catalog: Arc<Catalog>,
    list: List,
    format: Format,
    ids: Vec<u32>,
    next: usize,
    /// The byte-order mark and header row are still to write.
    preamble: bool,
    bom: bool,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

impl Rows {
    /// The next chunk of the body, or `None` at the end.
    fn chunk(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        let unfinished = self.preamble || self.next < self.ids.len();
        if unfinished && *self.shutdown.borrow() {
            return Some(Err(std::io::Error::other("the server is shutting down")));
        }
        let mut out = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 4);
        // Never an empty chunk: an empty JSON Lines file is no chunk at all.
        while out.is_empty() && (self.preamble || self.next < self.ids.len()) {
            let done = match self.format {
                Format::Csv => self.csv(&mut out),
                Format::Jsonl => self.jsonl(&mut out),
            };
            if let Err(e) = done {
                return Some(Err(e));
            }
        }
        (!out.is_empty()).then(|| Ok(Bytes::from(out)))
    }

    fn csv(&mut self, out: &mut Vec<u8>) -> Result<(), std::io::Error> {
        if self.preamble && self.bom {
            out.extend_from_slice("\u{feff}".as_bytes());
        }
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(std::mem::take(out));
        if std::mem::take(&mut self.preamble) {
            w.write_record(self.list.columns())?;
        }
        let c = &*self.catalog;
        while let Some(&id) = self.ids.get(self.next) {
            self.next += 1;
            let written = match self.list {
                List::Recommendations => c
                    .recommendations
                    .get(id)
                    .map(|r| write_row(&mut w, recommendation(c, r))),
                List::Measures => c.measures.get(id).map(|m| write_row(&mut w, measure(c, m))),
                List::GoodPractices => c
                    .good_practices
                    .get(id)
                    .map(|g| write_row(&mut w, good_practice(g))),
                List::Links => c
                    .links
                    .get(id as usize)
                    .map(|l| write_row(&mut w, link(c, l))),
                List::Concerns => c.concerns.get(id).map(|r| write_row(&mut w, concern(c, r))),
                List::Actions => c.actions.get(id).map(|r| write_row(&mut w, action(r))),
            };
            written.transpose()?;
            if w.get_ref().len() >= CHUNK_BYTES {
                break;
            }
        }
        *out = w.into_inner().map_err(|e| e.into_error())?;
        Ok(())
    }

    fn jsonl(&mut self, out: &mut Vec<u8>) -> Result<(), std::io::Error> {
        self.preamble = false;
        let c = &*self.catalog;
        while let Some(&id) = self.ids.get(self.next) {
            self.next += 1;
            let written = match self.list {
                List::Recommendations => record_line(out, &c.recommendations, id),
                List::Measures => record_line(out, &c.measures, id),
                List::GoodPractices => record_line(out, &c.good_practices, id),
                List::Concerns => record_line(out, &c.concerns, id),
                List::Actions => record_line(out, &c.actions, id),
                List::Links => c
                    .links
                    .get(id as usize)
                    .map(|l| serde_json::to_writer(&mut *out, &l.record)),
            };
            if let Some(written) = written {
                written?;
                out.push(b'\n');
            }
            if out.len() >= CHUNK_BYTES {
                break;
            }
        }
        Ok(())
    }
}

/// A record of the table as its dataset line (without the line end), or `None` where there is
/// no record with that id.
fn record_line<T: serde::Serialize>(
    out: &mut Vec<u8>,
    table: &Table<T>,
    id: u32,
) -> Option<serde_json::Result<()>> {
    table
        .get(id)
        .map(|r| serde_json::to_writer(&mut *out, &r.record))
}

/// One CSV record, each cell [`guard`]ed.
fn write_row<const N: usize>(w: &mut csv::Writer<Vec<u8>>, cells: [String; N]) -> csv::Result<()> {
    for cell in &cells {
        w.write_field(guard(cell).as_bytes())?;
    }
    w.write_record(None::<&[u8]>)
}

/// A cell as a spreadsheet may safely open it: one that would be read as a formula (or, after
/// a tab or carriage return, could be) gets a leading `'`, which spreadsheets show as text.
fn guard(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

fn join<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    let items: Vec<String> = items.iter().map(f).collect();
    list(items.iter().map(String::as_str))
}

/// A list inside a cell: items joined by `;`, an item that holds a `;` or a `"` (a ref may:
/// refs are any printable ASCII) quoted as CSV quotes a cell, `"a;b"`, quotes doubled, so
/// that the list splits back into its items unambiguously.
fn list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        if item.contains([';', '"']) {
            out.push('"');
            out.push_str(&item.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(item);
        }
    }
    out
}

fn codes(v: &[CountryCode]) -> String {
    join(v, |c| c.as_str().to_owned())
}

fn slugs(v: &[Slug]) -> String {
    join(v, |s| s.as_str().to_owned())
}

fn sdgs(v: &[SdgGoal]) -> String {
    join(v, |g| g.get().to_string())
}

fn refs(v: &[Ref]) -> String {
    join(v, |r| r.as_str().to_owned())
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn country_name(c: &Catalog, code: CountryCode) -> String {
    c.country(code)
        .map(|k| k.record.name.clone())
        .unwrap_or_default()
}

/// Refs of the records of a table in a posting list, sorted.
fn refs_in<T: Keyed>(c: &Catalog, table: &Table<T>, index: &Index) -> String {
    let mut v: Vec<&str> = c
        .list(index)
        .iter()
        .filter_map(|id| table.get(id).map(|r| r.record.natural_key()))
        .collect();
    v.sort_unstable();
    list(v)
}

/// Refs of the other ends of CONFIRMED links, sorted.
fn confirmed<'a>(
    links: impl Iterator<Item = &'a Arc<LinkRow>>,
    end: fn(&LinkRow) -> &str,
) -> String {
    let mut v: Vec<&str> = links
        .filter(|l| l.record.status == LinkStatus::Confirmed)
        .map(|l| end(l))
        .collect();
    v.sort_unstable();
    list(v)
}

const RECOMMENDATION_COLUMNS: [&str; 19] = [
    "ref",
    "id",
    "text",
    "state_under_review",
    "state_under_review_name",
    "recommending_states",
    "session",
    "cycle",
    "response",
    "action_category",
    "themes",
    "groups",
    "sdgs",
    "document",
    "paragraph",
    "source_themes",
    "linked_measures",
    "good_practices",
    "version",
];

fn recommendation(c: &Catalog, row: &Row<model::Recommendation>) -> [String; 19] {
    let r = &row.record;
    [
        r.id.to_string(),
        global_id("Recommendation", r.id.as_str()).0,
        r.text.clone(),
        r.state_under_review.to_string(),
        country_name(c, r.state_under_review),
        codes(&r.recommending_states),
        r.session.get().to_string(),
        c.session(r.session)
            .map(|s| s.record.cycle.to_string())
            .unwrap_or_default(),
        r.response.to_string(),
        r.action_category
            .map(|a| a.get().to_string())
            .unwrap_or_default(),
        slugs(&r.themes),
        slugs(&r.groups),
        sdgs(&r.sdgs),
        text(&r.document),
        text(&r.paragraph),
        // The publisher's labels as published, in their order, joined by ` | `: OHCHR's
        // labels hold `;` ("Children: definition; general principles; protection").
        r.source_themes.join(" | "),
        confirmed(c.links_of_recommendation(row.id), |l| {
            l.record.measure.as_str()
        }),
        refs_in(
            c,
            &c.good_practices,
            &Index::GoodPracticesByRecommendation(row.id),
        ),
        row.version.to_string(),
    ]
}

const MEASURE_COLUMNS: [&str; 18] = [
    "ref",
    "id",
    "country",
    "country_name",
    "title",
    "description",
    "category",
    "start_date",
    "end_date",
    "themes",
    "groups",
    "sdgs",
    "source",
    "source_code",
    "source_url",
    "linked_recommendations",
    "good_practices",
    "version",
];

fn measure(c: &Catalog, row: &Row<model::Measure>) -> [String; 18] {
    let m = &row.record;
    [
        m.id.to_string(),
        global_id("Measure", m.id.as_str()).0,
        m.country.to_string(),
        country_name(c, m.country),
        m.title.clone(),
        m.description.clone(),
        m.category.to_string(),
        m.start_date.to_string(),
        m.end_date.map(|d| d.to_string()).unwrap_or_default(),
        slugs(&m.themes),
        slugs(&m.groups),
        sdgs(&m.sdgs),
        text(&m.source),
        text(&m.source_code),
        text(&m.source_url),
        confirmed(c.links_of_measure(row.id).into_iter(), |l| {
            l.record.recommendation.as_str()
        }),
        refs_in(c, &c.good_practices, &Index::GoodPracticesByMeasure(row.id)),
        row.version.to_string(),
    ]
}

const GOOD_PRACTICE_COLUMNS: [&str; 13] = [
    "ref",
    "id",
    "title",
    "description",
    "countries",
    "year",
    "themes",
    "groups",
    "sdgs",
    "measures",
    "recommendations",
    "source",
    "version",
];

fn good_practice(row: &Row<model::GoodPractice>) -> [String; 13] {
    let g = &row.record;
    [
        g.id.to_string(),
        global_id("GoodPractice", g.id.as_str()).0,
        g.title.clone(),
        g.description.clone(),
        codes(&g.countries),
        g.year.map(|y| y.to_string()).unwrap_or_default(),
        slugs(&g.themes),
        slugs(&g.groups),
        sdgs(&g.sdgs),
        refs(&g.measures),
        refs(&g.recommendations),
        text(&g.source),
        row.version.to_string(),
    ]
}

const LINK_COLUMNS: [&str; 13] = [
    "id",
    "recommendation",
    "measure",
    "relation",
    "status",
    "note",
    "evidence_url",
    "created_by",
    "created_at",
    "updated_at",
    "state_under_review",
    "measure_country",
    "version",
];

fn link(c: &Catalog, row: &LinkRow) -> [String; 13] {
    let l = &row.record;
    [
        global_id("Link", &row.key()).0,
        l.recommendation.to_string(),
        l.measure.to_string(),
        l.relation.to_string(),
        l.status.to_string(),
        text(&l.note),
        text(&l.evidence_url),
        text(&l.created_by),
        l.created_at.map(|t| t.to_string()).unwrap_or_default(),
        l.updated_at.map(|t| t.to_string()).unwrap_or_default(),
        c.recommendations
            .get(row.recommendation)
            .map(|r| r.record.state_under_review.to_string())
            .unwrap_or_default(),
        c.measures
            .get(row.measure)
            .map(|m| m.record.country.to_string())
            .unwrap_or_default(),
        row.version.to_string(),
    ]
}

const CONCERN_COLUMNS: [&str; 17] = [
    "ref",
    "id",
    "countries",
    "title",
    "description",
    "kind",
    "severity",
    "reported_on",
    "themes",
    "groups",
    "sdgs",
    "measures",
    "recommendations",
    "actions",
    "source",
    "source_url",
    "version",
];

fn concern(c: &Catalog, row: &Row<model::Concern>) -> [String; 17] {
    let r = &row.record;
    [
        r.id.to_string(),
        global_id("Concern", r.id.as_str()).0,
        codes(&r.countries),
        r.title.clone(),
        r.description.clone(),
        r.kind.to_string(),
        r.severity.to_string(),
        r.reported_on.to_string(),
        slugs(&r.themes),
        slugs(&r.groups),
        sdgs(&r.sdgs),
        refs(&r.measures),
        refs(&r.recommendations),
        refs_in(c, &c.actions, &Index::ActionsByConcern(row.id)),
        r.source.clone(),
        text(&r.source_url),
        row.version.to_string(),
    ]
}

const ACTION_COLUMNS: [&str; 18] = [
    "ref",
    "id",
    "countries",
    "title",
    "description",
    "kind",
    "start_date",
    "end_date",
    "outcome",
    "people_reached",
    "themes",
    "groups",
    "sdgs",
    "concerns",
    "measures",
    "recommendations",
    "source",
    "version",
];

fn action(row: &Row<model::Action>) -> [String; 18] {
    let a = &row.record;
    [
        a.id.to_string(),
        global_id("Action", a.id.as_str()).0,
        codes(&a.countries),
        a.title.clone(),
        a.description.clone(),
        a.kind.to_string(),
        a.start_date.to_string(),
        a.end_date.map(|d| d.to_string()).unwrap_or_default(),
        text(&a.outcome),
        a.people_reached.map(|n| n.to_string()).unwrap_or_default(),
        slugs(&a.themes),
        slugs(&a.groups),
        sdgs(&a.sdgs),
        refs(&a.concerns),
        refs(&a.measures),
        refs(&a.recommendations),
        a.source.clone(),
        row.version.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_map_to_lists_and_formats() {
        assert_eq!(
            List::file("good-practices.jsonl"),
            Some((List::GoodPractices, Format::Jsonl))
        );
        assert_eq!(List::file("links.csv"), Some((List::Links, Format::Csv)));
        for bad in [
            "good_practices.csv",
            "links.xlsx",
            "links",
            "countries.csv",
            ".csv",
        ] {
            assert_eq!(List::file(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_list_item_holding_the_separator_or_a_quote_is_quoted_so_the_list_splits_back() {
        assert_eq!(list(["M-HND-001", "M-SVN-002"]), "M-HND-001;M-SVN-002");
        assert_eq!(list([]), "");
        let items = ["A;1", "B", "C\"x", "D"];
        let cell = list(items);
        assert_eq!(cell, "\"A;1\";B;\"C\"\"x\";D");
        // Read back as CSV with `;` as the delimiter, the cell gives the items again.
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b';')
            .has_headers(false)
            .from_reader(cell.as_bytes());
        let back: Vec<String> = reader
            .records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(back, items);
    }

    #[test]
    fn cells_a_spreadsheet_would_evaluate_are_quoted_as_text() {
        for (cell, shown) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("a=b", "a=b"),
            ("2020-01-01", "2020-01-01"),
            ("", ""),
        ] {
            assert_eq!(guard(cell), shown);
        }
    }

    fn rows(c: Catalog, format: Format, shutdown: tokio::sync::watch::Receiver<bool>) -> Rows {
        Rows {
            catalog: Arc::new(c),
            list: List::Recommendations,
            format,
            ids: vec![],
            next: 0,
            preamble: true,
            bom: true,
            shutdown,
        }
    }

    #[test]
    fn a_download_stops_with_an_error_when_the_server_shuts_down() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::store::Store::open(&dir.path().join("store")).expect("store");
        let catalog = || Catalog::load(&store).expect("catalog");
        let (stop, shutdown) = tokio::sync::watch::channel(false);

        // Running: the header row, then the end.
        let mut running = rows(catalog(), Format::Csv, shutdown.clone());
        let first = running.chunk().expect("a chunk").expect("no error");
        assert!(first.starts_with("\u{feff}ref,id,text,".as_bytes()));
        assert!(running.chunk().is_none());
        // An empty JSON Lines file is no chunk at all.
        assert!(rows(catalog(), Format::Jsonl, shutdown.clone())
            .chunk()
            .is_none());

        // Shut down before it ends: an error, never a short file that looks whole.
        let mut cut = rows(catalog(), Format::Csv, shutdown);
        stop.send_replace(true);
        assert!(matches!(cut.chunk(), Some(Err(_))));
    }

    #[test]
    fn each_row_has_a_cell_per_column() {
        // The arrays' types tie rows to headers; this ties the headers to one another.
        for list in List::ALL {
            let cols = list.columns();
            let mut sorted = cols.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), cols.len(), "{list:?} repeats a column");
        }
    }
}
