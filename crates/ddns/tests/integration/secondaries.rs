//! ddns as a hidden primary: a real BIND 9, Knot DNS and NSD pull the zone with TSIG on
//! loopback high ports, follow every HTTP update through NOTIFY within 5 s, and BIND and Knot
//! say in their logs that the second change came by IXFR. dig and kdig transfers parse and
//! match the zone.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{RecordType, ServerProcess, bin, dns, http};

const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0";
const ZONE: &str = "dyn.example.com";

/// `n` different ports free for UDP and TCP on 127.0.0.1 right now (each held until all are
/// found, so none is handed out twice).
pub(crate) fn free_ports(n: usize) -> Vec<u16> {
    let mut held = Vec::new();
    while held.len() < n {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            held.push((port, udp, tcp));
        }
    }
    held.into_iter().map(|(port, _, _)| port).collect()
}

/// A secondary server process, killed on drop.
pub(crate) struct Peer {
    name: &'static str,
    child: Child,
    pub(crate) addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the peer serves `name` with `want` (A records), or panics after `limit`.
    pub(crate) fn wait_for(&self, name: &str, want: &str, limit: Duration) -> Duration {
        let start = Instant::now();
        loop {
            let answer = dns::udp_raw(self.addr, &dns::query(name, RecordType::A, true))
                .and_then(|r| hickory_proto::op::Message::from_vec(&r).ok())
                .map(|m| dns::answers(&m, RecordType::A))
                .unwrap_or_default();
            if answer.iter().any(|a| a == want) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < limit,
                "{} does not serve {name} {want} after {limit:?} (answers {answer:?}); its log:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

pub(crate) fn program(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin"] {
        let path = Path::new(dir).join(name);
        if path.exists() {
            return path;
        }
    }
    panic!("{name} is not installed: scripts/test.sh installs knot, bind9 and nsd");
}

pub(crate) fn spawn(
    name: &'static str,
    cmd: &mut Command,
    addr: SocketAddr,
    log: PathBuf,
    dir: tempfile::TempDir,
) -> Peer {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    Peer {
        name,
        child,
        addr,
        log,
        _dir: dir,
    }
}

fn knot(primary: u16, port: u16) -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let conf = format!(
        "server:\n    listen: 127.0.0.1@{port}\n    rundir: {d}\nlog:\n  - target: {d}/knot.log\n    any: info\n\
key:\n  - id: xfr\n    algorithm: hmac-sha256\n    secret: {SECRET}\n\
remote:\n  - id: primary\n    address: 127.0.0.1@{primary}\n    key: xfr\n\
acl:\n  - id: notify_from_primary\n    address: 127.0.0.1\n    key: xfr\n    action: notify\n\
template:\n  - id: default\n    storage: {d}\n\
zone:\n  - domain: {ZONE}\n    master: primary\n    acl: notify_from_primary\n"
    );
    let path = dir.path().join("knot.conf");
    std::fs::write(&path, conf).unwrap();
    let log = dir.path().join("knot.log");
    let mut cmd = Command::new(program("knotd"));
    cmd.arg("-c").arg(&path);
    spawn("Knot", &mut cmd, ([127, 0, 0, 1], port).into(), log, dir)
}

fn bind9(primary: u16, port: u16) -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let conf = format!(
        r#"options {{ directory "{d}"; listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};
  pid-file "{d}/named.pid"; recursion no; dnssec-validation no; notify no; }};
key "xfr" {{ algorithm hmac-sha256; secret "{SECRET}"; }};
logging {{ channel x {{ file "{d}/named.log"; severity debug 3; print-time yes; }};
  category default {{ x; }}; category xfer-in {{ x; }}; category notify {{ x; }}; }};
controls {{ }};
zone "{ZONE}" {{ type secondary; primaries port {primary} {{ 127.0.0.1 key xfr; }}; file "dyn.db"; }};
"#
    );
    let path = dir.path().join("named.conf");
    std::fs::write(&path, conf).unwrap();
    let log = dir.path().join("named.log");
    let mut cmd = Command::new(program("named"));
    cmd.arg("-f").arg("-c").arg(&path);
    if nix_is_root() {
        cmd.args(["-u", "root"]);
    }
    spawn("BIND", &mut cmd, ([127, 0, 0, 1], port).into(), log, dir)
}

fn nsd(primary: u16, port: u16) -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let conf = format!(
        "server:\n    ip-address: 127.0.0.1@{port}\n    port: {port}\n    username: \"\"\n    chroot: \"\"\n\
    zonesdir: \"{d}\"\n    database: \"\"\n    pidfile: \"{d}/nsd.pid\"\n    xfrdfile: \"{d}/xfrd.state\"\n\
    zonelistfile: \"{d}/zone.list\"\n    logfile: \"{d}/nsd.log\"\n    verbosity: 2\n    xfrd-reload-timeout: 0\n\
remote-control:\n    control-enable: no\n\
key:\n    name: \"xfr\"\n    algorithm: hmac-sha256\n    secret: \"{SECRET}\"\n\
zone:\n    name: \"{ZONE}\"\n    zonefile: \"dyn.zone\"\n    allow-notify: 127.0.0.1 xfr\n    request-xfr: 127.0.0.1@{primary} xfr\n"
    );
    let path = dir.path().join("nsd.conf");
    std::fs::write(&path, conf).unwrap();
    let log = dir.path().join("nsd.log");
    let mut cmd = Command::new(program("nsd"));
    cmd.arg("-d").arg("-c").arg(&path);
    spawn("NSD", &mut cmd, ([127, 0, 0, 1], port).into(), log, dir)
}

pub(crate) fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"))
}

/// A primary on a port chosen here (the secondaries need it before it starts).
fn primary(port: u16, notify: &[SocketAddr]) -> (tempfile::TempDir, ServerProcess) {
    let dir = tempfile::tempdir().unwrap();
    let notify: Vec<String> = notify.iter().map(|a| format!("\"{a}\"")).collect();
    let toml = format!(
        r#"version = 1
[[tsig_key]]
name = "xfr"
algorithm = "hmac-sha256"
secret = "{SECRET}"
[[zone]]
name = "{ZONE}"
allow_transfer = ["key:xfr"]
notify = [{}]
records = ["www 300 A 192.0.2.1", "@ MX 10 mail", "mail A 192.0.2.2", "_smb._tcp SRV 0 5 445 files", "@ TXT \"v=spf1 -all\""]
"#,
        notify.join(", ")
    );
    let path = dir.path().join("ddns.toml");
    std::fs::write(&path, toml).unwrap();
    let data = dir.path().join("data");
    let listen = format!("127.0.0.1:{port}");
    let args = ["--config", path.to_str().unwrap(), "--dns-listen", &listen];
    let server = ServerProcess::start_in(bin(), &data, &args);
    (dir, server)
}

async fn update(server: &ServerProcess, token: &str, ip: &str) {
    let body = http()
        .get(server.url(&format!("/nic/update?hostname=home.{ZONE}&myip={ip}")))
        .basic_auth("user", Some(token))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, format!("good {ip}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bind_knot_and_nsd_follow_updates_by_notify_and_ixfr() {
    let ports = free_ports(4);
    let port = ports[3];
    let addrs: Vec<SocketAddr> = ports.iter().map(|&p| ([127, 0, 0, 1], p).into()).collect();
    // The primary first, so each secondary's first refresh finds it (BIND backs off for
    // minutes after a refused first try); its first NOTIFYs are retried until they listen.
    let (_dir, server) = primary(port, &addrs);
    let peers = [
        knot(port, ports[0]),
        bind9(port, ports[1]),
        nsd(port, ports[2]),
    ];
    for peer in &peers {
        peer.wait_for(
            &format!("www.{ZONE}."),
            "192.0.2.1",
            Duration::from_secs(30),
        );
    }
    let token = server.token(&[&format!("home.{ZONE}")]);

    for ip in ["198.51.100.1", "198.51.100.2"] {
        update(&server, &token, ip).await;
        let mut slowest = Duration::ZERO;
        for peer in &peers {
            let took = peer.wait_for(&format!("home.{ZONE}."), ip, Duration::from_secs(5));
            slowest = slowest.max(took);
        }
        println!("update to {ip}: on every secondary within {slowest:?}");
    }

    let knot_log = peers[0].log();
    assert!(
        knot_log.contains("IXFR, incoming") && knot_log.contains("finished"),
        "Knot did not take the change by IXFR:\n{knot_log}"
    );
    let bind_log = peers[1].log();
    assert!(
        bind_log.contains("got incremental response"),
        "BIND did not take the change by IXFR:\n{bind_log}"
    );
    let nsd_log = peers[2].log();
    assert!(
        nsd_log.contains("TSIG verified with key xfr"),
        "NSD did not verify the transfer's TSIG:\n{nsd_log}"
    );
    // Every secondary has the primary's serial.
    let serial = dns::soa_serial(&dns::udp(server.dns, &format!("{ZONE}."), RecordType::SOA));
    for peer in &peers {
        let theirs = dns::soa_serial(&dns::udp(peer.addr, &format!("{ZONE}."), RecordType::SOA));
        assert_eq!(theirs, serial, "{} serial", peer.name);
    }
}

/// The records of dig/kdig transfer output: `name ttl class type rdata`, comments and the
/// TSIG pseudo-record left out, whitespace normalised.
fn transfer_records(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.contains(" TSIG "))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn dig_and_kdig_transfers_parse_and_match_the_zone() {
    let port = free_ports(1)[0];
    let (_dir, server) = primary(port, &[]);
    let token = server.token(&[&format!("home.{ZONE}")]);
    let before =
        dns::soa_serial(&dns::udp(server.dns, &format!("{ZONE}."), RecordType::SOA)).unwrap();
    update(&server, &token, "198.51.100.7").await;
    let after =
        dns::soa_serial(&dns::udp(server.dns, &format!("{ZONE}."), RecordType::SOA)).unwrap();
    let at = format!("@{}", server.dns.ip());
    let port_arg = server.dns.port().to_string();
    let key = format!("hmac-sha256:xfr:{SECRET}");

    let axfr = crate::common::run_tool("dig", &[&at, "-p", &port_arg, "-y", &key, ZONE, "AXFR"]);
    let records = transfer_records(&axfr);
    let soa =
        format!("{ZONE}. 3600 IN SOA ns1.{ZONE}. hostmaster.{ZONE}. {after} 3600 600 1209600 60");
    assert_eq!(records.first(), Some(&soa), "{axfr}");
    assert_eq!(records.last(), Some(&soa), "{axfr}");
    let mut body: Vec<&str> = records[1..records.len() - 1]
        .iter()
        .map(String::as_str)
        .collect();
    body.sort_unstable();
    let expected_home = format!("home.{ZONE}. 60 IN A 198.51.100.7");
    let mut expected = vec![
        format!("{ZONE}. 3600 IN NS ns1.{ZONE}."),
        format!("{ZONE}. 3600 IN MX 10 mail.{ZONE}."),
        format!("{ZONE}. 3600 IN TXT \"v=spf1 -all\""),
        format!("_smb._tcp.{ZONE}. 3600 IN SRV 0 5 445 files.{ZONE}."),
        expected_home.clone(),
        format!("mail.{ZONE}. 3600 IN A 192.0.2.2"),
        format!("www.{ZONE}. 300 IN A 192.0.2.1"),
    ];
    expected.sort_unstable();
    assert_eq!(body, expected, "{axfr}");

    let ixfr = crate::common::run_tool(
        "kdig",
        &[
            &at,
            "-p",
            &port_arg,
            "-y",
            &key,
            ZONE,
            &format!("IXFR={before}"),
        ],
    );
    let records = transfer_records(&ixfr);
    let serials: Vec<&str> = records
        .iter()
        .filter(|r| r.contains(" SOA "))
        .map(|r| r.split(' ').nth(6).unwrap())
        .collect();
    let (b, a) = (before.to_string(), after.to_string());
    assert_eq!(serials, [&a, &b, &a, &a], "{ixfr}");
    assert_eq!(records.len(), 5, "{ixfr}");
    assert!(records.contains(&expected_home), "{ixfr}");

    // Unsigned, or signed with a key the server does not know: no transfer.
    let unsigned = crate::common::run_tool("dig", &[&at, "-p", &port_arg, ZONE, "AXFR"]);
    assert!(unsigned.contains("Transfer failed"), "{unsigned}");
    let wrong = format!("hmac-sha256:other:{SECRET}");
    let bad = crate::common::run_tool("dig", &[&at, "-p", &port_arg, "-y", &wrong, ZONE, "AXFR"]);
    assert!(!bad.contains(&expected_home), "{bad}");
}
