//! `ddns server` configuration: the TOML file spec (version 1), its defaults, the command-line
//! overrides, and the validated [`ServerConfig`] the server runs on.
//!
//! With no file at all the server runs on [`ServerConfig::defaults`]: one zone, SQLite in the
//! data directory, DNS and HTTP on loopback high ports. Precedence: defaults < file < flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ddns_core::DomainName;
use ddns_core::record::{DEFAULT_DYNAMIC_TTL, MAX_TTL};
use ddns_core::snapshot::SoaParams;
use ddns_core::zone_text::{TextRecord, parse_zone_text};
use ddns_dns::access::ZoneAccess;
use ddns_dns::rrl::{MAX_RATE, MAX_SLIP, MAX_TABLE_SIZE, RrlSettings};
use ddns_dns::tsig::Key;
use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use crate::dns_access::{TsigKeySpec, UpdateRuleSpec, ZoneAccessSpec};
use crate::duration::ConfigDuration;
use crate::error::ConfigError;
use crate::failover::{FailoverConfig, FailoverSpec};
use crate::tls::{AcmeConfig, AcmeSpec, TlsConfig, TlsSpec};

/// Zone served when neither the file nor `--zone` names one.
pub const DEFAULT_ZONE: &str = "ddns.test";
/// DNS address when none is configured (UDP and TCP).
pub const DEFAULT_DNS_LISTEN: &str = "127.0.0.1:10053";
/// HTTP address when none is configured.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:10080";
/// TTL of static records from the config that do not give one.
pub const DEFAULT_STATIC_TTL: u32 = 3600;

// ----------------------------------------------------------------------------------------
// File spec

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    version: Spanned<u32>,
    #[serde(default)]
    server: ServerSpec,
    #[serde(default)]
    dns: DnsSpec,
    #[serde(default)]
    http: HttpSpec,
    #[serde(default)]
    dyndns2: Dyndns2Spec,
    #[serde(default)]
    store: StoreSpec,
    #[serde(default)]
    zone: Vec<ZoneSpec>,
    #[serde(default)]
    tsig_key: Vec<TsigKeySpec>,
    #[serde(default)]
    view: Vec<crate::views::ViewSpec>,
    acme: Option<AcmeSpec>,
    #[serde(default)]
    audit: AuditSpec,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AuditSpec {
    syslog: Option<Spanned<String>>,
    ca_file: Option<PathBuf>,
    webhook: Option<Spanned<String>>,
    webhook_token: Option<Spanned<String>>,
    webhook_token_file: Option<Spanned<PathBuf>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ServerSpec {
    data_dir: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DnsSpec {
    listen: Option<Vec<Spanned<String>>>,
    udp_payload: Option<Spanned<u16>>,
    tcp_idle_timeout: Option<ConfigDuration>,
    tcp_write_timeout: Option<ConfigDuration>,
    max_tcp_connections: Option<usize>,
    max_tcp_connections_per_ip: Option<usize>,
    rrl: Option<RrlSpec>,
}

/// `[dns] rrl = { rate = N, slip = N, table_size = N, whitelist = ["CIDR", …] }`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RrlSpec {
    rate: Option<Spanned<u32>>,
    slip: Option<Spanned<u32>>,
    table_size: Option<Spanned<usize>>,
    whitelist: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HttpSpec {
    listen: Option<Vec<Spanned<String>>>,
    trusted_proxies: Option<Vec<Spanned<String>>>,
    request_timeout: Option<ConfigDuration>,
    header_read_timeout: Option<Spanned<ConfigDuration>>,
    idle_timeout: Option<Spanned<ConfigDuration>>,
    max_connections: Option<Spanned<u32>>,
    max_connections_per_ip: Option<Spanned<u32>>,
    http2_max_streams: Option<Spanned<u32>>,
    max_hosts_per_token: Option<Spanned<u32>>,
    api_writes_per_token_per_minute: Option<Spanned<u32>>,
    tls: Option<Spanned<TlsSpec>>,
    redirect_listen: Option<Vec<Spanned<String>>>,
    plain_listen: Option<Vec<Spanned<String>>>,
    requests_per_ip_per_minute: Option<Spanned<u32>>,
    metrics: Option<bool>,
    metrics_allow: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Dyndns2Spec {
    blocked_user_agents: Option<Vec<String>>,
    updates_per_host_per_minute: Option<Spanned<u32>>,
    updates_per_token_per_minute: Option<Spanned<u32>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StoreSpec {
    url: Option<Spanned<String>>,
    password_file: Option<PathBuf>,
    busy_timeout: Option<ConfigDuration>,
    poll_interval: Option<Spanned<ConfigDuration>>,
    journal_max_entries: Option<Spanned<u32>>,
    journal_max_age: Option<ConfigDuration>,
    history_max_age: Option<Spanned<ConfigDuration>>,
    history_max_rows_per_host: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneSpec {
    name: Spanned<String>,
    ttl: Option<Spanned<u32>>,
    ns: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    soa: SoaSpec,
    #[serde(default)]
    records: Vec<Spanned<String>>,
    notify: Option<Vec<Spanned<String>>>,
    notify_key: Option<Spanned<String>>,
    allow_transfer: Option<Vec<Spanned<String>>>,
    update: Option<Vec<UpdateRuleSpec>>,
    #[serde(default)]
    failover: Vec<FailoverSpec>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SoaSpec {
    mname: Option<Spanned<String>>,
    rname: Option<Spanned<String>>,
    refresh: Option<u32>,
    retry: Option<u32>,
    expire: Option<u32>,
    minimum: Option<u32>,
    ttl: Option<u32>,
}

// ----------------------------------------------------------------------------------------
// Runtime config

/// Everything the server needs, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Where the database lives.
    pub data_dir: PathBuf,
    /// Zones served.
    pub zones: Vec<ZoneConfig>,
    /// DNS listener settings.
    pub dns: DnsConfig,
    /// HTTP listener settings.
    pub http: HttpConfig,
    /// DynDNS2 endpoint policy.
    pub dyndns2: Dyndns2Config,
    /// The store's database (`[store] url`, `--store-url`).
    pub store: crate::store::StoreLocation,
    /// How long a write waits for another process's lock.
    pub store_busy_timeout: Duration,
    /// How often the store is read for changes made elsewhere (the CLI, other nodes).
    pub store_poll_interval: Duration,
    /// How much of each zone's change journal is kept (what IXFR can serve).
    pub journal: JournalConfig,
    /// How much change history is kept (`/api/v1/hosts/NAME/history`).
    pub history: HistoryConfig,
    /// TSIG keys (`[[tsig_key]]`) for transfers, NOTIFY and RFC 2136 updates.
    pub tsig_keys: Vec<Key>,
    /// Split-horizon views (`[[view]]`), in the order written (first match wins).
    pub views: Vec<crate::views::ViewConfig>,
    /// Certificates obtained through ACME (`[acme]`); HTTPS on every `listen` when set.
    pub acme: Option<AcmeConfig>,
    /// Where the audit trail is streamed as it happens (`[audit]`).
    pub audit: AuditConfig,
}

/// The audit stream (`[audit]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditConfig {
    /// A syslog collector taking RFC 5424 messages with octet-counting framing, over TCP
    /// (RFC 6587, `syslog = "tcp://host:port"`) or TLS (RFC 5425, `"tls://host:port"`).
    pub syslog: Option<SyslogTarget>,
    /// A URL that takes the trail as JSON lines (`[audit] webhook`).
    pub webhook: Option<AuditWebhook>,
    /// PEM certificates trusted for `tls://` and `https://` instead of the system's roots
    /// (`[audit] ca_file`).
    pub ca_file: Option<PathBuf>,
}

/// `[audit] syslog`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogTarget {
    /// Host name or address, without brackets; a TLS collector's certificate must name it.
    pub host: String,
    /// Port.
    pub port: u16,
    /// RFC 5425 (TLS) rather than plain TCP.
    pub tls: bool,
}

impl SyslogTarget {
    /// `host:port` to connect to (IPv6 addresses in brackets).
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// `[audit] webhook`: every entry POSTed as one JSON line, in batches.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditWebhook {
    /// An `http://` or `https://` URL.
    pub url: String,
    /// Sent as `Authorization: Bearer …` when set (`webhook_token` or `webhook_token_file`).
    pub token: Option<String>,
}

impl std::fmt::Debug for AuditWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditWebhook")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Retention of each zone's change journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalConfig {
    /// Entries kept per zone at most (`[store] journal_max_entries`).
    pub max_entries: u32,
    /// Entries older than this are removed (`[store] journal_max_age`).
    pub max_age: Duration,
}

/// Retention of the change history (one row per changed record set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Rows older than this are removed (`[store] history_max_age`).
    pub max_age: Duration,
    /// Rows kept per host name at most, newest first (`[store] history_max_rows_per_host`).
    pub max_rows_per_host: u32,
}

/// One authoritative zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneConfig {
    /// Origin.
    pub name: DomainName,
    /// TTL of dynamic records created through the update APIs.
    pub dynamic_ttl: u32,
    /// Name servers at the apex (NS records).
    pub ns: Vec<DomainName>,
    /// SOA fields (the serial lives in the store).
    pub soa: SoaParams,
    /// Static records from the config.
    pub records: Vec<TextRecord>,
    /// Transfers, NOTIFY and RFC 2136 updates (`allow_transfer`, `notify`, `notify_key`,
    /// `[[zone.update]]`).
    pub access: ZoneAccess,
    /// Health-checked record sets (`[[zone.failover]]`).
    pub failover: Vec<FailoverConfig>,
}

/// DNS listener settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsConfig {
    /// Addresses, each served over UDP and TCP.
    pub listen: Vec<SocketAddr>,
    /// Largest UDP response we send to EDNS clients (RFC 6891 §6.2.5; 1232 avoids fragmentation).
    pub udp_payload: u16,
    /// Idle TCP connections are closed after this long (RFC 7766 §6.2.3).
    pub tcp_idle_timeout: Duration,
    /// A TCP client that does not read an answer within this long is disconnected.
    pub tcp_write_timeout: Duration,
    /// Concurrent TCP connections from one client address.
    pub max_tcp_connections_per_ip: usize,
    /// Concurrent TCP connections before new ones are refused.
    pub max_tcp_connections: usize,
    /// Response rate limiting of UDP answers (`[dns] rrl`), on by default.
    pub rrl: RrlSettings,
}

/// HTTP listener settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// Addresses.
    pub listen: Vec<SocketAddr>,
    /// Reverse proxies whose `X-Forwarded-For` / `X-Real-IP` are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Whole-request timeout.
    pub request_timeout: Duration,
    /// A connection that has not sent a complete request header this long after it opened
    /// (or, on HTTP/1.1, after it started its next request) is closed.
    pub header_read_timeout: Duration,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// Open connections across all listeners; over it new connections are closed at once.
    pub max_connections: usize,
    /// Open connections from one source address (one /64 for IPv6); trusted proxies are exempt.
    pub max_connections_per_ip: usize,
    /// Concurrent streams on one HTTP/2 connection.
    pub http2_max_streams: u32,
    /// Hosts a token whose scope has a subtree (`*.name`) may have under its scope; an update
    /// that would create one more is refused. Admin tokens are not limited.
    pub max_hosts_per_token: u32,
    /// Writes (PUT, POST, DELETE under `/api/v1`) per token per minute, burst of the same size.
    pub api_writes_per_token_per_minute: u32,
    /// HTTPS on every `listen` with the certificate from these files (`[http] tls`).
    pub tls: Option<TlsConfig>,
    /// Plain-HTTP listeners that answer every request with a redirect to HTTPS.
    pub redirect_listen: Vec<SocketAddr>,
    /// Plain-HTTP listeners serving the whole API, for routers that cannot do HTTPS; tokens
    /// cross the network in clear text on these.
    pub plain_listen: Vec<SocketAddr>,
    /// Requests of any kind per client address (after trusted-proxy handling; one /64 for
    /// IPv6) per minute, burst of the same size; over it DynDNS2 answers `abuse`, the rest 429.
    pub requests_per_ip_per_minute: u32,
    /// `/metrics` is served, and the DNS path counts (`false`: no route, no counting).
    pub metrics: bool,
    /// Client networks that may read `/metrics`; empty lets anyone, as Prometheus expects.
    pub metrics_allow: Vec<IpNet>,
}

/// DynDNS2 endpoint policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dyndns2Config {
    /// User-Agent substrings answered with `badagent` (case-insensitive).
    pub blocked_user_agents: Vec<String>,
    /// Update requests per host per minute before `abuse` (burst of the same size).
    pub updates_per_host_per_minute: u32,
    /// Update requests (DynDNS2 and REST `/update`) per token per minute before `abuse`
    /// (burst of the same size).
    pub updates_per_token_per_minute: u32,
}

/// Command-line flags that override the file (`None`/empty: not given).
#[derive(Clone, Debug, Default)]
pub struct ServerOverrides {
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--store-url` (`DDNS_STORE_URL`): replaces `[store] url`.
    pub store_url: Option<String>,
    /// `--zone`, repeatable: the zones served (settings from the file's zone of that name).
    pub zones: Vec<String>,
    /// `--dns-listen`, repeatable.
    pub dns_listen: Vec<String>,
    /// `--http-listen`, repeatable.
    pub http_listen: Vec<String>,
    /// `--tls-cert` and `--tls-key`, given together.
    pub tls: Option<TlsConfig>,
}

impl ServerConfig {
    /// The embedded defaults, with the data directory given by the platform.
    pub fn defaults(data_dir: PathBuf) -> Self {
        let zone =
            zone_defaults(&DomainName::parse(DEFAULT_ZONE).unwrap_or_else(|_| unreachable!()));
        Self {
            data_dir,
            zones: vec![zone],
            dns: DnsConfig {
                listen: vec![
                    DEFAULT_DNS_LISTEN
                        .parse()
                        .unwrap_or_else(|_| unreachable!()),
                ],
                udp_payload: 1232,
                tcp_idle_timeout: Duration::from_secs(10),
                tcp_write_timeout: Duration::from_secs(5),
                max_tcp_connections: 512,
                max_tcp_connections_per_ip: 32,
                rrl: RrlSettings::default(),
            },
            http: HttpConfig {
                listen: vec![
                    DEFAULT_HTTP_LISTEN
                        .parse()
                        .unwrap_or_else(|_| unreachable!()),
                ],
                trusted_proxies: Vec::new(),
                request_timeout: Duration::from_secs(30),
                header_read_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(60),
                max_connections: 4096,
                max_connections_per_ip: 64,
                http2_max_streams: 100,
                max_hosts_per_token: 1000,
                api_writes_per_token_per_minute: 120,
                tls: None,
                redirect_listen: Vec::new(),
                plain_listen: Vec::new(),
                // Ten a second from one address: thousands of routers behind one NAT updating
                // every five minutes, far below what a flood sends.
                requests_per_ip_per_minute: 600,
                metrics: true,
                metrics_allow: Vec::new(),
            },
            dyndns2: Dyndns2Config {
                blocked_user_agents: Vec::new(),
                updates_per_host_per_minute: 30,
                // A subtree token at its host quota (1000) updating each host every five
                // minutes sends 200 a minute.
                updates_per_token_per_minute: 600,
            },
            store: crate::store::StoreLocation::DataDir,
            store_busy_timeout: Duration::from_secs(5),
            store_poll_interval: Duration::from_millis(500),
            journal: JournalConfig {
                max_entries: 10_000,
                max_age: Duration::from_secs(14 * 86_400),
            },
            history: HistoryConfig {
                max_age: Duration::from_secs(365 * 86_400),
                max_rows_per_host: 1000,
            },
            tsig_keys: Vec::new(),
            views: Vec::new(),
            audit: AuditConfig::default(),
            acme: None,
        }
    }

    /// Reads and validates a config file on top of the defaults.
    pub fn from_file(path: &Path, default_data_dir: PathBuf) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml(&text, default_data_dir).map_err(|e| e.in_file(path))
    }

    /// `text` with the value of every secret it holds (`[[tsig_key]] secret`,
    /// `[audit] webhook_token`) replaced by `"<redacted>"`, and the password of `[store] url`
    /// by `***` inside the URL, for copies kept beside the data.
    pub fn redacted(text: &str) -> Result<String, ConfigError> {
        let spec: FileSpec = toml::from_str(text).map_err(|e| ConfigError::from_toml(text, &e))?;
        let mut spans: Vec<(std::ops::Range<usize>, String)> =
            crate::dns_access::secret_spans(&spec.tsig_key)
                .into_iter()
                .chain(spec.audit.webhook_token.as_ref().map(Spanned::span))
                .map(|span| (span, "\"<redacted>\"".to_owned()))
                .collect();
        if let Some(url) = &spec.store.url {
            let shown = crate::store::redact_url(url.get_ref());
            if shown != *url.get_ref() {
                spans.push((url.span(), format!("{shown:?}")));
            }
        }
        spans.sort_by_key(|(s, _)| std::cmp::Reverse(s.start));
        let mut out = text.to_owned();
        for (span, with) in spans {
            if out.is_char_boundary(span.start) && out.is_char_boundary(span.end) {
                out.replace_range(span, &with);
            }
        }
        Ok(out)
    }

    /// Validates config text on top of the defaults.
    pub fn from_toml(text: &str, default_data_dir: PathBuf) -> Result<Self, ConfigError> {
        let opened = crate::open_sealed(text, &|k| std::env::var(k).ok())?;
        let text = opened.as_str();
        let spec: FileSpec = toml::from_str(text).map_err(|e| ConfigError::from_toml(text, &e))?;
        if *spec.version.get_ref() != 1 {
            return Err(ConfigError::at(
                text,
                Some(spec.version.span()),
                "version",
                format!(
                    "version {} is not known; this ddns reads version = 1",
                    spec.version.get_ref()
                ),
            ));
        }
        let mut config = Self::defaults(default_data_dir);
        if let Some(dir) = spec.server.data_dir {
            config.data_dir = dir;
        }
        if let Some(listen) = spec.dns.listen {
            config.dns.listen = parse_listen(text, "dns.listen", &listen)?;
        }
        if let Some(payload) = spec.dns.udp_payload {
            if !(512..=4096).contains(payload.get_ref()) {
                return Err(ConfigError::at(
                    text,
                    Some(payload.span()),
                    "dns.udp_payload",
                    "must be between 512 and 4096",
                ));
            }
            config.dns.udp_payload = *payload.get_ref();
        }
        if let Some(d) = spec.dns.tcp_idle_timeout {
            config.dns.tcp_idle_timeout = d.0;
        }
        if let Some(d) = spec.dns.tcp_write_timeout {
            config.dns.tcp_write_timeout = d.0;
        }
        if let Some(n) = spec.dns.max_tcp_connections_per_ip {
            config.dns.max_tcp_connections_per_ip = n.max(1);
        }
        if let Some(n) = spec.dns.max_tcp_connections {
            config.dns.max_tcp_connections = n.max(1);
        }
        if let Some(rrl) = &spec.dns.rrl {
            apply_rrl(text, rrl, &mut config.dns.rrl)?;
        }
        if let Some(listen) = &spec.http.listen {
            config.http.listen = parse_listen(text, "http.listen", listen)?;
        }
        if let Some(proxies) = &spec.http.trusted_proxies {
            config.http.trusted_proxies = proxies
                .iter()
                .map(|p| {
                    parse_net(p.get_ref()).map_err(|m| {
                        ConfigError::at(text, Some(p.span()), "http.trusted_proxies", m)
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(d) = spec.http.request_timeout {
            config.http.request_timeout = d.0;
        }
        if let Some(on) = spec.http.metrics {
            config.http.metrics = on;
        }
        if let Some(nets) = &spec.http.metrics_allow {
            config.http.metrics_allow = nets
                .iter()
                .map(|p| {
                    parse_net(p.get_ref())
                        .map_err(|m| ConfigError::at(text, Some(p.span()), "http.metrics_allow", m))
                })
                .collect::<Result<_, _>>()?;
        }
        apply_http_limits(text, &spec.http, &mut config.http)?;
        if let Some(agents) = spec.dyndns2.blocked_user_agents {
            config.dyndns2.blocked_user_agents =
                agents.into_iter().filter(|a| !a.is_empty()).collect();
        }
        if let Some(rate) = spec.dyndns2.updates_per_host_per_minute {
            if *rate.get_ref() == 0 {
                return Err(ConfigError::at(
                    text,
                    Some(rate.span()),
                    "dyndns2.updates_per_host_per_minute",
                    "must be at least 1",
                ));
            }
            config.dyndns2.updates_per_host_per_minute = *rate.get_ref();
        }
        if let Some(rate) = spec.dyndns2.updates_per_token_per_minute {
            if *rate.get_ref() == 0 {
                return Err(ConfigError::at(
                    text,
                    Some(rate.span()),
                    "dyndns2.updates_per_token_per_minute",
                    "must be at least 1",
                ));
            }
            config.dyndns2.updates_per_token_per_minute = *rate.get_ref();
        }
        if let Some(url) = &spec.store.url {
            config.store =
                crate::store::StoreLocation::parse(url.get_ref(), spec.store.password_file.clone())
                    .map_err(|m| ConfigError::at(text, Some(url.span()), "store.url", m))?;
        } else if spec.store.password_file.is_some() {
            return Err(ConfigError::new(
                "[store] password_file: only with a postgres:// url".to_owned(),
            ));
        }
        if let Some(d) = spec.store.busy_timeout {
            config.store_busy_timeout = d.0;
        }
        if let Some(d) = &spec.store.poll_interval {
            let every = d.get_ref().0;
            if !(Duration::from_millis(10)..=Duration::from_secs(3600)).contains(&every) {
                return Err(ConfigError::at(
                    text,
                    Some(d.span()),
                    "store.poll_interval",
                    "must be between 10ms and 1h",
                ));
            }
            config.store_poll_interval = every;
        }
        if let Some(n) = &spec.store.journal_max_entries {
            if *n.get_ref() == 0 {
                return Err(ConfigError::at(
                    text,
                    Some(n.span()),
                    "store.journal_max_entries",
                    "must be at least 1 (the newest entry is always kept)",
                ));
            }
            config.journal.max_entries = *n.get_ref();
        }
        if let Some(d) = spec.store.journal_max_age {
            config.journal.max_age = d.0;
        }
        apply_history_retention(text, &spec.store, &mut config.history)?;
        config.tsig_keys = crate::dns_access::tsig_keys(text, &spec.tsig_key)?;
        config.views = crate::views::views(text, &spec.view, &config.tsig_keys)?;
        config.audit = audit_config(text, &spec.audit)?;
        if !spec.zone.is_empty() {
            config.zones = spec
                .zone
                .iter()
                .map(|z| zone_from_spec(text, z, &config.tsig_keys))
                .collect::<Result<_, _>>()?;
            for (i, z) in config.zones.iter().enumerate() {
                if config.zones[..i].iter().any(|other| other.name == z.name) {
                    return Err(ConfigError::at(
                        text,
                        Some(spec.zone[i].name.span()),
                        "zone.name",
                        format!("zone {} is configured twice", z.name),
                    ));
                }
            }
            check_failover_zones(text, &spec.zone, &config.zones)?;
        }
        apply_https(text, &spec.http, spec.acme.as_ref(), &mut config)?;
        Ok(config)
    }

    /// Applies command-line flags. `file` is the parsed file's zones, used to keep the settings
    /// of a zone named by `--zone`.
    pub fn apply_overrides(&mut self, overrides: &ServerOverrides) -> Result<(), ConfigError> {
        if let Some(dir) = &overrides.data_dir {
            self.data_dir.clone_from(dir);
        }
        if let Some(url) = &overrides.store_url {
            // The file's password_file still serves a PostgreSQL URL given on the command line.
            let password_file = match &self.store {
                crate::store::StoreLocation::Postgres { password_file, .. }
                    if url.starts_with("postgres") =>
                {
                    password_file.clone()
                }
                _ => None,
            };
            self.store = crate::store::StoreLocation::parse(url, password_file)
                .map_err(|m| ConfigError::new(format!("--store-url: {m}")))?;
        }
        if !overrides.zones.is_empty() {
            let mut zones = Vec::new();
            for text in &overrides.zones {
                let name = DomainName::parse(text)
                    .map_err(|e| ConfigError::new(format!("--zone {text}: {e}")))?;
                let zone = self
                    .zones
                    .iter()
                    .find(|z| z.name == name)
                    .cloned()
                    .unwrap_or_else(|| zone_defaults(&name));
                if !zones.iter().any(|z: &ZoneConfig| z.name == zone.name) {
                    zones.push(zone);
                }
            }
            self.zones = zones;
        }
        if !overrides.dns_listen.is_empty() {
            self.dns.listen = overrides
                .dns_listen
                .iter()
                .map(|a| parse_addr(a).map_err(|m| ConfigError::new(format!("--dns-listen: {m}"))))
                .collect::<Result<_, _>>()?;
        }
        if !overrides.http_listen.is_empty() {
            self.http.listen = overrides
                .http_listen
                .iter()
                .map(|a| parse_addr(a).map_err(|m| ConfigError::new(format!("--http-listen: {m}"))))
                .collect::<Result<_, _>>()?;
        }
        if let Some(tls) = &overrides.tls {
            if self.acme.is_some() {
                return Err(ConfigError::new(
                    "--tls-cert/--tls-key: the configuration obtains its certificate through [acme]; use one or the other",
                ));
            }
            self.http.tls = Some(tls.clone());
        }
        let zones: Vec<DomainName> = self.zones.iter().map(|z| z.name.clone()).collect();
        if let Some(acme) = &self.acme {
            for name in &acme.names {
                crate::tls::check_served(name, &zones)
                    .map_err(|m| ConfigError::new(format!("[acme] names: {m}")))?;
            }
        }
        crate::tls::check_distinct(&[
            ("http.listen", &self.http.listen),
            ("http.redirect_listen", &self.http.redirect_listen),
            ("http.plain_listen", &self.http.plain_listen),
        ])?;
        Ok(())
    }

    /// Whether `listen` speaks HTTPS (files or ACME).
    pub fn https(&self) -> bool {
        self.http.tls.is_some() || self.acme.is_some()
    }
}

/// `[http] tls`, `redirect_listen`, `plain_listen` and `[acme]`.
fn apply_https(
    text: &str,
    http: &HttpSpec,
    acme: Option<&AcmeSpec>,
    config: &mut ServerConfig,
) -> Result<(), ConfigError> {
    let zones: Vec<DomainName> = config.zones.iter().map(|z| z.name.clone()).collect();
    if let Some(acme) = acme {
        config.acme = Some(crate::tls::acme(text, acme, &zones)?);
    }
    if let Some(tls) = &http.tls {
        if config.acme.is_some() {
            return Err(ConfigError::at(
                text,
                Some(tls.span()),
                "http.tls",
                "the certificate comes from [acme]; remove one of the two",
            ));
        }
        config.http.tls = Some(crate::tls::tls_files(tls.get_ref()));
    }
    crate::tls::check_plain_listeners(
        text,
        config.https(),
        &http.redirect_listen,
        &http.plain_listen,
    )?;
    if let Some(list) = &http.redirect_listen {
        config.http.redirect_listen = parse_listen(text, "http.redirect_listen", list)?;
    }
    if let Some(list) = &http.plain_listen {
        config.http.plain_listen = parse_listen(text, "http.plain_listen", list)?;
    }
    Ok(())
}

impl ZoneConfig {
    /// A zone with every setting at its default (name server `ns1.<zone>`).
    pub fn defaults(name: &DomainName) -> Self {
        zone_defaults(name)
    }
}

fn zone_defaults(name: &DomainName) -> ZoneConfig {
    let ns = DomainName::parse(&format!("ns1.{name}")).unwrap_or_else(|_| name.clone());
    let rname = DomainName::parse(&format!("hostmaster.{name}")).unwrap_or_else(|_| name.clone());
    ZoneConfig {
        name: name.clone(),
        dynamic_ttl: DEFAULT_DYNAMIC_TTL,
        soa: SoaParams {
            mname: ns.clone(),
            rname,
            refresh: 3600,
            retry: 600,
            expire: 1_209_600,
            // Negative answers are cached this long: short, so a new host resolves soon.
            minimum: 60,
            ttl: 3600,
        },
        ns: vec![ns],
        records: Vec::new(),
        access: ZoneAccess::default(),
        failover: Vec::new(),
    }
}

fn zone_from_spec(text: &str, spec: &ZoneSpec, keys: &[Key]) -> Result<ZoneConfig, ConfigError> {
    let at = |span: std::ops::Range<usize>, key: &str, msg: String| {
        ConfigError::at(text, Some(span), key, msg)
    };
    let name = DomainName::parse(spec.name.get_ref())
        .map_err(|e| at(spec.name.span(), "zone.name", e.to_string()))?;
    if name.is_wildcard() {
        return Err(at(
            spec.name.span(),
            "zone.name",
            "a zone name cannot be a wildcard".into(),
        ));
    }
    let mut zone = zone_defaults(&name);
    if let Some(ttl) = &spec.ttl {
        if *ttl.get_ref() == 0 || *ttl.get_ref() > MAX_TTL {
            return Err(at(
                ttl.span(),
                "zone.ttl",
                format!("must be between 1 and {MAX_TTL}"),
            ));
        }
        zone.dynamic_ttl = *ttl.get_ref();
    }
    if let Some(ns) = &spec.ns {
        if ns.is_empty() {
            return Err(ConfigError::at(
                text,
                Some(spec.name.span()),
                "zone.ns",
                "a zone needs at least one name server",
            ));
        }
        zone.ns = ns
            .iter()
            .map(|n| {
                DomainName::parse(n.get_ref()).map_err(|e| at(n.span(), "zone.ns", e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        zone.soa.mname = zone.ns[0].clone();
    }
    let soa = &spec.soa;
    if let Some(m) = &soa.mname {
        zone.soa.mname = DomainName::parse(m.get_ref())
            .map_err(|e| at(m.span(), "zone.soa.mname", e.to_string()))?;
    }
    if let Some(r) = &soa.rname {
        // Accept the mail form (hostmaster@example.com) as well as the name form.
        let as_name = r.get_ref().replacen('@', ".", 1);
        zone.soa.rname = DomainName::parse(&as_name)
            .map_err(|e| at(r.span(), "zone.soa.rname", e.to_string()))?;
    }
    zone.soa.refresh = soa.refresh.unwrap_or(zone.soa.refresh);
    zone.soa.retry = soa.retry.unwrap_or(zone.soa.retry);
    zone.soa.expire = soa.expire.unwrap_or(zone.soa.expire);
    zone.soa.minimum = soa.minimum.unwrap_or(zone.soa.minimum);
    zone.soa.ttl = soa.ttl.unwrap_or(zone.soa.ttl);
    for record in &spec.records {
        let parsed = parse_zone_text(&name, record.get_ref(), DEFAULT_STATIC_TTL)
            .map_err(|e| at(record.span(), "zone.records", e.to_string()))?;
        if parsed.is_empty() {
            return Err(at(
                record.span(),
                "zone.records",
                "no record in this line".into(),
            ));
        }
        if parsed.iter().any(|r| r.rtype == ddns_core::Rtype::SOA) {
            return Err(at(
                record.span(),
                "zone.records",
                "the SOA comes from the zone's soa settings, not from records".into(),
            ));
        }
        zone.records.extend(parsed);
    }
    let access = ZoneAccessSpec {
        notify: spec.notify.clone(),
        notify_key: spec.notify_key.clone(),
        allow_transfer: spec.allow_transfer.clone(),
        update: spec.update.clone(),
    };
    zone.access = crate::dns_access::zone_access(text, &name, &access, keys)?;
    zone.failover =
        crate::failover::failovers(text, &name, zone.dynamic_ttl, &zone.records, &spec.failover)?;
    Ok(zone)
}

/// A failover name belongs to the deepest configured zone it is in: one of a zone's entries
/// that falls in a deeper zone would never be answered.
fn check_failover_zones(
    text: &str,
    specs: &[ZoneSpec],
    zones: &[ZoneConfig],
) -> Result<(), ConfigError> {
    for (spec, zone) in specs.iter().zip(zones) {
        for failover in &zone.failover {
            let deeper = zones.iter().find(|other| {
                other.name.is_strictly_below(&zone.name)
                    && failover.name.is_at_or_below(&other.name)
            });
            if let Some(deeper) = deeper {
                return Err(ConfigError::at(
                    text,
                    Some(spec.name.span()),
                    "zone.failover.name",
                    format!(
                        "{} is in zone {}, configured too; put its [[zone.failover]] there",
                        failover.name, deeper.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// `[dns] rrl`: each key replaces its default; `rate = 0` turns rate limiting off.
fn apply_rrl(text: &str, spec: &RrlSpec, rrl: &mut RrlSettings) -> Result<(), ConfigError> {
    let at_most = |n: &Spanned<u32>, max: u32, key: &str| {
        if *n.get_ref() > max {
            Err(ConfigError::at(
                text,
                Some(n.span()),
                key,
                format!("must be at most {max}"),
            ))
        } else {
            Ok(*n.get_ref())
        }
    };
    if let Some(n) = &spec.rate {
        rrl.rate = at_most(n, MAX_RATE, "dns.rrl.rate")?;
    }
    if let Some(n) = &spec.slip {
        rrl.slip = at_most(n, MAX_SLIP, "dns.rrl.slip")?;
    }
    if let Some(n) = &spec.table_size {
        if !(1..=MAX_TABLE_SIZE).contains(n.get_ref()) {
            return Err(ConfigError::at(
                text,
                Some(n.span()),
                "dns.rrl.table_size",
                format!("must be between 1 and {MAX_TABLE_SIZE}"),
            ));
        }
        rrl.table_size = *n.get_ref();
    }
    if let Some(list) = &spec.whitelist {
        rrl.whitelist = list
            .iter()
            .map(|n| {
                parse_net(n.get_ref())
                    .map_err(|m| ConfigError::at(text, Some(n.span()), "dns.rrl.whitelist", m))
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(())
}

/// The connection limits under `[http]`: every one must be positive (zero would refuse every
/// connection or close it before its first byte).
fn apply_http_limits(
    text: &str,
    spec: &HttpSpec,
    http: &mut HttpConfig,
) -> Result<(), ConfigError> {
    let positive_duration = |d: &Spanned<ConfigDuration>, key: &str| {
        if d.get_ref().0.is_zero() {
            Err(ConfigError::at(
                text,
                Some(d.span()),
                key,
                "must be longer than 0s",
            ))
        } else {
            Ok(d.get_ref().0)
        }
    };
    let positive_count = |n: &Spanned<u32>, key: &str| {
        if *n.get_ref() == 0 {
            Err(ConfigError::at(
                text,
                Some(n.span()),
                key,
                "must be at least 1",
            ))
        } else {
            Ok(*n.get_ref())
        }
    };
    if let Some(d) = &spec.header_read_timeout {
        http.header_read_timeout = positive_duration(d, "http.header_read_timeout")?;
    }
    if let Some(d) = &spec.idle_timeout {
        http.idle_timeout = positive_duration(d, "http.idle_timeout")?;
    }
    if let Some(n) = &spec.max_connections {
        http.max_connections = positive_count(n, "http.max_connections")? as usize;
    }
    if let Some(n) = &spec.max_connections_per_ip {
        http.max_connections_per_ip = positive_count(n, "http.max_connections_per_ip")? as usize;
    }
    if let Some(n) = &spec.http2_max_streams {
        http.http2_max_streams = positive_count(n, "http.http2_max_streams")?;
    }
    if let Some(n) = &spec.max_hosts_per_token {
        http.max_hosts_per_token = positive_count(n, "http.max_hosts_per_token")?;
    }
    if let Some(n) = &spec.api_writes_per_token_per_minute {
        http.api_writes_per_token_per_minute =
            positive_count(n, "http.api_writes_per_token_per_minute")?;
    }
    if let Some(n) = &spec.requests_per_ip_per_minute {
        http.requests_per_ip_per_minute = positive_count(n, "http.requests_per_ip_per_minute")?;
    }
    if http.max_connections_per_ip > http.max_connections {
        let span = spec.max_connections_per_ip.as_ref().map(Spanned::span);
        return Err(ConfigError::at(
            text,
            span,
            "http.max_connections_per_ip",
            format!(
                "must not exceed http.max_connections ({})",
                http.max_connections
            ),
        ));
    }
    Ok(())
}

fn audit_config(text: &str, spec: &AuditSpec) -> Result<AuditConfig, ConfigError> {
    let syslog = match &spec.syslog {
        Some(target) => Some(
            syslog_target(target.get_ref())
                .map_err(|m| ConfigError::at(text, Some(target.span()), "audit.syslog", m))?,
        ),
        None => None,
    };
    let token = match (&spec.webhook_token, &spec.webhook_token_file) {
        (Some(_), Some(path)) => {
            return Err(ConfigError::at(
                text,
                Some(path.span()),
                "audit.webhook_token_file",
                "give webhook_token or webhook_token_file, not both",
            ));
        }
        (Some(token), None) => Some(token.get_ref().trim().to_owned()),
        (None, Some(path)) => Some(
            std::fs::read_to_string(path.get_ref())
                .map(|t| t.trim().to_owned())
                .map_err(|e| {
                    ConfigError::at(
                        text,
                        Some(path.span()),
                        "audit.webhook_token_file",
                        format!("{}: {e}", path.get_ref().display()),
                    )
                })?,
        ),
        (None, None) => None,
    };
    if token.as_deref() == Some("") {
        return Err(ConfigError::new("[audit] the webhook token is empty"));
    }
    let webhook = match &spec.webhook {
        Some(url) => Some(AuditWebhook {
            url: webhook_url(url.get_ref())
                .map_err(|m| ConfigError::at(text, Some(url.span()), "audit.webhook", m))?,
            token,
        }),
        None if token.is_some() => {
            return Err(ConfigError::new(
                "[audit] webhook_token is set but there is no webhook",
            ));
        }
        None => None,
    };
    Ok(AuditConfig {
        syslog,
        webhook,
        ca_file: spec.ca_file.clone(),
    })
}

/// `tcp://host:port` or `tls://host:port`.
fn syslog_target(url: &str) -> Result<SyslogTarget, String> {
    let (tls, rest) = if let Some(rest) = url.strip_prefix("tcp://") {
        (false, rest)
    } else if let Some(rest) = url.strip_prefix("tls://") {
        (true, rest)
    } else {
        return Err(format!(
            "{url:?}: give a syslog collector as tcp://host:port or tls://host:port"
        ));
    };
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("{url:?} has no port (tcp://host:port)"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse::<u16>().ok().filter(|p| *p != 0);
    match port {
        Some(port) if !host.is_empty() && !host.contains('/') => Ok(SyslogTarget {
            host: host.to_owned(),
            port,
            tls,
        }),
        _ => Err(format!("{url:?} is not tcp://host:port or tls://host:port")),
    }
}

/// An absolute `http://` or `https://` URL without credentials in it (they would be logged
/// with the URL; `webhook_token` is the place for a secret).
fn webhook_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{text:?}: give an http:// or https:// URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "put no credentials in the URL; use webhook_token or webhook_token_file".into(),
        );
    }
    Ok(url.into())
}

fn apply_history_retention(
    text: &str,
    spec: &StoreSpec,
    history: &mut HistoryConfig,
) -> Result<(), ConfigError> {
    if let Some(d) = &spec.history_max_age {
        if d.get_ref().0.is_zero() {
            return Err(ConfigError::at(
                text,
                Some(d.span()),
                "store.history_max_age",
                "must be longer than 0s",
            ));
        }
        history.max_age = d.get_ref().0;
    }
    if let Some(n) = &spec.history_max_rows_per_host {
        if *n.get_ref() == 0 {
            return Err(ConfigError::at(
                text,
                Some(n.span()),
                "store.history_max_rows_per_host",
                "must be at least 1",
            ));
        }
        history.max_rows_per_host = *n.get_ref();
    }
    Ok(())
}

fn parse_listen(
    text: &str,
    key: &str,
    list: &[Spanned<String>],
) -> Result<Vec<SocketAddr>, ConfigError> {
    if list.is_empty() {
        return Err(ConfigError::new(format!(
            "`{key}` needs at least one address"
        )));
    }
    list.iter()
        .map(|a| parse_addr(a.get_ref()).map_err(|m| ConfigError::at(text, Some(a.span()), key, m)))
        .collect()
}

fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not an address:port (examples: 127.0.0.1:53, [::]:53)"))
}

pub(crate) fn parse_net(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or CIDR prefix"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ServerConfig, ConfigError> {
        ServerConfig::from_toml(text, PathBuf::from("/tmp/d"))
    }

    #[test]
    fn syslog_targets_are_tcp_or_tls_host_port() {
        let syslog = |t: &str| parse(&format!("version = 1\n[audit]\nsyslog = \"{t}\"\n"));
        let target = syslog("tcp://127.0.0.1:6514")
            .unwrap()
            .audit
            .syslog
            .unwrap();
        assert_eq!(target.address(), "127.0.0.1:6514");
        assert!(!target.tls);
        let target = syslog("tls://[::1]:6514").unwrap().audit.syslog.unwrap();
        assert_eq!((target.host.as_str(), target.tls), ("::1", true));
        assert_eq!(target.address(), "[::1]:6514");
        for bad in [
            "udp://h:514",
            "tcp://h",
            "tcp://:514",
            "tcp://h:0",
            "tls://h:x",
            "tcp://h/x:1",
        ] {
            let e = syslog(bad).unwrap_err().to_string();
            assert!(e.contains("audit.syslog"), "{bad}: {e}");
        }
    }

    #[test]
    fn redacted_text_holds_no_secret_and_still_parses() {
        let text = "version = 1\n[audit]\nwebhook = \"https://h/\"\nwebhook_token = \"tok-SECRET\" # c\n\
                    [[tsig_key]]\nname = \"a\"\nsecret = \"c2VjcmV0LWE=\"\n\
                    [[tsig_key]]\nname = \"b\"\nsecret = '''c2VjcmV0LWI='''\n";
        let redacted = ServerConfig::redacted(text).unwrap();
        for secret in ["tok-SECRET", "c2VjcmV0LWE=", "c2VjcmV0LWI="] {
            assert!(!redacted.contains(secret), "{redacted}");
        }
        assert_eq!(redacted.matches("\"<redacted>\"").count(), 3, "{redacted}");
        assert!(redacted.contains("# c\n"), "comments stay: {redacted}");
        let spec: FileSpec = toml::from_str(&redacted).unwrap();
        assert_eq!(spec.tsig_key.len(), 2);
    }

    #[test]
    fn webhooks_take_http_urls_and_a_token_that_is_never_shown() {
        let audit = |body: &str| parse(&format!("version = 1\n[audit]\n{body}\n"));
        let config = audit("webhook = \"https://siem.example/in?x=1\"\nwebhook_token = \"s3cr3t\"")
            .unwrap()
            .audit;
        let webhook = config.webhook.unwrap();
        assert_eq!(webhook.url, "https://siem.example/in?x=1");
        assert_eq!(webhook.token.as_deref(), Some("s3cr3t"));
        assert!(!format!("{webhook:?}").contains("s3cr3t"));

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "from-file\n").unwrap();
        let config = audit(&format!(
            "webhook = \"http://127.0.0.1:9/\"\nwebhook_token_file = {:?}",
            file
        ))
        .unwrap();
        assert_eq!(
            config.audit.webhook.unwrap().token.as_deref(),
            Some("from-file")
        );

        for (bad, key) in [
            ("webhook = \"ftp://h/\"", "audit.webhook"),
            ("webhook = \"nope\"", "audit.webhook"),
            ("webhook = \"https://u:p@h/\"", "audit.webhook"),
            ("webhook_token = \"t\"", "no webhook"),
            (
                "webhook = \"https://h/\"\nwebhook_token = \"t\"\nwebhook_token_file = \"/x\"",
                "not both",
            ),
            (
                "webhook = \"https://h/\"\nwebhook_token_file = \"/nonexistent/t\"",
                "audit.webhook_token_file",
            ),
        ] {
            let e = audit(bad).unwrap_err().to_string();
            assert!(e.contains(key), "{bad}: {e}");
            assert!(!e.contains("s3cr3t"));
        }
    }

    #[test]
    fn rrl_is_on_by_default_and_configurable() {
        let defaults = parse("version = 1\n").unwrap().dns.rrl;
        assert_eq!(defaults, RrlSettings::default());
        assert!(defaults.rate > 0 && defaults.slip == 1 && defaults.table_size == 393_241);

        let text = "version = 1\n[dns]\nrrl = { rate = 5, slip = 2, table_size = 1000, whitelist = [\"192.0.2.0/24\", \"2001:db8::1\"] }\n";
        let rrl = parse(text).unwrap().dns.rrl;
        assert_eq!((rrl.rate, rrl.slip, rrl.table_size), (5, 2, 1000));
        assert_eq!(
            rrl.whitelist,
            vec![
                "192.0.2.0/24".parse::<IpNet>().unwrap(),
                "2001:db8::1/128".parse().unwrap()
            ]
        );
        // The table form, and rate 0 (off).
        let off = parse("version = 1\n[dns.rrl]\nrate = 0\n").unwrap().dns.rrl;
        assert_eq!(off.rate, 0);
        assert_eq!(off.slip, 1, "what is not given keeps its default");
    }

    #[test]
    fn bad_rrl_values_name_their_key_and_line() {
        for (text, key) in [
            ("version = 1\n[dns.rrl]\nrate = 2000000\n", "dns.rrl.rate"),
            ("version = 1\n[dns.rrl]\nslip = 101\n", "dns.rrl.slip"),
            (
                "version = 1\n[dns.rrl]\ntable_size = 0\n",
                "dns.rrl.table_size",
            ),
            (
                "version = 1\n[dns.rrl]\nwhitelist = [\"nope\"]\n",
                "dns.rrl.whitelist",
            ),
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!(err.key.as_deref(), Some(key), "{text}: {err}");
            assert_eq!(err.line, Some(3), "{text}: {err}");
        }
        let err = parse("version = 1\n[dns.rrl]\nburst = 3\n").unwrap_err();
        assert!(err.to_string().contains("burst"), "{err}");
    }

    #[test]
    fn minimal_file_is_the_defaults() {
        assert_eq!(
            parse("version = 1\n").unwrap(),
            ServerConfig::defaults(PathBuf::from("/tmp/d"))
        );
    }

    #[test]
    fn store_url_and_password_file() {
        use crate::store::StoreLocation;
        assert_eq!(
            parse("version = 1\n").unwrap().store,
            StoreLocation::DataDir
        );
        let config = parse(
            "version = 1\n[store]\nurl = \"postgres://ddns@db.lan/ddns\"\n\
             password_file = \"/etc/ddns/pg-password\"\n",
        )
        .unwrap();
        assert_eq!(
            config.store,
            StoreLocation::Postgres {
                url: "postgres://ddns@db.lan/ddns".into(),
                password_file: Some(PathBuf::from("/etc/ddns/pg-password")),
            }
        );
        let mut config = config;
        config
            .apply_overrides(&ServerOverrides {
                store_url: Some("sqlite:///srv/ddns.sqlite3".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            config.store,
            StoreLocation::SqliteFile(PathBuf::from("/srv/ddns.sqlite3"))
        );
        let err = parse("version = 1\n[store]\nurl = \"mysql://db/ddns\"\n").unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
        assert!(err.to_string().contains("store.url"), "{err}");
        let err = parse("version = 1\n[store]\npassword_file = \"/p\"\n").unwrap_err();
        assert!(err.to_string().contains("only with a postgres"), "{err}");
        let text = "version = 1\n[store]\nurl = \"postgres://ddns:s3cret@db/ddns\"\n";
        let redacted = ServerConfig::redacted(text).unwrap();
        assert!(!redacted.contains("s3cret"), "{redacted}");
        assert!(parse(&redacted).is_ok(), "{redacted}");
    }

    #[test]
    fn full_file() {
        let config = parse(
            r#"version = 1
[server]
data_dir = "/var/lib/ddns"
[dns]
listen = ["0.0.0.0:53", "[::]:53"]
udp_payload = 1400
tcp_idle_timeout = "20s"
[http]
listen = ["127.0.0.1:8080"]
trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]
metrics_allow = ["192.0.2.0/24", "::1"]
[dyndns2]
blocked_user_agents = ["EvilBot"]
updates_per_host_per_minute = 10
[store]
busy_timeout = "2s"
poll_interval = "250ms"
[[zone]]
name = "Dyn.Example.COM."
ttl = 120
ns = ["ns1.example.net", "ns2.example.net"]
soa.rname = "admin@example.com"
records = ["@ MX 10 mail.example.net.", "www CNAME home"]
"#,
        )
        .unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/ddns"));
        assert_eq!(config.dns.listen.len(), 2);
        assert_eq!(config.dns.udp_payload, 1400);
        assert_eq!(config.dns.tcp_idle_timeout, Duration::from_secs(20));
        assert_eq!(config.http.trusted_proxies.len(), 2);
        assert!(config.http.metrics, "on unless turned off");
        assert_eq!(
            config.http.metrics_allow,
            vec![
                "192.0.2.0/24".parse::<IpNet>().unwrap(),
                "::1/128".parse().unwrap()
            ]
        );
        assert_eq!(config.store_busy_timeout, Duration::from_secs(2));
        assert_eq!(config.store_poll_interval, Duration::from_millis(250));
        let zone = &config.zones[0];
        assert_eq!(zone.name.as_str(), "dyn.example.com");
        assert_eq!(zone.dynamic_ttl, 120);
        assert_eq!(zone.soa.mname.as_str(), "ns1.example.net");
        assert_eq!(zone.soa.rname.as_str(), "admin.example.com");
        assert_eq!(zone.records.len(), 2);
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err =
            parse("version = 1\n[dns]\nlisten = [\"127.0.0.1:53\"]\nlisen = 5\n").unwrap_err();
        assert_eq!(err.line, Some(4));
        assert_eq!(err.key.as_deref(), Some("lisen"));
        assert!(
            err.to_string().starts_with("line 4: unknown key `lisen`"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_name_key_and_line() {
        let err = parse("version = 1\n[[zone]]\nname = \"bad name.example\"\n").unwrap_err();
        assert_eq!((err.line, err.key.as_deref()), (Some(3), Some("zone.name")));
        let err = parse("version = 1\n[[zone]]\nname = \"z.example\"\nrecords = [\n\"ok A 192.0.2.1\",\n\"bad A 1234\"]\n").unwrap_err();
        assert_eq!(
            (err.line, err.key.as_deref()),
            (Some(6), Some("zone.records"))
        );
        let err = parse("version = 1\n[http]\nlisten = [\"localhost\"]\n").unwrap_err();
        assert_eq!(
            (err.line, err.key.as_deref()),
            (Some(3), Some("http.listen"))
        );
        let err = parse(
            "version = 1\n[[zone]]\nname = \"z.example\"\nrecords = [\"@ SOA a. b. 1 2 3 4 5\"]\n",
        )
        .unwrap_err();
        assert_eq!(
            (err.line, err.key.as_deref()),
            (Some(4), Some("zone.records"))
        );
        let err = parse("version = 2\n").unwrap_err();
        assert_eq!((err.line, err.key.as_deref()), (Some(1), Some("version")));
        assert!(parse("[dns]\n").unwrap_err().message.contains("version"));
        let err =
            parse("version = 1\n[[zone]]\nname = \"a.example\"\n[[zone]]\nname = \"A.example.\"\n")
                .unwrap_err();
        assert_eq!(err.line, Some(5));
    }

    #[test]
    fn http_connection_limits() {
        let config = parse(
            "version = 1\n[http]\nheader_read_timeout = \"1s\"\nidle_timeout = \"2m\"\nmax_connections = 100\nmax_connections_per_ip = 5\nhttp2_max_streams = 10\n",
        )
        .unwrap();
        assert_eq!(config.http.header_read_timeout, Duration::from_secs(1));
        assert_eq!(config.http.idle_timeout, Duration::from_secs(120));
        assert_eq!(config.http.max_connections, 100);
        assert_eq!(config.http.max_connections_per_ip, 5);
        assert_eq!(config.http.http2_max_streams, 10);
        let defaults = parse("version = 1\n").unwrap().http;
        assert_eq!(
            (
                defaults.header_read_timeout,
                defaults.idle_timeout,
                defaults.max_connections,
                defaults.max_connections_per_ip,
                defaults.http2_max_streams
            ),
            (
                Duration::from_secs(10),
                Duration::from_secs(60),
                4096,
                64,
                100
            )
        );
        for (text, line, key) in [
            (
                "[http]\nheader_read_timeout = \"0s\"\n",
                3,
                Some("http.header_read_timeout"),
            ),
            ("[http]\n\nidle_timeout = 0\n", 4, Some("http.idle_timeout")),
            (
                "[http]\nmax_connections = 0\n",
                3,
                Some("http.max_connections"),
            ),
            (
                "[http]\nmax_connections_per_ip = 0\n",
                3,
                Some("http.max_connections_per_ip"),
            ),
            (
                "[http]\nhttp2_max_streams = 0\n",
                3,
                Some("http.http2_max_streams"),
            ),
            (
                "[http]\nmax_connections = 10\nmax_connections_per_ip = 11\n",
                4,
                Some("http.max_connections_per_ip"),
            ),
            // Shape errors come from the TOML reader, with the line but no key.
            ("[http]\nheader_read_timeout = \"soon\"\n", 3, None),
            ("[http]\nmax_connections = -1\n", 3, None),
        ] {
            let err = parse(&format!("version = 1\n{text}")).unwrap_err();
            assert_eq!(
                (err.line, err.key.as_deref()),
                (Some(line), key),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn history_retention_and_token_limits() {
        let config = parse(
            "version = 1\n[http]\nmax_hosts_per_token = 50\napi_writes_per_token_per_minute = 10\nrequests_per_ip_per_minute = 7\n[dyndns2]\nupdates_per_token_per_minute = 9\n[store]\nhistory_max_age = \"30d\"\nhistory_max_rows_per_host = 20\n",
        )
        .unwrap();
        assert_eq!(config.http.requests_per_ip_per_minute, 7);
        assert_eq!(config.dyndns2.updates_per_token_per_minute, 9);
        assert_eq!(config.http.max_hosts_per_token, 50);
        assert_eq!(config.http.api_writes_per_token_per_minute, 10);
        assert_eq!(config.history.max_age, Duration::from_secs(30 * 86_400));
        assert_eq!(config.history.max_rows_per_host, 20);
        let defaults = parse("version = 1\n").unwrap();
        assert!(defaults.http.metrics && defaults.http.metrics_allow.is_empty());
        assert!(
            !parse("version = 1\n[http]\nmetrics = false\n")
                .unwrap()
                .http
                .metrics
        );
        assert_eq!(
            (
                defaults.http.max_hosts_per_token,
                defaults.http.api_writes_per_token_per_minute,
                defaults.history.max_age,
                defaults.history.max_rows_per_host
            ),
            (1000, 120, Duration::from_secs(365 * 86_400), 1000)
        );
        for (text, line, key) in [
            (
                "[http]\nmax_hosts_per_token = 0\n",
                3,
                Some("http.max_hosts_per_token"),
            ),
            (
                "[http]\n\napi_writes_per_token_per_minute = 0\n",
                4,
                Some("http.api_writes_per_token_per_minute"),
            ),
            (
                "[http]\nrequests_per_ip_per_minute = 0\n",
                3,
                Some("http.requests_per_ip_per_minute"),
            ),
            (
                "[http]\nmetrics_allow = [\"10.0.0.0/33\"]\n",
                3,
                Some("http.metrics_allow"),
            ),
            (
                "[dyndns2]\nupdates_per_token_per_minute = 0\n",
                3,
                Some("dyndns2.updates_per_token_per_minute"),
            ),
            (
                "[store]\nhistory_max_age = \"0d\"\n",
                3,
                Some("store.history_max_age"),
            ),
            (
                "[store]\nbusy_timeout = \"1s\"\nhistory_max_rows_per_host = 0\n",
                4,
                Some("store.history_max_rows_per_host"),
            ),
            (
                "[store]\npoll_interval = \"1ms\"\n",
                3,
                Some("store.poll_interval"),
            ),
            ("[store]\nhistory_max_age = \"a year\"\n", 3, None),
            ("[http]\nmax_hosts_per_token = -5\n", 3, None),
        ] {
            let err = parse(&format!("version = 1\n{text}")).unwrap_err();
            assert_eq!(
                (err.line, err.key.as_deref()),
                (Some(line), key),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn flags_override_the_file() {
        let mut config = parse("version = 1\n[[zone]]\nname = \"a.example\"\nttl = 300\n").unwrap();
        config
            .apply_overrides(&ServerOverrides {
                data_dir: Some(PathBuf::from("/srv/ddns")),
                zones: vec!["a.example".into(), "b.example".into()],
                dns_listen: vec!["127.0.0.1:5300".into()],
                http_listen: vec![],
                tls: None,
                store_url: None,
            })
            .unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/srv/ddns"));
        assert_eq!(config.zones.len(), 2);
        assert_eq!(
            config.zones[0].dynamic_ttl, 300,
            "file settings kept for a zone named by --zone"
        );
        assert_eq!(config.zones[1].dynamic_ttl, DEFAULT_DYNAMIC_TTL);
        assert_eq!(config.dns.listen, vec!["127.0.0.1:5300".parse().unwrap()]);
        assert_eq!(
            config.http.listen,
            vec![DEFAULT_HTTP_LISTEN.parse().unwrap()]
        );
        let err = config
            .apply_overrides(&ServerOverrides {
                dns_listen: vec!["nope".into()],
                ..ServerOverrides::default()
            })
            .unwrap_err();
        assert!(err.to_string().contains("--dns-listen"));
    }
}
