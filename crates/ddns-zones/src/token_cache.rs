//! Tokens verified recently, held in memory so that a request of a known token is
//! authenticated without a store read; and their invalidation.
//!
//! An entry holds what the store holds — the id, the SHA-256 of the secret, label and scope —
//! never the secret, and is made only from a row that a presented secret matched and that was
//! not revoked. Nothing is cached for an unknown id, a wrong secret or a revoked token, so
//! callers presenting millions of random ids add nothing; the entries are bounded anyway
//! ([`CAPACITY`]), by two generations: new entries go to the current one, and when it is half
//! full it becomes the previous one and the one before is dropped; a hit in the previous one
//! moves the entry back. That keeps the tokens in use and costs O(1) per request.
//!
//! A revoke through [`Zones::revoke_token`] drops the entry once the store has committed, so
//! the next request of that token is refused. A token changed by another process (`ddns token
//! revoke` on the data directory, later other nodes) is dropped by the follower's poll of the
//! store's token change counter ([`Zones::sync_tokens`]); when the poll cannot tell which
//! tokens changed, or cannot read the store at all, every entry is dropped.
//!
//! A request that misses reads the store and fills the entry afterwards; an invalidation in
//! between (the row it read may be stale by then) makes that fill a no-op, so a revoked token
//! cannot come back into memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ddns_store::StoreError;

use crate::{Principal, Zones};

/// Tokens held at most (about 300 bytes each with a short scope).
pub(crate) const CAPACITY: usize = 1 << 18;
/// Changed tokens the follower asks for by id per poll; beyond it, everything is dropped.
const CHANGES_LISTED: u32 = 1_000;

/// A verified token as the store holds it.
#[derive(Debug)]
pub(crate) struct Verified {
    /// SHA-256 of the secret (what the presented secret is compared with in constant time).
    pub(crate) secret_sha256: Vec<u8>,
    pub(crate) principal: Principal,
}

/// Taken before a store read: the fill that follows is stored only if no invalidation came in
/// between.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fill {
    epoch: u64,
}

/// The verified tokens of this process.
pub(crate) struct TokenCache {
    inner: Mutex<Inner>,
}

struct Inner {
    current: HashMap<String, Arc<Verified>>,
    previous: HashMap<String, Arc<Verified>>,
    /// Entries per generation at most.
    half: usize,
    /// Counts invalidations.
    epoch: u64,
    /// The store's token change counter as last read; `None` until the first poll.
    seen: Option<i64>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("TokenCache")
            .field("entries", &(inner.current.len() + inner.previous.len()))
            .field("seen", &inner.seen)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache of at most `capacity` tokens (at least 2).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                current: HashMap::new(),
                previous: HashMap::new(),
                half: (capacity / 2).max(1),
                epoch: 0,
                seen: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The map is consistent after any panic (every update is one insert or remove).
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The entry of `id` if there is one, and the ticket for filling it from the store.
    pub(crate) fn get(&self, id: &str) -> (Option<Arc<Verified>>, Fill) {
        let mut inner = self.lock();
        let fill = Fill { epoch: inner.epoch };
        if let Some(hit) = inner.current.get(id) {
            return (Some(Arc::clone(hit)), fill);
        }
        let Some((key, hit)) = inner.previous.remove_entry(id) else {
            return (None, fill);
        };
        inner.promote(key, Arc::clone(&hit));
        (Some(hit), fill)
    }

    /// Keeps a token whose row a presented secret matched, unless something was invalidated
    /// since `fill` was taken.
    pub(crate) fn insert(&self, fill: Fill, verified: Verified) {
        let mut inner = self.lock();
        if inner.epoch != fill.epoch {
            return;
        }
        let id = verified.principal.token_id.clone();
        inner.previous.remove(&id);
        inner.promote(id, Arc::new(verified));
    }

    /// Drops one token (it was revoked here).
    pub(crate) fn invalidate(&self, id: &str) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.current.remove(id);
        inner.previous.remove(id);
    }

    /// Drops every token.
    fn clear(&self) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.current.clear();
        inner.previous.clear();
    }

    fn seen(&self) -> Option<i64> {
        self.lock().seen
    }

    /// Applies a poll of the store's change counter: drops the tokens named, or all of them.
    fn apply(&self, changes: ddns_store::TokenChanges) {
        let mut inner = self.lock();
        match changes.ids {
            Some(ids) if ids.is_empty() => {}
            Some(ids) => {
                inner.epoch += 1;
                for id in &ids {
                    inner.current.remove(id);
                    inner.previous.remove(id);
                }
            }
            None => {
                inner.epoch += 1;
                inner.current.clear();
                inner.previous.clear();
            }
        }
        inner.seen = Some(changes.seq);
    }

    /// Tokens held.
    pub(crate) fn len(&self) -> usize {
        let inner = self.lock();
        inner.current.len() + inner.previous.len()
    }
}

impl Inner {
    fn promote(&mut self, id: String, verified: Arc<Verified>) {
        if self.current.len() >= self.half {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(id, verified);
    }
}

impl Zones {
    /// Reads the store's token change counter and drops the tokens held in memory that were
    /// revoked (or created) by another process since the last call; the follower calls it on
    /// every poll. If the store cannot be read, every token is dropped: a revoke that cannot be
    /// seen must not leave its token working.
    pub async fn sync_tokens(&self) -> Result<(), StoreError> {
        let cache = &self.token_cache;
        match self.store.token_changes(cache.seen(), CHANGES_LISTED).await {
            Ok(changes) => {
                if changes.ids.as_ref().is_some_and(|ids| !ids.is_empty()) {
                    tracing::debug!(changed = ?changes.ids, "tokens changed in the store");
                }
                cache.apply(changes);
                Ok(())
            }
            Err(e) => {
                cache.clear();
                Err(e)
            }
        }
    }

    /// Tokens held in memory (tests show the bound with it).
    #[doc(hidden)]
    pub fn cached_tokens(&self) -> usize {
        self.token_cache.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use ddns_core::Scope;

    use super::*;

    fn verified(id: &str) -> Verified {
        Verified {
            secret_sha256: vec![7; 32],
            principal: Principal {
                token_id: id.into(),
                label: String::new(),
                scope: Scope::Admin,
                restrictions: ddns_core::Restrictions::default(),
            },
        }
    }

    fn fill(cache: &TokenCache, id: &str) {
        let (_, ticket) = cache.get(id);
        cache.insert(ticket, verified(id));
    }

    #[test]
    fn bounded_and_keeps_what_is_used() {
        let cache = TokenCache::new(64);
        fill(&cache, "busy");
        for i in 0..10_000 {
            fill(&cache, &format!("t{i}"));
            assert!(cache.len() <= 64);
            // The token in use is asked for between the others and survives every turn.
            if i % 16 == 0 {
                assert!(cache.get("busy").0.is_some(), "evicted at {i}");
            }
        }
        assert!(cache.get("t0").0.is_none(), "old entries go");
        assert!(cache.get("t9999").0.is_some());
    }

    #[test]
    fn a_fill_after_an_invalidation_is_dropped() {
        let cache = TokenCache::new(8);
        let (_, ticket) = cache.get("a");
        // The revoke commits and invalidates while the request still reads the old row.
        cache.invalidate("a");
        cache.insert(ticket, verified("a"));
        assert!(cache.get("a").0.is_none());
        fill(&cache, "a");
        assert!(cache.get("a").0.is_some());
    }

    #[test]
    fn polls_drop_named_tokens_or_everything() {
        let cache = TokenCache::new(8);
        fill(&cache, "a");
        fill(&cache, "b");
        cache.apply(ddns_store::TokenChanges {
            seq: 3,
            ids: Some(vec!["a".into()]),
        });
        assert!(cache.get("a").0.is_none());
        assert!(cache.get("b").0.is_some());
        assert_eq!(cache.seen(), Some(3));
        let (_, ticket) = cache.get("b");
        cache.apply(ddns_store::TokenChanges {
            seq: 3,
            ids: Some(Vec::new()),
        });
        fill(&cache, "c");
        cache.insert(ticket, verified("b"));
        assert_eq!(cache.len(), 2, "a poll without changes invalidates nothing");
        cache.apply(ddns_store::TokenChanges { seq: 9, ids: None });
        assert_eq!(cache.len(), 0);
    }
}
