//! Telling every node of a cluster that something was committed: PostgreSQL's `NOTIFY` inside
//! the transaction that writes a journal entry or changes a token (delivered when, and only if,
//! it commits), `LISTEN` in each node's follower. SQLite has nothing of the kind; its followers
//! poll, and on PostgreSQL the poll stays as the fallback for a notification lost with a
//! connection.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{AnyConnection, Executor};

use crate::{Backend, Store, StoreError};

/// The channel every node listens on; the payload is empty (a follower reads what changed).
const CHANNEL: &str = "ddns_changes";

/// Wakes the other nodes' followers once this transaction commits (nothing on SQLite).
/// PostgreSQL folds repeats within one transaction into one notification.
pub(crate) async fn announce(conn: &mut AnyConnection) -> Result<(), StoreError> {
    if Backend::of(conn) == Backend::Postgres {
        conn.execute("NOTIFY ddns_changes")
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    Ok(())
}

/// A connection of its own that listens for commits of any node.
pub struct ChangeListener {
    listener: PgListener,
}

impl std::fmt::Debug for ChangeListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeListener").finish_non_exhaustive()
    }
}

impl ChangeListener {
    /// Waits for the next commit announced by any node (this one included), then takes every
    /// notification already waiting too, so a burst of commits wakes the follower once. When
    /// the connection is lost it is reconnected on the next call; meanwhile this errs after a
    /// pause, and the caller's poll covers what was missed.
    pub async fn changed(&mut self) -> Result<(), StoreError> {
        match self.listener.recv().await {
            Ok(_) => {
                while self.listener.next_buffered().is_some() {}
                Ok(())
            }
            Err(e) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Err(StoreError::from_sqlx(e))
            }
        }
    }
}

impl Store {
    /// A listener for the commits of every node, on PostgreSQL; `None` on SQLite.
    pub async fn listen(&self) -> Result<Option<ChangeListener>, StoreError> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let options = PgConnectOptions::try_from(self.writer.connect_options())
            .map_err(StoreError::from_sqlx)?;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with(options);
        let mut listener = PgListener::connect_with(&pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        listener
            .listen(CHANNEL)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(Some(ChangeListener { listener }))
    }
}
