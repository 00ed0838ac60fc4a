//! The assessment kept in step with writes: a recommendation stored without a category or
//! themes shows the assessment's, a new text is assessed again at once, and a category set
//! through a mutation is never replaced by the assessment.

use serde_json::json;

use crate::harness::*;

const READ: &str = r#"query($r: String!) { recommendation(ref: $r) {
  version actionCategory actionCategorySource themesSource themes { slug }
  assessment { actionCategory { value } smart { timeBound { score } } }
} }"#;

const UPDATE: &str = "mutation($input: UpdateRecommendationInput!) { updateRecommendation(input: $input) { changed } }";

#[tokio::test]
async fn the_assessment_follows_the_text_and_never_overrides_a_category_set_by_a_person() {
    let s = server().await;
    let create = "mutation($input: CreateRecommendationInput!) { createRecommendation(input: $input) { recommendation { ref } } }";
    let first = "Ratify the Convention against Torture by 2022.";
    let r = s
        .as_admin(
            create,
            json!({ "input": { "ref": "R-36-USA-009", "text": first, "stateUnderReview": "USA",
                "recommendingStates": ["PRT"], "session": 36, "response": "PENDING" } }),
        )
        .await;
    assert_eq!(
        r.data()["createRecommendation"]["recommendation"]["ref"],
        "R-36-USA-009"
    );

    // Stored without a category or themes: the assessment's are shown, marked as such.
    let d = s.read(READ, json!({ "r": "R-36-USA-009" })).await;
    let rec = &d["recommendation"];
    let assessed = recover_better::assess::assess(first);
    assert_eq!(rec["actionCategorySource"], "ASSESSED");
    assert_eq!(
        rec["actionCategory"],
        i64::from(assessed.action_category.value)
    );
    assert_eq!(rec["themesSource"], "ASSESSED");
    // The themes shown are the assessment's, less those the dataset's taxonomy lacks.
    assert!(!assessed.themes.is_empty());
    let shown = rec["themes"].as_array().cloned().unwrap_or_default();
    assert!(
        shown
            .iter()
            .all(|t| assessed.themes.iter().any(|a| t["slug"] == a.slug.as_str())),
        "{shown:?} within {:?}",
        assessed.themes
    );
    assert_eq!(rec["assessment"]["smart"]["timeBound"]["score"], 1.0);

    // A new text is assessed again in the same snapshot the write makes.
    let second = "Consider ratifying the Convention against Torture.";
    let version = rec["version"].clone();
    let r = s
        .as_admin(UPDATE, json!({ "input": { "ref": "R-36-USA-009", "expectedVersion": version, "text": second } }))
        .await;
    assert_eq!(r.data()["updateRecommendation"]["changed"], true);
    let d = s.read(READ, json!({ "r": "R-36-USA-009" })).await;
    let rec = &d["recommendation"];
    let reassessed = recover_better::assess::assess(second);
    assert_ne!(
        assessed.action_category.value, reassessed.action_category.value,
        "the two texts ask for different actions"
    );
    assert_eq!(
        rec["assessment"]["actionCategory"]["value"],
        i64::from(reassessed.action_category.value)
    );
    assert_eq!(rec["assessment"]["smart"]["timeBound"]["score"], 0.0);

    // A person sets the category; a later text change does not replace it.
    let version = rec["version"].clone();
    s.as_admin(UPDATE, json!({ "input": { "ref": "R-36-USA-009", "expectedVersion": version, "actionCategory": 1 } }))
        .await;
    let version =
        s.read(READ, json!({ "r": "R-36-USA-009" })).await["recommendation"]["version"].clone();
    s.as_admin(
        UPDATE,
        json!({ "input": { "ref": "R-36-USA-009", "expectedVersion": version, "text": first } }),
    )
    .await;
    let d = s.read(READ, json!({ "r": "R-36-USA-009" })).await;
    assert_eq!(d["recommendation"]["actionCategory"], 1);
    assert_eq!(
        d["recommendation"]["assessment"]["actionCategory"]["value"],
        i64::from(assessed.action_category.value)
    );
}
