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

mod i18n;
mod pages;
mod session;

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
        .route("/console/", get(hosts_page))
        .route("/console/hosts", post(create_host))
        .route("/console/hosts/{name}", get(host_page))
        .route("/console/hosts/{name}/records", post(set_records))
        .route("/console/hosts/{name}/rollback", post(rollback))
        .route("/console/hosts/{name}/delete", post(delete_host))
        .route("/console/tokens", get(tokens_page).post(create_token))
        .route("/console/tokens/{id}/revoke", post(revoke_token))
        .route("/console/audit", get(audit_page))
        .route("/console/settings", get(settings_page))
        .route("/console/logout", post(logout))
        .route_layer(from_fn_with_state(Arc::clone(state), guard));
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/login", get(login_page).post(login))
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

// ---- sign-in -------------------------------------------------------------------------------

async fn login_page(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    request_parts: HeaderMap,
) -> Response {
    if cookie(&request_parts, SESSION_COOKIE)
        .is_some_and(|id| state.console.sessions.touch(id).is_some())
    {
        return see_other("/console/");
    }
    render_login(&state, &ctx, StatusCode::OK, None).await
}

async fn render_login(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let Some(login) = session::random_token() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let has_password = state.zones.has_console_password().await.unwrap_or(false);
    let mut response = (
        status,
        html(pages::signin(&ctx.frame(""), &login, error, has_password)),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(LOGIN_COOKIE, &login, ctx.secure, Some(3600)))
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    secret: String,
    #[serde(default)]
    login: String,
}

async fn login(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let l = ctx.lang;
    // Login CSRF: the form must carry the value of the cookie the sign-in page set, which
    // another site can neither read nor set.
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(form.login.as_bytes())) {
        return render_login(
            &state,
            &ctx,
            StatusCode::FORBIDDEN,
            Some(l.t("signin.expired")),
        )
        .await;
    }
    if state.console.signins.check(ctx.client).is_err() {
        rate_limited(Limit::PerIp);
        return render_login(
            &state,
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            Some(l.t("signin.throttled")),
        )
        .await;
    }
    match state.auth_failures.admit(ctx.client, Instant::now()) {
        Admission::Refused(_) => {
            rate_limited(Limit::AuthFailures);
            return render_login(
                &state,
                &ctx,
                StatusCode::TOO_MANY_REQUESTS,
                Some(l.t("signin.throttled")),
            )
            .await;
        }
        Admission::After(wait) if !wait.is_zero() => tokio::time::sleep(wait).await,
        Admission::After(_) => {}
    }
    let secret = form.secret.trim();
    let signed_in = if token::split(secret).is_some() {
        match state.zones.authenticate(secret, ctx.client).await {
            Ok(p) if p.scope.is_admin() && !p.restrictions.read_only => {
                Ok((Credential::Token(secret.to_owned()), p))
            }
            Ok(_) => Err("signin.notadmin"),
            Err(_) => Err("signin.failed"),
        }
    } else {
        match state.zones.verify_console_password(secret).await {
            Ok(true) => Ok((Credential::Password, Principal::console_admin())),
            Ok(false) | Err(_) => Err("signin.failed"),
        }
    };
    let (credential, principal) = match signed_in {
        Ok(pair) => pair,
        Err(key) => {
            state.auth_failures.failed(ctx.client, Instant::now());
            auth_failed("console");
            tracing::info!(client = %ctx.client, "console sign-in refused");
            return render_login(&state, &ctx, StatusCode::UNAUTHORIZED, Some(l.t(key))).await;
        }
    };
    state.auth_failures.succeeded(ctx.client);
    let Some(session) = state.console.sessions.start(credential, principal) else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    tracing::info!(client = %ctx.client, actor = %session.principal.actor(), "console sign-in");
    let mut response = see_other("/console/");
    for value in [
        set_cookie(SESSION_COOKIE, &session.id, ctx.secure, None),
        set_cookie(LOGIN_COOKIE, "", ctx.secure, Some(0)),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

async fn logout(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    if let Some(s) = &ctx.session {
        state.console.sessions.end(&s.id);
    }
    let mut response = see_other("/console/login");
    if let Ok(v) = HeaderValue::from_str(&set_cookie(SESSION_COOKIE, "", ctx.secure, Some(0))) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

// ---- zones and hosts -----------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct HostsParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    zone: String,
    after: Option<String>,
}

fn zone_views(state: &AppState) -> Vec<pages::ZoneView> {
    let snapshot = state.zones.snapshot();
    state
        .zones
        .policies()
        .iter()
        .map(|z| {
            let zone = snapshot.get(&z.name);
            let ns = zone
                .and_then(|s| s.node(s.origin_wire()))
                .and_then(|apex| apex.rrset(Rtype::NS))
                .map(|ns| {
                    ns.rdatas()
                        .map(|r| {
                            ddns_core::name::wire_to_text(r)
                                .trim_end_matches('.')
                                .to_owned()
                        })
                        .collect()
                })
                .unwrap_or_default();
            pages::ZoneView {
                name: z.name.to_string(),
                serial: zone.map(|s| s.serial().0),
                ttl: z.dynamic_ttl,
                ns,
            }
        })
        .collect()
}

async fn hosts_page(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(params): Query<HostsParams>,
) -> Response {
    let Some((session, principal)) = ctx.session() else {
        return see_other("/console/login");
    };
    let result = async {
        let parse = |text: &str| crate::api_v1::parse_name(text);
        let zone = Some(params.zone.trim())
            .filter(|z| !z.is_empty())
            .map(parse)
            .transpose()?;
        let after = params
            .after
            .as_deref()
            .filter(|a| !a.is_empty())
            .map(parse)
            .transpose()?;
        let contains = params.q.trim().to_ascii_lowercase();
        if contains.len() > 253 {
            return Err(ApiError::bad_request(
                "the search text is longer than a name",
            ));
        }
        let mut page = state
            .zones
            .search_hosts(&HostSearch {
                filter: host_filter(&principal.scope),
                zone,
                contains: Some(contains).filter(|c| !c.is_empty()),
                after: after.clone(),
                limit: HOSTS_PAGE + 1,
            })
            .await?;
        let more = page.len() > HOSTS_PAGE as usize;
        page.truncate(HOSTS_PAGE as usize);
        let names: Vec<&DomainName> = page.iter().map(|h| &h.name).collect();
        let mut last = state.zones.last_changes(&names).await?;
        let total = state.zones.host_count().await?;
        let next = more.then(|| page.last()).flatten().map(|h| {
            format!(
                "/console/?{}",
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("q", params.q.trim())
                    .append_pair("zone", params.zone.trim())
                    .append_pair("after", h.name.as_str())
                    .finish()
            )
        });
        let hosts = page
            .into_iter()
            .map(|h| {
                let change = last.remove(&h.name);
                (h, change)
            })
            .collect();
        Ok::<_, ApiError>((hosts, total, next, after.is_none()))
    }
    .await;
    match result {
        Ok((hosts, total, next, first)) => {
            let view = pages::HostsView {
                zones: zone_views(&state),
                total,
                search: params.q.trim(),
                zone: params.zone.trim(),
                hosts,
                next,
                first,
                error: None,
            };
            html(pages::hosts(&ctx.frame("nav.hosts"), session, &view))
        }
        Err(e) => ctx.fail(e),
    }
}

async fn host_page(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(name): Path<String>,
) -> Response {
    let Some((session, principal)) = ctx.session() else {
        return see_other("/console/login");
    };
    let result = async {
        let name = crate::api_v1::parse_name(&name)?;
        crate::api_v1::require_scope(principal, &name)?;
        let host = state.zones.host(&name).await?;
        let history = state.zones.history_of(&name, None, HISTORY_ROWS).await?;
        Ok::<_, ApiError>((name, host, history))
    }
    .await;
    match result {
        Ok((name, host, history)) => html(pages::host(
            &ctx.frame("nav.hosts"),
            session,
            name.as_str(),
            host.as_ref(),
            &history,
            None,
        )),
        Err(e) => ctx.fail(e),
    }
}

/// Values from a form field: one per line; A and AAAA values may also be separated by commas
/// or spaces.
fn values_of(rtype: Rtype, text: &str) -> Vec<String> {
    let address = rtype == Rtype::A || rtype == Rtype::AAAA;
    text.lines()
        .flat_map(|line| {
            if address {
                line.split([',', ' ', '\t'])
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            } else {
                vec![line.to_owned()]
            }
        })
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

fn ttl_of(text: &str) -> Result<Option<u32>, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| ApiError::bad_request(format!("TTL {text:?} is not a number of seconds")))
}

#[derive(Deserialize)]
struct RecordForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    rtype: String,
    #[serde(default)]
    values: String,
    #[serde(default)]
    ttl: String,
}

/// Writes one RRset (an empty value list removes it) through the REST API's write path.
async fn write_rrset(
    state: &AppState,
    ctx: &Ctx,
    name: &DomainName,
    form: &RecordForm,
) -> Result<(), ApiError> {
    let (_, principal) = ctx.session().ok_or_else(ApiError::unauthorized)?;
    let rtype = crate::api_v1::parse_rtype(form.rtype.trim())?;
    let values = values_of(rtype, &form.values);
    let intent = RrsetIntent {
        name: name.clone(),
        rtype,
        values: (!values.is_empty()).then_some(values),
        ttl: ttl_of(&form.ttl)?,
    };
    state
        .zones
        .update_rrsets(principal, &[intent], None, ctx.origin.clone())
        .await?;
    Ok(())
}

async fn create_host(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(form): Form<RecordForm>,
) -> Response {
    let result = async {
        let (_, principal) = ctx.session().ok_or_else(ApiError::unauthorized)?;
        let name = crate::api_v1::parse_name(form.name.trim())?;
        if form.values.trim().is_empty() {
            state.zones.create_host(principal, &name).await?;
        } else {
            write_rrset(&state, &ctx, &name, &form).await?;
        }
        Ok::<_, ApiError>(name)
    }
    .await;
    match result {
        Ok(name) => see_other(&format!("/console/hosts/{name}")),
        Err(e) => ctx.fail(e),
    }
}

async fn set_records(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(name): Path<String>,
    Form(form): Form<RecordForm>,
) -> Response {
    let result = async {
        let name = crate::api_v1::parse_name(&name)?;
        write_rrset(&state, &ctx, &name, &form).await?;
        Ok::<_, ApiError>(name)
    }
    .await;
    match result {
        Ok(name) => see_other(&format!("/console/hosts/{name}")),
        Err(e) => ctx.fail(e),
    }
}

#[derive(Deserialize)]
struct RollbackForm {
    to: i64,
}

async fn rollback(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(name): Path<String>,
    Form(form): Form<RollbackForm>,
) -> Response {
    let result = async {
        let (_, principal) = ctx.session().ok_or_else(ApiError::unauthorized)?;
        let name = crate::api_v1::parse_name(&name)?;
        state
            .zones
            .rollback_host(principal, &name, form.to, ctx.origin.clone())
            .await?;
        Ok::<_, ApiError>(name)
    }
    .await;
    match result {
        Ok(name) => see_other(&format!("/console/hosts/{name}")),
        Err(e) => ctx.fail(e),
    }
}

async fn delete_host(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(name): Path<String>,
) -> Response {
    let result = async {
        let (_, principal) = ctx.session().ok_or_else(ApiError::unauthorized)?;
        let name = crate::api_v1::parse_name(&name)?;
        state
            .zones
            .delete_host(principal, &name, None, ctx.origin.clone())
            .await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => see_other("/console/"),
        Err(e) => ctx.fail(e),
    }
}

// ---- tokens --------------------------------------------------------------------------------

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

async fn tokens_page(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    let Some((session, principal)) = ctx.session() else {
        return see_other("/console/login");
    };
    if let Err(e) = crate::api_v1::require_admin(principal) {
        return ctx.fail(e);
    }
    match state.zones.tokens().await {
        Ok(tokens) => html(pages::tokens(
            &ctx.frame("nav.tokens"),
            session,
            &tokens,
            unix_now(),
            None,
        )),
        Err(e) => ctx.fail(e.into()),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    hosts: String,
    admin: Option<String>,
    #[serde(default)]
    types: String,
    #[serde(default)]
    expires: String,
    read_only: Option<String>,
}

fn token_request(form: &TokenForm) -> Result<(Scope, Restrictions), ApiError> {
    let scope = if form.admin.is_some() {
        Scope::Admin
    } else {
        let entries: Vec<ScopeEntry> = form
            .hosts
            .lines()
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| {
                ScopeEntry::parse(h).map_err(|e| {
                    ApiError::new(StatusCode::BAD_REQUEST, "notfqdn", format!("{h:?}: {e}"))
                })
            })
            .collect::<Result<_, _>>()?;
        if entries.is_empty() {
            return Err(ApiError::bad_request(
                "a host token needs at least one name",
            ));
        }
        Scope::Hosts(entries)
    };
    let types = form
        .types
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(crate::api_v1::parse_rtype)
        .collect::<Result<_, _>>()?;
    let expires = form.expires.trim();
    let expires_at = (!expires.is_empty())
        .then(|| parse_moment(expires, unix_now()).map_err(ApiError::bad_request))
        .transpose()?;
    Ok((
        scope,
        Restrictions {
            types,
            subnets: Vec::new(),
            expires_at,
            read_only: form.read_only.is_some(),
        },
    ))
}

async fn create_token(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Form(form): Form<TokenForm>,
) -> Response {
    let result = async {
        let (_, principal) = ctx.session().ok_or_else(ApiError::unauthorized)?;
        crate::api_v1::require_admin(principal)?;
        let (scope, restrictions) = token_request(&form)?;
        let label = form.label.trim();
        if label.chars().count() > 100 {
            return Err(ApiError::bad_request(
                "the label is longer than 100 characters",
            ));
        }
        let token = state
            .zones
            .create_token(
                label,
                &scope,
                &restrictions,
                principal.actor(),
                ctx.origin.clone(),
            )
            .await?;
        let record = state
            .zones
            .token(&token.id)
            .await?
            .ok_or_else(|| ApiError::not_found("token vanished"))?;
        Ok::<_, ApiError>((token, record))
    }
    .await;
    match result {
        Ok((token, record)) => {
            let scheme = if ctx.secure { "https" } else { "http" };
            let base_url = format!("{scheme}://{}", ctx.host);
            let view = pages::CreatedToken {
                full: &token.full,
                record: &record,
                base_url: &base_url,
                host: &ctx.host,
            };
            html(pages::token_created(&ctx.frame("nav.tokens"), &view))
        }
        Err(e) => ctx.fail(e),
    }
}

async fn revoke_token(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let (_, principal) = ctx.session().ok_or_else(ApiError::unauthorized)?;
        crate::api_v1::require_admin(principal)?;
        state
            .zones
            .revoke_token(&id, principal.actor(), ctx.origin.clone())
            .await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => see_other("/console/tokens"),
        Err(e) => ctx.fail(e),
    }
}

// ---- audit and settings --------------------------------------------------------------------

#[derive(Deserialize)]
struct AuditParams {
    #[serde(default)]
    since: String,
    #[serde(default)]
    actor: String,
    after: Option<String>,
}

async fn audit_page(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(params): Query<AuditParams>,
) -> Response {
    let Some((_, principal)) = ctx.session() else {
        return see_other("/console/login");
    };
    let result = async {
        crate::api_v1::require_admin(principal)?;
        let since_text = params.since.trim();
        // Newest first would need a second index order; the default window is the last day.
        let since = if since_text.is_empty() {
            "1d"
        } else {
            since_text
        };
        let since = parse_since(since, SystemTime::now()).map_err(ApiError::bad_request)?;
        let after = params
            .after
            .as_deref()
            .map(|a| {
                AuditCursor::parse(a)
                    .ok_or_else(|| ApiError::bad_request("not a cursor this console gave out"))
            })
            .transpose()?;
        let actor = Some(params.actor.trim().to_owned()).filter(|a| !a.is_empty());
        let query = AuditQuery {
            since: Some(since),
            actor,
            after,
            limit: AUDIT_PAGE,
        };
        let entries = state.zones.audit(&query).await?;
        Ok::<_, ApiError>(entries)
    }
    .await;
    match result {
        Ok(entries) => {
            let next = (entries.len() == AUDIT_PAGE as usize)
                .then(|| entries.last())
                .flatten()
                .map(|e| {
                    format!(
                        "/console/audit?{}",
                        form_urlencoded::Serializer::new(String::new())
                            .append_pair("since", params.since.trim())
                            .append_pair("actor", params.actor.trim())
                            .append_pair("after", &e.cursor().to_string())
                            .finish()
                    )
                });
            let view = pages::AuditView {
                since: params.since.trim(),
                actor: params.actor.trim(),
                entries: &entries,
                next,
                error: None,
            };
            html(pages::audit(&ctx.frame("nav.audit"), &view))
        }
        Err(e) => ctx.fail(e),
    }
}

async fn settings_page(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    if ctx.session().is_none() {
        return see_other("/console/login");
    }
    let l = ctx.lang;
    let p = &state.policy;
    let proxies = if p.trusted_proxies.is_empty() {
        l.t("settings.none").to_owned()
    } else {
        p.trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let password = match state.zones.has_console_password().await {
        Ok(true) => l.t("settings.yes"),
        _ => l.t("settings.no"),
    };
    let rows = [
        ("settings.proxies", proxies),
        (
            "settings.perhost",
            p.updates_per_host_per_minute.to_string(),
        ),
        (
            "settings.pertoken",
            p.updates_per_token_per_minute.to_string(),
        ),
        ("settings.perip", p.requests_per_ip_per_minute.to_string()),
        (
            "settings.apiwrites",
            p.api_writes_per_token_per_minute.to_string(),
        ),
        (
            "settings.timeout",
            format!("{} s", p.request_timeout.as_secs()),
        ),
        ("settings.password", password.to_owned()),
    ];
    html(pages::settings(&ctx.frame("nav.settings"), &rows))
}
