//! DynDNS2: `GET /nic/update` (also `/update`, `/v3/update`) as routers, ddclient and inadyn
//! speak it. Replies are plain text, one line per hostname; failures are given once.
//!
//! HTTP status codes follow deSEC: 200 for `good`/`nochg`, 401 `badauth` (with a Basic
//! challenge so routers that wait for one send their credentials), 404 `nohost`, 400 for
//! malformed input (`notfqdn`, `numhost`, `dnserr` for an address that is not one), 429
//! `abuse` with `Retry-After` (too many updates of a host or a token, too many requests or
//! failed authentications from an address), 403 `badagent`; server-side `dnserr` is 503 (busy, retry) or 409
//! (conflicting records), and `911` is 500 with `Retry-After: 1800` (clients wait 30 minutes).
//!
//! Token restrictions, as deSEC answers them: an expired token, or one used from outside its
//! subnets, is `badauth` (401, the token is not valid here); a read-only token is `badauth`
//! with 403 (valid, but not for updates); a type the token may not write is `nohost` with 403.
//! A family taken from the connection's address that the token may not write is left alone
//! rather than refused, so an AAAA-only token works from routers that never send `myip=no`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ddns_core::dyndns2::{
    AddressChoice, RawUpdate, RequestError, ReturnCode, UpdateRequest, reply_line,
};
use ddns_core::{Origin, Rtype};
use ddns_store::StoreError;
use ddns_zones::{AddressUpdate, UpdateError};

use crate::client::{credentials, user_agent};
use crate::{AppState, Refusal};

/// The handler for every DynDNS2 path.
pub(crate) async fn nic_update(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let agent = user_agent(&headers);
    if let Some(a) = &agent {
        let lower = a.to_ascii_lowercase();
        if state
            .policy
            .blocked_user_agents
            .iter()
            .any(|b| lower.contains(&b.to_ascii_lowercase()))
        {
            return once(ReturnCode::Badagent, StatusCode::FORBIDDEN);
        }
    }
    let Some(creds) = credentials(&headers) else {
        return once(ReturnCode::Badauth, StatusCode::UNAUTHORIZED);
    };
    let client = state.client(peer, &headers);
    let principal = match state.check_token(client, &creds.token).await {
        Ok(p) => p,
        Err(Refusal::Store(e)) => return store_failure(&e),
        Err(Refusal::Throttled(wait)) => return abuse(wait),
        Err(Refusal::Badauth) => return once(ReturnCode::Badauth, StatusCode::UNAUTHORIZED),
    };

    let request = match update_request(query.as_deref(), creds.user.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(token = %principal.token_id, error = %e, "DynDNS2 request refused");
            return once(e.code(), StatusCode::BAD_REQUEST);
        }
    };
    // Authorise before charging the rate limit: a name the caller may not change must not
    // spend its owner's limit (`update_addresses` checks again; this one is cheap).
    if let Err(e) = state.zones.authorize(&principal, &request.hostnames) {
        tracing::info!(token = %principal.token_id, error = %e, "DynDNS2 update refused");
        return update_failure(&e);
    }
    if let Err(wait) = state.limiter.check(&principal.token_id, &request.hostnames) {
        tracing::warn!(token = %principal.token_id, hosts = ?request.hostnames, "update rate exceeded");
        return abuse(wait);
    }
    if let Err(wait) = state.updates_per_token.check(&principal.token_id) {
        tracing::warn!(token = %principal.token_id, "update rate per token exceeded");
        return abuse(wait);
    }

    let (mut ipv4, mut ipv6) = request.addresses_for(client);
    // A family only implied by the connection's address is left alone when the token may
    // not write it; one given explicitly is checked (and refused) by the write path.
    let restrictions = &principal.restrictions;
    if request.ipv4 == AddressChoice::FromConnection && !restrictions.permits_type(Rtype::A) {
        ipv4 = None;
    }
    if request.ipv6 == AddressChoice::FromConnection && !restrictions.permits_type(Rtype::AAAA) {
        ipv6 = None;
    }
    if ipv4.is_none() && ipv6.is_none() && !request.offline {
        // `myip=no&myipv6=no`, or a connection address no host can have: nothing to change.
        return once(ReturnCode::Nochg, StatusCode::OK);
    }
    let update = AddressUpdate {
        names: request.hostnames.clone(),
        ipv4,
        ipv6,
        offline: request.offline,
        ttl: None,
    };
    let origin = Origin {
        source_ip: Some(client),
        user_agent: agent,
    };
    match state
        .zones
        .update_addresses(&principal, &update, origin)
        .await
    {
        Ok(outcomes) => {
            let lines: Vec<String> = outcomes
                .iter()
                .map(|o| {
                    let code = if o.changed { ReturnCode::Good } else { ReturnCode::Nochg };
                    tracing::info!(host = %o.name, token = %principal.token_id, %client, result = code.as_str(), "DynDNS2 update");
                    reply_line(code, &o.ipv4, &o.ipv6)
                })
                .collect();
            text(StatusCode::OK, lines.join("\n"))
        }
        Err(e) => {
            tracing::info!(token = %principal.token_id, error = %e, "DynDNS2 update refused");
            update_failure(&e)
        }
    }
}

/// The request's query string (the last of repeated keys wins) and Basic-auth user as a
/// DynDNS2 update request.
pub(crate) fn update_request(
    query: Option<&str>,
    basic_user: Option<&str>,
) -> Result<UpdateRequest, RequestError> {
    let params: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let param = |key: &str| {
        params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    UpdateRequest::parse(&RawUpdate {
        hostname: param("hostname"),
        myip: param("myip"),
        myipv6: param("myipv6"),
        offline: param("offline"),
        basic_user,
    })
}

/// `abuse` with `Retry-After`: too many updates or requests, or failed authentications.
pub(crate) fn abuse(wait: u64) -> Response {
    let mut response = once(ReturnCode::Abuse, StatusCode::TOO_MANY_REQUESTS);
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

fn update_failure(e: &UpdateError) -> Response {
    match e {
        UpdateError::ReadOnly => once(ReturnCode::Badauth, StatusCode::FORBIDDEN),
        UpdateError::TypeNotAllowed { .. } => once(ReturnCode::Nohost, StatusCode::FORBIDDEN),
        UpdateError::NotServed(_)
        | UpdateError::OutOfScope(_)
        | UpdateError::Reserved { .. }
        | UpdateError::NotFound(_) => once(ReturnCode::Nohost, StatusCode::NOT_FOUND),
        UpdateError::Conflict(_) | UpdateError::VersionMismatch { .. } => {
            once(ReturnCode::Dnserr, StatusCode::CONFLICT)
        }
        UpdateError::BadRecord(_) => once(ReturnCode::Dnserr, StatusCode::BAD_REQUEST),
        // `numhost` with 403, not the 400 of too many names in one request: the token has as
        // many hosts as it may, and retrying does not help until one is deleted.
        UpdateError::HostQuota { .. } => once(ReturnCode::Numhost, StatusCode::FORBIDDEN),
        UpdateError::Store(s) => store_failure(s),
        _ => once(ReturnCode::ServerError, StatusCode::INTERNAL_SERVER_ERROR),
    }
}

fn store_failure(e: &StoreError) -> Response {
    if e.is_transient() {
        let mut r = once(ReturnCode::Dnserr, StatusCode::SERVICE_UNAVAILABLE);
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        r
    } else {
        tracing::error!(error = %e, "store failure during DynDNS2 update");
        let mut r = once(ReturnCode::ServerError, StatusCode::INTERNAL_SERVER_ERROR);
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1800"));
        r
    }
}

/// A code given once for the whole request.
fn once(code: ReturnCode, status: StatusCode) -> Response {
    let mut response = text(status, code.as_str().to_owned());
    if code == ReturnCode::Badauth {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"ddns\""),
        );
    }
    response
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}
