//! No N+1: every field, nested ones included, is served from the in-memory catalog. With the
//! store closed and its folder deleted (the server given an empty store instead), a page of
//! 100 recommendations with their relations is still served whole; and a page of 100 costs about ten of 10 (timings printed, not asserted).

use std::time::{Duration, Instant};

use serde_json::json;

use recover_better::catalog::Catalog;
use recover_better::graphql::Limits;
use recover_better::server::HttpOptions;
use recover_better::store::Store;

use crate::helpers::*;

const PAGE: &str = "query($first: Int, $f: RecommendationFilter) {
    recommendations(first: $first, filter: $f) {
        totalCount
        nodes {
            ref
            stateUnderReview { name }
            recommendingStates { name }
            session { number }
            themes { name }
            links { measure { title } }
        }
    }
}";

#[tokio::test]
async fn pages_are_served_with_the_store_closed() {
    let (store, dir, files) = open_and_import(Dataset::Tiny);
    let catalog = Catalog::load(&store).expect("catalog");
    // Close sled and delete its files: nothing can read the store any more.
    drop(store);
    let path = dir.path().to_owned();
    drop(dir);
    assert!(!path.exists(), "the store's folder is gone");
    let empty = Store::temporary().expect("an empty store");
    let app = TestApp::new(
        serve_catalog(empty, catalog, Limits::default(), HttpOptions::default()).await,
        files,
    );

    let d = app.data(PAGE, json!({ "first": 100 })).await;
    let nodes = d["recommendations"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 100);
    for n in nodes {
        let r = app.files.recommendation(n["ref"].as_str().unwrap());
        assert!(n["stateUnderReview"]["name"].is_string());
        assert_eq!(
            n["recommendingStates"].as_array().unwrap().len(),
            r.recommending_states.len()
        );
        assert_eq!(n["session"]["number"], r.session);
        assert_eq!(n["themes"].as_array().unwrap().len(), r.themes.len());
        assert_eq!(
            n["links"].as_array().unwrap().len(),
            app.files
                .links
                .iter()
                .filter(|l| l.recommendation == r.id)
                .count()
        );
    }
    // Linked ones, so `links { measure { title } }` resolves measures.
    let d = app
        .data(PAGE, json!({ "first": 100, "f": { "linked": true } }))
        .await;
    let nodes = d["recommendations"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 100);
    assert!(nodes
        .iter()
        .all(|n| n["links"][0]["measure"]["title"].is_string()));
    // Everything else too.
    app.data(
        "{ countries(first: 100) { nodes { reviews { number } measures { totalCount } goodPractices { ref }
             recommendationsMade(first: 5) { nodes { ref } facets { theme { value count } } } } }
           goodPractices(first: 100) { nodes { measures { ref } recommendations { ref } countries { code } } }
           links(first: 100) { nodes { recommendation { ref } measure { ref goodPractices { ref } categoryInfo { name } } } }
           search(text: \"covid\", first: 100) { totalCount nodes { snippet } } }",
        json!({}),
    )
    .await;
}

async fn time(app: &TestApp, first: usize) -> Duration {
    // The best of five, to leave out warm-up and noise.
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        let d = app.data(PAGE, json!({ "first": first })).await;
        best = best.min(started.elapsed());
        assert_eq!(
            d["recommendations"]["nodes"].as_array().unwrap().len(),
            first
        );
    }
    best
}

#[tokio::test]
async fn a_page_of_100_costs_about_ten_pages_of_10() {
    // The shared default server closed its store once its catalog was built, too.
    let app = default_app();
    let ten = time(app, 10).await;
    let hundred = time(app, 100).await;
    println!(
        "first: 10 took {ten:?}, first: 100 took {hundred:?} ({:.1}x)",
        hundred.as_secs_f64() / ten.as_secs_f64()
    );
}
