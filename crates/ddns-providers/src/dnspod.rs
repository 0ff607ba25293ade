//! Tencent Cloud DNSPod (API 3.0, version 2021-03-23), signed with TC3-HMAC-SHA256.
//!
//! ```text
//! POST https://dnspod.tencentcloudapi.com/
//! Content-Type: application/json; charset=utf-8    X-TC-Action: DescribeRecordList
//! X-TC-Version: 2021-03-23   X-TC-Timestamp: 1767225600   Authorization: TC3-HMAC-SHA256 …
//! {"Domain":"example.com","Subdomain":"home","Offset":0,"Limit":3000}
//!
//! 200 {"Response":{"RecordCountInfo":{"TotalCount":1,…},"RecordList":[{"RecordId":162,
//!      "Name":"home","Type":"A","Value":"192.0.2.1","Line":"默认","TTL":600,…}],"RequestId":"…"}}
//! 200 {"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"…"},"RequestId":"…"}}
//! ```
//! Errors come with HTTP 200 and `Response.Error`; an empty list is the error
//! `ResourceNotFound.NoDataOfRecord`, read here as "no records". `DescribeRecordList` filters
//! with `Subdomain` while `CreateRecord`/`ModifyRecord` take `SubDomain`, and an omitted
//! `SubDomain` means the apex, so it is always sent.
//!
//! A publish is: `DescribeDomainList` once per hostname (cached) for the zone by longest suffix,
//! one `DescribeRecordList` for the name (both families), then `CreateRecord` / `ModifyRecord` /
//! `DeleteRecord` only where the records of the configured line (`默认` by default) differ.
//! SecretId/SecretKey are Tencent Cloud API keys (CAM), not the legacy "DNSPod Token".

use std::fmt;

use async_trait::async_trait;
use ddns_core::DomainName;
use reqwest::{Url, header};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cloud::{self, Existing, RecordType, Step};
use crate::http::{self, Reply};
use crate::outcome::{FatalKind, Outcome};
use crate::provider::{Capabilities, Provider, Update};
use crate::signing::{CanonicalRequest, sha256_hex, tc3_authorization};
use crate::spec::{BuildContext, ProviderConfigError, Secret, require};
use crate::zone_split::{Zone, ZoneCache, longest_match, no_zone, parse_zone_name};

const DEFAULT_ENDPOINT: &str = "https://dnspod.tencentcloudapi.com/";
const API_VERSION: &str = "2021-03-23";
/// The service name in the TC3 credential scope.
const SIGNING_SERVICE: &str = "dnspod";
const SERVICE: &str = "DNSPod";
/// What is signed and sent as the body's type; TC3 signs the header byte for byte.
const CONTENT_TYPE: &str = "application/json; charset=utf-8";
/// The most `DescribeDomainList` and `DescribeRecordList` return per call.
const PAGE_SIZE: usize = 3000;
const MAX_PAGES: usize = 20;

/// `type = "dnspod"`: Tencent Cloud DNSPod.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnspodSpec {
    /// The SecretId of a Tencent Cloud API key (CAM), not a DNSPod Token ID.
    pub secret_id: Secret,
    /// Its SecretKey.
    pub secret_key: Secret,
    /// Replaces `https://dnspod.tencentcloudapi.com/` (the international site is
    /// `https://dnspod.intl.tencentcloudapi.com/`).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The record line (线路) of the records; `默认` (default) unless set.
    #[serde(default)]
    pub line: Option<String>,
    /// The TTL of records this provider writes when the record sets none (the free plan
    /// accepts 600 and more); records it does not change keep theirs.
    #[serde(default)]
    pub ttl: Option<u32>,
}

impl DnspodSpec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<DnspodProvider, ProviderConfigError> {
        require(
            &self.secret_id,
            "secret_id",
            "create an API key in the Tencent Cloud console (访问管理 → API 密钥管理)",
        )?;
        require(
            &self.secret_key,
            "secret_key",
            "give the SecretKey of the API key",
        )?;
        let base = cloud::endpoint_url(self.endpoint.as_deref(), DEFAULT_ENDPOINT)?;
        let line = cloud::line(self.line.as_deref(), "默认")?;
        http::warn_if_cleartext(&base, "dnspod");
        Ok(DnspodProvider {
            client: http::client(http::USER_AGENT, &context.http)?,
            endpoint: http::endpoint(&base),
            base,
            secret_id: self.secret_id.clone(),
            secret_key: self.secret_key.clone(),
            line,
            ttl: self.ttl,
            zones: ZoneCache::new(),
        })
    }
}

/// Tencent Cloud DNSPod.
pub struct DnspodProvider {
    client: reqwest::Client,
    base: Url,
    endpoint: String,
    secret_id: Secret,
    secret_key: Secret,
    line: String,
    ttl: Option<u32>,
    /// DNSPod addresses domains by name in every call used here.
    zones: ZoneCache<()>,
}

impl fmt::Debug for DnspodProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DnspodProvider")
            .field("endpoint", &self.base.as_str())
            .field("secret_id", &self.secret_id)
            .field("secret_key", &self.secret_key)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DomainsPage {
    #[serde(default)]
    domain_count_info: Option<DomainCount>,
    #[serde(default)]
    domain_list: Vec<DomainItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DomainCount {
    #[serde(default)]
    all_total: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DomainItem {
    name: String,
    #[serde(default)]
    punycode: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RecordsPage {
    #[serde(default)]
    record_count_info: Option<RecordCount>,
    #[serde(default)]
    record_list: Vec<RecordItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RecordCount {
    #[serde(default)]
    total_count: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RecordItem {
    record_id: u64,
    name: String,
    #[serde(rename = "Type")]
    rtype: String,
    value: String,
    #[serde(default)]
    line: Option<String>,
    #[serde(rename = "TTL", default)]
    ttl: Option<u32>,
}

/// What a DNSPod call came back with: the `Response` object, or its `Error`.
enum Answer {
    Ok(Value),
    Error { code: String, says: String },
}

#[async_trait]
impl Provider for DnspodProvider {
    fn name(&self) -> &str {
        "dnspod"
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

impl DnspodProvider {
    async fn reconcile(&self, update: &Update) -> Result<bool, Outcome> {
        let wanted = cloud::wanted(update);
        if wanted.is_empty() {
            return Ok(false);
        }
        let host = &update.hostname;
        let (zone, rr) = self.zone_of(host).await?;
        let records = self.records(&zone.name, &rr).await?;
        let ttl = update.ttl.or(self.ttl);
        let mut changed = false;
        for (rtype, desired) in wanted {
            let existing: Vec<Existing<u64>> = records
                .iter()
                .filter(|r| RecordType::parse(&r.rtype) == Some(rtype))
                .filter(|r| r.name.eq_ignore_ascii_case(&rr))
                .filter(|r| r.line.as_deref() == Some(self.line.as_str()))
                .map(|r| Existing {
                    id: r.record_id,
                    value: r.value.clone(),
                    ttl: r.ttl,
                })
                .collect();
            for step in cloud::plan_records(&existing, &desired, ttl) {
                let (action, body) = self.write(&zone.name, &rr, rtype, ttl, &step);
                self.call(action, &body).await?;
                tracing::info!(host = %host, rtype = rtype.as_str(), step = ?step, "dnspod record written");
                changed = true;
            }
        }
        Ok(changed)
    }

    /// The action and body of one write.
    fn write(
        &self,
        zone: &DomainName,
        rr: &str,
        rtype: RecordType,
        ttl: Option<u32>,
        step: &Step<u64>,
    ) -> (&'static str, Value) {
        let record = |value: String, ttl: Option<u32>| {
            let mut body = json!({
                "Domain": zone.as_str(),
                "SubDomain": rr,
                "RecordType": rtype.as_str(),
                "RecordLine": self.line,
                "Value": value,
            });
            if let Some(ttl) = ttl {
                body["TTL"] = json!(ttl);
            }
            body
        };
        match step {
            Step::Create { value } => ("CreateRecord", record(value.to_string(), ttl)),
            Step::Update { id, value, ttl } => {
                let mut body = record(value.to_string(), *ttl);
                body["RecordId"] = json!(id);
                ("ModifyRecord", body)
            }
            Step::Delete { id } => (
                "DeleteRecord",
                json!({"Domain": zone.as_str(), "RecordId": id}),
            ),
        }
    }

    async fn zone_of(&self, host: &DomainName) -> Result<(Zone<()>, String), Outcome> {
        if let Some(hit) = self.zones.get(host) {
            return Ok(hit);
        }
        let mut zones = Vec::new();
        for page in 0..MAX_PAGES {
            let body = json!({"Offset": page * PAGE_SIZE, "Limit": PAGE_SIZE});
            let reply: DomainsPage = match self.send("DescribeDomainList", &body).await? {
                Answer::Ok(value) => self.decode("DescribeDomainList", value)?,
                Answer::Error { code, .. } if code == "ResourceNotFound.NoDataOfDomain" => break,
                Answer::Error { code, says } => {
                    return Err(classify_error("DescribeDomainList", &code, &says, None, ""));
                }
            };
            let got = reply.domain_list.len();
            zones.extend(reply.domain_list.into_iter().filter_map(|d| {
                let name = d
                    .punycode
                    .as_deref()
                    .and_then(parse_zone_name)
                    .or_else(|| parse_zone_name(&d.name))?;
                Some(Zone { name, id: () })
            }));
            let total = reply.domain_count_info.map_or(0, |c| c.all_total);
            if got < PAGE_SIZE || (page + 1) * PAGE_SIZE >= total {
                break;
            }
        }
        let Some((zone, rr)) = longest_match(host, &zones) else {
            return Err(no_zone(SERVICE, "API key", host, &zones));
        };
        self.zones.put(host, zone, &rr);
        Ok((zone.clone(), rr))
    }

    /// Every record of the name (all types and lines), across pages.
    async fn records(&self, zone: &DomainName, rr: &str) -> Result<Vec<RecordItem>, Outcome> {
        let mut records = Vec::new();
        for page in 0..MAX_PAGES {
            let body = json!({
                "Domain": zone.as_str(),
                "Subdomain": rr,
                "Offset": page * PAGE_SIZE,
                "Limit": PAGE_SIZE,
            });
            let reply: RecordsPage = match self.send("DescribeRecordList", &body).await? {
                Answer::Ok(value) => self.decode("DescribeRecordList", value)?,
                Answer::Error { code, .. } if code == "ResourceNotFound.NoDataOfRecord" => break,
                Answer::Error { code, says } => {
                    return Err(classify_error(
                        "DescribeRecordList",
                        &code,
                        &says,
                        self.ttl,
                        &self.line,
                    ));
                }
            };
            let got = reply.record_list.len();
            records.extend(reply.record_list);
            let total = reply.record_count_info.map_or(0, |c| c.total_count);
            if got < PAGE_SIZE || (page + 1) * PAGE_SIZE >= total {
                break;
            }
        }
        Ok(records)
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        action: &str,
        value: Value,
    ) -> Result<T, Outcome> {
        serde_json::from_value(value).map_err(|e| {
            Outcome::transient(format!(
                "{} answered {action} with something that is not a {SERVICE} reply ({e}); check the endpoint setting",
                self.endpoint
            ))
        })
    }

    /// Sends one action and classifies its error, if any.
    async fn call(&self, action: &str, body: &Value) -> Result<Value, Outcome> {
        match self.send(action, body).await? {
            Answer::Ok(value) => Ok(value),
            Answer::Error { code, says } => {
                Err(classify_error(action, &code, &says, self.ttl, &self.line))
            }
        }
    }

    /// Sends one signed action; HTTP and transport failures are outcomes, DNSPod's errors
    /// are returned for the caller to read.
    async fn send(&self, action: &str, body: &Value) -> Result<Answer, Outcome> {
        let payload = body.to_string();
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let host = cloud::host_header(&self.base);
        let lower_action = action.to_ascii_lowercase();
        // TC3 lower-cases header values in the canonical request.
        let canonical = CanonicalRequest::new(
            "POST",
            self.base.path(),
            "",
            &[
                ("content-type", CONTENT_TYPE),
                ("host", &host.to_ascii_lowercase()),
                ("x-tc-action", &lower_action),
            ],
            &sha256_hex(payload.as_bytes()),
        );
        let authorization = tc3_authorization(
            self.secret_id.expose(),
            self.secret_key.expose(),
            SIGNING_SERVICE,
            timestamp,
            &canonical,
        );
        let request = self
            .client
            .post(self.base.clone())
            .header(header::CONTENT_TYPE, CONTENT_TYPE)
            .header("X-TC-Action", action)
            .header("X-TC-Version", API_VERSION)
            .header("X-TC-Timestamp", timestamp.to_string())
            .header(header::AUTHORIZATION, authorization)
            .body(payload);
        tracing::debug!(action, endpoint = %self.endpoint, "dnspod request");
        let reply = http::send(request, &self.endpoint).await?;
        self.answer(action, &reply)
    }

    fn answer(&self, action: &str, reply: &Reply) -> Result<Answer, Outcome> {
        if !reply.status.is_success() {
            return Err(
                http::generic_status(reply, &self.endpoint, "endpoint").unwrap_or_else(|| {
                    Outcome::fatal(
                        FatalKind::Config,
                        format!(
                            "{} answered {action} with HTTP {}: check the endpoint setting",
                            self.endpoint, reply.status
                        ),
                    )
                }),
            );
        }
        let mut parsed: Value = cloud::decode(SERVICE, &self.endpoint, action, &reply.body)?;
        let Some(response) = parsed.get_mut("Response").map(Value::take) else {
            return Err(Outcome::transient(format!(
                "{} answered {action} without a Response object; check the endpoint setting",
                self.endpoint
            )));
        };
        if let Some(error) = response.get("Error") {
            let code = error["Code"].as_str().unwrap_or_default().to_owned();
            let message = error["Message"].as_str().unwrap_or_default();
            let says = cloud::vendor_says(&code, message, &[&self.secret_id, &self.secret_key]);
            return Ok(Answer::Error { code, says });
        }
        Ok(Answer::Ok(response))
    }
}

/// Maps a DNSPod error code onto the agent's classes (Tencent Cloud's common error codes and
/// `tencentcloud-sdk-go` `dnspod/v20210323/errors.go`; providers.md §2.3).
fn classify_error(action: &str, code: &str, says: &str, ttl: Option<u32>, line: &str) -> Outcome {
    let fatal = Outcome::fatal;
    let group = code.split('.').next().unwrap_or_default();
    match code {
        "AuthFailure.SecretIdNotFound" | "AuthFailure.InvalidSecretId" => fatal(
            FatalKind::Auth,
            format!(
                "Tencent Cloud does not know this API key ({says}): check secret_id (a Tencent Cloud API key's SecretId, not a DNSPod Token)"
            ),
        ),
        "AuthFailure.SignatureFailure" | "AuthFailure.InvalidAuthorization" => fatal(
            FatalKind::Auth,
            format!(
                "Tencent Cloud refused the request signature ({says}): check secret_key; it must be the SecretKey of secret_id"
            ),
        ),
        "AuthFailure.SignatureExpire" => Outcome::transient(format!(
            "Tencent Cloud refused the request time ({says}): this computer's clock is more than 5 minutes off; sync it (NTP)"
        )),
        "AuthFailure.MFAFailure" | "AuthFailure.TokenFailure" => fatal(
            FatalKind::Auth,
            format!("Tencent Cloud refused the API key ({says}): check secret_id and secret_key"),
        ),
        c if c.starts_with("AuthFailure.UnauthorizedOperation")
            || c.starts_with("UnauthorizedOperation")
            || c.starts_with("OperationDenied")
            || c == "FailedOperation.NotDomainOwner" =>
        {
            fatal(
                FatalKind::Auth,
                format!(
                    "the API key has no permission QcloudDNSPodFullAccess (or at least dnspod:{action}) ({says}): grant it to the CAM user in the Tencent Cloud console"
                ),
            )
        }
        c if c.starts_with("RequestLimitExceeded") || c.starts_with("LimitExceeded.Request") => {
            Outcome::transient(format!("{SERVICE} asks to slow down ({says})"))
        }
        "InvalidParameterValue.DomainNotExists"
        | "InvalidParameter.DomainNotExists"
        | "ResourceNotFound.NoDataOfDomain"
        | "FailedOperation.DomainOwnedByOtherUser" => fatal(
            FatalKind::Host,
            format!(
                "the domain is not in the account of this API key ({says}): add it in the {SERVICE} console, or use the API key of the account that holds it"
            ),
        ),
        "InvalidParameter.RecordLineInvalid" | "InvalidParameter.LineNotExist" => fatal(
            FatalKind::Config,
            format!(
                "{SERVICE} refused the line {line:?} ({says}): set line to a record line of the domain's plan, such as \"默认\""
            ),
        ),
        "LimitExceeded.RecordTtlLimit" | "InvalidParameter.RecordTtlLimit" => fatal(
            FatalKind::Config,
            format!(
                "{SERVICE} refused the TTL {} ({says}): raise ttl (the free plan accepts 600 and more)",
                ttl.map_or_else(|| "asked for".to_owned(), |t| t.to_string())
            ),
        ),
        "InvalidParameter.DomainRecordExist"
        | "InvalidParameter.RecordIdInvalid"
        | "ResourceNotFound.NoDataOfRecord" => Outcome::transient(format!(
            "the records changed while they were being updated ({says}); they are read again on the next attempt"
        )),
        "FailedOperation.DomainIsLocked" | "FailedOperation.DomainIsSpam" => fatal(
            FatalKind::Account,
            format!("{SERVICE} locked the domain ({says}): unlock it in the {SERVICE} console"),
        ),
        _ if group == "InternalError"
            || group == "ResourceUnavailable"
            || code == "FailedOperation" =>
        {
            Outcome::transient(format!("{SERVICE} failed to answer {action} ({says})"))
        }
        _ => fatal(
            FatalKind::Config,
            format!("{SERVICE} refused {action} ({says})"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_map_onto_classes() {
        for (code, kind) in [
            ("AuthFailure.SecretIdNotFound", FatalKind::Auth),
            ("AuthFailure.SignatureFailure", FatalKind::Auth),
            ("AuthFailure.UnauthorizedOperation", FatalKind::Auth),
            ("UnauthorizedOperation", FatalKind::Auth),
            ("InvalidParameterValue.DomainNotExists", FatalKind::Host),
            ("InvalidParameter.RecordLineInvalid", FatalKind::Config),
            ("LimitExceeded.RecordTtlLimit", FatalKind::Config),
            ("FailedOperation.DomainIsLocked", FatalKind::Account),
            ("InvalidParameter.Whatever", FatalKind::Config),
        ] {
            match classify_error("ModifyRecord", code, code, None, "默认") {
                Outcome::Fatal { kind: k, .. } => assert_eq!(k, kind, "{code}"),
                other => panic!("{code}: {other:?}"),
            }
        }
        for code in [
            "RequestLimitExceeded",
            "RequestLimitExceeded.UinLimitExceeded",
            "AuthFailure.SignatureExpire",
            "InternalError.DbError",
            "InvalidParameter.DomainRecordExist",
        ] {
            assert!(
                matches!(
                    classify_error("ModifyRecord", code, code, None, "默认"),
                    Outcome::Transient { .. }
                ),
                "{code}"
            );
        }
        let Outcome::Fatal { message, .. } = classify_error(
            "CreateRecord",
            "UnauthorizedOperation",
            "UnauthorizedOperation",
            None,
            "默认",
        ) else {
            panic!()
        };
        assert!(message.contains("QcloudDNSPodFullAccess"), "{message}");
        assert!(message.contains("dnspod:CreateRecord"), "{message}");
    }
}
