//! Building snapshots: from configuration and store at start-up, and by replaying history rows.

use std::collections::HashMap;
use std::sync::Arc;

use ddns_config::ZoneConfig;
use ddns_core::snapshot::{Rrset, RrsetChange, Zone, ZoneSet, rtype};
use ddns_core::zone_text::into_changes;
use ddns_core::{DomainName, RecordSet};
use ddns_store::{HistoryRow, Store, StoreError};

/// The first snapshot of every configured zone.
pub(crate) async fn build_zone_set(
    store: &Store,
    configs: &[ZoneConfig],
) -> Result<ZoneSet, StoreError> {
    let serials: HashMap<DomainName, ddns_core::Serial> =
        store.zones().await?.into_iter().collect();
    let mut zones: HashMap<DomainName, Zone> = HashMap::new();
    for config in configs {
        let serial = serials
            .get(&config.name)
            .copied()
            .ok_or_else(|| StoreError::UnknownZone(config.name.to_string()))?;
        zones.insert(config.name.clone(), static_zone(config, serial));
    }
    let mut ignored = 0usize;
    for stored in store.all_rrsets().await? {
        let Some(zone) = zones.get_mut(&stored.zone) else {
            ignored += 1;
            continue;
        };
        apply_dynamic(
            zone,
            &stored.name,
            stored.set.data.rtype().code(),
            Some(&stored.set),
        );
    }
    if ignored > 0 {
        tracing::info!(
            ignored,
            "record sets of zones no longer configured are not served"
        );
    }
    Ok(ZoneSet::new(zones.into_values().map(Arc::new).collect()))
}

/// A zone holding its SOA, NS and the static records of the configuration.
pub(crate) fn static_zone(config: &ZoneConfig, serial: ddns_core::Serial) -> Zone {
    let mut zone = Zone::new(config.name.clone(), config.soa.clone(), serial);
    let ns_rdatas: Vec<Vec<u8>> = config.ns.iter().map(DomainName::to_wire).collect();
    let ns = Rrset::new(
        rtype::NS,
        config.soa.ttl,
        ns_rdatas.iter().map(Vec::as_slice),
        false,
    );
    let apex = RrsetChange {
        owner: config.name.to_wire().into(),
        rtype: rtype::NS,
        rrset: Some(ns),
    };
    for change in std::iter::once(apex).chain(into_changes(&config.records, false)) {
        // Config validation already checked that every record is inside the zone.
        if let Err(e) = zone.apply(change) {
            tracing::warn!(zone = %config.name, error = %e, "static record skipped");
        }
    }
    zone
}

/// Applies one dynamic RRset change unless a static RRset of that name and type takes
/// precedence.
fn apply_dynamic(zone: &mut Zone, name: &DomainName, code: u16, set: Option<&RecordSet>) {
    let owner = name.to_wire();
    let shadowed = zone
        .node(&owner)
        .and_then(|n| n.rrset(code))
        .is_some_and(|r| !r.is_dynamic());
    if shadowed {
        return;
    }
    let rrset = set.map(|s| {
        let rdatas = s.data.to_rdatas();
        Rrset::new(code, s.ttl, rdatas.iter().map(Vec::as_slice), true)
    });
    if let Err(e) = zone.apply(RrsetChange {
        owner: owner.into(),
        rtype: code,
        rrset,
    }) {
        tracing::warn!(name = %name, error = %e, "dynamic record set not served");
    }
}

/// A new zone set with `rows` applied on top of `current`.
pub(crate) fn replay(current: &ZoneSet, configs: &[ZoneConfig], rows: &[HistoryRow]) -> ZoneSet {
    let mut working: HashMap<DomainName, Zone> = HashMap::new();
    for row in rows {
        let Some(config) = configs.iter().find(|c| c.name == row.zone) else {
            continue;
        };
        let zone = working.entry(row.zone.clone()).or_insert_with(|| {
            current
                .get(&row.zone)
                .map_or_else(|| static_zone(config, row.serial), |z| Zone::clone(z))
        });
        apply_dynamic(zone, &row.name, row.rtype.code(), row.new.as_ref());
        zone.set_serial(row.serial);
    }
    let mut zones: Vec<Arc<Zone>> = current
        .zones()
        .iter()
        .filter(|z| !working.contains_key(z.origin()))
        .cloned()
        .collect();
    zones.extend(working.into_values().map(Arc::new));
    ZoneSet::new(zones)
}
