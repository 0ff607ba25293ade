//! RFC 1035 master-file text in and out: static records from the configuration, zone import
//! and `ddns zone export`.
//!
//! Parsing and RDATA presentation are hickory-proto's; this module turns its records into the
//! snapshot's wire form (owner lower-cased, names in RDATA uncompressed) and back.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hickory_proto::rr::{Name, RData, RecordType as HickoryType};
use hickory_proto::serialize::binary::{
    BinDecoder, BinEncodable, BinEncoder, NameEncoding, Restrict,
};
use hickory_proto::serialize::txt::Parser;

use crate::name::{DomainName, wire_to_text};
use crate::snapshot::{Rrset, RrsetChange, Zone, rtype};

/// One record read from master-file text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextRecord {
    /// Lower-case wire owner name.
    pub owner: Vec<u8>,
    /// RR TYPE code.
    pub rtype: u16,
    /// TTL.
    pub ttl: u32,
    /// RDATA in wire form, names uncompressed.
    pub rdata: Vec<u8>,
}

/// Master-file text that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ZoneTextError {
    /// The parser rejected the text.
    #[error("zone text: {0}")]
    Parse(String),
    /// A record outside the zone.
    #[error("record owner {owner} is outside zone {zone}")]
    OutOfZone {
        /// Owner as text.
        owner: String,
        /// The zone.
        zone: String,
    },
    /// A record type that cannot be zone data.
    #[error("{rtype} records cannot be given here: {why}")]
    Forbidden {
        /// Type mnemonic.
        rtype: String,
        /// Reason.
        why: &'static str,
    },
}

/// Parses master-file text relative to `origin`; records without a TTL get `default_ttl`.
pub fn parse_zone_text(
    origin: &DomainName,
    text: &str,
    default_ttl: u32,
) -> Result<Vec<TextRecord>, ZoneTextError> {
    let origin_name =
        Name::from_ascii(origin.to_fqdn()).map_err(|e| ZoneTextError::Parse(e.to_string()))?;
    let input = format!("$TTL {default_ttl}\n{text}\n");
    let (_, sets) = Parser::new(input, None, Some(origin_name.clone()))
        .parse()
        .map_err(|e| ZoneTextError::Parse(e.to_string()))?;
    let origin_wire = origin.to_wire();
    let mut out = Vec::new();
    for set in sets.values() {
        for record in set.records_without_rrsigs() {
            let owner = lower_wire(&record.name)?;
            if !(owner.ends_with(&origin_wire) && origin_name.zone_of(&record.name)) {
                return Err(ZoneTextError::OutOfZone {
                    owner: record.name.to_string(),
                    zone: origin.to_fqdn(),
                });
            }
            let rtype: u16 = record.record_type().into();
            match record.record_type() {
                HickoryType::OPT | HickoryType::TSIG | HickoryType::AXFR | HickoryType::IXFR => {
                    return Err(ZoneTextError::Forbidden {
                        rtype: record.record_type().to_string(),
                        why: "it is not zone data",
                    });
                }
                _ => {}
            }
            out.push(TextRecord {
                owner,
                rtype,
                ttl: record.ttl,
                rdata: rdata_wire(&record.data)?,
            });
        }
    }
    Ok(out)
}

/// The records of one owner and type, as one RRset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupedRrset<'a> {
    /// Lower-case wire owner.
    pub owner: &'a [u8],
    /// RR TYPE code.
    pub rtype: u16,
    /// The lowest TTL of the records (RFC 2181 §5.2: one TTL per RRset).
    pub ttl: u32,
    /// Distinct RDATAs, in file order.
    pub rdatas: Vec<&'a [u8]>,
}

/// Groups records into RRsets, ordered by owner and type.
pub fn group_rrsets(records: &[TextRecord]) -> Vec<GroupedRrset<'_>> {
    let mut grouped: BTreeMap<(&[u8], u16), GroupedRrset<'_>> = BTreeMap::new();
    for r in records {
        let entry = grouped
            .entry((r.owner.as_slice(), r.rtype))
            .or_insert_with(|| GroupedRrset {
                owner: &r.owner,
                rtype: r.rtype,
                ttl: r.ttl,
                rdatas: Vec::new(),
            });
        entry.ttl = entry.ttl.min(r.ttl);
        if !entry.rdatas.contains(&r.rdata.as_slice()) {
            entry.rdatas.push(&r.rdata);
        }
    }
    grouped.into_values().collect()
}

/// Groups records into RRset changes for a snapshot.
pub fn into_changes(records: &[TextRecord], dynamic: bool) -> Vec<RrsetChange> {
    group_rrsets(records)
        .into_iter()
        .map(|g| RrsetChange {
            owner: g.owner.into(),
            rtype: g.rtype,
            rrset: Some(Rrset::new(g.rtype, g.ttl, g.rdatas, dynamic)),
        })
        .collect()
}

fn lower_wire(name: &Name) -> Result<Vec<u8>, ZoneTextError> {
    let mut out = Vec::new();
    let mut enc = BinEncoder::new(&mut out);
    enc.set_name_encoding(NameEncoding::Uncompressed);
    name.to_lowercase()
        .emit(&mut enc)
        .map_err(|e| ZoneTextError::Parse(e.to_string()))?;
    Ok(out)
}

fn rdata_wire(data: &RData) -> Result<Vec<u8>, ZoneTextError> {
    let mut out = Vec::new();
    let mut enc = BinEncoder::new(&mut out);
    enc.set_name_encoding(NameEncoding::Uncompressed);
    data.emit(&mut enc)
        .map_err(|e| ZoneTextError::Parse(e.to_string()))?;
    Ok(out)
}

/// Presentation form of one RDATA, or `\# len hex` (RFC 3597 §5) when it cannot be decoded.
pub fn rdata_to_text(rtype_code: u16, rdata: &[u8]) -> String {
    if rtype_code == rtype::TXT
        && let Some(text) = txt_to_text(rdata)
    {
        return text;
    }
    let mut decoder = BinDecoder::new(rdata);
    let len = u16::try_from(rdata.len()).unwrap_or(u16::MAX);
    match RData::read(
        &mut decoder,
        HickoryType::from(rtype_code),
        Restrict::new(len),
    ) {
        Ok(data) => data.to_string(),
        Err(_) => {
            let mut hex = String::new();
            for b in rdata {
                let _ = write!(hex, "{b:02x}");
            }
            format!("\\# {} {hex}", rdata.len())
        }
    }
}

/// TXT RDATA as quoted character-strings (RFC 1035 §5.1); hickory's `Display` leaves the
/// quotes out, which would not read back as one string.
fn txt_to_text(rdata: &[u8]) -> Option<String> {
    let mut out = String::new();
    let mut pos = 0usize;
    while pos < rdata.len() {
        let len = usize::from(rdata[pos]);
        let chunk = rdata.get(pos + 1..pos + 1 + len)?;
        if !out.is_empty() {
            out.push(' ');
        }
        out.push('"');
        for &b in chunk {
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
        pos += 1 + len;
    }
    Some(out)
}

/// Type mnemonic for a code (`TYPE65280` for unknown ones, RFC 3597 §5).
pub fn rtype_to_text(code: u16) -> String {
    HickoryType::from(code).to_string()
}

/// The whole zone as master-file text: SOA first, then every RRset in canonical name order.
pub fn export_zone(zone: &Zone) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "$ORIGIN {}", zone.origin().to_fqdn());
    let origin_wire = zone.origin_wire();
    if let Some(apex) = zone.node(origin_wire)
        && let Some(soa) = apex.rrset(rtype::SOA)
    {
        write_rrset(&mut out, origin_wire, soa);
    }
    for (owner, node) in zone.nodes_sorted() {
        for rrset in node.rrsets() {
            if owner == origin_wire && rrset.rtype() == rtype::SOA {
                continue;
            }
            write_rrset(&mut out, owner, rrset);
        }
    }
    out
}

fn write_rrset(out: &mut String, owner: &[u8], rrset: &Rrset) {
    let owner = wire_to_text(owner);
    let rtype = rtype_to_text(rrset.rtype());
    for rdata in rrset.rdatas() {
        let _ = writeln!(
            out,
            "{owner}\t{}\tIN\t{rtype}\t{}",
            rrset.ttl(),
            rdata_to_text(rrset.rtype(), rdata)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serial::Serial;
    use crate::snapshot::SoaParams;

    fn origin() -> DomainName {
        DomainName::parse("dyn.example").unwrap()
    }

    #[test]
    fn parses_relative_and_absolute_names() {
        let text = "www 300 IN CNAME host\n@ MX 10 mail.example.net.\nNs1 A 192.0.2.53";
        let recs = parse_zone_text(&origin(), text, 3600).unwrap();
        assert_eq!(recs.len(), 3);
        let a = recs.iter().find(|r| r.rtype == rtype::A).unwrap();
        assert_eq!(a.owner, b"\x03ns1\x03dyn\x07example\x00");
        assert_eq!(a.ttl, 3600);
        let cname = recs.iter().find(|r| r.rtype == rtype::CNAME).unwrap();
        assert_eq!(cname.rdata, b"\x04host\x03dyn\x07example\x00");
    }

    #[test]
    fn rejects_out_of_zone_and_soa() {
        assert!(matches!(
            parse_zone_text(&origin(), "x.other.example. A 192.0.2.1", 60),
            Err(ZoneTextError::OutOfZone { .. })
        ));
        assert!(matches!(
            parse_zone_text(&origin(), "@ 60 IN OPT", 60),
            Err(ZoneTextError::Parse(_) | ZoneTextError::Forbidden { .. })
        ));
        assert!(matches!(
            parse_zone_text(&origin(), "x A not-an-address", 60),
            Err(ZoneTextError::Parse(_))
        ));
    }

    #[test]
    fn export_round_trips() {
        let soa = SoaParams {
            mname: DomainName::parse("ns1.dyn.example").unwrap(),
            rname: DomainName::parse("hostmaster.dyn.example").unwrap(),
            refresh: 3600,
            retry: 600,
            expire: 1_209_600,
            minimum: 300,
            ttl: 3600,
        };
        let mut zone = Zone::new(origin(), soa, Serial(42));
        let text = "@ NS ns1\nns1 A 192.0.2.53\nwww CNAME ns1\nt TXT \"hello world\"";
        let recs = parse_zone_text(&origin(), text, 300).unwrap();
        for change in into_changes(&recs, false) {
            zone.apply(change).unwrap();
        }
        let exported = export_zone(&zone);
        assert!(exported.starts_with("$ORIGIN dyn.example.\ndyn.example.\t3600\tIN\tSOA\t"));
        assert!(exported.contains("ns1.dyn.example.\t300\tIN\tA\t192.0.2.53\n"));
        assert!(exported.contains("t.dyn.example.\t300\tIN\tTXT\t\"hello world\"\n"));
        // Re-import the export (minus SOA) and compare record sets.
        let body: String = exported
            .lines()
            .filter(|l| !l.contains("\tSOA\t"))
            .map(|l| format!("{l}\n"))
            .collect();
        let again = parse_zone_text(&origin(), &body, 1).unwrap();
        let mut a = recs.clone();
        let mut b = again;
        a.sort_by(|x, y| (&x.owner, x.rtype).cmp(&(&y.owner, y.rtype)));
        b.sort_by(|x, y| (&x.owner, x.rtype).cmp(&(&y.owner, y.rtype)));
        assert_eq!(a, b);
    }
}
