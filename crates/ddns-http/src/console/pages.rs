//! The console's HTML, rendered on the server with maud (checked at compile time, every value
//! escaped): one layout and one function per page. Pages get plain data; nothing here reads the
//! store or knows a request.

use ddns_config::when::rfc3339;
use ddns_core::{RecordSet, Scope};
use ddns_zones::{AuditEntry, HistoryRow, HostRecord, TokenRecord};
use maud::{DOCTYPE, Markup, html};

use super::i18n::Lang;
use super::session::Session;

/// What the layout needs to know of the request.
pub(crate) struct Frame<'a> {
    pub(crate) lang: Lang,
    /// The signed-in session (its CSRF token goes into the sign-out form).
    pub(crate) session: Option<&'a Session>,
    /// The page's path and query without `lang`, for the language switch.
    pub(crate) here: String,
    /// Which navigation entry is current.
    pub(crate) nav: &'static str,
}

fn switch_href(here: &str, lang: Lang) -> String {
    let other = match lang {
        Lang::En => "zh",
        Lang::Zh => "en",
    };
    let sep = if here.contains('?') { '&' } else { '?' };
    format!("{here}{sep}lang={other}")
}

/// The hidden CSRF field of a form.
pub(crate) fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

pub(crate) fn layout(frame: &Frame<'_>, title: &str, body: Markup) -> Markup {
    let l = frame.lang;
    html! {
        (DOCTYPE)
        html lang=(l.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (l.t("title")) }
                link rel="stylesheet" href="/console/static/console.css";
                script src="/console/static/console.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/console/" { (l.t("title")) }
                    @if let Some(session) = frame.session {
                        nav {
                            @for (key, href) in [("nav.hosts", "/console/"), ("nav.tokens", "/console/tokens"), ("nav.audit", "/console/audit"), ("nav.settings", "/console/settings")] {
                                a.current[frame.nav == key] href=(href) { (l.t(key)) }
                            }
                        }
                        form.inline method="post" action="/console/logout" {
                            (csrf(session))
                            button.link type="submit" id="signout" { (l.t("nav.signout")) }
                        }
                    }
                    a.lang href=(switch_href(&frame.here, l)) id="lang-switch" { (l.t("lang.switch")) }
                }
                main { (body) }
            }
        }
    }
}

pub(crate) fn signin(
    frame: &Frame<'_>,
    login_token: &str,
    error: Option<&str>,
    has_password: bool,
) -> Markup {
    let l = frame.lang;
    layout(
        frame,
        l.t("signin.title"),
        html! {
            section.card.narrow {
                h1 { (l.t("signin.title")) }
                @if let Some(e) = error { p.error role="alert" { (e) } }
                @if !has_password { p.hint { (l.t("signin.nopassword")) } }
                form method="post" action="/console/login" {
                    input type="hidden" name="login" value=(login_token);
                    label for="secret" { (l.t("signin.secret")) }
                    input type="password" id="secret" name="secret" autocomplete="current-password" required autofocus;
                    button type="submit" id="signin" { (l.t("signin.submit")) }
                }
            }
        },
    )
}

fn records_cell(sets: &[RecordSet]) -> Markup {
    html! {
        @for set in sets {
            div.rr { span.rtype { (set.rtype().to_string()) } " " (set.values().join(", ")) }
        }
    }
}

fn set_text(set: Option<&RecordSet>, removed: &str) -> String {
    match set {
        Some(s) => format!("{} {}", s.ttl(), s.values().join(", ")),
        None => removed.to_owned(),
    }
}

/// The date and time of an RFC 3339 text, without fractions (`2026-12-04 03:12:09`).
fn when(text: &str) -> String {
    text.get(..19)
        .map_or_else(|| text.to_owned(), |t| t.replace('T', " "))
}

/// One zone of the list.
pub(crate) struct ZoneView {
    pub(crate) name: String,
    pub(crate) serial: Option<u32>,
    pub(crate) ttl: u32,
    pub(crate) ns: Vec<String>,
}

/// The hosts page.
pub(crate) struct HostsView<'a> {
    pub(crate) zones: Vec<ZoneView>,
    pub(crate) total: u64,
    pub(crate) search: &'a str,
    pub(crate) zone: &'a str,
    pub(crate) hosts: Vec<(HostRecord, Option<HistoryRow>)>,
    pub(crate) next: Option<String>,
    pub(crate) first: bool,
    pub(crate) error: Option<String>,
}

pub(crate) fn hosts(frame: &Frame<'_>, session: &Session, view: &HostsView<'_>) -> Markup {
    let l = frame.lang;
    layout(
        frame,
        l.t("nav.hosts"),
        html! {
            h1 { (l.t("zones.title")) }
            div.table-wrap { table {
                thead { tr { th { (l.t("zones.name")) } th { (l.t("zones.serial")) } th { (l.t("zones.ttl")) } th { (l.t("zones.ns")) } } }
                tbody { @for z in &view.zones { tr {
                    td { a href={ "/console/?zone=" (z.name) } { (z.name) } }
                    td { (z.serial.map(|s| s.to_string()).unwrap_or_default()) }
                    td { (z.ttl) }
                    td { (z.ns.join(", ")) }
                } } }
            } }
            h1 { (l.t("hosts.title")) " " small.muted { (view.total) " " (l.t("hosts.count")) } }
            @if let Some(e) = &view.error { p.error role="alert" { (e) } }
            form.filters method="get" action="/console/" {
                input type="search" name="q" value=(view.search) placeholder=(l.t("hosts.search")) aria-label=(l.t("hosts.search"));
                select name="zone" aria-label=(l.t("zones.name")) {
                    option value="" { (l.t("hosts.allzones")) }
                    @for z in &view.zones { option value=(z.name) selected[z.name == view.zone] { (z.name) } }
                }
                button type="submit" { (l.t("hosts.filter")) }
            }
            div.table-wrap { table id="hosts" {
                thead { tr {
                    th { (l.t("hosts.name")) } th { (l.t("hosts.records")) } th { (l.t("hosts.ttl")) }
                    th { (l.t("hosts.lastchange")) } th { (l.t("hosts.by")) } th { (l.t("hosts.from")) }
                } }
                tbody {
                    @for (host, last) in &view.hosts { tr {
                        td { a href={ "/console/hosts/" (host.name) } { (host.name) } }
                        td { (records_cell(&host.rrsets)) }
                        td { (host.rrsets.first().map(|s| s.ttl().to_string()).unwrap_or_default()) }
                        td { (when(last.as_ref().map_or(host.updated_at.as_str(), |r| r.at.as_str()))) }
                        td { (last.as_ref().map(|r| r.actor.as_str()).unwrap_or("")) }
                        td { (last.as_ref().and_then(|r| r.source_ip).map(|ip| ip.to_string()).unwrap_or_default()) }
                    } }
                    @if view.hosts.is_empty() { tr { td colspan="6" { (l.t("hosts.none")) } } }
                }
            } }
            nav.pager {
                @if !view.first { a href={ "/console/?q=" (view.search) "&zone=" (view.zone) } { (l.t("hosts.first")) } }
                @if let Some(next) = &view.next { a id="next" href=(next) { (l.t("hosts.next")) } }
            }
            section.card {
                h2 { (l.t("hosts.add")) }
                form.grid method="post" action="/console/hosts" {
                    (csrf(session))
                    label { (l.t("hosts.name")) input type="text" name="name" id="new-host" required placeholder="home.dyn.example.com"; }
                    label { (l.t("host.type")) input type="text" name="rtype" value="A" size="6"; }
                    label { (l.t("host.value")) input type="text" name="values" id="new-value" placeholder="192.0.2.1"; }
                    label { (l.t("hosts.ttl")) input type="number" name="ttl" min="0" max="604800" placeholder="60"; }
                    button type="submit" id="create-host" { (l.t("host.create")) }
                }
            }
        },
    )
}

pub(crate) fn host(
    frame: &Frame<'_>,
    session: &Session,
    name: &str,
    host: Option<&HostRecord>,
    history: &[HistoryRow],
    error: Option<&str>,
) -> Markup {
    let l = frame.lang;
    let base = format!("/console/hosts/{name}");
    layout(
        frame,
        name,
        html! {
            h1 { (l.t("host.title")) " " code { (name) } }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            @if host.is_none() { p.hint { (l.t("host.nohost")) } }
            h2 { (l.t("host.records")) }
            div.table-wrap { table id="records" {
                thead { tr { th { (l.t("host.type")) } th { (l.t("hosts.ttl")) } th { (l.t("host.values")) } th {} } }
                tbody {
                    @for set in host.map(|h| h.rrsets.as_slice()).unwrap_or_default() { tr {
                        td.rtype { (set.rtype().to_string()) }
                        td { (set.ttl()) }
                        td { (set.values().join(", ")) }
                        td { form.inline method="post" action={ (base) "/records" } {
                            (csrf(session))
                            input type="hidden" name="rtype" value=(set.rtype().to_string());
                            input type="hidden" name="values" value="";
                            button.danger.small type="submit" { (l.t("host.remove")) }
                        } }
                    } }
                    @if host.is_none_or(|h| h.rrsets.is_empty()) { tr { td colspan="4" { (l.t("host.norecords")) } } }
                }
            } }
            section.card {
                h2 { (l.t("host.setrecord")) }
                p.hint { (l.t("host.emptyremoves")) }
                form.grid method="post" action={ (base) "/records" } {
                    (csrf(session))
                    label { (l.t("host.type")) input type="text" name="rtype" value="A" size="6" required; }
                    label { (l.t("host.values")) textarea name="values" id="edit-values" rows="2" {} }
                    label { (l.t("hosts.ttl")) input type="number" name="ttl" min="0" max="604800"; }
                    button type="submit" id="save-record" { (l.t("host.save")) }
                }
            }
            h2 { (l.t("host.history")) }
            div.table-wrap { table id="history" {
                thead { tr {
                    th { "#" } th { (l.t("host.when")) } th { (l.t("host.type")) } th { (l.t("host.before")) }
                    th { (l.t("host.after")) } th { (l.t("hosts.by")) } th { (l.t("hosts.from")) } th {}
                } }
                tbody {
                    @for row in history { tr {
                        td { (row.id) }
                        td { (when(&row.at)) }
                        td.rtype { (row.rtype.to_string()) }
                        td { (set_text(row.old.as_ref(), l.t("host.removed"))) }
                        td.new { (row.note.clone().unwrap_or_else(|| set_text(row.new.as_ref(), l.t("host.removed")))) }
                        td { (row.actor) }
                        td { (row.source_ip.map(|ip| ip.to_string()).unwrap_or_default()) }
                        td { form.inline method="post" action={ (base) "/rollback" } {
                            (csrf(session))
                            input type="hidden" name="to" value=(row.id);
                            button.small type="submit" data-rollback=(row.id) { (l.t("host.rollback")) }
                        } }
                    } }
                    @if history.is_empty() { tr { td colspan="8" { (l.t("host.nohistory")) } } }
                }
            } }
            @if host.is_some() {
                form.danger-zone method="post" action={ (base) "/delete" } data-confirm=(l.t("host.confirm")) {
                    (csrf(session))
                    button.danger type="submit" { (l.t("host.removehost")) }
                }
            }
        },
    )
}

fn scope_text(scope: &Scope) -> String {
    match scope {
        Scope::Admin => "admin".to_owned(),
        Scope::Hosts(entries) => entries
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn token_state(t: &TokenRecord, now: i64) -> &'static str {
    if t.revoked_at.is_some() {
        "state.revoked"
    } else if t.restrictions.expires_at.is_some_and(|at| at <= now) {
        "state.expired"
    } else if t.restrictions.read_only {
        "state.readonly"
    } else {
        "state.active"
    }
}

pub(crate) fn tokens(
    frame: &Frame<'_>,
    session: &Session,
    tokens: &[TokenRecord],
    now: i64,
    error: Option<&str>,
) -> Markup {
    let l = frame.lang;
    layout(
        frame,
        l.t("tokens.title"),
        html! {
            h1 { (l.t("tokens.title")) }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            div.table-wrap { table id="tokens" {
                thead { tr {
                    th { (l.t("tokens.id")) } th { (l.t("tokens.label")) } th { (l.t("tokens.scope")) } th { (l.t("tokens.state")) }
                    th { (l.t("tokens.created")) } th { (l.t("tokens.lastused")) } th {}
                } }
                tbody { @for t in tokens { @let state = token_state(t, now); tr {
                    td { code { (t.id) } }
                    td { (t.label) }
                    td { (scope_text(&t.scope)) @if !t.restrictions.types.is_empty() { " [" (t.restrictions.types_text()) "]" } }
                    td { span class={ "badge " (state.trim_start_matches("state.")) } { (l.t(state)) } }
                    td { (when(&t.created_at)) }
                    td { (t.last_used_at.map_or_else(|| l.t("tokens.never").to_owned(), |at| when(&rfc3339(at)))) }
                    td { @if t.revoked_at.is_none() {
                        form.inline method="post" action={ "/console/tokens/" (t.id) "/revoke" } data-confirm=(l.t("tokens.confirm")) {
                            (csrf(session))
                            button.danger.small type="submit" { (l.t("tokens.revoke")) }
                        }
                    } }
                } } }
            } }
            section.card {
                h2 { (l.t("tokens.create")) }
                form.stack method="post" action="/console/tokens" {
                    (csrf(session))
                    label { (l.t("tokens.label")) input type="text" name="label" id="token-label" maxlength="100"; }
                    label { (l.t("tokens.hosts")) textarea name="hosts" id="token-hosts" rows="2" {} }
                    label.check { input type="checkbox" name="admin" value="on"; (l.t("tokens.admin")) }
                    label { (l.t("tokens.types")) input type="text" name="types" placeholder="A,AAAA"; }
                    label { (l.t("tokens.expires")) input type="text" name="expires" placeholder="90d"; }
                    label.check { input type="checkbox" name="read_only" value="on"; (l.t("tokens.readonly")) }
                    button type="submit" id="create-token" { (l.t("tokens.create")) }
                }
            }
        },
    )
}

/// What the page of a new token shows.
pub(crate) struct CreatedToken<'a> {
    pub(crate) full: &'a str,
    pub(crate) record: &'a TokenRecord,
    /// `https://host` or `http://host:port`, as the browser reached us.
    pub(crate) base_url: &'a str,
    pub(crate) host: &'a str,
}

pub(crate) fn token_created(frame: &Frame<'_>, view: &CreatedToken<'_>) -> Markup {
    let l = frame.lang;
    let name = match &view.record.scope {
        Scope::Hosts(entries) => entries
            .iter()
            .find_map(|e| e.exact_name().map(|n| n.to_string()))
            .unwrap_or_else(|| "home.example.com".to_owned()),
        Scope::Admin => "home.example.com".to_owned(),
    };
    let full = view.full;
    let router = format!(
        "{base}/nic/update?hostname={name}&myip=<IP>\n\ncurl -u '{name}:{full}' '{base}/nic/update?hostname={name}'",
        base = view.base_url
    );
    let tls = view.base_url.starts_with("https://");
    let ddclient = format!(
        "protocol=dyndns2\nserver={}\nssl={}\nlogin={name}\npassword='{full}'\n{name}",
        view.host,
        if tls { "yes" } else { "no" },
    );
    let agent = format!(
        "[providers.home]\ntype = \"ddns\"\nurl = \"{}\"\ntoken = \"{full}\"\n\n[[record]]\nname = \"{name}\"\nprovider = \"home\"\nfamilies = [\"ipv4\", \"ipv6\"]",
        view.base_url
    );
    layout(
        frame,
        l.t("tokens.created.title"),
        html! {
            h1 { (l.t("tokens.created.title")) }
            p.warn { (l.t("tokens.shownonce")) }
            div.secret {
                code id="new-token" { (full) }
                button type="button" data-copy="new-token" { (l.t("tokens.copy")) }
            }
            h2 { (l.t("tokens.snippets")) }
            @for (id, title, text) in [("snippet-router", l.t("tokens.router"), router), ("snippet-ddclient", l.t("tokens.ddclient"), ddclient), ("snippet-agent", l.t("tokens.agent"), agent)] {
                section.card {
                    h3 { (title) " " button.small type="button" data-copy=(id) { (l.t("tokens.copy")) } }
                    pre id=(id) { (text) }
                }
            }
            p { a href="/console/tokens" { (l.t("tokens.back")) } }
        },
    )
}

/// The audit page.
pub(crate) struct AuditView<'a> {
    pub(crate) since: &'a str,
    pub(crate) actor: &'a str,
    pub(crate) entries: &'a [AuditEntry],
    pub(crate) next: Option<String>,
    pub(crate) error: Option<String>,
}

pub(crate) fn audit(frame: &Frame<'_>, view: &AuditView<'_>) -> Markup {
    let l = frame.lang;
    layout(
        frame,
        l.t("audit.title"),
        html! {
            h1 { (l.t("audit.title")) }
            @if let Some(e) = &view.error { p.error role="alert" { (e) } }
            form.filters method="get" action="/console/audit" {
                input type="text" name="since" value=(view.since) placeholder=(l.t("audit.since")) aria-label=(l.t("audit.since"));
                input type="text" name="actor" value=(view.actor) placeholder=(l.t("audit.actor")) aria-label=(l.t("audit.actor"));
                button type="submit" { (l.t("hosts.filter")) }
            }
            div.table-wrap { table id="audit" {
                thead { tr { th { (l.t("host.when")) } th { (l.t("audit.kind")) } th { (l.t("hosts.by")) } th { (l.t("audit.what")) } th { (l.t("hosts.from")) } } }
                tbody {
                    @for entry in view.entries { tr {
                        @match entry {
                            AuditEntry::Change(row) => {
                                td { (when(&row.at)) }
                                td { span.badge { (l.t("audit.change")) } }
                                td { (row.actor) }
                                td { a href={ "/console/hosts/" (row.name) } { (row.name) } " " span.rtype { (row.rtype.to_string()) } " "
                                     (set_text(row.old.as_ref(), "∅")) " → " (row.note.clone().unwrap_or_else(|| set_text(row.new.as_ref(), "∅"))) }
                                td { (row.source_ip.map(|ip| ip.to_string()).unwrap_or_default()) }
                            }
                            AuditEntry::Admin(row) => {
                                td { (when(&row.at)) }
                                td { span.badge.admin { (l.t("audit.admin")) } }
                                td { (row.actor) }
                                td { code { (row.action) } " " (row.target) @if let Some(d) = &row.detail { " (" (d) ")" } }
                                td { (row.source_ip.map(|ip| ip.to_string()).unwrap_or_default()) }
                            }
                        }
                    } }
                    @if view.entries.is_empty() { tr { td colspan="5" { (l.t("audit.none")) } } }
                }
            } }
            nav.pager { @if let Some(next) = &view.next { a href=(next) { (l.t("hosts.next")) } } }
        },
    )
}

pub(crate) fn settings(frame: &Frame<'_>, rows: &[(&'static str, String)]) -> Markup {
    let l = frame.lang;
    layout(
        frame,
        l.t("settings.title"),
        html! {
            h1 { (l.t("settings.title")) }
            p.hint { (l.t("settings.hint")) }
            div.table-wrap { table id="settings" {
                thead { tr { th { (l.t("settings.key")) } th { (l.t("settings.value")) } } }
                tbody { @for (key, value) in rows { tr { td { (l.t(key)) } td { code { (value) } } } } }
            } }
        },
    )
}

pub(crate) fn error(frame: &Frame<'_>, message: &str) -> Markup {
    let l = frame.lang;
    layout(
        frame,
        l.t("error.title"),
        html! {
            section.card.narrow {
                h1 { (l.t("error.title")) }
                p.error role="alert" { (message) }
                p { a href="/console/" { (l.t("error.back")) } }
            }
        },
    )
}
