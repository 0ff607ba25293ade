//! Publishing through a templated HTTP request, for services without a built-in provider.
//!
//! ```toml
//! type = "webhook"
//! method = "POST"                     # default: POST with a body, GET without
//! url = "https://hooks.example.com/ddns?host={name}"
//! headers = { "Content-Type" = "application/json", "Authorization" = "Bearer …" }
//! body = '{{"host": "{name|json}", "ipv4": "{ipv4|json}", "ipv6": "{ipv6|json}"}}'
//! ```
//! The URL, header values and body are [templates](crate::template) checked when the
//! provider is built. In the URL placeholders are percent-encoded (`|raw` opts out); in
//! headers and the body nothing is escaped, so a JSON body writes its braces as `{{ }}`, puts
//! each placeholder inside quotes and adds `|json`. No `Content-Type` is added on its own.
//!
//! Any 2xx publishes; 408, 429 and 5xx (and network failures) are transient; other answers
//! are fatal, since repeating the same request cannot change them.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Deserialize;

use crate::http::{self, Reply};
use crate::outcome::{FatalKind, Outcome};
use crate::provider::{Capabilities, Provider, Update};
use crate::spec::{BuildContext, ProviderConfigError};
use crate::template::{Context, Template, Variables};

/// `type = "webhook"`: a templated HTTP request.
///
/// The URL, headers and body may hold credentials, so `Debug` shows only the URL's endpoint,
/// the header names and the body's length.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// The HTTP method; `POST` when a body is given, `GET` otherwise.
    #[serde(default)]
    pub method: Option<String>,
    /// The URL template.
    pub url: String,
    /// Header name → value template.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body template.
    #[serde(default)]
    pub body: Option<String>,
}

impl fmt::Debug for WebhookSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSpec")
            .field("method", &self.method)
            .field("url", &redacted_url(&self.url))
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field(
                "body",
                &self.body.as_ref().map(|b| format!("<{} bytes>", b.len())),
            )
            .finish()
    }
}

fn redacted_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => format!("{}/…", http::endpoint(&parsed)),
        Err(_) => "<unparsed>".to_owned(),
    }
}

impl WebhookSpec {
    /// Builds the request as a notification hook (not tied to one record): templates are
    /// checked against a sample record.
    pub fn build_notifier(&self) -> Result<WebhookProvider, ProviderConfigError> {
        let sample = ddns_core::DomainName::parse("host.example.com")
            .unwrap_or_else(|_| unreachable!("a valid constant name"));
        self.build(&BuildContext::new(sample, true, true))
    }

    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<WebhookProvider, ProviderConfigError> {
        let template = |field: String, source: &str| {
            Template::parse(source, &[])
                .map_err(|source| ProviderConfigError::Template { field, source })
        };
        let sample = sample_variables(context);

        let url = template("url".into(), &self.url)?;
        http::parse_url("url", &url.render(&sample, Context::Url))?;

        let mut headers = Vec::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            let bad = |reason: String| ProviderConfigError::BadHeader {
                name: name.clone(),
                reason,
            };
            let header = HeaderName::from_bytes(name.as_bytes()).map_err(|e| bad(e.to_string()))?;
            let value = template(format!("headers.{name}"), value)?;
            HeaderValue::from_str(&value.render(&sample, Context::Text))
                .map_err(|_| bad("the value contains characters a header cannot carry".into()))?;
            headers.push((header, value));
        }

        let body = self
            .body
            .as_deref()
            .map(|b| template("body".into(), b))
            .transpose()?;
        let method = match &self.method {
            Some(m) => Method::from_bytes(m.trim().to_ascii_uppercase().as_bytes())
                .map_err(|_| ProviderConfigError::BadMethod(m.clone()))?,
            None if body.is_some() => Method::POST,
            None => Method::GET,
        };
        Ok(WebhookProvider {
            client: http::client(http::USER_AGENT, &context.http)?,
            method,
            url,
            headers,
            body,
        })
    }
}

/// Values that make templates render the way real updates will, for checks at build time.
fn sample_variables(context: &BuildContext) -> Variables {
    let update = Update {
        hostname: context.record.clone(),
        ipv4: Some(vec![[192, 0, 2, 1].into()]),
        ipv6: Some(vec![[0x2001, 0xdb8, 0, 0, 0, 0, 0, 1].into()]),
        ttl: Some(60),
        views: Vec::new(),
    };
    Variables::for_update(&update, "webhook", "update")
}

/// A templated HTTP request.
pub struct WebhookProvider {
    client: reqwest::Client,
    method: Method,
    url: Template,
    headers: Vec<(HeaderName, Template)>,
    body: Option<Template>,
}

impl fmt::Debug for WebhookProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookProvider")
            .field("method", &self.method)
            .field("url", &redacted_url(self.url.source()))
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Provider for WebhookProvider {
    fn name(&self) -> &str {
        "webhook"
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
        self.send(&Variables::for_update(update, "webhook", "update"))
            .await
    }
}

impl WebhookProvider {
    /// Renders the request with `vars` and sends it. Notifications use this with their own
    /// event and message; publishing uses it with the update's variables.
    pub async fn send(&self, vars: &Variables) -> Outcome {
        let name = vars.get("name").unwrap_or("the record");
        let url = match http::parse_url("url", &self.url.render(vars, Context::Url)) {
            Ok(url) => url,
            Err(e) => {
                return Outcome::fatal(
                    FatalKind::Config,
                    format!(
                        "the webhook URL for {name} renders unusable ({e}): fix the url template"
                    ),
                );
            }
        };
        let endpoint = http::endpoint(&url);
        let mut request = self.client.request(self.method.clone(), url);
        for (header, value) in &self.headers {
            match HeaderValue::from_str(&value.render(vars, Context::Text)) {
                Ok(value) => request = request.header(header, value),
                Err(_) => {
                    return Outcome::fatal(
                        FatalKind::Config,
                        format!(
                            "the webhook header {header} renders characters a header cannot carry: fix its template"
                        ),
                    );
                }
            }
        }
        if let Some(body) = &self.body {
            request = request.body(body.render(vars, Context::Text));
        }
        tracing::debug!(host = name, endpoint = %endpoint, method = %self.method, "calling webhook");
        match http::send(request, &endpoint).await {
            Ok(reply) => classify(&reply, &endpoint),
            Err(outcome) => outcome,
        }
    }
}

fn classify(reply: &Reply, endpoint: &str) -> Outcome {
    let status = reply.status;
    if status.is_success() {
        return Outcome::Published { changed: true };
    }
    if status == StatusCode::REQUEST_TIMEOUT {
        return Outcome::Transient {
            reason: format!("{endpoint} answered HTTP {status}"),
            retry_after: reply.retry_after,
        };
    }
    if let Some(outcome) = http::generic_status(reply, endpoint, "url") {
        return outcome;
    }
    let excerpt = reply.body_excerpt();
    let detail = if excerpt.is_empty() {
        String::new()
    } else {
        format!(": {excerpt}")
    };
    let (kind, fix) = match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => (
            FatalKind::Auth,
            "check the credentials in the webhook's headers or url",
        ),
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => {
            (FatalKind::Config, "check the webhook's url and method")
        }
        _ => (
            FatalKind::Config,
            "check that the webhook's request matches what the service expects",
        ),
    };
    Outcome::fatal(
        kind,
        format!("the webhook at {endpoint} refused the request (HTTP {status}{detail}): {fix}"),
    )
}
