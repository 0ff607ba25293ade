//! Domain names as ddns accepts them from users: validated, lower-case, absolute.
//!
//! Every name that enters through an update (DynDNS2 `hostname`, REST `domain`, token scopes,
//! zone names in the config) is parsed here once, so the rest of the code never sees a name that
//! breaks RFC 1035 limits. Names are kept as lower-case text without the trailing dot; DNS
//! matching is case-insensitive (RFC 4343), and the DNS path preserves the query's case itself.

use std::fmt;

/// Longest label, in octets (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;
/// Longest name in wire form, including length octets and the root label (RFC 1035 §2.3.4).
pub const MAX_WIRE_LEN: usize = 255;

/// A validated, lower-case, absolute domain name (stored without the trailing dot).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(Box<str>);

/// Why a string is not an acceptable domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Nothing was given.
    #[error("the name is empty")]
    Empty,
    /// Two dots in a row, or a leading dot.
    #[error("the name {name:?} has an empty label")]
    EmptyLabel {
        /// The name as given.
        name: String,
    },
    /// A label longer than 63 octets.
    #[error("the label {label:?} is {len} characters long; a label has at most 63")]
    LabelTooLong {
        /// The offending label.
        label: String,
        /// Its length.
        len: usize,
    },
    /// More than 255 octets in wire form.
    #[error("the name is {len} octets long in DNS wire form; a name has at most 255")]
    TooLong {
        /// Wire length the name would have.
        len: usize,
    },
    /// A character outside letters, digits, `-` and `_`.
    #[error("the label {label:?} contains {ch:?}; only letters, digits, '-' and '_' are allowed")]
    BadChar {
        /// The offending label.
        label: String,
        /// The first bad character.
        ch: char,
    },
    /// A label that starts or ends with a hyphen (RFC 1123 §2.1).
    #[error("the label {label:?} starts or ends with '-'")]
    HyphenAtEdge {
        /// The offending label.
        label: String,
    },
    /// `*` anywhere but as the whole leftmost label (RFC 4592 §2.1.1).
    #[error("'*' is only allowed as the whole leftmost label")]
    MisplacedWildcard,
}

impl DomainName {
    /// Parses a name given by a user. One trailing dot is accepted; letters are lower-cased.
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let trimmed = input.strip_suffix('.').unwrap_or(input);
        if trimmed.is_empty() {
            return Err(NameError::Empty);
        }
        let mut wire_len = 1; // the root label
        for (index, label) in trimmed.split('.').enumerate() {
            if label.is_empty() {
                return Err(NameError::EmptyLabel {
                    name: input.to_owned(),
                });
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong {
                    label: label.to_owned(),
                    len: label.len(),
                });
            }
            wire_len += label.len() + 1;
            if label == "*" {
                if index != 0 {
                    return Err(NameError::MisplacedWildcard);
                }
                continue;
            }
            if let Some(ch) = label
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
            {
                return Err(if ch == '*' {
                    NameError::MisplacedWildcard
                } else {
                    NameError::BadChar {
                        label: label.to_owned(),
                        ch,
                    }
                });
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(NameError::HyphenAtEdge {
                    label: label.to_owned(),
                });
            }
        }
        if wire_len > MAX_WIRE_LEN {
            return Err(NameError::TooLong { len: wire_len });
        }
        Ok(Self(trimmed.to_ascii_lowercase().into_boxed_str()))
    }

    /// The name without the trailing dot, e.g. `home.dyn.example.com`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name with the trailing dot, as in zone files.
    pub fn to_fqdn(&self) -> String {
        format!("{}.", self.0)
    }

    /// Labels from the leftmost to the rightmost.
    pub fn labels(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.0.split('.')
    }

    /// Number of labels, not counting the root.
    pub fn label_count(&self) -> usize {
        self.labels().count()
    }

    /// True when the leftmost label is `*`.
    pub fn is_wildcard(&self) -> bool {
        self.0.starts_with("*.") || &*self.0 == "*"
    }

    /// True when `self` equals `ancestor` or lies below it.
    pub fn is_at_or_below(&self, ancestor: &Self) -> bool {
        self == ancestor || self.is_strictly_below(ancestor)
    }

    /// True when `self` lies below `ancestor` (and is not equal to it).
    pub fn is_strictly_below(&self, ancestor: &Self) -> bool {
        self.0.len() > ancestor.0.len()
            && self.0.ends_with(&*ancestor.0)
            && self.0.as_bytes()[self.0.len() - ancestor.0.len() - 1] == b'.'
    }

    /// The part left of `zone`: `home` for `home.dyn.example.com` in `dyn.example.com`,
    /// `@` for the apex. `None` when the name is not in the zone.
    pub fn relative_to(&self, zone: &Self) -> Option<&str> {
        if self == zone {
            Some("@")
        } else if self.is_strictly_below(zone) {
            Some(&self.0[..self.0.len() - zone.0.len() - 1])
        } else {
            None
        }
    }

    /// The lower-case wire form (length-prefixed labels ending in the root label).
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() + 2);
        self.write_wire(&mut out);
        out
    }

    /// Appends the lower-case wire form to `out`.
    pub fn write_wire(&self, out: &mut Vec<u8>) {
        for label in self.labels() {
            // Labels are at most 63 octets, checked in `parse`.
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
        out.push(0);
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DomainName({})", self.0)
    }
}

impl std::str::FromStr for DomainName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for DomainName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for DomainName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Renders a wire-form name (uncompressed) as text with a trailing dot, escaping as RFC 1035
/// §5.1 does. Used for zone export and logs of names that came from the wire.
pub fn wire_to_text(wire: &[u8]) -> String {
    let mut out = String::new();
    let mut pos = 0;
    while let Some(&len) = wire.get(pos) {
        if len == 0 {
            break;
        }
        let start = pos + 1;
        let end = (start + len as usize).min(wire.len());
        for &b in &wire[start..end] {
            match b {
                b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                    out.push('\\');
                    out.push(b as char);
                }
                0x21..=0x7e => out.push(b as char),
                _ => out.push_str(&format!("\\{b:03}")),
            }
        }
        out.push('.');
        pos = end;
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        let n = DomainName::parse("Home.Dyn.Example.COM.").unwrap();
        assert_eq!(n.as_str(), "home.dyn.example.com");
        assert_eq!(n.to_fqdn(), "home.dyn.example.com.");
        assert_eq!(n.label_count(), 4);
        assert_eq!(
            n.to_wire(),
            b"\x04home\x03dyn\x07example\x03com\x00".to_vec()
        );
    }

    #[test]
    fn rejects_what_dns_cannot_carry() {
        assert_eq!(DomainName::parse(""), Err(NameError::Empty));
        assert_eq!(DomainName::parse("."), Err(NameError::Empty));
        assert!(matches!(
            DomainName::parse("a..b"),
            Err(NameError::EmptyLabel { .. })
        ));
        let long_label = "a".repeat(64);
        assert!(matches!(
            DomainName::parse(&format!("{long_label}.example.com")),
            Err(NameError::LabelTooLong { len: 64, .. })
        ));
        let ok_label = "a".repeat(63);
        assert!(DomainName::parse(&format!("{ok_label}.example.com")).is_ok());
        // 4 labels of 63 = 4*64 + 1 = 257 octets
        let too_long = [ok_label.as_str(); 4].join(".");
        assert!(matches!(
            DomainName::parse(&too_long),
            Err(NameError::TooLong { len: 257 })
        ));
        assert!(matches!(
            DomainName::parse("bad name.example.com"),
            Err(NameError::BadChar { ch: ' ', .. })
        ));
        assert!(matches!(
            DomainName::parse("héllo.example.com"),
            Err(NameError::BadChar { ch: 'é', .. })
        ));
        assert!(matches!(
            DomainName::parse("-x.example.com"),
            Err(NameError::HyphenAtEdge { .. })
        ));
        assert_eq!(
            DomainName::parse("a.*.example.com"),
            Err(NameError::MisplacedWildcard)
        );
        assert_eq!(
            DomainName::parse("a*.example.com"),
            Err(NameError::MisplacedWildcard)
        );
    }

    #[test]
    fn wildcard_and_underscore_labels() {
        assert!(
            DomainName::parse("*.sub.example.com")
                .unwrap()
                .is_wildcard()
        );
        assert!(DomainName::parse("_acme-challenge.example.com").is_ok());
    }

    #[test]
    fn ancestry() {
        let zone = DomainName::parse("dyn.example.com").unwrap();
        let host = DomainName::parse("a.b.dyn.example.com").unwrap();
        let lookalike = DomainName::parse("xdyn.example.com").unwrap();
        assert!(host.is_at_or_below(&zone));
        assert!(zone.is_at_or_below(&zone));
        assert!(!zone.is_strictly_below(&zone));
        assert!(!lookalike.is_at_or_below(&zone));
        assert_eq!(host.relative_to(&zone), Some("a.b"));
        assert_eq!(zone.relative_to(&zone), Some("@"));
        assert_eq!(lookalike.relative_to(&zone), None);
    }

    #[test]
    fn wire_text_escapes() {
        assert_eq!(wire_to_text(b"\x03a.b\x03com\x00"), "a\\.b.com.");
        assert_eq!(wire_to_text(b"\x00"), ".");
        assert_eq!(wire_to_text(b"\x02\x01z\x00"), "\\001z.");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics_and_roundtrips(s in "\\PC{0,300}") {
            if let Ok(n) = DomainName::parse(&s) {
                proptest::prop_assert!(n.to_wire().len() <= MAX_WIRE_LEN);
                proptest::prop_assert_eq!(DomainName::parse(n.as_str()), Ok(n.clone()));
            }
        }
    }
}
