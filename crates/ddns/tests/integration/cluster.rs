//! Several `ddns server` nodes on one PostgreSQL database (`--store-url postgres://…`): a change
//! accepted by one node is answered by every node, concurrent changes through several nodes
//! end in identical zones with serials in order, a database restart is ridden out, and the
//! connections are TLS with the server's certificate verified when the URL asks for it.

use std::time::{Duration, Instant};

use ddns_testkit::postgres::Postgres;

use crate::common::*;

/// Two nodes of one cluster (each its own data directory, as on two machines) serving
/// `ddns.test`, by AXFR to 127.0.0.1 too, with `extra` configuration; the returned directory
/// holds their config file.
fn nodes(url: &str, extra: &str) -> (tempfile::TempDir, ServerProcess, ServerProcess) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ddns.toml");
    std::fs::write(
        &config,
        format!(
            "version = 1\n{extra}\n[[zone]]\nname = \"ddns.test\"\nallow_transfer = [\"127.0.0.1\"]\n"
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let a = server(&["--config", config, "--store-url", url]);
    let b = server(&["--config", config, "--store-url", url]);
    (dir, a, b)
}

/// A token for `hosts`, made with the CLI against the shared database.
fn token(url: &str, hosts: &[&str]) -> String {
    let mut args = vec!["token", "create", "--store-url", url];
    for h in hosts {
        args.extend(["--host", h]);
    }
    ddns_testkit::run_ok(bin(), &args).trim().to_owned()
}

/// Waits until `node` answers `name` with `want`; returns how long that took.
fn until_answered(node: &ServerProcess, name: &str, want: &[&str], within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let got = lookup(node, name, RecordType::A);
        if got == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{name} on {}: {got:?}, not {want:?} after {within:?}",
            node.dns
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test]
async fn a_change_through_one_node_is_answered_by_the_other() {
    let url = Postgres::shared().database();
    // Polling once an hour: only the commit's notification (LISTEN/NOTIFY) can bring a change
    // to the other node within the second asserted below.
    let (_config, a, b) = nodes(&url, "[store]\npoll_interval = \"1h\"");
    assert!(
        a.banner.contains("PostgreSQL") && b.banner.contains("PostgreSQL"),
        "the banner names the store:\n{}",
        a.banner
    );
    let token = token(&url, &["*.ddns.test"]);
    let mut slowest = Duration::ZERO;
    for i in 1..=5u8 {
        let (status, body) = nic(
            &a,
            Some(&token),
            &format!("hostname=h{i}.ddns.test&myip=198.51.100.{i}"),
        )
        .await;
        assert_eq!((status, body), (200, format!("good 198.51.100.{i}")));
        let took = until_answered(
            &b,
            &format!("h{i}.ddns.test."),
            &[&format!("198.51.100.{i}")],
            Duration::from_secs(5),
        );
        slowest = slowest.max(took);
        // And back the other way, through the token cache of the other node.
        let (status, _) = nic(
            &b,
            Some(&token),
            &format!("hostname=h{i}.ddns.test&myip=203.0.113.{i}"),
        )
        .await;
        assert_eq!(status, 200);
        until_answered(
            &a,
            &format!("h{i}.ddns.test."),
            &[&format!("203.0.113.{i}")],
            Duration::from_secs(5),
        );
    }
    eprintln!("slowest propagation from node A to node B: {slowest:?}");
    assert!(
        slowest < Duration::from_secs(1),
        "a change reaches the other node within 1 s (slowest {slowest:?})"
    );
    assert_eq!(serial(&a), serial(&b));

    // Revoked with the CLI on the database: both nodes, which hold the token in their caches,
    // refuse it within a second.
    let list = ddns_testkit::run_ok(bin(), &["token", "list", "--store-url", &url]);
    let id = list
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no token listed:\n{list}"));
    ddns_testkit::run_ok(bin(), &["token", "revoke", "--store-url", &url, id]);
    for node in [&a, &b] {
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            let (status, body) =
                nic(node, Some(&token), "hostname=h1.ddns.test&myip=192.0.2.9").await;
            if body == "badauth" {
                assert_eq!(status, 401);
                break;
            }
            assert_eq!(status, 200, "{body}");
            assert!(
                Instant::now() < deadline,
                "{} still takes the revoked token",
                node.dns
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn concurrent_changes_through_both_nodes_end_identical_with_serials_in_order() {
    let url = Postgres::shared().database();
    let (_config, a, b) = nodes(&url, "");
    let token = token(&url, &["*.ddns.test"]);
    let start_serial = serial(&b);
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    // Node B's serial, sampled all along: it only ever goes up.
    let sampler = {
        let dns = b.dns;
        let watching = watching.clone();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                let reply = dns::udp(dns, "ddns.test.", RecordType::SOA);
                seen.extend(dns::soa_serial(&reply));
                std::thread::sleep(Duration::from_millis(5));
            }
            seen
        })
    };
    let mut writes = Vec::new();
    for i in 0..40u8 {
        let node = if i % 2 == 0 { &a } else { &b };
        let url = node.url("/nic/update");
        let token = token.clone();
        // Half the names are written through both nodes at once: the last commit wins on both.
        let host = format!("c{}.ddns.test", i % 30);
        writes.push(tokio::spawn(async move {
            let response = http()
                .get(format!("{url}?hostname={host}&myip=192.0.2.{}", i + 1))
                .basic_auth("user", Some(token))
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }));
    }
    for write in writes {
        let (status, body) = write.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(
            body.starts_with("good ") || body.starts_with("nochg "),
            "{body}"
        );
    }
    // Both nodes converge on one serial, then on the same answers.
    let deadline = Instant::now() + Duration::from_secs(5);
    while serial(&a) != serial(&b) {
        assert!(Instant::now() < deadline, "the nodes' serials do not meet");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(600)); // one more follower round on both
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    let seen = sampler.join().unwrap();
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "node B's serial never goes back: {seen:?}"
    );
    assert_eq!(serial(&a), serial(&b));
    assert!(serial(&b) > start_serial);
    for i in 0..30 {
        let name = format!("c{i}.ddns.test.");
        let on_a = lookup(&a, &name, RecordType::A);
        assert_eq!(on_a.len(), 1, "{name}: {on_a:?}");
        assert_eq!(on_a, lookup(&b, &name, RecordType::A), "{name}");
    }
    let axfr = |node: &ServerProcess| {
        let mut lines: Vec<String> = run_tool(
            "dig",
            &[
                "+tcp",
                "+nocmd",
                "+nostats",
                "+nocomments",
                "-p",
                &node.dns.port().to_string(),
                "@127.0.0.1",
                "ddns.test",
                "AXFR",
            ],
        )
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
        lines.sort();
        lines
    };
    let zone_a = axfr(&a);
    assert!(zone_a.len() > 30, "{zone_a:?}");
    assert_eq!(zone_a, axfr(&b), "both nodes serve the same zone");
}

#[tokio::test]
async fn both_nodes_ride_out_a_database_restart() {
    let mut pg = Postgres::start();
    let url = pg.database();
    let (_config, a, b) = nodes(&url, "");
    let token = token(&url, &["*.ddns.test"]);
    let (status, _) = nic(&a, Some(&token), "hostname=r.ddns.test&myip=198.51.100.7").await;
    assert_eq!(status, 200);
    until_answered(
        &b,
        "r.ddns.test.",
        &["198.51.100.7"],
        Duration::from_secs(5),
    );

    pg.restart(); // every connection of both nodes is cut
    // DNS is served from each node's snapshot all along.
    assert_eq!(lookup(&a, "r.ddns.test.", RecordType::A), ["198.51.100.7"]);
    assert_eq!(lookup(&b, "r.ddns.test.", RecordType::A), ["198.51.100.7"]);
    // Writes succeed again through fresh connections, and reach the other node.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = nic(&b, Some(&token), "hostname=r.ddns.test&myip=198.51.100.8").await;
        if status == 200 && body == "good 198.51.100.8" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "node B still refuses updates after the restart: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    until_answered(
        &a,
        "r.ddns.test.",
        &["198.51.100.8"],
        Duration::from_secs(5),
    );
    let (status, body) = nic(&a, Some(&token), "hostname=r2.ddns.test&myip=198.51.100.9").await;
    assert_eq!((status, body.as_str()), (200, "good 198.51.100.9"));
    until_answered(
        &b,
        "r2.ddns.test.",
        &["198.51.100.9"],
        Duration::from_secs(5),
    );
    assert_eq!(serial(&a), serial(&b));
}

#[tokio::test]
async fn a_node_reaches_postgresql_over_verified_tls_and_refuses_a_server_it_cannot_verify() {
    let ca = crate::tls::TestCa::new();
    let leaf = ca.leaf(&["127.0.0.1", "localhost"]);
    let pg = Postgres::start_tls(&leaf.cert_pem, &leaf.key_pem);
    let url = pg.database();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("pg-ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let verified = format!(
        "{url}?sslmode=verify-full&sslrootcert={}",
        ca_file.display()
    );
    let node = server(&["--store-url", &verified]);
    let token = token(&verified, &["*.ddns.test"]);
    let (status, body) = nic(
        &node,
        Some(&token),
        "hostname=t.ddns.test&myip=198.51.100.4",
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "good 198.51.100.4"));
    let database = url.rsplit('/').next().unwrap();
    let encrypted = pg.psql(
        database,
        &format!(
            "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
             WHERE ssl AND datname = '{database}' AND pid <> pg_backend_pid()"
        ),
    );
    assert!(
        encrypted.trim().parse::<u32>().unwrap() >= 1,
        "the node's connections are encrypted: {encrypted}"
    );

    // A root that did not sign the server's certificate: the node does not start, and says why.
    let other = crate::tls::TestCa::new();
    std::fs::write(&ca_file, &other.pem).unwrap();
    let refused = std::process::Command::new(bin())
        .args(["token", "list", "--store-url", &verified])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    eprintln!("with another root: {stderr}");
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot open the database")
            && stderr.to_lowercase().contains("certificate"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(ddns_testkit::postgres::PASSWORD),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_cli_imports_removes_and_reports_on_the_shared_database() {
    let url = Postgres::shared().database();
    let (config, a, b) = nodes(&url, "");
    let file = config.path().join("import.zone");
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--store-url", &url]);
        std::process::Command::new(bin())
            .args(&all)
            .output()
            .unwrap()
    };
    let import = |text: &str| {
        std::fs::write(&file, text).unwrap();
        cli(&[
            "zone",
            "import",
            "--zone",
            "ddns.test",
            file.to_str().unwrap(),
        ])
    };
    let done = import(
        "$TTL 60\nimported A 198.51.100.5\nimported TXT \"hello\"\nx MX 10 mail\n\
         _smb._tcp SRV 0 0 445 imported\nimported A 198.51.100.6\n",
    );
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    for node in [&a, &b] {
        until_answered(
            node,
            "imported.ddns.test.",
            &["198.51.100.5", "198.51.100.6"],
            Duration::from_secs(2),
        );
        assert_eq!(
            lookup(node, "x.ddns.test.", RecordType::MX),
            ["10 mail.ddns.test."]
        );
    }
    // One bad line: nothing is imported, on either node.
    let bad = import("y A 192.0.2.9\nz A 1234\n");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && stderr.contains("line 2"),
        "{stderr}"
    );

    let removed = cli(&["host", "rm", "imported.ddns.test"]);
    assert!(
        removed.status.success(),
        "{}",
        String::from_utf8_lossy(&removed.stderr)
    );
    for node in [&a, &b] {
        until_answered(node, "imported.ddns.test.", &[], Duration::from_secs(2));
    }
    std::thread::sleep(Duration::from_millis(600));
    assert!(lookup(&a, "y.ddns.test.", RecordType::A).is_empty());
    assert_eq!(serial(&a), serial(&b));
    let audit = cli(&["audit"]);
    let (out, err) = (
        String::from_utf8_lossy(&audit.stdout),
        String::from_utf8_lossy(&audit.stderr),
    );
    assert!(
        out.contains("zone.import") && out.contains("host.rm"),
        "{out}{err}"
    );
    let history = cli(&["history", "imported.ddns.test"]);
    let out = String::from_utf8_lossy(&history.stdout);
    assert!(out.contains("198.51.100.5"), "{out}");
    // Backups of PostgreSQL are pg_dump's, said plainly.
    let backup = cli(&["backup", config.path().join("b.sqlite3").to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&backup.stderr);
    assert!(
        !backup.status.success() && stderr.contains("pg_dump"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_host_limit_holds_for_the_cluster_not_per_node() {
    let url = Postgres::shared().database();
    let (_config, a, b) = nodes(&url, "[dyndns2]\nupdates_per_host_per_minute = 10");
    let token = token(&url, &["*.ddns.test"]);
    for i in 1..=6u8 {
        let (status, body) = nic(
            &a,
            Some(&token),
            &format!("hostname=q.ddns.test&myip=192.0.2.{i}"),
        )
        .await;
        assert_eq!((status, body), (200, format!("good 192.0.2.{i}")));
    }
    // A few exchange rounds (every poll_interval, 500 ms) later node B knows of those six.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut answers = Vec::new();
    for i in 11..=16u8 {
        answers.push(
            nic(
                &b,
                Some(&token),
                &format!("hostname=q.ddns.test&myip=192.0.2.{i}"),
            )
            .await,
        );
    }
    let accepted = answers.iter().filter(|(s, _)| *s == 200).count();
    let abuse = answers
        .iter()
        .filter(|(s, body)| *s == 429 && body == "abuse")
        .count();
    // 10 a minute for the cluster: node B has four left (five should a token have refilled).
    assert!(
        (4..=5).contains(&accepted) && accepted + abuse == answers.len(),
        "node B after six updates through node A: {answers:?}"
    );
}

#[tokio::test]
async fn rfc2136_prerequisites_hold_across_nodes() {
    let url = Postgres::shared().database();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ddns.toml");
    std::fs::write(
        &config,
        "version = 1\n[[zone]]\nname = \"ddns.test\"\n[[zone.update]]\nsubnet = \"127.0.0.1/32\"\n\
         names = [\"*.ddns.test\"]\ntypes = [\"A\"]\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let a = server(&["--config", config, "--store-url", &url]);
    let b = server(&["--config", config, "--store-url", &url]);
    // Both nodes are asked at once to create each name only if it does not exist yet: one of
    // each pair may succeed, the other must see the name the first created (YXDOMAIN).
    for i in 0..12u8 {
        let name = format!("race{i}.ddns.test");
        let racers: Vec<_> = [(&a, 1u8), (&b, 2u8)]
            .into_iter()
            .map(|(node, last)| {
                let script = format!(
                    "server 127.0.0.1 {}\nzone ddns.test\nprereq nxdomain {name}\n\
                     update add {name} 60 A 192.0.2.{last}\nsend\n",
                    node.dns.port()
                );
                std::thread::spawn(move || {
                    let (code, text) = nsupdate(None, &script);
                    (code == 0, text)
                })
            })
            .collect();
        let results: Vec<(bool, String)> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        let won = results.iter().filter(|(ok, _)| *ok).count();
        assert_eq!(won, 1, "{name}: exactly one creation wins: {results:?}");
        let lost = results.iter().find(|(ok, _)| !*ok).unwrap();
        assert!(lost.1.contains("YXDOMAIN"), "{name}: {}", lost.1);
        let on_a = until_any(&a, &format!("{name}."));
        assert_eq!(on_a.len(), 1, "{name}: one address, not both: {on_a:?}");
        assert_eq!(until_any(&b, &format!("{name}.")), on_a);
    }
}

/// Waits until `node` answers `name` with any A records; returns them.
fn until_any(node: &ServerProcess, name: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let got = lookup(node, name, RecordType::A);
        if !got.is_empty() {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{name} not answered by {}",
            node.dns
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test]
async fn an_address_moved_back_through_the_other_node_is_not_nochg() {
    let url = Postgres::shared().database();
    let (_config, a, b) = nodes(&url, "[dyndns2]\nupdates_per_host_per_minute = 1000");
    let token = token(&url, &["*.ddns.test"]);
    let first = "hostname=m.ddns.test&myip=198.51.100.1";
    assert_eq!(nic(&a, Some(&token), first).await.0, 200);
    until_answered(
        &b,
        "m.ddns.test.",
        &["198.51.100.1"],
        Duration::from_secs(2),
    );
    // A client moves to a new address through node B and straight back through node A,
    // perhaps before node A has heard of the move: node A must store the way back, not say
    // nochg (ddns-zones' tests hold a node behind for certain; here it is a race on loopback).
    for _ in 0..20 {
        let (_, there) = nic(&b, Some(&token), "hostname=m.ddns.test&myip=198.51.100.2").await;
        assert_eq!(there, "good 198.51.100.2");
        let (_, back) = nic(&a, Some(&token), first).await;
        assert_eq!(
            back, "good 198.51.100.1",
            "node A answered from a stale snapshot"
        );
    }
    until_answered(
        &a,
        "m.ddns.test.",
        &["198.51.100.1"],
        Duration::from_secs(2),
    );
    until_answered(
        &b,
        "m.ddns.test.",
        &["198.51.100.1"],
        Duration::from_secs(2),
    );
}
