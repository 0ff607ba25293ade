//! The SMB2 NEGOTIATE exchange of `check = { smb = true }`: one request over a fresh TCP
//! connection, and a strict parse of the first part of the answer. A file server whose port
//! accepts connections but whose `smbd` cannot negotiate (hung, out of processes) fails it.
//!
//! [MS-SMB2] §2.1: over TCP port 445 each message is preceded by a 4-byte Direct TCP header,
//! a zero byte and a 24-bit big-endian length. §2.2.1.2: the 64-byte sync header. §2.2.3 and
//! §2.2.4: the NEGOTIATE request and response. Only dialects 2.0.2 to 3.0.2 are offered: 3.1.1
//! needs negotiate contexts, and any of these shows that the server is answering SMB2.

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

/// Dialects offered (§2.2.3: 2.0.2, 2.1, 3.0, 3.0.2).
pub const DIALECTS: [u16; 4] = [0x0202, 0x0210, 0x0300, 0x0302];
/// §2.2.1: the protocol identifier of SMB2 messages.
const PROTOCOL_ID: [u8; 4] = [0xFE, b'S', b'M', b'B'];
const HEADER_LEN: usize = 64;
/// §2.2.4: StructureSize of a NEGOTIATE response.
const RESPONSE_STRUCTURE_SIZE: u16 = 65;
/// §2.2.1.2: Flags bit of a response (SMB2_FLAGS_SERVER_TO_REDIR).
const FLAG_RESPONSE: u32 = 0x0000_0001;
/// The largest response read (a NEGOTIATE answer carries a security blob of a few hundred
/// bytes); a longer length prefix is not an SMB server.
const MAX_RESPONSE: usize = 65_536;

/// Why a NEGOTIATE did not succeed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NegotiateError {
    /// The answer is not an SMB2 NEGOTIATE response.
    #[error("not an SMB2 NEGOTIATE response: {0}")]
    Malformed(&'static str),
    /// The server refused (an NTSTATUS other than STATUS_SUCCESS).
    #[error("SMB2 NEGOTIATE failed with status {0:#010x}")]
    Status(u32),
    /// The server chose a dialect not offered.
    #[error("SMB2 NEGOTIATE chose dialect {0:#06x}, which was not offered")]
    Dialect(u16),
    /// The connection failed mid-exchange.
    #[error("SMB2 NEGOTIATE: {0}")]
    Io(String),
}

/// The NEGOTIATE request with its Direct TCP header.
pub fn request() -> Vec<u8> {
    let mut smb = Vec::with_capacity(HEADER_LEN + 36 + 2 * DIALECTS.len());
    smb.extend_from_slice(&PROTOCOL_ID);
    smb.extend_from_slice(&64u16.to_le_bytes()); // StructureSize
    smb.extend_from_slice(&0u16.to_le_bytes()); // CreditCharge
    smb.extend_from_slice(&0u32.to_le_bytes()); // Status
    smb.extend_from_slice(&0u16.to_le_bytes()); // Command: NEGOTIATE
    smb.extend_from_slice(&1u16.to_le_bytes()); // CreditRequest
    smb.extend_from_slice(&0u32.to_le_bytes()); // Flags
    smb.extend_from_slice(&0u32.to_le_bytes()); // NextCommand
    smb.extend_from_slice(&0u64.to_le_bytes()); // MessageId
    smb.extend_from_slice(&0u32.to_le_bytes()); // Reserved (ProcessId)
    smb.extend_from_slice(&0u32.to_le_bytes()); // TreeId
    smb.extend_from_slice(&0u64.to_le_bytes()); // SessionId
    smb.extend_from_slice(&[0; 16]); // Signature
    smb.extend_from_slice(&36u16.to_le_bytes()); // StructureSize
    smb.extend_from_slice(&(DIALECTS.len() as u16).to_le_bytes()); // DialectCount
    smb.extend_from_slice(&1u16.to_le_bytes()); // SecurityMode: signing enabled
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

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Checks an SMB2 message (without its Direct TCP header) as the answer to [`request`];
/// returns the dialect chosen.
pub fn parse_response(msg: &[u8]) -> Result<u16, NegotiateError> {
    use NegotiateError::Malformed;
    if msg.len() < HEADER_LEN + 6 {
        return Err(Malformed("too short"));
    }
    if msg[..4] != PROTOCOL_ID {
        return Err(Malformed("no SMB2 protocol id"));
    }
    if u16_at(msg, 4) != 64 {
        return Err(Malformed("header size is not 64"));
    }
    if u16_at(msg, 12) != 0 {
        return Err(Malformed("not a NEGOTIATE"));
    }
    if u32_at(msg, 16) & FLAG_RESPONSE == 0 {
        return Err(Malformed("not a response"));
    }
    let status = u32_at(msg, 8);
    if status != 0 {
        return Err(NegotiateError::Status(status));
    }
    let body = &msg[HEADER_LEN..];
    if u16_at(body, 0) != RESPONSE_STRUCTURE_SIZE {
        return Err(Malformed("body size is not 65"));
    }
    let dialect = u16_at(body, 4);
    if !DIALECTS.contains(&dialect) {
        return Err(NegotiateError::Dialect(dialect));
    }
    Ok(dialect)
}

/// Sends the request on `stream` and checks the answer; the caller bounds it in time.
pub async fn negotiate<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
) -> Result<u16, NegotiateError> {
    let io = |e: std::io::Error| NegotiateError::Io(e.to_string());
    stream.write_all(&request()).await.map_err(io)?;
    let mut prefix = [0u8; 4];
    stream.read_exact(&mut prefix).await.map_err(io)?;
    if prefix[0] != 0 {
        return Err(NegotiateError::Malformed("bad Direct TCP header"));
    }
    let len = usize::from(prefix[1]) << 16 | usize::from(prefix[2]) << 8 | usize::from(prefix[3]);
    if !(HEADER_LEN + 6..=MAX_RESPONSE).contains(&len) {
        return Err(NegotiateError::Malformed("implausible length"));
    }
    // The dialect is in the first 70 bytes; the rest (security blob) is not needed.
    let mut msg = vec![0u8; HEADER_LEN + 6];
    stream.read_exact(&mut msg).await.map_err(io)?;
    parse_response(&msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u32, flags: u32, dialect: u16) -> Vec<u8> {
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
        msg.extend_from_slice(&1u16.to_le_bytes());
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
        assert_eq!(u16_at(&r, 4 + 64), 36);
        assert_eq!(u16_at(&r, 4 + 64 + 2), 4);
        assert_eq!(u16_at(&r, r.len() - 2), 0x0302);
    }

    #[test]
    fn responses_are_checked() {
        assert_eq!(parse_response(&response(0, 1, 0x0302)), Ok(0x0302));
        assert_eq!(
            parse_response(&response(0xC000_0022, 1, 0x0302)),
            Err(NegotiateError::Status(0xC000_0022))
        );
        assert_eq!(
            parse_response(&response(0, 1, 0x0311)),
            Err(NegotiateError::Dialect(0x0311))
        );
        assert!(matches!(
            parse_response(&response(0, 0, 0x0202)),
            Err(NegotiateError::Malformed(_))
        ));
        let mut smb1 = response(0, 1, 0x0202);
        smb1[0] = 0xFF;
        assert!(matches!(
            parse_response(&smb1),
            Err(NegotiateError::Malformed(_))
        ));
        for len in 0..70 {
            assert!(parse_response(&response(0, 1, 0x0202)[..len]).is_err());
        }
    }

    #[tokio::test]
    async fn negotiate_over_a_stream() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        let serve = tokio::spawn(async move {
            let mut got = vec![0u8; request().len()];
            server.read_exact(&mut got).await.unwrap();
            assert_eq!(got, request());
            let msg = response(0, 1, 0x0210);
            let mut framed = (msg.len() as u32).to_be_bytes().to_vec();
            framed.extend_from_slice(&msg);
            server.write_all(&framed).await.unwrap();
        });
        assert_eq!(negotiate(&mut client).await, Ok(0x0210));
        serve.await.unwrap();
    }
}
