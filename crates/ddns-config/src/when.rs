//! Moments as people give them on the command line and in API bodies: a duration from now
//! (`90d`, `12h`, as in config files) or an RFC 3339 time (`2027-01-31T00:00:00Z`); and the
//! RFC 3339 text of a moment, as listings show it. Moments are seconds since the Unix epoch.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::duration::parse_duration;

/// `text` as a moment: `now` plus a duration, or an RFC 3339 time. A moment that is not after
/// `now` is an error (a token that expires at once is a mistake).
pub fn parse_moment(text: &str, now: i64) -> Result<i64, String> {
    let text = text.trim();
    let at = if text.starts_with(|c: char| c.is_ascii_digit()) && !text.contains('-') {
        let d = parse_duration(text)?;
        i64::try_from(d.as_secs())
            .ok()
            .and_then(|secs| now.checked_add(secs))
            .ok_or_else(|| format!("{text:?} is too far in the future"))?
    } else {
        OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|_| {
                format!(
                    "{text:?} is neither a duration (90d, 12h) nor an RFC 3339 time (2027-01-31T00:00:00Z)"
                )
            })?
            .unix_timestamp()
    };
    if at <= now {
        return Err(format!("{text:?} is not in the future"));
    }
    Ok(at)
}

/// A duration such as `7d` or `0s`, in seconds.
pub fn parse_seconds(text: &str) -> Result<i64, String> {
    let d = parse_duration(text)?;
    i64::try_from(d.as_secs()).map_err(|_| format!("{text:?} is too long"))
}

/// The RFC 3339 text (UTC) of a moment.
pub fn rfc3339(at: i64) -> String {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times() {
        let now = 1_800_000_000;
        assert_eq!(parse_moment("90d", now), Ok(now + 90 * 86_400));
        assert_eq!(parse_moment("3600", now), Ok(now + 3600));
        assert_eq!(parse_moment("2027-01-31T00:00:00Z", now), Ok(1_801_353_600));
        assert_eq!(rfc3339(1_801_353_600), "2027-01-31T00:00:00Z");
        assert!(
            parse_moment("2020-01-01T00:00:00Z", now)
                .unwrap_err()
                .contains("future")
        );
        assert!(parse_moment("0s", now).is_err());
        assert!(parse_moment("soon", now).unwrap_err().contains("RFC 3339"));
        assert_eq!(parse_seconds("7d"), Ok(7 * 86_400));
    }
}
