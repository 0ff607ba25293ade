//! Publishing to Porkbun DNS through API v3: JSON `POST`s whose bodies carry both keys, one
//! record per address, addressed by id.
//!
//! ```text
//! POST {endpoint}/domain/listAll          {"apikey":…,"secretapikey":…,"start":"0"}
//!      → {"status":"SUCCESS","domains":[{"domain":"example.com","status":"ACTIVE",…}]}
//! POST {endpoint}/dns/retrieve/{zone}     → {"status":"SUCCESS","records":[{"id":"106926659",
//!      "name":"home.example.com","type":"A","content":"192.0.2.1","ttl":"600",…}]}   (one read)
//! POST {endpoint}/dns/create/{zone}       {…keys,"name":"home","type":"A","content":…,"ttl":"600"}
//!      → {"status":"SUCCESS","id":106926660}
//! POST {endpoint}/dns/edit/{zone}/{id}    {…keys,"name":"home","type":"A","content":…,"ttl":…}
//! POST {endpoint}/dns/delete/{zone}/{id}  {…keys}
//!
//! 400 {"status":"ERROR","message":"Invalid API key. (002)"}
//! 400 {"status":"ERROR","message":"Domain is not opted in to API access."}
//! 503 (an HTML page from the gateway)     throttled: about one request a second per key
//! ```
//! Sources: porkbun.com/api/json/v3/documentation (the host moved from porkbun.com to
//! api.porkbun.com; the minimum TTL is 600; `name` is the subdomain, empty for the apex),
//! kb.porkbun.com "Getting started with the Porkbun API" (keys at porkbun.com/account/api,
//! API ACCESS switched on per domain), and the throttling reports in nrdcg/porkbun#3 and
//! DNSControl/dnscontrol#3225 (HTTP 503 without a retry hint; Porkbun support: one request
//! per second per API key).
//!
//! The zone is the longest of the account's domains the name lies in (`zone_split`); the
//! zone's records are read once and `cloud::plan_records` decides per family, so nothing is
//! written when they are equal.

use std::fmt;

use async_trait::async_trait;
use ddns_core::DomainName;
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use crate::cloud::{self, Existing, RecordType, Step};
use crate::http::{self, Reply};
use crate::outcome::{FatalKind, Outcome};
use crate::provider::{Capabilities, Provider, Update};
use crate::spec::{BuildContext, ProviderConfigError, Secret, require};
use crate::zone_split::{Zone, ZoneCache, longest_match, no_zone, parse_zone_name};

/// Porkbun's API base URL.
pub const DEFAULT_ENDPOINT: &str = "https://api.porkbun.com/api/json/v3";
const SERVICE: &str = "Porkbun";
/// Porkbun's minimum and default TTL.
const MINIMUM_TTL: u32 = 600;
/// Domains per page of `domain/listAll`.
const DOMAINS_PER_PAGE: usize = 1000;
const MAX_PAGES: usize = 20;

/// `type = "porkbun"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PorkbunSpec {
    /// The API key (`pk1_…`).
    pub api_key: Secret,
    /// The secret API key (`sk1_…`).
    pub secret_api_key: Secret,
    /// The TTL of records this provider writes when the record sets none (at least 600).
    #[serde(default)]
    pub ttl: Option<u32>,
    /// Replaces the API base URL.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl PorkbunSpec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<PorkbunProvider, ProviderConfigError> {
        require(
            &self.api_key,
            "api_key",
            "create an API key at porkbun.com/account/api",
        )?;
        require(
            &self.secret_api_key,
            "secret_api_key",
            "give the secret key shown with the API key",
        )?;
        let base = cloud::endpoint_url(self.endpoint.as_deref(), DEFAULT_ENDPOINT)?;
        http::warn_if_cleartext(&base, "porkbun");
        Ok(PorkbunProvider {
            client: http::client(http::USER_AGENT, &context.http)?,
            endpoint: http::endpoint(&base),
            base,
            api_key: self.api_key.clone(),
            secret_api_key: self.secret_api_key.clone(),
            ttl: self.ttl,
            zones: ZoneCache::new(),
        })
    }
}

/// Porkbun DNS.
pub struct PorkbunProvider {
    client: reqwest::Client,
    base: Url,
    endpoint: String,
    api_key: Secret,
    secret_api_key: Secret,
    ttl: Option<u32>,
    zones: ZoneCache<()>,
}

impl fmt::Debug for PorkbunProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PorkbunProvider")
            .field("endpoint", &self.base.as_str())
            .field("api_key", &self.api_key)
            .field("secret_api_key", &self.secret_api_key)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct DomainItem {
    domain: String,
}

#[derive(Deserialize)]
struct RecordItem {
    #[serde(deserialize_with = "cloud::id_text")]
    id: String,
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(default)]
    content: String,
    #[serde(default, deserialize_with = "ttl_text")]
    ttl: Option<u32>,
}

/// Porkbun sends numbers as strings (`"ttl": "600"`).
fn ttl_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    Ok(cloud::id_text(deserializer)?.trim().parse().ok())
}

/// Which call failed, for messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    ListDomains,
    ListRecords,
    Write,
}

#[async_trait]
impl Provider for PorkbunProvider {
    fn name(&self) -> &str {
        "porkbun"
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

impl PorkbunProvider {
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
                &["dns", "retrieve", zone_name],
                json!({}),
                Phase::ListRecords,
                Some(&zone.name),
                None,
            )
            .await?;
        let records: Vec<RecordItem> = serde_json::from_value(reply["records"].clone())
            .map_err(|e| {
                Outcome::transient(format!(
                    "{} answered the record listing with something that is not a {SERVICE} reply ({e}); check the endpoint setting",
                    self.endpoint
                ))
            })?;
        let ttl = update.ttl.or(self.ttl);
        // Porkbun's `name` is the subdomain, empty at the apex.
        let sub = if rr == "@" { "" } else { rr.as_str() };
        let mut changed = false;
        for (rtype, desired) in wanted {
            let existing: Vec<Existing<String>> = records
                .iter()
                .filter(|r| RecordType::parse(&r.rtype) == Some(rtype))
                .filter(|r| parse_zone_name(&r.name).as_ref() == Some(host))
                .map(|r| Existing {
                    id: r.id.clone(),
                    value: r.content.clone(),
                    ttl: r.ttl,
                })
                .collect();
            for step in cloud::plan_records(&existing, &desired, ttl) {
                let record = |value: &std::net::IpAddr, ttl: Option<u32>| {
                    json!({
                        "name": sub,
                        "type": rtype.as_str(),
                        "content": value.to_string(),
                        "ttl": ttl.unwrap_or(MINIMUM_TTL).to_string(),
                    })
                };
                let (path, body) = match &step {
                    Step::Create { value } => {
                        (vec!["dns", "create", zone_name], record(value, ttl))
                    }
                    Step::Update { id, value, ttl } => (
                        vec!["dns", "edit", zone_name, id.as_str()],
                        record(value, *ttl),
                    ),
                    Step::Delete { id } => {
                        (vec!["dns", "delete", zone_name, id.as_str()], json!({}))
                    }
                };
                self.call(&path, body, Phase::Write, Some(&zone.name), ttl)
                    .await?;
                tracing::info!(host = %host, rtype = rtype.as_str(), step = ?step, "porkbun record written");
                changed = true;
            }
        }
        Ok(changed)
    }

    async fn zone_of(&self, host: &DomainName) -> Result<(Zone<()>, String), Outcome> {
        if let Some(hit) = self.zones.get(host) {
            return Ok(hit);
        }
        let mut zones = Vec::new();
        for page in 0..MAX_PAGES {
            let start = (page * DOMAINS_PER_PAGE).to_string();
            let reply = self
                .call(
                    &["domain", "listAll"],
                    json!({"start": start}),
                    Phase::ListDomains,
                    None,
                    None,
                )
                .await?;
            let domains: Vec<DomainItem> =
                serde_json::from_value(reply["domains"].clone()).unwrap_or_default();
            let got = domains.len();
            zones.extend(domains.into_iter().filter_map(|d| {
                Some(Zone {
                    name: parse_zone_name(&d.domain)?,
                    id: (),
                })
            }));
            if got < DOMAINS_PER_PAGE {
                break;
            }
        }
        let Some((zone, rr)) = longest_match(host, &zones) else {
            return Err(no_zone(SERVICE, "API key", host, &zones));
        };
        self.zones.put(host, zone, &rr);
        Ok((zone.clone(), rr))
    }

    /// Posts `body` with the keys added; the reply object when its status is `SUCCESS`.
    async fn call(
        &self,
        path: &[&str],
        mut body: Value,
        phase: Phase,
        zone: Option<&DomainName>,
        ttl: Option<u32>,
    ) -> Result<Value, Outcome> {
        body["apikey"] = json!(self.api_key.expose());
        body["secretapikey"] = json!(self.secret_api_key.expose());
        let request = self.client.post(cloud::join(&self.base, path)).json(&body);
        let reply = http::send(request, &self.endpoint).await?;
        let parsed: Option<Value> = serde_json::from_str(&reply.body).ok();
        match parsed {
            Some(v) if reply.status.is_success() && v["status"] == "SUCCESS" => Ok(v),
            Some(v) if v["status"] == "ERROR" => {
                let message = v["message"].as_str().unwrap_or_default();
                Err(self.refused(&reply, message, phase, zone, ttl))
            }
            _ => Err(self.refused(&reply, "", phase, zone, ttl)),
        }
    }

    /// Classifies a refusal: Porkbun's `message` (it has no error codes) or the HTTP status.
    fn refused(
        &self,
        reply: &Reply,
        message: &str,
        phase: Phase,
        zone: Option<&DomainName>,
        ttl: Option<u32>,
    ) -> Outcome {
        let secrets = [&self.api_key, &self.secret_api_key];
        if reply.status == StatusCode::SERVICE_UNAVAILABLE
            || reply.status == StatusCode::TOO_MANY_REQUESTS
        {
            return Outcome::Transient {
                reason: format!(
                    "{SERVICE} asks to slow down (HTTP {}); it allows about one request a second per API key",
                    reply.status
                ),
                retry_after: reply.retry_after,
            };
        }
        if message.is_empty() {
            if let Some(outcome) = http::generic_status(reply, &self.endpoint, "endpoint") {
                return outcome;
            }
            return Outcome::transient(format!(
                "{} answered HTTP {} with something that is not a {SERVICE} reply ({}); check the endpoint setting",
                self.endpoint,
                reply.status,
                cloud::redact(&reply.body_excerpt(), &secrets)
            ));
        }
        let says = cloud::vendor_says("ERROR", message, &secrets);
        let lower = message.to_ascii_lowercase();
        let zone_name = zone.map_or("the domain", DomainName::as_str);
        if lower.contains("invalid api key") || lower.contains("invalid secret") {
            return Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "{SERVICE} refused the keys ({says}): check api_key and secret_api_key (both from porkbun.com/account/api)"
                ),
            );
        }
        if lower.contains("opted in") || lower.contains("api access") {
            return Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "the API key has no permission API ACCESS on {zone_name} ({says}): switch on API ACCESS for the domain under Domain Management at porkbun.com"
                ),
            );
        }
        if lower.contains("ttl") {
            return Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{SERVICE} refused the TTL {} ({says}): set ttl to 600 or more",
                    ttl.map_or_else(|| "asked for".to_owned(), |t| t.to_string())
                ),
            );
        }
        if phase != Phase::ListDomains
            && (lower.contains("invalid domain") || lower.contains("invalid record"))
        {
            return Outcome::transient(format!(
                "{SERVICE} no longer knows {zone_name} or one of its records ({says}); they are read again on the next attempt"
            ));
        }
        if reply.status.is_server_error() {
            return Outcome::Transient {
                reason: format!("{SERVICE} failed ({says})"),
                retry_after: reply.retry_after,
            };
        }
        Outcome::fatal(
            FatalKind::Config,
            format!(
                "{SERVICE} refused the {} of {zone_name} ({says}): check the provider settings",
                match phase {
                    Phase::ListDomains => "domain listing",
                    Phase::ListRecords => "record listing",
                    Phase::Write => "update",
                }
            ),
        )
    }
}
