//! Publishing to AWS Route 53 (API 2013-04-01, REST and XML, signed with SigV4).
//!
//! ```text
//! GET  /2013-04-01/hostedzonesbyname?dnsname=example.com&maxitems=10   (no hosted_zone_id)
//! GET  /2013-04-01/hostedzone/{Id}/rrset?name=home.example.com.&maxitems=100      one read
//! POST /2013-04-01/hostedzone/{Id}/rrset   <ChangeResourceRecordSetsRequest>… UPSERT …   one write
//! ```
//! Route 53 keys record sets by name and type, and one A record set holds every IPv4 address
//! (several addresses are several `ResourceRecord` values), so an update is at most one UPSERT
//! per family, both in one change batch. The change is `PENDING` when Route 53 answers and in
//! sync within about a minute; nothing here waits for it (`GetChange`), since the next round's
//! read already sees the new values.
//!
//! The hosted zone is `hosted_zone_id` when configured; otherwise the public hosted zone whose
//! name is the longest suffix of the record name, asked for from the longest candidate down
//! (ListHostedZonesByName lists zones *from* a name in its order, so the first answer is only
//! the zone when its name is the candidate). Private zones are skipped. The zone id found is
//! kept until Route 53 says it does not exist.
//!
//! Permissions: `route53:ListResourceRecordSets` and `route53:ChangeResourceRecordSets` on the
//! hosted zone, and `route53:ListHostedZonesByName` unless `hosted_zone_id` is set.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use ddns_core::DomainName;
use ddns_core::record::DEFAULT_DYNAMIC_TTL;
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;

use crate::http::{self, Reply};
use crate::outcome::{FatalKind, Outcome};
use crate::provider::{Capabilities, Provider, Update};
use crate::sigv4::{self, SignedRequest, Signer};
use crate::spec::{BuildContext, ProviderConfigError, Secret, require};

/// Route 53's global endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://route53.amazonaws.com";
/// The region Route 53 requests are signed for (the global endpoint lives there).
pub const DEFAULT_REGION: &str = "us-east-1";
/// The region of the China endpoint (`route53.amazonaws.com.cn`).
const CHINA_REGION: &str = "cn-northwest-1";
const API: &str = "2013-04-01";
const XMLNS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";
/// Record set pages followed at most for one name.
const MAX_PAGES: usize = 10;

/// `type = "route53"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route53Spec {
    /// The IAM access key id (`AKIA…`).
    pub access_key_id: String,
    /// The secret access key that belongs to it.
    pub secret_access_key: Secret,
    /// The hosted zone (`Z…`, with or without `/hostedzone/`); found by name when unset.
    #[serde(default)]
    pub hosted_zone_id: Option<String>,
    /// Replaces the API base URL (`https://route53.amazonaws.com.cn` in China, tests).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The signing region; `us-east-1`, or `cn-northwest-1` for the China endpoint.
    #[serde(default)]
    pub region: Option<String>,
}

impl Route53Spec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<Route53Provider, ProviderConfigError> {
        let base = http::parse_url(
            "endpoint",
            self.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT),
        )?;
        if base.query().is_some() || base.fragment().is_some() || base.path() != "/" {
            return Err(ProviderConfigError::BadUrl {
                field: "endpoint",
                reason: "give the API's base URL alone, like https://route53.amazonaws.com".into(),
            });
        }
        let access_key_id = self.access_key_id.trim().to_owned();
        if access_key_id.is_empty() {
            return Err(ProviderConfigError::Missing {
                field: "access_key_id",
                hint: "create an access key for an IAM user in the AWS console (IAM → Users → Security credentials)",
            });
        }
        require(
            &self.secret_access_key,
            "secret_access_key",
            "it is shown once when the access key is created",
        )?;
        let hosted_zone_id = match &self.hosted_zone_id {
            Some(id) => {
                let id = id.trim();
                let id = id.strip_prefix("/hostedzone/").unwrap_or(id);
                if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(ProviderConfigError::Invalid {
                        field: "hosted_zone_id",
                        reason: format!("{id:?} is not a hosted zone id like Z1D633PJN98FT9"),
                    });
                }
                Some(id.to_owned())
            }
            None => None,
        };
        let host = base.host_str().unwrap_or_default().to_owned();
        let region = match &self.region {
            Some(r) if !r.trim().is_empty() => r.trim().to_owned(),
            _ if host.ends_with(".amazonaws.com.cn") => CHINA_REGION.to_owned(),
            _ => DEFAULT_REGION.to_owned(),
        };
        http::warn_if_cleartext(&base, "route53");
        let host_header = match base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        Ok(Route53Provider {
            client: http::client(http::USER_AGENT, &context.http)?,
            endpoint: http::endpoint(&base),
            base,
            host_header,
            access_key_id,
            secret_access_key: self.secret_access_key.clone(),
            region,
            configured_zone: hosted_zone_id,
            zone: Mutex::new(None),
        })
    }
}

/// AWS Route 53.
pub struct Route53Provider {
    client: reqwest::Client,
    base: Url,
    endpoint: String,
    /// `Host` as the client sends it (port only when not the scheme's default), signed.
    host_header: String,
    access_key_id: String,
    secret_access_key: Secret,
    region: String,
    configured_zone: Option<String>,
    /// The hosted zone found by name, until Route 53 says it does not exist.
    zone: Mutex<Option<String>>,
}

impl fmt::Debug for Route53Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route53Provider")
            .field("endpoint", &self.base.as_str())
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field("region", &self.region)
            .field("hosted_zone_id", &self.configured_zone)
            .finish_non_exhaustive()
    }
}

/// One record set as listed.
#[derive(Clone, Debug, Default)]
struct RecordSet {
    name: String,
    rtype: String,
    ttl: Option<u32>,
    values: Vec<String>,
    /// Weighted, latency, failover… sets: not ours to replace.
    routed: bool,
    alias: bool,
}

/// The action a request performs, for messages naming the missing permission.
#[derive(Clone, Copy)]
enum Action {
    ListHostedZonesByName,
    ListResourceRecordSets,
    ChangeResourceRecordSets,
}

impl Action {
    fn permission(self) -> &'static str {
        match self {
            Self::ListHostedZonesByName => "route53:ListHostedZonesByName",
            Self::ListResourceRecordSets => "route53:ListResourceRecordSets",
            Self::ChangeResourceRecordSets => "route53:ChangeResourceRecordSets",
        }
    }
}

#[async_trait]
impl Provider for Route53Provider {
    fn name(&self) -> &str {
        "route53"
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
        let mut families: Vec<(&'static str, BTreeSet<IpAddr>)> = Vec::new();
        if let Some(v4) = update.ipv4.as_deref().filter(|l| !l.is_empty()) {
            families.push(("A", v4.iter().copied().map(IpAddr::V4).collect()));
        }
        if let Some(v6) = update.ipv6.as_deref().filter(|l| !l.is_empty()) {
            families.push(("AAAA", v6.iter().copied().map(IpAddr::V6).collect()));
        }
        if families.is_empty() {
            return Outcome::Published { changed: false };
        }
        let host = &update.hostname;
        let zone = match self.zone(host).await {
            Ok(zone) => zone,
            Err(outcome) => return outcome,
        };
        let sets = match self.record_sets(&zone, host).await {
            Ok(sets) => sets,
            Err(outcome) => return outcome,
        };
        if let Some(cname) = sets.iter().find(|s| s.rtype == "CNAME") {
            return Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{host} is a CNAME{} in hosted zone {zone}, and A/AAAA records cannot sit beside it: delete the CNAME or publish another name",
                    cname
                        .values
                        .first()
                        .map(|v| format!(" to {v}"))
                        .unwrap_or_default()
                ),
            );
        }
        let mut changes = Vec::new();
        for (rtype, wanted) in families {
            let current = sets.iter().find(|s| s.rtype == rtype);
            if let Some(set) = current.filter(|s| s.alias || s.routed) {
                let what = if set.alias {
                    "an alias"
                } else {
                    "a record set with a routing policy"
                };
                return Outcome::fatal(
                    FatalKind::Config,
                    format!(
                        "the {rtype} record of {host} in hosted zone {zone} is {what}; ddns only replaces simple record sets: delete it or publish another name"
                    ),
                );
            }
            let ttl = update
                .ttl
                .or_else(|| current.and_then(|s| s.ttl))
                .unwrap_or(DEFAULT_DYNAMIC_TTL);
            let have: BTreeSet<IpAddr> = current
                .map(|s| {
                    s.values
                        .iter()
                        .filter_map(|v| v.trim().parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            let same_count = current.is_some_and(|s| s.values.len() == have.len());
            if have == wanted && same_count && current.and_then(|s| s.ttl) == Some(ttl) {
                continue;
            }
            changes.push(upsert(host, rtype, ttl, &wanted));
        }
        if changes.is_empty() {
            tracing::debug!(host = %host, zone = %zone, "route53 already has these addresses");
            return Outcome::Published { changed: false };
        }
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ChangeResourceRecordSetsRequest xmlns=\"{XMLNS}\"><ChangeBatch><Comment>ddns</Comment><Changes>{}</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>",
            changes.concat()
        );
        tracing::debug!(host = %host, zone = %zone, changes = changes.len(), "writing to route53");
        let path = format!("/{API}/hostedzone/{zone}/rrset");
        match self
            .call(
                Method::POST,
                &path,
                &[],
                body.into_bytes(),
                Action::ChangeResourceRecordSets,
                host,
            )
            .await
        {
            Ok(_) => Outcome::Published { changed: true },
            Err(outcome) => outcome,
        }
    }
}

/// One `<Change>` replacing the record set of `rtype` with `values`.
fn upsert(host: &DomainName, rtype: &str, ttl: u32, values: &BTreeSet<IpAddr>) -> String {
    let records: String = values
        .iter()
        .map(|v| format!("<ResourceRecord><Value>{v}</Value></ResourceRecord>"))
        .collect();
    format!(
        "<Change><Action>UPSERT</Action><ResourceRecordSet><Name>{}</Name><Type>{rtype}</Type><TTL>{ttl}</TTL><ResourceRecords>{records}</ResourceRecords></ResourceRecordSet></Change>",
        host.to_fqdn()
    )
}

impl Route53Provider {
    /// The hosted zone id: configured, cached, or found by name.
    async fn zone(&self, host: &DomainName) -> Result<String, Outcome> {
        if let Some(id) = &self.configured_zone {
            return Ok(id.clone());
        }
        if let Some(id) = self
            .zone
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
        {
            return Ok(id);
        }
        let labels: Vec<&str> = host.labels().collect();
        // Candidates from the name itself down to its parent of two labels: a hosted zone for
        // a top-level domain is not something a dynamic record lives in.
        let candidates: Vec<String> = (0..labels.len().saturating_sub(1).max(1))
            .map(|skip| labels[skip..].join("."))
            .collect();
        for candidate in &candidates {
            let query = [("dnsname", candidate.as_str()), ("maxitems", "10")];
            let body = self
                .call(
                    Method::GET,
                    &format!("/{API}/hostedzonesbyname"),
                    &query,
                    Vec::new(),
                    Action::ListHostedZonesByName,
                    host,
                )
                .await?;
            if let Some(id) =
                public_zone_named(&body, candidate).map_err(|e| self.unreadable(&e))?
            {
                tracing::debug!(host = %host, zone = candidate.as_str(), id = id.as_str(), "route53 hosted zone found");
                *self
                    .zone
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(id.clone());
                return Ok(id);
            }
        }
        Err(Outcome::fatal(
            FatalKind::Host,
            format!(
                "no public Route 53 hosted zone of this AWS account contains {host} (looked for {}): create the hosted zone, or set hosted_zone_id",
                candidates.join(", ")
            ),
        ))
    }

    /// The record sets named exactly `host`, of any type.
    async fn record_sets(&self, zone: &str, host: &DomainName) -> Result<Vec<RecordSet>, Outcome> {
        let path = format!("/{API}/hostedzone/{zone}/rrset");
        let fqdn = host.to_fqdn();
        let mut start: (String, Option<String>) = (fqdn, None);
        let mut found = Vec::new();
        for _ in 0..MAX_PAGES {
            let mut query = vec![("name", start.0.as_str()), ("maxitems", "100")];
            if let Some(t) = &start.1 {
                query.push(("type", t.as_str()));
            }
            let body = self
                .call(
                    Method::GET,
                    &path,
                    &query,
                    Vec::new(),
                    Action::ListResourceRecordSets,
                    host,
                )
                .await?;
            let page = parse_record_sets(&body).map_err(|e| self.unreadable(&e))?;
            let mut left_name = false;
            for set in page.sets {
                if DomainName::parse(&set.name).is_ok_and(|n| n == *host) {
                    found.push(set);
                } else {
                    left_name = true;
                }
            }
            match page.next {
                Some(next) if !left_name => start = next,
                _ => return Ok(found),
            }
        }
        Ok(found)
    }

    /// Signs and sends one request; the body of a 2xx answer, or the classified failure.
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Vec<u8>,
        action: Action,
        host: &DomainName,
    ) -> Result<String, Outcome> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let amz_date = sigv4::amz_date(now);
        let content_type = "text/xml";
        let mut signed_headers = vec![("host", self.host_header.as_str())];
        if !body.is_empty() {
            signed_headers.push(("content-type", content_type));
        }
        let signer = Signer {
            access_key_id: &self.access_key_id,
            secret_access_key: self.secret_access_key.expose(),
            region: &self.region,
            service: "route53",
        };
        let authorization = signer.authorization(
            &SignedRequest {
                method: method.as_str(),
                path,
                query,
                headers: &signed_headers,
                body: &body,
            },
            &amz_date,
        );
        let target = sigv4::request_target(path, query);
        let url = match self.base.join(&target) {
            Ok(url) => url,
            Err(e) => {
                return Err(Outcome::fatal(
                    FatalKind::Config,
                    format!("cannot form a Route 53 URL from the endpoint: {e}"),
                ));
            }
        };
        let mut request = self
            .client
            .request(method, url)
            .header("X-Amz-Date", &amz_date)
            .header(reqwest::header::AUTHORIZATION, authorization);
        if !body.is_empty() {
            request = request
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body);
        }
        let reply = http::send(request, &self.endpoint).await?;
        if reply.status.is_success() {
            return Ok(reply.body);
        }
        Err(self.failure(&reply, action, host))
    }

    fn unreadable(&self, what: &str) -> Outcome {
        Outcome::transient(format!(
            "{} answered with XML that is not a Route 53 reply ({what}); check the endpoint",
            self.endpoint
        ))
    }

    /// Classifies a non-2xx answer by its AWS error code.
    fn failure(&self, reply: &Reply, action: Action, host: &DomainName) -> Outcome {
        let (code, message) = parse_error(&reply.body);
        let says = if message.is_empty() {
            code.clone()
        } else {
            format!("{code}: {}", short(&message))
        };
        let zone = self
            .configured_zone
            .clone()
            .or_else(|| {
                self.zone
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone()
            })
            .unwrap_or_else(|| "of the record".into());
        match code.as_str() {
            "Throttling"
            | "ThrottlingException"
            | "RequestThrottled"
            | "TooManyRequestsException"
            | "PriorRequestNotComplete" => {
                return Outcome::Transient {
                    reason: format!("Route 53 is throttling this account ({says})"),
                    retry_after: reply.retry_after,
                };
            }
            "InvalidClientTokenId" | "UnrecognizedClientException" | "InvalidAccessKeyId" => {
                return Outcome::fatal(
                    FatalKind::Auth,
                    format!(
                        "AWS does not know the access_key_id ({code}): check access_key_id, and that the access key is active"
                    ),
                );
            }
            "SignatureDoesNotMatch" | "IncompleteSignature" | "InvalidSignatureException"
                if !is_clock_message(&message) =>
            {
                return Outcome::fatal(
                    FatalKind::Auth,
                    format!(
                        "AWS refused the request signature ({code}): check that secret_access_key belongs to access_key_id"
                    ),
                );
            }
            "SignatureDoesNotMatch"
            | "RequestExpired"
            | "InvalidSignatureException"
            | "SignatureExpired" => {
                return Outcome::transient(format!(
                    "AWS refused the request time ({says}): this host's clock is more than 5 minutes off; fix its time synchronisation"
                ));
            }
            "MissingAuthenticationToken" | "AuthFailure" | "OptInRequired" => {
                return Outcome::fatal(
                    FatalKind::Auth,
                    format!(
                        "AWS refused the credentials ({says}): check access_key_id and secret_access_key"
                    ),
                );
            }
            "AccessDenied" | "AccessDeniedException" => {
                return Outcome::fatal(
                    FatalKind::Auth,
                    format!(
                        "the IAM identity of access_key_id lacks the permission {} on hosted zone {zone} ({code}): allow it in the user's IAM policy",
                        action.permission()
                    ),
                );
            }
            "NoSuchHostedZone" => {
                return match &self.configured_zone {
                    Some(id) => Outcome::fatal(
                        FatalKind::Host,
                        format!("Route 53 has no hosted zone {id} ({code}): check hosted_zone_id"),
                    ),
                    None => {
                        *self
                            .zone
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
                        Outcome::transient(format!(
                            "Route 53 no longer has hosted zone {zone} ({code}); it is looked up again on the next attempt"
                        ))
                    }
                };
            }
            "InvalidChangeBatch" => {
                return Outcome::fatal(
                    FatalKind::Config,
                    format!(
                        "Route 53 refused the change of {host} ({says}): fix the record's name, ttl or hosted_zone_id"
                    ),
                );
            }
            "InvalidInput" | "InvalidDomainName" | "InvalidArgument" => {
                return Outcome::fatal(
                    FatalKind::Config,
                    format!(
                        "Route 53 refused the request for {host} as invalid ({says}): check the record's name and ttl"
                    ),
                );
            }
            _ => {}
        }
        if let Some(outcome) = http::generic_status(reply, &self.endpoint, "endpoint") {
            return match outcome {
                Outcome::Transient { retry_after, .. } => Outcome::Transient {
                    reason: format!("{} answered HTTP {} ({says})", self.endpoint, reply.status),
                    retry_after,
                },
                other => other,
            };
        }
        let kind = match reply.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => FatalKind::Auth,
            StatusCode::NOT_FOUND => FatalKind::Host,
            _ => FatalKind::Config,
        };
        Outcome::fatal(
            kind,
            format!(
                "Route 53 answered HTTP {} for {host} ({says}): check the provider settings",
                reply.status
            ),
        )
    }
}

fn is_clock_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("expired") || m.contains("not yet current") || m.contains("clock")
}

fn short(text: &str) -> String {
    let text = text.trim().trim_end_matches('.');
    let mut out: String = text.chars().take(300).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// The AWS error code and message of an error body; `InvalidChangeBatch` comes as its own
/// root element with a list of messages.
fn parse_error(body: &str) -> (String, String) {
    let Ok(doc) = roxmltree::Document::parse(body) else {
        return ("unreadable error body".into(), String::new());
    };
    let root = doc.root_element();
    let text = |tag: &str| {
        root.descendants()
            .find(|n| n.has_tag_name(tag))
            .and_then(|n| n.text())
            .map(|t| t.trim().to_owned())
    };
    if root.has_tag_name("InvalidChangeBatch") {
        let messages: Vec<String> = root
            .descendants()
            .filter(|n| n.has_tag_name("Message"))
            .filter_map(|n| n.text().map(|t| t.trim().to_owned()))
            .collect();
        return ("InvalidChangeBatch".into(), messages.join("; "));
    }
    (
        text("Code").unwrap_or_else(|| "no error code".into()),
        text("Message").unwrap_or_default(),
    )
}

/// The id of the public hosted zone named `candidate` in a ListHostedZonesByName answer.
fn public_zone_named(body: &str, candidate: &str) -> Result<Option<String>, String> {
    let doc = roxmltree::Document::parse(body).map_err(|e| e.to_string())?;
    for zone in doc.descendants().filter(|n| n.has_tag_name("HostedZone")) {
        let child = |tag: &str| {
            zone.descendants()
                .find(|n| n.has_tag_name(tag))
                .and_then(|n| n.text())
                .map(str::trim)
        };
        let private = child("PrivateZone").is_some_and(|p| p.eq_ignore_ascii_case("true"));
        let named = child("Name").is_some_and(|n| {
            let n = unescape_name(n);
            n.trim_end_matches('.').eq_ignore_ascii_case(candidate)
        });
        if named && !private {
            let id = child("Id").ok_or("a hosted zone without Id")?;
            return Ok(Some(
                id.strip_prefix("/hostedzone/").unwrap_or(id).to_owned(),
            ));
        }
    }
    Ok(None)
}

struct RecordSetPage {
    sets: Vec<RecordSet>,
    /// Where the next page starts (name, type), when the listing is truncated.
    next: Option<(String, Option<String>)>,
}

fn parse_record_sets(body: &str) -> Result<RecordSetPage, String> {
    let doc = roxmltree::Document::parse(body).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    if !root.has_tag_name("ListResourceRecordSetsResponse") {
        return Err(format!("root element {}", root.tag_name().name()));
    }
    let mut sets = Vec::new();
    for node in root
        .descendants()
        .filter(|n| n.has_tag_name("ResourceRecordSet"))
    {
        let mut set = RecordSet::default();
        for child in node.children().filter(roxmltree::Node::is_element) {
            let text = child.text().map(str::trim).unwrap_or_default();
            match child.tag_name().name() {
                "Name" => set.name = unescape_name(text),
                "Type" => set.rtype = text.to_ascii_uppercase(),
                "TTL" => set.ttl = text.parse().ok(),
                "SetIdentifier" => set.routed = true,
                "AliasTarget" => set.alias = true,
                "ResourceRecords" => {
                    set.values = child
                        .descendants()
                        .filter(|n| n.has_tag_name("Value"))
                        .filter_map(|n| n.text().map(|t| t.trim().to_owned()))
                        .collect();
                }
                _ => {}
            }
        }
        sets.push(set);
    }
    let field = |tag: &str| {
        root.children()
            .find(|n| n.has_tag_name(tag))
            .and_then(|n| n.text())
            .map(|t| t.trim().to_owned())
    };
    let truncated = field("IsTruncated").is_some_and(|t| t.eq_ignore_ascii_case("true"));
    let next = match (truncated, field("NextRecordName")) {
        (true, Some(name)) => Some((unescape_name(&name), field("NextRecordType"))),
        _ => None,
    };
    Ok(RecordSetPage { sets, next })
}

/// Route 53 writes characters other than `a-z0-9-_.` of names as `\ooo` octal escapes
/// (`\052` for `*`).
fn unescape_name(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value = bytes[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
            if let Ok(byte) = u8::try_from(value) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_sets_are_read() {
        let body = r#"<?xml version="1.0"?>
<ListResourceRecordSetsResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">
 <ResourceRecordSets>
  <ResourceRecordSet><Name>home.example.com.</Name><Type>A</Type><TTL>300</TTL>
   <ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord>
    <ResourceRecord><Value>192.0.2.2</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>
  <ResourceRecordSet><Name>\052.home.example.com.</Name><Type>AAAA</Type>
   <AliasTarget><HostedZoneId>Z1</HostedZoneId><DNSName>x.</DNSName></AliasTarget></ResourceRecordSet>
 </ResourceRecordSets>
 <IsTruncated>true</IsTruncated><NextRecordName>www.example.com.</NextRecordName><NextRecordType>A</NextRecordType>
 <MaxItems>2</MaxItems>
</ListResourceRecordSetsResponse>"#;
        let page = parse_record_sets(body).unwrap();
        assert_eq!(page.sets.len(), 2);
        assert_eq!(page.sets[0].name, "home.example.com.");
        assert_eq!(page.sets[0].ttl, Some(300));
        assert_eq!(page.sets[0].values, ["192.0.2.1", "192.0.2.2"]);
        assert!(!page.sets[0].alias);
        assert_eq!(page.sets[1].name, "*.home.example.com.");
        assert!(page.sets[1].alias);
        assert_eq!(
            page.next,
            Some(("www.example.com.".into(), Some("A".into())))
        );
        assert!(parse_record_sets("<Other/>").is_err());
    }

    #[test]
    fn zones_by_name_match_exactly_and_skip_private_ones() {
        let body = r#"<ListHostedZonesByNameResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">
 <HostedZones>
  <HostedZone><Id>/hostedzone/ZPRIVATE</Id><Name>example.com.</Name><Config><PrivateZone>true</PrivateZone></Config></HostedZone>
  <HostedZone><Id>/hostedzone/ZPUBLIC</Id><Name>example.com.</Name><Config><PrivateZone>false</PrivateZone></Config></HostedZone>
  <HostedZone><Id>/hostedzone/ZOTHER</Id><Name>example.net.</Name></HostedZone>
 </HostedZones><IsTruncated>false</IsTruncated><DNSName>example.com</DNSName><MaxItems>10</MaxItems>
</ListHostedZonesByNameResponse>"#;
        assert_eq!(
            public_zone_named(body, "example.com").unwrap(),
            Some("ZPUBLIC".into())
        );
        assert_eq!(public_zone_named(body, "home.example.com").unwrap(), None);
    }

    #[test]
    fn error_bodies() {
        let body = r#"<?xml version="1.0"?>
<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type>
<Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>"#;
        assert_eq!(
            parse_error(body),
            ("Throttling".into(), "Rate exceeded".into())
        );
        let body = r#"<InvalidChangeBatch xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Messages>
<Message>RRSet with DNS name a.example.org. is not permitted in zone example.com.</Message></Messages></InvalidChangeBatch>"#;
        let (code, message) = parse_error(body);
        assert_eq!(code, "InvalidChangeBatch");
        assert!(message.contains("not permitted"));
        assert_eq!(parse_error("oops").0, "unreadable error body");
    }

    #[test]
    fn upsert_xml() {
        let host = DomainName::parse("home.example.com").unwrap();
        let values = ["192.0.2.2".parse().unwrap(), "192.0.2.1".parse().unwrap()].into();
        assert_eq!(
            upsert(&host, "A", 60, &values),
            "<Change><Action>UPSERT</Action><ResourceRecordSet><Name>home.example.com.</Name><Type>A</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord><ResourceRecord><Value>192.0.2.2</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>"
        );
        assert_eq!(unescape_name(r"\052.a\\b\0"), r"*.a\\b\0");
    }
}
