//! Publishing to dynv6 through its REST API (v2): records below a zone by id, and the zone's
//! own address (its apex) on the zone object.
//!
//! ```text
//! GET    {endpoint}/zones                    → [{"id":1,"name":"example.dynv6.net",
//!                                               "ipv4address":"192.0.2.1","ipv6prefix":"2001:db8::1",…}]
//! GET    {endpoint}/zones/{id}/records       → [{"id":7,"zoneID":1,"type":"A","name":"home","data":"…"}]
//! POST   {endpoint}/zones/{id}/records       ← {"type":"A","name":"home","data":"192.0.2.1"}
//! PATCH  {endpoint}/zones/{id}/records/{rid} ← {"data":"192.0.2.9"}
//! DELETE {endpoint}/zones/{id}/records/{rid}
//! PATCH  {endpoint}/zones/{id}               ← {"ipv4address":"…"} / {"ipv6prefix":"…"}   (the apex)
//! Authorization: Bearer TOKEN
//!
//! 401 Unauthorized   403 Forbidden (a token restricted to another zone)   404 zone or record not found
//! 422 {"error":{"name":"ValidationError","message":"…","fields":[{"name":"data","message":"…"}]}}
//! ```
//! Sources: dynv6.github.io/api-spec (the OpenAPI document in github.com/dynv6/api-spec:
//! `api/models/zone.yml` — the zone's `ipv4address` is its A record and `ipv6prefix` its
//! AAAA record —, `api/models/record.yml`, `api/models/error.yml`, `api/paths/*.yml`) and
//! dynv6.com/docs/apis (HTTP tokens, optionally restricted to one zone). dynv6 documents no
//! TTL setting and no rate-limit answer; a 429 or 5xx is retried with its `Retry-After`.
//!
//! The zone is the longest of the account's zones the name lies in (`zone_split`). Below the
//! apex, the zone's records are read once and `cloud::plan_records` decides per family. The
//! apex holds one address per family (the zone's own), compared with the zone listing that
//! found the zone, so an equal apex costs one read and no write.

use std::fmt;
use std::net::IpAddr;

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

/// dynv6's REST API base URL.
pub const DEFAULT_ENDPOINT: &str = "https://dynv6.com/api/v2";
const SERVICE: &str = "dynv6";

/// `type = "dynv6"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dynv6Spec {
    /// An HTTP token (dynv6.com/keys), for the account or restricted to the zone.
    pub token: Secret,
    /// Replaces the API base URL.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl Dynv6Spec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<Dynv6Provider, ProviderConfigError> {
        require(
            &self.token,
            "token",
            "create an HTTP token at dynv6.com/keys",
        )?;
        let base = cloud::endpoint_url(self.endpoint.as_deref(), DEFAULT_ENDPOINT)?;
        http::warn_if_cleartext(&base, "dynv6");
        Ok(Dynv6Provider {
            client: http::client(http::USER_AGENT, &context.http)?,
            endpoint: http::endpoint(&base),
            base,
            token: self.token.clone(),
            zones: ZoneCache::new(),
        })
    }
}

/// dynv6.
pub struct Dynv6Provider {
    client: reqwest::Client,
    base: Url,
    endpoint: String,
    token: Secret,
    /// The zone's id. Its apex addresses are not cached: they change with every publish.
    zones: ZoneCache<u64>,
}

impl fmt::Debug for Dynv6Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dynv6Provider")
            .field("endpoint", &self.base.as_str())
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ZoneItem {
    id: u64,
    name: String,
    #[serde(default)]
    ipv4address: Option<String>,
    #[serde(default)]
    ipv6prefix: Option<String>,
}

#[derive(Deserialize)]
struct RecordItem {
    id: u64,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    data: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    ListZones,
    ListRecords,
    Write,
}

#[async_trait]
impl Provider for Dynv6Provider {
    fn name(&self) -> &str {
        "dynv6"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            ipv4: true,
            ipv6: true,
            address_lists: true,
            ttl: false,
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

impl Dynv6Provider {
    async fn reconcile(&self, update: &Update) -> Result<bool, Outcome> {
        let wanted = cloud::wanted(update);
        if wanted.is_empty() {
            return Ok(false);
        }
        let host = &update.hostname;
        let (zone, rr, listed) = self.zone_of(host).await?;
        let zone_id = zone.id.to_string();
        if rr == "@" {
            return self.apex(&zone, &zone_id, listed, &wanted).await;
        }
        let reply = self
            .send(Method::GET, self.url(&["zones", &zone_id, "records"]), None)
            .await?;
        if !reply.status.is_success() {
            return Err(self.classify(&reply, Phase::ListRecords, Some(&zone.name)));
        }
        let records: Vec<RecordItem> =
            cloud::decode(SERVICE, &self.endpoint, "the record listing", &reply.body)?;
        let mut changed = false;
        for (rtype, desired) in wanted {
            let existing: Vec<Existing<u64>> = records
                .iter()
                .filter(|r| RecordType::parse(&r.rtype) == Some(rtype))
                .filter(|r| r.name.eq_ignore_ascii_case(&rr))
                .map(|r| Existing {
                    id: r.id,
                    value: r.data.clone(),
                    ttl: None,
                })
                .collect();
            for step in cloud::plan_records(&existing, &desired, None) {
                let (method, url, body) = match &step {
                    Step::Create { value } => (
                        Method::POST,
                        self.url(&["zones", &zone_id, "records"]),
                        Some(
                            json!({"type": rtype.as_str(), "name": rr, "data": value.to_string()}),
                        ),
                    ),
                    Step::Update { id, value, .. } => (
                        Method::PATCH,
                        self.url(&["zones", &zone_id, "records", &id.to_string()]),
                        Some(json!({"data": value.to_string()})),
                    ),
                    Step::Delete { id } => (
                        Method::DELETE,
                        self.url(&["zones", &zone_id, "records", &id.to_string()]),
                        None,
                    ),
                };
                let reply = self.send(method, url, body.as_ref()).await?;
                if !reply.status.is_success() {
                    return Err(self.classify(&reply, Phase::Write, Some(&zone.name)));
                }
                tracing::info!(host = %host, rtype = rtype.as_str(), step = ?step, "dynv6 record written");
                changed = true;
            }
        }
        Ok(changed)
    }

    /// The zone's own addresses: one per family, set on the zone.
    async fn apex(
        &self,
        zone: &Zone<u64>,
        zone_id: &str,
        listed: Option<ZoneItem>,
        wanted: &[(RecordType, Vec<IpAddr>)],
    ) -> Result<bool, Outcome> {
        let current = match listed {
            Some(item) => item,
            None => {
                let reply = self
                    .send(Method::GET, self.url(&["zones", zone_id]), None)
                    .await?;
                if !reply.status.is_success() {
                    return Err(self.classify(&reply, Phase::ListRecords, Some(&zone.name)));
                }
                cloud::decode(SERVICE, &self.endpoint, "the zone", &reply.body)?
            }
        };
        let mut body = json!({});
        for (rtype, desired) in wanted {
            let [address] = desired.as_slice() else {
                return Err(Outcome::fatal(
                    FatalKind::Config,
                    format!(
                        "dynv6 holds one {} address at the zone {} itself, and the record has {}: publish one address per family there, or use a name below the zone for several",
                        rtype.as_str(),
                        zone.name,
                        desired.len()
                    ),
                ));
            };
            let (field, have) = match rtype {
                RecordType::A => ("ipv4address", current.ipv4address.as_deref()),
                RecordType::Aaaa => ("ipv6prefix", current.ipv6prefix.as_deref()),
            };
            // The zone's IPv6 may carry a prefix length (`2001:db8::1/64`); the address is
            // what the AAAA record serves.
            let have = have.map(|h| h.split('/').next().unwrap_or(h).to_owned());
            if !have.is_some_and(|h| cloud::same_addresses(&[h], desired)) {
                body[field] = json!(address.to_string());
            }
        }
        if body.as_object().is_none_or(serde_json::Map::is_empty) {
            return Ok(false);
        }
        let reply = self
            .send(Method::PATCH, self.url(&["zones", zone_id]), Some(&body))
            .await?;
        if !reply.status.is_success() {
            return Err(self.classify(&reply, Phase::Write, Some(&zone.name)));
        }
        tracing::info!(zone = %zone.name, "dynv6 zone address written");
        Ok(true)
    }

    fn url(&self, segments: &[&str]) -> Url {
        cloud::join(&self.base, segments)
    }

    async fn send(&self, method: Method, url: Url, body: Option<&Value>) -> Result<Reply, Outcome> {
        let mut request = self
            .client
            .request(method, url)
            .bearer_auth(self.token.expose())
            .header("Accept", "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        http::send(request, &self.endpoint).await
    }

    /// The zone of `host` and the record name in it, with the zone's listing entry when the
    /// zones were listed now (the apex compares against it, so it needs no second read).
    async fn zone_of(
        &self,
        host: &DomainName,
    ) -> Result<(Zone<u64>, String, Option<ZoneItem>), Outcome> {
        if let Some((zone, rr)) = self.zones.get(host) {
            return Ok((zone, rr, None));
        }
        let reply = self.send(Method::GET, self.url(&["zones"]), None).await?;
        if !reply.status.is_success() {
            return Err(self.classify(&reply, Phase::ListZones, None));
        }
        let mut items: Vec<ZoneItem> =
            cloud::decode(SERVICE, &self.endpoint, "the zone listing", &reply.body)?;
        let zones: Vec<Zone<u64>> = items
            .iter()
            .filter_map(|z| {
                Some(Zone {
                    name: parse_zone_name(&z.name)?,
                    id: z.id,
                })
            })
            .collect();
        let Some((zone, rr)) = longest_match(host, &zones) else {
            return Err(no_zone(SERVICE, "token", host, &zones));
        };
        self.zones.put(host, zone, &rr);
        let listed = items
            .iter()
            .position(|z| z.id == zone.id)
            .map(|at| items.swap_remove(at));
        Ok((zone.clone(), rr, listed))
    }

    fn classify(&self, reply: &Reply, phase: Phase, zone: Option<&DomainName>) -> Outcome {
        let body: Option<Value> = serde_json::from_str(&reply.body).ok();
        let says = match body.as_ref().map(|v| &v["error"]) {
            Some(e) if e["message"].is_string() => cloud::vendor_says(
                e["name"].as_str().unwrap_or("error"),
                e["message"].as_str().unwrap_or_default(),
                &[&self.token],
            ),
            _ => cloud::redact(&reply.body_excerpt(), &[&self.token]),
        };
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            return Outcome::Transient {
                reason: format!("{SERVICE} asks to slow down (HTTP 429: {says})"),
                retry_after: reply.retry_after,
            };
        }
        if let Some(outcome) = http::generic_status(reply, &self.endpoint, "endpoint") {
            return outcome;
        }
        let zone_name = zone.map_or("the zone", DomainName::as_str);
        match reply.status {
            StatusCode::UNAUTHORIZED => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "{SERVICE} refused the token ({says}): check token (an HTTP token from dynv6.com/keys)"
                ),
            ),
            StatusCode::FORBIDDEN => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "the token has no permission for the zone {zone_name} ({says}): use a token of the account, or one restricted to this zone"
                ),
            ),
            StatusCode::NOT_FOUND if phase != Phase::ListZones => Outcome::transient(format!(
                "{SERVICE} no longer knows {zone_name} or one of its records ({says}); they are read again on the next attempt"
            )),
            status => Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{SERVICE} answered HTTP {status} to the {} of {zone_name} ({says}): check the provider settings",
                    match phase {
                        Phase::ListZones => "zone listing",
                        Phase::ListRecords => "record listing",
                        Phase::Write => "update",
                    }
                ),
            ),
        }
    }
}
