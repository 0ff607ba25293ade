//! The DynDNS2 update protocol: request parameters and return codes, without HTTP.
//!
//! The de-facto specification is Dyn's "Perform Update" and "Return Codes" pages, with the
//! extensions routers and ddclient rely on (`myip=v4,v6`, `myipv6`, `offline`).
//!
//! ```text
//! If updating multiple hostnames, hostname-specific return codes are given one per line, in
//! the same order as the hostnames were specified. Return codes indicating a failure with the
//! account or the system are given only once.                           (help.dyn.com/return-codes)
//! ```
//! ddns treats a request as one transaction: if any hostname is malformed or not the caller's,
//! nothing changes and that code is returned once; otherwise every host gets its own
//! `good`/`nochg` line.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::name::DomainName;
use crate::record::{MAX_VALUES, RecordError, parse_ipv4, parse_ipv6};

/// Most hostnames in one request (Dyn's limit; more gives `numhost`).
pub const MAX_HOSTNAMES: usize = 20;

/// A DynDNS2 return code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReturnCode {
    /// The update changed the host.
    Good,
    /// The host already had these addresses.
    Nochg,
    /// Missing or wrong credentials.
    Badauth,
    /// A hostname is not a fully qualified domain name.
    Notfqdn,
    /// A hostname is not in a zone served here, or not in the token's scope.
    Nohost,
    /// More than 20 hostnames.
    Numhost,
    /// The host or token is blocked for sending too many updates.
    Abuse,
    /// The user agent is blocked.
    Badagent,
    /// The update could not be applied (bad address, conflicting records, store busy).
    Dnserr,
    /// A server-side failure; clients wait at least 30 minutes.
    ServerError,
}

impl ReturnCode {
    /// The code as it appears in the reply body.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Nochg => "nochg",
            Self::Badauth => "badauth",
            Self::Notfqdn => "notfqdn",
            Self::Nohost => "nohost",
            Self::Numhost => "numhost",
            Self::Abuse => "abuse",
            Self::Badagent => "badagent",
            Self::Dnserr => "dnserr",
            Self::ServerError => "911",
        }
    }

    /// Parses a reply code (the first word of a reply line), as clients do.
    pub fn parse(word: &str) -> Option<Self> {
        [
            Self::Good,
            Self::Nochg,
            Self::Badauth,
            Self::Notfqdn,
            Self::Nohost,
            Self::Numhost,
            Self::Abuse,
            Self::Badagent,
            Self::Dnserr,
            Self::ServerError,
        ]
        .into_iter()
        .find(|c| c.as_str() == word)
    }
}

impl fmt::Display for ReturnCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The query parameters of an update, as received.
#[derive(Clone, Debug, Default)]
pub struct RawUpdate<'a> {
    /// `hostname`: comma-separated names.
    pub hostname: Option<&'a str>,
    /// `myip`: one or more comma-separated addresses of either family.
    pub myip: Option<&'a str>,
    /// `myipv6`: IPv6 address(es).
    pub myipv6: Option<&'a str>,
    /// `offline`: `YES` removes the addresses.
    pub offline: Option<&'a str>,
    /// The Basic-auth user name: the hostname when `hostname` is absent (nsupdate.info style).
    pub basic_user: Option<&'a str>,
}

/// Where one address family's new value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressChoice<T> {
    /// Addresses given in the request.
    Given(Vec<T>),
    /// The address the request came from, if it is of this family.
    FromConnection,
    /// Leave this family's records alone.
    Keep,
}

/// A validated update request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateRequest {
    /// The hosts, in request order.
    pub hostnames: Vec<DomainName>,
    /// What to do with A records.
    pub ipv4: AddressChoice<Ipv4Addr>,
    /// What to do with AAAA records.
    pub ipv6: AddressChoice<Ipv6Addr>,
    /// Remove the host's addresses.
    pub offline: bool,
}

/// Why a request is refused before anything is looked up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// No hostname, or a malformed one.
    #[error("{0}")]
    NotFqdn(String),
    /// More than [`MAX_HOSTNAMES`] hostnames.
    #[error("{0} hostnames given; at most {MAX_HOSTNAMES} per request")]
    TooManyHosts(usize),
    /// An address parameter that is not an address.
    #[error("{0}")]
    BadAddress(String),
}

impl RequestError {
    /// The DynDNS2 code this error is reported with.
    pub fn code(&self) -> ReturnCode {
        match self {
            Self::NotFqdn(_) => ReturnCode::Notfqdn,
            Self::TooManyHosts(_) => ReturnCode::Numhost,
            Self::BadAddress(_) => ReturnCode::Dnserr,
        }
    }
}

/// The addresses of a view's parameter (`myip.VIEW=`, the split-horizon extension): a
/// comma-separated list of either family; empty means "remove the view's own addresses".
pub fn view_addresses(text: &str) -> Result<(Vec<Ipv4Addr>, Vec<Ipv6Addr>), RequestError> {
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    if !is_blank_list(text.trim()) {
        split_addresses(text.trim(), &mut v4, &mut v6)?;
    }
    Ok((v4, v6))
}

impl UpdateRequest {
    /// Validates the raw parameters.
    pub fn parse(raw: &RawUpdate<'_>) -> Result<Self, RequestError> {
        let hostnames = parse_hostnames(raw)?;
        let offline = raw.offline.is_some_and(|v| v.eq_ignore_ascii_case("yes"));

        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        let myip = raw.myip.map(str::trim).unwrap_or("");
        let myip_given = !is_blank_list(myip) && !myip.eq_ignore_ascii_case("no");
        if myip_given {
            split_addresses(myip, &mut v4, &mut v6)?;
        }
        let myipv6 = raw.myipv6.map(str::trim).unwrap_or("");
        let myipv6_keep = myipv6.eq_ignore_ascii_case("no");
        if !myipv6.is_empty() && !myipv6_keep {
            if !v6.is_empty() {
                return Err(RequestError::BadAddress(
                    "IPv6 given in both myip and myipv6".into(),
                ));
            }
            for item in myipv6.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                v6.push(parse_ipv6(item).map_err(address_error)?);
            }
        }
        if v4.len() > MAX_VALUES || v6.len() > MAX_VALUES {
            return Err(RequestError::BadAddress(format!(
                "at most {MAX_VALUES} addresses per family"
            )));
        }

        // An absent or empty myip means "use the connection's address" (ddclient 3.10 sends
        // `myip=` with some settings); `myip=no` / `myipv6=no` leave that family alone.
        let myip_auto = raw.myip.is_none_or(is_blank_list);
        let ipv4 = if !v4.is_empty() {
            AddressChoice::Given(v4)
        } else if myip_auto {
            AddressChoice::FromConnection
        } else {
            AddressChoice::Keep
        };
        let ipv6 = if !v6.is_empty() {
            AddressChoice::Given(v6)
        } else if myip_auto && !myipv6_keep {
            AddressChoice::FromConnection
        } else {
            AddressChoice::Keep
        };
        Ok(Self {
            hostnames,
            ipv4,
            ipv6,
            offline,
        })
    }

    /// Resolves "from the connection" against the client's address: the addresses to set per
    /// family, `None` for a family left alone.
    pub fn addresses_for(&self, client: IpAddr) -> (Option<Vec<Ipv4Addr>>, Option<Vec<Ipv6Addr>>) {
        let client = match client {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
            v4 => v4,
        };
        let v4 = match &self.ipv4 {
            AddressChoice::Given(list) => Some(list.clone()),
            AddressChoice::FromConnection => match client {
                IpAddr::V4(a) if parse_ipv4(&a.to_string()).is_ok() => Some(vec![a]),
                _ => None,
            },
            AddressChoice::Keep => None,
        };
        let v6 = match &self.ipv6 {
            AddressChoice::Given(list) => Some(list.clone()),
            AddressChoice::FromConnection => match client {
                IpAddr::V6(a) if parse_ipv6(&a.to_string()).is_ok() => Some(vec![a]),
                _ => None,
            },
            AddressChoice::Keep => None,
        };
        (v4, v6)
    }
}

fn parse_hostnames(raw: &RawUpdate<'_>) -> Result<Vec<DomainName>, RequestError> {
    let list = match raw.hostname.map(str::trim) {
        Some(h) if !h.is_empty() && !h.eq_ignore_ascii_case("yes") => h,
        _ => match raw.basic_user.map(str::trim) {
            Some(u) if u.contains('.') && !u.contains('@') => u,
            _ => return Err(RequestError::NotFqdn("no hostname given".into())),
        },
    };
    let items: Vec<&str> = list.split(',').map(str::trim).collect();
    if items.len() > MAX_HOSTNAMES {
        return Err(RequestError::TooManyHosts(items.len()));
    }
    items
        .into_iter()
        .map(|item| {
            let name = DomainName::parse(item)
                .map_err(|e| RequestError::NotFqdn(format!("hostname {item:?}: {e}")))?;
            if name.label_count() < 2 {
                return Err(RequestError::NotFqdn(format!(
                    "hostname {item:?} is not fully qualified"
                )));
            }
            Ok(name)
        })
        .collect()
}

fn split_addresses(
    list: &str,
    v4: &mut Vec<Ipv4Addr>,
    v6: &mut Vec<Ipv6Addr>,
) -> Result<(), RequestError> {
    // Routers fill `myip=<ipaddr>,<ip6addr>` from templates; a line without IPv6 leaves the
    // second one empty (FRITZ!Box), which means "no address", not a malformed one.
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        if item.contains(':') {
            v6.push(parse_ipv6(item).map_err(address_error)?);
        } else {
            v4.push(parse_ipv4(item).map_err(address_error)?);
        }
    }
    Ok(())
}

/// Empty, or only commas and spaces.
fn is_blank_list(value: &str) -> bool {
    value.split(',').all(|item| item.trim().is_empty())
}

fn address_error(e: RecordError) -> RequestError {
    RequestError::BadAddress(e.to_string())
}

/// One reply line for a host: `good 192.0.2.1`, `nochg 192.0.2.1,2001:db8::1`, or the code alone
/// when no address was set (offline).
pub fn reply_line(code: ReturnCode, v4: &[Ipv4Addr], v6: &[Ipv6Addr]) -> String {
    let addrs: Vec<String> = v4
        .iter()
        .map(ToString::to_string)
        .chain(v6.iter().map(ToString::to_string))
        .collect();
    if addrs.is_empty() {
        code.as_str().to_owned()
    } else {
        format!("{} {}", code.as_str(), addrs.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw<'a>(hostname: &'a str, myip: Option<&'a str>) -> RawUpdate<'a> {
        RawUpdate {
            hostname: Some(hostname),
            myip,
            ..RawUpdate::default()
        }
    }

    #[test]
    fn dual_stack_in_one_parameter() {
        let r = UpdateRequest::parse(&raw("h.dyn.example", Some("192.0.2.1,2001:db8::1"))).unwrap();
        assert_eq!(
            r.ipv4,
            AddressChoice::Given(vec!["192.0.2.1".parse().unwrap()])
        );
        assert_eq!(
            r.ipv6,
            AddressChoice::Given(vec!["2001:db8::1".parse().unwrap()])
        );
    }

    #[test]
    fn v4_only_keeps_v6() {
        let r = UpdateRequest::parse(&raw("h.dyn.example", Some("192.0.2.1"))).unwrap();
        assert_eq!(r.ipv6, AddressChoice::Keep);
        let (v4, v6) = r.addresses_for("2001:db8::5".parse().unwrap());
        assert_eq!(v4.unwrap().len(), 1);
        assert_eq!(v6, None);
    }

    #[test]
    fn empty_myip_uses_the_connection() {
        for myip in [None, Some(""), Some("  ")] {
            let r = UpdateRequest::parse(&raw("h.dyn.example", myip)).unwrap();
            let (v4, v6) = r.addresses_for("198.51.100.7".parse().unwrap());
            assert_eq!(v4, Some(vec!["198.51.100.7".parse().unwrap()]));
            assert_eq!(v6, None);
            let (v4, v6) = r.addresses_for("::ffff:198.51.100.8".parse().unwrap());
            assert_eq!(v4, Some(vec!["198.51.100.8".parse().unwrap()]));
            assert_eq!(v6, None);
        }
    }

    #[test]
    fn empty_template_slots_are_no_address() {
        let r = UpdateRequest::parse(&raw("h.dyn.example", Some("192.0.2.1,"))).unwrap();
        assert_eq!(
            r.ipv4,
            AddressChoice::Given(vec!["192.0.2.1".parse().unwrap()])
        );
        assert_eq!(r.ipv6, AddressChoice::Keep);
        let r = UpdateRequest::parse(&raw("h.dyn.example", Some(",2001:db8::1"))).unwrap();
        assert_eq!(r.ipv4, AddressChoice::Keep);
        let r = UpdateRequest::parse(&raw("h.dyn.example", Some(" , "))).unwrap();
        assert_eq!(r.ipv4, AddressChoice::FromConnection);
    }

    #[test]
    fn myipv6_and_no() {
        let mut r = raw("h.dyn.example", Some("no"));
        r.myipv6 = Some("2001:db8::9");
        let r = UpdateRequest::parse(&r).unwrap();
        assert_eq!(r.ipv4, AddressChoice::Keep);
        assert!(matches!(r.ipv6, AddressChoice::Given(_)));
        let mut both = raw("h.dyn.example", Some("2001:db8::1"));
        both.myipv6 = Some("2001:db8::2");
        assert!(matches!(
            UpdateRequest::parse(&both),
            Err(RequestError::BadAddress(_))
        ));
    }

    #[test]
    fn error_codes() {
        let code = |r: RawUpdate<'_>| UpdateRequest::parse(&r).unwrap_err().code();
        assert_eq!(code(raw("", None)), ReturnCode::Notfqdn);
        assert_eq!(code(raw("localhost", None)), ReturnCode::Notfqdn);
        assert_eq!(code(raw("a..b", None)), ReturnCode::Notfqdn);
        assert_eq!(code(raw("a.b,", None)), ReturnCode::Notfqdn);
        let many = vec!["h.dyn.example"; 21].join(",");
        assert_eq!(code(raw(&many, None)), ReturnCode::Numhost);
        assert_eq!(code(raw("h.dyn.example", Some("1234"))), ReturnCode::Dnserr);
        assert_eq!(
            code(raw("h.dyn.example", Some("192.0.2.1/24"))),
            ReturnCode::Dnserr
        );
        let twenty = vec!["h.dyn.example"; 20].join(",");
        assert!(UpdateRequest::parse(&raw(&twenty, None)).is_ok());
    }

    #[test]
    fn hostname_from_basic_user() {
        let r = RawUpdate {
            basic_user: Some("Home.Dyn.Example"),
            ..RawUpdate::default()
        };
        let req = UpdateRequest::parse(&r).unwrap();
        assert_eq!(req.hostnames[0].as_str(), "home.dyn.example");
        let r = RawUpdate {
            basic_user: Some("user@example.com"),
            ..RawUpdate::default()
        };
        assert!(UpdateRequest::parse(&r).is_err());
    }

    #[test]
    fn reply_lines() {
        let v4 = ["192.0.2.1".parse().unwrap()];
        let v6 = ["2001:db8::1".parse().unwrap()];
        assert_eq!(reply_line(ReturnCode::Good, &v4, &[]), "good 192.0.2.1");
        assert_eq!(
            reply_line(ReturnCode::Nochg, &v4, &v6),
            "nochg 192.0.2.1,2001:db8::1"
        );
        assert_eq!(reply_line(ReturnCode::Good, &[], &[]), "good");
        assert_eq!(ReturnCode::parse("911"), Some(ReturnCode::ServerError));
    }
}
