//! The listeners through real sockets on loopback: UDP answered by every worker, deferred UDP
//! requests answered from the service, TCP beside it, and a shutdown that closes the sockets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use ddns_core::journal::{JournalEntry, ZoneHistory};
use ddns_core::snapshot::{Rrset, RrsetChange, SoaParams, Zone, ZoneSet};
use ddns_core::{DomainName, RecordSet, Rtype, Serial};
use ddns_dns::access::ZoneAccess;
use ddns_dns::metrics::{DnsMetrics, LATENCY_BOUNDS_NS, qtype_label, rcode_label};
use ddns_dns::rrl::RrlSettings;
use ddns_dns::tsig::KeyRing;
use ddns_dns::{DnsListeners, DnsService, DnsSettings};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct NoHistory;

impl ZoneHistory for NoHistory {
    fn steps(&self, _: &DomainName, _: Serial, _: Serial) -> Option<Vec<Arc<JournalEntry>>> {
        None
    }
}

fn name(text: &str) -> DomainName {
    DomainName::parse(text).unwrap()
}

fn zones(hosts: u8) -> Arc<ArcSwap<ZoneSet>> {
    let soa = SoaParams {
        mname: name("ns1.dyn.example"),
        rname: name("hostmaster.dyn.example"),
        refresh: 3600,
        retry: 600,
        expire: 1_209_600,
        minimum: 60,
        ttl: 3600,
    };
    let mut zone = Zone::new(name("dyn.example"), soa, Serial(7));
    for i in 0..hosts {
        let set = RecordSet::ipv4(60, &[[10, 0, 0, i].into()]).unwrap();
        zone.apply(RrsetChange {
            owner: name(&format!("h{i}.dyn.example")).to_wire().into(),
            rtype: Rtype::A,
            rrset: Some(Rrset::from_set(&set, true)),
        })
        .unwrap();
    }
    Arc::new(ArcSwap::from_pointee(ZoneSet::new(vec![Arc::new(zone)])))
}

fn settings() -> DnsSettings {
    DnsSettings {
        udp_payload: 1232,
        tcp_idle_timeout: Duration::from_secs(5),
        max_tcp_connections: 16,
        udp_workers: 3,
        tcp_write_timeout: Duration::from_secs(5),
        max_tcp_connections_per_ip: 16,
        rrl: RrlSettings::off(),
        metrics: None,
    }
}

fn query(id: u16, qname: &str, qtype: RecordType, opcode: OpCode) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, opcode);
    m.add_query(Query::query(Name::from_ascii(qname).unwrap(), qtype));
    m.to_vec().unwrap()
}

fn ask_udp(client: &UdpSocket, server: SocketAddr, message: &[u8]) -> Message {
    client.send_to(message, server).unwrap();
    let mut buf = [0u8; 1500];
    let (len, from) = client.recv_from(&mut buf).unwrap();
    assert_eq!(from, server);
    Message::from_vec(&buf[..len]).unwrap()
}

fn client() -> UdpSocket {
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_workers_answer_tcp_beside_them_and_shutdown_closes_every_socket() {
    let listeners = DnsListeners::bind(&["127.0.0.1:0".parse().unwrap()]).unwrap();
    let server = listeners.local_addrs()[0];
    let service = DnsService::new(
        KeyRing::new(),
        vec![(name("dyn.example"), ZoneAccess::default())],
        Arc::new(NoHistory),
        None,
    );
    let serving = listeners
        .serve(zones(50), Arc::new(service), settings())
        .unwrap();

    // Many clients (source ports), so the kernel spreads them over the workers' sockets.
    let answers = tokio::task::spawn_blocking(move || {
        for c in 0..20u16 {
            let client = client();
            for i in 0..5u16 {
                let host = (c * 5 + i) % 50;
                let id = c * 100 + i;
                let qname = format!("h{host}.dyn.example.");
                let answer = ask_udp(
                    &client,
                    server,
                    &query(id, &qname, RecordType::A, OpCode::Query),
                );
                assert_eq!(answer.metadata.id, id);
                assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
                let RData::A(a) = &answer.answers[0].data else {
                    panic!("not an A record: {answer:?}");
                };
                assert_eq!(a.0.octets(), [10, 0, 0, u8::try_from(host).unwrap()]);
            }
        }
        // UPDATE is deferred to the service: answered (REFUSED, no update rules) from the
        // same address.
        let refused = ask_udp(
            &client(),
            server,
            &query(9, "dyn.example.", RecordType::SOA, OpCode::Update),
        );
        assert_eq!(refused.metadata.id, 9);
        refused.metadata.response_code
    });
    assert_ne!(answers.await.unwrap(), ResponseCode::NoError);

    let mut tcp = tokio::net::TcpStream::connect(server).await.unwrap();
    let message = query(77, "h3.dyn.example.", RecordType::A, OpCode::Query);
    let mut framed = u16::try_from(message.len()).unwrap().to_be_bytes().to_vec();
    framed.extend_from_slice(&message);
    tcp.write_all(&framed).await.unwrap();
    let len = tcp.read_u16().await.unwrap();
    let mut answer = vec![0u8; usize::from(len)];
    tcp.read_exact(&mut answer).await.unwrap();
    assert_eq!(Message::from_vec(&answer).unwrap().metadata.id, 77);
    drop(tcp);

    serving.shutdown().await;
    // Every UDP socket of the group is closed: the port can be bound without SO_REUSEPORT.
    UdpSocket::bind(server).unwrap();
    std::net::TcpListener::bind(server).unwrap();
}

/// What a flood of UDP queries got back: full answers, slipped (TC=1, empty) replies.
#[derive(Debug, Default)]
struct Flood {
    sent: usize,
    answered: usize,
    slipped: usize,
}

/// Sends the query for `qname` from `source` for `duration`, one every `gap`, while a
/// second thread counts what comes back (until 500 ms of silence after the last query).
fn flood(
    server: SocketAddr,
    source: &str,
    qname: &str,
    duration: Duration,
    gap: Duration,
) -> Flood {
    let socket = UdpSocket::bind((source, 0)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let reader = socket.try_clone().unwrap();
    let counter = std::thread::spawn(move || {
        let (mut answered, mut slipped) = (0, 0);
        let mut buf = [0u8; 1500];
        while let Ok((len, _)) = reader.recv_from(&mut buf) {
            let m = Message::from_vec(&buf[..len]).unwrap();
            if m.metadata.truncation {
                assert!(m.answers.is_empty() && m.additionals.is_empty(), "{m:?}");
                slipped += 1;
            } else {
                assert_eq!(m.answers.len(), 1, "{m:?}");
                answered += 1;
            }
        }
        (answered, slipped)
    });
    let message = query(1, qname, RecordType::A, OpCode::Query);
    let start = std::time::Instant::now();
    let mut sent = 0;
    while start.elapsed() < duration {
        socket.send_to(&message, server).unwrap();
        sent += 1;
        std::thread::sleep(gap);
    }
    let (answered, slipped) = counter.join().unwrap();
    Flood {
        sent,
        answered,
        slipped,
    }
}

/// A flood for one name from one source falls to the configured rate, every second limited
/// response slips (TC=1) and the rest are dropped; at the same time another network asking
/// for the same name, a whitelisted one flooding it, and TCP from the flooding source itself
/// are all answered in full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rrl_limits_a_flood_to_its_rate_with_slips_and_spares_everyone_else() {
    const RATE: usize = 10;
    let listeners = DnsListeners::bind(&["127.0.0.1:0".parse().unwrap()]).unwrap();
    let server = listeners.local_addrs()[0];
    let rrl = RrlSettings {
        rate: RATE as u32,
        slip: 2,
        table_size: 1021,
        whitelist: vec!["127.0.2.0/24".parse().unwrap()],
    };
    let metrics = Arc::new(DnsMetrics::new());
    let serving = listeners
        .serve(
            zones(5),
            Arc::new(DnsService::queries_only()),
            DnsSettings {
                rrl,
                metrics: Some(Arc::clone(&metrics)),
                ..settings()
            },
        )
        .unwrap();

    let attack = tokio::task::spawn_blocking(move || {
        flood(
            server,
            "127.0.0.1",
            "h1.dyn.example.",
            Duration::from_millis(2000),
            Duration::from_millis(2),
        )
    });
    // 127.0.0.2 is the flood's own /24: another network (127.0.1.0/24) is another flow.
    let neighbour = tokio::task::spawn_blocking(move || {
        let client = UdpSocket::bind("127.0.1.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        for i in 0..RATE as u16 {
            let answer = ask_udp(
                &client,
                server,
                &query(i, "h1.dyn.example.", RecordType::A, OpCode::Query),
            );
            assert!(!answer.metadata.truncation, "{answer:?}");
            assert_eq!(answer.answers.len(), 1);
            std::thread::sleep(Duration::from_millis(150));
        }
    });
    let whitelisted = tokio::task::spawn_blocking(move || {
        flood(
            server,
            "127.0.2.1",
            "h1.dyn.example.",
            Duration::from_millis(300),
            Duration::from_millis(3),
        )
    });

    // TCP from the flooding address: never limited.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut tcp = tokio::net::TcpStream::connect(server).await.unwrap();
    for id in 0..(3 * RATE as u16) {
        let message = query(id, "h1.dyn.example.", RecordType::A, OpCode::Query);
        let mut framed = u16::try_from(message.len()).unwrap().to_be_bytes().to_vec();
        framed.extend_from_slice(&message);
        tcp.write_all(&framed).await.unwrap();
        let len = tcp.read_u16().await.unwrap();
        let mut answer = vec![0u8; usize::from(len)];
        tcp.read_exact(&mut answer).await.unwrap();
        let answer = Message::from_vec(&answer).unwrap();
        assert_eq!((answer.metadata.id, answer.answers.len()), (id, 1));
    }

    let attack = attack.await.unwrap();
    neighbour.await.unwrap();
    let whitelisted = whitelisted.await.unwrap();
    serving.shutdown().await;
    println!("flood from one source: {attack:?}; whitelisted: {whitelisted:?}");
    let totals = metrics.totals();
    println!(
        "RRL counters: dropped {}, slipped {}",
        totals.udp.rrl_dropped, totals.udp.rrl_slipped
    );
    // What the client received is at most what the server sent (loopback may drop under load).
    assert!(
        totals.udp.rrl_slipped >= attack.slipped as u64,
        "{totals:?}"
    );
    assert!(totals.udp.rrl_dropped > 0, "{totals:?}");
    assert_eq!(totals.tcp.rrl_dropped + totals.tcp.rrl_slipped, 0);

    // Two seconds of flood touch two or three of the limiter's one-second windows (a fourth
    // if the server falls behind on a loaded machine), each answering up to RATE.
    assert!(attack.sent > 300, "{attack:?}");
    assert!(
        (2 * RATE..=4 * RATE).contains(&attack.answered),
        "{attack:?}"
    );
    // Every second limited response of a window slips (an odd count leaves one over).
    let limited = attack.sent - attack.answered;
    assert!(
        limited.abs_diff(2 * attack.slipped) <= 4,
        "every second limited response slips: {attack:?}"
    );
    assert_eq!(
        (whitelisted.answered, whitelisted.slipped),
        (whitelisted.sent, 0),
        "{whitelisted:?}"
    );
}

/// Key of the QTYPE/RCODE cell in a totals table.
fn cell(table: &[[u64; ddns_dns::metrics::RCODE_SLOTS]], qtype: &str, rcode: &str) -> u64 {
    let q = (0..table.len()).find(|&i| qtype_label(i) == qtype).unwrap();
    let r = (0..ddns_dns::metrics::RCODE_SLOTS)
        .find(|&i| rcode_label(i) == rcode)
        .unwrap();
    table[q][r]
}

/// Counters over real sockets: queries spread over the UDP workers sum to what was asked, by
/// QTYPE and RCODE, with a latency and a size for each; the deferred UPDATE and the TCP
/// queries are counted on their own transport, and the connection is open then closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_sum_over_workers_by_transport_qtype_and_rcode() {
    let listeners = DnsListeners::bind(&["127.0.0.1:0".parse().unwrap()]).unwrap();
    let server = listeners.local_addrs()[0];
    let service = DnsService::new(
        KeyRing::new(),
        vec![(name("dyn.example"), ZoneAccess::default())],
        Arc::new(NoHistory),
        None,
    );
    let metrics = Arc::new(DnsMetrics::new());
    let serving = listeners
        .serve(
            zones(5),
            Arc::new(service.with_metrics(Arc::clone(&metrics))),
            DnsSettings {
                metrics: Some(Arc::clone(&metrics)),
                ..settings()
            },
        )
        .unwrap();
    tokio::task::spawn_blocking(move || {
        for c in 0..10u16 {
            let client = client();
            for i in 0..3u16 {
                ask_udp(
                    &client,
                    server,
                    &query(c * 10 + i, "h1.dyn.example.", RecordType::A, OpCode::Query),
                );
            }
            let nx = ask_udp(
                &client,
                server,
                &query(c, "nope.dyn.example.", RecordType::AAAA, OpCode::Query),
            );
            assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
        }
        ask_udp(
            &client(),
            server,
            &query(9, "dyn.example.", RecordType::SOA, OpCode::Update),
        );
    })
    .await
    .unwrap();
    let mut tcp = tokio::net::TcpStream::connect(server).await.unwrap();
    for id in 0..2u16 {
        let message = query(id, "h2.dyn.example.", RecordType::TXT, OpCode::Query);
        let mut framed = u16::try_from(message.len()).unwrap().to_be_bytes().to_vec();
        framed.extend_from_slice(&message);
        tcp.write_all(&framed).await.unwrap();
        let len = tcp.read_u16().await.unwrap();
        let mut answer = vec![0u8; usize::from(len)];
        tcp.read_exact(&mut answer).await.unwrap();
    }
    let open = metrics.totals();
    drop(tcp);
    // The server notices the close when it reads the next length.
    let mut closed = metrics.totals();
    for _ in 0..50 {
        if closed.tcp_open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        closed = metrics.totals();
    }
    serving.shutdown().await;

    assert_eq!(cell(&open.udp.queries, "A", "NOERROR"), 30, "{open:?}");
    assert_eq!(cell(&open.udp.queries, "AAAA", "NXDOMAIN"), 10);
    // The UPDATE went to the service (no rule for 127.0.0.1: REFUSED).
    assert_eq!(cell(&open.udp.queries, "none", "REFUSED"), 1);
    assert_eq!(open.updates.iter().sum::<u64>(), 1);
    assert_eq!(cell(&open.tcp.queries, "TXT", "NOERROR"), 2);
    assert_eq!(open.udp.size.count(), 41);
    assert_eq!(open.udp.latency.count(), 41);
    assert!(
        open.udp.size.sum > 41 * 12,
        "every response has at least its header"
    );
    assert_eq!(open.tcp.latency.count(), 2);
    // A snapshot answer takes well under a second (the last bucket is above every bound).
    assert_eq!(open.udp.latency.buckets[LATENCY_BOUNDS_NS.len()], 0);
    assert_eq!((open.tcp_accepted, open.tcp_open), (1, 1));
    assert_eq!((closed.tcp_accepted, closed.tcp_open), (1, 0));
}
