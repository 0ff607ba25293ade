//! The audit trail sent out as it happens, to a syslog collector (a SIEM): RFC 5424 messages
//! over TCP with octet-counting framing (RFC 6587 §3.4.1).
//!
//! The stream follows the store like the journal follower does, after commit: it reads the
//! merged trail (`Store::audit`) past the last entry it queued, so changes made by other
//! processes (the CLI) go out too, and no writer ever waits for it. Entries go through a
//! bounded queue to the one connection; when the queue is full (the collector is slow or
//! gone) new entries are dropped and counted, and the count is logged.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use ddns_store::{AuditEntry, AuditQuery, Store};
use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Messages waiting for the collector at most.
const QUEUE: usize = 10_000;
/// Entries read from the store per poll at most.
const BATCH: u32 = 500;
/// How often the trail is read.
const POLL: Duration = Duration::from_millis(500);
/// RFC 5424 §6.2.1: facility 13 (log audit) × 8 + severity 5 (notice).
const PRI: u8 = 13 * 8 + 5;
/// An SD-ID of the form `name@<private enterprise number>` (RFC 5424 §7.2.2; 32473 is the
/// number RFC 5612 reserves for documentation and examples).
const SD_ID: &str = "ddns@32473";

/// What the stream has lost, for logs and tests.
#[derive(Debug, Default)]
pub struct StreamCounters {
    /// Entries dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Entries written to the collector.
    pub sent: AtomicU64,
}

/// Streams every entry committed from now on to the syslog collector at `target`
/// (`host:port`) until `stop`.
pub async fn stream_to_syslog(
    store: Arc<Store>,
    target: String,
    stop: CancellationToken,
) -> Arc<StreamCounters> {
    let counters = Arc::new(StreamCounters::default());
    let (tx, rx) = mpsc::channel(QUEUE);
    let sender = tokio::spawn(send(target, rx, Arc::clone(&counters), stop.clone()));
    follow(&store, tx, &counters, stop).await;
    let _ = sender.await;
    counters
}

/// Reads the trail after the last entry queued and queues each entry as a message.
async fn follow(
    store: &Store,
    tx: mpsc::Sender<Vec<u8>>,
    counters: &StreamCounters,
    stop: CancellationToken,
) {
    let host = hostname();
    let mut query = AuditQuery {
        since: Some(SystemTime::now()),
        actor: None,
        after: None,
        limit: BATCH,
    };
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(POLL) => {}
        }
        loop {
            let entries = match store.audit(&query).await {
                Ok(entries) => entries,
                Err(e) => {
                    tracing::warn!(error = %e, "audit stream: cannot read the trail");
                    break;
                }
            };
            let mut dropped = 0_u64;
            for entry in &entries {
                if tx.try_send(message(entry, &host)).is_err() {
                    dropped += 1;
                }
            }
            if dropped > 0 {
                let total = counters.dropped.fetch_add(dropped, Ordering::Relaxed) + dropped;
                tracing::warn!(
                    dropped,
                    total,
                    "audit stream: the collector does not keep up; entries dropped"
                );
            }
            if let Some(last) = entries.last() {
                query.after = Some(last.cursor());
            }
            if entries.len() < BATCH as usize {
                break;
            }
        }
    }
}

/// Writes queued messages to the collector, connecting (again) as needed.
async fn send(
    target: String,
    mut rx: mpsc::Receiver<Vec<u8>>,
    counters: Arc<StreamCounters>,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(250);
    'connect: loop {
        let connected = tokio::select! {
            () = stop.cancelled() => return,
            c = tokio::net::TcpStream::connect(&target) => c,
        };
        let mut conn = match connected {
            Ok(conn) => {
                backoff = Duration::from_millis(250);
                conn
            }
            Err(e) => {
                tracing::warn!(target = %target, error = %e, "audit stream: cannot connect to the syslog collector");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        loop {
            let message = tokio::select! {
                () = stop.cancelled() => return,
                m = rx.recv() => match m {
                    Some(m) => m,
                    None => return,
                },
            };
            if let Err(e) = conn.write_all(&message).await {
                // The message in flight is lost with the connection; count it as dropped.
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(target = %target, error = %e, "audit stream: the syslog connection failed");
                continue 'connect;
            }
            counters.sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One entry as an octet-counted RFC 5424 message:
/// `LEN SP <PRI>1 TIMESTAMP HOSTNAME ddns PROCID MSGID [ddns@32473 …] MSG`.
fn message(entry: &AuditEntry, host: &str) -> Vec<u8> {
    let (at, msgid, params, text) = match entry {
        AuditEntry::Change(row) => {
            let set = |s: &Option<ddns_core::RecordSet>| {
                s.as_ref().map_or_else(
                    || "-".to_owned(),
                    |s| format!("{} {}", s.ttl(), s.values().join(",")),
                )
            };
            let text = match &row.note {
                Some(note) => format!("{}: {note}", row.name),
                None => format!(
                    "{} {} {} -> {}",
                    row.name,
                    row.rtype,
                    set(&row.old),
                    set(&row.new)
                ),
            };
            let params = vec![
                ("id", row.id.to_string()),
                ("actor", row.actor.clone()),
                ("name", row.name.to_string()),
                ("type", row.rtype.to_string()),
                ("serial", row.serial.0.to_string()),
                ("source_ip", opt(row.source_ip.map(|ip| ip.to_string()))),
                ("user_agent", opt(row.user_agent.clone())),
            ];
            (&row.at, "change", params, text)
        }
        AuditEntry::Admin(row) => {
            let text = match &row.detail {
                Some(detail) => format!("{} {} ({detail})", row.action, row.target),
                None => format!("{} {}", row.action, row.target),
            };
            let params = vec![
                ("id", row.id.to_string()),
                ("actor", row.actor.clone()),
                ("action", row.action.clone()),
                ("target", row.target.clone()),
                ("source_ip", opt(row.source_ip.map(|ip| ip.to_string()))),
                ("user_agent", opt(row.user_agent.clone())),
            ];
            (&row.at, "admin", params, text)
        }
    };
    let mut sd = format!("[{SD_ID}");
    for (name, value) in params {
        sd.push_str(&format!(" {name}=\"{}\"", sd_escape(&value)));
    }
    sd.push(']');
    let body = format!(
        "<{PRI}>1 {} {host} ddns {} {msgid} {sd} {text}",
        timestamp(at),
        std::process::id()
    );
    format!("{} {body}", body.len()).into_bytes()
}

fn opt(value: Option<String>) -> String {
    value.unwrap_or_default()
}

/// RFC 5424 §6.3.3: `"`, `\` and `]` in a PARAM-VALUE are escaped with a backslash.
fn sd_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// RFC 5424 §6.2.3 allows at most six digits of fractional seconds; the store writes up to
/// nine.
fn timestamp(at: &str) -> String {
    match (at.find('.'), at.strip_suffix('Z')) {
        (Some(dot), Some(_)) => {
            let digits = &at[dot + 1..at.len() - 1];
            format!("{}.{}Z", &at[..dot], &digits[..digits.len().min(6)])
        }
        _ => at.to_owned(),
    }
}

/// RFC 5424 §6.2.4: the HOSTNAME field, printable ASCII without spaces, `-` when unknown.
fn hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(255)
        .collect();
    if name.is_empty() {
        "-".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_keep_six_fraction_digits() {
        assert_eq!(
            timestamp("2026-12-03T09:37:59.123456789Z"),
            "2026-12-03T09:37:59.123456Z"
        );
        assert_eq!(
            timestamp("2026-12-03T09:37:59.5Z"),
            "2026-12-03T09:37:59.5Z"
        );
        assert_eq!(timestamp("2026-12-03T09:37:59Z"), "2026-12-03T09:37:59Z");
    }

    #[test]
    fn param_values_are_escaped() {
        assert_eq!(sd_escape(r#"a"b\c]d"#), r#"a\"b\\c\]d"#);
    }

    #[test]
    fn messages_are_octet_counted() {
        let entry = AuditEntry::Admin(ddns_store::AdminRow {
            id: 7,
            at: "2026-12-03T09:00:00.25Z".into(),
            actor: "cli".into(),
            action: "token.revoke".into(),
            target: "abc".into(),
            source_ip: None,
            user_agent: None,
            detail: None,
        });
        let bytes = message(&entry, "host1");
        let text = String::from_utf8(bytes).unwrap_or_default();
        let (len, body) = text.split_once(' ').unwrap_or_default();
        assert_eq!(len.parse::<usize>().ok(), Some(body.len()));
        assert!(
            body.starts_with("<109>1 2026-12-03T09:00:00.25Z host1 ddns "),
            "{body}"
        );
        assert!(
            body.ends_with(
                " admin [ddns@32473 id=\"7\" actor=\"cli\" action=\"token.revoke\" \
                 target=\"abc\" source_ip=\"\" user_agent=\"\"] token.revoke abc"
            ),
            "{body}"
        );
    }
}
