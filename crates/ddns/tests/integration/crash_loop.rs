//! Durability under repeated crashes: clients stream updates while the server is killed with
//! SIGKILL at random moments and restarted on the same data directory, again and again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::common::*;

const KILLS: usize = 20;
/// Writers 0..DYNDNS2_WRITERS use DynDNS2, the others REST; each owns its hosts and sends one
/// request at a time, so at most one of its updates is unanswered when the server dies.
const WRITERS: usize = 5;
const DYNDNS2_WRITERS: usize = 4;
const HOSTS_PER_WRITER: usize = 4;

/// What the clients know about one host.
#[derive(Default, Clone, Debug)]
struct Track {
    /// Every value sent, in order.
    sent: Vec<String>,
    /// Every value acknowledged, in order.
    acked: Vec<String>,
    /// Sent when the server died, unanswered: it may or may not have been committed.
    in_flight: Option<String>,
    /// The value the store must hold now (the last acknowledged, or the unanswered one that a
    /// restart showed committed).
    durable: Option<String>,
}

/// Per-test xorshift, seeded from the clock and printed so a failing run can be repeated
/// (`DDNS_CRASH_SEED=…`).
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = std::env::var("DDNS_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("crash loop seed: DDNS_CRASH_SEED={seed}");
        Self(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn host(writer: usize, k: usize) -> String {
    format!("w{writer}-{k}.ddns.test")
}

/// One writer's stream until the server stops answering (or `stop` is set); returns what it
/// learnt about its hosts.
async fn stream(
    url_base: String,
    token: String,
    writer: usize,
    mut hosts: Vec<Track>,
    mut next: u32,
    stop: Arc<AtomicBool>,
) -> (Vec<Track>, u32, usize) {
    let client = http();
    let mut answered = 0;
    let mut k = 0;
    while !stop.load(Ordering::Relaxed) {
        let name = host(writer, k);
        next += 1;
        let ip = format!("10.{writer}.{}.{}", next / 250, next % 250 + 1);
        let track = &mut hosts[k];
        track.sent.push(ip.clone());
        track.in_flight = Some(ip.clone());
        let result = if writer < DYNDNS2_WRITERS {
            match client
                .get(format!("{url_base}/nic/update?hostname={name}&myip={ip}"))
                .basic_auth("user", Some(&token))
                .send()
                .await
            {
                Ok(response) => response.text().await.map(|body| {
                    assert_eq!(body, format!("good {ip}"), "{name}: its own answer");
                }),
                Err(e) => Err(e),
            }
        } else {
            match client
                .put(format!("{url_base}/api/v1/hosts/{name}/records/A"))
                .bearer_auth(&token)
                .json(&serde_json::json!({ "values": [ip] }))
                .send()
                .await
            {
                Ok(response) => {
                    let status = response.status().as_u16();
                    response.text().await.map(|body| {
                        assert_eq!(status, 200, "{name}: {body}");
                    })
                }
                Err(e) => Err(e),
            }
        };
        // An error is the kill: this request stays in flight and the stream ends.
        if result.is_err() {
            break;
        }
        track.in_flight = None;
        track.acked.push(ip.clone());
        track.durable = Some(ip);
        answered += 1;
        k = (k + 1) % HOSTS_PER_WRITER;
    }
    (hosts, next, answered)
}

/// Every history row of `name`, oldest first.
async fn history(s: &ServerProcess, token: &str, name: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut url = s.url(&format!("/api/v1/hosts/{name}/history?limit=1000"));
    loop {
        let page = get_json(url.clone(), token).await;
        let page = page.as_array().unwrap().clone();
        let Some(last) = page.last().map(|r| r["id"].as_i64().unwrap()) else {
            break;
        };
        let full = page.len() == 1000;
        rows.extend(page);
        if !full {
            break;
        }
        url = s.url(&format!(
            "/api/v1/hosts/{name}/history?limit=1000&before={last}"
        ));
    }
    rows.reverse();
    rows
}

fn values(set: &Value) -> Option<Vec<String>> {
    set.as_object().map(|s| {
        s["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    })
}

/// The durability acceptance: DynDNS2 and REST clients stream updates while the server
/// is killed with SIGKILL at random moments, 20 times, each time restarted on the same data
/// directory. After every restart each host holds its last acknowledged value (or the one that
/// was unanswered at the kill); at the end each host's history is one unbroken chain
/// (each row's old value is the previous row's new one) that holds every acknowledged value in
/// order and nothing that was never sent, with serials that never go back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_random_sigkills_lose_no_acknowledged_update() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ddns.toml");
    std::fs::write(
        &config,
        "version = 1\n\
         [http]\napi_writes_per_token_per_minute = 1000000\n\
         requests_per_ip_per_minute = 1000000\n\
         [dyndns2]\nupdates_per_host_per_minute = 1000000\n\
         updates_per_token_per_minute = 1000000\n\
         [[zone]]\nname = \"ddns.test\"\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let args = ["--config", config.to_str().unwrap()];
    let mut rng = Rng::new();
    let mut tracks = vec![vec![Track::default(); HOSTS_PER_WRITER]; WRITERS];
    let mut counters = [0u32; WRITERS];
    let mut token = None;
    let (mut kills_mid_write, mut unanswered_committed, mut total_answered) = (0, 0, 0);
    let mut last_serial = 0u32;

    for round in 0..=KILLS {
        let s = ServerProcess::start_in(bin(), &data, &args);
        let token = token
            .get_or_insert_with(|| s.token(&["*.ddns.test"]))
            .clone();

        // What the crash left: every host at its durable value or its unanswered one.
        for (w, hosts) in tracks.iter_mut().enumerate() {
            for (k, track) in hosts.iter_mut().enumerate() {
                let name = host(w, k);
                let seen = lookup(&s, &format!("{name}."), RecordType::A);
                let durable: Vec<String> = track.durable.iter().cloned().collect();
                match track.in_flight.take() {
                    Some(ip) if seen == [ip.clone()] => {
                        unanswered_committed += 1;
                        track.durable = Some(ip);
                    }
                    in_flight => assert_eq!(
                        seen, durable,
                        "round {round}: {name} lost an acknowledged update \
                         (unanswered at the kill: {in_flight:?})"
                    ),
                }
            }
        }
        let now = serial(&s);
        assert!(
            now >= last_serial,
            "round {round}: the serial went back from {last_serial} to {now}"
        );
        if round == KILLS {
            break;
        }

        let stop = Arc::new(AtomicBool::new(false));
        let mut writers = Vec::new();
        for (w, hosts) in tracks.iter().enumerate() {
            writers.push(tokio::spawn(stream(
                s.url(""),
                token.clone(),
                w,
                hosts.clone(),
                counters[w],
                Arc::clone(&stop),
            )));
        }
        tokio::time::sleep(Duration::from_millis(20 + rng.below(300))).await;
        last_serial = serial(&s);
        s.kill();
        stop.store(true, Ordering::Relaxed);
        let mut unanswered = false;
        for (w, writer) in writers.into_iter().enumerate() {
            let (hosts, next, answered) = writer.await.unwrap();
            unanswered |= hosts.iter().any(|t| t.in_flight.is_some());
            tracks[w] = hosts;
            counters[w] = next;
            total_answered += answered;
        }
        kills_mid_write += usize::from(unanswered);
    }
    eprintln!(
        "{KILLS} kills, {kills_mid_write} with requests in flight, {total_answered} updates \
         acknowledged, {unanswered_committed} unanswered ones found committed"
    );
    assert!(
        kills_mid_write >= KILLS / 2,
        "only {kills_mid_write} of {KILLS} kills landed while requests were in flight"
    );
    assert!(total_answered >= 200, "only {total_answered} updates");

    let s = ServerProcess::start_in(bin(), &data, &args);
    let token = token.unwrap();
    for (w, hosts) in tracks.iter().enumerate() {
        for (k, track) in hosts.iter().enumerate() {
            let name = host(w, k);
            let rows = history(&s, &token, &name).await;
            let mut previous: Option<Vec<String>> = None;
            let mut previous_serial = 0;
            let mut chain = Vec::new();
            for row in &rows {
                assert_eq!(row["type"], "A", "{name}: {row}");
                assert_eq!(
                    values(&row["old"]),
                    previous,
                    "{name}: the chain breaks at {row}"
                );
                let new = values(&row["new"]).expect("no deletes in this test");
                assert_eq!(new.len(), 1, "{name}: {row}");
                let serial = row["serial"].as_u64().unwrap();
                assert!(
                    serial >= previous_serial,
                    "{name}: serial goes back at {row}"
                );
                previous_serial = serial;
                chain.push(new[0].clone());
                previous = Some(new);
            }
            assert_eq!(
                previous.as_ref().and_then(|p| p.first()),
                track.durable.as_ref(),
                "{name}: the last history row is not what DNS serves"
            );
            // Every acknowledged value, in order, and nothing that was never sent.
            let mut acked = track.acked.iter().peekable();
            for value in &chain {
                assert!(track.sent.contains(value), "{name}: {value} was never sent");
                if acked.peek() == Some(&value) {
                    acked.next();
                }
            }
            assert_eq!(
                acked.next(),
                None,
                "{name}: acknowledged values missing in history"
            );
        }
    }
}
