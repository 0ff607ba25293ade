//! The HTTP plumbing every HTTP-speaking provider shares: one client configuration, bounded
//! reply bodies, and the classification of transport failures and generic HTTP statuses.
//!
//! Decisions kept in one place:
//! - redirects are not followed: a moved update endpoint is a configuration error the user
//!   should see (with the new location), and following it could carry credentials elsewhere;
//! - reply bodies are read up to [`MAX_BODY`]: update replies are a line or a small JSON object,
//!   but a page of a cloud API's listing (500 deSEC domains, 1000 GoDaddy domains, a Porkbun
//!   zone) runs to hundreds of kilobytes, and a cut page would not parse;
//! - error texts name the endpoint (scheme, host, port) but never the path or query, which
//!   for webhooks may hold a token.

use std::time::{Duration, SystemTime};

use reqwest::{RequestBuilder, StatusCode, Url, header};

use crate::outcome::{Outcome, parse_retry_after};
use crate::spec::ProviderConfigError;

/// The default User-Agent: program, version and where to reach the maintainers, as Dyn's
/// client policy and No-IP's integration guide ask.
pub const USER_AGENT: &str = concat!(
    "ddns/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/ddns-project/ddns)"
);

/// The most of a reply body that is read.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// Timeouts for provider requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpOptions {
    /// The whole request, from connecting to the last byte of the reply.
    pub timeout: Duration,
    /// Establishing the connection (TCP and TLS).
    pub connect_timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Builds the client a provider keeps for its lifetime.
pub(crate) fn client(
    user_agent: &str,
    options: &HttpOptions,
) -> Result<reqwest::Client, ProviderConfigError> {
    // Providers with the same settings share one client: one connection pool and one set of
    // TLS roots in memory, however many records the agent has.
    type Key = (String, Duration, Duration);
    static CLIENTS: std::sync::Mutex<Vec<(Key, reqwest::Client)>> =
        std::sync::Mutex::new(Vec::new());
    let key: Key = (
        user_agent.to_owned(),
        options.timeout,
        options.connect_timeout,
    );
    let mut clients = CLIENTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, client)) = clients.iter().find(|(k, _)| *k == key) {
        return Ok(client.clone());
    }
    let client = reqwest::Client::builder()
        .user_agent(user_agent)
        .timeout(options.timeout)
        .connect_timeout(options.connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ProviderConfigError::HttpClient(error_chain(&e)))?;
    clients.push((key, client.clone()));
    Ok(client)
}

/// A reply, read and bounded.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) location: Option<String>,
    /// The `Link` header (RFC 8288), for APIs that page with it (deSEC).
    pub(crate) link: Option<String>,
    pub(crate) body: String,
}

impl Reply {
    /// The body's first line, trimmed, for messages; at most 200 characters.
    pub(crate) fn body_excerpt(&self) -> String {
        let line = self.body.lines().map(str::trim).find(|l| !l.is_empty());
        let line = line.unwrap_or_default();
        let mut excerpt: String = line.chars().take(200).collect();
        if excerpt.len() < line.len() {
            excerpt.push('…');
        }
        excerpt
    }
}

/// Sends a request and reads the reply; transport failures come back as a transient outcome.
pub(crate) async fn send(request: RequestBuilder, endpoint: &str) -> Result<Reply, Outcome> {
    let mut response = request
        .send()
        .await
        .map_err(|e| transport_failure(&e, endpoint))?;
    let status = response.status();
    let headers = response.headers();
    let retry_after = headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
        .or_else(|| rate_limit_reset(headers, SystemTime::now()));
    let location = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let link = headers
        .get(header::LINK)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut bytes = Vec::new();
    while bytes.len() < MAX_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => return Err(transport_failure(&e, endpoint)),
        }
    }
    bytes.truncate(MAX_BODY);
    Ok(Reply {
        status,
        retry_after,
        location,
        link,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// The wait a `RateLimit-Reset` / `X-RateLimit-Reset` header asks for, when a throttled
/// reply has no `Retry-After` (DigitalOcean and Vercel send only these).
///
/// Vendors disagree on the unit: DigitalOcean and Vercel send the Unix time the window
/// resets, the IETF draft (draft-ietf-httpapi-ratelimit-headers) seconds from now. A value
/// above one billion can only be a time (2001 or later), so both read right.
fn rate_limit_reset(headers: &header::HeaderMap, now: SystemTime) -> Option<Duration> {
    const EPOCH_FLOOR: u64 = 1_000_000_000;
    let value: u64 = ["ratelimit-reset", "x-ratelimit-reset"]
        .iter()
        .find_map(|name| headers.get(*name)?.to_str().ok()?.trim().parse().ok())?;
    if value < EPOCH_FLOOR {
        return Some(Duration::from_secs(value));
    }
    let at = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(value))?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn transport_failure(error: &reqwest::Error, endpoint: &str) -> Outcome {
    let reason = if error.is_timeout() {
        format!("{endpoint} did not answer in time")
    } else if error.is_connect() {
        format!("could not connect to {endpoint}: {}", innermost(error))
    } else {
        format!("the request to {endpoint} failed: {}", innermost(error))
    };
    Outcome::transient(reason)
}

/// The deepest cause of an error: "Connection refused (os error 111)" rather than
/// "error sending request".
fn innermost(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// An error and its causes, joined; used where the URL is not in play.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

/// `scheme://host[:port]` of a URL: safe to show, since paths and queries may hold tokens.
pub(crate) fn endpoint(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// Parses and checks a configured URL: absolute, `http` or `https`, no credentials in it.
pub(crate) fn parse_url(field: &'static str, value: &str) -> Result<Url, ProviderConfigError> {
    let url = Url::parse(value).map_err(|e| ProviderConfigError::BadUrl {
        field,
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ProviderConfigError::BadUrl {
            field,
            reason: format!("the scheme is {:?}; use http or https", url.scheme()),
        });
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ProviderConfigError::BadUrl {
            field,
            reason: "it has no host".into(),
        });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ProviderConfigError::BadUrl {
            field,
            reason: "it contains credentials; give them in the provider's credential fields".into(),
        });
    }
    Ok(url)
}

/// Logs a warning when credentials will cross the network unencrypted (Oray's documented
/// endpoint is plain HTTP); loopback addresses are exempt.
pub(crate) fn warn_if_cleartext(url: &Url, provider: &str) {
    let host = url.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if url.scheme() == "http" && !loopback {
        tracing::warn!(
            provider,
            endpoint = %endpoint(url),
            "credentials are sent over plain HTTP; use an https URL if the service offers one"
        );
    }
}

/// The outcome for statuses every HTTP provider treats alike: 429 and 5xx are transient
/// (with the server's `Retry-After`), 3xx is a configuration error naming the new location.
/// Other statuses return `None` and are the provider's to classify.
pub(crate) fn generic_status(reply: &Reply, endpoint: &str, what: &str) -> Option<Outcome> {
    let status = reply.status;
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        let excerpt = reply.body_excerpt();
        let detail = if excerpt.is_empty() {
            String::new()
        } else {
            format!(": {excerpt}")
        };
        return Some(Outcome::Transient {
            reason: format!("{endpoint} answered HTTP {status}{detail}"),
            retry_after: reply.retry_after,
        });
    }
    if status.is_redirection() {
        let target = reply.location.as_deref().unwrap_or("an unnamed location");
        return Some(Outcome::fatal(
            crate::FatalKind::Config,
            format!(
                "{endpoint} answered HTTP {status} pointing to {target}: set the {what} to the new address"
            ),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert!(parse_url("url", "https://dyn.example.com/nic/update").is_ok());
        for bad in [
            "ftp://x.example/",
            "not a url",
            "https://user:pw@x.example/",
            "/nic/update",
        ] {
            let err = parse_url("url", bad).unwrap_err();
            assert!(
                err.to_string().starts_with("the url is not usable"),
                "{err}"
            );
        }
        let url = parse_url("url", "http://127.0.0.1:8080/hook?token=s3cret").unwrap();
        assert_eq!(endpoint(&url), "http://127.0.0.1:8080");
    }

    #[test]
    fn user_agent_names_program_version_and_contact() {
        assert!(USER_AGENT.starts_with(concat!("ddns/", env!("CARGO_PKG_VERSION"))));
        assert!(USER_AGENT.contains("https://github.com/ddns-project/ddns"));
    }

    #[test]
    fn rate_limit_reset_is_a_time_or_a_delay() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut headers = header::HeaderMap::new();
        assert_eq!(rate_limit_reset(&headers, now), None);
        headers.insert("ratelimit-reset", "1700000042".parse().unwrap());
        assert_eq!(
            rate_limit_reset(&headers, now),
            Some(Duration::from_secs(42))
        );
        headers.insert("ratelimit-reset", "1600000000".parse().unwrap());
        assert_eq!(rate_limit_reset(&headers, now), Some(Duration::ZERO));
        let mut headers = header::HeaderMap::new();
        headers.insert("x-ratelimit-reset", "30".parse().unwrap());
        assert_eq!(
            rate_limit_reset(&headers, now),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn excerpts_are_short() {
        let reply = Reply {
            status: StatusCode::OK,
            retry_after: None,
            location: None,
            link: None,
            body: format!("\n  {}\nsecond", "x".repeat(300)),
        };
        assert_eq!(reply.body_excerpt().chars().count(), 201);
    }
}
