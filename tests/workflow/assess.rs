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

const CLASSIFY: &str = "mutation($input: ClassifyRecommendationInput!) { classifyRecommendation(input: $input) { changed recommendation { version } } }";

const SOURCES: &str = r#"query($r: String!) { recommendation(ref: $r) {
  version actionCategory themes { slug } groups { slug }
  actionCategorySource themesSource groupsSource
  setBy { actionCategory themes groups }
  history(first: 1) { nodes { author } }
} }"#;

#[tokio::test]
async fn an_editor_s_classification_is_the_editor_s_with_their_name_and_outlives_a_new_text() {
    let s = server().await;
    let create = "mutation($input: CreateRecommendationInput!) { createRecommendation(input: $input) { recommendation { ref } } }";
    s.as_admin(
        create,
        json!({ "input": { "ref": "R-36-USA-010", "text": "Take measures to reduce poverty among older persons.",
            "stateUnderReview": "USA", "recommendingStates": ["PRT"], "session": 36, "response": "PENDING" } }),
    )
    .await;
    let d = s.read(SOURCES, json!({ "r": "R-36-USA-010" })).await;
    let rec = &d["recommendation"];
    assert_eq!(rec["actionCategorySource"], "ASSESSED", "{rec}");
    assert_eq!(rec["themesSource"], "ASSESSED");
    assert_eq!(rec["groupsSource"], "ASSESSED");
    assert_eq!(rec["setBy"], serde_json::Value::Null);

    // A reader may not classify.
    let version = rec["version"].clone();
    let input = json!({ "input": { "ref": "R-36-USA-010", "expectedVersion": version,
        "actionCategory": 5, "themes": ["poverty"], "groups": ["older-persons"] } });
    let refused = s.gql(Some(&s.reader), CLASSIFY, input.clone()).await;
    assert_eq!(refused.code(), "FORBIDDEN");

    // The editor (token "eddie") sets all three.
    let r = s.as_editor(CLASSIFY, input).await;
    assert_eq!(r.data()["classifyRecommendation"]["changed"], true);
    let d = s.read(SOURCES, json!({ "r": "R-36-USA-010" })).await;
    let rec = &d["recommendation"];
    assert_eq!(rec["actionCategory"], 5);
    assert_eq!(rec["themes"], json!([{ "slug": "poverty" }]));
    assert_eq!(rec["groups"], json!([{ "slug": "older-persons" }]));
    for source in ["actionCategorySource", "themesSource", "groupsSource"] {
        assert_eq!(rec[source], "EDITOR", "{source}: {rec}");
    }
    assert_eq!(
        rec["setBy"],
        json!({ "actionCategory": "eddie", "themes": "eddie", "groups": "eddie" })
    );
    assert_eq!(rec["history"]["nodes"][0]["author"], "eddie");

    // An admin changes the text: the editor's classification stays, as does the name.
    let version = rec["version"].clone();
    s.as_admin(
        UPDATE,
        json!({ "input": { "ref": "R-36-USA-010", "expectedVersion": version,
            "text": "Consider ways to reduce poverty." } }),
    )
    .await;
    let d = s.read(SOURCES, json!({ "r": "R-36-USA-010" })).await;
    let rec = &d["recommendation"];
    assert_eq!(rec["actionCategory"], 5);
    assert_eq!(rec["actionCategorySource"], "EDITOR");
    assert_eq!(rec["setBy"]["actionCategory"], "eddie");

    // Giving the category back (null) leaves the themes and groups the editor's.
    let version = rec["version"].clone();
    let r = s
        .as_editor(
            CLASSIFY,
            json!({ "input": { "ref": "R-36-USA-010", "expectedVersion": version, "actionCategory": null } }),
        )
        .await;
    assert_eq!(r.data()["classifyRecommendation"]["changed"], true);
    let d = s.read(SOURCES, json!({ "r": "R-36-USA-010" })).await;
    let rec = &d["recommendation"];
    assert_eq!(rec["actionCategorySource"], "ASSESSED");
    assert_eq!(rec["themesSource"], "EDITOR");
    assert_eq!(
        rec["setBy"],
        json!({ "actionCategory": null, "themes": "eddie", "groups": "eddie" })
    );

    // An unknown theme is refused, naming the field, and nothing changes.
    let version = rec["version"].clone();
    let r = s
        .as_editor(
            CLASSIFY,
            json!({ "input": { "ref": "R-36-USA-010", "expectedVersion": version, "themes": ["no-such-theme"] } }),
        )
        .await;
    assert!(r.body.get("errors").is_some(), "{}", r.body);
    let after = s.read(SOURCES, json!({ "r": "R-36-USA-010" })).await;
    assert_eq!(after["recommendation"]["version"], version);
}

#[tokio::test]
async fn the_background_pass_assesses_every_recommendation_and_each_write_s_again() {
    use recover_better::server::App;
    use recover_better::store::Store;
    use std::sync::Arc;

    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let store = Store::open(&dir.path().join("store")).expect("store opens");
    let data = crate::common::Dataset::small().write_temp();
    crate::common::import_dir(&store, data.path()).expect("the small dataset imports");
    let app = App::builder(Arc::new(store))
        .assess_in_background(true)
        .build()
        .expect("the app builds");
    let live = app.live.clone();
    let all_assessed = |c: &recover_better::catalog::Catalog| {
        c.recommendations
            .order_by_id()
            .all(|r| c.assessments.is_filled(r.id))
    };
    let wait = || async {
        for _ in 0..300 {
            if all_assessed(&live.snapshot()) {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        false
    };
    assert!(!live.snapshot().recommendations.is_empty());
    assert!(wait().await, "every recommendation assessed after the load");

    // A write forgets the changed record's assessment; the pass fills it again.
    let snapshot = live.snapshot();
    let row = snapshot
        .recommendations
        .order_by_id()
        .next()
        .expect("a recommendation")
        .clone();
    let mut changed = row.record.clone();
    changed.text = "Ratify the Convention against Torture by 2030.".into();
    live.write(
        vec![recover_better::store::Change::put(
            recover_better::store::Record::Recommendation(changed),
        )],
        "ada",
    )
    .expect("the write commits");
    assert!(wait().await, "the written recommendation assessed again");
    let a = live
        .snapshot()
        .assessment(row.id)
        .expect("the recommendation is there");
    // The SMART scores in SMART's order: time-bound is the fifth.
    assert_eq!(a.smart[4], 1.0, "the new text's assessment");
    live.shut_down();
}
