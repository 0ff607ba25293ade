//! SVCB and HTTPS RDATA (RFC 9460): priority, target name and SvcParams.
//!
//! RFC 9460 §2.2: "SvcParams ... The SvcParamKeys SHALL appear in increasing numeric order."
//! and "Clients MUST consider an RR malformed if: the end of the RDATA occurs within a
//! SvcParam; SvcParamKeys are not in strictly increasing numeric order; the SvcParamValue for
//! a SvcParamKey does not have the expected format." Those rules are checked here, on wire
//! input and on everything parsed from text (which is sorted before it is checked).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::RdataError;
use super::fields::validate_name;
use super::text::{self, Token};
use crate::name::wire_to_text;
use crate::rtype::Rtype;

const MANDATORY: u16 = 0;
const ALPN: u16 = 1;
const NO_DEFAULT_ALPN: u16 = 2;
const PORT: u16 = 3;
const IPV4HINT: u16 = 4;
const ECH: u16 = 5;
const IPV6HINT: u16 = 6;
/// RFC 9460 §14.3.2: 65535 is reserved as the "Invalid key".
const INVALID_KEY: u16 = 65_535;

fn key_name(key: u16) -> Option<&'static str> {
    Some(match key {
        MANDATORY => "mandatory",
        ALPN => "alpn",
        NO_DEFAULT_ALPN => "no-default-alpn",
        PORT => "port",
        IPV4HINT => "ipv4hint",
        ECH => "ech",
        IPV6HINT => "ipv6hint",
        _ => return None,
    })
}

/// RFC 9460 §2.1: "SvcParamKeys ... in presentation format ... either a registered name or
/// keyNNNNN, where NNNNN is the numeric value of the key type without leading zeros."
fn key_from_text(text: &str) -> Option<u16> {
    let known = (0..=IPV6HINT).find(|k| key_name(*k) == Some(text));
    if known.is_some() {
        return known;
    }
    let digits = text.strip_prefix("key")?;
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    text::parse_number(digits, u32::from(u16::MAX)).map(|k| k as u16)
}

fn key_text(key: u16) -> String {
    key_name(key).map_or_else(|| format!("key{key}"), str::to_owned)
}

fn bad(rtype: Rtype, problem: impl Into<String>) -> RdataError {
    RdataError::field(rtype, "SvcParams", problem)
}

/// Validates SVCB/HTTPS wire RDATA, lower-casing the target name in place.
pub(crate) fn validate(rtype: Rtype, buf: &mut [u8]) -> Result<(), RdataError> {
    if buf.len() < 2 {
        return Err(RdataError::Truncated {
            rtype,
            field: "SvcPriority",
        });
    }
    let mut pos = validate_name(rtype, "TargetName", buf, 2)?;
    let mut params: Vec<(u16, &[u8])> = Vec::new();
    while pos < buf.len() {
        let header = buf
            .get(pos..pos + 4)
            .ok_or_else(|| bad(rtype, "end inside a SvcParam header (key and length)"))?;
        let key = u16::from_be_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let value = buf
            .get(pos + 4..pos + 4 + len)
            .ok_or_else(|| bad(rtype, format!("end inside the value of {}", key_text(key))))?;
        if let Some(&(previous, _)) = params.last()
            && previous >= key
        {
            return Err(bad(
                rtype,
                format!(
                    "are not in strictly increasing key order: {} comes after {}",
                    key_text(key),
                    key_text(previous)
                ),
            ));
        }
        params.push((key, value));
        pos += 4 + len;
    }
    for &(key, value) in &params {
        check_value(rtype, key, value, &params)?;
    }
    Ok(())
}

fn check_value(
    rtype: Rtype,
    key: u16,
    value: &[u8],
    params: &[(u16, &[u8])],
) -> Result<(), RdataError> {
    let name = key_text(key);
    let fail = |problem: String| Err(bad(rtype, format!("{name} {problem}")));
    match key {
        // RFC 9460 §8: "The wire format ... keys ... in strictly increasing numeric order",
        // "The "mandatory" SvcParamKey MUST NOT appear in its own value-list", and "listed
        // keys MUST also appear in the SvcParams".
        MANDATORY => {
            if value.is_empty() || !value.len().is_multiple_of(2) {
                return fail(format!(
                    "value is {} octets; it must be one or more 2-octet keys",
                    value.len()
                ));
            }
            let keys: Vec<u16> = value
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            if keys.windows(2).any(|w| w[0] >= w[1]) {
                return fail("keys are not in strictly increasing order".to_owned());
            }
            for k in keys {
                if k == MANDATORY {
                    return fail("lists itself".to_owned());
                }
                if !params.iter().any(|(p, _)| *p == k) {
                    return fail(format!(
                        "lists {} which the record does not have",
                        key_text(k)
                    ));
                }
            }
        }
        // RFC 9460 §7.1.1: "The wire-format value for "alpn" consists of at least one alpn-id
        // prefixed by its length as a single octet, and these length-value pairs are
        // concatenated to form the SvcParamValue. These pairs MUST exactly fill the
        // SvcParamValue".
        ALPN => {
            if value.is_empty() {
                return fail("value is empty; it needs at least one protocol id".to_owned());
            }
            let mut at = 0;
            while at < value.len() {
                let len = usize::from(value[at]);
                if len == 0 {
                    return fail("holds an empty protocol id".to_owned());
                }
                if at + 1 + len > value.len() {
                    return fail("protocol ids do not exactly fill the value".to_owned());
                }
                at += 1 + len;
            }
        }
        // RFC 9460 §7.1.1: "For "no-default-alpn", the presentation and wire-format values
        // MUST be empty."
        NO_DEFAULT_ALPN if !value.is_empty() => {
            return fail(format!("value must be empty, not {} octets", value.len()));
        }
        PORT if value.len() != 2 => {
            return fail(format!("value is {} octets; a port is 2", value.len()));
        }
        IPV4HINT if value.is_empty() || !value.len().is_multiple_of(4) => {
            return fail(format!(
                "value is {} octets; it must be one or more 4-octet addresses",
                value.len()
            ));
        }
        IPV6HINT if value.is_empty() || !value.len().is_multiple_of(16) => {
            return fail(format!(
                "value is {} octets; it must be one or more 16-octet addresses",
                value.len()
            ));
        }
        INVALID_KEY => return fail("is the reserved invalid key (RFC 9460 §14.3.2)".to_owned()),
        _ => {}
    }
    Ok(())
}

/// Parses `SvcPriority TargetName key=value…` (RFC 9460 §2.1).
pub(crate) fn parse(
    rtype: Rtype,
    tokens: &[Token<'_>],
    origin: &[u8],
) -> Result<Vec<u8>, RdataError> {
    let Some(priority) = tokens.first() else {
        return Err(RdataError::Missing {
            rtype,
            field: "SvcPriority",
        });
    };
    let priority = text::parse_number(priority.raw, 65_535).ok_or_else(|| {
        RdataError::field(
            rtype,
            "SvcPriority",
            format!("{:?} is not a number 0..=65535", priority.raw),
        )
    })? as u16;
    let Some(target) = tokens.get(1) else {
        return Err(RdataError::Missing {
            rtype,
            field: "TargetName",
        });
    };
    let target = text::parse_name(target.raw, origin)
        .map_err(|p| RdataError::field(rtype, "TargetName", p))?;
    let mut params: Vec<(u16, Vec<u8>)> = Vec::new();
    let mut rest = &tokens[2..];
    while let Some((token, after)) = rest.split_first() {
        rest = after;
        let (key_text_raw, value_raw) = match token.raw.split_once('=') {
            // `key="value"`: the lexer splits the quoted value off as the next token.
            Some((k, "")) if !token.quoted => match rest.split_first() {
                Some((value, after)) if value.quoted && value.start == token.end => {
                    rest = after;
                    (k, Some(value.raw))
                }
                _ => (k, Some("")),
            },
            Some((k, v)) if !token.quoted => (k, Some(v)),
            _ if token.quoted => {
                return Err(bad(rtype, format!("{:?} is not key=value", token.raw)));
            }
            _ => (token.raw, None),
        };
        let key = key_from_text(key_text_raw).ok_or_else(|| {
            bad(
                rtype,
                format!(
                    "key {key_text_raw:?} is neither a registered name (mandatory, alpn, \
                     no-default-alpn, port, ipv4hint, ech, ipv6hint) nor keyNNNNN"
                ),
            )
        })?;
        let value = text::unescape(value_raw.unwrap_or(""))
            .map_err(|p| bad(rtype, format!("{}: {p}", key_text(key))))?;
        let wire = value_to_wire(rtype, key, &value, key_text_raw)?;
        if params.iter().any(|(k, _)| *k == key) {
            return Err(bad(
                rtype,
                format!("give {} twice; keys MUST NOT repeat", key_text(key)),
            ));
        }
        params.push((key, wire));
    }
    params.sort_by_key(|(k, _)| *k);
    let mut out = Vec::new();
    out.extend(priority.to_be_bytes());
    out.extend(target);
    for (key, value) in params {
        let len =
            u16::try_from(value.len()).map_err(|_| RdataError::TooLong { len: value.len() })?;
        out.extend(key.to_be_bytes());
        out.extend(len.to_be_bytes());
        out.extend(value);
    }
    Ok(out)
}

/// RFC 9460 Appendix A.1: a value-list is split on commas; `\,` and `\\` escape a comma and a
/// backslash inside an item. This is a second level of escaping, applied after the
/// character-string's own.
fn split_value_list(value: &[u8]) -> Vec<Vec<u8>> {
    let mut items = vec![Vec::new()];
    let mut bytes = value.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'\\' => {
                if let (Some(&next), Some(item)) = (bytes.next(), items.last_mut()) {
                    item.push(next);
                }
            }
            b',' => items.push(Vec::new()),
            _ => {
                if let Some(item) = items.last_mut() {
                    item.push(b);
                }
            }
        }
    }
    items
}

fn value_to_wire(
    rtype: Rtype,
    key: u16,
    value: &[u8],
    key_given: &str,
) -> Result<Vec<u8>, RdataError> {
    // Keys given as keyNNNNN take the generic form, whatever the key; the wire check that
    // follows still applies the key's format.
    if key_name(key) != Some(key_given) {
        return Ok(value.to_vec());
    }
    let name = key_text(key);
    let fail = |problem: String| bad(rtype, format!("{name} {problem}"));
    let as_text = || std::str::from_utf8(value).map_err(|_| fail("value is not text".to_owned()));
    let mut out = Vec::new();
    match key {
        MANDATORY => {
            let mut keys = Vec::new();
            for item in split_value_list(value) {
                let item = String::from_utf8_lossy(&item).into_owned();
                let k = key_from_text(&item)
                    .ok_or_else(|| fail(format!("lists {item:?}, which is not a key")))?;
                if keys.contains(&k) {
                    return Err(fail(format!("lists {item} twice")));
                }
                keys.push(k);
            }
            keys.sort_unstable();
            for k in keys {
                out.extend(k.to_be_bytes());
            }
        }
        ALPN => {
            for id in split_value_list(value) {
                let len = u8::try_from(id.len())
                    .map_err(|_| fail("has a protocol id over 255 octets".to_owned()))?;
                out.push(len);
                out.extend(id);
            }
        }
        NO_DEFAULT_ALPN => out.extend(value),
        PORT => {
            let text = as_text()?;
            let port = text::parse_number(text, 65_535)
                .ok_or_else(|| fail(format!("{text:?} is not a number 0..=65535")))?;
            out.extend((port as u16).to_be_bytes());
        }
        IPV4HINT => {
            for addr in as_text()?.split(',') {
                let addr: Ipv4Addr = addr
                    .parse()
                    .map_err(|_| fail(format!("{addr:?} is not an IPv4 address")))?;
                out.extend(addr.octets());
            }
        }
        IPV6HINT => {
            for addr in as_text()?.split(',') {
                let addr: Ipv6Addr = addr
                    .parse()
                    .map_err(|_| fail(format!("{addr:?} is not an IPv6 address")))?;
                out.extend(addr.octets());
            }
        }
        ECH => {
            let text = as_text()?;
            out = data_encoding::BASE64
                .decode(text.as_bytes())
                .map_err(|_| fail(format!("{text:?} is not base64")))?;
        }
        _ => out.extend(value),
    }
    Ok(out)
}

/// Writes valid SVCB/HTTPS RDATA in presentation form.
pub(crate) fn write(out: &mut String, wire: &[u8]) -> Option<()> {
    let priority = u16::from_be_bytes(wire.get(..2)?.try_into().ok()?);
    let end = super::fields::name_end(wire, 2)?;
    let _ = write!(out, "{priority} {}", wire_to_text(&wire[2..end]));
    let mut pos = end;
    while pos < wire.len() {
        let key = u16::from_be_bytes(wire.get(pos..pos + 2)?.try_into().ok()?);
        let len = usize::from(u16::from_be_bytes(
            wire.get(pos + 2..pos + 4)?.try_into().ok()?,
        ));
        let value = wire.get(pos + 4..pos + 4 + len)?;
        pos += 4 + len;
        out.push(' ');
        out.push_str(&key_text(key));
        match key {
            MANDATORY => {
                let names: Vec<String> = value
                    .chunks_exact(2)
                    .map(|c| key_text(u16::from_be_bytes([c[0], c[1]])))
                    .collect();
                let _ = write!(out, "={}", names.join(","));
            }
            ALPN => {
                let mut list = Vec::new();
                let mut at = 0;
                while at < value.len() {
                    let len = usize::from(value[at]);
                    if !list.is_empty() {
                        list.push(b',');
                    }
                    for &b in value.get(at + 1..at + 1 + len)? {
                        if b == b',' || b == b'\\' {
                            list.push(b'\\');
                        }
                        list.push(b);
                    }
                    at += 1 + len;
                }
                out.push('=');
                text::write_quoted(out, &list);
            }
            NO_DEFAULT_ALPN => {}
            PORT => {
                let _ = write!(out, "={}", u16::from_be_bytes(value.try_into().ok()?));
            }
            IPV4HINT => {
                let addrs: Vec<String> = value
                    .chunks_exact(4)
                    .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]).to_string())
                    .collect();
                let _ = write!(out, "={}", addrs.join(","));
            }
            IPV6HINT => {
                let mut addrs = Vec::new();
                for c in value.chunks_exact(16) {
                    addrs.push(Ipv6Addr::from(<[u8; 16]>::try_from(c).ok()?).to_string());
                }
                let _ = write!(out, "={}", addrs.join(","));
            }
            ECH => {
                out.push('=');
                text::write_quoted(out, data_encoding::BASE64.encode(value).as_bytes());
            }
            _ if value.is_empty() => {}
            _ => {
                out.push('=');
                text::write_quoted(out, value);
            }
        }
    }
    Some(())
}
