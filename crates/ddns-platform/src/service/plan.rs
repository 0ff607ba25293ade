//! What a ddns service is, decided once for every OS: its name, where its binary, configuration,
//! state and logs live, the command line it runs, the account it runs as, how it starts and how
//! it recovers, the ACL of its data directory, and the scheduled-task line for people who cannot
//! install services. Pure functions of an [`Os`] and an environment lookup, tested on any host;
//! `systemd.rs`, `launchd.rs` and the Windows module only carry these decisions out.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::paths::Os;

/// Which role of the binary the service runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `ddns agent`: keeps records pointing at this network's addresses.
    Agent,
    /// `ddns server`: the authoritative DNS server and update API.
    Server,
}

impl Role {
    /// `agent` or `server`: the subcommand, and the stem of the config file's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Server => "server",
        }
    }

    /// The service's name everywhere (SCM service, systemd unit stem, event source, log file).
    pub fn service_name(self) -> &'static str {
        match self {
            Self::Agent => "ddns-agent",
            Self::Server => "ddns-server",
        }
    }

    /// What the Services console shows.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Agent => "ddns agent",
            Self::Server => "ddns server",
        }
    }

    /// One line saying what the service does (SCM description, systemd `Description=`).
    pub fn description(self) -> &'static str {
        match self {
            Self::Agent => "ddns agent: keeps DNS records pointing at this network's addresses",
            Self::Server => "ddns authoritative DNS and update API",
        }
    }
}

/// Where a service's files live on one system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The system the paths are for.
    pub os: Os,
    /// The directory the binary is installed into (`install --copy` on Windows).
    pub install_dir: PathBuf,
    /// Configuration files (`agent.toml`, `server.toml`).
    pub config_dir: PathBuf,
    /// State: the server's database, the agent's state file (on Linux systemd's
    /// `StateDirectory=` decides; this is where it is).
    pub data_dir: PathBuf,
    /// Log files (Windows and macOS; on Linux the journal has them).
    pub log_dir: PathBuf,
}

impl Layout {
    /// The layout on `os`, given an environment lookup (`ProgramFiles`, `ProgramData`).
    pub fn for_os(os: Os, env: impl Fn(&str) -> Option<OsString>) -> Self {
        let var = |key: &str, default: &str| {
            env(key)
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from(default), PathBuf::from)
        };
        match os {
            Os::Windows => {
                let data = var("ProgramData", r"C:\ProgramData").join("ddns");
                Self {
                    os,
                    install_dir: var("ProgramFiles", r"C:\Program Files").join("ddns"),
                    config_dir: data.clone(),
                    log_dir: data.join("logs"),
                    data_dir: data,
                }
            }
            Os::Unix => Self {
                os,
                install_dir: PathBuf::from("/usr/local/bin"),
                config_dir: PathBuf::from("/etc/ddns"),
                data_dir: PathBuf::from("/var/lib/ddns"),
                log_dir: PathBuf::from("/var/log/ddns"),
            },
            Os::MacOs => Self {
                os,
                install_dir: PathBuf::from("/usr/local/bin"),
                config_dir: PathBuf::from("/usr/local/etc/ddns"),
                data_dir: PathBuf::from("/usr/local/var/lib/ddns"),
                log_dir: PathBuf::from("/usr/local/var/log/ddns"),
            },
        }
    }

    /// The layout of this system.
    pub fn current() -> Self {
        Self::for_os(Os::current(), |k| std::env::var_os(k))
    }

    /// The configuration file a role's service reads unless `--config` names another.
    pub fn default_config(&self, role: Role) -> PathBuf {
        self.config_dir.join(format!("{}.toml", role.as_str()))
    }

    /// The binary's path after `install --copy`.
    pub fn installed_exe(&self) -> PathBuf {
        match self.os {
            Os::Windows => self.install_dir.join("ddns.exe"),
            Os::Unix | Os::MacOs => self.install_dir.join("ddns"),
        }
    }
}

/// The account a Windows service runs as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Account {
    /// `NT AUTHORITY\LocalService`: no administrator rights, anonymous on the network. Both
    /// roles need no more: neither authenticates to another machine with the computer's
    /// account, which is all NetworkService would add.
    LocalService,
}

impl Account {
    /// The name `CreateServiceW` takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::LocalService => r"NT AUTHORITY\LocalService",
        }
    }

    /// The SDDL alias of the account's SID (`LS` = S-1-5-19).
    pub fn sddl_alias(self) -> &'static str {
        match self {
            Self::LocalService => "LS",
        }
    }
}

/// What the service manager does when the service fails: restart after each delay in turn
/// (the last one repeats), and forget the failures after `reset_after` without one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// Delay before the first, second and later restarts.
    pub restart_delays: Vec<Duration>,
    /// Failure count reset after this long without a failure.
    pub reset_after: Duration,
    /// Also when the service stops itself with an error, not only when it crashes.
    pub on_error_exit: bool,
}

/// Everything the service manager is told about a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The role it runs.
    pub role: Role,
    /// The binary it runs.
    pub exe: PathBuf,
    /// The configuration file it reads.
    pub config: PathBuf,
    /// Where its files live.
    pub layout: Layout,
}

impl ServiceSpec {
    /// The service of `role` running `exe` with `config`, laid out as `layout` says.
    pub fn new(role: Role, exe: PathBuf, config: PathBuf, layout: Layout) -> Self {
        Self {
            role,
            exe,
            config,
            layout,
        }
    }

    /// The arguments after the binary. Under the Windows SCM the binary must speak the
    /// service protocol, so it runs `service run`, with the log directory decided here: the
    /// service's own environment may say otherwise (Wine gives services another
    /// `%ProgramData%`). systemd and launchd run the role directly.
    pub fn arguments(&self) -> Vec<String> {
        let config = self.config.to_string_lossy().into_owned();
        match self.layout.os {
            Os::Windows => vec![
                "service".into(),
                "run".into(),
                format!("--{}", self.role.as_str()),
                "--config".into(),
                config,
                "--log-dir".into(),
                self.layout.log_dir.to_string_lossy().into_owned(),
            ],
            Os::Unix | Os::MacOs => vec![self.role.as_str().into(), "--config".into(), config],
        }
    }

    /// The whole command line as Windows stores it (the SCM's `ImagePath`), each argument
    /// quoted as `CommandLineToArgvW` reads it back.
    pub fn windows_command_line(&self) -> String {
        let exe = self.exe.to_string_lossy();
        std::iter::once(exe.as_ref())
            .chain(self.arguments().iter().map(String::as_str))
            .map(quote_windows_arg)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The account of the Windows service.
    pub fn account(&self) -> Account {
        Account::LocalService
    }

    /// Started at boot, after the services Windows needs to come up (delayed automatic start):
    /// the agent's first detection and the server's listeners want the network up anyway.
    pub fn delayed_auto_start(&self) -> bool {
        true
    }

    /// Restart after 5 s, 10 s, then every 60 s; counted afresh after a day without failure.
    pub fn recovery(&self) -> Recovery {
        Recovery {
            restart_delays: vec![
                Duration::from_secs(5),
                Duration::from_secs(10),
                Duration::from_secs(60),
            ],
            reset_after: Duration::from_secs(24 * 3600),
            on_error_exit: true,
        }
    }

    /// The rotating log files' directory and name stem (`ddns-agent.YYYY-MM-DD.log`).
    pub fn log_files(&self) -> (PathBuf, &'static str) {
        (self.layout.log_dir.clone(), self.role.service_name())
    }

    /// The security descriptor (SDDL, DACL only) of the data directory on Windows: SYSTEM,
    /// the Administrators and the service's account get full control, inherited by every file
    /// and directory below; nobody else gets anything, and the parent's ACL (where Users may
    /// read) is not inherited (`P`). Secrets in the config and the state stay unreadable to
    /// ordinary users.
    pub fn data_dir_sddl(&self) -> String {
        format!(
            "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;{})",
            self.account().sddl_alias()
        )
    }

    /// A Task Scheduler alternative for people who cannot install services: runs the role at
    /// logon as the current user, no administrator rights needed. `None` when the command
    /// is longer than the 261 characters `schtasks /TR` takes.
    pub fn schtasks_line(&self) -> Option<String> {
        let exe = self.exe.to_string_lossy();
        let command = [
            exe.as_ref(),
            self.role.as_str(),
            "--config",
            &self.config.to_string_lossy(),
        ]
        .iter()
        .map(|a| quote_windows_arg(a))
        .collect::<Vec<_>>()
        .join(" ");
        if command.chars().count() > 261 {
            return None;
        }
        // Inside the quoted /TR value, the command's own quotes are written \" (schtasks'
        // rule, the same as CommandLineToArgvW's).
        Some(format!(
            "schtasks /Create /TN {} /SC ONLOGON /RL LIMITED /F /TR {}",
            self.role.service_name(),
            quote_windows_arg(&command)
        ))
    }

    /// The line that removes the task again.
    pub fn schtasks_delete_line(&self) -> String {
        format!("schtasks /Delete /TN {} /F", self.role.service_name())
    }
}

/// One argument quoted for a Windows command line so that `CommandLineToArgvW` gives it back
/// unchanged: bare when it has no space, tab or quote; otherwise in quotes, with quotes and the
/// backslashes before them (and before the closing quote) doubled as the parser expects.
pub fn quote_windows_arg(arg: &str) -> String {
    if !arg.is_empty() && !arg.contains([' ', '\t', '"', '\n']) {
        return arg.to_owned();
    }
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    let mut backslashes = 0usize;
    for c in arg.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                out.extend(std::iter::repeat_n('\\', backslashes * 2 + 1));
                out.push('"');
                backslashes = 0;
            }
            _ => {
                out.extend(std::iter::repeat_n('\\', backslashes));
                out.push(c);
                backslashes = 0;
            }
        }
    }
    out.extend(std::iter::repeat_n('\\', backslashes * 2));
    out.push('"');
    out
}

/// The commented configuration `install` writes when the file does not exist yet. Both are
/// valid as they are, so the service starts: the agent with no record yet (it reads the file
/// again when it changes), the server with no zone.
pub fn starter_config(role: Role) -> &'static str {
    match role {
        Role::Agent => AGENT_STARTER,
        Role::Server => SERVER_STARTER,
    }
}

const AGENT_STARTER: &str = r#"# ddns agent configuration, written by `ddns service install --agent`.
# Add a provider and a record below and check with `ddns agent check-config FILE`; the
# running service (`ddns service status --agent`) reads this file again when it changes.
# Every key is in the README ("The agent").
version = 1

[agent]
interval = "5m"
# state_file = "…"             # default: beside the other service data

# Address detection: the built-in sources unless [detect.ipv4] / [detect.ipv6] say otherwise.

# [providers.home]
# type = "ddns"
# url = "https://ddns.example.com"
# token = "…"                  # or token_file = "…"

# [[record]]
# name = "files.example.com"
# provider = "home"
"#;

const SERVER_STARTER: &str = r#"# ddns server configuration, written by `ddns service install --server`.
# Every key is in the README ("Configuration"); after a change, restart the service:
# `ddns service stop --server`, `ddns service start --server`.
version = 1

# [[zone]]
# name = "dyn.example.com"
# nameservers = ["ns1.example.com"]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn windows() -> Layout {
        Layout::for_os(Os::Windows, |k| match k {
            "ProgramFiles" => Some(r"C:\Program Files".into()),
            "ProgramData" => Some(r"D:\Data".into()),
            _ => None,
        })
    }

    fn spec(role: Role, layout: Layout) -> ServiceSpec {
        let exe = layout.installed_exe();
        let config = layout.default_config(role);
        ServiceSpec::new(role, exe, config, layout)
    }

    #[test]
    fn names_are_the_contract() {
        assert_eq!(Role::Agent.service_name(), "ddns-agent");
        assert_eq!(Role::Server.service_name(), "ddns-server");
        assert_ne!(Role::Agent.description(), Role::Server.description());
    }

    #[test]
    fn windows_layout_follows_the_environment() {
        let l = windows();
        // PathBuf::join uses the host's separator; compare as Windows would see it.
        let s = |p: &PathBuf| p.to_string_lossy().replace('/', "\\");
        assert_eq!(s(&l.install_dir), r"C:\Program Files\ddns");
        assert_eq!(s(&l.installed_exe()), r"C:\Program Files\ddns\ddns.exe");
        assert_eq!(s(&l.data_dir), r"D:\Data\ddns");
        assert_eq!(s(&l.log_dir), r"D:\Data\ddns\logs");
        assert_eq!(
            s(&l.default_config(Role::Agent)),
            r"D:\Data\ddns\agent.toml"
        );
        let bare = Layout::for_os(Os::Windows, |_| None);
        assert_eq!(s(&bare.data_dir), r"C:\ProgramData\ddns");
        assert_eq!(s(&bare.install_dir), r"C:\Program Files\ddns");
    }

    #[test]
    fn unix_and_macos_layouts() {
        let l = Layout::for_os(Os::Unix, |_| Some("ignored".into()));
        assert_eq!(
            l.default_config(Role::Server),
            PathBuf::from("/etc/ddns/server.toml")
        );
        assert_eq!(l.installed_exe(), PathBuf::from("/usr/local/bin/ddns"));
        let m = Layout::for_os(Os::MacOs, |_| None);
        assert_eq!(
            m.default_config(Role::Agent),
            PathBuf::from("/usr/local/etc/ddns/agent.toml")
        );
    }

    #[test]
    fn the_scm_runs_the_service_entry_point() {
        let s = ServiceSpec::new(
            Role::Agent,
            PathBuf::from(r"C:\Program Files\ddns\ddns.exe"),
            PathBuf::from(r"C:\ProgramData\ddns\agent.toml"),
            windows(),
        );
        // The log directory as the installer's layout says (PathBuf joins with the host's
        // separator here).
        let logs = s.layout.log_dir.to_string_lossy().into_owned();
        assert!(
            logs.starts_with(r"D:\Data") && logs.ends_with("logs"),
            "{logs}"
        );
        assert_eq!(
            s.arguments(),
            [
                "service",
                "run",
                "--agent",
                "--config",
                r"C:\ProgramData\ddns\agent.toml",
                "--log-dir",
                logs.as_str(),
            ]
        );
        assert_eq!(
            s.windows_command_line(),
            format!(
                r#""C:\Program Files\ddns\ddns.exe" service run --agent --config C:\ProgramData\ddns\agent.toml --log-dir {logs}"#
            )
        );
        let unix = spec(Role::Server, Layout::for_os(Os::Unix, |_| None));
        assert_eq!(
            unix.arguments(),
            ["server", "--config", "/etc/ddns/server.toml"]
        );
    }

    #[test]
    fn windows_quoting_round_trips_the_argv_rules() {
        assert_eq!(quote_windows_arg("plain"), "plain");
        assert_eq!(quote_windows_arg(""), r#""""#);
        assert_eq!(quote_windows_arg("a b"), r#""a b""#);
        // A trailing backslash is doubled, or it would escape the closing quote.
        assert_eq!(quote_windows_arg(r"C:\My Dir\"), r#""C:\My Dir\\""#);
        assert_eq!(quote_windows_arg(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(quote_windows_arg(r#"a\"b"#), r#""a\\\"b""#);
        // Backslashes not before a quote stay single.
        assert_eq!(quote_windows_arg(r"C:\a b\c"), r#""C:\a b\c""#);
    }

    #[test]
    fn service_settings() {
        let s = spec(Role::Server, windows());
        assert_eq!(s.account().name(), r"NT AUTHORITY\LocalService");
        assert!(s.delayed_auto_start());
        let r = s.recovery();
        assert_eq!(
            r.restart_delays,
            [5, 10, 60].map(Duration::from_secs).to_vec()
        );
        assert_eq!(r.reset_after, Duration::from_secs(86_400));
        assert!(r.on_error_exit);
        let (dir, stem) = s.log_files();
        assert_eq!(dir, s.layout.log_dir);
        assert_eq!(stem, "ddns-server");
    }

    #[test]
    fn data_dir_acl_keeps_users_out() {
        let sddl = spec(Role::Agent, windows()).data_dir_sddl();
        assert_eq!(
            sddl,
            "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;LS)"
        );
        // Protected: nothing inherited from %ProgramData%, where Users can read.
        assert!(sddl.starts_with("D:P"));
        for nobody in ["BU", "WD", "AU", "IU"] {
            assert!(
                !sddl.contains(&format!(";;;{nobody})")),
                "{nobody} in {sddl}"
            );
        }
        // Only allow entries, each inherited by files and directories below.
        let aces: Vec<&str> = sddl
            .trim_start_matches("D:PAI")
            .split_terminator(')')
            .collect();
        assert_eq!(aces.len(), 3);
        assert!(aces.iter().all(|a| a.starts_with("(A;OICI;FA;;;")));
    }

    #[test]
    fn schtasks_line_quotes_the_command_inside_tr() {
        let s = ServiceSpec::new(
            Role::Agent,
            PathBuf::from(r"C:\Users\me\ddns\ddns.exe"),
            PathBuf::from(r"C:\Users\me\My Config\agent.toml"),
            windows(),
        );
        assert_eq!(
            s.schtasks_line().unwrap(),
            r#"schtasks /Create /TN ddns-agent /SC ONLOGON /RL LIMITED /F /TR "C:\Users\me\ddns\ddns.exe agent --config \"C:\Users\me\My Config\agent.toml\"""#
        );
        assert_eq!(
            s.schtasks_delete_line(),
            "schtasks /Delete /TN ddns-agent /F"
        );
        let long = ServiceSpec::new(
            Role::Agent,
            PathBuf::from(r"C:\ddns.exe"),
            PathBuf::from(format!(r"C:\{}\agent.toml", "x".repeat(250))),
            windows(),
        );
        assert_eq!(long.schtasks_line(), None);
    }

    #[test]
    fn starter_configs_say_what_to_do_next() {
        for role in [Role::Agent, Role::Server] {
            let text = starter_config(role);
            assert!(text.contains("version = 1"));
            assert!(
                text.contains(&format!("ddns service status --{}", role.as_str()))
                    || text.contains(&format!("ddns service start --{}", role.as_str()))
            );
        }
    }
}
