//! Relay pagination: walking forward (first/after) and backward (last/before) with several page
//! sizes gives the whole filtered set in order without duplicates, `pageInfo` agrees with the
//! pages, `first` defaults to 20 and may not exceed 500, and bad cursors are rejected.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::brute;
use crate::helpers::*;

/// Walks `conn` under `filter` both ways with each size and compares with `expected`.
async fn walk_both_ways(
    app: &TestApp,
    conn: (&str, &str, &str),
    filter: Value,
    expected: &[String],
    sizes: &[usize],
) {
    for &size in sizes {
        for dir in [Direction::Forward, Direction::Backward] {
            let w = walk(
                app,
                &root_walk_query(conn),
                json!({ "filter": filter }),
                &["c"],
                size,
                dir,
            )
            .await;
            let got = keys(&w.nodes);
            let distinct: BTreeSet<&String> = got.iter().collect();
            assert_eq!(
                distinct.len(),
                got.len(),
                "{} {filter} size {size} {dir:?}: duplicates",
                conn.0
            );
            assert_eq!(got, expected, "{} {filter} size {size} {dir:?}", conn.0);
            let pages = expected.len().div_ceil(size).max(1);
            assert_eq!(
                w.pages.len(),
                pages,
                "{} {filter} size {size} {dir:?}: pages {:?}",
                conn.0,
                w.pages
            );
        }
    }
}

#[tokio::test]
async fn recommendations_walk_forward_and_backward_on_tiny() {
    let app = tiny_app();
    let f = &app.files;
    let all = brute::recommendation_refs(f, &json!({}));
    walk_both_ways(app, RECOMMENDATIONS, json!(null), &all, &[97, 500]).await;
    // A dense subset (walked in order, testing membership) and a sparse one (sorted positions).
    let dense = json!({ "response": ["SUPPORTED"] });
    walk_both_ways(
        app,
        RECOMMENDATIONS,
        dense.clone(),
        &brute::recommendation_refs(f, &dense),
        &[33, 250],
    )
    .await;
    let sparse = json!({ "stateUnderReview": [f.recommendations[0].state_under_review] });
    let expected = brute::recommendation_refs(f, &sparse);
    assert!(
        expected.len() * 16 < f.recommendations.len(),
        "a sparse set"
    );
    walk_both_ways(app, RECOMMENDATIONS, sparse, &expected, &[1, 6, 20, 500]).await;
    let empty = json!({ "cycle": [1] });
    walk_both_ways(app, RECOMMENDATIONS, empty, &[], &[5]).await;
}

#[tokio::test]
async fn other_root_connections_walk_both_ways_on_tiny() {
    let app = tiny_app();
    let f = &app.files;
    walk_both_ways(
        app,
        MEASURES,
        json!(null),
        &brute::measure_refs(f, &json!({})),
        &[4, 25, 173, 500],
    )
    .await;
    let linked = json!({ "linked": true });
    walk_both_ways(
        app,
        MEASURES,
        linked.clone(),
        &brute::measure_refs(f, &linked),
        &[9],
    )
    .await;
    walk_both_ways(
        app,
        GOOD_PRACTICES,
        json!(null),
        &brute::good_practice_refs(f, &json!({})),
        &[1, 5, 12],
    )
    .await;
    walk_both_ways(
        app,
        LINKS,
        json!(null),
        &brute::link_keys(f, &json!({})),
        &[13, 100],
    )
    .await;
    let suggested = json!({ "status": ["SUGGESTED"] });
    walk_both_ways(
        app,
        LINKS,
        suggested.clone(),
        &brute::link_keys(f, &suggested),
        &[2, 10],
    )
    .await;
    walk_both_ways(
        app,
        COUNTRIES,
        json!(null),
        &brute::country_codes(f, &json!({})),
        &[1, 5, 24, 25],
    )
    .await;
}

#[tokio::test]
async fn default_dataset_walks_both_ways() {
    let app = default_app();
    let f = &app.files;
    let ukr = json!({ "stateUnderReview": ["UKR"] });
    walk_both_ways(
        app,
        RECOMMENDATIONS,
        ukr.clone(),
        &brute::recommendation_refs(f, &ukr),
        &[9, 64],
    )
    .await;
    let noted = json!({ "response": ["NOTED"], "cycle": [2] });
    walk_both_ways(
        app,
        RECOMMENDATIONS,
        noted.clone(),
        &brute::recommendation_refs(f, &noted),
        &[500],
    )
    .await;
    walk_both_ways(
        app,
        LINKS,
        json!(null),
        &brute::link_keys(f, &json!({})),
        &[4],
    )
    .await;
    walk_both_ways(
        app,
        COUNTRIES,
        json!(null),
        &brute::country_codes(f, &json!({})),
        &[50],
    )
    .await;
    let afr = json!({ "unRegionalGroup": ["AFRICAN"], "category": ["HEALTH"] });
    walk_both_ways(
        app,
        MEASURES,
        afr.clone(),
        &brute::measure_refs(f, &afr),
        &[17],
    )
    .await;
}

#[tokio::test]
async fn nested_connections_walk_both_ways() {
    let app = default_app();
    let f = &app.files;
    let q = format!(
        "query($first: Int, $after: String, $last: Int, $before: String) {{
            country(code: \"HND\") {{
                recommendationsReceived(first: $first, after: $after, last: $last, before: $before) {{ {} }}
            }}
        }}",
        connection_selection("ref")
    );
    let expected = brute::recommendation_refs(f, &json!({ "stateUnderReview": ["HND"] }));
    for dir in [Direction::Forward, Direction::Backward] {
        let w = walk(
            app,
            &q,
            json!({}),
            &["country", "recommendationsReceived"],
            37,
            dir,
        )
        .await;
        assert_eq!(keys(&w.nodes), expected, "{dir:?}");
    }
    let session = f.recommendations[1000].session;
    let q = format!(
        "query($first: Int, $after: String, $last: Int, $before: String, $f: RecommendationFilter) {{
            session(number: {session}) {{
                recommendations(filter: $f, first: $first, after: $after, last: $last, before: $before) {{ {} }}
            }}
        }}",
        connection_selection("ref")
    );
    let filter = json!({ "session": [session], "response": ["SUPPORTED"] });
    let expected = brute::recommendation_refs(f, &filter);
    for dir in [Direction::Forward, Direction::Backward] {
        let w = walk(
            app,
            &q,
            json!({ "f": { "response": ["SUPPORTED"] } }),
            &["session", "recommendations"],
            111,
            dir,
        )
        .await;
        assert_eq!(keys(&w.nodes), expected, "{dir:?}");
    }
}

#[tokio::test]
async fn page_info_of_single_pages() {
    let app = tiny_app();
    let f = &app.files;
    let all = brute::recommendation_refs(f, &json!({}));
    let q = "query($first: Int, $after: String, $last: Int, $before: String) {
        recommendations(first: $first, after: $after, last: $last, before: $before) {
            totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { ref } }
        }
    }";
    let page = |d: &Value| d["recommendations"].clone();
    // `first` defaults to 20.
    let d = page(&app.data(q, json!({})).await);
    assert_eq!(
        keys(
            &d["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"].clone())
                .collect::<Vec<_>>()
        ),
        all[..20]
    );
    assert_eq!(d["totalCount"], all.len());
    assert_eq!(d["pageInfo"]["hasNextPage"], true);
    assert_eq!(d["pageInfo"]["hasPreviousPage"], false);
    let tenth = d["edges"][9]["cursor"].as_str().unwrap().to_owned();
    let twentieth = d["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    // The same query gives the same cursors.
    let again = page(&app.data(q, json!({})).await);
    assert_eq!(again["pageInfo"], d["pageInfo"]);
    // `last` alone: the end of the list.
    let d = page(&app.data(q, json!({ "last": 3 })).await);
    let nodes: Vec<Value> = d["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    assert_eq!(keys(&nodes), all[all.len() - 3..]);
    assert_eq!(d["pageInfo"]["hasNextPage"], false);
    assert_eq!(d["pageInfo"]["hasPreviousPage"], true);
    // `after` and `before` together: the items strictly between.
    let d = page(
        &app.data(
            q,
            json!({ "after": tenth, "before": twentieth, "first": 100 }),
        )
        .await,
    );
    let nodes: Vec<Value> = d["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    assert_eq!(keys(&nodes), all[10..19]);
    assert_eq!(d["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(d["pageInfo"]["hasNextPage"], true);
    // `first` and `last` together: the last of the first (Relay's order of application).
    let d = page(&app.data(q, json!({ "first": 10, "last": 3 })).await);
    let nodes: Vec<Value> = d["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    assert_eq!(keys(&nodes), all[7..10]);
    // `first: 0`: no edges, null cursors, the count of the whole set.
    let d = page(&app.data(q, json!({ "first": 0 })).await);
    assert_eq!(d["edges"], json!([]));
    assert_eq!(d["pageInfo"]["startCursor"], Value::Null);
    assert_eq!(d["pageInfo"]["endCursor"], Value::Null);
    assert_eq!(d["totalCount"], all.len());
    // `first: 500` is allowed.
    let d = page(&app.data(q, json!({ "first": 500 })).await);
    assert_eq!(d["edges"].as_array().unwrap().len(), 500);
    // After the last cursor: an empty page that knows what precedes it.
    let last_cursor =
        page(&app.data(q, json!({ "last": 1 })).await)["pageInfo"]["endCursor"].clone();
    let d = page(&app.data(q, json!({ "after": last_cursor })).await);
    assert_eq!(d["edges"], json!([]));
    assert_eq!(d["pageInfo"]["hasNextPage"], false);
    assert_eq!(d["pageInfo"]["hasPreviousPage"], true);
}

#[tokio::test]
async fn a_cursor_resumes_under_another_filter() {
    // Cursors are natural keys: one taken from the unfiltered list resumes a filtered one in place.
    let app = tiny_app();
    let f = &app.files;
    let all = brute::recommendation_refs(f, &json!({}));
    let q = "query($after: String, $f: RecommendationFilter) {
        recommendations(filter: $f, first: 500, after: $after) { edges { cursor node { ref } } }
    }";
    let d = app.data(q, json!({})).await;
    let cursor = d["recommendations"]["edges"][300]["cursor"].clone();
    let at = all[300].clone();
    let filter = json!({ "response": ["NOTED"] });
    let d = app.data(q, json!({ "after": cursor, "f": filter })).await;
    let got: Vec<String> = d["recommendations"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| key(&e["node"]))
        .collect();
    let expected: Vec<String> = brute::recommendation_refs(f, &filter)
        .into_iter()
        .filter(|r| *r > at)
        .take(500)
        .collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn page_size_limits_and_bad_cursors_are_bad_user_input() {
    let app = tiny_app();
    for (field, args, argument) in [
        ("recommendations", "first: 501", "first"),
        ("recommendations", "last: 501", "last"),
        ("recommendations", "first: -1", "first"),
        ("measures", "first: 501", "first"),
        ("goodPractices", "first: 1000", "first"),
        ("links", "last: 501", "last"),
        ("countries", "first: 501", "first"),
        ("recommendations", "after: \"garbage!\"", "after"),
        ("recommendations", "before: \"bm90IGEgY3Vyc29y\"", "before"),
        ("measures", "after: \"%%%\"", "after"),
        ("links", "after: \"x\"", "after"),
        ("countries", "before: \"???\"", "before"),
    ] {
        let errors = app
            .errors(
                &format!("{{ {field}({args}) {{ totalCount }} }}"),
                json!({}),
            )
            .await;
        assert_bad_input(&errors, argument);
        let message = errors[0]["message"].as_str().unwrap();
        assert!(message.contains(argument), "{message}");
        if args.contains("501") || args.contains("1000") {
            assert!(
                message.contains("500"),
                "the message names the limit: {message}"
            );
        }
    }
    // Nested connections check the same.
    let errors = app
        .errors("{ countries(first: 1) { nodes { recommendationsReceived(first: 501) { totalCount } } } }", json!({}))
        .await;
    assert_bad_input(&errors, "first");
    let errors = app
        .errors(
            "{ search(text: \"covid\", first: 501) { totalCount } }",
            json!({}),
        )
        .await;
    assert_bad_input(&errors, "first");
    let errors = app
        .errors(
            "{ search(text: \"covid\", after: \"nope\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_bad_input(&errors, "after");
}
