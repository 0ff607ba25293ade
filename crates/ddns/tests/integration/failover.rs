//! Health-checked record sets (`[[zone.failover]]`) against a real server: TCP listeners of
//! the test on 127.0.0.2, .3, … (all of 127/8 is loopback on Linux), one port the test picks,
//! closed and reopened while DNS answers, history and the journal are watched.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;

use crate::common::*;

const ZONE: &str = "ddns.test";

/// A TCP service on one address: accepts and drops connections until closed (dropping the
/// listener, so connections are refused with a reset).
struct Backend {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Backend {
    fn open(addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        Self::serve(listener)
    }

    fn serve(listener: TcpListener) -> Self {
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => drop(conn),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    fn close(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A port free on every one of `hosts` (127.0.0.x), with listeners already bound on each.
fn open_all(hosts: &[&str]) -> (u16, Vec<Backend>) {
    'pick: for _ in 0..50 {
        let first = TcpListener::bind((hosts[0], 0)).unwrap();
        let port = first.local_addr().unwrap().port();
        let mut listeners = vec![first];
        for host in &hosts[1..] {
            match TcpListener::bind((*host, port)) {
                Ok(l) => listeners.push(l),
                Err(_) => continue 'pick,
            }
        }
        return (port, listeners.into_iter().map(Backend::serve).collect());
    }
    panic!("no port free on all of {hosts:?}");
}

fn addr(host: &str, port: u16) -> SocketAddr {
    SocketAddr::new(host.parse().unwrap(), port)
}

fn start(dir: &Path, toml: &str) -> ServerProcess {
    let path = dir.join("ddns.toml");
    std::fs::write(&path, toml).unwrap();
    let data = dir.join("data");
    ServerProcess::start_in(bin(), &data, &["--config", path.to_str().unwrap()])
}

/// The A answers for `name`, sorted.
fn a_of(server: &ServerProcess, name: &str) -> Vec<String> {
    let mut got = dns::answers(&dns::udp(server.dns, name, RecordType::A), RecordType::A);
    got.sort();
    got
}

/// Polls until `name` answers exactly `want`; the time it took.
fn wait_for(server: &ServerProcess, name: &str, want: &[&str], within: Duration) -> Duration {
    let started = Instant::now();
    let mut want: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    loop {
        let got = a_of(server, name);
        if got == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{name} still answers {got:?} after {within:?}, not {want:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `ddns history NAME` as (actor, change) rows, oldest first.
fn history(server: &ServerProcess, name: &str) -> Vec<(String, String)> {
    let dir = server.data_dir.display().to_string();
    let out = ddns_testkit::run_ok(bin(), &["history", "--data-dir", &dir, name]);
    let mut rows: Vec<(String, String)> = out
        .lines()
        .skip(1)
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            (cols[2].to_owned(), cols[4].to_owned())
        })
        .collect();
    rows.reverse();
    rows
}

fn health_rows(server: &ServerProcess, name: &str) -> Vec<String> {
    history(server, name)
        .into_iter()
        .filter(|(actor, _)| actor == "health")
        .map(|(_, change)| change)
        .collect()
}

/// Whether a NOTIFY (opcode 4) carrying `serial` arrives within 5 s; answers each one as a
/// secondary would, so the server stops retrying.
fn notified(socket: &std::net::UdpSocket, serial: u32) -> bool {
    let started = Instant::now();
    let mut buf = [0u8; 512];
    while started.elapsed() < Duration::from_secs(5) {
        let Ok((len, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let msg = &buf[..len];
        if len < 12 || (msg[2] >> 3) & 0xF != 4 {
            continue;
        }
        let mut reply = msg.to_vec();
        reply[2] |= 0x80;
        let _ = socket.send_to(&reply, from);
        // RFC 1996 §3.7: the answer section may carry the new SOA; the serial is in it.
        if msg.windows(4).any(|w| w == serial.to_be_bytes()) {
            return true;
        }
    }
    false
}

fn serial(server: &ServerProcess) -> u32 {
    dns::soa_serial(&dns::udp(server.dns, ZONE, RecordType::SOA)).unwrap()
}

/// With the default check (1 s, fall 2, rise 2, 500 ms timeout): a closed port leaves the
/// answer within 3 s, returns after two good checks, each change is a serial step with a
/// history row by `health`; dynamic updates cannot touch the name; a restart keeps the state.
#[tokio::test]
async fn a_closed_port_fails_over_within_3s_and_returns_after_rise_checks() {
    let (port, mut backends) = open_all(&["127.0.0.2", "127.0.0.3"]);
    let dir = tempfile::tempdir().unwrap();
    // A secondary's NOTIFY port: the test's socket.
    let secondary = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    secondary
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let notify = secondary.local_addr().unwrap();
    let toml = format!(
        "version = 1\n[[zone]]\nname = \"{ZONE}\"\nnotify = [\"{notify}\"]\nallow_transfer = [\"127.0.0.1\"]\n[[zone.failover]]\nname = \"files\"\ntargets = [\"127.0.0.2\", \"127.0.0.3\"]\ncheck = {{ port = {port} }}\n"
    );
    let server = start(dir.path(), &toml);
    let name = "files.ddns.test";
    assert!(
        server.banner.contains("failover   files.ddns.test."),
        "{}",
        server.banner
    );
    assert_eq!(a_of(&server, name), ["127.0.0.2", "127.0.0.3"]);
    // Let the first checks pass: nothing is written while every target answers.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(health_rows(&server, name), Vec::<String>::new());
    let before = serial(&server);

    backends.pop().unwrap().close();
    let took = wait_for(&server, name, &["127.0.0.2"], Duration::from_secs(3));
    eprintln!("failover after {took:?}");
    assert!(serial(&server) > before, "the change is a serial step");
    let answer = dns::udp(server.dns, name, RecordType::A);
    assert!(answer.metadata.authoritative);
    // Secondaries follow: a NOTIFY of the new serial arrives, and IXFR from the old serial
    // holds exactly the change of the A set.
    let after = serial(&server);
    assert!(notified(&secondary, after), "no NOTIFY for serial {after}");
    let ixfr = run_tool(
        "dig",
        &[
            "@127.0.0.1",
            "-p",
            &server.dns.port().to_string(),
            "+tcp",
            ZONE,
            &format!("IXFR={before}"),
        ],
    );
    let body: Vec<&str> = ixfr
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .collect();
    assert_eq!(
        body.len(),
        5,
        "SOA, old SOA, the removed A, SOA, SOA:\n{ixfr}"
    );
    assert!(
        body[2].starts_with("files.ddns.test.") && body[2].ends_with("127.0.0.3"),
        "{ixfr}"
    );

    // RFC 2136 or DynDNS2 cannot put the dead address back, nor add another.
    let token = server.token(&[name]);
    let (_, body) = nic(
        &server,
        Some(&token),
        &format!("hostname={name}&myip=192.0.2.9"),
    )
    .await;
    assert!(
        !body.starts_with("good") && !body.starts_with("nochg"),
        "{body}"
    );
    assert_eq!(a_of(&server, name), ["127.0.0.2"]);

    let reopened = Instant::now();
    backends.push(Backend::open(addr("127.0.0.3", port)));
    let took = wait_for(
        &server,
        name,
        &["127.0.0.2", "127.0.0.3"],
        Duration::from_secs(4),
    );
    let since = reopened.elapsed();
    eprintln!("back after {took:?}");
    // Two good checks a second apart.
    assert!(
        since >= Duration::from_millis(900),
        "back after {since:?}: before rise checks"
    );

    assert_eq!(
        health_rows(&server, name),
        [
            "A 60 127.0.0.2,127.0.0.3 -> 60 127.0.0.2",
            "A 60 127.0.0.2 -> 60 127.0.0.2,127.0.0.3"
        ]
    );

    // Down again, then a restart: the stored state is kept (no dead target answered, nothing
    // written at start).
    backends.pop().unwrap().close();
    wait_for(&server, name, &["127.0.0.2"], Duration::from_secs(3));
    let rows = history(&server, name).len();
    assert!(server.stop());
    let server = start(dir.path(), &toml);
    assert_eq!(a_of(&server, name), ["127.0.0.2"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(a_of(&server, name), ["127.0.0.2"]);
    assert_eq!(
        history(&server, name).len(),
        rows,
        "a restart writes nothing"
    );
}

/// `answer_all` keeps every target while all are down; `answer_none` answers no address
/// (NODATA: the name keeps its other records). The first target back is answered alone.
#[test]
fn all_down_policies() {
    let hosts = ["127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"];
    let (port, backends) = open_all(&hosts);
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"version = 1
[[zone]]
name = "{ZONE}"
records = ["vault TXT \"kept\""]
[[zone.failover]]
name = "files"
targets = ["127.0.0.4", "127.0.0.5"]
check = {{ port = {port}, interval = "300ms", timeout = "200ms" }}
all_down = "answer_all"
[[zone.failover]]
name = "vault"
targets = ["127.0.0.6", "127.0.0.7"]
check = {{ port = {port}, interval = "300ms", timeout = "200ms" }}
all_down = "answer_none"
"#
    );
    let server = start(dir.path(), &toml);
    for b in backends {
        b.close();
    }
    wait_for(&server, "vault.ddns.test", &[], Duration::from_secs(3));
    let nodata = dns::udp(server.dns, "vault.ddns.test", RecordType::A);
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
    assert_eq!(
        dns::answers(
            &dns::udp(server.dns, "vault.ddns.test", RecordType::TXT),
            RecordType::TXT
        )
        .len(),
        1
    );
    assert_eq!(a_of(&server, "files.ddns.test"), ["127.0.0.4", "127.0.0.5"]);
    // answer_all: all down is all targets. The two ports close a moment apart, so a round
    // may have seen one of them still open: then the name went to it and back to both.
    let files = health_rows(&server, "files.ddns.test");
    assert!(
        files.is_empty()
            || files
                .last()
                .is_some_and(|last| last.ends_with("-> 60 127.0.0.4,127.0.0.5")),
        "{files:?}"
    );
    let vault = health_rows(&server, "vault.ddns.test");
    assert!(
        (1..=2).contains(&vault.len()) && vault.last().is_some_and(|l| l.ends_with("-> -")),
        "answer_none: the addresses are removed: {vault:?}"
    );

    let _five = Backend::open(addr("127.0.0.5", port));
    let _seven = Backend::open(addr("127.0.0.7", port));
    wait_for(
        &server,
        "files.ddns.test",
        &["127.0.0.5"],
        Duration::from_secs(3),
    );
    wait_for(
        &server,
        "vault.ddns.test",
        &["127.0.0.7"],
        Duration::from_secs(3),
    );
    let after = health_rows(&server, "vault.ddns.test");
    assert_eq!(after.len(), vault.len() + 1, "{after:?}");
    assert_eq!(
        after.last().map(String::as_str),
        Some("A - -> 60 127.0.0.7")
    );
}

/// A target flapping every 250 ms under a 100 ms check with rise = fall = 1: without damping
/// two journal entries a flap; with it the first two flaps are followed, then the target is
/// held out (10 s) and the name stays on the healthy target.
#[test]
fn a_flapping_target_is_damped() {
    let (port, mut backends) = open_all(&["127.0.0.8", "127.0.0.9"]);
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "version = 1\n[[zone]]\nname = \"{ZONE}\"\n[[zone.failover]]\nname = \"flappy\"\ntargets = [\"127.0.0.8\", \"127.0.0.9\"]\ncheck = {{ port = {port}, interval = \"100ms\", timeout = \"50ms\", rise = 1, fall = 1 }}\n"
    );
    let server = start(dir.path(), &toml);
    let name = "flappy.ddns.test";
    let serial_before = serial(&server);
    let mut flapper = backends.pop();
    let started = Instant::now();
    let mut flaps = 0;
    while started.elapsed() < Duration::from_secs(6) {
        match flapper.take() {
            Some(open) => {
                open.close();
                flaps += 1;
            }
            None => flapper = Some(Backend::open(addr("127.0.0.9", port))),
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    if flapper.is_none() {
        flapper = Some(Backend::open(addr("127.0.0.9", port)));
    }
    let rows = health_rows(&server, name);
    assert!(flaps >= 10, "{flaps}");
    // Two free flaps (4 changes), then the third removal: the target stays out.
    assert!(
        (5..=6).contains(&rows.len()),
        "{} changes for {flaps} flaps: {rows:?}",
        rows.len()
    );
    assert_eq!(a_of(&server, name), ["127.0.0.8"]);
    let steps = serial(&server).wrapping_sub(serial_before);
    assert!(steps <= 6, "{steps} serial steps");
    // Healthy but held for 10 s after its last removal; then it returns.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(a_of(&server, name), ["127.0.0.8"], "held out while damped");
    wait_for(
        &server,
        name,
        &["127.0.0.8", "127.0.0.9"],
        Duration::from_secs(12),
    );
    drop(flapper);
}

/// Several nodes behind one name (`lease`): each node's own token publishes its address by
/// DynDNS2; the set is the union of the live nodes once their checks pass; a node that stops
/// publishing leaves after the lease while the others stay; a node that moves or goes offline
/// takes its old address with it. The audit trail says who published and whose lease ran
/// out; every DNS change is `health`'s.
#[tokio::test]
async fn nodes_publish_into_a_leased_set_and_leave_when_silent() {
    let (port, _backends) = open_all(&["127.0.0.21", "127.0.0.22", "127.0.0.23"]);
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "version = 1\n[[zone]]\nname = \"{ZONE}\"\n[[zone.failover]]\nname = \"files\"\ntargets = [\"127.0.0.21\"]\nlease = \"3s\"\ncheck = {{ port = {port}, interval = \"200ms\", timeout = \"200ms\" }}\n"
    );
    let server = start(dir.path(), &toml);
    let name = "files.ddns.test";
    assert_eq!(a_of(&server, name), ["127.0.0.21"]);
    let (node_a, node_b) = (server.token(&[name]), server.token(&[name]));
    let publish = |token: String, query: String| {
        let server = &server;
        async move { nic(server, Some(&token), &query).await.1 }
    };

    let q = |ip: &str| format!("hostname={name}&myip={ip}");
    assert_eq!(
        publish(node_a.clone(), q("127.0.0.22")).await,
        "good 127.0.0.22"
    );
    assert_eq!(
        publish(node_a.clone(), q("127.0.0.22")).await,
        "nochg 127.0.0.22"
    );
    assert_eq!(
        publish(node_b.clone(), q("127.0.0.23")).await,
        "good 127.0.0.23"
    );
    let silent_since = Instant::now();
    wait_for(
        &server,
        name,
        &["127.0.0.21", "127.0.0.22", "127.0.0.23"],
        Duration::from_secs(3),
    );

    // Node A keeps publishing, node B goes silent: B leaves once its lease has run out.
    loop {
        assert_eq!(
            publish(node_a.clone(), q("127.0.0.22")).await,
            "nochg 127.0.0.22"
        );
        if a_of(&server, name) == ["127.0.0.21", "127.0.0.22"] {
            break;
        }
        assert!(
            silent_since.elapsed() < Duration::from_secs(8),
            "node B still answered: {:?}",
            a_of(&server, name)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let left_after = silent_since.elapsed();
    eprintln!("silent node left after {left_after:?}");
    assert!(
        left_after >= Duration::from_millis(2900),
        "left after {left_after:?}, before its 3 s lease"
    );

    // Node A moves: its old address goes, the new one joins after its checks.
    assert_eq!(
        publish(node_a.clone(), q("127.0.0.23")).await,
        "good 127.0.0.23"
    );
    wait_for(
        &server,
        name,
        &["127.0.0.21", "127.0.0.23"],
        Duration::from_secs(3),
    );
    // Going offline takes its addresses out at once (no lease to wait for).
    assert_eq!(
        publish(node_a.clone(), format!("hostname={name}&offline=YES")).await,
        "good"
    );
    wait_for(&server, name, &["127.0.0.21"], Duration::from_secs(3));

    // A failover set takes updates alone; a token of another name cannot publish into it.
    let other = format!("other.{ZONE}");
    let both = server.token(&[name, &other]);
    let body = publish(both, format!("hostname={name},{other}&myip=127.0.0.23")).await;
    assert_eq!(body, "dnserr", "refused as a conflict (409)");
    let stranger = server.token(&[&other]);
    let body = publish(stranger, q("127.0.0.22")).await;
    assert!(
        !body.starts_with("good") && !body.starts_with("nochg"),
        "{body}"
    );
    assert_eq!(a_of(&server, name), ["127.0.0.21"]);

    let data = server.data_dir.display().to_string();
    let audit = ddns_testkit::run_ok(bin(), &["audit", "--data-dir", &data]);
    let rows = |action: &str| audit.lines().filter(|l| l.contains(action)).count();
    // A joined, B joined, A moved, A went offline; B's lease ran out.
    assert_eq!(rows("failover.publish"), 4, "{audit}");
    assert_eq!(rows("failover.expire"), 1, "{audit}");
    let rows = history(&server, name);
    assert_eq!(
        rows[0].0, "config",
        "the configured target, at start: {rows:?}"
    );

    // What nodes published survives a restart: a node answered before is answered at once.
    assert_eq!(
        publish(node_b.clone(), q("127.0.0.22")).await,
        "good 127.0.0.22"
    );
    wait_for(
        &server,
        name,
        &["127.0.0.21", "127.0.0.22"],
        Duration::from_secs(3),
    );
    assert!(server.stop());
    let server = start(dir.path(), &toml);
    assert_eq!(a_of(&server, name), ["127.0.0.21", "127.0.0.22"]);
    assert!(
        rows[1..].iter().all(|(actor, _)| actor == "health"),
        "{rows:?}"
    );
}

/// Two file servers' agents publish into one leased set; one agent stops: its address leaves
/// after the lease, the other node stays. The agent's shortest interval is 30 s, so the lease
/// is 35 s and the test waits that long (it runs beside the others).
#[tokio::test]
async fn a_stopped_agent_leaves_the_set_after_its_lease() {
    use crate::agent::{AgentDir, ddns_provider};
    use ddns_testkit::fake_http::FakeHttp;

    let nodes = ["127.0.0.31", "127.0.0.32"];
    let (port, _backends) = open_all(&nodes);
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "version = 1\n[[zone]]\nname = \"{ZONE}\"\n[[zone.failover]]\nname = \"files\"\ntargets = []\nlease = \"35s\"\ncheck = {{ port = {port}, interval = \"200ms\", timeout = \"200ms\" }}\n"
    );
    let server = start(dir.path(), &toml);
    let name = "files.ddns.test";
    let mut agents = Vec::new();
    for node in nodes {
        // Each node detects its own address from two loopback echo services.
        let echoes = [FakeHttp::start(node), FakeHttp::start(node)];
        let agent_dir = AgentDir::new();
        let provider = ddns_provider(&agent_dir, &server, &server.token(&[name]));
        agent_dir.write_with(
            "interval = \"30s\"\nforce_refresh = \"1s\"\n",
            &format!(
                "[detect.ipv4]\nsources = [{{ kind = \"http\", url = \"{}\" }}, {{ kind = \"http\", url = \"{}\" }}]\nallow = [\"loopback\"]\n{provider}[[record]]\nname = \"{name}\"\nprovider = \"home\"\n",
                echoes[0].url(),
                echoes[1].url(),
            ),
        );
        let process = agent_dir.spawn();
        agents.push((process, agent_dir, echoes));
    }
    let started = Instant::now();
    while a_of(&server, name) != nodes {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{name} answers {:?}; agents:\n{}",
            a_of(&server, name),
            agents
                .iter()
                .map(|a| a.0.log())
                .collect::<Vec<_>>()
                .join("\n---\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let (mut stopped, _, _) = agents.remove(0);
    stopped.kill9();
    let stopped_at = Instant::now();
    let took = wait_for(&server, name, &nodes[1..], Duration::from_secs(45));
    eprintln!("stopped agent's address left after {took:?} (lease 35 s, agent interval 30 s)");
    assert!(
        stopped_at.elapsed() >= Duration::from_secs(25),
        "left after {took:?}: before the lease can have run out"
    );
    // The other node keeps its place.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(a_of(&server, name), ["127.0.0.32"], "{}", agents[0].0.log());
}
