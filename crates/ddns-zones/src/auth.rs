//! Who is calling: API tokens checked against the ones held in memory, or the store, and
//! against their restrictions (expiry, client subnets) on every request.

use std::net::IpAddr;

use ddns_core::{Actor, Restrictions, Scope, token};
use ddns_store::StoreError;

use crate::Zones;
use crate::token_cache::Verified;

/// The label of [`Principal::console_admin`] (no token has an empty id, so none is mistaken
/// for it).
const CONSOLE_LABEL: &str = "console";

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Token id.
    pub token_id: String,
    /// Token label.
    pub label: String,
    /// What it may change.
    pub scope: Scope,
    /// Types it may write, read-only (expiry and subnets are checked at authentication).
    pub restrictions: Restrictions,
}

impl Principal {
    /// The operator at the command line on the server's data directory: may change anything.
    pub fn operator() -> Self {
        Self {
            token_id: String::new(),
            label: "cli".into(),
            scope: Scope::Admin,
            restrictions: Restrictions::default(),
        }
    }

    /// The web console signed in with the admin password: may change anything.
    pub fn console_admin() -> Self {
        Self {
            label: CONSOLE_LABEL.into(),
            ..Self::operator()
        }
    }

    /// The actor recorded in history rows.
    pub fn actor(&self) -> Actor {
        if self.token_id.is_empty() {
            if self.label == CONSOLE_LABEL {
                Actor::Console
            } else {
                Actor::Cli
            }
        } else {
            Actor::Token(self.token_id.clone())
        }
    }
}

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown, malformed, wrong, revoked or expired token, or one used from a client address
    /// outside its subnets (deliberately not told apart).
    #[error("the token is not valid")]
    Invalid,
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Zones {
    /// Checks a presented token from `client` (the address after trusted-proxy handling):
    /// known id, not revoked, secret matching in constant time, not expired, `client` in its
    /// subnets. The time it was used is noted in memory (at most once a minute per token) and
    /// written by the follower, never on the request path.
    ///
    /// A token verified before is accepted from memory. Every refusal of a wrong secret reads
    /// the store, as an id nobody holds in memory would: how long a refusal takes tells nothing
    /// about what is held, and only the holder of a secret gets the fast path.
    pub async fn authenticate(
        &self,
        presented: &str,
        client: IpAddr,
    ) -> Result<Principal, AuthError> {
        let Some((id, secret)) = token::split(presented) else {
            return Err(AuthError::Invalid);
        };
        let now = crate::last_used::unix_now();
        let (cached, fill) = self.token_cache.get(id);
        if let Some(cached) = cached
            && token::verify(secret, &cached.secret_sha256)
        {
            if !cached.principal.restrictions.admits(now, client) {
                return Err(AuthError::Invalid);
            }
            self.last_used.note(id, now);
            return Ok(cached.principal.clone());
        }
        let Some(record) = self.store.token(id).await? else {
            // Still hash, so an unknown id costs the same as a wrong secret.
            let _ = token::verify(secret, &[0u8; 32]);
            return Err(AuthError::Invalid);
        };
        if !token::verify(secret, &record.secret_sha256) || record.revoked_at.is_some() {
            return Err(AuthError::Invalid);
        }
        let principal = Principal {
            token_id: record.id,
            label: record.label,
            scope: record.scope,
            restrictions: record.restrictions,
        };
        // Held even when this client is refused: expiry and subnets are checked on every
        // request, from memory too.
        self.token_cache.insert(
            fill,
            Verified {
                secret_sha256: record.secret_sha256,
                principal: principal.clone(),
            },
        );
        if !principal.restrictions.admits(now, client) {
            return Err(AuthError::Invalid);
        }
        self.last_used.note(id, now);
        Ok(principal)
    }
}
