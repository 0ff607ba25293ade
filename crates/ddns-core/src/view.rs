//! Split-horizon views: which view a client's source address falls in.
//!
//! A view (`[[view]]`) lists source prefixes; the first rule that matches, in configuration
//! order, picks the view, and an address no rule matches gets the default data. The lookup is
//! on the DNS query path, so it is compiled once into tables per prefix length (sorted
//! networks, each holding the lowest rule index among its duplicates) and answered with one
//! binary search per length that occurs — no scan of the rules, no allocation, no lock.
//! "First match wins" across lengths is the lowest rule index among the matches, not the
//! longest prefix: a `/8` listed before a `/24` inside it wins, as the configuration reads.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, what a dual-stack socket reports for an IPv4
//! client) are looked up as IPv4, and a mapped rule (`::ffff:10.0.0.0/104`) is an IPv4 rule.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;

/// One compiled family: for each prefix length that occurs, the networks of that length
/// (masked, sorted) with the lowest rule index that lists each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Family<T> {
    /// `(prefix length, sorted (network, rule))`, longest first (the order does not decide
    /// the answer; rule indices do).
    lengths: Vec<(u8, Vec<(T, u32)>)>,
}

impl<T: Copy + Ord + Default + std::ops::BitAnd<Output = T>> Family<T> {
    fn insert(&mut self, len: u8, network: T, rule: u32) {
        let at = match self.lengths.binary_search_by(|(l, _)| len.cmp(l)) {
            Ok(i) => i,
            Err(i) => {
                self.lengths.insert(i, (len, Vec::new()));
                i
            }
        };
        let table = &mut self.lengths[at].1;
        match table.binary_search_by(|(n, _)| n.cmp(&network)) {
            // Rules are inserted in order, so the one already there has the lower index.
            Ok(_) => {}
            Err(i) => table.insert(i, (network, rule)),
        }
    }

    fn lookup(&self, addr: T, mask: impl Fn(u8) -> T) -> Option<u32> {
        let mut best: Option<u32> = None;
        for (len, table) in &self.lengths {
            let network = addr & mask(*len);
            if let Ok(i) = table.binary_search_by(|(n, _)| n.cmp(&network)) {
                let rule = table[i].1;
                if best.is_none_or(|b| rule < b) {
                    best = Some(rule);
                }
            }
        }
        best
    }
}

fn mask4(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn mask6(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

/// The compiled rules of every view: source address → view index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewMatcher {
    v4: Family<u32>,
    v6: Family<u128>,
    /// View of each rule, by rule index.
    views: Vec<u16>,
}

impl ViewMatcher {
    /// Compiles `views` (each view's prefixes, views in configuration order): the rule index
    /// is the position in that flattened order, so the first listed match wins.
    pub fn new<'a>(views: impl IntoIterator<Item = &'a [IpNet]>) -> Self {
        let mut matcher = Self::default();
        for (view, prefixes) in views.into_iter().enumerate() {
            for prefix in prefixes {
                let rule = matcher.views.len() as u32;
                matcher.views.push(u16::try_from(view).unwrap_or(u16::MAX));
                match prefix.trunc() {
                    IpNet::V4(n) => {
                        matcher
                            .v4
                            .insert(n.prefix_len(), u32::from(n.network()), rule);
                    }
                    IpNet::V6(n) => match mapped_v4(n.network()) {
                        Some(v4) if n.prefix_len() >= 96 => {
                            let len = n.prefix_len() - 96;
                            matcher.v4.insert(len, v4 & mask4(len), rule);
                        }
                        _ => matcher
                            .v6
                            .insert(n.prefix_len(), u128::from(n.network()), rule),
                    },
                }
            }
        }
        matcher
    }

    /// True when no view has any rule: every client gets the default.
    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }

    /// The view `addr` falls in, or `None` for the default.
    pub fn lookup(&self, addr: IpAddr) -> Option<usize> {
        if self.views.is_empty() {
            return None;
        }
        let rule = match addr {
            IpAddr::V4(a) => self.v4.lookup(u32::from(a), mask4),
            IpAddr::V6(a) => match mapped_v4(a) {
                Some(v4) => self.v4.lookup(v4, mask4),
                None => self.v6.lookup(u128::from(a), mask6),
            },
        }?;
        self.views.get(rule as usize).map(|&v| usize::from(v))
    }
}

/// The IPv4 address of an IPv4-mapped IPv6 address (`::ffff:0:0/96`).
fn mapped_v4(a: Ipv6Addr) -> Option<u32> {
    let o = a.octets();
    (o[..10] == [0; 10] && o[10] == 0xff && o[11] == 0xff)
        .then(|| u32::from_be_bytes([o[12], o[13], o[14], o[15]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn matcher(views: &[&[&str]]) -> ViewMatcher {
        let compiled: Vec<Vec<IpNet>> = views.iter().map(|v| nets(v)).collect();
        ViewMatcher::new(compiled.iter().map(Vec::as_slice))
    }

    fn at(m: &ViewMatcher, addr: &str) -> Option<usize> {
        m.lookup(addr.parse().unwrap())
    }

    #[test]
    fn first_listed_match_wins_not_the_longest() {
        // View 0 lists a /8, view 1 a /24 inside it: the /8 is listed first and wins.
        let m = matcher(&[&["10.0.0.0/8"], &["10.1.2.0/24", "192.168.0.0/16"]]);
        assert_eq!(at(&m, "10.1.2.3"), Some(0));
        assert_eq!(at(&m, "192.168.7.7"), Some(1));
        assert_eq!(at(&m, "172.16.0.1"), None);
        // Listed the other way round, the /24 comes first.
        let m = matcher(&[&["10.1.2.0/24"], &["10.0.0.0/8"]]);
        assert_eq!(at(&m, "10.1.2.3"), Some(0));
        assert_eq!(at(&m, "10.1.3.3"), Some(1));
    }

    #[test]
    fn within_one_view_order_does_not_matter_and_duplicates_keep_the_first() {
        let m = matcher(&[&["127.0.0.2/32"], &["127.0.0.2/32", "127.0.0.0/8"]]);
        assert_eq!(at(&m, "127.0.0.2"), Some(0));
        assert_eq!(at(&m, "127.0.0.1"), Some(1));
    }

    #[test]
    fn host_routes_and_zero_length_prefixes() {
        let m = matcher(&[&["192.0.2.1/32", "2001:db8::1/128"], &["0.0.0.0/0"]]);
        assert_eq!(at(&m, "192.0.2.1"), Some(0));
        assert_eq!(
            at(&m, "192.0.2.2"),
            Some(1),
            "/0 takes every other IPv4 address"
        );
        assert_eq!(at(&m, "2001:db8::1"), Some(0));
        assert_eq!(at(&m, "2001:db8::2"), None, "an IPv4 /0 is not an IPv6 one");
        let m = matcher(&[&["::/0"]]);
        assert_eq!(at(&m, "2001:db8::2"), Some(0));
        assert_eq!(at(&m, "192.0.2.2"), None);
    }

    #[test]
    fn ipv6_prefixes() {
        let m = matcher(&[&["fd00::/8"], &["2001:db8:1::/48"]]);
        assert_eq!(at(&m, "fd12:3456::1"), Some(0));
        assert_eq!(at(&m, "2001:db8:1:ffff::1"), Some(1));
        assert_eq!(at(&m, "2001:db8:2::1"), None);
    }

    #[test]
    fn mapped_addresses_are_ipv4() {
        let m = matcher(&[&["192.168.0.0/16"], &["::ffff:10.0.0.0/104"]]);
        assert_eq!(at(&m, "::ffff:192.168.1.10"), Some(0));
        assert_eq!(at(&m, "10.9.9.9"), Some(1), "a mapped rule is an IPv4 rule");
        assert_eq!(at(&m, "::ffff:10.9.9.9"), Some(1));
        assert_eq!(
            at(&m, "::192.168.1.10"),
            None,
            "IPv4-compatible is not mapped"
        );
    }

    #[test]
    fn host_bits_of_a_rule_are_ignored() {
        let m = matcher(&[&["10.1.2.3/8"]]);
        assert_eq!(at(&m, "10.200.0.1"), Some(0));
    }

    #[test]
    fn no_rules_no_view() {
        let m = ViewMatcher::default();
        assert!(m.is_empty());
        assert_eq!(at(&m, "10.0.0.1"), None);
    }
}
