//! The agent's configuration: the TOML file (version 1), secrets resolved from the environment
//! or from files, and the validated [`AgentConfig`] the agent runs on.
//!
//! ```toml
//! version = 1
//! [agent]
//! interval = "5m"
//! [detect.ipv4]                       # how addresses are found (default: built-in sources)
//! sources = [{ kind = "interface", name = "ppp0" }]
//! [providers.home]                    # where records are published
//! type = "ddns"
//! url = "https://ddns.example.com"
//! token = "${DDNS_TOKEN}"             # or token_file = "/run/secrets/ddns"
//! [[record]]
//! name = "files.example.com"
//! provider = "home"
//! families = ["ipv4", "ipv6"]
//! lan_view = "lan"                    # also publish the LAN address to this server view
//! lan_sources = [{ kind = "interface", name = "eth0" }]   # default: any interface
//! ```
//! Secrets are never required inline: `"${NAME}"` inside a double-quoted string is replaced by
//! the environment variable (the text keeps its lines, so errors still point at the right one),
//! any provider key `X_file` is replaced by key `X` holding the file's content, and a sealed
//! value (`"enc:…"` from `ddns secret protect`) by the value it seals. Unknown keys and bad
//! values are [`ConfigError`]s with file, line and key.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ddns_config::ConfigError;
use ddns_config::duration::ConfigDuration;
use ddns_core::DomainName;
use ddns_detect::{AllowedClasses, Family, Policy, Source, SourceSpec};
use ddns_providers::webhook::{WebhookProvider, WebhookSpec};
use ddns_providers::{BuildContext, Provider, ProviderSpec};
use serde::Deserialize;
use toml::Spanned;

use crate::fingerprint::{ConfigDigest, Salt};

/// Shortest polling interval (the issue of a stream of requests to echo services and providers).
pub const MIN_INTERVAL: Duration = Duration::from_secs(30);

// ----------------------------------------------------------------------------------------
// File spec

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    version: Spanned<u32>,
    #[serde(default)]
    agent: AgentSpec,
    #[serde(default)]
    detect: FamilyDetectSpec,
    #[serde(default)]
    providers: BTreeMap<String, Spanned<toml::Table>>,
    #[serde(default)]
    record: Vec<Spanned<RecordSpec>>,
    #[serde(default)]
    notify: Vec<Spanned<NotifySpec>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AgentSpec {
    state_file: Option<PathBuf>,
    interval: Option<Spanned<ConfigDuration>>,
    jitter: Option<ConfigDuration>,
    force_refresh: Option<ConfigDuration>,
    verify_interval: Option<ConfigDuration>,
    retry_base: Option<ConfigDuration>,
    retry_cap: Option<ConfigDuration>,
    resolver: Option<Spanned<String>>,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(deny_unknown_fields)]
struct FamilyDetectSpec {
    ipv4: Option<DetectSpec>,
    ipv6: Option<DetectSpec>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
struct DetectSpec {
    sources: Option<Vec<SourceSpec>>,
    quorum: Option<usize>,
    timeout: Option<ConfigDuration>,
    #[serde(default)]
    allow: AllowedClasses,
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
enum ModeSpec {
    #[default]
    All,
    Preferred,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RecordSpec {
    name: Spanned<String>,
    provider: Spanned<String>,
    families: Option<Vec<Family>>,
    ttl: Option<u32>,
    verify_servers: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    detect: FamilyDetectSpec,
    #[serde(default)]
    mode: ModeSpec,
    drop_after: Option<u32>,
    #[serde(default)]
    line: Vec<LineSpec>,
    lan_view: Option<Spanned<String>>,
    lan_sources: Option<Vec<SourceSpec>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct LineSpec {
    name: String,
    ipv4: Option<DetectSpec>,
    ipv6: Option<DetectSpec>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct NotifySpec {
    events: Vec<NotifyEvent>,
    method: Option<String>,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
}

// ----------------------------------------------------------------------------------------
// Runtime config

/// When notifications are sent.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    /// A record was published with new addresses.
    Change,
    /// A record could not be published (fatal, or a transient failure that starts a backoff).
    Failure,
    /// A record published again after failures.
    Recovery,
}

/// A validated agent configuration.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Where the agent keeps what it published.
    pub state_file: PathBuf,
    /// Polling interval for addresses seen from outside.
    pub interval: Duration,
    /// Random extra delay added to each interval (0..=jitter).
    pub jitter: Duration,
    /// Publish again after this long even when nothing changed.
    pub force_refresh: Duration,
    /// Check the authoritative answer this often (`None`: never).
    pub verify_interval: Option<Duration>,
    /// First retry delay after a transient failure.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_cap: Duration,
    /// Recursive resolver used to find a zone's name servers for verification.
    pub resolver: Option<SocketAddr>,
    /// The records.
    pub records: Vec<RecordConfig>,
    /// The `[detect]` tables as written, for `ddns ip`.
    detect_specs: BTreeMap<Family, Option<DetectSpec>>,
    /// Notification hooks.
    pub notify: Vec<Notifier>,
}

/// One record: a name published to one provider.
#[derive(Debug, Clone)]
pub struct RecordConfig {
    /// The name.
    pub name: DomainName,
    /// The provider's name in `[providers]`.
    pub provider_name: String,
    /// The provider.
    pub provider: Arc<dyn Provider>,
    /// TTL, when the provider takes one.
    pub ttl: Option<u32>,
    /// Address sources, per published family: one or more lines.
    pub families: Vec<(Family, Vec<LineConfig>)>,
    /// How lines combine.
    pub mode: LineMode,
    /// Rounds a line may fail before its address is dropped.
    pub drop_after: u32,
    /// Authoritative servers to verify against (empty: find them through the resolver).
    pub verify_servers: Vec<SocketAddr>,
    /// A split-horizon view of a ddns server that gets the machine's LAN address in the same
    /// update (`lan_view`, `lan_sources`).
    pub lan: Option<LanView>,
    /// Digest of everything that configures this record (fatal errors clear when it changes);
    /// only its keyed form ([`RecordConfig::fingerprint`]) is ever written down.
    pub digest: ConfigDigest,
}

impl RecordConfig {
    /// The record's fingerprint under this installation's salt, as kept in the state file.
    pub fn fingerprint(&self, salt: &Salt) -> String {
        salt.fingerprint(&self.digest)
    }

    /// The key of this record in the state file.
    pub fn key(&self) -> String {
        format!("{}@{}", self.name, self.provider_name)
    }

    /// True when some line of the record reads a local interface (interface events matter).
    pub fn uses_interfaces(&self) -> bool {
        self.families
            .iter()
            .flat_map(|(_, lines)| lines)
            .any(|l| l.detector.sources.iter().any(Source::is_local))
            || self.lan.is_some()
    }
}

/// The LAN side of a split-horizon record: the view's name and how the LAN address is found.
#[derive(Debug, Clone)]
pub struct LanView {
    /// The server's `[[view]] name`.
    pub view: String,
    /// IPv4 detection from local sources, accepting private (RFC 1918) and shared (RFC 6598)
    /// addresses besides public ones.
    pub detector: Arc<Detector>,
}

/// How several lines (WAN links) of a record combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineMode {
    /// Publish the address of every line that is up.
    All,
    /// Publish the first line that is up; the others are fallbacks.
    Preferred,
}

/// One line (WAN link) of a record for one family.
#[derive(Debug, Clone)]
pub struct LineConfig {
    /// Its name (`default` when the record has no `[[record.line]]`).
    pub name: String,
    /// How its address is detected.
    pub detector: Arc<Detector>,
}

/// A detection setup: sources and policy. Setups written once are shared, so each is run once
/// per round however many records use it.
#[derive(Debug)]
pub struct Detector {
    /// The family.
    pub family: Family,
    /// Sources.
    pub sources: Vec<Source>,
    /// Quorum, timeout, accepted classes.
    pub policy: Policy,
}

/// A notification hook.
#[derive(Debug, Clone)]
pub struct Notifier {
    /// Events it wants.
    pub events: Vec<NotifyEvent>,
    /// The request (the webhook provider's templates and reply handling).
    pub hook: Arc<WebhookProvider>,
}

impl AgentConfig {
    /// Reads, resolves and validates a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(format!("cannot read {}: {e}", path.display())))?;
        Self::from_file_text(&text, path)
    }

    /// Validates the text of the file at `path` (already read), with the process environment.
    pub fn from_file_text(text: &str, path: &Path) -> Result<Self, ConfigError> {
        Self::parse(text, &|name| std::env::var(name).ok(), path.parent())
            .map_err(|e| e.in_file(path))
    }

    /// Validates configuration text; `env` resolves `${NAME}`, relative `*_file` paths are
    /// taken from `base`.
    pub fn parse(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
        base: Option<&Path>,
    ) -> Result<Self, ConfigError> {
        let text = ddns_config::open_sealed(&expand_env(text, env)?, env)?;
        let spec: FileSpec =
            toml::from_str(&text).map_err(|e| ConfigError::from_toml(&text, &e))?;
        if *spec.version.get_ref() != 1 {
            return Err(ConfigError::at(
                &text,
                Some(spec.version.span()),
                "version",
                format!(
                    "version {} is not known; this ddns reads version = 1",
                    spec.version.get_ref()
                ),
            ));
        }
        let a = &spec.agent;
        let interval = a
            .interval
            .as_ref()
            .map_or(Duration::from_secs(300), |i| i.get_ref().0);
        if interval < MIN_INTERVAL {
            let span = a.interval.as_ref().map(Spanned::span);
            return Err(ConfigError::at(
                &text,
                span,
                "agent.interval",
                "must be at least 30s",
            ));
        }
        let resolver = a
            .resolver
            .as_ref()
            .map(|r| {
                parse_server(r.get_ref())
                    .map_err(|m| ConfigError::at(&text, Some(r.span()), "agent.resolver", m))
            })
            .transpose()?;
        let verify_interval = a
            .verify_interval
            .map_or(Some(Duration::from_secs(3600)), |d| {
                Some(d.0).filter(|d| !d.is_zero())
            });

        let mut providers: BTreeMap<&str, (ProviderSpec, String)> = BTreeMap::new();
        for (name, table) in &spec.providers {
            let resolved = resolve_files(table.get_ref(), base).map_err(|m| {
                ConfigError::at(&text, Some(table.span()), format!("providers.{name}"), m)
            })?;
            let fingerprint_part = toml::to_string(&resolved).unwrap_or_default();
            let provider: ProviderSpec =
                toml::Value::Table(resolved)
                    .try_into()
                    .map_err(|e: toml::de::Error| {
                        table_error(&text, table.span(), &format!("providers.{name}"), &e)
                    })?;
            providers.insert(name, (provider, fingerprint_part));
        }

        // The [detect] setups are built only for families some record uses: each HTTP source
        // holds a TLS client, which an idle agent should not carry for nothing.
        let mut shared: BTreeMap<Family, Arc<Detector>> = BTreeMap::new();
        let mut shared_detector = |family: Family| -> Result<Arc<Detector>, ConfigError> {
            if let Some(d) = shared.get(&family) {
                return Ok(Arc::clone(d));
            }
            let detect = match family {
                Family::V4 => spec.detect.ipv4.as_ref(),
                Family::V6 => spec.detect.ipv6.as_ref(),
            };
            let detector = Arc::new(
                build_detector(family, detect)
                    .map_err(|m| ConfigError::new(format!("detect.{}: {m}", family.as_str())))?,
            );
            shared.insert(family, Arc::clone(&detector));
            Ok(detector)
        };

        let mut records = Vec::new();
        for spanned in &spec.record {
            let r = spanned.get_ref();
            let at = |key: &str, message: String| {
                ConfigError::at(
                    &text,
                    Some(spanned.span()),
                    format!("record.{key}"),
                    message,
                )
            };
            let name = DomainName::parse(r.name.get_ref()).map_err(|e| {
                ConfigError::at(&text, Some(r.name.span()), "record.name", e.to_string())
            })?;
            let provider_name = r.provider.get_ref().clone();
            let Some((provider_spec, provider_text)) = providers.get(provider_name.as_str()) else {
                return Err(ConfigError::at(
                    &text,
                    Some(r.provider.span()),
                    "record.provider",
                    format!(
                        "no provider {provider_name:?} in [providers] (known: {})",
                        providers.keys().copied().collect::<Vec<_>>().join(", ")
                    ),
                ));
            };
            let families = r.families.clone().unwrap_or_else(|| vec![Family::V4]);
            if families.is_empty() {
                return Err(at("families", "a record needs at least one family".into()));
            }
            let context = BuildContext::new(
                name.clone(),
                families.contains(&Family::V4),
                families.contains(&Family::V6),
            );
            let provider = ddns_providers::build(provider_spec, &context).map_err(|e| {
                ConfigError::at(
                    &text,
                    Some(r.provider.span()),
                    format!("providers.{provider_name}"),
                    e.to_string(),
                )
            })?;
            let mut family_lines = Vec::new();
            for &family in &families {
                let lines = if r.line.is_empty() {
                    let own = match family {
                        Family::V4 => r.detect.ipv4.as_ref(),
                        Family::V6 => r.detect.ipv6.as_ref(),
                    };
                    let detector = match own {
                        Some(spec) => Arc::new(
                            build_detector(family, Some(spec))
                                .map_err(|m| at(&format!("detect.{}", family.as_str()), m))?,
                        ),
                        None => shared_detector(family)?,
                    };
                    vec![LineConfig {
                        name: "default".into(),
                        detector,
                    }]
                } else {
                    let mut lines = Vec::new();
                    for line in &r.line {
                        let spec = match family {
                            Family::V4 => line.ipv4.as_ref(),
                            Family::V6 => line.ipv6.as_ref(),
                        };
                        let Some(spec) = spec else { continue };
                        let detector = build_detector(family, Some(spec)).map_err(|m| {
                            at(&format!("line.{}.{}", line.name, family.as_str()), m)
                        })?;
                        lines.push(LineConfig {
                            name: line.name.clone(),
                            detector: Arc::new(detector),
                        });
                    }
                    if lines.is_empty() {
                        return Err(at(
                            "line",
                            format!("no line says how to find the {family} address"),
                        ));
                    }
                    lines
                };
                family_lines.push((family, lines));
            }
            let verify_servers = r
                .verify_servers
                .iter()
                .flatten()
                .map(|s| {
                    parse_server(s.get_ref()).map_err(|m| {
                        ConfigError::at(&text, Some(s.span()), "record.verify_servers", m)
                    })
                })
                .collect::<Result<_, _>>()?;
            let lan = lan_view(r, provider.name()).map_err(|m| at("lan_view", m))?;
            let digest = ConfigDigest::of(format!("{r:?}\n{provider_text}").as_bytes());
            let record = RecordConfig {
                name,
                provider_name,
                provider: Arc::from(provider),
                ttl: r.ttl,
                families: family_lines,
                mode: match r.mode {
                    ModeSpec::All => LineMode::All,
                    ModeSpec::Preferred => LineMode::Preferred,
                },
                drop_after: r.drop_after.unwrap_or(3).max(1),
                verify_servers,
                lan,
                digest,
            };
            if records
                .iter()
                .any(|o: &RecordConfig| o.key() == record.key())
            {
                return Err(ConfigError::at(
                    &text,
                    Some(r.name.span()),
                    "record.name",
                    format!(
                        "{} is configured twice for provider {}",
                        record.name, record.provider_name
                    ),
                ));
            }
            records.push(record);
        }

        let mut notify = Vec::new();
        for spanned in &spec.notify {
            let n = spanned.get_ref();
            if n.events.is_empty() {
                return Err(ConfigError::at(
                    &text,
                    Some(spanned.span()),
                    "notify.events",
                    "name at least one of change, failure, recovery",
                ));
            }
            let spec = WebhookSpec {
                method: n.method.clone(),
                url: n.url.clone(),
                headers: n.headers.clone(),
                body: n.body.clone(),
            };
            let hook = spec.build_notifier().map_err(|e| {
                ConfigError::at(&text, Some(spanned.span()), "notify", e.to_string())
            })?;
            notify.push(Notifier {
                events: n.events.clone(),
                hook: Arc::new(hook),
            });
        }

        Ok(Self {
            state_file: a
                .state_file
                .clone()
                .unwrap_or_else(|| ddns_platform::default_state_dir().join("state.json")),
            interval,
            jitter: a.jitter.map_or(interval / 10, |d| d.0),
            force_refresh: a.force_refresh.map_or(Duration::from_secs(86_400), |d| d.0),
            verify_interval,
            retry_base: a.retry_base.map_or(Duration::from_secs(15), |d| d.0),
            retry_cap: a.retry_cap.map_or(Duration::from_secs(1800), |d| d.0),
            resolver,
            records,
            detect_specs: [
                (Family::V4, spec.detect.ipv4.clone()),
                (Family::V6, spec.detect.ipv6.clone()),
            ]
            .into(),
            notify,
        })
    }
}

impl AgentConfig {
    /// The `[detect]` setup for `family` (`ddns ip --config`), built on request.
    pub fn detector(&self, family: Family) -> Result<Detector, ConfigError> {
        let spec = self.detect_specs.get(&family).and_then(Option::as_ref);
        build_detector(family, spec)
            .map_err(|m| ConfigError::new(format!("detect.{}: {m}", family.as_str())))
    }
}

/// The built-in detection setup for `family` (`ddns ip` without a configuration).
pub fn default_detector(family: Family) -> Result<Detector, ConfigError> {
    build_detector(family, None).map_err(|m| ConfigError::new(format!("built-in sources: {m}")))
}

/// The record's `lan_view`: only a ddns server has views; the LAN address is IPv4 from local
/// sources (any interface by default), private addresses allowed.
fn lan_view(r: &RecordSpec, provider: &str) -> Result<Option<LanView>, String> {
    let Some(view) = &r.lan_view else {
        if r.lan_sources.is_some() {
            return Err("lan_sources needs lan_view (the server's view to publish to)".into());
        }
        return Ok(None);
    };
    if provider != "ddns" {
        return Err(format!(
            "only a ddns server has views; provider type {provider} cannot take lan_view"
        ));
    }
    ddns_config::views::valid_view_name(view.get_ref())?;
    let specs = r.lan_sources.clone().unwrap_or_else(|| {
        vec![SourceSpec::Interface {
            name: "*".into(),
            ipv6: ddns_detect::Ipv6Selection::default(),
            interface_id: None,
            prefix_len: None,
        }]
    });
    if specs.is_empty() {
        return Err("lan_sources is empty".into());
    }
    let sources = specs
        .iter()
        .map(|s| Source::from_spec(s, Family::V4).map_err(|e| format!("lan_sources: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if !sources.iter().all(Source::is_local) {
        return Err("lan_sources must be local (interface or fixed): a LAN address is not seen from outside".into());
    }
    let mut policy = Policy::for_sources(sources.len());
    policy.quorum = 1;
    policy.allow = AllowedClasses::new([
        ddns_detect::AddressClass::Private,
        ddns_detect::AddressClass::Cgnat,
    ]);
    Ok(Some(LanView {
        view: view.get_ref().clone(),
        detector: Arc::new(Detector {
            family: Family::V4,
            sources,
            policy,
        }),
    }))
}

fn build_detector(family: Family, spec: Option<&DetectSpec>) -> Result<Detector, String> {
    let specs = spec
        .and_then(|s| s.sources.clone())
        .unwrap_or_else(|| ddns_detect::defaults::sources(family));
    if specs.is_empty() {
        return Err("`sources` is empty".into());
    }
    let sources = specs
        .iter()
        .map(|s| Source::from_spec(s, family).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut policy = Policy::for_sources(sources.len());
    if sources.iter().all(Source::is_local) {
        // A machine's own interfaces need no second opinion.
        policy.quorum = 1;
    }
    if let Some(spec) = spec {
        if let Some(q) = spec.quorum {
            if q == 0 || q > sources.len() {
                return Err(format!(
                    "quorum {q} is not between 1 and the {} sources configured",
                    sources.len()
                ));
            }
            policy.quorum = q;
        }
        if let Some(t) = spec.timeout {
            policy.timeout = t.0;
        }
        policy.allow = spec.allow;
    }
    Ok(Detector {
        family,
        sources,
        policy,
    })
}

/// Replaces `${NAME}` with the environment variable, escaped for a TOML basic string.
/// `$${` stays a literal `${`. An unset variable is an error at its line.
pub fn expand_env(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        if rest[..at].ends_with('$') {
            out.push_str(&rest[..at - 1]);
            out.push_str("${");
            rest = &rest[at + 2..];
            continue;
        }
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let Some(end) = after.find('}') else {
            let offset = text.len() - rest.len() + at;
            return Err(ConfigError::at(
                text,
                Some(offset..offset + 2),
                "${",
                "unterminated ${...} reference",
            ));
        };
        let name = &after[..end];
        let offset = text.len() - rest.len() + at;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ConfigError::at(
                text,
                Some(offset..offset + 2),
                format!("${{{name}}}"),
                "a reference is ${NAME} with letters, digits and _",
            ));
        }
        let value = env(name).ok_or_else(|| {
            ConfigError::at(
                text,
                Some(offset..offset + 2),
                format!("${{{name}}}"),
                format!("environment variable {name} is not set"),
            )
        })?;
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Replaces every key `X_file` (a path) by `X` holding the file's content without the final
/// newline (systemd credentials, Docker secrets).
fn resolve_files(table: &toml::Table, base: Option<&Path>) -> Result<toml::Table, String> {
    let mut out = toml::Table::new();
    for (key, value) in table {
        match key.strip_suffix("_file") {
            Some(target) if !target.is_empty() => {
                let path = value
                    .as_str()
                    .ok_or_else(|| format!("`{key}` must be a file path"))?;
                let path = base.map_or_else(|| PathBuf::from(path), |b| b.join(path));
                let content = std::fs::read_to_string(&path)
                    .map_err(|e| format!("`{key}`: cannot read {}: {e}", path.display()))?;
                let content = content.strip_suffix('\n').unwrap_or(&content);
                let content = content.strip_suffix('\r').unwrap_or(content);
                if table.contains_key(target) {
                    return Err(format!("give `{target}` or `{key}`, not both"));
                }
                out.insert(target.to_owned(), toml::Value::String(content.to_owned()));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(out)
}

/// An error inside a table deserialised on its own: point at the key's line when it is named.
/// A table's span covers its header only, so the key is looked for from there to the next
/// table header.
fn table_error(
    text: &str,
    span: std::ops::Range<usize>,
    table: &str,
    e: &toml::de::Error,
) -> ConfigError {
    let mut error = ConfigError::from_toml("", e);
    let rest = text.get(span.start..).unwrap_or("");
    let body_end = rest
        .match_indices("\n[")
        .map(|(i, _)| i)
        .find(|&i| i > span.end - span.start)
        .unwrap_or(rest.len());
    let body = &rest[..body_end];
    let key_at = error.key.as_ref().and_then(|k| {
        body.lines()
            .scan(0usize, |offset, line| {
                let here = *offset;
                *offset += line.len() + 1;
                Some((here, line))
            })
            .find(|(_, line)| line.trim_start().split(['=', ' ']).next() == Some(k.as_str()))
            .map(|(offset, _)| span.start + offset)
    });
    error.line = ConfigError::at(
        text,
        Some(key_at.unwrap_or(span.start)..span.end),
        table,
        "",
    )
    .line;
    error.key = Some(match &error.key {
        Some(k) => format!("{table}.{k}"),
        None => table.to_owned(),
    });
    error
}

fn parse_server(text: &str) -> Result<SocketAddr, String> {
    text.parse::<SocketAddr>()
        .or_else(|_| {
            text.parse::<std::net::IpAddr>()
                .map(|ip| SocketAddr::new(ip, 53))
        })
        .map_err(|_| {
            format!("{text:?} is not an address (examples: 192.0.2.53, [2001:db8::53]:53)")
        })
}

#[cfg(test)]
mod lan_view_tests {
    use super::AgentConfig;

    fn parse(record_extra: &str, provider: &str) -> Result<AgentConfig, String> {
        let text = format!(
            "version = 1\n[agent]\nstate_file = \"/tmp/s.json\"\n{provider}\n[[record]]\nname = \"files.example.com\"\nprovider = \"home\"\n{record_extra}"
        );
        AgentConfig::parse(&text, &|_| None, None).map_err(|e| e.to_string())
    }

    const DDNS: &str =
        "[providers.home]\ntype = \"ddns\"\nurl = \"https://ddns.example.com\"\ntoken = \"t\"";
    const DYNDNS2: &str = "[providers.home]\ntype = \"dyndns2\"\nservice = \"custom\"\nurl = \"https://x.example.com/nic/update\"\nusername = \"u\"\npassword = \"p\"";

    #[test]
    fn lan_view_takes_local_sources_for_a_ddns_server() {
        let config = parse(
            "lan_view = \"lan\"\nlan_sources = [{ kind = \"fixed\", address = \"192.168.1.10\" }]\n",
            DDNS,
        )
        .unwrap();
        let lan = config.records[0].lan.as_ref().unwrap();
        assert_eq!(lan.view, "lan");
        assert!(config.records[0].uses_interfaces());
        // Default: every interface.
        let config = parse("lan_view = \"lan\"\n", DDNS).unwrap();
        assert!(config.records[0].lan.is_some());
        assert!(parse("", DDNS).unwrap().records[0].lan.is_none());
    }

    #[test]
    fn lan_view_mistakes_are_named() {
        let cases = [
            (
                "lan_view = \"lan\"\n",
                DYNDNS2,
                "only a ddns server has views",
            ),
            (
                "lan_sources = [{ kind = \"fixed\", address = \"192.168.1.10\" }]\n",
                DDNS,
                "lan_sources needs lan_view",
            ),
            ("lan_view = \"l an\"\n", DDNS, "letters, digits"),
            (
                "lan_view = \"lan\"\nlan_sources = [{ kind = \"http\", url = \"https://a.example\" }]\n",
                DDNS,
                "must be local",
            ),
            ("lan_view = \"lan\"\nlan_sources = []\n", DDNS, "empty"),
        ];
        for (extra, provider, want) in cases {
            let err = parse(extra, provider).unwrap_err();
            assert!(err.contains(want), "{extra:?}: {err}");
        }
    }
}
