//! The HTTP routes around the schema: `/health`, GET `/graphql`, GraphiQL at `/`.

use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn health_is_ok() {
    let app = tiny_app();
    let r = app.get("/health").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({ "status": "ok" }));
}

#[tokio::test]
async fn graphql_over_get() {
    let app = tiny_app();
    let r = app.get("/graphql?query=%7B__typename%7D").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"], json!({ "__typename": "QueryRoot" }));
    assert!(body.get("errors").is_none(), "{body}");
    assert!(body["extensions"]["cost"].is_object(), "{body}");
    // With variables.
    let q = "query($c: String!) { country(code: $c) { code } }";
    let code = &app.files.countries[0].code;
    let url = format!(
        "/graphql?query={}&variables={}",
        encode(q),
        encode(&json!({ "c": code }).to_string())
    );
    let body: Value = app.get(&url).await.json().await.unwrap();
    assert_eq!(body["data"]["country"]["code"], code.as_str());
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn graphql_over_post_rejects_what_is_not_graphql() {
    let app = tiny_app();
    // A syntax error: a GraphQL error, not a crash.
    let r = app.query("{ recommendations(", json!({})).await;
    assert!(r["errors"][0]["message"].is_string(), "{r}");
    // An unknown field.
    let r = app.query("{ planets { name } }", json!({})).await;
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("planets"),
        "{r}"
    );
    // A body that is not JSON.
    let response = client()
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_REQUEST",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("the request body is not valid JSON: key must be a string"),
        "{body}"
    );
}

#[tokio::test]
async fn graphiql_is_served_at_the_root() {
    let app = tiny_app();
    let r = app.get("/").await;
    assert_eq!(r.status(), 200, "GET / serves GraphiQL");
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let body = r.text().await.unwrap();
    assert!(
        body.to_lowercase().contains("<html") && body.contains("graphiql"),
        "{}",
        &body[..body.len().min(300)]
    );
}
