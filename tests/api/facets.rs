//! Facet counts are over the whole filtered set (not the page), equal brute-force counts, and
//! leave out values with count 0.

use serde_json::{json, Value};

use crate::brute;
use crate::helpers::*;

const RECOMMENDATION_FACETS: &str =
    "response actionCategory theme group sdg cycle session stateUnderReview recommendingState";
const MEASURE_FACETS: &str = "category country theme year";

fn facets_selection(names: &str) -> String {
    names
        .split(' ')
        .map(|n| format!("{n} {{ value count }}"))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn check_recommendation_facets(app: &TestApp, filter: Value) {
    let f = &app.files;
    let q = format!(
        "query($f: RecommendationFilter, $first: Int) {{
            recommendations(filter: $f, first: $first) {{ totalCount facets {{ {} }} }}
        }}",
        facets_selection(RECOMMENDATION_FACETS)
    );
    let set = brute::recommendations(f, &filter);
    let expected = brute::recommendation_facets(f, &set);
    // The page size does not change the counts.
    for first in [1, 500] {
        let d = app.data(&q, json!({ "f": filter, "first": first })).await;
        let c = &d["recommendations"];
        assert_eq!(c["totalCount"], set.len(), "{filter}");
        for name in RECOMMENDATION_FACETS.split(' ') {
            assert_eq!(
                facet_map(&c["facets"][name]),
                expected[name],
                "facet {name} of {filter}"
            );
        }
    }
}

async fn check_measure_facets(app: &TestApp, filter: Value) {
    let f = &app.files;
    let q = format!(
        "query($f: MeasureFilter, $first: Int) {{
            measures(filter: $f, first: $first) {{ totalCount facets {{ {} }} }}
        }}",
        facets_selection(MEASURE_FACETS)
    );
    let set = brute::measures(f, &filter);
    let expected = brute::measure_facets(&set);
    for first in [2, 500] {
        let d = app.data(&q, json!({ "f": filter, "first": first })).await;
        let c = &d["measures"];
        assert_eq!(c["totalCount"], set.len(), "{filter}");
        for name in MEASURE_FACETS.split(' ') {
            assert_eq!(
                facet_map(&c["facets"][name]),
                expected[name],
                "facet {name} of {filter}"
            );
        }
    }
}

#[tokio::test]
async fn recommendation_facets_match_brute_force_on_tiny() {
    let app = tiny_app();
    let f = &app.files;
    for filter in [
        json!({}),
        json!({ "response": ["NOTED"] }),
        json!({ "unRegionalGroup": ["AFRICAN"], "actionCategory": [4, 5] }),
        json!({ "text": "covid pandemic", "linked": true }),
        json!({ "stateUnderReview": [f.recommendations[0].state_under_review], "theme": [f.recommendations[0].themes[0]] }),
        json!({ "cycle": [1] }),
    ] {
        check_recommendation_facets(app, filter).await;
    }
}

#[tokio::test]
async fn recommendation_facets_match_brute_force_on_default() {
    let app = default_app();
    for filter in [
        json!({ "stateUnderReview": ["UKR", "HND"] }),
        json!({ "text": "torture", "cycle": [2] }),
        json!({ "recommendingState": ["BRA"], "group": ["women"] }),
    ] {
        check_recommendation_facets(app, filter).await;
    }
}

#[tokio::test]
async fn measure_facets_match_brute_force() {
    let tiny = tiny_app();
    for filter in [
        json!({}),
        json!({ "category": ["HEALTH", "ECONOMIC"] }),
        json!({ "activeOn": "2021-06-01", "unRegionalGroup": ["AFRICAN", "ASIA_PACIFIC"] }),
        json!({ "linked": false, "startedFrom": "2021-01-01" }),
    ] {
        check_measure_facets(tiny, filter).await;
    }
    let default = default_app();
    for filter in [
        json!({ "country": ["UKR", "FRA", "BRA"] }),
        json!({ "category": ["DETENTION"] }),
        json!({ "text": "school", "unRegionalGroup": ["WESTERN_EUROPEAN_OTHERS"] }),
    ] {
        check_measure_facets(default, filter).await;
    }
}

#[tokio::test]
async fn nested_connection_facets_count_within_the_parent() {
    let app = default_app();
    let f = &app.files;
    let q = format!(
        "{{ country(code: \"HND\") {{
            recommendationsReceived(first: 1, filter: {{ response: [SUPPORTED] }}) {{ totalCount facets {{ {} }} }}
            measures(first: 1) {{ totalCount facets {{ {} }} }}
        }} }}",
        facets_selection(RECOMMENDATION_FACETS),
        facets_selection(MEASURE_FACETS)
    );
    let d = app.data(&q, json!({})).await;
    let set = brute::recommendations(
        f,
        &json!({ "stateUnderReview": ["HND"], "response": ["SUPPORTED"] }),
    );
    let expected = brute::recommendation_facets(f, &set);
    let c = &d["country"]["recommendationsReceived"];
    assert_eq!(c["totalCount"], set.len());
    for name in RECOMMENDATION_FACETS.split(' ') {
        assert_eq!(
            facet_map(&c["facets"][name]),
            expected[name],
            "facet {name}"
        );
    }
    let set = brute::measures(f, &json!({ "country": ["HND"] }));
    let expected = brute::measure_facets(&set);
    let c = &d["country"]["measures"];
    assert_eq!(c["totalCount"], set.len());
    for name in MEASURE_FACETS.split(' ') {
        assert_eq!(
            facet_map(&c["facets"][name]),
            expected[name],
            "facet {name}"
        );
    }
}

/// Facet lists take a short cut for plain `value`/`count`/`__typename` selections; aliases,
/// fragments and directives must give what the general path gives.
#[tokio::test]
async fn every_selection_shape_of_a_facet_gives_the_same_counts() {
    let app = tiny_app();
    let plain = app
        .data(
            "{ recommendations { facets { theme { value count } } } }",
            json!({}),
        )
        .await;
    let expected: Vec<(Value, Value)> = plain["recommendations"]["facets"]["theme"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["value"].clone(), f["count"].clone()))
        .collect();
    assert!(!expected.is_empty());
    let shapes = [
        "theme { v: value n: count t: __typename }",
        "theme { ... on FacetCount { v: value n: count } t: __typename }",
        "theme { ...F t: __typename }",
        "theme { v: value n: count t: __typename skipped: value @include(if: false) }",
    ];
    for shape in shapes {
        let q = format!(
            "{{ recommendations {{ facets {{ {shape} }} }} }} fragment F on FacetCount {{ v: value n: count }}"
        );
        let q = if shape.contains("...F") {
            q
        } else {
            q.replace(" fragment F on FacetCount { v: value n: count }", "")
        };
        let d = app.data(&q, json!({})).await;
        let got: Vec<(Value, Value)> = d["recommendations"]["facets"]["theme"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                assert_eq!(f["t"], "FacetCount", "{shape}");
                assert!(f.get("skipped").is_none(), "{shape}");
                (f["v"].clone(), f["n"].clone())
            })
            .collect();
        assert_eq!(got, expected, "{shape}");
    }
}
