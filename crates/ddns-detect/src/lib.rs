//! Public IP detection for the ddns agent: where the address to publish comes from, whether it
//! is fit to publish, and whether enough sources agree on it.
//!
//! Users' most common complaints about today's clients are a wrong or flip-flopping detected
//! address (echo services that disagree, an anycast address or an empty string written to DNS)
//! and the wrong IPv6 address picked from an interface (temporary instead of stable, ULA
//! instead of global). This crate answers both with explicit rules: every source's answer is
//! parsed strictly, checked against the address classes the user accepts, and published only
//! when a quorum of sources agree.
//!
//! - [`source`]: the configurable sources ([`SourceSpec`] as written in TOML, [`Source`]
//!   validated) and the error of one detection ([`DetectError`]);
//! - [`http_echo`], [`dns`], [`interface`], [`upnp`], [`command`]: one module per kind of source;
//! - [`address_selection`]: which interface address to publish (temporary, deprecated, ULA…);
//! - [`classify`](mod@classify): which special-purpose block an address is in ([`AddressClass`]);
//! - [`consensus`]: querying all sources at once and the verdict ([`detect`], [`Report`]);
//! - [`defaults`]: the built-in public sources;
//! - [`watch`]: interface address change events.
//!
//! **Invariant:** nothing here writes anything anywhere; the agent decides what to do with a
//! [`Report`]. A failed or rejected detection is never turned into an address.

pub mod address_selection;
pub mod classify;
pub mod command;
pub mod consensus;
pub mod defaults;
pub mod dns;
pub mod http_echo;
pub mod interface;
pub mod source;
pub mod upnp;
pub mod watch;

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use address_selection::Ipv6Selection;
pub use classify::{AddressClass, AllowedClasses, classify};
pub use consensus::{FailReason, Observation, Policy, Report, Tally, Verdict, detect};
pub use dns::{
    DnsClass, DnsQueryType, DnsService, Lookup, authoritative_servers, lookup, query_addresses,
};
pub use interface::system_resolvers;
pub use source::{DetectError, Source, SourceSpec, SpecError};
pub use watch::{AddressChange, InterfaceEvents, WatchError};

/// An address family: which record (A or AAAA) a detection is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Family {
    /// IPv4, published as A records.
    #[serde(rename = "ipv4")]
    V4,
    /// IPv6, published as AAAA records.
    #[serde(rename = "ipv6")]
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(_) => Self::V4,
            IpAddr::V6(_) => Self::V6,
        }
    }

    /// Whether `address` is of this family.
    pub fn matches(self, address: IpAddr) -> bool {
        Self::of(address) == self
    }

    /// The unspecified address of this family (`0.0.0.0` or `::`), used to bind sockets so
    /// that traffic leaves over this family only.
    pub fn unspecified(self) -> IpAddr {
        match self {
            Self::V4 => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            Self::V6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        }
    }

    /// The name used in configuration and JSON: `ipv4` or `ipv6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V4 => "ipv4",
            Self::V6 => "ipv6",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_names() {
        assert_eq!(serde_json::to_string(&Family::V6).unwrap(), "\"ipv6\"");
        let f: Family = serde_json::from_str("\"ipv4\"").unwrap();
        assert_eq!(f, Family::V4);
        assert!(serde_json::from_str::<Family>("\"v4\"").is_err());
        assert!(Family::V6.matches("::1".parse().unwrap()));
        assert!(!Family::V4.matches("::1".parse().unwrap()));
        assert_eq!(Family::V4.to_string(), "IPv4");
    }
}
