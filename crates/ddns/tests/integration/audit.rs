use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;

/// A token's public id.
fn token_id(token: &str) -> String {
    ddns_core::token::split(token).unwrap().0.to_owned()
}

/// `ddns ARGS --data-dir DIR`, whatever its outcome.
fn ddns(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap()
}

/// The same, which must succeed; its stdout.
fn ddns_ok(dir: &Path, args: &[&str]) -> String {
    let out = ddns(dir, args);
    assert!(
        out.status.success(),
        "ddns {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `ddns history NAME` as (id, actor, change) rows, newest first.
fn history(dir: &Path, name: &str) -> Vec<(i64, String, String)> {
    let out = ddns_ok(dir, &["history", name]);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("ID\tTIME\tACTOR\tSOURCE\tCHANGE"));
    lines
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 5, "{line}");
            (
                cols[0].parse().unwrap(),
                cols[2].to_owned(),
                cols[4].to_owned(),
            )
        })
        .collect()
}

/// Waits (a server replays the CLI's changes every 500 ms) until DNS answers `want` for A.
fn wait_for_a(s: &ServerProcess, name: &str, want: &str) {
    let started = Instant::now();
    loop {
        let got = lookup(s, name, RecordType::A);
        if got == [want] {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name} still answers {got:?}, not {want}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn rollback_api(s: &ServerProcess, token: &str, name: &str, to: i64) -> (u16, Value) {
    let response = http()
        .post(s.url(&format!("/api/v1/hosts/{name}/rollback")))
        .bearer_auth(token)
        .json(&json!({ "to": to }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn rollback_through_the_cli_and_the_api_changes_the_dns_answer_back_and_writes_history() {
    let s = server(&[]);
    let dir = s.data_dir.clone();
    let token = s.token(&["roll.ddns.test"]);
    let other = s.token(&["other.ddns.test"]);
    let admin = s.admin_token();
    for ip in ["192.0.2.1", "192.0.2.2"] {
        let (_, body) = nic(
            &s,
            Some(&token),
            &format!("hostname=roll.ddns.test&myip={ip}"),
        )
        .await;
        assert_eq!(body, format!("good {ip}"));
    }
    nic(
        &s,
        Some(&other),
        "hostname=other.ddns.test&myip=198.51.100.9",
    )
    .await;
    assert_eq!(lookup(&s, "roll.ddns.test.", RecordType::A), ["192.0.2.2"]);

    let rows = history(&dir, "roll.ddns.test");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (first, second) = (rows[1].0, rows[0].0);
    assert!(rows[1].2.ends_with("-> 60 192.0.2.1"), "{rows:?}");
    assert_eq!(rows[0].2, "A 60 192.0.2.1 -> 60 192.0.2.2");

    // Through the CLI, on the data directory of the running server.
    let serial_before = serial(&s);
    let first_text = first.to_string();
    ddns_ok(
        &dir,
        &["host", "rollback", "roll.ddns.test", "--to", &first_text],
    );
    wait_for_a(&s, "roll.ddns.test.", "192.0.2.1");
    assert!(serial(&s) > serial_before, "a journaled serial step");
    let rows = history(&dir, "roll.ddns.test");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].1, "rollback/cli");
    assert_eq!(rows[0].2, "A 60 192.0.2.2 -> 60 192.0.2.1");

    // Through the API, with the host's own token: answered once DNS shows it.
    let (status, host) = rollback_api(&s, &token, "roll.ddns.test", second).await;
    assert_eq!(status, 200, "{host}");
    assert_eq!(host["records"][0]["values"], json!(["192.0.2.2"]));
    assert_eq!(lookup(&s, "roll.ddns.test.", RecordType::A), ["192.0.2.2"]);
    let tid = token_id(&token);
    let rows = history(&dir, "roll.ddns.test");
    assert_eq!(rows[0].1, format!("rollback/token:{tid}"));
    let api_history = get_json(s.url("/api/v1/hosts/roll.ddns.test/history"), &token).await;
    assert_eq!(api_history[0]["actor"], format!("rollback/token:{tid}"));

    // Bad ids change nothing, and say why.
    let serial_now = serial(&s);
    let (status, err) = rollback_api(&s, &token, "roll.ddns.test", 999_999).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (404, Some("not_found")),
        "{err}"
    );
    let other_row = history(&dir, "other.ddns.test")[0].0;
    let (status, err) = rollback_api(&s, &token, "roll.ddns.test", other_row).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("wrong_host")),
        "{err}"
    );
    assert!(
        err["message"].as_str().unwrap().contains("other.ddns.test"),
        "{err}"
    );
    let (status, _) = rollback_api(&s, &other, "roll.ddns.test", first).await;
    assert_eq!(status, 403, "another host's token may not roll it back");
    let out = ddns(
        &dir,
        &["host", "rollback", "roll.ddns.test", "--to", "999999"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("there is no history row 999999"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(serial(&s), serial_now, "refused rollbacks change nothing");
    assert_eq!(history(&dir, "roll.ddns.test").len(), 4);
    assert_eq!(lookup(&s, "roll.ddns.test.", RecordType::A), ["192.0.2.2"]);

    // The audit trail: both rollbacks as admin actions beside the changes, by time.
    let trail = get_json(s.url("/api/v1/audit?limit=1000"), &admin).await;
    let trail = trail.as_array().unwrap();
    let rollbacks: Vec<&Value> = trail
        .iter()
        .filter(|e| e["kind"] == "admin" && e["action"] == "host.rollback")
        .collect();
    assert_eq!(rollbacks.len(), 2, "{trail:?}");
    assert_eq!(rollbacks[0]["actor"], "cli");
    assert_eq!(rollbacks[1]["actor"], format!("token:{tid}"));
    assert_eq!(rollbacks[1]["source_ip"], "127.0.0.1");
    assert_eq!(rollbacks[0]["detail"], format!("to history row {first}"));
    let creates = trail
        .iter()
        .filter(|e| e["action"] == "token.create")
        .count();
    assert_eq!(creates, 3);
    let ats: Vec<&str> = trail.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(ats.windows(2).all(|w| w[0] <= w[1]), "ordered by time");
    let (status, _) = {
        let r = http()
            .get(s.url("/api/v1/audit"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), ())
    };
    assert_eq!(status, 403, "the trail is for admin tokens");

    // Pages follow each other without loss or overlap.
    let mut paged = Vec::new();
    let mut url = s.url("/api/v1/audit?limit=2");
    loop {
        let r = http().get(&url).bearer_auth(&admin).send().await.unwrap();
        let next = r
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_owned());
        let page: Value = r.json().await.unwrap();
        paged.extend(page.as_array().unwrap().iter().map(|e| e["cursor"].clone()));
        match next {
            Some(link) => {
                let path = link.trim_start_matches('<').split('>').next().unwrap();
                url = s.url(path);
            }
            None => break,
        }
    }
    let all: Vec<Value> = trail.iter().map(|e| e["cursor"].clone()).collect();
    assert_eq!(paged, all);

    // The CLI's view, filtered by actor and time.
    let out = ddns_ok(&dir, &["audit", "--actor", "cli", "--since", "1h"]);
    assert!(out.contains("host.rollback roll.ddns.test"), "{out}");
    assert!(out.contains("change #"), "{out}");
    assert!(!out.contains("token:"), "only the CLI's entries: {out}");
    let out = ddns_ok(&dir, &["audit", "--since", "2999-01-01T00:00:00Z"]);
    assert_eq!(out.lines().count(), 1, "nothing after 2999: {out}");
    let out = ddns(&dir, &["audit", "--since", "yesterday"]);
    assert!(!out.status.success());
}

#[tokio::test]
async fn admin_actions_are_audited_with_the_action() {
    let s = server(&[]);
    let dir = s.data_dir.clone();
    let admin = s.admin_token();
    let token = s.token(&["gone.ddns.test"]);
    nic(&s, Some(&token), "hostname=gone.ddns.test&myip=192.0.2.7").await;
    let id = token_id(&token);
    ddns_ok(&dir, &["host", "rm", "gone.ddns.test"]);
    ddns_ok(&dir, &["token", "revoke", &id]);
    let zone_file = dir.join("import.zone");
    std::fs::write(&zone_file, "imported.ddns.test. 60 IN A 192.0.2.8\n").unwrap();
    ddns_ok(
        &dir,
        &[
            "zone",
            "import",
            "--zone",
            "ddns.test",
            zone_file.to_str().unwrap(),
        ],
    );
    // A revoke of a token that is not active is refused and leaves no row.
    assert!(!ddns(&dir, &["token", "revoke", &id]).status.success());

    let out = ddns_ok(&dir, &["audit", "--actor", "cli"]);
    let actions: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').nth(3))
        .filter(|w| !w.starts_with("change"))
        .collect();
    let expected = [
        format!("token.create {} (admin)", token_id(&admin)),
        format!("token.create {id} (gone.ddns.test)"),
        "host.rm gone.ddns.test".to_owned(),
        format!("token.revoke {id}"),
        "zone.import ddns.test (1 record sets)".to_owned(),
    ];
    assert_eq!(actions, expected, "{out}");
    // The removal's record change is in the trail too, by the same actor.
    assert!(
        out.contains("change #") && out.contains("gone.ddns.test A 60 192.0.2.7 -> -"),
        "{out}"
    );
}

/// Streams updates to `name` until `stop`; returns the addresses acknowledged, in order.
async fn stream_updates(
    url: String,
    token: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<String> {
    let mut acked = Vec::new();
    let client = http();
    for i in 0u32.. {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        let body = client
            .get(format!("{url}?hostname=stream.ddns.test&myip={ip}"))
            .basic_auth("user", Some(&token))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, format!("good {ip}"));
        acked.push(ip);
    }
    acked
}

#[tokio::test]
async fn backup_while_writing_restores_into_a_fresh_directory() {
    // The stream updates one host far faster than the per-host limit allows.
    let (_config, s) = server_with_config(
        "version = 1\n[dyndns2]\nupdates_per_host_per_minute = 1000000\n\
         [[zone]]\nname = \"ddns.test\"\n",
    );
    let dir = s.data_dir.clone();
    let token = s.token(&["stream.ddns.test", "keep.ddns.test"]);
    nic(&s, Some(&token), "hostname=keep.ddns.test&myip=192.0.2.44").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = tokio::spawn(stream_updates(
        s.url("/nic/update"),
        token.clone(),
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("ddns.backup");
    let out = {
        let dir = dir.clone();
        let file = file.clone();
        tokio::task::spawn_blocking(move || ddns(&dir, &["backup", file.to_str().unwrap()]))
            .await
            .unwrap()
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acked = writer.await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(acked.len() > 10, "the writes went on: {}", acked.len());
    assert!(
        !ddns(&dir, &["backup", file.to_str().unwrap()])
            .status
            .success(),
        "a backup never overwrites a file"
    );

    // Refused while the server holds its directory.
    let out = ddns(&dir, &["restore", file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a server is running"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Into a fresh directory: the server serves what the backup held, a state the stream
    // went through (one of its acknowledged addresses).
    let fresh = tempfile::tempdir().unwrap();
    ddns_ok(fresh.path(), &["restore", file.to_str().unwrap()]);
    let restored = ServerProcess::start_in(bin(), fresh.path(), &[]);
    assert_eq!(
        lookup(&restored, "keep.ddns.test.", RecordType::A),
        ["192.0.2.44"]
    );
    let served = lookup(&restored, "stream.ddns.test.", RecordType::A);
    assert_eq!(served.len(), 1);
    assert!(acked.contains(&served[0]), "{served:?} was acknowledged");
    assert_ne!(
        served[0],
        *acked.last().unwrap(),
        "writes after the copy are not in it"
    );
    let (_, body) = nic(
        &restored,
        Some(&token),
        "hostname=keep.ddns.test&myip=192.0.2.45",
    )
    .await;
    assert_eq!(body, "good 192.0.2.45", "its tokens work");
    let out = ddns_ok(fresh.path(), &["audit", "--actor", "cli"]);
    assert!(out.contains("store.restore"), "{out}");
    assert!(restored.stop());

    // A corrupted copy and a file that is no database are refused; nothing changes.
    let mut bytes = std::fs::read(&file).unwrap();
    let page = 4096;
    for b in &mut bytes[page + 100..page * 2] {
        *b = 0x5a;
    }
    let corrupt = backups.path().join("corrupt.backup");
    std::fs::write(&corrupt, &bytes).unwrap();
    let garbage = backups.path().join("garbage.backup");
    std::fs::write(&garbage, "not a database at all, just text ".repeat(200)).unwrap();
    for bad in [&corrupt, &garbage] {
        let out = ddns(fresh.path(), &["restore", bad.to_str().unwrap()]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("nothing changed"), "{stderr}");
    }
    let again = ServerProcess::start_in(bin(), fresh.path(), &[]);
    assert_eq!(
        lookup(&again, "keep.ddns.test.", RecordType::A),
        ["192.0.2.45"]
    );
    assert!(again.stop());

    // Restoring over a store keeps the one it replaces beside it.
    ddns_ok(fresh.path(), &["restore", file.to_str().unwrap()]);
    let kept: Vec<String> = std::fs::read_dir(fresh.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ddns.sqlite3.before-restore-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    drop(s);
}

/// Reads octet-counted syslog frames (RFC 6587) from `conn` until `done` holds for the frames
/// read so far or 10 s pass.
fn read_frames(conn: &mut std::net::TcpStream, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    use std::io::Read as _;
    conn.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let mut frames = Vec::new();
    while !done(&frames) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "got only {frames:#?}"
        );
        let mut chunk = [0u8; 4096];
        match conn.read(&mut chunk) {
            Ok(0) => panic!("the server closed the syslog connection"),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => continue,
        }
        split_frames(&mut buf, &mut frames);
    }
    frames
}

#[tokio::test]
async fn the_audit_trail_streams_to_a_syslog_collector() {
    let collector = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (_config, s) = server_with_config(&format!(
        "version = 1\n[audit]\nsyslog = \"tcp://{}\"\n[[zone]]\nname = \"ddns.test\"\n",
        collector.local_addr().unwrap()
    ));
    let token = s.token(&["siem.ddns.test"]);
    let (_, body) = nic_at(
        &s,
        "/nic/update",
        Some(&token),
        "hostname=siem.ddns.test&myip=192.0.2.77",
        Some("router \"x\" ]/1"),
    )
    .await;
    assert_eq!(body, "good 192.0.2.77");
    let (mut conn, _) = collector.accept().unwrap();
    let frames = read_frames(&mut conn, |f| f.len() >= 2);
    let create = frames.iter().find(|f| f.contains(" admin ")).unwrap();
    assert!(create.starts_with("<109>1 "), "{create}");
    assert!(
        create.contains(&format!(
            "action=\"token.create\" target=\"{}\"",
            token_id(&token)
        )),
        "{create}"
    );
    let change = frames.iter().find(|f| f.contains(" change ")).unwrap();
    assert!(
        change.contains(&format!("actor=\"token:{}\"", token_id(&token))),
        "{change}"
    );
    assert!(change.contains("source_ip=\"127.0.0.1\""), "{change}");
    assert!(
        change.contains(r#"user_agent="router \"x\" \]/1""#),
        "escaped as RFC 5424 says: {change}"
    );
    assert!(
        change.ends_with("siem.ddns.test A - -> 60 192.0.2.77"),
        "{change}"
    );

    // A collector that goes away and comes back gets what follows: the server finds the
    // connection gone at its next writes and connects again.
    drop(conn);
    collector.set_nonblocking(true).unwrap();
    let started = Instant::now();
    let mut conn = loop {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no reconnection"
        );
        nic(&s, Some(&token), "hostname=siem.ddns.test&myip=192.0.2.78").await;
        nic(&s, Some(&token), "hostname=siem.ddns.test&myip=192.0.2.79").await;
        match collector.accept() {
            Ok((conn, _)) => break conn,
            Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    };
    conn.set_nonblocking(false).unwrap();
    nic(&s, Some(&token), "hostname=siem.ddns.test&myip=192.0.2.80").await;
    let frames = read_frames(&mut conn, |f| f.iter().any(|m| m.contains("192.0.2.80")));
    assert!(
        frames.iter().any(|m| m.ends_with("-> 60 192.0.2.80")),
        "{frames:#?}"
    );
}

/// Splits octet-counted syslog frames (RFC 6587 §3.4.1) off the front of `buf`.
fn split_frames(buf: &mut Vec<u8>, frames: &mut Vec<String>) {
    while let Some(space) = buf.iter().position(|b| *b == b' ') {
        let len: usize = std::str::from_utf8(&buf[..space]).unwrap().parse().unwrap();
        if buf.len() < space + 1 + len {
            break;
        }
        frames.push(String::from_utf8(buf[space + 1..space + 1 + len].to_vec()).unwrap());
        buf.drain(..space + 1 + len);
    }
}

/// `openssl s_server` as a TLS syslog collector (RFC 5425) on a free loopback port: what it
/// receives, decrypted, comes out on its stdout, collected into the returned buffer.
fn tls_collector(
    cert: &Path,
    key: &Path,
) -> (
    u16,
    std::process::Child,
    std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
) {
    use std::io::Read as _;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("openssl")
        .args(["s_server", "-quiet", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(cert)
        .arg("-key")
        .arg(key)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl (Debian package openssl) runs");
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let sink = std::sync::Arc::clone(&received);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "openssl s_server did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (port, child, received)
}

#[tokio::test]
async fn the_audit_trail_streams_over_tls_to_a_collector_the_ca_file_trusts() {
    let dir = tempfile::tempdir().unwrap();
    let ca = crate::tls::TestCa::new();
    let (cert, key) = crate::tls::install(dir.path(), &ca.leaf(&["127.0.0.1"]));
    let (port, mut collector, received) = tls_collector(&cert, &key);
    let config = |ca_pem: &str, name: &str| {
        let ca_file = dir.path().join(name);
        std::fs::write(&ca_file, ca_pem).unwrap();
        format!(
            "version = 1\n[audit]\nsyslog = \"tls://127.0.0.1:{port}\"\nca_file = {ca_file:?}\n\
             [[zone]]\nname = \"ddns.test\"\n"
        )
    };

    // A collector whose certificate the CA file does not vouch for gets nothing.
    let other = crate::tls::TestCa::new();
    let (_d, s) = server_with_config(&config(&other.pem, "other-ca.pem"));
    let token = s.token(&["tls.ddns.test"]);
    nic(&s, Some(&token), "hostname=tls.ddns.test&myip=192.0.2.90").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(s.stop());
    assert!(
        received.lock().unwrap().is_empty(),
        "sent to an unverified collector"
    );

    let (_d, s) = server_with_config(&config(&ca.pem, "ca.pem"));
    let token = s.token(&["tls.ddns.test"]);
    nic(&s, Some(&token), "hostname=tls.ddns.test&myip=192.0.2.91").await;
    let started = Instant::now();
    let mut frames = Vec::new();
    while !frames.iter().any(|f: &String| f.contains(" change ")) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "got only {frames:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        split_frames(&mut received.lock().unwrap(), &mut frames);
    }
    let change = frames.iter().find(|f| f.contains(" change ")).unwrap();
    assert!(change.starts_with("<109>1 "), "{change}");
    assert!(
        change.ends_with("tls.ddns.test A - -> 60 192.0.2.91"),
        "{change}"
    );
    assert!(
        frames
            .iter()
            .any(|f| f.contains(&format!("target=\"{}\"", token_id(&token)))),
        "{frames:#?}"
    );
    let _ = collector.kill();
    let _ = collector.wait();
}

#[tokio::test]
async fn the_audit_trail_goes_to_a_webhook_as_json_lines_and_a_refused_batch_is_sent_again() {
    use ddns_testkit::fake_http::{FakeHttp, Reply};
    let hook = FakeHttp::start("");
    hook.answer_once(Reply {
        status: 503,
        headers: vec![("Retry-After".into(), "1".into())],
        body: "busy".into(),
    });
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("hook-token");
    std::fs::write(&token_file, "hook-s3cret\n").unwrap();
    let (_config, s) = server_with_config(&format!(
        "version = 1\n[audit]\nwebhook = \"{}/ingest?src=ddns\"\nwebhook_token_file = {token_file:?}\n\
         [[zone]]\nname = \"ddns.test\"\n",
        hook.url()
    ));
    let token = s.token(&["hook.ddns.test"]);
    nic(&s, Some(&token), "hostname=hook.ddns.test&myip=192.0.2.60").await;
    nic(&s, Some(&token), "hostname=hook.ddns.test&myip=192.0.2.61").await;

    // Every entry arrives, in commit order, whatever the batches were.
    let started = Instant::now();
    let lines = loop {
        let accepted: Vec<Value> = hook
            .requests()
            .iter()
            .skip(1)
            .flat_map(|r| {
                r.body
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect::<Vec<Value>>()
            })
            .collect();
        if accepted.iter().filter(|l| l["kind"] == "change").count() >= 2 {
            break accepted;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{:#?}",
            hook.requests()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let requests = hook.requests();
    let first = &requests[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.target, "/ingest?src=ddns");
    assert_eq!(first.header("authorization"), Some("Bearer hook-s3cret"));
    assert_eq!(first.header("content-type"), Some("application/x-ndjson"));
    assert!(first.body.ends_with('\n'));
    // The refused batch is the start of what was accepted, sent again whole.
    let refused: Vec<Value> = first
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[..refused.len()], refused[..]);
    let kinds: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap(),
                l["action"]
                    .as_str()
                    .or(l["new"]["values"][0].as_str())
                    .unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(kinds[0], ("admin", "token.create"), "{lines:#?}");
    let changes: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "change").collect();
    assert_eq!(
        changes[0]["name"].as_str().map(|n| n.trim_end_matches('.')),
        Some("hook.ddns.test")
    );
    assert_eq!(changes[1]["new"]["values"][0], "192.0.2.61");
    assert_eq!(changes.len(), 2, "{lines:#?}");
    assert!(changes[0]["cursor"].is_string());
    assert!(
        lines.windows(2).all(|w| w[0]["cursor"] != w[1]["cursor"]),
        "no entry twice once accepted"
    );
}

#[test]
fn each_changed_configuration_is_kept_with_an_audit_row() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = dir.path().join("ddns.toml");
    let first = "version = 1\n[[zone]]\nname = \"ddns.test\"\n";
    let second =
        "version = 1\n[[zone]]\nname = \"ddns.test\"\nrecords = [\"www 300 IN A 192.0.2.5\"]\n";
    let start = || ServerProcess::start_in(bin(), &data, &["--config", path.to_str().unwrap()]);
    std::fs::write(&path, first).unwrap();
    assert!(start().stop());
    // The same text again keeps nothing new.
    assert!(start().stop());
    std::fs::write(&path, second).unwrap();
    let s = start();
    assert_eq!(lookup(&s, "www.ddns.test.", RecordType::A), ["192.0.2.5"]);
    assert!(s.stop());

    let mut kept: Vec<_> = std::fs::read_dir(data.join("config-versions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    kept.sort();
    let texts: Vec<String> = kept
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(texts, [first, second]);
    let trail = ddns_ok(&data, &["audit", "--actor", "config"]);
    let rows: Vec<&str> = trail
        .lines()
        .filter(|l| l.contains("config.change"))
        .collect();
    assert_eq!(rows.len(), 2, "{trail}");
    let newest = kept[1].file_name().unwrap().to_str().unwrap();
    let older = kept[0].file_name().unwrap().to_str().unwrap();
    assert!(
        trail.contains(&format!("kept as {newest}; was {older}")),
        "{trail}"
    );
}
