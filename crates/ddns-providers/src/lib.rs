//! DNS providers the ddns agent publishes to, behind one trait.
//!
//! The agent decides what a record's addresses should be; this crate tells a DNS service and
//! says, in one of three classes, how that went ([`Outcome`]): published, retry later, or stop
//! until the user fixes something — with one sentence saying what.
//!
//! - [`provider`]: the [`Provider`] trait and the [`Update`] it publishes;
//! - [`outcome`]: [`Outcome`], [`FatalKind`], `Retry-After` parsing;
//! - [`spec`]: [`ProviderSpec`] as written in the agent's TOML, [`Secret`], and [`build`];
//! - [`ddns_api`]: our own server's REST API;
//! - [`cloudflare`]: Cloudflare DNS (API v4, token or global key);
//! - [`route53`]: AWS Route 53, signed with SigV4 (`sigv4`);
//! - [`rfc2136`]: RFC 2136 UPDATE with TSIG to a primary name server;
//! - [`dyndns2`]: DynDNS2 services (No-IP, Dyn, Dynu, Oray, custom);
//! - [`webhook`]: a templated HTTP request;
//! - [`alidns`], [`dnspod`], [`huaweicloud`]: Alibaba Cloud DNS, Tencent Cloud DNSPod and
//!   Huawei Cloud DNS, on `signing` (their HMAC schemes), `zone_split` (zone by longest
//!   suffix) and `cloud` (the per-family record diff they share);
//! - [`desec`]: deSEC (RRsets by subname and type, one bulk write);
//! - [`digitalocean`]: DigitalOcean DNS (API v2, records by id);
//! - [`porkbun`]: Porkbun DNS (API v3, keys in the body);
//! - [`gandi`]: Gandi LiveDNS (v5, RRsets replaced by name and type);
//! - [`godaddy`]: GoDaddy DNS (Domains API v1, records replaced by name and type);
//! - [`vercel`]: Vercel DNS (records by id, optional team);
//! - [`dynv6`]: dynv6 (REST API v2; the zone's own address at the apex);
//! - [`namesilo`]: NameSilo DNS (records by id, the key in the query);
//! - [`duckdns`], [`he`], [`namecheap`]: the update-URL services (DuckDNS, Hurricane
//!   Electric, Namecheap dynamic DNS), which have no read API;
//! - [`template`]: the template language of webhooks and the agent's notifications;
//! - [`http`]: the HTTP client settings and reply handling the providers share.
//!
//! **Invariant:** no provider logs or formats a credential; [`Secret`]'s `Debug` is `***`,
//! and error texts name endpoints (scheme, host, port), never URLs with their queries.

pub mod alidns;
mod cloud;
pub mod cloudflare;
pub mod ddns_api;
pub mod desec;
pub mod digitalocean;
pub mod dnspod;
pub mod duckdns;
pub mod dyndns2;
pub mod dynv6;
pub mod gandi;
pub mod godaddy;
pub mod he;
pub mod http;
pub mod huaweicloud;
pub mod namecheap;
pub mod namesilo;
pub mod outcome;
pub mod porkbun;
pub mod provider;
pub mod rfc2136;
pub mod route53;
mod signing;
mod sigv4;
pub mod spec;
pub mod template;
pub mod vercel;
pub mod webhook;
mod zone_split;

pub use http::HttpOptions;
pub use outcome::{FatalKind, Outcome};
pub use provider::{Capabilities, Provider, Update};
pub use spec::{BuildContext, ProviderConfigError, ProviderSpec, Secret, build};
pub use template::{Template, TemplateError, Variables};
