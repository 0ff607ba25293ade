//! The presentation-form vocabulary shared by every record type: tokens, character-strings,
//! names, numbers, BIND durations, hex and base64 (RFC 1035 §5.1).
//!
//! RFC 1035 §5.1: "`<character-string>` is expressed in one or two ways: as a contiguous set of
//! characters without interior spaces, or as a string beginning with a \" and ending with a
//! \". Inside a \" delimited string any character can occur, except for a \" itself, which
//! must be quoted using \\ (back slash)." and "\DDD where each D is a digit is the octet
//! corresponding to the decimal number described by DDD."

use std::fmt::Write as _;

use crate::name::MAX_WIRE_LEN;

/// One presentation token, with its escapes still in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    /// The token's text; for a quoted token, what lies between the quotes.
    pub(crate) raw: &'a str,
    /// True when the token was written between double quotes.
    pub(crate) quoted: bool,
    /// Byte offset of the token's first character (the opening quote if quoted).
    pub(crate) start: usize,
    /// Byte offset just past the token's last character (the closing quote if quoted).
    pub(crate) end: usize,
}

/// Splits presentation text into tokens. Parentheses are dropped (RFC 1035 §5.1: they
/// "continue a list of items across a line boundary"), `;` starts a comment that runs to the
/// end of the line, and whitespace includes line breaks.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token<'_>>, String> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        match bytes[pos] {
            b' ' | b'\t' | b'\r' | b'\n' | b'(' | b')' => pos += 1,
            b';' => {
                while pos < bytes.len() && bytes[pos] != b'\n' {
                    pos += 1;
                }
            }
            b'"' => {
                let start = pos;
                pos += 1;
                let content = pos;
                loop {
                    match bytes.get(pos) {
                        None => return Err("a quoted string is not closed".to_owned()),
                        Some(b'\\') => pos += 2,
                        Some(b'"') => break,
                        Some(_) => pos += 1,
                    }
                }
                let raw = text
                    .get(content..pos)
                    .ok_or_else(|| "a quoted string ends in a lone '\\'".to_owned())?;
                pos += 1;
                tokens.push(Token {
                    raw,
                    quoted: true,
                    start,
                    end: pos,
                });
            }
            _ => {
                let start = pos;
                while pos < bytes.len() {
                    match bytes[pos] {
                        b' ' | b'\t' | b'\r' | b'\n' | b'(' | b')' | b';' | b'"' => break,
                        b'\\' => {
                            pos += 1;
                            // Step over the whole escaped character, which may be multi-byte.
                            pos += text[pos..].chars().next().map_or(0, char::len_utf8);
                        }
                        _ => pos += 1,
                    }
                }
                let end = pos.min(bytes.len());
                tokens.push(Token {
                    raw: &text[start..end],
                    quoted: false,
                    start,
                    end,
                });
            }
        }
    }
    Ok(tokens)
}

/// Decodes `\X` and `\DDD` escapes into octets.
pub(crate) fn unescape(raw: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((_, c)) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            None => return Err(format!("{raw:?} ends in a lone '\\'")),
            Some((at, d)) if d.is_ascii_digit() => {
                let digits = raw
                    .get(at..at + 3)
                    .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| format!("{raw:?} has a \\DDD escape without three digits"))?;
                let value: u16 = digits
                    .parse()
                    .map_err(|_| format!("{raw:?} has a bad \\DDD escape"))?;
                let octet = u8::try_from(value)
                    .map_err(|_| format!("{raw:?} has the escape \\{digits}, above 255"))?;
                out.push(octet);
                chars.next();
                chars.next();
            }
            Some((_, other)) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Ok(out)
}

/// Parses a domain name in presentation form into lower-case wire form; `@` is `origin`
/// and a name without a trailing unescaped dot is completed with `origin` (RFC 1035 §5.1).
pub(crate) fn parse_name(raw: &str, origin: &[u8]) -> Result<Vec<u8>, String> {
    if raw == "@" {
        return Ok(origin.to_vec());
    }
    if raw == "." {
        return Ok(vec![0]);
    }
    if raw.is_empty() {
        return Err("is empty".to_owned());
    }
    let mut out = Vec::with_capacity(raw.len() + origin.len() + 1);
    let mut label: Vec<u8> = Vec::new();
    let mut absolute = false;
    let mut chars = raw.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '.' => {
                push_label(&mut out, &label, raw)?;
                label.clear();
                if chars.peek().is_none() {
                    absolute = true;
                }
            }
            '\\' => {
                let rest = &raw[at..];
                let escape_len = match rest[1..].chars().next() {
                    None => return Err(format!("{raw:?} ends in a lone '\\'")),
                    Some(d) if d.is_ascii_digit() => 4,
                    Some(other) => 1 + other.len_utf8(),
                };
                let escape = rest
                    .get(..escape_len)
                    .ok_or_else(|| format!("{raw:?} has a \\DDD escape without three digits"))?;
                label.extend(unescape(escape)?);
                for _ in 1..escape.chars().count() {
                    chars.next();
                }
            }
            other => {
                let mut buf = [0u8; 4];
                label.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    if !absolute {
        push_label(&mut out, &label, raw)?;
        out.extend_from_slice(origin);
    } else {
        out.push(0);
    }
    if out.len() > MAX_WIRE_LEN {
        return Err(format!(
            "{raw:?} is {} octets long in wire form; a name has at most 255",
            out.len()
        ));
    }
    Ok(out)
}

fn push_label(out: &mut Vec<u8>, label: &[u8], raw: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err(format!("{raw:?} has an empty label"));
    }
    if label.len() > 63 {
        return Err(format!(
            "{raw:?} has a label of {} octets; a label has at most 63",
            label.len()
        ));
    }
    out.push(label.len() as u8);
    out.extend(label.iter().map(u8::to_ascii_lowercase));
    Ok(())
}

/// An unsigned decimal number no larger than `max`.
pub(crate) fn parse_number(text: &str, max: u32) -> Option<u32> {
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>()
        .ok()
        .filter(|v| *v <= u64::from(max))
        .map(|v| v as u32)
}

/// A number of seconds, plain or in BIND units (`1h30m`, `2w`, `1d`; `s m h d w` in any case).
pub(crate) fn parse_duration(text: &str) -> Option<u32> {
    if let Some(plain) = parse_number(text, u32::MAX) {
        return Some(plain);
    }
    let mut total: u64 = 0;
    let mut digits_start = None;
    for (at, b) in text.bytes().enumerate() {
        if b.is_ascii_digit() {
            digits_start.get_or_insert(at);
            continue;
        }
        let unit: u64 = match b.to_ascii_lowercase() {
            b's' => 1,
            b'm' => 60,
            b'h' => 3600,
            b'd' => 86_400,
            b'w' => 604_800,
            _ => return None,
        };
        let value: u64 = text.get(digits_start.take()?..at)?.parse().ok()?;
        total = total.checked_add(value.checked_mul(unit)?)?;
    }
    if digits_start.is_some() || text.is_empty() {
        return None;
    }
    u32::try_from(total).ok()
}

/// Hex digits, possibly split over several tokens.
pub(crate) fn decode_hex(tokens: &[Token<'_>]) -> Result<Vec<u8>, String> {
    let digits: String = tokens.iter().map(|t| t.raw).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("{digits:?} has an odd number of hex digits"));
    }
    data_encoding::HEXUPPER_PERMISSIVE
        .decode(digits.as_bytes())
        .map_err(|_| format!("{digits:?} is not hexadecimal"))
}

/// Base64 (RFC 4648 §4), possibly split over several tokens.
pub(crate) fn decode_base64(tokens: &[Token<'_>]) -> Result<Vec<u8>, String> {
    let text: String = tokens.iter().map(|t| t.raw).collect();
    data_encoding::BASE64
        .decode(text.as_bytes())
        .map_err(|_| format!("{text:?} is not base64"))
}

/// Appends `bytes` as a quoted character-string, escaping `"`, `\` and every octet outside
/// printable ASCII as `\DDD`.
pub(crate) fn write_quoted(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('"');
}

/// Appends `bytes` as upper-case hex.
pub(crate) fn write_hex(out: &mut String, bytes: &[u8]) {
    out.push_str(&data_encoding::HEXUPPER.encode(bytes));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raws(text: &str) -> Vec<(&str, bool)> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|t| (t.raw, t.quoted))
            .collect()
    }

    #[test]
    fn tokens() {
        assert_eq!(
            raws("a \"b c\" ( d\n e ) ; comment\nf\\ g \"\\\"\""),
            vec![
                ("a", false),
                ("b c", true),
                ("d", false),
                ("e", false),
                ("f\\ g", false),
                ("\\\"", true)
            ]
        );
        assert_eq!(raws("x\"y\""), vec![("x", false), ("y", true)]);
        assert!(tokenize("\"open").is_err());
        assert!(tokenize("\"open\\\"").is_err());
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape(r#"a\\b\"c\065\255"#).unwrap(), b"a\\b\"cA\xff");
        assert!(unescape(r"\256").is_err());
        assert!(unescape(r"\12").is_err());
        assert!(unescape("x\\").is_err());
        assert_eq!(unescape("é").unwrap(), "é".as_bytes());
    }

    #[test]
    fn names() {
        let origin = b"\x07example\x00";
        assert_eq!(parse_name("@", origin).unwrap(), origin);
        assert_eq!(parse_name(".", origin).unwrap(), b"\x00");
        assert_eq!(
            parse_name("WWW", origin).unwrap(),
            b"\x03www\x07example\x00"
        );
        assert_eq!(parse_name("a.B.", origin).unwrap(), b"\x01a\x01b\x00");
        assert_eq!(parse_name(r"a\.b.", origin).unwrap(), b"\x03a.b\x00");
        assert_eq!(parse_name(r"\065\032.", origin).unwrap(), b"\x02a \x00");
        assert!(parse_name("a..b", origin).is_err());
        assert!(parse_name(".a", origin).is_err());
        assert!(parse_name(&"x".repeat(64), origin).is_err());
        let long = vec!["x".repeat(63); 4].join(".") + ".";
        assert!(parse_name(&long, origin).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3600"), Some(3600));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("1D"), Some(86_400));
        assert_eq!(parse_duration("2w"), Some(1_209_600));
        assert_eq!(parse_duration("1w2d3h4m5s"), Some(788_645));
        for bad in ["", "h", "1h30", "1x", "-1", "99999999999", "10000w"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
