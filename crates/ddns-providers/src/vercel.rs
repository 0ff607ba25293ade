//! Publishing to Vercel DNS through its REST API: one record per address, addressed by id.
//!
//! ```text
//! GET    {endpoint}/v5/domains?limit=100[&until=T][&teamId=…] → {"domains":[{"name":"example.com",…}],
//!                                                                "pagination":{"next":T|null,…}}
//! GET    {endpoint}/v4/domains/{zone}/records?limit=100      → {"records":[{"id":"rec_…","name":"home",
//!                                                                "type":"A","value":"192.0.2.1","ttl":60}],…}
//! POST   {endpoint}/v2/domains/{zone}/records                 ← {"name":"home","type":"A","value":…,"ttl":60}
//! PATCH  {endpoint}/v1/domains/records/{id}                   ← {"value":…,"ttl":60}
//! DELETE {endpoint}/v2/domains/{zone}/records/{id}
//! Authorization: Bearer TOKEN
//!
//! 403 {"error":{"code":"forbidden","message":"Not authorized","invalidToken":true}}   wrong token
//! 403 {"error":{"code":"forbidden","message":"You don't have permission to …"}}       wrong scope
//! 404 {"error":{"code":"not_found","message":"…"}}
//! 400 {"error":{"code":"bad_request","message":"…ttl…"}}
//! 429 {"error":{"code":"rate_limited",…}} with X-RateLimit-Reset (Unix time)
//! ```
//! Sources: vercel.com/docs/rest-api/reference/endpoints/domains (list domains),
//! …/endpoints/dns (list, create, update, delete DNS records; the apex `name` is the empty
//! string; the minimum TTL is 60), vercel.com/docs/rest-api#authentication (Bearer tokens,
//! `teamId` for a team's resources) and vercel.com/docs/rest-api#rate-limits (429 with
//! `X-RateLimit-Reset`, which `http` turns into the retry hint).
//!
//! The zone is the longest of the account's (or team's) domains the name lies in
//! (`zone_split`); the zone's records are read once and `cloud::plan_records` decides per
//! family, so nothing is written when they are equal.

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

/// Vercel's API base URL.
pub const DEFAULT_ENDPOINT: &str = "https://api.vercel.com";
const SERVICE: &str = "Vercel";
const PER_PAGE: usize = 100;
const MAX_PAGES: usize = 50;
/// The TTL Vercel gives a record when none is sent.
const DEFAULT_TTL: u32 = 60;

/// `type = "vercel"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VercelSpec {
    /// An access token (vercel.com/account/tokens) whose scope holds the domain.
    pub token: Secret,
    /// The team that owns the domain (`team_…`), when it is not the personal account.
    #[serde(default)]
    pub team_id: Option<String>,
    /// The TTL of records this provider writes when the record sets none (at least 60).
    #[serde(default)]
    pub ttl: Option<u32>,
    /// Replaces the API base URL.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl VercelSpec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<VercelProvider, ProviderConfigError> {
        require(
            &self.token,
            "token",
            "create an access token at vercel.com/account/tokens",
        )?;
        let team_id = match self.team_id.as_deref().map(str::trim) {
            Some("") => {
                return Err(ProviderConfigError::Missing {
                    field: "team_id",
                    hint: "remove it for the personal account, or give the team's id (team_…)",
                });
            }
            Some(id)
                if !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
            {
                return Err(ProviderConfigError::Invalid {
                    field: "team_id",
                    reason: "a team id has letters, digits, '_' and '-' only".into(),
                });
            }
            other => other.map(str::to_owned),
        };
        let base = cloud::endpoint_url(self.endpoint.as_deref(), DEFAULT_ENDPOINT)?;
        http::warn_if_cleartext(&base, "vercel");
        Ok(VercelProvider {
            client: http::client(http::USER_AGENT, &context.http)?,
            endpoint: http::endpoint(&base),
            base,
            token: self.token.clone(),
            team_id,
            ttl: self.ttl,
            zones: ZoneCache::new(),
        })
    }
}

/// Vercel DNS.
pub struct VercelProvider {
    client: reqwest::Client,
    base: Url,
    endpoint: String,
    token: Secret,
    team_id: Option<String>,
    ttl: Option<u32>,
    zones: ZoneCache<()>,
}

impl fmt::Debug for VercelProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VercelProvider")
            .field("endpoint", &self.base.as_str())
            .field("token", &self.token)
            .field("team_id", &self.team_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct DomainsPage {
    #[serde(default)]
    domains: Vec<DomainItem>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

#[derive(Deserialize)]
struct DomainItem {
    name: String,
}

#[derive(Deserialize)]
struct Pagination {
    #[serde(default)]
    next: Option<i64>,
}

#[derive(Deserialize)]
struct RecordsPage {
    #[serde(default)]
    records: Vec<RecordItem>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

#[derive(Deserialize)]
struct RecordItem {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(default)]
    value: String,
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
impl Provider for VercelProvider {
    fn name(&self) -> &str {
        "vercel"
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

impl VercelProvider {
    async fn reconcile(&self, update: &Update) -> Result<bool, Outcome> {
        let wanted = cloud::wanted(update);
        if wanted.is_empty() {
            return Ok(false);
        }
        let host = &update.hostname;
        let (zone, rr) = self.zone_of(host).await?;
        // Vercel's name of the apex is the empty string.
        let name = if rr == "@" { String::new() } else { rr };
        let records = self.records(&zone.name).await?;
        let ttl = update.ttl.or(self.ttl);
        let mut changed = false;
        for (rtype, desired) in wanted {
            let existing: Vec<Existing<String>> = records
                .iter()
                .filter(|r| RecordType::parse(&r.rtype) == Some(rtype))
                .filter(|r| r.name.eq_ignore_ascii_case(&name))
                .map(|r| Existing {
                    id: r.id.clone(),
                    value: r.value.clone(),
                    ttl: r.ttl,
                })
                .collect();
            for step in cloud::plan_records(&existing, &desired, ttl) {
                let zone_name = zone.name.as_str();
                let (method, url, body) = match &step {
                    Step::Create { value } => (
                        Method::POST,
                        self.url(&["v2", "domains", zone_name, "records"]),
                        Some(json!({
                            "name": name,
                            "type": rtype.as_str(),
                            "value": value.to_string(),
                            "ttl": ttl.unwrap_or(DEFAULT_TTL),
                        })),
                    ),
                    Step::Update { id, value, ttl } => {
                        let mut body = json!({"value": value.to_string()});
                        if let Some(ttl) = ttl {
                            body["ttl"] = json!(ttl);
                        }
                        (
                            Method::PATCH,
                            self.url(&["v1", "domains", "records", id]),
                            Some(body),
                        )
                    }
                    Step::Delete { id } => (
                        Method::DELETE,
                        self.url(&["v2", "domains", zone_name, "records", id]),
                        None,
                    ),
                };
                let reply = self.send(method, url, body.as_ref()).await?;
                if !reply.status.is_success() {
                    return Err(self.classify(&reply, Phase::Write, Some(&zone.name), ttl));
                }
                tracing::info!(host = %host, rtype = rtype.as_str(), step = ?step, "vercel record written");
                changed = true;
            }
        }
        Ok(changed)
    }

    /// `base` + segments, with `teamId` when one is configured.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = cloud::join(&self.base, segments);
        if let Some(team) = &self.team_id {
            url.query_pairs_mut().append_pair("teamId", team);
        }
        url
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
        let mut until: Option<i64> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.url(&["v5", "domains"]);
            url.query_pairs_mut()
                .append_pair("limit", &PER_PAGE.to_string());
            if let Some(t) = until {
                url.query_pairs_mut().append_pair("until", &t.to_string());
            }
            let reply = self.send(Method::GET, url, None).await?;
            if !reply.status.is_success() {
                return Err(self.classify(&reply, Phase::ListDomains, None, None));
            }
            let page: DomainsPage =
                cloud::decode(SERVICE, &self.endpoint, "the domain listing", &reply.body)?;
            zones.extend(page.domains.iter().filter_map(|d| {
                Some(Zone {
                    name: parse_zone_name(&d.name)?,
                    id: (),
                })
            }));
            until = page.pagination.and_then(|p| p.next);
            if until.is_none() || page.domains.is_empty() {
                break;
            }
        }
        let Some((zone, rr)) = longest_match(host, &zones) else {
            return Err(no_zone(SERVICE, "token", host, &zones));
        };
        self.zones.put(host, zone, &rr);
        Ok((zone.clone(), rr))
    }

    /// Every record of the zone, across pages.
    async fn records(&self, zone: &DomainName) -> Result<Vec<RecordItem>, Outcome> {
        let mut all = Vec::new();
        let mut until: Option<i64> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.url(&["v4", "domains", zone.as_str(), "records"]);
            url.query_pairs_mut()
                .append_pair("limit", &PER_PAGE.to_string());
            if let Some(t) = until {
                url.query_pairs_mut().append_pair("until", &t.to_string());
            }
            let reply = self.send(Method::GET, url, None).await?;
            if !reply.status.is_success() {
                return Err(self.classify(&reply, Phase::ListRecords, Some(zone), None));
            }
            let page: RecordsPage =
                cloud::decode(SERVICE, &self.endpoint, "the record listing", &reply.body)?;
            let empty = page.records.is_empty();
            all.extend(page.records);
            until = page.pagination.and_then(|p| p.next);
            if until.is_none() || empty {
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
        let body: Option<Value> = serde_json::from_str(&reply.body).ok();
        let error = body.as_ref().map(|v| &v["error"]);
        let code = error
            .and_then(|e| e["code"].as_str())
            .unwrap_or_default()
            .to_owned();
        let says = match error {
            Some(e) if !code.is_empty() => cloud::vendor_says(
                &code,
                e["message"].as_str().unwrap_or_default(),
                &[&self.token],
            ),
            _ => cloud::redact(&reply.body_excerpt(), &[&self.token]),
        };
        if reply.status == StatusCode::TOO_MANY_REQUESTS || code == "rate_limited" {
            return Outcome::Transient {
                reason: format!("{SERVICE} asks to slow down ({says})"),
                retry_after: reply.retry_after,
            };
        }
        if let Some(outcome) = http::generic_status(reply, &self.endpoint, "endpoint") {
            return outcome;
        }
        let invalid_token = error.is_some_and(|e| e["invalidToken"] == Value::Bool(true));
        let zone_name = zone.map_or("the domain", DomainName::as_str);
        match reply.status {
            StatusCode::UNAUTHORIZED => Outcome::fatal(
                FatalKind::Auth,
                format!("{SERVICE} refused the token ({says}): check token"),
            ),
            StatusCode::FORBIDDEN if invalid_token => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "{SERVICE} refused the token ({says}): check token; it may have expired or been deleted"
                ),
            ),
            StatusCode::FORBIDDEN => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "the token has no permission for the scope that owns {zone_name} ({says}): create the token with the scope of the team that owns the domain, and set team_id to that team"
                ),
            ),
            StatusCode::NOT_FOUND if phase != Phase::ListDomains => Outcome::transient(format!(
                "{SERVICE} no longer knows {zone_name} or one of its records ({says}); they are read again on the next attempt"
            )),
            StatusCode::BAD_REQUEST if reply.body.contains("ttl") => Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{SERVICE} refused the TTL {} ({says}): set ttl to 60 or more",
                    ttl.map_or_else(|| "asked for".to_owned(), |t| t.to_string())
                ),
            ),
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
