//! `/api/v1/audit` (the audit trail: record changes and administrative actions merged by time,
//! for admin tokens) and `POST /api/v1/hosts/{name}/rollback` (a host brought back to what it
//! held right after one of its history rows, as a new change).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ddns_zones::{AdminRow, AuditCursor, AuditEntry, AuditQuery, parse_since};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::api_v1::{
    HISTORY_PAGE_BYTES, history_json, origin, parse_name, require_admin, require_scope, with_etag,
};
use crate::error::ApiError;

/// Entries per page unless `limit` says fewer, and the most per page.
const AUDIT_PAGE: u32 = 100;
const AUDIT_PAGE_MAX: u32 = 1000;
/// Entries read from the store per round trip while a page is built (see `history_page`).
const AUDIT_CHUNK: u32 = 50;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditParams {
    /// RFC 3339 time or a duration back from now.
    since: Option<String>,
    actor: Option<String>,
    limit: Option<u32>,
    /// The `cursor` of the last entry of the previous page.
    after: Option<String>,
}

fn admin_json(row: &AdminRow) -> Value {
    json!({
        "kind": "admin",
        "id": row.id,
        "at": row.at,
        "actor": row.actor,
        "action": row.action,
        "target": row.target,
        "source_ip": row.source_ip.map(|ip| ip.to_string()),
        "user_agent": row.user_agent,
        "detail": row.detail,
    })
}

pub(crate) fn entry_json(entry: &AuditEntry) -> Value {
    let mut value = match entry {
        AuditEntry::Change(row) => {
            let mut v = history_json(row);
            v["kind"] = Value::from("change");
            v
        }
        AuditEntry::Admin(row) => admin_json(row),
    };
    value["cursor"] = Value::from(entry.cursor().to_string());
    value
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `GET /api/v1/audit?since=…&actor=…&limit=N&after=CURSOR`: oldest first; a full page links
/// to the next with `Link: <…>; rel="next"`. Pages are capped in entries and in bytes, like
/// history pages.
pub(crate) async fn audit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(params): Query<AuditParams>,
) -> Result<Response, ApiError> {
    let principal = state.authenticate(peer, &headers).await?;
    require_admin(&principal)?;
    let since = params
        .since
        .as_deref()
        .map(|s| parse_since(s, std::time::SystemTime::now()))
        .transpose()
        .map_err(ApiError::bad_request)?;
    let after = params
        .after
        .as_deref()
        .map(|a| {
            AuditCursor::parse(a).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "after {a:?} is not a cursor this API gave out (an entry's \"cursor\")"
                ))
            })
        })
        .transpose()?;
    let limit = params.limit.unwrap_or(AUDIT_PAGE).clamp(1, AUDIT_PAGE_MAX);
    let mut query = AuditQuery {
        since,
        actor: params.actor.clone(),
        after,
        limit: 0,
    };
    let mut body = String::from("[");
    let mut taken = 0_u32;
    let mut last: Option<AuditCursor> = None;
    let mut full = false;
    'pages: loop {
        query.limit = (limit - taken).min(AUDIT_CHUNK);
        let entries = state.zones.audit(&query).await?;
        let exhausted = entries.len() < query.limit as usize;
        for entry in &entries {
            let json = entry_json(entry).to_string();
            if taken > 0 && body.len() + json.len() + 2 > HISTORY_PAGE_BYTES {
                full = true;
                break 'pages;
            }
            if taken > 0 {
                body.push(',');
            }
            body.push_str(&json);
            taken += 1;
            last = Some(entry.cursor());
        }
        query.after = last.clone();
        if exhausted {
            break;
        }
        if taken == limit {
            full = true;
            break;
        }
    }
    body.push(']');
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    if full && let Some(last) = last {
        let mut next = format!(
            "/api/v1/audit?limit={limit}&after={}",
            encode(&last.to_string())
        );
        if let Some(since) = &params.since {
            next.push_str(&format!("&since={}", encode(since)));
        }
        if let Some(actor) = &params.actor {
            next.push_str(&format!("&actor={}", encode(actor)));
        }
        if let Ok(link) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")) {
            response.headers_mut().insert(header::LINK, link);
        }
    }
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RollbackBody {
    /// The history row whose state to restore.
    to: i64,
}

/// `POST /api/v1/hosts/{name}/rollback {"to": ID}`: the host as it was right after history
/// row `ID`, written as a new change; answers the host with its new ETag.
pub(crate) async fn rollback(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Json(body): Json<RollbackBody>,
) -> Result<Response, ApiError> {
    let principal = state.authenticate_write(peer, &headers).await?;
    let name = parse_name(&name)?;
    require_scope(&principal, &name)?;
    state
        .zones
        .rollback_host(&principal, &name, body.to, origin(peer, &headers, &state))
        .await?;
    match state.zones.host(&name).await? {
        Some(host) => Ok(with_etag(StatusCode::OK, &host)),
        // Rolled back to before the host had anything: nothing left to show.
        None => Ok((
            StatusCode::OK,
            Json(json!({"name": name.as_str(), "records": []})),
        )
            .into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_values_are_encoded() {
        assert_eq!(
            encode("2026-12-03T09:00:00Z/a4"),
            "2026-12-03T09%3A00%3A00Z%2Fa4"
        );
        assert_eq!(encode("token:ab_c"), "token%3Aab_c");
    }
}
