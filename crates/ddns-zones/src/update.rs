//! The authorised write path: check every name, commit, publish, then answer.

use std::net::{Ipv4Addr, Ipv6Addr};

use ddns_core::record::RecordError;
use ddns_core::snapshot::{Zone, rtype};
use ddns_core::{DomainName, Origin, RecordData, RecordSet, RecordType};
use ddns_store::{Applied, ChangeSet, RrsetWrite, StoreError};

use crate::{Principal, Zones};

/// Set or remove one RRset (REST API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RrsetIntent {
    /// Owner.
    pub name: DomainName,
    /// Type.
    pub rtype: RecordType,
    /// New values, or `None` to remove the RRset.
    pub data: Option<RecordData>,
    /// TTL; `None` keeps the current one, or uses the zone's dynamic TTL for a new RRset.
    pub ttl: Option<u32>,
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

/// Why an update was refused or failed. Nothing changed in every case but `Store` errors
/// raised after the commit (then the change is durable and the snapshot catches up later).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// No configured zone contains the name.
    #[error("{0} is not in a zone served here")]
    NotServed(DomainName),
    /// The token may not change the name.
    #[error("this token may not change {0}")]
    OutOfScope(DomainName),
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
            other => Self::Store(other),
        }
    }
}

impl Zones {
    /// Checks that every name is served here and permitted to the caller; all or nothing.
    pub fn authorize(
        &self,
        principal: &Principal,
        names: &[DomainName],
    ) -> Result<(), UpdateError> {
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

    /// Sets or removes the A/AAAA records of several hosts in one transaction.
    pub async fn update_addresses(
        &self,
        principal: &Principal,
        update: &AddressUpdate,
        origin: Origin,
    ) -> Result<Vec<HostOutcome>, UpdateError> {
        self.authorize(principal, &update.names)?;
        let snapshot = self.snapshot();
        let mut writes = Vec::new();
        let mut sets = Vec::new();
        for name in &update.names {
            let zone_config = self
                .zone_of(name)
                .ok_or_else(|| UpdateError::NotServed(name.clone()))?;
            let zone = snapshot.get(&zone_config.name);
            let mut host_sets = (Vec::new(), Vec::new());
            let families: [(RecordType, Option<RecordData>); 2] = if update.offline {
                [(RecordType::A, None), (RecordType::Aaaa, None)]
            } else {
                [
                    (RecordType::A, update.ipv4.clone().map(RecordData::A)),
                    (RecordType::Aaaa, update.ipv6.clone().map(RecordData::Aaaa)),
                ]
            };
            for (rtype, data) in families {
                let touched = update.offline || data.is_some();
                if !touched {
                    continue;
                }
                if let Some(zone) = zone {
                    check_reserved(zone, name, rtype)?;
                }
                let new = match data {
                    Some(data) => {
                        let data = RecordData::parse(data.rtype(), &data.to_strings())?;
                        match &data {
                            RecordData::A(v) => host_sets.0.clone_from(v),
                            RecordData::Aaaa(v) => host_sets.1.clone_from(v),
                            _ => {}
                        }
                        let ttl = update
                            .ttl
                            .or_else(|| zone.and_then(|z| current_ttl(z, name, rtype)))
                            .unwrap_or(zone_config.dynamic_ttl);
                        Some(RecordSet::new(ttl, data)?)
                    }
                    None => None,
                };
                writes.push(RrsetWrite {
                    zone: zone_config.name.clone(),
                    name: name.clone(),
                    rtype,
                    new,
                });
            }
            sets.push(host_sets);
        }
        let applied = self
            .commit(ChangeSet::new(writes.clone(), principal.actor(), origin))
            .await?;
        Ok(update
            .names
            .iter()
            .zip(sets)
            .map(|(name, (ipv4, ipv6))| HostOutcome {
                name: name.clone(),
                changed: writes
                    .iter()
                    .zip(&applied.changed)
                    .any(|(w, changed)| *changed && &w.name == name),
                ipv4,
                ipv6,
            })
            .collect())
    }

    /// Sets or removes RRsets (REST API), optionally guarded by the host's version.
    pub async fn update_rrsets(
        &self,
        principal: &Principal,
        intents: &[RrsetIntent],
        if_match: Option<(DomainName, i64)>,
        origin: Origin,
    ) -> Result<Applied, UpdateError> {
        let names: Vec<DomainName> = intents.iter().map(|i| i.name.clone()).collect();
        self.authorize(principal, &names)?;
        let snapshot = self.snapshot();
        let mut writes = Vec::new();
        for intent in intents {
            let zone_config = self
                .zone_of(&intent.name)
                .ok_or_else(|| UpdateError::NotServed(intent.name.clone()))?;
            let zone = snapshot.get(&zone_config.name);
            if let Some(zone) = zone {
                check_reserved(zone, &intent.name, intent.rtype)?;
            }
            let new = match &intent.data {
                Some(data) => {
                    let ttl = intent
                        .ttl
                        .or_else(|| zone.and_then(|z| current_ttl(z, &intent.name, intent.rtype)))
                        .unwrap_or(zone_config.dynamic_ttl);
                    Some(RecordSet::new(ttl, data.clone())?)
                }
                None => None,
            };
            writes.push(RrsetWrite {
                zone: zone_config.name.clone(),
                name: intent.name.clone(),
                rtype: intent.rtype,
                new,
            });
        }
        let mut set = ChangeSet::new(writes, principal.actor(), origin);
        set.if_match = if_match.into_iter().collect();
        self.commit(set).await
    }

    /// Registers hosts (without records) so exact-scope tokens can find them.
    pub async fn register_hosts(
        &self,
        names: &[DomainName],
        actor: ddns_core::Actor,
    ) -> Result<(), UpdateError> {
        crate::tokens::register_hosts(&self.store, names, actor).await
    }

    /// Deletes a host and all its records.
    pub async fn delete_host(
        &self,
        principal: &Principal,
        name: &DomainName,
        if_match: Option<i64>,
        origin: Origin,
    ) -> Result<Applied, UpdateError> {
        self.authorize(principal, std::slice::from_ref(name))?;
        let mut set = ChangeSet::new(Vec::new(), principal.actor(), origin);
        set.delete_hosts = vec![name.clone()];
        set.if_match = if_match.map(|v| (name.clone(), v)).into_iter().collect();
        self.commit(set).await
    }

    /// Commits, then waits until the snapshot shows the change.
    async fn commit(&self, set: ChangeSet) -> Result<Applied, UpdateError> {
        let applied = self.store.apply(&set).await?;
        if applied.any_change() {
            self.sync().await?;
        }
        Ok(applied)
    }
}

/// The current TTL of a dynamic RRset, so an address update does not reset a TTL someone set.
fn current_ttl(zone: &Zone, name: &DomainName, rtype: RecordType) -> Option<u32> {
    zone.node(&name.to_wire())
        .and_then(|n| n.rrset(rtype.code()))
        .filter(|r| r.is_dynamic())
        .map(|r| r.ttl())
}

/// Names and types the configuration owns are not for dynamic updates.
fn check_reserved(zone: &Zone, name: &DomainName, rtype: RecordType) -> Result<(), UpdateError> {
    let reserved = |why| {
        Err(UpdateError::Reserved {
            name: name.clone(),
            why,
        })
    };
    let owner = name.to_wire();
    if let Some(node) = zone.node(&owner) {
        let statics: Vec<u16> = node
            .rrsets()
            .iter()
            .filter(|r| !r.is_dynamic())
            .map(|r| r.rtype())
            .collect();
        if statics.contains(&rtype.code()) {
            return reserved("the configuration defines this record type at this name");
        }
        if rtype == RecordType::Cname && !statics.is_empty() {
            return reserved("a CNAME cannot stand beside the configured records at this name");
        }
        if statics.contains(&rtype::CNAME) {
            return reserved("the configuration defines a CNAME at this name");
        }
        if statics.contains(&rtype::NS) && owner.as_slice() != zone.origin_wire() {
            return reserved("the name is delegated to other name servers");
        }
    }
    if zone.has_delegations() {
        // A name below a delegation point is not ours to answer for.
        let mut labels = name.labels();
        labels.next();
        let mut ancestor: Vec<&str> = labels.collect();
        while ancestor.len() > zone.origin_labels() {
            let text = ancestor.join(".");
            if let Ok(parent) = DomainName::parse(&text)
                && zone
                    .node(&parent.to_wire())
                    .and_then(|n| n.rrset(rtype::NS))
                    .is_some()
            {
                return reserved("the name is below a delegation to other name servers");
            }
            ancestor.remove(0);
        }
    }
    Ok(())
}
