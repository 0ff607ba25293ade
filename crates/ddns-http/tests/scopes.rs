//! Token restrictions and abuse limits as the HTTP edges answer them, through the router
//! without sockets: DynDNS2 codes and REST JSON errors for expired, foreign-subnet, read-only
//! and type-restricted tokens; rotation through the API; the per-address request limit; and
//! the delay after failed authentication, which slows only the failing address.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode, header};
use ddns_config::ServerConfig;
use ddns_core::{Actor, Restrictions, Rtype, Scope, ScopeEntry};
use ddns_store::{Store, StoreOptions};
use ddns_zones::Zones;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

struct Setup {
    _dir: tempfile::TempDir,
    zones: Arc<Zones>,
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
    let retention = ddns_store::JournalRetention {
        max_entries: 1000,
        max_age_secs: 86_400,
    };
    let zones = Arc::new(Zones::open(store, &config.zones, retention).await.unwrap());
    let state = Arc::new(ddns_http::AppState::new(
        Arc::clone(&zones),
        ddns_http::HttpPolicy::from_config(&config.http, &config.dyndns2),
    ));
    Setup {
        _dir: dir,
        zones,
        app: ddns_http::app(state),
    }
}

async fn token(zones: &Zones, scope: &[&str], restrictions: Restrictions) -> String {
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
            &restrictions,
            Actor::Cli,
            ddns_core::Origin::default(),
        )
        .await
        .unwrap()
        .full
}

async fn call(
    app: &axum::Router,
    from: &str,
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
    let peer: SocketAddr = format!("{from}:4000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    app.clone().oneshot(request).await.unwrap()
}

async fn text_of(response: Response<Body>) -> (StatusCode, String) {
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn json_of(response: Response<Body>) -> (StatusCode, Value) {
    let (status, text) = text_of(response).await;
    (status, serde_json::from_str(&text).unwrap())
}

const HOME: &str = "home.dyn.example";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn restrictions_answer_as_each_protocol_says() {
    let s = setup("").await;
    let nic = |from: &'static str, token: String, query: &'static str| {
        let app = s.app.clone();
        async move {
            text_of(
                call(
                    &app,
                    from,
                    "GET",
                    &format!("/nic/update?{query}"),
                    &token,
                    None,
                )
                .await,
            )
            .await
        }
    };
    let subnet = token(
        &s.zones,
        &[HOME],
        Restrictions {
            subnets: vec!["192.0.2.0/24".parse().unwrap()],
            ..Restrictions::default()
        },
    )
    .await;
    let q = "hostname=home.dyn.example&myip=192.0.2.5";
    assert_eq!(
        nic("198.51.100.1", subnet.clone(), q).await,
        (StatusCode::UNAUTHORIZED, "badauth".into())
    );
    assert_eq!(
        nic("192.0.2.1", subnet.clone(), q).await,
        (StatusCode::OK, "good 192.0.2.5".into())
    );
    let expired = token(
        &s.zones,
        &[HOME],
        Restrictions {
            expires_at: Some(now() - 10),
            ..Restrictions::default()
        },
    )
    .await;
    assert_eq!(
        nic("192.0.2.2", expired.clone(), q).await,
        (StatusCode::UNAUTHORIZED, "badauth".into())
    );
    let (status, body) =
        json_of(call(&s.app, "192.0.2.3", "GET", "/api/v1/hosts", &expired, None).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("badauth"))
    );

    let reader = token(
        &s.zones,
        &[HOME],
        Restrictions {
            read_only: true,
            ..Restrictions::default()
        },
    )
    .await;
    assert_eq!(
        nic(
            "192.0.2.4",
            reader.clone(),
            "hostname=home.dyn.example&myip=192.0.2.99"
        )
        .await,
        (StatusCode::FORBIDDEN, "badauth".into())
    );
    let (status, _) = text_of(
        call(
            &s.app,
            "192.0.2.4",
            "GET",
            "/api/v1/hosts/home.dyn.example",
            &reader,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "a read-only token reads");
    let (status, _) = text_of(
        call(
            &s.app,
            "192.0.2.4",
            "GET",
            "/api/v1/hosts/home.dyn.example/history",
            &reader,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = json_of(
        call(
            &s.app,
            "192.0.2.4",
            "PUT",
            "/api/v1/hosts/home.dyn.example/records/TXT",
            &reader,
            Some(json!({"values": ["x"]})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("read_only"))
    );

    let aaaa = token(
        &s.zones,
        &[HOME],
        Restrictions {
            types: vec![Rtype::AAAA],
            ..Restrictions::default()
        },
    )
    .await;
    assert_eq!(
        nic(
            "192.0.2.6",
            aaaa.clone(),
            "hostname=home.dyn.example&myip=192.0.2.7"
        )
        .await,
        (StatusCode::FORBIDDEN, "nohost".into()),
        "an A record given explicitly is refused"
    );
    assert_eq!(
        nic(
            "192.0.2.6",
            aaaa.clone(),
            "hostname=home.dyn.example&myipv6=2001:db8::6"
        )
        .await,
        (StatusCode::OK, "good 2001:db8::6".into()),
        "the connection's IPv4 address is left alone, not refused"
    );
    let (status, body) = json_of(
        call(
            &s.app,
            "192.0.2.6",
            "PUT",
            "/api/v1/hosts/home.dyn.example/records/A",
            &aaaa,
            Some(json!({"values": ["192.0.2.1"]})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let host = s
        .zones
        .host(&ddns_core::DomainName::parse(HOME).unwrap())
        .await
        .unwrap()
        .unwrap();
    let types: Vec<Rtype> = host.rrsets.iter().map(|r| r.rtype()).collect();
    assert_eq!(types, vec![Rtype::A, Rtype::AAAA]);
    assert_eq!(
        host.rrsets[0].values(),
        vec!["192.0.2.5"],
        "refusals changed nothing"
    );
}

#[tokio::test]
async fn tokens_are_created_listed_and_rotated_through_the_api() {
    let s = setup("").await;
    let admin = token(&s.zones, &[], Restrictions::default()).await;
    let (status, created) = json_of(
        call(
            &s.app,
            "192.0.2.1",
            "POST",
            "/api/v1/tokens",
            &admin,
            Some(json!({"hosts": [HOME], "types": ["A", "aaaa"], "subnets": ["192.0.2.0/24"], "expires": "90d"})),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["types"], json!(["A", "AAAA"]));
    assert_eq!(created["subnets"], json!(["192.0.2.0/24"]));
    assert!(created["expires_at"].as_str().unwrap().ends_with('Z'));
    let old = created["token"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, rotated) = json_of(
        call(
            &s.app,
            "192.0.2.1",
            "POST",
            &format!("/api/v1/tokens/{id}/rotate"),
            &admin,
            Some(json!({"grace": "7d"})),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    assert_eq!(rotated["types"], created["types"]);
    assert_eq!(rotated["subnets"], created["subnets"]);
    assert_eq!(rotated["expires_at"], created["expires_at"]);
    let q = "/nic/update?hostname=home.dyn.example&myip=192.0.2.8";
    for t in [&old, rotated["token"].as_str().unwrap()] {
        let (status, _) = text_of(call(&s.app, "192.0.2.9", "GET", q, t, None).await).await;
        assert_eq!(status, StatusCode::OK, "both work during the grace");
    }
    let (_, list) =
        json_of(call(&s.app, "192.0.2.1", "GET", "/api/v1/tokens", &admin, None).await).await;
    let old_row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap();
    assert_eq!(old_row["successor"], rotated["id"]);
    let (status, body) = json_of(
        call(
            &s.app,
            "192.0.2.1",
            "POST",
            "/api/v1/tokens",
            &admin,
            Some(json!({"hosts": [HOME], "types": ["NOPE"]})),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn requests_per_address_are_limited_before_anything_else() {
    let s = setup("[http]\nrequests_per_ip_per_minute = 3").await;
    for _ in 0..3 {
        let (status, _) =
            text_of(call(&s.app, "192.0.2.1", "GET", "/api/v1/zones", "x", None).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let refused = call(
        &s.app,
        "192.0.2.1",
        "GET",
        "/nic/update?hostname=a.dyn.example",
        "x",
        None,
    )
    .await;
    assert!(refused.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(
        text_of(refused).await,
        (StatusCode::TOO_MANY_REQUESTS, "abuse".into())
    );
    let (status, body) =
        json_of(call(&s.app, "192.0.2.1", "GET", "/api/v1/zones", "x", None).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    let (status, _) =
        text_of(call(&s.app, "192.0.2.2", "GET", "/api/v1/zones", "x", None).await).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "another address has its own budget"
    );
}

#[tokio::test]
async fn updates_per_token_are_limited() {
    let s = setup("[dyndns2]\nupdates_per_token_per_minute = 2").await;
    let lab = token(&s.zones, &["*.lab.dyn.example"], Restrictions::default()).await;
    for (i, expected) in [
        (1, StatusCode::OK),
        (2, StatusCode::OK),
        (3, StatusCode::TOO_MANY_REQUESTS),
    ] {
        let uri = format!("/nic/update?hostname=h{i}.lab.dyn.example&myip=192.0.2.{i}");
        let (status, body) =
            text_of(call(&s.app, "192.0.2.1", "GET", &uri, &lab, None).await).await;
        assert_eq!(status, expected, "{i}: {body}");
    }
}

#[tokio::test]
async fn failed_authentication_slows_down_only_its_address() {
    let s = setup("").await;
    let good = token(&s.zones, &[HOME], Restrictions::default()).await;
    let attempt = |from: &'static str, token: String| {
        let app = s.app.clone();
        async move {
            let started = Instant::now();
            let uri = "/nic/update?hostname=home.dyn.example&myip=192.0.2.1";
            let (status, body) = text_of(call(&app, from, "GET", uri, &token, None).await).await;
            (status, body, started.elapsed())
        }
    };
    let wrong = || format!("ddns_{}", "0".repeat(45));
    let (status, _, first) = attempt("198.51.100.7", wrong()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        first < Duration::from_millis(400),
        "the first failure is answered at once"
    );
    let (_, _, second) = attempt("198.51.100.7", wrong()).await;
    assert!(
        second >= Duration::from_millis(450),
        "second failure after {second:?}"
    );
    let (_, _, third) = attempt("198.51.100.7", wrong()).await;
    assert!(
        third >= Duration::from_millis(950),
        "the delay doubles: {third:?}"
    );
    // Another address is not held up meanwhile.
    let (status, body, other) = attempt("192.0.2.50", good.clone()).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "good 192.0.2.1"));
    assert!(other < Duration::from_millis(400), "{other:?}");
    // A success from the failing address waits its turn once, then resets the delay.
    let (status, _, _) = attempt("198.51.100.7", good.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, after) = attempt("198.51.100.7", good).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        after < Duration::from_millis(400),
        "reset by the success: {after:?}"
    );
}
