//! Bad input is reported as `file:line: reason`, every problem in file order, and nothing of
//! the dataset is written: the store holds exactly what it held before.

mod common;

use std::collections::BTreeMap;

use common::{
    assert_clean, assert_same_files, counts, export_bytes, import_dir, store_with_small_dataset,
    Dataset,
};
use recover_better::dataset::DatasetError;
use recover_better::model::Ref;
use recover_better::store::{Entity, Store};

const RECS: &str = "recommendations.jsonl";
const MEASURES: &str = "measures.jsonl";
const LINKS: &str = "links.jsonl";
const GPS: &str = "good_practices.jsonl";

/// The small dataset plus changes an import would really make (an update and a new record),
/// so that a rejected import has something it must not write.
fn dataset_with_real_changes() -> Dataset {
    let mut d = Dataset::small();
    d.replace(
        RECS,
        2,
        r#""response":"NOTED""#,
        r#""response":"SUPPORTED""#,
    );
    d.push(
        MEASURES,
        r#"{"id":"M-BDI-001","country":"BDI","title":"Prisoner releases","description":"Release of prisoners at risk.","category":"JUSTICE","start_date":"2020-05-01","themes":["justice"],"groups":[],"sdgs":[16]}"#,
    );
    d
}

/// A store holding the small dataset after an import of another dataset was refused, with
/// what it held before.
struct Refusal {
    store: Store,
    export_before: BTreeMap<&'static str, Vec<u8>>,
    counts_before: Vec<(Entity, u64)>,
    message: String,
}

/// Imports `dataset` into a store holding the small dataset, and expects it to be refused.
fn import_refused(dataset: &Dataset) -> Refusal {
    let store = store_with_small_dataset();
    let export_before = export_bytes(&store);
    let counts_before = counts(&store);
    let dir = dataset.write_temp();

    let err = import_dir(&store, dir.path()).expect_err("the import must be refused");

    assert!(matches!(err, DatasetError::Invalid(_)), "{err:?}");
    Refusal {
        store,
        export_before,
        counts_before,
        message: err.to_string(),
    }
}

impl Refusal {
    /// The store holds what it held before: the same counts, the same export byte for byte,
    /// the recommendation the dataset would update still at version 1, a clean check.
    fn assert_store_unchanged(&self) {
        assert_eq!(counts(&self.store), self.counts_before, "counts changed");
        assert_same_files(&export_bytes(&self.store), &self.export_before);
        let (_, r) = self
            .store
            .recommendation(&Ref::parse("R-36-HND-002").unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(r.version, 1, "the updated recommendation was written");
        assert_clean(&self.store);
    }
}

/// The import of `dataset` is refused with exactly the problem lines `expected`, and the
/// store is unchanged.
fn assert_refused(dataset: &Dataset, expected: &[&str]) {
    let refusal = import_refused(dataset);
    assert_eq!(refusal.message, report(expected));
    refusal.assert_store_unchanged();
}

/// The message for a refused import with exactly these problem lines.
fn report(lines: &[&str]) -> String {
    let mut s = format!(
        "the dataset has {} problem(s); nothing was imported",
        lines.len()
    );
    for l in lines {
        s.push('\n');
        s.push_str(l);
    }
    s
}

#[test]
fn the_valid_dataset_with_changes_imports() {
    // The control: without the bad line, the same import is accepted.
    let store = store_with_small_dataset();
    let dir = dataset_with_real_changes().write_temp();

    let summary = import_dir(&store, dir.path()).unwrap();

    let total = summary.total();
    assert_eq!((total.created, total.updated), (1, 1));
}

#[test]
fn malformed_json_names_the_line() {
    let mut d = dataset_with_real_changes();
    d.set(RECS, 3, r#"{"id":"R-36-USA-001","text":"Extend income"#);

    assert_refused(
        &d,
        &["recommendations.jsonl:3: not valid JSON (EOF while parsing a string)"],
    );
}

#[test]
fn trailing_garbage_after_a_record_is_malformed_json() {
    let mut d = dataset_with_real_changes();
    let line = format!("{} x", d.line(RECS, 4));
    d.set(RECS, 4, &line);

    assert_refused(
        &d,
        &["recommendations.jsonl:4: not valid JSON (trailing characters)"],
    );
}

#[test]
fn a_missing_required_field_is_named() {
    let mut d = dataset_with_real_changes();
    d.replace(MEASURES, 2, r#""title":"Emergency income support","#, "");

    assert_refused(&d, &["measures.jsonl:2: missing field `title`"]);
}

#[test]
fn an_unknown_enum_value_lists_the_allowed_ones() {
    let mut d = dataset_with_real_changes();
    d.replace(RECS, 4, r#""response":"PENDING""#, r#""response":"MAYBE""#);

    assert_refused(&d, &["recommendations.jsonl:4: response: unknown variant `MAYBE`, expected one of `SUPPORTED`, `NOTED`, `PENDING`, `PARTIALLY_SUPPORTED`"]);
}

#[test]
fn an_unknown_theme_slug_is_named() {
    let mut d = dataset_with_real_changes();
    d.replace(
        RECS,
        1,
        r#""themes":["right-to-health","covid-19"]"#,
        r#""themes":["right-to-health","no-such-theme"]"#,
    );

    assert_refused(
        &d,
        &[r#"recommendations.jsonl:1: themes: unknown theme slug "no-such-theme""#],
    );
}

#[test]
fn an_unknown_group_slug_is_named() {
    let mut d = dataset_with_real_changes();
    d.replace(
        MEASURES,
        2,
        r#""groups":["women"]"#,
        r#""groups":["women","pensioners"]"#,
    );

    assert_refused(
        &d,
        &[r#"measures.jsonl:2: groups: unknown group slug "pensioners""#],
    );
}

#[test]
fn a_malformed_slug_is_named_with_its_field() {
    let mut d = dataset_with_real_changes();
    d.replace(
        MEASURES,
        3,
        r#""themes":["justice"]"#,
        r#""themes":["Justice"]"#,
    );

    assert_refused(
        &d,
        &[
            r#"measures.jsonl:3: themes[0]: "Justice" is not a slug (lower-case words of a-z and 0-9 joined by '-')"#,
        ],
    );
}

#[test]
fn an_invalid_country_code_format_is_named_with_its_field() {
    let mut d = dataset_with_real_changes();
    d.replace(
        RECS,
        2,
        r#""state_under_review":"HND""#,
        r#""state_under_review":"hnd""#,
    );

    assert_refused(
        &d,
        &[
            r#"recommendations.jsonl:2: state_under_review: "hnd" is not an ISO 3166-1 alpha-3 code (three upper-case letters)"#,
        ],
    );
}

#[test]
fn an_invalid_country_code_in_a_list_names_its_position() {
    let mut d = dataset_with_real_changes();
    d.replace(
        RECS,
        2,
        r#""recommending_states":["UKR","USA"]"#,
        r#""recommending_states":["UKR","US"]"#,
    );

    assert_refused(
        &d,
        &[
            r#"recommendations.jsonl:2: recommending_states[1]: "US" is not an ISO 3166-1 alpha-3 code (three upper-case letters)"#,
        ],
    );
}

#[test]
fn a_recommendation_in_an_unknown_session_is_a_dangling_reference() {
    let mut d = dataset_with_real_changes();
    d.replace(RECS, 4, r#""session":37"#, r#""session":38"#);

    assert_refused(
        &d,
        &["recommendations.jsonl:4: session=38 does not resolve (no such session)"],
    );
}

#[test]
fn a_measure_of_an_unknown_country_is_a_dangling_reference() {
    let mut d = dataset_with_real_changes();
    d.replace(MEASURES, 4, r#""country":"BDI""#, r#""country":"FRA""#);

    assert_refused(
        &d,
        &[r#"measures.jsonl:4: country="FRA" does not resolve (no such country)"#],
    );
}

#[test]
fn a_link_to_an_unknown_measure_is_a_dangling_reference() {
    let mut d = dataset_with_real_changes();
    d.replace(
        LINKS,
        2,
        r#""measure":"M-USA-001""#,
        r#""measure":"M-USA-999""#,
    );

    assert_refused(
        &d,
        &[r#"links.jsonl:2: measure="M-USA-999" does not resolve (no such measure)"#],
    );
}

#[test]
fn a_good_practice_citing_an_unknown_recommendation_is_a_dangling_reference() {
    let mut d = dataset_with_real_changes();
    d.replace(
        GPS,
        1,
        r#""recommendations":["R-36-HND-001"]"#,
        r#""recommendations":["R-36-HND-001","R-36-HND-404"]"#,
    );

    assert_refused(
        &d,
        &[
            r#"good_practices.jsonl:1: recommendations="R-36-HND-404" does not resolve (no such recommendation)"#,
        ],
    );
}

#[test]
fn a_duplicate_id_names_the_line_of_its_first_occurrence() {
    let mut d = dataset_with_real_changes();
    let dup = d
        .line(RECS, 1)
        .replace("Guarantee access", "Guarantee free access");
    d.push(RECS, &dup);

    assert_refused(
        &d,
        &[
            r#"recommendations.jsonl:5: duplicate recommendation id "R-36-HND-001" (first at recommendations.jsonl:1)"#,
        ],
    );
}

#[test]
fn a_duplicate_link_names_the_line_of_its_first_occurrence() {
    let mut d = dataset_with_real_changes();
    let dup = d
        .line(LINKS, 2)
        .replace("PARTIALLY_IMPLEMENTS", "IMPLEMENTS");
    d.push(LINKS, &dup);

    assert_refused(
        &d,
        &[
            r#"links.jsonl:4: duplicate link ("R-36-USA-001", "M-USA-001") (first at links.jsonl:2)"#,
        ],
    );
}

#[test]
fn a_state_under_review_missing_from_its_session_is_refused() {
    let mut d = dataset_with_real_changes();
    d.replace(
        RECS,
        4,
        r#""state_under_review":"UKR""#,
        r#""state_under_review":"PRT""#,
    );

    assert_refused(
        &d,
        &[
            r#"recommendations.jsonl:4: state_under_review="PRT" is not among the states_under_review of session 37"#,
        ],
    );
}

#[test]
fn a_bad_record_in_the_last_file_rolls_back_every_file_before_it() {
    let mut d = dataset_with_real_changes();
    // New records in the first and middle files, and one bad link at the very end.
    d.push(
        "taxonomy/groups.jsonl",
        r#"{"slug":"migrants","name":"Migrants"}"#,
    );
    d.push(
        "countries.jsonl",
        r#"{"code":"FRA","iso2":"FR","name":"France"}"#,
    );
    d.push(
        LINKS,
        r#"{"recommendation":"R-36-HND-002","measure":"M-BDI-404","relation":"RELATED"}"#,
    );

    assert_refused(
        &d,
        &[r#"links.jsonl:4: measure="M-BDI-404" does not resolve (no such measure)"#],
    );
}

#[test]
fn parse_problems_name_the_file_the_line_and_the_field() {
    // The messages alone (whether the store is left alone is asserted case by case above).
    let mut d = dataset_with_real_changes();
    d.set(
        "cycles.jsonl",
        1,
        r#"{"number":3,"start_date":"2017-05-01","end_date":"2022-02-04""#,
    );
    d.replace(
        RECS,
        1,
        r#""state_under_review":"HND""#,
        r#""state_under_review":"hnd""#,
    );
    d.replace(
        RECS,
        2,
        r#""recommending_states":["UKR","USA"]"#,
        r#""recommending_states":["UKR","US"]"#,
    );
    d.replace(RECS, 4, r#""response":"PENDING""#, r#""response":"MAYBE""#);
    d.replace(MEASURES, 2, r#""title":"Emergency income support","#, "");
    d.replace(
        MEASURES,
        3,
        r#""themes":["justice"]"#,
        r#""themes":["Justice"]"#,
    );
    let dup = d.line(GPS, 1).to_owned();
    d.push(GPS, &dup);

    assert_eq!(
        import_refused(&d).message,
        report(&[
            "cycles.jsonl:1: not valid JSON (EOF while parsing an object)",
            r#"recommendations.jsonl:1: state_under_review: "hnd" is not an ISO 3166-1 alpha-3 code (three upper-case letters)"#,
            r#"recommendations.jsonl:2: recommending_states[1]: "US" is not an ISO 3166-1 alpha-3 code (three upper-case letters)"#,
            "recommendations.jsonl:4: response: unknown variant `MAYBE`, expected one of `SUPPORTED`, `NOTED`, `PENDING`, `PARTIALLY_SUPPORTED`",
            "measures.jsonl:2: missing field `title`",
            r#"measures.jsonl:3: themes[0]: "Justice" is not a slug (lower-case words of a-z and 0-9 joined by '-')"#,
            r#"good_practices.jsonl:2: duplicate good practice id "GP-001" (first at good_practices.jsonl:1)"#,
        ])
    );
}

#[test]
fn every_problem_is_listed_in_file_order() {
    let mut d = dataset_with_real_changes();
    // Planted from the last file to the first: the report must still run in file order.
    d.replace(
        LINKS,
        3,
        r#""relation":"RELATED""#,
        r#""relation":"RELATES""#,
    );
    d.replace(
        LINKS,
        1,
        r#""measure":"M-HND-001""#,
        r#""measure":"M-HND-404""#,
    );
    d.replace(
        MEASURES,
        2,
        r#""groups":["women"]"#,
        r#""groups":["pensioners"]"#,
    );
    d.replace(
        MEASURES,
        2,
        r#""themes":["poverty"]"#,
        r#""themes":["wealth"]"#,
    );
    d.replace(RECS, 2, r#""session":36"#, r#""session":99"#);
    d.push("countries.jsonl", r#"{"code":"fra","name":"France"}"#);
    d.set(
        "taxonomy/sdgs.jsonl",
        2,
        r#"{"goal":30,"name":"Good health"}"#,
    );

    assert_refused(
        &d,
        &[
            "taxonomy/sdgs.jsonl:2: goal: SDG goal 30 is not between 1 and 17",
            r#"countries.jsonl:6: code: "fra" is not an ISO 3166-1 alpha-3 code (three upper-case letters)"#,
            "recommendations.jsonl:2: session=99 does not resolve (no such session)",
            r#"measures.jsonl:2: themes: unknown theme slug "wealth""#,
            r#"measures.jsonl:2: groups: unknown group slug "pensioners""#,
            r#"links.jsonl:1: measure="M-HND-404" does not resolve (no such measure)"#,
            "links.jsonl:3: relation: unknown variant `RELATES`, expected one of `IMPLEMENTS`, `PARTIALLY_IMPLEMENTS`, `RELATED`, `CONTRADICTS`",
        ],
    );
}

#[test]
fn more_than_a_hundred_problems_print_a_hundred_and_how_many_more() {
    let mut d = dataset_with_real_changes();
    for i in 1..=130 {
        d.push(
            RECS,
            &format!(
                r#"{{"id":"R-99-HND-{i:03}","text":"Do more.","state_under_review":"HND","recommending_states":["PRT"],"session":99,"response":"SUPPORTED","themes":[],"groups":[],"sdgs":[]}}"#
            ),
        );
    }

    let refusal = import_refused(&d);
    refusal.assert_store_unchanged();
    let message = refusal.message;

    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 1 + 100 + 1, "{message}");
    assert_eq!(
        lines[0],
        "the dataset has 130 problem(s); nothing was imported"
    );
    for (i, line) in lines[1..=100].iter().enumerate() {
        assert_eq!(
            *line,
            format!(
                "recommendations.jsonl:{}: session=99 does not resolve (no such session)",
                i + 5
            )
        );
    }
    assert_eq!(lines[101], "... and 30 more");
}

#[test]
fn a_folder_without_any_dataset_file_is_not_a_dataset() {
    let store = store_with_small_dataset();
    let counts_before = counts(&store);
    let empty = tempfile::tempdir().unwrap();

    let err = import_dir(&store, empty.path()).unwrap_err();

    assert!(matches!(err, DatasetError::NotADataset(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: not a dataset folder (none of countries.jsonl, recommendations.jsonl, taxonomy/themes.jsonl, ... is there)",
            empty.path().display()
        )
    );
    assert_eq!(counts(&store), counts_before);
}

const CONCERNS: &str = "concerns.jsonl";
const ACTIONS: &str = "actions.jsonl";

#[test]
fn a_concern_whose_measure_or_country_does_not_resolve_names_its_line() {
    let mut d = dataset_with_real_changes();
    d.replace(
        CONCERNS,
        1,
        r#""measures":["M-HND-001"]"#,
        r#""measures":["M-HND-404"]"#,
    );
    d.replace(
        CONCERNS,
        2,
        r#""countries":["BDI","UKR"]"#,
        r#""countries":["BDI","XXX"]"#,
    );

    assert_refused(
        &d,
        &[
            r#"concerns.jsonl:1: measures="M-HND-404" does not resolve (no such measure)"#,
            r#"concerns.jsonl:2: countries="XXX" does not resolve (no such country)"#,
        ],
    );
}

#[test]
fn a_concern_with_an_unknown_kind_or_no_country_names_the_field() {
    let mut d = dataset_with_real_changes();
    d.replace(CONCERNS, 1, r#""kind":"TREND""#, r#""kind":"RUMOUR""#);
    d.replace(
        CONCERNS,
        2,
        r#""countries":["BDI","UKR"]"#,
        r#""countries":[]"#,
    );

    let refusal = import_refused(&d);

    let lines: Vec<&str> = refusal.message.lines().skip(1).collect();
    assert_eq!(lines.len(), 2, "{}", refusal.message);
    assert!(
        lines[0].starts_with("concerns.jsonl:1: kind: unknown variant `RUMOUR`"),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        "concerns.jsonl:2: countries must hold at least one State"
    );
    refusal.assert_store_unchanged();
}

#[test]
fn an_action_citing_a_missing_concern_or_ending_before_it_starts_names_its_line() {
    let mut d = dataset_with_real_changes();
    d.replace(
        ACTIONS,
        1,
        r#""concerns":["C-UKR-001"]"#,
        r#""concerns":["C-UKR-404"]"#,
    );
    d.push(
        ACTIONS,
        r#"{"id":"A-UKR-002","countries":["UKR"],"title":"Training","description":"Training of judges.","kind":"GUIDANCE_AND_TECHNICAL_SUPPORT","start_date":"2020-06-01","end_date":"2020-05-01","themes":[],"groups":[],"sdgs":[],"source":"Test fixture"}"#,
    );

    assert_refused(
        &d,
        &[
            r#"actions.jsonl:1: concerns="C-UKR-404" does not resolve (no such concern)"#,
            "actions.jsonl:2: end_date 2020-05-01 is before start_date 2020-06-01",
        ],
    );
}

#[test]
fn a_duplicate_concern_id_names_both_lines() {
    let mut d = dataset_with_real_changes();
    let first = d.line(CONCERNS, 1).to_owned();
    d.push(CONCERNS, &first);

    assert_refused(
        &d,
        &[r#"concerns.jsonl:3: duplicate concern id "C-HND-001" (first at concerns.jsonl:1)"#],
    );
}
