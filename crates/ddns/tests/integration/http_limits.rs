use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::common::*;

/// A TCP connection to `server` from the loopback address `from` (127.0.0.x).
async fn connect_from(server: SocketAddr, from: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(from.parse::<IpAddr>().unwrap(), 0))
        .unwrap();
    socket.connect(server).await.unwrap()
}

/// Whether the server closes `stream` within `within` (EOF or reset).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // Hyper may say something (a 408) before it closes; keep reading.
            Ok(Ok(_)) => {}
        }
    }
}

/// `GET /healthz` over a fresh connection from `from`; the status line's code.
async fn healthz_from(server: SocketAddr, from: &str) -> Option<u16> {
    let mut stream = connect_from(server, from).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut reply = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&reply);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

async fn healthz(server: &ServerProcess) -> String {
    http()
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_partial_header_is_cut_off_after_header_read_timeout() {
    let (_dir, s) = server_with_config("version = 1\n[http]\nheader_read_timeout = \"1s\"\n");
    let mut half = connect_from(s.http, "127.0.0.1").await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    // Too short to tell HTTP/1 from HTTP/2 yet.
    let mut sniffing = connect_from(s.http, "127.0.0.1").await;
    sniffing.write_all(b"GE").await.unwrap();
    let silent = connect_from(s.http, "127.0.0.1").await;
    let started = Instant::now();

    assert_eq!(
        healthz(&s).await,
        "ok",
        "other clients are served meanwhile"
    );
    assert!(
        !closed_within(&mut half, Duration::from_millis(500)).await,
        "closed before the timeout"
    );
    assert!(
        closed_within(&mut half, Duration::from_secs(5)).await,
        "a half-sent header keeps its connection"
    );
    assert!(closed_within(&mut sniffing, Duration::from_secs(5)).await);
    let mut silent = silent;
    assert!(closed_within(&mut silent, Duration::from_secs(5)).await);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert_eq!(healthz(&s).await, "ok");
}

#[tokio::test]
async fn connections_over_the_per_ip_cap_are_closed() {
    let (_dir, s) = server_with_config("version = 1\n[http]\nmax_connections_per_ip = 3\n");
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from(s.http, "127.0.0.1").await);
    }
    // Let the server account for them before the next one arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut over = connect_from(s.http, "127.0.0.1").await;
    assert!(
        closed_within(&mut over, Duration::from_secs(2)).await,
        "a fourth connection from one address is refused"
    );
    for stream in &mut held {
        assert!(!closed_within(stream, Duration::from_millis(100)).await);
    }
    assert_eq!(
        healthz_from(s.http, "127.0.0.2").await,
        Some(200),
        "another address is served meanwhile"
    );

    drop(held.pop());
    let mut served = None;
    for _ in 0..50 {
        served = healthz_from(s.http, "127.0.0.1").await;
        if served.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        served,
        Some(200),
        "a closed connection gives its place back"
    );
}

#[tokio::test]
async fn connections_over_the_global_cap_are_closed() {
    let (_dir, s) = server_with_config(
        "version = 1\n[http]\nmax_connections = 4\nmax_connections_per_ip = 2\n",
    );
    let mut held = Vec::new();
    for from in ["127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.2"] {
        held.push(connect_from(s.http, from).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut over = connect_from(s.http, "127.0.0.3").await;
    assert!(closed_within(&mut over, Duration::from_secs(2)).await);
    drop(held);
    let mut served = None;
    for _ in 0..50 {
        served = healthz_from(s.http, "127.0.0.3").await;
        if served.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(served, Some(200));
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_idle_timeout() {
    let (_dir, s) = server_with_config("version = 1\n[http]\nidle_timeout = \"1s\"\n");
    let mut stream = connect_from(s.http, "127.0.0.1").await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let started = Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(5)).await);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[tokio::test]
async fn http2_is_served() {
    let s = server(&[]);
    let client = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = client.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.text().await.unwrap(), "ok");
}

const THREE_PER_MINUTE: &str = "version = 1\n[dyndns2]\nupdates_per_host_per_minute = 3\n";

async fn rest_update(s: &ServerProcess, token: &str, domain: &str) -> reqwest::Response {
    http()
        .post(s.url("/update"))
        .bearer_auth(token)
        .form(&[("domain", domain), ("ip", "192.0.2.50")])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn another_token_cannot_spend_a_hosts_rate_limit() {
    let (_dir, s) = server_with_config(THREE_PER_MINUTE);
    let token_a = s.token(&["a.ddns.test"]);
    let token_b = s.token(&["b.ddns.test"]);
    for i in 0..10 {
        let query = format!("hostname=b.ddns.test&myip=192.0.2.{i}");
        assert_eq!(
            nic(&s, Some(&token_a), &query).await,
            (404, "nohost".into())
        );
        // Bad tokens each from an address of their own: failures from one address are
        // delayed (tested on their own), and this is about who pays for them.
        assert_eq!(
            nic_from(&s, &format!("127.0.{i}.10"), "not-a-token", &query).await,
            (401, "badauth".into())
        );
        let mut wrong = token_b.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == '0' { '1' } else { '0' });
        assert_eq!(
            nic_from(&s, &format!("127.0.{i}.11"), &wrong, &query).await,
            (401, "badauth".into())
        );
        assert_eq!(rest_update(&s, &token_a, "b.ddns.test").await.status(), 403);
        let refused = http_from(&format!("127.0.{i}.12"))
            .post(s.url("/update"))
            .bearer_auth("not-a-token")
            .form(&[("domain", "b.ddns.test"), ("ip", "192.0.2.50")])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
    }
    for i in 0..3 {
        let (status, body) = nic(
            &s,
            Some(&token_b),
            &format!("hostname=b.ddns.test&myip=192.0.2.{}", 100 + i),
        )
        .await;
        assert_eq!(status, 200, "update {i} of b's own 3: {body}");
    }
    // Now b has spent its own limit: REST says 429 with Retry-After, DynDNS2 `abuse`.
    let response = rest_update(&s, &token_b, "b.ddns.test").await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().get("retry-after").is_some());
    assert_eq!(
        nic(&s, Some(&token_b), "hostname=b.ddns.test&myip=192.0.2.9").await,
        (429, "abuse".into())
    );
    assert_eq!(
        nic(&s, Some(&token_a), "hostname=a.ddns.test&myip=192.0.2.9").await,
        (200, "good 192.0.2.9".into()),
        "a's own host is untouched"
    );
}

#[tokio::test]
async fn a_name_repeated_in_one_request_is_charged_once() {
    let (_dir, s) = server_with_config(THREE_PER_MINUTE);
    let token = s.token(&["b.ddns.test"]);
    let twenty = vec!["b.ddns.test"; 20].join(",");
    let (status, body) = nic(
        &s,
        Some(&token),
        &format!("hostname={twenty}&myip=192.0.2.1"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for i in 2..4 {
        let (status, body) = nic(
            &s,
            Some(&token),
            &format!("hostname=b.ddns.test&myip=192.0.2.{i}"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(
        nic(&s, Some(&token), "hostname=b.ddns.test&myip=192.0.2.9").await,
        (429, "abuse".into()),
        "three requests, three charges"
    );
}
