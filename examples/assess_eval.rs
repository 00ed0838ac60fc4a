//! Measures the assessment against UPR Info's own coders on the held-out sessions 16-20 of
//! the default dataset, and times it (run from the repository root):
//!
//! ```text
//! cargo run --release --example assess_eval
//! ```
//!
//! Prints the figures `benches/README.md` quotes: agreement per action category with the
//! confusion matrix, micro-F1 of suggested themes and groups, and the time to assess one
//! recommendation and the whole dataset.

use std::time::Instant;

use recover_better::assess::{assess, fit};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let jsonl = std::fs::read_to_string("data/default/recommendations.jsonl")?;
    let coded = fit::read(&jsonl)?;

    // The tables load on first use: time that apart, so it does not count against one text.
    let started = Instant::now();
    let _ = assess("Ratify the Convention against Torture.");
    let first = started.elapsed();

    let e = fit::evaluate(&coded);
    println!("{e}");

    let started = Instant::now();
    let mut slowest = std::time::Duration::ZERO;
    for c in &coded {
        let one = Instant::now();
        std::hint::black_box(assess(&c.text));
        slowest = slowest.max(one.elapsed());
    }
    let whole = started.elapsed();
    println!(
        "Speed: {} recommendations in {:.2} s ({:.1} µs each on average, slowest {:.1} µs); \
         loading the tables {:.0} ms",
        coded.len(),
        whole.as_secs_f64(),
        whole.as_secs_f64() * 1e6 / coded.len() as f64,
        slowest.as_secs_f64() * 1e6,
        first.as_secs_f64() * 1e3
    );
    Ok(())
}
