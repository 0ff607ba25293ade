//! Zone imports: a whole master file's RRsets written in one transaction, streamed in batches so
//! memory is bounded by a batch and not by the zone.
//!
//! The caller (the `ddns-zones` reader) parses and validates the file on its own thread and
//! hands batches of RRsets over a bounded channel. Each batch goes into a connection-local
//! staging table (`temp.import_rrsets`) by multi-row `INSERT`s; when the reader says the file
//! ended, the staged RRsets are checked and written to `records` by a few set-based statements,
//! with one reload journal entry, one serial step and one summary history row, and committed.
//! If the reader stops without saying so (a bad line), everything is rolled back.
//!
//! **Same owner and type twice.** Master files list an owner's records together, so the reader
//! groups consecutive records; an `(owner, type)` that shows up again later in the file is a
//! second staged row (the staging key includes the line the group starts on). Before anything
//! reaches `records`, the keys staged more than once are found by one `GROUP BY` over the staging
//! table's primary key and merged into one RRset, validated again as a whole (CNAME count, size,
//! TTL: the smallest one wins, as for consecutive records). Merging in Rust instead of
//! concatenating BLOBs in SQL keeps each RRset sorted and de-duplicated as `RecordSet` makes it,
//! so a re-import of identical data compares equal to what is stored and changes nothing.
//!
//! **History.** An import writes one summary row (at the zone's apex, type SOA, the SOA before
//! and after, and a note with the counts), not one row per host: a million rows would double the
//! import's cost and bury every host's own history.

use std::collections::BTreeMap;

use ddns_core::journal::{JournalEntry, SoaRecord};
use ddns_core::{Actor, DomainName, Origin, Rdata, RecordSet, Rtype, Serial};
use sqlx::AnyConnection;
use tokio::sync::mpsc;

use crate::audit::{AdminAction, write_action};
use crate::changes::{soa_set, write_serial_step, zone_row};
use crate::{Store, StoreError, now_text, rtype_from_db, set_from_db};

/// Staged rows per `INSERT` statement (5 parameters each, well below SQLite's 32766).
const ROWS_PER_INSERT: usize = 1_000;
/// Keys staged more than once merged per round trip.
const MERGE_PAGE: i64 = 1_000;

/// One RRset of an import, validated by the caller like an update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRrset {
    /// The owner (in the zone).
    pub name: DomainName,
    /// The records.
    pub set: RecordSet,
    /// The line of the file its first record is on, for errors.
    pub line: usize,
}

/// What the reader hands the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportBatch {
    /// More RRsets.
    Rrsets(Vec<ImportRrset>),
    /// The whole file was read and is valid: commit. A channel that closes without it rolls
    /// the import back.
    End,
}

/// What a committed import did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    /// Distinct RRsets written (after merging repeated owner and type).
    pub rrsets: u64,
    /// The zone's serial after the import.
    pub serial: Serial,
}

impl Store {
    /// Writes the RRsets `batches` delivers into `zone` as dynamic RRsets, in one transaction:
    /// each replaces the dynamic RRset of the same owner and type, other RRsets stay, a static
    /// RRset of the configuration is a conflict. The journal gets one reload entry, so
    /// followers rebuild the zone and IXFR answers with the whole zone. Nothing is written
    /// unless [`ImportBatch::End`] arrives.
    pub async fn import_rrsets(
        &self,
        zone: &DomainName,
        batches: &mut mpsc::Receiver<ImportBatch>,
        actor: &Actor,
        origin: &Origin,
    ) -> Result<Imported, StoreError> {
        let mut tx = self.writer.begin().await?;
        let result = import_in(tx.conn(), zone, batches, actor, origin).await;
        tx.finish(result).await
    }
}

async fn exec(conn: &mut AnyConnection, sql: &'static str) -> Result<u64, StoreError> {
    sqlx::query(sql)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
        .map_err(StoreError::from_sqlx)
}

async fn import_in(
    conn: &mut AnyConnection,
    zone: &DomainName,
    batches: &mut mpsc::Receiver<ImportBatch>,
    actor: &Actor,
    origin: &Origin,
) -> Result<Imported, StoreError> {
    let (zone_id, serial, seq, soa_before) = zone_row(conn, zone).await?;
    let Some(soa_before) = soa_before else {
        return Err(StoreError::Conflict(format!(
            "zone {zone} has no SOA yet; start the server with it configured first"
        )));
    };
    // Connection-local and inside the transaction: a rollback removes it with everything else.
    let staging = match crate::Backend::of(conn) {
        crate::Backend::Sqlite => {
            "CREATE TEMP TABLE import_rrsets (owner TEXT NOT NULL, rtype INTEGER NOT NULL, \
             line INTEGER NOT NULL, ttl INTEGER NOT NULL, rdata BLOB NOT NULL, \
             PRIMARY KEY (owner, rtype, line)) WITHOUT ROWID"
        }
        crate::Backend::Postgres => {
            "CREATE TEMP TABLE import_rrsets (owner TEXT NOT NULL, rtype BIGINT NOT NULL, \
             line BIGINT NOT NULL, ttl BIGINT NOT NULL, rdata BYTEA NOT NULL, \
             PRIMARY KEY (owner, rtype, line))"
        }
    };
    exec(conn, staging).await?;
    loop {
        match batches.recv().await {
            Some(ImportBatch::Rrsets(rrsets)) => stage(conn, &rrsets).await?,
            Some(ImportBatch::End) => break,
            None => return Err(StoreError::Aborted),
        }
    }
    merge_repeated(conn).await?;
    let now = now_text();
    check_staged(conn, zone_id).await?;
    write_staged(conn, zone_id, &now).await?;
    check_cname_exclusive(conn, zone_id).await?;
    let rrsets: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM import_rrsets")
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    exec(conn, "DROP TABLE import_rrsets").await?;

    let params = ddns_core::snapshot::SoaParams::from_rdata(&soa_before.rdata, soa_before.ttl)
        .map(|(p, _)| p)
        .ok_or_else(|| StoreError::Corrupt(format!("zone {zone}: SOA")))?;
    let next = serial.next();
    let soa_after = SoaRecord {
        ttl: params.ttl,
        rdata: params.rdata(next),
    };
    let entry = JournalEntry {
        seq: seq + 1,
        serial_before: serial,
        serial_after: next,
        soa_before: soa_before.clone(),
        soa_after: soa_after.clone(),
        reload: true,
        deltas: Vec::new(),
    };
    write_serial_step(conn, zone_id, &entry, &now).await?;
    let rrsets = u64::try_from(rrsets).unwrap_or(0);
    sqlx::query(
        "INSERT INTO history (at, zone, name, rtype, old_ttl, old_rdata, new_ttl, new_rdata, \
         serial, actor, source_ip, user_agent, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&now)
    .bind(zone.as_str())
    .bind(zone.as_str())
    .bind(Rtype::SOA.to_string())
    .bind(i64::from(soa_before.ttl))
    .bind(soa_set(&soa_before.rdata))
    .bind(i64::from(soa_after.ttl))
    .bind(soa_set(&soa_after.rdata))
    .bind(i64::from(next.0))
    .bind(actor.to_string())
    .bind(origin.source_ip.map(|ip| ip.to_string()))
    .bind(&origin.user_agent)
    .bind(format!(
        "zone import: {rrsets} record sets replaced as one reload"
    ))
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    let audit = AdminAction {
        origin: origin.clone(),
        detail: Some(format!("{rrsets} record sets")),
        ..AdminAction::new(actor.clone(), "zone.import", zone.as_str())
    };
    write_action(conn, &audit, &now).await?;
    Ok(Imported {
        rrsets,
        serial: next,
    })
}

/// One batch into the staging table.
async fn stage(conn: &mut AnyConnection, rrsets: &[ImportRrset]) -> Result<(), StoreError> {
    for chunk in rrsets.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO import_rrsets (owner, rtype, line, ttl, rdata) VALUES {}",
            crate::value_rows(crate::Backend::of(conn), 5, chunk.len())
        );
        // Only placeholders are spliced in; every value is bound.
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            insert = insert
                .bind(r.name.as_str())
                .bind(i64::from(r.set.rtype().0))
                .bind(i64::try_from(r.line).unwrap_or(i64::MAX))
                .bind(i64::from(r.set.ttl()))
                .bind(r.set.encode_rdatas());
        }
        insert
            .execute(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    Ok(())
}

/// Merges every `(owner, type)` staged more than once into its first row.
async fn merge_repeated(conn: &mut AnyConnection) -> Result<(), StoreError> {
    let mut after = (String::new(), -1i64);
    loop {
        let keys: Vec<(String, i64)> = sqlx::query_as(
            "SELECT owner, rtype FROM import_rrsets WHERE (owner, rtype) > ($1, $2) \
             GROUP BY owner, rtype HAVING COUNT(*) > 1 ORDER BY owner, rtype LIMIT $3",
        )
        .bind(&after.0)
        .bind(after.1)
        .bind(MERGE_PAGE)
        .fetch_all(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
        let Some(last) = keys.last() else {
            return Ok(());
        };
        after = last.clone();
        for (owner, rtype) in &keys {
            merge_one(conn, owner, *rtype).await?;
        }
        if keys.len() < usize::try_from(MERGE_PAGE).unwrap_or(usize::MAX) {
            return Ok(());
        }
    }
}

async fn merge_one(conn: &mut AnyConnection, owner: &str, rtype: i64) -> Result<(), StoreError> {
    let parts: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT line, ttl, rdata FROM import_rrsets WHERE owner = $1 AND rtype = $2 ORDER BY line",
    )
    .bind(owner)
    .bind(rtype)
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    let rtype_v = rtype_from_db(rtype)?;
    let mut ttl = u32::MAX;
    let mut rdatas: Vec<Rdata> = Vec::new();
    for (_, part_ttl, blob) in &parts {
        let part = set_from_db(rtype_v, *part_ttl, blob)?;
        ttl = ttl.min(part.ttl());
        rdatas.extend_from_slice(part.rdatas());
    }
    let (first, last) = match (parts.first(), parts.last()) {
        (Some(f), Some(l)) => (f.0, l.0),
        _ => return Ok(()),
    };
    let merged = RecordSet::new(rtype_v, ttl, rdatas).map_err(|e| {
        StoreError::Invalid(format!(
            "line {last}: {owner} {rtype_v} (also on line {first}): {e}"
        ))
    })?;
    sqlx::query("DELETE FROM import_rrsets WHERE owner = $1 AND rtype = $2 AND line > $3")
        .bind(owner)
        .bind(rtype)
        .bind(first)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    sqlx::query(
        "UPDATE import_rrsets SET ttl = $1, rdata = $2 WHERE owner = $3 AND rtype = $4 AND line = $5",
    )
    .bind(i64::from(merged.ttl()))
    .bind(merged.encode_rdatas())
    .bind(owner)
    .bind(rtype)
    .bind(first)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// Dynamic writes never replace a static RRset of the configuration.
async fn check_staged(conn: &mut AnyConnection, zone_id: i64) -> Result<(), StoreError> {
    let clash: Option<(String, i64, i64)> = sqlx::query_as(
        "SELECT i.owner, i.rtype, i.line FROM import_rrsets i JOIN records r \
         ON r.zone_id = $1 AND r.owner = i.owner AND r.rtype = i.rtype \
         WHERE r.static = 1 LIMIT 1",
    )
    .bind(zone_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    match clash {
        Some((owner, rtype, line)) => Err(StoreError::Conflict(format!(
            "line {line}: {owner} {} is defined by the configuration",
            rtype_from_db(rtype)?
        ))),
        None => Ok(()),
    }
}

/// Hosts first (new ones at version 1, changed ones one version up), then the records.
async fn write_staged(conn: &mut AnyConnection, zone_id: i64, now: &str) -> Result<(), StoreError> {
    // A host changes when one of its staged RRsets differs from what is stored; the scan is
    // over the zone's existing hosts, so a first import into an empty zone costs nothing here.
    sqlx::query(
        "UPDATE hosts SET version = version + 1, updated_at = $1 WHERE zone_id = $2 AND EXISTS \
         (SELECT 1 FROM import_rrsets i WHERE i.owner = hosts.name AND NOT EXISTS \
          (SELECT 1 FROM records r WHERE r.zone_id = $2 AND r.owner = i.owner \
           AND r.rtype = i.rtype AND r.ttl = i.ttl AND r.rdata = i.rdata))",
    )
    .bind(now)
    .bind(zone_id)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    sqlx::query(
        "INSERT INTO hosts (zone_id, name, version, created_at, updated_at) \
         SELECT DISTINCT $1, owner, 1, $2, $2 FROM import_rrsets WHERE true \
         ON CONFLICT(name) DO NOTHING",
    )
    .bind(zone_id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    sqlx::query(
        "INSERT INTO records (zone_id, owner, rtype, ttl, rdata, static, host_id, updated_at) \
         SELECT $1, i.owner, i.rtype, i.ttl, i.rdata, 0, h.id, $2 \
         FROM import_rrsets i JOIN hosts h ON h.name = i.owner WHERE true \
         ON CONFLICT(zone_id, owner, rtype) DO UPDATE SET ttl = excluded.ttl, \
         rdata = excluded.rdata, host_id = excluded.host_id, updated_at = excluded.updated_at \
         WHERE records.ttl <> excluded.ttl OR records.rdata <> excluded.rdata \
         OR records.host_id IS DISTINCT FROM excluded.host_id",
    )
    .bind(zone_id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// RFC 1034 §3.6.2 / RFC 2181 §10.1: a name with a CNAME has no other data, checked for every
/// owner the import wrote, against everything the zone now holds there.
async fn check_cname_exclusive(conn: &mut AnyConnection, zone_id: i64) -> Result<(), StoreError> {
    let clash: Option<(String, i64)> = sqlx::query_as(
        "SELECT c.owner, (SELECT MIN(line) FROM import_rrsets i WHERE i.owner = c.owner) \
         FROM records c WHERE c.zone_id = $1 AND c.rtype = $2 \
         AND EXISTS (SELECT 1 FROM import_rrsets i WHERE i.owner = c.owner) \
         AND EXISTS (SELECT 1 FROM records o WHERE o.zone_id = $1 AND o.owner = c.owner \
                     AND o.rtype <> $2) LIMIT 1",
    )
    .bind(zone_id)
    .bind(i64::from(Rtype::CNAME.0))
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    let Some((owner, line)) = clash else {
        return Ok(());
    };
    let types: Vec<i64> =
        sqlx::query_scalar("SELECT rtype FROM records WHERE zone_id = $1 AND owner = $2")
            .bind(zone_id)
            .bind(&owner)
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    let names: BTreeMap<i64, String> = types
        .iter()
        .map(|t| (*t, Rtype(u16::try_from(*t).unwrap_or(0)).to_string()))
        .collect();
    Err(StoreError::Conflict(format!(
        "line {line}: {owner} would have a CNAME and other records ({}); a CNAME must stand alone",
        names.into_values().collect::<Vec<_>>().join(", ")
    )))
}
