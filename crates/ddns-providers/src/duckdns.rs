//! Publishing to DuckDNS through its update URL.
//!
//! ```text
//! GET {endpoint}/update?domains=NAME&token=TOKEN&ip=192.0.2.1&ipv6=2001:db8::1&verbose=true
//!
//! 200 OK\n192.0.2.1\n2001:db8::1\nUPDATED        (or NOCHANGE)
//! 200 KO                                          a wrong token, or a name not in the account
//! ```
//! Source: www.duckdns.org/spec.jsp. `domains` takes the subname without `.duckdns.org`;
//! "if left blank we detect IPv4 addresses" for `ip`, and "if you specify \[ipv6\] then the
//! autodetection for ip is not used". So this provider never sends a blank `ip`: an update of
//! IPv4 alone sends `ip` alone, an update of IPv6 alone sends `ipv6` alone (autodetection
//! off), and each leaves the other family as it is. DuckDNS holds one address per family per
//! name (no round-robin), and documents no throttling answer (a 429 or 5xx is retried with
//! its `Retry-After`).
//!
//! **Zone.** DuckDNS has one zone, `duckdns.org`, and no API to list or read records: the
//! record must be `NAME.duckdns.org`, which the account created on the website (checked when
//! the provider is built; a deeper name is refused, since DuckDNS answers it with NAME's
//! addresses). **No write when equal** is the agent's state file: the agent publishes only
//! when the detected addresses differ from those it last published (`ddns-agent::plan`), and
//! DuckDNS itself answers a repeated address with `NOCHANGE`, read as "already up to date".

use std::fmt;
use std::net::IpAddr;

use async_trait::async_trait;
use ddns_core::DomainName;
use reqwest::Url;
use serde::Deserialize;

use crate::cloud;
use crate::http::{self, Reply};
use crate::outcome::{FatalKind, Outcome};
use crate::provider::{Capabilities, Provider, Update};
use crate::spec::{BuildContext, ProviderConfigError, Secret, require};

/// DuckDNS's base URL.
pub const DEFAULT_ENDPOINT: &str = "https://www.duckdns.org";
const SERVICE: &str = "DuckDNS";
/// The one zone DuckDNS serves.
const ZONE: &str = "duckdns.org";

/// `type = "duckdns"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuckdnsSpec {
    /// The account's token (shown on www.duckdns.org after signing in).
    pub token: Secret,
    /// Replaces `https://www.duckdns.org`.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl DuckdnsSpec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<DuckdnsProvider, ProviderConfigError> {
        require(
            &self.token,
            "token",
            "copy the token shown on www.duckdns.org after signing in",
        )?;
        let base = cloud::endpoint_url(self.endpoint.as_deref(), DEFAULT_ENDPOINT)?;
        let zone = DomainName::parse(ZONE).map_err(|_| ProviderConfigError::Invalid {
            field: "endpoint",
            reason: "internal: the DuckDNS zone does not parse".into(),
        })?;
        let subname = match context.record.relative_to(&zone) {
            Some(sub) if sub != "@" && !sub.contains('.') => sub.to_owned(),
            Some(sub) if sub.contains('.') => {
                return Err(ProviderConfigError::Invalid {
                    field: "name",
                    reason: format!(
                        "DuckDNS updates NAME.duckdns.org only; {} is answered with the addresses of {}.duckdns.org, so publish that name",
                        context.record,
                        sub.rsplit('.').next().unwrap_or_default()
                    ),
                });
            }
            _ => {
                return Err(ProviderConfigError::Invalid {
                    field: "name",
                    reason: format!(
                        "DuckDNS serves NAME.duckdns.org only, not {}: use a name made on www.duckdns.org, or another provider",
                        context.record
                    ),
                });
            }
        };
        http::warn_if_cleartext(&base, "duckdns");
        Ok(DuckdnsProvider {
            client: http::client(http::USER_AGENT, &context.http)?,
            endpoint: http::endpoint(&base),
            base,
            token: self.token.clone(),
            subname,
        })
    }
}

/// DuckDNS.
pub struct DuckdnsProvider {
    client: reqwest::Client,
    base: Url,
    endpoint: String,
    token: Secret,
    /// The name below `duckdns.org`.
    subname: String,
}

impl fmt::Debug for DuckdnsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DuckdnsProvider")
            .field("endpoint", &self.base.as_str())
            .field("token", &self.token)
            .field("subname", &self.subname)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Provider for DuckdnsProvider {
    fn name(&self) -> &str {
        "duckdns"
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
        if v4.is_empty() && v6.is_empty() {
            return Outcome::Published { changed: false };
        }
        for (len, family) in [(v4.len(), "IPv4"), (v6.len(), "IPv6")] {
            if len > 1 {
                return Outcome::fatal(
                    FatalKind::Config,
                    format!(
                        "DuckDNS holds one {family} address per name but record {name} has {len}: publish one address, or use a provider that takes several"
                    ),
                );
            }
        }
        let mut url = cloud::join(&self.base, &["update"]);
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("domains", &self.subname)
                .append_pair("token", self.token.expose());
            if let Some(a) = v4.first() {
                query.append_pair("ip", &a.to_string());
            }
            if let Some(a) = v6.first() {
                query.append_pair("ipv6", &a.to_string());
            }
            query.append_pair("verbose", "true");
        }
        let reply = match http::send(self.client.get(url), &self.endpoint).await {
            Ok(reply) => reply,
            Err(outcome) => return outcome,
        };
        self.classify(&reply, update)
    }
}

impl DuckdnsProvider {
    fn classify(&self, reply: &Reply, update: &Update) -> Outcome {
        let name = update.hostname.as_str();
        if !reply.status.is_success() {
            if let Some(outcome) = http::generic_status(reply, &self.endpoint, "endpoint") {
                return match outcome {
                    Outcome::Transient {
                        reason,
                        retry_after,
                    } => Outcome::Transient {
                        reason: format!("{SERVICE} asks to slow down or is failing ({reason})"),
                        retry_after,
                    },
                    other => other,
                };
            }
            return Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{} answered HTTP {}: check the endpoint setting",
                    self.endpoint, reply.status
                ),
            );
        }
        let mut lines = reply.body.lines().map(str::trim).filter(|l| !l.is_empty());
        match lines.next() {
            Some("OK") => {}
            Some("KO") => {
                return Outcome::fatal(
                    FatalKind::Auth,
                    format!(
                        "{SERVICE} refused the update of {name} (KO): check token, and that {} is one of the account's domains on www.duckdns.org",
                        self.subname
                    ),
                );
            }
            other => {
                return Outcome::transient(format!(
                    "{} answered something that is not a DuckDNS reply ({:?}); check the endpoint setting",
                    self.endpoint,
                    other
                        .unwrap_or_default()
                        .chars()
                        .take(80)
                        .collect::<String>()
                ));
            }
        }
        // `OK`, the IPv4 and IPv6 addresses it now holds (each may be blank), then
        // `UPDATED` or `NOCHANGE`. A reply without the verbose part counts as a change.
        let rest: Vec<&str> = reply.body.lines().skip(1).map(str::trim).collect();
        let echoed: Vec<IpAddr> = rest.iter().filter_map(|l| l.parse().ok()).collect();
        for sent in update.addresses() {
            let same_family = |a: &IpAddr| a.is_ipv4() == sent.is_ipv4();
            if echoed.iter().any(same_family) && !echoed.contains(&sent) {
                return Outcome::transient(format!(
                    "{SERVICE} answered OK for {name} but holds another address than {sent}; it is sent again on the next attempt"
                ));
            }
        }
        let changed = !rest.contains(&"NOCHANGE");
        Outcome::Published { changed }
    }
}
