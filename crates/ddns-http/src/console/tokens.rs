//! The tokens page: list, create (shown once, with ready-made client settings), revoke.

use super::*;

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

pub(super) async fn tokens_page(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
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
pub(super) struct TokenForm {
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

pub(super) async fn create_token(
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

pub(super) async fn revoke_token(
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
