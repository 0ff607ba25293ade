//! Dynamic record sets: the record types clients may change and their validated values.
//!
//! Clients change whole RRsets (RFC 2181 §5): all A records of a name, all its TXT records…
//! Values are kept sorted and de-duplicated so that "is this update a change?" is a plain
//! equality test, independent of the order a client sent them in.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::name::{DomainName, NameError};

/// TTL of dynamic records unless the zone or the request says otherwise.
pub const DEFAULT_DYNAMIC_TTL: u32 = 60;
/// Highest TTL a client may ask for (one week).
pub const MAX_TTL: u32 = 604_800;
/// Most values one dynamic RRset may hold.
pub const MAX_VALUES: usize = 32;
/// Longest TXT value, in octets (split into 255-octet character-strings on the wire).
pub const MAX_TXT_LEN: usize = 2048;

/// The record types that the update APIs may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordType {
    /// IPv4 address (RFC 1035).
    A,
    /// IPv6 address (RFC 3596).
    Aaaa,
    /// Text, mostly ACME DNS-01 challenges (RFC 8555 §8.4).
    Txt,
    /// Alias (RFC 1034 §3.6.2).
    Cname,
}

impl RecordType {
    /// All dynamic types, in presentation order.
    pub const ALL: [Self; 4] = [Self::A, Self::Aaaa, Self::Txt, Self::Cname];

    /// The RR TYPE code on the wire.
    pub fn code(self) -> u16 {
        match self {
            Self::A => 1,
            Self::Aaaa => 28,
            Self::Txt => 16,
            Self::Cname => 5,
        }
    }

    /// The mnemonic, as in zone files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::Aaaa => "AAAA",
            Self::Txt => "TXT",
            Self::Cname => "CNAME",
        }
    }

    /// Parses a mnemonic, case-insensitively.
    pub fn parse(text: &str) -> Result<Self, RecordError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| RecordError::UnsupportedType(text.to_owned()))
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a value cannot be stored in a dynamic record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A type the update APIs do not manage.
    #[error("record type {0:?} cannot be changed through updates (A, AAAA, TXT, CNAME can)")]
    UnsupportedType(String),
    /// Not an IPv4 address in dotted-quad form.
    #[error("{0:?} is not an IPv4 address")]
    BadIpv4(String),
    /// Not an IPv6 address.
    #[error("{0:?} is not an IPv6 address")]
    BadIpv6(String),
    /// An address that no host can have (unspecified, broadcast, multicast, IPv4-mapped).
    #[error("{0} cannot be a host's address")]
    UnusableAddress(String),
    /// A TXT value that is too long or has control characters.
    #[error("TXT value rejected: {0}")]
    BadTxt(&'static str),
    /// A CNAME target that is not a valid name.
    #[error("CNAME target rejected: {0}")]
    BadTarget(#[from] NameError),
    /// More than one CNAME target.
    #[error("a CNAME record set holds exactly one target")]
    CnameCount,
    /// Too many values.
    #[error("a record set holds at most {MAX_VALUES} values")]
    TooManyValues,
    /// No value at all (use a delete instead).
    #[error("a record set needs at least one value")]
    NoValues,
    /// TTL out of range.
    #[error("TTL {0} is out of range 1..={MAX_TTL}")]
    BadTtl(u32),
}

/// The values of one dynamic RRset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordData {
    /// IPv4 addresses.
    A(Vec<Ipv4Addr>),
    /// IPv6 addresses.
    Aaaa(Vec<Ipv6Addr>),
    /// TXT values (each one record).
    Txt(Vec<String>),
    /// The alias target.
    Cname(DomainName),
}

impl RecordData {
    /// Parses presentation-form values for `rtype` (`"192.0.2.1"`, `"2001:db8::1"`, free text,
    /// a name). The result is sorted and de-duplicated.
    pub fn parse<S: AsRef<str>>(rtype: RecordType, values: &[S]) -> Result<Self, RecordError> {
        if values.is_empty() {
            return Err(RecordError::NoValues);
        }
        if values.len() > MAX_VALUES {
            return Err(RecordError::TooManyValues);
        }
        let data = match rtype {
            RecordType::A => Self::A(
                values
                    .iter()
                    .map(|v| parse_ipv4(v.as_ref()))
                    .collect::<Result<_, _>>()?,
            ),
            RecordType::Aaaa => Self::Aaaa(
                values
                    .iter()
                    .map(|v| parse_ipv6(v.as_ref()))
                    .collect::<Result<_, _>>()?,
            ),
            RecordType::Txt => Self::Txt(
                values
                    .iter()
                    .map(|v| check_txt(v.as_ref()).map(str::to_owned))
                    .collect::<Result<_, _>>()?,
            ),
            RecordType::Cname => {
                if values.len() != 1 {
                    return Err(RecordError::CnameCount);
                }
                Self::Cname(DomainName::parse(values[0].as_ref())?)
            }
        };
        Ok(data.normalised())
    }

    /// Values from wire-form RDATA of `rtype` (zone import). Unsupported types give `None`.
    pub fn from_rdatas<'a>(
        rtype_code: u16,
        rdatas: impl IntoIterator<Item = &'a [u8]>,
    ) -> Option<Result<Self, RecordError>> {
        let rtype = RecordType::ALL
            .into_iter()
            .find(|t| t.code() == rtype_code)?;
        let mut values = Vec::new();
        for rdata in rdatas {
            let text = match rtype {
                RecordType::A => <[u8; 4]>::try_from(rdata)
                    .ok()
                    .map(|b| Ipv4Addr::from(b).to_string()),
                RecordType::Aaaa => <[u8; 16]>::try_from(rdata)
                    .ok()
                    .map(|b| Ipv6Addr::from(b).to_string()),
                RecordType::Txt => txt_text(rdata),
                RecordType::Cname => Some(crate::name::wire_to_text(rdata)),
            };
            match text {
                Some(t) => values.push(t),
                None => return Some(Err(RecordError::BadTxt("malformed RDATA"))),
            }
        }
        Some(Self::parse(rtype, &values))
    }

    /// The type of these values.
    pub fn rtype(&self) -> RecordType {
        match self {
            Self::A(_) => RecordType::A,
            Self::Aaaa(_) => RecordType::Aaaa,
            Self::Txt(_) => RecordType::Txt,
            Self::Cname(_) => RecordType::Cname,
        }
    }

    fn normalised(mut self) -> Self {
        match &mut self {
            Self::A(v) => {
                v.sort_unstable();
                v.dedup();
            }
            Self::Aaaa(v) => {
                v.sort_unstable();
                v.dedup();
            }
            Self::Txt(v) => {
                v.sort_unstable();
                v.dedup();
            }
            Self::Cname(_) => {}
        }
        self
    }

    /// Values in presentation form (as stored and shown by the API).
    pub fn to_strings(&self) -> Vec<String> {
        match self {
            Self::A(v) => v.iter().map(ToString::to_string).collect(),
            Self::Aaaa(v) => v.iter().map(ToString::to_string).collect(),
            Self::Txt(v) => v.clone(),
            Self::Cname(n) => vec![n.to_fqdn()],
        }
    }

    /// RDATA of each record in wire form (names uncompressed).
    pub fn to_rdatas(&self) -> Vec<Vec<u8>> {
        match self {
            Self::A(v) => v.iter().map(|a| a.octets().to_vec()).collect(),
            Self::Aaaa(v) => v.iter().map(|a| a.octets().to_vec()).collect(),
            Self::Txt(v) => v.iter().map(|t| txt_rdata(t)).collect(),
            Self::Cname(n) => vec![n.to_wire()],
        }
    }
}

/// A dynamic RRset: TTL and values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordSet {
    /// Time to live, seconds.
    pub ttl: u32,
    /// The records.
    pub data: RecordData,
}

impl RecordSet {
    /// Builds a record set, checking the TTL.
    pub fn new(ttl: u32, data: RecordData) -> Result<Self, RecordError> {
        if ttl == 0 || ttl > MAX_TTL {
            return Err(RecordError::BadTtl(ttl));
        }
        Ok(Self { ttl, data })
    }
}

/// Parses an IPv4 address that a host can have.
pub fn parse_ipv4(text: &str) -> Result<Ipv4Addr, RecordError> {
    let addr: Ipv4Addr = text
        .trim()
        .parse()
        .map_err(|_| RecordError::BadIpv4(text.to_owned()))?;
    if addr.is_unspecified() || addr.is_broadcast() || addr.is_multicast() {
        return Err(RecordError::UnusableAddress(addr.to_string()));
    }
    Ok(addr)
}

/// Parses an IPv6 address that a host can have.
pub fn parse_ipv6(text: &str) -> Result<Ipv6Addr, RecordError> {
    let addr: Ipv6Addr = text
        .trim()
        .parse()
        .map_err(|_| RecordError::BadIpv6(text.to_owned()))?;
    if addr.is_unspecified() || addr.is_multicast() || addr.to_ipv4_mapped().is_some() {
        return Err(RecordError::UnusableAddress(addr.to_string()));
    }
    Ok(addr)
}

fn check_txt(text: &str) -> Result<&str, RecordError> {
    if text.len() > MAX_TXT_LEN {
        return Err(RecordError::BadTxt("longer than 2048 octets"));
    }
    if text.chars().any(char::is_control) {
        return Err(RecordError::BadTxt("control characters are not allowed"));
    }
    Ok(text)
}

/// The character-strings of TXT RDATA joined into one value (inverse of [`txt_rdata`]).
fn txt_text(rdata: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(rdata.len());
    let mut pos = 0usize;
    while pos < rdata.len() {
        let len = usize::from(rdata[pos]);
        out.extend_from_slice(rdata.get(pos + 1..pos + 1 + len)?);
        pos += 1 + len;
    }
    String::from_utf8(out).ok()
}

/// TXT RDATA: the text split into character-strings of at most 255 octets (RFC 1035 §3.3.14).
fn txt_rdata(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 255 + 1);
    if bytes.is_empty() {
        out.push(0);
    }
    for chunk in bytes.chunks(255) {
        out.push(chunk.len() as u8);
        out.extend_from_slice(chunk);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let a = RecordData::parse(RecordType::A, &["192.0.2.9", "192.0.2.1", "192.0.2.9"]).unwrap();
        assert_eq!(a.to_strings(), vec!["192.0.2.1", "192.0.2.9"]);
        let b = RecordData::parse(RecordType::A, &["192.0.2.1", "192.0.2.9"]).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn rejects_non_addresses() {
        for bad in [
            "1234",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "::1",
            "example.com",
            "",
        ] {
            assert!(
                matches!(parse_ipv4(bad), Err(RecordError::BadIpv4(_))),
                "{bad}"
            );
        }
        for bad in ["0.0.0.0", "255.255.255.255", "224.0.0.1"] {
            assert!(matches!(
                parse_ipv4(bad),
                Err(RecordError::UnusableAddress(_))
            ));
        }
        for bad in ["1.2.3.4", "2001:db8::g", ":::", "2001:db8::1%eth0"] {
            assert!(matches!(parse_ipv6(bad), Err(RecordError::BadIpv6(_))));
        }
        for bad in ["::", "ff02::1", "::ffff:192.0.2.1"] {
            assert!(matches!(
                parse_ipv6(bad),
                Err(RecordError::UnusableAddress(_))
            ));
        }
    }

    #[test]
    fn txt_is_split_into_character_strings() {
        let long = "x".repeat(300);
        let data = RecordData::parse(RecordType::Txt, &[long.as_str()]).unwrap();
        let rdata = &data.to_rdatas()[0];
        assert_eq!(rdata[0], 255);
        assert_eq!(rdata[256], 45);
        assert_eq!(rdata.len(), 302);
        assert!(RecordData::parse(RecordType::Txt, &["a\nb"]).is_err());
    }

    #[test]
    fn from_wire_round_trips() {
        for (rtype, values) in [
            (RecordType::A, vec!["192.0.2.1", "192.0.2.2"]),
            (RecordType::Aaaa, vec!["2001:db8::1"]),
            (RecordType::Txt, vec!["x".repeat(300).leak() as &str]),
            (RecordType::Cname, vec!["target.example."]),
        ] {
            let data = RecordData::parse(rtype, &values).unwrap();
            let wire = data.to_rdatas();
            let back = RecordData::from_rdatas(rtype.code(), wire.iter().map(Vec::as_slice))
                .unwrap()
                .unwrap();
            assert_eq!(back, data);
        }
        assert!(
            RecordData::from_rdatas(15, [&b"\x00\x0a\x00"[..]]).is_none(),
            "MX is not dynamic"
        );
    }

    #[test]
    fn cname_has_one_target() {
        assert_eq!(
            RecordData::parse(RecordType::Cname, &["a.example.", "b.example."]),
            Err(RecordError::CnameCount)
        );
        let c = RecordData::parse(RecordType::Cname, &["Target.Example.com."]).unwrap();
        assert_eq!(c.to_strings(), vec!["target.example.com."]);
    }

    #[test]
    fn ttl_range() {
        let data = RecordData::parse(RecordType::A, &["192.0.2.1"]).unwrap();
        assert!(RecordSet::new(0, data.clone()).is_err());
        assert!(RecordSet::new(MAX_TTL + 1, data.clone()).is_err());
        assert!(RecordSet::new(60, data).is_ok());
    }
}
