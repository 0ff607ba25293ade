//! RFC 2136 UPDATE against a running server: BIND's `nsupdate` with TSIG adds, replaces and
//! deletes under prerequisites; a wrong key and a refused source change nothing; an unsigned
//! Windows-style registration from an allowed subnet works (dnspython), and every applied
//! update is in the host's history with its requester.

use std::process::Command;
use std::sync::OnceLock;

use crate::common::{RecordType, ServerProcess, bin, dns, get_json, nsupdate};

const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0";
const OTHER_SECRET: &str = "b3RoZXItb3RoZXItb3RoZXItb3RoZXI=";
const ZONE: &str = "dyn.example.com";

fn server() -> (tempfile::TempDir, ServerProcess) {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"version = 1
[[tsig_key]]
name = "upd"
algorithm = "hmac-sha256"
secret = "{SECRET}"
[[zone]]
name = "{ZONE}"
records = ["static 300 A 192.0.2.100"]
[[zone.update]]
key = "upd"
types = ["A", "AAAA", "TXT", "MX"]
[[zone.update]]
subnet = "127.0.0.2/32"
names = ["*.lan.{ZONE}"]
types = ["A", "AAAA"]
"#
    );
    let path = dir.path().join("ddns.toml");
    std::fs::write(&path, toml).unwrap();
    let data = dir.path().join("data");
    let server = ServerProcess::start_in(bin(), &data, &["--config", path.to_str().unwrap()]);
    (dir, server)
}

fn addresses(server: &ServerProcess, name: &str, rtype: RecordType) -> Vec<String> {
    let mut answers = dns::answers(&dns::udp(server.dns, name, rtype), rtype);
    answers.sort();
    answers
}

fn script(server: &ServerProcess, local: Option<&str>, body: &str) -> String {
    let local = local.map(|l| format!("local {l}\n")).unwrap_or_default();
    format!(
        "{local}server {} {}\nzone {ZONE}\n{body}\nsend\n",
        server.dns.ip(),
        server.dns.port()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn nsupdate_with_tsig_adds_replaces_and_deletes_under_prerequisites() {
    let (_dir, s) = server();
    let key = format!("hmac-sha256:upd:{SECRET}");
    let name = format!("new.{ZONE}.");
    let serial = || dns::soa_serial(&dns::udp(s.dns, &format!("{ZONE}."), RecordType::SOA));

    // Add, on condition that the name is not in use.
    let (code, out) = nsupdate(
        Some(&key),
        &script(
            &s,
            None,
            &format!(
                "prereq nxdomain {name}\nupdate add {name} 300 A 192.0.2.10\nupdate add {name} 300 TXT \"hello\""
            ),
        ),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(addresses(&s, &name, RecordType::A), ["192.0.2.10"]);
    assert_eq!(addresses(&s, &name, RecordType::TXT), ["hello"]);

    // The same condition now fails: YXDOMAIN, nothing changes.
    let before = serial();
    let (code, out) = nsupdate(
        Some(&key),
        &script(
            &s,
            None,
            &format!("prereq nxdomain {name}\nupdate add {name} 300 A 192.0.2.99"),
        ),
    );
    assert_ne!(code, 0);
    assert!(out.contains("YXDOMAIN"), "{out}");
    assert_eq!(addresses(&s, &name, RecordType::A), ["192.0.2.10"]);
    assert_eq!(
        serial(),
        before,
        "a failed prerequisite is not a serial step"
    );

    // Replace, on condition that the A RRset is exactly what we think.
    let (code, out) = nsupdate(
        Some(&key),
        &script(
            &s,
            None,
            &format!(
                "prereq yxrrset {name} A 192.0.2.10\nupdate delete {name} A\nupdate add {name} 300 A 192.0.2.11\nupdate add {name} 300 A 192.0.2.12"
            ),
        ),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        addresses(&s, &name, RecordType::A),
        ["192.0.2.11", "192.0.2.12"]
    );
    // A value-dependent prerequisite that no longer holds: NXRRSET.
    let (code, out) = nsupdate(
        Some(&key),
        &script(
            &s,
            None,
            &format!("prereq yxrrset {name} A 192.0.2.10\nupdate delete {name} A"),
        ),
    );
    assert_ne!(code, 0);
    assert!(out.contains("NXRRSET"), "{out}");
    // Delete one record, then the whole name.
    let (code, out) = nsupdate(
        Some(&key),
        &script(&s, None, &format!("update delete {name} A 192.0.2.12")),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(addresses(&s, &name, RecordType::A), ["192.0.2.11"]);
    let (code, out) = nsupdate(
        Some(&key),
        &script(
            &s,
            None,
            &format!("prereq yxdomain {name}\nupdate delete {name}"),
        ),
    );
    assert_eq!(code, 0, "{out}");
    let gone = dns::udp(s.dns, &name, RecordType::A);
    assert_eq!(
        gone.metadata.response_code,
        hickory_proto::op::ResponseCode::NXDomain
    );

    // The configuration's records and types outside the rule are refused, all or nothing.
    let (code, out) = nsupdate(
        Some(&key),
        &script(
            &s,
            None,
            &format!("update add {name} 300 A 192.0.2.50\nupdate delete static.{ZONE}. A"),
        ),
    );
    assert_ne!(code, 0);
    assert!(out.contains("REFUSED"), "{out}");
    let (code, out) = nsupdate(
        Some(&key),
        &script(
            &s,
            None,
            &format!(
                "update add {name} 300 A 192.0.2.50\nupdate add {name} 300 SRV 0 0 445 files.{ZONE}."
            ),
        ),
    );
    assert_ne!(code, 0);
    assert!(out.contains("REFUSED"), "{out}");
    assert!(addresses(&s, &name, RecordType::A).is_empty());
    assert_eq!(
        addresses(&s, &format!("static.{ZONE}."), RecordType::A),
        ["192.0.2.100"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_or_a_foreign_source_changes_nothing() {
    let (_dir, s) = server();
    let name = format!("pc.lan.{ZONE}.");
    let before = dns::soa_serial(&dns::udp(s.dns, &format!("{ZONE}."), RecordType::SOA));

    // Same key name, another secret: BADSIG, answered NOTAUTH.
    let wrong = format!("hmac-sha256:upd:{OTHER_SECRET}");
    let (code, out) = nsupdate(
        Some(&wrong),
        &script(&s, None, &format!("update add {name} 60 A 192.0.2.1")),
    );
    assert_ne!(code, 0);
    assert!(
        out.contains("NOTAUTH") || out.contains("BADSIG") || out.contains("tsig verify failure"),
        "{out}"
    );
    // A key the server does not know: BADKEY.
    let unknown = format!("hmac-sha256:nobody:{SECRET}");
    let (code, out) = nsupdate(
        Some(&unknown),
        &script(&s, None, &format!("update add {name} 60 A 192.0.2.1")),
    );
    assert_ne!(code, 0, "{out}");
    // Unsigned from 127.0.0.3: no rule matches, REFUSED.
    let (code, out) = nsupdate(
        None,
        &script(
            &s,
            Some("127.0.0.3"),
            &format!("update add {name} 60 A 192.0.2.1"),
        ),
    );
    assert_ne!(code, 0);
    assert!(out.contains("REFUSED"), "{out}");
    // Unsigned from the allowed subnet, but outside its names: REFUSED.
    let (code, out) = nsupdate(
        None,
        &script(
            &s,
            Some("127.0.0.2"),
            &format!("update add other.{ZONE}. 60 A 192.0.2.1"),
        ),
    );
    assert_ne!(code, 0);
    assert!(out.contains("REFUSED"), "{out}");
    assert!(addresses(&s, &name, RecordType::A).is_empty());
    let after = dns::soa_serial(&dns::udp(s.dns, &format!("{ZONE}."), RecordType::SOA));
    assert_eq!(before, after);
}

/// A python3 that can import dnspython.
fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        std::env::var("DDNS_TEST_PYTHON")
            .into_iter()
            .chain(["python3".to_owned(), "/usr/bin/python3".to_owned()])
            .find(|python| {
                Command::new(python)
                    .args(["-c", "import dns.update"])
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
            .unwrap_or_else(|| {
                panic!(
                    "python3 with dnspython is needed (scripts/test.sh installs python3-dnspython)"
                )
            })
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_windows_style_registration_from_the_lan_registers_a_and_aaaa() {
    let (_dir, s) = server();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/integration/windows_update.py"
    );
    let host = format!("pc.lan.{ZONE}");
    let run = |ipv4: &str, ipv6: &str| {
        let out = Command::new(python())
            .args([
                script,
                &s.dns.ip().to_string(),
                &s.dns.port().to_string(),
                "127.0.0.2",
                &host,
                ipv4,
                ipv6,
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let first = run("192.168.1.20", "2001:db8::20");
    assert_eq!(
        first.lines().collect::<Vec<_>>(),
        [
            &format!("soa NXDOMAIN {ZONE}.") as &str,
            "register NOERROR",
            "ptr NOTAUTH"
        ],
        "{first}"
    );
    assert_eq!(
        addresses(&s, &format!("{host}."), RecordType::A),
        ["192.168.1.20"]
    );
    assert_eq!(
        addresses(&s, &format!("{host}."), RecordType::AAAA),
        ["2001:db8::20"]
    );

    // The address changed: the "not in use" registration fails, the replacement works.
    let second = run("192.168.1.21", "2001:db8::21");
    assert_eq!(
        second.lines().collect::<Vec<_>>(),
        [
            &format!("soa NOERROR {ZONE}.") as &str,
            "register YXDOMAIN",
            "replace NOERROR",
            "ptr NOTAUTH"
        ],
        "{second}"
    );
    assert_eq!(
        addresses(&s, &format!("{host}."), RecordType::A),
        ["192.168.1.21"]
    );

    // History names the requester.
    let admin = s.admin_token();
    let history = get_json(s.url(&format!("/api/v1/hosts/{host}/history")), &admin).await;
    let text = history.to_string();
    assert!(text.contains("rfc2136:subnet:127.0.0.2"), "{text}");
}
