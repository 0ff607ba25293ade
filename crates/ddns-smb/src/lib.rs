//! A small SMB2 client with one job: to show whether a file server answers, and whether it
//! lets given credentials in to a given share. The health checker's NEGOTIATE probe and
//! `ddns smb check` both use it.
//!
//! `wire.rs` frames messages (Direct TCP transport, the sync header, NTSTATUS names),
//! `negotiate.rs` is SMB2 NEGOTIATE, `ntlm.rs` NTLMv2 in SPNEGO, `client.rs` drives one
//! connection. Every parser takes bytes from the network and never panics (fuzzed in
//! `fuzz/fuzz_targets/smb2_*.rs`).
//!
//! **Architecture invariant:** no file I/O, no reads or writes of shares: the client stops
//! after TREE_CONNECT.

pub mod client;
pub mod negotiate;
pub mod ntlm;
pub mod wire;

pub use client::Client;
pub use negotiate::{DIALECTS, Negotiated};
pub use ntlm::Credentials;

/// Why an SMB2 exchange did not succeed.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum SmbError {
    /// The answer is not what an SMB2 server sends.
    #[error("not an SMB2 answer: {0}")]
    Malformed(&'static str),
    /// The server speaks only SMB1 (answered with an SMB1 header).
    #[error("the server answered in SMB1, which is disabled almost everywhere")]
    Smb1Only,
    /// The server refused with an NTSTATUS other than STATUS_SUCCESS.
    #[error("{}", status_text(*.0))]
    Status(u32),
    /// The server chose a dialect not offered.
    #[error("SMB2 NEGOTIATE chose dialect {0:#06x}, which was not offered")]
    Dialect(u16),
    /// The peer closed the connection without answering.
    #[error("the connection was closed without an answer")]
    Closed,
    /// The connection failed mid-exchange.
    #[error("{0}")]
    Io(String),
}

impl SmbError {
    pub(crate) fn io(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::BrokenPipe => Self::Closed,
            _ => Self::Io(e.to_string()),
        }
    }
}

fn status_text(code: u32) -> String {
    match wire::status::name(code) {
        Some(name) => format!("the server answered {name} ({code:#010x})"),
        None => format!("the server answered NTSTATUS {code:#010x}"),
    }
}

/// What TREE_CONNECT tells about a share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShareInfo {
    /// The tree id the server gave it.
    pub tree_id: u32,
    /// §2.2.10 ShareType: 1 disk, 2 pipe, 3 print.
    pub share_type: u8,
    /// §2.2.10 MaximalAccess: the access mask the user has on the share.
    pub maximal_access: u32,
}

#[cfg(test)]
mod tests {
    /// Mutations of valid answers (bytes changed, lengths cut) through every parser: errors,
    /// never a panic. The fuzz targets do this at length; this keeps it in `cargo test`.
    #[test]
    fn parsers_survive_mutated_answers() {
        let mut seeds = vec![crate::negotiate::tests::response(0, 1, 0x0302, 3)];
        let mut challenge = b"NTLMSSP\0\x02\0\0\0".to_vec();
        challenge.resize(40, 0);
        challenge.extend_from_slice(&[8, 0, 8, 0, 48, 0, 0, 0]);
        challenge.extend_from_slice(&[7, 0, 0, 0, 0, 0, 0, 0]);
        seeds.push(crate::ntlm::spnego_response(&challenge));
        seeds.push(challenge);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let seed = &seeds[(next() % seeds.len() as u64) as usize];
            let mut bytes = seed.clone();
            for _ in 0..(next() % 4) {
                let at = (next() % bytes.len() as u64) as usize;
                bytes[at] = next() as u8;
            }
            bytes.truncate((next() % (bytes.len() as u64 + 1)) as usize);
            let _ = crate::negotiate::parse_response(&bytes);
            let _ = crate::client::parse_tree_connect(&bytes);
            let _ = crate::ntlm::parse_challenge(&bytes);
            if let Ok((_, token)) = crate::ntlm::parse_spnego_response(&bytes) {
                let _ = crate::ntlm::parse_challenge(&token);
            }
        }
    }
}
