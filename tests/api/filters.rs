//! Every filter field against brute force over the dataset files: on the tiny dataset
//! exhaustively (each value alone, lists, combinations), on the default dataset by spot checks.
//! Each check compares `totalCount` and the full ordered list of keys (all pages of 500).

use serde_json::{json, Value};

use crate::brute;
use crate::helpers::*;

/// Asserts the connection under `filter` holds exactly `expected`, in that order.
async fn check(app: &TestApp, conn: (&str, &str, &str), filter: Value, expected: Vec<String>) {
    let got = walk(
        app,
        &root_walk_query(conn),
        json!({ "filter": filter }),
        &["c"],
        500,
        Direction::Forward,
    )
    .await;
    let keys = keys(&got.nodes);
    if keys != expected {
        let missing: Vec<&String> = expected
            .iter()
            .filter(|k| !keys.contains(k))
            .take(5)
            .collect();
        let extra: Vec<&String> = keys
            .iter()
            .filter(|k| !expected.contains(k))
            .take(5)
            .collect();
        panic!(
            "{} with filter {filter}: got {} (totalCount {}), expected {}; missing {missing:?}, unexpected {extra:?}",
            conn.0,
            keys.len(),
            got.total_count,
            expected.len()
        );
    }
    assert_eq!(
        got.total_count as usize,
        expected.len(),
        "{} totalCount with {filter}",
        conn.0
    );
}

fn distinct<I: IntoIterator<Item = String>>(it: I) -> Vec<String> {
    sorted(it.into_iter().collect::<std::collections::BTreeSet<_>>())
}

const GROUPS: [&str; 5] = [
    "AFRICAN",
    "ASIA_PACIFIC",
    "EASTERN_EUROPEAN",
    "LATIN_AMERICAN_CARIBBEAN",
    "WESTERN_EUROPEAN_OTHERS",
];

/// Filters that set one field at a time to each of its values (or a sample), then lists.
fn single_field_recommendation_filters(f: &Files) -> Vec<Value> {
    let mut out = vec![];
    let countries = distinct(
        f.recommendations
            .iter()
            .map(|r| r.state_under_review.clone()),
    );
    for c in &countries {
        out.push(json!({ "stateUnderReview": [c] }));
    }
    out.push(json!({ "stateUnderReview": [countries[0], countries[3], countries[7]] }));
    let recommending = distinct(
        f.recommendations
            .iter()
            .flat_map(|r| r.recommending_states.clone()),
    );
    for c in recommending.iter().step_by(4) {
        out.push(json!({ "recommendingState": [c] }));
    }
    out.push(json!({ "recommendingState": [recommending[1], recommending[2]] }));
    for g in GROUPS {
        out.push(json!({ "unRegionalGroup": [g] }));
        out.push(json!({ "recommendingRegionalGroup": [g] }));
    }
    out.push(json!({ "unRegionalGroup": ["AFRICAN", "EASTERN_EUROPEAN"] }));
    out.push(json!({ "recommendingRegionalGroup": ["ASIA_PACIFIC", "WESTERN_EUROPEAN_OTHERS"] }));
    for c in &f.cycles {
        out.push(json!({ "cycle": [c.number] }));
    }
    out.push(json!({ "cycle": [1] }));
    out.push(json!({ "cycle": [1, 2, 3, 4] }));
    for s in &f.sessions {
        out.push(json!({ "session": [s.number] }));
    }
    out.push(json!({ "session": [f.sessions[0].number, f.sessions[f.sessions.len() - 1].number] }));
    for r in ["SUPPORTED", "NOTED", "PENDING"] {
        out.push(json!({ "response": [r] }));
    }
    out.push(json!({ "response": ["NOTED", "PENDING"] }));
    for a in 1..=5 {
        out.push(json!({ "actionCategory": [a] }));
    }
    out.push(json!({ "actionCategory": [1, 5] }));
    let themes = distinct(f.recommendations.iter().flat_map(|r| r.themes.clone()));
    for t in themes.iter().step_by(5) {
        out.push(json!({ "theme": [t] }));
    }
    out.push(json!({ "theme": [themes[0], themes[themes.len() / 2]] }));
    // A theme of the taxonomy that no recommendation has, if any: an empty result.
    if let Some(t) = f.themes.iter().find(|t| !themes.contains(&t.slug)) {
        out.push(json!({ "theme": [t.slug] }));
    }
    let groups = distinct(f.recommendations.iter().flat_map(|r| r.groups.clone()));
    for g in groups.iter().step_by(5) {
        out.push(json!({ "group": [g] }));
    }
    out.push(json!({ "group": [groups[1], groups[2]] }));
    for s in 1..=17 {
        out.push(json!({ "sdg": [s] }));
    }
    out.push(json!({ "sdg": [5, 16] }));
    for t in [
        "guarantee",
        "covid",
        "moratorium executions",
        "asylum",
        "Sustainable Development",
    ] {
        out.push(json!({ "text": t }));
    }
    out.push(json!({ "linked": true }));
    out.push(json!({ "linked": false }));
    // Empty lists and nulls do not filter.
    out.push(json!({}));
    out.push(json!({ "theme": [], "stateUnderReview": [], "sdg": [], "response": [] }));
    out.push(json!({ "theme": null, "text": null, "linked": null }));
    out
}

/// Random combinations of 2 to 4 fields.
fn combined_recommendation_filters(f: &Files, n: usize, seed: u64) -> Vec<Value> {
    let mut rng = Rng(seed);
    let countries = distinct(
        f.recommendations
            .iter()
            .map(|r| r.state_under_review.clone()),
    );
    let recommending = distinct(
        f.recommendations
            .iter()
            .flat_map(|r| r.recommending_states.clone()),
    );
    let themes = distinct(f.recommendations.iter().flat_map(|r| r.themes.clone()));
    let groups = distinct(f.recommendations.iter().flat_map(|r| r.groups.clone()));
    let sessions: Vec<i64> = f.sessions.iter().map(|s| s.number).collect();
    let cycles: Vec<i64> = f.cycles.iter().map(|c| c.number).collect();
    let words = [
        "guarantee",
        "persons",
        "covid",
        "access",
        "rights",
        "pandemic",
        "civil society",
    ];
    let mut out = vec![];
    while out.len() < n {
        let mut filter = serde_json::Map::new();
        let fields = 2 + rng.below(3);
        for _ in 0..fields {
            let (k, v) = match rng.below(13) {
                0 => ("stateUnderReview", json!(rng.some(&countries, 4))),
                1 => ("recommendingState", json!(rng.some(&recommending, 4))),
                2 => ("unRegionalGroup", json!(rng.some(&GROUPS, 2))),
                3 => ("recommendingRegionalGroup", json!(rng.some(&GROUPS, 2))),
                4 => ("cycle", json!(rng.some(&cycles, 2))),
                5 => ("session", json!(rng.some(&sessions, 4))),
                6 => (
                    "response",
                    json!(rng.some(&["SUPPORTED", "NOTED", "PENDING"], 2)),
                ),
                7 => ("actionCategory", json!(rng.some(&[1, 2, 3, 4, 5], 3))),
                8 => ("theme", json!(rng.some(&themes, 3))),
                9 => ("group", json!(rng.some(&groups, 3))),
                10 => ("sdg", json!(rng.some(&(1..=17).collect::<Vec<_>>(), 3))),
                11 => ("text", json!(words[rng.below(words.len())])),
                _ => ("linked", json!(rng.chance(50))),
            };
            filter.insert(k.into(), v);
        }
        out.push(Value::Object(filter));
    }
    out
}

#[tokio::test]
async fn recommendation_filter_each_field_matches_brute_force_on_tiny() {
    let app = tiny_app();
    let f = &app.files;
    let mut nonempty = 0;
    for filter in single_field_recommendation_filters(f) {
        let expected = brute::recommendation_refs(f, &filter);
        nonempty += usize::from(!expected.is_empty());
        check(app, RECOMMENDATIONS, filter, expected).await;
    }
    assert!(nonempty > 50, "the filters select something");
}

#[tokio::test]
async fn recommendation_filter_combinations_match_brute_force_on_tiny() {
    let app = tiny_app();
    let f = &app.files;
    let mut nonempty = 0;
    for filter in combined_recommendation_filters(f, 80, 0x5eed_1234) {
        let expected = brute::recommendation_refs(f, &filter);
        nonempty += usize::from(!expected.is_empty());
        check(app, RECOMMENDATIONS, filter, expected).await;
    }
    // Plus hand-made ones where AND and OR both matter.
    for filter in [
        json!({ "response": ["SUPPORTED", "NOTED"], "actionCategory": [4, 5], "linked": true }),
        json!({ "unRegionalGroup": ["AFRICAN"], "recommendingRegionalGroup": ["AFRICAN"] }),
        json!({ "text": "covid pandemic", "theme": ["covid-19", "poverty"] }),
        json!({ "cycle": [3], "session": [f.sessions[2].number], "linked": false }),
    ] {
        let expected = brute::recommendation_refs(f, &filter);
        nonempty += usize::from(!expected.is_empty());
        check(app, RECOMMENDATIONS, filter, expected).await;
    }
    assert!(
        nonempty > 20,
        "the combinations select something ({nonempty})"
    );
}

#[tokio::test]
async fn recommendation_text_filter_stems_every_word() {
    let app = tiny_app();
    let f = &app.files;
    for words in [
        "guarantee",
        "guaranteed guarantees",
        "executions moratorium",
        "Defenders",
        "allocating resources",
    ] {
        let filter = json!({ "text": words });
        let got = walk(
            app,
            &root_walk_query(("recommendations", "RecommendationFilter", "ref text")),
            json!({ "filter": filter }),
            &["c"],
            500,
            Direction::Forward,
        )
        .await;
        // Each returned text holds each word's stem as a case-insensitive substring.
        for n in &got.nodes {
            let text = n["text"].as_str().unwrap().to_lowercase();
            for stem in stems(words) {
                assert!(
                    text.contains(&stem),
                    "{} lacks {stem:?} ({words})",
                    n["ref"]
                );
            }
        }
        // At least every text holding all words whole; exactly what stemming finds.
        let whole = f
            .recommendations
            .iter()
            .filter(|r| whole_words(&r.text, words))
            .count();
        assert!(
            got.total_count as usize >= whole,
            "{words}: {} < {whole}",
            got.total_count
        );
        assert_eq!(
            keys(&got.nodes),
            brute::recommendation_refs(f, &filter),
            "{words}"
        );
        assert!(got.total_count > 0, "{words} finds something");
    }
    // A word where stemming does not matter: the count is the whole-word count.
    let d = default_app();
    let whole = d
        .files
        .recommendations
        .iter()
        .filter(|r| whole_words(&r.text, "torture"))
        .count();
    let stemmed = d
        .files
        .recommendations
        .iter()
        .filter(|r| text_matches(&r.text, "torture"))
        .count();
    let got = d
        .data(
            "query($f: RecommendationFilter) { recommendations(filter: $f) { totalCount } }",
            json!({ "f": { "text": "torture" } }),
        )
        .await;
    assert_eq!(
        got["recommendations"]["totalCount"].as_u64().unwrap() as usize,
        stemmed
    );
    assert!(whole > 100 && stemmed >= whole);
    // Stemming conflates inflections: "violations" finds "violation", "women" finds "women's".
    for (query, word) in [("violations", "violation"), ("rights", "right")] {
        let whole = d
            .files
            .recommendations
            .iter()
            .filter(|r| whole_words(&r.text, word))
            .count();
        let got = d
            .data(
                "query($f: RecommendationFilter) { recommendations(filter: $f) { totalCount } }",
                json!({ "f": { "text": query } }),
            )
            .await;
        assert!(
            got["recommendations"]["totalCount"].as_u64().unwrap() as usize >= whole,
            "{query} finds {word}"
        );
    }
}

/// The schema documents `RecommendationFilter.text` with the example '"violations" finds
/// "violation"': English stemming puts both on one stem, so either word finds both.
#[tokio::test]
async fn recommendation_text_filter_violations_finds_violation_as_documented() {
    let d = default_app();
    let either = d
        .files
        .recommendations
        .iter()
        .filter(|r| whole_words(&r.text, "violation") || whole_words(&r.text, "violations"))
        .count();
    assert!(
        either > 0,
        "the default dataset has texts with \"violation\""
    );
    for word in ["violation", "violations"] {
        let got = d
            .data(
                "query($f: RecommendationFilter) { recommendations(filter: $f) { totalCount } }",
                json!({ "f": { "text": word } }),
            )
            .await;
        let n = got["recommendations"]["totalCount"].as_u64().unwrap() as usize;
        assert!(
            n >= either,
            "{word:?} finds {n} recommendations, but {either} contain \"violation\" or \"violations\""
        );
    }
}

#[tokio::test]
async fn recommendation_filters_spot_checks_on_default() {
    let app = default_app();
    let f = &app.files;
    let linked_session = f.recommendation(&f.links[0].recommendation).session;
    for filter in [
        json!({ "stateUnderReview": ["UKR"] }),
        json!({ "stateUnderReview": ["HND", "LBY"], "response": ["NOTED"] }),
        json!({ "recommendingState": ["FRA"], "cycle": [2] }),
        json!({ "cycle": [3, 4] }),
        json!({ "unRegionalGroup": ["EASTERN_EUROPEAN"], "session": [linked_session] }),
        json!({ "recommendingRegionalGroup": ["LATIN_AMERICAN_CARIBBEAN"], "theme": ["torture-and-other-cid-treatment"] }),
        json!({ "cycle": [1], "actionCategory": [1] }),
        json!({ "group": ["older-persons"], "sdg": [3] }),
        json!({ "text": "torture", "stateUnderReview": ["USA", "MEX", "BRA"] }),
        json!({ "text": "domestic violence", "cycle": [2] }),
        json!({ "linked": true }),
        json!({ "linked": false, "stateUnderReview": ["HND"] }),
    ] {
        let expected = brute::recommendation_refs(f, &filter);
        assert!(
            !expected.is_empty() || filter["cycle"] == json!([3, 4]),
            "{filter} selects something"
        );
        check(app, RECOMMENDATIONS, filter, expected).await;
    }
}

#[tokio::test]
async fn unfiltered_default_lists_are_complete_and_in_key_order() {
    let app = default_app();
    let f = &app.files;
    check(
        app,
        RECOMMENDATIONS,
        json!(null),
        sorted(f.recommendations.iter().map(|r| r.id.clone())),
    )
    .await;
    check(
        app,
        MEASURES,
        json!(null),
        sorted(f.measures.iter().map(|r| r.id.clone())),
    )
    .await;
    check(
        app,
        GOOD_PRACTICES,
        json!(null),
        sorted(f.good_practices.iter().map(|r| r.id.clone())),
    )
    .await;
    check(app, LINKS, json!(null), brute::link_keys(f, &json!({}))).await;
    check(
        app,
        COUNTRIES,
        json!(null),
        sorted(f.countries.iter().map(|c| c.code.clone())),
    )
    .await;
}

#[tokio::test]
async fn measure_filters_match_brute_force_on_tiny() {
    let app = tiny_app();
    let f = &app.files;
    let countries = distinct(f.measures.iter().map(|m| m.country.clone()));
    let categories = distinct(f.measures.iter().map(|m| m.category.clone()));
    let themes = distinct(f.measures.iter().flat_map(|m| m.themes.clone()));
    let groups = distinct(f.measures.iter().flat_map(|m| m.groups.clone()));
    // Dates at, just before and just after some start and end dates.
    let mut dates: Vec<String> = vec![
        "2019-12-31".into(),
        "2020-01-01".into(),
        "2021-06-30".into(),
        "2030-01-01".into(),
    ];
    for m in f.measures.iter().step_by(17) {
        dates.push(m.start_date.clone());
        if let Some(e) = &m.end_date {
            dates.push(e.clone());
        }
    }
    let mut filters = vec![];
    for c in &countries {
        filters.push(json!({ "country": [c] }));
    }
    filters.push(json!({ "country": [countries[0], countries[5]] }));
    for g in GROUPS {
        filters.push(json!({ "unRegionalGroup": [g] }));
    }
    for c in &categories {
        filters.push(json!({ "category": [c] }));
    }
    filters.push(json!({ "category": [categories[0], categories[2]] }));
    for t in themes.iter().step_by(3) {
        filters.push(json!({ "theme": [t] }));
    }
    for g in groups.iter().step_by(4) {
        filters.push(json!({ "group": [g] }));
    }
    for s in [1, 3, 4, 5, 10, 16, 17] {
        filters.push(json!({ "sdg": [s] }));
    }
    for d in &dates {
        filters.push(json!({ "activeOn": d }));
        filters.push(json!({ "startedFrom": d }));
        filters.push(json!({ "startedTo": d }));
    }
    filters.push(json!({ "startedFrom": "2020-06-01", "startedTo": "2021-05-31" }));
    filters.push(json!({ "startedFrom": "2021-01-01", "startedTo": "2021-01-01" }));
    for t in [
        "introduced",
        "free vaccination",
        "wage subsidy",
        "emergency",
    ] {
        filters.push(json!({ "text": t }));
    }
    filters.push(json!({ "linked": true }));
    filters.push(json!({ "linked": false }));
    filters.push(json!({ "category": [], "country": [] }));
    let mut rng = Rng(0xfeed_beef);
    for _ in 0..40 {
        let mut filter = serde_json::Map::new();
        for _ in 0..2 + rng.below(3) {
            let (k, v) = match rng.below(10) {
                0 => ("country", json!(rng.some(&countries, 4))),
                1 => ("unRegionalGroup", json!(rng.some(&GROUPS, 2))),
                2 => ("category", json!(rng.some(&categories, 4))),
                3 => ("theme", json!(rng.some(&themes, 3))),
                4 => ("group", json!(rng.some(&groups, 3))),
                5 => ("sdg", json!(rng.some(&(1..=17).collect::<Vec<_>>(), 4))),
                6 => ("activeOn", json!(dates[rng.below(dates.len())])),
                7 => ("startedFrom", json!("2020-09-01")),
                8 => (
                    "text",
                    json!(["introduced", "targeting persons", "force"][rng.below(3)]),
                ),
                _ => ("linked", json!(rng.chance(50))),
            };
            filter.insert(k.into(), v);
        }
        filters.push(Value::Object(filter));
    }
    let mut nonempty = 0;
    for filter in filters {
        let expected = brute::measure_refs(f, &filter);
        nonempty += usize::from(!expected.is_empty());
        check(app, MEASURES, filter, expected).await;
    }
    assert!(nonempty > 60, "the filters select something ({nonempty})");
}

#[tokio::test]
async fn measure_filters_spot_checks_on_default() {
    let app = default_app();
    let f = &app.files;
    for filter in [
        json!({ "country": ["UKR"] }),
        json!({ "country": ["HND", "SEN"], "linked": true }),
        json!({ "unRegionalGroup": ["AFRICAN"], "category": ["DETENTION"] }),
        json!({ "category": ["HEALTH"], "activeOn": "2020-04-01", "country": ["FRA", "DEU", "ITA"] }),
        json!({ "theme": ["freedom-of-movement"], "startedFrom": "2020-05-01", "startedTo": "2020-06-30" }),
        json!({ "activeOn": "2020-12-31", "category": ["MOVEMENT"] }),
        json!({ "text": "lockdown", "country": ["NZL", "AUS"] }),
        json!({ "sdg": [4], "group": ["children"] }),
    ] {
        let expected = brute::measure_refs(f, &filter);
        assert!(!expected.is_empty(), "{filter} selects something");
        check(app, MEASURES, filter, expected).await;
    }
}

#[tokio::test]
async fn good_practice_filters_match_brute_force() {
    for app in [tiny_app(), default_app()] {
        let f = &app.files;
        let mut filters = vec![json!({})];
        for c in distinct(f.good_practices.iter().flat_map(|g| g.countries.clone())) {
            filters.push(json!({ "country": [c] }));
        }
        for t in distinct(f.good_practices.iter().flat_map(|g| g.themes.clone())) {
            filters.push(json!({ "theme": [t] }));
        }
        for g in distinct(f.good_practices.iter().flat_map(|g| g.groups.clone())) {
            filters.push(json!({ "group": [g] }));
        }
        for s in 1..=17 {
            filters.push(json!({ "sdg": [s] }));
        }
        for y in distinct(
            f.good_practices
                .iter()
                .filter_map(|g| g.year.map(|y| y.to_string())),
        ) {
            filters.push(json!({ "year": [y.parse::<i64>().unwrap()] }));
        }
        filters.push(json!({ "year": [2020, 2022] }));
        filters.push(json!({ "year": [1999] }));
        for t in ["pandemic", "covid", "detainees released", "vaccination"] {
            filters.push(json!({ "text": t }));
        }
        filters.push(json!({ "theme": ["covid-19"], "sdg": [16], "year": [2020, 2021] }));
        let some: Vec<String> = f
            .good_practices
            .iter()
            .take(3)
            .map(|g| g.countries[0].clone())
            .collect();
        filters.push(json!({ "country": some, "text": "pandemic" }));
        let mut nonempty = 0;
        for filter in filters {
            let expected = brute::good_practice_refs(f, &filter);
            nonempty += usize::from(!expected.is_empty());
            check(app, GOOD_PRACTICES, filter, expected).await;
        }
        assert!(nonempty > 10);
    }
}

#[tokio::test]
async fn link_filters_match_brute_force() {
    for app in [tiny_app(), default_app()] {
        let f = &app.files;
        let mut filters = vec![json!({})];
        for r in [
            "IMPLEMENTS",
            "PARTIALLY_IMPLEMENTS",
            "RELATED",
            "CONTRADICTS",
        ] {
            filters.push(json!({ "relation": [r] }));
        }
        filters.push(json!({ "relation": ["IMPLEMENTS", "CONTRADICTS"] }));
        for s in ["CONFIRMED", "SUGGESTED", "REJECTED"] {
            filters.push(json!({ "status": [s] }));
        }
        filters.push(json!({ "status": ["SUGGESTED", "REJECTED"] }));
        let mut countries: Vec<String> = distinct(f.links.iter().flat_map(|l| {
            [
                f.recommendation(&l.recommendation)
                    .state_under_review
                    .clone(),
                f.measure(&l.measure).country.clone(),
            ]
        }));
        countries.truncate(12);
        for c in &countries {
            filters.push(json!({ "country": [c] }));
        }
        filters.push(json!({ "country": [countries[0], countries[1], countries[2]] }));
        for a in distinct(f.links.iter().filter_map(|l| l.created_by.clone())) {
            filters.push(json!({ "createdBy": [a] }));
        }
        filters.push(json!({ "createdBy": ["nobody"] }));
        filters.push(json!({ "relation": ["IMPLEMENTS"], "status": ["CONFIRMED"], "createdBy": ["upr-info", "civil-society", "example-curation"] }));
        filters.push(json!({ "country": [countries[3]], "status": ["CONFIRMED", "SUGGESTED"] }));
        let mut nonempty = 0;
        for filter in filters {
            let expected = brute::link_keys(f, &filter);
            nonempty += usize::from(!expected.is_empty());
            check(app, LINKS, filter, expected).await;
        }
        assert!(nonempty > 10);
    }
}

#[tokio::test]
async fn link_country_filter_counts_either_end() {
    // The generated datasets link recommendations only to measures of the same State: add links
    // across States to a tiny dataset, so the filter must find each by either State.
    let dir = tiny_dir();
    let f = Files::read(dir.path());
    let mut extra = String::new();
    for (r, m) in f
        .recommendations
        .iter()
        .step_by(101)
        .zip(f.measures.iter().step_by(13).skip(1))
    {
        if r.state_under_review == m.country
            || f.links
                .iter()
                .any(|l| l.recommendation == r.id && l.measure == m.id)
        {
            continue;
        }
        extra.push_str(&format!(
            "{}\n",
            json!({ "recommendation": r.id, "measure": m.id, "relation": "RELATED", "status": "SUGGESTED",
                    "note": "across States", "evidence_url": null, "created_by": "api-test", "created_at": "2021-01-01T00:00:00Z" })
        ));
    }
    assert!(extra.lines().count() >= 3);
    let path = dir.path().join("links.jsonl");
    let mut links = std::fs::read_to_string(&path).unwrap();
    links.push_str(&extra);
    std::fs::write(&path, links).unwrap();
    let app = spawn_folder(dir.path()).await;
    let f = &app.files;
    let across: Vec<&LinkRow> = f
        .links
        .iter()
        .filter(|l| l.created_by.as_deref() == Some("api-test"))
        .collect();
    for l in &across {
        let key = format!("{}\t{}", l.recommendation, l.measure);
        let sur = &f.recommendation(&l.recommendation).state_under_review;
        let of = &f.measure(&l.measure).country;
        for c in [sur, of] {
            let filter = json!({ "country": [c] });
            let got = filtered_keys(&app, LINKS, &filter).await;
            assert!(got.contains(&key), "filter.country {c} misses {key}");
            assert_eq!(got, brute::link_keys(f, &filter), "{filter}");
        }
    }
    for filter in [
        json!({ "createdBy": ["api-test"] }),
        json!({ "createdBy": ["api-test"], "country": [f.countries[0].code] }),
    ] {
        let expected = brute::link_keys(f, &filter);
        check(&app, LINKS, filter, expected).await;
    }
}

#[tokio::test]
async fn country_filters_match_brute_force() {
    let app = default_app();
    let f = &app.files;
    let mut filters = vec![json!({})];
    for g in GROUPS {
        filters.push(json!({ "unRegionalGroup": [g] }));
    }
    filters.push(json!({ "unRegionalGroup": ["AFRICAN", "WESTERN_EUROPEAN_OTHERS"] }));
    for r in [
        "Africa", "Americas", "Asia", "Europe", "Oceania", "Atlantis",
    ] {
        filters.push(json!({ "region": [r] }));
    }
    filters.push(json!({ "region": ["Asia", "Oceania"], "unRegionalGroup": ["ASIA_PACIFIC"] }));
    for n in [
        "united",
        "UNITED",
        "Guinea",
        "land",
        "ia",
        "zzz",
        "ô",
        "Republic of",
    ] {
        filters.push(json!({ "nameContains": n }));
    }
    filters.push(json!({ "nameContains": "an", "region": ["Europe"], "unRegionalGroup": ["EASTERN_EUROPEAN"] }));
    for filter in filters {
        let expected = brute::country_codes(f, &filter);
        check(app, COUNTRIES, filter, expected).await;
    }
    // The tiny dataset has its own 24 countries.
    let tiny = tiny_app();
    check(
        tiny,
        COUNTRIES,
        json!({ "region": ["Africa"] }),
        brute::country_codes(&tiny.files, &json!({ "region": ["Africa"] })),
    )
    .await;
    check(
        tiny,
        COUNTRIES,
        json!({}),
        brute::country_codes(&tiny.files, &json!({})),
    )
    .await;
}
