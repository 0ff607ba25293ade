//! Publishing to NameSilo DNS through its API (`version=1`, `type=json`): one record per
//! address, addressed by `record_id`.
//!
//! ```text
//! GET {endpoint}/listDomains?version=1&type=json&key=KEY
//!     → {"request":{…},"reply":{"code":300,"detail":"success","domains":[…]}}
//! GET {endpoint}/dnsListRecords?…&domain=example.com            (one read of the zone)
//!     → {"reply":{"code":300,"resource_record":[{"record_id":"1a2b…","type":"A",
//!        "host":"home.example.com","value":"192.0.2.1","ttl":"7207","distance":0}]}}
//! GET {endpoint}/dnsAddRecord?…&domain=…&rrtype=A&rrhost=home&rrvalue=…&rrttl=3600
//! GET {endpoint}/dnsUpdateRecord?…&domain=…&rrid=…&rrhost=home&rrvalue=…&rrttl=…
//! GET {endpoint}/dnsDeleteRecord?…&domain=…&rrid=…
//!
//! Every answer is HTTP 200; `reply.code` 300 is success, anything else an error with
//! `reply.detail`: 110 invalid API key, 111 invalid user, 112 not available to sub-accounts,
//! 113 not allowed from this IP, 200 domain not active or not yours, 280 DNS modification
//! error, 115/201 transient failures.
//! ```
//! Sources: namesilo.com/api-reference (operations, parameters, the response code table; the
//! minimum TTL is 3600; `rrhost` is relative, empty for the apex). NameSilo documents XML
//! and JSON forms whose lists collapse to one object when there is one item, so both are
//! read. It documents no throttling answer; a 429 or 5xx is retried with its `Retry-After`.
//! The key travels in the query string (NameSilo's only way), so error texts name the
//! endpoint's scheme, host and port only (`http::endpoint`), never the URL.
//!
//! The zone is the longest of the account's domains the name lies in (`zone_split`); the
//! zone's records are read once and `cloud::plan_records` decides per family.

use std::fmt;

use async_trait::async_trait;
use ddns_core::DomainName;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde_json::Value;

use crate::cloud::{self, Existing, RecordType, Step};
use crate::http::{self, Reply};
use crate::outcome::{FatalKind, Outcome};
use crate::provider::{Capabilities, Provider, Update};
use crate::spec::{BuildContext, ProviderConfigError, Secret, require};
use crate::zone_split::{Zone, ZoneCache, longest_match, no_zone, parse_zone_name};

/// NameSilo's API base URL.
pub const DEFAULT_ENDPOINT: &str = "https://www.namesilo.com/api";
const SERVICE: &str = "NameSilo";
/// NameSilo's minimum TTL, used for new records when none is configured.
const MINIMUM_TTL: u32 = 3600;
const SUCCESS: i64 = 300;

/// `type = "namesilo"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamesiloSpec {
    /// An API key (namesilo.com/account/api-manager).
    pub api_key: Secret,
    /// The TTL of records this provider writes when the record sets none (at least 3600).
    #[serde(default)]
    pub ttl: Option<u32>,
    /// Replaces the API base URL.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl NamesiloSpec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<NamesiloProvider, ProviderConfigError> {
        require(
            &self.api_key,
            "api_key",
            "generate an API key at namesilo.com/account/api-manager",
        )?;
        let base = cloud::endpoint_url(self.endpoint.as_deref(), DEFAULT_ENDPOINT)?;
        http::warn_if_cleartext(&base, "namesilo");
        Ok(NamesiloProvider {
            client: http::client(http::USER_AGENT, &context.http)?,
            endpoint: http::endpoint(&base),
            base,
            api_key: self.api_key.clone(),
            ttl: self.ttl,
            zones: ZoneCache::new(),
        })
    }
}

/// NameSilo DNS.
pub struct NamesiloProvider {
    client: reqwest::Client,
    base: Url,
    endpoint: String,
    api_key: Secret,
    ttl: Option<u32>,
    zones: ZoneCache<()>,
}

impl fmt::Debug for NamesiloProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamesiloProvider")
            .field("endpoint", &self.base.as_str())
            .field("api_key", &self.api_key)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct RecordItem {
    #[serde(deserialize_with = "cloud::id_text")]
    record_id: String,
    #[serde(rename = "type")]
    rtype: String,
    host: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    ttl: Option<Value>,
}

impl RecordItem {
    fn ttl(&self) -> Option<u32> {
        match &self.ttl {
            Some(Value::Number(n)) => n.as_u64().and_then(|t| u32::try_from(t).ok()),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    ListDomains,
    ListRecords,
    Write,
}

#[async_trait]
impl Provider for NamesiloProvider {
    fn name(&self) -> &str {
        "namesilo"
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

/// A list NameSilo may send as an array, a single object, or an object wrapping either
/// under `key` (its XML heritage).
fn list(value: &Value, key: &str) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Object(map) if map.contains_key(key) => list(&map[key], key),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

impl NamesiloProvider {
    async fn reconcile(&self, update: &Update) -> Result<bool, Outcome> {
        let wanted = cloud::wanted(update);
        if wanted.is_empty() {
            return Ok(false);
        }
        let host = &update.hostname;
        let (zone, rr) = self.zone_of(host).await?;
        let zone_name = zone.name.as_str();
        let reply = self
            .call(
                "dnsListRecords",
                &[("domain", zone_name)],
                Phase::ListRecords,
                None,
            )
            .await?;
        let records: Vec<RecordItem> = list(&reply["resource_record"], "resource_record")
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect();
        let ttl = update.ttl.or(self.ttl);
        // `rrhost` is relative to the domain, empty at the apex.
        let sub = if rr == "@" { "" } else { rr.as_str() };
        let mut changed = false;
        for (rtype, desired) in wanted {
            let existing: Vec<Existing<String>> = records
                .iter()
                .filter(|r| RecordType::parse(&r.rtype) == Some(rtype))
                .filter(|r| parse_zone_name(&r.host).as_ref() == Some(host))
                .map(|r| Existing {
                    id: r.record_id.clone(),
                    value: r.value.clone(),
                    ttl: r.ttl(),
                })
                .collect();
            for step in cloud::plan_records(&existing, &desired, ttl) {
                match &step {
                    Step::Create { value } => {
                        let value = value.to_string();
                        let ttl = ttl.unwrap_or(MINIMUM_TTL).to_string();
                        let params = [
                            ("domain", zone_name),
                            ("rrtype", rtype.as_str()),
                            ("rrhost", sub),
                            ("rrvalue", &value),
                            ("rrttl", &ttl),
                        ];
                        self.call("dnsAddRecord", &params, Phase::Write, Some(&zone.name))
                            .await?;
                    }
                    Step::Update { id, value, ttl } => {
                        let value = value.to_string();
                        let ttl = ttl.unwrap_or(MINIMUM_TTL).to_string();
                        let params = [
                            ("domain", zone_name),
                            ("rrid", id.as_str()),
                            ("rrhost", sub),
                            ("rrvalue", &value),
                            ("rrttl", &ttl),
                        ];
                        self.call("dnsUpdateRecord", &params, Phase::Write, Some(&zone.name))
                            .await?;
                    }
                    Step::Delete { id } => {
                        let params = [("domain", zone_name), ("rrid", id.as_str())];
                        self.call("dnsDeleteRecord", &params, Phase::Write, Some(&zone.name))
                            .await?;
                    }
                }
                tracing::info!(host = %host, rtype = rtype.as_str(), step = ?step, "namesilo record written");
                changed = true;
            }
        }
        Ok(changed)
    }

    async fn zone_of(&self, host: &DomainName) -> Result<(Zone<()>, String), Outcome> {
        if let Some(hit) = self.zones.get(host) {
            return Ok(hit);
        }
        let reply = self
            .call("listDomains", &[], Phase::ListDomains, None)
            .await?;
        let zones: Vec<Zone<()>> = list(&reply["domains"], "domain")
            .iter()
            .filter_map(|d| {
                let name = match d {
                    Value::String(s) => s.as_str(),
                    other => other["domain"].as_str()?,
                };
                Some(Zone {
                    name: parse_zone_name(name)?,
                    id: (),
                })
            })
            .collect();
        let Some((zone, rr)) = longest_match(host, &zones) else {
            return Err(no_zone(SERVICE, "API key", host, &zones));
        };
        self.zones.put(host, zone, &rr);
        Ok((zone.clone(), rr))
    }

    /// One operation; its `reply` object when the code is 300.
    async fn call(
        &self,
        operation: &str,
        params: &[(&str, &str)],
        phase: Phase,
        zone: Option<&DomainName>,
    ) -> Result<Value, Outcome> {
        let mut url = cloud::join(&self.base, &[operation]);
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("version", "1")
                .append_pair("type", "json")
                .append_pair("key", self.api_key.expose());
            for (k, v) in params {
                query.append_pair(k, v);
            }
        }
        let reply = http::send(self.client.get(url), &self.endpoint).await?;
        if !reply.status.is_success() {
            return Err(self.failed(&reply));
        }
        let mut parsed: Value = cloud::decode(SERVICE, &self.endpoint, operation, &reply.body)?;
        let answer = parsed["reply"].take();
        let code = match &answer["code"] {
            Value::Number(n) => n.as_i64().unwrap_or_default(),
            Value::String(s) => s.trim().parse().unwrap_or_default(),
            _ => 0,
        };
        if code == SUCCESS {
            return Ok(answer);
        }
        let detail = answer["detail"].as_str().unwrap_or_default();
        let says = cloud::vendor_says(&code.to_string(), detail, &[&self.api_key]);
        Err(classify(code, &says, operation, phase, zone))
    }

    fn failed(&self, reply: &Reply) -> Outcome {
        let says = cloud::redact(&reply.body_excerpt(), &[&self.api_key]);
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            return Outcome::Transient {
                reason: format!("{SERVICE} asks to slow down (HTTP 429: {says})"),
                retry_after: reply.retry_after,
            };
        }
        http::generic_status(reply, &self.endpoint, "endpoint").unwrap_or_else(|| {
            Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{} answered HTTP {} ({says}): check the endpoint setting",
                    self.endpoint, reply.status
                ),
            )
        })
    }
}

/// Maps NameSilo's reply codes (namesilo.com/api-reference, "Response Codes") onto the
/// agent's classes.
fn classify(
    code: i64,
    says: &str,
    operation: &str,
    phase: Phase,
    zone: Option<&DomainName>,
) -> Outcome {
    let zone_name = zone.map_or("the domain", DomainName::as_str);
    match code {
        109..=111 => Outcome::fatal(
            FatalKind::Auth,
            format!("{SERVICE} refused the API key ({says}): check api_key"),
        ),
        112 => Outcome::fatal(
            FatalKind::Auth,
            format!(
                "the API key has no permission as a sub-account ({says}): use an API key of the main account"
            ),
        ),
        113 => Outcome::fatal(
            FatalKind::Auth,
            format!(
                "the API key has no permission from this IP address ({says}): allow this host's address for the key in NameSilo's API Manager, or remove the key's address restriction"
            ),
        ),
        200 if phase != Phase::ListDomains => Outcome::transient(format!(
            "{SERVICE} no longer lists {zone_name} as an active domain of this API key ({says}); the domains are listed again on the next attempt"
        )),
        115 | 201 => Outcome::transient(format!("{SERVICE} failed to answer {operation} ({says})")),
        280 if says.to_ascii_lowercase().contains("ttl") => Outcome::fatal(
            FatalKind::Config,
            format!("{SERVICE} refused the TTL ({says}): set ttl to 3600 or more"),
        ),
        280 => Outcome::transient(format!(
            "{SERVICE} refused the change of {zone_name} ({says}); the records are read again on the next attempt"
        )),
        _ => Outcome::fatal(
            FatalKind::Config,
            format!("{SERVICE} refused {operation} ({says}): check the provider settings"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_come_in_every_shape() {
        let one = serde_json::json!({"domain": "example.com"});
        assert_eq!(list(&one, "domain"), [serde_json::json!("example.com")]);
        let many = serde_json::json!({"domain": ["a.com", "b.com"]});
        assert_eq!(list(&many, "domain").len(), 2);
        let array = serde_json::json!([{"domain": "a.com"}]);
        assert_eq!(list(&array, "domain").len(), 1);
        assert!(list(&Value::Null, "domain").is_empty());
        let single = serde_json::json!({"record_id": "1", "type": "A"});
        assert_eq!(list(&single, "resource_record").len(), 1);
    }

    #[test]
    fn codes_map_onto_classes() {
        for (code, kind) in [
            (110, FatalKind::Auth),
            (113, FatalKind::Auth),
            (108, FatalKind::Config),
        ] {
            match classify(code, "x", "dnsAddRecord", Phase::Write, None) {
                Outcome::Fatal { kind: k, .. } => assert_eq!(k, kind, "{code}"),
                other => panic!("{code}: {other:?}"),
            }
        }
        for code in [115, 201, 200] {
            assert!(
                matches!(
                    classify(code, "x", "dnsAddRecord", Phase::Write, None),
                    Outcome::Transient { .. }
                ),
                "{code}"
            );
        }
    }
}
