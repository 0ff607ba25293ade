//! SMB2 NEGOTIATE responses as the health checker and `ddns smb check` read them from a file
//! server (`ddns_smb::negotiate::parse_response`): any bytes, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = ddns_smb::negotiate::parse_response(data) {
        assert!(ddns_smb::DIALECTS.contains(&n.dialect));
    }
});
