//! The interchange format of DOMAIN.md: a folder of JSON Lines files, one record a line.
//!
//! - [`import`]: reads a dataset into the store, all or nothing, reporting `file:line: reason`.
//! - [`export`]: writes the store back out, sorted by natural key.
//! - [`embedded`]: the real default dataset, compressed into the binary.
//! - [`generate`]: synthetic datasets of any size, deterministic per seed.
//! - [`measures`]: measures from the trackers' own files (OxCGRT, CoronaNet, ACAPS).
//! - [`recommendations`]: importers for the formats recommendations are published in (OHCHR
//!   thematic lists, UPR Info CSV exports).

pub mod embedded;
pub mod export;
pub mod generate;
pub mod import;
pub mod measures;
pub mod recommendations;

use std::path::{Path, PathBuf};

use crate::model::{ChangeKind, Entity, HistoryEntry, Timestamp};

// FILES: the files of a dataset, in the order an import reads them (in `files.rs`, which
// `build.rs` includes too).
include!("files.rs");

/// The files of [`FILES`] a dataset may lack (DOMAIN.md: the COVID-19 Tracker's own records
/// are optional); an import summary lists them only when they hold records.
pub const OPTIONAL_FILES: &[&str] = &["concerns.jsonl", "actions.jsonl"];

/// The audit trail (our extension of the format): read last, when present; written only
/// when the store has history.
pub const HISTORY_FILE: &str = "history.jsonl";

/// Every file an import reads, in order: [`FILES`], then [`HISTORY_FILE`].
pub static IMPORT_ORDER: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    FILES
        .iter()
        .copied()
        .chain(std::iter::once(HISTORY_FILE))
        .collect()
});

/// A line of `history.jsonl`: an audit entry with the record before and after the change
/// as JSON objects (each a line of the record's own file).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HistoryLine {
    pub seq: u64,
    pub at: Timestamp,
    pub author: String,
    pub entity: Entity,
    pub key: String,
    pub change: ChangeKind,
    pub version: u32,
    #[serde(default)]
    pub before: Option<Box<serde_json::value::RawValue>>,
    #[serde(default)]
    pub after: Option<Box<serde_json::value::RawValue>>,
    #[serde(default)]
    pub note: Option<String>,
}

impl HistoryLine {
    pub fn from_entry(e: HistoryEntry) -> HistoryLine {
        let json =
            |s: Option<String>| s.and_then(|s| serde_json::value::RawValue::from_string(s).ok());
        HistoryLine {
            seq: e.seq,
            at: e.at,
            author: e.author,
            entity: e.entity,
            key: e.key,
            change: e.change,
            version: e.version,
            before: json(e.before),
            after: json(e.after),
            note: e.note,
        }
    }

    pub fn into_entry(self) -> HistoryEntry {
        let text = |v: Option<Box<serde_json::value::RawValue>>| {
            v.map(|v| v.get().to_owned()).filter(|v| v != "null")
        };
        HistoryEntry {
            seq: self.seq,
            at: self.at,
            author: self.author,
            entity: self.entity,
            key: self.key,
            change: self.change,
            version: self.version,
            before: text(self.before),
            after: text(self.after),
            note: self.note,
        }
    }
}

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
