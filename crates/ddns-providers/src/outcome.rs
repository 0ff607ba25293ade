//! What a publish attempt came to, in the three classes the agent acts on.
//!
//! Every provider maps its own answers (DynDNS2 codes, HTTP statuses, JSON error codes) into
//! [`Outcome`] so the agent needs one policy, not one per provider (clients.md §4.4):
//! - [`Outcome::Published`]: persist the addresses; never retry a `nochg` in a loop;
//! - [`Outcome::Transient`]: retry later, no sooner than `retry_after` when the provider said so;
//! - [`Outcome::Fatal`]: park the record until the user changes the configuration. Dyn's policy
//!   forbids retrying `badauth`, `nohost`, `notfqdn`, `abuse`, `badagent` and `badsys` "without
//!   user intervention", so the message says exactly what to fix.
//!
//! `Retry-After` parsing lives here because every HTTP provider honours it the same way.

use std::fmt;
use std::time::{Duration, SystemTime};

/// The least a client waits after a DynDNS2 `911`.
///
/// ```text
/// 911 | A fatal error on our side such as a database outage. Retry the update no sooner
///       30 minutes.                                        (noip.com/integrate/response)
/// ```
pub const MIN_RETRY_AFTER_911: Duration = Duration::from_secs(30 * 60);

/// The result of one [`Provider::publish`](crate::Provider::publish).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The provider now serves the addresses.
    Published {
        /// `true` when the provider changed something (`good`), `false` when it already had
        /// these addresses (`nochg`).
        changed: bool,
    },
    /// A failure that may go away by itself: network trouble, timeouts, server errors,
    /// rate limits, provider maintenance.
    Transient {
        /// What happened, for logs and notifications.
        reason: String,
        /// The earliest moment to try again, when the provider gave one.
        retry_after: Option<Duration>,
    },
    /// A failure that repeats until the user changes something; the agent stops publishing
    /// this record to this provider.
    Fatal {
        /// What the user has to look at.
        kind: FatalKind,
        /// One sentence saying what went wrong and what to fix.
        message: String,
    },
}

/// Why a publish failed for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FatalKind {
    /// The credentials are wrong or may not update this name (`badauth`, HTTP 401/403).
    Auth,
    /// The provider does not know the name, or it is not the user's (`nohost`, `notfqdn`,
    /// `!yours`).
    Host,
    /// The request itself is wrong for this provider: a bad URL, a conflicting record,
    /// an option the provider does not support (`numhost`, `badsys`, HTTP 400/409).
    Config,
    /// The account lacks something: a paid feature, an activated domain (`!donator`,
    /// `!active`).
    Account,
    /// The provider blocked the host or account for abuse (`abuse`).
    Abuse,
    /// The provider refuses this client (`badagent`).
    Agent,
}

impl FatalKind {
    /// A short lower-case name for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Host => "host",
            Self::Config => "config",
            Self::Account => "account",
            Self::Abuse => "abuse",
            Self::Agent => "agent",
        }
    }
}

impl fmt::Display for FatalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Outcome {
    /// A transient failure without a provider-given wait.
    pub fn transient(reason: impl Into<String>) -> Self {
        Self::Transient {
            reason: reason.into(),
            retry_after: None,
        }
    }

    /// A fatal failure.
    pub fn fatal(kind: FatalKind, message: impl Into<String>) -> Self {
        Self::Fatal {
            kind,
            message: message.into(),
        }
    }

    /// Whether the addresses were published.
    pub fn is_published(&self) -> bool {
        matches!(self, Self::Published { .. })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Published { changed: true } => f.write_str("published"),
            Self::Published { changed: false } => f.write_str("already up to date"),
            Self::Transient {
                reason,
                retry_after: Some(wait),
            } => write!(f, "{reason} (retry in {} s)", wait.as_secs()),
            Self::Transient { reason, .. } => f.write_str(reason),
            Self::Fatal { message, .. } => f.write_str(message),
        }
    }
}

/// Parses a `Retry-After` header value: delta-seconds or an HTTP-date, relative to `now`.
///
/// ```text
/// Retry-After = HTTP-date / delay-seconds                               (RFC 9110 §10.2.3)
/// ```
/// A date in the past means "now" (zero). Anything else gives `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly long values saturate rather than fail: the server clearly wants a long wait.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let when = parse_http_date(value)?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses an HTTP-date in any of the three forms recipients must accept.
///
/// ```text
/// Sun, 06 Nov 1994 08:49:37 GMT    ; IMF-fixdate
/// Sunday, 06-Nov-94 08:49:37 GMT   ; obsolete RFC 850 format
/// Sun Nov  6 08:49:37 1994         ; ANSI C's asctime() format         (RFC 9110 §5.6.7)
/// ```
pub fn parse_http_date(value: &str) -> Option<SystemTime> {
    let words: Vec<&str> = value.split_ascii_whitespace().collect();
    let (day, month, year, clock) = match words.as_slice() {
        [weekday, day, month, year, clock, "GMT"] if weekday.ends_with(',') => {
            (*day, *month, year.parse::<i32>().ok()?, *clock)
        }
        [weekday, date, clock, "GMT"] if weekday.ends_with(',') => {
            let mut parts = date.split('-');
            let (day, month, yy) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || yy.len() != 2 {
                return None;
            }
            // Two-digit years: RFC 9110 asks for the most recent matching year that is not more
            // than 50 years in the future; a fixed pivot is close enough for retry hints.
            let yy: i32 = yy.parse().ok()?;
            (
                day,
                month,
                if yy < 70 { 2000 + yy } else { 1900 + yy },
                *clock,
            )
        }
        [_weekday, month, day, clock, year] => (*day, *month, year.parse::<i32>().ok()?, *clock),
        _ => return None,
    };
    let month = MONTHS.iter().position(|m| *m == month)?;
    let month = time::Month::try_from(u8::try_from(month + 1).ok()?).ok()?;
    let date = time::Date::from_calendar_date(year, month, day.parse().ok()?).ok()?;
    let mut hms = clock.split(':').map(|p| p.parse::<u8>().ok());
    let (Some(Some(h)), Some(Some(m)), Some(Some(s)), None) =
        (hms.next(), hms.next(), hms.next(), hms.next())
    else {
        return None;
    };
    let stamp = date.with_hms(h, m, s).ok()?.assume_utc().unix_timestamp();
    let secs = u64::try_from(stamp).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    // 784111777 = Sun, 06 Nov 1994 08:49:37 GMT
    const RFC_EXAMPLE: u64 = 784_111_777;

    #[test]
    fn delta_seconds() {
        assert_eq!(
            parse_retry_after("120", at(0)),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after(" 0 ", at(0)),
            Some(Duration::from_secs(0))
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", at(0)),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse_retry_after("-5", at(0)), None);
        assert_eq!(parse_retry_after("1.5", at(0)), None);
        assert_eq!(parse_retry_after("", at(0)), None);
    }

    #[test]
    fn all_three_date_forms() {
        for form in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse_http_date(form), Some(at(RFC_EXAMPLE)), "{form}");
        }
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:51:37 GMT", at(RFC_EXAMPLE)),
            Some(Duration::from_secs(120))
        );
        // In the past: retry now.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at(RFC_EXAMPLE + 10)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn malformed_dates() {
        for bad in [
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "tomorrow",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn display() {
        let t = Outcome::Transient {
            reason: "busy".into(),
            retry_after: Some(Duration::from_secs(5)),
        };
        assert_eq!(t.to_string(), "busy (retry in 5 s)");
        assert_eq!(
            Outcome::Published { changed: false }.to_string(),
            "already up to date"
        );
        assert!(!Outcome::fatal(FatalKind::Auth, "x").is_published());
    }
}
