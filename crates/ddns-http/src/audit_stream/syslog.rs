//! The syslog sink: each audit entry as an RFC 5424 message with octet-counting framing, over
//! TCP (RFC 6587 §3.4.1) or TLS (RFC 5425, which frames the same way), to one collector.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ddns_config::SyslogTarget;
use ddns_zones::AuditEntry;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncWrite, AsyncWriteExt as _};
use tokio::sync::mpsc;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

use super::{AuditStreamError, FIRST_BACKOFF, SinkCounters, pause, read_ca_file};

/// RFC 5424 §6.2.1: facility 13 (log audit) × 8 + severity 5 (notice).
const PRI: u8 = 13 * 8 + 5;
/// An SD-ID of the form `name@<private enterprise number>` (RFC 5424 §7.2.2; 32473 is the
/// number RFC 5612 reserves for documentation and examples).
const SD_ID: &str = "ddns@32473";
/// A connection (TCP and, for TLS, the handshake) that takes longer is given up and retried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS client for `tls://` collectors: TLS 1.2 or 1.3 on aws-lc-rs, verifying the
/// collector's certificate against `ca_file` or else the system's roots.
pub(super) fn tls_connector(
    ca_file: Option<&std::path::Path>,
) -> Result<TlsConnector, AuditStreamError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for cert in read_ca_file(path)? {
                roots.add(cert).map_err(|e| AuditStreamError::CaFile {
                    path: path.to_owned(),
                    reason: e.to_string(),
                })?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            let _ = roots.add_parsable_certificates(native.certs);
        }
    }
    if roots.is_empty() {
        return Err(AuditStreamError::NoRoots);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12]);
    let Ok(builder) = builder else {
        unreachable!("aws-lc-rs supports TLS 1.2 and 1.3")
    };
    let config = builder.with_root_certificates(roots).with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

type Connection = Box<dyn AsyncWrite + Send + Unpin>;

async fn connect(
    target: &SyslogTarget,
    tls: Option<&TlsConnector>,
) -> Result<Connection, std::io::Error> {
    let tcp = tokio::net::TcpStream::connect(target.address()).await?;
    let Some(tls) = tls else {
        return Ok(Box::new(tcp));
    };
    let name = ServerName::try_from(target.host.clone())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    Ok(Box::new(tls.connect(name, tcp).await?))
}

/// Writes queued entries to the collector, connecting (again) as needed.
pub(super) async fn send(
    target: SyslogTarget,
    tls: Option<TlsConnector>,
    mut rx: mpsc::Receiver<AuditEntry>,
    counters: Arc<SinkCounters>,
    stop: CancellationToken,
) {
    let host = hostname();
    let collector = target.address();
    let mut backoff = FIRST_BACKOFF;
    'connect: loop {
        let connected = tokio::select! {
            () = stop.cancelled() => return,
            c = tokio::time::timeout(CONNECT_TIMEOUT, connect(&target, tls.as_ref())) => c,
        };
        let mut conn = match connected {
            Ok(Ok(conn)) => {
                backoff = FIRST_BACKOFF;
                conn
            }
            Ok(Err(e)) => {
                tracing::warn!(collector = %collector, error = %e, "audit stream: cannot connect to the syslog collector");
                if !pause(&mut backoff, &stop).await {
                    return;
                }
                continue;
            }
            Err(_) => {
                tracing::warn!(collector = %collector, "audit stream: connecting to the syslog collector timed out");
                if !pause(&mut backoff, &stop).await {
                    return;
                }
                continue;
            }
        };
        loop {
            let entry = tokio::select! {
                () = stop.cancelled() => return,
                m = rx.recv() => match m {
                    Some(m) => m,
                    None => return,
                },
            };
            let sent = async {
                conn.write_all(&message(&entry, &host)).await?;
                conn.flush().await
            };
            if let Err(e) = sent.await {
                // The message in flight is lost with the connection; count it as dropped.
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(collector = %collector, error = %e, "audit stream: the syslog connection failed");
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
