//! `install`, `uninstall`, `start` and `stop` as lists of steps decided for an OS (tested on
//! any host, printed by `--dry-run`), and the one executor that carries them out: files and
//! commands with the standard library, the service manager and ACL steps through the Windows
//! module.

use std::fmt;
use std::path::PathBuf;
use std::process::Command;

use super::plan::{Role, ServiceSpec, starter_config};
use super::{launchd, systemd};
use crate::paths::Os;

/// What a service manager says of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceState {
    /// No such service is registered.
    NotInstalled,
    /// Registered, not running.
    Stopped,
    /// Starting.
    StartPending,
    /// Stopping.
    StopPending,
    /// Running.
    Running,
    /// Stopped after a failure (systemd's `failed`).
    Failed,
}

impl ServiceState {
    /// The word `ddns service status` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotInstalled => "not installed",
            Self::Stopped => "stopped",
            Self::StartPending => "starting",
            Self::StopPending => "stopping",
            Self::Running => "running",
            Self::Failed => "failed",
        }
    }

    /// `ddns service status`'s exit code, as LSB init scripts' `status`: 0 running, 3 not
    /// running, 4 unknown (not installed).
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Running => 0,
            Self::NotInstalled => 4,
            Self::Stopped | Self::StartPending | Self::StopPending | Self::Failed => 3,
        }
    }
}

/// What the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Register (and start, when the configuration is usable).
    Install {
        /// Copy the running binary to the layout's install directory first.
        copy: bool,
        /// Start after registering.
        start: bool,
    },
    /// Stop and unregister; the configuration stays unless `purge`.
    Uninstall {
        /// Also remove the configuration and the service's state (and logs on Windows).
        purge: bool,
    },
    /// Start the registered service.
    Start,
    /// Stop it.
    Stop,
}

/// One thing `install`/`uninstall`/`start`/`stop` does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `mkdir -p`.
    CreateDir(PathBuf),
    /// Write a file (replacing it).
    WriteFile {
        /// Where.
        path: PathBuf,
        /// What.
        contents: String,
    },
    /// Write a file only when there is none (the starter configuration).
    WriteIfMissing {
        /// Where.
        path: PathBuf,
        /// What.
        contents: String,
    },
    /// Copy a file (the binary).
    Copy {
        /// From.
        from: PathBuf,
        /// To.
        to: PathBuf,
    },
    /// Remove a file if it exists.
    RemoveFile(PathBuf),
    /// Remove a directory and everything in it, if it exists.
    RemoveDirAll(PathBuf),
    /// Run a program; `must_succeed: false` for steps whose failure means "already so".
    Run {
        /// The program and its arguments.
        argv: Vec<String>,
        /// Whether a non-zero exit fails the whole action.
        must_succeed: bool,
    },
    /// Set a directory's DACL from an SDDL string (Windows).
    SetAcl {
        /// The directory.
        path: PathBuf,
        /// The descriptor.
        sddl: String,
    },
    /// Register the service with the SCM: start type, delayed start, account, description,
    /// recovery (Windows).
    ScmCreate(Box<ServiceSpec>),
    /// Start a registered service and wait until it runs (Windows).
    ScmStart(Role),
    /// Stop it and wait until it stopped; already stopped is fine (Windows).
    ScmStop(Role),
    /// Unregister it (Windows).
    ScmDelete(Role),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateDir(p) => write!(f, "create directory {}", p.display()),
            Self::WriteFile { path, .. } => write!(f, "write {}", path.display()),
            Self::WriteIfMissing { path, .. } => {
                write!(
                    f,
                    "write {} (a starter file, if none exists)",
                    path.display()
                )
            }
            Self::Copy { from, to } => write!(f, "copy {} to {}", from.display(), to.display()),
            Self::RemoveFile(p) => write!(f, "remove {}", p.display()),
            Self::RemoveDirAll(p) => write!(f, "remove {} and everything in it", p.display()),
            Self::Run { argv, .. } => write!(f, "run {}", argv.join(" ")),
            Self::SetAcl { path, sddl } => write!(f, "set the ACL of {} to {sddl}", path.display()),
            Self::ScmCreate(spec) => write!(
                f,
                "register service {} ({}): automatic (delayed) start, account {}, restart after {:?}, command line {}",
                spec.role.service_name(),
                spec.role.display_name(),
                spec.account().name(),
                spec.recovery().restart_delays,
                spec.windows_command_line()
            ),
            Self::ScmStart(r) => write!(f, "start service {}", r.service_name()),
            Self::ScmStop(r) => write!(f, "stop service {}", r.service_name()),
            Self::ScmDelete(r) => write!(f, "delete service {}", r.service_name()),
        }
    }
}

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A file operation.
    #[error("{what} {path}: {source}")]
    Io {
        /// The operation.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A command could not run or failed.
    #[error("`{command}` {outcome}")]
    Command {
        /// The command line.
        command: String,
        /// What happened.
        outcome: String,
    },
    /// The service manager refused.
    #[error("{0}")]
    Manager(String),
    /// A step only this platform's service manager can do.
    #[error("{0} is done by the Windows service manager only")]
    Unsupported(String),
}

fn run(program: &str, args: &[&str]) -> Step {
    Step::Run {
        argv: std::iter::once(program)
            .chain(args.iter().copied())
            .map(str::to_owned)
            .collect(),
        must_succeed: true,
    }
}

fn run_tolerant(program: &str, args: &[&str]) -> Step {
    match run(program, args) {
        Step::Run { argv, .. } => Step::Run {
            argv,
            must_succeed: false,
        },
        other => other,
    }
}

/// The steps of `action` for `spec`. `current_exe` is the running binary (the source of
/// `--copy`); `spec.exe` is what the service will run.
pub fn steps(action: Action, spec: &ServiceSpec, current_exe: &std::path::Path) -> Vec<Step> {
    match spec.layout.os {
        Os::Windows => windows_steps(action, spec, current_exe),
        Os::Unix => systemd_steps(action, spec, current_exe),
        Os::MacOs => launchd_steps(action, spec, current_exe),
    }
}

fn copy_steps(spec: &ServiceSpec, current_exe: &std::path::Path) -> Vec<Step> {
    vec![
        Step::CreateDir(spec.layout.install_dir.clone()),
        Step::Copy {
            from: current_exe.to_path_buf(),
            to: spec.exe.clone(),
        },
    ]
}

fn starter_steps(spec: &ServiceSpec) -> Vec<Step> {
    let mut out = Vec::new();
    if let Some(dir) = spec.config.parent().filter(|d| !d.as_os_str().is_empty()) {
        out.push(Step::CreateDir(dir.to_path_buf()));
    }
    out.push(Step::WriteIfMissing {
        path: spec.config.clone(),
        contents: starter_config(spec.role).to_owned(),
    });
    out
}

fn windows_steps(action: Action, spec: &ServiceSpec, current_exe: &std::path::Path) -> Vec<Step> {
    let role = spec.role;
    match action {
        Action::Install { copy, start } => {
            let mut out = Vec::new();
            if copy {
                out.extend(copy_steps(spec, current_exe));
            }
            // The ACL first, so the config, state and logs created below inherit it.
            out.push(Step::CreateDir(spec.layout.data_dir.clone()));
            out.push(Step::SetAcl {
                path: spec.layout.data_dir.clone(),
                sddl: spec.data_dir_sddl(),
            });
            out.push(Step::CreateDir(spec.layout.log_dir.clone()));
            out.extend(starter_steps(spec));
            out.push(Step::ScmCreate(Box::new(spec.clone())));
            if start {
                out.push(Step::ScmStart(role));
            }
            out
        }
        Action::Uninstall { purge } => {
            let mut out = vec![Step::ScmStop(role), Step::ScmDelete(role)];
            // Only the copy `--copy` made; a binary run from elsewhere is the user's.
            if spec.exe == spec.layout.installed_exe() && spec.exe != current_exe {
                out.push(Step::RemoveFile(spec.exe.clone()));
            }
            if purge {
                out.push(Step::RemoveFile(spec.config.clone()));
                out.push(Step::RemoveDirAll(spec.layout.log_dir.clone()));
                out.extend(state_dir(spec).map(Step::RemoveDirAll));
            }
            out
        }
        Action::Start => vec![Step::ScmStart(role)],
        Action::Stop => vec![Step::ScmStop(role)],
    }
}

/// What `--purge` removes besides the config: the agent's state directory. The server's
/// database is never removed by a command (it is the one thing a backup cannot be made of
/// afterwards); the data directory itself is shared by both roles and stays.
fn state_dir(spec: &ServiceSpec) -> Option<PathBuf> {
    match spec.role {
        Role::Agent => Some(spec.layout.data_dir.join("agent")),
        Role::Server => None,
    }
}

fn systemd_steps(action: Action, spec: &ServiceSpec, current_exe: &std::path::Path) -> Vec<Step> {
    let unit = systemd::unit_name(spec.role);
    match action {
        Action::Install { copy, start } => {
            let mut out = Vec::new();
            if copy {
                out.extend(copy_steps(spec, current_exe));
            }
            out.extend(starter_steps(spec));
            out.push(Step::WriteFile {
                path: systemd::unit_path(spec.role),
                contents: systemd::unit(spec),
            });
            out.push(run("systemctl", &["daemon-reload"]));
            if start {
                out.push(run("systemctl", &["enable", "--now", &unit]));
            } else {
                out.push(run("systemctl", &["enable", &unit]));
            }
            out
        }
        Action::Uninstall { purge } => {
            let mut out = vec![run_tolerant("systemctl", &["disable", "--now", &unit])];
            if purge {
                if state_dir(spec).is_some() {
                    // StateDirectory= of a DynamicUser lives in /var/lib/private; systemd
                    // knows where.
                    out.push(run_tolerant("systemctl", &["clean", "--what=state", &unit]));
                }
                out.push(Step::RemoveFile(spec.config.clone()));
            }
            out.push(Step::RemoveFile(systemd::unit_path(spec.role)));
            out.push(run("systemctl", &["daemon-reload"]));
            out
        }
        Action::Start => vec![run("systemctl", &["start", &unit])],
        Action::Stop => vec![run("systemctl", &["stop", &unit])],
    }
}

fn launchd_steps(action: Action, spec: &ServiceSpec, current_exe: &std::path::Path) -> Vec<Step> {
    let plist = launchd::plist_path(spec.role);
    let plist_str = plist.to_string_lossy().into_owned();
    let target = format!("system/{}", launchd::label(spec.role));
    match action {
        Action::Install { copy, start } => {
            let mut out = Vec::new();
            if copy {
                out.extend(copy_steps(spec, current_exe));
            }
            out.extend(starter_steps(spec));
            out.push(Step::CreateDir(spec.layout.data_dir.clone()));
            out.push(Step::CreateDir(spec.layout.log_dir.clone()));
            out.push(Step::WriteFile {
                path: plist.clone(),
                contents: launchd::plist(spec),
            });
            if start {
                out.push(run("launchctl", &["bootstrap", "system", &plist_str]));
            }
            out
        }
        Action::Uninstall { purge } => {
            let mut out = vec![
                run_tolerant("launchctl", &["bootout", &target]),
                Step::RemoveFile(plist),
            ];
            if purge {
                out.push(Step::RemoveFile(spec.config.clone()));
                out.extend(state_dir(spec).map(Step::RemoveDirAll));
            }
            out
        }
        Action::Start => vec![
            run_tolerant("launchctl", &["bootstrap", "system", &plist_str]),
            run("launchctl", &["kickstart", &target]),
        ],
        Action::Stop => vec![run("launchctl", &["kill", "SIGTERM", &target])],
    }
}

/// Carries out one step.
pub fn execute(step: &Step) -> Result<(), ServiceError> {
    let io = |what: &'static str, path: &PathBuf| {
        let path = path.clone();
        move |source| ServiceError::Io { what, path, source }
    };
    match step {
        Step::CreateDir(p) => std::fs::create_dir_all(p).map_err(io("cannot create", p)),
        Step::WriteFile { path, contents } => {
            std::fs::write(path, contents).map_err(io("cannot write", path))
        }
        Step::WriteIfMissing { path, contents } => match crate::create_private(path) {
            Ok(mut f) => std::io::Write::write_all(&mut f, contents.as_bytes())
                .map_err(io("cannot write", path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(io("cannot create", path)(e)),
        },
        Step::Copy { from, to } => {
            if from == to {
                return Ok(());
            }
            std::fs::copy(from, to)
                .map(drop)
                .map_err(io("cannot copy to", to))
        }
        Step::RemoveFile(p) => match std::fs::remove_file(p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("cannot remove", p)(e)),
            _ => Ok(()),
        },
        Step::RemoveDirAll(p) => match std::fs::remove_dir_all(p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("cannot remove", p)(e)),
            _ => Ok(()),
        },
        Step::Run { argv, must_succeed } => {
            let command = argv.join(" ");
            let (program, args) = argv.split_first().ok_or_else(|| ServiceError::Command {
                command: command.clone(),
                outcome: "is empty".into(),
            })?;
            let status =
                Command::new(program)
                    .args(args)
                    .status()
                    .map_err(|e| ServiceError::Command {
                        command: command.clone(),
                        outcome: format!("cannot run: {e}"),
                    })?;
            if status.success() || !must_succeed {
                Ok(())
            } else {
                Err(ServiceError::Command {
                    command,
                    outcome: format!("failed ({status})"),
                })
            }
        }
        Step::SetAcl { path, sddl } => platform::set_acl(path, sddl),
        Step::ScmCreate(spec) => platform::create(spec),
        Step::ScmStart(role) => platform::start(*role),
        Step::ScmStop(role) => platform::stop(*role),
        Step::ScmDelete(role) => platform::delete(*role),
    }
}

/// What the service manager of `os` says of `role`'s service.
pub fn status(os: Os, role: Role) -> Result<ServiceState, ServiceError> {
    match os {
        Os::Windows => platform::query(role),
        Os::Unix => {
            let unit = systemd::unit_name(role);
            let out = capture(&["systemctl", "is-active", &unit])?;
            Ok(systemd::state_from_is_active(&out.1))
        }
        Os::MacOs => {
            let target = format!("system/{}", launchd::label(role));
            let (ok, stdout) = capture(&["launchctl", "print", &target])?;
            Ok(if ok {
                launchd::state_from_print(&stdout)
            } else {
                ServiceState::NotInstalled
            })
        }
    }
}

fn capture(argv: &[&str]) -> Result<(bool, String), ServiceError> {
    let command = argv.join(" ");
    let (program, args) = argv.split_first().ok_or_else(|| ServiceError::Command {
        command: command.clone(),
        outcome: "is empty".into(),
    })?;
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| ServiceError::Command {
            command,
            outcome: format!("cannot run: {e}"),
        })?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

#[cfg(windows)]
use super::windows as platform;

/// Elsewhere the SCM steps are never planned (`steps` plans them for `Os::Windows` only);
/// executing one anyway says so.
#[cfg(not(windows))]
mod platform {
    use super::{Role, ServiceError, ServiceSpec, ServiceState};
    use std::path::Path;

    pub(super) fn set_acl(path: &Path, _sddl: &str) -> Result<(), ServiceError> {
        Err(ServiceError::Unsupported(format!(
            "the ACL of {}",
            path.display()
        )))
    }
    pub(super) fn create(spec: &ServiceSpec) -> Result<(), ServiceError> {
        Err(ServiceError::Unsupported(spec.role.service_name().into()))
    }
    pub(super) fn start(role: Role) -> Result<(), ServiceError> {
        Err(ServiceError::Unsupported(role.service_name().into()))
    }
    pub(super) fn stop(role: Role) -> Result<(), ServiceError> {
        Err(ServiceError::Unsupported(role.service_name().into()))
    }
    pub(super) fn delete(role: Role) -> Result<(), ServiceError> {
        Err(ServiceError::Unsupported(role.service_name().into()))
    }
    pub(super) fn query(role: Role) -> Result<ServiceState, ServiceError> {
        Err(ServiceError::Unsupported(role.service_name().into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::plan::Layout;
    use std::path::Path;

    fn spec(os: Os, role: Role, exe: &str) -> ServiceSpec {
        let layout = Layout::for_os(os, |_| None);
        let config = layout.default_config(role);
        ServiceSpec::new(role, PathBuf::from(exe), config, layout)
    }

    fn argvs(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Run { argv, .. } => Some(argv.join(" ")),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn systemd_install_writes_the_unit_then_enables_it() {
        let s = spec(Os::Unix, Role::Agent, "/usr/local/bin/ddns");
        let steps = steps(
            Action::Install {
                copy: false,
                start: true,
            },
            &s,
            Path::new("/usr/local/bin/ddns"),
        );
        assert_eq!(
            argvs(&steps),
            [
                "systemctl daemon-reload",
                "systemctl enable --now ddns-agent.service"
            ]
        );
        assert!(steps.contains(&Step::WriteFile {
            path: PathBuf::from("/etc/systemd/system/ddns-agent.service"),
            contents: systemd::unit(&s),
        }));
        assert!(steps.contains(&Step::WriteIfMissing {
            path: PathBuf::from("/etc/ddns/agent.toml"),
            contents: starter_config(Role::Agent).into(),
        }));
        // The unit is written before systemd is told to read it.
        let unit_at = steps
            .iter()
            .position(|s| matches!(s, Step::WriteFile { .. }));
        let reload_at = steps.iter().position(|s| matches!(s, Step::Run { .. }));
        assert!(unit_at < reload_at);
        let not_started = steps_for(
            Action::Install {
                copy: false,
                start: false,
            },
            &s,
        );
        assert_eq!(
            argvs(&not_started),
            [
                "systemctl daemon-reload",
                "systemctl enable ddns-agent.service"
            ]
        );
    }

    fn steps_for(action: Action, s: &ServiceSpec) -> Vec<Step> {
        steps(action, s, Path::new("/tmp/ddns"))
    }

    #[test]
    fn systemd_uninstall_keeps_the_config_unless_purged() {
        let s = spec(Os::Unix, Role::Agent, "/usr/local/bin/ddns");
        let kept = steps_for(Action::Uninstall { purge: false }, &s);
        assert_eq!(
            argvs(&kept),
            [
                "systemctl disable --now ddns-agent.service",
                "systemctl daemon-reload"
            ]
        );
        assert!(kept.contains(&Step::RemoveFile(systemd::unit_path(Role::Agent))));
        assert!(!kept.contains(&Step::RemoveFile(s.config.clone())));
        let purged = steps_for(Action::Uninstall { purge: true }, &s);
        assert!(purged.contains(&Step::RemoveFile(s.config.clone())));
        assert!(argvs(&purged).contains(&"systemctl clean --what=state ddns-agent.service".into()));
        // The server's database is never purged.
        let server = spec(Os::Unix, Role::Server, "/usr/local/bin/ddns");
        let purged_server = steps_for(Action::Uninstall { purge: true }, &server);
        assert!(!argvs(&purged_server).iter().any(|a| a.contains("clean")));
        assert!(purged_server.contains(&Step::RemoveFile(server.config.clone())));
        let s = server;
        // A service already gone is no reason to stop removing the rest.
        assert!(matches!(
            &purged[0],
            Step::Run {
                must_succeed: false,
                ..
            }
        ));
        assert_eq!(
            argvs(&steps_for(Action::Start, &s)),
            ["systemctl start ddns-server.service"]
        );
        assert_eq!(
            argvs(&steps_for(Action::Stop, &s)),
            ["systemctl stop ddns-server.service"]
        );
    }

    #[test]
    fn windows_install_sets_the_acl_before_writing_secrets() {
        let layout = Layout::for_os(Os::Windows, |_| None);
        let s = ServiceSpec::new(
            Role::Agent,
            layout.installed_exe(),
            layout.default_config(Role::Agent),
            layout.clone(),
        );
        let here = Path::new(r"Z:\downloads\ddns.exe");
        let install = steps(
            Action::Install {
                copy: true,
                start: true,
            },
            &s,
            here,
        );
        let kinds: Vec<&str> = install
            .iter()
            .map(|s| match s {
                Step::CreateDir(_) => "mkdir",
                Step::Copy { .. } => "copy",
                Step::SetAcl { .. } => "acl",
                Step::WriteIfMissing { .. } => "starter",
                Step::ScmCreate(_) => "create",
                Step::ScmStart(_) => "start",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "mkdir", "copy", "mkdir", "acl", "mkdir", "mkdir", "starter", "create", "start"
            ]
        );
        assert!(install.contains(&Step::Copy {
            from: here.to_path_buf(),
            to: layout.installed_exe()
        }));
        assert!(install.contains(&Step::SetAcl {
            path: layout.data_dir.clone(),
            sddl: s.data_dir_sddl()
        }));

        let gone = steps_for(Action::Uninstall { purge: false }, &s);
        assert_eq!(
            gone,
            [
                Step::ScmStop(Role::Agent),
                Step::ScmDelete(Role::Agent),
                Step::RemoveFile(layout.installed_exe()),
            ]
        );
        // The installed binary cannot delete itself while it runs: it stays, the rest goes.
        let from_itself = steps(
            Action::Uninstall { purge: true },
            &s,
            &layout.installed_exe(),
        );
        assert!(!from_itself.contains(&Step::RemoveFile(layout.installed_exe())));
        assert!(from_itself.contains(&Step::RemoveFile(s.config.clone())));
        assert!(from_itself.contains(&Step::RemoveDirAll(layout.data_dir.join("agent"))));
        // A binary that was not copied is never removed.
        let elsewhere = ServiceSpec::new(
            Role::Agent,
            PathBuf::from(r"Z:\tools\ddns.exe"),
            s.config.clone(),
            layout,
        );
        let kept = steps_for(Action::Uninstall { purge: false }, &elsewhere);
        assert!(!kept.iter().any(|s| matches!(s, Step::RemoveFile(_))));
    }

    #[test]
    fn launchd_steps() {
        let s = spec(Os::MacOs, Role::Agent, "/usr/local/bin/ddns");
        let p = "/Library/LaunchDaemons/com.github.ddns-project.ddns-agent.plist";
        assert_eq!(
            argvs(&steps_for(
                Action::Install {
                    copy: false,
                    start: true
                },
                &s
            )),
            [format!("launchctl bootstrap system {p}")]
        );
        assert_eq!(
            argvs(&steps_for(Action::Uninstall { purge: false }, &s)),
            ["launchctl bootout system/com.github.ddns-project.ddns-agent"]
        );
        assert_eq!(
            argvs(&steps_for(Action::Stop, &s)),
            ["launchctl kill SIGTERM system/com.github.ddns-project.ddns-agent"]
        );
    }

    #[test]
    fn status_exit_codes() {
        assert_eq!(ServiceState::Running.exit_code(), 0);
        assert_eq!(ServiceState::Stopped.exit_code(), 3);
        assert_eq!(ServiceState::Failed.exit_code(), 3);
        assert_eq!(ServiceState::NotInstalled.exit_code(), 4);
    }

    #[test]
    fn executor_file_steps() {
        let dir = std::env::temp_dir().join(format!("ddns-steps-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = dir.join("etc").join("agent.toml");
        execute(&Step::CreateDir(dir.join("etc"))).unwrap();
        let starter = Step::WriteIfMissing {
            path: config.clone(),
            contents: "first".into(),
        };
        execute(&starter).unwrap();
        // A config that exists is never overwritten.
        execute(&Step::WriteIfMissing {
            path: config.clone(),
            contents: "second".into(),
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&config).unwrap(), "first");
        execute(&Step::RemoveFile(config.clone())).unwrap();
        execute(&Step::RemoveFile(config.clone())).unwrap();
        assert!(!config.exists());
        let failed = execute(&Step::Run {
            argv: vec!["false".into()],
            must_succeed: true,
        });
        assert!(
            matches!(failed, Err(ServiceError::Command { .. })),
            "{failed:?}"
        );
        execute(&Step::Run {
            argv: vec!["false".into()],
            must_succeed: false,
        })
        .unwrap();
        #[cfg(not(windows))]
        assert!(matches!(
            execute(&Step::ScmStart(Role::Agent)),
            Err(ServiceError::Unsupported(_))
        ));
        execute(&Step::RemoveDirAll(dir.clone())).unwrap();
        assert!(!dir.exists());
    }
}
