//! Link suggestions with their reasons: which COVID-19 measures of a State may bear on a
//! recommendation it received, and which of its recommendations a measure may bear on.
//!
//! A suggestion is a starting point for a person, never a judgement: it says how much a
//! recommendation and a measure have in common, and shows what, so that a reviewer can
//! confirm or reject it quickly. Only pairs of the same State are considered (the State under
//! review and the State that took the measure), and a pair that already has a link of any
//! status is never offered: a CONFIRMED or SUGGESTED one is already there, and a REJECTED
//! one was turned down by a person and stays so.
//!
//! # The score
//!
//! Each candidate gets five factors, each between 0 and 1, added with these weights:
//!
//! ```text
//! score = 3 × themes + 1 × groups + 0.5 × sdgs + 3 × words + 0.5 × time
//! ```
//!
//! - **themes**: 1 when the measure carries one of the recommendation's themes; ½ when it
//!   only reaches one through its category (the measure category → themes crosswalk, e.g.
//!   `DETENTION` bears on `detention` and `torture-and-other-cid-treatment`); otherwise 0.
//! - **groups**: 1 when the measure names one of the recommendation's affected-person
//!   groups (detainees, women, migrants...); otherwise 0.
//! - **sdgs**: the share of the recommendation's SDG goals (its own and its themes', through
//!   the theme → SDG crosswalk) that the measure has too; a goal that the measure lists
//!   itself and the recommendation lists itself counts 1, a goal they only share through
//!   their themes counts ½.
//! - **words**: how well the words of one text match the other, by BM25, the ranking of the
//!   text search: the recommendation's text is the query against the titles and
//!   descriptions of the candidate measures, or the measure's title and description the
//!   query against the texts of the candidate recommendations. Divided by the best match
//!   among the candidates, so the best match scores 1, unless even the best is weak (below
//!   what about two rare words in common score): then it is divided by that floor instead,
//!   so that one common word in common ("effective", "measures") is not taken for a strong
//!   match. Words are compared by stem
//!   ("prisons" matches "prisoners") and rare words weigh more than common ones
//!   ("overcrowding" more than "measures").
//! - **time**: 1 when the measure was in force after the review began, that is when it
//!   has no end date or ended on or after the first day of the recommendation's session
//!   (or, when the session's date is not known, of its UPR cycle); 0 when it ended before
//!   the review or when no date is known.
//!
//! So a measure that shares a theme and a group with a recommendation, all of its goals, the
//! best matching words, and was in force after the review scores the most, 8.
//!
//! Themes and words carry most of the weight because they say what a recommendation is
//! about; a theme counts once however many are shared, because a measure usually serves one
//! right while a recommendation often lists several related themes. Groups sharpen the
//! match. SDGs are coarse (most civil and political themes map to goal 16, every COVID-19
//! measure to goal 3), so they weigh little and mostly break ties. Timing matters (a measure
//! that ended before a recommendation was made cannot implement it) but does not say what a
//! measure is about, so time only counts alongside another factor: a measure that shares
//! nothing but its dates is not suggested, and neither is a candidate that scores 0.
//! Suggestions come best first, equal scores in the order of the suggested record's id.
//!
//! Each suggestion carries one reason per factor that contributed: `shares theme
//! right-to-health`, `category HEALTH bears on theme right-to-health`, `shares group
//! detainees`, `shares SDG 3`, `shares SDG 16 through their themes`, `matching words:
//! overcrowding, release, prisons` (at most six, rarest first, as the recommendation writes
//! them), `in force 2020-03-16 to 2021-02-01, after the review (session 36, 2020-11-02)`.
//!
//! The weights were set from these principles, then checked against the 31 links curated in
//! the default dataset (the evaluation test at the end of this file ranks each link as if
//! it were not there): the linked measure is among the top 5 suggestions for its
//! recommendation for 29 of the 31 links, and the linked recommendation among the top 5 for
//! its measure for 20 of 31. The reverse direction is harder: a school closure bears on
//! dozens of education recommendations of its State that read alike. Counting a theme once
//! rather than as a share of the recommendation's themes gained one link in each direction.
//! Other weights near these (words 1 to 3, themes 2 to 4, groups 0 to 2, SDGs 0 to 1, time
//! 0 to 1, the crosswalks counting 0 to 1) move either figure by one link at most, so they
//! were left at round numbers rather than fitted to 31 examples. Time decides none of the
//! 31 (their recommendations all predate the pandemic); it matters for reviews held during
//! it, such as session 36 in November 2020.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use roaring::RoaringBitmap;

use super::text::TextIndex;
use super::{Catalog, Row};
use crate::model::*;
use crate::store::Index;

/// Weights of the five factors (see the module documentation).
const W_THEMES: f64 = 3.0;
const W_GROUPS: f64 = 1.0;
const W_SDGS: f64 = 0.5;
const W_WORDS: f64 = 3.0;
const W_TIME: f64 = 0.5;

/// A theme or goal reached only through a crosswalk counts this much of a direct one.
const INDIRECT: f64 = 0.5;

/// At most this many matching words are listed in a reason.
const MAX_WORDS: usize = 6;

/// A suggested link between a recommendation and a measure (internal ids), with its score and
/// one human-readable reason per contributing factor.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub recommendation: u32,
    pub measure: u32,
    pub score: f64,
    pub reasons: Vec<String>,
}

/// The best `first` measures of the recommendation's State under review that are not linked
/// to it yet, best first. Empty when the recommendation does not exist. Gives up with
/// [`TimedOut`] once `deadline` has passed.
pub fn measures_for(
    cat: &Catalog,
    recommendation: u32,
    first: usize,
    deadline: Instant,
) -> Result<Vec<Suggestion>, TimedOut> {
    rank(
        cat,
        Anchor::Recommendation(recommendation),
        first,
        None,
        deadline,
    )
}

/// The best `first` recommendations received by the measure's State that are not linked to
/// it yet, best first. Empty when the measure does not exist. Gives up with [`TimedOut`]
/// once `deadline` has passed.
pub fn recommendations_for(
    cat: &Catalog,
    measure: u32,
    first: usize,
    deadline: Instant,
) -> Result<Vec<Suggestion>, TimedOut> {
    rank(cat, Anchor::Measure(measure), first, None, deadline)
}

/// Work that ran past its deadline and gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut;

fn check(deadline: Instant) -> Result<(), TimedOut> {
    if Instant::now() >= deadline {
        Err(TimedOut)
    } else {
        Ok(())
    }
}

/// Candidates scored between two looks at the deadline.
const CANDIDATES_PER_CHECK: usize = 256;

/// Query terms scored between two looks at the deadline (a term's postings may hold every
/// document).
const TERMS_PER_CHECK: usize = 64;

/// The words of a text that its words factor reads: its first distinct stems, this many at
/// most. A recommendation or a measure description has far fewer; the bound keeps the work
/// of one suggestion small whatever text is stored (a description of 100,000 words would
/// otherwise be a query of 100,000 terms).
const MAX_TERMS: usize = 200;

/// The most words read from a text for its terms (stop words not counted).
const MAX_TEXT_WORDS: usize = 5_000;

/// A text's first distinct stems (at most [`MAX_TERMS`], from at most [`MAX_TEXT_WORDS`] words),
/// each with the byte range where it is first written.
fn first_terms(cat: &Catalog, text: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let mut seen = HashSet::new();
    let mut terms = vec![];
    for (range, stem) in cat.analyzer.tokens(text).take(MAX_TEXT_WORDS) {
        if seen.insert(stem.clone()) {
            terms.push((stem, range));
            if terms.len() == MAX_TERMS {
                break;
            }
        }
    }
    terms
}

/// BM25 scores of `terms` against `candidates` in `index`, looking at the deadline between
/// batches of terms.
fn words_scores(
    index: &TextIndex,
    terms: &[String],
    candidates: &RoaringBitmap,
    deadline: Instant,
) -> Result<HashMap<u32, f32>, TimedOut> {
    let mut chunks = terms.chunks(TERMS_PER_CHECK);
    let Some(first) = chunks.next() else {
        return Ok(HashMap::new());
    };
    check(deadline)?;
    let mut scores = index.scores(first, candidates);
    for chunk in chunks {
        check(deadline)?;
        for (id, s) in index.scores(chunk, candidates) {
            *scores.entry(id).or_default() += s;
        }
    }
    Ok(scores)
}

/// What suggestions are for.
#[derive(Debug, Clone, Copy)]
enum Anchor {
    Recommendation(u32),
    Measure(u32),
}

/// Ranks the candidates for `anchor`. `readmit` is a candidate that stays in even though it
/// is linked already: the evaluation ranks a known link as if it were not there.
fn rank(
    cat: &Catalog,
    anchor: Anchor,
    first: usize,
    readmit: Option<u32>,
    deadline: Instant,
) -> Result<Vec<Suggestion>, TimedOut> {
    if first == 0 {
        return Ok(vec![]);
    }
    let mut scored_so_far = 0usize;
    let mut in_time = || {
        scored_so_far += 1;
        if scored_so_far % CANDIDATES_PER_CHECK == 0 {
            check(deadline)
        } else {
            Ok(())
        }
    };
    let crosswalk = Crosswalk::new(cat);
    let mut scored: Vec<(Pair, f64, &str)> = match anchor {
        Anchor::Recommendation(id) => {
            let Some(rec) = cat.recommendations.get(id) else {
                return Ok(vec![]);
            };
            let mut candidates = cat
                .list(&Index::MeasuresByCountry(rec.record.state_under_review))
                .clone();
            for l in cat.links_of_recommendation(id) {
                if Some(l.measure) != readmit {
                    candidates.remove(l.measure);
                }
            }
            let terms = stems(first_terms(cat, &rec.record.text));
            let words = normalised(words_scores(
                &cat.measure_text,
                &terms,
                &candidates,
                deadline,
            )?);
            let text = |id| words.get(&id).copied().unwrap_or(0.0);
            let r = RecommendationSide::new(cat, &crosswalk, rec);
            let mut scored = vec![];
            for m in &candidates {
                in_time()?;
                let Some(m) = cat.measures.get(m) else {
                    continue;
                };
                let pair = Pair::of(&r, &MeasureSide::new(&crosswalk, m), text(m.id));
                if let Some(score) = pair.score() {
                    scored.push((pair, score, m.record.id.as_str()));
                }
            }
            scored
        }
        Anchor::Measure(id) => {
            let Some(measure) = cat.measures.get(id) else {
                return Ok(vec![]);
            };
            let mut candidates = cat
                .list(&Index::RecommendationsReceived(measure.record.country))
                .clone();
            for l in cat.links_of_measure(id) {
                if Some(l.recommendation) != readmit {
                    candidates.remove(l.recommendation);
                }
            }
            let terms = stems(first_terms(cat, &measure_text(&measure.record)));
            let words = normalised(words_scores(
                &cat.recommendation_text,
                &terms,
                &candidates,
                deadline,
            )?);
            let text = |id| words.get(&id).copied().unwrap_or(0.0);
            let m = MeasureSide::new(&crosswalk, measure);
            let mut scored = vec![];
            for r in &candidates {
                in_time()?;
                let Some(r) = cat.recommendations.get(r) else {
                    continue;
                };
                let pair = Pair::of(&RecommendationSide::new(cat, &crosswalk, r), &m, text(r.id));
                if let Some(score) = pair.score() {
                    scored.push((pair, score, r.record.id.as_str()));
                }
            }
            scored
        }
    };
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.2.cmp(b.2)));
    scored.truncate(first);
    // The index the words were scored in, for the rarity of each matching word.
    let searched = match anchor {
        Anchor::Recommendation(_) => &cat.measure_text,
        Anchor::Measure(_) => &cat.recommendation_text,
    };
    let mut vocabulary = Vocabulary::new(cat);
    let mut suggestions = Vec::with_capacity(scored.len());
    for (pair, score, _) in scored {
        check(deadline)?;
        let words = if pair.words > 0.0 {
            vocabulary.matching(&pair, searched)
        } else {
            vec![]
        };
        suggestions.push(Suggestion {
            recommendation: pair.recommendation.id,
            measure: pair.measure.id,
            score,
            reasons: pair.reasons(&words),
        });
    }
    Ok(suggestions)
}

fn stems(terms: Vec<(String, std::ops::Range<usize>)>) -> Vec<String> {
    terms.into_iter().map(|(stem, _)| stem).collect()
}

/// The least BM25 score a best match is taken to have: about what two rare words in
/// common score. Below it, the best candidate's words are a weak match and count as such.
const WORDS_FLOOR: f32 = 10.0;

/// BM25 scores divided by the best of them (or by [`WORDS_FLOOR`] when the best is weaker),
/// so they lie in [0, 1].
fn normalised(scores: HashMap<u32, f32>) -> HashMap<u32, f64> {
    let best = scores.values().copied().fold(WORDS_FLOOR, f32::max);
    scores
        .into_iter()
        .map(|(id, s)| (id, if best > 0.0 { (s / best) as f64 } else { 0.0 }))
        .collect()
}

/// A measure's text as the measure index holds it.
fn measure_text(m: &Measure) -> String {
    format!("{}\n{}", m.title, m.description)
}

/// The two crosswalks of the taxonomy, looked up once per call.
struct Crosswalk<'c> {
    theme_sdgs: HashMap<&'c str, &'c [SdgGoal]>,
    category_themes: HashMap<MeasureCategory, &'c [Slug]>,
}

impl<'c> Crosswalk<'c> {
    fn new(cat: &'c Catalog) -> Self {
        Crosswalk {
            theme_sdgs: cat
                .themes
                .iter()
                .map(|t| (t.slug.as_str(), t.sdgs.as_slice()))
                .collect(),
            category_themes: cat
                .measure_categories
                .iter()
                .map(|c| (c.code, c.themes.as_slice()))
                .collect(),
        }
    }

    /// The SDG goals of a record's own goals and of its themes' goals.
    fn goals<'t>(
        &self,
        sdgs: &[SdgGoal],
        themes: impl Iterator<Item = &'t Slug>,
    ) -> BTreeSet<SdgGoal> {
        let mut all: BTreeSet<SdgGoal> = sdgs.iter().copied().collect();
        for t in themes {
            all.extend(self.theme_sdgs.get(t.as_str()).copied().unwrap_or(&[]));
        }
        all
    }
}

/// The first day of the review in which a recommendation was made, and where it comes from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Review {
    pub session: SessionNumber,
    pub date: Date,
    /// The cycle whose start stands in for the session's unknown date.
    pub cycle: Option<CycleNumber>,
}

impl std::fmt::Display for Review {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.cycle {
            None => write!(f, "session {}, {}", self.session, self.date),
            Some(c) => write!(f, "session {}, cycle {c} began {}", self.session, self.date),
        }
    }
}

/// When a session's review began: its first day or, when that is not known, its cycle's.
pub(super) fn review(cat: &Catalog, session: SessionNumber) -> Option<Review> {
    let s = cat.session(session)?;
    if let Some(date) = s.record.start_date {
        return Some(Review {
            session,
            date,
            cycle: None,
        });
    }
    let c = cat.cycle(s.record.cycle)?;
    Some(Review {
        session,
        date: c.record.start_date?,
        cycle: Some(c.record.number),
    })
}

struct RecommendationSide<'c> {
    row: &'c Arc<Row<Recommendation>>,
    goals: BTreeSet<SdgGoal>,
    review: Option<Review>,
}

impl<'c> RecommendationSide<'c> {
    fn new(cat: &Catalog, crosswalk: &Crosswalk<'_>, row: &'c Arc<Row<Recommendation>>) -> Self {
        let r = &row.record;
        RecommendationSide {
            row,
            goals: crosswalk.goals(&r.sdgs, r.themes.iter()),
            review: review(cat, r.session),
        }
    }
}

struct MeasureSide<'c> {
    row: &'c Arc<Row<Measure>>,
    /// The themes of the measure's category (the crosswalk).
    category_themes: &'c [Slug],
    goals: BTreeSet<SdgGoal>,
}

impl<'c> MeasureSide<'c> {
    fn new(crosswalk: &Crosswalk<'c>, row: &'c Arc<Row<Measure>>) -> Self {
        let m = &row.record;
        let category_themes = crosswalk
            .category_themes
            .get(&m.category)
            .copied()
            .unwrap_or(&[]);
        MeasureSide {
            row,
            category_themes,
            goals: crosswalk.goals(&m.sdgs, m.themes.iter().chain(category_themes)),
        }
    }
}

/// What a recommendation and a measure have in common.
struct Pair<'c> {
    recommendation: &'c Arc<Row<Recommendation>>,
    measure: &'c Arc<Row<Measure>>,
    /// The recommendation's themes that the measure carries.
    themes: Vec<&'c Slug>,
    /// The recommendation's themes that the measure only reaches through its category.
    category_themes: Vec<&'c Slug>,
    groups: Vec<&'c Slug>,
    /// The recommendation's goals that the measure lists too.
    sdgs: Vec<SdgGoal>,
    /// The recommendation's goals (its own or its themes') shared only through themes.
    theme_sdgs: Vec<SdgGoal>,
    /// How many goals the recommendation has, its own and its themes'.
    goals: usize,
    /// Normalised BM25, in [0, 1].
    words: f64,
    /// Whether the measure was in force after the review (false when unknown).
    after_review: bool,
    review: Option<Review>,
}

impl<'c> Pair<'c> {
    fn of(r: &RecommendationSide<'c>, m: &MeasureSide<'c>, words: f64) -> Pair<'c> {
        let (rec, measure) = (&r.row.record, &m.row.record);
        let mut themes = vec![];
        let mut category_themes = vec![];
        for t in &rec.themes {
            if measure.themes.contains(t) {
                themes.push(t);
            } else if m.category_themes.contains(t) {
                category_themes.push(t);
            }
        }
        let groups = rec
            .groups
            .iter()
            .filter(|g| measure.groups.contains(g))
            .collect();
        let mut sdgs = vec![];
        let mut theme_sdgs = vec![];
        for &g in &r.goals {
            if rec.sdgs.contains(&g) && measure.sdgs.contains(&g) {
                sdgs.push(g);
            } else if m.goals.contains(&g) {
                theme_sdgs.push(g);
            }
        }
        // A measure ends on or after it starts (the store validates it), so its end date
        // alone says whether it was in force on or after the review's first day.
        let after_review = r
            .review
            .is_some_and(|rv| measure.end_date.is_none_or(|end| end >= rv.date));
        Pair {
            recommendation: r.row,
            measure: m.row,
            themes,
            category_themes,
            groups,
            sdgs,
            theme_sdgs,
            goals: r.goals.len(),
            words,
            after_review,
            review: r.review,
        }
    }

    /// The score, or `None` when nothing but (at most) the dates is shared.
    fn score(&self) -> Option<f64> {
        let themes = if !self.themes.is_empty() {
            1.0
        } else if !self.category_themes.is_empty() {
            INDIRECT
        } else {
            0.0
        };
        let groups = if self.groups.is_empty() { 0.0 } else { 1.0 };
        let sdgs = if self.goals == 0 {
            0.0
        } else {
            (self.sdgs.len() as f64 + INDIRECT * self.theme_sdgs.len() as f64) / self.goals as f64
        };
        let relevance =
            W_THEMES * themes + W_GROUPS * groups + W_SDGS * sdgs + W_WORDS * self.words;
        if relevance <= 0.0 {
            return None;
        }
        let time = if self.after_review { 1.0 } else { 0.0 };
        Some(relevance + W_TIME * time)
    }

    /// One reason per contributing factor; `words` are the matching words to show.
    fn reasons(&self, words: &[String]) -> Vec<String> {
        let mut out = vec![];
        for t in &self.themes {
            out.push(format!("shares theme {t}"));
        }
        for t in &self.category_themes {
            out.push(format!(
                "category {} bears on theme {t}",
                self.measure.record.category
            ));
        }
        for g in &self.groups {
            out.push(format!("shares group {g}"));
        }
        for g in &self.sdgs {
            out.push(format!("shares SDG {g}"));
        }
        for g in &self.theme_sdgs {
            out.push(format!("shares SDG {g} through their themes"));
        }
        if !words.is_empty() {
            out.push(format!("matching words: {}", words.join(", ")));
        }
        if let (true, Some(review)) = (self.after_review, self.review) {
            let m = &self.measure.record;
            out.push(match m.end_date {
                Some(end) => format!(
                    "in force {} to {end}, after the review ({review})",
                    m.start_date
                ),
                None => format!(
                    "in force from {} (no end date), after the review ({review})",
                    m.start_date
                ),
            });
        }
        out
    }
}

/// The words of the recommendations being explained, each text analysed once per call (for
/// `measures_for`, the one recommendation's text is on every suggestion).
struct Vocabulary<'c> {
    cat: &'c Catalog,
    /// A recommendation's stems in order of first appearance, each with the word as first
    /// written there, lower-cased.
    forms: HashMap<u32, Vec<(String, String)>>,
}

impl<'c> Vocabulary<'c> {
    fn new(cat: &'c Catalog) -> Self {
        Vocabulary {
            cat,
            forms: HashMap::new(),
        }
    }

    /// The words the pair's texts share (by stem), as first written in the recommendation and
    /// lower-cased, rarest first in `searched` (the index the candidates were scored in),
    /// then in the order of the recommendation's text.
    fn matching(&mut self, pair: &Pair<'_>, searched: &TextIndex) -> Vec<String> {
        let (r, m) = (pair.recommendation, pair.measure);
        let cat = self.cat;
        let forms = self.forms.entry(r.id).or_insert_with(|| {
            let text = &r.record.text;
            first_terms(cat, text)
                .into_iter()
                .map(|(stem, range)| (stem, text[range].to_lowercase()))
                .collect()
        });
        let mut shared: Vec<(u64, usize, &str)> = forms
            .iter()
            .enumerate()
            .filter(|(_, (stem, _))| self.cat.measure_text.holds(stem, m.id))
            .map(|(i, (stem, form))| (searched.document_frequency(stem), i, form.as_str()))
            .collect();
        shared.sort_unstable();
        shared
            .into_iter()
            .take(MAX_WORDS)
            .map(|(_, _, form)| form.to_owned())
            .collect()
    }
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

    /// Honduras, reviewed in session 36 (2020-11-02), with six recommendations and nine
    /// measures whose right answers are known, and the United States beside it.
    fn fixture() -> Catalog {
        let mut changes = vec![];
        for g in [3, 4, 5, 10, 16] {
            changes.push(put(
                Record::Sdg,
                &format!(r#"{{"goal":{g},"name":"Goal {g}"}}"#),
            ));
        }
        for (slug, sdgs) in [
            ("covid-19", "[3]"),
            ("right-to-health", "[3]"),
            ("detention", "[16]"),
            ("torture-and-other-cid-treatment", "[16]"),
            ("justice", "[16]"),
            ("right-to-education", "[4]"),
            ("womens-rights", "[5]"),
            ("freedom-of-movement", "[10]"),
            ("freedom-of-association-and-peaceful-assembly", "[16]"),
        ] {
            changes.push(put(
                Record::Theme,
                &format!(r#"{{"slug":"{slug}","name":"{slug}","sdgs":{sdgs}}}"#),
            ));
        }
        for g in ["detainees", "older-persons", "children", "women"] {
            changes.push(put(
                Record::Group,
                &format!(r#"{{"slug":"{g}","name":"{g}"}}"#),
            ));
        }
        for (code, themes) in [
            ("HEALTH", r#"["right-to-health","covid-19"]"#),
            (
                "DETENTION",
                r#"["detention","torture-and-other-cid-treatment"]"#,
            ),
            ("JUSTICE", r#"["justice"]"#),
            ("EDUCATION", r#"["right-to-education"]"#),
            ("GENDER_BASED_VIOLENCE", r#"["womens-rights"]"#),
            ("MOVEMENT", r#"["freedom-of-movement"]"#),
            (
                "ASSEMBLY",
                r#"["freedom-of-association-and-peaceful-assembly"]"#,
            ),
        ] {
            changes.push(put(
                Record::MeasureCategory,
                &format!(r#"{{"code":"{code}","name":"{code}","themes":{themes}}}"#),
            ));
        }
        for (code, name) in [("FRA", "France"), ("HND", "Honduras"), ("USA", "USA")] {
            changes.push(put(
                Record::Country,
                &format!(r#"{{"code":"{code}","name":"{name}"}}"#),
            ));
        }
        changes.push(put(
            Record::Cycle,
            r#"{"number":3,"start_date":"2017-05-01","end_date":"2022-02-04"}"#,
        ));
        changes.push(put(
            Record::Session,
            r#"{"number":36,"cycle":3,"start_date":"2020-11-02","end_date":"2020-11-13","states_under_review":["HND","USA"]}"#,
        ));
        for (id, text, themes, groups, sdgs, response) in [
            (
                "R-36-HND-001",
                "Reduce overcrowding in prisons, including through the release of detainees and alternatives to detention.",
                r#"["detention","torture-and-other-cid-treatment"]"#,
                r#"["detainees"]"#,
                "[16]",
                "SUPPORTED",
            ),
            (
                "R-36-HND-002",
                "Guarantee access to health care and testing for older persons during the pandemic.",
                r#"["right-to-health"]"#,
                r#"["older-persons"]"#,
                "[3]",
                "SUPPORTED",
            ),
            (
                "R-36-HND-003",
                "Ensure access to education for all children, including through distance learning.",
                r#"["right-to-education"]"#,
                r#"["children"]"#,
                "[4]",
                "SUPPORTED",
            ),
            (
                "R-36-HND-004",
                "Combat violence against women and provide shelters for survivors.",
                r#"["womens-rights"]"#,
                r#"["women"]"#,
                "[5]",
                "SUPPORTED",
            ),
            (
                "R-36-HND-005",
                "Guarantee freedom of peaceful assembly.",
                r#"["freedom-of-association-and-peaceful-assembly"]"#,
                "[]",
                "[16]",
                "NOTED",
            ),
            (
                "R-36-USA-001",
                "Ensure access to health care for all.",
                r#"["right-to-health"]"#,
                "[]",
                "[3]",
                "SUPPORTED",
            ),
        ] {
            let state = &id[5..8];
            changes.push(put(
                Record::Recommendation,
                &format!(
                    r#"{{"id":"{id}","text":"{text}","state_under_review":"{state}","recommending_states":["FRA"],"session":36,"response":"{response}","themes":{themes},"groups":{groups},"sdgs":{sdgs}}}"#
                ),
            ));
        }
        for (id, category, title, description, dates, themes, groups, sdgs) in [
            (
                "M-HND-01",
                "DETENTION",
                "Release of detainees to reduce overcrowding in prisons",
                "About 2,700 prisoners and detainees were released to reduce the risk of contagion in overcrowded prisons.",
                r#""start_date":"2020-12-01""#,
                r#"["covid-19","detention"]"#,
                r#"["detainees"]"#,
                "[3,16]",
            ),
            (
                "M-HND-02",
                "JUSTICE",
                "Remote court hearings for detainees",
                "Courts hear the cases of detainees by video link.",
                r#""start_date":"2020-11-15","end_date":"2021-03-01""#,
                r#"["justice"]"#,
                r#"["detainees"]"#,
                "[16]",
            ),
            (
                "M-HND-03",
                "HEALTH",
                "Free testing for older persons",
                "COVID-19 testing and health care free of charge for persons over 60.",
                r#""start_date":"2020-04-01","end_date":"2020-06-30""#,
                r#"["covid-19","right-to-health"]"#,
                r#"["older-persons"]"#,
                "[3]",
            ),
            (
                "M-HND-04",
                "HEALTH",
                "Free testing for older persons",
                "COVID-19 testing and health care free of charge for persons over 60.",
                r#""start_date":"2020-11-20""#,
                r#"["covid-19","right-to-health"]"#,
                r#"["older-persons"]"#,
                "[3]",
            ),
            (
                "M-HND-05",
                "EDUCATION",
                "School closures with distance learning",
                "Schools closed; children follow lessons by radio and online.",
                r#""start_date":"2020-03-16","end_date":"2021-02-01""#,
                r#"["covid-19","right-to-education"]"#,
                r#"["children"]"#,
                "[3,4]",
            ),
            (
                "M-HND-06",
                "GENDER_BASED_VIOLENCE",
                "Hotline and shelters for women survivors of violence",
                "A free hotline, and shelters kept open during the lockdown.",
                r#""start_date":"2020-04-10""#,
                r#"["covid-19","womens-rights"]"#,
                r#"["women"]"#,
                "[3,5]",
            ),
            (
                "M-HND-07",
                "MOVEMENT",
                "Nationwide curfew",
                "Nobody may leave home at night.",
                r#""start_date":"2020-03-16","end_date":"2020-09-30""#,
                r#"["covid-19","freedom-of-movement"]"#,
                "[]",
                "[10]",
            ),
            (
                "M-HND-08",
                "ASSEMBLY",
                "Ban on public gatherings",
                "Gatherings of more than ten people are banned.",
                r#""start_date":"2020-03-20""#,
                r#"["covid-19","freedom-of-association-and-peaceful-assembly"]"#,
                "[]",
                "[3]",
            ),
            (
                "M-HND-09",
                "DETENTION",
                "Health screening in prisons",
                "Detainees are screened for COVID-19 on admission to prisons to reduce contagion.",
                r#""start_date":"2020-05-01""#,
                r#"["covid-19","detention","right-to-health"]"#,
                r#"["detainees"]"#,
                "[3,16]",
            ),
            (
                "M-USA-01",
                "HEALTH",
                "Free testing for older persons",
                "Testing and health care free of charge for older persons.",
                r#""start_date":"2020-12-01""#,
                r#"["covid-19","right-to-health"]"#,
                r#"["older-persons"]"#,
                "[3]",
            ),
        ] {
            let country = &id[2..5];
            changes.push(put(
                Record::Measure,
                &format!(
                    r#"{{"id":"{id}","country":"{country}","title":"{title}","description":"{description}","category":"{category}",{dates},"themes":{themes},"groups":{groups},"sdgs":{sdgs}}}"#
                ),
            ));
        }
        for (rec, measure, relation, status) in [
            ("R-36-HND-001", "M-HND-09", "RELATED", "REJECTED"),
            ("R-36-HND-002", "M-HND-09", "RELATED", "SUGGESTED"),
            (
                "R-36-HND-003",
                "M-HND-05",
                "PARTIALLY_IMPLEMENTS",
                "CONFIRMED",
            ),
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

    fn later() -> Instant {
        Instant::now() + std::time::Duration::from_secs(3600)
    }

    /// `super::measures_for` with time enough.
    fn measures_for(cat: &Catalog, recommendation: u32, first: usize) -> Vec<Suggestion> {
        super::measures_for(cat, recommendation, first, later()).unwrap()
    }

    /// `super::recommendations_for` with time enough.
    fn recommendations_for(cat: &Catalog, measure: u32, first: usize) -> Vec<Suggestion> {
        super::recommendations_for(cat, measure, first, later()).unwrap()
    }

    fn rec(cat: &Catalog, r: &str) -> u32 {
        cat.recommendations.by_ref(r).unwrap().id
    }

    fn measure(cat: &Catalog, m: &str) -> u32 {
        cat.measures.by_ref(m).unwrap().id
    }

    fn measure_refs(cat: &Catalog, s: &[Suggestion]) -> Vec<String> {
        s.iter()
            .map(|s| cat.measures.get(s.measure).unwrap().record.id.to_string())
            .collect()
    }

    fn rec_refs(cat: &Catalog, s: &[Suggestion]) -> Vec<String> {
        s.iter()
            .map(|s| {
                cat.recommendations
                    .get(s.recommendation)
                    .unwrap()
                    .record
                    .id
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn a_prison_recommendation_is_best_served_by_the_release_of_detainees() {
        let cat = fixture();
        let s = measures_for(&cat, rec(&cat, "R-36-HND-001"), 3);
        assert_eq!(measure_refs(&cat, &s), ["M-HND-01", "M-HND-02", "M-HND-08"]);
        assert_eq!(
            s[0].reasons,
            [
                "shares theme detention",
                "category DETENTION bears on theme torture-and-other-cid-treatment",
                "shares group detainees",
                "shares SDG 16",
                // Rarest first in the measures' texts: "reduce" is in two, "detainees" in three.
                "matching words: overcrowding, release, reduce, prisons, detainees",
                "in force from 2020-12-01 (no end date), after the review (session 36, 2020-11-02)",
            ]
        );
        assert_eq!(s[0].recommendation, rec(&cat, "R-36-HND-001"));
        // A shared theme, a group, all of its goals, the best words, the timing.
        assert!((s[0].score - (3.0 + 1.0 + 0.5 + 3.0 + 0.5)).abs() < 1e-9);
    }

    #[test]
    fn a_measure_that_ended_before_the_review_ranks_below_its_twin_in_force_after_it() {
        let cat = fixture();
        let s = measures_for(&cat, rec(&cat, "R-36-HND-002"), 2);
        assert_eq!(measure_refs(&cat, &s), ["M-HND-04", "M-HND-03"]);
        assert!((s[0].score - s[1].score - W_TIME).abs() < 1e-9);
        assert!(s[1].reasons.iter().all(|r| !r.starts_with("in force")));
        assert_eq!(
            s[0].reasons.last().unwrap(),
            "in force from 2020-11-20 (no end date), after the review (session 36, 2020-11-02)"
        );
    }

    #[test]
    fn a_measure_in_force_past_the_review_scores_for_time_with_its_dates() {
        let cat = fixture();
        let s = measures_for(&cat, rec(&cat, "R-36-HND-001"), 10);
        let court = s
            .iter()
            .find(|s| s.measure == measure(&cat, "M-HND-02"))
            .unwrap();
        assert_eq!(
            court.reasons.last().unwrap(),
            "in force 2020-11-15 to 2021-03-01, after the review (session 36, 2020-11-02)"
        );
    }

    #[test]
    fn rejected_and_linked_pairs_are_never_suggested() {
        let cat = fixture();
        let prison = measures_for(&cat, rec(&cat, "R-36-HND-001"), 100);
        assert!(!measure_refs(&cat, &prison).contains(&"M-HND-09".to_string()));
        let education = measures_for(&cat, rec(&cat, "R-36-HND-003"), 100);
        assert!(!measure_refs(&cat, &education).contains(&"M-HND-05".to_string()));
        let screening = recommendations_for(&cat, measure(&cat, "M-HND-09"), 100);
        let refs = rec_refs(&cat, &screening);
        assert!(!refs.contains(&"R-36-HND-001".to_string()), "{refs:?}");
        assert!(!refs.contains(&"R-36-HND-002".to_string()), "{refs:?}");
    }

    #[test]
    fn the_reverse_direction_finds_the_recommendation_a_measure_serves() {
        let cat = fixture();
        let top = |m: &str| rec_refs(&cat, &recommendations_for(&cat, measure(&cat, m), 1));
        assert_eq!(top("M-HND-01"), ["R-36-HND-001"]);
        assert_eq!(top("M-HND-04"), ["R-36-HND-002"]);
        assert_eq!(top("M-HND-06"), ["R-36-HND-004"]);
        assert_eq!(top("M-HND-08"), ["R-36-HND-005"]);
        // The next two share only an SDG and the timing: equal scores, in the order of ids.
        let s = recommendations_for(&cat, measure(&cat, "M-HND-01"), 3);
        assert_eq!(
            rec_refs(&cat, &s),
            ["R-36-HND-001", "R-36-HND-002", "R-36-HND-005"]
        );
        assert_eq!(s[1].score, s[2].score);
    }

    #[test]
    fn only_the_same_state_is_considered_and_unrelated_measures_are_left_out() {
        let cat = fixture();
        let usa = measures_for(&cat, rec(&cat, "R-36-USA-001"), 100);
        assert_eq!(measure_refs(&cat, &usa), ["M-USA-01"]);
        let usa = recommendations_for(&cat, measure(&cat, "M-USA-01"), 100);
        assert_eq!(rec_refs(&cat, &usa), ["R-36-USA-001"]);
        // The curfew shares no theme, group, goal or word with the prison recommendation.
        let prison = measures_for(&cat, rec(&cat, "R-36-HND-001"), 100);
        assert!(!measure_refs(&cat, &prison).contains(&"M-HND-07".to_string()));
        assert!(prison.iter().all(|s| s.score > 0.0));
        assert!(prison.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn work_past_its_deadline_gives_up() {
        let cat = fixture();
        let now = Instant::now();
        assert_eq!(
            super::measures_for(&cat, rec(&cat, "R-36-HND-001"), 10, now),
            Err(TimedOut)
        );
        assert_eq!(
            super::recommendations_for(&cat, measure(&cat, "M-HND-01"), 10, now),
            Err(TimedOut)
        );
    }

    #[test]
    fn only_the_first_distinct_words_of_a_long_text_are_read() {
        let cat = fixture();
        let mut text = String::from("Prisons prisons overcrowding.");
        for i in 0..10_000 {
            text.push_str(&format!(" w{i}x"));
        }
        let terms = first_terms(&cat, &text);
        assert_eq!(terms.len(), MAX_TERMS);
        assert_eq!(terms[0].0, "prison");
        assert_eq!(&text[terms[1].1.clone()], "overcrowding");
    }

    #[test]
    fn unknown_ids_and_an_empty_page_give_no_suggestions() {
        let cat = fixture();
        assert!(measures_for(&cat, 9999, 10).is_empty());
        assert!(recommendations_for(&cat, 9999, 10).is_empty());
        assert!(measures_for(&cat, rec(&cat, "R-36-HND-001"), 0).is_empty());
    }

    /// The links curated in the default dataset, each ranked as if it were not there (the
    /// pair is readmitted among the candidates): is the linked measure among the top 5
    /// suggestions for its recommendation, and the recommendation among the top 5 for the
    /// measure? `cargo test --lib suggest::tests::evaluation -- --nocapture` prints each
    /// link's ranks and the totals.
    #[test]
    fn evaluation_on_the_default_dataset_finds_curated_links_in_the_top_five() {
        use crate::dataset::embedded::DefaultDataset;
        use crate::dataset::import::{import, ImportOptions};
        use std::time::{Duration, Instant};

        let store = Store::temporary().unwrap();
        import(&store, &DefaultDataset, ImportOptions::default()).unwrap();
        let cat = Catalog::load(&store).unwrap();
        let links: Vec<(u32, u32)> = store
            .links()
            .map(|l| l.unwrap())
            .filter(|(_, l)| l.record.status == LinkStatus::Confirmed)
            .map(|(ids, _)| ids)
            .collect();
        const TOP: usize = 5;
        let position = |s: &[Suggestion], hit: &dyn Fn(&Suggestion) -> bool| {
            s.iter()
                .position(hit)
                .map_or("-".to_string(), |p| (p + 1).to_string())
        };
        let (mut forward, mut reverse) = (0, 0);
        let (mut forward_time, mut reverse_time) = (Duration::ZERO, Duration::ZERO);
        for &(r, m) in &links {
            let started = Instant::now();
            let measures = rank(&cat, Anchor::Recommendation(r), 50, Some(m), later()).unwrap();
            forward_time += started.elapsed();
            let started = Instant::now();
            let recommendations = rank(&cat, Anchor::Measure(m), 50, Some(r), later()).unwrap();
            reverse_time += started.elapsed();
            let (f, b) = (
                position(&measures, &|s| s.measure == m),
                position(&recommendations, &|s| s.recommendation == r),
            );
            forward += measures.iter().take(TOP).any(|s| s.measure == m) as usize;
            reverse += recommendations
                .iter()
                .take(TOP)
                .any(|s| s.recommendation == r) as usize;
            println!(
                "{} -> {}: measure ranked {f} of {}, recommendation ranked {b} of {}",
                cat.recommendations.get(r).unwrap().record.id,
                cat.measures.get(m).unwrap().record.id,
                measures.len(),
                recommendations.len(),
            );
        }
        let n = links.len();
        println!(
            "top {TOP}: measures for a recommendation {forward}/{n}, recommendations for a \
             measure {reverse}/{n}; a call took {:?} and {:?} on average in this build",
            forward_time / n.max(1) as u32,
            reverse_time / n.max(1) as u32,
        );
        assert_eq!(links.len(), 31, "the default dataset's curated links");
        assert!(forward >= 27, "measures_for: {forward}/31 in the top {TOP}");
        assert!(
            reverse >= 8,
            "recommendations_for: {reverse}/31 in the top {TOP}"
        );
    }
}
