//! The agent end to end: real `ddns agent` processes against a real `ddns server` and scripted
//! loopback fakes (echo services, a DynDNS2 service, webhooks). Every source, provider and
//! verification server points at 127.0.0.1.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ddns_testkit::fake_http::FakeHttp;
use serde_json::Value;

use crate::common::*;

/// A directory with an agent config and its state file.
pub(crate) struct AgentDir {
    pub(crate) dir: tempfile::TempDir,
}

impl AgentDir {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    pub(crate) fn config(&self) -> PathBuf {
        self.dir.path().join("agent.toml")
    }
    pub(crate) fn state(&self) -> PathBuf {
        self.dir.path().join("state.json")
    }
    /// Writes the config: an `[agent]` table with `agent` lines plus test defaults for the
    /// keys they leave out, then `body`. Verification is off unless `agent` sets it, so nothing
    /// ever asks the system's resolver.
    pub(crate) fn write_with(&self, agent: &str, body: &str) {
        let mut head = format!(
            "version = 1\n[agent]\nstate_file = {:?}\n{agent}",
            self.state().display().to_string()
        );
        for (key, value) in [
            ("verify_interval", "\"0s\""),
            ("jitter", "\"0s\""),
            ("retry_base", "\"1s\""),
            ("retry_cap", "\"2s\""),
        ] {
            if !agent.contains(key) {
                head.push_str(&format!("{key} = {value}\n"));
            }
        }
        // Atomic replace, as editors do, so a running agent never reads half a file.
        let tmp = self.dir.path().join("agent.toml.tmp");
        std::fs::write(&tmp, head + body).unwrap();
        std::fs::rename(&tmp, self.config()).unwrap();
    }
    pub(crate) fn write(&self, body: &str) {
        self.write_with("", body);
    }
    pub(crate) fn once(&self) -> Output {
        Command::new(bin())
            .args(["agent", "--once", "--config"])
            .arg(self.config())
            .env("RUST_LOG", "info")
            .output()
            .unwrap()
    }
    pub(crate) fn state_json(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.state()).unwrap()).unwrap()
    }
    pub(crate) fn spawn(&self) -> AgentProcess {
        let log = std::fs::File::create(self.dir.path().join("agent.log")).unwrap();
        let child = Command::new(bin())
            .args(["agent", "--config"])
            .arg(self.config())
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        AgentProcess {
            child,
            log: self.dir.path().join("agent.log"),
        }
    }
}

pub(crate) struct AgentProcess {
    child: Child,
    log: PathBuf,
}

impl AgentProcess {
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    pub(crate) fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
    pub(crate) fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Polls `check` every 20 ms until it holds or `limit` passes; returns the time it took.
pub(crate) fn wait_for(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Config lines for a provider pointing at our server with `token` (read from a file).
fn ddns_provider(dir: &AgentDir, s: &ServerProcess, token: &str) -> String {
    let token_file = dir.dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    format!(
        "[providers.home]\ntype = \"ddns\"\nurl = \"{}\"\ntoken_file = {:?}\n",
        s.url(""),
        token_file.display().to_string()
    )
}

#[tokio::test]
async fn polled_record_follows_the_public_address() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    let echo_a = FakeHttp::start("198.51.100.10\n");
    let echo_b = FakeHttp::start("198.51.100.10");
    let dir = AgentDir::new();
    let provider = ddns_provider(&dir, &s, &token);
    dir.write_with(
        "interval = \"30s\"\n",
        &format!(
            "[detect.ipv4]\nsources = [{{ kind = \"http\", url = \"{}\" }}, {{ kind = \"http\", url = \"{}\" }}]\nallow = [\"documentation\"]\n{provider}[[record]]\nname = \"home.ddns.test\"\nprovider = \"home\"\n",
            echo_a.url(),
            echo_b.url(),
        ),
    );
    let mut agent = dir.spawn();
    wait_for(Duration::from_secs(10), "the first publication", || {
        lookup(&s, "home.ddns.test.", RecordType::A) == ["198.51.100.10"]
    });
    std::thread::sleep(Duration::from_millis(500));
    let changed_at = Instant::now();
    echo_a.answer(200, "198.51.100.11");
    echo_b.answer(200, "198.51.100.11");
    let took = wait_for(Duration::from_secs(40), "the new address in DNS", || {
        lookup(&s, "home.ddns.test.", RecordType::A) == ["198.51.100.11"]
    });
    eprintln!(
        "polled record: change visible in DNS {:?} after the address changed (interval 30 s)",
        changed_at.elapsed()
    );
    assert!(
        took <= Duration::from_secs(32),
        "took {took:?}, more than interval + 2 s"
    );
    assert!(agent.alive(), "{}", agent.log());
}

#[tokio::test]
async fn disagreement_and_bogons_publish_nothing() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    let echo_a = FakeHttp::start("198.51.100.10");
    let echo_b = FakeHttp::start("198.51.100.99");
    let dir = AgentDir::new();
    let provider = ddns_provider(&dir, &s, &token);
    dir.write(&format!(
        "[detect.ipv4]\nsources = [{{ kind = \"http\", url = \"{}\" }}, {{ kind = \"http\", url = \"{}\" }}]\nallow = [\"documentation\"]\n{provider}[[record]]\nname = \"home.ddns.test\"\nprovider = \"home\"\n",
        echo_a.url(),
        echo_b.url()
    ));
    let out = dir.once();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("disagree"), "{}", stderr(&out));
    assert!(lookup(&s, "home.ddns.test.", RecordType::A).is_empty());
    // Both agree on a private address: rejected without `allow = ["private"]`.
    echo_a.answer(200, "10.1.2.3");
    echo_b.answer(200, "10.1.2.3");
    let out = dir.once();
    assert!(!out.status.success());
    assert!(
        lookup(&s, "home.ddns.test.", RecordType::A).is_empty(),
        "a private address is never published by default"
    );
    // An empty answer is never published either.
    echo_a.answer(200, "");
    echo_b.answer(200, "");
    assert!(!dir.once().status.success());
    assert!(lookup(&s, "home.ddns.test.", RecordType::A).is_empty());
}

/// DynDNS2 answers and the agent's reaction: stop until the config changes, or back off.
#[tokio::test]
async fn dyndns2_codes_drive_fatal_or_backoff() {
    let fatal = [
        "badauth", "nohost", "notfqdn", "numhost", "abuse", "badagent", "!donator",
    ];
    let backoff = [("dnserr", 1u64), ("911", 1800)];
    for (code, min_wait) in fatal
        .iter()
        .map(|c| (*c, None))
        .chain(backoff.iter().map(|(c, w)| (*c, Some(*w))))
    {
        let service = FakeHttp::start(code);
        let dir = AgentDir::new();
        let config = |password: &str| {
            format!(
                "[detect.ipv4]\nsources = [{{ kind = \"fixed\", address = \"198.51.100.20\" }}]\nallow = [\"documentation\"]\n[providers.dyn]\ntype = \"dyndns2\"\nservice = \"custom\"\nurl = \"{}/nic/update\"\nusername = \"me\"\npassword = \"{password}\"\n[[record]]\nname = \"home.example.com\"\nprovider = \"dyn\"\n",
                service.url()
            )
        };
        dir.write(&config("first"));
        let first = dir.once();
        assert!(!first.status.success(), "{code}");
        assert_eq!(service.requests().len(), 1, "{code}");
        let request = &service.requests()[0];
        assert!(
            request.target.contains("hostname=home.example.com")
                && request.target.contains("myip=198.51.100.20"),
            "{}",
            request.target
        );
        assert!(
            request
                .header("user-agent")
                .is_some_and(|ua| ua.starts_with("ddns/")),
            "a proper User-Agent"
        );
        let state = dir.state_json();
        let record = &state["records"]["home.example.com@dyn"];
        match min_wait {
            None => {
                assert!(
                    record["fatal"]["message"]
                        .as_str()
                        .is_some_and(|m| !m.is_empty()),
                    "{code}: {record}"
                );
                let log = stderr(&first);
                assert!(
                    log.contains("not retrying until the record's configuration changes"),
                    "{code}: one clear line: {log}"
                );
            }
            Some(wait) => {
                assert!(record["fatal"].is_null(), "{code} is not fatal");
                let next = record["next_attempt"].as_u64().unwrap();
                let published_at = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                assert!(
                    next + 1 >= published_at + wait,
                    "{code}: next attempt in {} s, want ≥ {wait}",
                    next.saturating_sub(published_at)
                );
            }
        }
        // Run again: nothing is sent (parked, or still backing off).
        service.answer(200, "good 198.51.100.20");
        let second = dir.once();
        assert!(!second.status.success(), "{code}");
        assert_eq!(service.requests().len(), 1, "{code}: no retry");
        if min_wait.is_none() {
            // The user fixes the configuration: the record is tried again.
            dir.write(&config("fixed"));
            let third = dir.once();
            assert!(third.status.success(), "{code}: {}", stderr(&third));
            assert_eq!(service.requests().len(), 2, "{code}");
        }
    }
}

#[tokio::test]
async fn good_and_nochg_are_success_and_nothing_repeats() {
    let service = FakeHttp::start("good 198.51.100.21");
    let dir = AgentDir::new();
    dir.write(&format!(
        "[detect.ipv4]\nsources = [{{ kind = \"fixed\", address = \"198.51.100.21\" }}]\nallow = [\"documentation\"]\n[providers.dyn]\ntype = \"dyndns2\"\nservice = \"custom\"\nurl = \"{}/nic/update\"\nusername = \"me\"\npassword = \"pw\"\n[[record]]\nname = \"home.example.com\"\nprovider = \"dyn\"\n",
        service.url()
    ));
    assert!(dir.once().status.success());
    assert!(dir.once().status.success());
    assert_eq!(
        service.requests().len(),
        1,
        "an unchanged address is not sent again (no stream of nochg)"
    );
    let auth = service.requests()[0]
        .header("authorization")
        .unwrap()
        .to_owned();
    assert_eq!(auth, "Basic bWU6cHc=");
}

#[tokio::test]
async fn pending_change_survives_an_outage_and_a_restart() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    // The provider's address answers nothing (a closed port) at first.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dir = AgentDir::new();
    let token_file = dir.dir.path().join("token");
    std::fs::write(&token_file, &token).unwrap();
    let config = |url: String| {
        format!(
            "[detect.ipv4]\nsources = [{{ kind = \"fixed\", address = \"198.51.100.30\" }}]\nallow = [\"documentation\"]\n[providers.home]\ntype = \"ddns\"\nurl = \"{url}\"\ntoken_file = {:?}\n[[record]]\nname = \"home.ddns.test\"\nprovider = \"home\"\n",
            token_file.display().to_string()
        )
    };
    dir.write(&config(format!("http://127.0.0.1:{port}")));
    assert!(!dir.once().status.success());
    let state = dir.state_json();
    assert_eq!(
        state["records"]["home.ddns.test@home"]["pending"]["ipv4"],
        serde_json::json!(["198.51.100.30"])
    );
    // The provider comes back (here: the config now points at the running server, as after a
    // DNS fix); the agent restarts, waits out its backoff, and sends the kept change.
    std::thread::sleep(Duration::from_millis(2100));
    dir.write(&config(s.url("")));
    let out = dir.once();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        lookup(&s, "home.ddns.test.", RecordType::A),
        ["198.51.100.30"]
    );
    assert!(dir.state_json()["records"]["home.ddns.test@home"]["pending"].is_null());
}

#[tokio::test]
async fn several_lines_publish_what_is_up() {
    let s = server(&[]);
    let token = s.token(&["files.ddns.test"]);
    let telecom = FakeHttp::start("198.51.100.1");
    let unicom = FakeHttp::start("203.0.113.1");
    let dir = AgentDir::new();
    let provider = ddns_provider(&dir, &s, &token);
    let line = |name: &str, url: String| {
        format!(
            "[[record.line]]\nname = \"{name}\"\nipv4 = {{ sources = [{{ kind = \"http\", url = \"{url}\" }}], allow = [\"documentation\"] }}\n"
        )
    };
    dir.write(&format!(
        "{provider}[[record]]\nname = \"files.ddns.test\"\nprovider = \"home\"\nmode = \"all\"\ndrop_after = 2\n{}{}",
        line("telecom", telecom.url()),
        line("unicom", unicom.url())
    ));
    assert!(dir.once().status.success());
    assert_eq!(
        lookup(&s, "files.ddns.test.", RecordType::A),
        ["198.51.100.1", "203.0.113.1"]
    );
    unicom.answer(503, "down");
    dir.once();
    assert_eq!(
        lookup(&s, "files.ddns.test.", RecordType::A),
        ["198.51.100.1", "203.0.113.1"],
        "one failed round keeps the line"
    );
    dir.once();
    assert_eq!(
        lookup(&s, "files.ddns.test.", RecordType::A),
        ["198.51.100.1"],
        "dropped after two"
    );
    unicom.answer(200, "203.0.113.2");
    assert!(dir.once().status.success());
    assert_eq!(
        lookup(&s, "files.ddns.test.", RecordType::A),
        ["198.51.100.1", "203.0.113.2"],
        "restored when the line returns"
    );
}

#[tokio::test]
async fn notifications_on_change_and_failure() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    let hook = FakeHttp::start("ok");
    let dir = AgentDir::new();
    let provider = ddns_provider(&dir, &s, &token);
    dir.write(&format!(
        "[detect.ipv4]\nsources = [{{ kind = \"fixed\", address = \"198.51.100.40\" }}]\nallow = [\"documentation\"]\n{provider}[[record]]\nname = \"home.ddns.test\"\nprovider = \"home\"\n[[notify]]\nevents = [\"change\", \"failure\"]\nurl = \"{}/hook\"\nheaders = {{ \"Content-Type\" = \"application/json\" }}\nbody = '{{{{\"text\": \"{{event}}: {{message|json}}\", \"ip\": \"{{ipv4|json}}\"}}}}'\n",
        hook.url()
    ));
    assert!(dir.once().status.success());
    wait_for(Duration::from_secs(5), "the change notification", || {
        !hook.requests().is_empty()
    });
    let body: Value = serde_json::from_str(&hook.requests()[0].body).unwrap();
    assert_eq!(body["ip"], "198.51.100.40");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .starts_with("change: home.ddns.test"),
        "{body}"
    );
}

#[tokio::test]
async fn drift_is_found_and_repaired() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    let dir = AgentDir::new();
    let provider = ddns_provider(&dir, &s, &token);
    let body = format!(
        "[detect.ipv4]\nsources = [{{ kind = \"fixed\", address = \"198.51.100.50\" }}]\nallow = [\"documentation\"]\n{provider}[[record]]\nname = \"home.ddns.test\"\nprovider = \"home\"\nverify_servers = [\"{}\"]\n",
        s.dns
    );
    dir.write_with("verify_interval = \"1s\"\n", &body);
    assert!(dir.once().status.success());
    // Someone changes the record behind the agent's back.
    nic(&s, Some(&token), "hostname=home.ddns.test&myip=192.0.2.66").await;
    std::thread::sleep(Duration::from_millis(1100));
    let out = dir.once();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("drifted"), "{}", stderr(&out));
    assert_eq!(
        lookup(&s, "home.ddns.test.", RecordType::A),
        ["198.51.100.50"]
    );
}

#[tokio::test]
async fn hot_reload_applies_good_edits_and_survives_bad_ones() {
    let s = server(&[]);
    let token = s.token(&["*.ddns.test"]);
    let dir = AgentDir::new();
    let provider = ddns_provider(&dir, &s, &token);
    let record = |name: &str| format!("[[record]]\nname = \"{name}\"\nprovider = \"home\"\n");
    let head = format!(
        "[detect.ipv4]\nsources = [{{ kind = \"fixed\", address = \"198.51.100.60\" }}]\nallow = [\"documentation\"]\n{provider}"
    );
    dir.write(&format!("{head}{}", record("a.ddns.test")));
    let mut agent = dir.spawn();
    wait_for(Duration::from_secs(10), "record a", || {
        lookup(&s, "a.ddns.test.", RecordType::A) == ["198.51.100.60"]
    });
    dir.write(&format!(
        "{head}{}{}",
        record("a.ddns.test"),
        record("b.ddns.test")
    ));
    wait_for(Duration::from_secs(10), "record b after the edit", || {
        lookup(&s, "b.ddns.test.", RecordType::A) == ["198.51.100.60"]
    });
    // A broken edit is reported and the running configuration stays.
    std::fs::write(dir.config(), "version = 1\n[[record]\nname = ").unwrap();
    wait_for(Duration::from_secs(10), "the rejection in the log", || {
        agent.log().contains("configuration change rejected")
    });
    assert!(agent.alive());
    dir.write(&format!(
        "{head}{}{}",
        record("a.ddns.test"),
        record("c.ddns.test")
    ));
    wait_for(
        Duration::from_secs(10),
        "record c after fixing the file",
        || lookup(&s, "c.ddns.test.", RecordType::A) == ["198.51.100.60"],
    );
}

#[tokio::test]
async fn kill_9_never_leaves_a_corrupt_state_file() {
    let service = FakeHttp::start("good");
    service.delay(Duration::from_millis(30));
    let dir = AgentDir::new();
    let mut records = String::new();
    for i in 0..20 {
        records.push_str(&format!(
            "[[record]]\nname = \"h{i}.example.com\"\nprovider = \"dyn\"\n"
        ));
    }
    let config = |addr: &str| {
        format!(
            "[detect.ipv4]\nsources = [{{ kind = \"fixed\", address = \"{addr}\" }}]\nallow = [\"documentation\"]\n[providers.dyn]\ntype = \"dyndns2\"\nservice = \"custom\"\nurl = \"{}/nic/update\"\nusername = \"me\"\npassword = \"pw\"\n{records}",
            service.url()
        )
    };
    let mut seed = 7u64;
    for round in 0..25u64 {
        // A new address each time, so every start has work to do.
        dir.write(&config(&format!("198.51.100.{}", 100 + round)));
        let mut agent = dir.spawn();
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        std::thread::sleep(Duration::from_millis(20 + (seed >> 33) % 400));
        agent.kill9();
        if dir.state().exists() {
            let state = dir.state_json();
            assert_eq!(state["version"], 1, "round {round}");
        }
        for entry in std::fs::read_dir(dir.dir.path()).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(!name.ends_with(".corrupt"), "round {round}: {name}");
        }
    }
    assert!(dir.state().exists(), "some round got far enough to save");
}

#[test]
fn check_config_reports_key_and_line() {
    let dir = AgentDir::new();
    let check = |text: &str| {
        std::fs::write(dir.config(), text).unwrap();
        let out = Command::new(bin())
            .args(["agent", "check-config"])
            .arg(dir.config())
            .env_remove("DDNS_TEST_UNSET")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let path = dir.config().display().to_string();
    let (ok, err) = check("version = 1\n[agent]\nintervall = \"5m\"\n");
    assert!(!ok);
    assert!(
        err.contains(&format!("{path}:3: unknown key `intervall`")),
        "{err}"
    );
    let (ok, err) = check("version = 1\n[agent]\ninterval = \"10s\"\n");
    assert!(!ok);
    assert!(
        err.contains(&format!("{path}:3:")) && err.contains("at least 30s"),
        "{err}"
    );
    let (ok, err) = check(
        "version = 1\n[providers.x]\ntype = \"ddns\"\nurl = \"http://127.0.0.1:1\"\ntoken = \"${DDNS_TEST_UNSET}\"\n",
    );
    assert!(!ok);
    assert!(
        err.contains(&format!("{path}:5:")) && err.contains("DDNS_TEST_UNSET is not set"),
        "{err}"
    );
    let (ok, err) = check(
        "version = 1\n[providers.x]\ntype = \"ddns\"\nurl = \"http://127.0.0.1:1\"\ntokn = \"t\"\n",
    );
    assert!(!ok);
    assert!(
        err.contains(&format!("{path}:5:")) && err.contains("tokn"),
        "{err}"
    );
    let (ok, err) =
        check("version = 1\n[[record]]\nname = \"h.example.com\"\nprovider = \"nope\"\n");
    assert!(!ok);
    assert!(
        err.contains(&format!("{path}:4:")) && err.contains("no provider \"nope\""),
        "{err}"
    );
    let (ok, err) = check(
        "version = 1\n[detect.ipv4]\nsources = [{ kind = \"fixed\", address = \"192.0.2.1\" }]\n[providers.x]\ntype = \"ddns\"\nurl = \"http://127.0.0.1:1\"\ntoken = \"t\"\n[[record]]\nname = \"h.example.com\"\nprovider = \"x\"\n",
    );
    assert!(ok, "{err}");
}

#[test]
fn ip_command_shows_every_source() {
    let echo = FakeHttp::start("198.51.100.70");
    let broken = FakeHttp::start("<html>nope</html>");
    let dir = AgentDir::new();
    dir.write(&format!(
        "[detect.ipv4]\nsources = [{{ kind = \"http\", url = \"{}\" }}, {{ kind = \"http\", url = \"{}\" }}, {{ kind = \"fixed\", address = \"198.51.100.70\" }}]\nallow = [\"documentation\"]\n",
        echo.url(),
        broken.url()
    ));
    let out = Command::new(bin())
        .args(["ip", "--json", "--family", "ipv4", "--config"])
        .arg(dir.config())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = &reports[0];
    assert_eq!(report["address"], "198.51.100.70");
    let observations = report["observations"].as_array().unwrap();
    assert_eq!(observations.len(), 3);
    assert!(
        observations.iter().any(|o| o["error"].as_str().is_some()),
        "the HTML answer is an error: {report}"
    );
    assert!(observations.iter().all(|o| o["latency_ms"].is_number()));
    let text = Command::new(bin())
        .args(["ip", "--family", "ipv4", "--config"])
        .arg(dir.config())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("198.51.100.70 (2 of 3 sources agree"),
        "{text}"
    );
}

/// The interface-event path: in a network namespace of its own, the test changes the address
/// of an interface and measures how long until DNS answers with the new one.
#[tokio::test]
async fn interface_event_updates_dns_within_two_seconds() {
    const INSIDE: &str = "DDNS_TEST_IN_NETNS";
    if std::env::var_os(INSIDE).is_none() {
        let status = Command::new("unshare")
            .args(["-rn"])
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "agent::interface_event_updates_dns_within_two_seconds",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(INSIDE, "1")
            .status()
            .expect("unshare(1) is needed (util-linux)");
        assert!(
            status.success(),
            "the test failed inside its network namespace"
        );
        return;
    }
    let ip = |args: &str| {
        let ok = Command::new("ip")
            .args(args.split_whitespace())
            .status()
            .unwrap()
            .success();
        assert!(ok, "ip {args}");
    };
    ip("link set lo up");
    ip("link add wan0 type veth peer name wan0p");
    ip("addr add 203.0.113.10/24 dev wan0");
    ip("link set wan0 up");
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    let dir = AgentDir::new();
    let provider = ddns_provider(&dir, &s, &token);
    dir.write(&format!(
        "[detect.ipv4]\nsources = [{{ kind = \"interface\", name = \"wan0\" }}]\nallow = [\"documentation\"]\n{provider}[[record]]\nname = \"home.ddns.test\"\nprovider = \"home\"\n"
    ));
    let _agent = dir.spawn();
    wait_for(Duration::from_secs(10), "the first publication", || {
        lookup(&s, "home.ddns.test.", RecordType::A) == ["203.0.113.10"]
    });
    std::thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    // A PPPoE reconnect: the old address goes, a new one comes.
    ip("addr del 203.0.113.10/24 dev wan0");
    ip("addr add 203.0.113.20/24 dev wan0");
    let took = wait_for(
        Duration::from_secs(20),
        "the new interface address in DNS",
        || lookup(&s, "home.ddns.test.", RecordType::A) == ["203.0.113.20"],
    );
    eprintln!(
        "interface event: change visible in DNS {:?} after the address changed",
        start.elapsed()
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
}
