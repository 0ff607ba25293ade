//! The one connection that writes, and the transactions on it.
//!
//! Writes in this process queue on an async mutex instead of in SQLite's busy handler, and take
//! the database's write lock up front, so a transaction never fails half-way because another
//! one started first: `BEGIN IMMEDIATE` on SQLite; on PostgreSQL a transaction-scoped advisory
//! lock that every node's writer takes, so serial steps and journal positions are handed out
//! one writer at a time and become visible in the order they were given. The connection is
//! kept apart from the readers' pool so its state is always known: a transaction that fails to
//! commit (a full disk) or whose caller went away mid-way is rolled back, and after any failure
//! the connection is replaced by a fresh one rather than trusted again.

use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::any::AnyConnectOptions;
use sqlx::{ConnectOptions, Executor};
use tokio::sync::{Mutex, MutexGuard};

use crate::{Backend, PG_WRITE_LOCK, StoreError};

#[derive(Debug)]
struct Slot {
    conn: Option<AnyConnection>,
    /// A `WriteTx` began and was dropped without `finish` (its task was cancelled).
    open: bool,
}

/// The writer connection.
#[derive(Debug)]
pub(crate) struct Writer {
    connect: AnyConnectOptions,
    backend: Backend,
    busy: Duration,
    slot: Mutex<Slot>,
}

/// An open write transaction; end it with [`WriteTx::finish`].
pub(crate) struct WriteTx<'a> {
    slot: MutexGuard<'a, Slot>,
}

impl Writer {
    pub(crate) fn new(connect: AnyConnectOptions, backend: Backend, busy: Duration) -> Self {
        Self {
            connect,
            backend,
            busy,
            slot: Mutex::new(Slot {
                conn: None,
                open: false,
            }),
        }
    }

    /// What the writer connects with (the listener of `notify.rs` connects alike).
    pub(crate) fn connect_options(&self) -> &AnyConnectOptions {
        &self.connect
    }

    /// Waits for the other writers of this process, then for the database's write lock.
    pub(crate) async fn begin(&self) -> Result<WriteTx<'_>, StoreError> {
        let mut slot = self.slot.lock().await;
        if slot.open {
            // The previous transaction's task was cancelled: undo it, or start afresh.
            let rolled_back = match slot.conn.as_mut() {
                Some(conn) => conn.execute("ROLLBACK").await.is_ok(),
                None => true,
            };
            if !rolled_back {
                slot.conn = None;
            }
            slot.open = false;
        }
        // A kept connection may have been closed by the database meanwhile (a PostgreSQL
        // restart, an idle timeout): nothing is written yet, so begin once more on a fresh one.
        let mut fresh = false;
        loop {
            if slot.conn.is_none() {
                let mut conn = self
                    .connect
                    .connect()
                    .await
                    .map_err(StoreError::from_sqlx)?;
                self.backend
                    .prepare(&mut conn, self.busy)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                slot.conn = Some(conn);
                fresh = true;
            }
            let backend = self.backend;
            let begun = match slot.conn.as_mut() {
                Some(conn) => begin_on(conn, backend).await,
                None => Err(StoreError::Database("no writer connection".into())),
            };
            match begun {
                Ok(()) => {
                    slot.open = true;
                    return Ok(WriteTx { slot });
                }
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => {
                    slot.conn = None;
                    if fresh {
                        return Err(e);
                    }
                }
            }
        }
    }
}

async fn begin_on(conn: &mut AnyConnection, backend: Backend) -> Result<(), StoreError> {
    match backend {
        Backend::Sqlite => conn.execute("BEGIN IMMEDIATE").await,
        Backend::Postgres => {
            conn.execute("BEGIN").await.map_err(StoreError::from_sqlx)?;
            let locked = sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PG_WRITE_LOCK)
                .execute(&mut *conn)
                .await;
            if locked.is_err() {
                let _ = conn.execute("ROLLBACK").await;
            }
            locked
        }
    }
    .map(drop)
    .map_err(StoreError::from_sqlx)
}

impl WriteTx<'_> {
    /// The connection, inside the transaction.
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        match self.slot.conn.as_mut() {
            Some(conn) => conn,
            // `begin` only hands out a WriteTx with a connection in place.
            None => unreachable!("write transaction without a connection"),
        }
    }

    /// Commits when `result` is `Ok`, rolls back otherwise; returns `result`, or the commit's
    /// error. After any failure the connection is replaced on the next `begin`.
    pub(crate) async fn finish<T>(
        mut self,
        result: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let outcome = match result {
            Ok(value) => self
                .conn()
                .execute("COMMIT")
                .await
                .map(|_| value)
                .map_err(StoreError::from_sqlx),
            Err(e) => Err(e),
        };
        if outcome.is_err() {
            // The database may already have rolled back (SQLite does after SQLITE_FULL, and
            // PostgreSQL after any error in the transaction); either way this
            // connection's state is not to be trusted again.
            let _ = self.conn().execute("ROLLBACK").await;
            self.slot.conn = None;
        }
        self.slot.open = false;
        outcome
    }
}
