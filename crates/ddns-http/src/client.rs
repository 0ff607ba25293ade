//! Who the HTTP client is: its credentials, its address (through trusted proxies only), its
//! software, and whether it is sending too many requests (per address) or updates (per host,
//! per token).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};
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

/// Longest User-Agent kept (it is stored with every history row).
pub(crate) const MAX_USER_AGENT: usize = 256;

/// The User-Agent, if any: at most [`MAX_USER_AGENT`] bytes, cut on a character boundary,
/// control characters replaced by `?` (it ends up in logs and history rows verbatim).
pub(crate) fn user_agent(headers: &HeaderMap) -> Option<String> {
    let bytes = headers.get(header::USER_AGENT)?.as_bytes();
    // A few bytes past the limit, so a character cut by the slice is not counted.
    let head = &bytes[..bytes.len().min(MAX_USER_AGENT + 4)];
    let mut agent = String::with_capacity(MAX_USER_AGENT);
    for c in String::from_utf8_lossy(head).chars() {
        let c = if c.is_control() { '?' } else { c };
        if agent.len() + c.len_utf8() > MAX_USER_AGENT {
            break;
        }
        agent.push(c);
    }
    Some(agent)
}

/// The client's address. Forwarding headers are believed only from `trusted` proxies.
///
/// `X-Forwarded-For` is walked from the right (the entry our own proxy added) to the left,
/// skipping trusted proxies; the first untrusted entry is the client. An entry that does not
/// parse stops the walk: everything left of it may be forged, so the last trusted hop seen is
/// taken instead. `X-Real-IP` is consulted only when there is no `X-Forwarded-For` entry.
pub(crate) fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer_ip = canonical(peer.ip());
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer_ip) {
        return peer_ip;
    }
    // Several header lines are one list, in order (RFC 9110 §5.3). A line that is not
    // visible ASCII is one entry that does not parse.
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().unwrap_or("?"))
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if entries.iter().all(|e| e.is_empty()) {
        return headers
            .get("x-real-ip")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
            .map_or(peer_ip, canonical);
    }
    let mut last_trusted = peer_ip;
    for entry in entries.iter().rev() {
        let Some(ip) = forwarded_entry(entry) else {
            break;
        };
        if !is_trusted(&ip) {
            return ip;
        }
        last_trusted = ip;
    }
    last_trusted
}

/// One `X-Forwarded-For` entry: an address, `1.2.3.4:5678`, `[2001:db8::1]:443` or
/// `[2001:db8::1]`. An unbracketed IPv6 address is read as an address, never as address and
/// port (`2001:db8::1:443` is an address). Anything else (`unknown`, an empty entry) is `None`.
fn forwarded_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(addr) = entry.parse::<SocketAddr>() {
        return Some(canonical(addr.ip()));
    }
    entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<std::net::Ipv6Addr>().ok())
        .map(|v6| canonical(IpAddr::V6(v6)))
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Most keys a limiter tracks; while it is full, requests are charged to a coarser key.
const MAX_TRACKED_KEYS: usize = 100_000;
/// Checks between two sweeps of keys whose limit has fully recovered.
const SWEEP_EVERY: u64 = 4096;

/// A per-key limit of so many requests per minute (burst of the same size) over a bounded
/// table: recovered keys are swept every [`SWEEP_EVERY`] checks (never on every request), and
/// the caller picks a coarser key while [`KeyedLimiter::is_full`].
pub(crate) struct KeyedLimiter<K: std::hash::Hash + Eq + Clone> {
    limiter: RateLimiter<K, governor::state::keyed::DefaultKeyedStateStore<K>, DefaultClock>,
    checks: AtomicU64,
    max_keys: usize,
    /// What was charged since the last [`KeyedLimiter::take_charged`], kept only while the
    /// limits are shared with other nodes.
    charged: Option<Mutex<HashMap<K, u32>>>,
}

impl<K: std::hash::Hash + Eq + Clone> KeyedLimiter<K> {
    fn with_capacity(per_minute: u32, max_keys: usize) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(per_minute)),
            checks: AtomicU64::new(0),
            max_keys,
            charged: None,
        }
    }

    /// From now on, keeps what is charged for [`KeyedLimiter::take_charged`].
    fn share(&mut self) {
        self.charged = Some(Mutex::new(HashMap::new()));
    }

    /// What was charged here since the last call (empty unless shared).
    fn take_charged(&self) -> Vec<(K, u32)> {
        match &self.charged {
            Some(charged) => {
                std::mem::take(&mut *charged.lock().unwrap_or_else(PoisonError::into_inner))
                    .into_iter()
                    .collect()
            }
            None => Vec::new(),
        }
    }

    /// Charges `n` requests another node accepted for `key`, as far as its limit goes.
    fn absorb(&self, key: &K, n: u32) {
        if self.is_full() {
            return;
        }
        for _ in 0..n {
            if self.limiter.check_key(key).is_err() {
                break;
            }
        }
    }

    /// True when no further key should be added.
    fn is_full(&self) -> bool {
        self.limiter.len() >= self.max_keys
    }

    /// Charges each key once; `Err(seconds to wait)` when any of them is over its limit.
    fn check(&self, keys: &[K]) -> Result<(), u64> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        let mut wait: Option<Duration> = None;
        for key in keys {
            match self.limiter.check_key(key) {
                Err(not_until) => {
                    let w = not_until.wait_time_from(DefaultClock::default().now());
                    wait = Some(wait.map_or(w, |old| old.max(w)));
                }
                Ok(()) => {
                    if let Some(charged) = &self.charged {
                        *charged
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .entry(key.clone())
                            .or_default() += 1;
                    }
                }
            }
        }
        match wait {
            Some(w) => Err(w.as_secs().max(1)),
            None => Ok(()),
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.limiter.len()
    }
}

/// What an update is charged to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum RateKey {
    /// A host name the caller was authorised to change.
    Host(DomainName),
    /// A token, while the table is too full to track more hosts: its callers then share one
    /// limit, so whoever filled the table slows down only itself.
    Token(String),
}

/// Update requests per host, so a looping client is told `abuse` instead of hammering the
/// store (Dyn blocks hosts that send repeated `nochg` updates; we slow them down instead).
///
/// **Invariant:** only names the caller is authorised to change are charged (callers check
/// with `Zones::authorize` first), each once per request, so one tenant cannot spend another
/// tenant's limit. The table is bounded: while [`MAX_TRACKED_KEYS`] are tracked a request is
/// charged to its token instead of its names.
pub(crate) struct HostLimiter(KeyedLimiter<RateKey>);

impl HostLimiter {
    pub(crate) fn new(per_minute: u32) -> Self {
        Self::with_capacity(per_minute, MAX_TRACKED_KEYS)
    }

    fn with_capacity(per_minute: u32, max_keys: usize) -> Self {
        Self(KeyedLimiter::with_capacity(per_minute, max_keys))
    }

    /// Charges each distinct name of `names` once (or `token_id` once while the table is
    /// full); `Err(seconds to wait)` when any of them is over its limit. Call only with names
    /// the caller has been authorised for.
    pub(crate) fn check(&self, token_id: &str, names: &[DomainName]) -> Result<(), u64> {
        let keys: Vec<RateKey> = if self.0.is_full() {
            vec![RateKey::Token(token_id.to_owned())]
        } else {
            let mut distinct: Vec<&DomainName> = names.iter().collect();
            distinct.sort_unstable();
            distinct.dedup();
            distinct
                .into_iter()
                .map(|n| RateKey::Host(n.clone()))
                .collect()
        };
        self.0.check(&keys)
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.0.tracked()
    }
}

impl SharedLimit for HostLimiter {
    fn share(&mut self) {
        self.0.share();
    }

    fn take_charged(&self) -> Vec<(String, u32)> {
        self.0
            .take_charged()
            .into_iter()
            .map(|(key, n)| match key {
                RateKey::Host(name) => (format!("h:{name}"), n),
                RateKey::Token(token) => (format!("ht:{token}"), n),
            })
            .collect()
    }

    fn absorb(&self, key: &str, n: u32) {
        let key = if let Some(name) = key.strip_prefix("h:") {
            match DomainName::parse(name) {
                Ok(name) => RateKey::Host(name),
                Err(_) => return,
            }
        } else if let Some(token) = key.strip_prefix("ht:") {
            RateKey::Token(token.to_owned())
        } else {
            return;
        };
        self.0.absorb(&key, n);
    }
}

/// A limit whose charges can be shared with the other nodes of a cluster: keys go out and
/// come in as text with the limiter's own prefix, so each limiter takes only its own.
pub(crate) trait SharedLimit {
    /// Keeps charges from now on.
    fn share(&mut self);
    /// This node's charges since the last call.
    fn take_charged(&self) -> Vec<(String, u32)>;
    /// Charges what another node accepted, when `key` is this limiter's.
    fn absorb(&self, key: &str, n: u32);
}

/// Writes under `/api/v1` per token, so one token cannot flood the store (and its history)
/// with changes.
///
/// **Invariant:** keyed only on the id of a token that authenticated, so nobody can spend
/// another token's budget, and the key space is the set of tokens the admin created. Should
/// [`MAX_TRACKED_KEYS`] tokens be writing within one minute, further ones share one limit.
pub(crate) struct TokenLimiter {
    limiter: KeyedLimiter<Option<String>>,
    /// Prefix of its keys when shared (one per token limit).
    prefix: &'static str,
}

impl TokenLimiter {
    /// A limit whose shared keys start with `prefix`.
    pub(crate) fn new(per_minute: u32, prefix: &'static str) -> Self {
        Self {
            limiter: KeyedLimiter::with_capacity(per_minute, MAX_TRACKED_KEYS),
            prefix,
        }
    }

    /// Charges one write to `token_id`; `Err(seconds to wait)` when it is over its limit.
    pub(crate) fn check(&self, token_id: &str) -> Result<(), u64> {
        let key = if self.limiter.is_full() {
            None
        } else {
            Some(token_id.to_owned())
        };
        self.limiter.check(&[key])
    }
}

impl SharedLimit for TokenLimiter {
    fn share(&mut self) {
        self.limiter.share();
    }

    fn take_charged(&self) -> Vec<(String, u32)> {
        self.limiter
            .take_charged()
            .into_iter()
            .map(|(key, n)| (format!("{}:{}", self.prefix, key.unwrap_or_default()), n))
            .collect()
    }

    fn absorb(&self, key: &str, n: u32) {
        let Some(token) = key
            .strip_prefix(self.prefix)
            .and_then(|k| k.strip_prefix(':'))
        else {
            return;
        };
        let key = (!token.is_empty()).then(|| token.to_owned());
        self.limiter.absorb(&key, n);
    }
}

/// Requests per client address (after trusted-proxy handling; IPv6 by its /64), charged
/// before anything else is looked at, so one source cannot flood the server with requests
/// of any kind (bad passwords included).
///
/// **Invariant:** the key space is bounded: while [`MAX_TRACKED_KEYS`] addresses are tracked,
/// further ones are charged to their /16 (IPv4) or /32 (IPv6), so a source that fills the
/// table shares a limit with its neighbours, not with everyone.
pub(crate) struct IpLimiter(KeyedLimiter<IpAddr>);

impl IpLimiter {
    pub(crate) fn new(per_minute: u32) -> Self {
        Self(KeyedLimiter::with_capacity(per_minute, MAX_TRACKED_KEYS))
    }

    /// Charges one request to `ip`; `Err(seconds to wait)` when it is over its limit.
    pub(crate) fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let coarse = self.0.is_full();
        let key = match canonical(ip) {
            IpAddr::V4(v4) if coarse => IpAddr::V4((u32::from(v4) & 0xffff_0000).into()),
            IpAddr::V6(v6) => {
                let bits = if coarse { 32 } else { 64 };
                IpAddr::V6((u128::from(v6) & !(u128::MAX >> bits)).into())
            }
            v4 => v4,
        };
        self.0.check(&[key])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn ip_limiter_keys_ipv6_by_its_64() {
        let limiter = IpLimiter::new(2);
        assert!(limiter.check(ip("2001:db8:1:2::1")).is_ok());
        assert!(limiter.check(ip("2001:db8:1:2::ffff")).is_ok());
        assert!(limiter.check(ip("2001:db8:1:2:3::")).is_err(), "same /64");
        assert!(limiter.check(ip("2001:db8:1:3::1")).is_ok(), "next /64");
        assert!(limiter.check(ip("192.0.2.1")).is_ok());
        assert!(limiter.check(ip("::ffff:192.0.2.1")).is_ok());
        assert!(
            limiter.check(ip("192.0.2.1")).is_err(),
            "mapped is the same"
        );
        assert!(limiter.check(ip("192.0.2.2")).is_ok());
    }

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

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// `client_ip` as seen from the trusted proxy 127.0.0.1 with these `X-Forwarded-For` lines.
    fn via_proxy(lines: &[&'static str]) -> IpAddr {
        let trusted: Vec<IpNet> = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        let mut h = HeaderMap::new();
        for line in lines {
            h.append("x-forwarded-for", HeaderValue::from_static(line));
        }
        h.insert("x-real-ip", HeaderValue::from_static("192.0.2.200"));
        client_ip("127.0.0.1:4000".parse().unwrap(), &h, &trusted)
    }

    #[test]
    fn forwarded_for_is_walked_from_the_right() {
        assert_eq!(
            via_proxy(&["198.51.100.66, 203.0.113.7"]),
            ip("203.0.113.7")
        );
        assert_eq!(
            via_proxy(&["198.51.100.66", "203.0.113.7, 10.1.1.1"]),
            ip("203.0.113.7"),
            "several header lines are one list"
        );
        assert_eq!(
            via_proxy(&["10.0.0.5, 10.1.1.1"]),
            ip("10.0.0.5"),
            "all trusted: the leftmost hop"
        );
        assert_eq!(via_proxy(&[""]), ip("192.0.2.200"), "no entry: X-Real-IP");
    }

    #[test]
    fn forwarded_for_stops_at_an_entry_that_does_not_parse() {
        // Everything left of garbage may be forged: the last trusted hop is the answer.
        assert_eq!(
            via_proxy(&["198.51.100.66, garbage, 10.1.1.1"]),
            ip("10.1.1.1")
        );
        assert_eq!(
            via_proxy(&["198.51.100.66, unknown"]),
            ip("127.0.0.1"),
            "garbage rightmost: the peer itself"
        );
        assert_eq!(via_proxy(&["198.51.100.66,,10.1.1.1"]), ip("10.1.1.1"));
        assert_eq!(
            via_proxy(&["198.51.100.66", "bogus"]),
            ip("127.0.0.1"),
            "garbage on a later line counts too"
        );
        assert_eq!(
            via_proxy(&["198.51.100.66, 1.2.3.4:99999"]),
            ip("127.0.0.1"),
            "a port out of range is garbage"
        );
        assert_eq!(
            via_proxy(&["198.51.100.66, [2001:db8::1]:443:1"]),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn forwarded_for_entries_with_ports() {
        assert_eq!(via_proxy(&["203.0.113.7:5678"]), ip("203.0.113.7"));
        assert_eq!(via_proxy(&["[2001:db8::1]:443"]), ip("2001:db8::1"));
        assert_eq!(via_proxy(&["[2001:db8::1]"]), ip("2001:db8::1"));
        assert_eq!(
            via_proxy(&["2001:db8::1:443"]),
            ip("2001:db8::1:443"),
            "an unbracketed IPv6 address is an address, not address and port"
        );
        assert_eq!(
            via_proxy(&["198.51.100.66, 10.1.1.1:80"]),
            ip("198.51.100.66"),
            "a trusted hop with a port is skipped like one without"
        );
        assert_eq!(via_proxy(&["[::ffff:192.0.2.1]:80"]), ip("192.0.2.1"));
    }

    #[test]
    fn user_agent_is_bounded_and_cleaned() {
        let agent = |bytes: Vec<u8>| {
            let mut h = HeaderMap::new();
            h.insert(header::USER_AGENT, HeaderValue::from_bytes(&bytes).unwrap());
            user_agent(&h).unwrap()
        };
        assert_eq!(agent(b"ddclient/3.11".to_vec()), "ddclient/3.11");
        assert_eq!(agent(vec![b'a'; 100_000]).len(), MAX_USER_AGENT);
        // Two-byte characters: exactly 128 of them fit.
        let two = agent("é".repeat(1000).into_bytes());
        assert_eq!((two.len(), two.chars().count()), (256, 128));
        // Three-byte characters: 85 fit (255 bytes); the 86th would cross the limit.
        let three = agent("€".repeat(1000).into_bytes());
        assert_eq!((three.len(), three.chars().count()), (255, 85));
        // A tab and a C1 control (U+0085, sent as obs-text bytes) are replaced.
        assert_eq!(agent("a\tb\u{85}c".as_bytes().to_vec()), "a?b?c");
        assert_eq!(agent(vec![b'x', 0xff, b'y']), "x\u{fffd}y");
        assert_eq!(user_agent(&HeaderMap::new()), None);
    }

    fn names(list: &[&str]) -> Vec<DomainName> {
        list.iter().map(|n| DomainName::parse(n).unwrap()).collect()
    }

    #[test]
    fn limiter_allows_a_burst_then_refuses() {
        let limiter = HostLimiter::new(3);
        let h = names(&["h.example"]);
        for _ in 0..3 {
            assert!(limiter.check("t1", &h).is_ok());
        }
        assert!(limiter.check("t1", &h).unwrap_err() >= 1);
        assert!(limiter.check("t1", &names(&["other.example"])).is_ok());
    }

    #[test]
    fn limiter_charges_a_repeated_name_once() {
        let limiter = HostLimiter::new(3);
        let twenty = names(&["h.example"; 20]);
        for round in 0..3 {
            assert!(limiter.check("t1", &twenty).is_ok(), "request {round}");
        }
        assert!(limiter.check("t1", &twenty).is_err());
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn token_limiter_keeps_tokens_apart() {
        let limiter = TokenLimiter::new(2, "t");
        assert!(limiter.check("t1").is_ok());
        assert!(limiter.check("t1").is_ok());
        assert!(limiter.check("t1").unwrap_err() >= 1);
        assert!(
            limiter.check("t2").is_ok(),
            "another token has its own budget"
        );
    }

    #[test]
    fn shared_charges_go_out_once_and_count_where_they_come_in() {
        let (mut here, mut there) = (HostLimiter::new(3), HostLimiter::new(3));
        let (mut tokens, mut api) = (TokenLimiter::new(3, "t"), TokenLimiter::new(3, "a"));
        here.share();
        there.share();
        tokens.share();
        api.share();
        let names = names(&["a.ddns.test", "a.ddns.test", "b.ddns.test"]);
        assert!(here.check("t1", &names).is_ok());
        assert!(here.check("t1", &names[..1]).is_ok());
        let mut out = here.take_charged();
        out.sort();
        assert_eq!(
            out,
            [
                ("h:a.ddns.test".to_owned(), 2),
                ("h:b.ddns.test".to_owned(), 1)
            ]
        );
        assert!(here.take_charged().is_empty(), "taken once");
        assert!(tokens.check("t1").is_ok());
        let token_out = tokens.take_charged();
        assert_eq!(token_out, [("t:t1".to_owned(), 1)]);
        // Elsewhere: each limiter takes its own keys only.
        for (key, count) in out.iter().chain(&token_out) {
            there.absorb(key, *count);
            api.absorb(key, *count);
        }
        assert!(there.check("t1", &names[..1]).is_ok(), "a: 2 of 3 used");
        assert!(there.check("t1", &names[..1]).is_err(), "a: over the limit");
        assert!(
            there.take_charged().len() == 1,
            "what it absorbed is not sent again"
        );
        for _ in 0..3 {
            assert!(
                api.check("t1").is_ok(),
                "an update charge is not an API write"
            );
        }
    }

    #[test]
    fn a_full_table_charges_the_token() {
        let limiter = HostLimiter::with_capacity(3, 2);
        assert!(
            limiter
                .check("filler", &names(&["a.example", "b.example"]))
                .is_ok()
        );
        // Full: every further request is charged to its token, whatever names it gives.
        for i in 0..3 {
            let name = format!("n{i}.example");
            assert!(limiter.check("filler", &names(&[&name])).is_ok());
        }
        assert!(limiter.check("filler", &names(&["n9.example"])).is_err());
        assert!(
            limiter
                .check("someone-else", &names(&["a.example"]))
                .is_ok(),
            "another token has its own limit"
        );
        assert_eq!(limiter.tracked(), 4, "two hosts and two tokens, no more");
    }
}
