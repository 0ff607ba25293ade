//! What `ddns smb check` concludes, as pure functions: the target as written (`\\host\share`,
//! `//host/share`, `host`), the result of each step, the verdict (the first step that failed,
//! its diagnosis code and exit code) and the advice and client command lines, in English or
//! Simplified Chinese. No I/O here: `smb_check.rs` runs the steps and prints.

use std::fmt::Write as _;
use std::net::IpAddr;

use ddns_platform::Language;

/// The target of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// The host as written (a name, or an address; IPv6 without brackets).
    pub(crate) host: String,
    /// The share, when one was named.
    pub(crate) share: Option<String>,
}

impl Target {
    /// Parses `\\host\share`, `//host/share` or `host` (`[v6]` brackets allowed).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let bad =
            |why: &str| format!("{text:?}: {why} (write \\\\host\\share, //host/share or host)");
        let rest = text
            .strip_prefix("\\\\")
            .or_else(|| text.strip_prefix("//"));
        let (host, share) = match rest {
            Some(rest) => {
                let mut parts = rest.split(['\\', '/']);
                let host = parts.next().unwrap_or("");
                let share = parts.next().filter(|s| !s.is_empty());
                if parts.any(|p| !p.is_empty()) {
                    return Err(bad("a path below the share is not checked"));
                }
                (host, share)
            }
            None if text.contains(['\\', '/']) => return Err(bad("not a host or a share")),
            None => (text, None),
        };
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if host.parse::<IpAddr>().is_err()
            && !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        {
            return Err(bad("the host is neither a name nor an address"));
        }
        if let Some(s) = share
            && s.chars().any(|c| c.is_control() || "\"*:<>?|".contains(c))
        {
            return Err(bad("the share name has a character shares cannot have"));
        }
        Ok(Self {
            host: host.to_owned(),
            share: share.map(str::to_owned),
        })
    }

    /// The host in a UNC path or URL: IPv6 literals in brackets.
    fn host_in_path(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    /// `\\host\share` (what TREE_CONNECT carries and `net use` takes).
    pub(crate) fn unc(&self) -> String {
        match &self.share {
            Some(s) => format!("\\\\{}\\{s}", self.host),
            None => format!("\\\\{}", self.host),
        }
    }

    /// `//host/share` (what mount.cifs and smbclient take).
    pub(crate) fn slashed(&self) -> String {
        format!(
            "//{}/{}",
            self.host_in_path(),
            self.share.as_deref().unwrap_or("SHARE")
        )
    }
}

/// The steps, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Resolve,
    Compare,
    Connect,
    Negotiate,
    Session,
    TreeConnect,
}

impl Step {
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Resolve => "resolve",
            Self::Compare => "compare",
            Self::Connect => "connect",
            Self::Negotiate => "negotiate",
            Self::Session => "session_setup",
            Self::TreeConnect => "tree_connect",
        }
    }

    fn label(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Self::Resolve, Language::English) => "resolve",
            (Self::Compare, Language::English) => "compare",
            (Self::Connect, Language::English) => "connect",
            (Self::Negotiate, Language::English) => "negotiate",
            (Self::Session, Language::English) => "log on",
            (Self::TreeConnect, Language::English) => "share",
            (Self::Resolve, Language::Chinese) => "解析域名",
            (Self::Compare, Language::Chinese) => "核对地址",
            (Self::Connect, Language::Chinese) => "TCP 连接",
            (Self::Negotiate, Language::Chinese) => "SMB 协商",
            (Self::Session, Language::Chinese) => "登录",
            (Self::TreeConnect, Language::Chinese) => "连接共享",
        }
    }
}

/// Why a step failed (or that it passed): the diagnosis code scripts read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Code {
    Ok,
    NameNotFound,
    DnsError,
    ExpectedUnknown,
    NamePointsElsewhere,
    NoRoute,
    PortClosed,
    PortFiltered,
    ConnectError,
    NotSmb,
    Smb1Only,
    AccessDenied,
    NoSuchShare,
    ShareAccessDenied,
    SmbError,
}

impl Code {
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::NameNotFound => "name_not_found",
            Self::DnsError => "dns_error",
            Self::ExpectedUnknown => "expected_unknown",
            Self::NamePointsElsewhere => "name_points_elsewhere",
            Self::NoRoute => "no_route",
            Self::PortClosed => "port_closed",
            Self::PortFiltered => "port_filtered",
            Self::ConnectError => "connect_error",
            Self::NotSmb => "not_smb",
            Self::Smb1Only => "smb1_only",
            Self::AccessDenied => "access_denied",
            Self::NoSuchShare => "no_such_share",
            Self::ShareAccessDenied => "share_access_denied",
            Self::SmbError => "smb_error",
        }
    }

    /// The exit code (README: "Exit codes of `ddns smb check`"); 1 is a usage or local
    /// error (an unreadable password file), 2 a command-line error (clap).
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::NameNotFound => 10,
            Self::DnsError => 11,
            Self::ExpectedUnknown => 12,
            Self::NamePointsElsewhere => 13,
            Self::NoRoute => 20,
            Self::PortClosed => 21,
            Self::PortFiltered => 22,
            Self::ConnectError => 23,
            Self::NotSmb => 30,
            Self::Smb1Only => 31,
            Self::AccessDenied => 40,
            Self::NoSuchShare => 41,
            Self::ShareAccessDenied => 42,
            Self::SmbError => 43,
        }
    }
}

/// How a step ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Ok,
    Failed(Code),
    /// Not run: an earlier step failed, or it does not apply (no credentials, no share, an
    /// address instead of a name, nothing to compare with).
    Skipped,
}

/// One step's result with its detail (technical, in English: addresses, statuses, errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StepResult {
    pub(crate) step: Step,
    pub(crate) status: Status,
    pub(crate) detail: String,
}

/// What was checked, for the advice and command lines.
#[derive(Clone, Debug)]
pub(crate) struct Context {
    pub(crate) target: Target,
    pub(crate) port: u16,
    pub(crate) user: Option<String>,
    /// The addresses the name resolved to.
    pub(crate) resolved: Vec<IpAddr>,
    /// The addresses expected (`--expect`, the agent's detection).
    pub(crate) expected: Vec<IpAddr>,
}

/// The conclusion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) code: Code,
    /// The first step that failed.
    pub(crate) step: Option<Step>,
    pub(crate) summary: String,
    pub(crate) advice: Vec<String>,
    /// Client command lines that reach the share as checked.
    pub(crate) commands: Vec<String>,
    /// What a non-445 port means for clients.
    pub(crate) port_note: Vec<String>,
}

/// The verdict on `steps`: the first failure decides.
pub(crate) fn diagnose(steps: &[StepResult], ctx: &Context, lang: Language) -> Verdict {
    let failed = steps.iter().find_map(|s| match s.status {
        Status::Failed(code) => Some((s.step, code)),
        _ => None,
    });
    let (step, code) = match failed {
        Some((step, code)) => (Some(step), code),
        None => (None, Code::Ok),
    };
    let authenticated = steps
        .iter()
        .any(|s| s.step == Step::TreeConnect && s.status == Status::Ok);
    let (summary, advice) = words(code, ctx, authenticated, lang);
    Verdict {
        code,
        step,
        summary,
        advice,
        commands: commands(ctx),
        port_note: port_note(ctx.port, lang),
    }
}

fn join(addrs: &[IpAddr]) -> String {
    if addrs.is_empty() {
        return "-".into();
    }
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn words(code: Code, ctx: &Context, authenticated: bool, lang: Language) -> (String, Vec<String>) {
    let host = &ctx.target.host;
    let port = ctx.port;
    let got = join(&ctx.resolved);
    let want = join(&ctx.expected);
    let zh = lang == Language::Chinese;
    let s = |en: String, cn: String| if zh { cn } else { en };
    let v = |items: Vec<(String, String)>| -> Vec<String> {
        items
            .into_iter()
            .map(|(en, cn)| if zh { cn } else { en })
            .collect()
    };
    match code {
        Code::Ok => (
            if authenticated {
                s(
                    format!("Everything works: {host} answers SMB on port {port} and lets the user in to the share."),
                    format!("一切正常：{host} 在端口 {port} 上提供 SMB 服务，用户可以进入共享。"),
                )
            } else {
                s(
                    format!("{host} answers SMB on port {port}."),
                    format!("{host} 在端口 {port} 上提供 SMB 服务。"),
                )
            },
            if authenticated {
                Vec::new()
            } else {
                v(vec![(
                    "Give --user and --password-file (and a share in the target) to check logging on and the share too.".into(),
                    "加上 --user 和 --password-file（并在目标中写出共享名），即可同时检查登录和共享。".into(),
                )])
            },
        ),
        Code::NameNotFound => (
            s(
                format!("The name {host} does not exist in DNS (or has no address)."),
                format!("DNS 中没有 {host} 这个名字（或它没有地址）。"),
            ),
            v(vec![
                ("Check the spelling, and that the agent has published the record (`ddns agent --once`).".into(),
                 "检查拼写，并确认 agent 已发布该记录（`ddns agent --once`）。".into()),
                ("A record published moments ago may still be cached as missing by resolvers: wait for the zone's negative TTL.".into(),
                 "刚发布的记录可能仍被解析器缓存为不存在：请等待区域的否定缓存 TTL 过去。".into()),
            ]),
        ),
        Code::DnsError => (
            s(
                format!("The DNS server could not be asked about {host}."),
                format!("无法向 DNS 服务器查询 {host}。"),
            ),
            v(vec![(
                "Check the server given with --dns (address and port) and that it serves the zone.".into(),
                "检查 --dns 指定的服务器（地址和端口），以及它是否提供该区域。".into(),
            )]),
        ),
        Code::ExpectedUnknown => (
            s(
                "The address the agent would publish could not be detected.".into(),
                "无法检测出 agent 将要发布的地址。".into(),
            ),
            v(vec![(
                "Run `ddns ip --config FILE` to see what each detection source answers.".into(),
                "运行 `ddns ip --config FILE` 查看每个检测来源的回答。".into(),
            )]),
        ),
        Code::NamePointsElsewhere => (
            s(
                format!("{host} points to {got}, not to the expected {want}."),
                format!("{host} 指向 {got}，而不是预期的 {want}。"),
            ),
            v(vec![
                ("The agent may not have updated the record yet, or it updates another name or provider: run `ddns agent --once` and look at its log.".into(),
                 "agent 可能尚未更新记录，或更新的是别的名字或服务商：运行 `ddns agent --once` 并查看日志。".into()),
                ("Resolvers may still hold the old address until the record's TTL runs out.".into(),
                 "在记录的 TTL 到期之前，解析器可能仍缓存着旧地址。".into()),
            ]),
        ),
        Code::NoRoute => (
            s(
                format!("There is no route to {got}: the network or host is unreachable from here."),
                format!("没有到 {got} 的路由：从这里无法到达该网络或主机。"),
            ),
            v(vec![
                ("Check this machine's network connection, and that the address is a public one (a private address works only inside its own network).".into(),
                 "检查本机的网络连接，并确认该地址是公网地址（私有地址只能在其内网使用）。".into()),
                ("An IPv6 address needs IPv6 on both ends.".into(),
                 "IPv6 地址需要两端都支持 IPv6。".into()),
            ]),
        ),
        Code::PortClosed => (
            s(
                format!("Port {port} on {got} is closed: the host answered, but nothing listens there (connection refused)."),
                format!("{got} 的端口 {port} 是关闭的：主机有回应，但没有程序在监听（连接被拒绝）。"),
            ),
            v(vec![
                ("Start the file server (Windows: the \"Server\" service and File and Printer Sharing; Linux: smbd).".into(),
                 "启动文件服务（Windows：“Server”服务和“文件和打印机共享”；Linux：smbd）。".into()),
                (format!("If the address is the router's, forward TCP {port} on the router to the file server."),
                 format!("如果该地址是路由器的，请在路由器上把 TCP {port} 转发到文件服务器。")),
            ]),
        ),
        Code::PortFiltered => (
            s(
                format!("Port {port} on {got} is filtered: no answer at all before the timeout."),
                format!("{got} 的端口 {port} 被过滤：超时之前没有任何回应。"),
            ),
            v(vec![
                ("A firewall drops the connection: allow TCP {port} in (Windows Defender Firewall: \"File and Printer Sharing (SMB-In)\")".replace("{port}", &port.to_string()),
                 format!("防火墙丢弃了连接：放行入站 TCP {port}（Windows Defender 防火墙：“文件和打印机共享(SMB-In)”）。")),
                (format!("Or the router does not forward TCP {port} to the file server: add a port forwarding rule."),
                 format!("或者路由器没有把 TCP {port} 转发到文件服务器：请添加端口转发规则。")),
                ("Many ISPs block port 445: forward another port (e.g. 4445) to the server's 445 and use the commands below with that port, or use a VPN or SMB over QUIC.".into(),
                 "许多运营商封锁 445 端口：把另一个端口（如 4445）转发到服务器的 445，并用下面带该端口的命令连接，或改用 VPN 或 SMB over QUIC。".into()),
            ]),
        ),
        Code::ConnectError => (
            s(
                format!("The connection to {got} port {port} failed."),
                format!("连接 {got} 的端口 {port} 失败。"),
            ),
            v(vec![("See the detail of the connect step.".into(), "请查看 TCP 连接步骤的详细信息。".into())]),
        ),
        Code::NotSmb => (
            s(
                format!("Something answers on port {port}, but it is not an SMB server."),
                format!("端口 {port} 上有程序在应答，但它不是 SMB 服务器。"),
            ),
            v(vec![
                (format!("The router may forward {port} to the wrong machine or port, or another program uses it."),
                 format!("路由器可能把 {port} 转发到了错误的机器或端口，或者另有程序占用了它。")),
                ("A file server that closes at once may be refusing this client (hosts allow, minimum protocol).".into(),
                 "如果文件服务器立即断开，可能是它拒绝了本客户端（hosts allow、最低协议版本）。".into()),
            ]),
        ),
        Code::Smb1Only => (
            s(
                "The server speaks only SMB1, which current Windows and Linux clients refuse.".into(),
                "该服务器只支持 SMB1，当前的 Windows 和 Linux 客户端都会拒绝。".into(),
            ),
            v(vec![(
                "Upgrade or reconfigure the server for SMB2 or later (Samba: server min protocol = SMB2_02).".into(),
                "升级或重新配置服务器以支持 SMB2 及以上（Samba：server min protocol = SMB2_02）。".into(),
            )]),
        ),
        Code::AccessDenied => (
            s(
                "The server refused the logon: wrong user name or password (or the account is disabled or locked).".into(),
                "服务器拒绝登录：用户名或密码错误（或账户被禁用、锁定）。".into(),
            ),
            v(vec![
                ("Check the user and password; a Windows account needs a password to log on over the network. Samba users are added with `smbpasswd -a USER`.".into(),
                 "检查用户名和密码；Windows 账户通过网络登录必须设置密码。Samba 用户用 `smbpasswd -a 用户名` 添加。".into()),
                ("A domain account is written DOMAIN\\user.".into(), "域账户写作 域名\\用户名。".into()),
            ]),
        ),
        Code::NoSuchShare => (
            s(
                format!("The server has no share named {}.", ctx.target.share.as_deref().unwrap_or("")),
                format!("服务器上没有名为 {} 的共享。", ctx.target.share.as_deref().unwrap_or("")),
            ),
            v(vec![(
                "List the shares with `smbclient -L //HOST -U USER` (or `net share` on the server) and check the name.".into(),
                "用 `smbclient -L //主机 -U 用户名`（或在服务器上运行 `net share`）列出共享并核对名字。".into(),
            )]),
        ),
        Code::ShareAccessDenied => (
            s(
                "The user logged on, but may not use this share.".into(),
                "用户已登录，但无权使用这个共享。".into(),
            ),
            v(vec![(
                "Grant the user access in the share's permissions (Samba: valid users; Windows: the share's Permissions).".into(),
                "在共享权限中授予该用户访问权（Samba：valid users；Windows：共享的“权限”）。".into(),
            )]),
        ),
        Code::SmbError => (
            s(
                "The SMB server answered with an error.".into(),
                "SMB 服务器返回了错误。".into(),
            ),
            v(vec![("See the detail of the failing step.".into(), "请查看失败步骤的详细信息。".into())]),
        ),
    }
}

/// `net use`, `mount -t cifs` and `smbclient` lines for the target, port and user.
pub(crate) fn commands(ctx: &Context) -> Vec<String> {
    let t = &ctx.target;
    let port = ctx.port;
    let mut net_use = format!("net use {}", t.unc());
    if t.share.is_none() {
        net_use.push_str("\\SHARE");
    }
    if let Some(u) = &ctx.user {
        let _ = write!(net_use, " /user:{u}");
    }
    if port != 445 {
        let _ = write!(net_use, " /TCPPORT:{port}");
    }
    // No `vers=`: mount.cifs negotiates the highest dialect both sides speak.
    let mut options = vec![format!(
        "username={}",
        ctx.user.as_deref().unwrap_or("USER")
    )];
    if port != 445 {
        options.push(format!("port={port}"));
    }
    let mount = format!(
        "sudo mount -t cifs {} /mnt -o {}",
        t.slashed(),
        options.join(",")
    );
    let mut smbclient = format!("smbclient {}", t.slashed());
    if port != 445 {
        let _ = write!(smbclient, " -p {port}");
    }
    match &ctx.user {
        Some(u) => {
            let _ = write!(smbclient, " -U {u}");
        }
        None => smbclient.push_str(" -U USER"),
    }
    vec![net_use, mount, smbclient]
}

/// Which clients can follow a port other than 445.
pub(crate) fn port_note(port: u16, lang: Language) -> Vec<String> {
    if port == 445 {
        return Vec::new();
    }
    let zh = lang == Language::Chinese;
    let pick = |en: String, cn: String| if zh { cn } else { en };
    vec![
        pick(
            format!("Port {port} is not the SMB port 445. Clients that can use it: Windows 11 24H2 and Windows Server 2025 (`net use … /TCPPORT:{port}`), Linux (`mount -t cifs -o port={port}`), smbclient (`-p {port}`), macOS Finder (smb://host:{port}/share)."),
            format!("端口 {port} 不是 SMB 标准端口 445。可以使用它的客户端：Windows 11 24H2 和 Windows Server 2025（`net use … /TCPPORT:{port}`）、Linux（`mount -t cifs -o port={port}`）、smbclient（`-p {port}`）、macOS 访达（smb://主机:{port}/共享）。"),
        ),
        pick(
            "Older Windows (Windows 10, Windows 11 before 24H2, Server 2022 and earlier) always connect to 445 and cannot follow another port.".into(),
            "较旧的 Windows（Windows 10、24H2 之前的 Windows 11、Server 2022 及更早版本）总是连接 445，无法使用其他端口。".into(),
        ),
        pick(
            "For those, use a VPN to the file server's network (WireGuard, the router's VPN), or SMB over QUIC (UDP 443) where the server supports it (Windows Server 2025, Windows Server 2022 Azure Edition).".into(),
            "对这些客户端，请通过 VPN 连入文件服务器所在网络（WireGuard、路由器自带 VPN），或在服务器支持时使用 SMB over QUIC（UDP 443，Windows Server 2025、Windows Server 2022 Azure Edition）。".into(),
        ),
    ]
}

/// The text report: steps, verdict, advice, commands.
pub(crate) fn render(
    steps: &[StepResult],
    verdict: &Verdict,
    ctx: &Context,
    lang: Language,
) -> String {
    let zh = lang == Language::Chinese;
    let mut out = String::new();
    let _ = writeln!(out, "ddns smb check {}", ctx.target.unc());
    for s in steps {
        let status = match (&s.status, zh) {
            (Status::Ok, false) => "ok",
            (Status::Ok, true) => "通过",
            (Status::Failed(_), false) => "FAILED",
            (Status::Failed(_), true) => "失败",
            (Status::Skipped, false) => "skipped",
            (Status::Skipped, true) => "跳过",
        };
        let _ = writeln!(
            out,
            "  {}{}{}",
            pad(s.step.label(lang), 11),
            pad(status, 9),
            s.detail
        );
    }
    let _ = writeln!(out);
    let head = if zh { "结论" } else { "Verdict" };
    let _ = writeln!(out, "{head}: {}", verdict.summary);
    for a in &verdict.advice {
        let _ = writeln!(out, "  - {a}");
    }
    for n in &verdict.port_note {
        let _ = writeln!(out, "  * {n}");
    }
    let head = if zh { "连接命令" } else { "Connect with" };
    let _ = writeln!(out, "{head}:");
    for c in &verdict.commands {
        let _ = writeln!(out, "  {c}");
    }
    out
}

/// `text` padded with spaces to `width` terminal columns (CJK characters take two).
fn pad(text: &str, width: usize) -> String {
    let cols: usize = text
        .chars()
        .map(|c| {
            if ('\u{1100}'..='\u{ffdc}').contains(&c) {
                2
            } else {
                1
            }
        })
        .sum();
    format!("{text}{}", " ".repeat(width.saturating_sub(cols).max(1)))
}

/// Why a step did not run, in the chosen language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Skip {
    EarlierFailed,
    AnAddress,
    NothingToCompare,
    NoCredentials,
    NoShare,
}

impl Skip {
    pub(crate) fn text(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Self::EarlierFailed, Language::English) => "not run: an earlier step failed",
            (Self::AnAddress, Language::English) => "an address: nothing to resolve",
            (Self::NothingToCompare, Language::English) => {
                "nothing to compare with (--expect, --agent-config)"
            }
            (Self::NoCredentials, Language::English) => "no credentials (--user, --password-file)",
            (Self::NoShare, Language::English) => "no share in the target",
            (Self::EarlierFailed, Language::Chinese) => "未执行：前面的步骤失败",
            (Self::AnAddress, Language::Chinese) => "目标是地址，无需解析",
            (Self::NothingToCompare, Language::Chinese) => {
                "没有可核对的地址（--expect、--agent-config）"
            }
            (Self::NoCredentials, Language::Chinese) => "未提供凭据（--user、--password-file）",
            (Self::NoShare, Language::Chinese) => "目标中没有共享名",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(port: u16, user: Option<&str>) -> Context {
        Context {
            target: Target::parse("//files.example.com/share").unwrap(),
            port,
            user: user.map(str::to_owned),
            resolved: vec!["192.0.2.7".parse().unwrap()],
            expected: vec!["198.51.100.1".parse().unwrap()],
        }
    }

    fn step(step: Step, status: Status) -> StepResult {
        StepResult {
            step,
            status,
            detail: String::new(),
        }
    }

    #[test]
    fn targets_in_all_three_forms() {
        let want = Target {
            host: "files.example.com".into(),
            share: Some("share".into()),
        };
        assert_eq!(Target::parse(r"\\files.example.com\share").unwrap(), want);
        assert_eq!(Target::parse("//files.example.com/share").unwrap(), want);
        assert_eq!(Target::parse("//files.example.com/share/").unwrap(), want);
        let bare = Target::parse("files.example.com").unwrap();
        assert_eq!(bare.share, None);
        assert_eq!(bare.unc(), r"\\files.example.com");
        let v6 = Target::parse("//[2001:db8::1]/d").unwrap();
        assert_eq!(v6.host, "2001:db8::1");
        assert_eq!(v6.slashed(), "//[2001:db8::1]/d");
        for bad in [
            "",
            "//",
            r"\\\share",
            "//h/s/deeper",
            "a/b",
            "bad host",
            "//h/s*",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_first_failure_decides_and_has_its_exit_code() {
        let steps = [
            step(Step::Resolve, Status::Ok),
            step(Step::Compare, Status::Failed(Code::NamePointsElsewhere)),
            step(Step::Connect, Status::Failed(Code::PortFiltered)),
            step(Step::Negotiate, Status::Skipped),
        ];
        let v = diagnose(&steps, &ctx(445, None), Language::English);
        assert_eq!(
            (v.code, v.step),
            (Code::NamePointsElsewhere, Some(Step::Compare))
        );
        assert_eq!(v.code.exit_code(), 13);
        assert!(
            v.summary.contains("192.0.2.7") && v.summary.contains("198.51.100.1"),
            "{}",
            v.summary
        );
        let ok = diagnose(
            &[step(Step::Resolve, Status::Ok)],
            &ctx(445, None),
            Language::English,
        );
        assert_eq!((ok.code, ok.code.exit_code()), (Code::Ok, 0));
        // Every code has its own exit code and key.
        let all = [
            Code::Ok,
            Code::NameNotFound,
            Code::DnsError,
            Code::ExpectedUnknown,
            Code::NamePointsElsewhere,
            Code::NoRoute,
            Code::PortClosed,
            Code::PortFiltered,
            Code::ConnectError,
            Code::NotSmb,
            Code::Smb1Only,
            Code::AccessDenied,
            Code::NoSuchShare,
            Code::ShareAccessDenied,
            Code::SmbError,
        ];
        let mut exits: Vec<u8> = all.iter().map(|c| c.exit_code()).collect();
        exits.sort_unstable();
        exits.dedup();
        assert_eq!(exits.len(), all.len());
        for c in all {
            let (en, _) = words(c, &ctx(445, None), false, Language::English);
            let (cn, _) = words(c, &ctx(445, None), false, Language::Chinese);
            assert_ne!(en, cn, "{c:?}");
            assert!(!cn.is_ascii(), "{c:?} has no Chinese text");
        }
    }

    #[test]
    fn command_lines_follow_port_and_user() {
        let c = commands(&ctx(445, Some("alice")));
        assert_eq!(c[0], r"net use \\files.example.com\share /user:alice");
        assert_eq!(
            c[1],
            "sudo mount -t cifs //files.example.com/share /mnt -o username=alice"
        );
        assert_eq!(c[2], "smbclient //files.example.com/share -U alice");
        let c = commands(&ctx(4445, Some("alice")));
        assert_eq!(
            c[0],
            r"net use \\files.example.com\share /user:alice /TCPPORT:4445"
        );
        assert!(c[1].contains("port=4445"), "{}", c[1]);
        assert!(c[2].contains(" -p 4445"), "{}", c[2]);
        assert!(port_note(445, Language::English).is_empty());
        let note = port_note(4445, Language::English).join(" ");
        assert!(note.contains("24H2") && note.contains("Older Windows") && note.contains("QUIC"));
        assert!(
            port_note(4445, Language::Chinese)
                .join(" ")
                .contains("较旧的 Windows")
        );
    }

    #[test]
    fn the_text_report_is_in_the_chosen_language() {
        let steps = [step(Step::Connect, Status::Failed(Code::PortClosed))];
        let c = ctx(445, None);
        let en = render(
            &steps,
            &diagnose(&steps, &c, Language::English),
            &c,
            Language::English,
        );
        assert!(en.contains("FAILED") && en.contains("closed"), "{en}");
        let cn = render(
            &steps,
            &diagnose(&steps, &c, Language::Chinese),
            &c,
            Language::Chinese,
        );
        assert!(cn.contains("失败") && cn.contains("关闭"), "{cn}");
        assert!(cn.contains("net use"), "{cn}");
        // Columns line up whatever the script: the detail starts at the same column.
        assert_eq!(pad("登录", 6), "登录  ");
        assert_eq!(pad("log on", 6), "log on ");
        assert_eq!(Skip::NoShare.text(Language::Chinese), "目标中没有共享名");
    }
}
