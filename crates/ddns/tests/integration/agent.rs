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
        self.spawn_with(&[])
    }
    /// [`AgentDir::spawn`] with extra environment variables.
    pub(crate) fn spawn_with(&self, env: &[(&str, &str)]) -> AgentProcess {
        let log = std::fs::File::create(self.dir.path().join("agent.log")).unwrap();
        let child = Command::new(bin())
            .args(["agent", "--config"])
            .arg(self.config())
            .env("RUST_LOG", "debug")
            .envs(env.iter().copied())
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
pub(crate) fn ddns_provider(dir: &AgentDir, s: &ServerProcess, token: &str) -> String {
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
        // A backoff long enough that the second run below always falls inside it, however
        // slow the machine (the test default of 1 s did not on a loaded one).
        let retry = "retry_base = \"30s\"\nretry_cap = \"60s\"\n";
        dir.write_with(retry, &config("first"));
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
            dir.write_with(retry, &config("fixed"));
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

/// Change, failure and recovery each reach the hook: the provider (a DynDNS2 fake) accepts,
/// then fails with a server error, then accepts again.
#[tokio::test]
async fn notifications_on_change_and_failure() {
    let service = FakeHttp::start("good 198.51.100.40");
    let hook = FakeHttp::start("ok");
    let dir = AgentDir::new();
    let config = |address: &str| {
        format!(
            "[detect.ipv4]\nsources = [{{ kind = \"fixed\", address = \"{address}\" }}]\nallow = [\"documentation\"]\n[providers.dyn]\ntype = \"dyndns2\"\nservice = \"custom\"\nurl = \"{}/nic/update\"\nusername = \"me\"\npassword = \"pw\"\n[[record]]\nname = \"home.example.com\"\nprovider = \"dyn\"\n[[notify]]\nevents = [\"change\", \"failure\", \"recovery\"]\nurl = \"{}/hook\"\nheaders = {{ \"Content-Type\" = \"application/json\" }}\nbody = '{{{{\"text\": \"{{event}}: {{message|json}}\", \"ip\": \"{{ipv4|json}}\"}}}}'\n",
            service.url(),
            hook.url()
        )
    };
    let texts = || -> Vec<(String, String)> {
        hook.requests()
            .iter()
            .map(|r| {
                let body: Value = serde_json::from_str(&r.body).unwrap();
                (
                    body["text"].as_str().unwrap_or_default().to_owned(),
                    body["ip"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    dir.write(&config("198.51.100.40"));
    assert!(dir.once().status.success());
    assert_eq!(hook.requests().len(), 1, "{:?}", texts());
    let (text, ip) = &texts()[0];
    assert_eq!(ip, "198.51.100.40");
    assert!(text.starts_with("change: home.example.com"), "{text}");

    // The address moves and the provider fails: one failure notification.
    service.answer(500, "internal error");
    dir.write(&config("198.51.100.41"));
    let out = dir.once();
    assert!(!out.status.success());
    assert_eq!(service.requests().len(), 2);
    assert_eq!(hook.requests().len(), 2, "{:?}", texts());
    let (text, ip) = &texts()[1];
    assert!(text.starts_with("failure: home.example.com"), "{text}");
    assert_eq!(ip, "198.51.100.41");

    // It works again after the backoff (retry_cap 2 s): recovery, and the change.
    service.answer(200, "good 198.51.100.41");
    std::thread::sleep(Duration::from_millis(2100));
    let out = dir.once();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(service.requests().len(), 3);
    let all = texts();
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(
        all[2..]
            .iter()
            .any(|(t, ip)| t.starts_with("recovery: home.example.com") && ip == "198.51.100.41"),
        "{all:?}"
    );
    assert!(
        all[2..]
            .iter()
            .any(|(t, _)| t.starts_with("change: home.example.com")),
        "{all:?}"
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
    let echo = FakeHttp::start("198.51.100.60");
    let dir = AgentDir::new();
    let provider = ddns_provider(&dir, &s, &token);
    let record = |name: &str| format!("[[record]]\nname = \"{name}\"\nprovider = \"home\"\n");
    let head = format!(
        "[detect.ipv4]\nsources = [{{ kind = \"http\", url = \"{}\" }}]\nallow = [\"documentation\"]\n{provider}",
        echo.url()
    );
    let write = |body: String| dir.write_with("interval = \"30s\"\n", &body);
    write(format!("{head}{}", record("a.ddns.test")));
    let mut agent = dir.spawn();
    wait_for(Duration::from_secs(10), "record a", || {
        lookup(&s, "a.ddns.test.", RecordType::A) == ["198.51.100.60"]
    });
    write(format!(
        "{head}{}{}",
        record("a.ddns.test"),
        record("b.ddns.test")
    ));
    wait_for(Duration::from_secs(10), "record b after the edit", || {
        lookup(&s, "b.ddns.test.", RecordType::A) == ["198.51.100.60"]
    });
    // A broken edit is reported and the running configuration stays: the next poll (within
    // the 30 s interval) publishes a new address for both records through the old provider.
    std::fs::write(dir.config(), "version = 1\n[[record]\nname = ").unwrap();
    wait_for(Duration::from_secs(10), "the rejection in the log", || {
        agent.log().contains("configuration change rejected")
    });
    assert!(agent.alive());
    echo.answer(200, "198.51.100.61");
    wait_for(
        Duration::from_secs(40),
        "the new address under the old configuration",
        || {
            lookup(&s, "a.ddns.test.", RecordType::A) == ["198.51.100.61"]
                && lookup(&s, "b.ddns.test.", RecordType::A) == ["198.51.100.61"]
        },
    );
    assert!(agent.alive(), "{}", agent.log());
    write(format!(
        "{head}{}{}",
        record("a.ddns.test"),
        record("c.ddns.test")
    ));
    wait_for(
        Duration::from_secs(10),
        "record c after fixing the file",
        || lookup(&s, "c.ddns.test.", RecordType::A) == ["198.51.100.61"],
    );
}

/// `kill -9` during state saves. The agent is told (`DDNS_TEST_STATE_SAVE_PAUSE_MS`) to hold
/// each save between writing the temporary file and renaming it over the state file; most
/// rounds kill it exactly then (the temporary file exists), the others at a random moment.
/// Afterwards the state file is always the old one byte for byte, or a complete new one.
#[tokio::test]
async fn kill_9_never_leaves_a_corrupt_state_file() {
    const PAUSE_MS: u64 = 300;
    let service = FakeHttp::start("good");
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
    let temp_files = || -> Vec<PathBuf> {
        std::fs::read_dir(dir.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains("state.json.tmp"))
            .collect()
    };
    let pause = PAUSE_MS.to_string();
    let mut seed = 7u64;
    let (mut in_window, mut replaced) = (0, 0);
    for round in 0..16u64 {
        let address = format!("198.51.100.{}", 100 + round);
        dir.write(&config(&address));
        let before = std::fs::read(dir.state()).ok();
        for stale in temp_files() {
            std::fs::remove_file(stale).unwrap();
        }
        let mut agent = dir.spawn_with(&[("DDNS_TEST_STATE_SAVE_PAUSE_MS", &pause)]);
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let aimed = round % 4 != 3;
        if aimed {
            wait_for(Duration::from_secs(10), "the temporary state file", || {
                !temp_files().is_empty()
            });
            std::thread::sleep(Duration::from_millis((seed >> 33) % (PAUSE_MS / 2)));
        } else {
            std::thread::sleep(Duration::from_millis((seed >> 33) % 800));
        }
        agent.kill9();
        let after = std::fs::read(dir.state()).ok();
        let killed_in_window = !temp_files().is_empty();
        if aimed {
            assert!(killed_in_window, "round {round}: the kill missed the save");
        }
        if killed_in_window {
            in_window += 1;
            assert_eq!(after, before, "round {round}: the old state, untouched");
        } else if after != before {
            replaced += 1;
            let text = String::from_utf8(after.clone().unwrap()).unwrap();
            let state: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("round {round}: torn state file ({e}): {text}"));
            assert_eq!(state["version"], 1, "round {round}");
            let published: Vec<&Value> = state["records"]
                .as_object()
                .unwrap()
                .values()
                .map(|r| &r["published"]["ipv4"][0])
                .collect();
            assert_eq!(published.len(), 20, "round {round}: {text}");
            assert!(
                published
                    .iter()
                    .all(|a| *a == &Value::from(address.as_str())),
                "round {round}: the complete new state: {text}"
            );
        }
        for entry in std::fs::read_dir(dir.dir.path()).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(!name.ends_with(".corrupt"), "round {round}: {name}");
        }
    }
    assert!(in_window >= 12, "{in_window} kills inside a save");
    eprintln!("kill -9: {in_window} inside a save, {replaced} after one");
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

/// The `command` source runs with a cleared environment: the agent's secrets (here the one a
/// provider's `${NOIP_PASSWORD}` reads) do not reach the program; what its `env` names does.
#[cfg(unix)]
#[test]
fn command_source_gets_no_secrets() {
    let dir = AgentDir::new();
    let seen = dir.dir.path().join("env.txt");
    dir.write(&format!(
        "[detect.ipv4]\nsources = [{{ kind = \"command\", program = \"/bin/sh\", args = [\"-c\", 'env > \"$1\"; echo 192.0.2.1', \"sh\", {:?}], env = [\"DDNS_TEST_PASSED\"] }}]\nallow = [\"documentation\"]\n[providers.dyn]\ntype = \"dyndns2\"\nservice = \"custom\"\nurl = \"http://127.0.0.1:1/nic/update\"\nusername = \"me\"\npassword = \"${{NOIP_PASSWORD}}\"\n",
        seen.display().to_string()
    ));
    let out = Command::new(bin())
        .args(["ip", "--family", "ipv4", "--config"])
        .arg(dir.config())
        .env("NOIP_PASSWORD", "hunter2-secret")
        .env("DDNS_TEST_PASSED", "passed-on")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let env = std::fs::read_to_string(&seen).unwrap();
    assert!(!env.contains("hunter2-secret"), "{env}");
    assert!(!env.contains("NOIP_PASSWORD"), "{env}");
    assert!(!env.contains("RUST_LOG") && !env.contains("CARGO"), "{env}");
    assert!(env.contains("DDNS_TEST_PASSED=passed-on"), "{env}");
    assert!(env.contains("DDNS_FAMILY=ipv4"), "{env}");
    assert!(env.lines().any(|l| l.starts_with("PATH=")), "{env}");
}

/// The interface-event path: in a network namespace of its own, the test changes the address
/// of an interface and measures how long until DNS answers with the new one.
#[tokio::test]
async fn interface_event_updates_dns_within_two_seconds() {
    const INSIDE: &str = "DDNS_TEST_IN_NETNS";
    if std::env::var_os(INSIDE).is_none() {
        let out = Command::new("unshare")
            .args(["-rn"])
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "agent::interface_event_updates_dns_within_two_seconds",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(INSIDE, "1")
            .output()
            .expect("unshare(1) is needed (util-linux)");
        let stdout = String::from_utf8_lossy(&out.stdout);
        eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            out.status.success(),
            "the test failed inside its network namespace"
        );
        // A renamed test would match nothing and "pass": exactly this one must have run.
        assert!(
            stdout.contains("test result: ok. 1 passed;"),
            "not exactly one test ran inside the namespace"
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
