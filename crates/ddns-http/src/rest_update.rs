//! `POST /update`: the simple REST update, form or JSON, with a bearer token.
//!
//! ```text
//! POST /update   Authorization: Bearer TOKEN
//! domain=home.dyn.example.com&ip=192.0.2.1          (or JSON {"domain": …, "ip": …})
//! → 200 {"status":"success","domain":"home.dyn.example.com","ip":"192.0.2.1","changed":true}
//! ```
//! `ip` takes addresses of either family (comma-separated), `ipv6` IPv6 ones, `txt` sets the
//! TXT record (an empty value removes it), `ttl` the TTL. With none of `ip`, `ipv6`, `txt`,
//! `views` the connection's address is used; a family that is not given is left alone.
//!
//! Split horizon: `views` sets each view's own addresses in the same transaction —
//! `{"views": {"lan": "192.168.1.10"}}` (or a list, either family; a family not listed is left
//! alone; `""` removes the view's own A and AAAA); in a form, `ip.lan=192.168.1.10`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::{Extension, Json};
use ddns_core::record::{parse_ipv4, parse_ipv6};
use ddns_core::{DomainName, Origin, Rtype};
use ddns_zones::RrsetIntent;
use serde::Deserialize;

use crate::AppState;
use crate::client::{client_ip, user_agent};
use crate::error::ApiError;
use crate::metrics::{Limit, rate_limited};
use crate::update_event::{Protocol, RequestId, UpdateEvent};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateBody {
    pub(crate) domain: String,
    ip: Option<String>,
    ipv6: Option<String>,
    txt: Option<String>,
    ttl: Option<u32>,
    views: Option<std::collections::BTreeMap<String, ViewValue>>,
}

/// A view's addresses as JSON takes them: one comma-separated string or a list.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum ViewValue {
    Text(String),
    List(Vec<String>),
}

impl ViewValue {
    fn joined(&self) -> String {
        match self {
            Self::Text(t) => t.clone(),
            Self::List(l) => l.join(","),
        }
    }
}

/// The handler: answers, then emits the request's update event.
pub(crate) async fn rest_update(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request_id: Option<Extension<RequestId>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut event = UpdateEvent {
        protocol: Protocol::Rest,
        request_id: request_id.map(|Extension(id)| id),
        client: client_ip(peer, &headers, &state.policy.trusted_proxies),
        token: None,
    };
    let mut name = None;
    let answer = answer(&state, peer, &headers, &body, &mut event, &mut name).await;
    let name = name.as_ref().map(DomainName::as_str);
    match &answer {
        Ok((_, changed)) => event.emit(name, if *changed { "good" } else { "nochg" }, None),
        Err(e) => event.emit(name, e.code, Some(&e.message)),
    }
    answer.map(|(reply, _)| reply)
}

async fn answer(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
    event: &mut UpdateEvent,
    parsed_name: &mut Option<DomainName>,
) -> Result<(Json<serde_json::Value>, bool), ApiError> {
    let principal = state.authenticate(peer, headers).await?;
    event.token = Some(principal.token_id.to_string());
    let body = parse_body(headers, body)?;
    let name = DomainName::parse(&body.domain).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "notfqdn",
            format!("domain {:?}: {e}", body.domain),
        )
    })?;
    *parsed_name = Some(name.clone());
    if name.label_count() < 2 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "notfqdn",
            format!("domain {:?} is not fully qualified", body.domain),
        ));
    }

    let (mut v4, mut v6): (Vec<Ipv4Addr>, Vec<Ipv6Addr>) = (Vec::new(), Vec::new());
    for item in body
        .ip
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if item.contains(':') {
            v6.push(parse_ipv6(item).map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_address", e.to_string())
            })?);
        } else {
            v4.push(parse_ipv4(item).map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_address", e.to_string())
            })?);
        }
    }
    for item in body
        .ipv6
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        v6.push(
            parse_ipv6(item).map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_address", e.to_string())
            })?,
        );
    }
    let client = event.client;
    let nothing_given =
        v4.is_empty() && v6.is_empty() && body.txt.is_none() && body.views.is_none();
    if nothing_given {
        match client {
            IpAddr::V4(a) => v4.push(
                parse_ipv4(&a.to_string()).map_err(|e| ApiError::bad_request(e.to_string()))?,
            ),
            IpAddr::V6(a) => v6.push(
                parse_ipv6(&a.to_string()).map_err(|e| ApiError::bad_request(e.to_string()))?,
            ),
        }
    }

    // Authorise before charging the rate limit: a name the caller may not change must not
    // spend its owner's limit (`update_rrsets` checks again).
    state
        .zones
        .authorize(&principal, std::slice::from_ref(&name))?;
    if let Err(wait) = state
        .limiter
        .check(&principal.token_id, std::slice::from_ref(&name))
    {
        rate_limited(Limit::PerHost);
        return Err(ApiError::rate_limited(wait));
    }
    if let Err(wait) = state.updates_per_token.check(&principal.token_id) {
        rate_limited(Limit::PerToken);
        return Err(ApiError::too_many_updates(wait));
    }

    let origin = Origin {
        source_ip: Some(client),
        user_agent: user_agent(headers),
    };
    // With `views` the request goes the general way, which refuses addresses of a failover
    // name in any view.
    let mut intents = Vec::new();
    let mut shown: Vec<String> = Vec::new();
    if !v4.is_empty() {
        shown.extend(v4.iter().map(ToString::to_string));
        intents.push(intent(
            &name,
            Rtype::A,
            v4.iter().map(ToString::to_string).collect(),
            body.ttl,
        ));
    }
    if !v6.is_empty() {
        shown.extend(v6.iter().map(ToString::to_string));
        intents.push(intent(
            &name,
            Rtype::AAAA,
            v6.iter().map(ToString::to_string).collect(),
            body.ttl,
        ));
    }
    for (view, value) in body.views.iter().flatten() {
        let (v4, v6) = ddns_core::dyndns2::view_addresses(&value.joined())
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_address", e.to_string()))?;
        let remove = v4.is_empty() && v6.is_empty();
        for (rtype, values) in [
            (
                Rtype::A,
                v4.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ),
            (Rtype::AAAA, v6.iter().map(ToString::to_string).collect()),
        ] {
            if remove || !values.is_empty() {
                intents.push(RrsetIntent {
                    name: name.clone(),
                    rtype,
                    values: (!remove).then_some(values),
                    ttl: body.ttl,
                    view: Some(view.clone()),
                });
            }
        }
    }
    match body.txt.as_deref() {
        Some("") => intents.push(RrsetIntent {
            name: name.clone(),
            rtype: Rtype::TXT,
            values: None,
            ttl: None,
            view: None,
        }),
        Some(text) => intents.push(intent(&name, Rtype::TXT, vec![text.to_owned()], body.ttl)),
        None => {}
    }
    let applied = state
        .zones
        .update_rrsets(&principal, &intents, None, origin)
        .await?;
    let changed = applied.changed.iter().any(|c| *c);
    let mut reply = serde_json::json!({
        "status": "success",
        "domain": name.as_str(),
        "ip": shown.join(","),
        "changed": changed,
    });
    if let Some(text) = &body.txt {
        reply["txt"] = serde_json::Value::from(text.as_str());
    }
    Ok((Json(reply), changed))
}

fn intent(name: &DomainName, rtype: Rtype, values: Vec<String>, ttl: Option<u32>) -> RrsetIntent {
    RrsetIntent {
        name: name.clone(),
        rtype,
        values: Some(values),
        ttl,
        view: None,
    }
}

impl From<ddns_core::RecordError> for ApiError {
    fn from(e: ddns_core::RecordError) -> Self {
        Self::bad_request(e.to_string())
    }
}

pub(crate) fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<UpdateBody, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/x-www-form-urlencoded");
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/json" => serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}"))),
        "application/x-www-form-urlencoded" | "" => {
            let mut out = UpdateBody::default();
            let mut domain = None;
            for (key, value) in form_urlencoded::parse(body) {
                let value = value.into_owned();
                match key.as_ref() {
                    "domain" => domain = Some(value),
                    "ip" => out.ip = Some(value),
                    "ipv6" => out.ipv6 = Some(value),
                    "txt" => out.txt = Some(value),
                    view if view.starts_with("ip.") => {
                        out.views
                            .get_or_insert_with(Default::default)
                            .insert(view["ip.".len()..].to_owned(), ViewValue::Text(value));
                    }
                    "ttl" => {
                        out.ttl = Some(value.parse().map_err(|_| {
                            ApiError::bad_request(format!("ttl {value:?} is not a number"))
                        })?);
                    }
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "unknown field {other:?} (expected domain, ip, ipv6, txt, ttl, ip.VIEW)"
                        )));
                    }
                }
            }
            out.domain = domain.ok_or_else(|| {
                ApiError::new(StatusCode::BAD_REQUEST, "notfqdn", "missing field domain")
            })?;
            Ok(out)
        }
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_request",
            format!("content type {other:?} is not accepted; send a form or JSON"),
        )),
    }
}
