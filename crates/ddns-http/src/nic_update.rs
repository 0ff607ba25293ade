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

use axum::Extension;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ddns_core::dyndns2::{
    AddressChoice, RawUpdate, RequestError, ReturnCode, UpdateRequest, reply_line,
};
use ddns_core::{DomainName, Origin, Rtype};
use ddns_store::StoreError;
use ddns_zones::{AddressUpdate, UpdateError, ViewAddresses};

use crate::client::{credentials, user_agent};
use crate::metrics::{Limit, rate_limited};
use crate::update_event::{Protocol, RequestId, UpdateEvent};
use crate::{AppState, Refusal};

/// The handler for every DynDNS2 path: answers, then emits one update event per hostname
/// answered (or one for a request refused as a whole).
pub(crate) async fn nic_update(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request_id: Option<Extension<RequestId>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut event = UpdateEvent {
        protocol: Protocol::Dyndns2,
        request_id: request_id.map(|Extension(id)| id),
        client: state.client(peer, &headers),
        token: None,
    };
    let (response, answered) = answer(&state, &headers, query.as_deref(), &mut event).await;
    match answered {
        Answered::Whole {
            code,
            names,
            detail,
        } => {
            let names = names
                .iter()
                .map(DomainName::as_str)
                .collect::<Vec<_>>()
                .join(",");
            let name = (!names.is_empty()).then_some(names.as_str());
            event.emit(name, code.as_str(), detail.as_deref());
        }
        Answered::PerHost(results) => {
            for (name, code) in results {
                event.emit(Some(name.as_str()), code.as_str(), None);
            }
        }
    }
    response
}

/// What the request got, for its update events.
enum Answered {
    /// One code for the request (a refusal, or `nochg` with nothing to change).
    Whole {
        code: ReturnCode,
        names: Vec<DomainName>,
        detail: Option<String>,
    },
    /// A code per hostname.
    PerHost(Vec<(DomainName, ReturnCode)>),
}

impl Answered {
    fn whole(code: ReturnCode) -> Self {
        Self::Whole {
            code,
            names: Vec::new(),
            detail: None,
        }
    }

    fn refused(code: ReturnCode, names: &[DomainName], detail: &dyn std::fmt::Display) -> Self {
        Self::Whole {
            code,
            names: names.to_vec(),
            detail: Some(detail.to_string()),
        }
    }
}

async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
    event: &mut UpdateEvent,
) -> (Response, Answered) {
    let agent = user_agent(headers);
    if let Some(a) = &agent {
        let lower = a.to_ascii_lowercase();
        if state
            .policy
            .blocked_user_agents
            .iter()
            .any(|b| lower.contains(&b.to_ascii_lowercase()))
        {
            return (
                once(ReturnCode::Badagent, StatusCode::FORBIDDEN),
                Answered::whole(ReturnCode::Badagent),
            );
        }
    }
    let Some(creds) = credentials(headers) else {
        return (
            once(ReturnCode::Badauth, StatusCode::UNAUTHORIZED),
            Answered::whole(ReturnCode::Badauth),
        );
    };
    let client = event.client;
    let principal = match state
        .check_token(client, &creds.token, Protocol::Dyndns2)
        .await
    {
        Ok(p) => p,
        Err(Refusal::Store(e)) => {
            let (response, code) = store_failure(&e);
            return (response, Answered::refused(code, &[], &e));
        }
        Err(Refusal::Throttled(wait)) => {
            return (abuse(wait), Answered::whole(ReturnCode::Abuse));
        }
        Err(Refusal::Badauth) => {
            return (
                once(ReturnCode::Badauth, StatusCode::UNAUTHORIZED),
                Answered::whole(ReturnCode::Badauth),
            );
        }
    };
    event.token = Some(principal.token_id.to_string());

    let request = match update_request(query, creds.user.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            return (
                once(e.code(), StatusCode::BAD_REQUEST),
                Answered::refused(e.code(), &[], &e),
            );
        }
    };
    let views = match view_params(query) {
        Ok(v) => v,
        Err(e) => {
            return (
                once(e.code(), StatusCode::BAD_REQUEST),
                Answered::refused(e.code(), &[], &e),
            );
        }
    };
    let names = &request.hostnames;
    // Authorise before charging the rate limit: a name the caller may not change must not
    // spend its owner's limit (`update_addresses` checks again; this one is cheap).
    if let Err(e) = state.zones.authorize(&principal, names) {
        let (response, code) = update_failure(&e);
        return (response, Answered::refused(code, names, &e));
    }
    if let Err(wait) = state.limiter.check(&principal.token_id, names) {
        rate_limited(Limit::PerHost);
        return (
            abuse(wait),
            Answered::refused(ReturnCode::Abuse, names, &"update rate per host exceeded"),
        );
    }
    if let Err(wait) = state.updates_per_token.check(&principal.token_id) {
        rate_limited(Limit::PerToken);
        return (
            abuse(wait),
            Answered::refused(ReturnCode::Abuse, names, &"update rate per token exceeded"),
        );
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
    if ipv4.is_none() && ipv6.is_none() && !request.offline && views.is_empty() {
        // `myip=no&myipv6=no`, or a connection address no host can have: nothing to change.
        return (
            once(ReturnCode::Nochg, StatusCode::OK),
            Answered::Whole {
                code: ReturnCode::Nochg,
                names: names.clone(),
                detail: None,
            },
        );
    }
    let update = AddressUpdate {
        names: names.clone(),
        ipv4,
        ipv6,
        offline: request.offline,
        ttl: None,
        views,
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
            let mut results = Vec::with_capacity(outcomes.len());
            let lines: Vec<String> = outcomes
                .iter()
                .map(|o| {
                    let code = if o.changed {
                        ReturnCode::Good
                    } else {
                        ReturnCode::Nochg
                    };
                    results.push((o.name.clone(), code));
                    reply_line(code, &o.ipv4, &o.ipv6)
                })
                .collect();
            (
                text(StatusCode::OK, lines.join("\n")),
                Answered::PerHost(results),
            )
        }
        Err(e) => {
            let (response, code) = update_failure(&e);
            (response, Answered::refused(code, names, &e))
        }
    }
}

/// The split-horizon extension: `myip.VIEW=ADDRESSES` sets view VIEW's own addresses of every
/// host of the request (either family, comma-separated; a family not listed is left alone;
/// an empty value removes the view's own A and AAAA, so the view shows the default again).
/// Routers and ddclient never send such a key, and its dot keeps it apart from any DynDNS2
/// parameter. The last of repeated keys wins.
pub(crate) fn view_params(query: Option<&str>) -> Result<Vec<ViewAddresses>, RequestError> {
    let mut out: Vec<ViewAddresses> = Vec::new();
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let Some(view) = key.strip_prefix("myip.") else {
            continue;
        };
        let (v4, v6) = ddns_core::dyndns2::view_addresses(&value)?;
        let (ipv4, ipv6) = if v4.is_empty() && v6.is_empty() {
            (Some(v4), Some(v6))
        } else {
            (
                (!v4.is_empty()).then_some(v4),
                (!v6.is_empty()).then_some(v6),
            )
        };
        out.retain(|v| v.view != view);
        out.push(ViewAddresses {
            view: view.to_owned(),
            ipv4,
            ipv6,
        });
    }
    Ok(out)
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

/// The answer to a refused update, and the code it carries.
fn update_failure(e: &UpdateError) -> (Response, ReturnCode) {
    let (code, status) = match e {
        UpdateError::ReadOnly => (ReturnCode::Badauth, StatusCode::FORBIDDEN),
        UpdateError::TypeNotAllowed { .. } => (ReturnCode::Nohost, StatusCode::FORBIDDEN),
        UpdateError::NotServed(_)
        | UpdateError::OutOfScope(_)
        | UpdateError::Reserved { .. }
        | UpdateError::NotFound(_) => (ReturnCode::Nohost, StatusCode::NOT_FOUND),
        UpdateError::Conflict(_) | UpdateError::VersionMismatch { .. } => {
            (ReturnCode::Dnserr, StatusCode::CONFLICT)
        }
        UpdateError::BadRecord(_) | UpdateError::UnknownView(_) => {
            (ReturnCode::Dnserr, StatusCode::BAD_REQUEST)
        }
        // `numhost` with 403, not the 400 of too many names in one request: the token has as
        // many hosts as it may, and retrying does not help until one is deleted.
        UpdateError::HostQuota { .. } => (ReturnCode::Numhost, StatusCode::FORBIDDEN),
        UpdateError::Store(s) => return store_failure(s),
        _ => (ReturnCode::ServerError, StatusCode::INTERNAL_SERVER_ERROR),
    };
    (once(code, status), code)
}

fn store_failure(e: &StoreError) -> (Response, ReturnCode) {
    if e.is_transient() {
        let mut r = once(ReturnCode::Dnserr, StatusCode::SERVICE_UNAVAILABLE);
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        (r, ReturnCode::Dnserr)
    } else {
        tracing::error!(error = %e, "store failure during DynDNS2 update");
        let mut r = once(ReturnCode::ServerError, StatusCode::INTERNAL_SERVER_ERROR);
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1800"));
        (r, ReturnCode::ServerError)
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
