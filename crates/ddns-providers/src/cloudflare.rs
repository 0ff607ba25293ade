//! Publishing to Cloudflare DNS through API v4.
//!
//! ```text
//! GET  {endpoint}/zones?per_page=50&page=N                 → the zone: longest suffix of the name
//! GET  {endpoint}/zones/{zone}/dns_records?name=FQDN&…     → every record of the name (one read)
//! POST {endpoint}/zones/{zone}/dns_records/batch           → deletes, patches, posts (one write)
//! Authorization: Bearer TOKEN        (or X-Auth-Email + X-Auth-Key: the legacy global key)
//!
//! {"success": true, "errors": [], "messages": [], "result": …,
//!  "result_info": {"page": 1, "per_page": 50, "count": 1, "total_count": 1, "total_pages": 1}}
//! {"success": false, "errors": [{"code": 9109, "message": "Invalid access token"}], …}
//! ```
//! One address is one record (Cloudflare has no multi-value record), so a family with two
//! addresses is two A records. The listing is compared with what should be there: records
//! whose address stays are kept (or patched when their TTL or proxy status is wrong), stale
//! ones are re-pointed before any is deleted or created, and all of it goes in one batch,
//! which Cloudflare applies in one transaction (deletes, patches, puts, posts, in that order;
//! developers.cloudflare.com/api/resources/dns/subresources/records/methods/batch). Equal
//! means no write at all. Records of other types and names are never touched; a family the
//! update leaves alone is not even compared.
//!
//! `proxied` and the TTL are kept as they are on existing records unless configured (a
//! record a user proxied in the dashboard stays proxied); new records are DNS-only with
//! TTL 1 ("automatic"). A proxied record's TTL is always automatic, so it is not compared.
//! The zone id is cached until Cloudflare says it is wrong.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::sync::Mutex;

use async_trait::async_trait;
use ddns_core::DomainName;
use reqwest::{RequestBuilder, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::http::{self, Reply};
use crate::outcome::{FatalKind, Outcome};
use crate::provider::{Capabilities, Provider, Update};
use crate::spec::{BuildContext, ProviderConfigError, Secret, require};

/// Cloudflare's API base URL.
pub const DEFAULT_ENDPOINT: &str = "https://api.cloudflare.com/client/v4";
/// Zones per page of the zone listing (the API's maximum).
const ZONES_PER_PAGE: u32 = 50;
/// Records per page of the record listing.
const RECORDS_PER_PAGE: u32 = 100;
/// Pages read at most, against a server that keeps saying there is more.
const MAX_PAGES: u32 = 200;
/// TTL 1 means "automatic" at Cloudflare.
const TTL_AUTO: u32 = 1;

/// `type = "cloudflare"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudflareSpec {
    /// An API token with Zone:Read and DNS:Edit on the zone (preferred).
    #[serde(default)]
    pub api_token: Option<Secret>,
    /// The legacy Global API Key (all permissions of the account); needs `email`.
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// The account's e-mail address, with `api_key`.
    #[serde(default)]
    pub email: Option<String>,
    /// Proxy the records through Cloudflare (`true`) or serve them DNS-only (`false`);
    /// unset keeps what each existing record has and creates DNS-only records.
    #[serde(default)]
    pub proxied: Option<bool>,
    /// Replaces the API base URL.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl CloudflareSpec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<CloudflareProvider, ProviderConfigError> {
        let base = http::parse_url(
            "endpoint",
            self.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT),
        )?;
        if base.query().is_some() || base.fragment().is_some() {
            return Err(ProviderConfigError::BadUrl {
                field: "endpoint",
                reason: "give the API base URL without a query or fragment".into(),
            });
        }
        let auth = match (&self.api_token, &self.api_key, &self.email) {
            (Some(token), None, None) => {
                require(
                    token,
                    "api_token",
                    "create a token with Zone.Zone:Read and Zone.DNS:Edit at dash.cloudflare.com/profile/api-tokens",
                )?;
                Auth::Token(token.clone())
            }
            (None, Some(key), Some(email)) => {
                require(
                    key,
                    "api_key",
                    "copy the Global API Key from dash.cloudflare.com/profile/api-tokens",
                )?;
                if email.trim().is_empty() {
                    return Err(ProviderConfigError::Missing {
                        field: "email",
                        hint: "the legacy api_key needs the account's e-mail address",
                    });
                }
                Auth::GlobalKey {
                    email: email.trim().to_owned(),
                    key: key.clone(),
                }
            }
            (None, Some(_), None) => {
                return Err(ProviderConfigError::Missing {
                    field: "email",
                    hint: "the legacy api_key needs the account's e-mail address",
                });
            }
            (None, None, Some(_)) => {
                return Err(ProviderConfigError::Missing {
                    field: "api_key",
                    hint: "email goes with the legacy Global API Key; or drop email and give api_token",
                });
            }
            (None, None, None) => {
                return Err(ProviderConfigError::Missing {
                    field: "api_token",
                    hint: "create a token with Zone.Zone:Read and Zone.DNS:Edit at dash.cloudflare.com/profile/api-tokens",
                });
            }
            (Some(_), _, _) => {
                return Err(ProviderConfigError::Invalid {
                    field: "api_token",
                    reason: "give either api_token, or api_key with email, not both".into(),
                });
            }
        };
        http::warn_if_cleartext(&base, "cloudflare");
        Ok(CloudflareProvider {
            client: http::client(http::USER_AGENT, &context.http)?,
            endpoint: http::endpoint(&base),
            base,
            auth,
            proxied: self.proxied,
            zone: Mutex::new(None),
        })
    }
}

#[derive(Clone)]
enum Auth {
    Token(Secret),
    GlobalKey { email: String, key: Secret },
}

impl Auth {
    fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        match self {
            Self::Token(token) => request.bearer_auth(token.expose()),
            Self::GlobalKey { email, key } => request
                .header("X-Auth-Email", email)
                .header("X-Auth-Key", key.expose()),
        }
    }

    /// The setting the user has to look at, in their terms.
    fn setting(&self) -> &'static str {
        match self {
            Self::Token(_) => "api_token",
            Self::GlobalKey { .. } => "api_key and email",
        }
    }
}

/// Cloudflare DNS.
pub struct CloudflareProvider {
    client: reqwest::Client,
    base: Url,
    endpoint: String,
    auth: Auth,
    proxied: Option<bool>,
    /// The zone (id, name) found for the record, until Cloudflare says the id is wrong.
    zone: Mutex<Option<ZoneRef>>,
}

impl fmt::Debug for CloudflareProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match &self.auth {
            Auth::Token(t) => format!("token {t:?}"),
            Auth::GlobalKey { email, key } => format!("global key {key:?} of {email}"),
        };
        f.debug_struct("CloudflareProvider")
            .field("endpoint", &self.base.as_str())
            .field("auth", &auth)
            .field("proxied", &self.proxied)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
struct ZoneRef {
    id: String,
    name: String,
}

/// The v4 envelope.
#[derive(Deserialize)]
struct Envelope<T> {
    success: bool,
    #[serde(default)]
    errors: Vec<ApiMessage>,
    result: Option<T>,
    #[serde(default)]
    result_info: Option<ResultInfo>,
}

#[derive(Deserialize)]
struct ApiMessage {
    code: i64,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct ResultInfo {
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    total_pages: Option<u32>,
}

#[derive(Deserialize)]
struct ZoneEntry {
    id: String,
    name: String,
}

#[derive(Clone, Debug, Deserialize)]
struct DnsRecord {
    id: String,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    ttl: u32,
    #[serde(default)]
    proxied: Option<bool>,
}

#[derive(Default, Serialize)]
struct Batch {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    deletes: Vec<DeleteOp>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    patches: Vec<RecordOp>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    posts: Vec<RecordOp>,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.deletes.is_empty() && self.patches.is_empty() && self.posts.is_empty()
    }
}

#[derive(Serialize)]
struct DeleteOp {
    id: String,
}

#[derive(Serialize)]
struct RecordOp {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(rename = "type")]
    rtype: &'static str,
    name: String,
    content: String,
    ttl: u32,
    proxied: bool,
}

/// Which call failed, for messages that say what permission is missing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    ListZones,
    ListRecords,
    Write,
}

#[async_trait]
impl Provider for CloudflareProvider {
    fn name(&self) -> &str {
        "cloudflare"
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
        let families = families(update);
        if families.is_empty() {
            return Outcome::Published { changed: false };
        }
        let zone = match self.zone(&update.hostname).await {
            Ok(zone) => zone,
            Err(outcome) => return outcome,
        };
        let name = update.hostname.as_str();
        let records = match self.records(&zone, name).await {
            Ok(records) => records,
            Err(outcome) => return outcome,
        };
        if let Some(cname) = records
            .iter()
            .find(|r| r.rtype.eq_ignore_ascii_case("CNAME"))
        {
            return Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{name} is a CNAME to {} at Cloudflare, and A/AAAA records cannot sit beside it: delete the CNAME in the dashboard or publish another name",
                    cname.content
                ),
            );
        }
        let mut batch = Batch::default();
        for (rtype, wanted) in families {
            let existing: Vec<&DnsRecord> = records.iter().filter(|r| r.rtype == rtype).collect();
            plan(
                &mut batch,
                rtype,
                name,
                &wanted,
                &existing,
                update.ttl,
                self.proxied,
            );
        }
        if batch.is_empty() {
            tracing::debug!(host = name, zone = %zone.name, "cloudflare already has these addresses");
            return Outcome::Published { changed: false };
        }
        tracing::debug!(
            host = name,
            zone = %zone.name,
            deletes = batch.deletes.len(),
            patches = batch.patches.len(),
            posts = batch.posts.len(),
            "writing to cloudflare"
        );
        let request = self
            .client
            .post(self.url(&["zones", &zone.id, "dns_records", "batch"]))
            .json(&batch);
        match self
            .call::<serde_json::Value>(request, Phase::Write, Some(&zone), name)
            .await
        {
            Ok(_) => Outcome::Published { changed: true },
            Err(outcome) => outcome,
        }
    }
}

/// The families the update sets, with their record type and addresses (deduplicated).
fn families(update: &Update) -> Vec<(&'static str, Vec<IpAddr>)> {
    let mut out = Vec::new();
    if let Some(v4) = update.ipv4.as_deref().filter(|l| !l.is_empty()) {
        let set: BTreeSet<IpAddr> = v4.iter().copied().map(IpAddr::V4).collect();
        out.push(("A", set.into_iter().collect()));
    }
    if let Some(v6) = update.ipv6.as_deref().filter(|l| !l.is_empty()) {
        let set: BTreeSet<IpAddr> = v6.iter().copied().map(IpAddr::V6).collect();
        out.push(("AAAA", set.into_iter().collect()));
    }
    out
}

/// Adds to `batch` what turns `existing` (records of `rtype` at the name) into `wanted`.
fn plan(
    batch: &mut Batch,
    rtype: &'static str,
    name: &str,
    wanted: &[IpAddr],
    existing: &[&DnsRecord],
    ttl: Option<u32>,
    proxied: Option<bool>,
) {
    let address = |r: &DnsRecord| r.content.trim().parse::<IpAddr>().ok();
    // Records that already hold a wanted address keep it; each address is claimed once, so
    // a duplicate record is treated as stale.
    let mut unclaimed: Vec<&DnsRecord> = Vec::new();
    let mut missing: Vec<IpAddr> = wanted.to_vec();
    for record in existing {
        match address(record).and_then(|a| missing.iter().position(|m| *m == a)) {
            Some(at) => {
                let addr = missing.remove(at);
                if let Some(op) = fix(record, rtype, name, addr, ttl, proxied, false) {
                    batch.patches.push(op);
                }
            }
            None => unclaimed.push(record),
        }
    }
    let mut stale = unclaimed.into_iter();
    for addr in missing {
        match stale.next() {
            Some(record) => {
                if let Some(op) = fix(record, rtype, name, addr, ttl, proxied, true) {
                    batch.patches.push(op);
                }
            }
            None => batch.posts.push(RecordOp {
                id: None,
                rtype,
                name: name.to_owned(),
                content: addr.to_string(),
                ttl: ttl.unwrap_or(TTL_AUTO),
                proxied: proxied.unwrap_or(false),
            }),
        }
    }
    batch
        .deletes
        .extend(stale.map(|r| DeleteOp { id: r.id.clone() }));
}

/// The patch that gives `record` the address, TTL and proxy status it should have, if any.
fn fix(
    record: &DnsRecord,
    rtype: &'static str,
    name: &str,
    addr: IpAddr,
    ttl: Option<u32>,
    proxied: Option<bool>,
    new_address: bool,
) -> Option<RecordOp> {
    let is_proxied = record.proxied.unwrap_or(false);
    let want_proxied = proxied.unwrap_or(is_proxied);
    let want_ttl = ttl.unwrap_or(record.ttl);
    // Cloudflare reports TTL 1 for proxied records whatever was asked.
    let ttl_differs = !want_proxied && want_ttl != record.ttl;
    if !new_address && want_proxied == is_proxied && !ttl_differs {
        return None;
    }
    Some(RecordOp {
        id: Some(record.id.clone()),
        rtype,
        name: name.to_owned(),
        content: addr.to_string(),
        ttl: want_ttl,
        proxied: want_proxied,
    })
}

impl CloudflareProvider {
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// The zone of `host`: the cached one, or the longest zone name the credentials can see
    /// that is `host` or a parent of it.
    async fn zone(&self, host: &DomainName) -> Result<ZoneRef, Outcome> {
        if let Some(zone) = self.cached_zone() {
            return Ok(zone);
        }
        let mut seen = Vec::new();
        let mut best: Option<(usize, ZoneRef)> = None;
        let mut page = 1;
        loop {
            let mut url = self.url(&["zones"]);
            url.query_pairs_mut()
                .append_pair("per_page", &ZONES_PER_PAGE.to_string())
                .append_pair("page", &page.to_string());
            let (zones, info) = self
                .call_paged::<Vec<ZoneEntry>>(self.client.get(url), Phase::ListZones, host.as_str())
                .await?;
            let last =
                zones.is_empty() || is_last_page(info.as_ref(), page, zones.len(), ZONES_PER_PAGE);
            for zone in zones {
                let Ok(parsed) = DomainName::parse(&zone.name) else {
                    continue;
                };
                if seen.len() < 5 {
                    seen.push(parsed.as_str().to_owned());
                }
                let labels = parsed.label_count();
                if host.is_at_or_below(&parsed) && best.as_ref().is_none_or(|(l, _)| labels > *l) {
                    best = Some((
                        labels,
                        ZoneRef {
                            id: zone.id,
                            name: parsed.as_str().to_owned(),
                        },
                    ));
                }
            }
            if last || page >= MAX_PAGES {
                break;
            }
            page += 1;
        }
        let Some((_, zone)) = best else {
            let visible = if seen.is_empty() {
                "no zone at all".to_owned()
            } else {
                format!("only {}", seen.join(", "))
            };
            return Err(Outcome::fatal(
                FatalKind::Host,
                format!(
                    "no Cloudflare zone the {} can see contains {host} (it sees {visible}): add the zone to the account, or give the token Zone.Zone:Read and Zone.DNS:Edit on it",
                    self.auth.setting()
                ),
            ));
        };
        *self
            .zone
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(zone.clone());
        Ok(zone)
    }

    fn cached_zone(&self) -> Option<ZoneRef> {
        self.zone
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn forget_zone(&self) {
        *self
            .zone
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// Every record named `name`, of any type.
    async fn records(&self, zone: &ZoneRef, name: &str) -> Result<Vec<DnsRecord>, Outcome> {
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let mut url = self.url(&["zones", &zone.id, "dns_records"]);
            url.query_pairs_mut()
                .append_pair("name", name)
                .append_pair("per_page", &RECORDS_PER_PAGE.to_string())
                .append_pair("page", &page.to_string());
            let request = self.client.get(url);
            let (records, info) = match self
                .call_paged::<Vec<DnsRecord>>(request, Phase::ListRecords, name)
                .await
            {
                Ok(found) => found,
                Err(outcome) => {
                    if is_zone_gone(&outcome) {
                        self.forget_zone();
                    }
                    return Err(outcome);
                }
            };
            let last = records.is_empty()
                || is_last_page(info.as_ref(), page, records.len(), RECORDS_PER_PAGE);
            all.extend(records);
            if last || page >= MAX_PAGES {
                return Ok(all);
            }
            page += 1;
        }
    }

    async fn call_paged<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
        phase: Phase,
        name: &str,
    ) -> Result<(T, Option<ResultInfo>), Outcome> {
        let reply = http::send(self.auth.apply(request), &self.endpoint).await?;
        let envelope = self.envelope::<T>(&reply, phase, None, name)?;
        match envelope.result {
            Some(result) => Ok((result, envelope.result_info)),
            None => Err(Outcome::transient(format!(
                "{} answered success without a result",
                self.endpoint
            ))),
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
        phase: Phase,
        zone: Option<&ZoneRef>,
        name: &str,
    ) -> Result<Option<T>, Outcome> {
        let reply = http::send(self.auth.apply(request), &self.endpoint).await?;
        match self.envelope::<T>(&reply, phase, zone, name) {
            Ok(envelope) => Ok(envelope.result),
            Err(outcome) => {
                if is_zone_gone(&outcome) {
                    self.forget_zone();
                }
                Err(outcome)
            }
        }
    }

    /// The envelope of a successful reply, or the classified failure.
    fn envelope<T: DeserializeOwned>(
        &self,
        reply: &Reply,
        phase: Phase,
        zone: Option<&ZoneRef>,
        name: &str,
    ) -> Result<Envelope<T>, Outcome> {
        let parsed: Result<Envelope<T>, _> = serde_json::from_str(&reply.body);
        if reply.status.is_success() {
            match parsed {
                Ok(envelope) if envelope.success => return Ok(envelope),
                Ok(envelope) => {
                    return Err(self.refused(reply.status, &envelope.errors, phase, zone, name));
                }
                Err(_) => {
                    return Err(Outcome::transient(format!(
                        "{} answered HTTP {} with a body that is not a Cloudflare API reply; check the endpoint",
                        self.endpoint, reply.status
                    )));
                }
            }
        }
        if let Some(outcome) = http::generic_status(reply, &self.endpoint, "endpoint") {
            return Err(match outcome {
                Outcome::Transient { retry_after, .. } if reply.status == StatusCode::TOO_MANY_REQUESTS => {
                    Outcome::Transient {
                        reason: "Cloudflare is rate limiting this account (HTTP 429; 1200 requests per 5 minutes for all of its API clients)".into(),
                        retry_after,
                    }
                }
                other => other,
            });
        }
        let errors = match serde_json::from_str::<Envelope<serde_json::Value>>(&reply.body) {
            Ok(envelope) => envelope.errors,
            Err(_) => Vec::new(),
        };
        Err(self.refused(reply.status, &errors, phase, zone, name))
    }

    /// Classifies an answer with `success: false` or a 4xx status.
    fn refused(
        &self,
        status: StatusCode,
        errors: &[ApiMessage],
        phase: Phase,
        zone: Option<&ZoneRef>,
        name: &str,
    ) -> Outcome {
        let says = describe(errors);
        let has = |codes: &[i64]| errors.iter().any(|e| codes.contains(&e.code));
        let zone_name = zone.map_or("the zone", |z| z.name.as_str());
        let setting = self.auth.setting();
        if has(&[10429, 971]) || status == StatusCode::TOO_MANY_REQUESTS {
            return Outcome::transient(format!(
                "Cloudflare is rate limiting this account ({says})"
            ));
        }
        // Invalid token (9109, also for a token used from an address it is restricted
        // against), unknown key/e-mail (9103), malformed credentials (6003, 6103, 6111).
        if has(&[9109, 9103, 6003, 6103, 6111, 9106, 9107, 10001]) {
            let fix = match &self.auth {
                Auth::Token(_) => {
                    "check api_token; a token restricted to client IP addresses must allow both this host's IPv4 and IPv6 addresses"
                }
                Auth::GlobalKey { .. } => {
                    "check api_key (the Global API Key, not an API token) and email"
                }
            };
            return Outcome::fatal(
                FatalKind::Auth,
                format!("Cloudflare rejected the {setting} ({says}): {fix}"),
            );
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN || has(&[10000]) {
            let message = match (phase, &self.auth) {
                (Phase::Write, Auth::Token(_)) => format!(
                    "the API token may read {zone_name} but not change it ({says}): give the token the permission Zone.DNS:Edit on {zone_name}"
                ),
                (_, Auth::Token(_)) => format!(
                    "the API token may not read the DNS records of {zone_name} ({says}): give it Zone.Zone:Read and Zone.DNS:Edit on {zone_name}"
                ),
                (_, Auth::GlobalKey { .. }) => format!(
                    "Cloudflare refused the api_key and email for {zone_name} ({says}): check both; the account must own the zone"
                ),
            };
            return Outcome::fatal(FatalKind::Auth, message);
        }
        if has(&[7003, 7000, 1001, 1049])
            || (status == StatusCode::NOT_FOUND && phase != Phase::ListZones)
        {
            return Outcome::transient(format!(
                "Cloudflare no longer knows the zone id of {zone_name} ({says}); it is looked up again on the next attempt"
            ));
        }
        if has(&[9021, 9020]) {
            return Outcome::fatal(
                FatalKind::Config,
                format!(
                    "Cloudflare refused the TTL of {name} ({says}): set the record's ttl to 1 (automatic) or 60–86400 seconds (30 on Enterprise)"
                ),
            );
        }
        if has(&[81053, 81054, 81055, 81056, 81057, 81058]) {
            return Outcome::fatal(
                FatalKind::Config,
                format!(
                    "Cloudflare refused the records of {name} as conflicting with others ({says}): remove the conflicting records of {name} in the dashboard"
                ),
            );
        }
        if has(&[1004, 9000, 9005, 9006, 9207]) {
            return Outcome::fatal(
                FatalKind::Config,
                format!(
                    "Cloudflare refused the records of {name} ({says}): check the record's name and, for proxied records, that the name may be proxied"
                ),
            );
        }
        Outcome::fatal(
            FatalKind::Config,
            format!(
                "Cloudflare answered HTTP {status} to the {} of {name} ({says}): check the provider settings",
                match phase {
                    Phase::ListZones => "zone lookup",
                    Phase::ListRecords => "record listing",
                    Phase::Write => "update",
                }
            ),
        )
    }
}

/// Whether the failure says the cached zone id is wrong.
fn is_zone_gone(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Transient { reason, .. } if reason.contains("no longer knows the zone id"))
}

/// True when `page` is the last one: by `total_pages` when given, else by a short page.
fn is_last_page(info: Option<&ResultInfo>, page: u32, count: usize, per_page: u32) -> bool {
    match info.and_then(|i| i.total_pages.map(|t| (i.page.unwrap_or(page), t))) {
        Some((current, total)) => current >= total,
        None => count < per_page as usize,
    }
}

/// `code: message; code: message`, at most 300 characters.
fn describe(errors: &[ApiMessage]) -> String {
    if errors.is_empty() {
        return "no error detail".into();
    }
    let text = errors
        .iter()
        .map(|e| format!("{}: {}", e.code, e.message.trim().trim_end_matches('.')))
        .collect::<Vec<_>>()
        .join("; ");
    let mut short: String = text.chars().take(300).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, rtype: &str, content: &str, ttl: u32, proxied: bool) -> DnsRecord {
        DnsRecord {
            id: id.into(),
            rtype: rtype.into(),
            content: content.into(),
            ttl,
            proxied: Some(proxied),
        }
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    fn planned(
        wanted: &[&str],
        existing: &[DnsRecord],
        ttl: Option<u32>,
        proxied: Option<bool>,
    ) -> Batch {
        let mut batch = Batch::default();
        let refs: Vec<&DnsRecord> = existing.iter().collect();
        plan(
            &mut batch,
            "A",
            "h.example.com",
            &ips(wanted),
            &refs,
            ttl,
            proxied,
        );
        batch
    }

    #[test]
    fn equal_records_need_no_write() {
        let existing = [
            record("1", "A", "192.0.2.1", 1, false),
            record("2", "A", "192.0.2.2", 1, false),
        ];
        assert!(planned(&["192.0.2.2", "192.0.2.1"], &existing, None, None).is_empty());
        assert!(planned(&["192.0.2.1", "192.0.2.2"], &existing, Some(1), Some(false)).is_empty());
        // A proxied record reports TTL 1 whatever ttl says.
        let proxied = [record("1", "A", "192.0.2.1", 1, true)];
        assert!(planned(&["192.0.2.1"], &proxied, Some(300), None).is_empty());
    }

    #[test]
    fn stale_records_are_repointed_then_deleted() {
        let existing = [
            record("1", "A", "192.0.2.1", 300, true),
            record("2", "A", "192.0.2.9", 300, false),
            record("3", "A", "192.0.2.8", 300, false),
        ];
        let batch = planned(&["192.0.2.1", "192.0.2.5"], &existing, None, None);
        assert!(batch.posts.is_empty());
        assert_eq!(batch.patches.len(), 1);
        let patch = &batch.patches[0];
        assert_eq!(
            (
                patch.id.as_deref(),
                patch.content.as_str(),
                patch.ttl,
                patch.proxied
            ),
            (Some("2"), "192.0.2.5", 300, false),
            "the stale record keeps its own TTL and proxy status"
        );
        assert_eq!(batch.deletes.len(), 1);
        assert_eq!(batch.deletes[0].id, "3");
    }

    #[test]
    fn missing_records_are_created_with_configured_settings() {
        let batch = planned(&["192.0.2.1", "192.0.2.2"], &[], Some(120), Some(true));
        assert_eq!(batch.posts.len(), 2);
        assert!(
            batch
                .posts
                .iter()
                .all(|p| p.ttl == 120 && p.proxied && p.name == "h.example.com")
        );
        let batch = planned(&["192.0.2.1"], &[], None, None);
        assert_eq!((batch.posts[0].ttl, batch.posts[0].proxied), (1, false));
    }

    #[test]
    fn settings_are_enforced_only_when_configured() {
        let existing = [record("1", "A", "192.0.2.1", 300, false)];
        let batch = planned(&["192.0.2.1"], &existing, Some(60), None);
        assert_eq!(batch.patches.len(), 1);
        assert_eq!(batch.patches[0].ttl, 60);
        let batch = planned(&["192.0.2.1"], &existing, None, Some(true));
        assert!(batch.patches[0].proxied);
    }

    #[test]
    fn duplicates_are_stale() {
        let existing = [
            record("1", "A", "192.0.2.1", 1, false),
            record("2", "A", "192.0.2.1", 1, false),
        ];
        let batch = planned(&["192.0.2.1"], &existing, None, None);
        assert!(batch.patches.is_empty() && batch.posts.is_empty());
        assert_eq!(batch.deletes.len(), 1);
    }

    #[test]
    fn pagination_ends() {
        let info = |page, total| ResultInfo {
            page: Some(page),
            total_pages: Some(total),
        };
        assert!(is_last_page(Some(&info(2, 2)), 2, 50, 50));
        assert!(!is_last_page(Some(&info(1, 2)), 1, 50, 50));
        assert!(is_last_page(None, 1, 3, 50));
        assert!(!is_last_page(None, 1, 50, 50));
    }
}
