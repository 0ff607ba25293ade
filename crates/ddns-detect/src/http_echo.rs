//! Plain-text HTTP(S) echo services: `GET https://api.ipify.org` answers `203.0.113.7`.
//!
//! The body must be exactly one address. Clients that scrape the first thing looking like an
//! address out of any page have published addresses from error pages and CDN banners
//! (timothymiller/cloudflare-ddns#233: a record set to `104.18.0.0`), so HTML, JSON, an empty
//! body or two addresses are errors here.
//!
//! The connection is forced onto the family being detected by binding the local side to
//! `0.0.0.0` or `::`: a dual-stack echo service would otherwise answer whichever family Happy
//! Eyeballs picked. Proxies from the environment are ignored on purpose: through a proxy, the
//! service would see the proxy's address.

use std::net::IpAddr;
use std::sync::OnceLock;

use reqwest::header::ACCEPT;
use reqwest::{Client, Url};

use crate::Family;
use crate::source::{DetectError, SpecError, USER_AGENT, error_chain, parse_one_address, snippet};

/// Longest body accepted: an address with some whitespace fits many times over; an HTML
/// page does not.
const MAX_BODY: usize = 256;

/// An echo service URL with its family-bound client.
#[derive(Clone, Debug)]
pub struct HttpEcho {
    url: Url,
    client: Client,
}

impl HttpEcho {
    /// Validates `url` (`http` or `https`, with a host) and builds a client bound to `family`.
    pub fn new(url: &str, family: Family) -> Result<Self, SpecError> {
        let parsed = Url::parse(url.trim())
            .map_err(|e| SpecError::invalid("url", format!("{url:?} is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(SpecError::invalid(
                "url",
                format!("{url:?} must start with http:// or https://"),
            ));
        }
        if parsed.host().is_none() {
            return Err(SpecError::invalid("url", format!("{url:?} has no host")));
        }
        Ok(Self {
            url: parsed,
            client: client(family)?,
        })
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Fetches the URL and parses the body.
    pub async fn detect(&self, family: Family) -> Result<IpAddr, DetectError> {
        let mut response = self
            .client
            .get(self.url.clone())
            .header(ACCEPT, "text/plain")
            .send()
            .await
            .map_err(|e| DetectError::Network(error_chain(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(DetectError::HttpStatus(status.as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| DetectError::Network(error_chain(&e)))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY {
                return Err(DetectError::BadAnswer(format!(
                    "body longer than {MAX_BODY} bytes, starting {}",
                    snippet(&String::from_utf8_lossy(&body))
                )));
            }
        }
        let text = std::str::from_utf8(&body)
            .map_err(|_| DetectError::BadAnswer("body is not UTF-8 text".into()))?;
        parse_one_address(text, family)
    }
}

/// An HTTP client whose connections leave over `family` only, without proxies, with our
/// `User-Agent`. Also used for UPnP.
pub(crate) fn client(family: Family) -> Result<Client, SpecError> {
    // One client per family for the whole process: every echo source and the UPnP client
    // share its connection pool and its TLS roots (loaded once, not once per source).
    static CLIENTS: [OnceLock<Result<Client, String>>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = &CLIENTS[usize::from(family == Family::V6)];
    slot.get_or_init(|| {
        Client::builder()
            .local_address(family.unspecified())
            .no_proxy()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| error_chain(&e))
    })
    .clone()
    .map_err(SpecError::HttpClient)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(HttpEcho::new("https://api.ipify.org", Family::V4).is_ok());
        let e = HttpEcho::new("api.ipify.org", Family::V4).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("url: \"api.ipify.org\" is not a URL"),
            "{e}"
        );
        let e = HttpEcho::new("ftp://example.net/ip", Family::V4).unwrap_err();
        assert!(e.to_string().contains("http:// or https://"), "{e}");
        let e = HttpEcho::new("https://exa mple.net/", Family::V4).unwrap_err();
        assert!(e.to_string().starts_with("url:"), "{e}");
    }
}
