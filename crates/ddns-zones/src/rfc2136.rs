//! RFC 2136 DNS UPDATE on the write path: a parsed [`UpdateMessage`] authorised, its
//! prerequisites checked and its updates committed as one transaction, atomically with
//! respect to every other writer of this process.
//!
//! The DNS side verifies TSIG and turns its `[[zone.update]]` rules into the `permit`
//! callback before calling [`Zones::dns_update`]; the RFC's rules themselves live in
//! `ddns_core::dns_update`. This module adds what needs the store: the served zones, the
//! configuration's records, the write lock and the commit.

use ddns_core::dns_update::{
    Prerequisite, UpdateMessage, UpdateOp, check_prerequisites, plan_updates,
};
use ddns_core::record::MAX_TTL;
use ddns_core::{Actor, DomainName, Origin, Rcode, RecordSet, Rtype, Serial};
use ddns_store::{ChangeSet, RrsetWrite, StoreError};

use crate::update::check_reserved;
use crate::{UpdateError, Zones};

/// What a successful UPDATE did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsUpdateOutcome {
    /// RRsets changed (0 when the prerequisites held but nothing needed changing).
    pub changed: usize,
    /// The zone's serial after the update (unchanged when nothing changed).
    pub serial: Serial,
}

/// Why an UPDATE was not applied: the RCODE to answer and what was wrong. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{rcode}: {message}")]
pub struct DnsUpdateError {
    /// NOTAUTH, NOTZONE, a prerequisite's YXDOMAIN/NXDOMAIN/YXRRSET/NXRRSET, REFUSED for
    /// policy and configuration-owned records, SERVFAIL when the store failed.
    pub rcode: Rcode,
    /// For the log.
    pub message: String,
}

impl DnsUpdateError {
    fn new(rcode: Rcode, message: impl Into<String>) -> Self {
        Self {
            rcode,
            message: message.into(),
        }
    }
}

impl From<UpdateError> for DnsUpdateError {
    fn from(e: UpdateError) -> Self {
        let rcode = match &e {
            UpdateError::NotServed(_) => Rcode::NOTAUTH,
            UpdateError::OutOfScope(_)
            | UpdateError::TypeNotAllowed { .. }
            | UpdateError::ReadOnly
            | UpdateError::Reserved { .. }
            | UpdateError::BadRecord(_)
            | UpdateError::Conflict(_)
            | UpdateError::HostQuota { .. }
            | UpdateError::UnknownView(_) => Rcode::REFUSED,
            UpdateError::BadZoneFile(_)
            | UpdateError::VersionMismatch { .. }
            | UpdateError::NotFound(_)
            | UpdateError::NoSuchHistory(_)
            | UpdateError::HistoryOfAnotherName { .. }
            | UpdateError::Store(_) => Rcode::SERVFAIL,
        };
        Self::new(rcode, e.to_string())
    }
}

impl Zones {
    /// Applies an RFC 2136 UPDATE: all of it or nothing, and success only once committed and
    /// published.
    ///
    /// - RFC 2136 §3.1.1: the zone must be "one of this server's authority zones, else signal
    ///   NOTAUTH"; a name that belongs to a deeper zone served here is NOTZONE (§3.2, §3.4.1).
    /// - §3.3: `permit` is asked for every `(name, type)` the update section names (for a
    ///   delete-all, every type it removes), and any refusal is REFUSED for the whole message
    ///   (§3.3.2 "this is the point in the server's processing where such performance should
    ///   take place"); so are names and types the configuration owns, DNSSEC types, and TTLs
    ///   above the one-week bound of every update path.
    /// - §3.7 "an UPDATE should not be able to start from prerequisites that might not still
    ///   hold at the completion of some other concurrent UPDATE": under the write lock, the
    ///   zone is brought up to the store, the prerequisites are checked on it, the updates
    ///   planned and committed in one transaction (one journal entry, history rows by
    ///   `actor`) that fails unless the zone is still at the journal position it was planned
    ///   on: another node (or the CLI) that committed meanwhile makes it plan again.
    ///
    /// An update whose prerequisites hold but that changes nothing answers success and
    /// writes nothing.
    pub async fn dns_update(
        &self,
        message: &UpdateMessage,
        permit: &(dyn Fn(&DomainName, Rtype) -> bool + Sync),
        actor: Actor,
        origin: Origin,
    ) -> Result<DnsUpdateOutcome, DnsUpdateError> {
        let zone_name = &message.zone;
        if !self.policies.iter().any(|p| &p.name == zone_name) {
            return Err(DnsUpdateError::new(
                Rcode::NOTAUTH,
                format!("zone {zone_name} is not served here"),
            ));
        }
        let names = message
            .prerequisites
            .iter()
            .map(Prerequisite::name)
            .chain(message.updates.iter().map(UpdateOp::name));
        for name in names {
            if self.zone_of(name).map(|p| &p.name) != Some(zone_name) {
                return Err(DnsUpdateError::new(
                    Rcode::NOTZONE,
                    format!("{name} belongs to another zone served here, not {zone_name}"),
                ));
            }
        }
        for op in &message.updates {
            check_op(op, permit)?;
        }

        let guard = self.write_lock.lock().await;
        // Another node may commit to the zone between bringing it up to the store and the
        // commit: the change set names the journal position it was planned on, and is
        // planned again on the newer zone when the store says it moved.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .dns_update_on_current(message, permit, &actor, &origin, &guard)
                .await?
            {
                Err(moved) if attempt < 3 => {
                    tracing::debug!(zone = %zone_name, error = %moved, "zone moved under an UPDATE; planning again");
                }
                Err(moved) => return Err(UpdateError::from(moved).into()),
                Ok(outcome) => return Ok(outcome),
            }
        }
    }

    /// One attempt of [`Zones::dns_update`] under the write lock: brings the zone up to the
    /// store, checks and plans on it, commits guarded by the journal position it planned on.
    /// `Ok(Err(_))`: the zone moved on meanwhile and nothing was written.
    async fn dns_update_on_current(
        &self,
        message: &UpdateMessage,
        permit: &(dyn Fn(&DomainName, Rtype) -> bool + Sync),
        actor: &Actor,
        origin: &Origin,
        guard: &tokio::sync::MutexGuard<'_, ()>,
    ) -> Result<Result<DnsUpdateOutcome, StoreError>, DnsUpdateError> {
        let zone_name = &message.zone;
        self.sync_zones(|z| z == zone_name)
            .await
            .map_err(|e| DnsUpdateError::new(Rcode::SERVFAIL, e.to_string()))?;
        // Read before the snapshot: the follower only moves both forward, so the snapshot
        // holds at least what this position says, and a guard on it can only be too strict.
        let planned_at = self.publisher.applied_seq(zone_name).await;
        let snapshot = self.snapshot();
        let Some(zone) = snapshot.get(zone_name) else {
            return Err(DnsUpdateError::new(
                Rcode::SERVFAIL,
                format!("zone {zone_name} has no snapshot"),
            ));
        };
        check_prerequisites(zone, &message.prerequisites).map_err(|rcode| {
            DnsUpdateError::new(rcode, format!("a prerequisite in zone {zone_name} failed"))
        })?;
        for op in &message.updates {
            if op.rtype() != Rtype::SOA {
                check_reserved(zone, op.name(), op.rtype())?;
                self.check_failover(op.name(), op.rtype())?;
            }
        }
        let results = plan_updates(zone, &message.updates)
            .map_err(|e| DnsUpdateError::new(e.rcode, e.message))?;
        let mut writes = Vec::with_capacity(results.len());
        for result in results {
            if !permit(&result.name, result.rtype) {
                return Err(refused(&result.name, result.rtype));
            }
            check_reserved(zone, &result.name, result.rtype)?;
            self.check_failover(&result.name, result.rtype)?;
            writes.push(RrsetWrite::dynamic(
                zone_name.clone(),
                result.name,
                result.rtype,
                result.new,
            ));
        }
        if writes.is_empty() {
            return Ok(Ok(DnsUpdateOutcome {
                changed: 0,
                serial: zone.serial(),
            }));
        }
        let mut set = ChangeSet::new(writes, actor.clone(), origin.clone());
        set.zone_at = planned_at
            .map(|seq| (zone_name.clone(), seq))
            .into_iter()
            .collect();
        let applied = match self.commit_locked(set, guard).await {
            Ok(applied) => applied,
            Err(UpdateError::Store(e @ StoreError::ZoneMoved { .. })) => return Ok(Err(e)),
            Err(e) => return Err(e.into()),
        };
        let serial = applied
            .serials
            .iter()
            .find(|(z, _)| z == zone_name)
            .map_or(zone.serial(), |(_, s)| *s);
        Ok(Ok(DnsUpdateOutcome {
            changed: applied.changed.iter().filter(|c| **c).count(),
            serial,
        }))
    }
}

/// The checks that need no zone data: policy for the `(name, type)` an operation names, and
/// what no update may write.
fn check_op(
    op: &UpdateOp,
    permit: &(dyn Fn(&DomainName, Rtype) -> bool + Sync),
) -> Result<(), DnsUpdateError> {
    let (name, rtype) = (op.name(), op.rtype());
    // A delete-all is judged by the types it removes, once they are known.
    if !matches!(op, UpdateOp::DeleteName { .. }) && !permit(name, rtype) {
        return Err(refused(name, rtype));
    }
    if let UpdateOp::Add { ttl, .. } = op {
        // SOA additions are ignored by the planner (the server owns the SOA).
        if rtype == Rtype::SOA {
            return Ok(());
        }
        RecordSet::check_writable(rtype)
            .map_err(|e| DnsUpdateError::new(Rcode::REFUSED, format!("{name} {rtype}: {e}")))?;
        if *ttl > MAX_TTL {
            return Err(DnsUpdateError::new(
                Rcode::REFUSED,
                format!("{name} {rtype}: TTL {ttl} is above the {MAX_TTL} seconds updates may set"),
            ));
        }
    }
    Ok(())
}

fn refused(name: &DomainName, rtype: Rtype) -> DnsUpdateError {
    DnsUpdateError::new(
        Rcode::REFUSED,
        format!("the update policy does not permit changing {name} {rtype}"),
    )
}
