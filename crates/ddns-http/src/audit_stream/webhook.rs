//! The webhook sink: audit entries POSTed as JSON lines (`application/x-ndjson`, one entry per
//! line, in the shape `/api/v1/audit` gives them), in batches, in commit order.
//!
//! A batch that is not accepted (no answer, or not 2xx) is sent again, after a pause that
//! doubles, or after the `Retry-After` of a 429 or 503; later entries wait in the queue behind
//! it, so the receiver sees every entry in order, and possibly one batch twice after a lost
//! answer (each line carries its `kind`, `id` and `cursor` to tell repeats apart).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ddns_config::AuditWebhook;
use ddns_zones::AuditEntry;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{AuditStreamError, FIRST_BACKOFF, MAX_BACKOFF, SinkCounters, pause, read_ca_file};

/// Entries per POST at most.
const BATCH: usize = 500;
/// A POST without an answer by then has failed.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client for the webhook; `ca_file` replaces the system's roots.
pub(super) fn client(
    ca_file: Option<&std::path::Path>,
) -> Result<reqwest::Client, AuditStreamError> {
    let mut builder = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(concat!(
            "ddns/",
            env!("CARGO_PKG_VERSION"),
            " (audit stream)"
        ))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = ca_file {
        let certs = read_ca_file(path)?
            .into_iter()
            .map(|der| reqwest::Certificate::from_der(&der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| AuditStreamError::CaFile {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        builder = builder.tls_certs_only(certs);
    }
    builder
        .build()
        .map_err(|e| AuditStreamError::Client(e.to_string()))
}

/// POSTs queued entries in batches until `stop`.
pub(super) async fn send(
    client: reqwest::Client,
    hook: AuditWebhook,
    mut rx: mpsc::Receiver<AuditEntry>,
    counters: Arc<SinkCounters>,
    stop: CancellationToken,
) {
    // Logged without path and query, which may carry a secret of the receiver's.
    let shown = reqwest::Url::parse(&hook.url)
        .map(|u| format!("{}://{}", u.scheme(), u.authority()))
        .unwrap_or_default();
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            n = rx.recv_many(&mut batch, BATCH) => if n == 0 { return },
        }
        let body = lines(&batch);
        let mut backoff = FIRST_BACKOFF;
        loop {
            let mut request = client
                .post(&hook.url)
                .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
                .body(body.clone());
            if let Some(token) = &hook.token {
                request = request.bearer_auth(token);
            }
            let failure = match request.send().await {
                Ok(reply) if reply.status().is_success() => None,
                Ok(reply) => {
                    let status = reply.status();
                    if let Some(wait) = retry_after(&reply) {
                        backoff = wait.max(backoff);
                    }
                    Some(format!("answered {status}"))
                }
                Err(e) => Some(e.without_url().to_string()),
            };
            let Some(failure) = failure else {
                counters
                    .sent
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                break;
            };
            tracing::warn!(webhook = %shown, entries = batch.len(), error = %failure, retry_in = ?backoff,
                "audit stream: the webhook did not take the entries; sending them again");
            if !pause(&mut backoff, &stop).await {
                return;
            }
        }
        batch.clear();
    }
}

/// One JSON object per line, each line ended by `\n`.
fn lines(entries: &[AuditEntry]) -> String {
    let mut body = String::new();
    for entry in entries {
        body.push_str(&crate::api_audit::entry_json(entry).to_string());
        body.push('\n');
    }
    body
}

/// The pause a 429 or 503 asks for in seconds (RFC 9110 §10.2.3), capped like any backoff.
fn retry_after(reply: &reqwest::Response) -> Option<Duration> {
    if !matches!(reply.status().as_u16(), 429 | 503) {
        return None;
    }
    let seconds: u64 = reply
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_BACKOFF * 10))
}
