//! Who the HTTP client is: its credentials, its address (through trusted proxies only), its
//! software, and whether it is sending too many updates.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::{HeaderMap, header};
use ddns_core::DomainName;
use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};
use ipnet::IpNet;

/// Credentials presented with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Credentials {
    /// The Basic-auth user name, if Basic was used (DynDNS2 may take the hostname from it).
    pub(crate) user: Option<String>,
    /// The token: Basic password or Bearer value.
    pub(crate) token: String,
}

/// Reads `Authorization: Basic …` (the token is the password) or `Authorization: Bearer …`.
pub(crate) fn credentials(headers: &HeaderMap) -> Option<Credentials> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
        return Some(Credentials {
            user: None,
            token: rest.to_owned(),
        });
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = data_encoding::BASE64.decode(rest.as_bytes()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        return Some(Credentials {
            user: Some(user.to_owned()),
            token: password.to_owned(),
        });
    }
    None
}

/// The User-Agent, if any.
pub(crate) fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The client's address. Forwarding headers are believed only from `trusted` proxies: the
/// rightmost `X-Forwarded-For` entry that is not itself a trusted proxy, else `X-Real-IP`.
pub(crate) fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer_ip = canonical(peer.ip());
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer_ip) {
        return peer_ip;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|item| item.trim().parse::<IpAddr>().ok())
        .map(canonical)
        .collect();
    if let Some(ip) = forwarded.iter().rev().find(|ip| !is_trusted(ip)) {
        return *ip;
    }
    headers
        .get("x-real-ip")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<IpAddr>().ok())
        .map_or(peer_ip, canonical)
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Update requests per host, so a looping client is told `abuse` instead of hammering the
/// store (Dyn blocks hosts that send repeated `nochg` updates; we slow them down instead).
pub(crate) struct HostLimiter {
    limiter: RateLimiter<
        DomainName,
        governor::state::keyed::DefaultKeyedStateStore<DomainName>,
        DefaultClock,
    >,
}

impl HostLimiter {
    pub(crate) fn new(per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(per_minute)),
        }
    }

    /// `Err(seconds to wait)` when any of `names` is over its limit. Every name is charged.
    pub(crate) fn check(&self, names: &[DomainName]) -> Result<(), u64> {
        let mut wait: Option<Duration> = None;
        for name in names {
            if let Err(not_until) = self.limiter.check_key(name) {
                let w = not_until.wait_time_from(DefaultClock::default().now());
                wait = Some(wait.map_or(w, |old| old.max(w)));
            }
        }
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        match wait {
            Some(w) => Err(w.as_secs().max(1)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn basic_and_bearer() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic aG9tZS5leGFtcGxlOnNlY3JldDpwYXJ0"),
        );
        assert_eq!(
            credentials(&h),
            Some(Credentials {
                user: Some("home.example".into()),
                token: "secret:part".into()
            })
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(credentials(&h).unwrap().token, "abc");
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(credentials(&h), None);
    }

    #[test]
    fn forwarded_headers_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("198.51.100.66, 203.0.113.7, 10.1.1.1"),
        );
        let proxy: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let stranger: SocketAddr = "192.0.2.9:4000".parse().unwrap();
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(stranger, &h, &trusted),
            "192.0.2.9".parse::<IpAddr>().unwrap()
        );
        let mut real = HeaderMap::new();
        real.insert("x-real-ip", HeaderValue::from_static("2001:db8::7"));
        assert_eq!(
            client_ip(proxy, &real, &trusted),
            "2001:db8::7".parse::<IpAddr>().unwrap()
        );
        let mapped: SocketAddr = "[::ffff:192.0.2.1]:1".parse().unwrap();
        assert_eq!(
            client_ip(mapped, &HeaderMap::new(), &[]),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn limiter_allows_a_burst_then_refuses() {
        let limiter = HostLimiter::new(3);
        let h = [DomainName::parse("h.example").unwrap()];
        for _ in 0..3 {
            assert!(limiter.check(&h).is_ok());
        }
        assert!(limiter.check(&h).unwrap_err() >= 1);
        assert!(
            limiter
                .check(&[DomainName::parse("other.example").unwrap()])
                .is_ok()
        );
    }
}
