//! A streaming reader of RFC 1035 §5 master files, one entry at a time, and the writer of one
//! entry line: [`ZoneFileReader`] and [`write_entry`].
//!
//! The reader holds one entry in memory (a line, or the lines a pair of parentheses spans), so
//! a zone of millions of records streams through in constant space. RDATA is parsed by
//! [`Rdata::parse`]; this module owns what lies around it: directives, owners, TTLs, classes,
//! comments and line structure.
//!
//! RFC 1035 §5.1:
//!
//! ```text
//! <blank>[<comment>]
//! $ORIGIN <domain-name> [<comment>]
//! $INCLUDE <file-name> [<domain-name>] [<comment>]
//! <domain-name><rr> [<comment>]
//! <blank><rr> [<comment>]
//! ```
//!
//! "`<rr>` contents take one of the following forms: `[<TTL>] [<class>] <type> <RDATA>` or
//! `[<class>] [<TTL>] <type> <RDATA>`", and "If a line begins with a blank, then the owner
//! is assumed to be the same as that of the previous RR."

use std::fmt;
use std::io::{BufRead, Read as _};

use crate::name::DomainName;
use crate::rdata::Rdata;
use crate::rdata::text::{self, Token};
use crate::rtype::Rtype;

/// Longest line the reader accepts, in octets. RDATA is at most 65535 octets, which is
/// 131070 hex digits in RFC 3597 form, so real lines stay far below this.
pub const MAX_LINE_LEN: usize = 256 * 1024;
/// Longest entry (all the lines one pair of parentheses spans), in octets.
pub const MAX_ENTRY_LEN: usize = 1024 * 1024;
/// Largest TTL: RFC 2181 §8 "a 32 bit unsigned integer, with the most significant bit
/// reserved", so "values between 0 and 2147483647".
pub const MAX_TTL: u32 = 0x7fff_ffff;

/// One record read from a master file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneEntry {
    /// The owner in lower-case wire form.
    pub owner: Vec<u8>,
    /// The TTL, explicit or defaulted.
    pub ttl: u32,
    /// The record type.
    pub rtype: Rtype,
    /// The RDATA.
    pub rdata: Rdata,
    /// The 1-based line the entry starts on.
    pub line: usize,
}

/// Why a master file could not be read, with the 1-based line it happened on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ZoneFileError {
    /// The line the offending entry starts on (or the line being read).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads RFC 1035 master-file entries from `R`, one [`ZoneEntry`] per record.
pub struct ZoneFileReader<R: BufRead> {
    reader: R,
    /// The zone's origin in wire form; every owner must be at or below it.
    zone: Vec<u8>,
    /// The current `$ORIGIN`, what `@` and relative names mean.
    origin: Vec<u8>,
    default_ttl: Option<u32>,
    dollar_ttl: Option<u32>,
    last_ttl: Option<u32>,
    last_owner: Option<Vec<u8>>,
    /// Lines read so far.
    line: usize,
    line_buf: Vec<u8>,
    entry: String,
    finished: bool,
}

impl<R: BufRead> fmt::Debug for ZoneFileReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZoneFileReader")
            .field("line", &self.line)
            .field("origin", &crate::name::wire_to_text(&self.origin))
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> ZoneFileReader<R> {
    /// A reader of the zone `origin`; records without a TTL and without `$TTL` or an earlier
    /// TTL to inherit get `default_ttl`.
    pub fn new(reader: R, origin: &DomainName, default_ttl: Option<u32>) -> Self {
        let zone = origin.to_wire();
        Self {
            reader,
            origin: zone.clone(),
            zone,
            default_ttl,
            dollar_ttl: None,
            last_ttl: None,
            last_owner: None,
            line: 0,
            line_buf: Vec::new(),
            entry: String::new(),
            finished: false,
        }
    }

    fn error(line: usize, message: impl Into<String>) -> ZoneFileError {
        ZoneFileError {
            line,
            message: message.into(),
        }
    }

    /// Reads the next entry's lines into `self.entry`; returns the line it starts on, or
    /// `None` at the end of the input. The error's flag says whether reading can go on.
    fn read_entry(&mut self) -> Result<Option<usize>, (ZoneFileError, bool)> {
        self.entry.clear();
        let mut depth = 0usize;
        let mut start = 0usize;
        loop {
            self.line_buf.clear();
            let read = (&mut self.reader)
                .take(MAX_LINE_LEN as u64 + 1)
                .read_until(b'\n', &mut self.line_buf)
                .map_err(|e| {
                    (
                        Self::error(self.line + 1, format!("cannot read: {e}")),
                        false,
                    )
                })?;
            if read == 0 {
                if depth > 0 {
                    let message = format!("the parenthesis opened on line {start} is not closed");
                    return Err((Self::error(start, message), false));
                }
                return Ok((!self.entry.is_empty()).then_some(start));
            }
            self.line += 1;
            if start == 0 {
                start = self.line;
            }
            if self.line_buf.len() > MAX_LINE_LEN {
                let message = format!("the line is longer than {MAX_LINE_LEN} octets");
                return Err((Self::error(self.line, message), false));
            }
            let line = std::str::from_utf8(&self.line_buf).map_err(|_| {
                (
                    Self::error(
                        self.line,
                        "the line is not UTF-8; write other octets as \\DDD",
                    ),
                    depth == 0,
                )
            })?;
            let line = line.trim_end_matches(['\n', '\r']);
            scan_parentheses(line, &mut depth)
                .map_err(|m| (Self::error(self.line, m), depth == 0))?;
            if self.entry.len() + line.len() > MAX_ENTRY_LEN {
                let message = format!("the entry is longer than {MAX_ENTRY_LEN} octets");
                return Err((Self::error(start, message), false));
            }
            if !self.entry.is_empty() {
                self.entry.push('\n');
            }
            self.entry.push_str(line);
            if depth == 0 {
                return Ok(Some(start));
            }
        }
    }

    /// Turns the entry in `self.entry` into a record, a directive's effect, or nothing.
    fn process(&mut self, line: usize) -> Result<Option<ZoneEntry>, ZoneFileError> {
        let entry = std::mem::take(&mut self.entry);
        let result = self.process_text(&entry, line);
        self.entry = entry;
        result
    }

    fn process_text(
        &mut self,
        entry: &str,
        line: usize,
    ) -> Result<Option<ZoneEntry>, ZoneFileError> {
        let err = |message: String| Self::error(line, message);
        let tokens = text::tokenize(entry).map_err(&err)?;
        let Some((first, after_first)) = tokens.split_first() else {
            return Ok(None);
        };
        let inherits_owner = entry.starts_with([' ', '\t']);
        if !inherits_owner && !first.quoted && first.raw.starts_with('$') {
            self.directive(first.raw, after_first).map_err(err)?;
            return Ok(None);
        }
        let (owner, mut rest) = if inherits_owner {
            let owner = self.last_owner.clone().ok_or_else(|| {
                err(
                    "the line starts with white space, so it takes the previous record's \
                     owner, but there is no previous record"
                        .to_owned(),
                )
            })?;
            (owner, &tokens[..])
        } else {
            (self.owner(first).map_err(&err)?, after_first)
        };
        self.last_owner = Some(owner.clone());

        let mut ttl = None;
        let mut class_seen = false;
        let rtype = loop {
            let Some((token, after)) = rest.split_first() else {
                return Err(err("the record has no type".to_owned()));
            };
            rest = after;
            let raw = token.raw;
            if raw.starts_with(|c: char| c.is_ascii_digit()) {
                if ttl.is_some() {
                    return Err(err(format!("a second TTL {raw:?}")));
                }
                ttl = Some(parse_ttl(raw).map_err(&err)?);
            } else if let Some(class) = class_of(raw) {
                if class_seen {
                    return Err(err(format!("a second class {raw:?}")));
                }
                class.map_err(&err)?;
                class_seen = true;
            } else {
                break Rtype::parse(raw).map_err(|e| err(e.to_string()))?;
            }
        };
        let rdata =
            Rdata::parse_tokens(rtype, rest, &self.origin).map_err(|e| err(e.to_string()))?;
        let ttl = ttl
            .or(self.dollar_ttl)
            .or(self.last_ttl)
            .or(self.default_ttl)
            .ok_or_else(|| {
                err(
                    "no TTL: the record has none, and neither $TTL, an earlier record nor a \
                     default gives one"
                        .to_owned(),
                )
            })?;
        self.last_ttl = Some(ttl);
        Ok(Some(ZoneEntry {
            owner,
            ttl,
            rtype,
            rdata,
            line,
        }))
    }

    fn directive(&mut self, name: &str, args: &[Token<'_>]) -> Result<(), String> {
        let one_arg = || match args {
            [arg] => Ok(arg.raw),
            [] => Err(format!("{name} needs an argument")),
            [_, extra, ..] => Err(format!("{name} has unexpected text {:?}", extra.raw)),
        };
        match name.to_ascii_uppercase().as_str() {
            // RFC 1035 §5.1: "$ORIGIN <domain-name>" "is used to reset the current origin
            // for relative domain names to the stated name."
            "$ORIGIN" => {
                let raw = one_arg()?;
                self.origin =
                    text::parse_name(raw, &self.origin).map_err(|p| format!("$ORIGIN {p}"))?;
            }
            // RFC 2308 §4: "$TTL <TTL> [comment]".
            "$TTL" => self.dollar_ttl = Some(parse_ttl(one_arg()?)?),
            "$INCLUDE" => {
                return Err("$INCLUDE is not supported: the zone must be one file".to_owned());
            }
            "$GENERATE" => {
                return Err(
                    "$GENERATE is not supported: write the records it would generate".to_owned(),
                );
            }
            _ => return Err(format!("unknown directive {name}")),
        }
        Ok(())
    }

    /// Parses and checks an owner name.
    fn owner(&self, token: &Token<'_>) -> Result<Vec<u8>, String> {
        if token.quoted {
            return Err(format!(
                "the owner \"{}\" is quoted; names are not",
                token.raw
            ));
        }
        let owner = text::parse_name(token.raw, &self.origin).map_err(|p| format!("owner {p}"))?;
        let shown = crate::name::wire_to_text(&owner);
        let mut pos = 0;
        let mut in_zone = false;
        while let Some(&len) = owner.get(pos) {
            if owner[pos..] == self.zone[..] {
                in_zone = true;
            }
            if len == 0 {
                break;
            }
            let label = &owner[pos + 1..pos + 1 + usize::from(len)];
            if label == b"*" {
                if pos != 0 {
                    return Err(format!(
                        "owner {shown} has '*' below its leftmost label (RFC 4592 §2.1.1)"
                    ));
                }
            } else if let Some(&bad) = label
                .iter()
                .find(|b| !(b.is_ascii_alphanumeric() || **b == b'-' || **b == b'_'))
            {
                return Err(format!(
                    "owner {shown} contains {:?}; owners hold letters, digits, '-', '_' and a \
                     leftmost '*' label",
                    char::from(bad)
                ));
            }
            pos += 1 + usize::from(len);
        }
        if !in_zone {
            return Err(format!(
                "owner {shown} is outside zone {}",
                crate::name::wire_to_text(&self.zone)
            ));
        }
        Ok(owner)
    }
}

impl<R: BufRead> Iterator for ZoneFileReader<R> {
    type Item = Result<ZoneEntry, ZoneFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
            match self.read_entry() {
                Ok(None) => self.finished = true,
                Ok(Some(line)) => match self.process(line) {
                    Ok(None) => {}
                    Ok(Some(entry)) => return Some(Ok(entry)),
                    Err(e) => return Some(Err(e)),
                },
                Err((e, can_go_on)) => {
                    self.finished = !can_go_on;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

/// Follows quotes, escapes and comments through one line and updates the parenthesis depth.
fn scan_parentheses(line: &str, depth: &mut usize) -> Result<(), String> {
    let mut bytes = line.bytes();
    let mut quoted = false;
    while let Some(b) = bytes.next() {
        match b {
            b'\\' => {
                bytes.next();
            }
            b'"' => quoted = !quoted,
            _ if quoted => {}
            b';' => break,
            b'(' => *depth += 1,
            b')' => {
                *depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| "')' without an opening '('".to_owned())?;
            }
            _ => {}
        }
    }
    if quoted {
        return Err("a quoted string is not closed on its line".to_owned());
    }
    Ok(())
}

fn parse_ttl(raw: &str) -> Result<u32, String> {
    let ttl = text::parse_duration(raw).ok_or_else(|| {
        format!("TTL {raw:?} is neither a number of seconds nor a duration such as 1h30m")
    })?;
    if ttl > MAX_TTL {
        return Err(format!(
            "TTL {raw} is above {MAX_TTL}, the largest RFC 2181 §8 allows"
        ));
    }
    Ok(ttl)
}

/// `Some` when `raw` is a class: `Ok` for IN, an error for the others.
fn class_of(raw: &str) -> Option<Result<(), String>> {
    let upper = raw.to_ascii_uppercase();
    let code = match upper.as_str() {
        "IN" => 1,
        "CH" | "CS" | "HS" => 0,
        _ => match upper.strip_prefix("CLASS") {
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                text::parse_number(digits, 65_535).unwrap_or(0)
            }
            _ => return None,
        },
    };
    Some(if code == 1 {
        Ok(())
    } else {
        Err(format!("class {raw} is not supported; only IN is"))
    })
}

/// Writes one entry as `owner.\tTTL\tIN\tTYPE\tRDATA\n`, the owner absolute with every octet
/// outside letters, digits, `-`, `_` and `*` written as `\DDD`.
pub fn write_entry(
    out: &mut impl fmt::Write,
    owner: &[u8],
    ttl: u32,
    rtype: Rtype,
    rdata: &Rdata,
) -> fmt::Result {
    write_owner(out, owner)?;
    writeln!(out, "\t{ttl}\tIN\t{rtype}\t{}", rdata.to_text(rtype))
}

fn write_owner(out: &mut impl fmt::Write, owner: &[u8]) -> fmt::Result {
    let mut pos = 0;
    let mut wrote_label = false;
    while let Some(&len) = owner.get(pos) {
        if len == 0 {
            break;
        }
        let end = (pos + 1 + usize::from(len)).min(owner.len());
        for &b in &owner[pos + 1..end] {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'*') {
                out.write_char(char::from(b))?;
            } else {
                write!(out, "\\{b:03}")?;
            }
        }
        out.write_char('.')?;
        wrote_label = true;
        pos = end;
    }
    if !wrote_label {
        out.write_char('.')?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
