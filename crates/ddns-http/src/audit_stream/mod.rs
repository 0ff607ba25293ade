//! The audit trail sent out as it happens, for a SIEM: to a syslog collector (RFC 5424 over
//! TCP or TLS, `syslog.rs`) and/or to a webhook as JSON lines (`webhook.rs`).
//!
//! The stream follows the store like the journal follower does, after commit: it reads the
//! merged trail (`Zones::audit`) past the last entry it queued, so changes made by other
//! processes (the CLI) go out too, and no writer ever waits for it. Each sink has its own
//! bounded queue and connection; when a queue is full (the collector is slow or gone) new
//! entries are dropped for that sink and counted, and the count is logged.

mod syslog;
mod webhook;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use ddns_config::AuditConfig;
use ddns_zones::{AuditEntry, AuditQuery, Zones};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Entries waiting for one sink at most.
const QUEUE: usize = 10_000;
/// Entries read from the store per poll at most.
const BATCH: u32 = 500;
/// How often the trail is read.
const POLL: Duration = Duration::from_millis(500);
/// The first pause after a failed connection or delivery; it doubles up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Why the stream cannot start; the server refuses to start rather than run without the trail
/// it was told to send.
#[derive(Debug, thiserror::Error)]
pub enum AuditStreamError {
    /// `[audit] ca_file` cannot be read or holds no certificate.
    #[error("[audit] ca_file {path}: {reason}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Neither `ca_file` nor the system's certificate store gives a root to trust.
    #[error("[audit] no trusted certificates: the system has none; set [audit] ca_file")]
    NoRoots,
    /// The webhook's HTTP client cannot be built.
    #[error("[audit] webhook: {0}")]
    Client(String),
}

/// What one sink has sent and lost, for logs and tests.
#[derive(Debug, Default)]
pub struct SinkCounters {
    /// Entries dropped because the queue was full or the connection failed under them.
    pub dropped: AtomicU64,
    /// Entries delivered.
    pub sent: AtomicU64,
}

/// A running stream; it ends when the server's stop token is cancelled.
pub struct AuditStream {
    task: JoinHandle<()>,
}

impl AuditStream {
    /// Starts streaming every entry committed from now on to the sinks `config` names, or
    /// returns `None` when it names none.
    pub fn start(
        zones: Arc<Zones>,
        config: &AuditConfig,
        stop: CancellationToken,
    ) -> Result<Option<Self>, AuditStreamError> {
        let mut sinks = Vec::new();
        let mut tasks = Vec::new();
        if let Some(target) = &config.syslog {
            let tls = if target.tls {
                Some(syslog::tls_connector(config.ca_file.as_deref())?)
            } else {
                None
            };
            let (tx, rx) = mpsc::channel(QUEUE);
            let counters = Arc::new(SinkCounters::default());
            tasks.push(tokio::spawn(syslog::send(
                target.clone(),
                tls,
                rx,
                Arc::clone(&counters),
                stop.clone(),
            )));
            sinks.push(Sink {
                name: "syslog",
                tx,
                counters,
            });
        }
        if let Some(hook) = &config.webhook {
            let client = webhook::client(config.ca_file.as_deref())?;
            let (tx, rx) = mpsc::channel(QUEUE);
            let counters = Arc::new(SinkCounters::default());
            tasks.push(tokio::spawn(webhook::send(
                client,
                hook.clone(),
                rx,
                Arc::clone(&counters),
                stop.clone(),
            )));
            sinks.push(Sink {
                name: "webhook",
                tx,
                counters,
            });
        }
        if sinks.is_empty() {
            return Ok(None);
        }
        let task = tokio::spawn(async move {
            follow(&zones, &sinks, stop).await;
            drop(sinks);
            for task in tasks {
                let _ = task.await;
            }
        });
        Ok(Some(Self { task }))
    }

    /// Waits for the stream to end (after the stop token is cancelled).
    pub async fn finished(self) {
        let _ = self.task.await;
    }
}

struct Sink {
    name: &'static str,
    tx: mpsc::Sender<AuditEntry>,
    counters: Arc<SinkCounters>,
}

/// Reads the trail after the last entry queued and queues each entry for every sink.
async fn follow(zones: &Zones, sinks: &[Sink], stop: CancellationToken) {
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
            let entries = match zones.audit(&query).await {
                Ok(entries) => entries,
                Err(e) => {
                    tracing::warn!(error = %e, "audit stream: cannot read the trail");
                    break;
                }
            };
            for sink in sinks {
                let mut dropped = 0_u64;
                for entry in &entries {
                    if sink.tx.try_send(entry.clone()).is_err() {
                        dropped += 1;
                    }
                }
                if dropped > 0 {
                    let total =
                        sink.counters.dropped.fetch_add(dropped, Ordering::Relaxed) + dropped;
                    tracing::warn!(
                        sink = sink.name,
                        dropped,
                        total,
                        "audit stream: the collector does not keep up; entries dropped"
                    );
                }
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

/// The certificates of `[audit] ca_file`.
fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, AuditStreamError> {
    let error = |reason: String| AuditStreamError::CaFile {
        path: path.to_owned(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| error(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(format!("not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(error("holds no certificate".into()));
    }
    Ok(certs)
}

/// Sleeps `backoff` (or until stopped, then `false`) and doubles it.
async fn pause(backoff: &mut Duration, stop: &CancellationToken) -> bool {
    let wait = *backoff;
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    tokio::select! {
        () = stop.cancelled() => false,
        () = tokio::time::sleep(wait) => true,
    }
}
