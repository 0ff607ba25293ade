//! Shared reads of the zones' journal positions, for a node of a cluster: a `nochg` may be
//! answered from the snapshot only once a read of the store that began after the request
//! arrived shows no commit the snapshot lacks (`Zones::snapshot_holds`). Concurrent requests
//! share one read, as changes share a group commit: each queues, whoever gets the lock takes
//! the queue, reads once in a task of its own and answers everyone in it; requests that arrive
//! meanwhile wait for the next read, which begins after they did.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use ddns_core::DomainName;
use ddns_store::{Store, StoreError};
use tokio::sync::oneshot;

/// Each zone's journal position, as one read of the store found them.
pub(crate) type Positions = HashMap<DomainName, i64>;

type Reply = oneshot::Sender<Result<Arc<Positions>, StoreError>>;

/// Requests waiting for the next read, and the lock of the read in progress.
#[derive(Debug, Default)]
pub(crate) struct PositionReads {
    waiting: Mutex<Vec<Reply>>,
    reading: Arc<tokio::sync::Mutex<()>>,
}

impl PositionReads {
    /// The positions as a read begun after this call found them.
    pub(crate) async fn read(&self, store: &Arc<Store>) -> Result<Arc<Positions>, StoreError> {
        let (reply, mut answer) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(reply);
        loop {
            tokio::select! {
                biased;
                result = &mut answer => {
                    // The sender is only dropped unanswered when the reading task panicked.
                    return result.unwrap_or_else(|_| {
                        Err(StoreError::Database("the read of journal positions was lost".into()))
                    });
                }
                held = Arc::clone(&self.reading).lock_owned() => {
                    let batch = std::mem::take(
                        &mut *self.waiting.lock().unwrap_or_else(PoisonError::into_inner),
                    );
                    if batch.is_empty() {
                        continue; // another read took this request; its answer is on the way
                    }
                    let store = Arc::clone(store);
                    let read = tokio::spawn(async move {
                        let result = store.journal_positions().await.map(|p| {
                            Arc::new(p.into_iter().collect::<Positions>())
                        });
                        for reply in batch {
                            let _ = reply.send(result.clone());
                        }
                        drop(held);
                    });
                    let _ = read.await;
                }
            }
        }
    }
}
