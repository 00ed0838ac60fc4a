//! The fitted part of the assessment: linear models over the words of a recommendation,
//! stored as tables of weights (`data/assess/*.tsv`) and fitted on sessions 1-15 of the
//! default dataset only: by [`fit_svm`] (a linear SVM over idf-weighted features, the action
//! category) and [`fit_one_vs_rest`] (averaged perceptrons, themes and groups).
//!
//! A linear model is used rather than a hand-written keyword list because UPR Info's coders
//! decide by the whole sentence ("Continue to ratify ..." is continuing action, "Ratify ..."
//! specific action), and a weight table still explains itself: every suggestion's reasons are
//! the features that weighed most for it. The fitters are deterministic for a given order
//! of examples (shuffled with a fixed seed), so `cargo run --example assess_fit` rewrites the
//! same tables byte for byte.

use std::collections::HashMap;
use std::fmt::Write as _;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A feature, as it appears in the tables: `p1:ratify` (the text starts with the word),
/// `p2:continue to`, `p3:...`, `w:torture` (the word anywhere), `b:death penalty` (the two
/// words together anywhere), `bias`.
pub type Feature = String;

/// Lower-case words of letters and digits: the same cut as the fitter's.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Which kinds of features a model reads (see [`features_of`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cues {
    /// `p1`/`p2`/`p3`: the first one, two and three words.
    pub prefixes: bool,
    /// `c:first+word`: the opening word paired with every later word.
    pub conjunctions: bool,
    /// `s:...`: the shape of the text, which words alone miss: whether it holds a number, a
    /// year, a percentage, how many capitalised words (named laws, bodies, instruments)
    /// follow the opening one, and its length in words.
    pub shape: bool,
    /// `e:word`: each of words 2-6, wherever it stands among them ("Take *all necessary*
    /// measures", "Continue *to strengthen*"): the early words, where the requested action sits.
    pub early: bool,
    /// `i1:word` ... `i4:word`: words 2-5, each at its place ("Consider *ratifying*").
    pub positions: bool,
}

/// The features of a text, each once.
pub fn features(text: &str, prefixes: bool) -> Vec<Feature> {
    features_of(
        text,
        Cues {
            prefixes,
            ..Cues::default()
        },
    )
}

/// The features of a text, each once; with `conjunctions`, also the opening word paired with
/// every later word (`c:take+law`: "Take ... law"), so a model can weigh what the opening
/// verb acts on ("Take measures" against "Take ... adopt ... law").
pub fn features_with(text: &str, prefixes: bool, conjunctions: bool) -> Vec<Feature> {
    features_of(
        text,
        Cues {
            prefixes,
            conjunctions,
            ..Cues::default()
        },
    )
}

/// A count in a few bands, so a shape feature generalises: `0`, `1`, `2`, `3-4`, `5+`.
fn band(n: usize) -> &'static str {
    match n {
        0 => "0",
        1 => "1",
        2 => "2",
        3 | 4 => "3-4",
        _ => "5+",
    }
}

/// The `s:` features of [`Cues::shape`].
fn shape(text: &str, w: &[String], out: &mut Vec<Feature>) {
    let tokens: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    if tokens.iter().any(|t| t.chars().any(|c| c.is_ascii_digit())) {
        out.push("s:number".to_owned());
    }
    if tokens.iter().any(|t| {
        t.len() == 4 && (t.starts_with("19") || t.starts_with("20")) && t.parse::<u16>().is_ok()
    }) {
        out.push("s:year".to_owned());
    }
    if text.contains('%') || text.contains("per cent") || text.contains("percent") {
        out.push("s:percent".to_owned());
    }
    let capitalised = tokens
        .iter()
        .skip(1)
        .filter(|t| t.chars().next().is_some_and(char::is_uppercase))
        .count();
    out.push(format!("s:capitals={}", band(capitalised)));
    let length = match w.len() {
        0..=6 => "1-6",
        7..=10 => "7-10",
        11..=15 => "11-15",
        16..=25 => "16-25",
        _ => "26+",
    };
    out.push(format!("s:words={length}"));
}

/// The features of a text, each once, of the kinds `cues` asks for; always `bias`, `w:`
/// (a word anywhere) and `b:` (two words together).
pub fn features_of(text: &str, cues: Cues) -> Vec<Feature> {
    let w = words(text);
    let mut out = vec!["bias".to_owned()];
    if cues.prefixes {
        for k in 1..=3.min(w.len()) {
            out.push(format!("p{k}:{}", w[..k].join(" ")));
        }
    }
    if cues.conjunctions {
        if let Some((first, rest)) = w.split_first() {
            for x in rest {
                out.push(format!("c:{first}+{x}"));
            }
        }
    }
    if cues.shape {
        shape(text, &w, &mut out);
    }
    if cues.early {
        for x in w.iter().skip(1).take(5) {
            out.push(format!("e:{x}"));
        }
    }
    if cues.positions {
        for (k, x) in w.iter().enumerate().take(5).skip(1) {
            out.push(format!("i{k}:{x}"));
        }
    }
    for x in &w {
        out.push(format!("w:{x}"));
    }
    for pair in w.windows(2) {
        out.push(format!("b:{} {}", pair[0], pair[1]));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// A feature as a reader says it.
pub fn describe(feature: &str) -> String {
    match feature.split_once(':') {
        Some(("p1" | "p2" | "p3", rest)) => format!("starts with '{rest}'"),
        Some(("s", "number")) => "holds a number".to_owned(),
        Some(("s", "year")) => "names a year".to_owned(),
        Some(("s", "percent")) => "names a percentage".to_owned(),
        Some(("s", rest)) => match rest.split_once('=') {
            Some(("capitals", n)) => format!("{n} capitalised words after the first (names)"),
            Some(("words", n)) => format!("{n} words long"),
            _ => format!("'{rest}'"),
        },
        Some(("e", rest)) => format!("has '{rest}' among words 2-6"),
        Some((i @ ("i1" | "i2" | "i3" | "i4"), rest)) => {
            let k: usize = i[1..].parse().unwrap_or(0);
            format!("word {} is '{rest}'", k + 1)
        }
        Some(("c", rest)) => match rest.split_once('+') {
            Some((first, word)) => format!("starts with '{first}' and has '{word}'"),
            None => format!("'{rest}'"),
        },
        Some((_, rest)) => format!("'{rest}'"),
        None => "prior".to_owned(),
    }
}

/// Weights by feature and label.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub labels: Vec<String>,
    /// The divisor of the scores before a softmax turns them into probabilities, fitted on
    /// a validation split (see `fit::calibrate`); None for a table without one.
    pub temperature: Option<f32>,
    /// Whether a text's features are weighted by their idf and the vector scaled to length 1
    /// before the weights apply (an `idf-l2` table, see [`fit_svm`]); otherwise every feature
    /// present counts 1.
    pub normalised: bool,
    /// Each label's score before any feature (zeros for a table without an `intercept` line).
    pub intercept: Vec<f32>,
    weights: HashMap<Feature, Row>,
}

/// A feature's row of a table: its idf (1 in a table that is not `idf-l2`) and its weights.
#[derive(Debug, Clone, Default)]
struct Row {
    idf: f32,
    ws: Vec<(u16, f32)>,
}

/// One label's score with the features that contributed most to it.
#[derive(Debug, Clone)]
pub struct Scored {
    pub label: usize,
    pub score: f32,
    /// Positive contributions, largest first.
    pub because: Vec<(Feature, f32)>,
}

/// A line of a weight table that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{table}:{line}: {reason}")]
pub struct TableError {
    pub table: &'static str,
    pub line: usize,
    pub reason: String,
}

/// The `weighting` of a table whose features are idf-weighted and L2-normalised.
const IDF_L2: &str = "idf-l2";

impl Model {
    /// A model whose features each count 1 (not `idf-l2`), without intercepts.
    fn plain(labels: Vec<String>, weights: HashMap<Feature, Vec<(u16, f32)>>) -> Model {
        Model {
            intercept: vec![0.0; labels.len()],
            labels,
            temperature: None,
            normalised: false,
            weights: weights
                .into_iter()
                .map(|(f, ws)| (f, Row { idf: 1.0, ws }))
                .collect(),
        }
    }

    /// Reads a table: `# comments`, one `labels` line (`labels\t<l1>\t<l2>...`), optionally a
    /// `temperature\t<t>` line, then either `feature\tlabel\tweight` lines or, after a
    /// `weighting\tidf-l2` line, an `intercept\t<b1>\t<b2>...` line and
    /// `feature\tidf\t<w1>\t<w2>...` lines (one weight per label, `0` for none).
    pub fn parse(table: &'static str, text: &str) -> Result<Model, TableError> {
        let mut model = Model::default();
        let mut index: HashMap<String, u16> = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let err = |reason: String| TableError {
                table,
                line: n + 1,
                reason,
            };
            let number = |s: &str, what: &str| -> Result<f32, TableError> {
                s.parse::<f32>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| err(format!("{what} '{s}' is not a number")))
            };
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            match cols[0] {
                "temperature" => {
                    let t = cols.get(1).and_then(|t| t.parse::<f32>().ok());
                    match t {
                        Some(t) if t > 0.0 => model.temperature = Some(t),
                        _ => return Err(err("temperature is not a positive number".to_owned())),
                    }
                    continue;
                }
                "labels" => {
                    model.labels = cols[1..].iter().map(|s| (*s).to_owned()).collect();
                    index = (0..)
                        .zip(&model.labels)
                        .map(|(i, l)| (l.clone(), i))
                        .collect();
                    continue;
                }
                "weighting" => {
                    if cols.get(1) != Some(&IDF_L2) || cols.len() != 2 {
                        return Err(err(format!("weighting must be '{IDF_L2}'")));
                    }
                    model.normalised = true;
                    continue;
                }
                "intercept" => {
                    if cols.len() != model.labels.len() + 1 {
                        return Err(err(format!(
                            "expected one intercept per label ({}), found {}",
                            model.labels.len(),
                            cols.len() - 1
                        )));
                    }
                    model.intercept = cols[1..]
                        .iter()
                        .map(|b| number(b, "intercept"))
                        .collect::<Result<_, _>>()?;
                    continue;
                }
                _ => {}
            }
            if model.normalised {
                if cols.len() != model.labels.len() + 2 {
                    return Err(err(format!(
                        "expected feature, idf and {} weights, found {} columns",
                        model.labels.len(),
                        cols.len()
                    )));
                }
                let idf = number(cols[1], "idf")?;
                let mut ws = Vec::new();
                for (l, w) in (0u16..).zip(&cols[2..]) {
                    let w = number(w, "weight")?;
                    if w != 0.0 {
                        ws.push((l, w));
                    }
                }
                model.weights.insert(cols[0].to_owned(), Row { idf, ws });
                continue;
            }
            let [feature, label, weight] = cols[..] else {
                return Err(err(format!("expected 3 columns, found {}", cols.len())));
            };
            let label = *index
                .get(label)
                .ok_or_else(|| err(format!("label '{label}' is not on the labels line")))?;
            let weight = number(weight, "weight")?;
            model
                .weights
                .entry(feature.to_owned())
                .or_insert_with(|| Row {
                    idf: 1.0,
                    ws: Vec::new(),
                })
                .ws
                .push((label, weight));
        }
        if model.labels.is_empty() {
            return Err(TableError {
                table,
                line: 0,
                reason: "no labels line".to_owned(),
            });
        }
        if model.intercept.is_empty() {
            model.intercept = vec![0.0; model.labels.len()];
        }
        Ok(model)
    }

    /// The table [`Model::parse`] reads. Perceptron-style tables: weights rounded to 3
    /// decimals, zeros left out. `idf-l2` tables: every feature of the vocabulary (its idf
    /// counts in the norm even where its weights are all zero), weights as fitted (rounded
    /// by the fitter).
    pub fn to_table(&self, header: &str) -> String {
        let mut out = String::new();
        for line in header.lines() {
            let _ = writeln!(out, "# {line}");
        }
        let _ = writeln!(out, "labels\t{}", self.labels.join("\t"));
        if let Some(t) = self.temperature {
            let _ = writeln!(out, "temperature\t{t:.4}");
        }
        if self.normalised {
            let _ = writeln!(out, "weighting\t{IDF_L2}");
        }
        if self.normalised || self.intercept.iter().any(|b| *b != 0.0) {
            let bs: Vec<String> = self.intercept.iter().map(|b| b.to_string()).collect();
            let _ = writeln!(out, "intercept\t{}", bs.join("\t"));
        }
        let mut features: Vec<&Feature> = self.weights.keys().collect();
        features.sort_unstable();
        for f in features {
            let row = &self.weights[f];
            let mut ws = row.ws.clone();
            ws.sort_unstable_by_key(|(l, _)| *l);
            if self.normalised {
                let mut all = vec!["0".to_owned(); self.labels.len()];
                for (l, w) in ws {
                    all[l as usize] = w.to_string();
                }
                let _ = writeln!(out, "{f}\t{}\t{}", row.idf, all.join("\t"));
            } else {
                for (l, w) in ws {
                    let _ = writeln!(out, "{f}\t{}\t{w:.3}", self.labels[l as usize]);
                }
            }
        }
        out
    }

    /// How many features have a weight.
    pub fn len(&self) -> usize {
        self.weights.values().filter(|r| !r.ws.is_empty()).count()
    }

    /// Whether no feature has a weight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many features the model reads: those with a weight and, in an `idf-l2` table,
    /// those that only count in the norm.
    pub fn vocabulary(&self) -> usize {
        self.weights.len()
    }

    /// Adds `by` to label `label`'s intercept: shifts the boundary between that label and
    /// the others, as a class weight would, without refitting.
    pub fn shift(&mut self, label: usize, by: f32) {
        self.intercept.resize(self.labels.len(), 0.0);
        let b = &mut self.intercept[label];
        *b = ((*b + by) * 1000.0).round() / 1000.0;
    }

    /// The rows of the features of a text the model knows, with the factor that turns a
    /// row's weight into its contribution: its idf over the length of the text's idf vector
    /// in an `idf-l2` table, 1 otherwise.
    fn rows<'a>(&'a self, features: &'a [Feature]) -> (Vec<(&'a Feature, &'a Row)>, f32) {
        let rows: Vec<(&Feature, &Row)> = features
            .iter()
            .filter_map(|f| Some((f, self.weights.get(f)?)))
            .collect();
        let norm = if self.normalised {
            let sq: f32 = rows.iter().map(|(_, r)| r.idf * r.idf).sum();
            if sq > 0.0 {
                sq.sqrt()
            } else {
                1.0
            }
        } else {
            1.0
        };
        (rows, norm)
    }

    fn sum(&self, rows: &[(&Feature, &Row)], norm: f32) -> Vec<f32> {
        let mut scores = vec![0.0f32; self.labels.len()];
        for (s, b) in scores.iter_mut().zip(&self.intercept) {
            *s = *b;
        }
        for (_, r) in rows {
            let scale = r.idf / norm;
            for &(l, w) in &r.ws {
                scores[l as usize] += w * scale;
            }
        }
        scores
    }

    /// The scores of every label, without reasons (for fitting and evaluation).
    pub fn scores(&self, features: &[Feature]) -> Vec<f32> {
        let (rows, norm) = self.rows(features);
        self.sum(&rows, norm)
    }

    /// Every label's score, with its positive contributions (for the labels that may be
    /// shown: those scoring above zero, and the best).
    pub fn score(&self, features: &[Feature]) -> Vec<Scored> {
        let (rows, norm) = self.rows(features);
        let scores = self.sum(&rows, norm);
        let best = scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
            .map(|(l, _)| l);
        scores
            .into_iter()
            .enumerate()
            .map(|(label, score)| Scored {
                label,
                score,
                because: Vec::new(),
            })
            .map(|mut s| {
                // Only a label that may be shown needs its reasons: explaining all 55 themes
                // of every text would cost more than scoring them.
                if s.score > 0.0 || Some(s.label) == best {
                    s.because = Self::contributions(&rows, norm, s.label);
                }
                s
            })
            .collect()
    }

    fn contributions(rows: &[(&Feature, &Row)], norm: f32, label: usize) -> Vec<(Feature, f32)> {
        let mut because: Vec<(&Feature, f32)> = rows
            .iter()
            .filter(|(f, _)| f.as_str() != "bias")
            .filter_map(|(f, r)| {
                let w = r.ws.iter().find(|(l, _)| *l as usize == label)?.1 * (r.idf / norm);
                (w > 0.0).then_some((*f, w))
            })
            .collect();
        because.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        because.into_iter().map(|(f, w)| (f.clone(), w)).collect()
    }
}

/// Examples a feature must appear in to be fitted.
const MIN_COUNT: usize = 3;

/// Features numbered densely, so the fitter works on arrays rather than hashed strings.
struct Vocabulary {
    names: Vec<Feature>,
    ids: HashMap<Feature, u32>,
}

impl Vocabulary {
    /// Numbers the features seen in at least [`MIN_COUNT`] examples and drops the rest: a
    /// feature seen once says nothing general, and leaving it out keeps the tables small.
    fn number(examples: &[Vec<Feature>]) -> (Vocabulary, Vec<Vec<u32>>) {
        let mut counts: HashMap<&Feature, usize> = HashMap::new();
        for f in examples.iter().flatten() {
            *counts.entry(f).or_default() += 1;
        }
        let mut v = Vocabulary {
            names: Vec::new(),
            ids: HashMap::new(),
        };
        let numbered = examples
            .iter()
            .map(|fs| {
                fs.iter()
                    .filter(|f| counts[f] >= MIN_COUNT)
                    .map(|f| {
                        let next = v.names.len() as u32;
                        *v.ids.entry(f.clone()).or_insert_with(|| {
                            v.names.push(f.clone());
                            next
                        })
                    })
                    .collect()
            })
            .collect();
        (v, numbered)
    }
}

/// Sums for the averaged perceptron: the running weights and the weights times the step at
/// which they changed, so the average is `w - u / steps`. Indexed by feature × labels + label.
struct Averaged {
    labels: usize,
    w: Vec<f64>,
    u: Vec<f64>,
}

impl Averaged {
    fn new(features: usize, labels: usize) -> Averaged {
        Averaged {
            labels,
            w: vec![0.0; features * labels],
            u: vec![0.0; features * labels],
        }
    }

    fn score(&self, fs: &[u32], l: usize) -> f64 {
        fs.iter()
            .map(|&f| self.w[f as usize * self.labels + l])
            .sum()
    }

    fn update(&mut self, fs: &[u32], l: usize, by: f64, step: f64) {
        for &f in fs {
            let i = f as usize * self.labels + l;
            self.w[i] += by;
            self.u[i] += by * step;
        }
    }

    /// The averaged weights, keeping those at least `keep` in magnitude.
    fn finish(self, vocabulary: Vocabulary, labels: Vec<String>, steps: f64, keep: f32) -> Model {
        let mut weights: HashMap<Feature, Vec<(u16, f32)>> = HashMap::new();
        for (f, name) in vocabulary.names.into_iter().enumerate() {
            let mut ws = Vec::new();
            for l in 0..self.labels {
                let i = f * self.labels + l;
                // Rounded as the table stores it, so a fitted model and its table agree.
                let avg = ((self.w[i] - self.u[i] / steps) * 1000.0).round() / 1000.0;
                if avg.abs() >= f64::from(keep) {
                    ws.push((l as u16, avg as f32));
                }
            }
            if !ws.is_empty() {
                weights.insert(name, ws);
            }
        }
        Model::plain(labels, weights)
    }
}

/// A multi-class averaged perceptron: one label per example.
pub fn fit_multiclass(
    examples: &[(Vec<Feature>, usize)],
    labels: Vec<String>,
    epochs: usize,
    keep: f32,
) -> Model {
    let (vocabulary, xs) =
        Vocabulary::number(&examples.iter().map(|e| e.0.clone()).collect::<Vec<_>>());
    let mut acc = Averaged::new(vocabulary.names.len(), labels.len());
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut step = 1.0f64;
    for _ in 0..epochs {
        order.shuffle(&mut rng);
        for &i in &order {
            let (fs, y) = (&xs[i], examples[i].1);
            let mut best = (0, f64::NEG_INFINITY);
            for l in 0..labels.len() {
                let s = acc.score(fs, l);
                if s > best.1 {
                    best = (l, s);
                }
            }
            if best.0 != y {
                acc.update(fs, y, 1.0, step);
                acc.update(fs, best.0, -1.0, step);
            }
            step += 1.0;
        }
    }
    acc.finish(vocabulary, labels, step, keep)
}

/// One binary averaged perceptron per label: any number of labels per example; a label is
/// suggested where its score is above zero.
pub fn fit_one_vs_rest(
    examples: &[(Vec<Feature>, Vec<usize>)],
    labels: Vec<String>,
    epochs: usize,
    keep: f32,
) -> Model {
    let (vocabulary, xs) =
        Vocabulary::number(&examples.iter().map(|e| e.0.clone()).collect::<Vec<_>>());
    let mut acc = Averaged::new(vocabulary.names.len(), labels.len());
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut step = 1.0f64;
    for _ in 0..epochs {
        order.shuffle(&mut rng);
        for &i in &order {
            let (fs, ys) = (&xs[i], &examples[i].1);
            for l in 0..labels.len() {
                let y = if ys.contains(&l) { 1.0 } else { -1.0 };
                if y * acc.score(fs, l) <= 0.0 {
                    acc.update(fs, l, y, step);
                }
            }
            step += 1.0;
        }
    }
    acc.finish(vocabulary, labels, step, keep)
}

/// A multi-class (softmax) logistic regression: one label per example, fitted by stochastic
/// gradient descent with AdaGrad steps and an L2 penalty `l2` (applied, scaled, at each
/// update of a feature), the examples in a seeded shuffle so a rerun gives the same weights.
/// Weights are rounded to 3 decimals, those below `keep` in magnitude left out.
pub fn fit_logistic(
    examples: &[(Vec<Feature>, usize)],
    labels: Vec<String>,
    epochs: usize,
    l2: f64,
    keep: f32,
) -> Model {
    fit_logistic_weighted(examples, labels, epochs, l2, keep, 0.0)
}

/// [`fit_logistic`] with class weights: an example of class `c` weighs
/// `(n / (labels × n_c)) ^ balance`, so `balance` 0 is the plain fit and 1 gives every class
/// the same total weight.
pub fn fit_logistic_weighted(
    examples: &[(Vec<Feature>, usize)],
    labels: Vec<String>,
    epochs: usize,
    l2: f64,
    keep: f32,
    balance: f64,
) -> Model {
    const RATE: f64 = 0.5;
    let (vocabulary, xs) =
        Vocabulary::number(&examples.iter().map(|e| e.0.clone()).collect::<Vec<_>>());
    let k = labels.len();
    let n = examples.len() as f64;
    let mut w = vec![0.0f64; vocabulary.names.len() * k];
    let mut g2 = vec![1e-8f64; vocabulary.names.len() * k];
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut p = vec![0.0f64; k];
    let mut per_class = vec![0usize; k];
    for (_, y) in examples {
        per_class[*y] += 1;
    }
    let class_weight: Vec<f64> = per_class
        .iter()
        .map(|&c| (n / (k as f64 * c.max(1) as f64)).powf(balance))
        .collect();
    for _ in 0..epochs {
        order.shuffle(&mut rng);
        for &i in &order {
            let (fs, y) = (&xs[i], examples[i].1);
            for (l, pl) in p.iter_mut().enumerate() {
                *pl = fs.iter().map(|&f| w[f as usize * k + l]).sum();
            }
            let max = p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for pl in p.iter_mut() {
                *pl = (*pl - max).exp();
                sum += *pl;
            }
            for (l, pl) in p.iter().enumerate() {
                let err = class_weight[y] * (pl / sum - if l == y { 1.0 } else { 0.0 });
                for &f in fs {
                    let j = f as usize * k + l;
                    let g = err + l2 / n * w[j];
                    g2[j] += g * g;
                    w[j] -= RATE * g / g2[j].sqrt();
                }
            }
        }
    }
    let mut weights: HashMap<Feature, Vec<(u16, f32)>> = HashMap::new();
    for (f, name) in vocabulary.names.into_iter().enumerate() {
        let ws: Vec<(u16, f32)> = (0..k)
            .filter_map(|l| {
                let v = (w[f * k + l] * 1000.0).round() / 1000.0;
                (v.abs() >= f64::from(keep)).then_some((l as u16, v as f32))
            })
            .collect();
        if !ws.is_empty() {
            weights.insert(name, ws);
        }
    }
    Model::plain(labels, weights)
}

/// `x` rounded to `digits` significant digits (as the tables store weights).
fn significant(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return 0.0;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// Examples as sparse rows of `(feature id, value)`, each with a last entry of value 1
/// (the intercept's feature).
struct Sparse {
    rows: Vec<Vec<(u32, f64)>>,
    /// Each row's squared length.
    sq: Vec<f64>,
}

/// A linear SVM with an L2 penalty and the squared hinge loss (L2-loss), one against the rest
/// for each label, over idf-weighted features scaled to length 1: the model of
/// `sklearn.svm.LinearSVC(C=c)` (LIBLINEAR's dual coordinate descent, Hsieh et al. 2008,
/// with its shrinking, stopping when the projected gradient spans less than 1e-4 or after
/// 1,000 passes; the intercept is a feature of value 1, penalised like the others).
///
/// Features seen in fewer than 3 examples are left out; each kept feature `f` weighs
/// `idf_f = ln((1 + n) / (1 + df_f)) + 1` (rounded to 4 decimals, as stored), the vector of
/// a text being divided by its length. After fitting, weights below `prune` in magnitude are
/// set to zero and the rest rounded to 4 significant digits, so the fitted model and its
/// table score alike. The examples are visited in a new seeded shuffle on every pass: the
/// same examples give the same table.
pub fn fit_svm(
    examples: &[(Vec<Feature>, usize)],
    labels: Vec<String>,
    c: f64,
    prune: f64,
) -> Model {
    let (vocabulary, xs) =
        Vocabulary::number(&examples.iter().map(|e| e.0.clone()).collect::<Vec<_>>());
    let n = examples.len();
    let features = vocabulary.names.len();
    let mut df = vec![0usize; features];
    for &f in xs.iter().flatten() {
        df[f as usize] += 1;
    }
    let idf: Vec<f64> = df
        .iter()
        .map(|&d| (((1 + n) as f64 / (1 + d) as f64).ln() + 1.0) * 1e4)
        .map(|v| v.round() / 1e4)
        .collect();
    let mut data = Sparse {
        rows: Vec::with_capacity(n),
        sq: Vec::with_capacity(n),
    };
    for fs in &xs {
        let norm = fs
            .iter()
            .map(|&f| idf[f as usize].powi(2))
            .sum::<f64>()
            .sqrt();
        let norm = if norm > 0.0 { norm } else { 1.0 };
        let mut row: Vec<(u32, f64)> = fs.iter().map(|&f| (f, idf[f as usize] / norm)).collect();
        row.push((features as u32, 1.0));
        data.sq.push(row.iter().map(|(_, v)| v * v).sum());
        data.rows.push(row);
    }
    let k = labels.len();
    let mut weights: Vec<Vec<(u16, f32)>> = vec![Vec::new(); features];
    let mut intercept = vec![0.0f32; k];
    for (l, b) in intercept.iter_mut().enumerate() {
        let y: Vec<f64> = examples
            .iter()
            .map(|e| if e.1 == l { 1.0 } else { -1.0 })
            .collect();
        let w = dual_cd(&data, &y, features + 1, c, l as u64);
        for (f, ws) in weights.iter_mut().enumerate() {
            if w[f].abs() >= prune {
                ws.push((l as u16, significant(w[f], 4) as f32));
            }
        }
        *b = significant(w[features], 4) as f32;
    }
    Model {
        labels,
        temperature: None,
        normalised: true,
        intercept,
        weights: vocabulary
            .names
            .into_iter()
            .zip(weights)
            .zip(idf)
            .map(|((f, ws), idf)| {
                (
                    f,
                    Row {
                        idf: idf as f32,
                        ws,
                    },
                )
            })
            .collect(),
    }
}

/// LIBLINEAR's `solve_l2r_l1l2_svc` for the L2 loss: the dual of
/// `min ½|w|² + C Σ max(0, 1 - y_i w·x_i)²`, solved one coordinate `α_i` at a time in a
/// random order (seeded with `seed`), with shrinking of the `α_i` held at 0. Returns `w`.
fn dual_cd(data: &Sparse, y: &[f64], dims: usize, c: f64, seed: u64) -> Vec<f64> {
    use rand::Rng;
    const EPS: f64 = 1e-4;
    const MAX_ITER: usize = 1000;
    let l = y.len();
    let diag = 0.5 / c;
    let qd: Vec<f64> = data.sq.iter().map(|s| s + diag).collect();
    let mut w = vec![0.0f64; dims];
    let mut alpha = vec![0.0f64; l];
    let mut index: Vec<usize> = (0..l).collect();
    let mut active = l;
    // The largest projected gradient of the last pass: an `α_i` at 0 whose gradient is above
    // it is shrunk away (LIBLINEAR's lower bound; with the L2 loss `α` has no upper bound).
    let mut pg_max_old = f64::INFINITY;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut iter = 0;
    while iter < MAX_ITER {
        let (mut pg_max, mut pg_min) = (f64::NEG_INFINITY, f64::INFINITY);
        for i in 0..active {
            let j = rng.gen_range(i..active);
            index.swap(i, j);
        }
        let mut s = 0;
        while s < active {
            let i = index[s];
            let row = &data.rows[i];
            let yi = y[i];
            let g = yi * row.iter().map(|&(f, v)| w[f as usize] * v).sum::<f64>() - 1.0
                + alpha[i] * diag;
            let mut pg = 0.0;
            if alpha[i] == 0.0 {
                if g > pg_max_old {
                    active -= 1;
                    index.swap(s, active);
                    continue;
                } else if g < 0.0 {
                    pg = g;
                }
            } else {
                pg = g;
            }
            pg_max = pg_max.max(pg);
            pg_min = pg_min.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (alpha[i] - g / qd[i]).max(0.0);
                let d = (alpha[i] - old) * yi;
                for &(f, v) in row {
                    w[f as usize] += d * v;
                }
            }
            s += 1;
        }
        iter += 1;
        if pg_max - pg_min <= EPS {
            if active == l {
                break;
            }
            active = l;
            pg_max_old = f64::INFINITY;
            continue;
        }
        pg_max_old = if pg_max <= 0.0 { f64::INFINITY } else { pg_max };
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_words_and_positions_are_features() {
        let all = Cues {
            early: true,
            positions: true,
            ..Cues::default()
        };
        let fs = features_of("Consider ratifying the Optional Protocol now, please", all);
        for f in ["e:ratifying", "e:now", "i1:ratifying", "i4:protocol"] {
            assert!(fs.contains(&f.to_owned()), "{f} in {fs:?}");
        }
        assert!(!fs.contains(&"e:please".to_owned()), "word 7 is not early");
        assert!(
            !fs.contains(&"e:consider".to_owned()),
            "word 1 is not early"
        );
        assert!(!fs.contains(&"i5:now".to_owned()));
        assert_eq!(describe("i1:ratifying"), "word 2 is 'ratifying'");
        assert_eq!(describe("e:now"), "has 'now' among words 2-6");
    }

    fn toy() -> Vec<(Vec<Feature>, usize)> {
        let texts = [
            ("Ratify the convention", 1),
            ("Ratify the protocol", 1),
            ("Ratify the covenant now", 1),
            ("Consider ratifying the convention", 0),
            ("Consider ratifying the protocol", 0),
            ("Consider ratifying the covenant", 0),
        ];
        let cues = Cues {
            prefixes: true,
            early: true,
            ..Cues::default()
        };
        texts
            .iter()
            .cycle()
            .take(12)
            .map(|(t, y)| (features_of(t, cues), *y))
            .collect()
    }

    #[test]
    fn an_svm_separates_what_its_examples_separate_and_its_table_reads_back() {
        let examples = toy();
        let m = fit_svm(&examples, vec!["3".to_owned(), "5".to_owned()], 0.5, 0.05);
        assert!(m.normalised);
        for (fs, y) in &examples {
            let s = m.scores(fs);
            assert_eq!(usize::from(s[1] > s[0]), *y, "{fs:?}: {s:?}");
        }
        let back = Model::parse("toy.tsv", &m.to_table("toy")).expect("the table reads");
        assert_eq!(back.vocabulary(), m.vocabulary());
        for (fs, _) in &examples {
            assert_eq!(back.scores(fs), m.scores(fs));
        }
        // The same examples give the same table.
        let again = fit_svm(&examples, vec!["3".to_owned(), "5".to_owned()], 0.5, 0.05);
        assert_eq!(again.to_table("toy"), m.to_table("toy"));
        // The best label has its reasons even when its score is below zero.
        let best = m
            .score(&examples[3].0)
            .into_iter()
            .max_by(|a, b| a.score.total_cmp(&b.score))
            .expect("two labels");
        assert!(!best.because.is_empty());
    }

    #[test]
    fn a_table_with_a_bad_row_does_not_read() {
        let table = "labels\t1\t2\nweighting\tidf-l2\nintercept\t0\t0\nw:a\t1.5\t0.1\n";
        let e = Model::parse("bad.tsv", table).expect_err("a weight is missing");
        assert_eq!(e.line, 4);
        assert!(Model::parse("bad.tsv", "labels\t1\nweighting\tidf\n").is_err());
    }

    #[test]
    fn significant_digits() {
        assert_eq!(significant(0.123456, 4), 0.1235);
        assert_eq!(significant(-12.3456, 4), -12.35);
        assert_eq!(significant(0.0, 4), 0.0);
    }
}
