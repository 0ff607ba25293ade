//! The web console under `/console/`: server-rendered pages (`pages.rs`, maud) in English and
//! Simplified Chinese (`i18n.rs`), sessions with CSRF tokens (`session.rs`), one stylesheet
//! and one small script embedded in the binary.
//!
//! Sign-in takes the admin password (`ddns admin password`, argon2id in the store) or an admin
//! token with write access, rate-limited per client address (`[http]` has no knob: 10 attempts
//! a minute) and slowed down after failures like every other authentication
//! (`auth_throttle.rs`). Every page but the sign-in page needs a session; every POST needs
//! the session's CSRF token (checked by [`guard`] before any handler runs, so a forged form
//! changes nothing). Every change goes through the same [`ddns_zones::Zones`] methods as the
//! REST API and the CLI.

mod audit;
mod hosts;
mod i18n;
mod pages;
mod session;
mod signin;
mod tokens;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Form;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ddns_config::when::parse_moment;
use ddns_core::{DomainName, Origin, Restrictions, Rtype, Scope, ScopeEntry, token};
use ddns_zones::{
    AuditCursor, AuditQuery, HostSearch, Principal, RrsetIntent, host_filter, parse_since,
};
use maud::Markup;
use serde::Deserialize;
use subtle::ConstantTimeEq as _;

use crate::AppState;
use crate::auth_throttle::Admission;
use crate::client::{IpLimiter, user_agent};
use crate::error::ApiError;
use crate::metrics::{Limit, auth_failed, rate_limited};

pub(crate) use i18n::Lang;
use pages::Frame;
pub(crate) use session::Sessions;
use session::{Credential, LANG_COOKIE, LOGIN_COOKIE, SESSION_COOKIE, Session, cookie, set_cookie};

/// Sign-in attempts per client address per minute.
const SIGNIN_PER_MINUTE: u32 = 10;
/// Hosts per page.
const HOSTS_PAGE: u32 = 50;
/// History rows on a host's page.
const HISTORY_ROWS: u32 = 50;
/// Audit entries per page.
const AUDIT_PAGE: u32 = 100;
/// Largest console form accepted.
const MAX_FORM: usize = 64 * 1024;

const CSS: &str = include_str!("console.css");
const JS: &str = include_str!("console.js");

/// Marks a request that arrived over HTTPS (inserted by the listener), so cookies get `Secure`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Https;

/// The console's own state inside [`AppState`].
pub(crate) struct Console {
    sessions: Sessions,
    signins: IpLimiter,
}

impl Console {
    pub(crate) fn new() -> Self {
        Self {
            sessions: Sessions::default(),
            signins: IpLimiter::new(SIGNIN_PER_MINUTE),
        }
    }
}

/// The console's routes: pages behind [`guard`], the sign-in page and static files outside.
pub(crate) fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let guarded = Router::new()
        .route("/console/", get(hosts::hosts_page))
        .route("/console/hosts", post(hosts::create_host))
        .route("/console/hosts/{name}", get(hosts::host_page))
        .route("/console/hosts/{name}/records", post(hosts::set_records))
        .route("/console/hosts/{name}/rollback", post(hosts::rollback))
        .route("/console/hosts/{name}/delete", post(hosts::delete_host))
        .route(
            "/console/tokens",
            get(tokens::tokens_page).post(tokens::create_token),
        )
        .route("/console/tokens/{id}/revoke", post(tokens::revoke_token))
        .route("/console/audit", get(audit::audit_page))
        .route("/console/settings", get(audit::settings_page))
        .route("/console/logout", post(signin::logout))
        .route_layer(from_fn_with_state(Arc::clone(state), guard));
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route(
            "/console/login",
            get(signin::login_page).post(signin::login),
        )
        .route(
            "/console/static/console.css",
            get(|| async { asset("text/css; charset=utf-8", CSS) }),
        )
        .route(
            "/console/static/console.js",
            get(|| async { asset("text/javascript; charset=utf-8", JS) }),
        )
        .merge(guarded)
        .layer(axum::middleware::from_fn(language_and_headers))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

/// `?lang=` in a query, if it names a language.
fn lang_param(uri: &Uri) -> Option<Lang> {
    form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Lang::parse(&v))
}

/// Picks the language (a `?lang=` is remembered in a cookie) and adds the console's security
/// headers to every answer: no framing, no caching, scripts and styles from here only.
async fn language_and_headers(mut request: Request, next: Next) -> Response {
    let chosen = lang_param(request.uri());
    let lang = chosen.unwrap_or_else(|| Lang::from_request(request.headers()));
    let secure = is_https(&request);
    request.extensions_mut().insert(lang);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Some(lang) = chosen
        && let Ok(v) = HeaderValue::from_str(&set_cookie(
            LANG_COOKIE,
            lang.code(),
            secure,
            Some(31_536_000),
        ))
    {
        headers.append(header::SET_COOKIE, v);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

fn is_https<B>(request: &axum::http::Request<B>) -> bool {
    request.extensions().get::<Https>().is_some()
}

/// Lets a request through only with a live session; a POST also needs its CSRF token in the
/// form. Pages without a session redirect to the sign-in page; anything else is refused
/// with 403 and nothing runs.
async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let lang = parts.extensions.get::<Lang>().copied().unwrap_or(Lang::En);
    let is_get =
        parts.method == axum::http::Method::GET || parts.method == axum::http::Method::HEAD;
    let refuse = |lang: Lang, key: &'static str| {
        let frame = Frame {
            lang,
            session: None,
            here: "/console/login".into(),
            nav: "",
        };
        (
            StatusCode::FORBIDDEN,
            html(pages::error(&frame, lang.t(key))),
        )
            .into_response()
    };
    let session = match current_session(&state, &parts).await {
        Some(s) => s,
        None if is_get => return Redirect::to("/console/login").into_response(),
        None => return refuse(lang, "error.csrf"),
    };
    let body = if is_get {
        body
    } else {
        let Ok(bytes) = to_bytes(body, MAX_FORM).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response();
        };
        let presented = form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if !session.csrf_matches(&presented) {
            tracing::warn!(path = %parts.uri.path(), "console form refused: missing or wrong CSRF token");
            return refuse(lang, "error.csrf");
        }
        Body::from(bytes)
    };
    parts.extensions.insert(session);
    next.run(Request::from_parts(parts, body)).await
}

/// The request's session, if its cookie names a live one. A token session presents its token
/// again (from memory, no store read when it is known), so a revoked or expired token, or one
/// now used from outside its subnets, ends the session.
async fn current_session(state: &AppState, parts: &Parts) -> Option<Session> {
    let id = cookie(&parts.headers, SESSION_COOKIE)?;
    let mut session = state.console.sessions.touch(id)?;
    if let Credential::Token(secret) = &session.credential {
        let client = client_of(state, parts);
        match state.zones.authenticate(secret, client).await {
            Ok(p) if p.scope.is_admin() && !p.restrictions.read_only => session.principal = p,
            _ => {
                state.console.sessions.end(id);
                return None;
            }
        }
    }
    Some(session)
}

fn client_of(state: &AppState, parts: &Parts) -> std::net::IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
    state.client(peer, &parts.headers)
}

/// What every console handler needs of its request.
struct Ctx {
    lang: Lang,
    session: Option<Session>,
    /// Path and query without `lang`.
    here: String,
    origin: Origin,
    client: std::net::IpAddr,
    secure: bool,
    /// `Host`, for the ready-made client settings.
    host: String,
}

impl FromRequestParts<Arc<AppState>> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let client = client_of(state, parts);
        let query: Vec<(String, String)> = parts
            .uri
            .query()
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .filter(|(k, _)| k != "lang")
                    .collect()
            })
            .unwrap_or_default();
        let mut here = parts.uri.path().to_owned();
        if !query.is_empty() {
            here.push('?');
            here.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(query)
                    .finish(),
            );
        }
        Ok(Self {
            lang: parts.extensions.get::<Lang>().copied().unwrap_or(Lang::En),
            session: parts.extensions.get::<Session>().cloned(),
            here,
            origin: Origin {
                source_ip: Some(client),
                user_agent: user_agent(&parts.headers),
            },
            client,
            secure: parts.extensions.get::<Https>().is_some(),
            host: parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost")
                .to_owned(),
        })
    }
}

impl Ctx {
    fn frame(&self, nav: &'static str) -> Frame<'_> {
        Frame {
            lang: self.lang,
            session: self.session.as_ref(),
            here: self.here.clone(),
            nav,
        }
    }

    /// The session (present behind [`guard`]) and who it acts as.
    fn session(&self) -> Option<(&Session, &Principal)> {
        self.session.as_ref().map(|s| (s, &s.principal))
    }

    /// An error page with the status the REST API would answer.
    fn fail(&self, error: ApiError) -> Response {
        (
            error.status,
            html(pages::error(&self.frame(""), &error.message)),
        )
            .into_response()
    }
}

fn html(markup: Markup) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        markup.into_string(),
    )
        .into_response()
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}
