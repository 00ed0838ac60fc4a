//! The errors a client sees: a stable `extensions.code`, the argument at fault, and a
//! message that helps. Internal causes are logged, never sent.

use async_graphql::{Error, ErrorExtensions, Response, ServerError};

/// An invalid argument: `extensions.code = "BAD_USER_INPUT"`, `extensions.argument` names it.
pub fn bad_input(argument: &str, message: impl std::fmt::Display) -> Error {
    Error::new(format!("{argument}: {message}")).extend_with(|_, e| {
        e.set("code", "BAD_USER_INPUT");
        e.set("argument", argument);
    })
}

/// A failure of ours: logged with its cause; the client gets a generic message.
pub fn internal(cause: impl std::fmt::Display) -> Error {
    tracing::error!(%cause, "internal error");
    Error::new("internal error").extend_with(|_, e| e.set("code", "INTERNAL_SERVER_ERROR"))
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
