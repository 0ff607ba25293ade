//! SMB2 NEGOTIATE responses as the health checker reads them from a file server
//! (`ddns_health::smb2::parse_response`): any bytes, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(dialect) = ddns_health::smb2::parse_response(data) {
        assert!(ddns_health::smb2::DIALECTS.contains(&dialect));
    }
});
