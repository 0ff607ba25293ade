//! The write side of health-checked record sets (`[[zone.failover]]`): the A/AAAA RRsets of a
//! failover name are written here only, as static RRsets (no host owns them) through the one
//! write path, by the configuration at start and by the health checker (actor `health`)
//! afterwards, so every change is a journaled serial step with its history row, replayed to
//! IXFR and announced by NOTIFY like any other.
//!
//! A failover name owns its A, AAAA (and so CNAME) RRsets even while none is stored
//! (`all_down = "answer_none"` with every target down): updates of those types are refused.
//! With a `lease`, an address update at the name is instead a node publishing its own
//! addresses as targets ([`Zones::publish_member`]): the node is the token, so each node
//! needs a token of its own. Its addresses are targets until it has not published them for
//! the lease; they are answered once their checks pass like any other target's.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ddns_config::FailoverConfig;
use ddns_config::failover::MAX_TARGETS;
use ddns_core::snapshot::ZoneSet;
use ddns_core::{Actor, DomainName, Origin, RecordSet, Rtype};
use ddns_store::{AdminAction, Applied, ChangeSet, Family, RrsetWrite};

use ddns_core::record::{parse_ipv4, parse_ipv6};

use crate::update::{AddressUpdate, HostOutcome, RrsetIntent};
use crate::{Principal, UpdateError, Zones};

/// The targets of `config`'s name: the configured ones, then the addresses nodes published
/// (`members`, with a lease), each once.
pub(crate) fn all_targets(config: &FailoverConfig, members: &[IpAddr]) -> Vec<IpAddr> {
    let mut out = config.targets.clone();
    for m in members {
        if !out.contains(m) {
            out.push(*m);
        }
    }
    out
}

/// The addresses of `config`'s name to serve at start: those the store holds that are still
/// targets (the last state the checker wrote survives a restart, so a restart does not bring
/// back a dead target for `fall` checks); when it holds none of them (first start, targets
/// changed, or nothing stored under `answer_none`), every target, as if all were up.
pub(crate) fn initial_addresses(
    config: &FailoverConfig,
    members: &[IpAddr],
    stored: &[IpAddr],
) -> Vec<IpAddr> {
    let targets = all_targets(config, members);
    let kept: Vec<IpAddr> = targets
        .iter()
        .copied()
        .filter(|t| stored.contains(t))
        .collect();
    if kept.is_empty() { targets } else { kept }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX)
}

/// The A and AAAA RRsets serving `addrs` at `ttl` (`None`: no address of that family).
pub(crate) fn address_sets(
    addrs: &[IpAddr],
    ttl: u32,
) -> Result<[(Rtype, Option<RecordSet>); 2], UpdateError> {
    let v4: Vec<_> = addrs
        .iter()
        .filter_map(|a| match a {
            IpAddr::V4(a) => Some(*a),
            IpAddr::V6(_) => None,
        })
        .collect();
    let v6: Vec<_> = addrs
        .iter()
        .filter_map(|a| match a {
            IpAddr::V6(a) => Some(*a),
            IpAddr::V4(_) => None,
        })
        .collect();
    let a = if v4.is_empty() {
        None
    } else {
        Some(RecordSet::ipv4(ttl, &v4)?)
    };
    let aaaa = if v6.is_empty() {
        None
    } else {
        Some(RecordSet::ipv6(ttl, &v6)?)
    };
    Ok([(Rtype::A, a), (Rtype::AAAA, aaaa)])
}

/// The addresses a snapshot serves at `name` (A and AAAA).
pub(crate) fn served_addresses(
    snapshot: &ZoneSet,
    zone: &DomainName,
    name: &DomainName,
) -> Vec<IpAddr> {
    let Some(node) = snapshot.get(zone).and_then(|z| z.node(&name.to_wire())) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for rrset in node.rrsets() {
        for rdata in rrset.rdatas() {
            match (rrset.rtype(), rdata.len()) {
                (Rtype::A, 4) => {
                    out.push(IpAddr::from(<[u8; 4]>::try_from(rdata).unwrap_or_default()))
                }
                (Rtype::AAAA, 16) => {
                    out.push(IpAddr::from(
                        <[u8; 16]>::try_from(rdata).unwrap_or_default(),
                    ));
                }
                _ => {}
            }
        }
    }
    out
}

impl Zones {
    /// The failover name `name` if nodes publish into it (it has a lease).
    pub(crate) fn leased_failover(&self, name: &DomainName) -> Option<&FailoverConfig> {
        self.failover_config(name)
            .map(|(_, f)| f)
            .filter(|f| f.lease.is_some())
    }

    /// The configured failover name `name`, with its zone.
    fn failover_config(&self, name: &DomainName) -> Option<(&DomainName, &FailoverConfig)> {
        self.policies.iter().find_map(|p| {
            p.failover
                .iter()
                .find(|f| &f.name == name)
                .map(|f| (&p.name, f))
        })
    }

    /// Refuses dynamic writes of the types a failover name owns.
    pub(crate) fn check_failover(
        &self,
        name: &DomainName,
        rtype: Rtype,
    ) -> Result<(), UpdateError> {
        if matches!(rtype, Rtype::A | Rtype::AAAA | Rtype::CNAME)
            && self.failover_config(name).is_some()
        {
            return Err(UpdateError::Reserved {
                name: name.clone(),
                why: "its addresses come from the health checks of a [[zone.failover]] entry",
            });
        }
        Ok(())
    }

    /// The addresses the published snapshot serves at the failover name `name` (the checker
    /// starts from them).
    pub fn failover_addresses(&self, name: &DomainName) -> Vec<IpAddr> {
        match self.failover_config(name) {
            Some((zone, _)) => served_addresses(&self.snapshot(), zone, name),
            None => Vec::new(),
        }
    }

    /// Serves exactly `addrs` (targets of the failover name `name`; empty: no address) as its
    /// A/AAAA records, committed through the group commit as actor `health`: one serial step,
    /// journal entry and history row per changed RRset, or nothing when the snapshot already
    /// serves them.
    pub async fn update_failover(
        &self,
        name: &DomainName,
        addrs: &[IpAddr],
    ) -> Result<Applied, UpdateError> {
        let Some((zone, config)) = self.failover_config(name) else {
            return Err(UpdateError::NotServed(name.clone()));
        };
        let targets = self.failover_targets(name).await?;
        if let Some(stray) = addrs.iter().find(|a| !targets.contains(a)) {
            return Err(UpdateError::Conflict(format!(
                "{stray} is not a target of the failover name {name}"
            )));
        }
        let snapshot = self.snapshot();
        let current = snapshot.get(zone).and_then(|z| z.node(&name.to_wire()));
        let mut writes = Vec::with_capacity(2);
        for (rtype, new) in address_sets(addrs, config.ttl)? {
            let now = current.and_then(|n| n.rrset(rtype));
            let same = match (now, &new) {
                (None, None) => true,
                (Some(now), Some(new)) => {
                    !now.is_dynamic() && *now == ddns_core::snapshot::Rrset::from_set(new, false)
                }
                _ => false,
            };
            if !same {
                writes.push(RrsetWrite {
                    zone: zone.clone(),
                    name: name.clone(),
                    rtype,
                    new,
                    is_static: true,
                    view: None,
                });
            }
        }
        if writes.is_empty() {
            return Ok(Applied::default());
        }
        self.commit(ChangeSet::new(writes, Actor::Health, Origin::default()))
            .await
    }

    /// The targets of the failover name `name` now: the configured ones and, with a lease,
    /// the addresses nodes published within it. Addresses whose lease ran out are removed
    /// first (one audit row `failover.expire` per node, actor `health`).
    pub async fn failover_targets(&self, name: &DomainName) -> Result<Vec<IpAddr>, UpdateError> {
        let Some((_, config)) = self.failover_config(name) else {
            return Err(UpdateError::NotServed(name.clone()));
        };
        let Some(lease) = config.lease else {
            return Ok(config.targets.clone());
        };
        let mut members = self.store.members(name).await?;
        let oldest = now_ms().saturating_sub(lease_ms(lease));
        if members.iter().any(|m| m.seen_ms < oldest) {
            let gone = self
                .store
                .expire_members(name, oldest, |node, addrs| {
                    let mut action =
                        AdminAction::new(Actor::Health, "failover.expire", name.to_string());
                    action.detail = Some(format!("node {node}: {}", addr_list(addrs)));
                    action
                })
                .await?;
            for m in &gone {
                tracing::info!(%name, node = %m.node, addr = %m.addr, "lease ran out: no longer a target");
            }
            members.retain(|m| m.seen_ms >= oldest);
        }
        let addrs: Vec<IpAddr> = members.into_iter().map(|m| m.addr).collect();
        Ok(all_targets(config, &addrs))
    }

    /// A write of A/AAAA record sets only, all at one leased failover name and in no view (REST
    /// `/update`, API v1), as the address update of a node publishing into it; `None` for
    /// every other write.
    pub(crate) fn member_update(
        &self,
        intents: &[RrsetIntent],
    ) -> Option<Result<AddressUpdate, UpdateError>> {
        let name = &intents.first()?.name;
        let only_addresses = intents.iter().all(|i| {
            &i.name == name && i.view.is_none() && matches!(i.rtype, Rtype::A | Rtype::AAAA)
        });
        if !only_addresses || self.leased_failover(name).is_none() {
            return None;
        }
        let mut update = AddressUpdate {
            names: vec![name.clone()],
            ipv4: None,
            ipv6: None,
            offline: false,
            ttl: None,
            views: Vec::new(),
        };
        for intent in intents {
            let values = intent.values.as_deref().unwrap_or_default();
            let parsed = if intent.rtype == Rtype::A {
                values
                    .iter()
                    .map(|v| parse_ipv4(v))
                    .collect::<Result<Vec<_>, _>>()
                    .map(|v| update.ipv4 = Some(v))
            } else {
                values
                    .iter()
                    .map(|v| parse_ipv6(v))
                    .collect::<Result<Vec<_>, _>>()
                    .map(|v| update.ipv6 = Some(v))
            };
            if let Err(e) = parsed {
                return Some(Err(e.into()));
            }
        }
        Some(Ok(update))
    }

    /// A node publishing its own addresses into the leased failover name `update.names[0]`
    /// (an address update naming it alone): its addresses of each family given replace the
    /// ones it published before (`offline`: all of them), and its lease starts again. The
    /// node is the token. Answered once committed; DNS serves the addresses once their health
    /// checks pass (`rise`).
    pub(crate) async fn publish_member(
        &self,
        principal: &Principal,
        update: &AddressUpdate,
        origin: Origin,
    ) -> Result<HostOutcome, UpdateError> {
        let [name] = update.names.as_slice() else {
            let name = update
                .names
                .iter()
                .find(|n| self.leased_failover(n).is_some())
                .unwrap_or(&update.names[0]);
            return Err(UpdateError::Conflict(format!(
                "{name} is a failover set that nodes publish into: update it alone, not with other names"
            )));
        };
        self.authorize(principal, &update.names)?;
        let (v4, v6) = if update.offline {
            (Some(Vec::new()), Some(Vec::new()))
        } else {
            (update.ipv4.clone(), update.ipv6.clone())
        };
        let mut families: Vec<(Family, Vec<IpAddr>)> = Vec::with_capacity(2);
        if let Some(v4) = &v4 {
            self.authorize_type(principal, name, Rtype::A)?;
            families.push((Family::V4, v4.iter().map(|a| IpAddr::V4(*a)).collect()));
        }
        if let Some(v6) = &v6 {
            self.authorize_type(principal, name, Rtype::AAAA)?;
            families.push((Family::V6, v6.iter().map(|a| IpAddr::V6(*a)).collect()));
        }
        for (_, addrs) in &families {
            if let Some(bad) = addrs
                .iter()
                .find(|a| a.is_unspecified() || a.is_multicast())
            {
                return Err(UpdateError::Conflict(format!(
                    "{bad} cannot be a target (unspecified or multicast)"
                )));
            }
        }
        let node = node_of(principal);
        // The set stays answerable in one UDP message: the other nodes' addresses and the
        // configured ones, plus this node's new ones.
        let members = self.store.members(name).await?;
        let others = members.iter().filter(|m| m.node != node).map(|m| m.addr);
        let own_kept = members
            .iter()
            .filter(|m| m.node == node && !families.iter().any(|(f, _)| family_of(&m.addr) == *f))
            .map(|m| m.addr);
        let new = families.iter().flat_map(|(_, a)| a.iter().copied());
        let Some(config) = self.leased_failover(name) else {
            return Err(UpdateError::NotServed(name.clone()));
        };
        let mut total = config.targets.clone();
        for a in others.chain(own_kept).chain(new) {
            if !total.contains(&a) {
                total.push(a);
            }
        }
        if total.len() > MAX_TARGETS {
            return Err(UpdateError::Conflict(format!(
                "{name} would have more than {MAX_TARGETS} targets"
            )));
        }
        let published: Vec<IpAddr> = families
            .iter()
            .flat_map(|(_, a)| a.iter().copied())
            .collect();
        let mut action = AdminAction::new(principal.actor(), "failover.publish", name.to_string());
        action.origin = origin;
        action.detail = Some(format!("node {node}: {}", addr_list(&published)));
        let changed = self
            .store
            .publish_member(name, &node, &families, now_ms(), &action)
            .await?;
        Ok(HostOutcome {
            name: name.clone(),
            changed,
            ipv4: v4.unwrap_or_default(),
            ipv6: v6.unwrap_or_default(),
        })
    }
}

/// The node a principal publishes as: its token (the operator at the command line: `cli`).
fn node_of(principal: &Principal) -> String {
    if principal.token_id.is_empty() {
        "cli".to_owned()
    } else {
        principal.token_id.clone()
    }
}

fn family_of(addr: &IpAddr) -> Family {
    match addr {
        IpAddr::V4(_) => Family::V4,
        IpAddr::V6(_) => Family::V6,
    }
}

fn addr_list(addrs: &[IpAddr]) -> String {
    if addrs.is_empty() {
        return "none".to_owned();
    }
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(targets: &[&str]) -> FailoverConfig {
        FailoverConfig {
            name: DomainName::parse("files.example.com").unwrap(),
            targets: targets.iter().map(|t| t.parse().unwrap()).collect(),
            check: ddns_config::HealthCheck::default(),
            all_down: ddns_config::AllDown::AnswerAll,
            ttl: 60,
            lease: None,
        }
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|t| t.parse().unwrap()).collect()
    }

    #[test]
    fn start_keeps_the_stored_state_of_current_targets() {
        let c = config(&["192.0.2.1", "192.0.2.2", "2001:db8::1"]);
        assert_eq!(
            initial_addresses(&c, &[], &ips(&["192.0.2.2"])),
            ips(&["192.0.2.2"])
        );
        // A stored address that is no longer a target is dropped.
        assert_eq!(
            initial_addresses(&c, &[], &ips(&["192.0.2.9", "2001:db8::1"])),
            ips(&["2001:db8::1"])
        );
        // Nothing of the targets stored: all of them.
        assert_eq!(initial_addresses(&c, &[], &[]), c.targets);
        assert_eq!(initial_addresses(&c, &[], &ips(&["192.0.2.9"])), c.targets);
        // Addresses nodes published are targets too.
        assert_eq!(
            initial_addresses(&c, &ips(&["192.0.2.9"]), &ips(&["192.0.2.9"])),
            ips(&["192.0.2.9"])
        );
        assert_eq!(
            initial_addresses(&c, &ips(&["192.0.2.9", "192.0.2.1"]), &[]),
            ips(&["192.0.2.1", "192.0.2.2", "2001:db8::1", "192.0.2.9"])
        );
    }

    #[test]
    fn addresses_split_into_a_and_aaaa() {
        let [(a, v4), (aaaa, v6)] =
            address_sets(&ips(&["192.0.2.2", "2001:db8::1", "192.0.2.1"]), 30).unwrap();
        assert_eq!((a, aaaa), (Rtype::A, Rtype::AAAA));
        assert_eq!(v4.unwrap().values(), vec!["192.0.2.1", "192.0.2.2"]);
        assert_eq!(v6.unwrap().values(), vec!["2001:db8::1"]);
        let [(_, v4), (_, v6)] = address_sets(&[], 30).unwrap();
        assert!(v4.is_none() && v6.is_none());
    }
}
