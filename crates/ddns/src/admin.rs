//! Offline administration of a server's data directory: tokens, hosts, zone export and import
//! (history, audit, rollback, backup and restore are in `audit.rs`).
//! These work while the server runs; it picks their changes up from the store's history.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use ddns_config::when::{parse_moment, parse_seconds, rfc3339};
use ddns_config::{StoreLocation, ZoneConfig};
use ddns_core::{Actor, DomainName, Origin, Restrictions, Rtype, Scope, ScopeEntry, Serial};
use ddns_store::{HostFilter, Store, StoreOptions};
use ddns_zones::{Principal, Zones};

use crate::cli::{AdminCommand, DataDir, HostCommand, TokenCommand, ZoneCommand};

/// Hosts read per page by `host list`.
const LIST_PAGE: u32 = 1000;

/// Opens the store a command names: `--store-url` (`DDNS_STORE_URL`), else the data
/// directory's SQLite file.
pub(crate) async fn open(data: &DataDir) -> anyhow::Result<Store> {
    let dir = data
        .data_dir
        .clone()
        .unwrap_or_else(ddns_platform::default_data_dir);
    let location = match &data.store_url {
        Some(url) => StoreLocation::parse(url, None).map_err(|m| anyhow!("--store-url: {m}"))?,
        None => StoreLocation::DataDir,
    };
    open_at(&location, &dir, &StoreOptions::default()).await
}

/// Opens the store at `location` (the server's `[store] url`, or `dir`'s SQLite file).
pub(crate) async fn open_at(
    location: &StoreLocation,
    dir: &Path,
    options: &StoreOptions,
) -> anyhow::Result<Store> {
    match location {
        StoreLocation::DataDir => Store::open_dir(dir, options)
            .await
            .with_context(|| format!("cannot open the database in {}", dir.display())),
        StoreLocation::SqliteFile(path) => Store::open(path, options)
            .await
            .with_context(|| format!("cannot open the database {}", path.display())),
        StoreLocation::Postgres { url, password_file } => {
            let password = match password_file {
                Some(file) => Some(
                    std::fs::read_to_string(file)
                        .with_context(|| format!("cannot read {}", file.display()))?
                        .trim_end_matches(['\r', '\n'])
                        .to_owned(),
                ),
                None => None,
            };
            Store::open_url(url, password.as_deref(), options)
                .await
                .with_context(|| {
                    format!(
                        "cannot open the database {}",
                        ddns_config::store::redact_url(url)
                    )
                })
        }
    }
}

/// Seconds since the epoch (the first serial of a zone registered here).
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The zones of a data directory, for commands that change them through the one write path.
pub(crate) async fn attach(data: &DataDir) -> anyhow::Result<Zones> {
    let store = Arc::new(open(data).await?);
    Ok(Zones::attach(store).await?)
}

/// The zones of a data directory after registering those a configuration file or `--zone`
/// names as the server does at start: the database is created and migrated if new, and each
/// zone gets its row, SOA, apex NS and static records (one journaled serial step if anything
/// changed), so a token can be made before the server has ever run.
async fn attach_registering(
    data: &DataDir,
    config: Option<&Path>,
    zones: Vec<String>,
) -> anyhow::Result<Zones> {
    if config.is_none() && zones.is_empty() {
        return attach(data).await;
    }
    let overrides = ddns_config::ServerOverrides {
        data_dir: data.data_dir.clone(),
        store_url: data.store_url.clone(),
        zones,
        ..Default::default()
    };
    let config = crate::server::load_config(config, &overrides)?;
    let store = Arc::new(open_at(&config.store, &config.data_dir, &StoreOptions::default()).await?);
    let retention = ddns_store::JournalRetention {
        max_entries: config.journal.max_entries,
        max_age_secs: config.journal.max_age.as_secs(),
    };
    Zones::open(Arc::clone(&store), &config.zones, retention).await?;
    Ok(Zones::attach(store).await?)
}

pub(crate) async fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            data,
            hosts,
            admin,
            label,
            config,
            zones,
            types,
            subnets,
            expires,
            read_only,
        } => {
            let restrictions = restrictions(&types, &subnets, expires.as_deref(), read_only)?;
            let zones = attach_registering(&data, config.as_deref(), zones).await?;
            let scope = if admin {
                Scope::Admin
            } else {
                Scope::Hosts(
                    hosts
                        .iter()
                        .map(|h| ScopeEntry::parse(h).with_context(|| format!("--host {h}")))
                        .collect::<anyhow::Result<_>>()?,
                )
            };
            let token = zones
                .create_token(&label, &scope, &restrictions, Actor::Cli, Origin::default())
                .await
                .map_err(|e| match e {
                    ddns_zones::UpdateError::NotServed(name) => anyhow::anyhow!(
                        "{name} is not in a zone of this data directory; give --config or --zone for its zone"
                    ),
                    other => other.into(),
                })?;
            println!("{}", token.full);
        }
        TokenCommand::Rotate {
            data,
            id,
            grace,
            expires,
        } => {
            let grace = parse_seconds(&grace).map_err(|m| anyhow::anyhow!("--grace: {m}"))?;
            let now = unix_now_secs();
            let expires = expires
                .as_deref()
                .map(|e| parse_moment(e, now).map_err(|m| anyhow::anyhow!("--expires: {m}")))
                .transpose()?
                .map(Some);
            let zones = attach(&data).await?;
            let until = now.saturating_add(grace);
            let (token, old) = zones
                .rotate_token(&id, until, expires, Actor::Cli, Origin::default())
                .await?;
            println!("{}", token.full);
            let old_until = old
                .restrictions
                .expires_at
                .map_or(until, |at| at.min(until));
            eprintln!(
                "token {id} keeps working until {}; its successor is {}",
                rfc3339(old_until),
                token.id
            );
        }
        TokenCommand::List { data } => {
            let zones = attach(&data).await?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<14} {:<8} {:<16} {:<21} {:<21} {:<21} {:<10} {:<18} SCOPE",
                "ID", "STATE", "LABEL", "CREATED", "EXPIRES", "LAST USED", "TYPES", "SUBNETS"
            )?;
            let now = unix_now_secs();
            for t in zones.tokens().await? {
                let r = &t.restrictions;
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else if r.expires_at.is_some_and(|at| at <= now) {
                    "expired"
                } else if r.read_only {
                    "readonly"
                } else {
                    "active"
                };
                let scope = match &t.scope {
                    Scope::Admin => "admin".to_owned(),
                    Scope::Hosts(entries) => entries
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                };
                let or_dash = |text: String| {
                    if text.is_empty() {
                        "-".to_owned()
                    } else {
                        text
                    }
                };
                writeln!(
                    out,
                    "{:<14} {:<8} {:<16} {:<21} {:<21} {:<21} {:<10} {:<18} {scope}",
                    t.id,
                    state,
                    or_dash(t.label.clone()),
                    t.created_at
                        .get(..19)
                        .map_or(t.created_at.clone(), |c| format!("{c}Z")),
                    r.expires_at.map_or_else(|| "never".to_owned(), rfc3339),
                    t.last_used_at.map_or_else(|| "never".to_owned(), rfc3339),
                    or_dash(r.types_text()),
                    or_dash(r.subnets_text()),
                )?;
            }
        }
        TokenCommand::Revoke { data, id } => {
            let zones = attach(&data).await?;
            zones
                .revoke_token(&id, Actor::Cli, Origin::default())
                .await?;
            eprintln!("token {id} revoked");
        }
    }
    Ok(())
}

/// Seconds since the epoch, signed (token expiry and last use).
fn unix_now_secs() -> i64 {
    i64::try_from(unix_now()).unwrap_or(i64::MAX)
}

/// `--type`, `--subnet`, `--expires`, `--read-only` as validated restrictions.
fn restrictions(
    types: &[String],
    subnets: &[String],
    expires: Option<&str>,
    read_only: bool,
) -> anyhow::Result<Restrictions> {
    let types = types
        .iter()
        .map(|t| Rtype::parse(t).with_context(|| format!("--type {t}")))
        .collect::<anyhow::Result<_>>()?;
    let subnets = subnets
        .iter()
        .map(|n| {
            n.parse::<ipnet::IpNet>()
                .or_else(|_| n.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| {
                    anyhow::anyhow!("--subnet {n}: not a CIDR prefix (192.0.2.0/24, 2001:db8::/48)")
                })
        })
        .collect::<anyhow::Result<_>>()?;
    let expires_at = expires
        .map(|e| parse_moment(e, unix_now_secs()).map_err(|m| anyhow::anyhow!("--expires: {m}")))
        .transpose()?;
    Ok(Restrictions {
        types,
        subnets,
        expires_at,
        read_only,
    })
}

pub(crate) async fn host(command: HostCommand) -> anyhow::Result<()> {
    match command {
        HostCommand::List { data } => {
            let zones = attach(&data).await?;
            let mut out = std::io::stdout().lock();
            let mut after: Option<DomainName> = None;
            loop {
                let page = zones
                    .hosts(&HostFilter::All, after.as_ref(), LIST_PAGE)
                    .await?;
                for host in &page {
                    let records: Vec<String> = host
                        .rrsets
                        .iter()
                        .map(|s| format!("{} {} {}", s.rtype(), s.ttl(), s.values().join(",")))
                        .collect();
                    writeln!(
                        out,
                        "{}\tv{}\t{}",
                        host.name,
                        host.version,
                        records.join("; ")
                    )?;
                }
                match page.last() {
                    Some(last) if page.len() == LIST_PAGE as usize => {
                        after = Some(last.name.clone())
                    }
                    _ => break,
                }
            }
        }
        HostCommand::Rm { data, name } => {
            let zones = attach(&data).await?;
            let name = DomainName::parse(&name).with_context(|| format!("host {name}"))?;
            zones
                .delete_host(&Principal::operator(), &name, None, Origin::default())
                .await?;
            eprintln!("host {name} deleted");
        }
        HostCommand::Rollback { data, name, to } => {
            crate::audit::rollback(&data, &name, to).await?;
        }
    }
    Ok(())
}

/// `ddns admin password`: the console's admin password from the first line of stdin (so it
/// never shows in a process listing or a shell history).
pub(crate) async fn admin(command: AdminCommand) -> anyhow::Result<()> {
    let AdminCommand::Password { data } = command;
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprint!("new console admin password (it is echoed; pipe it in to avoid that): ");
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    let zones = attach(&data).await?;
    zones
        .set_console_password(password, Actor::Cli, Origin::default())
        .await?;
    eprintln!("console admin password set");
    Ok(())
}

pub(crate) async fn zone(command: ZoneCommand) -> anyhow::Result<()> {
    match command {
        ZoneCommand::Export { data, config, zone } => export(&data, config.as_deref(), zone).await,
        ZoneCommand::Import { data, zone, file } => import(&data, &zone, &file).await,
    }
}

/// Writes the zones as the data directory holds them (what the server serves). `--config`
/// only chooses which zones, when `--zone` does not.
async fn export(data: &DataDir, config: Option<&Path>, zone: Option<String>) -> anyhow::Result<()> {
    let zones = attach(data).await?;
    let wanted: Vec<DomainName> = match (zone, config) {
        (Some(z), _) => vec![DomainName::parse(&z).with_context(|| format!("--zone {z}"))?],
        (None, Some(path)) => crate::server::load_config(Some(path), &Default::default())?
            .zones
            .iter()
            .map(|z| z.name.clone())
            .collect(),
        (None, None) => zones.policies().iter().map(|z| z.name.clone()).collect(),
    };
    let mut out = std::io::stdout().lock();
    for name in wanted {
        let text = zones
            .export(&name)
            .with_context(|| format!("zone {name} is not in this data directory"))?;
        out.write_all(text.as_bytes())?;
    }
    Ok(())
}

async fn import(data: &DataDir, zone: &str, file: &Path) -> anyhow::Result<()> {
    let zone = DomainName::parse(zone).with_context(|| format!("--zone {zone}"))?;
    let store = Arc::new(open(data).await?);
    // A zone the server has not served yet is registered with default settings, so a data
    // directory can be prepared before the first start (the configuration's SOA and NS are
    // applied then).
    let now = unix_now();
    store
        .ensure_zone(
            &zone,
            Serial::initial(now),
            &ZoneConfig::defaults(&zone).soa,
        )
        .await?;
    let zones = Zones::attach(store).await?;
    let reader = std::fs::File::open(file)
        .map(std::io::BufReader::new)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let summary = match zones.import_zone(&zone, reader, 3600, Actor::Cli).await {
        Ok(summary) => summary,
        Err(e) => bail!("{}: {e}; nothing was imported", file.display()),
    };
    eprintln!(
        "imported {} record sets ({} records) into {zone} in one transaction ({} apex SOA/NS records left to the server)",
        summary.rrsets, summary.records, summary.skipped_apex
    );
    Ok(())
}
