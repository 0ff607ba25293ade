//! Durable storage of ddns: the only crate that knows SQL.
//!
//! SQLite in WAL mode with `synchronous=FULL`, so a committed change survives a crash or power
//! loss before anyone is told it succeeded. Every change goes through [`Store::apply`], one
//! transaction that writes the record sets (every type, RDATA in wire form), bumps the version
//! of each touched host, takes one serial step per touched zone with one journal entry, and
//! appends one history row per changed RRset. Other processes on the same database (the CLI,
//! later other nodes) read each zone's journal in order and replay it.
//!
//! All writes go through one connection of their own (`writer.rs`). Reads use three pools,
//! so a flood of one kind cannot starve the others: the request pool (host listings, history,
//! what the edges read), a small pool for authentication (token lookups of tokens the server
//! does not hold in memory), and one for the follower (journal replay, zone rebuilds, retention
//! and the token change counter), which is what publishes committed changes to DNS.

mod audit;
mod backup;
mod changes;
mod console;
mod error;
mod history;
mod hosts;
mod import;
mod journal;
mod legacy;
mod members;
mod tokens;
mod views;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use ddns_core::snapshot::SoaParams;
use ddns_core::{DomainName, RecordSet, Rtype, Serial};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use audit::{
    AdminAction, AdminRow, AuditCursor, AuditEntry, AuditQuery, parse_time, time_text,
};
pub use backup::{BackupInfo, DirLock, LOCK_FILE, check_backup, restore};
pub use changes::{Applied, ChangeSet, HistoryRow, RrsetWrite};
pub use console::HostSearch;
pub use error::StoreError;
pub use history::HistoryRetention;
pub use hosts::{HostFilter, HostQuota, HostRecord, StoredRrset, ZoneRecords};
pub use import::{ImportBatch, ImportRrset, Imported};
pub use journal::{JournalRetention, JournalRow};
pub use members::{Family, Member};
pub use tokens::{TokenChanges, TokenRecord};
pub use views::ViewRrset;

use crate::writer::Writer;

/// The schema migrations of this version (also what a backup is checked against).
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "ddns.sqlite3";

/// How the database is opened.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// How long a writer waits for another process's write lock before giving up (`dnserr`).
    pub busy_timeout: Duration,
    /// Connections in the request pool (readers; writes are serialised anyway).
    pub max_connections: u32,
    /// Connections kept for authentication (token lookups) alone.
    pub auth_connections: u32,
    /// Connections kept for the follower alone: journal replay, zone rebuilds, retention.
    pub replay_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            max_connections: 4,
            auth_connections: 2,
            replay_connections: 1,
        }
    }
}

/// A zone as the database knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneRow {
    /// Origin.
    pub name: DomainName,
    /// Current serial.
    pub serial: Serial,
    /// Position of the newest journal entry (0: none yet).
    pub journal_seq: i64,
    /// SOA fields (`None` until a server configured the zone).
    pub soa: Option<SoaParams>,
}

/// The database.
#[derive(Debug)]
pub struct Store {
    /// Reads on behalf of requests.
    pool: SqlitePool,
    /// Token lookups only.
    auth_pool: SqlitePool,
    /// The follower's reads only (replay, rebuilds, retention).
    replay_pool: SqlitePool,
    writer: Writer,
}

/// Every connection of one pool, held by a test to show what does not depend on that pool
/// (see [`Store::hold_request_pool`], [`Store::hold_auth_pool`]).
#[doc(hidden)]
#[derive(Debug)]
pub struct PoolHold(#[allow(dead_code)] Vec<sqlx::pool::PoolConnection<sqlx::Sqlite>>);

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
        let pool_of = |size: u32| {
            SqlitePoolOptions::new()
                .max_connections(size.max(1))
                .acquire_timeout(options.busy_timeout + Duration::from_secs(5))
                .connect_with(connect.clone())
        };
        let pool = pool_of(options.max_connections)
            .await
            .map_err(StoreError::from_sqlx)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))?;
        let auth_pool = pool_of(options.auth_connections)
            .await
            .map_err(StoreError::from_sqlx)?;
        let replay_pool = pool_of(options.replay_connections)
            .await
            .map_err(StoreError::from_sqlx)?;
        let store = Self {
            pool,
            auth_pool,
            replay_pool,
            writer: Writer::new(connect),
        };
        legacy::convert(&store).await?;
        Ok(store)
    }

    /// True until [`close`](Self::close): the pools hand out connections.
    pub fn is_open(&self) -> bool {
        !(self.pool.is_closed() || self.auth_pool.is_closed() || self.replay_pool.is_closed())
    }

    /// Closes the pools, checkpointing the WAL.
    pub async fn close(&self) {
        self.auth_pool.close().await;
        self.replay_pool.close().await;
        self.pool.close().await;
    }

    /// Takes every connection of the request pool and keeps them until the hold is dropped:
    /// for tests that show authentication and replay go on while requests saturate the pool.
    #[doc(hidden)]
    pub async fn hold_request_pool(&self) -> Result<PoolHold, StoreError> {
        hold(&self.pool).await
    }

    /// Takes every connection of the authentication pool until the hold is dropped: for tests
    /// that show a token held in memory is accepted without a store read.
    #[doc(hidden)]
    pub async fn hold_auth_pool(&self) -> Result<PoolHold, StoreError> {
        hold(&self.auth_pool).await
    }

    /// Makes sure a row exists for `zone`; new zones start at `initial` with `soa`, and a zone
    /// without an SOA yet (made by the CLI or an older version) gets `soa`. Returns the serial.
    pub async fn ensure_zone(
        &self,
        zone: &DomainName,
        initial: Serial,
        soa: &SoaParams,
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
            let serial = serial_from_db(serial)?;
            sqlx::query("UPDATE zones SET soa = ?, soa_ttl = ? WHERE name = ? AND soa IS NULL")
                .bind(soa.rdata(serial))
                .bind(i64::from(soa.ttl))
                .bind(zone.as_str())
                .execute(tx.conn())
                .await
                .map_err(StoreError::from_sqlx)?;
            Ok(serial)
        }
        .await;
        tx.finish(result).await
    }

    /// Every zone known to the database.
    pub async fn zones(&self) -> Result<Vec<ZoneRow>, StoreError> {
        self.zones_on(&self.pool).await
    }

    async fn zones_on(&self, pool: &SqlitePool) -> Result<Vec<ZoneRow>, StoreError> {
        #[allow(clippy::type_complexity)] // name, serial, journal_seq, soa, soa_ttl
        let rows: Vec<(String, i64, i64, Option<Vec<u8>>, Option<i64>)> = sqlx::query_as(
            "SELECT name, serial, journal_seq, soa, soa_ttl FROM zones ORDER BY name",
        )
        .fetch_all(pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.into_iter()
            .map(|(name, serial, seq, soa, soa_ttl)| {
                let name = name_from_db(&name)?;
                let soa = match (soa, soa_ttl) {
                    (Some(rdata), Some(ttl)) => {
                        let ttl = u32::try_from(ttl)
                            .map_err(|_| StoreError::Corrupt(format!("zone {name}: SOA TTL")))?;
                        Some(
                            SoaParams::from_rdata(&rdata, ttl)
                                .ok_or_else(|| StoreError::Corrupt(format!("zone {name}: SOA")))?
                                .0,
                        )
                    }
                    _ => None,
                };
                Ok(ZoneRow {
                    name,
                    serial: serial_from_db(serial)?,
                    journal_seq: seq,
                    soa,
                })
            })
            .collect()
    }

    /// One zone (read on the follower's pool: rebuilding a zone needs it).
    pub async fn zone(&self, zone: &DomainName) -> Result<Option<ZoneRow>, StoreError> {
        Ok(self
            .zones_on(&self.replay_pool)
            .await?
            .into_iter()
            .find(|z| &z.name == zone))
    }

    /// The deepest zone known to the database that contains `name`.
    pub async fn zone_for(&self, name: &DomainName) -> Result<Option<DomainName>, StoreError> {
        Ok(self
            .zones()
            .await?
            .into_iter()
            .map(|z| z.name)
            .filter(|z| name.is_at_or_below(z))
            .max_by_key(DomainName::label_count))
    }
}

async fn hold(pool: &SqlitePool) -> Result<PoolHold, StoreError> {
    let mut held = Vec::new();
    for _ in 0..pool.options().get_max_connections() {
        held.push(pool.acquire().await.map_err(StoreError::from_sqlx)?);
    }
    Ok(PoolHold(held))
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

pub(crate) fn rtype_from_db(value: i64) -> Result<Rtype, StoreError> {
    u16::try_from(value)
        .map(Rtype)
        .map_err(|_| StoreError::Corrupt(format!("record type {value} out of range")))
}

pub(crate) fn set_from_db(rtype: Rtype, ttl: i64, rdata: &[u8]) -> Result<RecordSet, StoreError> {
    let ttl = u32::try_from(ttl)
        .map_err(|_| StoreError::Corrupt(format!("{rtype} record set: TTL {ttl}")))?;
    RecordSet::decode(rtype, ttl, rdata)
        .map_err(|e| StoreError::Corrupt(format!("{rtype} record set: {e}")))
}

/// Parses an IP address stored as text (history rows).
pub(crate) fn ip_from_db(text: Option<String>) -> Option<std::net::IpAddr> {
    text.and_then(|t| std::net::IpAddr::from_str(&t).ok())
}
