//! The auth matrix: every mutation × no token, a bad token, and each role. Inputs name records
//! that do not exist (or break a rule), so a caller that gets past the role check meets the
//! validation instead, and nothing is ever written.

use serde_json::{json, Value};

use recover_better::model::Role;
use recover_better::server::HttpOptions;

use crate::harness::*;

/// (mutation, minimum role, document, input, the code a permitted caller gets).
fn mutations() -> Vec<(&'static str, Role, &'static str, Value, &'static str)> {
    let m = |name: &'static str, input_type: &str, fields: &str| -> &'static str {
        Box::leak(
            format!("mutation($input: {input_type}!) {{ {name}(input: $input) {{ {fields} }} }}")
                .into_boxed_str(),
        )
    };
    vec![
        (
            "linkRecommendation",
            Role::Editor,
            m("linkRecommendation", "LinkRecommendationInput", "changed"),
            json!({ "recommendation": "R-NOPE", "measure": "M-HND-001", "relation": "IMPLEMENTS" }),
            "BAD_USER_INPUT",
        ),
        (
            "updateLink",
            Role::Editor,
            m("updateLink", "UpdateLinkInput", "changed"),
            json!({ "recommendation": "R-NOPE", "measure": "M-NOPE", "expectedVersion": 1 }),
            "NOT_FOUND",
        ),
        (
            "unlink",
            Role::Editor,
            m("unlink", "UnlinkInput", "deletedLinkId"),
            json!({ "recommendation": "R-NOPE", "measure": "M-NOPE", "expectedVersion": 1 }),
            "NOT_FOUND",
        ),
        (
            "createMeasure",
            Role::Editor,
            m("createMeasure", "CreateMeasureInput", "changed"),
            json!({ "ref": "M-NEW", "country": "XXX", "title": "t", "description": "d",
                    "category": "HEALTH", "startDate": "2020-04-01" }),
            "BAD_USER_INPUT",
        ),
        (
            "updateMeasure",
            Role::Editor,
            m("updateMeasure", "UpdateMeasureInput", "changed"),
            json!({ "ref": "M-NOPE", "expectedVersion": 1, "title": "x" }),
            "NOT_FOUND",
        ),
        (
            "deleteMeasure",
            Role::Editor,
            m("deleteMeasure", "DeleteInput", "deletedId"),
            json!({ "ref": "M-NOPE", "expectedVersion": 1 }),
            "NOT_FOUND",
        ),
        (
            "createGoodPractice",
            Role::Editor,
            m("createGoodPractice", "CreateGoodPracticeInput", "changed"),
            json!({ "ref": "GP-NEW", "title": " ", "description": "d" }),
            "BAD_USER_INPUT",
        ),
        (
            "updateGoodPractice",
            Role::Editor,
            m("updateGoodPractice", "UpdateGoodPracticeInput", "changed"),
            json!({ "ref": "GP-NOPE", "expectedVersion": 1 }),
            "NOT_FOUND",
        ),
        (
            "deleteGoodPractice",
            Role::Editor,
            m("deleteGoodPractice", "DeleteInput", "deletedId"),
            json!({ "ref": "GP-NOPE", "expectedVersion": 1 }),
            "NOT_FOUND",
        ),
        (
            "createRecommendation",
            Role::Admin,
            m(
                "createRecommendation",
                "CreateRecommendationInput",
                "changed",
            ),
            json!({ "ref": "R-NEW", "text": "t", "stateUnderReview": "HND",
                    "recommendingStates": ["PRT"], "session": 99, "response": "SUPPORTED" }),
            "BAD_USER_INPUT",
        ),
        (
            "updateRecommendation",
            Role::Admin,
            m(
                "updateRecommendation",
                "UpdateRecommendationInput",
                "changed",
            ),
            json!({ "ref": "R-NOPE", "expectedVersion": 1, "response": "NOTED" }),
            "NOT_FOUND",
        ),
        (
            "deleteRecommendation",
            Role::Admin,
            m("deleteRecommendation", "DeleteInput", "deletedId"),
            json!({ "ref": "R-NOPE", "expectedVersion": 1 }),
            "NOT_FOUND",
        ),
        (
            "createToken",
            Role::Admin,
            m("createToken", "CreateTokenInput", "secret"),
            json!({ "name": "no spaces allowed", "role": "READER" }),
            "BAD_USER_INPUT",
        ),
        (
            "revokeToken",
            Role::Admin,
            m("revokeToken", "RevokeTokenInput", "name"),
            json!({ "name": "nobody" }),
            "NOT_FOUND",
        ),
    ]
}

#[tokio::test]
async fn every_mutation_checks_the_role_of_its_caller() {
    let s = server().await;
    let roles = [
        (None, "none"),
        (Some("rb_not-a-real-token"), "bad"),
        (Some(s.reader.as_str()), "reader"),
        (Some(s.editor.as_str()), "editor"),
        (Some(s.admin.as_str()), "admin"),
    ];
    let before = s.read("{ changes { totalCount } }", json!({})).await;
    let mut checked = 0;
    for (name, min, doc, input, permitted) in mutations() {
        for (token, who) in roles {
            let r = s.gql(token, doc, json!({ "input": input })).await;
            let expected = match who {
                "none" | "bad" => "UNAUTHENTICATED",
                "reader" => "FORBIDDEN",
                "editor" if min == Role::Admin => "FORBIDDEN",
                _ => permitted,
            };
            assert_eq!(r.code(), expected, "{name} as {who}: {}", r.body);
            assert!(
                r.body["data"].is_null() || r.body["data"][name].is_null(),
                "{name} as {who} returned data: {}",
                r.body
            );
            // A bad token is refused before the schema runs: HTTP 401.
            assert_eq!(
                r.status,
                if who == "bad" { 401 } else { 200 },
                "{name} as {who}"
            );
            if expected == "FORBIDDEN" {
                let m = r.error()["message"].as_str().unwrap();
                assert!(m.contains(name) && m.contains(min.as_str()), "{m}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 14 * 5);
    // Nothing was written by any of them.
    assert_eq!(
        s.read("{ changes { totalCount } }", json!({})).await,
        before
    );
}

#[tokio::test]
async fn queries_are_open_unless_the_server_requires_a_token() {
    let open = server().await;
    let q = "{ recommendation(ref: \"R-36-HND-001\") { ref } }";
    assert_eq!(
        open.read(q, json!({})).await["recommendation"]["ref"],
        "R-36-HND-001"
    );

    let closed = server_with(HttpOptions {
        require_token: true,
        ..HttpOptions::default()
    })
    .await;
    let r = closed.gql(None, q, json!({})).await;
    assert_eq!((r.status, r.code()), (401, "UNAUTHENTICATED"));
    let r = closed.gql(Some("rb_wrong"), q, json!({})).await;
    assert_eq!((r.status, r.code()), (401, "UNAUTHENTICATED"));
    let r = closed.gql(Some(&closed.reader), q, json!({})).await;
    assert_eq!(r.data()["recommendation"]["ref"], "R-36-HND-001");
}

#[tokio::test]
async fn a_revoked_token_stops_working_and_only_hashes_are_stored() {
    let s = server().await;
    let store = s.live.store();
    let tokens = store.tokens().unwrap();
    assert_eq!(
        tokens.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["ada", "eddie", "rita"]
    );
    for t in &tokens {
        assert_eq!(t.hash.len(), 64);
        assert!(![&s.reader, &s.editor, &s.admin].contains(&&t.hash));
    }
    let q = "mutation { updateMeasure(input: { ref: \"M-HND-001\", expectedVersion: 1, title: \"Free testing\" }) { changed } }";
    assert!(store.revoke_token("eddie").unwrap());
    let r = s.gql(Some(&s.editor), q, json!({})).await;
    assert_eq!((r.status, r.code()), (401, "UNAUTHENTICATED"));
    assert!(!store.revoke_token("eddie").unwrap());
}

#[tokio::test]
async fn admins_manage_tokens_without_stopping_the_server() {
    let s = server().await;
    let create =
        "mutation($input: CreateTokenInput!) { createToken(input: $input) { name role secret } }";
    let r = s
        .as_admin(
            create,
            json!({ "input": { "name": "newcomer", "role": "EDITOR" } }),
        )
        .await;
    let p = &r.data()["createToken"];
    assert_eq!(
        (&p["name"], &p["role"]),
        (&json!("newcomer"), &json!("EDITOR"))
    );
    let secret = p["secret"].as_str().unwrap().to_owned();
    // The new token works at once, as its own author.
    let link = "mutation { linkRecommendation(input: { recommendation: \"R-36-HND-002\", measure: \"M-HND-001\", relation: RELATED }) { link { createdBy } } }";
    let r = s.gql(Some(&secret), link, json!({})).await;
    assert_eq!(
        r.data()["linkRecommendation"]["link"]["createdBy"],
        "newcomer"
    );
    // Listing shows names and roles, never secrets; only to admins.
    let list = s
        .as_admin("{ tokens { name role createdAt } }", json!({}))
        .await;
    let names: Vec<&str> = list.data()["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ada", "eddie", "newcomer", "rita"]);
    assert!(!list.body.to_string().contains(&secret));
    assert_eq!(
        s.as_editor("{ tokens { name } }", json!({})).await.code(),
        "FORBIDDEN"
    );
    // A name is unique.
    let r = s
        .as_admin(
            create,
            json!({ "input": { "name": "newcomer", "role": "ADMIN" } }),
        )
        .await;
    assert_eq!(r.code(), "CONFLICT");
    // Revoked: refused from the next request on.
    let revoke = "mutation { revokeToken(input: { name: \"newcomer\" }) { name } }";
    s.as_admin(revoke, json!({})).await.data();
    let r = s.gql(Some(&secret), link, json!({})).await;
    assert_eq!((r.status, r.code()), (401, "UNAUTHENTICATED"));
}
