//! Relations both ways, checked against the dataset files: countries, cycles, sessions,
//! recommendations, measures, good practices and links (the default dataset's 31 links and 16
//! good practices are real).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::brute;
use crate::helpers::*;

/// Countries that have links, good practices or both, plus some that have neither.
fn sample_countries(f: &Files) -> Vec<String> {
    let mut codes: BTreeSet<String> = BTreeSet::new();
    for l in f.links.iter().take(6) {
        codes.insert(
            f.recommendation(&l.recommendation)
                .state_under_review
                .clone(),
        );
    }
    for g in &f.good_practices {
        codes.extend(g.countries.iter().cloned());
    }
    codes.extend(["UKR", "FRA", "TUV", "VAT", "PSE"].map(String::from));
    codes
        .into_iter()
        .filter(|c| f.countries.iter().any(|x| &x.code == c))
        .collect()
}

fn opt(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::Null, |s| json!(s))
}

#[tokio::test]
async fn country_relations_match_the_files() {
    let app = default_app();
    let f = &app.files;
    let walked = |field: &str| {
        format!(
            "query($code: String!, $first: Int, $after: String, $last: Int, $before: String) {{
                country(code: $code) {{ {field}(first: $first, after: $after, last: $last, before: $before) {{ {} }} }}
            }}",
            connection_selection("ref")
        )
    };
    for code in sample_countries(f) {
        let vars = json!({ "code": code });
        let received = walk(
            app,
            &walked("recommendationsReceived"),
            vars.clone(),
            &["country", "recommendationsReceived"],
            500,
            Direction::Forward,
        )
        .await;
        assert_eq!(
            keys(&received.nodes),
            brute::recommendation_refs(f, &json!({ "stateUnderReview": [code] })),
            "{code} received"
        );
        let made = walk(
            app,
            &walked("recommendationsMade"),
            vars.clone(),
            &["country", "recommendationsMade"],
            500,
            Direction::Forward,
        )
        .await;
        assert_eq!(
            keys(&made.nodes),
            brute::recommendation_refs(f, &json!({ "recommendingState": [code] })),
            "{code} made"
        );
        let measures = walk(
            app,
            &walked("measures"),
            vars.clone(),
            &["country", "measures"],
            500,
            Direction::Forward,
        )
        .await;
        assert_eq!(
            keys(&measures.nodes),
            brute::measure_refs(f, &json!({ "country": [code] })),
            "{code} measures"
        );
        let d = app
            .data(
                "query($code: String!) { country(code: $code) {
                    code iso2 name region subregion unRegionalGroup reviews { number } goodPractices { ref }
                } }",
                vars,
            )
            .await;
        let row = f.countries.iter().find(|c| c.code == code).unwrap();
        assert_eq!(
            d["country"],
            json!({
                "code": row.code, "iso2": opt(&row.iso2), "name": row.name, "region": opt(&row.region),
                "subregion": opt(&row.subregion), "unRegionalGroup": opt(&row.un_regional_group),
                "reviews": f.sessions.iter().filter(|s| s.states_under_review.contains(&code)).map(|s| json!({ "number": s.number })).collect::<Vec<_>>(),
                // A list, in key order.
                "goodPractices": brute::good_practice_refs(f, &json!({ "country": [code] })).iter().map(|g| json!({ "ref": g })).collect::<Vec<_>>(),
            }),
            "{code}"
        );
    }
}

#[tokio::test]
async fn country_connections_take_filters() {
    let app = default_app();
    let f = &app.files;
    let d = app
        .data(
            "{ country(code: \"UKR\") {
                recommendationsReceived(first: 500, filter: { response: [NOTED], cycle: [2] }) { totalCount nodes { ref } }
                recommendationsMade(first: 500, filter: { stateUnderReview: [\"RUS\"] }) { totalCount nodes { ref } }
                measures(first: 500, filter: { category: [MOVEMENT] }) { totalCount nodes { ref } }
            } }",
            json!({}),
        )
        .await;
    let c = &d["country"];
    let r = brute::recommendation_refs(
        f,
        &json!({ "stateUnderReview": ["UKR"], "response": ["NOTED"], "cycle": [2] }),
    );
    assert_eq!(strings(&c["recommendationsReceived"]["nodes"]), r);
    let r = brute::recommendation_refs(
        f,
        &json!({ "recommendingState": ["UKR"], "stateUnderReview": ["RUS"] }),
    );
    assert_eq!(strings(&c["recommendationsMade"]["nodes"]), r);
    let m = brute::measure_refs(f, &json!({ "country": ["UKR"], "category": ["MOVEMENT"] }));
    assert_eq!(strings(&c["measures"]["nodes"]), m);
}

#[tokio::test]
async fn cycles_and_sessions_match_the_files() {
    let app = default_app();
    let f = &app.files;
    let d = app
        .data(
            "{ cycles { number startDate endDate sessions { number cycle { number } } }
               sessions { number startDate endDate cycle { number } statesUnderReview { code } recommendations { totalCount } } }",
            json!({}),
        )
        .await;
    let expected_cycles: Vec<Value> = f
        .cycles
        .iter()
        .map(|c| {
            json!({
                "number": c.number, "startDate": opt(&c.start_date), "endDate": opt(&c.end_date),
                "sessions": f.sessions.iter().filter(|s| s.cycle == c.number).map(|s| json!({ "number": s.number, "cycle": { "number": c.number } })).collect::<Vec<_>>(),
            })
        })
        .collect();
    assert_eq!(d["cycles"], json!(expected_cycles));
    let mut sessions = f.sessions.clone();
    sessions.sort_by_key(|s| s.number);
    let expected_sessions: Vec<Value> = sessions
        .iter()
        .map(|s| {
            json!({
                "number": s.number, "startDate": opt(&s.start_date), "endDate": opt(&s.end_date),
                "cycle": { "number": s.cycle },
                "statesUnderReview": s.states_under_review.iter().map(|c| json!({ "code": c })).collect::<Vec<_>>(),
                "recommendations": { "totalCount": f.recommendations.iter().filter(|r| r.session == s.number).count() },
            })
        })
        .collect();
    assert_eq!(d["sessions"], json!(expected_sessions));
    for c in &f.cycles {
        let d = app
            .data(
                "query($c: Int) { sessions(cycle: $c) { number } }",
                json!({ "c": c.number }),
            )
            .await;
        let expected: Vec<i64> = sessions
            .iter()
            .filter(|s| s.cycle == c.number)
            .map(|s| s.number)
            .collect();
        assert_eq!(
            strings(&d["sessions"]),
            expected.iter().map(i64::to_string).collect::<Vec<_>>()
        );
        let d = app
            .data(
                "query($c: Int!) { cycle(number: $c) { number } }",
                json!({ "c": c.number }),
            )
            .await;
        assert_eq!(d["cycle"]["number"], c.number);
    }
    for s in &sessions {
        let d = app
            .data(
                "query($n: Int!) { session(number: $n) { number cycle { number } } }",
                json!({ "n": s.number }),
            )
            .await;
        assert_eq!(
            d["session"],
            json!({ "number": s.number, "cycle": { "number": s.cycle } })
        );
    }
}

const RECOMMENDATION_FIELDS: &str = "ref text stateUnderReview { code } recommendingStates { code } session { number }
    cycle { number } response actionCategory themes { slug } groups { slug } sdgs { goal } document paragraph
    links { measure { ref } relation status } goodPractices { ref }
    actionCategorySource themesSource assessment { actionCategory { value } themes { slug } }";

/// The served recommendation with what the assessment filled in taken out again: where the
/// record has no action category (or no themes), the API shows the assessment's, marked
/// ASSESSED; the stored facts are what the files hold.
fn stored_facts(mut got: Value) -> Value {
    let assessment = got["assessment"].take();
    if got["actionCategorySource"] == "ASSESSED" {
        assert_eq!(got["actionCategory"], assessment["actionCategory"]["value"]);
        got["actionCategory"] = Value::Null;
    }
    if got["themesSource"] == "ASSESSED" {
        let suggested: Vec<Value> = assessment["themes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| json!({ "slug": t["slug"] }))
            .collect();
        assert_eq!(got["themes"], json!(suggested));
        got["themes"] = json!([]);
    }
    let object = got.as_object_mut().unwrap();
    object.remove("assessment");
    object.remove("actionCategorySource");
    object.remove("themesSource");
    got
}

fn expected_recommendation(f: &Files, r: &RecommendationRow) -> Value {
    let mut links: Vec<&LinkRow> = f
        .links
        .iter()
        .filter(|l| l.recommendation == r.id)
        .collect();
    links.sort_by(|a, b| a.measure.cmp(&b.measure));
    json!({
        "ref": r.id, "text": r.text, "stateUnderReview": { "code": r.state_under_review },
        "recommendingStates": r.recommending_states.iter().map(|c| json!({ "code": c })).collect::<Vec<_>>(),
        "session": { "number": r.session }, "cycle": { "number": f.cycle_of[&r.session] },
        "response": r.response, "actionCategory": r.action_category,
        "themes": r.themes.iter().map(|t| json!({ "slug": t })).collect::<Vec<_>>(),
        "groups": r.groups.iter().map(|t| json!({ "slug": t })).collect::<Vec<_>>(),
        "sdgs": r.sdgs.iter().map(|t| json!({ "goal": t })).collect::<Vec<_>>(),
        "document": opt(&r.document), "paragraph": opt(&r.paragraph),
        "links": links.iter().map(|l| json!({ "measure": { "ref": l.measure }, "relation": l.relation, "status": l.status })).collect::<Vec<_>>(),
        "goodPractices": sorted(f.good_practices.iter().filter(|g| g.recommendations.contains(&r.id)).map(|g| g.id.clone()))
            .into_iter().map(|g| json!({ "ref": g })).collect::<Vec<_>>(),
    })
}

const MEASURE_FIELDS: &str =
    "ref country { code } title description category categoryInfo { code name }
    startDate endDate themes { slug } groups { slug } sdgs { goal } source sourceCode sourceUrl
    links { recommendation { ref } relation status } goodPractices { ref }";

fn expected_measure(f: &Files, m: &MeasureRow) -> Value {
    let mut links: Vec<&LinkRow> = f.links.iter().filter(|l| l.measure == m.id).collect();
    links.sort_by(|a, b| a.recommendation.cmp(&b.recommendation));
    let category = f
        .measure_categories
        .iter()
        .find(|c| c.code == m.category)
        .unwrap();
    json!({
        "ref": m.id, "country": { "code": m.country }, "title": m.title, "description": m.description,
        "category": m.category, "categoryInfo": { "code": category.code, "name": category.name },
        "startDate": m.start_date, "endDate": opt(&m.end_date),
        "themes": m.themes.iter().map(|t| json!({ "slug": t })).collect::<Vec<_>>(),
        "groups": m.groups.iter().map(|t| json!({ "slug": t })).collect::<Vec<_>>(),
        "sdgs": m.sdgs.iter().map(|t| json!({ "goal": t })).collect::<Vec<_>>(),
        "source": opt(&m.source), "sourceCode": opt(&m.source_code), "sourceUrl": opt(&m.source_url),
        "links": links.iter().map(|l| json!({ "recommendation": { "ref": l.recommendation }, "relation": l.relation, "status": l.status })).collect::<Vec<_>>(),
        "goodPractices": sorted(f.good_practices.iter().filter(|g| g.measures.contains(&m.id)).map(|g| g.id.clone()))
            .into_iter().map(|g| json!({ "ref": g })).collect::<Vec<_>>(),
    })
}

/// Sorts the `goodPractices` list of an object by ref (the API gives no order for it).
fn sort_good_practices(mut v: Value) -> Value {
    if let Some(a) = v.get_mut("goodPractices").and_then(Value::as_array_mut) {
        a.sort_by_key(|g| g["ref"].as_str().unwrap_or_default().to_owned());
    }
    v
}

/// Fetches `refs` with aliases, `chunk` at a time.
async fn fetch_by_ref(app: &TestApp, root: &str, fields: &str, refs: &[String]) -> Vec<Value> {
    let mut out = vec![];
    for chunk in refs.chunks(40) {
        let q = format!(
            "{{ {} }}",
            chunk
                .iter()
                .enumerate()
                .map(|(i, r)| format!("x{i}: {root}(ref: {}) {{ {fields} }}", json!(r)))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let d = app.data(&q, json!({})).await;
        out.extend((0..chunk.len()).map(|i| d[format!("x{i}")].clone()));
    }
    out
}

#[tokio::test]
async fn recommendation_relations_match_the_files() {
    let app = default_app();
    let f = &app.files;
    let mut refs: BTreeSet<String> = f.links.iter().map(|l| l.recommendation.clone()).collect();
    refs.extend(
        f.good_practices
            .iter()
            .flat_map(|g| g.recommendations.iter().cloned()),
    );
    refs.extend(f.recommendations.iter().step_by(997).map(|r| r.id.clone()));
    // Joint recommendations.
    refs.extend(
        f.recommendations
            .iter()
            .filter(|r| r.recommending_states.len() > 5)
            .map(|r| r.id.clone()),
    );
    let refs: Vec<String> = refs.into_iter().collect();
    let got = fetch_by_ref(app, "recommendation", RECOMMENDATION_FIELDS, &refs).await;
    for (r, got) in refs.iter().zip(got) {
        assert_eq!(
            sort_good_practices(stored_facts(got)),
            expected_recommendation(f, f.recommendation(r)),
            "{r}"
        );
    }
}

#[tokio::test]
async fn measure_relations_match_the_files() {
    let app = default_app();
    let f = &app.files;
    let mut refs: BTreeSet<String> = f.links.iter().map(|l| l.measure.clone()).collect();
    refs.extend(
        f.good_practices
            .iter()
            .flat_map(|g| g.measures.iter().cloned()),
    );
    refs.extend(f.measures.iter().step_by(271).map(|m| m.id.clone()));
    let refs: Vec<String> = refs.into_iter().collect();
    let got = fetch_by_ref(app, "measure", MEASURE_FIELDS, &refs).await;
    for (r, got) in refs.iter().zip(got) {
        assert_eq!(
            sort_good_practices(got),
            expected_measure(f, f.measure(r)),
            "{r}"
        );
    }
}

#[tokio::test]
async fn good_practice_relations_match_the_files() {
    for app in [default_app(), tiny_app()] {
        let f = &app.files;
        let d = app
            .data(
                "{ goodPractices(first: 500) { nodes { ref title description year source countries { code }
                    themes { slug } groups { slug } sdgs { goal } measures { ref } recommendations { ref } } } }",
                json!({}),
            )
            .await;
        let mut expected: Vec<Value> = f
            .good_practices
            .iter()
            .map(|g| {
                json!({
                    "ref": g.id, "title": g.title, "description": g.description, "year": g.year, "source": opt(&g.source),
                    "countries": g.countries.iter().map(|c| json!({ "code": c })).collect::<Vec<_>>(),
                    "themes": g.themes.iter().map(|t| json!({ "slug": t })).collect::<Vec<_>>(),
                    "groups": g.groups.iter().map(|t| json!({ "slug": t })).collect::<Vec<_>>(),
                    "sdgs": g.sdgs.iter().map(|t| json!({ "goal": t })).collect::<Vec<_>>(),
                    "measures": g.measures.iter().map(|m| json!({ "ref": m })).collect::<Vec<_>>(),
                    "recommendations": g.recommendations.iter().map(|r| json!({ "ref": r })).collect::<Vec<_>>(),
                })
            })
            .collect();
        expected.sort_by_key(|g| g["ref"].as_str().unwrap().to_owned());
        assert_eq!(d["goodPractices"]["nodes"], json!(expected));
        // Country.goodPractices: a list in key order, for every country.
        let d = app
            .data(
                "{ countries(first: 500) { nodes { code goodPractices { ref } } } }",
                json!({}),
            )
            .await;
        for c in d["countries"]["nodes"].as_array().unwrap() {
            let code = c["code"].as_str().unwrap();
            let expected = brute::good_practice_refs(f, &json!({ "country": [code] }));
            assert_eq!(strings(&c["goodPractices"]), expected, "{code}");
        }
        // And each by its key.
        for g in &f.good_practices {
            let d = app
                .data(
                    "query($r: String!) { goodPractice(ref: $r) { ref } }",
                    json!({ "r": g.id }),
                )
                .await;
            assert_eq!(d["goodPractice"]["ref"], g.id);
        }
    }
}

#[tokio::test]
async fn links_match_the_files_both_ways() {
    for app in [default_app(), tiny_app()] {
        let f = &app.files;
        let d = app
            .data(
                "{ links(first: 500) { totalCount nodes { recommendation { ref links { measure { ref } } }
                    measure { ref links { recommendation { ref } } } relation status note evidenceUrl createdBy createdAt } } }",
                json!({}),
            )
            .await;
        let nodes = d["links"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), f.links.len());
        let mut files = f.links.clone();
        files.sort_by(|a, b| (&a.recommendation, &a.measure).cmp(&(&b.recommendation, &b.measure)));
        for (n, l) in nodes.iter().zip(&files) {
            assert_eq!(n["recommendation"]["ref"], l.recommendation);
            assert_eq!(n["measure"]["ref"], l.measure);
            assert_eq!(n["relation"], l.relation);
            assert_eq!(n["status"], l.status);
            assert_eq!(n["note"], opt(&l.note));
            assert_eq!(n["evidenceUrl"], opt(&l.evidence_url));
            assert_eq!(n["createdBy"], opt(&l.created_by));
            assert_eq!(n["createdAt"], opt(&l.created_at));
            // Both ends list the link.
            assert!(n["recommendation"]["links"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["measure"]["ref"] == l.measure.as_str()));
            assert!(n["measure"]["links"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["recommendation"]["ref"] == l.recommendation.as_str()));
        }
        // link(recommendation, measure) finds each, with its two ends.
        for l in files.iter().step_by(7) {
            let d = app
                .data(
                    "query($r: String!, $m: String!) { link(recommendation: $r, measure: $m) { recommendation { ref } measure { ref } relation } }",
                    json!({ "r": l.recommendation, "m": l.measure }),
                )
                .await;
            assert_eq!(
                d["link"],
                json!({ "recommendation": { "ref": l.recommendation }, "measure": { "ref": l.measure }, "relation": l.relation })
            );
        }
    }
}

#[tokio::test]
async fn links_of_a_record_filter_by_status() {
    let app = tiny_app();
    let f = &app.files;
    // Recommendations and measures with links of several statuses.
    let mut recs: BTreeSet<String> = BTreeSet::new();
    let mut measures: BTreeSet<String> = BTreeSet::new();
    for l in f.links.iter().filter(|l| l.status != "CONFIRMED") {
        recs.insert(l.recommendation.clone());
        measures.insert(l.measure.clone());
    }
    // (An absent `status` gives every link; `status: []` gives none, unlike filter lists, where
    // an empty list does not filter: not asserted either way.)
    for status in [vec!["CONFIRMED"], vec!["SUGGESTED", "REJECTED"], vec![]] {
        let s = if status.is_empty() {
            Value::Null
        } else {
            json!(status)
        };
        for r in recs.iter().take(10) {
            let d = app
                .data(
                    "query($r: String!, $s: [LinkStatus!]) { recommendation(ref: $r) { links(status: $s) { measure { ref } status } } }",
                    json!({ "r": r, "s": s }),
                )
                .await;
            let expected = sorted(
                f.links
                    .iter()
                    .filter(|l| {
                        &l.recommendation == r
                            && (status.is_empty() || status.contains(&l.status.as_str()))
                    })
                    .map(|l| l.measure.clone()),
            );
            let got: Vec<String> = d["recommendation"]["links"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| key(&l["measure"]))
                .collect();
            assert_eq!(got, expected, "{r} {status:?}");
        }
        for m in measures.iter().take(10) {
            let d = app
                .data(
                    "query($m: String!, $s: [LinkStatus!]) { measure(ref: $m) { links(status: $s) { recommendation { ref } } } }",
                    json!({ "m": m, "s": s }),
                )
                .await;
            let expected = sorted(
                f.links
                    .iter()
                    .filter(|l| {
                        &l.measure == m
                            && (status.is_empty() || status.contains(&l.status.as_str()))
                    })
                    .map(|l| l.recommendation.clone()),
            );
            let got: Vec<String> = d["measure"]["links"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| key(&l["recommendation"]))
                .collect();
            assert_eq!(got, expected, "{m} {status:?}");
        }
    }
}

#[tokio::test]
async fn taxonomies_match_the_files() {
    let app = default_app();
    let f = &app.files;
    let d = app
        .data(
            "{ themes { slug name source sdgs { goal } } groups { slug name } sdgs { goal name }
               measureCategories { code name themes { slug } oxcgrt } }",
            json!({}),
        )
        .await;
    let mut themes: Vec<Value> = f
        .themes
        .iter()
        .map(|t| json!({ "slug": t.slug, "name": t.name, "source": opt(&t.source), "sdgs": t.sdgs.iter().map(|g| json!({ "goal": g })).collect::<Vec<_>>() }))
        .collect();
    themes.sort_by_key(|t| t["slug"].as_str().unwrap().to_owned());
    assert_eq!(d["themes"], json!(themes));
    let mut groups: Vec<Value> = f
        .groups
        .iter()
        .map(|g| json!({ "slug": g.slug, "name": g.name }))
        .collect();
    groups.sort_by_key(|t| t["slug"].as_str().unwrap().to_owned());
    assert_eq!(d["groups"], json!(groups));
    let mut sdgs: Vec<Value> = f
        .sdgs
        .iter()
        .map(|s| json!({ "goal": s.goal, "name": s.name }))
        .collect();
    sdgs.sort_by_key(|s| s["goal"].as_i64());
    assert_eq!(d["sdgs"], json!(sdgs));
    assert_eq!(sdgs.len(), 17);
    // Measure categories in the order of the MeasureCategory enum (the DOMAIN's order).
    let cats: Vec<Value> = f
        .measure_categories
        .iter()
        .map(|c| json!({ "code": c.code, "name": c.name, "themes": c.themes.iter().map(|t| json!({ "slug": t })).collect::<Vec<_>>(), "oxcgrt": c.oxcgrt }))
        .collect();
    let got = d["measureCategories"].as_array().unwrap();
    assert_eq!(got.len(), cats.len());
    for c in &cats {
        assert!(got.contains(c), "{c} missing from measureCategories");
    }
    let order: Vec<String> = got
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_owned())
        .collect();
    let domain = [
        "HEALTH",
        "SOCIAL_PROTECTION",
        "ECONOMIC",
        "LABOUR",
        "EDUCATION",
        "HOUSING",
        "MOVEMENT",
        "ASSEMBLY",
        "EMERGENCY_POWERS",
        "DETENTION",
        "JUSTICE",
        "GENDER_BASED_VIOLENCE",
        "INFORMATION",
        "PRIVACY",
    ];
    assert_eq!(order, domain);
}

/// States at the leaves of a page (`stateUnderReview`, `recommendingStates`, a measure's
/// `country`) take a short cut for plain fields; fragments and directives go the general way.
/// Both must give the same answer, nulls included.
#[tokio::test]
async fn plain_and_general_selections_of_a_state_give_the_same_answer() {
    let app = default_app();
    let fields = "c: code name iso2 region subregion t: __typename";
    let query = |state: &str| {
        format!(
            "{{ recommendations(first: 200) {{ nodes {{ ref stateUnderReview {state} recommendingStates {state} }} }}
               measures(first: 100) {{ nodes {{ ref country {state} }} }} }}"
        )
    };
    let plain = app
        .data(&query(&format!("{{ {fields} }}")), json!({}))
        .await;
    let general = app
        .data(
            &format!("{} fragment S on Country {{ {fields} }}", query("{ ...S }")),
            json!({}),
        )
        .await;
    let directive = app
        .data(
            &query(&format!("{{ {fields} x: name @include(if: false) }}")),
            json!({}),
        )
        .await;
    assert_eq!(plain, general);
    assert_eq!(plain, directive);
    let nodes = plain["recommendations"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 200);
    let states = nodes
        .iter()
        .flat_map(|n| n["recommendingStates"].as_array().unwrap())
        .count();
    assert!(states >= 200, "{states} recommending States");
    assert_eq!(nodes[0]["stateUnderReview"]["t"], "Country");
    assert!(nodes[0]["stateUnderReview"]["name"].is_string());
}
