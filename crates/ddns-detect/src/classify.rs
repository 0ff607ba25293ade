//! Which special-purpose block an address belongs to, and which blocks the user accepts.
//!
//! A detection that yields `10.0.0.1` (the router's LAN side), `100.64.1.1` (carrier-grade
//! NAT) or `fd00::1` (a ULA) must not be published by accident: by default only
//! [`AddressClass::Public`] passes. Users who really publish LAN addresses say so with
//! `allow = ["private"]`. The blocks are those of the IANA special-purpose address registries
//! (RFC 6890 and its updates):
//!
//! ```text
//! 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16   Private-Use              RFC 1918
//! 100.64.0.0/10                               Shared Address Space     RFC 6598
//! 192.0.2.0/24, 198.51.100.0/24,
//! 203.0.113.0/24, 2001:db8::/32, 3fff::/20    Documentation            RFC 5737, 3849, 9637
//! 198.18.0.0/15, 2001:2::/48                  Benchmarking             RFC 2544, 5180
//! fc00::/7                                    Unique-Local             RFC 4193
//! 2001::/32                                   TEREDO                   RFC 4380
//! 2002::/16                                   6to4                     RFC 3056
//! 64:ff9b::/96, 64:ff9b:1::/48                IPv4-IPv6 Translation    RFC 6052, 8215
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// The kind of block an address is in. Every address has exactly one class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressClass {
    /// Globally reachable unicast: the only class published by default.
    Public,
    /// `0.0.0.0` or `::`: never published, whatever the configuration says.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918 private-use IPv4.
    Private,
    /// RFC 6598 shared address space `100.64.0.0/10` (carrier-grade NAT).
    Cgnat,
    /// `169.254.0.0/16`, `fe80::/10`.
    LinkLocal,
    /// Documentation prefixes (RFC 5737, RFC 3849, RFC 9637).
    Documentation,
    /// Benchmarking prefixes (RFC 2544, RFC 5180).
    Benchmarking,
    /// `224.0.0.0/4`, `ff00::/8`: never a host's address, never published.
    Multicast,
    /// `255.255.255.255`: never published.
    Broadcast,
    /// Any other reserved or unallocated block: `0.0.0.0/8`, `240.0.0.0/4`, `192.0.0.0/24`,
    /// IPv6 outside `2000::/3`, `2001::/23` outside its allocated parts.
    Reserved,
    /// RFC 4193 unique local IPv6 `fc00::/7`.
    #[serde(rename = "ula")]
    UniqueLocal,
    /// IPv4-mapped (`::ffff:0:0/96`) and the deprecated IPv4-compatible (`::/96`) IPv6 forms.
    Ipv4Mapped,
    /// NAT64 translation prefixes `64:ff9b::/96` and `64:ff9b:1::/48`.
    Nat64,
    /// 6to4 `2002::/16`.
    #[serde(rename = "6to4")]
    SixToFour,
    /// Teredo `2001::/32`.
    Teredo,
}

impl AddressClass {
    /// Every class, for tables and tests.
    pub const ALL: [Self; 16] = [
        Self::Public,
        Self::Unspecified,
        Self::Loopback,
        Self::Private,
        Self::Cgnat,
        Self::LinkLocal,
        Self::Documentation,
        Self::Benchmarking,
        Self::Multicast,
        Self::Broadcast,
        Self::Reserved,
        Self::UniqueLocal,
        Self::Ipv4Mapped,
        Self::Nat64,
        Self::SixToFour,
        Self::Teredo,
    ];

    /// The name used in `allow = [...]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Unspecified => "unspecified",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::Cgnat => "cgnat",
            Self::LinkLocal => "link_local",
            Self::Documentation => "documentation",
            Self::Benchmarking => "benchmarking",
            Self::Multicast => "multicast",
            Self::Broadcast => "broadcast",
            Self::Reserved => "reserved",
            Self::UniqueLocal => "ula",
            Self::Ipv4Mapped => "ipv4_mapped",
            Self::Nat64 => "nat64",
            Self::SixToFour => "6to4",
            Self::Teredo => "teredo",
        }
    }

    /// Whether configuration may accept this class. Unspecified, multicast and broadcast
    /// addresses are never a host's own address, so no setting publishes them.
    pub fn can_be_allowed(self) -> bool {
        !matches!(self, Self::Unspecified | Self::Multicast | Self::Broadcast)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The class of an address.
pub fn classify(address: IpAddr) -> AddressClass {
    match address {
        IpAddr::V4(a) => classify_v4(a),
        IpAddr::V6(a) => classify_v6(a),
    }
}

fn in_v4(a: Ipv4Addr, net: [u8; 4], len: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    u32::from(a) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn in_v6(a: Ipv6Addr, net: [u16; 8], len: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    u128::from(a) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

fn classify_v4(a: Ipv4Addr) -> AddressClass {
    use AddressClass as C;
    const TABLE: &[([u8; 4], u32, AddressClass)] = &[
        ([0, 0, 0, 0], 32, C::Unspecified),
        ([255, 255, 255, 255], 32, C::Broadcast),
        ([0, 0, 0, 0], 8, C::Reserved),
        ([10, 0, 0, 0], 8, C::Private),
        ([100, 64, 0, 0], 10, C::Cgnat),
        ([127, 0, 0, 0], 8, C::Loopback),
        ([169, 254, 0, 0], 16, C::LinkLocal),
        ([172, 16, 0, 0], 12, C::Private),
        ([192, 0, 0, 0], 24, C::Reserved),
        ([192, 0, 2, 0], 24, C::Documentation),
        ([192, 88, 99, 0], 24, C::Reserved),
        ([192, 168, 0, 0], 16, C::Private),
        ([198, 18, 0, 0], 15, C::Benchmarking),
        ([198, 51, 100, 0], 24, C::Documentation),
        ([203, 0, 113, 0], 24, C::Documentation),
        ([224, 0, 0, 0], 4, C::Multicast),
        ([240, 0, 0, 0], 4, C::Reserved),
    ];
    TABLE
        .iter()
        .find(|(net, len, _)| in_v4(a, *net, *len))
        .map_or(C::Public, |(_, _, class)| *class)
}

fn classify_v6(a: Ipv6Addr) -> AddressClass {
    use AddressClass as C;
    // First match wins: more specific blocks come before the blocks that contain them.
    const TABLE: &[([u16; 8], u32, AddressClass)] = &[
        ([0, 0, 0, 0, 0, 0, 0, 0], 128, C::Unspecified),
        ([0, 0, 0, 0, 0, 0, 0, 1], 128, C::Loopback),
        ([0, 0, 0, 0, 0, 0xffff, 0, 0], 96, C::Ipv4Mapped),
        ([0, 0, 0, 0, 0, 0, 0, 0], 96, C::Ipv4Mapped),
        ([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96, C::Nat64),
        ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, C::Nat64),
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, C::Teredo),
        ([0x2001, 2, 0, 0, 0, 0, 0, 0], 48, C::Benchmarking),
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, C::Documentation),
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, C::Reserved),
        ([0x2002, 0, 0, 0, 0, 0, 0, 0], 16, C::SixToFour),
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, C::Documentation),
        ([0x2000, 0, 0, 0, 0, 0, 0, 0], 3, C::Public),
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, C::UniqueLocal),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, C::LinkLocal),
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, C::Multicast),
    ];
    TABLE
        .iter()
        .find(|(net, len, _)| in_v6(a, *net, *len))
        .map_or(C::Reserved, |(_, _, class)| *class)
}

/// The classes a user accepts besides [`AddressClass::Public`], written `allow = ["private",
/// "cgnat"]`. The default accepts public addresses only.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<AddressClass>", into = "Vec<AddressClass>")]
pub struct AllowedClasses {
    bits: u32,
}

impl AllowedClasses {
    /// Accepts public addresses and `classes`; classes that can never be allowed are ignored.
    pub fn new(classes: impl IntoIterator<Item = AddressClass>) -> Self {
        let bits = classes
            .into_iter()
            .filter(|c| c.can_be_allowed())
            .fold(0, |bits, c| bits | c.bit());
        Self { bits }
    }

    /// Whether an address of `class` passes.
    pub fn permits(self, class: AddressClass) -> bool {
        class == AddressClass::Public || (class.can_be_allowed() && self.bits & class.bit() != 0)
    }

    /// The explicitly allowed classes, in [`AddressClass::ALL`] order.
    pub fn classes(self) -> Vec<AddressClass> {
        AddressClass::ALL
            .into_iter()
            .filter(|c| *c != AddressClass::Public && self.bits & c.bit() != 0)
            .collect()
    }
}

impl fmt::Debug for AllowedClasses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.classes()).finish()
    }
}

/// Why an `allow` list is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} addresses can never be published, so they cannot be allowed")]
pub struct AllowError(pub AddressClass);

impl TryFrom<Vec<AddressClass>> for AllowedClasses {
    type Error = AllowError;

    fn try_from(classes: Vec<AddressClass>) -> Result<Self, Self::Error> {
        if let Some(bad) = classes.iter().find(|c| !c.can_be_allowed()) {
            return Err(AllowError(*bad));
        }
        Ok(Self::new(classes))
    }
}

impl From<AllowedClasses> for Vec<AddressClass> {
    fn from(allowed: AllowedClasses) -> Self {
        allowed.classes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn class(s: &str) -> AddressClass {
        classify(s.parse().unwrap())
    }

    #[test]
    fn ipv4_blocks() {
        use AddressClass as C;
        for (addr, want) in [
            ("0.0.0.0", C::Unspecified),
            ("0.1.2.3", C::Reserved),
            ("10.0.0.1", C::Private),
            ("172.31.255.255", C::Private),
            ("172.32.0.1", C::Public),
            ("192.168.1.1", C::Private),
            ("100.64.1.1", C::Cgnat),
            ("100.127.255.255", C::Cgnat),
            ("100.128.0.1", C::Public),
            ("127.0.0.1", C::Loopback),
            ("169.254.10.1", C::LinkLocal),
            ("192.0.0.8", C::Reserved),
            ("192.0.2.1", C::Documentation),
            ("198.51.100.7", C::Documentation),
            ("203.0.113.9", C::Documentation),
            ("198.18.0.1", C::Benchmarking),
            ("198.19.255.255", C::Benchmarking),
            ("198.20.0.1", C::Public),
            ("192.88.99.1", C::Reserved),
            ("224.0.0.251", C::Multicast),
            ("239.255.255.250", C::Multicast),
            ("240.0.0.1", C::Reserved),
            ("255.255.255.255", C::Broadcast),
            ("8.8.8.8", C::Public),
            ("1.1.1.1", C::Public),
            ("104.18.0.0", C::Public),
        ] {
            assert_eq!(class(addr), want, "{addr}");
        }
    }

    #[test]
    fn ipv6_blocks() {
        use AddressClass as C;
        for (addr, want) in [
            ("::", C::Unspecified),
            ("::1", C::Loopback),
            ("::ffff:192.0.2.1", C::Ipv4Mapped),
            ("::192.0.2.1", C::Ipv4Mapped),
            ("64:ff9b::192.0.2.1", C::Nat64),
            ("64:ff9b:1::1", C::Nat64),
            ("100::1", C::Reserved),
            ("2001::1", C::Teredo),
            ("2001:2::1", C::Benchmarking),
            ("2001:db8::1", C::Documentation),
            ("2001:10::1", C::Reserved),
            ("2002:c000:201::1", C::SixToFour),
            ("3fff::1", C::Documentation),
            ("3fff:1000::1", C::Public),
            ("2606:4700:4700::1111", C::Public),
            ("2a00:1450:400f:80d::200e", C::Public),
            ("fd12:3456::1", C::UniqueLocal),
            ("fc00::1", C::UniqueLocal),
            ("fe80::1", C::LinkLocal),
            ("fec0::1", C::Reserved),
            ("ff02::1", C::Multicast),
            ("4000::1", C::Reserved),
        ] {
            assert_eq!(class(addr), want, "{addr}");
        }
    }

    #[test]
    fn allow_lists() {
        let allowed: AllowedClasses =
            serde_json::from_str(r#"["private", "cgnat", "ula", "6to4"]"#).unwrap();
        assert!(allowed.permits(AddressClass::Private));
        assert!(allowed.permits(AddressClass::SixToFour));
        assert!(allowed.permits(AddressClass::Public));
        assert!(!allowed.permits(AddressClass::Documentation));
        let default = AllowedClasses::default();
        assert!(default.permits(AddressClass::Public));
        assert!(!default.permits(AddressClass::Private));
        let err = serde_json::from_str::<AllowedClasses>(r#"["unspecified"]"#).unwrap_err();
        assert!(err.to_string().contains("can never be published"), "{err}");
        assert!(serde_json::from_str::<AllowedClasses>(r#"["privat"]"#).is_err());
        assert_eq!(
            serde_json::to_string(&allowed).unwrap(),
            r#"["private","cgnat","ula","6to4"]"#
        );
        assert!(!AllowedClasses::new([AddressClass::Multicast]).permits(AddressClass::Multicast));
    }

    #[test]
    fn class_names_round_trip() {
        for c in AddressClass::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(serde_json::from_str::<AddressClass>(&json).unwrap(), c);
        }
    }

    proptest! {
        #[test]
        fn ipv4_agrees_with_std(bits: u32) {
            let a = Ipv4Addr::from(bits);
            let c = classify_v4(a);
            if a.is_private() { prop_assert_eq!(c, AddressClass::Private); }
            if a.is_loopback() { prop_assert_eq!(c, AddressClass::Loopback); }
            if a.is_link_local() { prop_assert_eq!(c, AddressClass::LinkLocal); }
            if a.is_documentation() { prop_assert_eq!(c, AddressClass::Documentation); }
            if a.is_multicast() { prop_assert_eq!(c, AddressClass::Multicast); }
            if c == AddressClass::Public {
                prop_assert!(!a.is_private() && !a.is_loopback() && !a.is_link_local());
                prop_assert!(!a.is_broadcast() && !a.is_unspecified() && !a.is_documentation());
                prop_assert!(!a.is_multicast() && a.octets()[0] != 0 && a.octets()[0] < 240);
            }
        }

        #[test]
        fn ipv6_agrees_with_std(bits: u128) {
            let a = Ipv6Addr::from(bits);
            let c = classify_v6(a);
            if a.is_loopback() { prop_assert_eq!(c, AddressClass::Loopback); }
            if a.is_unspecified() { prop_assert_eq!(c, AddressClass::Unspecified); }
            if a.is_multicast() { prop_assert_eq!(c, AddressClass::Multicast); }
            if a.is_unique_local() { prop_assert_eq!(c, AddressClass::UniqueLocal); }
            if a.is_unicast_link_local() { prop_assert_eq!(c, AddressClass::LinkLocal); }
            if c == AddressClass::Public {
                prop_assert_eq!(a.segments()[0] & 0xe000, 0x2000);
                prop_assert!(a.to_ipv4_mapped().is_none());
            }
        }

        #[test]
        fn mapped_never_public(bits: u32) {
            let mapped = Ipv4Addr::from(bits).to_ipv6_mapped();
            prop_assert_eq!(classify_v6(mapped), AddressClass::Ipv4Mapped);
        }
    }
}
