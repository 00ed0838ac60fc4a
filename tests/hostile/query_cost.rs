//! Every query has a price and a deadline: a small document that expands to a huge one, a
//! fragment cycle, a batch of thousands of heavy items, an alias-heavy introspection query and
//! CPU-bound suggestions over a huge stored text are refused or stopped in time, and the
//! server keeps answering everyone else meanwhile.

use std::time::{Duration, Instant};

use async_graphql::{BatchRequest, BatchResponse, Request};
use serde_json::{json, Value};

use recover_better::graphql::{self, Limits};
use recover_better::server::HttpOptions;
use recover_better::store::{Change, Record};

use crate::harness::{self, Server};

/// A generous bound for what must be quick, even in a debug build on a loaded machine.
const QUICK: Duration = Duration::from_secs(5);

/// POSTs a raw JSON body to `/graphql`; gives up after `limit`.
async fn post(s: &Server, body: &Value, limit: Duration) -> Result<(u16, Value), String> {
    let client = reqwest::Client::new();
    let send = async {
        let r = client
            .post(format!("{}/graphql", s.address))
            .json(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        let bytes = r.bytes().await.map_err(|e| e.to_string())?;
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        Ok((status, body))
    };
    tokio::time::timeout(limit, send)
        .await
        .map_err(|_| format!("no answer within {limit:?}"))?
}

/// Asserts `/health` and a cheap query both answer within [`QUICK`].
async fn server_still_answers(s: &Server) {
    let started = Instant::now();
    let health = tokio::time::timeout(
        QUICK,
        reqwest::Client::new()
            .get(format!("{}/health", s.address))
            .send(),
    )
    .await;
    assert!(
        matches!(&health, Ok(Ok(r)) if r.status().is_success()),
        "/health did not answer within {QUICK:?}"
    );
    let cheap = post(
        s,
        &json!({ "query": "{ recommendation(ref: \"R-36-HND-001\") { ref } }" }),
        QUICK,
    )
    .await
    .unwrap_or_else(|e| panic!("a cheap query: {e}"));
    assert_eq!(
        cheap.1["data"]["recommendation"]["ref"], "R-36-HND-001",
        "{}",
        cheap.1
    );
    assert!(started.elapsed() < 2 * QUICK);
}

/// `n` fragments, each spreading the previous one `fan` times: `fan^n` copies of `leaf`.
fn fragment_bomb(n: usize, fan: usize, leaf: &str) -> String {
    let mut q = format!("query {{ ...F{n} }}\nfragment F1 on QueryRoot {{ {leaf} }}\n");
    for k in 2..=n {
        q.push_str(&format!(
            "fragment F{k} on QueryRoot {{ {} }}\n",
            vec![format!("...F{}", k - 1); fan].join(" ")
        ));
    }
    q
}

fn first_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error with a code: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragment_bomb_is_refused_at_once_while_the_server_keeps_answering() {
    let s = harness::server().await;
    // About 1 KB that expands to 10^11 fields (of `__typename`, which async-graphql prices
    // at nothing, so only the number of selections can refuse it).
    let bomb = fragment_bomb(12, 10, "__typename");
    assert!(bomb.len() < 1_200, "{}", bomb.len());
    let started = Instant::now();
    // Two at once, on a server with two request threads.
    let body = json!({ "query": bomb });
    let (a, b) = tokio::join!(post(&s, &body, QUICK), post(&s, &body, QUICK));
    for r in [a, b] {
        let (_, body) = r.unwrap_or_else(|e| panic!("the bomb: {e}"));
        assert_eq!(first_code(&body), "QUERY_LIMIT_EXCEEDED", "{body}");
        assert!(body["data"].is_null(), "{body}");
    }
    assert!(started.elapsed() < QUICK, "{:?}", started.elapsed());
    // With fields at the leaves its complexity is over the limit too.
    let (_, body) = post(
        &s,
        &json!({ "query": fragment_bomb(12, 10, "cycles { number }") }),
        QUICK,
    )
    .await
    .unwrap();
    assert_eq!(first_code(&body), "QUERY_LIMIT_EXCEEDED", "{body}");
    server_still_answers(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragment_cycle_is_refused_without_being_expanded() {
    let s = harness::server().await;
    // Each fragment spreads the other twice: expanded until some depth limit, that is 2^64.
    for q in [
        "{ ...A } fragment A on QueryRoot { cycles { number } ...B ...B } fragment B on QueryRoot { ...A ...A }",
        "{ ...A } fragment A on QueryRoot { ...A }",
    ] {
        let (_, body) = post(&s, &json!({ "query": q }), QUICK)
            .await
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        assert_eq!(first_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("within itself"), "{message}");
    }
    server_still_answers(&s).await;
}

/// A connection of 500 nodes: complexity 1 501, well under the limit alone.
const HEAVY_ITEM: &str = "{ recommendations(first: 500) { nodes { ref text } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_over_http_has_one_budget_for_all_of_its_items() {
    let s = harness::server().await;
    let batch: Vec<Value> = (0..4_000).map(|_| json!({ "query": HEAVY_ITEM })).collect();
    let (status, body) = post(&s, &Value::Array(batch), Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("the batch: {e}"));
    let Some(items) = body.as_array() else {
        // Refused whole (a cap on the number of items): short, with a code.
        assert!(
            status >= 400 || body.get("errors").is_some(),
            "{status}: {body}"
        );
        assert!(
            body["errors"][0]["extensions"]["code"].is_string(),
            "{body}"
        );
        assert!(body.to_string().len() < 10_000);
        server_still_answers(&s).await;
        return;
    };
    assert_eq!(items.len(), 4_000);
    // 50 000 / 1 501: 33 items fit; every later one is refused, unrun.
    let ran = items.iter().filter(|r| r.get("errors").is_none()).count();
    assert_eq!(ran, 33, "{}", items[0]);
    for r in &items[33..] {
        assert_eq!(first_code(r), "QUERY_LIMIT_EXCEEDED", "{r}");
        assert!(r["data"].is_null());
    }
    server_still_answers(&s).await;
}

#[tokio::test]
async fn execute_batch_refuses_the_items_past_the_shared_budget() {
    let s = harness::server().await;
    let api = graphql::api(s.live.clone(), Limits::default());
    let items: Vec<Request> = (0..4_000).map(|_| Request::new(HEAVY_ITEM)).collect();
    let started = Instant::now();
    let BatchResponse::Batch(responses) = api.execute_batch(BatchRequest::Batch(items)).await
    else {
        panic!("a batch gets a batch response")
    };
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(responses.len(), 4_000);
    let ran: Vec<_> = responses
        .iter()
        .take_while(|r| r.errors.is_empty())
        .collect();
    assert_eq!(ran.len(), 33);
    // The cost of each item that ran is its own.
    let cost = &ran[0].extensions["cost"];
    assert_eq!(
        serde_json::to_value(cost).unwrap()["complexity"],
        json!(1_501)
    );
    for r in &responses[33..] {
        let code = r.errors[0]
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .cloned();
        assert_eq!(code, Some("QUERY_LIMIT_EXCEEDED".into()));
        // The first refused item says by how much; the others that they were not run.
        let m = &r.errors[0].message;
        assert!(m.contains("together") || m.contains("Not run"), "{m}");
    }
    // A batch whose items fit runs them all, in order.
    let items = vec![
        Request::new("{ recommendation(ref: \"R-36-HND-001\") { ref } }"),
        Request::new("{ measure(ref: \"M-HND-001\") { ref } }"),
    ];
    let BatchResponse::Batch(responses) = api.execute_batch(BatchRequest::Batch(items)).await
    else {
        panic!("a batch gets a batch response")
    };
    let data: Vec<Value> = responses
        .into_iter()
        .map(|r| serde_json::to_value(r.data).unwrap())
        .collect();
    assert_eq!(data[0]["recommendation"]["ref"], "R-36-HND-001");
    assert_eq!(data[1]["measure"]["ref"], "M-HND-001");
}

/// The introspection query GraphiQL 4 sends (graphql-js 16's `getIntrospectionQuery` with
/// `inputValueDeprecation` and `schemaDescription`, and its nine levels of `ofType`).
fn graphiql_introspection_query() -> String {
    let mut type_ref = String::from("kind name");
    for _ in 0..9 {
        type_ref = format!("kind name ofType {{ {type_ref} }}");
    }
    format!(
        "query IntrospectionQuery {{
          __schema {{
            description
            queryType {{ name kind }} mutationType {{ name kind }} subscriptionType {{ name kind }}
            types {{ ...FullType }}
            directives {{ name description locations args(includeDeprecated: true) {{ ...InputValue }} }}
          }}
        }}
        fragment FullType on __Type {{
          kind name description
          fields(includeDeprecated: true) {{
            name description args(includeDeprecated: true) {{ ...InputValue }}
            type {{ ...TypeRef }} isDeprecated deprecationReason
          }}
          inputFields(includeDeprecated: true) {{ ...InputValue }}
          interfaces {{ ...TypeRef }}
          enumValues(includeDeprecated: true) {{ name description isDeprecated deprecationReason }}
          possibleTypes {{ ...TypeRef }}
        }}
        fragment InputValue on __InputValue {{
          name description type {{ ...TypeRef }} defaultValue isDeprecated deprecationReason
        }}
        fragment TypeRef on __Type {{ {type_ref} }}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiqls_introspection_passes_but_an_alias_heavy_one_is_refused() {
    let s = harness::server().await;
    let (_, body) = post(
        &s,
        &json!({ "query": graphiql_introspection_query() }),
        QUICK,
    )
    .await
    .unwrap();
    assert!(body.get("errors").is_none(), "{}", body["errors"]);
    let types = body["data"]["__schema"]["types"].as_array().unwrap();
    assert!(types.len() > 50);
    let cost = &body["extensions"]["cost"];
    let complexity = cost["complexity"].as_u64().unwrap();
    // Priced at about what it returns, with room to spare under the limit.
    assert!(complexity < 40_000, "{cost}");
    let returned = body["data"].to_string().matches('{').count() as u64;
    assert!(
        complexity >= returned / 2,
        "{complexity} for {returned} objects"
    );
    // About 170 KB of aliases of the whole type list with its fields.
    let mut q = String::from("{");
    let mut i = 0;
    while q.len() < 170_000 {
        q.push_str(&format!(
            " a{i}: __schema {{ types {{ fields {{ name }} }} }}"
        ));
        i += 1;
    }
    q.push('}');
    let started = Instant::now();
    let (status, body) = post(&s, &json!({ "query": q }), QUICK).await.unwrap();
    assert_eq!(first_code(&body), "QUERY_LIMIT_EXCEEDED", "{status}");
    assert!(body["data"].is_null());
    assert!(
        body.to_string().len() < 10_000,
        "a refusal is short: {} bytes",
        body.to_string().len()
    );
    assert!(started.elapsed() < QUICK);
}

/// A measure of Honduras whose description has 100 000 words, nearly all distinct.
fn huge_measure() -> Change {
    // As long as a description may be (the model refuses longer ones), and all distinct
    // words: the most a stored text can make suggestions read.
    let mut description = String::from("Testing and health care for older persons. ");
    for i in 0.. {
        let word = format!("w{i}x ");
        if description.len() + word.len() > recover_better::model::limits::LONG_TEXT {
            break;
        }
        description.push_str(&word);
    }
    let json = json!({
        "id": "M-HND-HUGE", "country": "HND", "title": "Health care for older persons",
        "description": description, "category": "HEALTH", "start_date": "2020-04-01",
        "end_date": null, "themes": ["right-to-health"], "groups": ["older-persons"],
        "sdgs": [3], "source": null, "source_code": null, "source_url": null
    });
    Change::put(Record::Measure(
        serde_json::from_value(json).expect("a valid measure"),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggestions_over_a_huge_stored_text_answer_in_time_and_health_stays_up() {
    let s = harness::server_with(HttpOptions::default()).await;
    let live = s.live.clone();
    tokio::task::spawn_blocking(move || live.write(vec![huge_measure()], "test"))
        .await
        .unwrap()
        .expect("the measure is stored");
    let q = json!({ "query": "{ measure(ref: \"M-HND-HUGE\") { suggestedRecommendations(first: 1) { score recommendation { ref } } } }" });
    // Three at once, on a server with two request threads; each answers (or is stopped)
    // within the 10 s deadline.
    let limit = Limits::default().deadline + Duration::from_secs(20);
    let started = Instant::now();
    let requests = futures_util::future::join_all((0..3).map(|_| post(&s, &q, limit)));
    let (answers, ()) = tokio::join!(requests, async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        server_still_answers(&s).await;
    });
    for a in answers {
        let (_, body) = a.unwrap_or_else(|e| panic!("suggestions: {e}"));
        match body.get("errors") {
            None => assert_eq!(
                body["data"]["measure"]["suggestedRecommendations"][0]["recommendation"]["ref"],
                "R-36-HND-001",
                "{body}"
            ),
            Some(_) => assert_eq!(first_code(&body), "QUERY_TIMEOUT", "{body}"),
        }
    }
    assert!(started.elapsed() < limit);
}

#[tokio::test]
async fn every_response_carries_its_cost_and_the_limits() {
    let s = harness::server().await;
    let r = s
        .gql(
            None,
            "{ recommendation(ref: \"R-36-HND-001\") { text } recommendations(first: 3) { nodes { ref } } }",
            json!({}),
        )
        .await;
    r.data();
    let limits = Limits::default();
    assert_eq!(
        r.body["extensions"]["cost"],
        json!({
            // recommendation (1 + text) + recommendations (3 × (nodes + ref) + 1).
            "complexity": 2 + 7,
            "depth": 3,
            "selections": 5,
            "maxComplexity": limits.complexity,
            "maxDepth": limits.depth,
            "maxSelections": limits.selections,
        })
    );
    // A refusal says by how much.
    let r = s
        .gql(
            None,
            "{ a: recommendations(first: 500) { nodes { recommendingStates { recommendationsMade(first: 500) { totalCount } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(r.code(), "QUERY_LIMIT_EXCEEDED");
    assert!(
        r.body["extensions"]["cost"]["complexity"].as_u64().unwrap() > limits.complexity as u64,
        "{}",
        r.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_past_its_deadline_is_stopped_with_query_timeout() {
    let s = harness::server().await;
    let live = s.live.clone();
    tokio::task::spawn_blocking(move || live.write(vec![huge_measure()], "test"))
        .await
        .unwrap()
        .expect("the measure is stored");
    let limits = Limits {
        deadline: Duration::from_millis(1),
        ..Limits::default()
    };
    let api = graphql::api(s.live.clone(), limits);
    // Forty suggestion lists: each is scored on a blocking thread, one per core at a time.
    let mut q = String::from("{");
    for i in 0..40 {
        q.push_str(&format!(
            " s{i}: measure(ref: \"M-HND-HUGE\") {{ suggestedRecommendations(first: 5) {{ score }} }}"
        ));
    }
    q.push('}');
    let started = Instant::now();
    let r = async_graphql::Executor::execute(&api, Request::new(q.clone())).await;
    assert!(started.elapsed() < QUICK, "{:?}", started.elapsed());
    let e = r
        .errors
        .first()
        .unwrap_or_else(|| panic!("no error: {r:?}"));
    assert_eq!(
        e.extensions.as_ref().and_then(|x| x.get("code")).cloned(),
        Some("QUERY_TIMEOUT".into()),
        "{e:?}"
    );
    assert!(e.message.contains("deadline of 1 ms"), "{}", e.message);
    // The same query with the default deadline answers in full.
    let api = graphql::api(s.live.clone(), Limits::default());
    let r = async_graphql::Executor::execute(&api, Request::new(q)).await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_for_a_huge_text_answers_and_the_server_keeps_answering() {
    let s = harness::server().await;
    // 50,000 distinct words (about 400 KB).
    let mut text = String::new();
    for i in 0..50_000 {
        text.push_str(&format!("w{i}x "));
    }
    let body = json!({
        "query": "query($t: String!) { search(text: $t, first: 1) { totalCount } recommendations(filter: { text: $t }) { totalCount } }",
        "variables": { "t": text },
    });
    let started = Instant::now();
    let (requests, ()) = tokio::join!(
        futures_util::future::join_all((0..2).map(|_| post(&s, &body, 4 * QUICK))),
        async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            server_still_answers(&s).await;
        }
    );
    for r in requests {
        let (_, r) = r.unwrap_or_else(|e| panic!("the search: {e}"));
        // Nothing has all those words (or a text that long is refused): an answer, not a hang.
        assert!(
            r["data"]["search"]["totalCount"] == 0 || r.get("errors").is_some(),
            "{r}"
        );
    }
    assert!(started.elapsed() < 4 * QUICK);
}

/// Over WebSocket (graphql-transport-ws): the first answer (`next` or `error`) to
/// `query`.
async fn over_websocket(s: &Server, query: &str) -> Value {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;
    let mut req = s.ws().into_client_request().unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let mut messages = vec![
        json!({ "type": "connection_init", "payload": {} }),
        json!({ "id": "1", "type": "subscribe", "payload": { "query": query } }),
    ]
    .into_iter();
    ws.send(Message::Text(messages.next().unwrap().to_string().into()))
        .await
        .unwrap();
    loop {
        let m = tokio::time::timeout(QUICK, ws.next())
            .await
            .expect("an answer in time")
            .expect("the connection stays open")
            .unwrap();
        let Message::Text(t) = m else { continue };
        let v: Value = serde_json::from_str(&t).unwrap();
        match v["type"].as_str() {
            Some("connection_ack") => {
                ws.send(Message::Text(messages.next().unwrap().to_string().into()))
                    .await
                    .unwrap();
            }
            Some("next") | Some("error") => return v,
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_websocket_queries_are_priced_too() {
    let s = harness::server().await;
    let v = over_websocket(&s, "{ recommendation(ref: \"R-36-HND-001\") { ref } }").await;
    assert_eq!(
        v["payload"]["data"]["recommendation"]["ref"], "R-36-HND-001",
        "{v}"
    );
    assert_eq!(v["payload"]["extensions"]["cost"]["complexity"], 2, "{v}");
    let started = Instant::now();
    let v = over_websocket(&s, &fragment_bomb(12, 10, "__typename")).await;
    assert!(started.elapsed() < QUICK);
    let errors = if v["type"] == "error" {
        &v["payload"]
    } else {
        &v["payload"]["errors"]
    };
    assert_eq!(
        errors[0]["extensions"]["code"], "QUERY_LIMIT_EXCEEDED",
        "{v}"
    );
}
