//! The console's two languages: English and Simplified Chinese. The language is `?lang=` (kept
//! in a cookie from then on), else the cookie, else the best of `Accept-Language`. Every
//! string a page shows is a key of both tables; a test checks they have the same keys.

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;

use super::session::{LANG_COOKIE, cookie};

/// A console language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    Zh,
}

impl Lang {
    /// `en` or `zh` (also `zh-CN`, `zh-Hans`, any case); nothing else.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let primary = text.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Self::En),
            "zh" => Some(Self::Zh),
            _ => None,
        }
    }

    /// The code used in `?lang=`, cookies and `<html lang>`.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Zh => "zh-CN",
        }
    }

    /// The language a request asks for: the cookie, else `Accept-Language` by weight, else
    /// English.
    pub(crate) fn from_request(headers: &HeaderMap) -> Self {
        if let Some(lang) = cookie(headers, LANG_COOKIE).and_then(Self::parse) {
            return lang;
        }
        let Some(accept) = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
            return Self::En;
        };
        let mut best: Option<(u16, Self)> = None;
        for item in accept.split(',') {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Self::parse) else {
                continue;
            };
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .map_or(1000, |q| (q.clamp(0.0, 1.0) * 1000.0) as u16);
            if weight > 0 && best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, lang));
            }
        }
        best.map_or(Self::En, |(_, l)| l)
    }

    /// The text of `key` in this language (the key itself if a table lacks it, which the
    /// tests rule out for every key the pages use).
    pub(crate) fn t(self, key: &'static str) -> &'static str {
        let table = match self {
            Self::En => EN,
            Self::Zh => ZH,
        };
        table
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(key, |(_, v)| *v)
    }
}

pub(crate) const EN: &[(&str, &str)] = &[
    ("title", "ddns console"),
    ("nav.hosts", "Zones and hosts"),
    ("nav.tokens", "Tokens"),
    ("nav.audit", "Audit log"),
    ("nav.settings", "Settings"),
    ("nav.signout", "Sign out"),
    ("lang.switch", "中文"),
    ("signin.title", "Sign in"),
    ("signin.secret", "Admin password or admin token"),
    ("signin.submit", "Sign in"),
    ("signin.failed", "Wrong password or token."),
    (
        "signin.throttled",
        "Too many attempts from your address; try again in a minute.",
    ),
    (
        "signin.nopassword",
        "No admin password is set: sign in with an admin token, or set one with `ddns admin password`.",
    ),
    (
        "signin.notadmin",
        "This token is not an admin token with write access.",
    ),
    ("signin.expired", "The form expired; please try again."),
    ("zones.title", "Zones"),
    ("zones.name", "Zone"),
    ("zones.serial", "Serial"),
    ("zones.ttl", "Dynamic TTL"),
    ("zones.ns", "Name servers"),
    ("hosts.title", "Hosts"),
    ("hosts.count", "in total"),
    ("hosts.search", "Search names"),
    ("hosts.allzones", "All zones"),
    ("hosts.filter", "Filter"),
    ("hosts.name", "Name"),
    ("hosts.records", "Records"),
    ("hosts.ttl", "TTL"),
    ("hosts.lastchange", "Last change"),
    ("hosts.by", "By"),
    ("hosts.from", "From"),
    ("hosts.none", "No hosts match."),
    ("hosts.next", "Next page"),
    ("hosts.first", "First page"),
    ("hosts.add", "Add a host"),
    ("host.title", "Host"),
    ("host.records", "Records"),
    ("host.type", "Type"),
    ("host.values", "Values (one per line)"),
    ("host.value", "Value"),
    ("host.save", "Save"),
    ("host.remove", "Remove"),
    ("host.removehost", "Remove this host"),
    ("host.confirm", "Remove this host and all its records?"),
    ("host.setrecord", "Set a record set"),
    (
        "host.emptyremoves",
        "An empty value list removes the record set.",
    ),
    ("host.history", "History"),
    ("host.when", "When"),
    ("host.before", "Before"),
    ("host.after", "After"),
    ("host.rollback", "Roll back to here"),
    ("host.nohistory", "No changes recorded."),
    ("host.norecords", "No records."),
    ("host.create", "Create"),
    ("host.nohost", "No such host."),
    ("host.removed", "(removed)"),
    ("tokens.title", "Tokens"),
    ("tokens.id", "ID"),
    ("tokens.label", "Label"),
    ("tokens.scope", "Scope"),
    ("tokens.state", "State"),
    ("tokens.lastused", "Last used"),
    ("tokens.created", "Created"),
    ("tokens.never", "never"),
    ("tokens.revoke", "Revoke"),
    (
        "tokens.confirm",
        "Revoke this token? Clients using it stop working at once.",
    ),
    ("tokens.create", "Create a token"),
    ("tokens.hosts", "Names (one per line; *.name for a subtree)"),
    ("tokens.admin", "Admin token (manages everything)"),
    ("tokens.types", "Record types (comma-separated; empty: all)"),
    ("tokens.readonly", "Read-only"),
    (
        "tokens.expires",
        "Expires (90d, or an RFC 3339 time; empty: never)",
    ),
    ("tokens.created.title", "Token created"),
    (
        "tokens.shownonce",
        "Copy it now: it is shown only once and cannot be read back.",
    ),
    ("tokens.copy", "Copy"),
    ("tokens.snippets", "Ready-made settings"),
    ("tokens.router", "Router or curl (DynDNS2)"),
    ("tokens.ddclient", "ddclient.conf"),
    ("tokens.agent", "ddns agent (agent.toml)"),
    ("tokens.back", "Back to tokens"),
    ("state.active", "active"),
    ("state.revoked", "revoked"),
    ("state.expired", "expired"),
    ("state.readonly", "read-only"),
    ("audit.title", "Audit log"),
    ("audit.since", "Since (RFC 3339 or 90m, 7d)"),
    ("audit.actor", "Actor (token:ID, cli, console, …)"),
    ("audit.kind", "Kind"),
    ("audit.what", "What"),
    ("audit.change", "change"),
    ("audit.admin", "admin"),
    ("audit.none", "Nothing recorded in this range."),
    ("settings.title", "Settings (read-only)"),
    (
        "settings.hint",
        "These come from the server's configuration file; change them there and restart.",
    ),
    ("settings.key", "Setting"),
    ("settings.value", "Value"),
    ("settings.proxies", "Trusted proxies"),
    ("settings.perhost", "Updates per host per minute"),
    ("settings.pertoken", "Updates per token per minute"),
    ("settings.perip", "Requests per address per minute"),
    ("settings.apiwrites", "API writes per token per minute"),
    ("settings.timeout", "Request timeout"),
    ("settings.password", "Console admin password set"),
    ("settings.yes", "yes"),
    ("settings.no", "no"),
    ("settings.none", "none"),
    ("error.title", "That did not work"),
    ("error.back", "Go back"),
    (
        "error.csrf",
        "The form's security token is missing or wrong; reload the page and try again.",
    ),
];

pub(crate) const ZH: &[(&str, &str)] = &[
    ("title", "ddns 控制台"),
    ("nav.hosts", "区域与主机"),
    ("nav.tokens", "令牌"),
    ("nav.audit", "审计日志"),
    ("nav.settings", "设置"),
    ("nav.signout", "退出登录"),
    ("lang.switch", "English"),
    ("signin.title", "登录"),
    ("signin.secret", "管理员密码或管理员令牌"),
    ("signin.submit", "登录"),
    ("signin.failed", "密码或令牌错误。"),
    ("signin.throttled", "来自您地址的尝试过多，请一分钟后再试。"),
    (
        "signin.nopassword",
        "尚未设置管理员密码：请用管理员令牌登录，或用 `ddns admin password` 设置密码。",
    ),
    ("signin.notadmin", "此令牌不是具有写权限的管理员令牌。"),
    ("signin.expired", "表单已过期，请重试。"),
    ("zones.title", "区域"),
    ("zones.name", "区域"),
    ("zones.serial", "序列号"),
    ("zones.ttl", "动态 TTL"),
    ("zones.ns", "名称服务器"),
    ("hosts.title", "主机"),
    ("hosts.count", "个主机"),
    ("hosts.search", "搜索名称"),
    ("hosts.allzones", "全部区域"),
    ("hosts.filter", "筛选"),
    ("hosts.name", "名称"),
    ("hosts.records", "记录"),
    ("hosts.ttl", "TTL"),
    ("hosts.lastchange", "最近修改"),
    ("hosts.by", "操作者"),
    ("hosts.from", "来源"),
    ("hosts.none", "没有匹配的主机。"),
    ("hosts.next", "下一页"),
    ("hosts.first", "第一页"),
    ("hosts.add", "添加主机"),
    ("host.title", "主机"),
    ("host.records", "记录"),
    ("host.type", "类型"),
    ("host.values", "值（每行一个）"),
    ("host.value", "值"),
    ("host.save", "保存"),
    ("host.remove", "删除"),
    ("host.removehost", "删除此主机"),
    ("host.confirm", "删除此主机及其全部记录？"),
    ("host.setrecord", "设置记录集"),
    ("host.emptyremoves", "值为空即删除该记录集。"),
    ("host.history", "历史"),
    ("host.when", "时间"),
    ("host.before", "修改前"),
    ("host.after", "修改后"),
    ("host.rollback", "回滚到此处"),
    ("host.nohistory", "没有修改记录。"),
    ("host.norecords", "没有记录。"),
    ("host.create", "创建"),
    ("host.nohost", "没有这个主机。"),
    ("host.removed", "（已删除）"),
    ("tokens.title", "令牌"),
    ("tokens.id", "ID"),
    ("tokens.label", "标签"),
    ("tokens.scope", "范围"),
    ("tokens.state", "状态"),
    ("tokens.lastused", "最近使用"),
    ("tokens.created", "创建时间"),
    ("tokens.never", "从未"),
    ("tokens.revoke", "吊销"),
    ("tokens.confirm", "吊销此令牌？使用它的客户端将立即失效。"),
    ("tokens.create", "创建令牌"),
    ("tokens.hosts", "名称（每行一个；*.name 表示其下全部子域）"),
    ("tokens.admin", "管理员令牌（可管理一切）"),
    ("tokens.types", "记录类型（逗号分隔；留空为全部）"),
    ("tokens.readonly", "只读"),
    (
        "tokens.expires",
        "过期（如 90d，或 RFC 3339 时间；留空为永不）",
    ),
    ("tokens.created.title", "令牌已创建"),
    (
        "tokens.shownonce",
        "请立即复制：令牌只显示这一次，之后无法再读取。",
    ),
    ("tokens.copy", "复制"),
    ("tokens.snippets", "现成的配置"),
    ("tokens.router", "路由器或 curl（DynDNS2）"),
    ("tokens.ddclient", "ddclient.conf"),
    ("tokens.agent", "ddns agent（agent.toml）"),
    ("tokens.back", "返回令牌列表"),
    ("state.active", "有效"),
    ("state.revoked", "已吊销"),
    ("state.expired", "已过期"),
    ("state.readonly", "只读"),
    ("audit.title", "审计日志"),
    ("audit.since", "起始（RFC 3339 或 90m、7d）"),
    ("audit.actor", "操作者（token:ID、cli、console 等）"),
    ("audit.kind", "类别"),
    ("audit.what", "内容"),
    ("audit.change", "记录修改"),
    ("audit.admin", "管理操作"),
    ("audit.none", "此范围内没有记录。"),
    ("settings.title", "设置（只读）"),
    (
        "settings.hint",
        "这些来自服务器的配置文件；请在文件中修改后重启。",
    ),
    ("settings.key", "设置项"),
    ("settings.value", "值"),
    ("settings.proxies", "受信任的代理"),
    ("settings.perhost", "每主机每分钟更新数"),
    ("settings.pertoken", "每令牌每分钟更新数"),
    ("settings.perip", "每地址每分钟请求数"),
    ("settings.apiwrites", "每令牌每分钟 API 写入数"),
    ("settings.timeout", "请求超时"),
    ("settings.password", "已设置控制台管理员密码"),
    ("settings.yes", "是"),
    ("settings.no", "否"),
    ("settings.none", "无"),
    ("error.title", "操作未成功"),
    ("error.back", "返回"),
    ("error.csrf", "表单的安全令牌缺失或错误；请刷新页面后重试。"),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn both_tables_have_the_same_keys_once_each() {
        let en: BTreeSet<_> = EN.iter().map(|(k, _)| *k).collect();
        let zh: BTreeSet<_> = ZH.iter().map(|(k, _)| *k).collect();
        assert_eq!(en.len(), EN.len(), "a key twice in EN");
        assert_eq!(zh.len(), ZH.len(), "a key twice in ZH");
        assert_eq!(
            en.symmetric_difference(&zh).collect::<Vec<_>>(),
            Vec::<&&str>::new()
        );
        for (k, v) in EN.iter().chain(ZH) {
            assert!(!v.trim().is_empty(), "{k} is empty");
        }
    }

    #[test]
    fn the_pages_use_only_keys_the_tables_have() {
        // Every `t("…")`/`.t("…")` call in the console's sources names a key of both tables.
        for source in [
            include_str!("pages.rs"),
            include_str!("mod.rs"),
            include_str!("signin.rs"),
            include_str!("hosts.rs"),
            include_str!("tokens.rs"),
            include_str!("audit.rs"),
        ] {
            for part in source.split(".t(\"").skip(1) {
                let key = part.split('"').next().unwrap_or_default();
                assert!(EN.iter().any(|(k, _)| *k == key), "EN lacks {key}");
                assert!(ZH.iter().any(|(k, _)| *k == key), "ZH lacks {key}");
            }
        }
    }

    #[test]
    fn language_from_cookie_then_accept_language() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::from_request(&h), Lang::En);
        h.insert(
            ACCEPT_LANGUAGE,
            HeaderValue::from_static("de;q=1, zh-CN;q=0.8, en;q=0.5"),
        );
        assert_eq!(Lang::from_request(&h), Lang::Zh);
        h.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("en-GB,zh;q=0.9"));
        assert_eq!(Lang::from_request(&h), Lang::En);
        h.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_static("ddns_lang=zh-CN"),
        );
        assert_eq!(Lang::from_request(&h), Lang::Zh);
        assert_eq!(Lang::parse("ZH-hans"), Some(Lang::Zh));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::En.t("nav.tokens"), "Tokens");
        assert_eq!(Lang::Zh.t("nav.tokens"), "令牌");
    }
}
