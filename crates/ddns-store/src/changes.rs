//! The one write path: a change set applied in a single transaction with its history rows.

use std::collections::{BTreeMap, BTreeSet};

use ddns_core::{Actor, DomainName, Origin, RecordSet, RecordType, Serial};
use sqlx::{Row, SqliteConnection};

use crate::{
    Store, StoreError, ip_from_db, name_from_db, now_text, rdata_to_db, rrset_from_db,
    serial_from_db,
};

/// Set (or, with `new == None`, remove) one RRset of one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RrsetWrite {
    /// The zone the host is in (must exist in the database).
    pub zone: DomainName,
    /// The host.
    pub name: DomainName,
    /// Which RRset.
    pub rtype: RecordType,
    /// Its new content.
    pub new: Option<RecordSet>,
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
    /// Who asks.
    pub actor: Actor,
    /// From where.
    pub origin: Origin,
}

impl ChangeSet {
    /// A change set of `writes` by `actor`.
    pub fn new(writes: Vec<RrsetWrite>, actor: Actor, origin: Origin) -> Self {
        Self {
            writes,
            register: Vec::new(),
            delete_hosts: Vec::new(),
            if_match: Vec::new(),
            actor,
            origin,
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
    /// Id of the last history row written (0 when nothing changed).
    pub last_history_id: i64,
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
    /// Increasing id (commit order).
    pub id: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Zone.
    pub zone: DomainName,
    /// Host.
    pub name: DomainName,
    /// Type.
    pub rtype: RecordType,
    /// Before (`None`: did not exist).
    pub old: Option<RecordSet>,
    /// After (`None`: removed).
    pub new: Option<RecordSet>,
    /// The zone's serial after the change set.
    pub serial: Serial,
    /// Who (`token:<id>`, `cli`).
    pub actor: String,
    /// Client address.
    pub source_ip: Option<std::net::IpAddr>,
    /// Client software.
    pub user_agent: Option<String>,
}

struct PendingHistory {
    zone: DomainName,
    name: DomainName,
    rtype: RecordType,
    old: Option<RecordSet>,
    new: Option<RecordSet>,
}

impl Store {
    /// Applies a change set in one transaction. Nothing is written when nothing changes: no
    /// serial bump and no history row for a no-op.
    pub async fn apply(&self, set: &ChangeSet) -> Result<Applied, StoreError> {
        let mut tx = self.writer.begin().await?;
        let result = apply_in(tx.conn(), set).await;
        tx.finish(result).await
    }

    /// History rows with id greater than `after`, oldest first, at most `limit`.
    pub async fn history_since(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<HistoryRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, zone, name, rtype, old_ttl, old_rdata, new_ttl, new_rdata, serial, \
             actor, source_ip, user_agent FROM history WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.iter().map(history_from_row).collect()
    }

    /// The newest history rows of one host, newest first.
    pub async fn history_of(
        &self,
        name: &DomainName,
        limit: u32,
    ) -> Result<Vec<HistoryRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, zone, name, rtype, old_ttl, old_rdata, new_ttl, new_rdata, serial, \
             actor, source_ip, user_agent FROM history WHERE name = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(name.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.iter().map(history_from_row).collect()
    }

    /// Id of the newest history row (0 when there is none).
    pub async fn last_history_id(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM history")
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)
    }
}

async fn apply_in(conn: &mut SqliteConnection, set: &ChangeSet) -> Result<Applied, StoreError> {
    let now = now_text();
    let mut applied = Applied::default();
    let mut pending: Vec<PendingHistory> = Vec::new();
    let mut touched_hosts: BTreeSet<DomainName> = BTreeSet::new();

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

    for (zone, name) in &set.register {
        ensure_host(conn, zone, name, &now).await?;
    }

    for write in &set.writes {
        let host_id = match host_id(conn, &write.name).await? {
            Some(id) => Some(id),
            None if write.new.is_some() => {
                Some(ensure_host(conn, &write.zone, &write.name, &now).await?)
            }
            None => None,
        };
        let Some(host_id) = host_id else {
            applied.changed.push(false);
            continue;
        };
        let old = current_rrset(conn, host_id, write.rtype).await?;
        if old == write.new {
            applied.changed.push(false);
            continue;
        }
        match &write.new {
            Some(new) => {
                sqlx::query(
                    "INSERT INTO rrsets (host_id, rtype, ttl, rdata, updated_at) VALUES (?, ?, ?, ?, ?) \
                     ON CONFLICT(host_id, rtype) DO UPDATE SET ttl = excluded.ttl, \
                     rdata = excluded.rdata, updated_at = excluded.updated_at",
                )
                .bind(host_id)
                .bind(write.rtype.as_str())
                .bind(i64::from(new.ttl))
                .bind(rdata_to_db(new))
                .bind(&now)
                .execute(&mut *conn)
                .await
                .map_err(StoreError::from_sqlx)?;
            }
            None => {
                sqlx::query("DELETE FROM rrsets WHERE host_id = ? AND rtype = ?")
                    .bind(host_id)
                    .bind(write.rtype.as_str())
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::from_sqlx)?;
            }
        }
        bump_host(conn, host_id, &now).await?;
        touched_hosts.insert(write.name.clone());
        applied.changed.push(true);
        pending.push(PendingHistory {
            zone: write.zone.clone(),
            name: write.name.clone(),
            rtype: write.rtype,
            old,
            new: write.new.clone(),
        });
    }

    for name in &set.delete_hosts {
        let Some(host_id) = host_id(conn, name).await? else {
            return Err(StoreError::NotFound(name.to_string()));
        };
        let zone: String = sqlx::query_scalar(
            "SELECT z.name FROM hosts h JOIN zones z ON z.id = h.zone_id WHERE h.id = ?",
        )
        .bind(host_id)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
        let zone = name_from_db(&zone)?;
        for rtype in RecordType::ALL {
            if let Some(old) = current_rrset(conn, host_id, rtype).await? {
                pending.push(PendingHistory {
                    zone: zone.clone(),
                    name: name.clone(),
                    rtype,
                    old: Some(old),
                    new: None,
                });
            }
        }
        sqlx::query("DELETE FROM hosts WHERE id = ?")
            .bind(host_id)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    }

    for name in &touched_hosts {
        check_cname_exclusive(conn, name).await?;
    }

    // One serial step per zone per change set: secondaries see one version per request.
    let zones: BTreeSet<&DomainName> = pending.iter().map(|p| &p.zone).collect();
    let mut serials: BTreeMap<DomainName, Serial> = BTreeMap::new();
    for zone in zones {
        let current: Option<i64> = sqlx::query_scalar("SELECT serial FROM zones WHERE name = ?")
            .bind(zone.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
        let current = current.ok_or_else(|| StoreError::UnknownZone(zone.to_string()))?;
        let next = serial_from_db(current)?.next();
        sqlx::query("UPDATE zones SET serial = ? WHERE name = ?")
            .bind(i64::from(next.0))
            .bind(zone.as_str())
            .execute(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
        serials.insert(zone.clone(), next);
    }

    let source_ip = set.origin.source_ip.map(|ip| ip.to_string());
    let actor = set.actor.to_string();
    for p in &pending {
        let result = sqlx::query(
            "INSERT INTO history (at, zone, name, rtype, old_ttl, old_rdata, new_ttl, new_rdata, \
             serial, actor, source_ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&now)
        .bind(p.zone.as_str())
        .bind(p.name.as_str())
        .bind(p.rtype.as_str())
        .bind(p.old.as_ref().map(|s| i64::from(s.ttl)))
        .bind(p.old.as_ref().map(rdata_to_db))
        .bind(p.new.as_ref().map(|s| i64::from(s.ttl)))
        .bind(p.new.as_ref().map(rdata_to_db))
        .bind(serials.get(&p.zone).map(|s| i64::from(s.0)))
        .bind(&actor)
        .bind(&source_ip)
        .bind(&set.origin.user_agent)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
        applied.last_history_id = result.last_insert_rowid();
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
    applied.serials = serials.into_iter().collect();
    Ok(applied)
}

async fn host_id(
    conn: &mut SqliteConnection,
    name: &DomainName,
) -> Result<Option<i64>, StoreError> {
    sqlx::query_scalar("SELECT id FROM hosts WHERE name = ?")
        .bind(name.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)
}

async fn host_version(
    conn: &mut SqliteConnection,
    name: &DomainName,
) -> Result<Option<i64>, StoreError> {
    sqlx::query_scalar("SELECT version FROM hosts WHERE name = ?")
        .bind(name.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)
}

async fn ensure_host(
    conn: &mut SqliteConnection,
    zone: &DomainName,
    name: &DomainName,
    now: &str,
) -> Result<i64, StoreError> {
    if let Some(id) = host_id(conn, name).await? {
        return Ok(id);
    }
    let zone_id: Option<i64> = sqlx::query_scalar("SELECT id FROM zones WHERE name = ?")
        .bind(zone.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    let zone_id = zone_id.ok_or_else(|| StoreError::UnknownZone(zone.to_string()))?;
    let result = sqlx::query(
        "INSERT INTO hosts (zone_id, name, version, created_at, updated_at) VALUES (?, ?, 1, ?, ?)",
    )
    .bind(zone_id)
    .bind(name.as_str())
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(result.last_insert_rowid())
}

async fn bump_host(conn: &mut SqliteConnection, host_id: i64, now: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE hosts SET version = version + 1, updated_at = ? WHERE id = ?")
        .bind(now)
        .bind(host_id)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(())
}

async fn current_rrset(
    conn: &mut SqliteConnection,
    host_id: i64,
    rtype: RecordType,
) -> Result<Option<RecordSet>, StoreError> {
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT ttl, rdata FROM rrsets WHERE host_id = ? AND rtype = ?")
            .bind(host_id)
            .bind(rtype.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    row.map(|(ttl, rdata)| rrset_from_db(rtype.as_str(), ttl, &rdata))
        .transpose()
}

/// RFC 1034 §3.6.2 / RFC 2181 §10.1: a name with a CNAME has no other data.
async fn check_cname_exclusive(
    conn: &mut SqliteConnection,
    name: &DomainName,
) -> Result<(), StoreError> {
    let types: Vec<String> = sqlx::query_scalar(
        "SELECT r.rtype FROM rrsets r JOIN hosts h ON h.id = r.host_id WHERE h.name = ?",
    )
    .bind(name.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    if types.len() > 1 && types.iter().any(|t| t == RecordType::Cname.as_str()) {
        return Err(StoreError::Conflict(format!(
            "{name} would have a CNAME and other records ({}); a CNAME must stand alone",
            types.join(", ")
        )));
    }
    Ok(())
}

fn history_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<HistoryRow, StoreError> {
    let get_err = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
    let rtype: String = row.try_get("rtype").map_err(get_err)?;
    let set = |ttl: Option<i64>, rdata: Option<String>| -> Result<Option<RecordSet>, StoreError> {
        match (ttl, rdata) {
            (Some(ttl), Some(rdata)) => rrset_from_db(&rtype, ttl, &rdata).map(Some),
            _ => Ok(None),
        }
    };
    Ok(HistoryRow {
        id: row.try_get("id").map_err(get_err)?,
        at: row.try_get("at").map_err(get_err)?,
        zone: name_from_db(&row.try_get::<String, _>("zone").map_err(get_err)?)?,
        name: name_from_db(&row.try_get::<String, _>("name").map_err(get_err)?)?,
        rtype: RecordType::parse(&rtype).map_err(|e| StoreError::Corrupt(e.to_string()))?,
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
    })
}
