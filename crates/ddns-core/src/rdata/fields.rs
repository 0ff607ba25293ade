//! The record types whose RDATA is a fixed sequence of simple fields — numbers, names,
//! character-strings, addresses, and a final run of hex, base64 or text — described once as a
//! table per type and then validated, parsed and presented by the same three walkers.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::RdataError;
use super::text::{self, Token};
use crate::name::{MAX_LABEL_LEN, MAX_WIRE_LEN, wire_to_text};
use crate::rtype::Rtype;

/// What one field is, on the wire and in text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    U8,
    U16,
    U32,
    /// A 32-bit number of seconds; text may use BIND units (`1h`, `2w`).
    Duration,
    /// An uncompressed domain name, lower-cased.
    Name,
    /// One `<character-string>`: a length octet and up to 255 octets.
    CharString,
    /// One or more character-strings filling the rest of the RDATA.
    CharStrings,
    /// The rest of the RDATA, in hex.
    Hex,
    /// The rest of the RDATA, in base64.
    Base64,
    Ipv4,
    Ipv6,
    /// A CAA property tag: a length octet and 1..=15 ASCII letters or digits (RFC 8659 §4.1).
    CaaTag,
    /// The rest of the RDATA as one quoted string of any length (CAA value, URI target).
    QuotedRest,
    /// An NSEC3 salt: a length octet and its octets, `-` in text when empty (RFC 5155 §3.3).
    Salt,
}

/// One field of a type's RDATA.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field {
    pub(crate) kind: Kind,
    /// The field's name in its RFC, used in error messages.
    pub(crate) name: &'static str,
}

/// A field literal; a macro rather than a `const fn` so that the tables stay promotable
/// to `'static`.
macro_rules! f {
    ($kind:ident, $name:expr) => {
        Field {
            kind: $kind,
            name: $name,
        }
    };
}

/// How a type's RDATA is laid out.
pub(crate) enum Format {
    Fields(&'static [Field]),
    Svcb,
    Loc,
    /// No format known here: any octets, presented in RFC 3597 form.
    Opaque,
}

use Kind::*;

pub(crate) fn format_of(rtype: Rtype) -> Format {
    Format::Fields(match rtype {
        Rtype::A => &[f!(Ipv4, "address")],
        Rtype::AAAA => &[f!(Ipv6, "address")],
        Rtype::NS => &[f!(Name, "name server")],
        Rtype::CNAME | Rtype::DNAME | Rtype::PTR => &[f!(Name, "target")],
        Rtype::SOA => &[
            f!(Name, "MNAME"),
            f!(Name, "RNAME"),
            f!(U32, "serial"),
            f!(Duration, "refresh"),
            f!(Duration, "retry"),
            f!(Duration, "expire"),
            f!(Duration, "minimum"),
        ],
        Rtype::HINFO => &[f!(CharString, "CPU"), f!(CharString, "OS")],
        Rtype::MX => &[f!(U16, "preference"), f!(Name, "exchange")],
        Rtype::TXT | Rtype::SPF => &[f!(CharStrings, "text")],
        Rtype::RP => &[f!(Name, "mailbox"), f!(Name, "TXT name")],
        Rtype::AFSDB => &[f!(U16, "subtype"), f!(Name, "hostname")],
        Rtype::SRV => &[
            f!(U16, "priority"),
            f!(U16, "weight"),
            f!(U16, "port"),
            f!(Name, "target"),
        ],
        Rtype::NAPTR => &[
            f!(U16, "order"),
            f!(U16, "preference"),
            f!(CharString, "flags"),
            f!(CharString, "services"),
            f!(CharString, "regexp"),
            f!(Name, "replacement"),
        ],
        Rtype::KX => &[f!(U16, "preference"), f!(Name, "exchanger")],
        Rtype::DS | Rtype::CDS => &[
            f!(U16, "key tag"),
            f!(U8, "algorithm"),
            f!(U8, "digest type"),
            f!(Hex, "digest"),
        ],
        Rtype::SSHFP => &[
            f!(U8, "algorithm"),
            f!(U8, "fingerprint type"),
            f!(Hex, "fingerprint"),
        ],
        Rtype::DNSKEY | Rtype::CDNSKEY => &[
            f!(U16, "flags"),
            f!(U8, "protocol"),
            f!(U8, "algorithm"),
            f!(Base64, "public key"),
        ],
        Rtype::DHCID => &[f!(Base64, "digest")],
        Rtype::NSEC3PARAM => &[
            f!(U8, "hash algorithm"),
            f!(U8, "flags"),
            f!(U16, "iterations"),
            f!(Salt, "salt"),
        ],
        Rtype::TLSA | Rtype::SMIMEA => &[
            f!(U8, "certificate usage"),
            f!(U8, "selector"),
            f!(U8, "matching type"),
            f!(Hex, "certificate association data"),
        ],
        Rtype::OPENPGPKEY => &[f!(Base64, "public key")],
        Rtype::ZONEMD => &[
            f!(U32, "serial"),
            f!(U8, "scheme"),
            f!(U8, "hash algorithm"),
            f!(Hex, "digest"),
        ],
        Rtype::URI => &[
            f!(U16, "priority"),
            f!(U16, "weight"),
            f!(QuotedRest, "target"),
        ],
        Rtype::CAA => &[f!(U8, "flags"), f!(CaaTag, "tag"), f!(QuotedRest, "value")],
        Rtype::SVCB | Rtype::HTTPS => return Format::Svcb,
        Rtype::LOC => return Format::Loc,
        _ => return Format::Opaque,
    })
}

/// Where the uncompressed name starting at `pos` ends, or `None` if it is not well-formed.
pub(crate) fn name_end(wire: &[u8], mut pos: usize) -> Option<usize> {
    let start = pos;
    loop {
        let len = usize::from(*wire.get(pos)?);
        if len > MAX_LABEL_LEN {
            return None;
        }
        pos += 1 + len;
        if pos - start > MAX_WIRE_LEN || pos > wire.len() {
            return None;
        }
        if len == 0 {
            return Some(pos);
        }
    }
}

/// Checks the name at `pos` and lower-cases it in place; returns where it ends.
pub(crate) fn validate_name(
    rtype: Rtype,
    field: &'static str,
    buf: &mut [u8],
    mut pos: usize,
) -> Result<usize, RdataError> {
    let start = pos;
    loop {
        let Some(&len) = buf.get(pos) else {
            return Err(RdataError::Truncated { rtype, field });
        };
        match len & 0xc0 {
            0x00 => {}
            0xc0 => {
                return Err(RdataError::field(
                    rtype,
                    field,
                    "holds a compression pointer; names in stored RDATA are uncompressed",
                ));
            }
            _ => {
                return Err(RdataError::field(
                    rtype,
                    field,
                    format!("has the unknown label type 0x{len:02x} (RFC 6891 §5)"),
                ));
            }
        }
        let len = usize::from(len);
        let end = pos + 1 + len;
        if end - start > MAX_WIRE_LEN {
            return Err(RdataError::field(
                rtype,
                field,
                "is longer than 255 octets in wire form",
            ));
        }
        let Some(label) = buf.get_mut(pos + 1..end) else {
            return Err(RdataError::Truncated { rtype, field });
        };
        label.make_ascii_lowercase();
        pos = end;
        if len == 0 {
            return Ok(pos);
        }
    }
}

fn take(
    rtype: Rtype,
    field: &'static str,
    buf: &[u8],
    pos: usize,
    n: usize,
) -> Result<usize, RdataError> {
    if buf.len() - pos < n {
        Err(RdataError::Truncated { rtype, field })
    } else {
        Ok(pos + n)
    }
}

fn char_string(
    rtype: Rtype,
    field: &'static str,
    buf: &[u8],
    pos: usize,
) -> Result<usize, RdataError> {
    let len = *buf.get(pos).ok_or(RdataError::Truncated { rtype, field })?;
    take(rtype, field, buf, pos + 1, usize::from(len))
}

/// Validates `buf` against `fields`, lower-casing names in place.
pub(crate) fn validate(rtype: Rtype, fields: &[Field], buf: &mut [u8]) -> Result<(), RdataError> {
    let fixed = match fields {
        [Field { kind: Ipv4, .. }] => Some(4),
        [Field { kind: Ipv6, .. }] => Some(16),
        _ => None,
    };
    if let Some(expected) = fixed
        && buf.len() != expected
    {
        return Err(RdataError::Length {
            rtype,
            len: buf.len(),
            expected,
        });
    }
    let mut pos = 0;
    for field in fields {
        let name = field.name;
        pos = match field.kind {
            U8 => take(rtype, name, buf, pos, 1)?,
            U16 => take(rtype, name, buf, pos, 2)?,
            U32 | Duration | Ipv4 => take(rtype, name, buf, pos, 4)?,
            Ipv6 => take(rtype, name, buf, pos, 16)?,
            Name => validate_name(rtype, name, buf, pos)?,
            CharString | Salt => char_string(rtype, name, buf, pos)?,
            CharStrings => {
                if pos == buf.len() {
                    return Err(RdataError::Truncated { rtype, field: name });
                }
                while pos < buf.len() {
                    pos = char_string(rtype, name, buf, pos)?;
                }
                pos
            }
            Hex | Base64 | QuotedRest => buf.len(),
            CaaTag => {
                let end = char_string(rtype, name, buf, pos)?;
                check_caa_tag(rtype, name, &buf[pos + 1..end])?;
                end
            }
        };
    }
    if pos != buf.len() {
        return Err(RdataError::TrailingData {
            rtype,
            extra: buf.len() - pos,
        });
    }
    // RFC 4034 §2.1.2: "The Protocol Field MUST have value 3, and the DNSKEY RR MUST be
    // treated as invalid during signature verification if it is found to be some value other
    // than 3." (RFC 7344 §3.2 keeps the DNSKEY format for CDNSKEY.)
    if matches!(rtype, Rtype::DNSKEY | Rtype::CDNSKEY) && buf[2] != 3 {
        return Err(RdataError::field(
            rtype,
            "protocol",
            format!("{} is not 3 (RFC 4034 §2.1.2)", buf[2]),
        ));
    }
    Ok(())
}

/// RFC 8659 §4.1: "Tag: The property identifier, a sequence of ASCII characters. Tags MAY
/// contain ASCII characters "a" through "z", "A" through "Z", and the numbers 0 through 9.
/// Tags MUST NOT contain any other characters. Matching of tags is case insensitive." and
/// "Tag Length: A single octet containing an unsigned integer specifying the tag length in
/// octets. The tag length MUST be at least 1 and SHOULD be no more than 15."
fn check_caa_tag(rtype: Rtype, field: &'static str, tag: &[u8]) -> Result<(), RdataError> {
    if tag.is_empty() || tag.len() > 15 {
        return Err(RdataError::field(
            rtype,
            field,
            format!("is {} octets long; a tag has 1 to 15", tag.len()),
        ));
    }
    if !tag.iter().all(u8::is_ascii_alphanumeric) {
        return Err(RdataError::field(
            rtype,
            field,
            format!(
                "{:?} holds a character other than ASCII letters and digits",
                String::from_utf8_lossy(tag)
            ),
        ));
    }
    Ok(())
}

/// Parses tokens against `fields` into wire form (validated afterwards by the caller).
pub(crate) fn parse(
    rtype: Rtype,
    fields: &[Field],
    tokens: &[Token<'_>],
    origin: &[u8],
) -> Result<Vec<u8>, RdataError> {
    let mut out = Vec::new();
    let mut rest = tokens;
    for field in fields {
        let name = field.name;
        let bad = |problem: String| RdataError::field(rtype, name, problem);
        let Some((token, after)) = rest.split_first() else {
            return Err(RdataError::Missing { rtype, field: name });
        };
        let raw = token.raw;
        rest = after;
        match field.kind {
            U8 => out.push(
                text::parse_number(raw, 255)
                    .ok_or_else(|| bad(format!("{raw:?} is not a number 0..=255")))?
                    as u8,
            ),
            U16 => out.extend(
                (text::parse_number(raw, 65_535)
                    .ok_or_else(|| bad(format!("{raw:?} is not a number 0..=65535")))?
                    as u16)
                    .to_be_bytes(),
            ),
            U32 => out.extend(
                text::parse_number(raw, u32::MAX)
                    .ok_or_else(|| bad(format!("{raw:?} is not a number 0..=4294967295")))?
                    .to_be_bytes(),
            ),
            Duration => out.extend(
                text::parse_duration(raw)
                    .ok_or_else(|| {
                        bad(format!(
                            "{raw:?} is not a number of seconds 0..=4294967295 \
                             nor a duration such as 1h30m"
                        ))
                    })?
                    .to_be_bytes(),
            ),
            Name => out.extend(text::parse_name(raw, origin).map_err(bad)?),
            CharString => push_char_string(&mut out, raw).map_err(bad)?,
            CharStrings => {
                push_char_string(&mut out, raw).map_err(bad)?;
                for t in std::mem::take(&mut rest) {
                    push_char_string(&mut out, t.raw).map_err(bad)?;
                }
            }
            Hex => {
                out.extend(
                    text::decode_hex(&tokens[tokens.len() - rest.len() - 1..]).map_err(bad)?,
                );
                rest = &[];
            }
            Base64 => {
                out.extend(
                    text::decode_base64(&tokens[tokens.len() - rest.len() - 1..]).map_err(bad)?,
                );
                rest = &[];
            }
            Ipv4 => out.extend(
                raw.parse::<Ipv4Addr>()
                    .map_err(|_| bad(format!("{raw:?} is not an IPv4 address")))?
                    .octets(),
            ),
            Ipv6 => out.extend(
                raw.parse::<Ipv6Addr>()
                    .map_err(|_| bad(format!("{raw:?} is not an IPv6 address")))?
                    .octets(),
            ),
            CaaTag => {
                check_caa_tag(rtype, name, raw.as_bytes())?;
                out.push(raw.len() as u8);
                out.extend_from_slice(raw.as_bytes());
            }
            QuotedRest => out.extend(text::unescape(raw).map_err(bad)?),
            Salt if raw == "-" => out.push(0),
            Salt => {
                let salt = text::decode_hex(std::slice::from_ref(token)).map_err(bad)?;
                if salt.len() > 255 {
                    return Err(bad(format!("is {} octets; at most 255", salt.len())));
                }
                out.push(salt.len() as u8);
                out.extend(salt);
            }
        }
    }
    if let Some(extra) = rest.first() {
        return Err(RdataError::TrailingText {
            rtype,
            text: extra.raw.to_owned(),
        });
    }
    Ok(out)
}

fn push_char_string(out: &mut Vec<u8>, raw: &str) -> Result<(), String> {
    let bytes = text::unescape(raw)?;
    if bytes.len() > 255 {
        return Err(format!(
            "string of {} octets is too long; a character-string holds at most 255",
            bytes.len()
        ));
    }
    out.push(bytes.len() as u8);
    out.extend(bytes);
    Ok(())
}

/// Writes the presentation form of valid RDATA; `None` when a value has no presentation
/// form here (an empty hex or base64 field), so the caller falls back to RFC 3597 form.
pub(crate) fn write(out: &mut String, fields: &[Field], wire: &[u8]) -> Option<()> {
    let mut pos = 0;
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            out.push(' ');
        }
        let rest = wire.get(pos..)?;
        pos += match field.kind {
            U8 => {
                let _ = write!(out, "{}", rest.first()?);
                1
            }
            U16 => {
                let _ = write!(
                    out,
                    "{}",
                    u16::from_be_bytes(rest.get(..2)?.try_into().ok()?)
                );
                2
            }
            U32 | Duration => {
                let _ = write!(
                    out,
                    "{}",
                    u32::from_be_bytes(rest.get(..4)?.try_into().ok()?)
                );
                4
            }
            Ipv4 => {
                let _ = write!(
                    out,
                    "{}",
                    Ipv4Addr::from(<[u8; 4]>::try_from(rest.get(..4)?).ok()?)
                );
                4
            }
            Ipv6 => {
                let _ = write!(
                    out,
                    "{}",
                    Ipv6Addr::from(<[u8; 16]>::try_from(rest.get(..16)?).ok()?)
                );
                16
            }
            Name => {
                let end = name_end(rest, 0)?;
                out.push_str(&wire_to_text(&rest[..end]));
                end
            }
            CharString => {
                let len = usize::from(*rest.first()?);
                text::write_quoted(out, rest.get(1..1 + len)?);
                1 + len
            }
            CharStrings => {
                let mut at = 0;
                while at < rest.len() {
                    if at > 0 {
                        out.push(' ');
                    }
                    let len = usize::from(rest[at]);
                    text::write_quoted(out, rest.get(at + 1..at + 1 + len)?);
                    at += 1 + len;
                }
                rest.len()
            }
            Hex if rest.is_empty() => return None,
            Hex => {
                text::write_hex(out, rest);
                rest.len()
            }
            Base64 if rest.is_empty() => return None,
            Base64 => {
                out.push_str(&data_encoding::BASE64.encode(rest));
                rest.len()
            }
            CaaTag => {
                let len = usize::from(*rest.first()?);
                out.push_str(std::str::from_utf8(rest.get(1..1 + len)?).ok()?);
                1 + len
            }
            QuotedRest => {
                text::write_quoted(out, rest);
                rest.len()
            }
            Salt => {
                let len = usize::from(*rest.first()?);
                if len == 0 {
                    out.push('-');
                } else {
                    text::write_hex(out, rest.get(1..1 + len)?);
                }
                1 + len
            }
        };
    }
    Some(())
}
