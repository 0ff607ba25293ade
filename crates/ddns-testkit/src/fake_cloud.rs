//! What the loopback fakes of cloud DNS APIs share: an HTTP server that hands every request to
//! a vendor's handler, the server side of HMAC request signing (recomputed from the bytes
//! received, as the vendors do), and the [`CloudDns`] view tests and end-to-end runs use to
//! drive any of them the same way.
//!
//! The signing code here is written again on purpose, from the vendors' documents and
//! independently of `ddns-providers`, so a fake never accepts a signature only because both
//! sides share a bug.

use std::io::{BufReader, Write};

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::fake_http::read_request;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub use crate::fake_http::{Reply, Request};

/// A record as a fake stores it: one value per record (Alibaba, DNSPod) or all values of a
/// record set (Huawei).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeRecord {
    /// The vendor's id.
    pub id: String,
    /// The zone, lower-case, without the trailing dot.
    pub zone: String,
    /// The full name, lower-case, without the trailing dot.
    pub name: String,
    /// `A`, `AAAA`, `TXT`, …
    pub rtype: String,
    /// The values.
    pub values: Vec<String>,
    /// TTL.
    pub ttl: u32,
    /// The resolution line.
    pub line: String,
}

/// What every cloud DNS fake offers a test.
pub trait CloudDns {
    /// `http://127.0.0.1:PORT/`, for the provider's `endpoint`.
    fn endpoint(&self) -> String;
    /// The provider table (TOML) for these credentials, pointing at this fake.
    fn provider_toml(&self, id: &str, secret: &str) -> String;
    /// The credentials the fake accepts.
    fn credentials(&self) -> (String, String);
    /// Adds a zone the credentials can see.
    fn add_zone(&self, zone: &str);
    /// Adds a record directly, as if made in the vendor's console; returns its id.
    fn add_record(&self, name: &str, rtype: &str, values: &[&str], ttl: u32) -> String;
    /// Every record.
    fn records(&self) -> Vec<FakeRecord>;
    /// The values of `name`'s records of `rtype` on the default line, sorted.
    fn values(&self, name: &str, rtype: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .records()
            .into_iter()
            .filter(|r| r.name == name && r.rtype == rtype && r.line == self.default_line())
            .flat_map(|r| r.values)
            .collect();
        out.sort();
        out
    }
    /// How many records of `name` and `rtype` (on the default line) there are.
    fn record_count(&self, name: &str, rtype: &str) -> usize {
        self.records()
            .iter()
            .filter(|r| r.name == name && r.rtype == rtype && r.line == self.default_line())
            .count()
    }
    /// The line records get when none is asked for.
    fn default_line(&self) -> &'static str;
    /// The requests that changed something (accepted writes).
    fn writes(&self) -> usize;
    /// Every request, as received.
    fn requests(&self) -> Vec<Request>;
    /// The next `n` requests are refused with the vendor's throttling answer.
    fn throttle(&self, n: usize);
    /// From now on, writes are refused as the vendor refuses a key without permission.
    fn deny_writes(&self);
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// An HTTP/1.1 server on 127.0.0.1 that records each request and answers it with `handler`.
pub(crate) struct ApiServer {
    pub(crate) addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl ApiServer {
    pub(crate) fn start(handler: Arc<Handler>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (handler, log) = (Arc::clone(&handler), Arc::clone(&log));
                std::thread::spawn(move || {
                    let _ = serve(stream, &*handler, &log);
                });
            }
        });
        Self { addr, requests }
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub(crate) fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Request>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let Some(request) = read_request(&mut reader)? else {
            return Ok(());
        };
        log.lock().unwrap().push(request.clone());
        let reply = handler(&request);
        let mut out = format!(
            "HTTP/1.1 {} Fake\r\ncontent-length: {}\r\ncontent-type: application/json;charset=utf-8\r\n",
            reply.status,
            reply.body.len()
        );
        for (n, v) in &reply.headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&reply.body);
        let stream = reader.get_mut();
        stream.write_all(out.as_bytes())?;
        stream.flush()?;
    }
}

/// A JSON reply.
pub(crate) fn json_reply(status: u16, body: &serde_json::Value) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: body.to_string(),
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// RFC 3986 percent-encoding: unreserved characters stay, every other byte is `%XX`.
pub(crate) fn rfc3986(text: &str) -> String {
    let mut out = String::new();
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decoding of a query component (`+` is a space, as servers read form queries).
pub(crate) fn decode_component(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded query parameters of a request target, in order.
pub(crate) fn query_params(target: &str) -> Vec<(String, String)> {
    let Some((_, query)) = target.split_once('?') else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

/// The path of a request target, without the query.
pub(crate) fn path_of(target: &str) -> &str {
    target.split_once('?').map_or(target, |(p, _)| p)
}

/// The canonical query a server rebuilds from what it decoded: encoded, sorted.
pub(crate) fn canonical_query(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (rfc3986(k), rfc3986(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `name:value\n` for each signed header as received (value trimmed, and lower-cased when the
/// scheme says so); `None` when a signed header is missing from the request.
pub(crate) fn canonical_headers(
    request: &Request,
    signed: &[&str],
    lower_values: bool,
) -> Option<String> {
    let mut out = String::new();
    let mut names: Vec<&str> = signed.to_vec();
    names.sort_unstable();
    for name in names {
        let value = request.header(name)?.trim();
        let value = if lower_values {
            value.to_ascii_lowercase()
        } else {
            value.to_owned()
        };
        out.push_str(&format!("{name}:{value}\n"));
    }
    Some(out)
}

/// Splits `ALGO k1=v1, k2=v2` (commas with or without spaces) into the algorithm and pairs.
pub(crate) fn authorization_params(value: &str) -> Option<(String, Vec<(String, String)>)> {
    let (algorithm, rest) = value.trim().split_once(' ')?;
    let params = rest
        .split(',')
        .filter_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect();
    Some((algorithm.to_owned(), params))
}

pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Constant-time-enough comparison for a test server.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// Seconds since the Unix epoch, now.
pub(crate) fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Normalises a name as vendors store them: lower-case, no trailing dot.
pub(crate) fn norm(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The record name relative to `zone` (`@` for the apex), or `None` outside it.
pub(crate) fn relative(name: &str, zone: &str) -> Option<String> {
    if name == zone {
        Some("@".into())
    } else {
        name.strip_suffix(zone)
            .and_then(|rest| rest.strip_suffix('.'))
            .map(str::to_owned)
    }
}

/// The full name of `rr` in `zone`.
pub(crate) fn absolute(rr: &str, zone: &str) -> String {
    if rr == "@" || rr.is_empty() {
        zone.to_owned()
    } else {
        format!("{}.{zone}", rr.to_ascii_lowercase())
    }
}

/// Whether `value` is a valid address of `rtype`.
pub(crate) fn valid_value(rtype: &str, value: &str) -> bool {
    match rtype {
        "A" => value.parse::<std::net::Ipv4Addr>().is_ok(),
        "AAAA" => value.parse::<std::net::Ipv6Addr>().is_ok(),
        _ => !value.is_empty(),
    }
}

/// The longest zone of `zones` that `name` is in.
pub(crate) fn zone_of<'a>(name: &str, zones: &'a [String]) -> Option<&'a String> {
    zones
        .iter()
        .filter(|z| relative(name, z).is_some())
        .max_by_key(|z| z.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_side_encodings() {
        assert_eq!(decode_component("a%20b%2A%E9%BB%98+c"), "a b*默 c");
        assert_eq!(decode_component("100%"), "100%");
        assert_eq!(
            query_params("/p?b=2&a=x%20y&c"),
            vec![
                ("b".into(), "2".into()),
                ("a".into(), "x y".into()),
                ("c".into(), String::new())
            ]
        );
        assert_eq!(
            canonical_query(&query_params("/?b=2&a=x%20y")),
            "a=x%20y&b=2"
        );
        assert_eq!(
            relative("a.b.example.com", "example.com").as_deref(),
            Some("a.b")
        );
        assert_eq!(relative("example.com", "example.com").as_deref(), Some("@"));
        assert_eq!(relative("xexample.com", "example.com"), None);
        let (alg, params) =
            authorization_params("TC3-HMAC-SHA256 Credential=a/b, SignedHeaders=x;y, Signature=z")
                .unwrap();
        assert_eq!(alg, "TC3-HMAC-SHA256");
        assert_eq!(param(&params, "SignedHeaders"), Some("x;y"));
    }
}
