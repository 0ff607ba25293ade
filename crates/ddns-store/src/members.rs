//! The nodes of failover sets with a lease: which address each node (a token) last published
//! into which failover name, and when. The health checker reads them as targets; a node's
//! row ages out of the set when it stops publishing.
//!
//! A change of a node's addresses, its first publication and its expiry each write an audit
//! row in the same transaction; a refresh of the same addresses only moves `seen_ms`.

use std::net::IpAddr;

use ddns_core::DomainName;
use sqlx::Row;

use crate::audit::write_action;
use crate::{AdminAction, Store, StoreError, now_text};

/// One address a node published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The node: id of the token that published it.
    pub node: String,
    /// The address.
    pub addr: IpAddr,
    /// When the node last published it (milliseconds since the epoch).
    pub seen_ms: i64,
}

/// The addresses of one address family a node publishes in one update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    fn holds(self, addr: &IpAddr) -> bool {
        matches!(
            (self, addr),
            (Self::V4, IpAddr::V4(_)) | (Self::V6, IpAddr::V6(_))
        )
    }
}

impl Store {
    /// Makes `addrs` the addresses of each family in `families` that `node` publishes at
    /// `name` (an empty list: none of that family), seen at `now_ms`, in one transaction;
    /// `audit` is written when any of them changed. Returns whether they changed.
    pub async fn publish_member(
        &self,
        name: &DomainName,
        node: &str,
        families: &[(Family, Vec<IpAddr>)],
        now_ms: i64,
        audit: &AdminAction,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let result = async {
            let rows = sqlx::query("SELECT addr FROM failover_members WHERE name = $1 AND node = $2")
                .bind(name.as_str())
                .bind(node)
                .fetch_all(tx.conn())
                .await
                .map_err(StoreError::from_sqlx)?;
            let stored: Vec<IpAddr> = rows
                .iter()
                .filter_map(|r| r.try_get::<String, _>("addr").ok()?.parse().ok())
                .collect();
            let mut changed = false;
            for (family, addrs) in families {
                let mut before: Vec<IpAddr> =
                    stored.iter().copied().filter(|a| family.holds(a)).collect();
                before.sort_unstable();
                let mut after: Vec<IpAddr> =
                    addrs.iter().copied().filter(|a| family.holds(a)).collect();
                after.sort_unstable();
                after.dedup();
                changed |= before != after;
                for gone in before.iter().filter(|a| !after.contains(a)) {
                    sqlx::query(
                        "DELETE FROM failover_members WHERE name = $1 AND node = $2 AND addr = $3",
                    )
                    .bind(name.as_str())
                    .bind(node)
                    .bind(gone.to_string())
                    .execute(tx.conn())
                    .await
                    .map_err(StoreError::from_sqlx)?;
                }
                for addr in &after {
                    sqlx::query(
                        "INSERT INTO failover_members (name, node, addr, seen_ms) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (name, node, addr) DO UPDATE SET seen_ms = excluded.seen_ms",
                    )
                    .bind(name.as_str())
                    .bind(node)
                    .bind(addr.to_string())
                    .bind(now_ms)
                    .execute(tx.conn())
                    .await
                    .map_err(StoreError::from_sqlx)?;
                }
            }
            if changed {
                write_action(tx.conn(), audit, &now_text()).await?;
            }
            Ok(changed)
        }
        .await;
        tx.finish(result).await
    }

    /// Every address published at `name`, oldest node first.
    pub async fn members(&self, name: &DomainName) -> Result<Vec<Member>, StoreError> {
        let rows = sqlx::query(
            "SELECT node, addr, seen_ms FROM failover_members WHERE name = $1 \
             ORDER BY seen_ms, node, addr",
        )
        .bind(name.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.iter().map(member_from_row).collect()
    }

    /// Removes the addresses at `name` not published since `before_ms`, with one audit row
    /// from `audit` per node removed (its target: the node; its detail: the addresses).
    /// Returns them.
    pub async fn expire_members(
        &self,
        name: &DomainName,
        before_ms: i64,
        audit: impl Fn(&str, &[IpAddr]) -> AdminAction,
    ) -> Result<Vec<Member>, StoreError> {
        let mut tx = self.writer.begin().await?;
        let result = async {
            let rows = sqlx::query(
                "DELETE FROM failover_members WHERE name = $1 AND seen_ms < $2 \
                 RETURNING node, addr, seen_ms",
            )
            .bind(name.as_str())
            .bind(before_ms)
            .fetch_all(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
            let mut gone = rows
                .iter()
                .map(member_from_row)
                .collect::<Result<Vec<Member>, StoreError>>()?;
            gone.sort_by(|a, b| a.node.cmp(&b.node));
            let now = now_text();
            for node in gone.chunk_by(|a, b| a.node == b.node) {
                let addrs: Vec<IpAddr> = node.iter().map(|m| m.addr).collect();
                write_action(tx.conn(), &audit(&node[0].node, &addrs), &now).await?;
            }
            Ok(gone)
        }
        .await;
        tx.finish(result).await
    }
}

fn member_from_row(r: &sqlx::any::AnyRow) -> Result<Member, StoreError> {
    let addr: String = r.try_get("addr").map_err(StoreError::from_sqlx)?;
    Ok(Member {
        node: r.try_get("node").map_err(StoreError::from_sqlx)?,
        addr: addr
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("member address {addr:?}")))?,
        seen_ms: r.try_get("seen_ms").map_err(StoreError::from_sqlx)?,
    })
}
