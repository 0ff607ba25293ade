//! `[[zone.failover]]`: health-checked record sets. A name with several target addresses, of
//! which DNS answers only those whose port answers (`ddns-health` checks them), validated here
//! into a [`FailoverConfig`] per name.
//!
//! A failover name owns its A and AAAA RRsets: the health checker writes them, and dynamic
//! updates of those types at that name are refused like those of static records — unless the
//! entry has a `lease`: then an address update at the name is a node (one token) publishing
//! its own address into the set, which it keeps by updating again within the lease.

use std::net::IpAddr;
use std::time::Duration;

use ddns_core::name::wire_to_text;
use ddns_core::record::MAX_TTL;
use ddns_core::zone_text::TextRecord;
use ddns_core::{DomainName, Rtype};
use serde::Deserialize;
use toml::Spanned;

use crate::duration::ConfigDuration;
use crate::error::ConfigError;

/// Port checked when `check` gives none (SMB).
pub const DEFAULT_PORT: u16 = 445;
/// Targets one failover name may have at most (each answer must fit one UDP message).
pub const MAX_TARGETS: usize = 32;
/// Consecutive results needed at most for `rise` and `fall`.
pub const MAX_COUNT: u32 = 100;
/// Shortest check interval: below it a set of targets is a load generator.
pub const MIN_INTERVAL: Duration = Duration::from_millis(50);
/// Shortest lease: node addresses are kept to the second.
pub const MIN_LEASE: Duration = Duration::from_secs(1);

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct FailoverSpec {
    name: Spanned<String>,
    targets: Spanned<Vec<Spanned<String>>>,
    check: Option<Spanned<CheckSpec>>,
    all_down: Option<Spanned<String>>,
    ttl: Option<Spanned<u32>>,
    lease: Option<Spanned<ConfigDuration>>,
}

/// `check = { port = 445, interval = "1s", timeout = "500ms", rise = 2, fall = 2, smb = false }`.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct CheckSpec {
    port: Option<Spanned<u16>>,
    interval: Option<Spanned<ConfigDuration>>,
    timeout: Option<Spanned<ConfigDuration>>,
    rise: Option<Spanned<u32>>,
    fall: Option<Spanned<u32>>,
    smb: Option<bool>,
}

/// One health-checked name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailoverConfig {
    /// The owner (absolute; at or below the zone).
    pub name: DomainName,
    /// The addresses, distinct, in file order: IPv4 ones are answered as A, IPv6 ones as AAAA.
    /// Empty only with a `lease`: then every target is published by a node.
    pub targets: Vec<IpAddr>,
    /// How each target is checked.
    pub check: HealthCheck,
    /// What is answered while no target is healthy.
    pub all_down: AllDown,
    /// TTL of the answered A/AAAA records (the zone's `ttl` unless given).
    pub ttl: u32,
    /// With a lease, nodes publish their own addresses into the set (DynDNS2 or REST address
    /// updates at the name, one token per node); an address its node has not published again
    /// for this long leaves the set.
    pub lease: Option<Duration>,
}

/// How a target is checked: a TCP connection to `port` (and, with `smb`, an SMB2 NEGOTIATE
/// answered) within `timeout`, every `interval`; `rise` successes in a row make a target
/// healthy, `fall` failures in a row unhealthy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    /// TCP port.
    pub port: u16,
    /// Time between two checks of a target.
    pub interval: Duration,
    /// A check not done within this long failed.
    pub timeout: Duration,
    /// Successes in a row before an unhealthy target is healthy again.
    pub rise: u32,
    /// Failures in a row before a healthy target is unhealthy.
    pub fall: u32,
    /// Also send an SMB2 NEGOTIATE and require a valid answer.
    pub smb: bool,
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            port: DEFAULT_PORT,
            interval: Duration::from_secs(1),
            timeout: Duration::from_millis(500),
            rise: 2,
            fall: 2,
            smb: false,
        }
    }
}

/// `all_down`: the answer while no target is healthy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllDown {
    /// Every target (`answer_all`): a client may still reach one the checker cannot.
    AnswerAll,
    /// No address (`answer_none`): the name has no A/AAAA records (NODATA, or NXDOMAIN when
    /// nothing else is at the name).
    AnswerNone,
}

/// The zone's `[[zone.failover]]` entries; `records` are its static records, which may not
/// hold A, AAAA or CNAME records at a failover name, nor delegate it.
pub(crate) fn failovers(
    text: &str,
    zone: &DomainName,
    default_ttl: u32,
    records: &[TextRecord],
    specs: &[FailoverSpec],
) -> Result<Vec<FailoverConfig>, ConfigError> {
    let mut out: Vec<FailoverConfig> = Vec::with_capacity(specs.len());
    for spec in specs {
        let failover = one(text, zone, default_ttl, spec)?;
        let at_name =
            |key: &str, msg: String| ConfigError::at(text, Some(spec.name.span()), key, msg);
        if out.iter().any(|f| f.name == failover.name) {
            return Err(at_name(
                "zone.failover.name",
                format!("{} has two [[zone.failover]] entries", failover.name),
            ));
        }
        let owner = failover.name.to_wire();
        for record in records {
            let at_owner = record.owner.as_slice() == owner.as_slice();
            if at_owner && matches!(record.rtype, Rtype::A | Rtype::AAAA | Rtype::CNAME) {
                return Err(at_name(
                    "zone.failover.name",
                    format!(
                        "{} is a failover name: its addresses come from the health checks, so zone.records cannot give it {} records",
                        failover.name, record.rtype
                    ),
                ));
            }
            // RFC 1034 §4.2.1: below a zone cut the data is the child zone's, not ours.
            if record.rtype == Rtype::NS && record.owner != zone.to_wire() {
                let cut = DomainName::parse(&wire_to_text(&record.owner));
                if cut.is_ok_and(|cut| failover.name.is_at_or_below(&cut)) {
                    return Err(at_name(
                        "zone.failover.name",
                        format!(
                            "{} is at or below a delegation in zone.records",
                            failover.name
                        ),
                    ));
                }
            }
        }
        out.push(failover);
    }
    Ok(out)
}

fn one(
    text: &str,
    zone: &DomainName,
    default_ttl: u32,
    spec: &FailoverSpec,
) -> Result<FailoverConfig, ConfigError> {
    let at = |span: std::ops::Range<usize>, key: &str, msg: String| {
        ConfigError::at(text, Some(span), key, msg)
    };
    let name = owner(zone, spec.name.get_ref())
        .map_err(|m| at(spec.name.span(), "zone.failover.name", m))?;
    let lease = match &spec.lease {
        None => None,
        Some(lease) if lease.get_ref().0 >= MIN_LEASE => Some(lease.get_ref().0),
        Some(lease) => {
            return Err(at(
                lease.span(),
                "zone.failover.lease",
                format!("must be at least {} s", MIN_LEASE.as_secs()),
            ));
        }
    };
    if spec.targets.get_ref().is_empty() && lease.is_none() {
        return Err(at(
            spec.targets.span(),
            "zone.failover.targets",
            format!(
                "{name} needs at least one target address, or a lease for nodes to publish theirs"
            ),
        ));
    }
    if spec.targets.get_ref().len() > MAX_TARGETS {
        return Err(at(
            spec.targets.span(),
            "zone.failover.targets",
            format!("{name} has more than {MAX_TARGETS} targets"),
        ));
    }
    let mut targets: Vec<IpAddr> = Vec::with_capacity(spec.targets.get_ref().len());
    for target in spec.targets.get_ref() {
        let addr: IpAddr = target.get_ref().parse().map_err(|_| {
            at(
                target.span(),
                "zone.failover.targets",
                format!("{:?} is not an IPv4 or IPv6 address", target.get_ref()),
            )
        })?;
        if addr.is_unspecified() || addr.is_multicast() {
            return Err(at(
                target.span(),
                "zone.failover.targets",
                format!("{addr} cannot be a target (unspecified or multicast)"),
            ));
        }
        if targets.contains(&addr) {
            return Err(at(
                target.span(),
                "zone.failover.targets",
                format!("{addr} is listed twice"),
            ));
        }
        targets.push(addr);
    }
    let check = match &spec.check {
        Some(check) => health_check(text, check.get_ref())?,
        None => HealthCheck::default(),
    };
    let all_down = match &spec.all_down {
        None => AllDown::AnswerAll,
        Some(value) => match value.get_ref().as_str() {
            "answer_all" => AllDown::AnswerAll,
            "answer_none" => AllDown::AnswerNone,
            other => {
                return Err(at(
                    value.span(),
                    "zone.failover.all_down",
                    format!("{other:?} is not a policy (use \"answer_all\" or \"answer_none\")"),
                ));
            }
        },
    };
    let ttl = match &spec.ttl {
        None => default_ttl,
        Some(ttl) if (1..=MAX_TTL).contains(ttl.get_ref()) => *ttl.get_ref(),
        Some(ttl) => {
            return Err(at(
                ttl.span(),
                "zone.failover.ttl",
                format!("must be between 1 and {MAX_TTL}"),
            ));
        }
    };
    Ok(FailoverConfig {
        name,
        targets,
        check,
        all_down,
        ttl,
        lease,
    })
}

/// `files` → `files.<zone>`, `@` → the apex, `files.example.com.` (absolute) must be in the zone.
fn owner(zone: &DomainName, text: &str) -> Result<DomainName, String> {
    let name = if text == "@" {
        zone.clone()
    } else if text.ends_with('.') {
        let name = DomainName::parse(text).map_err(|e| e.to_string())?;
        if !name.is_at_or_below(zone) {
            return Err(format!("{name} is not in zone {zone}"));
        }
        name
    } else {
        DomainName::parse(&format!("{text}.{zone}")).map_err(|e| e.to_string())?
    };
    if name.is_wildcard() {
        return Err(format!("{name}: a failover name cannot be a wildcard"));
    }
    Ok(name)
}

fn health_check(text: &str, spec: &CheckSpec) -> Result<HealthCheck, ConfigError> {
    let mut check = HealthCheck::default();
    let count = |n: &Spanned<u32>, key: &str| {
        if (1..=MAX_COUNT).contains(n.get_ref()) {
            Ok(*n.get_ref())
        } else {
            Err(ConfigError::at(
                text,
                Some(n.span()),
                key,
                format!("must be between 1 and {MAX_COUNT}"),
            ))
        }
    };
    if let Some(port) = &spec.port {
        if *port.get_ref() == 0 {
            return Err(ConfigError::at(
                text,
                Some(port.span()),
                "zone.failover.check.port",
                "must be between 1 and 65535",
            ));
        }
        check.port = *port.get_ref();
    }
    if let Some(interval) = &spec.interval {
        if interval.get_ref().0 < MIN_INTERVAL {
            return Err(ConfigError::at(
                text,
                Some(interval.span()),
                "zone.failover.check.interval",
                format!("must be at least {} ms", MIN_INTERVAL.as_millis()),
            ));
        }
        check.interval = interval.get_ref().0;
    }
    if let Some(timeout) = &spec.timeout {
        check.timeout = timeout.get_ref().0;
        // A check that may outlast its interval would overlap the next one of the target.
        if check.timeout.is_zero() || check.timeout > check.interval {
            return Err(ConfigError::at(
                text,
                Some(timeout.span()),
                "zone.failover.check.timeout",
                format!(
                    "must be longer than 0 and at most the interval ({} ms)",
                    check.interval.as_millis()
                ),
            ));
        }
    } else if check.timeout > check.interval {
        check.timeout = check.interval;
    }
    if let Some(rise) = &spec.rise {
        check.rise = count(rise, "zone.failover.check.rise")?;
    }
    if let Some(fall) = &spec.fall {
        check.fall = count(fall, "zone.failover.check.fall")?;
    }
    if let Some(smb) = spec.smb {
        check.smb = smb;
    }
    Ok(check)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::ServerConfig;

    use super::*;

    fn parse(zone_body: &str) -> Result<ServerConfig, ConfigError> {
        ServerConfig::from_toml(
            &format!("version = 1\n[[zone]]\nname = \"example.com\"\n{zone_body}"),
            PathBuf::from("/tmp/d"),
        )
    }

    #[test]
    fn the_contract_parses_into_typed_values() {
        let config = parse(
            r#"ttl = 30
[[zone.failover]]
name = "files"                       # relative to the zone
targets = ["203.0.113.10", "203.0.113.11", "2001:db8::10"]
check = { port = 445, interval = "1s", timeout = "500ms", rise = 2, fall = 2 }
all_down = "answer_all"              # or "answer_none"
[[zone.failover]]
name = "@"
targets = ["192.0.2.1"]
check = { port = 80, interval = "200ms", rise = 3, fall = 1, smb = true }
all_down = "answer_none"
ttl = 5
"#,
        )
        .unwrap();
        let zone = &config.zones[0];
        assert_eq!(zone.failover.len(), 2);
        let files = &zone.failover[0];
        assert_eq!(files.name.as_str(), "files.example.com");
        assert_eq!(
            files.targets,
            vec![
                "203.0.113.10".parse::<IpAddr>().unwrap(),
                "203.0.113.11".parse().unwrap(),
                "2001:db8::10".parse().unwrap()
            ]
        );
        assert_eq!(files.check, HealthCheck::default());
        assert_eq!(files.all_down, AllDown::AnswerAll);
        assert_eq!(files.ttl, 30, "the zone's ttl by default");
        let apex = &zone.failover[1];
        assert_eq!(apex.name.as_str(), "example.com");
        assert_eq!(
            apex.check,
            HealthCheck {
                port: 80,
                interval: Duration::from_millis(200),
                // The default timeout (500 ms) is cut to the interval.
                timeout: Duration::from_millis(200),
                rise: 3,
                fall: 1,
                smb: true
            }
        );
        assert_eq!((apex.all_down, apex.ttl), (AllDown::AnswerNone, 5));
    }

    #[test]
    fn defaults_are_the_contracts() {
        let config =
            parse("[[zone.failover]]\nname = \"files\"\ntargets = [\"192.0.2.1\"]\n").unwrap();
        let f = &config.zones[0].failover[0];
        assert_eq!(
            (
                f.check.port,
                f.check.interval,
                f.check.timeout,
                f.check.rise,
                f.check.fall
            ),
            (
                445,
                Duration::from_secs(1),
                Duration::from_millis(500),
                2,
                2
            )
        );
        assert!(!f.check.smb);
        assert_eq!(f.all_down, AllDown::AnswerAll);
        assert_eq!(f.lease, None, "no node publishes without a lease");
    }

    #[test]
    fn a_lease_lets_nodes_publish_the_targets() {
        let config =
            parse("[[zone.failover]]\nname = \"files\"\ntargets = []\nlease = \"10m\"\n").unwrap();
        let f = &config.zones[0].failover[0];
        assert!(f.targets.is_empty());
        assert_eq!(f.lease, Some(Duration::from_secs(600)));
    }

    #[test]
    fn bad_entries_name_their_line_and_key() {
        for (body, line, key) in [
            (
                "name = \"files\"\ntargets = []\n",
                6,
                Some("zone.failover.targets"),
            ),
            (
                "name = \"files\"\ntargets = [\"192.0.2.1\", \"files.example.net\"]\n",
                6,
                Some("zone.failover.targets"),
            ),
            (
                "name = \"files\"\ntargets = [\"192.0.2.1\", \"192.0.2.1\"]\n",
                6,
                Some("zone.failover.targets"),
            ),
            (
                "name = \"files\"\ntargets = [\"0.0.0.0\"]\n",
                6,
                Some("zone.failover.targets"),
            ),
            (
                "name = \"*.files\"\ntargets = [\"192.0.2.1\"]\n",
                5,
                Some("zone.failover.name"),
            ),
            (
                "name = \"files.example.net.\"\ntargets = [\"192.0.2.1\"]\n",
                5,
                Some("zone.failover.name"),
            ),
            (
                "name = \"files\"\ntargets = [\"192.0.2.1\"]\nall_down = \"answer_some\"\n",
                7,
                Some("zone.failover.all_down"),
            ),
            (
                "name = \"files\"\ntargets = [\"192.0.2.1\"]\ncheck = { port = 0 }\n",
                7,
                Some("zone.failover.check.port"),
            ),
            (
                "name = \"files\"\ntargets = [\"192.0.2.1\"]\ncheck = { interval = \"10ms\" }\n",
                7,
                Some("zone.failover.check.interval"),
            ),
            (
                "name = \"files\"\ntargets = [\"192.0.2.1\"]\ncheck = { timeout = \"2s\" }\n",
                7,
                Some("zone.failover.check.timeout"),
            ),
            (
                "name = \"files\"\ntargets = [\"192.0.2.1\"]\ncheck = { rise = 0 }\n",
                7,
                Some("zone.failover.check.rise"),
            ),
            (
                "name = \"files\"\ntargets = [\"192.0.2.1\"]\ncheck = { fall = 101 }\n",
                7,
                Some("zone.failover.check.fall"),
            ),
            (
                "name = \"files\"\ntargets = [\"192.0.2.1\"]\nttl = 0\n",
                7,
                Some("zone.failover.ttl"),
            ),
            (
                "name = \"files\"\ntargets = []\nlease = \"500ms\"\n",
                7,
                Some("zone.failover.lease"),
            ),
            (
                "name = \"files\"\ntargets = [\"192.0.2.1\"]\ncheck = { prot = 1 }\n",
                7,
                Some("prot"),
            ),
            (
                "name = \"files\"\ntarget = [\"192.0.2.1\"]\n",
                6,
                Some("target"),
            ),
        ] {
            let err = parse(&format!("[[zone.failover]]\n{body}")).unwrap_err();
            assert_eq!(
                (err.line, err.key.as_deref()),
                (Some(line), key),
                "{body}: {err}"
            );
        }
    }

    #[test]
    fn a_failover_name_owns_its_addresses() {
        for records in [
            "records = [\"files A 192.0.2.9\"]",
            "records = [\"files AAAA 2001:db8::9\"]",
            "records = [\"files CNAME elsewhere.example.net.\"]",
            "records = [\"dept NS ns.example.net.\"]",
        ] {
            let name = if records.contains("dept") {
                "files.dept"
            } else {
                "files"
            };
            let err = parse(&format!(
                "{records}\n[[zone.failover]]\nname = \"{name}\"\ntargets = [\"192.0.2.1\"]\n"
            ))
            .unwrap_err();
            assert_eq!(
                err.key.as_deref(),
                Some("zone.failover.name"),
                "{records}: {err}"
            );
            assert_eq!(err.line, Some(6), "{records}: {err}");
        }
        // Other types at the name, and a delegation elsewhere, are fine.
        let config = parse(
            "records = [\"files TXT hello\", \"filesx NS ns.example.net.\"]\n[[zone.failover]]\nname = \"files\"\ntargets = [\"192.0.2.1\"]\n",
        )
        .unwrap();
        assert_eq!(config.zones[0].failover.len(), 1);
        let err = parse(
            "[[zone.failover]]\nname = \"files\"\ntargets = [\"192.0.2.1\"]\n[[zone.failover]]\nname = \"FILES\"\ntargets = [\"192.0.2.2\"]\n",
        )
        .unwrap_err();
        assert_eq!(
            (err.line, err.key.as_deref()),
            (Some(8), Some("zone.failover.name"))
        );
    }
}
