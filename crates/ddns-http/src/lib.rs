//! The HTTP side of a ddns server: DynDNS2 for routers and existing clients, a REST API for
//! everything else, and the OpenAPI document describing it.
//!
//! [`app`] builds the router from shared state without binding anything, so tests drive it
//! with `tower::ServiceExt::oneshot`; [`serve`] runs it on bound listeners under the
//! connection limits (timeouts and caps) in [`ConnectionLimits`], over HTTPS ([`tls`]) or
//! plain HTTP. The web console (`console/`) is served by the same router under `/console/`.
//!
//! **Architecture invariant:** only this crate knows HTTP and JSON. Updates go through
//! [`ddns_zones::Zones`], which authorises, commits and publishes before a reply is written.

pub mod acme;
mod api_audit;
mod api_v1;
mod audit_stream;
mod auth_throttle;
mod client;
mod console;
mod error;
pub mod inputs;
pub mod metrics;
mod nic_update;
mod redirect;
mod rest_update;
mod serve;
pub mod tls;
mod update_event;
mod validity;

pub use api_v1::HISTORY_PAGE_BYTES;
pub use audit_stream::{AuditStream, AuditStreamError, SinkCounters};
pub use metrics::{MetricsEndpoint, MetricsSource};
pub use serve::{ConnectionLimits, Listener, Role, bind, serve};

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use ddns_config::server::{Dyndns2Config, HttpConfig};
use ddns_store::StoreError;
use ddns_zones::{AuthError, Principal, Zones};
use ipnet::IpNet;
use tokio_util::sync::CancellationToken;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::auth_throttle::{Admission, AuthThrottle};
use crate::client::{HostLimiter, IpLimiter, SharedLimit, TokenLimiter, client_ip};
use crate::error::ApiError;
use crate::metrics::{Limit, auth_failed, rate_limited};
use crate::update_event::{Protocol, assign_request_id};

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
    /// Update requests (DynDNS2, REST `/update`) per token per minute.
    pub updates_per_token_per_minute: u32,
    /// Requests of any kind per client address per minute.
    pub requests_per_ip_per_minute: u32,
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
            updates_per_token_per_minute: dyndns2.updates_per_token_per_minute,
            requests_per_ip_per_minute: http.requests_per_ip_per_minute,
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
    /// Update requests per token (DynDNS2 and REST `/update`).
    updates_per_token: TokenLimiter,
    per_ip: IpLimiter,
    auth_failures: AuthThrottle,
    /// `/metrics`, when served.
    metrics: Option<MetricsEndpoint>,
    /// The web console's sessions and sign-in limit.
    console: console::Console,
}

/// Why a presented token was not accepted, before the edge maps it to its protocol.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// No valid token (unknown, wrong, revoked, expired, or used from outside its subnets).
    Badauth,
    /// Too many failures from this address; try again after this many seconds.
    Throttled(u64),
    /// The store could not be read.
    Store(StoreError),
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Badauth => Self::unauthorized(),
            Refusal::Throttled(wait) => Self::auth_throttled(wait),
            Refusal::Store(e) => e.into(),
        }
    }
}

impl AppState {
    /// State over `zones` with `policy`.
    pub fn new(zones: Arc<Zones>, policy: HttpPolicy) -> Self {
        let mut limiter = HostLimiter::new(policy.updates_per_host_per_minute);
        let mut api_writes = TokenLimiter::new(policy.api_writes_per_token_per_minute, "a");
        let mut updates_per_token = TokenLimiter::new(policy.updates_per_token_per_minute, "t");
        if zones.is_clustered() {
            limiter.share();
            api_writes.share();
            updates_per_token.share();
        }
        Self {
            limiter,
            api_writes,
            updates_per_token,
            per_ip: IpLimiter::new(policy.requests_per_ip_per_minute),
            auth_failures: AuthThrottle::new(),
            metrics: None,
            console: console::Console::new(),
            zones,
            policy,
        }
    }

    /// The limits shared with other nodes (per host, and per token for updates and API
    /// writes; not per address: a flood is the business of the node it reaches).
    fn shared_limits(&self) -> [&dyn SharedLimit; 3] {
        [&self.limiter, &self.updates_per_token, &self.api_writes]
    }

    /// Shares the per-host and per-token limits with the other nodes on the same PostgreSQL
    /// until `stop`: every `every`, this node's charges go out and the others' come in, so a
    /// limit holds for the cluster (give or take a round). Returns at once on SQLite.
    pub async fn share_rate_limits(&self, every: Duration, stop: CancellationToken) {
        if !self.zones.is_clustered() {
            return;
        }
        // Tells this node's rows from the others' (a restart is another node, which is right:
        // its limiters start empty and read the last minute again).
        let mut id = [0u8; 8];
        let _ = getrandom::fill(&mut id);
        let node = format!("{:016x}-{}", u64::from_le_bytes(id), std::process::id());
        let mut cursor = ddns_store::ChargeCursor::default();
        let mut last_prune = Instant::now();
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            let ours: Vec<(String, u32)> = self
                .shared_limits()
                .iter()
                .flat_map(|limit| limit.take_charged())
                .collect();
            match self.zones.exchange_rate_charges(&node, &ours, cursor).await {
                Ok((theirs, next)) => {
                    cursor = next;
                    for (key, n) in &theirs {
                        for limit in self.shared_limits() {
                            limit.absorb(key, *n);
                        }
                    }
                }
                // The charges of this round are lost to the others; the limits stay per node
                // until the store is back.
                Err(e) => tracing::debug!(error = %e, "could not share rate-limit charges"),
            }
            if last_prune.elapsed() >= Duration::from_secs(60) {
                last_prune = Instant::now();
                if let Err(e) = self.zones.prune_rate_charges().await {
                    tracing::debug!(error = %e, "could not prune rate-limit charges");
                }
            }
        }
    }

    /// The same state serving `/metrics` from `endpoint`.
    #[must_use]
    pub fn with_metrics(mut self, endpoint: MetricsEndpoint) -> Self {
        self.metrics = Some(endpoint);
        self
    }

    /// The client's address (through trusted proxies only).
    fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        client_ip(peer, headers, &self.policy.trusted_proxies)
    }

    /// Checks `token` presented by `client`, slowed down after failures from that address
    /// (`auth_throttle.rs`): the wait comes first and holds nothing but this request.
    pub(crate) async fn check_token(
        &self,
        client: IpAddr,
        token: &str,
        protocol: Protocol,
    ) -> Result<Principal, Refusal> {
        match self.auth_failures.admit(client, Instant::now()) {
            Admission::Refused(wait) => {
                rate_limited(Limit::AuthFailures);
                return Err(Refusal::Throttled(wait.as_secs().max(1)));
            }
            Admission::After(wait) if !wait.is_zero() => tokio::time::sleep(wait).await,
            Admission::After(_) => {}
        }
        match self.zones.authenticate(token, client).await {
            Ok(principal) => {
                self.auth_failures.succeeded(client);
                Ok(principal)
            }
            Err(AuthError::Store(e)) => Err(Refusal::Store(e)),
            Err(AuthError::Invalid) => {
                auth_failed(match protocol {
                    Protocol::Dyndns2 => "dyndns2",
                    Protocol::Rest | Protocol::ApiV1 => "api",
                });
                self.auth_failures.failed(client, Instant::now());
                tracing::info!(%client, "token refused");
                Err(Refusal::Badauth)
            }
        }
    }

    async fn authenticate(
        &self,
        peer: SocketAddr,
        headers: &HeaderMap,
    ) -> Result<Principal, ApiError> {
        let creds = client::credentials(headers).ok_or_else(ApiError::unauthorized)?;
        Ok(self
            .check_token(self.client(peer, headers), &creds.token, Protocol::ApiV1)
            .await?)
    }

    /// Authenticates a write under `/api/v1` and charges it to the token's write budget
    /// (after authentication, so only the token's owner can spend it). Read-only tokens are
    /// refused here, before they spend anything.
    async fn authenticate_write(
        &self,
        peer: SocketAddr,
        headers: &HeaderMap,
    ) -> Result<Principal, ApiError> {
        let principal = self.authenticate(peer, headers).await?;
        if principal.restrictions.read_only {
            return Err(ddns_zones::UpdateError::ReadOnly.into());
        }
        if let Err(wait) = self.api_writes.check(&principal.token_id) {
            rate_limited(Limit::ApiWrites);
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
        .route("/api/v1/tokens/{id}/rotate", post(api_v1::rotate_token))
        .route("/healthz", get(metrics::healthz))
        .route("/readyz", get(metrics::readyz))
        .route("/metrics", get(metrics::metrics))
        .merge(console::routes(&state))
        .fallback(post(not_found).get(not_found))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            limit_per_ip,
        ))
        .layer(axum::middleware::from_fn(assign_request_id))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .with_state(state)
}

/// Charges every request to its client address (`[http] requests_per_ip_per_minute`) before
/// routing: over the limit, DynDNS2 paths answer `abuse` and the others a JSON 429, both with
/// `Retry-After`.
async fn limit_per_ip(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let client = state.client(peer, request.headers());
    if let Err(wait) = state.per_ip.check(client) {
        rate_limited(Limit::PerIp);
        tracing::debug!(%client, "request rate per address exceeded");
        let path = request.uri().path();
        let dyndns2 = matches!(path, "/nic/update" | "/v3/update")
            || (path == "/update" && request.method() == Method::GET);
        if dyndns2 {
            return nic_update::abuse(wait);
        }
        return ApiError::too_many_requests(wait).into_response();
    }
    next.run(request).await
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see /api/v1/openapi.json")
}
