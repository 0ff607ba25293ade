//! SMB2 framing: the Direct TCP transport header and the 64-byte sync header, written for
//! requests and checked strictly on responses, and the NTSTATUS codes a check tells apart.
//!
//! ```text
//! Direct TCP transport packet: a zero byte, then the 24-bit big-endian length of the SMB2
//! message that follows.                                                 ([MS-SMB2] §2.1)
//! ```
//! §2.2.1.2: the sync header is ProtocolId, StructureSize (64), CreditCharge, Status, Command,
//! CreditRequest/Response, Flags, NextCommand, MessageId, Reserved, TreeId, SessionId,
//! Signature.

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::SmbError;

/// §2.2.1: the protocol identifier of SMB2 messages.
pub const PROTOCOL_ID: [u8; 4] = [0xFE, b'S', b'M', b'B'];
/// The protocol identifier of SMB1 messages: an SMB1-only server answers with it.
pub const SMB1_PROTOCOL_ID: [u8; 4] = [0xFF, b'S', b'M', b'B'];
/// §2.2.1.2: the length of the sync header.
pub const HEADER_LEN: usize = 64;
/// The largest message read: answers to these requests are a few hundred bytes; a longer
/// length prefix is not an SMB server.
pub const MAX_MESSAGE: usize = 65_536;

/// §2.2.1.2: Flags bit of a response (SMB2_FLAGS_SERVER_TO_REDIR).
pub const FLAG_RESPONSE: u32 = 0x0000_0001;
/// §2.2.1.2: SMB2_FLAGS_ASYNC_COMMAND (an interim STATUS_PENDING answer carries it).
pub const FLAG_ASYNC: u32 = 0x0000_0002;
/// §2.2.1.2: SMB2_FLAGS_SIGNED.
pub const FLAG_SIGNED: u32 = 0x0000_0008;

/// §2.2.1.2: the commands used here.
pub mod command {
    /// SMB2 NEGOTIATE.
    pub const NEGOTIATE: u16 = 0x0000;
    /// SMB2 SESSION_SETUP.
    pub const SESSION_SETUP: u16 = 0x0001;
    /// SMB2 TREE_CONNECT.
    pub const TREE_CONNECT: u16 = 0x0003;
}

/// [MS-ERREF] §2.3.1: the NTSTATUS values a check tells apart.
pub mod status {
    /// STATUS_SUCCESS.
    pub const SUCCESS: u32 = 0x0000_0000;
    /// STATUS_PENDING: an interim answer; the real one follows.
    pub const PENDING: u32 = 0x0000_0103;
    /// STATUS_MORE_PROCESSING_REQUIRED: the next leg of an authentication.
    pub const MORE_PROCESSING_REQUIRED: u32 = 0xC000_0016;
    /// STATUS_ACCESS_DENIED.
    pub const ACCESS_DENIED: u32 = 0xC000_0022;
    /// STATUS_LOGON_FAILURE: unknown user or wrong password.
    pub const LOGON_FAILURE: u32 = 0xC000_006D;
    /// STATUS_ACCOUNT_RESTRICTION (e.g. a blank password refused over the network).
    pub const ACCOUNT_RESTRICTION: u32 = 0xC000_006E;
    /// STATUS_PASSWORD_EXPIRED.
    pub const PASSWORD_EXPIRED: u32 = 0xC000_0071;
    /// STATUS_ACCOUNT_DISABLED.
    pub const ACCOUNT_DISABLED: u32 = 0xC000_0072;
    /// STATUS_BAD_NETWORK_NAME: no such share.
    pub const BAD_NETWORK_NAME: u32 = 0xC000_00CC;
    /// STATUS_NOT_SUPPORTED.
    pub const NOT_SUPPORTED: u32 = 0xC000_00BB;
    /// STATUS_ACCOUNT_LOCKED_OUT.
    pub const ACCOUNT_LOCKED_OUT: u32 = 0xC000_0234;

    /// The symbolic name of `code`, when it is one of these.
    pub fn name(code: u32) -> Option<&'static str> {
        Some(match code {
            SUCCESS => "STATUS_SUCCESS",
            PENDING => "STATUS_PENDING",
            MORE_PROCESSING_REQUIRED => "STATUS_MORE_PROCESSING_REQUIRED",
            ACCESS_DENIED => "STATUS_ACCESS_DENIED",
            LOGON_FAILURE => "STATUS_LOGON_FAILURE",
            ACCOUNT_RESTRICTION => "STATUS_ACCOUNT_RESTRICTION",
            PASSWORD_EXPIRED => "STATUS_PASSWORD_EXPIRED",
            ACCOUNT_DISABLED => "STATUS_ACCOUNT_DISABLED",
            BAD_NETWORK_NAME => "STATUS_BAD_NETWORK_NAME",
            NOT_SUPPORTED => "STATUS_NOT_SUPPORTED",
            ACCOUNT_LOCKED_OUT => "STATUS_ACCOUNT_LOCKED_OUT",
            _ => return None,
        })
    }
}

pub(crate) fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at + 2)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

pub(crate) fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

pub(crate) fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

/// The fields of a request header that change from one request to the next.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestHeader {
    /// §2.2.1.2 Command.
    pub command: u16,
    /// §2.2.1.2 CreditCharge (0 for SMB 2.0.2, which has no multi-credit requests).
    pub credit_charge: u16,
    /// §2.2.1.2 MessageId.
    pub message_id: u64,
    /// §2.2.1.2 TreeId.
    pub tree_id: u32,
    /// §2.2.1.2 SessionId.
    pub session_id: u64,
}

/// The 64-byte header of a request.
pub fn request_header(h: &RequestHeader) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 128);
    out.extend_from_slice(&PROTOCOL_ID);
    out.extend_from_slice(&64u16.to_le_bytes()); // StructureSize
    out.extend_from_slice(&h.credit_charge.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // Status
    out.extend_from_slice(&h.command.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes()); // CreditRequest
    out.extend_from_slice(&0u32.to_le_bytes()); // Flags
    out.extend_from_slice(&0u32.to_le_bytes()); // NextCommand
    out.extend_from_slice(&h.message_id.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // Reserved (ProcessId)
    out.extend_from_slice(&h.tree_id.to_le_bytes());
    out.extend_from_slice(&h.session_id.to_le_bytes());
    out.extend_from_slice(&[0; 16]); // Signature
    out
}

/// A response's header, checked: SMB2, 64 bytes, a response to `command`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseHeader {
    /// §2.2.1.2 Status (an NTSTATUS).
    pub status: u32,
    /// §2.2.1.2 Flags.
    pub flags: u32,
    /// §2.2.1.2 MessageId.
    pub message_id: u64,
    /// §2.2.1.2 TreeId (sync header).
    pub tree_id: u32,
    /// §2.2.1.2 SessionId.
    pub session_id: u64,
}

/// Checks the header of `msg` (an SMB2 message without its transport header) as the answer
/// to a `command` request.
pub fn parse_header(msg: &[u8], command: u16) -> Result<ResponseHeader, SmbError> {
    use SmbError::Malformed;
    if msg.len() >= 4 && msg[..4] == SMB1_PROTOCOL_ID {
        return Err(SmbError::Smb1Only);
    }
    if msg.len() < HEADER_LEN {
        return Err(Malformed("shorter than an SMB2 header"));
    }
    if msg[..4] != PROTOCOL_ID {
        return Err(Malformed("no SMB2 protocol id"));
    }
    if u16_at(msg, 4) != Some(64) {
        return Err(Malformed("header size is not 64"));
    }
    if u16_at(msg, 12) != Some(command) {
        return Err(Malformed("an answer to another command"));
    }
    let flags = u32_at(msg, 16).unwrap_or(0);
    if flags & FLAG_RESPONSE == 0 {
        return Err(Malformed("not a response"));
    }
    Ok(ResponseHeader {
        status: u32_at(msg, 8).unwrap_or(0),
        flags,
        message_id: u64_at(msg, 24).unwrap_or(0),
        tree_id: u32_at(msg, 36).unwrap_or(0),
        session_id: u64_at(msg, 40).unwrap_or(0),
    })
}

/// Writes one SMB2 message with its transport header.
pub async fn write_message<S: AsyncWrite + Unpin>(
    stream: &mut S,
    msg: &[u8],
) -> Result<(), SmbError> {
    let len = u32::try_from(msg.len())
        .ok()
        .filter(|l| *l < 1 << 24)
        .ok_or(SmbError::Malformed("request too long"))?;
    let mut framed = Vec::with_capacity(4 + msg.len());
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(msg);
    stream.write_all(&framed).await.map_err(SmbError::io)
}

/// Reads one transport frame and returns the SMB message in it. A peer that closes before
/// sending anything is [`SmbError::Closed`]; bytes that are no transport header are
/// [`SmbError::Malformed`].
pub async fn read_message<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Vec<u8>, SmbError> {
    let mut prefix = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = stream
            .read(&mut prefix[got..])
            .await
            .map_err(SmbError::io)?;
        if n == 0 {
            return Err(if got == 0 {
                SmbError::Closed
            } else {
                SmbError::Malformed("the connection closed inside a transport header")
            });
        }
        got += n;
    }
    let len = frame_length(prefix)?;
    let mut msg = vec![0u8; len];
    stream.read_exact(&mut msg).await.map_err(SmbError::io)?;
    Ok(msg)
}

/// The length a transport header announces, checked to be plausible.
pub fn frame_length(prefix: [u8; 4]) -> Result<usize, SmbError> {
    if prefix[0] != 0 {
        return Err(SmbError::Malformed("bad Direct TCP header"));
    }
    let len = usize::from(prefix[1]) << 16 | usize::from(prefix[2]) << 8 | usize::from(prefix[3]);
    if !(4..=MAX_MESSAGE).contains(&len) {
        return Err(SmbError::Malformed("implausible message length"));
    }
    Ok(len)
}

/// The bytes `[offset, offset + len)` of `msg`, where offsets count from the start of the
/// SMB2 header (as every buffer offset in MS-SMB2 does).
pub(crate) fn buffer(msg: &[u8], offset: u16, len: u16) -> Result<&[u8], SmbError> {
    let start = usize::from(offset);
    msg.get(start..start + usize::from(len))
        .ok_or(SmbError::Malformed("a buffer outside the message"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_checked() {
        let mut msg = request_header(&RequestHeader {
            command: command::TREE_CONNECT,
            message_id: 7,
            session_id: 0x1122,
            ..RequestHeader::default()
        });
        assert!(matches!(
            parse_header(&msg, command::TREE_CONNECT),
            Err(SmbError::Malformed("not a response"))
        ));
        msg[16] = 1;
        msg[8..12].copy_from_slice(&status::BAD_NETWORK_NAME.to_le_bytes());
        let h = parse_header(&msg, command::TREE_CONNECT).unwrap();
        assert_eq!(h.status, status::BAD_NETWORK_NAME);
        assert_eq!((h.message_id, h.session_id), (7, 0x1122));
        assert!(parse_header(&msg, command::NEGOTIATE).is_err());
        for len in 0..HEADER_LEN {
            assert!(parse_header(&msg[..len], command::TREE_CONNECT).is_err());
        }
        msg[0] = 0xFF;
        assert!(matches!(
            parse_header(&msg, command::TREE_CONNECT),
            Err(SmbError::Smb1Only)
        ));
    }

    #[test]
    fn transport_headers_are_checked() {
        assert_eq!(frame_length([0, 0, 1, 0]).unwrap(), 256);
        assert!(frame_length([1, 0, 1, 0]).is_err());
        assert!(frame_length([0, 0, 0, 0]).is_err());
        assert!(frame_length([0, 0xFF, 0xFF, 0xFF]).is_err());
        assert_eq!(
            status::name(status::LOGON_FAILURE),
            Some("STATUS_LOGON_FAILURE")
        );
        assert_eq!(status::name(0xC000_9999), None);
    }
}
