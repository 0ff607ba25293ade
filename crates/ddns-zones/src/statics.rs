//! The configuration's part of a zone: its SOA, apex NS and static records, written to the
//! store through the one write path whenever the configuration changed them, so the change is
//! a serial step in the journal and secondaries never go stale.
//!
//! Static records take precedence: a dynamic RRset of the same owner and type is replaced, and
//! dynamic data that a static CNAME (or a static record beside a dynamic CNAME) would contradict
//! is removed, each with its history row (actor `config`).
//!
//! The A/AAAA RRsets of a failover name (`[[zone.failover]]`) are static too: at start they
//! are the stored ones still among the targets, else every target (`failover.rs`); dynamic
//! A, AAAA and CNAME RRsets at the name are removed.

use std::collections::{BTreeMap, BTreeSet};

use ddns_config::ZoneConfig;
use ddns_core::zone_text::group_rrsets;
use ddns_core::{Actor, DomainName, Origin, Rdata, RecordSet, Rtype};
use ddns_store::{ChangeSet, RrsetWrite, Store, StoreError};

/// Owner and type of an RRset.
type Key = (DomainName, Rtype);

/// The static RRsets the configuration defines for `config`'s zone.
pub(crate) fn desired(config: &ZoneConfig) -> BTreeMap<Key, RecordSet> {
    let mut out = BTreeMap::new();
    let ns: Vec<Rdata> = config.ns.iter().map(Rdata::name_target).collect();
    match RecordSet::new(Rtype::NS, config.soa.ttl, ns) {
        Ok(set) => {
            out.insert((config.name.clone(), Rtype::NS), set);
        }
        Err(e) => tracing::warn!(zone = %config.name, error = %e, "apex NS not usable"),
    }
    for group in group_rrsets(&config.records) {
        let owner = ddns_core::name::wire_to_text(group.owner);
        let set = DomainName::parse(&owner)
            .map_err(|e| e.to_string())
            .and_then(|name| group.to_set().map(|s| (name, s)).map_err(|e| e.to_string()));
        match set {
            Ok((name, set)) => {
                out.insert((name, group.rtype), set);
            }
            // Config validation already checked every record; say so if one slipped through.
            Err(e) => {
                tracing::warn!(zone = %config.name, %owner, error = %e, "static record skipped")
            }
        }
    }
    out
}

/// Writes what changed in the configuration's part of the zone; a no-op when nothing did.
pub(crate) async fn sync_config(store: &Store, config: &ZoneConfig) -> Result<(), StoreError> {
    let mut wanted = desired(config);
    // Only what the configuration can touch is read (start-up reads the whole zone once, to
    // build the snapshot): the static RRsets, and whatever stands at the configured owners.
    let failover_owners: BTreeSet<&DomainName> = config.failover.iter().map(|f| &f.name).collect();
    let owners: Vec<DomainName> = wanted
        .keys()
        .map(|(n, _)| n)
        .chain(failover_owners.iter().copied())
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let owner_refs: Vec<&DomainName> = owners.iter().collect();
    let mut stored: BTreeMap<Key, (RecordSet, bool)> = BTreeMap::new();
    for part in [
        store.static_rrsets(&config.name).await?,
        store.rrsets_at(&config.name, &owner_refs).await?,
    ] {
        for r in part.rrsets {
            stored.insert((r.name, r.set.rtype()), (r.set, r.is_static));
        }
    }
    for failover in &config.failover {
        let mut served = Vec::new();
        for rtype in [Rtype::A, Rtype::AAAA] {
            if let Some((set, true)) = stored.get(&(failover.name.clone(), rtype)) {
                served.extend(set.ipv4_addrs().into_iter().map(std::net::IpAddr::from));
                served.extend(set.ipv6_addrs().into_iter().map(std::net::IpAddr::from));
            }
        }
        let members: Vec<std::net::IpAddr> = if failover.lease.is_some() {
            store
                .members(&failover.name)
                .await?
                .into_iter()
                .map(|m| m.addr)
                .collect()
        } else {
            Vec::new()
        };
        let start = crate::failover::initial_addresses(failover, &members, &served);
        let sets = crate::failover::address_sets(&start, failover.ttl)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        for (rtype, set) in sets {
            if let Some(set) = set {
                wanted.insert((failover.name.clone(), rtype), set);
            }
        }
    }
    let static_owners: BTreeSet<&DomainName> = wanted.keys().map(|(n, _)| n).collect();
    let mut writes = Vec::new();
    let static_write = |name: &DomainName, rtype, new| RrsetWrite {
        zone: config.name.clone(),
        name: name.clone(),
        rtype,
        new,
        is_static: true,
        view: None,
    };
    for ((name, rtype), set) in &wanted {
        match stored.get(&(name.clone(), *rtype)) {
            Some((s, true)) if s == set => {}
            _ => writes.push(static_write(name, *rtype, Some(set.clone()))),
        }
    }
    for ((name, rtype), (_, is_static)) in &stored {
        if *is_static && !wanted.contains_key(&(name.clone(), *rtype)) {
            writes.push(static_write(name, *rtype, None));
        }
    }
    // Dynamic data that the static records contradict (RFC 1034 §3.6.2: a CNAME stands alone).
    let static_cnames: BTreeSet<&DomainName> = wanted
        .keys()
        .filter(|(_, t)| *t == Rtype::CNAME)
        .map(|(n, _)| n)
        .collect();
    for ((name, rtype), (_, is_static)) in &stored {
        if *is_static || wanted.contains_key(&(name.clone(), *rtype)) {
            continue;
        }
        let contradicted = static_cnames.contains(name)
            || (*rtype == Rtype::CNAME && static_owners.contains(name))
            || (failover_owners.contains(name)
                && matches!(*rtype, Rtype::A | Rtype::AAAA | Rtype::CNAME));
        if contradicted {
            writes.push(RrsetWrite::dynamic(
                config.name.clone(),
                name.clone(),
                *rtype,
                None,
            ));
        }
    }
    let zone = store.zone(&config.name).await?;
    let soa_changed = zone.as_ref().and_then(|z| z.soa.as_ref()) != Some(&config.soa);
    if writes.is_empty() && !soa_changed {
        return Ok(());
    }
    let mut set = ChangeSet::new(writes, Actor::Config, Origin::default());
    set.soa.push((config.name.clone(), config.soa.clone()));
    let applied = store.apply(&set).await?;
    if let Some((_, serial)) = applied.serials.first() {
        tracing::info!(zone = %config.name, serial = serial.0, "configuration changes applied");
    }
    Ok(())
}
