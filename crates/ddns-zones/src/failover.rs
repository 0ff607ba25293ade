//! The write side of health-checked record sets (`[[zone.failover]]`): the A/AAAA RRsets of a
//! failover name are written here only, as static RRsets (no host owns them) through the one
//! write path, by the configuration at start and by the health checker (actor `health`)
//! afterwards, so every change is a journaled serial step with its history row, replayed to
//! IXFR and announced by NOTIFY like any other.
//!
//! A failover name owns its A, AAAA (and so CNAME) RRsets even while none is stored
//! (`all_down = "answer_none"` with every target down): updates of those types are refused.

use std::net::IpAddr;

use ddns_config::FailoverConfig;
use ddns_core::snapshot::ZoneSet;
use ddns_core::{Actor, DomainName, Origin, RecordSet, Rtype};
use ddns_store::{Applied, ChangeSet, RrsetWrite};

use crate::{UpdateError, Zones};

/// The addresses of `config`'s name to serve at start: those the store holds that are still
/// targets (the last state the checker wrote survives a restart, so a restart does not bring
/// back a dead target for `fall` checks); when it holds none of them (first start, targets
/// changed, or nothing stored under `answer_none`), every target, as if all were up.
pub(crate) fn initial_addresses(config: &FailoverConfig, stored: &[IpAddr]) -> Vec<IpAddr> {
    let kept: Vec<IpAddr> = config
        .targets
        .iter()
        .copied()
        .filter(|t| stored.contains(t))
        .collect();
    if kept.is_empty() {
        config.targets.clone()
    } else {
        kept
    }
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
        if let Some(stray) = addrs.iter().find(|a| !config.targets.contains(a)) {
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
        }
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|t| t.parse().unwrap()).collect()
    }

    #[test]
    fn start_keeps_the_stored_state_of_current_targets() {
        let c = config(&["192.0.2.1", "192.0.2.2", "2001:db8::1"]);
        assert_eq!(
            initial_addresses(&c, &ips(&["192.0.2.2"])),
            ips(&["192.0.2.2"])
        );
        // A stored address that is no longer a target is dropped.
        assert_eq!(
            initial_addresses(&c, &ips(&["192.0.2.9", "2001:db8::1"])),
            ips(&["2001:db8::1"])
        );
        // Nothing of the targets stored: all of them.
        assert_eq!(initial_addresses(&c, &[]), c.targets);
        assert_eq!(initial_addresses(&c, &ips(&["192.0.2.9"])), c.targets);
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
