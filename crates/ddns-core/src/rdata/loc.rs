//! LOC RDATA (RFC 1876): a location as latitude, longitude and altitude with size and
//! precision, 16 octets of version 0.
//!
//! RFC 1876 §2: "VERSION Version number of the representation. This must be zero." SIZE,
//! HORIZ PRE and VERT PRE are "expressed as a pair of four-bit unsigned integers, each
//! ranging from zero to nine, with the most significant four bits representing the base and
//! the second number representing the power of ten by which to multiply the base." LATITUDE
//! and LONGITUDE are thousandths of a second of arc with 2^31 at the equator and the prime
//! meridian; ALTITUDE is centimetres above a base 100,000 m below the WGS 84 spheroid.

use std::fmt::Write as _;

use super::RdataError;
use super::text::Token;
use crate::rtype::Rtype;

const EQUATOR: i64 = 1 << 31;
const MS_PER_DEGREE: i64 = 3_600_000;
const ALTITUDE_BASE_CM: i64 = 10_000_000;
/// RFC 1876 §3 defaults: size 1 m, horizontal precision 10,000 m, vertical precision 10 m.
const DEFAULT_SIZE: u8 = 0x12;
const DEFAULT_HORIZ_PRE: u8 = 0x16;
const DEFAULT_VERT_PRE: u8 = 0x13;

fn precision_ok(byte: u8) -> bool {
    byte >> 4 <= 9 && byte & 0x0f <= 9
}

/// Validates LOC wire RDATA.
pub(crate) fn validate(rtype: Rtype, wire: &[u8]) -> Result<(), RdataError> {
    if wire.len() != 16 {
        return Err(RdataError::Length {
            rtype,
            len: wire.len(),
            expected: 16,
        });
    }
    if wire[0] != 0 {
        return Err(RdataError::field(
            rtype,
            "version",
            format!("{} is not 0, the only version RFC 1876 defines", wire[0]),
        ));
    }
    for (byte, field) in [
        (wire[1], "size"),
        (wire[2], "horizontal precision"),
        (wire[3], "vertical precision"),
    ] {
        if !precision_ok(byte) {
            return Err(RdataError::field(
                rtype,
                field,
                format!("0x{byte:02x} has a base or exponent above 9"),
            ));
        }
    }
    let (lat, lon) = (read_u32(wire, 4), read_u32(wire, 8));
    if (i64::from(lat) - EQUATOR).abs() > 90 * MS_PER_DEGREE {
        return Err(RdataError::field(rtype, "latitude", "is beyond 90 degrees"));
    }
    if (i64::from(lon) - EQUATOR).abs() > 180 * MS_PER_DEGREE {
        return Err(RdataError::field(
            rtype,
            "longitude",
            "is beyond 180 degrees",
        ));
    }
    Ok(())
}

fn read_u32(wire: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([wire[at], wire[at + 1], wire[at + 2], wire[at + 3]])
}

/// A decimal number with at most `decimals` fractional digits, scaled to an integer.
fn parse_decimal(text: &str, decimals: u32) -> Option<i64> {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 10 || frac.len() > decimals as usize {
        return None;
    }
    if !digits_ok(whole) || !digits_ok(frac) || (text.contains('.') && frac.is_empty()) {
        return None;
    }
    let scale = 10i64.pow(decimals);
    let frac_value = if frac.is_empty() {
        0
    } else {
        frac.parse::<i64>().ok()? * 10i64.pow(decimals - frac.len() as u32)
    };
    let value = whole.parse::<i64>().ok()? * scale + frac_value;
    Some(if negative { -value } else { value })
}

fn metres_to_cm(text: &str) -> Option<i64> {
    parse_decimal(text.strip_suffix(['m', 'M']).unwrap_or(text), 2)
}

/// The precision byte for `cm` centimetres, rounding down to one significant digit.
fn encode_precision(cm: i64) -> u8 {
    let mut mantissa = cm;
    let mut exponent = 0u8;
    while mantissa >= 10 {
        mantissa /= 10;
        exponent += 1;
    }
    ((mantissa as u8) << 4) | exponent
}

fn decode_precision(byte: u8) -> i64 {
    i64::from(byte >> 4) * 10i64.pow(u32::from(byte & 0x0f))
}

/// Parses `d1 [m1 [s1]] {N|S} d2 [m2 [s2]] {E|W} alt[m] [siz[m] [hp[m] [vp[m]]]]`
/// (RFC 1876 §3).
pub(crate) fn parse(rtype: Rtype, tokens: &[Token<'_>]) -> Result<Vec<u8>, RdataError> {
    let mut rest = tokens;
    let lat = parse_angle(rtype, &mut rest, "latitude", 90, ('N', 'S'))?;
    let lon = parse_angle(rtype, &mut rest, "longitude", 180, ('E', 'W'))?;
    let Some((alt, after)) = rest.split_first() else {
        return Err(RdataError::Missing {
            rtype,
            field: "altitude",
        });
    };
    rest = after;
    let alt_cm = metres_to_cm(alt.raw)
        .filter(|cm| (-ALTITUDE_BASE_CM..=i64::from(u32::MAX) - ALTITUDE_BASE_CM).contains(cm))
        .ok_or_else(|| {
            RdataError::field(
                rtype,
                "altitude",
                format!("{:?} is not metres -100000.00..=42849672.95", alt.raw),
            )
        })?;
    let mut precisions = [DEFAULT_SIZE, DEFAULT_HORIZ_PRE, DEFAULT_VERT_PRE];
    for (slot, field) in
        precisions
            .iter_mut()
            .zip(["size", "horizontal precision", "vertical precision"])
    {
        let Some((token, after)) = rest.split_first() else {
            break;
        };
        rest = after;
        let cm = metres_to_cm(token.raw)
            .filter(|cm| (0..=9_000_000_000).contains(cm))
            .ok_or_else(|| {
                RdataError::field(
                    rtype,
                    field,
                    format!("{:?} is not metres 0..=90000000.00", token.raw),
                )
            })?;
        *slot = encode_precision(cm);
    }
    if let Some(extra) = rest.first() {
        return Err(RdataError::TrailingText {
            rtype,
            text: extra.raw.to_owned(),
        });
    }
    let mut out = vec![0, precisions[0], precisions[1], precisions[2]];
    out.extend(((EQUATOR + lat) as u32).to_be_bytes());
    out.extend(((EQUATOR + lon) as u32).to_be_bytes());
    out.extend(((alt_cm + ALTITUDE_BASE_CM) as u32).to_be_bytes());
    Ok(out)
}

/// Degrees, optional minutes and seconds, then the hemisphere letter; returns signed
/// thousandths of a second of arc.
fn parse_angle(
    rtype: Rtype,
    rest: &mut &[Token<'_>],
    field: &'static str,
    max_degrees: i64,
    (positive, negative): (char, char),
) -> Result<i64, RdataError> {
    let mut parts: Vec<&str> = Vec::new();
    loop {
        let Some((token, after)) = rest.split_first() else {
            return Err(RdataError::Missing { rtype, field });
        };
        *rest = after;
        let sign = if token.raw.eq_ignore_ascii_case(&positive.to_string()) {
            1
        } else if token.raw.eq_ignore_ascii_case(&negative.to_string()) {
            -1
        } else if parts.len() < 3 {
            parts.push(token.raw);
            continue;
        } else {
            return Err(RdataError::field(
                rtype,
                field,
                format!("{:?} is not {positive} or {negative}", token.raw),
            ));
        };
        let bad = |what: &str| {
            RdataError::field(
                rtype,
                field,
                format!("{what} {:?} is out of range", parts.join(" ")),
            )
        };
        let degrees = match parts.first() {
            Some(d) => parse_decimal(d, 0).filter(|d| (0..=max_degrees).contains(d)),
            None => return Err(RdataError::Missing { rtype, field }),
        }
        .ok_or_else(|| bad("degrees in"))?;
        let minutes = match parts.get(1) {
            Some(m) => parse_decimal(m, 0).filter(|m| (0..60).contains(m)),
            None => Some(0),
        }
        .ok_or_else(|| bad("minutes in"))?;
        let millis = match parts.get(2) {
            Some(s) => parse_decimal(s, 3).filter(|s| (0..60_000).contains(s)),
            None => Some(0),
        }
        .ok_or_else(|| bad("seconds in"))?;
        let total = degrees * MS_PER_DEGREE + minutes * 60_000 + millis;
        if total > max_degrees * MS_PER_DEGREE {
            return Err(RdataError::field(
                rtype,
                field,
                format!("is beyond {max_degrees} degrees"),
            ));
        }
        return Ok(sign * total);
    }
}

fn write_angle(out: &mut String, value: u32, (positive, negative): (char, char)) {
    let offset = i64::from(value) - EQUATOR;
    let hemisphere = if offset < 0 { negative } else { positive };
    let ms = offset.abs();
    let _ = write!(
        out,
        "{} {} {}.{:03} {hemisphere}",
        ms / MS_PER_DEGREE,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    );
}

fn write_metres(out: &mut String, cm: i64) {
    let sign = if cm < 0 { "-" } else { "" };
    let cm = cm.abs();
    if cm % 100 == 0 {
        let _ = write!(out, "{sign}{}m", cm / 100);
    } else {
        let _ = write!(out, "{sign}{}.{:02}m", cm / 100, cm % 100);
    }
}

/// Writes valid LOC RDATA; `None` for precision bytes text cannot give back (a zero base
/// with a non-zero exponent).
pub(crate) fn write(out: &mut String, wire: &[u8]) -> Option<()> {
    if wire.len() != 16 {
        return None;
    }
    for &byte in &wire[1..4] {
        if byte >> 4 == 0 && byte != 0 {
            return None;
        }
    }
    write_angle(out, read_u32(wire, 4), ('N', 'S'));
    out.push(' ');
    write_angle(out, read_u32(wire, 8), ('E', 'W'));
    out.push(' ');
    write_metres(out, i64::from(read_u32(wire, 12)) - ALTITUDE_BASE_CM);
    for &byte in &wire[1..4] {
        out.push(' ');
        write_metres(out, decode_precision(byte));
    }
    Some(())
}
