//! The web console's sign-in by password and the reads its pages need: the admin password is
//! kept as an argon2id hash (PHC string) in the store, hashed and checked on a blocking thread
//! so a sign-in never stalls the runtime; host pages are keyset searches in the store.

use std::collections::HashMap;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use ddns_core::{Actor, DomainName, Origin};
use ddns_store::{AdminAction, HistoryRow, HostRecord, HostSearch, StoreError};

use crate::Zones;

/// Shortest admin password accepted.
pub const MIN_PASSWORD: usize = 10;
/// Longest admin password accepted (argon2 takes anything, but a sign-in form need not).
pub const MAX_PASSWORD: usize = 1024;

/// Why a password was not set.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than [`MIN_PASSWORD`] characters.
    #[error("the password is shorter than {MIN_PASSWORD} characters")]
    TooShort,
    /// More than [`MAX_PASSWORD`] bytes.
    #[error("the password is longer than {MAX_PASSWORD} bytes")]
    TooLong,
    /// Hashing failed (no randomness for the salt).
    #[error("cannot hash the password: {0}")]
    Hash(String),
    /// The store could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Zones {
    /// Sets the console's admin password (argon2id, a fresh random salt); the audit row
    /// (`console.password`) is written with it. Sessions already signed in stay signed in.
    pub async fn set_console_password(
        &self,
        password: &str,
        actor: Actor,
        origin: Origin,
    ) -> Result<(), PasswordError> {
        if password.chars().count() < MIN_PASSWORD {
            return Err(PasswordError::TooShort);
        }
        if password.len() > MAX_PASSWORD {
            return Err(PasswordError::TooLong);
        }
        let password = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| PasswordError::Hash(e.to_string()))
        })
        .await
        .map_err(|e| PasswordError::Hash(e.to_string()))??;
        let audit = AdminAction {
            origin,
            ..AdminAction::new(actor, "console.password", "admin")
        };
        self.store.set_console_password(&hash, &audit).await?;
        Ok(())
    }

    /// True when `password` is the console's admin password. False when none is set, or the
    /// stored hash cannot be read as one (logged): the console then takes admin tokens only.
    pub async fn verify_console_password(&self, password: &str) -> Result<bool, StoreError> {
        if password.is_empty() || password.len() > MAX_PASSWORD {
            return Ok(false);
        }
        let Some(stored) = self.store.console_password().await? else {
            return Ok(false);
        };
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || match PasswordHash::new(&stored) {
            Ok(hash) => Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok(),
            Err(e) => {
                tracing::error!(error = %e, "the stored console password hash is unreadable");
                false
            }
        })
        .await
        .map_err(|e| StoreError::Database(e.to_string()))
    }

    /// Whether an admin password is set (the sign-in page says how to set one otherwise).
    pub async fn has_console_password(&self) -> Result<bool, StoreError> {
        Ok(self.store.console_password().await?.is_some())
    }

    /// A page of hosts by name that `search` lets through.
    pub async fn search_hosts(&self, search: &HostSearch) -> Result<Vec<HostRecord>, StoreError> {
        self.store.search_hosts(search).await
    }

    /// The newest history row of each of `names`.
    pub async fn last_changes(
        &self,
        names: &[&DomainName],
    ) -> Result<HashMap<DomainName, HistoryRow>, StoreError> {
        self.store.last_changes(names).await
    }

    /// How many hosts there are.
    pub async fn host_count(&self) -> Result<u64, StoreError> {
        self.store.host_count().await
    }
}
