//! The audit trail: administrative actions in the `audit` table, and the one listing that
//! merges them with the record changes of `history` by time (`ddns audit`, `GET /api/v1/audit`).
//!
//! An action that changes the database writes its row inside the same transaction
//! ([`write_action`]), so the trail never claims an action that did not happen, nor misses one
//! that did.

use std::time::SystemTime;

use ddns_core::{Actor, Origin};
use sqlx::{AnyConnection, Row};

use crate::changes::history_from_row;
use crate::{HistoryRow, Store, StoreError, ip_from_db, now_text};

/// An administrative action to record (who did what to which object, from where).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminAction {
    /// Who.
    pub actor: Actor,
    /// What, as `object.verb`: `token.create`, `token.revoke`, `token.rotate`, `host.rm`,
    /// `zone.import`, `host.rollback`, `store.restore`, `config.change`, `console.password`.
    pub action: &'static str,
    /// On what: a token id, a host or zone name, a file.
    pub target: String,
    /// From where (the HTTP client; nothing for the command line).
    pub origin: Origin,
    /// Anything else worth keeping (the history row a rollback went back to, a file name).
    pub detail: Option<String>,
}

impl AdminAction {
    /// An action without detail.
    pub fn new(actor: Actor, action: &'static str, target: impl Into<String>) -> Self {
        Self {
            actor,
            action,
            target: target.into(),
            origin: Origin::default(),
            detail: None,
        }
    }
}

/// One administrative action as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminRow {
    /// Increasing id (commit order of the `audit` table).
    pub id: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who (`token:<id>`, `cli`).
    pub actor: String,
    /// What (`token.create`, …).
    pub action: String,
    /// On what.
    pub target: String,
    /// Client address.
    pub source_ip: Option<std::net::IpAddr>,
    /// Client software.
    pub user_agent: Option<String>,
    /// More about it.
    pub detail: Option<String>,
}

/// One entry of the merged trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditEntry {
    /// A record change (a `history` row).
    Change(HistoryRow),
    /// An administrative action (an `audit` row).
    Admin(AdminRow),
}

impl AuditEntry {
    /// Where this entry stands in the merged order: the `after` of the next page.
    pub fn cursor(&self) -> AuditCursor {
        match self {
            Self::Change(row) => AuditCursor {
                at: row.at.clone(),
                admin: false,
                id: row.id,
            },
            Self::Admin(row) => AuditCursor {
                at: row.at.clone(),
                admin: true,
                id: row.id,
            },
        }
    }
}

/// A position in the merged trail, which is ordered by time, then changes before actions,
/// then id. Written as `TIME/cID` or `TIME/aID`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditCursor {
    at: String,
    admin: bool,
    id: i64,
}

impl AuditCursor {
    /// Parses what [`std::fmt::Display`] wrote; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let (at, rest) = text.rsplit_once('/')?;
        let admin = match rest.as_bytes().first()? {
            b'c' => false,
            b'a' => true,
            _ => return None,
        };
        let id = rest.get(1..)?.parse().ok()?;
        parse_time(at)?;
        Some(Self {
            at: at.to_owned(),
            admin,
            id,
        })
    }
}

impl std::fmt::Display for AuditCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.admin { 'a' } else { 'c' };
        write!(f, "{}/{kind}{}", self.at, self.id)
    }
}

/// What part of the trail to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Entries at or after this time only.
    pub since: Option<SystemTime>,
    /// Entries of this actor only (`token:ID`, `cli`, …; record changes a rollback by the actor
    /// made, `rollback/ACTOR`, count as the actor's).
    pub actor: Option<String>,
    /// Entries after this position only (the previous page's last).
    pub after: Option<AuditCursor>,
    /// Entries at most.
    pub limit: u32,
}

/// A time as the store writes it (RFC 3339, UTC), so text order is time order.
pub fn time_text(at: SystemTime) -> String {
    time::OffsetDateTime::from(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Parses an RFC 3339 time (any offset).
pub fn parse_time(text: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(SystemTime::from)
}

/// Writes the row of `action` on the transaction's connection.
pub(crate) async fn write_action(
    conn: &mut AnyConnection,
    action: &AdminAction,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit (at, actor, action, target, source_ip, user_agent, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(now)
    .bind(action.actor.to_string())
    .bind(action.action)
    .bind(&action.target)
    .bind(action.origin.source_ip.map(|ip| ip.to_string()))
    .bind(&action.origin.user_agent)
    .bind(&action.detail)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

impl Store {
    /// Records an action that is not itself a database change (a restore), alone.
    pub async fn record_action(&self, action: &AdminAction) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let result = write_action(tx.conn(), action, &now_text()).await;
        tx.finish(result).await
    }

    /// A page of the trail: record changes and administrative actions merged by time, oldest
    /// first.
    pub async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let since = query.since.map(time_text).unwrap_or_default();
        let (after_at, after_kind, after_id) = match &query.after {
            Some(c) => (c.at.clone(), i64::from(c.admin), c.id),
            None => (String::new(), -1, -1),
        };
        // Both halves filtered on their own indexes (`history_at`, `audit_at`), merged in
        // one ordered scan with the same columns; changes are kind 0, actions kind 1.
        let rows = sqlx::query(
            "SELECT * FROM ( \
               SELECT at, 0 AS kind, id, zone, name, rtype, old_ttl, old_rdata, new_ttl, \
                 new_rdata, serial, actor, source_ip, user_agent, note, NULL AS action, \
                 NULL AS target FROM history \
               WHERE at >= $1 AND ($2 IS NULL OR actor = $2 OR actor = 'rollback/' || $2) \
               UNION ALL \
               SELECT at, 1, id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, actor, \
                 source_ip, user_agent, detail, action, target FROM audit \
               WHERE at >= $1 AND ($2 IS NULL OR actor = $2)) AS trail \
             WHERE (at, kind, id) > ($3, $4, $5) ORDER BY at, kind, id LIMIT $6",
        )
        .bind(since)
        .bind(&query.actor)
        .bind(after_at)
        .bind(after_kind)
        .bind(after_id)
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.iter()
            .map(|row| {
                let get_err = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let kind: i64 = row.try_get("kind").map_err(get_err)?;
                if kind == 0 {
                    return history_from_row(row).map(AuditEntry::Change);
                }
                Ok(AuditEntry::Admin(AdminRow {
                    id: row.try_get("id").map_err(get_err)?,
                    at: row.try_get("at").map_err(get_err)?,
                    actor: row.try_get("actor").map_err(get_err)?,
                    action: row.try_get("action").map_err(get_err)?,
                    target: row.try_get("target").map_err(get_err)?,
                    source_ip: ip_from_db(row.try_get("source_ip").map_err(get_err)?),
                    user_agent: row.try_get("user_agent").map_err(get_err)?,
                    detail: row.try_get("note").map_err(get_err)?,
                }))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = AuditCursor {
            at: "2026-12-03T09:37:59.5Z".into(),
            admin: true,
            id: 42,
        };
        assert_eq!(c.to_string(), "2026-12-03T09:37:59.5Z/a42");
        assert_eq!(AuditCursor::parse(&c.to_string()), Some(c));
        for bad in [
            "",
            "x/a1",
            "2026-12-03T09:37:59Z/b1",
            "2026-12-03T09:37:59Z/a",
            "a1",
        ] {
            assert_eq!(AuditCursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn times_are_written_in_utc() {
        let at = parse_time("2026-12-03T17:00:00+08:00").unwrap();
        assert_eq!(time_text(at), "2026-12-03T09:00:00Z");
    }
}
