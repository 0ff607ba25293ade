//! Choosing the address to publish among a host's interface addresses: a pure function over
//! a list, so the rules are tested with synthetic data and no host.
//!
//! Picking "the" IPv6 address is the part users fight with most: an interface typically has
//! a stable address, one or more temporary (privacy) addresses that rotate daily, a
//! deprecated address from the previous prefix, a ULA and a link-local address. The rules of
//! [`select`]:
//!
//! - tentative and duplicate addresses are never used (RFC 4862 §5.4: a tentative address
//!   "is not considered assigned to an interface");
//! - IPv6 link-local, loopback, multicast and IPv4-mapped addresses are never used; ULAs,
//!   temporary (RFC 8981) and deprecated addresses only when [`Ipv6Selection`] allows them;
//! - among what is left, the best is: non-temporary (or temporary with `prefer_temporary`),
//!   then not deprecated, then global before ULA, then statically configured ("permanent")
//!   before autoconfigured, then the lowest address, so the choice is deterministic;
//! - IPv4: any unicast address; public ones before others, then the lowest.
//!
//! With an interface ID ([`with_interface_id`]), the selected address only supplies its
//! prefix, so temporary addresses qualify too: their prefix is the same.

use std::net::{IpAddr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::Family;
use crate::classify::{AddressClass, classify};
use crate::source::{DetectError, SpecError};
/// Which IPv6 addresses of an interface qualify. The default takes stable global addresses
/// only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ipv6Selection {
    /// Accept temporary (privacy, RFC 8981) addresses when no stable one exists.
    pub allow_temporary: bool,
    /// Prefer temporary addresses over stable ones (implies `allow_temporary`).
    pub prefer_temporary: bool,
    /// Accept deprecated addresses (preferred lifetime over, usually an old prefix).
    pub allow_deprecated: bool,
    /// Accept unique local addresses (`fc00::/7`).
    pub allow_ula: bool,
}

/// Per-address state flags, as the OS reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddressFlags {
    /// A temporary (privacy) address.
    pub temporary: bool,
    /// Preferred lifetime expired.
    pub deprecated: bool,
    /// Duplicate address detection still running.
    pub tentative: bool,
    /// Duplicate address detection failed.
    pub duplicated: bool,
    /// Configured statically rather than by autoconfiguration (Linux only).
    pub permanent: bool,
}

/// One address of one interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceAddress {
    /// The interface's name.
    pub interface: String,
    /// Whether the interface is up.
    pub up: bool,
    /// The address.
    pub address: IpAddr,
    /// Its on-link prefix length.
    pub prefix_len: u8,
    /// Its flags (all false for IPv4).
    pub flags: AddressFlags,
}

/// An interface name, exact or with `*` (any run of characters) and `?` (one character).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamePattern(String);

impl NamePattern {
    /// Validates a pattern.
    pub fn new(pattern: &str) -> Result<Self, SpecError> {
        if pattern.trim().is_empty() {
            return Err(SpecError::invalid("name", "must not be empty"));
        }
        if let Some(c) = pattern.chars().find(|c| matches!(c, '[' | ']' | '{' | '}')) {
            return Err(SpecError::invalid(
                "name",
                format!("{pattern:?}: {c:?} is not supported; patterns use only * and ?"),
            ));
        }
        Ok(Self(pattern.to_owned()))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        let pattern: Vec<char> = self.0.chars().collect();
        let name: Vec<char> = name.chars().collect();
        // Iterative wildcard matching with backtracking to the last `*`.
        let (mut p, mut n) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while n < name.len() {
            match pattern.get(p) {
                Some('*') => {
                    star = Some((p, n));
                    p += 1;
                }
                Some(&c) if c == '?' || c == name[n] => {
                    p += 1;
                    n += 1;
                }
                _ => match star {
                    Some((sp, sn)) => {
                        p = sp + 1;
                        n = sn + 1;
                        star = Some((sp, sn + 1));
                    }
                    None => return false,
                },
            }
        }
        pattern[p..].iter().all(|c| *c == '*')
    }
}

/// Chooses the address to publish among `addresses` (see the module documentation), or says
/// why none qualifies.
pub fn select(
    addresses: &[InterfaceAddress],
    pattern: &NamePattern,
    family: Family,
    selection: &Ipv6Selection,
    prefix_only: bool,
) -> Result<IpAddr, DetectError> {
    let on_interfaces: Vec<&InterfaceAddress> = addresses
        .iter()
        .filter(|a| pattern.matches(&a.interface))
        .collect();
    if on_interfaces.is_empty() {
        return Err(DetectError::NoAddress(format!(
            "no interface matching {:?} has an address",
            pattern.0
        )));
    }
    let mut skipped = Vec::new();
    let mut candidates = Vec::new();
    for a in on_interfaces.iter().filter(|a| family.matches(a.address)) {
        match skip_reason(a, selection, prefix_only) {
            Some(reason) => skipped.push(format!("{} is {reason}", a.address)),
            None => candidates.push(*a),
        }
    }
    let best = match family {
        Family::V4 => candidates
            .into_iter()
            .min_by_key(|a| (classify(a.address) != AddressClass::Public, a.address)),
        Family::V6 => candidates.into_iter().min_by_key(|a| {
            (
                a.flags.temporary != selection.prefer_temporary,
                a.flags.deprecated,
                classify(a.address) == AddressClass::UniqueLocal,
                !a.flags.permanent,
                a.address,
            )
        }),
    };
    best.map(|a| a.address).ok_or_else(|| {
        DetectError::NoAddress(if skipped.is_empty() {
            format!(
                "interfaces matching {:?} have no {family} address",
                pattern.0
            )
        } else {
            format!(
                "no {family} address on interfaces matching {:?} qualifies: {}",
                pattern.0,
                skipped.join(", ")
            )
        })
    })
}

fn skip_reason(
    a: &InterfaceAddress,
    selection: &Ipv6Selection,
    prefix_only: bool,
) -> Option<&'static str> {
    let class = classify(a.address);
    if !a.up {
        return Some("on an interface that is down");
    }
    if matches!(
        class,
        AddressClass::Unspecified | AddressClass::Multicast | AddressClass::Broadcast
    ) {
        return Some("not unicast");
    }
    if a.address.is_ipv4() {
        return None;
    }
    if a.flags.tentative {
        return Some("tentative (duplicate address detection running)");
    }
    if a.flags.duplicated {
        return Some("a duplicate");
    }
    match class {
        AddressClass::LinkLocal => return Some("link-local"),
        AddressClass::Loopback => return Some("loopback"),
        AddressClass::Ipv4Mapped => return Some("IPv4-mapped"),
        AddressClass::UniqueLocal if !selection.allow_ula => {
            return Some("a ULA (allow_ula = true accepts it)");
        }
        _ => {}
    }
    let temporary_ok = selection.allow_temporary || selection.prefer_temporary || prefix_only;
    if a.flags.temporary && !temporary_ok {
        return Some("temporary (allow_temporary = true accepts it)");
    }
    if a.flags.deprecated && !selection.allow_deprecated {
        return Some("deprecated (allow_deprecated = true accepts it)");
    }
    None
}

/// The top `prefix_len` bits of `prefix` followed by the rest of `interface_id`.
pub fn with_interface_id(prefix: Ipv6Addr, interface_id: Ipv6Addr, prefix_len: u8) -> Ipv6Addr {
    let mask = u128::MAX
        .checked_shl(128 - u32::from(prefix_len.min(128)))
        .unwrap_or(0);
    Ipv6Addr::from((u128::from(prefix) & mask) | (u128::from(interface_id) & !mask))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(interface: &str, address: &str, flags: AddressFlags) -> InterfaceAddress {
        InterfaceAddress {
            interface: interface.into(),
            up: true,
            address: address.parse().unwrap(),
            prefix_len: 64,
            flags,
        }
    }

    fn v4(interface: &str, address: &str) -> InterfaceAddress {
        InterfaceAddress {
            prefix_len: 24,
            ..v6(interface, address, AddressFlags::default())
        }
    }

    const STABLE: AddressFlags = AddressFlags {
        temporary: false,
        deprecated: false,
        tentative: false,
        duplicated: false,
        permanent: false,
    };
    const TEMPORARY: AddressFlags = AddressFlags {
        temporary: true,
        ..STABLE
    };
    const DEPRECATED: AddressFlags = AddressFlags {
        deprecated: true,
        ..STABLE
    };
    const TENTATIVE: AddressFlags = AddressFlags {
        tentative: true,
        ..STABLE
    };
    const PERMANENT: AddressFlags = AddressFlags {
        permanent: true,
        ..STABLE
    };

    /// A typical SLAAC host: link-local, ULA, old prefix deprecated, stable and temporary.
    fn slaac_host() -> Vec<InterfaceAddress> {
        vec![
            v6("eth0", "fe80::1c2d:3eff:fe4f:5a6b", STABLE),
            v6("eth0", "fd00:1::1c2d:3eff:fe4f:5a6b", STABLE),
            v6("eth0", "2001:db8:aaaa:1::1c2d", DEPRECATED),
            v6("eth0", "2001:db8:bbbb:1:8a3f:1b2:c3d4:e5f6", TEMPORARY),
            v6("eth0", "2001:db8:bbbb:1::1c2d", STABLE),
            v6("eth0", "2001:db8:bbbb:1::beef", TENTATIVE),
            v4("eth0", "192.168.1.20"),
            v6("wlan0", "2001:db8:cccc::1", STABLE),
        ]
    }

    fn pick(
        list: &[InterfaceAddress],
        name: &str,
        family: Family,
        sel: Ipv6Selection,
    ) -> Result<IpAddr, DetectError> {
        select(list, &NamePattern::new(name).unwrap(), family, &sel, false)
    }

    #[test]
    fn stable_global_wins_by_default() {
        let got = pick(&slaac_host(), "eth0", Family::V6, Ipv6Selection::default()).unwrap();
        assert_eq!(got.to_string(), "2001:db8:bbbb:1::1c2d");
    }

    #[test]
    fn temporary_only_when_asked() {
        let list: Vec<_> = slaac_host()
            .into_iter()
            .filter(|a| !(a.flags == STABLE && a.address.to_string().starts_with("2001")))
            .collect();
        let e = pick(&list, "eth0", Family::V6, Ipv6Selection::default()).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("2001:db8:bbbb:1:8a3f:1b2:c3d4:e5f6 is temporary"),
            "{text}"
        );
        assert!(
            text.contains("fe80::1c2d:3eff:fe4f:5a6b is link-local"),
            "{text}"
        );
        assert!(text.contains("is tentative"), "{text}");
        assert!(text.contains("is a ULA"), "{text}");
        let allow = Ipv6Selection {
            allow_temporary: true,
            ..Ipv6Selection::default()
        };
        assert_eq!(
            pick(&list, "eth0", Family::V6, allow).unwrap().to_string(),
            "2001:db8:bbbb:1:8a3f:1b2:c3d4:e5f6"
        );
        let prefer = Ipv6Selection {
            prefer_temporary: true,
            ..Ipv6Selection::default()
        };
        assert_eq!(
            pick(&slaac_host(), "eth0", Family::V6, prefer)
                .unwrap()
                .to_string(),
            "2001:db8:bbbb:1:8a3f:1b2:c3d4:e5f6"
        );
    }

    #[test]
    fn deprecated_and_ula_rank_last() {
        let list = vec![
            v6("eth0", "fd00::1", STABLE),
            v6("eth0", "2001:db8:aaaa::1", DEPRECATED),
        ];
        let all = Ipv6Selection {
            allow_deprecated: true,
            allow_ula: true,
            ..Ipv6Selection::default()
        };
        assert_eq!(
            pick(&list, "eth0", Family::V6, all).unwrap().to_string(),
            "fd00::1"
        );
        let ula = Ipv6Selection {
            allow_ula: true,
            ..Ipv6Selection::default()
        };
        assert_eq!(
            pick(&list, "eth0", Family::V6, ula).unwrap().to_string(),
            "fd00::1"
        );
        let deprecated = Ipv6Selection {
            allow_deprecated: true,
            ..Ipv6Selection::default()
        };
        assert_eq!(
            pick(&list, "eth0", Family::V6, deprecated)
                .unwrap()
                .to_string(),
            "2001:db8:aaaa::1"
        );
        assert!(pick(&list, "eth0", Family::V6, Ipv6Selection::default()).is_err());
    }

    #[test]
    fn several_globals_choose_deterministically() {
        let mut list = vec![
            v6("eth0", "2001:db8::9", STABLE),
            v6("eth0", "2001:db8::5", STABLE),
            v6("eth0", "2001:db8::7", PERMANENT),
        ];
        assert_eq!(
            pick(&list, "eth0", Family::V6, Ipv6Selection::default())
                .unwrap()
                .to_string(),
            "2001:db8::7"
        );
        list[2].flags = STABLE;
        assert_eq!(
            pick(&list, "eth0", Family::V6, Ipv6Selection::default())
                .unwrap()
                .to_string(),
            "2001:db8::5"
        );
        list.reverse();
        assert_eq!(
            pick(&list, "eth0", Family::V6, Ipv6Selection::default())
                .unwrap()
                .to_string(),
            "2001:db8::5"
        );
    }

    #[test]
    fn ipv4_prefers_public_then_lowest() {
        let list = vec![
            v4("ppp0", "10.64.0.2"),
            v4("ppp0", "203.0.113.50"),
            v4("ppp0", "198.51.100.20"),
            v4("eth0", "192.0.2.1"),
        ];
        // Documentation addresses are "not public" to the classifier, so 10.64.0.2 (private)
        // and the documentation ones tie on class; the lowest wins.
        assert_eq!(
            pick(&list, "ppp?", Family::V4, Ipv6Selection::default())
                .unwrap()
                .to_string(),
            "10.64.0.2"
        );
        let list = vec![v4("ppp0", "10.64.0.2"), v4("ppp0", "8.8.4.4")];
        assert_eq!(
            pick(&list, "ppp0", Family::V4, Ipv6Selection::default())
                .unwrap()
                .to_string(),
            "8.8.4.4"
        );
    }

    #[test]
    fn missing_interfaces_and_families_are_explained() {
        let e = pick(&slaac_host(), "ppp*", Family::V4, Ipv6Selection::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no interface matching \"ppp*\" has an address"
        );
        let list = vec![v4("eth0", "192.0.2.1")];
        let e = pick(&list, "eth0", Family::V6, Ipv6Selection::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "interfaces matching \"eth0\" have no IPv6 address"
        );
        let mut down = v6("eth1", "2001:db8::1", STABLE);
        down.up = false;
        let e = pick(&[down], "eth1", Family::V6, Ipv6Selection::default()).unwrap_err();
        assert!(e.to_string().contains("interface that is down"), "{e}");
    }

    #[test]
    fn interface_id_keeps_the_prefix() {
        let list = vec![v6(
            "br-lan",
            "2001:db8:bbbb:1:8a3f:1b2:c3d4:e5f6",
            TEMPORARY,
        )];
        let sel = Ipv6Selection::default();
        let prefix = select(
            &list,
            &NamePattern::new("br-lan").unwrap(),
            Family::V6,
            &sel,
            true,
        )
        .unwrap();
        let IpAddr::V6(prefix) = prefix else {
            panic!("not v6")
        };
        let id: Ipv6Addr = "::1234:5678:9abc:def0".parse().unwrap();
        assert_eq!(
            with_interface_id(prefix, id, 64).to_string(),
            "2001:db8:bbbb:1:1234:5678:9abc:def0"
        );
        assert_eq!(
            with_interface_id(prefix, id, 56).to_string(),
            "2001:db8:bbbb:0:1234:5678:9abc:def0"
        );
        let full: Ipv6Addr = "2001:db8:ffff:ffff::42".parse().unwrap();
        assert_eq!(
            with_interface_id(prefix, full, 64).to_string(),
            "2001:db8:bbbb:1::42"
        );
        assert_eq!(
            with_interface_id(prefix, id, 127),
            Ipv6Addr::from(u128::from(prefix) & !1)
        );
    }

    #[test]
    fn globs() {
        let m = |p: &str, n: &str| NamePattern::new(p).unwrap().matches(n);
        assert!(m("eth0", "eth0"));
        assert!(!m("eth0", "eth01"));
        assert!(m("eth*", "eth0"));
        assert!(m("eth*", "eth"));
        assert!(m("ppp?", "ppp0"));
        assert!(!m("ppp?", "ppp10"));
        assert!(m("*lan*", "br-lan.10"));
        assert!(m("e*h*0", "enp3s0eth0"));
        assert!(!m("e*h*0", "enp3s0eth1"));
        assert!(m("Ethernet ?", "Ethernet 2"));
        assert!(m("*", "anything"));
    }
}
