//! Token scopes: which names a token may change.
//!
//! A scope entry is an exact name (`home.dyn.example.com`) or a subtree pattern
//! (`*.lab.dyn.example.com`: every name strictly below `lab.dyn.example.com`). A request is
//! allowed only when **every** name in it is permitted — dyndnsd's `any?` check let one matching
//! name carry foreign names through; here each name is checked on its own.
//!
//! [`Restrictions`] are what a token is held to beyond its names: the record types it may
//! write, the client networks it may be used from, when it expires, and whether it may write at
//! all. They are checked on every request, also for a token verified from memory.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::name::{DomainName, NameError};
use crate::rtype::Rtype;

/// One entry of a token's scope.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScopeEntry {
    /// Exactly this name.
    Name(DomainName),
    /// Every name strictly below this one (written `*.name`).
    Below(DomainName),
}

impl ScopeEntry {
    /// Parses `name` or `*.name`.
    pub fn parse(text: &str) -> Result<Self, NameError> {
        let name = DomainName::parse(text)?;
        if name.is_wildcard() {
            let rest = name
                .as_str()
                .strip_prefix("*.")
                .ok_or(NameError::MisplacedWildcard)?;
            Ok(Self::Below(DomainName::parse(rest)?))
        } else {
            Ok(Self::Name(name))
        }
    }

    /// True when this entry allows changing `name`.
    pub fn permits(&self, name: &DomainName) -> bool {
        match self {
            Self::Name(n) => n == name,
            Self::Below(n) => name.is_strictly_below(n),
        }
    }

    /// The exact name, when this entry is one (hosts registered at token creation).
    pub fn exact_name(&self) -> Option<&DomainName> {
        match self {
            Self::Name(n) => Some(n),
            Self::Below(_) => None,
        }
    }
}

impl fmt::Display for ScopeEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(n) => write!(f, "{n}"),
            Self::Below(n) => write!(f, "*.{n}"),
        }
    }
}

/// What a token may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Manage everything: hosts, records, tokens.
    Admin,
    /// Change records of these names only.
    Hosts(Vec<ScopeEntry>),
}

impl Scope {
    /// True when `name` may be changed.
    pub fn permits(&self, name: &DomainName) -> bool {
        match self {
            Self::Admin => true,
            Self::Hosts(entries) => entries.iter().any(|e| e.permits(name)),
        }
    }

    /// True when every one of `names` may be changed.
    pub fn permits_all<'a>(&self, names: impl IntoIterator<Item = &'a DomainName>) -> bool {
        names.into_iter().all(|n| self.permits(n))
    }

    /// True for admin tokens.
    pub fn is_admin(&self) -> bool {
        matches!(self, Self::Admin)
    }
}

/// What a token is held to beyond its scope of names (`ddns token create --type --subnet
/// --expires --read-only`). The default restricts nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restrictions {
    /// Record types the token may write; empty: every type.
    pub types: Vec<Rtype>,
    /// Networks the client address must be in; empty: any address.
    pub subnets: Vec<IpNet>,
    /// The token is refused from this moment on (seconds since the Unix epoch).
    pub expires_at: Option<i64>,
    /// The token may read (hosts, history) but every write is refused.
    pub read_only: bool,
}

impl Restrictions {
    /// True when the token may be used at `now` (seconds since the epoch) by `client`; a
    /// client address is compared in its IPv4 form when it is IPv4-mapped.
    pub fn admits(&self, now: i64, client: IpAddr) -> bool {
        let client = match client {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
            v4 => v4,
        };
        self.expires_at.is_none_or(|at| now < at)
            && (self.subnets.is_empty() || self.subnets.iter().any(|n| n.contains(&client)))
    }

    /// True when the token may write RRsets of `rtype` (read-only tokens may write none).
    pub fn permits_type(&self, rtype: Rtype) -> bool {
        !self.read_only && (self.types.is_empty() || self.types.contains(&rtype))
    }

    /// The types as text, comma-separated (`A,AAAA`); empty when every type is allowed.
    pub fn types_text(&self) -> String {
        join(&self.types)
    }

    /// The subnets as text, comma-separated; empty when any address is allowed.
    pub fn subnets_text(&self) -> String {
        join(&self.subnets)
    }
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restrictions_admit_by_time_and_network() {
        let open = Restrictions::default();
        assert!(open.admits(i64::MAX - 1, "192.0.2.1".parse().unwrap()));
        assert!(open.permits_type(Rtype::TXT));
        let r = Restrictions {
            types: vec![Rtype::A, Rtype::AAAA],
            subnets: vec![
                "192.0.2.0/24".parse().unwrap(),
                "2001:db8::/32".parse().unwrap(),
            ],
            expires_at: Some(1000),
            read_only: false,
        };
        assert!(r.admits(999, "192.0.2.77".parse().unwrap()));
        assert!(
            r.admits(999, "::ffff:192.0.2.77".parse().unwrap()),
            "mapped IPv4"
        );
        assert!(r.admits(999, "2001:db8:1::5".parse().unwrap()));
        assert!(!r.admits(999, "198.51.100.1".parse().unwrap()));
        assert!(
            !r.admits(1000, "192.0.2.77".parse().unwrap()),
            "expired at the second"
        );
        assert!(r.permits_type(Rtype::AAAA));
        assert!(!r.permits_type(Rtype::TXT));
        assert_eq!(r.types_text(), "A,AAAA");
        assert_eq!(r.subnets_text(), "192.0.2.0/24,2001:db8::/32");
        let read_only = Restrictions {
            read_only: true,
            ..Restrictions::default()
        };
        assert!(!read_only.permits_type(Rtype::A));
    }

    fn n(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    #[test]
    fn exact_and_subtree() {
        let scope = Scope::Hosts(vec![
            ScopeEntry::parse("home.dyn.example").unwrap(),
            ScopeEntry::parse("*.lab.dyn.example").unwrap(),
        ]);
        assert!(scope.permits(&n("home.dyn.example")));
        assert!(!scope.permits(&n("x.home.dyn.example")));
        assert!(scope.permits(&n("a.lab.dyn.example")));
        assert!(scope.permits(&n("b.a.lab.dyn.example")));
        assert!(!scope.permits(&n("lab.dyn.example")));
        assert!(!scope.permits(&n("xlab.dyn.example")));
    }

    #[test]
    fn every_name_must_be_in_scope() {
        let scope = Scope::Hosts(vec![ScopeEntry::parse("home.dyn.example").unwrap()]);
        let names = [n("home.dyn.example"), n("victim.dyn.example")];
        assert!(!scope.permits_all(&names));
        assert!(scope.permits_all(&names[..1]));
        assert!(Scope::Admin.permits_all(&names));
    }

    #[test]
    fn display_round_trips() {
        for text in ["home.dyn.example", "*.lab.dyn.example"] {
            assert_eq!(ScopeEntry::parse(text).unwrap().to_string(), text);
        }
    }
}
