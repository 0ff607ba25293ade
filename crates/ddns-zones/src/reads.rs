//! What the edges read about hosts, history and tokens: through here, so no edge holds the
//! store itself.

use ddns_core::{Actor, DomainName, Origin};
use ddns_store::{
    AdminAction, AuditEntry, AuditQuery, HistoryRow, HostFilter, HostRecord, StoreError,
    TokenRecord,
};

use crate::Zones;

impl Zones {
    /// One host with its records.
    pub async fn host(&self, name: &DomainName) -> Result<Option<HostRecord>, StoreError> {
        self.store.host(name).await
    }

    /// A page of hosts that `filter` lets through, by name, after `after`.
    pub async fn hosts(
        &self,
        filter: &HostFilter,
        after: Option<&DomainName>,
        limit: u32,
    ) -> Result<Vec<HostRecord>, StoreError> {
        self.store.hosts(filter, after, limit).await
    }

    /// A page of a name's history, newest first, older than `before` when given.
    pub async fn history_of(
        &self,
        name: &DomainName,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<HistoryRow>, StoreError> {
        self.store.history_of(name, before, limit).await
    }

    /// Every token.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.store.tokens().await
    }

    /// One token.
    pub async fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.store.token(id).await
    }

    /// A page of the audit trail: record changes and administrative actions by time.
    pub async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        self.store.audit(query).await
    }

    /// Revokes a token: refused by this process from the return on (other processes drop it
    /// at their next poll of the store's token changes). The audit row (`token.revoke`, by
    /// `actor` from `origin`) is written in the same transaction.
    pub async fn revoke_token(
        &self,
        id: &str,
        actor: Actor,
        origin: Origin,
    ) -> Result<(), StoreError> {
        let audit = AdminAction {
            origin,
            ..AdminAction::new(actor, "token.revoke", id)
        };
        let result = self.store.revoke_token(id, &audit).await;
        // After the commit (a request reading the row before it cannot fill it back), and on
        // failure too: a commit whose answer was lost may still have revoked it.
        self.token_cache.invalidate(id);
        result
    }
}

/// The start of an audit listing (`ddns audit --since`, `GET /api/v1/audit?since=`): an RFC 3339
/// time, or a duration back from `now` (`90m`, `7d`).
pub fn parse_since(
    text: &str,
    now: std::time::SystemTime,
) -> Result<std::time::SystemTime, String> {
    if let Some(at) = ddns_store::parse_time(text) {
        return Ok(at);
    }
    let back = ddns_config::duration::parse_duration(text).map_err(|_| {
        format!(
            "{text:?} is neither an RFC 3339 time (2026-12-03T09:00:00Z) nor a duration (90m, 7d)"
        )
    })?;
    now.checked_sub(back)
        .ok_or_else(|| format!("{text:?} reaches before the epoch"))
}
