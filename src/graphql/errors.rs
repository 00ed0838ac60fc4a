//! The errors a client sees: a stable `extensions.code`, the argument at fault, and a
//! message that helps. Internal causes are logged, never sent.

use async_graphql::{Error, ErrorExtensions};

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
