//! Token rows: the hash of the secret, the admin flag, the scope and the restrictions (types,
//! subnets, expiry, read-only); rotation; last-used times; and the token change counter,
//! bumped in the transaction of every insert, revoke and rotation, that lets processes which
//! keep verified tokens in memory learn which ones changed without reading them all.

use ddns_core::token::NewToken;
use ddns_core::{Restrictions, Rtype, Scope, ScopeEntry};

use crate::audit::{AdminAction, write_action};
use crate::{Store, StoreError, now_text};

/// A stored token (never the secret itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// Public id.
    pub id: String,
    /// SHA-256 of the secret.
    pub secret_sha256: Vec<u8>,
    /// Free-form label.
    pub label: String,
    /// What it may do.
    pub scope: Scope,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Revoked (RFC 3339), if it was.
    pub revoked_at: Option<String>,
    /// Types, subnets, expiry, read-only.
    pub restrictions: Restrictions,
    /// Last accepted (seconds since the epoch), to the minute; `None`: never used.
    pub last_used_at: Option<i64>,
    /// The id of the token a rotation issued in its place.
    pub successor: Option<String>,
}

/// Which tokens changed after a position of the token change counter ([`Store::token_changes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenChanges {
    /// Where the counter stands: the `since` of the next call.
    pub seq: i64,
    /// Ids of the tokens created or revoked after `since`; `None` when that cannot be told
    /// (no `since`, a counter that went back, or more changes than were asked for): then every
    /// token is to be taken as changed.
    pub ids: Option<Vec<String>>,
}

/// The columns of a [`TokenRow`], in its order (a macro, so queries stay `&'static str`).
macro_rules! token_columns {
    () => {
        "id, secret_sha256, label, admin, created_at, revoked_at, \
         types, subnets, expires_at, read_only, last_used_at, successor"
    };
}

/// (id, secret_sha256, label, admin, created_at, revoked_at, types, subnets, expires_at,
/// read_only, last_used_at, successor)
type TokenRow = (
    String,
    Vec<u8>,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
    Option<i64>,
    Option<String>,
);

/// Comma-separated text, `NULL` for an empty list (no restriction).
fn list_text(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

impl Store {
    /// Stores a new token with its scope and restrictions, and the audit row of `audit` in the
    /// same transaction.
    pub async fn insert_token(
        &self,
        token: &NewToken,
        label: &str,
        scope: &Scope,
        restrictions: &Restrictions,
        audit: &AdminAction,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let result = async {
            let now = now_text();
            write_action(tx.conn(), audit, &now).await?;
            let seq = next_change(tx.conn()).await?;
            sqlx::query(
                "INSERT INTO tokens (id, secret_sha256, label, admin, created_at, change_seq, \
                 types, subnets, expires_at, read_only) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&token.id)
            .bind(token.secret_hash.as_slice())
            .bind(label)
            .bind(i64::from(scope.is_admin()))
            .bind(&now)
            .bind(seq)
            .bind(list_text(restrictions.types_text()))
            .bind(list_text(restrictions.subnets_text()))
            .bind(restrictions.expires_at)
            .bind(i64::from(restrictions.read_only))
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
            if let Scope::Hosts(entries) = scope {
                for entry in entries {
                    sqlx::query(
                        "INSERT INTO token_scopes (token_id, pattern) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    )
                    .bind(&token.id)
                    .bind(entry.to_string())
                    .execute(tx.conn())
                    .await
                    .map_err(StoreError::from_sqlx)?;
                }
            }
            Ok(())
        }
        .await;
        tx.finish(result).await
    }

    /// One token by id, revoked or not: what authentication reads, on a pool of its own so
    /// floods of other reads never make a request wait to be authenticated.
    pub async fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row: Option<TokenRow> = sqlx::query_as(concat!(
            "SELECT ",
            token_columns!(),
            " FROM tokens WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.auth_pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        match row {
            Some(row) => Ok(Some(token_with_scope(&self.auth_pool, row).await?)),
            None => Ok(None),
        }
    }

    /// All tokens, oldest first.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows: Vec<TokenRow> = sqlx::query_as(concat!(
            "SELECT ",
            token_columns!(),
            " FROM tokens ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(token_with_scope(&self.pool, row).await?);
        }
        Ok(out)
    }

    /// Marks a token revoked: it is refused from the commit on by whoever reads the row, and
    /// the change counter tells processes that keep it in memory. The audit row of `audit` is
    /// written in the same transaction; a token that is not active changes nothing.
    pub async fn revoke_token(&self, id: &str, audit: &AdminAction) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let result = async {
            // The counter first: its row lock orders concurrent changes by commit on engines
            // with row locks.
            let seq = next_change(tx.conn()).await?;
            let now = now_text();
            let done = sqlx::query(
                "UPDATE tokens SET revoked_at = $1, change_seq = $2 \
                 WHERE id = $3 AND revoked_at IS NULL",
            )
            .bind(&now)
            .bind(seq)
            .bind(id)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("active token {id}")));
            }
            write_action(tx.conn(), audit, &now).await
        }
        .await;
        tx.finish(result).await
    }

    /// Issues `successor` in place of the active token `id`, with its label, scope and
    /// restrictions (its expiry unless `expires_at` gives another), and makes `id` expire at
    /// `old_until` at the latest; both in one transaction that moves the change counter, so
    /// processes holding `id` in memory drop it, and writes the audit row of `audit`. Returns
    /// the old token as it was.
    pub async fn rotate_token(
        &self,
        id: &str,
        successor: &NewToken,
        old_until: i64,
        expires_at: Option<Option<i64>>,
        audit: &AdminAction,
    ) -> Result<TokenRecord, StoreError> {
        let mut tx = self.writer.begin().await?;
        let result = async {
            let seq = next_change(tx.conn()).await?;
            let row: Option<TokenRow> = sqlx::query_as(concat!(
                "SELECT ",
                token_columns!(),
                " FROM tokens WHERE id = $1 AND revoked_at IS NULL"
            ))
            .bind(id)
            .fetch_optional(&mut *tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
            let Some(row) = row else {
                return Err(StoreError::NotFound(format!("active token {id}")));
            };
            let old = token_from_row(row, Vec::new())?;
            let now = unix_now();
            if old.restrictions.expires_at.is_some_and(|at| at <= now) {
                return Err(StoreError::Invalid(format!(
                    "token {id} has expired; create a new one instead"
                )));
            }
            let expires = expires_at.unwrap_or(old.restrictions.expires_at);
            sqlx::query(
                "INSERT INTO tokens (id, secret_sha256, label, admin, created_at, change_seq, \
                 types, subnets, expires_at, read_only) \
                 SELECT $1, $2, label, admin, $3, $4, types, subnets, $5, read_only \
                 FROM tokens WHERE id = $6",
            )
            .bind(&successor.id)
            .bind(successor.secret_hash.as_slice())
            .bind(now_text())
            .bind(seq)
            .bind(expires)
            .bind(id)
            .execute(&mut *tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
            sqlx::query(
                "INSERT INTO token_scopes (token_id, pattern) \
                 SELECT $1, pattern FROM token_scopes WHERE token_id = $2",
            )
            .bind(&successor.id)
            .bind(id)
            .execute(&mut *tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
            sqlx::query(
                "UPDATE tokens SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > $1 THEN $1 ELSE expires_at END, \
                 successor = $2, change_seq = $3 WHERE id = $4",
            )
            .bind(old_until)
            .bind(&successor.id)
            .bind(seq)
            .bind(id)
            .execute(&mut *tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
            write_action(tx.conn(), audit, &now_text()).await?;
            Ok(old)
        }
        .await;
        tx.finish(result).await
    }

    /// Records when tokens were last used: `(id, seconds since the epoch)`, in one transaction
    /// that leaves the change counter alone (nothing a verifier holds changes). A time older
    /// than the stored one is ignored.
    pub async fn touch_tokens(&self, used: &[(String, i64)]) -> Result<(), StoreError> {
        if used.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin().await?;
        let result = async {
            for (id, at) in used {
                sqlx::query(
                    "UPDATE tokens SET last_used_at = $1 \
                     WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
                )
                .bind(at)
                .bind(id)
                .execute(&mut *tx.conn())
                .await
                .map_err(StoreError::from_sqlx)?;
            }
            Ok(())
        }
        .await;
        tx.finish(result).await
    }

    /// Where the token change counter stands and, when `since` is given, which tokens changed
    /// after it (at most `limit`; more is told as "cannot tell"). Read on the follower's pool.
    pub async fn token_changes(
        &self,
        since: Option<i64>,
        limit: u32,
    ) -> Result<TokenChanges, StoreError> {
        let seq: i64 = sqlx::query_scalar("SELECT seq FROM token_changes WHERE id = 1")
            .fetch_one(&self.replay_pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        let since = match since {
            Some(since) if since == seq => {
                return Ok(TokenChanges {
                    seq,
                    ids: Some(Vec::new()),
                });
            }
            Some(since) if since < seq => since,
            // No position, or a counter behind it (the database was replaced).
            _ => return Ok(TokenChanges { seq, ids: None }),
        };
        // Read after the counter: a change committed in between is listed too (harmless), and
        // is listed again next time since `seq` does not cover it.
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM tokens WHERE change_seq > $1 LIMIT $2")
                .bind(since)
                .bind(i64::from(limit) + 1)
                .fetch_all(&self.replay_pool)
                .await
                .map_err(StoreError::from_sqlx)?;
        let ids = (ids.len() <= limit as usize).then_some(ids);
        Ok(TokenChanges { seq, ids })
    }
}

/// Bumps the token change counter inside a write transaction (and tells the other nodes);
/// returns its new value.
async fn next_change(conn: &mut sqlx::AnyConnection) -> Result<i64, StoreError> {
    crate::notify::announce(conn).await?;
    sqlx::query_scalar("UPDATE token_changes SET seq = seq + 1 WHERE id = 1 RETURNING seq")
        .fetch_one(conn)
        .await
        .map_err(StoreError::from_sqlx)
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

async fn token_with_scope(pool: &sqlx::AnyPool, row: TokenRow) -> Result<TokenRecord, StoreError> {
    let patterns: Vec<String> = if row.3 != 0 {
        Vec::new()
    } else {
        sqlx::query_scalar("SELECT pattern FROM token_scopes WHERE token_id = $1 ORDER BY pattern")
            .bind(&row.0)
            .fetch_all(pool)
            .await
            .map_err(StoreError::from_sqlx)?
    };
    token_from_row(row, patterns)
}

fn token_from_row(
    (
        id,
        secret_sha256,
        label,
        admin,
        created_at,
        revoked_at,
        types,
        subnets,
        expires_at,
        read_only,
        last_used_at,
        successor,
    ): TokenRow,
    patterns: Vec<String>,
) -> Result<TokenRecord, StoreError> {
    let scope = if admin != 0 {
        Scope::Admin
    } else {
        Scope::Hosts(
            patterns
                .iter()
                .map(|p| {
                    ScopeEntry::parse(p)
                        .map_err(|e| StoreError::Corrupt(format!("scope {p:?}: {e}")))
                })
                .collect::<Result<_, _>>()?,
        )
    };
    let items = |text: &Option<String>| -> Vec<String> {
        text.iter()
            .flat_map(|t| t.split(','))
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let restrictions = Restrictions {
        types: items(&types)
            .iter()
            .map(|t| {
                Rtype::parse(t).map_err(|e| StoreError::Corrupt(format!("token type {t:?}: {e}")))
            })
            .collect::<Result<_, _>>()?,
        subnets: items(&subnets)
            .iter()
            .map(|n| {
                n.parse()
                    .map_err(|e| StoreError::Corrupt(format!("token subnet {n:?}: {e}")))
            })
            .collect::<Result<_, _>>()?,
        expires_at,
        read_only: read_only != 0,
    };
    Ok(TokenRecord {
        id,
        secret_sha256,
        label,
        scope,
        created_at,
        revoked_at,
        restrictions,
        last_used_at,
        successor,
    })
}
