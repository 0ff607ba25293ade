//! Alibaba Cloud DNS (阿里云解析 DNS, API version 2015-01-09), signed with ACS3-HMAC-SHA256.
//!
//! ```text
//! POST https://alidns.aliyuncs.com/?DomainName=example.com&PageSize=100&SubDomain=home.example.com
//! x-acs-action: DescribeSubDomainRecords      x-acs-version: 2015-01-09
//! x-acs-date: 2026-01-01T00:00:00Z            x-acs-signature-nonce: <random>
//! x-acs-content-sha256: e3b0…b855             Authorization: ACS3-HMAC-SHA256 Credential=…
//!
//! 200 {"TotalCount":1,"DomainRecords":{"Record":[{"RecordId":"9999985","RR":"home","Type":"A",
//!      "Value":"192.0.2.1","TTL":600,"Line":"default",…}]},"RequestId":"…"}
//! 4xx {"Code":"Forbidden.RAM","Message":"…","RequestId":"…"}
//! ```
//! Signature: V3 (ACS3-HMAC-SHA256), which Alibaba documents as current; its V2 page asks
//! users of the old RPC HMAC-SHA1 signature to switch. Parameters go in the query of a POST
//! with an empty body, as in the vendor's worked example.
//!
//! A publish is: `DescribeDomains` once per hostname (cached) to find the zone by longest
//! suffix, one `DescribeSubDomainRecords` for the name (both families, exact match — never the
//! fuzzy `DescribeDomainRecords`+`RRKeyWord`), then `AddDomainRecord` / `UpdateDomainRecord` /
//! `DeleteDomainRecord` only where the records differ. An update to the value a record already
//! has fails with `DomainRecordDuplicate`, so equal records are never written.

use std::fmt;

use async_trait::async_trait;
use ddns_core::DomainName;
use reqwest::{StatusCode, Url, header};
use serde::Deserialize;

use crate::cloud::{self, Existing, RecordType, Step};
use crate::http::{self, Reply};
use crate::outcome::{FatalKind, Outcome};
use crate::provider::{Capabilities, Provider, Update};
use crate::signing::{CanonicalRequest, acs3_authorization, canonical_query, sha256_hex};
use crate::spec::{BuildContext, ProviderConfigError, Secret, require};
use crate::zone_split::{Zone, ZoneCache, longest_match, no_zone, parse_zone_name};

const DEFAULT_ENDPOINT: &str = "https://alidns.aliyuncs.com/";
const API_VERSION: &str = "2015-01-09";
const SERVICE: &str = "Alibaba Cloud DNS";
/// The most `DescribeDomains` and `DescribeSubDomainRecords` return per page.
const PAGE_SIZE: usize = 100;
/// Pages read before giving up on a listing (10 000 domains or records of one name).
const MAX_PAGES: usize = 100;

/// `type = "alidns"`: Alibaba Cloud DNS.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlidnsSpec {
    /// The AccessKey ID of a RAM user allowed to manage the domain's records.
    pub access_key_id: Secret,
    /// Its AccessKey secret.
    pub access_key_secret: Secret,
    /// Replaces `https://alidns.aliyuncs.com/` (a regional endpoint such as
    /// `https://alidns.ap-southeast-1.aliyuncs.com/`, or a test server).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The resolution line (解析线路) of the records; `default` unless set.
    #[serde(default)]
    pub line: Option<String>,
    /// The TTL of records this provider writes when the record sets none (the free edition
    /// accepts 600 and more); records it does not change keep theirs.
    #[serde(default)]
    pub ttl: Option<u32>,
}

impl AlidnsSpec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<AlidnsProvider, ProviderConfigError> {
        require(
            &self.access_key_id,
            "access_key_id",
            "create an AccessKey for a RAM user in the Alibaba Cloud RAM console",
        )?;
        require(
            &self.access_key_secret,
            "access_key_secret",
            "give the secret shown when the AccessKey was created",
        )?;
        let base = cloud::endpoint_url(self.endpoint.as_deref(), DEFAULT_ENDPOINT)?;
        let line = cloud::line(self.line.as_deref(), "default")?;
        http::warn_if_cleartext(&base, "alidns");
        Ok(AlidnsProvider {
            client: http::client(http::USER_AGENT, &context.http)?,
            endpoint: http::endpoint(&base),
            base,
            key_id: self.access_key_id.clone(),
            key_secret: self.access_key_secret.clone(),
            line,
            ttl: self.ttl,
            zones: ZoneCache::new(),
        })
    }
}

/// Alibaba Cloud DNS.
pub struct AlidnsProvider {
    client: reqwest::Client,
    base: Url,
    endpoint: String,
    key_id: Secret,
    key_secret: Secret,
    line: String,
    ttl: Option<u32>,
    /// Alibaba addresses domains by name, so the zone needs no id.
    zones: ZoneCache<()>,
}

impl fmt::Debug for AlidnsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlidnsProvider")
            .field("endpoint", &self.base.as_str())
            .field("access_key_id", &self.key_id)
            .field("access_key_secret", &self.key_secret)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DomainsPage {
    #[serde(default)]
    total_count: usize,
    #[serde(default)]
    domains: DomainList,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DomainList {
    #[serde(default)]
    domain: Vec<DomainItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DomainItem {
    domain_name: String,
    #[serde(default)]
    puny_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RecordsPage {
    #[serde(default)]
    total_count: usize,
    #[serde(default)]
    domain_records: RecordList,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RecordList {
    #[serde(default)]
    record: Vec<RecordItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RecordItem {
    #[serde(deserialize_with = "cloud::id_text")]
    record_id: String,
    #[serde(rename = "RR")]
    rr: String,
    #[serde(rename = "Type")]
    rtype: String,
    value: String,
    #[serde(rename = "TTL", default)]
    ttl: Option<u32>,
    #[serde(default)]
    line: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody {
    code: String,
    #[serde(default)]
    message: String,
}

#[async_trait]
impl Provider for AlidnsProvider {
    fn name(&self) -> &str {
        "alidns"
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

impl AlidnsProvider {
    /// Brings the name's A and AAAA records to the update; `true` when something was written.
    async fn reconcile(&self, update: &Update) -> Result<bool, Outcome> {
        let wanted = cloud::wanted(update);
        if wanted.is_empty() {
            return Ok(false);
        }
        let host = &update.hostname;
        let (zone, rr) = self.zone_of(host).await?;
        let records = self.records(host, &zone.name).await?;
        let ttl = update.ttl.or(self.ttl);
        let mut changed = false;
        for (rtype, desired) in wanted {
            let existing: Vec<Existing<String>> = records
                .iter()
                .filter(|r| RecordType::parse(&r.rtype) == Some(rtype))
                .filter(|r| r.rr.eq_ignore_ascii_case(&rr))
                .filter(|r| r.line.as_deref().unwrap_or("default") == self.line)
                .map(|r| Existing {
                    id: r.record_id.clone(),
                    value: r.value.clone(),
                    ttl: r.ttl,
                })
                .collect();
            for step in cloud::plan_records(&existing, &desired, ttl) {
                self.apply(&zone.name, &rr, rtype, ttl, &step).await?;
                tracing::info!(host = %host, rtype = rtype.as_str(), step = ?step, "alidns record written");
                changed = true;
            }
        }
        Ok(changed)
    }

    async fn apply(
        &self,
        zone: &DomainName,
        rr: &str,
        rtype: RecordType,
        ttl: Option<u32>,
        step: &Step<String>,
    ) -> Result<(), Outcome> {
        let ttl_param = |ttl: Option<u32>| ttl.map(|t| ("TTL", t.to_string()));
        match step {
            Step::Create { value } => {
                let mut params = vec![
                    ("DomainName", zone.as_str().to_owned()),
                    ("RR", rr.to_owned()),
                    ("Type", rtype.as_str().to_owned()),
                    ("Value", value.to_string()),
                    ("Line", self.line.clone()),
                ];
                // Without a TTL, Alibaba applies its default (600).
                params.extend(ttl_param(ttl));
                self.call("AddDomainRecord", &params).await?;
            }
            Step::Update { id, value, ttl } => {
                let mut params = vec![
                    ("RecordId", id.clone()),
                    ("RR", rr.to_owned()),
                    ("Type", rtype.as_str().to_owned()),
                    ("Value", value.to_string()),
                    ("Line", self.line.clone()),
                ];
                params.extend(ttl_param(*ttl));
                self.call("UpdateDomainRecord", &params).await?;
            }
            Step::Delete { id } => {
                self.call("DeleteDomainRecord", &[("RecordId", id.clone())])
                    .await?;
            }
        }
        Ok(())
    }

    async fn zone_of(&self, host: &DomainName) -> Result<(Zone<()>, String), Outcome> {
        if let Some(hit) = self.zones.get(host) {
            return Ok(hit);
        }
        let mut zones = Vec::new();
        for page in 1..=MAX_PAGES {
            let body = self
                .call(
                    "DescribeDomains",
                    &[
                        ("PageNumber", page.to_string()),
                        ("PageSize", PAGE_SIZE.to_string()),
                    ],
                )
                .await?;
            let reply: DomainsPage =
                cloud::decode(SERVICE, &self.endpoint, "DescribeDomains", &body)?;
            let got = reply.domains.domain.len();
            zones.extend(reply.domains.domain.into_iter().filter_map(|d| {
                let name = d
                    .puny_code
                    .as_deref()
                    .and_then(parse_zone_name)
                    .or_else(|| parse_zone_name(&d.domain_name))?;
                Some(Zone { name, id: () })
            }));
            if got < PAGE_SIZE || page * PAGE_SIZE >= reply.total_count {
                break;
            }
        }
        let Some((zone, rr)) = longest_match(host, &zones) else {
            return Err(no_zone(SERVICE, "AccessKey", host, &zones));
        };
        self.zones.put(host, zone, &rr);
        Ok((zone.clone(), rr))
    }

    /// Every record of the name (all types and lines), across pages.
    async fn records(
        &self,
        host: &DomainName,
        zone: &DomainName,
    ) -> Result<Vec<RecordItem>, Outcome> {
        let mut records = Vec::new();
        for page in 1..=MAX_PAGES {
            let body = self
                .call(
                    "DescribeSubDomainRecords",
                    &[
                        ("SubDomain", host.as_str().to_owned()),
                        ("DomainName", zone.as_str().to_owned()),
                        ("PageNumber", page.to_string()),
                        ("PageSize", PAGE_SIZE.to_string()),
                    ],
                )
                .await?;
            let reply: RecordsPage =
                cloud::decode(SERVICE, &self.endpoint, "DescribeSubDomainRecords", &body)?;
            let got = reply.domain_records.record.len();
            records.extend(reply.domain_records.record);
            if got < PAGE_SIZE || page * PAGE_SIZE >= reply.total_count {
                break;
            }
        }
        Ok(records)
    }

    /// Sends one signed action and returns the body of a successful reply.
    async fn call(&self, action: &str, params: &[(&str, String)]) -> Result<String, Outcome> {
        let query = canonical_query(params);
        let mut url = self.base.clone();
        url.set_query((!query.is_empty()).then_some(query.as_str()));
        let payload_hash = sha256_hex(b"");
        let date = cloud::utc_now(cloud::ISO8601_SECONDS);
        let nonce = cloud::nonce();
        let host = cloud::host_header(&url);
        let headers = [
            ("x-acs-action", action),
            ("x-acs-version", API_VERSION),
            ("x-acs-date", date.as_str()),
            ("x-acs-signature-nonce", nonce.as_str()),
            ("x-acs-content-sha256", payload_hash.as_str()),
        ];
        let mut signed = headers.to_vec();
        signed.push(("host", host.as_str()));
        let canonical = CanonicalRequest::new("POST", url.path(), &query, &signed, &payload_hash);
        let authorization =
            acs3_authorization(self.key_id.expose(), self.key_secret.expose(), &canonical);
        let mut request = self
            .client
            .post(url)
            .header(header::AUTHORIZATION, authorization);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        tracing::debug!(action, endpoint = %self.endpoint, "alidns request");
        let reply = http::send(request, &self.endpoint).await?;
        if reply.status.is_success() {
            return Ok(reply.body);
        }
        Err(self.classify(action, &reply))
    }

    fn classify(&self, action: &str, reply: &Reply) -> Outcome {
        let secrets = [&self.key_id, &self.key_secret];
        match serde_json::from_str::<ErrorBody>(&reply.body) {
            Ok(error) => classify_error(
                action,
                reply,
                &error.code,
                &cloud::vendor_says(&error.code, &error.message, &secrets),
                self.ttl,
                &self.line,
            ),
            Err(_) => http::generic_status(reply, &self.endpoint, "endpoint").unwrap_or_else(|| {
                Outcome::fatal(
                    FatalKind::Config,
                    format!(
                        "{} answered {action} with HTTP {} and no Alibaba Cloud error: check the endpoint setting",
                        self.endpoint, reply.status
                    ),
                )
            }),
        }
    }
}

/// Maps an Alibaba Cloud error code onto the agent's classes (providers.md §1.3; Alibaba
/// Cloud DNS error code list and the OpenAPI gateway's common errors).
fn classify_error(
    action: &str,
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
    match code {
        "InvalidAccessKeyId.NotFound" | "InvalidAccessKeyId" => fatal(
            FatalKind::Auth,
            format!("{SERVICE} does not know this AccessKey ({says}): check access_key_id"),
        ),
        "InvalidAccessKeyId.Inactive" => fatal(
            FatalKind::Auth,
            format!(
                "the AccessKey is disabled ({says}): enable it in the RAM console or set access_key_id to an active AccessKey"
            ),
        ),
        "SignatureDoesNotMatch" | "IncompleteSignature" | "InvalidSignature" => fatal(
            FatalKind::Auth,
            format!(
                "{SERVICE} refused the request signature ({says}): check access_key_secret; it must be the secret of access_key_id"
            ),
        ),
        "InvalidTimeStamp.Expired" | "InvalidTimeStamp.Format" | "SignatureNonceUsed" => {
            transient(format!(
                "{SERVICE} refused the request time ({says}): this computer's clock is more than 15 minutes off; sync it (NTP)"
            ))
        }
        "Forbidden.RiskControl" | "Forbidden.UserVerification" | "Forbidden.Unverified" => fatal(
            FatalKind::Account,
            format!(
                "{SERVICE} blocked the account ({says}): complete the verification Alibaba Cloud asks for in its console"
            ),
        ),
        c if c.starts_with("Forbidden") || c == "NoPermission" || c == "AccessDenied" => fatal(
            FatalKind::Auth,
            format!(
                "the AccessKey has no permission AliyunDNSFullAccess (or at least alidns:{action}) ({says}): grant it to the RAM user in the RAM console"
            ),
        ),
        c if c.starts_with("Throttling") || c == "ServiceUnavailable" || c == "InternalError" => {
            transient(format!("{SERVICE} asks to slow down or is busy ({says})"))
        }
        "InvalidDomainName.NoExist"
        | "IncorrectDomainUser"
        | "DomainRecordNotBelongToUser"
        | "InvalidDomainName.Unregistered"
        | "Domain.NotExist" => fatal(
            FatalKind::Host,
            format!(
                "the domain is not in the account of this AccessKey ({says}): add it in the {SERVICE} console, or use the AccessKey of the account that holds it"
            ),
        ),
        "DomainRecordDuplicate" | "DomainRecordNotExist" | "InvalidRecordId.NotFound" => {
            transient(format!(
                "the records changed while they were being updated ({says}); they are read again on the next attempt"
            ))
        }
        "DomainRecordConflict" => fatal(
            FatalKind::Config,
            format!(
                "another record of the name conflicts with it ({says}): remove the CNAME or other conflicting record in the {SERVICE} console"
            ),
        ),
        c if c.to_ascii_lowercase().contains("ttl") => fatal(
            FatalKind::Config,
            format!(
                "{SERVICE} refused the TTL {} ({says}): raise ttl (the free edition accepts 600 and more)",
                ttl.map_or_else(|| "asked for".to_owned(), |t| t.to_string())
            ),
        ),
        c if c.to_ascii_lowercase().contains("line") => fatal(
            FatalKind::Config,
            format!(
                "{SERVICE} refused the line {line:?} ({says}): set line to a resolution line of the domain's edition, such as \"default\""
            ),
        ),
        _ if reply.status == StatusCode::TOO_MANY_REQUESTS || reply.status.is_server_error() => {
            transient(format!("{SERVICE} answered HTTP {} ({says})", reply.status))
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

    fn reply(status: u16) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            retry_after: None,
            location: None,
            link: None,
            body: String::new(),
        }
    }

    fn class(status: u16, code: &str) -> Outcome {
        classify_error(
            "UpdateDomainRecord",
            &reply(status),
            code,
            code,
            Some(60),
            "default",
        )
    }

    #[test]
    fn error_codes_map_onto_classes() {
        for (code, kind) in [
            ("InvalidAccessKeyId.NotFound", FatalKind::Auth),
            ("SignatureDoesNotMatch", FatalKind::Auth),
            ("Forbidden.RAM", FatalKind::Auth),
            ("Forbidden.RiskControl", FatalKind::Account),
            ("IncorrectDomainUser", FatalKind::Host),
            ("DomainRecordConflict", FatalKind::Config),
            ("QuotaExceeded.TTL", FatalKind::Config),
            ("SomethingNew", FatalKind::Config),
        ] {
            match class(400, code) {
                Outcome::Fatal { kind: k, .. } => assert_eq!(k, kind, "{code}"),
                other => panic!("{code}: {other:?}"),
            }
        }
        for code in [
            "Throttling.User",
            "Throttling",
            "InternalError",
            "InvalidTimeStamp.Expired",
            "DomainRecordDuplicate",
        ] {
            assert!(
                matches!(class(400, code), Outcome::Transient { .. }),
                "{code}"
            );
        }
        assert!(matches!(class(503, "Unknown"), Outcome::Transient { .. }));
        let Outcome::Fatal { message, .. } = class(403, "Forbidden.RAM") else {
            panic!()
        };
        assert!(
            message.contains("the AccessKey has no permission AliyunDNSFullAccess"),
            "{message}"
        );
        assert!(message.contains("alidns:UpdateDomainRecord"), "{message}");
    }
}
