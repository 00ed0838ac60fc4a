//! The assessment over HTTP: `assessText` for a draft, with no token, and
//! `Recommendation.assessment` beside UPR Info's coding.

use serde_json::json;

use crate::helpers::*;

const ASSESS: &str = r#"query($t: String!) {
  assessText(text: $t) {
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
}"#;

#[tokio::test]
async fn assess_text_answers_a_client_without_a_token() {
    let app = tiny_app();
    let text = "Adopt a national action plan on violence against women by 2025.";
    let data = app.data(ASSESS, json!({ "t": text })).await;
    let a = &data["assessText"];
    let expected = recover_better::assess::assess(text);
    assert_eq!(
        a["actionCategory"]["value"],
        i64::from(expected.action_category.value)
    );
    assert_eq!(a["smart"]["timeBound"]["score"], 1.0);
    assert!(
        a["smart"]["timeBound"]["reasons"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("time-bound: names a deadline, 'by 2025'"))),
        "{}",
        pretty(a)
    );
    let slugs: Vec<_> = a["themes"]
        .as_array()
        .map(|t| t.iter().map(|x| x["slug"].clone()).collect())
        .unwrap_or_default();
    assert!(slugs.contains(&json!("womens-rights")), "{}", pretty(a));
}

#[tokio::test]
async fn assess_text_refuses_a_blank_or_overlong_text_naming_the_argument() {
    let app = tiny_app();
    let errors = app.errors(ASSESS, json!({ "t": "   " })).await;
    assert_bad_input(&errors, "text");
    let long = "a".repeat(20_001);
    let errors = app.errors(ASSESS, json!({ "t": long })).await;
    assert!(
        errors
            .iter()
            .any(|e| e["extensions"]["code"] == "BAD_USER_INPUT"
                && e["message"].as_str().is_some_and(|m| m.contains("text"))),
        "{}",
        pretty(&json!(errors))
    );
}

#[tokio::test]
async fn a_coded_recommendation_shows_upr_info_s_category_and_its_own_assessment() {
    let app = default_app();
    let r = &app.files.recommendations[0];
    let q = r#"query($r: String!) {
      recommendation(ref: $r) {
        actionCategory actionCategorySource themesSource
        assessment {
          actionCategory { value confidence reasons }
          themes { slug reasons }
          smart { total specific { score reasons } timeBound { score reasons } }
        }
      }
    }"#;
    let data = app.data(q, json!({ "r": r.id })).await;
    let rec = &data["recommendation"];
    assert_eq!(rec["actionCategorySource"], "UPR_INFO");
    assert_eq!(rec["themesSource"], "UPR_INFO");
    let coded = r.action_category;
    assert_eq!(rec["actionCategory"].as_i64(), coded);
    let assessed = recover_better::assess::assess(&r.text);
    assert_eq!(
        rec["assessment"]["actionCategory"]["value"],
        i64::from(assessed.action_category.value)
    );
    let total = rec["assessment"]["smart"]["total"].as_f64().unwrap_or(-1.0);
    assert!((total - f64::from(assessed.smart.total)).abs() < 1e-6);
    // The catalog keeps the values only; the reasons, computed again on demand, are those of
    // the same assessment.
    let a = &rec["assessment"];
    assert_eq!(
        a["actionCategory"]["reasons"],
        json!(assessed.action_category.reasons)
    );
    let confidence = a["actionCategory"]["confidence"].as_f64().unwrap_or(-1.0);
    assert!((confidence - f64::from(assessed.action_category.confidence)).abs() < 1e-6);
    let themes: Vec<_> = assessed
        .themes
        .iter()
        .map(|t| json!({ "slug": t.slug, "reasons": t.reasons }))
        .collect();
    assert_eq!(a["themes"], json!(themes));
    assert_eq!(
        a["smart"]["specific"]["reasons"],
        json!(assessed.smart.specific.reasons)
    );
    assert_eq!(
        a["smart"]["timeBound"]["reasons"],
        json!(assessed.smart.time_bound.reasons)
    );
}

#[tokio::test]
async fn the_graphiql_example_of_assess_text_runs() {
    let app = tiny_app();
    let response: serde_json::Value = client()
        .post(format!("{}/graphql", app.address))
        .json(&json!({
            "query": recover_better::server::graphiql::DEFAULT_QUERY,
            "operationName": "AssessDraft",
        }))
        .send()
        .await
        .expect("the request is sent")
        .json()
        .await
        .expect("a JSON body");
    assert!(response.get("errors").is_none(), "{}", pretty(&response));
    let smart = &response["data"]["assessText"]["smart"];
    assert_eq!(smart["timeBound"]["score"], 1.0, "{}", pretty(&response));
    assert!(smart["measurable"]["score"].as_f64().unwrap_or(0.0) > 0.0);
}

#[tokio::test]
async fn the_assessment_filters_equal_a_brute_force_count() {
    let app = default_app();
    let country = "ARG";
    let (min, max) = (0.3, 0.6);
    let expected_smart = app
        .files
        .recommendations
        .iter()
        .filter(|r| r.state_under_review == country)
        .filter(|r| {
            let t = f64::from(recover_better::assess::assess(&r.text).smart.total);
            (min..=max).contains(&t)
        })
        .count();
    let expected_category = app
        .files
        .recommendations
        .iter()
        .filter(|r| r.state_under_review == country)
        .filter(|r| {
            recover_better::assess::assess(&r.text)
                .action_category
                .value
                == 5
        })
        .count();
    let q = r#"query($f: RecommendationFilter, $g: RecommendationFilter) {
      smart: recommendations(filter: $f) { totalCount }
      category: recommendations(filter: $g) { totalCount }
    }"#;
    let data = app
        .data(
            q,
            json!({
                "f": { "stateUnderReview": [country], "smartScore": { "min": min, "max": max } },
                "g": { "stateUnderReview": [country], "assessedActionCategory": [5] },
            }),
        )
        .await;
    assert!(expected_smart > 0 && expected_category > 0);
    assert_eq!(data["smart"]["totalCount"], expected_smart as i64);
    assert_eq!(data["category"]["totalCount"], expected_category as i64);
}

#[tokio::test]
async fn a_smart_score_range_outside_zero_to_one_is_refused_naming_its_end() {
    let app = tiny_app();
    let q = r#"query($f: RecommendationFilter) { recommendations(filter: $f) { totalCount } }"#;
    let errors = app
        .errors(q, json!({ "f": { "smartScore": { "min": 1.5 } } }))
        .await;
    assert_bad_input(&errors, "filter.smartScore.min");
    let errors = app
        .errors(q, json!({ "f": { "assessedActionCategory": [6] } }))
        .await;
    assert_bad_input(&errors, "filter.assessedActionCategory");
}

#[tokio::test]
async fn the_assessment_facets_equal_a_brute_force_count_and_their_filters() {
    let app = default_app();
    let country = "ARG";
    let bands = [
        ("0.0-0.2", 0.0, Some(0.2)),
        ("0.2-0.4", 0.2, Some(0.4)),
        ("0.4-0.6", 0.4, Some(0.6)),
        ("0.6-0.8", 0.6, Some(0.8)),
        ("0.8-1.0", 0.8, None),
    ];
    let mut categories = std::collections::BTreeMap::<String, i64>::new();
    let mut smart = std::collections::BTreeMap::<String, i64>::new();
    let mut received = 0;
    for r in app
        .files
        .recommendations
        .iter()
        .filter(|r| r.state_under_review == country)
    {
        received += 1;
        let a = recover_better::assess::assess(&r.text);
        *categories
            .entry(a.action_category.value.to_string())
            .or_default() += 1;
        let t = f64::from(a.smart.total);
        let (band, ..) = bands
            .iter()
            .find(|(_, min, below)| t >= *min && below.is_none_or(|b| t < b))
            .expect("a total in [0, 1] falls in a band");
        *smart.entry((*band).to_owned()).or_default() += 1;
    }
    let q = r#"query($f: RecommendationFilter) { recommendations(filter: $f) {
      totalCount facets { assessedActionCategory { value count } smartScore { value count } }
    } }"#;
    let data = app
        .data(q, json!({ "f": { "stateUnderReview": [country] } }))
        .await;
    let facets = &data["recommendations"]["facets"];
    let as_map = |list: &serde_json::Value| -> std::collections::BTreeMap<String, i64> {
        list.as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                (
                    f["value"].as_str().unwrap_or_default().to_owned(),
                    f["count"].as_i64().unwrap_or(-1),
                )
            })
            .collect()
    };
    assert_eq!(data["recommendations"]["totalCount"], received);
    assert_eq!(as_map(&facets["assessedActionCategory"]), categories);
    assert_eq!(as_map(&facets["smartScore"]), smart);
    assert!(smart.len() >= 2, "the sample spans bands: {smart:?}");

    // Each value counts what the matching filter selects.
    for (value, count) in &categories {
        let v: i64 = value.parse().unwrap_or(0);
        let d = app
            .data(
                q,
                json!({ "f": { "stateUnderReview": [country], "assessedActionCategory": [v] } }),
            )
            .await;
        assert_eq!(
            d["recommendations"]["totalCount"], *count,
            "category {value}"
        );
    }
    for (value, min, below) in bands {
        let range = match below {
            Some(b) => json!({ "min": min, "below": b }),
            None => json!({ "min": min }),
        };
        let d = app
            .data(
                q,
                json!({ "f": { "stateUnderReview": [country], "smartScore": range } }),
            )
            .await;
        assert_eq!(
            d["recommendations"]["totalCount"],
            smart.get(value).copied().unwrap_or(0),
            "band {value}"
        );
    }
}

#[tokio::test]
async fn a_smart_score_range_whose_below_is_not_above_its_min_is_refused() {
    let app = tiny_app();
    let q = r#"query($f: RecommendationFilter) { recommendations(filter: $f) { totalCount } }"#;
    let errors = app
        .errors(
            q,
            json!({ "f": { "smartScore": { "min": 0.4, "below": 0.4 } } }),
        )
        .await;
    assert_bad_input(&errors, "filter.smartScore.below");
}
