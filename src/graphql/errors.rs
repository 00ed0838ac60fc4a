//! The errors a client sees: a stable `extensions.code`, the argument or field at fault, and
//! a message that helps. Internal causes are logged, never sent.
//!
//! Our own errors are a [`ClientError`], turned into a GraphQL error in one place
//! ([`ClientError::into_error`]); a store or model refusal gets its code from its
//! [`RefusalKind`] alone ([`code`]), never from its wording. The errors async-graphql raises
//! itself are classified afterwards by [`classify_all`].

use async_graphql::{Error, ErrorExtensions, Response, ServerError};

use crate::model::{Refusal, RefusalKind, Role};
use crate::store::StoreError;

/// Everything our resolvers refuse a client, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientError {
    /// An invalid query argument: `BAD_USER_INPUT`, with `extensions.argument`.
    BadArgument { argument: String, message: String },
    /// The refusals of one mutation (by the store's rules or the resolver's own checks);
    /// their fields are the mutation's input fields.
    Refused(Vec<Refusal>),
    /// No token where one is needed, or a token that is not valid.
    Unauthenticated(String),
    /// The token's role is too low.
    Forbidden {
        message: String,
        required_role: Role,
    },
    /// The store cannot take the write now (a replicated store without a quorum, or a
    /// write that kept losing races); the client may try again. The message says whether
    /// the write was made.
    Unavailable(String),
    /// A failure of ours; the cause is logged, the client is told nothing more.
    Internal(String),
}

/// The `extensions.code` of a refusal: its kind's alone.
pub fn code(kind: &RefusalKind) -> &'static str {
    match kind {
        RefusalKind::Invalid
        | RefusalKind::Unresolved
        | RefusalKind::TooLong { .. }
        | RefusalKind::TooMany { .. } => "BAD_USER_INPUT",
        RefusalKind::NotFound => "NOT_FOUND",
        RefusalKind::Conflict { .. } | RefusalKind::AlreadyExists { .. } => "CONFLICT",
        RefusalKind::StillReferenced { .. } => "FAILED_PRECONDITION",
    }
}

/// The input field a refusal's field is, as a client names it: `state_under_review` is
/// `input.stateUnderReview`, a record's `id` is `input.ref`.
pub fn input_field(field: &str) -> String {
    if field == "id" {
        return "input.ref".into();
    }
    let mut out = String::with_capacity(field.len() + 6);
    out.push_str("input.");
    let mut up = false;
    for c in field.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The refusal that decides a write's code, when several are given: a stale version first
/// (retrying on the current one is what the client should do), then a create of what exists,
/// then a missing record, else the first.
fn decisive(refusals: &[Refusal]) -> Option<&Refusal> {
    let first = |f: fn(&RefusalKind) -> bool| refusals.iter().find(|r| f(&r.kind));
    first(|k| matches!(k, RefusalKind::Conflict { .. }))
        .or_else(|| first(|k| matches!(k, RefusalKind::AlreadyExists { .. })))
        .or_else(|| first(|k| matches!(k, RefusalKind::NotFound)))
        .or_else(|| refusals.first())
}

impl ClientError {
    /// The `extensions.code` the client sees.
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::BadArgument { .. } => "BAD_USER_INPUT",
            ClientError::Refused(r) => {
                decisive(r).map_or("INTERNAL_SERVER_ERROR", |r| code(&r.kind))
            }
            ClientError::Unauthenticated(_) => "UNAUTHENTICATED",
            ClientError::Forbidden { .. } => "FORBIDDEN",
            ClientError::Unavailable(_) => "UNAVAILABLE",
            ClientError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The GraphQL error: message and extensions.
    pub fn into_error(self) -> Error {
        let code = self.code();
        match self {
            ClientError::BadArgument { argument, message } => {
                Error::new(format!("{argument}: {message}")).extend_with(|_, e| {
                    e.set("code", code);
                    e.set("argument", argument.as_str());
                })
            }
            ClientError::Refused(refusals) => refused(code, refusals),
            ClientError::Unauthenticated(message) => {
                Error::new(message).extend_with(|_, e| e.set("code", code))
            }
            ClientError::Forbidden {
                message,
                required_role,
            } => Error::new(message).extend_with(|_, e| {
                e.set("code", code);
                e.set("requiredRole", required_role.as_str());
            }),
            ClientError::Unavailable(message) => {
                tracing::warn!(%message, "a write was refused for now");
                Error::new(message).extend_with(|_, e| e.set("code", code))
            }
            ClientError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                Error::new("internal error").extend_with(|_, e| e.set("code", code))
            }
        }
    }
}

/// A refused mutation. A conflict or a missing record is told alone; rules broken are told
/// all at once, after the field of the first (`input.themes: themes: unknown theme slug …`).
fn refused(code: &'static str, refusals: Vec<Refusal>) -> Error {
    let Some(first) = decisive(&refusals).cloned() else {
        return ClientError::Internal("a refusal without a reason".into()).into_error();
    };
    let all = || {
        refusals
            .iter()
            .map(|r| r.reason.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    };
    // The input field at fault, for the kinds that are about one field's value.
    let field = match first.kind {
        RefusalKind::Invalid
        | RefusalKind::Unresolved
        | RefusalKind::TooLong { .. }
        | RefusalKind::TooMany { .. } => first.field.as_deref().map(input_field),
        _ => None,
    };
    let message = match (&first.kind, &field) {
        (
            RefusalKind::Conflict { .. }
            | RefusalKind::AlreadyExists { .. }
            | RefusalKind::NotFound,
            _,
        ) => first.reason.clone(),
        (_, Some(f)) => format!("{f}: {}", all()),
        (_, None) => all(),
    };
    Error::new(message).extend_with(|_, e| {
        e.set("code", code);
        match &first.kind {
            RefusalKind::Conflict { current_version }
            | RefusalKind::AlreadyExists {
                current_version: Some(current_version),
            } => e.set("currentVersion", *current_version),
            RefusalKind::TooLong { limit } | RefusalKind::TooMany { limit } => {
                e.set("limit", *limit as u64)
            }
            _ => {}
        }
        if let Some(f) = &field {
            e.set("field", f.as_str());
            e.set("argument", f.as_str());
        }
    })
}

impl From<StoreError> for ClientError {
    fn from(e: StoreError) -> ClientError {
        match e {
            StoreError::Rejected(r) => {
                ClientError::Refused(r.into_iter().map(|r| r.refusal).collect())
            }
            e @ (StoreError::Unavailable(_) | StoreError::Contended { .. }) => {
                ClientError::Unavailable(e.to_string())
            }
            other => ClientError::Internal(other.to_string()),
        }
    }
}

impl From<Refusal> for ClientError {
    fn from(r: Refusal) -> ClientError {
        ClientError::Refused(vec![r])
    }
}

/// What the client sees of a store error: a refusal's code, or an internal error.
pub fn store_error(e: StoreError) -> Error {
    ClientError::from(e).into_error()
}

/// What the client sees of one refusal of a mutation's input.
pub fn refusal(r: Refusal) -> Error {
    ClientError::from(r).into_error()
}

/// An invalid argument: `extensions.code = "BAD_USER_INPUT"`, `extensions.argument` names it.
pub fn bad_input(argument: &str, message: impl std::fmt::Display) -> Error {
    ClientError::BadArgument {
        argument: argument.to_owned(),
        message: message.to_string(),
    }
    .into_error()
}

/// A failure of ours: logged with its cause; the client gets a generic message.
pub fn internal(cause: impl std::fmt::Display) -> Error {
    ClientError::Internal(cause.to_string()).into_error()
}

/// Gives every error of a response a stable `extensions.code`, including the ones
/// async-graphql raises itself before our resolvers run: invalid argument values
/// (`BAD_USER_INPUT`, with the argument named), depth, complexity and directive limits
/// (`QUERY_LIMIT_EXCEEDED`), and other parse or validation failures
/// (`GRAPHQL_VALIDATION_FAILED`).
///
/// Done on the response by [`super::Api`] rather than by a schema extension: with any
/// extension installed, async-graphql routes every field and list item through the
/// extension chain, which costs about a third of a facet-heavy query's time.
pub fn classify_all(response: &mut Response) {
    for e in &mut response.errors {
        classify(e);
    }
}

fn classify(e: &mut ServerError) {
    if e.extensions
        .as_ref()
        .is_some_and(|x| x.get("code").is_some())
    {
        return;
    }
    let ext = e.extensions.get_or_insert_with(Default::default);
    let m = e.message.as_str();
    if m.starts_with("Invalid value for argument")
        || m.starts_with("Failed to parse")
        || (m.starts_with("Variable ")
            && (m.contains("Invalid value") || m.contains("is not defined")))
    {
        ext.set("code", "BAD_USER_INPUT");
        // The argument is the first quoted name: `Invalid value for argument "filter.activeOn", ...`.
        if m.starts_with("Invalid value for argument") {
            if let Some(name) = m.split('"').nth(1) {
                ext.set("argument", name);
            }
        }
    } else if m.starts_with("Query is nested too deep")
        || m.starts_with("Query is too complex")
        || m.contains("directives")
        || m.contains("recursive")
    {
        ext.set("code", "QUERY_LIMIT_EXCEEDED");
    } else if e.path.is_empty() {
        ext.set("code", "GRAPHQL_VALIDATION_FAILED");
    } else {
        ext.set("code", "INTERNAL_SERVER_ERROR");
    }
}
