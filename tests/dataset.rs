//! Datasets in and out: the embedded default dataset and generated ones import cleanly, an
//! export re-imports to byte-identical files, and re-imports add and update by natural key.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{assert_clean, assert_same_files, counts, export_bytes, import_dir, read_files};
use recover_better::dataset::embedded::DefaultDataset;
use recover_better::dataset::export::export;
use recover_better::dataset::generate::{generate, GenerateOptions, Preset};
use recover_better::dataset::import::{import, FileSummary, ImportOptions, ImportSummary};
use recover_better::dataset::{Source, FILES, OPTIONAL_FILES};
use recover_better::model::Ref;
use recover_better::store::{Entity, Store};

/// The counts of `data/default/PROVENANCE.md`.
const DEFAULT_COUNTS: [(Entity, u64); 13] = [
    (Entity::Theme, 55),
    (Entity::Group, 36),
    (Entity::Sdg, 17),
    (Entity::MeasureCategory, 14),
    (Entity::Country, 195),
    (Entity::Cycle, 4),
    (Entity::Session, 23),
    (Entity::Recommendation, 40461),
    (Entity::Measure, 5410),
    (Entity::GoodPractice, 16),
    (Entity::Concern, 19),
    (Entity::Action, 38),
    (Entity::Link, 31),
];

fn tiny_dataset() -> (tempfile::TempDir, Vec<(&'static str, usize)>) {
    let dir = tempfile::tempdir().unwrap();
    let options = GenerateOptions {
        preset: Preset::Tiny,
        scale: 1.0,
        seed: 7,
    };
    let written = generate(&options, dir.path()).unwrap();
    (dir, written)
}

/// The per-file record counts an import summary reports, by file.
fn records_per_file(summary: &ImportSummary) -> BTreeMap<&'static str, usize> {
    summary.files.iter().map(|f| (f.file, f.records)).collect()
}

/// The file summary of one file.
fn file<'a>(summary: &'a ImportSummary, name: &str) -> &'a FileSummary {
    summary.files.iter().find(|f| f.file == name).unwrap()
}

/// Import → export → import into a fresh store → export: both exports hold the same bytes.
fn assert_round_trips(store: &Store) {
    let first = tempfile::tempdir().unwrap();
    export(store, first.path()).unwrap();
    let second_store = Store::temporary().unwrap();
    import_dir(&second_store, first.path()).unwrap();

    let second = export_bytes(&second_store);

    let first = read_files(first.path());
    assert_eq!(first.len(), FILES.len());
    assert_same_files(&first, &second);
    assert_eq!(counts(&second_store), counts(store));
}

#[test]
fn the_embedded_default_dataset_imports_cleanly_with_its_provenance_counts_and_round_trips() {
    let store = Store::temporary().unwrap();

    let summary = import(&store, &DefaultDataset, ImportOptions::default()).unwrap();

    assert_eq!(counts(&store), DEFAULT_COUNTS);
    let total = summary.total();
    assert_eq!((total.records, total.created), (46319, 46319));
    assert_clean(&store);
    // PROVENANCE.md says the same, file by file.
    let provenance = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/default/PROVENANCE.md"),
    )
    .unwrap();
    for (name, n) in records_per_file(&summary) {
        let row = format!("| {} | {n} |", name);
        assert!(
            provenance.contains(&row),
            "PROVENANCE.md lacks the row {row}"
        );
    }
    assert_round_trips(&store);
}

#[test]
fn the_embedded_default_dataset_has_every_file_but_the_optional_ones() {
    for name in FILES.iter().filter(|f| !OPTIONAL_FILES.contains(f)) {
        let bytes = DefaultDataset.read(name).unwrap();
        assert!(bytes.is_some_and(|b| !b.is_empty()), "{name} is missing");
    }
    assert_eq!(DefaultDataset.read("nonsense.jsonl").unwrap(), None);
}

#[test]
fn a_generated_tiny_dataset_imports_and_passes_the_check() {
    let (dir, written) = tiny_dataset();
    let store = Store::temporary().unwrap();

    let summary = import_dir(&store, dir.path()).unwrap();

    assert_clean(&store);
    let written: BTreeMap<&str, usize> = written.into_iter().collect();
    assert_eq!(records_per_file(&summary), written);
    let total = summary.total();
    assert_eq!(total.created, total.records);
    assert_eq!(
        store.count(Entity::Recommendation).unwrap() as usize,
        written["recommendations.jsonl"]
    );
    assert_eq!(
        store.count(Entity::Link).unwrap() as usize,
        written["links.jsonl"]
    );
}

#[test]
fn generating_twice_with_the_same_seed_gives_the_same_bytes() {
    let (a, _) = tiny_dataset();
    let (b, _) = tiny_dataset();

    assert_same_files(&read_files(a.path()), &read_files(b.path()));
}

#[test]
fn a_generated_dataset_round_trips_byte_for_byte() {
    let (dir, _) = tiny_dataset();
    let store = Store::temporary().unwrap();
    import_dir(&store, dir.path()).unwrap();

    assert_round_trips(&store);
}

#[test]
fn the_small_hand_made_dataset_round_trips_byte_for_byte() {
    let store = common::store_with_small_dataset();

    assert_round_trips(&store);
}

#[test]
fn reimporting_the_same_dataset_reports_every_record_unchanged_and_keeps_every_version() {
    let (dir, _) = tiny_dataset();
    let store = Store::temporary().unwrap();
    import_dir(&store, dir.path()).unwrap();
    let before = common::stored_records(&store);

    let summary = import_dir(&store, dir.path()).unwrap();

    for f in &summary.files {
        assert_eq!(
            (f.created, f.updated, f.unchanged),
            (0, 0, f.records),
            "{}",
            f.file
        );
    }
    assert_eq!(summary.total().unchanged, before.len());
    let after = common::stored_records(&store);
    assert!(after.values().all(|(v, _)| *v == 1));
    assert_eq!(after, before);
}

/// Rewrites one JSON Lines file line by line.
fn edit_lines(dir: &Path, name: &str, edit: impl FnOnce(&mut Vec<String>)) {
    let path = dir.join(name);
    let mut lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    edit(&mut lines);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap()
}

#[test]
fn a_modified_dataset_adds_and_updates_by_natural_key() {
    let (dir, written) = tiny_dataset();
    let store = Store::temporary().unwrap();
    import_dir(&store, dir.path()).unwrap();
    let total_records: usize = written.iter().map(|(_, n)| n).sum();
    // The modified copy: one recommendation's response changed, one new measure, one new link.
    let mut changed_rec = String::new();
    edit_lines(dir.path(), "recommendations.jsonl", |lines| {
        let mut r = json(&lines[0]);
        let new = if r["response"] == "NOTED" {
            "SUPPORTED"
        } else {
            "NOTED"
        };
        r["response"] = new.into();
        changed_rec = r["id"].as_str().unwrap().to_owned();
        lines[0] = r.to_string();
    });
    let mut new_measure = String::new();
    edit_lines(dir.path(), "measures.jsonl", |lines| {
        let mut m = json(&lines[0]);
        new_measure = format!("{}-BIS", m["id"].as_str().unwrap());
        m["id"] = new_measure.clone().into();
        lines.push(m.to_string());
    });
    edit_lines(dir.path(), "links.jsonl", |lines| {
        let mut l = json(&lines[0]);
        l["measure"] = new_measure.clone().into();
        lines.push(l.to_string());
    });

    let summary = import_dir(&store, dir.path()).unwrap();

    let total = summary.total();
    assert_eq!(
        (total.records, total.created, total.updated, total.unchanged),
        (total_records + 2, 2, 1, total_records - 1)
    );
    let per_file = |name| {
        let f = file(&summary, name);
        (f.created, f.updated)
    };
    assert_eq!(per_file("recommendations.jsonl"), (0, 1));
    assert_eq!(per_file("measures.jsonl"), (1, 0));
    assert_eq!(per_file("links.jsonl"), (1, 0));
    let (_, rec) = store
        .recommendation(&Ref::parse(&changed_rec).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(rec.version, 2);
    let (_, measure) = store
        .measure(&Ref::parse(&new_measure).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(measure.version, 1);
    let versions_above_one: Vec<String> = common::stored_records(&store)
        .into_iter()
        .filter(|(_, (v, _))| *v != 1)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        versions_above_one,
        vec![format!("recommendation {changed_rec}")]
    );
    assert_clean(&store);
}

#[test]
fn an_export_writes_exactly_the_files_of_a_dataset() {
    let store = common::store_with_small_dataset();
    let dir = tempfile::tempdir().unwrap();

    let summary = export(&store, dir.path()).unwrap();

    let names: Vec<&str> = summary.iter().map(|(f, _)| *f).collect();
    assert_eq!(names, FILES);
    let mut on_disk: Vec<String> = vec![];
    for entry in walk(dir.path()) {
        on_disk.push(entry);
    }
    on_disk.sort();
    let mut expected: Vec<String> = FILES.iter().map(|f| f.to_string()).collect();
    expected.sort();
    assert_eq!(
        on_disk, expected,
        "no .partial or other files are left behind"
    );
}

/// Every file under `dir`, as a path relative to it with `/` separators.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = vec![];
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out
}

#[test]
fn the_measure_importers_crosswalks_survive_import_and_export() {
    // The CoronaNet and ACAPS lists of `measure_categories.jsonl` are data the store keeps,
    // so an export carries them as the imported file had them.
    let lists = |text: &str| -> BTreeMap<String, (serde_json::Value, serde_json::Value)> {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let code = v["code"].as_str().unwrap().to_owned();
                (code, (v["coronanet"].clone(), v["acaps"].clone()))
            })
            .collect()
    };
    let name = "taxonomy/measure_categories.jsonl";
    let original = DefaultDataset.read(name).unwrap().unwrap();
    let original = lists(std::str::from_utf8(&original).unwrap());
    assert!(
        original
            .values()
            .any(|(c, a)| c.as_array().is_some_and(|c| !c.is_empty())
                && a.as_array().is_some_and(|a| !a.is_empty())),
        "the default dataset has both lists to keep"
    );
    let store = Store::temporary().unwrap();
    import(&store, &DefaultDataset, ImportOptions::default()).unwrap();
    let out = tempfile::tempdir().unwrap();
    export(&store, out.path()).unwrap();
    let exported = std::fs::read_to_string(out.path().join(name)).unwrap();
    assert_eq!(lists(&exported), original);
}
