//! `/api/v1`: hosts, their record sets, their history, tokens and zones.
//!
//! A host's `version` is its ETag. Writers send `If-Match: "<version>"` and get 412 when
//! someone changed the host in between, so two writers never silently overwrite each other.
//! Host tokens see and change the hosts of their scope; admin tokens manage everything.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ddns_config::when::{parse_moment, parse_seconds, rfc3339};
use ddns_core::{DomainName, Origin, Restrictions, Rtype, Scope, ScopeEntry};
use ddns_zones::{HistoryRow, HostRecord, Principal, RrsetIntent, host_filter};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::client::{client_ip, user_agent};
use crate::error::ApiError;
use crate::update_event::{Protocol, RequestId, UpdateEvent};

/// The OpenAPI 3.1 document of this API.
pub(crate) const OPENAPI: &str = include_str!("openapi.json");

pub(crate) async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI,
    )
        .into_response()
}

fn host_json(host: &HostRecord) -> Value {
    json!({
        "name": host.name.as_str(),
        "zone": host.zone.as_str(),
        "version": host.version,
        "records": host.rrsets.iter().map(|s| json!({
            "type": s.rtype().to_string(),
            "ttl": s.ttl(),
            "values": s.values(),
        })).collect::<Vec<_>>(),
        "created_at": host.created_at,
        "updated_at": host.updated_at,
    })
}

pub(crate) fn history_json(row: &HistoryRow) -> Value {
    let set = |s: &Option<ddns_core::RecordSet>| {
        s.as_ref()
            .map(|s| json!({"ttl": s.ttl(), "values": s.values()}))
    };
    let mut out = json!({
        "id": row.id,
        "at": row.at,
        "zone": row.zone.as_str(),
        "name": row.name.as_str(),
        "type": row.rtype.to_string(),
        "old": set(&row.old),
        "new": set(&row.new),
        "serial": row.serial.0,
        "actor": row.actor,
        "source_ip": row.source_ip.map(|ip| ip.to_string()),
        "user_agent": row.user_agent,
        "note": row.note,
    });
    if let Some(view) = &row.view {
        // Only rows of a view carry it, so the default's rows read as they always did.
        out["view"] = Value::from(view.as_str());
    }
    out
}

pub(crate) fn with_etag(status: StatusCode, host: &HostRecord) -> Response {
    let mut response = (status, Json(host_json(host))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", host.version)) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

pub(crate) fn parse_rtype(text: &str) -> Result<Rtype, ApiError> {
    Rtype::parse(text).map_err(|e| ApiError::bad_request(e.to_string()))
}

pub(crate) fn parse_name(text: &str) -> Result<DomainName, ApiError> {
    DomainName::parse(text)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "notfqdn", format!("{text:?}: {e}")))
}

pub(crate) fn require_admin(principal: &Principal) -> Result<(), ApiError> {
    if principal.scope.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden("this needs an admin token"))
    }
}

pub(crate) fn require_scope(principal: &Principal, name: &DomainName) -> Result<(), ApiError> {
    if principal.scope.permits(name) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "this token may not see or change {name}"
        )))
    }
}

/// `If-Match`: `None` when absent, the version otherwise (`*` = "must exist" = the current one).
fn if_match(headers: &HeaderMap, current: Option<i64>) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::bad_request("If-Match is not text"))?
        .trim();
    if text == "*" {
        return current.map(Some).ok_or_else(|| {
            ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "stale_version",
                "the host does not exist",
            )
        });
    }
    text.trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map(Some)
        .map_err(|_| {
            ApiError::bad_request(format!(
                "If-Match {text:?} is not a version this API gave out (e.g. \"3\")"
            ))
        })
}

async fn load_host(state: &AppState, name: &DomainName) -> Result<HostRecord, ApiError> {
    state
        .zones
        .host(name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("host {name} does not exist")))
}

pub(crate) fn origin(peer: SocketAddr, headers: &HeaderMap, state: &AppState) -> Origin {
    Origin {
        source_ip: Some(client_ip(peer, headers, &state.policy.trusted_proxies)),
        user_agent: user_agent(headers),
    }
}

/// Emits the update event of a write to a host under `/api/v1` (`name` as the path or body
/// gave it; one that is not a valid name is logged as `-`).
fn emit_update<T>(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    request_id: Option<Extension<RequestId>>,
    name: &str,
    result: &Result<T, ApiError>,
) {
    let event = UpdateEvent {
        protocol: Protocol::ApiV1,
        request_id: request_id.map(|Extension(id)| id),
        client: client_ip(peer, headers, &state.policy.trusted_proxies),
        token: None,
    };
    let name = DomainName::parse(name).ok();
    let name = name.as_ref().map(DomainName::as_str);
    match result {
        Ok(_) => event.emit(name, "success", None),
        Err(e) => event.emit(name, e.code, Some(&e.message)),
    }
}

pub(crate) async fn list_zones(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    state.authenticate(peer, &headers).await?;
    let snapshot = state.zones.snapshot();
    let zones: Vec<Value> = state
        .zones
        .policies()
        .iter()
        .map(|z| {
            let zone = snapshot.get(&z.name);
            let ns: Vec<String> = zone
                .and_then(|s| s.node(s.origin_wire()))
                .and_then(|apex| apex.rrset(Rtype::NS))
                .map(|ns| {
                    ns.rdatas()
                        .map(|r| ddns_core::name::wire_to_text(r).trim_end_matches('.').to_owned())
                        .collect()
                })
                .unwrap_or_default();
            json!({"name": z.name.as_str(), "serial": zone.map(|s| s.serial().0), "ttl": z.dynamic_ttl, "ns": ns})
        })
        .collect();
    Ok(Json(json!(zones)))
}

pub(crate) async fn export_zone(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(zone): Path<String>,
) -> Result<Response, ApiError> {
    let principal = state.authenticate(peer, &headers).await?;
    require_admin(&principal)?;
    let zone = parse_name(&zone)?;
    let text = state
        .zones
        .export(&zone)
        .ok_or_else(|| ApiError::not_found(format!("zone {zone} is not served here")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/dns; charset=utf-8"),
        )],
        text,
    )
        .into_response())
}

/// Hosts per page of `GET /api/v1/hosts` unless `limit` says fewer.
const HOSTS_PAGE: u32 = 100;
/// Most hosts per page.
const HOSTS_PAGE_MAX: u32 = 1000;
/// History rows per page unless `limit` says fewer, and the most per page.
const HISTORY_PAGE: u32 = 100;
const HISTORY_PAGE_MAX: u32 = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HostsQuery {
    limit: Option<u32>,
    after: Option<String>,
}

/// `GET /api/v1/hosts?limit=N&after=NAME`: a page of the hosts the token may see, filtered
/// and paginated in the store; the `Link: <…>; rel="next"` header gives the next page.
pub(crate) async fn list_hosts(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<HostsQuery>,
) -> Result<Response, ApiError> {
    let principal = state.authenticate(peer, &headers).await?;
    let filter = host_filter(&principal.scope);
    let after = query.after.as_deref().map(parse_name).transpose()?;
    let limit = query.limit.unwrap_or(HOSTS_PAGE).clamp(1, HOSTS_PAGE_MAX);
    let hosts = state.zones.hosts(&filter, after.as_ref(), limit).await?;
    let mut response = Json(json!(hosts.iter().map(host_json).collect::<Vec<_>>())).into_response();
    if hosts.len() == limit as usize
        && let Some(last) = hosts.last()
        && let Ok(link) = HeaderValue::from_str(&format!(
            "</api/v1/hosts?limit={limit}&after={}>; rel=\"next\"",
            last.name
        ))
    {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewHost {
    pub(crate) name: String,
}

pub(crate) async fn create_host(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request_id: Option<Extension<RequestId>>,
    headers: HeaderMap,
    Json(body): Json<NewHost>,
) -> Result<Response, ApiError> {
    let result = create_host_answer(&state, peer, &headers, &body).await;
    emit_update(&state, peer, &headers, request_id, &body.name, &result);
    result
}

async fn create_host_answer(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &NewHost,
) -> Result<Response, ApiError> {
    let principal = state.authenticate_write(peer, headers).await?;
    let name = parse_name(&body.name)?;
    state
        .zones
        .authorize(&principal, std::slice::from_ref(&name))?;
    if state.zones.host(&name).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("host {name} already exists"),
        ));
    }
    state.zones.create_host(&principal, &name).await?;
    let host = load_host(state, &name).await?;
    Ok(with_etag(StatusCode::CREATED, &host))
}

pub(crate) async fn get_host(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let principal = state.authenticate(peer, &headers).await?;
    let name = parse_name(&name)?;
    require_scope(&principal, &name)?;
    Ok(with_etag(StatusCode::OK, &load_host(&state, &name).await?))
}

pub(crate) async fn delete_host(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request_id: Option<Extension<RequestId>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let result = delete_host_answer(&state, peer, &headers, &name).await;
    emit_update(&state, peer, &headers, request_id, &name, &result);
    result
}

async fn delete_host_answer(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    name: &str,
) -> Result<StatusCode, ApiError> {
    let principal = state.authenticate_write(peer, headers).await?;
    let name = parse_name(name)?;
    require_scope(&principal, &name)?;
    let current = state.zones.host(&name).await?.map(|h| h.version);
    let expected = if_match(headers, current)?;
    state
        .zones
        .delete_host(&principal, &name, expected, origin(peer, headers, state))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RrsetBody {
    pub(crate) ttl: Option<u32>,
    pub(crate) values: Vec<String>,
    /// A split-horizon view's own RRset instead of the default's.
    pub(crate) view: Option<String>,
}

/// `?view=NAME` of a DELETE: the view's own RRset (the view then shows the default's).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ViewQuery {
    view: Option<String>,
}

pub(crate) async fn put_rrset(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request_id: Option<Extension<RequestId>>,
    headers: HeaderMap,
    Path((name, rtype)): Path<(String, String)>,
    Json(body): Json<RrsetBody>,
) -> Result<Response, ApiError> {
    let result = match parse_rtype(&rtype) {
        Ok(rtype) => {
            change_rrset(
                &state,
                peer,
                &headers,
                &name,
                rtype,
                Some(body.values),
                body.ttl,
                body.view,
            )
            .await
        }
        Err(e) => Err(e),
    };
    emit_update(&state, peer, &headers, request_id, &name, &result);
    result
}

pub(crate) async fn delete_rrset(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request_id: Option<Extension<RequestId>>,
    headers: HeaderMap,
    Path((name, rtype)): Path<(String, String)>,
    Query(query): Query<ViewQuery>,
) -> Result<Response, ApiError> {
    let result = match parse_rtype(&rtype) {
        Ok(rtype) => {
            change_rrset(&state, peer, &headers, &name, rtype, None, None, query.view).await
        }
        Err(e) => Err(e),
    };
    emit_update(&state, peer, &headers, request_id, &name, &result);
    result
}

#[allow(clippy::too_many_arguments)]
async fn change_rrset(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    name: &str,
    rtype: Rtype,
    values: Option<Vec<String>>,
    ttl: Option<u32>,
    view: Option<String>,
) -> Result<Response, ApiError> {
    let principal = state.authenticate_write(peer, headers).await?;
    let name = parse_name(name)?;
    require_scope(&principal, &name)?;
    let current = state.zones.host(&name).await?.map(|h| h.version);
    if values.is_none() && current.is_none() {
        return Err(ApiError::not_found(format!("host {name} does not exist")));
    }
    let expected = if_match(headers, current)?;
    let intent = RrsetIntent {
        name: name.clone(),
        rtype,
        values,
        ttl,
        view,
    };
    state
        .zones
        .update_rrsets(
            &principal,
            &[intent],
            expected.map(|v| (name.clone(), v)),
            origin(peer, headers, state),
        )
        .await?;
    Ok(with_etag(StatusCode::OK, &load_host(state, &name).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryQuery {
    limit: Option<u32>,
    /// Rows older than this id (the `id` of the last row of the previous page).
    before: Option<i64>,
}

pub(crate) async fn host_history(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Response, ApiError> {
    let principal = state.authenticate(peer, &headers).await?;
    let name = parse_name(&name)?;
    require_scope(&principal, &name)?;
    let limit = query
        .limit
        .unwrap_or(HISTORY_PAGE)
        .clamp(1, HISTORY_PAGE_MAX);
    let page = history_page(&state, &name, query.before, limit).await?;
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        page.body,
    )
        .into_response();
    if let Some(before) = page.next_before
        && let Ok(link) = HeaderValue::from_str(&format!(
            "</api/v1/hosts/{name}/history?limit={limit}&before={before}>; rel=\"next\""
        ))
    {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

/// JSON of one history page at most. A row holds up to two record sets of 32 KiB wire form
/// each (more as text), so 1000 rows could be hundreds of MB; a page stops before the row that
/// would cross this budget (the first row always fits: a row is far smaller) and links to the
/// next page like a full one.
pub const HISTORY_PAGE_BYTES: usize = 1 << 20;
/// Rows read from the store per round trip while a page is built, so memory stays bounded
/// by the budget plus one chunk whatever `limit` is.
const HISTORY_CHUNK: u32 = 50;

struct HistoryPage {
    /// A JSON array.
    body: String,
    /// The `before` of the next page, when there may be one.
    next_before: Option<i64>,
}

async fn history_page(
    state: &AppState,
    name: &DomainName,
    mut before: Option<i64>,
    limit: u32,
) -> Result<HistoryPage, ApiError> {
    let mut body = String::from("[");
    let mut taken = 0_u32;
    let mut last_id = None;
    loop {
        let want = (limit - taken).min(HISTORY_CHUNK);
        let rows = state.zones.history_of(name, before, want).await?;
        let exhausted = rows.len() < want as usize;
        for row in &rows {
            let json = history_json(row).to_string();
            if taken > 0 && body.len() + json.len() + 2 > HISTORY_PAGE_BYTES {
                return Ok(HistoryPage {
                    body: body + "]",
                    next_before: last_id,
                });
            }
            if taken > 0 {
                body.push(',');
            }
            body.push_str(&json);
            taken += 1;
            last_id = Some(row.id);
        }
        before = last_id;
        if exhausted {
            return Ok(HistoryPage {
                body: body + "]",
                next_before: None,
            });
        }
        if taken == limit {
            return Ok(HistoryPage {
                body: body + "]",
                next_before: last_id,
            });
        }
    }
}

fn token_json(t: &ddns_store::TokenRecord) -> Value {
    let hosts: Vec<String> = match &t.scope {
        Scope::Admin => Vec::new(),
        Scope::Hosts(entries) => entries.iter().map(ToString::to_string).collect(),
    };
    let r = &t.restrictions;
    json!({
        "id": t.id,
        "label": t.label,
        "admin": t.scope.is_admin(),
        "hosts": hosts,
        "types": r.types.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "subnets": r.subnets.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "expires_at": r.expires_at.map(rfc3339),
        "read_only": r.read_only,
        "last_used_at": t.last_used_at.map(rfc3339),
        "successor": t.successor,
        "created_at": t.created_at,
        "revoked_at": t.revoked_at,
    })
}

pub(crate) async fn list_tokens(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let principal = state.authenticate(peer, &headers).await?;
    require_admin(&principal)?;
    let tokens = state.zones.tokens().await?;
    Ok(Json(json!(
        tokens.iter().map(token_json).collect::<Vec<_>>()
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewToken {
    #[serde(default)]
    pub(crate) label: String,
    #[serde(default)]
    pub(crate) hosts: Vec<String>,
    #[serde(default)]
    pub(crate) admin: bool,
    /// Record types it may write (empty: any).
    #[serde(default)]
    types: Vec<String>,
    /// Client networks it may be used from (empty: any).
    #[serde(default)]
    subnets: Vec<String>,
    /// `90d` from now, or an RFC 3339 time.
    expires: Option<String>,
    #[serde(default)]
    read_only: bool,
}

/// The restrictions of a token to create, from the API's body.
fn restrictions(body: &NewToken) -> Result<Restrictions, ApiError> {
    let types = body
        .types
        .iter()
        .map(|t| parse_rtype(t))
        .collect::<Result<_, _>>()?;
    let subnets = body
        .subnets
        .iter()
        .map(|n| {
            n.parse::<ipnet::IpNet>()
                .or_else(|_| n.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| ApiError::bad_request(format!("subnet {n:?} is not a CIDR prefix")))
        })
        .collect::<Result<_, _>>()?;
    let expires_at = body
        .expires
        .as_deref()
        .map(|text| parse_moment(text, unix_now()).map_err(ApiError::bad_request))
        .transpose()?;
    Ok(Restrictions {
        types,
        subnets,
        expires_at,
        read_only: body.read_only,
    })
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

pub(crate) async fn create_token(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<NewToken>,
) -> Result<Response, ApiError> {
    let principal = state.authenticate_write(peer, &headers).await?;
    require_admin(&principal)?;
    let scope = if body.admin {
        Scope::Admin
    } else {
        if body.hosts.is_empty() {
            return Err(ApiError::bad_request(
                "a host token needs at least one entry in hosts",
            ));
        }
        Scope::Hosts(
            body.hosts
                .iter()
                .map(|h| {
                    ScopeEntry::parse(h).map_err(|e| {
                        ApiError::new(StatusCode::BAD_REQUEST, "notfqdn", format!("{h:?}: {e}"))
                    })
                })
                .collect::<Result<_, _>>()?,
        )
    };
    let restrictions = restrictions(&body)?;
    let token = state
        .zones
        .create_token(
            &body.label,
            &scope,
            &restrictions,
            principal.actor(),
            origin(peer, &headers, &state),
        )
        .await?;
    let record = state.zones.token(&token.id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "token vanished",
        )
    })?;
    let mut reply = token_json(&record);
    reply["token"] = Value::from(token.full);
    Ok((StatusCode::CREATED, Json(reply)).into_response())
}

pub(crate) async fn revoke_token(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let principal = state.authenticate_write(peer, &headers).await?;
    require_admin(&principal)?;
    state
        .zones
        .revoke_token(&id, principal.actor(), origin(peer, &headers, &state))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rotation {
    /// How long the old token keeps working (`7d`; default `0s`: it stops now).
    grace: Option<String>,
    /// A new expiry for the successor (default: the old token's).
    expires: Option<String>,
}

/// `POST /api/v1/tokens/{id}/rotate`: a successor with the same scope and restrictions; the
/// old token keeps working for the grace period.
pub(crate) async fn rotate_token(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Rotation>,
) -> Result<Response, ApiError> {
    let principal = state.authenticate_write(peer, &headers).await?;
    require_admin(&principal)?;
    let now = unix_now();
    let grace = body
        .grace
        .as_deref()
        .map_or(Ok(0), parse_seconds)
        .map_err(ApiError::bad_request)?;
    let expires_at = body
        .expires
        .as_deref()
        .map(|text| parse_moment(text, now).map_err(ApiError::bad_request))
        .transpose()?
        .map(Some);
    let (token, _old) = state
        .zones
        .rotate_token(
            &id,
            now.saturating_add(grace),
            expires_at,
            principal.actor(),
            origin(peer, &headers, &state),
        )
        .await?;
    let record = state.zones.token(&token.id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "token vanished",
        )
    })?;
    let mut reply = token_json(&record);
    reply["token"] = Value::from(token.full);
    Ok((StatusCode::CREATED, Json(reply)).into_response())
}
