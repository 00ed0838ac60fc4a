//! The stored value format: `[FORMAT_VERSION] ++ bincode(Stored<T>)`.
//!
//! The leading byte lets a later release read what an earlier one wrote (and refuse, with a
//! clear message, what a newer one wrote). bincode 2's standard configuration is used
//! (little-endian, variable-length integers); decoding is bounded by [`MAX_RECORD_BYTES`] so a
//! corrupt length prefix cannot make us allocate gigabytes. The golden-bytes tests below freeze
//! the format: if they fail, bump `FORMAT_VERSION` and teach `decode` the old one.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The version of the record format written by this release.
pub const FORMAT_VERSION: u8 = 1;

/// No stored record may decode to more than this many bytes.
pub const MAX_RECORD_BYTES: usize = 16 << 20;

/// A record as stored: the domain record and its version, which starts at 1 and grows by one
/// on every change (the basis of optimistic concurrency).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stored<T> {
    pub version: u32,
    pub record: T,
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_RECORD_BYTES>()
}

pub fn encode<T: Serialize>(value: &Stored<T>) -> Vec<u8> {
    let mut out = vec![FORMAT_VERSION];
    // Encoding into a Vec fails only for types serde cannot describe, which ours never are.
    bincode::serde::encode_into_std_write(value, &mut out, config())
        .expect("domain records always encode");
    out
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("empty value")]
    Empty,
    #[error("written in record format {0}, which this release cannot read (it reads format {FORMAT_VERSION})")]
    UnknownFormat(u8),
    #[error("malformed record: {0}")]
    Malformed(String),
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<Stored<T>, DecodeError> {
    let (&format, body) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if format != FORMAT_VERSION {
        return Err(DecodeError::UnknownFormat(format));
    }
    let (value, used) = bincode::serde::decode_from_slice(body, config())
        .map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if used != body.len() {
        return Err(DecodeError::Malformed(format!(
            "{} trailing bytes",
            body.len() - used
        )));
    }
    Ok(value)
}

/// A posting list as stored: `[FORMAT_VERSION] ++` roaring's portable serialization.
pub fn encode_postings(list: &roaring::RoaringBitmap) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + list.serialized_size());
    out.push(FORMAT_VERSION);
    list.serialize_into(&mut out)
        .expect("writing into a Vec cannot fail");
    out
}

pub fn decode_postings(bytes: &[u8]) -> Result<roaring::RoaringBitmap, DecodeError> {
    let (&format, body) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if format != FORMAT_VERSION {
        return Err(DecodeError::UnknownFormat(format));
    }
    // `deserialize_from` validates the containers, so corrupt bytes are an error, not UB.
    roaring::RoaringBitmap::deserialize_from(body)
        .map_err(|e| DecodeError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn sample_recommendation() -> Recommendation {
        serde_json::from_str(
            r#"{"id":"R-1","text":"Act.","state_under_review":"HND","recommending_states":["PRT"],
               "session":36,"response":"NOTED","action_category":4,"themes":["right-to-health"],
               "groups":[],"sdgs":[3],"document":null,"paragraph":"1.2"}"#,
        )
        .unwrap()
    }

    #[test]
    fn recommendation_bytes_are_frozen() {
        let bytes = encode(&Stored {
            version: 7,
            record: sample_recommendation(),
        });
        assert_eq!(
            hex(&bytes),
            "010703522d31044163742e03484e44010350525448010108010f72696768742d746f2d6865616c7468000106000103312e32",
            "record format changed: bump FORMAT_VERSION and keep reading the old one"
        );
    }

    #[test]
    fn link_bytes_are_frozen() {
        let link: Link = serde_json::from_str(
            r#"{"recommendation":"R-1","measure":"M-1","relation":"CONTRADICTS","status":"REJECTED",
               "created_at":"2020-12-04T10:00:00Z"}"#,
        )
        .unwrap();
        let bytes = encode(&Stored {
            version: 1,
            record: link,
        });
        assert_eq!(
            hex(&bytes),
            "010103522d31034d2d3103020000000114323032302d31322d30345431303a30303a30305a00",
            "record format changed: bump FORMAT_VERSION and keep reading the old one"
        );
    }

    #[test]
    fn posting_list_bytes_are_frozen() {
        let list: roaring::RoaringBitmap = [1u32, 2, 3, 70_000].into_iter().collect();
        let bytes = encode_postings(&list);
        assert_eq!(decode_postings(&bytes), Ok(list));
        assert_eq!(
            hex(&bytes),
            "013a300000020000000000020001000000180000001e0000000100020003007011",
            "posting list format changed: bump FORMAT_VERSION and keep reading the old one"
        );
        assert!(decode_postings(&[FORMAT_VERSION, 1, 2, 3]).is_err());
    }

    #[test]
    fn records_round_trip() {
        let s = Stored {
            version: 3,
            record: sample_recommendation(),
        };
        assert_eq!(decode::<Recommendation>(&encode(&s)), Ok(s));
    }

    #[test]
    fn unknown_formats_and_garbage_are_refused() {
        let mut bytes = encode(&Stored {
            version: 1,
            record: sample_recommendation(),
        });
        bytes[0] = FORMAT_VERSION + 1;
        assert_eq!(
            decode::<Recommendation>(&bytes),
            Err(DecodeError::UnknownFormat(FORMAT_VERSION + 1))
        );
        assert!(matches!(
            decode::<Recommendation>(&[FORMAT_VERSION, 0xff, 0xff]),
            Err(DecodeError::Malformed(_))
        ));
        assert_eq!(decode::<Recommendation>(&[]), Err(DecodeError::Empty));
    }

    #[test]
    fn a_huge_length_prefix_does_not_allocate() {
        // version 1, then a string length of u64::MAX (varint 0xff + 8 bytes).
        let mut bytes = vec![FORMAT_VERSION, 1, 0xff];
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode::<Recommendation>(&bytes).is_err());
    }
}
