//! The validity period of an X.509 certificate (RFC 5280 §4.1.2.5), read straight from its
//! DER: all ACME renewal needs, without an X.509 parsing library.
//!
//! ```text
//! Certificate  ::= SEQUENCE { tbsCertificate TBSCertificate, ... }
//! TBSCertificate ::= SEQUENCE {
//!      version [0] EXPLICIT Version DEFAULT v1, serialNumber INTEGER,
//!      signature AlgorithmIdentifier, issuer Name, validity Validity, ... }
//! Validity ::= SEQUENCE { notBefore Time, notAfter Time }
//! Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }
//! ```

use std::time::{Duration, SystemTime};

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// `notBefore` and `notAfter` of a DER certificate, or `None` when it cannot be read.
pub(crate) fn validity(der: &[u8]) -> Option<(SystemTime, SystemTime)> {
    let (certificate, _) = element(der, SEQUENCE)?;
    let (mut tbs, _) = element(certificate, SEQUENCE)?;
    if tbs.first() == Some(&VERSION) {
        tbs = element(tbs, VERSION)?.1;
    }
    let (_, rest) = element(tbs, INTEGER)?;
    let (_, rest) = element(rest, SEQUENCE)?; // signature algorithm
    let (_, rest) = element(rest, SEQUENCE)?; // issuer
    let (validity, _) = element(rest, SEQUENCE)?;
    let (not_before, rest) = time(validity)?;
    let (not_after, _) = time(rest)?;
    Some((not_before, not_after))
}

/// One element of type `tag` at the start of `input`: (its content, what follows it).
fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len_byte, rest) = rest.split_first()?;
    let (len, rest) = if len_byte < 0x80 {
        (usize::from(len_byte), rest)
    } else {
        let count = usize::from(len_byte & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest)
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

fn time(input: &[u8]) -> Option<(SystemTime, &[u8])> {
    let (text, year_digits) = match *input.first()? {
        UTC_TIME => (element(input, UTC_TIME)?, 2),
        GENERALIZED_TIME => (element(input, GENERALIZED_TIME)?, 4),
        _ => return None,
    };
    let (content, rest) = text;
    Some((parse_time(content, year_digits)?, rest))
}

/// `YYMMDDHHMMSSZ` (UTCTime, RFC 5280: 50–99 are 19xx) or `YYYYMMDDHHMMSSZ`.
fn parse_time(text: &[u8], year_digits: usize) -> Option<SystemTime> {
    if text.len() != year_digits + 11 || text.last() != Some(&b'Z') {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(range)?;
        digits.iter().try_fold(0i64, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    let mut year = number(0..year_digits)?;
    if year_digits == 2 {
        year += if year >= 50 { 1900 } else { 2000 };
    }
    let at = year_digits;
    let (month, day) = (number(at..at + 2)?, number(at + 2..at + 4)?);
    let (hour, minute, second) = (
        number(at + 4..at + 6)?,
        number(at + 6..at + 8)?,
        number(at + 8..at + 10)?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    let seconds = u64::try_from(seconds).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(secs(parse_time(b"700101000000Z", 2).unwrap()), 0);
        assert_eq!(
            secs(parse_time(b"20261203094100Z", 4).unwrap()),
            1_796_290_860
        );
        assert_eq!(
            secs(parse_time(b"491231235959Z", 2).unwrap()),
            2_524_607_999
        );
        assert!(parse_time(b"2026120309410Z", 4).is_none());
        assert!(parse_time(b"20261303094100Z", 4).is_none());
    }

    #[test]
    fn reads_a_certificate_and_refuses_junk() {
        let mut params = rcgen::CertificateParams::new(vec!["a.example".to_owned()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2026, 1, 2);
        params.not_after = rcgen::date_time_ymd(2051, 3, 4);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let (from, to) = validity(cert.der()).unwrap();
        let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(secs(from), 1_767_312_000);
        assert_eq!(secs(to), 2_561_500_800);
        assert!(validity(&cert.der()[..40]).is_none());
        assert!(validity(b"not a certificate").is_none());
    }
}
