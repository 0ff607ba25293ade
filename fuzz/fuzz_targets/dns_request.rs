//! The DNS request path: any datagram or TCP message through `respond` over a small zone set
//! (CNAME chains, wildcards, a delegation with glue, MX, SRV, a large TXT set), over UDP and
//! TCP; what the fast path defers (signed messages, AXFR/IXFR, UPDATE) goes through
//! `DnsService::handle` with a service that knows one TSIG key and allows transfers.
//! Answers must say their own size and, over UDP, fit the size the client can take.

#![no_main]

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use ddns_core::snapshot::{SoaParams, Zone, ZoneSet};
use ddns_core::zone_text::{into_changes, parse_zone_text};
use ddns_core::{DomainName, Serial};
use ddns_dns::access::{AccessRule, ZoneAccess};
use ddns_dns::tsig::{Algorithm, Key, KeyRing};
use ddns_dns::{DnsService, MessageSink, Request, Transport, respond};
use libfuzzer_sys::fuzz_target;

const ZONE: &str = r#"
@        NS    ns1
ns1      A     192.0.2.53
ns1      AAAA  2001:db8::53
host     A     192.0.2.1
host     AAAA  2001:db8::1
www      CNAME host
alias    CNAME www
loop1    CNAME loop2
loop2    CNAME loop1
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

/// The fuzz TSIG key (`fuzz-key.`, hmac-sha256), the one the seed corpus is signed with.
const KEY_SECRET: &str = "ZnV6ei1rZXktZnV6ei1rZXktZnV6ei1rZXktZnV6ei0=";

fn name(text: &str) -> DomainName {
    DomainName::parse(text).unwrap_or_else(|_| unreachable!())
}

fn zones() -> ZoneSet {
    let origin = name("dyn.example");
    let soa = SoaParams {
        mname: name("ns1.dyn.example"),
        rname: name("hostmaster.dyn.example"),
        refresh: 3600,
        retry: 600,
        expire: 1_209_600,
        minimum: 60,
        ttl: 3600,
    };
    let mut zone = Zone::new(origin.clone(), soa, Serial(2026_12_03_01));
    let mut text = ZONE.to_owned();
    for i in 0..30 {
        text.push_str(&format!("big TXT \"{}-{i:02}\"\n", "x".repeat(200)));
    }
    let records = parse_zone_text(&origin, &text, 300).unwrap_or_else(|_| unreachable!());
    for change in into_changes(&records, false) {
        let _ = zone.apply(change);
    }
    ZoneSet::new(vec![Arc::new(zone)])
}

fn service() -> DnsService {
    let mut keys = KeyRing::new();
    let key = Key::new(&name("fuzz-key"), Algorithm::HmacSha256, KEY_SECRET)
        .unwrap_or_else(|_| unreachable!());
    let _ = keys.insert(key);
    let access = ZoneAccess {
        allow_transfer: vec![AccessRule::Subnet(
            "0.0.0.0/0".parse().unwrap_or_else(|_| unreachable!()),
        )],
        ..ZoneAccess::default()
    };
    DnsService::new(
        keys,
        vec![(name("dyn.example"), access)],
        Arc::new(ddns_core::journal::NoHistory),
        None,
    )
}

/// Collects what the service sends.
struct Sink {
    messages: usize,
    largest: usize,
}

impl MessageSink for Sink {
    async fn send(&mut self, message: &[u8]) -> io::Result<()> {
        self.messages += 1;
        self.largest = self.largest.max(message.len());
        Ok(())
    }
}

/// Runs a future that never waits on anything outside itself (the sink answers at once).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

static STATE: OnceLock<(ZoneSet, DnsService)> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let (zones, service) = STATE.get_or_init(|| (zones(), service()));
    let mut out = Vec::with_capacity(1500);
    for transport in [Transport::Udp, Transport::Tcp] {
        let request = Request {
            message: data,
            peer: "192.0.2.200:5353"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
            transport,
        };
        let outcome = respond(zones, &request, 1232, &mut out);
        if outcome.replies() {
            assert_eq!(
                outcome.len,
                out.len(),
                "the outcome tells the response size"
            );
            assert!(out.len() >= 12, "a reply has a header");
            if transport == Transport::Udp {
                assert!(out.len() <= 1232, "UDP answer of {} octets", out.len());
            }
        } else if outcome.deferred_to_service() {
            let mut sink = Sink {
                messages: 0,
                largest: 0,
            };
            let handled = block_on(service.handle(zones, &request, 1232, &mut sink));
            if let Ok(outcome) = handled
                && outcome.replies()
            {
                assert!(sink.messages >= 1, "a reply was sent");
            }
            assert!(sink.largest <= usize::from(u16::MAX));
        }
    }
});
