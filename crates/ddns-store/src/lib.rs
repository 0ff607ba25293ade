//! Durable storage of ddns: the only crate that knows SQL.
//!
//! SQLite in WAL mode with `synchronous=FULL`, so a committed change survives a crash or power
//! loss before anyone is told it succeeded. Every change goes through [`Store::apply`], one
//! transaction that writes the record sets, bumps the version of each touched host and the
//! serial of each touched zone, and appends one history row per changed RRset. Other processes
//! on the same database (the CLI, later other nodes) see those rows and replay them.
//!
//! All writes go through one connection of their own (`writer.rs`); readers use a pool.

mod changes;
mod error;
mod hosts;
mod tokens;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use ddns_core::{DomainName, RecordData, RecordSet, RecordType, Serial};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use changes::{Applied, ChangeSet, HistoryRow, RrsetWrite};
pub use error::StoreError;
pub use hosts::{HostRecord, StoredRrset};
pub use tokens::TokenRecord;

use crate::writer::Writer;

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "ddns.sqlite3";

/// How the database is opened.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// How long a writer waits for another process's write lock before giving up (`dnserr`).
    pub busy_timeout: Duration,
    /// Connections in the pool (readers; writes are serialised anyway).
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            max_connections: 4,
        }
    }
}

/// The database.
#[derive(Debug)]
pub struct Store {
    pool: SqlitePool,
    writer: Writer,
}

impl Store {
    /// Opens (creating if needed) `DIR/ddns.sqlite3` and brings its schema up to date.
    pub async fn open_dir(dir: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Io {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        Self::open(&dir.join(DB_FILE), options).await
    }

    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: the WAL is synced at every commit, so an acknowledged update survives
            // power loss, not only a process crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.busy_timeout + Duration::from_secs(5))
            .connect_with(connect.clone())
            .await
            .map_err(StoreError::from_sqlx)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))?;
        Ok(Self {
            pool,
            writer: Writer::new(connect),
        })
    }

    /// Closes the pool, checkpointing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Makes sure a row exists for `zone`; returns its serial (new zones start at `initial`).
    pub async fn ensure_zone(
        &self,
        zone: &DomainName,
        initial: Serial,
    ) -> Result<Serial, StoreError> {
        let mut tx = self.writer.begin().await?;
        let result = async {
            sqlx::query(
                "INSERT INTO zones (name, serial, created_at) VALUES (?, ?, ?) \
                 ON CONFLICT(name) DO NOTHING",
            )
            .bind(zone.as_str())
            .bind(i64::from(initial.0))
            .bind(now_text())
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
            let serial: i64 = sqlx::query_scalar("SELECT serial FROM zones WHERE name = ?")
                .bind(zone.as_str())
                .fetch_one(tx.conn())
                .await
                .map_err(StoreError::from_sqlx)?;
            serial_from_db(serial)
        }
        .await;
        tx.finish(result).await
    }

    /// Every zone known to the database with its serial.
    pub async fn zones(&self) -> Result<Vec<(DomainName, Serial)>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT name, serial FROM zones ORDER BY name")
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::from_sqlx)?;
        rows.into_iter()
            .map(|(name, serial)| Ok((name_from_db(&name)?, serial_from_db(serial)?)))
            .collect()
    }

    /// The deepest zone known to the database that contains `name`.
    pub async fn zone_for(&self, name: &DomainName) -> Result<Option<DomainName>, StoreError> {
        Ok(self
            .zones()
            .await?
            .into_iter()
            .map(|(z, _)| z)
            .filter(|z| name.is_at_or_below(z))
            .max_by_key(DomainName::label_count))
    }
}

pub(crate) fn now_text() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub(crate) fn name_from_db(text: &str) -> Result<DomainName, StoreError> {
    DomainName::parse(text).map_err(|e| StoreError::Corrupt(format!("name {text:?}: {e}")))
}

pub(crate) fn serial_from_db(value: i64) -> Result<Serial, StoreError> {
    u32::try_from(value)
        .map(Serial)
        .map_err(|_| StoreError::Corrupt(format!("serial {value} out of range")))
}

pub(crate) fn rrset_from_db(rtype: &str, ttl: i64, rdata: &str) -> Result<RecordSet, StoreError> {
    let corrupt = |why: String| StoreError::Corrupt(format!("{rtype} record set: {why}"));
    let rtype = RecordType::parse(rtype).map_err(|e| corrupt(e.to_string()))?;
    let values: Vec<String> = serde_json::from_str(rdata).map_err(|e| corrupt(e.to_string()))?;
    let data = RecordData::parse(rtype, &values).map_err(|e| corrupt(e.to_string()))?;
    let ttl = u32::try_from(ttl).map_err(|e| corrupt(e.to_string()))?;
    RecordSet::new(ttl, data).map_err(|e| corrupt(e.to_string()))
}

pub(crate) fn rdata_to_db(set: &RecordSet) -> String {
    serde_json::Value::from(set.data.to_strings()).to_string()
}

/// Parses an IP address stored as text (history rows).
pub(crate) fn ip_from_db(text: Option<String>) -> Option<std::net::IpAddr> {
    text.and_then(|t| std::net::IpAddr::from_str(&t).ok())
}
