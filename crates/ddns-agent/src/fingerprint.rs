//! Record fingerprints: what lets a fatal provider answer ("bad password") park a record until
//! its configuration changes, without keeping the configuration itself in the state file.
//!
//! The configuration of a record includes its provider's secrets, so a plain hash of it would
//! let anyone holding a copy of the state file test guesses of the password offline. The
//! fingerprint is therefore HMAC-SHA256 (RFC 2104) keyed with a random salt made once per
//! installation and kept beside the state file (`state.salt` for `state.json`, mode 0600).
//! Fingerprints written before the salt existed (a bare hex SHA-256) never equal a keyed one,
//! so such a record counts as changed: it is tried once more, which is what a configuration
//! change does anyway.

use std::fmt;
use std::path::{Path, PathBuf};

use data_encoding::HEXLOWER;
use hmac::{Hmac, Mac as _};
use sha2::{Digest, Sha256};

use crate::state::StateError;

/// Prefix of keyed fingerprints, telling them apart from the bare hashes of older versions.
const PREFIX: &str = "hmac-sha256:";

/// A digest of everything that configures one record. Its `Debug` shows nothing, so logging a
/// configuration never prints an unkeyed hash of the secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfigDigest(pub(crate) [u8; 32]);

impl ConfigDigest {
    /// The digest of `material` (the record's spec and its resolved provider table).
    pub fn of(material: &[u8]) -> Self {
        Self(Sha256::digest(material).into())
    }
}

impl fmt::Debug for ConfigDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConfigDigest(..)")
    }
}

/// The installation's fingerprint key.
#[derive(Clone)]
pub struct Salt([u8; 32]);

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Salt(..)")
    }
}

impl Salt {
    /// Where the salt of `state_file` lives.
    pub fn path_for(state_file: &Path) -> PathBuf {
        state_file.with_extension("salt")
    }

    /// Reads the salt beside `state_file`, making it on first use. A salt file that does not
    /// hold a salt (cut short by a crash while it was first written) is replaced: the only cost
    /// is one more publish of parked records.
    pub fn load_or_create(state_file: &Path) -> Result<Self, StateError> {
        let path = Self::path_for(state_file);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let salt = HEXLOWER
                    .decode(text.trim().as_bytes())
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok());
                if let Some(salt) = salt {
                    return Ok(Self(salt));
                }
                tracing::warn!(path = %path.display(), "salt file unreadable; making a new one");
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StateError::io(&path, &e)),
        }
        let mut salt = [0; 32];
        getrandom::fill(&mut salt).map_err(|e| StateError::Io {
            path: path.clone(),
            message: format!("no randomness for the salt: {e}"),
        })?;
        crate::state::replace_private(&path, format!("{}\n", HEXLOWER.encode(&salt)).as_bytes())?;
        Ok(Self(salt))
    }

    /// A salt from fixed bytes (tests).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The fingerprint of a record with this configuration digest.
    pub fn fingerprint(&self, digest: &ConfigDigest) -> String {
        format!(
            "{PREFIX}{}",
            HEXLOWER.encode(&hmac_sha256(&self.0, &digest.0))
        )
    }
}

/// HMAC-SHA256 (RFC 2104) of `text` under `key`.
fn hmac_sha256(key: &[u8; 32], text: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256>>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(text);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 §4.2 (test case 1). Its key is 20 bytes; HMAC pads short keys with zeros,
    /// so the same key zero-extended to 32 bytes gives the same result.
    #[test]
    fn hmac_matches_rfc_4231() {
        let mut key = [0u8; 32];
        key[..20].fill(0x0b);
        assert_eq!(
            HEXLOWER.encode(&hmac_sha256(&key, b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn salt_is_made_once_private_and_keys_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        let first = Salt::load_or_create(&state).unwrap();
        let again = Salt::load_or_create(&state).unwrap();
        let digest = ConfigDigest::of(b"record + provider with password hunter2");
        assert_eq!(first.fingerprint(&digest), again.fingerprint(&digest));
        assert!(first.fingerprint(&digest).starts_with("hmac-sha256:"));
        let other = Salt::from_bytes([7; 32]);
        assert_ne!(first.fingerprint(&digest), other.fingerprint(&digest));
        assert_ne!(
            first.fingerprint(&digest),
            HEXLOWER.encode(&digest.0),
            "keyed, not the bare hash"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(Salt::path_for(&state))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(format!("{first:?} {digest:?}"), "Salt(..) ConfigDigest(..)");
        // A salt file cut short is replaced, not an error.
        std::fs::write(Salt::path_for(&state), "12ab").unwrap();
        let replaced = Salt::load_or_create(&state).unwrap();
        assert_ne!(replaced.fingerprint(&digest), first.fingerprint(&digest));
    }
}
