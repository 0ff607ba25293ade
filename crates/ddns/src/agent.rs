//! `ddns agent` and `ddns ip`: hand the configuration to `ddns-agent` / `ddns-detect` and turn
//! their results into output and exit codes.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use ddns_agent::AgentConfig;
use ddns_agent::config::Detector;
use ddns_detect::Family;
use tokio_util::sync::CancellationToken;

use crate::cli::{AgentArgs, AgentCommand, IpArgs};

pub(crate) async fn agent(args: AgentArgs) -> anyhow::Result<ExitCode> {
    if let Some(AgentCommand::CheckConfig { file }) = args.command {
        return check_config(&file);
    }
    let config = args.config.context("--config is required")?;
    if args.once {
        let failures = ddns_agent::run_once(&config).await?;
        for f in &failures {
            eprintln!("{}: {}", f.record, f.reason);
        }
        return Ok(if failures.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let stop = CancellationToken::new();
    let signal = {
        let stop = stop.clone();
        tokio::spawn(async move {
            ddns_platform::shutdown_signal().await;
            stop.cancel();
        })
    };
    let watchdog = tokio::spawn(ddns_platform::service::notify::watchdog());
    let result = ddns_agent::run(&config, stop).await;
    ddns_platform::service::notify::stopping();
    watchdog.abort();
    signal.abort();
    result?;
    Ok(ExitCode::SUCCESS)
}

fn check_config(file: &Path) -> anyhow::Result<ExitCode> {
    let config = AgentConfig::load(file)?;
    println!("{}: ok", file.display());
    println!("  state file  {}", config.state_file.display());
    println!(
        "  interval    {} s (jitter up to {} s)",
        config.interval.as_secs(),
        config.jitter.as_secs()
    );
    for r in &config.records {
        let families: Vec<String> = r
            .families
            .iter()
            .map(|(f, lines)| {
                format!(
                    "{} from {}",
                    f.as_str(),
                    lines
                        .iter()
                        .map(|l| format!("{} ({} sources)", l.name, l.detector.sources.len()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        println!(
            "  record      {} → {} ({})",
            r.name,
            r.provider_name,
            families.join("; ")
        );
    }
    for n in &config.notify {
        println!("  notify      on {:?}", n.events);
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn ip(args: IpArgs) -> anyhow::Result<ExitCode> {
    let families: Vec<Family> = match args.family.as_deref() {
        Some("ipv6") => vec![Family::V6],
        Some(_) => vec![Family::V4],
        None => vec![Family::V4, Family::V6],
    };
    let config = args.config.as_deref().map(AgentConfig::load).transpose()?;
    let mut reports = Vec::new();
    for family in families {
        let detector: Detector = match &config {
            Some(c) => c.detector(family)?,
            None => ddns_agent::config::default_detector(family)?,
        };
        reports.push(ddns_detect::detect(&detector.sources, family, &detector.policy).await);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for report in &reports {
            println!("{report}");
        }
    }
    let all_agreed = reports.iter().all(|r| r.address().is_some());
    Ok(if all_agreed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
