//! Publishing to GoDaddy DNS through the Domains API v1: the records of one name and type are
//! replaced together.
//!
//! ```text
//! GET {endpoint}/v1/domains?statuses=ACTIVE&limit=1000&marker=…   → [{"domain":"example.com",…}]
//! GET {endpoint}/v1/domains/{zone}/records?offset=N&limit=500     → [{"type":"A","name":"home",
//!                                                                     "data":"192.0.2.1","ttl":600}]
//! PUT {endpoint}/v1/domains/{zone}/records/{type}/{name}          ← [{"data":"192.0.2.1","ttl":600}]
//! Authorization: sso-key KEY:SECRET
//!
//! 401 {"code":"UNABLE_TO_AUTHENTICATE","message":"Unable to authenticate"}
//! 403 {"code":"ACCESS_DENIED","message":"Authenticated user is not allowed access"}
//! 404 {"code":"NOT_FOUND","message":"Domain … not found"}
//! 422 {"code":"INVALID_BODY","fields":[{"path":"records[0].ttl",…}],"message":"…"}
//! 429 {"code":"TOO_MANY_REQUESTS","message":"…","retryAfterSec":30}
//! ```
//! Sources: developer.godaddy.com/doc/endpoint/domains (record reads and the PUT that replaces
//! one type at one name; `@` is the apex; the minimum TTL is 600; the error body with
//! `retryAfterSec`, honoured when there is no `Retry-After`), developer.godaddy.com/getstarted
//! (60 requests a minute per endpoint; production keys), and the 2024 restriction reported in
//! ddns-updater#707 and ddclient#697: the Domains API answers ACCESS_DENIED unless the account
//! has 10 or more domains or a Domain Pro plan, which the fatal message says.
//!
//! The zone is the longest of the account's active domains the name lies in (`zone_split`).
//! The zone's records are read once; a family is written (one PUT of all its addresses) only
//! when its values or TTL differ, and the other family is never part of that PUT.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use ddns_core::DomainName;
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cloud::{self, RecordType};
use crate::http::{self, Reply};
use crate::outcome::{FatalKind, Outcome};
use crate::provider::{Capabilities, Provider, Update};
use crate::spec::{BuildContext, ProviderConfigError, Secret, require};
use crate::zone_split::{Zone, ZoneCache, longest_match, no_zone, parse_zone_name};

/// GoDaddy's API base URL (the OTE test environment is `https://api.ote-godaddy.com`).
pub const DEFAULT_ENDPOINT: &str = "https://api.godaddy.com";
const SERVICE: &str = "GoDaddy";
/// GoDaddy's minimum TTL, used for new records when none is configured.
const MINIMUM_TTL: u32 = 600;
const DOMAINS_PER_PAGE: usize = 1000;
const RECORDS_PER_PAGE: usize = 500;
const MAX_PAGES: usize = 20;

/// `type = "godaddy"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GodaddySpec {
    /// A production API key (developer.godaddy.com/keys).
    pub api_key: Secret,
    /// Its secret.
    pub api_secret: Secret,
    /// The TTL of records this provider writes when the record sets none (at least 600).
    #[serde(default)]
    pub ttl: Option<u32>,
    /// Replaces the API base URL.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl GodaddySpec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<GodaddyProvider, ProviderConfigError> {
        require(
            &self.api_key,
            "api_key",
            "create a production API key at developer.godaddy.com/keys",
        )?;
        require(
            &self.api_secret,
            "api_secret",
            "give the secret shown with the API key",
        )?;
        let base = cloud::endpoint_url(self.endpoint.as_deref(), DEFAULT_ENDPOINT)?;
        http::warn_if_cleartext(&base, "godaddy");
        Ok(GodaddyProvider {
            client: http::client(http::USER_AGENT, &context.http)?,
            endpoint: http::endpoint(&base),
            base,
            api_key: self.api_key.clone(),
            api_secret: self.api_secret.clone(),
            ttl: self.ttl,
            zones: ZoneCache::new(),
        })
    }
}

/// GoDaddy DNS.
pub struct GodaddyProvider {
    client: reqwest::Client,
    base: Url,
    endpoint: String,
    api_key: Secret,
    api_secret: Secret,
    ttl: Option<u32>,
    zones: ZoneCache<()>,
}

impl fmt::Debug for GodaddyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GodaddyProvider")
            .field("endpoint", &self.base.as_str())
            .field("api_key", &self.api_key)
            .field("api_secret", &self.api_secret)
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
    #[serde(rename = "type")]
    rtype: String,
    name: String,
    #[serde(default)]
    data: String,
    #[serde(default)]
    ttl: Option<u32>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    ListDomains,
    ListRecords,
    Write,
}

#[async_trait]
impl Provider for GodaddyProvider {
    fn name(&self) -> &str {
        "godaddy"
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

impl GodaddyProvider {
    async fn reconcile(&self, update: &Update) -> Result<bool, Outcome> {
        let wanted = cloud::wanted(update);
        if wanted.is_empty() {
            return Ok(false);
        }
        let host = &update.hostname;
        let (zone, rr) = self.zone_of(host).await?;
        let records = self.records(&zone.name).await?;
        let ttl = update.ttl.or(self.ttl);
        let mut changed = false;
        for (rtype, desired) in wanted {
            let existing: Vec<&RecordItem> = records
                .iter()
                .filter(|r| RecordType::parse(&r.rtype) == Some(rtype))
                .filter(|r| r.name.eq_ignore_ascii_case(&rr))
                .collect();
            let values: Vec<String> = existing.iter().map(|r| r.data.clone()).collect();
            let current_ttl = existing.first().and_then(|r| r.ttl);
            let same_ttl = ttl.is_none_or(|t| existing.iter().all(|r| r.ttl == Some(t)));
            if !existing.is_empty() && cloud::same_addresses(&values, &desired) && same_ttl {
                continue;
            }
            let ttl = ttl.or(current_ttl).unwrap_or(MINIMUM_TTL);
            let body: Vec<Value> = desired
                .iter()
                .map(|a| json!({"data": a.to_string(), "ttl": ttl}))
                .collect();
            let url = self.url(&[
                "v1",
                "domains",
                zone.name.as_str(),
                "records",
                rtype.as_str(),
                &rr,
            ]);
            let reply = self
                .send(Method::PUT, url, Some(&Value::Array(body)))
                .await?;
            if !reply.status.is_success() {
                return Err(self.classify(&reply, Phase::Write, Some(&zone.name), Some(ttl)));
            }
            tracing::info!(host = %host, rtype = rtype.as_str(), "godaddy records written");
            changed = true;
        }
        Ok(changed)
    }

    fn url(&self, segments: &[&str]) -> Url {
        cloud::join(&self.base, segments)
    }

    async fn send(&self, method: Method, url: Url, body: Option<&Value>) -> Result<Reply, Outcome> {
        let mut request = self.client.request(method, url).header(
            "Authorization",
            format!(
                "sso-key {}:{}",
                self.api_key.expose(),
                self.api_secret.expose()
            ),
        );
        if let Some(body) = body {
            request = request.json(body);
        }
        http::send(request, &self.endpoint).await
    }

    async fn zone_of(&self, host: &DomainName) -> Result<(Zone<()>, String), Outcome> {
        if let Some(hit) = self.zones.get(host) {
            return Ok(hit);
        }
        let mut zones = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.url(&["v1", "domains"]);
            url.query_pairs_mut()
                .append_pair("statuses", "ACTIVE")
                .append_pair("limit", &DOMAINS_PER_PAGE.to_string());
            if let Some(m) = &marker {
                url.query_pairs_mut().append_pair("marker", m);
            }
            let reply = self.send(Method::GET, url, None).await?;
            if !reply.status.is_success() {
                return Err(self.classify(&reply, Phase::ListDomains, None, None));
            }
            let domains: Vec<DomainItem> =
                cloud::decode(SERVICE, &self.endpoint, "the domain listing", &reply.body)?;
            let got = domains.len();
            marker = domains.last().map(|d| d.domain.clone());
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

    /// Every record of the zone (GoDaddy has no filter by name alone), across pages.
    async fn records(&self, zone: &DomainName) -> Result<Vec<RecordItem>, Outcome> {
        let mut all = Vec::new();
        for page in 0..MAX_PAGES {
            let mut url = self.url(&["v1", "domains", zone.as_str(), "records"]);
            url.query_pairs_mut()
                .append_pair("offset", &(page * RECORDS_PER_PAGE).to_string())
                .append_pair("limit", &RECORDS_PER_PAGE.to_string());
            let reply = self.send(Method::GET, url, None).await?;
            if !reply.status.is_success() {
                return Err(self.classify(&reply, Phase::ListRecords, Some(zone), None));
            }
            let records: Vec<RecordItem> =
                cloud::decode(SERVICE, &self.endpoint, "the record listing", &reply.body)?;
            let got = records.len();
            all.extend(records);
            if got < RECORDS_PER_PAGE {
                break;
            }
        }
        Ok(all)
    }

    fn classify(
        &self,
        reply: &Reply,
        phase: Phase,
        zone: Option<&DomainName>,
        ttl: Option<u32>,
    ) -> Outcome {
        let secrets = [&self.api_key, &self.api_secret];
        let body: Option<Value> = serde_json::from_str(&reply.body).ok();
        let code = body
            .as_ref()
            .and_then(|v| v["code"].as_str())
            .unwrap_or_default()
            .to_owned();
        let says = match &body {
            Some(v) if !code.is_empty() => {
                cloud::vendor_says(&code, v["message"].as_str().unwrap_or_default(), &secrets)
            }
            _ => cloud::redact(&reply.body_excerpt(), &secrets),
        };
        if reply.status == StatusCode::TOO_MANY_REQUESTS || code == "TOO_MANY_REQUESTS" {
            let hinted = body
                .as_ref()
                .and_then(|v| v["retryAfterSec"].as_u64())
                .map(Duration::from_secs);
            return Outcome::Transient {
                reason: format!(
                    "{SERVICE} asks to slow down ({says}); it allows 60 requests a minute per endpoint"
                ),
                retry_after: reply.retry_after.or(hinted),
            };
        }
        if let Some(outcome) = http::generic_status(reply, &self.endpoint, "endpoint") {
            return outcome;
        }
        let zone_name = zone.map_or("the domain", DomainName::as_str);
        match reply.status {
            StatusCode::UNAUTHORIZED => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "{SERVICE} refused the key ({says}): check api_key and api_secret; they must be a production key, not an OTE test key"
                ),
            ),
            StatusCode::FORBIDDEN => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "the API key has no permission to manage DNS of {zone_name} ({says}): since 2024 GoDaddy opens the Domains API only to accounts with 10 or more domains or a Domain Pro plan; check api_key belongs to the account that holds the domain"
                ),
            ),
            StatusCode::NOT_FOUND if phase != Phase::ListDomains => Outcome::transient(format!(
                "{SERVICE} no longer lists {zone_name} for this API key ({says}); the domains are listed again on the next attempt"
            )),
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY
                if reply.body.contains("ttl") =>
            {
                Outcome::fatal(
                    FatalKind::Config,
                    format!(
                        "{SERVICE} refused the TTL {} ({says}): set ttl to 600 or more",
                        ttl.map_or_else(|| "asked for".to_owned(), |t| t.to_string())
                    ),
                )
            }
            status => Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{SERVICE} answered HTTP {status} to the {} of {zone_name} ({says}): check the provider settings",
                    match phase {
                        Phase::ListDomains => "domain listing",
                        Phase::ListRecords => "record listing",
                        Phase::Write => "update",
                    }
                ),
            ),
        }
    }
}
