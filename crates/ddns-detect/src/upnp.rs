//! The WAN address a UPnP Internet Gateway Device reports: for hosts behind a home router,
//! the router's own idea of its public address, without asking anything on the Internet.
//!
//! Four steps, as in the UPnP Device Architecture and the IGD `WANIPConnection` service:
//! 1. SSDP: an `M-SEARCH` for `InternetGatewayDevice` over UDP (to the multicast group
//!    `239.255.255.250:1900`, or unicast to a configured gateway); the answer's `LOCATION`
//!    header is the URL of the device description;
//! 2. the description (XML) lists services; the `controlURL` of a `WANIPConnection` or
//!    `WANPPPConnection` service is where to send actions;
//! 3. SOAP action `GetExternalIPAddress` on it;
//! 4. the response's `NewExternalIPAddress` element is the address (empty when the WAN link
//!    is down).
//!
//! Hand-rolled on reqwest and a tokio UDP socket rather than igd-next: igd-next's async
//! client brings its own hyper client, `xmltree`/`xml-rs`, `rand`, `futures` and `log` for
//! what is here a few dozen lines, and its search is built around multicast, which the tests
//! cannot use (they must stay on loopback). The XML handling below only finds elements by
//! local name: IGD descriptions are small and flat, and nothing here is trusted beyond "this
//! text parses as an IPv4 address" and "this is a URL to ask next".

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Url};
use tokio::net::UdpSocket;

use crate::Family;
use crate::http_echo::client;
use crate::source::{DetectError, SpecError, error_chain, parse_socket_addr, snippet};

/// The SSDP multicast group and port.
pub const SSDP_MULTICAST: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(239, 255, 255, 250)), 1900);

/// Search targets: IGD v1, and v2 for devices that only answer their exact version.
const SEARCH_TARGETS: [&str; 2] = [
    "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
    "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
];

/// How long to wait for SSDP answers before searching again (UDP may be lost).
const SEARCH_RETRY: Duration = Duration::from_secs(1);

/// Largest description or SOAP response read.
const MAX_XML: usize = 256 * 1024;

/// A validated UPnP source.
#[derive(Clone, Debug)]
pub struct UpnpSource {
    gateway: Option<SocketAddr>,
    client: Client,
}

impl UpnpSource {
    /// Validates `gateway` (`ADDRESS[:PORT]`, port 1900 by default). UPnP IGD reports IPv4
    /// only, so an IPv6 source is a configuration error.
    pub fn new(gateway: Option<&str>, family: Family) -> Result<Self, SpecError> {
        if family == Family::V6 {
            return Err(SpecError::Family("UPnP gives IPv4 only".into()));
        }
        let gateway = gateway
            .map(|g| parse_socket_addr("gateway", g, 1900))
            .transpose()?;
        if let Some(g) = gateway.filter(|g| g.is_ipv6()) {
            return Err(SpecError::invalid(
                "gateway",
                format!("{g} is IPv6; SSDP search for an IGD goes over IPv4"),
            ));
        }
        Ok(Self {
            gateway,
            client: client(Family::V4)?,
        })
    }

    /// `gateway 192.168.1.1:1900` or `multicast`.
    pub fn describe(&self) -> String {
        match self.gateway {
            Some(g) => format!("gateway {g}"),
            None => "multicast".into(),
        }
    }

    /// Discovers the router and asks it for its external address.
    pub async fn detect(&self, family: Family) -> Result<IpAddr, DetectError> {
        if family == Family::V6 {
            return Err(DetectError::Unsupported("UPnP gives IPv4 only".into()));
        }
        let location = discover(self.gateway.unwrap_or(SSDP_MULTICAST), self.gateway).await?;
        let description = self.fetch(self.client.get(location.clone())).await?;
        let services = control_urls(&description, &location);
        if services.is_empty() {
            return Err(DetectError::Upnp(format!(
                "{location} describes no WANIPConnection or WANPPPConnection service"
            )));
        }
        let mut errors = Vec::new();
        for (service, url) in services {
            match self.external_address(&service, url).await {
                Ok(address) => return Ok(IpAddr::V4(address)),
                Err(DetectError::Upnp(message)) => errors.push(message),
                Err(e) => errors.push(e.to_string()),
            }
        }
        Err(DetectError::Upnp(errors.join("; ")))
    }

    async fn external_address(&self, service: &str, url: Url) -> Result<Ipv4Addr, DetectError> {
        let body = format!(
            "<?xml version=\"1.0\"?>\r\n\
             <s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
             s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">\
             <s:Body><u:GetExternalIPAddress xmlns:u=\"{service}\"></u:GetExternalIPAddress>\
             </s:Body></s:Envelope>\r\n"
        );
        let request = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "text/xml; charset=\"utf-8\"")
            .header("SOAPAction", format!("\"{service}#GetExternalIPAddress\""))
            .body(body);
        parse_external_address(&self.fetch(request).await?)
    }

    /// Sends a request and reads a bounded text body. SOAP faults come with status 500 and a
    /// `UPnPError` body, which is turned into its code and description.
    async fn fetch(&self, request: reqwest::RequestBuilder) -> Result<String, DetectError> {
        let mut response = request
            .send()
            .await
            .map_err(|e| DetectError::Upnp(error_chain(&e)))?;
        let url = response.url().clone();
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| DetectError::Upnp(error_chain(&e)))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_XML {
                return Err(DetectError::Upnp(format!("{url}: answer too long")));
            }
        }
        let text = String::from_utf8_lossy(&body).into_owned();
        if !status.is_success() {
            let code = element_text(&text, "errorCode").unwrap_or_default();
            let description = element_text(&text, "errorDescription").unwrap_or_default();
            return Err(DetectError::Upnp(format!(
                "{url}: HTTP status {} {code} {description}",
                status.as_u16()
            )));
        }
        Ok(text)
    }
}

/// Searches for an IGD at `target` and returns the first `LOCATION` answered. When a gateway
/// is configured, answers from other addresses are ignored.
async fn discover(target: SocketAddr, gateway: Option<SocketAddr>) -> Result<Url, DetectError> {
    let io = |e: std::io::Error| DetectError::Upnp(format!("SSDP: {e}"));
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .await
        .map_err(io)?;
    // UDA: "the TTL for the IP packet SHOULD default to 2".
    socket.set_multicast_ttl_v4(2).map_err(io)?;
    let mut buf = vec![0; 2048];
    loop {
        for st in SEARCH_TARGETS {
            socket
                .send_to(
                    search_request(target, st, gateway.is_none()).as_bytes(),
                    target,
                )
                .await
                .map_err(io)?;
        }
        let wait = async {
            loop {
                let (len, from) = socket.recv_from(&mut buf).await?;
                if gateway.is_some_and(|g| g.ip() != from.ip()) {
                    continue;
                }
                let text = String::from_utf8_lossy(&buf[..len]);
                if let Some(url) = search_location(&text) {
                    return Ok::<_, std::io::Error>(url);
                }
            }
        };
        if let Ok(found) = tokio::time::timeout(SEARCH_RETRY, wait).await {
            return found.map_err(io);
        }
    }
}

/// An `M-SEARCH` request. `MX` (the answer delay spread) belongs to multicast searches only.
fn search_request(host: SocketAddr, st: &str, multicast: bool) -> String {
    let mx = if multicast { "MX: 2\r\n" } else { "" };
    format!(
        "M-SEARCH * HTTP/1.1\r\nHOST: {host}\r\nMAN: \"ssdp:discover\"\r\n{mx}ST: {st}\r\n\
         USER-AGENT: {} UPnP/2.0\r\n\r\n",
        crate::source::USER_AGENT
    )
}

/// The `LOCATION` of a successful search response, if it is an `http` URL.
fn search_location(response: &str) -> Option<Url> {
    let mut lines = response.lines();
    let status = lines.next()?;
    if !status.starts_with("HTTP/1.1 200") && !status.starts_with("HTTP/1.0 200") {
        return None;
    }
    lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("location"))
        .and_then(|(_, value)| Url::parse(value.trim()).ok())
        .filter(|url| url.scheme() == "http")
}

/// The `(serviceType, controlURL)` of each WAN connection service in a device description,
/// `WANIPConnection` first, with URLs resolved against `URLBase` or the description's URL.
fn control_urls(description: &str, location: &Url) -> Vec<(String, Url)> {
    let base = element_text(description, "URLBase")
        .and_then(|b| Url::parse(b.trim()).ok())
        .unwrap_or_else(|| location.clone());
    let mut found: Vec<(String, Url)> = elements(description, "service")
        .into_iter()
        .filter_map(|service| {
            let kind = element_text(service, "serviceType")?.trim().to_owned();
            if !kind.contains(":WANIPConnection:") && !kind.contains(":WANPPPConnection:") {
                return None;
            }
            let url = base
                .join(element_text(service, "controlURL")?.trim())
                .ok()?;
            Some((kind, url))
        })
        .collect();
    found.sort_by_key(|(kind, _)| !kind.contains(":WANIPConnection:"));
    found
}

fn parse_external_address(response: &str) -> Result<Ipv4Addr, DetectError> {
    let text = element_text(response, "NewExternalIPAddress").ok_or_else(|| {
        DetectError::Upnp(format!("no NewExternalIPAddress in {}", snippet(response)))
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Err(DetectError::Upnp(
            "the router reports no external address (is its WAN link up?)".into(),
        ));
    }
    text.parse()
        .map_err(|_| DetectError::Upnp(format!("external address {} is not IPv4", snippet(text))))
}

/// The decoded text of the first element named `local_name` (any namespace prefix).
fn element_text(xml: &str, local_name: &str) -> Option<String> {
    elements(xml, local_name)
        .first()
        .map(|inner| decode_entities(inner))
}

/// The inner text of each (non-nested) element whose local name is `local_name`.
fn elements<'a>(xml: &'a str, local_name: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..end];
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        let local = name.rsplit(':').next().unwrap_or(name);
        if tag.starts_with(['/', '?', '!']) || local != local_name {
            continue;
        }
        rest = &rest[end + 1..];
        if tag.ends_with('/') {
            out.push("");
            continue;
        }
        let close = format!("</{name}>");
        match rest.find(&close) {
            Some(close_at) => {
                out.push(&rest[..close_at]);
                rest = &rest[close_at + close.len()..];
            }
            None => break,
        }
    }
    out
}

fn decode_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESCRIPTION: &str = r#"<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
 <device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
  <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
   <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
    <serviceList>
     <service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType>
      <controlURL>/ctl/PPP?a=1&amp;b=2</controlURL></service>
     <service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
      <serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
      <controlURL>/ctl/IPConn</controlURL><eventSubURL>/evt/IPConn</eventSubURL></service>
     <service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>
      <controlURL>/ctl/L3F</controlURL></service>
    </serviceList></device></deviceList></device></deviceList></device></root>"#;

    #[test]
    fn finds_control_urls() {
        let location = Url::parse("http://192.168.1.1:5000/rootDesc.xml").unwrap();
        let found = control_urls(DESCRIPTION, &location);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].0, "urn:schemas-upnp-org:service:WANIPConnection:1");
        assert_eq!(found[0].1.as_str(), "http://192.168.1.1:5000/ctl/IPConn");
        assert_eq!(
            found[1].1.as_str(),
            "http://192.168.1.1:5000/ctl/PPP?a=1&b=2"
        );
        let with_base =
            DESCRIPTION.replace("<device>", "<URLBase>http://10.0.0.1:80/</URLBase><device>");
        let found = control_urls(&with_base, &location);
        assert_eq!(found[0].1.as_str(), "http://10.0.0.1/ctl/IPConn");
    }

    #[test]
    fn external_address_answers() {
        let ok = r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
            <u:GetExternalIPAddressResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1">
            <NewExternalIPAddress>198.51.100.23</NewExternalIPAddress>
            </u:GetExternalIPAddressResponse></s:Body></s:Envelope>"#;
        assert_eq!(
            parse_external_address(ok).unwrap(),
            Ipv4Addr::new(198, 51, 100, 23)
        );
        let empty = ok.replace("198.51.100.23", "");
        assert!(
            parse_external_address(&empty)
                .unwrap_err()
                .to_string()
                .contains("WAN link")
        );
        let selfclosing = "<NewExternalIPAddress/>";
        assert!(parse_external_address(selfclosing).is_err());
        let v6 = ok.replace("198.51.100.23", "2001:db8::1");
        assert!(
            parse_external_address(&v6)
                .unwrap_err()
                .to_string()
                .contains("not IPv4")
        );
        assert!(parse_external_address("<html>nope</html>").is_err());
    }

    #[test]
    fn search_messages() {
        let req = search_request(SSDP_MULTICAST, SEARCH_TARGETS[0], true);
        assert!(req.starts_with("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"));
        assert!(req.contains("MAN: \"ssdp:discover\"\r\nMX: 2\r\n"));
        assert!(req.ends_with("\r\n\r\n"));
        let unicast = search_request(
            "192.168.1.1:1900".parse().unwrap(),
            SEARCH_TARGETS[0],
            false,
        );
        assert!(!unicast.contains("MX:"));
        let answer = "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nlocation: http://192.168.1.1:5000/rootDesc.xml\r\n\r\n";
        assert_eq!(
            search_location(answer).unwrap().as_str(),
            "http://192.168.1.1:5000/rootDesc.xml"
        );
        assert!(search_location(&answer.replace("200 OK", "404 Not Found")).is_none());
        assert!(search_location(&answer.replace("http://", "file://")).is_none());
        assert!(search_location("NOTIFY * HTTP/1.1\r\nLOCATION: http://x/\r\n").is_none());
    }

    #[test]
    fn spec_validation() {
        let e = UpnpSource::new(None, Family::V6).unwrap_err();
        assert_eq!(e.to_string(), "UPnP gives IPv4 only");
        let s = UpnpSource::new(Some("192.168.1.1"), Family::V4).unwrap();
        assert_eq!(s.describe(), "gateway 192.168.1.1:1900");
        assert!(UpnpSource::new(Some("router.lan"), Family::V4).is_err());
        assert!(UpnpSource::new(Some("[fe80::1]:1900"), Family::V4).is_err());
    }
}
