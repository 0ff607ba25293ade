//! What the agent remembers between rounds and restarts: the addresses it published, the
//! change it still owes a provider, backoff and fatal errors, and each WAN line's last address.
//!
//! The file is JSON, replaced atomically (write a temporary file, fsync it, rename it over the
//! old one, fsync the directory), so a crash or `kill -9` at any moment leaves either the old
//! or the new state, never a torn file. It and its temporary file are created mode 0600: the
//! state names hosts and addresses and carries keyed fingerprints of secret configuration.
//!
//! The integration tests set `DDNS_TEST_STATE_SAVE_PAUSE_MS` to hold each save between writing
//! the temporary file and the rename, so that a `kill -9` can be aimed at that moment.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ddns_detect::Family;
use serde::{Deserialize, Serialize};

/// Current format version. Keyed fingerprints did not change it: an older fingerprint reads
/// as a changed configuration (see `crate::fingerprint`).
const VERSION: u32 = 1;

/// Milliseconds each save waits after writing the temporary file (integration tests only).
const SAVE_PAUSE_ENV: &str = "DDNS_TEST_STATE_SAVE_PAUSE_MS";

/// Addresses per family.
pub type Addresses = BTreeMap<Family, Vec<IpAddr>>;

/// The whole state file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Format version.
    #[serde(default = "version")]
    pub version: u32,
    /// Per record (`name@provider`).
    #[serde(default)]
    pub records: BTreeMap<String, RecordState>,
}

fn version() -> u32 {
    VERSION
}

/// One record's memory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordState {
    /// Addresses the provider last accepted, per family.
    #[serde(default)]
    pub published: Addresses,
    /// When they were accepted (Unix seconds).
    #[serde(default)]
    pub published_at: Option<u64>,
    /// Addresses still to be published (the provider was unreachable or refused for now).
    #[serde(default)]
    pub pending: Option<Addresses>,
    /// Consecutive transient failures.
    #[serde(default)]
    pub failures: u32,
    /// No attempt before this time (Unix seconds): backoff or `Retry-After`.
    #[serde(default)]
    pub next_attempt: Option<u64>,
    /// A fatal answer: no attempts until the record's configuration changes.
    #[serde(default)]
    pub fatal: Option<Fatal>,
    /// Last address of each line and family (`line/ipv4`), for multi-WAN records.
    #[serde(default)]
    pub lines: BTreeMap<String, LineState>,
    /// Last check against the authoritative servers (Unix seconds).
    #[serde(default)]
    pub last_verified: Option<u64>,
    /// The LAN addresses the provider last accepted for each split-horizon view.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub views: BTreeMap<String, Vec<IpAddr>>,
}

/// A fatal provider answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fatal {
    /// What the user must fix.
    pub message: String,
    /// The record's configuration fingerprint when it happened.
    pub fingerprint: String,
    /// When (Unix seconds).
    pub at: u64,
}

/// A line's last detection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineState {
    /// Its last detected address (cleared after `drop_after` failed rounds).
    pub address: Option<IpAddr>,
    /// Consecutive rounds without an address.
    pub failures: u32,
}

/// The state file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// I/O on the file or its directory.
    #[error("state file {path}: {message}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        message: String,
    },
}

impl State {
    /// Reads the state; a missing file is an empty state. A file that does not parse (written
    /// by something else, or damaged on disk) is moved aside to `*.corrupt` and the agent
    /// starts afresh, saying so.
    pub fn load(path: &Path) -> Result<Self, StateError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::empty()),
            Err(e) => return Err(io_error(path, &e)),
        };
        match serde_json::from_slice::<Self>(&bytes) {
            Ok(state) if state.version == VERSION => Ok(state),
            Ok(state) => {
                tracing::warn!(path = %path.display(), version = state.version, "state file has an unknown version; starting afresh");
                Ok(Self::empty())
            }
            Err(e) => {
                let aside = path.with_extension("json.corrupt");
                tracing::warn!(path = %path.display(), error = %e, moved_to = %aside.display(), "state file unreadable; starting afresh");
                std::fs::rename(path, &aside).map_err(|e| io_error(path, &e))?;
                Ok(Self::empty())
            }
        }
    }

    /// An empty state.
    pub fn empty() -> Self {
        Self {
            version: VERSION,
            records: BTreeMap::new(),
        }
    }

    /// Replaces the file atomically.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| StateError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        replace(path, &bytes, save_pause())
    }
}

impl StateError {
    pub(crate) fn io(path: &Path, e: &std::io::Error) -> Self {
        io_error(path, e)
    }
}

/// Replaces `path` with `bytes` atomically, the new file readable by its owner only. A
/// temporary file left by an earlier process (killed mid-save) is replaced, never reused: its
/// mode may be older than this rule.
pub(crate) fn replace_private(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    replace(path, bytes, None)
}

fn replace(
    path: &Path,
    bytes: &[u8],
    pause: Option<std::time::Duration>,
) -> Result<(), StateError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, &e))?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let write = || -> std::io::Result<()> {
        if let Err(e) = std::fs::remove_file(&tmp)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            return Err(e);
        }
        let mut file = ddns_platform::create_private(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        if let Some(pause) = pause {
            std::thread::sleep(pause);
        }
        std::fs::rename(&tmp, path)?;
        // Persist the rename itself. Directories cannot be opened for this on Windows,
        // where the rename is durable on its own.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error(path, &e)
    })
}

fn save_pause() -> Option<std::time::Duration> {
    static PAUSE: std::sync::OnceLock<Option<std::time::Duration>> = std::sync::OnceLock::new();
    *PAUSE.get_or_init(|| {
        std::env::var(SAVE_PAUSE_ENV)
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map(std::time::Duration::from_millis)
    })
}

fn io_error(path: &Path, e: &std::io::Error) -> StateError {
    StateError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_atomic_replace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        assert_eq!(State::load(&path).unwrap(), State::empty());
        let mut state = State::empty();
        let record = state.records.entry("h.example@home".into()).or_default();
        record
            .published
            .insert(Family::V4, vec!["192.0.2.1".parse().unwrap()]);
        record.published_at = Some(1_700_000_000);
        record.fatal = Some(Fatal {
            message: "badauth".into(),
            fingerprint: "f".into(),
            at: 1,
        });
        state.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap(), state);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"ipv4\""), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_even_over_a_public_one() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        std::fs::write(&path, b"{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        // A stale temporary file from a killed process, world-readable.
        let stale = dir
            .path()
            .join(format!("state.json.tmp{}", std::process::id()));
        std::fs::write(&stale, b"old").unwrap();
        std::fs::set_permissions(&stale, std::fs::Permissions::from_mode(0o644)).unwrap();
        State::empty().save(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert!(!stale.exists());
    }

    /// A state file from before keyed fingerprints (a bare SHA-256 hex in `fatal`) loads; the
    /// record is then not parked, since the fingerprint differs (see `plan::decide`).
    #[test]
    fn an_old_fingerprint_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let old = r#"{"version": 1, "records": {"h.example.com@dyn": {
            "published": {"ipv4": ["192.0.2.1"]}, "published_at": 1700000000,
            "pending": {"ipv4": ["192.0.2.2"]}, "failures": 0,
            "fatal": {"message": "badauth", "at": 1700000001,
              "fingerprint": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}}}"#;
        std::fs::write(&path, old).unwrap();
        let state = State::load(&path).unwrap();
        let record = &state.records["h.example.com@dyn"];
        assert_eq!(record.fatal.as_ref().unwrap().message, "badauth");
        assert!(!dir.path().join("state.json.corrupt").exists());
    }

    #[test]
    fn a_damaged_file_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, b"{\"version\": 1, \"records\": {").unwrap();
        assert_eq!(State::load(&path).unwrap(), State::empty());
        assert!(dir.path().join("state.json.corrupt").exists());
    }
}
