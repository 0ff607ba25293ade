//! NOTIFY (RFC 1996): tells each zone's secondaries that its serial moved, so they transfer
//! at once instead of waiting for their refresh timer.
//!
//! The notifier watches the published snapshots. The first serial change of a quiet zone is
//! announced at once; during a burst at most one NOTIFY per short window goes out, carrying
//! the latest serial. Each secondary
//! is retried with a doubling timeout until it answers; a newer NOTIFY to the same secondary
//! replaces one still being retried. Messages are signed with the zone's `notify_key` when
//! one is configured, and the answer's TSIG is checked.
//!
//! ```text
//! RFC 1996 §3.6: If the slave ... receives a NOTIFY ... it SHOULD respond with a NOTIFY
//! response ... The master ... SHOULD retransmit the NOTIFY until a response is received.
//! RFC 1996 §3.7: A NOTIFY request has QDCOUNT>0, ANCOUNT>=0 ... the ANSWER section may
//! contain the SOA of the zone.
//! ```

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use ddns_core::snapshot::{Zone, ZoneSet};
use ddns_core::{CLASS_IN, DomainName, Rcode, Rtype, Serial};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::metrics::DnsMetrics;
use crate::query::{HEADER_LEN, OPCODE_NOTIFY};
use crate::service::{DnsService, unix_now};
use crate::tsig::{self, Key};

/// How often the snapshots are looked at.
const TICK: Duration = Duration::from_millis(50);
/// At most one NOTIFY per zone and secondary this often: the first change of a quiet zone is
/// announced at once, the rest of a burst once this has passed.
const COALESCE: Duration = Duration::from_millis(200);
/// First wait for an answer; doubled on each retry.
const FIRST_TIMEOUT: Duration = Duration::from_secs(1);
/// Attempts per NOTIFY.
const ATTEMPTS: u32 = 6;
/// Fudge of signed NOTIFY messages.
const FUDGE: u16 = 300;

/// Sends NOTIFY for every configured zone whenever its serial changes (and once at start, so
/// secondaries catch up after a restart) until `stop` fires.
pub async fn run_notifier(
    zones: Arc<ArcSwap<ZoneSet>>,
    service: Arc<DnsService>,
    stop: CancellationToken,
) {
    let targets: Vec<(DomainName, Vec<SocketAddr>, Option<Key>)> = service
        .zone_access()
        .iter()
        .filter(|(_, a)| !a.notify.is_empty())
        .map(|(origin, a)| {
            let key = a
                .notify_key
                .as_ref()
                .and_then(|k| service.keys().by_name(&k.to_wire()).cloned());
            (origin.clone(), a.notify.clone(), key)
        })
        .collect();
    if targets.is_empty() {
        return;
    }
    // Per zone: the serial last announced and when.
    let mut notified: HashMap<DomainName, (Serial, Instant)> = HashMap::new();
    let mut running: HashMap<(DomainName, SocketAddr), JoinHandle<()>> = HashMap::new();
    loop {
        let snapshot = zones.load_full();
        for (origin, addrs, key) in &targets {
            let Some(zone) = snapshot.get(origin) else {
                continue;
            };
            match notified.get(origin) {
                Some((serial, _)) if *serial == zone.serial() => continue,
                // A NOTIFY went out moments ago: let the burst settle, then announce its end.
                Some((_, at)) if at.elapsed() < COALESCE => continue,
                _ => {}
            }
            notified.insert(origin.clone(), (zone.serial(), Instant::now()));
            for &addr in addrs {
                let message = NotifyMessage::new(zone);
                let task = tokio::spawn(notify_one(
                    message,
                    addr,
                    key.clone(),
                    service.metrics().cloned(),
                ));
                if let Some(previous) = running.insert((origin.clone(), addr), task) {
                    previous.abort();
                }
            }
        }
        running.retain(|_, task| !task.is_finished());
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(TICK) => {}
        }
    }
    for task in running.values() {
        task.abort();
    }
}

/// The question and SOA of one NOTIFY.
struct NotifyMessage {
    origin: DomainName,
    origin_wire: Vec<u8>,
    serial: Serial,
    soa: Vec<u8>,
}

impl NotifyMessage {
    fn new(zone: &Zone) -> Self {
        let soa = zone.soa_record().to_vec();
        Self {
            origin: zone.origin().clone(),
            origin_wire: zone.origin_wire().to_vec(),
            serial: zone.serial(),
            soa,
        }
    }

    /// The request with `id`: AA set, the zone's SOA in the answer section (RFC 1996 §3.7).
    fn encode(&self, id: u16) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.origin_wire.len() * 2 + 100);
        out.extend_from_slice(&id.to_be_bytes());
        out.push((OPCODE_NOTIFY << 3) | 0x04);
        out.push(0);
        out.extend_from_slice(&[0, 1, 0, u8::from(!self.soa.is_empty()), 0, 0, 0, 0]);
        out.extend_from_slice(&self.origin_wire);
        out.extend_from_slice(&Rtype::SOA.0.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        if !self.soa.is_empty() {
            out.extend_from_slice(&(0xc000u16 | HEADER_LEN as u16).to_be_bytes());
            out.extend_from_slice(&self.soa);
        }
        out
    }
}

/// Sends one NOTIFY to `addr` until it is answered or the attempts run out.
async fn notify_one(
    message: NotifyMessage,
    addr: SocketAddr,
    key: Option<Key>,
    metrics: Option<Arc<DnsMetrics>>,
) {
    let count = |f: fn(&DnsMetrics)| {
        if let Some(m) = &metrics {
            f(m);
        }
    };
    let local: SocketAddr = match addr.ip() {
        IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = match tokio::net::UdpSocket::bind(local).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(zone = %message.origin, secondary = %addr, error = %e, "cannot open a socket for NOTIFY");
            return;
        }
    };
    let mut timeout = FIRST_TIMEOUT;
    let mut buf = vec![0u8; 4096];
    for attempt in 1..=ATTEMPTS {
        let id = random_id();
        let mut request = message.encode(id);
        let mac = match &key {
            Some(key) => match tsig::sign_request(key, &mut request, unix_now(), FUDGE) {
                Ok(mac) => Some(mac),
                Err(e) => {
                    tracing::warn!(zone = %message.origin, error = %e, "cannot sign NOTIFY");
                    return;
                }
            },
            None => None,
        };
        match socket.send_to(&request, addr).await {
            Ok(_) => count(DnsMetrics::notify_sent),
            Err(e) => {
                tracing::debug!(zone = %message.origin, secondary = %addr, error = %e, "NOTIFY not sent");
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let received = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await;
            let Ok(Ok((len, from))) = received else {
                break;
            };
            let answer = &buf[..len];
            if from != addr || answer.len() < HEADER_LEN || answer[..2] != id.to_be_bytes() {
                continue;
            }
            match check_answer(answer, key.as_ref(), mac.as_deref()) {
                Ok(()) => {
                    count(DnsMetrics::notify_answered);
                    tracing::debug!(zone = %message.origin, serial = message.serial.0, secondary = %addr, attempt, "NOTIFY answered");
                }
                Err(why) => {
                    count(DnsMetrics::notify_failed);
                    tracing::warn!(zone = %message.origin, secondary = %addr, "NOTIFY answered with an error: {why}");
                }
            }
            return;
        }
        timeout *= 2;
    }
    count(DnsMetrics::notify_failed);
    tracing::warn!(zone = %message.origin, serial = message.serial.0, secondary = %addr, attempts = ATTEMPTS, "NOTIFY never answered");
}

/// An answer is good when it is a NOTIFY response with NOERROR whose TSIG (when we signed)
/// verifies.
fn check_answer(answer: &[u8], key: Option<&Key>, mac: Option<&[u8]>) -> Result<(), String> {
    if answer[2] & 0x80 == 0 || (answer[2] >> 3) & 0x0f != OPCODE_NOTIFY {
        return Err("not a NOTIFY response".into());
    }
    if let (Some(key), Some(mac)) = (key, mac) {
        tsig::verify_response(key, answer, mac, unix_now()).map_err(|e| e.to_string())?;
    }
    let rcode = Rcode(u16::from(answer[3] & 0x0f));
    if rcode != Rcode::NOERROR {
        return Err(format!("RCODE {rcode}"));
    }
    Ok(())
}

fn random_id() -> u16 {
    let mut id = [0u8; 2];
    if getrandom::fill(&mut id).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        return (nanos & 0xffff) as u16;
    }
    u16::from_be_bytes(id)
}
