//! The entities of DOMAIN.md, shaped as the interchange format writes them (snake_case keys).
//! Field types make malformed values unrepresentable; [`Validate`] checks what types cannot
//! (non-empty text, no duplicates in a list, date ranges in order, the size limits of
//! [`super::limits`]).

use serde::{Deserialize, Serialize};

use super::enums::*;
use super::ids::*;
use super::limits::{self, optional_text, text};
use super::refusal::Refusal;

/// A record-level rule that the type system does not enforce. Returns every problem found.
pub trait Validate {
    fn problems(&self) -> Vec<Refusal>;
}

fn non_empty(out: &mut Vec<Refusal>, field: &str, v: &str) {
    if v.trim().is_empty() {
        out.push(Refusal::invalid(
            field,
            format!("{field} must not be empty"),
        ));
    }
}

/// A list within its limit and without duplicates. (Duplicates are looked for only in a
/// list within its limit: the search is quadratic.)
fn list<T: PartialEq + std::fmt::Debug>(
    out: &mut Vec<Refusal>,
    field: &str,
    v: &[T],
    limit: usize,
) {
    if !limits::list(out, field, v.len(), limit) {
        return;
    }
    for (i, x) in v.iter().enumerate() {
        if v[..i].contains(x) {
            out.push(Refusal::invalid(
                field,
                format!("{field} has duplicate value {x:?}"),
            ));
        }
    }
}

fn range(out: &mut Vec<Refusal>, start: Option<Date>, end: Option<Date>) {
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            out.push(Refusal::invalid(
                "end_date",
                format!("end_date {e} is before start_date {s}"),
            ));
        }
    }
}

/// A State (or the State of Palestine, or the Holy See).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Country {
    pub code: CountryCode,
    #[serde(default)]
    pub iso2: Option<Iso2>,
    pub name: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub subregion: Option<String>,
    #[serde(default)]
    pub un_regional_group: Option<UnRegionalGroup>,
}

impl Validate for Country {
    fn problems(&self) -> Vec<Refusal> {
        let mut p = vec![];
        non_empty(&mut p, "name", &self.name);
        text(&mut p, "name", &self.name, limits::NAME);
        optional_text(&mut p, "region", &self.region, limits::NAME);
        optional_text(&mut p, "subregion", &self.subregion, limits::NAME);
        p
    }
}

/// A UPR cycle: every State is reviewed once in each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cycle {
    pub number: CycleNumber,
    #[serde(default)]
    pub start_date: Option<Date>,
    #[serde(default)]
    pub end_date: Option<Date>,
}

impl Validate for Cycle {
    fn problems(&self) -> Vec<Refusal> {
        let mut p = vec![];
        range(&mut p, self.start_date, self.end_date);
        p
    }
}

/// A session of the UPR Working Group and the States it reviewed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub number: SessionNumber,
    pub cycle: CycleNumber,
    #[serde(default)]
    pub start_date: Option<Date>,
    #[serde(default)]
    pub end_date: Option<Date>,
    pub states_under_review: Vec<CountryCode>,
}

impl Validate for Session {
    fn problems(&self) -> Vec<Refusal> {
        let mut p = vec![];
        range(&mut p, self.start_date, self.end_date);
        list(
            &mut p,
            "states_under_review",
            &self.states_under_review,
            limits::COUNTRIES,
        );
        p
    }
}

/// A recommendation made to a State under review by one or more recommending States.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub id: Ref,
    pub text: String,
    pub state_under_review: CountryCode,
    pub recommending_states: Vec<CountryCode>,
    pub session: SessionNumber,
    pub response: Response,
    #[serde(default)]
    pub action_category: Option<ActionCategory>,
    pub themes: Vec<Slug>,
    pub groups: Vec<Slug>,
    pub sdgs: Vec<SdgGoal>,
    #[serde(default)]
    pub document: Option<String>,
    #[serde(default)]
    pub paragraph: Option<String>,
    /// The publisher's own theme labels, kept as published (e.g. OHCHR's theme cluster and
    /// UHRI themes), beside the product's `themes` they were mapped to.
    #[serde(default)]
    pub source_themes: Vec<String>,
    /// Who set the action category, themes or groups by hand (the editor's token name), for
    /// each that a person set; `None` when none was. A value set so is the editor's: its
    /// source is EDITOR, and no re-assessment replaces it. Optional in a dataset file.
    #[serde(default)]
    pub set_by: Option<SetBy>,
}

/// The names of the people who set a recommendation's classification by hand, by field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetBy {
    #[serde(default)]
    pub action_category: Option<String>,
    #[serde(default)]
    pub themes: Option<String>,
    #[serde(default)]
    pub groups: Option<String>,
}

impl SetBy {
    /// `None` when no field was set by a person, so an untouched record stays as it was.
    pub fn normalized(self) -> Option<SetBy> {
        (self != SetBy::default()).then_some(self)
    }
}

impl Validate for Recommendation {
    fn problems(&self) -> Vec<Refusal> {
        let mut p = vec![];
        non_empty(&mut p, "text", &self.text);
        text(&mut p, "text", &self.text, limits::LONG_TEXT);
        if self.recommending_states.is_empty() {
            p.push(Refusal::invalid(
                "recommending_states",
                "recommending_states must hold at least one State",
            ));
        }
        list(
            &mut p,
            "recommending_states",
            &self.recommending_states,
            limits::COUNTRIES,
        );
        list(&mut p, "themes", &self.themes, limits::TAGS);
        list(&mut p, "groups", &self.groups, limits::TAGS);
        list(&mut p, "sdgs", &self.sdgs, limits::SDGS);
        optional_text(&mut p, "document", &self.document, limits::CODE);
        optional_text(&mut p, "paragraph", &self.paragraph, limits::CODE);
        list(&mut p, "source_themes", &self.source_themes, limits::TAGS);
        for label in &self.source_themes {
            text(&mut p, "source_themes", label, limits::TITLE);
        }
        if let Some(by) = &self.set_by {
            for (field, name) in [
                ("set_by.action_category", &by.action_category),
                ("set_by.themes", &by.themes),
                ("set_by.groups", &by.groups),
            ] {
                if let Some(name) = name {
                    non_empty(&mut p, field, name);
                    text(&mut p, field, name, limits::TITLE);
                }
            }
        }
        p
    }
}

/// A COVID-19 measure taken by a State.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    pub id: Ref,
    pub country: CountryCode,
    pub title: String,
    pub description: String,
    pub category: MeasureCategory,
    pub start_date: Date,
    #[serde(default)]
    pub end_date: Option<Date>,
    pub themes: Vec<Slug>,
    pub groups: Vec<Slug>,
    pub sdgs: Vec<SdgGoal>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub source_code: Option<String>,
    #[serde(default)]
    pub source_url: Option<String>,
}

impl Validate for Measure {
    fn problems(&self) -> Vec<Refusal> {
        let mut p = vec![];
        non_empty(&mut p, "title", &self.title);
        text(&mut p, "title", &self.title, limits::TITLE);
        text(&mut p, "description", &self.description, limits::LONG_TEXT);
        range(&mut p, Some(self.start_date), self.end_date);
        list(&mut p, "themes", &self.themes, limits::TAGS);
        list(&mut p, "groups", &self.groups, limits::TAGS);
        list(&mut p, "sdgs", &self.sdgs, limits::SDGS);
        optional_text(&mut p, "source", &self.source, limits::CITATION);
        optional_text(&mut p, "source_code", &self.source_code, limits::CODE);
        optional_text(&mut p, "source_url", &self.source_url, limits::URL);
        p
    }
}

/// A practice worth copying, with the countries, measures and recommendations it draws on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoodPractice {
    pub id: Ref,
    pub title: String,
    pub description: String,
    pub countries: Vec<CountryCode>,
    #[serde(default)]
    pub year: Option<i32>,
    pub themes: Vec<Slug>,
    pub groups: Vec<Slug>,
    pub sdgs: Vec<SdgGoal>,
    #[serde(default)]
    pub measures: Vec<Ref>,
    #[serde(default)]
    pub recommendations: Vec<Ref>,
    #[serde(default)]
    pub source: Option<String>,
}

impl Validate for GoodPractice {
    fn problems(&self) -> Vec<Refusal> {
        let mut p = vec![];
        non_empty(&mut p, "title", &self.title);
        text(&mut p, "title", &self.title, limits::TITLE);
        text(&mut p, "description", &self.description, limits::LONG_TEXT);
        if let Some(y) = self.year {
            if !(1900..=2200).contains(&y) {
                p.push(Refusal::invalid(
                    "year",
                    format!("year {y} is not between 1900 and 2200"),
                ));
            }
        }
        list(&mut p, "countries", &self.countries, limits::COUNTRIES);
        list(&mut p, "themes", &self.themes, limits::TAGS);
        list(&mut p, "groups", &self.groups, limits::TAGS);
        list(&mut p, "sdgs", &self.sdgs, limits::SDGS);
        list(&mut p, "measures", &self.measures, limits::CITED);
        list(
            &mut p,
            "recommendations",
            &self.recommendations,
            limits::CITED,
        );
        optional_text(&mut p, "source", &self.source, limits::CITATION);
        p
    }
}

/// An issue of concern recorded by the COVID-19 Tracker, with the measures that mitigate it
/// and the recommendations that speak to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Concern {
    pub id: Ref,
    pub countries: Vec<CountryCode>,
    pub title: String,
    pub description: String,
    pub kind: ConcernKind,
    pub severity: Severity,
    pub reported_on: Date,
    pub themes: Vec<Slug>,
    pub groups: Vec<Slug>,
    pub sdgs: Vec<SdgGoal>,
    #[serde(default)]
    pub measures: Vec<Ref>,
    #[serde(default)]
    pub recommendations: Vec<Ref>,
    pub source: String,
    #[serde(default)]
    pub source_url: Option<String>,
}

impl Validate for Concern {
    fn problems(&self) -> Vec<Refusal> {
        let mut p = vec![];
        non_empty(&mut p, "title", &self.title);
        text(&mut p, "title", &self.title, limits::TITLE);
        text(&mut p, "description", &self.description, limits::LONG_TEXT);
        at_least_one_country(&mut p, &self.countries);
        list(&mut p, "countries", &self.countries, limits::COUNTRIES);
        list(&mut p, "themes", &self.themes, limits::TAGS);
        list(&mut p, "groups", &self.groups, limits::TAGS);
        list(&mut p, "sdgs", &self.sdgs, limits::SDGS);
        list(&mut p, "measures", &self.measures, limits::CITED);
        list(
            &mut p,
            "recommendations",
            &self.recommendations,
            limits::CITED,
        );
        non_empty(&mut p, "source", &self.source);
        text(&mut p, "source", &self.source, limits::CITATION);
        optional_text(&mut p, "source_url", &self.source_url, limits::URL);
        p
    }
}

/// An action undertaken by UN Human Rights (OHCHR): the concerns it addressed, the measures
/// it supported and the recommendations it followed up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub id: Ref,
    pub countries: Vec<CountryCode>,
    pub title: String,
    pub description: String,
    pub kind: ActionKind,
    pub start_date: Date,
    #[serde(default)]
    pub end_date: Option<Date>,
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub people_reached: Option<u64>,
    pub themes: Vec<Slug>,
    pub groups: Vec<Slug>,
    pub sdgs: Vec<SdgGoal>,
    #[serde(default)]
    pub concerns: Vec<Ref>,
    #[serde(default)]
    pub measures: Vec<Ref>,
    #[serde(default)]
    pub recommendations: Vec<Ref>,
    pub source: String,
}

impl Validate for Action {
    fn problems(&self) -> Vec<Refusal> {
        let mut p = vec![];
        non_empty(&mut p, "title", &self.title);
        text(&mut p, "title", &self.title, limits::TITLE);
        text(&mut p, "description", &self.description, limits::LONG_TEXT);
        at_least_one_country(&mut p, &self.countries);
        list(&mut p, "countries", &self.countries, limits::COUNTRIES);
        range(&mut p, Some(self.start_date), self.end_date);
        optional_text(&mut p, "outcome", &self.outcome, limits::NOTE);
        list(&mut p, "themes", &self.themes, limits::TAGS);
        list(&mut p, "groups", &self.groups, limits::TAGS);
        list(&mut p, "sdgs", &self.sdgs, limits::SDGS);
        list(&mut p, "concerns", &self.concerns, limits::CITED);
        list(&mut p, "measures", &self.measures, limits::CITED);
        list(
            &mut p,
            "recommendations",
            &self.recommendations,
            limits::CITED,
        );
        non_empty(&mut p, "source", &self.source);
        text(&mut p, "source", &self.source, limits::CITATION);
        p
    }
}

/// DOMAIN.md: a concern or an action concerns one or more States.
fn at_least_one_country(out: &mut Vec<Refusal>, countries: &[CountryCode]) {
    if countries.is_empty() {
        out.push(Refusal::invalid(
            "countries",
            "countries must hold at least one State",
        ));
    }
}

/// A measure's bearing on a recommendation, as judged by a person (or suggested by the API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub recommendation: Ref,
    pub measure: Ref,
    pub relation: LinkRelation,
    #[serde(default)]
    pub status: LinkStatus,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub evidence_url: Option<String>,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
}

impl Link {
    /// The link's natural key.
    pub fn key(&self) -> LinkKey {
        LinkKey::new(self.recommendation.clone(), self.measure.clone())
    }
}

impl Validate for Link {
    fn problems(&self) -> Vec<Refusal> {
        let mut p = vec![];
        optional_text(&mut p, "note", &self.note, limits::NOTE);
        optional_text(&mut p, "evidence_url", &self.evidence_url, limits::URL);
        optional_text(&mut p, "created_by", &self.created_by, limits::NAME);
        p
    }
}

/// A UPR Info issue (plus `covid-19`), with the SDG goals it maps to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Theme {
    pub slug: Slug,
    pub name: String,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub sdgs: Vec<SdgGoal>,
}

impl Validate for Theme {
    fn problems(&self) -> Vec<Refusal> {
        let mut p = vec![];
        non_empty(&mut p, "name", &self.name);
        text(&mut p, "name", &self.name, limits::NAME);
        optional_text(&mut p, "source", &self.source, limits::CITATION);
        list(&mut p, "sdgs", &self.sdgs, limits::SDGS);
        p
    }
}

/// An affected-person group of OHCHR's Universal Human Rights Index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub slug: Slug,
    pub name: String,
    #[serde(default)]
    pub source: Option<String>,
}

impl Validate for Group {
    fn problems(&self) -> Vec<Refusal> {
        let mut p = vec![];
        non_empty(&mut p, "name", &self.name);
        text(&mut p, "name", &self.name, limits::NAME);
        optional_text(&mut p, "source", &self.source, limits::CITATION);
        p
    }
}

/// A Sustainable Development Goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sdg {
    pub goal: SdgGoal,
    pub name: String,
}

impl Validate for Sdg {
    fn problems(&self) -> Vec<Refusal> {
        let mut p = vec![];
        non_empty(&mut p, "name", &self.name);
        text(&mut p, "name", &self.name, limits::NAME);
        p
    }
}

/// A measure category with the themes it bears on and the OxCGRT indicators it covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureCategoryInfo {
    pub code: MeasureCategory,
    pub name: String,
    pub themes: Vec<Slug>,
    #[serde(default)]
    pub oxcgrt: Vec<String>,
    /// CoronaNet types (`Curfew`, or `type / sub-type`) this category covers: the
    /// crosswalk of `import-measures --format coronanet`.
    #[serde(default)]
    pub coronanet: Vec<String>,
    /// ACAPS measures (`Testing policy`) this category covers.
    #[serde(default)]
    pub acaps: Vec<String>,
}

impl Validate for MeasureCategoryInfo {
    fn problems(&self) -> Vec<Refusal> {
        let mut p = vec![];
        non_empty(&mut p, "name", &self.name);
        text(&mut p, "name", &self.name, limits::NAME);
        list(&mut p, "themes", &self.themes, limits::TAGS);
        if limits::list(&mut p, "oxcgrt", self.oxcgrt.len(), limits::INDICATORS) {
            for code in &self.oxcgrt {
                text(&mut p, "oxcgrt", code, limits::CODE);
            }
        }
        for (field, names) in [("coronanet", &self.coronanet), ("acaps", &self.acaps)] {
            if limits::list(&mut p, field, names.len(), limits::INDICATORS) {
                for name in names {
                    text(&mut p, field, name, limits::NAME);
                }
            }
        }
        p
    }
}

/// One audited change: who changed which record, when, and its state before and after (as
/// interchange-format JSON). Written in the same transaction as the change itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Position in the store's history, unique and increasing.
    pub seq: u64,
    pub at: Timestamp,
    /// The name of the token that made the change (or whoever an import names).
    pub author: String,
    pub entity: Entity,
    /// The record's natural key; a link's is `recommendation` TAB `measure`.
    pub key: String,
    pub change: ChangeKind,
    /// The record's version after the change (its last version, for a deletion).
    pub version: u32,
    /// The record before the change, as JSON (absent for a creation).
    #[serde(default)]
    pub before: Option<String>,
    /// The record after the change, as JSON (absent for a deletion).
    #[serde(default)]
    pub after: Option<String>,
    /// Why, when the change followed from another (a cascade).
    #[serde(default)]
    pub note: Option<String>,
}

impl Validate for HistoryEntry {
    fn problems(&self) -> Vec<Refusal> {
        let mut p = vec![];
        non_empty(&mut p, "author", &self.author);
        text(&mut p, "author", &self.author, limits::NAME);
        non_empty(&mut p, "key", &self.key);
        text(&mut p, "key", &self.key, limits::HISTORY_KEY);
        optional_text(&mut p, "note", &self.note, limits::CITATION);
        for (field, v) in [("before", &self.before), ("after", &self.after)] {
            if let Some(v) = v {
                let within = p.len();
                text(&mut p, field, v, limits::HISTORY_RECORD);
                if p.len() == within && serde_json::from_str::<serde_json::Value>(v).is_err() {
                    p.push(Refusal::invalid(field, format!("{field} is not JSON")));
                }
            }
        }
        let expected = match self.change {
            ChangeKind::Created => (false, true),
            ChangeKind::Updated => (true, true),
            ChangeKind::Deleted => (true, false),
        };
        if (self.before.is_some(), self.after.is_some()) != expected {
            p.push(Refusal::invalid(
                "change",
                format!(
                    "a {} entry needs {}",
                    self.change,
                    match self.change {
                        ChangeKind::Created => "`after` and no `before`",
                        ChangeKind::Updated => "both `before` and `after`",
                        ChangeKind::Deleted => "`before` and no `after`",
                    }
                ),
            ));
        }
        p
    }
}
