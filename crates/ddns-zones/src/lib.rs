//! The live zones of a server: where the store and the DNS snapshots meet.
//!
//! [`Zones`] owns the one write path. Every change — HTTP updates, the CLI (`host rm`, `host
//! rollback`, `zone import`), the configuration's static records, RFC 2136 UPDATE, later the
//! console and the health checker — is authorised here, committed by the store in one transaction
//! that also writes the zone's journal entry, and then the snapshot is brought up to date by
//! replaying each zone's journal in order: the same way changes made by other processes (the CLI on the same data
//! directory, later other nodes) are picked up by a background poll. Only then does the update
//! return, so a client's `good` means the DNS answer already shows the change.
//!
//! **Architecture invariant:** DNS readers only ever call [`Zones::snapshot`]: a lock-free
//! load of an immutable [`ZoneSet`]; nothing on the query path touches the database. Nothing
//! outside this crate writes the store's zone data.

mod auth;
mod build;
mod console;
mod failover;
mod freshness;
mod group;
mod import;
mod last_used;
mod publish;
mod reads;
mod rfc2136;
mod rollback;
mod statics;
mod token_cache;
mod tokens;
mod update;
mod views;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use ddns_config::{ViewConfig, ZoneConfig};
use ddns_core::journal::{JournalEntry, ZoneHistory};
use ddns_core::snapshot::ZoneSet;
use ddns_core::zone_text::export_zone;
use ddns_core::{DomainName, Serial};
use ddns_store::{JournalRetention, Store, StoreError};
use tokio_util::sync::CancellationToken;

pub use auth::{AuthError, Principal};
pub use console::{MAX_PASSWORD, MIN_PASSWORD, PasswordError};
pub use ddns_store::{
    AdminAction, AdminRow, AuditCursor, AuditEntry, AuditQuery, HistoryRetention, HistoryRow,
    HostFilter, HostRecord, HostSearch, TokenRecord,
};
pub use group::{COMMIT_SECONDS, COMMITTED_CHANGES};
pub use import::ImportSummary;
pub use reads::parse_since;
pub use rfc2136::{DnsUpdateError, DnsUpdateOutcome};
pub use tokens::{exact_hosts, host_filter};
pub use update::{AddressUpdate, HostOutcome, RrsetIntent, UpdateError, ViewAddresses};

/// Journal entries replayed per store round trip when catching up.
const SYNC_BATCH: u32 = 1_000;
/// How often the follower prunes the journal.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Journal steps kept in memory per zone for IXFR at most, whatever the retention says.
const MAX_HISTORY: usize = 100_000;

/// What the write path needs to know of a served zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZonePolicy {
    /// Origin.
    pub name: DomainName,
    /// TTL of dynamic records created through the update APIs.
    pub dynamic_ttl: u32,
    /// Health-checked names (`[[zone.failover]]`), whose A/AAAA RRsets only the checker writes.
    pub failover: Vec<ddns_config::FailoverConfig>,
}

/// Bounds on what callers of the write path may accumulate (the server's configuration; the
/// command line has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteLimits {
    /// Hosts a token with a subtree scope may have under its scope (`[http]
    /// max_hosts_per_token`); admin tokens and tokens of exact names only are not limited.
    pub max_hosts_per_token: u32,
    /// How much change history the periodic prune keeps (`[store] history_max_*`).
    pub history: HistoryRetention,
}

/// The served zones and their write path.
#[derive(Debug)]
pub struct Zones {
    store: Arc<Store>,
    policies: Vec<ZonePolicy>,
    live: Arc<ArcSwap<ZoneSet>>,
    /// The snapshot's publication (shares `store`, `policies` and `live`).
    publisher: Arc<publish::Publisher>,
    /// Held by every commit of this process (a group commit holds it for the whole group),
    /// and by an RFC 2136 update from reading the zone for its prerequisites until its commit,
    /// so no other writer here slips in between.
    write_lock: Arc<tokio::sync::Mutex<()>>,
    /// Changes waiting for the next group commit.
    queue: group::CommitQueue,
    /// Reads of the zones' journal positions shared by concurrent `nochg` in a cluster.
    positions: freshness::PositionReads,
    retention: JournalRetention,
    /// `None`: nothing is bounded (the command line on the data directory).
    limits: Option<WriteLimits>,
    /// Attached by the command line: no DNS listener reads these snapshots, so a zone import
    /// leaves publishing to the server instead of building the whole zone here.
    offline: bool,
    /// Tokens verified recently (`token_cache.rs`).
    token_cache: token_cache::TokenCache,
    /// When tokens were last used, waiting for the follower to write it (`last_used.rs`).
    last_used: last_used::LastUsed,
}

impl Zones {
    /// The server's zones: registers the configured zones in the store, brings their static
    /// records and SOA in line with the configuration (a change is a journaled serial step, so
    /// secondaries follow), and builds their first snapshots.
    pub async fn open(
        store: Arc<Store>,
        configs: &[ZoneConfig],
        retention: JournalRetention,
    ) -> Result<Self, StoreError> {
        Self::open_with_views(store, configs, &[], retention).await
    }

    /// [`Self::open`] with split-horizon views (`[[view]]`): each view's own RRsets are
    /// served to the clients it matches, laid over the default data.
    pub async fn open_with_views(
        store: Arc<Store>,
        configs: &[ZoneConfig],
        views: &[ViewConfig],
        retention: JournalRetention,
    ) -> Result<Self, StoreError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        for zone in configs {
            store
                .ensure_zone(&zone.name, Serial::initial(now), &zone.soa)
                .await?;
            statics::sync_config(&store, zone).await?;
        }
        let policies = configs
            .iter()
            .map(|z| ZonePolicy {
                name: z.name.clone(),
                dynamic_ttl: z.dynamic_ttl,
                failover: z.failover.clone(),
            })
            .collect();
        Self::build(store, policies, views, retention, false).await
    }

    /// The zones a data directory holds, as they are, for the command line: nothing is written
    /// at open, and the configuration's settings are not needed (dynamic TTLs at defaults).
    pub async fn attach(store: Arc<Store>) -> Result<Self, StoreError> {
        let policies = store
            .zones()
            .await?
            .into_iter()
            .map(|z| ZonePolicy {
                dynamic_ttl: ZoneConfig::defaults(&z.name).dynamic_ttl,
                name: z.name,
                failover: Vec::new(),
            })
            .collect();
        Self::build(
            store,
            policies,
            &[],
            JournalRetention {
                max_entries: u32::MAX,
                max_age_secs: u64::MAX / 4,
            },
            true,
        )
        .await
    }

    async fn build(
        store: Arc<Store>,
        policies: Vec<ZonePolicy>,
        view_configs: &[ViewConfig],
        retention: JournalRetention,
        offline: bool,
    ) -> Result<Self, StoreError> {
        let history_limit = (retention.max_entries as usize).min(MAX_HISTORY);
        let view_names = views::ViewNames::new(view_configs);
        let mut zones = Vec::with_capacity(policies.len());
        let mut applied = HashMap::new();
        let mut history = HashMap::new();
        let mut overlays = HashMap::new();
        for policy in &policies {
            let (zone, seq) = build::build_zone(&store, &policy.name).await?;
            let steps = build::recent_steps(&store, &policy.name, seq, history_limit).await?;
            overlays.insert(
                policy.name.clone(),
                views::load(&store, &policy.name, &view_names).await?,
            );
            zones.push(Arc::new(zone));
            applied.insert(policy.name.clone(), seq);
            history.insert(policy.name.clone(), steps);
        }
        let mut set = ZoneSet::new(zones.clone());
        if !view_configs.is_empty() {
            set = set.with_views(views::ViewNames::table(view_configs));
            for zone in zones {
                let own = overlays.get(zone.origin()).map_or(&[][..], Vec::as_slice);
                set = views::publish(&set, zone, own);
            }
        }
        let live = Arc::new(ArcSwap::from_pointee(set));
        let publisher = Arc::new(publish::Publisher {
            store: Arc::clone(&store),
            policies: policies.clone(),
            live: Arc::clone(&live),
            applied: tokio::sync::Mutex::new(applied),
            history: Mutex::new(history),
            history_limit,
            views: view_names.clone(),
            overlays: Mutex::new(overlays),
        });
        Ok(Self {
            store,
            policies,
            live,
            publisher,
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
            queue: group::CommitQueue::default(),
            positions: freshness::PositionReads::default(),
            retention,
            limits: None,
            offline,
            token_cache: token_cache::TokenCache::new(token_cache::CAPACITY),
            last_used: last_used::LastUsed::default(),
        })
    }

    /// The same zones with the server's write limits: host quotas on the write path and the
    /// history retention applied by [`Self::prune`].
    #[must_use]
    pub fn with_limits(mut self, limits: WriteLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Whether this process can serve (`/readyz`): the store is open and the published
    /// snapshot holds every configured zone. `Err` says what is missing.
    pub fn readiness(&self) -> Result<(), String> {
        if !self.store.is_open() {
            return Err("the store is closed".into());
        }
        let snapshot = self.live.load();
        match self
            .policies
            .iter()
            .find(|p| snapshot.get(&p.name).is_none())
        {
            Some(missing) => Err(format!("zone {} is not loaded", missing.name)),
            None => Ok(()),
        }
    }

    /// The current snapshot of every zone (lock-free; what the DNS path reads).
    pub fn snapshot(&self) -> Arc<ZoneSet> {
        self.live.load_full()
    }

    /// The published snapshot cell itself, for readers that load it per query.
    pub fn published(&self) -> Arc<ArcSwap<ZoneSet>> {
        Arc::clone(&self.live)
    }

    /// The configured view names, in order.
    pub fn view_names(&self) -> &[String] {
        &self.publisher.views.names
    }

    /// The served zones.
    pub fn policies(&self) -> &[ZonePolicy] {
        &self.policies
    }

    /// The zone that `name` falls in (deepest origin wins).
    pub fn zone_of(&self, name: &DomainName) -> Option<&ZonePolicy> {
        self.policies
            .iter()
            .filter(|z| name.is_at_or_below(&z.name))
            .max_by_key(|z| z.name.label_count())
    }

    /// Brings the snapshot up to date with every committed journal entry of every zone.
    pub async fn sync(&self) -> Result<(), StoreError> {
        self.publisher.sync_zones(|_| true).await
    }

    /// The same for the zones `wanted` picks (a commit publishes only the zones it touched).
    async fn sync_zones(&self, wanted: impl Fn(&DomainName) -> bool) -> Result<(), StoreError> {
        self.publisher.sync_zones(wanted).await
    }

    /// Follows the store for changes made by other processes and nodes (journals, tokens)
    /// until `stop` fires: woken by their commits on PostgreSQL, every `every` in any case;
    /// and keeps each zone's journal within its retention.
    pub async fn follow(&self, every: Duration, stop: CancellationToken) {
        let mut last_prune: Option<Instant> = None;
        // Since when the store has been unreachable (a restarted database server, a cut
        // network): said once, and once again when the node has caught up.
        let mut lost: Option<Instant> = None;
        // On PostgreSQL, another node's commit wakes this loop at once; the poll stays for
        // SQLite, for the CLI's processes, and for notifications lost with a connection.
        let mut listener = match self.store.listen().await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other nodes' commits; polling only");
                None
            }
        };
        loop {
            let notified = async {
                match listener.as_mut() {
                    Some(listener) => {
                        if let Err(e) = listener.changed().await {
                            tracing::debug!(error = %e, "the commit listener lost its connection");
                        }
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
                () = notified => {}
            }
            match self.sync().await {
                Ok(()) => {
                    if let Some(since) = lost.take() {
                        tracing::warn!(
                            after = ?since.elapsed(),
                            "the store is reachable again; caught up with every change committed meanwhile"
                        );
                    }
                }
                Err(e) => {
                    if lost.is_none() {
                        lost = Some(Instant::now());
                        tracing::warn!(error = %e, "could not read changes from the store; serving what was published until it is back");
                    } else {
                        tracing::debug!(error = %e, "the store is still unreachable");
                    }
                }
            }
            if let Err(e) = self.sync_tokens().await {
                tracing::warn!(error = %e, "could not read token changes from the store");
            }
            if let Err(e) = self.flush_last_used().await {
                tracing::warn!(error = %e, "could not record when tokens were last used");
            }
            if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                last_prune = Some(Instant::now());
                self.prune().await;
            }
        }
    }

    /// True when other nodes may share this store (PostgreSQL), so rate limits should be
    /// shared with them ([`Zones::exchange_rate_charges`]).
    pub fn is_clustered(&self) -> bool {
        self.store.backend() == ddns_store::Backend::Postgres
    }

    /// Hands this node's rate-limit charges to the other nodes and takes theirs (see
    /// `Store::exchange_charges`); older charges are pruned on the way.
    pub async fn exchange_rate_charges(
        &self,
        node: &str,
        charges: &[(String, u32)],
        cursor: ddns_store::ChargeCursor,
    ) -> Result<(Vec<(String, u32)>, ddns_store::ChargeCursor), StoreError> {
        self.store.exchange_charges(node, charges, cursor).await
    }

    /// Removes rate-limit charges too old to count.
    pub async fn prune_rate_charges(&self) -> Result<u64, StoreError> {
        self.store.prune_charges().await
    }

    /// Removes journal entries beyond the retention of every zone, and history rows beyond
    /// the history retention (in small batches; see `Store::prune_history`).
    pub async fn prune(&self) {
        if let Some(limits) = self.limits {
            match self.store.prune_history(limits.history).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(removed = n, "history pruned"),
                Err(e) => tracing::warn!(error = %e, "could not prune the history"),
            }
        }
        for policy in &self.policies {
            match self.store.prune_journal(&policy.name, self.retention).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(zone = %policy.name, removed = n, "journal pruned"),
                Err(e) => {
                    tracing::warn!(zone = %policy.name, error = %e, "could not prune the journal")
                }
            }
        }
    }

    /// The zone as RFC 1035 master-file text.
    pub fn export(&self, zone: &DomainName) -> Option<String> {
        self.snapshot().get(zone).map(|z| export_zone(z))
    }
}

impl ZoneHistory for Zones {
    fn steps(
        &self,
        origin: &DomainName,
        from: Serial,
        to: Serial,
    ) -> Option<Vec<Arc<JournalEntry>>> {
        self.publisher.steps(origin, from, to)
    }
}
