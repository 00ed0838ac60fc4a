// The one list of a dataset's files, in import order. `build.rs` includes it too (a build
// script cannot use the crate), so the embedded default dataset holds exactly these files.
/// The files of a dataset, in the order an import reads them: taxonomy first, each file
/// before the files that refer to it (themes map to SDGs, so SDGs come first). Every file is
/// optional to an import (a dataset need not record concerns or actions); an export writes
/// them all.
pub const FILES: &[&str] = &[
    "taxonomy/sdgs.jsonl",
    "taxonomy/themes.jsonl",
    "taxonomy/groups.jsonl",
    "taxonomy/measure_categories.jsonl",
    "countries.jsonl",
    "cycles.jsonl",
    "sessions.jsonl",
    "recommendations.jsonl",
    "measures.jsonl",
    "good_practices.jsonl",
    "concerns.jsonl",
    "actions.jsonl",
    "links.jsonl",
];
