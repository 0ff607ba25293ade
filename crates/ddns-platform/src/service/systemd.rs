//! The systemd side of a service on Linux: the unit file's text (the files in `packaging/` are
//! this text for the default paths, which a test checks), and what `systemctl is-active`
//! answers, mapped to a [`ServiceState`].

use std::path::{Path, PathBuf};

use super::plan::{Role, ServiceSpec};
use super::steps::ServiceState;

/// Where units are installed.
pub const UNIT_DIR: &str = "/etc/systemd/system";

/// The unit's file name (`ddns-agent.service`).
pub fn unit_name(role: Role) -> String {
    format!("{}.service", role.service_name())
}

/// The unit's installed path.
pub fn unit_path(role: Role) -> PathBuf {
    Path::new(UNIT_DIR).join(unit_name(role))
}

/// How long the watchdog waits for a `WATCHDOG=1` before systemd restarts the service; the
/// process pings at half of it (`notify.rs`).
pub const WATCHDOG_SEC: u32 = 30;

/// The unit's `StateDirectory=`: `/var/lib/ddns` for the server (where its database has
/// always been), `/var/lib/ddns-agent` for the agent.
pub fn state_directory(role: Role) -> &'static str {
    match role {
        Role::Agent => "ddns-agent",
        Role::Server => "ddns",
    }
}

/// The unit file for `spec`.
pub fn unit(spec: &ServiceSpec) -> String {
    let role = spec.role;
    let name = role.service_name();
    let exec = std::iter::once(spec.exe.to_string_lossy().into_owned())
        .chain(spec.arguments())
        .map(|a| quote_exec_arg(&a))
        .collect::<Vec<_>>()
        .join(" ");
    let mut u = String::new();
    u.push_str(&format!(
        "# systemd unit for the ddns {role}, written by `ddns service install --{role}` (made by\n\
         # crates/ddns-platform/src/service/systemd.rs; packaging/{name}.service is this text\n\
         # for the default paths, kept equal by a test).\n",
        role = role.as_str()
    ));
    match role {
        Role::Agent => u.push_str(
            "# Secrets may go in /etc/ddns/agent.env as DDNS_TOKEN=… and be named as ${DDNS_TOKEN}.\n",
        ),
        Role::Server => {}
    }
    u.push_str(&format!(
        "[Unit]\n\
         Description={description}\n\
         Documentation=https://github.com/ddns-project/ddns#readme\n\
         After=network-online.target\n\
         Wants=network-online.target\n\
         \n\
         [Service]\n\
         # READY=1 once the server's listeners are bound / the agent's first round starts, and\n\
         # WATCHDOG=1 every WatchdogSec/2 from the running process.\n\
         Type=notify\n\
         NotifyAccess=main\n\
         WatchdogSec={WATCHDOG_SEC}\n\
         ExecStart={exec}\n",
        description = role.description(),
    ));
    if role == Role::Agent {
        u.push_str("EnvironmentFile=-/etc/ddns/agent.env\n");
    }
    u.push_str(
        "Restart=on-failure\n\
         RestartSec=5\n",
    );
    match role {
        Role::Server => u.push_str(
            "# Room for the HTTP connection cap (http.max_connections, 4096 by default) plus DNS TCP\n\
             # connections and the database; the default soft limit of 1024 is not.\n",
        ),
        Role::Agent => u.push_str(
            "# The same descriptor limit as the server (the agent needs few; a shared default is simpler).\n",
        ),
    }
    u.push_str("LimitNOFILE=65536\n");
    u.push_str(&format!(
        "# {state} in $STATE_DIRECTORY (/var/lib/{dir}),\n\
         # the only place the service may write: with DynamicUser= it belongs to the service's own\n\
         # user, which ReadWritePaths= could not give (ProtectSystem=strict makes the rest read-only).\n\
         StateDirectory={dir}\n\
         StateDirectoryMode=0700\n\
         DynamicUser=yes\n\
         UMask=0077\n",
        state = match role {
            Role::Agent => "The state file and its salt live",
            Role::Server => "The database, ACME files and config versions live",
        },
        dir = state_directory(role),
    ));
    match role {
        Role::Server => u.push_str(
            "# Port 53 and 80/443 without root.\n\
             AmbientCapabilities=CAP_NET_BIND_SERVICE\n\
             CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n",
        ),
        Role::Agent => u.push_str("CapabilityBoundingSet=\n"),
    }
    u.push_str(
        "NoNewPrivileges=yes\n\
         ProtectSystem=strict\n\
         ProtectHome=yes\n\
         PrivateTmp=yes\n\
         PrivateDevices=yes\n\
         ProtectKernelTunables=yes\n\
         ProtectKernelModules=yes\n\
         ProtectKernelLogs=yes\n\
         ProtectControlGroups=yes\n\
         ProtectClock=yes\n\
         ProtectHostname=yes\n\
         RestrictNamespaces=yes\n\
         RestrictRealtime=yes\n\
         RestrictSUIDSGID=yes\n\
         LockPersonality=yes\n\
         SystemCallArchitectures=native\n",
    );
    match role {
        // Netlink: interface address events. No MemoryDenyWriteExecute: `command` sources
        // may run interpreters that need it.
        Role::Agent => u.push_str("RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK\n"),
        Role::Server => u.push_str(
            "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n\
             MemoryDenyWriteExecute=yes\n",
        ),
    }
    u.push_str(
        "\n\
         [Install]\n\
         WantedBy=multi-user.target\n",
    );
    u
}

/// One word of `ExecStart=`: bare when it can be, else double-quoted with `\` and `"`
/// escaped; `%` is systemd's specifier character and `$` its variable one, both doubled.
fn quote_exec_arg(arg: &str) -> String {
    let escaped = arg.replace('%', "%%").replace('$', "$$");
    if !escaped.is_empty()
        && !escaped.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '\\')
    {
        return escaped;
    }
    format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
}

/// What `systemctl is-active UNIT` printed, as a state (`unknown`: no such unit loaded).
pub fn state_from_is_active(stdout: &str) -> ServiceState {
    match stdout.trim() {
        "active" | "reloading" | "refreshing" => ServiceState::Running,
        "activating" => ServiceState::StartPending,
        "deactivating" => ServiceState::StopPending,
        "failed" => ServiceState::Failed,
        "inactive" => ServiceState::Stopped,
        _ => ServiceState::NotInstalled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Os;
    use crate::service::plan::Layout;

    fn default_spec(role: Role) -> ServiceSpec {
        let layout = Layout::for_os(Os::Unix, |_| None);
        ServiceSpec::new(
            role,
            layout.installed_exe(),
            layout.default_config(role),
            layout,
        )
    }

    /// Pairs `key=value` of the unit, comments and section headers left out.
    fn settings(unit: &str) -> Vec<(&str, &str)> {
        unit.lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with('[') && !l.is_empty())
            .map(|l| l.split_once('=').unwrap_or((l, "")))
            .collect()
    }

    fn get<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
        settings(unit)
            .into_iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v)
            .collect()
    }

    #[test]
    fn packaging_units_are_the_generated_text() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging");
        for role in [Role::Agent, Role::Server] {
            let path = root.join(unit_name(role));
            let generated = unit(&default_spec(role));
            if std::env::var_os("DDNS_WRITE_UNITS").is_some() {
                std::fs::write(&path, &generated).unwrap();
            }
            let on_disk = std::fs::read_to_string(&path).unwrap();
            assert!(
                on_disk == generated,
                "{} differs from the generated unit; write it again with:\n  \
                 DDNS_WRITE_UNITS=1 cargo test -p ddns-platform packaging_units\n\
                 generated:\n{generated}",
                path.display()
            );
        }
    }

    #[test]
    fn the_unit_notifies_and_is_hardened() {
        for role in [Role::Agent, Role::Server] {
            let u = unit(&default_spec(role));
            assert_eq!(get(&u, "Type"), ["notify"]);
            assert_eq!(get(&u, "WatchdogSec"), ["30"]);
            assert_eq!(get(&u, "LimitNOFILE"), ["65536"]);
            assert_eq!(get(&u, "Restart"), ["on-failure"]);
            assert_eq!(get(&u, "StateDirectory"), [state_directory(role)]);
            for key in [
                "NoNewPrivileges",
                "PrivateTmp",
                "DynamicUser",
                "ProtectHome",
            ] {
                assert_eq!(get(&u, key), ["yes"], "{key} in {role:?}");
            }
            assert_eq!(get(&u, "ProtectSystem"), ["strict"]);
            assert_eq!(get(&u, "WantedBy"), ["multi-user.target"]);
            // Every key once: a repeated one would silently win or add.
            let keys: Vec<&str> = settings(&u).into_iter().map(|(k, _)| k).collect();
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), keys.len(), "a key repeated in {u}");
        }
        let server = unit(&default_spec(Role::Server));
        assert_eq!(
            get(&server, "ExecStart"),
            ["/usr/local/bin/ddns server --config /etc/ddns/server.toml"]
        );
        assert_eq!(
            get(&server, "AmbientCapabilities"),
            ["CAP_NET_BIND_SERVICE"]
        );
        let agent = unit(&default_spec(Role::Agent));
        assert_eq!(
            get(&agent, "ExecStart"),
            ["/usr/local/bin/ddns agent --config /etc/ddns/agent.toml"]
        );
        assert!(get(&agent, "RestrictAddressFamilies")[0].contains("AF_NETLINK"));
        assert_eq!(get(&agent, "AmbientCapabilities"), Vec::<&str>::new());
    }

    /// systemd's own checker (Debian `systemd`) on the generated units: every key known, every
    /// value parsed, ExecStart's binary present.
    #[test]
    fn systemd_analyze_verifies_the_units() {
        let dir = std::env::temp_dir().join(format!("ddns-units-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for role in [Role::Agent, Role::Server] {
            let layout = Layout::for_os(Os::Unix, |_| None);
            let spec = ServiceSpec::new(
                role,
                PathBuf::from("/bin/true"),
                layout.default_config(role),
                layout,
            );
            let path = dir.join(unit_name(role));
            std::fs::write(&path, unit(&spec)).unwrap();
            let out = std::process::Command::new("systemd-analyze")
                .arg("verify")
                .arg(&path)
                .output()
                .expect("systemd-analyze (Debian systemd) is needed: scripts/test.sh installs it");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{role:?}: {stderr}");
            assert!(
                !stderr.lines().any(|l| l.contains(role.service_name())),
                "{role:?}: {stderr}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn exec_start_quotes_what_systemd_would_split_or_expand() {
        let layout = Layout::for_os(Os::Unix, |_| None);
        let spec = ServiceSpec::new(
            Role::Agent,
            PathBuf::from("/opt/my ddns/ddns"),
            PathBuf::from("/etc/ddns/100%$HOME.toml"),
            layout,
        );
        assert_eq!(
            get(&unit(&spec), "ExecStart"),
            [r#""/opt/my ddns/ddns" agent --config /etc/ddns/100%%$$HOME.toml"#]
        );
        assert_eq!(quote_exec_arg(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn is_active_answers() {
        assert_eq!(state_from_is_active("active\n"), ServiceState::Running);
        assert_eq!(state_from_is_active("inactive\n"), ServiceState::Stopped);
        assert_eq!(state_from_is_active("failed"), ServiceState::Failed);
        assert_eq!(
            state_from_is_active("activating"),
            ServiceState::StartPending
        );
        assert_eq!(
            state_from_is_active("deactivating"),
            ServiceState::StopPending
        );
        assert_eq!(state_from_is_active("unknown"), ServiceState::NotInstalled);
        assert_eq!(
            unit_path(Role::Agent),
            PathBuf::from("/etc/systemd/system/ddns-agent.service")
        );
    }
}
