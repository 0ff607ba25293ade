//! The UPnP source against a fake IGD on loopback: an SSDP responder (UDP), the device
//! description and the SOAP control endpoint (HTTP).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ddns_detect::{DetectError, Family, SourceSpec};
use tokio::net::UdpSocket;

use crate::fakes::{Reply, Seen, http_server, source};

const TIMEOUT: Duration = Duration::from_secs(3);

const DESCRIPTION: &str = r#"<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><device>
 <deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
 <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
  <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
   <serviceList>
    <service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
     <controlURL>/ctl/IPConn</controlURL></service>
    <service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType>
     <controlURL>/ctl/PPPConn</controlURL></service>
   </serviceList></device></deviceList></device></deviceList></device></root>"#;

fn soap_answer(address: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:GetExternalIPAddressResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"><NewExternalIPAddress>{address}</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>"#
    )
}

const SOAP_FAULT: &str = r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>401</errorCode><errorDescription>Invalid Action</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>"#;

/// A router whose WANIPConnection answers `ip_answer` and WANPPPConnection `ppp_answer`.
/// Returns the SSDP address and the HTTP requests seen.
async fn router(ip_answer: Reply, ppp_answer: fn() -> Reply) -> (SocketAddr, Seen) {
    router_on("127.0.0.1:0", DESCRIPTION, ip_answer, ppp_answer).await
}

/// [`router`] with its HTTP side on `http_bind` (the SSDP side is always on 127.0.0.1) and
/// its own device description.
async fn router_on(
    http_bind: &str,
    description: &'static str,
    ip_answer: Reply,
    ppp_answer: fn() -> Reply,
) -> (SocketAddr, Seen) {
    let ip_answer = Arc::new(std::sync::Mutex::new(Some(ip_answer)));
    let (http, seen) = http_server(http_bind, move |r| {
        match (r.method.as_str(), r.path.as_str()) {
            ("GET", "/rootDesc.xml") => Reply::ok(description),
            ("POST", "/ctl/IPConn") => ip_answer
                .lock()
                .unwrap()
                .take()
                .unwrap_or(Reply::status(500, "")),
            ("POST", "/ctl/PPPConn") => ppp_answer(),
            _ => Reply::status(404, ""),
        }
    })
    .await;
    let ssdp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let ssdp_addr = ssdp.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0; 2048];
        while let Ok((n, from)) = ssdp.recv_from(&mut buf).await {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if !text.starts_with("M-SEARCH * HTTP/1.1\r\n") || !text.contains("ssdp:discover") {
                continue;
            }
            let Some(st) = text.lines().find_map(|l| l.strip_prefix("ST: ")) else {
                continue;
            };
            if !st.contains("InternetGatewayDevice:1") {
                continue;
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: {st}\r\n\
                 USN: uuid:fake::{st}\r\nEXT:\r\nSERVER: fake/1.0 UPnP/1.1 igd/1.0\r\n\
                 LOCATION: http://{http}/rootDesc.xml\r\n\r\n"
            );
            let _ = ssdp.send_to(answer.as_bytes(), from).await;
        }
    });
    (ssdp_addr, seen)
}

fn upnp(gateway: SocketAddr) -> SourceSpec {
    SourceSpec::Upnp {
        gateway: Some(gateway.to_string()),
    }
}

#[tokio::test]
async fn external_address_from_the_router() {
    let (ssdp, seen) = router(Reply::ok(soap_answer("198.51.100.23")), || {
        Reply::status(500, "")
    })
    .await;
    let s = source(upnp(ssdp), Family::V4);
    assert_eq!(s.label(), format!("upnp gateway {ssdp}"));
    assert_eq!(
        s.detect(Family::V4, TIMEOUT).await.unwrap().to_string(),
        "198.51.100.23"
    );
    let seen = seen.lock().unwrap();
    let soap = seen.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(soap.path, "/ctl/IPConn");
    assert_eq!(
        soap.header("soapaction"),
        Some("\"urn:schemas-upnp-org:service:WANIPConnection:1#GetExternalIPAddress\"")
    );
    assert!(soap.body.contains(
        "<u:GetExternalIPAddress xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\">"
    ));
}

#[tokio::test]
async fn falls_back_to_the_ppp_service() {
    let fault = Reply::status(500, SOAP_FAULT);
    let (ssdp, _) = router(fault, || Reply::ok(soap_answer("203.0.113.44"))).await;
    let s = source(upnp(ssdp), Family::V4);
    assert_eq!(
        s.detect(Family::V4, TIMEOUT).await.unwrap().to_string(),
        "203.0.113.44"
    );
}

#[tokio::test]
async fn wan_down_and_faults_are_errors() {
    let (ssdp, _) = router(Reply::ok(soap_answer("")), || {
        Reply::status(500, SOAP_FAULT)
    })
    .await;
    let e = source(upnp(ssdp), Family::V4)
        .detect(Family::V4, TIMEOUT)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("UPnP: the router reports no external address"),
        "{text}"
    );
    assert!(
        text.contains("HTTP status 500 401 Invalid Action"),
        "{text}"
    );
}

#[tokio::test]
async fn silent_gateway_times_out() {
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let s = source(upnp(silent.local_addr().unwrap()), Family::V4);
    let started = Instant::now();
    let e = s
        .detect(Family::V4, Duration::from_millis(1500))
        .await
        .unwrap_err();
    assert_eq!(e, DetectError::Timeout(Duration::from_millis(1500)));
    assert!(started.elapsed() < Duration::from_millis(2500));
    // It searched more than once while waiting (UDP may be lost).
    let mut buf = [0; 2048];
    let mut searches = 0;
    while let Ok(Ok(_)) =
        tokio::time::timeout(Duration::from_millis(50), silent.recv_from(&mut buf)).await
    {
        searches += 1;
    }
    assert!(searches >= 4, "{searches} M-SEARCH datagrams");
}

/// The SSDP answer comes from 127.0.0.1 but names a description on 127.0.0.2: another host
/// as far as addresses go, so it is not followed and the search goes on until the timeout.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_location_on_another_host_is_not_followed() {
    let (ssdp, seen) = router_on(
        "127.0.0.2:0",
        DESCRIPTION,
        Reply::ok(soap_answer("198.51.100.23")),
        || Reply::status(500, ""),
    )
    .await;
    let e = source(upnp(ssdp), Family::V4)
        .detect(Family::V4, Duration::from_millis(1500))
        .await
        .unwrap_err();
    assert_eq!(e, DetectError::Timeout(Duration::from_millis(1500)));
    assert!(
        seen.lock().unwrap().is_empty(),
        "the description was fetched"
    );
}

/// A description whose control URL points at another host (127.0.0.2, where something does
/// answer) offers no usable service.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_control_url_on_another_host_is_not_followed() {
    let (elsewhere, asked) =
        http_server("127.0.0.2:0", |_| Reply::ok(soap_answer("203.0.113.66"))).await;
    let description: &'static str = DESCRIPTION
        .replace("/ctl/IPConn", &format!("http://{elsewhere}/ctl/IPConn"))
        .replace("/ctl/PPPConn", &format!("http://{elsewhere}/ctl/PPPConn"))
        .leak();
    let (ssdp, _) = router_on(
        "127.0.0.1:0",
        description,
        Reply::ok(soap_answer("198.51.100.23")),
        || Reply::status(500, ""),
    )
    .await;
    let e = source(upnp(ssdp), Family::V4)
        .detect(Family::V4, TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("describes no WANIPConnection"),
        "{e}"
    );
    assert!(asked.lock().unwrap().is_empty(), "the other host was asked");
}

#[test]
fn ipv6_is_a_config_error() {
    let spec = SourceSpec::Upnp { gateway: None };
    let e = ddns_detect::Source::from_spec(&spec, Family::V6).unwrap_err();
    assert_eq!(e.to_string(), "UPnP gives IPv4 only");
}
