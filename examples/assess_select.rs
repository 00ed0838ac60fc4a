//! Chooses the action-category model without looking at the held-out sessions: fits each
//! candidate on sessions 1-12 and measures it on sessions 13-15 (a validation split taken
//! from the fitting sessions 1-15), printing one line per candidate (run from the
//! repository root):
//!
//! ```text
//! cargo run --release --example assess_select
//! ```
//!
//! The candidate chosen is then fitted on sessions 1-15 by `assess_fit` and measured once on
//! sessions 16-20 by `assess_eval`; benches/README.md records the figures of both steps.

use recover_better::assess::fit;
use recover_better::assess::linear::{features_with, fit_logistic, fit_multiclass, Model};

fn agreement(model: &Model, examples: &[(Vec<String>, usize)]) -> f64 {
    let mut agreed = 0;
    for (fs, y) in examples {
        let scored = model.score(fs);
        let best = scored
            .iter()
            .max_by(|a, b| a.score.total_cmp(&b.score).then(b.label.cmp(&a.label)))
            .map(|s| s.label);
        agreed += usize::from(best == Some(*y));
    }
    agreed as f64 / examples.len().max(1) as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let jsonl = std::fs::read_to_string("data/default/recommendations.jsonl")?;
    let coded = fit::read(&jsonl)?;
    let labels: Vec<String> = (1..=5).map(|v: u8| v.to_string()).collect();
    let split =
        |conj: bool, sessions: std::ops::RangeInclusive<u32>| -> Vec<(Vec<String>, usize)> {
            coded
                .iter()
                .filter(|c| sessions.contains(&c.session))
                .filter_map(|c| {
                    let v = c.action_category.filter(|v| (1..=5).contains(v))?;
                    Some((features_with(&c.text, true, conj), usize::from(v) - 1))
                })
                .collect()
        };
    for conj in [false, true] {
        let train = split(conj, 1..=12);
        let valid = split(conj, 13..=15);
        for epochs in [6, 12] {
            let m = fit_multiclass(&train, labels.clone(), epochs, 1.0);
            println!(
                "perceptron conj={conj} epochs={epochs}: {:.2} %",
                100.0 * agreement(&m, &valid)
            );
        }
        for (epochs, l2) in [(5, 1.0), (10, 1.0), (10, 10.0), (10, 0.1), (20, 1.0)] {
            let m = fit_logistic(&train, labels.clone(), epochs, l2, 0.01);
            println!(
                "logistic conj={conj} epochs={epochs} l2={l2}: {:.2} %",
                100.0 * agreement(&m, &valid)
            );
        }
    }
    Ok(())
}
