//! The one trait every DNS provider implements, and the update it is asked to publish.
//!
//! The agent decides *what* to publish (detection, consensus, diff against the last published
//! state); a provider only knows *how* to tell one service about it and how to read the answer.
//! Cloud APIs (Cloudflare, AliDNS, DNSPod, Huawei, Route 53) and RFC 2136 come later behind the
//! same trait, so it speaks in names and address sets, never in one protocol's terms.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use async_trait::async_trait;
use ddns_core::DomainName;

use crate::outcome::Outcome;

/// A DNS service the agent publishes addresses to.
///
/// `publish` never panics and never returns early without an [`Outcome`]: every network error,
/// timeout and unexpected answer is classified, so the agent's policy stays in one place.
#[async_trait]
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// A short name for logs and messages: `ddns`, `noip`, `dynu`, `webhook`, ….
    fn name(&self) -> &str;

    /// What this provider can publish.
    fn capabilities(&self) -> Capabilities;

    /// Publishes the update and classifies the answer.
    async fn publish(&self, update: &Update) -> Outcome;
}

/// The new state of one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    /// The name to update.
    pub hostname: DomainName,
    /// The IPv4 addresses (A records); `None` leaves them as they are at the provider.
    pub ipv4: Option<Vec<Ipv4Addr>>,
    /// The IPv6 addresses (AAAA records); `None` leaves them as they are at the provider.
    pub ipv6: Option<Vec<Ipv6Addr>>,
    /// The TTL to ask for, where the provider lets clients choose.
    pub ttl: Option<u32>,
    /// Split-horizon views' own addresses, `(view, addresses)`, published in the same
    /// request (only a ddns server takes them; the agent's configuration refuses them for
    /// other providers).
    pub views: Vec<(String, Vec<IpAddr>)>,
}

impl Update {
    /// An update of both families (either may be `None`), without a TTL.
    pub fn new(
        hostname: DomainName,
        ipv4: Option<Vec<Ipv4Addr>>,
        ipv6: Option<Vec<Ipv6Addr>>,
    ) -> Self {
        Self {
            hostname,
            ipv4,
            ipv6,
            ttl: None,
            views: Vec::new(),
        }
    }

    /// The IPv4 addresses, empty when the family is left alone.
    pub fn ipv4_list(&self) -> &[Ipv4Addr] {
        self.ipv4.as_deref().unwrap_or_default()
    }

    /// The IPv6 addresses, empty when the family is left alone.
    pub fn ipv6_list(&self) -> &[Ipv6Addr] {
        self.ipv6.as_deref().unwrap_or_default()
    }

    /// All addresses, IPv4 first.
    pub fn addresses(&self) -> Vec<IpAddr> {
        self.ipv4_list()
            .iter()
            .copied()
            .map(IpAddr::V4)
            .chain(self.ipv6_list().iter().copied().map(IpAddr::V6))
            .collect()
    }
}

/// Comma-separated addresses, the form DynDNS2 `myip` and our REST API use.
pub(crate) fn join_addresses<T: ToString>(list: &[T]) -> String {
    list.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// What a provider can publish; checked when the provider is built and again per update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// It can set A records.
    pub ipv4: bool,
    /// It can set AAAA records.
    pub ipv6: bool,
    /// It takes several addresses per family in one update (round-robin records).
    pub address_lists: bool,
    /// It applies the TTL of an update.
    pub ttl: bool,
    /// It leaves a family alone when an update omits it. When `false` the service clears or
    /// overwrites the omitted family, so every update must carry every family the record
    /// publishes; the provider refuses updates that do not.
    pub keeps_omitted_family: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_views() {
        let u = Update::new(
            DomainName::parse("h.example.com").unwrap(),
            Some(vec!["192.0.2.1".parse().unwrap()]),
            None,
        );
        assert_eq!(u.ipv4_list().len(), 1);
        assert!(u.ipv6_list().is_empty());
        assert_eq!(u.addresses(), vec!["192.0.2.1".parse::<IpAddr>().unwrap()]);
        let v4: [Ipv4Addr; 2] = ["192.0.2.1".parse().unwrap(), "192.0.2.7".parse().unwrap()];
        assert_eq!(join_addresses(&v4), "192.0.2.1,192.0.2.7");
    }
}
