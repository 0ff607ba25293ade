//! Who is calling: API tokens checked against the store.

use ddns_core::{Actor, Scope, token};
use ddns_store::StoreError;

use crate::Zones;

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Token id.
    pub token_id: String,
    /// Token label.
    pub label: String,
    /// What it may change.
    pub scope: Scope,
}

impl Principal {
    /// The operator at the command line on the server's data directory: may change anything.
    pub fn operator() -> Self {
        Self {
            token_id: String::new(),
            label: "cli".into(),
            scope: Scope::Admin,
        }
    }

    /// The actor recorded in history rows.
    pub fn actor(&self) -> Actor {
        if self.token_id.is_empty() {
            Actor::Cli
        } else {
            Actor::Token(self.token_id.clone())
        }
    }
}

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Unknown, malformed, wrong or revoked token (deliberately not told apart).
    #[error("the token is not valid")]
    Invalid,
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Zones {
    /// Checks a presented token: known id, not revoked, secret matching in constant time.
    pub async fn authenticate(&self, presented: &str) -> Result<Principal, AuthError> {
        let Some((id, secret)) = token::split(presented) else {
            return Err(AuthError::Invalid);
        };
        let Some(record) = self.store.token(id).await? else {
            // Still hash, so an unknown id costs the same as a wrong secret.
            let _ = token::verify(secret, &[0u8; 32]);
            return Err(AuthError::Invalid);
        };
        if !token::verify(secret, &record.secret_sha256) || record.revoked_at.is_some() {
            return Err(AuthError::Invalid);
        }
        Ok(Principal {
            token_id: record.id,
            label: record.label,
            scope: record.scope,
        })
    }
}
