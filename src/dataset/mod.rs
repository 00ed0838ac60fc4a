//! The interchange format of DOMAIN.md: a folder of JSON Lines files, one record a line.
//!
//! - [`import`]: reads a dataset into the store, all or nothing, reporting `file:line: reason`.
//! - [`export`]: writes the store back out, sorted by natural key.
//! - [`embedded`]: the real default dataset, compressed into the binary.
//! - [`generate`]: synthetic datasets of any size, deterministic per seed.

pub mod embedded;
pub mod export;
pub mod generate;
pub mod import;

use std::path::{Path, PathBuf};

/// The files of a dataset, in the order an import reads them: taxonomy first, each file
/// before the files that refer to it (themes map to SDGs, so SDGs come first).
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
    "links.jsonl",
];

/// Where a dataset's files come from: a folder, or the copy embedded in the binary.
pub trait Source {
    /// A human-readable name for messages.
    fn describe(&self) -> String;
    /// The bytes of one file, or `None` when the dataset does not have it.
    fn read(&self, name: &str) -> std::io::Result<Option<Vec<u8>>>;
}

/// A dataset folder on disk.
pub struct Folder(pub PathBuf);

impl Source for Folder {
    fn describe(&self) -> String {
        self.0.display().to_string()
    }
    fn read(&self, name: &str) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.0.join(name)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: not a dataset folder (none of countries.jsonl, recommendations.jsonl, taxonomy/themes.jsonl, ... is there)")]
    NotADataset(String),
    #[error("{}", import::format_problems(.0))]
    Invalid(Vec<import::Problem>),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

pub(crate) fn io_error(path: &Path, source: std::io::Error) -> DatasetError {
    DatasetError::Io {
        path: path.to_owned(),
        source,
    }
}
