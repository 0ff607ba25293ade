//! Reading and pruning the per-zone journal (written by `changes.rs` in the same transaction
//! as the change it describes).

use ddns_core::journal::{JournalEntry, JournalError};
use ddns_core::{DomainName, Serial};

use crate::{Store, StoreError, serial_from_db};

/// One stored journal entry; one that cannot be decoded is returned as its error so the reader
/// can report it and rebuild rather than stop.
#[derive(Clone, Debug)]
pub struct JournalRow {
    /// Position in the zone's journal.
    pub seq: i64,
    /// Serial after the entry.
    pub serial_after: Serial,
    /// The entry, or why it cannot be read.
    pub entry: Result<JournalEntry, JournalError>,
}

/// How much journal to keep per zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalRetention {
    /// Entries kept at most.
    pub max_entries: u32,
    /// Entries older than this are removed (seconds).
    pub max_age_secs: u64,
}

impl Store {
    /// Every zone's journal position, in one read.
    pub async fn journal_positions(&self) -> Result<Vec<(DomainName, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT name, journal_seq FROM zones")
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        rows.into_iter()
            .map(|(name, seq)| Ok((crate::name_from_db(&name)?, seq)))
            .collect()
    }

    /// Journal entries of `zone` after `after_seq`, oldest first, at most `limit`.
    pub async fn journal_since(
        &self,
        zone: &DomainName,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<JournalRow>, StoreError> {
        let rows: Vec<(i64, i64, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT j.seq, j.serial_before, j.serial_after, j.body FROM journal j \
             JOIN zones z ON z.id = j.zone_id WHERE z.name = $1 AND j.seq > $2 \
             ORDER BY j.seq LIMIT $3",
        )
        .bind(zone.as_str())
        .bind(after_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.replay_pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.into_iter()
            .map(|(seq, before, after, body)| {
                let (before, after) = (serial_from_db(before)?, serial_from_db(after)?);
                Ok(JournalRow {
                    seq,
                    serial_after: after,
                    entry: JournalEntry::decode(seq, before, after, &body),
                })
            })
            .collect()
    }

    /// The oldest journal position still kept for `zone` (`None`: the journal is empty).
    pub async fn journal_start(&self, zone: &DomainName) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar(
            "SELECT MIN(j.seq) FROM journal j JOIN zones z ON z.id = j.zone_id WHERE z.name = $1",
        )
        .bind(zone.as_str())
        .fetch_one(&self.replay_pool)
        .await
        .map_err(StoreError::from_sqlx)
    }

    /// Removes the entries `retention` no longer keeps; returns how many went.
    pub async fn prune_journal(
        &self,
        zone: &DomainName,
        retention: JournalRetention,
    ) -> Result<u64, StoreError> {
        let cutoff = cutoff_text(retention.max_age_secs);
        let mut tx = self.writer.begin().await?;
        let result = async {
            let zone_id: Option<i64> = sqlx::query_scalar("SELECT id FROM zones WHERE name = $1")
                .bind(zone.as_str())
                .fetch_optional(tx.conn())
                .await
                .map_err(StoreError::from_sqlx)?;
            let Some(zone_id) = zone_id else {
                return Ok(0);
            };
            // The newest entry always stays: it tells followers where the zone is.
            let done = sqlx::query(
                "DELETE FROM journal WHERE zone_id = $1 AND seq < (SELECT MAX(seq) FROM journal \
                 WHERE zone_id = $1) AND (seq <= (SELECT MAX(seq) FROM journal WHERE zone_id = $1) - $2 \
                 OR at < $3)",
            )
            .bind(zone_id)
            .bind(i64::from(retention.max_entries))
            .bind(&cutoff)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
            Ok(done.rows_affected())
        }
        .await;
        tx.finish(result).await
    }
}

/// The time `max_age_secs` ago, as stored (RFC 3339, UTC); rows stamped before it are older.
pub(crate) fn cutoff_text(max_age_secs: u64) -> String {
    let age = time::Duration::seconds(i64::try_from(max_age_secs).unwrap_or(i64::MAX / 2));
    time::OffsetDateTime::now_utc()
        .checked_sub(age)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
