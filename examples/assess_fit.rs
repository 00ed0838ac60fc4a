//! Fits the assessment's tables on sessions 1-15 of the default dataset and writes them to
//! `data/assess/` (run from the repository root):
//!
//! ```text
//! cargo run --release --example assess_fit
//! ```
//!
//! Deterministic (a seeded shuffle, sorted output): running it again writes the same bytes,
//! so `git status` after a run shows whether the committed tables are what the code fits.

use recover_better::assess::fit;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let jsonl = std::fs::read_to_string("data/default/recommendations.jsonl")?;
    let fitted = fit::fit(&fit::read(&jsonl)?);
    for (file, what, model) in [
        (
            "action_category.tsv",
            "UPR Info action category (1-5)",
            &fitted.action_category,
        ),
        ("themes.tsv", "UPR Info issues (themes)", &fitted.themes),
        ("groups.tsv", "Affected groups", &fitted.groups),
    ] {
        let path = format!("data/assess/{file}");
        std::fs::write(&path, model.to_table(&fit::header(what)))?;
        println!("wrote {path}");
    }
    Ok(())
}
