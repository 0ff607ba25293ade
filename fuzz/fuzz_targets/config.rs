//! Configuration files: any text as the server's TOML (`ServerConfig::from_toml`) and as the
//! agent's (`AgentConfig::parse`, `${NAME}` resolving to nothing).

#![no_main]

use std::path::{Path, PathBuf};

use ddns_agent::config::AgentConfig;
use ddns_config::server::ServerConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = ServerConfig::from_toml(text, PathBuf::from("/var/lib/ddns"));
    // `*_file` keys read files: keep the fuzzer away from devices that never end.
    if ["/dev", "/proc", "/sys"].iter().any(|p| text.contains(p)) {
        return;
    }
    let _ = AgentConfig::parse(text, &|_| None, Some(Path::new("/nonexistent")));
});
