//! The `ddns` binary: parses the command line, sets up logging and the runtime, and hands over
//! to the library crates. Nothing else lives here.

#[cfg(feature = "server")]
mod admin;
mod agent;
#[cfg(feature = "server")]
mod audit;
mod cli;
#[cfg(feature = "server")]
mod metrics;
mod secret;
#[cfg(feature = "server")]
mod server;
mod service;
mod smb_check;
mod smb_diagnosis;

use std::process::ExitCode;

use clap::Parser as _;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = match cli.command {
        // Without the runtime below: `service run` makes its own inside the service.
        Command::Service(c) => return exit(service::main(c, cli.log_format)),
        other => other,
    };
    init_logging(cli.log_format);
    // The agent is idle most of the time: one thread keeps its memory and wake-ups small; the
    // other client-side commands need no more.
    let mut builder = match command {
        Command::Agent(_)
        | Command::Ip(_)
        | Command::Secret(_)
        | Command::Smb(_)
        | Command::Service(_) => tokio::runtime::Builder::new_current_thread(),
        #[cfg(feature = "server")]
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match command {
            Command::Service(_) => unreachable!("handled above"),
            #[cfg(feature = "server")]
            Command::Server(args) => server::run(args).await.map(|()| ExitCode::SUCCESS),
            #[cfg(feature = "server")]
            Command::Token(c) => admin::token(c).await.map(|()| ExitCode::SUCCESS),
            #[cfg(feature = "server")]
            Command::Host(c) => admin::host(c).await.map(|()| ExitCode::SUCCESS),
            #[cfg(feature = "server")]
            Command::Zone(c) => admin::zone(c).await.map(|()| ExitCode::SUCCESS),
            #[cfg(feature = "server")]
            Command::Admin(c) => admin::admin(c).await.map(|()| ExitCode::SUCCESS),
            #[cfg(feature = "server")]
            Command::History { data, name, limit } => audit::history(&data, &name, limit)
                .await
                .map(|()| ExitCode::SUCCESS),
            #[cfg(feature = "server")]
            Command::Audit { data, since, actor } => audit::audit(&data, since.as_deref(), actor)
                .await
                .map(|()| ExitCode::SUCCESS),
            #[cfg(feature = "server")]
            Command::Backup { data, file } => audit::backup(&data, &file)
                .await
                .map(|()| ExitCode::SUCCESS),
            #[cfg(feature = "server")]
            Command::Restore { data, file, force } => audit::restore(&data, &file, force)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Agent(args) => agent::agent(args).await,
            Command::Ip(args) => agent::ip(args).await,
            Command::Secret(c) => secret::run(c).map(|()| ExitCode::SUCCESS),
            Command::Smb(cli::SmbCommand::Check(args)) => smb_check::check(args).await,
        }
    });
    exit(result)
}

fn exit(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Logging of a service: into `writer` (its log files), without colours.
fn init_logging_to<W>(format: LogFormat, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
