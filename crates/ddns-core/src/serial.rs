//! SOA serial numbers and their arithmetic.
//!
//! ```text
//! RFC 1982 §3.1: Serial numbers may be incremented by the addition of a positive integer n,
//! where n is taken from the range of integers [0 .. (2^(SERIAL_BITS - 1) - 1)] …
//! s' = (s + n) modulo (2 ^ SERIAL_BITS)
//! RFC 1982 §3.2: s1 is said to be greater than s2 if, and only if, s1 is not equal to s2, and
//! (i1 < i2 and i2 - i1 > 2^(SERIAL_BITS - 1)) or (i1 > i2 and i1 - i2 < 2^(SERIAL_BITS - 1))
//! ```
//! Secondaries transfer a zone only when its serial is greater in this sense, so every change
//! must produce a serial that compares greater than the previous one.

const HALF: u32 = 1 << 31;

/// An SOA serial with RFC 1982 comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Serial(pub u32);

impl Serial {
    /// The serial of a new zone: the date as `YYYYMMDD00`, the convention operators read easily.
    pub fn initial(unix_seconds: u64) -> Self {
        let days = (unix_seconds / 86_400) as i64;
        let (y, m, d) = civil_from_days(days);
        let value = (y as u64) * 1_000_000 + (m as u64) * 10_000 + (d as u64) * 100;
        Self(u32::try_from(value).unwrap_or(1))
    }

    /// The serial after one change: one more, modulo 2^32 (RFC 1982 §3.1).
    #[must_use]
    pub fn next(self) -> Self {
        Self(self.0.wrapping_add(1))
    }

    /// RFC 1982 §3.2 "greater than". Undefined pairs (exactly 2^31 apart) are not greater.
    pub fn is_greater_than(self, other: Self) -> bool {
        let (a, b) = (self.0, other.0);
        a != b && ((a < b && b - a > HALF) || (a > b && a - b < HALF))
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_is_the_date() {
        // 2026-11-22T12:00:00Z
        assert_eq!(Serial::initial(1_795_348_800), Serial(2_026_112_200));
        assert_eq!(Serial::initial(0), Serial(1_970_010_100));
    }

    #[test]
    fn next_wraps_and_stays_greater() {
        let max = Serial(u32::MAX);
        assert_eq!(max.next(), Serial(0));
        assert!(max.next().is_greater_than(max));
        assert!(Serial(5).next().is_greater_than(Serial(5)));
        assert!(!Serial(5).is_greater_than(Serial(5)));
        assert!(!Serial(0).is_greater_than(Serial(HALF)));
        assert!(!Serial(HALF).is_greater_than(Serial(0)));
        assert!(Serial(HALF - 1).is_greater_than(Serial(0)));
    }

    proptest::proptest! {
        #[test]
        fn next_is_always_greater(s in proptest::num::u32::ANY) {
            proptest::prop_assert!(Serial(s).next().is_greater_than(Serial(s)));
            proptest::prop_assert!(!Serial(s).is_greater_than(Serial(s).next()));
        }
    }
}
