//! The harness: servers over real HTTP, a GraphQL client, connection walkers, and the dataset
//! files parsed independently of the library (the brute-force side of every comparison).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use serde_json::{json, Value};

use recover_better::catalog::Catalog;
use recover_better::dataset::embedded::DefaultDataset;
use recover_better::dataset::generate::{generate, GenerateOptions, Preset};
use recover_better::dataset::import::{import, ImportOptions};
use recover_better::dataset::{Folder, Source};
use recover_better::graphql::Limits;
use recover_better::live::Live;
use recover_better::server::{App, HttpOptions};
use recover_better::store::Store;

/// The seed of the tiny dataset every tiny server is built from.
pub const TINY_SEED: u64 = 7;

/// Which dataset a server is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    /// The embedded default dataset (brute force reads `data/default/`).
    Default,
    /// `generate --preset tiny --scale 1 --seed 7` into a temporary folder.
    Tiny,
}

/// A running server and the dataset files it was built from.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The dataset files, parsed by the tests (not by the library).
    pub files: Arc<Files>,
    /// The store the server writes to.
    pub live: Arc<Live>,
    /// The store's folder, when kept (per-test servers).
    dir: Option<tempfile::TempDir>,
}

/// Builds a server for `dataset` on the current runtime: store in a tempdir, import, catalog,
/// schema, `server::app`, `server::run` on 127.0.0.1:0. The store stays open as long as the
/// `TestApp` lives.
pub async fn spawn_app(dataset: Dataset) -> TestApp {
    spawn_app_with(dataset, true, Limits::default()).await
}

/// As [`spawn_app`], with the schema's limits given and, with `keep_store` false, the
/// store's folder removed once it is open (for read-only servers: nothing is left on disk).
pub async fn spawn_app_with(dataset: Dataset, keep_store: bool, limits: Limits) -> TestApp {
    let (store, dir, files) = open_and_import(dataset);
    let dir = keep_store.then_some(dir);
    let (address, live) = serve(store, limits, HttpOptions::default()).await;
    TestApp {
        address,
        files,
        live,
        dir,
    }
}

/// A server over a dataset folder the test wrote (the store stays open while it lives).
pub async fn spawn_folder(dir: &Path) -> TestApp {
    let store_dir = tempfile::Builder::new()
        .prefix("api-test-store-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("tempdir");
    let store = open_store(store_dir.path());
    import(&store, &Folder(dir.to_owned()), ImportOptions::default()).expect("the dataset imports");
    let (address, live) = serve(store, Limits::default(), HttpOptions::default()).await;
    TestApp {
        address,
        files: Arc::new(Files::read(dir)),
        live,
        dir: Some(store_dir),
    }
}

/// A new store in a tempdir with `dataset` imported, and the dataset's files parsed.
pub fn open_and_import(dataset: Dataset) -> (Store, tempfile::TempDir, Arc<Files>) {
    let dir = tempfile::Builder::new()
        .prefix("api-test-store-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("tempdir");
    let store = open_store(dir.path());
    let files = match dataset {
        Dataset::Default => {
            // Parse the files on another thread while the store imports.
            let files = std::thread::spawn(default_files);
            import(&store, &DefaultDataset, ImportOptions::default())
                .expect("default dataset imports");
            files.join().expect("the default files parse")
        }
        Dataset::Tiny => {
            let data = tiny_dir();
            let source = Folder(data.path().to_owned());
            assert!(source.read("recommendations.jsonl").unwrap().is_some());
            import(&store, &source, ImportOptions::default()).expect("tiny dataset imports");
            Arc::new(Files::read(data.path()))
        }
    };
    (store, dir, files)
}

/// A freshly generated tiny dataset (deterministic for [`TINY_SEED`]).
pub fn tiny_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("api-test-tiny-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("tempdir");
    generate(
        &GenerateOptions {
            preset: Preset::Tiny,
            scale: 1.0,
            seed: TINY_SEED,
        },
        dir.path(),
    )
    .expect("tiny dataset generates");
    dir
}

/// A new store for a test server: a sled folder in `dir`, or, with
/// `RECOVER_BETTER_TEST_STORE=etcd://…`, a store of its own under a new prefix of that etcd
/// (`Store::temporary`), so the whole suite runs against either engine.
fn open_store(dir: &Path) -> Store {
    if std::env::var_os("RECOVER_BETTER_TEST_STORE").is_some() {
        let store = Store::temporary().expect("the test store opens");
        assert!(
            store.is_replicated(),
            "RECOVER_BETTER_TEST_STORE names a store this build cannot open (build with --features etcd)"
        );
        return store;
    }
    Store::open(&dir.join("store")).expect("store opens")
}

/// Serves a schema over `store` on an ephemeral port of the current runtime.
///
/// On a replicated store, `RECOVER_BETTER_TEST_SERVER=second` serves from a second
/// connection to it instead of the one that wrote the data: "server B", which loads its
/// snapshot from etcd and follows it, as a second API server does (`.ci/run` runs this suite
/// once with each).
pub async fn serve(store: Store, limits: Limits, options: HttpOptions) -> (String, Arc<Live>) {
    let second = std::env::var("RECOVER_BETTER_TEST_SERVER").is_ok_and(|v| v == "second");
    let store = match second && store.is_replicated() {
        true => {
            let location = store.path().display().to_string();
            drop(store);
            Store::open_location(&location).expect("a second connection to the store")
        }
        false => store,
    };
    // The catalog is loaded by the builder: on a replicated store through a view pinned at
    // the revision the server then follows from.
    let app = App::builder(Arc::new(store))
        .limits(limits)
        .http(options)
        .build()
        .expect("the app builds");
    listen(app).await
}

/// Serves `catalog` (which need not come from `store`: queries read only the catalog).
pub async fn serve_catalog(
    store: Store,
    catalog: Catalog,
    limits: Limits,
    options: HttpOptions,
) -> (String, Arc<Live>) {
    let app = App::builder(Arc::new(store))
        .catalog(catalog)
        .limits(limits)
        .http(options)
        .build()
        .expect("the app builds");
    listen(app).await
}

/// Serves `app` on an ephemeral port of the current runtime.
async fn listen(app: App) -> (String, Arc<Live>) {
    let live = app.live.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(app.serve(listener, std::future::pending()));
    (address, live)
}

/// A server that outlives the test that first asks for it: started on a thread of its own,
/// which runs its own multi-thread runtime forever. Its store is closed once the catalog is
/// built, so nothing is left on disk.
fn shared(dataset: Dataset) -> TestApp {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(format!("shared-{dataset:?}-server"))
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let app = spawn_app_with(dataset, false, Limits::default()).await;
                tx.send(app).expect("send the app");
                std::future::pending::<()>().await;
            });
        })
        .expect("spawn the server thread");
    rx.recv().expect("the shared server starts")
}

/// The shared server over the embedded default dataset.
pub fn default_app() -> &'static TestApp {
    static APP: OnceLock<TestApp> = OnceLock::new();
    APP.get_or_init(|| shared(Dataset::Default))
}

/// The shared server over the tiny generated dataset.
pub fn tiny_app() -> &'static TestApp {
    static APP: OnceLock<TestApp> = OnceLock::new();
    APP.get_or_init(|| shared(Dataset::Tiny))
}

/// The default dataset's files, parsed once.
pub fn default_files() -> Arc<Files> {
    static FILES: OnceLock<Arc<Files>> = OnceLock::new();
    FILES
        .get_or_init(|| Arc::new(Files::read(&default_dir())))
        .clone()
}

pub fn default_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data/default"))
}

impl TestApp {
    /// A server already started at `address`, built from `files`.
    pub fn new((address, live): (String, Arc<Live>), files: Arc<Files>) -> TestApp {
        TestApp {
            address,
            files,
            live,
            dir: None,
        }
    }

    /// POSTs a query to `/graphql` and returns the whole response (`data` and `errors`).
    pub async fn query(&self, q: &str, variables: Value) -> Value {
        let response = client()
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": q, "variables": variables }))
            .send()
            .await
            .expect("the request is sent");
        let status = response.status();
        let text = response.text().await.expect("a body");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({status}): {e}: {text}"))
    }

    /// The `data` of a query that must succeed without errors.
    pub async fn data(&self, q: &str, variables: Value) -> Value {
        let r = self.query(q, variables.clone()).await;
        assert!(
            r.get("errors")
                .is_none_or(|e| e.as_array().is_some_and(|a| a.is_empty())),
            "unexpected errors for {q}\nvariables {variables}\n{}",
            pretty(&r["errors"])
        );
        r["data"].clone()
    }

    /// The errors of a query that must fail.
    pub async fn errors(&self, q: &str, variables: Value) -> Vec<Value> {
        let r = self.query(q, variables).await;
        let errors = r["errors"].as_array().cloned().unwrap_or_default();
        assert!(
            !errors.is_empty(),
            "expected errors for {q}, got {}",
            pretty(&r)
        );
        errors
    }

    /// A GET of `path` (starting with `/`).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        client()
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("the request is sent")
    }
}

/// A client per call: each test has its own runtime, and a pooled connection must not
/// outlive the runtime that opened it.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Asserts the error is BAD_USER_INPUT naming `argument`.
pub fn assert_bad_input(errors: &[Value], argument: &str) {
    assert!(
        errors
            .iter()
            .any(|e| e["extensions"]["code"] == "BAD_USER_INPUT"
                && e["extensions"]["argument"] == argument),
        "expected BAD_USER_INPUT for {argument}, got {}",
        pretty(&Value::Array(errors.to_vec()))
    );
}

// ---------------------------------------------------------------------------------------------
// Walking connections.

/// Which way to page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `first`/`after`.
    Forward,
    /// `last`/`before`.
    Backward,
}

/// Everything a walk saw.
#[derive(Debug)]
pub struct Walk {
    /// Every node, in list order (for a backward walk, pages are put back in order).
    pub nodes: Vec<Value>,
    pub total_count: u64,
    /// The size of each page, in the order fetched.
    pub pages: Vec<usize>,
    /// The first page's whole connection object (for facets and so on).
    pub first_page: Value,
}

/// The selection a walked connection must have (plus whatever `node` selection is given).
pub fn connection_selection(node: &str) -> String {
    format!("totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} edges {{ cursor node {{ {node} }} }}")
}

/// Walks the connection at `path` (keys into `data`) through all its pages. The query must
/// declare `$first: Int, $after: String, $last: Int, $before: String`, pass them to the
/// connection, and select [`connection_selection`]. Checks, page by page, that the page
/// sizes, cursors and `pageInfo` agree with one another.
pub async fn walk(
    app: &TestApp,
    q: &str,
    variables: Value,
    path: &[&str],
    size: usize,
    dir: Direction,
) -> Walk {
    let mut pages: Vec<Vec<Value>> = vec![];
    let mut sizes = vec![];
    let mut cursor: Option<String> = None;
    let mut total = None;
    let mut first_page = Value::Null;
    loop {
        let mut vars = variables.clone();
        let obj = vars.as_object_mut().expect("variables are an object");
        match dir {
            Direction::Forward => {
                obj.insert("first".into(), json!(size));
                obj.insert("after".into(), json!(cursor));
            }
            Direction::Backward => {
                obj.insert("last".into(), json!(size));
                obj.insert("before".into(), json!(cursor));
            }
        }
        let data = app.data(q, vars).await;
        let mut conn = &data;
        for p in path {
            conn = &conn[*p];
        }
        assert!(
            conn.is_object(),
            "no connection at {path:?} in {}",
            pretty(&data)
        );
        if first_page.is_null() {
            first_page = conn.clone();
        }
        let t = conn["totalCount"].as_u64().expect("totalCount");
        assert_eq!(
            *total.get_or_insert(t),
            t,
            "totalCount changes between pages"
        );
        let edges = conn["edges"].as_array().expect("edges").clone();
        let info = &conn["pageInfo"];
        assert!(
            edges.len() <= size,
            "page of {} for a size of {size}",
            edges.len()
        );
        let cursors: Vec<&str> = edges
            .iter()
            .map(|e| e["cursor"].as_str().expect("a cursor"))
            .collect();
        assert_eq!(
            info["startCursor"].as_str(),
            cursors.first().copied(),
            "startCursor is the first edge's"
        );
        assert_eq!(
            info["endCursor"].as_str(),
            cursors.last().copied(),
            "endCursor is the last edge's"
        );
        let first_fetch = pages.is_empty();
        let (more, earlier) = match dir {
            Direction::Forward => (
                info["hasNextPage"].as_bool().unwrap(),
                info["hasPreviousPage"].as_bool().unwrap(),
            ),
            Direction::Backward => (
                info["hasPreviousPage"].as_bool().unwrap(),
                info["hasNextPage"].as_bool().unwrap(),
            ),
        };
        // Walking on from a cursor: the side already walked is not empty.
        assert_eq!(
            earlier,
            !first_fetch && t > 0,
            "the side already walked is reported (page {})",
            pages.len()
        );
        if more {
            assert_eq!(edges.len(), size, "a page that is not the last is full");
        }
        sizes.push(edges.len());
        cursor = match dir {
            Direction::Forward => info["endCursor"].as_str().map(str::to_owned),
            Direction::Backward => info["startCursor"].as_str().map(str::to_owned),
        };
        pages.push(edges.into_iter().map(|e| e["node"].clone()).collect());
        if !more {
            break;
        }
        assert!(pages.len() < 10_000, "the walk does not end");
    }
    if dir == Direction::Backward {
        pages.reverse();
    }
    let nodes: Vec<Value> = pages.into_iter().flatten().collect();
    let total_count = total.unwrap_or(0);
    assert_eq!(
        nodes.len() as u64,
        total_count,
        "all pages together hold totalCount nodes"
    );
    Walk {
        nodes,
        total_count,
        pages: sizes,
        first_page,
    }
}

/// The natural key of a node: `ref`, `code`, `number`, `slug` or, for a link, its two refs.
pub fn key(node: &Value) -> String {
    if let Some(r) = node.get("ref").and_then(Value::as_str) {
        return r.to_owned();
    }
    if let Some(r) = node.get("code").and_then(Value::as_str) {
        return r.to_owned();
    }
    if let Some(n) = node.get("number").and_then(Value::as_i64) {
        return n.to_string();
    }
    if let Some(s) = node.get("slug").and_then(Value::as_str) {
        return s.to_owned();
    }
    if let (Some(r), Some(m)) = (
        node.pointer("/recommendation/ref").and_then(Value::as_str),
        node.pointer("/measure/ref").and_then(Value::as_str),
    ) {
        return format!("{r}\t{m}");
    }
    panic!("no key in {node}")
}

pub fn keys(nodes: &[Value]) -> Vec<String> {
    nodes.iter().map(key).collect()
}

/// Strings of a JSON array (of strings, or of objects with a key).
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| match x.as_str() {
            Some(s) => s.to_owned(),
            None => key(x),
        })
        .collect()
}

/// The root connections, as (root field, filter type, node selection).
pub const RECOMMENDATIONS: (&str, &str, &str) = ("recommendations", "RecommendationFilter", "ref");
pub const MEASURES: (&str, &str, &str) = ("measures", "MeasureFilter", "ref");
pub const GOOD_PRACTICES: (&str, &str, &str) = ("goodPractices", "GoodPracticeFilter", "ref");
pub const LINKS: (&str, &str, &str) = (
    "links",
    "LinkFilter",
    "recommendation { ref } measure { ref }",
);
pub const COUNTRIES: (&str, &str, &str) = ("countries", "CountryFilter", "code");

/// The query that walks a root connection with a filter.
pub fn root_walk_query((field, filter_type, node): (&str, &str, &str)) -> String {
    format!(
        "query($filter: {filter_type}, $first: Int, $after: String, $last: Int, $before: String) {{
            c: {field}(filter: $filter, first: $first, after: $after, last: $last, before: $before) {{ {} }}
        }}",
        connection_selection(node)
    )
}

/// The keys of a root connection under `filter`, walked forward with pages of 500.
pub async fn filtered_keys(app: &TestApp, conn: (&str, &str, &str), filter: &Value) -> Vec<String> {
    let w = walk(
        app,
        &root_walk_query(conn),
        json!({ "filter": filter }),
        &["c"],
        500,
        Direction::Forward,
    )
    .await;
    keys(&w.nodes)
}

// ---------------------------------------------------------------------------------------------
// The dataset files, parsed here.

#[derive(Debug, Clone, Deserialize)]
pub struct CountryRow {
    pub code: String,
    pub iso2: Option<String>,
    pub name: String,
    pub region: Option<String>,
    pub subregion: Option<String>,
    pub un_regional_group: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CycleRow {
    pub number: i64,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SessionRow {
    pub number: i64,
    pub cycle: i64,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub states_under_review: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RecommendationRow {
    pub id: String,
    pub text: String,
    pub state_under_review: String,
    pub recommending_states: Vec<String>,
    pub session: i64,
    pub response: String,
    pub action_category: Option<i64>,
    #[serde(default)]
    pub themes: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub sdgs: Vec<i64>,
    pub document: Option<String>,
    pub paragraph: Option<String>,
    #[serde(default)]
    pub source_themes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MeasureRow {
    pub id: String,
    pub country: String,
    pub title: String,
    pub description: String,
    pub category: String,
    pub start_date: String,
    pub end_date: Option<String>,
    #[serde(default)]
    pub themes: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub sdgs: Vec<i64>,
    pub source: Option<String>,
    pub source_code: Option<String>,
    pub source_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GoodPracticeRow {
    pub id: String,
    pub title: String,
    pub description: String,
    pub countries: Vec<String>,
    pub year: Option<i64>,
    #[serde(default)]
    pub themes: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub sdgs: Vec<i64>,
    #[serde(default)]
    pub measures: Vec<String>,
    #[serde(default)]
    pub recommendations: Vec<String>,
    pub source: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LinkRow {
    pub recommendation: String,
    pub measure: String,
    pub relation: String,
    #[serde(default = "confirmed")]
    pub status: String,
    pub note: Option<String>,
    pub evidence_url: Option<String>,
    pub created_by: Option<String>,
    pub created_at: Option<String>,
}

fn confirmed() -> String {
    "CONFIRMED".into()
}

#[derive(Debug, Clone, Deserialize)]
pub struct ThemeRow {
    pub slug: String,
    pub name: String,
    pub source: Option<String>,
    #[serde(default)]
    pub sdgs: Vec<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GroupRow {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SdgRow {
    pub goal: i64,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CategoryRow {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub themes: Vec<String>,
    #[serde(default)]
    pub oxcgrt: Vec<String>,
}

/// A dataset folder as the tests read it.
#[derive(Debug, Clone)]
pub struct Files {
    pub countries: Vec<CountryRow>,
    pub cycles: Vec<CycleRow>,
    pub sessions: Vec<SessionRow>,
    pub recommendations: Vec<RecommendationRow>,
    pub measures: Vec<MeasureRow>,
    pub good_practices: Vec<GoodPracticeRow>,
    pub links: Vec<LinkRow>,
    pub themes: Vec<ThemeRow>,
    pub groups: Vec<GroupRow>,
    pub sdgs: Vec<SdgRow>,
    pub measure_categories: Vec<CategoryRow>,
    /// The optional files of the COVID-19 Tracker (empty where the dataset lacks them).
    pub concerns: Vec<TrackerRow>,
    pub actions: Vec<TrackerRow>,
    /// Derived: country code → UN regional group.
    pub group_of: HashMap<String, Option<String>>,
    /// Derived: session number → cycle number.
    pub cycle_of: HashMap<i64, i64>,
    /// Derived: recommendation and measure refs with a CONFIRMED link.
    pub linked_recommendations: BTreeSet<String>,
    pub linked_measures: BTreeSet<String>,
}

/// The searchable text of a concern or an action.
#[derive(Debug, Clone, Deserialize)]
pub struct TrackerRow {
    pub id: String,
    pub title: String,
    pub description: String,
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub countries: Vec<String>,
    #[serde(default)]
    pub themes: Vec<String>,
    /// A concern's day.
    #[serde(default)]
    pub reported_on: Option<String>,
    /// An action's first day.
    #[serde(default)]
    pub start_date: Option<String>,
    /// A concern's or an action's kind; a concern's severity.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub sdgs: Vec<i64>,
    /// An action's last day and the people it reached.
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub people_reached: Option<u64>,
    /// What the record cites, by ref (an action's `concerns` too).
    #[serde(default)]
    pub measures: Vec<String>,
    #[serde(default)]
    pub recommendations: Vec<String>,
    #[serde(default)]
    pub concerns: Vec<String>,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub source_url: Option<String>,
}

impl TrackerRow {
    /// The text the API indexes: title, description and (for actions) outcome.
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}",
            self.title,
            self.description,
            self.outcome.as_deref().unwrap_or("")
        )
    }
}

/// The records of a file the dataset may lack.
fn optional_lines<T: for<'de> Deserialize<'de>>(dir: &Path, name: &str) -> Vec<T> {
    if dir.join(name).exists() {
        lines(dir, name)
    } else {
        vec![]
    }
}

fn lines<T: for<'de> Deserialize<'de>>(dir: &Path, name: &str) -> Vec<T> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1)))
        .collect()
}

impl Files {
    pub fn read(dir: &Path) -> Files {
        let countries: Vec<CountryRow> = lines(dir, "countries.jsonl");
        let sessions: Vec<SessionRow> = lines(dir, "sessions.jsonl");
        let links: Vec<LinkRow> = lines(dir, "links.jsonl");
        let confirmed = links.iter().filter(|l| l.status == "CONFIRMED");
        Files {
            group_of: countries
                .iter()
                .map(|c| (c.code.clone(), c.un_regional_group.clone()))
                .collect(),
            cycle_of: sessions.iter().map(|s| (s.number, s.cycle)).collect(),
            linked_recommendations: confirmed
                .clone()
                .map(|l| l.recommendation.clone())
                .collect(),
            linked_measures: confirmed.map(|l| l.measure.clone()).collect(),
            countries,
            cycles: lines(dir, "cycles.jsonl"),
            sessions,
            recommendations: lines(dir, "recommendations.jsonl"),
            measures: lines(dir, "measures.jsonl"),
            good_practices: lines(dir, "good_practices.jsonl"),
            links,
            themes: lines(dir, "taxonomy/themes.jsonl"),
            groups: lines(dir, "taxonomy/groups.jsonl"),
            sdgs: lines(dir, "taxonomy/sdgs.jsonl"),
            measure_categories: lines(dir, "taxonomy/measure_categories.jsonl"),
            concerns: optional_lines(dir, "concerns.jsonl"),
            actions: optional_lines(dir, "actions.jsonl"),
        }
    }

    pub fn recommendation(&self, r: &str) -> &RecommendationRow {
        self.recommendations
            .iter()
            .find(|x| x.id == r)
            .unwrap_or_else(|| panic!("no recommendation {r}"))
    }

    pub fn measure(&self, r: &str) -> &MeasureRow {
        self.measures
            .iter()
            .find(|x| x.id == r)
            .unwrap_or_else(|| panic!("no measure {r}"))
    }
}

/// Sorted, as the API's default order (byte order of the key).
pub fn sorted<I: IntoIterator<Item = String>>(it: I) -> Vec<String> {
    let mut v: Vec<String> = it.into_iter().collect();
    v.sort();
    v
}

/// Counts values into a map, for facets.
pub fn count<I: IntoIterator<Item = String>>(it: I) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for v in it {
        *m.entry(v).or_default() += 1;
    }
    m
}

/// A facet list (`[{value, count}]`) as a map; asserts no count is zero and no value repeats.
pub fn facet_map(v: &Value) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for f in v
        .as_array()
        .unwrap_or_else(|| panic!("facet is not a list: {v}"))
    {
        let count = f["count"].as_u64().unwrap();
        assert!(count > 0, "a facet value with count 0 is listed: {f}");
        let value = f["value"].as_str().unwrap().to_owned();
        assert!(
            m.insert(value, count).is_none(),
            "facet value repeated in {v}"
        );
    }
    m
}

// ---------------------------------------------------------------------------------------------
// Text: the brute-force side of the full-text filters and search.

/// Lower-cased runs of letters and digits, each reduced to its English (Porter2) stem.
pub fn stems(text: &str) -> BTreeSet<String> {
    let stemmer = rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English);
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| stemmer.stem(&w.to_lowercase()).into_owned())
        .collect()
}

/// The stop words the API leaves out of a query (the list of `catalog::text`, copied so the
/// brute force does not borrow the code it checks).
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "into",
    "is", "it", "its", "of", "on", "or", "such", "that", "the", "their", "there", "these", "they",
    "this", "to", "was", "were", "which", "will", "with",
];

/// Whether every word of `query` that is not a stop word matches `text` after stemming.
pub fn text_matches(text: &str, query: &str) -> bool {
    let have = stems(text);
    let words: String = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !STOP_WORDS.contains(&w.to_lowercase().as_str()))
        .collect::<Vec<_>>()
        .join(" ");
    stems(&words).iter().all(|s| have.contains(s))
}

/// Whether every word of `query` appears in `text` as a whole lower-cased word.
pub fn whole_words(text: &str, query: &str) -> bool {
    let words: BTreeSet<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .collect();
    query
        .split_whitespace()
        .all(|w| words.contains(&w.to_lowercase()))
}

/// The measure's and good practice's searchable text.
pub fn measure_text(m: &MeasureRow) -> String {
    format!("{}\n{}", m.title, m.description)
}

pub fn good_practice_text(g: &GoodPracticeRow) -> String {
    format!("{}\n{}", g.title, g.description)
}

/// A tiny deterministic random source (xorshift), for generated filters.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    /// 1 to `max` distinct items of `from`.
    pub fn some<T: Clone + PartialEq>(&mut self, from: &[T], max: usize) -> Vec<T> {
        let n = 1 + self.below(max);
        let mut out = vec![];
        for _ in 0..n {
            let x = from[self.below(from.len())].clone();
            if !out.contains(&x) {
                out.push(x);
            }
        }
        out
    }
}
