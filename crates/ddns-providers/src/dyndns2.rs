//! Publishing to DynDNS2 (`/nic/update`) services: No-IP, Dyn, Dynu, Oray (花生壳) and any
//! compatible service at a custom URL.
//!
//! ```text
//! GET /nic/update?hostname=h.example.com&myip=192.0.2.1,2001:db8::1 HTTP/1.1
//! Authorization: Basic base64(username:password)
//! User-Agent: ddns/0.1.0 (+https://github.com/ddns-project/ddns)
//! ```
//! One update is one request for one hostname, with both families in it where the service
//! takes them together (clients.md §4.1): `myip=v4,v6` for No-IP and Dyn, `myip=v4&myipv6=v6`
//! for Dynu, which also needs `myip=no` / `myipv6=no` to stop it filling a family from the
//! connection's address. The reply's first word is the code; [`classify_reply`] maps every
//! code to the reaction clients.md §4.2 requires, and checks that the address echoed after
//! `good`/`nochg` is one that was sent.
//!
//! | service | URL                                      | IPv6         | lists |
//! |---------|------------------------------------------|--------------|-------|
//! | noip    | `https://dynupdate.no-ip.com/nic/update` | in `myip`    | no    |
//! | dyn     | `https://members.dyndns.org/v3/update`   | in `myip`    | yes   |
//! | dynu    | `https://api.dynu.com/nic/update`        | `myipv6`     | no    |
//! | oray    | `http://ddns.oray.com/ph/update`         | none         | no    |
//! | custom  | `url` (required)                         | `ipv6_param` | `address_lists` |
//!
//! Dyn replaces both families on every update (omitting one clears it, openwrt/packages#17875),
//! so its updates must carry every family the record publishes. Oray documents HTTP only and
//! also answers `abuse` for wrong credentials.

mod reply;

use std::fmt;

use async_trait::async_trait;
use ddns_core::dyndns2::ReturnCode;
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use crate::http::{self, Reply};
use crate::outcome::{FatalKind, MIN_RETRY_AFTER_911, Outcome};
use crate::provider::{Capabilities, Provider, Update, join_addresses};
use crate::spec::{BuildContext, ProviderConfigError, Secret, require};

pub use reply::classify_reply;
use reply::{Answer, first_word};

/// `type = "dyndns2"`: a DynDNS2 service.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dyndns2Spec {
    /// Which service; presets know their URL and quirks.
    pub service: Service,
    /// The full update URL: required for `custom`, replaces a preset's URL otherwise.
    #[serde(default)]
    pub url: Option<String>,
    /// The account name (No-IP: the e-mail address or DDNS key user).
    pub username: String,
    /// The password or update key.
    pub password: Secret,
    /// Replaces the User-Agent, for a service that only accepts registered clients.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// `custom` only: how IPv6 addresses are sent (default `myip`).
    #[serde(default)]
    pub ipv6_param: Option<Ipv6Param>,
    /// `custom` only: whether several addresses per family may be sent (default `false`).
    #[serde(default)]
    pub address_lists: Option<bool>,
}

/// The DynDNS2 services ddns knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// No-IP.
    Noip,
    /// Dyn (Oracle).
    Dyn,
    /// Dynu.
    Dynu,
    /// Oray 花生壳 (IPv4 only).
    Oray,
    /// Any other DynDNS2 service, at `url`.
    Custom,
}

/// Where IPv6 addresses go in the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ipv6Param {
    /// With the IPv4 ones in `myip=v4,v6`.
    Myip,
    /// In `myipv6`; the family left alone is sent as `no`.
    Myipv6,
    /// Nowhere: the service is IPv4-only.
    None,
}

struct Preset {
    name: &'static str,
    display: &'static str,
    url: &'static str,
    ipv6: Ipv6Param,
    address_lists: bool,
    keeps_omitted_family: bool,
}

const fn preset(service: Service) -> Preset {
    let (name, display, url, ipv6, address_lists, keeps_omitted_family) = match service {
        Service::Noip => (
            "noip",
            "No-IP",
            "https://dynupdate.no-ip.com/nic/update",
            Ipv6Param::Myip,
            false,
            true,
        ),
        Service::Dyn => (
            "dyn",
            "Dyn",
            "https://members.dyndns.org/v3/update",
            Ipv6Param::Myip,
            true,
            false,
        ),
        Service::Dynu => (
            "dynu",
            "Dynu",
            "https://api.dynu.com/nic/update",
            Ipv6Param::Myipv6,
            false,
            true,
        ),
        Service::Oray => (
            "oray",
            "Oray",
            "http://ddns.oray.com/ph/update",
            Ipv6Param::None,
            false,
            true,
        ),
        Service::Custom => (
            "dyndns2",
            "the DynDNS2 service",
            "",
            Ipv6Param::Myip,
            false,
            true,
        ),
    };
    Preset {
        name,
        display,
        url,
        ipv6,
        address_lists,
        keeps_omitted_family,
    }
}

/// No-IP asks software clients for `Company NameOfProgram/OSVersion-ReleaseVersion contact`.
fn noip_user_agent() -> String {
    format!(
        "ddns-project ddns/{}-{} https://github.com/ddns-project/ddns",
        std::env::consts::OS,
        env!("CARGO_PKG_VERSION")
    )
}

impl Dyndns2Spec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<Dyndns2Provider, ProviderConfigError> {
        let preset = preset(self.service);
        let custom = self.service == Service::Custom;
        if !custom {
            if self.ipv6_param.is_some() {
                return Err(ProviderConfigError::NotForPreset {
                    field: "ipv6_param",
                    service: preset.name,
                });
            }
            if self.address_lists.is_some() {
                return Err(ProviderConfigError::NotForPreset {
                    field: "address_lists",
                    service: preset.name,
                });
            }
        }
        let url = match (&self.url, custom) {
            (Some(url), _) => http::parse_url("url", url)?,
            (None, false) => http::parse_url("url", preset.url)?,
            (None, true) => {
                return Err(ProviderConfigError::Missing {
                    field: "url",
                    hint: "give the service's full update URL, such as https://dyn.example.net/nic/update",
                });
            }
        };
        if self.username.trim().is_empty() {
            return Err(ProviderConfigError::Missing {
                field: "username",
                hint: "give the account name the service expects",
            });
        }
        require(
            &self.password,
            "password",
            "give the account's password or update key",
        )?;
        let user_agent = match (&self.user_agent, self.service) {
            (Some(ua), _) => ua.clone(),
            (None, Service::Noip) => noip_user_agent(),
            (None, _) => http::USER_AGENT.to_owned(),
        };
        http::warn_if_cleartext(&url, preset.name);
        let endpoint = http::endpoint(&url);
        let display = if custom {
            endpoint.clone()
        } else {
            preset.display.to_owned()
        };
        Ok(Dyndns2Provider {
            name: preset.name,
            display,
            client: http::client(&user_agent, &context.http)?,
            endpoint,
            url,
            username: self.username.clone(),
            password: self.password.clone(),
            ipv6: self.ipv6_param.unwrap_or(preset.ipv6),
            address_lists: self.address_lists.unwrap_or(preset.address_lists),
            keeps_omitted_family: preset.keeps_omitted_family,
            record_families: (context.ipv4, context.ipv6),
        })
    }
}

/// A DynDNS2 service.
pub struct Dyndns2Provider {
    name: &'static str,
    display: String,
    client: reqwest::Client,
    endpoint: String,
    url: Url,
    username: String,
    password: Secret,
    ipv6: Ipv6Param,
    address_lists: bool,
    keeps_omitted_family: bool,
    record_families: (bool, bool),
}

impl fmt::Debug for Dyndns2Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dyndns2Provider")
            .field("name", &self.name)
            .field("url", &self.url.as_str())
            .field("username", &self.username)
            .field("password", &self.password)
            .field("ipv6", &self.ipv6)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Provider for Dyndns2Provider {
    fn name(&self) -> &str {
        self.name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            ipv4: true,
            ipv6: self.ipv6 != Ipv6Param::None,
            address_lists: self.address_lists,
            ttl: false,
            keeps_omitted_family: self.keeps_omitted_family,
        }
    }

    async fn publish(&self, update: &Update) -> Outcome {
        let url = match self.update_url(update) {
            Ok(url) => url,
            Err(outcome) => return outcome,
        };
        tracing::debug!(host = %update.hostname, url = %url, "publishing to DynDNS2 service");
        let request = self
            .client
            .get(url)
            .basic_auth(&self.username, Some(self.password.expose()));
        match http::send(request, &self.endpoint).await {
            Ok(reply) => self.classify(&reply, update),
            Err(outcome) => outcome,
        }
    }
}

impl Dyndns2Provider {
    /// The request URL for an update, or why this service cannot take it.
    fn update_url(&self, update: &Update) -> Result<Url, Outcome> {
        let name = update.hostname.as_str();
        let refuse = |what: String| Err(Outcome::fatal(FatalKind::Config, what));
        let (v4, v6) = (update.ipv4_list(), update.ipv6_list());
        if v4.is_empty() && v6.is_empty() {
            return refuse(format!(
                "the update of {name} carries no address, which would let {} guess one; publish at least one family",
                self.display
            ));
        }
        if !v6.is_empty() && self.ipv6 == Ipv6Param::None {
            return refuse(format!(
                "{} cannot set IPv6 addresses: remove IPv6 from record {name}",
                self.display
            ));
        }
        for (len, family) in [(v4.len(), "IPv4"), (v6.len(), "IPv6")] {
            if len > 1 && !self.address_lists {
                return refuse(format!(
                    "{} takes one {family} address per update but record {name} has {len}: publish one address or use a provider that takes several",
                    self.display
                ));
            }
        }
        let (wants_v4, wants_v6) = self.record_families;
        if !self.keeps_omitted_family
            && ((wants_v4 && update.ipv4.is_none()) || (wants_v6 && update.ipv6.is_none()))
        {
            return refuse(format!(
                "{} clears a family left out of an update: publish IPv4 and IPv6 of {name} together",
                self.display
            ));
        }

        let mut query = self.url.query().map(str::to_owned).unwrap_or_default();
        let mut add = |key: &str, value: &str| {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(key);
            query.push('=');
            query.push_str(&encode_query_value(value));
        };
        add("hostname", name);
        match self.ipv6 {
            Ipv6Param::Myip | Ipv6Param::None => add("myip", &join_addresses(&update.addresses())),
            Ipv6Param::Myipv6 => {
                // `no` keeps the service from filling a family from the connection's address.
                let or_no = |list: String| if list.is_empty() { "no".into() } else { list };
                add("myip", &or_no(join_addresses(v4)));
                add("myipv6", &or_no(join_addresses(v6)));
            }
        }
        let mut url = self.url.clone();
        url.set_query(Some(&query));
        Ok(url)
    }

    fn classify(&self, reply: &Reply, update: &Update) -> Outcome {
        let name = update.hostname.as_str();
        let code = first_word(&reply.body);
        let status = reply.status;
        let known = code.is_some_and(|c| !matches!(c, Answer::Unknown(_)));
        if status.is_success()
            || (status.is_client_error() && known && status != StatusCode::TOO_MANY_REQUESTS)
        {
            return classify_reply(&self.display, update, &reply.body, reply.retry_after);
        }
        if let Some(outcome) = http::generic_status(reply, &self.endpoint, "url") {
            // A 5xx that also says 911 still means "not before 30 minutes".
            return match (outcome, code) {
                (
                    Outcome::Transient {
                        reason,
                        retry_after,
                    },
                    Some(Answer::Code(ReturnCode::ServerError)),
                ) => Outcome::Transient {
                    reason,
                    retry_after: Some(retry_after.unwrap_or_default().max(MIN_RETRY_AFTER_911)),
                },
                (outcome, _) => outcome,
            };
        }
        let display = &self.display;
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "{display} refused the credentials (HTTP {status}): check the username and password in record {name}"
                ),
            ),
            StatusCode::NOT_FOUND => Outcome::fatal(
                FatalKind::Config,
                format!(
                    "there is no DynDNS2 update endpoint at {} (HTTP 404): check the url",
                    self.endpoint
                ),
            ),
            _ => Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{display} answered the unexpected HTTP {status} ({}): check the url and settings of record {name}",
                    reply.body_excerpt()
                ),
            ),
        }
    }
}

/// The values DynDNS2 requests carry (names, addresses, `no`) need no escaping; anything else
/// is percent-encoded, keeping `,` and `:` readable as routers and ddclient send them.
fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | ',' | ':') {
            out.push(c);
        } else {
            out.push_str(&crate::template::percent_encode(c.encode_utf8(&mut [0; 4])));
        }
    }
    out
}
