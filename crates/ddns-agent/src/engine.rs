//! The agent's loop: rounds of detect → decide → publish → remember, triggered by the polling
//! timer (with jitter), interface address events, the end of a record's backoff and changes of
//! the configuration file.
//!
//! A round detects each distinct detection setup once, then handles every record on its own:
//! publishes run concurrently, so one slow or failing provider never holds up another record.
//! The state file is replaced atomically after every round that changed it.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ddns_config::ConfigError;
use ddns_detect::{Family, InterfaceEvents, Report};
use ddns_providers::Update;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::config::{AgentConfig, Detector, NotifyEvent, RecordConfig};
use crate::fingerprint::Salt;
use crate::notify;
use crate::plan::{self, Decision, Event, RetryPolicy, Skip};
use crate::state::{Addresses, State, StateError};
use crate::verify::{Verification, verify};

/// How often the configuration file is looked at.
const CONFIG_POLL: Duration = Duration::from_secs(1);
/// Interface events arriving within this window are handled as one.
const EVENT_DEBOUNCE: Duration = Duration::from_millis(200);

/// Why the agent could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The state file could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
}

/// A record that did not end the round published and current.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// `name@provider`.
    pub record: String,
    /// Why, in one sentence.
    pub reason: String,
}

/// Which records a round handles.
enum Scope {
    All,
    Interfaces,
    Due,
}

struct Engine {
    path: PathBuf,
    config: Arc<AgentConfig>,
    config_hash: [u8; 32],
    /// Modification time and length when last read: the file is only read again when they move.
    config_stamp: Option<(SystemTime, u64)>,
    rejected_hash: Option<[u8; 32]>,
    state: State,
    /// Key of the fingerprints in `state`, kept beside the state file.
    salt: Salt,
    notifications: tokio::task::JoinSet<()>,
}

/// Runs one round for every record and returns the records that failed (`--once`).
pub async fn run_once(config_path: &Path) -> Result<Vec<Failure>, AgentError> {
    let mut engine = Engine::load(config_path)?;
    let failures = engine.round(&Scope::All).await;
    // Let notifications go out before the process ends.
    let _ = tokio::time::timeout(Duration::from_secs(15), async {
        while engine.notifications.join_next().await.is_some() {}
    })
    .await;
    Ok(failures)
}

/// Runs until `stop` fires.
pub async fn run(config_path: &Path, stop: CancellationToken) -> Result<(), AgentError> {
    let mut engine = Engine::load(config_path)?;
    tracing::info!(
        config = %config_path.display(),
        records = engine.config.records.len(),
        interval_s = engine.config.interval.as_secs(),
        "agent running"
    );
    // The first round starts now: systemd's READY=1, the SCM's RUNNING.
    ddns_platform::service::notify::ready();
    let mut events = engine.start_events();
    let mut next_poll = Instant::now();
    loop {
        let next_retry = engine.next_retry();
        let wake = next_retry.map_or(next_poll, |r| r.min(next_poll));
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep_until(wake.into()) => {
                if Instant::now() >= next_poll {
                    engine.round(&Scope::All).await;
                    next_poll = Instant::now() + engine.config.interval + random_below(engine.config.jitter);
                } else {
                    engine.round(&Scope::Due).await;
                }
            }
            change = next_event(&mut events) => {
                match change {
                    Ok(change) => {
                        tracing::debug!(?change, "interface address changed");
                        // Let a burst of changes (an address replaced) settle, then act once.
                        let settle = tokio::time::sleep(EVENT_DEBOUNCE);
                        tokio::pin!(settle);
                        loop {
                            tokio::select! {
                                () = &mut settle => break,
                                more = next_event(&mut events) => if more.is_err() { break },
                            }
                        }
                        engine.round(&Scope::Interfaces).await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "interface events stopped; relying on polling");
                        events = None;
                    }
                }
            }
            () = tokio::time::sleep(CONFIG_POLL) => {
                if engine.reload_if_changed() {
                    events = engine.start_events();
                    engine.round(&Scope::All).await;
                }
            }
        }
    }
    tracing::info!("agent stopped");
    Ok(())
}

async fn next_event(
    events: &mut Option<InterfaceEvents>,
) -> Result<ddns_detect::AddressChange, ddns_detect::WatchError> {
    match events {
        Some(e) => e.changed().await,
        None => std::future::pending().await,
    }
}

impl Engine {
    fn load(path: &Path) -> Result<Self, AgentError> {
        let stamp = file_stamp(path);
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(format!("cannot read {}: {e}", path.display())))?;
        let config = AgentConfig::from_file_text(&text, path)?;
        let state = State::load(&config.state_file)?;
        let salt = Salt::load_or_create(&config.state_file)?;
        // Say once, at start, which records stay parked from an earlier run.
        for record in &config.records {
            if let Some(fatal) = state
                .records
                .get(&record.key())
                .and_then(|r| r.fatal.as_ref())
                && fatal.fingerprint == record.fingerprint(&salt)
            {
                tracing::error!(record = %record.key(), "{}; not retrying until the record's configuration changes", fatal.message);
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            config_hash: Sha256::digest(&text).into(),
            config_stamp: stamp,
            config: Arc::new(config),
            rejected_hash: None,
            state,
            salt,
            notifications: tokio::task::JoinSet::new(),
        })
    }

    fn start_events(&self) -> Option<InterfaceEvents> {
        if !self
            .config
            .records
            .iter()
            .any(RecordConfig::uses_interfaces)
        {
            return None;
        }
        match InterfaceEvents::start() {
            Ok(events) => Some(events),
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch interface addresses; relying on polling");
                None
            }
        }
    }

    /// Applies a changed configuration file if it is valid; keeps the running one otherwise.
    fn reload_if_changed(&mut self) -> bool {
        let stamp = file_stamp(&self.path);
        if stamp.is_some() && stamp == self.config_stamp {
            return false;
        }
        self.config_stamp = stamp;
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return false;
        };
        let hash: [u8; 32] = Sha256::digest(&text).into();
        if hash == self.config_hash || Some(hash) == self.rejected_hash {
            return false;
        }
        match AgentConfig::from_file_text(&text, &self.path) {
            Ok(config) => {
                if config.state_file != self.config.state_file {
                    match Salt::load_or_create(&config.state_file) {
                        Ok(salt) => self.salt = salt,
                        Err(e) => {
                            tracing::error!(error = %e, "configuration change rejected; the running configuration stays");
                            self.rejected_hash = Some(hash);
                            return false;
                        }
                    }
                }
                tracing::info!(config = %self.path.display(), records = config.records.len(), "configuration reloaded");
                let keep: Vec<String> = config.records.iter().map(RecordConfig::key).collect();
                self.state.records.retain(|k, _| keep.contains(k));
                self.config = Arc::new(config);
                self.config_hash = hash;
                self.rejected_hash = None;
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "configuration change rejected; the running configuration stays");
                self.rejected_hash = Some(hash);
                false
            }
        }
    }

    /// The earliest end of a backoff in the future.
    fn next_retry(&self) -> Option<Instant> {
        let now = unix_now();
        self.state
            .records
            .values()
            .filter(|r| r.fatal.is_none())
            .filter_map(|r| r.next_attempt)
            .filter(|&t| t > now)
            .min()
            .map(|t| Instant::now() + Duration::from_secs(t - now))
    }

    async fn round(&mut self, scope: &Scope) -> Vec<Failure> {
        let config = Arc::clone(&self.config);
        let now = unix_now();
        let records: Vec<&RecordConfig> =
            config
                .records
                .iter()
                .filter(|r| match scope {
                    Scope::All => true,
                    Scope::Interfaces => r.uses_interfaces(),
                    Scope::Due => self.state.records.get(&r.key()).is_some_and(|s| {
                        s.fatal.is_none() && s.next_attempt.is_some_and(|t| t <= now)
                    }),
                })
                .collect();
        if records.is_empty() {
            return Vec::new();
        }
        let detections = detect_all(&records).await;
        let verifications = self.verifications(&config, &records, now).await;

        let mut failures = Vec::new();
        let mut planned = Vec::new();
        for record in &records {
            let key = record.key();
            let state = self.state.records.entry(key.clone()).or_default();
            let mut desired = Addresses::new();
            let mut missing = Vec::new();
            for (family, lines) in &record.families {
                let results: Vec<(String, Option<IpAddr>)> = lines
                    .iter()
                    .map(|l| {
                        (
                            l.name.clone(),
                            detections.get(&ptr(&l.detector)).and_then(Report::address),
                        )
                    })
                    .collect();
                match plan::desired_for_family(
                    state,
                    *family,
                    record.mode,
                    record.drop_after,
                    &results,
                ) {
                    Some(addresses) => {
                        desired.insert(*family, addresses);
                    }
                    None => {
                        let why: Vec<String> = lines
                            .iter()
                            .filter_map(|l| detections.get(&ptr(&l.detector)).map(Report::summary))
                            .collect();
                        missing.push(format!("no {family} address ({})", why.join("; ")));
                    }
                }
            }
            let drift = match verifications.get(&key) {
                Some(Verification::Drift(family, found)) => {
                    tracing::warn!(record = %key, %family, authoritative = ?found, published = ?state.published.get(family), "published record has drifted; publishing again");
                    true
                }
                _ => false,
            };
            // The LAN address goes with the public one, in the same update; a new one is a
            // reason to publish (a LAN address not found leaves the view's value alone).
            let lan = record.lan.as_ref().and_then(|lan| {
                let address = detections
                    .get(&ptr(&lan.detector))
                    .and_then(Report::address);
                if address.is_none() {
                    missing.push(format!("no LAN address for view {}", lan.view));
                }
                address.map(|a| (lan.view.clone(), vec![a]))
            });
            let lan_changed = lan
                .as_ref()
                .is_some_and(|(view, addrs)| state.views.get(view) != Some(addrs));
            for m in &missing {
                tracing::warn!(record = %key, "{m}");
            }
            match plan::decide(
                state,
                desired,
                &record.fingerprint(&self.salt),
                now,
                config.force_refresh,
                drift || lan_changed,
            ) {
                Decision::Publish(addresses, reason) => {
                    if !missing.is_empty() {
                        failures.push(Failure {
                            record: key.clone(),
                            reason: missing.join("; "),
                        });
                    }
                    planned.push((*record, addresses, reason, lan));
                }
                Decision::Skip(skip) => {
                    let reason = match &skip {
                        Skip::UpToDate => {
                            tracing::debug!(record = %key, "up to date");
                            if missing.is_empty() {
                                None
                            } else {
                                Some(missing.join("; "))
                            }
                        }
                        Skip::NoAddress => Some(missing.join("; ")),
                        Skip::Backoff(until) => {
                            tracing::debug!(record = %key, until, "waiting after a failure");
                            Some(format!(
                                "waiting {} s after a failure before trying again",
                                until.saturating_sub(now)
                            ))
                        }
                        Skip::Parked(message) => Some(format!(
                            "{message} (not retried until the configuration changes)"
                        )),
                    };
                    if let Some(reason) = reason {
                        failures.push(Failure {
                            record: key,
                            reason,
                        });
                    }
                }
            }
        }

        let publishes = planned.iter().map(|(record, addresses, _, lan)| {
            let mut update = to_update(record, addresses);
            update.views.extend(lan.iter().cloned());
            let provider = Arc::clone(&record.provider);
            async move {
                let outcome = provider.publish(&update).await;
                (update, outcome)
            }
        });
        let results = join_all(publishes).await;
        let retry = RetryPolicy {
            base: config.retry_base,
            cap: config.retry_cap,
        };
        for ((record, addresses, reason, lan), (update, outcome)) in planned.iter().zip(results) {
            let key = record.key();
            let state = self.state.records.entry(key.clone()).or_default();
            let event = plan::apply_outcome(
                state,
                addresses,
                &outcome,
                &record.fingerprint(&self.salt),
                unix_now(),
                &retry,
                random_unit(),
            );
            let shown = show(addresses);
            match &event {
                Event::Published { changed, recovered } => {
                    if let Some((view, addrs)) = lan {
                        state.views.insert(view.clone(), addrs.clone());
                    }
                    tracing::info!(record = %key, reason = reason.as_str(), addresses = %shown, outcome = %outcome, "published");
                    if *changed {
                        notify::send(
                            &mut self.notifications,
                            &config.notify,
                            NotifyEvent::Change,
                            &update,
                            &record.provider_name,
                            &format!("{} → {shown}", record.name),
                        );
                    }
                    if *recovered {
                        notify::send(
                            &mut self.notifications,
                            &config.notify,
                            NotifyEvent::Recovery,
                            &update,
                            &record.provider_name,
                            &format!("{} published again after failures", record.name),
                        );
                    }
                }
                Event::Retrying {
                    first,
                    next_attempt,
                    reason: why,
                } => {
                    tracing::warn!(record = %key, addresses = %shown, retry_in_s = next_attempt.saturating_sub(unix_now()), "publishing failed, will retry: {why}");
                    if *first {
                        notify::send(
                            &mut self.notifications,
                            &config.notify,
                            NotifyEvent::Failure,
                            &update,
                            &record.provider_name,
                            &format!("{}: {why}", record.name),
                        );
                    }
                    failures.push(Failure {
                        record: key,
                        reason: why.clone(),
                    });
                }
                Event::Parked { message } => {
                    tracing::error!(record = %key, "{message}; not retrying until the record's configuration changes");
                    notify::send(
                        &mut self.notifications,
                        &config.notify,
                        NotifyEvent::Failure,
                        &update,
                        &record.provider_name,
                        message,
                    );
                    failures.push(Failure {
                        record: key,
                        reason: message.clone(),
                    });
                }
            }
        }
        while self.notifications.try_join_next().is_some() {}
        if let Err(e) = self.state.save(&config.state_file) {
            tracing::error!(error = %e, "cannot save the state file");
        }
        failures
    }

    /// Checks records whose verification is due against their authoritative servers.
    async fn verifications(
        &mut self,
        config: &AgentConfig,
        records: &[&RecordConfig],
        now: u64,
    ) -> BTreeMap<String, Verification> {
        let mut out = BTreeMap::new();
        let Some(every) = config.verify_interval else {
            return out;
        };
        for record in records {
            let key = record.key();
            let Some(state) = self.state.records.get_mut(&key) else {
                continue;
            };
            let due = state
                .last_verified
                .is_none_or(|t| now.saturating_sub(t) >= every.as_secs());
            if !due || state.published.is_empty() || state.fatal.is_some() {
                continue;
            }
            state.last_verified = Some(now);
            let published = state.published.clone();
            let result = verify(config, record, &published).await;
            if let Verification::Unknown(why) = &result {
                tracing::debug!(record = %key, "could not verify: {why}");
            }
            out.insert(key, result);
        }
        out
    }
}

/// Runs every distinct detector used by `records` once, concurrently.
async fn detect_all(records: &[&RecordConfig]) -> BTreeMap<usize, Report> {
    let mut detectors: Vec<Arc<Detector>> = Vec::new();
    for record in records {
        let lan = record.lan.iter().map(|l| &l.detector);
        for detector in record
            .families
            .iter()
            .flat_map(|(_, lines)| lines.iter().map(|l| &l.detector))
            .chain(lan)
        {
            if !detectors.iter().any(|d| Arc::ptr_eq(d, detector)) {
                detectors.push(Arc::clone(detector));
            }
        }
    }
    let reports = join_all(detectors.iter().map(|d| {
        let d = Arc::clone(d);
        async move { ddns_detect::detect(&d.sources, d.family, &d.policy).await }
    }))
    .await;
    detectors
        .iter()
        .zip(reports)
        .map(|(d, report)| {
            tracing::debug!(family = %d.family, verdict = %report.summary(), "detection");
            (ptr(d), report)
        })
        .collect()
}

/// Runs futures concurrently on the current task and collects their outputs in order.
async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (i, f) in pending.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

fn ptr(d: &Arc<Detector>) -> usize {
    Arc::as_ptr(d) as usize
}

fn to_update(record: &RecordConfig, addresses: &Addresses) -> Update {
    fn list<T>(
        addresses: &Addresses,
        family: Family,
        pick: fn(&IpAddr) -> Option<T>,
    ) -> Option<Vec<T>> {
        addresses
            .get(&family)
            .map(|l| l.iter().filter_map(pick).collect())
    }
    let v4 = list(addresses, Family::V4, |a| match a {
        IpAddr::V4(v) => Some(*v),
        IpAddr::V6(_) => None,
    });
    let v6 = list(addresses, Family::V6, |a| match a {
        IpAddr::V6(v) => Some(*v),
        IpAddr::V4(_) => None,
    });
    let mut update = Update::new(record.name.clone(), v4, v6);
    update.ttl = record.ttl;
    update
}

fn show(addresses: &Addresses) -> String {
    addresses
        .values()
        .flatten()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A uniform draw in [0, 1) from the OS generator (backoff jitter); 0.5 if it fails.
fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

fn random_below(max: Duration) -> Duration {
    max.mul_f64(random_unit())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// A DynDNS2 service on loopback that answers every request with the current `body`.
    async fn dyndns2(body: &'static str) -> (String, Arc<Mutex<&'static str>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/nic/update", listener.local_addr().unwrap());
        let answer = Arc::new(Mutex::new(body));
        let shared = Arc::clone(&answer);
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let body = *shared.lock().unwrap();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(reply.as_bytes()).await;
                });
            }
        });
        (url, answer)
    }

    /// DuckDNS, Hurricane Electric and Namecheap cannot be read, so "no write when equal" is
    /// the state file's: a second run with the same address sends them nothing at all, and a
    /// changed address is sent once.
    #[tokio::test]
    async fn update_url_services_get_no_request_when_the_address_is_unchanged() {
        use ddns_testkit::fake_update_url::{Addresses, FakeUpdateUrl, Service};
        let token = "a7c4d0ad-1234-4a5b-9c8d-0123456789ab";
        let cases = [
            (
                Service::Duckdns,
                "home.duckdns.org",
                format!("type = \"duckdns\"\ntoken = \"{token}\""),
            ),
            (
                Service::He,
                "home.example.com",
                format!("type = \"he\"\npassword = \"{token}\""),
            ),
            (
                Service::Namecheap,
                "home.example.com",
                format!("type = \"namecheap\"\ndomain = \"example.com\"\npassword = \"{token}\""),
            ),
        ];
        for (service, name, provider) in cases {
            let fake = FakeUpdateUrl::start(service);
            fake.add_name(name, token, Addresses::default());
            let dir = tempfile::tempdir().unwrap();
            let config = dir.path().join("agent.toml");
            let write = |address: &str| {
                std::fs::write(
                    &config,
                    format!(
                        "version = 1\n[agent]\nstate_file = {:?}\nverify_interval = \"0s\"\n\
                         [detect.ipv4]\nsources = [{{ kind = \"fixed\", address = \"{address}\" }}]\n\
                         allow = [\"documentation\"]\n[providers.p]\n{provider}\nendpoint = \"{}\"\n\
                         [[record]]\nname = \"{name}\"\nprovider = \"p\"\nfamilies = [\"ipv4\"]\n",
                        dir.path().join("state.json").display().to_string(),
                        fake.url()
                    ),
                )
                .unwrap();
            };
            write("192.0.2.7");
            assert!(run_once(&config).await.unwrap().is_empty(), "{service:?}");
            assert_eq!(fake.requests().len(), 1, "{service:?}");
            assert!(run_once(&config).await.unwrap().is_empty(), "{service:?}");
            assert_eq!(
                fake.requests().len(),
                1,
                "{service:?}: no request when equal"
            );
            write("192.0.2.8");
            assert!(run_once(&config).await.unwrap().is_empty(), "{service:?}");
            assert_eq!(fake.requests().len(), 2, "{service:?}");
            assert_eq!(
                fake.addresses(name).and_then(|a| a.ipv4).as_deref(),
                Some("192.0.2.8"),
                "{service:?}"
            );
        }
    }

    /// The fingerprint kept for a parked record is keyed: the bare SHA-256 of the record's
    /// configuration (what older versions wrote, and what a password guess can be checked
    /// against offline) is nowhere in the state file, which only the owner can read.
    #[tokio::test]
    async fn the_state_file_holds_no_unkeyed_hash_of_the_config() {
        let (url, answer) = dyndns2("badauth").await;
        let dir = tempfile::tempdir().unwrap();
        let state_file = dir.path().join("state.json");
        let config = dir.path().join("agent.toml");
        std::fs::write(
            &config,
            format!(
                "version = 1\n[agent]\nstate_file = {:?}\nverify_interval = \"0s\"\n\
                 [detect.ipv4]\nsources = [{{ kind = \"fixed\", address = \"192.0.2.7\" }}]\n\
                 allow = [\"documentation\"]\n[providers.dyn]\ntype = \"dyndns2\"\n\
                 service = \"custom\"\nurl = \"{url}\"\nusername = \"me\"\npassword = \"hunter2\"\n\
                 [[record]]\nname = \"h.example.com\"\nprovider = \"dyn\"\n",
                state_file.display().to_string()
            ),
        )
        .unwrap();
        let failures = run_once(&config).await.unwrap();
        assert_eq!(failures.len(), 1, "{failures:?}");
        let loaded = AgentConfig::load(&config).unwrap();
        let unkeyed = data_encoding::HEXLOWER.encode(&loaded.records[0].digest.0);
        let text = std::fs::read_to_string(&state_file).unwrap();
        assert!(text.contains("\"fatal\""), "{text}");
        assert!(!text.contains(&unkeyed), "unkeyed hash {unkeyed} in {text}");
        assert!(text.contains("\"fingerprint\": \"hmac-sha256:"), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            for file in [state_file.clone(), Salt::path_for(&state_file)] {
                let mode = std::fs::metadata(&file).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{}", file.display());
            }
        }
        // Still parked under the same configuration: the keyed fingerprint is stable.
        *answer.lock().unwrap() = "good 192.0.2.7";
        assert_eq!(run_once(&config).await.unwrap().len(), 1);

        // A state file of an older version, with the bare hash: it loads, and the record
        // counts as changed, so it is tried once more instead of staying parked.
        let old = text.replace(
            &loaded.records[0].fingerprint(&Salt::load_or_create(&state_file).unwrap()),
            &unkeyed,
        );
        assert!(old.contains(&unkeyed));
        std::fs::write(&state_file, old).unwrap();
        let failures = run_once(&config).await.unwrap();
        assert!(failures.is_empty(), "{failures:?}");
        let state = State::load(&state_file).unwrap();
        assert!(state.records["h.example.com@dyn"].fatal.is_none());
    }
}
