//! Converting data written by the first schema (record values as JSON presentation text) into
//! wire form, once, when a database of that version is opened. Nothing is lost: every row that
//! converts is kept, and a row that does not is reported and left in `legacy_rrsets`.

use ddns_core::{RecordSet, Rtype};
use sqlx::Executor;

use crate::{Store, StoreError};

/// host id, zone id, host name, zone name, type, TTL, JSON values, updated at.
type LegacyRrset = (i64, i64, String, String, String, i64, String, String);
/// id, zone, type, old TTL, old JSON values, new TTL, new JSON values.
type LegacyHistory = (
    i64,
    String,
    String,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
);

/// Converts `legacy_rrsets` rows into `records`, and JSON history values into wire form.
pub(crate) async fn convert(store: &Store) -> Result<(), StoreError> {
    let pending: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM sqlite_master WHERE name = 'legacy_rrsets') + \
         (SELECT COUNT(*) FROM history WHERE typeof(old_rdata) = 'text' OR typeof(new_rdata) = 'text')",
    )
    .fetch_one(&store.pool)
    .await
    .map_err(StoreError::from_sqlx)?;
    if pending == 0 {
        return Ok(());
    }
    let mut tx = store.writer.begin().await?;
    let result = async {
        let conn = tx.conn();
        let has_table: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'legacy_rrsets'",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
        let mut failed = 0usize;
        if has_table > 0 {
            let rows: Vec<LegacyRrset> = sqlx::query_as(
                "SELECT r.host_id, h.zone_id, h.name, z.name, r.rtype, r.ttl, r.rdata, r.updated_at \
                 FROM legacy_rrsets r JOIN hosts h ON h.id = r.host_id JOIN zones z ON z.id = h.zone_id",
            )
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
            for (host_id, zone_id, name, zone, rtype, ttl, rdata, at) in rows {
                let Some(set) = legacy_set(&zone, &rtype, ttl, &rdata) else {
                    tracing::warn!(%name, %rtype, "record set of the old format does not convert; kept in legacy_rrsets");
                    failed += 1;
                    continue;
                };
                sqlx::query(
                    "INSERT OR REPLACE INTO records (zone_id, owner, rtype, ttl, rdata, static, host_id, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, 0, $6, $7)",
                )
                .bind(zone_id)
                .bind(&name)
                .bind(i64::from(set.rtype().0))
                .bind(i64::from(set.ttl()))
                .bind(set.encode_rdatas())
                .bind(host_id)
                .bind(&at)
                .execute(&mut *conn)
                .await
                .map_err(StoreError::from_sqlx)?;
                sqlx::query("DELETE FROM legacy_rrsets WHERE host_id = $1 AND rtype = $2")
                    .bind(host_id)
                    .bind(&rtype)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::from_sqlx)?;
            }
            if failed == 0 {
                conn.execute("DROP TABLE legacy_rrsets")
                    .await
                    .map_err(StoreError::from_sqlx)?;
            }
        }
        let rows: Vec<LegacyHistory> =
            sqlx::query_as(
                "SELECT id, zone, rtype, COALESCE(old_ttl, 0), CAST(old_rdata AS TEXT), new_ttl, \
                 CAST(new_rdata AS TEXT) FROM history \
                 WHERE typeof(old_rdata) = 'text' OR typeof(new_rdata) = 'text'",
            )
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
        for (id, zone, rtype, old_ttl, old, new_ttl, new) in rows {
            let convert = |ttl: i64, text: Option<String>| {
                text.and_then(|t| legacy_set(&zone, &rtype, ttl, &t))
                    .map(|s| s.encode_rdatas())
            };
            sqlx::query("UPDATE history SET old_rdata = $1, new_rdata = $2 WHERE id = $3")
                .bind(convert(old_ttl, old))
                .bind(convert(new_ttl.unwrap_or(0), new))
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(StoreError::from_sqlx)?;
        }
        Ok(())
    }
    .await;
    tx.finish(result).await
}

/// A record set of the first schema: a JSON array of values as the HTTP API takes them.
fn legacy_set(zone: &str, rtype: &str, ttl: i64, json: &str) -> Option<RecordSet> {
    let values: Vec<String> = serde_json::from_str(json).ok()?;
    let rtype = Rtype::parse(rtype).ok()?;
    let origin = ddns_core::DomainName::parse(zone).ok()?.to_wire();
    RecordSet::from_values(rtype, u32::try_from(ttl).ok()?, &values, &origin).ok()
}
