//! Why a record, or a change to one, is refused: a [`RefusalKind`] (which alone decides the
//! error code a client sees), the field at fault, and a sentence for people.
//!
//! The kind is data, never recovered from the sentence: rewording a message cannot change
//! what a client is told happened.

use std::fmt;

/// What kind of refusal this is. The GraphQL edge maps each kind to one `extensions.code`
/// (see `graphql::errors`); the import reports the reason as `file:line: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusalKind {
    /// A rule of the domain is broken (an empty title, a duplicate in a list, dates out of
    /// order, a malformed value).
    Invalid,
    /// A reference does not resolve (an unknown country, slug, session or ref).
    Unresolved,
    /// A text is longer than its limit, in characters.
    TooLong { limit: usize },
    /// A list holds more entries than its limit.
    TooMany { limit: usize },
    /// The record to change or delete does not exist.
    NotFound,
    /// The change was based on a version that is not the stored one.
    Conflict { current_version: u32 },
    /// A create of something that exists (`current_version` when it has one).
    AlreadyExists { current_version: Option<u32> },
    /// Other records still refer to this one (`by` says which).
    StillReferenced { by: String },
}

/// One refusal. `field` is the field at fault as the interchange format names it
/// (`state_under_review`, `end_date`), when one field is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub field: Option<String>,
    /// The whole sentence, naming the field itself (`themes: unknown theme slug "x"`).
    pub reason: String,
}

impl Refusal {
    pub fn new(kind: RefusalKind, field: Option<&str>, reason: impl Into<String>) -> Refusal {
        Refusal {
            kind,
            field: field.map(str::to_owned),
            reason: reason.into(),
        }
    }

    /// A broken rule of the domain, about one field.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Refusal {
        Refusal::new(RefusalKind::Invalid, Some(field), reason)
    }

    /// A reference of one field that does not resolve.
    pub fn unresolved(field: &str, reason: impl Into<String>) -> Refusal {
        Refusal::new(RefusalKind::Unresolved, Some(field), reason)
    }

    /// A stale base version.
    pub fn conflict(current_version: u32, reason: impl Into<String>) -> Refusal {
        Refusal::new(RefusalKind::Conflict { current_version }, None, reason)
    }

    /// Nothing to change or delete.
    pub fn not_found(reason: impl Into<String>) -> Refusal {
        Refusal::new(RefusalKind::NotFound, None, reason)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}
