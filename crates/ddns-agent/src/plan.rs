//! The agent's decisions, as pure functions of configuration, state, detections and time, so
//! every rule is tested without a network or a clock:
//!
//! - which addresses a record should have ([`desired_for_family`]: lines, failures, modes);
//! - whether to publish now ([`decide`]: change, pending change, drift, forced refresh, backoff,
//!   parked after a fatal answer);
//! - what a provider's answer does to the state ([`apply_outcome`]: success, backoff with full
//!   jitter and a cap, `Retry-After`, parking until the configuration changes).
//!
//! Two promises hold everywhere: an empty or failed detection never becomes a published
//! address, and a family without a fresh answer is left alone, not cleared.

use std::net::IpAddr;
use std::time::Duration;

use ddns_detect::Family;
use ddns_providers::Outcome;

use crate::config::LineMode;
use crate::state::{Addresses, Fatal, RecordState};

/// The addresses a family should have, from this round's line results (config order).
/// `None`: leave the family alone (no line has an address).
pub fn desired_for_family(
    state: &mut RecordState,
    family: Family,
    mode: LineMode,
    drop_after: u32,
    results: &[(String, Option<IpAddr>)],
) -> Option<Vec<IpAddr>> {
    let mut up = Vec::new();
    for (line, result) in results {
        let entry = state
            .lines
            .entry(format!("{line}/{}", family.as_str()))
            .or_default();
        match result {
            Some(address) => {
                entry.address = Some(*address);
                entry.failures = 0;
            }
            None => {
                entry.failures = entry.failures.saturating_add(1);
                if entry.failures >= drop_after {
                    entry.address = None;
                }
            }
        }
        if let Some(address) = entry.address {
            up.push(address);
        }
    }
    let mut chosen: Vec<IpAddr> = match mode {
        LineMode::Preferred => up.into_iter().take(1).collect(),
        LineMode::All => up,
    };
    chosen.sort_unstable();
    chosen.dedup();
    (!chosen.is_empty()).then_some(chosen)
}

/// Why a record is published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Never published before.
    Initial,
    /// The detected addresses differ from the published ones.
    Changed,
    /// The authoritative answer differs from what was published (drift or a manual edit).
    Drift,
    /// Nothing changed for `force_refresh`: publish once to keep the record alive.
    Refresh,
}

impl Reason {
    /// Name for logs and notifications.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initial => "initial",
            Self::Changed => "changed",
            Self::Drift => "drift",
            Self::Refresh => "refresh",
        }
    }
}

/// Why a record is not published this round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// The provider already has these addresses.
    UpToDate,
    /// No family has an address to publish (detection failed, nothing pending).
    NoAddress,
    /// Waiting after a failure until this time (Unix seconds).
    Backoff(u64),
    /// Parked after a fatal answer until the configuration changes.
    Parked(String),
}

/// The decision for one record this round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Publish these addresses (only the families present).
    Publish(Addresses, Reason),
    /// Do nothing.
    Skip(Skip),
}

/// Decides whether to publish. `desired` holds the families with a fresh answer; a pending
/// change from an earlier round (or before a restart) fills in families that have none.
pub fn decide(
    state: &mut RecordState,
    mut desired: Addresses,
    fingerprint: &str,
    now: u64,
    force_refresh: Duration,
    drift: bool,
) -> Decision {
    if let Some(fatal) = &state.fatal {
        if fatal.fingerprint == fingerprint {
            return Decision::Skip(Skip::Parked(fatal.message.clone()));
        }
        // The user changed the configuration: try again.
        state.fatal = None;
        state.failures = 0;
        state.next_attempt = None;
    }
    if let Some(pending) = &state.pending {
        for (family, addresses) in pending {
            desired.entry(*family).or_insert_with(|| addresses.clone());
        }
    }
    if desired.is_empty() {
        return Decision::Skip(Skip::NoAddress);
    }
    let changed = desired
        .iter()
        .any(|(family, addresses)| state.published.get(family) != Some(addresses));
    if let Some(until) = state.next_attempt.filter(|&t| t > now) {
        if changed {
            state.pending = Some(desired);
        }
        return Decision::Skip(Skip::Backoff(until));
    }
    let reason = if changed {
        if state.published.is_empty() {
            Reason::Initial
        } else {
            Reason::Changed
        }
    } else if drift {
        Reason::Drift
    } else if state
        .published_at
        .is_none_or(|at| now.saturating_sub(at) >= force_refresh.as_secs())
    {
        Reason::Refresh
    } else {
        return Decision::Skip(Skip::UpToDate);
    };
    Decision::Publish(desired, reason)
}

/// Backoff settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay scale for the first failure.
    pub base: Duration,
    /// Longest delay.
    pub cap: Duration,
}

impl RetryPolicy {
    /// "Full jitter" (AWS architecture blog, 2015): a uniformly random delay up to
    /// `min(cap, base · 2^(failures-1))`; `unit` in [0, 1) is the random draw.
    pub fn delay(&self, failures: u32, unit: f64) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        let ceiling = self.base.saturating_mul(1u32 << exp).min(self.cap);
        ceiling.mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// What happened to a record, for notifications.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Published; `changed` when the addresses differ from the previous ones; `recovered` when
    /// earlier attempts had failed.
    Published {
        /// New addresses (not a refresh of the same ones).
        changed: bool,
        /// After failures.
        recovered: bool,
    },
    /// A transient failure; `first` for the first of a series.
    Retrying {
        /// First failure in a row.
        first: bool,
        /// When the next attempt may happen (Unix seconds).
        next_attempt: u64,
        /// Why.
        reason: String,
    },
    /// A fatal answer: parked until the configuration changes.
    Parked {
        /// What the user must fix.
        message: String,
    },
}

/// Applies a provider's answer to the state.
pub fn apply_outcome(
    state: &mut RecordState,
    sent: &Addresses,
    outcome: &Outcome,
    fingerprint: &str,
    now: u64,
    retry: &RetryPolicy,
    unit: f64,
) -> Event {
    match outcome {
        Outcome::Published { .. } => {
            let changed = sent.iter().any(|(f, a)| state.published.get(f) != Some(a));
            let recovered = state.failures > 0 || state.fatal.is_some();
            for (family, addresses) in sent {
                state.published.insert(*family, addresses.clone());
            }
            state.published_at = Some(now);
            state.pending = None;
            state.failures = 0;
            state.next_attempt = None;
            state.fatal = None;
            Event::Published { changed, recovered }
        }
        Outcome::Transient {
            reason,
            retry_after,
        } => {
            state.failures = state.failures.saturating_add(1);
            let backoff = retry.delay(state.failures, unit);
            let wait = retry_after.map_or(backoff, |r| r.max(backoff));
            let next_attempt = now.saturating_add(wait.as_secs().max(1));
            state.next_attempt = Some(next_attempt);
            state.pending = Some(sent.clone());
            Event::Retrying {
                first: state.failures == 1,
                next_attempt,
                reason: reason.clone(),
            }
        }
        Outcome::Fatal { message, .. } => {
            state.fatal = Some(Fatal {
                message: message.clone(),
                fingerprint: fingerprint.to_owned(),
                at: now,
            });
            state.pending = Some(sent.clone());
            state.next_attempt = None;
            Event::Parked {
                message: message.clone(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddns_providers::FatalKind;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn v4(list: &[&str]) -> Addresses {
        [(Family::V4, list.iter().map(|s| ip(s)).collect())].into()
    }

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn lines_all_and_preferred_with_drop_after() {
        let mut state = RecordState::default();
        let results = |a: Option<&str>, b: Option<&str>| {
            vec![
                ("telecom".to_owned(), a.map(ip)),
                ("unicom".to_owned(), b.map(ip)),
            ]
        };
        let all = |s: &mut RecordState, a, b| {
            desired_for_family(s, Family::V4, LineMode::All, 2, &results(a, b))
        };
        assert_eq!(
            all(&mut state, Some("198.51.100.1"), Some("203.0.113.1")),
            Some(vec![ip("198.51.100.1"), ip("203.0.113.1")])
        );
        // unicom fails once: its last address is kept.
        assert_eq!(
            all(&mut state, Some("198.51.100.1"), None),
            Some(vec![ip("198.51.100.1"), ip("203.0.113.1")])
        );
        // …twice: dropped.
        assert_eq!(
            all(&mut state, Some("198.51.100.1"), None),
            Some(vec![ip("198.51.100.1")])
        );
        // back: restored.
        assert_eq!(
            all(&mut state, Some("198.51.100.1"), Some("203.0.113.2")),
            Some(vec![ip("198.51.100.1"), ip("203.0.113.2")])
        );

        let mut state = RecordState::default();
        let pref = |s: &mut RecordState, a, b| {
            desired_for_family(s, Family::V4, LineMode::Preferred, 1, &results(a, b))
        };
        assert_eq!(
            pref(&mut state, Some("198.51.100.1"), Some("203.0.113.1")),
            Some(vec![ip("198.51.100.1")])
        );
        assert_eq!(
            pref(&mut state, None, Some("203.0.113.1")),
            Some(vec![ip("203.0.113.1")]),
            "fallback line"
        );
        assert_eq!(
            pref(&mut state, None, None),
            None,
            "nothing to publish: family left alone"
        );
    }

    #[test]
    fn publish_only_on_change_drift_or_refresh() {
        let mut state = RecordState::default();
        assert_eq!(
            decide(&mut state, v4(&["192.0.2.1"]), "f", 1000, DAY, false),
            Decision::Publish(v4(&["192.0.2.1"]), Reason::Initial)
        );
        state.published = v4(&["192.0.2.1"]);
        state.published_at = Some(1000);
        assert_eq!(
            decide(&mut state, v4(&["192.0.2.1"]), "f", 2000, DAY, false),
            Decision::Skip(Skip::UpToDate),
            "never a stream of nochg"
        );
        assert_eq!(
            decide(&mut state, v4(&["192.0.2.1"]), "f", 2000, DAY, true),
            Decision::Publish(v4(&["192.0.2.1"]), Reason::Drift)
        );
        assert_eq!(
            decide(
                &mut state,
                v4(&["192.0.2.1"]),
                "f",
                1000 + 86_400,
                DAY,
                false
            ),
            Decision::Publish(v4(&["192.0.2.1"]), Reason::Refresh)
        );
        assert_eq!(
            decide(&mut state, v4(&["192.0.2.2"]), "f", 2000, DAY, false),
            Decision::Publish(v4(&["192.0.2.2"]), Reason::Changed)
        );
        assert_eq!(
            decide(&mut state, Addresses::new(), "f", 2000, DAY, false),
            Decision::Skip(Skip::NoAddress)
        );
    }

    #[test]
    fn fatal_parks_until_the_configuration_changes() {
        let mut state = RecordState::default();
        let retry = RetryPolicy {
            base: Duration::from_secs(15),
            cap: Duration::from_secs(1800),
        };
        let fatal = Outcome::fatal(
            FatalKind::Auth,
            "the server rejected the credentials (badauth)",
        );
        let event = apply_outcome(
            &mut state,
            &v4(&["192.0.2.1"]),
            &fatal,
            "f1",
            100,
            &retry,
            0.5,
        );
        assert!(matches!(event, Event::Parked { .. }));
        assert!(matches!(
            decide(&mut state, v4(&["192.0.2.1"]), "f1", 5000, DAY, false),
            Decision::Skip(Skip::Parked(_))
        ));
        assert_eq!(
            decide(&mut state, v4(&["192.0.2.1"]), "f2", 5000, DAY, false),
            Decision::Publish(v4(&["192.0.2.1"]), Reason::Initial)
        );
        assert!(state.fatal.is_none());
    }

    #[test]
    fn transient_failures_back_off_and_keep_the_change() {
        let mut state = RecordState::default();
        let retry = RetryPolicy {
            base: Duration::from_secs(15),
            cap: Duration::from_secs(1800),
        };
        let outage = Outcome::transient("connection refused");
        let sent = v4(&["192.0.2.7"]);
        let Event::Retrying {
            first,
            next_attempt,
            ..
        } = apply_outcome(&mut state, &sent, &outage, "f", 1000, &retry, 1.0)
        else {
            panic!()
        };
        assert!(first);
        assert_eq!(next_attempt, 1015);
        assert_eq!(state.pending, Some(sent.clone()));
        // During the backoff nothing is sent, and the change stays pending.
        assert_eq!(
            decide(&mut state, Addresses::new(), "f", 1010, DAY, false),
            Decision::Skip(Skip::Backoff(1015))
        );
        // Afterwards the pending change goes out even if detection has nothing this round.
        assert_eq!(
            decide(&mut state, Addresses::new(), "f", 1016, DAY, false),
            Decision::Publish(sent.clone(), Reason::Initial)
        );
        let Event::Retrying {
            first,
            next_attempt,
            ..
        } = apply_outcome(&mut state, &sent, &outage, "f", 1016, &retry, 1.0)
        else {
            panic!()
        };
        assert!(!first);
        assert_eq!(next_attempt, 1016 + 30, "doubles");
        // Retry-After wins when longer (911: 30 minutes).
        let maintenance = Outcome::Transient {
            reason: "911".into(),
            retry_after: Some(Duration::from_secs(1800)),
        };
        let Event::Retrying { next_attempt, .. } =
            apply_outcome(&mut state, &sent, &maintenance, "f", 2000, &retry, 0.0)
        else {
            panic!()
        };
        assert_eq!(next_attempt, 3800);
        let event = apply_outcome(
            &mut state,
            &sent,
            &Outcome::Published { changed: true },
            "f",
            4000,
            &retry,
            0.0,
        );
        assert_eq!(
            event,
            Event::Published {
                changed: true,
                recovered: true
            }
        );
        assert_eq!(
            (state.failures, state.pending.clone(), state.next_attempt),
            (0, None, None)
        );
    }

    #[test]
    fn full_jitter_is_bounded_by_the_cap() {
        let retry = RetryPolicy {
            base: Duration::from_secs(15),
            cap: Duration::from_secs(600),
        };
        assert_eq!(retry.delay(1, 1.0), Duration::from_secs(15));
        assert_eq!(retry.delay(3, 1.0), Duration::from_secs(60));
        assert_eq!(retry.delay(30, 1.0), Duration::from_secs(600));
        assert_eq!(retry.delay(200, 0.5), Duration::from_secs(300));
        assert_eq!(retry.delay(5, 0.0), Duration::ZERO);
    }
}
