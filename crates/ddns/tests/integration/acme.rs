use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::tls::{TestCa, install};

/// A loopback port free right now (bound and released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// pebble, the ACME test server, on loopback ports, resolving through `dns`; killed when
/// dropped.
struct Pebble {
    child: Child,
    directory: String,
    management: SocketAddr,
}

impl Pebble {
    fn start(dir: &std::path::Path, ca: &TestCa, dns: SocketAddr) -> Self {
        let (cert, key) = install(dir, &ca.leaf(&["127.0.0.1", "localhost"]));
        let listen: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let management: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let config = dir.join("pebble.json");
        std::fs::write(
            &config,
            serde_json::json!({"pebble": {
                "listenAddress": listen.to_string(),
                "managementListenAddress": management.to_string(),
                "certificate": cert,
                "privateKey": key,
                "httpPort": free_port(),
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false
            }})
            .to_string(),
        )
        .unwrap();
        let child = Command::new("pebble")
            .arg("-config")
            .arg(&config)
            .args(["-dnsserver", &dns.to_string()])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run pebble (apt-get install pebble; scripts/test.sh does it): {e}")
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(listen).is_err() {
            assert!(Instant::now() < deadline, "pebble did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            directory: format!("https://{listen}/dir"),
            management,
        }
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn acme_dns01_against_pebble_obtains_and_serves_a_certificate() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    // The server's DNS port is chosen first, so pebble can be told where to resolve.
    let dns: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let pebble = Pebble::start(dir.path(), &ca, dns);
    let config = dir.path().join("ddns.toml");
    std::fs::write(
        &config,
        format!(
            "version = 1\n[[zone]]\nname = \"ddns.test\"\n[acme]\ndirectory = {:?}\nemail = \"hostmaster@ddns.test\"\nnames = [\"ddns.test\", \"api.ddns.test\"]\ndirectory_ca_file = {:?}\n",
            pebble.directory,
            ca_file.display().to_string()
        ),
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let s = ServerProcess::start_logging(
        bin(),
        data.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "--dns-listen",
            &dns.to_string(),
        ],
        Some((&log, "info")),
    );
    assert!(s.https, "{}", s.banner);

    // pebble's root changes on every start: fetch it from the management interface.
    let root = https_get(&ca.pem, &format!("https://{}/roots/0", pebble.management)).await;
    assert!(root.contains("BEGIN CERTIFICATE"), "{root}");
    let trusting_pebble = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(root.as_bytes()).unwrap()])
        .resolve("api.ddns.test", s.http)
        .build()
        .unwrap();
    let url = format!("https://api.ddns.test:{}/healthz", s.http.port());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match trusting_pebble.get(&url).send().await {
            Ok(r) if r.status().is_success() => break,
            other => {
                assert!(
                    Instant::now() < deadline,
                    "no pebble-issued certificate served within 30 s ({other:?}); log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    // The challenge records went through the write path (history by `acme`) and are gone.
    let admin = s.admin_token();
    let history: serde_json::Value = trusting_pebble
        .get(format!(
            "https://api.ddns.test:{}/api/v1/hosts/_acme-challenge.api.ddns.test/history",
            s.http.port()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = history.to_string();
    assert!(text.contains("\"acme\""), "history by acme: {text}");
    assert!(
        lookup_txt(&s, "_acme-challenge.api.ddns.test.").is_empty(),
        "the challenge record is removed after issuance"
    );
    let key = data.path().join("acme/key.pem");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the certificate key is private");
    let account = data.path().join("acme/account.json");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&account).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the account key is private");
}

async fn https_get(ca_pem: &str, url: &str) -> String {
    crate::tls::https_client(ca_pem)
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn lookup_txt(s: &ServerProcess, name: &str) -> Vec<String> {
    dns::answers(&dns::udp(s.dns, name, RecordType::TXT), RecordType::TXT)
}
