//! Brute-force answers: each filter, given as the JSON the API receives, applied record by record
//! to the dataset files. In a filter, a list means "any of", fields combine with AND, and an
//! absent, null or empty list does not filter.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::Value;

use crate::helpers::{
    count, good_practice_text, measure_text, sorted, text_matches, Files, GoodPracticeRow, LinkRow,
    MeasureRow, RecommendationRow, TrackerRow,
};

/// The list under `field`, if it filters (present and not empty).
fn list<'a>(filter: &'a Value, field: &str) -> Option<&'a Vec<Value>> {
    filter
        .get(field)
        .and_then(Value::as_array)
        .filter(|v| !v.is_empty())
}

fn any_str(filter: &Value, field: &str, have: &[&str]) -> bool {
    match list(filter, field) {
        None => true,
        Some(want) => want
            .iter()
            .any(|w| have.iter().any(|h| w.as_str() == Some(h))),
    }
}

fn any_int(filter: &Value, field: &str, have: &[i64]) -> bool {
    match list(filter, field) {
        None => true,
        Some(want) => want
            .iter()
            .any(|w| have.iter().any(|h| w.as_i64() == Some(*h))),
    }
}

fn text_ok(filter: &Value, text: &str) -> bool {
    match filter.get("text").and_then(Value::as_str) {
        None => true,
        Some(q) => text_matches(text, q),
    }
}

fn linked_ok(filter: &Value, linked: bool) -> bool {
    match filter.get("linked").and_then(Value::as_bool) {
        None => true,
        Some(want) => want == linked,
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn str_date<'a>(filter: &'a Value, field: &str) -> Option<&'a str> {
    filter.get(field).and_then(Value::as_str)
}

pub fn recommendation_matches(f: &Files, filter: &Value, r: &RecommendationRow) -> bool {
    let group = |c: &String| f.group_of.get(c).cloned().flatten();
    let sur_group: Vec<String> = group(&r.state_under_review).into_iter().collect();
    let rec_groups: Vec<String> = r.recommending_states.iter().filter_map(group).collect();
    any_str(filter, "stateUnderReview", &[r.state_under_review.as_str()])
        && any_str(filter, "recommendingState", &strs(&r.recommending_states))
        && any_str(filter, "unRegionalGroup", &strs(&sur_group))
        && any_str(filter, "recommendingRegionalGroup", &strs(&rec_groups))
        && any_int(filter, "cycle", &[f.cycle_of[&r.session]])
        && any_int(filter, "session", &[r.session])
        && any_str(filter, "response", &[r.response.as_str()])
        && any_int(
            filter,
            "actionCategory",
            &r.action_category.into_iter().collect::<Vec<_>>(),
        )
        && any_str(filter, "theme", &strs(&r.themes))
        && any_str(filter, "group", &strs(&r.groups))
        && any_int(filter, "sdg", &r.sdgs)
        && text_ok(filter, &r.text)
        && linked_ok(filter, f.linked_recommendations.contains(&r.id))
}

pub fn measure_matches(f: &Files, filter: &Value, m: &MeasureRow) -> bool {
    let group: Vec<String> = f
        .group_of
        .get(&m.country)
        .cloned()
        .flatten()
        .into_iter()
        .collect();
    let start = m.start_date.as_str();
    any_str(filter, "country", &[m.country.as_str()])
        && any_str(filter, "unRegionalGroup", &strs(&group))
        && any_str(filter, "category", &[m.category.as_str()])
        && any_str(filter, "theme", &strs(&m.themes))
        && any_str(filter, "group", &strs(&m.groups))
        && any_int(filter, "sdg", &m.sdgs)
        && str_date(filter, "activeOn")
            .is_none_or(|d| start <= d && m.end_date.as_deref().is_none_or(|e| e >= d))
        && str_date(filter, "startedFrom").is_none_or(|d| start >= d)
        && str_date(filter, "startedTo").is_none_or(|d| start <= d)
        && text_ok(filter, &measure_text(m))
        && linked_ok(filter, f.linked_measures.contains(&m.id))
}

pub fn good_practice_matches(filter: &Value, g: &GoodPracticeRow) -> bool {
    any_str(filter, "country", &strs(&g.countries))
        && any_str(filter, "theme", &strs(&g.themes))
        && any_str(filter, "group", &strs(&g.groups))
        && any_int(filter, "sdg", &g.sdgs)
        && any_int(filter, "year", &g.year.into_iter().collect::<Vec<_>>())
        && text_ok(filter, &good_practice_text(g))
}

pub fn link_matches(f: &Files, filter: &Value, l: &LinkRow) -> bool {
    let sur = f
        .recommendation(&l.recommendation)
        .state_under_review
        .as_str();
    let of = f.measure(&l.measure).country.as_str();
    any_str(filter, "relation", &[l.relation.as_str()])
        && any_str(filter, "status", &[l.status.as_str()])
        && any_str(filter, "country", &[sur, of])
        && any_str(
            filter,
            "createdBy",
            &l.created_by.as_deref().into_iter().collect::<Vec<_>>(),
        )
}

pub fn country_matches(f: &crate::helpers::CountryRow, filter: &Value) -> bool {
    any_str(
        filter,
        "unRegionalGroup",
        &f.un_regional_group
            .as_deref()
            .into_iter()
            .collect::<Vec<_>>(),
    ) && any_str(
        filter,
        "region",
        &f.region.as_deref().into_iter().collect::<Vec<_>>(),
    ) && filter
        .get("nameContains")
        .and_then(Value::as_str)
        .is_none_or(|n| f.name.to_lowercase().contains(&n.to_lowercase()))
}

/// Whether a concern (`ConcernFilter`) or, with `concern` false, an action (`ActionFilter`)
/// passes the filter.
pub fn tracker_matches(f: &Files, filter: &Value, row: &TrackerRow, concern: bool) -> bool {
    let groups: Vec<String> = row
        .countries
        .iter()
        .filter_map(|c| f.group_of.get(c).cloned().flatten())
        .collect();
    let (day, from, to) = if concern {
        (&row.reported_on, "reportedFrom", "reportedTo")
    } else {
        (&row.start_date, "startedFrom", "startedTo")
    };
    let day = day.as_deref().expect("a concern's or an action's day");
    any_str(filter, "country", &strs(&row.countries))
        && any_str(filter, "unRegionalGroup", &strs(&groups))
        && any_str(filter, "kind", &[row.kind.as_str()])
        && (!concern
            || any_str(
                filter,
                "severity",
                &row.severity.as_deref().into_iter().collect::<Vec<_>>(),
            ))
        && any_str(filter, "theme", &strs(&row.themes))
        && any_str(filter, "group", &strs(&row.groups))
        && any_int(filter, "sdg", &row.sdgs)
        && str_date(filter, from).is_none_or(|d| day >= d)
        && str_date(filter, to).is_none_or(|d| day <= d)
        && text_ok(filter, &row.text())
}

/// The refs of the concerns (or actions) that pass, in ref order.
pub fn tracker_refs(f: &Files, filter: &Value, concern: bool) -> Vec<String> {
    let rows = if concern { &f.concerns } else { &f.actions };
    sorted(
        rows.iter()
            .filter(|r| tracker_matches(f, filter, r, concern))
            .map(|r| r.id.clone()),
    )
}

/// The refs that pass, in the API's default order.
pub fn recommendations<'a>(f: &'a Files, filter: &Value) -> Vec<&'a RecommendationRow> {
    let mut v: Vec<&RecommendationRow> = f
        .recommendations
        .iter()
        .filter(|r| recommendation_matches(f, filter, r))
        .collect();
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

pub fn recommendation_refs(f: &Files, filter: &Value) -> Vec<String> {
    recommendations(f, filter)
        .into_iter()
        .map(|r| r.id.clone())
        .collect()
}

pub fn measures<'a>(f: &'a Files, filter: &Value) -> Vec<&'a MeasureRow> {
    let mut v: Vec<&MeasureRow> = f
        .measures
        .iter()
        .filter(|m| measure_matches(f, filter, m))
        .collect();
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

pub fn measure_refs(f: &Files, filter: &Value) -> Vec<String> {
    measures(f, filter)
        .into_iter()
        .map(|r| r.id.clone())
        .collect()
}

pub fn good_practice_refs(f: &Files, filter: &Value) -> Vec<String> {
    sorted(
        f.good_practices
            .iter()
            .filter(|g| good_practice_matches(filter, g))
            .map(|g| g.id.clone()),
    )
}

pub fn link_keys(f: &Files, filter: &Value) -> Vec<String> {
    let mut v: Vec<(String, String)> = f
        .links
        .iter()
        .filter(|l| link_matches(f, filter, l))
        .map(|l| (l.recommendation.clone(), l.measure.clone()))
        .collect();
    v.sort();
    v.into_iter().map(|(r, m)| format!("{r}\t{m}")).collect()
}

pub fn country_codes(f: &Files, filter: &Value) -> Vec<String> {
    sorted(
        f.countries
            .iter()
            .filter(|c| country_matches(c, filter))
            .map(|c| c.code.clone()),
    )
}

/// The facets of a set of recommendations, by facet name.
pub fn recommendation_facets(
    f: &Files,
    set: &[&RecommendationRow],
) -> BTreeMap<&'static str, BTreeMap<String, u64>> {
    let mut m = BTreeMap::new();
    m.insert("response", count(set.iter().map(|r| r.response.clone())));
    m.insert(
        "actionCategory",
        count(
            set.iter()
                .filter_map(|r| r.action_category.map(|a| a.to_string())),
        ),
    );
    m.insert("theme", count(set.iter().flat_map(|r| r.themes.clone())));
    m.insert("group", count(set.iter().flat_map(|r| r.groups.clone())));
    m.insert(
        "sdg",
        count(
            set.iter()
                .flat_map(|r| r.sdgs.iter().map(|s| s.to_string())),
        ),
    );
    m.insert(
        "cycle",
        count(set.iter().map(|r| f.cycle_of[&r.session].to_string())),
    );
    m.insert("session", count(set.iter().map(|r| r.session.to_string())));
    m.insert(
        "stateUnderReview",
        count(set.iter().map(|r| r.state_under_review.clone())),
    );
    m.insert(
        "recommendingState",
        count(set.iter().flat_map(|r| r.recommending_states.clone())),
    );
    m
}

pub fn measure_facets(set: &[&MeasureRow]) -> BTreeMap<&'static str, BTreeMap<String, u64>> {
    let mut m = BTreeMap::new();
    m.insert("category", count(set.iter().map(|x| x.category.clone())));
    m.insert("country", count(set.iter().map(|x| x.country.clone())));
    m.insert("theme", count(set.iter().flat_map(|x| x.themes.clone())));
    m.insert(
        "year",
        count(set.iter().map(|x| x.start_date[..4].to_owned())),
    );
    m
}
