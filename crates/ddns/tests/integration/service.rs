//! `ddns service` on Linux: the sd_notify protocol against a socket the test owns (READY=1 once
//! the listeners answer, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM) for the
//! server and the agent, and the install plan `--dry-run` prints. systemctl itself is not run:
//! there is no systemd as PID 1 here; its command lines are unit-tested in ddns-platform.

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::agent::{AgentDir, wait_for};
use crate::common::*;

/// A notify socket in a temporary directory, as systemd would pass it.
struct NotifySocket {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    socket: UnixDatagram,
}

impl NotifySocket {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Self {
            _dir: dir,
            path,
            socket,
        }
    }

    fn next(&self) -> String {
        let mut buf = [0u8; 256];
        let n = self
            .socket
            .recv(&mut buf)
            .expect("no sd_notify message within 30 s");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

#[test]
fn server_notifies_ready_after_binding_then_watchdog_then_stopping() {
    let notify = NotifySocket::new();
    let data = tempfile::tempdir().unwrap();
    // WATCHDOG_USEC = 0.4 s: pings every 0.2 s. No WATCHDOG_PID: meant for the main process.
    let server = ServerProcess::start_with_env(
        bin(),
        data.path(),
        &["--zone", "ddns.test"],
        None,
        &[
            ("NOTIFY_SOCKET", notify.path.as_os_str()),
            ("WATCHDOG_USEC", "400000".as_ref()),
        ],
    );
    assert_eq!(notify.next(), "READY=1");
    // READY means serving: the DNS listener answers at once, over UDP and TCP.
    let soa = dns::udp(server.dns, "ddns.test.", RecordType::SOA);
    assert!(dns::soa_serial(&soa).is_some(), "{soa:?}");
    assert!(dns::soa_serial(&dns::tcp(server.dns, "ddns.test.", RecordType::SOA)).is_some());
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(notify.next(), "WATCHDOG=1");
    }
    // Three pings at 0.2 s: about 0.4–0.6 s, never the 0.4 s timeout per ping.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let pid = server.pid();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    // Pings may still be queued before the stop.
    let mut last = notify.next();
    while last == "WATCHDOG=1" {
        last = notify.next();
    }
    assert_eq!(last, "STOPPING=1");
    assert!(server.stop(), "the server did not exit cleanly");
}

#[test]
fn agent_notifies_ready_as_its_first_round_starts() {
    let s = server(&[]);
    let token = s.token(&["svc.ddns.test"]);
    let notify = NotifySocket::new();
    let dir = AgentDir::new();
    dir.write(&format!(
        "[detect.ipv4]\nsources = [{{ kind = \"fixed\", address = \"198.51.100.61\" }}]\nallow = [\"documentation\"]\n\
         [providers.home]\ntype = \"ddns\"\nurl = \"{}\"\ntoken = \"{token}\"\n\
         [[record]]\nname = \"svc.ddns.test\"\nprovider = \"home\"\nfamilies = [\"ipv4\"]\n",
        s.url("")
    ));
    let path = notify.path.to_string_lossy().into_owned();
    let mut agent = dir.spawn_with(&[("NOTIFY_SOCKET", &path), ("WATCHDOG_USEC", "400000")]);
    assert_eq!(notify.next(), "READY=1", "{}", agent.log());
    // The round that READY announced publishes.
    wait_for(
        Duration::from_secs(10),
        "the agent's first publication",
        || {
            dns::answers(
                &dns::udp(s.dns, "svc.ddns.test.", RecordType::A),
                RecordType::A,
            ) == ["198.51.100.61"]
        },
    );
    assert_eq!(notify.next(), "WATCHDOG=1");
    assert!(agent.alive(), "{}", agent.log());
}

#[test]
fn install_dry_run_prints_the_unit_for_this_binary_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    let out = Command::new(bin())
        .args(["service", "install", "--agent", "--dry-run", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let exec = format!(
        "    ExecStart={} agent --config {}",
        bin().display(),
        config.display()
    );
    assert!(text.lines().any(|l| l == exec), "no `{exec}` in:\n{text}");
    assert!(text.contains("would write /etc/systemd/system/ddns-agent.service"));
    assert!(text.contains("    Type=notify"));
    // A missing config gets the starter file, valid as it is (no record yet; the agent reads
    // it again when it changes): enabled and started.
    assert!(
        text.contains("would run systemctl enable --now ddns-agent.service"),
        "{text}"
    );
    assert!(!config.exists(), "a dry run wrote {}", config.display());

    // An existing config that is wrong is refused before anything is done.
    std::fs::write(&config, "version = 1\n[agent]\nbogus = 1\n").unwrap();
    let out = Command::new(bin())
        .args(["service", "install", "--agent", "--dry-run", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bogus"), "{err}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn role_is_required_and_task_prints_the_schtasks_lines() {
    let out = Command::new(bin())
        .args(["service", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(bin())
        .args([
            "service",
            "task",
            "--server",
            "--config",
            "/etc/ddns/server.toml",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("schtasks /Create /TN ddns-server /SC ONLOGON"),
        "{text}"
    );
    assert!(
        text.contains(" server --config /etc/ddns/server.toml"),
        "{text}"
    );
    assert!(
        text.ends_with("schtasks /Delete /TN ddns-server /F\n"),
        "{text}"
    );
}
