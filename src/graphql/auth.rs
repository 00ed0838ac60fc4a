//! Who is asking: the bearer token of a request, resolved by the server before the schema
//! runs, and the role checks of mutations.
//!
//! No or bad token where one is needed → `extensions.code = "UNAUTHENTICATED"`; a token whose
//! role is too low → `"FORBIDDEN"`. The token's name is the author of every change it makes.

use async_graphql::{Context, Error, Result};

use super::errors::ClientError;

use crate::model::Role;
use crate::store::tokens::Token;
use crate::store::Store;

/// The caller of one request (or one WebSocket connection).
#[derive(Debug, Clone)]
pub enum Principal {
    /// No token given.
    Anonymous,
    /// A token was given but is not (or no longer) valid.
    Invalid,
    /// A valid token.
    Token { name: String, role: Role },
}

impl Principal {
    /// Resolves an `Authorization` header value (`Bearer <secret>`) against the store.
    pub fn from_header(store: &Store, header: Option<&str>) -> Principal {
        let Some(h) = header.map(str::trim).filter(|h| !h.is_empty()) else {
            return Principal::Anonymous;
        };
        let secret = match h.split_once(' ') {
            Some((scheme, s)) if scheme.eq_ignore_ascii_case("bearer") => s.trim(),
            _ => return Principal::Invalid,
        };
        match store.authenticate(secret) {
            Ok(Some(Token { name, role, .. })) => Principal::Token { name, role },
            Ok(None) => Principal::Invalid,
            Err(e) => {
                tracing::error!(error = %e, "token lookup failed");
                Principal::Invalid
            }
        }
    }
}

pub fn unauthenticated(message: impl Into<String>) -> Error {
    ClientError::Unauthenticated(message.into()).into_error()
}

/// The author name of the caller, if its token has at least `role`.
pub fn require(ctx: &Context<'_>, role: Role, what: &str) -> Result<String> {
    match ctx.data_opt::<Principal>() {
        None | Some(Principal::Anonymous) => Err(unauthenticated(format!(
            "{what} needs a token with role {role} or higher: send `Authorization: Bearer <token>` (see `recover-better token create`)"
        ))),
        Some(Principal::Invalid) => Err(unauthenticated(
            "the bearer token is not valid (mistyped, or revoked)",
        )),
        Some(Principal::Token { name, role: has }) if *has < role => Err(ClientError::Forbidden {
            message: format!("token {name:?} has role {has}; {what} needs role {role} or higher"),
            required_role: role,
        }
        .into_error()),
        Some(Principal::Token { name, .. }) => Ok(name.clone()),
    }
}
