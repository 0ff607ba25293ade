//! Group commit: the changes of concurrent requests share one transaction, one fsync and one
//! snapshot publication.
//!
//! A request queues its change set, then waits for either its answer or the write lock. Who
//! gets the lock takes everything queued so far (its own set among it) and commits it as one
//! group in a task of its own, so the group finishes and every request in it is answered even
//! if the request that started it goes away. Nobody waits on a timer: while one group commits,
//! the next one gathers. Each request is answered only after the commit that holds it, with
//! its own result; one that fails is rolled back alone (the store gives each set a savepoint).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use ddns_core::DomainName;
use ddns_store::{Applied, ChangeSet, StoreError};
use tokio::sync::{OwnedMutexGuard, oneshot};

use crate::publish::Publisher;
use crate::{UpdateError, Zones};

/// Histogram of the store transaction of each group commit, seconds.
pub const COMMIT_SECONDS: &str = "ddns_store_commit_duration_seconds";
/// Counter of change sets committed in groups.
pub const COMMITTED_CHANGES: &str = "ddns_store_committed_changes_total";

/// Change sets in one transaction at most; the rest wait for the next group.
const MAX_GROUP: usize = 1_000;

/// Changes waiting for the next group.
#[derive(Debug, Default)]
pub(crate) struct CommitQueue(Mutex<Vec<Pending>>);

#[derive(Debug)]
struct Pending {
    set: ChangeSet,
    reply: oneshot::Sender<Result<Applied, StoreError>>,
}

impl CommitQueue {
    fn push(&self, pending: Pending) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(pending);
    }

    fn take(&self) -> Vec<Pending> {
        let mut queue = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let at = queue.len().min(MAX_GROUP);
        let rest = queue.split_off(at);
        std::mem::replace(&mut *queue, rest)
    }
}

impl Zones {
    /// Commits `set` (in a group with whatever else is waiting), then waits until the snapshot
    /// shows it. Once the store has committed, the change is durable and the answer is
    /// success: a failure to publish it is logged and left to the follower, which replays the
    /// journal on its next round.
    pub(crate) async fn commit(&self, set: ChangeSet) -> Result<Applied, UpdateError> {
        let (reply, mut answer) = oneshot::channel();
        self.queue.push(Pending { set, reply });
        loop {
            tokio::select! {
                biased;
                result = &mut answer => {
                    // The sender is only dropped unanswered when the committing task panicked.
                    let result = result.unwrap_or_else(|_| {
                        Err(StoreError::Database("the commit of this change was lost".into()))
                    });
                    return result.map_err(UpdateError::from);
                }
                guard = Arc::clone(&self.write_lock).lock_owned() => {
                    let group = self.queue.take();
                    if group.is_empty() {
                        // Another group held this change; its answer is already sent.
                        continue;
                    }
                    let publisher = Arc::clone(&self.publisher);
                    if let Err(e) = tokio::spawn(commit_group(publisher, group, guard)).await {
                        tracing::error!(error = %e, "a group commit failed");
                    }
                }
            }
        }
    }
}

/// One transaction for the whole group, one publication of the zones it changed, then every
/// answer; the write lock is released last.
async fn commit_group(publisher: Arc<Publisher>, group: Vec<Pending>, _held: OwnedMutexGuard<()>) {
    let (sets, replies): (Vec<ChangeSet>, Vec<_>) =
        group.into_iter().map(|p| (p.set, p.reply)).unzip();
    let started = Instant::now();
    let results = publisher.store.apply_group(&sets).await;
    // One transaction and one fsync for the whole group: what an update waits for at least.
    metrics::histogram!(COMMIT_SECONDS).record(started.elapsed().as_secs_f64());
    metrics::counter!(COMMITTED_CHANGES).increment(sets.len() as u64);
    let touched: BTreeSet<DomainName> = results
        .iter()
        .flatten()
        .flat_map(|applied| applied.serials.iter().map(|(zone, _)| zone.clone()))
        .collect();
    if !touched.is_empty()
        && let Err(e) = publisher.sync_zones(|zone| touched.contains(zone)).await
    {
        tracing::warn!(error = %e, "committed changes not yet published; the follower will catch up");
    }
    tracing::trace!(changes = sets.len(), "group committed");
    for (reply, result) in replies.into_iter().zip(results) {
        // A requester that went away no longer needs its answer.
        let _ = reply.send(result);
    }
}
