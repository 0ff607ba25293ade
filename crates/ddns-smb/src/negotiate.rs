//! SMB2 NEGOTIATE ([MS-SMB2] §2.2.3 request, §2.2.4 response): the request the health
//! checker and `ddns smb check` send, and a strict parse of the answer (dialect, signing).
//!
//! Only dialects 2.0.2 to 3.0.2 are offered: 3.1.1 needs negotiate contexts and pre-auth
//! integrity hashing, and any of these shows that an SMB2 server answers (every server that
//! speaks 3.1.1 also speaks 3.0.2 unless configured not to, and then it says so by refusing).

use crate::SmbError;
use crate::wire::{self, HEADER_LEN, RequestHeader, command, u16_at};

/// Dialects offered (§2.2.3: 2.0.2, 2.1, 3.0, 3.0.2).
pub const DIALECTS: [u16; 4] = [0x0202, 0x0210, 0x0300, 0x0302];
/// §2.2.4: StructureSize of a NEGOTIATE response.
const RESPONSE_STRUCTURE_SIZE: u16 = 65;
/// §2.2.3 / §2.2.4 SecurityMode: SMB2_NEGOTIATE_SIGNING_ENABLED.
pub const SIGNING_ENABLED: u16 = 0x0001;
/// §2.2.3 / §2.2.4 SecurityMode: SMB2_NEGOTIATE_SIGNING_REQUIRED.
pub const SIGNING_REQUIRED: u16 = 0x0002;

/// What the server chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The dialect revision (one of [`DIALECTS`]).
    pub dialect: u16,
    /// The server signs when asked.
    pub signing_enabled: bool,
    /// The server requires every message of a session to be signed.
    pub signing_required: bool,
}

impl Negotiated {
    /// The dialect as people write it: `2.0.2`, `2.1`, `3.0`, `3.0.2`.
    pub fn dialect_name(&self) -> &'static str {
        dialect_name(self.dialect)
    }
}

/// A dialect revision as people write it.
pub fn dialect_name(dialect: u16) -> &'static str {
    match dialect {
        0x0202 => "2.0.2",
        0x0210 => "2.1",
        0x0300 => "3.0",
        0x0302 => "3.0.2",
        0x0311 => "3.1.1",
        _ => "unknown",
    }
}

/// The NEGOTIATE request with its Direct TCP header.
pub fn request() -> Vec<u8> {
    let mut smb = wire::request_header(&RequestHeader {
        command: command::NEGOTIATE,
        ..RequestHeader::default()
    });
    // The first request asks for one credit; later ones ask for more (request_header).
    smb[14..16].copy_from_slice(&1u16.to_le_bytes());
    smb.extend_from_slice(&36u16.to_le_bytes()); // StructureSize
    smb.extend_from_slice(&(DIALECTS.len() as u16).to_le_bytes()); // DialectCount
    smb.extend_from_slice(&SIGNING_ENABLED.to_le_bytes()); // SecurityMode
    smb.extend_from_slice(&0u16.to_le_bytes()); // Reserved
    smb.extend_from_slice(&0u32.to_le_bytes()); // Capabilities
    smb.extend_from_slice(b"ddns-health-chk!"); // ClientGuid
    smb.extend_from_slice(&0u64.to_le_bytes()); // ClientStartTime
    for dialect in DIALECTS {
        smb.extend_from_slice(&dialect.to_le_bytes());
    }
    let len = u32::try_from(smb.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(4 + smb.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&smb);
    out
}

/// Checks an SMB2 message (without its Direct TCP header) as the answer to [`request`].
pub fn parse_response(msg: &[u8]) -> Result<Negotiated, SmbError> {
    let header = wire::parse_header(msg, command::NEGOTIATE)?;
    if msg.len() < HEADER_LEN + 6 {
        return Err(SmbError::Malformed("NEGOTIATE response too short"));
    }
    if header.status != wire::status::SUCCESS {
        return Err(SmbError::Status(header.status));
    }
    let body = &msg[HEADER_LEN..];
    if u16_at(body, 0) != Some(RESPONSE_STRUCTURE_SIZE) {
        return Err(SmbError::Malformed("NEGOTIATE body size is not 65"));
    }
    let mode = u16_at(body, 2).unwrap_or(0);
    let dialect = u16_at(body, 4).unwrap_or(0);
    if !DIALECTS.contains(&dialect) {
        return Err(SmbError::Dialect(dialect));
    }
    Ok(Negotiated {
        dialect,
        signing_enabled: mode & (SIGNING_ENABLED | SIGNING_REQUIRED) != 0,
        signing_required: mode & SIGNING_REQUIRED != 0,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::wire::PROTOCOL_ID;

    pub(crate) fn response(status: u32, flags: u32, dialect: u16, mode: u16) -> Vec<u8> {
        let mut msg = Vec::new();
        msg.extend_from_slice(&PROTOCOL_ID);
        msg.extend_from_slice(&64u16.to_le_bytes());
        msg.extend_from_slice(&1u16.to_le_bytes());
        msg.extend_from_slice(&status.to_le_bytes());
        msg.extend_from_slice(&0u16.to_le_bytes());
        msg.extend_from_slice(&1u16.to_le_bytes());
        msg.extend_from_slice(&flags.to_le_bytes());
        msg.resize(HEADER_LEN, 0);
        msg.extend_from_slice(&65u16.to_le_bytes());
        msg.extend_from_slice(&mode.to_le_bytes());
        msg.extend_from_slice(&dialect.to_le_bytes());
        msg.resize(HEADER_LEN + 65, 0);
        msg
    }

    #[test]
    fn the_request_is_framed_and_sized() {
        let r = request();
        assert_eq!(r.len(), 4 + 64 + 36 + 8);
        assert_eq!(&r[..4], &[0, 0, 0, 108]);
        assert_eq!(&r[4..8], &PROTOCOL_ID);
        assert_eq!(u16_at(&r, 4 + 64), Some(36));
        assert_eq!(u16_at(&r, 4 + 64 + 2), Some(4));
        assert_eq!(u16_at(&r, r.len() - 2), Some(0x0302));
    }

    #[test]
    fn responses_are_checked() {
        assert_eq!(
            parse_response(&response(0, 1, 0x0302, 3)),
            Ok(Negotiated {
                dialect: 0x0302,
                signing_enabled: true,
                signing_required: true
            })
        );
        let n = parse_response(&response(0, 1, 0x0210, 1)).unwrap();
        assert!(n.signing_enabled && !n.signing_required);
        assert_eq!(n.dialect_name(), "2.1");
        assert_eq!(
            parse_response(&response(0xC000_0022, 1, 0x0302, 1)),
            Err(SmbError::Status(0xC000_0022))
        );
        assert_eq!(
            parse_response(&response(0, 1, 0x0311, 1)),
            Err(SmbError::Dialect(0x0311))
        );
        assert!(matches!(
            parse_response(&response(0, 0, 0x0202, 1)),
            Err(SmbError::Malformed(_))
        ));
        let mut smb1 = response(0, 1, 0x0202, 1);
        smb1[0] = 0xFF;
        assert_eq!(parse_response(&smb1), Err(SmbError::Smb1Only));
        for len in 0..70 {
            assert!(parse_response(&response(0, 1, 0x0202, 1)[..len]).is_err());
        }
    }
}
