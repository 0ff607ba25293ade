//! `ddns server`: wires configuration, store, zones, DNS and HTTP together and runs them until
//! SIGINT/SIGTERM.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use ddns_config::StoreLocation;
use ddns_config::store::redact_url;
use ddns_config::{ServerConfig, ServerOverrides};
use ddns_core::dns_update::parse_update;
use ddns_core::{Actor, DomainName, Origin, Rcode, Rtype};
use ddns_dns::tsig::KeyRing;
use ddns_dns::{DnsListeners, DnsMetrics, DnsService, DnsSettings, UpdateRequest, Updater};
use ddns_http::tls::Certificates;
use ddns_http::{AppState, ConnectionLimits, HttpPolicy, Listener, MetricsEndpoint, Role};
use ddns_store::{DirLock, JournalRetention, Store, StoreOptions};
use ddns_zones::{HistoryRetention, WriteLimits, Zones};
use tokio_util::sync::CancellationToken;

use crate::cli::ServerArgs;
use crate::metrics::Exporter;

/// The validated configuration from file, defaults and flags.
pub(crate) fn load_config(
    config: Option<&std::path::Path>,
    overrides: &ServerOverrides,
) -> anyhow::Result<ServerConfig> {
    Ok(load_config_text(config, overrides)?.0)
}

/// The validated configuration and the file's text as it was read (once, so the version kept
/// is the one in force).
fn load_config_text(
    config: Option<&std::path::Path>,
    overrides: &ServerOverrides,
) -> anyhow::Result<(ServerConfig, Option<String>)> {
    let default_dir = ddns_platform::default_data_dir();
    let (mut config, text) = match config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let config =
                ServerConfig::from_toml(&text, default_dir).map_err(|e| e.in_file(path))?;
            (config, Some(text))
        }
        None => (ServerConfig::defaults(default_dir), None),
    };
    config.apply_overrides(overrides)?;
    Ok((config, text))
}

/// Keeps the configuration file's text in `DATA_DIR/config-versions/` when it changed since
/// the last start, with an audit row (`config.change`) naming both versions.
async fn keep_config_version(
    store: &Store,
    data_dir: &std::path::Path,
    source: &std::path::Path,
    text: &str,
) -> anyhow::Result<()> {
    use ddns_config::versions::{ConfigVersions, Kept};
    let redacted = ServerConfig::redacted(text)?;
    let kept = ConfigVersions::in_data_dir(data_dir)
        .keep(&redacted, time::OffsetDateTime::now_utc())
        .with_context(|| {
            format!(
                "cannot keep a copy of {} in {}",
                source.display(),
                data_dir.display()
            )
        })?;
    if let Kept::New { file, previous } = kept {
        let name = |p: &std::path::Path| {
            p.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        };
        let detail = match &previous {
            Some(previous) => format!("kept as {}; was {}", name(&file), name(previous)),
            None => format!("kept as {} (the first version kept)", name(&file)),
        };
        tracing::info!(file = %file.display(), "configuration changed since the last start; version kept");
        store
            .record_action(&ddns_store::AdminAction {
                detail: Some(detail),
                ..ddns_store::AdminAction::new(
                    Actor::Config,
                    "config.change",
                    source.display().to_string(),
                )
            })
            .await?;
    }
    Ok(())
}

pub(crate) async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let overrides = ServerOverrides {
        data_dir: args.data_dir,
        store_url: args.store_url,
        zones: args.zones,
        dns_listen: args.dns_listen,
        http_listen: args.http_listen,
        tls: match (args.tls_cert, args.tls_key) {
            (Some(cert_file), Some(key_file)) => Some(ddns_config::tls::TlsConfig {
                cert_file,
                key_file,
            }),
            _ => None,
        },
    };
    let (config, config_text) = load_config_text(args.config.as_deref(), &overrides)?;

    // Held until the process ends: `ddns restore` sees it and refuses to replace the store
    // under a running server.
    let _dir_lock = DirLock::server(&config.data_dir)?;
    let store = crate::admin::open_at(
        &config.store,
        &config.data_dir,
        &StoreOptions {
            busy_timeout: config.store_busy_timeout,
            ..StoreOptions::default()
        },
    )
    .await?;
    let store = Arc::new(store);
    if let (Some(source), Some(text)) = (args.config.as_deref(), &config_text) {
        keep_config_version(&store, &config.data_dir, source, text).await?;
    }
    let retention = JournalRetention {
        max_entries: config.journal.max_entries,
        max_age_secs: config.journal.max_age.as_secs(),
    };
    let limits = WriteLimits {
        max_hosts_per_token: config.http.max_hosts_per_token,
        history: HistoryRetention {
            max_age_secs: config.history.max_age.as_secs(),
            max_rows_per_host: config.history.max_rows_per_host,
        },
    };
    let zones = Arc::new(
        Zones::open_with_views(Arc::clone(&store), &config.zones, &config.views, retention)
            .await?
            .with_limits(limits),
    );

    let dns = DnsListeners::bind(&config.dns.listen).context("cannot listen for DNS")?;
    let certificates = certificates(&config)?;
    let http = http_listeners(&config, certificates.as_ref()).await?;
    let dns_addrs = dns.local_addrs();
    let http_addrs: Vec<_> = http
        .iter()
        .filter_map(|l| Some((l.tcp.local_addr().ok()?, l.role.clone())))
        .collect();

    let stop = CancellationToken::new();
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    // `[http] metrics = false`: no recorder, no route, and the DNS path counts nothing.
    let dns_metrics = config.http.metrics.then(|| Arc::new(DnsMetrics::new()));
    let exporter = match &dns_metrics {
        Some(dns) => Some(Arc::new(Exporter::install(
            Arc::clone(dns),
            Arc::clone(&zones),
        )?)),
        None => None,
    };
    let mut service = dns_service(&config, &zones)?;
    if let Some(m) = &dns_metrics {
        service = service.with_metrics(Arc::clone(m));
    }
    let service = Arc::new(service);
    let mut dns_serving = dns.serve(
        zones.published(),
        Arc::clone(&service),
        DnsSettings {
            udp_payload: config.dns.udp_payload,
            tcp_idle_timeout: config.dns.tcp_idle_timeout,
            max_tcp_connections: config.dns.max_tcp_connections,
            udp_workers: workers,
            tcp_write_timeout: config.dns.tcp_write_timeout,
            max_tcp_connections_per_ip: config.dns.max_tcp_connections_per_ip,
            rrl: config.dns.rrl.clone(),
            metrics: dns_metrics,
        },
    )?;
    let acme = match (&config.acme, &certificates) {
        (Some(acme), Some(certificates)) => Some(tokio::spawn(ddns_http::acme::run(
            acme.clone(),
            ddns_http::acme::AcmeFiles::in_dir(&config.data_dir),
            Arc::clone(&zones),
            Arc::clone(certificates),
            stop.clone(),
        ))),
        _ => None,
    };
    let mut state = AppState::new(
        Arc::clone(&zones),
        HttpPolicy::from_config(&config.http, &config.dyndns2),
    );
    if let Some(exporter) = exporter {
        state = state.with_metrics(MetricsEndpoint {
            source: exporter,
            allow: config.http.metrics_allow.clone(),
        });
    }
    let state = Arc::new(state);
    let limits_shared = {
        let state = Arc::clone(&state);
        let stop = stop.clone();
        let every = config.store_poll_interval;
        tokio::spawn(async move { state.share_rate_limits(every, stop).await })
    };
    let http_task = tokio::spawn(ddns_http::serve(
        http,
        state,
        ConnectionLimits::from_config(&config.http),
        stop.clone(),
    ));
    dns_serving.spawn(ddns_dns::notify::run_notifier(
        zones.published(),
        Arc::clone(&service),
        stop.clone(),
    ));
    let health = tokio::spawn(ddns_health::run(Arc::clone(&zones), stop.clone()));
    let follower = {
        let zones = Arc::clone(&zones);
        let stop = stop.clone();
        let poll_interval = config.store_poll_interval;
        tokio::spawn(async move { zones.follow(poll_interval, stop).await })
    };

    let audit_stream =
        ddns_http::AuditStream::start(Arc::clone(&zones), &config.audit, stop.clone())?;

    // Polled once before the banner says `ready`, so the signal handlers are installed by
    // then: a SIGTERM right after `ready` (a quick test) is a clean stop, not a kill.
    let mut stop_signal = std::pin::pin!(ddns_platform::shutdown_signal());
    let stopped_early = tokio::select! {
        biased;
        () = &mut stop_signal => true,
        () = std::future::ready(()) => false,
    };
    print_banner(&config, &zones, &dns_addrs, &http_addrs);
    tracing::info!(dns = ?dns_addrs, http = ?http_addrs, "server running");
    // Every listener is bound and serving: systemd's READY=1, the SCM's RUNNING.
    ddns_platform::service::notify::ready();
    let watchdog = tokio::spawn(ddns_platform::service::notify::watchdog());

    if !stopped_early {
        stop_signal.await;
    }
    tracing::info!("shutting down");
    ddns_platform::service::notify::stopping();
    watchdog.abort();
    stop.cancel();
    dns_serving.shutdown().await;
    let _ = follower.await;
    let _ = limits_shared.await;
    let _ = health.await;
    if let Some(stream) = audit_stream {
        stream.finished().await;
    }
    if let Some(acme) = acme {
        let _ = acme.await;
    }
    match tokio::time::timeout(Duration::from_secs(10), http_task).await {
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "HTTP server ended with an error"),
        Err(_) => tracing::warn!("HTTP requests still running after 10 s; exiting anyway"),
        _ => {}
    }
    store.close().await;
    Ok(())
}

/// The certificate store of the HTTPS listeners: the configured files (which must be usable
/// now), or the ACME files in the data directory (which may not exist yet).
fn certificates(config: &ServerConfig) -> anyhow::Result<Option<Arc<Certificates>>> {
    if let Some(tls) = &config.http.tls {
        return Ok(Some(
            Certificates::load(&tls.cert_file, &tls.key_file)
                .context("cannot use the TLS certificate")?,
        ));
    }
    Ok(config.acme.as_ref().map(|_| {
        let files = ddns_http::acme::AcmeFiles::in_dir(&config.data_dir);
        Certificates::watch(&files.cert, &files.key)
    }))
}

/// Every HTTP listener bound: `listen` (HTTPS when there is a certificate), `plain_listen`,
/// then `redirect_listen` pointing at the first HTTPS port.
async fn http_listeners(
    config: &ServerConfig,
    certificates: Option<&Arc<Certificates>>,
) -> anyhow::Result<Vec<Listener>> {
    let main_role = certificates.map_or(Role::Plain, |c| Role::Tls(Arc::clone(c)));
    let mut listeners = Vec::new();
    for tcp in ddns_http::bind(&config.http.listen)
        .await
        .context("cannot listen for HTTP")?
    {
        listeners.push(Listener {
            tcp,
            role: main_role.clone(),
        });
    }
    let https_port = match main_role {
        Role::Tls(_) => listeners
            .first()
            .and_then(|l| l.tcp.local_addr().ok())
            .map(|a| a.port()),
        _ => None,
    };
    for tcp in ddns_http::bind(&config.http.plain_listen)
        .await
        .context("cannot listen for plain HTTP (http.plain_listen)")?
    {
        listeners.push(Listener {
            tcp,
            role: Role::Plain,
        });
    }
    if let Some(https_port) = https_port {
        for tcp in ddns_http::bind(&config.http.redirect_listen)
            .await
            .context("cannot listen for redirects (http.redirect_listen)")?
        {
            listeners.push(Listener {
                tcp,
                role: Role::Redirect { https_port },
            });
        }
    }
    Ok(listeners)
}

/// The DNS service: the configured keys and each zone's transfer, NOTIFY and update rules;
/// IXFR answers from the zones' journal history.
fn dns_service(config: &ServerConfig, zones: &Arc<Zones>) -> anyhow::Result<DnsService> {
    let mut keys = KeyRing::new();
    for key in &config.tsig_keys {
        keys.insert(key.clone())?;
    }
    let access = config
        .zones
        .iter()
        .map(|z| (z.name.clone(), z.access.clone()))
        .collect();
    let history: Arc<dyn ddns_core::journal::ZoneHistory> = Arc::clone(zones) as _;
    let updater: Arc<dyn Updater> = Arc::new(ZonesUpdater(Arc::clone(zones)));
    Ok(DnsService::new(keys, access, history, Some(updater)))
}

/// RFC 2136 UPDATE onto the write path: parsed, then checked and committed by the zones
/// within the rule that let the requester in.
struct ZonesUpdater(Arc<Zones>);

impl Updater for ZonesUpdater {
    fn update<'a>(
        &'a self,
        request: UpdateRequest<'a>,
    ) -> Pin<Box<dyn Future<Output = Rcode> + Send + 'a>> {
        Box::pin(async move {
            let message = match parse_update(request.message, request.message.len()) {
                Ok(m) => m,
                Err(e) => {
                    tracing::info!(peer = %request.peer, rcode = %e.rcode, "UPDATE rejected: {}", e.message);
                    return e.rcode;
                }
            };
            let permit = |name: &DomainName, rtype: Rtype| request.rule.permits(name, rtype);
            let origin = Origin {
                source_ip: Some(request.peer.ip()),
                user_agent: None,
            };
            let actor = Actor::Rfc2136(request.requester.clone());
            match self.0.dns_update(&message, &permit, actor, origin).await {
                Ok(done) => {
                    tracing::info!(peer = %request.peer, who = %request.requester, zone = %message.zone, changed = done.changed, serial = done.serial.0, "UPDATE applied");
                    Rcode::NOERROR
                }
                Err(e) => {
                    tracing::info!(peer = %request.peer, who = %request.requester, zone = %message.zone, rcode = %e.rcode, "UPDATE not applied: {}", e.message);
                    e.rcode
                }
            }
        })
    }
}

fn print_banner(
    config: &ServerConfig,
    zones: &Zones,
    dns: &[std::net::SocketAddr],
    http: &[(std::net::SocketAddr, Role)],
) {
    let snapshot = zones.snapshot();
    let mut out = format!("ddns server {}\n", env!("CARGO_PKG_VERSION"));
    out.push_str(&format!("  data dir   {}\n", config.data_dir.display()));
    out.push_str(&match &config.store {
        StoreLocation::DataDir => format!(
            "  store      {} (SQLite)\n",
            config.data_dir.join(ddns_store::DB_FILE).display()
        ),
        StoreLocation::SqliteFile(path) => format!("  store      {} (SQLite)\n", path.display()),
        StoreLocation::Postgres { url, .. } => {
            format!("  store      {} (PostgreSQL)\n", redact_url(url))
        }
    });
    for zone in &config.zones {
        let serial = snapshot.get(&zone.name).map_or(0, |z| z.serial().0);
        out.push_str(&format!(
            "  zone       {} (serial {serial})\n",
            zone.name.to_fqdn()
        ));
    }
    for failover in config.zones.iter().flat_map(|z| &z.failover) {
        let targets: Vec<String> = failover.targets.iter().map(ToString::to_string).collect();
        out.push_str(&format!(
            "  failover   {} -> {} (port {}{})\n",
            failover.name.to_fqdn(),
            targets.join(", "),
            failover.check.port,
            if failover.check.smb { ", SMB2" } else { "" }
        ));
    }
    for addr in dns {
        out.push_str(&format!("  DNS        {addr} (UDP and TCP)\n"));
    }
    for (addr, role) in http {
        out.push_str(&match role {
            Role::Tls(_) => format!(
                "  HTTPS      https://{addr}  (DynDNS2 /nic/update, REST /update, /api/v1)\n"
            ),
            Role::Plain => format!(
                "  HTTP       http://{addr}  (DynDNS2 /nic/update, REST /update, /api/v1)\n"
            ),
            Role::Redirect { https_port } => {
                format!("  redirect   http://{addr} -> https port {https_port}\n")
            }
        });
    }
    if let Some(acme) = &config.acme {
        let names: Vec<&str> = acme.names.iter().map(DomainName::as_str).collect();
        out.push_str(&format!(
            "  ACME       {} for {}\n",
            acme.directory,
            names.join(", ")
        ));
    }
    let example = config.zones.first().map_or_else(
        || "home.example.com".to_owned(),
        |z| format!("home.{}", z.name),
    );
    let exe = std::env::args().next().unwrap_or_else(|| "ddns".into());
    let store_flag = match &config.store {
        StoreLocation::DataDir => format!("--data-dir {}", config.data_dir.display()),
        StoreLocation::SqliteFile(path) => format!("--store-url sqlite://{}", path.display()),
        StoreLocation::Postgres { url, .. } => format!("--store-url {}", redact_url(url)),
    };
    out.push_str(&format!(
        "Create a token for a host:\n  {exe} token create {store_flag} --host {example}\nready"
    ));
    println!("{out}");
}
