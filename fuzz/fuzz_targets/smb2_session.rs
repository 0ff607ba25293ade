//! The answers `ddns smb check` parses after NEGOTIATE: SMB2 headers, SPNEGO NegTokenResp,
//! the NTLMSSP CHALLENGE_MESSAGE (its AV pairs) and the TREE_CONNECT response; any bytes,
//! never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ddns_smb::wire::parse_header(data, ddns_smb::wire::command::SESSION_SETUP);
    let _ = ddns_smb::client::parse_tree_connect(data);
    if let Ok((_, token)) = ddns_smb::ntlm::parse_spnego_response(data) {
        let _ = ddns_smb::ntlm::parse_challenge(&token);
    }
    if let Ok(c) = ddns_smb::ntlm::parse_challenge(data) {
        assert!(c.target_info.len() <= data.len());
    }
});
