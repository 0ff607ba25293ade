//! Previous versions of the server's configuration file, kept in the data directory: the
//! server reads its file only at start, so each start with a file that differs from the last
//! one kept stores it as `config-history/NAME.1`, moving older copies up to `NAME.N` (the
//! oldest beyond `N` is removed). An operator who broke the file finds what ran before there.

use std::path::{Path, PathBuf};

/// Copies kept at most.
pub const KEEP: usize = 10;
/// The directory, inside the data directory.
pub const DIR: &str = "config-history";

/// Keeps `config` in `data_dir/config-history` unless the newest copy there is identical;
/// returns the copy written, if one was.
pub fn keep_version(
    config: &Path,
    data_dir: &Path,
    keep: usize,
) -> std::io::Result<Option<PathBuf>> {
    let text = std::fs::read(config)?;
    let name = config
        .file_name()
        .map_or_else(|| "config".into(), |n| n.to_string_lossy().into_owned());
    let dir = data_dir.join(DIR);
    std::fs::create_dir_all(&dir)?;
    let copy = |n: usize| dir.join(format!("{name}.{n}"));
    if std::fs::read(copy(1)).is_ok_and(|newest| newest == text) {
        return Ok(None);
    }
    match std::fs::remove_file(copy(keep)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    for n in (1..keep).rev() {
        match std::fs::rename(copy(n), copy(n + 1)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    // Written under a temporary name and renamed, so `NAME.1` is never half a file.
    let partial = dir.join(format!("{name}.partial"));
    std::fs::write(&partial, &text)?;
    std::fs::rename(&partial, copy(1))?;
    Ok(Some(copy(1)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn changed_files_are_kept_newest_first_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("ddns.toml");
        let data = dir.path().join("data");
        let kept = data.join(DIR);
        for version in 1..=5 {
            std::fs::write(&config, format!("version = 1 # edit {version}\n")).unwrap();
            assert!(keep_version(&config, &data, 3).unwrap().is_some());
            // The same file again keeps nothing new.
            assert_eq!(keep_version(&config, &data, 3).unwrap(), None);
        }
        let read = |n: usize| std::fs::read_to_string(kept.join(format!("ddns.toml.{n}"))).ok();
        assert_eq!(read(1).as_deref(), Some("version = 1 # edit 5\n"));
        assert_eq!(read(2).as_deref(), Some("version = 1 # edit 4\n"));
        assert_eq!(read(3).as_deref(), Some("version = 1 # edit 3\n"));
        assert_eq!(read(4), None, "at most 3 copies");
    }
}
