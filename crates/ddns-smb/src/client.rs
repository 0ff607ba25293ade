//! One SMB2 connection as a check drives it: NEGOTIATE, then SESSION_SETUP in two legs
//! (NTLMSSP NEGOTIATE → CHALLENGE, AUTHENTICATE → verdict), then TREE_CONNECT to a share.
//! The caller owns the stream (and bounds every call in time).
//!
//! Signing: where the server requires it (Windows 11 24H2 and Server 2025 do by default), the
//! TREE_CONNECT is signed ([MS-SMB2] §3.1.4.1): SMB 2.x with HMAC-SHA256 under the session
//! key, SMB 3.0 and 3.0.2 with AES-128-CMAC under the signing key of §3.1.4.2.
//!
//! ```text
//! SMB 3.x dialect family: Session.SigningKey MUST be set to
//! SMB3KDF (Session.SessionKey, "SMB2AESCMAC\0", "SmbSign\0")            ([MS-SMB2] §3.2.5.3.1)
//! KDF in Counter Mode ... PRF: HMAC-SHA256, r = 32, L = 128               ([MS-SMB2] §3.1.4.2)
//! ```

use aes::Aes128;
use cmac::Cmac;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::negotiate::{self, Negotiated};
use crate::ntlm::{self, Credentials};
use crate::wire::{self, FLAG_ASYNC, FLAG_SIGNED, HEADER_LEN, RequestHeader, command, status};
use crate::{ShareInfo, SmbError};

/// A connection after NEGOTIATE.
pub struct Client<S> {
    stream: S,
    negotiated: Negotiated,
    next_id: u64,
    session_id: u64,
    signing: Option<Signing>,
}

/// How messages of the session are signed.
#[derive(Clone, Copy)]
enum Signing {
    /// SMB 2.0.2 and 2.1: HMAC-SHA256 with the session key.
    HmacSha256([u8; 16]),
    /// SMB 3.0 and 3.0.2: AES-128-CMAC with the derived signing key.
    AesCmac([u8; 16]),
}

impl Signing {
    fn for_dialect(dialect: u16, session_key: [u8; 16]) -> Self {
        if dialect >= 0x0300 {
            Self::AesCmac(smb3_signing_key(&session_key))
        } else {
            Self::HmacSha256(session_key)
        }
    }
}

/// §3.1.4.2: SP800-108 counter mode, HMAC-SHA256, i = 1, L = 128.
fn smb3_signing_key(session_key: &[u8; 16]) -> [u8; 16] {
    let mut mac = <Hmac<Sha256>>::new_from_slice(session_key).unwrap_or_else(|_| unreachable!());
    mac.update(&1u32.to_be_bytes());
    mac.update(b"SMB2AESCMAC\0");
    mac.update(&[0]);
    mac.update(b"SmbSign\0");
    mac.update(&128u32.to_be_bytes());
    let out = mac.finalize().into_bytes();
    let mut key = [0u8; 16];
    key.copy_from_slice(&out[..16]);
    key
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// Sends NEGOTIATE on `stream` and checks the answer.
    pub async fn negotiate(mut stream: S) -> Result<Self, SmbError> {
        let request = negotiate::request();
        tokio::io::AsyncWriteExt::write_all(&mut stream, &request)
            .await
            .map_err(SmbError::io)?;
        let msg = wire::read_message(&mut stream).await?;
        let negotiated = negotiate::parse_response(&msg)?;
        Ok(Self {
            stream,
            negotiated,
            next_id: 1,
            session_id: 0,
            signing: None,
        })
    }

    /// What NEGOTIATE settled.
    pub fn negotiated(&self) -> Negotiated {
        self.negotiated
    }

    /// Sends one request (header built here, signed when the session must be) and returns the
    /// final answer to it, skipping interim STATUS_PENDING ones.
    async fn exchange(
        &mut self,
        cmd: u16,
        tree_id: u32,
        body: &[u8],
    ) -> Result<(wire::ResponseHeader, Vec<u8>), SmbError> {
        let message_id = self.next_id;
        self.next_id += 1;
        let mut msg = wire::request_header(&RequestHeader {
            command: cmd,
            credit_charge: u16::from(self.negotiated.dialect != 0x0202),
            message_id,
            tree_id,
            session_id: self.session_id,
        });
        msg.extend_from_slice(body);
        if let (Some(signing), true) = (self.signing, self.negotiated.signing_required) {
            sign(&mut msg, signing);
        }
        wire::write_message(&mut self.stream, &msg).await?;
        loop {
            let answer = wire::read_message(&mut self.stream).await?;
            let header = wire::parse_header(&answer, cmd)?;
            if header.flags & FLAG_ASYNC != 0 && header.status == status::PENDING {
                continue;
            }
            if header.message_id != message_id {
                return Err(SmbError::Malformed("an answer to another request"));
            }
            return Ok((header, answer));
        }
    }

    async fn session_leg(&mut self, token: &[u8]) -> Result<(u32, Vec<u8>), SmbError> {
        let len = u16::try_from(token.len()).map_err(|_| SmbError::Malformed("token too long"))?;
        // §2.2.5: StructureSize 25, Flags, SecurityMode, Capabilities, Channel,
        // SecurityBufferOffset, SecurityBufferLength, PreviousSessionId, Buffer.
        let mut body = Vec::with_capacity(24 + token.len());
        body.extend_from_slice(&25u16.to_le_bytes());
        body.push(0);
        body.push(negotiate::SIGNING_ENABLED as u8);
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&((HEADER_LEN + 24) as u16).to_le_bytes());
        body.extend_from_slice(&len.to_le_bytes());
        body.extend_from_slice(&0u64.to_le_bytes());
        body.extend_from_slice(token);
        let (header, answer) = self.exchange(command::SESSION_SETUP, 0, &body).await?;
        if header.status != status::SUCCESS && header.status != status::MORE_PROCESSING_REQUIRED {
            return Err(SmbError::Status(header.status));
        }
        self.session_id = header.session_id;
        // §2.2.6: StructureSize 9, SessionFlags, SecurityBufferOffset, SecurityBufferLength.
        let b = &answer[HEADER_LEN..];
        if wire::u16_at(b, 0) != Some(9) {
            return Err(SmbError::Malformed("SESSION_SETUP body size is not 9"));
        }
        let offset = wire::u16_at(b, 4).unwrap_or(0);
        let blen = wire::u16_at(b, 6).unwrap_or(0);
        let blob = if blen == 0 {
            Vec::new()
        } else {
            wire::buffer(&answer, offset, blen)?.to_vec()
        };
        Ok((header.status, blob))
    }

    /// SESSION_SETUP with NTLMv2 for `creds`: `Ok` once the server accepts them;
    /// `SmbError::Status(STATUS_LOGON_FAILURE)` and the like when it does not.
    pub async fn session_setup(&mut self, creds: &Credentials) -> Result<(), SmbError> {
        let (st, blob) = self
            .session_leg(&ntlm::spnego_init(&ntlm::negotiate_message()))
            .await?;
        if st != status::MORE_PROCESSING_REQUIRED {
            return Err(SmbError::Malformed(
                "SESSION_SETUP succeeded without a challenge",
            ));
        }
        let (_, token) = ntlm::parse_spnego_response(&blob)?;
        let challenge = ntlm::parse_challenge(&token)?;
        let mut client_challenge = [0u8; 8];
        getrandom::fill(&mut client_challenge)
            .map_err(|e| SmbError::Io(format!("no random numbers: {e}")))?;
        let auth =
            ntlm::authenticate_message(creds, &challenge, ntlm::filetime_now(), client_challenge);
        let (st, blob) = self
            .session_leg(&ntlm::spnego_response(&auth.message))
            .await?;
        if st != status::SUCCESS {
            return Err(SmbError::Status(st));
        }
        // negState reject (RFC 4178 §4.2.2) with STATUS_SUCCESS would be a broken server;
        // it is not a logon.
        if !blob.is_empty() && ntlm::parse_spnego_response(&blob)?.0 == Some(2) {
            return Err(SmbError::Status(status::LOGON_FAILURE));
        }
        self.signing = Some(Signing::for_dialect(
            self.negotiated.dialect,
            auth.session_key,
        ));
        Ok(())
    }

    /// TREE_CONNECT to `path` (`\\host\share`).
    pub async fn tree_connect(&mut self, path: &str) -> Result<ShareInfo, SmbError> {
        let unc: Vec<u8> = path.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let len = u16::try_from(unc.len()).map_err(|_| SmbError::Malformed("path too long"))?;
        // §2.2.9: StructureSize 9, Flags, PathOffset, PathLength, Buffer.
        let mut body = Vec::with_capacity(8 + unc.len());
        body.extend_from_slice(&9u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&((HEADER_LEN + 8) as u16).to_le_bytes());
        body.extend_from_slice(&len.to_le_bytes());
        body.extend_from_slice(&unc);
        let (header, answer) = self.exchange(command::TREE_CONNECT, 0, &body).await?;
        if header.status != status::SUCCESS {
            return Err(SmbError::Status(header.status));
        }
        parse_tree_connect(&answer)
    }
}

/// §2.2.10: a TREE_CONNECT response (StructureSize 16, ShareType, Reserved, ShareFlags,
/// Capabilities, MaximalAccess).
pub fn parse_tree_connect(msg: &[u8]) -> Result<ShareInfo, SmbError> {
    let header = wire::parse_header(msg, command::TREE_CONNECT)?;
    if header.status != status::SUCCESS {
        return Err(SmbError::Status(header.status));
    }
    let b = &msg[HEADER_LEN..];
    if wire::u16_at(b, 0) != Some(16) || b.len() < 16 {
        return Err(SmbError::Malformed("TREE_CONNECT body size is not 16"));
    }
    Ok(ShareInfo {
        tree_id: header.tree_id,
        share_type: b[2],
        maximal_access: wire::u32_at(b, 12).unwrap_or(0),
    })
}

/// §3.1.4.1: the signed flag set, the signature zeroed, then the first 16 bytes of the MAC
/// over the whole message in the Signature field.
fn sign(msg: &mut [u8], signing: Signing) {
    let flags = wire::u32_at(msg, 16).unwrap_or(0) | FLAG_SIGNED;
    msg[16..20].copy_from_slice(&flags.to_le_bytes());
    msg[48..64].fill(0);
    let sig: Vec<u8> = match signing {
        Signing::HmacSha256(key) => {
            let mut mac = <Hmac<Sha256>>::new_from_slice(&key).unwrap_or_else(|_| unreachable!());
            mac.update(msg);
            mac.finalize().into_bytes().to_vec()
        }
        Signing::AesCmac(key) => {
            let mut mac = <Cmac<Aes128>>::new_from_slice(&key).unwrap_or_else(|_| unreachable!());
            mac.update(msg);
            mac.finalize().into_bytes().to_vec()
        }
    };
    msg[48..64].copy_from_slice(&sig[..16]);
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;
    use crate::negotiate::tests::response;

    async fn reply(server: &mut tokio::io::DuplexStream, msg: &[u8]) {
        let mut framed = (msg.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(msg);
        server.write_all(&framed).await.unwrap();
    }

    #[tokio::test]
    async fn negotiate_over_a_stream() {
        let (client, mut server) = tokio::io::duplex(4096);
        let serve = tokio::spawn(async move {
            let mut got = vec![0u8; negotiate::request().len()];
            server.read_exact(&mut got).await.unwrap();
            assert_eq!(got, negotiate::request());
            reply(&mut server, &response(0, 1, 0x0210, 3)).await;
            server
        });
        let c = Client::negotiate(client).await.unwrap();
        assert_eq!(c.negotiated().dialect, 0x0210);
        assert!(c.negotiated().signing_required);
        drop(serve.await.unwrap());
    }

    #[tokio::test]
    async fn garbage_and_silence_are_told_apart() {
        let (client, mut server) = tokio::io::duplex(4096);
        tokio::spawn(async move {
            let mut got = vec![0u8; 16];
            server.read_exact(&mut got).await.unwrap();
            server
                .write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                .await
                .unwrap();
        });
        assert!(matches!(
            Client::negotiate(client).await,
            Err(SmbError::Malformed(_))
        ));
        let (client, server) = tokio::io::duplex(4096);
        drop(server);
        assert!(matches!(
            Client::negotiate(client).await,
            Err(SmbError::Closed | SmbError::Io(_))
        ));
    }

    #[test]
    fn tree_connect_answers_are_checked() {
        let mut msg = response(0, 1, 0x0210, 1);
        msg[12..14].copy_from_slice(&command::TREE_CONNECT.to_le_bytes());
        msg[36..40].copy_from_slice(&5u32.to_le_bytes());
        msg.truncate(HEADER_LEN);
        msg.extend_from_slice(&16u16.to_le_bytes());
        msg.push(1);
        msg.resize(HEADER_LEN + 12, 0);
        msg.extend_from_slice(&0x001f_01ffu32.to_le_bytes());
        let info = parse_tree_connect(&msg).unwrap();
        assert_eq!((info.tree_id, info.share_type), (5, 1));
        assert_eq!(info.maximal_access, 0x001f_01ff);
        for len in 0..msg.len() {
            assert!(parse_tree_connect(&msg[..len]).is_err());
        }
        msg[8..12].copy_from_slice(&status::BAD_NETWORK_NAME.to_le_bytes());
        assert_eq!(
            parse_tree_connect(&msg),
            Err(SmbError::Status(status::BAD_NETWORK_NAME))
        );
    }

    #[test]
    fn signing_sets_the_flag_and_a_signature() {
        for signing in [
            Signing::HmacSha256([1; 16]),
            Signing::for_dialect(0x0302, [1; 16]),
        ] {
            let mut msg = wire::request_header(&RequestHeader::default());
            sign(&mut msg, signing);
            assert_eq!(wire::u32_at(&msg, 16).unwrap() & FLAG_SIGNED, FLAG_SIGNED);
            assert_ne!(&msg[48..64], &[0; 16]);
            let once = msg.clone();
            sign(&mut msg, signing);
            assert_eq!(msg, once);
        }
        // The two schemes differ, and the SMB 3 key is derived, not the session key.
        assert!(matches!(
            Signing::for_dialect(0x0210, [1; 16]),
            Signing::HmacSha256([1, ..])
        ));
        assert_ne!(smb3_signing_key(&[1; 16]), [1; 16]);
    }
}
