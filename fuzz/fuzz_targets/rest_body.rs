//! REST request bodies: `POST /update` (form or JSON, by `Content-Type`) and the JSON bodies
//! of `/api/v1` (hosts, record sets, tokens). The input's first line is the `Content-Type`
//! (and, for a record set, its type), the rest the body.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b""[..], data),
    };
    ddns_http::inputs::rest_update(head, body);
    ddns_http::inputs::api_v1(&String::from_utf8_lossy(head), body);
});
