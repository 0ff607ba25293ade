//! Examples per type, error messages, wire validation, and the property that presentation
//! text reads back to the same RDATA.

use std::collections::BTreeMap;

use proptest::collection::vec;
use proptest::prelude::*;

use super::fields::{Format, Kind, format_of};
use super::*;

const ORIGIN: &[u8] = b"\x03dyn\x07example\x00";

fn parse(rtype: Rtype, text: &str) -> Result<Rdata, RdataError> {
    Rdata::parse(rtype, text, ORIGIN)
}

fn err(rtype: Rtype, text: &str) -> String {
    parse(rtype, text)
        .err()
        .unwrap_or_else(|| panic!("{rtype} {text:?} parsed"))
        .to_string()
}

/// Parses, checks the wire form, then checks the presentation form reads back.
fn check(rtype: Rtype, text: &str, expected_wire: &[u8], expected_text: &str) {
    let rdata = parse(rtype, text).unwrap_or_else(|e| panic!("{rtype} {text}: {e}"));
    assert_eq!(rdata.as_wire(), expected_wire, "{rtype} {text}");
    assert_eq!(rdata.to_text(rtype), expected_text, "{rtype} {text}");
    assert_eq!(parse(rtype, expected_text).unwrap(), rdata);
}

#[test]
fn addresses_and_names() {
    check(Rtype::A, "192.0.2.1", &[192, 0, 2, 1], "192.0.2.1");
    check(
        Rtype::AAAA,
        "2001:DB8::1",
        &"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets(),
        "2001:db8::1",
    );
    check(
        Rtype::CNAME,
        "Host",
        b"\x04host\x03dyn\x07example\x00",
        "host.dyn.example.",
    );
    check(Rtype::NS, "@", ORIGIN, "dyn.example.");
    check(Rtype::PTR, ".", b"\x00", ".");
    check(
        Rtype::DNAME,
        "Other.NET.",
        b"\x05other\x03net\x00",
        "other.net.",
    );
    check(
        Rtype::MX,
        "10 mail.example.net.",
        b"\x00\x0a\x04mail\x07example\x03net\x00",
        "10 mail.example.net.",
    );
    check(
        Rtype::SRV,
        "0 5 5060 sip",
        b"\x00\x00\x00\x05\x13\xc4\x03sip\x03dyn\x07example\x00",
        "0 5 5060 sip.dyn.example.",
    );
    check(
        Rtype::RP,
        r"john\.doe.example. .",
        b"\x08john.doe\x07example\x00\x00",
        r"john\.doe.example. .",
    );
    check(
        Rtype::AFSDB,
        "1 afs",
        b"\x00\x01\x03afs\x03dyn\x07example\x00",
        "1 afs.dyn.example.",
    );
    check(Rtype::KX, "5 kx.", b"\x00\x05\x02kx\x00", "5 kx.");
}

#[test]
fn soa_with_units_and_parentheses() {
    let rdata = parse(
        Rtype::SOA,
        "ns1 hostmaster ( 2024010101 ; serial\n 1h 15M 2w 1d30m )",
    )
    .unwrap();
    let mut expected =
        b"\x03ns1\x03dyn\x07example\x00\x0ahostmaster\x03dyn\x07example\x00".to_vec();
    for v in [2_024_010_101u32, 3600, 900, 1_209_600, 88_200] {
        expected.extend(v.to_be_bytes());
    }
    assert_eq!(rdata.as_wire(), expected);
    assert_eq!(
        rdata.to_text(Rtype::SOA),
        "ns1.dyn.example. hostmaster.dyn.example. 2024010101 3600 900 1209600 88200"
    );
    assert!(err(Rtype::SOA, "ns1 hm 1 2 3 4").contains("SOA record has no minimum"));
    assert!(err(Rtype::SOA, "ns1 hm 1h 2 3 4 5").contains("SOA serial \"1h\" is not a number"));
}

#[test]
fn txt_strings() {
    check(
        Rtype::TXT,
        r#""hello world" plain "q\"uote" "back\\slash" "\007bell" ;comment"#,
        b"\x0bhello world\x05plain\x06q\"uote\x0aback\\slash\x05\x07bell",
        r#""hello world" "plain" "q\"uote" "back\\slash" "\007bell""#,
    );
    check(Rtype::SPF, r#""""#, b"\x00", r#""""#);
    check(
        Rtype::TXT,
        "\"(not a paren)\"",
        b"\x0d(not a paren)",
        "\"(not a paren)\"",
    );
    check(Rtype::TXT, "\"é\"", "\x02é".as_bytes(), r#""\195\169""#);
    let long = "x".repeat(256);
    assert!(err(Rtype::TXT, &long).contains("at most 255"));
    assert!(err(Rtype::TXT, "").contains("TXT record has no text"));
    assert!(err(Rtype::TXT, "\"open").contains("not closed"));
    assert!(err(Rtype::TXT, r"\256").contains("above 255"));
}

#[test]
fn keys_and_digests() {
    check(
        Rtype::SSHFP,
        "1 1 12 34aB ( CD )",
        b"\x01\x01\x12\x34\xab\xcd",
        "1 1 1234ABCD",
    );
    check(
        Rtype::TLSA,
        "3 1 1 0102",
        b"\x03\x01\x01\x01\x02",
        "3 1 1 0102",
    );
    check(Rtype::SMIMEA, "3 0 0 ff", b"\x03\x00\x00\xff", "3 0 0 FF");
    check(
        Rtype::DS,
        "60485 5 1 2BB1",
        b"\xec\x45\x05\x01\x2b\xb1",
        "60485 5 1 2BB1",
    );
    check(Rtype::CDS, "0 0 0 00", b"\x00\x00\x00\x00\x00", "0 0 0 00");
    check(
        Rtype::DNSKEY,
        "257 3 13 AQID BA==",
        b"\x01\x01\x03\x0d\x01\x02\x03\x04",
        "257 3 13 AQIDBA==",
    );
    check(Rtype::OPENPGPKEY, "AAEC", b"\x00\x01\x02", "AAEC");
    check(Rtype::DHCID, "AAEC", b"\x00\x01\x02", "AAEC");
    check(
        Rtype::NSEC3PARAM,
        "1 0 0 -",
        b"\x01\x00\x00\x00\x00",
        "1 0 0 -",
    );
    check(
        Rtype::NSEC3PARAM,
        "1 0 10 aabb",
        b"\x01\x00\x00\x0a\x02\xaa\xbb",
        "1 0 10 AABB",
    );
    check(
        Rtype::ZONEMD,
        "1 1 1 00ff",
        b"\x00\x00\x00\x01\x01\x01\x00\xff",
        "1 1 1 00FF",
    );
    assert!(err(Rtype::SSHFP, "1 1 123").contains("odd number of hex digits"));
    assert!(err(Rtype::SSHFP, "1 1 xy").contains("not hexadecimal"));
    assert!(err(Rtype::SSHFP, "1 1").contains("SSHFP record has no fingerprint"));
    assert!(err(Rtype::DNSKEY, "257 2 13 AQID").contains("protocol 2 is not 3"));
    assert!(err(Rtype::DNSKEY, "257 3 13 A").contains("not base64"));
}

#[test]
fn caa_uri_hinfo_naptr() {
    check(
        Rtype::CAA,
        "0 issue \"letsencrypt.org\"",
        b"\x00\x05issueletsencrypt.org",
        "0 issue \"letsencrypt.org\"",
    );
    check(Rtype::CAA, "128 tbs \"\"", b"\x80\x03tbs", "128 tbs \"\"");
    assert!(err(Rtype::CAA, "0 is-sue x").contains("CAA tag \"is-sue\" holds a character"));
    assert!(err(Rtype::CAA, "0 abcdefghijklmnop x").contains("1 to 15"));
    assert!(err(Rtype::CAA, "256 issue x").contains("CAA flags \"256\" is not a number 0..=255"));
    check(
        Rtype::URI,
        "10 1 \"ftp://ftp1.example.com/public\"",
        b"\x00\x0a\x00\x01ftp://ftp1.example.com/public",
        "10 1 \"ftp://ftp1.example.com/public\"",
    );
    check(
        Rtype::HINFO,
        "PC-Intel-700mhz \"Linux 6\"",
        b"\x0fPC-Intel-700mhz\x07Linux 6",
        "\"PC-Intel-700mhz\" \"Linux 6\"",
    );
    check(
        Rtype::NAPTR,
        r#"100 10 "u" "E2U+sip" "!^.*$!sip:info@example.com!" ."#,
        b"\x00\x64\x00\x0a\x01u\x07E2U+sip\x1b!^.*$!sip:info@example.com!\x00",
        r#"100 10 "u" "E2U+sip" "!^.*$!sip:info@example.com!" ."#,
    );
    assert!(err(Rtype::HINFO, "one").contains("HINFO record has no OS"));
}

#[test]
fn error_messages_name_type_and_field() {
    assert_eq!(
        err(Rtype::MX, "x mail"),
        "MX preference \"x\" is not a number 0..=65535"
    );
    assert_eq!(err(Rtype::MX, "10"), "MX record has no exchange");
    assert_eq!(
        err(Rtype::MX, "10 mail extra"),
        "MX record has unexpected text \"extra\" after its last field"
    );
    assert_eq!(
        err(Rtype::A, "192.0.2.256"),
        "A address \"192.0.2.256\" is not an IPv4 address"
    );
    assert_eq!(
        err(Rtype::AAAA, "192.0.2.1"),
        "AAAA address \"192.0.2.1\" is not an IPv6 address"
    );
    assert!(err(Rtype::CNAME, "a..b").contains("CNAME target \"a..b\" has an empty label"));
    assert_eq!(
        err(Rtype::OPT, "\\# 0"),
        "OPT is a meta type (RFC 6895 §3.1) and can never be record data"
    );
    assert!(err(Rtype::RRSIG, "A 5 3 86400 ...").contains("RRSIG has no presentation form"));
    assert!(err(Rtype(65280), "abc").contains("TYPE65280 has no presentation form"));
}

#[test]
fn generic_form() {
    check(
        Rtype(65280),
        "\\# 3 ab CD ef",
        b"\xab\xcd\xef",
        "\\# 3 ABCDEF",
    );
    check(Rtype(65280), "\\# 0", b"", "\\# 0");
    check(Rtype::A, "\\# 4 C0000201", &[192, 0, 2, 1], "192.0.2.1");
    // Known types go through wire validation, and names are lower-cased.
    check(Rtype::CNAME, "\\# 3 01 41 00", b"\x01a\x00", "a.");
    assert!(err(Rtype::A, "\\# 3 C00002").contains("A RDATA is 3 octets long; it must be 4"));
    assert!(err(Rtype::A, "\\# 4 C000").contains("the length says 4 octets but the hex holds 2"));
    assert!(err(Rtype::A, "\\#").contains("the length is missing"));
    assert!(err(Rtype::A, "\\# x").contains("is not a number"));
    // An empty digest has no presentation form of its own.
    let ds = Rdata::from_wire(Rtype::DS, b"\x00\x01\x08\x02").unwrap();
    assert_eq!(ds.to_text(Rtype::DS), "\\# 4 00010802");
}

#[test]
fn wire_validation() {
    let bad = |rtype: Rtype, wire: &[u8]| {
        Rdata::from_wire(rtype, wire)
            .err()
            .unwrap_or_else(|| panic!("{rtype} {wire:?} accepted"))
            .to_string()
    };
    assert!(bad(Rtype::A, &[1, 2, 3]).contains("A RDATA is 3 octets long; it must be 4"));
    assert!(bad(Rtype::AAAA, &[0; 4]).contains("must be 16"));
    assert!(bad(Rtype::CNAME, b"\xc0\x0c").contains("compression pointer"));
    assert!(bad(Rtype::CNAME, b"\x41a\x00").contains("unknown label type"));
    assert!(bad(Rtype::CNAME, b"\x03ab").contains("CNAME RDATA ends inside its target"));
    assert!(bad(Rtype::CNAME, b"\x01a\x00\x00").contains("1 octets after its last field"));
    assert!(bad(Rtype::MX, b"\x00").contains("MX RDATA ends inside its preference"));
    assert!(bad(Rtype::TXT, b"").contains("TXT RDATA ends inside its text"));
    assert!(bad(Rtype::TXT, b"\x05abc").contains("ends inside"));
    assert!(bad(Rtype::CAA, b"\x00\x00").contains("1 to 15"));
    assert!(bad(Rtype::LOC, &[1; 16]).contains("LOC version 1 is not 0"));
    assert!(bad(Rtype::LOC, &[0; 15]).contains("must be 16"));
    assert!(bad(Rtype::TSIG, b"").contains("meta type"));
    assert!(bad(Rtype(65280), &vec![0; 65_536]).contains("at most 65535"));
    let long_name: Vec<u8> = std::iter::repeat_n(b"\x3f".iter().chain([b'a'; 63].iter()), 4)
        .flatten()
        .copied()
        .chain([0])
        .collect();
    assert!(bad(Rtype::NS, &long_name).contains("longer than 255"));
    let upper = Rdata::from_wire(Rtype::MX, b"\x00\x01\x04MAIL\x00").unwrap();
    assert_eq!(upper.as_wire(), b"\x00\x01\x04mail\x00");
    assert_eq!(Rdata::from_wire(Rtype(65280), b"\xc0").unwrap().len(), 1);
}

#[test]
fn loc() {
    let rdata = parse(
        Rtype::LOC,
        "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m",
    )
    .unwrap();
    assert_eq!(
        rdata.as_wire(),
        [
            0x00, 0x00, 0x16, 0x13, 0x8b, 0x3c, 0xf0, 0x18, 0x81, 0x0c, 0xbc, 0xe0, 0x00, 0x98,
            0x95, 0xb8
        ]
    );
    assert_eq!(
        rdata.to_text(Rtype::LOC),
        "52 22 23.000 N 4 53 32.000 E -2m 0m 10000m 10m"
    );
    // RFC 1876 §3 defaults: size 1m, horizontal 10000m, vertical 10m.
    let short = parse(Rtype::LOC, "42 S 71 w 24.5").unwrap();
    assert_eq!(&short.as_wire()[..4], &[0, 0x12, 0x16, 0x13]);
    assert_eq!(
        short.to_text(Rtype::LOC),
        "42 0 0.000 S 71 0 0.000 W 24.50m 1m 10000m 10m"
    );
    assert!(
        err(Rtype::LOC, "91 N 0 E 0").contains("LOC latitude degrees in \"91\" is out of range")
    );
    assert!(err(Rtype::LOC, "90 1 N 0 E 0").contains("beyond 90 degrees"));
    assert!(err(Rtype::LOC, "1 2 3 4 N 0 E 0").contains("\"4\" is not N or S"));
    assert!(err(Rtype::LOC, "1 N 0 E").contains("LOC record has no altitude"));
    assert!(err(Rtype::LOC, "1 N 0 E 0 1 2 3 4").contains("unexpected text \"4\""));
    assert!(err(Rtype::LOC, "1 N 0 E 0.001m").contains("LOC altitude"));
}

#[test]
fn svcb() {
    let rdata = parse(
        Rtype::HTTPS,
        "1 . ipv4hint=192.0.2.1,192.0.2.2 port=443 alpn=h2,h3 mandatory=alpn,port ech=AAEC",
    )
    .unwrap();
    assert_eq!(
        rdata.as_wire(),
        b"\x00\x01\x00\
          \x00\x00\x00\x04\x00\x01\x00\x03\
          \x00\x01\x00\x06\x02h2\x02h3\
          \x00\x03\x00\x02\x01\xbb\
          \x00\x04\x00\x08\xc0\x00\x02\x01\xc0\x00\x02\x02\
          \x00\x05\x00\x03\x00\x01\x02"
    );
    assert_eq!(
        rdata.to_text(Rtype::HTTPS),
        "1 . mandatory=alpn,port alpn=\"h2,h3\" port=443 ipv4hint=192.0.2.1,192.0.2.2 ech=\"AAEC\""
    );
    // RFC 9460 Appendix D.2, figure 10: two levels of escaping in a value-list.
    let escaped = parse(
        Rtype::SVCB,
        r#"16 foo.example.org. alpn="f\\\\oo\\,bar,h2""#,
    )
    .unwrap();
    assert_eq!(
        escaped.as_wire(),
        b"\x00\x10\x03foo\x07example\x03org\x00\x00\x01\x00\x0c\x08f\\oo,bar\x02h2"
    );
    assert_eq!(
        parse(Rtype::SVCB, &escaped.to_text(Rtype::SVCB)).unwrap(),
        escaped
    );
    // RFC 9460 Appendix D.2, figure 6: an unknown key in generic form.
    let generic = parse(Rtype::SVCB, r#"1 foo.example.com. key667="hello\210qoo""#).unwrap();
    assert_eq!(
        generic.as_wire(),
        b"\x00\x01\x03foo\x07example\x03com\x00\x02\x9b\x00\x09hello\xd2qoo"
    );
    check(
        Rtype::SVCB,
        "0 foo.example.com.",
        b"\x00\x00\x03foo\x07example\x03com\x00",
        "0 foo.example.com.",
    );
    check(
        Rtype::SVCB,
        "1 . no-default-alpn alpn=h2 ipv6hint=2001:db8::1 key3=\"\\001\\187\"",
        b"\x00\x01\x00\x00\x01\x00\x03\x02h2\x00\x02\x00\x00\x00\x03\x00\x02\x01\xbb\
          \x00\x06\x00\x10\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01",
        "1 . alpn=\"h2\" no-default-alpn port=443 ipv6hint=2001:db8::1",
    );
    let e = |text: &str| err(Rtype::SVCB, text);
    assert!(e("1 . port=443 port=80").contains("twice"));
    assert!(e("1 . mandatory=port").contains("lists port which the record does not have"));
    assert!(e("1 . mandatory=mandatory").contains("lists itself"));
    assert!(e("1 . alpn").contains("empty protocol id"));
    assert!(e("1 . no-default-alpn=x").contains("must be empty"));
    assert!(e("1 . port=x").contains("\"x\" is not a number"));
    assert!(e("1 . ipv4hint=::1").contains("not an IPv4 address"));
    assert!(e("1 . ipv6hint=").contains("not an IPv6 address"));
    assert!(e("1 . key65535").contains("reserved invalid key"));
    assert!(e("1 . bogus=1").contains("neither a registered name"));
    assert!(e("1 . key01=1").contains("neither a registered name"));
    assert!(e("1 . key3=\"1\"").contains("port value is 1 octets"));
    assert!(e("x .").contains("SvcPriority \"x\""));
    assert!(e("1").contains("no TargetName"));
    // Out-of-order keys on the wire are malformed (RFC 9460 §2.2).
    let unsorted = b"\x00\x01\x00\x00\x03\x00\x02\x01\xbb\x00\x01\x00\x03\x02h2";
    assert!(
        Rdata::from_wire(Rtype::SVCB, unsorted)
            .unwrap_err()
            .to_string()
            .contains("strictly increasing")
    );
}

#[test]
fn conveniences() {
    let a = Rdata::ipv4(Ipv4Addr::new(192, 0, 2, 7));
    assert_eq!(a.as_ipv4(), Some(Ipv4Addr::new(192, 0, 2, 7)));
    assert_eq!(a.as_ipv6(), None);
    assert_eq!(a, parse(Rtype::A, "192.0.2.7").unwrap());
    let v6 = Rdata::ipv6(Ipv6Addr::LOCALHOST);
    assert_eq!(v6.as_ipv6(), Some(Ipv6Addr::LOCALHOST));
    assert_eq!(v6.as_ipv4(), None);
    let name = DomainName::parse("Host.Example").unwrap();
    let target = Rdata::name_target(&name);
    assert_eq!(target.leading_name(), Some(&b"\x04host\x07example\x00"[..]));
    assert_eq!(target, parse(Rtype::CNAME, "host.example.").unwrap());
    assert_eq!(parse(Rtype::MX, "1 a.").unwrap().leading_name(), None);

    let empty = Rdata::txt_from_value("").unwrap();
    assert_eq!(empty.as_wire(), b"\x00");
    assert_eq!(empty.txt_value().as_deref(), Some(""));
    let long = "é".repeat(300);
    let split = Rdata::txt_from_value(&long).unwrap();
    assert_eq!(split.as_wire()[0], 254);
    assert_eq!(split.txt_value().as_deref(), Some(long.as_str()));
    assert!(Rdata::from_wire(Rtype::TXT, split.as_wire()).is_ok());
    assert!(
        Rdata::txt_from_value(&"x".repeat(2049))
            .unwrap_err()
            .to_string()
            .contains("2049 octets")
    );
    assert!(
        Rdata::txt_from_value("a\nb")
            .unwrap_err()
            .to_string()
            .contains("control character '\\n'")
    );
    assert_eq!(parse(Rtype::TXT, "\\255").unwrap().txt_value(), None);
}

proptest! {
    #[test]
    fn txt_value_round_trips(value in "\\PC{0,700}") {
        prop_assume!(value.len() <= MAX_TXT_VALUE_LEN);
        let rdata = Rdata::txt_from_value(&value).unwrap();
        prop_assert_eq!(rdata.txt_value(), Some(value));
        prop_assert_eq!(Rdata::from_wire(Rtype::TXT, rdata.as_wire()).unwrap(), rdata);
    }
}

/// Every type with a format here, plus a few without one.
pub(crate) const TYPES: &[Rtype] = &[
    Rtype::A,
    Rtype::NS,
    Rtype::CNAME,
    Rtype::SOA,
    Rtype::PTR,
    Rtype::HINFO,
    Rtype::MX,
    Rtype::TXT,
    Rtype::RP,
    Rtype::AFSDB,
    Rtype::AAAA,
    Rtype::LOC,
    Rtype::SRV,
    Rtype::NAPTR,
    Rtype::KX,
    Rtype::DNAME,
    Rtype::DS,
    Rtype::SSHFP,
    Rtype::DNSKEY,
    Rtype::DHCID,
    Rtype::NSEC3PARAM,
    Rtype::TLSA,
    Rtype::SMIMEA,
    Rtype::CDS,
    Rtype::CDNSKEY,
    Rtype::OPENPGPKEY,
    Rtype::ZONEMD,
    Rtype::SVCB,
    Rtype::HTTPS,
    Rtype::SPF,
    Rtype::URI,
    Rtype::CAA,
    Rtype::RRSIG,
    Rtype::CERT,
    Rtype(65280),
];

fn bytes(max: usize) -> BoxedStrategy<Vec<u8>> {
    vec(any::<u8>(), 0..=max).boxed()
}

fn char_string(max: usize) -> BoxedStrategy<Vec<u8>> {
    bytes(max)
        .prop_map(|b| {
            let mut out = vec![b.len() as u8];
            out.extend(b);
            out
        })
        .boxed()
}

pub(crate) fn arb_name() -> BoxedStrategy<Vec<u8>> {
    vec(vec(any::<u8>(), 1..8), 0..4)
        .prop_map(|labels| {
            let mut out = Vec::new();
            for label in labels {
                out.push(label.len() as u8);
                out.extend(label);
            }
            out.push(0);
            out
        })
        .boxed()
}

fn arb_field(kind: Kind) -> BoxedStrategy<Vec<u8>> {
    match kind {
        Kind::U8 => vec(any::<u8>(), 1).boxed(),
        Kind::U16 => vec(any::<u8>(), 2).boxed(),
        Kind::U32 | Kind::Duration | Kind::Ipv4 => vec(any::<u8>(), 4).boxed(),
        Kind::Ipv6 => vec(any::<u8>(), 16).boxed(),
        Kind::Name => arb_name(),
        Kind::CharString | Kind::Salt => char_string(40),
        Kind::CharStrings => vec(char_string(40), 1..4).prop_map(|s| s.concat()).boxed(),
        Kind::Hex | Kind::Base64 | Kind::QuotedRest => bytes(40),
        Kind::CaaTag => "[a-zA-Z0-9]{1,15}"
            .prop_map(|t| {
                let mut out = vec![t.len() as u8];
                out.extend(t.bytes());
                out
            })
            .boxed(),
    }
}

fn arb_svcb() -> BoxedStrategy<Vec<u8>> {
    let alpn = vec(vec(any::<u8>(), 1..6), 1..3).prop_map(|ids| {
        let mut out = Vec::new();
        for id in ids {
            out.push(id.len() as u8);
            out.extend(id);
        }
        out
    });
    let params = (
        proptest::option::of(alpn),
        any::<bool>(),
        proptest::option::of(vec(any::<u8>(), 2)),
        proptest::option::of(vec(vec(any::<u8>(), 4), 1..3).prop_map(|v| v.concat())),
        proptest::option::of(bytes(20)),
        proptest::option::of(vec(vec(any::<u8>(), 16), 1..3).prop_map(|v| v.concat())),
        proptest::option::of((7u16..65_535, bytes(20))),
        any::<u16>(),
    );
    (any::<u16>(), arb_name(), params)
        .prop_map(
            |(priority, target, (alpn, nda, port, v4, ech, v6, generic, mask))| {
                let mut map: BTreeMap<u16, Vec<u8>> = BTreeMap::new();
                for (key, value) in [(1, alpn), (3, port), (4, v4), (5, ech), (6, v6)] {
                    if let Some(v) = value {
                        map.insert(key, v);
                    }
                }
                if nda {
                    map.insert(2, Vec::new());
                }
                if let Some((k, v)) = generic {
                    map.insert(k, v);
                }
                let mandatory: Vec<u8> = map
                    .keys()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << (i % 16)) != 0)
                    .flat_map(|(_, k)| k.to_be_bytes())
                    .collect();
                if !mandatory.is_empty() {
                    map.insert(0, mandatory);
                }
                let mut out = priority.to_be_bytes().to_vec();
                out.extend(target);
                for (k, v) in map {
                    out.extend(k.to_be_bytes());
                    out.extend((v.len() as u16).to_be_bytes());
                    out.extend(v);
                }
                out
            },
        )
        .boxed()
}

fn arb_loc() -> BoxedStrategy<Vec<u8>> {
    let precision = prop_oneof![
        Just(0u8),
        (1u8..=9, 0u8..=9).prop_map(|(m, e)| (m << 4) | e)
    ];
    let deg = 3_600_000i64;
    (
        vec(precision, 3),
        -90 * deg..=90 * deg,
        -180 * deg..=180 * deg,
        any::<u32>(),
    )
        .prop_map(move |(pre, lat, lon, alt)| {
            let mut out = vec![0];
            out.extend(pre);
            out.extend((((1i64 << 31) + lat) as u32).to_be_bytes());
            out.extend((((1i64 << 31) + lon) as u32).to_be_bytes());
            out.extend(alt.to_be_bytes());
            out
        })
        .boxed()
}

/// Valid RDATA of `rtype`.
pub(crate) fn arb_rdata(rtype: Rtype) -> BoxedStrategy<Rdata> {
    let wire = match format_of(rtype) {
        Format::Fields(fields) => fields
            .iter()
            .map(|f| arb_field(f.kind))
            .collect::<Vec<_>>()
            .prop_map(move |parts| {
                let mut wire = parts.concat();
                if matches!(rtype, Rtype::DNSKEY | Rtype::CDNSKEY) {
                    wire[2] = 3;
                }
                wire
            })
            .boxed(),
        Format::Svcb => arb_svcb(),
        Format::Loc => arb_loc(),
        Format::Opaque => bytes(40),
    };
    wire.prop_map(move |w| {
        Rdata::from_wire(rtype, &w).unwrap_or_else(|e| panic!("{rtype} {w:?}: {e}"))
    })
    .boxed()
}

/// A type from [`TYPES`] and valid RDATA of it.
pub(crate) fn arb_typed_rdata() -> BoxedStrategy<(Rtype, Rdata)> {
    (0..TYPES.len())
        .prop_flat_map(|i| arb_rdata(TYPES[i]).prop_map(move |r| (TYPES[i], r)))
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn presentation_reads_back((rtype, rdata) in arb_typed_rdata()) {
        let text = rdata.to_text(rtype);
        let again = Rdata::parse(rtype, &text, ORIGIN)
            .unwrap_or_else(|e| panic!("{rtype} {text}: {e}"));
        prop_assert_eq!(&again, &rdata, "{} {}", rtype, text);
        prop_assert_eq!(Rdata::from_wire(rtype, rdata.as_wire()).unwrap(), rdata);
    }

    #[test]
    fn arbitrary_octets_never_panic(code in 0u16..300, wire in bytes(64)) {
        let rtype = Rtype(code);
        if let Ok(rdata) = Rdata::from_wire(rtype, &wire) {
            let text = rdata.to_text(rtype);
            prop_assert_eq!(Rdata::parse(rtype, &text, ORIGIN).unwrap(), rdata);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(code in 0u16..300, text in "\\PC{0,60}") {
        let _ = Rdata::parse(Rtype(code), &text, ORIGIN);
    }
}
