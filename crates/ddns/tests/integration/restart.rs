use serde_json::Value;

use crate::common::*;

#[tokio::test]
async fn restart_and_crash_keep_every_acknowledged_update() {
    let dir = tempfile::tempdir().unwrap();
    let s = ServerProcess::start_in(bin(), dir.path(), &[]);
    let token = s.token(&["*.ddns.test"]);
    let mut expected = Vec::new();
    for i in 1..=30u8 {
        let host = format!("h{i}.ddns.test");
        let (status, body) = nic(
            &s,
            Some(&token),
            &format!("hostname={host}&myip=198.51.100.{i}"),
        )
        .await;
        assert_eq!(
            (status, body.clone()),
            (200, format!("good 198.51.100.{i}"))
        );
        expected.push((host, format!("198.51.100.{i}")));
    }
    // Change one host again so it has two history rows.
    nic(&s, Some(&token), "hostname=h1.ddns.test&myip=203.0.113.1").await;
    expected[0].1 = "203.0.113.1".into();
    let serial_before = serial(&s);
    s.kill(); // SIGKILL: no shutdown path runs.

    let s = ServerProcess::start_in(bin(), dir.path(), &[]);
    for (host, addr) in &expected {
        assert_eq!(
            lookup(&s, &format!("{host}."), RecordType::A),
            std::slice::from_ref(addr),
            "{host} after a crash"
        );
    }
    assert_eq!(serial(&s), serial_before, "the serial survives");
    let history: Value = get_json(s.url("/api/v1/hosts/h1.ddns.test/history"), &token).await;
    assert_eq!(
        history.as_array().unwrap().len(),
        2,
        "one history row per change"
    );
    assert!(s.stop(), "SIGTERM ends the server cleanly");

    let s = ServerProcess::start_in(bin(), dir.path(), &[]);
    assert_eq!(
        lookup(&s, "h30.ddns.test.", RecordType::A),
        ["198.51.100.30"]
    );
}

#[tokio::test]
async fn cli_changes_reach_a_running_server() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    nic(&s, Some(&token), "hostname=home.ddns.test&myip=192.0.2.1").await;
    let dir = s.data_dir.display().to_string();
    ddns_testkit::run_ok(bin(), &["host", "rm", "--data-dir", &dir, "home.ddns.test"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !lookup(&s, "home.ddns.test.", RecordType::A).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the running server did not pick up the CLI's change"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Concurrent writers through DynDNS2 (so their changes share group commits), some of them
/// refused, and a SIGKILL while requests are in flight: every request got its own exact
/// answer, and every `good` is in DNS after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_in_the_middle_of_group_commits_loses_nothing_acknowledged() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const WRITERS: usize = 24;
    const PER_WRITER: usize = 35; // 840 hosts: within the token's default host quota
    let dir = tempfile::tempdir().unwrap();
    let s = ServerProcess::start_in(bin(), dir.path(), &[]);
    let token = s.token(&["*.ddns.test"]);
    let url = s.url("/nic/update");
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (url, token, acknowledged) = (url.clone(), token.clone(), Arc::clone(&acknowledged));
        writers.push(tokio::spawn(async move {
            let client = http();
            let mut good = Vec::new();
            for k in 0..PER_WRITER {
                // Every seventh request names a host outside the served zone.
                let refused = k % 7 == 3;
                let host = if refused {
                    format!("c{w}-{k}.elsewhere.test")
                } else {
                    format!("c{w}-{k}.ddns.test")
                };
                let ip = format!("10.{w}.{k}.1");
                let sent = client
                    .get(format!("{url}?hostname={host}&myip={ip}"))
                    .basic_auth("user", Some(&token))
                    .send()
                    .await;
                // The server was killed: this request and the rest go unanswered.
                let Ok(response) = sent else { break };
                let Ok(body) = response.text().await else {
                    break;
                };
                if refused {
                    assert_eq!(body, "nohost", "{host}");
                } else {
                    assert_eq!(body, format!("good {ip}"), "{host}: its own answer");
                    good.push((host, ip));
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                }
            }
            good
        }));
    }
    // Kill once a good part of the updates is through, with the rest in flight.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while acknowledged.load(Ordering::Relaxed) < 250 {
        assert!(std::time::Instant::now() < deadline, "updates too slow");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    s.kill();
    let mut good = Vec::new();
    for writer in writers {
        good.extend(writer.await.unwrap());
    }
    assert!(good.len() >= 250, "{}", good.len());
    assert!(
        good.len() < WRITERS * PER_WRITER * 6 / 7,
        "the kill came after every request was answered"
    );

    let s = ServerProcess::start_in(bin(), dir.path(), &[]);
    for (host, ip) in &good {
        assert_eq!(
            lookup(&s, &format!("{host}."), RecordType::A),
            std::slice::from_ref(ip),
            "{host} was acknowledged before the crash"
        );
    }
}
