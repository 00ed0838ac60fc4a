//! Full-text search over recommendations, measures and good practices: every word must match
//! (English stemming), hits are ranked by score, each snippet marks the matches, `totalCount`
//! counts all matching records, and paging with `after` continues without duplicates.

use std::collections::BTreeSet;

use serde_json::json;

use crate::helpers::*;

const SEARCH: &str = "query($text: String!, $first: Int, $after: String) {
    s: search(text: $text, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { score snippet node {
            __typename ... on Recommendation { ref } ... on Measure { ref } ... on GoodPractice { ref } ... on Concern { ref } ... on Action { ref }
        } } }
    }
}";

/// (typename, ref) of every record whose text has all the words.
fn brute_force(f: &Files, text: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for r in &f.recommendations {
        if text_matches(&r.text, text) {
            out.insert(("Recommendation".to_owned(), r.id.clone()));
        }
    }
    for m in &f.measures {
        if text_matches(&measure_text(m), text) {
            out.insert(("Measure".to_owned(), m.id.clone()));
        }
    }
    for g in &f.good_practices {
        if text_matches(&good_practice_text(g), text) {
            out.insert(("GoodPractice".to_owned(), g.id.clone()));
        }
    }
    for (what, rows) in [("Concern", &f.concerns), ("Action", &f.actions)] {
        for r in rows {
            if text_matches(&r.text(), text) {
                out.insert((what.to_owned(), r.id.clone()));
            }
        }
    }
    out
}

/// Checks a whole search, walked in pages of `size`, against brute force.
async fn check_search(app: &TestApp, text: &str, size: usize) -> usize {
    let w = walk(
        app,
        SEARCH,
        json!({ "text": text }),
        &["s"],
        size,
        Direction::Forward,
    )
    .await;
    let expected = brute_force(&app.files, text);
    assert_eq!(
        w.total_count as usize,
        expected.len(),
        "totalCount of {text:?}"
    );
    let hits: Vec<(String, String)> = w
        .nodes
        .iter()
        .map(|h| {
            (
                h["node"]["__typename"].as_str().unwrap().to_owned(),
                key(&h["node"]),
            )
        })
        .collect();
    let distinct: BTreeSet<(String, String)> = hits.iter().cloned().collect();
    assert_eq!(
        distinct.len(),
        hits.len(),
        "{text:?}: a hit repeats across pages"
    );
    assert_eq!(
        distinct, expected,
        "{text:?}: the hits are the records with every word"
    );
    let query_stems = stems(text);
    let mut previous = f64::INFINITY;
    for h in &w.nodes {
        let score = h["score"].as_f64().unwrap();
        assert!(score.is_finite() && score > 0.0, "{text:?}: score {score}");
        assert!(
            score <= previous,
            "{text:?}: scores are not descending ({score} after {previous})"
        );
        previous = score;
        let snippet = h["snippet"].as_str().unwrap();
        assert!(
            snippet.contains("<mark>") && snippet.contains("</mark>"),
            "{text:?}: no <mark> in {snippet}"
        );
        // Every marked word is one of the query's words, after stemming.
        for marked in snippet.split("<mark>").skip(1) {
            let word = marked.split("</mark>").next().unwrap();
            assert!(
                stems(word).iter().all(|s| query_stems.contains(s)),
                "{text:?}: {word:?} is marked"
            );
        }
        // Nothing but <mark> is left unescaped.
        let rest = snippet.replace("<mark>", "").replace("</mark>", "");
        assert!(
            !rest.contains('<') && !rest.contains('>'),
            "{text:?}: unescaped HTML in {snippet}"
        );
    }
    expected.len()
}

#[tokio::test]
async fn search_matches_brute_force_on_tiny() {
    let app = tiny_app();
    let mut kinds = BTreeSet::new();
    for (text, size) in [
        ("covid", 50),
        ("guarantee persons", 100),
        ("introduced targeting", 7),
        ("pandemic", 500),
        ("vaccination campaign", 3),
        ("Persons WITH disabilities", 40),
    ] {
        let n = check_search(app, text, size).await;
        assert!(n > 0, "{text:?} finds something");
        let d = app
            .data(SEARCH, json!({ "text": text, "first": 500 }))
            .await;
        for h in d["s"]["edges"].as_array().unwrap() {
            kinds.insert(h["node"]["node"]["__typename"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(kinds.len(), 5, "hits of all five kinds: {kinds:?}");
}

#[tokio::test]
async fn search_matches_brute_force_on_default() {
    let app = default_app();
    for (text, size) in [
        ("torture", 500),
        ("mobile courts", 10),
        ("detainees released prison", 20),
        ("lockdown school", 250),
    ] {
        let n = check_search(app, text, size).await;
        assert!(n > 0, "{text:?} finds something");
    }
}

#[tokio::test]
async fn search_defaults_and_edges() {
    let app = tiny_app();
    // `first` defaults to 20.
    let d = app.data(SEARCH, json!({ "text": "covid" })).await;
    assert_eq!(d["s"]["edges"].as_array().unwrap().len(), 20);
    assert_eq!(d["s"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(d["s"]["pageInfo"]["hasPreviousPage"], false);
    // A word no record has: no hits, no error.
    let d = app.data(SEARCH, json!({ "text": "xylophonezzz" })).await;
    assert_eq!(d["s"]["totalCount"], 0);
    assert_eq!(d["s"]["edges"], json!([]));
    assert_eq!(d["s"]["pageInfo"]["hasNextPage"], false);
    // One known and one unknown word: every word must match.
    let d = app
        .data(SEARCH, json!({ "text": "covid xylophonezzz" }))
        .await;
    assert_eq!(d["s"]["totalCount"], 0);
    // Stop words and punctuation are ignored.
    let a = app
        .data(SEARCH, json!({ "text": "covid", "first": 500 }))
        .await;
    let b = app
        .data(SEARCH, json!({ "text": "the COVID, of!", "first": 500 }))
        .await;
    assert_eq!(a, b);
    // The same search twice gives the same order.
    let c = app
        .data(SEARCH, json!({ "text": "covid", "first": 500 }))
        .await;
    assert_eq!(a, c);
    // The union type works with fragments on every member.
    let d = app
        .data(
            "{ search(text: \"covid\", first: 500) { nodes { node {
                ... on Recommendation { stateUnderReview { code } }
                ... on Measure { country { code } }
                ... on GoodPractice { countries { code } }
                ... on Concern { countries { code } }
                ... on Action { countries { code } }
            } } } }",
            json!({}),
        )
        .await;
    for n in d["search"]["nodes"].as_array().unwrap() {
        let node = &n["node"];
        assert!(
            node["stateUnderReview"]["code"].is_string()
                || node["country"]["code"].is_string()
                || node["countries"].is_array(),
            "{node}"
        );
    }
}

#[tokio::test]
async fn search_ranks_shorter_texts_higher_for_the_same_word_count() {
    // BM25: among hits with the word once, a text half as long (or less) never ranks lower.
    let app = default_app();
    let d = app
        .data(
            "{ search(text: \"torture\", first: 500) { nodes { score node { ... on Recommendation { ref text } } } } }",
            json!({}),
        )
        .await;
    let hits: Vec<(f64, usize, usize)> = d["search"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| {
            let text = h["node"]["text"].as_str()?;
            let words = text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .count();
            let tf = text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| stems(w).contains("tortur"))
                .count();
            Some((h["score"].as_f64().unwrap(), tf, words))
        })
        .collect();
    assert!(hits.len() > 100);
    let one: Vec<&(f64, usize, usize)> = hits.iter().filter(|h| h.1 == 1).collect();
    // With one occurrence each, a shorter text (by a clear margin) never scores lower.
    for a in &one {
        for b in &one {
            if a.2 * 2 < b.2 {
                assert!(a.0 >= b.0 - 1e-9, "{a:?} ranks below the longer {b:?}");
            }
        }
    }
}
