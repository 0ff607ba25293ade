//! Durable storage of ddns: the only crate that knows SQL.
//!
//! SQLite by default, in WAL mode with `synchronous=FULL`, so a committed change survives a
//! crash or power loss before anyone is told it succeeded; PostgreSQL when several nodes share
//! one database (`[store] url`). Both run the same SQL (numbered `$N` placeholders, standard
//! `ON CONFLICT`, `COALESCE`); the few statements that differ ask [`Backend`]. Every change goes through [`Store::apply`], one
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
mod notify;
mod rates;
mod tokens;
mod views;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use ddns_core::snapshot::SoaParams;
use ddns_core::{DomainName, RecordSet, Rtype, Serial};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool};
use sqlx::{Connection as _, Executor as _};

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
pub use notify::ChangeListener;
pub use rates::ChargeCursor;
pub use tokens::{TokenChanges, TokenRecord};
pub use views::ViewRrset;

use crate::writer::Writer;

/// The SQLite schema migrations of this version (also what a backup is checked against).
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The PostgreSQL schema: the SQLite one as it stands after all its migrations, in one step.
static PG_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The advisory lock every ddns writer on PostgreSQL holds for its transaction ("ddns" in
/// ASCII): who writes shows in `pg_locks` as `objid` 1684303475.
pub const PG_WRITE_LOCK: i64 = 0x6464_6e73;

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

/// Which database engine a store is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One file in the data directory (the default).
    Sqlite,
    /// A PostgreSQL server, shared by every node of a cluster.
    Postgres,
}

impl Backend {
    /// The engine behind a connection.
    pub(crate) fn of(conn: &AnyConnection) -> Self {
        if conn.backend_name() == "PostgreSQL" {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }

    /// The engine a database URL names: `sqlite:` or `postgres://` / `postgresql://`.
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            _ => Err(StoreError::Invalid(format!(
                "store URL {:?}: the scheme must be sqlite: or postgres://",
                redact_url(url)
            ))),
        }
    }

    /// The engine's name, as logs and `ddns status` say it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }

    /// Settings every new connection gets: how long to wait for another writer's lock (the
    /// busy timeout), and on SQLite the durability of each commit.
    async fn prepare(self, conn: &mut AnyConnection, busy: Duration) -> Result<(), sqlx::Error> {
        let millis = busy.as_millis().min(i32::MAX as u128);
        match self {
            Self::Sqlite => {
                // FULL: the WAL is synced at every commit, so an acknowledged update survives
                // power loss, not only a process crash.
                let sql = format!(
                    "PRAGMA busy_timeout = {millis}; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON"
                );
                conn.execute(sqlx::AssertSqlSafe(sql)).await?;
            }
            Self::Postgres => {
                // Notices (a migration's "already exists, skipping") are not for our logs.
                let sql = format!("SET lock_timeout = {millis}; SET client_min_messages = warning");
                conn.execute(sqlx::AssertSqlSafe(sql)).await?;
            }
        }
        Ok(())
    }
}

/// The database.
#[derive(Debug)]
pub struct Store {
    backend: Backend,
    /// Reads on behalf of requests.
    pool: AnyPool,
    /// Token lookups only.
    auth_pool: AnyPool,
    /// The follower's reads only (replay, rebuilds, retention).
    replay_pool: AnyPool,
    writer: Writer,
}

/// Every connection of one pool, held by a test to show what does not depend on that pool
/// (see [`Store::hold_request_pool`], [`Store::hold_auth_pool`]).
#[doc(hidden)]
#[derive(Debug)]
pub struct PoolHold(#[allow(dead_code)] Vec<sqlx::pool::PoolConnection<sqlx::Any>>);

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
        Self::open_url(&sqlite_url(path)?, None, options).await
    }

    /// Opens the database a URL names (`sqlite:FILE?mode=rwc`, `postgres://user@host/db`),
    /// with `password` (from a file, kept out of the URL) if given, and brings its schema up
    /// to date. A PostgreSQL database must exist; its tables are created on first use.
    pub async fn open_url(
        url: &str,
        password: Option<&str>,
        options: &StoreOptions,
    ) -> Result<Self, StoreError> {
        let backend = Backend::of_url(url)?;
        sqlx::any::install_default_drivers();
        let mut connect = AnyConnectOptions::from_str(url)
            .map_err(|e| StoreError::Invalid(format!("store URL {:?}: {e}", redact_url(url))))?;
        if let Some(password) = password {
            connect
                .database_url
                .set_password(Some(password))
                .map_err(|()| {
                    StoreError::Invalid(format!(
                        "store URL {:?}: a password needs a user@host URL",
                        redact_url(url)
                    ))
                })?;
        }
        if backend == Backend::Sqlite {
            // Once, before any pool: switching to WAL needs the file to itself, a lock the
            // busy timeout does not wait for. The mode is kept in the file from then on.
            let mut conn = AnyConnection::connect_with(&connect)
                .await
                .map_err(StoreError::from_sqlx)?;
            conn.execute("PRAGMA journal_mode = WAL")
                .await
                .map_err(StoreError::from_sqlx)?;
            let _ = conn.close().await;
        }
        let busy = options.busy_timeout;
        let pool_of = |size: u32| {
            AnyPoolOptions::new()
                .max_connections(size.max(1))
                .acquire_timeout(busy + Duration::from_secs(5))
                .after_connect(move |conn, _| {
                    Box::pin(async move { backend.prepare(conn, busy).await })
                })
                .connect_with(connect.clone())
        };
        let pool = pool_of(options.max_connections)
            .await
            .map_err(StoreError::from_sqlx)?;
        let migrator = match backend {
            Backend::Sqlite => &MIGRATOR,
            Backend::Postgres => &PG_MIGRATOR,
        };
        migrator
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
            backend,
            pool,
            auth_pool,
            replay_pool,
            writer: Writer::new(connect, backend, busy),
        };
        if backend == Backend::Sqlite {
            legacy::convert(&store).await?;
        }
        Ok(store)
    }

    /// The engine this store is on.
    pub fn backend(&self) -> Backend {
        self.backend
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
                "INSERT INTO zones (name, serial, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT(name) DO NOTHING",
            )
            .bind(zone.as_str())
            .bind(i64::from(initial.0))
            .bind(now_text())
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
            let serial: i64 = sqlx::query_scalar("SELECT serial FROM zones WHERE name = $1")
                .bind(zone.as_str())
                .fetch_one(tx.conn())
                .await
                .map_err(StoreError::from_sqlx)?;
            let serial = serial_from_db(serial)?;
            sqlx::query("UPDATE zones SET soa = $1, soa_ttl = $2 WHERE name = $3 AND soa IS NULL")
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

    async fn zones_on(&self, pool: &AnyPool) -> Result<Vec<ZoneRow>, StoreError> {
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

async fn hold(pool: &AnyPool) -> Result<PoolHold, StoreError> {
    let mut held = Vec::new();
    for _ in 0..pool.options().get_max_connections() {
        held.push(pool.acquire().await.map_err(StoreError::from_sqlx)?);
    }
    Ok(PoolHold(held))
}

/// The `sqlite:` URL of a database file. Every byte but the unreserved ones is
/// percent-encoded, so any path survives as it is (`C:\\ddns\\db`, `#`, `?`, spaces):
/// sqlx decodes the path back before it opens the file.
fn sqlite_url(path: &Path) -> Result<String, StoreError> {
    let text = path.to_str().ok_or_else(|| StoreError::Io {
        path: path.display().to_string(),
        message: "the path is not UTF-8".into(),
    })?;
    let mut url = String::from("sqlite:");
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url.push_str("?mode=rwc");
    Ok(url)
}

/// A database URL as it may be shown: without its password.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "(not a URL)".to_owned(),
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

/// `count` placeholders for parameters `first..first + count`, comma-separated: dynamic
/// `IN (…)` lists. Numbered (`$N`) on PostgreSQL; on SQLite anonymous `?`, bound in order, so
/// the statement must have no other placeholder: SQLite finds a numbered or named parameter
/// by a linear search (`sqlite3_bind_parameter_name`), which made a statement of thousands of
/// parameters quadratic (a zone import 6× slower). Otherwise see [`numbered`].
pub(crate) fn params(backend: Backend, first: usize, count: usize) -> String {
    match backend {
        Backend::Sqlite => vec!["?"; count].join(", "),
        Backend::Postgres => numbered(first, count),
    }
}

/// `$first, …` on either engine, for a list beside other numbered placeholders (a few
/// hundred at most on SQLite, see [`params`]).
pub(crate) fn numbered(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `rows` parenthesised groups of `columns` placeholders, for a multi-row `VALUES` that is
/// the statement's only placeholders (see [`params`]).
pub(crate) fn value_rows(backend: Backend, columns: usize, rows: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", params(backend, r * columns + 1, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_path_survives_its_sqlite_url() {
        for path in [
            "/var/lib/ddns/ddns.sqlite3",
            "relative dir/with #hash?/ddns.sqlite3",
            "C:\\ProgramData\\ddns\\数据\\ddns.sqlite3",
        ] {
            let url = sqlite_url(Path::new(path)).expect("UTF-8 path");
            let any = AnyConnectOptions::from_str(&url).expect("a URL");
            let sqlite = sqlx::sqlite::SqliteConnectOptions::try_from(&any).expect("sqlite");
            assert_eq!(sqlite.get_filename(), Path::new(path), "{url}");
        }
    }

    #[test]
    fn urls_name_their_engine_and_hide_their_password() {
        assert_eq!(Backend::of_url("sqlite:x.db").ok(), Some(Backend::Sqlite));
        assert_eq!(
            Backend::of_url("postgresql://ddns@db/ddns").ok(),
            Some(Backend::Postgres)
        );
        assert!(matches!(
            Backend::of_url("mysql://db/ddns"),
            Err(StoreError::Invalid(_))
        ));
        let shown = redact_url("postgres://ddns:s3cret@db:5432/ddns");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("ddns:***@db"), "{shown}");
    }
}
