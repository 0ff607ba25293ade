//! Response rate limiting (RRL) of UDP answers, as BIND's `rate-limit` and Knot's classic
//! `mod-rrl` do it, against reflection and amplification attacks: a forged source address
//! makes an authoritative server flood the victim with answers larger than the queries.
//!
//! Responses are counted per *flow*: the client's network (/24 for IPv4, /56 for IPv6, so an
//! attacker cannot spread a flood over the addresses of one network) and the kind of
//! response, so one flooded name does not silence the others:
//! - an answer (NOERROR, with data or NODATA): the query name, lower-cased, and type; for an
//!   answer synthesised from a wildcard, the zone and type instead;
//! - NXDOMAIN, and referrals: the zone, so random names under it are one flow;
//! - any other RCODE (REFUSED, FORMERR, NOTIMP …): one flow per network.
//!
//! Each flow is a token bucket of `rate` responses per second, with at most one second of
//! responses saved up. A response over the rate is not sent; every `slip`-th one instead goes
//! out empty with TC=1 (RFC 1035 §4.1.1), so a real client behind a forged flood retries over
//! TCP and is answered, while the victim receives no more than it sent. TCP is never limited:
//! its handshake proves the source address.
//!
//! The table is a fixed array of `table_size` atomic words allocated at start: one
//! compare-and-swap per response, no lock, no allocation. A slot holds a tag of the flow's
//! hash (keyed per process, so flows cannot be aimed at one slot), the second it was last
//! refilled and its tokens; flows that meet in a slot replace each other, which only ever
//! lets more through.

use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ddns_core::Rcode;
use ddns_core::snapshot::ZoneSet;
use ipnet::IpNet;

use crate::query::HEADER_LEN;
use crate::request::Outcome;

/// Responses per second per flow unless configured. BIND's examples use 5–20 and Knot's
/// classic module had no default; 20 is far above what a resolver sends for one name (one
/// query per TTL per cache: a /24 of resolvers would need hundreds of caches expiring in the
/// same second), while a reflected flood gets no more than 20 full answers a second per name.
pub const DEFAULT_RATE: u32 = 20;
/// Every limited response goes out truncated (Knot's default): the amplification is gone and
/// every real client learns to retry over TCP.
pub const DEFAULT_SLIP: u32 = 1;
/// Flows tracked (Knot's classic default, a prime): 3 MiB.
pub const DEFAULT_TABLE_SIZE: usize = 393_241;
/// Largest configurable rate (the tokens fit 23 bits).
pub const MAX_RATE: u32 = 1_000_000;
/// Largest configurable slip (Knot's limit).
pub const MAX_SLIP: u32 = 100;
/// Largest configurable table: 16 Mi slots, 128 MiB.
pub const MAX_TABLE_SIZE: usize = 1 << 24;

/// Tokens never go below this (the drop count of a window saturates there).
const MIN_TOKENS: i64 = -(1 << 23) + 1;

/// How UDP responses are limited (`[dns] rrl`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RrlSettings {
    /// Responses per second per flow; 0 turns rate limiting off.
    pub rate: u32,
    /// Every `slip`-th limited response is sent truncated; 0 drops them all.
    pub slip: u32,
    /// Flows tracked at once.
    pub table_size: usize,
    /// Clients never limited.
    pub whitelist: Vec<IpNet>,
}

impl Default for RrlSettings {
    fn default() -> Self {
        Self {
            rate: DEFAULT_RATE,
            slip: DEFAULT_SLIP,
            table_size: DEFAULT_TABLE_SIZE,
            whitelist: Vec::new(),
        }
    }
}

impl RrlSettings {
    /// No rate limiting.
    pub fn off() -> Self {
        Self {
            rate: 0,
            ..Self::default()
        }
    }
}

/// What to do with one UDP response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within the rate: send it.
    Send,
    /// Over the rate, slipped: send it truncated ([`truncate_for_slip`]).
    Slip,
    /// Over the rate: send nothing.
    Drop,
}

/// The flow table.
pub struct ResponseLimiter {
    rate: u32,
    slip: u32,
    whitelist: Vec<IpNet>,
    slots: Box<[AtomicU64]>,
    hasher: foldhash::fast::RandomState,
    epoch: Instant,
}

impl std::fmt::Debug for ResponseLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseLimiter")
            .field("rate", &self.rate)
            .field("slip", &self.slip)
            .field("table_size", &self.slots.len())
            .field("whitelist", &self.whitelist)
            .finish_non_exhaustive()
    }
}

/// The kinds of response counted apart (the first word hashed).
#[derive(Clone, Copy)]
enum Class {
    Answer = 1,
    Zone = 2,
    Error = 3,
}

impl ResponseLimiter {
    /// The table for `settings`, or `None` when rate limiting is off.
    pub fn new(settings: &RrlSettings) -> Option<Self> {
        if settings.rate == 0 {
            return None;
        }
        let size = settings.table_size.clamp(1, MAX_TABLE_SIZE);
        Some(Self {
            rate: settings.rate.min(MAX_RATE),
            slip: settings.slip.min(MAX_SLIP),
            whitelist: settings.whitelist.clone(),
            slots: (0..size).map(|_| AtomicU64::new(0)).collect(),
            hasher: foldhash::fast::RandomState::default(),
            epoch: Instant::now(),
        })
    }

    /// Decides on `response`, the answer written for a query from `peer` with `outcome`,
    /// from the snapshot `zones` it was answered from.
    pub fn check(
        &self,
        peer: IpAddr,
        outcome: &Outcome,
        response: &[u8],
        zones: &ZoneSet,
    ) -> Verdict {
        if self.whitelist.iter().any(|net| net.contains(&peer)) {
            return Verdict::Send;
        }
        let second = (self.epoch.elapsed().as_secs() & 0xffff) as u16;
        self.take(self.flow(peer, outcome, response, zones), second)
    }

    /// The flow's hash.
    fn flow(&self, peer: IpAddr, outcome: &Outcome, response: &[u8], zones: &ZoneSet) -> u64 {
        let authoritative = response.get(2).is_some_and(|flags| flags & 0x04 != 0);
        let zone = outcome
            .zone
            .and_then(|i| zones.zones().get(i))
            .map(|z| z.origin_wire());
        let class = match (outcome.rcode, zone) {
            (Rcode::NOERROR, Some(_)) if authoritative => Class::Answer,
            (Rcode::NOERROR | Rcode::NXDOMAIN, Some(_)) => Class::Zone,
            _ => Class::Error,
        };
        let mut h = self.hasher.build_hasher();
        h.write_u8(class as u8);
        match peer {
            IpAddr::V4(a) => h.write(&a.octets()[..3]),
            IpAddr::V6(a) => {
                // An IPv4-mapped address is the IPv4 client it stands for.
                match a.to_ipv4_mapped() {
                    Some(v4) => h.write(&v4.octets()[..3]),
                    None => h.write(&a.octets()[..7]),
                }
            }
        }
        match (class, zone) {
            (Class::Answer, Some(origin)) if outcome.wildcard => {
                // Random names under a wildcard are one flow, as BIND counts them.
                h.write_u8(b'*');
                h.write(origin);
                h.write_u16(outcome.qtype.map_or(0, |t| t.0));
            }
            (Class::Answer, _) => {
                let mut name = [0u8; 255];
                h.write(lowercase_qname(response, &mut name));
                h.write_u16(outcome.qtype.map_or(0, |t| t.0));
            }
            (Class::Zone, Some(origin)) => h.write(origin),
            _ => {}
        }
        h.finish()
    }

    /// Takes a token from the flow `hash` at `second` (since start, wrapping).
    fn take(&self, hash: u64, second: u16) -> Verdict {
        let len = self.slots.len() as u64;
        let slot = &self.slots[(hash % len) as usize];
        // Never 0, so an empty slot is never taken for a flow.
        let tag = (hash >> 40) | 1;
        let rate = i64::from(self.rate);
        let mut old = slot.load(Ordering::Relaxed);
        loop {
            let (old_tag, stamp, tokens) = unpack(old);
            let available = if old_tag != tag {
                rate
            } else {
                match i64::from(second.wrapping_sub(stamp)) {
                    0 => tokens,
                    elapsed => (tokens.max(0) + rate * elapsed).min(rate),
                }
            };
            let left = (available - 1).max(MIN_TOKENS);
            match slot.compare_exchange_weak(
                old,
                pack(tag, second, left),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return self.verdict(left),
                Err(now) => old = now,
            }
        }
    }

    fn verdict(&self, left: i64) -> Verdict {
        if left >= 0 {
            return Verdict::Send;
        }
        // The how-many-th limited response of this second this one is.
        let limited = -left;
        if self.slip != 0 && limited % i64::from(self.slip) == 0 {
            Verdict::Slip
        } else {
            Verdict::Drop
        }
    }
}

fn pack(tag: u64, second: u16, tokens: i64) -> u64 {
    (tag << 40) | (u64::from(second) << 24) | (tokens as u64 & 0xff_ffff)
}

fn unpack(word: u64) -> (u64, u16, i64) {
    let raw = (word & 0xff_ffff) as i64;
    let tokens = if raw & 0x80_0000 != 0 {
        raw - 0x100_0000
    } else {
        raw
    };
    (word >> 40, (word >> 24) as u16, tokens)
}

/// The question's name of a response (as the query had it) lower-cased into `buf`; empty
/// when there is no question.
fn lowercase_qname<'b>(response: &[u8], buf: &'b mut [u8; 255]) -> &'b [u8] {
    if response.get(4..6) == Some(&[0, 0]) {
        return &[];
    }
    let mut at = 0usize;
    while let Some(&len) = response.get(HEADER_LEN + at) {
        let end = at + 1 + usize::from(len);
        if len & 0xc0 != 0 || end > buf.len() {
            break;
        }
        let Some(label) = response.get(HEADER_LEN + at..HEADER_LEN + end) else {
            break;
        };
        for (dst, src) in buf[at..end].iter_mut().zip(label) {
            *dst = src.to_ascii_lowercase();
        }
        at = end;
        if len == 0 {
            break;
        }
    }
    &buf[..at]
}

/// Turns a response into what a slipped response is: its header and question, TC=1, no
/// records (RFC 1035 §4.1.1: "TC: specifies that this message was truncated"), so the client
/// asks again over TCP.
pub fn truncate_for_slip(response: &mut Vec<u8>) {
    if response.len() < HEADER_LEN {
        return;
    }
    let mut end = HEADER_LEN;
    if response[4..6] != [0, 0] {
        while let Some(&len) = response.get(end) {
            if len & 0xc0 != 0 {
                end = HEADER_LEN;
                break;
            }
            end += 1 + usize::from(len);
            if len == 0 {
                end += 4;
                break;
            }
        }
        if end > response.len() {
            end = HEADER_LEN;
        }
    }
    if end == HEADER_LEN {
        response[4..6].fill(0);
    }
    response.truncate(end);
    response[2] |= 0x02;
    response[6..12].fill(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: u32, slip: u32) -> ResponseLimiter {
        ResponseLimiter::new(&RrlSettings {
            rate,
            slip,
            table_size: 1021,
            whitelist: Vec::new(),
        })
        .unwrap()
    }

    fn count(l: &ResponseLimiter, hash: u64, second: u16, n: usize) -> [usize; 3] {
        let mut seen = [0; 3];
        for _ in 0..n {
            match l.take(hash, second) {
                Verdict::Send => seen[0] += 1,
                Verdict::Slip => seen[1] += 1,
                Verdict::Drop => seen[2] += 1,
            }
        }
        seen
    }

    #[test]
    fn a_flow_gets_its_rate_each_second_and_every_slipth_limited_response_slips() {
        let l = limiter(10, 2);
        assert_eq!(count(&l, 42, 5, 30), [10, 10, 10]);
        // The next second refills the bucket, and no more than one second's worth.
        assert_eq!(count(&l, 42, 6, 12), [10, 1, 1]);
        assert_eq!(count(&l, 42, 9, 25), [10, 7, 8]);
        // Another flow in the same second is untouched.
        assert_eq!(count(&l, 43, 9, 10), [10, 0, 0]);
    }

    #[test]
    fn slip_zero_drops_and_slip_one_truncates_everything_over_the_rate() {
        assert_eq!(count(&limiter(3, 0), 7, 0, 10), [3, 0, 7]);
        assert_eq!(count(&limiter(3, 1), 7, 0, 10), [3, 7, 0]);
    }

    #[test]
    fn the_clock_wraps_without_stalling_a_flow() {
        let l = limiter(2, 0);
        assert_eq!(count(&l, 1, u16::MAX, 3), [2, 0, 1]);
        assert_eq!(count(&l, 1, 0, 3), [2, 0, 1]);
    }

    #[test]
    fn tokens_pack_and_unpack() {
        for tokens in [0, 1, 1_000_000, -1, MIN_TOKENS] {
            assert_eq!(
                unpack(pack(0xab_cdef, 0x1234, tokens)),
                (0xab_cdef, 0x1234, tokens)
            );
        }
    }

    #[test]
    fn rate_zero_is_off() {
        assert!(ResponseLimiter::new(&RrlSettings::off()).is_none());
    }

    #[test]
    fn a_slipped_response_keeps_header_and_question_only() {
        // ID, flags (QR AA, NXDOMAIN), QD=1 AN=1 NS=1 AR=1, question h.ex A IN, then records.
        let mut response = vec![0x12, 0x34, 0x84, 0x03, 0, 1, 0, 1, 0, 1, 0, 1];
        let question = b"\x01h\x02ex\x00\x00\x01\x00\x01";
        response.extend_from_slice(question);
        response.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
        truncate_for_slip(&mut response);
        let mut expected = vec![0x12, 0x34, 0x86, 0x03, 0, 1, 0, 0, 0, 0, 0, 0];
        expected.extend_from_slice(question);
        assert_eq!(response, expected);

        let mut headerless = vec![1, 2, 3];
        truncate_for_slip(&mut headerless);
        assert_eq!(headerless, [1, 2, 3]);
    }

    #[test]
    fn the_query_name_is_lower_cased() {
        let mut response = vec![0; 12];
        response[5] = 1;
        response.extend_from_slice(b"\x04HoSt\x02eX\x00\x00\x01\x00\x01");
        let mut buf = [0u8; 255];
        assert_eq!(lowercase_qname(&response, &mut buf), b"\x04host\x02ex\x00");
    }
}
