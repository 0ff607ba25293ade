//! The one write path of the store: change sets applied in a single transaction with their
//! history rows and, per zone they touch, one journal entry and one serial step.
//!
//! Several change sets can share one transaction (group commit): each runs inside its own
//! savepoint, so one that fails is undone alone and gets its own error while the others commit;
//! the group then takes one serial step per zone, whose journal entry holds the net change of
//! every set that succeeded, and costs one fsync.
//!
//! The common set — address updates of hosts that exist — takes a shorter way: its owners are
//! read once each, every check runs in memory before the first write, so it needs no savepoint,
//! and its history rows join the group's, written in a few multi-row inserts at the end. Each
//! statement is a round trip to SQLite's worker thread, and at group sizes of a few hundred
//! sets those round trips, not the fsync, bound the rate of changes.

use std::collections::{BTreeMap, BTreeSet};

use ddns_core::journal::{JournalEntry, RrsetDelta, SoaRecord};
use ddns_core::snapshot::SoaParams;
use ddns_core::{Actor, DomainName, Origin, RecordSet, Rtype, Serial};
use sqlx::{AnyConnection, Executor, Row};

use crate::audit::{AdminAction, write_action};
use crate::hosts::{HostQuota, filter_sql};
use crate::views;
use crate::{
    Store, StoreError, ip_from_db, name_from_db, now_text, rtype_from_db, serial_from_db,
    set_from_db,
};

/// Set (or, with `new == None`, remove) one RRset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RrsetWrite {
    /// The zone the owner is in (must exist in the database).
    pub zone: DomainName,
    /// The owner.
    pub name: DomainName,
    /// Which RRset.
    pub rtype: Rtype,
    /// Its new content.
    pub new: Option<RecordSet>,
    /// A static RRset of the configuration (no host; replaces a dynamic one of the same owner
    /// and type). Dynamic writes never replace a static RRset.
    pub is_static: bool,
    /// The split-horizon view whose own RRset this is (`[[view]] name`); `None`: the default
    /// data. A view write is always dynamic.
    pub view: Option<String>,
}

impl RrsetWrite {
    /// A dynamic write (updates, CLI).
    pub fn dynamic(
        zone: DomainName,
        name: DomainName,
        rtype: Rtype,
        new: Option<RecordSet>,
    ) -> Self {
        Self {
            zone,
            name,
            rtype,
            new,
            is_static: false,
            view: None,
        }
    }

    /// The same write to view `view`'s own RRset instead of the default's.
    #[must_use]
    pub fn in_view(mut self, view: Option<String>) -> Self {
        self.view = view;
        self
    }
}

/// Everything one request changes, applied atomically.
#[derive(Clone, Debug)]
pub struct ChangeSet {
    /// RRset writes, in request order.
    pub writes: Vec<RrsetWrite>,
    /// Hosts to register without records (zone, name); existing ones are left as they are.
    pub register: Vec<(DomainName, DomainName)>,
    /// Hosts to delete with all their records.
    pub delete_hosts: Vec<DomainName>,
    /// Optimistic concurrency: the transaction fails unless each host is at this version.
    pub if_match: Vec<(DomainName, i64)>,
    /// Optimistic concurrency for a whole zone: the set fails with
    /// [`StoreError::ZoneMoved`] (and changes nothing) unless nobody changed the zone since
    /// this journal position, the one the writer planned on (RFC 2136 prerequisites, checked
    /// against a snapshot that another node may have overtaken).
    pub zone_at: Vec<(DomainName, i64)>,
    /// New SOA parameters for zones (configuration changes); a change is a serial step.
    pub soa: Vec<(DomainName, SoaParams)>,
    /// Zones rewritten wholesale (imports): their journal entry is a reload marker instead of
    /// the list of every RRset.
    pub reload: Vec<DomainName>,
    /// When set, the change set fails (and changes nothing) if it creates a host and more
    /// hosts than the quota allows would then match its filter.
    pub host_quota: Option<HostQuota>,
    /// Who asks.
    pub actor: Actor,
    /// From where.
    pub origin: Origin,
    /// The administrative action this change set is (a host removal, a rollback): its audit
    /// row is written in the change set's savepoint, so it commits or fails with it.
    pub audit: Option<AdminAction>,
}

impl ChangeSet {
    /// A change set of `writes` by `actor`.
    pub fn new(writes: Vec<RrsetWrite>, actor: Actor, origin: Origin) -> Self {
        Self {
            writes,
            register: Vec::new(),
            delete_hosts: Vec::new(),
            if_match: Vec::new(),
            zone_at: Vec::new(),
            soa: Vec::new(),
            reload: Vec::new(),
            host_quota: None,
            actor,
            origin,
            audit: None,
        }
    }
}

/// What a committed change set did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// For each write of the change set: did it change anything?
    pub changed: Vec<bool>,
    /// Zones whose serial moved, with the new serial.
    pub serials: Vec<(DomainName, Serial)>,
    /// Current version of every host the change set named (absent: the host is gone).
    pub versions: BTreeMap<DomainName, i64>,
}

impl Applied {
    /// True when the change set changed anything at all.
    pub fn any_change(&self) -> bool {
        !self.serials.is_empty()
    }
}

/// One history row: one RRset change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryRow {
    /// Increasing id (commit order on this database).
    pub id: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Zone.
    pub zone: DomainName,
    /// Owner.
    pub name: DomainName,
    /// Type.
    pub rtype: Rtype,
    /// Before (`None`: did not exist).
    pub old: Option<RecordSet>,
    /// After (`None`: removed).
    pub new: Option<RecordSet>,
    /// The zone's serial after the change set.
    pub serial: Serial,
    /// Who (`token:<id>`, `cli`, `config`).
    pub actor: String,
    /// Client address.
    pub source_ip: Option<std::net::IpAddr>,
    /// Client software.
    pub user_agent: Option<String>,
    /// What a summary row stands for (an import writes one row, not one per RRset).
    pub note: Option<String>,
    /// The split-horizon view whose own RRset changed; `None`: the default data.
    pub view: Option<String>,
}

/// A stored RRset as the write path sees it.
struct Current {
    set: RecordSet,
    is_static: bool,
}

/// Per-zone bookkeeping inside one transaction: the zone row as the transaction found it (it
/// holds the write lock, so nobody else moves it) and what the change sets that succeeded so
/// far did to it.
struct ZoneChange {
    id: i64,
    serial: Serial,
    seq: i64,
    soa: Option<SoaRecord>,
    /// SOA parameters as the sets so far left them (`None`: the zone has no SOA yet).
    params: Option<SoaParams>,
    /// Net RRset changes, one per owner and type: the first `old`, the last `new`.
    deltas: Vec<RrsetDelta>,
    reload: bool,
    /// Some set changed the zone: the group takes a serial step for it.
    stepped: bool,
}

impl ZoneChange {
    /// The serial every change of this transaction lands at: one step per group.
    fn next(&self) -> Serial {
        self.serial.next()
    }

    fn merge(&mut self, delta: RrsetDelta) {
        let same = |d: &RrsetDelta| {
            d.owner == delta.owner && d.rtype == delta.rtype && d.view == delta.view
        };
        match self.deltas.iter().position(same) {
            Some(i) => {
                let net = &mut self.deltas[i];
                net.new = delta.new;
                net.is_static = delta.is_static;
                if net.old == net.new {
                    // Changed and changed back within the group: no step for it.
                    self.deltas.remove(i);
                }
            }
            None => self.deltas.push(delta),
        }
    }
}

/// What one change set did to the zones, merged into the group once its savepoint is released.
#[derive(Default)]
struct Staged {
    deltas: BTreeMap<DomainName, Vec<RrsetDelta>>,
    soa: BTreeMap<DomainName, SoaParams>,
    reload: BTreeSet<DomainName>,
    history: Vec<PendingHistory>,
}

/// A history row waiting for the end of the group.
struct PendingHistory {
    zone: DomainName,
    delta: RrsetDelta,
    serial: Serial,
    actor: String,
    source_ip: Option<String>,
    user_agent: Option<String>,
}

/// Rows per multi-row history insert: 13 values each, well inside SQLite's 32,766 variables.
const HISTORY_ROWS_PER_INSERT: usize = 256;

impl Store {
    /// Applies a change set in one transaction. Nothing is written when nothing changes: no
    /// serial step, no journal entry and no history row for a no-op (only the set's audit row,
    /// when it carries one: the action was still taken).
    pub async fn apply(&self, set: &ChangeSet) -> Result<Applied, StoreError> {
        self.apply_group(std::slice::from_ref(set))
            .await
            .pop()
            .unwrap_or_else(|| Err(StoreError::Database("no result for the change set".into())))
    }

    /// Applies several change sets in one transaction and one fsync, in order, each as if
    /// alone after the ones before it: a set that fails changes nothing and gets its own error,
    /// the others still commit. Returns one result per set; when the transaction itself cannot
    /// begin or commit, every set gets that error and nothing is written.
    pub async fn apply_group(&self, sets: &[ChangeSet]) -> Vec<Result<Applied, StoreError>> {
        let mut tx = match self.writer.begin().await {
            Ok(tx) => tx,
            Err(e) => return sets.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut results = Vec::with_capacity(sets.len());
        let outcome = apply_sets(tx.conn(), sets, &mut results).await;
        match tx.finish(outcome).await {
            Ok(()) => results,
            Err(e) => sets.iter().map(|_| Err(e.clone())).collect(),
        }
    }

    /// The newest history rows of one owner, newest first, at most `limit`, older than
    /// `before` (a row id) when given.
    pub async fn history_of(
        &self,
        name: &DomainName,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<HistoryRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, zone, name, rtype, old_ttl, old_rdata, new_ttl, new_rdata, serial, \
             actor, source_ip, user_agent, note, view FROM history WHERE name = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(name.as_str())
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.iter().map(history_from_row).collect()
    }
}

/// `id, serial, journal_seq, soa, soa_ttl` of a zone row.
type ZoneDbRow = (i64, i64, i64, Option<Vec<u8>>, Option<i64>);

pub(crate) async fn zone_row(
    conn: &mut AnyConnection,
    zone: &DomainName,
) -> Result<(i64, Serial, i64, Option<SoaRecord>), StoreError> {
    let row: Option<ZoneDbRow> =
        sqlx::query_as("SELECT id, serial, journal_seq, soa, soa_ttl FROM zones WHERE name = $1")
            .bind(zone.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    let (id, serial, seq, soa, soa_ttl) =
        row.ok_or_else(|| StoreError::UnknownZone(zone.to_string()))?;
    let soa = match (soa, soa_ttl) {
        (Some(rdata), Some(ttl)) => Some(SoaRecord {
            ttl: u32::try_from(ttl).unwrap_or(0),
            rdata,
        }),
        _ => None,
    };
    Ok((id, serial_from_db(serial)?, seq, soa))
}

/// Runs each set in its own savepoint, then takes the group's serial steps. An `Err` is a
/// failure of the transaction itself (every set fails with it).
async fn apply_sets(
    conn: &mut AnyConnection,
    sets: &[ChangeSet],
    results: &mut Vec<Result<Applied, StoreError>>,
) -> Result<(), StoreError> {
    let now = now_text();
    let mut zones: BTreeMap<DomainName, ZoneChange> = BTreeMap::new();
    let mut history = Vec::new();
    for set in sets {
        match plan_writes(conn, set, &mut zones).await {
            Ok(Some(plan)) => {
                // Every check has passed and nothing is written yet: what can still fail is
                // the database itself, and that fails the whole group.
                let (applied, staged) = execute_plan(conn, set, plan, &now).await?;
                merge(&mut zones, staged, &mut history);
                results.push(Ok(applied));
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                results.push(Err(e));
                continue;
            }
        }
        execute(conn, "SAVEPOINT change_set").await?;
        match apply_in(conn, set, &mut zones, &now).await {
            Ok((applied, staged)) => {
                execute(conn, "RELEASE change_set").await?;
                merge(&mut zones, staged, &mut history);
                results.push(Ok(applied));
            }
            Err(e) => {
                execute(conn, "ROLLBACK TO change_set").await?;
                execute(conn, "RELEASE change_set").await?;
                results.push(Err(e));
            }
        }
    }
    write_history(conn, &history, &now).await?;
    for change in zones.values().filter(|c| c.stepped) {
        let next = change.next();
        let soa_after = match &change.params {
            Some(p) => SoaRecord {
                ttl: p.ttl,
                rdata: p.rdata(next),
            },
            // `apply_in` refuses to change a zone without an SOA.
            None => continue,
        };
        let entry = JournalEntry {
            seq: change.seq + 1,
            serial_before: change.serial,
            serial_after: next,
            soa_before: change.soa.clone().unwrap_or_else(|| SoaRecord {
                ttl: 0,
                rdata: Vec::new(),
            }),
            soa_after,
            reload: change.reload,
            deltas: if change.reload {
                Vec::new()
            } else {
                change.deltas.clone()
            },
        };
        write_serial_step(conn, change.id, &entry, &now).await?;
    }
    Ok(())
}

async fn execute(conn: &mut AnyConnection, sql: &'static str) -> Result<(), StoreError> {
    conn.execute(sql).await.map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// Folds a set that succeeded into the group's per-zone state.
fn merge(
    zones: &mut BTreeMap<DomainName, ZoneChange>,
    staged: Staged,
    history: &mut Vec<PendingHistory>,
) {
    history.extend(staged.history);
    for (zone, deltas) in staged.deltas {
        if let Some(change) = zones.get_mut(&zone) {
            change.stepped = true;
            for d in deltas {
                change.merge(d);
            }
        }
    }
    for (zone, params) in staged.soa {
        if let Some(change) = zones.get_mut(&zone) {
            change.stepped = true;
            change.params = Some(params);
        }
    }
    for zone in staged.reload {
        if let Some(change) = zones.get_mut(&zone) {
            change.stepped = true;
            change.reload = true;
        }
    }
}

/// One change set, inside its savepoint. What it did to the zones comes back as [`Staged`]
/// (merged by the caller once the savepoint is released); its history rows carry the serial
/// the group will step to.
async fn apply_in(
    conn: &mut AnyConnection,
    set: &ChangeSet,
    zones: &mut BTreeMap<DomainName, ZoneChange>,
    now: &str,
) -> Result<(Applied, Staged), StoreError> {
    let mut applied = Applied::default();
    let mut staged = Staged::default();
    let mut touched: BTreeSet<(i64, DomainName)> = BTreeSet::new();

    for (name, expected) in &set.if_match {
        let current = host_version(conn, name)
            .await?
            .ok_or_else(|| StoreError::NotFound(name.to_string()))?;
        if current != *expected {
            return Err(StoreError::VersionMismatch {
                name: name.to_string(),
                expected: *expected,
                current,
            });
        }
    }

    for (zone, expected) in &set.zone_at {
        zone_id_cached(conn, zones, zone).await?;
        if let Some(z) = zones.get(zone)
            && (z.seq != *expected || z.stepped || !z.deltas.is_empty())
        {
            return Err(StoreError::ZoneMoved {
                zone: zone.to_string(),
                expected: *expected,
                current: z.seq,
            });
        }
    }

    let mut created_hosts = 0_u32;
    for (zone, name) in &set.register {
        if host_id(conn, name).await?.is_none() {
            ensure_host(conn, zone, name, now).await?;
            created_hosts += 1;
        }
    }

    let mut touched_views: BTreeSet<(i64, String, DomainName)> = BTreeSet::new();
    for write in &set.writes {
        let zone_id = zone_id_cached(conn, zones, &write.zone).await?;
        if let Some(view) = &write.view {
            let current = views::current(conn, zone_id, view, &write.name, write.rtype).await?;
            if current.as_ref() == write.new.as_ref() {
                applied.changed.push(false);
                continue;
            }
            let host_id = match host_id(conn, &write.name).await? {
                Some(id) => id,
                None => {
                    created_hosts += 1;
                    ensure_host(conn, &write.zone, &write.name, now).await?
                }
            };
            views::write(
                conn,
                zone_id,
                view,
                &write.name,
                write.rtype,
                write.new.as_ref(),
                Some(host_id),
                now,
            )
            .await?;
            bump_host(conn, host_id, now).await?;
            touched_views.insert((zone_id, view.clone(), write.name.clone()));
            applied.changed.push(true);
            staged
                .deltas
                .entry(write.zone.clone())
                .or_default()
                .push(RrsetDelta {
                    owner: write.name.clone(),
                    rtype: write.rtype,
                    old: current,
                    new: write.new.clone(),
                    is_static: false,
                    view: Some(view.clone()),
                });
            continue;
        }
        let current = current_rrset(conn, zone_id, &write.name, write.rtype).await?;
        if current.as_ref().is_some_and(|c| c.is_static) && !write.is_static {
            return Err(StoreError::Conflict(format!(
                "{} {} is defined by the configuration",
                write.name, write.rtype
            )));
        }
        let unchanged = match (&current, &write.new) {
            (Some(c), Some(new)) => &c.set == new && c.is_static == write.is_static,
            (None, None) => true,
            _ => false,
        };
        if unchanged {
            applied.changed.push(false);
            continue;
        }
        let host_id = if write.is_static {
            None
        } else {
            match host_id(conn, &write.name).await? {
                Some(id) => Some(id),
                None => {
                    created_hosts += 1;
                    Some(ensure_host(conn, &write.zone, &write.name, now).await?)
                }
            }
        };
        write_rrset(conn, zone_id, write, host_id, now).await?;
        if let Some(host_id) = host_id {
            bump_host(conn, host_id, now).await?;
        }
        touched.insert((zone_id, write.name.clone()));
        applied.changed.push(true);
        staged
            .deltas
            .entry(write.zone.clone())
            .or_default()
            .push(RrsetDelta {
                owner: write.name.clone(),
                rtype: write.rtype,
                old: current.map(|c| c.set),
                new: write.new.clone(),
                is_static: write.is_static,
                view: None,
            });
    }

    for name in &set.delete_hosts {
        delete_host(conn, zones, &mut staged, name).await?;
    }

    for (zone_id, name) in &touched {
        check_cname_exclusive(conn, *zone_id, name).await?;
    }
    for (zone_id, view, name) in &touched_views {
        let types = views::types_at(conn, *zone_id, view, name).await?;
        cname_stands_alone(name, types.into_iter())?;
    }
    if created_hosts > 0
        && let Some(quota) = &set.host_quota
    {
        check_host_quota(conn, quota).await?;
    }

    for zone in set.soa.iter().map(|(z, _)| z).chain(&set.reload) {
        zone_id_cached(conn, zones, zone).await?;
    }
    for (zone, params) in &set.soa {
        let differs = zones.get(zone).is_some_and(|change| {
            let serial = change.serial;
            change.params.as_ref().is_none_or(|current| {
                current.rdata(serial) != params.rdata(serial) || current.ttl != params.ttl
            })
        });
        if differs {
            staged.soa.insert(zone.clone(), params.clone());
        }
    }
    staged.reload.extend(set.reload.iter().cloned());

    stage_history(set, zones, &mut staged, &mut applied)?;
    if let Some(action) = &set.audit {
        write_action(conn, action, now).await?;
    }

    let named = set
        .writes
        .iter()
        .map(|w| &w.name)
        .chain(set.register.iter().map(|(_, n)| n))
        .chain(set.if_match.iter().map(|(n, _)| n));
    for name in named {
        if let Some(version) = host_version(conn, name).await? {
            applied.versions.insert(name.clone(), version);
        }
    }
    Ok((applied, staged))
}

/// Checks that every zone the set changed has an SOA, and stages the set's history rows at the
/// serial the group steps to.
fn stage_history(
    set: &ChangeSet,
    zones: &BTreeMap<DomainName, ZoneChange>,
    staged: &mut Staged,
    applied: &mut Applied,
) -> Result<(), StoreError> {
    let changed_zones: BTreeSet<DomainName> = staged
        .deltas
        .iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(z, _)| z)
        .chain(staged.soa.keys())
        .chain(&staged.reload)
        .cloned()
        .collect();
    let source_ip = set.origin.source_ip.map(|ip| ip.to_string());
    let actor = set.actor.to_string();
    for zone in changed_zones {
        let Some(change) = zones.get(&zone) else {
            continue;
        };
        if change.params.is_none() && !staged.soa.contains_key(&zone) {
            return Err(StoreError::Conflict(format!(
                "zone {zone} has no SOA yet; start the server with it configured first"
            )));
        }
        let next = change.next();
        for delta in staged.deltas.get(&zone).into_iter().flatten() {
            staged.history.push(PendingHistory {
                zone: zone.clone(),
                delta: delta.clone(),
                serial: next,
                actor: actor.clone(),
                source_ip: source_ip.clone(),
                user_agent: set.origin.user_agent.clone(),
            });
        }
        applied.serials.push((zone, next));
    }
    Ok(())
}

/// A change set every check of which has passed, ready to be written without a savepoint.
struct Plan {
    /// The writes that change something: (index in the set, zone id, host id).
    writes: Vec<(usize, i64, Option<i64>)>,
    applied: Applied,
    staged: Staged,
}

/// What the transaction holds for one owner while a set is planned.
struct OwnerState {
    rrsets: BTreeMap<Rtype, Current>,
    /// Host id and version.
    host: Option<(i64, i64)>,
}

/// Plans a set of RRset writes to hosts that exist, checking everything `apply_in` checks
/// from one read per owner. `Ok(None)`: the set needs the general way (it registers, deletes
/// or creates hosts, matches versions or changes zones); `Err`: the set is refused, and
/// nothing was written.
async fn plan_writes(
    conn: &mut AnyConnection,
    set: &ChangeSet,
    zones: &mut BTreeMap<DomainName, ZoneChange>,
) -> Result<Option<Plan>, StoreError> {
    if !(set.audit.is_none()
        && set.register.is_empty()
        && set.delete_hosts.is_empty()
        && set.if_match.is_empty()
        && set.zone_at.is_empty()
        && set.soa.is_empty()
        && set.reload.is_empty()
        && set.writes.iter().all(|w| w.view.is_none()))
    {
        return Ok(None);
    }
    let mut applied = Applied::default();
    let mut staged = Staged::default();
    let mut writes = Vec::new();
    let mut owners: BTreeMap<(i64, DomainName), OwnerState> = BTreeMap::new();
    let mut touched: BTreeSet<(i64, DomainName)> = BTreeSet::new();
    for (index, write) in set.writes.iter().enumerate() {
        let zone_id = zone_id_cached(conn, zones, &write.zone).await?;
        let key = (zone_id, write.name.clone());
        let owner = match owners.entry(key.clone()) {
            std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(load_owner(conn, zone_id, &write.name).await?)
            }
        };
        let current = owner.rrsets.get(&write.rtype);
        if current.is_some_and(|c| c.is_static) && !write.is_static {
            return Err(StoreError::Conflict(format!(
                "{} {} is defined by the configuration",
                write.name, write.rtype
            )));
        }
        let unchanged = match (current, &write.new) {
            (Some(c), Some(new)) => &c.set == new && c.is_static == write.is_static,
            (None, None) => true,
            _ => false,
        };
        if unchanged {
            applied.changed.push(false);
            continue;
        }
        let host_id = match (write.is_static, owner.host) {
            (true, _) => None,
            (false, Some((id, _))) => Some(id),
            (false, None) => return Ok(None),
        };
        let old = match &write.new {
            Some(new) => owner.rrsets.insert(
                write.rtype,
                Current {
                    set: new.clone(),
                    is_static: write.is_static,
                },
            ),
            None => owner.rrsets.remove(&write.rtype),
        };
        writes.push((index, zone_id, host_id));
        touched.insert(key);
        applied.changed.push(true);
        staged
            .deltas
            .entry(write.zone.clone())
            .or_default()
            .push(RrsetDelta {
                owner: write.name.clone(),
                rtype: write.rtype,
                old: old.map(|c| c.set),
                new: write.new.clone(),
                is_static: write.is_static,
                view: None,
            });
    }
    for key in &touched {
        if let Some(owner) = owners.get(key) {
            cname_stands_alone(&key.1, owner.rrsets.keys().copied())?;
        }
    }
    stage_history(set, zones, &mut staged, &mut applied)?;
    for ((_, name), owner) in &owners {
        if let Some((_, version)) = owner.host {
            applied.versions.insert(name.clone(), version);
        }
    }
    Ok(Some(Plan {
        writes,
        applied,
        staged,
    }))
}

/// Writes a planned set. An error here is the database's, and fails the group.
async fn execute_plan(
    conn: &mut AnyConnection,
    set: &ChangeSet,
    mut plan: Plan,
    now: &str,
) -> Result<(Applied, Staged), StoreError> {
    for &(index, zone_id, host_id) in &plan.writes {
        let Some(write) = set.writes.get(index) else {
            continue;
        };
        write_rrset(conn, zone_id, write, host_id, now).await?;
        if let Some(host_id) = host_id {
            let version = bump_host(conn, host_id, now).await?;
            plan.applied.versions.insert(write.name.clone(), version);
        }
    }
    Ok((plan.applied, plan.staged))
}

/// Every RRset of one owner and its host, in one statement.
async fn load_owner(
    conn: &mut AnyConnection,
    zone_id: i64,
    owner: &DomainName,
) -> Result<OwnerState, StoreError> {
    type OwnerRow = (
        Option<i64>,
        Option<i64>,
        Option<Vec<u8>>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );
    let rows: Vec<OwnerRow> = sqlx::query_as(
        "SELECT rtype, ttl, rdata, static, NULL, NULL FROM records \
         WHERE zone_id = $1 AND owner = $2 \
         UNION ALL SELECT NULL, NULL, NULL, NULL, id, version FROM hosts WHERE name = $2",
    )
    .bind(zone_id)
    .bind(owner.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    let mut state = OwnerState {
        rrsets: BTreeMap::new(),
        host: None,
    };
    for row in rows {
        match row {
            (Some(rtype), Some(ttl), Some(rdata), Some(is_static), _, _) => {
                let rtype = rtype_from_db(rtype)?;
                state.rrsets.insert(
                    rtype,
                    Current {
                        set: set_from_db(rtype, ttl, &rdata)?,
                        is_static: is_static != 0,
                    },
                );
            }
            (_, _, _, _, Some(id), Some(version)) => state.host = Some((id, version)),
            _ => return Err(StoreError::Corrupt(format!("records of {owner}"))),
        }
    }
    Ok(state)
}

/// Sets or removes one RRset row.
async fn write_rrset(
    conn: &mut AnyConnection,
    zone_id: i64,
    write: &RrsetWrite,
    host_id: Option<i64>,
    now: &str,
) -> Result<(), StoreError> {
    match &write.new {
        Some(new) => {
            sqlx::query(
                "INSERT INTO records (zone_id, owner, rtype, ttl, rdata, static, host_id, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT(zone_id, owner, rtype) DO UPDATE SET ttl = excluded.ttl, \
                 rdata = excluded.rdata, static = excluded.static, host_id = excluded.host_id, \
                 updated_at = excluded.updated_at",
            )
            .bind(zone_id)
            .bind(write.name.as_str())
            .bind(i64::from(write.rtype.0))
            .bind(i64::from(new.ttl()))
            .bind(new.encode_rdatas())
            .bind(i64::from(write.is_static))
            .bind(host_id)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
        }
        None => {
            sqlx::query("DELETE FROM records WHERE zone_id = $1 AND owner = $2 AND rtype = $3")
                .bind(zone_id)
                .bind(write.name.as_str())
                .bind(i64::from(write.rtype.0))
                .execute(&mut *conn)
                .await
                .map_err(StoreError::from_sqlx)?;
        }
    }
    Ok(())
}

/// The group's history rows, in the order their sets committed.
async fn write_history(
    conn: &mut AnyConnection,
    rows: &[PendingHistory],
    now: &str,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(HISTORY_ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO history (at, zone, name, rtype, old_ttl, old_rdata, new_ttl, \
             new_rdata, serial, actor, source_ip, user_agent, view) VALUES {}",
            crate::value_rows(crate::Backend::of(conn), 13, chunk.len())
        );
        // Only placeholders are spliced in; every value is bound.
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
        for h in chunk {
            let d = &h.delta;
            insert = insert
                .bind(now.to_owned())
                .bind(h.zone.as_str().to_owned())
                .bind(d.owner.as_str().to_owned())
                .bind(d.rtype.to_string())
                .bind(d.old.as_ref().map(|s| i64::from(s.ttl())))
                .bind(d.old.as_ref().map(RecordSet::encode_rdatas))
                .bind(d.new.as_ref().map(|s| i64::from(s.ttl())))
                .bind(d.new.as_ref().map(RecordSet::encode_rdatas))
                .bind(i64::from(h.serial.0))
                .bind(h.actor.clone())
                .bind(h.source_ip.clone())
                .bind(h.user_agent.clone())
                .bind(d.view.clone());
        }
        insert
            .execute(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    Ok(())
}

/// The journal row of `entry` and the zone row moved to its serial, SOA and position.
pub(crate) async fn write_serial_step(
    conn: &mut AnyConnection,
    zone_id: i64,
    entry: &JournalEntry,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO journal (zone_id, seq, serial_before, serial_after, at, body) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(zone_id)
    .bind(entry.seq)
    .bind(i64::from(entry.serial_before.0))
    .bind(i64::from(entry.serial_after.0))
    .bind(now)
    .bind(entry.encode_body())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    crate::notify::announce(conn).await?;
    sqlx::query(
        "UPDATE zones SET serial = $1, journal_seq = $2, soa = $3, soa_ttl = $4 WHERE id = $5",
    )
    .bind(i64::from(entry.serial_after.0))
    .bind(entry.seq)
    .bind(&entry.soa_after.rdata)
    .bind(i64::from(entry.soa_after.ttl))
    .bind(zone_id)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// An SOA RDATA as a stored one-record set (behind its 16-bit length), for history rows.
pub(crate) fn soa_set(rdata: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + rdata.len());
    out.extend_from_slice(&u16::try_from(rdata.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(rdata);
    out
}

async fn zone_id_cached(
    conn: &mut AnyConnection,
    zones: &mut BTreeMap<DomainName, ZoneChange>,
    zone: &DomainName,
) -> Result<i64, StoreError> {
    if let Some(z) = zones.get(zone) {
        return Ok(z.id);
    }
    let (id, serial, seq, soa) = zone_row(conn, zone).await?;
    let params = soa
        .as_ref()
        .and_then(|soa| SoaParams::from_rdata(&soa.rdata, soa.ttl))
        .map(|(p, _)| p);
    zones.insert(
        zone.clone(),
        ZoneChange {
            id,
            serial,
            seq,
            soa,
            params,
            deltas: Vec::new(),
            reload: false,
            stepped: false,
        },
    );
    Ok(id)
}

async fn delete_host(
    conn: &mut AnyConnection,
    zones: &mut BTreeMap<DomainName, ZoneChange>,
    staged: &mut Staged,
    name: &DomainName,
) -> Result<(), StoreError> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "SELECT h.id, z.name FROM hosts h JOIN zones z ON z.id = h.zone_id WHERE h.name = $1",
    )
    .bind(name.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    let Some((host_id, zone)) = row else {
        return Err(StoreError::NotFound(name.to_string()));
    };
    let zone = name_from_db(&zone)?;
    zone_id_cached(conn, zones, &zone).await?;
    let rows: Vec<(i64, i64, Vec<u8>)> =
        sqlx::query_as("SELECT rtype, ttl, rdata FROM records WHERE host_id = $1 ORDER BY rtype")
            .bind(host_id)
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    for (rtype, ttl, rdata) in rows {
        let rtype = rtype_from_db(rtype)?;
        staged
            .deltas
            .entry(zone.clone())
            .or_default()
            .push(RrsetDelta {
                owner: name.clone(),
                rtype,
                old: Some(set_from_db(rtype, ttl, &rdata)?),
                new: None,
                is_static: false,
                view: None,
            });
    }
    for (view, old) in views::delete_host(conn, host_id).await? {
        staged
            .deltas
            .entry(zone.clone())
            .or_default()
            .push(RrsetDelta {
                owner: name.clone(),
                rtype: old.rtype(),
                old: Some(old),
                new: None,
                is_static: false,
                view: Some(view),
            });
    }
    sqlx::query("DELETE FROM records WHERE host_id = $1")
        .bind(host_id)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    sqlx::query("DELETE FROM hosts WHERE id = $1")
        .bind(host_id)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(())
}

async fn host_id(conn: &mut AnyConnection, name: &DomainName) -> Result<Option<i64>, StoreError> {
    sqlx::query_scalar("SELECT id FROM hosts WHERE name = $1")
        .bind(name.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)
}

async fn host_version(
    conn: &mut AnyConnection,
    name: &DomainName,
) -> Result<Option<i64>, StoreError> {
    sqlx::query_scalar("SELECT version FROM hosts WHERE name = $1")
        .bind(name.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)
}

async fn ensure_host(
    conn: &mut AnyConnection,
    zone: &DomainName,
    name: &DomainName,
    now: &str,
) -> Result<i64, StoreError> {
    if let Some(id) = host_id(conn, name).await? {
        return Ok(id);
    }
    let zone_id: Option<i64> = sqlx::query_scalar("SELECT id FROM zones WHERE name = $1")
        .bind(zone.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    let zone_id = zone_id.ok_or_else(|| StoreError::UnknownZone(zone.to_string()))?;
    sqlx::query_scalar(
        "INSERT INTO hosts (zone_id, name, version, created_at, updated_at) \
         VALUES ($1, $2, 1, $3, $4) RETURNING id",
    )
    .bind(zone_id)
    .bind(name.as_str())
    .bind(now)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)
}

/// One more version of the host; returns the new one.
async fn bump_host(conn: &mut AnyConnection, host_id: i64, now: &str) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "UPDATE hosts SET version = version + 1, updated_at = $1 WHERE id = $2 RETURNING version",
    )
    .bind(now)
    .bind(host_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)
}

async fn current_rrset(
    conn: &mut AnyConnection,
    zone_id: i64,
    owner: &DomainName,
    rtype: Rtype,
) -> Result<Option<Current>, StoreError> {
    let row: Option<(i64, Vec<u8>, i64)> = sqlx::query_as(
        "SELECT ttl, rdata, static FROM records WHERE zone_id = $1 AND owner = $2 AND rtype = $3",
    )
    .bind(zone_id)
    .bind(owner.as_str())
    .bind(i64::from(rtype.0))
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    row.map(|(ttl, rdata, is_static)| {
        Ok(Current {
            set: set_from_db(rtype, ttl, &rdata)?,
            is_static: is_static != 0,
        })
    })
    .transpose()
}

/// Counts, inside the transaction, the hosts the quota's filter lets through.
async fn check_host_quota(conn: &mut AnyConnection, quota: &HostQuota) -> Result<(), StoreError> {
    let mut sql = String::from("SELECT COUNT(*) FROM hosts h WHERE 1 = 1");
    let mut binds = Vec::new();
    if !filter_sql(&quota.filter, &mut sql, &mut binds) {
        return Ok(());
    }
    // Only placeholders are spliced in; every value is bound.
    let mut query = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
    for b in &binds {
        query = query.bind(b);
    }
    let count = query
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    if count > i64::from(quota.max_hosts) {
        return Err(StoreError::HostQuota {
            max: quota.max_hosts,
        });
    }
    Ok(())
}

/// RFC 1034 §3.6.2 / RFC 2181 §10.1: a name with a CNAME has no other data.
async fn check_cname_exclusive(
    conn: &mut AnyConnection,
    zone_id: i64,
    name: &DomainName,
) -> Result<(), StoreError> {
    let types: Vec<i64> =
        sqlx::query_scalar("SELECT rtype FROM records WHERE zone_id = $1 AND owner = $2")
            .bind(zone_id)
            .bind(name.as_str())
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    cname_stands_alone(
        name,
        types.iter().map(|t| Rtype(u16::try_from(*t).unwrap_or(0))),
    )
}

/// RFC 1034 §3.6.2 / RFC 2181 §10.1, on the types an owner would have.
fn cname_stands_alone(
    name: &DomainName,
    types: impl Iterator<Item = Rtype> + Clone,
) -> Result<(), StoreError> {
    if types.clone().count() > 1 && types.clone().any(|t| t == Rtype::CNAME) {
        let names: Vec<String> = types.map(|t| t.to_string()).collect();
        return Err(StoreError::Conflict(format!(
            "{name} would have a CNAME and other records ({}); a CNAME must stand alone",
            names.join(", ")
        )));
    }
    Ok(())
}

pub(crate) fn history_from_row(row: &sqlx::any::AnyRow) -> Result<HistoryRow, StoreError> {
    let get_err = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
    let rtype_text: String = row.try_get("rtype").map_err(get_err)?;
    let rtype =
        Rtype::parse(&rtype_text).map_err(|e| StoreError::Corrupt(format!("history: {e}")))?;
    let set = |ttl: Option<i64>, rdata: Option<Vec<u8>>| -> Result<Option<RecordSet>, StoreError> {
        match (ttl, rdata) {
            (Some(ttl), Some(rdata)) => set_from_db(rtype, ttl, &rdata).map(Some),
            _ => Ok(None),
        }
    };
    Ok(HistoryRow {
        id: row.try_get("id").map_err(get_err)?,
        at: row.try_get("at").map_err(get_err)?,
        zone: name_from_db(&row.try_get::<String, _>("zone").map_err(get_err)?)?,
        name: name_from_db(&row.try_get::<String, _>("name").map_err(get_err)?)?,
        rtype,
        old: set(
            row.try_get("old_ttl").map_err(get_err)?,
            row.try_get("old_rdata").map_err(get_err)?,
        )?,
        new: set(
            row.try_get("new_ttl").map_err(get_err)?,
            row.try_get("new_rdata").map_err(get_err)?,
        )?,
        serial: serial_from_db(row.try_get("serial").map_err(get_err)?)?,
        actor: row.try_get("actor").map_err(get_err)?,
        source_ip: ip_from_db(row.try_get("source_ip").map_err(get_err)?),
        user_agent: row.try_get("user_agent").map_err(get_err)?,
        note: row.try_get("note").map_err(get_err)?,
        // Listings that merge other tables (the audit trail) do not select it.
        view: row.try_get("view").ok().flatten(),
    })
}
