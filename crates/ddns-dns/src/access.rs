//! Who may transfer a zone and who may update which names: the rules the configuration gives
//! per zone (`allow_transfer`, `[[zone.update]]`, `notify`), validated once at start-up and
//! checked per request against the peer address and the TSIG key that verified.
//!
//! Transfers follow BIND's `allow-transfer` list: any one entry that matches allows, nothing
//! configured denies. Update rules follow BIND's `update-policy` and Knot's `update-owner`:
//! the first rule whose key and subnet match the request decides, and every name and type
//! the update touches must be within that rule, or the whole update is refused.

use std::net::{IpAddr, SocketAddr};

use ddns_core::{DomainName, Rtype};
use ipnet::IpNet;

/// One entry of an access list: a TSIG key (the request verified with it) or a source subnet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessRule {
    /// The request is signed with this key (lower-case name).
    Key(DomainName),
    /// The request comes from this subnet.
    Subnet(IpNet),
}

impl AccessRule {
    /// Does a request from `peer`, verified with `key` (if signed), match?
    pub fn matches(&self, peer: IpAddr, key: Option<&DomainName>) -> bool {
        match self {
            Self::Key(name) => key == Some(name),
            Self::Subnet(net) => net.contains(&unmapped(peer)),
        }
    }
}

/// The names an update rule covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamePattern {
    /// This name only.
    Exact(DomainName),
    /// Every name strictly below this one (written `*.name`).
    Below(DomainName),
}

impl NamePattern {
    /// Parses `name` or `*.name`.
    pub fn parse(text: &str) -> Result<Self, ddns_core::NameError> {
        match text.strip_prefix("*.") {
            Some(rest) => DomainName::parse(rest).map(Self::Below),
            None => DomainName::parse(text).map(Self::Exact),
        }
    }

    /// Does `name` fall under the pattern?
    pub fn matches(&self, name: &DomainName) -> bool {
        match self {
            Self::Exact(exact) => name == exact,
            Self::Below(parent) => name.is_strictly_below(parent),
        }
    }

    /// The name the pattern is anchored at.
    pub fn base(&self) -> &DomainName {
        match self {
            Self::Exact(name) | Self::Below(name) => name,
        }
    }
}

/// One `[[zone.update]]` rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateRule {
    /// The key the update must be signed with, if any.
    pub key: Option<DomainName>,
    /// The subnet the update must come from, if any.
    pub subnet: Option<IpNet>,
    /// Names the rule lets the requester change; empty = every name of the zone.
    pub names: Vec<NamePattern>,
    /// Types the rule lets the requester change; empty = every type updates may write.
    pub types: Vec<Rtype>,
}

impl UpdateRule {
    /// Does the rule apply to a request from `peer`, verified with `key`?
    ///
    /// A rule without a key applies to unsigned requests (and signed ones) from its subnet;
    /// a rule with a key only to requests signed with that key.
    pub fn applies(&self, peer: IpAddr, key: Option<&DomainName>) -> bool {
        let key_ok = self.key.as_ref().is_none_or(|k| key == Some(k));
        let subnet_ok = self
            .subnet
            .as_ref()
            .is_none_or(|net| net.contains(&unmapped(peer)));
        key_ok && subnet_ok
    }

    /// May the rule's requester change `rtype` records at `name`?
    pub fn permits(&self, name: &DomainName, rtype: Rtype) -> bool {
        (self.names.is_empty() || self.names.iter().any(|p| p.matches(name)))
            && (self.types.is_empty() || self.types.contains(&rtype))
    }
}

/// What a zone allows beyond queries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZoneAccess {
    /// Who may AXFR/IXFR; empty = nobody.
    pub allow_transfer: Vec<AccessRule>,
    /// RFC 2136 policy, first match wins; empty = no updates.
    pub update: Vec<UpdateRule>,
    /// Secondaries to NOTIFY after each change.
    pub notify: Vec<SocketAddr>,
    /// Key NOTIFY messages are signed with.
    pub notify_key: Option<DomainName>,
}

impl ZoneAccess {
    /// May a request from `peer`, verified with `key`, transfer the zone?
    pub fn may_transfer(&self, peer: IpAddr, key: Option<&DomainName>) -> bool {
        self.allow_transfer.iter().any(|r| r.matches(peer, key))
    }

    /// The update rule that decides a request from `peer` verified with `key`.
    pub fn update_rule(&self, peer: IpAddr, key: Option<&DomainName>) -> Option<&UpdateRule> {
        self.update.iter().find(|r| r.applies(peer, key))
    }
}

/// Who made a request, for history rows: `key:NAME` when signed, else `subnet:ADDRESS`.
pub fn requester(peer: IpAddr, key: Option<&DomainName>) -> String {
    match key {
        Some(key) => format!("key:{key}"),
        None => format!("subnet:{}", unmapped(peer)),
    }
}

/// IPv4 peers on a dual-stack socket arrive as `::ffff:a.b.c.d`; rules are written in IPv4.
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> DomainName {
        DomainName::parse(text).unwrap()
    }

    #[test]
    fn transfer_list_is_any_of_and_default_deny() {
        let lan: IpAddr = "192.168.1.7".parse().unwrap();
        let wan: IpAddr = "203.0.113.9".parse().unwrap();
        let mut access = ZoneAccess::default();
        assert!(!access.may_transfer(lan, Some(&name("xfr"))));
        access.allow_transfer = vec![
            AccessRule::Key(name("xfr")),
            AccessRule::Subnet("192.168.1.0/24".parse().unwrap()),
        ];
        assert!(access.may_transfer(lan, None));
        assert!(access.may_transfer(wan, Some(&name("xfr"))));
        assert!(!access.may_transfer(wan, Some(&name("other"))));
        assert!(!access.may_transfer(wan, None));
        let mapped: IpAddr = "::ffff:192.168.1.7".parse().unwrap();
        assert!(access.may_transfer(mapped, None));
    }

    #[test]
    fn update_rules_first_match_and_patterns() {
        let rule = UpdateRule {
            key: Some(name("win")),
            subnet: None,
            names: vec![NamePattern::parse("*.lan.dyn.example.com").unwrap()],
            types: vec![Rtype::A, Rtype::AAAA],
        };
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(rule.applies(peer, Some(&name("win"))));
        assert!(!rule.applies(peer, None));
        assert!(rule.permits(&name("pc.lan.dyn.example.com"), Rtype::A));
        assert!(!rule.permits(&name("lan.dyn.example.com"), Rtype::A));
        assert!(!rule.permits(&name("pc.lan.dyn.example.com"), Rtype::TXT));
        assert!(!rule.permits(&name("pc.dyn.example.com"), Rtype::AAAA));
        let subnet = UpdateRule {
            key: None,
            subnet: Some("10.0.0.0/8".parse().unwrap()),
            names: Vec::new(),
            types: Vec::new(),
        };
        let access = ZoneAccess {
            update: vec![rule, subnet],
            ..ZoneAccess::default()
        };
        // Unsigned from the LAN: the subnet rule; signed with win: the first rule.
        assert!(access.update_rule(peer, None).unwrap().key.is_none());
        assert!(
            access
                .update_rule(peer, Some(&name("win")))
                .unwrap()
                .key
                .is_some()
        );
        assert!(
            access
                .update_rule("192.0.2.1".parse().unwrap(), None)
                .is_none()
        );
    }
}
