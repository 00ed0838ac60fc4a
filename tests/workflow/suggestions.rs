//! Suggestions, rejections and the rights-regression view through the API, as curators use
//! them (the ranking itself is measured in `catalog::suggest`'s tests).

use serde_json::{json, Value};

use crate::harness::*;

const SUGGEST: &str = "{ recommendation(ref: \"R-36-HND-001\") {
    suggestedMeasures(first: 5) { measure { ref } score reasons }
} }";

#[tokio::test]
async fn linked_and_rejected_pairs_are_not_suggested() {
    let s = server().await;
    // M-HND-001 is the only Honduran measure, and it is already linked.
    let d = s.read(SUGGEST, json!({})).await;
    assert_eq!(d["recommendation"]["suggestedMeasures"], json!([]));
    s.as_editor(
        UNLINK,
        json!({ "input": { "recommendation": "R-36-HND-001", "measure": "M-HND-001", "expectedVersion": 1 } }),
    )
    .await
    .data();
    let d = s.read(SUGGEST, json!({})).await;
    let list = d["recommendation"]["suggestedMeasures"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["measure"]["ref"], "M-HND-001");
    assert!(list[0]["score"].as_f64().unwrap() > 0.0);
    let reasons: Vec<&str> = list[0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    for expected in [
        "shares theme covid-19",
        "shares theme right-to-health",
        "shares group older-persons",
    ] {
        assert!(reasons.contains(&expected), "{reasons:?}");
    }
    assert!(
        reasons.iter().any(|r| r.starts_with("matching words: ")),
        "{reasons:?}"
    );
    // The reverse direction agrees.
    let d = s
        .read("{ measure(ref: \"M-HND-001\") { suggestedRecommendations(first: 1) { recommendation { ref } } } }", json!({}))
        .await;
    assert_eq!(
        d["measure"]["suggestedRecommendations"],
        json!([{ "recommendation": { "ref": "R-36-HND-001" } }])
    );
    // Rejecting the suggestion: a link with status REJECTED; it is not offered again.
    s.as_editor(
        LINK,
        json!({ "input": { "recommendation": "R-36-HND-001", "measure": "M-HND-001", "relation": "RELATED", "status": "REJECTED" } }),
    )
    .await
    .data();
    assert_eq!(
        s.read(SUGGEST, json!({})).await["recommendation"]["suggestedMeasures"],
        json!([])
    );
    let r = s
        .gql(
            None,
            "{ recommendation(ref: \"R-36-HND-001\") { suggestedMeasures(first: 101) { score } } }",
            json!({}),
        )
        .await;
    assert_eq!(r.code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_contradicting_measure_shows_as_a_regression_with_both_sides() {
    let s = server().await;
    let q = "{ country(code: \"HND\") { regressions { measure { ref } reasons themes { slug } supportedRecommendations { ref response } } } }";
    assert_eq!(
        s.read(q, json!({})).await["country"]["regressions"],
        json!([])
    );
    s.as_editor(
        UPDATE_LINK,
        json!({ "input": { "recommendation": "R-36-HND-001", "measure": "M-HND-001", "expectedVersion": 1, "relation": "CONTRADICTS" } }),
    )
    .await
    .data();
    let d = s.read(q, json!({})).await;
    let r = &d["country"]["regressions"];
    assert_eq!(r.as_array().unwrap().len(), 1, "{d}");
    assert_eq!(r[0]["measure"]["ref"], "M-HND-001");
    assert!(
        r[0]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x.as_str().unwrap().contains("CONTRADICTS to R-36-HND-001")),
        "{r}"
    );
    assert_eq!(
        r[0]["supportedRecommendations"],
        json!([{ "ref": "R-36-HND-001", "response": "SUPPORTED" }])
    );
    // Another country has none.
    let d = s
        .read(
            "{ country(code: \"UKR\") { regressions { measure { ref } } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["country"]["regressions"], json!([]));
}

#[tokio::test]
async fn measures_in_force_during_a_cycle() {
    let s = server().await;
    let create =
        "mutation($input: CreateMeasureInput!) { createMeasure(input: $input) { changed } }";
    s.as_editor(
        create,
        json!({ "input": { "ref": "M-HND-2023", "country": "HND", "title": "Late measure", "description": "After cycle 3.",
            "category": "HEALTH", "startDate": "2022-03-01", "endDate": "2022-06-01" } }),
    )
    .await
    .data();
    let q = "query($c: Int!) { measures(filter: { inForceDuringCycle: $c }) { totalCount nodes { ref } } }";
    let d = s.read(q, json!({ "c": 3 })).await;
    let refs: Vec<&Value> = d["measures"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["ref"])
        .collect();
    assert_eq!(
        refs,
        [
            &json!("M-HND-001"),
            &json!("M-UKR-001"),
            &json!("M-USA-001")
        ]
    );
    let r = s.gql(None, q, json!({ "c": 9 })).await;
    assert_eq!(r.code(), "BAD_USER_INPUT");
    assert_eq!(
        r.error()["extensions"]["argument"],
        "filter.inForceDuringCycle"
    );
}
