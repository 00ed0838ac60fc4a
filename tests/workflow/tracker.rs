//! Concerns and actions written through the API: create, update with `expectedVersion`,
//! conflicts, history, deletes refused while referenced, the store's check after each, and
//! the `concernChanged` subscription.

use std::time::Duration;

use serde_json::{json, Value};

use recover_better::store::check;

use crate::harness::*;
use crate::subscriptions::{connect, receive, subscribe};

fn assert_clean(s: &Server) {
    let report = check::check(s.live.store()).unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
}

const CREATE_CONCERN: &str =
    "mutation($input: CreateConcernInput!) { createConcern(input: $input) {
    changed clientMutationId concern { ref version kind severity reportedOn countries { code }
      measures { ref } recommendations { ref } actions { ref } } } }";
const UPDATE_CONCERN: &str =
    "mutation($input: UpdateConcernInput!) { updateConcern(input: $input) {
    changed concern { ref version severity measures { ref } } } }";
const DELETE_CONCERN: &str =
    "mutation($input: DeleteInput!) { deleteConcern(input: $input) { deletedId } }";
const CREATE_ACTION: &str = "mutation($input: CreateActionInput!) { createAction(input: $input) {
    changed action { ref version kind outcome peopleReached concerns { ref } measures { ref } } } }";
const UPDATE_ACTION: &str = "mutation($input: UpdateActionInput!) { updateAction(input: $input) {
    changed action { ref version endDate concerns { ref } } } }";
const DELETE_ACTION: &str =
    "mutation($input: DeleteInput!) { deleteAction(input: $input) { deletedId } }";
const DELETE_MEASURE: &str =
    "mutation($input: DeleteInput!) { deleteMeasure(input: $input) { deletedId } }";

fn new_concern() -> Value {
    json!({
        "ref": "C-USA-001", "countries": ["USA"], "title": "Women losing income",
        "description": "Women lost work first.", "kind": "RISK", "severity": "MEDIUM",
        "reportedOn": "2020-07-01", "themes": ["covid-19"], "groups": ["women"], "sdgs": [5],
        "measures": ["M-USA-001"], "recommendations": ["R-36-USA-001"],
        "source": "Test fixture", "clientMutationId": "k1"
    })
}

#[tokio::test]
async fn an_editor_creates_updates_and_deletes_a_concern_with_versions_and_history() {
    let s = server().await;

    let created = s
        .as_editor(CREATE_CONCERN, json!({ "input": new_concern() }))
        .await;

    let p = &created.data()["createConcern"];
    assert_eq!(p["changed"], true);
    assert_eq!(p["clientMutationId"], "k1");
    assert_eq!(
        p["concern"],
        json!({ "ref": "C-USA-001", "version": 1, "kind": "RISK", "severity": "MEDIUM",
                "reportedOn": "2020-07-01", "countries": [{ "code": "USA" }],
                "measures": [{ "ref": "M-USA-001" }], "recommendations": [{ "ref": "R-36-USA-001" }],
                "actions": [] })
    );
    // Both directions at once: the measure and the recommendation list the new concern.
    let d = s
        .read(
            "{ measure(ref: \"M-USA-001\") { concerns { ref } } recommendation(ref: \"R-36-USA-001\") { concerns { ref } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["measure"]["concerns"], json!([{ "ref": "C-USA-001" }]));
    assert_eq!(
        d["recommendation"]["concerns"],
        json!([{ "ref": "C-USA-001" }])
    );
    assert_clean(&s);

    // Creating it again is refused, not an overwrite.
    let again = s
        .as_editor(CREATE_CONCERN, json!({ "input": new_concern() }))
        .await;
    assert_eq!(again.code(), "CONFLICT", "{}", again.body);

    // An update on a stale version is a CONFLICT that names the current version.
    let stale = s
        .as_editor(
            UPDATE_CONCERN,
            json!({ "input": { "ref": "C-USA-001", "expectedVersion": 0, "severity": "HIGH" } }),
        )
        .await;
    assert_eq!(stale.code(), "CONFLICT");
    assert_eq!(stale.error()["extensions"]["currentVersion"], 1);

    let updated = s
        .as_editor(
            UPDATE_CONCERN,
            json!({ "input": { "ref": "C-USA-001", "expectedVersion": 1, "severity": "HIGH", "measures": [] } }),
        )
        .await;
    assert_eq!(
        updated.data()["updateConcern"],
        json!({ "changed": true, "concern": { "ref": "C-USA-001", "version": 2, "severity": "HIGH", "measures": [] } })
    );
    let d = s
        .read(
            "{ measure(ref: \"M-USA-001\") { concerns { ref } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["measure"]["concerns"],
        json!([]),
        "the reverse index moved"
    );
    assert_clean(&s);

    let deleted = s
        .as_editor(
            DELETE_CONCERN,
            json!({ "input": { "ref": "C-USA-001", "expectedVersion": 2 } }),
        )
        .await;
    assert!(deleted.data()["deleteConcern"]["deletedId"].is_string());
    assert_eq!(
        s.read("{ concern(ref: \"C-USA-001\") { ref } }", json!({}))
            .await["concern"],
        Value::Null
    );
    assert_clean(&s);

    // Every change is in the history (the root lists the oldest first), by its author.
    let h = s
        .read(
            "{ changes(first: 10) { nodes { entity key kind version author } } }",
            json!({}),
        )
        .await;
    let ours: Vec<&Value> = h["changes"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["entity"] == "CONCERN")
        .collect();
    assert_eq!(
        ours,
        vec![
            &json!({ "entity": "CONCERN", "key": "C-USA-001", "kind": "CREATED", "version": 1, "author": "eddie" }),
            &json!({ "entity": "CONCERN", "key": "C-USA-001", "kind": "UPDATED", "version": 2, "author": "eddie" }),
            &json!({ "entity": "CONCERN", "key": "C-USA-001", "kind": "DELETED", "version": 2, "author": "eddie" }),
        ]
    );
}

#[tokio::test]
async fn a_reader_cannot_create_a_concern() {
    let s = server().await;

    let r = s
        .gql(
            Some(&s.reader),
            CREATE_CONCERN,
            json!({ "input": new_concern() }),
        )
        .await;

    assert_eq!(r.code(), "FORBIDDEN", "{}", r.body);
}

#[tokio::test]
async fn a_concern_with_a_dangling_measure_is_refused_naming_the_field_and_nothing_is_written() {
    let s = server().await;
    let mut input = new_concern();
    input["measures"] = json!(["M-USA-404"]);

    let r = s.as_editor(CREATE_CONCERN, json!({ "input": input })).await;

    assert_eq!(r.code(), "BAD_USER_INPUT", "{}", r.body);
    assert_eq!(r.error()["extensions"]["field"], "input.measures");
    assert_eq!(
        s.read("{ concern(ref: \"C-USA-001\") { ref } }", json!({}))
            .await["concern"],
        Value::Null
    );
    assert_clean(&s);
}

#[tokio::test]
async fn deleting_what_a_concern_or_an_action_cites_is_refused_until_the_citation_goes() {
    let s = server().await;
    // The small dataset's action A-UKR-001 cites concern C-UKR-001; concern C-HND-001 cites
    // measure M-HND-001.
    let refused = s
        .as_editor(
            DELETE_CONCERN,
            json!({ "input": { "ref": "C-UKR-001", "expectedVersion": 1 } }),
        )
        .await;
    assert_eq!(refused.code(), "FAILED_PRECONDITION", "{}", refused.body);
    let message = refused.error()["message"].as_str().unwrap();
    assert!(message.contains("action(s) that address it"), "{message}");

    let refused = s
        .as_editor(
            DELETE_MEASURE,
            json!({ "input": { "ref": "M-HND-001", "expectedVersion": 1 } }),
        )
        .await;
    assert_eq!(refused.code(), "FAILED_PRECONDITION", "{}", refused.body);
    let message = refused.error()["message"].as_str().unwrap();
    assert!(message.contains("concern(s) it mitigates"), "{message}");
    assert_clean(&s);

    // Once the action no longer cites the concern, the concern can go.
    let u = s
        .as_editor(
            UPDATE_ACTION,
            json!({ "input": { "ref": "A-UKR-001", "expectedVersion": 1, "concerns": [], "endDate": "2020-12-31" } }),
        )
        .await;
    assert_eq!(
        u.data()["updateAction"],
        json!({ "changed": true, "action": { "ref": "A-UKR-001", "version": 2, "endDate": "2020-12-31", "concerns": [] } })
    );
    s.as_editor(
        DELETE_CONCERN,
        json!({ "input": { "ref": "C-UKR-001", "expectedVersion": 1 } }),
    )
    .await
    .data();
    s.as_editor(
        DELETE_ACTION,
        json!({ "input": { "ref": "A-UKR-001", "expectedVersion": 2 } }),
    )
    .await
    .data();
    assert_clean(&s);
}

#[tokio::test]
async fn an_editor_creates_an_action_that_addresses_a_concern() {
    let s = server().await;

    let r = s
        .as_editor(
            CREATE_ACTION,
            json!({ "input": {
                "ref": "A-HND-001", "countries": ["HND"], "title": "Guidance on testing",
                "description": "Guidance to the health ministry.", "kind": "GUIDANCE_AND_TECHNICAL_SUPPORT",
                "startDate": "2020-06-01", "outcome": "Guidance adopted", "peopleReached": 120,
                "concerns": ["C-HND-001"], "measures": ["M-HND-001"], "source": "Test fixture"
            } }),
        )
        .await;

    assert_eq!(
        r.data()["createAction"],
        json!({ "changed": true, "action": { "ref": "A-HND-001", "version": 1,
                "kind": "GUIDANCE_AND_TECHNICAL_SUPPORT", "outcome": "Guidance adopted",
                "peopleReached": 120, "concerns": [{ "ref": "C-HND-001" }],
                "measures": [{ "ref": "M-HND-001" }] } })
    );
    let d = s
        .read("{ concern(ref: \"C-HND-001\") { actions { ref } } measure(ref: \"M-HND-001\") { actions { ref } } }", json!({}))
        .await;
    assert_eq!(d["concern"]["actions"], json!([{ "ref": "A-HND-001" }]));
    assert_eq!(d["measure"]["actions"], json!([{ "ref": "A-HND-001" }]));
    assert_clean(&s);
}

#[tokio::test]
async fn concern_events_reach_the_subscribers_of_its_countries_only() {
    let s = server().await;
    let (mut usa, ack) = connect(&s, None).await;
    assert_eq!(ack.unwrap()["type"], "connection_ack");
    subscribe(
        &mut usa,
        "u",
        "subscription { concernChanged(country: \"USA\") { kind ref concern { severity } change { author } } }",
    )
    .await;
    let (mut bdi, _) = connect(&s, None).await;
    subscribe(
        &mut bdi,
        "b",
        "subscription { concernChanged(country: \"BDI\") { kind ref } }",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    s.as_editor(CREATE_CONCERN, json!({ "input": new_concern() }))
        .await
        .data();
    // A concern about two States reaches the subscribers of each.
    s.as_editor(
        UPDATE_CONCERN,
        json!({ "input": { "ref": "C-UKR-001", "expectedVersion": 1, "severity": "HIGH" } }),
    )
    .await
    .data();

    let e = receive(&mut usa, Duration::from_secs(5))
        .await
        .expect("an event");
    assert_eq!(
        e["payload"]["data"]["concernChanged"],
        json!({ "kind": "CREATED", "ref": "C-USA-001", "concern": { "severity": "MEDIUM" }, "change": { "author": "eddie" } })
    );
    let e = receive(&mut bdi, Duration::from_secs(5))
        .await
        .expect("an event");
    assert_eq!(
        e["payload"]["data"]["concernChanged"],
        json!({ "kind": "UPDATED", "ref": "C-UKR-001" })
    );
    // Neither hears of the other's.
    assert!(receive(&mut usa, Duration::from_millis(300))
        .await
        .is_none());
    assert!(receive(&mut bdi, Duration::from_millis(300))
        .await
        .is_none());
}
