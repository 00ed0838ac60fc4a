//! The names the published formats use, resolved to the product's codes and slugs.
//!
//! Sources write States, themes and affected persons in their own words ("Iran (Islamic
//! Republic of)", "Arbitrary arrest & detention"). The lists that translate them are data
//! (`data/import/*.tsv`, embedded here so the importer runs anywhere) and are read beside the
//! store's own taxonomy: a country or group spelled as the store names it resolves by itself.
//! Matching ignores case, runs of spaces and the spacing around "&", which vary between
//! documents of the same publisher.

use std::collections::HashMap;

use crate::model::{CountryCode, SdgGoal, Slug};
use crate::store::{Store, StoreError};

const COUNTRY_ALIASES: &str = include_str!("../../../data/import/country_aliases.tsv");
const UHRI_THEMES: &str = include_str!("../../../data/import/uhri_themes.tsv");
const UHRI_AFFECTED_PERSONS: &str = include_str!("../../../data/import/uhri_affected_persons.tsv");

/// A name reduced to what matching compares.
pub(crate) fn normalize(name: &str) -> String {
    let spaced = name.replace('&', " & ").replace('’', "'");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let mut s = words.join(" ").to_lowercase();
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

/// Every lookup an importer needs, built once per import.
pub struct Vocabulary {
    countries: HashMap<String, CountryCode>,
    uhri_themes: HashMap<String, Vec<Slug>>,
    affected_persons: HashMap<String, Vec<Slug>>,
    /// UPR Info issue names (the `name` of each theme) -> slug.
    issues: HashMap<String, Slug>,
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
            issues.insert(t.name.clone(), t.slug.clone());
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

    /// The theme whose name is exactly this UPR Info issue.
    pub fn issue(&self, name: &str) -> Option<&Slug> {
        self.issues.get(name)
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
        assert_eq!(normalize("Côte d’Ivoire"), "côte d'ivoire");
    }
}
