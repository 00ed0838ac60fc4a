//! The HTTP edge of `/graphql`: only JSON bodies, bounded bodies and batches, clear 4xx
//! refusals with GraphQL-shaped bodies, no mutation over GET, unreadable tokens refused,
//! ETag caching that never crosses callers, and persisted queries (Apollo's protocol and the
//! operator's allow-list).

use std::time::Duration;

use reqwest::header::HeaderValue;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use recover_better::server::http::PersistedQueryManifest;
use recover_better::server::HttpOptions;

use crate::harness::{server, server_with, Server};

const LINK_OVER_GET: &str = r#"mutation { linkRecommendation(input: {recommendation: "R-36-HND-002", measure: "M-HND-001", relation: CONTRADICTS}) { changed } }"#;
const LINKS_OF: &str = r#"{ recommendation(ref: "R-36-HND-002") { links { measure { ref } } } }"#;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn url(s: &Server) -> String {
    format!("{}/graphql", s.address)
}

fn hash(query: &str) -> String {
    Sha256::digest(query.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Status, headers and JSON body of a response.
struct Got {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
    text: String,
}

impl Got {
    async fn from(r: reqwest::Response) -> Got {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Got {
            status,
            headers,
            body,
            text,
        }
    }

    fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {} {}", self.status, self.text))
    }

    fn message(&self) -> &str {
        self.body["errors"][0]["message"].as_str().unwrap_or("")
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn post_json(s: &Server, token: Option<&str>, body: Value) -> Got {
    let mut r = client().post(url(s)).json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    Got::from(r.send().await.unwrap()).await
}

async fn get(s: &Server, token: Option<&str>, params: &[(&str, &str)], etag: Option<&str>) -> Got {
    let mut r = client().get(url(s)).query(params);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(e) = etag {
        r = r.header("if-none-match", e);
    }
    Got::from(r.send().await.unwrap()).await
}

async fn linked(s: &Server) -> Value {
    s.read(LINKS_OF, json!({})).await["recommendation"]["links"].clone()
}

#[tokio::test]
async fn posts_that_are_not_json_are_refused_with_415_and_write_nothing() {
    let s = server().await;
    let before = linked(&s).await;
    let body = json!({ "query": LINK_OVER_GET }).to_string();
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/json; charset=utf-16"),
        None,
    ] {
        let mut r = client()
            .post(url(&s))
            .bearer_auth(&s.editor)
            .body(body.clone());
        if let Some(t) = content_type {
            r = r.header("content-type", t);
        }
        let got = Got::from(r.send().await.unwrap()).await;
        assert_eq!(got.status, 415, "{content_type:?}: {}", got.text);
        assert_eq!(got.code(), "UNSUPPORTED_MEDIA_TYPE", "{content_type:?}");
        assert!(
            got.message().contains("application/json"),
            "{}",
            got.message()
        );
    }
    assert_eq!(linked(&s).await, before, "a refused POST wrote nothing");
}

#[tokio::test]
async fn a_mutation_over_get_is_405_with_allow_post_and_writes_nothing() {
    let s = server().await;
    let before = linked(&s).await;
    let got = get(&s, Some(&s.editor), &[("query", LINK_OVER_GET)], None).await;
    assert_eq!(got.status, 405, "{}", got.text);
    assert_eq!(got.header("allow"), "POST");
    assert_eq!(got.code(), "METHOD_NOT_ALLOWED");
    assert_eq!(linked(&s).await, before);
    // The same mutation by POST is fine.
    let posted = post_json(&s, Some(&s.editor), json!({ "query": LINK_OVER_GET })).await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    assert_eq!(posted.body["data"]["linkRecommendation"]["changed"], true);
    assert_ne!(linked(&s).await, before);
}

#[tokio::test]
async fn subscriptions_over_http_are_refused_with_a_clear_error() {
    let s = server().await;
    let got = post_json(
        &s,
        None,
        json!({ "query": "subscription { measureChanged { kind } }" }),
    )
    .await;
    assert_eq!(got.status, 400, "{}", got.text);
    assert_eq!(got.code(), "SUBSCRIPTION_OVER_HTTP");
    assert!(got.message().contains("/graphql/ws"), "{}", got.message());
}

/// Sends a chunked body (no Content-Length) of `total` bytes over a raw socket and returns
/// the status line and the rest of the response.
async fn chunked_post(s: &Server, total: usize) -> String {
    let addr = s.address.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let (mut read, mut write) = socket.into_split();
    let writer = tokio::spawn(async move {
        let chunk = vec![b' '; 16 * 1024];
        let mut sent = 0;
        while sent < total {
            let frame = format!("{:x}\r\n", chunk.len());
            if write.write_all(frame.as_bytes()).await.is_err()
                || write.write_all(&chunk).await.is_err()
                || write.write_all(b"\r\n").await.is_err()
            {
                return; // the server stopped reading: expected
            }
            sent += chunk.len();
        }
        let _ = write.write_all(b"0\r\n\r\n").await;
    });
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(60), read.read_to_end(&mut response)).await;
    writer.abort();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn an_oversized_chunked_body_is_413_with_a_json_error() {
    let s = server_with(HttpOptions {
        max_body_bytes: 64 * 1024,
        ..HttpOptions::default()
    })
    .await;
    let response = chunked_post(&s, 256 * 1024).await;
    assert!(
        response.starts_with("HTTP/1.1 413"),
        "{}",
        &response[..response.len().min(500)]
    );
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    // The body may be chunk-framed; the JSON object is inside.
    let json = &body[body.find('{').unwrap_or(0)..=body.rfind('}').unwrap_or(0)];
    let body: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(body["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE");
    // The server still answers.
    assert_eq!(
        s.read("{ __typename }", json!({})).await["__typename"],
        "QueryRoot"
    );
}

#[tokio::test]
async fn malformed_json_gets_a_clear_400_without_debug_noise() {
    let s = server().await;
    for (body, expected) in [
        (
            r#"{"query": "{ __typename }""#,
            "the request body is not valid JSON: EOF while parsing",
        ),
        (
            "{not json",
            "the request body is not valid JSON: key must be a string",
        ),
        ("", "the request body is empty"),
        ("42", "must be a JSON object"),
        (
            r#"{"query": 42}"#,
            "the request parameter `query` is not valid: invalid type: integer `42`",
        ),
        (
            r#"{"query": "{ __typename }", "variables": "x"}"#,
            "the request parameter `variables` is not valid",
        ),
        (
            r#"{"notquery": "{ __typename }"}"#,
            "the request has no `query`",
        ),
    ] {
        let r = client()
            .post(url(&s))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let got = Got::from(r).await;
        assert_eq!(got.status, 400, "{body}: {}", got.text);
        assert_eq!(got.code(), "BAD_REQUEST", "{body}");
        assert!(
            got.message().starts_with(expected) || got.message().contains(expected),
            "{body}: {}",
            got.message()
        );
        for noise in ["InvalidRequest(", "Error(", "Syntax("] {
            assert!(!got.text.contains(noise), "{body}: {}", got.text);
        }
    }
}

#[tokio::test]
async fn a_parse_error_does_not_echo_a_50_kb_query() {
    let s = server().await;
    let query = format!("{{ countries {} (", "code ".repeat(10_000));
    assert!(query.len() > 50_000);
    let got = post_json(&s, None, json!({ "query": query })).await;
    assert_eq!(got.status, 200, "application/json: request errors are 200");
    assert_eq!(got.code(), "GRAPHQL_PARSE_FAILED");
    assert!(
        got.text.len() < 2_000,
        "{} bytes: {}",
        got.text.len(),
        &got.text[..300]
    );
    assert!(
        got.message().starts_with("syntax error at line 1"),
        "{}",
        got.message()
    );
    assert!(
        got.body.get("data").is_none(),
        "a request error has no data entry"
    );
    // A long unknown field name is cut too.
    let field = "x".repeat(50_000);
    let got = post_json(&s, None, json!({ "query": format!("{{ {field} }}") })).await;
    assert!(got.text.len() < 2_000, "{} bytes", got.text.len());
}

#[tokio::test]
async fn the_response_media_type_follows_accept() {
    let s = server().await;
    let post = |accept: &'static str, query: &'static str| {
        client()
            .post(url(&s))
            .header("accept", accept)
            .json(&json!({ "query": query }))
            .send()
    };
    let r = post("application/json", "{ __typename }").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-type").starts_with("application/json"));
    let r = post("application/graphql-response+json", "{ __typename }")
        .await
        .unwrap();
    assert!(header(&r, "content-type").starts_with("application/graphql-response+json"));
    // A validation failure: 400 under the new media type, 200 under the legacy one; no data.
    let r = Got::from(
        post("application/graphql-response+json", "{ planets }")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.body.get("data").is_none(), "{}", r.text);
    let r = Got::from(post("application/json", "{ planets }").await.unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Nothing acceptable: 406.
    let r = Got::from(post("text/html", "{ __typename }").await.unwrap()).await;
    assert_eq!(r.status, 406, "{}", r.text);
    assert_eq!(r.code(), "NOT_ACCEPTABLE");
}

#[tokio::test]
async fn a_get_is_cached_by_etag_until_the_next_write() {
    let s = server().await;
    let params = [("query", LINKS_OF)];
    let first = get(&s, None, &params, None).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let etag = first.header("etag").to_owned();
    assert!(etag.starts_with('"') && etag.len() > 10, "{etag:?}");
    assert_eq!(first.header("cache-control"), "public, max-age=5");
    assert!(first.header("vary").contains("authorization"));

    let again = get(&s, None, &params, Some(&etag)).await;
    assert_eq!(again.status, 304);
    assert!(again.text.is_empty());
    assert_eq!(again.header("etag"), etag);

    // A write moves the catalog on: the old ETag no longer matches.
    let w = post_json(&s, Some(&s.editor), json!({ "query": LINK_OVER_GET })).await;
    assert_eq!(
        w.body["data"]["linkRecommendation"]["changed"], true,
        "{}",
        w.text
    );
    let after = get(&s, None, &params, Some(&etag)).await;
    assert_eq!(after.status, 200);
    assert_ne!(after.header("etag"), etag);
    assert_ne!(after.body, first.body);

    // POSTs are never stored.
    let p = post_json(&s, None, json!({ "query": LINKS_OF })).await;
    assert_eq!(p.header("cache-control"), "no-store");
    assert!(p.header("etag").is_empty());
    // Nor are responses with errors.
    let e = get(&s, None, &[("query", "{ planets }")], None).await;
    assert_eq!(e.header("cache-control"), "no-store");
    assert!(e.header("etag").is_empty());
}

#[tokio::test]
async fn etags_never_cross_callers_and_token_responses_are_private() {
    let s = server().await;
    let params = [("query", "{ __typename }")];
    let anonymous = get(&s, None, &params, None).await;
    let reader = get(&s, Some(&s.reader), &params, None).await;
    let editor = get(&s, Some(&s.editor), &params, None).await;
    assert_eq!(reader.header("cache-control"), "private, max-age=5");
    let tags = [
        anonymous.header("etag"),
        reader.header("etag"),
        editor.header("etag"),
    ];
    assert!(tags.iter().all(|t| !t.is_empty()));
    assert_ne!(tags[0], tags[1]);
    assert_ne!(tags[1], tags[2]);
    assert_ne!(tags[0], tags[2]);
    // The anonymous ETag does not validate the reader's request.
    let r = get(&s, Some(&s.reader), &params, Some(tags[0])).await;
    assert_eq!(r.status, 200);
    let r = get(&s, Some(&s.reader), &params, Some(tags[1])).await;
    assert_eq!(r.status, 304);
}

#[tokio::test]
async fn automatic_persisted_queries_register_then_hit() {
    let s = server().await;
    let query = "{ countries(first: 2) { nodes { code } } }";
    let pq = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash(query) } });
    // Unknown: Apollo's clients expect a 200 with this code, then send the query.
    let miss = post_json(&s, None, json!({ "extensions": pq })).await;
    assert_eq!(miss.status, 200, "{}", miss.text);
    assert_eq!(miss.code(), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(miss.message(), "PersistedQueryNotFound");
    let register = post_json(&s, None, json!({ "query": query, "extensions": pq })).await;
    assert_eq!(register.status, 200, "{}", register.text);
    let data = register.body["data"].clone();
    assert!(data["countries"]["nodes"].is_array(), "{}", register.text);
    // Now the hash alone is enough, by POST or by GET (and the GET is cacheable).
    let hit = post_json(&s, None, json!({ "extensions": pq })).await;
    assert_eq!(hit.body["data"], data, "{}", hit.text);
    let pq_text = pq.to_string();
    let hit = get(&s, None, &[("extensions", &pq_text)], None).await;
    assert_eq!(hit.status, 200, "{}", hit.text);
    assert_eq!(hit.body["data"], data);
    assert!(!hit.header("etag").is_empty());
}

#[tokio::test]
async fn a_persisted_query_whose_hash_does_not_match_is_refused_and_not_stored() {
    let s = server().await;
    let claimed = hash("{ __typename }");
    let pq = json!({ "persistedQuery": { "version": 1, "sha256Hash": claimed } });
    let got = post_json(
        &s,
        None,
        json!({ "query": "{ countries { totalCount } }", "extensions": pq }),
    )
    .await;
    assert_eq!(got.status, 400, "{}", got.text);
    assert_eq!(got.code(), "PERSISTED_QUERY_HASH_MISMATCH");
    let miss = post_json(&s, None, json!({ "extensions": pq })).await;
    assert_eq!(miss.code(), "PERSISTED_QUERY_NOT_FOUND");
    // A malformed persistedQuery is a 400 too.
    let bad = post_json(
        &s,
        None,
        json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": claimed } } }),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.code(), "BAD_REQUEST");
}

#[tokio::test]
async fn only_persisted_runs_the_allow_list_and_nothing_else() {
    let allowed = "{ countries(first: 1) { totalCount } }";
    let manifest =
        PersistedQueryManifest::parse(&json!({ hash(allowed): allowed }).to_string()).unwrap();
    let s = server_with(HttpOptions {
        persisted_queries: Some(std::sync::Arc::new(manifest)),
        only_persisted: true,
        ..HttpOptions::default()
    })
    .await;
    // By hash: runs.
    let pq = |q: &str| json!({ "persistedQuery": { "version": 1, "sha256Hash": hash(q) } });
    let ok = post_json(&s, None, json!({ "extensions": pq(allowed) })).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(
        ok.body["data"]["countries"]["totalCount"].is_number(),
        "{}",
        ok.text
    );
    // The allow-listed text itself runs too.
    let ok = post_json(&s, None, json!({ "query": allowed })).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    // Anything else is refused, even registered through APQ.
    let other = "{ __typename }";
    let refused = post_json(&s, None, json!({ "query": other })).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.code(), "PERSISTED_QUERY_REQUIRED");
    let refused = post_json(&s, None, json!({ "query": other, "extensions": pq(other) })).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.code(), "PERSISTED_QUERY_REQUIRED");
    let refused = post_json(&s, None, json!({ "extensions": pq(other) })).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.code(), "PERSISTED_QUERY_NOT_IN_LIST");
    let refused = get(&s, None, &[("query", other)], None).await;
    assert_eq!(refused.code(), "PERSISTED_QUERY_REQUIRED");
}

#[tokio::test]
async fn persisted_documents_named_by_document_id_or_relays_doc_id_run_from_the_allow_list() {
    let allowed = "query Two($n: Int) { countries(first: $n) { nodes { code } } }";
    let manifest =
        PersistedQueryManifest::parse(&json!({ hash(allowed): allowed }).to_string()).unwrap();
    let s = server_with(HttpOptions {
        persisted_queries: Some(std::sync::Arc::new(manifest)),
        ..HttpOptions::default()
    })
    .await;
    let id = format!("sha256:{}", hash(allowed));
    let vars = json!({ "n": 2 });

    // GraphQL-over-HTTP's `documentId`, by POST and by GET; Relay's `doc_id` (the hex alone).
    let by_id = post_json(&s, None, json!({ "documentId": id, "variables": vars })).await;
    assert_eq!(by_id.status, 200, "{}", by_id.text);
    let nodes = by_id.body["data"]["countries"]["nodes"].clone();
    assert_eq!(nodes.as_array().map(Vec::len), Some(2), "{}", by_id.text);
    let vars_text = vars.to_string();
    let by_get = get(
        &s,
        None,
        &[("documentId", &id), ("variables", &vars_text)],
        None,
    )
    .await;
    assert_eq!(by_get.status, 200, "{}", by_get.text);
    assert_eq!(by_get.body["data"]["countries"]["nodes"], nodes);
    assert!(!by_get.header("etag").is_empty());
    let relay = post_json(
        &s,
        None,
        json!({ "doc_id": hash(allowed), "variables": vars }),
    )
    .await;
    assert_eq!(
        relay.body["data"]["countries"]["nodes"], nodes,
        "{}",
        relay.text
    );
    let batch = client()
        .post(url(&s))
        .json(
            &json!([{ "doc_id": hash(allowed), "variables": vars }, { "query": "{ __typename }" }]),
        )
        .send()
        .await
        .unwrap();
    let batch: Value = batch.json().await.unwrap();
    assert_eq!(batch[0]["data"]["countries"]["nodes"], nodes, "{batch}");
    assert_eq!(batch[1]["data"]["__typename"], "QueryRoot", "{batch}");

    // An unknown id is a 400 (such a client has no query to send after a miss), whatever the
    // client accepts; so is an id that is not a SHA-256, and an id beside a query.
    let unknown = format!("sha256:{}", hash("{ __typename }"));
    let miss = post_json(&s, None, json!({ "documentId": unknown })).await;
    assert_eq!(miss.status, 400, "{}", miss.text);
    assert_eq!(miss.code(), "PERSISTED_DOCUMENT_NOT_FOUND");
    let md5 = post_json(
        &s,
        None,
        json!({ "doc_id": "0cc175b9c0f1b6a831c399e269772661" }),
    )
    .await;
    assert_eq!(md5.status, 400, "{}", md5.text);
    assert_eq!(md5.code(), "PERSISTED_DOCUMENT_ID_UNSUPPORTED");
    assert!(md5.message().contains("SHA256"), "{}", md5.text);
    let both = post_json(&s, None, json!({ "query": allowed, "documentId": id })).await;
    assert_eq!(both.status, 400, "{}", both.text);
    assert!(both.message().contains("not both"), "{}", both.text);
    let both = get(
        &s,
        None,
        &[("query", allowed), ("doc_id", &hash(allowed))],
        None,
    )
    .await;
    assert_eq!(both.status, 400, "{}", both.text);
    // The same bytes inside a query's text are not an id.
    let text = post_json(
        &s,
        None,
        json!({ "query": "{ __typename } # documentId doc_id" }),
    )
    .await;
    assert_eq!(text.status, 200, "{}", text.text);
}

#[tokio::test]
async fn a_malformed_manifest_stops_the_server_from_starting_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("allow-list.json");
    std::fs::write(&manifest, json!({ hash("{ a }"): "{ b }" }).to_string()).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_recover-better"))
        .arg("--data")
        .arg(dir.path().join("store"))
        .args([
            "serve",
            "--empty",
            "--listen",
            "127.0.0.1:0",
            "--only-persisted",
        ])
        .arg("--persisted-queries")
        .arg(&manifest)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("the server refuses to start rather than serving")
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("allow-list.json"), "{stderr}");
    assert!(stderr.contains("does not have that SHA-256"), "{stderr}");
}

#[tokio::test]
async fn batches_run_up_to_the_cap_and_larger_ones_are_refused() {
    let s = server_with(HttpOptions {
        max_batch: 3,
        ..HttpOptions::default()
    })
    .await;
    let op = json!({ "query": "{ __typename }" });
    let ok = post_json(&s, None, json!([op, op, op])).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body.as_array().map(Vec::len), Some(3), "{}", ok.text);
    assert_eq!(ok.body[2]["data"]["__typename"], "QueryRoot");
    let refused = post_json(&s, None, json!([op, op, op, op])).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(refused.code(), "BATCH_TOO_LARGE");
    let empty = post_json(&s, None, json!([])).await;
    assert_eq!(empty.status, 400);
    // A member that is refused gets its refusal; the others run.
    let mixed = post_json(&s, None, json!([op, { "notquery": 1 }])).await;
    assert_eq!(mixed.status, 200, "{}", mixed.text);
    assert_eq!(mixed.body[0]["data"]["__typename"], "QueryRoot");
    assert_eq!(
        mixed.body[1]["errors"][0]["extensions"]["code"],
        "BAD_REQUEST"
    );
}

#[tokio::test]
async fn an_unreadable_bearer_token_is_401_not_anonymous() {
    let s = server_with(HttpOptions::default()).await;
    for raw in [&b"Bearer rb_\xe9t\xe9"[..], &b"Bearer \xff\xfe"[..]] {
        let r = client()
            .post(url(&s))
            .header("authorization", HeaderValue::from_bytes(raw).unwrap())
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .unwrap();
        let got = Got::from(r).await;
        assert_eq!(got.status, 401, "{}", got.text);
        assert_eq!(got.code(), "UNAUTHENTICATED");
        assert_eq!(got.header("www-authenticate"), "Bearer");
    }
    // Two Authorization headers are not guessed between either.
    let r = client()
        .post(url(&s))
        .header("authorization", format!("Bearer {}", s.reader))
        .header("authorization", "Bearer rb_other")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

/// A server over an empty store whose responses carry the handler's `GraphqlOutcome` in an
/// `x-outcome` header, as the metrics layer would read it.
async fn outcome_server() -> (String, tempfile::TempDir) {
    use recover_better::server::outcome::GraphqlOutcome;
    use recover_better::server::App;
    use recover_better::store::Store;
    use std::sync::Arc;

    let dir = tempfile::Builder::new()
        .prefix("edge-outcome-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
    let mut app = App::builder(store).build().unwrap();
    app.router = app.router.layer(axum::middleware::map_response(
        |mut r: axum::response::Response| async move {
            if let Some(o) = r.extensions().get::<GraphqlOutcome>() {
                let text = format!("{:?}|{}|{}", o.operation, o.codes.join(","), o.operations);
                r.headers_mut()
                    .insert("x-outcome", HeaderValue::from_str(&text).unwrap());
            }
            r
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}/graphql", listener.local_addr().unwrap());
    tokio::spawn(app.serve(listener, std::future::pending()));
    (address, dir)
}

#[tokio::test]
async fn every_answer_tells_the_layers_its_operation_and_error_codes() {
    let (address, _dir) = outcome_server().await;
    let outcome = |r: &reqwest::Response| header(r, "x-outcome").to_owned();
    let post = |body: Value| client().post(&address).json(&body).send();

    let r = post(json!({ "query": "query Countries { countries { totalCount } }" }))
        .await
        .unwrap();
    assert_eq!(outcome(&r), "Some(\"Countries\")||1");
    let r =
        post(json!({ "query": "{ a: __typename } query B { __typename }", "operationName": "B" }))
            .await
            .unwrap();
    assert_eq!(
        outcome(&r),
        "Some(\"B\")|GRAPHQL_PARSE_FAILED|1",
        "an anonymous operation beside a named one"
    );
    let r = post(json!({ "query": "{ planets }" })).await.unwrap();
    assert_eq!(outcome(&r), "None|GRAPHQL_VALIDATION_FAILED|1");
    let op = json!({ "query": "{ __typename }" });
    let r = post(json!([op, op, { "query": "{" }])).await.unwrap();
    assert_eq!(outcome(&r), "None|GRAPHQL_PARSE_FAILED|3");
    let r = client()
        .post(&address)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(outcome(&r), "None|UNSUPPORTED_MEDIA_TYPE|0");
}
