//! Token rows: the hash of the secret, the admin flag and the scope.

use ddns_core::token::NewToken;
use ddns_core::{Scope, ScopeEntry};

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
}

/// (id, secret_sha256, label, admin, created_at, revoked_at)
type TokenRow = (String, Vec<u8>, String, bool, String, Option<String>);

impl Store {
    /// Stores a new token with its scope.
    pub async fn insert_token(
        &self,
        token: &NewToken,
        label: &str,
        scope: &Scope,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let result = async {
            sqlx::query(
                "INSERT INTO tokens (id, secret_sha256, label, admin, created_at) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&token.id)
            .bind(token.secret_hash.as_slice())
            .bind(label)
            .bind(scope.is_admin())
            .bind(now_text())
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
            if let Scope::Hosts(entries) = scope {
                for entry in entries {
                    sqlx::query(
                        "INSERT OR IGNORE INTO token_scopes (token_id, pattern) VALUES (?, ?)",
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
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT id, secret_sha256, label, admin, created_at, revoked_at FROM tokens WHERE id = ?",
        )
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
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT id, secret_sha256, label, admin, created_at, revoked_at FROM tokens ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(token_with_scope(&self.pool, row).await?);
        }
        Ok(out)
    }

    /// Marks a token revoked; it stops working at once.
    pub async fn revoke_token(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let result =
            sqlx::query("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(now_text())
                .bind(id)
                .execute(tx.conn())
                .await
                .map_err(StoreError::from_sqlx);
        let result = tx.finish(result).await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("active token {id}")));
        }
        Ok(())
    }
}

async fn token_with_scope(
    pool: &sqlx::SqlitePool,
    (id, secret_sha256, label, admin, created_at, revoked_at): (
        String,
        Vec<u8>,
        String,
        bool,
        String,
        Option<String>,
    ),
) -> Result<TokenRecord, StoreError> {
    let scope = if admin {
        Scope::Admin
    } else {
        let patterns: Vec<String> = sqlx::query_scalar(
            "SELECT pattern FROM token_scopes WHERE token_id = ? ORDER BY pattern",
        )
        .bind(&id)
        .fetch_all(pool)
        .await
        .map_err(StoreError::from_sqlx)?;
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
    Ok(TokenRecord {
        id,
        secret_sha256,
        label,
        scope,
        created_at,
        revoked_at,
    })
}
