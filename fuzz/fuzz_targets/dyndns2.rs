//! DynDNS2 requests (`/nic/update`): the query string and the `Authorization`,
//! `X-Forwarded-For` and `User-Agent` headers, as `ddns_http::inputs::dyndns2` reads them.
//! The input is those four, one per line.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let query = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let authorization = parts.next().unwrap_or_default();
    let forwarded_for = parts.next().unwrap_or_default();
    let agent = parts.next().unwrap_or_default();
    ddns_http::inputs::dyndns2(&query, authorization, forwarded_for, agent);
});
