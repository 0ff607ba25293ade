//! Secrets never leave the server: token secrets and TSIG secrets appear in no log line (at
//! debug level), no reply and no file of the data directory, whatever the requests did —
//! good and bad tokens over DynDNS2 and REST, signed and mis-signed RFC 2136 and transfers.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::{ServerProcess, bin, http};

const TSIG_SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0";
const WEBHOOK_SECRET: &str = "webhook-bearer-d41d8cd98f00b204";
const ZONE: &str = "sec.test";

fn nsupdate(key: &str, server: &ServerProcess, body: &str) -> String {
    let mut child = Command::new("nsupdate")
        .args(["-y", key])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nsupdate (scripts/test.sh installs it)");
    let script = format!(
        "server {} {}\nzone {ZONE}\n{body}\nsend\n",
        server.dns.ip(),
        server.dns.port()
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every file under `dir`, as bytes.
fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_appear_in_no_log_reply_or_stored_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ddns.toml");
    // An audit webhook that refuses everything, so its failures (URL included) are logged.
    let hook = ddns_testkit::fake_http::FakeHttp::start("");
    hook.answer(503, "down");
    std::fs::write(
        &config,
        format!(
            "version = 1\n[audit]\nwebhook = \"{}/in\"\nwebhook_token = \"{WEBHOOK_SECRET}\"\n\
             [[tsig_key]]\nname = \"upd\"\nsecret = \"{TSIG_SECRET}\"\n\
             [[zone]]\nname = \"{ZONE}\"\nallow_transfer = [\"key:upd\"]\n\
             [[zone.update]]\nkey = \"upd\"\n",
            hook.url()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("server.log");
    let s = ServerProcess::start_logging(
        bin(),
        &data,
        &["--config", config.to_str().unwrap()],
        Some((&log, "debug")),
    );
    let token = s.token(&[&format!("home.{ZONE}")]);
    let admin = s.admin_token();
    // `ddns_` + a 13-character public id + a 32-character secret; a forged token keeps the id.
    let secret_of = |t: &str| t[t.len() - 32..].to_owned();
    let forged = format!("{}aaaa", &token[..token.len() - 4]);
    let mut replies = String::new();

    for (user_token, query) in [
        (&token, "hostname=home.sec.test&myip=192.0.2.1"),
        (&forged, "hostname=home.sec.test&myip=192.0.2.2"),
        (&token, "hostname=other.sec.test&myip=192.0.2.3"),
        (&token, "hostname=home.sec.test&myip=not-an-ip"),
    ] {
        let reply = http()
            .get(s.url(&format!("/nic/update?{query}")))
            .basic_auth("user", Some(user_token))
            .send()
            .await
            .unwrap();
        replies.push_str(&format!("{:?}\n", reply.headers()));
        replies.push_str(&reply.text().await.unwrap());
    }
    for bearer in [&token, &forged, &admin] {
        let reply = http()
            .post(s.url("/update"))
            .bearer_auth(bearer)
            .form(&[("domain", "home.sec.test"), ("ip", "192.0.2.9")])
            .send()
            .await
            .unwrap();
        replies.push_str(&reply.text().await.unwrap());
        let listing = http()
            .get(s.url("/api/v1/tokens"))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap();
        replies.push_str(&listing.text().await.unwrap());
    }
    let good = nsupdate(
        &format!("hmac-sha256:upd:{TSIG_SECRET}"),
        &s,
        &format!("update add rfc.{ZONE} 60 A 192.0.2.20"),
    );
    let bad = nsupdate(
        "hmac-sha256:upd:b3RoZXItb3RoZXItb3RoZXItb3RoZXI=",
        &s,
        &format!("update add rfc.{ZONE} 60 A 192.0.2.21"),
    );
    replies.push_str(&good);
    replies.push_str(&bad);
    // Give the log a moment to be written, then stop the server so every file is flushed.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let data_dir = s.data_dir.clone();
    assert!(s.stop(), "server stopped cleanly");

    let secrets = [
        ("token secret", secret_of(&token)),
        ("admin token secret", secret_of(&admin)),
        ("forged token secret", secret_of(&forged)),
        ("TSIG secret", TSIG_SECRET.to_owned()),
        ("audit webhook token", WEBHOOK_SECRET.to_owned()),
    ];
    assert!(
        !hook.requests().is_empty(),
        "the webhook was tried, so its failure was logged"
    );
    let log_text = std::fs::read(&log).unwrap();
    assert!(
        contains(&log_text, "ddns::update: update"),
        "the log was written at debug level"
    );
    // The search finds what is there: the public id is logged, only the secret must not be.
    let public_id = &token[5..token.len() - 32];
    assert!(
        contains(&log_text, public_id),
        "the token's public id is logged"
    );
    let stored = files(&data_dir);
    assert!(
        stored
            .iter()
            .any(|(path, _)| path.contains("config-versions")),
        "the kept configuration is among the files searched"
    );
    for (what, secret) in &secrets {
        assert!(
            secret.len() >= 16,
            "{what} too short to search for: {secret}"
        );
        assert!(!contains(&log_text, secret), "{what} in the server log");
        assert!(!contains(replies.as_bytes(), secret), "{what} in a reply");
        for (path, bytes) in &stored {
            assert!(!contains(bytes, secret), "{what} stored in {path}");
        }
    }
}

/// `ddns secret protect` (value on stdin) and `reveal` with a key file of the test's.
fn secret(command: &str, key: &std::path::Path, value: &str) -> std::process::Output {
    let mut child = Command::new(bin())
        .args(["secret", command, "--key-file", key.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{value}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn sealed(key: &std::path::Path, value: &str) -> String {
    let out = secret("protect", key, value);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Sealed values (`enc:key:…`) work wherever the clear ones did: a TSIG secret in the server's
/// file and a provider token in the agent's open with the key file, and neither file holds
/// the secret in clear. Without the right key file each refuses to start, naming the line.
#[tokio::test]
async fn sealed_secrets_open_with_the_key_file_and_only_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("keys").join("secret.key");
    let tsig = sealed(&key, TSIG_SECRET);
    assert!(tsig.starts_with("enc:key:"), "{tsig}");
    assert_ne!(
        tsig,
        sealed(&key, TSIG_SECRET),
        "each sealing has its own nonce"
    );
    let revealed = secret("reveal", &key, &tsig);
    assert_eq!(
        String::from_utf8_lossy(&revealed.stdout).trim(),
        TSIG_SECRET
    );
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the key file is its owner's only: {mode:o}"
        );
    }

    let config = dir.path().join("ddns.toml");
    std::fs::write(
        &config,
        format!(
            "version = 1\n[[tsig_key]]\nname = \"upd\"\nsecret = \"{tsig}\"\n\
             [[zone]]\nname = \"{ZONE}\"\n[[zone.update]]\nkey = \"upd\"\n"
        ),
    )
    .unwrap();
    assert!(
        !std::fs::read_to_string(&config)
            .unwrap()
            .contains(TSIG_SECRET)
    );
    let key_env = ("DDNS_SECRET_KEY_FILE", key.as_os_str());
    let s = ServerProcess::start_with_env(
        bin(),
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
        None,
        &[key_env],
    );
    let reply = nsupdate(
        &format!("hmac-sha256:upd:{TSIG_SECRET}"),
        &s,
        &format!("update add rfc.{ZONE} 60 A 192.0.2.20"),
    );
    assert!(
        !reply.contains("REFUSED") && !reply.contains("NOTAUTH"),
        "{reply}"
    );
    assert_eq!(
        crate::common::lookup(
            &s,
            &format!("rfc.{ZONE}."),
            hickory_proto::rr::RecordType::A
        ),
        ["192.0.2.20"]
    );

    // The agent: its provider token sealed the same way.
    let token = s.token(&[&format!("home.{ZONE}")]);
    let echo = [
        ddns_testkit::fake_http::FakeHttp::start("198.51.100.7"),
        ddns_testkit::fake_http::FakeHttp::start("198.51.100.7"),
    ];
    let agent_config = dir.path().join("agent.toml");
    std::fs::write(
        &agent_config,
        format!(
            "version = 1\n[agent]\nstate_file = {:?}\nverify_interval = \"0s\"\n\
             [detect.ipv4]\nsources = [{{ kind = \"http\", url = \"{}\" }}, {{ kind = \"http\", url = \"{}\" }}]\nallow = [\"documentation\"]\n\
             [providers.home]\ntype = \"ddns\"\nurl = \"{}\"\ntoken = \"{}\"\n\
             [[record]]\nname = \"home.{ZONE}\"\nprovider = \"home\"\nfamilies = [\"ipv4\"]\n",
            dir.path().join("state.json").display().to_string(),
            echo[0].url(),
            echo[1].url(),
            s.url(""),
            sealed(&key, &token),
        ),
    )
    .unwrap();
    let agent = |key_file: &str| {
        Command::new(bin())
            .args([
                "agent",
                "--once",
                "--config",
                agent_config.to_str().unwrap(),
            ])
            .env("DDNS_SECRET_KEY_FILE", key_file)
            .output()
            .unwrap()
    };
    let other_key = dir.path().join("other.key");
    drop(sealed(&other_key, "x"));
    let refused = agent(other_key.to_str().unwrap());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{why}");
    assert!(
        why.contains("agent.toml:11:") && why.contains("another key"),
        "{why}"
    );
    let ran = agent(key.to_str().unwrap());
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    assert_eq!(
        crate::common::lookup(
            &s,
            &format!("home.{ZONE}."),
            hickory_proto::rr::RecordType::A
        ),
        ["198.51.100.7"]
    );
    assert!(s.stop());

    // The server with another key file does not start, and says which line.
    let out = Command::new(bin())
        .args(["server", "--config", config.to_str().unwrap(), "--data-dir"])
        .arg(dir.path().join("data"))
        .args([
            "--dns-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
        ])
        .env("DDNS_SECRET_KEY_FILE", &other_key)
        .output()
        .unwrap();
    let why = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{why}");
    assert!(why.contains(":4:") && why.contains("another key"), "{why}");
}
