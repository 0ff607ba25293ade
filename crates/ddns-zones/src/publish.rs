//! Publication: the live snapshot of every zone, brought up to date by replaying each zone's
//! journal in order, and the replayed steps kept for IXFR.
//!
//! Kept apart from [`crate::Zones`] behind an `Arc` so a group commit can run as a task of its
//! own (it must finish and answer every request in it even when the request that started it
//! goes away).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use ddns_core::journal::JournalEntry;
use ddns_core::snapshot::{Zone, ZoneSet};
use ddns_core::{DomainName, Serial};
use ddns_store::{Store, StoreError};

use crate::views::{self, Overlay, ViewNames};
use crate::{SYNC_BATCH, ZonePolicy, build};

#[derive(Debug)]
pub(crate) struct Publisher {
    pub(crate) store: Arc<Store>,
    pub(crate) policies: Vec<ZonePolicy>,
    pub(crate) live: Arc<ArcSwap<ZoneSet>>,
    /// Journal position of each zone reflected in `live`; also serialises publication.
    pub(crate) applied: tokio::sync::Mutex<HashMap<DomainName, i64>>,
    /// The journal steps replayed since the last reload of each zone, newest last, for IXFR.
    pub(crate) history: Mutex<HashMap<DomainName, VecDeque<Arc<JournalEntry>>>>,
    pub(crate) history_limit: usize,
    /// The configured views, and each zone's overlay per view (changed only under `applied`).
    pub(crate) views: ViewNames,
    pub(crate) overlays: Mutex<HashMap<DomainName, Vec<Overlay>>>,
}

impl Publisher {
    /// The same for the zones `wanted` picks (a commit publishes only the zones it touched).
    /// The journal position of `zone` that its published snapshot has reached.
    pub(crate) async fn applied_seq(&self, zone: &DomainName) -> Option<i64> {
        self.applied.lock().await.get(zone).copied()
    }

    pub(crate) async fn sync_zones(
        &self,
        wanted: impl Fn(&DomainName) -> bool,
    ) -> Result<(), StoreError> {
        let mut applied = self.applied.lock().await;
        for policy in self.policies.iter().filter(|p| wanted(&p.name)) {
            let seq = applied.get(&policy.name).copied().unwrap_or(0);
            let Some(current) = self.live.load().get(&policy.name).cloned() else {
                continue;
            };
            let mut overlays = self.overlays_of(&policy.name);
            let (zone, seq) = self
                .catch_up(&policy.name, current, seq, &mut overlays)
                .await?;
            if let Some(zone) = zone {
                let next = views::publish(&self.live.load(), Arc::new(zone), &overlays);
                self.live.store(Arc::new(next));
            }
            self.overlays
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(policy.name.clone(), overlays);
            applied.insert(policy.name.clone(), seq);
        }
        Ok(())
    }

    /// Replays `origin`'s journal after `seq` onto `current`; `None` when nothing was new.
    async fn catch_up(
        &self,
        origin: &DomainName,
        current: Arc<Zone>,
        mut seq: i64,
        overlays: &mut Vec<Overlay>,
    ) -> Result<(Option<Zone>, i64), StoreError> {
        let mut working: Option<Zone> = None;
        loop {
            let rows = self.store.journal_since(origin, seq, SYNC_BATCH).await?;
            let Some(first) = rows.first() else {
                return Ok((working, seq));
            };
            let full = rows.len() == SYNC_BATCH as usize;
            if first.seq != seq + 1 {
                // Entries this follower never saw were pruned: start again from the records.
                tracing::info!(zone = %origin, from = seq, to = first.seq, "journal gap; rebuilding the zone");
                self.forget(origin);
                let (zone, at) = build::build_zone(&self.store, origin).await?;
                *overlays = views::load(&self.store, origin, &self.views).await?;
                working = Some(zone);
                seq = at;
                continue;
            }
            let zone = working.get_or_insert_with(|| Zone::clone(&current));
            for row in rows {
                match row.entry {
                    Ok(entry) if !entry.reload => {
                        build::replay(zone, origin, &entry);
                        for delta in entry.deltas.iter().filter(|d| d.view.is_some()) {
                            views::replay(overlays, &self.views, delta);
                        }
                        seq = row.seq;
                        self.remember(origin, entry);
                    }
                    outcome => {
                        if let Err(e) = outcome {
                            tracing::error!(zone = %origin, seq = row.seq, error = %e, "journal entry cannot be read; rebuilding the zone from its records");
                        }
                        self.forget(origin);
                        let (rebuilt, at) = build::build_zone(&self.store, origin).await?;
                        *overlays = views::load(&self.store, origin, &self.views).await?;
                        *zone = rebuilt;
                        // A rebuilt zone is at least at this entry; later ones are replayed.
                        seq = at.max(row.seq);
                        break;
                    }
                }
            }
            if !full {
                return Ok((working, seq));
            }
        }
    }

    /// View `view`'s own RRset of `name` and `rtype` in zone `origin`, as last published.
    pub(crate) fn view_rrset(
        &self,
        origin: &DomainName,
        view: &str,
        name: &DomainName,
        rtype: ddns_core::Rtype,
    ) -> Option<ddns_core::snapshot::Rrset> {
        let index = self.views.index(view)?;
        let overlays = self.overlays.lock().unwrap_or_else(PoisonError::into_inner);
        overlays
            .get(origin)?
            .get(index)?
            .get(&*name.to_wire())?
            .iter()
            .find(|r| r.rtype() == rtype)
            .cloned()
    }

    /// The overlays of `origin` as last published (empty ones for every view at first).
    fn overlays_of(&self, origin: &DomainName) -> Vec<Overlay> {
        self.overlays
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(origin)
            .cloned()
            .unwrap_or_else(|| vec![Overlay::new(); self.views.names.len()])
    }

    /// Keeps a replayed step for IXFR.
    fn remember(&self, origin: &DomainName, entry: JournalEntry) {
        let mut history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        let steps = history.entry(origin.clone()).or_default();
        steps.push_back(Arc::new(entry));
        while steps.len() > self.history_limit {
            steps.pop_front();
        }
    }

    /// The zone was rebuilt: no step before it can be served incrementally.
    pub(crate) fn forget(&self, origin: &DomainName) {
        let mut history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(steps) = history.get_mut(origin) {
            steps.clear();
        }
    }

    /// The replayed steps of `origin` from serial `from` to `to`, when known.
    pub(crate) fn steps(
        &self,
        origin: &DomainName,
        from: Serial,
        to: Serial,
    ) -> Option<Vec<Arc<JournalEntry>>> {
        let history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        build::chain(history.get(origin)?, from, to)
    }
}
