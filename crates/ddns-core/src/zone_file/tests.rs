//! Directives, owners, TTLs, errors with their lines, a million-record stream, the
//! write-then-read round trip, and a cross-check of wire forms against hickory-proto.

use std::io::{BufReader, Read};

use proptest::prelude::*;

use super::*;
use crate::rdata::tests::{arb_name, arb_typed_rdata};

fn zone() -> DomainName {
    DomainName::parse("dyn.example").unwrap()
}

fn read(text: &str) -> Vec<Result<ZoneEntry, ZoneFileError>> {
    ZoneFileReader::new(text.as_bytes(), &zone(), None).collect()
}

fn entries(text: &str) -> Vec<ZoneEntry> {
    read(text)
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

fn first_error(text: &str) -> ZoneFileError {
    read(text)
        .into_iter()
        .find_map(Result::err)
        .unwrap_or_else(|| panic!("no error in {text:?}"))
}

fn name(text: &str) -> Vec<u8> {
    text::parse_name(text, b"\x00").unwrap()
}

#[test]
fn reads_a_zone() {
    let text = "\
$TTL 1h30m ; default
@\tIN SOA ns1 hostmaster ( 1 ; serial
\t\t2h 1h 2w 5m )
\tNS ns1
ns1 300 A 192.0.2.53
    IN 60 AAAA 2001:db8::53
www CLASS1 CNAME ns1 ; a comment with \"quotes\" and (parens
*.wild TXT \"a;b\" (\"c\"
  \"d\")
_sip._udp SRV 0 5 5060 ns1.dyn.example.
$ORIGIN sub
host A 192.0.2.1
$ORIGIN dyn.example.
Other A 192.0.2.2
";
    let got = entries(text);
    let summary: Vec<(String, u32, Rtype, String, usize)> = got
        .iter()
        .map(|e| {
            (
                crate::name::wire_to_text(&e.owner),
                e.ttl,
                e.rtype,
                e.rdata.to_text(e.rtype),
                e.line,
            )
        })
        .collect();
    let row = |o: &str, ttl, t, r: &str, line| (o.to_owned(), ttl, t, r.to_owned(), line);
    assert_eq!(
        summary,
        vec![
            row(
                "dyn.example.",
                5400,
                Rtype::SOA,
                "ns1.dyn.example. hostmaster.dyn.example. 1 7200 3600 1209600 300",
                2
            ),
            row("dyn.example.", 5400, Rtype::NS, "ns1.dyn.example.", 4),
            row("ns1.dyn.example.", 300, Rtype::A, "192.0.2.53", 5),
            row("ns1.dyn.example.", 60, Rtype::AAAA, "2001:db8::53", 6),
            row(
                "www.dyn.example.",
                5400,
                Rtype::CNAME,
                "ns1.dyn.example.",
                7
            ),
            row(
                "*.wild.dyn.example.",
                5400,
                Rtype::TXT,
                "\"a;b\" \"c\" \"d\"",
                8
            ),
            row(
                "_sip._udp.dyn.example.",
                5400,
                Rtype::SRV,
                "0 5 5060 ns1.dyn.example.",
                10
            ),
            row("host.sub.dyn.example.", 5400, Rtype::A, "192.0.2.1", 12),
            row("other.dyn.example.", 5400, Rtype::A, "192.0.2.2", 14),
        ]
    );
}

#[test]
fn ttl_defaults() {
    // Without $TTL: the previous record's TTL, else the default given to `new`.
    let got: Vec<u32> = ZoneFileReader::new(
        "a A 192.0.2.1\nb 77 A 192.0.2.1\nc A 192.0.2.1\n$TTL 1d\nd A 192.0.2.1\n".as_bytes(),
        &zone(),
        Some(42),
    )
    .map(|e| e.unwrap().ttl)
    .collect();
    assert_eq!(got, vec![42, 77, 77, 86_400]);
    let e = first_error("a A 192.0.2.1");
    assert_eq!(e.line, 1);
    assert!(e.message.starts_with("no TTL"), "{e}");
    assert!(
        first_error("a 2147483648 A 192.0.2.1")
            .message
            .contains("above 2147483647")
    );
    assert!(first_error("$TTL 1x").message.contains("TTL \"1x\""));
    assert!(
        first_error("$TTL")
            .message
            .contains("$TTL needs an argument")
    );
    assert!(
        first_error("$TTL 1 2")
            .message
            .contains("unexpected text \"2\"")
    );
    assert!(
        first_error("a 1 2 A 192.0.2.1")
            .message
            .contains("a second TTL")
    );
    assert!(
        first_error("a IN 1 IN A 192.0.2.1")
            .message
            .contains("a second class")
    );
}

#[test]
fn errors_carry_lines() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "$TTL 60\n\n$INCLUDE other.zone",
            3,
            "$INCLUDE is not supported",
        ),
        (
            "$TTL 60\n$GENERATE 1-10 h$ A 192.0.2.$",
            2,
            "$GENERATE is not supported",
        ),
        ("$TTL 60\n$FOO bar", 2, "unknown directive $FOO"),
        ("$TTL 60\na CH A 192.0.2.1", 2, "class CH is not supported"),
        ("$TTL 60\na HS A 192.0.2.1", 2, "class HS is not supported"),
        (
            "$TTL 60\na CLASS3 A 192.0.2.1",
            2,
            "class CLASS3 is not supported",
        ),
        (
            "$TTL 60\nx.other. A 192.0.2.1",
            2,
            "owner x.other. is outside zone dyn.example.",
        ),
        ("$TTL 60\nexample. A 192.0.2.1", 2, "is outside zone"),
        ("$TTL 60\nxdyn.example. A 192.0.2.1", 2, "is outside zone"),
        ("$TTL 60\na\\.b A 192.0.2.1", 2, "contains '.'"),
        ("$TTL 60\na\\032 A 192.0.2.1", 2, "contains ' '"),
        (
            "$TTL 60\na.*.b A 192.0.2.1",
            2,
            "'*' below its leftmost label",
        ),
        ("$TTL 60\n\"a\" A 192.0.2.1", 2, "is quoted"),
        ("$TTL 60\na..b A 192.0.2.1", 2, "empty label"),
        ("$TTL 60\n A 192.0.2.1", 2, "no previous record"),
        ("$TTL 60\na", 2, "the record has no type"),
        (
            "$TTL 60\na 60 IN BOGUS x",
            2,
            "unknown record type \"BOGUS\"",
        ),
        (
            "$TTL 60\na MX x y",
            2,
            "MX preference \"x\" is not a number 0..=65535",
        ),
        ("$TTL 60\na OPT \\# 0", 2, "OPT is a meta type"),
        ("$TTL 60\na AXFR", 2, "AXFR is a meta type"),
        (
            "$TTL 60\na ( A\n 192.0.2.1\n",
            2,
            "the parenthesis opened on line 2 is not closed",
        ),
        ("$TTL 60\na A 192.0.2.1 )", 2, "')' without an opening '('"),
        (
            "$TTL 60\na TXT \"open\n\"",
            2,
            "quoted string is not closed on its line",
        ),
        (
            "$TTL 60\na A 192.0.2.1\nb TXT ( \"x\"\n\"y\" ) extra\nc A 1",
            5,
            "is not an IPv4 address",
        ),
    ];
    for (text, line, message) in cases {
        let e = first_error(text);
        assert_eq!(e.line, *line, "{text:?}: {e}");
        assert!(e.message.contains(message), "{text:?}: {e}");
        assert!(e.to_string().starts_with(&format!("line {line}: ")));
    }
}

#[test]
fn continues_after_a_bad_record() {
    let got = read("$TTL 60\na A bad\nb A 192.0.2.1\n");
    assert_eq!(got.len(), 2);
    assert!(got[0].is_err());
    assert_eq!(got[1].as_ref().unwrap().line, 3);
}

#[test]
fn rejects_non_utf8_and_long_lines() {
    let e = ZoneFileReader::new(&b"$TTL 60\na TXT \"\xff\"\n"[..], &zone(), None)
        .find_map(Result::err)
        .unwrap();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("not UTF-8"));
    let long = format!("a TXT {}\n", "x".repeat(MAX_LINE_LEN));
    let e = first_error(&long);
    assert!(e.message.contains("longer than"), "{e}");
}

#[test]
fn generic_rdata_and_type_numbers() {
    let got =
        entries("$TTL 60\na TYPE65280 \\# 2 abcd\nb type1 \\# 4 c0000201\nc A \\# 4 C0000202\n");
    assert_eq!(got[0].rtype, Rtype(65280));
    assert_eq!(got[0].rdata.as_wire(), b"\xab\xcd");
    assert_eq!(got[1].rtype, Rtype::A);
    assert_eq!(
        got[1].rdata.as_ipv4(),
        Some(std::net::Ipv4Addr::new(192, 0, 2, 1))
    );
    assert_eq!(
        got[2].rdata.as_ipv4(),
        Some(std::net::Ipv4Addr::new(192, 0, 2, 2))
    );
}

#[test]
fn writes_entries() {
    let mut out = String::new();
    let rdata = Rdata::parse(Rtype::TXT, "\"hi there\"", b"\x00").unwrap();
    write_entry(
        &mut out,
        &name("*.a_b-c.dyn.example."),
        300,
        Rtype::TXT,
        &rdata,
    )
    .unwrap();
    write_entry(
        &mut out,
        b"\x03a.b\x02 \xff\x00",
        1,
        Rtype(65280),
        &Rdata::from_wire(Rtype(65280), b"").unwrap(),
    )
    .unwrap();
    write_entry(
        &mut out,
        b"\x00",
        2,
        Rtype::A,
        &Rdata::ipv4(std::net::Ipv4Addr::LOCALHOST),
    )
    .unwrap();
    assert_eq!(
        out,
        "*.a_b-c.dyn.example.\t300\tIN\tTXT\t\"hi there\"\n\
         a\\046b.\\032\\255.\t1\tIN\tTYPE65280\t\\# 0\n\
         .\t2\tIN\tA\t127.0.0.1\n"
    );
}

/// Produces `count` records lazily, so the test itself holds no zone in memory.
struct Generated {
    next: usize,
    count: usize,
    pending: Vec<u8>,
    at: usize,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.pending.len() {
            if self.next == self.count {
                return Ok(0);
            }
            self.pending = format!(
                "h{} 60 IN A 10.{}.{}.{}\n",
                self.next,
                (self.next >> 16) & 0xff,
                (self.next >> 8) & 0xff,
                self.next & 0xff
            )
            .into_bytes();
            self.at = 0;
            self.next += 1;
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn streams_a_million_records() {
    let source = Generated {
        next: 0,
        count: 1_000_000,
        pending: Vec::new(),
        at: 0,
    };
    let mut count = 0usize;
    let mut last = None;
    for entry in ZoneFileReader::new(BufReader::new(source), &zone(), None) {
        let entry = entry.unwrap();
        count += 1;
        last = Some(entry);
    }
    assert_eq!(count, 1_000_000);
    let last = last.unwrap();
    assert_eq!(last.line, 1_000_000);
    assert_eq!(last.owner, name("h999999.dyn.example."));
    assert_eq!(
        last.rdata.as_ipv4(),
        Some(std::net::Ipv4Addr::new(10, 15, 66, 63))
    );
}

/// Owners the reader accepts: LDH and `_` labels, maybe a leftmost `*`, below the zone.
fn arb_owner() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        proptest::collection::vec("[a-z0-9_-]{1,10}", 0..3),
    )
        .prop_map(|(wild, labels)| {
            let mut out = Vec::new();
            if wild {
                out.extend(b"\x01*");
            }
            for label in labels {
                out.push(label.len() as u8);
                out.extend(label.bytes());
            }
            out.extend(zone().to_wire());
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn written_entries_read_back(
        records in proptest::collection::vec((arb_owner(), 0..=MAX_TTL, arb_typed_rdata()), 1..8)
    ) {
        let mut text = String::new();
        for (owner, ttl, (rtype, rdata)) in &records {
            write_entry(&mut text, owner, *ttl, *rtype, rdata).unwrap();
        }
        let back: Vec<ZoneEntry> = ZoneFileReader::new(text.as_bytes(), &zone(), None)
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        prop_assert_eq!(back.len(), records.len());
        for (line, (entry, (owner, ttl, (rtype, rdata)))) in back.iter().zip(&records).enumerate() {
            prop_assert_eq!(&entry.owner, owner);
            prop_assert_eq!(entry.ttl, *ttl);
            prop_assert_eq!(entry.rtype, *rtype);
            prop_assert_eq!(&entry.rdata, rdata);
            prop_assert_eq!(entry.line, line + 1);
        }
    }

    #[test]
    fn arbitrary_names_in_rdata_survive_a_file(target in arb_name()) {
        let rdata = Rdata::from_wire(Rtype::CNAME, &target).unwrap();
        let mut text = String::new();
        write_entry(&mut text, &zone().to_wire(), 1, Rtype::CNAME, &rdata).unwrap();
        let back = ZoneFileReader::new(text.as_bytes(), &zone(), None).next().unwrap().unwrap();
        prop_assert_eq!(back.rdata, rdata);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        for _ in ZoneFileReader::new(text.as_bytes(), &zone(), Some(1)).take(50) {}
    }
}

/// Wire forms of presentation lines, as hickory-proto reads them.
mod hickory {
    use hickory_proto::rr::Name;
    use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};
    use hickory_proto::serialize::txt::Parser;

    use super::*;

    fn hickory_wire(line: &str) -> (Rtype, Vec<u8>) {
        let origin = Name::from_ascii("dyn.example.").unwrap();
        let input = format!("$TTL 60\n{line}\n");
        let (_, sets) = Parser::new(input, None, Some(origin))
            .parse()
            .unwrap_or_else(|e| panic!("hickory: {line}: {e}"));
        let set = sets.values().next().unwrap();
        let record = set.records_without_rrsigs().next().unwrap();
        let mut out = Vec::new();
        let mut enc = BinEncoder::new(&mut out);
        enc.set_name_encoding(NameEncoding::Uncompressed);
        record.data.emit(&mut enc).unwrap();
        (Rtype(record.record_type().into()), out)
    }

    /// Lines of every type both readers understand. Names are lower-case: hickory keeps the
    /// case it reads, this module lower-cases.
    const CORPUS: &[&str] = &[
        "a A 192.0.2.1",
        "a AAAA 2001:db8::1",
        "a AAAA ::ffff:192.0.2.1",
        "@ NS ns1",
        "@ NS ns1.example.net.",
        "www CNAME host",
        "@ MX 10 mail",
        "@ MX 0 .",
        "t TXT \"hello world\" plain \"q\\\"uote\" \"\\\\\" \"\\001\"",
        "t TXT \"\"",
        "_sip._udp SRV 0 5 5060 sip.example.net.",
        "@ CAA 0 issue \"letsencrypt.org\"",
        "@ CAA 128 iodef \"mailto:security@example.org\"",
        "@ CAA 0 issuewild \";\"",
        "a SSHFP 1 1 123456789abcdef67890123456789abcdef67890",
        "_443._tcp TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "@ NAPTR 100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" .",
        "@ NAPTR 100 50 \"s\" \"SIP+D2U\" \"\" _sip._udp.example.com.",
        "@ SOA ns1 hostmaster 2024010101 7200 3600 1209600 300",
        "@ SOA ns1.example.net. hostmaster.example.net. 1 1h 15m 2w 1d",
        "1 PTR host.example.net.",
        "a HINFO \"PC\" \"Linux\"",
        "s SVCB 1 . alpn=h2,h3 port=443 ipv4hint=192.0.2.1",
        "s SVCB 0 svc.example.net.",
        "s SVCB 2 svc.example.net. alpn=h2 no-default-alpn ipv6hint=2001:db8::1,2001:db8::2",
        "s SVCB 3 . mandatory=alpn,port alpn=h3 port=8443",
        "@ HTTPS 1 . alpn=h2 ech=AEn+DQBFKwAgACABWIHUGj4u+PIggYXcR5JF0gYk3dCRioBW8uJq9H4mKAAIAAEAAQABAANAEnB1YmxpYy50bHMtZWNoLmRldgAA",
        "@ HTTPS 1 . port=443 ipv4hint=192.0.2.1,192.0.2.2 ipv6hint=2001:db8::1",
        "a OPENPGPKEY mQINBFit2jsBEADrbl5vjVxYeAE0g0IDYCBpHirv1Sjlqxx5gjtPhb2YhvyDMXjq",
    ];

    /// Lines where hickory-proto 0.26 departs from the RFCs; the RFC wins, and our wire form
    /// is checked against the octets the RFC gives.
    const DISAGREEMENTS: &[(&str, &[u8])] = &[
        // RFC 1035 §5.1: "(" and ")" group items across lines and a quoted string inside them
        // is still a <character-string>; hickory keeps the quotes as part of the string.
        ("t TXT (\"one\"\n \"two\")", b"\x03one\x03two"),
        // RFC 4255 §3.2: "The use of mnemonics instead of numbers is not allowed" and the
        // fingerprint is hex; like every hex field (RFC 4034 §5.3 for DS: "whitespace is
        // allowed within the hexadecimal text") it may be split, which hickory refuses
        // ("too many fields for SSHFP").
        (
            "a SSHFP 4 2 ( 0123 4567\n 89AB )",
            b"\x04\x02\x01\x23\x45\x67\x89\xab",
        ),
        // RFC 1035 §5.1: names that do not end in a dot are relative to the origin; hickory
        // leaves a relative SVCB TargetName uncompleted.
        ("s SVCB 0 svc", b"\x00\x00\x03svc\x03dyn\x07example\x00"),
        // RFC 9460 §2.1: in presentation form "SvcParams ... MAY appear in any order, but
        // keys MUST NOT appear more than once"; the wire form is sorted (§2.2). Hickory keeps
        // the text's order and then refuses to emit it ("SvcParams out of order").
        (
            "s SVCB 2 svc port=53 alpn=h2",
            b"\x00\x02\x03svc\x03dyn\x07example\x00\x00\x01\x00\x03\x02h2\x00\x03\x00\x02\x00\x35",
        ),
    ];

    #[test]
    fn disagreements_follow_the_rfc() {
        for (line, wire) in DISAGREEMENTS {
            let ours = entries(&format!("$TTL 60\n{line}\n"));
            assert_eq!(ours[0].rdata.as_wire(), *wire, "{line}");
            let hickory = std::panic::catch_unwind(|| hickory_wire(line));
            assert!(
                hickory.map_or(true, |(_, theirs)| theirs != *wire),
                "{line}: hickory agrees now"
            );
        }
    }

    #[test]
    fn wire_forms_match_hickory() {
        let mut mismatches = Vec::new();
        for line in CORPUS {
            let ours = entries(&format!("$TTL 60\n{line}\n"));
            assert_eq!(ours.len(), 1, "{line}");
            let (rtype, theirs) = hickory_wire(line);
            assert_eq!(ours[0].rtype, rtype, "{line}");
            if ours[0].rdata.as_wire() != &theirs[..] {
                mismatches.push(format!(
                    "{line}\n ours   {:?}\n hickory {theirs:?}",
                    ours[0].rdata.as_wire()
                ));
            }
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }
}
