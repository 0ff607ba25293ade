//! Rate-limit charges shared between the nodes of a cluster (PostgreSQL): each node writes
//! what it charged since its last round and reads what the other nodes charged since theirs,
//! so a limit per host or per token holds for the cluster, not per node. Approximate by
//! design: a charge reaches the other nodes a round later, and rows are read by id, which
//! PostgreSQL hands out before commit. On SQLite there is one server per store and nothing to
//! share.

use sqlx::Row;

use crate::tokens::unix_now;
use crate::{Backend, Store, StoreError};

/// How long charges are kept: a limit counts over a minute.
const KEEP_SECS: i64 = 120;
/// Most rows one round reads.
const READ_LIMIT: i64 = 10_000;
/// Most rows one `INSERT` writes.
const WRITE_BATCH: usize = 500;

/// Where a node's reading of the other nodes' charges stands.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChargeCursor(Option<i64>);

impl Store {
    /// Writes this node's `charges` (key, count) and returns the other nodes' charges since
    /// `cursor` (on the first call: of the last minute), with the cursor to pass next time.
    /// Nothing on SQLite.
    pub async fn exchange_charges(
        &self,
        node: &str,
        charges: &[(String, u32)],
        cursor: ChargeCursor,
    ) -> Result<(Vec<(String, u32)>, ChargeCursor), StoreError> {
        if self.backend != Backend::Postgres {
            return Ok((Vec::new(), cursor));
        }
        let now = unix_now();
        let mut conn = self.pool.acquire().await.map_err(StoreError::from_sqlx)?;
        for batch in charges.chunks(WRITE_BATCH) {
            let mut sql = String::from("INSERT INTO rate_charges (node, key, n, at) VALUES ");
            for i in 0..batch.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                let p = i * 3;
                sql.push_str(&format!("($1, ${}, ${}, ${})", p + 2, p + 3, p + 4));
            }
            let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(node);
            for (key, n) in batch {
                insert = insert.bind(key.as_str()).bind(i64::from(*n)).bind(now);
            }
            insert
                .execute(&mut *conn)
                .await
                .map_err(StoreError::from_sqlx)?;
        }
        let rows = match cursor.0 {
            Some(after) => {
                sqlx::query(
                    "SELECT id, key, n FROM rate_charges WHERE id > $1 AND node <> $2 \
                     ORDER BY id LIMIT $3",
                )
                .bind(after)
                .bind(node)
                .bind(READ_LIMIT)
                .fetch_all(&mut *conn)
                .await
            }
            None => {
                sqlx::query(
                    "SELECT id, key, n FROM rate_charges WHERE at >= $1 AND node <> $2 \
                     ORDER BY id LIMIT $3",
                )
                .bind(now - 60)
                .bind(node)
                .bind(READ_LIMIT)
                .fetch_all(&mut *conn)
                .await
            }
        }
        .map_err(StoreError::from_sqlx)?;
        let mut next = cursor.0;
        let mut theirs = Vec::with_capacity(rows.len());
        for row in &rows {
            let get_err = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
            let id: i64 = row.try_get("id").map_err(get_err)?;
            let key: String = row.try_get("key").map_err(get_err)?;
            let n: i64 = row.try_get("n").map_err(get_err)?;
            next = Some(next.map_or(id, |c| c.max(id)));
            theirs.push((key, u32::try_from(n).unwrap_or(u32::MAX)));
        }
        if next.is_none() {
            // Nothing yet from anyone: start after whatever is there now.
            let max: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM rate_charges")
                .fetch_one(&mut *conn)
                .await
                .map_err(StoreError::from_sqlx)?;
            next = Some(max.unwrap_or(0));
        }
        Ok((theirs, ChargeCursor(next)))
    }

    /// Removes charges too old to count; returns how many.
    pub async fn prune_charges(&self) -> Result<u64, StoreError> {
        if self.backend != Backend::Postgres {
            return Ok(0);
        }
        sqlx::query("DELETE FROM rate_charges WHERE at < $1")
            .bind(unix_now() - KEEP_SECS)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(StoreError::from_sqlx)
    }
}
