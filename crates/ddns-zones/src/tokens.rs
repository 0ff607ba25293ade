//! Creating tokens: shared by the `ddns token create` command and the REST API, so both check
//! scopes and register hosts the same way.

use ddns_core::token::{self, NewToken};
use ddns_core::{Actor, DomainName, Origin, Scope, ScopeEntry};
use ddns_store::{ChangeSet, StoreError};

use crate::{UpdateError, Zones};

/// The exact names of a scope (hosts to register when the token is created).
pub fn exact_hosts(scope: &Scope) -> Vec<DomainName> {
    match scope {
        Scope::Admin => Vec::new(),
        Scope::Hosts(entries) => entries
            .iter()
            .filter_map(|e| e.exact_name().cloned())
            .collect(),
    }
}

impl Zones {
    /// Creates a token: every name of its scope must be in a zone served here; exact names are
    /// registered as hosts. Returns the token to show once.
    pub async fn create_token(
        &self,
        label: &str,
        scope: &Scope,
        actor: Actor,
    ) -> Result<NewToken, UpdateError> {
        if let Scope::Hosts(entries) = scope {
            for entry in entries {
                let (ScopeEntry::Name(name) | ScopeEntry::Below(name)) = entry;
                if self.zone_of(name).is_none() {
                    return Err(UpdateError::NotServed(name.clone()));
                }
            }
        }
        let new = token::generate()
            .map_err(|e| UpdateError::Store(StoreError::Database(e.to_string())))?;
        self.store.insert_token(&new, label, scope).await?;
        self.register_hosts(&exact_hosts(scope), actor).await?;
        Ok(new)
    }

    /// Registers hosts without records (existing ones are left alone).
    pub async fn register_hosts(
        &self,
        names: &[DomainName],
        actor: Actor,
    ) -> Result<(), UpdateError> {
        if names.is_empty() {
            return Ok(());
        }
        let mut set = ChangeSet::new(Vec::new(), actor, Origin::default());
        for name in names {
            let zone = self
                .zone_of(name)
                .ok_or_else(|| UpdateError::NotServed(name.clone()))?;
            set.register.push((zone.name.clone(), name.clone()));
        }
        self.store.apply(&set).await?;
        Ok(())
    }
}
