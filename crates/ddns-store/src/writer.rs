//! The one connection that writes, and the transactions on it.
//!
//! Writes in this process queue on an async mutex instead of in SQLite's busy handler, and take
//! the write lock up front (`BEGIN IMMEDIATE`), so a transaction never fails half-way because
//! another one started first. The connection is kept apart from the readers' pool so its state
//! is always known: a transaction that fails to commit (a full disk) or whose caller went away
//! mid-way is rolled back, and after any failure the connection is replaced by a fresh one
//! rather than trusted again.

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Executor};
use tokio::sync::{Mutex, MutexGuard};

use crate::StoreError;

#[derive(Debug)]
struct Slot {
    conn: Option<SqliteConnection>,
    /// A `WriteTx` began and was dropped without `finish` (its task was cancelled).
    open: bool,
}

/// The writer connection.
#[derive(Debug)]
pub(crate) struct Writer {
    connect: SqliteConnectOptions,
    slot: Mutex<Slot>,
}

/// An open write transaction; end it with [`WriteTx::finish`].
pub(crate) struct WriteTx<'a> {
    slot: MutexGuard<'a, Slot>,
}

impl Writer {
    pub(crate) fn new(connect: SqliteConnectOptions) -> Self {
        Self {
            connect,
            slot: Mutex::new(Slot {
                conn: None,
                open: false,
            }),
        }
    }

    /// Waits for the other writers of this process, then `BEGIN IMMEDIATE`.
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
        if slot.conn.is_none() {
            slot.conn = Some(
                self.connect
                    .connect()
                    .await
                    .map_err(StoreError::from_sqlx)?,
            );
        }
        let begun = match slot.conn.as_mut() {
            Some(conn) => conn
                .execute("BEGIN IMMEDIATE")
                .await
                .map_err(StoreError::from_sqlx),
            None => Err(StoreError::Database("no writer connection".into())),
        };
        match begun {
            Ok(_) => {
                slot.open = true;
                Ok(WriteTx { slot })
            }
            Err(e) => {
                if !e.is_transient() {
                    slot.conn = None;
                }
                Err(e)
            }
        }
    }
}

impl WriteTx<'_> {
    /// The connection, inside the transaction.
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
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
            // SQLite may already have rolled back (it does after SQLITE_FULL); either way this
            // connection's state is not to be trusted again.
            let _ = self.conn().execute("ROLLBACK").await;
            self.slot.conn = None;
        }
        self.slot.open = false;
        outcome
    }
}
