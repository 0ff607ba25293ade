//! UPDATE messages built by hand (to control every octet, compression pointers included) and
//! by hickory-proto's client helpers (an independent encoder), parsed, checked and planned
//! against a small zone.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::serial::Serial;
use crate::snapshot::{Rrset, RrsetChange, SoaParams};

fn n(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

const ZONE: &[u8] = b"\x03dyn\x07example\x00";
/// A pointer to the zone name, which every message below carries at offset 12.
const AT_ZONE: [u8; 2] = [0xc0, 0x0c];

/// `rel` below the zone, as labels followed by a pointer to the zone name; `@` is the apex.
fn owner(rel: &str) -> Vec<u8> {
    let mut out = Vec::new();
    if rel != "@" {
        for label in rel.split('.') {
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.extend_from_slice(&AT_ZONE);
    out
}

fn wire(name: &str) -> Vec<u8> {
    n(name).to_wire()
}

#[derive(Clone)]
struct Rr {
    owner: Vec<u8>,
    rtype: Rtype,
    class: u16,
    ttl: u32,
    rdata: Vec<u8>,
}

fn rr(owner: Vec<u8>, rtype: Rtype, class: u16, ttl: u32, rdata: &[u8]) -> Rr {
    Rr {
        owner,
        rtype,
        class,
        ttl,
        rdata: rdata.to_vec(),
    }
}

fn push_rr(out: &mut Vec<u8>, r: &Rr) {
    out.extend_from_slice(&r.owner);
    out.extend_from_slice(&r.rtype.0.to_be_bytes());
    out.extend_from_slice(&r.class.to_be_bytes());
    out.extend_from_slice(&r.ttl.to_be_bytes());
    out.extend_from_slice(&(r.rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(&r.rdata);
}

/// A message with a free header word 2 (flags), zone section entries and records.
fn raw_message(flags: u16, zones: &[(&[u8], Rtype, u16)], sections: [&[Rr]; 3]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0x1234u16.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&(zones.len() as u16).to_be_bytes());
    for s in sections {
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    }
    for (name, ztype, zclass) in zones {
        out.extend_from_slice(name);
        out.extend_from_slice(&ztype.0.to_be_bytes());
        out.extend_from_slice(&zclass.to_be_bytes());
    }
    for s in sections {
        for r in s {
            push_rr(&mut out, r);
        }
    }
    out
}

const UPDATE_FLAGS: u16 = 5 << 11;

fn message(prereqs: &[Rr], updates: &[Rr]) -> Vec<u8> {
    raw_message(
        UPDATE_FLAGS,
        &[(ZONE, Rtype::SOA, CLASS_IN)],
        [prereqs, updates, &[]],
    )
}

fn parse(msg: &[u8]) -> Result<UpdateMessage, UpdateParseError> {
    parse_update(msg, msg.len())
}

fn rcode_of(msg: &[u8]) -> Rcode {
    parse(msg).unwrap_err().rcode
}

fn soa() -> SoaParams {
    SoaParams {
        mname: n("ns1.dyn.example"),
        rname: n("hostmaster.dyn.example"),
        refresh: 3600,
        retry: 600,
        expire: 1_209_600,
        minimum: 300,
        ttl: 3600,
    }
}

fn put(zone: &mut Zone, name: &str, rtype: Rtype, ttl: u32, rdatas: &[&[u8]], dynamic: bool) {
    let set = RecordSet::new(
        rtype,
        ttl,
        rdatas
            .iter()
            .map(|w| Rdata::from_wire(rtype, w).unwrap())
            .collect(),
    )
    .unwrap();
    zone.apply(RrsetChange {
        owner: wire(name).into(),
        rtype,
        rrset: Some(Rrset::from_set(&set, dynamic)),
    })
    .unwrap();
}

fn mx_rdata(pref: u16, exchange: &str) -> Vec<u8> {
    let mut out = pref.to_be_bytes().to_vec();
    out.extend(wire(exchange));
    out
}

/// dyn.example: apex SOA and NS (configuration), www A ×2, alias CNAME www, h.b A (so b is an
/// empty non-terminal), mail MX.
fn zone() -> Zone {
    let mut z = Zone::new(n("dyn.example"), soa(), Serial(7));
    put(
        &mut z,
        "dyn.example",
        Rtype::NS,
        3600,
        &[&wire("ns1.dyn.example")],
        false,
    );
    put(
        &mut z,
        "www.dyn.example",
        Rtype::A,
        60,
        &[&[192, 0, 2, 1], &[192, 0, 2, 2]],
        true,
    );
    put(
        &mut z,
        "alias.dyn.example",
        Rtype::CNAME,
        60,
        &[&wire("www.dyn.example")],
        true,
    );
    put(
        &mut z,
        "h.b.dyn.example",
        Rtype::A,
        60,
        &[&[192, 0, 2, 9]],
        true,
    );
    put(
        &mut z,
        "mail.dyn.example",
        Rtype::MX,
        300,
        &[&mx_rdata(10, "mx.dyn.example")],
        true,
    );
    z
}

fn a(addr: [u8; 4]) -> Rdata {
    Rdata::from_wire(Rtype::A, &addr).unwrap()
}

fn plan(updates: &[Rr]) -> Vec<RrsetResult> {
    let msg = parse(&message(&[], updates)).unwrap();
    plan_updates(&zone(), &msg.updates).unwrap()
}

fn check(prereqs: &[Rr]) -> Result<(), Rcode> {
    let msg = parse(&message(prereqs, &[])).unwrap();
    check_prerequisites(&zone(), &msg.prerequisites)
}

fn add(rel: &str, rtype: Rtype, ttl: u32, rdata: &[u8]) -> Rr {
    rr(owner(rel), rtype, CLASS_IN, ttl, rdata)
}

// ---- parsing -------------------------------------------------------------------------------

#[test]
fn every_prerequisite_kind_parses() {
    let msg = parse(&message(
        &[
            rr(owner("www"), Rtype::A, CLASS_IN, 0, &[192, 0, 2, 2]),
            rr(owner("x"), Rtype::ANY, CLASS_ANY, 0, &[]),
            rr(owner("x"), Rtype::A, CLASS_ANY, 0, &[]),
            rr(owner("www"), Rtype::A, CLASS_IN, 0, &[192, 0, 2, 1]),
            rr(owner("y"), Rtype::ANY, CLASS_NONE, 0, &[]),
            rr(owner("y"), Rtype::AAAA, CLASS_NONE, 0, &[]),
        ],
        &[],
    ))
    .unwrap();
    assert_eq!(msg.id, 0x1234);
    assert_eq!(msg.zone, n("dyn.example"));
    assert_eq!(
        msg.prerequisites,
        vec![
            Prerequisite::NameInUse {
                name: n("x.dyn.example")
            },
            Prerequisite::RrsetExists {
                name: n("x.dyn.example"),
                rtype: Rtype::A
            },
            Prerequisite::NameNotInUse {
                name: n("y.dyn.example")
            },
            Prerequisite::RrsetAbsent {
                name: n("y.dyn.example"),
                rtype: Rtype::AAAA
            },
            Prerequisite::RrsetMatches {
                name: n("www.dyn.example"),
                rtype: Rtype::A,
                rdatas: vec![a([192, 0, 2, 1]), a([192, 0, 2, 2])],
            },
        ]
    );
}

#[test]
fn every_update_kind_parses() {
    let msg = parse(&message(
        &[],
        &[
            add("h", Rtype::A, 120, &[192, 0, 2, 7]),
            rr(owner("h"), Rtype::AAAA, CLASS_ANY, 0, &[]),
            rr(owner("h"), Rtype::ANY, CLASS_ANY, 0, &[]),
            rr(owner("h"), Rtype::A, CLASS_NONE, 0, &[192, 0, 2, 7]),
        ],
    ))
    .unwrap();
    let h = n("h.dyn.example");
    assert_eq!(
        msg.updates,
        vec![
            UpdateOp::Add {
                name: h.clone(),
                rtype: Rtype::A,
                ttl: 120,
                rdata: a([192, 0, 2, 7])
            },
            UpdateOp::DeleteRrset {
                name: h.clone(),
                rtype: Rtype::AAAA
            },
            UpdateOp::DeleteName { name: h.clone() },
            UpdateOp::DeleteRr {
                name: h.clone(),
                rtype: Rtype::A,
                rdata: a([192, 0, 2, 7])
            },
        ]
    );
    assert_eq!(msg.updates[2].rtype(), Rtype::ANY);
    assert_eq!(msg.updates[2].name(), &h);
}

#[test]
fn compressed_names_in_owners_and_rdata() {
    // Owner "Host" + pointer to the zone at offset 12; its offset is where the update section
    // starts (header 12 + zone name 13 + type and class 4 = 29).
    let host_at: u16 = 29;
    let to_host = (0xc000 | host_at).to_be_bytes();
    let mut mx = 10u16.to_be_bytes().to_vec();
    mx.extend_from_slice(b"\x02MX");
    mx.extend_from_slice(&to_host); // mx.host.dyn.example, through two pointers
    let mut srv = vec![0, 1, 0, 5, 0x01, 0xbd];
    srv.extend_from_slice(&to_host);
    let cname_target = AT_ZONE.to_vec();
    let mut soa_rdata = b"\x03ns1".to_vec();
    soa_rdata.extend_from_slice(&AT_ZONE);
    soa_rdata.extend_from_slice(b"\x0ahostmaster");
    soa_rdata.extend_from_slice(&AT_ZONE);
    soa_rdata.extend_from_slice(&[0; 20]);
    let msg = parse(&message(
        &[],
        &[
            rr(b"\x04Host\xc0\x0c".to_vec(), Rtype::MX, CLASS_IN, 60, &mx),
            rr(to_host.to_vec(), Rtype::SRV, CLASS_IN, 60, &srv),
            rr(owner("c"), Rtype::CNAME, CLASS_IN, 60, &cname_target),
            rr(AT_ZONE.to_vec(), Rtype::SOA, CLASS_IN, 60, &soa_rdata),
        ],
    ))
    .unwrap();
    let rdatas: Vec<(String, Rtype, Vec<u8>)> = msg
        .updates
        .iter()
        .map(|op| match op {
            UpdateOp::Add {
                name, rtype, rdata, ..
            } => (name.to_string(), *rtype, rdata.as_wire().to_vec()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(rdatas[0].0, "host.dyn.example");
    assert_eq!(rdatas[0].2, mx_rdata(10, "mx.host.dyn.example"));
    assert_eq!(rdatas[1].0, "host.dyn.example");
    let mut want_srv = vec![0, 1, 0, 5, 0x01, 0xbd];
    want_srv.extend(wire("host.dyn.example"));
    assert_eq!(rdatas[1].2, want_srv);
    assert_eq!(rdatas[2].2, wire("dyn.example"));
    let mut want_soa = wire("ns1.dyn.example");
    want_soa.extend(wire("hostmaster.dyn.example"));
    want_soa.extend([0; 20]);
    assert_eq!(rdatas[3].2, want_soa);
}

#[test]
fn bad_compression_is_formerr() {
    // A pointer to itself, forward, into the header, and a loop between two names.
    let forward = rr(vec![0xc0, 0xff], Rtype::A, CLASS_IN, 60, &[192, 0, 2, 1]);
    assert_eq!(rcode_of(&message(&[], &[forward])), Rcode::FORMERR);
    let own_offset = 29u16;
    let to_self = rr(
        (0xc000 | own_offset).to_be_bytes().to_vec(),
        Rtype::A,
        CLASS_IN,
        60,
        &[192, 0, 2, 1],
    );
    assert_eq!(rcode_of(&message(&[], &[to_self])), Rcode::FORMERR);
    let into_header = rr(vec![0xc0, 0x02], Rtype::A, CLASS_IN, 60, &[192, 0, 2, 1]);
    assert_eq!(rcode_of(&message(&[], &[into_header])), Rcode::FORMERR);
    // An extended label type (0x40).
    let ext = rr(vec![0x41, 0x00], Rtype::A, CLASS_IN, 60, &[192, 0, 2, 1]);
    assert_eq!(rcode_of(&message(&[], &[ext])), Rcode::FORMERR);
    // A pointer inside RDATA of a type that may not be compressed (DNAME, RFC 6672).
    let dname = rr(owner("d"), Rtype::DNAME, CLASS_IN, 60, &AT_ZONE);
    assert_eq!(rcode_of(&message(&[], &[dname])), Rcode::FORMERR);
    // An RDATA name that runs past RDLENGTH.
    let mut mx = 10u16.to_be_bytes().to_vec();
    mx.extend_from_slice(b"\x02mx");
    let mut m = message(&[], &[add("m", Rtype::MX, 60, &mx)]);
    m.extend_from_slice(b"\x00");
    assert_eq!(rcode_of(&m), Rcode::FORMERR);
}

#[test]
fn zone_section_and_header() {
    let ok: &[Rr] = &[];
    let section = |zones: &[(&[u8], Rtype, u16)]| raw_message(UPDATE_FLAGS, zones, [ok, ok, ok]);
    assert!(parse(&section(&[(ZONE, Rtype::SOA, CLASS_IN)])).is_ok());
    assert_eq!(rcode_of(&section(&[])), Rcode::FORMERR);
    let two = [(ZONE, Rtype::SOA, CLASS_IN), (ZONE, Rtype::SOA, CLASS_IN)];
    assert_eq!(rcode_of(&section(&two)), Rcode::FORMERR);
    assert_eq!(
        rcode_of(&section(&[(ZONE, Rtype::A, CLASS_IN)])),
        Rcode::FORMERR
    );
    assert_eq!(rcode_of(&section(&[(ZONE, Rtype::SOA, 3)])), Rcode::NOTAUTH);
    assert_eq!(
        rcode_of(&section(&[(b"\x00", Rtype::SOA, CLASS_IN)])),
        Rcode::NOTAUTH
    );
    let query = raw_message(0, &[(ZONE, Rtype::SOA, CLASS_IN)], [ok, ok, ok]);
    assert_eq!(rcode_of(&query), Rcode::FORMERR);
    let response = raw_message(
        UPDATE_FLAGS | 0x8000,
        &[(ZONE, Rtype::SOA, CLASS_IN)],
        [ok, ok, ok],
    );
    assert_eq!(rcode_of(&response), Rcode::FORMERR);
    // Upper-case ZNAME is the same zone.
    let upper = section(&[(b"\x03DYN\x07Example\x00", Rtype::SOA, CLASS_IN)]);
    assert_eq!(parse(&upper).unwrap().zone, n("dyn.example"));
    // Truncated anywhere, and trailing octets.
    let full = message(&[], &[add("h", Rtype::A, 60, &[192, 0, 2, 1])]);
    for len in 0..full.len() {
        assert_eq!(
            parse_update(&full, len).unwrap_err().rcode,
            Rcode::FORMERR,
            "{len}"
        );
    }
    let mut trailing = full.clone();
    trailing.push(0);
    assert_eq!(rcode_of(&trailing), Rcode::FORMERR);
    assert_eq!(
        parse_update(&full, full.len() + 1).unwrap_err().rcode,
        Rcode::FORMERR
    );
}

#[test]
fn additional_section_opt_and_stripped_tsig() {
    let opt = rr(vec![0], Rtype::OPT, 1232, 0, &[]);
    let glue = rr(
        b"\x02ns\x07example\x03net\x00".to_vec(),
        Rtype::A,
        CLASS_IN,
        60,
        &[198, 51, 100, 1],
    );
    let tsig = rr(
        b"\x03key\x00".to_vec(),
        Rtype::TSIG,
        CLASS_ANY,
        0,
        &[1, 2, 3],
    );
    let ups = [add("h", Rtype::A, 60, &[192, 0, 2, 1])];
    let mut msg = raw_message(
        UPDATE_FLAGS,
        &[(ZONE, Rtype::SOA, CLASS_IN)],
        [&[], &ups, &[opt.clone(), glue, tsig.clone()]],
    );
    // With the TSIG still inside message_len, it is read and ignored…
    assert_eq!(parse(&msg).unwrap().updates.len(), 1);
    // …and with it cut off (ARCOUNT still counting it), too.
    let mut tsig_wire = Vec::new();
    push_rr(&mut tsig_wire, &tsig);
    let without = msg.len() - tsig_wire.len();
    assert_eq!(parse_update(&msg, without).unwrap().updates.len(), 1);
    // A record cut in half at message_len is an error.
    assert_eq!(
        parse_update(&msg, without - 1).unwrap_err().rcode,
        Rcode::FORMERR
    );
    msg.truncate(without);
    assert!(parse(&msg).is_ok());
}

#[test]
fn prescan_formerr_cases() {
    let cases = [
        (
            "class CH",
            add("h", Rtype::A, 60, &[192, 0, 2, 1]).with_class(3),
        ),
        ("add ANY", add("h", Rtype::ANY, 60, &[])),
        ("add AXFR", add("h", Rtype::AXFR, 60, &[])),
        ("add MAILA", add("h", Rtype::MAILA, 60, &[])),
        ("add OPT", add("h", Rtype::OPT, 60, &[])),
        ("add TTL 2^31", add("h", Rtype::A, 1 << 31, &[192, 0, 2, 1])),
        ("add bad A", add("h", Rtype::A, 60, &[192, 0, 2])),
        ("add empty A", add("h", Rtype::A, 60, &[])),
        ("ANY with TTL", rr(owner("h"), Rtype::A, CLASS_ANY, 1, &[])),
        (
            "ANY with RDATA",
            rr(owner("h"), Rtype::A, CLASS_ANY, 0, &[192, 0, 2, 1]),
        ),
        ("ANY AXFR", rr(owner("h"), Rtype::AXFR, CLASS_ANY, 0, &[])),
        ("ANY MAILB", rr(owner("h"), Rtype::MAILB, CLASS_ANY, 0, &[])),
        (
            "NONE with TTL",
            rr(owner("h"), Rtype::A, CLASS_NONE, 1, &[192, 0, 2, 1]),
        ),
        ("NONE ANY", rr(owner("h"), Rtype::ANY, CLASS_NONE, 0, &[])),
        ("NONE AXFR", rr(owner("h"), Rtype::AXFR, CLASS_NONE, 0, &[])),
        (
            "NONE bad RDATA",
            rr(owner("h"), Rtype::A, CLASS_NONE, 0, &[1]),
        ),
    ];
    for (what, case) in cases {
        let err = parse(&message(&[], &[case])).unwrap_err();
        assert_eq!(err.rcode, Rcode::FORMERR, "{what}: {err}");
    }
    let prereq_cases = [
        ("TTL", rr(owner("h"), Rtype::A, CLASS_ANY, 5, &[])),
        (
            "ANY with RDATA",
            rr(owner("h"), Rtype::A, CLASS_ANY, 0, &[192, 0, 2, 1]),
        ),
        (
            "NONE with RDATA",
            rr(owner("h"), Rtype::A, CLASS_NONE, 0, &[192, 0, 2, 1]),
        ),
        ("class CH", rr(owner("h"), Rtype::A, 3, 0, &[192, 0, 2, 1])),
        ("ANY AXFR", rr(owner("h"), Rtype::AXFR, CLASS_ANY, 0, &[])),
        ("IN ANY", rr(owner("h"), Rtype::ANY, CLASS_IN, 0, &[])),
        (
            "IN TTL",
            rr(owner("h"), Rtype::A, CLASS_IN, 60, &[192, 0, 2, 1]),
        ),
    ];
    for (what, case) in prereq_cases {
        let err = parse(&message(&[case], &[])).unwrap_err();
        assert_eq!(err.rcode, Rcode::FORMERR, "{what}: {err}");
    }
    // RFC 3597: an unknown type is data, not an error.
    assert!(parse(&message(&[], &[add("h", Rtype(65280), 60, &[1, 2])])).is_ok());
}

impl Rr {
    fn with_class(mut self, class: u16) -> Self {
        self.class = class;
        self
    }
}

#[test]
fn names_outside_the_zone_are_notzone() {
    let outside = rr(
        b"\x01h\x05other\x07example\x00".to_vec(),
        Rtype::A,
        CLASS_IN,
        60,
        &[192, 0, 2, 1],
    );
    let lookalike = rr(
        b"\x04xdyn\x07example\x00".to_vec(),
        Rtype::A,
        CLASS_IN,
        60,
        &[192, 0, 2, 1],
    );
    let parent = rr(b"\x07example\x00".to_vec(), Rtype::ANY, CLASS_ANY, 0, &[]);
    for r in [outside.clone(), lookalike, parent.clone()] {
        assert_eq!(rcode_of(&message(&[], &[r])), Rcode::NOTZONE);
    }
    let mut prereq = outside.clone();
    prereq.ttl = 0;
    assert_eq!(rcode_of(&message(&[prereq], &[])), Rcode::NOTZONE);
    assert_eq!(rcode_of(&message(&[parent], &[])), Rcode::NOTZONE);
    // A name ddns cannot hold (a space in a label) is refused, not misread.
    let odd = rr(
        b"\x03a b\xc0\x0c".to_vec(),
        Rtype::A,
        CLASS_IN,
        60,
        &[192, 0, 2, 1],
    );
    assert_eq!(rcode_of(&message(&[], &[odd])), Rcode::REFUSED);
}

// ---- prerequisites -------------------------------------------------------------------------

#[test]
fn prerequisites_pass_and_fail_with_the_right_rcode() {
    let name_in_use = |rel| rr(owner(rel), Rtype::ANY, CLASS_ANY, 0, &[]);
    let name_free = |rel| rr(owner(rel), Rtype::ANY, CLASS_NONE, 0, &[]);
    let exists = |rel, t| rr(owner(rel), t, CLASS_ANY, 0, &[]);
    let absent = |rel, t| rr(owner(rel), t, CLASS_NONE, 0, &[]);
    let value = |rel, t, rdata: &[u8]| rr(owner(rel), t, CLASS_IN, 0, rdata);

    assert_eq!(check(&[name_in_use("www")]), Ok(()));
    assert_eq!(check(&[name_in_use("@")]), Ok(()));
    assert_eq!(check(&[name_in_use("nothere")]), Err(Rcode::NXDOMAIN));
    assert_eq!(
        check(&[name_in_use("b")]),
        Err(Rcode::NXDOMAIN),
        "empty non-terminal"
    );

    assert_eq!(check(&[name_free("nothere")]), Ok(()));
    assert_eq!(check(&[name_free("b")]), Ok(()), "empty non-terminal");
    assert_eq!(check(&[name_free("www")]), Err(Rcode::YXDOMAIN));

    assert_eq!(check(&[exists("www", Rtype::A)]), Ok(()));
    assert_eq!(check(&[exists("@", Rtype::SOA)]), Ok(()));
    assert_eq!(check(&[exists("www", Rtype::AAAA)]), Err(Rcode::NXRRSET));
    assert_eq!(check(&[exists("nothere", Rtype::A)]), Err(Rcode::NXRRSET));

    assert_eq!(check(&[absent("www", Rtype::AAAA)]), Ok(()));
    assert_eq!(check(&[absent("www", Rtype::A)]), Err(Rcode::YXRRSET));

    // Value dependent: the whole RRset, in any order, TTL ignored (it is 0 in prerequisites).
    let one = value("www", Rtype::A, &[192, 0, 2, 1]);
    let two = value("www", Rtype::A, &[192, 0, 2, 2]);
    let three = value("www", Rtype::A, &[192, 0, 2, 3]);
    assert_eq!(check(&[two.clone(), one.clone()]), Ok(()));
    assert_eq!(
        check(&[one.clone(), two.clone(), one.clone()]),
        Ok(()),
        "duplicates"
    );
    assert_eq!(
        check(std::slice::from_ref(&one)),
        Err(Rcode::NXRRSET),
        "a subset"
    );
    assert_eq!(
        check(&[one.clone(), two.clone(), three]),
        Err(Rcode::NXRRSET),
        "a superset"
    );
    assert_eq!(
        check(&[value("nothere", Rtype::A, &[192, 0, 2, 1])]),
        Err(Rcode::NXRRSET)
    );
    // Split across the section, and names compared case-insensitively.
    assert_eq!(check(&[one, name_in_use("www"), two]), Ok(()));
    let mut target = b"\x03WWW".to_vec();
    target.extend_from_slice(&AT_ZONE);
    assert_eq!(check(&[value("alias", Rtype::CNAME, &target)]), Ok(()));
    // Value-dependent ones are checked after the others (RFC 2136 §3.2.5).
    assert_eq!(
        check(&[
            value("www", Rtype::A, &[192, 0, 2, 3]),
            name_in_use("nothere")
        ]),
        Err(Rcode::NXDOMAIN)
    );
    assert_eq!(
        check(&[name_free("www"), name_in_use("nothere")]),
        Err(Rcode::YXDOMAIN),
        "the first failure wins"
    );
}

// ---- updates -------------------------------------------------------------------------------

fn result(name: &str, rtype: Rtype, ttl: u32, rdatas: &[&[u8]]) -> RrsetResult {
    RrsetResult {
        name: n(name),
        rtype,
        new: Some(
            RecordSet::new(
                rtype,
                ttl,
                rdatas
                    .iter()
                    .map(|w| Rdata::from_wire(rtype, w).unwrap())
                    .collect(),
            )
            .unwrap(),
        ),
    }
}

fn removed(name: &str, rtype: Rtype) -> RrsetResult {
    RrsetResult {
        name: n(name),
        rtype,
        new: None,
    }
}

#[test]
fn adds_create_and_extend_rrsets() {
    assert_eq!(
        plan(&[
            add("new", Rtype::A, 120, &[192, 0, 2, 5]),
            add("new", Rtype::A, 120, &[192, 0, 2, 4]),
            add("new", Rtype::A, 120, &[192, 0, 2, 5]),
        ]),
        vec![result(
            "new.dyn.example",
            Rtype::A,
            120,
            &[&[192, 0, 2, 4], &[192, 0, 2, 5]]
        )]
    );
    assert_eq!(
        plan(&[add("www", Rtype::A, 60, &[192, 0, 2, 3])]),
        vec![result(
            "www.dyn.example",
            Rtype::A,
            60,
            &[&[192, 0, 2, 1], &[192, 0, 2, 2], &[192, 0, 2, 3]]
        )]
    );
    // Adding what is there already changes nothing.
    assert_eq!(plan(&[add("www", Rtype::A, 60, &[192, 0, 2, 1])]), vec![]);
}

#[test]
fn an_added_rr_sets_the_ttl_of_its_rrset() {
    // Duplicate RDATA: only the TTL changes, for the whole RRset.
    assert_eq!(
        plan(&[add("www", Rtype::A, 600, &[192, 0, 2, 1])]),
        vec![result(
            "www.dyn.example",
            Rtype::A,
            600,
            &[&[192, 0, 2, 1], &[192, 0, 2, 2]]
        )]
    );
    // A new RR with another TTL: the RRset keeps one TTL, the newest.
    assert_eq!(
        plan(&[add("www", Rtype::A, 30, &[192, 0, 2, 3])]),
        vec![result(
            "www.dyn.example",
            Rtype::A,
            30,
            &[&[192, 0, 2, 1], &[192, 0, 2, 2], &[192, 0, 2, 3]]
        )]
    );
}

#[test]
fn deletes_of_each_kind() {
    // Delete an RRset.
    assert_eq!(
        plan(&[rr(owner("www"), Rtype::A, CLASS_ANY, 0, &[])]),
        vec![removed("www.dyn.example", Rtype::A)]
    );
    // Delete one RR, then the last one.
    assert_eq!(
        plan(&[rr(owner("www"), Rtype::A, CLASS_NONE, 0, &[192, 0, 2, 1])]),
        vec![result("www.dyn.example", Rtype::A, 60, &[&[192, 0, 2, 2]])]
    );
    assert_eq!(
        plan(&[
            rr(owner("www"), Rtype::A, CLASS_NONE, 0, &[192, 0, 2, 1]),
            rr(owner("www"), Rtype::A, CLASS_NONE, 0, &[192, 0, 2, 2]),
        ]),
        vec![removed("www.dyn.example", Rtype::A)]
    );
    // Delete all RRsets of a name.
    let mut z = zone();
    put(
        &mut z,
        "www.dyn.example",
        Rtype::TXT,
        60,
        &[b"\x02hi"],
        true,
    );
    let msg = parse(&message(
        &[],
        &[rr(owner("www"), Rtype::ANY, CLASS_ANY, 0, &[])],
    ))
    .unwrap();
    assert_eq!(
        plan_updates(&z, &msg.updates).unwrap(),
        vec![
            removed("www.dyn.example", Rtype::A),
            removed("www.dyn.example", Rtype::TXT)
        ]
    );
    // Deleting what is not there is silently nothing (§2.5.2–§2.5.4).
    assert_eq!(
        plan(&[
            rr(owner("nothere"), Rtype::A, CLASS_ANY, 0, &[]),
            rr(owner("nothere"), Rtype::ANY, CLASS_ANY, 0, &[]),
            rr(owner("www"), Rtype::A, CLASS_NONE, 0, &[192, 0, 2, 99]),
            rr(owner("b"), Rtype::ANY, CLASS_ANY, 0, &[]),
        ]),
        vec![]
    );
}

#[test]
fn the_net_result_counts_not_the_steps() {
    // Added and deleted in one message: nothing to write.
    assert_eq!(
        plan(&[
            add("tmp", Rtype::A, 60, &[192, 0, 2, 5]),
            rr(owner("tmp"), Rtype::ANY, CLASS_ANY, 0, &[]),
        ]),
        vec![]
    );
    // Replace an RRset: delete then add, one result.
    assert_eq!(
        plan(&[
            rr(owner("www"), Rtype::A, CLASS_ANY, 0, &[]),
            add("www", Rtype::A, 60, &[192, 0, 2, 8]),
        ]),
        vec![result("www.dyn.example", Rtype::A, 60, &[&[192, 0, 2, 8]])]
    );
    // Deleted and put back as it was: nothing.
    assert_eq!(
        plan(&[
            rr(owner("www"), Rtype::A, CLASS_ANY, 0, &[]),
            add("www", Rtype::A, 60, &[192, 0, 2, 2]),
            add("www", Rtype::A, 60, &[192, 0, 2, 1]),
        ]),
        vec![]
    );
}

#[test]
fn cname_exclusivity() {
    let cname = |rel, target: &str| add(rel, Rtype::CNAME, 60, &wire(target));
    // A CNAME where other data exists is ignored…
    assert_eq!(plan(&[cname("www", "elsewhere.example")]), vec![]);
    assert_eq!(
        plan(&[cname("@", "elsewhere.example")]),
        vec![],
        "the apex has SOA and NS"
    );
    // …other data where a CNAME exists is ignored…
    assert_eq!(plan(&[add("alias", Rtype::A, 60, &[192, 0, 2, 1])]), vec![]);
    // …and a CNAME replaces a CNAME.
    assert_eq!(
        plan(&[add("alias", Rtype::CNAME, 300, &wire("mail.dyn.example"))]),
        vec![result(
            "alias.dyn.example",
            Rtype::CNAME,
            300,
            &[&wire("mail.dyn.example")]
        )]
    );
    // Within one message, whichever came first stands.
    assert_eq!(
        plan(&[
            cname("fresh", "www.dyn.example"),
            add("fresh", Rtype::A, 60, &[192, 0, 2, 1])
        ]),
        vec![result(
            "fresh.dyn.example",
            Rtype::CNAME,
            60,
            &[&wire("www.dyn.example")]
        )]
    );
    assert_eq!(
        plan(&[
            add("fresh", Rtype::A, 60, &[192, 0, 2, 1]),
            cname("fresh", "www.dyn.example")
        ]),
        vec![result(
            "fresh.dyn.example",
            Rtype::A,
            60,
            &[&[192, 0, 2, 1]]
        )]
    );
    // Delete the A records, then the CNAME fits.
    assert_eq!(
        plan(&[
            rr(owner("www"), Rtype::A, CLASS_ANY, 0, &[]),
            cname("www", "mail.dyn.example")
        ]),
        vec![
            removed("www.dyn.example", Rtype::A),
            result(
                "www.dyn.example",
                Rtype::CNAME,
                60,
                &[&wire("mail.dyn.example")]
            )
        ]
    );
}

#[test]
fn soa_and_apex_ns_are_left_alone() {
    let mut soa_rdata = wire("ns9.dyn.example");
    soa_rdata.extend(wire("x.dyn.example"));
    soa_rdata.extend([0, 0, 0, 99, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
    let ns = wire("ns1.dyn.example");
    assert_eq!(
        plan(&[
            add("@", Rtype::SOA, 60, &soa_rdata),
            rr(owner("@"), Rtype::SOA, CLASS_ANY, 0, &[]),
            rr(
                owner("@"),
                Rtype::SOA,
                CLASS_NONE,
                0,
                &soa().rdata(Serial(7))
            ),
            add("@", Rtype::NS, 60, &wire("ns2.dyn.example")),
            rr(owner("@"), Rtype::NS, CLASS_ANY, 0, &[]),
            rr(owner("@"), Rtype::NS, CLASS_NONE, 0, &ns),
        ]),
        vec![]
    );
    // Delete-all at the apex removes everything else there, never SOA or NS.
    let mut z = zone();
    put(&mut z, "dyn.example", Rtype::TXT, 60, &[b"\x02hi"], true);
    put(
        &mut z,
        "dyn.example",
        Rtype::MX,
        60,
        &[&mx_rdata(1, "mail.dyn.example")],
        true,
    );
    let msg = parse(&message(
        &[],
        &[rr(owner("@"), Rtype::ANY, CLASS_ANY, 0, &[])],
    ))
    .unwrap();
    assert_eq!(
        plan_updates(&z, &msg.updates).unwrap(),
        vec![
            removed("dyn.example", Rtype::MX),
            removed("dyn.example", Rtype::TXT)
        ]
    );
    // NS below the apex (a delegation) is ordinary data for the planner.
    assert_eq!(
        plan(&[add("sub", Rtype::NS, 60, &wire("ns.elsewhere.example"))]),
        vec![result(
            "sub.dyn.example",
            Rtype::NS,
            60,
            &[&wire("ns.elsewhere.example")]
        )]
    );
}

#[test]
fn an_rrset_too_large_to_serve_is_refused() {
    let big: Vec<Rr> = (0..50u8)
        .map(|i| {
            let mut txt = vec![255u8];
            txt.extend(std::iter::repeat_n(b'a' + (i % 26), 254));
            txt.push(i);
            let mut rdata = txt.clone();
            rdata.extend(&txt);
            rdata.extend(&txt);
            add("big", Rtype::TXT, 60, &rdata)
        })
        .collect();
    let msg = parse(&message(&[], &big)).unwrap();
    let rcode = plan_updates(&zone(), &msg.updates).err().map(|e| e.rcode);
    assert_eq!(rcode, Some(Rcode::REFUSED));
}

// ---- hickory-proto as the client -----------------------------------------------------------

mod hickory {
    use std::str::FromStr;

    use hickory_proto::op::{Message, update_message};
    use hickory_proto::rr::rdata::{A, CNAME, MX, SRV};
    use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordSet as HRecordSet};

    use super::*;

    fn name(s: &str) -> Name {
        Name::from_str(s).unwrap()
    }

    fn set(owner: &str, data: RData, ttl: u32) -> HRecordSet {
        let mut rrset = HRecordSet::new(name(owner), data.record_type(), 0);
        let mut record = Record::from_rdata(name(owner), ttl, data);
        record.dns_class = DNSClass::IN;
        rrset.insert(record, 0);
        rrset
    }

    fn bytes(m: &Message) -> Vec<u8> {
        m.to_vec().unwrap()
    }

    #[test]
    fn create_with_compressed_mx() {
        let mx = RData::MX(MX::new(10, name("mx.host.dyn.example.")));
        let m = update_message::create(
            set("host.dyn.example.", mx, 300),
            name("dyn.example."),
            true,
        );
        let wire = bytes(&m);
        let msg = parse(&wire).unwrap();
        assert_eq!(msg.id, m.metadata.id);
        assert_eq!(
            msg.prerequisites,
            vec![Prerequisite::RrsetAbsent {
                name: n("host.dyn.example"),
                rtype: Rtype::MX
            }]
        );
        let UpdateOp::Add { rdata, ttl, .. } = &msg.updates[0] else {
            panic!("{:?}", msg.updates)
        };
        assert_eq!(*ttl, 300);
        assert_eq!(rdata.as_wire(), mx_rdata(10, "mx.host.dyn.example"));
        // hickory compressed the exchange (its RDATA is shorter than the name uncompressed).
        assert!(wire.windows(2).filter(|w| w[0] & 0xc0 == 0xc0).count() >= 3);
        assert_eq!(check_prerequisites(&zone(), &msg.prerequisites), Ok(()));
    }

    #[test]
    fn append_compare_and_swap_and_deletes() {
        let zone_name = name("dyn.example.");
        let a1 = || RData::A(A::new(192, 0, 2, 1));
        let a9 = || RData::A(A::new(192, 0, 2, 9));

        let m = update_message::append(
            set("www.dyn.example.", a9(), 60),
            zone_name.clone(),
            true,
            false,
        );
        let msg = parse(&bytes(&m)).unwrap();
        assert_eq!(check_prerequisites(&zone(), &msg.prerequisites), Ok(()));
        assert_eq!(plan_updates(&zone(), &msg.updates).unwrap().len(), 1);

        let m = update_message::compare_and_swap(
            set("www.dyn.example.", a1(), 60),
            set("www.dyn.example.", a9(), 60),
            zone_name.clone(),
            false,
        );
        let msg = parse(&bytes(&m)).unwrap();
        // The zone has two A records at www, the prerequisite names one: NXRRSET.
        assert_eq!(
            check_prerequisites(&zone(), &msg.prerequisites),
            Err(Rcode::NXRRSET)
        );

        let m = update_message::delete_by_rdata(
            set("www.dyn.example.", a1(), 0),
            zone_name.clone(),
            false,
        );
        let msg = parse(&bytes(&m)).unwrap();
        assert_eq!(
            plan_updates(&zone(), &msg.updates).unwrap(),
            vec![result("www.dyn.example", Rtype::A, 60, &[&[192, 0, 2, 2]])]
        );

        let record = Record::from_rdata(name("www.dyn.example."), 0, a1());
        let m = update_message::delete_rrset(record, zone_name.clone(), false);
        let msg = parse(&bytes(&m)).unwrap();
        assert_eq!(
            plan_updates(&zone(), &msg.updates).unwrap(),
            vec![removed("www.dyn.example", Rtype::A)]
        );

        let m =
            update_message::delete_all(name("mail.dyn.example."), zone_name, DNSClass::IN, false);
        let msg = parse(&bytes(&m)).unwrap();
        assert_eq!(
            plan_updates(&zone(), &msg.updates).unwrap(),
            vec![removed("mail.dyn.example", Rtype::MX)]
        );
    }

    #[test]
    fn cname_and_srv_from_hickory() {
        let zone_name = name("dyn.example.");
        let cname = RData::CNAME(CNAME(name("www.dyn.example.")));
        let m =
            update_message::create(set("web.dyn.example.", cname, 60), zone_name.clone(), false);
        let msg = parse(&bytes(&m)).unwrap();
        assert_eq!(
            plan_updates(&zone(), &msg.updates).unwrap(),
            vec![result(
                "web.dyn.example",
                Rtype::CNAME,
                60,
                &[&wire("www.dyn.example")]
            )]
        );
        let srv = RData::SRV(SRV::new(0, 5, 443, name("www.dyn.example.")));
        let m = update_message::create(set("_https._tcp.dyn.example.", srv, 60), zone_name, false);
        let msg = parse(&bytes(&m)).unwrap();
        let mut want = vec![0, 0, 0, 5, 0x01, 0xbb];
        want.extend(wire("www.dyn.example"));
        assert_eq!(
            plan_updates(&zone(), &msg.updates).unwrap(),
            vec![result("_https._tcp.dyn.example", Rtype::SRV, 60, &[&want])]
        );
    }
}

// ---- robustness ----------------------------------------------------------------------------

fn sample_messages() -> Vec<Vec<u8>> {
    let mut mx = 10u16.to_be_bytes().to_vec();
    mx.extend_from_slice(b"\x02mx");
    mx.extend_from_slice(&AT_ZONE);
    vec![
        message(
            &[
                rr(owner("www"), Rtype::A, CLASS_IN, 0, &[192, 0, 2, 1]),
                rr(owner("x"), Rtype::ANY, CLASS_NONE, 0, &[]),
            ],
            &[
                add("h", Rtype::MX, 60, &mx),
                rr(owner("h"), Rtype::ANY, CLASS_ANY, 0, &[]),
                rr(owner("www"), Rtype::A, CLASS_NONE, 0, &[192, 0, 2, 1]),
            ],
        ),
        message(&[], &[add("c", Rtype::CNAME, 60, &AT_ZONE)]),
    ]
}

proptest::proptest! {
    #[test]
    fn parse_never_panics_on_random_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
        let _ = parse_update(&bytes, bytes.len());
        let mut with_header = vec![0x12, 0x34, 0x28, 0x00, 0, 1, 0, 2, 0, 3, 0, 1];
        with_header.extend(&bytes);
        if let Ok(m) = parse_update(&with_header, with_header.len()) {
            let _ = check_prerequisites(&zone(), &m.prerequisites);
            let _ = plan_updates(&zone(), &m.updates);
        }
    }

    #[test]
    fn parse_never_panics_on_mutated_messages(
        which in 0usize..2,
        edits in proptest::collection::vec((proptest::num::usize::ANY, proptest::num::u8::ANY), 1..8),
        cut in proptest::num::usize::ANY,
    ) {
        let mut msg = sample_messages()[which].clone();
        for (at, value) in edits {
            let at = at % msg.len();
            msg[at] = value;
        }
        let len = if cut % 4 == 0 { cut % (msg.len() + 1) } else { msg.len() };
        if let Ok(m) = parse_update(&msg, len) {
            let _ = check_prerequisites(&zone(), &m.prerequisites);
            let _ = plan_updates(&zone(), &m.updates);
        }
    }
}

#[test]
fn samples_are_valid() {
    for m in sample_messages() {
        let parsed = parse(&m).unwrap();
        assert!(!parsed.updates.is_empty());
    }
}
