//! Failed authentication slows its source down: after the n-th failure in a row from one
//! address (one /64 for IPv6), its next attempt waits 0.5 s × 2^(n-1), at most 30 s; a success
//! forgets the address.
//!
//! Attempts from an address in that state are admitted one at a time, each reserving the next
//! slot, so parallel connections gain an attacker nothing; an attempt whose slot would be more
//! than the longest delay away is refused at once (`429`/`abuse` with `Retry-After`) instead of
//! queueing. The wait happens before the token is looked at and holds nothing: no database
//! connection, no lock; the table's mutex is held only to read and update one entry. Other
//! addresses' requests never wait for it.
//!
//! Memory is bounded by two generations of [`HALF`] addresses each: new entries go to the
//! current one; when it is full it becomes the previous one and the one before is dropped. An
//! address that keeps failing stays (each failure moves it back to the current generation).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The delay after the first failure.
pub(crate) const FIRST_DELAY: Duration = Duration::from_millis(500);
/// The longest delay.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(30);
/// Addresses per generation.
const HALF: usize = 1 << 15;

/// What an attempt from an address may do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Go ahead after waiting this long (zero: at once).
    After(Duration),
    /// Refused without looking at the credentials; try again after this long.
    Refused(Duration),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Failures in a row.
    failures: u32,
    /// The next attempt may not start before this.
    not_before: Instant,
}

/// Per-address failure state.
pub(crate) struct AuthThrottle {
    inner: Mutex<Generations>,
}

struct Generations {
    current: HashMap<IpAddr, Entry>,
    previous: HashMap<IpAddr, Entry>,
    half: usize,
}

fn delay(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let factor = 1_u32 << (failures - 1).min(16);
    FIRST_DELAY.saturating_mul(factor).min(MAX_DELAY)
}

/// IPv4 addresses as they are, IPv6 ones by their /64 (one subscriber's prefix).
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
        v4 => v4,
    }
}

impl AuthThrottle {
    pub(crate) fn new() -> Self {
        Self::with_half(HALF)
    }

    fn with_half(half: usize) -> Self {
        Self {
            inner: Mutex::new(Generations {
                current: HashMap::new(),
                previous: HashMap::new(),
                half: half.max(1),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Generations> {
        // Every update is one insert or remove: consistent after any panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the next slot for an attempt from `ip` at `now`.
    pub(crate) fn admit(&self, ip: IpAddr, now: Instant) -> Admission {
        let key = key(ip);
        let mut table = self.lock();
        let Some(mut entry) = table.take(&key) else {
            return Admission::After(Duration::ZERO);
        };
        let slot = entry.not_before.max(now);
        let wait = slot - now;
        if wait > MAX_DELAY {
            table.put(key, entry);
            return Admission::Refused(wait - MAX_DELAY);
        }
        entry.not_before = slot + delay(entry.failures);
        table.put(key, entry);
        Admission::After(wait)
    }

    /// An attempt from `ip` failed at `now`.
    pub(crate) fn failed(&self, ip: IpAddr, now: Instant) {
        let key = key(ip);
        let mut table = self.lock();
        let mut entry = table.take(&key).unwrap_or(Entry {
            failures: 0,
            not_before: now,
        });
        entry.failures = entry.failures.saturating_add(1);
        entry.not_before = entry.not_before.max(now + delay(entry.failures));
        table.put(key, entry);
    }

    /// An attempt from `ip` succeeded: its failures are forgotten.
    pub(crate) fn succeeded(&self, ip: IpAddr) {
        let key = key(ip);
        let mut table = self.lock();
        if !table.current.is_empty() || !table.previous.is_empty() {
            table.take(&key);
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        let table = self.lock();
        table.current.len() + table.previous.len()
    }
}

impl Generations {
    fn take(&mut self, key: &IpAddr) -> Option<Entry> {
        self.current
            .remove(key)
            .or_else(|| self.previous.remove(key))
    }

    fn put(&mut self, key: IpAddr, entry: Entry) {
        if self.current.len() >= self.half {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "192.0.2.1";

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn delays_double_up_to_the_cap_and_reset_on_success() {
        let t = AuthThrottle::new();
        let mut now = Instant::now();
        assert_eq!(t.admit(ip(A), now), Admission::After(Duration::ZERO));
        for expected in [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000] {
            t.failed(ip(A), now);
            assert_eq!(
                t.admit(ip(A), now),
                Admission::After(Duration::from_millis(expected))
            );
            now += Duration::from_millis(expected);
        }
        assert_eq!(
            t.admit(ip("192.0.2.2"), now),
            Admission::After(Duration::ZERO),
            "another address is not slowed down"
        );
        t.succeeded(ip(A));
        assert_eq!(t.admit(ip(A), now), Admission::After(Duration::ZERO));
    }

    #[test]
    fn parallel_attempts_queue_then_are_refused() {
        let t = AuthThrottle::new();
        let now = Instant::now();
        for _ in 0..7 {
            t.failed(ip(A), now);
        }
        // 30 s per attempt: the first waits 30 s, the next would wait 60 s and is refused.
        assert_eq!(t.admit(ip(A), now), Admission::After(MAX_DELAY));
        assert!(matches!(t.admit(ip(A), now), Admission::Refused(_)));
    }

    #[test]
    fn ipv6_is_keyed_by_its_64_and_the_table_is_bounded() {
        let t = AuthThrottle::with_half(4);
        let now = Instant::now();
        t.failed(ip("2001:db8:1:2::1"), now);
        assert_ne!(
            t.admit(ip("2001:db8:1:2:ffff::9"), now),
            Admission::After(Duration::ZERO)
        );
        for i in 0..100 {
            t.failed(ip(&format!("198.51.100.{i}")), now);
            assert!(t.tracked() <= 8);
        }
    }
}
