//! `/metrics`, `/healthz` and `/readyz`, and the counters the HTTP side keeps.
//!
//! The exposition itself is the binary's (it installs the Prometheus recorder and sums the
//! DNS workers' counters): this crate sees it as a [`MetricsSource`] and serves what it
//! renders. The counters of this crate go through the `metrics` facade, which does nothing
//! until a recorder is installed (unit tests, the command line).
//!
//! `/metrics` is open to any client unless `[http] metrics_allow` lists networks, as
//! Prometheus expects; it tells nothing a client could not count itself but the volume, and
//! none of its labels holds a token, a host name or an address.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

use crate::AppState;

/// Counter of updates by `protocol` and `result`.
pub const UPDATES: &str = "ddns_updates_total";
/// Counter of refused credentials (unknown, wrong, revoked or expired tokens), by `protocol`.
pub const AUTH_FAILURES: &str = "ddns_auth_failures_total";
/// Counter of HTTP requests refused by a rate limit, by `limit`.
pub const RATE_LIMITED: &str = "ddns_http_rate_limited_total";

/// Content type of the Prometheus text format, version 0.0.4.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Where `/metrics` gets its text from.
pub trait MetricsSource: Send + Sync {
    /// The whole exposition, in the Prometheus text format.
    fn render(&self) -> String;
}

/// The `/metrics` endpoint as configured.
#[derive(Clone)]
pub struct MetricsEndpoint {
    /// What to serve.
    pub source: Arc<dyn MetricsSource>,
    /// Networks that may read it; empty: everyone.
    pub allow: Vec<IpNet>,
}

impl std::fmt::Debug for MetricsEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsEndpoint")
            .field("allow", &self.allow)
            .finish_non_exhaustive()
    }
}

/// Which rate limit refused a request (the `limit` label).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Limit {
    /// `[http] requests_per_ip_per_minute`.
    PerIp,
    /// `[dyndns2] updates_per_host_per_minute`.
    PerHost,
    /// `[dyndns2] updates_per_token_per_minute`.
    PerToken,
    /// `[http] api_writes_per_token_per_minute`.
    ApiWrites,
    /// Failed authentications from one address (`auth_throttle.rs`).
    AuthFailures,
}

impl Limit {
    fn label(self) -> &'static str {
        match self {
            Self::PerIp => "requests_per_ip",
            Self::PerHost => "updates_per_host",
            Self::PerToken => "updates_per_token",
            Self::ApiWrites => "api_writes_per_token",
            Self::AuthFailures => "auth_failures_per_ip",
        }
    }
}

/// Counts a request refused by `limit`.
pub(crate) fn rate_limited(limit: Limit) {
    metrics::counter!(RATE_LIMITED, "limit" => limit.label()).increment(1);
}

/// Counts refused credentials.
pub(crate) fn auth_failed(protocol: &'static str) {
    metrics::counter!(AUTH_FAILURES, "protocol" => protocol).increment(1);
}

/// `GET /metrics`.
pub(crate) async fn metrics(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let Some(endpoint) = &state.metrics else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let client = state.client(peer, &headers);
    if !endpoint.allow.is_empty() && !endpoint.allow.iter().any(|n| n.contains(&client)) {
        return (
            StatusCode::FORBIDDEN,
            "metrics are not served to this address\n",
        )
            .into_response();
    }
    let source = Arc::clone(&endpoint.source);
    // Summing every worker and zone is quick, but not async: keep it off the reactor.
    let body = match tokio::task::spawn_blocking(move || source.render()).await {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "rendering metrics failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT))],
        body,
    )
        .into_response()
}

/// `GET /healthz`: the process answers HTTP.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 when the store is open and every zone is in the published snapshot,
/// 503 with the reason otherwise.
pub(crate) async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.zones.readiness() {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}
