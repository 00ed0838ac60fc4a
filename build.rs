//! Build steps that produce embedded assets in OUT_DIR:
//! - the default dataset (`data/default/`), gzip-compressed file by file, so the binary can
//!   seed a fresh store with no files beside it.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The files of a dataset, in the order an import reads them.
const DATASET_FILES: &[&str] = &[
    "taxonomy/themes.jsonl",
    "taxonomy/groups.jsonl",
    "taxonomy/sdgs.jsonl",
    "taxonomy/measure_categories.jsonl",
    "countries.jsonl",
    "cycles.jsonl",
    "sessions.jsonl",
    "recommendations.jsonl",
    "measures.jsonl",
    "good_practices.jsonl",
    "links.jsonl",
];

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    embed_default_dataset(Path::new("data/default"), &out.join("default_dataset"));
}

fn embed_default_dataset(src: &Path, dst: &Path) {
    println!("cargo:rerun-if-changed={}", src.display());
    let mut table = String::from("&[\n");
    for name in DATASET_FILES {
        let from = src.join(name);
        println!("cargo:rerun-if-changed={}", from.display());
        let raw = std::fs::read(&from)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", from.display()));
        let to = dst.join(format!("{name}.gz"));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        gz.write_all(&raw).unwrap();
        std::fs::write(&to, gz.finish().unwrap()).unwrap();
        table.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            to.display().to_string()
        ));
    }
    table.push(']');
    std::fs::write(dst.join("files.rs"), table).unwrap();
}
