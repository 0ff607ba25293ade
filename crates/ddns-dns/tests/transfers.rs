//! The deferred path, message in, messages out: AXFR and IXFR with their access lists and TSIG,
//! UDP truncation, UPDATE dispatch to the write path, and TSIG failures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use ddns_core::journal::{JournalEntry, RrsetDelta, SoaRecord, ZoneHistory};
use ddns_core::snapshot::{Rrset, RrsetChange, SoaParams, Zone, ZoneSet};
use ddns_core::{DomainName, Rcode, RecordSet, Rtype, Serial};
use ddns_dns::access::{AccessRule, UpdateRule, ZoneAccess};
use ddns_dns::tsig::{self, Algorithm, Key, KeyRing, StreamVerifier};
use ddns_dns::{DnsService, MessageSink, Request, Transport, UpdateRequest, Updater};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType, rdata::SOA};

const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0";

#[derive(Default)]
struct Collect(Vec<Vec<u8>>);

impl MessageSink for Collect {
    async fn send(&mut self, message: &[u8]) -> io::Result<()> {
        self.0.push(message.to_vec());
        Ok(())
    }
}

fn name(text: &str) -> DomainName {
    DomainName::parse(text).unwrap()
}

fn soa_params() -> SoaParams {
    SoaParams {
        mname: name("ns1.dyn.example"),
        rname: name("hostmaster.dyn.example"),
        refresh: 3600,
        retry: 600,
        expire: 1_209_600,
        minimum: 60,
        ttl: 3600,
    }
}

fn a_set(addr: [u8; 4]) -> RecordSet {
    RecordSet::ipv4(60, &[addr.into()]).unwrap()
}

/// A zone of `hosts` A records at serial 12.
fn zone(hosts: usize) -> Zone {
    let mut zone = Zone::new(name("dyn.example"), soa_params(), Serial(12));
    for i in 0..hosts {
        let set = a_set([10, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
        zone.apply(RrsetChange {
            owner: name(&format!("h{i}.dyn.example")).to_wire().into(),
            rtype: Rtype::A,
            rrset: Some(Rrset::from_set(&set, true)),
        })
        .unwrap();
    }
    zone
}

/// Steps 10 → 11 → 12: h0 changes address, then h1.
struct Steps(Vec<Arc<JournalEntry>>);

impl Steps {
    fn new() -> Self {
        let soa = |serial| SoaRecord {
            ttl: 3600,
            rdata: soa_params().rdata(Serial(serial)),
        };
        let step = |from: u32, host: &str, old: [u8; 4], new: [u8; 4]| {
            Arc::new(JournalEntry {
                seq: i64::from(from),
                serial_before: Serial(from),
                serial_after: Serial(from + 1),
                soa_before: soa(from),
                soa_after: soa(from + 1),
                reload: false,
                deltas: vec![RrsetDelta {
                    owner: name(host),
                    rtype: Rtype::A,
                    old: Some(a_set(old)),
                    new: Some(a_set(new)),
                    is_static: false,
                    view: None,
                }],
            })
        };
        Self(vec![
            step(10, "h0.dyn.example", [192, 0, 2, 1], [10, 0, 0, 0]),
            step(11, "h1.dyn.example", [192, 0, 2, 2], [10, 0, 0, 1]),
        ])
    }
}

impl ZoneHistory for Steps {
    fn steps(&self, _: &DomainName, from: Serial, to: Serial) -> Option<Vec<Arc<JournalEntry>>> {
        let start = self.0.iter().position(|s| s.serial_before == from)?;
        let out: Vec<_> = self.0[start..].to_vec();
        (out.last()?.serial_after == to).then_some(out)
    }
}

fn key() -> Key {
    Key::new(&name("xfr"), Algorithm::HmacSha256, SECRET).unwrap()
}

fn service(updater: Option<Arc<dyn Updater>>) -> DnsService {
    let mut keys = KeyRing::new();
    keys.insert(key()).unwrap();
    let access = ZoneAccess {
        allow_transfer: vec![
            AccessRule::Key(name("xfr")),
            AccessRule::Subnet("192.0.2.0/24".parse().unwrap()),
        ],
        update: vec![UpdateRule {
            key: None,
            subnet: Some("192.0.2.0/24".parse().unwrap()),
            names: Vec::new(),
            types: vec![Rtype::A],
        }],
        ..ZoneAccess::default()
    };
    DnsService::new(
        keys,
        vec![(name("dyn.example"), access)],
        Arc::new(Steps::new()),
        updater,
    )
}

fn query(qtype: RecordType, opcode: OpCode, client_serial: Option<u32>) -> Vec<u8> {
    let mut m = Message::new(0x4242, MessageType::Query, opcode);
    m.add_query(Query::query(
        Name::from_ascii("dyn.example.").unwrap(),
        qtype,
    ));
    let mut edns = hickory_proto::op::Edns::new();
    edns.set_max_payload(1232);
    m.set_edns(edns);
    if let Some(serial) = client_serial {
        let soa = SOA::new(
            Name::from_ascii("ns1.dyn.example.").unwrap(),
            Name::from_ascii("hostmaster.dyn.example.").unwrap(),
            serial,
            3600,
            600,
            1_209_600,
            60,
        );
        m.add_authority(Record::from_rdata(
            Name::from_ascii("dyn.example.").unwrap(),
            3600,
            RData::SOA(soa),
        ));
    }
    m.to_vec().unwrap()
}

async fn run(
    service: &DnsService,
    zones: &ZoneSet,
    message: &[u8],
    peer: &str,
    transport: Transport,
) -> Vec<Vec<u8>> {
    let request = Request {
        message,
        peer: peer.parse().unwrap(),
        transport,
    };
    let mut sink = Collect::default();
    service
        .handle(zones, &request, 1232, &mut sink)
        .await
        .unwrap();
    sink.0
}

fn parse(messages: &[Vec<u8>]) -> Vec<Message> {
    messages
        .iter()
        .map(|m| Message::from_vec(m).unwrap())
        .collect()
}

fn records(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .flat_map(|m| m.answers.iter())
        .map(|r| format!("{} {} {}", r.name, r.record_type(), r.data))
        .collect()
}

#[tokio::test]
async fn axfr_by_subnet_or_key_refused_otherwise_in_many_messages() {
    let zones = ZoneSet::new(vec![Arc::new(zone(3000))]);
    let service = service(None);
    let axfr = query(RecordType::AXFR, OpCode::Query, None);

    let refused = parse(&run(&service, &zones, &axfr, "203.0.113.1:5000", Transport::Tcp).await);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].metadata.response_code, ResponseCode::Refused);

    let udp = parse(&run(&service, &zones, &axfr, "192.0.2.9:5000", Transport::Udp).await);
    assert_eq!(udp[0].metadata.response_code, ResponseCode::NotImp);

    let messages = parse(&run(&service, &zones, &axfr, "192.0.2.9:5000", Transport::Tcp).await);
    assert!(messages.len() > 3, "3000 hosts take several messages");
    let all = records(&messages);
    // SOA first and last, every host once, the apex NS-less zone has nothing else.
    assert_eq!(all.len(), 3000 + 2);
    assert!(all[0].contains("SOA") && all[all.len() - 1].contains("SOA"));
    assert!(all.iter().any(|r| r == "h2999.dyn.example. A 10.0.11.183"));
    for m in &messages {
        assert!(m.metadata.authoritative);
        assert_eq!(m.queries.len(), 1, "each message repeats the question");
        assert!(m.answers.len() < 3000);
    }
}

#[tokio::test]
async fn signed_axfr_signs_every_message_and_bad_keys_get_notauth() {
    let zones = ZoneSet::new(vec![Arc::new(zone(2000))]);
    let service = service(None);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut axfr = query(RecordType::AXFR, OpCode::Query, None);
    let mac = tsig::sign_request(&key(), &mut axfr, now, 300).unwrap();
    let messages = run(&service, &zones, &axfr, "203.0.113.1:5000", Transport::Tcp).await;
    assert!(messages.len() > 1);
    let key = key();
    let mut verifier = StreamVerifier::new(&key, &mac);
    for m in &messages {
        assert!(verifier.verify(m, now).unwrap().signed);
    }
    verifier.finish().unwrap();

    let other = Key::new(&name("other"), Algorithm::HmacSha256, SECRET).unwrap();
    let mut bad = query(RecordType::AXFR, OpCode::Query, None);
    tsig::sign_request(&other, &mut bad, now, 300).unwrap();
    let answer = parse(&run(&service, &zones, &bad, "192.0.2.9:5000", Transport::Tcp).await);
    assert_eq!(answer.len(), 1);
    assert_eq!(answer[0].metadata.response_code, ResponseCode::NotAuth);
    assert!(answer[0].answers.is_empty());
}

#[tokio::test]
async fn ixfr_from_the_history_single_soa_or_whole_zone() {
    let zones = ZoneSet::new(vec![Arc::new(zone(3))]);
    let service = service(None);
    let peer = "192.0.2.9:5000";

    let current = query(RecordType::IXFR, OpCode::Query, Some(12));
    let up_to_date = parse(&run(&service, &zones, &current, peer, Transport::Udp).await);
    assert_eq!(
        records(&up_to_date).len(),
        1,
        "a client at our serial gets one SOA"
    );

    let behind = query(RecordType::IXFR, OpCode::Query, Some(10));
    let messages = parse(&run(&service, &zones, &behind, peer, Transport::Tcp).await);
    let got = records(&messages);
    let serials: Vec<&str> = got
        .iter()
        .filter(|r| r.contains(" SOA "))
        .map(|r| r.split_whitespace().nth(4).unwrap())
        .collect();
    // RFC 1995 §4: current SOA, then (old SOA, deletions, new SOA, additions) per step.
    assert_eq!(serials, ["12", "10", "11", "11", "12", "12"]);
    assert!(got.contains(&"h0.dyn.example. A 192.0.2.1".to_owned()));
    assert!(got.contains(&"h1.dyn.example. A 10.0.0.1".to_owned()));
    assert_eq!(got.len(), 6 + 4);

    // Over UDP the same answer fits in one datagram.
    let udp = parse(&run(&service, &zones, &behind, peer, Transport::Udp).await);
    assert_eq!(records(&udp), got);

    // An unknown serial gets the whole zone, AXFR-style; over UDP 100 hosts do not fit.
    let unknown = query(RecordType::IXFR, OpCode::Query, Some(3));
    let full = records(&parse(
        &run(&service, &zones, &unknown, peer, Transport::Tcp).await,
    ));
    assert_eq!(full.len(), 3 + 2);
    let big = ZoneSet::new(vec![Arc::new(zone(100))]);
    let truncated = parse(&run(&service, &big, &unknown, peer, Transport::Udp).await);
    assert!(truncated[0].metadata.truncation);
    assert!(truncated[0].answers.is_empty());

    // No SOA in the authority section: FORMERR (RFC 1995 §3).
    let bare = query(RecordType::IXFR, OpCode::Query, None);
    let formerr = parse(&run(&service, &zones, &bare, peer, Transport::Tcp).await);
    assert_eq!(formerr[0].metadata.response_code, ResponseCode::FormErr);
}

/// The write path's place, recording what it was handed.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, usize)>>);

impl Updater for Recorder {
    fn update<'a>(
        &'a self,
        request: UpdateRequest<'a>,
    ) -> Pin<Box<dyn Future<Output = Rcode> + Send + 'a>> {
        let permitted = request.rule.permits(&name("pc.dyn.example"), Rtype::A);
        self.0
            .lock()
            .unwrap()
            .push((request.requester.clone(), request.message.len()));
        Box::pin(async move {
            if permitted {
                Rcode::NOERROR
            } else {
                Rcode::REFUSED
            }
        })
    }
}

#[tokio::test]
async fn updates_go_to_the_write_path_only_with_a_matching_rule() {
    let zones = ZoneSet::new(vec![Arc::new(zone(1))]);
    let recorder = Arc::new(Recorder::default());
    let service = service(Some(Arc::clone(&recorder) as Arc<dyn Updater>));
    let update = query(RecordType::SOA, OpCode::Update, None);

    let lan = parse(&run(&service, &zones, &update, "192.0.2.77:5000", Transport::Udp).await);
    assert_eq!(lan[0].metadata.response_code, ResponseCode::NoError);
    assert_eq!(lan[0].metadata.op_code, OpCode::Update);
    let wan = parse(
        &run(
            &service,
            &zones,
            &update,
            "198.51.100.1:5000",
            Transport::Udp,
        )
        .await,
    );
    assert_eq!(wan[0].metadata.response_code, ResponseCode::Refused);
    assert_eq!(
        *recorder.0.lock().unwrap(),
        [("subnet:192.0.2.77".to_owned(), update.len())]
    );

    let mut elsewhere = Message::new(7, MessageType::Query, OpCode::Update);
    elsewhere.add_query(Query::query(
        Name::from_ascii("example.net.").unwrap(),
        RecordType::SOA,
    ));
    let notauth = parse(
        &run(
            &service,
            &zones,
            &elsewhere.to_vec().unwrap(),
            "192.0.2.77:5000",
            Transport::Udp,
        )
        .await,
    );
    assert_eq!(notauth[0].metadata.response_code, ResponseCode::NotAuth);
}
