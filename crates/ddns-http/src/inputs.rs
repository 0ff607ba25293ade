//! The request parsers by themselves, for the fuzz targets in `fuzz/`: the functions the
//! handlers call on what a client sends (query strings, headers, bodies), without a server,
//! a store or a runtime around them. Each one reads its input to the end of parsing and
//! returns nothing: a fuzz target only asks that no input makes them panic.

use std::net::SocketAddr;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use ddns_core::record::RecordSet;
use ddns_core::{DomainName, ScopeEntry};
use ipnet::IpNet;

use crate::api_v1::{NewHost, NewToken, RrsetBody, parse_name, parse_rtype};
use crate::client::{client_ip, credentials, user_agent};
use crate::nic_update::update_request;
use crate::rest_update::parse_body;

/// Where the fuzzed requests come from: a trusted proxy, so `X-Forwarded-For` is read.
const PROXY: &str = "127.0.0.1:40000";

fn headers(pairs: &[(HeaderName, &[u8])]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.insert(name.clone(), value);
        }
    }
    headers
}

/// A DynDNS2 request: its query string, `Authorization`, `X-Forwarded-For` and
/// `User-Agent` headers, through credentials, client address and the update request.
pub fn dyndns2(query: &str, authorization: &[u8], forwarded_for: &[u8], agent: &[u8]) {
    let headers = headers(&[
        (header::AUTHORIZATION, authorization),
        (HeaderName::from_static("x-forwarded-for"), forwarded_for),
        (header::USER_AGENT, agent),
    ]);
    let _ = user_agent(&headers);
    let user = credentials(&headers).and_then(|c| c.user);
    let peer: SocketAddr = PROXY.parse().unwrap_or_else(|_| unreachable!());
    let trusted: [IpNet; 1] = ["127.0.0.0/8".parse().unwrap_or_else(|_| unreachable!())];
    let client = client_ip(peer, &headers, &trusted);
    if let Ok(request) = update_request(Some(query), user.as_deref()) {
        let _ = request.addresses_for(client);
    }
}

/// A `POST /update` body with its `Content-Type`.
pub fn rest_update(content_type: &[u8], body: &[u8]) {
    let headers = headers(&[(header::CONTENT_TYPE, content_type)]);
    if let Ok(body) = parse_body(&headers, body) {
        let _ = DomainName::parse(&body.domain);
    }
}

/// An `/api/v1` JSON body read as each body the API takes (new host, record set, new token),
/// with the checks the handlers make before anything reaches the write path.
pub fn api_v1(rtype: &str, body: &[u8]) {
    if let Ok(host) = serde_json::from_slice::<NewHost>(body) {
        let _ = parse_name(&host.name);
    }
    if let Ok(rrset) = serde_json::from_slice::<RrsetBody>(body)
        && let Ok(rtype) = parse_rtype(rtype)
    {
        let origin = b"\x03dyn\x07example\x00";
        let _ = RecordSet::from_values(rtype, rrset.ttl.unwrap_or(60), &rrset.values, origin);
    }
    if let Ok(token) = serde_json::from_slice::<NewToken>(body) {
        let _ = token.label.len() + usize::from(token.admin);
        for host in &token.hosts {
            let _ = ScopeEntry::parse(host);
        }
    }
}
