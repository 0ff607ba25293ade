//! Huawei Cloud DNS (云解析服务, public zones), signed with AK/SK SDK-HMAC-SHA256.
//!
//! ```text
//! GET https://dns.myhuaweicloud.com/v2.1/zones/{zone_id}/recordsets?limit=500&name=home.example.com.&offset=0&search_mode=equal
//! Content-Type: application/json   X-Sdk-Date: 20260101T000000Z
//! Authorization: SDK-HMAC-SHA256 Access=AK, SignedHeaders=content-type;host;x-sdk-date, Signature=…
//!
//! 200 {"recordsets":[{"id":"…","name":"home.example.com.","type":"A","ttl":300,
//!      "records":["192.0.2.1"],"line":"default_view","status":"ACTIVE",…}],"metadata":{"total_count":1}}
//! 401 {"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information: …","request_id":"…"}
//! 400 {"code":"DNS.0312","message":"…"}
//! ```
//! A publish is: `GET /v2/zones?type=public` once per hostname (cached) for the zone by longest
//! suffix, one `GET /v2.1/zones/{id}/recordsets` for the name (exact match, both families),
//! then `POST` (create) or `PUT` (replace) of the one record set per family and line that
//! holds *all* of its addresses — Huawei keeps several values in one record set. Writes answer
//! `202 Accepted`. Names come back lower-case with a trailing dot and are compared as names.
//!
//! Public zones are a global resource: the default endpoint `dns.myhuaweicloud.com` serves
//! them; `region` picks `dns.{region}.myhuaweicloud.com` instead (e.g. `cn-north-4`, or
//! `ap-southeast-1` for the international site), and `endpoint` overrides both.

use std::fmt;
use std::net::IpAddr;

use async_trait::async_trait;
use ddns_core::DomainName;
use reqwest::{Method, StatusCode, Url, header};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cloud::{self, RecordType};
use crate::http::{self, Reply};
use crate::outcome::{FatalKind, Outcome};
use crate::provider::{Capabilities, Provider, Update};
use crate::signing::{
    CanonicalRequest, canonical_query, huawei_canonical_uri, sdk_hmac_sha256_authorization,
    sha256_hex,
};
use crate::spec::{BuildContext, ProviderConfigError, Secret, require};
use crate::zone_split::{Zone, ZoneCache, longest_match, no_zone, parse_zone_name};

const GLOBAL_ENDPOINT: &str = "https://dns.myhuaweicloud.com/";
const SERVICE: &str = "Huawei Cloud DNS";
const CONTENT_TYPE: &str = "application/json";
/// The most zones and record sets one list call returns.
const PAGE_SIZE: usize = 500;
const MAX_PAGES: usize = 20;

/// `type = "huaweicloud"`: Huawei Cloud DNS.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HuaweicloudSpec {
    /// The Access Key ID (AK) of an IAM user allowed to manage the zone's record sets.
    pub access_key: Secret,
    /// Its Secret Access Key (SK).
    pub secret_key: Secret,
    /// The region whose endpoint to use (`dns.{region}.myhuaweicloud.com`); unset, the global
    /// endpoint `dns.myhuaweicloud.com`.
    #[serde(default)]
    pub region: Option<String>,
    /// Replaces the endpoint `region` would give.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The resolution line of the record sets; `default_view` unless set.
    #[serde(default)]
    pub line: Option<String>,
    /// The TTL of record sets this provider writes when the record sets none (Huawei's
    /// default is 300); record sets it does not change keep theirs.
    #[serde(default)]
    pub ttl: Option<u32>,
}

impl HuaweicloudSpec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<HuaweicloudProvider, ProviderConfigError> {
        require(
            &self.access_key,
            "access_key",
            "create an access key for an IAM user (My Credentials → Access Keys)",
        )?;
        require(
            &self.secret_key,
            "secret_key",
            "give the secret access key from the credentials file of the access key",
        )?;
        let regional;
        let default = match self.region.as_deref().map(str::trim) {
            None => GLOBAL_ENDPOINT,
            Some(region) => {
                if region.is_empty()
                    || !region
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                {
                    return Err(ProviderConfigError::BadUrl {
                        field: "region",
                        reason: format!(
                            "{region:?} is not a Huawei Cloud region id such as \"cn-north-4\""
                        ),
                    });
                }
                regional = format!("https://dns.{region}.myhuaweicloud.com/");
                regional.as_str()
            }
        };
        let base = cloud::endpoint_url(self.endpoint.as_deref(), default)?;
        let line = cloud::line(self.line.as_deref(), "default_view")?;
        http::warn_if_cleartext(&base, "huaweicloud");
        Ok(HuaweicloudProvider {
            client: http::client(http::USER_AGENT, &context.http)?,
            endpoint: http::endpoint(&base),
            base,
            access_key: self.access_key.clone(),
            secret_key: self.secret_key.clone(),
            line,
            ttl: self.ttl,
            zones: ZoneCache::new(),
        })
    }
}

/// Huawei Cloud DNS.
pub struct HuaweicloudProvider {
    client: reqwest::Client,
    base: Url,
    endpoint: String,
    access_key: Secret,
    secret_key: Secret,
    line: String,
    ttl: Option<u32>,
    /// Zones by id.
    zones: ZoneCache<String>,
}

impl fmt::Debug for HuaweicloudProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HuaweicloudProvider")
            .field("endpoint", &self.base.as_str())
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ZonesPage {
    #[serde(default)]
    zones: Vec<ZoneItem>,
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct ZoneItem {
    id: String,
    name: String,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    total_count: usize,
}

#[derive(Deserialize)]
struct RecordSetsPage {
    #[serde(default)]
    recordsets: Vec<RecordSet>,
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct RecordSet {
    id: String,
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(default)]
    ttl: Option<u32>,
    #[serde(default)]
    records: Vec<String>,
    #[serde(default)]
    line: Option<String>,
}

/// Huawei's two error shapes: the DNS service's and the API gateway's.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default, alias = "error_code")]
    code: Option<String>,
    #[serde(default, alias = "error_msg")]
    message: Option<String>,
}

#[async_trait]
impl Provider for HuaweicloudProvider {
    fn name(&self) -> &str {
        "huaweicloud"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            ipv4: true,
            ipv6: true,
            address_lists: true,
            ttl: true,
            keeps_omitted_family: true,
        }
    }

    async fn publish(&self, update: &Update) -> Outcome {
        match self.reconcile(update).await {
            Ok(changed) => Outcome::Published { changed },
            Err(outcome) => {
                self.zones.forget();
                outcome
            }
        }
    }
}

impl HuaweicloudProvider {
    async fn reconcile(&self, update: &Update) -> Result<bool, Outcome> {
        let wanted = cloud::wanted(update);
        if wanted.is_empty() {
            return Ok(false);
        }
        let host = &update.hostname;
        let (zone, _) = self.zone_of(host).await?;
        let sets = self.record_sets(&zone.id, host).await?;
        let ttl = update.ttl.or(self.ttl);
        let mut changed = false;
        for (rtype, desired) in wanted {
            let existing = sets.iter().find(|s| {
                RecordType::parse(&s.rtype) == Some(rtype)
                    && parse_zone_name(&s.name).as_ref() == Some(host)
                    && s.line.as_deref().unwrap_or("default_view") == self.line
            });
            let records: Vec<String> = desired.iter().map(IpAddr::to_string).collect();
            let sets_path = format!("/v2.1/zones/{}/recordsets", zone.id);
            match existing {
                None => {
                    let mut body = json!({
                        "name": host.to_fqdn(),
                        "type": rtype.as_str(),
                        "records": records,
                        "line": self.line,
                    });
                    if let Some(ttl) = ttl {
                        body["ttl"] = json!(ttl);
                    }
                    self.call(Method::POST, &sets_path, &[], Some(&body))
                        .await?;
                }
                Some(set)
                    if cloud::same_addresses(&set.records, &desired)
                        && ttl.is_none_or(|t| set.ttl == Some(t)) =>
                {
                    continue;
                }
                Some(set) => {
                    let mut body = json!({
                        "name": host.to_fqdn(),
                        "type": rtype.as_str(),
                        "records": records,
                    });
                    if let Some(ttl) = ttl.or(set.ttl) {
                        body["ttl"] = json!(ttl);
                    }
                    let path = format!("{sets_path}/{}", set.id);
                    self.call(Method::PUT, &path, &[], Some(&body)).await?;
                }
            }
            tracing::info!(host = %host, rtype = rtype.as_str(), records = ?records, "huaweicloud record set written");
            changed = true;
        }
        Ok(changed)
    }

    async fn zone_of(&self, host: &DomainName) -> Result<(Zone<String>, String), Outcome> {
        if let Some(hit) = self.zones.get(host) {
            return Ok(hit);
        }
        let mut zones = Vec::new();
        for page in 0..MAX_PAGES {
            let body = self
                .call(
                    Method::GET,
                    "/v2/zones",
                    &[
                        ("type", "public".to_owned()),
                        ("limit", PAGE_SIZE.to_string()),
                        ("offset", (page * PAGE_SIZE).to_string()),
                    ],
                    None,
                )
                .await?;
            let reply: ZonesPage = cloud::decode(SERVICE, &self.endpoint, "zone list", &body)?;
            let got = reply.zones.len();
            zones.extend(reply.zones.into_iter().filter_map(|z| {
                Some(Zone {
                    name: parse_zone_name(&z.name)?,
                    id: z.id,
                })
            }));
            let total = reply.metadata.map_or(0, |m| m.total_count);
            if got < PAGE_SIZE || (page + 1) * PAGE_SIZE >= total {
                break;
            }
        }
        let Some((zone, rr)) = longest_match(host, &zones) else {
            return Err(no_zone(SERVICE, "access key", host, &zones));
        };
        self.zones.put(host, zone, &rr);
        Ok((zone.clone(), rr))
    }

    /// Every record set of the name (all types and lines), across pages.
    async fn record_sets(
        &self,
        zone_id: &str,
        host: &DomainName,
    ) -> Result<Vec<RecordSet>, Outcome> {
        let path = format!("/v2.1/zones/{zone_id}/recordsets");
        let mut sets = Vec::new();
        for page in 0..MAX_PAGES {
            let body = self
                .call(
                    Method::GET,
                    &path,
                    &[
                        ("name", host.to_fqdn()),
                        ("search_mode", "equal".to_owned()),
                        ("limit", PAGE_SIZE.to_string()),
                        ("offset", (page * PAGE_SIZE).to_string()),
                    ],
                    None,
                )
                .await?;
            let reply: RecordSetsPage =
                cloud::decode(SERVICE, &self.endpoint, "record set list", &body)?;
            let got = reply.recordsets.len();
            sets.extend(reply.recordsets);
            let total = reply.metadata.map_or(0, |m| m.total_count);
            if got < PAGE_SIZE || (page + 1) * PAGE_SIZE >= total {
                break;
            }
        }
        Ok(sets)
    }

    /// Sends one signed request to `path` (below the endpoint's path) and returns the body of
    /// a successful reply.
    async fn call(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<String, Outcome> {
        let mut url = self.base.clone();
        url.set_path(&format!("{}{path}", self.base.path().trim_end_matches('/')));
        let query = canonical_query(params);
        url.set_query((!query.is_empty()).then_some(query.as_str()));
        let payload = body.map(Value::to_string).unwrap_or_default();
        let date = cloud::utc_now(cloud::BASIC_SECONDS);
        let host = cloud::host_header(&url);
        let canonical = CanonicalRequest::new(
            method.as_str(),
            &huawei_canonical_uri(url.path()),
            &query,
            &[
                ("content-type", CONTENT_TYPE),
                ("host", &host),
                ("x-sdk-date", &date),
            ],
            &sha256_hex(payload.as_bytes()),
        );
        let authorization = sdk_hmac_sha256_authorization(
            self.access_key.expose(),
            self.secret_key.expose(),
            &date,
            &canonical,
        );
        let what = format!("{method} {path}");
        let mut request = self
            .client
            .request(method, url)
            .header(header::CONTENT_TYPE, CONTENT_TYPE)
            .header("X-Sdk-Date", &date)
            .header(header::AUTHORIZATION, authorization);
        if body.is_some() {
            request = request.body(payload);
        }
        tracing::debug!(request = %what, endpoint = %self.endpoint, "huaweicloud request");
        let reply = http::send(request, &self.endpoint).await?;
        if reply.status.is_success() {
            return Ok(reply.body);
        }
        Err(self.classify(&what, &reply))
    }

    fn classify(&self, what: &str, reply: &Reply) -> Outcome {
        let parsed: Option<ErrorBody> = serde_json::from_str::<Value>(&reply.body)
            .ok()
            .map(|v| v.get("error").cloned().unwrap_or(v))
            .and_then(|v| serde_json::from_value(v).ok());
        let Some(ErrorBody {
            code: Some(code),
            message,
        }) = parsed
        else {
            return http::generic_status(reply, &self.endpoint, "endpoint").unwrap_or_else(|| {
                Outcome::fatal(
                    FatalKind::Config,
                    format!(
                        "{} answered {what} with HTTP {} and no Huawei Cloud error: check the endpoint and region settings",
                        self.endpoint, reply.status
                    ),
                )
            });
        };
        let says = cloud::vendor_says(
            &code,
            message.as_deref().unwrap_or_default(),
            &[&self.access_key, &self.secret_key],
        );
        classify_error(what, reply, &code, &says, self.ttl, &self.line)
    }
}

/// Maps a Huawei Cloud error onto the agent's classes (API Gateway error codes and the DNS
/// API's error code list; providers.md §4.3).
fn classify_error(
    what: &str,
    reply: &Reply,
    code: &str,
    says: &str,
    ttl: Option<u32>,
    line: &str,
) -> Outcome {
    let transient = |reason: String| Outcome::Transient {
        reason,
        retry_after: reply.retry_after,
    };
    let fatal = Outcome::fatal;
    let lower = says.to_ascii_lowercase();
    match code {
        "APIGW.0301" | "APIGW.0101" | "DNS.0005" | "DNS.0040" => {
            if ["x-sdk-date", "expire", "timestamp", "clock"]
                .iter()
                .any(|w| lower.contains(w))
            {
                transient(format!(
                    "{SERVICE} refused the request time ({says}): this computer's clock is more than 15 minutes off; sync it (NTP)"
                ))
            } else if lower.contains("not exist") || lower.contains("not found") {
                fatal(
                    FatalKind::Auth,
                    format!("{SERVICE} does not know this access key ({says}): check access_key"),
                )
            } else {
                fatal(
                    FatalKind::Auth,
                    format!(
                        "{SERVICE} refused the access key or its signature ({says}): check access_key and secret_key; secret_key must be the secret access key of access_key"
                    ),
                )
            }
        }
        "APIGW.0302" | "APIGW.0305" | "APIGW.0306" | "DNS.0013" | "DNS.0030" => fatal(
            FatalKind::Auth,
            format!(
                "the access key has no permission DNS FullAccess (needed for {what}) ({says}): grant it to the IAM user's group in the IAM console"
            ),
        ),
        "APIGW.0308" | "DNS.0014" | "DNS.0021" => {
            transient(format!("{SERVICE} asks to slow down ({says})"))
        }
        "DNS.0101" | "DNS.0302" | "DNS.0201" => fatal(
            FatalKind::Host,
            format!(
                "the zone is not in the account of this access key ({says}): add it in the {SERVICE} console, or use the access key of the account that holds it"
            ),
        ),
        "DNS.0312" | "DNS.0335" | "DNS.0004" | "DNS.0313" => transient(format!(
            "the record sets changed while they were being updated ({says}); they are read again on the next attempt"
        )),
        "DNS.0319" => fatal(
            FatalKind::Config,
            format!(
                "{SERVICE} refused the TTL {} ({says}): set ttl between 1 and 2147483647",
                ttl.map_or_else(|| "asked for".to_owned(), |t| t.to_string())
            ),
        ),
        c if c.starts_with("DNS.") && lower.contains("line") => fatal(
            FatalKind::Config,
            format!(
                "{SERVICE} refused the line {line:?} ({says}): set line to a resolution line of the zone, such as \"default_view\""
            ),
        ),
        _ if reply.status == StatusCode::TOO_MANY_REQUESTS || reply.status.is_server_error() => {
            transient(format!("{SERVICE} answered HTTP {} ({says})", reply.status))
        }
        _ if reply.status == StatusCode::UNAUTHORIZED => fatal(
            FatalKind::Auth,
            format!("{SERVICE} refused the credentials ({says}): check access_key and secret_key"),
        ),
        _ if reply.status == StatusCode::FORBIDDEN => fatal(
            FatalKind::Auth,
            format!(
                "the access key has no permission DNS FullAccess (needed for {what}) ({says}): grant it in the IAM console"
            ),
        ),
        _ => fatal(
            FatalKind::Config,
            format!("{SERVICE} refused {what} ({says})"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(status: u16, code: &str, message: &str) -> Outcome {
        let reply = Reply {
            status: StatusCode::from_u16(status).unwrap(),
            retry_after: None,
            location: None,
            link: None,
            body: String::new(),
        };
        classify_error(
            "PUT /v2.1/zones/z/recordsets/r",
            &reply,
            code,
            &format!("{code}: {message}"),
            None,
            "default_view",
        )
    }

    #[test]
    fn error_codes_map_onto_classes() {
        for (status, code, message, kind) in [
            (
                401,
                "APIGW.0301",
                "Incorrect IAM authentication information: verify aksk signature fail",
                FatalKind::Auth,
            ),
            (
                401,
                "APIGW.0301",
                "Incorrect IAM authentication information: ak ABC not exist",
                FatalKind::Auth,
            ),
            (
                403,
                "APIGW.0302",
                "The IAM user is forbidden",
                FatalKind::Auth,
            ),
            (403, "DNS.0013", "No permission", FatalKind::Auth),
            (404, "DNS.0101", "The zone does not exist", FatalKind::Host),
            (400, "DNS.0319", "Invalid TTL", FatalKind::Config),
            (400, "DNS.9999", "something", FatalKind::Config),
        ] {
            match class(status, code, message) {
                Outcome::Fatal { kind: k, .. } => assert_eq!(k, kind, "{code} {message}"),
                other => panic!("{code}: {other:?}"),
            }
        }
        for (status, code, message) in [
            (
                429,
                "APIGW.0308",
                "The throttling threshold has been reached",
            ),
            (403, "DNS.0014", "Request forbidden by flow control"),
            (
                401,
                "APIGW.0301",
                "Incorrect IAM authentication information: x-sdk-date expired",
            ),
            (400, "DNS.0312", "Attribute 'name' conflicts"),
            (500, "DNS.0001", "internal"),
        ] {
            assert!(
                matches!(class(status, code, message), Outcome::Transient { .. }),
                "{code} {message}"
            );
        }
    }
}
