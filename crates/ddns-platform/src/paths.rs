//! Default locations of the server's data directory and the agent's state.
//!
//! - systemd units get `$STATE_DIRECTORY` (from `StateDirectory=`): it wins everywhere;
//! - Linux and other Unixes: `$XDG_DATA_HOME/ddns`, else `~/.local/share/ddns`, else
//!   `/var/lib/ddns` (no home: a system account);
//! - Windows: `%ProgramData%\ddns` (shared by the service and the user), else `C:\ProgramData\ddns`;
//! - macOS: `~/Library/Application Support/ddns`.

use std::ffi::OsString;
use std::path::PathBuf;

/// An operating system family, as a value so path rules are testable on any host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    /// Linux and other Unix-likes without special rules.
    Unix,
    /// Windows.
    Windows,
    /// macOS.
    MacOs,
}

impl Os {
    /// The system this binary was built for.
    pub fn current() -> Self {
        if cfg!(windows) {
            Self::Windows
        } else if cfg!(target_os = "macos") {
            Self::MacOs
        } else {
            Self::Unix
        }
    }
}

/// The server's data directory for `os`, given an environment lookup.
pub fn data_dir_for(os: Os, env: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    base_dir_for(os, &env).join("ddns")
}

fn base_dir_for(os: Os, env: &impl Fn(&str) -> Option<OsString>) -> PathBuf {
    let non_empty = |key: &str| env(key).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = non_empty("STATE_DIRECTORY") {
        // systemd may list several directories separated by ':'; the first is ours. The
        // directory is already ours, so the caller's "ddns" is added below it harmlessly.
        let first = dir
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        return PathBuf::from(first);
    }
    match os {
        Os::Windows => non_empty("ProgramData").unwrap_or_else(|| PathBuf::from(r"C:\ProgramData")),
        Os::MacOs => non_empty("HOME").map_or_else(
            || PathBuf::from("/var/lib"),
            |h| h.join("Library").join("Application Support"),
        ),
        Os::Unix => non_empty("XDG_DATA_HOME")
            .or_else(|| non_empty("HOME").map(|h| h.join(".local").join("share")))
            .unwrap_or_else(|| PathBuf::from("/var/lib")),
    }
}

/// The server's data directory on this system.
pub fn default_data_dir() -> PathBuf {
    data_dir_for(Os::current(), |k| std::env::var_os(k))
}

/// Where the agent keeps its state file on this system (same base, `agent` below it).
pub fn default_state_dir() -> PathBuf {
    default_data_dir().join("agent")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn unix() {
        assert_eq!(
            data_dir_for(Os::Unix, env(&[("HOME", "/home/u")])),
            PathBuf::from("/home/u/.local/share/ddns")
        );
        assert_eq!(
            data_dir_for(
                Os::Unix,
                env(&[("HOME", "/home/u"), ("XDG_DATA_HOME", "/x")])
            ),
            PathBuf::from("/x/ddns")
        );
        assert_eq!(
            data_dir_for(Os::Unix, env(&[])),
            PathBuf::from("/var/lib/ddns")
        );
        assert_eq!(
            data_dir_for(
                Os::Unix,
                env(&[
                    ("STATE_DIRECTORY", "/var/lib/ddns-svc:/other"),
                    ("HOME", "/h")
                ])
            ),
            PathBuf::from("/var/lib/ddns-svc/ddns")
        );
    }

    #[test]
    fn windows_and_macos() {
        assert_eq!(
            data_dir_for(Os::Windows, env(&[("ProgramData", r"D:\PD")])),
            PathBuf::from(r"D:\PD").join("ddns")
        );
        assert_eq!(
            data_dir_for(Os::Windows, env(&[])),
            PathBuf::from(r"C:\ProgramData").join("ddns")
        );
        assert_eq!(
            data_dir_for(Os::MacOs, env(&[("HOME", "/Users/u")])),
            PathBuf::from("/Users/u/Library/Application Support/ddns")
        );
    }
}
