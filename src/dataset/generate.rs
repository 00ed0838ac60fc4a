//! Synthetic datasets in the interchange format, for benchmarks and load tests.
//!
//! A port of `tools/gen_dataset.py`: the same presets, phrase lists, weights and shapes, so a
//! dataset written here looks like one written there (it is not the same bytes: the random
//! streams differ). Deterministic: the same options give byte-identical files.
//!
//! Countries and the taxonomies are the real reference lists of the default dataset, embedded at
//! compile time; cycles and sessions follow the shape of the real UPR calendar; texts are
//! composed from phrase lists so that search and filters have something realistic to work on.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The size of a synthetic dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// 24 countries, cycle 3: about 1 200 recommendations, 200 measures, 300 links.
    Tiny,
    /// 60 countries, cycles 2 and 3: about 13 000 recommendations, 1 800 measures, 4 000 links.
    Small,
    /// 193 countries, cycles 1 to 4: about 160 000 recommendations, 29 000 measures, 60 000 links.
    World,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub preset: Preset,
    /// Multiplies recommendations, measures, good practices, links, concerns and actions (not
    /// countries or sessions).
    pub scale: f64,
    pub seed: u64,
}

/// Writes the dataset into `out` (created if missing): the 13 files
/// taxonomy/{themes,groups,sdgs,measure_categories}.jsonl, countries.jsonl, cycles.jsonl,
/// sessions.jsonl, recommendations.jsonl, measures.jsonl, good_practices.jsonl,
/// concerns.jsonl, actions.jsonl, links.jsonl.
/// Returns (file name, record count) per file, in that order.
pub fn generate(options: &GenerateOptions, out: &Path) -> io::Result<Vec<(&'static str, usize)>> {
    if !options.scale.is_finite() || options.scale < 0.0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("scale must be a finite number >= 0, got {}", options.scale),
        ));
    }
    let reference = Reference::load()?;
    fs::create_dir_all(out.join("taxonomy"))?;
    Generator::new(options, &reference)?.run(out)
}

// ---------------------------------------------------------------------------------------------
// Parameters and phrase lists, as in gen_dataset.py.

struct PresetParams {
    countries: usize,
    cycles: &'static [u32],
    /// Multiplies each cycle's mean number of recommendations per review.
    rec_factor: f64,
    measures_per_country: f64,
    good_practices: f64,
    links: f64,
    /// Issues of concern and actions of UN Human Rights per country of the preset.
    concerns_per_country: f64,
    actions_per_country: f64,
}

/// The COVID-19 Tracker's own counts by December 2020 (about 3,100 issues of concern and
/// 1,050 actions, over the 193 Member States), spread per country so that the smaller
/// presets get their share.
const TRACKER_CONCERNS_PER_COUNTRY: f64 = 3100.0 / 193.0;
const TRACKER_ACTIONS_PER_COUNTRY: f64 = 1050.0 / 193.0;

impl Preset {
    fn params(self) -> PresetParams {
        match self {
            Preset::Tiny => PresetParams {
                countries: 24,
                cycles: &[3],
                rec_factor: 0.2,
                measures_per_country: 8.0,
                good_practices: 12.0,
                links: 300.0,
                concerns_per_country: TRACKER_CONCERNS_PER_COUNTRY,
                actions_per_country: TRACKER_ACTIONS_PER_COUNTRY,
            },
            Preset::Small => PresetParams {
                countries: 60,
                cycles: &[2, 3],
                rec_factor: 0.5,
                measures_per_country: 30.0,
                good_practices: 120.0,
                links: 4000.0,
                concerns_per_country: TRACKER_CONCERNS_PER_COUNTRY,
                actions_per_country: TRACKER_ACTIONS_PER_COUNTRY,
            },
            Preset::World => PresetParams {
                countries: 193,
                cycles: &[1, 2, 3, 4],
                rec_factor: 1.0,
                measures_per_country: 150.0,
                good_practices: 1500.0,
                links: 60000.0,
                concerns_per_country: TRACKER_CONCERNS_PER_COUNTRY,
                actions_per_country: TRACKER_ACTIONS_PER_COUNTRY,
            },
        }
    }
}

/// One UPR cycle: its sessions, the first day of its first session, and the mean number of
/// recommendations a State receives in one review.
struct CycleShape {
    number: u32,
    first_session: u32,
    last_session: u32,
    start: NaiveDate,
    mean_recommendations: f64,
}

const CYCLES: [CycleShape; 4] = [
    CycleShape {
        number: 1,
        first_session: 1,
        last_session: 12,
        start: date(2008, 4, 7),
        mean_recommendations: 110.0,
    },
    CycleShape {
        number: 2,
        first_session: 13,
        last_session: 26,
        start: date(2012, 5, 21),
        mean_recommendations: 190.0,
    },
    CycleShape {
        number: 3,
        first_session: 27,
        last_session: 40,
        start: date(2017, 5, 1),
        mean_recommendations: 250.0,
    },
    CycleShape {
        number: 4,
        first_session: 41,
        last_session: 54,
        start: date(2022, 11, 7),
        mean_recommendations: 280.0,
    },
];

/// Sessions of a cycle start this many days apart and last `SESSION_DAYS + 1` days.
const SESSION_SPACING_DAYS: i64 = 122;
const SESSION_DAYS: i64 = 11;

/// Measures start within `MEASURE_START_SPAN_DAYS` of this day.
const MEASURE_EPOCH: NaiveDate = date(2020, 3, 1);
const MEASURE_START_SPAN_DAYS: i64 = 1000;
/// Links are created within `LINK_SPAN_MINUTES` of this instant (UTC).
const LINK_EPOCH: NaiveDate = date(2020, 6, 1);
const LINK_SPAN_MINUTES: i64 = 60 * 24 * 900;

const fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(d) => d,
        None => panic!("invalid constant date"),
    }
}

/// Opening verbs per UPR Info action category 1–5.
const ACTION_VERBS: [&[&str]; 5] = [
    &[
        "Seek technical assistance from OHCHR to",
        "Share its experience and good practices on how to",
        "Request international cooperation to",
    ],
    &[
        "Continue its efforts to",
        "Continue to strengthen measures to",
        "Pursue its policy to",
    ],
    &[
        "Consider measures to",
        "Consider adopting legislation to",
        "Study the possibility to",
    ],
    &[
        "Take further measures to",
        "Strengthen efforts to",
        "Promote policies to",
        "Ensure",
        "Redouble efforts to",
    ],
    &[
        "Adopt a law to",
        "Amend its legislation to",
        "Allocate specific budget to",
        "Establish an independent mechanism to",
        "Adopt a national action plan to",
    ],
];
const ACTION_WEIGHTS: [u32; 5] = [5, 12, 13, 38, 32];

/// What a recommendation asks for, by theme. A key may carry a `#n` suffix to give one theme
/// several phrase lists; [`phrases_by_theme`] merges them.
const THEME_OBJECTS: &[(&str, &[&str])] = &[
    (
        "right-to-health",
        &[
            "guarantee universal and affordable access to health care, including COVID-19 testing, treatment and vaccines",
            "strengthen the public health system and protect health workers",
            "ensure access to sexual and reproductive health services",
        ],
    ),
    (
        "right-to-education",
        &[
            "guarantee inclusive and quality education, including remote learning during school closures",
            "provide free internet access and devices to students in rural areas",
        ],
    ),
    (
        "esc-rights-general",
        &[
            "extend social protection floors to all, including workers in the informal economy",
            "provide income support to households that lost their livelihoods",
        ],
    ),
    (
        "poverty",
        &[
            "reduce poverty and inequality through targeted social programmes",
            "implement its national poverty reduction strategy",
        ],
    ),
    (
        "labour",
        &[
            "protect workers from unfair dismissal and unsafe working conditions",
            "guarantee decent work and paid sick leave",
        ],
    ),
    (
        "right-to-housing",
        &[
            "adopt a moratorium on evictions and guarantee adequate housing",
            "provide shelter to homeless persons",
        ],
    ),
    (
        "right-to-water",
        &[
            "guarantee access to safe drinking water and sanitation in informal settlements",
        ],
    ),
    (
        "womens-rights",
        &[
            "eliminate discrimination against women in law and practice",
            "increase the participation of women in decision-making",
        ],
    ),
    (
        "womens-rights#2",
        &[
            "combat domestic and gender-based violence and ensure access to shelters and hotlines",
            "criminalise marital rape and all forms of violence against women",
        ],
    ),
    (
        "rights-of-the-child",
        &[
            "protect children from violence, exploitation and child labour",
            "end the practice of forced begging by children",
        ],
    ),
    (
        "disabilities",
        &[
            "guarantee the rights of persons with disabilities, including accessible information and services",
        ],
    ),
    (
        "right-to-health#2",
        &[
            "protect older persons in care homes and guarantee their access to health care",
        ],
    ),
    (
        "migrants",
        &[
            "protect the rights of migrants, regardless of status, including access to health care",
            "end the detention of migrant children",
        ],
    ),
    (
        "asylum-seekers-refugees",
        &[
            "guarantee access to asylum procedures and respect the principle of non-refoulement",
        ],
    ),
    (
        "torture-and-other-cid-treatment",
        &[
            "prevent torture and ill-treatment in places of detention",
            "ratify the Optional Protocol to the Convention against Torture",
        ],
    ),
    (
        "detention",
        &[
            "reduce prison overcrowding, including through alternatives to pretrial detention",
            "release persons detained for minor offences to mitigate the risk of contagion",
        ],
    ),
    (
        "justice",
        &[
            "guarantee access to justice and fair trial, including through remote hearings",
            "reduce the backlog of court cases",
        ],
    ),
    (
        "death-penalty",
        &[
            "establish a moratorium on executions with a view to abolishing the death penalty",
        ],
    ),
    (
        "freedom-of-opinion-and-expression",
        &[
            "guarantee freedom of expression and repeal provisions that criminalise defamation",
            "protect journalists from harassment and censorship",
        ],
    ),
    (
        "freedom-of-association-and-peaceful-assembly",
        &[
            "ensure that restrictions on peaceful assembly are necessary and proportionate",
        ],
    ),
    (
        "cp-rights-general#2",
        &[
            "ensure that contact-tracing applications respect the right to privacy and data protection",
        ],
    ),
    (
        "human-rights-defenders",
        &[
            "protect human rights defenders and investigate all attacks against them",
        ],
    ),
    (
        "cp-rights-general",
        &[
            "ensure that emergency measures are necessary, proportionate, time-bound and non-discriminatory",
        ],
    ),
    (
        "racial-discrimination#2",
        &[
            "adopt comprehensive anti-discrimination legislation",
        ],
    ),
    (
        "racial-discrimination",
        &[
            "combat racism, xenophobia and hate speech, including online",
        ],
    ),
    (
        "sexual-orientation-and-gender-identity",
        &[
            "decriminalise consensual same-sex relations and combat discrimination against LGBTI persons",
        ],
    ),
    (
        "trafficking",
        &[
            "combat trafficking in persons and provide assistance to victims",
        ],
    ),
    (
        "nhri",
        &[
            "establish a national human rights institution in line with the Paris Principles",
        ],
    ),
    (
        "international-instruments",
        &[
            "ratify the International Covenant on Economic, Social and Cultural Rights and its Optional Protocol",
        ],
    ),
    (
        "covid-19",
        &[
            "integrate human rights in its COVID-19 response and recovery plans",
            "build back better by investing in universal public services",
        ],
    ),
    (
        "freedom-of-the-press",
        &[
            "close the digital divide so that everyone can access information and online services",
        ],
    ),
    (
        "indigenous-peoples",
        &[
            "guarantee the right of indigenous peoples to free, prior and informed consent",
        ],
    ),
    (
        "corruption",
        &[
            "strengthen transparency and fight corruption in public procurement, including of medical supplies",
        ],
    ),
];
/// Themes with phrases are drawn this many times more often than the others.
const THEME_WITH_PHRASES_WEIGHT: u32 = 8;
const QUALIFIERS: &[&str] = &[
    "",
    "",
    " during and after the COVID-19 pandemic",
    " in line with the 2030 Agenda for Sustainable Development",
    " with the participation of civil society",
    " in line with its international obligations",
    " and allocate adequate resources",
];

/// Measure titles per category, with the category's weight.
const CATEGORY_TITLES: &[(&str, u32, &[&str])] = &[
    (
        "HEALTH",
        20,
        &[
            "Free COVID-19 testing and treatment",
            "Emergency investment in public hospitals",
            "Free vaccination campaign",
            "Hazard pay and protective equipment for health workers",
            "Mobile clinics for remote areas",
        ],
    ),
    (
        "SOCIAL_PROTECTION",
        15,
        &[
            "Emergency cash transfers",
            "Extension of unemployment benefits",
            "Food parcels for vulnerable households",
            "Child allowance top-up",
            "Pension advance for older persons",
        ],
    ),
    (
        "ECONOMIC",
        12,
        &[
            "Tax deferral for small businesses",
            "Debt relief for households",
            "Wage subsidy scheme",
            "Utility bill waivers",
        ],
    ),
    (
        "LABOUR",
        8,
        &[
            "Paid sick leave for COVID-19",
            "Ban on dismissals during the emergency",
            "Budget for workers staying at home",
            "Protection of domestic workers",
        ],
    ),
    (
        "EDUCATION",
        8,
        &[
            "Free internet for students during confinement",
            "Distance learning by radio and television",
            "Laptops for low-income pupils",
            "Safe reopening of schools",
        ],
    ),
    (
        "HOUSING",
        4,
        &[
            "Moratorium on evictions",
            "Emergency shelters for homeless persons",
            "Rent relief",
        ],
    ),
    (
        "MOVEMENT",
        10,
        &[
            "Nationwide lockdown",
            "Night curfew",
            "Closure of international borders",
            "Quarantine for returning travellers",
        ],
    ),
    (
        "ASSEMBLY",
        4,
        &["Ban on public gatherings", "Limits on religious gatherings"],
    ),
    (
        "EMERGENCY_POWERS",
        5,
        &[
            "Declaration of a state of emergency",
            "Emergency decree with sunset clause",
            "Parliamentary oversight of emergency measures",
        ],
    ),
    (
        "DETENTION",
        5,
        &[
            "Release of detainees to reduce overcrowding",
            "Alternatives to pretrial detention",
            "Amnesty law for minor offences",
            "Health screening in prisons",
            "Mobile court sessions",
        ],
    ),
    (
        "JUSTICE",
        3,
        &[
            "Remote court hearings",
            "Legal aid hotline",
            "Extension of procedural deadlines",
        ],
    ),
    (
        "GENDER_BASED_VIOLENCE",
        4,
        &[
            "Domestic violence hotline",
            "Shelters exempted from lockdown",
            "Safe spaces for women in quarantine centres",
            "Anti-domestic violence law",
        ],
    ),
    (
        "INFORMATION",
        4,
        &[
            "Public information campaign in local languages",
            "Sign-language interpretation of official briefings",
            "Campaign against disinformation",
        ],
    ),
    (
        "PRIVACY",
        2,
        &[
            "Contact-tracing application with data-protection safeguards",
            "Rules on health data retention",
        ],
    ),
];

const RESPONSES: [&str; 4] = ["SUPPORTED", "PARTIALLY_SUPPORTED", "NOTED", "PENDING"];
/// Percent shares. PARTIALLY_SUPPORTED at 3 %: 17 of the 562 cycle-3 recommendations of the
/// default dataset (sessions 34 and 36) were supported in part; the total stays 100, so the
/// generator draws the same random numbers as before.
const RESPONSE_WEIGHTS: [u32; 4] = [67, 3, 28, 2];
const RELATIONS: [&str; 4] = [
    "IMPLEMENTS",
    "PARTIALLY_IMPLEMENTS",
    "RELATED",
    "CONTRADICTS",
];
const RELATION_WEIGHTS: [u32; 4] = [40, 30, 25, 5];
const LINK_STATUSES: [&str; 3] = ["CONFIRMED", "SUGGESTED", "REJECTED"];
const LINK_STATUS_WEIGHTS: [u32; 3] = [85, 12, 3];
const LINK_NOTES: [&str; 4] = [
    "",
    "Reported in the mid-term report.",
    "Stated by the delegation during the interactive dialogue.",
    "Civil society submission questions the scope of the measure.",
];
const LINK_AUTHORS: [&str; 3] = ["upr-info", "ohchr-field", "civil-society"];

const COVID_THEME: &str = "covid-19";

// ---------------------------------------------------------------------------------------------
// Reference data: the default dataset's countries and taxonomies, copied into every dataset.

const THEMES_JSONL: &str = include_str!("../../data/default/taxonomy/themes.jsonl");
const GROUPS_JSONL: &str = include_str!("../../data/default/taxonomy/groups.jsonl");
const SDGS_JSONL: &str = include_str!("../../data/default/taxonomy/sdgs.jsonl");
const MEASURE_CATEGORIES_JSONL: &str =
    include_str!("../../data/default/taxonomy/measure_categories.jsonl");
const COUNTRIES_JSONL: &str = include_str!("../../data/default/countries.jsonl");

#[derive(Serialize, Deserialize)]
struct Theme {
    slug: String,
    name: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    sdgs: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Group {
    slug: String,
    name: String,
    #[serde(default)]
    source: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Sdg {
    goal: u8,
    name: String,
}

#[derive(Serialize, Deserialize)]
struct MeasureCategory {
    code: String,
    name: String,
    themes: Vec<String>,
    #[serde(default)]
    oxcgrt: Vec<String>,
    /// The crosswalks of `import-measures`: kept so a generated dataset carries them too.
    #[serde(default)]
    coronanet: Vec<String>,
    #[serde(default)]
    acaps: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Country {
    code: String,
    #[serde(default)]
    iso2: Option<String>,
    name: String,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    subregion: Option<String>,
    #[serde(default)]
    un_regional_group: Option<String>,
}

struct Reference {
    themes: Vec<Theme>,
    groups: Vec<Group>,
    sdgs: Vec<Sdg>,
    categories: Vec<MeasureCategory>,
    /// Only the countries that belong to a UN regional group (all but the Holy See).
    countries: Vec<Country>,
}

impl Reference {
    fn load() -> io::Result<Self> {
        let reference = Reference {
            themes: parse_jsonl("taxonomy/themes.jsonl", THEMES_JSONL)?,
            groups: parse_jsonl("taxonomy/groups.jsonl", GROUPS_JSONL)?,
            sdgs: parse_jsonl("taxonomy/sdgs.jsonl", SDGS_JSONL)?,
            categories: parse_jsonl(
                "taxonomy/measure_categories.jsonl",
                MEASURE_CATEGORIES_JSONL,
            )?,
            countries: parse_jsonl::<Country>("countries.jsonl", COUNTRIES_JSONL)?
                .into_iter()
                .filter(|c| c.un_regional_group.is_some())
                .collect(),
        };
        reference.check()?;
        Ok(reference)
    }

    /// The phrase lists name themes and categories; a taxonomy that lost one of them would make
    /// the generator write dangling slugs, so refuse it up front.
    fn check(&self) -> io::Result<()> {
        let theme = |slug: &str| self.themes.iter().any(|t| t.slug == slug);
        let mut missing: Vec<String> = THEME_OBJECTS
            .iter()
            .map(|(key, _)| theme_of_key(key))
            .chain([COVID_THEME])
            .filter(|slug| !theme(slug))
            .map(|slug| format!("theme {slug}"))
            .collect();
        for (code, _, _) in CATEGORY_TITLES {
            match self.categories.iter().find(|c| c.code == *code) {
                None => missing.push(format!("measure category {code}")),
                Some(c) => missing.extend(
                    c.themes
                        .iter()
                        .filter(|t| !theme(t))
                        .map(|t| format!("theme {t} (of measure category {code})")),
                ),
            }
        }
        if self.countries.is_empty() {
            missing.push("countries".into());
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(invalid_data(format!(
                "the embedded reference data lacks {}",
                missing.join(", ")
            )))
        }
    }
}

fn parse_jsonl<T: DeserializeOwned>(name: &str, text: &str) -> io::Result<Vec<T>> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line).map_err(|e| invalid_data(format!("{name}:{}: {e}", n + 1)))
        })
        .collect()
}

fn invalid_data(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// `womens-rights#2` -> `womens-rights`.
fn theme_of_key(key: &str) -> &str {
    key.split('#').next().unwrap_or(key)
}

/// THEME_OBJECTS with the `#n` variants of a theme merged, in their order.
fn phrases_by_theme() -> HashMap<&'static str, Vec<&'static str>> {
    let mut out: HashMap<&str, Vec<&str>> = HashMap::new();
    for (key, phrases) in THEME_OBJECTS {
        out.entry(theme_of_key(key))
            .or_default()
            .extend_from_slice(phrases);
    }
    out
}

/// "Older persons" -> "older persons", but "LGBTI persons" stays (Python's `name[:2].isupper()`).
fn lower_name(name: &str) -> String {
    let head: Vec<char> = name.chars().take(2).collect();
    let upper = head.iter().any(|c| c.is_uppercase()) && !head.iter().any(|c| c.is_lowercase());
    let mut chars = name.chars();
    match chars.next() {
        Some(first) if !upper => first.to_lowercase().chain(chars).collect(),
        _ => name.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Records as written, fields in the order of DOMAIN.md; absent optional fields are written as null.

#[derive(Serialize)]
struct CycleRecord {
    number: u32,
    start_date: NaiveDate,
    end_date: NaiveDate,
}

#[derive(Serialize)]
struct SessionRecord<'a> {
    number: u32,
    cycle: u32,
    start_date: NaiveDate,
    end_date: NaiveDate,
    states_under_review: Vec<&'a str>,
}

#[derive(Serialize)]
struct RecommendationRecord<'a> {
    id: &'a str,
    text: &'a str,
    state_under_review: &'a str,
    recommending_states: Vec<&'a str>,
    session: u32,
    response: &'static str,
    action_category: Option<u8>,
    themes: &'a [&'a str],
    groups: &'a [&'a str],
    sdgs: Vec<u8>,
    document: Option<String>,
    paragraph: Option<String>,
}

#[derive(Serialize)]
struct MeasureRecord<'a> {
    id: &'a str,
    country: &'a str,
    title: &'a str,
    description: &'a str,
    category: &'a str,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
    themes: &'a [&'a str],
    groups: &'a [&'a str],
    sdgs: Vec<u8>,
    source: Option<&'a str>,
    source_code: Option<&'a str>,
    source_url: Option<String>,
}

#[derive(Serialize)]
struct GoodPracticeRecord<'a> {
    id: String,
    title: String,
    description: String,
    countries: [&'a str; 1],
    year: Option<i32>,
    themes: Vec<&'a str>,
    groups: Vec<&'a str>,
    sdgs: Vec<u8>,
    measures: Vec<&'a str>,
    recommendations: Vec<&'a str>,
    source: Option<&'a str>,
}

#[derive(Serialize)]
struct ConcernRecord<'a> {
    id: String,
    countries: Vec<&'a str>,
    title: String,
    description: String,
    kind: &'static str,
    severity: &'static str,
    reported_on: NaiveDate,
    themes: Vec<&'a str>,
    groups: Vec<&'a str>,
    sdgs: Vec<u8>,
    measures: Vec<&'a str>,
    recommendations: Vec<&'a str>,
    source: &'static str,
    source_url: Option<String>,
}

#[derive(Serialize)]
struct ActionRecord<'a> {
    id: String,
    countries: Vec<&'a str>,
    title: String,
    description: String,
    kind: &'static str,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
    outcome: Option<String>,
    people_reached: Option<u64>,
    themes: Vec<&'a str>,
    groups: Vec<&'a str>,
    sdgs: Vec<u8>,
    concerns: Vec<&'a str>,
    measures: Vec<&'a str>,
    recommendations: Vec<&'a str>,
    source: &'static str,
}

const CONCERN_KINDS: [&str; 3] = ["TREND", "RISK", "EARLY_WARNING"];
const CONCERN_KIND_WEIGHTS: [u32; 3] = [50, 30, 20];
const SEVERITIES: [&str; 3] = ["LOW", "MEDIUM", "HIGH"];
const SEVERITY_WEIGHTS: [u32; 3] = [25, 45, 30];
const CONCERN_TITLES: [&str; 3] = [
    "Setbacks to {theme} in {country}",
    "Risk to {theme} in {country}",
    "Early warning on {theme} in {country}",
];
const ACTION_KINDS: [&str; 4] = [
    "GUIDANCE_AND_TECHNICAL_SUPPORT",
    "MONITORING_AND_REPORTING",
    "AWARENESS_RAISING_AND_ADVOCACY",
    "ADJUSTING_WORKING_METHODS",
];
const ACTION_KIND_WEIGHTS: [u32; 4] = [35, 35, 20, 10];
const ACTION_TITLES: [&str; 4] = [
    "Technical support on {theme} in {country}",
    "Monitoring of {theme} in {country}",
    "Advocacy for {theme} in {country}",
    "Remote work on {theme} in {country}",
];
/// The Tracker's records start with the pandemic and run through 2020.
const TRACKER_EPOCH: NaiveDate = date(2020, 3, 1);
const TRACKER_SPAN_DAYS: i64 = 300;

#[derive(Serialize)]
struct LinkRecord<'a> {
    recommendation: &'a str,
    measure: &'a str,
    relation: &'static str,
    status: &'static str,
    note: Option<&'static str>,
    evidence_url: Option<&'a str>,
    created_by: Option<&'static str>,
    created_at: Option<String>,
    updated_at: Option<String>,
}

/// One JSON Lines file being written: one compact object per line.
struct JsonlFile {
    name: &'static str,
    out: BufWriter<File>,
    count: usize,
}

impl JsonlFile {
    fn create(dir: &Path, name: &'static str) -> io::Result<Self> {
        Ok(JsonlFile {
            name,
            out: BufWriter::with_capacity(1 << 16, File::create(dir.join(name))?),
            count: 0,
        })
    }

    fn write<T: Serialize>(&mut self, record: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, record)?;
        self.out.write_all(b"\n")?;
        self.count += 1;
        Ok(())
    }

    fn finish(mut self) -> io::Result<FileCount> {
        self.out.flush()?;
        Ok((self.name, self.count))
    }

    fn write_all<'r, T: Serialize + 'r>(
        dir: &Path,
        name: &'static str,
        records: impl IntoIterator<Item = &'r T>,
    ) -> io::Result<FileCount> {
        let mut file = JsonlFile::create(dir, name)?;
        for record in records {
            file.write(record)?;
        }
        file.finish()
    }
}

// ---------------------------------------------------------------------------------------------
// The generator.

/// A UPR review: one State under review in one session.
struct Review {
    session: u32,
    cycle: u32,
    country: usize,
    mean_recommendations: f64,
}

/// A file written, with its number of records.
type FileCount = (&'static str, usize);

/// What links and good practices need to know of the recommendations once they are written.
struct Recommendations {
    ids: Vec<String>,
    /// For cycles 2 and later (the ones a COVID-19 measure may answer), the recommendations per
    /// (State under review, theme), as indexes into `ids`, at `country * themes + theme`.
    by_country_theme: Vec<Vec<u32>>,
}

/// What links and good practices need to know of a measure once it is written.
struct Measure<'a> {
    id: String,
    country: usize,
    title: &'static str,
    description: String,
    start: NaiveDate,
    themes: Vec<&'a str>,
    groups: Vec<&'a str>,
    /// Indexes of the measure's themes other than `covid-19`: the themes a link may share.
    link_themes: Vec<usize>,
}

struct Generator<'a> {
    params: PresetParams,
    scale: f64,
    rng: ChaCha8Rng,
    reference: &'a Reference,
    theme_index: HashMap<&'a str, usize>,
    theme_weights: Vec<u32>,
    phrases: HashMap<&'static str, Vec<&'static str>>,
    category_of_title: Vec<&'a MeasureCategory>,
    /// The countries of the dataset, sorted by code.
    countries: Vec<&'a Country>,
}

impl<'a> Generator<'a> {
    fn new(options: &GenerateOptions, reference: &'a Reference) -> io::Result<Self> {
        let phrases = phrases_by_theme();
        let theme_weights = reference
            .themes
            .iter()
            .map(|t| {
                if phrases.contains_key(t.slug.as_str()) {
                    THEME_WITH_PHRASES_WEIGHT
                } else {
                    1
                }
            })
            .collect();
        let category_of_title = CATEGORY_TITLES
            .iter()
            .map(|(code, _, _)| {
                reference
                    .categories
                    .iter()
                    .find(|c| c.code == *code)
                    .ok_or_else(|| invalid_data(format!("no measure category {code}")))
            })
            .collect::<io::Result<_>>()?;
        Ok(Generator {
            params: options.preset.params(),
            scale: options.scale,
            rng: ChaCha8Rng::seed_from_u64(options.seed),
            reference,
            theme_index: reference
                .themes
                .iter()
                .enumerate()
                .map(|(i, t)| (t.slug.as_str(), i))
                .collect(),
            theme_weights,
            phrases,
            category_of_title,
            countries: Vec::new(),
        })
    }

    fn run(mut self, out: &Path) -> io::Result<Vec<FileCount>> {
        let r = self.reference;
        let mut counts = vec![
            JsonlFile::write_all(out, "taxonomy/themes.jsonl", &r.themes)?,
            JsonlFile::write_all(out, "taxonomy/groups.jsonl", &r.groups)?,
            JsonlFile::write_all(out, "taxonomy/sdgs.jsonl", &r.sdgs)?,
            JsonlFile::write_all(out, "taxonomy/measure_categories.jsonl", &r.categories)?,
        ];

        let amount = self.params.countries.min(r.countries.len());
        let mut countries: Vec<&Country> =
            r.countries.choose_multiple(&mut self.rng, amount).collect();
        countries.sort_by(|a, b| a.code.cmp(&b.code));
        self.countries = countries;
        counts.push(JsonlFile::write_all(
            out,
            "countries.jsonl",
            self.countries.iter().copied(),
        )?);

        let (cycles, sessions, reviews) = self.calendar();
        counts.push(JsonlFile::write_all(out, "cycles.jsonl", &cycles)?);
        counts.push(JsonlFile::write_all(out, "sessions.jsonl", &sessions)?);

        let (recommendations, count) = self.recommendations(out, &reviews)?;
        counts.push(count);
        let (measures, count) = self.measures(out)?;
        counts.push(count);
        // Good practices cite the links of their measures, so links are drawn first; the files
        // are still reported in the format's order.
        let (links_by_measure, links_count) = self.links(out, &recommendations, &measures)?;
        counts.push(self.good_practices(
            out,
            &recommendations.ids,
            &measures,
            &links_by_measure,
        )?);
        // Drawn last, so the files before them are the same bytes as before they existed.
        let (concerns_by_country, count) =
            self.concerns(out, &recommendations.ids, &measures, &links_by_measure)?;
        counts.push(count);
        counts.push(self.actions(
            out,
            &recommendations.ids,
            &measures,
            &links_by_measure,
            &concerns_by_country,
        )?);
        counts.push(links_count);
        Ok(counts)
    }

    fn codes(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.countries.iter().map(|c| c.code.as_str())
    }

    /// Cycles and sessions: each cycle reviews every country once, spread over its sessions.
    fn calendar(&mut self) -> (Vec<CycleRecord>, Vec<SessionRecord<'a>>, Vec<Review>) {
        let (mut cycles, mut sessions, mut reviews) = (vec![], vec![], vec![]);
        let cycle_numbers = self.params.cycles;
        for shape in CYCLES.iter().filter(|c| cycle_numbers.contains(&c.number)) {
            let numbers: Vec<u32> = (shape.first_session..=shape.last_session).collect();
            let mut order: Vec<usize> = (0..self.countries.len()).collect();
            order.shuffle(&mut self.rng);
            let mut per_session: Vec<Vec<usize>> = vec![vec![]; numbers.len()];
            for (i, country) in order.into_iter().enumerate() {
                per_session[i % numbers.len()].push(country);
            }
            for (k, (&number, mut states)) in numbers.iter().zip(per_session).enumerate() {
                // Countries are sorted by code, so sorting indexes sorts codes.
                states.sort_unstable();
                let start = shape.start + TimeDelta::days(SESSION_SPACING_DAYS * k as i64);
                sessions.push(SessionRecord {
                    number,
                    cycle: shape.number,
                    start_date: start,
                    end_date: start + TimeDelta::days(SESSION_DAYS),
                    states_under_review: states
                        .iter()
                        .map(|&c| self.countries[c].code.as_str())
                        .collect(),
                });
                reviews.extend(states.into_iter().map(|country| Review {
                    session: number,
                    cycle: shape.number,
                    country,
                    mean_recommendations: shape.mean_recommendations,
                }));
            }
            let last_start = SESSION_SPACING_DAYS * (numbers.len() as i64 - 1);
            cycles.push(CycleRecord {
                number: shape.number,
                start_date: shape.start,
                end_date: shape.start + TimeDelta::days(last_start + SESSION_DAYS),
            });
        }
        (cycles, sessions, reviews)
    }

    /// Writes recommendations.jsonl.
    fn recommendations(
        &mut self,
        out: &Path,
        reviews: &[Review],
    ) -> io::Result<(Recommendations, FileCount)> {
        let r = self.reference;
        let n_themes = r.themes.len();
        let mut by_country_theme: Vec<Vec<u32>> = vec![vec![]; self.countries.len() * n_themes];
        let mut ids = Vec::new();
        let mut file = JsonlFile::create(out, "recommendations.jsonl")?;
        for review in reviews {
            let mean = review.mean_recommendations * self.params.rec_factor * self.scale;
            let count = (gauss(&mut self.rng, mean, mean * 0.25) as i64).max(1);
            let sur = self.countries[review.country].code.as_str();
            let others: Vec<&str> = self.codes().filter(|&c| c != sur).collect();
            for i in 1..=count {
                let category = weighted(&mut self.rng, &ACTION_WEIGHTS);
                let mut themes: Vec<&str> = (0..pick(&mut self.rng, &[1, 1, 2, 2, 3]))
                    .map(|_| {
                        r.themes[weighted(&mut self.rng, &self.theme_weights)]
                            .slug
                            .as_str()
                    })
                    .collect();
                themes.sort_unstable();
                themes.dedup();
                if review.cycle >= 3
                    && self.rng.gen::<f64>() < 0.12
                    && !themes.contains(&COVID_THEME)
                {
                    themes.push(COVID_THEME);
                }
                let groups = self.sample_groups(&[0, 0, 1, 1, 2]);

                let object = match self.phrases.get(themes[0]) {
                    Some(phrases) => pick(&mut self.rng, phrases).to_owned(),
                    None => format!(
                        "guarantee the {}",
                        self.theme_name(themes[0]).to_lowercase()
                    ),
                };
                let mut text = format!("{} {object}", pick(&mut self.rng, ACTION_VERBS[category]));
                if !groups.is_empty() {
                    text.push_str(", in particular for ");
                    text.push_str(&self.group_names(&groups));
                }
                text.push_str(pick(&mut self.rng, QUALIFIERS));
                text.push('.');

                let id = format!("R-{}-{sur}-{i:04}", review.session);
                let amount = if self.rng.gen::<f64>() < 0.93 {
                    1
                } else {
                    pick(&mut self.rng, &[2, 3])
                };
                let mut recommending: Vec<&str> = others
                    .choose_multiple(&mut self.rng, amount.min(others.len()))
                    .copied()
                    .collect();
                recommending.sort_unstable();
                let response = RESPONSES[weighted(&mut self.rng, &RESPONSE_WEIGHTS)];
                let action_category = (self.rng.gen::<f64>() < 0.97).then_some(category as u8 + 1);

                file.write(&RecommendationRecord {
                    id: &id,
                    text: &text,
                    state_under_review: sur,
                    recommending_states: recommending,
                    session: review.session,
                    response,
                    action_category,
                    themes: &themes,
                    groups: &groups,
                    sdgs: self.sdgs_for(&themes),
                    document: Some(format!(
                        "A/HRC/{}/{}",
                        review.session + 10,
                        review.country % 14 + 1
                    )),
                    paragraph: Some(format!("{}.{i}", 120 + review.session % 30)),
                })?;
                if review.cycle >= 2 {
                    let index = ids.len() as u32;
                    for theme in &themes {
                        by_country_theme[review.country * n_themes + self.theme_index[theme]]
                            .push(index);
                    }
                }
                ids.push(id);
            }
        }
        let recommendations = Recommendations {
            ids,
            by_country_theme,
        };
        Ok((recommendations, file.finish()?))
    }

    /// Writes measures.jsonl: COVID-19 measures from March 2020, per country.
    fn measures(&mut self, out: &Path) -> io::Result<(Vec<Measure<'a>>, FileCount)> {
        let category_weights: Vec<u32> = CATEGORY_TITLES.iter().map(|(_, w, _)| *w).collect();
        let mut measures = Vec::new();
        let mut file = JsonlFile::create(out, "measures.jsonl")?;
        for country_index in 0..self.countries.len() {
            let country: &'a Country = self.countries[country_index];
            let factor = self.rng.gen_range(0.5..1.5);
            let count = ((self.params.measures_per_country * self.scale * factor) as i64).max(1);
            for i in 1..=count {
                let c = weighted(&mut self.rng, &category_weights);
                let (code, _, titles) = CATEGORY_TITLES[c];
                let title = pick(&mut self.rng, titles);
                let start =
                    MEASURE_EPOCH + TimeDelta::days(self.rng.gen_range(0..MEASURE_START_SPAN_DAYS));
                let end = (self.rng.gen::<f64>() < 0.6)
                    .then(|| start + TimeDelta::days(self.rng.gen_range(14..500)));
                let groups = self.sample_groups(&[0, 1, 1, 2]);
                let themes: Vec<&str> = self.category_of_title[c]
                    .themes
                    .iter()
                    .map(String::as_str)
                    .chain([COVID_THEME])
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();

                let mut description = format!(
                    "{}: {} introduced on {start}",
                    country.name,
                    title.to_lowercase()
                );
                if !groups.is_empty() {
                    description.push_str(", targeting ");
                    description.push_str(&self.group_names(&groups));
                }
                match end {
                    None => description.push('.'),
                    Some(end) => description.push_str(&format!(", in force until {end}.")),
                }
                let id = format!("M-{}-{i:04}", country.code);
                file.write(&MeasureRecord {
                    id: &id,
                    country: &country.code,
                    title,
                    description: &description,
                    category: code,
                    start_date: start,
                    end_date: end,
                    themes: &themes,
                    groups: &groups,
                    sdgs: self.sdgs_for(&themes),
                    source: None,
                    source_code: None,
                    source_url: Some(format!("https://example.org/measures/{id}")),
                })?;
                let link_themes = themes
                    .iter()
                    .filter(|&&t| t != COVID_THEME)
                    .map(|t| self.theme_index[t])
                    .collect();
                measures.push(Measure {
                    id,
                    country: country_index,
                    title,
                    description,
                    start,
                    themes,
                    groups,
                    link_themes,
                });
            }
        }
        Ok((measures, file.finish()?))
    }

    /// Writes links.jsonl: a measure to a recommendation made to the same State on one of the
    /// measure's themes. Returns the linked recommendations per measure (indexes), in link order.
    fn links(
        &mut self,
        out: &Path,
        recommendations: &Recommendations,
        measures: &[Measure<'a>],
    ) -> io::Result<(Vec<Vec<u32>>, FileCount)> {
        let n_themes = self.reference.themes.len();
        let target = (self.params.links * self.scale) as usize;
        let mut linked: Vec<Vec<u32>> = vec![vec![]; measures.len()];
        let mut seen: HashSet<(u32, u32)> = HashSet::with_capacity(target);
        let mut file = JsonlFile::create(out, "links.jsonl")?;
        let mut tries = 0usize;
        while file.count < target && tries < target.saturating_mul(20) && !measures.is_empty() {
            tries += 1;
            let m = self.rng.gen_range(0..measures.len());
            let measure = &measures[m];
            // The candidates are the concatenation of these lists (a recommendation on two of the
            // measure's themes counts twice); draw a position in it without building it.
            let lists: Vec<&[u32]> = measure
                .link_themes
                .iter()
                .map(|&t| {
                    recommendations.by_country_theme[measure.country * n_themes + t].as_slice()
                })
                .collect();
            let total: usize = lists.iter().map(|l| l.len()).sum();
            if total == 0 {
                continue;
            }
            let mut position = self.rng.gen_range(0..total);
            let mut rec = 0;
            for list in lists {
                if position < list.len() {
                    rec = list[position];
                    break;
                }
                position -= list.len();
            }
            if !seen.insert((rec, m as u32)) {
                continue;
            }
            let at = LINK_EPOCH.and_time(chrono::NaiveTime::MIN)
                + TimeDelta::minutes(self.rng.gen_range(0..LINK_SPAN_MINUTES));
            file.write(&LinkRecord {
                recommendation: &recommendations.ids[rec as usize],
                measure: &measure.id,
                relation: RELATIONS[weighted(&mut self.rng, &RELATION_WEIGHTS)],
                status: LINK_STATUSES[weighted(&mut self.rng, &LINK_STATUS_WEIGHTS)],
                note: Some(pick(&mut self.rng, &LINK_NOTES)),
                evidence_url: None,
                created_by: Some(pick(&mut self.rng, &LINK_AUTHORS)),
                created_at: Some(rfc3339(at)),
                updated_at: None,
            })?;
            linked[m].push(rec);
        }
        Ok((linked, file.finish()?))
    }

    /// Writes good_practices.jsonl: built on a State's measures, with up to three of the
    /// recommendations those measures are linked to.
    fn good_practices(
        &mut self,
        out: &Path,
        recommendations: &[String],
        measures: &[Measure<'a>],
        links_by_measure: &[Vec<u32>],
    ) -> io::Result<FileCount> {
        let mut by_country: Vec<Vec<usize>> = vec![vec![]; self.countries.len()];
        for (i, m) in measures.iter().enumerate() {
            by_country[m.country].push(i);
        }
        let count = (self.params.good_practices * self.scale) as usize;
        let mut file = JsonlFile::create(out, "good_practices.jsonl")?;
        for i in 1..=count {
            let c = self.rng.gen_range(0..self.countries.len());
            let country = self.countries[c];
            let amount = pick(&mut self.rng, &[1, 1, 2, 3]).min(by_country[c].len());
            let chosen: Vec<usize> = by_country[c]
                .choose_multiple(&mut self.rng, amount)
                .copied()
                .collect();
            let Some(&first) = chosen.first() else {
                continue;
            };
            let recs: Vec<&str> = chosen
                .iter()
                .flat_map(|&m| &links_by_measure[m])
                .map(|&r| recommendations[r as usize].as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .take(3)
                .collect();
            let chosen: Vec<&Measure> = chosen.into_iter().map(|m| &measures[m]).collect();
            let first = &measures[first];
            let themes: Vec<&str> = sorted_union(chosen.iter().map(|m| &m.themes));
            let groups: Vec<&str> = sorted_union(chosen.iter().map(|m| &m.groups));
            let mut description = chosen
                .iter()
                .map(|m| m.description.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            description.push_str(" Shared as a good practice during the UPR interactive dialogue.");
            file.write(&GoodPracticeRecord {
                id: format!("GP-{i:05}"),
                title: format!("{} in {}", first.title, country.name),
                description,
                countries: [country.code.as_str()],
                year: Some(first.start.year()),
                sdgs: self.sdgs_for(&themes),
                themes,
                groups,
                measures: chosen.iter().map(|m| m.id.as_str()).collect(),
                recommendations: recs,
                source: Some("synthetic"),
            })?;
        }
        file.finish()
    }

    /// A country (index) and, now and then, a neighbour in the list with it: most of the
    /// Tracker's records are about one State, some about several.
    fn tracker_countries(&mut self) -> Vec<usize> {
        let n = self.countries.len();
        let c = self.rng.gen_range(0..n);
        let mut out = vec![c];
        if n > 1 && self.rng.gen_range(0..100) < 15 {
            out.push((c + 1) % n);
        }
        out.sort_unstable();
        out
    }

    /// Up to `most` measures of the country (indexes), and up to two recommendations they are
    /// linked to.
    fn related<'m>(
        &mut self,
        by_country: &[Vec<usize>],
        country: usize,
        most: usize,
        recommendations: &'m [String],
        measures: &'m [Measure<'a>],
        links_by_measure: &[Vec<u32>],
    ) -> (Vec<&'m Measure<'a>>, Vec<&'m str>) {
        let amount = self.rng.gen_range(0..=most).min(by_country[country].len());
        let mut chosen: Vec<usize> = by_country[country]
            .choose_multiple(&mut self.rng, amount)
            .copied()
            .collect();
        chosen.sort_unstable();
        let recs: Vec<&str> = chosen
            .iter()
            .flat_map(|&m| &links_by_measure[m])
            .map(|&r| recommendations[r as usize].as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .take(2)
            .collect();
        (chosen.into_iter().map(|m| &measures[m]).collect(), recs)
    }

    /// A theme for a record with these measures: one of theirs, else a weighted draw.
    fn tracker_theme(&mut self, measures: &[&Measure<'a>]) -> &'a str {
        let themes: Vec<&'a str> = sorted_union(measures.iter().map(|m| &m.themes))
            .into_iter()
            .filter(|&t| t != COVID_THEME)
            .collect();
        if themes.is_empty() {
            let t = weighted(&mut self.rng, &self.theme_weights);
            self.reference.themes[t].slug.as_str()
        } else {
            pick(&mut self.rng, &themes)
        }
    }

    /// Writes concerns.jsonl: issues of concern about one or two States, each mitigated by
    /// some of their measures and spoken to by recommendations those measures are linked to.
    /// Returns the concerns (ids) per country, for the actions that address them.
    fn concerns(
        &mut self,
        out: &Path,
        recommendations: &[String],
        measures: &[Measure<'a>],
        links_by_measure: &[Vec<u32>],
    ) -> io::Result<(Vec<Vec<String>>, FileCount)> {
        let mut by_country: Vec<Vec<usize>> = vec![vec![]; self.countries.len()];
        for (i, m) in measures.iter().enumerate() {
            by_country[m.country].push(i);
        }
        let mut concerns_by_country: Vec<Vec<String>> = vec![vec![]; self.countries.len()];
        let count = (self.params.concerns_per_country * self.countries.len() as f64 * self.scale)
            .round() as usize;
        let mut file = JsonlFile::create(out, "concerns.jsonl")?;
        for i in 1..=count {
            if self.countries.is_empty() {
                break;
            }
            let cs = self.tracker_countries();
            let first = self.countries[cs[0]];
            let (chosen, recs) = self.related(
                &by_country,
                cs[0],
                2,
                recommendations,
                measures,
                links_by_measure,
            );
            let theme = self.tracker_theme(&chosen);
            let kind = weighted(&mut self.rng, &CONCERN_KIND_WEIGHTS);
            let severity = SEVERITIES[weighted(&mut self.rng, &SEVERITY_WEIGHTS)];
            let reported_on =
                TRACKER_EPOCH + TimeDelta::days(self.rng.gen_range(0..TRACKER_SPAN_DAYS));
            let groups = self.sample_groups(&[0, 0, 1, 2]);
            let theme_name = lower_name(self.theme_name(theme));
            let mut description =
                format!("Reports point to {theme_name} under strain during the COVID-19 response");
            if !groups.is_empty() {
                description.push_str(&format!(", above all for {}", self.group_names(&groups)));
            }
            description.push('.');
            let id = format!("C-{}-{i:05}", first.code);
            let themes = vec![theme];
            file.write(&ConcernRecord {
                title: CONCERN_TITLES[kind]
                    .replace("{theme}", &theme_name)
                    .replace("{country}", &first.name),
                countries: cs
                    .iter()
                    .map(|&c| self.countries[c].code.as_str())
                    .collect(),
                description,
                kind: CONCERN_KINDS[kind],
                severity,
                reported_on,
                sdgs: self.sdgs_for(&themes),
                themes,
                groups,
                measures: chosen.iter().map(|m| m.id.as_str()).collect(),
                recommendations: recs,
                source: "synthetic",
                source_url: Some(format!("https://example.org/concerns/{id}")),
                id: id.clone(),
            })?;
            for &c in &cs {
                concerns_by_country[c].push(id.clone());
            }
        }
        Ok((concerns_by_country, file.finish()?))
    }

    /// Writes actions.jsonl: actions of UN Human Rights for one or two States, addressing
    /// some of their concerns and supporting some of their measures.
    fn actions(
        &mut self,
        out: &Path,
        recommendations: &[String],
        measures: &[Measure<'a>],
        links_by_measure: &[Vec<u32>],
        concerns_by_country: &[Vec<String>],
    ) -> io::Result<FileCount> {
        let mut by_country: Vec<Vec<usize>> = vec![vec![]; self.countries.len()];
        for (i, m) in measures.iter().enumerate() {
            by_country[m.country].push(i);
        }
        let count = (self.params.actions_per_country * self.countries.len() as f64 * self.scale)
            .round() as usize;
        let mut file = JsonlFile::create(out, "actions.jsonl")?;
        for i in 1..=count {
            if self.countries.is_empty() {
                break;
            }
            let cs = self.tracker_countries();
            let first = self.countries[cs[0]];
            let (chosen, recs) = self.related(
                &by_country,
                cs[0],
                1,
                recommendations,
                measures,
                links_by_measure,
            );
            let theme = self.tracker_theme(&chosen);
            let amount = self
                .rng
                .gen_range(0..=2)
                .min(concerns_by_country[cs[0]].len());
            let mut concerns: Vec<&str> = concerns_by_country[cs[0]]
                .choose_multiple(&mut self.rng, amount)
                .map(String::as_str)
                .collect();
            concerns.sort_unstable();
            let kind = weighted(&mut self.rng, &ACTION_KIND_WEIGHTS);
            let start = TRACKER_EPOCH + TimeDelta::days(self.rng.gen_range(0..TRACKER_SPAN_DAYS));
            let end = (self.rng.gen_range(0..2) == 0)
                .then(|| start + TimeDelta::days(self.rng.gen_range(30..200)));
            let people = (self.rng.gen_range(0..10) < 3).then(|| self.rng.gen_range(20..5000));
            let groups = self.sample_groups(&[0, 0, 1]);
            let theme_name = lower_name(self.theme_name(theme));
            let themes = vec![theme];
            file.write(&ActionRecord {
                id: format!("A-{}-{i:05}", first.code),
                countries: cs
                    .iter()
                    .map(|&c| self.countries[c].code.as_str())
                    .collect(),
                title: ACTION_TITLES[kind]
                    .replace("{theme}", &theme_name)
                    .replace("{country}", &first.name),
                description: format!(
                    "UN Human Rights worked with authorities and civil society on {theme_name}."
                ),
                kind: ACTION_KINDS[kind],
                start_date: start,
                end_date: end,
                outcome: people.map(|n| format!("{n} people reached")),
                people_reached: people,
                sdgs: self.sdgs_for(&themes),
                themes,
                groups,
                concerns,
                measures: chosen.iter().map(|m| m.id.as_str()).collect(),
                recommendations: recs,
                source: "synthetic",
            })?;
        }
        file.finish()
    }

    /// Distinct group slugs, as many as a draw from `sizes`, sorted.
    fn sample_groups(&mut self, sizes: &[usize]) -> Vec<&'a str> {
        let groups = &self.reference.groups;
        let amount = pick(&mut self.rng, sizes).min(groups.len());
        let mut out: Vec<&str> = groups
            .choose_multiple(&mut self.rng, amount)
            .map(|g| g.slug.as_str())
            .collect();
        out.sort_unstable();
        out
    }

    /// "older persons and LGBTI persons".
    fn group_names(&self, slugs: &[&str]) -> String {
        slugs
            .iter()
            .filter_map(|s| self.reference.groups.iter().find(|g| g.slug == *s))
            .map(|g| lower_name(&g.name))
            .collect::<Vec<_>>()
            .join(" and ")
    }

    fn theme_name(&self, slug: &str) -> &'a str {
        self.reference.themes[self.theme_index[slug]].name.as_str()
    }

    /// The SDG goals the themes map to, sorted and distinct.
    fn sdgs_for(&self, themes: &[&str]) -> Vec<u8> {
        themes
            .iter()
            .flat_map(|t| &self.reference.themes[self.theme_index[t]].sdgs)
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }
}

fn sorted_union<'s, 'a: 's>(lists: impl Iterator<Item = &'s Vec<&'a str>>) -> Vec<&'a str> {
    lists
        .flatten()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn rfc3339(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// One uniform draw from a non-empty constant list.
fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.gen_range(0..items.len())]
}

/// An index drawn with the given (not all zero) weights.
fn weighted(rng: &mut ChaCha8Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.gen_range(0..total);
    for (i, &w) in weights.iter().enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// A normal draw (Box–Muller), as Python's `random.gauss`.
fn gauss(rng: &mut ChaCha8Rng, mu: f64, sigma: f64) -> f64 {
    let u1: f64 = rng.gen();
    let u2: f64 = rng.gen();
    let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    mu + sigma * z
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::HashMap;

    fn tiny(seed: u64, scale: f64) -> GenerateOptions {
        GenerateOptions {
            preset: Preset::Tiny,
            scale,
            seed,
        }
    }

    fn count(counts: &[(&str, usize)], name: &str) -> usize {
        counts
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
            .unwrap_or_else(|| panic!("no count for {name}"))
    }

    fn read_records(dir: &Path, name: &str) -> Vec<Value> {
        fs::read_to_string(dir.join(name))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn strings(v: &Value) -> Vec<&str> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect()
    }

    fn assert_distinct<T: std::hash::Hash + Eq + std::fmt::Debug>(what: &str, items: &[T]) {
        let set: HashSet<&T> = items.iter().collect();
        assert_eq!(set.len(), items.len(), "{what} has duplicates: {items:?}");
    }

    #[test]
    fn the_same_seed_writes_byte_identical_files() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let counts_a = generate(&tiny(42, 1.0), a.path()).unwrap();
        let counts_b = generate(&tiny(42, 1.0), b.path()).unwrap();
        assert_eq!(counts_a, counts_b);
        for (name, _) in &counts_a {
            let bytes = fs::read(a.path().join(name)).unwrap();
            assert!(!bytes.is_empty(), "{name} is empty");
            assert!(
                bytes == fs::read(b.path().join(name)).unwrap(),
                "{name} differs"
            );
        }
    }

    #[test]
    fn different_seeds_write_different_data() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        generate(&tiny(1, 1.0), a.path()).unwrap();
        generate(&tiny(2, 1.0), b.path()).unwrap();
        for name in [
            "countries.jsonl",
            "sessions.jsonl",
            "recommendations.jsonl",
            "measures.jsonl",
            "links.jsonl",
        ] {
            let (x, y) = (fs::read(a.path().join(name)), fs::read(b.path().join(name)));
            assert!(
                x.unwrap() != y.unwrap(),
                "{name} is the same for seeds 1 and 2"
            );
        }
        // The taxonomy is reference data, not drawn.
        let name = "taxonomy/themes.jsonl";
        assert_eq!(
            fs::read(a.path().join(name)).unwrap(),
            fs::read(b.path().join(name)).unwrap()
        );
    }

    #[test]
    fn the_tiny_preset_writes_the_expected_number_of_records() {
        let dir = tempfile::tempdir().unwrap();
        let counts = generate(&tiny(1, 1.0), dir.path()).unwrap();
        let names: Vec<&str> = counts.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "taxonomy/themes.jsonl",
                "taxonomy/groups.jsonl",
                "taxonomy/sdgs.jsonl",
                "taxonomy/measure_categories.jsonl",
                "countries.jsonl",
                "cycles.jsonl",
                "sessions.jsonl",
                "recommendations.jsonl",
                "measures.jsonl",
                "good_practices.jsonl",
                "concerns.jsonl",
                "actions.jsonl",
                "links.jsonl",
            ]
        );
        // Exactly the files an import reads (in its own order), but the audit trail: a
        // generated dataset has no history.
        let written: HashSet<&str> = names.iter().copied().collect();
        let read: HashSet<&str> = crate::dataset::FILES
            .iter()
            .copied()
            .filter(|&f| f != "history.jsonl")
            .collect();
        assert_eq!(written, read);
        for (name, n) in &counts {
            assert_eq!(*n, read_records(dir.path(), name).len(), "{name}");
        }
        assert_eq!(count(&counts, "taxonomy/themes.jsonl"), 55);
        assert_eq!(count(&counts, "taxonomy/groups.jsonl"), 36);
        assert_eq!(count(&counts, "taxonomy/sdgs.jsonl"), 17);
        assert_eq!(count(&counts, "taxonomy/measure_categories.jsonl"), 14);
        assert_eq!(count(&counts, "countries.jsonl"), 24);
        assert_eq!(count(&counts, "cycles.jsonl"), 1);
        assert_eq!(count(&counts, "sessions.jsonl"), 14);
        // 24 reviews of about 50 recommendations; 24 countries of 4 to 11 measures (about 190).
        let recommendations = count(&counts, "recommendations.jsonl");
        assert!((900..=1500).contains(&recommendations), "{recommendations}");
        let measures = count(&counts, "measures.jsonl");
        assert!((150..=235).contains(&measures), "{measures}");
        assert_eq!(count(&counts, "good_practices.jsonl"), 12);
        assert_eq!(count(&counts, "links.jsonl"), 300);
        // The Tracker's world counts, for 24 of 193 countries.
        assert_eq!(count(&counts, "concerns.jsonl"), 385);
        assert_eq!(count(&counts, "actions.jsonl"), 131);
    }

    #[test]
    fn the_scale_multiplies_recommendations_measures_and_links() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let one = generate(&tiny(3, 1.0), a.path()).unwrap();
        let three = generate(&tiny(3, 3.0), b.path()).unwrap();
        let ratio = |name| count(&three, name) as f64 / count(&one, name) as f64;
        let r = ratio("recommendations.jsonl");
        assert!((2.7..=3.3).contains(&r), "recommendations x{r}");
        let m = ratio("measures.jsonl");
        assert!((2.2..=3.8).contains(&m), "measures x{m}");
        assert_eq!(count(&three, "links.jsonl"), 900);
        assert_eq!(count(&three, "good_practices.jsonl"), 36);
        assert_eq!(
            count(&three, "sessions.jsonl"),
            count(&one, "sessions.jsonl")
        );
    }

    #[test]
    fn a_negative_or_infinite_scale_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for scale in [-1.0, f64::NAN, f64::INFINITY] {
            let err = generate(&tiny(1, scale), dir.path()).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        }
        assert!(!dir.path().join("countries.jsonl").exists());
    }

    #[test]
    fn generated_records_keep_the_format_invariants() {
        let dir = tempfile::tempdir().unwrap();
        generate(&tiny(5, 1.0), dir.path()).unwrap();
        let d = dir.path();
        let slugs = |name| -> HashSet<String> {
            read_records(d, name)
                .iter()
                .map(|r| r["slug"].as_str().unwrap().to_owned())
                .collect()
        };
        let (themes, groups) = (
            slugs("taxonomy/themes.jsonl"),
            slugs("taxonomy/groups.jsonl"),
        );
        let goals: HashSet<u64> = read_records(d, "taxonomy/sdgs.jsonl")
            .iter()
            .map(|r| r["goal"].as_u64().unwrap())
            .collect();
        let countries: HashSet<String> = read_records(d, "countries.jsonl")
            .iter()
            .map(|r| r["code"].as_str().unwrap().to_owned())
            .collect();
        let check_tags = |r: &Value| {
            let (ts, gs) = (strings(&r["themes"]), strings(&r["groups"]));
            assert_distinct("themes", &ts);
            assert_distinct("groups", &gs);
            assert!(ts.iter().all(|t| themes.contains(*t)), "{r}");
            assert!(gs.iter().all(|g| groups.contains(*g)), "{r}");
            let sdgs: Vec<u64> = r["sdgs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g.as_u64().unwrap())
                .collect();
            assert_distinct("sdgs", &sdgs);
            assert!(sdgs.iter().all(|g| goals.contains(g)), "{r}");
        };

        let sessions: HashMap<u64, Vec<String>> = read_records(d, "sessions.jsonl")
            .iter()
            .map(|s| {
                let states: Vec<String> = strings(&s["states_under_review"])
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                assert_distinct("states_under_review", &states);
                assert!(s["start_date"].as_str() <= s["end_date"].as_str());
                (s["number"].as_u64().unwrap(), states)
            })
            .collect();

        let mut rec_state = HashMap::new();
        let mut responses: HashSet<String> = HashSet::new();
        for r in read_records(d, "recommendations.jsonl") {
            responses.insert(r["response"].as_str().unwrap().to_owned());
            let sur = r["state_under_review"].as_str().unwrap().to_owned();
            let session = r["session"].as_u64().unwrap();
            assert!(sessions[&session].contains(&sur), "{r}");
            let recommending = strings(&r["recommending_states"]);
            assert!(!recommending.is_empty(), "{r}");
            assert_distinct("recommending_states", &recommending);
            assert!(!recommending.contains(&sur.as_str()), "{r}");
            assert!(recommending.iter().all(|c| countries.contains(*c)), "{r}");
            assert!(
                r["action_category"].is_null()
                    || (1..=5).contains(&r["action_category"].as_u64().unwrap())
            );
            assert!(r["text"].as_str().unwrap().ends_with('.'));
            check_tags(&r);
            let id = r["id"].as_str().unwrap().to_owned();
            assert!(rec_state.insert(id, sur).is_none(), "duplicate id in {r}");
        }
        if rec_state.len() >= 1000 {
            // 3 % of a thousand or more: absent only if the generator lost the response.
            assert!(
                responses.contains("PARTIALLY_SUPPORTED"),
                "responses generated: {responses:?}"
            );
        }

        let categories: HashSet<String> = read_records(d, "taxonomy/measure_categories.jsonl")
            .iter()
            .map(|r| r["code"].as_str().unwrap().to_owned())
            .collect();
        let mut measure_country = HashMap::new();
        for m in read_records(d, "measures.jsonl") {
            assert!(categories.contains(m["category"].as_str().unwrap()), "{m}");
            let start = m["start_date"].as_str().unwrap();
            assert!(("2020-03-01".."2022-12-31").contains(&start), "{m}");
            if let Some(end) = m["end_date"].as_str() {
                assert!(end >= start, "{m}");
            }
            assert!(strings(&m["themes"]).contains(&COVID_THEME));
            check_tags(&m);
            let country = m["country"].as_str().unwrap().to_owned();
            assert!(countries.contains(&country));
            let id = m["id"].as_str().unwrap().to_owned();
            assert!(
                measure_country.insert(id, country).is_none(),
                "duplicate id in {m}"
            );
        }

        let mut pairs = HashSet::new();
        for l in read_records(d, "links.jsonl") {
            let (rec, measure) = (
                l["recommendation"].as_str().unwrap(),
                l["measure"].as_str().unwrap(),
            );
            assert_eq!(rec_state[rec], measure_country[measure], "{l}");
            assert!(
                pairs.insert((rec.to_owned(), measure.to_owned())),
                "duplicate link {l}"
            );
            let at = l["created_at"].as_str().unwrap();
            assert!(
                chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with('Z'),
                "{l}"
            );
        }

        let mut gp_ids = HashSet::new();
        for gp in read_records(d, "good_practices.jsonl") {
            assert!(gp_ids.insert(gp["id"].as_str().unwrap().to_owned()));
            let country = strings(&gp["countries"])[0];
            let ms = strings(&gp["measures"]);
            assert!(!ms.is_empty());
            assert_distinct("measures", &ms);
            assert!(ms.iter().all(|m| measure_country[*m] == country), "{gp}");
            let recs = strings(&gp["recommendations"]);
            assert_distinct("recommendations", &recs);
            assert!(recs.iter().all(|r| rec_state[*r] == country), "{gp}");
            check_tags(&gp);
        }
    }
}
