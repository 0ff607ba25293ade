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
//!
//! Any LAN host can answer an SSDP search, and the first answer names the device whose word
//! becomes a DNS record, so the chain of trust is kept short and local:
//! - an answer counts only when it comes from the default gateway or from a directly connected
//!   subnet of the interface the search went out on (`answer_trusted`); over loopback (the
//!   tests' fake router) only loopback answers count, and loopback never trusts anything else;
//! - its `LOCATION` must name that same address, as an IP literal: no DNS names, no other host;
//! - control URLs must stay on the description's host (a `URLBase` elsewhere is ignored), and
//!   HTTP redirects are not followed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use std::sync::OnceLock;

use ipnet::Ipv4Net;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Url};
use tokio::net::UdpSocket;

use crate::Family;
use crate::source::{DetectError, SpecError, USER_AGENT, error_chain, parse_socket_addr, snippet};

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
            client: upnp_client()?,
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
        let target = self.gateway.unwrap_or(SSDP_MULTICAST);
        let near = tokio::task::spawn_blocking(move || neighbourhood(target))
            .await
            .map_err(|e| DetectError::Internal(format!("reading interfaces failed: {e}")))??;
        if let Some(g) = self.gateway
            && let IpAddr::V4(ip) = g.ip()
            && !answer_trusted(ip, &near)
        {
            return Err(DetectError::Upnp(format!(
                "gateway {ip} is neither the default gateway nor on a directly connected subnet \
                 of the interface with {}",
                near.local
            )));
        }
        let location = discover(target, self.gateway, &near).await?;
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

/// The UPnP client: the shared echo client follows redirects, which here would let a LAN
/// host send the agent anywhere.
fn upnp_client() -> Result<Client, SpecError> {
    static CLIENT: OnceLock<Result<Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            Client::builder()
                .local_address(Family::V4.unspecified())
                .no_proxy()
                .user_agent(USER_AGENT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| error_chain(&e))
        })
        .clone()
        .map_err(SpecError::HttpClient)
}

/// The network an SSDP search goes out on: the local address the system picks for the
/// target, that interface's default gateway and its directly connected subnets.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Neighbourhood {
    local: Ipv4Addr,
    gateway: Option<Ipv4Addr>,
    subnets: Vec<Ipv4Net>,
}

/// Whether an SSDP answer from `from` may name the router. Loopback is its own case: packets
/// there come from this host only, so a search over loopback (the tests' fake router, a local
/// relay) trusts loopback answers, and a search anywhere else never does.
fn answer_trusted(from: Ipv4Addr, near: &Neighbourhood) -> bool {
    if from.is_loopback() || near.local.is_loopback() {
        return from.is_loopback() && near.local.is_loopback();
    }
    if from.is_unspecified() || from.is_broadcast() || from.is_multicast() || from == near.local {
        return false;
    }
    near.gateway == Some(from)
        || near
            .subnets
            .iter()
            .any(|net| net.prefix_len() > 0 && net.contains(&from) && from != net.broadcast())
}

/// Whether `location` names the host that sent the SSDP answer, by address.
fn location_trusted(location: &Url, from: Ipv4Addr) -> bool {
    location
        .host_str()
        .and_then(|h| h.parse::<Ipv4Addr>().ok())
        .is_some_and(|h| h == from)
}

/// Finds the [`Neighbourhood`] of a search sent to `target` (reads the interfaces: blocking).
fn neighbourhood(target: SocketAddr) -> Result<Neighbourhood, DetectError> {
    let io = |e: std::io::Error| DetectError::Upnp(format!("SSDP: {e}"));
    // Connecting a UDP socket sends nothing; it only asks the routing table.
    let probe = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).map_err(io)?;
    probe.connect(target).map_err(io)?;
    let IpAddr::V4(local) = probe.local_addr().map_err(io)?.ip() else {
        return Err(DetectError::Upnp(
            "SSDP: no IPv4 route to the gateway".into(),
        ));
    };
    if local.is_loopback() {
        return Ok(Neighbourhood {
            local,
            gateway: None,
            subnets: Vec::new(),
        });
    }
    let iface = netdev::get_interfaces()
        .into_iter()
        .find(|i| i.ipv4.iter().any(|n| n.addr() == local))
        .ok_or_else(|| DetectError::Upnp(format!("no interface has the address {local}")))?;
    Ok(Neighbourhood {
        local,
        gateway: iface.gateway.as_ref().and_then(|g| g.ipv4.first().copied()),
        subnets: iface
            .ipv4
            .iter()
            .filter_map(|n| Ipv4Net::new(n.addr(), n.prefix_len()).ok())
            .map(|n| n.trunc())
            .collect(),
    })
}

/// Searches for an IGD at `target` and returns the first trusted `LOCATION` answered. When a
/// gateway is configured, answers from other addresses are ignored.
async fn discover(
    target: SocketAddr,
    gateway: Option<SocketAddr>,
    near: &Neighbourhood,
) -> Result<Url, DetectError> {
    let io = |e: std::io::Error| DetectError::Upnp(format!("SSDP: {e}"));
    let socket = UdpSocket::bind((near.local, 0)).await.map_err(io)?;
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
                let IpAddr::V4(from_ip) = from.ip() else {
                    continue;
                };
                if gateway.is_some_and(|g| g.ip() != from.ip()) || !answer_trusted(from_ip, near) {
                    tracing::debug!(%from, "SSDP answer ignored: not the gateway or a neighbour");
                    continue;
                }
                let text = String::from_utf8_lossy(&buf[..len]);
                match search_location(&text) {
                    Some(url) if location_trusted(&url, from_ip) => {
                        return Ok::<_, std::io::Error>(url);
                    }
                    Some(url) => {
                        tracing::debug!(%from, %url, "SSDP answer ignored: LOCATION is another host");
                    }
                    None => {}
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
        USER_AGENT
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
/// Only URLs on the description's own host are kept (a `URLBase` elsewhere is ignored).
fn control_urls(description: &str, location: &Url) -> Vec<(String, Url)> {
    let base = element_text(description, "URLBase")
        .and_then(|b| Url::parse(b.trim()).ok())
        .filter(|b| same_host(b, location))
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
                .ok()
                .filter(|u| u.scheme() == "http" && same_host(u, location))?;
            Some((kind, url))
        })
        .collect();
    found.sort_by_key(|(kind, _)| !kind.contains(":WANIPConnection:"));
    found
}

fn same_host(a: &Url, b: &Url) -> bool {
    a.host_str().is_some() && a.host_str() == b.host_str()
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
        let with_base = DESCRIPTION.replace(
            "<device>",
            "<URLBase>http://192.168.1.1:80/</URLBase><device>",
        );
        let found = control_urls(&with_base, &location);
        assert_eq!(found[0].1.as_str(), "http://192.168.1.1/ctl/IPConn");
    }

    #[test]
    fn control_urls_stay_on_the_description_host() {
        let location = Url::parse("http://192.168.1.1:5000/rootDesc.xml").unwrap();
        // A URLBase on another host is ignored: relative control URLs stay on the router.
        let elsewhere =
            DESCRIPTION.replace("<device>", "<URLBase>http://10.0.0.1:80/</URLBase><device>");
        let found = control_urls(&elsewhere, &location);
        assert_eq!(found[0].1.as_str(), "http://192.168.1.1:5000/ctl/IPConn");
        // Absolute control URLs to another host (or a name) are dropped.
        let absolute = DESCRIPTION
            .replace("/ctl/IPConn", "http://203.0.113.9/ctl/IPConn")
            .replace("/ctl/PPP?a=1&amp;b=2", "http://router.evil.example/ctl");
        assert!(control_urls(&absolute, &location).is_empty());
    }

    fn lan() -> Neighbourhood {
        Neighbourhood {
            local: Ipv4Addr::new(192, 168, 1, 20),
            gateway: Some(Ipv4Addr::new(192, 168, 1, 1)),
            subnets: vec!["192.168.1.0/24".parse().unwrap()],
        }
    }

    #[test]
    fn ssdp_answers_from_the_gateway_or_a_neighbour_only() {
        let near = lan();
        let trusted = |ip: &str| answer_trusted(ip.parse().unwrap(), &near);
        assert!(trusted("192.168.1.1"), "the default gateway");
        assert!(
            trusted("192.168.1.254"),
            "another router on the same subnet"
        );
        assert!(!trusted("192.168.2.1"), "a routed subnet");
        assert!(!trusted("203.0.113.5"), "the Internet");
        assert!(!trusted("192.168.1.255"), "the broadcast address");
        assert!(!trusted("192.168.1.20"), "this host itself");
        assert!(
            !trusted("127.0.0.1"),
            "loopback, when the search went to the LAN"
        );
        assert!(!trusted("239.255.255.250"));
        // A gateway outside the interface's subnets (some PPPoE and /32 set-ups) still counts.
        let ppp = Neighbourhood {
            local: Ipv4Addr::new(100, 64, 3, 7),
            gateway: Some(Ipv4Addr::new(100, 64, 0, 1)),
            subnets: vec!["100.64.3.7/32".parse().unwrap()],
        };
        assert!(answer_trusted(Ipv4Addr::new(100, 64, 0, 1), &ppp));
        assert!(!answer_trusted(Ipv4Addr::new(100, 64, 3, 8), &ppp));
        // A default route (prefix 0) is not a connected subnet.
        let wide = Neighbourhood {
            subnets: vec!["0.0.0.0/0".parse().unwrap()],
            ..lan()
        };
        assert!(!answer_trusted(Ipv4Addr::new(203, 0, 113, 5), &wide));
        // Over loopback, loopback answers only.
        let looped = Neighbourhood {
            local: Ipv4Addr::LOCALHOST,
            gateway: None,
            subnets: Vec::new(),
        };
        assert!(answer_trusted(Ipv4Addr::new(127, 0, 0, 1), &looped));
        assert!(answer_trusted(Ipv4Addr::new(127, 0, 0, 2), &looped));
        assert!(!answer_trusted(Ipv4Addr::new(192, 168, 1, 1), &looped));
    }

    #[test]
    fn location_must_be_the_answering_address() {
        let from = Ipv4Addr::new(192, 168, 1, 1);
        let ok = |u: &str| location_trusted(&Url::parse(u).unwrap(), from);
        assert!(ok("http://192.168.1.1:5000/rootDesc.xml"));
        assert!(!ok("http://192.168.1.2:5000/rootDesc.xml"), "another host");
        assert!(!ok("http://203.0.113.9/rootDesc.xml"), "off the LAN");
        assert!(!ok("http://router.lan:5000/rootDesc.xml"), "a DNS name");
        assert!(!ok("http://[::ffff:192.168.1.1]/rootDesc.xml"), "IPv6");
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
