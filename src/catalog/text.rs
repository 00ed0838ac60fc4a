//! Full-text search: an inverted index of English-stemmed words with BM25 ranking and
//! highlighted snippets.
//!
//! Words are lower-cased runs of letters and digits; common English stop words are dropped;
//! the rest are reduced to their Porter2 stem (rust-stemmers), so "violations" matches
//! "violation" (but "violent" does not match "violence": their stems differ). A query matches a document when every one of its words does.

use std::collections::HashMap;
use std::sync::Arc;

use roaring::RoaringBitmap;

use super::cow::{Chunked, Sharded};
use rust_stemmers::{Algorithm, Stemmer};

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "into",
    "is", "it", "its", "of", "on", "or", "such", "that", "the", "their", "there", "these", "they",
    "this", "to", "was", "were", "which", "will", "with",
];

/// BM25 parameters (the usual defaults).
const K1: f32 = 1.2;
const B: f32 = 0.75;

/// Splits text into (byte range, stem) pairs, stop words left out.
pub struct Analyzer {
    stemmer: Stemmer,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer {
            stemmer: Stemmer::create(Algorithm::English),
        }
    }
}

impl Analyzer {
    pub fn tokens<'t>(
        &'t self,
        text: &'t str,
    ) -> impl Iterator<Item = (std::ops::Range<usize>, String)> + 't {
        let mut rest = text.char_indices().peekable();
        std::iter::from_fn(move || loop {
            // Skip to the next word.
            let (start, _) = loop {
                let &(i, c) = rest.peek()?;
                if c.is_alphanumeric() {
                    break (i, c);
                }
                rest.next();
            };
            let mut end = start;
            while let Some(&(i, c)) = rest.peek() {
                if !c.is_alphanumeric() {
                    break;
                }
                end = i + c.len_utf8();
                rest.next();
            }
            let word = text[start..end].to_lowercase();
            if STOP_WORDS.binary_search(&word.as_str()).is_ok() {
                continue;
            }
            return Some((start..end, self.stemmer.stem(&word).into_owned()));
        })
    }

    /// The distinct stems of a query, in order of first appearance.
    pub fn query_terms(&self, query: &str) -> Vec<String> {
        // A set beside the list: a long text with many distinct words stays linear.
        let mut seen = std::collections::HashSet::new();
        let mut terms: Vec<String> = vec![];
        for (_, t) in self.tokens(query) {
            if seen.insert(t.clone()) {
                terms.push(t);
            }
        }
        terms
    }
}

#[derive(Clone)]
struct Postings {
    docs: RoaringBitmap,
    /// (document, term frequency), ascending by document.
    freqs: Vec<(u32, u16)>,
}

/// The length (in indexed words) of each document, by id.
#[derive(Clone)]
struct Lengths {
    by_id: Chunked<u32>,
    docs: usize,
}

impl Lengths {
    const ABSENT: u32 = u32::MAX;

    fn new() -> Lengths {
        Lengths {
            by_id: Chunked::new(Self::ABSENT),
            docs: 0,
        }
    }

    fn get(&self, id: u32) -> Option<u32> {
        Some(*self.by_id.get(id as usize)).filter(|&l| l != Self::ABSENT)
    }

    fn insert(&mut self, id: u32, len: u32) {
        if self.get(id).is_none() {
            self.docs += 1;
        }
        self.by_id.set(id as usize, len);
    }

    fn remove(&mut self, id: u32) -> Option<u32> {
        let old = self.get(id)?;
        self.by_id.set(id as usize, Self::ABSENT);
        self.docs -= 1;
        Some(old)
    }

    fn entries(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (0..self.by_id.capacity() as u32).filter_map(|id| Some((id, self.get(id)?)))
    }
}

impl PartialEq for Lengths {
    fn eq(&self, other: &Self) -> bool {
        self.docs == other.docs && self.entries().eq(other.entries())
    }
}

impl std::fmt::Debug for Lengths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.entries()).finish()
    }
}

/// An inverted index over documents identified by u32 ids. Cheap to clone, and a
/// document's change copies only the shards and posting lists of its own terms.
#[derive(Clone)]
pub struct TextIndex {
    terms: Sharded<String, Arc<Postings>>,
    lengths: Lengths,
    total_length: u64,
}

impl TextIndex {
    /// Builds the index from (id, text) pairs given in ascending id order.
    pub fn build<'a>(analyzer: &Analyzer, docs: impl Iterator<Item = (u32, &'a str)>) -> TextIndex {
        let mut terms: HashMap<String, Postings> = HashMap::new();
        let mut lengths = Lengths::new();
        let mut total_length = 0u64;
        let mut counts: HashMap<String, u16> = HashMap::new();
        for (id, text) in docs {
            counts.clear();
            let mut len = 0u32;
            for (_, stem) in analyzer.tokens(text) {
                *counts.entry(stem).or_default() += 1;
                len += 1;
            }
            lengths.insert(id, len);
            total_length += len as u64;
            for (stem, &tf) in &counts {
                let p = terms.entry(stem.clone()).or_insert_with(|| Postings {
                    docs: RoaringBitmap::new(),
                    freqs: vec![],
                });
                p.docs.insert(id);
                p.freqs.push((id, tf));
            }
        }
        TextIndex {
            terms: terms.into_iter().map(|(t, p)| (t, Arc::new(p))).collect(),
            lengths,
            total_length,
        }
    }

    /// Adds a document (whose id is not in the index).
    pub fn insert(&mut self, analyzer: &Analyzer, id: u32, text: &str) {
        let mut counts: HashMap<String, u16> = HashMap::new();
        let mut len = 0u32;
        for (_, stem) in analyzer.tokens(text) {
            *counts.entry(stem).or_default() += 1;
            len += 1;
        }
        self.lengths.insert(id, len);
        self.total_length += len as u64;
        for (stem, tf) in counts {
            let p = Arc::make_mut(self.terms.entry(stem, || {
                Arc::new(Postings {
                    docs: RoaringBitmap::new(),
                    freqs: vec![],
                })
            }));
            p.docs.insert(id);
            let at = p.freqs.partition_point(|&(d, _)| d < id);
            p.freqs.insert(at, (id, tf));
        }
    }

    /// Removes a document, given the text it was indexed with.
    pub fn remove(&mut self, analyzer: &Analyzer, id: u32, text: &str) {
        let Some(len) = self.lengths.remove(id) else {
            return;
        };
        self.total_length -= len as u64;
        for (_, stem) in analyzer.tokens(text) {
            // A stem seen again in the same text was removed already: copy nothing for it.
            if !self
                .terms
                .get(stem.as_str())
                .is_some_and(|p| p.docs.contains(id))
            {
                continue;
            }
            let emptied = match self.terms.get_mut(stem.as_str()) {
                Some(p) => {
                    let p = Arc::make_mut(p);
                    p.docs.remove(id);
                    if let Ok(at) = p.freqs.binary_search_by_key(&id, |&(d, _)| d) {
                        p.freqs.remove(at);
                    }
                    p.docs.is_empty()
                }
                None => false,
            };
            if emptied {
                self.terms.remove(stem.as_str());
            }
        }
    }

    /// Whether two indexes hold the same documents, terms and frequencies.
    pub fn same_as(&self, other: &TextIndex) -> bool {
        self.total_length == other.total_length
            && self.lengths == other.lengths
            && self.terms.len() == other.terms.len()
            && self.terms.iter().all(|(t, p)| {
                other
                    .terms
                    .get(t)
                    .is_some_and(|q| q.docs == p.docs && q.freqs == p.freqs)
            })
    }

    /// How many documents there are.
    pub fn len(&self) -> usize {
        self.lengths.docs
    }

    pub fn is_empty(&self) -> bool {
        self.lengths.docs == 0
    }

    /// The documents that hold every term (an empty set if any term is unknown).
    pub fn matching(&self, terms: &[String]) -> RoaringBitmap {
        let mut lists: Vec<&RoaringBitmap> = vec![];
        for t in terms {
            match self.terms.get(t) {
                Some(p) => lists.push(&p.docs),
                None => return RoaringBitmap::new(),
            }
        }
        lists.sort_by_key(|l| l.len());
        let mut it = lists.into_iter();
        let Some(first) = it.next() else {
            return RoaringBitmap::new();
        };
        it.fold(first.clone(), |acc, l| acc & l)
    }

    /// BM25 scores of the given documents for the terms.
    pub fn scores(&self, terms: &[String], docs: &RoaringBitmap) -> HashMap<u32, f32> {
        let n = self.lengths.docs.max(1) as f32;
        let avg = (self.total_length as f32 / n).max(1.0);
        let mut out: HashMap<u32, f32> = docs.iter().map(|d| (d, 0.0)).collect();
        for t in terms {
            let Some(p) = self.terms.get(t) else { continue };
            let df = p.docs.len() as f32;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(doc, tf) in &p.freqs {
                if let Some(score) = out.get_mut(&doc) {
                    let len = self.lengths.get(doc).unwrap_or(0) as f32;
                    let tf = tf as f32;
                    *score += idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avg));
                }
            }
        }
        out
    }
}

/// A window of `text` around the first matches, HTML-escaped, with every matching word
/// wrapped in `<mark>…</mark>`; "…" marks cut ends.
pub fn snippet(analyzer: &Analyzer, text: &str, terms: &[String], max_words: usize) -> String {
    let words: Vec<(std::ops::Range<usize>, bool)> = {
        // Every word, stop words included, so the window counts what a reader sees.
        let mut all = vec![];
        let mut matched = analyzer
            .tokens(text)
            .filter(|(_, s)| terms.contains(s))
            .map(|(r, _)| r)
            .peekable();
        let mut start = None;
        for (i, c) in text
            .char_indices()
            .chain(std::iter::once((text.len(), ' ')))
        {
            match (start, c.is_alphanumeric()) {
                (None, true) => start = Some(i),
                (Some(s), false) => {
                    while matched.peek().is_some_and(|m| m.end <= s) {
                        matched.next();
                    }
                    let hit = matched.peek().is_some_and(|m| m.start == s);
                    all.push((s..i, hit));
                    start = None;
                }
                _ => {}
            }
        }
        all
    };
    if words.is_empty() {
        return escape(text);
    }
    let first_hit = words.iter().position(|(_, h)| *h).unwrap_or(0);
    let from = first_hit.saturating_sub(max_words / 4);
    let to = (from + max_words).min(words.len());
    let from = to.saturating_sub(max_words).min(from);
    let start = if from == 0 { 0 } else { words[from].0.start };
    let end = if to == words.len() {
        text.len()
    } else {
        words[to - 1].0.end
    };
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut at = start;
    for (r, hit) in &words[from..to] {
        if *hit {
            out.push_str(&escape(&text[at..r.start]));
            out.push_str("<mark>");
            out.push_str(&escape(&text[r.clone()]));
            out.push_str("</mark>");
            at = r.end;
        }
    }
    out.push_str(&escape(&text[at..end]));
    if end < text.len() {
        out.push('…');
    }
    out
}

fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

impl TextIndex {
    /// How many documents hold the term (a stem, as [`Analyzer::query_terms`] gives it).
    pub fn document_frequency(&self, term: &str) -> u64 {
        self.terms.get(term).map_or(0, |p| p.docs.len())
    }

    /// Whether the document holds the term.
    pub fn holds(&self, term: &str, doc: u32) -> bool {
        self.terms.get(term).is_some_and(|p| p.docs.contains(doc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn words_are_stemmed_and_stop_words_dropped() {
        let a = Analyzer::default();
        assert_eq!(
            a.query_terms("The Domestic violence, violent!"),
            vec!["domest", "violenc", "violent"]
        );
    }

    #[test]
    fn every_word_must_match_and_rarer_words_weigh_more() {
        let a = Analyzer::default();
        let docs = [
            (0, "Combat domestic violence and protect victims"),
            (1, "Protect victims of trafficking"),
            (2, "Domestic workers need protection"),
        ];
        let idx = TextIndex::build(&a, docs.iter().map(|(i, t)| (*i, *t)));
        let q = a.query_terms("domestic violence");
        assert_eq!(idx.matching(&q).iter().collect::<Vec<_>>(), vec![0]);
        assert_eq!(
            idx.matching(&a.query_terms("protect")).len(),
            3,
            "protect/protection share a stem"
        );
        assert!(idx.matching(&a.query_terms("unknownword")).is_empty());
        let s = idx.scores(
            &a.query_terms("trafficking victims"),
            &[0, 1].into_iter().collect(),
        );
        assert!(s[&1] > s[&0]);
    }

    #[test]
    fn insert_and_remove_match_a_fresh_build() {
        let a = Analyzer::default();
        let docs = [
            (0, "Combat domestic violence and protect victims"),
            (1, "Protect victims of trafficking"),
            (2, "Domestic workers need protection"),
        ];
        let mut idx = TextIndex::build(&a, docs.iter().map(|(i, t)| (*i, *t)));
        idx.remove(&a, 1, docs[1].1);
        idx.insert(&a, 1, "Release detainees to reduce prison overcrowding");
        idx.insert(&a, 3, "Protect domestic workers");
        let fresh = TextIndex::build(
            &a,
            [
                (0, docs[0].1),
                (1, "Release detainees to reduce prison overcrowding"),
                (2, docs[2].1),
                (3, "Protect domestic workers"),
            ]
            .into_iter(),
        );
        assert_eq!(idx.total_length, fresh.total_length);
        assert_eq!(idx.lengths, fresh.lengths);
        let mut a_terms: Vec<_> = idx
            .terms
            .iter()
            .map(|(t, p)| (t.clone(), p.freqs.clone()))
            .collect();
        let mut b_terms: Vec<_> = fresh
            .terms
            .iter()
            .map(|(t, p)| (t.clone(), p.freqs.clone()))
            .collect();
        a_terms.sort();
        b_terms.sort();
        assert_eq!(a_terms, b_terms);
        assert!(idx.matching(&a.query_terms("trafficking")).is_empty());
    }

    #[test]
    fn snippets_mark_matches_and_escape_html() {
        let a = Analyzer::default();
        let terms = a.query_terms("violence");
        let s = snippet(&a, "Stop <b>violence</b> & violent acts", &terms, 30);
        assert_eq!(
            s,
            "Stop &lt;b&gt;<mark>violence</mark>&lt;/b&gt; &amp; violent acts"
        );
        let long = format!("{} violence {}", "word ".repeat(50), "tail ".repeat(50));
        let s = snippet(&a, &long, &terms, 10);
        assert!(
            s.starts_with('…') && s.ends_with('…') && s.contains("<mark>violence</mark>"),
            "{s}"
        );
    }
}
