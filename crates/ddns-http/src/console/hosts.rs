//! The zones and hosts list (keyset pages, search, zone filter), a host's page with its
//! history, and the host actions: create, set or remove a record set, roll back, remove.

use super::*;

#[derive(Deserialize, Default)]
pub(super) struct HostsParams {
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

pub(super) async fn hosts_page(
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

pub(super) async fn host_page(
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
pub(super) struct RecordForm {
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
        view: None,
    };
    state
        .zones
        .update_rrsets(principal, &[intent], None, ctx.origin.clone())
        .await?;
    Ok(())
}

pub(super) async fn create_host(
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

pub(super) async fn set_records(
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
pub(super) struct RollbackForm {
    to: i64,
}

pub(super) async fn rollback(
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

pub(super) async fn delete_host(
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
