//! Downloads of every filtered list (`GET /export/{list}.{csv,jsonl}?filter=…`): for random
//! filters, the rows of both formats are the connection's nodes (same refs, same order, as
//! many as `totalCount`) and brute force's over the dataset files; CSV parses back to the
//! dataset's values (quotes, commas, newlines, non-ASCII) with formula-like cells guarded;
//! JSON Lines rows are `export`'s lines; and the errors: 400 naming the field, 401, 404.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use serde_json::{json, Value};

use recover_better::graphql::Limits;
use recover_better::model::Role;
use recover_better::server::HttpOptions;

use crate::brute;
use crate::helpers::*;

// ---------------------------------------------------------------------------------------------
// Fetching and parsing.

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The path of a download with a filter (and any further `&`-joined parameters).
fn path(file: &str, filter: Option<&Value>, more: &str) -> String {
    let mut params: Vec<String> = filter
        .map(|f| format!("filter={}", encode(&f.to_string())))
        .into_iter()
        .collect();
    if !more.is_empty() {
        params.push(more.to_owned());
    }
    if params.is_empty() {
        format!("/export/{file}")
    } else {
        format!("/export/{file}?{}", params.join("&"))
    }
}

/// A finished download.
struct Download {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Download {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    fn total(&self) -> usize {
        self.header("x-total-count").parse().expect("a count")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({}): {e}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> Download {
    let mut request = client().get(format!("{}{path}", app.address));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let r = request.send().await.expect("the request is sent");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.bytes().await.expect("a body").to_vec();
    Download {
        status,
        headers,
        body,
    }
}

/// A download that must succeed.
async fn fetch(app: &TestApp, file: &str, filter: Option<&Value>) -> Download {
    let d = get(app, &path(file, filter, ""), None).await;
    assert_eq!(
        d.status,
        200,
        "{file} with {filter:?}: {}",
        String::from_utf8_lossy(&d.body)
    );
    d
}

const BOM: &[u8] = b"\xef\xbb\xbf";

/// A CSV download's header and records, each record as column → cell.
struct Table {
    header: Vec<String>,
    rows: Vec<BTreeMap<String, String>>,
}

impl Table {
    fn column(&self, name: &str) -> Vec<String> {
        assert!(self.header.iter().any(|h| h == name), "no column {name}");
        self.rows.iter().map(|r| r[name].clone()).collect()
    }
}

/// Parses a CSV body (after its byte-order mark) with the csv crate.
fn parse_csv(body: &[u8]) -> Table {
    let body = body.strip_prefix(BOM).expect("a CSV starts with a BOM");
    let mut reader = csv::ReaderBuilder::new().from_reader(body);
    let header: Vec<String> = reader
        .headers()
        .expect("a header row")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.expect("a CSV record");
            assert_eq!(r.len(), header.len(), "a cell per column");
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect();
    Table { header, rows }
}

fn parse_jsonl(body: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(body).expect("UTF-8");
    assert!(text.is_empty() || text.ends_with('\n'), "every line ends");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// What the server's formula guard does, as a spreadsheet user needs it.
fn guarded(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

fn global_id(type_name: &str, key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{type_name}:{key}"))
}

// ---------------------------------------------------------------------------------------------
// The rows of a download against the connection and brute force.

/// A downloadable list: its file stem, connection, and how a row names its record.
struct List {
    stem: &'static str,
    conn: (&'static str, &'static str, &'static str),
    type_name: &'static str,
}

const RECOMMENDATION_LIST: List = List {
    stem: "recommendations",
    conn: ("recommendations", "RecommendationFilter", "ref id"),
    type_name: "Recommendation",
};
const MEASURE_LIST: List = List {
    stem: "measures",
    conn: ("measures", "MeasureFilter", "ref id"),
    type_name: "Measure",
};
const GOOD_PRACTICE_LIST: List = List {
    stem: "good-practices",
    conn: ("goodPractices", "GoodPracticeFilter", "ref id"),
    type_name: "GoodPractice",
};
const LINK_LIST: List = List {
    stem: "links",
    conn: (
        "links",
        "LinkFilter",
        "id recommendation { ref } measure { ref }",
    ),
    type_name: "Link",
};
const CONCERN_LIST: List = List {
    stem: "concerns",
    conn: ("concerns", "ConcernFilter", "ref id"),
    type_name: "Concern",
};
const ACTION_LIST: List = List {
    stem: "actions",
    conn: ("actions", "ActionFilter", "ref id"),
    type_name: "Action",
};

impl List {
    fn csv_key(&self, row: &BTreeMap<String, String>) -> String {
        match self.type_name {
            "Link" => format!("{}\t{}", row["recommendation"], row["measure"]),
            _ => row["ref"].clone(),
        }
    }

    fn jsonl_key(&self, row: &Value) -> String {
        match self.type_name {
            "Link" => format!(
                "{}\t{}",
                row["recommendation"].as_str().unwrap(),
                row["measure"].as_str().unwrap()
            ),
            _ => row["id"].as_str().expect("an id").to_owned(),
        }
    }
}

/// Asserts that both downloads of `list` under `filter` hold the connection's nodes (keys,
/// global ids, order, `totalCount`) and `expected` (brute force). Returns the row count.
async fn check(app: &TestApp, list: &List, filter: &Value, expected: &[String]) -> usize {
    let walk = walk(
        app,
        &root_walk_query(list.conn),
        json!({ "filter": filter }),
        &["c"],
        500,
        Direction::Forward,
    )
    .await;
    let connection = keys(&walk.nodes);
    assert_eq!(
        connection, expected,
        "{}: the connection agrees with brute force for {filter}",
        list.stem
    );

    let csv = fetch(app, &format!("{}.csv", list.stem), Some(filter)).await;
    assert_eq!(csv.total() as u64, walk.total_count, "X-Total-Count");
    let table = parse_csv(&csv.body);
    let csv_keys: Vec<String> = table.rows.iter().map(|r| list.csv_key(r)).collect();
    assert_eq!(
        csv_keys, connection,
        "{}.csv holds the connection's rows for {filter}",
        list.stem
    );
    let ids: Vec<&str> = walk
        .nodes
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(table.column("id"), ids, "the global ids are the API's");
    for (id, key) in ids.iter().zip(&csv_keys) {
        assert_eq!(*id, global_id(list.type_name, key));
    }

    let jsonl = fetch(app, &format!("{}.jsonl", list.stem), Some(filter)).await;
    assert_eq!(jsonl.total() as u64, walk.total_count, "X-Total-Count");
    let rows = parse_jsonl(&jsonl.body);
    let jsonl_keys: Vec<String> = rows.iter().map(|r| list.jsonl_key(r)).collect();
    assert_eq!(
        jsonl_keys, connection,
        "{}.jsonl holds the connection's rows for {filter}",
        list.stem
    );
    expected.len()
}

fn distinct<I: IntoIterator<Item = String>>(it: I) -> Vec<String> {
    it.into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

const GROUPS: [&str; 5] = [
    "AFRICAN",
    "ASIA_PACIFIC",
    "EASTERN_EUROPEAN",
    "LATIN_AMERICAN_CARIBBEAN",
    "WESTERN_EUROPEAN_OTHERS",
];

/// `n` filters of 1 to 3 fields, every field drawn from the dataset's own values.
fn random_recommendation_filters(f: &Files, n: usize, seed: u64) -> Vec<Value> {
    let mut rng = Rng(seed);
    let sur = distinct(
        f.recommendations
            .iter()
            .map(|r| r.state_under_review.clone()),
    );
    let made = distinct(
        f.recommendations
            .iter()
            .flat_map(|r| r.recommending_states.clone()),
    );
    let themes = distinct(f.recommendations.iter().flat_map(|r| r.themes.clone()));
    let groups = distinct(f.recommendations.iter().flat_map(|r| r.groups.clone()));
    let sessions: Vec<i64> = f.sessions.iter().map(|s| s.number).collect();
    let cycles: Vec<i64> = f.cycles.iter().map(|c| c.number).collect();
    let words = ["guarantee", "persons", "covid", "access rights", "pandemic"];
    (0..n)
        .map(|_| {
            let mut filter = serde_json::Map::new();
            for _ in 0..1 + rng.below(3) {
                let (k, v) = match rng.below(13) {
                    0 => ("stateUnderReview", json!(rng.some(&sur, 4))),
                    1 => ("recommendingState", json!(rng.some(&made, 4))),
                    2 => ("unRegionalGroup", json!(rng.some(&GROUPS, 2))),
                    3 => ("recommendingRegionalGroup", json!(rng.some(&GROUPS, 2))),
                    4 => ("cycle", json!(rng.some(&cycles, 2))),
                    5 => ("session", json!(rng.some(&sessions, 3))),
                    6 => (
                        "response",
                        json!(rng.some(&["SUPPORTED", "NOTED", "PENDING"], 2)),
                    ),
                    7 => ("actionCategory", json!(rng.some(&[1, 2, 3, 4, 5], 3))),
                    8 => ("theme", json!(rng.some(&themes, 3))),
                    9 => ("group", json!(rng.some(&groups, 3))),
                    10 => ("sdg", json!(rng.some(&(1..=17).collect::<Vec<_>>(), 3))),
                    11 => ("text", json!(words[rng.below(words.len())])),
                    _ => ("linked", json!(rng.chance(50))),
                };
                filter.insert(k.into(), v);
            }
            Value::Object(filter)
        })
        .collect()
}

fn random_measure_filters(f: &Files, n: usize, seed: u64) -> Vec<Value> {
    let mut rng = Rng(seed);
    let countries = distinct(f.measures.iter().map(|m| m.country.clone()));
    let categories = distinct(f.measures.iter().map(|m| m.category.clone()));
    let themes = distinct(f.measures.iter().flat_map(|m| m.themes.clone()));
    let groups = distinct(f.measures.iter().flat_map(|m| m.groups.clone()));
    let dates = distinct(f.measures.iter().map(|m| m.start_date.clone()));
    (0..n)
        .map(|_| {
            let mut filter = serde_json::Map::new();
            for _ in 0..1 + rng.below(3) {
                let date = json!(dates[rng.below(dates.len())]);
                let (k, v) = match rng.below(11) {
                    0 => ("country", json!(rng.some(&countries, 4))),
                    1 => ("unRegionalGroup", json!(rng.some(&GROUPS, 2))),
                    2 => ("category", json!(rng.some(&categories, 3))),
                    3 => ("theme", json!(rng.some(&themes, 3))),
                    4 => ("group", json!(rng.some(&groups, 3))),
                    5 => ("sdg", json!(rng.some(&(1..=17).collect::<Vec<_>>(), 3))),
                    6 => ("activeOn", date),
                    7 => ("startedFrom", date),
                    8 => ("startedTo", date),
                    9 => (
                        "text",
                        json!(["introduced", "force", "support"][rng.below(3)]),
                    ),
                    _ => ("linked", json!(rng.chance(50))),
                };
                filter.insert(k.into(), v);
            }
            Value::Object(filter)
        })
        .collect()
}

#[tokio::test]
async fn recommendation_downloads_hold_the_connections_rows_for_random_filters() {
    let app = tiny_app();
    let f = &app.files;
    let mut filters = vec![json!({})];
    filters.extend(random_recommendation_filters(f, 30, 0xd0_4e1a));
    let mut nonempty = 0;
    for filter in &filters {
        let expected = brute::recommendation_refs(f, filter);
        nonempty += usize::from(check(app, &RECOMMENDATION_LIST, filter, &expected).await > 0);
    }
    assert!(nonempty > 10, "the filters select something ({nonempty})");
}

#[tokio::test]
async fn measure_downloads_hold_the_connections_rows_for_random_filters() {
    let app = tiny_app();
    let f = &app.files;
    let mut filters = vec![json!({})];
    filters.extend(random_measure_filters(f, 30, 0xd0_3ea5));
    let mut nonempty = 0;
    for filter in &filters {
        let expected = brute::measure_refs(f, filter);
        nonempty += usize::from(check(app, &MEASURE_LIST, filter, &expected).await > 0);
    }
    assert!(nonempty > 10, "the filters select something ({nonempty})");
}

#[tokio::test]
async fn good_practice_and_link_downloads_hold_the_connections_rows() {
    let app = tiny_app();
    let f = &app.files;
    let mut rng = Rng(0xd0_9d1c);
    let gp_countries = distinct(f.good_practices.iter().flat_map(|g| g.countries.clone()));
    let gp_themes = distinct(f.good_practices.iter().flat_map(|g| g.themes.clone()));
    let years: Vec<i64> = f.good_practices.iter().filter_map(|g| g.year).collect();
    let mut filters = vec![json!({})];
    for _ in 0..10 {
        filters.push(match rng.below(4) {
            0 => json!({ "country": rng.some(&gp_countries, 3) }),
            1 => json!({ "theme": rng.some(&gp_themes, 2) }),
            2 => json!({ "year": rng.some(&years, 2), "sdg": rng.some(&(1..=17).collect::<Vec<_>>(), 6) }),
            _ => json!({ "text": "support" }),
        });
    }
    for filter in &filters {
        let expected = brute::good_practice_refs(f, filter);
        check(app, &GOOD_PRACTICE_LIST, filter, &expected).await;
    }

    let link_countries = distinct(
        f.links
            .iter()
            .map(|l| f.measure(&l.measure).country.clone()),
    );
    let authors = distinct(f.links.iter().filter_map(|l| l.created_by.clone()));
    let mut filters = vec![json!({})];
    for _ in 0..10 {
        filters.push(match rng.below(4) {
            0 => json!({ "relation": rng.some(&["IMPLEMENTS", "PARTIALLY_IMPLEMENTS", "RELATED", "CONTRADICTS"], 2) }),
            1 => json!({ "status": rng.some(&["CONFIRMED", "SUGGESTED", "REJECTED"], 2) }),
            2 => json!({ "country": rng.some(&link_countries, 3), "status": ["CONFIRMED"] }),
            _ if !authors.is_empty() => json!({ "createdBy": rng.some(&authors, 2) }),
            _ => json!({ "relation": ["RELATED"] }),
        });
    }
    let mut rows = 0;
    for filter in &filters {
        let expected = brute::link_keys(f, filter);
        rows += check(app, &LINK_LIST, filter, &expected).await;
    }
    assert!(rows > 0, "the link filters select something");
}

/// `n` filters of 1 to 3 fields for concerns (`concern`) or actions, every field drawn from
/// the dataset's own values.
fn random_tracker_filters(f: &Files, concern: bool, n: usize, seed: u64) -> Vec<Value> {
    let mut rng = Rng(seed);
    let rows = if concern { &f.concerns } else { &f.actions };
    let countries = distinct(rows.iter().flat_map(|r| r.countries.clone()));
    let kinds = distinct(rows.iter().map(|r| r.kind.clone()));
    let themes = distinct(rows.iter().flat_map(|r| r.themes.clone()));
    let groups = distinct(rows.iter().flat_map(|r| r.groups.clone()));
    let days = distinct(rows.iter().filter_map(|r| {
        if concern {
            r.reported_on.clone()
        } else {
            r.start_date.clone()
        }
    }));
    let (from, to) = if concern {
        ("reportedFrom", "reportedTo")
    } else {
        ("startedFrom", "startedTo")
    };
    let words = ["rights", "covid", "access", "pandemic", "support"];
    (0..n)
        .map(|_| {
            let mut filter = serde_json::Map::new();
            for _ in 0..1 + rng.below(3) {
                let day = json!(days[rng.below(days.len())]);
                let (k, v) = match rng.below(10) {
                    0 => ("country", json!(rng.some(&countries, 4))),
                    1 => ("unRegionalGroup", json!(rng.some(&GROUPS, 2))),
                    2 => ("kind", json!(rng.some(&kinds, 2))),
                    3 if concern => ("severity", json!(rng.some(&["LOW", "MEDIUM", "HIGH"], 2))),
                    3 | 4 => ("theme", json!(rng.some(&themes, 3))),
                    5 => ("group", json!(rng.some(&groups, 3))),
                    6 => ("sdg", json!(rng.some(&(1..=17).collect::<Vec<_>>(), 3))),
                    7 => (from, day),
                    8 => (to, day),
                    _ => ("text", json!(words[rng.below(words.len())])),
                };
                filter.insert(k.into(), v);
            }
            Value::Object(filter)
        })
        .collect()
}

#[tokio::test]
async fn concern_and_action_downloads_hold_the_connections_rows_for_random_filters() {
    let app = tiny_app();
    let f = &app.files;
    assert!(!f.concerns.is_empty() && !f.actions.is_empty());
    for (list, concern, seed) in [
        (&CONCERN_LIST, true, 0xd0_c0c3),
        (&ACTION_LIST, false, 0xd0_ac71),
    ] {
        let mut filters = vec![json!({})];
        filters.extend(random_tracker_filters(f, concern, 30, seed));
        let mut nonempty = 0;
        for filter in &filters {
            let expected = brute::tracker_refs(f, filter, concern);
            nonempty += usize::from(check(app, list, filter, &expected).await > 0);
        }
        assert!(
            nonempty > 10,
            "{}: the filters select something ({nonempty})",
            list.stem
        );
    }
}

#[tokio::test]
async fn concern_and_action_csv_cells_are_the_dataset_values() {
    let app = tiny_app();
    let f = &app.files;
    let table = parse_csv(&fetch(app, "concerns.csv", None).await.body);
    assert_eq!(table.rows.len(), f.concerns.len());
    let mut cited = 0;
    for row in &table.rows {
        let c = f
            .concerns
            .iter()
            .find(|c| c.id == row["ref"])
            .expect("a concern of the files");
        let acting = sorted_joined(
            f.actions
                .iter()
                .filter(|a| a.concerns.contains(&c.id))
                .map(|a| a.id.clone()),
        );
        cited += usize::from(!acting.is_empty());
        assert_row(
            row,
            &[
                ("id", global_id("Concern", &c.id)),
                ("countries", c.countries.join(";")),
                ("title", c.title.clone()),
                ("description", c.description.clone()),
                ("kind", c.kind.clone()),
                ("severity", opt(&c.severity)),
                ("reported_on", opt(&c.reported_on)),
                ("themes", c.themes.join(";")),
                ("groups", c.groups.join(";")),
                ("sdgs", ints(&c.sdgs)),
                ("measures", c.measures.join(";")),
                ("recommendations", c.recommendations.join(";")),
                ("actions", acting),
                ("source", c.source.clone()),
                ("source_url", opt(&c.source_url)),
                ("version", "1".into()),
            ],
        );
    }
    assert!(cited > 0, "some concern is addressed by an action");

    let table = parse_csv(&fetch(app, "actions.csv", None).await.body);
    assert_eq!(table.rows.len(), f.actions.len());
    for row in &table.rows {
        let a = f
            .actions
            .iter()
            .find(|a| a.id == row["ref"])
            .expect("an action of the files");
        assert_row(
            row,
            &[
                ("id", global_id("Action", &a.id)),
                ("countries", a.countries.join(";")),
                ("title", a.title.clone()),
                ("description", a.description.clone()),
                ("kind", a.kind.clone()),
                ("start_date", opt(&a.start_date)),
                ("end_date", opt(&a.end_date)),
                ("outcome", opt(&a.outcome)),
                (
                    "people_reached",
                    a.people_reached.map(|n| n.to_string()).unwrap_or_default(),
                ),
                ("themes", a.themes.join(";")),
                ("groups", a.groups.join(";")),
                ("sdgs", ints(&a.sdgs)),
                ("concerns", a.concerns.join(";")),
                ("measures", a.measures.join(";")),
                ("recommendations", a.recommendations.join(";")),
                ("source", a.source.clone()),
                ("version", "1".into()),
            ],
        );
    }
}

#[tokio::test]
async fn a_single_value_stands_for_a_list_of_one_as_in_graphql() {
    let app = tiny_app();
    let as_list = fetch(
        app,
        "recommendations.jsonl",
        Some(&json!({ "response": ["NOTED"] })),
    )
    .await;
    let single = fetch(
        app,
        "recommendations.jsonl",
        Some(&json!({ "response": "NOTED" })),
    )
    .await;
    assert!(as_list.total() > 0);
    assert_eq!(single.body, as_list.body);
    // And `null` or an empty list filters nothing.
    let all = fetch(app, "recommendations.jsonl", None).await;
    for filter in [json!(null), json!({ "theme": [], "text": null })] {
        let d = fetch(app, "recommendations.jsonl", Some(&filter)).await;
        assert_eq!(d.total(), app.files.recommendations.len());
        assert_eq!(d.body, all.body, "{filter}");
    }
}

// ---------------------------------------------------------------------------------------------
// What the files hold, value by value.

#[tokio::test]
async fn files_are_labelled_as_downloads_of_their_kind() {
    let app = tiny_app();
    for stem in [
        "recommendations",
        "measures",
        "good-practices",
        "links",
        "concerns",
        "actions",
    ] {
        let csv = fetch(app, &format!("{stem}.csv"), None).await;
        assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
        assert_eq!(
            csv.header("content-disposition"),
            format!("attachment; filename=\"{stem}.csv\"")
        );
        assert_eq!(csv.header("x-content-type-options"), "nosniff");
        // A byte-order mark, then the header row, CRLF-terminated like every record.
        let table = parse_csv(&csv.body);
        let header_line = format!("{}\r\n", table.header.join(","));
        assert!(csv.body[BOM.len()..].starts_with(header_line.as_bytes()));
        assert!(csv.body.ends_with(b"\r\n"));
        let text = String::from_utf8(csv.body.clone()).expect("UTF-8");
        let bare_newlines = text.matches('\n').count() - text.matches("\r\n").count();
        let newlines_in_cells: usize = table
            .rows
            .iter()
            .flat_map(|r| r.values())
            .map(|c| c.matches('\n').count() - c.matches("\r\n").count())
            .sum();
        assert_eq!(bare_newlines, newlines_in_cells, "records end with CRLF");
        assert_eq!(table.rows.len(), csv.total());

        let plain = fetch_with(app, &format!("{stem}.csv"), "bom=0").await;
        assert_eq!(
            plain.body,
            csv.body[BOM.len()..],
            "bom=0 leaves the mark out"
        );
        let marked = fetch_with(app, &format!("{stem}.csv"), "bom=1").await;
        assert_eq!(marked.body, csv.body);

        let jsonl = fetch(app, &format!("{stem}.jsonl"), None).await;
        assert_eq!(jsonl.header("content-type"), "application/x-ndjson");
        assert_eq!(
            jsonl.header("content-disposition"),
            format!("attachment; filename=\"{stem}.jsonl\"")
        );
        assert!(!jsonl.body.starts_with(BOM), "JSON Lines have no mark");
        assert_eq!(parse_jsonl(&jsonl.body).len(), jsonl.total());
    }
}

async fn fetch_with(app: &TestApp, file: &str, params: &str) -> Download {
    let d = get(app, &path(file, None, params), None).await;
    assert_eq!(d.status, 200, "{}", String::from_utf8_lossy(&d.body));
    d
}

/// Puts awkward values into a tiny dataset: quotes, commas, semicolons, newlines, non-ASCII,
/// and cells a spreadsheet would run as formulas.
fn awkward_dataset() -> tempfile::TempDir {
    let dir = tiny_dir();
    let texts = [
        "He said \"no\", then left; twice.\nA second line,\r\nand a third: Côte d’Ivoire — 東京 ✓",
        "=HYPERLINK(\"http://example.org/x\",\"click\")",
        "+1 555 0100",
        "-2 degrees",
        "@SUM(A1:A9)",
        "\tindented",
        "a = b, \"c\"",
    ];
    let rewrite = |file: &str, edit: &dyn Fn(usize, &mut serde_json::Map<String, Value>)| {
        let p = dir.path().join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        let mut out = String::new();
        for (i, line) in text.lines().enumerate() {
            let mut v: serde_json::Map<String, Value> = serde_json::from_str(line).unwrap();
            edit(i, &mut v);
            out.push_str(&serde_json::to_string(&v).unwrap());
            out.push('\n');
        }
        std::fs::write(&p, out).unwrap();
    };
    rewrite("recommendations.jsonl", &|i, r| {
        if let Some(t) = texts.get(i) {
            r.insert("text".into(), json!(t));
            r.insert("paragraph".into(), json!("=1+1"));
        }
    });
    rewrite("measures.jsonl", &|i, m| {
        if let Some(t) = texts.get(i) {
            m.insert("title".into(), json!(t));
            m.insert("description".into(), json!(texts[(i + 1) % texts.len()]));
        }
    });
    rewrite("good_practices.jsonl", &|i, g| {
        if let Some(t) = texts.get(i) {
            g.insert("description".into(), json!(t));
        }
    });
    rewrite("links.jsonl", &|i, l| {
        if let Some(t) = texts.get(i) {
            l.insert("note".into(), json!(t));
        }
    });
    dir
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn ints(v: &[i64]) -> String {
    v.iter().map(i64::to_string).collect::<Vec<_>>().join(";")
}

fn sorted_joined(v: impl IntoIterator<Item = String>) -> String {
    sorted(v).join(";")
}

/// Asserts a CSV row, cell by cell, holds `expected` as the server must write it (guarded).
fn assert_row(row: &BTreeMap<String, String>, expected: &[(&str, String)]) {
    for (column, value) in expected {
        assert_eq!(row[*column], guarded(value), "column {column} of {row:?}");
    }
}

#[tokio::test]
async fn csv_cells_read_back_as_the_dataset_values() {
    let dir = awkward_dataset();
    let app = spawn_folder(dir.path()).await;
    let f = &app.files;
    let name_of: BTreeMap<&str, &str> = f
        .countries
        .iter()
        .map(|c| (c.code.as_str(), c.name.as_str()))
        .collect();
    let confirmed: Vec<&LinkRow> = f.links.iter().filter(|l| l.status == "CONFIRMED").collect();

    let table = parse_csv(&fetch(&app, "recommendations.csv", None).await.body);
    assert_eq!(table.rows.len(), f.recommendations.len());
    for row in &table.rows {
        let r = f.recommendation(&row["ref"]);
        assert_row(
            row,
            &[
                ("id", global_id("Recommendation", &r.id)),
                ("text", r.text.clone()),
                ("state_under_review", r.state_under_review.clone()),
                (
                    "state_under_review_name",
                    name_of[r.state_under_review.as_str()].to_owned(),
                ),
                ("recommending_states", r.recommending_states.join(";")),
                ("session", r.session.to_string()),
                ("cycle", f.cycle_of[&r.session].to_string()),
                ("response", r.response.clone()),
                (
                    "action_category",
                    r.action_category.map(|a| a.to_string()).unwrap_or_default(),
                ),
                ("themes", r.themes.join(";")),
                ("groups", r.groups.join(";")),
                ("sdgs", ints(&r.sdgs)),
                ("document", opt(&r.document)),
                ("paragraph", opt(&r.paragraph)),
                ("source_themes", r.source_themes.join(" | ")),
                (
                    "linked_measures",
                    sorted_joined(
                        confirmed
                            .iter()
                            .filter(|l| l.recommendation == r.id)
                            .map(|l| l.measure.clone()),
                    ),
                ),
                (
                    "good_practices",
                    sorted_joined(
                        f.good_practices
                            .iter()
                            .filter(|g| g.recommendations.contains(&r.id))
                            .map(|g| g.id.clone()),
                    ),
                ),
                ("version", "1".into()),
            ],
        );
    }

    let table = parse_csv(&fetch(&app, "measures.csv", None).await.body);
    assert_eq!(table.rows.len(), f.measures.len());
    for row in &table.rows {
        let m = f.measure(&row["ref"]);
        assert_row(
            row,
            &[
                ("id", global_id("Measure", &m.id)),
                ("country", m.country.clone()),
                ("country_name", name_of[m.country.as_str()].to_owned()),
                ("title", m.title.clone()),
                ("description", m.description.clone()),
                ("category", m.category.clone()),
                ("start_date", m.start_date.clone()),
                ("end_date", opt(&m.end_date)),
                ("themes", m.themes.join(";")),
                ("groups", m.groups.join(";")),
                ("sdgs", ints(&m.sdgs)),
                ("source", opt(&m.source)),
                ("source_code", opt(&m.source_code)),
                ("source_url", opt(&m.source_url)),
                (
                    "linked_recommendations",
                    sorted_joined(
                        confirmed
                            .iter()
                            .filter(|l| l.measure == m.id)
                            .map(|l| l.recommendation.clone()),
                    ),
                ),
                (
                    "good_practices",
                    sorted_joined(
                        f.good_practices
                            .iter()
                            .filter(|g| g.measures.contains(&m.id))
                            .map(|g| g.id.clone()),
                    ),
                ),
            ],
        );
    }

    let table = parse_csv(&fetch(&app, "good-practices.csv", None).await.body);
    assert_eq!(table.rows.len(), f.good_practices.len());
    for row in &table.rows {
        let g = f
            .good_practices
            .iter()
            .find(|g| g.id == row["ref"])
            .expect("a good practice of the files");
        assert_row(
            row,
            &[
                ("id", global_id("GoodPractice", &g.id)),
                ("title", g.title.clone()),
                ("description", g.description.clone()),
                ("countries", g.countries.join(";")),
                ("year", g.year.map(|y| y.to_string()).unwrap_or_default()),
                ("themes", g.themes.join(";")),
                ("groups", g.groups.join(";")),
                ("sdgs", ints(&g.sdgs)),
                ("measures", g.measures.join(";")),
                ("recommendations", g.recommendations.join(";")),
                ("source", opt(&g.source)),
            ],
        );
    }

    let table = parse_csv(&fetch(&app, "links.csv", None).await.body);
    assert_eq!(table.rows.len(), f.links.len());
    for row in &table.rows {
        let l = f
            .links
            .iter()
            .find(|l| l.recommendation == row["recommendation"] && l.measure == row["measure"])
            .expect("a link of the files");
        assert_row(
            row,
            &[
                (
                    "id",
                    global_id("Link", &format!("{}\t{}", l.recommendation, l.measure)),
                ),
                ("relation", l.relation.clone()),
                ("status", l.status.clone()),
                ("note", opt(&l.note)),
                ("evidence_url", opt(&l.evidence_url)),
                ("created_by", opt(&l.created_by)),
                (
                    "state_under_review",
                    f.recommendation(&l.recommendation)
                        .state_under_review
                        .clone(),
                ),
                ("measure_country", f.measure(&l.measure).country.clone()),
            ],
        );
    }
}

#[tokio::test]
async fn cells_that_a_spreadsheet_would_run_are_prefixed_with_a_quote() {
    let dir = awkward_dataset();
    let app = spawn_folder(dir.path()).await;
    let csv = fetch(&app, "recommendations.csv", None).await;
    let texts = parse_csv(&csv.body).column("text");
    for (raw, shown) in [
        (
            "=HYPERLINK(\"http://example.org/x\",\"click\")",
            "'=HYPERLINK(\"http://example.org/x\",\"click\")",
        ),
        ("+1 555 0100", "'+1 555 0100"),
        ("-2 degrees", "'-2 degrees"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\tindented", "'\tindented"),
    ] {
        assert!(
            texts.iter().any(|t| t == shown),
            "{raw:?} is shown as {shown:?}"
        );
        assert!(!texts.iter().any(|t| t == raw), "{raw:?} is never bare");
    }
    // Only a first character counts, and JSON Lines keep every value as it is.
    assert!(texts.iter().any(|t| t == "a = b, \"c\""));
    let jsonl = parse_jsonl(&fetch(&app, "recommendations.jsonl", None).await.body);
    let raw: Vec<&str> = jsonl.iter().map(|r| r["text"].as_str().unwrap()).collect();
    assert!(raw.contains(&"=HYPERLINK(\"http://example.org/x\",\"click\")"));
    assert!(raw
        .iter()
        .any(|t| t.contains("Côte d’Ivoire — 東京 ✓\n") || t.ends_with("東京 ✓")));
}

#[tokio::test]
async fn json_lines_rows_are_the_lines_export_writes() {
    let app = spawn_app(Dataset::Tiny).await;
    let out = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    recover_better::dataset::export::export(app.live.store(), out.path()).expect("export");
    let f = &app.files;
    let noted = json!({ "response": ["NOTED"] });
    let noted_refs: BTreeSet<String> = brute::recommendation_refs(f, &noted).into_iter().collect();
    for (stem, file) in [
        ("recommendations", "recommendations.jsonl"),
        ("measures", "measures.jsonl"),
        ("good-practices", "good_practices.jsonl"),
        ("links", "links.jsonl"),
        ("concerns", "concerns.jsonl"),
        ("actions", "actions.jsonl"),
    ] {
        let exported = std::fs::read(out.path().join(file)).expect("an exported file");
        let d = fetch(&app, &format!("{stem}.jsonl"), None).await;
        assert!(!exported.is_empty());
        assert_eq!(
            String::from_utf8_lossy(&d.body),
            String::from_utf8_lossy(&exported),
            "{stem}.jsonl is {file} as exported"
        );
    }
    // A filtered download is the subset of the exported lines, in the same order.
    let exported = std::fs::read_to_string(out.path().join("recommendations.jsonl")).unwrap();
    let subset: String = exported
        .lines()
        .filter(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            noted_refs.contains(v["id"].as_str().unwrap())
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let d = fetch(&app, "recommendations.jsonl", Some(&noted)).await;
    assert!(!subset.is_empty());
    assert_eq!(String::from_utf8_lossy(&d.body), subset);
}

// ---------------------------------------------------------------------------------------------
// Errors.

/// Asserts a 400 whose body is `{"errors":[…BAD_USER_INPUT naming argument…]}`.
fn assert_bad_request(d: &Download, argument: &str) {
    assert_eq!(d.status, 400, "{}", String::from_utf8_lossy(&d.body));
    assert!(d.header("content-type").starts_with("application/json"));
    let body = d.json();
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{body}");
    let e = &errors[0];
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(e["extensions"]["argument"], argument, "{body}");
    let message = e["message"].as_str().expect("a message");
    assert!(
        message.starts_with(&format!("{argument}: ")) && message.len() > argument.len() + 4,
        "the message names {argument}: {message}"
    );
}

#[tokio::test]
async fn a_bad_filter_is_a_400_naming_the_field() {
    let app = tiny_app();
    for (file, filter, argument) in [
        (
            "recommendations.csv",
            json!({ "response": ["MAYBE"] }),
            "filter.response",
        ),
        (
            "recommendations.jsonl",
            json!({ "stateUnderReview": ["XXX"] }),
            "filter.stateUnderReview",
        ),
        (
            "recommendations.csv",
            json!({ "stateUnderReview": ["not a code"] }),
            "filter.stateUnderReview",
        ),
        (
            "recommendations.csv",
            json!({ "cycle": ["three"] }),
            "filter.cycle",
        ),
        (
            "recommendations.csv",
            json!({ "cycle": [0] }),
            "filter.cycle",
        ),
        (
            "recommendations.csv",
            json!({ "theme": ["no-such-theme"] }),
            "filter.theme",
        ),
        (
            "recommendations.csv",
            json!({ "text": "the" }),
            "filter.text",
        ),
        (
            "recommendations.csv",
            json!({ "colour": ["red"] }),
            "filter.colour",
        ),
        ("recommendations.csv", json!(["NOTED"]), "filter"),
        (
            "measures.csv",
            json!({ "activeOn": "2020-02-30" }),
            "filter.activeOn",
        ),
        (
            "measures.jsonl",
            json!({ "startedFrom": "2021-01-01", "startedTo": "2020-01-01" }),
            "filter.startedTo",
        ),
        (
            "measures.csv",
            json!({ "category": ["HEALTH", 3] }),
            "filter.category",
        ),
        (
            "good-practices.csv",
            json!({ "year": ["last"] }),
            "filter.year",
        ),
        ("links.csv", json!({ "status": ["MAYBE"] }), "filter.status"),
        (
            "links.jsonl",
            json!({ "country": ["ZZZ"] }),
            "filter.country",
        ),
        (
            "concerns.csv",
            json!({ "severity": ["GRAVE"] }),
            "filter.severity",
        ),
        (
            "concerns.jsonl",
            json!({ "reportedFrom": "2020-13-01" }),
            "filter.reportedFrom",
        ),
        (
            "concerns.csv",
            json!({ "unRegionalGroup": ["EUROPE"] }),
            "filter.unRegionalGroup",
        ),
        (
            "actions.csv",
            json!({ "kind": ["LOBBYING"] }),
            "filter.kind",
        ),
        (
            "actions.jsonl",
            json!({ "startedFrom": "2021-01-01", "startedTo": "2020-01-01" }),
            "filter.startedTo",
        ),
        (
            "actions.csv",
            json!({ "theme": ["no-such-theme"] }),
            "filter.theme",
        ),
        (
            "actions.csv",
            json!({ "severity": ["HIGH"] }),
            "filter.severity",
        ),
    ] {
        let d = get(app, &path(file, Some(&filter), ""), None).await;
        assert_bad_request(&d, argument);
    }
    // Text that is not JSON at all.
    let d = get(
        app,
        &format!("/export/measures.csv?filter={}", encode("{\"country\":")),
        None,
    )
    .await;
    assert_bad_request(&d, "filter");
    // The parameters themselves.
    for (params, argument) in [
        ("bom=2", "bom"),
        ("filtre=%7B%7D", "filtre"),
        ("filter=%7B%7D&filter=%7B%7D", "filter"),
    ] {
        let d = get(app, &format!("/export/links.csv?{params}"), None).await;
        assert_bad_request(&d, argument);
    }
    let d = get(app, "/export/links.jsonl?bom=1", None).await;
    assert_bad_request(&d, "bom");
}

#[tokio::test]
async fn a_bad_filter_gets_the_message_the_connection_gives() {
    // Where the filter's own checks find the fault, both routes share the words.
    let app = tiny_app();
    for filter in [
        json!({ "stateUnderReview": ["XXX"] }),
        json!({ "theme": ["no-such-theme"] }),
        json!({ "text": "the" }),
    ] {
        let d = get(app, &path("recommendations.csv", Some(&filter), ""), None).await;
        let errors = app
            .errors(
                "query($f: RecommendationFilter) { recommendations(filter: $f) { totalCount } }",
                json!({ "f": filter }),
            )
            .await;
        let body = d.json();
        assert_eq!(
            body["errors"][0]["message"], errors[0]["message"],
            "{filter}"
        );
        assert_eq!(
            body["errors"][0]["extensions"], errors[0]["extensions"],
            "{filter}"
        );
    }
}

#[tokio::test]
async fn an_unknown_file_is_a_404() {
    let app = tiny_app();
    for file in [
        "countries.csv",
        "recommendations.xlsx",
        "good_practices.csv",
        "recommendations",
        "links.CSV",
    ] {
        let d = get(app, &format!("/export/{file}"), None).await;
        assert_eq!(d.status, 404, "{file}");
        let body = d.json();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{body}"
        );
        assert!(body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("recommendations.csv")));
    }
    assert_eq!(get(app, "/export/links.csv/more", None).await.status, 404);
}

#[tokio::test]
async fn downloads_need_a_token_where_queries_do() {
    let (store, _dir, files) = open_and_import(Dataset::Tiny);
    let reader = store.create_token("reader", Role::Reader).expect("a token");
    let closed = TestApp::new(
        serve(
            store,
            Limits::default(),
            HttpOptions {
                require_token: true,
                ..HttpOptions::default()
            },
        )
        .await,
        files,
    );
    for file in ["recommendations.csv", "links.jsonl", "countries.csv"] {
        for token in [None, Some("rb_not-a-real-token")] {
            let d = get(&closed, &format!("/export/{file}"), token).await;
            assert_eq!(d.status, 401, "{file} with {token:?}");
            assert_eq!(d.header("www-authenticate"), "Bearer");
            assert_eq!(
                d.json()["errors"][0]["extensions"]["code"],
                "UNAUTHENTICATED"
            );
        }
    }
    let d = get(&closed, "/export/recommendations.csv", Some(&reader)).await;
    assert_eq!(d.status, 200);
    assert_eq!(
        parse_csv(&d.body).rows.len(),
        closed.files.recommendations.len()
    );

    // An open server serves anyone, but still refuses a token that is not valid.
    let open = tiny_app();
    assert_eq!(get(open, "/export/links.csv", None).await.status, 200);
    assert_eq!(
        get(open, "/export/links.csv", Some("rb_not-a-real-token"))
            .await
            .status,
        401
    );
}
