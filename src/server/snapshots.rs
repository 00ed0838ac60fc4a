//! The Tracker's two-page snapshots, generated from live data.
//!
//! `GET /snapshots` lists them; `GET /snapshots/regions/{UN_REGIONAL_GROUP}` and
//! `GET /snapshots/countries/{ISO3}`, with optional `from` and `to` (`YYYY-MM-DD`), serve one:
//! an HTML page that prints as exactly two A4 pages (each page is a box of the printable
//! area's size with its overflow hidden, so long lists are cut to what fits and say how many
//! more there are), with the key figures, server-rendered SVG charts ([`super::charts`]) and
//! the lists behind them. The page needs no script and makes no request (its Content Security
//! Policy allows none), so it can be printed, saved or mailed as it is.
//!
//! The figures come from [`crate::catalog::snapshot::figures`] over the catalog snapshot
//! current when the request arrives, computed on a blocking thread: the same figures as
//! GraphQL's `snapshot` field.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::charts::{self, Frame, Layout, Stack};
use super::graphiql::{escape, html_headers};
use super::AppState;
use crate::catalog::snapshot::{figures, month_axis, Figures, Period, Scope};
use crate::catalog::Catalog;
use crate::dataset::measures::clip;
use crate::model::{CountryCode, Date, MeasureCategory, UnRegionalGroup};

/// Scripts, styles from elsewhere, frames and forms to other hosts are all refused: the page
/// is self-contained by construction, and a browser enforces it.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The snapshot routes (merged by [`super::router`]).
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/snapshots", get(index))
        .route("/snapshots/regions/{group}", get(region))
        .route("/snapshots/countries/{code}", get(country))
}

/// The English name of a UN regional group, as the UN writes it.
pub fn group_name(group: UnRegionalGroup) -> &'static str {
    match group {
        UnRegionalGroup::African => "African Group",
        UnRegionalGroup::AsiaPacific => "Asia-Pacific Group",
        UnRegionalGroup::EasternEuropean => "Eastern European Group",
        UnRegionalGroup::LatinAmericanCaribbean => "Latin American and Caribbean Group",
        UnRegionalGroup::WesternEuropeanOthers => "Western European and Others Group",
    }
}

/// `from` and `to` from the query string.
#[derive(serde::Deserialize, Default)]
struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

impl PeriodQuery {
    fn period(&self) -> Result<Period, String> {
        let day = |name: &str, v: &Option<String>| -> Result<Option<Date>, String> {
            v.as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| Date::parse(s).map_err(|e| format!("`{name}`: {e}")))
                .transpose()
        };
        let period = Period {
            from: day("from", &self.from)?,
            to: day("to", &self.to)?,
        };
        if let (Some(f), Some(t)) = (period.from, period.to) {
            if f > t {
                return Err(format!("`from` ({f}) is after `to` ({t})"));
            }
        }
        Ok(period)
    }
}

fn refuse(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

/// The caller may read, or the refusal (the same rule as `/graphql` and the downloads).
#[allow(clippy::result_large_err)]
fn admit(state: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    state.principal(authorization).map(|_| ()).map_err(|e| {
        let mut r = refuse(StatusCode::UNAUTHORIZED, e.message);
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    })
}

async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = admit(&state, &headers) {
        return r;
    }
    let cat = state.live.snapshot();
    let mut html = head("Snapshots");
    html.push_str(
        "<main class=\"index\"><h1>Snapshots</h1>\n<p>Two-page snapshots in the manner of OHCHR's \
         COVID-19 Tracker, generated from the data this server holds. Each prints as two A4 pages; \
         add <code>?from=YYYY-MM-DD&amp;to=YYYY-MM-DD</code> to cover a period. The figures are also \
         in GraphQL (<code>snapshot</code>) at <a href=\"/\">the GraphiQL page</a>.</p>\n",
    );
    for group in UnRegionalGroup::ALL {
        let mut members: Vec<_> = cat
            .countries
            .iter()
            .filter(|c| c.record.un_regional_group == Some(*group))
            .collect();
        members.sort_by(|a, b| a.record.name.cmp(&b.record.name));
        let _ = write!(
            html,
            "<section><h2><a href=\"/snapshots/regions/{g}\">{name}</a></h2>\n<p class=\"countries\">",
            g = group.as_str(),
            name = group_name(*group),
        );
        let links: Vec<String> = members
            .iter()
            .map(|c| {
                format!(
                    "<a href=\"/snapshots/countries/{code}\">{name}</a>",
                    code = c.record.code.as_str(),
                    name = escape(&c.record.name)
                )
            })
            .collect();
        html.push_str(&links.join(" · "));
        html.push_str("</p></section>\n");
    }
    html.push_str("</main></body></html>\n");
    (html_headers(CSP), html).into_response()
}

async fn region(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(group): Path<String>,
    query: Result<Query<PeriodQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(group) = UnRegionalGroup::parse(&group) else {
        let names: Vec<&str> = UnRegionalGroup::ALL.iter().map(|g| g.as_str()).collect();
        return refuse(
            StatusCode::NOT_FOUND,
            format!(
                "no UN regional group {group:?}; there are {}",
                names.join(", ")
            ),
        );
    };
    serve(state, headers, Scope::Region(group), query).await
}

async fn country(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    query: Result<Query<PeriodQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let known = CountryCode::parse(&code)
        .ok()
        .filter(|c| state.live.snapshot().country(*c).is_some());
    let Some(code) = known else {
        return refuse(
            StatusCode::NOT_FOUND,
            format!("no country with the ISO 3166-1 alpha-3 code {code:?}"),
        );
    };
    serve(state, headers, Scope::Country(code), query).await
}

async fn serve(
    state: AppState,
    headers: HeaderMap,
    scope: Scope,
    query: Result<Query<PeriodQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(r) = admit(&state, &headers) {
        return r;
    }
    let period = match query.map_err(|e| e.body_text()).and_then(|q| q.0.period()) {
        Ok(p) => p,
        Err(reason) => return refuse(StatusCode::BAD_REQUEST, reason),
    };
    let cat = state.live.snapshot();
    let rendered = tokio::task::spawn_blocking(move || {
        let f = figures(&cat, scope, period);
        render(&cat, &f)
    })
    .await;
    match rendered {
        Ok(Ok(html)) => (html_headers(CSP), html).into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "a snapshot chart could not be drawn");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the snapshot could not be drawn".into(),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "the snapshot task failed");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the snapshot could not be drawn".into(),
            )
        }
    }
}

/// The page's title: whose snapshot it is.
pub fn scope_name(cat: &Catalog, scope: Scope) -> String {
    match scope {
        Scope::Region(g) => group_name(g).to_owned(),
        Scope::Country(c) => cat
            .country(c)
            .map(|r| r.record.name.clone())
            .unwrap_or_else(|| c.as_str().to_owned()),
    }
}

fn period_words(p: Period) -> String {
    match (p.from, p.to) {
        (None, None) => "all dates".into(),
        (Some(f), None) => format!("from {f}"),
        (None, Some(t)) => format!("up to {t}"),
        (Some(f), Some(t)) => format!("{f} to {t}"),
    }
}

fn head(title: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><link rel=\"icon\" href=\"data:,\"><style>{STYLE}</style></head><body>\n",
        escape(title)
    )
}

/// A4 is 210 x 297 mm; with 10 mm margins the printable box is 190 x 277 mm. Each `.page` is
/// a little shorter than that box, so rounding never pushes a page onto a third sheet.
const STYLE: &str = "
@page { size: A4; margin: 10mm; }
* { box-sizing: border-box; }
html { font: 9.5pt/1.35 system-ui, 'Segoe UI', Roboto, Arial, sans-serif; color: #1d1d1d; }
body { margin: 0; }
.page { width: 190mm; height: 276mm; overflow: hidden; break-after: page; page-break-after: always;
        display: flex; flex-direction: column; gap: 3mm; }
.page:last-of-type { break-after: auto; page-break-after: auto; }
@media screen {
  body { background: #e4e4e4; padding: 8mm 0; }
  .page { width: 210mm; height: 297mm; padding: 10mm; margin: 0 auto 8mm; background: #fff;
          box-shadow: 0 1px 4px rgba(0,0,0,.25); }
  main.index { max-width: 60rem; margin: 0 auto; background: #fff; padding: 1.5rem 2rem; }
}
header h1 { font-size: 17pt; margin: 0; color: #0b3d68; }
header p { margin: 1mm 0 0; color: #555; }
h2 { font-size: 11pt; margin: 0 0 1mm; color: #0b3d68; }
.figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 2mm; }
.figure { border: 1px solid #cfd8e3; border-radius: 2mm; padding: 1.5mm 2.5mm; }
.figure b { display: block; font-size: 15pt; color: #0b3d68; }
.figure span { color: #444; }
figure { margin: 0; }
figcaption { font-size: 8.5pt; color: #555; }
svg { display: block; max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; }
th, td { text-align: left; padding: 0.6mm 1.5mm; border-bottom: 1px solid #e1e6ec; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
details { font-size: 8.5pt; }
@media print { details { display: none; } }
.more { color: #666; font-style: italic; }
.legend { list-style: none; margin: 1mm 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0.5mm 3mm;
          font-size: 8pt; color: #333; }
.legend .swatch { display: inline-block; width: 2.6mm; height: 2.6mm; margin-right: 1mm; vertical-align: -0.3mm; }
.fill { flex: 1 1 0; min-height: 0; overflow: hidden; }
footer { flex: none; margin-top: auto; font-size: 8pt; color: #666; }
a { color: #0b5cad; }
";

/// The whole page.
pub fn render(cat: &Catalog, f: &Figures) -> Result<String, charts::ChartError> {
    let name = scope_name(cat, f.scope);
    let period = period_words(f.period);
    let mut html = head(&format!("Snapshot: {name}"));

    // Page 1: who, when, how much; what was done over time.
    html.push_str("<section class=\"page\" aria-label=\"Page 1\">\n");
    let _ = writeln!(
        html,
        "<header><h1>COVID-19 and human rights: {}</h1><p>{} · {} · generated from live data by the Recover Better API</p></header>",
        escape(&name),
        match f.scope {
            Scope::Region(_) => format!("{} States", f.countries.len()),
            Scope::Country(c) => c.as_str().to_owned(),
        },
        escape(&period),
    );
    key_figures(&mut html, f);
    measures_per_month(&mut html, cat, f)?;
    concerns_by_theme(&mut html, cat, f)?;
    top_concerns(&mut html, cat, f);
    footer(&mut html, cat, 1);
    html.push_str("</section>\n");

    // Page 2: commitments against action; what ran against them; what is worth copying.
    html.push_str("<section class=\"page\" aria-label=\"Page 2\">\n");
    coverage(&mut html, cat, f)?;
    regressions(&mut html, cat, f)?;
    good_practices(&mut html, cat, f);
    footer(&mut html, cat, 2);
    html.push_str("</section>\n</body></html>\n");
    Ok(html)
}

fn key_figures(html: &mut String, f: &Figures) {
    let links: u32 = f.links_by_relation.iter().map(|l| l.count).sum();
    let by_relation: Vec<String> = f
        .links_by_relation
        .iter()
        .filter(|l| l.count > 0)
        .map(|l| {
            format!(
                "{} {}",
                l.count,
                l.label.as_str().to_lowercase().replace('_', " ")
            )
        })
        .collect();
    let tiles = [
        (
            f.concerns.len().to_string(),
            "issues of concern reported".to_owned(),
        ),
        (
            f.measures.len().to_string(),
            "COVID-19 measures taken".to_owned(),
        ),
        (
            f.actions.len().to_string(),
            "UN Human Rights actions".to_owned(),
        ),
        (
            f.recommendations.len().to_string(),
            "UPR recommendations received".to_owned(),
        ),
        (
            f.supported_recommendations.to_string(),
            format!(
                "supported{}",
                if f.partially_supported_recommendations > 0 {
                    format!(", {} in part", f.partially_supported_recommendations)
                } else {
                    String::new()
                }
            ),
        ),
        (
            links.to_string(),
            if by_relation.is_empty() {
                "confirmed links measure–recommendation".to_owned()
            } else {
                format!("confirmed links: {}", by_relation.join(", "))
            },
        ),
        (
            f.regressions.len().to_string(),
            "possible regressions".to_owned(),
        ),
        (
            f.good_practices.len().to_string(),
            "good practices".to_owned(),
        ),
    ];
    html.push_str("<section class=\"figures\" aria-label=\"Key figures\">\n");
    for (n, words) in tiles {
        let _ = writeln!(
            html,
            "<div class=\"figure\"><b>{n}</b><span>{}</span></div>",
            escape(&words)
        );
    }
    html.push_str("</section>\n");
}

fn measures_per_month(
    html: &mut String,
    cat: &Catalog,
    f: &Figures,
) -> Result<(), charts::ChartError> {
    let months: BTreeSet<String> = f
        .measures_by_month
        .iter()
        .map(|m| m.month.clone())
        .collect();
    let axis = month_axis(&months);
    let categories: Vec<MeasureCategory> = MeasureCategory::ALL
        .iter()
        .copied()
        .filter(|c| f.measures_by_month.iter().any(|m| m.category == *c))
        .collect();
    let series: Vec<String> = categories.iter().map(|c| category_name(cat, *c)).collect();
    let stacks: Vec<Stack> = axis
        .iter()
        .map(|month| Stack {
            label: month.clone(),
            segments: f
                .measures_by_month
                .iter()
                .filter(|m| &m.month == month)
                .filter_map(|m| Some((categories.iter().position(|c| *c == m.category)?, m.count)))
                .collect(),
        })
        .collect();
    let busiest = axis
        .iter()
        .map(|m| {
            let n: u32 = f
                .measures_by_month
                .iter()
                .filter(|x| &x.month == m)
                .map(|x| x.count)
                .sum();
            (n, m)
        })
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(a.1)));
    let description = match busiest {
        Some((n, month)) => format!(
            "{} measures started between {} and {}, in {} categories; the most, {n}, in {month}.",
            f.measures.len(),
            axis.first().map(String::as_str).unwrap_or(""),
            axis.last().map(String::as_str).unwrap_or(""),
            categories.len()
        ),
        None => "No measure started in the period.".to_owned(),
    };
    let svg = charts::stacked_bars(
        &Frame {
            id: "measures-per-month",
            title: "Measures started per month, by category",
            description: &description,
            width: 720,
            height: 200,
        },
        &stacks,
        &series,
        "measures started",
    )?;
    let _ = writeln!(
        html,
        "<figure><h2>Measures started per month, by category</h2>{svg}{}<figcaption>{}</figcaption></figure>",
        charts::legend(&series, Layout::Stacked),
        escape(&description)
    );
    Ok(())
}

/// How many themes the concerns chart shows, and concerns the list beside it.
const CONCERN_THEMES: usize = 6;
const TOP_CONCERNS: usize = 3;
/// How many of a concern's mitigating measures the list names.
const MITIGATING_SHOWN: usize = 2;
/// How many of a concern's States the list names.
const STATES_SHOWN: usize = 8;
/// The longest concern title and measure title the list shows, in characters, so that the
/// three rows fit on page 1; should a row still be too tall, the list's box (`.fill`) hides
/// the overflow and page 1's footer still shows.
const CONCERN_TITLE_CHARS: usize = 110;
const MEASURE_TITLE_CHARS: usize = 60;

fn concerns_by_theme(
    html: &mut String,
    cat: &Catalog,
    f: &Figures,
) -> Result<(), charts::ChartError> {
    html.push_str("<section aria-label=\"Issues of concern\">");
    if f.concerns.is_empty() {
        html.push_str("<h2>Issues of concern by theme</h2><p>No issue of concern was reported for these States in the period.</p></section>\n");
        return Ok(());
    }
    let shown = &f.concerns_by_theme[..f.concerns_by_theme.len().min(CONCERN_THEMES)];
    let rows: Vec<(String, Vec<u32>)> = shown
        .iter()
        .map(|t| (theme_name(cat, t.label.as_str()), vec![t.count]))
        .collect();
    let description = match shown.first() {
        Some(top) => format!(
            "{} issues of concern reported; the theme most concerned is {} ({} of them).",
            f.concerns.len(),
            theme_name(cat, top.label.as_str()),
            top.count
        ),
        None => format!(
            "{} issues of concern reported, on no theme of their own.",
            f.concerns.len()
        ),
    };
    let svg = charts::horizontal_bars(
        &Frame {
            id: "concerns-by-theme",
            title: "Issues of concern by theme",
            description: &description,
            width: 720,
            height: 50 + 18 * rows.len().max(2) as u32,
        },
        &rows,
        &["issues of concern".to_owned()],
        "issues of concern",
        190,
    )?;
    let _ = writeln!(
        html,
        "<figure><h2>Issues of concern by theme</h2>{svg}<figcaption>{}</figcaption></figure></section>",
        escape(&description)
    );
    Ok(())
}

fn top_concerns(html: &mut String, cat: &Catalog, f: &Figures) {
    if f.top_concerns.is_empty() {
        return;
    }
    html.push_str(
        "<section class=\"fill\" aria-label=\"Main concerns\"><h2>Main concerns and the measures that mitigate them</h2>\
         <table><thead><tr><th>concern</th><th>severity</th><th>States</th><th>mitigating measures</th></tr></thead><tbody>",
    );
    for id in f.top_concerns.iter().take(TOP_CONCERNS) {
        let Some(c) = cat.concerns.get(*id) else {
            continue;
        };
        let mut states: Vec<String> = c
            .record
            .countries
            .iter()
            .take(STATES_SHOWN)
            .map(|s| s.as_str().to_owned())
            .collect();
        if c.record.countries.len() > STATES_SHOWN {
            states.push(format!(
                "and {} more",
                c.record.countries.len() - STATES_SHOWN
            ));
        }
        let mut measures: Vec<String> = c
            .record
            .measures
            .iter()
            .filter_map(|m| cat.measures.by_ref(m.as_str()))
            .take(MITIGATING_SHOWN)
            .map(|m| {
                format!(
                    "{} ({})",
                    clip(&m.record.title, MEASURE_TITLE_CHARS),
                    m.record.country.as_str()
                )
            })
            .collect();
        if c.record.measures.len() > MITIGATING_SHOWN {
            measures.push(format!(
                "and {} more",
                c.record.measures.len() - MITIGATING_SHOWN
            ));
        }
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&clip(&c.record.title, CONCERN_TITLE_CHARS)),
            c.record.severity.as_str().to_lowercase(),
            states.join(", "),
            if measures.is_empty() {
                "none recorded".to_owned()
            } else {
                escape(&measures.join("; "))
            },
        );
    }
    html.push_str("</tbody></table>");
    more(
        html,
        f.top_concerns.len(),
        TOP_CONCERNS,
        "issues of concern",
    );
    html.push_str("</section>\n");
}

/// How many rows of the coverage chart fit on page 2 beside the lists.
const COVERAGE_ROWS: usize = 8;

fn coverage(html: &mut String, cat: &Catalog, f: &Figures) -> Result<(), charts::ChartError> {
    let shown = &f.theme_coverage[..f.theme_coverage.len().min(COVERAGE_ROWS)];
    let rows: Vec<(String, Vec<u32>)> = shown
        .iter()
        .map(|c| {
            (
                theme_name(cat, c.theme.as_str()),
                vec![c.supported_recommendations, c.implemented_recommendations],
            )
        })
        .collect();
    let gaps: Vec<String> = shown
        .iter()
        .filter(|c| c.supported_recommendations > 0 && c.implemented_recommendations == 0)
        .map(|c| theme_name(cat, c.theme.as_str()))
        .collect();
    let mut description = format!(
        "Supported recommendations per theme against those a measure of the period implements \
         (a confirmed IMPLEMENTS or PARTIALLY_IMPLEMENTS link), for the {} themes with the most \
         supported recommendations.",
        shown.len()
    );
    if !gaps.is_empty() {
        let _ = write!(
            description,
            " No measure implements any of them on: {}.",
            gaps.join(", ")
        );
    }
    let series = [
        "supported recommendations".to_owned(),
        "implemented by a measure".to_owned(),
    ];
    let svg = charts::horizontal_bars(
        &Frame {
            id: "coverage",
            title: "Commitments and the measures that implement them, per theme",
            description: &description,
            width: 720,
            height: 50 + 20 * rows.len().max(3) as u32,
        },
        &rows,
        &series,
        "recommendations",
        190,
    )?;
    let _ = write!(
        html,
        "<figure><h2>Commitments and the measures that implement them</h2>{svg}{}<figcaption>{}</figcaption>",
        charts::legend(&series, Layout::SideBySide),
        escape(&description)
    );
    html.push_str("<details><summary>The figures</summary><table><thead><tr><th>theme</th><th>supported recommendations</th><th>implemented</th><th>implementing measures</th></tr></thead><tbody>");
    for c in &f.theme_coverage {
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&theme_name(cat, c.theme.as_str())),
            c.supported_recommendations,
            c.implemented_recommendations,
            c.implementing_measures
        );
    }
    html.push_str("</tbody></table></details></figure>\n");
    Ok(())
}

/// How many regressions and good practices page 2 lists.
const LISTED: usize = 4;

fn regressions(html: &mut String, cat: &Catalog, f: &Figures) -> Result<(), charts::ChartError> {
    html.push_str("<section aria-label=\"Possible regressions\"><h2>Possible regressions</h2>");
    if f.regressions.is_empty() {
        html.push_str(
            "<p>No measure of the period runs against a supported recommendation.</p></section>\n",
        );
        return Ok(());
    }
    let mut by_category: std::collections::BTreeMap<MeasureCategory, u32> = Default::default();
    for r in &f.regressions {
        if let Some(m) = cat.measures.get(r.measure) {
            *by_category.entry(m.record.category).or_default() += 1;
        }
    }
    let mut rows: Vec<(String, Vec<u32>)> = by_category
        .into_iter()
        .map(|(c, n)| (category_name(cat, c), vec![n]))
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let description = format!(
        "{} measures of the period may have set back rights the States had committed to, in {} categories.",
        f.regressions.len(),
        rows.len()
    );
    let svg = charts::horizontal_bars(
        &Frame {
            id: "regressions",
            title: "Possible regressions by category of measure",
            description: &description,
            width: 720,
            height: 44 + 18 * rows.len().max(2) as u32,
        },
        &rows,
        &["possible regressions".to_owned()],
        "possible regressions",
        230,
    )?;
    let _ = write!(
        html,
        "<figure>{svg}<figcaption>{}</figcaption></figure>",
        escape(&description)
    );
    html.push_str(
        "<table><thead><tr><th>measure</th><th>State</th><th>from</th><th>why</th><th>against</th></tr></thead><tbody>",
    );
    for r in f.regressions.iter().take(LISTED) {
        let Some(m) = cat.measures.get(r.measure) else {
            continue;
        };
        let themes: Vec<String> = r
            .themes
            .iter()
            .map(|t| theme_name(cat, t.as_str()))
            .collect();
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} supported recommendations on {}</td></tr>",
            escape(&m.record.title),
            m.record.country.as_str(),
            m.record.start_date,
            escape(&r.reasons.join("; ")),
            r.recommendations.len(),
            escape(&themes.join(", ")),
        );
    }
    html.push_str("</tbody></table>");
    more(html, f.regressions.len(), LISTED, "possible regressions");
    html.push_str("</section>\n");
    Ok(())
}

fn good_practices(html: &mut String, cat: &Catalog, f: &Figures) {
    html.push_str("<section aria-label=\"Good practices\"><h2>Good practices</h2>");
    if f.good_practices.is_empty() {
        html.push_str(
            "<p>No good practice recorded for these States in the period.</p></section>\n",
        );
        return;
    }
    html.push_str(
        "<table><thead><tr><th>practice</th><th>States</th><th>year</th></tr></thead><tbody>",
    );
    for id in f.good_practices.iter().take(LISTED) {
        let Some(p) = cat.good_practices.get(*id) else {
            continue;
        };
        let states: Vec<&str> = p.record.countries.iter().map(|c| c.as_str()).collect();
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&p.record.title),
            states.join(", "),
            p.record.year.map(|y| y.to_string()).unwrap_or_default(),
        );
    }
    html.push_str("</tbody></table>");
    more(html, f.good_practices.len(), LISTED, "good practices");
    html.push_str("</section>\n");
}

fn more(html: &mut String, total: usize, shown: usize, what: &str) {
    if total > shown {
        let _ = write!(
            html,
            "<p class=\"more\">and {} more {what}: the full list is in the API.</p>",
            total - shown
        );
    }
}

fn footer(html: &mut String, cat: &Catalog, page: u8) {
    let _ = writeln!(
        html,
        "<footer>Page {page} of 2 · Recover Better API, data generation {} · figures also in GraphQL \
         (<code>snapshot</code>) · sources are named on each record</footer>",
        cat.generation
    );
}

fn theme_name(cat: &Catalog, slug: &str) -> String {
    cat.theme(slug)
        .map(|t| t.name.clone())
        .unwrap_or_else(|| slug.to_owned())
}

fn category_name(cat: &Catalog, c: MeasureCategory) -> String {
    cat.measure_category(c)
        .map(|i| i.name.clone())
        .unwrap_or_else(|| c.as_str().to_owned())
}
