//! API token format, generation and verification.
//!
//! A token is `ddns_` + a 13-character public id + a 32-character secret, all lower-case
//! base32hex (RFC 4648 §7) so it survives router password fields, URLs and Basic auth. The id
//! (64 random bits) finds the stored row; the secret (160 random bits) is stored only as its
//! SHA-256 and compared in constant time. A slow password hash is not needed: the secret is
//! random, not chosen by a person, so it cannot be guessed from its hash.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX: &str = "ddns_";
const ID_LEN: usize = 13;
const SECRET_LEN: usize = 32;

/// A freshly generated token: show `full` once, store `id` and `secret_hash`.
#[derive(Clone)]
pub struct NewToken {
    /// Public id.
    pub id: String,
    /// SHA-256 of the secret part.
    pub secret_hash: [u8; 32],
    /// The whole token, for the user.
    pub full: String,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The operating system's random generator failed.
#[derive(Debug, thiserror::Error)]
#[error("no randomness available from the operating system: {0}")]
pub struct RandomError(String);

/// Generates a new token.
pub fn generate() -> Result<NewToken, RandomError> {
    let mut id_bytes = [0u8; 8];
    let mut secret_bytes = [0u8; 20];
    getrandom::fill(&mut id_bytes).map_err(|e| RandomError(e.to_string()))?;
    getrandom::fill(&mut secret_bytes).map_err(|e| RandomError(e.to_string()))?;
    let id = data_encoding::BASE32_DNSSEC.encode(&id_bytes);
    let secret = data_encoding::BASE32_DNSSEC.encode(&secret_bytes);
    debug_assert_eq!((id.len(), secret.len()), (ID_LEN, SECRET_LEN));
    Ok(NewToken {
        secret_hash: hash_secret(&secret),
        full: format!("{PREFIX}{id}{secret}"),
        id,
    })
}

/// Splits a presented token into (id, secret); `None` when it cannot be one of ours.
pub fn split(token: &str) -> Option<(&str, &str)> {
    let rest = token.trim().strip_prefix(PREFIX)?;
    if rest.len() != ID_LEN + SECRET_LEN
        || !rest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'v'))
    {
        return None;
    }
    Some(rest.split_at(ID_LEN))
}

/// SHA-256 of a secret.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Constant-time check of a presented secret against the stored hash.
pub fn verify(secret: &str, stored_hash: &[u8]) -> bool {
    let presented = hash_secret(secret);
    stored_hash.len() == presented.len() && bool::from(presented.ct_eq(stored_hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_split_verify() {
        let t = generate().unwrap();
        assert_eq!(t.full.len(), 5 + ID_LEN + SECRET_LEN);
        let (id, secret) = split(&t.full).unwrap();
        assert_eq!(id, t.id);
        assert!(verify(secret, &t.secret_hash));
        let mut wrong = secret.to_owned();
        wrong.replace_range(0..1, if wrong.starts_with('0') { "1" } else { "0" });
        assert!(!verify(&wrong, &t.secret_hash));
        assert_ne!(generate().unwrap().full, t.full);
    }

    #[test]
    fn rejects_foreign_strings() {
        assert!(split("hunter2").is_none());
        assert!(split("ddns_short").is_none());
        let upper = format!("ddns_{}", "A".repeat(ID_LEN + SECRET_LEN));
        assert!(split(&upper).is_none());
    }
}
