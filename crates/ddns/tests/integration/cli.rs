use std::process::Command;

use crate::common::*;

#[test]
fn version() {
    let out = ddns_testkit::run_ok(bin(), &["--version"]);
    assert_eq!(out.trim(), format!("ddns {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn config_errors_name_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "version = 1\n[dns]\nlisten = [\"127.0.0.1:0\"]\nudp_paylod = 1232\n",
    )
    .unwrap();
    let output = Command::new(bin())
        .args(["server", "--data-dir"])
        .arg(dir.path())
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}:4: unknown key `udp_paylod`", path.display())),
        "{stderr}"
    );
    assert!(
        !dir.path().join("ddns.sqlite3").exists(),
        "nothing was created"
    );
}

#[test]
fn banner_says_where_and_how_to_get_a_token() {
    let s = server(&[]);
    assert!(s.banner.contains("zone       ddns.test."));
    assert!(
        s.banner
            .contains(&format!("DNS        {} (UDP and TCP)", s.dns))
    );
    assert!(s.banner.contains("token create --data-dir"));
}

#[test]
fn token_create_prints_only_the_token() {
    let s = server(&[]);
    let dir = s.data_dir.display().to_string();
    let out = ddns_testkit::run_ok(
        bin(),
        &[
            "token",
            "create",
            "--data-dir",
            &dir,
            "--host",
            "a.ddns.test",
            "--host",
            "*.b.ddns.test",
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].starts_with("ddns_") && lines[0].len() == 50,
        "{out}"
    );
    let list = ddns_testkit::run_ok(bin(), &["token", "list", "--data-dir", &dir]);
    assert!(list.contains("*.b.ddns.test,a.ddns.test"), "{list}");
    assert!(
        !list.contains(&lines[0][18..]),
        "the secret is never listed"
    );
    let id = list
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    ddns_testkit::run_ok(bin(), &["token", "revoke", "--data-dir", &dir, id]);
    assert!(
        ddns_testkit::run_ok(bin(), &["token", "list", "--data-dir", &dir]).contains("revoked")
    );
    let bad = Command::new(bin())
        .args([
            "token",
            "create",
            "--data-dir",
            &dir,
            "--host",
            "x.other.example",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not in a zone"));
}

#[tokio::test]
async fn host_list_and_zone_export_and_import() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    nic(
        &s,
        Some(&token),
        "hostname=home.ddns.test&myip=192.0.2.1,2001:db8::1",
    )
    .await;
    let dir = s.data_dir.display().to_string();
    let hosts = ddns_testkit::run_ok(bin(), &["host", "list", "--data-dir", &dir]);
    assert!(
        hosts.contains("home.ddns.test") && hosts.contains("A 60 192.0.2.1"),
        "{hosts}"
    );
    let export = ddns_testkit::run_ok(bin(), &["zone", "export", "--data-dir", &dir]);
    assert!(
        export.starts_with(
            "$ORIGIN ddns.test.\nddns.test.\t3600\tIN\tSOA\tns1.ddns.test. hostmaster.ddns.test. "
        ),
        "{export}"
    );
    assert!(export.contains("home.ddns.test.\t60\tIN\tAAAA\t2001:db8::1\n"));

    let file = s.data_dir.join("import.zone");
    std::fs::write(
        &file,
        "$TTL 60\n@ SOA a. b. 1 2 3 4 5\nimported A 198.51.100.5\nimported TXT \"hello\"\n",
    )
    .unwrap();
    ddns_testkit::run_ok(
        bin(),
        &[
            "zone",
            "import",
            "--data-dir",
            &dir,
            "--zone",
            "ddns.test",
            file.to_str().unwrap(),
        ],
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while lookup(&s, "imported.ddns.test.", RecordType::A).is_empty() {
        assert!(std::time::Instant::now() < deadline, "import not served");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Every record type imports; a file with one bad line imports nothing.
    let import = |text: &str| {
        std::fs::write(&file, text).unwrap();
        Command::new(bin())
            .args(["zone", "import", "--data-dir", &dir, "--zone", "ddns.test"])
            .arg(&file)
            .output()
            .unwrap()
    };
    assert!(
        import("x MX 10 mail\n_smb._tcp SRV 0 0 445 x\n")
            .status
            .success()
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while lookup(&s, "x.ddns.test.", RecordType::MX).is_empty() {
        assert!(std::time::Instant::now() < deadline, "MX import not served");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let bad = import("y A 192.0.2.9\nz A 1234\n");
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("line 2") && stderr.contains("nothing was imported"),
        "{stderr}"
    );
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert!(lookup(&s, "y.ddns.test.", RecordType::A).is_empty());
}

#[test]
fn example_configs_are_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let agent = Command::new(bin())
        .args(["agent", "check-config"])
        .arg(root.join("examples/agent.toml"))
        .env("DDNS_TOKEN", "ddns_example")
        .env("NOIP_PASSWORD", "example")
        .output()
        .unwrap();
    assert!(
        agent.status.success(),
        "{}",
        String::from_utf8_lossy(&agent.stderr)
    );
    let text = std::fs::read_to_string(root.join("examples/server.toml")).unwrap();
    assert!(ddns_config::ServerConfig::from_toml(&text, "/tmp".into()).is_ok());
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let agent_example = std::fs::read_to_string(root.join("examples/agent.toml")).unwrap();
    let body: String = agent_example
        .lines()
        .skip(2)
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        readme.contains(&body),
        "README's agent example and examples/agent.toml differ"
    );
}

#[tokio::test]
async fn token_create_on_a_fresh_data_directory_with_zone_or_config() {
    // Without a zone the fresh directory knows nothing: a clear error, nothing created.
    let fresh = tempfile::tempdir().unwrap();
    let data = fresh.path().join("data");
    let data_arg = data.display().to_string();
    let refused = Command::new(bin())
        .args(["token", "create", "--data-dir", &data_arg])
        .args(["--host", "home.fresh.test"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("give --config or --zone"), "{stderr}");

    // --zone registers the zone first; a server started later accepts the token.
    let token = ddns_testkit::run_ok(
        bin(),
        &[
            "token",
            "create",
            "--data-dir",
            &data_arg,
            "--zone",
            "fresh.test",
            "--host",
            "home.fresh.test",
        ],
    )
    .trim()
    .to_owned();
    assert!(token.starts_with("ddns_"), "{token}");
    let s = ServerProcess::start_in(bin(), &data, &["--zone", "fresh.test"]);
    let (status, body) = nic(&s, Some(&token), "hostname=home.fresh.test&myip=192.0.2.44").await;
    assert_eq!((status, body.as_str()), (200, "good 192.0.2.44"));

    // --config: its data_dir and its zones.
    let other = tempfile::tempdir().unwrap();
    let config = other.path().join("ddns.toml");
    let config_data = other.path().join("cfg-data");
    std::fs::write(
        &config,
        format!(
            "version = 1\n[server]\ndata_dir = {:?}\n[[zone]]\nname = \"cfg.test\"\n",
            config_data.display().to_string()
        ),
    )
    .unwrap();
    let token = ddns_testkit::run_ok(
        bin(),
        &[
            "token",
            "create",
            "--config",
            config.to_str().unwrap(),
            "--host",
            "*.lab.cfg.test",
        ],
    );
    assert!(token.trim().starts_with("ddns_"), "{token}");
    let list = ddns_testkit::run_ok(
        bin(),
        &[
            "token",
            "list",
            "--data-dir",
            &config_data.display().to_string(),
        ],
    );
    assert!(list.contains("*.lab.cfg.test"), "{list}");
}

#[tokio::test]
async fn restricted_tokens_on_a_fresh_data_directory_list_and_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.display().to_string();
    // Before the server has ever run: the store is created and the zone registered.
    let token = ddns_testkit::run_ok(
        bin(),
        &[
            "token",
            "create",
            "--data-dir",
            &data_arg,
            "--zone",
            "ddns.test",
            "--host",
            "home.ddns.test",
            "--type",
            "A",
            "--type",
            "AAAA",
            "--subnet",
            "127.0.0.0/8",
            "--expires",
            "90d",
            "--label",
            "router",
        ],
    )
    .trim()
    .to_owned();
    let reader = ddns_testkit::run_ok(
        bin(),
        &[
            "token",
            "create",
            "--data-dir",
            &data_arg,
            "--host",
            "home.ddns.test",
            "--read-only",
        ],
    )
    .trim()
    .to_owned();
    let s = ServerProcess::start_in(bin(), &data, &[]);
    assert_eq!(
        nic(&s, Some(&token), "hostname=home.ddns.test&myip=192.0.2.1").await,
        (200, "good 192.0.2.1".into())
    );
    assert_eq!(
        nic(&s, Some(&reader), "hostname=home.ddns.test&myip=192.0.2.2").await,
        (403, "badauth".into())
    );
    let list = ddns_testkit::run_ok(bin(), &["token", "list", "--data-dir", &data_arg]);
    let row = list.lines().find(|l| l.contains("router")).unwrap();
    for shown in ["A,AAAA", "127.0.0.0/8", "home.ddns.test", "active"] {
        assert!(row.contains(shown), "{shown} in {row}");
    }
    assert!(list.lines().any(|l| l.contains("readonly")), "{list}");
    let id = row.split_whitespace().next().unwrap();

    let rotated = Command::new(bin())
        .args([
            "token",
            "rotate",
            "--data-dir",
            &data_arg,
            id,
            "--grace",
            "1s",
        ])
        .output()
        .unwrap();
    assert!(rotated.status.success());
    let successor = String::from_utf8(rotated.stdout).unwrap().trim().to_owned();
    assert!(successor.starts_with("ddns_") && successor != token);
    assert_eq!(
        nic(
            &s,
            Some(&successor),
            "hostname=home.ddns.test&myip=192.0.2.3"
        )
        .await,
        (200, "good 192.0.2.3".into())
    );
    // The old token stops after its grace (and the server's next poll of the store).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (status, _) = nic(&s, Some(&token), "hostname=home.ddns.test&myip=192.0.2.4").await;
        if status == 401 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "old token still accepted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let list = ddns_testkit::run_ok(bin(), &["token", "list", "--data-dir", &data_arg]);
    let old = list.lines().find(|l| l.starts_with(id)).unwrap();
    assert!(old.contains("expired"), "{old}");
    assert!(!old.contains(" never "), "last use recorded: {old}");
    let bad = Command::new(bin())
        .args([
            "token",
            "create",
            "--data-dir",
            &data_arg,
            "--host",
            "x.ddns.test",
            "--subnet",
            "10.0.0.0/33",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--subnet 10.0.0.0/33"));
}

#[test]
fn admin_password_is_read_from_stdin_and_a_short_one_is_refused() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let set = |password: &str| {
        let mut child = Command::new(bin())
            .args(["admin", "password", "--data-dir"])
            .arg(dir.path())
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = set("short");
    assert!(!ok);
    assert!(err.contains("shorter than 10 characters"), "{err}");
    let (ok, err) = set("a long enough password");
    assert!(ok, "{err}");
    assert!(err.contains("console admin password set"), "{err}");
    // The audit trail has the change, by the command line; the password itself is nowhere.
    let audit = Command::new(bin())
        .args(["audit", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&audit.stdout);
    assert_eq!(text.matches("console.password").count(), 1, "{text}");
    assert!(!text.contains("a long enough password"));
}
