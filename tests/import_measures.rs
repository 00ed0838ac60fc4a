//! `import-measures`: each tracker's rows become measures by the rules of its format, a
//! repeat import changes nothing, a malformed row is reported as `file:line: reason` with
//! nothing written, and what is left out is counted by reason.
//!
//! The fixtures in `tests/fixtures/measures/` are hand-written in the trackers' formats (see
//! their README); the last test also reads the trackers' real sample files when the shared
//! sources folder is there.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{assert_clean, counts, export_bytes};
use recover_better::dataset::embedded::DefaultDataset;
use recover_better::dataset::import::{import, ImportOptions};
use recover_better::dataset::measures::{
    import_measures, Crosswalk, Format, MeasureImportError, MeasureImportOptions,
    MeasureImportSummary,
};
use recover_better::model::{CountryCode, Measure, MeasureCategory, Ref};
use recover_better::store::{ApplyOptions, Change, Record, Store};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/measures")
        .join(name)
}

/// A store holding the default dataset: every country, and the real taxonomy.
fn store() -> Store {
    let store = Store::temporary().unwrap();
    import(&store, &DefaultDataset, ImportOptions::default()).expect("the default dataset loads");
    store
}

fn options(format: Format) -> MeasureImportOptions {
    MeasureImportOptions {
        format,
        countries: None,
        // The store's own taxonomy: the default dataset's, the same as the embedded one.
        crosswalk: None,
        dry_run: false,
    }
}

fn run(store: &Store, format: Format, file: &str) -> MeasureImportSummary {
    import_measures(store, &fixture(file), &options(format))
        .unwrap_or_else(|e| panic!("{file} imports: {e}"))
}

fn measure(store: &Store, id: &str) -> Measure {
    store
        .measure(&Ref::parse(id).unwrap())
        .unwrap()
        .unwrap_or_else(|| panic!("measure {id} is stored"))
        .1
        .record
}

fn has_measure(store: &Store, id: &str) -> bool {
    store.measure(&Ref::parse(id).unwrap()).unwrap().is_some()
}

fn date(s: &str) -> recover_better::model::Date {
    recover_better::model::Date::parse(s).unwrap()
}

fn refused(summary: &MeasureImportSummary) -> BTreeMap<&str, usize> {
    summary
        .refused
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect()
}

#[test]
fn coronanet_events_of_one_policy_become_one_measure_from_its_first_start_to_its_end() {
    let store = store();

    let summary = run(&store, Format::Coronanet, "coronanet.csv");

    // Policy 100: a new entry, a change, an end of policy: one measure, ending on the day
    // the End of Policy update gives.
    let curfew = measure(&store, "M-HND-CN-100");
    assert_eq!(curfew.start_date, date("2020-03-16"));
    assert_eq!(curfew.end_date, Some(date("2020-04-20")));
    assert_eq!(curfew.category, MeasureCategory::Movement);
    assert_eq!(
        curfew.source_code.as_deref(),
        Some("CoronaNet: Curfew / No the curfew times are always the same regardless of the day of the week")
    );
    assert_eq!(
        curfew.source_url.as_deref(),
        Some("https://example.org/hnd/curfew")
    );
    assert!(
        curfew
            .description
            .contains("2020-03-30: Fixture: the curfew is extended, and now starts at 15:00."),
        "{}",
        curfew.description
    );
    assert!(curfew
        .description
        .contains("Fixture: the curfew is lifted."));
    assert_eq!(
        curfew.themes.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        ["covid-19", "freedom-of-movement"]
    );
    // Policy 300: no end of policy, so the latest event's end.
    let schools = measure(&store, "M-SVN-CN-300");
    assert_eq!(
        (schools.start_date, schools.end_date),
        (date("2020-03-16"), Some(date("2020-06-30")))
    );
    assert_eq!(schools.category, MeasureCategory::Education);
    // Policy 200 targets prisoners; it is still in force.
    let visits = measure(&store, "M-HND-CN-200");
    assert_eq!(
        visits.groups.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        ["persons-deprived-of-their-liberty"]
    );
    assert_eq!(visits.end_date, None);
    // A provincial policy says where.
    assert_eq!(measure(&store, "M-NGA-CN-500").title, "Lockdown (Lagos)");
    assert_eq!(summary.rows_read, 9);
    assert_eq!(summary.merged_rows, 3);
    assert_eq!((summary.measures, summary.created), (4, 4));
    assert_clean(&store);
}

#[test]
fn oxcgrt_daily_values_collapse_into_spells_with_their_start_and_end() {
    let store = store();

    let summary = run(&store, Format::Oxcgrt, "oxcgrt_daily.csv");

    // Three days at 3 then two at 2: two measures, the first ended, the second still in
    // force on the file's last day.
    let closed = measure(&store, "M-HND-OXCGRT-C1-3-20200316");
    assert_eq!(closed.end_date, Some(date("2020-03-18")));
    assert_eq!(
        closed.title,
        "School closing: require closing at all levels"
    );
    assert_eq!(closed.source_code.as_deref(), Some("OxCGRT C1=3 flag=1"));
    assert_eq!(closed.category, MeasureCategory::Education);
    let partly = measure(&store, "M-HND-OXCGRT-C1-2-20200319");
    assert_eq!(
        (partly.start_date, partly.end_date),
        (date("2020-03-19"), None)
    );
    let masks = measure(&store, "M-HND-OXCGRT-H6-1-20200314");
    assert_eq!(
        (masks.start_date, masks.end_date),
        (date("2020-03-14"), None)
    );
    assert_eq!(masks.category, MeasureCategory::Health);
    assert!(has_measure(&store, "M-SVN-OXCGRT-C1-3-20200316"));
    assert_eq!(summary.measures, 4);
    // 2 + 1 + 6 + 2 days that continue a spell.
    assert_eq!(summary.merged_rows, 11);
    let r = refused(&summary);
    assert_eq!(r["value 0 (OxCGRT: no measures in force)"], 2);
    assert_eq!(r["subnational row (only national rows are read)"], 1);
    assert_eq!(
        r["OxCGRT indicator V1 is not in the crosswalk (column \"V1_Vaccine Prioritisation (summary)\" ignored)"],
        1
    );
    assert_clean(&store);
}

#[test]
fn oxcgrt_responses_rows_that_continue_a_spell_are_merged_into_it() {
    let store = store();

    let summary = run(&store, Format::Oxcgrt, "oxcgrt_responses.csv");

    let closure = measure(&store, "M-HND-OXCGRT-C1-3-20200316");
    assert_eq!(
        (closure.start_date, closure.end_date),
        (date("2020-03-16"), Some(date("2020-06-01")))
    );
    assert_eq!(
        closure.source_url.as_deref(),
        Some("https://example.org/ox/c1")
    );
    assert!(closure.description.contains("the closure is extended"));
    let reopening = measure(&store, "M-HND-OXCGRT-C1-2-20200602");
    assert_eq!(reopening.end_date, None);
    assert_eq!(
        (summary.rows_read, summary.merged_rows, summary.measures),
        (7, 1, 2)
    );
    assert_eq!(
        refused(&summary),
        BTreeMap::from([
            ("OxCGRT indicator M1 is not in the crosswalk", 1),
            ("country ABW is not in the store", 1),
            ("no value (OxCGRT: no data)", 1),
            ("value 0 (OxCGRT: no measures in force)", 1),
        ])
    );
}

#[test]
fn acaps_phase_out_ends_the_latest_earlier_introduction_or_is_kept_alone() {
    let store = store();

    let summary = run(&store, Format::Acaps, "acaps.csv");

    // Two curfews, two phase-outs: the first phase-out ends the later curfew, the second
    // the one still open.
    assert_eq!(
        measure(&store, "M-HND-ACAPS-2").end_date,
        Some(date("2020-05-01"))
    );
    assert_eq!(
        measure(&store, "M-HND-ACAPS-1").end_date,
        Some(date("2020-06-01"))
    );
    assert!(!has_measure(&store, "M-HND-ACAPS-3"));
    assert!(!has_measure(&store, "M-HND-ACAPS-4"));
    // Nothing to end: kept as records of their own.
    let alone = measure(&store, "M-SVN-ACAPS-5");
    assert_eq!(alone.title, "Schools closure (phase-out)");
    assert_eq!(
        (alone.start_date, alone.end_date),
        (date("2020-06-01"), None)
    );
    assert!(
        has_measure(&store, "M-HND-ACAPS-9"),
        "a phase-out before any introduction stays alone"
    );
    assert_eq!(measure(&store, "M-HND-ACAPS-10").end_date, None);
    assert_eq!(
        measure(&store, "M-HND-ACAPS-10").title,
        "Limit public gatherings (Tegucigalpa)"
    );
    let prisons = measure(&store, "M-SVN-ACAPS-6");
    assert_eq!(prisons.category, MeasureCategory::Detention);
    assert_eq!(
        prisons.source_code.as_deref(),
        Some("ACAPS: Changes in prison-related policies")
    );
    assert!(prisons.description.contains("targeting a population group"));
    assert_eq!(
        (summary.rows_read, summary.merged_rows, summary.measures),
        (10, 2, 6)
    );
    assert_eq!(
        refused(&summary),
        BTreeMap::from([
            (
                "ACAPS measure \"Humanitarian exemptions\" is not in the crosswalk",
                1
            ),
            ("DATE_IMPLEMENTED is blank", 1),
        ])
    );
}

/// Adds `acaps` types to one of the store's measure categories, as an editor's import of an
/// amended `taxonomy/measure_categories.jsonl` would.
fn add_acaps_types(store: &Store, category: MeasureCategory, types: &[&str]) {
    let mut info = store.measure_category(category).unwrap().unwrap().record;
    info.acaps.extend(types.iter().map(|t| t.to_string()));
    store
        .apply(
            vec![Change::put(Record::MeasureCategory(info))],
            ApplyOptions::default(),
        )
        .unwrap();
}

#[test]
fn the_crosswalk_is_the_one_the_store_holds_unless_a_file_is_given() {
    let store = store();
    // A curator maps the type the default crosswalk leaves out.
    add_acaps_types(
        &store,
        MeasureCategory::Movement,
        &["Humanitarian exemptions"],
    );

    let summary = run(&store, Format::Acaps, "acaps.csv");

    assert_eq!(summary.crosswalk, "the store's taxonomy");
    assert!(summary
        .to_string()
        .starts_with("crosswalk: the store's taxonomy\n"));
    assert_eq!(
        refused(&summary),
        BTreeMap::from([("DATE_IMPLEMENTED is blank", 1)]),
        "the row of the newly mapped type is imported"
    );
    assert_eq!(
        measure(&store, "M-SVN-ACAPS-7").category,
        MeasureCategory::Movement
    );

    // `--crosswalk FILE` (here the embedded default) wins over the store's.
    let store = self::store();
    add_acaps_types(
        &store,
        MeasureCategory::Movement,
        &["Humanitarian exemptions"],
    );
    let given = MeasureImportOptions {
        crosswalk: Some(Crosswalk::embedded()),
        ..options(Format::Acaps)
    };
    let summary = import_measures(&store, &fixture("acaps.csv"), &given).unwrap();
    assert_eq!(summary.crosswalk, "the file given");
    assert_eq!(
        refused(&summary)
            .get("ACAPS measure \"Humanitarian exemptions\" is not in the crosswalk")
            .copied(),
        Some(1)
    );
    assert!(!has_measure(&store, "M-SVN-ACAPS-7"));
}

#[test]
fn a_store_without_a_trackers_list_takes_the_embedded_one_and_says_so() {
    let store = store();
    // A store written before record format 3 holds no ACAPS lists.
    for c in store.measure_categories().collect::<Vec<_>>() {
        let mut info = c.unwrap().record;
        info.acaps.clear();
        store
            .apply(
                vec![Change::put(Record::MeasureCategory(info))],
                ApplyOptions::default(),
            )
            .unwrap();
    }

    let summary = run(&store, Format::Acaps, "acaps.csv");

    assert_eq!(
        summary.crosswalk,
        "the store's taxonomy; the embedded default's ACAPS list (the store holds none)"
    );
    assert_eq!(
        measure(&store, "M-SVN-ACAPS-6").category,
        MeasureCategory::Detention
    );
}

#[test]
fn a_store_taxonomy_listing_a_type_under_two_categories_is_refused_and_nothing_is_written() {
    let store = store();
    add_acaps_types(&store, MeasureCategory::Health, &["curfews"]);
    let before = export_bytes(&store);

    let err = import_measures(&store, &fixture("acaps.csv"), &options(Format::Acaps))
        .expect_err("an ambiguous crosswalk is refused");

    let MeasureImportError::StoredCrosswalk(problems) = &err else {
        panic!("not the stored crosswalk's error: {err}");
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0]
            .to_lowercase()
            .contains("acaps: \"curfews\" is listed under both")
            && problems[0].contains("HEALTH")
            && problems[0].contains("MOVEMENT"),
        "{}",
        problems[0]
    );
    assert!(err.to_string().contains("--crosswalk FILE"), "{err}");
    assert_eq!(export_bytes(&store), before);
}

#[test]
fn importing_the_same_file_twice_changes_nothing() {
    let store = store();
    for (format, file) in [
        (Format::Coronanet, "coronanet.csv"),
        (Format::Acaps, "acaps.csv"),
        (Format::Oxcgrt, "oxcgrt_daily.csv"),
        (Format::Oxcgrt, "oxcgrt_responses.csv"),
    ] {
        let first = run(&store, format, file);
        let before = export_bytes(&store);

        let second = run(&store, format, file);

        assert_eq!(second.unchanged, first.measures, "{file}");
        assert_eq!((second.created, second.updated), (0, 0), "{file}");
        assert_eq!(export_bytes(&store), before, "{file}");
    }
}

#[test]
fn a_newer_release_of_a_file_updates_the_measures_it_created() {
    let store = store();
    run(&store, Format::Coronanet, "coronanet.csv");
    let dir = tempfile::tempdir().unwrap();
    let newer = dir.path().join("coronanet.csv");
    let text = std::fs::read_to_string(fixture("coronanet.csv")).unwrap();
    // The SVN policy's last event now ends later.
    std::fs::write(
        &newer,
        text.replace("2020-06-30,National", "2020-07-15,National"),
    )
    .unwrap();

    let summary = import_measures(&store, &newer, &options(Format::Coronanet)).unwrap();

    assert_eq!(
        (summary.created, summary.updated, summary.unchanged),
        (0, 1, 3)
    );
    assert_eq!(
        measure(&store, "M-SVN-CN-300").end_date,
        Some(date("2020-07-15"))
    );
}

#[test]
fn malformed_rows_are_reported_as_file_line_reason_and_nothing_is_written() {
    for (format, file, expected) in [
        (
            Format::Coronanet,
            "coronanet_malformed.csv",
            vec![
                (3, "policy_id is blank"),
                (4, "date_start: \"2020-31-03\" is not a date YYYY-MM-DD"),
                (6, "ISO_A3: \"hnd\" is not an ISO 3166-1 alpha-3 code (three upper-case letters)"),
            ],
        ),
        (
            Format::Acaps,
            "acaps_malformed.csv",
            vec![
                (3, "ID 1 is already on line 2"),
                (4, "LOG_TYPE \"Extension\" is neither \"Introduction / extension of measures\" nor \"Phase-out measure\""),
            ],
        ),
    ] {
        let store = store();
        let before = (counts(&store), export_bytes(&store));

        let err = import_measures(&store, &fixture(file), &options(format)).expect_err(file);

        let MeasureImportError::Malformed(problems) = &err else {
            panic!("{file}: {err}");
        };
        let got: Vec<(usize, &str)> = problems.iter().map(|p| (p.line, p.reason.as_str())).collect();
        assert_eq!(got, expected, "{file}");
        let path = fixture(file).display().to_string();
        assert!(err.to_string().contains(&format!("{path}:{}: {}", expected[0].0, expected[0].1)), "{err}");
        assert_eq!((counts(&store), export_bytes(&store)), before, "{file}: nothing is written");
    }
}

#[test]
fn a_missing_column_is_named_at_line_one() {
    let store = store();

    let err = import_measures(&store, &fixture("acaps.csv"), &options(Format::Coronanet))
        .expect_err("an ACAPS file is not a CoronaNet file");

    let MeasureImportError::Malformed(problems) = &err else {
        panic!("{err}");
    };
    assert_eq!(problems[0].line, 1);
    assert_eq!(problems[0].reason, "no column \"record_id\" in the header");
}

#[test]
fn columns_are_read_by_name_whatever_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let reversed = dir.path().join("acaps_reversed.csv");
    let mut reader = csv::Reader::from_path(fixture("acaps.csv")).unwrap();
    let mut writer = csv::Writer::from_path(&reversed).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .rev()
        .map(str::to_owned)
        .collect();
    writer.write_record(&header).unwrap();
    for row in reader.records() {
        writer.write_record(row.unwrap().iter().rev()).unwrap();
    }
    writer.flush().unwrap();
    let (a, b) = (store(), store());

    let original = run(&a, Format::Acaps, "acaps.csv");
    let swapped = import_measures(&b, &reversed, &options(Format::Acaps)).unwrap();

    assert_eq!(
        (original.measures, original.merged_rows),
        (swapped.measures, swapped.merged_rows)
    );
    assert_eq!(export_bytes(&a), export_bytes(&b));
}

#[test]
fn the_country_filter_keeps_only_the_named_countries() {
    let store = store();
    let mut only_hnd = options(Format::Coronanet);
    only_hnd.countries = Some([CountryCode::parse("HND").unwrap()].into());

    let summary = import_measures(&store, &fixture("coronanet.csv"), &only_hnd).unwrap();

    assert!(has_measure(&store, "M-HND-CN-100"));
    assert!(!has_measure(&store, "M-SVN-CN-300"));
    assert!(!has_measure(&store, "M-NGA-CN-500"));
    // SVN's two rows, NGA's and the unknown country's are skipped, not refused.
    assert_eq!(summary.skipped, 4);
    assert_eq!(summary.measures, 2);
    assert_eq!(
        refused(&summary),
        BTreeMap::from([(
            "CoronaNet type \"Other Policy Not Listed Above\" is not in the crosswalk",
            1
        )])
    );
}

#[test]
fn unknown_types_are_refused_by_name_and_listed_with_their_line() {
    let store = store();

    let summary = run(&store, Format::Coronanet, "coronanet.csv");

    assert_eq!(
        refused(&summary),
        BTreeMap::from([
            (
                "CoronaNet type \"Other Policy Not Listed Above\" is not in the crosswalk",
                1
            ),
            ("country XKX is not in the store", 1),
        ])
    );
    let listed: Vec<String> = summary.refused_rows.iter().map(|p| p.to_string()).collect();
    let file = fixture("coronanet.csv").display().to_string();
    assert!(
        listed.contains(&format!(
            "{file}:9: CoronaNet type \"Other Policy Not Listed Above\" is not in the crosswalk"
        )),
        "{listed:?}"
    );
    assert!(
        summary.to_string().contains("refused, by reason:"),
        "{summary}"
    );
}

#[test]
fn a_dry_run_counts_what_would_change_and_writes_nothing() {
    let store = store();
    let before = counts(&store);
    let mut dry = options(Format::Acaps);
    dry.dry_run = true;

    let summary = import_measures(&store, &fixture("acaps.csv"), &dry).unwrap();

    assert_eq!(summary.measures, 6);
    assert_eq!(counts(&store), before);
}

/// The trackers' real samples, when the shared sources folder is next to the checkout. The
/// fixtures above cover every rule; this checks the importer against the real files and
/// prints what each maps, merges and refuses.
#[test]
fn the_trackers_sample_files_import_when_present() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/dataset/sources");
    let samples = [
        (Format::Oxcgrt, "oxcgrt/OxCGRT_latest_responses_2020-09.csv"),
        (
            Format::Coronanet,
            "coronanet/coronanet_release_Honduras.csv",
        ),
        (Format::Acaps, "acaps/acaps_sample_HND_SVN.csv"),
    ];
    let store = store();
    for (format, file) in samples {
        let path = shared.join(file);
        if !path.exists() {
            eprintln!("note: {} is not here; skipped", path.display());
            continue;
        }
        let summary = import_measures(&store, &path, &options(format))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        eprintln!("{file}:\n{summary}");
        assert!(summary.measures > 0, "{file}");
        assert_eq!(summary.created, summary.measures, "{file}");
        // Every row is accounted for: it begins a measure, is merged into one, or is refused.
        assert_eq!(
            summary.measures + summary.merged_rows + summary.refused_total(),
            summary.rows_read,
            "{file}"
        );
        let again = import_measures(&store, &path, &options(format)).unwrap();
        assert_eq!(again.unchanged, summary.measures, "{file}");
    }
    assert_clean(&store);
}

/// Runs the real binary on a store folder, waiting for sled to release the folder's lock
/// (it does so from a background thread shortly after the last handle is dropped).
fn cli(store: &Path, args: &[&str]) -> std::process::Output {
    for _ in 0..100 {
        let out = std::process::Command::new(common::bin())
            .arg("--data")
            .arg(store)
            .args(args)
            .env_remove("RECOVER_BETTER_DATA")
            .env_remove("RUST_LOG")
            .output()
            .expect("the binary runs");
        if !String::from_utf8_lossy(&out.stderr).contains("is in use by another process") {
            return out;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the store at {} stayed locked", store.display());
}

#[test]
fn the_command_prints_the_summary_and_refuses_a_malformed_file_with_exit_status_one() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        import(&store, &DefaultDataset, ImportOptions::default()).unwrap();
    }
    let file = fixture("acaps.csv");
    let bad = fixture("acaps_malformed.csv");

    let ok = cli(
        dir.path(),
        &[
            "import-measures",
            "--format",
            "acaps",
            file.to_str().unwrap(),
            "--country",
            "SVN",
        ],
    );
    let refused = cli(
        dir.path(),
        &[
            "import-measures",
            "--format",
            "acaps",
            bad.to_str().unwrap(),
        ],
    );

    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let count = |what: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(what))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no count of {what:?} in {stdout}"))
    };
    assert_eq!(count("rows skipped (--country)"), 7);
    assert_eq!(count("measures "), 2);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:3: ID 1 is already on line 2", bad.display())),
        "{stderr}"
    );
    let store = (0..100)
        .find_map(|_| {
            Store::open(dir.path()).ok().or_else(|| {
                std::thread::sleep(std::time::Duration::from_millis(50));
                None
            })
        })
        .expect("the store opens");
    assert!(has_measure(&store, "M-SVN-ACAPS-6"));
    assert!(
        !has_measure(&store, "M-HND-ACAPS-1"),
        "--country SVN left Honduras out"
    );
}
