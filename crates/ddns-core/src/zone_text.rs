//! Master-file text as record sets: static records of the configuration, `ddns zone import`,
//! and whole zones written out for `ddns zone export`.
//!
//! Reading and writing single records is [`crate::zone_file`]'s; this module groups records
//! into RRsets (RFC 2181 §5) and walks a snapshot in canonical order.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read as _;

use crate::name::DomainName;
use crate::rdata::Rdata;
use crate::record::{RecordError, RecordSet};
use crate::rtype::Rtype;
use crate::snapshot::{Rrset, RrsetChange, Zone};
use crate::zone_file::{ZoneEntry, ZoneFileError, ZoneFileReader, write_entry};

/// One record read from master-file text.
pub type TextRecord = ZoneEntry;

/// Parses master-file text relative to `origin`; records without a TTL get `default_ttl`
/// (as if the text began with `$TTL default_ttl`), unless a `$TTL` line says otherwise.
pub fn parse_zone_text(
    origin: &DomainName,
    text: &str,
    default_ttl: u32,
) -> Result<Vec<TextRecord>, ZoneFileError> {
    let header = format!("$TTL {default_ttl}\n");
    ZoneFileReader::new(header.as_bytes().chain(text.as_bytes()), origin, None)
        .map(|entry| {
            entry
                .map(|mut e| {
                    e.line -= 1;
                    e
                })
                .map_err(|mut e| {
                    e.line = e.line.saturating_sub(1);
                    e
                })
        })
        .collect()
}

/// The records of one owner and type, as one RRset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupedRrset<'a> {
    /// Lower-case wire owner.
    pub owner: &'a [u8],
    /// RR TYPE.
    pub rtype: Rtype,
    /// The lowest TTL of the records (RFC 2181 §5.2: one TTL per RRset).
    pub ttl: u32,
    /// Distinct RDATAs, in file order.
    pub rdatas: Vec<&'a Rdata>,
}

impl GroupedRrset<'_> {
    /// As a validated record set.
    pub fn to_set(&self) -> Result<RecordSet, RecordError> {
        RecordSet::new(
            self.rtype,
            self.ttl,
            self.rdatas.iter().map(|r| (*r).clone()).collect(),
        )
    }
}

/// Groups records into RRsets, ordered by owner and type.
pub fn group_rrsets(records: &[TextRecord]) -> Vec<GroupedRrset<'_>> {
    let mut grouped: BTreeMap<(&[u8], Rtype), GroupedRrset<'_>> = BTreeMap::new();
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
        if !entry.rdatas.contains(&&r.rdata) {
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
            rrset: Some(Rrset::new(
                g.rtype,
                g.ttl,
                g.rdatas.iter().map(|r| r.as_wire()),
                dynamic,
            )),
        })
        .collect()
}

/// The whole zone as master-file text: SOA first, then every RRset in canonical name order.
pub fn export_zone(zone: &Zone) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "$ORIGIN {}", zone.origin().to_fqdn());
    let origin_wire = zone.origin_wire();
    if let Some(apex) = zone.node(origin_wire)
        && let Some(soa) = apex.rrset(Rtype::SOA)
    {
        write_rrset(&mut out, origin_wire, soa);
    }
    for (owner, node) in zone.nodes_sorted() {
        for rrset in node.rrsets() {
            if owner == origin_wire && rrset.rtype() == Rtype::SOA {
                continue;
            }
            write_rrset(&mut out, owner, rrset);
        }
    }
    out
}

fn write_rrset(out: &mut String, owner: &[u8], rrset: &Rrset) {
    for rdata in rrset.rdatas() {
        // Snapshot RDATA was validated when it entered; fall back to the generic form anyway.
        let rdata = Rdata::from_wire(rrset.rtype(), rdata)
            .or_else(|_| Rdata::from_wire(Rtype(0xff00), rdata));
        if let Ok(rdata) = rdata {
            let _ = write_entry(out, owner, rrset.ttl(), rrset.rtype(), &rdata);
        }
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
        let a = recs.iter().find(|r| r.rtype == Rtype::A).unwrap();
        assert_eq!(a.owner, b"\x03ns1\x03dyn\x07example\x00");
        assert_eq!(a.ttl, 3600);
        let cname = recs.iter().find(|r| r.rtype == Rtype::CNAME).unwrap();
        assert_eq!(cname.rdata.as_wire(), b"\x04host\x03dyn\x07example\x00");
    }

    #[test]
    fn rejects_out_of_zone_and_meta() {
        let err = parse_zone_text(&origin(), "x.other.example. A 192.0.2.1", 60).unwrap_err();
        assert_eq!(err.line, 1);
        assert!(parse_zone_text(&origin(), "@ 60 IN OPT \\# 0", 60).is_err());
        assert!(
            parse_zone_text(&origin(), "\n\nx A not-an-address", 60)
                .unwrap_err()
                .line
                == 3
        );
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
        let text = "@ NS ns1\nns1 A 192.0.2.53\nwww CNAME ns1\nt TXT \"hello world\"\n\
                    _sip._tcp SRV 0 5 5060 ns1\n@ CAA 0 issue \"ca.example\"\n\
                    h HTTPS 1 . alpn=h2,h3 port=8443\nx TYPE65280 \\# 2 abcd";
        let recs = parse_zone_text(&origin(), text, 300).unwrap();
        for change in into_changes(&recs, false) {
            zone.apply(change).unwrap();
        }
        let exported = export_zone(&zone);
        assert!(exported.starts_with("$ORIGIN dyn.example.\ndyn.example.\t3600\tIN\tSOA\t"));
        assert!(exported.contains("ns1.dyn.example.\t300\tIN\tA\t192.0.2.53\n"));
        assert!(exported.contains("t.dyn.example.\t300\tIN\tTXT\t\"hello world\"\n"));
        let body: String = exported
            .lines()
            .filter(|l| !l.contains("\tSOA\t"))
            .map(|l| format!("{l}\n"))
            .collect();
        let again = parse_zone_text(&origin(), &body, 1).unwrap();
        let key = |r: &TextRecord| (r.owner.clone(), r.rtype, r.rdata.clone(), r.ttl);
        let mut a: Vec<_> = recs.iter().map(key).collect();
        let mut b: Vec<_> = again.iter().map(key).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }
}
