//! Chooses the action-category model without looking at the held-out sessions: fits each
//! candidate on sessions 1-12 and measures it on sessions 13-15 (a validation split taken
//! from the fitting sessions 1-15), printing one line per candidate (run from the
//! repository root):
//!
//! ```text
//! cargo run --release --example assess_select        # every candidate
//! cargo run --release --example assess_select svm    # the linear SVMs only
//! ```
//!
//! Candidates: the averaged perceptron and a multinomial logistic regression (with or
//! without class weights), over four feature sets (the opening words, plus opening word ×
//! later word conjunctions, plus the text's shape: numbers, years, percentages, capitalised
//! names, length); then linear SVMs over idf-weighted, length-normalised features (the
//! fourth set, and it plus words 2-6 anywhere among them and words 2-5 at their place). For each it prints the agreement on 13-15, the agreement with the best
//! shift of the general (4) / specific (5) boundary, the temperature that calibrates its
//! confidence, the log loss and the expected calibration error at that temperature, and the
//! table's size. The candidate chosen is then fitted on sessions 1-15 by `assess_fit` and
//! measured once on sessions 16-20 by `assess_eval`; benches/README.md records both steps.

use std::time::Instant;

use recover_better::assess::fit::{self, calibrate, log_loss, probabilities, Reliability};
use recover_better::assess::linear::{
    features_of, fit_logistic_weighted, fit_multiclass, fit_svm, Cues, Model,
};

type Examples = Vec<(Vec<String>, usize)>;

fn agreement(model: &Model, examples: &Examples) -> f64 {
    let mut agreed = 0;
    for (fs, y) in examples {
        let scores = model.scores(fs);
        agreed += usize::from(argmax(&scores) == *y);
    }
    agreed as f64 / examples.len().max(1) as f64
}

fn argmax(scores: &[f32]) -> usize {
    // Ties go to the lower label, as `assess` breaks them.
    let mut best = 0;
    for (l, s) in scores.iter().enumerate() {
        if *s > scores[best] {
            best = l;
        }
    }
    best
}

fn report(name: &str, m: &Model, valid: &Examples, scale: f32) {
    let plain = agreement(m, valid);
    let mut best = (0.0f32, plain);
    for step in [-1.0f32, -0.5, -0.25, 0.25, 0.5, 1.0] {
        let mut shifted = m.clone();
        shifted.shift(4, step * scale);
        let a = agreement(&shifted, valid);
        if a > best.1 {
            best = (step * scale, a);
        }
    }
    let t = calibrate(m, valid);
    let mut rel = Reliability::default();
    for (fs, y) in valid {
        let p = probabilities(m, fs, t);
        let l = argmax(&m.scores(fs));
        rel.add(p[l], l == *y);
    }
    println!(
        "{name}: {:.2} % | shift 5 by {:+.2}: {:.2} % | T {t:.3} log loss {:.4} ECE {:.4} | {} features{}",
        100.0 * plain,
        best.0,
        100.0 * best.1,
        log_loss(m, valid, t),
        rel.error(),
        m.len(),
        if m.normalised {
            format!(" ({} with an idf)", m.vocabulary())
        } else {
            String::new()
        }
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let jsonl = std::fs::read_to_string("data/default/recommendations.jsonl")?;
    let coded = fit::read(&jsonl)?;
    let labels: Vec<String> = (1..=5).map(|v: u8| v.to_string()).collect();
    let split = |cues: Cues, sessions: std::ops::RangeInclusive<u32>| -> Examples {
        coded
            .iter()
            .filter(|c| sessions.contains(&c.session))
            .filter_map(|c| {
                let v = c.action_category.filter(|v| (1..=5).contains(v))?;
                Some((features_of(&c.text, cues), usize::from(v) - 1))
            })
            .collect()
    };
    let svm_only = std::env::args().nth(1).as_deref() == Some("svm");
    let sets = [
        ("prefixes", false, false),
        ("prefixes+conj", true, false),
        ("prefixes+shape", false, true),
        ("prefixes+conj+shape", true, true),
    ];
    for (set, conjunctions, shape) in sets.into_iter().filter(|_| !svm_only) {
        let cues = Cues {
            prefixes: true,
            conjunctions,
            shape,
            ..Cues::default()
        };
        let train = split(cues, 1..=12);
        let valid = split(cues, 13..=15);
        println!(
            "# {set}: {} fitting examples (1-12), {} validation (13-15)",
            train.len(),
            valid.len()
        );
        for epochs in [6, 12] {
            let started = Instant::now();
            let m = fit_multiclass(&train, labels.clone(), epochs, 1.0);
            report(
                &format!(
                    "perceptron {set} epochs={epochs} ({:.1} s)",
                    started.elapsed().as_secs_f64()
                ),
                &m,
                &valid,
                10.0,
            );
        }
        for epochs in [10, 20] {
            for l2 in [0.1, 1.0, 10.0] {
                for balance in [0.0, 0.5] {
                    let started = Instant::now();
                    let m =
                        fit_logistic_weighted(&train, labels.clone(), epochs, l2, 0.01, balance);
                    report(
                        &format!(
                            "logistic {set} epochs={epochs} l2={l2} balance={balance} ({:.1} s)",
                            started.elapsed().as_secs_f64()
                        ),
                        &m,
                        &valid,
                        1.0,
                    );
                }
            }
        }
    }
    let all = Cues {
        prefixes: true,
        conjunctions: true,
        shape: true,
        ..Cues::default()
    };
    let svm_sets = [
        ("prefixes+conj+shape", all),
        (
            "prefixes+conj+shape+early+positions",
            Cues {
                early: true,
                positions: true,
                ..all
            },
        ),
    ];
    for (set, cues) in svm_sets {
        let train = split(cues, 1..=12);
        let valid = split(cues, 13..=15);
        println!(
            "# SVM {set}: {} fitting examples (1-12), {} validation (13-15)",
            train.len(),
            valid.len()
        );
        for c in [0.25, 0.5, 1.0] {
            let started = Instant::now();
            let m = fit_svm(&train, labels.clone(), c, 0.05);
            report(
                &format!(
                    "svm {set} C={c} prune=0.05 ({:.1} s)",
                    started.elapsed().as_secs_f64()
                ),
                &m,
                &valid,
                0.1,
            );
        }
    }
    Ok(())
}
