//! What the web console needs beyond the other listings: the admin password's hash, a page of
//! hosts matching a search (keyset by name, so a page costs the same with 100k hosts), and
//! the newest history row of each host on a page (its last change, who and from where).

use std::collections::HashMap;

use ddns_core::DomainName;

use crate::audit::write_action;
use crate::changes::history_from_row;
use crate::hosts::filter_sql;
use crate::{AdminAction, HistoryRow, HostFilter, HostRecord, Store, StoreError, now_text};

/// Which hosts a console page lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSearch {
    /// What the caller may see.
    pub filter: HostFilter,
    /// Only names in this zone.
    pub zone: Option<DomainName>,
    /// Only names containing this text (lower-cased by the caller; matched literally).
    pub contains: Option<String>,
    /// Names after this one (the previous page's last).
    pub after: Option<DomainName>,
    /// Hosts at most.
    pub limit: u32,
}

impl Store {
    /// Replaces the console's admin password hash; the audit row is written with it.
    pub async fn set_console_password(
        &self,
        hash: &str,
        audit: &AdminAction,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let now = now_text();
        let result = async {
            sqlx::query(
                "INSERT INTO console_password (id, hash, set_at) VALUES (1, $1, $2) \
                 ON CONFLICT(id) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at",
            )
            .bind(hash)
            .bind(&now)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
            write_action(tx.conn(), audit, &now).await
        }
        .await;
        tx.finish(result).await
    }

    /// The console's admin password hash, if one was set (read on the authentication pool,
    /// like token lookups).
    pub async fn console_password(&self) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT hash FROM console_password WHERE id = 1")
            .fetch_optional(&self.auth_pool)
            .await
            .map_err(StoreError::from_sqlx)
    }

    /// A page of hosts by name: two queries on the `hosts` name index whatever the number of
    /// hosts (a search without a prefix scans names, never records).
    pub async fn search_hosts(&self, search: &HostSearch) -> Result<Vec<HostRecord>, StoreError> {
        let mut sql = String::from(
            "SELECT h.id, z.name, h.name, h.version, h.created_at, h.updated_at FROM hosts h \
             JOIN zones z ON z.id = h.zone_id WHERE h.name > $1",
        );
        let mut binds: Vec<String> = vec![
            search
                .after
                .as_ref()
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default(),
        ];
        if !filter_sql(&search.filter, &mut sql, &mut binds) {
            return Ok(Vec::new());
        }
        if let Some(zone) = &search.zone {
            binds.push(zone.as_str().to_owned());
            sql.push_str(&format!(" AND z.name = ${}", binds.len()));
        }
        if let Some(text) = search.contains.as_deref().filter(|t| !t.is_empty()) {
            // Matched literally: `%`, `_` and the escape character are escaped.
            binds.push(format!("%{}%", like_literal(&text.to_ascii_lowercase())));
            sql.push_str(&format!(" AND h.name LIKE ${} ESCAPE '\\'", binds.len()));
        }
        sql.push_str(&format!(" ORDER BY h.name LIMIT ${}", binds.len() + 1));
        // Only placeholders are spliced in; every value is bound.
        let mut query = sqlx::query_as::<_, crate::hosts::HostRow>(sqlx::AssertSqlSafe(sql));
        for b in &binds {
            query = query.bind(b);
        }
        let rows = query
            .bind(i64::from(search.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        self.with_rrsets(rows).await
    }

    /// The newest history row of each of `names` (one query on the `history_name` index).
    pub async fn last_changes(
        &self,
        names: &[&DomainName],
    ) -> Result<HashMap<DomainName, HistoryRow>, StoreError> {
        let mut out = HashMap::with_capacity(names.len());
        for chunk in names.chunks(500) {
            let placeholders = crate::params(self.backend, 1, chunk.len());
            let sql = format!(
                "SELECT id, at, zone, name, rtype, old_ttl, old_rdata, new_ttl, new_rdata, \
                 serial, actor, source_ip, user_agent, note FROM history WHERE id IN \
                 (SELECT max(id) FROM history WHERE name IN ({placeholders}) GROUP BY name)"
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for name in chunk {
                query = query.bind(name.as_str());
            }
            let rows = query
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::from_sqlx)?;
            for row in &rows {
                let row = history_from_row(row)?;
                out.insert(row.name.clone(), row);
            }
        }
        Ok(out)
    }

    /// How many hosts there are (the console's summary line).
    pub async fn host_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM hosts")
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// `text` as a LIKE pattern that matches it literally (escape character `\\`).
fn like_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
