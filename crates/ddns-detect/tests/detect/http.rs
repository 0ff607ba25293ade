//! The HTTP echo source against a fake service on 127.0.0.1 and ::1.

use std::time::{Duration, Instant};

use ddns_detect::source::USER_AGENT;
use ddns_detect::{DetectError, Family};

use crate::fakes::{Reply, http, http_server, source};

const TIMEOUT: Duration = Duration::from_secs(2);

fn echo(path: &str) -> Reply {
    match path {
        "/v4" => Reply::ok("203.0.113.7\n"),
        "/v6" => Reply::ok("2001:db8::7\r\n"),
        "/html" => Reply::ok("<html><body>Your IP is 203.0.113.7</body></html>"),
        "/json" => Reply::ok(r#"{"ip":"203.0.113.7"}"#),
        "/empty" => Reply::ok(""),
        "/two" => Reply::ok("203.0.113.7\n203.0.113.8\n"),
        "/big" => Reply::ok(format!("203.0.113.7{}", " ".repeat(4000))),
        "/slow" => Reply {
            delay: Duration::from_secs(30),
            ..Reply::ok("203.0.113.7")
        },
        _ => Reply::status(404, "not found"),
    }
}

#[tokio::test]
async fn ipv4_answer_and_user_agent() {
    let (addr, seen) = http_server("127.0.0.1:0", |r| echo(&r.path)).await;
    let s = source(http(format!("http://{addr}/v4")), Family::V4);
    assert_eq!(s.label(), format!("http http://{addr}/v4"));
    let got = s.detect(Family::V4, TIMEOUT).await.unwrap();
    assert_eq!(got.to_string(), "203.0.113.7");
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].header("user-agent"), Some(USER_AGENT));
    assert!(USER_AGENT.starts_with("ddns/"));
    assert_eq!(seen[0].header("accept"), Some("text/plain"));
}

#[tokio::test]
async fn ipv6_over_ipv6() {
    let (addr, seen) = http_server("[::1]:0", |r| echo(&r.path)).await;
    let s = source(http(format!("http://{addr}/v6")), Family::V6);
    assert_eq!(
        s.detect(Family::V6, TIMEOUT).await.unwrap().to_string(),
        "2001:db8::7"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn bodies_that_are_not_one_address() {
    let (addr, _) = http_server("127.0.0.1:0", |r| echo(&r.path)).await;
    for path in ["/html", "/json", "/empty", "/two", "/big"] {
        let s = source(http(format!("http://{addr}{path}")), Family::V4);
        let e = s.detect(Family::V4, TIMEOUT).await.unwrap_err();
        assert!(matches!(e, DetectError::BadAnswer(_)), "{path}: {e:?}");
    }
    let s = source(http(format!("http://{addr}/missing")), Family::V4);
    assert_eq!(
        s.detect(Family::V4, TIMEOUT).await.unwrap_err(),
        DetectError::HttpStatus(404)
    );
}

#[tokio::test]
async fn wrong_family_answer() {
    let (addr, _) = http_server("127.0.0.1:0", |r| echo(&r.path)).await;
    let s = source(http(format!("http://{addr}/v6")), Family::V4);
    let e = s.detect(Family::V4, TIMEOUT).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "answered 2001:db8::7, but an IPv4 address was asked for"
    );
}

#[tokio::test]
async fn request_is_forced_onto_the_family() {
    // The service listens on IPv4 only; an IPv6 detection must not reach it over IPv4.
    let (addr, seen) = http_server("127.0.0.1:0", |r| echo(&r.path)).await;
    let s = source(http(format!("http://{addr}/v4")), Family::V6);
    let e = s.detect(Family::V6, TIMEOUT).await.unwrap_err();
    assert!(matches!(e, DetectError::Network(_)), "{e:?}");
    assert!(seen.lock().unwrap().is_empty());
    // And the other way round.
    let (addr6, _) = http_server("[::1]:0", |r| echo(&r.path)).await;
    let s = source(http(format!("http://{addr6}/v4")), Family::V4);
    assert!(matches!(
        s.detect(Family::V4, TIMEOUT).await,
        Err(DetectError::Network(_))
    ));
}

#[tokio::test]
async fn slow_service_times_out_on_time() {
    let (addr, _) = http_server("127.0.0.1:0", |r| echo(&r.path)).await;
    let s = source(http(format!("http://{addr}/slow")), Family::V4);
    let started = Instant::now();
    let e = s
        .detect(Family::V4, Duration::from_millis(300))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(e, DetectError::Timeout(Duration::from_millis(300)));
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

#[tokio::test]
async fn refused_connection_is_a_network_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let s = source(http(format!("http://{addr}/v4")), Family::V4);
    let e = s.detect(Family::V4, TIMEOUT).await.unwrap_err();
    assert!(
        matches!(&e, DetectError::Network(m) if m.contains("onnection refused")),
        "{e:?}"
    );
}
