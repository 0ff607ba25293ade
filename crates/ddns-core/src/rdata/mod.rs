//! The RDATA of one record, held in wire form and validated once: [`Rdata`].
//!
//! Every constructor checks the octets against the record type's format and lower-cases the
//! domain names embedded in them (RFC 4034 §6.2 lists the types whose RDATA holds names; they
//! are stored uncompressed, as RFC 3597 §4 requires for types a server may not know). Holding
//! an [`Rdata`] therefore means it is valid for its type, so no other code re-parses it: the
//! wire form is what the DNS path sends, and [`Rdata::to_text`] is the presentation form for
//! zone files and the API.
//!
//! - `text`: tokens, character-strings, names, numbers, hex and base64 in presentation form;
//! - `fields`: the types whose RDATA is a fixed sequence of simple fields (most of them);
//! - `svcb`: SVCB and HTTPS (RFC 9460);
//! - `loc`: LOC (RFC 1876).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::name::DomainName;
use crate::rtype::Rtype;

mod fields;
mod loc;
mod svcb;
pub(crate) mod text;

use fields::Format;
use text::Token;

/// Largest RDATA: RDLENGTH is a 16-bit field (RFC 1035 §3.2.1).
pub const MAX_RDATA_LEN: usize = 65_535;

/// Longest TXT value [`Rdata::txt_from_value`] accepts, in octets.
pub const MAX_TXT_VALUE_LEN: usize = 2048;

/// The RDATA of one record: wire form, valid for its type, names uncompressed and lower-case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rdata(Box<[u8]>);

/// Why octets or text are not valid RDATA for a type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RdataError {
    /// A type mnemonic that is neither registered here nor of the form `TYPEnnn`.
    #[error("unknown record type {0:?}; give a mnemonic such as AAAA or the RFC 3597 form TYPEnnn")]
    UnknownType(String),
    /// A meta type (OPT, TSIG, AXFR, ANY, …) given as record data.
    #[error("{0} is a meta type (RFC 6895 §3.1) and can never be record data")]
    MetaType(Rtype),
    /// One field holds something its format does not allow.
    #[error("{rtype} {field} {problem}")]
    Field {
        /// The record type.
        rtype: Rtype,
        /// The field, as its RFC names it.
        field: &'static str,
        /// What is wrong, starting with the offending value where there is one.
        problem: String,
    },
    /// The RDATA of a fixed-size type has the wrong length.
    #[error("{rtype} RDATA is {len} octets long; it must be {expected}")]
    Length {
        /// The record type.
        rtype: Rtype,
        /// The length given.
        len: usize,
        /// The length the type requires.
        expected: usize,
    },
    /// The wire form stops inside a field.
    #[error("{rtype} RDATA ends inside its {field}")]
    Truncated {
        /// The record type.
        rtype: Rtype,
        /// The field that is cut short.
        field: &'static str,
    },
    /// Octets remain after the last field.
    #[error("{rtype} RDATA has {extra} octets after its last field")]
    TrailingData {
        /// The record type.
        rtype: Rtype,
        /// How many octets are left over.
        extra: usize,
    },
    /// The presentation form stops before a field.
    #[error("{rtype} record has no {field}")]
    Missing {
        /// The record type.
        rtype: Rtype,
        /// The first field that is missing.
        field: &'static str,
    },
    /// Text remains after the last field.
    #[error("{rtype} record has unexpected text {text:?} after its last field")]
    TrailingText {
        /// The record type.
        rtype: Rtype,
        /// The first token left over.
        text: String,
    },
    /// More octets than RDLENGTH can count.
    #[error("RDATA is {len} octets long; a record holds at most 65535")]
    TooLong {
        /// The length given or produced.
        len: usize,
    },
    /// A type without a presentation form here, given in something other than `\#` form.
    #[error(
        "{0} has no presentation form here; give it as RFC 3597 generic RDATA: \\# <length> <hex>"
    )]
    NoPresentation(Rtype),
    /// A malformed RFC 3597 `\# <length> <hex>` form.
    #[error("RFC 3597 generic RDATA: {0}")]
    Generic(String),
    /// Text that does not split into tokens (an unclosed quote, a bad escape).
    #[error("presentation text: {0}")]
    Syntax(String),
    /// A TXT value [`Rdata::txt_from_value`] refuses.
    #[error("TXT value {0}")]
    TxtValue(String),
}

impl RdataError {
    pub(crate) fn field(rtype: Rtype, field: &'static str, problem: impl Into<String>) -> Self {
        Self::Field {
            rtype,
            field,
            problem: problem.into(),
        }
    }
}

impl Rdata {
    /// Validates wire-form RDATA for `rtype` and takes a copy with embedded names lower-cased.
    ///
    /// Compression pointers are refused: RFC 3597 §4 "servers MUST NOT compress domain names
    /// embedded in the RDATA of types that are class-specific or not well-known", and names
    /// arrive here already decompressed by the message parser for the well-known ones.
    pub fn from_wire(rtype: Rtype, wire: &[u8]) -> Result<Self, RdataError> {
        if rtype.is_meta() {
            return Err(RdataError::MetaType(rtype));
        }
        if wire.len() > MAX_RDATA_LEN {
            return Err(RdataError::TooLong { len: wire.len() });
        }
        let mut buf = wire.to_vec();
        match fields::format_of(rtype) {
            Format::Fields(list) => fields::validate(rtype, list, &mut buf)?,
            Format::Svcb => svcb::validate(rtype, &mut buf)?,
            Format::Loc => loc::validate(rtype, &buf)?,
            Format::Opaque => {}
        }
        Ok(Self(buf.into_boxed_slice()))
    }

    /// Parses the presentation form of `rtype`'s RDATA (RFC 1035 §5.1 and the type's RFC).
    ///
    /// `origin` is the lower-case wire name that relative names are completed with, and what
    /// `@` stands for. The RFC 3597 §5 generic form `\# <length> <hex>` is accepted for every
    /// type and checked like wire input.
    pub fn parse(rtype: Rtype, text: &str, origin: &[u8]) -> Result<Self, RdataError> {
        let tokens = text::tokenize(text).map_err(RdataError::Syntax)?;
        Self::parse_tokens(rtype, &tokens, origin)
    }

    pub(crate) fn parse_tokens(
        rtype: Rtype,
        tokens: &[Token<'_>],
        origin: &[u8],
    ) -> Result<Self, RdataError> {
        if rtype.is_meta() {
            return Err(RdataError::MetaType(rtype));
        }
        if let Some(first) = tokens.first()
            && first.raw == "\\#"
            && !first.quoted
        {
            return Self::from_wire(rtype, &parse_generic(&tokens[1..])?);
        }
        let wire = match fields::format_of(rtype) {
            Format::Fields(list) => fields::parse(rtype, list, tokens, origin)?,
            Format::Svcb => svcb::parse(rtype, tokens, origin)?,
            Format::Loc => loc::parse(rtype, tokens)?,
            Format::Opaque => return Err(RdataError::NoPresentation(rtype)),
        };
        Self::from_wire(rtype, &wire)
    }

    /// The wire form.
    pub fn as_wire(&self) -> &[u8] {
        &self.0
    }

    /// Length of the wire form in octets.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for empty RDATA (possible only for types without a fixed format).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The presentation form: names absolute with a trailing dot, character-strings quoted,
    /// and `\# <length> <hex>` (RFC 3597 §5) for types this module does not decode or values
    /// their presentation form cannot express. `Rdata::parse(rtype, &x.to_text(rtype), _)`
    /// gives `x` back.
    pub fn to_text(&self, rtype: Rtype) -> String {
        let mut out = String::new();
        let written = match fields::format_of(rtype) {
            Format::Fields(list) => fields::write(&mut out, list, &self.0),
            Format::Svcb => svcb::write(&mut out, &self.0),
            Format::Loc => loc::write(&mut out, &self.0),
            Format::Opaque => None,
        };
        if written.is_none() {
            out.clear();
            write_generic(&mut out, &self.0);
        }
        out
    }

    /// A-record RDATA.
    pub fn ipv4(addr: Ipv4Addr) -> Self {
        Self(Box::new(addr.octets()))
    }

    /// AAAA-record RDATA.
    pub fn ipv6(addr: Ipv6Addr) -> Self {
        Self(Box::new(addr.octets()))
    }

    /// The address, when the RDATA is 4 octets (A).
    pub fn as_ipv4(&self) -> Option<Ipv4Addr> {
        <[u8; 4]>::try_from(&*self.0).ok().map(Ipv4Addr::from)
    }

    /// The address, when the RDATA is 16 octets (AAAA).
    pub fn as_ipv6(&self) -> Option<Ipv6Addr> {
        <[u8; 16]>::try_from(&*self.0).ok().map(Ipv6Addr::from)
    }

    /// RDATA that is one domain name, as for CNAME, NS, PTR and DNAME.
    pub fn name_target(name: &DomainName) -> Self {
        Self(name.to_wire().into_boxed_slice())
    }

    /// The wire name that makes up the whole RDATA, for single-name types (CNAME, NS, PTR,
    /// DNAME); `None` when the RDATA is not exactly one name.
    pub fn leading_name(&self) -> Option<&[u8]> {
        let end = fields::name_end(&self.0, 0)?;
        (end == self.0.len()).then_some(&*self.0)
    }

    /// TXT RDATA holding one raw value, split into character-strings of at most 255 octets
    /// (on character boundaries); an empty value is one empty string.
    ///
    /// Control characters and values over 2048 octets are refused: they are almost always a
    /// client's mistake, and long values belong in several records.
    pub fn txt_from_value(value: &str) -> Result<Self, RdataError> {
        if value.len() > MAX_TXT_VALUE_LEN {
            return Err(RdataError::TxtValue(format!(
                "is {} octets long; at most {MAX_TXT_VALUE_LEN} are accepted",
                value.len()
            )));
        }
        if let Some(c) = value.chars().find(|c| c.is_control()) {
            return Err(RdataError::TxtValue(format!(
                "contains the control character {c:?}"
            )));
        }
        let mut out = Vec::with_capacity(value.len() + value.len() / 255 + 1);
        let mut chunk_start = out.len();
        out.push(0);
        for c in value.chars() {
            let mut buf = [0u8; 4];
            let encoded = c.encode_utf8(&mut buf).as_bytes();
            if out.len() - chunk_start - 1 + encoded.len() > 255 {
                chunk_start = out.len();
                out.push(0);
            }
            out.extend_from_slice(encoded);
            out[chunk_start] = (out.len() - chunk_start - 1) as u8;
        }
        Ok(Self(out.into_boxed_slice()))
    }

    /// The character-strings concatenated, when the RDATA is a sequence of them (TXT, SPF) and
    /// the result is UTF-8: the inverse of [`Rdata::txt_from_value`].
    pub fn txt_value(&self) -> Option<String> {
        let mut out = Vec::with_capacity(self.0.len());
        let mut pos = 0;
        while pos < self.0.len() {
            let len = usize::from(self.0[pos]);
            out.extend_from_slice(self.0.get(pos + 1..pos + 1 + len)?);
            pos += 1 + len;
        }
        if self.0.is_empty() {
            return None;
        }
        String::from_utf8(out).ok()
    }
}

/// RFC 3597 §5: "\# <length> <hex>": the length in octets, then the RDATA in hex, which "may
/// be broken up into multiple tokens", with no hex at all when the length is 0.
fn parse_generic(tokens: &[Token<'_>]) -> Result<Vec<u8>, RdataError> {
    let Some(length) = tokens.first() else {
        return Err(RdataError::Generic("the length is missing".to_owned()));
    };
    let len = text::parse_number(length.raw, MAX_RDATA_LEN as u32).ok_or_else(|| {
        RdataError::Generic(format!(
            "the length {:?} is not a number 0..=65535",
            length.raw
        ))
    })? as usize;
    let wire = if tokens.len() > 1 {
        text::decode_hex(&tokens[1..]).map_err(RdataError::Generic)?
    } else {
        Vec::new()
    };
    if wire.len() != len {
        return Err(RdataError::Generic(format!(
            "the length says {len} octets but the hex holds {}",
            wire.len()
        )));
    }
    Ok(wire)
}

fn write_generic(out: &mut String, wire: &[u8]) {
    out.push_str("\\# ");
    out.push_str(&wire.len().to_string());
    if !wire.is_empty() {
        out.push(' ');
        text::write_hex(out, wire);
    }
}

#[cfg(test)]
pub(crate) mod tests;
