//! The default dataset (`data/default/`, see its PROVENANCE.md), embedded in the binary
//! gzip-compressed by `build.rs`: 21 MB of JSON Lines in about 4 MB.

use std::io::Read;

use super::Source;

static FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/default_dataset/files.rs"));

/// The embedded default dataset as an import source.
pub struct DefaultDataset;

impl Source for DefaultDataset {
    fn describe(&self) -> String {
        "the embedded default dataset".into()
    }
    fn read(&self, name: &str) -> std::io::Result<Option<Vec<u8>>> {
        let Some((_, gz)) = FILES.iter().find(|(n, _)| *n == name) else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(gz.len() * 5);
        flate2::read::GzDecoder::new(*gz).read_to_end(&mut out)?;
        Ok(Some(out))
    }
}
