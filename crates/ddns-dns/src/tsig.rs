//! TSIG, transaction signatures with shared secrets (RFC 8945): keys, verification of signed
//! requests and responses, signing of responses and requests, and multi-message streams for
//! zone transfers.
//!
//! Pure: bytes in, bytes out, the time passed in by the caller. The server verifies a request
//! with [`verify_request`] and signs its answer with [`sign_response`] (or a [`StreamSigner`]
//! for AXFR/IXFR); an error found in the request is answered through
//! [`Failure::append_error_tsig`]. Clients (NOTIFY, RFC 2136, transfers) sign with
//! [`sign_request`] and check the answer with a [`StreamVerifier`].
//!
//! Only HMAC-SHA-256/384/512 are implemented. Truncated MACs are accepted down to the minimum
//! of RFC 8945 §5.2.2.1; our own MACs are never truncated, so BADTRUNC is never sent.

use std::fmt;

use data_encoding::BASE64;
use ddns_core::{CLASS_ANY, DomainName, Rcode, Rtype, name::wire_to_text};
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

const HEADER_LEN: usize = 12;
const MAX_NAME: usize = 255;
/// Shortest secret [`Key::new`] accepts, in octets.
pub const MIN_SECRET_LEN: usize = 16;
/// Largest value of the 48-bit Time Signed field.
const MAX_TIME: u64 = (1 << 48) - 1;
/// RFC 8945 §5.3.1: a client "MUST accept up to 99 intermediary messages without a TSIG".
const MAX_UNSIGNED_RUN: usize = 99;

/// A TSIG algorithm ddns implements (RFC 8945 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `hmac-sha256.`, the one RFC 8945 §6 says is RECOMMENDED.
    HmacSha256,
    /// `hmac-sha384.`
    HmacSha384,
    /// `hmac-sha512.`
    HmacSha512,
}

impl Algorithm {
    /// Every implemented algorithm.
    pub const ALL: [Self; 3] = [Self::HmacSha256, Self::HmacSha384, Self::HmacSha512];

    /// Parses a configured algorithm name (any case, trailing dot optional). Names of weak or
    /// unimplemented algorithms are refused with an error that says why.
    pub fn parse(text: &str) -> Result<Self, TsigError> {
        let name = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
        match name.as_str() {
            "hmac-sha256" => Ok(Self::HmacSha256),
            "hmac-sha384" => Ok(Self::HmacSha384),
            "hmac-sha512" => Ok(Self::HmacSha512),
            "hmac-md5" | "hmac-md5.sig-alg.reg.int" | "hmac-sha1" => {
                Err(TsigError::WeakAlgorithm {
                    name: text.to_owned(),
                })
            }
            "hmac-sha224" | "hmac-sha256-128" | "hmac-sha384-192" | "hmac-sha512-256"
            | "gss-tsig" => Err(TsigError::UnsupportedAlgorithm {
                name: text.to_owned(),
            }),
            _ => Err(TsigError::UnknownAlgorithm {
                name: text.to_owned(),
            }),
        }
    }

    /// The name as it appears on the wire (lower case, uncompressed).
    pub fn wire_name(self) -> &'static [u8] {
        match self {
            Self::HmacSha256 => b"\x0bhmac-sha256\x00",
            Self::HmacSha384 => b"\x0bhmac-sha384\x00",
            Self::HmacSha512 => b"\x0bhmac-sha512\x00",
        }
    }

    /// The name in presentation form, with its trailing dot.
    pub fn name(self) -> &'static str {
        match self {
            Self::HmacSha256 => "hmac-sha256.",
            Self::HmacSha384 => "hmac-sha384.",
            Self::HmacSha512 => "hmac-sha512.",
        }
    }

    /// Output length of the keyed hash, in octets.
    pub fn mac_len(self) -> usize {
        match self {
            Self::HmacSha256 => 32,
            Self::HmacSha384 => 48,
            Self::HmacSha512 => 64,
        }
    }

    /// Shortest truncated MAC accepted.
    ///
    /// RFC 8945 §5.2.2.1, case 3: "'MAC Size' field is less than the larger of 10 (octets) and
    /// half the length of the hash function in use" — such a MAC is not accepted.
    pub fn min_mac_len(self) -> usize {
        (self.mac_len() / 2).max(10)
    }

    fn from_wire(lower: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.wire_name() == lower)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A shared TSIG key. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    name: Vec<u8>,
    domain: DomainName,
    algorithm: Algorithm,
    secret: Vec<u8>,
}

impl Key {
    /// A key named `name` with a base64 secret (RFC 4648 §4, padded, as `tsig-keygen` and
    /// `keymgr` print it) of at least [`MIN_SECRET_LEN`] octets.
    pub fn new(
        name: &DomainName,
        algorithm: Algorithm,
        secret_base64: &str,
    ) -> Result<Self, TsigError> {
        let secret = BASE64
            .decode(secret_base64.trim().as_bytes())
            .map_err(|e| TsigError::SecretNotBase64 {
                reason: e.to_string(),
            })?;
        if secret.len() < MIN_SECRET_LEN {
            return Err(TsigError::SecretTooShort { len: secret.len() });
        }
        Ok(Self {
            name: name.to_wire(),
            domain: name.clone(),
            algorithm,
            secret,
        })
    }

    /// The key name, lower-case wire form.
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// The key name as access rules name it.
    pub fn domain(&self) -> &DomainName {
        &self.domain
    }

    /// The key name with its trailing dot.
    pub fn name_text(&self) -> String {
        wire_to_text(&self.name)
    }

    /// The algorithm this key is used with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn hasher(&self) -> Hasher {
        Hasher::new(self.algorithm, &self.secret)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("name", &self.name_text())
            .field("algorithm", &self.algorithm)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The keys a server or client knows, one per name.
#[derive(Clone, Debug, Default)]
pub struct KeyRing {
    keys: Vec<Key>,
}

impl KeyRing {
    /// An empty ring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key; a second key with the same name is refused, since a TSIG names its key.
    pub fn insert(&mut self, key: Key) -> Result<(), TsigError> {
        if self.by_name(&key.name).is_some() {
            return Err(TsigError::DuplicateKey {
                name: key.name_text(),
            });
        }
        self.keys.push(key);
        Ok(())
    }

    /// The key with this (lower-case wire) name.
    pub fn by_name(&self, name: &[u8]) -> Option<&Key> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// The key with this name, if it is used with `algorithm`.
    pub fn get(&self, name: &[u8], algorithm: Algorithm) -> Option<&Key> {
        self.by_name(name).filter(|k| k.algorithm == algorithm)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the ring holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// What went wrong with a key, a TSIG record, or signing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TsigError {
    /// MD5 or SHA-1 in a configuration.
    #[error(
        "{name} is not accepted: MD5 and SHA-1 are too weak for new deployments; use hmac-sha256"
    )]
    WeakAlgorithm {
        /// The name as configured.
        name: String,
    },
    /// A registered algorithm ddns does not implement.
    #[error(
        "{name} is not supported: ddns implements hmac-sha256, hmac-sha384 and hmac-sha512 \
         (untruncated); use hmac-sha256"
    )]
    UnsupportedAlgorithm {
        /// The name as configured.
        name: String,
    },
    /// Not a TSIG algorithm name at all.
    #[error("{name:?} is not a TSIG algorithm; use hmac-sha256, hmac-sha384 or hmac-sha512")]
    UnknownAlgorithm {
        /// The name as configured.
        name: String,
    },
    /// The secret is not base64.
    #[error("the TSIG secret is not valid base64: {reason}")]
    SecretNotBase64 {
        /// The decoder's complaint.
        reason: String,
    },
    /// The secret is too short to be a secret.
    #[error("the TSIG secret is {len} octets long; at least 16 are required")]
    SecretTooShort {
        /// Decoded length.
        len: usize,
    },
    /// Two keys of one name in a key ring.
    #[error("the TSIG key {name} is defined twice")]
    DuplicateKey {
        /// The key name.
        name: String,
    },
    /// The message or its TSIG record cannot be read.
    #[error("malformed message or TSIG record: {what}")]
    Malformed {
        /// What could not be read.
        what: &'static str,
    },
    /// More than one TSIG record (RFC 8945 §5.2).
    #[error("the message carries more than one TSIG record")]
    MultipleTsig,
    /// A TSIG record that is not the last record of the additional section (RFC 8945 §5.2).
    #[error("the TSIG record is not the last record of the additional section")]
    NotLast,
    /// CLASS other than ANY (RFC 8945 §4.2).
    #[error("the TSIG record has class {class}; it must be ANY (255)")]
    WrongClass {
        /// The class received.
        class: u16,
    },
    /// TTL other than 0 (RFC 8945 §4.2).
    #[error("the TSIG record has TTL {ttl}; it must be 0")]
    WrongTtl {
        /// The TTL received.
        ttl: u32,
    },
    /// A MAC longer than the hash (RFC 8945 §5.2.2.1, case 1).
    #[error("the MAC is {size} octets long, more than the {max} of {algorithm}")]
    MacTooLong {
        /// MAC Size received.
        size: usize,
        /// Hash output length.
        max: usize,
        /// The algorithm.
        algorithm: Algorithm,
    },
    /// The key name is not in the key ring.
    #[error("unknown TSIG key {name}")]
    UnknownKey {
        /// Key name received.
        name: String,
    },
    /// The key is known, but not with this algorithm (or the algorithm is unknown).
    #[error("the TSIG key {name} is not used with algorithm {algorithm}")]
    WrongAlgorithm {
        /// Key name received.
        name: String,
        /// Algorithm name received.
        algorithm: String,
    },
    /// A MAC truncated below max(10, half the hash) (RFC 8945 §5.2.2.1, case 2): FORMERR.
    #[error("the MAC is truncated to {size} octets; {algorithm} needs at least {min}")]
    MacTooShort {
        /// MAC Size received.
        size: usize,
        /// Shortest accepted.
        min: usize,
        /// The algorithm.
        algorithm: Algorithm,
    },
    /// The MAC does not match the message.
    #[error("the MAC does not match the message (wrong secret, or the message was altered)")]
    BadMac,
    /// The signature time is outside the fudge window.
    #[error(
        "the message was signed at {time_signed}, {skew} s from now ({now}); fudge is {fudge} s"
    )]
    BadTime {
        /// Time Signed received.
        time_signed: u64,
        /// Our clock.
        now: u64,
        /// |now − time signed|.
        skew: u64,
        /// Fudge received.
        fudge: u16,
    },
    /// A response that should have been signed is not (client side).
    #[error("the response is not signed")]
    Unsigned,
    /// The response is signed with another key than the request (client side).
    #[error("the response is signed with key {name}, not with the key of the request")]
    OtherKey {
        /// Key name in the response.
        name: String,
    },
    /// The peer reports a TSIG error (client side).
    #[error("the peer rejected our signature with TSIG error {error}")]
    PeerRejected {
        /// The TSIG Error field.
        error: Rcode,
    },
    /// More unsigned messages in a row than RFC 8945 §5.3.1 allows.
    #[error("more than 99 consecutive messages without TSIG in a stream")]
    TooManyUnsigned,
    /// A stream whose last message is not signed, or a stream used after a failure.
    #[error("the message stream is incomplete or already failed: {what}")]
    Stream {
        /// What is wrong.
        what: &'static str,
    },
    /// A message to sign that cannot take a TSIG record.
    #[error("cannot sign: {what}")]
    CannotSign {
        /// Why.
        what: &'static str,
    },
}

impl TsigError {
    /// The RCODE a server answers with when a request fails this way (RFC 8945 §5.2).
    pub fn rcode(&self) -> Rcode {
        match self.tsig_error() {
            Some(_) => Rcode::NOTAUTH,
            None => Rcode::FORMERR,
        }
    }

    /// The TSIG Error of the answer: BADKEY, BADSIG or BADTIME; `None` for FORMERR.
    pub fn tsig_error(&self) -> Option<Rcode> {
        match self {
            Self::UnknownKey { .. } | Self::WrongAlgorithm { .. } => Some(Rcode::BADKEY),
            Self::BadMac => Some(Rcode::BADSIG),
            Self::BadTime { .. } => Some(Rcode::BADTIME),
            Self::WeakAlgorithm { .. }
            | Self::UnsupportedAlgorithm { .. }
            | Self::UnknownAlgorithm { .. }
            | Self::SecretNotBase64 { .. }
            | Self::SecretTooShort { .. }
            | Self::DuplicateKey { .. }
            | Self::Malformed { .. }
            | Self::MultipleTsig
            | Self::NotLast
            | Self::WrongClass { .. }
            | Self::WrongTtl { .. }
            | Self::MacTooLong { .. }
            // RFC 8945 §5.2.2.1, case 2: a MAC shorter than max(10, half the hash) "MUST NOT
            // be generated and, if received, MUST cause the DNS message to be dropped and RFC
            // 1035 FORMERR to be returned".
            | Self::MacTooShort { .. }
            | Self::Unsigned
            | Self::OtherKey { .. }
            | Self::PeerRejected { .. }
            | Self::TooManyUnsigned
            | Self::Stream { .. }
            | Self::CannotSign { .. } => None,
        }
    }
}

/// The fields of a received TSIG record (RFC 8945 §4.2), names lower-case and uncompressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsigRecord {
    /// Key name, wire form.
    pub key_name: Vec<u8>,
    /// Algorithm name, wire form.
    pub algorithm: Vec<u8>,
    /// Time Signed, seconds since the epoch.
    pub time_signed: u64,
    /// Fudge, seconds.
    pub fudge: u16,
    /// The MAC as received (possibly truncated).
    pub mac: Vec<u8>,
    /// Original ID.
    pub original_id: u16,
    /// Error.
    pub error: u16,
    /// Other Data.
    pub other: Vec<u8>,
}

/// The outcome of [`verify_request`].
#[derive(Debug)]
pub enum Verified<'k> {
    /// No TSIG record: the request is unsigned (it may still be refused by policy).
    Unsigned,
    /// Signed with a known key, MAC and time correct.
    Valid(SignedRequest<'k>),
    /// Answer with `failure.rcode` and the TSIG record [`Failure::append_error_tsig`] writes.
    Failed(Failure<'k>),
}

/// A request whose TSIG verified.
#[derive(Debug)]
pub struct SignedRequest<'k> {
    /// The key that signed it; sign the response with it.
    pub key: &'k Key,
    /// The request MAC, as received, to digest into the response (RFC 8945 §4.3.1).
    pub mac: Vec<u8>,
    /// Time Signed.
    pub time_signed: u64,
    /// Fudge.
    pub fudge: u16,
    /// Original ID.
    pub original_id: u16,
    /// Length of the message without its TSIG record: `message[..message_len]` is the request
    /// as it was before signing, except that ARCOUNT still counts the TSIG record.
    pub message_len: usize,
}

/// A request whose TSIG did not verify.
#[derive(Debug)]
pub struct Failure<'k> {
    /// RCODE of the answer: NOTAUTH, or FORMERR when the TSIG could not be used at all.
    pub rcode: Rcode,
    /// TSIG Error of the answer (BADKEY, BADSIG, BADTIME); `None` with FORMERR.
    pub tsig_error: Option<Rcode>,
    /// What was wrong, for the log.
    pub error: TsigError,
    /// The TSIG record, when it could be read.
    pub record: Option<TsigRecord>,
    /// The key, when it was known (BADTIME answers are signed with it).
    key: Option<&'k Key>,
}

impl Failure<'_> {
    /// Appends to an error `response` (whose RCODE the caller has set to [`Self::rcode`]) the
    /// TSIG record RFC 8945 §5.3.2 asks for.
    ///
    /// RFC 8945 §5.3.2: "When a server detects an error relating to the key or MAC in the
    /// incoming request, the server SHOULD send back an unsigned error message (MAC Size == 0
    /// and empty MAC). It MUST NOT send back a signed error message." — BADKEY and BADSIG.
    /// RFC 8945 §5.2.3: "A response indicating a BADTIME error MUST be signed by the same key
    /// as the request", with the server's current time in Other Data; Time Signed is the
    /// request's, so that the client's own time check does not hide the error.
    ///
    /// With FORMERR nothing is appended: the TSIG record could not be used.
    pub fn append_error_tsig(&self, response: &mut Vec<u8>, now: u64) -> Result<(), TsigError> {
        let (Some(error), Some(record)) = (self.tsig_error, &self.record) else {
            return Ok(());
        };
        match (error, self.key) {
            (Rcode::BADTIME, Some(key)) => {
                let other = now.min(MAX_TIME).to_be_bytes();
                let fields = Fields {
                    time_signed: record.time_signed,
                    fudge: record.fudge,
                    error: Rcode::BADTIME,
                    other: &other[2..],
                };
                let mut hasher = key.hasher();
                digest_prior_mac(&mut hasher, &record.mac);
                sign_with(key, hasher, response, &fields, true).map(drop)
            }
            _ => {
                let fields = Fields {
                    time_signed: now,
                    fudge: record.fudge,
                    error,
                    other: &[],
                };
                append_record(
                    response,
                    &record.key_name,
                    &record.algorithm,
                    &fields,
                    &[],
                    record.original_id,
                )
            }
        }
    }
}

/// Verifies the TSIG of a received request (RFC 8945 §5.2).
///
/// RFC 8945 §5.2: "To validate the received TSIG RR, the server MUST perform the following
/// checks in the following order: 1. Check key 2. Check MAC 3. Check time values 4. Check
/// truncation policy". Our truncation policy is the RFC's minimum, checked with the MAC.
pub fn verify_request<'k>(keyring: &'k KeyRing, message: &[u8], now: u64) -> Verified<'k> {
    let (start, record) = match locate(message) {
        Ok(None) => return Verified::Unsigned,
        Ok(Some(found)) => found,
        Err(error) => return Verified::Failed(failure(error, None, None)),
    };
    // RFC 8945 §5.2.1: "If a non-forwarding server does not recognize the key or algorithm
    // used by the client (or recognizes the algorithm but does not implement it), the server
    // MUST generate an error response with RCODE 9 (NOTAUTH) and TSIG ERROR 17 (BADKEY)."
    let Some(key) = keyring.by_name(&record.key_name) else {
        let error = TsigError::UnknownKey {
            name: wire_to_text(&record.key_name),
        };
        return Verified::Failed(failure(error, Some(record), None));
    };
    if Algorithm::from_wire(&record.algorithm) != Some(key.algorithm) {
        let error = TsigError::WrongAlgorithm {
            name: wire_to_text(&record.key_name),
            algorithm: wire_to_text(&record.algorithm),
        };
        return Verified::Failed(failure(error, Some(record), None));
    }
    let mut hasher = key.hasher();
    digest_message(&mut hasher, message, start, record.original_id);
    let checked = check_mac(key, hasher, &record, true).and_then(|()| check_time(&record, now));
    match checked {
        Ok(()) => Verified::Valid(SignedRequest {
            key,
            mac: record.mac,
            time_signed: record.time_signed,
            fudge: record.fudge,
            original_id: record.original_id,
            message_len: start,
        }),
        // RFC 8945 §5.2.3: the MAC is checked first, so a BADTIME answer (signed) goes only to
        // the holder of the key.
        Err(error) => Verified::Failed(failure(error, Some(record), Some(key))),
    }
}

fn failure<'k>(error: TsigError, record: Option<TsigRecord>, key: Option<&'k Key>) -> Failure<'k> {
    Failure {
        rcode: error.rcode(),
        tsig_error: error.tsig_error(),
        error,
        record,
        key,
    }
}

/// Signs a request (NOTIFY, UPDATE, a transfer query): appends the TSIG record and returns its
/// MAC, which the response's verifier needs.
pub fn sign_request(
    key: &Key,
    message: &mut Vec<u8>,
    now: u64,
    fudge: u16,
) -> Result<Vec<u8>, TsigError> {
    sign_response(key, message, None, now, fudge, Rcode::NOERROR, &[])
}

/// Signs a message (RFC 8945 §4.3): appends the TSIG record, increments ARCOUNT, and returns
/// the MAC. `request_mac` is the MAC of the request this answers (`None` for a request);
/// `error` and `other` fill the TSIG Error and Other Data fields.
///
/// RFC 8945 §4.3.1: "Only included in the computation of a MAC for a response message (or the
/// first message in a multi-message response), the validated request MAC MUST be included in
/// the MAC computation."
pub fn sign_response(
    key: &Key,
    message: &mut Vec<u8>,
    request_mac: Option<&[u8]>,
    now: u64,
    fudge: u16,
    error: Rcode,
    other: &[u8],
) -> Result<Vec<u8>, TsigError> {
    let mut hasher = key.hasher();
    if let Some(mac) = request_mac {
        digest_prior_mac(&mut hasher, mac);
    }
    let fields = Fields {
        time_signed: now,
        fudge,
        error,
        other,
    };
    sign_with(key, hasher, message, &fields, true)
}

/// Signs the messages of one multi-message response (AXFR, IXFR) in order.
///
/// RFC 8945 §5.3.1: "The first message is processed as a standard answer (see Section 4.3),
/// and subsequent messages have the following fields input into the MAC computation: 1. Prior
/// MAC (running) 2. DNS Messages (any unsigned messages since the last TSIG) 3. TSIG Timers
/// (current message)". Every message is signed: the allowance to leave up to 99 unsigned is
/// not used, so "DNS Messages" is always the current message alone.
#[derive(Debug)]
pub struct StreamSigner<'k> {
    key: &'k Key,
    prior_mac: Vec<u8>,
    first: bool,
}

impl<'k> StreamSigner<'k> {
    /// A stream answering a request whose (verified) MAC is `request_mac`.
    pub fn new(key: &'k Key, request_mac: &[u8]) -> Self {
        Self {
            key,
            prior_mac: request_mac.to_vec(),
            first: true,
        }
    }

    /// Signs the next message; returns its MAC.
    pub fn sign(
        &mut self,
        message: &mut Vec<u8>,
        now: u64,
        fudge: u16,
    ) -> Result<Vec<u8>, TsigError> {
        let mut hasher = self.key.hasher();
        digest_prior_mac(&mut hasher, &self.prior_mac);
        let fields = Fields {
            time_signed: now,
            fudge,
            error: Rcode::NOERROR,
            other: &[],
        };
        let mac = sign_with(self.key, hasher, message, &fields, self.first)?;
        self.first = false;
        self.prior_mac.clone_from(&mac);
        Ok(mac)
    }
}

/// What [`StreamVerifier::verify`] found in one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamMessage {
    /// The message carried a TSIG that verified (otherwise it was an unsigned intermediate).
    pub signed: bool,
    /// Length of the message without its TSIG record (ARCOUNT still counts it when signed).
    pub message_len: usize,
}

/// Verifies the response, or the messages of a multi-message response, to a request we signed
/// (client side of NOTIFY, UPDATE and transfers).
///
/// RFC 8945 §5.3.1: "a client that receives DNS messages and verifies TSIG MUST accept up to
/// 99 intermediary messages without a TSIG"; their bytes enter the next signed message's
/// digest. The first and the last message must be signed ([`Self::finish`]).
pub struct StreamVerifier<'k> {
    key: &'k Key,
    prior_mac: Vec<u8>,
    first: bool,
    /// Digest of the unsigned messages since the last signed one, prior MAC first.
    running: Option<Hasher>,
    unsigned_run: usize,
    failed: bool,
}

impl fmt::Debug for StreamVerifier<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamVerifier")
            .field("key", &self.key)
            .field("first", &self.first)
            .field("unsigned_run", &self.unsigned_run)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<'k> StreamVerifier<'k> {
    /// Verifies answers to a request signed with `key` whose MAC was `request_mac`.
    pub fn new(key: &'k Key, request_mac: &[u8]) -> Self {
        Self {
            key,
            prior_mac: request_mac.to_vec(),
            first: true,
            running: None,
            unsigned_run: 0,
            failed: false,
        }
    }

    /// Checks the next message. After an error the stream is failed for good.
    pub fn verify(&mut self, message: &[u8], now: u64) -> Result<StreamMessage, TsigError> {
        if self.failed {
            return Err(TsigError::Stream {
                what: "an earlier message failed verification",
            });
        }
        let result = self.verify_inner(message, now);
        self.failed = result.is_err();
        result
    }

    /// Checks that the stream ended on a signed message.
    pub fn finish(&self) -> Result<(), TsigError> {
        if self.failed {
            Err(TsigError::Stream {
                what: "an earlier message failed verification",
            })
        } else if self.first {
            Err(TsigError::Stream {
                what: "no message was received",
            })
        } else if self.running.is_some() {
            Err(TsigError::Stream {
                what: "the last message is not signed",
            })
        } else {
            Ok(())
        }
    }

    fn verify_inner(&mut self, message: &[u8], now: u64) -> Result<StreamMessage, TsigError> {
        let Some((start, record)) = locate(message)? else {
            if self.first {
                return Err(TsigError::Unsigned);
            }
            self.unsigned_run += 1;
            if self.unsigned_run > MAX_UNSIGNED_RUN {
                return Err(TsigError::TooManyUnsigned);
            }
            let running = self.running.get_or_insert_with(|| {
                let mut hasher = self.key.hasher();
                digest_prior_mac(&mut hasher, &self.prior_mac);
                hasher
            });
            running.update(message);
            return Ok(StreamMessage {
                signed: false,
                message_len: message.len(),
            });
        };
        if record.key_name != self.key.name {
            return Err(TsigError::OtherKey {
                name: wire_to_text(&record.key_name),
            });
        }
        if Algorithm::from_wire(&record.algorithm) != Some(self.key.algorithm) {
            return Err(TsigError::WrongAlgorithm {
                name: wire_to_text(&record.key_name),
                algorithm: wire_to_text(&record.algorithm),
            });
        }
        if record.error != 0 {
            return Err(TsigError::PeerRejected {
                error: Rcode(record.error),
            });
        }
        let mut hasher = match self.running.take() {
            Some(running) => running,
            None => {
                let mut hasher = self.key.hasher();
                digest_prior_mac(&mut hasher, &self.prior_mac);
                hasher
            }
        };
        digest_message(&mut hasher, message, start, record.original_id);
        check_mac(self.key, hasher, &record, self.first)?;
        check_time(&record, now)?;
        self.first = false;
        self.unsigned_run = 0;
        self.prior_mac = record.mac;
        Ok(StreamMessage {
            signed: true,
            message_len: start,
        })
    }
}

/// Verifies a single signed response to a request whose MAC was `request_mac`.
pub fn verify_response(
    key: &Key,
    message: &[u8],
    request_mac: &[u8],
    now: u64,
) -> Result<usize, TsigError> {
    StreamVerifier::new(key, request_mac)
        .verify(message, now)
        .map(|m| m.message_len)
}

// ---------------------------------------------------------------------------------------------
// MAC computation (RFC 8945 §4.3).

enum Hasher {
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
    Sha512(Hmac<Sha512>),
}

impl Hasher {
    fn new(algorithm: Algorithm, secret: &[u8]) -> Self {
        // HMAC takes keys of any length (RFC 2104 §3): longer ones are hashed first.
        match algorithm {
            Algorithm::HmacSha256 => Self::Sha256(
                Hmac::new_from_slice(secret)
                    .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length")),
            ),
            Algorithm::HmacSha384 => Self::Sha384(
                Hmac::new_from_slice(secret)
                    .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length")),
            ),
            Algorithm::HmacSha512 => Self::Sha512(
                Hmac::new_from_slice(secret)
                    .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length")),
            ),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(data),
            Self::Sha384(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            Self::Sha256(h) => h.finalize().into_bytes().to_vec(),
            Self::Sha384(h) => h.finalize().into_bytes().to_vec(),
            Self::Sha512(h) => h.finalize().into_bytes().to_vec(),
        }
    }
}

/// RFC 8945 §4.3.1: "The request's MAC, comprising the following fields, is digested in wire
/// format: MAC Size [2 octets] ... MAC [variable]". §5.3.1 digests the prior MAC the same way.
fn digest_prior_mac(hasher: &mut Hasher, mac: &[u8]) {
    // MAC Size is a 16-bit field on the wire, so a received MAC always fits.
    hasher.update(&(mac.len() as u16).to_be_bytes());
    hasher.update(mac);
}

/// RFC 8945 §4.3.2: "A whole and complete DNS message in wire format. ... Before the MAC is
/// calculated, the TSIG RR is removed and the ARCOUNT in the DNS message header is decremented
/// ... If the message ID differs from the original message ID, the original message ID is
/// substituted for the message ID."
///
/// `message[..end]` is the message without its TSIG RR, `message[10..12]` the ARCOUNT that
/// still counts it.
fn digest_message(hasher: &mut Hasher, message: &[u8], end: usize, original_id: u16) {
    let arcount = u16::from_be_bytes([message[10], message[11]]).saturating_sub(1);
    hasher.update(&original_id.to_be_bytes());
    hasher.update(&message[2..10]);
    hasher.update(&arcount.to_be_bytes());
    hasher.update(&message[HEADER_LEN..end]);
}

/// The TSIG fields that go into the digest besides names, class and TTL.
struct Fields<'a> {
    time_signed: u64,
    fudge: u16,
    error: Rcode,
    other: &'a [u8],
}

/// RFC 8945 §4.3.3, the TSIG variables: NAME ("Key name, in canonical wire format"), CLASS
/// ("MUST be ANY"), TTL ("MUST be 0"), Algorithm Name ("in canonical wire format"), Time
/// Signed, Fudge, Error, Other Len, Other Data ("exactly as transmitted"). "The RR RDLENGTH and
/// RDATA MAC Size are not included in the input to MAC computation".
///
/// With `full == false` only the TSIG Timers (Time Signed, Fudge) are digested, as §5.3.1 asks
/// for every message of a stream after the first.
fn digest_variables(
    hasher: &mut Hasher,
    key_name: &[u8],
    algorithm: &[u8],
    fields: &Fields<'_>,
    full: bool,
) {
    let time = fields.time_signed.to_be_bytes();
    if full {
        hasher.update(key_name);
        hasher.update(&CLASS_ANY.to_be_bytes());
        hasher.update(&0u32.to_be_bytes());
        hasher.update(algorithm);
    }
    hasher.update(&time[2..]);
    hasher.update(&fields.fudge.to_be_bytes());
    if full {
        hasher.update(&fields.error.0.to_be_bytes());
        // `other` is checked to fit in 16 bits by the caller (signing) or came off the wire.
        hasher.update(&(fields.other.len() as u16).to_be_bytes());
        hasher.update(fields.other);
    }
}

/// Digests `message` (prior MAC already in `hasher`) and the variables, appends the TSIG RR.
fn sign_with(
    key: &Key,
    mut hasher: Hasher,
    message: &mut Vec<u8>,
    fields: &Fields<'_>,
    full: bool,
) -> Result<Vec<u8>, TsigError> {
    if message.len() < HEADER_LEN {
        return Err(TsigError::CannotSign {
            what: "the message is shorter than a DNS header",
        });
    }
    if fields.time_signed > MAX_TIME {
        return Err(TsigError::CannotSign {
            what: "the time does not fit in 48 bits",
        });
    }
    if fields.other.len() > usize::from(u16::MAX) {
        return Err(TsigError::CannotSign {
            what: "Other Data is longer than 65535 octets",
        });
    }
    let id = u16::from_be_bytes([message[0], message[1]]);
    hasher.update(message);
    digest_variables(
        &mut hasher,
        &key.name,
        key.algorithm.wire_name(),
        fields,
        full,
    );
    let mac = hasher.finish();
    append_record(
        message,
        &key.name,
        key.algorithm.wire_name(),
        fields,
        &mac,
        id,
    )?;
    Ok(mac)
}

/// Appends a TSIG RR (RFC 8945 §4.2) and counts it in ARCOUNT.
fn append_record(
    message: &mut Vec<u8>,
    key_name: &[u8],
    algorithm: &[u8],
    fields: &Fields<'_>,
    mac: &[u8],
    original_id: u16,
) -> Result<(), TsigError> {
    if message.len() < HEADER_LEN {
        return Err(TsigError::CannotSign {
            what: "the message is shorter than a DNS header",
        });
    }
    let arcount = u16::from_be_bytes([message[10], message[11]])
        .checked_add(1)
        .ok_or(TsigError::CannotSign {
            what: "ARCOUNT is already 65535",
        })?;
    let rdlen = algorithm.len() + 6 + 2 + 2 + mac.len() + 2 + 2 + 2 + fields.other.len();
    let rdlen = u16::try_from(rdlen).map_err(|_| TsigError::CannotSign {
        what: "the TSIG RDATA would exceed 65535 octets",
    })?;
    if message.len() + key_name.len() + 10 + usize::from(rdlen) > usize::from(u16::MAX) {
        return Err(TsigError::CannotSign {
            what: "the signed message would exceed 65535 octets",
        });
    }
    let time = fields.time_signed.to_be_bytes();
    message.extend_from_slice(key_name);
    message.extend_from_slice(&Rtype::TSIG.0.to_be_bytes());
    message.extend_from_slice(&CLASS_ANY.to_be_bytes());
    message.extend_from_slice(&0u32.to_be_bytes());
    message.extend_from_slice(&rdlen.to_be_bytes());
    message.extend_from_slice(algorithm);
    message.extend_from_slice(&time[2..]);
    message.extend_from_slice(&fields.fudge.to_be_bytes());
    // `mac` is at most 64 octets (ours) or was read from a 16-bit field.
    message.extend_from_slice(&(mac.len() as u16).to_be_bytes());
    message.extend_from_slice(mac);
    message.extend_from_slice(&original_id.to_be_bytes());
    message.extend_from_slice(&fields.error.0.to_be_bytes());
    message.extend_from_slice(&(fields.other.len() as u16).to_be_bytes());
    message.extend_from_slice(fields.other);
    message[10..12].copy_from_slice(&arcount.to_be_bytes());
    Ok(())
}

/// Checks the MAC of `record` (message and prior MAC already in `hasher`).
///
/// RFC 8945 §5.2.2.1: "1. If the 'MAC Size' field is greater than the keyed hash output
/// length: This case MUST NOT be generated and, if received, MUST cause the DNS message to be
/// dropped and RCODE 1 (FORMERR) to be returned. ... 4. Otherwise: ... On receipt of a DNS
/// message with truncation thus indicated, the locally calculated MAC is similarly truncated
/// and only the truncated values are compared for authentication."
///
/// A MAC below the minimum (case 3, including MAC Size 0) is answered with BADSIG: it does
/// not authenticate the message.
fn check_mac(
    key: &Key,
    mut hasher: Hasher,
    record: &TsigRecord,
    full: bool,
) -> Result<(), TsigError> {
    let algorithm = key.algorithm;
    let size = record.mac.len();
    if size > algorithm.mac_len() {
        return Err(TsigError::MacTooLong {
            size,
            max: algorithm.mac_len(),
            algorithm,
        });
    }
    if size < algorithm.min_mac_len() {
        return Err(TsigError::MacTooShort {
            size,
            min: algorithm.min_mac_len(),
            algorithm,
        });
    }
    let fields = Fields {
        time_signed: record.time_signed,
        fudge: record.fudge,
        error: Rcode(record.error),
        other: &record.other,
    };
    digest_variables(
        &mut hasher,
        &record.key_name,
        &record.algorithm,
        &fields,
        full,
    );
    let computed = hasher.finish();
    if bool::from(computed[..size].ct_eq(&record.mac)) {
        Ok(())
    } else {
        Err(TsigError::BadMac)
    }
}

/// RFC 8945 §5.2.3: "If the server time is outside the time interval specified by the request
/// (which is: Time Signed, plus/minus Fudge), the server MUST generate an error response with
/// RCODE 9 (NOTAUTH) and TSIG ERROR 18 (BADTIME)."
fn check_time(record: &TsigRecord, now: u64) -> Result<(), TsigError> {
    let skew = now.abs_diff(record.time_signed);
    if skew > u64::from(record.fudge) {
        return Err(TsigError::BadTime {
            time_signed: record.time_signed,
            now,
            skew,
            fudge: record.fudge,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reading the message.

fn malformed(what: &'static str) -> TsigError {
    TsigError::Malformed { what }
}

/// Finds the TSIG RR: `None` when there is none, else its offset and fields.
///
/// RFC 8945 §5.2: "If an incoming message contains a TSIG record, it MUST be the last record
/// in the additional section. Multiple TSIG records are not allowed. If multiple TSIG records
/// are detected or a TSIG record is present in any other position, the DNS message is dropped
/// and a response with RCODE 1 (FORMERR) MUST be returned."
fn locate(message: &[u8]) -> Result<Option<(usize, TsigRecord)>, TsigError> {
    if message.len() < HEADER_LEN {
        return Err(malformed("shorter than a DNS header"));
    }
    let count = |at: usize| usize::from(u16::from_be_bytes([message[at], message[at + 1]]));
    let (qdcount, ancount, nscount, arcount) = (count(4), count(6), count(8), count(10));
    let mut pos = HEADER_LEN;
    for _ in 0..qdcount {
        pos = skip_name(message, pos).ok_or(malformed("a question name"))?;
        pos = pos
            .checked_add(4)
            .filter(|&p| p <= message.len())
            .ok_or(malformed("a question"))?;
    }
    let total = ancount + nscount + arcount;
    let mut found: Option<(usize, usize)> = None;
    for index in 0..total {
        let start = pos;
        let (next, rtype) = skip_record(message, pos).ok_or(malformed("a resource record"))?;
        if rtype == Rtype::TSIG.0 {
            if found.is_some() {
                return Err(TsigError::MultipleTsig);
            }
            found = Some((index, start));
        }
        pos = next;
    }
    if pos != message.len() {
        return Err(malformed("octets after the last record"));
    }
    let Some((index, start)) = found else {
        return Ok(None);
    };
    if index + 1 != total || arcount == 0 {
        return Err(TsigError::NotLast);
    }
    read_tsig(message, start).map(|record| Some((start, record)))
}

/// Reads the TSIG RR at `start`, the last record of the message.
fn read_tsig(message: &[u8], start: usize) -> Result<TsigRecord, TsigError> {
    let (key_name, pos) = read_name(message, start, true).ok_or(malformed("the key name"))?;
    let fixed = message
        .get(pos..pos + 10)
        .ok_or(malformed("the TSIG header"))?;
    let class = u16::from_be_bytes([fixed[2], fixed[3]]);
    let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
    let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
    if class != CLASS_ANY {
        return Err(TsigError::WrongClass { class });
    }
    if ttl != 0 {
        return Err(TsigError::WrongTtl { ttl });
    }
    let rdata_start = pos + 10;
    let rdata = message
        .get(rdata_start..rdata_start + rdlen)
        .ok_or(malformed("the TSIG RDATA"))?;
    // RFC 8945 §4.2, Algorithm Name: "As per [RFC3597], this name MUST NOT be compressed."
    let (algorithm, at) = read_name(rdata, 0, false).ok_or(malformed("the algorithm name"))?;
    let mut cursor = Cursor { data: rdata, at };
    let time_hi = cursor.u16()?;
    let time_lo = cursor.u32()?;
    let fudge = cursor.u16()?;
    let mac_size = cursor.u16()?;
    let mac = cursor.bytes(usize::from(mac_size))?.to_vec();
    let original_id = cursor.u16()?;
    let error = cursor.u16()?;
    let other_len = cursor.u16()?;
    let other = cursor.bytes(usize::from(other_len))?.to_vec();
    if cursor.at != rdata.len() {
        return Err(malformed("octets after Other Data in the TSIG RDATA"));
    }
    Ok(TsigRecord {
        key_name,
        algorithm,
        time_signed: (u64::from(time_hi) << 32) | u64::from(time_lo),
        fudge,
        mac,
        original_id,
        error,
        other,
    })
}

struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn bytes(&mut self, len: usize) -> Result<&'a [u8], TsigError> {
        let out = self
            .data
            .get(self.at..self.at + len)
            .ok_or(malformed("the TSIG RDATA is shorter than its fields"))?;
        self.at += len;
        Ok(out)
    }
    fn u16(&mut self) -> Result<u16, TsigError> {
        self.bytes(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, TsigError> {
        self.bytes(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Reads a name at `pos`, following compression pointers when `compressed` is allowed; returns
/// its lower-case uncompressed wire form and the offset after it in `data`.
///
/// Loop protection: every pointer must point before the start of the run of labels that holds
/// it, so the runs start at strictly decreasing offsets; the name is also capped at 255 octets.
fn read_name(data: &[u8], mut pos: usize, compressed: bool) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let mut end = None;
    let mut run_start = pos;
    loop {
        let len = *data.get(pos)?;
        match len & 0xc0 {
            0xc0 if compressed => {
                let target = usize::from(u16::from_be_bytes([len, *data.get(pos + 1)?]) & 0x3fff);
                if target >= run_start {
                    return None;
                }
                end.get_or_insert(pos + 2);
                pos = target;
                run_start = target;
            }
            0x00 => {
                let len = usize::from(len);
                let label = data.get(pos..=pos + len)?;
                if out.len() + label.len() > MAX_NAME {
                    return None;
                }
                out.extend(label.iter().map(u8::to_ascii_lowercase));
                pos += 1 + len;
                if len == 0 {
                    return Some((out, end.unwrap_or(pos)));
                }
            }
            _ => return None,
        }
    }
}

/// Skips a (possibly compressed) name; returns the offset after it.
fn skip_name(data: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *data.get(pos)?;
        match len & 0xc0 {
            0xc0 => {
                data.get(pos + 1)?;
                return Some(pos + 2);
            }
            0x00 if len == 0 => return Some(pos + 1),
            0x00 => pos += 1 + usize::from(len),
            _ => return None,
        }
    }
}

/// Skips one resource record; returns the offset after it and its TYPE.
fn skip_record(data: &[u8], pos: usize) -> Option<(usize, u16)> {
    let fixed = skip_name(data, pos)?;
    let header = data.get(fixed..fixed + 10)?;
    let rtype = u16::from_be_bytes([header[0], header[1]]);
    let end = fixed + 10 + usize::from(u16::from_be_bytes([header[8], header[9]]));
    (end <= data.len()).then_some((end, rtype))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_pointers() {
        // "a.example." at 0, "b" + pointer to "example." at 11, a loop at 15, a forward
        // pointer at 17.
        let data = b"\x01a\x07example\x00\x01b\xc0\x02\xc0\x0f\xc0\x13";
        let (name, next) = read_name(data, 11, true).unwrap();
        assert_eq!(name, b"\x01b\x07example\x00");
        assert_eq!(next, 15);
        assert!(read_name(data, 11, false).is_none());
        assert!(read_name(data, 15, true).is_none());
        assert!(read_name(data, 17, true).is_none());
        // A label that points back into its own run: b"\x01x" then pointer to offset 0.
        assert!(read_name(b"\x01x\xc0\x00", 0, true).is_none());
        let (upper, _) = read_name(b"\x03KeY\x00", 0, false).unwrap();
        assert_eq!(upper, b"\x03key\x00");
    }

    #[test]
    fn algorithm_names() {
        for (text, alg) in [
            ("hmac-sha256", Algorithm::HmacSha256),
            ("HMAC-SHA384.", Algorithm::HmacSha384),
            ("Hmac-Sha512", Algorithm::HmacSha512),
        ] {
            assert_eq!(Algorithm::parse(text).unwrap(), alg);
            assert_eq!(Algorithm::from_wire(alg.wire_name()), Some(alg));
            assert_eq!(wire_to_text(alg.wire_name()), alg.name());
        }
        let md5 = Algorithm::parse("hmac-md5").unwrap_err();
        assert_eq!(
            md5.to_string(),
            "hmac-md5 is not accepted: MD5 and SHA-1 are too weak for new deployments; \
             use hmac-sha256"
        );
        assert!(matches!(
            Algorithm::parse("HMAC-MD5.SIG-ALG.REG.INT."),
            Err(TsigError::WeakAlgorithm { .. })
        ));
        assert!(matches!(
            Algorithm::parse("hmac-sha1"),
            Err(TsigError::WeakAlgorithm { .. })
        ));
        assert!(matches!(
            Algorithm::parse("hmac-sha224"),
            Err(TsigError::UnsupportedAlgorithm { .. })
        ));
        assert!(matches!(
            Algorithm::parse("sha256"),
            Err(TsigError::UnknownAlgorithm { .. })
        ));
        assert_eq!(Algorithm::HmacSha256.min_mac_len(), 16);
        assert_eq!(Algorithm::HmacSha512.min_mac_len(), 32);
    }

    #[test]
    fn keys() {
        let name = DomainName::parse("Xfr-Key.example.").unwrap();
        let key = Key::new(&name, Algorithm::HmacSha256, "c2VjcmV0LXNlY3JldC0xMjM0NQ==").unwrap();
        assert_eq!(key.name(), b"\x07xfr-key\x07example\x00");
        let debug = format!("{key:?}");
        assert!(
            debug.contains("redacted") && !debug.contains("c2Vj"),
            "{debug}"
        );
        assert!(!debug.contains("secret-secret"), "{debug}");
        assert_eq!(
            Key::new(&name, Algorithm::HmacSha256, "c2hvcnQ="),
            Err(TsigError::SecretTooShort { len: 5 })
        );
        assert!(matches!(
            Key::new(&name, Algorithm::HmacSha256, "not base64!"),
            Err(TsigError::SecretNotBase64 { .. })
        ));
        let mut ring = KeyRing::new();
        ring.insert(key.clone()).unwrap();
        assert!(matches!(
            ring.insert(key.clone()),
            Err(TsigError::DuplicateKey { .. })
        ));
        assert!(ring.get(key.name(), Algorithm::HmacSha256).is_some());
        assert!(ring.get(key.name(), Algorithm::HmacSha512).is_none());
    }

    #[test]
    fn error_classes() {
        assert_eq!(TsigError::BadMac.rcode(), Rcode::NOTAUTH);
        assert_eq!(TsigError::BadMac.tsig_error(), Some(Rcode::BADSIG));
        assert_eq!(TsigError::NotLast.rcode(), Rcode::FORMERR);
        assert_eq!(TsigError::NotLast.tsig_error(), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let mut ring = KeyRing::new();
            let name = DomainName::parse("k.").unwrap();
            ring.insert(Key::new(&name, Algorithm::HmacSha256, "MDEyMzQ1Njc4OWFiY2RlZg==").unwrap()).unwrap();
            let _ = verify_request(&ring, &bytes, 0);
        }
    }
}
