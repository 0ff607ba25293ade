//! Loopback fakes of the update-URL services, which have no read API: DuckDNS
//! (www.duckdns.org/spec.jsp), Hurricane Electric's dyn.dns.he.net (dns.he.net/docs.html,
//! DynDNS2 codes, one key per record) and Namecheap's dynamic DNS
//! (dynamicdns.park-your-domain.com, XML `interface-response`, HTTP 200 even on errors).
//!
//! Each holds the names the account has, with at most one IPv4 and one IPv6 address each (the
//! services hold no more), checks credentials as the service does, records every request,
//! and counts the requests that changed an address (`writes`). Throttled, each answers 429
//! with `Retry-After: 7`: none of the three documents a throttling answer beyond HE's
//! `abuse`, and the providers must honour whatever the gateway in front sends.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use crate::fake_cloud::{path_of, query_params, same};
use crate::handler_http::{Reply, Request};

/// The addresses of one name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Addresses {
    /// The A record.
    pub ipv4: Option<String>,
    /// The AAAA record.
    pub ipv6: Option<String>,
}

#[derive(Default)]
struct State {
    /// name → (credential, addresses).
    names: BTreeMap<String, (String, Addresses)>,
    requests: Vec<Request>,
    throttle: usize,
    writes: usize,
}

/// Which service the fake plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// DuckDNS: one account token for every name.
    Duckdns,
    /// dyn.dns.he.net: a key per record.
    He,
    /// Namecheap: a Dynamic DNS password per domain.
    Namecheap,
}

/// A running fake.
#[derive(Clone)]
pub struct FakeUpdateUrl {
    /// Where it listens.
    pub addr: SocketAddr,
    service: Service,
    state: Arc<Mutex<State>>,
}

impl FakeUpdateUrl {
    /// Starts a fake of `service`.
    pub fn start(service: Service) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let addr = crate::handler_http::serve(move |request| {
            let mut s = shared.lock().unwrap();
            s.requests.push(request.clone());
            if s.throttle > 0 {
                s.throttle -= 1;
                return Reply {
                    status: 429,
                    headers: vec![("retry-after".into(), "7".into())],
                    body: "Too Many Requests".into(),
                };
            }
            match service {
                Service::Duckdns => duckdns(&mut s, request),
                Service::He => he(&mut s, request),
                Service::Namecheap => namecheap(&mut s, request),
            }
        });
        Self {
            addr,
            service,
            state,
        }
    }

    /// `http://127.0.0.1:PORT`, for the provider's `endpoint`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds a name the account holds, with the credential that may update it (DuckDNS: the
    /// account token; HE: the record's key; Namecheap: the domain's password) and, for
    /// Namecheap, `name` as `host.domain` with the zone given by `zone_of`.
    pub fn add_name(&self, name: &str, credential: &str, addresses: Addresses) {
        self.state.lock().unwrap().names.insert(
            name.to_ascii_lowercase(),
            (credential.to_owned(), addresses),
        );
    }

    /// The addresses of `name`.
    pub fn addresses(&self, name: &str) -> Option<Addresses> {
        self.state
            .lock()
            .unwrap()
            .names
            .get(name)
            .map(|(_, a)| a.clone())
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Requests that changed an address.
    pub fn writes(&self) -> usize {
        self.state.lock().unwrap().writes
    }

    /// The next `n` requests are answered 429.
    pub fn throttle(&self, n: usize) {
        self.state.lock().unwrap().throttle = n;
    }

    /// The service played.
    pub fn service(&self) -> Service {
        self.service
    }
}

fn text(status: u16, body: &str) -> Reply {
    Reply {
        status,
        headers: vec![("content-type".into(), "text/plain".into())],
        body: body.to_owned(),
    }
}

fn param(request: &Request, name: &str) -> Option<String> {
    query_params(&request.target)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Sets one family of `addresses` from `value`; whether it changed.
fn set(addresses: &mut Addresses, value: IpAddr) -> bool {
    let slot = if value.is_ipv4() {
        &mut addresses.ipv4
    } else {
        &mut addresses.ipv6
    };
    let new = Some(value.to_string());
    let changed = *slot != new;
    *slot = new;
    changed
}

/// DuckDNS: `KO` for a wrong token or a name not in the account; a blank `ip` without `ipv6`
/// autodetects IPv4 from the connection (here: 127.0.0.1), as DuckDNS does.
fn duckdns(s: &mut State, request: &Request) -> Reply {
    if path_of(&request.target) != "/update" {
        return text(404, "Not Found");
    }
    let (Some(domains), Some(token)) = (param(request, "domains"), param(request, "token")) else {
        return text(200, "KO");
    };
    let name = format!("{}.duckdns.org", domains.to_ascii_lowercase());
    let Some((credential, addresses)) = s.names.get_mut(&name) else {
        return text(200, "KO");
    };
    if !same(&token, credential) {
        return text(200, "KO");
    }
    let ip = param(request, "ip").filter(|v| !v.is_empty());
    let ipv6 = param(request, "ipv6").filter(|v| !v.is_empty());
    let mut changed = false;
    match (&ip, &ipv6) {
        (None, None) => changed |= set(addresses, IpAddr::from([127, 0, 0, 1])),
        _ => {
            for value in [ip, ipv6].into_iter().flatten() {
                let Ok(address) = value.parse::<IpAddr>() else {
                    return text(200, "KO");
                };
                changed |= set(addresses, address);
            }
        }
    }
    let body = format!(
        "OK\n{}\n{}\n{}",
        addresses.ipv4.clone().unwrap_or_default(),
        addresses.ipv6.clone().unwrap_or_default(),
        if changed { "UPDATED" } else { "NOCHANGE" }
    );
    if changed {
        s.writes += 1;
    }
    if param(request, "verbose").as_deref() == Some("true") {
        text(200, &body)
    } else {
        text(200, "OK")
    }
}

/// dyn.dns.he.net: `hostname`, `password` (the record's key) and `myip` in the query, or
/// Basic auth with the hostname as user. `badauth` for a wrong key, `nohost` for a record that
/// is not dynamic at HE, `good`/`nochg` with the address.
fn he(s: &mut State, request: &Request) -> Reply {
    if path_of(&request.target) != "/nic/update" {
        return text(404, "Not Found");
    }
    let Some(hostname) = param(request, "hostname").map(|h| h.to_ascii_lowercase()) else {
        return text(200, "notfqdn");
    };
    let Some(password) = param(request, "password") else {
        return text(401, "badauth");
    };
    let Some((credential, addresses)) = s.names.get_mut(&hostname) else {
        return text(200, "nohost");
    };
    if !same(&password, credential) {
        return text(401, "badauth");
    }
    let Some(Ok(address)) = param(request, "myip").map(|v| v.parse::<IpAddr>()) else {
        return text(200, "nochg 127.0.0.1");
    };
    if set(addresses, address) {
        s.writes += 1;
        text(200, &format!("good {address}"))
    } else {
        text(200, &format!("nochg {address}"))
    }
}

/// Namecheap: `host`, `domain`, `password`, `ip`; HTTP 200 with `ErrCount` and `Err1` on
/// every error, as Namecheap answers.
fn namecheap(s: &mut State, request: &Request) -> Reply {
    let xml = |errors: &[&str], ip: &str| {
        let mut errs = String::new();
        for (i, e) in errors.iter().enumerate() {
            errs.push_str(&format!("<Err{}>{e}</Err{}>", i + 1, i + 1));
        }
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "text/html".into())],
            body: format!(
                "<?xml version=\"1.0\" encoding=\"utf-16\"?><interface-response><Command>SETDNSHOST</Command><Language>eng</Language><IP>{ip}</IP><ErrCount>{}</ErrCount><errors>{errs}</errors><ResponseCount>0</ResponseCount><responses /><Done>true</Done><debug><![CDATA[]]></debug></interface-response>",
                errors.len()
            ),
        }
    };
    if path_of(&request.target) != "/update" {
        return text(404, "Not Found");
    }
    let (Some(host), Some(domain), Some(password)) = (
        param(request, "host"),
        param(request, "domain"),
        param(request, "password"),
    ) else {
        return xml(&["Parameters are missing"], "");
    };
    let domain = domain.to_ascii_lowercase();
    if !s
        .names
        .keys()
        .any(|n| *n == domain || n.ends_with(&format!(".{domain}")))
    {
        return xml(&["Domain name not found"], "");
    }
    let name = if host == "@" {
        domain.clone()
    } else {
        format!("{}.{domain}", host.to_ascii_lowercase())
    };
    let domain_password = s
        .names
        .iter()
        .find(|(n, _)| **n == domain || n.ends_with(&format!(".{domain}")))
        .map(|(_, (p, _))| p.clone())
        .unwrap_or_default();
    if !same(&password, &domain_password) {
        return xml(&["Passwords do not match"], "");
    }
    let Some((_, addresses)) = s.names.get_mut(&name) else {
        return xml(&["No Records updated. A record not Found;"], "");
    };
    let Some(Ok(IpAddr::V4(address))) = param(request, "ip").map(|v| v.parse::<IpAddr>()) else {
        return xml(&["Invalid IP"], "");
    };
    if set(addresses, IpAddr::V4(address)) {
        s.writes += 1;
    }
    xml(&[], &address.to_string())
}
