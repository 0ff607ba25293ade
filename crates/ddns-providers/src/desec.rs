//! Publishing to deSEC (desec.io) through its REST API: RRsets addressed by subname and type,
//! written in one atomic bulk request.
//!
//! ```text
//! GET   {endpoint}/domains/                          → [{"name":"example.com","minimum_ttl":3600,…}]
//! GET   {endpoint}/domains/{zone}/rrsets/?subname=S  → [{"subname":"home","type":"A","ttl":3600,
//!                                                        "records":["192.0.2.1"],…}]   (one read)
//! PATCH {endpoint}/domains/{zone}/rrsets/            ← [{"subname":"home","type":"A","records":[…]},…]
//! Authorization: Token TOKEN
//!
//! 401 {"detail":"Invalid token."}                       wrong token
//! 403 {"detail":"You do not have permission to perform this action."}   token policy denies it
//! 404 {"detail":"Not found."}                           a domain the token does not own
//! 400 [{"ttl":["Ensure this value is greater than or equal to 3600."]}]  bulk: one object per item
//! 429 {"detail":"Request was throttled. Expected available in 7 seconds."} + Retry-After: 7
//! ```
//! Sources: desec.readthedocs.io/en/latest/dns/domains.html (listing, `minimum_ttl`),
//! …/dns/rrsets.html (filtering by subname with `subname=` for the apex, bulk PATCH is atomic,
//! `records: []` deletes, the apex is `""` in bulk bodies), …/rate-limits.html (429 with
//! `Retry-After`; RRset writes 2/s, 15/min, 100/h, 300/day per domain, so a no-op must not
//! write).
//!
//! A family is one RRset, so several addresses are one RRset with several records. The zone is
//! the longest of the account's domains the name lies in (`zone_split`); the name's RRsets are
//! read once, and the families that differ go in one PATCH (`ttl` only when the RRset is new or
//! the TTL is to change, so an RRset keeps its TTL). New RRsets get the configured TTL or the
//! domain's `minimum_ttl`.

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

/// deSEC's API base URL.
pub const DEFAULT_ENDPOINT: &str = "https://desec.io/api/v1";
const SERVICE: &str = "deSEC";
/// deSEC's minimum TTL when the domain listing does not say.
const DEFAULT_MINIMUM_TTL: u32 = 3600;
/// Pages of the domain listing read at most (500 domains each).
const MAX_PAGES: usize = 100;

/// `type = "desec"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesecSpec {
    /// An API token of the account (desec.io → Token Management).
    pub token: Secret,
    /// The TTL of RRsets this provider creates or changes when the record sets none; at least
    /// the domain's minimum TTL (3600 unless deSEC lowered it for the account).
    #[serde(default)]
    pub ttl: Option<u32>,
    /// Replaces the API base URL.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl DesecSpec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<DesecProvider, ProviderConfigError> {
        require(
            &self.token,
            "token",
            "create a token at desec.io (Token Management) and give it here",
        )?;
        let base = cloud::endpoint_url(self.endpoint.as_deref(), DEFAULT_ENDPOINT)?;
        http::warn_if_cleartext(&base, "desec");
        Ok(DesecProvider {
            client: http::client(http::USER_AGENT, &context.http)?,
            endpoint: http::endpoint(&base),
            base,
            token: self.token.clone(),
            ttl: self.ttl,
            zones: ZoneCache::new(),
        })
    }
}

/// deSEC.
pub struct DesecProvider {
    client: reqwest::Client,
    base: Url,
    endpoint: String,
    token: Secret,
    ttl: Option<u32>,
    /// The zone and its minimum TTL.
    zones: ZoneCache<u32>,
}

impl fmt::Debug for DesecProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DesecProvider")
            .field("endpoint", &self.base.as_str())
            .field("token", &self.token)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct DomainItem {
    name: String,
    #[serde(default)]
    minimum_ttl: Option<u32>,
}

#[derive(Deserialize)]
struct Rrset {
    #[serde(default)]
    subname: String,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(default)]
    ttl: Option<u32>,
    #[serde(default)]
    records: Vec<String>,
}

/// Which call failed, for messages that say what is missing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    ListDomains,
    ListRrsets,
    Write,
}

#[async_trait]
impl Provider for DesecProvider {
    fn name(&self) -> &str {
        "desec"
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

impl DesecProvider {
    async fn reconcile(&self, update: &Update) -> Result<bool, Outcome> {
        let wanted = cloud::wanted(update);
        if wanted.is_empty() {
            return Ok(false);
        }
        let host = &update.hostname;
        let (zone, rr) = self.zone_of(host).await?;
        // deSEC's subname of the apex is the empty string.
        let subname = if rr == "@" { String::new() } else { rr };
        let rrsets = self.rrsets(&zone.name, &subname).await?;
        let ttl = update.ttl.or(self.ttl);
        let mut items = Vec::new();
        for (rtype, desired) in wanted {
            let existing = rrsets
                .iter()
                .find(|s| RecordType::parse(&s.rtype) == Some(rtype) && s.subname == subname);
            let records: Vec<String> = desired.iter().map(IpAddr::to_string).collect();
            let mut item = json!({"subname": subname, "type": rtype.as_str(), "records": records});
            match existing {
                Some(set)
                    if cloud::same_addresses(&set.records, &desired)
                        && ttl.is_none_or(|t| set.ttl == Some(t)) =>
                {
                    continue;
                }
                Some(set) => {
                    if let Some(t) = ttl.filter(|t| set.ttl != Some(*t)) {
                        item["ttl"] = json!(t);
                    }
                }
                None => item["ttl"] = json!(ttl.unwrap_or(zone.id)),
            }
            items.push(item);
        }
        if items.is_empty() {
            tracing::debug!(host = %host, "desec already has these addresses");
            return Ok(false);
        }
        let url = self.url(&["domains", zone.name.as_str(), "rrsets", ""]);
        let reply = self
            .send(Method::PATCH, url, Some(&Value::Array(items)))
            .await?;
        if !reply.status.is_success() {
            return Err(self.classify(&reply, Phase::Write, Some(&zone.name), ttl));
        }
        tracing::info!(host = %host, zone = %zone.name, "desec rrsets written");
        Ok(true)
    }

    fn url(&self, segments: &[&str]) -> Url {
        cloud::join(&self.base, segments)
    }

    async fn send(&self, method: Method, url: Url, body: Option<&Value>) -> Result<Reply, Outcome> {
        let mut request = self
            .client
            .request(method, url)
            .header("Authorization", format!("Token {}", self.token.expose()));
        if let Some(body) = body {
            request = request.json(body);
        }
        http::send(request, &self.endpoint).await
    }

    async fn zone_of(&self, host: &DomainName) -> Result<(Zone<u32>, String), Outcome> {
        if let Some(hit) = self.zones.get(host) {
            return Ok(hit);
        }
        // Pages of 500: `cursor=` asks for the first, `Link: <…?cursor=C>; rel="next"` names
        // the next (desec.readthedocs.io/en/latest/dns/rrsets.html#pagination).
        let mut zones: Vec<Zone<u32>> = Vec::new();
        let mut cursor = String::new();
        for _ in 0..MAX_PAGES {
            let mut url = self.url(&["domains", ""]);
            url.query_pairs_mut().append_pair("cursor", &cursor);
            let reply = self.send(Method::GET, url, None).await?;
            if !reply.status.is_success() {
                return Err(self.classify(&reply, Phase::ListDomains, None, None));
            }
            let domains: Vec<DomainItem> =
                cloud::decode(SERVICE, &self.endpoint, "the domain listing", &reply.body)?;
            let empty = domains.is_empty();
            zones.extend(domains.into_iter().filter_map(|d| {
                Some(Zone {
                    name: parse_zone_name(&d.name)?,
                    id: d.minimum_ttl.unwrap_or(DEFAULT_MINIMUM_TTL),
                })
            }));
            match reply.link.as_deref().and_then(next_cursor) {
                Some(next) if !empty => cursor = next,
                _ => break,
            }
        }
        let Some((zone, rr)) = longest_match(host, &zones) else {
            return Err(no_zone(SERVICE, "token", host, &zones));
        };
        self.zones.put(host, zone, &rr);
        Ok((zone.clone(), rr))
    }

    async fn rrsets(&self, zone: &DomainName, subname: &str) -> Result<Vec<Rrset>, Outcome> {
        let mut url = self.url(&["domains", zone.as_str(), "rrsets", ""]);
        url.query_pairs_mut().append_pair("subname", subname);
        let reply = self.send(Method::GET, url, None).await?;
        if !reply.status.is_success() {
            return Err(self.classify(&reply, Phase::ListRrsets, Some(zone), None));
        }
        cloud::decode(SERVICE, &self.endpoint, "the RRset listing", &reply.body)
    }

    /// Classifies a reply that is not a success.
    fn classify(
        &self,
        reply: &Reply,
        phase: Phase,
        zone: Option<&DomainName>,
        ttl: Option<u32>,
    ) -> Outcome {
        let says = cloud::redact(&reply.body_excerpt(), &[&self.token]);
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            return Outcome::Transient {
                reason: format!(
                    "{SERVICE} asks to slow down (HTTP 429: {says}); it allows 15 RRset writes a minute and 300 a day per domain"
                ),
                retry_after: reply.retry_after,
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
                    "{SERVICE} refused the token ({says}): check token; create a new one at desec.io if it was revoked"
                ),
            ),
            StatusCode::FORBIDDEN => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "the token has no permission perm_write on {zone_name} ({says}): give it an RRset policy with perm_write for this name, or use a token without policies"
                ),
            ),
            StatusCode::NOT_FOUND if phase != Phase::ListDomains => Outcome::transient(format!(
                "{SERVICE} no longer lists {zone_name} for this token ({says}); the domains are listed again on the next attempt"
            )),
            StatusCode::BAD_REQUEST if reply.body.contains("\"ttl\"") => Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{SERVICE} refused the TTL {} of {zone_name} ({says}): set ttl to at least the domain's minimum TTL (usually 3600)",
                    ttl.map_or_else(|| "asked for".to_owned(), |t| t.to_string())
                ),
            ),
            status => Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{SERVICE} answered HTTP {status} to the {} of {zone_name} ({says}): check the provider settings",
                    match phase {
                        Phase::ListDomains => "domain listing",
                        Phase::ListRrsets => "RRset listing",
                        Phase::Write => "update",
                    }
                ),
            ),
        }
    }
}

/// The `cursor` of the `rel="next"` target in a `Link` header (RFC 8288), if there is one.
fn next_cursor(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        if !is_next {
            return None;
        }
        let url = Url::parse(target.trim().trim_start_matches('<').trim_end_matches('>')).ok()?;
        url.query_pairs()
            .find(|(k, _)| k == "cursor")
            .map(|(_, v)| v.into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_cursor_comes_from_the_link_header() {
        let link = "<https://desec.io/api/v1/domains/?cursor=>; rel=\"first\", \
                    <https://desec.io/api/v1/domains/?cursor=cD0yMDI2>; rel=\"next\"";
        assert_eq!(next_cursor(link).as_deref(), Some("cD0yMDI2"));
        assert_eq!(
            next_cursor("<https://desec.io/api/v1/domains/?cursor=>; rel=\"first\""),
            None
        );
        assert_eq!(next_cursor("garbage"), None);
    }
}
