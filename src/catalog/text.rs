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

/// Document ids per block of a term's postings: one roaring container's worth, so a block
/// is one container and a write copies at most 8 KB of a term's postings.
const BLOCK_BITS: u32 = 16;

/// The documents holding one term, in blocks of ids (`id >> BLOCK_BITS`), each shared until
/// written: a document's change copies only the block that holds it.
#[derive(Clone)]
struct Term {
    /// The stem (its key in [`TextIndex::names`]).
    name: Arc<str>,
    /// How many documents hold it.
    docs: u64,
    /// (block number, the block's documents), ascending by block.
    blocks: Vec<(u32, Arc<RoaringBitmap>)>,
}

impl Term {
    fn new(name: Arc<str>) -> Term {
        Term {
            name,
            docs: 0,
            blocks: vec![],
        }
    }

    fn block(&self, hi: u32) -> Option<&RoaringBitmap> {
        self.blocks
            .binary_search_by_key(&hi, |(h, _)| *h)
            .ok()
            .map(|i| self.blocks[i].1.as_ref())
    }

    fn contains(&self, doc: u32) -> bool {
        self.block(doc >> BLOCK_BITS)
            .is_some_and(|b| b.contains(doc))
    }

    fn add(&mut self, doc: u32) {
        let hi = doc >> BLOCK_BITS;
        let i = match self.blocks.binary_search_by_key(&hi, |(h, _)| *h) {
            Ok(i) => i,
            Err(i) => {
                self.blocks.insert(i, (hi, Arc::default()));
                i
            }
        };
        if Arc::make_mut(&mut self.blocks[i].1).insert(doc) {
            self.docs += 1;
        }
    }

    fn remove(&mut self, doc: u32) {
        let hi = doc >> BLOCK_BITS;
        let Ok(i) = self.blocks.binary_search_by_key(&hi, |(h, _)| *h) else {
            return;
        };
        if !self.blocks[i].1.contains(doc) {
            return;
        }
        let block = Arc::make_mut(&mut self.blocks[i].1);
        block.remove(doc);
        self.docs -= 1;
        if block.is_empty() {
            self.blocks.remove(i);
        }
    }

    /// Every document, in id order.
    fn all(&self) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        for (_, b) in &self.blocks {
            out |= b.as_ref();
        }
        out
    }
}

/// A document's terms and their frequencies: (term id, tf), ascending by term id.
type DocTerms = Option<Arc<[(u32, u16)]>>;

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

/// An inverted index over documents identified by u32 ids. Cheap to clone; a document's
/// change copies its own slot of the per-document frequencies (one chunk), and for each of
/// its terms one chunk of term slots and one block of that term's postings: what it copies
/// does not grow with the number of documents (a common stem's postings are not copied
/// whole).
#[derive(Clone)]
pub struct TextIndex {
    /// Stem → term id. Written only when a term appears or disappears.
    names: Sharded<Arc<str>, u32>,
    /// Term id → the term's postings (`None` for a term no document holds any more).
    terms: Chunked<Option<Arc<Term>>>,
    /// The id the next new term gets (ids are not reused).
    next_term: u32,
    /// Document id → its terms and frequencies.
    docs: Chunked<DocTerms>,
    lengths: Lengths,
    total_length: u64,
}

impl TextIndex {
    fn empty() -> TextIndex {
        TextIndex {
            names: Sharded::default(),
            terms: Chunked::new(None),
            next_term: 0,
            docs: Chunked::new(None),
            lengths: Lengths::new(),
            total_length: 0,
        }
    }

    /// Builds the index from (id, text) pairs.
    pub fn build<'a>(analyzer: &Analyzer, docs: impl Iterator<Item = (u32, &'a str)>) -> TextIndex {
        let mut idx = TextIndex::empty();
        let mut names: HashMap<Arc<str>, u32> = HashMap::new();
        let mut terms: Vec<Term> = vec![];
        let mut counts: HashMap<String, u16> = HashMap::new();
        for (id, text) in docs {
            counts.clear();
            let mut len = 0u32;
            for (_, stem) in analyzer.tokens(text) {
                *counts.entry(stem).or_default() += 1;
                len += 1;
            }
            if idx.lengths.get(id).is_some() {
                continue;
            }
            idx.lengths.insert(id, len);
            idx.total_length += len as u64;
            let mut pairs: Vec<(u32, u16)> = Vec::with_capacity(counts.len());
            for (stem, &tf) in &counts {
                let tid = match names.get(stem.as_str()) {
                    Some(&tid) => tid,
                    None => {
                        let name: Arc<str> = Arc::from(stem.as_str());
                        let tid = terms.len() as u32;
                        names.insert(name.clone(), tid);
                        terms.push(Term::new(name));
                        tid
                    }
                };
                terms[tid as usize].add(id);
                pairs.push((tid, tf));
            }
            pairs.sort_unstable();
            idx.docs.set(id as usize, Some(pairs.into()));
        }
        idx.next_term = terms.len() as u32;
        for (tid, t) in terms.into_iter().enumerate() {
            idx.terms.set(tid, Some(Arc::new(t)));
        }
        idx.names = names.into_iter().collect();
        idx
    }

    fn term(&self, stem: &str) -> Option<&Term> {
        let &tid = self.names.get(stem)?;
        self.terms.get(tid as usize).as_deref()
    }

    /// Adds a document (replacing it if its id is in the index already).
    pub fn insert(&mut self, analyzer: &Analyzer, id: u32, text: &str) {
        self.remove(id);
        let mut counts: HashMap<String, u16> = HashMap::new();
        let mut len = 0u32;
        for (_, stem) in analyzer.tokens(text) {
            *counts.entry(stem).or_default() += 1;
            len += 1;
        }
        self.lengths.insert(id, len);
        self.total_length += len as u64;
        let mut pairs: Vec<(u32, u16)> = Vec::with_capacity(counts.len());
        for (stem, tf) in counts {
            let tid = match self.names.get(stem.as_str()) {
                Some(&tid) => tid,
                None => {
                    let name: Arc<str> = Arc::from(stem.as_str());
                    let tid = self.next_term;
                    self.next_term += 1;
                    self.names.insert(name.clone(), tid);
                    self.terms
                        .set(tid as usize, Some(Arc::new(Term::new(name))));
                    tid
                }
            };
            if let Some(term) = self.terms.get_mut(tid as usize) {
                Arc::make_mut(term).add(id);
            }
            pairs.push((tid, tf));
        }
        pairs.sort_unstable();
        self.docs.set(id as usize, Some(pairs.into()));
    }

    /// Removes a document (nothing when its id is not in the index).
    pub fn remove(&mut self, id: u32) {
        let Some(pairs) = self.docs.get(id as usize).clone() else {
            return;
        };
        self.docs.set(id as usize, None);
        if let Some(len) = self.lengths.remove(id) {
            self.total_length -= len as u64;
        }
        for &(tid, _) in pairs.iter() {
            let slot = self.terms.get_mut(tid as usize);
            let emptied = match slot.as_mut() {
                Some(term) => {
                    let term = Arc::make_mut(term);
                    term.remove(id);
                    (term.docs == 0).then(|| term.name.clone())
                }
                None => None,
            };
            if let Some(name) = emptied {
                *slot = None;
                self.names.remove(&*name);
            }
        }
    }

    /// The terms of a document, by stem, sorted (for comparisons).
    fn doc_terms(&self, id: u32) -> Vec<(&str, u16)> {
        let mut v: Vec<(&str, u16)> = self
            .docs
            .get(id as usize)
            .iter()
            .flat_map(|p| p.iter())
            .filter_map(|&(tid, tf)| {
                let t = self.terms.get(tid as usize).as_deref()?;
                Some((&*t.name, tf))
            })
            .collect();
        v.sort_unstable();
        v
    }

    /// Whether two indexes hold the same documents, terms and frequencies.
    pub fn same_as(&self, other: &TextIndex) -> bool {
        self.total_length == other.total_length
            && self.lengths == other.lengths
            && self.names.len() == other.names.len()
            && self.names.iter().all(|(name, &tid)| {
                let Some(p) = self.terms.get(tid as usize) else {
                    return false;
                };
                other.term(name).is_some_and(|q| {
                    q.docs == p.docs
                        && q.blocks.len() == p.blocks.len()
                        && q.blocks
                            .iter()
                            .zip(&p.blocks)
                            .all(|(a, b)| a.0 == b.0 && a.1 == b.1)
                })
            })
            && self
                .lengths
                .entries()
                .all(|(id, _)| self.doc_terms(id) == other.doc_terms(id))
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
        let mut lists: Vec<&Term> = vec![];
        for t in terms {
            match self.term(t) {
                Some(p) => lists.push(p),
                None => return RoaringBitmap::new(),
            }
        }
        lists.sort_by_key(|l| l.docs);
        let Some((first, rest)) = lists.split_first() else {
            return RoaringBitmap::new();
        };
        if rest.is_empty() {
            return first.all();
        }
        let mut out = RoaringBitmap::new();
        'blocks: for (hi, b) in &first.blocks {
            let mut acc = b.as_ref().clone();
            for t in rest {
                match t.block(*hi) {
                    Some(c) => acc &= c,
                    None => continue 'blocks,
                }
                if acc.is_empty() {
                    continue 'blocks;
                }
            }
            out |= acc;
        }
        out
    }

    /// BM25 scores of the given documents for the terms.
    pub fn scores(&self, terms: &[String], docs: &RoaringBitmap) -> HashMap<u32, f32> {
        let n = self.lengths.docs.max(1) as f32;
        let avg = (self.total_length as f32 / n).max(1.0);
        let mut out: HashMap<u32, f32> = docs.iter().map(|d| (d, 0.0)).collect();
        for t in terms {
            let Some(&tid) = self.names.get(t.as_str()) else {
                continue;
            };
            let Some(p) = self.terms.get(tid as usize) else {
                continue;
            };
            let df = p.docs as f32;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for (_, block) in &p.blocks {
                for doc in block.as_ref() & docs {
                    let Some(pairs) = self.docs.get(doc as usize) else {
                        continue;
                    };
                    let Ok(at) = pairs.binary_search_by_key(&tid, |&(t, _)| t) else {
                        continue;
                    };
                    if let Some(score) = out.get_mut(&doc) {
                        let len = self.lengths.get(doc).unwrap_or(0) as f32;
                        let tf = pairs[at].1 as f32;
                        *score += idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avg));
                    }
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
        self.term(term).map_or(0, |p| p.docs)
    }

    /// Whether the document holds the term.
    pub fn holds(&self, term: &str, doc: u32) -> bool {
        self.term(term).is_some_and(|p| p.contains(doc))
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
        idx.remove(1);
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
        assert!(idx.same_as(&fresh));
        for id in 0..4 {
            assert_eq!(idx.doc_terms(id), fresh.doc_terms(id));
        }
        assert_eq!(
            idx.document_frequency("protect"),
            fresh.document_frequency("protect")
        );
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

    /// BM25 straight from the texts, for comparison with the index.
    fn naive_scores(
        a: &Analyzer,
        docs: &HashMap<u32, String>,
        terms: &[String],
    ) -> Vec<(u32, f32)> {
        let counts: HashMap<u32, (HashMap<String, u16>, u32)> = docs
            .iter()
            .map(|(&id, text)| {
                let mut c: HashMap<String, u16> = HashMap::new();
                let mut len = 0;
                for (_, stem) in a.tokens(text) {
                    *c.entry(stem).or_default() += 1;
                    len += 1;
                }
                (id, (c, len))
            })
            .collect();
        let n = docs.len().max(1) as f32;
        let total: u64 = counts.values().map(|(_, l)| *l as u64).sum();
        let avg = (total as f32 / n).max(1.0);
        let mut out: Vec<(u32, f32)> = counts
            .iter()
            .filter(|(_, (c, _))| !terms.is_empty() && terms.iter().all(|t| c.contains_key(t)))
            .map(|(&id, (c, len))| {
                let mut score = 0.0f32;
                for t in terms {
                    let df = counts.values().filter(|(c, _)| c.contains_key(t)).count() as f32;
                    let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                    let tf = c[t] as f32;
                    let len = *len as f32;
                    score += idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avg));
                }
                (id, score)
            })
            .collect();
        out.sort_by_key(|p| p.0);
        out
    }

    use proptest::prelude::*;

    const WORDS: &[&str] = &[
        "right",
        "rights",
        "protect",
        "protection",
        "violence",
        "women",
        "children",
        "the",
        "education",
        "health",
        "prison",
        "torture",
        "free",
        "speech",
        "7",
        "2024",
    ];

    proptest! {
        #[test]
        fn random_edits_equal_a_fresh_build_and_rank_as_bm25(
            edits in proptest::collection::vec(
                (0usize..40, proptest::collection::vec(0usize..WORDS.len(), 0..12)), 1..80),
            query in proptest::collection::vec(0usize..WORDS.len(), 1..3),
        ) {
            let a = Analyzer::default();
            // Ids spread over several postings blocks.
            let id_of = |k: usize| (k as u32) * 37_003;
            let mut model: HashMap<u32, String> = HashMap::new();
            let mut idx = TextIndex::build(&a, std::iter::empty());
            for (k, words) in &edits {
                let id = id_of(*k);
                if words.is_empty() {
                    idx.remove(id);
                    model.remove(&id);
                } else {
                    let text: Vec<&str> = words.iter().map(|&w| WORDS[w]).collect();
                    let text = text.join(" ");
                    idx.insert(&a, id, &text);
                    model.insert(id, text);
                }
            }
            let mut sorted: Vec<(u32, &str)> = model.iter().map(|(i, t)| (*i, t.as_str())).collect();
            sorted.sort();
            let fresh = TextIndex::build(&a, sorted.into_iter());
            prop_assert!(idx.same_as(&fresh));
            prop_assert!(fresh.same_as(&idx));
            prop_assert_eq!(idx.len(), model.len());
            let q: Vec<&str> = query.iter().map(|&w| WORDS[w]).collect();
            let terms = a.query_terms(&q.join(" "));
            let docs = idx.matching(&terms);
            prop_assert_eq!(&docs, &fresh.matching(&terms));
            let mut got: Vec<(u32, f32)> = idx.scores(&terms, &docs).into_iter().collect();
            got.sort_by_key(|p| p.0);
            prop_assert_eq!(got, naive_scores(&a, &model, &terms));
        }
    }
}
