//! Counters of the DNS side, kept so the query path stays free of locks, hashing and
//! allocation: each UDP worker thread owns a [`WorkerMetrics`] of plain atomics, indexed by
//! fixed QTYPE and RCODE slots and fixed histogram buckets, that only it writes; TCP and the
//! deferred requests (TSIG, transfers, UPDATE) share one per transport with atomic adds. A
//! scrape sums them all ([`DnsMetrics::totals`]); the binary turns the sums into Prometheus
//! text. Nothing here knows the exposition format, so this crate needs no metrics library.
//!
//! A worker's own counters are bumped with a load and a store, not a read-modify-write: it
//! is the only writer, so no increment is lost, and a scrape reading a value a moment old is
//! what any scrape sees anyway. Each worker's block is aligned to 128 octets so two workers
//! never write the same cache line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ddns_core::{Rcode, Rtype};

use crate::request::{Action, Outcome, Transport};

/// The QTYPEs counted on their own; every other type is `other`, a message without a
/// question `none`.
const QTYPES: [Rtype; 19] = [
    Rtype::A,
    Rtype::NS,
    Rtype::CNAME,
    Rtype::SOA,
    Rtype::PTR,
    Rtype::MX,
    Rtype::TXT,
    Rtype::AAAA,
    Rtype::SRV,
    Rtype::NAPTR,
    Rtype::DS,
    Rtype::DNSKEY,
    Rtype::TLSA,
    Rtype::SVCB,
    Rtype::HTTPS,
    Rtype::CAA,
    Rtype::ANY,
    Rtype::AXFR,
    Rtype::IXFR,
];
/// Slots of the QTYPE axis: the named types, `other`, `none`.
pub const QTYPE_SLOTS: usize = QTYPES.len() + 2;
const QTYPE_OTHER: usize = QTYPES.len();
const QTYPE_NONE: usize = QTYPES.len() + 1;

/// The RCODEs counted on their own (what this server answers); any other is `other`.
const RCODES: [Rcode; 12] = [
    Rcode::NOERROR,
    Rcode::FORMERR,
    Rcode::SERVFAIL,
    Rcode::NXDOMAIN,
    Rcode::NOTIMP,
    Rcode::REFUSED,
    Rcode::YXDOMAIN,
    Rcode::YXRRSET,
    Rcode::NXRRSET,
    Rcode::NOTAUTH,
    Rcode::NOTZONE,
    Rcode::BADVERS,
];
/// Slots of the RCODE axis: the named codes and `other`.
pub const RCODE_SLOTS: usize = RCODES.len() + 1;

/// Upper bounds (octets) of the response size buckets: the classic UDP limit, the EDNS
/// payload sizes of DNS Flag Day 2020 and Ethernet, and TCP sizes.
pub const SIZE_BOUNDS: [u64; 9] = [64, 128, 256, 512, 1232, 1500, 4096, 16_384, 65_535];
/// Upper bounds (nanoseconds) of the answer latency buckets: an answer from the snapshot
/// takes around a microsecond; the upper ones catch deferred work (signing, UPDATE, IXFR).
pub const LATENCY_BOUNDS_NS: [u64; 13] = [
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
    200_000,
    500_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// The label of a QTYPE slot.
pub fn qtype_label(slot: usize) -> &'static str {
    match QTYPES.get(slot) {
        Some(t) => t.mnemonic().unwrap_or("other"),
        None if slot == QTYPE_NONE => "none",
        None => "other",
    }
}

/// The label of an RCODE slot.
pub fn rcode_label(slot: usize) -> &'static str {
    RCODES
        .get(slot)
        .and_then(|r| r.mnemonic())
        .unwrap_or("other")
}

fn qtype_slot(qtype: Option<Rtype>) -> usize {
    match qtype {
        None => QTYPE_NONE,
        Some(t) => QTYPES.iter().position(|&q| q == t).unwrap_or(QTYPE_OTHER),
    }
}

fn rcode_slot(rcode: Rcode) -> usize {
    RCODES
        .iter()
        .position(|&r| r == rcode)
        .unwrap_or(RCODES.len())
}

fn bucket(bounds: &[u64], value: u64) -> usize {
    bounds
        .iter()
        .position(|&b| value <= b)
        .unwrap_or(bounds.len())
}

/// A fixed-bucket histogram of atomics.
#[derive(Debug)]
struct AtomicHistogram<const N: usize> {
    /// Per bucket (not cumulative), the last one above every bound.
    buckets: [AtomicU64; N],
    sum: AtomicU64,
}

impl<const N: usize> AtomicHistogram<N> {
    fn new() -> Self {
        Self {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum: AtomicU64::new(0),
        }
    }
}

/// Sums of one histogram at a scrape: per-bucket counts (not cumulative; the last bucket is
/// above every bound) and the sum of the observed values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistogramTotals<const N: usize> {
    /// Observations per bucket.
    pub buckets: [u64; N],
    /// Sum of the observed values (octets, or nanoseconds).
    pub sum: u64,
}

impl<const N: usize> HistogramTotals<N> {
    /// Observations in all.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

/// Counters of one writer: a UDP worker thread (the only writer), or a transport's shared
/// block (TCP connections, deferred UDP requests).
#[derive(Debug)]
#[repr(align(128))]
pub struct WorkerMetrics {
    shared: bool,
    queries: [[AtomicU64; RCODE_SLOTS]; QTYPE_SLOTS],
    size: AtomicHistogram<{ SIZE_BOUNDS.len() + 1 }>,
    latency: AtomicHistogram<{ LATENCY_BOUNDS_NS.len() + 1 }>,
    rrl_dropped: AtomicU64,
    rrl_slipped: AtomicU64,
}

impl WorkerMetrics {
    fn new(shared: bool) -> Self {
        Self {
            shared,
            queries: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            size: AtomicHistogram::new(),
            latency: AtomicHistogram::new(),
            rrl_dropped: AtomicU64::new(0),
            rrl_slipped: AtomicU64::new(0),
        }
    }

    #[inline]
    fn add(&self, counter: &AtomicU64, n: u64) {
        if self.shared {
            counter.fetch_add(n, Ordering::Relaxed);
        } else {
            // The owning thread is the only writer (see the module comment).
            counter.store(
                counter.load(Ordering::Relaxed).wrapping_add(n),
                Ordering::Relaxed,
            );
        }
    }

    /// Counts one request handled: a query by QTYPE and RCODE with its response size when
    /// a response is sent, and the time it took either way.
    #[inline]
    pub fn record(&self, outcome: &Outcome, elapsed: Duration) {
        if outcome.action == Action::Reply {
            let cell = &self.queries[qtype_slot(outcome.qtype)][rcode_slot(outcome.rcode)];
            self.add(cell, 1);
            let len = outcome.len as u64;
            self.add(&self.size.buckets[bucket(&SIZE_BOUNDS, len)], 1);
            self.add(&self.size.sum, len);
        }
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.add(&self.latency.buckets[bucket(&LATENCY_BOUNDS_NS, ns)], 1);
        self.add(&self.latency.sum, ns);
    }

    /// Counts an answer response rate limiting did not send.
    #[inline]
    pub fn rrl_dropped(&self) {
        self.add(&self.rrl_dropped, 1);
    }

    /// Counts an answer response rate limiting cut to TC=1.
    #[inline]
    pub fn rrl_slipped(&self) {
        self.add(&self.rrl_slipped, 1);
    }

    fn add_to(&self, totals: &mut TransportTotals) {
        for (q, row) in self.queries.iter().enumerate() {
            for (r, cell) in row.iter().enumerate() {
                totals.queries[q][r] += cell.load(Ordering::Relaxed);
            }
        }
        for (i, b) in self.size.buckets.iter().enumerate() {
            totals.size.buckets[i] += b.load(Ordering::Relaxed);
        }
        totals.size.sum += self.size.sum.load(Ordering::Relaxed);
        for (i, b) in self.latency.buckets.iter().enumerate() {
            totals.latency.buckets[i] += b.load(Ordering::Relaxed);
        }
        totals.latency.sum += self.latency.sum.load(Ordering::Relaxed);
        totals.rrl_dropped += self.rrl_dropped.load(Ordering::Relaxed);
        totals.rrl_slipped += self.rrl_slipped.load(Ordering::Relaxed);
    }
}

/// Sums of one transport at a scrape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportTotals {
    /// Responses sent, by QTYPE slot and RCODE slot ([`qtype_label`], [`rcode_label`]).
    pub queries: [[u64; RCODE_SLOTS]; QTYPE_SLOTS],
    /// Response sizes, octets ([`SIZE_BOUNDS`]).
    pub size: HistogramTotals<{ SIZE_BOUNDS.len() + 1 }>,
    /// Time from a request read to its response written, nanoseconds
    /// ([`LATENCY_BOUNDS_NS`]).
    pub latency: HistogramTotals<{ LATENCY_BOUNDS_NS.len() + 1 }>,
    /// Answers not sent by response rate limiting.
    pub rrl_dropped: u64,
    /// Answers cut to TC=1 by response rate limiting.
    pub rrl_slipped: u64,
}

impl Default for TransportTotals {
    fn default() -> Self {
        Self {
            queries: [[0; RCODE_SLOTS]; QTYPE_SLOTS],
            size: HistogramTotals {
                buckets: [0; SIZE_BOUNDS.len() + 1],
                sum: 0,
            },
            latency: HistogramTotals {
                buckets: [0; LATENCY_BOUNDS_NS.len() + 1],
                sum: 0,
            },
            rrl_dropped: 0,
            rrl_slipped: 0,
        }
    }
}

/// Everything at a scrape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsTotals {
    /// UDP: the fast path's workers and the deferred requests.
    pub udp: TransportTotals,
    /// TCP.
    pub tcp: TransportTotals,
    /// TCP connections accepted.
    pub tcp_accepted: u64,
    /// TCP connections closed at once because of the connection caps.
    pub tcp_refused: u64,
    /// TCP connections open now.
    pub tcp_open: u64,
    /// Deferred UDP requests dropped because too many were being handled.
    pub udp_deferred_dropped: u64,
    /// NOTIFY messages sent (every attempt).
    pub notify_sent: u64,
    /// NOTIFY messages answered without error.
    pub notify_answered: u64,
    /// NOTIFY messages that were never answered, or answered with an error.
    pub notify_failed: u64,
    /// Full zone transfers served (AXFR, and IXFR answered with the whole zone).
    pub axfr_served: u64,
    /// Incremental transfers served (IXFR answered with differences or the current SOA).
    pub ixfr_served: u64,
    /// RFC 2136 UPDATE messages answered, by RCODE slot ([`rcode_label`]).
    pub updates: [u64; RCODE_SLOTS],
}

impl Default for DnsTotals {
    fn default() -> Self {
        Self {
            udp: TransportTotals::default(),
            tcp: TransportTotals::default(),
            tcp_accepted: 0,
            tcp_refused: 0,
            tcp_open: 0,
            udp_deferred_dropped: 0,
            notify_sent: 0,
            notify_answered: 0,
            notify_failed: 0,
            axfr_served: 0,
            ixfr_served: 0,
            updates: [0; RCODE_SLOTS],
        }
    }
}

/// The counters of every listener, worker and the service; summed at a scrape.
#[derive(Debug)]
pub struct DnsMetrics {
    /// The UDP workers' blocks; locked when a worker starts and at a scrape, never per query.
    udp_workers: Mutex<Vec<Arc<WorkerMetrics>>>,
    udp_shared: WorkerMetrics,
    tcp: WorkerMetrics,
    tcp_accepted: AtomicU64,
    tcp_refused: AtomicU64,
    tcp_open: AtomicU64,
    udp_deferred_dropped: AtomicU64,
    notify_sent: AtomicU64,
    notify_answered: AtomicU64,
    notify_failed: AtomicU64,
    axfr_served: AtomicU64,
    ixfr_served: AtomicU64,
    updates: [AtomicU64; RCODE_SLOTS],
}

impl Default for DnsMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl DnsMetrics {
    /// Every counter at zero.
    pub fn new() -> Self {
        Self {
            udp_workers: Mutex::new(Vec::new()),
            udp_shared: WorkerMetrics::new(true),
            tcp: WorkerMetrics::new(true),
            tcp_accepted: AtomicU64::new(0),
            tcp_refused: AtomicU64::new(0),
            tcp_open: AtomicU64::new(0),
            udp_deferred_dropped: AtomicU64::new(0),
            notify_sent: AtomicU64::new(0),
            notify_answered: AtomicU64::new(0),
            notify_failed: AtomicU64::new(0),
            axfr_served: AtomicU64::new(0),
            ixfr_served: AtomicU64::new(0),
            updates: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// A block for one UDP worker thread, which must be its only writer.
    pub(crate) fn udp_worker(&self) -> Arc<WorkerMetrics> {
        let worker = Arc::new(WorkerMetrics::new(false));
        self.udp_workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&worker));
        worker
    }

    /// The block of requests over `transport` written by many tasks (TCP, deferred UDP).
    pub(crate) fn shared(&self, transport: Transport) -> &WorkerMetrics {
        match transport {
            Transport::Udp => &self.udp_shared,
            Transport::Tcp => &self.tcp,
        }
    }

    pub(crate) fn tcp_accepted(&self) {
        self.tcp_accepted.fetch_add(1, Ordering::Relaxed);
        self.tcp_open.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn tcp_closed(&self) {
        self.tcp_open.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn tcp_refused(&self) {
        self.tcp_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn udp_deferred_dropped(&self) {
        self.udp_deferred_dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn notify_sent(&self) {
        self.notify_sent.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn notify_answered(&self) {
        self.notify_answered.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn notify_failed(&self) {
        self.notify_failed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn transfer_served(&self, full: bool) {
        let counter = if full {
            &self.axfr_served
        } else {
            &self.ixfr_served
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn update_answered(&self, rcode: Rcode) {
        self.updates[rcode_slot(rcode)].fetch_add(1, Ordering::Relaxed);
    }

    /// The sums of every block now.
    pub fn totals(&self) -> DnsTotals {
        let mut totals = DnsTotals::default();
        for worker in self
            .udp_workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            worker.add_to(&mut totals.udp);
        }
        self.udp_shared.add_to(&mut totals.udp);
        self.tcp.add_to(&mut totals.tcp);
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        totals.tcp_accepted = load(&self.tcp_accepted);
        totals.tcp_refused = load(&self.tcp_refused);
        totals.tcp_open = load(&self.tcp_open);
        totals.udp_deferred_dropped = load(&self.udp_deferred_dropped);
        totals.notify_sent = load(&self.notify_sent);
        totals.notify_answered = load(&self.notify_answered);
        totals.notify_failed = load(&self.notify_failed);
        totals.axfr_served = load(&self.axfr_served);
        totals.ixfr_served = load(&self.ixfr_served);
        for (total, counter) in totals.updates.iter_mut().zip(&self.updates) {
            *total = load(counter);
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(qtype: Option<Rtype>, rcode: Rcode, len: usize) -> Outcome {
        Outcome {
            action: Action::Reply,
            opcode: 0,
            rcode,
            qtype,
            zone: None,
            len,
            truncated: false,
            wildcard: false,
        }
    }

    #[test]
    fn workers_and_shared_blocks_sum_per_transport() {
        let metrics = DnsMetrics::new();
        let (a, b) = (metrics.udp_worker(), metrics.udp_worker());
        a.record(
            &reply(Some(Rtype::A), Rcode::NOERROR, 100),
            Duration::from_micros(3),
        );
        b.record(
            &reply(Some(Rtype::A), Rcode::NOERROR, 600),
            Duration::from_micros(3),
        );
        b.record(
            &reply(Some(Rtype(4242)), Rcode::NXDOMAIN, 60),
            Duration::from_nanos(500),
        );
        metrics
            .shared(Transport::Tcp)
            .record(&reply(None, Rcode::FORMERR, 12), Duration::from_secs(5));
        a.rrl_slipped();
        let dropped = Outcome {
            action: Action::Drop,
            ..reply(Some(Rtype::A), Rcode::NOERROR, 0)
        };
        a.record(&dropped, Duration::from_micros(1));

        let totals = metrics.totals();
        let a_slot = qtype_slot(Some(Rtype::A));
        assert_eq!(qtype_label(a_slot), "A");
        assert_eq!(totals.udp.queries[a_slot][rcode_slot(Rcode::NOERROR)], 2);
        assert_eq!(qtype_label(QTYPE_OTHER), "other");
        assert_eq!(rcode_label(rcode_slot(Rcode::NXDOMAIN)), "NXDOMAIN");
        assert_eq!(
            totals.udp.queries[QTYPE_OTHER][rcode_slot(Rcode::NXDOMAIN)],
            1
        );
        assert_eq!(qtype_label(QTYPE_NONE), "none");
        assert_eq!(
            totals.tcp.queries[QTYPE_NONE][rcode_slot(Rcode::FORMERR)],
            1
        );
        // Sizes: 60 ≤ 64, 100 ≤ 128, 600 ≤ 1232; a dropped request has no size.
        assert_eq!(totals.udp.size.count(), 3);
        assert_eq!(totals.udp.size.sum, 760);
        assert_eq!(totals.udp.size.buckets[0], 1);
        assert_eq!(totals.udp.size.buckets[1], 1);
        assert_eq!(totals.udp.size.buckets[4], 1);
        // Latency counts every request, the dropped one too; 5 s is above every bound.
        assert_eq!(totals.udp.latency.count(), 4);
        assert_eq!(totals.udp.latency.sum, 3_000 + 3_000 + 500 + 1_000);
        assert_eq!(totals.tcp.latency.buckets[LATENCY_BOUNDS_NS.len()], 1);
        assert_eq!(totals.udp.rrl_slipped, 1);
        assert_eq!(totals.udp.rrl_dropped, 0);
    }

    #[test]
    fn a_worker_block_fills_whole_cache_lines() {
        assert_eq!(align_of::<WorkerMetrics>(), 128);
        assert_eq!(size_of::<WorkerMetrics>() % 128, 0);
    }
}
