//! What the agent remembers between rounds and restarts: the addresses it published, the
//! change it still owes a provider, backoff and fatal errors, and each WAN line's last address.
//!
//! The file is JSON, replaced atomically (write a temporary file, fsync it, rename it over the
//! old one, fsync the directory), so a crash or `kill -9` at any moment leaves either the old
//! or the new state, never a torn file.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ddns_detect::Family;
use serde::{Deserialize, Serialize};

/// Current format version.
const VERSION: u32 = 1;

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
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, &e))?;
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| StateError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let tmp = path.with_extension(format!("json.tmp{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            drop(file);
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

    #[test]
    fn a_damaged_file_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, b"{\"version\": 1, \"records\": {").unwrap();
        assert_eq!(State::load(&path).unwrap(), State::empty());
        assert!(dir.path().join("state.json.corrupt").exists());
    }
}
