//! The assessment as a specification: its reasons match their rules on hand-written
//! examples, and its agreement with UPR Info's coders on the held-out sessions 16-20 stays
//! above a floor, so a change to the tables or rules that makes it worse fails CI. The floors
//! sit below the figures `cargo run --example assess_eval` measured (benches/README.md).

use recover_better::assess::{assess, fit};

fn has(reasons: &[String], wanted: &str) -> bool {
    reasons.iter().any(|r| r == wanted)
}

#[test]
fn a_deadline_makes_a_recommendation_time_bound_and_says_which() {
    let a = assess("Adopt a law on domestic violence by 2022.");
    assert_eq!(a.smart.time_bound.score, 1.0);
    assert!(
        has(
            &a.smart.time_bound.reasons,
            "time-bound: names a deadline, 'by 2022'"
        ),
        "{:?}",
        a.smart.time_bound.reasons
    );
}

#[test]
fn a_recommendation_without_a_date_is_not_time_bound() {
    let a = assess("Continue its efforts to promote the rights of women.");
    assert_eq!(a.smart.time_bound.score, 0.0);
    assert_eq!(
        a.smart.time_bound.reasons,
        vec!["time-bound: no deadline or time frame".to_owned()]
    );
}

#[test]
fn a_call_for_efforts_is_not_measurable_and_says_there_is_no_target() {
    let a = assess("Continue its efforts to promote the rights of women.");
    assert_eq!(a.smart.measurable.score, 0.0);
    assert!(
        has(
            &a.smart.measurable.reasons,
            "measurable: no quantity, target or indicator"
        ),
        "{:?}",
        a.smart.measurable.reasons
    );
    assert!(
        has(
            &a.smart.measurable.reasons,
            "measurable: asks for more of something with no end point, 'Continue'"
        ),
        "{:?}",
        a.smart.measurable.reasons
    );
}

#[test]
fn a_percentage_and_an_indicator_make_a_recommendation_measurable() {
    let a =
        assess("Raise the education budget to 20 per cent, with indicators of school enrolment.");
    assert!(a.smart.measurable.score >= 0.9, "{:?}", a.smart.measurable);
    assert!(has(
        &a.smart.measurable.reasons,
        "measurable: names a percentage, '20 per cent'"
    ));
}

#[test]
fn the_total_is_the_mean_of_the_five_criteria() {
    let a = assess("Ratify the Convention against Torture before the next review.");
    let s = &a.smart;
    let mean = (s.specific.score
        + s.measurable.score
        + s.achievable.score
        + s.relevant.score
        + s.time_bound.score)
        / 5.0;
    assert!((s.total - mean).abs() < 1e-6);
    for score in [s.specific.score, s.measurable.score, s.achievable.score] {
        assert!((0.0..=1.0).contains(&score));
    }
}

#[test]
fn ratifying_is_specific_action_and_considering_it_is_considering_action() {
    let ratify = assess("Ratify the Convention on the Rights of Persons with Disabilities.");
    assert_eq!(
        ratify.action_category.value, 5,
        "{:?}",
        ratify.action_category
    );
    let consider =
        assess("Consider ratifying the Convention on the Rights of Persons with Disabilities.");
    assert_eq!(
        consider.action_category.value, 3,
        "{:?}",
        consider.action_category
    );
    assert!(
        consider.action_category.reasons[0].starts_with("3, considering action"),
        "{:?}",
        consider.action_category.reasons
    );
    assert!(
        consider
            .action_category
            .reasons
            .iter()
            .any(|r| r.contains("'consider")),
        "the opening word is among the reasons: {:?}",
        consider.action_category.reasons
    );
    let cont = assess("Continue its efforts to combat poverty.");
    assert_eq!(cont.action_category.value, 2, "{:?}", cont.action_category);
    assert!((0.0..=1.0).contains(&cont.action_category.confidence));
}

#[test]
fn a_suggested_theme_names_the_words_that_triggered_it() {
    let a = assess("Criminalize torture and investigate all allegations of ill-treatment in places of detention.");
    let torture = a
        .themes
        .iter()
        .find(|t| t.slug == "torture-and-other-cid-treatment")
        .unwrap_or_else(|| panic!("torture suggested: {:?}", a.themes));
    assert!(
        torture.reasons.iter().any(|r| r.contains("torture")),
        "{:?}",
        torture.reasons
    );
    let children =
        assess("Protect children from child labour and ensure birth registration of every child.");
    assert!(
        children.groups.iter().any(|g| g.slug == "children"),
        "{:?}",
        children.groups
    );
}

#[test]
fn the_same_text_always_gets_the_same_assessment() {
    let text = "Establish a national human rights institution in line with the Paris Principles.";
    assert_eq!(assess(text), assess(text));
}

#[test]
fn agreement_with_upr_info_on_the_held_out_sessions_stays_above_its_floor() {
    let jsonl = include_str!("../data/default/recommendations.jsonl");
    let coded = fit::read(jsonl).expect("the default recommendations read");
    let e = fit::evaluate(&coded);
    println!("{e}");
    // Measured 2026-11-29 with the linear SVM: 90.0 % (11,914 of 13,236; the perceptron before
    // it 89.2 %), themes micro-F1 0.875, groups 0.989, expected calibration error of the
    // confidence 0.024; recall of category 1 (83 recommendations) 74.7 %, of the others 81-98 %.
    assert!(
        e.total() > 13_000,
        "sessions 16-20 are all there: {}",
        e.total()
    );
    assert!(
        e.agreement() >= 0.895,
        "action category agreement {:.4}",
        e.agreement()
    );
    assert!(
        e.themes.f1() >= 0.86,
        "themes micro-F1 {:.4}",
        e.themes.f1()
    );
    assert!(
        e.groups.f1() >= 0.97,
        "groups micro-F1 {:.4}",
        e.groups.f1()
    );
    for v in 1..=5 {
        // Category 1 is rare (83 of 13,236): 62 right with the SVM, 68 with the perceptron.
        let floor = if v == 1 { 0.72 } else { 0.80 };
        assert!(
            e.recall(v) >= floor,
            "category {v} recall {:.4}",
            e.recall(v)
        );
    }
    // The confidence is calibrated on 13-15: on 16-20 it stays close to the share that agree.
    assert!(
        e.reliability.error() <= 0.04,
        "expected calibration error {:.4}",
        e.reliability.error()
    );
}
