//! The store against a brute-force model: random sequences of puts and deletes of every entity
//! (valid and invalid) over a small fixed universe. The model predicts which applies succeed
//! and what each change does; after every apply the store must hold exactly the model's
//! records, counters and posting lists, and the integrity check must be clean.

mod common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::Config;
use roaring::RoaringBitmap;

use recover_better::model::*;
use recover_better::store::{
    check, ApplyOptions, Change, Entity, Index, Key, Outcome, Record, RefKind, Store, StoreError,
    DEPENDENCY_ORDER,
};

// --- the universe ------------------------------------------------------------------------------

/// Country codes records may use; BDI is not in the base universe.
const COUNTRIES: [&str; 5] = ["BDI", "HND", "PRT", "UKR", "USA"];
/// Cycle numbers; 5 is not in the base universe.
const CYCLES: [i64; 3] = [3, 4, 5];
const SESSIONS: [i64; 3] = [36, 37, 41];
/// Theme slugs; the last is not in the base universe.
const THEMES: [&str; 4] = ["covid-19", "right-to-health", "justice", "education"];
/// Group slugs; the last is not in the base universe.
const GROUPS: [&str; 3] = ["older-persons", "women", "children"];
/// SDG goals; the last is not in the base universe.
const SDGS: [i64; 4] = [3, 5, 16, 4];
const CATEGORIES: [MeasureCategory; 3] = [
    MeasureCategory::Health,
    MeasureCategory::Justice,
    MeasureCategory::Education,
];
const REC_IDS: usize = 6;
const MEASURE_IDS: usize = 5;
const GP_IDS: usize = 3;

fn cc(s: &str) -> CountryCode {
    CountryCode::parse(s).unwrap()
}
fn slug(s: &str) -> Slug {
    Slug::parse(s).unwrap()
}
fn goal(n: i64) -> SdgGoal {
    SdgGoal::new(n).unwrap()
}
fn cycle_no(n: i64) -> CycleNumber {
    CycleNumber::new(n).unwrap()
}
fn session_no(n: i64) -> SessionNumber {
    SessionNumber::new(n).unwrap()
}
fn date(s: &str) -> Date {
    Date::parse(s).unwrap()
}
fn rec_id(i: u8) -> Ref {
    Ref::parse(&format!("R-{}", i as usize % REC_IDS)).unwrap()
}
fn measure_id(i: u8) -> Ref {
    Ref::parse(&format!("M-{}", i as usize % MEASURE_IDS)).unwrap()
}
fn gp_id(i: u8) -> Ref {
    Ref::parse(&format!("GP-{}", i as usize % GP_IDS)).unwrap()
}

fn country(code: &str, variant: u8) -> Country {
    Country {
        code: cc(code),
        iso2: (variant % 2 == 0).then(|| Iso2::parse(&code[..2]).unwrap()),
        name: format!("Country {code} {variant}"),
        region: Some("Somewhere".into()),
        subregion: None,
        un_regional_group: UnRegionalGroup::ALL.get(variant as usize).copied(),
    }
}

fn cycle(n: i64, variant: u8) -> Cycle {
    // Variant 3 ends before it starts: refused by the record's own rules.
    let (start, end) = match variant % 4 {
        0 => ("2017-05-01", Some("2022-02-04")),
        1 => ("2017-05-02", None),
        2 => ("2022-11-07", Some("2027-01-01")),
        _ => ("2020-01-10", Some("2020-01-01")),
    };
    Cycle {
        number: cycle_no(n),
        start_date: Some(date(start)),
        end_date: end.map(date),
    }
}

fn session(n: i64, cycle: i64, states: &[&str]) -> Session {
    Session {
        number: session_no(n),
        cycle: cycle_no(cycle),
        start_date: None,
        end_date: None,
        states_under_review: states.iter().map(|s| cc(s)).collect(),
    }
}

fn theme(s: &str, sdgs: &[i64]) -> Theme {
    Theme {
        slug: slug(s),
        name: format!("Theme {s}"),
        source: None,
        sdgs: sdgs.iter().map(|&g| goal(g)).collect(),
    }
}

fn group(s: &str, variant: u8) -> Group {
    Group {
        slug: slug(s),
        name: format!("Group {s} {variant}"),
        source: (variant % 2 == 1).then(|| "UHRI".into()),
    }
}

fn sdg(g: i64, variant: u8) -> Sdg {
    Sdg {
        goal: goal(g),
        name: format!("Goal {g} v{variant}"),
    }
}

fn category(c: MeasureCategory, themes: &[&str]) -> MeasureCategoryInfo {
    MeasureCategoryInfo {
        code: c,
        name: format!("Category {c}"),
        themes: themes.iter().map(|s| slug(s)).collect(),
        oxcgrt: vec![],
        coronanet: vec![],
        acaps: vec![],
    }
}

/// The universe every sequence starts from.
fn base_universe() -> Vec<Record> {
    let mut out = vec![];
    for g in &SDGS[..3] {
        out.push(Record::Sdg(sdg(*g, 0)));
    }
    out.push(Record::Theme(theme("covid-19", &[3])));
    out.push(Record::Theme(theme("right-to-health", &[3])));
    out.push(Record::Theme(theme("justice", &[16])));
    out.push(Record::Group(group("older-persons", 0)));
    out.push(Record::Group(group("women", 0)));
    out.push(Record::MeasureCategory(category(
        MeasureCategory::Health,
        &["covid-19", "right-to-health"],
    )));
    out.push(Record::MeasureCategory(category(
        MeasureCategory::Justice,
        &["justice"],
    )));
    for c in &COUNTRIES[1..] {
        out.push(Record::Country(country(c, 0)));
    }
    out.push(Record::Cycle(cycle(3, 0)));
    out.push(Record::Cycle(cycle(4, 2)));
    out.push(Record::Session(session(36, 3, &["HND", "USA"])));
    out.push(Record::Session(session(37, 3, &["PRT", "UKR"])));
    out.push(Record::Session(session(41, 4, &["HND", "UKR"])));
    out
}

// --- the brute-force model ---------------------------------------------------------------------

/// Every record the store should hold, with its version, by the display of its natural key
/// (which is unique per key).
#[derive(Debug, Clone, Default, PartialEq)]
struct Model {
    records: BTreeMap<String, (u32, Record)>,
}

fn kind_of(r: &Record) -> Entity {
    r.entity()
}

impl Model {
    fn all(&self) -> impl Iterator<Item = &Record> {
        self.records.values().map(|(_, r)| r)
    }
    fn get(&self, key: &Key) -> Option<&(u32, Record)> {
        self.records.get(&key.to_string())
    }
    fn has(&self, key: Key) -> bool {
        self.get(&key).is_some()
    }
    fn count(&self, kind: Entity) -> u64 {
        self.all().filter(|r| kind_of(r) == kind).count() as u64
    }
    fn sessions(&self) -> Vec<&Session> {
        self.all()
            .filter_map(|r| match r {
                Record::Session(s) => Some(s),
                _ => None,
            })
            .collect()
    }
    fn recommendations(&self) -> Vec<&Recommendation> {
        self.all()
            .filter_map(|r| match r {
                Record::Recommendation(x) => Some(x),
                _ => None,
            })
            .collect()
    }
    fn measures(&self) -> Vec<&Measure> {
        self.all()
            .filter_map(|r| match r {
                Record::Measure(x) => Some(x),
                _ => None,
            })
            .collect()
    }
    fn good_practices(&self) -> Vec<&GoodPractice> {
        self.all()
            .filter_map(|r| match r {
                Record::GoodPractice(x) => Some(x),
                _ => None,
            })
            .collect()
    }
    fn concerns(&self) -> Vec<&Concern> {
        self.all()
            .filter_map(|r| match r {
                Record::Concern(x) => Some(x),
                _ => None,
            })
            .collect()
    }
    fn actions(&self) -> Vec<&Action> {
        self.all()
            .filter_map(|r| match r {
                Record::Action(x) => Some(x),
                _ => None,
            })
            .collect()
    }
    fn links(&self) -> Vec<&Link> {
        self.all()
            .filter_map(|r| match r {
                Record::Link(x) => Some(x),
                _ => None,
            })
            .collect()
    }
    fn themes(&self) -> Vec<&Theme> {
        self.all()
            .filter_map(|r| match r {
                Record::Theme(x) => Some(x),
                _ => None,
            })
            .collect()
    }
    fn categories(&self) -> Vec<&MeasureCategoryInfo> {
        self.all()
            .filter_map(|r| match r {
                Record::MeasureCategory(x) => Some(x),
                _ => None,
            })
            .collect()
    }

    /// The record's own rules (what the types cannot say).
    fn record_is_well_formed(r: &Record) -> bool {
        let range =
            |s: Option<Date>, e: Option<Date>| !matches!((s, e), (Some(s), Some(e)) if e < s);
        match r {
            Record::Country(c) => !c.name.trim().is_empty(),
            Record::Cycle(c) => range(c.start_date, c.end_date),
            Record::Recommendation(x) => {
                !x.text.trim().is_empty() && !x.recommending_states.is_empty()
            }
            Record::Measure(m) => {
                !m.title.trim().is_empty() && range(Some(m.start_date), m.end_date)
            }
            Record::GoodPractice(g) => !g.title.trim().is_empty(),
            Record::Concern(c) => {
                !c.title.trim().is_empty() && !c.countries.is_empty() && !c.source.trim().is_empty()
            }
            Record::Action(a) => {
                !a.title.trim().is_empty()
                    && !a.countries.is_empty()
                    && !a.source.trim().is_empty()
                    && range(Some(a.start_date), a.end_date)
            }
            _ => true,
        }
    }

    /// Whether every reference of the record resolves and its cross-record rules hold.
    fn references_resolve(&self, r: &Record) -> bool {
        let country = |c: &CountryCode| self.has(Key::Country(*c));
        let themes = |v: &[Slug]| v.iter().all(|s| self.has(Key::Theme(s.clone())));
        let groups = |v: &[Slug]| v.iter().all(|s| self.has(Key::Group(s.clone())));
        let sdgs = |v: &[SdgGoal]| v.iter().all(|g| self.has(Key::Sdg(*g)));
        match r {
            Record::Country(_) | Record::Cycle(_) | Record::Group(_) | Record::Sdg(_) => true,
            Record::Theme(t) => sdgs(&t.sdgs),
            Record::MeasureCategory(c) => themes(&c.themes),
            Record::Session(s) => {
                self.has(Key::Cycle(s.cycle)) && s.states_under_review.iter().all(country)
            }
            Record::Recommendation(x) => {
                let in_session = match self.get(&Key::Session(x.session)) {
                    Some((_, Record::Session(s))) => {
                        s.states_under_review.contains(&x.state_under_review)
                    }
                    _ => false,
                };
                country(&x.state_under_review)
                    && x.recommending_states.iter().all(country)
                    && in_session
                    && themes(&x.themes)
                    && groups(&x.groups)
                    && sdgs(&x.sdgs)
            }
            Record::Measure(m) => {
                country(&m.country)
                    && self.has(Key::MeasureCategory(m.category))
                    && themes(&m.themes)
                    && groups(&m.groups)
                    && sdgs(&m.sdgs)
            }
            Record::GoodPractice(g) => {
                g.countries.iter().all(country)
                    && themes(&g.themes)
                    && groups(&g.groups)
                    && sdgs(&g.sdgs)
                    && g.measures.iter().all(|m| self.has(Key::Measure(m.clone())))
                    && g.recommendations
                        .iter()
                        .all(|r| self.has(Key::Recommendation(r.clone())))
            }
            Record::Concern(c) => {
                c.countries.iter().all(country)
                    && themes(&c.themes)
                    && groups(&c.groups)
                    && sdgs(&c.sdgs)
                    && c.measures.iter().all(|m| self.has(Key::Measure(m.clone())))
                    && c.recommendations
                        .iter()
                        .all(|r| self.has(Key::Recommendation(r.clone())))
            }
            Record::Action(a) => {
                a.countries.iter().all(country)
                    && themes(&a.themes)
                    && groups(&a.groups)
                    && sdgs(&a.sdgs)
                    && a.concerns.iter().all(|c| self.has(Key::Concern(c.clone())))
                    && a.measures.iter().all(|m| self.has(Key::Measure(m.clone())))
                    && a.recommendations
                        .iter()
                        .all(|r| self.has(Key::Recommendation(r.clone())))
            }
            Record::Link(l) => {
                self.has(Key::Recommendation(l.recommendation.clone()))
                    && self.has(Key::Measure(l.measure.clone()))
            }
        }
    }

    /// A session update may not drop a State that received recommendations in it.
    fn orphans_reviews(&self, s: &Session) -> bool {
        let Some((_, Record::Session(old))) = self.get(&Key::Session(s.number)) else {
            return false;
        };
        old.states_under_review
            .iter()
            .filter(|c| !s.states_under_review.contains(c))
            .any(|c| {
                self.recommendations()
                    .iter()
                    .any(|r| r.session == s.number && r.state_under_review == *c)
            })
    }

    /// Whether another record (links excepted) still refers to the record of this key.
    fn is_referenced(&self, key: &Key) -> bool {
        let recs = self.recommendations();
        let measures = self.measures();
        let gps = self.good_practices();
        let concerns = self.concerns();
        let actions = self.actions();
        match key {
            Key::Country(c) => {
                recs.iter()
                    .any(|r| r.state_under_review == *c || r.recommending_states.contains(c))
                    || measures.iter().any(|m| m.country == *c)
                    || gps.iter().any(|g| g.countries.contains(c))
                    || concerns.iter().any(|x| x.countries.contains(c))
                    || actions.iter().any(|x| x.countries.contains(c))
                    || self
                        .sessions()
                        .iter()
                        .any(|s| s.states_under_review.contains(c))
            }
            Key::Cycle(n) => self.sessions().iter().any(|s| s.cycle == *n),
            Key::Session(n) => recs.iter().any(|r| r.session == *n),
            Key::Recommendation(r) => {
                gps.iter().any(|g| g.recommendations.contains(r))
                    || concerns.iter().any(|x| x.recommendations.contains(r))
                    || actions.iter().any(|x| x.recommendations.contains(r))
            }
            Key::Measure(m) => {
                gps.iter().any(|g| g.measures.contains(m))
                    || concerns.iter().any(|x| x.measures.contains(m))
                    || actions.iter().any(|x| x.measures.contains(m))
            }
            Key::Concern(c) => actions.iter().any(|x| x.concerns.contains(c)),
            Key::Theme(s) => {
                recs.iter().any(|r| r.themes.contains(s))
                    || measures.iter().any(|m| m.themes.contains(s))
                    || gps.iter().any(|g| g.themes.contains(s))
                    || concerns.iter().any(|x| x.themes.contains(s))
                    || actions.iter().any(|x| x.themes.contains(s))
                    || self.categories().iter().any(|c| c.themes.contains(s))
            }
            Key::Group(s) => {
                recs.iter().any(|r| r.groups.contains(s))
                    || measures.iter().any(|m| m.groups.contains(s))
                    || gps.iter().any(|g| g.groups.contains(s))
                    || concerns.iter().any(|x| x.groups.contains(s))
                    || actions.iter().any(|x| x.groups.contains(s))
            }
            Key::Sdg(g) => {
                recs.iter().any(|r| r.sdgs.contains(g))
                    || measures.iter().any(|m| m.sdgs.contains(g))
                    || gps.iter().any(|p| p.sdgs.contains(g))
                    || concerns.iter().any(|x| x.sdgs.contains(g))
                    || actions.iter().any(|x| x.sdgs.contains(g))
                    || self.themes().iter().any(|t| t.sdgs.contains(g))
            }
            Key::MeasureCategory(c) => measures.iter().any(|m| m.category == *c),
            Key::GoodPractice(_) | Key::Action(_) | Key::Link(_) => false,
        }
    }

    fn version_ok(expected: Option<u32>, current: Option<u32>) -> bool {
        expected.is_none_or(|e| e == current.unwrap_or(0))
    }

    fn put(&mut self, record: Record, expected: Option<u32>) -> Option<Outcome> {
        if !Self::record_is_well_formed(&record) || !self.references_resolve(&record) {
            return None;
        }
        if let Record::Session(s) = &record {
            if self.orphans_reviews(s) {
                return None;
            }
        }
        let k = record.key().to_string();
        let current = self.records.get(&k).cloned();
        if !Self::version_ok(expected, current.as_ref().map(|c| c.0)) {
            return None;
        }
        Some(match current {
            Some((v, old)) if old == record => Outcome::Unchanged { version: v },
            Some((v, _)) => {
                self.records.insert(k, (v + 1, record));
                Outcome::Updated { version: v + 1 }
            }
            None => {
                self.records.insert(k, (1, record));
                Outcome::Created { version: 1 }
            }
        })
    }

    fn delete(&mut self, key: &Key, expected: Option<u32>) -> Option<Outcome> {
        let (version, _) = self.get(key)?;
        if !Self::version_ok(expected, Some(*version)) || self.is_referenced(key) {
            return None;
        }
        let doomed: Vec<String> = self
            .links()
            .into_iter()
            .filter(|l| match key {
                Key::Recommendation(r) => l.recommendation == *r,
                Key::Measure(m) => l.measure == *m,
                _ => false,
            })
            .map(|l| Key::Link(l.key()).to_string())
            .collect();
        for k in &doomed {
            self.records.remove(k);
        }
        self.records.remove(&key.to_string());
        Some(Outcome::Deleted {
            cascaded_links: doomed.len(),
        })
    }

    /// What applying the changes would do: the model afterwards and one outcome per change,
    /// or `None` when any change is invalid (and then nothing happens).
    fn apply(&self, changes: &[Change]) -> Option<(Model, Vec<Outcome>)> {
        let mut next = self.clone();
        let mut outcomes = vec![];
        for c in changes {
            outcomes.push(match c {
                Change::Put {
                    record,
                    expected_version,
                } => next.put(record.clone(), *expected_version)?,
                Change::Delete {
                    key,
                    expected_version,
                } => next.delete(key, *expected_version)?,
                Change::Audit(_) => unreachable!("the model does not generate audit entries"),
            });
        }
        Some((next, outcomes))
    }

    /// The posting lists the records imply, by brute force; refs mapped to internal ids.
    fn expected_postings(&self, ids: &Ids) -> BTreeMap<Index, RoaringBitmap> {
        use Index as I;
        let mut out: BTreeMap<Index, RoaringBitmap> = BTreeMap::new();
        let mut add = |i: Index, t: u32| {
            out.entry(i).or_default().insert(t);
        };
        for r in self.all() {
            match r {
                Record::Session(s) => {
                    let n = s.number.get() as u32;
                    add(I::CycleSessions(s.cycle), n);
                    for &c in &s.states_under_review {
                        add(I::CountryReviews(c), n);
                    }
                }
                Record::Recommendation(x) => {
                    let id = ids.rec(&x.id);
                    add(I::SessionRecommendations(x.session), id);
                    add(I::RecommendationsReceived(x.state_under_review), id);
                    for &c in &x.recommending_states {
                        add(I::RecommendationsMade(c), id);
                    }
                    for t in &x.themes {
                        add(I::RecommendationsByTheme(t.clone()), id);
                    }
                    for g in &x.groups {
                        add(I::RecommendationsByGroup(g.clone()), id);
                    }
                    for &g in &x.sdgs {
                        add(I::RecommendationsBySdg(g), id);
                    }
                    add(I::RecommendationsByResponse(x.response), id);
                    if let Some(a) = x.action_category {
                        add(I::RecommendationsByAction(a), id);
                    }
                }
                Record::Measure(m) => {
                    let id = ids.measure(&m.id);
                    add(I::MeasuresByCountry(m.country), id);
                    add(I::MeasuresByCategory(m.category), id);
                    for t in &m.themes {
                        add(I::MeasuresByTheme(t.clone()), id);
                    }
                    for g in &m.groups {
                        add(I::MeasuresByGroup(g.clone()), id);
                    }
                    for &g in &m.sdgs {
                        add(I::MeasuresBySdg(g), id);
                    }
                }
                Record::GoodPractice(p) => {
                    let id = ids.gp(&p.id);
                    for &c in &p.countries {
                        add(I::GoodPracticesByCountry(c), id);
                    }
                    for t in &p.themes {
                        add(I::GoodPracticesByTheme(t.clone()), id);
                    }
                    for g in &p.groups {
                        add(I::GoodPracticesByGroup(g.clone()), id);
                    }
                    for &g in &p.sdgs {
                        add(I::GoodPracticesBySdg(g), id);
                    }
                    for m in &p.measures {
                        add(I::GoodPracticesByMeasure(ids.measure(m)), id);
                    }
                    for r in &p.recommendations {
                        add(I::GoodPracticesByRecommendation(ids.rec(r)), id);
                    }
                }
                Record::Link(l) => {
                    add(
                        I::LinksByMeasure(ids.measure(&l.measure)),
                        ids.rec(&l.recommendation),
                    );
                }
                _ => {}
            }
        }
        out
    }
}

/// The store's natural-key map, read through `Store::id_of`.
struct Ids<'a>(&'a Store);

impl Ids<'_> {
    fn of(&self, kind: RefKind, r: &Ref) -> u32 {
        self.0
            .id_of(kind, r)
            .unwrap()
            .unwrap_or_else(|| panic!("{r} ({kind:?}) has no internal id"))
    }
    fn rec(&self, r: &Ref) -> u32 {
        self.of(RefKind::Recommendation, r)
    }
    fn measure(&self, r: &Ref) -> u32 {
        self.of(RefKind::Measure, r)
    }
    fn gp(&self, r: &Ref) -> u32 {
        self.of(RefKind::GoodPractice, r)
    }
}

/// The store holds exactly the model: records and versions, natural keys, counters, and every
/// posting list (and no other).
fn assert_store_matches(store: &Store, model: &Model) {
    let stored = common::stored_records(store);
    if stored != model.records {
        let differ = |a: &BTreeMap<String, (u32, Record)>, b: &BTreeMap<String, (u32, Record)>| {
            a.iter()
                .filter(|(k, v)| b.get(*k) != Some(v))
                .map(|(k, v)| format!("{k}: {v:?}"))
                .collect::<Vec<_>>()
        };
        panic!(
            "records differ.\nin the store: {:#?}\nin the model: {:#?}",
            differ(&stored, &model.records),
            differ(&model.records, &stored)
        );
    }
    for kind in DEPENDENCY_ORDER {
        assert_eq!(
            store.count(kind).unwrap(),
            model.count(kind),
            "counter of {kind:?}"
        );
    }
    for (kind, k) in [
        (RefKind::Recommendation, Entity::Recommendation),
        (RefKind::Measure, Entity::Measure),
        (RefKind::GoodPractice, Entity::GoodPractice),
    ] {
        let refs: Vec<String> = store.refs(kind).map(|r| r.unwrap().0.to_string()).collect();
        let mut expected: Vec<String> = model
            .all()
            .filter(|r| r.entity() == k)
            .map(|r| match r.key() {
                Key::Recommendation(r) | Key::Measure(r) | Key::GoodPractice(r) => r.to_string(),
                _ => unreachable!(),
            })
            .collect();
        expected.sort();
        assert_eq!(refs, expected, "natural keys of {kind:?}");
    }
    let expected = model.expected_postings(&Ids(store));
    for (index, list) in &expected {
        assert_eq!(
            &store.postings(index).unwrap(),
            list,
            "posting list {index:?}"
        );
    }
    let lists: BTreeMap<Index, RoaringBitmap> = store.posting_lists().map(|l| l.unwrap()).collect();
    assert_eq!(lists, expected, "the set of stored posting lists");
}

// --- random operations -------------------------------------------------------------------------

/// What an operation says about `expected_version`.
#[derive(Debug, Clone, Copy)]
enum Ev {
    Unset,
    Correct,
    /// The current version plus one plus this: never the stored version.
    Wrong(u8),
}

/// The choices of one random record. `dangling` lets references (and slugs, SDGs, countries)
/// point anywhere in the universe; otherwise they are narrowed to what exists.
#[derive(Debug, Clone)]
struct Spec {
    id: u8,
    a: u8,
    b: u8,
    c: u8,
    themes: u8,
    groups: u8,
    sdgs: u8,
    countries: u8,
    cites: u8,
    variant: u8,
    dangling: bool,
}

/// The choices of one random delete: which key, aimed at an existing record unless `dangling`.
#[derive(Debug, Clone, Copy)]
struct Pick {
    i: u8,
    j: u8,
    dangling: bool,
}

fn pick_key() -> impl Strategy<Value = Pick> {
    (any::<u8>(), any::<u8>(), prop::bool::weighted(0.15)).prop_map(|(i, j, dangling)| Pick {
        i,
        j,
        dangling,
    })
}

#[derive(Debug, Clone)]
enum Op {
    PutCountry(Spec),
    DelCountry(Pick),
    PutCycle(Spec),
    DelCycle(Pick),
    PutSession(Spec),
    DelSession(Pick),
    PutTheme(Spec),
    DelTheme(Pick),
    PutGroup(Spec),
    DelGroup(Pick),
    PutSdg(Spec),
    DelSdg(Pick),
    PutCategory(Spec),
    DelCategory(Pick),
    PutRecommendation(Spec),
    DelRecommendation(Pick),
    PutMeasure(Spec),
    DelMeasure(Pick),
    PutGoodPractice(Spec),
    DelGoodPractice(Pick),
    PutLink(Spec),
    DelLink(Pick),
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>()),
        (0u8..16, 0u8..8, 0u8..16, 0u8..32, any::<u8>()),
        (
            prop_oneof![9 => 1u8..6, 1 => Just(0u8)],
            prop::bool::weighted(0.1),
        ),
    )
        .prop_map(
            |((id, a, b, c), (themes, groups, sdgs, countries, cites), (variant, dangling))| Spec {
                id,
                a,
                b,
                c,
                themes,
                groups,
                sdgs,
                countries,
                cites,
                variant,
                dangling,
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    let s = spec;
    prop_oneof![
        3 => s().prop_map(Op::PutCountry),
        2 => pick_key().prop_map(Op::DelCountry),
        1 => s().prop_map(Op::PutCycle),
        1 => pick_key().prop_map(Op::DelCycle),
        3 => s().prop_map(Op::PutSession),
        1 => pick_key().prop_map(Op::DelSession),
        1 => s().prop_map(Op::PutTheme),
        1 => pick_key().prop_map(Op::DelTheme),
        1 => s().prop_map(Op::PutGroup),
        1 => pick_key().prop_map(Op::DelGroup),
        1 => s().prop_map(Op::PutSdg),
        1 => pick_key().prop_map(Op::DelSdg),
        1 => s().prop_map(Op::PutCategory),
        1 => pick_key().prop_map(Op::DelCategory),
        10 => s().prop_map(Op::PutRecommendation),
        3 => pick_key().prop_map(Op::DelRecommendation),
        8 => s().prop_map(Op::PutMeasure),
        3 => pick_key().prop_map(Op::DelMeasure),
        4 => s().prop_map(Op::PutGoodPractice),
        1 => pick_key().prop_map(Op::DelGoodPractice),
        10 => s().prop_map(Op::PutLink),
        3 => pick_key().prop_map(Op::DelLink),
    ]
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        8 => Just(Ev::Unset),
        1 => Just(Ev::Correct),
        1 => (0u8..3).prop_map(Ev::Wrong),
    ]
}

/// One apply: usually one change, sometimes a few (all or nothing together).
fn step() -> impl Strategy<Value = Vec<(Op, Ev)>> {
    prop_oneof![
        6 => prop::collection::vec((op(), ev()), 1..=1),
        1 => prop::collection::vec((op(), ev()), 2..=3),
    ]
}

fn pick<T: Clone>(v: &[T], i: u8) -> T {
    v[i as usize % v.len()].clone()
}

/// The items of `pool` selected by the bits of `mask`.
fn subset<T: Clone>(pool: &[T], mask: u8) -> Vec<T> {
    pool.iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, x)| x.clone())
        .collect()
}

/// Turns a random operation into a change, looking at the model to aim most references at
/// records that exist.
fn materialize(model: &Model, op: &Op, ev: Ev) -> Change {
    let narrow = |dangling: bool, v: Vec<Key>| -> Vec<Key> {
        if dangling {
            v
        } else {
            v.into_iter().filter(|k| model.has(k.clone())).collect()
        }
    };
    let themes = |s: &Spec| -> Vec<Slug> {
        narrow(
            s.dangling,
            subset(&THEMES, s.themes)
                .iter()
                .map(|t| Key::Theme(slug(t)))
                .collect(),
        )
        .into_iter()
        .map(|k| match k {
            Key::Theme(t) => t,
            _ => unreachable!(),
        })
        .collect()
    };
    let groups = |s: &Spec| -> Vec<Slug> {
        narrow(
            s.dangling,
            subset(&GROUPS, s.groups)
                .iter()
                .map(|t| Key::Group(slug(t)))
                .collect(),
        )
        .into_iter()
        .map(|k| match k {
            Key::Group(t) => t,
            _ => unreachable!(),
        })
        .collect()
    };
    let sdgs = |s: &Spec| -> Vec<SdgGoal> {
        narrow(
            s.dangling,
            subset(&SDGS, s.sdgs)
                .iter()
                .map(|&g| Key::Sdg(goal(g)))
                .collect(),
        )
        .into_iter()
        .map(|k| match k {
            Key::Sdg(g) => g,
            _ => unreachable!(),
        })
        .collect()
    };
    let countries = |s: &Spec| -> Vec<CountryCode> {
        narrow(
            s.dangling,
            subset(&COUNTRIES, s.countries)
                .iter()
                .map(|c| Key::Country(cc(c)))
                .collect(),
        )
        .into_iter()
        .map(|k| match k {
            Key::Country(c) => c,
            _ => unreachable!(),
        })
        .collect()
    };
    // One country: any in the universe when dangling, else one that exists (if any does).
    let one_country = |s: &Spec, i: u8| -> CountryCode {
        let existing: Vec<CountryCode> = COUNTRIES
            .iter()
            .map(|c| cc(c))
            .filter(|c| model.has(Key::Country(*c)))
            .collect();
        if s.dangling || existing.is_empty() {
            cc(pick(&COUNTRIES, i))
        } else {
            pick(&existing, i)
        }
    };
    let existing_refs = |kind: Entity, pool: Vec<Ref>| -> Vec<Ref> {
        pool.into_iter()
            .filter(|r| {
                model.has(match kind {
                    Entity::Recommendation => Key::Recommendation(r.clone()),
                    _ => Key::Measure(r.clone()),
                })
            })
            .collect()
    };
    let text = |s: &Spec, what: &str| -> String {
        if s.variant == 0 {
            " ".into() // blank: refused by the record's own rules
        } else {
            format!("{what} {}", s.variant)
        }
    };
    // A key to delete: one that exists (if any does) unless the pick is dangling.
    let choose = |p: &Pick, all: Vec<Key>| -> Key {
        let existing: Vec<Key> = all
            .iter()
            .filter(|k| model.has((*k).clone()))
            .cloned()
            .collect();
        if p.dangling || existing.is_empty() {
            pick(&all, p.i)
        } else {
            pick(&existing, p.j)
        }
    };
    let put = |record: Record| {
        let current = model.get(&record.key()).map(|(v, _)| *v);
        Change::Put {
            expected_version: expected(ev, current),
            record,
        }
    };
    let delete = |key: Key| {
        let current = model.get(&key).map(|(v, _)| *v);
        Change::Delete {
            expected_version: expected(ev, current),
            key,
        }
    };
    match op {
        Op::PutCountry(s) => put(Record::Country(country(
            pick(&COUNTRIES, s.id),
            s.variant % 4,
        ))),
        Op::DelCountry(p) => delete(choose(
            p,
            COUNTRIES.iter().map(|c| Key::Country(cc(c))).collect(),
        )),
        Op::PutCycle(s) => put(Record::Cycle(cycle(pick(&CYCLES, s.id), s.variant))),
        Op::DelCycle(p) => delete(choose(
            p,
            CYCLES.iter().map(|&c| Key::Cycle(cycle_no(c))).collect(),
        )),
        Op::PutSession(s) => {
            let n = session_no(pick(&SESSIONS, s.id));
            let mut states = countries(s);
            // Usually keep the States already under review, so updates mostly succeed.
            if s.a % 4 != 0 {
                if let Some((_, Record::Session(old))) = model.get(&Key::Session(n)) {
                    for c in &old.states_under_review {
                        if !states.contains(c) {
                            states.push(*c);
                        }
                    }
                }
            }
            let cycle = if s.dangling || s.b % 2 == 0 {
                pick(&CYCLES, s.b)
            } else {
                match model.get(&Key::Session(n)) {
                    Some((_, Record::Session(old))) => old.cycle.get() as i64,
                    _ => pick(&CYCLES[..2], s.b),
                }
            };
            put(Record::Session(Session {
                number: n,
                cycle: cycle_no(cycle),
                start_date: (s.variant % 2 == 1).then(|| date("2020-11-02")),
                end_date: None,
                states_under_review: states,
            }))
        }
        Op::DelSession(p) => delete(choose(
            p,
            SESSIONS
                .iter()
                .map(|&n| Key::Session(session_no(n)))
                .collect(),
        )),
        Op::PutTheme(s) => {
            let mut t = theme(pick(&THEMES, s.id), &[]);
            t.sdgs = sdgs(s);
            t.name = format!("Theme {}", s.variant);
            put(Record::Theme(t))
        }
        Op::DelTheme(p) => delete(choose(
            p,
            THEMES.iter().map(|t| Key::Theme(slug(t))).collect(),
        )),
        Op::PutGroup(s) => put(Record::Group(group(pick(&GROUPS, s.id), s.variant % 3))),
        Op::DelGroup(p) => delete(choose(
            p,
            GROUPS.iter().map(|t| Key::Group(slug(t))).collect(),
        )),
        Op::PutSdg(s) => put(Record::Sdg(sdg(pick(&SDGS, s.id), s.variant % 3))),
        Op::DelSdg(p) => delete(choose(p, SDGS.iter().map(|&g| Key::Sdg(goal(g))).collect())),
        Op::PutCategory(s) => {
            let mut c = category(pick(&CATEGORIES, s.id), &[]);
            c.themes = themes(s);
            c.name = format!("Category {}", s.variant);
            put(Record::MeasureCategory(c))
        }
        Op::DelCategory(p) => delete(choose(
            p,
            CATEGORIES
                .iter()
                .map(|&c| Key::MeasureCategory(c))
                .collect(),
        )),
        Op::PutRecommendation(s) => {
            let sessions: Vec<&Session> = model.sessions();
            let (session, state) = if s.dangling || sessions.is_empty() {
                (session_no(pick(&SESSIONS, s.a)), cc(pick(&COUNTRIES, s.b)))
            } else {
                let sn = pick(&sessions, s.a);
                let state = if sn.states_under_review.is_empty() {
                    cc(pick(&COUNTRIES, s.b))
                } else {
                    pick(&sn.states_under_review, s.b)
                };
                (sn.number, state)
            };
            let mut recommending = countries(s);
            if recommending.is_empty() && s.variant != 0 {
                recommending.push(one_country(s, s.c));
            }
            put(Record::Recommendation(Recommendation {
                id: rec_id(s.id),
                text: text(s, "Recommendation text"),
                state_under_review: state,
                recommending_states: recommending,
                session,
                response: pick(Response::ALL, s.c),
                action_category: (s.c % 6 != 0)
                    .then(|| ActionCategory::new((s.c % 6) as i64).unwrap()),
                themes: themes(s),
                groups: groups(s),
                sdgs: sdgs(s),
                document: (s.variant % 2 == 0).then(|| "A/HRC/46/9".into()),
                paragraph: None,
                source_themes: if s.variant % 3 == 0 {
                    vec!["Right to health".to_owned()]
                } else {
                    vec![]
                },
                set_by: (s.variant % 5 == 0).then(|| SetBy {
                    themes: Some("eddie".to_owned()),
                    ..SetBy::default()
                }),
            }))
        }
        Op::DelRecommendation(p) => delete(choose(
            p,
            (0..REC_IDS as u8)
                .map(|i| Key::Recommendation(rec_id(i)))
                .collect(),
        )),
        Op::PutMeasure(s) => {
            let start = Date::from_ymd(2020, 3, 1 + (s.b % 28) as u32).unwrap();
            // Sometimes it ends before it starts: refused by the record's own rules.
            let end = match s.variant {
                5 if s.c % 3 == 0 => Some(Date::from_ymd(2020, 2, 1).unwrap()),
                v if v % 2 == 0 => Some(Date::from_ymd(2021, 1, 1).unwrap()),
                _ => None,
            };
            put(Record::Measure(Measure {
                id: measure_id(s.id),
                country: one_country(s, s.a),
                title: text(s, "Measure"),
                description: format!("Description {}", s.c % 3),
                category: pick(&CATEGORIES, s.c),
                start_date: start,
                end_date: end,
                themes: themes(s),
                groups: groups(s),
                sdgs: sdgs(s),
                source: None,
                source_code: (s.c % 2 == 0).then(|| "OxCGRT C1=3".into()),
                source_url: None,
            }))
        }
        Op::DelMeasure(p) => delete(choose(
            p,
            (0..MEASURE_IDS as u8)
                .map(|i| Key::Measure(measure_id(i)))
                .collect(),
        )),
        Op::PutGoodPractice(s) => {
            let measures: Vec<Ref> = (0..MEASURE_IDS as u8).map(measure_id).collect();
            let recs: Vec<Ref> = (0..REC_IDS as u8).map(rec_id).collect();
            let mut measures = subset(&measures, s.cites);
            let mut recs = subset(&recs, s.cites >> 3);
            if !s.dangling {
                measures = existing_refs(Entity::Measure, measures);
                recs = existing_refs(Entity::Recommendation, recs);
            }
            put(Record::GoodPractice(GoodPractice {
                id: gp_id(s.id),
                title: text(s, "Good practice"),
                description: "Worth copying.".into(),
                countries: countries(s),
                year: Some(2019 + (s.a % 3) as i32),
                themes: themes(s),
                groups: groups(s),
                sdgs: sdgs(s),
                measures,
                recommendations: recs,
                source: None,
            }))
        }
        Op::DelGoodPractice(p) => delete(choose(
            p,
            (0..GP_IDS as u8)
                .map(|i| Key::GoodPractice(gp_id(i)))
                .collect(),
        )),
        Op::PutLink(s) => {
            let existing = |kind: Entity, all: Vec<Ref>, i: u8| -> Ref {
                let e = existing_refs(kind, all.clone());
                if s.dangling || e.is_empty() {
                    pick(&all, i)
                } else {
                    pick(&e, i)
                }
            };
            let recommendation = existing(
                Entity::Recommendation,
                (0..REC_IDS as u8).map(rec_id).collect(),
                s.a,
            );
            let measure = existing(
                Entity::Measure,
                (0..MEASURE_IDS as u8).map(measure_id).collect(),
                s.b,
            );
            put(Record::Link(Link {
                recommendation,
                measure,
                relation: pick(LinkRelation::ALL, s.c),
                status: pick(LinkStatus::ALL, s.variant),
                note: (s.c % 3 == 0).then(|| format!("note {}", s.variant)),
                evidence_url: None,
                created_by: Some("test".into()),
                created_at: None,
                updated_at: None,
            }))
        }
        Op::DelLink(p) => {
            let links: Vec<Key> = (0..REC_IDS as u8)
                .flat_map(|r| {
                    (0..MEASURE_IDS as u8)
                        .map(move |m| Key::Link(LinkKey::new(rec_id(r), measure_id(m))))
                })
                .collect();
            delete(choose(p, links))
        }
    }
}

fn expected(ev: Ev, current: Option<u32>) -> Option<u32> {
    match ev {
        Ev::Unset => None,
        Ev::Correct => Some(current.unwrap_or(0)),
        Ev::Wrong(n) => Some(current.unwrap_or(0) + 1 + n as u32),
    }
}

fn apply(store: &Store, changes: Vec<Change>) -> Result<Vec<Outcome>, StoreError> {
    store
        .apply(changes, ApplyOptions::default())
        .map(|r| r.outcomes)
}

/// A store and its model, both holding the base universe.
fn universe() -> (Store, Model) {
    universe_of(base_universe())
}

/// The base universe plus a few recommendations, measures, links and a good practice drawn
/// from the random operations' id pools, so that sequences start with records to update,
/// cascade and refuse to delete.
fn seeded_universe() -> (Store, Model) {
    let mut records = base_universe();
    let mut gp = GoodPractice {
        id: gp_id(0),
        title: "Remote hearings".into(),
        description: "Courts heard urgent cases by video.".into(),
        countries: vec![cc("UKR")],
        year: Some(2020),
        themes: vec![slug("justice")],
        groups: vec![],
        sdgs: vec![goal(16)],
        measures: vec![measure_id(1)],
        recommendations: vec![rec_id(2)],
        source: None,
    };
    records.extend([
        Record::Recommendation(a_recommendation("R-0", 36, "HND")),
        Record::Recommendation(a_recommendation("R-1", 36, "USA")),
        Record::Recommendation(a_recommendation("R-2", 41, "UKR")),
        Record::Measure(a_measure("M-0", "HND")),
        Record::Measure(a_measure("M-1", "UKR")),
        Record::Link(a_link("R-0", "M-0")),
        Record::Link(a_link("R-1", "M-0")),
        Record::Link(a_link("R-2", "M-1")),
        Record::GoodPractice(gp.clone()),
    ]);
    gp.id = gp_id(1);
    gp.measures = vec![];
    gp.recommendations = vec![rec_id(0)];
    records.push(Record::GoodPractice(gp));
    universe_of(records)
}

fn universe_of(records: Vec<Record>) -> (Store, Model) {
    let store = Store::temporary().unwrap();
    let changes: Vec<Change> = records.into_iter().map(Change::put).collect();
    let (model, _) = Model::default()
        .apply(&changes)
        .expect("the model accepts the base universe");
    apply(&store, changes).expect("the store accepts the base universe");
    (store, model)
}

proptest! {
    #![proptest_config(Config {
        // 64 random sequences; `PROPTEST_CASES` sets another number (CI runs fewer against
        // an etcd cluster, where every write is a round of consensus).
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64),
        // Keep failures reproducible from the printed case rather than writing files.
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn random_writes_keep_the_store_equal_to_a_brute_force_model(
        steps in prop::collection::vec(step(), 1..40)
    ) {
        let (store, mut model) = seeded_universe();
        for (n, step) in steps.iter().enumerate() {
            let changes: Vec<Change> = step.iter().map(|(op, ev)| materialize(&model, op, *ev)).collect();
            let predicted = model.apply(&changes);

            let result = apply(&store, changes.clone());

            match (result, predicted) {
                (Ok(outcomes), Some((next, want))) => {
                    prop_assert_eq!(outcomes, want, "step {}: {:?}", n, changes);
                    model = next;
                }
                (Err(StoreError::Rejected(rejections)), None) => {
                    prop_assert!(!rejections.is_empty());
                }
                (result, predicted) => prop_assert!(
                    false,
                    "step {}: {:?}\nthe store said {:?}\nthe model predicted {:?}",
                    n, changes, result, predicted.map(|p| p.1)
                ),
            }
            assert_store_matches(&store, &model);
        }
        let report = check::check(&store).unwrap();
        prop_assert!(report.is_clean(), "{:#?}", report.violations);
    }
}

// --- the rules, one at a time ------------------------------------------------------------------

fn rejection_reasons(result: Result<Vec<Outcome>, StoreError>) -> Vec<String> {
    match result {
        Err(StoreError::Rejected(r)) => r.into_iter().map(|r| r.refusal.reason).collect(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn a_recommendation(id: &str, session: i64, state: &str) -> Recommendation {
    Recommendation {
        id: Ref::parse(id).unwrap(),
        text: "Guarantee access to health care.".into(),
        state_under_review: cc(state),
        recommending_states: vec![cc("PRT")],
        session: session_no(session),
        response: Response::Supported,
        action_category: Some(ActionCategory::new(4).unwrap()),
        themes: vec![slug("covid-19")],
        groups: vec![slug("older-persons")],
        sdgs: vec![goal(3)],
        document: None,
        paragraph: None,
        source_themes: vec![],
        set_by: None,
    }
}

fn a_measure(id: &str, country: &str) -> Measure {
    Measure {
        id: Ref::parse(id).unwrap(),
        country: cc(country),
        title: "Free testing".into(),
        description: "Testing free of charge.".into(),
        category: MeasureCategory::Health,
        start_date: date("2020-04-01"),
        end_date: None,
        themes: vec![slug("covid-19")],
        groups: vec![],
        sdgs: vec![goal(3)],
        source: None,
        source_code: None,
        source_url: None,
    }
}

fn a_link(rec: &str, measure: &str) -> Link {
    Link {
        recommendation: Ref::parse(rec).unwrap(),
        measure: Ref::parse(measure).unwrap(),
        relation: LinkRelation::Implements,
        status: LinkStatus::Confirmed,
        note: None,
        evidence_url: None,
        created_by: None,
        created_at: None,
        updated_at: None,
    }
}

/// The universe plus recommendations R-1 (HND, 36), R-2 (USA, 36), measures M-1 (HND),
/// M-2 (USA) and links R-1→M-1, R-2→M-1, R-1→M-2.
fn universe_with_links() -> (Store, Model) {
    let (store, model) = universe();
    let changes = vec![
        Change::put(Record::Recommendation(a_recommendation("R-1", 36, "HND"))),
        Change::put(Record::Recommendation(a_recommendation("R-2", 36, "USA"))),
        Change::put(Record::Measure(a_measure("M-1", "HND"))),
        Change::put(Record::Measure(a_measure("M-2", "USA"))),
        Change::put(Record::Link(a_link("R-1", "M-1"))),
        Change::put(Record::Link(a_link("R-2", "M-1"))),
        Change::put(Record::Link(a_link("R-1", "M-2"))),
    ];
    let (model, _) = model.apply(&changes).unwrap();
    apply(&store, changes).unwrap();
    (store, model)
}

fn id(store: &Store, kind: RefKind, r: &str) -> u32 {
    store.id_of(kind, &Ref::parse(r).unwrap()).unwrap().unwrap()
}

#[test]
fn deleting_a_measure_deletes_its_links_in_the_same_apply() {
    let (store, _) = universe_with_links();
    let m1 = id(&store, RefKind::Measure, "M-1");

    let outcomes = apply(
        &store,
        vec![Change::delete(Key::Measure(Ref::parse("M-1").unwrap()))],
    )
    .unwrap();

    assert_eq!(outcomes, vec![Outcome::Deleted { cascaded_links: 2 }]);
    let left: Vec<(String, String)> = store
        .links()
        .map(|l| {
            let l = l.unwrap().1.record;
            (l.recommendation.to_string(), l.measure.to_string())
        })
        .collect();
    assert_eq!(left, vec![("R-1".to_string(), "M-2".to_string())]);
    assert_eq!(store.count(Entity::Link).unwrap(), 1);
    assert!(store
        .postings(&Index::LinksByMeasure(m1))
        .unwrap()
        .is_empty());
    common::assert_clean(&store);
}

#[test]
fn deleting_a_recommendation_deletes_its_links_in_the_same_apply() {
    let (store, _) = universe_with_links();
    let (m1, m2) = (
        id(&store, RefKind::Measure, "M-1"),
        id(&store, RefKind::Measure, "M-2"),
    );
    let r2 = id(&store, RefKind::Recommendation, "R-2");

    let outcomes = apply(
        &store,
        vec![Change::delete(Key::Recommendation(
            Ref::parse("R-1").unwrap(),
        ))],
    )
    .unwrap();

    assert_eq!(outcomes, vec![Outcome::Deleted { cascaded_links: 2 }]);
    assert_eq!(store.count(Entity::Link).unwrap(), 1);
    assert_eq!(
        store.postings(&Index::LinksByMeasure(m1)).unwrap(),
        RoaringBitmap::from_iter([r2])
    );
    assert!(store
        .postings(&Index::LinksByMeasure(m2))
        .unwrap()
        .is_empty());
    common::assert_clean(&store);
}

#[test]
fn updating_a_record_moves_its_index_entries() {
    let (store, _) = universe_with_links();
    let r1 = id(&store, RefKind::Recommendation, "R-1");
    let mut moved = a_recommendation("R-1", 41, "UKR");
    moved.response = Response::Noted;
    moved.themes = vec![slug("justice")];
    moved.action_category = None;

    let outcomes = apply(&store, vec![Change::put(Record::Recommendation(moved))]).unwrap();

    assert_eq!(outcomes, vec![Outcome::Updated { version: 2 }]);
    let has = |i: Index| store.postings(&i).unwrap().contains(r1);
    assert!(!has(Index::SessionRecommendations(session_no(36))));
    assert!(has(Index::SessionRecommendations(session_no(41))));
    assert!(!has(Index::RecommendationsReceived(cc("HND"))));
    assert!(has(Index::RecommendationsReceived(cc("UKR"))));
    assert!(!has(Index::RecommendationsByResponse(Response::Supported)));
    assert!(has(Index::RecommendationsByResponse(Response::Noted)));
    assert!(!has(Index::RecommendationsByTheme(slug("covid-19"))));
    assert!(has(Index::RecommendationsByTheme(slug("justice"))));
    assert!(!has(Index::RecommendationsByAction(
        ActionCategory::new(4).unwrap()
    )));
    // Unchanged values keep it.
    assert!(has(Index::RecommendationsMade(cc("PRT"))));
    assert!(has(Index::RecommendationsBySdg(goal(3))));
    common::assert_clean(&store);
}

#[test]
fn an_expected_version_that_is_not_the_stored_one_is_a_version_conflict() {
    let (store, model) = universe_with_links();
    let before = common::stored_records(&store);
    let mut changed = a_measure("M-1", "HND");
    changed.title = "Free testing and treatment".into();

    let reasons = rejection_reasons(apply(
        &store,
        vec![Change::Put {
            record: Record::Measure(changed),
            expected_version: Some(2),
        }],
    ));

    assert_eq!(
        reasons,
        vec!["version conflict: expected version 2, but the stored version is 1".to_string()]
    );
    assert_eq!(common::stored_records(&store), before);
    assert_store_matches(&store, &model);
}

#[test]
fn expected_version_zero_means_the_record_must_not_exist_yet() {
    let (store, _) = universe_with_links();

    let reasons = rejection_reasons(apply(
        &store,
        vec![Change::Put {
            record: Record::Measure(a_measure("M-1", "HND")),
            expected_version: Some(0),
        }],
    ));
    let created = apply(
        &store,
        vec![Change::Put {
            record: Record::Measure(a_measure("M-3", "HND")),
            expected_version: Some(0),
        }],
    );

    assert_eq!(
        reasons,
        vec!["version conflict: expected version 0, but the stored version is 1".to_string()]
    );
    assert_eq!(created.unwrap(), vec![Outcome::Created { version: 1 }]);
}

#[test]
fn a_delete_with_a_stale_version_is_a_version_conflict() {
    let (store, model) = universe_with_links();

    let reasons = rejection_reasons(apply(
        &store,
        vec![Change::Delete {
            key: Key::Measure(Ref::parse("M-2").unwrap()),
            expected_version: Some(3),
        }],
    ));

    assert_eq!(
        reasons,
        vec!["version conflict: expected version 3, but the stored version is 1".to_string()]
    );
    assert_store_matches(&store, &model);
}

#[test]
fn versions_start_at_one_and_grow_by_one_per_real_change() {
    let (store, _) = universe();
    let mut m = a_measure("M-1", "HND");
    let put = |m: &Measure| apply(&store, vec![Change::put(Record::Measure(m.clone()))]).unwrap();

    let first = put(&m);
    let same = put(&m);
    m.title = "Free testing, extended".into();
    let second = put(&m);
    let same_again = put(&m);
    m.end_date = Some(date("2021-06-30"));
    let third = put(&m);

    assert_eq!(first, vec![Outcome::Created { version: 1 }]);
    assert_eq!(same, vec![Outcome::Unchanged { version: 1 }]);
    assert_eq!(second, vec![Outcome::Updated { version: 2 }]);
    assert_eq!(same_again, vec![Outcome::Unchanged { version: 2 }]);
    assert_eq!(third, vec![Outcome::Updated { version: 3 }]);
    let (_, stored) = store.measure(&m.id).unwrap().unwrap();
    assert_eq!((stored.version, stored.record), (3, m));
}

#[test]
fn a_put_of_an_identical_record_writes_nothing() {
    let (store, _) = universe_with_links();
    let before = common::stored_records(&store);
    let lists_before: Vec<_> = store.posting_lists().map(|l| l.unwrap()).collect();

    let outcomes = apply(
        &store,
        vec![
            Change::put(Record::Measure(a_measure("M-1", "HND"))),
            Change::put(Record::Link(a_link("R-1", "M-1"))),
            Change::put(Record::Session(session(36, 3, &["HND", "USA"]))),
        ],
    )
    .unwrap();

    assert_eq!(
        outcomes,
        vec![
            Outcome::Unchanged { version: 1 },
            Outcome::Unchanged { version: 1 },
            Outcome::Unchanged { version: 1 }
        ]
    );
    assert_eq!(common::stored_records(&store), before);
    let lists_after: Vec<_> = store.posting_lists().map(|l| l.unwrap()).collect();
    assert_eq!(lists_after, lists_before);
}

#[test]
fn deleting_a_referenced_country_is_refused_and_changes_nothing() {
    let (store, model) = universe_with_links();

    let reasons = rejection_reasons(apply(&store, vec![Change::delete(Key::Country(cc("USA")))]));

    assert_eq!(
        reasons,
        vec![
            "country USA is still referenced by 1 recommendation(s) it received; change or delete those first".to_string(),
            "country USA is still referenced by 1 measure(s) it took; change or delete those first".to_string(),
            "country USA is still referenced by 1 session(s) that reviewed it; change or delete those first".to_string(),
        ]
    );
    assert_store_matches(&store, &model);
}

#[test]
fn a_recommendation_whose_state_under_review_is_not_in_its_session_is_refused() {
    let (store, model) = universe();

    let reasons = rejection_reasons(apply(
        &store,
        vec![Change::put(Record::Recommendation(a_recommendation(
            "R-1", 37, "HND",
        )))],
    ));

    assert_eq!(
        reasons,
        vec![
            r#"state_under_review="HND" is not among the states_under_review of session 37"#
                .to_string()
        ]
    );
    assert_store_matches(&store, &model);
}

#[test]
fn a_session_update_may_not_drop_a_state_that_has_recommendations_there() {
    let (store, model) = universe_with_links();

    let reasons = rejection_reasons(apply(
        &store,
        vec![Change::put(Record::Session(session(36, 3, &["HND"])))],
    ));

    assert_eq!(
        reasons,
        vec!["states_under_review: cannot drop USA, which received 1 recommendation(s) in session 36".to_string()]
    );
    assert_store_matches(&store, &model);
}

#[test]
fn one_invalid_change_refuses_the_whole_apply() {
    let (store, model) = universe_with_links();

    let result = apply(
        &store,
        vec![
            Change::put(Record::Measure(a_measure("M-3", "UKR"))),
            Change::delete(Key::Measure(Ref::parse("M-1").unwrap())),
            Change::put(Record::Link(a_link("R-2", "M-404"))),
        ],
    );

    let Err(StoreError::Rejected(rejections)) = result else {
        panic!("expected a rejection, got {result:?}");
    };
    assert_eq!(rejections.len(), 1);
    assert_eq!(rejections[0].change, 2);
    assert_eq!(
        rejections[0].refusal,
        Refusal::unresolved(
            "measure",
            r#"measure="M-404" does not resolve (no such measure)"#
        )
    );
    assert_store_matches(&store, &model);
    assert_eq!(
        store
            .id_of(RefKind::Measure, &Ref::parse("M-3").unwrap())
            .unwrap(),
        None
    );
}

#[test]
fn later_changes_of_one_apply_see_the_earlier_ones() {
    let (store, model) = universe();
    let changes = vec![
        Change::put(Record::Country(country("BDI", 1))),
        Change::put(Record::Session(session(42, 4, &["BDI"]))),
        Change::put(Record::Recommendation(a_recommendation("R-9", 42, "BDI"))),
        Change::put(Record::Measure(a_measure("M-9", "BDI"))),
        Change::put(Record::Link(a_link("R-9", "M-9"))),
    ];
    let (model, want) = model.apply(&changes).unwrap();

    let outcomes = apply(&store, changes).unwrap();

    assert_eq!(outcomes, want);
    assert_store_matches(&store, &model);
    common::assert_clean(&store);
}
