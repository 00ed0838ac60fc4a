//! Helpers shared by the integration tests: a small hand-made valid dataset (all 13 files,
//! taxonomy included) that tests copy and mutate, and ways to snapshot a store.
#![allow(dead_code)]

#[cfg(feature = "etcd")]
pub mod etcd;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use recover_better::dataset::import::{import, ImportOptions, ImportSummary};
use recover_better::dataset::{export::export, DatasetError, Folder, FILES};
use recover_better::store::{check, Entity, Record, RefKind, Store, DEPENDENCY_ORDER};

/// The path of the command-line binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_recover-better"))
}

/// A dataset held in memory as lines per file, to copy, mutate and write out.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub files: BTreeMap<&'static str, Vec<String>>,
}

const SDGS: &[&str] = &[
    r#"{"goal":1,"name":"No poverty"}"#,
    r#"{"goal":3,"name":"Good health and well-being"}"#,
    r#"{"goal":5,"name":"Gender equality"}"#,
    r#"{"goal":16,"name":"Peace, justice and strong institutions"}"#,
];

const THEMES: &[&str] = &[
    r#"{"slug":"covid-19","name":"COVID-19","source":"UPR Info issue","sdgs":[3]}"#,
    r#"{"slug":"right-to-health","name":"Right to health","source":"UPR Info issue","sdgs":[3]}"#,
    r#"{"slug":"justice","name":"Justice","source":"UPR Info issue","sdgs":[16]}"#,
    r#"{"slug":"women-rights","name":"Women's rights","source":"UPR Info issue","sdgs":[5]}"#,
    r#"{"slug":"poverty","name":"Poverty","source":"UPR Info issue","sdgs":[1]}"#,
];

const GROUPS: &[&str] = &[
    r#"{"slug":"older-persons","name":"Older persons","source":"UHRI affected persons"}"#,
    r#"{"slug":"women","name":"Women","source":"UHRI affected persons"}"#,
    r#"{"slug":"children","name":"Children","source":"UHRI affected persons"}"#,
];

const MEASURE_CATEGORIES: &[&str] = &[
    r#"{"code":"HEALTH","name":"Health care, testing, vaccination","themes":["right-to-health","covid-19"],"oxcgrt":["H2","H3"]}"#,
    r#"{"code":"SOCIAL_PROTECTION","name":"Income support and social protection","themes":["poverty"],"oxcgrt":["E1"]}"#,
    r#"{"code":"JUSTICE","name":"Courts and access to justice","themes":["justice"],"oxcgrt":[]}"#,
];

const COUNTRIES: &[&str] = &[
    r#"{"code":"BDI","iso2":"BI","name":"Burundi","region":"Africa","subregion":"Eastern Africa","un_regional_group":"AFRICAN"}"#,
    r#"{"code":"HND","iso2":"HN","name":"Honduras","region":"Americas","subregion":"Central America","un_regional_group":"LATIN_AMERICAN_CARIBBEAN"}"#,
    r#"{"code":"PRT","iso2":"PT","name":"Portugal","region":"Europe","subregion":"Southern Europe","un_regional_group":"WESTERN_EUROPEAN_OTHERS"}"#,
    r#"{"code":"UKR","iso2":"UA","name":"Ukraine","region":"Europe","subregion":"Eastern Europe","un_regional_group":"EASTERN_EUROPEAN"}"#,
    r#"{"code":"USA","iso2":"US","name":"United States of America","region":"Americas","subregion":"Northern America","un_regional_group":"WESTERN_EUROPEAN_OTHERS"}"#,
];

const CYCLES: &[&str] = &[r#"{"number":3,"start_date":"2017-05-01","end_date":"2022-02-04"}"#];

const SESSIONS: &[&str] = &[
    r#"{"number":36,"cycle":3,"start_date":"2020-11-02","end_date":"2020-11-13","states_under_review":["HND","USA"]}"#,
    r#"{"number":37,"cycle":3,"start_date":null,"end_date":null,"states_under_review":["BDI","UKR"]}"#,
];

const RECOMMENDATIONS: &[&str] = &[
    r#"{"id":"R-36-HND-001","text":"Guarantee access to health care for older persons during the pandemic.","state_under_review":"HND","recommending_states":["PRT"],"session":36,"response":"SUPPORTED","action_category":4,"themes":["right-to-health","covid-19"],"groups":["older-persons"],"sdgs":[3],"document":"A/HRC/46/9","paragraph":"128.15"}"#,
    r#"{"id":"R-36-HND-002","text":"Ensure that emergency measures respect judicial guarantees.","state_under_review":"HND","recommending_states":["UKR","USA"],"session":36,"response":"NOTED","action_category":null,"themes":["justice"],"groups":[],"sdgs":[16],"document":"A/HRC/46/9","paragraph":"128.16"}"#,
    r#"{"id":"R-36-USA-001","text":"Extend income support to women who lost work in the pandemic.","state_under_review":"USA","recommending_states":["PRT"],"session":36,"response":"SUPPORTED","action_category":5,"themes":["covid-19"],"groups":["women"],"sdgs":[3,5],"document":null,"paragraph":null}"#,
    r#"{"id":"R-37-UKR-001","text":"Strengthen the independence of the judiciary.","state_under_review":"UKR","recommending_states":["HND"],"session":37,"response":"PENDING","action_category":2,"themes":["justice"],"groups":[],"sdgs":[16]}"#,
];

const MEASURES: &[&str] = &[
    r#"{"id":"M-HND-001","country":"HND","title":"Free COVID-19 testing for older persons","description":"Testing free of charge for persons over 60.","category":"HEALTH","start_date":"2020-04-01","end_date":null,"themes":["covid-19","right-to-health"],"groups":["older-persons"],"sdgs":[3],"source":"OHCHR","source_code":null,"source_url":"https://example.org/measures/M-HND-001"}"#,
    r#"{"id":"M-USA-001","country":"USA","title":"Emergency income support","description":"Cash transfers to households that lost income.","category":"SOCIAL_PROTECTION","start_date":"2020-03-27","end_date":"2020-12-31","themes":["poverty"],"groups":["women"],"sdgs":[1,5],"source":null,"source_code":"OxCGRT E1=2","source_url":null}"#,
    r#"{"id":"M-UKR-001","country":"UKR","title":"Remote court hearings","description":"Courts hear urgent cases by video link.","category":"JUSTICE","start_date":"2020-04-15","end_date":null,"themes":["justice"],"groups":[],"sdgs":[16],"source":"OHCHR","source_code":null,"source_url":null}"#,
];

const GOOD_PRACTICES: &[&str] = &[
    r#"{"id":"GP-001","title":"Free testing for older persons","description":"Honduras made testing free for older persons.","countries":["HND"],"year":2020,"themes":["covid-19"],"groups":["older-persons"],"sdgs":[3],"measures":["M-HND-001"],"recommendations":["R-36-HND-001"],"source":"UPR Info"}"#,
];

// Hand-made test records in the format of DOMAIN.md, not facts.
const CONCERNS: &[&str] = &[
    r#"{"id":"C-HND-001","countries":["HND"],"title":"Older persons without access to testing","description":"Reports that older persons could not reach testing sites.","kind":"TREND","severity":"HIGH","reported_on":"2020-05-01","themes":["right-to-health"],"groups":["older-persons"],"sdgs":[3],"measures":["M-HND-001"],"recommendations":["R-36-HND-001"],"source":"Test fixture","source_url":null}"#,
    r#"{"id":"C-UKR-001","countries":["BDI","UKR"],"title":"Backlog of detention hearings","description":"Hearings were postponed while courts were closed.","kind":"EARLY_WARNING","severity":"MEDIUM","reported_on":"2020-06-15","themes":["justice"],"groups":[],"sdgs":[16],"measures":[],"recommendations":[],"source":"Test fixture","source_url":"https://example.org/concerns/C-UKR-001"}"#,
];

const ACTIONS: &[&str] = &[
    r#"{"id":"A-UKR-001","countries":["UKR"],"title":"Monitoring of remote hearings","description":"Monitors observed hearings held by video link.","kind":"MONITORING_AND_REPORTING","start_date":"2020-05-01","end_date":null,"outcome":"40 hearings observed","people_reached":null,"themes":["justice"],"groups":[],"sdgs":[16],"concerns":["C-UKR-001"],"measures":[],"recommendations":["R-37-UKR-001"],"source":"Test fixture"}"#,
];

const LINKS: &[&str] = &[
    r#"{"recommendation":"R-36-HND-001","measure":"M-HND-001","relation":"IMPLEMENTS","status":"CONFIRMED","note":"Free testing for older persons.","evidence_url":null,"created_by":"upr-info","created_at":"2020-12-04T10:00:00Z","updated_at":null}"#,
    r#"{"recommendation":"R-36-USA-001","measure":"M-USA-001","relation":"PARTIALLY_IMPLEMENTS","status":"SUGGESTED","note":null,"evidence_url":"https://example.org/evidence/1","created_by":"api","created_at":"2021-01-10T08:30:00Z","updated_at":null}"#,
    r#"{"recommendation":"R-37-UKR-001","measure":"M-UKR-001","relation":"RELATED","status":"CONFIRMED","note":"","evidence_url":null,"created_by":"upr-info","created_at":"2021-02-01T12:00:00Z","updated_at":null}"#,
];

/// Record counts of [`Dataset::small`], in [`DEPENDENCY_ORDER`] order.
pub const SMALL_COUNTS: [(Entity, u64); 13] = [
    (Entity::Theme, 5),
    (Entity::Group, 3),
    (Entity::Sdg, 4),
    (Entity::MeasureCategory, 3),
    (Entity::Country, 5),
    (Entity::Cycle, 1),
    (Entity::Session, 2),
    (Entity::Recommendation, 4),
    (Entity::Measure, 3),
    (Entity::GoodPractice, 1),
    (Entity::Concern, 2),
    (Entity::Action, 1),
    (Entity::Link, 3),
];

impl Dataset {
    /// A small, valid, hand-made dataset: every entity, every file, a few records each.
    pub fn small() -> Dataset {
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let files = BTreeMap::from([
            ("taxonomy/sdgs.jsonl", lines(SDGS)),
            ("taxonomy/themes.jsonl", lines(THEMES)),
            ("taxonomy/groups.jsonl", lines(GROUPS)),
            (
                "taxonomy/measure_categories.jsonl",
                lines(MEASURE_CATEGORIES),
            ),
            ("countries.jsonl", lines(COUNTRIES)),
            ("cycles.jsonl", lines(CYCLES)),
            ("sessions.jsonl", lines(SESSIONS)),
            ("recommendations.jsonl", lines(RECOMMENDATIONS)),
            ("measures.jsonl", lines(MEASURES)),
            ("good_practices.jsonl", lines(GOOD_PRACTICES)),
            ("concerns.jsonl", lines(CONCERNS)),
            ("actions.jsonl", lines(ACTIONS)),
            ("links.jsonl", lines(LINKS)),
        ]);
        assert_eq!(files.len(), FILES.len());
        Dataset { files }
    }

    fn lines_mut(&mut self, file: &str) -> &mut Vec<String> {
        self.files
            .iter_mut()
            .find(|(f, _)| **f == file)
            .map(|(_, l)| l)
            .unwrap_or_else(|| panic!("no file {file} in the dataset"))
    }

    /// Line `line` (1-based) of `file`.
    pub fn line(&self, file: &str, line: usize) -> &str {
        &self.files[file][line - 1]
    }

    /// Replaces line `line` (1-based) of `file`.
    pub fn set(&mut self, file: &str, line: usize, text: &str) -> &mut Self {
        self.lines_mut(file)[line - 1] = text.to_owned();
        self
    }

    /// Replaces `from` by `to` in line `line` of `file`; panics when `from` is not there.
    pub fn replace(&mut self, file: &str, line: usize, from: &str, to: &str) -> &mut Self {
        let l = &mut self.lines_mut(file)[line - 1];
        assert!(
            l.contains(from),
            "{file}:{line} does not contain {from:?}: {l}"
        );
        *l = l.replacen(from, to, 1);
        self
    }

    /// Appends a line to `file`.
    pub fn push(&mut self, file: &str, text: &str) -> &mut Self {
        self.lines_mut(file).push(text.to_owned());
        self
    }

    /// Writes the 13 files into `dir` (created if missing), one record a line.
    pub fn write(&self, dir: &Path) {
        for (file, lines) in &self.files {
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let mut text = lines.join("\n");
            text.push('\n');
            std::fs::write(path, text).unwrap();
        }
    }

    /// Writes the dataset into a new temporary folder.
    pub fn write_temp(&self) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        self.write(dir.path());
        dir
    }
}

/// Imports a dataset folder into the store.
pub fn import_dir(store: &Store, dir: &Path) -> Result<ImportSummary, DatasetError> {
    import(store, &Folder(dir.to_owned()), ImportOptions::default())
}

/// Where a test's store lives: the folder `dir/store` (sled), or, with
/// `RECOVER_BETTER_TEST_STORE=etcd://HOST:PORT/PREFIX`, a new prefix of its own in that etcd,
/// so the same tests run against either engine.
pub fn test_location(dir: &Path) -> String {
    match std::env::var("RECOVER_BETTER_TEST_STORE") {
        Ok(url) if url.starts_with("etcd://") => format!(
            "{}/t-{:016x}",
            url.trim_end_matches('/'),
            rand::random::<u64>()
        ),
        _ => dir.join("store").display().to_string(),
    }
}

/// A store that holds the small dataset.
pub fn store_with_small_dataset() -> Store {
    let store = Store::temporary().unwrap();
    let dir = Dataset::small().write_temp();
    import_dir(&store, dir.path()).expect("the small dataset imports");
    store
}

/// The bytes of every file of a dataset folder, by file name (all of [`FILES`]).
pub fn read_files(dir: &Path) -> BTreeMap<&'static str, Vec<u8>> {
    FILES
        .iter()
        .map(|&f| {
            let bytes = std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            (f, bytes)
        })
        .collect()
}

/// The store exported, as the bytes of each of the 13 files.
pub fn export_bytes(store: &Store) -> BTreeMap<&'static str, Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    export(store, dir.path()).unwrap();
    read_files(dir.path())
}

/// How many records of each kind the store holds, in [`DEPENDENCY_ORDER`] order.
pub fn counts(store: &Store) -> Vec<(Entity, u64)> {
    DEPENDENCY_ORDER
        .iter()
        .map(|&k| (k, store.count(k).unwrap()))
        .collect()
}

/// Panics with every violation when the integrity check is not clean.
pub fn assert_clean(store: &Store) {
    let report = check::check(store).unwrap();
    assert!(
        report.is_clean(),
        "integrity check found {} violation(s):\n{}",
        report.violations.len(),
        report.violations.join("\n")
    );
}

/// Asserts that two sets of dataset files are byte-identical, naming the first differing file.
pub fn assert_same_files(a: &BTreeMap<&'static str, Vec<u8>>, b: &BTreeMap<&'static str, Vec<u8>>) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (file, bytes) in a {
        if bytes != &b[file] {
            let (la, lb) = (
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&b[file]),
            );
            let first = la
                .lines()
                .zip(lb.lines())
                .position(|(x, y)| x != y)
                .map_or("(lengths differ)".to_string(), |i| {
                    format!("line {}", i + 1)
                });
            panic!("{file} differs at {first}");
        }
    }
}

/// Everything the store holds, read back through its public read API, with versions, keyed by
/// the display of each natural key (`recommendation R-1`, `link R-1 -> M-1`). Also asserts that
/// records with internal ids sit under the id their natural key maps to.
pub fn stored_records(store: &Store) -> BTreeMap<String, (u32, Record)> {
    let mut out = BTreeMap::new();
    let mut put = |v: u32, r: Record| {
        let k = r.key().to_string();
        assert!(out.insert(k.clone(), (v, r)).is_none(), "{k} read twice");
    };
    for s in store.countries() {
        let s = s.unwrap();
        put(s.version, Record::Country(s.record));
    }
    for s in store.cycles() {
        let s = s.unwrap();
        put(s.version, Record::Cycle(s.record));
    }
    for s in store.sessions() {
        let s = s.unwrap();
        put(s.version, Record::Session(s.record));
    }
    for s in store.themes() {
        let s = s.unwrap();
        put(s.version, Record::Theme(s.record));
    }
    for s in store.groups() {
        let s = s.unwrap();
        put(s.version, Record::Group(s.record));
    }
    for s in store.sdgs() {
        let s = s.unwrap();
        put(s.version, Record::Sdg(s.record));
    }
    for s in store.measure_categories() {
        let s = s.unwrap();
        put(s.version, Record::MeasureCategory(s.record));
    }
    let id_of = |kind: RefKind, r: &recover_better::model::Ref| {
        store
            .id_of(kind, r)
            .unwrap()
            .unwrap_or_else(|| panic!("{r} ({kind:?}) has no internal id"))
    };
    for x in store.recommendations() {
        let (id, s) = x.unwrap();
        assert_eq!(
            id_of(RefKind::Recommendation, &s.record.id),
            id,
            "id of {}",
            s.record.id
        );
        put(s.version, Record::Recommendation(s.record));
    }
    for x in store.measures() {
        let (id, s) = x.unwrap();
        assert_eq!(
            id_of(RefKind::Measure, &s.record.id),
            id,
            "id of {}",
            s.record.id
        );
        put(s.version, Record::Measure(s.record));
    }
    for x in store.good_practices() {
        let (id, s) = x.unwrap();
        assert_eq!(
            id_of(RefKind::GoodPractice, &s.record.id),
            id,
            "id of {}",
            s.record.id
        );
        put(s.version, Record::GoodPractice(s.record));
    }
    for x in store.concerns() {
        let (id, s) = x.unwrap();
        assert_eq!(
            id_of(RefKind::Concern, &s.record.id),
            id,
            "id of {}",
            s.record.id
        );
        put(s.version, Record::Concern(s.record));
    }
    for x in store.actions() {
        let (id, s) = x.unwrap();
        assert_eq!(
            id_of(RefKind::Action, &s.record.id),
            id,
            "id of {}",
            s.record.id
        );
        put(s.version, Record::Action(s.record));
    }
    for x in store.links() {
        let ((r, m), s) = x.unwrap();
        assert_eq!(
            (
                id_of(RefKind::Recommendation, &s.record.recommendation),
                id_of(RefKind::Measure, &s.record.measure)
            ),
            (r, m),
            "ids of link {} -> {}",
            s.record.recommendation,
            s.record.measure
        );
        put(s.version, Record::Link(s.record));
    }
    out
}
