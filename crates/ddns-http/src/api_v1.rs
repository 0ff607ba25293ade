//! `/api/v1`: hosts, their record sets, their history, tokens and zones.
//!
//! A host's `version` is its ETag. Writers send `If-Match: "<version>"` and get 412 when
//! someone changed the host in between, so two writers never silently overwrite each other.
//! Host tokens see and change the hosts of their scope; admin tokens manage everything.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ddns_core::{DomainName, Origin, RecordData, RecordType, Scope, ScopeEntry};
use ddns_store::{HistoryRow, HostRecord};
use ddns_zones::{Principal, RrsetIntent};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::client::{client_ip, user_agent};
use crate::error::ApiError;

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
            "type": s.data.rtype().as_str(),
            "ttl": s.ttl,
            "values": s.data.to_strings(),
        })).collect::<Vec<_>>(),
        "created_at": host.created_at,
        "updated_at": host.updated_at,
    })
}

fn history_json(row: &HistoryRow) -> Value {
    let set = |s: &Option<ddns_core::RecordSet>| {
        s.as_ref()
            .map(|s| json!({"ttl": s.ttl, "values": s.data.to_strings()}))
    };
    json!({
        "id": row.id,
        "at": row.at,
        "zone": row.zone.as_str(),
        "name": row.name.as_str(),
        "type": row.rtype.as_str(),
        "old": set(&row.old),
        "new": set(&row.new),
        "serial": row.serial.0,
        "actor": row.actor,
        "source_ip": row.source_ip.map(|ip| ip.to_string()),
        "user_agent": row.user_agent,
    })
}

fn with_etag(status: StatusCode, host: &HostRecord) -> Response {
    let mut response = (status, Json(host_json(host))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", host.version)) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

fn parse_name(text: &str) -> Result<DomainName, ApiError> {
    DomainName::parse(text)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "notfqdn", format!("{text:?}: {e}")))
}

fn require_admin(principal: &Principal) -> Result<(), ApiError> {
    if principal.scope.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden("this needs an admin token"))
    }
}

fn require_scope(principal: &Principal, name: &DomainName) -> Result<(), ApiError> {
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
        .store()
        .host(name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("host {name} does not exist")))
}

fn origin(peer: SocketAddr, headers: &HeaderMap, state: &AppState) -> Origin {
    Origin {
        source_ip: Some(client_ip(peer, headers, &state.policy.trusted_proxies)),
        user_agent: user_agent(headers),
    }
}

pub(crate) async fn list_zones(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    state.authenticate(&headers).await?;
    let snapshot = state.zones.snapshot();
    let zones: Vec<Value> = state
        .zones
        .configs()
        .iter()
        .map(|z| {
            let serial = snapshot.get(&z.name).map(|s| s.serial().0);
            json!({"name": z.name.as_str(), "serial": serial, "ttl": z.dynamic_ttl, "ns": z.ns.iter().map(DomainName::as_str).collect::<Vec<_>>()})
        })
        .collect();
    Ok(Json(json!(zones)))
}

pub(crate) async fn export_zone(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(zone): Path<String>,
) -> Result<Response, ApiError> {
    let principal = state.authenticate(&headers).await?;
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

pub(crate) async fn list_hosts(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let principal = state.authenticate(&headers).await?;
    let hosts = state.zones.store().hosts().await?;
    Ok(Json(json!(
        hosts
            .iter()
            .filter(|h| principal.scope.permits(&h.name))
            .map(host_json)
            .collect::<Vec<_>>()
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewHost {
    name: String,
}

pub(crate) async fn create_host(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Json(body): Json<NewHost>,
) -> Result<Response, ApiError> {
    let principal = state.authenticate(&headers).await?;
    let name = parse_name(&body.name)?;
    state
        .zones
        .authorize(&principal, std::slice::from_ref(&name))?;
    if state.zones.store().host(&name).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("host {name} already exists"),
        ));
    }
    state
        .zones
        .register_hosts(std::slice::from_ref(&name), principal.actor())
        .await?;
    let host = load_host(&state, &name).await?;
    Ok(with_etag(StatusCode::CREATED, &host))
}

pub(crate) async fn get_host(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let principal = state.authenticate(&headers).await?;
    let name = parse_name(&name)?;
    require_scope(&principal, &name)?;
    Ok(with_etag(StatusCode::OK, &load_host(&state, &name).await?))
}

pub(crate) async fn delete_host(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let principal = state.authenticate(&headers).await?;
    let name = parse_name(&name)?;
    require_scope(&principal, &name)?;
    let current = state.zones.store().host(&name).await?.map(|h| h.version);
    let expected = if_match(&headers, current)?;
    state
        .zones
        .delete_host(&principal, &name, expected, origin(peer, &headers, &state))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RrsetBody {
    ttl: Option<u32>,
    values: Vec<String>,
}

pub(crate) async fn put_rrset(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((name, rtype)): Path<(String, String)>,
    Json(body): Json<RrsetBody>,
) -> Result<Response, ApiError> {
    let rtype = RecordType::parse(&rtype)?;
    let data = RecordData::parse(rtype, &body.values)?;
    change_rrset(&state, peer, &headers, &name, rtype, Some(data), body.ttl).await
}

pub(crate) async fn delete_rrset(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((name, rtype)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let rtype = RecordType::parse(&rtype)?;
    change_rrset(&state, peer, &headers, &name, rtype, None, None).await
}

async fn change_rrset(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    name: &str,
    rtype: RecordType,
    data: Option<RecordData>,
    ttl: Option<u32>,
) -> Result<Response, ApiError> {
    let principal = state.authenticate(headers).await?;
    let name = parse_name(name)?;
    require_scope(&principal, &name)?;
    let current = state.zones.store().host(&name).await?.map(|h| h.version);
    if data.is_none() && current.is_none() {
        return Err(ApiError::not_found(format!("host {name} does not exist")));
    }
    let expected = if_match(headers, current)?;
    let intent = RrsetIntent {
        name: name.clone(),
        rtype,
        data,
        ttl,
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
pub(crate) struct HistoryQuery {
    limit: Option<u32>,
}

pub(crate) async fn host_history(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    let principal = state.authenticate(&headers).await?;
    let name = parse_name(&name)?;
    require_scope(&principal, &name)?;
    let rows = state
        .zones
        .store()
        .history_of(&name, query.limit.unwrap_or(100).min(1000))
        .await?;
    Ok(Json(json!(
        rows.iter().map(history_json).collect::<Vec<_>>()
    )))
}

fn token_json(t: &ddns_store::TokenRecord) -> Value {
    let hosts: Vec<String> = match &t.scope {
        Scope::Admin => Vec::new(),
        Scope::Hosts(entries) => entries.iter().map(ToString::to_string).collect(),
    };
    json!({"id": t.id, "label": t.label, "admin": t.scope.is_admin(), "hosts": hosts, "created_at": t.created_at, "revoked_at": t.revoked_at})
}

pub(crate) async fn list_tokens(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let principal = state.authenticate(&headers).await?;
    require_admin(&principal)?;
    let tokens = state.zones.store().tokens().await?;
    Ok(Json(json!(
        tokens.iter().map(token_json).collect::<Vec<_>>()
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewToken {
    #[serde(default)]
    label: String,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    admin: bool,
}

pub(crate) async fn create_token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Json(body): Json<NewToken>,
) -> Result<Response, ApiError> {
    let principal = state.authenticate(&headers).await?;
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
    let token =
        ddns_zones::create_token(state.zones.store(), &body.label, &scope, principal.actor())
            .await?;
    let record = state.zones.store().token(&token.id).await?.ok_or_else(|| {
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
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let principal = state.authenticate(&headers).await?;
    require_admin(&principal)?;
    state.zones.store().revoke_token(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
