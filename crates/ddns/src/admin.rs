//! Offline administration of a server's data directory: tokens, hosts, zone export and import.
//! These work while the server runs; it picks their changes up from the store's history.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use ddns_config::ServerOverrides;
use ddns_core::snapshot::rtype;
use ddns_core::zone_text::{group_rrsets, parse_zone_text, rtype_to_text};
use ddns_core::{Actor, DomainName, Origin, RecordData, RecordSet, Scope, ScopeEntry};
use ddns_store::{ChangeSet, RrsetWrite, Store, StoreOptions};
use ddns_zones::Zones;

use crate::cli::{HostCommand, TokenCommand, ZoneCommand};

/// Writes per transaction when importing.
const IMPORT_BATCH: usize = 5_000;

async fn open(data_dir: Option<PathBuf>) -> anyhow::Result<Store> {
    let dir = data_dir.unwrap_or_else(ddns_platform::default_data_dir);
    Store::open_dir(&dir, &StoreOptions::default())
        .await
        .with_context(|| format!("cannot open the database in {}", dir.display()))
}

pub(crate) async fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            data,
            hosts,
            admin,
            label,
        } => {
            let store = open(data.data_dir).await?;
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
            let token = ddns_zones::create_token(&store, &label, &scope, Actor::Cli)
                .await
                .map_err(|e| match e {
                    ddns_zones::UpdateError::NotServed(name) => anyhow::anyhow!(
                        "{name} is not in a zone of this data directory; start the server once with --zone for its zone"
                    ),
                    other => other.into(),
                })?;
            store.close().await;
            println!("{}", token.full);
        }
        TokenCommand::List { data } => {
            let store = open(data.data_dir).await?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<14} {:<7} {:<20} {:<26} SCOPE",
                "ID", "STATE", "LABEL", "CREATED"
            )?;
            for t in store.tokens().await? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
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
                writeln!(
                    out,
                    "{:<14} {:<7} {:<20} {:<26} {scope}",
                    t.id, state, t.label, t.created_at
                )?;
            }
        }
        TokenCommand::Revoke { data, id } => {
            let store = open(data.data_dir).await?;
            store.revoke_token(&id).await?;
            eprintln!("token {id} revoked");
        }
    }
    Ok(())
}

pub(crate) async fn host(command: HostCommand) -> anyhow::Result<()> {
    match command {
        HostCommand::List { data } => {
            let store = open(data.data_dir).await?;
            let mut out = std::io::stdout().lock();
            for host in store.hosts().await? {
                let records: Vec<String> = host
                    .rrsets
                    .iter()
                    .map(|s| {
                        format!(
                            "{} {} {}",
                            s.data.rtype(),
                            s.ttl,
                            s.data.to_strings().join(",")
                        )
                    })
                    .collect();
                writeln!(
                    out,
                    "{}\tv{}\t{}",
                    host.name,
                    host.version,
                    records.join("; ")
                )?;
            }
        }
        HostCommand::Rm { data, name } => {
            let store = open(data.data_dir).await?;
            let name = DomainName::parse(&name).with_context(|| format!("host {name}"))?;
            let mut set = ChangeSet::new(Vec::new(), Actor::Cli, Origin::default());
            set.delete_hosts = vec![name.clone()];
            store.apply(&set).await?;
            eprintln!("host {name} deleted");
        }
    }
    Ok(())
}

pub(crate) async fn zone(command: ZoneCommand) -> anyhow::Result<()> {
    match command {
        ZoneCommand::Export { data, config, zone } => {
            export(data.data_dir, config.as_deref(), zone).await
        }
        ZoneCommand::Import { data, zone, file } => import(data.data_dir, &zone, &file).await,
    }
}

async fn export(
    data_dir: Option<PathBuf>,
    config: Option<&Path>,
    zone: Option<String>,
) -> anyhow::Result<()> {
    let store = Arc::new(open(data_dir.clone()).await?);
    let mut zone_names: Vec<String> = Vec::new();
    if config.is_none() {
        // Without a config, export the zones the data directory knows, with default settings.
        zone_names = store
            .zones()
            .await?
            .into_iter()
            .map(|(z, _)| z.to_string())
            .collect();
    }
    let overrides = ServerOverrides {
        data_dir,
        zones: zone_names,
        ..ServerOverrides::default()
    };
    let config = crate::server::load_config(config, &overrides)?;
    let zones = Zones::open(Arc::clone(&store), config.zones.clone()).await?;
    let wanted: Vec<DomainName> = match zone {
        Some(z) => vec![DomainName::parse(&z).with_context(|| format!("--zone {z}"))?],
        None => config.zones.iter().map(|z| z.name.clone()).collect(),
    };
    let mut out = std::io::stdout().lock();
    for name in wanted {
        let text = zones
            .export(&name)
            .with_context(|| format!("zone {name} is not served by this configuration"))?;
        out.write_all(text.as_bytes())?;
    }
    Ok(())
}

async fn import(data_dir: Option<PathBuf>, zone: &str, file: &Path) -> anyhow::Result<()> {
    let store = open(data_dir).await?;
    let zone = DomainName::parse(zone).with_context(|| format!("--zone {zone}"))?;
    // A zone the server has not served yet is registered, so a data directory can be
    // prepared before the first start.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    store
        .ensure_zone(&zone, ddns_core::Serial::initial(now))
        .await?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let records =
        parse_zone_text(&zone, &text, 3600).with_context(|| format!("{}", file.display()))?;
    let apex = zone.to_wire();
    let mut skipped = 0usize;
    let mut writes = Vec::new();
    for group in group_rrsets(&records) {
        if group.owner == apex.as_slice() && matches!(group.rtype, rtype::SOA | rtype::NS) {
            skipped += 1; // the server writes its own SOA and NS
            continue;
        }
        let owner = ddns_core::name::wire_to_text(group.owner);
        let name = DomainName::parse(&owner).with_context(|| format!("owner {owner}"))?;
        let data = match RecordData::from_rdatas(group.rtype, group.rdatas) {
            Some(data) => data.with_context(|| format!("{name} {}", rtype_to_text(group.rtype)))?,
            None => bail!(
                "{name}: {} records cannot be dynamic (A, AAAA, TXT, CNAME can); put them in the config's records",
                rtype_to_text(group.rtype)
            ),
        };
        writes.push(RrsetWrite {
            zone: zone.clone(),
            name,
            rtype: data.rtype(),
            new: Some(RecordSet::new(group.ttl, data)?),
        });
    }
    let total = writes.len();
    for batch in writes.chunks(IMPORT_BATCH) {
        store
            .apply(&ChangeSet::new(
                batch.to_vec(),
                Actor::Cli,
                Origin::default(),
            ))
            .await?;
    }
    store.close().await;
    eprintln!(
        "imported {total} record sets into {zone} ({skipped} apex SOA/NS records left to the server)"
    );
    Ok(())
}
