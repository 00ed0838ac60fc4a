//! The audit trail: every change with author, time, before and after; per-record history
//! newest first; `changes` for syncing; and history through export and import.

use serde_json::{json, Value};

use recover_better::dataset::export::export;
use recover_better::store::Store;

use crate::common::import_dir;
use crate::harness::*;

const HISTORY: &str = "query($first: Int, $after: String) {
    recommendation(ref: \"R-36-HND-001\") {
        links { measure { ref } history(first: $first, after: $after) {
            totalCount pageInfo { hasNextPage endCursor }
            nodes { kind author version before after key entity node { id } }
        } }
    }
}";

#[tokio::test]
async fn every_change_is_recorded_with_author_time_before_and_after() {
    let s = server().await;
    let started = s.read("{ __typename }", json!({})).await; // the server is up
    assert_eq!(started["__typename"], "QueryRoot");
    let t0 = chrono::Utc::now();
    // Three edits of the same link by two people.
    let link = |note: &str, v: i32| json!({ "input": { "recommendation": "R-36-HND-001", "measure": "M-HND-001", "relation": "IMPLEMENTS", "note": note, "expectedVersion": v } });
    s.as_editor(LINK, link("first", 1)).await.data();
    s.as_admin(LINK, link("second", 2)).await.data();
    s.as_editor(LINK, link("second", 3)).await.data(); // unchanged: no entry

    let d = s.read(HISTORY, json!({ "first": 1 })).await;
    let h = &d["recommendation"]["links"][0]["history"];
    assert_eq!(h["totalCount"], 2);
    assert_eq!(h["pageInfo"]["hasNextPage"], true);
    let newest = &h["nodes"][0];
    assert_eq!(newest["kind"], "UPDATED");
    assert_eq!(newest["author"], "ada");
    assert_eq!(newest["version"], 3);
    assert_eq!(newest["entity"], "LINK");
    assert_eq!(newest["key"], "R-36-HND-001\tM-HND-001");
    assert_eq!(newest["before"]["note"], "first");
    assert_eq!(newest["after"]["note"], "second");
    // The record's other fields are there whole, in the interchange format.
    assert_eq!(newest["after"]["relation"], "IMPLEMENTS");
    assert_eq!(newest["after"]["created_by"], "upr-info");
    assert!(newest["node"]["id"].is_string());

    let cursor = h["pageInfo"]["endCursor"].clone();
    let d = s
        .read(HISTORY, json!({ "first": 5, "after": cursor }))
        .await;
    let older = &d["recommendation"]["links"][0]["history"]["nodes"];
    assert_eq!(older.as_array().unwrap().len(), 1);
    assert_eq!(older[0]["author"], "eddie");
    assert_eq!(
        older[0]["before"]["note"],
        "Free testing for older persons."
    );

    // `changes` lists them oldest first, times increasing and after t0.
    let c = s
        .read(
            "{ changes { totalCount nodes { at author kind } } }",
            json!({}),
        )
        .await;
    let nodes = c["changes"]["nodes"].as_array().unwrap();
    assert_eq!(c["changes"]["totalCount"], 2);
    let times: Vec<chrono::DateTime<chrono::Utc>> = nodes
        .iter()
        .map(|n| n["at"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        times[0] >= t0 - chrono::Duration::seconds(1) && times[0] < times[1],
        "{times:?}"
    );
    assert_eq!(nodes[0]["author"], "eddie");
}

#[tokio::test]
async fn an_integrator_syncs_with_changes_and_misses_nothing() {
    let s = server().await;
    let mut seen: Vec<Value> = vec![];
    let mut cursor = Value::Null;
    let page = "query($after: String) { changes(first: 3, after: $after) { pageInfo { endCursor hasNextPage } nodes { key version } } }";
    let update = "mutation($input: UpdateMeasureInput!) { updateMeasure(input: $input) { measure { version } } }";
    for round in 0..4 {
        // Two changes between polls.
        for i in 0..2 {
            let v = 1 + round * 2 + i;
            s.as_editor(update, json!({ "input": { "ref": "M-USA-001", "expectedVersion": v, "title": format!("Income support {v}") } }))
                .await
                .data();
        }
        loop {
            let d = s.read(page, json!({ "after": cursor })).await;
            let c = &d["changes"];
            seen.extend(c["nodes"].as_array().unwrap().iter().cloned());
            if !c["pageInfo"]["endCursor"].is_null() {
                cursor = c["pageInfo"]["endCursor"].clone();
            }
            if c["pageInfo"]["hasNextPage"] == false {
                break;
            }
        }
    }
    let versions: Vec<i64> = seen
        .iter()
        .map(|n| n["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, (2..=9).collect::<Vec<_>>());
    // `since` in the future: nothing.
    let d = s
        .read(
            "{ changes(since: \"2100-01-01T00:00:00Z\") { totalCount nodes { key } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["changes"], json!({ "totalCount": 0, "nodes": [] }));
}

#[tokio::test]
async fn history_survives_export_and_import() {
    let s = server().await;
    s.as_editor(
        LINK,
        json!({ "input": { "recommendation": "R-36-HND-002", "measure": "M-HND-001", "relation": "RELATED" } }),
    )
    .await
    .data();
    let del = "mutation($input: DeleteInput!) { deleteMeasure(input: $input) { deletedLinks } }";
    s.as_editor(
        del,
        json!({ "input": { "ref": "M-UKR-001", "expectedVersion": 1 } }),
    )
    .await
    .data();
    let out = tempfile::tempdir().unwrap();
    let summary = export(s.live.store(), out.path()).unwrap();
    assert!(summary.contains(&("history.jsonl", 3)), "{summary:?}");
    let line = std::fs::read_to_string(out.path().join("history.jsonl")).unwrap();
    let first: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(first["entity"], "LINK");
    assert_eq!(first["change"], "CREATED");
    assert_eq!(
        first["after"]["relation"], "RELATED",
        "records are JSON objects: {first}"
    );

    let copy = Store::temporary().unwrap();
    import_dir(&copy, out.path()).unwrap();
    let a: Vec<_> = s.live.store().all_history().map(Result::unwrap).collect();
    let b: Vec<_> = copy.all_history().map(Result::unwrap).collect();
    assert_eq!(a, b);
    // Importing again changes nothing, and the copy's own new changes come after.
    let again = import_dir(&copy, out.path()).unwrap();
    assert_eq!(again.total().created, 0);
    let twice = tempfile::tempdir().unwrap();
    export(&copy, twice.path()).unwrap();
    assert_eq!(
        std::fs::read(out.path().join("history.jsonl")).unwrap(),
        std::fs::read(twice.path().join("history.jsonl")).unwrap()
    );
}
