//! The audit commands on a server's data directory: `history`, `audit`, `host rollback`,
//! `backup` and `restore`. Like the other admin commands they work while the server runs,
//! except `restore`, which needs the server stopped (or `--force`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use ddns_core::{Actor, DomainName, Origin, RecordSet};
use ddns_store::{AdminAction, AuditEntry, AuditQuery, DirLock, HistoryRow};
use ddns_zones::{Principal, parse_since};

use crate::admin::{attach, open};
use crate::cli::DataDir;

/// Rows read per round trip.
const PAGE: u32 = 1000;

/// The data directory of `backup` and `restore`, which copy its SQLite file.
fn sqlite_data_dir(data: &DataDir, command: &str) -> anyhow::Result<PathBuf> {
    if data.store_url.is_some() {
        bail!(
            "ddns {command} copies the data directory's SQLite store; a PostgreSQL store is \
             backed up and restored with pg_dump and pg_restore"
        );
    }
    Ok(data
        .data_dir
        .clone()
        .unwrap_or_else(ddns_platform::default_data_dir))
}

/// `TTL v1,v2` or `-` for no record set.
fn set_text(set: Option<&RecordSet>) -> String {
    set.map_or_else(
        || "-".to_owned(),
        |s| format!("{} {}", s.ttl(), s.values().join(",")),
    )
}

fn change_text(row: &HistoryRow) -> String {
    match &row.note {
        Some(note) => note.clone(),
        None => format!(
            "{} {} -> {}",
            row.rtype,
            set_text(row.old.as_ref()),
            set_text(row.new.as_ref())
        ),
    }
}

fn source_text(ip: Option<std::net::IpAddr>) -> String {
    ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string())
}

/// `ddns history NAME`: newest first, one tab-separated line per RRset change.
pub(crate) async fn history(data: &DataDir, name: &str, limit: Option<u32>) -> anyhow::Result<()> {
    let name = DomainName::parse(name).with_context(|| format!("name {name}"))?;
    // Reads only: the store alone, without building every zone's snapshot.
    let store = open(data).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ID\tTIME\tACTOR\tSOURCE\tCHANGE")?;
    let mut left = limit.unwrap_or(u32::MAX);
    let mut before = None;
    while left > 0 {
        let rows = store.history_of(&name, before, left.min(PAGE)).await?;
        for row in &rows {
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}",
                row.id,
                row.at,
                row.actor,
                source_text(row.source_ip),
                change_text(row)
            )?;
        }
        left -= u32::try_from(rows.len()).unwrap_or(left);
        match rows.last() {
            Some(last) if rows.len() == PAGE as usize => before = Some(last.id),
            _ => break,
        }
    }
    Ok(())
}

/// `ddns audit`: oldest first, record changes and administrative actions merged by time.
pub(crate) async fn audit(
    data: &DataDir,
    since: Option<&str>,
    actor: Option<String>,
) -> anyhow::Result<()> {
    let since = since
        .map(|s| parse_since(s, std::time::SystemTime::now()))
        .transpose()
        .map_err(|e| anyhow::anyhow!("--since: {e}"))?;
    let store = open(data).await?;
    let mut query = AuditQuery {
        since,
        actor,
        after: None,
        limit: PAGE,
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "TIME\tACTOR\tSOURCE\tWHAT")?;
    loop {
        let entries = store.audit(&query).await?;
        for entry in &entries {
            let (at, actor, source, what) = match entry {
                AuditEntry::Change(row) => (
                    &row.at,
                    &row.actor,
                    row.source_ip,
                    format!("change #{} {} {}", row.id, row.name, change_text(row)),
                ),
                AuditEntry::Admin(row) => (
                    &row.at,
                    &row.actor,
                    row.source_ip,
                    match &row.detail {
                        Some(detail) => format!("{} {} ({detail})", row.action, row.target),
                        None => format!("{} {}", row.action, row.target),
                    },
                ),
            };
            writeln!(out, "{at}\t{actor}\t{}\t{what}", source_text(source))?;
        }
        match entries.last() {
            Some(last) if entries.len() == PAGE as usize => query.after = Some(last.cursor()),
            _ => break,
        }
    }
    Ok(())
}

/// `ddns host rollback NAME --to ID`.
pub(crate) async fn rollback(data: &DataDir, name: &str, to: i64) -> anyhow::Result<()> {
    let name = DomainName::parse(name).with_context(|| format!("host {name}"))?;
    let zones = attach(data).await?;
    let applied = zones
        .rollback_host(&Principal::operator(), &name, to, Origin::default())
        .await?;
    match applied.serials.first() {
        Some((zone, serial)) => eprintln!(
            "{name} rolled back to history row {to} (zone {zone} serial {})",
            serial.0
        ),
        None => eprintln!("{name} already holds what it held after history row {to}"),
    }
    Ok(())
}

/// `ddns backup FILE`.
pub(crate) async fn backup(data: &DataDir, file: &Path) -> anyhow::Result<()> {
    let dir = sqlite_data_dir(data, "backup")?;
    if !dir.join(ddns_store::DB_FILE).is_file() {
        bail!("there is no store in {} to back up", dir.display());
    }
    let store = open(data).await?;
    let result = store.backup_into(file).await;
    store.close().await;
    result?;
    let info = ddns_store::check_backup(file).await?;
    eprintln!(
        "backup written to {} ({} zones, {} hosts, schema {})",
        file.display(),
        info.zones,
        info.hosts,
        info.migration
    );
    Ok(())
}

/// `ddns restore FILE [--force]`.
pub(crate) async fn restore(data: &DataDir, file: &Path, force: bool) -> anyhow::Result<()> {
    let dir = sqlite_data_dir(data, "restore")?;
    let lock = DirLock::exclusive(&dir)?;
    let server_running = lock.is_none();
    if server_running && !force {
        bail!(
            "a server is running on {} (it holds {}); stop it first, or pass --force and restart it right after",
            dir.display(),
            dir.join(ddns_store::LOCK_FILE).display()
        );
    }
    let (info, kept) = ddns_store::restore(&dir, file)
        .await
        .with_context(|| format!("{} was not restored; nothing changed", file.display()))?;
    let store = open(data).await?;
    let detail = match &kept {
        Some(kept) => format!("the replaced store is kept as {}", kept.display()),
        None => "there was no store before".to_owned(),
    };
    let recorded = store
        .record_action(&AdminAction {
            detail: Some(detail.clone()),
            ..AdminAction::new(Actor::Cli, "store.restore", file.display().to_string())
        })
        .await;
    store.close().await;
    recorded?;
    drop(lock);
    eprintln!(
        "restored {} into {} ({} zones, {} hosts); {detail}",
        file.display(),
        dir.display(),
        info.zones,
        info.hosts
    );
    if server_running {
        eprintln!("restart the server now: until then it keeps the replaced store open");
    }
    Ok(())
}
