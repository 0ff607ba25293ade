//! Asking every source at once and deciding whether they agree.
//!
//! A single echo service can be wrong: it may sit behind a CDN that answers with its own
//! anycast address, return an error page, or lag behind a reconnect
//! (qdm12/ddns-updater#351: a record flip-flopping between the old and new address). So
//! every source is asked concurrently under one timeout, every answer is checked against the
//! [`AllowedClasses`], and an address is accepted only when at least `quorum` sources gave it
//! and no other address got as many votes. Anything else is a [`Verdict::Failed`] with a
//! reason, and the agent publishes nothing.
//!
//! Local sources (interfaces, fixed addresses) are counted like any other: one vote each.
//! An agent configured with only local sources, or only one source, sets `quorum = 1`
//! ([`Policy::for_sources`] does that for a single source).

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use tokio::task::JoinSet;

use crate::Family;
use crate::classify::{AllowedClasses, classify};
use crate::source::{DetectError, Source};

/// How detections are judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// How many sources must give the same address (at least 1).
    pub quorum: usize,
    /// How long each source may take.
    pub timeout: Duration,
    /// Address classes accepted besides public ones.
    pub allow: AllowedClasses,
}

impl Policy {
    /// The default per-source timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// The default policy for `count` configured sources: quorum 2, or 1 for a single source.
    pub fn for_sources(count: usize) -> Self {
        Self {
            quorum: if count <= 1 { 1 } else { 2 },
            ..Self::default()
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            quorum: 2,
            timeout: Self::DEFAULT_TIMEOUT,
            allow: AllowedClasses::default(),
        }
    }
}

/// One source's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// The source's label, e.g. `http https://api.ipify.org/`.
    pub source: String,
    /// The address, or why there is none (including rejection by the policy).
    pub result: Result<IpAddr, DetectError>,
    /// How long the source took.
    pub latency: Duration,
}

/// Votes for one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// The address.
    pub address: IpAddr,
    /// How many sources gave it.
    pub votes: usize,
}

/// Why no address was agreed on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FailReason {
    /// Nothing to ask.
    NoSources,
    /// Every source failed or was rejected.
    AllFailed {
        /// How many sources there were.
        sources: usize,
    },
    /// Two or more addresses got the most votes.
    Disagreement {
        /// All addresses given, most votes first.
        tallies: Vec<Tally>,
    },
    /// The leading address has fewer votes than the quorum.
    NoQuorum {
        /// The leading address.
        best: Tally,
        /// The quorum.
        quorum: usize,
    },
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSources => f.write_str("no sources configured"),
            Self::AllFailed { sources: 1 } => f.write_str("the only source failed"),
            Self::AllFailed { sources } => write!(f, "all {sources} sources failed"),
            Self::Disagreement { tallies } => {
                f.write_str("sources disagree: ")?;
                for (i, t) in tallies.iter().enumerate() {
                    let sep = if i > 0 { ", " } else { "" };
                    write!(f, "{sep}{} ({})", t.address, votes(t.votes))?;
                }
                Ok(())
            }
            Self::NoQuorum { best, quorum } => write!(
                f,
                "only {} for {}; {quorum} must agree",
                votes(best.votes),
                best.address
            ),
        }
    }
}

fn votes(n: usize) -> String {
    if n == 1 {
        "1 vote".into()
    } else {
        format!("{n} votes")
    }
}

/// The outcome of a detection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verdict {
    /// At least `quorum` sources gave this address and no other address as many.
    Agreed {
        /// The address to publish.
        address: IpAddr,
        /// How many sources gave it.
        votes: usize,
    },
    /// Nothing to publish.
    Failed {
        /// Why.
        reason: FailReason,
    },
}

/// Everything one detection saw, for logs, `ddns ip` and `ddns ip --json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The family detected.
    pub family: Family,
    /// The quorum applied.
    pub quorum: usize,
    /// One per source, in configuration order.
    pub observations: Vec<Observation>,
    /// The outcome.
    pub verdict: Verdict,
}

impl Report {
    /// The agreed address, if any.
    pub fn address(&self) -> Option<IpAddr> {
        match self.verdict {
            Verdict::Agreed { address, .. } => Some(address),
            Verdict::Failed { .. } => None,
        }
    }

    /// One line: `IPv4 203.0.113.7 (3 of 4 sources agree, quorum 2)` or
    /// `IPv4 failed: all 4 sources failed`.
    pub fn summary(&self) -> String {
        match &self.verdict {
            Verdict::Agreed { address, votes } => format!(
                "{} {address} ({votes} of {} sources agree, quorum {})",
                self.family,
                self.observations.len(),
                self.quorum
            ),
            Verdict::Failed { reason } => format!("{} failed: {reason}", self.family),
        }
    }

    /// Builds the report from observations (already checked against the policy).
    pub fn from_observations(
        family: Family,
        quorum: usize,
        observations: Vec<Observation>,
    ) -> Self {
        let quorum = quorum.max(1);
        let verdict = decide(&observations, quorum);
        Self {
            family,
            quorum,
            observations,
            verdict,
        }
    }
}

fn decide(observations: &[Observation], quorum: usize) -> Verdict {
    if observations.is_empty() {
        return Verdict::Failed {
            reason: FailReason::NoSources,
        };
    }
    let mut tallies: Vec<Tally> = Vec::new();
    for address in observations.iter().filter_map(|o| o.result.as_ref().ok()) {
        match tallies.iter_mut().find(|t| t.address == *address) {
            Some(t) => t.votes += 1,
            None => tallies.push(Tally {
                address: *address,
                votes: 1,
            }),
        }
    }
    tallies.sort_by(|a, b| b.votes.cmp(&a.votes).then(a.address.cmp(&b.address)));
    let reason = match tallies.as_slice() {
        [] => FailReason::AllFailed {
            sources: observations.len(),
        },
        [first, second, ..] if second.votes == first.votes => FailReason::Disagreement { tallies },
        [best, ..] if best.votes < quorum => FailReason::NoQuorum {
            best: *best,
            quorum,
        },
        [best, ..] => {
            return Verdict::Agreed {
                address: best.address,
                votes: best.votes,
            };
        }
    };
    Verdict::Failed { reason }
}

/// Asks every source concurrently, each under `policy.timeout`, checks each answer against
/// `policy.allow`, and decides. Never fails: failures are in the report.
pub async fn detect(sources: &[Source], family: Family, policy: &Policy) -> Report {
    let mut tasks = JoinSet::new();
    for (index, source) in sources.iter().enumerate() {
        let source = source.clone();
        let timeout = policy.timeout;
        tasks.spawn(async move {
            let started = Instant::now();
            let result = source.detect(family, timeout).await;
            (index, result, started.elapsed())
        });
    }
    let mut results: Vec<Option<(Result<IpAddr, DetectError>, Duration)>> =
        vec![None; sources.len()];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, result, latency)) = joined {
            results[index] = Some((result, latency));
        }
    }
    let observations = sources
        .iter()
        .zip(results)
        .map(|(source, outcome)| {
            let (result, latency) = outcome.unwrap_or_else(|| {
                (
                    Err(DetectError::Internal("the detection task stopped".into())),
                    Duration::ZERO,
                )
            });
            let result = result.and_then(|address| admit(address, policy.allow));
            match &result {
                Ok(address) => {
                    tracing::debug!(source = source.label(), %address, ?latency, "detected");
                }
                Err(error) => {
                    tracing::debug!(source = source.label(), %error, ?latency, "detection failed");
                }
            }
            Observation {
                source: source.label().to_owned(),
                result,
                latency,
            }
        })
        .collect();
    let report = Report::from_observations(family, policy.quorum, observations);
    tracing::debug!(summary = report.summary(), "detection verdict");
    report
}

/// Passes an address the policy accepts; never the unspecified, multicast or broadcast one.
pub fn admit(address: IpAddr, allow: AllowedClasses) -> Result<IpAddr, DetectError> {
    let class = classify(address);
    if allow.permits(class) {
        Ok(address)
    } else {
        Err(DetectError::Rejected { address, class })
    }
}

impl Serialize for Observation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Observation", 5)?;
        s.serialize_field("source", &self.source)?;
        s.serialize_field("address", &self.result.as_ref().ok())?;
        let error = self.result.as_ref().err();
        s.serialize_field("error", &error.map(ToString::to_string))?;
        s.serialize_field("error_kind", &error.map(DetectError::kind))?;
        s.serialize_field("latency_ms", &millis(self.latency))?;
        s.end()
    }
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Report", 6)?;
        s.serialize_field("family", &self.family)?;
        s.serialize_field("address", &self.address())?;
        s.serialize_field("quorum", &self.quorum)?;
        s.serialize_field("summary", &self.summary())?;
        s.serialize_field("verdict", &self.verdict)?;
        s.serialize_field("observations", &self.observations)?;
        s.end()
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A table, one row per source, then the summary line.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<(&str, String, String)> = self
            .observations
            .iter()
            .map(|o| {
                let answer = match &o.result {
                    Ok(address) => address.to_string(),
                    Err(e) => format!("error: {e}"),
                };
                (o.source.as_str(), answer, millis(o.latency).to_string())
            })
            .collect();
        let width = |header: &str, column: &dyn Fn(&(&str, String, String)) -> usize| {
            rows.iter()
                .map(column)
                .chain([header.len()])
                .max()
                .unwrap_or(0)
        };
        let (w0, w1, w2) = (
            width("SOURCE", &|r| r.0.chars().count()),
            width("ANSWER", &|r| r.1.chars().count()),
            width("MS", &|r| r.2.len()),
        );
        writeln!(f, "{:<w0$}  {:<w1$}  {:>w2$}", "SOURCE", "ANSWER", "MS")?;
        for (source, answer, ms) in &rows {
            writeln!(f, "{source:<w0$}  {answer:<w1$}  {ms:>w2$}")?;
        }
        write!(f, "{}", self.summary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::AddressClass;

    fn obs(answers: &[Result<&str, DetectError>]) -> Vec<Observation> {
        answers
            .iter()
            .enumerate()
            .map(|(i, a)| Observation {
                source: format!("fixed #{i}"),
                result: a.clone().map(|s| s.parse().unwrap()),
                latency: Duration::from_millis(10 * i as u64),
            })
            .collect()
    }

    fn timeout() -> DetectError {
        DetectError::Timeout(Duration::from_secs(2))
    }

    #[test]
    fn agreement_needs_quorum_and_a_clear_lead() {
        let r = Report::from_observations(
            Family::V4,
            2,
            obs(&[
                Ok("203.0.113.7"),
                Ok("203.0.113.7"),
                Ok("198.51.100.1"),
                Err(timeout()),
            ]),
        );
        assert_eq!(r.address(), Some("203.0.113.7".parse().unwrap()));
        assert_eq!(
            r.verdict,
            Verdict::Agreed {
                address: "203.0.113.7".parse().unwrap(),
                votes: 2
            }
        );
        assert_eq!(
            r.summary(),
            "IPv4 203.0.113.7 (2 of 4 sources agree, quorum 2)"
        );

        let r = Report::from_observations(
            Family::V4,
            2,
            obs(&[
                Ok("203.0.113.7"),
                Ok("198.51.100.1"),
                Ok("203.0.113.7"),
                Ok("198.51.100.1"),
            ]),
        );
        assert_eq!(r.address(), None);
        assert_eq!(
            r.summary(),
            "IPv4 failed: sources disagree: 198.51.100.1 (2 votes), 203.0.113.7 (2 votes)"
        );

        let r = Report::from_observations(Family::V6, 2, obs(&[Ok("2001:db8::1"), Err(timeout())]));
        assert_eq!(
            r.summary(),
            "IPv6 failed: only 1 vote for 2001:db8::1; 2 must agree"
        );

        let r = Report::from_observations(
            Family::V4,
            3,
            obs(&[Ok("192.0.2.1"), Ok("192.0.2.1"), Ok("192.0.2.2")]),
        );
        assert!(matches!(
            r.verdict,
            Verdict::Failed {
                reason: FailReason::NoQuorum { quorum: 3, .. }
            }
        ));
    }

    #[test]
    fn failures() {
        let r = Report::from_observations(Family::V4, 2, Vec::new());
        assert_eq!(r.summary(), "IPv4 failed: no sources configured");
        let r = Report::from_observations(Family::V4, 1, obs(&[Err(timeout()), Err(timeout())]));
        assert_eq!(r.summary(), "IPv4 failed: all 2 sources failed");
        let r = Report::from_observations(Family::V4, 0, obs(&[Ok("192.0.2.1")]));
        assert_eq!(r.quorum, 1);
        assert!(r.address().is_some());
    }

    #[test]
    fn policy_filters_classes() {
        let allow = AllowedClasses::default();
        for bogon in [
            "10.0.0.1",
            "100.64.1.1",
            "0.0.0.0",
            "255.255.255.255",
            "::",
            "fe80::1",
            "2001:db8::1",
        ] {
            let e = admit(bogon.parse().unwrap(), allow).unwrap_err();
            assert!(matches!(e, DetectError::Rejected { .. }), "{bogon}");
        }
        assert!(admit("8.8.8.8".parse().unwrap(), allow).is_ok());
        let lan = AllowedClasses::new([AddressClass::Private, AddressClass::Cgnat]);
        assert!(admit("10.0.0.1".parse().unwrap(), lan).is_ok());
        assert!(admit("100.64.1.1".parse().unwrap(), lan).is_ok());
        assert!(admit("0.0.0.0".parse().unwrap(), lan).is_err());
    }

    #[test]
    fn policy_defaults() {
        assert_eq!(Policy::for_sources(1).quorum, 1);
        assert_eq!(Policy::for_sources(0).quorum, 1);
        assert_eq!(Policy::for_sources(5).quorum, 2);
        assert_eq!(Policy::default().timeout, Duration::from_secs(5));
    }

    #[test]
    fn table_and_json() {
        let r = Report::from_observations(
            Family::V4,
            2,
            obs(&[Ok("203.0.113.7"), Err(timeout()), Ok("203.0.113.7")]),
        );
        let table = r.to_string();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 5, "{table}");
        assert!(
            lines[0].starts_with("SOURCE") && lines[0].ends_with("MS"),
            "{table}"
        );
        assert!(
            lines[2].contains("error: no answer within 2000 ms"),
            "{table}"
        );
        assert!(lines[2].ends_with("10"), "{table}");
        assert_eq!(lines[1].len(), lines[2].len(), "columns align:\n{table}");
        assert_eq!(
            lines[4],
            "IPv4 203.0.113.7 (2 of 3 sources agree, quorum 2)"
        );

        let json: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(json["family"], "ipv4");
        assert_eq!(json["address"], "203.0.113.7");
        assert_eq!(json["verdict"]["status"], "agreed");
        assert_eq!(json["verdict"]["votes"], 2);
        assert_eq!(json["observations"][1]["error_kind"], "timeout");
        assert_eq!(json["observations"][1]["address"], serde_json::Value::Null);
        assert_eq!(json["observations"][2]["latency_ms"], 20);

        let failed =
            Report::from_observations(Family::V6, 2, obs(&[Ok("2001:db8::1"), Ok("2001:db8::2")]));
        let json = serde_json::to_value(&failed).unwrap();
        assert_eq!(json["verdict"]["status"], "failed");
        assert_eq!(json["verdict"]["reason"]["kind"], "disagreement");
        assert_eq!(json["verdict"]["reason"]["tallies"][0]["votes"], 1);
        assert_eq!(json["address"], serde_json::Value::Null);
    }
}
