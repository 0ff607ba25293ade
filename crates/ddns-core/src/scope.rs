//! Token scopes: which names a token may change.
//!
//! A scope entry is an exact name (`home.dyn.example.com`) or a subtree pattern
//! (`*.lab.dyn.example.com`: every name strictly below `lab.dyn.example.com`). A request is
//! allowed only when **every** name in it is permitted — dyndnsd's `any?` check let one matching
//! name carry foreign names through; here each name is checked on its own.

use std::fmt;

use crate::name::{DomainName, NameError};

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

#[cfg(test)]
mod tests {
    use super::*;

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
