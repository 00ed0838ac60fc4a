//! API tokens: `tokens` maps a token's name to its role and the SHA-256 of its secret. The
//! secret itself is shown once, when created, and never stored.
//!
//! Tokens live outside [`Store::apply`]: they are not part of a dataset, are never
//! exported, and survive a rolled-back import.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::codec::{self, Stored};
use super::engine::{CommitError, WriteSet};
use super::{Result, Store, StoreError, TreeId};
use crate::model::{limits, Refusal, RefusalKind, Role, Timestamp};

/// A token as stored: everything but the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    pub name: String,
    pub role: Role,
    /// Hex SHA-256 of the secret.
    pub hash: String,
    pub created_at: Timestamp,
}

/// Secrets start with this, so a leaked one is easy to recognise (and to grep for).
pub const SECRET_PREFIX: &str = "rb_";

fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a token name is unusable, if it is. (Too long a name is not quoted back whole.)
pub fn name_problem(name: &str) -> Option<Refusal> {
    let rule = format!(
        "must be 1 to {} letters, digits, '-', '_', '.' or '@'",
        limits::TOKEN_NAME
    );
    if name.len() > limits::TOKEN_NAME {
        return Some(Refusal::new(
            RefusalKind::TooLong {
                limit: limits::TOKEN_NAME,
            },
            Some("name"),
            format!(
                "token name of {} characters is over the limit of {}: it {rule}",
                limits::grouped(name.chars().count()),
                limits::TOKEN_NAME
            ),
        ));
    }
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    (!ok).then(|| Refusal::invalid("name", format!("token name {name:?} {rule}")))
}

impl Store {
    /// Creates a token and returns its secret (the only time it exists outside the client).
    /// Durable on return.
    pub fn create_token(&self, name: &str, role: Role) -> Result<String> {
        if let Some(p) = name_problem(name) {
            return Err(StoreError::refused(p));
        }
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let secret = format!(
            "{SECRET_PREFIX}{}",
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
        );
        let token = Token {
            name: name.to_owned(),
            role,
            hash: hash(&secret),
            created_at: Timestamp::now(),
        };
        let value = codec::encode(&Stored {
            version: 1,
            record: &token,
        });
        let mut w = WriteSet::new();
        w.expect(TreeId::Tokens, name.as_bytes().to_vec(), None);
        w.set(TreeId::Tokens, name.as_bytes().to_vec(), value);
        let taken = match self.engine.commit(&w) {
            Ok(()) => false,
            Err(CommitError::Conflict { .. }) => true,
            Err(CommitError::Store(e)) => return Err(e),
        };
        if taken {
            return Err(StoreError::refused(Refusal::new(
                RefusalKind::AlreadyExists {
                    current_version: None,
                },
                Some("name"),
                format!("a token named {name:?} exists already (revoke it first)"),
            )));
        }
        self.flush()?;
        Ok(secret)
    }

    /// Every token, by name.
    pub fn tokens(&self) -> Result<Vec<Token>> {
        self.engine
            .iter(TreeId::Tokens)
            .map(|kv| Ok(Self::decode::<Token>(TreeId::Tokens, &kv?.1)?.record))
            .collect()
    }

    /// Removes a token; returns whether there was one. Durable on return.
    pub fn revoke_token(&self, name: &str) -> Result<bool> {
        let key = name.as_bytes().to_vec();
        let Some(seen) = self.engine.get(TreeId::Tokens, &key)? else {
            return Ok(false);
        };
        let mut w = WriteSet::new();
        w.expect(TreeId::Tokens, key.clone(), Some(seen));
        w.remove(TreeId::Tokens, key);
        let removed = match self.engine.commit(&w) {
            Ok(()) => true,
            // Changed by someone else in between: look again.
            Err(CommitError::Conflict { .. }) => return self.revoke_token(name),
            Err(CommitError::Store(e)) => return Err(e),
        };
        self.flush()?;
        Ok(removed)
    }

    /// The token whose secret this is, if any. Compares hashes, so the time taken does not
    /// depend on how much of a secret was right.
    pub fn authenticate(&self, secret: &str) -> Result<Option<Token>> {
        if !secret.starts_with(SECRET_PREFIX) {
            return Ok(None);
        }
        let h = hash(secret);
        Ok(self.tokens()?.into_iter().find(|t| t.hash == h))
    }
}

impl codec::Versioned for Token {}
