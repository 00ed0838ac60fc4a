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
    for (file, header, model) in [
        (
            "action_category.tsv",
            fit::action_header(),
            &fitted.action_category,
        ),
        (
            "themes.tsv",
            fit::header("UPR Info issues (themes)"),
            &fitted.themes,
        ),
        ("groups.tsv", fit::header("Affected groups"), &fitted.groups),
    ] {
        let path = format!("data/assess/{file}");
        std::fs::write(&path, model.to_table(&header))?;
        println!("wrote {path}");
    }
    Ok(())
}
