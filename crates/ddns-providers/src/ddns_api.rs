//! Publishing to a ddns server through its REST API.
//!
//! ```text
//! POST {url}/update                      Authorization: Bearer TOKEN
//! {"domain": "h.example.com", "ip": "192.0.2.1,192.0.2.7", "ipv6": "2001:db8::1", "ttl": 60}
//!
//! 200 {"status":"success","domain":"…","ip":"…","changed":true}
//! 4xx/5xx {"status":"error","code":"badauth","message":"…"}
//! ```
//! `ip` carries the IPv4 addresses and `ipv6` the IPv6 ones; a family left alone is omitted.
//! The server fills a family from the connection's address only when *both* fields are
//! absent, so an update always carries at least one of them.

use std::fmt;

use async_trait::async_trait;
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use crate::http::{self, Reply};
use crate::outcome::{FatalKind, Outcome};
use crate::provider::{Capabilities, Provider, Update, join_addresses};
use crate::spec::{BuildContext, ProviderConfigError, Secret, require};

/// `type = "ddns"`: a ddns server.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DdnsSpec {
    /// The server's base URL; updates go to `{url}/update`.
    pub url: String,
    /// An API token allowed to update the record (`ddns token create`).
    pub token: Secret,
}

impl DdnsSpec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<DdnsProvider, ProviderConfigError> {
        let base = http::parse_url("url", &self.url)?;
        if base.query().is_some() || base.fragment().is_some() {
            return Err(ProviderConfigError::BadUrl {
                field: "url",
                reason: "give the server's base URL without a query or fragment".into(),
            });
        }
        let mut update_url = base.clone();
        update_url.set_path(&format!("{}/update", base.path().trim_end_matches('/')));
        require(
            &self.token,
            "token",
            "create one on the server with `ddns token create --host NAME`",
        )?;
        http::warn_if_cleartext(&update_url, "ddns");
        Ok(DdnsProvider {
            client: http::client(http::USER_AGENT, &context.http)?,
            endpoint: http::endpoint(&update_url),
            update_url,
            token: self.token.clone(),
        })
    }
}

/// A ddns server's REST API.
pub struct DdnsProvider {
    client: reqwest::Client,
    update_url: Url,
    endpoint: String,
    token: Secret,
}

impl fmt::Debug for DdnsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DdnsProvider")
            .field("update_url", &self.update_url.as_str())
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct UpdateBody<'a> {
    domain: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv6: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u32>,
    /// Split-horizon views' own addresses (`"views": {"lan": "192.168.1.10"}`).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    views: std::collections::BTreeMap<&'a str, String>,
}

#[derive(Deserialize)]
struct ReplyBody {
    status: String,
    #[serde(default)]
    changed: Option<bool>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[async_trait]
impl Provider for DdnsProvider {
    fn name(&self) -> &str {
        "ddns"
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
        let name = update.hostname.as_str();
        let body = UpdateBody {
            domain: name,
            ip: update.ipv4.as_deref().map(join_addresses),
            ipv6: update.ipv6.as_deref().map(join_addresses),
            ttl: update.ttl,
            views: update
                .views
                .iter()
                .filter(|(_, addresses)| !addresses.is_empty())
                .map(|(view, addresses)| (view.as_str(), join_addresses(addresses)))
                .collect(),
        };
        if body.ip.is_none() && body.ipv6.is_none() {
            return Outcome::fatal(
                FatalKind::Config,
                format!(
                    "the update of {name} carries no address, which would let the server guess one; publish at least one family"
                ),
            );
        }
        tracing::debug!(host = name, endpoint = %self.endpoint, "publishing to ddns server");
        let request = self
            .client
            .post(self.update_url.clone())
            .bearer_auth(self.token.expose())
            .json(&body);
        match http::send(request, &self.endpoint).await {
            Ok(reply) => classify(&reply, &self.endpoint, name),
            Err(outcome) => outcome,
        }
    }
}

/// Maps the server's answer to an outcome: the HTTP status decides the class, the JSON body
/// supplies the details.
fn classify(reply: &Reply, endpoint: &str, name: &str) -> Outcome {
    let parsed: Option<ReplyBody> = serde_json::from_str(&reply.body).ok();
    let says = parsed.as_ref().map_or_else(String::new, |body| {
        match (body.code.as_deref(), body.message.as_deref()) {
            (Some(code), Some(message)) => {
                format!(" ({code}: {})", message.trim_end_matches('.'))
            }
            (Some(code), None) => format!(" ({code})"),
            _ => String::new(),
        }
    });
    let status = reply.status;
    if status.is_success() {
        return match parsed {
            // A server that does not say whether anything changed is taken at its word that
            // the update succeeded; counting it as a change is the harmless reading.
            Some(body) if body.status == "success" => Outcome::Published {
                changed: body.changed.unwrap_or(true),
            },
            Some(body) if body.status == "error" => Outcome::transient(format!(
                "{endpoint} answered HTTP {status} with an error{says}"
            )),
            _ => Outcome::transient(format!(
                "{endpoint} answered HTTP {status} with a body that is not a ddns reply; check that the url points at a ddns server"
            )),
        };
    }
    if let Some(outcome) = http::generic_status(reply, endpoint, "url") {
        return match outcome {
            Outcome::Transient { retry_after, .. } => Outcome::Transient {
                reason: format!("{endpoint} answered HTTP {status}{says}"),
                retry_after,
            },
            other => other,
        };
    }
    let (kind, message) = match status {
        StatusCode::UNAUTHORIZED => (
            FatalKind::Auth,
            format!(
                "the ddns server at {endpoint} rejected the token{says}: check the token in record {name}"
            ),
        ),
        StatusCode::FORBIDDEN => (
            FatalKind::Auth,
            format!(
                "the token may not update {name}{says}: give the token this name on the server or use another token"
            ),
        ),
        StatusCode::NOT_FOUND if parsed.is_some() => (
            FatalKind::Host,
            format!(
                "the ddns server at {endpoint} does not serve {name}{says}: add its zone to the server or fix the record name"
            ),
        ),
        StatusCode::NOT_FOUND => (
            FatalKind::Config,
            format!(
                "there is no ddns update API at {endpoint} (HTTP 404): check the url of record {name}"
            ),
        ),
        StatusCode::BAD_REQUEST => (
            FatalKind::Config,
            format!(
                "the ddns server refused the update of {name} as invalid{says}: fix the record's name or addresses"
            ),
        ),
        StatusCode::CONFLICT => (
            FatalKind::Config,
            format!(
                "the update of {name} conflicts with records on the server{says}: remove the conflicting records there"
            ),
        ),
        _ => (
            FatalKind::Config,
            format!(
                "the ddns server at {endpoint} answered the unexpected HTTP {status}{says}: check the url of record {name}"
            ),
        ),
    };
    Outcome::fatal(kind, message)
}
