//! Writers who race, send too much, or lean on the wording of errors: no write silently
//! overwrites another, every text and list has a limit that import and mutations share, and
//! an error's code follows from what happened, never from how it is worded.

use serde_json::{json, Value};

use recover_better::dataset::DatasetError;
use recover_better::graphql::errors::{code, ClientError};
use recover_better::model::{limits, Ref, Refusal, RefusalKind, Role};
use recover_better::store::{check, StoreError};

use crate::common::{import_dir, store_with_small_dataset, Dataset};
use crate::harness::*;

/// The link of the small dataset that exists from the start (version 1).
const REC: &str = "R-36-HND-001";
const MEASURE: &str = "M-HND-001";

fn assert_clean(s: &Server) {
    let report = check::check(s.live.store()).unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
}

fn link_input(rec: &str, measure: &str, note: &str) -> Value {
    json!({ "input": { "recommendation": rec, "measure": measure, "relation": "IMPLEMENTS", "note": note } })
}

/// The stored link's note and version, as a new query sees them.
async fn stored_link(s: &Server, rec: &str, measure: &str) -> Option<(Value, i64)> {
    let d = s
        .read(
            "query($r: String!) { recommendation(ref: $r) { links { measure { ref } note version } } }",
            json!({ "r": rec }),
        )
        .await;
    d["recommendation"]["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["measure"]["ref"] == measure)
        .map(|l| (l["note"].clone(), l["version"].as_i64().unwrap()))
}

#[tokio::test]
async fn changing_a_link_without_its_expected_version_is_a_conflict_not_an_overwrite() {
    let s = server().await;
    let before = s.live.store().count_changes(None).unwrap();

    let r = s
        .as_editor(LINK, link_input(REC, MEASURE, "My own reading."))
        .await;

    assert_eq!(r.code(), "CONFLICT", "{}", r.body);
    assert_eq!(r.error()["extensions"]["currentVersion"], 1);
    assert!(
        r.error()["message"]
            .as_str()
            .unwrap()
            .contains("expectedVersion"),
        "{}",
        r.body
    );
    assert_eq!(
        stored_link(&s, REC, MEASURE).await,
        Some((json!("Free testing for older persons."), 1))
    );
    assert_eq!(s.live.store().count_changes(None).unwrap(), before);

    // Repeating the link as it is stays a harmless no-op.
    let same = s
        .as_editor(
            LINK,
            link_input(REC, MEASURE, "Free testing for older persons."),
        )
        .await;
    assert_eq!(same.data()["linkRecommendation"]["changed"], false);

    // With the version it rests on, the change goes through.
    let mut input = link_input(REC, MEASURE, "My own reading.");
    input["input"]["expectedVersion"] = json!(1);
    let ok = s.as_editor(LINK, input.clone()).await;
    assert_eq!(ok.data()["linkRecommendation"]["changed"], true);
    assert_eq!(ok.data()["linkRecommendation"]["link"]["version"], 2);
    // The same base again is stale now.
    input["input"]["note"] = json!("Another reading.");
    let stale = s.as_editor(LINK, input).await;
    assert_eq!(
        (stale.code(), &stale.error()["extensions"]["currentVersion"]),
        ("CONFLICT", &json!(2))
    );
    assert_clean(&s);
}

/// Races of two writers on one link, several dozen times: a create without a version, a
/// change without a version, and a change on the same version. Never do both win.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_racing_on_one_link_never_both_win() {
    let s = server().await;
    // R-36-HND-002 and M-USA-001 are not linked in the small dataset.
    let (rec, measure) = ("R-36-HND-002", "M-USA-001");
    let outcome = |r: &Reply| -> (bool, Option<i64>) {
        match r.body.get("errors") {
            None => (
                r.body["data"]["linkRecommendation"]["changed"] == true,
                None,
            ),
            Some(_) => {
                assert_eq!(r.code(), "CONFLICT", "{}", r.body);
                (false, r.error()["extensions"]["currentVersion"].as_i64())
            }
        }
    };
    for round in 0..30 {
        // Two creates with different notes and no version: one creates, one is refused.
        let (a, b) = (format!("a{round}"), format!("b{round}"));
        let (ra, rb) = tokio::join!(
            s.as_editor(LINK, link_input(rec, measure, &a)),
            s.as_admin(LINK, link_input(rec, measure, &b)),
        );
        let (oa, ob) = (outcome(&ra), outcome(&rb));
        assert!(
            oa.0 ^ ob.0,
            "round {round}: exactly one create wins: {} / {}",
            ra.body,
            rb.body
        );
        let winner = if oa.0 { &a } else { &b };
        assert_eq!(oa.1.or(ob.1), Some(1), "round {round}");
        assert_eq!(
            stored_link(&s, rec, measure).await,
            Some((json!(winner), 1)),
            "round {round}"
        );

        // Two changes without a version: both refused, the link stays the winner's.
        let (ra, rb) = tokio::join!(
            s.as_editor(LINK, link_input(rec, measure, "c")),
            s.as_admin(LINK, link_input(rec, measure, "d")),
        );
        assert_eq!(
            (outcome(&ra), outcome(&rb)),
            ((false, Some(1)), (false, Some(1)))
        );
        assert_eq!(
            stored_link(&s, rec, measure).await,
            Some((json!(winner), 1))
        );

        // Two changes on the same version: one wins, the other learns the new version.
        let on_v1 = |note: &str| {
            let mut i = link_input(rec, measure, note);
            i["input"]["expectedVersion"] = json!(1);
            i
        };
        let (ra, rb) = tokio::join!(s.as_editor(LINK, on_v1("e")), s.as_admin(LINK, on_v1("f")),);
        let (oa, ob) = (outcome(&ra), outcome(&rb));
        assert!(oa.0 ^ ob.0, "round {round}: {} / {}", ra.body, rb.body);
        assert_eq!(oa.1.or(ob.1), Some(2), "round {round}");
        let note = if oa.0 { "e" } else { "f" };
        assert_eq!(stored_link(&s, rec, measure).await, Some((json!(note), 2)));

        s.as_editor(
            UNLINK,
            json!({ "input": { "recommendation": rec, "measure": measure, "expectedVersion": 2 } }),
        )
        .await
        .data();
    }
    assert_clean(&s);
}

#[tokio::test]
async fn an_explicit_null_clears_the_note_and_evidence_of_a_link() {
    let s = server().await;
    let link = |extra: Value| {
        let mut i = json!({ "recommendation": "R-36-USA-001", "measure": "M-USA-001",
                            "relation": "PARTIALLY_IMPLEMENTS", "status": "SUGGESTED" });
        for (k, v) in extra.as_object().unwrap() {
            i[k] = v.clone();
        }
        json!({ "input": i })
    };
    // Set a note; the evidence URL, left out, stays.
    let r = s
        .as_editor(
            LINK,
            link(json!({ "expectedVersion": 1, "note": "Partly, for women." })),
        )
        .await;
    assert_eq!(
        (
            &r.data()["linkRecommendation"]["link"]["note"],
            &r.data()["linkRecommendation"]["link"]["evidenceUrl"]
        ),
        (
            &json!("Partly, for women."),
            &json!("https://example.org/evidence/1")
        )
    );
    // Both left out: both stay, nothing changes.
    let r = s.as_editor(LINK, link(json!({}))).await;
    assert_eq!(r.data()["linkRecommendation"]["changed"], false);
    // Both null: both cleared.
    let r = s
        .as_editor(
            LINK,
            link(json!({ "expectedVersion": 2, "note": null, "evidenceUrl": null })),
        )
        .await;
    let p = &r.data()["linkRecommendation"];
    assert_eq!(p["changed"], true);
    assert_eq!(
        (
            &p["link"]["note"],
            &p["link"]["evidenceUrl"],
            &p["link"]["version"]
        ),
        (&Value::Null, &Value::Null, &json!(3))
    );
    assert_clean(&s);
}

const CREATE_MEASURE: &str =
    "mutation($input: CreateMeasureInput!) { createMeasure(input: $input) { measure { ref } } }";

fn new_measure(description: &str) -> Value {
    json!({ "input": { "ref": "M-HND-LONG", "country": "HND", "title": "Curfew",
                       "description": description, "category": "HEALTH", "startDate": "2020-03-20" } })
}

#[tokio::test]
async fn an_over_long_description_is_refused_naming_the_field_and_the_limit() {
    let s = server().await;
    let before = s.live.store().count_changes(None).unwrap();

    let r = s
        .as_editor(CREATE_MEASURE, new_measure(&"x".repeat(104_857)))
        .await;

    assert_eq!(r.code(), "BAD_USER_INPUT", "{}", r.body);
    let e = r.error();
    assert_eq!(e["extensions"]["field"], "input.description");
    assert_eq!(e["extensions"]["limit"], 20_000);
    assert_eq!(
        e["message"],
        "input.description: description: 104,857 characters is over the limit of 20,000"
    );
    // At the limit it is fine; characters are counted, not bytes.
    let r = s
        .as_editor(CREATE_MEASURE, new_measure(&"é".repeat(limits::LONG_TEXT)))
        .await;
    assert_eq!(r.data()["createMeasure"]["measure"]["ref"], "M-HND-LONG");
    // An update over the limit is refused the same way.
    let update =
        "mutation($input: UpdateMeasureInput!) { updateMeasure(input: $input) { changed } }";
    let r = s
        .as_editor(
            update,
            json!({ "input": { "ref": "M-HND-LONG", "expectedVersion": 1, "title": "t".repeat(501) } }),
        )
        .await;
    assert_eq!(
        (
            r.code(),
            &r.error()["extensions"]["field"],
            &r.error()["extensions"]["limit"]
        ),
        ("BAD_USER_INPUT", &json!("input.title"), &json!(500))
    );
    assert_eq!(s.live.store().count_changes(None).unwrap(), before + 1);
    assert_clean(&s);
}

#[tokio::test]
async fn every_text_and_list_of_an_input_has_a_limit() {
    let s = server().await;
    let link = |k: &str, v: Value| {
        let mut i = json!({ "recommendation": "R-36-HND-002", "measure": "M-UKR-001", "relation": "RELATED" });
        i[k] = v;
        json!({ "input": i })
    };
    let create_gp = "mutation($input: CreateGoodPracticeInput!) { createGoodPractice(input: $input) { changed } }";
    let gp = |k: &str, v: Value| {
        let mut i = json!({ "ref": "GP-LONG", "title": "t", "description": "d" });
        i[k] = v;
        json!({ "input": i })
    };
    let create_rec = "mutation($input: CreateRecommendationInput!) { createRecommendation(input: $input) { changed } }";
    let rec = |k: &str, v: Value| {
        let mut i = json!({ "ref": "R-36-HND-LONG", "text": "t", "stateUnderReview": "HND",
                            "recommendingStates": ["PRT"], "session": 36, "response": "PENDING" });
        i[k] = v;
        json!({ "input": i })
    };
    let long = |n: usize| json!("a".repeat(n));
    let many =
        |n: usize, each: &dyn Fn(usize) -> Value| json!((0..n).map(each).collect::<Vec<_>>());
    let slug = |i: usize| json!(format!("s-{i}"));
    let country = |_: usize| json!("HND");
    let reference = |i: usize| json!(format!("M-{i}"));
    let cases: Vec<(&str, Value, &str, u64)> = vec![
        (LINK, link("note", long(5_001)), "input.note", 5_000),
        (
            LINK,
            link(
                "evidenceUrl",
                json!(format!("https://e.org/{}", "a".repeat(2_048))),
            ),
            "input.evidenceUrl",
            2_048,
        ),
        (create_gp, gp("title", long(501)), "input.title", 500),
        (
            create_gp,
            gp("description", long(20_001)),
            "input.description",
            20_000,
        ),
        (create_gp, gp("source", long(1_001)), "input.source", 1_000),
        (
            create_gp,
            gp("themes", many(101, &slug)),
            "input.themes",
            100,
        ),
        (
            create_gp,
            gp("groups", many(101, &slug)),
            "input.groups",
            100,
        ),
        (
            create_gp,
            gp("sdgs", many(18, &|i| json!(i % 17 + 1))),
            "input.sdgs",
            17,
        ),
        (
            create_gp,
            gp("countries", many(251, &country)),
            "input.countries",
            250,
        ),
        (
            create_gp,
            gp("measures", many(1_001, &reference)),
            "input.measures",
            1_000,
        ),
        (create_rec, rec("text", long(20_001)), "input.text", 20_000),
        (
            create_rec,
            rec("document", long(101)),
            "input.document",
            100,
        ),
        (
            create_rec,
            rec("recommendingStates", many(251, &country)),
            "input.recommendingStates",
            250,
        ),
        (
            CREATE_MEASURE,
            {
                let mut m = new_measure("d");
                m["input"]["sourceUrl"] = json!(format!("https://e.org/{}", "a".repeat(2_048)));
                m
            },
            "input.sourceUrl",
            2_048,
        ),
    ];
    let before = s.live.store().count_changes(None).unwrap();
    for (query, vars, field, limit) in cases {
        let r = s.as_admin(query, vars).await;
        assert_eq!(r.code(), "BAD_USER_INPUT", "{field}: {}", r.body);
        assert_eq!(r.error()["extensions"]["field"], field, "{}", r.body);
        assert_eq!(r.error()["extensions"]["limit"], limit, "{}", r.body);
        let m = r.error()["message"].as_str().unwrap();
        assert!(
            m.contains(&format!(
                "over the limit of {}",
                limits::grouped(limit as usize)
            )),
            "{m}"
        );
        // The message says how long, never echoes the text.
        assert!(m.len() < 200, "{m}");
    }
    // A token's name too.
    let r = s
        .as_admin(
            "mutation($input: CreateTokenInput!) { createToken(input: $input) { name } }",
            json!({ "input": { "name": "n".repeat(65), "role": "READER" } }),
        )
        .await;
    assert_eq!(
        (
            r.code(),
            &r.error()["extensions"]["field"],
            &r.error()["extensions"]["limit"]
        ),
        ("BAD_USER_INPUT", &json!("input.name"), &json!(64))
    );
    assert_eq!(s.live.store().count_changes(None).unwrap(), before);
    assert_clean(&s);
}

#[test]
fn an_import_refuses_an_over_long_description_as_file_line_reason() {
    let mut d = Dataset::small();
    d.replace(
        "measures.jsonl",
        2,
        "Cash transfers to households that lost income.",
        &"x".repeat(104_857),
    );
    let dir = d.write_temp();
    // Over a store that holds the small dataset, so the rest of the dataset resolves.
    let store = store_with_small_dataset();

    let err = import_dir(&store, dir.path()).expect_err("refused");

    let DatasetError::Invalid(problems) = &err else {
        panic!("{err:?}");
    };
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        ["measures.jsonl:2: description: 104,857 characters is over the limit of 20,000"]
    );
    let (_, kept) = store
        .measure(&Ref::parse("M-USA-001").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        kept.record.description,
        "Cash transfers to households that lost income."
    );
}

/// Every kind of refusal, with the code and extensions a client gets for it. The messages
/// are chosen to mislead: each says what another kind would, so a code derived from the
/// wording would come out wrong.
#[test]
fn every_kind_of_refusal_has_its_code_whatever_its_message_says() {
    let misleading = [
        "version conflict: expected version 1, but the stored version is 2",
        "no measure M-1 to delete",
        "country USA is still referenced by 1 measure(s) it took",
        "a token named \"x\" exists already",
        "themes: unknown theme slug \"x\"",
        "",
    ];
    let kinds: Vec<(RefusalKind, &str, Value)> = vec![
        (
            RefusalKind::Invalid,
            "BAD_USER_INPUT",
            json!({ "field": "input.sourceCode" }),
        ),
        (
            RefusalKind::Unresolved,
            "BAD_USER_INPUT",
            json!({ "field": "input.sourceCode" }),
        ),
        (
            RefusalKind::TooLong { limit: 7 },
            "BAD_USER_INPUT",
            json!({ "field": "input.sourceCode", "limit": 7 }),
        ),
        (
            RefusalKind::TooMany { limit: 9 },
            "BAD_USER_INPUT",
            json!({ "field": "input.sourceCode", "limit": 9 }),
        ),
        (RefusalKind::NotFound, "NOT_FOUND", json!({})),
        (
            RefusalKind::Conflict { current_version: 4 },
            "CONFLICT",
            json!({ "currentVersion": 4 }),
        ),
        (
            RefusalKind::AlreadyExists {
                current_version: Some(3),
            },
            "CONFLICT",
            json!({ "currentVersion": 3 }),
        ),
        (
            RefusalKind::AlreadyExists {
                current_version: None,
            },
            "CONFLICT",
            json!({}),
        ),
        (
            RefusalKind::StillReferenced {
                by: "2 good practice(s)".into(),
            },
            "FAILED_PRECONDITION",
            json!({}),
        ),
    ];
    // A new kind must be added above: this match has no wildcard.
    for (kind, _, _) in &kinds {
        match kind {
            RefusalKind::Invalid
            | RefusalKind::Unresolved
            | RefusalKind::TooLong { .. }
            | RefusalKind::TooMany { .. }
            | RefusalKind::NotFound
            | RefusalKind::Conflict { .. }
            | RefusalKind::AlreadyExists { .. }
            | RefusalKind::StillReferenced { .. } => {}
        }
    }
    for (kind, expected, extensions) in &kinds {
        assert_eq!(code(kind), *expected, "{kind:?}");
        for message in misleading {
            let refusal = Refusal::new(kind.clone(), Some("source_code"), message);
            // Through the store's error, as a mutation sees it.
            let err = recover_better::graphql::errors::store_error(StoreError::refused(refusal));
            let ext = err.extensions.as_ref().expect("extensions");
            let got = |k: &str| ext.get(k).map(|v| v.clone().into_json().unwrap());
            assert_eq!(got("code"), Some(json!(expected)), "{kind:?} {message:?}");
            for (k, v) in extensions.as_object().unwrap() {
                assert_eq!(got(k).as_ref(), Some(v), "{kind:?} {message:?}: {k}");
            }
            if *expected != "BAD_USER_INPUT" {
                assert_eq!(got("field"), None, "{kind:?}");
            }
        }
    }
    // The client errors that are not refusals of the store.
    let others = [
        (
            ClientError::Unauthenticated("version conflict".into()),
            "UNAUTHENTICATED",
        ),
        (
            ClientError::Forbidden {
                message: "no measure to delete".into(),
                required_role: Role::Admin,
            },
            "FORBIDDEN",
        ),
        (
            ClientError::Internal("exists already".into()),
            "INTERNAL_SERVER_ERROR",
        ),
        (
            ClientError::BadArgument {
                argument: "first".into(),
                message: "is still referenced by".into(),
            },
            "BAD_USER_INPUT",
        ),
    ];
    for (e, expected) in others {
        assert_eq!(e.code(), expected);
        let err = e.into_error();
        let got = err.extensions.as_ref().and_then(|x| x.get("code")).cloned();
        assert_eq!(got.map(|v| v.into_json().unwrap()), Some(json!(expected)));
    }
}

/// The store's refusals, end to end: each reaches the client with its code.
#[tokio::test]
async fn the_store_refusals_reach_the_client_with_their_codes() {
    let s = server().await;
    let del = "mutation($input: DeleteInput!) { deleteMeasure(input: $input) { deletedId } }";
    // Cited by a good practice.
    let r = s
        .as_editor(
            del,
            json!({ "input": { "ref": "M-HND-001", "expectedVersion": 1 } }),
        )
        .await;
    assert_eq!(r.code(), "FAILED_PRECONDITION", "{}", r.body);
    // Not there.
    let r = s
        .as_editor(
            del,
            json!({ "input": { "ref": "M-NOPE", "expectedVersion": 1 } }),
        )
        .await;
    assert_eq!(r.code(), "NOT_FOUND", "{}", r.body);
    // A stale version beats the other refusals.
    let r = s
        .as_editor(
            del,
            json!({ "input": { "ref": "M-HND-001", "expectedVersion": 5 } }),
        )
        .await;
    assert_eq!(
        (r.code(), &r.error()["extensions"]["currentVersion"]),
        ("CONFLICT", &json!(1))
    );
    // A dangling reference names its field.
    let r = s
        .as_editor(
            LINK,
            json!({ "input": { "recommendation": "R-NOPE", "measure": "M-HND-001", "relation": "RELATED" } }),
        )
        .await;
    assert_eq!(
        (r.code(), &r.error()["extensions"]["field"]),
        ("BAD_USER_INPUT", &json!("input.recommendation"))
    );
    // A token name that is taken.
    let r = s
        .as_admin(
            "mutation($input: CreateTokenInput!) { createToken(input: $input) { name } }",
            json!({ "input": { "name": "eddie", "role": "READER" } }),
        )
        .await;
    assert_eq!(r.code(), "CONFLICT", "{}", r.body);
}
