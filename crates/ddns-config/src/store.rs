//! Where the store lives (`[store] url`, `[store] password_file`, `--store-url`): the SQLite
//! file in the data directory by default, another SQLite file, or a PostgreSQL database that
//! several nodes share.
//!
//! A PostgreSQL password comes from `password_file` (one line; a systemd credential or a file
//! only the service can read), from the URL itself, or from libpq's `PGPASSWORD` / `PGPASSFILE`
//! (`~/.pgpass`) when neither is given.

use std::path::PathBuf;

/// The store's database (its `Debug` shows a URL's password as `***`).
#[derive(Clone, Default, PartialEq, Eq)]
pub enum StoreLocation {
    /// `DATA_DIR/ddns.sqlite3` (no `url`).
    #[default]
    DataDir,
    /// The SQLite file a `sqlite:` URL names.
    SqliteFile(PathBuf),
    /// A PostgreSQL database.
    Postgres {
        /// `postgres://user@host:port/db…`, as given.
        url: String,
        /// The file holding the password, read when the store is opened.
        password_file: Option<PathBuf>,
    },
}

impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DataDir => f.write_str("DataDir"),
            Self::SqliteFile(path) => f.debug_tuple("SqliteFile").field(path).finish(),
            Self::Postgres { url, password_file } => f
                .debug_struct("Postgres")
                .field("url", &redact_url(url))
                .field("password_file", password_file)
                .finish(),
        }
    }
}

impl StoreLocation {
    /// Reads a store URL: `sqlite:///abs/file`, `sqlite://rel/file`, `sqlite:file` (the path
    /// percent-decoded), or `postgres://…` / `postgresql://…`.
    pub fn parse(url: &str, password_file: Option<PathBuf>) -> Result<Self, String> {
        let (scheme, rest) = url
            .split_once(':')
            .ok_or_else(|| "a URL starting sqlite: or postgres:// is expected".to_owned())?;
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                if password_file.is_some() {
                    return Err("password_file is for a postgres:// URL; SQLite has none".into());
                }
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.contains('?') || path.contains('#') {
                    return Err("a sqlite: URL takes no parameters (ddns sets the mode and \
                                durability itself); percent-encode ? and # in a file name"
                        .into());
                }
                let path = percent_decode(path)?;
                if path.is_empty() {
                    return Err("the sqlite: URL names no file".into());
                }
                Ok(Self::SqliteFile(PathBuf::from(path)))
            }
            "postgres" | "postgresql" => {
                let parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
                if parsed.host_str().is_none_or(str::is_empty) {
                    return Err("the postgres:// URL names no host".into());
                }
                if parsed.path().trim_start_matches('/').is_empty() {
                    return Err("the postgres:// URL names no database (…/dbname)".into());
                }
                if password_file.is_some() && parsed.password().is_some() {
                    return Err("the password is both in the URL and in password_file; \
                                keep it in the file only"
                        .into());
                }
                Ok(Self::Postgres {
                    url: url.to_owned(),
                    password_file,
                })
            }
            other => Err(format!(
                "{other}: is not a store; use sqlite:///path/ddns.sqlite3 or postgres://user@host/db"
            )),
        }
    }
}

/// A URL with its password, if any, replaced: for logs and kept configuration versions.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent escape in {text:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} does not decode to UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_a_file() {
        for (url, path) in [
            (
                "sqlite:///var/lib/ddns/ddns.sqlite3",
                "/var/lib/ddns/ddns.sqlite3",
            ),
            ("sqlite://data/ddns.sqlite3", "data/ddns.sqlite3"),
            ("sqlite:ddns.sqlite3", "ddns.sqlite3"),
            (
                "sqlite:///C:/ProgramData/ddns/a%20b%23.sqlite3",
                "/C:/ProgramData/ddns/a b#.sqlite3",
            ),
            ("SQLite:C:%5Cddns%5Cdb.sqlite3", "C:\\ddns\\db.sqlite3"),
        ] {
            assert_eq!(
                StoreLocation::parse(url, None),
                Ok(StoreLocation::SqliteFile(PathBuf::from(path))),
                "{url}"
            );
        }
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        for (url, file, says) in [
            ("mysql://db/ddns", None, "is not a store"),
            ("sqlite:///x.db?mode=ro", None, "takes no parameters"),
            ("sqlite://", None, "names no file"),
            ("sqlite:%zz", None, "bad percent escape"),
            ("sqlite:x.db", Some(PathBuf::from("/p")), "SQLite has none"),
            ("postgres://db.example", None, "names no database"),
            ("postgres:///ddns", None, "names no host"),
            (
                "postgres://u:pw@db/ddns",
                Some(PathBuf::from("/p")),
                "both in the URL",
            ),
            ("/var/lib/ddns.sqlite3", None, "expected"),
        ] {
            let err = StoreLocation::parse(url, file).unwrap_err();
            assert!(err.contains(says), "{url}: {err}");
        }
    }

    #[test]
    fn postgres_urls_are_kept_as_given_and_shown_without_password() {
        let url = "postgres://ddns@db.lan:5433/ddns?sslmode=prefer";
        assert_eq!(
            StoreLocation::parse(url, Some(PathBuf::from("/run/credentials/ddns/pg"))),
            Ok(StoreLocation::Postgres {
                url: url.into(),
                password_file: Some(PathBuf::from("/run/credentials/ddns/pg")),
            })
        );
        let location = StoreLocation::parse("postgresql://ddns:s3cret@db/ddns", None).unwrap();
        assert!(!format!("{location:?}").contains("s3cret"), "{location:?}");
        let shown = redact_url("postgresql://ddns:s3cret@db/ddns");
        assert_eq!(shown, "postgresql://ddns:***@db/ddns");
        assert_eq!(redact_url(url), url);
    }
}
