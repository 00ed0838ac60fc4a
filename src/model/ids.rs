//! Validated identifiers and values: once constructed, they are known to be well formed
//! ("parse, don't validate"). Each parses from the interchange format's JSON and rejects bad
//! input with a message that names what is wrong.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a value could not be constructed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

fn invalid(msg: impl Into<String>) -> InvalidValue {
    InvalidValue(msg.into())
}

/// An ISO 3166-1 alpha-3 country code: three ASCII upper-case letters (`UKR`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode([u8; 3]);

impl CountryCode {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let b = s.as_bytes();
        if b.len() == 3 && b.iter().all(u8::is_ascii_uppercase) {
            Ok(Self([b[0], b[1], b[2]]))
        } else {
            Err(invalid(format!(
                "{s:?} is not an ISO 3166-1 alpha-3 code (three upper-case letters)"
            )))
        }
    }
    pub fn as_bytes(&self) -> [u8; 3] {
        self.0
    }
    pub fn from_bytes(b: [u8; 3]) -> Result<Self, InvalidValue> {
        Self::parse(std::str::from_utf8(&b).map_err(|_| invalid("country code is not UTF-8"))?)
    }
    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

/// An ISO 3166-1 alpha-2 code (`UA`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Iso2([u8; 2]);

impl Iso2 {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let b = s.as_bytes();
        if b.len() == 2 && b.iter().all(u8::is_ascii_uppercase) {
            Ok(Self([b[0], b[1]]))
        } else {
            Err(invalid(format!(
                "{s:?} is not an ISO 3166-1 alpha-2 code (two upper-case letters)"
            )))
        }
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

/// A taxonomy slug: lower-case ASCII letters and digits in words joined by single hyphens
/// (`right-to-health`), at most 64 bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    pub const MAX_LEN: usize = 64;
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.split('-').all(|w| {
                !w.is_empty()
                    && w.bytes()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(invalid(format!(
                "{s:?} is not a slug (lower-case words of a-z and 0-9 joined by '-')"
            )))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The opaque, unique key of a recommendation, measure or good practice (the dataset's `id`):
/// 1 to 128 printable ASCII characters without spaces.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ref(String);

impl Ref {
    pub const MAX_LEN: usize = 128;
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        if s.is_empty() {
            return Err(invalid("an id must not be empty"));
        }
        if s.len() > Self::MAX_LEN {
            return Err(invalid(format!(
                "id {:?}… is longer than {} bytes",
                s.chars().take(32).collect::<String>(),
                Self::MAX_LEN
            )));
        }
        if !s.bytes().all(|c| c.is_ascii_graphic()) {
            return Err(invalid(format!(
                "id {s:?} must be printable ASCII without spaces"
            )));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The natural key of a link: the refs of its recommendation and its measure. Its text form
/// (history keys, global ids, cursors) is the two refs joined by a tab, which no ref holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkKey {
    pub recommendation: Ref,
    pub measure: Ref,
}

impl LinkKey {
    pub fn new(recommendation: Ref, measure: Ref) -> LinkKey {
        LinkKey {
            recommendation,
            measure,
        }
    }

    /// Reads the text form; `None` unless it is two valid refs.
    pub fn parse(s: &str) -> Option<LinkKey> {
        let (r, m) = Self::split(s)?;
        Some(LinkKey::new(Ref::parse(r).ok()?, Ref::parse(m).ok()?))
    }

    /// The two halves of the text form, unchecked (for lookups by ref).
    pub fn split(s: &str) -> Option<(&str, &str)> {
        s.split_once('\t')
    }
}

impl std::fmt::Display for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\t{}", self.recommendation, self.measure)
    }
}

/// A Sustainable Development Goal, 1 to 17.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct SdgGoal(u8);

impl SdgGoal {
    pub fn new(n: i64) -> Result<Self, InvalidValue> {
        if (1..=17).contains(&n) {
            Ok(Self(n as u8))
        } else {
            Err(invalid(format!("SDG goal {n} is not between 1 and 17")))
        }
    }
    pub fn get(self) -> u8 {
        self.0
    }
}

/// A UPR cycle number (the first began in 2008), 1 to 99.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct CycleNumber(u8);

impl CycleNumber {
    pub fn new(n: i64) -> Result<Self, InvalidValue> {
        if (1..=99).contains(&n) {
            Ok(Self(n as u8))
        } else {
            Err(invalid(format!("cycle number {n} is not between 1 and 99")))
        }
    }
    pub fn get(self) -> u8 {
        self.0
    }
}

/// A UPR Working Group session number, 1 to 999.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct SessionNumber(u16);

impl SessionNumber {
    pub fn new(n: i64) -> Result<Self, InvalidValue> {
        if (1..=999).contains(&n) {
            Ok(Self(n as u16))
        } else {
            Err(invalid(format!(
                "session number {n} is not between 1 and 999"
            )))
        }
    }
    pub fn get(self) -> u16 {
        self.0
    }
}

/// UPR Info's action category of a recommendation: 1 minimal action, 2 continuing action,
/// 3 considering action, 4 general action, 5 specific action.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct ActionCategory(u8);

impl ActionCategory {
    pub fn new(n: i64) -> Result<Self, InvalidValue> {
        if (1..=5).contains(&n) {
            Ok(Self(n as u8))
        } else {
            Err(invalid(format!(
                "action category {n} is not between 1 and 5"
            )))
        }
    }
    pub fn get(self) -> u8 {
        self.0
    }
}

/// A calendar date, written `YYYY-MM-DD`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date(chrono::NaiveDate);

impl Date {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let bad = || invalid(format!("{s:?} is not a date YYYY-MM-DD"));
        if s.len() != 10 || s.as_bytes()[4] != b'-' || s.as_bytes()[7] != b'-' {
            return Err(bad());
        }
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Self)
            .map_err(|_| bad())
    }
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Self> {
        chrono::NaiveDate::from_ymd_opt(y, m, d).map(Self)
    }
    pub fn naive(self) -> chrono::NaiveDate {
        self.0
    }
    /// Days since 1970-01-01, for compact sortable keys.
    pub fn days(self) -> i32 {
        (self.0 - chrono::NaiveDate::default()).num_days() as i32
    }
    pub fn year(self) -> i32 {
        chrono::Datelike::year(&self.0)
    }
}

/// An instant in UTC, written in RFC 3339 (`2020-12-04T10:00:00Z`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timestamp(chrono::DateTime<chrono::Utc>);

impl Timestamp {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let bad = || invalid(format!("{s:?} is not an RFC 3339 timestamp in UTC"));
        if !(s.ends_with('Z') || s.ends_with("+00:00")) {
            return Err(bad());
        }
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| Self(t.with_timezone(&chrono::Utc)))
            .map_err(|_| bad())
    }
    pub fn now() -> Self {
        Self(chrono::Utc::now())
    }
    pub fn inner(self) -> chrono::DateTime<chrono::Utc> {
        self.0
    }
    pub fn unix_micros(self) -> i64 {
        self.0.timestamp_micros()
    }
    /// The instant `micros` microseconds after the Unix epoch (None when out of range).
    pub fn from_unix_micros(micros: i64) -> Option<Self> {
        chrono::DateTime::from_timestamp_micros(micros).map(Self)
    }
}

macro_rules! string_forms {
    ($($t:ident),*) => {$(
        impl TryFrom<String> for $t {
            type Error = InvalidValue;
            fn try_from(s: String) -> Result<Self, InvalidValue> {
                Self::parse(&s)
            }
        }
        impl FromStr for $t {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, InvalidValue> {
                Self::parse(s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.to_string()
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($t), self.to_string())
            }
        }
    )*};
}
string_forms!(CountryCode, Iso2, Slug, Ref, Date, Timestamp);

macro_rules! number_forms {
    ($($t:ident: $n:ty),*) => {$(
        impl TryFrom<i64> for $t {
            type Error = InvalidValue;
            fn try_from(n: i64) -> Result<Self, InvalidValue> {
                Self::new(n)
            }
        }
        impl From<$t> for $n {
            fn from(v: $t) -> $n {
                v.0
            }
        }
        impl From<$t> for i64 {
            fn from(v: $t) -> i64 {
                v.0.into()
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($t), self.0)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    )*};
}
number_forms!(SdgGoal: u8, CycleNumber: u8, SessionNumber: u16, ActionCategory: u8);

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl fmt::Display for Iso2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_three_upper_case_letters() {
        assert_eq!(CountryCode::parse("UKR").unwrap().as_str(), "UKR");
        for bad in ["ukr", "UK", "UKRA", "U1R", ""] {
            assert!(CountryCode::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn slugs_are_hyphenated_lower_case_words() {
        assert!(Slug::parse("right-to-health").is_ok());
        assert!(Slug::parse("covid-19").is_ok());
        for bad in ["Right", "a--b", "-a", "a-", "", "a b", "é"] {
            assert!(Slug::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn dates_must_exist_on_the_calendar() {
        assert_eq!(Date::parse("2020-02-29").unwrap().to_string(), "2020-02-29");
        for bad in [
            "2021-02-29",
            "2020-2-29",
            "20200229",
            "2020-13-01",
            "2020-02-29T00:00:00Z",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(Date::parse("1970-01-02").unwrap().days(), 1);
    }

    #[test]
    fn timestamps_are_utc_and_round_trip() {
        let t = Timestamp::parse("2020-12-04T10:00:00Z").unwrap();
        assert_eq!(t.to_string(), "2020-12-04T10:00:00Z");
        assert_eq!(
            Timestamp::parse("2020-12-04T10:00:00+00:00")
                .unwrap()
                .to_string(),
            "2020-12-04T10:00:00Z"
        );
        assert!(Timestamp::parse("2020-12-04T10:00:00+02:00").is_err());
        assert!(Timestamp::parse("2020-12-04").is_err());
    }

    #[test]
    fn numbers_have_their_ranges() {
        assert!(SdgGoal::new(17).is_ok() && SdgGoal::new(18).is_err() && SdgGoal::new(0).is_err());
        assert!(ActionCategory::new(5).is_ok() && ActionCategory::new(6).is_err());
        assert!(SessionNumber::new(36).is_ok() && SessionNumber::new(0).is_err());
        assert!(CycleNumber::new(4).is_ok() && CycleNumber::new(0).is_err());
    }

    #[test]
    fn refs_are_printable_without_spaces() {
        assert!(Ref::parse("R-36-HND-001").is_ok());
        assert!(Ref::parse("a b").is_err() && Ref::parse("").is_err());
        assert!(Ref::parse(&"x".repeat(129)).is_err());
    }
}
