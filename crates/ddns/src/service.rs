//! `ddns service install|uninstall|start|stop|status|task --agent|--server [--config FILE]`,
//! and `service run`, what the Windows service manager starts. Everything is decided by
//! `ddns_platform::service` (paths, unit, steps); this module turns the command line into a
//! `ServiceSpec`, checks the configuration, prints and carries out the steps.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{ArgGroup, Args, Subcommand};
use ddns_platform::service::{
    Action, Layout, Role, ServiceSpec, Step, plan::starter_config, steps,
};

#[cfg(feature = "server")]
use crate::cli::ServerArgs;
use crate::cli::{AgentArgs, LogFormat};

/// `ddns service …`.
#[derive(Subcommand, Debug)]
pub(crate) enum ServiceCommand {
    /// Register the service (systemd unit, launchd daemon or Windows service) and start it.
    /// Writes a commented starter configuration when FILE does not exist; an existing FILE
    /// must be valid.
    Install {
        #[command(flatten)]
        target: Target,
        /// Copy this binary to the system's install directory first (Windows:
        /// `%ProgramFiles%\ddns\ddns.exe`) and register that copy.
        #[arg(long)]
        copy: bool,
        /// Print what would be done (and the unit or plist) without doing it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Stop and unregister the service; the configuration stays unless `--purge`.
    Uninstall {
        #[command(flatten)]
        target: Target,
        /// Also remove the configuration, the agent's state and the logs (never the server's
        /// database).
        #[arg(long)]
        purge: bool,
        /// Print what would be done without doing it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Start the installed service.
    Start {
        #[command(flatten)]
        target: Target,
    },
    /// Stop it (the agent finishes its round and saves its state).
    Stop {
        #[command(flatten)]
        target: Target,
    },
    /// Print its state; exit code 0 running, 3 not running, 4 not installed.
    Status {
        #[command(flatten)]
        target: Target,
    },
    /// Print the Task Scheduler line that runs the role at logon, for people who cannot install
    /// services (no administrator rights needed).
    Task {
        #[command(flatten)]
        target: Target,
    },
    /// What the Windows service manager runs (the service entry point); elsewhere, the role in
    /// the foreground with the service's log files.
    #[command(hide = true)]
    Run {
        #[command(flatten)]
        target: Target,
        /// Where the log files go (what `install` decided; default: the system's layout).
        #[arg(long, value_name = "DIR")]
        log_dir: Option<PathBuf>,
    },
}

/// Which service, and its configuration.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("role").required(true).args(["agent", "server"])))]
pub(crate) struct Target {
    /// The agent's service (`ddns-agent`).
    #[arg(long)]
    agent: bool,
    /// The server's service (`ddns-server`).
    #[arg(long)]
    server: bool,
    /// Configuration file (default: `/etc/ddns/ROLE.toml`, `%ProgramData%\ddns\ROLE.toml`,
    /// `/usr/local/etc/ddns/ROLE.toml` on macOS).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

impl Target {
    fn role(&self) -> Role {
        if self.server {
            Role::Server
        } else {
            Role::Agent
        }
    }

    /// The service's spec: the running binary (or its installed copy), the config made
    /// absolute, since the service starts elsewhere.
    fn spec(&self, layout: &Layout, copy: bool) -> anyhow::Result<ServiceSpec> {
        let role = self.role();
        let config = match &self.config {
            Some(c) => std::path::absolute(c)
                .with_context(|| format!("cannot make {} absolute", c.display()))?,
            None => layout.default_config(role),
        };
        let exe = if copy {
            layout.installed_exe()
        } else {
            current_exe()?
        };
        Ok(ServiceSpec::new(role, exe, config, layout.clone()))
    }
}

fn current_exe() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("cannot find the path of this binary")
}

/// Runs a `ddns service` command (no async runtime: `run` builds its own inside the service).
pub(crate) fn main(command: ServiceCommand, log_format: LogFormat) -> anyhow::Result<ExitCode> {
    let layout = Layout::current();
    match command {
        ServiceCommand::Install {
            target,
            copy,
            dry_run,
        } => {
            crate::init_logging(log_format);
            install(&target, &layout, copy, dry_run)
        }
        ServiceCommand::Uninstall {
            target,
            purge,
            dry_run,
        } => {
            crate::init_logging(log_format);
            // The copy `--copy` made is what a Windows uninstall removes.
            let spec = target.spec(&layout, true)?;
            carry_out(
                &steps::steps(Action::Uninstall { purge }, &spec, &current_exe()?),
                dry_run,
            )?;
            if !dry_run {
                println!("{} uninstalled", spec.role.service_name());
                if !purge {
                    println!("kept {} (remove it with --purge)", spec.config.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ServiceCommand::Start { target } => simple(Action::Start, &target, &layout),
        ServiceCommand::Stop { target } => simple(Action::Stop, &target, &layout),
        ServiceCommand::Status { target } => {
            let role = target.role();
            let state = steps::status(layout.os, role)?;
            println!("{}: {}", role.service_name(), state.as_str());
            Ok(ExitCode::from(state.exit_code()))
        }
        ServiceCommand::Task { target } => {
            let spec = target.spec(&layout, false)?;
            let line = spec.schtasks_line().with_context(|| {
                "the command is longer than the 261 characters schtasks takes; \
                 move the binary or the configuration to a shorter path"
            })?;
            println!("{line}");
            println!("{}", spec.schtasks_delete_line());
            Ok(ExitCode::SUCCESS)
        }
        ServiceCommand::Run { target, log_dir } => run(&target, &layout, log_dir, log_format),
    }
}

fn simple(action: Action, target: &Target, layout: &Layout) -> anyhow::Result<ExitCode> {
    let spec = target.spec(layout, false)?;
    carry_out(&steps::steps(action, &spec, &current_exe()?), false)?;
    let state = steps::status(layout.os, spec.role)?;
    println!("{}: {}", spec.role.service_name(), state.as_str());
    Ok(ExitCode::SUCCESS)
}

fn install(
    target: &Target,
    layout: &Layout,
    copy: bool,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let spec = target.spec(layout, copy)?;
    // An existing configuration must be valid (nothing is changed otherwise); a missing one
    // gets the starter file, and the service is started only when that one is valid as it is.
    let start = if spec.config.exists() {
        check_config(spec.role, &spec.config)?;
        true
    } else {
        check_text(spec.role, starter_config(spec.role), &spec.config).is_ok()
    };
    let steps = steps::steps(Action::Install { copy, start }, &spec, &current_exe()?);
    carry_out(&steps, dry_run)?;
    if dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    let name = spec.role.service_name();
    if start {
        println!("{name} installed and started");
    } else {
        println!(
            "{name} installed; complete {} (check it with `ddns {} check-config`), then run \
             `ddns service start --{}`",
            spec.config.display(),
            spec.role.as_str(),
            spec.role.as_str()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn check_config(role: Role, path: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    check_text(role, &text, path)
}

fn check_text(role: Role, text: &str, path: &Path) -> anyhow::Result<()> {
    match role {
        Role::Agent => {
            ddns_agent::AgentConfig::from_file_text(text, path)?;
        }
        Role::Server => {
            ddns_config::ServerConfig::from_toml(text, ddns_platform::default_data_dir())
                .map_err(|e| e.in_file(path))?;
        }
    }
    Ok(())
}

fn carry_out(steps: &[Step], dry_run: bool) -> anyhow::Result<()> {
    for step in steps {
        if dry_run {
            println!("would {step}");
            if let Step::WriteFile { contents, .. } | Step::WriteIfMissing { contents, .. } = step {
                for line in contents.lines() {
                    println!("    {line}");
                }
            }
            continue;
        }
        steps::execute(step).with_context(|| format!("cannot {step}"))?;
        println!("done: {step}");
    }
    Ok(())
}

/// The service entry point: logs to daily files in the layout's log directory (kept 14 days),
/// then runs the role through the platform's service runner.
fn run(
    target: &Target,
    layout: &Layout,
    log_dir: Option<PathBuf>,
    log_format: LogFormat,
) -> anyhow::Result<ExitCode> {
    let spec = target.spec(layout, false)?;
    let (default_dir, stem) = spec.log_files();
    let dir = log_dir.unwrap_or(default_dir);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the log directory {}", dir.display()))?;
    let files = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix(stem)
        .filename_suffix("log")
        .max_log_files(14)
        .build(&dir)
        .with_context(|| format!("cannot open a log file in {}", dir.display()))?;
    crate::init_logging_to(log_format, files);
    let role = spec.role;
    let config = spec.config.clone();
    let body = Box::new(move || run_role(role, config).map_err(|e| format!("{e:#}")));
    ddns_platform::service::run_service(role, body)?;
    Ok(ExitCode::SUCCESS)
}

fn run_role(role: Role, config: PathBuf) -> anyhow::Result<()> {
    let mut builder = match role {
        Role::Agent => tokio::runtime::Builder::new_current_thread(),
        Role::Server => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = builder
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        match role {
            Role::Agent => {
                let code = crate::agent::agent(AgentArgs {
                    config: Some(config),
                    once: false,
                    command: None,
                })
                .await?;
                tracing::info!(?code, "agent service ended");
                Ok(())
            }
            #[cfg(not(feature = "server"))]
            Role::Server => anyhow::bail!(
                "this is the agent-only build of ddns: it cannot run the server (use the full build)"
            ),
            #[cfg(feature = "server")]
            Role::Server => {
                crate::server::run(ServerArgs {
                    config: Some(config),
                    data_dir: None,
                    store_url: None,
                    zones: vec![],
                    dns_listen: vec![],
                    http_listen: vec![],
                    tls_cert: None,
                    tls_key: None,
                })
                .await
            }
        }
    })
}
