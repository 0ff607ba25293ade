//! Providers against scripted fake services on 127.0.0.1: the exact request each provider
//! sends, and how each answer is classified. No test contacts a real provider; every base URL
//! is overridden to a loopback fake.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly; that is their job"
)]

mod cloud;
mod cloudflare;
mod ddns_api;
mod dyndns2;
mod fake;
mod rfc2136;
mod route53;
mod token_apis;
mod update_url;
mod webhook;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ddns_core::DomainName;
use ddns_providers::{BuildContext, HttpOptions, Provider, ProviderSpec, Update, build};

pub(crate) const HOST: &str = "home.example.com";

pub(crate) fn host() -> DomainName {
    DomainName::parse(HOST).unwrap()
}

pub(crate) fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

pub(crate) fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// An update of `HOST`.
pub(crate) fn update(ipv4: &[&str], ipv6: &[&str]) -> Update {
    Update::new(
        host(),
        (!ipv4.is_empty()).then(|| ipv4.iter().map(|a| v4(a)).collect()),
        (!ipv6.is_empty()).then(|| ipv6.iter().map(|a| v6(a)).collect()),
    )
}

/// Parses a provider table and builds it for `HOST` with the given families; short timeouts.
pub(crate) fn provider(toml_text: &str, ipv4: bool, ipv6: bool) -> Box<dyn Provider> {
    let spec: ProviderSpec = toml::from_str(toml_text).unwrap();
    let mut context = BuildContext::new(host(), ipv4, ipv6);
    context.http = HttpOptions {
        timeout: Duration::from_millis(1500),
        connect_timeout: Duration::from_millis(1500),
    };
    build(&spec, &context).unwrap()
}

/// Like [`provider`], returning the build error.
pub(crate) fn provider_error(toml_text: &str, ipv4: bool, ipv6: bool) -> String {
    let spec: ProviderSpec = toml::from_str(toml_text).unwrap();
    build(&spec, &BuildContext::new(host(), ipv4, ipv6))
        .unwrap_err()
        .to_string()
}

/// An update of `host` (empty lists leave the family alone).
pub(crate) fn update_of(host: &str, ipv4: &[&str], ipv6: &[&str]) -> Update {
    Update::new(
        DomainName::parse(host).unwrap(),
        (!ipv4.is_empty()).then(|| ipv4.iter().map(|a| v4(a)).collect()),
        (!ipv6.is_empty()).then(|| ipv6.iter().map(|a| v6(a)).collect()),
    )
}

/// Parses a provider table and builds it for `host`, both families, short timeouts.
pub(crate) fn provider_for(toml_text: &str, host: &str) -> Box<dyn Provider> {
    let spec: ProviderSpec = toml::from_str(toml_text).unwrap();
    let mut context = BuildContext::new(DomainName::parse(host).unwrap(), true, true);
    context.http = HttpOptions {
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_millis(1500),
    };
    build(&spec, &context).unwrap()
}

/// The kind and message of a fatal outcome; panics on any other.
pub(crate) fn fatal_of(outcome: &ddns_providers::Outcome) -> (ddns_providers::FatalKind, &str) {
    match outcome {
        ddns_providers::Outcome::Fatal { kind, message } => (*kind, message.as_str()),
        other => panic!("expected a fatal outcome, got {other:?}"),
    }
}
