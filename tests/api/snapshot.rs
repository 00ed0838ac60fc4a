//! The Tracker's snapshots: GraphQL's `snapshot` figures equal brute-force counts over the
//! dataset files, for every region and for countries, with and without a period; the
//! printable page (`/snapshots/…`) shows those figures, is self-contained, and refuses what
//! it cannot serve with a 4xx that says why.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::helpers::*;

const REGIONS: [&str; 5] = [
    "AFRICAN",
    "ASIA_PACIFIC",
    "EASTERN_EUROPEAN",
    "LATIN_AMERICAN_CARIBBEAN",
    "WESTERN_EUROPEAN_OTHERS",
];

const FIGURES: &str = "
  query($region: UnRegionalGroup, $country: String, $from: Date, $to: Date) {
    snapshot(region: $region, country: $country, from: $from, to: $to) {
      region country { code } from to
      countries { code }
      measureCount recommendationCount supportedRecommendationCount
      partiallySupportedRecommendationCount
      linksByRelation { relation count }
      measuresByMonth { month category count }
      measuresByCategory { category count }
      themeCoverage { theme { slug } supportedRecommendations implementedRecommendations implementingMeasures }
      regressionCount regressions { measure { ref } }
      goodPractices { ref }
      concernCount actionCount concerns { ref } actions { ref }
      concernsByTheme { theme { slug } count }
    }
  }";

/// What the snapshot must say, computed from the files alone.
#[derive(Debug, PartialEq)]
struct Expected {
    countries: Vec<String>,
    measures: usize,
    recommendations: usize,
    supported: usize,
    partially: usize,
    links: BTreeMap<String, u64>,
    by_month: BTreeMap<(String, String), u64>,
    coverage: BTreeMap<String, (u64, u64, u64)>,
    good_practices: Vec<String>,
    concerns: BTreeSet<String>,
    actions: Vec<String>,
    concerns_by_theme: BTreeMap<String, u64>,
}

fn in_period(day: &str, from: Option<&str>, to: Option<&str>) -> bool {
    from.is_none_or(|f| f <= day) && to.is_none_or(|t| day <= t)
}

fn brute_force(
    f: &Files,
    region: Option<&str>,
    country: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Expected {
    let mut countries: Vec<String> = match (region, country) {
        (Some(g), _) => f
            .countries
            .iter()
            .filter(|c| c.un_regional_group.as_deref() == Some(g))
            .map(|c| c.code.clone())
            .collect(),
        (None, Some(c)) => vec![c.to_owned()],
        (None, None) => unreachable!(),
    };
    countries.sort();
    let states: BTreeSet<&str> = countries.iter().map(String::as_str).collect();
    let measures: Vec<&MeasureRow> = f
        .measures
        .iter()
        .filter(|m| states.contains(m.country.as_str()) && in_period(&m.start_date, from, to))
        .collect();
    let measure_ids: BTreeSet<&str> = measures.iter().map(|m| m.id.as_str()).collect();
    let recommendations: Vec<&RecommendationRow> = f
        .recommendations
        .iter()
        .filter(|r| states.contains(r.state_under_review.as_str()))
        .collect();
    let supported: Vec<&RecommendationRow> = recommendations
        .iter()
        .copied()
        .filter(|r| r.response == "SUPPORTED")
        .collect();
    let supported_ids: BTreeSet<&str> = supported.iter().map(|r| r.id.as_str()).collect();

    let mut links: BTreeMap<String, u64> = [
        "IMPLEMENTS",
        "PARTIALLY_IMPLEMENTS",
        "RELATED",
        "CONTRADICTS",
    ]
    .iter()
    .map(|r| (r.to_string(), 0))
    .collect();
    let mut implemented: BTreeSet<&str> = BTreeSet::new();
    let mut implementing: BTreeSet<&str> = BTreeSet::new();
    for l in &f.links {
        if l.status != "CONFIRMED" || !measure_ids.contains(l.measure.as_str()) {
            continue;
        }
        *links.get_mut(&l.relation).unwrap() += 1;
        if l.relation == "IMPLEMENTS" || l.relation == "PARTIALLY_IMPLEMENTS" {
            implementing.insert(l.measure.as_str());
            if supported_ids.contains(l.recommendation.as_str()) {
                implemented.insert(l.recommendation.as_str());
            }
        }
    }
    let mut by_month = BTreeMap::new();
    for m in &measures {
        *by_month
            .entry((m.start_date[..7].to_owned(), m.category.clone()))
            .or_insert(0) += 1;
    }
    let mut coverage = BTreeMap::new();
    for t in &f.themes {
        let on: Vec<&&RecommendationRow> = supported
            .iter()
            .filter(|r| r.themes.contains(&t.slug))
            .collect();
        let done = on
            .iter()
            .filter(|r| implemented.contains(r.id.as_str()))
            .count() as u64;
        let measures_on = measures
            .iter()
            .filter(|m| m.themes.contains(&t.slug) && implementing.contains(m.id.as_str()))
            .count() as u64;
        if !on.is_empty() || measures_on > 0 {
            coverage.insert(t.slug.clone(), (on.len() as u64, done, measures_on));
        }
    }
    let year_ok = |y: Option<i64>| {
        y.is_none_or(|y| {
            from.is_none_or(|f| f[..4].parse::<i64>().unwrap() <= y)
                && to.is_none_or(|t| y <= t[..4].parse::<i64>().unwrap())
        })
    };
    let mut good_practices: Vec<String> = f
        .good_practices
        .iter()
        .filter(|g| g.countries.iter().any(|c| states.contains(c.as_str())) && year_ok(g.year))
        .map(|g| g.id.clone())
        .collect();
    good_practices.sort();
    let concerns: Vec<&TrackerRow> = f
        .concerns
        .iter()
        .filter(|c| {
            c.countries.iter().any(|s| states.contains(s.as_str()))
                && in_period(c.reported_on.as_deref().unwrap(), from, to)
        })
        .collect();
    let mut actions: Vec<String> = f
        .actions
        .iter()
        .filter(|a| {
            a.countries.iter().any(|s| states.contains(s.as_str()))
                && in_period(a.start_date.as_deref().unwrap(), from, to)
        })
        .map(|a| a.id.clone())
        .collect();
    actions.sort();
    let mut concerns_by_theme: BTreeMap<String, u64> = BTreeMap::new();
    for c in &concerns {
        for t in &c.themes {
            *concerns_by_theme.entry(t.clone()).or_default() += 1;
        }
    }
    // A theme every concern carries is left out (unless there is only one concern).
    if concerns.len() > 1 {
        concerns_by_theme.retain(|_, n| *n < concerns.len() as u64);
    }
    Expected {
        countries,
        measures: measures.len(),
        recommendations: recommendations.len(),
        supported: supported.len(),
        partially: recommendations
            .iter()
            .filter(|r| r.response == "PARTIALLY_SUPPORTED")
            .count(),
        links,
        by_month,
        coverage,
        good_practices,
        concerns: concerns.iter().map(|c| c.id.clone()).collect(),
        actions,
        concerns_by_theme,
    }
}

fn served(s: &Value) -> Expected {
    let strs = |v: &Value, k: &str| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x[k].as_str().unwrap().to_owned())
            .collect()
    };
    let n = |v: &Value| v.as_u64().unwrap();
    Expected {
        countries: strs(&s["countries"], "code"),
        measures: n(&s["measureCount"]) as usize,
        recommendations: n(&s["recommendationCount"]) as usize,
        supported: n(&s["supportedRecommendationCount"]) as usize,
        partially: n(&s["partiallySupportedRecommendationCount"]) as usize,
        links: s["linksByRelation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["relation"].as_str().unwrap().to_owned(), n(&l["count"])))
            .collect(),
        by_month: s["measuresByMonth"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    (
                        m["month"].as_str().unwrap().to_owned(),
                        m["category"].as_str().unwrap().to_owned(),
                    ),
                    n(&m["count"]),
                )
            })
            .collect(),
        coverage: s["themeCoverage"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["theme"]["slug"].as_str().unwrap().to_owned(),
                    (
                        n(&c["supportedRecommendations"]),
                        n(&c["implementedRecommendations"]),
                        n(&c["implementingMeasures"]),
                    ),
                )
            })
            .collect(),
        good_practices: strs(&s["goodPractices"], "ref"),
        concerns: strs(&s["concerns"], "ref").into_iter().collect(),
        actions: strs(&s["actions"], "ref"),
        concerns_by_theme: s["concernsByTheme"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["theme"]["slug"].as_str().unwrap().to_owned(),
                    n(&t["count"]),
                )
            })
            .collect(),
    }
}

async fn check(
    app: &TestApp,
    region: Option<&str>,
    country: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Value {
    let data = app
        .data(
            FIGURES,
            json!({ "region": region, "country": country, "from": from, "to": to }),
        )
        .await;
    let s = data["snapshot"].clone();
    let expected = brute_force(&app.files, region, country, from, to);
    assert_eq!(
        served(&s),
        expected,
        "snapshot of {region:?}/{country:?} from {from:?} to {to:?}"
    );
    // Orders the page relies on: months ascending, coverage by supported recommendations.
    let months: Vec<&str> = s["measuresByMonth"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["month"].as_str().unwrap())
        .collect();
    assert!(months.windows(2).all(|w| w[0] <= w[1]), "{months:?}");
    let supported: Vec<u64> = s["themeCoverage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["supportedRecommendations"].as_u64().unwrap())
        .collect();
    assert!(supported.windows(2).all(|w| w[0] >= w[1]), "{supported:?}");
    assert_eq!(
        s["regressionCount"].as_u64().unwrap() as usize,
        s["regressions"].as_array().unwrap().len()
    );
    assert_eq!(
        s["concernCount"].as_u64().unwrap() as usize,
        s["concerns"].as_array().unwrap().len()
    );
    assert_eq!(
        s["actionCount"].as_u64().unwrap() as usize,
        s["actions"].as_array().unwrap().len()
    );
    s
}

#[tokio::test]
async fn every_regions_figures_equal_brute_force_over_the_files_with_and_without_a_period() {
    for app in [default_app(), tiny_app()] {
        for region in REGIONS {
            check(app, Some(region), None, None, None).await;
            check(
                app,
                Some(region),
                None,
                Some("2020-03-01"),
                Some("2020-06-30"),
            )
            .await;
            check(app, Some(region), None, Some("2020-07-01"), None).await;
        }
    }
}

#[tokio::test]
async fn a_countrys_figures_equal_brute_force_and_its_regressions_are_its_own_in_the_period() {
    let app = default_app();
    // The States with the most measures and links in the default dataset, and one with none.
    let mut by_measures: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &app.files.measures {
        *by_measures.entry(m.country.as_str()).or_default() += 1;
    }
    let mut busiest: Vec<(&usize, &&str)> = by_measures.iter().map(|(c, n)| (n, c)).collect();
    busiest.sort();
    let mut codes: Vec<String> = busiest
        .iter()
        .rev()
        .take(3)
        .map(|(_, c)| c.to_string())
        .collect();
    codes.extend(
        app.files
            .links
            .iter()
            .take(3)
            .map(|l| app.files.measure(&l.measure).country.clone()),
    );
    for code in &codes {
        let s = check(app, None, Some(code), None, None).await;
        assert_eq!(s["country"]["code"], json!(code));
        assert_eq!(s["region"], Value::Null);
        // Regressions are `Country.regressions`, of this period's measures.
        let q = "query($c: String!) { country(code: $c) { regressions { measure { ref } } } }";
        let all = app.data(q, json!({ "c": code })).await;
        let in_period: Vec<Value> = all["country"]["regressions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["measure"]["ref"].clone())
            .collect();
        let snapshot: Vec<Value> = s["regressions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["measure"]["ref"].clone())
            .collect();
        assert_eq!(snapshot, in_period, "{code}");
        let s = check(
            app,
            None,
            Some(code),
            Some("2020-04-01"),
            Some("2020-04-30"),
        )
        .await;
        assert_eq!(s["from"], json!("2020-04-01"));
    }
}

#[tokio::test]
async fn a_snapshot_needs_exactly_one_of_region_and_country_and_a_period_in_order() {
    let app = tiny_app();
    let cases = [
        (json!({}), "region"),
        (json!({ "region": "AFRICAN", "country": "KEN" }), "country"),
        (json!({ "country": "XXX" }), "country"),
        (json!({ "country": "not a code" }), "country"),
        (
            json!({ "region": "AFRICAN", "from": "2021-01-01", "to": "2020-01-01" }),
            "from",
        ),
    ];
    for (vars, argument) in cases {
        let errors = app.errors(FIGURES, vars.clone()).await;
        assert_bad_input(&errors, argument);
    }
}

// ---------------------------------------------------------------------------------------------
// The printable page.

async fn page(app: &TestApp, path: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let r = app.get(path).await;
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.text().await.unwrap(), headers)
}

fn text_of(html: &str) -> String {
    // Tags out, so figures can be found as words.
    let mut out = String::new();
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => inside = true,
            '>' => {
                inside = false;
                out.push(' ');
            }
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn a_region_page_is_two_self_contained_pages_with_the_figures_and_accessible_charts() {
    let app = default_app();
    for region in REGIONS {
        let (status, html, headers) = page(app, &format!("/snapshots/regions/{region}")).await;
        assert_eq!(status, 200, "{html}");
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert_eq!(html.matches("<section class=\"page\"").count(), 2);
        assert!(html.contains("@page { size: A4"));
        // No script, and nothing fetched from anywhere: no src, no link to a stylesheet.
        assert!(!html.contains("<script"));
        assert!(!html.contains(" src="));
        assert!(!html.contains("rel=\"stylesheet\""));
        // Every chart is an SVG image with a title and a description.
        let charts = html.matches("<svg").count();
        assert!(charts >= 3, "{charts} charts");
        assert_eq!(html.matches("role=\"img\"").count(), charts);
        assert_eq!(html.matches("<title id=").count(), charts);
        assert_eq!(html.matches("<desc id=").count(), charts);
        // The key figures are the API's.
        let e = brute_force(&app.files, Some(region), None, None, None);
        let words = text_of(&html);
        for (n, label) in [
            (e.concerns.len(), "issues of concern reported"),
            (e.measures, "COVID-19 measures taken"),
            (e.actions.len(), "UN Human Rights actions"),
            (e.recommendations, "UPR recommendations received"),
        ] {
            assert!(
                words.contains(&format!("{n} {label}")),
                "{region}: `{n} {label}` missing in {words:.600}"
            );
        }
    }
}

#[tokio::test]
async fn a_country_page_takes_a_period_and_the_index_lists_every_region_and_country() {
    let app = default_app();
    let (status, html, _) = page(
        app,
        "/snapshots/countries/UKR?from=2020-03-01&to=2020-12-31",
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Ukraine"));
    assert!(html.contains("2020-03-01 to 2020-12-31"));
    let e = brute_force(
        &app.files,
        None,
        Some("UKR"),
        Some("2020-03-01"),
        Some("2020-12-31"),
    );
    assert!(text_of(&html).contains(&format!("{} COVID-19 measures taken", e.measures)));

    let (status, index, _) = page(app, "/snapshots").await;
    assert_eq!(status, 200);
    for region in REGIONS {
        assert!(
            index.contains(&format!("href=\"/snapshots/regions/{region}\"")),
            "{region}"
        );
    }
    for c in app
        .files
        .countries
        .iter()
        .filter(|c| c.un_regional_group.is_some())
    {
        assert!(
            index.contains(&format!("href=\"/snapshots/countries/{}\"", c.code)),
            "{}",
            c.code
        );
    }
    // GraphiQL's page links to the index.
    let (_, graphiql, _) = page(app, "/").await;
    assert!(graphiql.contains("href=\"/snapshots\""));
}

#[tokio::test]
async fn the_page_refuses_an_unknown_region_or_country_and_a_bad_period_saying_why() {
    let app = tiny_app();
    for (path, status, words) in [
        ("/snapshots/regions/NORDIC", 404, "no UN regional group"),
        ("/snapshots/countries/XXX", 404, "no country"),
        ("/snapshots/countries/ukraine", 404, "no country"),
        ("/snapshots/regions/AFRICAN?from=2020-13-01", 400, "`from`"),
        (
            "/snapshots/regions/AFRICAN?from=2021-01-01&to=2020-01-01",
            400,
            "after",
        ),
    ] {
        let (got, body, _) = page(app, path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body.contains(words), "{path}: {body}");
    }
}
