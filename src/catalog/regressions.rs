//! Rights regressions: COVID-19 measures that ran against commitments a State had accepted.
//!
//! A measure of the State is a possible regression when
//! - it runs against a recommendation by a person's judgement (a link with relation
//!   CONTRADICTS, CONFIRMED or SUGGESTED; a REJECTED one was judged not to), or it belongs to
//!   a restrictive category (MOVEMENT, ASSEMBLY, EMERGENCY_POWERS, PRIVACY), and
//! - while it was in force the State had SUPPORTED recommendations on the rights it
//!   affects.
//!
//! The rights a measure affects are its themes and the themes of its category (the measure
//! category → themes crosswalk). A SUPPORTED recommendation received by the State counts when
//! it shares one of those themes and was made in a session that started on or before the
//! day the measure ended (any session, when the measure has no end date): the commitment
//! existed while the measure was in force. A recommendation linked to the measure as
//! CONTRADICTS counts whatever its themes, as long as it is SUPPORTED and was made in time.
//! Where a session's date is not known, its cycle's first day stands in for it; where
//! neither is known, the recommendation only counts against a measure without an end date.

use std::collections::{BTreeSet, HashMap};

use roaring::RoaringBitmap;

use super::suggest::review;
use super::{Catalog, LinkRow};
use crate::model::*;
use crate::store::Index;

/// The categories of measures that restrict rights by design.
pub const RESTRICTIVE_CATEGORIES: &[MeasureCategory] = &[
    MeasureCategory::Movement,
    MeasureCategory::Assembly,
    MeasureCategory::EmergencyPowers,
    MeasureCategory::Privacy,
];

/// A measure (internal id) that may have set back rights the State had committed to.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    pub measure: u32,
    /// Why the measure is suspect: its CONTRADICTS links, then its restrictive category.
    pub reasons: Vec<String>,
    /// The affected themes on which the State had SUPPORTED recommendations, by slug.
    pub themes: Vec<Slug>,
    /// Those SUPPORTED recommendations (internal ids), in the order of their ids (refs).
    pub recommendations: Vec<u32>,
}

/// The possible regressions of a country, by start date, then measure id (ref).
pub fn regressions(cat: &Catalog, country: CountryCode) -> Vec<Regression> {
    regressions_of(cat, &[country]).pop().unwrap_or_default()
}

/// The possible regressions of each of the countries, in their order, each as
/// [`regressions`] gives it; the links are read in one pass for all of them.
pub fn regressions_of(cat: &Catalog, countries: &[CountryCode]) -> Vec<Vec<Regression>> {
    let mut measures = RoaringBitmap::new();
    for c in countries {
        measures |= cat.list(&Index::MeasuresByCountry(*c));
    }
    // The CONTRADICTS links that a person did not reject, by measure: one pass over the links
    // (kept in key order, so each measure's links come in key order too), with no lookup by
    // refs.
    let mut contradicts: HashMap<u32, Vec<&LinkRow>> = HashMap::new();
    for l in cat.links.iter() {
        if l.record.relation == LinkRelation::Contradicts
            && l.record.status != LinkStatus::Rejected
            && measures.contains(l.measure)
        {
            contradicts.entry(l.measure).or_default().push(l.as_ref());
        }
    }
    countries
        .iter()
        .map(|c| of_country(cat, *c, &contradicts))
        .collect()
}

/// What a set of affected themes finds among a country's commitments made in time: the themes
/// with a SUPPORTED recommendation, and those recommendations (also in ref order).
struct Found {
    themes: Vec<Slug>,
    recommendations: RoaringBitmap,
    in_ref_order: Vec<u32>,
}

fn of_country(
    cat: &Catalog,
    country: CountryCode,
    contradicts: &HashMap<u32, Vec<&LinkRow>>,
) -> Vec<Regression> {
    let supported: RoaringBitmap = cat.list(&Index::RecommendationsReceived(country))
        & cat.list(&Index::RecommendationsByResponse(Response::Supported));
    // Worked out once per country rather than once per measure and theme: when each supported
    // recommendation was made (sorted by that day), which of them are on each theme, and,
    // for each set of affected themes and each window of time, what they find.
    let mut known = RoaringBitmap::new();
    let mut made: Vec<(Date, u32)> = vec![];
    for r in &supported {
        let Some(row) = cat.recommendations.get(r) else {
            continue;
        };
        known.insert(r);
        if let Some(rv) = review(cat, row.record.session) {
            made.push((rv.date, r));
        }
    }
    made.sort_unstable();
    // A measure's window: every known recommendation when it has no end date, else those
    // made on or before its end (the first `n` of `made`).
    let mut windows: HashMap<Option<usize>, RoaringBitmap> = HashMap::new();
    let mut on_theme: HashMap<&Slug, RoaringBitmap> = HashMap::new();
    let mut cache: HashMap<(Vec<&Slug>, Option<usize>), Found> = HashMap::new();
    let in_ref_order = |set: &RoaringBitmap| -> Vec<u32> {
        let mut v: Vec<(u32, u32)> = set
            .iter()
            .filter_map(|r| Some((cat.recommendations.rank(r)?, r)))
            .collect();
        v.sort_unstable();
        v.into_iter().map(|(_, r)| r).collect()
    };

    let mut found: Vec<(Date, u32, Regression)> = vec![];
    for id in cat.list(&Index::MeasuresByCountry(country)) {
        let Some(row) = cat.measures.get(id) else {
            continue;
        };
        let m = &row.record;
        let contradicts = contradicts.get(&id).map_or(&[][..], Vec::as_slice);
        let restrictive = RESTRICTIVE_CATEGORIES.contains(&m.category);
        if contradicts.is_empty() && !restrictive {
            continue;
        }
        let affected: BTreeSet<&Slug> = m
            .themes
            .iter()
            .chain(
                cat.measure_category(m.category)
                    .map_or(&[][..], |c| c.themes.as_slice()),
            )
            .collect();
        let affected: Vec<&Slug> = affected.into_iter().collect();
        let window = m
            .end_date
            .map(|end| made.partition_point(|(d, _)| *d <= end));
        let key = (affected, window);
        if !cache.contains_key(&key) {
            let in_time = windows.entry(window).or_insert_with(|| match window {
                None => known.clone(),
                Some(n) => made[..n].iter().map(|(_, r)| *r).collect(),
            });
            let mut themes = vec![];
            let mut recommendations = RoaringBitmap::new();
            for &t in &key.0 {
                let on = on_theme.entry(t).or_insert_with(|| {
                    cat.list(&Index::RecommendationsByTheme(t.clone())) & &supported
                });
                let hits = &*on & &*in_time;
                if !hits.is_empty() {
                    themes.push(t.clone());
                    recommendations |= hits;
                }
            }
            let in_ref_order = in_ref_order(&recommendations);
            cache.insert(
                key.clone(),
                Found {
                    themes,
                    recommendations,
                    in_ref_order,
                },
            );
        }
        let on_themes = &cache[&key];

        let in_time = |r: &Recommendation| match m.end_date {
            None => true,
            Some(end) => review(cat, r.session).is_some_and(|rv| rv.date <= end),
        };
        let mut reasons = vec![];
        let mut also = vec![];
        for l in contradicts {
            let unconfirmed = match l.record.status {
                LinkStatus::Suggested => " (suggested, not yet confirmed)",
                _ => "",
            };
            reasons.push(format!(
                "linked as CONTRADICTS to {}{unconfirmed}",
                l.record.recommendation
            ));
            if let Some(r) = cat.recommendations.get(l.recommendation) {
                if r.record.response == Response::Supported
                    && in_time(&r.record)
                    && !on_themes.recommendations.contains(r.id)
                {
                    also.push(r.id);
                }
            }
        }
        if restrictive {
            reasons.push(format!("restrictive category {}", m.category));
        }
        let recommendations = if also.is_empty() {
            on_themes.in_ref_order.clone()
        } else {
            let mut all = on_themes.recommendations.clone();
            all.extend(also);
            in_ref_order(&all)
        };
        if recommendations.is_empty() {
            continue;
        }
        found.push((
            m.start_date,
            cat.measures.rank(id).unwrap_or(u32::MAX),
            Regression {
                measure: id,
                reasons,
                themes: on_themes.themes.clone(),
                recommendations,
            },
        ));
    }
    found.sort_by_key(|a| (a.0, a.1));
    found.into_iter().map(|(_, _, r)| r).collect()
}

/// Whether the measure was in force at some time during the cycle: its days, from the start
/// date to the end date (open when it has none), meet the cycle's (a cycle without a start
/// or end date is open on that side).
pub fn overlaps_cycle(measure: &Measure, cycle: &Cycle) -> bool {
    let starts_in_time = cycle.end_date.is_none_or(|end| measure.start_date <= end);
    let lasts_long_enough = match (measure.end_date, cycle.start_date) {
        (Some(end), Some(start)) => end >= start,
        _ => true,
    };
    starts_in_time && lasts_long_enough
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ApplyOptions, Change, Record, Store};

    fn put<T: serde::de::DeserializeOwned>(wrap: fn(T) -> Record, json: &str) -> Change {
        Change::put(wrap(
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}")),
        ))
    }

    /// Honduras with commitments from three cycles and measures of every kind that matters.
    fn fixture() -> Catalog {
        let mut changes = vec![put(Record::Sdg, r#"{"goal":16,"name":"Peace"}"#)];
        for slug in [
            "covid-19",
            "cp-rights-general",
            "detention",
            "freedom-of-association-and-peaceful-assembly",
            "freedom-of-movement",
            "freedom-of-opinion-and-expression",
            "justice",
            "right-to-health",
        ] {
            changes.push(put(
                Record::Theme,
                &format!(r#"{{"slug":"{slug}","name":"{slug}","sdgs":[16]}}"#),
            ));
        }
        for (code, themes) in [
            ("HEALTH", r#"["right-to-health","covid-19"]"#),
            ("JUSTICE", r#"["justice"]"#),
            ("MOVEMENT", r#"["freedom-of-movement"]"#),
            (
                "ASSEMBLY",
                r#"["freedom-of-association-and-peaceful-assembly"]"#,
            ),
            ("EMERGENCY_POWERS", r#"["cp-rights-general"]"#),
            ("PRIVACY", r#"["cp-rights-general"]"#),
        ] {
            changes.push(put(
                Record::MeasureCategory,
                &format!(r#"{{"code":"{code}","name":"{code}","themes":{themes}}}"#),
            ));
        }
        for code in ["FRA", "HND", "USA"] {
            changes.push(put(
                Record::Country,
                &format!(r#"{{"code":"{code}","name":"{code}"}}"#),
            ));
        }
        for c in [
            r#"{"number":1,"start_date":"2008-04-07","end_date":"2011-10-14"}"#,
            r#"{"number":2,"start_date":"2012-05-21","end_date":"2016-11-11"}"#,
            r#"{"number":3,"start_date":"2017-05-01","end_date":"2022-02-04"}"#,
            r#"{"number":4,"start_date":"2022-11-07","end_date":null}"#,
        ] {
            changes.push(put(Record::Cycle, c));
        }
        for s in [
            // Session 9's date is unknown: cycle 1's start stands in for it.
            r#"{"number":9,"cycle":1,"states_under_review":["HND","USA"]}"#,
            r#"{"number":22,"cycle":2,"start_date":"2015-05-04","states_under_review":["HND","USA"]}"#,
            r#"{"number":36,"cycle":3,"start_date":"2020-11-02","states_under_review":["HND","USA"]}"#,
            r#"{"number":41,"cycle":4,"start_date":"2022-11-07","states_under_review":["HND","USA"]}"#,
        ] {
            changes.push(put(Record::Session, s));
        }
        for (id, session, themes, response) in [
            ("R-9-HND-1", 9, "detention", "SUPPORTED"),
            ("R-22-HND-1", 22, "freedom-of-movement", "SUPPORTED"),
            (
                "R-22-HND-2",
                22,
                "freedom-of-association-and-peaceful-assembly",
                "NOTED",
            ),
            ("R-22-HND-3", 22, "right-to-health", "SUPPORTED"),
            ("R-22-HND-4", 22, "justice", "SUPPORTED"),
            ("R-22-HND-5", 22, "cp-rights-general", "SUPPORTED"),
            ("R-22-HND-6", 22, "justice", "PENDING"),
            ("R-36-HND-1", 36, "justice", "SUPPORTED"),
            (
                "R-36-HND-2",
                36,
                "freedom-of-opinion-and-expression",
                "SUPPORTED",
            ),
            ("R-41-HND-1", 41, "freedom-of-movement", "SUPPORTED"),
            (
                "R-22-USA-1",
                22,
                "freedom-of-association-and-peaceful-assembly",
                "SUPPORTED",
            ),
        ] {
            let state = &id[id.len() - 5..id.len() - 2];
            changes.push(put(
                Record::Recommendation,
                &format!(
                    r#"{{"id":"{id}","text":"Recommendation {id}.","state_under_review":"{state}","recommending_states":["FRA"],"session":{session},"response":"{response}","themes":["{themes}"],"groups":[],"sdgs":[16]}}"#
                ),
            ));
        }
        for (id, category, start, end, themes) in [
            // Movement: only the commitment of 2015 existed while the curfew lasted.
            (
                "M-HND-01",
                "MOVEMENT",
                "2020-03-16",
                "2020-09-30",
                r#"["covid-19","freedom-of-movement"]"#,
            ),
            // Same start day as M-HND-01: the ids order them.
            (
                "M-HND-02",
                "MOVEMENT",
                "2020-03-16",
                "2020-04-30",
                r#"["covid-19"]"#,
            ),
            // Assembly: the only recommendation on it was NOTED (and USA's is not Honduras's).
            (
                "M-HND-03",
                "ASSEMBLY",
                "2020-03-20",
                "null",
                r#"["covid-19","freedom-of-association-and-peaceful-assembly"]"#,
            ),
            // Not restrictive, and its CONTRADICTS link was REJECTED.
            (
                "M-HND-04",
                "HEALTH",
                "2020-04-01",
                "null",
                r#"["covid-19","right-to-health"]"#,
            ),
            // A CONFIRMED CONTRADICTS link to a recommendation on another theme.
            (
                "M-HND-05",
                "JUSTICE",
                "2020-04-01",
                "2020-06-30",
                r#"["justice"]"#,
            ),
            // Emergency powers, open-ended, with a SUGGESTED CONTRADICTS link.
            (
                "M-HND-06",
                "EMERGENCY_POWERS",
                "2020-03-15",
                "null",
                r#"["covid-19"]"#,
            ),
            // Privacy reaches cp-rights-general through its category only.
            (
                "M-HND-07",
                "PRIVACY",
                "2020-06-01",
                "2020-12-31",
                r#"["covid-19"]"#,
            ),
            // A restrictive measure of another State.
            (
                "M-USA-01",
                "ASSEMBLY",
                "2020-03-20",
                "null",
                r#"["freedom-of-association-and-peaceful-assembly"]"#,
            ),
        ] {
            let country = &id[2..5];
            let end = if end == "null" {
                end.to_owned()
            } else {
                format!(r#""{end}""#)
            };
            changes.push(put(
                Record::Measure,
                &format!(
                    r#"{{"id":"{id}","country":"{country}","title":"{id}","description":"","category":"{category}","start_date":"{start}","end_date":{end},"themes":{themes},"groups":[],"sdgs":[]}}"#
                ),
            ));
        }
        for (rec, measure, relation, status) in [
            ("R-22-HND-3", "M-HND-04", "CONTRADICTS", "REJECTED"),
            ("R-9-HND-1", "M-HND-05", "CONTRADICTS", "CONFIRMED"),
            ("R-22-HND-4", "M-HND-05", "RELATED", "CONFIRMED"),
            ("R-36-HND-2", "M-HND-06", "CONTRADICTS", "SUGGESTED"),
            ("R-22-HND-1", "M-HND-01", "IMPLEMENTS", "REJECTED"),
        ] {
            changes.push(put(
                Record::Link,
                &format!(
                    r#"{{"recommendation":"{rec}","measure":"{measure}","relation":"{relation}","status":"{status}"}}"#
                ),
            ));
        }
        let store = Store::temporary().unwrap();
        store.apply(changes, ApplyOptions::default()).unwrap();
        Catalog::load(&store).unwrap()
    }

    /// A regression as refs and strings: (measure, reasons, themes, recommendations).
    fn readable(cat: &Catalog, r: &Regression) -> (String, Vec<String>, Vec<String>, Vec<String>) {
        (
            cat.measures.get(r.measure).unwrap().record.id.to_string(),
            r.reasons.clone(),
            r.themes.iter().map(Slug::to_string).collect(),
            r.recommendations
                .iter()
                .map(|&id| cat.recommendations.get(id).unwrap().record.id.to_string())
                .collect(),
        )
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn regressions_are_measures_that_ran_against_supported_commitments() {
        let cat = fixture();
        let found: Vec<_> = regressions(&cat, CountryCode::parse("HND").unwrap())
            .iter()
            .map(|r| readable(&cat, r))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "M-HND-06".to_string(),
                    strings(&[
                        "linked as CONTRADICTS to R-36-HND-2 (suggested, not yet confirmed)",
                        "restrictive category EMERGENCY_POWERS",
                    ]),
                    strings(&["cp-rights-general"]),
                    strings(&["R-22-HND-5", "R-36-HND-2"]),
                ),
                (
                    "M-HND-01".to_string(),
                    strings(&["restrictive category MOVEMENT"]),
                    strings(&["freedom-of-movement"]),
                    // R-41-HND-1 came after the curfew ended.
                    strings(&["R-22-HND-1"]),
                ),
                (
                    "M-HND-02".to_string(),
                    strings(&["restrictive category MOVEMENT"]),
                    strings(&["freedom-of-movement"]),
                    strings(&["R-22-HND-1"]),
                ),
                (
                    "M-HND-05".to_string(),
                    strings(&["linked as CONTRADICTS to R-9-HND-1"]),
                    strings(&["justice"]),
                    // R-36-HND-1 (justice) came after the measure ended, R-22-HND-6 is
                    // PENDING; the linked R-9-HND-1 counts although it is on detention.
                    strings(&["R-22-HND-4", "R-9-HND-1"]),
                ),
                (
                    "M-HND-07".to_string(),
                    strings(&["restrictive category PRIVACY"]),
                    strings(&["cp-rights-general"]),
                    strings(&["R-22-HND-5"]),
                ),
            ]
        );
    }

    #[test]
    fn a_restrictive_measure_without_supported_commitments_on_its_themes_is_not_a_regression() {
        let cat = fixture();
        let measures: Vec<u32> = regressions(&cat, CountryCode::parse("HND").unwrap())
            .iter()
            .map(|r| r.measure)
            .collect();
        let id = |m: &str| cat.measures.by_ref(m).unwrap().id;
        assert!(!measures.contains(&id("M-HND-03")), "assembly: only NOTED");
        assert!(!measures.contains(&id("M-HND-04")), "REJECTED CONTRADICTS");
        let usa = regressions(&cat, CountryCode::parse("USA").unwrap());
        assert_eq!(usa.len(), 1);
        assert_eq!(usa[0].measure, id("M-USA-01"));
        assert!(regressions(&cat, CountryCode::parse("FRA").unwrap()).is_empty());
    }

    fn measure(start: &str, end: Option<&str>) -> Measure {
        serde_json::from_value(serde_json::json!({
            "id": "M-1", "country": "HND", "title": "t", "description": "", "category": "MOVEMENT",
            "start_date": start, "end_date": end, "themes": [], "groups": [], "sdgs": []
        }))
        .unwrap()
    }

    fn cycle(start: Option<&str>, end: Option<&str>) -> Cycle {
        serde_json::from_value(
            serde_json::json!({"number": 3, "start_date": start, "end_date": end}),
        )
        .unwrap()
    }

    #[test]
    fn a_measure_overlaps_a_cycle_when_their_days_meet() {
        let cycle3 = cycle(Some("2017-05-01"), Some("2022-02-04"));
        let cycle4 = cycle(Some("2022-11-07"), None);
        let curfew = measure("2020-03-16", Some("2020-09-30"));
        assert!(overlaps_cycle(&curfew, &cycle3));
        assert!(!overlaps_cycle(&curfew, &cycle4));
        let open = measure("2020-03-16", None);
        assert!(overlaps_cycle(&open, &cycle4), "still in force");
        assert!(
            overlaps_cycle(&measure("2020-01-01", Some("2022-11-07")), &cycle4),
            "last day"
        );
        assert!(
            overlaps_cycle(&measure("2022-02-04", None), &cycle3),
            "first day"
        );
        assert!(!overlaps_cycle(
            &measure("2022-02-05", Some("2022-03-01")),
            &cycle3
        ));
        assert!(overlaps_cycle(&curfew, &cycle(None, None)));
        assert!(!overlaps_cycle(&curfew, &cycle(None, Some("2019-12-31"))));
        assert!(!overlaps_cycle(&curfew, &cycle(Some("2020-10-01"), None)));
    }
}
