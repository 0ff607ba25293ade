//! Keeping the change history within its retention: rows older than an age, and per name all
//! but the newest rows, removed in small batches so no prune holds the writer for long.

use crate::{Store, StoreError};

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
                    "DELETE FROM history WHERE id IN (SELECT id FROM history WHERE at < ?1 \
                     ORDER BY at LIMIT ?2)",
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
            "SELECT name FROM history GROUP BY name HAVING COUNT(*) > ? LIMIT ?",
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
                    "DELETE FROM history WHERE id IN (SELECT id FROM history WHERE name = ?1 \
                     ORDER BY id DESC LIMIT ?3 OFFSET ?2)",
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
