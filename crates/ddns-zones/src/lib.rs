//! The live zones of a server: where the store and the DNS snapshots meet.
//!
//! [`Zones`] owns the one write path. An update is authorised against the caller's token scope
//! and the static records of the configuration, committed by the store in one transaction,
//! and then the snapshot is brought up to date by replaying the store's history rows — the
//! same way changes made by other processes (the `ddns` CLI on the same data directory) are
//! picked up by a background poll. Only then does the update return, so a client's `good`
//! means the DNS answer already shows the change.
//!
//! **Architecture invariant:** DNS readers only ever call [`Zones::snapshot`]: a lock-free
//! load of an immutable [`ZoneSet`]; nothing on the query path touches the database.

mod auth;
mod build;
mod tokens;
mod update;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use ddns_config::ZoneConfig;
use ddns_core::snapshot::ZoneSet;
use ddns_core::zone_text::export_zone;
use ddns_core::{DomainName, Serial};
use ddns_store::{Store, StoreError};
use tokio_util::sync::CancellationToken;

pub use auth::{AuthError, Principal};
pub use tokens::{create_token, exact_hosts, register_hosts};
pub use update::{AddressUpdate, HostOutcome, RrsetIntent, UpdateError};

/// Rows replayed per store round trip when catching up.
const SYNC_BATCH: u32 = 10_000;

/// The served zones and their write path.
#[derive(Debug)]
pub struct Zones {
    store: Arc<Store>,
    configs: Vec<ZoneConfig>,
    live: Arc<ArcSwap<ZoneSet>>,
    /// Id of the last history row reflected in `live`; also serialises snapshot publication.
    applied: tokio::sync::Mutex<i64>,
}

impl Zones {
    /// Registers the configured zones in the store and builds their first snapshots.
    pub async fn open(store: Arc<Store>, configs: Vec<ZoneConfig>) -> Result<Self, StoreError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        for zone in &configs {
            store.ensure_zone(&zone.name, Serial::initial(now)).await?;
        }
        // Read the history position before the records: a change committed in between is
        // replayed once more, which is harmless because replay sets whole RRsets.
        let applied = store.last_history_id().await?;
        let set = build::build_zone_set(&store, &configs).await?;
        Ok(Self {
            store,
            configs,
            live: Arc::new(ArcSwap::from_pointee(set)),
            applied: tokio::sync::Mutex::new(applied),
        })
    }

    /// The current snapshot of every zone (lock-free; what the DNS path reads).
    pub fn snapshot(&self) -> Arc<ZoneSet> {
        self.live.load_full()
    }

    /// The published snapshot cell itself, for readers that load it per query.
    pub fn published(&self) -> Arc<ArcSwap<ZoneSet>> {
        Arc::clone(&self.live)
    }

    /// The configured zones.
    pub fn configs(&self) -> &[ZoneConfig] {
        &self.configs
    }

    /// The store behind these zones.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The zone configuration that `name` falls in (deepest origin wins).
    pub fn zone_of(&self, name: &DomainName) -> Option<&ZoneConfig> {
        self.configs
            .iter()
            .filter(|z| name.is_at_or_below(&z.name))
            .max_by_key(|z| z.name.label_count())
    }

    /// Brings the snapshot up to date with every committed history row.
    pub async fn sync(&self) -> Result<(), StoreError> {
        let mut applied = self.applied.lock().await;
        loop {
            let rows = self.store.history_since(*applied, SYNC_BATCH).await?;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            let last_id = last.id;
            let next = build::replay(&self.live.load(), &self.configs, &rows);
            self.live.store(Arc::new(next));
            *applied = last_id;
            if rows.len() < SYNC_BATCH as usize {
                return Ok(());
            }
        }
    }

    /// Polls the store for changes made by other processes until `stop` fires.
    pub async fn follow(&self, every: Duration, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            if let Err(e) = self.sync().await {
                tracing::warn!(error = %e, "could not read changes from the store");
            }
        }
    }

    /// The zone as RFC 1035 master-file text.
    pub fn export(&self, zone: &DomainName) -> Option<String> {
        self.snapshot().get(zone).map(|z| export_zone(z))
    }
}
