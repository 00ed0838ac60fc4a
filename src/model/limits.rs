//! How long a text and how many entries a list may be. Checked by the records' validation
//! ([`super::Validate`]), so an import and a mutation refuse the same things in the same
//! words. Lengths are counted in characters (Unicode scalar values), as people count them.
//!
//! The limits leave the default dataset far behind (its longest measure description is
//! 7,332 characters, its longest recommendation 936) while keeping one record small enough
//! to index, search and send without thought.

use super::refusal::{Refusal, RefusalKind};

/// A title (measures, good practices).
pub const TITLE: usize = 500;
/// A long text: a recommendation's text, a measure's or a good practice's description.
pub const LONG_TEXT: usize = 20_000;
/// A link's note.
pub const NOTE: usize = 5_000;
/// A URL (a link's evidence, a measure's source).
pub const URL: usize = 2_048;
/// The citation of a source.
pub const CITATION: usize = 1_000;
/// A short code: a measure's source code, a recommendation's document symbol and paragraph,
/// an OxCGRT indicator.
pub const CODE: usize = 100;
/// A name: of a country, region, theme, group, SDG or measure category, or of an author.
pub const NAME: usize = 200;
/// A token's name (it becomes the author of every change made with it).
pub const TOKEN_NAME: usize = 64;
/// An audit entry's record key.
pub const HISTORY_KEY: usize = 300;
/// An audit entry's record before or after, as JSON.
pub const HISTORY_RECORD: usize = 1_000_000;

/// Countries in a list (recommending States, States under review, a good practice's).
pub const COUNTRIES: usize = 250;
/// Theme or group slugs on a record.
pub const TAGS: usize = 100;
/// SDG goals on a record (there are 17).
pub const SDGS: usize = 17;
/// Measures or recommendations a good practice cites.
pub const CITED: usize = 1_000;
/// OxCGRT indicators of a measure category.
pub const INDICATORS: usize = 50;

/// `12345` as `12,345`.
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Refuses a text over `limit` characters.
pub fn text(out: &mut Vec<Refusal>, field: &str, v: &str, limit: usize) {
    // At most one character per byte: most texts are decided without counting.
    if v.len() <= limit {
        return;
    }
    let n = v.chars().count();
    if n > limit {
        out.push(Refusal::new(
            RefusalKind::TooLong { limit },
            Some(field),
            format!(
                "{field}: {} characters is over the limit of {}",
                grouped(n),
                grouped(limit)
            ),
        ));
    }
}

/// [`text`] for an optional text.
pub fn optional_text(out: &mut Vec<Refusal>, field: &str, v: &Option<String>, limit: usize) {
    if let Some(v) = v {
        text(out, field, v, limit);
    }
}

/// Refuses a list of more than `limit` entries; returns whether it is within the limit (so
/// the checks that are quadratic in its length may run).
pub fn list(out: &mut Vec<Refusal>, field: &str, len: usize, limit: usize) -> bool {
    if len <= limit {
        return true;
    }
    out.push(too_many(field, len, limit));
    false
}

/// The refusal of a list of `len` entries, over its `limit`.
pub fn too_many(field: &str, len: usize, limit: usize) -> Refusal {
    Refusal::new(
        RefusalKind::TooMany { limit },
        Some(field),
        format!(
            "{field}: {} entries is over the limit of {}",
            grouped(len),
            grouped(limit)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        let cases = [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (20_000, "20,000"),
            (104_857, "104,857"),
            (1_000_000, "1,000,000"),
        ];
        for (n, s) in cases {
            assert_eq!(grouped(n), s);
        }
    }

    #[test]
    fn a_text_is_measured_in_characters_not_bytes() {
        let mut out = vec![];
        // 10 characters, 20 bytes.
        text(&mut out, "title", &"é".repeat(10), 10);
        assert_eq!(out, vec![]);
        text(&mut out, "title", &"é".repeat(11), 10);
        assert_eq!(
            out,
            vec![Refusal::new(
                RefusalKind::TooLong { limit: 10 },
                Some("title"),
                "title: 11 characters is over the limit of 10"
            )]
        );
    }
}
