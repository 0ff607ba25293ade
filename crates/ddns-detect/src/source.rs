//! Detection sources: how they are written in configuration ([`SourceSpec`]), how they are
//! validated for one address family ([`Source`]), and how one detection fails
//! ([`DetectError`]).
//!
//! A spec is validated against the family it will detect, because several mistakes are only
//! visible then: UPnP reports IPv4 only, an `interface_id` only makes sense for IPv6, a DNS
//! server reached over IPv4 reports the IPv4 address. Such mistakes are configuration errors
//! ([`SpecError`]), reported once at startup, not failures on every run.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Family;
use crate::classify::AddressClass;
use crate::command::CommandSource;
use crate::dns::{DnsClass, DnsQueryType, DnsService, DnsSource};
use crate::http_echo::HttpEcho;
use crate::interface::{InterfaceSource, Ipv6Selection};
use crate::upnp::UpnpSource;

/// The `User-Agent` of every HTTP request: echo services block anonymous clients.
pub const USER_AGENT: &str = concat!("ddns/", env!("CARGO_PKG_VERSION"));

/// One source as written in the agent's configuration, e.g.
/// `{ kind = "http", url = "https://api.ipify.org" }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceSpec {
    /// A plain-text echo service: the body is the address, nothing else.
    Http {
        /// `http://` or `https://` URL.
        url: String,
    },
    /// A DNS query whose answer is the asker's address: a preset `service`, or a custom
    /// `name` + `server` (+ `qtype`, `class`).
    Dns {
        /// `opendns`, `cloudflare` or `google`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<DnsService>,
        /// The name to query (custom queries only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// `a`, `aaaa` or `txt`; default: `a`/`aaaa` by family (custom queries only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        qtype: Option<DnsQueryType>,
        /// `in` or `ch`; default `in` (custom queries only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        class: Option<DnsClass>,
        /// `ADDRESS` or `ADDRESS:PORT` of the server; overrides a preset's server.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server: Option<String>,
    },
    /// An address of a local interface.
    Interface {
        /// Interface name, exact or a glob with `*` and `?` (`eth*`, `ppp?`).
        name: String,
        /// Which IPv6 addresses qualify.
        #[serde(default)]
        ipv6: Ipv6Selection,
        /// IPv6 only: publish the selected address's prefix with this interface ID (the low
        /// `128 - prefix_len` bits), e.g. for a LAN host behind a delegated prefix.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interface_id: Option<Ipv6Addr>,
        /// Length of the prefix kept with `interface_id`; default 64.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix_len: Option<u8>,
    },
    /// The WAN address a UPnP IGD router reports (IPv4 only).
    Upnp {
        /// `ADDRESS[:PORT]` to send the SSDP search to; default the SSDP multicast group.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gateway: Option<String>,
    },
    /// A program (run directly, no shell) that prints the address.
    Command {
        /// Path or name of the program.
        program: String,
        /// Its arguments.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        args: Vec<String>,
        /// Variables of the agent's environment passed to the program, besides `PATH`, `HOME`,
        /// `LANG`, `LC_*` (and on Windows `SystemRoot`, `windir`, `ComSpec`, `PATHEXT`,
        /// `TEMP`, `TMP`); nothing else of the agent's environment reaches it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        env: Vec<String>,
    },
    /// A fixed address.
    Fixed {
        /// The address.
        address: IpAddr,
    },
}

/// Why a [`SourceSpec`] cannot be used; one sentence, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// A field has a bad value.
    #[error("{field}: {reason}")]
    Invalid {
        /// The TOML key.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The source cannot detect addresses of this family.
    #[error("{0}")]
    Family(String),
    /// The HTTP client could not be built (TLS set-up).
    #[error("could not set up the HTTP client: {0}")]
    HttpClient(String),
}

impl SpecError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// Why one source gave no usable address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    /// The source did not answer in time.
    #[error("no answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// Connecting or talking to the source failed.
    #[error("{0}")]
    Network(String),
    /// The echo service answered with a non-2xx status.
    #[error("HTTP status {0}")]
    HttpStatus(u16),
    /// The answer is not exactly one IP address.
    #[error("answer is not one IP address: {0}")]
    BadAnswer(String),
    /// The answer is an address of the other family.
    #[error("answered {address}, but an {wanted} address was asked for")]
    WrongFamily {
        /// What the source said.
        address: IpAddr,
        /// The family detected.
        wanted: Family,
    },
    /// The DNS server answered, but not with one address.
    #[error("{0}")]
    Dns(String),
    /// No interface address passes the selection.
    #[error("{0}")]
    NoAddress(String),
    /// Discovery or control of the UPnP router failed.
    #[error("UPnP: {0}")]
    Upnp(String),
    /// The program could not run or failed.
    #[error("{0}")]
    Command(String),
    /// The source cannot detect this family.
    #[error("{0}")]
    Unsupported(String),
    /// The detection failed inside ddns (a bug).
    #[error("internal error: {0}")]
    Internal(String),
    /// The address is of a class the policy does not accept.
    #[error("{address} is a{} {class} address, not accepted{}", article(*class), hint(*class))]
    Rejected {
        /// What the source said.
        address: IpAddr,
        /// Its class.
        class: AddressClass,
    },
}

fn article(class: AddressClass) -> &'static str {
    match class.as_str().as_bytes().first() {
        Some(b'a' | b'e' | b'i' | b'o' | b'u') => "n",
        _ => "",
    }
}

fn hint(class: AddressClass) -> String {
    if class.can_be_allowed() {
        format!(" (allow = [\"{class}\"] accepts it)")
    } else {
        String::new()
    }
}

impl DetectError {
    /// A stable one-word name of the variant, for JSON output and metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "timeout",
            Self::Network(_) => "network",
            Self::HttpStatus(_) => "http_status",
            Self::BadAnswer(_) => "bad_answer",
            Self::WrongFamily { .. } => "wrong_family",
            Self::Dns(_) => "dns",
            Self::NoAddress(_) => "no_address",
            Self::Upnp(_) => "upnp",
            Self::Command(_) => "command",
            Self::Unsupported(_) => "unsupported",
            Self::Internal(_) => "internal",
            Self::Rejected { .. } => "rejected",
        }
    }
}

/// A validated source, ready to query. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Source {
    label: String,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    Http(HttpEcho),
    Dns(DnsSource),
    Interface(InterfaceSource),
    Upnp(UpnpSource),
    Command(CommandSource),
    Fixed(IpAddr),
}

impl Source {
    /// Validates a spec for detecting `family`.
    pub fn from_spec(spec: &SourceSpec, family: Family) -> Result<Self, SpecError> {
        let kind = match spec {
            SourceSpec::Http { url } => Kind::Http(HttpEcho::new(url, family)?),
            SourceSpec::Dns {
                service,
                name,
                qtype,
                class,
                server,
            } => Kind::Dns(DnsSource::new(
                *service,
                name.as_deref(),
                *qtype,
                *class,
                server.as_deref(),
                family,
            )?),
            SourceSpec::Interface {
                name,
                ipv6,
                interface_id,
                prefix_len,
            } => Kind::Interface(InterfaceSource::new(
                name,
                *ipv6,
                *interface_id,
                *prefix_len,
                family,
            )?),
            SourceSpec::Upnp { gateway } => {
                Kind::Upnp(UpnpSource::new(gateway.as_deref(), family)?)
            }
            SourceSpec::Command { program, args, env } => {
                Kind::Command(CommandSource::new(program, args, env)?)
            }
            SourceSpec::Fixed { address } => {
                if !family.matches(*address) {
                    return Err(SpecError::Family(format!(
                        "fixed address {address} is not an {family} address"
                    )));
                }
                Kind::Fixed(*address)
            }
        };
        let label = match &kind {
            Kind::Http(h) => format!("http {}", h.url()),
            Kind::Dns(d) => format!("dns {}", d.describe()),
            Kind::Interface(i) => format!("interface {}", i.describe()),
            Kind::Upnp(u) => format!("upnp {}", u.describe()),
            Kind::Command(c) => format!("command {}", c.describe()),
            Kind::Fixed(a) => format!("fixed {a}"),
        };
        Ok(Self { label, kind })
    }

    /// A human label such as `http https://api.ipify.org/`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Whether the source reads local state (interfaces, a fixed address) rather than asking
    /// something outside the host. Consensus counts both alike; the agent may use this to
    /// choose a quorum of 1 when it has only local sources.
    pub fn is_local(&self) -> bool {
        matches!(self.kind, Kind::Interface(_) | Kind::Fixed(_))
    }

    /// Asks the source once, giving up after `timeout`. An answer of the wrong family is an
    /// error; the address class is not checked here (that is the [`crate::Policy`]'s job).
    pub async fn detect(&self, family: Family, timeout: Duration) -> Result<IpAddr, DetectError> {
        let ask = async {
            match &self.kind {
                Kind::Http(h) => h.detect(family).await,
                Kind::Dns(d) => d.detect(family).await,
                Kind::Interface(i) => i.detect(family).await,
                Kind::Upnp(u) => u.detect(family).await,
                Kind::Command(c) => c.detect(family).await,
                Kind::Fixed(a) => Ok(*a),
            }
        };
        let address = tokio::time::timeout(timeout, ask)
            .await
            .map_err(|_| DetectError::Timeout(timeout))??;
        if !family.matches(address) {
            return Err(DetectError::WrongFamily {
                address,
                wanted: family,
            });
        }
        Ok(address)
    }
}

/// Parses an answer that must be exactly one address of `family` (surrounding whitespace is
/// ignored; an IPv4-mapped IPv6 form counts as the IPv4 address).
pub(crate) fn parse_one_address(text: &str, family: Family) -> Result<IpAddr, DetectError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DetectError::BadAnswer("empty answer".into()));
    }
    let words = text.split_whitespace().count();
    if words > 1 {
        return Err(DetectError::BadAnswer(format!(
            "{words} words in {}",
            snippet(text)
        )));
    }
    let address = text
        .parse::<IpAddr>()
        .map_err(|_| DetectError::BadAnswer(snippet(text)))?
        .to_canonical();
    if !family.matches(address) {
        return Err(DetectError::WrongFamily {
            address,
            wanted: family,
        });
    }
    Ok(address)
}

/// The start of an untrusted text, quoted and escaped, for error messages.
pub(crate) fn snippet(text: &str) -> String {
    const MAX: usize = 48;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

/// An error and its causes, `outer: inner: innermost`, for errors (reqwest, io) whose
/// `Display` hides the useful part in `source()`.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = e.source();
    }
    text
}

/// Parses `ADDRESS` or `ADDRESS:PORT` (IPv6 as `[ADDRESS]:PORT`) with a default port.
pub(crate) fn parse_socket_addr(
    field: &'static str,
    text: &str,
    default_port: u16,
) -> Result<SocketAddr, SpecError> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, default_port));
    }
    Err(SpecError::invalid(
        field,
        format!("{text:?} is not an IP address or ADDRESS:PORT (host names are not accepted)"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_address_only() {
        let v4 = |s| parse_one_address(s, Family::V4);
        assert_eq!(v4(" 203.0.113.9\r\n").unwrap().to_string(), "203.0.113.9");
        assert_eq!(v4("::ffff:203.0.113.9").unwrap().to_string(), "203.0.113.9");
        assert!(matches!(v4(""), Err(DetectError::BadAnswer(_))));
        assert!(matches!(v4(" \n"), Err(DetectError::BadAnswer(_))));
        assert!(matches!(
            v4("1.2.3.4 5.6.7.8"),
            Err(DetectError::BadAnswer(_))
        ));
        assert!(matches!(
            v4("<html>1.2.3.4</html>"),
            Err(DetectError::BadAnswer(_))
        ));
        assert!(matches!(v4("1.2.3.4/24"), Err(DetectError::BadAnswer(_))));
        assert!(matches!(
            v4("2001:db8::1"),
            Err(DetectError::WrongFamily { .. })
        ));
        let e = parse_one_address("fe80::1%eth0", Family::V6).unwrap_err();
        assert!(e.to_string().contains("fe80::1%eth0"), "{e}");
    }

    #[test]
    fn snippets_are_bounded() {
        let long = "x".repeat(1000);
        assert!(snippet(&long).len() < 60);
        assert_eq!(snippet("a\"b"), r#""a\"b""#);
    }

    #[test]
    fn spec_toml_shapes() {
        #[derive(Debug, Deserialize)]
        struct List {
            source: Vec<SourceSpec>,
        }
        let list: List = toml::from_str(
            r#"
            source = [
              { kind = "http", url = "https://api.ipify.org" },
              { kind = "dns", service = "opendns" },
              { kind = "dns", name = "whoami.example", qtype = "txt", server = "192.0.2.53" },
              { kind = "interface", name = "eth*", ipv6 = { allow_temporary = true } },
              { kind = "upnp" },
              { kind = "command", program = "/usr/local/bin/wan-ip", args = ["--v4"] },
              { kind = "fixed", address = "203.0.113.1" },
            ]"#,
        )
        .unwrap();
        assert_eq!(list.source.len(), 7);
        assert!(
            matches!(&list.source[3], SourceSpec::Interface { ipv6, .. } if ipv6.allow_temporary)
        );
        let unknown = toml::from_str::<List>(r#"source = [{ kind = "http", uri = "x" }]"#);
        assert!(unknown.unwrap_err().to_string().contains("uri"));
        let typo = toml::from_str::<List>(r#"source = [{ kind = "fixed", address = "1.2.3" }]"#);
        assert!(typo.is_err());
        let nested =
            r#"source = [{ kind = "interface", name = "e", ipv6 = { allow_tmp = true } }]"#;
        assert!(toml::from_str::<List>(nested).is_err());
    }

    #[test]
    fn family_mismatches_are_config_errors() {
        let fixed = SourceSpec::Fixed {
            address: "2001:db8::1".parse().unwrap(),
        };
        let e = Source::from_spec(&fixed, Family::V4).unwrap_err();
        assert_eq!(
            e.to_string(),
            "fixed address 2001:db8::1 is not an IPv4 address"
        );
        let s = Source::from_spec(&fixed, Family::V6).unwrap();
        assert!(s.is_local());
        assert_eq!(s.label(), "fixed 2001:db8::1");
    }

    #[test]
    fn socket_addrs() {
        let p = |s| parse_socket_addr("server", s, 53);
        assert_eq!(p("192.0.2.1").unwrap().to_string(), "192.0.2.1:53");
        assert_eq!(p("192.0.2.1:5353").unwrap().to_string(), "192.0.2.1:5353");
        assert_eq!(p("2001:db8::1").unwrap().to_string(), "[2001:db8::1]:53");
        assert_eq!(
            p("[2001:db8::1]:99").unwrap().to_string(),
            "[2001:db8::1]:99"
        );
        let e = p("dns.example").unwrap_err().to_string();
        assert!(e.starts_with("server: \"dns.example\""), "{e}");
    }

    #[test]
    fn rejection_messages() {
        let e = DetectError::Rejected {
            address: "10.0.0.1".parse().unwrap(),
            class: AddressClass::Private,
        };
        assert_eq!(
            e.to_string(),
            "10.0.0.1 is a private address, not accepted (allow = [\"private\"] accepts it)"
        );
        let e = DetectError::Rejected {
            address: "0.0.0.0".parse().unwrap(),
            class: AddressClass::Unspecified,
        };
        assert_eq!(
            e.to_string(),
            "0.0.0.0 is an unspecified address, not accepted"
        );
    }

    proptest! {
        #[test]
        fn any_address_round_trips(bits: u128, v4: bool, pad in "[ \t\r\n]{0,3}") {
            let address = if v4 {
                IpAddr::V4(std::net::Ipv4Addr::from(bits as u32))
            } else {
                IpAddr::V6(Ipv6Addr::from(bits)).to_canonical()
            };
            let text = format!("{pad}{address}{pad}");
            prop_assert_eq!(parse_one_address(&text, Family::of(address)).unwrap(), address);
            let two = format!("{address} {address}");
            prop_assert!(parse_one_address(&two, Family::of(address)).is_err());
        }

        #[test]
        fn garbage_never_panics(text in ".{0,80}") {
            let _ = parse_one_address(&text, Family::V4);
            let _ = parse_one_address(&text, Family::V6);
        }
    }
}
