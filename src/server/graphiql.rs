//! GraphiQL at `/`, working offline: the page is ours and every script and stylesheet it loads
//! is embedded in the binary.
//!
//! The bundles are GraphiQL 4.1.2's standalone build and the UMD production builds of React
//! and ReactDOM 18.3.1. They are dependencies, not files of ours: `web/package.json` and
//! `web/package-lock.json` pin them by version and integrity hash, and `build.rs` installs them
//! with `npm ci` inside OUT_DIR and writes the table included below (`PACKAGES`, `ASSETS`),
//! each asset gzip-compressed.
//!
//! - `GET /` — the page, with a Content-Security-Policy that allows only this origin (plus
//!   inline styles, which GraphiQL sets, `data:` fonts and images, which its stylesheet
//!   embeds, and our one inline script by its hash).
//! - `GET /assets/{file}` — the bundles, gzip-encoded when the client accepts it, with an
//!   ETag and a year-long immutable Cache-Control: the page links them as
//!   `/assets/{file}?v={content hash}`, so a new version gets a new URL.
//! - `GET /licenses` — each bundled package with its version and full licence text.

use std::io::Read;
use std::sync::OnceLock;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// An npm package whose files are embedded (see `build.rs`).
struct Package {
    name: &'static str,
    version: &'static str,
    /// The SPDX licence id from the package's manifest.
    license: &'static str,
    /// The package's LICENSE file.
    license_text: &'static str,
}

/// A file served under `/assets/`.
struct Asset {
    /// The name under `/assets/`.
    file: &'static str,
    /// The [`Package`] it comes from.
    package: &'static str,
    content_type: &'static str,
    /// The file, gzip-compressed.
    gzip: &'static [u8],
}

// `const PACKAGES: &[Package]` and `const ASSETS: &[Asset]`, written by build.rs.
include!(concat!(env!("OUT_DIR"), "/graphiql/assets.rs"));

/// The query the page opens with (when the browser has no saved session): the
/// recommendations one country received, with the measures linked to them. It must stay valid
/// against the schema (see `schema.graphql`).
pub const DEFAULT_QUERY: &str = r#"# Welcome to the Recover Better API.
#
# Run a query with Ctrl-Enter or the ▶ button.
# The Documentation Explorer (first icon on
# the left) lists every type and field.
#
# Example: the recommendations Honduras received
# in the Universal Periodic Review that are
# linked to COVID-19 measures, with the measures.
query CountryRecommendations {
  country(code: "HND") {
    code
    name
    recommendationsReceived(
      first: 5
      filter: { linked: true }
    ) {
      totalCount
      nodes {
        ref
        text
        response
        links(status: [CONFIRMED]) {
          relation
          note
          measure {
            ref
            title
            category
            startDate
          }
        }
      }
    }
  }
}

# Example: how SMART is a draft recommendation?
# Each score comes with the reasons for it.
query AssessDraft {
  assessText(text: "Adopt a national action plan on violence against women by 2025, with indicators, in cooperation with civil society.") {
    actionCategory { value confidence reasons }
    themes { slug reasons }
    groups { slug reasons }
    smart {
      specific { score reasons }
      measurable { score reasons }
      achievable { score reasons }
      relevant { score reasons }
      timeBound { score reasons }
      total
    }
  }
}
"#;

/// Cache-Control of the assets: their URLs carry a content hash (`?v=`), see the module doc.
const ASSET_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// Routes: GET `/` (our GraphiQL page), GET `/assets/{file}` (the embedded bundles, with
/// correct content-type, long-lived Cache-Control and an ETag), GET `/licenses` (a page we
/// write listing each bundled package with its version and full licence text).
pub fn router() -> Router {
    Router::new()
        .route("/", get(page))
        .route("/assets/{file}", get(asset))
        .route("/licenses", get(licenses))
}

/// An asset ready to serve.
struct Prepared {
    asset: &'static Asset,
    identity: Bytes,
    /// 16 hex digits of the SHA-256 of the uncompressed file.
    version: String,
}

impl Prepared {
    fn etag(&self, gzip: bool) -> String {
        if gzip {
            format!("\"{}-gzip\"", self.version)
        } else {
            format!("\"{}\"", self.version)
        }
    }
}

/// The assets, decompressed and hashed once, on first use.
fn prepared() -> &'static [Prepared] {
    static PREPARED: OnceLock<Vec<Prepared>> = OnceLock::new();
    PREPARED.get_or_init(|| {
        ASSETS
            .iter()
            .map(|asset| {
                let mut identity = Vec::new();
                flate2::read::GzDecoder::new(asset.gzip)
                    .read_to_end(&mut identity)
                    .expect("build.rs embeds valid gzip");
                let digest = Sha256::digest(&identity);
                let version = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
                Prepared {
                    asset,
                    identity: Bytes::from(identity),
                    version,
                }
            })
            .collect()
    })
}

/// The page and its Content-Security-Policy.
struct Page {
    html: String,
    csp: String,
}

/// Builds the page once: the asset URLs carry content hashes and the CSP the inline
/// script's hash.
fn built_page() -> &'static Page {
    static PAGE: OnceLock<Page> = OnceLock::new();
    PAGE.get_or_init(|| {
        let url = |file: &str| {
            let prepared = prepared()
                .iter()
                .find(|p| p.asset.file == file)
                .unwrap_or_else(|| panic!("build.rs embeds {file}"));
            format!("/assets/{file}?v={}", prepared.version)
        };
        // JSON is a JavaScript string literal; `<` is escaped so that no `</script>` can end
        // the script early.
        let query = serde_json::to_string(DEFAULT_QUERY)
            .expect("a string serializes")
            .replace('<', "\\u003c");
        let script = format!(
            r#"
      (function () {{
        var ws = location.protocol === 'https:' ? 'wss:' : 'ws:';
        var fetcher = GraphiQL.createFetcher({{
          url: '/graphql',
          subscriptionUrl: ws + '//' + location.host + '/graphql/ws',
        }});
        ReactDOM.createRoot(document.getElementById('graphiql')).render(
          React.createElement(GraphiQL, {{ fetcher: fetcher, defaultQuery: {query} }})
        );
      }})();
    "#
        );
        let script_hash =
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes()));
        let html = format!(
            r#"<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Recover Better API — GraphiQL</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{css}">
    <style>
      html, body {{ height: 100%; margin: 0; }}
      body {{ display: flex; flex-direction: column; }}
      #graphiql {{ flex: 1; min-height: 0; }}
      #graphiql > p {{ margin: 2em; font-family: system-ui, sans-serif; color: #555; }}
      footer {{
        flex: none; padding: 3px 12px; text-align: right; border-top: 1px solid #ddd;
        font: 12px system-ui, sans-serif; color: #666;
      }}
      footer a {{ color: inherit; }}
    </style>
  </head>
  <body>
    <div id="graphiql"><p>Loading GraphiQL…</p></div>
    <noscript><p>GraphiQL needs JavaScript. The API itself is at <code>/graphql</code>.</p></noscript>
    <footer>Recover Better API · <a href="/snapshots">Snapshots</a> · <a href="/licenses">Third-party licences</a></footer>
    <script src="{react}"></script>
    <script src="{react_dom}"></script>
    <script src="{graphiql}"></script>
    <script>{script}</script>
  </body>
</html>
"#,
            css = url("graphiql.min.css"),
            react = url("react.production.min.js"),
            react_dom = url("react-dom.production.min.js"),
            graphiql = url("graphiql.min.js"),
        );
        let csp = format!(
            "default-src 'self'; script-src 'self' 'sha256-{script_hash}'; \
             style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
             connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'"
        );
        Page { html, csp }
    })
}

/// Headers of both HTML pages.
pub(super) fn html_headers(csp: &str) -> [(HeaderName, HeaderValue); 5] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(csp).expect("the CSP is ASCII"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ]
}

async fn page() -> Response {
    let page = built_page();
    (html_headers(&page.csp), page.html.clone()).into_response()
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(prepared) = prepared().iter().find(|p| p.asset.file == file) else {
        return (StatusCode::NOT_FOUND, "no such asset\n").into_response();
    };
    let gzip = accepts_gzip(&headers);
    let etag = prepared.etag(gzip);
    let mut response = if etag_matches(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if gzip {
        let mut response = Bytes::from_static(prepared.asset.gzip).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        response
    } else {
        prepared.identity.clone().into_response()
    };
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(prepared.asset.content_type),
    );
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(ASSET_CACHE_CONTROL),
    );
    out.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex digits"),
    );
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn licenses() -> Response {
    let mut html = String::from(
        r#"<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Recover Better API — third-party licences</title>
    <style>
      body { max-width: 50rem; margin: 2rem auto; padding: 0 1rem; font: 15px/1.5 system-ui, sans-serif; }
      pre { white-space: pre-wrap; background: #f6f6f6; padding: 1rem; font-size: 13px; }
    </style>
  </head>
  <body>
    <h1>Third-party licences</h1>
    <p>The <a href="/">GraphiQL page</a> of the Recover Better API is served from files
      embedded in the server. They come from these packages:</p>
    <ul>
"#,
    );
    for package in PACKAGES {
        let files: Vec<&str> = ASSETS
            .iter()
            .filter(|a| a.package == package.name)
            .map(|a| a.file)
            .collect();
        html.push_str(&format!(
            "      <li><a href=\"#{name}\">{name} {version}</a> ({license}): {files}</li>\n",
            name = escape(package.name),
            version = escape(package.version),
            license = escape(package.license),
            files = escape(&files.join(", ")),
        ));
    }
    html.push_str(
        "    </ul>\n    <p>graphiql.min.js is the standalone build published in the graphiql \
         package: it bundles GraphiQL's own open-source dependencies (among them graphql-js \
         and CodeMirror), which come under their own licences.</p>\n",
    );
    for package in PACKAGES {
        html.push_str(&format!(
            "    <h2 id=\"{name}\">{name} {version}</h2>\n    <p>Licence: {license}</p>\n    \
             <pre>{text}</pre>\n",
            name = escape(package.name),
            version = escape(package.version),
            license = escape(package.license),
            text = escape(package.license_text.trim_end()),
        ));
    }
    html.push_str("  </body>\n</html>\n");
    let csp = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
               form-action 'none'; frame-ancestors 'none'";
    (html_headers(csp), html).into_response()
}

/// Escapes text for HTML content and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether `Accept-Encoding` accepts gzip: an explicit `gzip` (or `x-gzip`) entry decides by
/// its q-value; otherwise a `*` entry does.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut explicit = None;
    let mut wildcard = None;
    let entries = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','));
    for entry in entries {
        let mut parts = entry.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        let accepted = parts
            .filter_map(|param| {
                let (name, value) = param.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| value.trim().parse::<f32>().is_ok_and(|q| q > 0.0))
            })
            .next_back()
            .unwrap_or(true);
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            explicit = Some(accepted);
        } else if coding == "*" {
            wildcard = Some(accepted);
        }
    }
    explicit.or(wildcard).unwrap_or(false)
}

/// Whether `If-None-Match` names `etag` (weak comparison, as for GET) or is `*`.
fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves [`router`] on a free loopback port; returns its base URL.
    async fn serve() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router()).await.unwrap() });
        format!("http://{addr}")
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder().no_proxy().build().unwrap()
    }

    fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
        response
            .headers()
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }

    /// The values of every `attr="..."` in `html`.
    fn attribute_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
        let needle = format!(" {attr}=\"");
        html.match_indices(&needle)
            .map(|(at, _)| {
                let rest = &html[at + needle.len()..];
                &rest[..rest.find('"').unwrap()]
            })
            .collect()
    }

    /// The text of the inline `<script>` (the one without `src`).
    fn inline_script(html: &str) -> &str {
        let start = html.find("<script>").expect("an inline script") + "<script>".len();
        &html[start..start + html[start..].find("</script>").unwrap()]
    }

    #[tokio::test]
    async fn page_is_self_contained_html() {
        let base = serve().await;
        let response = client().get(format!("{base}/")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            header(&response, "content-type"),
            "text/html; charset=utf-8"
        );
        let csp = header(&response, "content-security-policy").to_string();
        let html = response.text().await.unwrap();

        assert!(html.contains("<title>Recover Better API — GraphiQL</title>"));
        let srcs = attribute_values(&html, "src");
        let hrefs = attribute_values(&html, "href");
        for url in srcs.iter().chain(&hrefs) {
            // `data:,` is the empty favicon, which spares the browser a request.
            assert!(
                url.starts_with("/assets/") || ["/licenses", "/snapshots", "data:,"].contains(url),
                "page references {url}"
            );
        }
        let files: Vec<&str> = srcs
            .iter()
            .chain(&hrefs)
            .filter_map(|url| url.strip_prefix("/assets/"))
            .map(|url| url.split('?').next().unwrap())
            .collect();
        assert_eq!(
            files,
            [
                "react.production.min.js",
                "react-dom.production.min.js",
                "graphiql.min.js",
                "graphiql.min.css",
            ]
        );
        assert!(hrefs.contains(&"/licenses"), "footer links the licences");
        assert!(hrefs.contains(&"/snapshots"), "footer links the snapshots");
        let lower = html.to_ascii_lowercase();
        for external in [
            "http://",
            "https://",
            "ws://",
            "wss://",
            "src=\"//",
            "href=\"//",
        ] {
            assert!(!lower.contains(external), "page contains {external:?}");
        }

        let script = inline_script(&html);
        assert!(script.contains("GraphiQL.createFetcher"));
        assert!(script.contains("url: '/graphql'"));
        assert!(script.contains("location.host + '/graphql/ws'"));
        assert!(script.contains("'wss:' : 'ws:'"));
        assert!(script.contains("CountryRecommendations"));

        // The CSP allows this origin only, and the inline script by its hash.
        let hash =
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes()));
        assert!(csp.starts_with("default-src 'self';"), "{csp}");
        assert!(
            csp.contains(&format!("script-src 'self' 'sha256-{hash}';")),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-eval"), "{csp}");
        assert!(!csp.contains("http"), "{csp}");
    }

    #[tokio::test]
    async fn assets_are_served_with_type_cache_control_and_etag() {
        let base = serve().await;
        let html = client().get(format!("{base}/")).send().await.unwrap();
        let html = html.text().await.unwrap();
        let mut urls = attribute_values(&html, "src");
        urls.extend(attribute_values(&html, "href"));
        urls.retain(|url| url.starts_with("/assets/"));
        assert_eq!(urls.len(), 4);
        for url in urls {
            let response = client().get(format!("{base}{url}")).send().await.unwrap();
            assert_eq!(response.status(), 200, "{url}");
            let (expected_type, marker) = if url.contains(".css") {
                ("text/css; charset=utf-8", ".graphiql-container")
            } else if url.contains("graphiql") {
                ("text/javascript; charset=utf-8", "createFetcher")
            } else {
                ("text/javascript; charset=utf-8", "@license React")
            };
            assert_eq!(header(&response, "content-type"), expected_type, "{url}");
            assert!(header(&response, "cache-control").contains("max-age=31536000"));
            let etag = header(&response, "etag").to_string();
            assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() > 10);
            assert!(
                url.ends_with(&format!("?v={}", etag.trim_matches('"'))),
                "{url}"
            );
            assert!(response.headers().get("content-encoding").is_none());
            let body = response.text().await.unwrap();
            assert!(body.len() > 10_000, "{url}: {} bytes", body.len());
            assert!(body.contains(marker), "{url} lacks {marker:?}");
        }
    }

    #[tokio::test]
    async fn assets_are_gzip_encoded_on_request_and_revalidate() {
        let base = serve().await;
        let url = format!("{base}/assets/graphiql.min.js");
        let plain = client().get(&url).send().await.unwrap();
        let plain_etag = header(&plain, "etag").to_string();
        let plain = plain.bytes().await.unwrap();

        let gzipped = client()
            .get(&url)
            .header("accept-encoding", "br, gzip;q=0.8")
            .send()
            .await
            .unwrap();
        assert_eq!(header(&gzipped, "content-encoding"), "gzip");
        assert_eq!(header(&gzipped, "vary"), "accept-encoding");
        let gzip_etag = header(&gzipped, "etag").to_string();
        assert_ne!(gzip_etag, plain_etag);
        let body = gzipped.bytes().await.unwrap();
        assert!(body.len() < plain.len() / 2);
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, plain);

        let revalidated = client()
            .get(&url)
            .header("if-none-match", format!("W/\"x\", {plain_etag}"))
            .send()
            .await
            .unwrap();
        assert_eq!(revalidated.status(), 304);
        assert_eq!(header(&revalidated, "etag"), plain_etag);
        assert!(revalidated.bytes().await.unwrap().is_empty());

        // The other representation's ETag does not match.
        let changed = client()
            .get(&url)
            .header("if-none-match", gzip_etag)
            .send()
            .await
            .unwrap();
        assert_eq!(changed.status(), 200);
    }

    #[tokio::test]
    async fn licenses_page_lists_each_package_with_its_licence() {
        let base = serve().await;
        let response = client()
            .get(format!("{base}/licenses"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            header(&response, "content-type"),
            "text/html; charset=utf-8"
        );
        let html = response.text().await.unwrap();
        for (name, version) in [
            ("graphiql", "4.1.2"),
            ("react", "18.3.1"),
            ("react-dom", "18.3.1"),
        ] {
            let heading = format!("<h2 id=\"{name}\">{name} {version}</h2>");
            assert!(html.contains(&heading), "no {heading}");
        }
        assert!(html.contains("Copyright (c) 2021 GraphQL Contributors"));
        assert!(html.contains("Copyright (c) Facebook, Inc. and its affiliates."));
        assert_eq!(
            html.matches("Permission is hereby granted, free of charge")
                .count(),
            3
        );
        assert!(
            !html.contains("THE SOFTWARE IS PROVIDED \"AS IS\""),
            "escaped"
        );
        assert!(html.contains("THE SOFTWARE IS PROVIDED &quot;AS IS&quot;"));
    }

    #[tokio::test]
    async fn unknown_asset_is_404() {
        let base = serve().await;
        for path in [
            "/assets/nope.js",
            "/assets/graphiql.min.js.map",
            "/assets/..%2FCargo.toml",
        ] {
            let response = client().get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(response.status(), 404, "{path}");
        }
    }

    #[test]
    fn accept_encoding_is_parsed() {
        let accepts = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
            accepts_gzip(&headers)
        };
        assert!(accepts("gzip"));
        assert!(accepts("gzip, deflate, br, zstd"));
        assert!(accepts("br;q=1.0, GZIP;q=0.5"));
        assert!(accepts("*"));
        assert!(!accepts("identity"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("gzip;q=0, *"));
        assert!(!accepts("*;q=0"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
