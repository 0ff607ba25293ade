//! `/metrics`, `/healthz` and `/readyz` of a real server: counters move by what real DNS
//! queries and real updates did, and Debian's `promtool check metrics` accepts the text.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::common::{RecordType, ServerProcess, dns, http, nic, server, server_with_config};

/// One scrape: every sample by its series (`name{k="v",…}` with labels sorted).
struct Scrape {
    text: String,
    samples: BTreeMap<String, f64>,
}

impl Scrape {
    /// The value of `name` with exactly these labels; 0 when the series is absent (a counter
    /// that never moved).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples.get(&key(name, labels)).copied().unwrap_or(0.0)
    }
}

fn key(name: &str, labels: &[(&str, &str)]) -> String {
    let mut labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    labels.sort();
    format!("{name}{{{}}}", labels.join(","))
}

/// Parses the text format's sample lines (our label values hold no commas or quotes).
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels: Vec<(&str, &str)> = labels
            .split(',')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap();
                (k, v.trim_matches('"'))
            })
            .collect();
        samples.insert(key(name, &labels), value);
    }
    samples
}

async fn scrape(s: &ServerProcess) -> Scrape {
    let response = http().get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    Scrape {
        samples: parse(&text),
        text,
    }
}

/// `promtool check metrics` on `text`: its exit status and what it said.
fn promtool(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; scripts/test.sh installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

#[tokio::test]
async fn counters_move_by_what_queries_and_updates_did_and_promtool_accepts_them() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    let before = scrape(&s).await;
    let (ok, said) = promtool(&before.text);
    assert!(
        ok,
        "promtool refused the first scrape: {said}\n{}",
        before.text
    );

    // Updates: DynDNS2 good, nochg, badauth, nohost; REST good; a REST bad token.
    let update = "hostname=home.ddns.test&myip=192.0.2.10";
    assert_eq!(nic(&s, Some(&token), update).await.1, "good 192.0.2.10");
    assert_eq!(nic(&s, Some(&token), update).await.1, "nochg 192.0.2.10");
    assert_eq!(nic(&s, Some("wrong"), update).await.1, "badauth");
    let other = "hostname=other.ddns.test&myip=192.0.2.11";
    assert_eq!(nic(&s, Some(&token), other).await.1, "nohost");
    let rest = |token: &str| {
        http()
            .post(s.url("/update"))
            .bearer_auth(token)
            .form(&[("domain", "home.ddns.test"), ("ip", "192.0.2.20")])
            .send()
    };
    let response = rest(&token).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(rest("nope").await.unwrap().status(), 401);

    // DNS: 3 A (NOERROR) and 2 AAAA of a missing name (NXDOMAIN) over UDP, 1 TXT over TCP.
    let server = s.dns;
    tokio::task::spawn_blocking(move || {
        for _ in 0..3 {
            let m = dns::udp(server, "home.ddns.test.", RecordType::A);
            assert_eq!(dns::answers(&m, RecordType::A), ["192.0.2.20"]);
        }
        for _ in 0..2 {
            let m = dns::udp(server, "missing.ddns.test.", RecordType::AAAA);
            assert_eq!(
                m.metadata.response_code,
                hickory_proto::op::ResponseCode::NXDomain
            );
        }
        dns::tcp(server, "home.ddns.test.", RecordType::TXT);
    })
    .await
    .unwrap();

    let after = scrape(&s).await;
    let moved =
        |name: &str, labels: &[(&str, &str)]| after.get(name, labels) - before.get(name, labels);
    let q = "ddns_dns_queries_total";
    assert_eq!(
        moved(
            q,
            &[("transport", "udp"), ("qtype", "A"), ("rcode", "NOERROR")]
        ),
        3.0
    );
    assert_eq!(
        moved(
            q,
            &[
                ("transport", "udp"),
                ("qtype", "AAAA"),
                ("rcode", "NXDOMAIN")
            ]
        ),
        2.0
    );
    assert_eq!(
        moved(
            q,
            &[("transport", "tcp"), ("qtype", "TXT"), ("rcode", "NOERROR")]
        ),
        1.0
    );
    assert_eq!(moved("ddns_dns_tcp_connections_total", &[]), 1.0);
    for (transport, n) in [("udp", 5.0), ("tcp", 1.0)] {
        let t = [("transport", transport)];
        assert_eq!(moved("ddns_dns_response_size_bytes_count", &t), n);
        assert_eq!(moved("ddns_dns_answer_duration_seconds_count", &t), n);
        let inf = [("transport", transport), ("le", "+Inf")];
        assert_eq!(
            after.get("ddns_dns_answer_duration_seconds_bucket", &inf),
            after.get("ddns_dns_answer_duration_seconds_count", &t)
        );
    }
    assert!(moved("ddns_dns_response_size_bytes_sum", &[("transport", "udp")]) >= 5.0 * 40.0);

    let u = "ddns_updates_total";
    let dyndns2 = |result| [("protocol", "dyndns2"), ("result", result)];
    assert_eq!(moved(u, &dyndns2("good")), 1.0);
    assert_eq!(moved(u, &dyndns2("nochg")), 1.0);
    assert_eq!(moved(u, &dyndns2("badauth")), 1.0);
    assert_eq!(moved(u, &dyndns2("nohost")), 1.0);
    assert_eq!(moved(u, &[("protocol", "rest"), ("result", "good")]), 1.0);
    assert_eq!(
        moved(u, &[("protocol", "rest"), ("result", "badauth")]),
        1.0
    );
    // A missing token is refused before any is checked; "wrong" and "nope" were checked.
    assert_eq!(
        moved("ddns_auth_failures_total", &[("protocol", "dyndns2")]),
        1.0
    );
    assert_eq!(
        moved("ddns_auth_failures_total", &[("protocol", "api")]),
        1.0
    );
    // good (DynDNS2) and good (REST) committed; nochg needs no transaction.
    assert!(moved("ddns_store_commit_duration_seconds_count", &[]) >= 2.0);
    let zone = [("zone", "ddns.test")];
    assert!(moved("ddns_zone_serial", &zone) >= 2.0, "two serial steps");
    assert!(after.get("ddns_zone_names", &zone) >= 2.0, "apex and home");
    assert!(after.get("ddns_zone_rrsets", &zone) >= after.get("ddns_zone_names", &zone));
    assert_eq!(after.get("ddns_ready", &[]), 1.0);

    let (ok, said) = promtool(&after.text);
    assert!(ok, "promtool refused the scrape: {said}\n{}", after.text);
}

#[tokio::test]
async fn healthz_and_readyz_answer_a_ready_server() {
    let s = server(&[]);
    let health = http().get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    let ready = http().get(s.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready\n");
}

#[tokio::test]
async fn metrics_can_be_turned_off_or_kept_to_some_networks() {
    let (_off_dir, off) = server_with_config(
        "version = 1\n[http]\nmetrics = false\n[[zone]]\nname = \"ddns.test\"\n",
    );
    assert_eq!(
        http()
            .get(off.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // Queries are still answered with counting off.
    let server = off.dns;
    tokio::task::spawn_blocking(move || dns::udp(server, "ddns.test.", RecordType::SOA))
        .await
        .unwrap();

    let (_dir, kept) = server_with_config(
        "version = 1\n[http]\nmetrics_allow = [\"192.0.2.0/24\"]\n[[zone]]\nname = \"ddns.test\"\n",
    );
    let refused = http().get(kept.url("/metrics")).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let (_dir, open) = server_with_config(
        "version = 1\n[http]\nmetrics_allow = [\"127.0.0.0/8\"]\n[[zone]]\nname = \"ddns.test\"\n",
    );
    assert_eq!(
        http()
            .get(open.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
