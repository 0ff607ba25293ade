//! The audit log (time and actor filters, keyset pages) and the read-only settings.

use super::*;

#[derive(Deserialize)]
pub(super) struct AuditParams {
    #[serde(default)]
    since: String,
    #[serde(default)]
    actor: String,
    after: Option<String>,
}

pub(super) async fn audit_page(
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

pub(super) async fn settings_page(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
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
