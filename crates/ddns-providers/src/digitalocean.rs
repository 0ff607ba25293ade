//! Publishing to DigitalOcean DNS through API v2: one record per address, addressed by id.
//!
//! ```text
//! GET    {endpoint}/domains?per_page=200&page=N          → {"domains":[{"name":"example.com",…}],
//!                                                           "links":{"pages":{"next":…}},"meta":{"total":1}}
//! GET    {endpoint}/domains/{zone}/records?name=FQDN     → {"domain_records":[{"id":3352896,"type":"A",
//!                                                           "name":"home","data":"192.0.2.1","ttl":1800}],…}
//! POST   {endpoint}/domains/{zone}/records               ← {"type":"A","name":"home","data":…,"ttl":1800}
//! PATCH  {endpoint}/domains/{zone}/records/{id}          ← {"type":"A","data":…,"ttl":…}
//! DELETE {endpoint}/domains/{zone}/records/{id}          → 204
//! Authorization: Bearer TOKEN
//!
//! 401 {"id":"unauthorized","message":"Unable to authenticate you."}
//! 403 {"id":"forbidden","message":"You do not have access for the attempted action."}
//! 404 {"id":"not_found","message":"The resource you were accessing could not be found."}
//! 422 {"id":"unprocessable_entity","message":"…"}          (a bad TTL or value)
//! 429 {"id":"too_many_requests","message":"API Rate limit exceeded."}
//!     with ratelimit-limit / ratelimit-remaining / ratelimit-reset (Unix time)
//! ```
//! Sources: docs.digitalocean.com/reference/api/digitalocean/#tag/Domains and
//! #tag/Domain-Records (the `name` filter takes the full name, `@` is the apex), and the API
//! introduction's "Rate Limit" section (5,000 requests an hour and 250 a minute per token; a
//! 429 carries `ratelimit-reset`, which `http` turns into the retry hint). Custom-scoped
//! tokens need `domain:read` and `domain:create`/`update`/`delete`.
//!
//! The zone is the longest of the account's domains the name lies in (`zone_split`), the
//! name's records are read once (all types), and `cloud::plan_records` decides per family:
//! records that hold a wanted address stay, others are re-pointed before anything is created
//! or deleted, nothing is written when they are equal.

use std::fmt;

use async_trait::async_trait;
use ddns_core::DomainName;
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cloud::{self, Existing, RecordType, Step};
use crate::http::{self, Reply};
use crate::outcome::{FatalKind, Outcome};
use crate::provider::{Capabilities, Provider, Update};
use crate::spec::{BuildContext, ProviderConfigError, Secret, require};
use crate::zone_split::{Zone, ZoneCache, longest_match, no_zone, parse_zone_name};

/// DigitalOcean's API base URL.
pub const DEFAULT_ENDPOINT: &str = "https://api.digitalocean.com/v2";
const SERVICE: &str = "DigitalOcean";
/// The most records or domains the API returns per page.
const PER_PAGE: usize = 200;
const MAX_PAGES: usize = 50;
/// The TTL DigitalOcean gives a record when none is sent.
const DEFAULT_TTL: u32 = 1800;

/// `type = "digitalocean"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigitaloceanSpec {
    /// A personal access token with write scope (or the custom scopes `domain:read`,
    /// `domain:create`, `domain:update`, `domain:delete`).
    pub token: Secret,
    /// The TTL of records this provider writes when the record sets none (at least 30).
    #[serde(default)]
    pub ttl: Option<u32>,
    /// Replaces the API base URL.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl DigitaloceanSpec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<DigitaloceanProvider, ProviderConfigError> {
        require(
            &self.token,
            "token",
            "create a personal access token at cloud.digitalocean.com/account/api/tokens",
        )?;
        let base = cloud::endpoint_url(self.endpoint.as_deref(), DEFAULT_ENDPOINT)?;
        http::warn_if_cleartext(&base, "digitalocean");
        Ok(DigitaloceanProvider {
            client: http::client(http::USER_AGENT, &context.http)?,
            endpoint: http::endpoint(&base),
            base,
            token: self.token.clone(),
            ttl: self.ttl,
            zones: ZoneCache::new(),
        })
    }
}

/// DigitalOcean DNS.
pub struct DigitaloceanProvider {
    client: reqwest::Client,
    base: Url,
    endpoint: String,
    token: Secret,
    ttl: Option<u32>,
    /// DigitalOcean addresses domains by name.
    zones: ZoneCache<()>,
}

impl fmt::Debug for DigitaloceanProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigitaloceanProvider")
            .field("endpoint", &self.base.as_str())
            .field("token", &self.token)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct DomainsPage {
    #[serde(default)]
    domains: Vec<DomainItem>,
    #[serde(default)]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct DomainItem {
    name: String,
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    pages: Option<Pages>,
}

#[derive(Deserialize)]
struct Pages {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct RecordsPage {
    #[serde(default)]
    domain_records: Vec<RecordItem>,
    #[serde(default)]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct RecordItem {
    id: u64,
    #[serde(rename = "type")]
    rtype: String,
    name: String,
    #[serde(default)]
    data: String,
    #[serde(default)]
    ttl: Option<u32>,
}

/// Which call failed, for messages that say what permission is missing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    ListDomains,
    ListRecords,
    Write(&'static str),
}

#[async_trait]
impl Provider for DigitaloceanProvider {
    fn name(&self) -> &str {
        "digitalocean"
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

impl DigitaloceanProvider {
    async fn reconcile(&self, update: &Update) -> Result<bool, Outcome> {
        let wanted = cloud::wanted(update);
        if wanted.is_empty() {
            return Ok(false);
        }
        let host = &update.hostname;
        let (zone, rr) = self.zone_of(host).await?;
        let records = self.records(&zone.name, host).await?;
        let ttl = update.ttl.or(self.ttl);
        let mut changed = false;
        for (rtype, desired) in wanted {
            let existing: Vec<Existing<u64>> = records
                .iter()
                .filter(|r| RecordType::parse(&r.rtype) == Some(rtype))
                .filter(|r| r.name.eq_ignore_ascii_case(&rr))
                .map(|r| Existing {
                    id: r.id,
                    value: r.data.clone(),
                    ttl: r.ttl,
                })
                .collect();
            for step in cloud::plan_records(&existing, &desired, ttl) {
                self.write(&zone.name, &rr, rtype, ttl, &step).await?;
                tracing::info!(host = %host, rtype = rtype.as_str(), step = ?step, "digitalocean record written");
                changed = true;
            }
        }
        Ok(changed)
    }

    async fn write(
        &self,
        zone: &DomainName,
        rr: &str,
        rtype: RecordType,
        ttl: Option<u32>,
        step: &Step<u64>,
    ) -> Result<(), Outcome> {
        let records = ["domains", zone.as_str(), "records"];
        let (method, url, body, action) = match step {
            Step::Create { value } => (
                Method::POST,
                self.url(&records),
                Some(json!({
                    "type": rtype.as_str(),
                    "name": rr,
                    "data": value.to_string(),
                    "ttl": ttl.unwrap_or(DEFAULT_TTL),
                })),
                "create",
            ),
            Step::Update { id, value, ttl } => {
                let mut body = json!({"type": rtype.as_str(), "data": value.to_string()});
                if let Some(ttl) = ttl {
                    body["ttl"] = json!(ttl);
                }
                let id = id.to_string();
                (
                    Method::PATCH,
                    self.url(&["domains", zone.as_str(), "records", &id]),
                    Some(body),
                    "update",
                )
            }
            Step::Delete { id } => {
                let id = id.to_string();
                (
                    Method::DELETE,
                    self.url(&["domains", zone.as_str(), "records", &id]),
                    None,
                    "delete",
                )
            }
        };
        let reply = self.send(method, url, body.as_ref()).await?;
        if reply.status.is_success() {
            Ok(())
        } else {
            Err(self.classify(&reply, Phase::Write(action), Some(zone), ttl))
        }
    }

    fn url(&self, segments: &[&str]) -> Url {
        cloud::join(&self.base, segments)
    }

    async fn send(&self, method: Method, url: Url, body: Option<&Value>) -> Result<Reply, Outcome> {
        let mut request = self
            .client
            .request(method, url)
            .bearer_auth(self.token.expose());
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
        for page in 1..=MAX_PAGES {
            let mut url = self.url(&["domains"]);
            url.query_pairs_mut()
                .append_pair("per_page", &PER_PAGE.to_string())
                .append_pair("page", &page.to_string());
            let reply = self.send(Method::GET, url, None).await?;
            if !reply.status.is_success() {
                return Err(self.classify(&reply, Phase::ListDomains, None, None));
            }
            let page: DomainsPage =
                cloud::decode(SERVICE, &self.endpoint, "the domain listing", &reply.body)?;
            let more = has_next(page.links.as_ref()) && !page.domains.is_empty();
            zones.extend(page.domains.into_iter().filter_map(|d| {
                Some(Zone {
                    name: parse_zone_name(&d.name)?,
                    id: (),
                })
            }));
            if !more {
                break;
            }
        }
        let Some((zone, rr)) = longest_match(host, &zones) else {
            return Err(no_zone(SERVICE, "token", host, &zones));
        };
        self.zones.put(host, zone, &rr);
        Ok((zone.clone(), rr))
    }

    /// Every record of the name, of any type, across pages.
    async fn records(
        &self,
        zone: &DomainName,
        host: &DomainName,
    ) -> Result<Vec<RecordItem>, Outcome> {
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let mut url = self.url(&["domains", zone.as_str(), "records"]);
            url.query_pairs_mut()
                .append_pair("name", host.as_str())
                .append_pair("per_page", &PER_PAGE.to_string())
                .append_pair("page", &page.to_string());
            let reply = self.send(Method::GET, url, None).await?;
            if !reply.status.is_success() {
                return Err(self.classify(&reply, Phase::ListRecords, Some(zone), None));
            }
            let page: RecordsPage =
                cloud::decode(SERVICE, &self.endpoint, "the record listing", &reply.body)?;
            let more = has_next(page.links.as_ref()) && !page.domain_records.is_empty();
            all.extend(page.domain_records);
            if !more {
                break;
            }
        }
        Ok(all)
    }

    /// Classifies a reply that is not a success.
    fn classify(
        &self,
        reply: &Reply,
        phase: Phase,
        zone: Option<&DomainName>,
        ttl: Option<u32>,
    ) -> Outcome {
        let says = describe(reply, &self.token);
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            return Outcome::Transient {
                reason: format!(
                    "{SERVICE} asks to slow down (HTTP 429: {says}); a token may make 250 requests a minute and 5,000 an hour"
                ),
                retry_after: reply.retry_after,
            };
        }
        if let Some(outcome) = http::generic_status(reply, &self.endpoint, "endpoint") {
            return outcome;
        }
        let zone_name = zone.map_or("the domain", DomainName::as_str);
        match (reply.status, phase) {
            (StatusCode::UNAUTHORIZED, _) => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "{SERVICE} refused the token ({says}): check token; it may have expired or been revoked"
                ),
            ),
            (StatusCode::FORBIDDEN, Phase::Write(action)) => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "the token has no permission domain:{action} on {zone_name} ({says}): create a token with write scope, or the custom scopes domain:read, domain:create, domain:update and domain:delete"
                ),
            ),
            (StatusCode::FORBIDDEN, _) => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "the token has no permission domain:read ({says}): create a token with read and write scope, or the custom domain scopes"
                ),
            ),
            (StatusCode::NOT_FOUND, Phase::ListRecords | Phase::Write(_)) => {
                Outcome::transient(format!(
                    "{SERVICE} no longer knows {zone_name} or one of its records ({says}); they are read again on the next attempt"
                ))
            }
            (StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST, Phase::Write(_))
                if reply.body.to_ascii_lowercase().contains("ttl") =>
            {
                Outcome::fatal(
                    FatalKind::Config,
                    format!(
                        "{SERVICE} refused the TTL {} ({says}): set ttl to 30 or more",
                        ttl.map_or_else(|| "asked for".to_owned(), |t| t.to_string())
                    ),
                )
            }
            (status, _) => Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{SERVICE} answered HTTP {status} to the {} of {zone_name} ({says}): check the provider settings",
                    match phase {
                        Phase::ListDomains => "domain listing",
                        Phase::ListRecords => "record listing",
                        Phase::Write(action) => action,
                    }
                ),
            ),
        }
    }
}

fn has_next(links: Option<&Links>) -> bool {
    links
        .and_then(|l| l.pages.as_ref())
        .and_then(|p| p.next.as_deref())
        .is_some_and(|n| !n.is_empty())
}

/// `id: message` of an error body, or its first line.
fn describe(reply: &Reply, token: &Secret) -> String {
    match serde_json::from_str::<Value>(&reply.body) {
        Ok(v) if v["id"].is_string() => cloud::vendor_says(
            v["id"].as_str().unwrap_or_default(),
            v["message"].as_str().unwrap_or_default(),
            &[token],
        ),
        _ => cloud::redact(&reply.body_excerpt(), &[token]),
    }
}
