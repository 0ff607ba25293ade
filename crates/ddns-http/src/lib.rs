//! The HTTP side of a ddns server: DynDNS2 for routers and existing clients, a REST API for
//! everything else, and the OpenAPI document describing it.
//!
//! [`app`] builds the router from shared state without binding anything, so tests drive it
//! with `tower::ServiceExt::oneshot`; [`serve`] runs it on bound listeners under the
//! connection limits (timeouts and caps) in [`ConnectionLimits`], over HTTPS ([`tls`]) or
//! plain HTTP.
//!
//! **Architecture invariant:** only this crate knows HTTP and JSON. Updates go through
//! [`ddns_zones::Zones`], which authorises, commits and publishes before a reply is written.

mod api_audit;
pub mod acme;
mod api_v1;
mod client;
mod error;
pub mod inputs;
mod nic_update;
mod redirect;
mod rest_update;
mod serve;
pub mod tls;
mod validity;

pub use api_v1::HISTORY_PAGE_BYTES;
pub use serve::{ConnectionLimits, Listener, Role, bind, serve};

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{delete, get, post};
use ddns_config::server::{Dyndns2Config, HttpConfig};
use ddns_zones::{Principal, Zones};
use ipnet::IpNet;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::client::{HostLimiter, TokenLimiter};
use crate::error::ApiError;

/// Largest request body accepted (updates are tiny).
const MAX_BODY: usize = 64 * 1024;

/// Request policy taken from the configuration.
#[derive(Clone, Debug)]
pub struct HttpPolicy {
    /// Proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// User agents answered with `badagent`.
    pub blocked_user_agents: Vec<String>,
    /// Update requests per host per minute.
    pub updates_per_host_per_minute: u32,
    /// Whole-request timeout.
    pub request_timeout: Duration,
    /// Writes under `/api/v1` per token per minute.
    pub api_writes_per_token_per_minute: u32,
}

impl HttpPolicy {
    /// The policy from the server configuration.
    pub fn from_config(http: &HttpConfig, dyndns2: &Dyndns2Config) -> Self {
        Self {
            trusted_proxies: http.trusted_proxies.clone(),
            blocked_user_agents: dyndns2.blocked_user_agents.clone(),
            updates_per_host_per_minute: dyndns2.updates_per_host_per_minute,
            request_timeout: http.request_timeout,
            api_writes_per_token_per_minute: http.api_writes_per_token_per_minute,
        }
    }
}

/// State shared by every handler.
pub struct AppState {
    zones: Arc<Zones>,
    policy: HttpPolicy,
    limiter: HostLimiter,
    api_writes: TokenLimiter,
}

impl AppState {
    /// State over `zones` with `policy`.
    pub fn new(zones: Arc<Zones>, policy: HttpPolicy) -> Self {
        Self {
            limiter: HostLimiter::new(policy.updates_per_host_per_minute),
            api_writes: TokenLimiter::new(policy.api_writes_per_token_per_minute),
            zones,
            policy,
        }
    }

    async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, ApiError> {
        let creds = client::credentials(headers).ok_or_else(ApiError::unauthorized)?;
        Ok(self.zones.authenticate(&creds.token).await?)
    }

    /// Authenticates a write under `/api/v1` and charges it to the token's write budget
    /// (after authentication, so only the token's owner can spend it).
    async fn authenticate_write(&self, headers: &HeaderMap) -> Result<Principal, ApiError> {
        let principal = self.authenticate(headers).await?;
        if let Err(wait) = self.api_writes.check(&principal.token_id) {
            tracing::warn!(token = %principal.token_id, "API write rate exceeded");
            return Err(ApiError::too_many_writes(wait));
        }
        Ok(principal)
    }
}

/// The router with every route; needs `ConnectInfo<SocketAddr>` (see [`serve`]).
pub fn app(state: Arc<AppState>) -> Router {
    let timeout = state.policy.request_timeout;
    Router::new()
        .route(
            "/nic/update",
            get(nic_update::nic_update).post(nic_update::nic_update),
        )
        .route(
            "/v3/update",
            get(nic_update::nic_update).post(nic_update::nic_update),
        )
        .route(
            "/update",
            get(nic_update::nic_update).post(rest_update::rest_update),
        )
        .route("/api/v1/openapi.json", get(api_v1::openapi))
        .route("/api/v1/zones", get(api_v1::list_zones))
        .route("/api/v1/zones/{zone}/export", get(api_v1::export_zone))
        .route(
            "/api/v1/hosts",
            get(api_v1::list_hosts).post(api_v1::create_host),
        )
        .route(
            "/api/v1/hosts/{name}",
            get(api_v1::get_host).delete(api_v1::delete_host),
        )
        .route("/api/v1/hosts/{name}/history", get(api_v1::host_history))
        .route("/api/v1/hosts/{name}/rollback", post(api_audit::rollback))
        .route("/api/v1/audit", get(api_audit::audit))
        .route(
            "/api/v1/hosts/{name}/records/{rtype}",
            axum::routing::put(api_v1::put_rrset).delete(api_v1::delete_rrset),
        )
        .route(
            "/api/v1/tokens",
            get(api_v1::list_tokens).post(api_v1::create_token),
        )
        .route("/api/v1/tokens/{id}", delete(api_v1::revoke_token))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(post(not_found).get(not_found))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see /api/v1/openapi.json")
}
