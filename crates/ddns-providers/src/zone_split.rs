//! Splitting a hostname into the zone that holds it and the record name inside, by asking the
//! provider which zones it has.
//!
//! Counting labels (or the public suffix list) gets delegated sub-zones and suffixes such as
//! `example.co.uk` wrong (providers.md §0.1), so providers list the zones their credentials
//! see and [`longest_match`] picks the longest one the hostname lies in, on a label boundary.
//! The answer is cached per provider ([`ZoneCache`]) and dropped after any failed call, so a
//! zone that moved or vanished is looked up again instead of being trusted.

use std::sync::Mutex;

use ddns_core::DomainName;

use crate::outcome::{FatalKind, Outcome};

/// A zone a provider hosts, with the provider's own handle for it (an id, or nothing when the
/// API addresses zones by name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Zone<Id> {
    /// The zone's name.
    pub(crate) name: DomainName,
    /// The provider's handle.
    pub(crate) id: Id,
}

/// Parses a zone name as a provider spells it (any case, trailing dot or not). Names that are
/// not valid ASCII DNS names (an IDN given in Unicode) give `None`; callers pass the
/// provider's punycode form first when it has one.
pub(crate) fn parse_zone_name(name: &str) -> Option<DomainName> {
    DomainName::parse(name.trim()).ok()
}

/// The longest zone that `host` equals or lies below, and the record name inside it (`@` for
/// the apex).
pub(crate) fn longest_match<'a, Id>(
    host: &DomainName,
    zones: &'a [Zone<Id>],
) -> Option<(&'a Zone<Id>, String)> {
    zones
        .iter()
        .filter_map(|zone| host.relative_to(&zone.name).map(|rr| (zone, rr.to_owned())))
        .max_by_key(|(zone, _)| zone.name.as_str().len())
}

/// The fatal outcome when no zone the credentials see holds `host`: names what was seen, and
/// what to do in the user's terms.
pub(crate) fn no_zone<Id>(
    service: &str,
    credential: &str,
    host: &DomainName,
    zones: &[Zone<Id>],
) -> Outcome {
    const SHOWN: usize = 5;
    let message = if zones.is_empty() {
        format!(
            "{service} lists no domain for this {credential}, so it cannot hold {host}: add the domain in the {service} console, or use the {credential} of the account that holds it"
        )
    } else {
        let mut names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
        names.sort_unstable();
        let more = names.len().saturating_sub(SHOWN);
        names.truncate(SHOWN);
        let mut list = names.join(", ");
        if more > 0 {
            list.push_str(&format!(" and {more} more"));
        }
        format!(
            "none of the domains {service} lists for this {credential} ({list}) holds {host}: add its domain in the {service} console, fix the record name, or use the {credential} of the account that holds it"
        )
    };
    Outcome::fatal(FatalKind::Host, message)
}

/// The zone found for a hostname, kept until a call fails.
#[derive(Debug)]
pub(crate) struct ZoneCache<Id> {
    entry: Mutex<Option<(DomainName, Zone<Id>, String)>>,
}

impl<Id: Clone> ZoneCache<Id> {
    pub(crate) fn new() -> Self {
        Self {
            entry: Mutex::new(None),
        }
    }

    /// The cached zone and record name of `host`.
    pub(crate) fn get(&self, host: &DomainName) -> Option<(Zone<Id>, String)> {
        let entry = self
            .entry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entry
            .as_ref()
            .filter(|(h, _, _)| h == host)
            .map(|(_, zone, rr)| (zone.clone(), rr.clone()))
    }

    /// Remembers the zone of `host`.
    pub(crate) fn put(&self, host: &DomainName, zone: &Zone<Id>, rr: &str) {
        *self
            .entry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((host.clone(), zone.clone(), rr.to_owned()));
    }

    /// Forgets what was cached, so the next publish asks the provider again.
    pub(crate) fn forget(&self) {
        *self
            .entry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    fn zones(names: &[&str]) -> Vec<Zone<usize>> {
        names
            .iter()
            .enumerate()
            .map(|(id, n)| Zone { name: name(n), id })
            .collect()
    }

    #[test]
    fn the_longest_suffix_on_a_label_boundary_wins() {
        let list = zones(&["co.uk", "example.co.uk", "b.example.co.uk", "xample.co.uk"]);
        let (zone, rr) = longest_match(&name("a.b.example.co.uk"), &list).unwrap();
        assert_eq!((zone.id, rr.as_str()), (2, "a"));
        let (zone, rr) = longest_match(&name("b.example.co.uk"), &list).unwrap();
        assert_eq!((zone.id, rr.as_str()), (2, "@"));
        let (zone, rr) = longest_match(&name("x.a.b.example.co.uk"), &list).unwrap();
        assert_eq!(
            (zone.name.as_str(), rr.as_str()),
            ("b.example.co.uk", "x.a")
        );
        let (zone, rr) = longest_match(&name("home.example.co.uk"), &list).unwrap();
        assert_eq!((zone.name.as_str(), rr.as_str()), ("example.co.uk", "home"));
        // "xample.co.uk" is a string suffix of "example.co.uk" but not on a label boundary.
        let (zone, _) = longest_match(&name("example.co.uk"), &list).unwrap();
        assert_eq!(zone.name.as_str(), "example.co.uk");
        assert!(longest_match(&name("example.org"), &list).is_none());
    }

    #[test]
    fn vendor_spellings_parse() {
        assert_eq!(parse_zone_name("Example.COM."), Some(name("example.com")));
        assert_eq!(parse_zone_name(" example.com "), Some(name("example.com")));
        assert_eq!(parse_zone_name("例子.中国"), None);
        assert_eq!(parse_zone_name(""), None);
    }

    #[test]
    fn no_zone_names_what_was_seen() {
        let host = name("home.example.com");
        let Outcome::Fatal { kind, message } =
            no_zone("Alibaba Cloud DNS", "AccessKey", &host, &zones(&[]))
        else {
            panic!()
        };
        assert_eq!(kind, FatalKind::Host);
        assert!(
            message.contains("lists no domain for this AccessKey"),
            "{message}"
        );
        let many = zones(&[
            "g.org", "f.org", "e.org", "d.org", "c.org", "b.org", "a.org",
        ]);
        let Outcome::Fatal { message, .. } = no_zone("DNSPod", "API key", &host, &many) else {
            panic!()
        };
        assert!(
            message
                .contains("(a.org, b.org, c.org, d.org, e.org and 2 more) holds home.example.com"),
            "{message}"
        );
    }

    #[test]
    fn the_cache_is_per_host_and_can_be_forgotten() {
        let cache = ZoneCache::new();
        let host = name("home.example.com");
        assert!(cache.get(&host).is_none());
        let zone = Zone {
            name: name("example.com"),
            id: 7,
        };
        cache.put(&host, &zone, "home");
        assert_eq!(cache.get(&host), Some((zone, "home".to_owned())));
        assert!(cache.get(&name("other.example.com")).is_none());
        cache.forget();
        assert!(cache.get(&host).is_none());
    }
}
