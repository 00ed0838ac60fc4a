//! The stored value format: `[FORMAT_VERSION] ++ bincode(Stored<T>)`.
//!
//! The leading byte lets a later release read what an earlier one wrote (and refuse, with a
//! clear message, what a newer one wrote). bincode 2's standard configuration is used
//! (little-endian, variable-length integers); decoding is bounded by [`MAX_RECORD_BYTES`] so a
//! corrupt length prefix cannot make us allocate gigabytes. The golden-bytes tests below freeze
//! the format: if they fail, bump `FORMAT_VERSION` and teach `decode` the old one.
//!
//! bincode is not self-describing, so a field added to a record changes its layout: each stored
//! type says, through [`Versioned`], how it reads a body of an earlier format. Format 2 added
//! `Recommendation::source_themes`; format 3 added `Recommendation::set_by` and
//! `MeasureCategoryInfo::coronanet` and `acaps` (the importer's crosswalks); every other
//! layout is the same in formats 1 to 3.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The version of the record format written by this release.
pub const FORMAT_VERSION: u8 = 3;

/// The oldest record format this release still reads.
pub const OLDEST_FORMAT: u8 = 1;

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

/// A type stored through this codec, and how it reads what earlier releases wrote.
pub trait Versioned: DeserializeOwned {
    /// Reads a body written in `format`, older than [`FORMAT_VERSION`]. The default is for
    /// types whose layout has not changed since [`OLDEST_FORMAT`].
    fn decode_earlier(format: u8, body: &[u8]) -> Result<Stored<Self>, DecodeError> {
        let _ = format;
        decode_body(body)
    }
}

macro_rules! unchanged_since_format_1 {
    ($($t:ty),* $(,)?) => { $(impl Versioned for $t {})* };
}

use crate::model::{
    Action, Concern, Country, Cycle, GoodPractice, Group, HistoryEntry, Link, Measure,
    MeasureCategoryInfo, Recommendation, Sdg, Session, Theme,
};

// Concerns and actions came with format 2, and no release wrote them in format 1; their
// layout has not changed since.
unchanged_since_format_1!(
    Concern,
    Action,
    Country,
    Cycle,
    Session,
    Measure,
    GoodPractice,
    Link,
    Theme,
    Group,
    Sdg,
    HistoryEntry,
);

/// A measure category as formats 1 and 2 stored it: without the CoronaNet and ACAPS lists.
#[derive(Deserialize)]
struct MeasureCategoryInfoV1 {
    code: crate::model::MeasureCategory,
    name: String,
    themes: Vec<crate::model::Slug>,
    oxcgrt: Vec<String>,
}

impl Versioned for MeasureCategoryInfo {
    fn decode_earlier(_format: u8, body: &[u8]) -> Result<Stored<Self>, DecodeError> {
        let old: Stored<MeasureCategoryInfoV1> = decode_body(body)?;
        let c = old.record;
        Ok(Stored {
            version: old.version,
            record: MeasureCategoryInfo {
                code: c.code,
                name: c.name,
                themes: c.themes,
                oxcgrt: c.oxcgrt,
                coronanet: Vec::new(),
                acaps: Vec::new(),
            },
        })
    }
}

/// A recommendation as format 1 stored it: without `source_themes` (nor `set_by`).
#[derive(Deserialize)]
struct RecommendationV1 {
    id: crate::model::Ref,
    text: String,
    state_under_review: crate::model::CountryCode,
    recommending_states: Vec<crate::model::CountryCode>,
    session: crate::model::SessionNumber,
    response: crate::model::Response,
    action_category: Option<crate::model::ActionCategory>,
    themes: Vec<crate::model::Slug>,
    groups: Vec<crate::model::Slug>,
    sdgs: Vec<crate::model::SdgGoal>,
    document: Option<String>,
    paragraph: Option<String>,
}

/// A recommendation as format 2 stored it: format 1 and `source_themes`, without `set_by`.
/// (bincode is not self-describing, so the fields are spelt out rather than flattened.)
#[derive(Deserialize)]
struct RecommendationV2 {
    id: crate::model::Ref,
    text: String,
    state_under_review: crate::model::CountryCode,
    recommending_states: Vec<crate::model::CountryCode>,
    session: crate::model::SessionNumber,
    response: crate::model::Response,
    action_category: Option<crate::model::ActionCategory>,
    themes: Vec<crate::model::Slug>,
    groups: Vec<crate::model::Slug>,
    sdgs: Vec<crate::model::SdgGoal>,
    document: Option<String>,
    paragraph: Option<String>,
    source_themes: Vec<String>,
}

impl RecommendationV1 {
    fn upgrade(self, source_themes: Vec<String>) -> Recommendation {
        let r = self;
        Recommendation {
            id: r.id,
            text: r.text,
            state_under_review: r.state_under_review,
            recommending_states: r.recommending_states,
            session: r.session,
            response: r.response,
            action_category: r.action_category,
            themes: r.themes,
            groups: r.groups,
            sdgs: r.sdgs,
            document: r.document,
            paragraph: r.paragraph,
            source_themes,
            set_by: None,
        }
    }
}

impl Versioned for Recommendation {
    fn decode_earlier(format: u8, body: &[u8]) -> Result<Stored<Self>, DecodeError> {
        if format == 1 {
            let old: Stored<RecommendationV1> = decode_body(body)?;
            return Ok(Stored {
                version: old.version,
                record: old.record.upgrade(Vec::new()),
            });
        }
        let old: Stored<RecommendationV2> = decode_body(body)?;
        let r = old.record;
        let v1 = RecommendationV1 {
            id: r.id,
            text: r.text,
            state_under_review: r.state_under_review,
            recommending_states: r.recommending_states,
            session: r.session,
            response: r.response,
            action_category: r.action_category,
            themes: r.themes,
            groups: r.groups,
            sdgs: r.sdgs,
            document: r.document,
            paragraph: r.paragraph,
        };
        Ok(Stored {
            version: old.version,
            record: v1.upgrade(r.source_themes),
        })
    }
}

pub fn decode<T: Versioned>(bytes: &[u8]) -> Result<Stored<T>, DecodeError> {
    let (&format, body) = bytes.split_first().ok_or(DecodeError::Empty)?;
    match format {
        FORMAT_VERSION => decode_body(body),
        OLDEST_FORMAT..FORMAT_VERSION => T::decode_earlier(format, body),
        _ => Err(DecodeError::UnknownFormat(format)),
    }
}

fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<Stored<T>, DecodeError> {
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

/// The version of the posting-list format, which has not changed since the first release.
pub const POSTINGS_FORMAT: u8 = 1;

/// A posting list as stored: `[POSTINGS_FORMAT] ++` roaring's portable serialization.
pub fn encode_postings(list: &roaring::RoaringBitmap) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + list.serialized_size());
    out.push(POSTINGS_FORMAT);
    list.serialize_into(&mut out)
        .expect("writing into a Vec cannot fail");
    out
}

pub fn decode_postings(bytes: &[u8]) -> Result<roaring::RoaringBitmap, DecodeError> {
    let (&format, body) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if format != POSTINGS_FORMAT {
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
        let mut record = sample_recommendation();
        record.source_themes = vec!["Right to health".into()];
        record.set_by = Some(SetBy {
            action_category: Some("ana".into()),
            ..SetBy::default()
        });
        let bytes = encode(&Stored { version: 7, record });
        assert_eq!(
            hex(&bytes),
            "030703522d31044163742e03484e44010350525448010108010f72696768742d746f2d6865616c7468000106000103312e32010f526967687420746f206865616c7468010103616e610000",
            "record format changed: bump FORMAT_VERSION and keep reading the old one"
        );
    }

    #[test]
    fn a_recommendation_written_in_format_2_still_reads_without_set_by() {
        // The frozen bytes of format 2, before `set_by`.
        let format_2 = "020703522d31044163742e03484e44010350525448010108010f72696768742d746f2d6865616c7468000106000103312e32010f526967687420746f206865616c7468";
        let bytes: Vec<u8> = (0..format_2.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&format_2[i..i + 2], 16).unwrap())
            .collect();

        let read = decode::<Recommendation>(&bytes).unwrap();

        let mut expected = sample_recommendation();
        expected.source_themes = vec!["Right to health".into()];
        assert_eq!(read.version, 7);
        assert_eq!(read.record, expected);
        assert_eq!(read.record.set_by, None);
    }

    #[test]
    fn a_recommendation_written_in_format_1_still_reads_without_source_themes() {
        // The frozen bytes of format 1 (the first release), before `source_themes`.
        let format_1 = "010703522d31044163742e03484e44010350525448010108010f72696768742d746f2d6865616c7468000106000103312e32";
        let bytes: Vec<u8> = (0..format_1.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&format_1[i..i + 2], 16).unwrap())
            .collect();

        let read = decode::<Recommendation>(&bytes).unwrap();

        assert_eq!(read.version, 7);
        assert_eq!(read.record, sample_recommendation());
        assert!(read.record.source_themes.is_empty());
        // A format-1 link reads too: its layout did not change.
        let link = "010103522d31034d2d3103020000000114323032302d31322d30345431303a30303a30305a00";
        let link: Vec<u8> = (0..link.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&link[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(
            decode::<Link>(&link).unwrap().record.measure.as_str(),
            "M-1"
        );
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn format_2_records_still_read() {
        // A recommendation of format 2 (with `source_themes`): the layout of today.
        let format_2 = "020703522d31044163742e03484e44010350525448010108010f72696768742d746f2d6865616c7468000106000103312e32010f526967687420746f206865616c7468";
        let read = decode::<Recommendation>(&unhex(format_2)).unwrap();
        assert_eq!(read.record.source_themes, ["Right to health"]);
        assert_eq!(read.record.id.as_str(), "R-1");
        // A measure category of format 2, before the CoronaNet and ACAPS lists: version 1,
        // MOVEMENT, "Move", themes ["freedom-of-movement"], oxcgrt ["C6"].
        let mut old = vec![2u8, 1];
        let body = bincode::serde::encode_to_vec(
            (
                MeasureCategory::Movement,
                "Move",
                vec!["freedom-of-movement"],
                vec!["C6"],
            ),
            config(),
        )
        .unwrap();
        old.extend(body);
        let read = decode::<MeasureCategoryInfo>(&old).unwrap();
        assert_eq!(read.version, 1);
        assert_eq!(read.record.code, MeasureCategory::Movement);
        assert_eq!(read.record.name, "Move");
        assert_eq!(read.record.oxcgrt, ["C6"]);
        assert!(read.record.coronanet.is_empty() && read.record.acaps.is_empty());
    }

    #[test]
    fn measure_category_bytes_are_frozen() {
        let record: MeasureCategoryInfo = serde_json::from_str(
            r#"{"code":"MOVEMENT","name":"Move","themes":["freedom-of-movement"],"oxcgrt":["C6"],
               "coronanet":["Curfew"],"acaps":["Curfews"]}"#,
        )
        .unwrap();
        let bytes = encode(&Stored { version: 1, record });
        let read = decode::<MeasureCategoryInfo>(&bytes).unwrap();
        assert_eq!(read.record.coronanet, ["Curfew"]);
        assert_eq!(read.record.acaps, ["Curfews"]);
        assert_eq!(
            hex(&bytes),
            "030106044d6f7665011366726565646f6d2d6f662d6d6f76656d656e74010243360106437572666577010743757266657773",
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
            "030103522d31034d2d3103020000000114323032302d31322d30345431303a30303a30305a00",
            "record format changed: bump FORMAT_VERSION and keep reading the old one"
        );
        // Only the leading format byte differs from format 2: a format-2 link reads.
        let mut format_2 = bytes.clone();
        format_2[0] = 2;
        assert_eq!(
            decode::<Link>(&format_2).unwrap().record.measure.as_str(),
            "M-1"
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
        assert!(decode_postings(&[POSTINGS_FORMAT, 1, 2, 3]).is_err());
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
