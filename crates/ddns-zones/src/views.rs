//! Split-horizon views in the snapshot: each view's own RRsets of each zone (its overlay), and
//! the view's zone built from the default one with them laid over it.
//!
//! A view's zone is `Zone::clone` of the default (256 `Arc` copies) with the overlay applied
//! by [`Zone::overlay`], so it shares every shard its own records do not fall in: a view of a
//! few LAN names costs a few shards' tables, not a second zone. It is built again at each
//! publish of the zone, costing the copy of the shards the overlay touches (a shard holds
//! 1/256 of the names); a zone a view has nothing of its own in is the default's `Arc`.
//!
//! Views share the zone's SOA serial and journal: a change in any view is a serial step of the
//! zone, so every view's secondaries see it and transfer again.

use std::collections::HashMap;
use std::sync::Arc;

use ddns_config::ViewConfig;
use ddns_core::journal::RrsetDelta;
use ddns_core::snapshot::{Rrset, Views, Zone, ZoneSet};
use ddns_core::{DomainName, RecordSet};
use ddns_store::{Store, StoreError};

/// One view's own RRsets of one zone, by owner (lower-case wire).
pub(crate) type Overlay = HashMap<Box<[u8]>, Vec<Rrset>>;

/// The views a server was configured with: names in order, and the snapshot's matcher.
#[derive(Clone, Debug, Default)]
pub(crate) struct ViewNames {
    pub(crate) names: Vec<String>,
}

impl ViewNames {
    pub(crate) fn new(views: &[ViewConfig]) -> Self {
        Self {
            names: views.iter().map(|v| v.name.clone()).collect(),
        }
    }

    pub(crate) fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The snapshot's view table of `views`.
    pub(crate) fn table(views: &[ViewConfig]) -> Views {
        let keys = views
            .iter()
            .enumerate()
            .flat_map(|(i, v)| v.keys.iter().map(move |k| (k.clone(), i)))
            .collect();
        Views::new(ddns_config::views::matcher(views), keys, views.len())
    }
}

/// Sets or removes one RRset of an overlay.
fn put(
    overlay: &mut Overlay,
    owner: &DomainName,
    set: Option<&RecordSet>,
    rtype: ddns_core::Rtype,
) {
    let key: Box<[u8]> = owner.to_wire().into_boxed_slice();
    let rrsets = overlay.entry(key.clone()).or_default();
    rrsets.retain(|r| r.rtype() != rtype);
    if let Some(set) = set {
        rrsets.push(Rrset::from_set(set, true));
    }
    if rrsets.is_empty() {
        overlay.remove(&key);
    }
}

/// Every view's overlay of `origin`, as the store has it. View rows of a view no longer
/// configured are kept in the store but not served.
pub(crate) async fn load(
    store: &Store,
    origin: &DomainName,
    views: &ViewNames,
) -> Result<Vec<Overlay>, StoreError> {
    let mut overlays = vec![Overlay::new(); views.names.len()];
    if views.names.is_empty() {
        return Ok(overlays);
    }
    for row in store.zone_view_rrsets(origin).await? {
        if let Some(i) = views.index(&row.view) {
            put(&mut overlays[i], &row.name, Some(&row.set), row.set.rtype());
        }
    }
    Ok(overlays)
}

/// Applies a journaled view delta to the overlays (a view not configured here is ignored).
pub(crate) fn replay(overlays: &mut [Overlay], views: &ViewNames, delta: &RrsetDelta) {
    let Some(i) = delta.view.as_deref().and_then(|v| views.index(v)) else {
        return;
    };
    if let Some(overlay) = overlays.get_mut(i) {
        put(overlay, &delta.owner, delta.new.as_ref(), delta.rtype);
    }
}

/// Each view's zone built from `default` (`None`: the view has nothing of its own here).
pub(crate) fn view_zones(default: &Zone, overlays: &[Overlay]) -> Vec<Option<Arc<Zone>>> {
    overlays
        .iter()
        .map(|overlay| {
            if overlay.is_empty() {
                return None;
            }
            let mut zone = default.clone();
            for (owner, rrsets) in overlay {
                if let Err(e) = zone.overlay(owner, rrsets) {
                    tracing::warn!(zone = %default.origin(), error = %e, "view record set not served");
                }
            }
            Some(Arc::new(zone))
        })
        .collect()
}

/// `set` with `zone` as the default and its views built from `overlays`.
pub(crate) fn publish(set: &ZoneSet, zone: Arc<Zone>, overlays: &[Overlay]) -> ZoneSet {
    if set.view_count() == 0 {
        return set.with_zone(zone);
    }
    let views = view_zones(&zone, overlays);
    set.with_view_zones(zone, views)
}
