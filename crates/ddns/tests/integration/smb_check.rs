//! The acceptance of `ddns smb check` with real Samba: a client namespace (ddns serving
//! `ddns.test` on 127.0.0.1:53, which its resolv.conf names, and a loopback HTTP echo for the
//! agent config) joined by a veth pair to a server namespace where `smbd` serves `share` to a
//! user added with `smbpasswd -a` in the lab's own private dir. One lab is shared by every
//! test of the binary (started on first use, cleaned up by an exit guard); a test that stops a
//! server or drops packets uses an address of its own.
//!
//! The names: `files` → the shared smbd; `filtered` → the same smbd on a second address,
//! which one test firewalls with nft; `spare` → an smbd that one test stops; `nosmb` → a
//! plain TCP listener answering garbage; `noroute` → an address the client has no route to.
//! `missing` does not exist.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::bin;
use crate::netns::{ExitGuard, Netns, NsChild, Smbd, ddns_wrapper, link, run, wait_listening};

const ZONE: &str = "ddns.test";
const CLIENT: &str = "10.78.0.1";
const SMBD: &str = "10.78.0.2";
const SPARE: &str = "10.78.0.3";
const FILTERED: &str = "10.78.0.4";
const NOSMB: &str = "10.78.0.5";
const ELSEWHERE: &str = "10.78.0.9";
const NOROUTE: &str = "10.99.0.1";
/// The Samba user: an account that exists on every Debian system (smbd needs a Unix account
/// behind each Samba user; the test adds none to the system).
const USER: &str = "daemon";
const PASSWORD: &str = "Sm6-check!pw";

struct Lab {
    client: Netns,
    server: Netns,
    dir: PathBuf,
    /// Files the tests read: the password, a wrong password, smbclient's config, the agent
    /// config.
    password: PathBuf,
    wrong_password: PathBuf,
    client_conf: PathBuf,
    agent_config: PathBuf,
    spare_conf: PathBuf,
    _processes: Vec<NsChild>,
    _smbd: Smbd,
    _server: ddns_testkit::ServerProcess,
    _guard: ExitGuard,
}

fn lab() -> &'static Lab {
    static LAB: OnceLock<Lab> = OnceLock::new();
    LAB.get_or_init(Lab::new)
}

impl Lab {
    fn new() -> Self {
        crate::netns::assert_root("the smb check test");
        let tag = std::process::id() % 100_000;
        // Kept until the exit guard removes it (the lab is never dropped).
        let dir = tempfile::tempdir().unwrap().keep();
        let client = Netns::new(format!("ddnssc{tag}c"));
        let server = Netns::new(format!("ddnssc{tag}s"));
        let guard = ExitGuard::new(&[&client, &server], &dir);
        link(
            &client,
            &format!("{CLIENT}/24"),
            &server,
            &format!("{SMBD}/24"),
            (&format!("sc{tag}c"), &format!("sc{tag}s")),
        );
        for extra in [SPARE, FILTERED, NOSMB] {
            server.exec_ok(
                "ip",
                &[
                    "addr",
                    "add",
                    &format!("{extra}/24"),
                    "dev",
                    &format!("sc{tag}s"),
                ],
            );
        }
        client.set_resolver("127.0.0.1");

        // Signing required, as Windows 11 24H2 and Server 2025 do by default: the shared smbd
        // signs with SMB 3.0.2 (AES-CMAC), the spare one is held to SMB 2.1 (HMAC-SHA256).
        let conf = smb_conf(
            &dir.join("smb"),
            &format!("{SMBD} {FILTERED}"),
            "server signing = mandatory\n",
        );
        let spare_conf = smb_conf(
            &dir.join("spare"),
            SPARE,
            "server signing = mandatory\nserver max protocol = SMB2_10\n",
        );
        for c in [&conf, &spare_conf] {
            add_user(c);
        }
        let smbd = Smbd::start(&server, &conf, SMBD);
        wait_listening(&server, FILTERED, 445, "smbd");

        // Not SMB: answers any connection with an HTTP error and closes.
        let nosmb = NsChild::spawn(
            &server,
            "python3",
            &[
                "-c",
                &format!(
                    "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
                     s.bind(('{NOSMB}',445))\ns.listen(8)\nwhile True:\n c,_=s.accept()\n c.recv(4096)\n \
                     c.sendall(b'HTTP/1.0 400 Bad Request\\r\\n\\r\\n')\n c.close()\n"
                ),
            ],
        );
        wait_listening(&server, NOSMB, 445, "the non-SMB listener");

        // The agent config's detection source: a loopback echo in the client namespace.
        let echo = dir.join("echo");
        std::fs::create_dir_all(&echo).unwrap();
        std::fs::write(echo.join("ip"), format!("{SMBD}\n")).unwrap();
        let echo_port = 18_080;
        let http = NsChild::spawn(
            &client,
            "python3",
            &[
                "-m",
                "http.server",
                &echo_port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
                echo.to_str().unwrap(),
            ],
        );
        wait_listening(&client, "127.0.0.1", echo_port, "the HTTP echo");
        let agent_config = dir.join("agent.toml");
        std::fs::write(
            &agent_config,
            format!(
                "version = 1\n[detect.ipv4]\nsources = [{{ kind = \"http\", url = \"http://127.0.0.1:{echo_port}/ip\" }}]\n\
                 quorum = 1\nallow = [\"private\"]\n[providers.home]\ntype = \"ddns\"\nurl = \"http://127.0.0.1:9\"\n\
                 token = \"unused\"\n[[record]]\nname = \"files.{ZONE}\"\nprovider = \"home\"\nfamilies = [\"ipv4\"]\n"
            ),
        )
        .unwrap();

        let password = dir.join("password");
        std::fs::write(&password, format!("{PASSWORD}\n")).unwrap();
        let wrong_password = dir.join("wrong");
        std::fs::write(&wrong_password, "not-the-password\n").unwrap();
        let client_conf = client_smb_conf(&dir.join("client"));

        // ddns in the client namespace, through a wrapper the test kit runs like the binary.
        let wrapper = ddns_wrapper(&dir, &client);
        let config = dir.join("ddns.toml");
        std::fs::write(
            &config,
            format!(
                "version = 1\n[[zone]]\nname = \"{ZONE}\"\nrecords = [\n  \"files A {SMBD}\",\n  \"filtered A {FILTERED}\",\n  \
                 \"spare A {SPARE}\",\n  \"nosmb A {NOSMB}\",\n  \"elsewhere A {ELSEWHERE}\",\n  \"noroute A {NOROUTE}\",\n]\n"
            ),
        )
        .unwrap();
        let server_process = ddns_testkit::ServerProcess::start_in(
            &wrapper,
            &dir.join("data"),
            &[
                "--config",
                config.to_str().unwrap(),
                "--dns-listen",
                "127.0.0.1:53",
            ],
        );
        Self {
            client,
            server,
            password,
            wrong_password,
            client_conf,
            agent_config,
            spare_conf,
            dir,
            _processes: vec![nosmb, http],
            _smbd: smbd,
            _server: server_process,
            _guard: guard,
        }
    }

    /// `ddns smb check ARGS --json` in the client namespace: (exit code, the JSON object).
    fn check(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let mut all = vec!["smb", "check"];
        all.extend_from_slice(args);
        all.push("--json");
        let out = self
            .client
            .exec(bin().to_str().unwrap(), &all)
            .env("LANG", "C.UTF-8")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), json)
    }

    fn with_user<'a>(&'a self, target: &'a str, password: &'a Path) -> Vec<&'a str> {
        vec![
            target,
            "--dns",
            "127.0.0.1:53",
            "--user",
            USER,
            "--password-file",
            password.to_str().unwrap(),
        ]
    }
}

/// `smb.conf` for a standalone server with one share for `USER`, listening on `addrs`
/// (ports 445 and 4445), with every directory smbd writes under `dir`, and `extra` global
/// lines.
fn smb_conf(dir: &Path, addrs: &str, extra: &str) -> PathBuf {
    for sub in ["run", "lock", "state", "cache", "private", "log", "share"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(dir.join("share").join("hello-from-smbd.txt"), "hello\n").unwrap();
    run("chmod", &["-R", "a+rX", dir.to_str().unwrap()]);
    let d = dir.display();
    let conf = format!(
        "[global]\nserver role = standalone server\nmap to guest = Never\npassdb backend = tdbsam\n\
         interfaces = {addrs}\nbind interfaces only = yes\nsmb ports = 445 4445\ndisable netbios = yes\n\
         pid directory = {d}/run\nlock directory = {d}/lock\nstate directory = {d}/state\n\
         cache directory = {d}/cache\nprivate dir = {d}/private\nncalrpc dir = {d}/run/ncalrpc\n\
         log file = {d}/log/smbd.log\nload printers = no\nprinting = bsd\nprintcap name = /dev/null\n\
         disable spoolss = yes\nserver min protocol = SMB2_02\n{extra}\
         [share]\npath = {d}/share\nvalid users = {USER}\nread only = yes\n"
    );
    let path = dir.join("smb.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

/// `smbpasswd -a USER` into the config's own private dir (its passdb.tdb).
fn add_user(conf: &Path) {
    use std::io::Write as _;
    let mut child = std::process::Command::new("smbpasswd")
        .args(["-c", conf.to_str().unwrap(), "-s", "-a", USER])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cannot run smbpasswd (Debian package samba)");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{PASSWORD}\n{PASSWORD}").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "smbpasswd -a: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The client side: names resolved by the system resolver only (resolv.conf → ddns), no
/// name cache, caches under `dir`.
fn client_smb_conf(dir: &Path) -> PathBuf {
    for sub in ["cache", "lock", "state", "private"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let c = dir.display();
    let path = dir.join("client.conf");
    std::fs::write(
        &path,
        format!(
            "[global]\nname resolve order = host\nname cache timeout = 0\nclient min protocol = SMB2_02\n\
             cache directory = {c}/cache\nlock directory = {c}/lock\nstate directory = {c}/state\nprivate dir = {c}/private\n"
        ),
    )
    .unwrap();
    path
}

fn step<'a>(json: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {json:#}"))
}

fn assert_fails(json: &serde_json::Value, exit: i32, code: i32, want_step: &str, want: &str) {
    assert_eq!(code, exit, "{json:#}");
    assert_eq!(json["diagnosis"]["code"], want, "{json:#}");
    assert_eq!(json["diagnosis"]["step"], want_step, "{json:#}");
    assert_eq!(json["diagnosis"]["exit_code"], exit, "{json:#}");
    assert_eq!(step(json, want_step)["status"], "failed", "{json:#}");
    assert_eq!(step(json, want_step)["code"], want, "{json:#}");
}

#[test]
fn smb_check_passes_and_smbclient_lists_the_share_through_the_same_name() {
    let lab = lab();
    let target = format!("//files.{ZONE}/share");
    let (code, json) = lab.check(&lab.with_user(&target, &lab.password));
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["diagnosis"]["code"], "ok");
    assert_eq!(json["resolved"], serde_json::json!([SMBD]));
    for s in [
        "resolve",
        "connect",
        "negotiate",
        "session_setup",
        "tree_connect",
    ] {
        assert_eq!(step(&json, s)["status"], "ok", "{s}: {json:#}");
    }
    let negotiated = step(&json, "negotiate")["detail"].as_str().unwrap();
    assert_eq!(negotiated, "SMB 3.0.2, signing required");
    assert!(
        step(&json, "tree_connect")["detail"]
            .as_str()
            .unwrap()
            .contains(r"\\files.ddns.test\share: disk share"),
        "{json:#}"
    );
    assert_eq!(
        json["commands"][0],
        format!(r"net use \\files.{ZONE}\share /user:{USER}")
    );

    // The same name through the namespace's resolver (resolv.conf names ddns), and the
    // other target forms.
    let unc = format!(r"\\files.{ZONE}\share");
    let (code, json) = lab.check(&[
        &unc,
        "--user",
        USER,
        "--password-file",
        lab.password.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{json:#}");
    assert!(
        step(&json, "resolve")["detail"]
            .as_str()
            .unwrap()
            .contains("system resolver")
    );
    let host = format!("files.{ZONE}");
    let (code, json) = lab.check(&[&host, "--dns", "127.0.0.1:53"]);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(step(&json, "session_setup")["status"], "skipped");

    // Another port: smbd listens on 4445 too; the advice says who can follow it.
    let mut args = lab.with_user(&target, &lab.password);
    args.extend(["--port", "4445"]);
    let (code, json) = lab.check(&args);
    assert_eq!(code, 0, "{json:#}");
    assert!(
        json["commands"][0]
            .as_str()
            .unwrap()
            .ends_with("/TCPPORT:4445")
    );
    assert!(
        json["diagnosis"]["port_note"][1]
            .as_str()
            .unwrap()
            .contains("Older Windows")
    );

    // The agent config's detection (a loopback echo answering the smbd's address) agrees.
    let mut args = lab.with_user(&target, &lab.password);
    args.extend(["--agent-config", lab.agent_config.to_str().unwrap()]);
    let (code, json) = lab.check(&args);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["expected"], serde_json::json!([SMBD]));
    assert_eq!(step(&json, "compare")["status"], "ok");

    // smbclient resolves files.ddns.test through the namespace's resolv.conf, i.e. through
    // ddns (`name resolve order = host`, no -I), and lists the share.
    let out = lab
        .client
        .exec(
            "smbclient",
            &[
                "-s",
                lab.client_conf.to_str().unwrap(),
                &target,
                "-U",
                &format!("{USER}%{PASSWORD}"),
                "-c",
                "ls",
            ],
        )
        .output()
        .expect("cannot run smbclient (Debian package smbclient)");
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{listing}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(listing.contains("hello-from-smbd.txt"), "{listing}");

    // The text report, in Chinese when the locale says so.
    let out = lab
        .client
        .exec(
            bin().to_str().unwrap(),
            &["smb", "check", &target, "--dns", "127.0.0.1:53"],
        )
        .env("LANG", "zh_CN.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("结论") && text.contains("SMB 协商"), "{text}");
}

#[test]
fn smb_check_reports_a_stopped_smbd_as_a_closed_port() {
    let lab = lab();
    let target = format!("//spare.{ZONE}/share");
    let mut smbd = Smbd::start(&lab.server, &lab.spare_conf, SPARE);
    let (code, json) = lab.check(&lab.with_user(&target, &lab.password));
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(
        step(&json, "negotiate")["detail"],
        "SMB 2.1, signing required"
    );
    assert_eq!(step(&json, "tree_connect")["status"], "ok", "{json:#}");
    smbd.stop();
    let started = Instant::now();
    let (code, json) = lab.check(&lab.with_user(&target, &lab.password));
    assert_fails(&json, 21, code, "connect", "port_closed");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a reset is at once"
    );
    assert!(
        step(&json, "connect")["detail"]
            .as_str()
            .unwrap()
            .contains("refused")
    );
    assert_eq!(step(&json, "negotiate")["status"], "skipped");
}

#[test]
fn smb_check_reports_a_firewall_drop_as_filtered() {
    let lab = lab();
    let target = format!("//filtered.{ZONE}/share");
    let (code, json) = lab.check(&[&target, "--dns", "127.0.0.1:53", "--timeout", "1s"]);
    assert_eq!(code, 0, "{json:#}");
    // Drop (no reset, no ICMP) what goes to that address's port 445, as a firewall or a
    // router without forwarding does.
    let table = format!("ddnstest{}", std::process::id());
    lab.server.exec_ok("nft", &["add", "table", "inet", &table]);
    lab.server.exec_ok(
        "nft",
        &[
            "add",
            "chain",
            "inet",
            &table,
            "input",
            "{ type filter hook input priority 0 ; }",
        ],
    );
    lab.server.exec_ok(
        "nft",
        &[
            "add", "rule", "inet", &table, "input", "ip", "daddr", FILTERED, "tcp", "dport", "445",
            "drop",
        ],
    );
    let started = Instant::now();
    let (code, json) = lab.check(&[&target, "--dns", "127.0.0.1:53", "--timeout", "1s"]);
    let took = started.elapsed();
    lab.server
        .exec_ok("nft", &["delete", "table", "inet", &table]);
    assert_fails(&json, 22, code, "connect", "port_filtered");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(4),
        "{took:?}"
    );
    let advice = json["diagnosis"]["advice"].to_string();
    assert!(advice.contains("ISPs block port 445"), "{advice}");
}

#[test]
fn smb_check_reports_a_name_that_points_elsewhere() {
    let lab = lab();
    let target = format!("//files.{ZONE}/share");
    let (code, json) = lab.check(&[&target, "--dns", "127.0.0.1:53", "--expect", ELSEWHERE]);
    assert_fails(&json, 13, code, "compare", "name_points_elsewhere");
    // The later steps still ran against the address the name has.
    assert_eq!(step(&json, "negotiate")["status"], "ok", "{json:#}");
    // What the agent would publish (its echo says the smbd's address) is not where
    // `elsewhere` points.
    let other = format!("//elsewhere.{ZONE}/share");
    let (code, json) = lab.check(&[
        &other,
        "--dns",
        "127.0.0.1:53",
        "--agent-config",
        lab.agent_config.to_str().unwrap(),
        "--timeout",
        "1s",
    ]);
    assert_fails(&json, 13, code, "compare", "name_points_elsewhere");
    assert_eq!(json["expected"], serde_json::json!([SMBD]));
    assert!(
        json["diagnosis"]["summary"]
            .as_str()
            .unwrap()
            .contains(ELSEWHERE),
        "{json:#}"
    );
    // A config without [detect] sources would use the built-in public services: not asked.
    let builtin = lab.dir.join("agent-builtin.toml");
    std::fs::write(
        &builtin,
        format!(
            "version = 1\n[providers.home]\ntype = \"ddns\"\nurl = \"http://127.0.0.1:9\"\ntoken = \"unused\"\n\
             [[record]]\nname = \"files.{ZONE}\"\nprovider = \"home\"\nfamilies = [\"ipv4\"]\n"
        ),
    )
    .unwrap();
    let (code, json) = lab.check(&[
        &target,
        "--dns",
        "127.0.0.1:53",
        "--agent-config",
        builtin.to_str().unwrap(),
    ]);
    assert_fails(&json, 12, code, "compare", "expected_unknown");
    assert!(
        step(&json, "compare")["detail"]
            .as_str()
            .unwrap()
            .contains("names no detection sources for ipv4"),
        "{json:#}"
    );
}

#[test]
fn smb_check_reports_an_unresolvable_name() {
    let lab = lab();
    let target = format!("//missing.{ZONE}/share");
    let (code, json) = lab.check(&[&target, "--dns", "127.0.0.1:53"]);
    assert_fails(&json, 10, code, "resolve", "name_not_found");
    assert!(
        step(&json, "resolve")["detail"]
            .as_str()
            .unwrap()
            .contains("NXDOMAIN")
    );
    assert_eq!(step(&json, "connect")["status"], "skipped");
    // Through the system resolver too.
    let (code, json) = lab.check(&[&target]);
    assert_fails(&json, 10, code, "resolve", "name_not_found");
}

#[test]
fn smb_check_reports_a_listener_that_is_not_smb_and_no_route() {
    let lab = lab();
    let (code, json) = lab.check(&[&format!("//nosmb.{ZONE}/share"), "--dns", "127.0.0.1:53"]);
    assert_fails(&json, 30, code, "negotiate", "not_smb");
    assert_eq!(step(&json, "connect")["status"], "ok");
    let (code, json) = lab.check(&[&format!("noroute.{ZONE}"), "--dns", "127.0.0.1:53"]);
    assert_fails(&json, 20, code, "connect", "no_route");
}

#[test]
fn smb_check_reports_wrong_credentials_and_a_missing_share() {
    let lab = lab();
    let target = format!("//files.{ZONE}/share");
    let (code, json) = lab.check(&lab.with_user(&target, &lab.wrong_password));
    assert_fails(&json, 40, code, "session_setup", "access_denied");
    assert!(
        step(&json, "session_setup")["detail"]
            .as_str()
            .unwrap()
            .contains("STATUS_LOGON_FAILURE"),
        "{json:#}"
    );
    assert_eq!(step(&json, "tree_connect")["status"], "skipped");
    let target = format!("//files.{ZONE}/nosuchshare");
    let (code, json) = lab.check(&lab.with_user(&target, &lab.password));
    assert_fails(&json, 41, code, "tree_connect", "no_such_share");
}
