//! Publishing to Hurricane Electric's free DNS (dns.he.net) through its dynamic-DNS URL.
//!
//! ```text
//! GET {endpoint}/nic/update?hostname=home.example.com&password=KEY&myip=192.0.2.1
//!
//! good 192.0.2.1 | nochg 192.0.2.1 | badauth | nohost | notfqdn | abuse | 911
//! ```
//! Source: dns.he.net/docs.html ("Dynamic DNS": the record is created in the dns.he.net panel
//! with "Enable entry for dynamic dns", its key generated there; the update takes
//! `hostname`, `password` (that key) and `myip`, IPv4 or IPv6, and answers with the DynDNS2
//! codes, read here by `dyndns2::classify_reply`). One request sets one record: an A record
//! when `myip` is IPv4, an AAAA record when it is IPv6, so the two families are two requests
//! and one never touches the other. A record holds one address (no round-robin through this
//! URL). HE blocks clients that update too often with `abuse`; a 429 or 5xx is retried with
//! its `Retry-After`.
//!
//! **Zone.** The URL addresses the record by its full name and HE finds the zone itself; the
//! account's zones cannot be listed with a record key, so "zone not found" is HE's `nohost`
//! (no dynamic record of that name). **No write when equal** is the agent's state file: the
//! agent publishes only when the detected addresses differ from those it last published
//! (`ddns-agent::plan`), and HE answers a repeated address with `nochg`.

use std::fmt;
use std::net::IpAddr;

use async_trait::async_trait;
use reqwest::Url;
use serde::Deserialize;

use crate::cloud;
use crate::dyndns2::classify_reply;
use crate::http;
use crate::outcome::{FatalKind, Outcome};
use crate::provider::{Capabilities, Provider, Update};
use crate::spec::{BuildContext, ProviderConfigError, Secret, require};

/// HE's dynamic DNS base URL.
pub const DEFAULT_ENDPOINT: &str = "https://dyn.dns.he.net";
const SERVICE: &str = "Hurricane Electric";

/// `type = "he"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeSpec {
    /// The record's dynamic DNS key (dns.he.net → the record → "Generate a DDNS key").
    pub password: Secret,
    /// Replaces `https://dyn.dns.he.net`.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl HeSpec {
    pub(crate) fn build(&self, context: &BuildContext) -> Result<HeProvider, ProviderConfigError> {
        require(
            &self.password,
            "password",
            "generate the record's DDNS key at dns.he.net and give it here",
        )?;
        let base = cloud::endpoint_url(self.endpoint.as_deref(), DEFAULT_ENDPOINT)?;
        http::warn_if_cleartext(&base, "he");
        Ok(HeProvider {
            client: http::client(http::USER_AGENT, &context.http)?,
            endpoint: http::endpoint(&base),
            base,
            password: self.password.clone(),
        })
    }
}

/// Hurricane Electric dynamic DNS.
pub struct HeProvider {
    client: reqwest::Client,
    base: Url,
    endpoint: String,
    password: Secret,
}

impl fmt::Debug for HeProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeProvider")
            .field("endpoint", &self.base.as_str())
            .field("password", &self.password)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Provider for HeProvider {
    fn name(&self) -> &str {
        "he"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            ipv4: true,
            ipv6: true,
            address_lists: false,
            ttl: false,
            keeps_omitted_family: true,
        }
    }

    async fn publish(&self, update: &Update) -> Outcome {
        let name = update.hostname.as_str();
        let (v4, v6) = (update.ipv4_list(), update.ipv6_list());
        for (len, family) in [(v4.len(), "IPv4"), (v6.len(), "IPv6")] {
            if len > 1 {
                return Outcome::fatal(
                    FatalKind::Config,
                    format!(
                        "{SERVICE} sets one {family} address per record through its dynamic DNS URL but record {name} has {len}: publish one address"
                    ),
                );
            }
        }
        let mut changed = false;
        for address in update.addresses() {
            match self.send(update, address).await {
                Outcome::Published { changed: c } => changed |= c,
                other => return other,
            }
        }
        Outcome::Published { changed }
    }
}

impl HeProvider {
    /// One family: one request, one record.
    async fn send(&self, update: &Update, address: IpAddr) -> Outcome {
        let name = update.hostname.as_str();
        let mut url = cloud::join(&self.base, &["nic", "update"]);
        url.query_pairs_mut()
            .append_pair("hostname", name)
            .append_pair("password", self.password.expose())
            .append_pair("myip", &address.to_string());
        let reply = match http::send(self.client.get(url), &self.endpoint).await {
            Ok(reply) => reply,
            Err(outcome) => return outcome,
        };
        // The one-family view of the update, so the echo is checked against what was sent.
        let sent = Update {
            views: Vec::new(),
            hostname: update.hostname.clone(),
            ipv4: match address {
                IpAddr::V4(a) => Some(vec![a]),
                IpAddr::V6(_) => None,
            },
            ipv6: match address {
                IpAddr::V6(a) => Some(vec![a]),
                IpAddr::V4(_) => None,
            },
            ttl: None,
        };
        let answered_in_body = !reply.body.trim().is_empty()
            && (reply.status.is_success() || reply.status.is_client_error())
            && reply.status != reqwest::StatusCode::TOO_MANY_REQUESTS;
        if !answered_in_body
            && let Some(outcome) = http::generic_status(&reply, &self.endpoint, "endpoint")
        {
            return outcome;
        }
        match classify_reply(SERVICE, &sent, &reply.body, reply.retry_after) {
            Outcome::Fatal {
                kind: FatalKind::Auth,
                ..
            } => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "{SERVICE} rejected the key of {name} (badauth): check password; it is the record's own DDNS key from dns.he.net, not the account password"
                ),
            ),
            Outcome::Fatal {
                kind: FatalKind::Host,
                ..
            } => Outcome::fatal(
                FatalKind::Host,
                format!(
                    "{SERVICE} has no dynamic record {name} (nohost): create the {} record at dns.he.net with \"Enable entry for dynamic dns\" ticked",
                    if address.is_ipv4() { "A" } else { "AAAA" }
                ),
            ),
            other => other,
        }
    }
}
