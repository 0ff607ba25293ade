//! When each token was last used: noted in memory on every accepted request (at most once a
//! minute per token) and written to the store by the follower in one batch, so a request never
//! waits for a write and a flood of requests costs at most one row update per token a minute.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use ddns_store::StoreError;

use crate::Zones;

/// A token's use is noted again only this many seconds after the last note.
const RESOLUTION_SECS: i64 = 60;
/// Tokens remembered at most; beyond it the table starts afresh (a token is then noted once
/// more than needed, never less).
const CAPACITY: usize = 1 << 18;

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[derive(Default)]
pub(crate) struct LastUsed {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The last time noted per token.
    noted: HashMap<String, i64>,
    /// Noted and not yet written.
    pending: HashMap<String, i64>,
}

impl std::fmt::Debug for LastUsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LastUsed").finish_non_exhaustive()
    }
}

impl LastUsed {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Plain maps of times: consistent after any panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes that token `id` was accepted at `now`.
    pub(crate) fn note(&self, id: &str, now: i64) {
        let mut inner = self.lock();
        if inner
            .noted
            .get(id)
            .is_some_and(|at| now - at < RESOLUTION_SECS)
        {
            return;
        }
        if inner.noted.len() >= CAPACITY {
            inner.noted.clear();
        }
        if inner.pending.len() >= CAPACITY {
            return;
        }
        inner.noted.insert(id.to_owned(), now);
        inner.pending.insert(id.to_owned(), now);
    }

    fn take(&self) -> Vec<(String, i64)> {
        self.lock().pending.drain().collect()
    }

    /// Puts back what could not be written (newer notes win).
    fn restore(&self, used: Vec<(String, i64)>) {
        let mut inner = self.lock();
        for (id, at) in used {
            let entry = inner.pending.entry(id).or_insert(at);
            *entry = (*entry).max(at);
        }
    }
}

impl Zones {
    /// Writes the last-used times noted since the previous call (the follower calls it on
    /// every poll; nothing is written when no token was used for the first time in a minute).
    pub async fn flush_last_used(&self) -> Result<(), StoreError> {
        let used = self.last_used.take();
        if used.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.store.touch_tokens(&used).await {
            self.last_used.restore(used);
            return Err(e);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noted_at_most_once_a_minute() {
        let used = LastUsed::default();
        used.note("a", 1000);
        used.note("a", 1030);
        used.note("b", 1030);
        let mut taken = used.take();
        taken.sort();
        assert_eq!(taken, vec![("a".into(), 1000), ("b".into(), 1030)]);
        used.note("a", 1059);
        assert!(used.take().is_empty(), "within the minute");
        used.note("a", 1060);
        assert_eq!(used.take(), vec![("a".into(), 1060)]);
        used.restore(vec![("a".into(), 1060)]);
        assert_eq!(used.take(), vec![("a".into(), 1060)]);
    }
}
