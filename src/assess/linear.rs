//! The fitted part of the assessment: linear models over the words of a recommendation,
//! stored as tables of weights (`data/assess/*.tsv`) and fitted by [`fit_multiclass`] and
//! [`fit_one_vs_rest`] (averaged perceptrons) on sessions 1-15 of the default dataset only.
//!
//! A linear model is used rather than a hand-written keyword list because UPR Info's coders
//! decide by the whole sentence ("Continue to ratify ..." is continuing action, "Ratify ..."
//! specific action), and a weight table still explains itself: every suggestion's reasons are
//! the features that weighed most for it. The perceptron is deterministic for a given order
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
            shape: false,
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
    weights: HashMap<Feature, Vec<(u16, f32)>>,
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

impl Model {
    /// Reads a table: `# comments`, one `labels` line (`labels\t<l1>\t<l2>...`), then
    /// `feature\tlabel\tweight` lines.
    pub fn parse(table: &'static str, text: &str) -> Result<Model, TableError> {
        let mut model = Model::default();
        let mut index: HashMap<String, u16> = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let err = |reason: String| TableError {
                table,
                line: n + 1,
                reason,
            };
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            if cols[0] == "temperature" {
                let t = cols.get(1).and_then(|t| t.parse::<f32>().ok());
                match t {
                    Some(t) if t > 0.0 => model.temperature = Some(t),
                    _ => return Err(err("temperature is not a positive number".to_owned())),
                }
                continue;
            }
            if cols[0] == "labels" {
                model.labels = cols[1..].iter().map(|s| (*s).to_owned()).collect();
                index = (0..)
                    .zip(&model.labels)
                    .map(|(i, l)| (l.clone(), i))
                    .collect();
                continue;
            }
            let [feature, label, weight] = cols[..] else {
                return Err(err(format!("expected 3 columns, found {}", cols.len())));
            };
            let label = *index
                .get(label)
                .ok_or_else(|| err(format!("label '{label}' is not on the labels line")))?;
            let weight: f32 = weight
                .parse()
                .map_err(|_| err(format!("weight '{weight}' is not a number")))?;
            model
                .weights
                .entry(feature.to_owned())
                .or_default()
                .push((label, weight));
        }
        if model.labels.is_empty() {
            return Err(TableError {
                table,
                line: 0,
                reason: "no labels line".to_owned(),
            });
        }
        Ok(model)
    }

    /// The table [`Model::parse`] reads, weights rounded to 3 decimals, zeros left out.
    pub fn to_table(&self, header: &str) -> String {
        let mut out = String::new();
        for line in header.lines() {
            let _ = writeln!(out, "# {line}");
        }
        let _ = writeln!(out, "labels\t{}", self.labels.join("\t"));
        if let Some(t) = self.temperature {
            let _ = writeln!(out, "temperature\t{t:.4}");
        }
        let mut features: Vec<&Feature> = self.weights.keys().collect();
        features.sort_unstable();
        for f in features {
            let mut ws = self.weights[f].clone();
            ws.sort_unstable_by_key(|(l, _)| *l);
            for (l, w) in ws {
                let _ = writeln!(out, "{f}\t{}\t{w:.3}", self.labels[l as usize]);
            }
        }
        out
    }

    /// How many features have a weight.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Whether no feature has a weight.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Adds `by` to label `label`'s prior (the `bias` feature): shifts the boundary between
    /// that label and the others, as a class weight would, without refitting.
    pub fn shift(&mut self, label: usize, by: f32) {
        let ws = self.weights.entry("bias".to_owned()).or_default();
        match ws.iter_mut().find(|(l, _)| *l as usize == label) {
            Some((_, w)) => *w = ((*w + by) * 1000.0).round() / 1000.0,
            None => ws.push((label as u16, by)),
        }
    }

    /// The scores of every label, without reasons (for fitting and evaluation).
    pub fn scores(&self, features: &[Feature]) -> Vec<f32> {
        let mut scores = vec![0.0f32; self.labels.len()];
        for ws in features.iter().filter_map(|f| self.weights.get(f)) {
            for &(l, w) in ws {
                scores[l as usize] += w;
            }
        }
        scores
    }

    /// Every label's score, with its positive contributions.
    pub fn score(&self, features: &[Feature]) -> Vec<Scored> {
        let rows: Vec<(&Feature, &[(u16, f32)])> = features
            .iter()
            .filter_map(|f| Some((f, self.weights.get(f)?.as_slice())))
            .collect();
        let mut scores = vec![0.0f32; self.labels.len()];
        for (_, ws) in &rows {
            for &(l, w) in *ws {
                scores[l as usize] += w;
            }
        }
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
                if s.score > 0.0 {
                    s.because = Self::contributions(&rows, s.label);
                }
                s
            })
            .collect()
    }

    fn contributions(rows: &[(&Feature, &[(u16, f32)])], label: usize) -> Vec<(Feature, f32)> {
        let mut because: Vec<(&Feature, f32)> = rows
            .iter()
            .filter(|(f, _)| f.as_str() != "bias")
            .filter_map(|(f, ws)| {
                let w = ws.iter().find(|(l, _)| *l as usize == label)?.1;
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
        Model {
            labels,
            temperature: None,
            weights,
        }
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
    Model {
        labels,
        temperature: None,
        weights,
    }
}
