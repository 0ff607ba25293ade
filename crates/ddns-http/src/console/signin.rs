//! Signing in (the admin password or an admin token that may write; login CSRF by a
//! double-submit cookie; attempts limited per address and slowed down after failures) and out.

use super::*;

pub(super) async fn login_page(
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
pub(super) struct LoginForm {
    #[serde(default)]
    secret: String,
    #[serde(default)]
    login: String,
}

pub(super) async fn login(
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

pub(super) async fn logout(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    if let Some(s) = &ctx.session {
        state.console.sessions.end(&s.id);
    }
    let mut response = see_other("/console/login");
    if let Ok(v) = HeaderValue::from_str(&set_cookie(SESSION_COOKIE, "", ctx.secure, Some(0))) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}
