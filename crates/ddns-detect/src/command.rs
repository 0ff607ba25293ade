//! Detection by a user's program: the escape hatch for routers with their own APIs (TR-064,
//! RouterOS, vendor web pages), without ddns knowing each.
//!
//! The program runs directly, never through a shell, so configuration values cannot inject
//! commands (jeessy2/ddns-go#1521 was exactly that). Its standard output must be exactly one
//! address; the environment variable `DDNS_FAMILY` (`ipv4` or `ipv6`) tells it which family is
//! wanted, so one script can serve both. It is killed when the detection times out.
//!
//! The program gets a cleared environment plus a short allow-list ([`INHERITED`]: what
//! programs need to start and to speak the user's language) and the variables its source names
//! in `env`. The agent's own environment usually holds provider secrets (`${NAME}` references in
//! the configuration are resolved from it), and a router script has no business seeing them.

use std::ffi::OsString;
use std::net::IpAddr;
use std::process::Stdio;

use crate::Family;
use crate::source::{DetectError, SpecError, parse_one_address, snippet};

/// Variables passed to the program whenever the agent has them, besides `LC_*`. The Windows
/// names are what a Windows program needs to start at all (`SystemRoot` for DLL loading,
/// `ComSpec` and `PATHEXT` for scripts, `TEMP`/`TMP` for temporary files).
pub const INHERITED: [&str; 3] = ["PATH", "HOME", "LANG"];

/// Variables also passed on Windows.
pub const INHERITED_WINDOWS: [&str; 6] =
    ["SystemRoot", "windir", "ComSpec", "PATHEXT", "TEMP", "TMP"];

/// A validated command source.
#[derive(Clone, Debug)]
pub struct CommandSource {
    program: String,
    args: Vec<String>,
    env: Vec<String>,
}

impl CommandSource {
    /// Validates the program name and the names of the variables to pass.
    pub fn new(program: &str, args: &[String], env: &[String]) -> Result<Self, SpecError> {
        if program.trim().is_empty() {
            return Err(SpecError::invalid("program", "must not be empty"));
        }
        if program != program.trim() {
            return Err(SpecError::invalid(
                "program",
                format!("{program:?} has surrounding spaces; arguments go in args"),
            ));
        }
        if let Some(bad) = env.iter().find(|n| n.is_empty() || n.contains(['=', '\0'])) {
            return Err(SpecError::invalid(
                "env",
                format!("{bad:?} is not an environment variable name"),
            ));
        }
        Ok(Self {
            program: program.to_owned(),
            args: args.to_vec(),
            env: env.to_vec(),
        })
    }

    /// The program and its arguments, as a shell would show them.
    pub fn describe(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| {
                if a.is_empty() || a.contains(char::is_whitespace) {
                    format!("{a:?}")
                } else {
                    a.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs the program and parses its output.
    pub async fn detect(&self, family: Family) -> Result<IpAddr, DetectError> {
        let windows = cfg!(windows);
        let output = tokio::process::Command::new(&self.program)
            .args(&self.args)
            .env_clear()
            .envs(child_environment(std::env::vars_os(), &self.env, windows))
            .env("DDNS_FAMILY", family.as_str())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| DetectError::Command(format!("cannot run {}: {e}", self.program)))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            return Err(DetectError::Command(if first.is_empty() {
                format!("{} failed ({})", self.program, output.status)
            } else {
                format!(
                    "{} failed ({}): {}",
                    self.program,
                    output.status,
                    snippet(first.trim())
                )
            }));
        }
        let stdout = std::str::from_utf8(&output.stdout)
            .map_err(|_| DetectError::BadAnswer("output is not UTF-8 text".into()))?;
        parse_one_address(stdout, family)
    }
}

/// The part of `vars` (the agent's environment) the program gets: [`INHERITED`], `LC_*`, on
/// Windows [`INHERITED_WINDOWS`], and the names in `named`. Windows compares names without
/// case (its environment does), so `Path` is `PATH` there.
fn child_environment(
    vars: impl Iterator<Item = (OsString, OsString)>,
    named: &[String],
    windows: bool,
) -> Vec<(OsString, OsString)> {
    let same = |a: &str, b: &str| {
        if windows {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    vars.filter(|(name, _)| {
        let Some(name) = name.to_str() else {
            return false;
        };
        INHERITED.iter().any(|i| same(i, name))
            || name.starts_with("LC_")
            || (windows && INHERITED_WINDOWS.iter().any(|i| same(i, name)))
            || named.iter().any(|n| same(n, name))
    })
    .collect()
}

#[cfg(test)]
mod environment_tests {
    use super::*;

    fn names(vars: &[(&str, &str)], named: &[&str], windows: bool) -> Vec<String> {
        let vars = vars
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let named: Vec<String> = named.iter().map(|n| (*n).to_owned()).collect();
        child_environment(vars, &named, windows)
            .into_iter()
            .map(|(k, _)| k.into_string().unwrap())
            .collect()
    }

    #[test]
    fn secrets_stay_behind() {
        let agent = [
            ("PATH", "/usr/bin"),
            ("HOME", "/home/me"),
            ("LANG", "de_DE.UTF-8"),
            ("LC_TIME", "C"),
            ("NOIP_PASSWORD", "hunter2"),
            ("DDNS_TOKEN", "t0k3n"),
            ("ROUTER_PASSWORD", "admin"),
            ("TEMP", "/tmp"),
            ("Path", "C:\\Windows"),
        ];
        assert_eq!(
            names(&agent, &[], false),
            ["PATH", "HOME", "LANG", "LC_TIME"]
        );
        assert_eq!(
            names(&agent, &["ROUTER_PASSWORD"], false),
            ["PATH", "HOME", "LANG", "LC_TIME", "ROUTER_PASSWORD"]
        );
        assert_eq!(
            names(&agent, &["router_password"], true),
            [
                "PATH",
                "HOME",
                "LANG",
                "LC_TIME",
                "ROUTER_PASSWORD",
                "TEMP",
                "Path"
            ]
        );
    }
}

// The tests run /bin/echo and /bin/sh.
#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;

    fn cmd(program: &str, args: &[&str]) -> CommandSource {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        CommandSource::new(program, &args, &[]).unwrap()
    }

    /// The program sees only what the allow-list passes: the test process's own environment
    /// has `CARGO_*` variables that must not reach it.
    #[tokio::test]
    async fn the_program_gets_a_cleared_environment() {
        let script = r#"if env | grep -q '^CARGO'; then echo 192.0.2.66; else echo 192.0.2.1; fi"#;
        assert!(std::env::vars().any(|(k, _)| k.starts_with("CARGO")));
        let got = cmd("/bin/sh", &["-c", script]).detect(Family::V4).await;
        assert_eq!(got.unwrap().to_string(), "192.0.2.1", "CARGO_* leaked");
        let c = CommandSource::new(
            "/bin/sh",
            &[
                "-c".into(),
                r#"echo "$CARGO_PKG_NAME" | grep -q ddns && echo 192.0.2.2"#.into(),
            ],
            &["CARGO_PKG_NAME".into()],
        )
        .unwrap();
        assert_eq!(c.detect(Family::V4).await.unwrap().to_string(), "192.0.2.2");
    }

    #[tokio::test]
    async fn echo_prints_one_address() {
        let got = cmd("/bin/echo", &["203.0.113.9"]).detect(Family::V4).await;
        assert_eq!(got.unwrap().to_string(), "203.0.113.9");
    }

    #[tokio::test]
    async fn family_is_passed_in_the_environment() {
        let script =
            r#"if [ "$DDNS_FAMILY" = ipv6 ]; then echo 2001:db8::7; else echo 192.0.2.7; fi"#;
        let c = cmd("/bin/sh", &["-c", script]);
        assert_eq!(
            c.detect(Family::V6).await.unwrap().to_string(),
            "2001:db8::7"
        );
        assert_eq!(c.detect(Family::V4).await.unwrap().to_string(), "192.0.2.7");
    }

    #[tokio::test]
    async fn failures_are_explained() {
        let e = cmd("/bin/sh", &["-c", "echo 'router said no' >&2; exit 3"])
            .detect(Family::V4)
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("exit status: 3") && text.contains("router said no"),
            "{text}"
        );
        let e = cmd("/nonexistent/wan-ip", &[])
            .detect(Family::V4)
            .await
            .unwrap_err();
        assert!(
            e.to_string().starts_with("cannot run /nonexistent/wan-ip"),
            "{e}"
        );
        let e = cmd("/bin/echo", &["192.0.2.1", "192.0.2.2"])
            .detect(Family::V4)
            .await;
        assert!(matches!(e, Err(DetectError::BadAnswer(_))), "{e:?}");
        let e = cmd("/bin/echo", &["-n", ""]).detect(Family::V4).await;
        assert!(matches!(e, Err(DetectError::BadAnswer(_))), "{e:?}");
    }

    #[test]
    fn validation_and_labels() {
        assert!(CommandSource::new("", &[], &[]).is_err());
        assert!(CommandSource::new("/bin/echo 1.2.3.4", &[], &[]).is_ok());
        let e = CommandSource::new("/bin/echo", &[], &["A=B".into()]).unwrap_err();
        assert!(e.to_string().starts_with("env: \"A=B\""), "{e}");
        let e = CommandSource::new(" /bin/echo", &[], &[]).unwrap_err();
        assert!(e.to_string().contains("arguments go in args"), "{e}");
        let c = cmd("/usr/bin/wan-ip", &["--iface", "ppp 0"]);
        assert_eq!(c.describe(), "/usr/bin/wan-ip --iface \"ppp 0\"");
    }
}
