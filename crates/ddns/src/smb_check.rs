//! `ddns smb check TARGET`: runs the steps (resolve, compare, connect, NEGOTIATE, SESSION_SETUP,
//! TREE_CONNECT) against what the command line and the given agent config name, and nothing
//! else, then prints the verdict of `smb_diagnosis.rs` as text or one JSON object; the exit
//! code is the verdict's.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ddns_detect::{Family, Lookup};
use ddns_platform::Language;
use ddns_smb::{Client, Credentials, SmbError, wire::status};
use serde_json::json;
use tokio::net::TcpStream;

use crate::cli::SmbCheckArgs;
use crate::smb_diagnosis::{
    Code, Context, Skip, Status, Step, StepResult, Target, diagnose, render,
};

fn ok(step: Step, detail: String) -> StepResult {
    StepResult {
        step,
        status: Status::Ok,
        detail,
    }
}

fn failed(step: Step, code: Code, detail: String) -> StepResult {
    StepResult {
        step,
        status: Status::Failed(code),
        detail,
    }
}

fn skipped(step: Step, why: Skip, lang: Language) -> StepResult {
    StepResult {
        step,
        status: Status::Skipped,
        detail: why.text(lang).to_owned(),
    }
}

fn parse_dns(text: &str) -> anyhow::Result<SocketAddr> {
    text.parse::<SocketAddr>()
        .or_else(|_| text.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
        .with_context(|| {
            format!("--dns {text:?}: not ADDR:PORT (e.g. 192.0.2.53:53 or [2001:db8::53]:53)")
        })
}

pub(crate) async fn check(args: SmbCheckArgs) -> anyhow::Result<ExitCode> {
    let target = Target::parse(&args.target).map_err(anyhow::Error::msg)?;
    let timeout = ddns_config::duration::parse_duration(&args.timeout)
        .map_err(|e| anyhow::anyhow!("--timeout: {e}"))?;
    anyhow::ensure!(!timeout.is_zero(), "--timeout: must be more than zero");
    let dns = args.dns.as_deref().map(parse_dns).transpose()?;
    let creds = match (&args.user, &args.password_file) {
        (Some(user), Some(file)) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("--password-file {}", file.display()))?;
            let password = text.strip_suffix('\n').unwrap_or(&text);
            let password = password.strip_suffix('\r').unwrap_or(password);
            Some(Credentials::new(user, password.to_owned()))
        }
        _ => None,
    };
    let agent = args
        .agent_config
        .as_deref()
        .map(ddns_agent::AgentConfig::load)
        .transpose()?;
    let lang = ddns_platform::user_language();

    let mut steps = Vec::new();
    let mut ctx = Context {
        target: target.clone(),
        port: args.port,
        user: args.user.clone(),
        resolved: Vec::new(),
        expected: args.expect.clone(),
    };

    // Resolve.
    let resolved = resolve(&target.host, dns, args.port, timeout)
        .await
        .map(|(a, detail)| match target.host.parse::<IpAddr>() {
            Ok(_) => (a, Skip::AnAddress.text(lang).to_owned()),
            Err(_) => (a, detail),
        });
    let go_on = match resolved {
        Ok((addrs, detail)) => {
            ctx.resolved = addrs;
            steps.push(StepResult {
                step: Step::Resolve,
                status: if target.host.parse::<IpAddr>().is_ok() {
                    Status::Skipped
                } else {
                    Status::Ok
                },
                detail,
            });
            true
        }
        Err((code, detail)) => {
            steps.push(failed(Step::Resolve, code, detail));
            false
        }
    };

    // Compare with what is expected.
    let mut unnamed: Vec<&str> = Vec::new();
    if let Some(config) = &agent {
        // The records of this name (all records when none is), each family and line with
        // the sources the config gives it: what the agent would publish, and nothing else
        // is asked (no built-in sources for a family the config does not use).
        let named = |r: &&ddns_agent::config::RecordConfig| {
            r.name
                .to_string()
                .trim_end_matches('.')
                .eq_ignore_ascii_case(&target.host)
        };
        let mut records: Vec<_> = config.records.iter().filter(named).collect();
        if records.is_empty() {
            records = config.records.iter().collect();
        }
        for record in records {
            for (family, lines) in &record.families {
                let built_in = builtin_labels(*family);
                for line in lines {
                    let d = &line.detector;
                    // A family the config gives no sources for would be detected by the
                    // built-in public services, which the config does not name: not asked.
                    let labels: Vec<&str> = d.sources.iter().map(|s| s.label()).collect();
                    if labels == built_in.iter().map(String::as_str).collect::<Vec<_>>() {
                        unnamed.push(family.as_str());
                        continue;
                    }
                    let report = ddns_detect::detect(&d.sources, *family, &d.policy).await;
                    if let Some(a) = report.address()
                        && !ctx.expected.contains(&a)
                    {
                        ctx.expected.push(a);
                    }
                }
            }
        }
    }
    let mut connect_to = ctx.resolved.first().copied();
    if !go_on {
        steps.push(skipped(Step::Compare, Skip::EarlierFailed, lang));
    } else if args.expect.is_empty() && agent.is_none() {
        steps.push(skipped(Step::Compare, Skip::NothingToCompare, lang));
    } else if ctx.expected.is_empty() {
        steps.push(failed(
            Step::Compare,
            Code::ExpectedUnknown,
            if unnamed.is_empty() {
                "the agent config's detection found no address".into()
            } else {
                format!(
                    "the agent config names no detection sources for {} (the built-in public \
                     services are not asked); give [detect.ipv4]/[detect.ipv6] sources or --expect",
                    unnamed.join(", ")
                )
            },
        ));
    } else if let Some(hit) = ctx.resolved.iter().find(|a| ctx.expected.contains(a)) {
        connect_to = Some(*hit);
        steps.push(ok(Step::Compare, format!("{hit} is the address expected")));
    } else {
        steps.push(failed(
            Step::Compare,
            Code::NamePointsElsewhere,
            format!(
                "{} resolves to {}, expected {}",
                target.host,
                join(&ctx.resolved),
                join(&ctx.expected)
            ),
        ));
    }

    // Connect, NEGOTIATE, SESSION_SETUP, TREE_CONNECT.
    let mut client = None;
    match connect_to {
        Some(ip) => {
            let addr = SocketAddr::new(ip, args.port);
            match connect(addr, timeout).await {
                Ok((stream, took)) => {
                    steps.push(ok(
                        Step::Connect,
                        format!("{addr} accepted the connection in {} ms", took.as_millis()),
                    ));
                    client = Some(stream);
                }
                Err((code, detail)) => steps.push(failed(Step::Connect, code, detail)),
            }
        }
        None => steps.push(skipped(Step::Connect, Skip::EarlierFailed, lang)),
    }
    let mut smb = None;
    match client {
        Some(stream) => match tokio::time::timeout(timeout, Client::negotiate(stream)).await {
            Ok(Ok(c)) => {
                let n = c.negotiated();
                steps.push(ok(
                    Step::Negotiate,
                    format!(
                        "SMB {}, signing {}",
                        n.dialect_name(),
                        if n.signing_required {
                            "required"
                        } else if n.signing_enabled {
                            "enabled, not required"
                        } else {
                            "not enabled"
                        }
                    ),
                ));
                smb = Some(c);
            }
            Ok(Err(e)) => steps.push(negotiate_failure(&e)),
            Err(_) => steps.push(failed(
                Step::Negotiate,
                Code::NotSmb,
                format!(
                    "no answer to SMB2 NEGOTIATE within {} ms",
                    timeout.as_millis()
                ),
            )),
        },
        None => steps.push(skipped(Step::Negotiate, Skip::EarlierFailed, lang)),
    }
    let mut logged_on = false;
    match (&mut smb, &creds) {
        (Some(c), Some(creds)) => {
            match tokio::time::timeout(timeout, c.session_setup(creds)).await {
                Ok(Ok(())) => {
                    logged_on = true;
                    steps.push(ok(
                        Step::Session,
                        format!(
                            "user {} accepted (NTLMv2)",
                            args.user.as_deref().unwrap_or("")
                        ),
                    ));
                }
                Ok(Err(e)) => steps.push(smb_failure(Step::Session, &e)),
                Err(_) => steps.push(failed(
                    Step::Session,
                    Code::SmbError,
                    format!(
                        "no answer to SESSION_SETUP within {} ms",
                        timeout.as_millis()
                    ),
                )),
            }
        }
        (Some(_), None) => steps.push(skipped(Step::Session, Skip::NoCredentials, lang)),
        _ => steps.push(skipped(Step::Session, Skip::EarlierFailed, lang)),
    }
    match (&mut smb, &target.share, logged_on) {
        (Some(c), Some(_), true) => {
            let unc = target.unc();
            match tokio::time::timeout(timeout, c.tree_connect(&unc)).await {
                Ok(Ok(info)) => steps.push(ok(
                    Step::TreeConnect,
                    format!(
                        "{unc}: {} share, access mask {:#010x}",
                        match info.share_type {
                            1 => "disk",
                            2 => "pipe",
                            3 => "print",
                            _ => "unknown",
                        },
                        info.maximal_access
                    ),
                )),
                Ok(Err(e)) => steps.push(smb_failure(Step::TreeConnect, &e)),
                Err(_) => steps.push(failed(
                    Step::TreeConnect,
                    Code::SmbError,
                    format!(
                        "no answer to TREE_CONNECT within {} ms",
                        timeout.as_millis()
                    ),
                )),
            }
        }
        (Some(_), None, true) => steps.push(skipped(Step::TreeConnect, Skip::NoShare, lang)),
        (Some(_), _, false) if creds.is_none() => {
            steps.push(skipped(Step::TreeConnect, Skip::NoCredentials, lang));
        }
        _ => steps.push(skipped(Step::TreeConnect, Skip::EarlierFailed, lang)),
    }

    let verdict = diagnose(&steps, &ctx, lang);
    if args.json {
        let steps: Vec<_> = steps
            .iter()
            .map(|s| {
                let (status, code) = match s.status {
                    Status::Ok => ("ok", None),
                    Status::Failed(c) => ("failed", Some(c.key())),
                    Status::Skipped => ("skipped", None),
                };
                json!({"step": s.step.key(), "status": status, "code": code, "detail": s.detail})
            })
            .collect();
        let out = json!({
            "target": {"host": target.host, "share": target.share, "port": args.port},
            "resolved": ctx.resolved,
            "expected": ctx.expected,
            "steps": steps,
            "diagnosis": {
                "code": verdict.code.key(),
                "step": verdict.step.map(Step::key),
                "exit_code": verdict.code.exit_code(),
                "summary": verdict.summary,
                "advice": verdict.advice,
                "port_note": verdict.port_note,
            },
            "commands": verdict.commands,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", render(&steps, &verdict, &ctx, lang));
    }
    Ok(ExitCode::from(verdict.code.exit_code()))
}

/// The labels of the built-in sources of `family` (what a family without `[detect]` uses).
fn builtin_labels(family: Family) -> Vec<String> {
    ddns_detect::defaults::sources(family)
        .iter()
        .filter_map(|spec| ddns_detect::Source::from_spec(spec, family).ok())
        .map(|s| s.label().to_owned())
        .collect()
}

fn join(addrs: &[IpAddr]) -> String {
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The addresses of `host` (an address is its own answer): through `dns` when given (A and
/// AAAA), else the system resolver.
async fn resolve(
    host: &str,
    dns: Option<SocketAddr>,
    port: u16,
    timeout: Duration,
) -> Result<(Vec<IpAddr>, String), (Code, String)> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok((vec![ip], "an address: nothing to resolve".into()));
    }
    let Some(server) = dns else {
        let found = tokio::time::timeout(timeout, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| {
                (
                    Code::DnsError,
                    format!(
                        "the system resolver did not answer within {} ms",
                        timeout.as_millis()
                    ),
                )
            })?
            .map_err(|e| (Code::NameNotFound, format!("{host}: {e} (system resolver)")))?;
        let mut addrs: Vec<IpAddr> = found.map(|a| a.ip().to_canonical()).collect();
        addrs.dedup();
        return if addrs.is_empty() {
            Err((
                Code::NameNotFound,
                format!("{host}: no address (system resolver)"),
            ))
        } else {
            Ok((
                addrs.clone(),
                format!("{host} → {} (system resolver)", join(&addrs)),
            ))
        };
    };
    let (v4, v6) = tokio::join!(
        ddns_detect::lookup(server, host, Family::V4, timeout),
        ddns_detect::lookup(server, host, Family::V6, timeout)
    );
    let mut addrs = Vec::new();
    let mut nx = false;
    let mut errors = Vec::new();
    for answer in [v4, v6] {
        match answer {
            Ok(Lookup::Found(a)) => addrs.extend(a),
            Ok(Lookup::NxDomain) => nx = true,
            Ok(Lookup::NoData) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !addrs.is_empty() {
        return Ok((
            addrs.clone(),
            format!("{host} → {} (via {server})", join(&addrs)),
        ));
    }
    if let Some(e) = errors.first() {
        return Err((Code::DnsError, format!("{host}: {e}")));
    }
    Err((
        Code::NameNotFound,
        if nx {
            format!("{host}: NXDOMAIN from {server}")
        } else {
            format!("{host}: no A or AAAA record at {server}")
        },
    ))
}

/// A TCP connection within `timeout`, its failure told apart: refused (a reset: closed),
/// unreachable (no route), or no answer at all (filtered).
async fn connect(
    addr: SocketAddr,
    timeout: Duration,
) -> Result<(TcpStream, Duration), (Code, String)> {
    let started = Instant::now();
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => Ok((s, started.elapsed())),
        Ok(Err(e)) => {
            use std::io::ErrorKind;
            let code = match e.kind() {
                ErrorKind::ConnectionRefused => Code::PortClosed,
                ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => Code::NoRoute,
                ErrorKind::TimedOut => Code::PortFiltered,
                _ => Code::ConnectError,
            };
            Err((code, format!("{addr}: {e}")))
        }
        Err(_) => Err((
            Code::PortFiltered,
            format!(
                "{addr}: no answer within {} ms (timed out)",
                timeout.as_millis()
            ),
        )),
    }
}

fn negotiate_failure(e: &SmbError) -> StepResult {
    let code = match e {
        SmbError::Smb1Only => Code::Smb1Only,
        SmbError::Malformed(_) | SmbError::Closed | SmbError::Io(_) => Code::NotSmb,
        _ => Code::SmbError,
    };
    failed(Step::Negotiate, code, e.to_string())
}

fn smb_failure(step: Step, e: &SmbError) -> StepResult {
    let code = match (step, e) {
        (
            Step::Session,
            SmbError::Status(
                status::LOGON_FAILURE
                | status::ACCOUNT_DISABLED
                | status::ACCOUNT_RESTRICTION
                | status::ACCOUNT_LOCKED_OUT
                | status::PASSWORD_EXPIRED
                | status::ACCESS_DENIED,
            ),
        ) => Code::AccessDenied,
        (Step::TreeConnect, SmbError::Status(status::BAD_NETWORK_NAME)) => Code::NoSuchShare,
        (Step::TreeConnect, SmbError::Status(status::ACCESS_DENIED)) => Code::ShareAccessDenied,
        _ => Code::SmbError,
    };
    failed(step, code, e.to_string())
}
