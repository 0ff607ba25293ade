//! Earlier versions of the server's configuration file, kept in the data directory
//! (`DATA_DIR/config-versions/`): each time the server loads a file whose text differs from
//! the newest version kept, that text is kept too, so a bad edit can be seen and undone.
//!
//! Files are named by the UTC time they were kept (`20261203T142000.123456789Z.toml`, which
//! sorts by age) and are readable by their owner only. The server keeps the text with its
//! secrets redacted (`ServerConfig::redacted`), so the copies never hold a TSIG secret or a
//! webhook token that was since changed. The newest `KEPT` stay.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

/// Versions kept at most; older ones are removed when a new one is kept.
pub const KEPT: usize = 50;

/// The kept versions of one data directory.
#[derive(Clone, Debug)]
pub struct ConfigVersions {
    dir: PathBuf,
}

/// What `ConfigVersions::keep` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kept {
    /// The text is the newest version already.
    Unchanged,
    /// The text was kept as `file`; `previous` is the version before it, if there was one.
    New {
        /// The new version.
        file: PathBuf,
        /// The one it follows.
        previous: Option<PathBuf>,
    },
}

impl ConfigVersions {
    /// The versions kept in `data_dir`.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("config-versions"),
        }
    }

    /// Every kept version, oldest first.
    pub fn list(&self) -> io::Result<Vec<PathBuf>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut files = Vec::new();
        for entry in entries {
            let path = entry?.path();
            let named = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.ends_with(".toml") && n.as_bytes().first().is_some_and(u8::is_ascii_digit)
            });
            if named {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }

    /// Keeps `text` as a new version unless it is the newest one, then removes all but the
    /// newest `KEPT`. The file is written under a temporary name, synced and renamed, so a
    /// version is whole or absent.
    pub fn keep(&self, text: &str, now: OffsetDateTime) -> io::Result<Kept> {
        let versions = self.list()?;
        let previous = versions.last().cloned();
        if let Some(newest) = &previous
            && std::fs::read(newest)? == text.as_bytes()
        {
            return Ok(Kept::Unchanged);
        }
        std::fs::create_dir_all(&self.dir)?;
        let file = self.dir.join(format!("{}.toml", stamp(now)));
        if previous.as_ref().is_some_and(|p| *p >= file) {
            // The clock went back: never let a new version sort before an older one.
            return Err(io::Error::other(format!(
                "the newest kept configuration ({}) is dated after now; check the clock",
                previous
                    .as_ref()
                    .map_or_else(String::new, |p| p.display().to_string())
            )));
        }
        let temp = self.dir.join(format!(".{}.new", stamp(now)));
        let _ = std::fs::remove_file(&temp);
        let mut out = ddns_platform::create_private(&temp)?;
        out.write_all(text.as_bytes())?;
        out.sync_all()?;
        drop(out);
        std::fs::rename(&temp, &file)?;
        if let Ok(dir) = std::fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        let all = self.list()?;
        for old in all.iter().take(all.len().saturating_sub(KEPT)) {
            std::fs::remove_file(old)?;
        }
        Ok(Kept::New { file, previous })
    }
}

/// `YYYYMMDDTHHMMSS.NNNNNNNNNZ` in UTC.
fn stamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}.{:09}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.nanosecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).unwrap()
    }

    #[test]
    fn a_changed_text_is_kept_and_an_unchanged_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let versions = ConfigVersions::in_data_dir(dir.path());
        let Kept::New { file, previous } = versions.keep("a = 1\n", at(1_000)).unwrap() else {
            panic!("first version not kept")
        };
        assert_eq!(previous, None);
        assert_eq!(
            file.file_name().unwrap().to_str().unwrap(),
            "19700101T001640.000000000Z.toml"
        );
        assert_eq!(
            versions.keep("a = 1\n", at(2_000)).unwrap(),
            Kept::Unchanged
        );
        let Kept::New { previous, .. } = versions.keep("a = 2\n", at(3_000)).unwrap() else {
            panic!("changed version not kept")
        };
        assert_eq!(previous, Some(file));
        let texts: Vec<String> = versions
            .list()
            .unwrap()
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        assert_eq!(texts, ["a = 1\n", "a = 2\n"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            for p in versions.list().unwrap() {
                let mode = std::fs::metadata(p).unwrap().permissions().mode();
                assert_eq!(mode & 0o077, 0, "readable by others: {mode:o}");
            }
        }
    }

    #[test]
    fn only_the_newest_are_kept_and_the_clock_going_back_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let versions = ConfigVersions::in_data_dir(dir.path());
        for i in 0..KEPT + 5 {
            versions
                .keep(&format!("n = {i}\n"), at(10_000 + i as i64))
                .unwrap();
        }
        let kept = versions.list().unwrap();
        assert_eq!(kept.len(), KEPT);
        assert_eq!(std::fs::read_to_string(&kept[0]).unwrap(), "n = 5\n");
        let e = versions.keep("late = 1\n", at(5)).unwrap_err();
        assert!(e.to_string().contains("check the clock"), "{e}");
        assert_eq!(versions.list().unwrap().len(), KEPT);
    }
}
