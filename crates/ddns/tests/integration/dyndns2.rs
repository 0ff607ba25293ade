use std::process::{Command, Stdio};

use crate::common::*;

#[tokio::test]
async fn good_then_nochg_without_serial_bump() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    let before = serial(&s);
    assert_eq!(
        nic(&s, Some(&token), "hostname=home.ddns.test&myip=192.0.2.10").await,
        (200, "good 192.0.2.10".into())
    );
    assert_eq!(lookup(&s, "home.ddns.test.", RecordType::A), ["192.0.2.10"]);
    let after_good = serial(&s);
    assert!(after_good > before, "a change bumps the serial");
    assert_eq!(
        nic(&s, Some(&token), "hostname=home.ddns.test&myip=192.0.2.10").await,
        (200, "nochg 192.0.2.10".into())
    );
    assert_eq!(serial(&s), after_good, "nochg leaves the serial alone");
}

#[tokio::test]
async fn aliases_and_post() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    for (i, path) in ["/nic/update", "/update", "/v3/update"].iter().enumerate() {
        let query = format!("hostname=home.ddns.test&myip=192.0.2.{}", 20 + i);
        assert_eq!(
            nic_at(&s, path, Some(&token), &query, None).await,
            (200, format!("good 192.0.2.{}", 20 + i)),
            "{path}"
        );
    }
    let response = http()
        .post(s.url("/nic/update?hostname=home.ddns.test&myip=192.0.2.30"))
        .basic_auth("home.ddns.test", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "good 192.0.2.30");
}

#[tokio::test]
async fn badauth() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    let response = http()
        .get(s.url("/nic/update?hostname=home.ddns.test&myip=192.0.2.1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"ddns\"",
        "routers wait for the challenge"
    );
    assert_eq!(response.text().await.unwrap(), "badauth");
    let mut wrong = token.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    assert_eq!(
        nic(&s, Some(&wrong), "hostname=home.ddns.test&myip=192.0.2.1").await,
        (401, "badauth".into())
    );
    assert_eq!(
        nic(
            &s,
            Some("hunter2"),
            "hostname=home.ddns.test&myip=192.0.2.1"
        )
        .await,
        (401, "badauth".into())
    );
    assert!(lookup(&s, "home.ddns.test.", RecordType::A).is_empty());
}

#[tokio::test]
async fn a_token_revoked_with_the_cli_is_refused_by_the_running_server() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    let query = "hostname=home.ddns.test&myip=192.0.2.40";
    // Verified once: from now on the server answers this token from memory.
    assert_eq!(
        nic(&s, Some(&token), query).await,
        (200, "good 192.0.2.40".into())
    );
    let id = &token["ddns_".len().."ddns_".len() + 13];
    let dir = s.data_dir.display().to_string();
    ddns_testkit::run_ok(bin(), &["token", "revoke", "--data-dir", &dir, id]);
    let revoked = std::time::Instant::now();
    // Accepted at most until the server's next poll of the store (every 500 ms).
    while nic(&s, Some(&token), query).await != (401, "badauth".into()) {
        assert!(
            revoked.elapsed() < std::time::Duration::from_secs(3),
            "still accepted after the revoke"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        nic(&s, Some(&token), "hostname=home.ddns.test&myip=192.0.2.41").await,
        (401, "badauth".into())
    );
    assert_eq!(lookup(&s, "home.ddns.test.", RecordType::A), ["192.0.2.40"]);
}

#[tokio::test]
async fn notfqdn_and_numhost() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    assert_eq!(
        nic(
            &s,
            Some(&token),
            "hostname=bad%20name.ddns.test&myip=192.0.2.1"
        )
        .await,
        (400, "notfqdn".into())
    );
    assert_eq!(
        nic(&s, Some(&token), "hostname=localhost&myip=192.0.2.1").await,
        (400, "notfqdn".into())
    );
    // No hostname and a Basic user that is not a name.
    assert_eq!(
        nic(&s, Some(&token), "myip=192.0.2.1").await,
        (400, "notfqdn".into())
    );
    let label64 = "a".repeat(64);
    assert_eq!(
        nic(&s, Some(&token), &format!("hostname={label64}.ddns.test")).await,
        (400, "notfqdn".into())
    );
    let many = vec!["home.ddns.test"; 21].join(",");
    assert_eq!(
        nic(&s, Some(&token), &format!("hostname={many}&myip=192.0.2.1")).await,
        (400, "numhost".into())
    );
    assert!(lookup(&s, "home.ddns.test.", RecordType::A).is_empty());
}

#[tokio::test]
async fn nohost_for_foreign_names_and_no_partial_updates() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    let _other = s.token(&["victim.ddns.test"]);
    assert_eq!(
        nic(
            &s,
            Some(&token),
            "hostname=victim.ddns.test&myip=192.0.2.66"
        )
        .await,
        (404, "nohost".into())
    );
    assert_eq!(
        nic(
            &s,
            Some(&token),
            "hostname=home.example.org&myip=192.0.2.66"
        )
        .await,
        (404, "nohost".into())
    );
    // dyndnsd let one permitted name carry a foreign one through; here nothing changes.
    assert_eq!(
        nic(
            &s,
            Some(&token),
            "hostname=home.ddns.test,victim.ddns.test&myip=192.0.2.66"
        )
        .await,
        (404, "nohost".into())
    );
    assert!(lookup(&s, "home.ddns.test.", RecordType::A).is_empty());
    assert!(lookup(&s, "victim.ddns.test.", RecordType::A).is_empty());
}

#[tokio::test]
async fn one_line_per_host_in_order() {
    let s = server(&[]);
    let token = s.token(&["*.lab.ddns.test"]);
    assert_eq!(
        nic(&s, Some(&token), "hostname=b.lab.ddns.test&myip=192.0.2.5")
            .await
            .1,
        "good 192.0.2.5"
    );
    let (status, body) = nic(
        &s,
        Some(&token),
        "hostname=a.lab.ddns.test,b.lab.ddns.test,c.lab.ddns.test&myip=192.0.2.5",
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (200, "good 192.0.2.5\nnochg 192.0.2.5\ngood 192.0.2.5")
    );
    for h in ["a", "b", "c"] {
        assert_eq!(
            lookup(&s, &format!("{h}.lab.ddns.test."), RecordType::A),
            ["192.0.2.5"]
        );
    }
}

#[tokio::test]
async fn families_are_independent_and_dual_stack_works() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    assert_eq!(
        nic(
            &s,
            Some(&token),
            "hostname=home.ddns.test&myip=192.0.2.1,2001:db8::1"
        )
        .await,
        (200, "good 192.0.2.1,2001:db8::1".into())
    );
    assert_eq!(
        nic(&s, Some(&token), "hostname=home.ddns.test&myip=192.0.2.2")
            .await
            .1,
        "good 192.0.2.2"
    );
    assert_eq!(
        lookup(&s, "home.ddns.test.", RecordType::AAAA),
        ["2001:db8::1"],
        "updating A keeps AAAA"
    );
    assert_eq!(
        nic(
            &s,
            Some(&token),
            "hostname=home.ddns.test&myip=no&myipv6=2001:db8::2"
        )
        .await
        .1,
        "good 2001:db8::2"
    );
    assert_eq!(
        lookup(&s, "home.ddns.test.", RecordType::A),
        ["192.0.2.2"],
        "updating AAAA keeps A"
    );
    assert_eq!(
        lookup(&s, "home.ddns.test.", RecordType::AAAA),
        ["2001:db8::2"]
    );
}

#[tokio::test]
async fn missing_or_empty_myip_uses_the_connection() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    assert_eq!(
        nic(&s, Some(&token), "hostname=home.ddns.test&myip=").await,
        (200, "good 127.0.0.1".into())
    );
    assert_eq!(
        nic(&s, Some(&token), "hostname=home.ddns.test").await,
        (200, "nochg 127.0.0.1".into())
    );
    assert_eq!(lookup(&s, "home.ddns.test.", RecordType::A), ["127.0.0.1"]);
}

#[tokio::test]
async fn trusted_proxy_headers() {
    let (_dir, s) = server_with_config("version = 1\n[http]\ntrusted_proxies = [\"127.0.0.1\"]\n");
    let token = s.token(&["home.ddns.test"]);
    let response = http()
        .get(s.url("/nic/update?hostname=home.ddns.test"))
        .basic_auth("u", Some(&token))
        .header("x-forwarded-for", "198.51.100.77")
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "good 198.51.100.77");
    // An untrusted client's header is ignored.
    let plain = server(&[]);
    let token = plain.token(&["home.ddns.test"]);
    let response = http()
        .get(plain.url("/nic/update?hostname=home.ddns.test"))
        .basic_auth("u", Some(&token))
        .header("x-forwarded-for", "198.51.100.77")
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "good 127.0.0.1");
}

#[tokio::test]
async fn offline_removes_addresses() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    nic(
        &s,
        Some(&token),
        "hostname=home.ddns.test&myip=192.0.2.1,2001:db8::1",
    )
    .await;
    assert_eq!(
        nic(&s, Some(&token), "hostname=home.ddns.test&offline=YES").await,
        (200, "good".into())
    );
    assert!(lookup(&s, "home.ddns.test.", RecordType::A).is_empty());
    assert!(lookup(&s, "home.ddns.test.", RecordType::AAAA).is_empty());
    assert_eq!(
        nic(&s, Some(&token), "hostname=home.ddns.test&offline=YES").await,
        (200, "nochg".into())
    );
}

#[tokio::test]
async fn badagent_and_abuse() {
    let (_dir, s) = server_with_config(
        "version = 1\n[dyndns2]\nblocked_user_agents = [\"BadBot\"]\nupdates_per_host_per_minute = 3\n",
    );
    let token = s.token(&["home.ddns.test"]);
    assert_eq!(
        nic_at(
            &s,
            "/nic/update",
            Some(&token),
            "hostname=home.ddns.test&myip=192.0.2.1",
            Some("Mozilla BadBot/2")
        )
        .await,
        (403, "badagent".into())
    );
    for i in 0..3 {
        let (status, _) = nic(
            &s,
            Some(&token),
            &format!("hostname=home.ddns.test&myip=192.0.2.{}", i + 1),
        )
        .await;
        assert_eq!(status, 200);
    }
    let response = http()
        .get(s.url("/nic/update?hostname=home.ddns.test&myip=192.0.2.9"))
        .basic_auth("u", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().get("retry-after").is_some());
    assert_eq!(response.text().await.unwrap(), "abuse");
    assert_eq!(
        lookup(&s, "home.ddns.test.", RecordType::A),
        ["192.0.2.3"],
        "the refused update changed nothing"
    );
}

#[tokio::test]
async fn dnserr_for_bad_addresses_and_a_busy_store() {
    let (_dir, s) = server_with_config("version = 1\n[store]\nbusy_timeout = \"300ms\"\n");
    let token = s.token(&["home.ddns.test"]);
    for bad in [
        "1234",
        "192.0.2.1.5",
        "999.1.1.1",
        "2001:db8::g",
        "0.0.0.0",
        "192.0.2.0/24",
        "%E4%BD%A0%E5%A5%BD",
    ] {
        assert_eq!(
            nic(
                &s,
                Some(&token),
                &format!("hostname=home.ddns.test&myip={bad}")
            )
            .await,
            (400, "dnserr".into()),
            "{bad}"
        );
    }
    assert!(lookup(&s, "home.ddns.test.", RecordType::A).is_empty());

    // Another process holds the database's write lock longer than the busy timeout.
    let db = s.data_dir.join("ddns.sqlite3");
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys,time\nc=sqlite3.connect(sys.argv[1],isolation_level=None)\nc.execute('BEGIN IMMEDIATE')\nprint('locked',flush=True)\ntime.sleep(30)",
            db.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is needed to hold a SQLite lock");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let response = http()
        .get(s.url("/nic/update?hostname=home.ddns.test&myip=192.0.2.1"))
        .basic_auth("u", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().get("retry-after").is_some());
    assert_eq!(response.text().await.unwrap(), "dnserr");
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(
        nic(&s, Some(&token), "hostname=home.ddns.test&myip=192.0.2.1")
            .await
            .1,
        "good 192.0.2.1",
        "works once the lock is gone"
    );
}

#[tokio::test]
async fn server_error_911_when_the_disk_is_full() {
    // An 8 MiB tmpfs as data directory (CI runs as root; mounting is part of the test).
    let mount = tempfile::tempdir().unwrap();
    let status = Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=8m",
            "tmpfs",
            mount.path().to_str().unwrap(),
        ])
        .status()
        .expect("mount(8) is needed");
    assert!(status.success(), "this test mounts a tmpfs and needs root");
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mount.path().to_path_buf());
    let s = ServerProcess::start_in(bin(), mount.path(), &[]);
    let token = s.token(&["home.ddns.test"]);
    assert_eq!(
        nic(&s, Some(&token), "hostname=home.ddns.test&myip=192.0.2.1")
            .await
            .1,
        "good 192.0.2.1"
    );
    // Fill the file system.
    let filler = mount.path().join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", &format!("of={}", filler.display()), "bs=4k"])
        .stderr(Stdio::null())
        .status();
    let mut last = (0, String::new());
    for i in 2..40 {
        last = nic(
            &s,
            Some(&token),
            &format!("hostname=home.ddns.test&myip=192.0.2.{i}"),
        )
        .await;
        if last.0 != 200 {
            break;
        }
    }
    assert_eq!(last, (500, "911".into()));
    let acknowledged = lookup(&s, "home.ddns.test.", RecordType::A);
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(
        nic(
            &s,
            Some(&token),
            "hostname=home.ddns.test&myip=198.51.100.1"
        )
        .await
        .1,
        "good 198.51.100.1",
        "the server keeps serving once there is room again (it answered {acknowledged:?} meanwhile)"
    );
    s.stop();
}
