//! What the signed cloud DNS APIs (`alidns`, `dnspod`, `huaweicloud`) share once a request is
//! signed: which record types an update touches, the per-family diff between the records a
//! provider has and the addresses wanted, and vendor text made safe to show.
//!
//! The diff is where "create when missing, update when different, nothing when equal" lives:
//! one read of the name's records, then at most one write per family for one address. Records
//! of other types, other lines and other names are never part of a plan, so they are never
//! touched.

use std::collections::BTreeSet;
use std::net::IpAddr;

use reqwest::Url;
use serde::de::DeserializeOwned;
use serde::{Deserialize as _, Deserializer};

use crate::http;
use crate::outcome::Outcome;
use crate::provider::Update;
use crate::signing::hex;
use crate::spec::{ProviderConfigError, Secret};

/// The two record types the agent publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RecordType {
    /// IPv4 addresses.
    A,
    /// IPv6 addresses.
    Aaaa,
}

impl RecordType {
    /// The type as the APIs spell it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::Aaaa => "AAAA",
        }
    }

    /// The type a provider's record carries, if it is one of ours.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        if text.eq_ignore_ascii_case("A") {
            Some(Self::A)
        } else if text.eq_ignore_ascii_case("AAAA") {
            Some(Self::Aaaa)
        } else {
            None
        }
    }
}

/// The families an update asks for, each with its addresses (deduplicated, in order).
///
/// A family that is `None` *or empty* is left alone: the agent never sends an empty family
/// (a failed detection never becomes a record), and deleting a name's records because a list
/// came out empty would take it off the air for a glitch.
pub(crate) fn wanted(update: &Update) -> Vec<(RecordType, Vec<IpAddr>)> {
    let mut out = Vec::new();
    let v4: Vec<IpAddr> = update.ipv4_list().iter().copied().map(IpAddr::V4).collect();
    let v6: Vec<IpAddr> = update.ipv6_list().iter().copied().map(IpAddr::V6).collect();
    for (rtype, list) in [(RecordType::A, v4), (RecordType::Aaaa, v6)] {
        let mut seen = BTreeSet::new();
        let list: Vec<IpAddr> = list.into_iter().filter(|a| seen.insert(*a)).collect();
        if !list.is_empty() {
            out.push((rtype, list));
        }
    }
    out
}

/// One record of one type that the provider already has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Existing<Id> {
    /// The provider's record id.
    pub(crate) id: Id,
    /// The value as the provider returned it.
    pub(crate) value: String,
    /// Its TTL, when the provider said.
    pub(crate) ttl: Option<u32>,
}

/// One write that brings a family to the wanted addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step<Id> {
    /// Point an existing record at another address (or give it the wanted TTL).
    Update {
        /// The record.
        id: Id,
        /// The address it gets.
        value: IpAddr,
        /// The TTL it keeps or gets.
        ttl: Option<u32>,
    },
    /// Add a record.
    Create {
        /// Its address.
        value: IpAddr,
    },
    /// Remove a record that no wanted address needs.
    Delete {
        /// The record.
        id: Id,
    },
}

/// The writes that turn `existing` (records of one type, name and line) into one record per
/// address of `desired`, with the TTL `ttl` when one is asked for.
///
/// Records that already hold a wanted address are kept; the others are re-pointed at the
/// addresses still missing before anything is created, and only what is left over is
/// deleted, so a change of address is one update, never a delete and a create. Values are
/// compared as addresses (`2001:DB8::1` equals `2001:db8:0::1`).
pub(crate) fn plan_records<Id: Clone>(
    existing: &[Existing<Id>],
    desired: &[IpAddr],
    ttl: Option<u32>,
) -> Vec<Step<Id>> {
    let mut missing: Vec<IpAddr> = desired.to_vec();
    let mut spare: Vec<&Existing<Id>> = Vec::new();
    let mut steps = Vec::new();
    for record in existing {
        let parsed = record.value.trim().parse::<IpAddr>().ok();
        match parsed.and_then(|a| missing.iter().position(|m| *m == a)) {
            Some(index) => {
                let value = missing.remove(index);
                if ttl.is_some_and(|t| record.ttl != Some(t)) {
                    steps.push(Step::Update {
                        id: record.id.clone(),
                        value,
                        ttl,
                    });
                }
            }
            None => spare.push(record),
        }
    }
    let mut spare = spare.into_iter();
    for value in missing {
        match spare.next() {
            Some(record) => steps.push(Step::Update {
                id: record.id.clone(),
                value,
                ttl: ttl.or(record.ttl),
            }),
            None => steps.push(Step::Create { value }),
        }
    }
    steps.extend(spare.map(|record| Step::Delete {
        id: record.id.clone(),
    }));
    steps
}

/// Whether a record set's values are exactly the wanted addresses (as sets of addresses).
pub(crate) fn same_addresses(values: &[String], desired: &[IpAddr]) -> bool {
    let have: Option<BTreeSet<IpAddr>> = values.iter().map(|v| v.trim().parse().ok()).collect();
    have.is_some_and(|have| have == desired.iter().copied().collect())
}

/// A vendor's error code and message for a log line: first line only, at most 200
/// characters, and any credential the vendor echoed (Alibaba puts the string it signed in
/// `SignatureDoesNotMatch` messages) replaced by `***`.
pub(crate) fn vendor_says(code: &str, message: &str, secrets: &[&Secret]) -> String {
    let line = message.lines().map(str::trim).find(|l| !l.is_empty());
    let mut text: String = line.unwrap_or_default().chars().take(200).collect();
    if text.len() < line.unwrap_or_default().len() {
        text.push('…');
    }
    let said = if text.is_empty() {
        code.to_owned()
    } else {
        format!("{code}: {}", text.trim_end_matches('.'))
    };
    redact(&said, secrets)
}

/// `text` with every occurrence of each non-empty secret replaced by `***`.
pub(crate) fn redact(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        let value = secret.expose().trim();
        if !value.is_empty() {
            out = out.replace(value, "***");
        }
    }
    out
}

/// The `Host` header value the HTTP client sends for `url` (`host[:port]`, the port only when
/// it is not the scheme's default): the signed value has to be the sent one.
pub(crate) fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// Decodes a successful reply, or says that the endpoint answered something else.
pub(crate) fn decode<T: DeserializeOwned>(
    service: &str,
    endpoint: &str,
    action: &str,
    body: &str,
) -> Result<T, Outcome> {
    serde_json::from_str(body).map_err(|e| {
        Outcome::transient(format!(
            "{endpoint} answered {action} with something that is not a {service} reply ({e}); check the endpoint setting"
        ))
    })
}

/// Accepts an id the vendor sends as a JSON string or as a number, as text.
pub(crate) fn id_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected an id, found {other}"
        ))),
    }
}

/// Parses the `endpoint` setting (or the vendor's default): an http(s) base URL without
/// credentials, query or fragment.
pub(crate) fn endpoint_url(
    configured: Option<&str>,
    default: &str,
) -> Result<Url, ProviderConfigError> {
    let url = http::parse_url("endpoint", configured.unwrap_or(default))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ProviderConfigError::BadUrl {
            field: "endpoint",
            reason: "give the API's base URL without a query or fragment".into(),
        });
    }
    Ok(url)
}

/// `base` with path segments appended (each percent-encoded; a trailing `""` gives the
/// trailing slash some APIs require).
pub(crate) fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// The `line` setting, or the vendor's default line.
pub(crate) fn line(configured: Option<&str>, default: &str) -> Result<String, ProviderConfigError> {
    match configured.map(str::trim) {
        None => Ok(default.to_owned()),
        Some("") => Err(ProviderConfigError::Missing {
            field: "line",
            hint: "remove it to use the default line, or name a resolution line",
        }),
        Some(line) => Ok(line.to_owned()),
    }
}

/// `2026-01-02T03:04:05Z`: Alibaba's `x-acs-date`.
pub(crate) const ISO8601_SECONDS: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// `20260102T030405Z`: Huawei's `X-Sdk-Date`.
pub(crate) const BASIC_SECONDS: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

/// The current UTC time in `format`.
pub(crate) fn utc_now(format: &[time::format_description::BorrowedFormatItem<'_>]) -> String {
    time::OffsetDateTime::now_utc()
        .format(format)
        .unwrap_or_default()
}

/// A fresh random nonce (32 hex digits) for replay protection.
pub(crate) fn nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // Without the OS generator, time and a counter still never repeat within a process,
        // which is all the server checks (a nonce is refused only when seen before).
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        bytes[..8].copy_from_slice(&(nanos as u64).to_be_bytes());
        bytes[8..].copy_from_slice(&count.to_be_bytes());
    }
    hex(&bytes)
}

#[cfg(test)]
mod tests {
    use ddns_core::DomainName;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn rec(id: u32, value: &str, ttl: u32) -> Existing<u32> {
        Existing {
            id,
            value: value.to_owned(),
            ttl: Some(ttl),
        }
    }

    #[test]
    fn equal_is_nothing_different_is_one_update_missing_is_one_create() {
        let have = [rec(1, "192.0.2.1", 600)];
        assert_eq!(plan_records(&have, &[ip("192.0.2.1")], None), vec![]);
        assert_eq!(plan_records(&have, &[ip("192.0.2.1")], Some(600)), vec![]);
        assert_eq!(
            plan_records(&have, &[ip("192.0.2.9")], None),
            vec![Step::Update {
                id: 1,
                value: ip("192.0.2.9"),
                ttl: Some(600)
            }]
        );
        assert_eq!(
            plan_records::<u32>(&[], &[ip("192.0.2.9")], None),
            vec![Step::Create {
                value: ip("192.0.2.9")
            }]
        );
        // Only the TTL differs: one update that keeps the address.
        assert_eq!(
            plan_records(&have, &[ip("192.0.2.1")], Some(60)),
            vec![Step::Update {
                id: 1,
                value: ip("192.0.2.1"),
                ttl: Some(60)
            }]
        );
    }

    #[test]
    fn several_addresses_reuse_records_before_creating_or_deleting() {
        let have = [rec(1, "192.0.2.1", 600), rec(2, "192.0.2.2", 600)];
        // One kept, one re-pointed.
        assert_eq!(
            plan_records(&have, &[ip("192.0.2.2"), ip("192.0.2.3")], None),
            vec![Step::Update {
                id: 1,
                value: ip("192.0.2.3"),
                ttl: Some(600)
            }]
        );
        // Three wanted: one kept, one re-pointed, one created.
        let steps = plan_records(
            &have,
            &[ip("192.0.2.2"), ip("192.0.2.3"), ip("192.0.2.4")],
            None,
        );
        assert_eq!(steps.len(), 2);
        assert!(matches!(steps[1], Step::Create { .. }));
        // One wanted: one kept, the other deleted.
        assert_eq!(
            plan_records(&have, &[ip("192.0.2.1")], None),
            vec![Step::Delete { id: 2 }]
        );
        // A duplicate of a wanted value and an unparsable value are spare records.
        let odd = [
            rec(1, "192.0.2.1", 600),
            rec(2, "192.0.2.1", 600),
            rec(3, "not an address", 600),
        ];
        assert_eq!(
            plan_records(&odd, &[ip("192.0.2.1")], None),
            vec![Step::Delete { id: 2 }, Step::Delete { id: 3 }]
        );
    }

    #[test]
    fn addresses_compare_as_addresses() {
        let have = [rec(1, "2001:DB8:0::1", 600)];
        assert_eq!(plan_records(&have, &[ip("2001:db8::1")], None), vec![]);
        assert!(same_addresses(
            &["2001:DB8::1".into(), "2001:db8::2".into()],
            &[ip("2001:db8::2"), ip("2001:db8::1")]
        ));
        assert!(!same_addresses(
            &["2001:db8::1".into()],
            &[ip("2001:db8::2")]
        ));
        assert!(!same_addresses(&["x".into()], &[ip("2001:db8::2")]));
    }

    #[test]
    fn empty_and_absent_families_are_left_alone() {
        let host = DomainName::parse("h.example.com").unwrap();
        let u = Update::new(
            host.clone(),
            Some(vec![
                "192.0.2.1".parse().unwrap(),
                "192.0.2.1".parse().unwrap(),
            ]),
            Some(vec![]),
        );
        assert_eq!(wanted(&u), vec![(RecordType::A, vec![ip("192.0.2.1")])]);
        let u = Update::new(host, None, Some(vec!["2001:db8::1".parse().unwrap()]));
        assert_eq!(
            wanted(&u),
            vec![(RecordType::Aaaa, vec![ip("2001:db8::1")])]
        );
        assert_eq!(RecordType::parse("aaaa"), Some(RecordType::Aaaa));
        assert_eq!(RecordType::parse("CNAME"), None);
    }

    #[test]
    fn vendor_text_is_short_and_never_holds_a_secret() {
        let secret = Secret::new("s3cr3t-VALUE");
        let says = vendor_says(
            "SignatureDoesNotMatch",
            "Specified signature is not matched. server string to sign is:s3cr3t-VALUE\nmore",
            &[&secret],
        );
        assert_eq!(
            says,
            "SignatureDoesNotMatch: Specified signature is not matched. server string to sign is:***"
        );
        assert_eq!(vendor_says("Throttling", "", &[]), "Throttling");
        assert_eq!(vendor_says("X", &"y".repeat(300), &[]).chars().count(), 204);
        assert_eq!(redact("a", &[&Secret::new(" ")]), "a");
    }
}
