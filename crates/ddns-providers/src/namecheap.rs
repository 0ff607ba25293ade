//! Publishing to Namecheap's dynamic DNS (the per-domain Dynamic DNS password, not the
//! account's API).
//!
//! ```text
//! GET {endpoint}/update?host=home&domain=example.com&password=PASSWORD&ip=192.0.2.1
//!
//! 200 <interface-response>…<IP>192.0.2.1</IP><ErrCount>0</ErrCount>…<Done>true</Done>…
//! 200 <interface-response>…<ErrCount>1</ErrCount><errors><Err1>Passwords do not match</Err1>…
//! ```
//! Sources: namecheap.com/support/knowledgebase/article.aspx/29/11/ ("How do I use a browser
//! to dynamically update the host's IP?": `host` is `@` for the domain itself, `password` the
//! Dynamic DNS password from Advanced DNS) and …/article.aspx/36/11/ (the A + Dynamic DNS
//! record must exist; IPv4 only). Every answer is HTTP 200: success is `ErrCount` 0, errors
//! are `Err1`… ("Passwords do not match", "Domain name not found", "No Records updated. A
//! record not Found;"). Namecheap documents no throttling answer; a 429 or 5xx is retried with
//! its `Retry-After`.
//!
//! **Zone.** The URL needs the record split into `host` and `domain`, and a Dynamic DNS
//! password lists nothing, so the zone is the `domain` setting (the Namecheap domain whose
//! password this is), checked to hold the record when the provider is built; labels are never
//! counted. **No write when equal** is the agent's state file: the agent publishes only when
//! the detected address differs from the one it last published (`ddns-agent::plan`). Namecheap
//! does not say whether an update changed anything, so every accepted update counts as one.

use std::fmt;

use async_trait::async_trait;
use ddns_core::DomainName;
use reqwest::Url;
use serde::Deserialize;

use crate::cloud;
use crate::http;
use crate::outcome::{FatalKind, Outcome};
use crate::provider::{Capabilities, Provider, Update};
use crate::spec::{BuildContext, ProviderConfigError, Secret, require};

/// Namecheap's dynamic DNS base URL.
pub const DEFAULT_ENDPOINT: &str = "https://dynamicdns.park-your-domain.com";
const SERVICE: &str = "Namecheap";

/// `type = "namecheap"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamecheapSpec {
    /// The domain (as registered at Namecheap) the record belongs to.
    pub domain: String,
    /// The domain's Dynamic DNS password (Domain List → Manage → Advanced DNS → Dynamic DNS).
    pub password: Secret,
    /// Replaces `https://dynamicdns.park-your-domain.com`.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl NamecheapSpec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<NamecheapProvider, ProviderConfigError> {
        require(
            &self.password,
            "password",
            "turn on Dynamic DNS under the domain's Advanced DNS and copy its password",
        )?;
        let domain =
            DomainName::parse(self.domain.trim()).map_err(|e| ProviderConfigError::Invalid {
                field: "domain",
                reason: format!("{:?} is not a domain name ({e})", self.domain),
            })?;
        let Some(host) = context.record.relative_to(&domain).map(str::to_owned) else {
            return Err(ProviderConfigError::Invalid {
                field: "domain",
                reason: format!(
                    "record {} is not in {domain}; give the Namecheap domain the record belongs to",
                    context.record
                ),
            });
        };
        let base = cloud::endpoint_url(self.endpoint.as_deref(), DEFAULT_ENDPOINT)?;
        http::warn_if_cleartext(&base, "namecheap");
        Ok(NamecheapProvider {
            client: http::client(http::USER_AGENT, &context.http)?,
            endpoint: http::endpoint(&base),
            base,
            domain,
            host,
            password: self.password.clone(),
        })
    }
}

/// Namecheap dynamic DNS.
pub struct NamecheapProvider {
    client: reqwest::Client,
    base: Url,
    endpoint: String,
    domain: DomainName,
    /// The record's name in `domain` (`@` for the domain itself).
    host: String,
    password: Secret,
}

impl fmt::Debug for NamecheapProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamecheapProvider")
            .field("endpoint", &self.base.as_str())
            .field("domain", &self.domain)
            .field("host", &self.host)
            .field("password", &self.password)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Provider for NamecheapProvider {
    fn name(&self) -> &str {
        "namecheap"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            ipv4: true,
            ipv6: false,
            address_lists: false,
            ttl: false,
            keeps_omitted_family: true,
        }
    }

    async fn publish(&self, update: &Update) -> Outcome {
        let name = update.hostname.as_str();
        if !update.ipv6_list().is_empty() {
            return Outcome::fatal(
                FatalKind::Config,
                format!("{SERVICE}'s dynamic DNS sets IPv4 only: remove IPv6 from record {name}"),
            );
        }
        let address = match update.ipv4_list() {
            [] => return Outcome::Published { changed: false },
            [one] => *one,
            more => {
                return Outcome::fatal(
                    FatalKind::Config,
                    format!(
                        "{SERVICE}'s dynamic DNS sets one IPv4 address per record but record {name} has {}: publish one address",
                        more.len()
                    ),
                );
            }
        };
        let mut url = cloud::join(&self.base, &["update"]);
        url.query_pairs_mut()
            .append_pair("host", &self.host)
            .append_pair("domain", self.domain.as_str())
            .append_pair("password", self.password.expose())
            .append_pair("ip", &address.to_string());
        let reply = match http::send(self.client.get(url), &self.endpoint).await {
            Ok(reply) => reply,
            Err(outcome) => return outcome,
        };
        if !reply.status.is_success() {
            return http::generic_status(&reply, &self.endpoint, "endpoint").unwrap_or_else(|| {
                Outcome::fatal(
                    FatalKind::Config,
                    format!(
                        "{} answered HTTP {}: check the endpoint setting",
                        self.endpoint, reply.status
                    ),
                )
            });
        }
        let Some(count) =
            element(&reply.body, "ErrCount").and_then(|c| c.trim().parse::<u32>().ok())
        else {
            return Outcome::transient(format!(
                "{} answered something that is not a Namecheap reply; check the endpoint setting",
                self.endpoint
            ));
        };
        if count == 0 {
            if let Some(ip) = element(&reply.body, "IP")
                && ip
                    .trim()
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip != address)
            {
                return Outcome::transient(format!(
                    "{SERVICE} accepted the update of {name} but holds {}; it is sent again on the next attempt",
                    ip.trim()
                ));
            }
            return Outcome::Published { changed: true };
        }
        let error = element(&reply.body, "Err1").unwrap_or_default();
        let says = cloud::vendor_says("Err1", error, &[&self.password]);
        classify(&says, name, &self.domain)
    }
}

/// Maps Namecheap's error texts (it has no codes) onto the agent's classes.
fn classify(says: &str, name: &str, domain: &DomainName) -> Outcome {
    let lower = says.to_ascii_lowercase();
    if lower.contains("password") {
        Outcome::fatal(
            FatalKind::Auth,
            format!(
                "{SERVICE} refused the password for {domain} ({says}): check password; it is the Dynamic DNS password under the domain's Advanced DNS, not the account password"
            ),
        )
    } else if lower.contains("domain name not found") || lower.contains("invalid domain") {
        Outcome::fatal(
            FatalKind::Host,
            format!(
                "{SERVICE} does not know the domain {domain} for dynamic DNS ({says}): check domain, and that Dynamic DNS is on for it"
            ),
        )
    } else if lower.contains("record not found") || lower.contains("not found") {
        Outcome::fatal(
            FatalKind::Host,
            format!(
                "{SERVICE} has no A + Dynamic DNS record {name} ({says}): create it under the domain's Advanced DNS first"
            ),
        )
    } else {
        Outcome::fatal(
            FatalKind::Config,
            format!("{SERVICE} refused the update of {name} ({says})"),
        )
    }
}

/// The text of the first `<tag>…</tag>` in `xml`.
fn element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))?;
    Some(&xml[start..start + end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_found() {
        let xml = "<interface-response><IP>192.0.2.1</IP><ErrCount>1</ErrCount><errors><Err1>Passwords do not match</Err1></errors></interface-response>";
        assert_eq!(element(xml, "ErrCount"), Some("1"));
        assert_eq!(element(xml, "Err1"), Some("Passwords do not match"));
        assert_eq!(element(xml, "Err2"), None);
        let domain = DomainName::parse("example.com").unwrap();
        assert!(matches!(
            classify("Err1: Passwords do not match", "h.example.com", &domain),
            Outcome::Fatal {
                kind: FatalKind::Auth,
                ..
            }
        ));
        assert!(matches!(
            classify(
                "Err1: No Records updated. A record not Found;",
                "h.example.com",
                &domain
            ),
            Outcome::Fatal {
                kind: FatalKind::Host,
                ..
            }
        ));
    }
}
