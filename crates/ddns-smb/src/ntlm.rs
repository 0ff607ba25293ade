//! NTLMv2 authentication as an SMB2 client does it ([MS-NLMP]): the NEGOTIATE_MESSAGE, a
//! strict parse of the server's CHALLENGE_MESSAGE, and the AUTHENTICATE_MESSAGE with the
//! NTLMv2 response; each token wrapped in SPNEGO ([RFC 4178]), as Windows and Samba expect in
//! SMB2 SESSION_SETUP (§3.2.5.3 of [MS-SMB2]: the buffer is a GSS-API token).
//!
//! ```text
//! Define NTOWFv2(Passwd, User, UserDom) as HMAC_MD5(MD4(UNICODE(Passwd)),
//!     UNICODE(ConcatenationOf(Uppercase(User), UserDom)))
//! Set temp to ConcatenationOf(Responserversion, HiResponserversion, Z(6), Time,
//!     ClientChallenge, Z(4), ServerName, Z(4))
//! Set NTProofStr to HMAC_MD5(ResponseKeyNT, ConcatenationOf(CHALLENGE_MESSAGE.ServerChallenge, temp))
//! Set NtChallengeResponse to ConcatenationOf(NTProofStr, temp)
//! Set SessionBaseKey to HMAC_MD5(ResponseKeyNT, NTProofStr)              ([MS-NLMP] §3.3.2)
//! ```
//!
//! No MIC and no key exchange: the check needs the server's verdict on the credentials, and a
//! session key only to sign a TREE_CONNECT where the server requires signing.

use hmac::{Hmac, Mac as _};
use md4::{Digest as _, Md4};
use md5::Md5;

use crate::SmbError;
use crate::wire::{u16_at, u32_at};

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// §2.2.2.5: the negotiate flags this client sets.
mod flag {
    pub(super) const UNICODE: u32 = 0x0000_0001;
    pub(super) const REQUEST_TARGET: u32 = 0x0000_0004;
    pub(super) const SIGN: u32 = 0x0000_0010;
    pub(super) const NTLM: u32 = 0x0000_0200;
    pub(super) const ALWAYS_SIGN: u32 = 0x0000_8000;
    pub(super) const EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
    pub(super) const TARGET_INFO: u32 = 0x0080_0000;
    pub(super) const N128: u32 = 0x2000_0000;
    pub(super) const N56: u32 = 0x8000_0000;
}

const CLIENT_FLAGS: u32 = flag::UNICODE
    | flag::REQUEST_TARGET
    | flag::SIGN
    | flag::NTLM
    | flag::ALWAYS_SIGN
    | flag::EXTENDED_SESSIONSECURITY
    | flag::TARGET_INFO
    | flag::N128
    | flag::N56;

/// §2.2.2.1: AV_PAIR ids used here.
const AV_EOL: u16 = 0;
const AV_TIMESTAMP: u16 = 7;

/// The parts of a CHALLENGE_MESSAGE the response is computed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// §2.2.1.2 NegotiateFlags.
    pub flags: u32,
    /// §2.2.1.2 ServerChallenge.
    pub server_challenge: [u8; 8],
    /// §2.2.1.2 TargetInfo: AV_PAIRs, echoed in the NTLMv2 response.
    pub target_info: Vec<u8>,
    /// MsvAvTimestamp from TargetInfo, when the server sent one (§3.1.5.1.2: then the
    /// client uses it as the response's time).
    pub timestamp: Option<u64>,
}

/// §2.2.1.1: NEGOTIATE_MESSAGE without domain, workstation or version.
pub fn negotiate_message() -> Vec<u8> {
    let mut m = Vec::with_capacity(32);
    m.extend_from_slice(SIGNATURE);
    m.extend_from_slice(&1u32.to_le_bytes());
    m.extend_from_slice(&CLIENT_FLAGS.to_le_bytes());
    m.extend_from_slice(&[0; 16]); // DomainNameFields, WorkstationFields
    m
}

fn field(msg: &[u8], at: usize) -> Result<&[u8], SmbError> {
    let bad = SmbError::Malformed("an NTLMSSP field outside the message");
    let len = usize::from(u16_at(msg, at).ok_or(SmbError::Malformed("NTLMSSP too short"))?);
    let offset = u32_at(msg, at + 4).ok_or(SmbError::Malformed("NTLMSSP too short"))? as usize;
    if len == 0 {
        return Ok(&[]);
    }
    msg.get(offset..offset.checked_add(len).ok_or(bad.clone())?)
        .ok_or(bad)
}

/// §2.2.1.2: parses a CHALLENGE_MESSAGE and its TargetInfo AV_PAIRs.
pub fn parse_challenge(msg: &[u8]) -> Result<Challenge, SmbError> {
    use SmbError::Malformed;
    if msg.len() < 48 {
        return Err(Malformed("NTLMSSP CHALLENGE_MESSAGE too short"));
    }
    if &msg[..8] != SIGNATURE {
        return Err(Malformed("no NTLMSSP signature"));
    }
    if u32_at(msg, 8) != Some(2) {
        return Err(Malformed("not an NTLMSSP CHALLENGE_MESSAGE"));
    }
    let flags = u32_at(msg, 20).unwrap_or(0);
    let mut server_challenge = [0u8; 8];
    server_challenge.copy_from_slice(&msg[24..32]);
    let target_info = field(msg, 40)?.to_vec();
    let mut timestamp = None;
    let mut rest = target_info.as_slice();
    loop {
        let (Some(id), Some(len)) = (u16_at(rest, 0), u16_at(rest, 2)) else {
            return Err(Malformed("TargetInfo without MsvAvEOL"));
        };
        let value = rest
            .get(4..4 + usize::from(len))
            .ok_or(Malformed("an AV_PAIR outside TargetInfo"))?;
        match id {
            AV_EOL => break,
            AV_TIMESTAMP if len == 8 => {
                let mut t = [0u8; 8];
                t.copy_from_slice(value);
                timestamp = Some(u64::from_le_bytes(t));
            }
            _ => {}
        }
        rest = &rest[4 + usize::from(len)..];
    }
    Ok(Challenge {
        flags,
        server_challenge,
        target_info,
        timestamp,
    })
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Md5>>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// §3.3.1: the NT hash, MD4 of the UTF-16LE password.
pub fn nt_hash(password: &str) -> [u8; 16] {
    Md4::digest(utf16le(password)).into()
}

/// §3.3.2 NTOWFv2 (= ResponseKeyNT = ResponseKeyLM).
pub fn ntowf_v2(password: &str, user: &str, domain: &str) -> [u8; 16] {
    let who = utf16le(&format!("{}{domain}", user.to_uppercase()));
    hmac_md5(&nt_hash(password), &[&who])
}

/// The credentials of a check.
#[derive(Clone)]
pub struct Credentials {
    /// The user name (without domain).
    pub user: String,
    /// The domain (empty: the server's own accounts).
    pub domain: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("domain", &self.domain)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// `DOMAIN\user`, `user@domain` or `user`.
    pub fn new(user: &str, password: String) -> Self {
        let (domain, user) = match (user.split_once('\\'), user.rsplit_once('@')) {
            (Some((d, u)), _) => (d, u),
            (None, Some((u, d))) => (d, u),
            (None, None) => ("", user),
        };
        Self {
            user: user.to_owned(),
            domain: domain.to_owned(),
            password,
        }
    }
}

/// An AUTHENTICATE_MESSAGE and the session key that goes with it.
pub struct Authenticate {
    /// The message (§2.2.1.3).
    pub message: Vec<u8>,
    /// §3.3.2 SessionBaseKey, which is the session key without key exchange (§3.4.5.1
    /// KXKEY for NTLMv2).
    pub session_key: [u8; 16],
}

/// §3.3.2: the NTLMv2 response to `challenge`, at `time` (FILETIME) with `client_challenge`.
pub fn authenticate_message(
    creds: &Credentials,
    challenge: &Challenge,
    time: u64,
    client_challenge: [u8; 8],
) -> Authenticate {
    let key = ntowf_v2(&creds.password, &creds.user, &creds.domain);
    let time = challenge.timestamp.unwrap_or(time);
    let mut temp = Vec::with_capacity(28 + challenge.target_info.len() + 4);
    temp.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
    temp.extend_from_slice(&time.to_le_bytes());
    temp.extend_from_slice(&client_challenge);
    temp.extend_from_slice(&[0; 4]);
    temp.extend_from_slice(&challenge.target_info);
    temp.extend_from_slice(&[0; 4]);
    let proof = hmac_md5(&key, &[&challenge.server_challenge, &temp]);
    let mut nt = proof.to_vec();
    nt.extend_from_slice(&temp);
    let mut lm = hmac_md5(&key, &[&challenge.server_challenge, &client_challenge]).to_vec();
    lm.extend_from_slice(&client_challenge);
    let session_key = hmac_md5(&key, &[&proof]);

    let domain = utf16le(&creds.domain);
    let user = utf16le(&creds.user);
    let workstation = utf16le("DDNS-CHECK");
    let flags = CLIENT_FLAGS & (challenge.flags | flag::UNICODE);
    let payload: [&[u8]; 5] = [&lm, &nt, &domain, &user, &workstation];
    let mut m = Vec::with_capacity(64 + payload.iter().map(|p| p.len()).sum::<usize>());
    m.extend_from_slice(SIGNATURE);
    m.extend_from_slice(&3u32.to_le_bytes());
    let mut offset = 64u32;
    // Fields in message order: Lm, Nt, Domain, User, Workstation, EncryptedRandomSessionKey.
    for p in payload {
        let len = p.len() as u16;
        m.extend_from_slice(&len.to_le_bytes());
        m.extend_from_slice(&len.to_le_bytes());
        m.extend_from_slice(&offset.to_le_bytes());
        offset += u32::from(len);
    }
    m.extend_from_slice(&0u16.to_le_bytes());
    m.extend_from_slice(&0u16.to_le_bytes());
    m.extend_from_slice(&offset.to_le_bytes());
    m.extend_from_slice(&flags.to_le_bytes());
    for p in payload {
        m.extend_from_slice(p);
    }
    Authenticate {
        message: m,
        session_key,
    }
}

/// The current time as a FILETIME (100 ns since 1601-01-01).
pub fn filetime_now() -> u64 {
    let since_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (since_unix.as_secs() + 11_644_473_600) * 10_000_000
        + u64::from(since_unix.subsec_nanos() / 100)
}

// SPNEGO (RFC 4178 §4.2) in DER: just enough to carry NTLMSSP.

/// 1.3.6.1.5.5.2, the SPNEGO mechanism.
const OID_SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// 1.3.6.1.4.1.311.2.2.10, NTLMSSP.
const OID_NTLMSSP: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

/// One DER TLV: (tag, content, rest).
fn der_read(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7F => (usize::from(first), rest),
        0x81 => (usize::from(*rest.first()?), rest.get(1..)?),
        0x82 => (
            usize::from(*rest.first()?) << 8 | usize::from(*rest.get(1)?),
            rest.get(2..)?,
        ),
        _ => return None,
    };
    Some((tag, rest.get(..len)?, rest.get(len..)?))
}

/// The first token: a GSS-API InitialContextToken with a NegTokenInit offering NTLMSSP.
pub fn spnego_init(mech_token: &[u8]) -> Vec<u8> {
    let mech_types = der(0xa0, &der(0x30, &der(0x06, OID_NTLMSSP)));
    let token = der(0xa2, &der(0x04, mech_token));
    let init = der(0xa0, &der(0x30, &[mech_types, token].concat()));
    der(0x60, &[der(0x06, OID_SPNEGO), init].concat())
}

/// Later tokens: a NegTokenResp carrying `response_token`.
pub fn spnego_response(response_token: &[u8]) -> Vec<u8> {
    der(0xa1, &der(0x30, &der(0xa2, &der(0x04, response_token))))
}

/// §4.2.2 NegTokenResp from the server: its negState (0 accept-completed, 1 accept-incomplete,
/// 2 reject, 3 request-mic) and its responseToken.
pub fn parse_spnego_response(blob: &[u8]) -> Result<(Option<u8>, Vec<u8>), SmbError> {
    let bad = SmbError::Malformed("not an SPNEGO NegTokenResp");
    let (tag, resp, _) = der_read(blob).ok_or(bad.clone())?;
    if tag != 0xa1 {
        return Err(bad);
    }
    let (tag, mut seq, _) = der_read(resp).ok_or(bad.clone())?;
    if tag != 0x30 {
        return Err(bad);
    }
    let (mut state, mut token) = (None, Vec::new());
    while !seq.is_empty() {
        let (tag, content, rest) = der_read(seq).ok_or(bad.clone())?;
        match tag {
            0xa0 => match der_read(content) {
                Some((0x0a, [v], _)) => state = Some(*v),
                _ => return Err(bad),
            },
            0xa2 => match der_read(content) {
                Some((0x04, t, _)) => token = t.to_vec(),
                _ => return Err(bad),
            },
            _ => {}
        }
        seq = rest;
    }
    Ok((state, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// [MS-NLMP] §4.2.4: the NTLMv2 example (User, Domain, Password, server challenge
    /// 0123456789abcdef, client challenge aa×8, time 0, AV pairs Domain and Server).
    #[test]
    fn the_ms_nlmp_ntlmv2_example() {
        assert_eq!(
            nt_hash("Password").to_vec(),
            hex("a4f49c406510bdcab6824ee7c30fd852")
        );
        assert_eq!(
            ntowf_v2("Password", "User", "Domain").to_vec(),
            hex("0c868a403bfd7a93a3001ef22ef02e3f")
        );
        let mut target_info = Vec::new();
        for (id, value) in [(2u16, "Domain"), (1, "Server")] {
            let v = utf16le(value);
            target_info.extend_from_slice(&id.to_le_bytes());
            target_info.extend_from_slice(&(v.len() as u16).to_le_bytes());
            target_info.extend_from_slice(&v);
        }
        target_info.extend_from_slice(&[0; 4]);
        let challenge = Challenge {
            flags: 0xe28a_8233,
            server_challenge: [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef],
            target_info,
            timestamp: None,
        };
        let creds = Credentials::new("Domain\\User", "Password".into());
        assert_eq!(
            (creds.user.as_str(), creds.domain.as_str()),
            ("User", "Domain")
        );
        let auth = authenticate_message(&creds, &challenge, 0, [0xaa; 8]);
        let nt = field(&auth.message, 20).unwrap();
        assert_eq!(nt[..16].to_vec(), hex("68cd0ab851e51c96aabc927bebef6a1c"));
        let lm = field(&auth.message, 12).unwrap();
        assert_eq!(
            lm.to_vec(),
            hex("86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa")
        );
        assert_eq!(
            auth.session_key.to_vec(),
            hex("8de40ccadbc14a82f15cb0ad0de95ca3")
        );
        assert_eq!(field(&auth.message, 36).unwrap(), utf16le("User"));
    }

    fn challenge_message(target_info: &[u8]) -> Vec<u8> {
        let mut m = SIGNATURE.to_vec();
        m.extend_from_slice(&2u32.to_le_bytes());
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(&CLIENT_FLAGS.to_le_bytes());
        m.extend_from_slice(&[9; 8]);
        m.extend_from_slice(&[0; 8]);
        let len = target_info.len() as u16;
        m.extend_from_slice(&len.to_le_bytes());
        m.extend_from_slice(&len.to_le_bytes());
        m.extend_from_slice(&56u32.to_le_bytes());
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(target_info);
        m
    }

    #[test]
    fn challenges_are_parsed_strictly() {
        let mut info = vec![7, 0, 8, 0];
        info.extend_from_slice(&42u64.to_le_bytes());
        info.extend_from_slice(&[0; 4]);
        let c = parse_challenge(&challenge_message(&info)).unwrap();
        assert_eq!(c.server_challenge, [9; 8]);
        assert_eq!(c.timestamp, Some(42));
        assert_eq!(c.target_info, info);
        // No EOL, an AV pair running past the end, a field outside the message.
        assert!(parse_challenge(&challenge_message(&[7, 0, 8, 0])).is_err());
        assert!(parse_challenge(&challenge_message(&[1, 0, 9, 0, 0])).is_err());
        let mut m = challenge_message(&info);
        m[44] = 0xFF;
        assert!(parse_challenge(&m).is_err());
        let full = challenge_message(&info);
        for len in 0..full.len() {
            assert!(parse_challenge(&full[..len]).is_err(), "{len}");
        }
    }

    #[test]
    fn spnego_round_trips_its_tokens() {
        let ntlm = negotiate_message();
        let init = spnego_init(&ntlm);
        assert_eq!(init[0], 0x60);
        assert!(init.windows(ntlm.len()).any(|w| w == ntlm));
        let long = vec![5u8; 300];
        let (state, token) = parse_spnego_response(&spnego_response(&long)).unwrap();
        assert_eq!((state, token), (None, long));
        // What a server sends: negState accept-incomplete, supportedMech, responseToken.
        let server = der(
            0xa1,
            &der(
                0x30,
                &[
                    der(0xa0, &der(0x0a, &[1])),
                    der(0xa1, &der(0x06, OID_NTLMSSP)),
                    der(0xa2, &der(0x04, b"NTLMSSP\0x")),
                ]
                .concat(),
            ),
        );
        assert_eq!(
            parse_spnego_response(&server).unwrap(),
            (Some(1), b"NTLMSSP\0x".to_vec())
        );
        for len in 0..server.len() {
            let _ = parse_spnego_response(&server[..len]);
        }
        assert!(parse_spnego_response(&init).is_err());
    }
}
