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
