//! Creating and rotating tokens: shared by the `ddns token` commands and the REST API, so both
//! check scopes and register hosts the same way.

use ddns_core::token::{self, NewToken};
use ddns_core::{Actor, DomainName, Origin, Restrictions, Scope, ScopeEntry};
use ddns_store::{AdminAction, ChangeSet, HostFilter, HostQuota, StoreError, TokenRecord};

use crate::{Principal, UpdateError, Zones};

/// The hosts a scope covers, as a store filter (listings, quotas).
pub fn host_filter(scope: &Scope) -> HostFilter {
    match scope {
        Scope::Admin => HostFilter::All,
        Scope::Hosts(entries) => HostFilter::Scope {
            exact: entries
                .iter()
                .filter_map(|e| e.exact_name().cloned())
                .collect(),
            below: entries
                .iter()
                .filter_map(|e| match e {
                    ScopeEntry::Below(n) => Some(n.clone()),
                    ScopeEntry::Name(_) => None,
                })
                .collect(),
        },
    }
}

/// A scope as the audit trail shows it: `admin`, or its entries joined by commas.
pub(crate) fn scope_text(scope: &Scope) -> String {
    match scope {
        Scope::Admin => "admin".to_owned(),
        Scope::Hosts(entries) => entries
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
    }
}

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
    /// registered as hosts. Returns the token to show once. The audit row (`token.create`, by
    /// `actor` from `origin`) is written with the token.
    pub async fn create_token(
        &self,
        label: &str,
        scope: &Scope,
        restrictions: &Restrictions,
        actor: Actor,
        origin: Origin,
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
        let audit = AdminAction {
            origin,
            detail: Some(scope_text(scope)),
            ..AdminAction::new(actor.clone(), "token.create", new.id.clone())
        };
        self.store
            .insert_token(&new, label, scope, restrictions, &audit)
            .await?;
        self.register_hosts(&exact_hosts(scope), actor).await?;
        Ok(new)
    }

    /// Issues a successor of the active token `id` with the same label, scope and
    /// restrictions (and its expiry, unless `expires_at` gives another); `id` keeps working
    /// until `old_until` (seconds since the epoch) and is refused from then on. Returns the
    /// successor to show once, and the old token as it was. The audit row (`token.rotate`, by
    /// `actor` from `origin`) is written with the successor.
    pub async fn rotate_token(
        &self,
        id: &str,
        old_until: i64,
        expires_at: Option<Option<i64>>,
        actor: Actor,
        origin: Origin,
    ) -> Result<(NewToken, TokenRecord), UpdateError> {
        let new = token::generate()
            .map_err(|e| UpdateError::Store(StoreError::Database(e.to_string())))?;
        let audit = AdminAction {
            origin,
            detail: Some(format!("successor {}", new.id)),
            ..AdminAction::new(actor, "token.rotate", id.to_owned())
        };
        let result = self
            .store
            .rotate_token(id, &new, old_until, expires_at, &audit)
            .await;
        // After the commit, and on failure too (see `revoke_token`): the old token's expiry
        // changed, and memory must not keep the one it had.
        self.token_cache.invalidate(id);
        Ok((new, result?))
    }

    /// The quota a change set of `principal` is held to: tokens with a subtree in their scope
    /// may have at most `max_hosts_per_token` hosts under it. Admin tokens, and tokens of
    /// exact names only (bounded by their scope), have none.
    pub(crate) fn host_quota(&self, principal: &Principal) -> Option<HostQuota> {
        let limits = self.limits?;
        let Scope::Hosts(entries) = &principal.scope else {
            return None;
        };
        if !entries.iter().any(|e| matches!(e, ScopeEntry::Below(_))) {
            return None;
        }
        Some(HostQuota {
            filter: host_filter(&principal.scope),
            max_hosts: limits.max_hosts_per_token,
        })
    }

    /// Creates one host without records for `principal` (REST `POST /api/v1/hosts`), within
    /// its scope and host quota; an existing host is left alone.
    pub async fn create_host(
        &self,
        principal: &Principal,
        name: &DomainName,
    ) -> Result<(), UpdateError> {
        self.authorize(principal, std::slice::from_ref(name))?;
        let zone = self
            .zone_of(name)
            .ok_or_else(|| UpdateError::NotServed(name.clone()))?;
        let mut set = ChangeSet::new(Vec::new(), principal.actor(), Origin::default());
        set.register.push((zone.name.clone(), name.clone()));
        set.host_quota = self.host_quota(principal);
        self.store.apply(&set).await?;
        Ok(())
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
