//! Detection by DNS: name servers that answer a special name with the address the query came
//! from, and the non-recursive address query the agent uses to check what is published.
//!
//! One UDP query, built with hickory-proto and sent from a socket of the family being
//! detected, with a retry over TCP when the answer is truncated. No resolver and no cache:
//! the answer must come from the named server itself.
//!
//! ```text
//! Messages carried by UDP are restricted to 512 bytes (not counting the IP or UDP headers).
//! Longer messages are truncated and the TC bit is set in the header.     (RFC 1035 §4.2.1)
//!
//! The message is prefixed with a two byte length field which gives the message length,
//! excluding the two byte length field.                                 (RFC 1035 §4.2.2)
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::Family;
use crate::source::{DetectError, SpecError, parse_socket_addr};

/// Well-known "what is my address" DNS services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsService {
    /// `myip.opendns.com` A/AAAA IN at resolver1.opendns.com.
    #[serde(rename = "opendns")]
    OpenDns,
    /// `whoami.cloudflare` TXT CH at 1.1.1.1 / 2606:4700:4700::1111.
    Cloudflare,
    /// `o-o.myaddr.l.google.com` TXT IN at ns1.google.com.
    Google,
}

impl DnsService {
    /// The name, type, class and server the service is asked with, for `family`.
    pub fn preset(self, family: Family) -> (&'static str, DnsQueryType, DnsClass, SocketAddr) {
        let (name, qtype, class, v4, v6) = match self {
            Self::OpenDns => (
                "myip.opendns.com.",
                match family {
                    Family::V4 => DnsQueryType::A,
                    Family::V6 => DnsQueryType::Aaaa,
                },
                DnsClass::In,
                Ipv4Addr::new(208, 67, 222, 222),
                Ipv6Addr::new(0x2620, 0x119, 0x35, 0, 0, 0, 0, 0x35),
            ),
            Self::Cloudflare => (
                "whoami.cloudflare.",
                DnsQueryType::Txt,
                DnsClass::Ch,
                Ipv4Addr::new(1, 1, 1, 1),
                Ipv6Addr::new(0x2606, 0x4700, 0x4700, 0, 0, 0, 0, 0x1111),
            ),
            // Asked directly at Google's authoritative server, so the address seen is ours and
            // not a resolver's.
            Self::Google => (
                "o-o.myaddr.l.google.com.",
                DnsQueryType::Txt,
                DnsClass::In,
                Ipv4Addr::new(216, 239, 32, 10),
                Ipv6Addr::new(0x2001, 0x4860, 0x4802, 0x32, 0, 0, 0, 0xa),
            ),
        };
        let server = match family {
            Family::V4 => IpAddr::V4(v4),
            Family::V6 => IpAddr::V6(v6),
        };
        (name, qtype, class, SocketAddr::new(server, 53))
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::OpenDns => "opendns",
            Self::Cloudflare => "cloudflare",
            Self::Google => "google",
        }
    }
}

/// The record type asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsQueryType {
    /// An IPv4 address record.
    #[serde(alias = "A")]
    A,
    /// An IPv6 address record.
    #[serde(alias = "AAAA")]
    Aaaa,
    /// Text whose strings hold the address.
    #[serde(alias = "TXT")]
    Txt,
}

impl DnsQueryType {
    fn record_type(self) -> RecordType {
        match self {
            Self::A => RecordType::A,
            Self::Aaaa => RecordType::AAAA,
            Self::Txt => RecordType::TXT,
        }
    }
}

/// The query class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsClass {
    /// Internet.
    #[serde(alias = "IN")]
    In,
    /// Chaos (RFC 1035 §3.2.4), used by server-identity names such as `whoami.cloudflare`.
    #[serde(alias = "CH")]
    Ch,
}

impl DnsClass {
    fn dns_class(self) -> DNSClass {
        match self {
            Self::In => DNSClass::IN,
            Self::Ch => DNSClass::CH,
        }
    }
}

/// A validated DNS detection query.
#[derive(Clone, Debug)]
pub struct DnsSource {
    service: Option<DnsService>,
    name: Name,
    qtype: RecordType,
    class: DNSClass,
    server: SocketAddr,
}

impl DnsSource {
    /// Validates a preset (`service`, optionally with `server`) or a custom query (`name` and
    /// `server`, optionally `qtype` and `class`) for `family`.
    pub fn new(
        service: Option<DnsService>,
        name: Option<&str>,
        qtype: Option<DnsQueryType>,
        class: Option<DnsClass>,
        server: Option<&str>,
        family: Family,
    ) -> Result<Self, SpecError> {
        let server = server
            .map(|s| parse_socket_addr("server", s, 53))
            .transpose()?;
        let (name, qtype, class, server) = match service {
            Some(service) => {
                for (field, given) in [
                    ("name", name.is_some()),
                    ("qtype", qtype.is_some()),
                    ("class", class.is_some()),
                ] {
                    if given {
                        return Err(SpecError::invalid(
                            field,
                            format!(
                                "cannot be combined with service = \"{}\"; drop one of them",
                                service.as_str()
                            ),
                        ));
                    }
                }
                let (name, qtype, class, default_server) = service.preset(family);
                (name, qtype, class, server.unwrap_or(default_server))
            }
            None => {
                let name = name.ok_or_else(|| {
                    SpecError::invalid("name", "required when no service is given")
                })?;
                let server = server.ok_or_else(|| {
                    SpecError::invalid("server", "required when no service is given")
                })?;
                let qtype = qtype.unwrap_or(match family {
                    Family::V4 => DnsQueryType::A,
                    Family::V6 => DnsQueryType::Aaaa,
                });
                (name, qtype, class.unwrap_or(DnsClass::In), server)
            }
        };
        match (qtype, family) {
            (DnsQueryType::A, Family::V6) | (DnsQueryType::Aaaa, Family::V4) => {
                return Err(SpecError::Family(format!(
                    "qtype {:?} cannot give an {family} address",
                    qtype.record_type().to_string()
                )));
            }
            _ => {}
        }
        if !family.matches(server.ip()) {
            return Err(SpecError::Family(format!(
                "server {server} is not an {family} address; the server sees the address the \
                 query comes from, so it must be reached over {family}"
            )));
        }
        Ok(Self {
            service,
            name: parse_name(name).map_err(|reason| SpecError::invalid("name", reason))?,
            qtype: qtype.record_type(),
            class: class.dns_class(),
            server,
        })
    }

    /// `opendns @208.67.222.222:53` or `whoami.example. TXT IN @192.0.2.53:53`.
    pub fn describe(&self) -> String {
        match self.service {
            Some(s) => format!("{} @{}", s.as_str(), self.server),
            None => format!(
                "{} {} {} @{}",
                self.name, self.qtype, self.class, self.server
            ),
        }
    }

    /// Asks the server; exactly one distinct address of `family` must come back.
    pub async fn detect(&self, family: Family) -> Result<IpAddr, DetectError> {
        let query = build_query(&self.name, self.qtype, self.class);
        let response = exchange(self.server, &query).await?;
        if response.response_code != ResponseCode::NoError {
            return Err(DetectError::Dns(format!(
                "{} answered {}",
                self.server,
                rcode_name(response.response_code)
            )));
        }
        match addresses_in(&response, self.qtype, family).as_slice() {
            [one] => Ok(*one),
            [] => Err(DetectError::Dns(format!(
                "the {} answer holds no {family} address",
                self.qtype
            ))),
            many => Err(DetectError::Dns(format!(
                "the answer holds {} different addresses: {}",
                many.len(),
                Joined(many)
            ))),
        }
    }
}

/// Asks `server` for the A (V4) or AAAA (V6) records of `name`, without recursion (RD=0),
/// and returns the addresses in its answer, sorted. An authoritative NXDOMAIN or empty
/// answer is an empty list; an answer without the AA bit is an error, because then the server
/// is not authoritative for the name and its answer says nothing about what is published.
///
/// ```text
/// AA  Authoritative Answer - this bit is valid in responses, and specifies that the
///     responding name server is an authority for the domain name in question section.
///                                                                      (RFC 1035 §4.1.1)
/// ```
pub async fn query_addresses(
    server: SocketAddr,
    name: &str,
    family: Family,
    timeout: Duration,
) -> Result<Vec<IpAddr>, DetectError> {
    let qname = parse_name(name).map_err(|reason| DetectError::Dns(format!("name: {reason}")))?;
    let qtype = match family {
        Family::V4 => RecordType::A,
        Family::V6 => RecordType::AAAA,
    };
    let query = build_query(&qname, qtype, DNSClass::IN);
    let response = tokio::time::timeout(timeout, exchange(server, &query))
        .await
        .map_err(|_| DetectError::Timeout(timeout))??;
    if !response.authoritative {
        return Err(DetectError::Dns(format!(
            "{server} is not authoritative for {qname} (AA bit not set)"
        )));
    }
    match response.response_code {
        ResponseCode::NoError => Ok(addresses_in(&response, qtype, family)),
        ResponseCode::NXDomain => Ok(Vec::new()),
        other => Err(DetectError::Dns(format!(
            "{server} answered {} for {qname}",
            rcode_name(other)
        ))),
    }
}

/// What a name server says about the addresses of a name (`ddns smb check --dns`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The addresses of the family asked, sorted.
    Found(Vec<IpAddr>),
    /// The name exists but has no address of the family (NOERROR, empty answer).
    NoData,
    /// NXDOMAIN: the name does not exist.
    NxDomain,
}

/// Asks `server` for `name`'s addresses of `family` with recursion desired, so both an
/// authoritative server (which ignores the bit) and a resolver answer; one UDP query, over
/// TCP again when truncated. Any RCODE but NOERROR and NXDOMAIN is an error naming it.
pub async fn lookup(
    server: SocketAddr,
    name: &str,
    family: Family,
    timeout: Duration,
) -> Result<Lookup, DetectError> {
    let qname = parse_name(name).map_err(|reason| DetectError::Dns(format!("name: {reason}")))?;
    let qtype = match family {
        Family::V4 => RecordType::A,
        Family::V6 => RecordType::AAAA,
    };
    let mut query = build_query(&qname, qtype, DNSClass::IN);
    query.metadata.recursion_desired = true;
    let response = tokio::time::timeout(timeout, exchange(server, &query))
        .await
        .map_err(|_| DetectError::Timeout(timeout))??;
    match response.response_code {
        ResponseCode::NoError => {
            let found = addresses_in(&response, qtype, family);
            Ok(if found.is_empty() {
                Lookup::NoData
            } else {
                Lookup::Found(found)
            })
        }
        ResponseCode::NXDomain => Ok(Lookup::NxDomain),
        other => Err(DetectError::Dns(format!(
            "{server} answered {} for {qname}",
            rcode_name(other)
        ))),
    }
}

/// The authoritative name servers of the zone that holds `name`, found through a recursive
/// `resolver`: the NS records of the closest enclosing name that has them, and the addresses of
/// those servers (port 53). Used to check what the world sees for a record.
pub async fn authoritative_servers(
    resolver: SocketAddr,
    name: &str,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, DetectError> {
    let qname = parse_name(name).map_err(|reason| DetectError::Dns(format!("name: {reason}")))?;
    let ask = |name: Name, qtype: RecordType| async move {
        let mut query = build_query(&name, qtype, DNSClass::IN);
        query.metadata.recursion_desired = true;
        tokio::time::timeout(timeout, exchange(resolver, &query))
            .await
            .map_err(|_| DetectError::Timeout(timeout))?
    };
    let mut zone = qname;
    let ns_names: Vec<Name> = loop {
        let response = ask(zone.clone(), RecordType::NS).await?;
        let names: Vec<Name> = response
            .answers
            .iter()
            .filter(|r| r.name == zone)
            .filter_map(|r| match &r.data {
                RData::NS(ns) => Some(ns.0.clone()),
                _ => None,
            })
            .collect();
        if !names.is_empty() {
            break names;
        }
        if zone.num_labels() <= 1 {
            return Err(DetectError::Dns(format!(
                "no NS records found above {name}"
            )));
        }
        zone = zone.base_name();
    };
    let mut servers = Vec::new();
    for ns in ns_names.into_iter().take(4) {
        for family in [Family::V4, Family::V6] {
            let qtype = if family == Family::V4 {
                RecordType::A
            } else {
                RecordType::AAAA
            };
            if let Ok(response) = ask(ns.clone(), qtype).await {
                servers.extend(
                    addresses_in(&response, qtype, family)
                        .into_iter()
                        .map(|ip| SocketAddr::new(ip, 53)),
                );
            }
        }
    }
    if servers.is_empty() {
        return Err(DetectError::Dns(format!(
            "the name servers of {zone} have no addresses"
        )));
    }
    Ok(servers)
}

fn parse_name(name: &str) -> Result<Name, String> {
    let mut parsed =
        Name::from_ascii(name.trim()).map_err(|e| format!("{name:?} is not a domain name: {e}"))?;
    if parsed.is_root() {
        return Err("the root name cannot be asked".into());
    }
    parsed.set_fqdn(true);
    Ok(parsed)
}

fn build_query(name: &Name, qtype: RecordType, class: DNSClass) -> Message {
    let mut message = Message::query();
    message.metadata.recursion_desired = false;
    let mut query = Query::query(name.clone(), qtype);
    query.set_query_class(class);
    message.add_query(query);
    message
}

/// The addresses of `family` in the answer section, sorted, from records of `qtype`: A/AAAA
/// data, or each TXT string that parses as an address (Google's answer may add strings such
/// as `edns0-client-subnet 198.51.100.0/24`, which do not).
fn addresses_in(response: &Message, qtype: RecordType, family: Family) -> Vec<IpAddr> {
    let mut found = Vec::new();
    for record in response.answers.iter().filter(|r| r.record_type() == qtype) {
        match &record.data {
            RData::A(a) => found.push(IpAddr::V4(a.0)),
            RData::AAAA(a) => found.push(IpAddr::V6(a.0)),
            RData::TXT(txt) => found.extend(txt.txt_data.iter().filter_map(|s| {
                let text = std::str::from_utf8(s).ok()?;
                text.trim().trim_matches('"').parse::<IpAddr>().ok()
            })),
            _ => {}
        }
    }
    let mut found: Vec<IpAddr> = found
        .into_iter()
        .map(|a| a.to_canonical())
        .filter(|a| family.matches(*a))
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Sends `query` over UDP from a socket of the server's family and waits for the matching
/// response (same ID and question, from the server: anything else is ignored, RFC 5452 §9.1);
/// repeats over TCP if it is truncated.
async fn exchange(server: SocketAddr, query: &Message) -> Result<Message, DetectError> {
    let wire = query
        .to_vec()
        .map_err(|e| DetectError::Dns(format!("cannot encode the query: {e}")))?;
    let io = |e: std::io::Error| DetectError::Network(format!("{server}: {e}"));
    let socket = UdpSocket::bind(SocketAddr::new(Family::of(server.ip()).unspecified(), 0))
        .await
        .map_err(io)?;
    socket.connect(server).await.map_err(io)?;
    socket.send(&wire).await.map_err(io)?;
    let mut buf = vec![0; 4096];
    loop {
        let len = socket.recv(&mut buf).await.map_err(io)?;
        let Some(response) = matching_response(&buf[..len], query) else {
            continue;
        };
        if response.truncation {
            return exchange_tcp(server, &wire, query).await;
        }
        return Ok(response);
    }
}

async fn exchange_tcp(
    server: SocketAddr,
    wire: &[u8],
    query: &Message,
) -> Result<Message, DetectError> {
    let io = |e: std::io::Error| DetectError::Network(format!("{server} (TCP): {e}"));
    let mut stream = TcpStream::connect(server).await.map_err(io)?;
    let len = u16::try_from(wire.len())
        .map_err(|_| DetectError::Dns("query longer than 65535 bytes".into()))?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(wire);
    stream.write_all(&framed).await.map_err(io)?;
    loop {
        let len = stream.read_u16().await.map_err(io)?;
        let mut buf = vec![0; usize::from(len)];
        stream.read_exact(&mut buf).await.map_err(io)?;
        if let Some(response) = matching_response(&buf, query) {
            return Ok(response);
        }
    }
}

fn matching_response(bytes: &[u8], query: &Message) -> Option<Message> {
    let response = Message::from_vec(bytes).ok()?;
    (response.message_type == MessageType::Response
        && response.id == query.id
        && response.queries == query.queries)
        .then_some(response)
}

fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => format!("RCODE {}", u16::from(other)),
    }
}

struct Joined<'a>(&'a [IpAddr]);

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::Record;
    use hickory_proto::rr::rdata::{A, TXT};

    fn custom(
        name: Option<&str>,
        server: Option<&str>,
        family: Family,
    ) -> Result<DnsSource, SpecError> {
        DnsSource::new(None, name, None, None, server, family)
    }

    #[test]
    fn presets_and_overrides() {
        let s = DnsSource::new(
            Some(DnsService::Cloudflare),
            None,
            None,
            None,
            None,
            Family::V6,
        )
        .unwrap();
        assert_eq!(s.describe(), "cloudflare @[2606:4700:4700::1111]:53");
        assert_eq!(s.class, DNSClass::CH);
        let s = DnsSource::new(
            Some(DnsService::OpenDns),
            None,
            None,
            None,
            Some("127.0.0.1:5300"),
            Family::V4,
        )
        .unwrap();
        assert_eq!(s.describe(), "opendns @127.0.0.1:5300");
        assert_eq!(s.qtype, RecordType::A);
        let e = DnsSource::new(
            Some(DnsService::Google),
            Some("x.example"),
            None,
            None,
            None,
            Family::V4,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "name: cannot be combined with service = \"google\"; drop one of them"
        );
    }

    #[test]
    fn custom_queries() {
        assert_eq!(
            custom(Some("whoami.example"), None, Family::V4)
                .unwrap_err()
                .to_string(),
            "server: required when no service is given"
        );
        assert!(custom(None, Some("192.0.2.53"), Family::V4).is_err());
        let e = custom(Some("whoami.example"), Some("192.0.2.53"), Family::V6).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("server 192.0.2.53:53 is not an IPv6 address"),
            "{e}"
        );
        let e = custom(Some("bad..name"), Some("192.0.2.53"), Family::V4).unwrap_err();
        assert!(e.to_string().starts_with("name: \"bad..name\""), "{e}");
        let e = DnsSource::new(
            None,
            Some("w.example"),
            Some(DnsQueryType::A),
            None,
            Some("::1"),
            Family::V6,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "qtype \"A\" cannot give an IPv6 address");
        let s = custom(Some("w.example"), Some("2001:db8::53"), Family::V6).unwrap();
        assert_eq!(s.describe(), "w.example. AAAA IN @[2001:db8::53]:53");
    }

    #[test]
    fn txt_strings_that_are_not_addresses_are_skipped() {
        let name = Name::from_ascii("o-o.myaddr.l.google.com.").unwrap();
        let mut m = Message::response(1, hickory_proto::op::OpCode::Query);
        m.add_answer(Record::from_rdata(
            name.clone(),
            60,
            RData::TXT(TXT::new(vec!["edns0-client-subnet 198.51.100.0/24".into()])),
        ));
        m.add_answer(Record::from_rdata(
            name.clone(),
            60,
            RData::TXT(TXT::new(vec!["\"203.0.113.7\"".into()])),
        ));
        m.add_answer(Record::from_rdata(name, 60, RData::A(A::new(192, 0, 2, 1))));
        let found = addresses_in(&m, RecordType::TXT, Family::V4);
        assert_eq!(found, vec!["203.0.113.7".parse::<IpAddr>().unwrap()]);
        assert!(addresses_in(&m, RecordType::TXT, Family::V6).is_empty());
        assert_eq!(addresses_in(&m, RecordType::A, Family::V4).len(), 1);
    }
}
