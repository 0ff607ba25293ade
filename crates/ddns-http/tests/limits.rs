//! The HTTP answers to the write limits, through the router without sockets: the API v1 write
//! budget per token, the host quota (REST and DynDNS2), and history pages bounded in bytes.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode, header};
use ddns_config::ServerConfig;
use ddns_core::{Actor, DomainName, Scope, ScopeEntry};
use ddns_store::{HistoryRetention, Store, StoreOptions};
use ddns_zones::{WriteLimits, Zones};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

struct Setup {
    _dir: tempfile::TempDir,
    zones: Arc<Zones>,
    store: Arc<Store>,
    app: axum::Router,
}

async fn setup(extra: &str) -> Setup {
    let text = format!("version = 1\n{extra}\n[[zone]]\nname = \"dyn.example\"\n");
    let config = ServerConfig::from_toml(&text, "/unused".into()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Store::open_dir(dir.path(), &StoreOptions::default())
            .await
            .unwrap(),
    );
    let zones = Zones::open(
        Arc::clone(&store),
        &config.zones,
        ddns_store::JournalRetention {
            max_entries: 1000,
            max_age_secs: 86_400,
        },
    )
    .await
    .unwrap()
    .with_limits(WriteLimits {
        max_hosts_per_token: config.http.max_hosts_per_token,
        history: HistoryRetention {
            max_age_secs: config.history.max_age.as_secs(),
            max_rows_per_host: config.history.max_rows_per_host,
        },
    });
    let zones = Arc::new(zones);
    let state = Arc::new(ddns_http::AppState::new(
        Arc::clone(&zones),
        ddns_http::HttpPolicy::from_config(&config.http, &config.dyndns2),
    ));
    Setup {
        _dir: dir,
        zones,
        store,
        app: ddns_http::app(state),
    }
}

async fn token(zones: &Zones, scope: &[&str]) -> String {
    let scope = if scope.is_empty() {
        Scope::Admin
    } else {
        Scope::Hosts(
            scope
                .iter()
                .map(|s| ScopeEntry::parse(s).unwrap())
                .collect(),
        )
    };
    zones
        .create_token(
            "t",
            &scope,
            &Default::default(),
            Actor::Cli,
            ddns_core::Origin::default(),
        )
        .await
        .unwrap()
        .full
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> Response<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let mut request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let peer: SocketAddr = "192.0.2.10:4000".parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    app.clone().oneshot(request).await.unwrap()
}

async fn json_of(response: Response<Body>) -> Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn api_writes_are_limited_per_token() {
    let s = setup("[http]\napi_writes_per_token_per_minute = 5").await;
    let busy = token(&s.zones, &["*.a.dyn.example"]).await;
    let calm = token(&s.zones, &["*.b.dyn.example"]).await;
    let put = |who: &str, i: usize| {
        let (app, who) = (s.app.clone(), who.to_owned());
        async move {
            call(
                &app,
                "PUT",
                &format!("/api/v1/hosts/h{i}.a.dyn.example/records/TXT"),
                &who,
                Some(json!({"values": [format!("v{i}")]})),
            )
            .await
        }
    };
    for i in 0..5 {
        assert_eq!(put(&busy, i).await.status(), StatusCode::OK, "write {i}");
    }
    let refused = put(&busy, 5).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let body = json_of(refused).await;
    assert_eq!(body["code"], "rate_limited");
    // DELETE and POST count too; reads do not.
    for (method, uri, body) in [
        ("DELETE", "/api/v1/hosts/h0.a.dyn.example", None),
        (
            "POST",
            "/api/v1/hosts",
            Some(json!({"name": "new.a.dyn.example"})),
        ),
    ] {
        assert_eq!(
            call(&s.app, method, uri, &busy, body).await.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{method}"
        );
    }
    assert_eq!(
        call(&s.app, "GET", "/api/v1/hosts", &busy, None)
            .await
            .status(),
        StatusCode::OK
    );
    assert!(
        s.zones
            .host(&DomainName::parse("new.a.dyn.example").unwrap())
            .await
            .unwrap()
            .is_none(),
        "a refused write changes nothing"
    );
    // Another token's budget is its own.
    let other = call(
        &s.app,
        "PUT",
        "/api/v1/hosts/x.b.dyn.example/records/TXT",
        &calm,
        Some(json!({"values": ["mine"]})),
    )
    .await;
    assert_eq!(other.status(), StatusCode::OK);
    // A bad token is refused as unauthorised, not charged to anyone.
    assert_eq!(
        put("nobody.secret", 9).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_host_quota_is_a_403_with_a_json_code_and_numhost_for_dyndns2() {
    let s = setup("[http]\nmax_hosts_per_token = 2").await;
    let lab = token(&s.zones, &["*.lab.dyn.example"]).await;
    for name in ["a", "b"] {
        let r = call(
            &s.app,
            "POST",
            "/api/v1/hosts",
            &lab,
            Some(json!({"name": format!("{name}.lab.dyn.example")})),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let third = call(
        &s.app,
        "PUT",
        "/api/v1/hosts/c.lab.dyn.example/records/A",
        &lab,
        Some(json!({"values": ["192.0.2.1"]})),
    )
    .await;
    assert_eq!(third.status(), StatusCode::FORBIDDEN);
    let body = json_of(third).await;
    assert_eq!(body["code"], "host_quota");
    assert!(
        body["message"].as_str().unwrap().contains("2 hosts"),
        "{body}"
    );
    let post = call(
        &s.app,
        "POST",
        "/api/v1/hosts",
        &lab,
        Some(json!({"name": "c.lab.dyn.example"})),
    )
    .await;
    assert_eq!(post.status(), StatusCode::FORBIDDEN);

    let mut request = Request::builder()
        .uri("/nic/update?hostname=c.lab.dyn.example&myip=192.0.2.1")
        .header(header::AUTHORIZATION, format!("Bearer {lab}"))
        .body(Body::empty())
        .unwrap();
    request.extensions_mut().insert(ConnectInfo(
        "192.0.2.10:4000".parse::<SocketAddr>().unwrap(),
    ));
    let nic = s.app.clone().oneshot(request).await.unwrap();
    assert_eq!(nic.status(), StatusCode::FORBIDDEN);
    let text = nic.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&text[..], b"numhost");
    // An existing host still updates.
    let ok = call(
        &s.app,
        "PUT",
        "/api/v1/hosts/a.lab.dyn.example/records/A",
        &lab,
        Some(json!({"values": ["192.0.2.1"]})),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_history_page_stops_at_its_byte_budget_and_links_on() {
    let s = setup("").await;
    let admin = token(&s.zones, &[]).await;
    // Each change replaces a TXT set of ~25 KB by another: two big record sets per row.
    let big = |i: usize| -> Vec<String> {
        (0..30)
            .map(|j| format!("{i:03}{j:03}{}", "x".repeat(880)))
            .collect()
    };
    for i in 0..80 {
        let r = call(
            &s.app,
            "PUT",
            "/api/v1/hosts/big.dyn.example/records/TXT",
            &admin,
            Some(json!({"values": big(i)})),
        )
        .await;
        let status = r.status();
        assert_eq!(status, StatusCode::OK, "write {i}: {}", json_of(r).await);
    }
    let mut uri = "/api/v1/hosts/big.dyn.example/history?limit=1000".to_owned();
    let mut seen = 0;
    let mut pages = 0;
    loop {
        let r = call(&s.app, "GET", &uri, &admin, None).await;
        assert_eq!(r.status(), StatusCode::OK);
        let link = r
            .headers()
            .get(header::LINK)
            .map(|l| l.to_str().unwrap().to_owned());
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        assert!(
            bytes.len() <= ddns_http::HISTORY_PAGE_BYTES,
            "page of {} bytes",
            bytes.len()
        );
        let rows: Vec<Value> = serde_json::from_slice(&bytes).unwrap();
        assert!(!rows.is_empty());
        seen += rows.len();
        pages += 1;
        match link {
            Some(link) => {
                uri = link
                    .trim_start_matches('<')
                    .split_once('>')
                    .unwrap()
                    .0
                    .to_owned();
            }
            None => break,
        }
    }
    assert_eq!(seen, 80, "every row, once, across the pages");
    assert!(pages > 1, "the budget split the history");
}

/// `/readyz` follows the store: 200 while it is open, 503 with the reason once it is closed;
/// `/healthz` says the process answers either way.
#[tokio::test]
async fn readyz_is_503_once_the_store_is_closed() {
    let s = setup("").await;
    let ready = call(&s.app, "GET", "/readyz", "", None).await;
    assert_eq!(ready.status(), StatusCode::OK);
    s.store.close().await;
    let closed = call(&s.app, "GET", "/readyz", "", None).await;
    assert_eq!(closed.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = closed.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"not ready: the store is closed\n");
    let health = call(&s.app, "GET", "/healthz", "", None).await;
    assert_eq!(health.status(), StatusCode::OK);
}

struct FixedText;

impl ddns_http::MetricsSource for FixedText {
    fn render(&self) -> String {
        "# TYPE up gauge\nup 1\n".into()
    }
}

/// Without an endpoint `/metrics` does not exist; with `metrics_allow`, a client outside the
/// networks is refused and one inside gets the text. (The calls come from 192.0.2.10.)
#[tokio::test]
async fn metrics_are_served_only_when_on_and_to_allowed_networks() {
    let s = setup("").await;
    let off = call(&s.app, "GET", "/metrics", "", None).await;
    assert_eq!(off.status(), StatusCode::NOT_FOUND);
    let policy = ddns_http::HttpPolicy::from_config(
        &ServerConfig::defaults("/unused".into()).http,
        &ServerConfig::defaults("/unused".into()).dyndns2,
    );
    for (allow, status) in [
        ("198.51.100.0/24", StatusCode::FORBIDDEN),
        ("192.0.2.0/24", StatusCode::OK),
    ] {
        let state = ddns_http::AppState::new(Arc::clone(&s.zones), policy.clone()).with_metrics(
            ddns_http::MetricsEndpoint {
                source: Arc::new(FixedText),
                allow: vec![allow.parse().unwrap()],
            },
        );
        let app = ddns_http::app(Arc::new(state));
        let response = call(&app, "GET", "/metrics", "", None).await;
        assert_eq!(response.status(), status, "allow {allow}");
        if status == StatusCode::OK {
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"# TYPE up gauge\nup 1\n");
        }
    }
}
