//! GraphQL over HTTP at `/graphql`: the edge between HTTP and the schema.
//!
//! One handler for GET and POST, in steps: negotiate the response's media type (`Accept`),
//! check the request's (`Content-Type`: JSON only, so a cross-site form or `text/plain` POST,
//! which browsers send without a CORS preflight, never runs), resolve the caller, read the
//! parameters (a JSON body, or the URL's query string for GET), resolve persisted queries,
//! parse the document and refuse what this transport does not serve (mutations over GET,
//! subscriptions over HTTP), execute, and answer with the status code the
//! [GraphQL-over-HTTP spec](https://graphql.github.io/graphql-over-http/draft/) asks for.
//!
//! Every refusal is a GraphQL-shaped body, `{"errors":[{"message","extensions":{"code"}}]}`,
//! with a stable code (see [`Refusal`]). No request's query text or variables are logged.
//!
//! Status codes: a request the edge cannot read (malformed JSON, wrong parameter types, no
//! query) is 400 whatever the client accepts. A document that does not parse or validate
//! (a "request error": the response has no `data`) is 400 under
//! `application/graphql-response+json` and 200 under the legacy `application/json`, as the
//! spec says. Executed operations are 200, with any field errors beside their `data`.
//!
//! Persisted documents can be named three ways: Apollo's `extensions.persistedQuery` (with
//! automatic registration), the GraphQL-over-HTTP persisted-documents parameter `documentId`
//! (`"sha256:<hex>"`), and Relay's `doc_id` (the hex of a SHA-256, `persistConfig` with
//! `algorithm: "SHA256"`); the last two, in a POST body or a GET's query string, look the
//! document up by that hash in the operator's allow-list (or among registered ones), and an
//! unknown id is a 400 `PERSISTED_DOCUMENT_NOT_FOUND`.
//!
//! GET responses without errors are cacheable: their `ETag` is derived from the process,
//! the catalog generation, the negotiated media type, the caller and the raw query string,
//! so `If-None-Match` is answered with 304 before the document is even parsed.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{BatchRequest, Executor as _, ServerError, Value};
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::outcome::GraphqlOutcome;
use super::{AppState, HttpOptions};
use crate::graphql::auth::Principal;
use crate::graphql::object::Snapshot;

/// The longest error message sent: longer ones (a syntax error quoting a huge line, a
/// variable's value) are cut, so a client never gets its own megabyte back.
const MAX_MESSAGE: usize = 1024;

/// What the edge keeps between requests, built once from [`HttpOptions`].
pub(super) struct Edge {
    max_body_bytes: usize,
    max_batch: usize,
    document_cache: bool,
    only_persisted: bool,
    persisted: PersistedQueries,
    /// `Cache-Control` of a cacheable GET response, without and with a token.
    cache_public: HeaderValue,
    cache_private: HeaderValue,
    /// Random per process: ETags of a restarted server (whose generations start again at
    /// 0, perhaps over other data) never match those of an earlier one.
    epoch: u128,
}

impl Edge {
    pub(super) fn new(options: &HttpOptions) -> Edge {
        let age = options.cache_max_age.as_secs();
        let value = |scope: &str| {
            HeaderValue::from_str(&format!("{scope}, max-age={age}"))
                .unwrap_or(HeaderValue::from_static("no-store"))
        };
        Edge {
            max_body_bytes: options.max_body_bytes,
            max_batch: options.max_batch,
            document_cache: options.document_cache,
            only_persisted: options.only_persisted,
            persisted: PersistedQueries {
                allowed: options.persisted_queries.clone().unwrap_or_default(),
                cache: Mutex::new(Generations::default()),
                max_entries: options.persisted_query_cache_entries,
                max_bytes: options.persisted_query_cache_bytes,
            },
            cache_public: value("public"),
            cache_private: value("private"),
            epoch: rand::random(),
        }
    }
}

/// The handler of GET and POST `/graphql`.
pub(super) async fn graphql(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Some(media) = negotiate(parts.headers.get(header::ACCEPT)) else {
        return Refusal::new(
            StatusCode::NOT_ACCEPTABLE,
            "NOT_ACCEPTABLE",
            "this endpoint answers with application/graphql-response+json or application/json, and the Accept header allows neither",
        )
        .respond(Media::Json);
    };
    let post = parts.method == Method::POST;
    if post {
        if let Err(refusal) = check_content_type(&parts.headers) {
            return refusal.respond(media);
        }
    }
    let principal = match authenticate(&state, &parts.headers) {
        Ok(p) => p,
        Err(refusal) => return refusal.respond(media),
    };
    if post {
        let body = match read_body(&state.edge, &parts.headers, body).await {
            Ok(b) => b,
            Err(refusal) => return refusal.respond(media),
        };
        // The catalog as of the request's arrival (whole), as for a GET.
        let snapshot = state.live.snapshot();
        match decode_body(&state.edge, &body) {
            Ok(BatchRequest::Single(request)) => {
                let mut response =
                    single(&state, Method::POST, media, principal, snapshot, request).await;
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
            Ok(BatchRequest::Batch(requests)) => {
                batch(&state, media, principal, snapshot, requests).await
            }
            Err(refusal) => refusal.respond(media),
        }
    } else {
        let snapshot = state.live.snapshot();
        get(
            &state,
            &parts.uri,
            &parts.headers,
            media,
            principal,
            snapshot,
        )
        .await
    }
}

/// A GET: a cached answer when `If-None-Match` holds the current ETag, else the query run.
async fn get(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    media: Media,
    principal: Principal,
    snapshot: Arc<crate::catalog::Catalog>,
) -> Response {
    let etag = etag(
        state.edge.epoch,
        snapshot.generation,
        media,
        &principal,
        uri,
    );
    let cache_control = match principal {
        Principal::Token { .. } => state.edge.cache_private.clone(),
        _ => state.edge.cache_public.clone(),
    };
    if if_none_match(headers, &etag) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        let h = response.headers_mut();
        h.insert(header::ETAG, etag);
        h.insert(header::CACHE_CONTROL, cache_control);
        h.insert(header::VARY, vary());
        response.extensions_mut().insert(GraphqlOutcome {
            operation: None,
            codes: Vec::new(),
            operations: 1,
        });
        return response;
    }
    let request = match from_query_string(uri) {
        Ok(r) => r,
        Err(refusal) => return refusal.respond(media),
    };
    let mut response = single(state, Method::GET, media, principal, snapshot, request).await;
    let cacheable = response.status() == StatusCode::OK
        && response
            .extensions()
            .get::<GraphqlOutcome>()
            .is_some_and(|o| o.codes.is_empty());
    let h = response.headers_mut();
    if cacheable {
        h.insert(header::ETAG, etag);
        h.insert(header::CACHE_CONTROL, cache_control);
    } else {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Runs one request: persisted query, parse, transport checks, execution, status code.
async fn single(
    state: &AppState,
    method: Method,
    media: Media,
    principal: Principal,
    snapshot: Arc<crate::catalog::Catalog>,
    request: async_graphql::Request,
) -> Response {
    let prepared = match prepare(&state.edge, &method, request) {
        Ok(p) => p,
        Err(refusal) => return refusal.respond(media),
    };
    let operation = prepared.operation;
    let mut response = match prepared.ready {
        Ready::Run(request) => {
            let request = request.data(principal).data(Snapshot::new(snapshot));
            state.api.execute(request).await
        }
        Ready::Failed(response) => response,
    };
    cap_messages(&mut response);
    let request_error = is_request_error(&response);
    let status = if request_error && media == Media::GraphqlResponseJson {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let codes = codes(std::slice::from_ref(&response));
    let body = if request_error {
        serde_json::to_vec(&WithoutData {
            errors: &response.errors,
            extensions: &response.extensions,
        })
    } else {
        to_json(&response)
    };
    let mut http = json_response(status, media, body);
    if !response.http_headers.is_empty() {
        http.headers_mut().extend(response.http_headers);
    }
    http.extensions_mut().insert(GraphqlOutcome {
        operation,
        codes,
        operations: 1,
    });
    http
}

/// Runs a batch (POST only): each member is prepared on its own (a refused member gets its
/// refusal as its response), and the rest run together, under one complexity budget.
async fn batch(
    state: &AppState,
    media: Media,
    principal: Principal,
    snapshot: Arc<crate::catalog::Catalog>,
    requests: Vec<async_graphql::Request>,
) -> Response {
    let n = requests.len();
    let mut responses: Vec<Option<async_graphql::Response>> = Vec::with_capacity(n);
    let mut run = Vec::with_capacity(n);
    for request in requests {
        match prepare(&state.edge, &Method::POST, request) {
            Ok(Prepared {
                ready: Ready::Run(request),
                ..
            }) => {
                responses.push(None);
                run.push(
                    request
                        .data(principal.clone())
                        .data(Snapshot::new(snapshot.clone())),
                );
            }
            Ok(Prepared {
                ready: Ready::Failed(response),
                ..
            }) => responses.push(Some(response)),
            Err(refusal) => responses.push(Some(refusal.into_graphql())),
        }
    }
    let mut executed = if run.is_empty() {
        Vec::new().into_iter()
    } else {
        match state.api.execute_batch(BatchRequest::Batch(run)).await {
            async_graphql::BatchResponse::Batch(rs) => rs.into_iter(),
            async_graphql::BatchResponse::Single(r) => vec![r].into_iter(),
        }
    };
    let mut responses: Vec<async_graphql::Response> = responses
        .into_iter()
        .map(|r| match r {
            Some(r) => r,
            None => executed.next().unwrap_or_else(|| {
                Refusal::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL_SERVER_ERROR",
                    "internal error",
                )
                .into_graphql()
            }),
        })
        .collect();
    for r in &mut responses {
        cap_messages(r);
    }
    let codes = codes(&responses);
    let bodies: Vec<Entry<'_>> = responses
        .iter()
        .map(|r| {
            if is_request_error(r) {
                Entry::WithoutData(WithoutData {
                    errors: &r.errors,
                    extensions: &r.extensions,
                })
            } else {
                Entry::Full(r)
            }
        })
        .collect();
    let mut http = json_response(StatusCode::OK, media, to_json(&bodies));
    http.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    http.extensions_mut().insert(GraphqlOutcome {
        operation: None,
        codes,
        operations: n,
    });
    http
}

#[derive(Serialize)]
#[serde(untagged)]
enum Entry<'a> {
    Full(&'a async_graphql::Response),
    WithoutData(WithoutData<'a>),
}

/// A response to a request error: the spec says it has no `data` entry at all.
#[derive(Serialize)]
struct WithoutData<'a> {
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, Value>,
}

/// Parsing, validation and variable errors: no data, and no error with a path.
fn is_request_error(r: &async_graphql::Response) -> bool {
    matches!(r.data, Value::Null)
        && !r.errors.is_empty()
        && r.errors.iter().all(|e| e.path.is_empty())
}

/// The distinct `extensions.code`s of the responses' errors, in order of first appearance.
fn codes(responses: &[async_graphql::Response]) -> Vec<String> {
    let mut codes: Vec<String> = Vec::new();
    for e in responses.iter().flat_map(|r| &r.errors) {
        if let Some(Value::String(code)) = e.extensions.as_ref().and_then(|x| x.get("code")) {
            if !codes.iter().any(|c| c == code) {
                codes.push(code.clone());
            }
        }
    }
    codes
}

fn cap_messages(r: &mut async_graphql::Response) {
    for e in &mut r.errors {
        if e.message.len() > MAX_MESSAGE {
            e.message = truncate(&e.message, MAX_MESSAGE);
        }
    }
}

/// At most `max` bytes of `s` (on a character boundary), marked as cut.
fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes cut)", &s[..end], s.len() - end)
}

// ---------------------------------------------------------------------------------------
// Media types

/// The media type of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Media {
    /// `application/graphql-response+json`: request errors are 4xx.
    GraphqlResponseJson,
    /// `application/json`, the legacy type: request errors are 200.
    Json,
}

impl Media {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        })
    }
}

/// The response's media type from `Accept`: none (or an unreadable one) means
/// `application/json`; `application/graphql-response+json` wins when listed explicitly with
/// at least the quality of `application/json`; wildcards mean `application/json`. `None`
/// when neither is acceptable (406).
fn negotiate(accept: Option<&HeaderValue>) -> Option<Media> {
    let Some(accept) = accept.and_then(|a| a.to_str().ok()) else {
        return Some(Media::Json);
    };
    if accept.trim().is_empty() {
        return Some(Media::Json);
    }
    // The quality given to each type: explicitly, through `application/*`, through `*/*`.
    let (mut graphql, mut json, mut application, mut any) = (None, None, None, None);
    for range in accept.split(',') {
        let mut params = range.split(';');
        let essence = params.next().unwrap_or_default().trim();
        let mut q = 1.0f32;
        let mut utf8 = true;
        for p in params {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            let (k, v) = (k.trim(), v.trim().trim_matches('"'));
            if k.eq_ignore_ascii_case("q") {
                q = v.parse().unwrap_or(1.0);
            } else if k.eq_ignore_ascii_case("charset") {
                utf8 = is_utf8(v);
            }
        }
        if !utf8 {
            continue;
        }
        let slot = if essence.eq_ignore_ascii_case("application/graphql-response+json") {
            &mut graphql
        } else if essence.eq_ignore_ascii_case("application/json") {
            &mut json
        } else if essence.eq_ignore_ascii_case("application/*") {
            &mut application
        } else if essence == "*/*" {
            &mut any
        } else {
            continue;
        };
        *slot = Some(slot.map_or(q, |old: f32| old.max(q)));
    }
    let wildcard = application.or(any);
    let json = json.or(wildcard).unwrap_or(0.0);
    match graphql {
        Some(g) if g > 0.0 && g >= json => Some(Media::GraphqlResponseJson),
        _ if json > 0.0 => Some(Media::Json),
        _ if graphql.or(wildcard).unwrap_or(0.0) > 0.0 => Some(Media::GraphqlResponseJson),
        _ => None,
    }
}

fn is_utf8(charset: &str) -> bool {
    charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")
}

/// A POST body must be JSON (`application/json`, or `application/graphql-response+json`),
/// in UTF-8.
fn check_content_type(headers: &HeaderMap) -> Result<(), Refusal> {
    const EXPECTED: &str = "send the request as JSON, with `Content-Type: application/json`";
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            format!("the request has no Content-Type: {EXPECTED}"),
        ));
    };
    let value = value.to_str().unwrap_or_default();
    let mut params = value.split(';');
    let essence = params.next().unwrap_or_default().trim();
    let json = essence.eq_ignore_ascii_case("application/json")
        || essence.eq_ignore_ascii_case("application/graphql-response+json");
    if !json {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            format!(
                "the Content-Type {:?} is not accepted: {EXPECTED}",
                truncate(essence, 100)
            ),
        ));
    }
    for p in params {
        if let Some((k, v)) = p.split_once('=') {
            let v = v.trim().trim_matches('"');
            if k.trim().eq_ignore_ascii_case("charset") && !is_utf8(v) {
                return Err(Refusal::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "UNSUPPORTED_MEDIA_TYPE",
                    format!(
                        "the charset {:?} is not accepted: send the request as JSON in UTF-8, with `Content-Type: application/json`",
                        truncate(v, 100)
                    ),
                ));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The caller

/// The caller from the `Authorization` header; a header that is there but unreadable (not
/// visible ASCII, or given twice) is refused rather than taken as no token.
fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Principal, Refusal> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next();
    if values.next().is_some() {
        return Err(unauthenticated(
            "send one Authorization header, not several",
        ));
    }
    let authorization = match value {
        None => None,
        Some(v) => Some(v.to_str().map_err(|_| {
            unauthenticated("the Authorization header is not valid: a bearer token is ASCII")
        })?),
    };
    state
        .principal(authorization)
        .map_err(|e| unauthenticated(e.message))
}

fn unauthenticated(message: impl Into<Cow<'static, str>>) -> Refusal {
    Refusal::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message)
}

// ---------------------------------------------------------------------------------------
// Reading the request

/// The body, at most `max_body_bytes` of it (413 beyond, whether the client announced its
/// length or sends it chunked).
async fn read_body(edge: &Edge, headers: &HeaderMap, body: Body) -> Result<Bytes, Refusal> {
    let too_large = || {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!(
                "the request body is larger than {} bytes",
                edge.max_body_bytes
            ),
        )
    };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > edge.max_body_bytes as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, edge.max_body_bytes)
        .await
        .map_err(|e| {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(s) = source {
                if s.is::<http_body_util::LengthLimitError>() {
                    return too_large();
                }
                source = s.source();
            }
            Refusal::bad_request("the request body could not be read to its end")
        })
}

/// The JSON body: one request (an object) or a batch (an array of them).
fn decode_body(edge: &Edge, body: &[u8]) -> Result<BatchRequest, Refusal> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Err(Refusal::bad_request(
            "the request body is empty: send a JSON object such as {\"query\": \"{ __typename }\"}",
        )),
        Some(b'{') => decode_request(body, None).map(BatchRequest::Single),
        Some(b'[') => {
            let members: Vec<&serde_json::value::RawValue> =
                serde_json::from_slice(body).map_err(|e| invalid_json(&e))?;
            if members.is_empty() {
                return Err(Refusal::bad_request("the batch is empty"));
            }
            if edge.max_batch == 0 {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "BATCH_TOO_LARGE",
                    "this server does not run batches: send one operation per request",
                ));
            }
            if members.len() > edge.max_batch {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "BATCH_TOO_LARGE",
                    format!(
                        "the batch has {} operations; this server runs at most {} in one request",
                        members.len(),
                        edge.max_batch
                    ),
                ));
            }
            members
                .iter()
                .enumerate()
                .map(|(i, m)| decode_request(m.get().as_bytes(), Some(i)))
                .collect::<Result<Vec<_>, _>>()
                .map(BatchRequest::Batch)
        }
        Some(_) => match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            Err(e) => Err(invalid_json(&e)),
            Ok(_) => Err(Refusal::bad_request(
                "the request body must be a JSON object (or an array of them, for a batch)",
            )),
        },
    }
}

fn invalid_json(e: &serde_json::Error) -> Refusal {
    Refusal::bad_request(format!("the request body is not valid JSON: {e}"))
}

/// One request object. On failure it is read again, tracking the path, to name the
/// parameter at fault (only bad requests pay for that).
fn decode_request(json: &[u8], index: Option<usize>) -> Result<async_graphql::Request, Refusal> {
    let whose = || match index {
        Some(i) => format!("operation {i} of the batch: "),
        None => String::new(),
    };
    let e = match serde_json::from_slice::<async_graphql::Request>(json) {
        // Only a request without a query can name a persisted document: read its id then.
        Ok(mut r) if r.query.is_empty() => {
            #[derive(serde::Deserialize)]
            struct Ids {
                #[serde(rename = "documentId")]
                document_id: Option<String>,
                doc_id: Option<String>,
            }
            let ids: Ids = serde_json::from_slice(json).map_err(|e| {
                Refusal::bad_request(format!(
                    "{}the request parameter `documentId` or `doc_id` is not a string: {e}",
                    whose()
                ))
            })?;
            by_document_id(&mut r, ids.document_id.or(ids.doc_id))?;
            return Ok(r);
        }
        Ok(r) => {
            if has_document_id(json) {
                return Err(Refusal::bad_request(format!(
                    "{}send either `query` or a persisted document's id (`documentId`, `doc_id`), not both",
                    whose()
                )));
            }
            return Ok(r);
        }
        Err(e) => e,
    };
    let whose = whose();
    if e.classify() != serde_json::error::Category::Data {
        return Err(Refusal::bad_request(format!(
            "{whose}the request body is not valid JSON: {e}"
        )));
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let message = match serde_path_to_error::deserialize::<_, async_graphql::Request>(&mut de) {
        Err(e) => format!(
            "{whose}the request parameter `{}` is not valid: {}",
            e.path(),
            e.inner()
        ),
        Ok(_) => format!("{whose}the request is not valid: {e}"),
    };
    Err(Refusal::bad_request(message))
}

/// The parameters of a GET, from the query string: `query`, `operationName`, and
/// `variables` and `extensions` as JSON.
fn from_query_string(uri: &Uri) -> Result<async_graphql::Request, Refusal> {
    #[derive(serde::Deserialize)]
    struct Params {
        #[serde(default)]
        query: String,
        #[serde(default, rename = "operationName")]
        operation_name: Option<String>,
        #[serde(default)]
        variables: Option<String>,
        #[serde(default)]
        extensions: Option<String>,
        #[serde(default, rename = "documentId")]
        document_id: Option<String>,
        #[serde(default)]
        doc_id: Option<String>,
    }
    let Query(params) = Query::<Params>::try_from_uri(uri).map_err(|e| {
        Refusal::bad_request(format!("the query string is not valid: {}", e.body_text()))
    })?;
    let id = params
        .document_id
        .or(params.doc_id)
        .filter(|i| !i.is_empty());
    if id.is_some() && !params.query.is_empty() {
        return Err(Refusal::bad_request(
            "send either `query` or a persisted document's id (`documentId`, `doc_id`), not both",
        ));
    }
    let mut request = async_graphql::Request::new(params.query);
    request.operation_name = params.operation_name.filter(|n| !n.is_empty());
    if let Some(v) = params.variables.filter(|v| !v.is_empty()) {
        request.variables = serde_json::from_str(&v).map_err(|e| {
            Refusal::bad_request(format!(
                "the `variables` parameter must be a JSON object: {e}"
            ))
        })?;
    }
    if let Some(x) = params.extensions.filter(|x| !x.is_empty()) {
        request.extensions = serde_json::from_str(&x).map_err(|e| {
            Refusal::bad_request(format!(
                "the `extensions` parameter must be a JSON object: {e}"
            ))
        })?;
    }
    by_document_id(&mut request, id)?;
    Ok(request)
}

/// Whether a request body names a persisted document by id (only asked of a request that
/// also has a query, which must not): a search for the keys' bytes, then, only if one is
/// there, a parse that tells a key from the same bytes inside a string.
fn has_document_id(json: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Ids {
        #[serde(rename = "documentId", default)]
        document_id: Option<serde::de::IgnoredAny>,
        #[serde(default)]
        doc_id: Option<serde::de::IgnoredAny>,
    }
    let mentioned = memchr::memmem::find(json, b"documentId").is_some()
        || memchr::memmem::find(json, b"doc_id").is_some();
    mentioned
        && serde_json::from_slice::<Ids>(json)
            .is_ok_and(|ids| ids.document_id.is_some() || ids.doc_id.is_some())
}

/// A persisted document named by id (`documentId: "sha256:<hex>"`, or Relay's `doc_id`: the
/// hex alone) becomes Apollo's `extensions.persistedQuery` for that hash, which
/// [`resolve_persisted`] looks up; `documentId` in it marks the request as one whose client
/// will not send the query after a miss.
fn by_document_id(request: &mut async_graphql::Request, id: Option<String>) -> Result<(), Refusal> {
    let Some(id) = id else {
        return Ok(());
    };
    if request.extensions.contains_key("persistedQuery") {
        return Err(Refusal::bad_request(
            "send either `extensions.persistedQuery` or a persisted document's id (`documentId`, `doc_id`), not both",
        ));
    }
    let hex = id.strip_prefix("sha256:").unwrap_or(&id);
    if parse_hash(hex).is_none() {
        return Err(Refusal::bad_request_code(
            "PERSISTED_DOCUMENT_ID_UNSUPPORTED",
            format!(
                "the persisted document id {:?} is not a SHA-256 one: send \"sha256:\" and 64 hex digits (Relay: persistConfig with algorithm \"SHA256\")",
                truncate(&id, 80)
            ),
        ));
    }
    let mut persisted = async_graphql::indexmap::IndexMap::new();
    persisted.insert(async_graphql::Name::new("version"), Value::from(1));
    persisted.insert(async_graphql::Name::new("sha256Hash"), Value::from(hex));
    persisted.insert(
        async_graphql::Name::new("documentId"),
        Value::from(id.as_str()),
    );
    request
        .extensions
        .insert("persistedQuery".into(), Value::Object(persisted));
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Preparing a request: persisted queries, parsing, transport checks

struct Prepared {
    /// The operation's name (`operationName`, or the document's only operation's).
    operation: Option<String>,
    ready: Ready,
}

enum Ready {
    /// Parsed (the document is handed to the executor, which does not parse again).
    Run(async_graphql::Request),
    /// The document does not parse: the response to send.
    Failed(async_graphql::Response),
}

fn prepare(
    edge: &Edge,
    method: &Method,
    mut request: async_graphql::Request,
) -> Result<Prepared, Refusal> {
    resolve_persisted(edge, &mut request)?;
    if request.operation_name.as_deref() == Some("") {
        request.operation_name = None; // some clients send "" for "the only operation"
    }
    let parsed = if edge.document_cache {
        documents::parse(&request.query)
    } else {
        async_graphql::parser::parse_query(&request.query)
    };
    let doc = match parsed {
        Ok(doc) => doc,
        Err(e) => {
            return Ok(Prepared {
                operation: request.operation_name.take(),
                ready: Ready::Failed(async_graphql::Response::from_errors(vec![parse_error(e)])),
            })
        }
    };
    let (kind, name) = selected_operation(&doc, request.operation_name.as_deref());
    match kind {
        Some(OperationType::Mutation) if *method != Method::POST => {
            return Err(Refusal::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "mutations are sent with POST, never GET (a GET must not change anything)",
            ));
        }
        Some(OperationType::Subscription) => {
            return Err(Refusal::bad_request_code(
                "SUBSCRIPTION_OVER_HTTP",
                "subscriptions are served over WebSocket at /graphql/ws (graphql-transport-ws), not over HTTP",
            ));
        }
        _ => {}
    }
    let operation = request.operation_name.clone().or(name);
    request.set_parsed_query(doc);
    Ok(Prepared {
        operation,
        ready: Ready::Run(request),
    })
}

/// Parsed documents by their text, per thread: parsing is the largest part of a small
/// query's cost (a fifth of a `{ __typename }`'s; benches/README), and clients send the same
/// few documents again and again with new variables. Only documents that parsed are kept, each
/// a copy of what the parser returned (the request takes its own copy), so an answer does
/// not depend on whether the document was cached; nothing of a response is cached.
/// Bounded: at most [`documents::MAX_ENTRIES`] documents of at most [`documents::MAX_TEXT`]
/// bytes per thread, and the cache is emptied when full (a client that sends only new
/// documents costs itself a parse each, as without the cache).
mod documents {
    use std::cell::RefCell;

    use async_graphql::parser::types::ExecutableDocument;
    use rustc_hash::FxHashMap;

    pub const MAX_ENTRIES: usize = 256;
    pub const MAX_TEXT: usize = 16 << 10;

    thread_local! {
        static CACHE: RefCell<FxHashMap<Box<str>, ExecutableDocument>> = RefCell::default();
    }

    /// The document of `query`, from the cache or the parser.
    pub fn parse(query: &str) -> async_graphql::parser::Result<ExecutableDocument> {
        if query.len() > MAX_TEXT {
            return async_graphql::parser::parse_query(query);
        }
        if let Some(doc) = CACHE.with(|c| c.borrow().get(query).cloned()) {
            return Ok(doc);
        }
        let doc = async_graphql::parser::parse_query(query)?;
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() >= MAX_ENTRIES {
                c.clear();
            }
            c.insert(query.into(), doc.clone());
        });
        Ok(doc)
    }

    #[cfg(test)]
    mod tests {
        use async_graphql::parser::types::ExecutableDocument;
        use std::collections::BTreeMap;

        /// Every operation and fragment, by name (the parser keeps them in hash maps, whose
        /// order differs from one parse to the next).
        fn described(doc: &ExecutableDocument) -> BTreeMap<String, String> {
            let mut all: BTreeMap<String, String> = doc
                .operations
                .iter()
                .map(|(name, op)| (format!("operation {name:?}"), format!("{op:?}")))
                .collect();
            for (name, fragment) in &doc.fragments {
                all.insert(format!("fragment {name}"), format!("{fragment:?}"));
            }
            all
        }

        /// A cached document is the parser's, field for field, every time; errors are not
        /// kept; the cache stays within its bound.
        #[test]
        fn cached_documents_are_the_parsers_and_the_cache_is_bounded() {
            let queries = [
                "{ __typename }",
                "query Q($c: String!) { country(code: $c) { name recommendations(first: 2) { totalCount } } }",
                "fragment F on Country { name } query A { countries { nodes { ...F } } } mutation B { x }",
            ];
            for _ in 0..3 {
                for q in queries {
                    let fresh = async_graphql::parser::parse_query(q).unwrap();
                    let cached = super::parse(q).unwrap();
                    assert_eq!(described(&cached), described(&fresh), "{q}");
                }
            }
            assert!(super::parse("{ unclosed").is_err());
            assert!(
                super::parse("{ unclosed").is_err(),
                "an error is never cached"
            );
            for i in 0..(super::MAX_ENTRIES * 2) {
                super::parse(&format!("{{ a{i}: __typename }}")).unwrap();
                super::CACHE.with(|c| assert!(c.borrow().len() <= super::MAX_ENTRIES));
            }
        }
    }
}

/// The type and name of the operation `operation_name` selects, when the document has it.
fn selected_operation(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
) -> (Option<OperationType>, Option<String>) {
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), None) => (Some(op.node.ty), None),
        (DocumentOperations::Single(_), Some(_)) => (None, None),
        (DocumentOperations::Multiple(ops), Some(name)) => {
            (ops.get(name).map(|op| op.node.ty), None)
        }
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.iter().next().map_or((None, None), |(name, op)| {
                (Some(op.node.ty), Some(name.to_string()))
            })
        }
        (DocumentOperations::Multiple(_), None) => (None, None),
    }
}

/// A parse error, short: where, and what was expected (the parser's own message quotes the
/// offending line, which may be the whole query).
fn parse_error(e: async_graphql::parser::Error) -> ServerError {
    use async_graphql::parser::Error;
    let (message, pos, code) = match &e {
        Error::Syntax { message, start, .. } => {
            let expected = message
                .lines()
                .find_map(|l| l.trim_start().strip_prefix("= "))
                .unwrap_or("unexpected input");
            (
                format!(
                    "syntax error at line {}, column {}: {}",
                    start.line,
                    start.column,
                    truncate(expected, 200)
                ),
                Some(*start),
                "GRAPHQL_PARSE_FAILED",
            )
        }
        Error::RecursionLimitExceeded => (
            "the query is nested too deep to parse".to_owned(),
            None,
            "QUERY_LIMIT_EXCEEDED",
        ),
        other => (
            truncate(&other.to_string(), 200),
            other.positions().next(),
            "GRAPHQL_PARSE_FAILED",
        ),
    };
    let mut error = ServerError::new(message, pos);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code);
    error.extensions = Some(ext);
    error
}

// ---------------------------------------------------------------------------------------
// Persisted queries

/// The operator's allow-list of documents by SHA-256 (`--persisted-queries FILE`).
#[derive(Default)]
pub struct PersistedQueryManifest {
    documents: HashMap<[u8; 32], Arc<str>>,
}

impl std::fmt::Debug for PersistedQueryManifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PersistedQueryManifest({} documents)",
            self.documents.len()
        )
    }
}

/// Why a persisted-query manifest was refused; names the file.
#[derive(Debug, thiserror::Error)]
#[error("persisted queries file {path}: {reason}")]
pub struct ManifestError {
    pub path: String,
    pub reason: String,
}

impl PersistedQueryManifest {
    /// Reads a manifest: either an object of SHA-256 hex → document (Relay's
    /// `persisted-queries.json` with SHA256 ids), or Apollo's persisted query manifest
    /// (`{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id",
    /// "body", ...}]}`). Every hash is checked against its document, and every document
    /// must parse.
    pub fn load(path: &Path) -> Result<PersistedQueryManifest, ManifestError> {
        let fail = |reason: String| ManifestError {
            path: path.display().to_string(),
            reason,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
        Self::parse(&text).map_err(fail)
    }

    /// As [`PersistedQueryManifest::load`], from the file's text.
    pub fn parse(text: &str) -> Result<PersistedQueryManifest, String> {
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        let serde_json::Value::Object(map) = json else {
            return Err("expected a JSON object".into());
        };
        let mut entries: Vec<(String, String)> = Vec::new();
        if let Some(format) = map.get("format") {
            if format.as_str() != Some("apollo-persisted-query-manifest") {
                return Err(format!(
                    "unknown format {format}: expected \"apollo-persisted-query-manifest\", or an object of sha256 → document"
                ));
            }
            if map.get("version").and_then(|v| v.as_u64()) != Some(1) {
                return Err(
                    "only version 1 of apollo-persisted-query-manifest is supported".into(),
                );
            }
            let Some(ops) = map.get("operations").and_then(|o| o.as_array()) else {
                return Err("`operations` must be an array".into());
            };
            for (i, op) in ops.iter().enumerate() {
                let id = op.get("id").and_then(|v| v.as_str());
                let body = op.get("body").and_then(|v| v.as_str());
                match (id, body) {
                    (Some(id), Some(body)) => entries.push((id.to_owned(), body.to_owned())),
                    _ => {
                        return Err(format!(
                            "operations[{i}] needs a string `id` and a string `body`"
                        ))
                    }
                }
            }
        } else {
            for (id, doc) in map {
                match doc {
                    serde_json::Value::String(doc) => entries.push((id, doc)),
                    _ => return Err(format!("the document of {id:?} is not a string")),
                }
            }
        }
        let mut documents = HashMap::with_capacity(entries.len());
        for (id, doc) in entries {
            let hash = parse_hash(&id).ok_or_else(|| {
                format!(
                    "{:?} is not a SHA-256 hash (64 hex digits)",
                    truncate(&id, 80)
                )
            })?;
            if sha256(&doc) != hash {
                return Err(format!(
                    "the document of {id} does not have that SHA-256 (it has {})",
                    hex(&sha256(&doc))
                ));
            }
            if let Err(e) = async_graphql::parser::parse_query(&doc) {
                return Err(format!(
                    "the document of {id} is not a GraphQL query: {}",
                    parse_error(e).message
                ));
            }
            documents.insert(hash, Arc::from(doc));
        }
        Ok(PersistedQueryManifest { documents })
    }

    pub fn len(&self) -> usize {
        self.documents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }
}

/// The allow-list, and the documents clients registered (automatic persisted queries,
/// Apollo's protocol), bounded in count and bytes.
struct PersistedQueries {
    allowed: Arc<PersistedQueryManifest>,
    cache: Mutex<Generations>,
    max_entries: usize,
    max_bytes: usize,
}

/// Two generations: new entries (and old ones used again) go to `young`; when it holds half
/// the budget it becomes `old`, and what was `old` is dropped. So the cache never holds more
/// than `max_entries` entries or about `max_bytes` bytes, whatever clients register, and
/// what is used stays.
#[derive(Default)]
struct Generations {
    young: HashMap<[u8; 32], Arc<str>>,
    young_bytes: usize,
    old: HashMap<[u8; 32], Arc<str>>,
}

impl PersistedQueries {
    /// Whether the operator's allow-list has this document.
    fn allows(&self, hash: &[u8; 32]) -> bool {
        self.allowed.documents.contains_key(hash)
    }

    fn get(&self, hash: &[u8; 32]) -> Option<Arc<str>> {
        if let Some(d) = self.allowed.documents.get(hash) {
            return Some(d.clone());
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = cache.young.get(hash) {
            return Some(d.clone());
        }
        let d = cache.old.remove(hash)?;
        self.keep(&mut cache, *hash, d.clone());
        Some(d)
    }

    fn register(&self, hash: [u8; 32], document: &str) {
        if self.allows(&hash) || document.len() > self.max_bytes / 2 {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.young.contains_key(&hash) {
            return;
        }
        cache.old.remove(&hash);
        self.keep(&mut cache, hash, Arc::from(document));
    }

    fn keep(&self, cache: &mut Generations, hash: [u8; 32], document: Arc<str>) {
        if self.max_entries < 2 {
            return;
        }
        cache.young_bytes += document.len();
        cache.young.insert(hash, document);
        if cache.young.len() >= self.max_entries / 2 || cache.young_bytes >= self.max_bytes / 2 {
            cache.old = std::mem::take(&mut cache.young);
            cache.young_bytes = 0;
        }
    }
}

/// Applies `extensions.persistedQuery` (a hash alone: the stored document; a hash and a
/// query: check and register), and the allow-list under `--only-persisted`.
fn resolve_persisted(edge: &Edge, request: &mut async_graphql::Request) -> Result<(), Refusal> {
    let Some(persisted) = request.extensions.get("persistedQuery") else {
        if request.query.is_empty() {
            return Err(Refusal::bad_request(
                "the request has no `query` (nor a persisted query hash in `extensions.persistedQuery`)",
            ));
        }
        if edge.only_persisted && !edge.persisted.allows(&sha256(&request.query)) {
            return Err(Refusal::bad_request_code(
                "PERSISTED_QUERY_REQUIRED",
                "this server only runs the queries of its allow-list: send a persisted query (extensions.persistedQuery) from it",
            ));
        }
        return Ok(());
    };
    let field = |k: &str| match persisted {
        Value::Object(o) => o.get(k),
        _ => None,
    };
    let version_ok = matches!(field("version"), Some(Value::Number(n)) if n.as_u64() == Some(1));
    let hash = match field("sha256Hash") {
        Some(Value::String(h)) => parse_hash(h),
        _ => None,
    };
    let (true, Some(hash)) = (version_ok, hash) else {
        return Err(Refusal::bad_request(
            "extensions.persistedQuery must be {\"version\": 1, \"sha256Hash\": <64 hex digits>}",
        ));
    };
    if request.query.is_empty() {
        let document = if edge.only_persisted {
            edge.persisted.allowed.documents.get(&hash).cloned()
        } else {
            edge.persisted.get(&hash)
        };
        match document {
            Some(d) => request.query = d.to_string(),
            None if edge.only_persisted => {
                return Err(Refusal::bad_request_code(
                    "PERSISTED_QUERY_NOT_IN_LIST",
                    "this persisted query is not in the server's allow-list",
                ))
            }
            // A client that named the document by id has no query to send after a miss.
            None if field("documentId").is_some() => {
                return Err(Refusal::bad_request_code(
                    "PERSISTED_DOCUMENT_NOT_FOUND",
                    "no persisted document has this id: add it to the server's allow-list (--persisted-queries)",
                ))
            }
            // Apollo's clients look for this message and code, and then send the query
            // with its hash; they expect a 200.
            None => {
                return Err(Refusal::new(
                    StatusCode::OK,
                    "PERSISTED_QUERY_NOT_FOUND",
                    "PersistedQueryNotFound",
                ))
            }
        }
        return Ok(());
    }
    if sha256(&request.query) != hash {
        return Err(Refusal::bad_request_code(
            "PERSISTED_QUERY_HASH_MISMATCH",
            "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query",
        ));
    }
    if edge.only_persisted {
        if !edge.persisted.allows(&hash) {
            return Err(Refusal::bad_request_code(
                "PERSISTED_QUERY_REQUIRED",
                "this server only runs the queries of its allow-list, and does not register new ones",
            ));
        }
    } else {
        edge.persisted.register(hash, &request.query);
    }
    Ok(())
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

// ---------------------------------------------------------------------------------------
// Caching

/// The ETag of a GET: everything its response depends on, and the caller (so one token's
/// cached answer never validates another's).
fn etag(
    epoch: u128,
    generation: u64,
    media: Media,
    principal: &Principal,
    uri: &Uri,
) -> HeaderValue {
    let mut h = Sha256::new();
    h.update(epoch.to_le_bytes());
    h.update(generation.to_le_bytes());
    h.update([media as u8]);
    match principal {
        Principal::Token { name, role } => {
            h.update(b"token\0");
            h.update(name.as_bytes());
            h.update([0]);
            h.update(role.as_str().as_bytes());
        }
        _ => h.update(b"anonymous"),
    }
    h.update([0]);
    h.update(uri.query().unwrap_or_default().as_bytes());
    let digest = h.finalize();
    let tag = format!("\"{}\"", hex(&digest[..16]));
    HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"\""))
}

/// Whether `If-None-Match` lists `etag` (weak comparison, as RFC 9110 asks) or is `*`.
fn if_none_match(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let etag = etag.as_bytes();
    headers.get_all(header::IF_NONE_MATCH).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',').any(|t| {
                let t = t.trim();
                t == "*" || t.strip_prefix("W/").unwrap_or(t).as_bytes() == etag
            })
        })
    })
}

fn vary() -> HeaderValue {
    HeaderValue::from_static("accept, authorization")
}

// ---------------------------------------------------------------------------------------
// Responses

/// A response body as JSON, written into a buffer sized for a typical page, so a large answer
/// is not copied over and over as it grows from nothing.
fn to_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut body = Vec::with_capacity(8 << 10);
    serde_json::to_writer(&mut body, value)?;
    Ok(body)
}

fn json_response(status: StatusCode, media: Media, body: serde_json::Result<Vec<u8>>) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "a GraphQL response could not be serialised");
            return Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                "internal error",
            )
            .respond(media);
        }
    };
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, media.content_type());
    h.insert(header::VARY, vary());
    response
}

/// A request the edge answers itself, with a status, a stable code and a message.
///
/// | status | code | when |
/// |---|---|---|
/// | 400 | `BAD_REQUEST` | the body is not JSON, a parameter has the wrong type, no query |
/// | 400 | `BATCH_TOO_LARGE` | a batch of more than `max_batch` operations |
/// | 400 | `SUBSCRIPTION_OVER_HTTP` | a subscription sent over HTTP |
/// | 400 | `PERSISTED_QUERY_HASH_MISMATCH`, `PERSISTED_QUERY_REQUIRED`, `PERSISTED_QUERY_NOT_IN_LIST` | persisted queries |
/// | 200 | `PERSISTED_QUERY_NOT_FOUND` | a hash the server does not know (Apollo's protocol) |
/// | 401 | `UNAUTHENTICATED` | a token that is not valid, or unreadable; no token under `--require-token` |
/// | 405 | `METHOD_NOT_ALLOWED` | a mutation over GET |
/// | 406 | `NOT_ACCEPTABLE` | `Accept` allows no JSON type |
/// | 413 | `PAYLOAD_TOO_LARGE` | a body over `max_body_bytes` |
/// | 415 | `UNSUPPORTED_MEDIA_TYPE` | a POST that is not `application/json` in UTF-8 |
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
}

impl Refusal {
    fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Refusal {
        Refusal {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<Cow<'static, str>>) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    fn bad_request_code(code: &'static str, message: impl Into<Cow<'static, str>>) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// As a GraphQL response (a batch member's).
    fn into_graphql(self) -> async_graphql::Response {
        let mut error = ServerError::new(truncate(&self.message, MAX_MESSAGE), None);
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", self.code);
        error.extensions = Some(ext);
        async_graphql::Response::from_errors(vec![error])
    }

    fn respond(self, media: Media) -> Response {
        let (status, code) = (self.status, self.code);
        let response = self.into_graphql();
        let body = serde_json::to_vec(&WithoutData {
            errors: &response.errors,
            extensions: &response.extensions,
        });
        let mut http = json_response(status, media, body);
        let h = http.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match status {
            StatusCode::METHOD_NOT_ALLOWED => {
                h.insert(header::ALLOW, HeaderValue::from_static("POST"));
            }
            StatusCode::UNAUTHORIZED => {
                h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        http.extensions_mut().insert(GraphqlOutcome {
            operation: None,
            codes: vec![code.to_owned()],
            operations: 0,
        });
        http
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> Option<Media> {
        negotiate(Some(&HeaderValue::from_str(v).unwrap()))
    }

    #[test]
    fn accept_prefers_graphql_response_json_only_when_named() {
        assert_eq!(negotiate(None), Some(Media::Json));
        assert_eq!(accept("*/*"), Some(Media::Json));
        assert_eq!(accept("application/json"), Some(Media::Json));
        assert_eq!(
            accept("application/graphql-response+json"),
            Some(Media::GraphqlResponseJson)
        );
        assert_eq!(
            accept("application/graphql-response+json, application/json;q=0.9"),
            Some(Media::GraphqlResponseJson)
        );
        assert_eq!(
            accept("application/graphql-response+json;q=0.5, application/json"),
            Some(Media::Json)
        );
        assert_eq!(
            accept("text/html,application/xhtml+xml,*/*;q=0.8"),
            Some(Media::Json)
        );
        assert_eq!(accept("text/html"), None);
        assert_eq!(accept("application/json; charset=latin1"), None);
        assert_eq!(
            accept("application/json;q=0, */*"),
            Some(Media::GraphqlResponseJson)
        );
    }

    #[test]
    fn hashes_are_64_hex_digits() {
        let h = sha256("{ __typename }");
        assert_eq!(parse_hash(&hex(&h)), Some(h));
        assert_eq!(parse_hash(&hex(&h).to_uppercase()), Some(h));
        assert_eq!(parse_hash("abc"), None);
        assert_eq!(parse_hash(&"g".repeat(64)), None);
    }

    #[test]
    fn the_registered_queries_stay_within_their_budget() {
        let pq = PersistedQueries {
            allowed: Arc::default(),
            cache: Mutex::new(Generations::default()),
            max_entries: 10,
            max_bytes: 1 << 20,
        };
        let queries: Vec<String> = (0..1000).map(|i| format!("{{ a{i} }}")).collect();
        for q in &queries {
            pq.register(sha256(q), q);
            let c = pq.cache.lock().unwrap();
            assert!(c.young.len() + c.old.len() <= 10);
        }
        // The latest are kept; the first are long gone.
        assert!(pq.get(&sha256(&queries[999])).is_some());
        assert!(pq.get(&sha256(&queries[0])).is_none());
        // Bytes bound the cache too.
        let pq = PersistedQueries {
            max_entries: 1000,
            max_bytes: 1000,
            ..pq
        };
        for i in 0..100 {
            let q = format!("{{ a{i} {} }}", "b ".repeat(100));
            pq.register(sha256(&q), &q);
            let c = pq.cache.lock().unwrap();
            let bytes: usize = c
                .young
                .values()
                .chain(c.old.values())
                .map(|d| d.len())
                .sum();
            assert!(bytes <= 1000 + 300, "{bytes}");
        }
    }

    #[test]
    fn a_syntax_error_does_not_quote_the_query() {
        let query = format!("{{ a {} (", "b ".repeat(25_000));
        let e = async_graphql::parser::parse_query(&query).unwrap_err();
        let error = parse_error(e);
        assert!(error.message.len() < 400, "{}", error.message);
        assert!(
            error.message.starts_with("syntax error at line 1"),
            "{}",
            error.message
        );
    }

    #[test]
    fn manifests_are_checked_hash_by_hash() {
        let doc = "{ __typename }";
        let good = format!("{{\"{}\": \"{doc}\"}}", hex(&sha256(doc)));
        assert_eq!(PersistedQueryManifest::parse(&good).unwrap().len(), 1);
        let apollo = serde_json::json!({
            "format": "apollo-persisted-query-manifest", "version": 1,
            "operations": [{"id": hex(&sha256(doc)), "body": doc, "name": "T", "type": "query"}]
        });
        assert_eq!(
            PersistedQueryManifest::parse(&apollo.to_string())
                .unwrap()
                .len(),
            1
        );
        let wrong = format!("{{\"{}\": \"{{ other }}\"}}", hex(&sha256(doc)));
        assert!(PersistedQueryManifest::parse(&wrong)
            .unwrap_err()
            .contains("does not have that SHA-256"));
        assert!(PersistedQueryManifest::parse("{\"abc\": \"{ a }\"}")
            .unwrap_err()
            .contains("not a SHA-256"));
        assert!(PersistedQueryManifest::parse("[1]").is_err());
        let broken = format!("{{\"{}\": \"{{ a \"}}", hex(&sha256("{ a ")));
        assert!(PersistedQueryManifest::parse(&broken)
            .unwrap_err()
            .contains("not a GraphQL query"));
    }
}
