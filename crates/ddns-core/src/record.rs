//! Record sets: one owner's records of one type, validated once and kept in wire form.
//!
//! Writers change whole RRsets (RFC 2181 §5): all A records of a name, all its MX records…
//! The records are kept sorted and de-duplicated, so "is this update a change?" is a plain
//! equality test, independent of the order a client sent them in. Every record's RDATA is an
//! [`Rdata`], valid for its type, so no later code parses it again.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::rdata::{Rdata, RdataError};
use crate::rtype::Rtype;

/// TTL of dynamic records unless the zone or the request says otherwise.
pub const DEFAULT_DYNAMIC_TTL: u32 = 60;
/// Highest TTL a record may have (one week).
pub const MAX_TTL: u32 = 604_800;
/// Most values one RRset written through the HTTP APIs may hold.
pub const MAX_VALUES: usize = 32;
/// Largest RRset in wire form (every record's TYPE, CLASS, TTL, RDLENGTH and RDATA plus a
/// two-octet owner pointer). An RRset larger than this could not be answered in one DNS message
/// beside a question, a CNAME chain and the SOA, so it is refused when written.
pub const MAX_RRSET_WIRE: usize = 32 * 1024;

/// Why a record set cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// A value that is not valid RDATA for its type.
    #[error("{rtype} value {value:?}: {error}")]
    BadValue {
        /// The type.
        rtype: Rtype,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        error: RdataError,
    },
    /// RDATA in wire form that is not valid for its type.
    #[error("{rtype} record: {0}", rtype = .1)]
    BadRdata(RdataError, Rtype),
    /// A type name that is not known.
    #[error(transparent)]
    UnknownType(RdataError),
    /// Not an IPv4 address in dotted-quad form.
    #[error("{0:?} is not an IPv4 address")]
    BadIpv4(String),
    /// Not an IPv6 address.
    #[error("{0:?} is not an IPv6 address")]
    BadIpv6(String),
    /// An address that no host can have (unspecified, broadcast, multicast, IPv4-mapped).
    #[error("{0} cannot be a host's address")]
    UnusableAddress(String),
    /// A type that is not zone data or that the server maintains itself.
    #[error("{0} records cannot be written: {why}", why = not_writable_reason(*.0))]
    NotWritable(Rtype),
    /// More than one CNAME target.
    #[error("a CNAME record set holds exactly one target")]
    CnameCount,
    /// Too many values.
    #[error("a record set holds at most {MAX_VALUES} values here")]
    TooManyValues,
    /// No value at all (use a delete instead).
    #[error("a record set needs at least one value")]
    NoValues,
    /// TTL out of range.
    #[error("TTL {0} is out of range 1..={MAX_TTL}")]
    BadTtl(u32),
    /// The RRset would not fit in a DNS message.
    #[error(
        "the record set is {0} octets in DNS wire form; at most {MAX_RRSET_WIRE} can be served"
    )]
    TooLarge(usize),
}

fn not_writable_reason(rtype: Rtype) -> &'static str {
    match rtype {
        Rtype::SOA => "the server maintains the SOA record itself",
        Rtype::RRSIG | Rtype::NSEC | Rtype::NSEC3 | Rtype::NSEC3PARAM => {
            "DNSSEC signatures and proofs are made by a signer, not written as data"
        }
        _ => "it is a meta type, not zone data",
    }
}

/// One RRset: type, TTL and records.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RecordSet {
    rtype: Rtype,
    ttl: u32,
    rdatas: Vec<Rdata>,
}

impl RecordSet {
    /// Builds a record set from validated RDATAs: sorted, de-duplicated, size-checked.
    pub fn new(rtype: Rtype, ttl: u32, mut rdatas: Vec<Rdata>) -> Result<Self, RecordError> {
        if rdatas.is_empty() {
            return Err(RecordError::NoValues);
        }
        // RFC 2181 §8: a TTL is an unsigned number below 2^31. Updates are held to MAX_TTL
        // in `from_values`; the configuration and imports may use longer ones.
        if ttl > crate::zone_file::MAX_TTL {
            return Err(RecordError::BadTtl(ttl));
        }
        rdatas.sort_unstable();
        rdatas.dedup();
        if rtype == Rtype::CNAME && rdatas.len() != 1 {
            return Err(RecordError::CnameCount);
        }
        let set = Self { rtype, ttl, rdatas };
        let size = set.wire_size();
        if size > MAX_RRSET_WIRE {
            return Err(RecordError::TooLarge(size));
        }
        Ok(set)
    }

    /// Refuses types that updates may never write (SOA, DNSSEC records, meta types).
    pub fn check_writable(rtype: Rtype) -> Result<(), RecordError> {
        let forbidden = rtype.is_meta()
            || matches!(
                rtype,
                Rtype::SOA | Rtype::RRSIG | Rtype::NSEC | Rtype::NSEC3 | Rtype::NSEC3PARAM
            );
        if forbidden {
            Err(RecordError::NotWritable(rtype))
        } else {
            Ok(())
        }
    }

    /// Address records of a host.
    pub fn ipv4(ttl: u32, addrs: &[Ipv4Addr]) -> Result<Self, RecordError> {
        Self::new(
            Rtype::A,
            ttl,
            addrs.iter().map(|a| Rdata::ipv4(*a)).collect(),
        )
    }

    /// IPv6 address records of a host.
    pub fn ipv6(ttl: u32, addrs: &[Ipv6Addr]) -> Result<Self, RecordError> {
        Self::new(
            Rtype::AAAA,
            ttl,
            addrs.iter().map(|a| Rdata::ipv6(*a)).collect(),
        )
    }

    /// A record set from the values of the HTTP APIs: addresses as text (each one a host may
    /// have), TXT values as raw text, every other type in presentation form with relative names
    /// completed by `origin` (lower-case wire). At most [`MAX_VALUES`] values; TTL 1..=MAX_TTL.
    pub fn from_values<S: AsRef<str>>(
        rtype: Rtype,
        ttl: u32,
        values: &[S],
        origin: &[u8],
    ) -> Result<Self, RecordError> {
        Self::check_writable(rtype)?;
        if values.is_empty() {
            return Err(RecordError::NoValues);
        }
        if values.len() > MAX_VALUES {
            return Err(RecordError::TooManyValues);
        }
        if ttl == 0 || ttl > MAX_TTL {
            return Err(RecordError::BadTtl(ttl));
        }
        let mut rdatas = Vec::with_capacity(values.len());
        for value in values {
            let value = value.as_ref();
            let rdata = match rtype {
                Rtype::A => Ok(Rdata::ipv4(parse_ipv4(value)?)),
                Rtype::AAAA => Ok(Rdata::ipv6(parse_ipv6(value)?)),
                Rtype::TXT => Rdata::txt_from_value(value),
                _ => Rdata::parse(rtype, value, origin),
            }
            .map_err(|error| RecordError::BadValue {
                rtype,
                value: value.to_owned(),
                error,
            })?;
            rdatas.push(rdata);
        }
        Self::new(rtype, ttl, rdatas)
    }

    /// The type.
    pub fn rtype(&self) -> Rtype {
        self.rtype
    }
    /// Time to live, seconds.
    pub fn ttl(&self) -> u32 {
        self.ttl
    }
    /// The records' RDATA, in canonical order.
    pub fn rdatas(&self) -> &[Rdata] {
        &self.rdatas
    }

    /// The same records with another TTL.
    pub fn with_ttl(mut self, ttl: u32) -> Self {
        self.ttl = ttl;
        self
    }

    /// IPv4 addresses of an A set (empty for other types).
    pub fn ipv4_addrs(&self) -> Vec<Ipv4Addr> {
        self.rdatas.iter().filter_map(Rdata::as_ipv4).collect()
    }

    /// IPv6 addresses of an AAAA set (empty for other types).
    pub fn ipv6_addrs(&self) -> Vec<Ipv6Addr> {
        self.rdatas.iter().filter_map(Rdata::as_ipv6).collect()
    }

    /// Values as the HTTP APIs show them: TXT as raw text (when it is UTF-8), everything else
    /// in presentation form.
    pub fn values(&self) -> Vec<String> {
        self.rdatas
            .iter()
            .map(|r| match self.rtype {
                Rtype::TXT => r.txt_value().unwrap_or_else(|| r.to_text(self.rtype)),
                _ => r.to_text(self.rtype),
            })
            .collect()
    }

    /// Size in wire form, as answered with a compressed owner.
    pub fn wire_size(&self) -> usize {
        self.rdatas.iter().map(|r| 2 + 10 + r.len()).sum()
    }

    /// The records for storage: each RDATA behind its 16-bit length.
    pub fn encode_rdatas(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.rdatas.iter().map(|r| 2 + r.len()).sum());
        for r in &self.rdatas {
            // RDATA is at most 65535 octets, checked by `Rdata`.
            out.extend_from_slice(&(r.len() as u16).to_be_bytes());
            out.extend_from_slice(r.as_wire());
        }
        out
    }

    /// The inverse of [`Self::encode_rdatas`], validating every RDATA again (storage is input).
    pub fn decode(rtype: Rtype, ttl: u32, blob: &[u8]) -> Result<Self, RecordError> {
        let mut rdatas = Vec::new();
        let mut pos = 0usize;
        while pos < blob.len() {
            let len = blob
                .get(pos..pos + 2)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                .ok_or_else(|| truncated(rtype))?;
            let wire = blob
                .get(pos + 2..pos + 2 + len)
                .ok_or_else(|| truncated(rtype))?;
            rdatas
                .push(Rdata::from_wire(rtype, wire).map_err(|e| RecordError::BadRdata(e, rtype))?);
            pos += 2 + len;
        }
        Self::new(rtype, ttl, rdatas)
    }
}

fn truncated(rtype: Rtype) -> RecordError {
    RecordError::BadRdata(
        RdataError::Generic("stored records are truncated".into()),
        rtype,
    )
}

impl fmt::Display for RecordSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.rtype,
            self.ttl,
            self.values().join(", ")
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &[u8] = b"\x03dyn\x07example\x00";

    #[test]
    fn parses_and_normalises() {
        let a = RecordSet::from_values(
            Rtype::A,
            60,
            &["192.0.2.9", "192.0.2.1", "192.0.2.9"],
            ORIGIN,
        )
        .unwrap();
        assert_eq!(a.values(), vec!["192.0.2.1", "192.0.2.9"]);
        let b = RecordSet::from_values(Rtype::A, 60, &["192.0.2.1", "192.0.2.9"], ORIGIN).unwrap();
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
    fn txt_values_are_raw_text() {
        let long = "x".repeat(300);
        let set = RecordSet::from_values(Rtype::TXT, 60, &[long.as_str()], ORIGIN).unwrap();
        let rdata = set.rdatas()[0].as_wire();
        assert_eq!(rdata[0], 255);
        assert_eq!(rdata[256], 45);
        assert_eq!(set.values(), vec![long]);
        assert!(RecordSet::from_values(Rtype::TXT, 60, &["a\nb"], ORIGIN).is_err());
    }

    #[test]
    fn other_types_in_presentation_form() {
        let mx = RecordSet::from_values(Rtype::MX, 300, &["10 mail", "5 mx.example.net."], ORIGIN)
            .unwrap();
        // Canonical RDATA order (RFC 4034 §6.3): by octets, so preference 5 first.
        assert_eq!(
            mx.values(),
            vec!["5 mx.example.net.", "10 mail.dyn.example."]
        );
        assert!(matches!(
            RecordSet::from_values(Rtype::MX, 300, &["ten mail"], ORIGIN),
            Err(RecordError::BadValue { .. })
        ));
        assert!(matches!(
            RecordSet::from_values(Rtype::SOA, 300, &["a. b. 1 2 3 4 5"], ORIGIN),
            Err(RecordError::NotWritable(Rtype::SOA))
        ));
    }

    #[test]
    fn storage_round_trips() {
        for (rtype, values) in [
            (Rtype::A, vec!["192.0.2.1", "192.0.2.2"]),
            (Rtype::AAAA, vec!["2001:db8::1"]),
            (Rtype::TXT, vec!["x".repeat(300).leak() as &str, ""]),
            (Rtype::CNAME, vec!["target.example."]),
            (Rtype::SRV, vec!["0 5 445 files"]),
        ] {
            let set = RecordSet::from_values(rtype, 60, &values, ORIGIN).unwrap();
            let back = RecordSet::decode(rtype, 60, &set.encode_rdatas()).unwrap();
            assert_eq!(back, set);
        }
        assert!(RecordSet::decode(Rtype::A, 60, b"\x00\x05\x01\x02").is_err());
    }

    #[test]
    fn cname_has_one_target() {
        assert_eq!(
            RecordSet::from_values(Rtype::CNAME, 60, &["a.example.", "b.example."], ORIGIN),
            Err(RecordError::CnameCount)
        );
        let c = RecordSet::from_values(Rtype::CNAME, 60, &["Target.Example.com."], ORIGIN).unwrap();
        assert_eq!(c.values(), vec!["target.example.com."]);
    }

    #[test]
    fn bounds() {
        assert!(RecordSet::from_values(Rtype::A, 0, &["192.0.2.1"], ORIGIN).is_err());
        assert!(RecordSet::from_values(Rtype::A, MAX_TTL + 1, &["192.0.2.1"], ORIGIN).is_err());
        // 32 TXT values of 2048 octets fit no DNS message: refused when written.
        let big = "x".repeat(2048);
        let values: Vec<&str> = (0..32).map(|_| big.as_str()).collect();
        let mut distinct: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{i}{v}"))
            .collect();
        for v in &mut distinct {
            v.truncate(2048);
        }
        assert!(matches!(
            RecordSet::from_values(Rtype::TXT, 60, &distinct, ORIGIN),
            Err(RecordError::TooLarge(_))
        ));
    }
}
