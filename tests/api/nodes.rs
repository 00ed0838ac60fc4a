//! Relay global ids: `node(id)` returns the object the id came from, for every type; ids are
//! stable across servers built from the same dataset; `nodes(ids)` keeps order and gives null
//! for unknown ids.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::helpers::*;

/// Objects of every type with their ids: (typename, key, id).
const IDS_QUERY: &str = "{
    countries(first: 3) { nodes { id code } }
    cycles { id number }
    sessions { id number }
    recommendations(first: 3, last: 2) { nodes { id ref } }
    measures(first: 3) { nodes { id ref } }
    goodPractices(first: 3) { nodes { id ref } }
    links(first: 3) { nodes { id recommendation { ref } measure { ref } } }
    themes { id slug }
    groups { id slug }
    sdgs { id goal }
    measureCategories { id code }
}";

const NODE_SELECTION: &str = "__typename id
    ... on Country { code } ... on Cycle { number } ... on Session { number }
    ... on Recommendation { ref } ... on Measure { ref } ... on GoodPractice { ref }
    ... on Link { recommendation { ref } measure { ref } } ... on Theme { slug } ... on Group { slug }
    ... on Sdg { goal } ... on MeasureCategoryInfo { code }";

fn node_key(typename: &str, v: &Value) -> String {
    match typename {
        "Sdg" => v["goal"].to_string(),
        _ => key(v),
    }
}

async fn objects(app: &TestApp) -> Vec<(String, String, String)> {
    let d = app.data(IDS_QUERY, json!({})).await;
    let mut out = vec![];
    for (field, typename) in [
        ("countries", "Country"),
        ("cycles", "Cycle"),
        ("sessions", "Session"),
        ("recommendations", "Recommendation"),
        ("measures", "Measure"),
        ("goodPractices", "GoodPractice"),
        ("links", "Link"),
        ("themes", "Theme"),
        ("groups", "Group"),
        ("sdgs", "Sdg"),
        ("measureCategories", "MeasureCategoryInfo"),
    ] {
        let list = if d[field].is_array() {
            &d[field]
        } else {
            &d[field]["nodes"]
        };
        let list = list.as_array().unwrap();
        assert!(!list.is_empty(), "no {field}");
        for v in list {
            out.push((
                typename.to_owned(),
                node_key(typename, v),
                v["id"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

#[tokio::test]
async fn node_round_trips_for_every_type() {
    for app in [tiny_app(), default_app()] {
        let objects = objects(app).await;
        let ids: BTreeSet<&String> = objects.iter().map(|(_, _, id)| id).collect();
        assert_eq!(ids.len(), objects.len(), "ids are unique across types");
        for (typename, key, id) in &objects {
            let q = format!("query($id: ID!) {{ node(id: $id) {{ {NODE_SELECTION} }} }}");
            let d = app.data(&q, json!({ "id": id })).await;
            let node = &d["node"];
            assert_eq!(node["__typename"], typename.as_str(), "{id}");
            assert_eq!(node["id"], id.as_str());
            assert_eq!(node_key(typename, node), *key, "{typename} {id}");
        }
    }
}

#[tokio::test]
async fn nodes_keep_order_and_give_null_for_unknown_ids() {
    let app = tiny_app();
    let objects = objects(app).await;
    let mut ids: Vec<Value> = vec![];
    let mut expected: Vec<Option<(String, String)>> = vec![];
    // Unknown ids: not base64, a missing key of a known type, an unknown type, a malformed key.
    let unknown = [
        "not an id".to_owned(),
        encode("Recommendation:R-NOPE"),
        encode("Planet:EARTH"),
        encode("Country:ukr"),
        encode("Session:0"),
        String::new(),
    ];
    for (i, (t, k, id)) in objects.iter().enumerate().rev() {
        ids.push(json!(id));
        expected.push(Some((t.clone(), k.clone())));
        if i % 4 == 0 {
            let u = &unknown[(i / 4) % unknown.len()];
            ids.push(json!(u));
            expected.push(None);
        }
    }
    let q = format!("query($ids: [ID!]!) {{ nodes(ids: $ids) {{ {NODE_SELECTION} }} }}");
    let d = app.data(&q, json!({ "ids": ids })).await;
    let got = d["nodes"].as_array().unwrap();
    assert_eq!(got.len(), expected.len());
    for ((g, e), id) in got.iter().zip(&expected).zip(&ids) {
        match e {
            None => assert!(g.is_null(), "{id} gives {g}"),
            Some((t, k)) => {
                assert_eq!(g["__typename"], t.as_str());
                assert_eq!(node_key(t, g), *k);
            }
        }
    }
    // Each unknown id alone: null, no error.
    for u in &unknown {
        let r = app
            .query(
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": u }),
            )
            .await;
        assert!(r.get("errors").is_none(), "{u}: {r}");
        assert!(r["data"]["node"].is_null());
    }
    // The same id twice is fine; an empty list gives an empty list.
    let id = &objects[0].2;
    let d = app
        .data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": [id, id] }),
        )
        .await;
    assert_eq!(d["nodes"], json!([{ "id": id }, { "id": id }]));
    let d = app.data("{ nodes(ids: []) { id } }", json!({})).await;
    assert_eq!(d["nodes"], json!([]));
    // More than a page of ids is refused.
    let many: Vec<&String> = std::iter::repeat_n(id, 501).collect();
    let errors = app
        .errors(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": many }),
        )
        .await;
    assert_bad_input(&errors, "ids");
}

fn encode(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[tokio::test]
async fn ids_are_stable_across_servers_built_from_the_same_dataset() {
    let shared = tiny_app();
    // A second server: the tiny dataset generated again with the same seed, imported into a new
    // store.
    let other = spawn_app(Dataset::Tiny).await;
    assert_eq!(objects(shared).await, objects(&other).await);
    // Deeper: every recommendation's id, in both.
    let q = "{ recommendations(first: 500) { nodes { id ref } } }";
    assert_eq!(
        shared.data(q, json!({})).await,
        other.data(q, json!({})).await
    );
    // And ids from one server resolve on the other.
    let d = shared
        .data("{ links(first: 5) { nodes { id } } }", json!({}))
        .await;
    let ids: Vec<Value> = d["links"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].clone())
        .collect();
    let q = format!("query($ids: [ID!]!) {{ nodes(ids: $ids) {{ {NODE_SELECTION} }} }}");
    let a = shared.data(&q, json!({ "ids": ids })).await;
    let b = other.data(&q, json!({ "ids": ids })).await;
    assert_eq!(a, b);
    assert!(b["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["__typename"] == "Link"));
}
