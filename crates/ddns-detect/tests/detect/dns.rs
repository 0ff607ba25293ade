//! The DNS source and `query_addresses` against a fake responder on loopback.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use ddns_detect::{DetectError, DnsService, Family, SourceSpec, query_addresses};
use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, TXT};
use hickory_proto::rr::{DNSClass, RData, Record, RecordType};

use crate::fakes::{dns_server, source};

const TIMEOUT: Duration = Duration::from_secs(2);

fn reply(
    query: &Message,
    rcode: ResponseCode,
    authoritative: bool,
    answers: Vec<RData>,
) -> Message {
    let mut m = Message::response(query.id, OpCode::Query);
    m.metadata.response_code = rcode;
    m.metadata.authoritative = authoritative;
    m.metadata.recursion_desired = query.recursion_desired;
    m.add_queries(query.queries.clone());
    let q = &query.queries[0];
    for data in answers {
        let mut r = Record::from_rdata(q.name().clone(), 60, data);
        r.dns_class = q.query_class();
        m.add_answer(r);
    }
    m
}

fn txt(s: &str) -> RData {
    RData::TXT(TXT::new(vec![s.to_owned()]))
}

/// Behaves like the public services, and refuses any query asking for recursion (every query
/// from ddns must have RD=0).
fn responder(query: &Message, over_tcp: bool) -> Vec<Message> {
    if query.recursion_desired {
        return vec![reply(query, ResponseCode::Refused, false, vec![])];
    }
    let q = &query.queries[0];
    let name = q.name().to_ascii();
    let (qtype, class) = (q.query_type(), q.query_class());
    let ok = |answers| vec![reply(query, ResponseCode::NoError, true, answers)];
    match (name.as_str(), qtype, class) {
        ("myip.opendns.com.", RecordType::A, DNSClass::IN) => {
            ok(vec![RData::A(A::new(203, 0, 113, 7))])
        }
        ("myip.opendns.com.", RecordType::AAAA, DNSClass::IN) => {
            ok(vec![RData::AAAA(AAAA("2001:db8::7".parse().unwrap()))])
        }
        ("whoami.cloudflare.", RecordType::TXT, DNSClass::CH) => ok(vec![txt("203.0.113.8")]),
        ("o-o.myaddr.l.google.com.", RecordType::TXT, DNSClass::IN) => ok(vec![
            txt("edns0-client-subnet 198.51.100.0/24"),
            txt("203.0.113.9"),
        ]),
        ("two.example.", RecordType::A, _) => ok(vec![
            RData::A(A::new(192, 0, 2, 1)),
            RData::A(A::new(192, 0, 2, 2)),
        ]),
        ("none.example.", _, _) => ok(vec![]),
        ("big.example.", RecordType::A, _) if !over_tcp => {
            let mut m = reply(query, ResponseCode::NoError, true, vec![]);
            m.metadata.truncation = true;
            vec![m]
        }
        ("big.example.", RecordType::A, _) => ok(vec![RData::A(A::new(192, 0, 2, 99))]),
        ("spoofed.example.", RecordType::A, _) => {
            // A forged answer with another ID arrives first and must be ignored.
            let mut forged = reply(
                query,
                ResponseCode::NoError,
                true,
                vec![RData::A(A::new(192, 0, 2, 66))],
            );
            forged.metadata.id = query.id.wrapping_add(1);
            let mut real = ok(vec![RData::A(A::new(192, 0, 2, 10))]);
            real.insert(0, forged);
            real
        }
        ("host.dyn.example.", RecordType::A, _) => ok(vec![
            RData::A(A::new(192, 0, 2, 20)),
            RData::A(A::new(192, 0, 2, 3)),
        ]),
        ("host.dyn.example.", RecordType::AAAA, _) => ok(vec![]),
        ("recursive.example.", _, _) => vec![reply(query, ResponseCode::NoError, false, vec![])],
        ("broken.example.", _, _) => vec![reply(query, ResponseCode::ServFail, true, vec![])],
        _ => vec![reply(query, ResponseCode::NXDomain, true, vec![])],
    }
}

fn preset(service: DnsService, server: SocketAddr) -> SourceSpec {
    SourceSpec::Dns {
        service: Some(service),
        name: None,
        qtype: None,
        class: None,
        server: Some(server.to_string()),
    }
}

fn custom(name: &str, server: SocketAddr) -> SourceSpec {
    SourceSpec::Dns {
        service: None,
        name: Some(name.to_owned()),
        qtype: None,
        class: None,
        server: Some(server.to_string()),
    }
}

#[tokio::test]
async fn presets() {
    let server = dns_server("127.0.0.1:0", responder).await;
    for (service, want) in [
        (DnsService::OpenDns, "203.0.113.7"),
        (DnsService::Cloudflare, "203.0.113.8"),
        (DnsService::Google, "203.0.113.9"),
    ] {
        let s = source(preset(service, server), Family::V4);
        assert_eq!(
            s.detect(Family::V4, TIMEOUT).await.unwrap().to_string(),
            want,
            "{service:?}"
        );
    }
    let server6 = dns_server("[::1]:0", responder).await;
    let s = source(preset(DnsService::OpenDns, server6), Family::V6);
    assert_eq!(
        s.detect(Family::V6, TIMEOUT).await.unwrap().to_string(),
        "2001:db8::7"
    );
    // Cloudflare's TXT holds an IPv4 address here, so an IPv6 detection finds none.
    let s = source(preset(DnsService::Cloudflare, server6), Family::V6);
    let e = s.detect(Family::V6, TIMEOUT).await.unwrap_err();
    assert_eq!(e.to_string(), "the TXT answer holds no IPv6 address");
}

#[tokio::test]
async fn failures() {
    let server = dns_server("127.0.0.1:0", responder).await;
    let detect = |name: &str| {
        let s = source(custom(name, server), Family::V4);
        async move { s.detect(Family::V4, TIMEOUT).await.unwrap_err() }
    };
    assert_eq!(
        detect("nx.example").await,
        DetectError::Dns(format!("{server} answered NXDOMAIN"))
    );
    assert_eq!(
        detect("broken.example").await,
        DetectError::Dns(format!("{server} answered SERVFAIL"))
    );
    assert_eq!(
        detect("two.example").await.to_string(),
        "the answer holds 2 different addresses: 192.0.2.1, 192.0.2.2"
    );
    assert_eq!(
        detect("none.example").await.to_string(),
        "the A answer holds no IPv4 address"
    );
}

#[tokio::test]
async fn truncated_answers_are_retried_over_tcp() {
    let server = dns_server("127.0.0.1:0", responder).await;
    let s = source(custom("big.example", server), Family::V4);
    assert_eq!(
        s.detect(Family::V4, TIMEOUT).await.unwrap().to_string(),
        "192.0.2.99"
    );
}

#[tokio::test]
async fn forged_ids_are_ignored() {
    let server = dns_server("127.0.0.1:0", responder).await;
    let s = source(custom("spoofed.example", server), Family::V4);
    assert_eq!(
        s.detect(Family::V4, TIMEOUT).await.unwrap().to_string(),
        "192.0.2.10"
    );
}

#[tokio::test]
async fn silent_server_times_out() {
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let server = silent.local_addr().unwrap();
    let s = source(preset(DnsService::OpenDns, server), Family::V4);
    let e = s
        .detect(Family::V4, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert_eq!(e, DetectError::Timeout(Duration::from_millis(200)));
    let e = query_addresses(
        server,
        "host.dyn.example",
        Family::V4,
        Duration::from_millis(200),
    )
    .await;
    assert_eq!(e, Err(DetectError::Timeout(Duration::from_millis(200))));
}

#[tokio::test]
async fn published_addresses() {
    let server = dns_server("127.0.0.1:0", responder).await;
    let got = query_addresses(server, "host.dyn.example", Family::V4, TIMEOUT)
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![Ipv4Addr::new(192, 0, 2, 3), Ipv4Addr::new(192, 0, 2, 20)]
    );
    let got = query_addresses(server, "host.dyn.example.", Family::V6, TIMEOUT)
        .await
        .unwrap();
    assert!(got.is_empty());
    let got = query_addresses(server, "gone.dyn.example", Family::V4, TIMEOUT)
        .await
        .unwrap();
    assert!(got.is_empty(), "authoritative NXDOMAIN is no addresses");
    let e = query_addresses(server, "recursive.example", Family::V4, TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{server} is not authoritative for recursive.example. (AA bit not set)")
    );
    let e = query_addresses(server, "broken.example", Family::V4, TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{server} answered SERVFAIL for broken.example.")
    );
    assert!(
        query_addresses(server, "bad..name", Family::V4, TIMEOUT)
            .await
            .is_err()
    );
}

/// A resolver's answers to recursive queries (what `lookup` sends): no AA bit.
fn resolver(query: &Message, over_tcp: bool) -> Vec<Message> {
    assert!(query.recursion_desired, "lookup asks with RD set");
    let q = &query.queries[0];
    let ok = |answers| vec![reply(query, ResponseCode::NoError, false, answers)];
    match (q.name().to_ascii().as_str(), q.query_type()) {
        ("files.example.", RecordType::A) if !over_tcp => {
            let mut m = reply(query, ResponseCode::NoError, false, vec![]);
            m.metadata.truncation = true;
            vec![m]
        }
        ("files.example.", RecordType::A) => ok(vec![
            RData::A(A::new(192, 0, 2, 9)),
            RData::A(A::new(192, 0, 2, 8)),
        ]),
        ("files.example.", _) | ("v4only.example.", RecordType::AAAA) => ok(vec![]),
        ("v4only.example.", _) => ok(vec![RData::A(A::new(192, 0, 2, 1))]),
        ("broken.example.", _) => vec![reply(query, ResponseCode::ServFail, false, vec![])],
        _ => vec![reply(query, ResponseCode::NXDomain, false, vec![])],
    }
}

#[tokio::test]
async fn lookups_tell_nxdomain_from_nodata() {
    use ddns_detect::{Lookup, lookup};
    let server = dns_server("127.0.0.1:0", resolver).await;
    // Truncated over UDP, answered over TCP.
    assert_eq!(
        lookup(server, "files.example", Family::V4, TIMEOUT).await,
        Ok(Lookup::Found(vec![
            Ipv4Addr::new(192, 0, 2, 8).into(),
            Ipv4Addr::new(192, 0, 2, 9).into()
        ]))
    );
    assert_eq!(
        lookup(server, "v4only.example", Family::V6, TIMEOUT).await,
        Ok(Lookup::NoData)
    );
    assert_eq!(
        lookup(server, "missing.example", Family::V4, TIMEOUT).await,
        Ok(Lookup::NxDomain)
    );
    let e = lookup(server, "broken.example", Family::V4, TIMEOUT)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("SERVFAIL"), "{e}");
}
