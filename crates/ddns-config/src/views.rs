//! `[[view]]`: split-horizon views, validated.
//!
//! ```toml
//! [[view]]
//! name = "lan"
//! match = ["192.168.0.0/16", "10.0.0.0/8"]   # source subnets; first match wins, else default
//! keys = ["lan-xfr"]                          # TSIG keys whose transfers get this view
//! ```
//!
//! A view name is what updates name (`"views": {"lan": …}`, `myip.lan=`) and the store keeps,
//! so it is short and plain: letters, digits and `-`, at most 32, not `default`.

use ddns_core::DomainName;
use ddns_core::view::ViewMatcher;
use ddns_dns::tsig::Key;
use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use crate::ConfigError;

/// A `[[view]]` as written.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct ViewSpec {
    name: Spanned<String>,
    #[serde(rename = "match", default)]
    matches: Vec<Spanned<String>>,
    #[serde(default)]
    keys: Vec<Spanned<String>>,
}

/// One view, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewConfig {
    /// Its name.
    pub name: String,
    /// Source prefixes, in the order written.
    pub matches: Vec<IpNet>,
    /// TSIG keys whose zone transfers get this view's data.
    pub keys: Vec<DomainName>,
}

/// The longest view name.
pub const MAX_VIEW_NAME: usize = 32;

/// Checks a view name as updates and the store take it.
pub fn valid_view_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_VIEW_NAME {
        return Err(format!(
            "view name {name:?} must be 1 to {MAX_VIEW_NAME} characters"
        ));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!(
            "view name {name:?} may hold letters, digits and '-' only"
        ));
    }
    if name.eq_ignore_ascii_case("default") {
        return Err("\"default\" is the data of clients no view matches, not a view".into());
    }
    Ok(())
}

/// Validates every `[[view]]`: names distinct and well-formed, prefixes parsed, keys
/// configured (`[[tsig_key]]`) and in one view only.
pub(crate) fn views(
    text: &str,
    specs: &[ViewSpec],
    keys: &[Key],
) -> Result<Vec<ViewConfig>, ConfigError> {
    let mut out: Vec<ViewConfig> = Vec::with_capacity(specs.len());
    for spec in specs {
        let name = spec.name.get_ref().clone();
        valid_view_name(&name)
            .map_err(|m| ConfigError::at(text, Some(spec.name.span()), "view.name", m))?;
        if out.iter().any(|v| v.name == name) {
            return Err(ConfigError::at(
                text,
                Some(spec.name.span()),
                "view.name",
                format!("view {name} is configured twice"),
            ));
        }
        let mut matches = Vec::with_capacity(spec.matches.len());
        for m in &spec.matches {
            let net = crate::server::parse_net(m.get_ref())
                .map_err(|e| ConfigError::at(text, Some(m.span()), "view.match", e))?;
            matches.push(net);
        }
        let mut view_keys = Vec::with_capacity(spec.keys.len());
        for k in &spec.keys {
            let at = |msg: String| ConfigError::at(text, Some(k.span()), "view.keys", msg);
            let key = DomainName::parse(k.get_ref()).map_err(|e| at(e.to_string()))?;
            if !keys.iter().any(|known| known.domain() == &key) {
                return Err(at(format!(
                    "no [[tsig_key]] is named {key}; define it first"
                )));
            }
            if let Some(other) = out.iter().find(|v| v.keys.contains(&key)) {
                return Err(at(format!(
                    "key {key} already selects view {}; a key picks one view",
                    other.name
                )));
            }
            view_keys.push(key);
        }
        out.push(ViewConfig {
            name,
            matches,
            keys: view_keys,
        });
    }
    Ok(out)
}

/// The compiled matcher of `views`, in configuration order (first match wins).
pub fn matcher(views: &[ViewConfig]) -> ViewMatcher {
    ViewMatcher::new(views.iter().map(|v| v.matches.as_slice()))
}

#[cfg(test)]
mod tests {
    use crate::ServerConfig;
    use std::path::PathBuf;

    fn parse(text: &str) -> Result<ServerConfig, String> {
        ServerConfig::from_toml(text, PathBuf::from("/tmp/d")).map_err(|e| e.to_string())
    }

    const KEY: &str =
        "[[tsig_key]]\nname = \"lan-xfr\"\nsecret = \"c2VjcmV0LXNlY3JldC1zZWNyZXQ=\"\n";

    #[test]
    fn the_contract_parses() {
        let text = format!(
            "version = 1\n{KEY}[[view]]\nname = \"lan\"\nmatch = [\"192.168.0.0/16\", \"10.0.0.0/8\"]\nkeys = [\"lan-xfr\"]\n\
             [[view]]\nname = \"vpn\"\nmatch = [\"fd00::/8\", \"127.0.0.2\"]\n"
        );
        let config = parse(&text).unwrap();
        assert_eq!(config.views.len(), 2);
        assert_eq!(config.views[0].name, "lan");
        assert_eq!(config.views[0].matches.len(), 2);
        assert_eq!(config.views[0].keys[0].as_str(), "lan-xfr");
        let m = super::matcher(&config.views);
        assert_eq!(m.lookup("10.1.1.1".parse().unwrap()), Some(0));
        assert_eq!(m.lookup("127.0.0.2".parse().unwrap()), Some(1));
        assert_eq!(m.lookup("127.0.0.1".parse().unwrap()), None);
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("[[view]]\nname = \"l an\"\n", "view.name"),
            ("[[view]]\nname = \"default\"\n", "default"),
            ("[[view]]\nname = \"a\"\n[[view]]\nname = \"a\"\n", "twice"),
            (
                "[[view]]\nname = \"a\"\nmatch = [\"10.0.0.0/33\"]\n",
                "view.match",
            ),
            (
                "[[view]]\nname = \"a\"\nkeys = [\"nope\"]\n",
                "no [[tsig_key]]",
            ),
            (
                "[[view]]\nname = \"a\"\nmatches = []\n",
                "unknown key `matches`",
            ),
        ];
        for (body, want) in cases {
            let err = parse(&format!("version = 1\n{body}")).unwrap_err();
            assert!(err.contains(want), "{body:?}: {err}");
        }
        let twice = format!(
            "version = 1\n{KEY}[[view]]\nname = \"a\"\nkeys = [\"lan-xfr\"]\n[[view]]\nname = \"b\"\nkeys = [\"lan-xfr\"]\n"
        );
        assert!(
            parse(&twice)
                .unwrap_err()
                .contains("already selects view a")
        );
    }
}
