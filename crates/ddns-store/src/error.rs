//! Storage errors of either engine, classified so the edges can answer precisely: a busy database is worth a
//! retry (`dnserr`, HTTP 503), a full disk or a broken file is not (`911`).

/// Why a storage operation failed.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another writer held the database longer than the busy timeout.
    #[error("the database is busy (another writer holds it); try again")]
    Busy,
    /// The disk or the database's size limit is full.
    #[error("the disk holding the database is full")]
    Full,
    /// The database cannot be written (read-only file system or file).
    #[error("the database is read-only")]
    ReadOnly,
    /// An `If-Match` version did not match.
    #[error("{name} is at version {current}, not {expected}")]
    VersionMismatch {
        /// The host.
        name: String,
        /// The version the writer expected.
        expected: i64,
        /// The version stored.
        current: i64,
    },
    /// The zone changed after the journal position the writer planned on.
    #[error("zone {zone} changed meanwhile (journal position {current}, planned on {expected})")]
    ZoneMoved {
        /// The zone.
        zone: String,
        /// The position the writer expected.
        expected: i64,
        /// The position stored.
        current: i64,
    },
    /// The host or token does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// The change would break a DNS rule (CNAME and other data at one name).
    #[error("{0}")]
    Conflict(String),
    /// The change would create a host beyond the caller's quota.
    #[error("this token already has {max} hosts, its limit; delete one first")]
    HostQuota {
        /// The quota.
        max: u32,
    },
    /// Data handed to the store that breaks a rule only visible there (an import's repeated
    /// owner and type that do not form a valid RRset together).
    #[error("{0}")]
    Invalid(String),
    /// A streamed write ended without its end marker (the producer failed): rolled back.
    #[error("the import was abandoned before its end; nothing was written")]
    Aborted,
    /// No zone row for a name.
    #[error("no zone in the database contains {0}")]
    UnknownZone(String),
    /// Stored data that does not parse.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The data directory could not be created.
    #[error("cannot create {path}: {message}")]
    Io {
        /// The directory.
        path: String,
        /// The OS error.
        message: String,
    },
    /// The data directory is held by another process (a server, a restore).
    #[error("{0}")]
    Locked(String),
    /// Schema migration failed.
    #[error("database migration failed: {0}")]
    Migrate(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(String),
}

impl StoreError {
    /// True when the same request may succeed later without anyone fixing anything.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Busy)
    }

    pub(crate) fn from_sqlx(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut => Self::Busy,
            sqlx::Error::Database(db)
                if db
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .is_some() =>
            {
                // PostgreSQL reports SQLSTATE classes (Appendix A of its manual).
                match db.code().as_deref() {
                    // serialization_failure, deadlock_detected, lock_not_available,
                    // too_many_connections, cannot_connect_now
                    Some("40001" | "40P01" | "55P03" | "53300" | "57P03") => Self::Busy,
                    Some("53100") => Self::Full,     // disk_full
                    Some("25006") => Self::ReadOnly, // read_only_sql_transaction
                    _ => Self::Database(error.to_string()),
                }
            }
            sqlx::Error::Database(db) => {
                // SQLite reports extended result codes; the primary code is the low byte.
                let code = db
                    .code()
                    .and_then(|c| c.parse::<i64>().ok())
                    .map(|c| c & 0xff);
                match code {
                    Some(5 | 6) => Self::Busy, // SQLITE_BUSY, SQLITE_LOCKED
                    Some(13) => Self::Full,    // SQLITE_FULL
                    Some(8) => Self::ReadOnly, // SQLITE_READONLY
                    _ => Self::Database(error.to_string()),
                }
            }
            _ => Self::Database(error.to_string()),
        }
    }
}
