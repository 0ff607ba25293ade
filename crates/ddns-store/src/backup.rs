//! Backups of the store: a consistent copy taken while the server runs and writes
//! (`VACUUM INTO`, a read transaction, so writers in WAL mode are not held up), the check a
//! file passes before it may replace the store, the replacement itself (the replaced store is
//! kept beside it), and the data directory lock that tells a restore whether a server runs.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::{DB_FILE, MIGRATOR, Store, StoreError};

/// The lock file in the data directory: a running server holds a shared lock on it for its
/// whole life, a restore an exclusive one. The kernel drops a lock when its process dies, so
/// a crashed server leaves nothing stale behind.
pub const LOCK_FILE: &str = "server.lock";

/// A lock on a data directory, held until dropped.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// The server's lock: shared, so servers that share a data directory do not exclude each
    /// other; refused while a restore holds the directory.
    pub fn server(dir: &Path) -> Result<Self, StoreError> {
        let (path, file) = lock_file(dir)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(StoreError::Locked(format!(
                "a restore holds {} (see `ddns restore`); start the server once it is done",
                path.display()
            ))),
            Err(TryLockError::Error(e)) => Err(io_error(&path, &e)),
        }
    }

    /// A restore's lock: exclusive. `Ok(None)` when a server holds the directory.
    pub fn exclusive(dir: &Path) -> Result<Option<Self>, StoreError> {
        let (path, file) = lock_file(dir)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(io_error(&path, &e)),
        }
    }
}

fn lock_file(dir: &Path) -> Result<(PathBuf, File), StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, &e))?;
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_error(&path, &e))?;
    Ok((path, file))
}

fn io_error(path: &Path, e: &std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// What a checked backup holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupInfo {
    /// The newest schema migration applied to it.
    pub migration: i64,
    /// Zones in it.
    pub zones: i64,
    /// Hosts in it.
    pub hosts: i64,
}

impl Store {
    /// Writes a consistent copy of the database to `file` (which must not exist): everything
    /// committed when the copy began, nothing after. The copy is written beside `file` under
    /// a temporary name, synced, and renamed into place, so `file` is complete or absent.
    pub async fn backup_into(&self, file: &Path) -> Result<(), StoreError> {
        if self.backend == crate::Backend::Postgres {
            return Err(StoreError::Invalid(
                "this store is on PostgreSQL: back it up with pg_dump (or the server's own \
                 backups); ddns backup copies a SQLite store"
                    .into(),
            ));
        }
        if file.exists() {
            return Err(StoreError::Io {
                path: file.display().to_string(),
                message: "exists already; a backup never overwrites a file".into(),
            });
        }
        let partial = side_name(file, "partial");
        match std::fs::remove_file(&partial) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&partial, &e)),
        }
        let target = partial
            .to_str()
            .ok_or_else(|| StoreError::Io {
                path: partial.display().to_string(),
                message: "the path is not UTF-8".into(),
            })?
            .to_owned();
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        sync_and_rename(&partial, file)
    }
}

/// Checks a backup before it may replace a store: SQLite's own integrity check, and a schema
/// this version knows (every migration in it is one of ours, unchanged). Opens it read-only.
pub async fn check_backup(file: &Path) -> Result<BackupInfo, StoreError> {
    let bad = |why: String| StoreError::Invalid(format!("{}: {why}", file.display()));
    if !file.is_file() {
        return Err(bad("no such file".into()));
    }
    let options = SqliteConnectOptions::new().filename(file).read_only(true);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| bad(format!("cannot be opened as SQLite: {e}")))?;
    let result = check_open(&mut conn).await.map_err(bad);
    let _ = conn.close().await;
    result
}

async fn check_open(conn: &mut SqliteConnection) -> Result<BackupInfo, String> {
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check(10)")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| format!("not a readable SQLite database: {e}"))?;
    if problems != ["ok"] {
        return Err(format!(
            "fails SQLite's integrity check: {}",
            problems.join("; ")
        ));
    }
    let applied: Vec<(i64, Vec<u8>, bool)> =
        sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await
            .map_err(|_| "not a ddns store (no schema migrations in it)".to_owned())?;
    let mut newest = 0;
    for (version, checksum, success) in applied {
        let ours = MIGRATOR.iter().find(|m| m.version == version).ok_or_else(|| {
            format!("its schema has migration {version}, unknown to this version of ddns (a newer ddns wrote it)")
        })?;
        if ours.checksum.as_ref() != checksum.as_slice() {
            return Err(format!(
                "its schema migration {version} differs from this version's"
            ));
        }
        if !success {
            return Err(format!("its schema migration {version} did not finish"));
        }
        newest = version;
    }
    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
    let zones = count("SELECT COUNT(*) FROM zones")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| format!("cannot read its zones: {e}"))?;
    let hosts = count("SELECT COUNT(*) FROM hosts")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| format!("cannot read its hosts: {e}"))?;
    Ok(BackupInfo {
        migration: newest,
        zones,
        hosts,
    })
}

/// Replaces the store of `dir` with `file` after checking it, and returns where the replaced
/// store was kept (`None`: there was none). The caller holds the exclusive [`DirLock`] (or
/// was told to go ahead without it).
///
/// The file is copied into the directory first and the copy is what gets checked, so what is
/// installed is what passed. The replaced store is kept as a consistent copy
/// (`ddns.sqlite3.before-restore-TIME`, taken like a backup, with whatever its write-ahead log
/// held); then its log files are removed, so none of their frames can be applied to the new
/// file, and the copy is renamed into place.
pub async fn restore(dir: &Path, file: &Path) -> Result<(BackupInfo, Option<PathBuf>), StoreError> {
    check_backup(file).await?;
    let db = dir.join(DB_FILE);
    let incoming = side_name(&db, "restoring");
    std::fs::copy(file, &incoming).map_err(|e| io_error(&incoming, &e))?;
    let info = match check_backup(&incoming).await {
        Ok(info) => info,
        Err(e) => {
            let _ = std::fs::remove_file(&incoming);
            return Err(e);
        }
    };
    let kept = if db.exists() {
        let stamp = crate::now_text().replace(':', "");
        let kept = side_name(&db, &format!("before-restore-{stamp}"));
        let current = Store::open(&db, &crate::StoreOptions::default()).await?;
        let copied = current.backup_into(&kept).await;
        current.close().await;
        copied?;
        Some(kept)
    } else {
        None
    };
    for log in ["-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{log}", db.display()));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path, &e)),
        }
    }
    sync_and_rename(&incoming, &db)?;
    Ok((info, kept))
}

/// `FILE.suffix` beside `file`.
fn side_name(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// Syncs `from`, renames it to `to`, and syncs the directory so the rename is durable.
fn sync_and_rename(from: &Path, to: &Path) -> Result<(), StoreError> {
    File::open(from)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_error(from, &e))?;
    std::fs::rename(from, to).map_err(|e| io_error(to, &e))?;
    // Not every system opens a directory for syncing (Windows does not); where one does, the
    // rename is made durable.
    let parent = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(parent) {
        let _ = dir.sync_all();
    }
    Ok(())
}
