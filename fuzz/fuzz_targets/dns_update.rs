//! RFC 2136 UPDATE and TSIG (RFC 8945): any message through TSIG verification against a ring
//! with one key (the seeds are signed with it, at the time this target checks them at), then
//! the UPDATE parser and prescan, and what parses through the prerequisite check and the
//! update plan against a small zone.

#![no_main]

use std::sync::OnceLock;

use ddns_core::dns_update::{check_prerequisites, parse_update, plan_updates};
use ddns_core::snapshot::{SoaParams, Zone};
use ddns_core::zone_text::{into_changes, parse_zone_text};
use ddns_core::{DomainName, Serial};
use ddns_dns::tsig::{Algorithm, Key, KeyRing, Verified, verify_request};
use libfuzzer_sys::fuzz_target;

const KEY_SECRET: &str = "ZnV6ei1rZXktZnV6ei1rZXktZnV6ei1rZXktZnV6ei0=";
/// The time the seed corpus was signed at (2026-01-01T00:00:00Z).
const NOW: u64 = 1_767_225_600;

const ZONE: &str = r#"
@        NS    ns1
ns1      A     192.0.2.53
host     A     192.0.2.1
host     AAAA  2001:db8::1
host     TXT   "v=1"
www      CNAME host
sub      NS    ns.sub
ns.sub   A     192.0.2.54
"#;

fn name(text: &str) -> DomainName {
    DomainName::parse(text).unwrap_or_else(|_| unreachable!())
}

fn keys() -> KeyRing {
    let mut keys = KeyRing::new();
    let key = Key::new(&name("fuzz-key"), Algorithm::HmacSha256, KEY_SECRET)
        .unwrap_or_else(|_| unreachable!());
    let _ = keys.insert(key);
    keys
}

fn zone() -> Zone {
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
    let mut zone = Zone::new(origin.clone(), soa, Serial(7));
    let records = parse_zone_text(&origin, ZONE, 300).unwrap_or_else(|_| unreachable!());
    for change in into_changes(&records, true) {
        let _ = zone.apply(change);
    }
    zone
}

static STATE: OnceLock<(KeyRing, Zone)> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let (keys, zone) = STATE.get_or_init(|| (keys(), zone()));
    let message_len = match verify_request(keys, data, NOW) {
        Verified::Valid(signed) => signed.message_len,
        Verified::Unsigned | Verified::Failed(_) => data.len(),
    };
    assert!(message_len <= data.len());
    if let Ok(update) = parse_update(data, message_len)
        && update.zone == *zone.origin()
        && check_prerequisites(zone, &update.prerequisites).is_ok()
    {
        let _ = plan_updates(zone, &update.updates);
    }
});
