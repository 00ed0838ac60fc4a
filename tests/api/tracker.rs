//! Concerns and actions over the tiny generated dataset: filters, facets, relations,
//! pagination, `node` and `search`, each checked against a brute-force reading of the
//! dataset files.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::helpers::*;

#[derive(Debug, Clone, Deserialize)]
struct ConcernRow {
    id: String,
    countries: Vec<String>,
    title: String,
    description: String,
    kind: String,
    severity: String,
    reported_on: String,
    themes: Vec<String>,
    groups: Vec<String>,
    sdgs: Vec<i64>,
    measures: Vec<String>,
    recommendations: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct ActionRow {
    id: String,
    countries: Vec<String>,
    kind: String,
    start_date: String,
    themes: Vec<String>,
    groups: Vec<String>,
    sdgs: Vec<i64>,
    concerns: Vec<String>,
    measures: Vec<String>,
    recommendations: Vec<String>,
}

struct Tracker {
    concerns: Vec<ConcernRow>,
    actions: Vec<ActionRow>,
}

/// The concerns and actions of the tiny dataset the shared tiny server imported (the
/// generator is deterministic, so a second generation gives the same files).
fn tracker() -> &'static Tracker {
    static T: OnceLock<Tracker> = OnceLock::new();
    T.get_or_init(|| {
        let dir = tiny_dir();
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        let parse = |text: String| -> Vec<Value> {
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        Tracker {
            concerns: parse(read("concerns.jsonl"))
                .into_iter()
                .map(|v| serde_json::from_value(v).unwrap())
                .collect(),
            actions: parse(read("actions.jsonl"))
                .into_iter()
                .map(|v| serde_json::from_value(v).unwrap())
                .collect(),
        }
    })
}

/// The brute-force side of a filter: whether a record of the file passes it.
type Predicate<T> = Box<dyn Fn(&T) -> bool>;

const CONCERNS: (&str, &str, &str) = ("concerns", "ConcernFilter", "ref");
const ACTIONS: (&str, &str, &str) = ("actions", "ActionFilter", "ref");

fn region_of<'a>(files: &'a Files, code: &str) -> Option<&'a str> {
    files.group_of.get(code).and_then(|g| g.as_deref())
}

/// The most common value of a list field, for filters that select something.
fn most_common<'a>(values: impl Iterator<Item = &'a String>) -> String {
    let counts = count(values.cloned());
    counts
        .into_iter()
        .max_by_key(|(v, n)| (*n, std::cmp::Reverse(v.clone())))
        .map(|(v, _)| v)
        .expect("a value")
}

#[tokio::test]
async fn the_generated_dataset_has_concerns_and_actions_that_relate() {
    let t = tracker();
    // Arrange/assert on the fixture itself: the checks below must have something to check.
    assert_eq!(t.concerns.len(), 385);
    assert_eq!(t.actions.len(), 131);
    assert!(t.concerns.iter().any(|c| !c.measures.is_empty()));
    assert!(t.concerns.iter().any(|c| !c.recommendations.is_empty()));
    assert!(t.concerns.iter().any(|c| c.countries.len() > 1));
    assert!(t.actions.iter().any(|a| !a.concerns.is_empty()));
    assert!(t.actions.iter().any(|a| !a.measures.is_empty()));
}

#[tokio::test]
async fn concern_filters_and_facets_equal_brute_force_counts() {
    let app = tiny_app();
    let t = tracker();
    let country = most_common(t.concerns.iter().flat_map(|c| &c.countries));
    let theme = most_common(t.concerns.iter().flat_map(|c| &c.themes));
    let group = most_common(t.concerns.iter().flat_map(|c| &c.groups));
    let region = region_of(&app.files, &country)
        .unwrap_or("AFRICAN")
        .to_owned();
    let filters: Vec<(Value, Predicate<ConcernRow>)> = vec![
        (json!({}), Box::new(|_| true)),
        (
            json!({ "kind": ["TREND", "RISK"] }),
            Box::new(|c| c.kind != "EARLY_WARNING"),
        ),
        (
            json!({ "severity": "HIGH", "country": [country.clone()] }),
            Box::new({
                let country = country.clone();
                move |c| c.severity == "HIGH" && c.countries.contains(&country)
            }),
        ),
        (
            json!({ "theme": [theme.clone()], "group": [group.clone()] }),
            Box::new({
                let (theme, group) = (theme.clone(), group.clone());
                move |c| c.themes.contains(&theme) && c.groups.contains(&group)
            }),
        ),
        (
            json!({ "sdg": [16, 3] }),
            Box::new(|c| c.sdgs.contains(&16) || c.sdgs.contains(&3)),
        ),
        (
            json!({ "reportedFrom": "2020-06-01", "reportedTo": "2020-09-30" }),
            Box::new(|c| {
                c.reported_on.as_str() >= "2020-06-01" && c.reported_on.as_str() <= "2020-09-30"
            }),
        ),
        (
            json!({ "unRegionalGroup": [region.clone()] }),
            Box::new({
                let files = app.files.clone();
                let region = region.clone();
                move |c| {
                    c.countries
                        .iter()
                        .any(|k| region_of(&files, k) == Some(region.as_str()))
                }
            }),
        ),
    ];
    let q = "query($filter: ConcernFilter) { concerns(filter: $filter, first: 0) {
        totalCount facets { kind { value count } severity { value count } theme { value count }
          group { value count } country { value count } unRegionalGroup { value count }
          month { value count } } } }";
    for (filter, passes) in filters {
        let expected: Vec<&ConcernRow> = t.concerns.iter().filter(|c| passes(c)).collect();
        assert!(
            !expected.is_empty(),
            "{filter} selects nothing: a weak test"
        );

        let data = app.data(q, json!({ "filter": filter })).await;

        let c = &data["concerns"];
        assert_eq!(c["totalCount"], expected.len() as u64, "{filter}");
        let f = &c["facets"];
        assert_eq!(
            facet_map(&f["kind"]),
            count(expected.iter().map(|c| c.kind.clone())),
            "{filter} kind"
        );
        assert_eq!(
            facet_map(&f["severity"]),
            count(expected.iter().map(|c| c.severity.clone())),
            "{filter} severity"
        );
        assert_eq!(
            facet_map(&f["theme"]),
            count(expected.iter().flat_map(|c| c.themes.clone())),
            "{filter} theme"
        );
        assert_eq!(
            facet_map(&f["group"]),
            count(expected.iter().flat_map(|c| c.groups.clone())),
            "{filter} group"
        );
        assert_eq!(
            facet_map(&f["country"]),
            count(expected.iter().flat_map(|c| c.countries.clone())),
            "{filter} country"
        );
        let regions = expected.iter().flat_map(|c| {
            c.countries
                .iter()
                .filter_map(|k| region_of(&app.files, k).map(str::to_owned))
                .collect::<BTreeSet<_>>()
        });
        assert_eq!(
            facet_map(&f["unRegionalGroup"]),
            count(regions),
            "{filter} region"
        );
        assert_eq!(
            facet_map(&f["month"]),
            count(expected.iter().map(|c| c.reported_on[..7].to_owned())),
            "{filter} month"
        );
    }
}

#[tokio::test]
async fn action_filters_and_facets_equal_brute_force_counts() {
    let app = tiny_app();
    let t = tracker();
    let country = most_common(t.actions.iter().flat_map(|a| &a.countries));
    let theme = most_common(t.actions.iter().flat_map(|a| &a.themes));
    let filters: Vec<(Value, Predicate<ActionRow>)> = vec![
        (json!({}), Box::new(|_| true)),
        (
            json!({ "kind": "MONITORING_AND_REPORTING" }),
            Box::new(|a| a.kind == "MONITORING_AND_REPORTING"),
        ),
        (
            json!({ "country": [country.clone()] }),
            Box::new({
                let country = country.clone();
                move |a| a.countries.contains(&country)
            }),
        ),
        (
            json!({ "theme": [theme.clone()], "startedFrom": "2020-05-01" }),
            Box::new({
                let theme = theme.clone();
                move |a| a.themes.contains(&theme) && a.start_date.as_str() >= "2020-05-01"
            }),
        ),
        (
            json!({ "startedTo": "2020-07-31", "sdg": [16] }),
            Box::new(|a| a.start_date.as_str() <= "2020-07-31" && a.sdgs.contains(&16)),
        ),
    ];
    let q = "query($filter: ActionFilter) { actions(filter: $filter, first: 0) {
        totalCount facets { kind { value count } theme { value count } group { value count }
          country { value count } year { value count } } } }";
    for (filter, passes) in filters {
        let expected: Vec<&ActionRow> = t.actions.iter().filter(|a| passes(a)).collect();
        assert!(
            !expected.is_empty(),
            "{filter} selects nothing: a weak test"
        );

        let data = app.data(q, json!({ "filter": filter })).await;

        let a = &data["actions"];
        assert_eq!(a["totalCount"], expected.len() as u64, "{filter}");
        let f = &a["facets"];
        assert_eq!(
            facet_map(&f["kind"]),
            count(expected.iter().map(|a| a.kind.clone())),
            "{filter} kind"
        );
        assert_eq!(
            facet_map(&f["theme"]),
            count(expected.iter().flat_map(|a| a.themes.clone())),
            "{filter} theme"
        );
        assert_eq!(
            facet_map(&f["group"]),
            count(expected.iter().flat_map(|a| a.groups.clone())),
            "{filter} group"
        );
        assert_eq!(
            facet_map(&f["country"]),
            count(expected.iter().flat_map(|a| a.countries.clone())),
            "{filter} country"
        );
        assert_eq!(
            facet_map(&f["year"]),
            count(expected.iter().map(|a| a.start_date[..4].to_owned())),
            "{filter} year"
        );
    }
}

#[tokio::test]
async fn a_reported_range_that_ends_before_it_starts_is_bad_input() {
    let app = tiny_app();

    let errors = app
        .errors(
            "{ concerns(filter: { reportedFrom: \"2020-06-01\", reportedTo: \"2020-05-01\" }) { totalCount } }",
            json!({}),
        )
        .await;

    assert_bad_input(&errors, "filter.reportedTo");
}

#[tokio::test]
async fn concerns_and_actions_page_forward_and_backward_in_key_order() {
    let app = tiny_app();
    let t = tracker();
    for (conn, mut expected) in [
        (
            CONCERNS,
            t.concerns.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        ),
        (ACTIONS, t.actions.iter().map(|a| a.id.clone()).collect()),
    ] {
        expected.sort();
        for dir in [Direction::Forward, Direction::Backward] {
            let w = walk(app, &root_walk_query(conn), json!({}), &["c"], 37, dir).await;
            assert_eq!(w.total_count, expected.len() as u64);
            assert_eq!(keys(&w.nodes), expected, "{} {dir:?}", conn.0);
        }
    }
}

#[tokio::test]
async fn relations_agree_with_the_files_in_both_directions() {
    let app = tiny_app();
    let t = tracker();
    let q = "query($first: Int, $after: String, $last: Int, $before: String) {
        c: concerns(first: $first, after: $after, last: $last, before: $before) {
          totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          edges { cursor node { ref countries { code } measures { ref } recommendations { ref }
            actions { ref } } } } }";
    let w = walk(app, q, json!({}), &["c"], 200, Direction::Forward).await;
    let mut actions_of: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for a in &t.actions {
        for c in &a.concerns {
            actions_of
                .entry(c.as_str())
                .or_default()
                .insert(a.id.clone());
        }
    }
    let by_id: BTreeMap<&str, &ConcernRow> =
        t.concerns.iter().map(|c| (c.id.as_str(), c)).collect();
    assert_eq!(w.nodes.len(), t.concerns.len());
    for node in &w.nodes {
        let c = by_id[node["ref"].as_str().unwrap()];
        assert_eq!(strings(&node["countries"]), c.countries, "{}", c.id);
        assert_eq!(strings(&node["measures"]), c.measures, "{}", c.id);
        assert_eq!(
            strings(&node["recommendations"]),
            c.recommendations,
            "{}",
            c.id
        );
        let actions: Vec<String> = actions_of
            .get(c.id.as_str())
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        assert_eq!(strings(&node["actions"]), actions, "{}", c.id);
    }

    // The other way: from measures and recommendations back to concerns and actions.
    let mut concerns_of: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut actions_of: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for c in &t.concerns {
        for r in c.measures.iter().chain(&c.recommendations) {
            concerns_of
                .entry(r.as_str())
                .or_default()
                .insert(c.id.clone());
        }
    }
    for a in &t.actions {
        for r in a.measures.iter().chain(&a.recommendations) {
            actions_of
                .entry(r.as_str())
                .or_default()
                .insert(a.id.clone());
        }
    }
    let cited: BTreeSet<&str> = concerns_of
        .keys()
        .chain(actions_of.keys())
        .copied()
        .collect();
    assert!(
        cited.len() > 10,
        "too few cited records to test: {}",
        cited.len()
    );
    for r in cited {
        let field = if r.starts_with("M-") {
            "measure"
        } else {
            "recommendation"
        };
        let q = format!("query($r: String!) {{ x: {field}(ref: $r) {{ concerns {{ ref }} actions {{ ref }} }} }}");

        let data = app.data(&q, json!({ "r": r })).await;

        let want = |m: &BTreeMap<&str, BTreeSet<String>>| -> Vec<String> {
            m.get(r).into_iter().flatten().cloned().collect()
        };
        assert_eq!(strings(&data["x"]["concerns"]), want(&concerns_of), "{r}");
        assert_eq!(strings(&data["x"]["actions"]), want(&actions_of), "{r}");
    }
}

#[tokio::test]
async fn a_country_lists_its_concerns_and_actions_as_filtered_connections() {
    let app = tiny_app();
    let t = tracker();
    let country = most_common(t.concerns.iter().flat_map(|c| &c.countries));
    let q = "query($code: String!) { country(code: $code) {
        concerns(filter: { severity: [HIGH, MEDIUM] }, first: 500) { totalCount nodes { ref } }
        actions(first: 500) { totalCount nodes { ref } } } }";

    let data = app.data(q, json!({ "code": country })).await;

    let mut concerns: Vec<String> = t
        .concerns
        .iter()
        .filter(|c| c.countries.contains(&country) && c.severity != "LOW")
        .map(|c| c.id.clone())
        .collect();
    concerns.sort();
    let mut actions: Vec<String> = t
        .actions
        .iter()
        .filter(|a| a.countries.contains(&country))
        .map(|a| a.id.clone())
        .collect();
    actions.sort();
    assert!(!concerns.is_empty());
    let c = &data["country"];
    assert_eq!(c["concerns"]["totalCount"], concerns.len() as u64);
    assert_eq!(strings(&c["concerns"]["nodes"]), concerns);
    assert_eq!(c["actions"]["totalCount"], actions.len() as u64);
    assert_eq!(strings(&c["actions"]["nodes"]), actions);
}

#[tokio::test]
async fn a_theme_and_a_group_count_their_concerns_and_actions() {
    let app = tiny_app();
    let t = tracker();
    let theme = most_common(t.concerns.iter().flat_map(|c| &c.themes));
    let group = most_common(t.concerns.iter().flat_map(|c| &c.groups));
    let q = "query { themes { slug concerns { totalCount } actions { totalCount } }
        groups { slug concerns { totalCount } actions { totalCount } } }";

    let data = app.data(q, json!({})).await;

    let find = |list: &Value, slug: &str| -> Value {
        list.as_array()
            .unwrap()
            .iter()
            .find(|x| x["slug"] == slug)
            .cloned()
            .unwrap()
    };
    let th = find(&data["themes"], &theme);
    assert_eq!(
        th["concerns"]["totalCount"],
        t.concerns
            .iter()
            .filter(|c| c.themes.contains(&theme))
            .count() as u64
    );
    assert_eq!(
        th["actions"]["totalCount"],
        t.actions
            .iter()
            .filter(|a| a.themes.contains(&theme))
            .count() as u64
    );
    let g = find(&data["groups"], &group);
    assert_eq!(
        g["concerns"]["totalCount"],
        t.concerns
            .iter()
            .filter(|c| c.groups.contains(&group))
            .count() as u64
    );
    assert_eq!(
        g["actions"]["totalCount"],
        t.actions
            .iter()
            .filter(|a| a.groups.contains(&group))
            .count() as u64
    );
}

#[tokio::test]
async fn node_finds_a_concern_and_an_action_by_their_global_ids() {
    let app = tiny_app();
    let t = tracker();
    let (c, a) = (&t.concerns[0].id, &t.actions[0].id);
    let ids = app
        .data(
            "query($c: String!, $a: String!) { concern(ref: $c) { id } action(ref: $a) { id } }",
            json!({ "c": c, "a": a }),
        )
        .await;

    let data = app
        .data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Concern { ref } ... on Action { ref } } }",
            json!({ "ids": [ids["concern"]["id"], ids["action"]["id"]] }),
        )
        .await;

    assert_eq!(data["nodes"][0]["__typename"], "Concern");
    assert_eq!(data["nodes"][0]["ref"], c.as_str());
    assert_eq!(data["nodes"][1]["__typename"], "Action");
    assert_eq!(data["nodes"][1]["ref"], a.as_str());
}

#[tokio::test]
async fn search_finds_concerns_by_the_words_of_their_title() {
    let app = tiny_app();
    let t = tracker();
    // "Early warning on …" titles: the word "warning" is in no other generated text.
    let expected: BTreeSet<String> = t
        .concerns
        .iter()
        .filter(|c| text_matches(&format!("{}\n{}", c.title, c.description), "warning"))
        .map(|c| c.id.clone())
        .collect();
    assert!(!expected.is_empty());

    let data = app
        .data(
            "{ search(text: \"warning\", first: 500) { totalCount edges { node { node { __typename ... on Concern { ref } } } } } }",
            json!({}),
        )
        .await;

    let found: BTreeSet<String> = data["search"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["node"]["__typename"] == "Concern")
        .map(|e| e["node"]["node"]["ref"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        data["search"]["totalCount"].as_u64().unwrap() <= 500,
        "a page of 500 holds every hit"
    );
    assert_eq!(found, expected);
}
