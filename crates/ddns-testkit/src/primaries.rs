//! A real BIND 9 (`named`) and a real Knot DNS (`knotd`) as primaries of zone `example.com`
//! that take RFC 2136 UPDATE signed with TSIG, on loopback high ports, with the config, zone
//! and keys written here. One of each per test binary ([`Primary::bind9`], [`Primary::knot`]);
//! tests use distinct names in the zone.
//!
//! Keys: [`UPDATE_KEY`] may update any name of the zone; [`OTHER_KEY`] is known to the server
//! but granted nothing. Both are `hmac-sha256` with the secrets below.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use crate::dns;
use crate::tied::{Tied, free_port, program};

/// The zone both primaries serve.
pub const ZONE: &str = "example.com";
/// The key allowed to update the zone.
pub const UPDATE_KEY: &str = "ddns-key";
/// Its secret (base64).
pub const UPDATE_SECRET: &str = "ZGRucy10ZXN0LXVwZGF0ZS1rZXktc2VjcmV0LTEyMzQ1Ng==";
/// A key the servers know but do not let update anything.
pub const OTHER_KEY: &str = "other-key";
/// Its secret (base64).
pub const OTHER_SECRET: &str = "b3RoZXIta2V5LXdpdGgtbm8tZ3JhbnRzLWF0LWFsbC0xMjM=";

/// The zone's content: records the tests must find untouched after their updates.
pub const ZONE_TEXT: &str = "$ORIGIN example.com.
$TTL 300
@     SOA  ns1 hostmaster 1 3600 600 86400 60
@     NS   ns1
ns1   A    192.0.2.53
keep  A    192.0.2.100
keep  TXT  \"stay\"
both  A    192.0.2.10
both  AAAA 2001:db8::10
both  TXT  \"v=1\"
";

/// A running primary.
pub struct Primary {
    /// `BIND` or `Knot`.
    pub name: &'static str,
    /// Where it answers, UDP and TCP.
    pub addr: SocketAddr,
    log: PathBuf,
    _process: Tied,
}

impl Primary {
    /// The BIND 9 of this test binary.
    pub fn bind9() -> &'static Self {
        static BIND: OnceLock<Primary> = OnceLock::new();
        BIND.get_or_init(start_bind9)
    }

    /// The Knot DNS of this test binary.
    pub fn knot() -> &'static Self {
        static KNOT: OnceLock<Primary> = OnceLock::new();
        KNOT.get_or_init(start_knot)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The answer to a query for `name`.
    pub fn query(&self, name: &str, rtype: RecordType) -> Message {
        dns::udp(self.addr, &format!("{name}."), rtype)
    }

    /// The values of `name`'s records of `rtype`, sorted.
    pub fn values(&self, name: &str, rtype: RecordType) -> Vec<String> {
        let mut values = dns::answers(&self.query(name, rtype), rtype);
        values.sort();
        values
    }

    /// The TTL of `name`'s `rtype` records.
    pub fn ttl(&self, name: &str, rtype: RecordType) -> Option<u32> {
        self.query(name, rtype)
            .answers
            .iter()
            .find(|r| r.record_type() == rtype)
            .map(|r| r.ttl)
    }

    /// The zone's SOA serial.
    pub fn serial(&self) -> Option<u32> {
        dns::soa_serial(&self.query(ZONE, RecordType::SOA))
    }

    fn wait_ready(self) -> Self {
        let start = Instant::now();
        loop {
            let ready = dns::udp_raw(
                self.addr,
                &dns::query(&format!("{ZONE}."), RecordType::SOA, false),
            )
            .and_then(|r| Message::from_vec(&r).ok())
            .is_some_and(|m| m.authoritative && m.response_code == ResponseCode::NoError);
            if ready {
                return self;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{} did not serve {ZONE} on {}; its log:\n{}",
                self.name,
                self.addr,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn start_bind9() -> Primary {
    let dir = tempfile::tempdir().unwrap().keep();
    let d = dir.display();
    let port = free_port();
    std::fs::write(dir.join("example.com.db"), ZONE_TEXT).unwrap();
    let conf = format!(
        r#"options {{ directory "{d}"; listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};
  pid-file "{d}/named.pid"; recursion no; dnssec-validation no; notify no; }};
key "{UPDATE_KEY}" {{ algorithm hmac-sha256; secret "{UPDATE_SECRET}"; }};
key "{OTHER_KEY}" {{ algorithm hmac-sha256; secret "{OTHER_SECRET}"; }};
logging {{ channel x {{ file "{d}/named.log"; severity info; print-time yes; }};
  category default {{ x; }}; category update {{ x; }}; category update-security {{ x; }}; category security {{ x; }}; }};
controls {{ }};
zone "{ZONE}" {{ type primary; file "example.com.db"; update-policy {{ grant {UPDATE_KEY} zonesub ANY; }}; }};
"#
    );
    let path = dir.join("named.conf");
    std::fs::write(&path, conf).unwrap();
    let named = program("named", "scripts/test.sh installs bind9");
    let path_text = path.display().to_string();
    let mut args = vec!["-f", "-c", path_text.as_str()];
    if is_root() {
        args.extend(["-u", "root"]);
    }
    let log = dir.join("named.log");
    let process = Tied::spawn(&named, &args, &dir.join("named.out"), Some(&dir));
    Primary {
        name: "BIND",
        addr: ([127, 0, 0, 1], port).into(),
        log,
        _process: process,
    }
    .wait_ready()
}

/// Knot keeps its journal (the zone's changes) and timers in `database.storage`, by default
/// /var/lib/knot, where they would outlive the test and replay into the next run's zone; they
/// go into the peer's own directory instead.
fn start_knot() -> Primary {
    let dir = tempfile::tempdir().unwrap().keep();
    let d = dir.display();
    let port = free_port();
    std::fs::write(dir.join("example.com.zone"), ZONE_TEXT).unwrap();
    let conf = format!(
        "server:\n    listen: 127.0.0.1@{port}\n    rundir: {d}\n\
log:\n  - target: {d}/knot.log\n    any: info\n\
database:\n    storage: {d}\n\
key:\n  - id: {UPDATE_KEY}\n    algorithm: hmac-sha256\n    secret: {UPDATE_SECRET}\n\
\x20 - id: {OTHER_KEY}\n    algorithm: hmac-sha256\n    secret: {OTHER_SECRET}\n\
acl:\n  - id: update\n    key: {UPDATE_KEY}\n    action: update\n\
template:\n  - id: default\n    storage: {d}\n\
zone:\n  - domain: {ZONE}\n    file: example.com.zone\n    acl: update\n"
    );
    let path = dir.join("knot.conf");
    std::fs::write(&path, conf).unwrap();
    let knotd = program("knotd", "scripts/test.sh installs knot");
    let path_text = path.display().to_string();
    let log = dir.join("knot.log");
    let process = Tied::spawn(
        &knotd,
        &["-c", &path_text],
        &dir.join("knot.out"),
        Some(&dir),
    );
    Primary {
        name: "Knot",
        addr: ([127, 0, 0, 1], port).into(),
        log,
        _process: process,
    }
    .wait_ready()
}
