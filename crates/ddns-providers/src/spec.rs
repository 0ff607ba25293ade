//! Provider configuration as the user writes it, and turning it into a working [`Provider`].
//!
//! ```toml
//! [[record.provider]]          # the table's place is the agent's business
//! type = "dyndns2"
//! service = "noip"
//! username = "me@example.com"
//! password = "${NOIP_PASSWORD}"
//! ```
//! The agent resolves `${ENV}` and `*_file` references before deserialising, so every
//! credential arrives here as a plain string, wrapped in [`Secret`] at once so it cannot be
//! logged by accident. Everything that can be checked without the network — URLs, templates,
//! header names, whether the service can publish the record's address families — is checked
//! by [`build`], so a bad configuration fails at start-up with one sentence naming the field.

use std::fmt;

use ddns_core::DomainName;
use serde::Deserialize;

use crate::alidns::AlidnsSpec;
use crate::cloudflare::CloudflareSpec;
use crate::ddns_api::DdnsSpec;
use crate::desec::DesecSpec;
use crate::digitalocean::DigitaloceanSpec;
use crate::dnspod::DnspodSpec;
use crate::duckdns::DuckdnsSpec;
use crate::dyndns2::Dyndns2Spec;
use crate::dynv6::Dynv6Spec;
use crate::gandi::GandiSpec;
use crate::godaddy::GodaddySpec;
use crate::he::HeSpec;
use crate::http::HttpOptions;
use crate::huaweicloud::HuaweicloudSpec;
use crate::namecheap::NamecheapSpec;
use crate::namesilo::NamesiloSpec;
use crate::porkbun::PorkbunSpec;
use crate::provider::Provider;
use crate::rfc2136::Rfc2136Spec;
use crate::route53::Route53Spec;
use crate::template::TemplateError;
use crate::vercel::VercelSpec;
use crate::webhook::WebhookSpec;

/// One provider a record is published to.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProviderSpec {
    /// A ddns server's REST API (`POST /update`).
    Ddns(DdnsSpec),
    /// A DynDNS2 (`/nic/update`) service: No-IP, Dyn, Dynu, Oray or any compatible one.
    Dyndns2(Dyndns2Spec),
    /// A templated HTTP request.
    Webhook(WebhookSpec),
    /// Alibaba Cloud DNS (阿里云解析).
    Alidns(AlidnsSpec),
    /// Tencent Cloud DNSPod (API 3.0).
    Dnspod(DnspodSpec),
    /// Huawei Cloud DNS (华为云解析).
    Huaweicloud(HuaweicloudSpec),
    /// Cloudflare DNS (API v4).
    Cloudflare(CloudflareSpec),
    /// AWS Route 53.
    Route53(Route53Spec),
    /// A primary name server taking RFC 2136 UPDATE with TSIG.
    Rfc2136(Rfc2136Spec),
    /// deSEC (desec.io).
    Desec(DesecSpec),
    /// DigitalOcean DNS (API v2).
    Digitalocean(DigitaloceanSpec),
    /// Porkbun DNS (API v3).
    Porkbun(PorkbunSpec),
    /// Gandi LiveDNS (API v5).
    Gandi(GandiSpec),
    /// GoDaddy DNS (Domains API v1).
    Godaddy(GodaddySpec),
    /// Vercel DNS.
    Vercel(VercelSpec),
    /// dynv6 (REST API v2).
    Dynv6(Dynv6Spec),
    /// NameSilo DNS.
    Namesilo(NamesiloSpec),
    /// DuckDNS.
    Duckdns(DuckdnsSpec),
    /// Hurricane Electric (dyn.dns.he.net).
    He(HeSpec),
    /// Namecheap dynamic DNS.
    Namecheap(NamecheapSpec),
}

impl ProviderSpec {
    /// The `type` as written in the configuration.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Ddns(_) => "ddns",
            Self::Dyndns2(_) => "dyndns2",
            Self::Webhook(_) => "webhook",
            Self::Alidns(_) => "alidns",
            Self::Dnspod(_) => "dnspod",
            Self::Huaweicloud(_) => "huaweicloud",
            Self::Cloudflare(_) => "cloudflare",
            Self::Route53(_) => "route53",
            Self::Rfc2136(_) => "rfc2136",
            Self::Desec(_) => "desec",
            Self::Digitalocean(_) => "digitalocean",
            Self::Porkbun(_) => "porkbun",
            Self::Gandi(_) => "gandi",
            Self::Godaddy(_) => "godaddy",
            Self::Vercel(_) => "vercel",
            Self::Dynv6(_) => "dynv6",
            Self::Namesilo(_) => "namesilo",
            Self::Duckdns(_) => "duckdns",
            Self::He(_) => "he",
            Self::Namecheap(_) => "namecheap",
        }
    }
}

/// A credential: a token, a password, a key. Its `Debug` prints `***`, and it has no
/// `Display` and no `Serialize`, so it only leaves through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a resolved credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the credential is empty (after trimming whitespace).
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// What [`build`] needs besides the spec: the record the provider will publish, so that a
/// provider that cannot publish one of its families is refused before the first update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildContext {
    /// The record's name, for messages.
    pub record: DomainName,
    /// The record publishes IPv4 addresses.
    pub ipv4: bool,
    /// The record publishes IPv6 addresses.
    pub ipv6: bool,
    /// Request timeouts.
    pub http: HttpOptions,
}

impl BuildContext {
    /// A context with default timeouts.
    pub fn new(record: DomainName, ipv4: bool, ipv6: bool) -> Self {
        Self {
            record,
            ipv4,
            ipv6,
            http: HttpOptions::default(),
        }
    }
}

/// Why a provider configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderConfigError {
    /// A URL that does not parse, is not http(s), or carries credentials.
    #[error("the {field} is not usable: {reason}")]
    BadUrl {
        /// The configuration field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A template with an unknown placeholder or filter, or unbalanced braces.
    #[error("the {field} template is invalid: {source}")]
    Template {
        /// The configuration field (`url`, `body`, `headers.X`).
        field: String,
        /// The template error.
        source: TemplateError,
    },
    /// A required field that is absent or empty.
    #[error("the {field} is missing or empty; {hint}")]
    Missing {
        /// The configuration field.
        field: &'static str,
        /// What to put there.
        hint: &'static str,
    },
    /// A field that does not apply to the chosen service.
    #[error("the {field} setting only applies to service = \"custom\"; remove it for {service}")]
    NotForPreset {
        /// The configuration field.
        field: &'static str,
        /// The preset chosen.
        service: &'static str,
    },
    /// The record publishes an address family the provider cannot set.
    #[error(
        "record {record} publishes {family} addresses but {provider} cannot set them; remove {family} from the record or publish it elsewhere"
    )]
    FamilyUnsupported {
        /// The provider's name.
        provider: String,
        /// The record's name.
        record: DomainName,
        /// `IPv4` or `IPv6`.
        family: &'static str,
    },
    /// An HTTP method that is not a valid token.
    #[error("the method {0:?} is not an HTTP method")]
    BadMethod(String),
    /// A header name or value that HTTP does not allow.
    #[error("the header {name:?} is not usable: {reason}")]
    BadHeader {
        /// The header name as written.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A setting with a value the provider cannot use.
    #[error("the {field} setting is not usable: {reason}")]
    Invalid {
        /// The configuration field.
        field: &'static str,
        /// What is wrong with it, never quoting a secret.
        reason: String,
    },
    /// The HTTP client could not be set up (for example, no TLS roots).
    #[error("the HTTP client could not be set up: {0}")]
    HttpClient(String),
}

/// Builds a provider for one record, checking everything that can be checked offline.
pub fn build(
    spec: &ProviderSpec,
    context: &BuildContext,
) -> Result<Box<dyn Provider>, ProviderConfigError> {
    let provider: Box<dyn Provider> = match spec {
        ProviderSpec::Ddns(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Dyndns2(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Webhook(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Alidns(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Dnspod(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Huaweicloud(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Cloudflare(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Route53(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Rfc2136(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Desec(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Digitalocean(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Porkbun(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Gandi(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Godaddy(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Vercel(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Dynv6(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Namesilo(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Duckdns(spec) => Box::new(spec.build(context)?),
        ProviderSpec::He(spec) => Box::new(spec.build(context)?),
        ProviderSpec::Namecheap(spec) => Box::new(spec.build(context)?),
    };
    let caps = provider.capabilities();
    for (wanted, can, family) in [
        (context.ipv4, caps.ipv4, "IPv4"),
        (context.ipv6, caps.ipv6, "IPv6"),
    ] {
        if wanted && !can {
            return Err(ProviderConfigError::FamilyUnsupported {
                provider: provider.name().to_owned(),
                record: context.record.clone(),
                family,
            });
        }
    }
    Ok(provider)
}

/// Checks that a credential is present.
pub(crate) fn require(
    secret: &Secret,
    field: &'static str,
    hint: &'static str,
) -> Result<(), ProviderConfigError> {
    if secret.is_blank() {
        return Err(ProviderConfigError::Missing { field, hint });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ProviderSpec, toml::de::Error> {
        toml::from_str(text)
    }

    fn context(ipv4: bool, ipv6: bool) -> BuildContext {
        BuildContext::new(DomainName::parse("home.example.com").unwrap(), ipv4, ipv6)
    }

    #[test]
    fn secrets_never_print() {
        let spec = parse(
            r#"
            type = "ddns"
            url = "https://ddns.example.com"
            token = "tok-SECRET-123"
            "#,
        )
        .unwrap();
        let debug = format!("{spec:?} {spec:#?}");
        assert!(!debug.contains("tok-SECRET-123"), "{debug}");
        assert!(debug.contains("***"), "{debug}");
        let provider = build(&spec, &context(true, false)).unwrap();
        let debug = format!("{provider:?} {provider:#?}");
        assert!(!debug.contains("tok-SECRET-123"), "{debug}");
        let spec = parse(
            r#"
            type = "dyndns2"
            service = "dynu"
            username = "me"
            password = "pw-SECRET-456"
            "#,
        )
        .unwrap();
        let debug = format!("{spec:?} {:?}", build(&spec, &context(true, true)).unwrap());
        assert!(!debug.contains("pw-SECRET-456"), "{debug}");
        assert!(debug.contains("me"), "{debug}");
        assert_eq!(Secret::new("x").expose(), "x");
    }

    #[test]
    fn unknown_fields_and_types_are_errors() {
        let err = parse(
            r#"
            type = "ddns"
            url = "https://ddns.example.com"
            token = "t"
            tokne = "t"
            "#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("tokne"), "{err}");
        let err = parse(r#"type = "route66""#).unwrap_err();
        assert!(err.to_string().contains("route66"), "{err}");
        let err = parse(
            r#"
            type = "dyndns2"
            service = "noip"
            username = "u"
            password = "p"
            pasword = "p"
            "#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("pasword"), "{err}");
    }

    #[test]
    fn empty_credentials_are_refused() {
        let spec = parse(
            r#"
            type = "ddns"
            url = "https://ddns.example.com"
            token = "  "
            "#,
        )
        .unwrap();
        let err = build(&spec, &context(true, false)).unwrap_err();
        assert!(
            matches!(err, ProviderConfigError::Missing { field: "token", .. }),
            "{err}"
        );
    }

    #[test]
    fn ipv6_from_an_ipv4_only_service_is_refused() {
        let spec = parse(
            r#"
            type = "dyndns2"
            service = "oray"
            username = "u"
            password = "p"
            "#,
        )
        .unwrap();
        assert!(build(&spec, &context(true, false)).is_ok());
        let err = build(&spec, &context(true, true)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "record home.example.com publishes IPv6 addresses but oray cannot set them; \
             remove IPv6 from the record or publish it elsewhere"
        );
    }
}
