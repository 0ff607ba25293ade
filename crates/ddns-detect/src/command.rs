//! Detection by a user's program: the escape hatch for routers with their own APIs (TR-064,
//! RouterOS, vendor web pages), without ddns knowing each.
//!
//! The program runs directly, never through a shell, so configuration values cannot inject
//! commands (jeessy2/ddns-go#1521 was exactly that). Its standard output must be exactly one
//! address; the environment variable `DDNS_FAMILY` (`ipv4` or `ipv6`) tells it which family is
//! wanted, so one script can serve both. It is killed when the detection times out.

use std::net::IpAddr;
use std::process::Stdio;

use crate::Family;
use crate::source::{DetectError, SpecError, parse_one_address, snippet};

/// A validated command source.
#[derive(Clone, Debug)]
pub struct CommandSource {
    program: String,
    args: Vec<String>,
}

impl CommandSource {
    /// Validates the program name.
    pub fn new(program: &str, args: &[String]) -> Result<Self, SpecError> {
        if program.trim().is_empty() {
            return Err(SpecError::invalid("program", "must not be empty"));
        }
        if program != program.trim() {
            return Err(SpecError::invalid(
                "program",
                format!("{program:?} has surrounding spaces; arguments go in args"),
            ));
        }
        Ok(Self {
            program: program.to_owned(),
            args: args.to_vec(),
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
        let output = tokio::process::Command::new(&self.program)
            .args(&self.args)
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

// The tests run /bin/echo and /bin/sh.
#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;

    fn cmd(program: &str, args: &[&str]) -> CommandSource {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        CommandSource::new(program, &args).unwrap()
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
        assert!(CommandSource::new("", &[]).is_err());
        assert!(CommandSource::new("/bin/echo 1.2.3.4", &[]).is_ok());
        let e = CommandSource::new(" /bin/echo", &[]).unwrap_err();
        assert!(e.to_string().contains("arguments go in args"), "{e}");
        let c = cmd("/usr/bin/wan-ip", &["--iface", "ppp 0"]);
        assert_eq!(c.describe(), "/usr/bin/wan-ip --iface \"ppp 0\"");
    }
}
