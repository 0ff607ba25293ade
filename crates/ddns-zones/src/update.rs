//! The authorised write path: check every name, commit, publish, then answer.

use std::net::{Ipv4Addr, Ipv6Addr};

use ddns_core::record::RecordError;
use ddns_core::snapshot::{Rrset, Zone, ZoneSet};
use ddns_core::{Actor, DomainName, Origin, RecordSet, Rtype};
use ddns_store::{AdminAction, Applied, ChangeSet, RrsetWrite, StoreError};

use crate::{Principal, Zones};

/// Set or remove one RRset (REST API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RrsetIntent {
    /// Owner.
    pub name: DomainName,
    /// Type.
    pub rtype: Rtype,
    /// New values as the API takes them (see [`RecordSet::from_values`]), or `None` to remove
    /// the RRset.
    pub values: Option<Vec<String>>,
    /// TTL; `None` keeps the current one, or uses the zone's dynamic TTL for a new RRset.
    pub ttl: Option<u32>,
    /// The split-horizon view whose own RRset this is (`[[view]] name`); `None`: the default.
    pub view: Option<String>,
}

/// One view's addresses in an address update (`"views": {"lan": …}`, `myip.lan=`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewAddresses {
    /// The view (`[[view]] name`).
    pub view: String,
    /// New A records of the view; `None` leaves them alone, empty removes them (the view
    /// then shows the default's).
    pub ipv4: Option<Vec<Ipv4Addr>>,
    /// New AAAA records of the view, likewise.
    pub ipv6: Option<Vec<Ipv6Addr>>,
}

/// An address update for one or more hosts (DynDNS2, REST `/update`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressUpdate {
    /// Hosts, in request order.
    pub names: Vec<DomainName>,
    /// New A records; `None` leaves them alone.
    pub ipv4: Option<Vec<Ipv4Addr>>,
    /// New AAAA records; `None` leaves them alone.
    pub ipv6: Option<Vec<Ipv6Addr>>,
    /// Remove both A and AAAA (DynDNS2 `offline=YES`).
    pub offline: bool,
    /// TTL; `None` keeps the current one or uses the zone's dynamic TTL.
    pub ttl: Option<u32>,
    /// Per-view addresses, set in the same transaction as the default ones.
    pub views: Vec<ViewAddresses>,
}

/// What an address update did to one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostOutcome {
    /// The host.
    pub name: DomainName,
    /// Did anything change?
    pub changed: bool,
    /// IPv4 addresses set by this request.
    pub ipv4: Vec<Ipv4Addr>,
    /// IPv6 addresses set by this request.
    pub ipv6: Vec<Ipv6Addr>,
}

/// Why an update was refused or failed; nothing changed in every case.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// No served zone contains the name.
    #[error("{0} is not in a zone served here")]
    NotServed(DomainName),
    /// The token may not change the name.
    #[error("this token may not change {0}")]
    OutOfScope(DomainName),
    /// The token may not write records of this type.
    #[error("this token may not change {rtype} records (of {name})")]
    TypeNotAllowed {
        /// The name.
        name: DomainName,
        /// The type refused.
        rtype: Rtype,
    },
    /// The token may only read.
    #[error("this token is read-only")]
    ReadOnly,
    /// The name or type is owned by the configuration (static records, delegations).
    #[error("{name} cannot be changed through updates: {why}")]
    Reserved {
        /// The name.
        name: DomainName,
        /// Why.
        why: &'static str,
    },
    /// The values are not valid for the record type.
    #[error(transparent)]
    BadRecord(#[from] RecordError),
    /// A zone file that cannot be imported.
    #[error("{0}")]
    BadZoneFile(String),
    /// The change breaks a DNS rule (CNAME and other data).
    #[error("{0}")]
    Conflict(String),
    /// `If-Match` named a stale version.
    #[error("{name} is at version {current}, not {expected}")]
    VersionMismatch {
        /// The host.
        name: String,
        /// Version the caller expected.
        expected: i64,
        /// Version stored.
        current: i64,
    },
    /// The host does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// The update would create a host beyond the token's host quota.
    #[error("this token already has {max} hosts under its scope, its limit; delete one first")]
    HostQuota {
        /// The quota (`[http] max_hosts_per_token`).
        max: u32,
    },
    /// A rollback named a history row that does not exist (never, or pruned).
    #[error("there is no history row {0} (see `ddns history NAME`)")]
    NoSuchHistory(i64),
    /// A rollback named a history row of another name.
    #[error("history row {id} is a change of {name}, not of the host rolled back")]
    HistoryOfAnotherName {
        /// The row.
        id: i64,
        /// The name it changed.
        name: DomainName,
    },
    /// The update names a view the server does not have.
    #[error("there is no view {0:?} (see [[view]] in the server's configuration)")]
    UnknownView(String),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for UpdateError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Self::Conflict(m),
            StoreError::VersionMismatch {
                name,
                expected,
                current,
            } => Self::VersionMismatch {
                name,
                expected,
                current,
            },
            StoreError::NotFound(n) => Self::NotFound(n),
            StoreError::HostQuota { max } => Self::HostQuota { max },
            StoreError::Invalid(m) => Self::BadZoneFile(m),
            other => Self::Store(other),
        }
    }
}

impl Zones {
    /// Checks that the caller may write, and that every name is served here and permitted to
    /// it; all or nothing.
    pub fn authorize(
        &self,
        principal: &Principal,
        names: &[DomainName],
    ) -> Result<(), UpdateError> {
        if principal.restrictions.read_only {
            return Err(UpdateError::ReadOnly);
        }
        for name in names {
            if self.zone_of(name).is_none() {
                return Err(UpdateError::NotServed(name.clone()));
            }
            if !principal.scope.permits(name) {
                return Err(UpdateError::OutOfScope(name.clone()));
            }
        }
        Ok(())
    }

    /// Checks that the caller may write RRsets of `rtype` (its `--type` restriction).
    pub fn authorize_type(
        &self,
        principal: &Principal,
        name: &DomainName,
        rtype: Rtype,
    ) -> Result<(), UpdateError> {
        if principal.restrictions.read_only {
            return Err(UpdateError::ReadOnly);
        }
        if !principal.restrictions.permits_type(rtype) {
            return Err(UpdateError::TypeNotAllowed {
                name: name.clone(),
                rtype,
            });
        }
        Ok(())
    }

    /// Sets or removes the A/AAAA records of several hosts in one transaction.
    pub async fn update_addresses(
        &self,
        principal: &Principal,
        update: &AddressUpdate,
        origin: Origin,
    ) -> Result<Vec<HostOutcome>, UpdateError> {
        if update
            .names
            .iter()
            .any(|n| self.leased_failover(n).is_some())
        {
            if let Some(name) = update.names.first().filter(|_| !update.views.is_empty()) {
                // A node publishes into the set; a view cannot have its own addresses there.
                return Err(UpdateError::Reserved {
                    name: name.clone(),
                    why: "its addresses come from the health checks of a [[zone.failover]] entry",
                });
            }
            return Ok(vec![self.publish_member(principal, update, origin).await?]);
        }
        self.authorize(principal, &update.names)?;
        let snapshot = self.snapshot();
        // Offline everywhere: a view's own addresses would otherwise keep LAN clients pointed
        // at the host. Every view the request does not set itself is cleared, as `myip.VIEW=`.
        let offline_views: Vec<ViewAddresses> = if update.offline {
            self.view_names()
                .iter()
                .filter(|view| !update.views.iter().any(|va| &va.view == *view))
                .map(|view| ViewAddresses {
                    view: view.clone(),
                    ipv4: Some(Vec::new()),
                    ipv6: Some(Vec::new()),
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut writes = Vec::new();
        let mut outcomes = Vec::new();
        for name in &update.names {
            let policy = self
                .zone_of(name)
                .ok_or_else(|| UpdateError::NotServed(name.clone()))?;
            let zone = snapshot.get(&policy.name);
            let (ipv4, ipv6) = if update.offline {
                (Some(Vec::new()), Some(Vec::new()))
            } else {
                (update.ipv4.clone(), update.ipv6.clone())
            };
            let ttl_for = |rtype| {
                update
                    .ttl
                    .or_else(|| zone.and_then(|z| current_ttl(z, name, rtype)))
                    .unwrap_or(policy.dynamic_ttl)
            };
            let families = [
                (
                    Rtype::A,
                    ipv4.as_ref()
                        .map(|v| (v.is_empty(), RecordSet::ipv4(ttl_for(Rtype::A), v))),
                ),
                (
                    Rtype::AAAA,
                    ipv6.as_ref()
                        .map(|v| (v.is_empty(), RecordSet::ipv6(ttl_for(Rtype::AAAA), v))),
                ),
            ];
            for (rtype, family) in families {
                let Some((remove, set)) = family else {
                    continue;
                };
                self.authorize_type(principal, name, rtype)?;
                if let Some(zone) = zone {
                    check_reserved(zone, name, rtype)?;
                }
                self.check_failover(name, rtype)?;
                let new = if remove && update.offline {
                    None
                } else {
                    Some(set?)
                };
                if let Some(ttl) = update.ttl {
                    check_ttl(ttl)?;
                }
                writes.push(RrsetWrite::dynamic(
                    policy.name.clone(),
                    name.clone(),
                    rtype,
                    new,
                ));
            }
            for va in update.views.iter().chain(&offline_views) {
                self.check_view(&va.view)?;
                let ttl_for = |rtype| {
                    update
                        .ttl
                        .or_else(|| {
                            self.publisher
                                .view_rrset(&policy.name, &va.view, name, rtype)
                                .map(|r| r.ttl())
                        })
                        .unwrap_or(policy.dynamic_ttl)
                };
                let families = [
                    (
                        Rtype::A,
                        va.ipv4
                            .as_ref()
                            .map(|v| (v.is_empty(), RecordSet::ipv4(ttl_for(Rtype::A), v))),
                    ),
                    (
                        Rtype::AAAA,
                        va.ipv6
                            .as_ref()
                            .map(|v| (v.is_empty(), RecordSet::ipv6(ttl_for(Rtype::AAAA), v))),
                    ),
                ];
                for (rtype, family) in families {
                    let Some((remove, set)) = family else {
                        continue;
                    };
                    self.authorize_type(principal, name, rtype)?;
                    if let Some(zone) = zone {
                        check_reserved(zone, name, rtype)?;
                    }
                    self.check_failover(name, rtype)?;
                    let new = if remove { None } else { Some(set?) };
                    writes.push(
                        RrsetWrite::dynamic(policy.name.clone(), name.clone(), rtype, new)
                            .in_view(Some(va.view.clone())),
                    );
                }
            }
            outcomes.push(HostOutcome {
                name: name.clone(),
                changed: false,
                ipv4: if update.offline {
                    Vec::new()
                } else {
                    update.ipv4.clone().unwrap_or_default()
                },
                ipv6: if update.offline {
                    Vec::new()
                } else {
                    update.ipv6.clone().unwrap_or_default()
                },
            });
        }
        if writes.iter().all(|w| self.shows(&snapshot, w)) && self.snapshot_holds(&writes).await? {
            // `nochg`, the common case (every agent and router repeats its address), answered
            // from memory: the snapshot holds every commit of this process, and other
            // processes' commits once the follower has replayed them.
            return Ok(outcomes);
        }
        let mut set = ChangeSet::new(writes.clone(), principal.actor(), origin);
        set.host_quota = self.host_quota(principal);
        let applied = self.commit(set).await?;
        for outcome in &mut outcomes {
            outcome.changed = writes
                .iter()
                .zip(&applied.changed)
                .any(|(w, changed)| *changed && w.name == outcome.name);
        }
        Ok(outcomes)
    }

    /// Sets or removes RRsets of any type (REST API), optionally guarded by the host's version.
    pub async fn update_rrsets(
        &self,
        principal: &Principal,
        intents: &[RrsetIntent],
        if_match: Option<(DomainName, i64)>,
        origin: Origin,
    ) -> Result<Applied, UpdateError> {
        if let Some(update) = self.member_update(intents) {
            let outcome = self.publish_member(principal, &update?, origin).await?;
            return Ok(Applied {
                changed: vec![outcome.changed; intents.len()],
                ..Applied::default()
            });
        }
        self.write_rrsets(principal, principal.actor(), intents, if_match, origin)
            .await
    }

    /// Sets or removes RRsets the server itself owns (its ACME DNS-01 challenges) on any name
    /// of a served zone, through the same checks and journal as every other write, recorded
    /// as `actor`.
    pub async fn update_own_rrsets(
        &self,
        actor: Actor,
        intents: &[RrsetIntent],
    ) -> Result<Applied, UpdateError> {
        self.write_rrsets(
            &Principal::operator(),
            actor,
            intents,
            None,
            Origin::default(),
        )
        .await
    }

    async fn write_rrsets(
        &self,
        principal: &Principal,
        actor: Actor,
        intents: &[RrsetIntent],
        if_match: Option<(DomainName, i64)>,
        origin: Origin,
    ) -> Result<Applied, UpdateError> {
        let names: Vec<DomainName> = intents.iter().map(|i| i.name.clone()).collect();
        self.authorize(principal, &names)?;
        let snapshot = self.snapshot();
        let mut writes = Vec::new();
        for intent in intents {
            self.authorize_type(principal, &intent.name, intent.rtype)?;
            RecordSet::check_writable(intent.rtype)?;
            let policy = self
                .zone_of(&intent.name)
                .ok_or_else(|| UpdateError::NotServed(intent.name.clone()))?;
            let zone = snapshot.get(&policy.name);
            if let Some(zone) = zone {
                check_reserved(zone, &intent.name, intent.rtype)?;
            }
            self.check_failover(&intent.name, intent.rtype)?;
            if let Some(view) = &intent.view {
                self.check_view(view)?;
            }
            let new = match &intent.values {
                Some(values) => {
                    let current = match &intent.view {
                        Some(view) => self
                            .publisher
                            .view_rrset(&policy.name, view, &intent.name, intent.rtype)
                            .map(|r| r.ttl()),
                        None => zone.and_then(|z| current_ttl(z, &intent.name, intent.rtype)),
                    };
                    let ttl = intent.ttl.or(current).unwrap_or(policy.dynamic_ttl);
                    Some(RecordSet::from_values(
                        intent.rtype,
                        ttl,
                        values,
                        &policy.name.to_wire(),
                    )?)
                }
                None => None,
            };
            writes.push(
                RrsetWrite::dynamic(policy.name.clone(), intent.name.clone(), intent.rtype, new)
                    .in_view(intent.view.clone()),
            );
        }
        let mut set = ChangeSet::new(writes, actor, origin);
        set.if_match = if_match.into_iter().collect();
        set.host_quota = self.host_quota(principal);
        self.commit(set).await
    }

    /// Deletes a host and all its records (an administrative action: audited as `host.rm`).
    pub async fn delete_host(
        &self,
        principal: &Principal,
        name: &DomainName,
        if_match: Option<i64>,
        origin: Origin,
    ) -> Result<Applied, UpdateError> {
        self.authorize(principal, std::slice::from_ref(name))?;
        if !principal.restrictions.types.is_empty() {
            // Deleting a host removes every RRset it has: each must be of a permitted type.
            let snapshot = self.snapshot();
            let node = self
                .zone_of(name)
                .and_then(|policy| snapshot.get(&policy.name))
                .and_then(|zone| zone.node(&name.to_wire()));
            for rrset in node.iter().flat_map(|n| n.rrsets()) {
                if rrset.is_dynamic() {
                    self.authorize_type(principal, name, rrset.rtype())?;
                }
            }
        }
        let mut set = ChangeSet::new(Vec::new(), principal.actor(), origin.clone());
        set.audit = Some(AdminAction {
            origin,
            ..AdminAction::new(principal.actor(), "host.rm", name.as_str())
        });
        set.delete_hosts = vec![name.clone()];
        set.if_match = if_match.map(|v| (name.clone(), v)).into_iter().collect();
        self.commit(set).await
    }

    /// Commits alone, for a caller that already holds the write lock (its guard is the proof):
    /// an RFC 2136 update between reading its prerequisites and committing.
    pub(crate) async fn commit_locked(
        &self,
        set: ChangeSet,
        _held: &tokio::sync::MutexGuard<'_, ()>,
    ) -> Result<Applied, UpdateError> {
        let applied = self.store.apply(&set).await?;
        let touched = |zone: &DomainName| applied.serials.iter().any(|(z, _)| z == zone);
        if applied.any_change()
            && let Err(e) = self.sync_zones(touched).await
        {
            tracing::warn!(error = %e, "committed change not yet published; the follower will catch up");
        }
        Ok(applied)
    }
}

impl Zones {
    /// Refuses a view this server does not have.
    fn check_view(&self, view: &str) -> Result<(), UpdateError> {
        if self.publisher.views.index(view).is_none() {
            return Err(UpdateError::UnknownView(view.to_owned()));
        }
        Ok(())
    }

    /// Whether the snapshot may answer for the zones of `writes` alone: always with one
    /// server per store; in a cluster only when no other node committed to them since the
    /// snapshot (a read of the zones' journal positions, shared by concurrent requests:
    /// `freshness.rs`), for a client that moved its
    /// address through another node a moment ago must not be told `nochg` for the old one.
    /// When this says no, the write path decides on the store's data instead. Call it when
    /// the caller's snapshot shows every write already.
    async fn snapshot_holds(&self, writes: &[RrsetWrite]) -> Result<bool, UpdateError> {
        if !self.is_clustered() {
            return Ok(true);
        }
        let mut zones: Vec<&DomainName> = writes.iter().map(|w| &w.zone).collect();
        zones.sort_unstable();
        zones.dedup();
        // The read began after this request arrived, so it holds every commit the client can
        // have seen; what this node has applied only grows, and may pass it meanwhile.
        let stored = self.positions.read(&self.store).await?;
        for zone in zones {
            let Some(&stored) = stored.get(zone) else {
                return Ok(false);
            };
            if self
                .publisher
                .applied_seq(zone)
                .await
                .is_none_or(|applied| applied < stored)
            {
                return Ok(false);
            }
        }
        // The caller's snapshot may predate what the follower published meanwhile; one taken
        // now holds at least the positions just compared.
        let snapshot = self.snapshot();
        Ok(writes.iter().all(|w| self.shows(&snapshot, w)))
    }

    /// Whether committing `write` would change nothing: the default data as the snapshot
    /// shows it, a view's own RRset as its overlay holds it (a view's zone also shows what it
    /// inherits, which a view write must still store).
    fn shows(&self, snapshot: &ZoneSet, write: &RrsetWrite) -> bool {
        match &write.view {
            None => snapshot_shows(snapshot, write),
            Some(view) => {
                let current =
                    self.publisher
                        .view_rrset(&write.zone, view, &write.name, write.rtype);
                match (current, &write.new) {
                    (Some(current), Some(new)) => current == Rrset::from_set(new, true),
                    (None, None) => true,
                    _ => false,
                }
            }
        }
    }
}

/// Whether the snapshot already holds what `write` would store (a dynamic RRset equal to it,
/// or no RRset for a removal), so committing it would change nothing.
fn snapshot_shows(snapshot: &ZoneSet, write: &RrsetWrite) -> bool {
    let current = snapshot
        .get(&write.zone)
        .and_then(|zone| zone.node(&write.name.to_wire()))
        .and_then(|node| node.rrset(write.rtype));
    match (current, &write.new) {
        (Some(current), Some(new)) => {
            current.is_dynamic() && !write.is_static && *current == Rrset::from_set(new, true)
        }
        (None, None) => true,
        _ => false,
    }
}

fn check_ttl(ttl: u32) -> Result<(), UpdateError> {
    if ttl == 0 || ttl > ddns_core::record::MAX_TTL {
        return Err(RecordError::BadTtl(ttl).into());
    }
    Ok(())
}

/// The current TTL of a dynamic RRset, so an address update does not reset a TTL someone set.
fn current_ttl(zone: &Zone, name: &DomainName, rtype: Rtype) -> Option<u32> {
    zone.node(&name.to_wire())
        .and_then(|n| n.rrset(rtype))
        .filter(|r| r.is_dynamic())
        .map(|r| r.ttl())
}

/// Names and types the configuration owns are not for dynamic updates.
pub(crate) fn check_reserved(
    zone: &Zone,
    name: &DomainName,
    rtype: Rtype,
) -> Result<(), UpdateError> {
    let reserved = |why| {
        Err(UpdateError::Reserved {
            name: name.clone(),
            why,
        })
    };
    let owner = name.to_wire();
    if owner.as_slice() == zone.origin_wire() && rtype == Rtype::NS {
        return reserved("the apex NS records come from the configuration");
    }
    if let Some(node) = zone.node(&owner) {
        let statics: Vec<Rtype> = node
            .rrsets()
            .iter()
            .filter(|r| !r.is_dynamic())
            .map(|r| r.rtype())
            .collect();
        if statics.contains(&rtype) {
            return reserved("the configuration defines this record type at this name");
        }
        if rtype == Rtype::CNAME && !statics.is_empty() {
            return reserved("a CNAME cannot stand beside the configured records at this name");
        }
        if statics.contains(&Rtype::CNAME) {
            return reserved("the configuration defines a CNAME at this name");
        }
        if statics.contains(&Rtype::NS) && owner.as_slice() != zone.origin_wire() {
            return reserved("the name is delegated to other name servers");
        }
    }
    if zone.has_delegations() {
        // A name below a delegation point is not ours to answer for.
        let mut at = 1 + usize::from(owner[0]);
        while owner.len() - at > zone.origin_wire().len() {
            let ancestor = &owner[at..];
            if zone
                .node(ancestor)
                .and_then(|n| n.rrset(Rtype::NS))
                .is_some()
            {
                return reserved("the name is below a delegation to other name servers");
            }
            at += 1 + usize::from(owner[at]);
        }
    }
    Ok(())
}
