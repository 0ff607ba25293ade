//! Rollback: a name brought back to what it held right after one of its history rows, as a
//! new change through the one write path, so it gets its own history rows (actor
//! `rollback/<who>`), journal entry and serial step (secondaries follow by IXFR and NOTIFY)
//! and one audit row (`host.rollback`).

use ddns_core::{Actor, DomainName, Origin, RecordSet};
use ddns_store::{AdminAction, Applied, ChangeSet, RrsetWrite};

use crate::update::check_reserved;
use crate::{Principal, UpdateError, Zones};

impl Zones {
    /// Restores the record sets `name` had right after history row `to`: every type that
    /// changed since is written back (or removed), in one change set. An unknown row, a row of
    /// another name, or a state the write path refuses (a type the configuration owns now)
    /// changes nothing. Guarded by the host's version, so a change that lands between reading
    /// the history and committing makes the rollback fail instead of being half undone.
    pub async fn rollback_host(
        &self,
        principal: &Principal,
        name: &DomainName,
        to: i64,
        origin: Origin,
    ) -> Result<Applied, UpdateError> {
        self.authorize(principal, std::slice::from_ref(name))?;
        let row = self
            .store
            .history_row(to)
            .await?
            .ok_or(UpdateError::NoSuchHistory(to))?;
        if &row.name != name {
            return Err(UpdateError::HistoryOfAnotherName {
                id: to,
                name: row.name,
            });
        }
        if row.note.is_some() {
            return Err(UpdateError::Conflict(format!(
                "history row {to} summarises a zone import, not a change of {name}"
            )));
        }
        let version = self.store.host(name).await?.map(|h| h.version);
        let state = self.store.state_after(name, to).await?;
        let policy = self
            .zone_of(name)
            .ok_or_else(|| UpdateError::NotServed(name.clone()))?;
        let snapshot = self.snapshot();
        let mut writes = Vec::with_capacity(state.len());
        for (view, rtype, set) in state {
            RecordSet::check_writable(rtype)?;
            if let Some(zone) = snapshot.get(&policy.name) {
                check_reserved(zone, name, rtype)?;
            }
            self.check_failover(name, rtype)?;
            writes.push(
                RrsetWrite::dynamic(policy.name.clone(), name.clone(), rtype, set).in_view(view),
            );
        }
        let mut set = ChangeSet::new(
            writes,
            Actor::Rollback(Box::new(principal.actor())),
            origin.clone(),
        );
        set.if_match = version.map(|v| (name.clone(), v)).into_iter().collect();
        set.host_quota = self.host_quota(principal);
        set.audit = Some(AdminAction {
            origin,
            detail: Some(format!("to history row {to}")),
            ..AdminAction::new(principal.actor(), "host.rollback", name.as_str())
        });
        self.commit(set).await
    }
}
