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
        errors.iter().any(|e| e["extensions"]["code"] == "BAD_USER_INPUT"
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
        assessment { actionCategory { value } smart { total } }
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
}
