//! Building snapshots: a whole zone from the store's records, and journal entries replayed on
//! top of a snapshot.

use std::collections::VecDeque;
use std::sync::Arc;

use ddns_config::ZoneConfig;
use ddns_core::journal::JournalEntry;
use ddns_core::snapshot::{Rrset, RrsetChange, SoaParams, Zone};
use ddns_core::{DomainName, Serial};
use ddns_store::{Store, StoreError};

/// The zone as the store has it, and the journal position it reflects.
pub(crate) async fn build_zone(
    store: &Store,
    origin: &DomainName,
) -> Result<(Zone, i64), StoreError> {
    // The zone row first: a change committed before the records are read is replayed once
    // more, which is harmless because replay sets whole RRsets.
    let row = store
        .zone(origin)
        .await?
        .ok_or_else(|| StoreError::UnknownZone(origin.to_string()))?;
    let soa = row.soa.unwrap_or_else(|| ZoneConfig::defaults(origin).soa);
    let mut zone = Zone::new(origin.clone(), soa, row.serial);
    let records = store.zone_rrsets(origin).await?;
    if !records.skipped.is_empty() {
        tracing::error!(
            zone = %origin,
            skipped = records.skipped.len(),
            first = %records.skipped[0],
            "stored record sets that cannot be read are not served"
        );
    }
    for stored in records.rrsets {
        let change = RrsetChange {
            owner: stored.name.to_wire().into(),
            rtype: stored.set.rtype(),
            rrset: Some(Rrset::from_set(&stored.set, !stored.is_static)),
        };
        if let Err(e) = zone.apply(change) {
            tracing::warn!(zone = %origin, name = %stored.name, error = %e, "record set not served");
        }
    }
    Ok((zone, row.journal_seq))
}

/// Applies one journal entry (not a reload) to `zone`.
pub(crate) fn replay(zone: &mut Zone, origin: &DomainName, entry: &JournalEntry) {
    // A view's own RRsets go to its overlay (`views.rs`), never to the default data.
    for delta in entry.deltas.iter().filter(|d| d.view.is_none()) {
        let change = RrsetChange {
            owner: delta.owner.to_wire().into(),
            rtype: delta.rtype,
            rrset: delta
                .new
                .as_ref()
                .map(|set| Rrset::from_set(set, !delta.is_static)),
        };
        if let Err(e) = zone.apply(change) {
            tracing::warn!(zone = %origin, name = %delta.owner, error = %e, "journaled change not served");
        }
    }
    match SoaParams::from_rdata(&entry.soa_after.rdata, entry.soa_after.ttl) {
        Some((soa, serial)) => zone.set_soa(soa, serial),
        None => zone.set_serial(entry.serial_after),
    }
}

/// The journal steps after the zone's last reload, up to `limit` of them and up to `seq`, so
/// IXFR can serve secondaries that were in step before a restart.
pub(crate) async fn recent_steps(
    store: &Store,
    origin: &DomainName,
    seq: i64,
    limit: usize,
) -> Result<VecDeque<Arc<JournalEntry>>, StoreError> {
    let mut steps = VecDeque::new();
    let mut after = seq
        .saturating_sub(i64::try_from(limit).unwrap_or(i64::MAX))
        .max(0);
    while after < seq {
        let rows = store.journal_since(origin, after, 1_000).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            if row.seq > seq {
                return Ok(steps);
            }
            after = row.seq;
            match row.entry {
                Ok(entry) if !entry.reload => steps.push_back(Arc::new(entry)),
                _ => steps.clear(),
            }
        }
    }
    while steps.len() > limit {
        steps.pop_front();
    }
    Ok(steps)
}

/// The consecutive steps leading from serial `from` to serial `to`; `None` when `steps` does
/// not hold them all.
pub(crate) fn chain(
    steps: &VecDeque<Arc<JournalEntry>>,
    from: Serial,
    to: Serial,
) -> Option<Vec<Arc<JournalEntry>>> {
    // The latest step starting at `from`: serials can repeat only after a wrap.
    let start = steps.iter().rposition(|s| s.serial_before == from)?;
    let mut out = Vec::new();
    let mut at = from;
    for step in steps.iter().skip(start) {
        if step.serial_before != at {
            return None;
        }
        out.push(Arc::clone(step));
        at = step.serial_after;
        if at == to {
            return Some(out);
        }
    }
    None
}
