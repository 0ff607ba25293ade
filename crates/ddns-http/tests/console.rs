//! The web console's guards, through the router without sockets: every page redirects to the
//! sign-in page and every action is refused without a session; a form without its session's
//! CSRF token is refused and changes nothing; sign-in by password or admin token, its cookie's
//! flags, its rate limit, and sign-out.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode, header};
use ddns_config::ServerConfig;
use ddns_core::{Actor, DomainName, Origin, Scope, ScopeEntry};
use ddns_store::{Store, StoreOptions};
use ddns_zones::Zones;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

const PASSWORD: &str = "correct horse battery";

struct Setup {
    _dir: tempfile::TempDir,
    zones: Arc<Zones>,
    app: axum::Router,
}

async fn setup() -> Setup {
    let text = "version = 1\n[[zone]]\nname = \"dyn.example\"\n";
    let config = ServerConfig::from_toml(text, "/unused".into()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Store::open_dir(dir.path(), &StoreOptions::default())
            .await
            .unwrap(),
    );
    let zones = Arc::new(
        Zones::open(
            store,
            &config.zones,
            ddns_store::JournalRetention {
                max_entries: 1000,
                max_age_secs: 86_400,
            },
        )
        .await
        .unwrap(),
    );
    zones
        .set_console_password(PASSWORD, Actor::Cli, Origin::default())
        .await
        .unwrap();
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

async fn token(zones: &Zones, scope: Scope) -> String {
    zones
        .create_token(
            "t",
            &scope,
            &Default::default(),
            Actor::Cli,
            Origin::default(),
        )
        .await
        .unwrap()
        .full
}

/// One request from 192.0.2.10 (or `peer`), with cookies and a form body.
async fn call_from(
    app: &axum::Router,
    peer: &str,
    method: &str,
    uri: &str,
    cookies: &str,
    form: Option<&str>,
) -> Response<Body> {
    let mut request = Request::builder().method(method).uri(uri);
    if !cookies.is_empty() {
        request = request.header(header::COOKIE, cookies);
    }
    if form.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let mut request = request
        .body(form.map_or_else(Body::empty, |f| Body::from(f.to_owned())))
        .unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    app.clone().oneshot(request).await.unwrap()
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    cookies: &str,
    form: Option<&str>,
) -> Response<Body> {
    call_from(app, "192.0.2.10:4000", method, uri, cookies, form).await
}

async fn text_of(response: Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn location(response: &Response<Body>) -> &str {
    response.headers()[header::LOCATION].to_str().unwrap()
}

/// The `name=value` of each `Set-Cookie` of a response, and the whole header of `name`.
fn set_cookie<'a>(response: &'a Response<Body>, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

fn cookie_value(header: &str) -> &str {
    header.split(';').next().unwrap().split_once('=').unwrap().1
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Signs in from `peer` with `secret`: the sign-in answer and the cookie line to send on.
async fn sign_in_from(app: &axum::Router, peer: &str, secret: &str) -> (Response<Body>, String) {
    let page = call_from(app, peer, "GET", "/console/login", "", None).await;
    assert_eq!(page.status(), StatusCode::OK);
    let login = cookie_value(set_cookie(&page, "ddns_login").unwrap()).to_owned();
    let body = text_of(page).await;
    assert!(
        body.contains(&format!("value=\"{login}\"")),
        "the form carries the login token"
    );
    let answer = call_from(
        app,
        peer,
        "POST",
        "/console/login",
        &format!("ddns_login={login}"),
        Some(&format!("login={login}&secret={}", encode(secret))),
    )
    .await;
    let cookies = set_cookie(&answer, "ddns_session")
        .map(|c| format!("ddns_session={}", cookie_value(c)))
        .unwrap_or_default();
    (answer, cookies)
}

async fn sign_in(app: &axum::Router, secret: &str) -> String {
    let (answer, cookies) = sign_in_from(app, "192.0.2.10:4000", secret).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&answer), "/console/");
    cookies
}

/// The CSRF token of the session behind `cookies` (from the hidden field of a page's forms).
async fn csrf_of(app: &axum::Router, cookies: &str) -> String {
    let page = call(app, "GET", "/console/", cookies, None).await;
    assert_eq!(page.status(), StatusCode::OK);
    let body = text_of(page).await;
    let at = body.find("name=\"csrf\" value=\"").unwrap() + 19;
    body[at..at + 43].to_owned()
}

const PAGES: &[&str] = &[
    "/console/",
    "/console/?q=home",
    "/console/hosts/home.dyn.example",
    "/console/tokens",
    "/console/audit",
    "/console/settings",
];

/// Every action the console has, with a form that would do something.
fn actions(token_id: &str) -> Vec<(String, String)> {
    vec![
        (
            "/console/hosts".into(),
            "name=new.dyn.example&rtype=A&values=192.0.2.7".into(),
        ),
        (
            "/console/hosts/home.dyn.example/records".into(),
            "rtype=A&values=192.0.2.8".into(),
        ),
        (
            "/console/hosts/home.dyn.example/rollback".into(),
            "to=1".into(),
        ),
        (
            "/console/hosts/home.dyn.example/delete".into(),
            String::new(),
        ),
        ("/console/tokens".into(), "label=x&admin=on".into()),
        (format!("/console/tokens/{token_id}/revoke"), String::new()),
        ("/console/logout".into(), String::new()),
    ]
}

async fn seed(s: &Setup) -> (DomainName, String) {
    let home = DomainName::parse("home.dyn.example").unwrap();
    let t = token(&s.zones, Scope::Hosts(vec![ScopeEntry::Name(home.clone())])).await;
    let id = ddns_core::token::split(&t).unwrap().0.to_owned();
    (home, id)
}

async fn unchanged(s: &Setup, home: &DomainName, token_id: &str, tokens_before: usize) {
    assert!(
        s.zones
            .host(&DomainName::parse("new.dyn.example").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let host = s.zones.host(home).await.unwrap().unwrap();
    assert!(host.rrsets.is_empty(), "no record was written");
    let tokens = s.zones.tokens().await.unwrap();
    assert_eq!(tokens.len(), tokens_before, "no token was created");
    assert!(
        tokens
            .iter()
            .find(|t| t.id == token_id)
            .unwrap()
            .revoked_at
            .is_none()
    );
}

#[tokio::test]
async fn without_a_session_pages_redirect_and_actions_are_refused() {
    let s = setup().await;
    let (home, token_id) = seed(&s).await;
    let root = call(&s.app, "GET", "/", "", None).await;
    assert!(root.status().is_redirection());
    assert_eq!(location(&root), "/console/");
    for cookies in ["", "ddns_session=forged-session-id"] {
        for page in PAGES {
            let r = call(&s.app, "GET", page, cookies, None).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{page} {cookies:?}");
            assert_eq!(location(&r), "/console/login", "{page}");
        }
        for (path, form) in actions(&token_id) {
            let r = call(&s.app, "POST", &path, cookies, Some(&form)).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} {cookies:?}");
        }
    }
    unchanged(&s, &home, &token_id, 1).await;
    let login = call(&s.app, "GET", "/console/login", "", None).await;
    assert_eq!(login.status(), StatusCode::OK);
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused_and_change_nothing() {
    let s = setup().await;
    let (home, token_id) = seed(&s).await;
    let cookies = sign_in(&s.app, PASSWORD).await;
    let csrf = csrf_of(&s.app, &cookies).await;
    let other = sign_in(&s.app, PASSWORD).await;
    let other_csrf = csrf_of(&s.app, &other).await;
    assert_ne!(csrf, other_csrf, "one token per session");
    // The token with its last character changed (to one it does not already end in).
    let last = if csrf.ends_with('A') { 'B' } else { 'A' };
    let wrong = format!("{}{last}", &csrf[..42]);
    for (path, form) in actions(&token_id) {
        for bad in [
            String::new(),
            "&csrf=".into(),
            format!("&csrf={wrong}"),
            format!("&csrf={other_csrf}"),
        ] {
            let r = call(
                &s.app,
                "POST",
                &path,
                &cookies,
                Some(&format!("{form}{bad}")),
            )
            .await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} {bad:?}");
        }
    }
    unchanged(&s, &home, &token_id, 1).await;
    // The session still works, and the right token goes through.
    let r = call(
        &s.app,
        "POST",
        "/console/hosts/home.dyn.example/records",
        &cookies,
        Some(&format!("rtype=A&values=192.0.2.8&csrf={csrf}")),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let host = s.zones.host(&home).await.unwrap().unwrap();
    assert_eq!(host.rrsets[0].values(), vec!["192.0.2.8".to_owned()]);
    let history = s.zones.history_of(&home, None, 1).await.unwrap();
    assert_eq!(
        history[0].actor, "console",
        "the password session acts as the console"
    );
    assert_eq!(history[0].source_ip.unwrap().to_string(), "192.0.2.10");
}

#[tokio::test]
async fn sign_in_by_password_or_admin_token_sets_a_strict_cookie_and_sign_out_ends_it() {
    let s = setup().await;
    let (answer, cookies) = sign_in_from(&s.app, "192.0.2.10:4000", "wrong password!").await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert!(cookies.is_empty());
    let host_token = token(
        &s.zones,
        Scope::Hosts(vec![ScopeEntry::parse("home.dyn.example").unwrap()]),
    )
    .await;
    let (answer, cookies) = sign_in_from(&s.app, "192.0.2.11:4000", &host_token).await;
    assert_eq!(
        answer.status(),
        StatusCode::UNAUTHORIZED,
        "a host token does not sign in"
    );
    assert!(cookies.is_empty());

    let admin = token(&s.zones, Scope::Admin).await;
    let (answer, _) = sign_in_from(&s.app, "192.0.2.12:4000", &admin).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let header = set_cookie(&answer, "ddns_session").unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(header.contains(flag), "{header}");
    }
    assert!(!header.contains("Secure"), "plain HTTP: {header}");
    let cookies = format!("ddns_session={}", cookie_value(header));
    let page = call(&s.app, "GET", "/console/tokens", &cookies, None).await;
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = csrf_of(&s.app, &cookies).await;

    // A token session ends when its token is revoked.
    let admin_id = ddns_core::token::split(&admin).unwrap().0.to_owned();
    s.zones
        .revoke_token(&admin_id, Actor::Cli, Origin::default())
        .await
        .unwrap();
    let page = call(&s.app, "GET", "/console/", &cookies, None).await;
    assert_eq!(location(&page), "/console/login");

    let cookies = sign_in(&s.app, PASSWORD).await;
    let csrf2 = csrf_of(&s.app, &cookies).await;
    assert_ne!(csrf, csrf2);
    let out = call(
        &s.app,
        "POST",
        "/console/logout",
        &cookies,
        Some(&format!("csrf={csrf2}")),
    )
    .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(
        set_cookie(&out, "ddns_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    let page = call(&s.app, "GET", "/console/", &cookies, None).await;
    assert_eq!(location(&page), "/console/login", "signed out");
}

#[tokio::test]
async fn sign_in_needs_the_pages_login_token_and_is_rate_limited_per_address() {
    let s = setup().await;
    // Login CSRF: a form posted from elsewhere has no login cookie.
    let r = call(
        &s.app,
        "POST",
        "/console/login",
        "",
        Some(&format!("login=x&secret={}", encode(PASSWORD))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&r, "ddns_session").is_none());
    let r = call(
        &s.app,
        "POST",
        "/console/login",
        "ddns_login=abc",
        Some(&format!("login=abd&secret={}", encode(PASSWORD))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Ten attempts a minute per address, even good ones; another address is not held up.
    for i in 0..10 {
        let (answer, _) = sign_in_from(&s.app, "198.51.100.1:1", PASSWORD).await;
        assert_eq!(answer.status(), StatusCode::SEE_OTHER, "attempt {i}");
    }
    let (answer, cookies) = sign_in_from(&s.app, "198.51.100.1:1", PASSWORD).await;
    assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(cookies.is_empty());
    let (answer, _) = sign_in_from(&s.app, "198.51.100.2:1", PASSWORD).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn pages_render_in_the_language_asked_for() {
    let s = setup().await;
    let cookies = sign_in(&s.app, PASSWORD).await;
    let zh = call(&s.app, "GET", "/console/settings?lang=zh", &cookies, None).await;
    assert_eq!(zh.status(), StatusCode::OK);
    assert!(
        set_cookie(&zh, "ddns_lang")
            .unwrap()
            .starts_with("ddns_lang=zh-CN")
    );
    for (name, value) in [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        assert_eq!(zh.headers()[&name], value);
    }
    assert!(
        zh.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let body = text_of(zh).await;
    assert!(body.contains("lang=\"zh-CN\""));
    assert!(body.contains("设置（只读）"), "{body}");
    let both = format!("{cookies}; ddns_lang=zh-CN");
    let body = text_of(call(&s.app, "GET", "/console/tokens", &both, None).await).await;
    assert!(body.contains("创建令牌") && !body.contains("Create a token"));
    let body = text_of(call(&s.app, "GET", "/console/tokens", &cookies, None).await).await;
    assert!(body.contains("Create a token"));
}

/// The benchmark of the host list (`bench/console.sh`; ignored in normal runs, it measures and
/// asserts nothing about time): 100,000 hosts imported, a few hundred with history rows, then
/// the first page, pages deep into the list (keyset `after=`), a zone filter and a substring
/// search, each rendered whole through the router, per-page times printed.
#[tokio::test]
#[ignore = "benchmark: bench/console.sh"]
async fn bench_host_list_with_100k_hosts() {
    let s = setup().await;
    let zone = DomainName::parse("dyn.example").unwrap();
    let mut file = String::with_capacity(4 << 20);
    for i in 0..100_000u32 {
        file.push_str(&format!(
            "h{i:06}.dyn.example. 60 IN A 198.51.{}.{}\n",
            i / 256 % 256,
            i % 256
        ));
    }
    let started = std::time::Instant::now();
    s.zones
        .import_zone(
            &zone,
            std::io::Cursor::new(file.into_bytes()),
            60,
            Actor::Cli,
        )
        .await
        .unwrap();
    println!("imported 100000 hosts in {:?}", started.elapsed());
    let principal = ddns_zones::Principal::operator();
    for i in (0..100_000u32).step_by(250) {
        let name = DomainName::parse(&format!("h{i:06}.dyn.example")).unwrap();
        let intent = ddns_zones::RrsetIntent {
            name,
            rtype: ddns_core::Rtype::A,
            values: Some(vec!["192.0.2.1".into()]),
            ttl: None,
            view: None,
        };
        s.zones
            .update_rrsets(&principal, &[intent], None, Origin::default())
            .await
            .unwrap();
    }
    let cookies = sign_in(&s.app, PASSWORD).await;
    let pages = [
        "/console/",
        "/console/?after=h049999.dyn.example",
        "/console/?after=h099900.dyn.example",
        "/console/?zone=dyn.example&after=h070000.dyn.example",
        "/console/?q=h0777",
        "/console/?q=99999",
        "/console/?q=nomatch",
    ];
    for page in pages {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..20 {
            let t = std::time::Instant::now();
            let r = call(&s.app, "GET", page, &cookies, None).await;
            assert_eq!(r.status(), StatusCode::OK);
            size = text_of(r).await.len();
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "{page:<55} median {:>7.2} ms  max {:>7.2} ms  {size} bytes",
            times[10].as_secs_f64() * 1e3,
            times[19].as_secs_f64() * 1e3
        );
    }
}
