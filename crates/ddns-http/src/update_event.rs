//! One structured event per update: a log line (target `ddns::update`) and a count in
//! `ddns_updates_total`, with the same protocol and result, and the request id the client
//! sees in `X-Request-Id`.
//!
//! Every request gets an id from a middleware ([`assign_request_id`]); the update handlers
//! finish by calling [`UpdateEvent::emit`] once per name answered (DynDNS2 answers each
//! hostname on its own line) or once for a request refused as a whole. The event carries the
//! token's public id, never its secret, and no request body.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::metrics::UPDATES;

/// The update protocols of this crate (RFC 2136 is counted by the DNS side).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// `/nic/update`, `/v3/update`, `GET /update`.
    Dyndns2,
    /// `POST /update`.
    Rest,
    /// Writes under `/api/v1/hosts`.
    ApiV1,
}

impl Protocol {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Dyndns2 => "dyndns2",
            Self::Rest => "rest",
            Self::ApiV1 => "api_v1",
        }
    }
}

/// A request's id: unique in the process, unpredictable across restarts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RequestId(u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);
/// A per-process random offset, so ids of two runs do not repeat each other.
static ID_BASE: LazyLock<u64> =
    LazyLock::new(|| std::hash::RandomState::new().build_hasher().finish());

impl RequestId {
    fn next() -> Self {
        Self(ID_BASE.wrapping_add(NEXT_ID.fetch_add(1, Ordering::Relaxed)))
    }
}

/// Gives the request an id (an extension the handlers read) and echoes it in `X-Request-Id`.
pub(crate) async fn assign_request_id(mut request: Request, next: Next) -> Response {
    let id = RequestId::next();
    request.extensions_mut().insert(id);
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// What is known of an update request as it is handled; emitted when the answer is known.
#[derive(Debug)]
pub(crate) struct UpdateEvent {
    pub(crate) protocol: Protocol,
    pub(crate) request_id: Option<RequestId>,
    pub(crate) client: IpAddr,
    /// The token's public id, once authenticated.
    pub(crate) token: Option<String>,
}

impl UpdateEvent {
    /// Logs and counts one result (`good`, `nochg`, `success`, or the error code answered)
    /// for `name` (absent when the request was refused before one was read); `detail` is
    /// the error's text, if any.
    pub(crate) fn emit(&self, name: Option<&str>, result: &'static str, detail: Option<&str>) {
        let protocol = self.protocol.label();
        metrics::counter!(UPDATES, "protocol" => protocol, "result" => result).increment(1);
        let request_id = self.request_id.map(|id| id.to_string());
        tracing::info!(
            target: "ddns::update",
            request_id = request_id.as_deref().unwrap_or("-"),
            protocol,
            name = name.unwrap_or("-"),
            result,
            client = %self.client,
            token = self.token.as_deref().unwrap_or("-"),
            // Debug: an error's text may quote what the client sent, escaped so.
            detail = ?detail.unwrap_or(""),
            "update"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_differ_and_print_as_sixteen_hex_digits() {
        let (a, b) = (RequestId::next(), RequestId::next());
        assert_ne!(a, b);
        let text = a.to_string();
        assert_eq!(text.len(), 16);
        assert!(text.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
