//! Keeping the change history within its retention: rows older than an age, and per name all
//! but the newest rows, removed in small batches so no prune holds the writer for long; and
//! the reads a rollback needs (one row, and what came after it).

use crate::changes::history_from_row;
use crate::{HistoryRow, Store, StoreError, name_from_db};
use ddns_core::{DomainName, RecordSet, Rtype};

/// Rows one prune transaction removes at most; the writer is free again between batches.
const PRUNE_BATCH: u32 = 500;
/// Names whose surplus one prune round looks at most (the rest wait for the next round).
const PRUNE_NAMES: u32 = 1000;

/// How much history to keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryRetention {
    /// Rows older than this are removed (seconds).
    pub max_age_secs: u64,
    /// Rows kept per name at most (the newest).
    pub max_rows_per_host: u32,
}

impl Store {
    /// Removes the history rows `retention` no longer keeps, at most 500 rows per
    /// transaction; returns how many went.
    pub async fn prune_history(&self, retention: HistoryRetention) -> Result<u64, StoreError> {
        let cutoff = crate::journal::cutoff_text(retention.max_age_secs);
        let mut removed = 0;
        loop {
            let n = self
                .delete_batch(
                    "DELETE FROM history WHERE id IN (SELECT id FROM history WHERE at < $1 \
                     ORDER BY at LIMIT $2)",
                    &cutoff,
                )
                .await?;
            removed += n;
            if n < u64::from(PRUNE_BATCH) {
                break;
            }
        }
        // Names over their count, found on the follower's pool (an index scan of
        // `history(name, id)`), then trimmed batch by batch on the writer.
        let over: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM history GROUP BY name HAVING COUNT(*) > $1 LIMIT $2",
        )
        .bind(i64::from(retention.max_rows_per_host))
        .bind(i64::from(PRUNE_NAMES))
        .fetch_all(&self.replay_pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        for name in over {
            loop {
                let mut tx = self.writer.begin().await?;
                let result = sqlx::query(
                    "DELETE FROM history WHERE id IN (SELECT id FROM history WHERE name = $1 \
                     ORDER BY id DESC LIMIT $3 OFFSET $2)",
                )
                .bind(&name)
                .bind(i64::from(retention.max_rows_per_host))
                .bind(i64::from(PRUNE_BATCH))
                .execute(tx.conn())
                .await
                .map(|done| done.rows_affected())
                .map_err(StoreError::from_sqlx);
                let n = tx.finish(result).await?;
                removed += n;
                if n < u64::from(PRUNE_BATCH) {
                    break;
                }
            }
        }
        Ok(removed)
    }

    /// One history row by id.
    pub async fn history_row(&self, id: i64) -> Result<Option<HistoryRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, at, zone, name, rtype, old_ttl, old_rdata, new_ttl, new_rdata, serial, \
             actor, source_ip, user_agent, note, view FROM history WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        row.as_ref().map(history_from_row).transpose()
    }

    /// What `name` held right after history row `id`, for every type that changed since: the
    /// `old` side of the first later row of each type and view (types that did not change since are
    /// as they were). Fails when the zone was imported after `id`: an import replaces records
    /// without a history row per name, so the rows after `id` do not tell the whole story.
    pub async fn state_after(
        &self,
        name: &DomainName,
        id: i64,
    ) -> Result<Vec<(Option<String>, Rtype, Option<RecordSet>)>, StoreError> {
        let import: Option<(i64, String)> = sqlx::query_as(
            "SELECT h.id, h.zone FROM history h WHERE h.id > $1 AND h.note IS NOT NULL \
             AND h.zone = (SELECT zone FROM history WHERE id = $1) ORDER BY h.id LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        if let Some((import_id, zone)) = import {
            return Err(StoreError::Conflict(format!(
                "zone {} was imported after history row {id} (row {import_id}), which replaced \
                 records without a history row per name; roll back to a row after {import_id}",
                name_from_db(&zone)?
            )));
        }
        // The first row of each type (and view: a view's RRset is its own) after `id` (ids
        // grow in commit order).
        let rows = sqlx::query(
            "SELECT id, at, zone, name, rtype, old_ttl, old_rdata, new_ttl, new_rdata, serial, \
             actor, source_ip, user_agent, note, view FROM history WHERE id IN \
             (SELECT MIN(id) FROM history WHERE name = $1 AND id > $2 GROUP BY rtype, COALESCE(view, '')) \
             ORDER BY id",
        )
        .bind(name.as_str())
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.iter()
            .map(|row| history_from_row(row).map(|h| (h.view, h.rtype, h.old)))
            .collect()
    }

    /// One batch of a prune: `sql` with `?1` bound to `value` and `?2` to [`PRUNE_BATCH`].
    async fn delete_batch(&self, sql: &'static str, value: &str) -> Result<u64, StoreError> {
        let mut tx = self.writer.begin().await?;
        let result = sqlx::query(sql)
            .bind(value)
            .bind(i64::from(PRUNE_BATCH))
            .execute(tx.conn())
            .await
            .map(|done| done.rows_affected())
            .map_err(StoreError::from_sqlx);
        tx.finish(result).await
    }
}
