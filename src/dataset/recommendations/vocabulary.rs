//! The names the published formats use, resolved to the product's codes and slugs.
//!
//! Sources write States, themes and affected persons in their own words ("Iran (Islamic
//! Republic of)", "Arbitrary arrest & detention"). The lists that translate them are data
//! (`data/import/*.tsv`, embedded here so the importer runs anywhere) and are read beside the
//! store's own taxonomy: a country or group spelled as the store names it resolves by itself.
//! Matching ignores case, accents, runs of spaces, the spacing around "&" and a spaced
//! apostrophe ("People ’ s"), which vary between documents of the same publisher.
//!
//! A list can be extended for one import by a file in the embedded list's format
//! ([`NameList`], `--country-aliases`, `--uhri-themes`, `--uhri-affected-persons`), so that a
//! name a new document uses can be resolved without a new release; its rows take precedence
//! over the embedded ones, and every code or slug in it must be one the store has.

use std::collections::{HashMap, HashSet};

use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};

use crate::dataset::import::Problem;
use crate::model::{CountryCode, SdgGoal, Slug};
use crate::store::{Store, StoreError};

const COUNTRY_ALIASES: &str = include_str!("../../../data/import/country_aliases.tsv");
const UHRI_THEMES: &str = include_str!("../../../data/import/uhri_themes.tsv");
const UHRI_AFFECTED_PERSONS: &str = include_str!("../../../data/import/uhri_affected_persons.tsv");

/// A name reduced to what matching compares.
pub(crate) fn normalize(name: &str) -> String {
    let spaced: String = name
        .replace('&', " & ")
        .replace('’', "'")
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .collect();
    let words: Vec<&str> = spaced.split_whitespace().collect();
    // Text taken from PDFs spaces the apostrophe: "Democratic People ’ s Republic of Korea".
    let mut s = words.join(" ").to_lowercase().replace(" ' ", "'");
    // OHCHR writes "the Netherlands" in running text and "Netherlands" in lists.
    if let Some(rest) = s.strip_prefix("the ") {
        s = rest.to_owned();
    }
    s
}

/// The rows of an embedded table: tab-separated, `#` comments, one header line.
fn rows(table: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .map(|l| l.split('\t').collect())
}

/// Slugs written comma-separated; the embedded tables are checked by a unit test, so a bad
/// slug there is a build mistake, not user input.
fn slugs(cell: &str) -> Vec<Slug> {
    cell.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|s| Slug::parse(s).ok())
        .collect()
}

/// A list of names an import file may extend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameList {
    /// State names -> ISO3 (`name<TAB>code[<TAB>source]`).
    CountryAliases,
    /// UHRI themes and OHCHR cluster headings -> themes (`label<TAB>slug,slug`).
    UhriThemes,
    /// UHRI affected persons -> groups (`label<TAB>slug,slug`).
    UhriAffectedPersons,
    /// UPR Info issues -> themes (`label<TAB>slug,slug`); the embedded list is the themes'
    /// own names (`taxonomy/themes.jsonl`), which are UPR Info's issues.
    UprInfoIssues,
}

impl NameList {
    /// The embedded list it extends.
    pub fn embedded(self) -> &'static str {
        match self {
            NameList::CountryAliases => "data/import/country_aliases.tsv",
            NameList::UhriThemes => "data/import/uhri_themes.tsv",
            NameList::UhriAffectedPersons => "data/import/uhri_affected_persons.tsv",
            NameList::UprInfoIssues => "the themes' names (taxonomy/themes.jsonl)",
        }
    }

    /// The command-line option that gives a file of it.
    pub fn option(self) -> &'static str {
        match self {
            NameList::CountryAliases => "--country-aliases",
            NameList::UhriThemes => "--uhri-themes",
            NameList::UhriAffectedPersons => "--uhri-affected-persons",
            NameList::UprInfoIssues => "--upr-info-issues",
        }
    }

    /// Where a name missing from the list can go, for error messages.
    pub(crate) fn hint(self) -> String {
        format!(
            "{}; a file given with {} can add it",
            self.embedded(),
            self.option()
        )
    }
}

/// A file extending one of the lists for an import: its name (for errors) and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct NameFile {
    pub list: NameList,
    pub name: String,
    pub text: String,
}

/// Every lookup an importer needs, built once per import.
pub struct Vocabulary {
    countries: HashMap<String, CountryCode>,
    uhri_themes: HashMap<String, Vec<Slug>>,
    affected_persons: HashMap<String, Vec<Slug>>,
    /// UPR Info issue names (the `name` of each theme) -> slugs.
    issues: HashMap<String, Vec<Slug>>,
    theme_sdgs: HashMap<Slug, Vec<SdgGoal>>,
}

impl Vocabulary {
    /// The embedded lists over the store's countries, themes and groups.
    pub fn load(store: &Store) -> Result<Vocabulary, StoreError> {
        let mut countries = HashMap::new();
        for row in rows(COUNTRY_ALIASES) {
            if let (Some(name), Some(Ok(code))) =
                (row.first(), row.get(1).map(|c| CountryCode::parse(c)))
            {
                countries.insert(normalize(name), code);
            }
        }
        for c in store.countries() {
            let c = c?.record;
            countries.insert(normalize(&c.name), c.code);
        }
        let uhri_themes = rows(UHRI_THEMES)
            .map(|r| (normalize(r[0]), slugs(r.get(1).copied().unwrap_or(""))))
            .collect();
        let mut affected_persons: HashMap<String, Vec<Slug>> = rows(UHRI_AFFECTED_PERSONS)
            .map(|r| (normalize(r[0]), slugs(r.get(1).copied().unwrap_or(""))))
            .collect();
        for g in store.groups() {
            let g = g?.record;
            affected_persons
                .entry(normalize(&g.name))
                .or_insert_with(|| vec![g.slug.clone()]);
        }
        let mut issues = HashMap::new();
        let mut theme_sdgs = HashMap::new();
        for t in store.themes() {
            let t = t?.record;
            issues.insert(normalize(&t.name), vec![t.slug.clone()]);
            theme_sdgs.insert(t.slug.clone(), t.sdgs.clone());
        }
        Ok(Vocabulary {
            countries,
            uhri_themes,
            affected_persons,
            issues,
            theme_sdgs,
        })
    }

    /// Adds the rows of a file to its list (they win over the embedded rows); every problem
    /// is `file:line: reason` and, if there is any, nothing of the file is added.
    pub fn extend(&mut self, store: &Store, file: &NameFile) -> Result<Vec<Problem>, StoreError> {
        let known_countries: HashSet<CountryCode> = store
            .countries()
            .map(|c| c.map(|c| c.record.code))
            .collect::<Result<_, _>>()?;
        let known_slugs: HashSet<Slug> = match file.list {
            NameList::CountryAliases => HashSet::new(),
            NameList::UhriThemes | NameList::UprInfoIssues => store
                .themes()
                .map(|t| t.map(|t| t.record.slug))
                .collect::<Result<_, _>>()?,
            NameList::UhriAffectedPersons => store
                .groups()
                .map(|g| g.map(|g| g.record.slug))
                .collect::<Result<_, _>>()?,
        };
        let mut problems = vec![];
        let mut countries = vec![];
        let mut labels = vec![];
        let mut header_seen = false;
        for (i, line) in file.text.lines().enumerate() {
            let line = line.trim_start_matches('\u{feff}').trim_end_matches('\r');
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let cells: Vec<&str> = line.split('\t').map(str::trim).collect();
            if !header_seen {
                header_seen = true;
                if ["name", "label"].contains(&cells[0].to_lowercase().as_str()) {
                    continue;
                }
            }
            let mut problem = |reason: String| {
                problems.push(Problem {
                    file: file.name.clone(),
                    line: i + 1,
                    reason,
                })
            };
            if cells[0].is_empty() || cells.len() < 2 {
                problem(format!(
                    "expected a name, a tab and {} (the format of {})",
                    if file.list == NameList::CountryAliases {
                        "an ISO3 code"
                    } else {
                        "slugs separated by commas (or nothing)"
                    },
                    match file.list {
                        NameList::UprInfoIssues => NameList::UhriThemes.embedded(),
                        other => other.embedded(),
                    }
                ));
                continue;
            }
            if file.list == NameList::CountryAliases {
                match CountryCode::parse(cells[1]) {
                    Ok(c) if known_countries.contains(&c) => countries.push((cells[0], c)),
                    Ok(c) => problem(format!("{} is not a country of the store", c.as_str())),
                    Err(e) => problem(format!("{:?} is not an ISO3 code: {}", cells[1], e.0)),
                }
                continue;
            }
            let mut slugs = vec![];
            for s in cells[1].split(',').map(str::trim).filter(|s| !s.is_empty()) {
                match Slug::parse(s) {
                    Ok(slug) if known_slugs.contains(&slug) => slugs.push(slug),
                    Ok(_) => problem(format!(
                        "{s:?} is not a {} of the store",
                        if file.list == NameList::UhriAffectedPersons {
                            "group"
                        } else {
                            "theme"
                        }
                    )),
                    Err(e) => problem(format!("{s:?} is not a slug: {}", e.0)),
                }
            }
            labels.push((cells[0], slugs));
        }
        if problems.is_empty() {
            for (name, code) in countries {
                self.countries.insert(normalize(name), code);
            }
            let list = match file.list {
                NameList::UhriThemes => &mut self.uhri_themes,
                NameList::UprInfoIssues => &mut self.issues,
                _ => &mut self.affected_persons,
            };
            for (label, slugs) in labels {
                list.insert(normalize(label), slugs);
            }
        }
        Ok(problems)
    }

    /// A State by any of the names the sources use.
    pub fn country(&self, name: &str) -> Option<CountryCode> {
        self.countries.get(&normalize(name)).copied()
    }

    /// The product's themes for a UHRI theme or an OHCHR theme-cluster heading; `None` when
    /// the crosswalk does not know the label (an empty list means it maps to none on purpose).
    pub fn uhri_theme(&self, label: &str) -> Option<&[Slug]> {
        self.uhri_themes.get(&normalize(label)).map(Vec::as_slice)
    }

    /// The product's groups for a UHRI affected-persons label.
    pub fn affected_persons(&self, label: &str) -> Option<&[Slug]> {
        self.affected_persons
            .get(&normalize(label))
            .map(Vec::as_slice)
    }

    /// The themes of a UPR Info issue: the theme of that name, or what a file given for the
    /// import maps it to.
    pub fn issue(&self, name: &str) -> Option<&[Slug]> {
        self.issues.get(&normalize(name)).map(Vec::as_slice)
    }

    /// The SDGs of some themes, per the crosswalk in `taxonomy/themes.jsonl`: sorted, once each.
    pub fn sdgs_of(&self, themes: &[Slug]) -> Vec<SdgGoal> {
        let mut goals: Vec<SdgGoal> = themes
            .iter()
            .filter_map(|t| self.theme_sdgs.get(t))
            .flatten()
            .copied()
            .collect();
        goals.sort();
        goals.dedup();
        goals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_tables_hold_only_valid_codes_and_slugs() {
        for row in rows(COUNTRY_ALIASES) {
            assert_eq!(row.len(), 3, "{row:?}");
            assert!(CountryCode::parse(row[1]).is_ok(), "{row:?}");
        }
        for table in [UHRI_THEMES, UHRI_AFFECTED_PERSONS] {
            for row in rows(table) {
                assert_eq!(row.len(), 2, "{row:?}");
                for s in row[1].split(',').filter(|s| !s.is_empty()) {
                    assert!(Slug::parse(s).is_ok(), "{row:?}");
                }
            }
        }
    }

    #[test]
    fn names_match_whatever_the_case_spacing_and_article() {
        assert_eq!(
            normalize("Budget &resources (for human rights implementation)"),
            normalize("budget & resources  (for human rights implementation)")
        );
        assert_eq!(normalize("the Netherlands"), "netherlands");
        assert_eq!(
            normalize("Democratic People ’ s Republic of Korea"),
            normalize("Democratic People's Republic of Korea")
        );
        assert_eq!(normalize("Côte d’Ivoire"), "cote d'ivoire");
        assert_eq!(
            normalize("São Tomé and Príncipe"),
            normalize("Sao Tome and Principe")
        );
    }
}
