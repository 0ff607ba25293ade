//! The DNS-protocol part of the server file: `[[tsig_key]]`, and per zone `notify`,
//! `notify_key`, `allow_transfer` and `[[zone.update]]`, validated into the types `ddns-dns`
//! checks requests with.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use ddns_core::{DomainName, RecordSet, Rtype};
use ddns_dns::access::{AccessRule, NamePattern, UpdateRule, ZoneAccess};
use ddns_dns::tsig::{Algorithm, Key};
use serde::Deserialize;
use toml::Spanned;

use crate::error::ConfigError;

/// Port NOTIFY goes to when an address gives none.
const DNS_PORT: u16 = 53;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TsigKeySpec {
    name: Spanned<String>,
    algorithm: Option<Spanned<String>>,
    secret: Option<Spanned<String>>,
    secret_file: Option<Spanned<PathBuf>>,
}

/// Where the inline secrets of `keys` are in the text.
pub(crate) fn secret_spans(keys: &[TsigKeySpec]) -> Vec<std::ops::Range<usize>> {
    keys.iter()
        .filter_map(|k| k.secret.as_ref().map(Spanned::span))
        .collect()
}

/// The `[[zone]]` keys this module reads.
#[derive(Default)]
pub(crate) struct ZoneAccessSpec {
    pub(crate) notify: Option<Vec<Spanned<String>>>,
    pub(crate) notify_key: Option<Spanned<String>>,
    pub(crate) allow_transfer: Option<Vec<Spanned<String>>>,
    pub(crate) update: Option<Vec<UpdateRuleSpec>>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateRuleSpec {
    key: Option<Spanned<String>>,
    subnet: Option<Spanned<String>>,
    names: Option<Vec<Spanned<String>>>,
    types: Option<Vec<Spanned<String>>>,
}

/// `[[tsig_key]]` entries as keys; names unique, algorithms strong, secrets valid.
pub(crate) fn tsig_keys(text: &str, specs: &[TsigKeySpec]) -> Result<Vec<Key>, ConfigError> {
    let mut keys: Vec<Key> = Vec::with_capacity(specs.len());
    for spec in specs {
        let at = |span, msg: String| ConfigError::at(text, Some(span), "tsig_key", msg);
        let name = DomainName::parse(spec.name.get_ref())
            .map_err(|e| at(spec.name.span(), format!("name: {e}")))?;
        let algorithm = match &spec.algorithm {
            Some(a) => Algorithm::parse(a.get_ref()).map_err(|e| at(a.span(), e.to_string()))?,
            None => Algorithm::HmacSha256,
        };
        let secret = match (&spec.secret, &spec.secret_file) {
            (Some(s), None) => s.get_ref().clone(),
            (None, Some(path)) => read_secret_file(path.get_ref())
                .map_err(|m| at(path.span(), format!("secret_file: {m}")))?,
            _ => {
                return Err(at(
                    spec.name.span(),
                    format!("key {name} needs exactly one of secret or secret_file"),
                ));
            }
        };
        let span = spec
            .secret
            .as_ref()
            .map_or_else(|| spec.name.span(), Spanned::span);
        let key = Key::new(&name, algorithm, &secret)
            .map_err(|e| at(span, format!("key {name}: {e}")))?;
        if keys.iter().any(|k| k.name() == key.name()) {
            return Err(at(spec.name.span(), format!("key {name} is defined twice")));
        }
        keys.push(key);
    }
    Ok(keys)
}

/// A secret file holds the base64 secret alone, or a BIND `key { … secret "…"; };` clause as
/// `tsig-keygen` writes it.
fn read_secret_file(path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(at) = text.find("secret") {
        let rest = &text[at + "secret".len()..];
        let quoted = rest.split('"').nth(1);
        if let Some(secret) = quoted {
            return Ok(secret.to_owned());
        }
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(trimmed.to_owned())
}

/// One zone's access settings; `keys` are the configured TSIG keys.
pub(crate) fn zone_access(
    text: &str,
    zone: &DomainName,
    spec: &ZoneAccessSpec,
    keys: &[Key],
) -> Result<ZoneAccess, ConfigError> {
    let known_key = |value: &Spanned<String>, key: &str| known_key(text, keys, value, key);
    let mut access = ZoneAccess::default();
    for entry in spec.notify.iter().flatten() {
        let addr = parse_target(entry.get_ref())
            .map_err(|m| ConfigError::at(text, Some(entry.span()), "zone.notify", m))?;
        access.notify.push(addr);
    }
    for entry in spec.allow_transfer.iter().flatten() {
        let rule = match entry.get_ref().strip_prefix("key:") {
            Some(name) => {
                let spanned = Spanned::new(entry.span(), name.to_owned());
                AccessRule::Key(known_key(&spanned, "zone.allow_transfer")?)
            }
            None => AccessRule::Subnet(crate::server::parse_net(entry.get_ref()).map_err(|m| {
                ConfigError::at(
                    text,
                    Some(entry.span()),
                    "zone.allow_transfer",
                    format!("{m}; a key is written key:NAME"),
                )
            })?),
        };
        access.allow_transfer.push(rule);
    }
    access.notify_key = match &spec.notify_key {
        Some(name) => Some(known_key(name, "zone.notify_key")?),
        // Secondaries that pull with a key usually want NOTIFY signed with it too.
        None => access.allow_transfer.iter().find_map(|r| match r {
            AccessRule::Key(name) => Some(name.clone()),
            AccessRule::Subnet(_) => None,
        }),
    };
    for rule in spec.update.iter().flatten() {
        access.update.push(update_rule(text, zone, rule, keys)?);
    }
    Ok(access)
}

/// A key name that a `[[tsig_key]]` defines.
fn known_key(
    text: &str,
    keys: &[Key],
    value: &Spanned<String>,
    key: &str,
) -> Result<DomainName, ConfigError> {
    let at = |msg: String| ConfigError::at(text, Some(value.span()), key, msg);
    let name = DomainName::parse(value.get_ref()).map_err(|e| at(e.to_string()))?;
    if keys.iter().any(|k| k.name() == name.to_wire()) {
        Ok(name)
    } else {
        Err(at(format!("no [[tsig_key]] is named {name}")))
    }
}

fn update_rule(
    text: &str,
    zone: &DomainName,
    spec: &UpdateRuleSpec,
    keys: &[Key],
) -> Result<UpdateRule, ConfigError> {
    let key = spec
        .key
        .as_ref()
        .map(|k| known_key(text, keys, k, "zone.update.key"))
        .transpose()?;
    let subnet = spec
        .subnet
        .as_ref()
        .map(|s| {
            crate::server::parse_net(s.get_ref())
                .map_err(|m| ConfigError::at(text, Some(s.span()), "zone.update.subnet", m))
        })
        .transpose()?;
    if key.is_none() && subnet.is_none() {
        return Err(ConfigError::new(format!(
            "zone {zone}: every [[zone.update]] needs a key or a subnet (or both)"
        )));
    }
    let mut names = Vec::new();
    for n in spec.names.iter().flatten() {
        let at = |msg: String| ConfigError::at(text, Some(n.span()), "zone.update.names", msg);
        let pattern = NamePattern::parse(n.get_ref()).map_err(|e| at(e.to_string()))?;
        if !pattern.base().is_at_or_below(zone) {
            return Err(at(format!("{} is not in zone {zone}", n.get_ref())));
        }
        names.push(pattern);
    }
    let mut types = Vec::new();
    for t in spec.types.iter().flatten() {
        let at = |msg: String| ConfigError::at(text, Some(t.span()), "zone.update.types", msg);
        let rtype = Rtype::parse(t.get_ref())
            .map_err(|_| at(format!("{:?} is not a record type", t.get_ref())))?;
        RecordSet::check_writable(rtype).map_err(|e| at(e.to_string()))?;
        types.push(rtype);
    }
    Ok(UpdateRule {
        key,
        subnet,
        names,
        types,
    })
}

/// `192.0.2.53`, `192.0.2.53:5353`, `2001:db8::53` or `[2001:db8::53]:5353`.
fn parse_target(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    text.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, DNS_PORT))
        .map_err(|_| format!("{text:?} is not an address or address:port"))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::ServerConfig;

    const KEY: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0";

    fn parse(text: &str) -> Result<ServerConfig, String> {
        ServerConfig::from_toml(text, PathBuf::from("/tmp/d")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_contract_parses() {
        let config = parse(&format!(
            r#"version = 1
[[tsig_key]]
name = "xfr"
algorithm = "hmac-sha256"
secret = "{KEY}"
[[tsig_key]]
name = "win"
algorithm = "hmac-sha512"
secret = "{KEY}"
[[zone]]
name = "dyn.example.com"
notify = ["192.0.2.53:53", "192.0.2.54", "[2001:db8::53]:5353"]
allow_transfer = ["key:xfr", "127.0.0.0/8"]
[[zone.update]]
key = "win"
names = ["*.lan.dyn.example.com"]
types = ["A", "AAAA"]
[[zone.update]]
subnet = "192.168.1.0/24"
"#
        ))
        .unwrap();
        assert_eq!(config.tsig_keys.len(), 2);
        let access = &config.zones[0].access;
        assert_eq!(access.notify.len(), 3);
        assert_eq!(access.notify[1].port(), 53);
        assert_eq!(access.allow_transfer.len(), 2);
        assert_eq!(access.notify_key.as_ref().unwrap().as_str(), "xfr");
        assert_eq!(access.update.len(), 2);
        assert_eq!(access.update[0].types.len(), 2);
        assert!(access.update[1].names.is_empty());
    }

    #[test]
    fn mistakes_are_named() {
        let weak = parse(&format!(
            "version = 1\n[[tsig_key]]\nname = \"k\"\nalgorithm = \"hmac-md5\"\nsecret = \"{KEY}\"\n"
        ))
        .unwrap_err();
        assert!(weak.contains("too weak"), "{weak}");
        let sha1 = parse(&format!(
            "version = 1\n[[tsig_key]]\nname = \"k\"\nalgorithm = \"hmac-sha1\"\nsecret = \"{KEY}\"\n"
        ))
        .unwrap_err();
        assert!(sha1.contains("too weak"), "{sha1}");
        let unknown =
            parse("version = 1\n[[zone]]\nname = \"a.test\"\nallow_transfer = [\"key:nope\"]\n")
                .unwrap_err();
        assert!(
            unknown.contains("no [[tsig_key]] is named nope"),
            "{unknown}"
        );
        let outside = parse(
            "version = 1\n[[zone]]\nname = \"a.test\"\n[[zone.update]]\nsubnet = \"10.0.0.0/8\"\nnames = [\"b.test\"]\n",
        )
        .unwrap_err();
        assert!(outside.contains("not in zone a.test"), "{outside}");
        let nobody =
            parse("version = 1\n[[zone]]\nname = \"a.test\"\n[[zone.update]]\ntypes = [\"A\"]\n")
                .unwrap_err();
        assert!(nobody.contains("needs a key or a subnet"), "{nobody}");
        let short =
            parse("version = 1\n[[tsig_key]]\nname = \"k\"\nsecret = \"c2hvcnQ=\"\n").unwrap_err();
        assert!(short.contains("key k"), "{short}");
        let soa = parse(
            "version = 1\n[[zone]]\nname = \"a.test\"\n[[zone.update]]\nsubnet = \"10.0.0.0/8\"\ntypes = [\"SOA\"]\n",
        )
        .unwrap_err();
        assert!(soa.contains("zone.update.types"), "{soa}");
    }

    #[test]
    fn secret_file_takes_bind_key_clauses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("xfr.key");
        std::fs::write(
            &path,
            format!("key \"xfr\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{KEY}\";\n}};\n"),
        )
        .unwrap();
        let config = parse(&format!(
            "version = 1\n[[tsig_key]]\nname = \"xfr\"\nsecret_file = {:?}\n",
            path.display().to_string()
        ))
        .unwrap();
        assert_eq!(config.tsig_keys[0].name_text(), "xfr.");
    }
}
