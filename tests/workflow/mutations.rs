//! Mutations end to end: payloads, idempotence, versions, validation errors that name the
//! field and change nothing, conflicts, cascades, and the store's check after each.

use serde_json::{json, Value};

use recover_better::store::check;

use crate::harness::*;

fn assert_clean(s: &Server) {
    let report = check::check(s.live.store()).unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
}

#[tokio::test]
async fn linking_creates_then_repeating_changes_nothing_then_updates_and_unlinks() {
    let s = server().await;
    let input = json!({
        "recommendation": "R-36-HND-002", "measure": "M-HND-001", "relation": "CONTRADICTS",
        "note": "Testing rules suspended judicial review.", "clientMutationId": "c1"
    });
    let d = s.as_editor(LINK, json!({ "input": input })).await;
    let p = &d.data()["linkRecommendation"];
    assert_eq!(p["changed"], true);
    assert_eq!(p["clientMutationId"], "c1");
    assert_eq!(
        p["link"],
        json!({ "relation": "CONTRADICTS", "status": "CONFIRMED",
                "note": "Testing rules suspended judicial review.", "evidenceUrl": null,
                "createdBy": "eddie", "version": 1, "updatedAt": null })
    );
    // Both ends show the new link in the same payload.
    assert_eq!(
        p["recommendation"]["links"],
        json!([{ "measure": { "ref": "M-HND-001" } }])
    );
    assert_eq!(
        p["measure"]["links"],
        json!([
            { "recommendation": { "ref": "R-36-HND-001" } },
            { "recommendation": { "ref": "R-36-HND-002" } }
        ])
    );

    // Repeating it changes nothing: same version, no history entry.
    let again = s.as_editor(LINK, json!({ "input": input })).await;
    assert_eq!(again.data()["linkRecommendation"]["changed"], false);
    assert_eq!(again.data()["linkRecommendation"]["link"]["version"], 1);

    // New queries see it, and the filters follow (a CONFIRMED link makes it `linked`).
    let q = "{ recommendations(filter: { linked: true, stateUnderReview: [\"HND\"] }) { totalCount nodes { ref } } }";
    assert_eq!(
        s.read(q, json!({})).await["recommendations"]["nodes"],
        json!([{ "ref": "R-36-HND-001" }, { "ref": "R-36-HND-002" }])
    );

    let u = s
        .as_editor(
            UPDATE_LINK,
            json!({ "input": { "recommendation": "R-36-HND-002", "measure": "M-HND-001",
                "expectedVersion": 1, "status": "SUGGESTED", "note": null,
                "evidenceUrl": "https://example.org/decree" } }),
        )
        .await;
    assert_eq!(
        u.data()["updateLink"]["link"],
        json!({ "relation": "CONTRADICTS", "status": "SUGGESTED", "note": null,
                "evidenceUrl": "https://example.org/decree", "version": 2 })
    );
    // No longer CONFIRMED: no longer `linked`.
    assert_eq!(
        s.read(q, json!({})).await["recommendations"]["totalCount"],
        1
    );

    let gone = s
        .as_editor(
            UNLINK,
            json!({ "input": { "recommendation": "R-36-HND-002", "measure": "M-HND-001", "expectedVersion": 2 } }),
        )
        .await;
    assert_eq!(gone.data()["unlink"]["recommendation"]["links"], json!([]));
    let id = gone.data()["unlink"]["deletedLinkId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        s.read(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": id })
        )
        .await["node"],
        Value::Null
    );
    assert_clean(&s);
}

#[tokio::test]
async fn invalid_input_names_the_field_and_writes_nothing() {
    let s = server().await;
    let before = s.live.store().count_changes(None).unwrap();
    let create = "mutation($input: CreateMeasureInput!) { createMeasure(input: $input) { measure { ref } } }";
    let base = json!({ "ref": "M-HND-NEW", "country": "HND", "title": "Curfew", "description": "Night curfew.",
                       "category": "HEALTH", "startDate": "2020-03-20" });
    let with = |k: &str, v: Value| {
        let mut i = base.clone();
        i[k] = v;
        json!({ "input": i })
    };
    // (input, field, words the message must hold)
    let cases = [
        (
            with("themes", json!(["no-such-theme"])),
            "input.themes",
            "unknown theme slug \"no-such-theme\"",
        ),
        (
            with("country", json!("ZZZ")),
            "input.country",
            "does not resolve (no such country)",
        ),
        (with("country", json!("hnd")), "input.country", "hnd"),
        (
            with("endDate", json!("2020-01-01")),
            "input.endDate",
            "is before start_date",
        ),
        (
            with("title", json!("  ")),
            "input.title",
            "must not be empty",
        ),
        (with("sdgs", json!([42])), "input.sdgs", "42"),
        (
            with("sourceUrl", json!("ftp://x")),
            "input.sourceUrl",
            "not an http(s) URL",
        ),
        (with("ref", json!("")), "input.ref", ""),
    ];
    for (vars, field, words) in cases {
        let r = s.as_editor(create, vars.clone()).await;
        assert_eq!(r.code(), "BAD_USER_INPUT", "{vars}: {}", r.body);
        assert_eq!(r.error()["extensions"]["field"], field, "{}", r.body);
        let m = r.error()["message"].as_str().unwrap();
        assert!(m.starts_with(field) && m.contains(words), "{m}");
    }
    // A malformed date is refused by the schema, naming the argument.
    let r = s
        .as_editor(create, with("startDate", json!("2020-13-01")))
        .await;
    assert_eq!(r.code(), "BAD_USER_INPUT");
    // A link to a measure that does not exist.
    let r = s
        .as_editor(
            LINK,
            json!({ "input": { "recommendation": "R-36-HND-001", "measure": "M-NOPE", "relation": "RELATED" } }),
        )
        .await;
    assert_eq!(r.error()["extensions"]["field"], "input.measure");
    assert_eq!(s.live.store().count_changes(None).unwrap(), before);
    assert_eq!(
        s.read(
            "{ measures(filter: { country: [\"HND\"] }) { totalCount } }",
            json!({})
        )
        .await["measures"]["totalCount"],
        1
    );
    assert_clean(&s);
}

#[tokio::test]
async fn a_stale_version_is_a_conflict_that_reports_the_current_one() {
    let s = server().await;
    let update = "mutation($input: UpdateMeasureInput!) { updateMeasure(input: $input) { changed measure { title version } } }";
    let first = s
        .as_editor(update, json!({ "input": { "ref": "M-UKR-001", "expectedVersion": 1, "title": "Video hearings" } }))
        .await;
    assert_eq!(
        first.data()["updateMeasure"]["measure"],
        json!({ "title": "Video hearings", "version": 2 })
    );
    // A second editor still holding version 1.
    let stale = s
        .as_admin(update, json!({ "input": { "ref": "M-UKR-001", "expectedVersion": 1, "title": "Remote hearings" } }))
        .await;
    assert_eq!(stale.code(), "CONFLICT");
    assert_eq!(stale.error()["extensions"]["currentVersion"], 2);
    let title = s
        .read(
            "{ measure(ref: \"M-UKR-001\") { title version } }",
            json!({}),
        )
        .await;
    assert_eq!(
        title["measure"],
        json!({ "title": "Video hearings", "version": 2 })
    );
    // Deletes too; and creating what exists is a conflict, not an overwrite.
    let del = "mutation($input: DeleteInput!) { deleteMeasure(input: $input) { deletedId } }";
    let r = s
        .as_editor(
            del,
            json!({ "input": { "ref": "M-UKR-001", "expectedVersion": 1 } }),
        )
        .await;
    assert_eq!(
        (r.code(), &r.error()["extensions"]["currentVersion"]),
        ("CONFLICT", &json!(2))
    );
    let create =
        "mutation($input: CreateMeasureInput!) { createMeasure(input: $input) { changed } }";
    let r = s
        .as_editor(create, json!({ "input": { "ref": "M-UKR-001", "country": "UKR", "title": "t", "description": "d", "category": "JUSTICE", "startDate": "2020-01-01" } }))
        .await;
    assert_eq!(r.code(), "CONFLICT");
    let r = s
        .as_editor(
            UNLINK,
            json!({ "input": { "recommendation": "R-37-UKR-001", "measure": "M-UKR-001", "expectedVersion": 7 } }),
        )
        .await;
    assert_eq!(
        (r.code(), &r.error()["extensions"]["currentVersion"]),
        ("CONFLICT", &json!(1))
    );
}

#[tokio::test]
async fn deleting_a_measure_deletes_its_links_in_the_same_transaction() {
    let s = server().await;
    // M-HND-001 is cited by GP-001: refused, nothing changes.
    let del = "mutation($input: DeleteInput!) { deleteMeasure(input: $input) { deletedId deletedLinks } }";
    let r = s
        .as_editor(
            del,
            json!({ "input": { "ref": "M-HND-001", "expectedVersion": 1 } }),
        )
        .await;
    assert_eq!(r.code(), "FAILED_PRECONDITION", "{}", r.body);
    assert!(r.error()["message"]
        .as_str()
        .unwrap()
        .contains("good practice"));

    // Link a second recommendation to M-UKR-001, then delete the measure.
    s.as_editor(
        LINK,
        json!({ "input": { "recommendation": "R-36-HND-002", "measure": "M-UKR-001", "relation": "RELATED" } }),
    )
    .await
    .data();
    let r = s
        .as_editor(
            del,
            json!({ "input": { "ref": "M-UKR-001", "expectedVersion": 1 } }),
        )
        .await;
    assert_eq!(r.data()["deleteMeasure"]["deletedLinks"], 2);
    let after = s
        .read(
            "{ measure(ref: \"M-UKR-001\") { ref }
               a: recommendation(ref: \"R-37-UKR-001\") { links { measure { ref } } }
               b: recommendation(ref: \"R-36-HND-002\") { links { measure { ref } } }
               links { totalCount } measures { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(after["measure"], Value::Null);
    assert_eq!(after["a"]["links"], json!([]));
    assert_eq!(after["b"]["links"], json!([]));
    assert_eq!(after["links"]["totalCount"], 2);
    assert_eq!(after["measures"]["totalCount"], 2);
    // The three deletions are audited, the links' as following from the measure's.
    let h = s
        .read(
            "{ changes(first: 10) { nodes { entity key kind note author } } }",
            json!({}),
        )
        .await;
    let nodes = h["changes"]["nodes"].as_array().unwrap();
    let deletions: Vec<&Value> = nodes.iter().filter(|n| n["kind"] == "DELETED").collect();
    assert_eq!(deletions.len(), 3, "{h}");
    assert_eq!(deletions[2]["entity"], "MEASURE");
    for l in &deletions[..2] {
        assert_eq!(l["entity"], "LINK");
        assert_eq!(l["note"], "deleted with measure M-UKR-001");
        assert_eq!(l["author"], "eddie");
    }
    assert_clean(&s);
}

#[tokio::test]
async fn recommendations_are_created_changed_and_deleted_by_admins() {
    let s = server().await;
    let create = "mutation($input: CreateRecommendationInput!) { createRecommendation(input: $input) { recommendation { ref version response session { number } stateUnderReview { code } } } }";
    let r = s
        .as_admin(
            create,
            json!({ "input": { "ref": "R-36-USA-002", "text": "Protect detainees from COVID-19.",
                "stateUnderReview": "USA", "recommendingStates": ["PRT", "UKR"], "session": 36,
                "response": "PENDING", "themes": ["justice"] } }),
        )
        .await;
    assert_eq!(
        r.data()["createRecommendation"]["recommendation"],
        json!({ "ref": "R-36-USA-002", "version": 1, "response": "PENDING",
                "session": { "number": 36 }, "stateUnderReview": { "code": "USA" } })
    );
    // The same invariant as import: the State must be under review in that session.
    let r = s
        .as_admin(
            create,
            json!({ "input": { "ref": "R-36-UKR-009", "text": "x", "stateUnderReview": "UKR",
                "recommendingStates": ["PRT"], "session": 36, "response": "PENDING" } }),
        )
        .await;
    assert_eq!(r.error()["extensions"]["field"], "input.stateUnderReview");

    let update = "mutation($input: UpdateRecommendationInput!) { updateRecommendation(input: $input) { changed recommendation { response version responseHistory { response previous author } } } }";
    let r = s
        .as_admin(update, json!({ "input": { "ref": "R-36-USA-002", "expectedVersion": 1, "response": "SUPPORTED" } }))
        .await;
    assert_eq!(
        r.data()["updateRecommendation"]["recommendation"],
        json!({ "response": "SUPPORTED", "version": 2, "responseHistory": [
            { "response": "PENDING", "previous": null, "author": "ada" },
            { "response": "SUPPORTED", "previous": "PENDING", "author": "ada" }
        ] })
    );
    // Full-text search and facets see the new text and response at once.
    let q = "{ search(text: \"detainees\") { nodes { node { ... on Recommendation { ref } } } }
               recommendations(filter: { response: [SUPPORTED], stateUnderReview: [\"USA\"] }) { totalCount } }";
    let d = s.read(q, json!({})).await;
    assert_eq!(
        d["search"]["nodes"],
        json!([{ "node": { "ref": "R-36-USA-002" } }])
    );
    assert_eq!(d["recommendations"]["totalCount"], 2);

    let del = "mutation($input: DeleteInput!) { deleteRecommendation(input: $input) { deletedId deletedLinks } }";
    let r = s
        .as_admin(
            del,
            json!({ "input": { "ref": "R-36-USA-001", "expectedVersion": 1 } }),
        )
        .await;
    assert_eq!(r.data()["deleteRecommendation"]["deletedLinks"], 1);
    let d = s
        .read("{ recommendations(filter: { stateUnderReview: [\"USA\"] }) { nodes { ref } } search(text: \"income\") { totalCount } }", json!({}))
        .await;
    assert_eq!(
        d["recommendations"]["nodes"],
        json!([{ "ref": "R-36-USA-002" }])
    );
    // "income" is still in the measure M-USA-001, no longer in a recommendation.
    assert_eq!(d["search"]["totalCount"], 1);
    assert_clean(&s);
}

#[tokio::test]
async fn good_practices_are_created_updated_and_deleted() {
    let s = server().await;
    let create = "mutation($input: CreateGoodPracticeInput!) { createGoodPractice(input: $input) { goodPractice { ref measures { ref } recommendations { ref } countries { code } } } }";
    let r = s
        .as_editor(
            create,
            json!({ "input": { "ref": "GP-002", "title": "Video hearings", "description": "Courts kept working.",
                "countries": ["UKR"], "year": 2020, "measures": ["M-UKR-001"], "recommendations": ["R-37-UKR-001"] } }),
        )
        .await;
    assert_eq!(
        r.data()["createGoodPractice"]["goodPractice"],
        json!({ "ref": "GP-002", "measures": [{ "ref": "M-UKR-001" }],
                "recommendations": [{ "ref": "R-37-UKR-001" }], "countries": [{ "code": "UKR" }] })
    );
    // The reverse relations follow.
    let d = s
        .read("{ measure(ref: \"M-UKR-001\") { goodPractices { ref } } country(code: \"UKR\") { goodPractices { ref } } }", json!({}))
        .await;
    assert_eq!(d["measure"]["goodPractices"], json!([{ "ref": "GP-002" }]));
    assert_eq!(d["country"]["goodPractices"], json!([{ "ref": "GP-002" }]));
    let update = "mutation($input: UpdateGoodPracticeInput!) { updateGoodPractice(input: $input) { changed goodPractice { year measures { ref } themes { slug } groups { slug } version } } }";
    let r = s
        .as_editor(update, json!({ "input": { "ref": "GP-002", "expectedVersion": 1, "year": null, "measures": [], "themes": ["justice"] } }))
        .await;
    // Lists left out (groups) stay; lists given (themes, measures) replace.
    assert_eq!(
        r.data()["updateGoodPractice"],
        json!({ "changed": true, "goodPractice": { "year": null, "measures": [], "themes": [{ "slug": "justice" }], "groups": [], "version": 2 } })
    );
    let r = s
        .as_editor(update, json!({ "input": { "ref": "GP-002", "expectedVersion": 2, "themes": ["no-such-theme"] } }))
        .await;
    assert_eq!(r.error()["extensions"]["field"], "input.themes");
    let d = s
        .read(
            "{ measure(ref: \"M-UKR-001\") { goodPractices { ref } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["measure"]["goodPractices"], json!([]));
    let del = "mutation($input: DeleteInput!) { deleteGoodPractice(input: $input) { deletedId } }";
    s.as_editor(
        del,
        json!({ "input": { "ref": "GP-002", "expectedVersion": 2 } }),
    )
    .await
    .data();
    assert_eq!(
        s.read("{ goodPractices { totalCount } }", json!({})).await["goodPractices"]["totalCount"],
        1
    );
    assert_clean(&s);
}

#[tokio::test]
async fn facet_counts_follow_a_write_at_once() {
    let s = server().await;
    let q = "{ recommendations(filter: { stateUnderReview: [\"HND\"] }) { facets { response { value count } } } }";
    let facets = |d: Value| d["recommendations"]["facets"]["response"].clone();
    // Asked twice: the second answer comes from the snapshot's memory of the first.
    for _ in 0..2 {
        assert_eq!(
            facets(s.read(q, json!({})).await),
            json!([{ "value": "NOTED", "count": 1 }, { "value": "SUPPORTED", "count": 1 }])
        );
    }
    let update = "mutation($input: UpdateRecommendationInput!) { updateRecommendation(input: $input) { changed } }";
    s.as_admin(update, json!({ "input": { "ref": "R-36-HND-002", "expectedVersion": 1, "response": "SUPPORTED" } }))
        .await
        .data();
    assert_eq!(
        facets(s.read(q, json!({})).await),
        json!([{ "value": "SUPPORTED", "count": 2 }])
    );
}
