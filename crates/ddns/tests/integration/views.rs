//! Split-horizon views against a real server: queries from two loopback source addresses
//! (127.0.0.1 and 127.0.0.2; all of 127/8 is loopback on Linux) get their own answers, REST
//! and DynDNS2 set both values in one update, and two BIND secondaries, one pulling with the
//! view's TSIG key and one with another key, each transfer their own content.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::process::Command;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};

use crate::common::*;
use crate::secondaries::{Peer, free_ports, nix_is_root, program, spawn};

const ZONE: &str = "dyn.example.com";
const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0";
const LAN_SECRET: &str = "bGFuLXNlY3JldC1sYW4tc2VjcmV0LWxhbi1zZWNyZXQ=";
const LAN: &str = "127.0.0.2";

fn config(notify: &[SocketAddr]) -> String {
    let notify: Vec<String> = notify.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        r#"version = 1
[[tsig_key]]
name = "xfr"
secret = "{SECRET}"
[[tsig_key]]
name = "lan-xfr"
secret = "{LAN_SECRET}"
[[view]]
name = "lan"
match = ["10.0.0.0/8", "{LAN}/32"]
keys = ["lan-xfr"]
[[zone]]
name = "{ZONE}"
allow_transfer = ["key:xfr", "key:lan-xfr"]
notify = [{}]
records = ["www 300 A 192.0.2.1", "nas 300 A 192.0.2.50"]
"#,
        notify.join(", ")
    )
}

/// One query over UDP from the loopback address `from`.
fn query_from(from: &str, server: SocketAddr, name: &str, rtype: RecordType) -> Message {
    let socket = UdpSocket::bind((from.parse::<IpAddr>().unwrap(), 0)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    socket
        .send_to(&dns::query(name, rtype, true), server)
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let (len, _) = socket.recv_from(&mut buf).expect("no UDP reply");
    Message::from_vec(&buf[..len]).unwrap()
}

fn addresses(from: &str, server: &ServerProcess, name: &str, rtype: RecordType) -> Vec<String> {
    let mut out = dns::answers(&query_from(from, server.dns, name, rtype), rtype);
    out.sort();
    out
}

async fn rest(server: &ServerProcess, token: &str, body: serde_json::Value) -> serde_json::Value {
    let response = http()
        .post(server.url("/update"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{json}");
    json
}

#[tokio::test(flavor = "multi_thread")]
async fn two_source_addresses_get_their_views_and_updates_set_both() {
    let (_dir, server) = server_with_config(&config(&[]));
    let files = format!("files.{ZONE}.");
    let token = server.token(&[
        &format!("files.{ZONE}"),
        &format!("printer.{ZONE}"),
        &format!("alias.{ZONE}"),
    ]);

    // REST: the public address and the LAN view's two addresses in one request.
    let reply = rest(
        &server,
        &token,
        serde_json::json!({"domain": format!("files.{ZONE}"), "ip": "203.0.113.10",
                           "views": {"lan": "10.0.0.10,fd00::10"}}),
    )
    .await;
    assert_eq!(reply["changed"], true);
    assert_eq!(
        addresses("127.0.0.1", &server, &files, RecordType::A),
        ["203.0.113.10"]
    );
    assert_eq!(
        addresses(LAN, &server, &files, RecordType::A),
        ["10.0.0.10"]
    );
    assert_eq!(
        addresses(LAN, &server, &files, RecordType::AAAA),
        ["fd00::10"]
    );
    // The default has no AAAA: NODATA (NOERROR, empty answer, the SOA in authority).
    let nodata = query_from("127.0.0.1", server.dns, &files, RecordType::AAAA);
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
    assert_eq!(nodata.authorities.len(), 1);
    assert!(nodata.metadata.authoritative);
    // Names the view does not change are the default's everywhere.
    assert_eq!(
        addresses(LAN, &server, &format!("www.{ZONE}."), RecordType::A),
        ["192.0.2.1"]
    );

    // DynDNS2: the extension myip.VIEW beside an ordinary myip.
    let (status, body) = nic(
        &server,
        Some(&token),
        &format!("hostname=files.{ZONE}&myip=203.0.113.11&myip.lan=10.0.0.11"),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "good 203.0.113.11"));
    assert_eq!(
        addresses("127.0.0.1", &server, &files, RecordType::A),
        ["203.0.113.11"]
    );
    assert_eq!(
        addresses(LAN, &server, &files, RecordType::A),
        ["10.0.0.11"]
    );
    assert_eq!(
        addresses(LAN, &server, &files, RecordType::AAAA),
        ["fd00::10"],
        "a family the update does not list is left alone"
    );
    // The same again is nochg, and commits nothing.
    let serial = serial_from(&server, "127.0.0.1");
    let (_, body) = nic(
        &server,
        Some(&token),
        &format!("hostname=files.{ZONE}&myip=203.0.113.11&myip.lan=10.0.0.11"),
    )
    .await;
    assert_eq!(body, "nochg 203.0.113.11");
    assert_eq!(serial_from(&server, "127.0.0.1"), serial);
    assert_eq!(
        serial_from(&server, LAN),
        serial,
        "views share the zone's serial"
    );

    // A name only the view has: NXDOMAIN outside it.
    let (status, _) = nic(
        &server,
        Some(&token),
        &format!("hostname=printer.{ZONE}&myip=no&myip.lan=10.0.0.20"),
    )
    .await;
    assert_eq!(status, 200);
    let printer = format!("printer.{ZONE}.");
    assert_eq!(
        addresses(LAN, &server, &printer, RecordType::A),
        ["10.0.0.20"]
    );
    let outside = query_from("127.0.0.1", server.dns, &printer, RecordType::A);
    assert_eq!(outside.metadata.response_code, ResponseCode::NXDomain);

    // A per-view CNAME (API v1): the view's alias points at nas, the default's is an address.
    let admin = server.admin_token();
    let put = |view: Option<&str>, rtype: &str, values: &[&str]| {
        let mut body = serde_json::json!({"values": values});
        if let Some(v) = view {
            body["view"] = serde_json::Value::from(v);
        }
        http()
            .put(server.url(&format!("/api/v1/hosts/alias.{ZONE}/records/{rtype}")))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    assert_eq!(
        put(None, "A", &["198.51.100.7"]).await.unwrap().status(),
        200
    );
    let r = put(Some("lan"), "CNAME", &[&format!("nas.{ZONE}.")])
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let alias = format!("alias.{ZONE}.");
    let lan_alias = query_from(LAN, server.dns, &alias, RecordType::A);
    assert_eq!(
        dns::answers(&lan_alias, RecordType::CNAME),
        [format!("nas.{ZONE}.")]
    );
    assert_eq!(
        dns::answers(&lan_alias, RecordType::A),
        ["192.0.2.50"],
        "the chain is followed in the view"
    );
    assert_eq!(
        addresses("127.0.0.1", &server, &alias, RecordType::A),
        ["198.51.100.7"]
    );
    // An unknown view is refused and changes nothing.
    let r = put(Some("dmz"), "A", &["192.0.2.9"]).await.unwrap();
    assert_eq!(r.status(), 400);
    let (status, body) = nic(
        &server,
        Some(&token),
        &format!("hostname=files.{ZONE}&myip.dmz=10.1.1.1"),
    )
    .await;
    assert_eq!((status, body.as_str()), (400, "dnserr"));

    // Removing the view's own addresses: the view shows the default again.
    let (_, body) = nic(
        &server,
        Some(&token),
        &format!("hostname=files.{ZONE}&myip=203.0.113.11&myip.lan="),
    )
    .await;
    assert_eq!(body, "good 203.0.113.11");
    assert_eq!(
        addresses(LAN, &server, &files, RecordType::A),
        ["203.0.113.11"]
    );
    assert!(addresses(LAN, &server, &files, RecordType::AAAA).is_empty());

    // offline=YES takes the host off every view, not only the default.
    let (_, body) = nic(
        &server,
        Some(&token),
        &format!("hostname=files.{ZONE}&myip=203.0.113.11&myip.lan=10.0.0.11"),
    )
    .await;
    assert_eq!(body, "good 203.0.113.11");
    assert_eq!(
        addresses(LAN, &server, &files, RecordType::A),
        ["10.0.0.11"]
    );
    let (status, _) = nic(
        &server,
        Some(&token),
        &format!("hostname=files.{ZONE}&offline=YES"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(addresses(LAN, &server, &files, RecordType::A).is_empty());
    assert!(addresses("127.0.0.1", &server, &files, RecordType::A).is_empty());

    // History says which view each change was.
    let history = get_json(
        server.url(&format!("/api/v1/hosts/files.{ZONE}/history")),
        &admin,
    )
    .await;
    let text = history.to_string();
    assert!(text.contains("\"view\":\"lan\""), "{text}");
}

fn serial_from(server: &ServerProcess, from: &str) -> u32 {
    dns::soa_serial(&query_from(
        from,
        server.dns,
        &format!("{ZONE}."),
        RecordType::SOA,
    ))
    .unwrap()
}

fn bind9(primary: u16, port: u16, key: &str) -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    // Both keys are known (NOTIFY comes signed with the zone's notify key, `xfr`); `key`
    // is the one transfers use, and the one that picks the view.
    let conf = format!(
        r#"options {{ directory "{d}"; listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};
  pid-file "{d}/named.pid"; recursion no; dnssec-validation no; notify no; }};
key "xfr" {{ algorithm hmac-sha256; secret "{SECRET}"; }};
key "lan-xfr" {{ algorithm hmac-sha256; secret "{LAN_SECRET}"; }};
logging {{ channel x {{ file "{d}/named.log"; severity debug 3; print-time yes; }};
  category default {{ x; }}; category xfer-in {{ x; }}; category notify {{ x; }}; }};
controls {{ }};
zone "{ZONE}" {{ type secondary; primaries port {primary} {{ 127.0.0.1 key {key}; }}; file "dyn.db"; }};
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

#[tokio::test(flavor = "multi_thread")]
async fn a_secondary_with_the_view_key_transfers_only_its_view() {
    let ports = free_ports(3);
    let (primary_port, lan_port, public_port) = (ports[0], ports[1], ports[2]);
    let peers: Vec<SocketAddr> = [lan_port, public_port]
        .iter()
        .map(|p| SocketAddr::from(([127, 0, 0, 1], *p)))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ddns.toml");
    std::fs::write(&path, config(&peers)).unwrap();
    let listen = format!("127.0.0.1:{primary_port}");
    let server = ServerProcess::start_in(
        bin(),
        &dir.path().join("data"),
        &["--config", path.to_str().unwrap(), "--dns-listen", &listen],
    );
    let token = server.token(&[&format!("home.{ZONE}")]);
    let (status, body) = nic(
        &server,
        Some(&token),
        &format!("hostname=home.{ZONE}&myip=203.0.113.1&myip.lan=10.0.0.1"),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "good 203.0.113.1"));

    let lan = bind9(primary_port, lan_port, "lan-xfr");
    let public = bind9(primary_port, public_port, "xfr");
    let home = format!("home.{ZONE}.");
    lan.wait_for(&home, "10.0.0.1", Duration::from_secs(30));
    public.wait_for(&home, "203.0.113.1", Duration::from_secs(30));
    let a = |peer: &Peer| {
        let mut v = dns::answers(&dns::udp(peer.addr, &home, RecordType::A), RecordType::A);
        v.sort();
        v
    };
    assert_eq!(
        a(&lan),
        ["10.0.0.1"],
        "only the view's value, not the default's too"
    );
    assert_eq!(a(&public), ["203.0.113.1"]);

    // A change in the view alone is a serial step: NOTIFY brings it to the view's secondary.
    let (_, body) = nic(
        &server,
        Some(&token),
        &format!("hostname=home.{ZONE}&myip=203.0.113.1&myip.lan=10.0.0.2"),
    )
    .await;
    assert_eq!(body, "good 203.0.113.1");
    lan.wait_for(&home, "10.0.0.2", Duration::from_secs(10));
    // The default changes: both follow, the view keeps its own value.
    let (_, body) = nic(
        &server,
        Some(&token),
        &format!("hostname=home.{ZONE}&myip=203.0.113.2"),
    )
    .await;
    assert_eq!(body, "good 203.0.113.2");
    public.wait_for(&home, "203.0.113.2", Duration::from_secs(10));
    let serial =
        dns::soa_serial(&dns::udp(server.dns, &format!("{ZONE}."), RecordType::SOA)).unwrap();
    let start = std::time::Instant::now();
    while dns::soa_serial(&dns::udp(lan.addr, &format!("{ZONE}."), RecordType::SOA)) != Some(serial)
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the view's secondary did not follow the serial; its log:\n{}",
            lan.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(a(&lan), ["10.0.0.2"]);
    // The static records are in both.
    for peer in [&lan, &public] {
        assert_eq!(
            dns::answers(
                &dns::udp(peer.addr, &format!("www.{ZONE}."), RecordType::A),
                RecordType::A
            ),
            ["192.0.2.1"]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agent_publishes_the_public_and_the_lan_address_in_one_update() {
    use crate::agent::{AgentDir, ddns_provider};
    let (_dir, server) = server_with_config(&config(&[]));
    let name = format!("home.{ZONE}");
    let token = server.token(&[&name]);
    let dir = AgentDir::new();
    let provider = ddns_provider(&dir, &server, &token);
    let write = |lan: &str| {
        dir.write(&format!(
            "[detect.ipv4]\nsources = [{{ kind = \"fixed\", address = \"198.51.100.60\" }}]\nallow = [\"documentation\"]\n{provider}[[record]]\nname = \"{name}\"\nprovider = \"home\"\nlan_view = \"lan\"\nlan_sources = [{{ kind = \"fixed\", address = \"{lan}\" }}]\n"
        ));
    };
    let fqdn = format!("{name}.");
    write("192.168.1.60");
    let out = dir.once();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        addresses("127.0.0.1", &server, &fqdn, RecordType::A),
        ["198.51.100.60"]
    );
    assert_eq!(
        addresses(LAN, &server, &fqdn, RecordType::A),
        ["192.168.1.60"]
    );
    let history = get_json(
        server.url(&format!("/api/v1/hosts/{name}/history")),
        &server.admin_token(),
    )
    .await;
    let serials: std::collections::BTreeSet<u64> = history["history"]
        .as_array()
        .or_else(|| history.as_array())
        .map(|rows| rows.iter().filter_map(|r| r["serial"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(
        serials.len(),
        1,
        "both values in one update (one serial step): {history}"
    );

    // Only the LAN address changes: that alone makes the agent publish.
    write("192.168.1.61");
    let out = dir.once();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        addresses(LAN, &server, &fqdn, RecordType::A),
        ["192.168.1.61"]
    );
    assert_eq!(
        addresses("127.0.0.1", &server, &fqdn, RecordType::A),
        ["198.51.100.60"]
    );
    assert_eq!(
        dir.state_json()["records"][format!("{name}@home")]["views"]["lan"][0],
        "192.168.1.61"
    );

    // Nothing new: nothing is written.
    let serial = serial_from(&server, "127.0.0.1");
    let out = dir.once();
    assert!(out.status.success());
    assert_eq!(serial_from(&server, "127.0.0.1"), serial);
}
