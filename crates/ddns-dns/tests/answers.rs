//! DNS behaviour, packet in and packet out: one `check` per case, decoded by hickory-proto
//! (an independent implementation) so our encoding is verified at the same time.

#![allow(clippy::unwrap_used)]

use std::str::FromStr;

use ddns_core::snapshot::{Zone, ZoneSet};
use ddns_core::zone_text::{into_changes, parse_zone_text};
use ddns_core::{DomainName, Serial};
use ddns_dns::{Outcome, Request, Transport, respond};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};

/// Runs one packet through the handler as if it came from 192.0.2.200; true when answered.
fn answer_raw(
    zones: &ZoneSet,
    packet: &[u8],
    transport: Transport,
    payload: u16,
    out: &mut Vec<u8>,
) -> bool {
    outcome(zones, packet, transport, payload, out).replies()
}

fn outcome(
    zones: &ZoneSet,
    packet: &[u8],
    transport: Transport,
    payload: u16,
    out: &mut Vec<u8>,
) -> Outcome {
    let request = Request {
        message: packet,
        peer: "192.0.2.200:5353".parse().unwrap(),
        transport,
    };
    let outcome = respond(zones, &request, payload, out);
    assert_eq!(
        outcome.len,
        out.len(),
        "the outcome tells the response size"
    );
    outcome
}

const ZONE: &str = r#"
@        NS    ns1
ns1      A     192.0.2.53
ns1      AAAA  2001:db8::53
host     A     192.0.2.1
host     AAAA  2001:db8::1
www      CNAME host
alias    CNAME www
dangling CNAME nothere
external CNAME target.example.net.
a.b.c    A     192.0.2.3
*.wild   A     192.0.2.99
*.wild   TXT   "wild"
mail     MX    10 mx1
mx1      A     192.0.2.25
sub      NS    ns.sub
ns.sub   A     192.0.2.54
srv      SRV   0 5 445 host
"#;

fn zones() -> ZoneSet {
    let origin = DomainName::parse("dyn.example").unwrap();
    let soa = ddns_core::snapshot::SoaParams {
        mname: DomainName::parse("ns1.dyn.example").unwrap(),
        rname: DomainName::parse("hostmaster.dyn.example").unwrap(),
        refresh: 3600,
        retry: 600,
        expire: 1_209_600,
        minimum: 60,
        ttl: 3600,
    };
    let mut zone = Zone::new(origin.clone(), soa, Serial(2026112201));
    let mut text = ZONE.to_owned();
    for i in 0..25 {
        text.push_str(&format!("big TXT \"{}-{i:02}\"\n", "x".repeat(20)));
    }
    for change in into_changes(&parse_zone_text(&origin, &text, 300).unwrap(), false) {
        zone.apply(change).unwrap();
    }
    ZoneSet::new(vec![std::sync::Arc::new(zone)])
}

struct Ask {
    name: &'static str,
    qtype: RecordType,
    class: DNSClass,
    transport: Transport,
    edns: Option<(u16, u8, bool)>,
    opcode: OpCode,
}

fn ask(name: &'static str, qtype: RecordType) -> Ask {
    Ask {
        name,
        qtype,
        class: DNSClass::IN,
        transport: Transport::Udp,
        edns: None,
        opcode: OpCode::Query,
    }
}

impl Ask {
    fn tcp(mut self) -> Self {
        self.transport = Transport::Tcp;
        self
    }
    fn edns(mut self, payload: u16, version: u8, dnssec_ok: bool) -> Self {
        self.edns = Some((payload, version, dnssec_ok));
        self
    }
    fn packet(&self) -> Vec<u8> {
        let mut m = Message::new(0xbeef, MessageType::Query, self.opcode);
        m.metadata.recursion_desired = true;
        let mut q = Query::query(Name::from_str(self.name).unwrap(), self.qtype);
        q.set_query_class(self.class);
        m.add_query(q);
        if let Some((payload, version, dnssec_ok)) = self.edns {
            let mut e = Edns::new();
            e.set_max_payload(payload);
            e.set_version(version);
            e.set_dnssec_ok(dnssec_ok);
            m.set_edns(e);
        }
        let mut packet = m.to_vec().unwrap();
        // hickory lower-cases names it encodes; put the name back exactly as written.
        let mut at = 12;
        for label in self.name.trim_end_matches('.').split('.') {
            at += 1;
            packet[at..at + label.len()].copy_from_slice(label.as_bytes());
            at += label.len();
        }
        packet
    }
    fn run(&self) -> (Vec<u8>, Message) {
        let mut out = Vec::new();
        assert!(answer_raw(
            &zones(),
            &self.packet(),
            self.transport,
            1232,
            &mut out
        ));
        let msg = Message::from_vec(&out).unwrap_or_else(|e| panic!("undecodable response: {e}"));
        (out, msg)
    }
}

fn render(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| format!("{} {} {} {}", r.name, r.ttl, r.record_type(), r.data))
        .collect()
}

/// The one check: RCODE, AA, TC and the three sections.
fn check(
    ask: Ask,
    rcode: ResponseCode,
    aa: bool,
    answer: &[&str],
    authority: &[&str],
    additional: &[&str],
) -> Message {
    let (_, msg) = ask.run();
    assert_eq!(msg.metadata.id, 0xbeef);
    assert_eq!(msg.metadata.message_type, MessageType::Response);
    assert!(msg.metadata.recursion_desired, "RD is copied");
    assert!(!msg.metadata.recursion_available, "no recursion here");
    assert_eq!(msg.metadata.response_code, rcode, "{}", ask.name);
    assert_eq!(msg.metadata.authoritative, aa, "AA for {}", ask.name);
    assert_eq!(
        render(&msg.answers),
        answer,
        "answer for {} {}",
        ask.name,
        ask.qtype
    );
    assert_eq!(
        render(&msg.authorities),
        authority,
        "authority for {} {}",
        ask.name,
        ask.qtype
    );
    assert_eq!(
        render(&msg.additionals),
        additional,
        "additional for {} {}",
        ask.name,
        ask.qtype
    );
    msg
}

const SOA: &str =
    "dyn.example. 60 SOA ns1.dyn.example. hostmaster.dyn.example. 2026112201 3600 600 1209600 60";

#[test]
fn positive_answer() {
    check(
        ask("host.dyn.example.", RecordType::A),
        ResponseCode::NoError,
        true,
        &["host.dyn.example. 300 A 192.0.2.1"],
        &[],
        &[],
    );
}

#[test]
fn query_case_is_preserved() {
    let msg = check(
        ask("HoSt.DYN.example.", RecordType::AAAA),
        ResponseCode::NoError,
        true,
        &["HoSt.DYN.example. 300 AAAA 2001:db8::1"],
        &[],
        &[],
    );
    assert_eq!(msg.queries[0].name().to_string(), "HoSt.DYN.example.");
}

#[test]
fn nodata_and_nxdomain_carry_the_soa() {
    check(
        ask("host.dyn.example.", RecordType::MX),
        ResponseCode::NoError,
        true,
        &[],
        &[SOA],
        &[],
    );
    check(
        ask("nope.dyn.example.", RecordType::A),
        ResponseCode::NXDomain,
        true,
        &[],
        &[SOA],
        &[],
    );
    let soa_mixed_case = SOA.replacen("dyn.example.", "DYN.EXAMPLE.", 1);
    check(
        ask("NOPE.DYN.EXAMPLE.", RecordType::A),
        ResponseCode::NXDomain,
        true,
        &[],
        &[soa_mixed_case.as_str()],
        &[],
    );
}

#[test]
fn empty_non_terminal_is_nodata() {
    check(
        ask("b.c.dyn.example.", RecordType::A),
        ResponseCode::NoError,
        true,
        &[],
        &[SOA],
        &[],
    );
    check(
        ask("c.dyn.example.", RecordType::A),
        ResponseCode::NoError,
        true,
        &[],
        &[SOA],
        &[],
    );
}

#[test]
fn cname_chains() {
    check(
        ask("www.dyn.example.", RecordType::A),
        ResponseCode::NoError,
        true,
        &[
            "www.dyn.example. 300 CNAME host.dyn.example.",
            "host.dyn.example. 300 A 192.0.2.1",
        ],
        &[],
        &[],
    );
    check(
        ask("alias.dyn.example.", RecordType::AAAA),
        ResponseCode::NoError,
        true,
        &[
            "alias.dyn.example. 300 CNAME www.dyn.example.",
            "www.dyn.example. 300 CNAME host.dyn.example.",
            "host.dyn.example. 300 AAAA 2001:db8::1",
        ],
        &[],
        &[],
    );
    check(
        ask("www.dyn.example.", RecordType::CNAME),
        ResponseCode::NoError,
        true,
        &["www.dyn.example. 300 CNAME host.dyn.example."],
        &[],
        &[],
    );
    check(
        ask("www.dyn.example.", RecordType::MX),
        ResponseCode::NoError,
        true,
        &["www.dyn.example. 300 CNAME host.dyn.example."],
        &[SOA],
        &[],
    );
    // RFC 6604: the RCODE is that of the last name in the chain.
    check(
        ask("dangling.dyn.example.", RecordType::A),
        ResponseCode::NXDomain,
        true,
        &["dangling.dyn.example. 300 CNAME nothere.dyn.example."],
        &[SOA],
        &[],
    );
    check(
        ask("external.dyn.example.", RecordType::A),
        ResponseCode::NoError,
        true,
        &["external.dyn.example. 300 CNAME target.example.net."],
        &[],
        &[],
    );
}

#[test]
fn wildcards() {
    check(
        ask("x.wild.dyn.example.", RecordType::A),
        ResponseCode::NoError,
        true,
        &["x.wild.dyn.example. 300 A 192.0.2.99"],
        &[],
        &[],
    );
    check(
        ask("x.y.wild.dyn.example.", RecordType::TXT),
        ResponseCode::NoError,
        true,
        &["x.y.wild.dyn.example. 300 TXT wild"],
        &[],
        &[],
    );
    check(
        ask("x.wild.dyn.example.", RecordType::AAAA),
        ResponseCode::NoError,
        true,
        &[],
        &[SOA],
        &[],
    );
    // The wildcard does not cover names that exist: an empty non-terminal blocks it.
    check(
        ask("wild.dyn.example.", RecordType::A),
        ResponseCode::NoError,
        true,
        &[],
        &[SOA],
        &[],
    );
}

#[test]
fn glue_and_additional_data() {
    check(
        ask("dyn.example.", RecordType::NS),
        ResponseCode::NoError,
        true,
        &["dyn.example. 300 NS ns1.dyn.example."],
        &[],
        &[
            "ns1.dyn.example. 300 A 192.0.2.53",
            "ns1.dyn.example. 300 AAAA 2001:db8::53",
        ],
    );
    check(
        ask("mail.dyn.example.", RecordType::MX),
        ResponseCode::NoError,
        true,
        &["mail.dyn.example. 300 MX 10 mx1.dyn.example."],
        &[],
        &["mx1.dyn.example. 300 A 192.0.2.25"],
    );
    check(
        ask("srv.dyn.example.", RecordType::SRV),
        ResponseCode::NoError,
        true,
        &["srv.dyn.example. 300 SRV 0 5 445 host.dyn.example."],
        &[],
        &[
            "host.dyn.example. 300 A 192.0.2.1",
            "host.dyn.example. 300 AAAA 2001:db8::1",
        ],
    );
}

#[test]
fn delegations_refer() {
    check(
        ask("x.sub.dyn.example.", RecordType::A),
        ResponseCode::NoError,
        false,
        &[],
        &["sub.dyn.example. 300 NS ns.sub.dyn.example."],
        &["ns.sub.dyn.example. 300 A 192.0.2.54"],
    );
    // DS is the parent's: answered, not referred.
    check(
        ask("sub.dyn.example.", RecordType::DS),
        ResponseCode::NoError,
        true,
        &[],
        &[SOA],
        &[],
    );
}

#[test]
fn soa_at_apex() {
    check(
        ask("dyn.example.", RecordType::SOA),
        ResponseCode::NoError,
        true,
        &[
            "dyn.example. 3600 SOA ns1.dyn.example. hostmaster.dyn.example. 2026112201 3600 600 1209600 60",
        ],
        &[],
        &[],
    );
}

#[test]
fn refused_outside_our_zones_and_classes() {
    check(
        ask("example.", RecordType::A),
        ResponseCode::Refused,
        false,
        &[],
        &[],
        &[],
    );
    check(
        ask("host.dyn.example.net.", RecordType::A),
        ResponseCode::Refused,
        false,
        &[],
        &[],
        &[],
    );
    let mut chaos = ask("host.dyn.example.", RecordType::TXT);
    chaos.class = DNSClass::CH;
    check(chaos, ResponseCode::Refused, false, &[], &[], &[]);
}

#[test]
fn transfers_updates_and_signed_messages_are_deferred() {
    let zones = zones();
    let mut out = Vec::new();
    let axfr = ask("dyn.example.", RecordType::AXFR).tcp();
    let deferred = outcome(&zones, &axfr.packet(), Transport::Tcp, 1232, &mut out);
    assert!(deferred.deferred_to_service() && out.is_empty());
    let mut update = ask("dyn.example.", RecordType::SOA);
    update.opcode = OpCode::Update;
    let deferred = outcome(&zones, &update.packet(), Transport::Udp, 1232, &mut out);
    assert!(deferred.deferred_to_service() && out.is_empty());
    // Outside our zones an AXFR is refused at once: there is nothing to transfer.
    let other = ask("example.", RecordType::AXFR).tcp();
    assert!(outcome(&zones, &other.packet(), Transport::Tcp, 1232, &mut out).replies());
}

#[test]
fn other_opcodes_are_not_implemented() {
    let mut status = ask("dyn.example.", RecordType::SOA);
    status.opcode = OpCode::Status;
    let (_, msg) = status.run();
    assert_eq!(msg.metadata.response_code, ResponseCode::NotImp);
    assert_eq!(msg.metadata.op_code, OpCode::Status);
}

#[test]
fn minimal_any_over_udp_full_over_tcp() {
    let (_, udp) = ask("host.dyn.example.", RecordType::ANY).run();
    assert_eq!(udp.answers.len(), 1);
    assert!(udp.metadata.authoritative);
    let (_, tcp) = ask("host.dyn.example.", RecordType::ANY).tcp().run();
    assert_eq!(tcp.answers.len(), 2);
}

#[test]
fn any_at_an_alias_is_the_cname_alone() {
    // RFC 1034 §4.3.2 step 3a: ANY matches CNAME, so the chain is not followed (BIND, Knot).
    for ask in [
        ask("www.dyn.example.", RecordType::ANY),
        ask("www.dyn.example.", RecordType::ANY).tcp(),
    ] {
        let (_, msg) = ask.run();
        assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
        assert_eq!(msg.answers.len(), 1, "{:?}", msg.answers);
        assert_eq!(msg.answers[0].record_type(), RecordType::CNAME);
        assert!(msg.metadata.authoritative);
    }
}

#[test]
fn the_outcome_says_what_was_answered() {
    let z = zones();
    let mut out = Vec::new();
    let o = outcome(
        &z,
        &ask("host.dyn.example.", RecordType::A).packet(),
        Transport::Udp,
        1232,
        &mut out,
    );
    assert_eq!(
        (o.rcode, o.zone, o.truncated, o.opcode),
        (ddns_core::Rcode::NOERROR, Some(0), false, 0)
    );
    assert_eq!(o.qtype, Some(ddns_core::Rtype::A));
    let o = outcome(
        &z,
        &ask("nothere.dyn.example.", RecordType::A).packet(),
        Transport::Udp,
        1232,
        &mut out,
    );
    assert_eq!((o.rcode, o.zone), (ddns_core::Rcode::NXDOMAIN, Some(0)));
    let o = outcome(
        &z,
        &ask("big.dyn.example.", RecordType::TXT).packet(),
        Transport::Udp,
        1232,
        &mut out,
    );
    assert!(o.truncated);
    let o = outcome(
        &z,
        &ask("example.org.", RecordType::A).packet(),
        Transport::Udp,
        1232,
        &mut out,
    );
    assert_eq!((o.rcode, o.zone), (ddns_core::Rcode::REFUSED, None));
    let o = outcome(&z, &[1, 2, 3], Transport::Udp, 1232, &mut out);
    assert!(!o.replies());
}

#[test]
fn truncation_and_edns_payload() {
    let (raw, udp) = ask("big.dyn.example.", RecordType::TXT).run();
    assert!(raw.len() <= 512);
    assert!(udp.metadata.truncation);
    assert!(
        udp.answers.is_empty(),
        "a truncated answer is empty, the client retries over TCP"
    );
    assert_eq!(udp.queries.len(), 1);
    let (_, tcp) = ask("big.dyn.example.", RecordType::TXT).tcp().run();
    assert!(!tcp.metadata.truncation);
    assert_eq!(tcp.answers.len(), 25);
    let (raw, edns) = ask("big.dyn.example.", RecordType::TXT)
        .edns(4096, 0, false)
        .run();
    assert!(!edns.metadata.truncation, "fits our 1232-octet limit");
    assert!(raw.len() > 512 && raw.len() <= 1232);
    assert_eq!(edns.answers.len(), 25);
    let opt = edns.edns.expect("OPT echoed");
    assert_eq!(opt.max_payload(), 1232);
    // A client advertising less than 512 is treated as 512.
    let (raw, small) = ask("big.dyn.example.", RecordType::TXT)
        .edns(100, 0, false)
        .run();
    assert!(small.metadata.truncation && raw.len() <= 512);
    assert!(small.edns.is_some(), "OPT is kept in truncated answers");
}

#[test]
fn edns_version_and_do_bit() {
    let (_, bad) = ask("host.dyn.example.", RecordType::A)
        .edns(1232, 1, false)
        .run();
    // BADVERS and BADSIG share the value 16; hickory names it BADSIG.
    assert_eq!(u16::from(bad.metadata.response_code), 16);
    assert_eq!(bad.edns.as_ref().map(Edns::version), Some(0));
    let (_, ok) = ask("host.dyn.example.", RecordType::A)
        .edns(1232, 0, true)
        .run();
    assert!(
        ok.edns.as_ref().unwrap().flags().dnssec_ok,
        "DO is copied (RFC 3225 §3)"
    );
    assert_eq!(ok.answers.len(), 1);
}

#[test]
fn malformed_packets() {
    let mut out = Vec::new();
    let z = zones();
    assert!(
        !answer_raw(&z, &[1, 2, 3], Transport::Udp, 1232, &mut out),
        "too short: dropped"
    );
    let mut response = ask("host.dyn.example.", RecordType::A).packet();
    response[2] |= 0x80;
    assert!(
        !answer_raw(&z, &response, Transport::Udp, 1232, &mut out),
        "responses are never answered"
    );
    let mut trailing = ask("host.dyn.example.", RecordType::A).packet();
    trailing.extend_from_slice(b"junk");
    assert!(answer_raw(&z, &trailing, Transport::Udp, 1232, &mut out));
    let msg = Message::from_vec(&out).unwrap();
    assert_eq!(msg.metadata.response_code, ResponseCode::FormErr);
    assert_eq!(msg.metadata.id, 0xbeef);
    let mut no_question = ask("host.dyn.example.", RecordType::A).packet();
    no_question.truncate(12);
    no_question[5] = 0;
    assert!(answer_raw(&z, &no_question, Transport::Udp, 1232, &mut out));
    assert_eq!(
        Message::from_vec(&out).unwrap().metadata.response_code,
        ResponseCode::FormErr
    );
}

#[test]
fn random_bytes_never_panic() {
    let z = zones();
    let mut out = Vec::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let base = ask("host.dyn.example.", RecordType::A)
        .edns(1232, 0, false)
        .packet();
    for _ in 0..20_000 {
        let mut p = base.clone();
        for _ in 0..4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let i = (seed as usize) % p.len();
            p[i] = (seed >> 32) as u8;
        }
        if seed.is_multiple_of(3) {
            p.truncate((seed as usize >> 8) % p.len());
        }
        if answer_raw(&z, &p, Transport::Udp, 1232, &mut out) {
            assert!(out.len() >= 12 && out.len() <= 1232);
        }
    }
}

/// TXT answers are bounded: the largest record set the write path accepts (32 KiB of wire
/// data) is sent truncated and empty over UDP whatever payload size the client offers, and in
/// full over TCP.
#[test]
fn the_largest_txt_set_truncates_over_udp_and_fits_one_tcp_message() {
    use ddns_core::snapshot::{Rrset, RrsetChange};
    use ddns_core::{RecordSet, Rtype};
    let mut zone = zones().zones()[0].as_ref().clone();
    let origin = DomainName::parse("dyn.example").unwrap().to_wire();
    // Distinct values (a set holds each once), 2,000 octets each.
    let value = |i: usize| format!("{i:04}{}", "t".repeat(1996));
    let mut values = vec![value(0)];
    while RecordSet::from_values(
        Rtype::TXT,
        60,
        &[values.clone(), vec![value(values.len())]].concat(),
        &origin,
    )
    .is_ok()
    {
        values.push(value(values.len()));
    }
    let set = RecordSet::from_values(Rtype::TXT, 60, &values, &origin).unwrap();
    assert!(
        RecordSet::from_values(
            Rtype::TXT,
            60,
            &[values.clone(), vec![value(values.len())]].concat(),
            &origin
        )
        .is_err(),
        "one more value is refused at write time"
    );
    zone.apply(RrsetChange {
        owner: DomainName::parse("huge.dyn.example")
            .unwrap()
            .to_wire()
            .into(),
        rtype: Rtype::TXT,
        rrset: Some(Rrset::from_set(&set, true)),
    })
    .unwrap();
    let z = ZoneSet::new(vec![std::sync::Arc::new(zone)]);
    let mut out = Vec::new();
    for payload in [None, Some(1232), Some(4096), Some(65_000)] {
        let mut ask = ask("huge.dyn.example.", RecordType::TXT);
        if let Some(p) = payload {
            ask = ask.edns(p, 0, false);
        }
        let o = outcome(&z, &ask.packet(), Transport::Udp, 1232, &mut out);
        assert!(
            o.truncated && out.len() <= 1232,
            "{payload:?}: {} octets",
            out.len()
        );
        assert!(Message::from_vec(&out).unwrap().answers.is_empty());
    }
    let o = outcome(
        &z,
        &ask("huge.dyn.example.", RecordType::TXT).tcp().packet(),
        Transport::Tcp,
        1232,
        &mut out,
    );
    assert!(
        !o.truncated && out.len() > 30_000,
        "{} values, {} octets",
        values.len(),
        out.len()
    );
    assert_eq!(Message::from_vec(&out).unwrap().answers.len(), values.len());
}

/// Rate limiting counts a flow per response: answers per name (whatever its case) and type,
/// answers from a wildcard and NXDOMAIN per zone, so random names do not make new flows.
#[test]
fn rrl_flows_follow_the_response() {
    use ddns_dns::rrl::{ResponseLimiter, RrlSettings, Verdict};
    let z = zones();
    let limiter = ResponseLimiter::new(&RrlSettings {
        rate: 1,
        slip: 1,
        table_size: 4093,
        whitelist: Vec::new(),
    })
    .unwrap();
    let verdict = |peer: &str, name: &'static str, rtype| {
        let mut out = Vec::new();
        let o = outcome(
            &z,
            &ask(name, rtype).packet(),
            Transport::Udp,
            1232,
            &mut out,
        );
        limiter.check(peer.parse().unwrap(), &o, &out, &z)
    };
    let a = RecordType::A;
    // Each pair runs within one of the limiter's seconds (microseconds apart).
    assert_eq!(
        verdict("192.0.2.1", "a.wild.dyn.example.", a),
        Verdict::Send
    );
    assert_eq!(
        verdict("192.0.2.1", "b.wild.dyn.example.", a),
        Verdict::Slip
    );
    assert_eq!(verdict("192.0.2.1", "nx1.dyn.example.", a), Verdict::Send);
    assert_eq!(verdict("192.0.2.1", "nx2.dyn.example.", a), Verdict::Slip);
    assert_eq!(verdict("192.0.2.1", "host.dyn.example.", a), Verdict::Send);
    assert_eq!(verdict("192.0.2.9", "HOST.dyn.example.", a), Verdict::Slip);
    assert_eq!(
        verdict("192.0.2.1", "host.dyn.example.", RecordType::AAAA),
        Verdict::Send
    );
    assert_eq!(verdict("192.0.2.1", "www.dyn.example.", a), Verdict::Send);
    assert_eq!(verdict("192.0.3.1", "host.dyn.example.", a), Verdict::Send);
    assert_eq!(verdict("192.0.2.1", "example.org.", a), Verdict::Send);
    assert_eq!(verdict("192.0.2.1", "example.net.", a), Verdict::Slip);
}
