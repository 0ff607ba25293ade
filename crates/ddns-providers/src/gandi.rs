//! Publishing to Gandi LiveDNS through the v5 API: one RRset per family, replaced by name and
//! type.
//!
//! ```text
//! GET {endpoint}/domains?per_page=100&page=N        → [{"fqdn":"example.com",…}]
//! GET {endpoint}/domains/{zone}/records/{name}      → [{"rrset_name":"home","rrset_type":"A",
//!                                                      "rrset_ttl":300,"rrset_values":["192.0.2.1"]}]
//! PUT {endpoint}/domains/{zone}/records/{name}/{type} ← {"rrset_values":[…],"rrset_ttl":300}
//!                                                    → 201 {"message":"DNS Record Created"}
//! Authorization: Bearer PERSONAL_ACCESS_TOKEN         (legacy: Apikey KEY)
//!
//! 401 {"code":401,"message":"…","object":"HTTPUnauthorized","cause":"Unauthorized"}
//! 403 {"code":403,"message":"Access was denied to this resource.","object":"HTTPForbidden",…}
//! 404 {"code":404,"message":"The resource could not be found.","object":"HTTPNotFound",…}
//! 429 throttled (1,000 requests a minute per address)
//! ```
//! Sources: api.gandi.net/docs/livedns/ (domains, records by name, PUT replaces the RRset,
//! `@` is the apex, the minimum TTL is 300) and api.gandi.net/docs/authentication/ (personal
//! access tokens with the permission "Manage domain name technical configurations" replace
//! the deprecated API key; the public API allows 1,000 requests a minute and answers 429
//! beyond; a `Retry-After`, when sent, is honoured).
//!
//! The zone is the longest of the LiveDNS domains the token sees (`zone_split`); the name's
//! RRsets are read once, and only a family whose values or TTL differ is written (one PUT).

use std::fmt;
use std::net::IpAddr;

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

/// Gandi LiveDNS's API base URL.
pub const DEFAULT_ENDPOINT: &str = "https://api.gandi.net/v5/livedns";
const SERVICE: &str = "Gandi LiveDNS";
const PER_PAGE: usize = 100;
const MAX_PAGES: usize = 50;
/// The permission a personal access token needs.
const PERMISSION: &str = "Manage domain name technical configurations";

/// `type = "gandi"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GandiSpec {
    /// A personal access token (admin.gandi.net → Organizations → Sharing → Personal Access
    /// Tokens) with "Manage domain name technical configurations".
    #[serde(default)]
    pub token: Option<Secret>,
    /// The deprecated API key, instead of `token`.
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// The TTL of RRsets this provider writes when the record sets none (at least 300).
    #[serde(default)]
    pub ttl: Option<u32>,
    /// Replaces the API base URL.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl GandiSpec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<GandiProvider, ProviderConfigError> {
        let auth = match (&self.token, &self.api_key) {
            (Some(token), None) => {
                require(
                    token,
                    "token",
                    "create a personal access token in the Gandi admin",
                )?;
                Auth::Token(token.clone())
            }
            (None, Some(key)) => {
                require(
                    key,
                    "api_key",
                    "or better, give a personal access token as token",
                )?;
                Auth::ApiKey(key.clone())
            }
            (None, None) => {
                return Err(ProviderConfigError::Missing {
                    field: "token",
                    hint: "create a personal access token with \"Manage domain name technical configurations\" in the Gandi admin",
                });
            }
            (Some(_), Some(_)) => {
                return Err(ProviderConfigError::Invalid {
                    field: "token",
                    reason: "give either token or the deprecated api_key, not both".into(),
                });
            }
        };
        let base = cloud::endpoint_url(self.endpoint.as_deref(), DEFAULT_ENDPOINT)?;
        http::warn_if_cleartext(&base, "gandi");
        Ok(GandiProvider {
            client: http::client(http::USER_AGENT, &context.http)?,
            endpoint: http::endpoint(&base),
            base,
            auth,
            ttl: self.ttl,
            zones: ZoneCache::new(),
        })
    }
}

#[derive(Clone)]
enum Auth {
    Token(Secret),
    ApiKey(Secret),
}

impl Auth {
    fn header(&self) -> String {
        match self {
            Self::Token(t) => format!("Bearer {}", t.expose()),
            Self::ApiKey(k) => format!("Apikey {}", k.expose()),
        }
    }

    fn secret(&self) -> &Secret {
        match self {
            Self::Token(s) | Self::ApiKey(s) => s,
        }
    }

    fn setting(&self) -> &'static str {
        match self {
            Self::Token(_) => "token",
            Self::ApiKey(_) => "api_key",
        }
    }
}

/// Gandi LiveDNS.
pub struct GandiProvider {
    client: reqwest::Client,
    base: Url,
    endpoint: String,
    auth: Auth,
    ttl: Option<u32>,
    zones: ZoneCache<()>,
}

impl fmt::Debug for GandiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GandiProvider")
            .field("endpoint", &self.base.as_str())
            .field(self.auth.setting(), self.auth.secret())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct DomainItem {
    fqdn: String,
}

#[derive(Deserialize)]
struct Rrset {
    rrset_name: String,
    rrset_type: String,
    #[serde(default)]
    rrset_ttl: Option<u32>,
    #[serde(default)]
    rrset_values: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    ListDomains,
    ListRecords,
    Write,
}

#[async_trait]
impl Provider for GandiProvider {
    fn name(&self) -> &str {
        "gandi"
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

impl GandiProvider {
    async fn reconcile(&self, update: &Update) -> Result<bool, Outcome> {
        let wanted = cloud::wanted(update);
        if wanted.is_empty() {
            return Ok(false);
        }
        let host = &update.hostname;
        let (zone, rr) = self.zone_of(host).await?;
        let zone_name = zone.name.as_str();
        let reply = self
            .send(
                Method::GET,
                self.url(&["domains", zone_name, "records", &rr]),
                None,
            )
            .await?;
        if !reply.status.is_success() {
            return Err(self.classify(&reply, Phase::ListRecords, Some(&zone.name), None));
        }
        // A name without records is an empty list.
        let rrsets: Vec<Rrset> =
            cloud::decode(SERVICE, &self.endpoint, "the record listing", &reply.body)?;
        let ttl = update.ttl.or(self.ttl);
        let mut changed = false;
        for (rtype, desired) in wanted {
            let existing = rrsets.iter().find(|s| {
                RecordType::parse(&s.rrset_type) == Some(rtype)
                    && s.rrset_name.eq_ignore_ascii_case(&rr)
            });
            if let Some(set) = existing
                && cloud::same_addresses(&set.rrset_values, &desired)
                && ttl.is_none_or(|t| set.rrset_ttl == Some(t))
            {
                continue;
            }
            let values: Vec<String> = desired.iter().map(IpAddr::to_string).collect();
            let mut body = json!({ "rrset_values": values });
            if let Some(t) = ttl.or(existing.and_then(|s| s.rrset_ttl)) {
                body["rrset_ttl"] = json!(t);
            }
            let url = self.url(&["domains", zone_name, "records", &rr, rtype.as_str()]);
            let reply = self.send(Method::PUT, url, Some(&body)).await?;
            if !reply.status.is_success() {
                return Err(self.classify(&reply, Phase::Write, Some(&zone.name), ttl));
            }
            tracing::info!(host = %host, rtype = rtype.as_str(), values = ?values, "gandi rrset written");
            changed = true;
        }
        Ok(changed)
    }

    fn url(&self, segments: &[&str]) -> Url {
        cloud::join(&self.base, segments)
    }

    async fn send(&self, method: Method, url: Url, body: Option<&Value>) -> Result<Reply, Outcome> {
        let mut request = self
            .client
            .request(method, url)
            .header("Authorization", self.auth.header());
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
            let domains: Vec<DomainItem> =
                cloud::decode(SERVICE, &self.endpoint, "the domain listing", &reply.body)?;
            let got = domains.len();
            zones.extend(domains.into_iter().filter_map(|d| {
                Some(Zone {
                    name: parse_zone_name(&d.fqdn)?,
                    id: (),
                })
            }));
            if got < PER_PAGE {
                break;
            }
        }
        let Some((zone, rr)) = longest_match(host, &zones) else {
            return Err(no_zone(SERVICE, self.auth.setting(), host, &zones));
        };
        self.zones.put(host, zone, &rr);
        Ok((zone.clone(), rr))
    }

    fn classify(
        &self,
        reply: &Reply,
        phase: Phase,
        zone: Option<&DomainName>,
        ttl: Option<u32>,
    ) -> Outcome {
        let says = describe(reply, self.auth.secret());
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            return Outcome::Transient {
                reason: format!(
                    "{SERVICE} asks to slow down (HTTP 429: {says}); the API allows 1,000 requests a minute per address"
                ),
                retry_after: reply.retry_after,
            };
        }
        if let Some(outcome) = http::generic_status(reply, &self.endpoint, "endpoint") {
            return outcome;
        }
        let zone_name = zone.map_or("the domain", DomainName::as_str);
        let setting = self.auth.setting();
        match reply.status {
            StatusCode::UNAUTHORIZED => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "{SERVICE} refused the {setting} ({says}): check {setting}; personal access tokens expire, create a new one if it has"
                ),
            ),
            StatusCode::FORBIDDEN => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "the {setting} has no permission {PERMISSION} on {zone_name} ({says}): give the token that permission for the domain's organization"
                ),
            ),
            StatusCode::NOT_FOUND if phase != Phase::ListDomains => Outcome::transient(format!(
                "{SERVICE} no longer serves {zone_name} for this {setting} ({says}); the domains are listed again on the next attempt"
            )),
            StatusCode::BAD_REQUEST if reply.body.contains("ttl") => Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{SERVICE} refused the TTL {} ({says}): set ttl to 300 or more",
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

/// `cause: message` of a Gandi error object, or the body's first line.
fn describe(reply: &Reply, secret: &Secret) -> String {
    match serde_json::from_str::<Value>(&reply.body) {
        Ok(v) if v["message"].is_string() => cloud::vendor_says(
            v["cause"]
                .as_str()
                .or(v["object"].as_str())
                .unwrap_or("error"),
            v["message"].as_str().unwrap_or_default(),
            &[secret],
        ),
        _ => cloud::redact(&reply.body_excerpt(), &[secret]),
    }
}
