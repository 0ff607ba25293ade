//! What the edges read about hosts, history and tokens: through here, so no edge holds the
//! store itself.

use ddns_core::DomainName;
use ddns_store::{HistoryRow, HostFilter, HostRecord, StoreError, TokenRecord};

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

    /// Revokes a token: refused by this process from the return on (other processes drop it
    /// at their next poll of the store's token changes).
    pub async fn revoke_token(&self, id: &str) -> Result<(), StoreError> {
        let result = self.store.revoke_token(id).await;
        // After the commit (a request reading the row before it cannot fill it back), and on
        // failure too: a commit whose answer was lost may still have revoked it.
        self.token_cache.invalidate(id);
        result
    }
}
