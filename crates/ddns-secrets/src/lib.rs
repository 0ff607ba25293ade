//! Secrets at rest: the `enc:` values that `ddns secret protect` prints, usable in a config
//! file wherever a secret goes (provider keys and tokens, TSIG secrets, webhook tokens), so the
//! file no longer holds them in clear text. `${ENV}` and `*_file` stay as they were.
//!
//! Two schemes, chosen by the system that seals:
//! - `enc:dpapi:BASE64` (Windows): DPAPI with machine scope. It opens in any process of the
//!   machine that sealed it and on no other machine; the ACL of `%ProgramData%\ddns` is what
//!   keeps ordinary users away from the file holding it.
//! - `enc:key:BASE64` (Linux, macOS): AES-256-GCM under a random 256-bit key kept in a key
//!   file only its owner may read (`secret.key` in the data directory, or
//!   `$DDNS_SECRET_KEY_FILE`), created at the first `protect`. A key file that others may
//!   read is refused, as ssh refuses such a private key.
//!
//! The `key` payload is the 12-byte nonce, then the ciphertext and its 16-byte tag, with the
//! associated data [`AAD`]: a value altered or sealed under another key is an error, never
//! garbage.

use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use data_encoding::BASE64;

/// The file name of the key file in the data directory.
pub const KEY_FILE_NAME: &str = "secret.key";
/// The environment variable naming another key file.
pub const KEY_FILE_ENV: &str = "DDNS_SECRET_KEY_FILE";
/// Associated data of every `enc:key:` value: a ciphertext of another format never opens.
pub const AAD: &[u8] = b"ddns-secret-v1";

const KEY_PREFIX: &str = "enc:key:";
const DPAPI_PREFIX: &str = "enc:dpapi:";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Why a value could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Not an `enc:` value of a known scheme.
    #[error("not a sealed value: expected enc:key:… or enc:dpapi:…")]
    NotSealed,
    /// The payload is not base64, or too short to be one.
    #[error("the value after {0} is not a sealed payload (base64 of nonce, ciphertext and tag)")]
    BadPayload(&'static str),
    /// The key file cannot be read, created or trusted.
    #[error("key file {path}: {message}")]
    KeyFile {
        /// The key file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Authentication failed: another key, or an altered value.
    #[error(
        "the value does not open with the key in {path}: it was sealed with another key (on another machine?) or altered"
    )]
    WrongKey {
        /// The key file.
        path: String,
    },
    /// DPAPI refused (another machine, or not Windows).
    #[error("DPAPI: {0} (an enc:dpapi: value opens only on the Windows machine that sealed it)")]
    Dpapi(String),
    /// The opened bytes are not text.
    #[error("the opened value is not UTF-8 text")]
    NotText,
    /// The system's random source failed.
    #[error("the system's random source failed: {0}")]
    Random(String),
}

/// How `protect` seals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// AES-256-GCM under the key in this file (created if missing).
    Key(PathBuf),
    /// Windows DPAPI, machine scope.
    Dpapi,
}

impl Scheme {
    /// DPAPI on Windows, else the key file `key_file` (default: [`default_key_file`]).
    pub fn for_this_system(key_file: Option<PathBuf>) -> Self {
        match (ddns_platform::Os::current(), key_file) {
            (_, Some(path)) => Self::Key(path),
            (ddns_platform::Os::Windows, None) => Self::Dpapi,
            (_, None) => Self::Key(default_key_file()),
        }
    }
}

/// The key file: `$DDNS_SECRET_KEY_FILE`, else `secret.key` in the default data directory
/// (the systemd unit's `StateDirectory=` when run by one).
pub fn default_key_file() -> PathBuf {
    key_file_from(|k| std::env::var_os(k), ddns_platform::default_data_dir())
}

fn key_file_from(env: impl Fn(&str) -> Option<std::ffi::OsString>, data_dir: PathBuf) -> PathBuf {
    env(KEY_FILE_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(|| data_dir.join(KEY_FILE_NAME), PathBuf::from)
}

/// Whether `value` is a sealed value (of a known scheme).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(KEY_PREFIX) || value.starts_with(DPAPI_PREFIX)
}

/// Seals `clear` with `scheme`.
pub fn protect(clear: &str, scheme: &Scheme) -> Result<String, SecretError> {
    match scheme {
        Scheme::Dpapi => {
            let sealed = ddns_platform::dpapi::protect(clear.as_bytes())
                .map_err(|e| SecretError::Dpapi(e.to_string()))?;
            Ok(format!("{DPAPI_PREFIX}{}", BASE64.encode(&sealed)))
        }
        Scheme::Key(path) => {
            let key = KeyFile::load_or_create(path)?;
            let mut nonce = [0u8; NONCE_LEN];
            getrandom::fill(&mut nonce).map_err(|e| SecretError::Random(e.to_string()))?;
            let sealed = key
                .cipher()
                .encrypt(
                    Nonce::from_slice(&nonce),
                    Payload {
                        msg: clear.as_bytes(),
                        aad: AAD,
                    },
                )
                .map_err(|_| SecretError::Random("AES-GCM refused to seal".into()))?;
            let mut payload = nonce.to_vec();
            payload.extend_from_slice(&sealed);
            Ok(format!("{KEY_PREFIX}{}", BASE64.encode(&payload)))
        }
    }
}

/// Opens a sealed value; `key_file` is used for `enc:key:` values.
pub fn open(value: &str, key_file: &Path) -> Result<String, SecretError> {
    Opener::new(key_file).open(value)
}

/// Opens sealed values, reading the key file once, at the first `enc:key:` value.
#[derive(Debug)]
pub struct Opener<'a> {
    key_file: &'a Path,
    key: Option<KeyFile>,
}

impl<'a> Opener<'a> {
    /// An opener using `key_file` for `enc:key:` values.
    pub fn new(key_file: &'a Path) -> Self {
        Self {
            key_file,
            key: None,
        }
    }

    /// Opens one sealed value.
    pub fn open(&mut self, value: &str) -> Result<String, SecretError> {
        let bytes = if let Some(b64) = value.strip_prefix(DPAPI_PREFIX) {
            let sealed = BASE64
                .decode(b64.as_bytes())
                .map_err(|_| SecretError::BadPayload(DPAPI_PREFIX))?;
            ddns_platform::dpapi::unprotect(&sealed)
                .map_err(|e| SecretError::Dpapi(e.to_string()))?
        } else if let Some(b64) = value.strip_prefix(KEY_PREFIX) {
            let payload = BASE64
                .decode(b64.as_bytes())
                .map_err(|_| SecretError::BadPayload(KEY_PREFIX))?;
            if payload.len() < NONCE_LEN + TAG_LEN {
                return Err(SecretError::BadPayload(KEY_PREFIX));
            }
            if self.key.is_none() {
                self.key = Some(KeyFile::load(self.key_file)?);
            }
            let Some(key) = &self.key else {
                return Err(SecretError::NotSealed);
            };
            let (nonce, sealed) = payload.split_at(NONCE_LEN);
            key.cipher()
                .decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: AAD,
                    },
                )
                .map_err(|_| SecretError::WrongKey {
                    path: self.key_file.display().to_string(),
                })?
        } else {
            return Err(SecretError::NotSealed);
        };
        String::from_utf8(bytes).map_err(|_| SecretError::NotText)
    }
}

/// Replaces every quoted TOML string of `text` that holds a sealed value (`"enc:key:…"`,
/// `'enc:dpapi:…'`) with a basic string of the opened value, so the text keeps its lines and
/// errors still point at the right one. Returns the byte range of the first value that does
/// not open, with why.
pub fn open_in_text(
    text: &str,
    key_file: &Path,
) -> Result<String, (std::ops::Range<usize>, SecretError)> {
    let mut opener = Opener::new(key_file);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(found) = next_sealed(text, at) {
        let (start, end) = found;
        let value = &text[start + 1..end - 1];
        let clear = opener.open(value).map_err(|e| (start..end, e))?;
        out.push_str(&text[at..start]);
        out.push('"');
        for c in clear.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        at = end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// The next quoted sealed value at or after `from`: the byte range of the string with its
/// quotes. Only the base64 alphabet may follow the prefix up to the closing quote.
fn next_sealed(text: &str, from: usize) -> Option<(usize, usize)> {
    let mut search = from;
    loop {
        let rel = text[search..].find("enc:")?;
        let pos = search + rel;
        search = pos + 4;
        let Some(quote) = pos
            .checked_sub(1)
            .and_then(|q| text.as_bytes().get(q))
            .copied()
        else {
            continue;
        };
        if quote != b'"' && quote != b'\'' {
            continue;
        }
        let rest = &text[pos..];
        let Some(prefix_len) = [KEY_PREFIX, DPAPI_PREFIX]
            .iter()
            .find(|p| rest.starts_with(**p))
            .map(|p| p.len())
        else {
            continue;
        };
        let body = &rest[prefix_len..];
        let len = body
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            .count();
        if body.as_bytes().get(len) == Some(&quote) {
            return Some((pos - 1, pos + prefix_len + len + 1));
        }
    }
}

/// A 256-bit key, kept as base64 in a file only its owner may read.
#[derive(Debug)]
struct KeyFile([u8; 32]);

impl KeyFile {
    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }

    fn error(path: &Path, message: impl Into<String>) -> SecretError {
        SecretError::KeyFile {
            path: path.display().to_string(),
            message: message.into(),
        }
    }

    fn load(path: &Path) -> Result<Self, SecretError> {
        let text = std::fs::read_to_string(path).map_err(|e| Self::error(path, e.to_string()))?;
        match ddns_platform::is_private(path) {
            Ok(true) => {}
            Ok(false) => {
                return Err(Self::error(
                    path,
                    "others may read it: make it readable by its owner only (chmod 600)",
                ));
            }
            Err(e) => return Err(Self::error(path, e.to_string())),
        }
        let bytes = BASE64
            .decode(text.trim().as_bytes())
            .map_err(|_| Self::error(path, "not a ddns key file (base64 of 32 bytes)"))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Self::error(path, "not a ddns key file (base64 of 32 bytes)"))?;
        Ok(Self(key))
    }

    /// The key in `path`, or a new one written there (never over an existing file, so two
    /// first `protect`s at once agree on one key).
    fn load_or_create(path: &Path) -> Result<Self, SecretError> {
        if path.exists() {
            return Self::load(path);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Self::error(path, e.to_string()))?;
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| SecretError::Random(e.to_string()))?;
        match ddns_platform::create_private(path) {
            Ok(mut file) => {
                use std::io::Write as _;
                file.write_all(format!("{}\n", BASE64.encode(&key)).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| Self::error(path, e.to_string()))?;
                Ok(Self(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load(path),
            Err(e) => Err(Self::error(path, e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_round_trips_and_each_sealing_differs() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("sub").join(KEY_FILE_NAME);
        let scheme = Scheme::Key(key.clone());
        let a = protect("s3cret \"quoted\" \\ ünï", &scheme).unwrap();
        let b = protect("s3cret \"quoted\" \\ ünï", &scheme).unwrap();
        assert!(a.starts_with("enc:key:") && is_sealed(&a));
        assert_ne!(a, b, "a fresh nonce each time");
        assert_eq!(open(&a, &key).unwrap(), "s3cret \"quoted\" \\ ünï");
        assert_eq!(open(&b, &key).unwrap(), "s3cret \"quoted\" \\ ünï");
        assert!(ddns_platform::is_private(&key).unwrap());
    }

    #[test]
    fn another_key_or_an_altered_value_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (k1, k2) = (dir.path().join("k1"), dir.path().join("k2"));
        let sealed = protect("token", &Scheme::Key(k1.clone())).unwrap();
        drop(protect("other", &Scheme::Key(k2.clone())).unwrap());
        assert!(matches!(
            open(&sealed, &k2),
            Err(SecretError::WrongKey { .. })
        ));
        let mut payload = BASE64.decode(&sealed.as_bytes()[8..]).unwrap();
        payload[NONCE_LEN] ^= 1;
        let altered = format!("enc:key:{}", BASE64.encode(&payload));
        assert!(matches!(
            open(&altered, &k1),
            Err(SecretError::WrongKey { .. })
        ));
        assert!(matches!(
            open("enc:key:AAAA", &k1),
            Err(SecretError::BadPayload(_))
        ));
        assert!(matches!(
            open("enc:key:!!", &k1),
            Err(SecretError::BadPayload(_))
        ));
        assert!(matches!(open("token", &k1), Err(SecretError::NotSealed)));
        let missing = dir.path().join("missing");
        assert!(matches!(
            open(&sealed, &missing),
            Err(SecretError::KeyFile { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k");
        let sealed = protect("token", &Scheme::Key(key.clone())).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = open(&sealed, &key).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn sealed_strings_in_a_config_text_are_opened_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k");
        let scheme = Scheme::Key(key.clone());
        let token = protect("tok\"en", &scheme).unwrap();
        let secret = protect("c2VjcmV0", &scheme).unwrap();
        let text = format!(
            "[providers.cf]\ntoken = \"{token}\"\n\n[[tsig_key]]\nsecret = '{secret}'\nnote = \"enc:key:not-base64!\"\nplain = \"enc:other\"\n"
        );
        let opened = open_in_text(&text, &key).unwrap();
        assert_eq!(
            opened,
            "[providers.cf]\ntoken = \"tok\\\"en\"\n\n[[tsig_key]]\nsecret = \"c2VjcmV0\"\nnote = \"enc:key:not-base64!\"\nplain = \"enc:other\"\n"
        );
        assert_eq!(opened.lines().count(), text.lines().count());
        // A value that does not open names its place.
        let other = dir.path().join("other");
        let (range, err) = open_in_text(&text, &other).unwrap_err();
        assert_eq!(&text[range], format!("\"{token}\""));
        assert!(matches!(err, SecretError::KeyFile { .. }), "{err}");
    }

    #[test]
    fn the_key_file_is_the_environments_or_the_data_directorys() {
        let data = PathBuf::from("/var/lib/ddns");
        assert_eq!(
            key_file_from(|_| None, data.clone()),
            data.join("secret.key")
        );
        assert_eq!(
            key_file_from(|k| (k == KEY_FILE_ENV).then(|| "/etc/ddns/k".into()), data),
            PathBuf::from("/etc/ddns/k")
        );
        assert_eq!(
            Scheme::for_this_system(Some("/x".into())),
            Scheme::Key("/x".into())
        );
    }

    #[cfg(not(windows))]
    #[test]
    fn dpapi_values_say_where_they_open() {
        let err = open("enc:dpapi:AAAA", Path::new("/nonexistent")).unwrap_err();
        assert!(
            err.to_string().contains("only on the Windows machine"),
            "{err}"
        );
    }
}
