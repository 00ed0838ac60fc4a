//! The catalog follows writes: after every one of a few hundred random writes (links,
//! measures, recommendations, good practices; created, changed, deleted, some refused), the
//! catalog the server serves equals one loaded afresh from the store.

use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use recover_better::catalog::Catalog;
use recover_better::live::Live;
use recover_better::model::*;
use recover_better::store::{Change, Key, Record, Store};

use crate::common::{import_dir, Dataset};

fn r(s: &str) -> Ref {
    Ref::parse(s).unwrap()
}

fn slug(s: &str) -> Slug {
    Slug::parse(s).unwrap()
}

fn random_change(rng: &mut impl Rng, c: &Catalog, n: usize) -> Change {
    let recs: Vec<Recommendation> = c
        .recommendations
        .in_order()
        .map(|x| x.record.clone())
        .collect();
    let measures: Vec<Measure> = c.measures.in_order().map(|x| x.record.clone()).collect();
    let practices: Vec<GoodPractice> = c
        .good_practices
        .in_order()
        .map(|x| x.record.clone())
        .collect();
    let themes = [
        "covid-19",
        "right-to-health",
        "justice",
        "women-rights",
        "poverty",
    ];
    let words = [
        "prison", "health", "women", "income", "courts", "release", "testing",
    ];
    let text = |rng: &mut dyn rand::RngCore| {
        (0..4)
            .map(|_| *words.choose(rng).unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    };
    match rng.gen_range(0..10) {
        0..=2 if !recs.is_empty() && !measures.is_empty() => {
            let rec = recs.choose(rng).unwrap();
            let m = measures.choose(rng).unwrap();
            Change::put(Record::Link(Link {
                recommendation: rec.id.clone(),
                measure: m.id.clone(),
                relation: *LinkRelation::ALL.choose(rng).unwrap(),
                status: *LinkStatus::ALL.choose(rng).unwrap(),
                note: Some(text(rng)),
                evidence_url: None,
                created_by: Some("tester".into()),
                created_at: None,
                updated_at: None,
            }))
        }
        3 if !c.links.is_empty() => {
            let l = c.links.get(rng.gen_range(0..c.links.len())).unwrap();
            Change::delete(Key::Link(l.record.key()))
        }
        4 => {
            let mut m = measures
                .choose(rng)
                .cloned()
                .filter(|_| rng.gen_bool(0.5))
                .unwrap_or_else(|| Measure {
                    id: r(&format!("M-T-{n}")),
                    country: CountryCode::parse("HND").unwrap(),
                    title: "t".into(),
                    description: "d".into(),
                    category: MeasureCategory::Health,
                    start_date: Date::parse("2020-04-01").unwrap(),
                    end_date: None,
                    themes: vec![],
                    groups: vec![],
                    sdgs: vec![],
                    source: None,
                    source_code: None,
                    source_url: None,
                });
            m.title = text(rng);
            m.country = CountryCode::parse(["HND", "USA", "UKR"].choose(rng).unwrap()).unwrap();
            m.category = *[MeasureCategory::Health, MeasureCategory::Justice]
                .choose(rng)
                .unwrap();
            m.themes = vec![slug(themes.choose(rng).unwrap())];
            Change::put(Record::Measure(m))
        }
        5 if !measures.is_empty() => {
            Change::delete(Key::Measure(measures.choose(rng).unwrap().id.clone()))
        }
        6 => {
            let mut rec = recs
                .choose(rng)
                .cloned()
                .filter(|_| rng.gen_bool(0.5))
                .unwrap_or_else(|| Recommendation {
                    id: r(&format!("R-T-{n}")),
                    text: "x".into(),
                    state_under_review: CountryCode::parse("USA").unwrap(),
                    recommending_states: vec![CountryCode::parse("PRT").unwrap()],
                    session: SessionNumber::new(36).unwrap(),
                    response: Response::Pending,
                    action_category: None,
                    themes: vec![],
                    groups: vec![],
                    sdgs: vec![],
                    document: None,
                    paragraph: None,
                    source_themes: vec![],
                    set_by: None,
                });
            rec.text = text(rng);
            rec.response = *Response::ALL.choose(rng).unwrap();
            rec.themes = vec![slug(themes.choose(rng).unwrap())];
            Change::put(Record::Recommendation(rec))
        }
        7 if !recs.is_empty() => {
            Change::delete(Key::Recommendation(recs.choose(rng).unwrap().id.clone()))
        }
        8 => {
            let mut p = practices
                .choose(rng)
                .cloned()
                .unwrap_or_else(|| GoodPractice {
                    id: r(&format!("GP-T-{n}")),
                    title: "t".into(),
                    description: "d".into(),
                    countries: vec![],
                    year: None,
                    themes: vec![],
                    groups: vec![],
                    sdgs: vec![],
                    measures: vec![],
                    recommendations: vec![],
                    source: None,
                });
            p.description = text(rng);
            p.measures = measures
                .iter()
                .filter(|_| rng.gen_bool(0.3))
                .map(|m| m.id.clone())
                .collect();
            p.recommendations = recs
                .iter()
                .filter(|_| rng.gen_bool(0.2))
                .map(|m| m.id.clone())
                .collect();
            Change::put(Record::GoodPractice(p))
        }
        _ if !practices.is_empty() => {
            Change::delete(Key::GoodPractice(practices.choose(rng).unwrap().id.clone()))
        }
        _ => Change::delete(Key::Measure(r("M-NOPE"))),
    }
}

#[test]
fn the_served_catalog_equals_a_fresh_load_after_every_write() {
    let store = Arc::new(Store::temporary().unwrap());
    let data = Dataset::small().write_temp();
    import_dir(&store, data.path()).unwrap();
    let live = Live::new(store.clone(), Catalog::load(&store).unwrap());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let (mut applied, mut refused) = (0, 0);
    for n in 0..300 {
        let before = live.snapshot();
        let change = random_change(&mut rng, &before, n);
        match live.write(vec![change.clone()], "tester") {
            Ok(_) => applied += 1,
            Err(_) => refused += 1,
        }
        let fresh = Catalog::load(&store).unwrap();
        let diff = live.snapshot().differences(&fresh);
        assert!(diff.is_empty(), "after write {n} ({change:?}): {diff:#?}");
    }
    // Both paths were exercised.
    assert!(
        applied > 150 && refused > 10,
        "applied {applied}, refused {refused}"
    );
}
