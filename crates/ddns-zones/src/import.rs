//! `ddns zone import`: a master file streamed into the store in one transaction.
//!
//! The file is read, grouped and validated on a blocking thread while the store writes the
//! previous batch: consecutive records of one owner and type become one RRset, each checked like
//! an update (`RecordSet::check_writable`, the names and types the configuration reserves,
//! `RecordSet` validation), and [`IMPORT_BATCH`] of them at a time go to
//! [`Store::import_rrsets`](ddns_store::Store::import_rrsets) over a channel of
//! [`IMPORT_QUEUE`] batches. Memory is bounded by those batches, not by the zone. An owner and
//! type that come back later in the file are merged by the store before anything is written.
//! The first bad line ends the reader without the end marker, so the store rolls back and the
//! zone is as it was.

use std::sync::Arc;

use ddns_core::name::wire_to_text;
use ddns_core::snapshot::ZoneSet;
use ddns_core::zone_file::{ZoneEntry, ZoneFileReader};
use ddns_core::{Actor, DomainName, Origin, Rdata, RecordSet, Rtype};
use ddns_store::{ImportBatch, ImportRrset};
use tokio::sync::mpsc;

use crate::Zones;
use crate::update::{UpdateError, check_reserved};

/// RRsets handed to the store at a time.
pub(crate) const IMPORT_BATCH: usize = 5_000;
/// Batches in flight between the reader and the store.
pub(crate) const IMPORT_QUEUE: usize = 2;

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSummary {
    /// RRsets written (distinct owner and type).
    pub rrsets: usize,
    /// Records read.
    pub records: usize,
    /// Apex SOA and NS records left to the configuration.
    pub skipped_apex: usize,
}

/// Why the reader stopped early.
enum ReadStop {
    /// The file is bad: this is the answer.
    Invalid(UpdateError),
    /// The store went away (it failed): its error is the answer.
    StoreGone,
}

impl From<UpdateError> for ReadStop {
    fn from(e: UpdateError) -> Self {
        Self::Invalid(e)
    }
}

/// Consecutive records of one owner and type.
struct Group {
    owner: Vec<u8>,
    rtype: Rtype,
    ttl: u32,
    rdatas: Vec<Rdata>,
    line: usize,
}

impl Group {
    fn start(entry: ZoneEntry) -> Self {
        Self {
            owner: entry.owner,
            rtype: entry.rtype,
            ttl: entry.ttl,
            rdatas: vec![entry.rdata],
            line: entry.line,
        }
    }

    /// The RRset, checked like an update of `zone`.
    fn finish(self, zones: &ZoneSet, zone: &DomainName) -> Result<ImportRrset, UpdateError> {
        let (line, rtype) = (self.line, self.rtype);
        let text = wire_to_text(&self.owner);
        let bad = |e: &dyn std::fmt::Display| {
            UpdateError::BadZoneFile(format!("line {line}: {text} {rtype}: {e}"))
        };
        let name = DomainName::parse(&text).map_err(|e| bad(&e))?;
        RecordSet::check_writable(rtype).map_err(|e| bad(&e))?;
        if let Some(served) = zones.get(zone) {
            check_reserved(served, &name, rtype)?;
        }
        let set = RecordSet::new(rtype, self.ttl, self.rdatas).map_err(|e| bad(&e))?;
        Ok(ImportRrset { name, set, line })
    }
}

/// Reads the whole file into `batches`; the end marker only after the last valid line.
fn read_file(
    reader: impl std::io::BufRead,
    zone: &DomainName,
    default_ttl: u32,
    zones: &ZoneSet,
    batches: &mpsc::Sender<ImportBatch>,
) -> Result<ImportSummary, ReadStop> {
    let apex = zone.to_wire();
    let mut summary = ImportSummary {
        rrsets: 0,
        records: 0,
        skipped_apex: 0,
    };
    let mut batch = Vec::with_capacity(IMPORT_BATCH);
    let mut group: Option<Group> = None;
    let send = |message| {
        batches
            .blocking_send(message)
            .map_err(|_| ReadStop::StoreGone)
    };
    for entry in ZoneFileReader::new(reader, zone, Some(default_ttl)) {
        let entry = entry.map_err(|e| UpdateError::BadZoneFile(e.to_string()))?;
        summary.records += 1;
        if entry.owner == apex && matches!(entry.rtype, Rtype::SOA | Rtype::NS) {
            summary.skipped_apex += 1;
            continue;
        }
        if let Some(g) = group.as_mut()
            && g.owner == entry.owner
            && g.rtype == entry.rtype
        {
            g.ttl = g.ttl.min(entry.ttl);
            g.rdatas.push(entry.rdata);
            continue;
        }
        if let Some(done) = group.replace(Group::start(entry)) {
            batch.push(done.finish(zones, zone)?);
            if batch.len() == IMPORT_BATCH {
                send(ImportBatch::Rrsets(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(IMPORT_BATCH),
                )))?;
            }
        }
    }
    if let Some(done) = group {
        batch.push(done.finish(zones, zone)?);
    }
    if !batch.is_empty() {
        send(ImportBatch::Rrsets(batch))?;
    }
    send(ImportBatch::End)?;
    Ok(summary)
}

impl Zones {
    /// Imports a master file into `zone` in one transaction: every RRset is written as a dynamic
    /// RRset replacing the dynamic one of the same owner and type (the apex SOA and NS stay the
    /// configuration's, other RRsets stay as they are), each checked like an update, or
    /// nothing is written at all. The journal gets one reload entry, so secondaries transfer the
    /// whole zone, and the history one summary row for the zone rather than one per host.
    ///
    /// The file is streamed: memory is bounded by a few batches of 5,000 RRsets, not by the zone.
    /// Once it returns, this process's snapshot shows the import, except on a data directory
    /// attached by the command line, whose snapshots nobody serves: there the server picks the
    /// reload entry up (a process importing a million names need not hold them too).
    pub async fn import_zone(
        &self,
        zone: &DomainName,
        reader: impl std::io::BufRead + Send + 'static,
        default_ttl: u32,
        actor: Actor,
    ) -> Result<ImportSummary, UpdateError> {
        if !self.policies.iter().any(|p| &p.name == zone) {
            return Err(UpdateError::NotServed(zone.clone()));
        }
        let snapshot: Arc<ZoneSet> = self.snapshot();
        let (tx, mut rx) = mpsc::channel(IMPORT_QUEUE);
        let origin = zone.clone();
        let reading = tokio::task::spawn_blocking(move || {
            read_file(reader, &origin, default_ttl, &snapshot, &tx)
        });
        let guard = self.write_lock.lock().await;
        let stored = self
            .store
            .import_rrsets(zone, &mut rx, &actor, &Origin::default())
            .await;
        // The reader may be blocked on a full channel when the store failed.
        drop(rx);
        let read = reading
            .await
            .map_err(|e| UpdateError::BadZoneFile(format!("the zone file reader failed: {e}")))?;
        let summary = match (read, stored) {
            (Err(ReadStop::Invalid(e)), _) => return Err(e),
            (_, Err(e)) => return Err(e.into()),
            (Err(ReadStop::StoreGone), Ok(_)) => {
                return Err(UpdateError::BadZoneFile(
                    "the import ended before the file did".into(),
                ));
            }
            (Ok(summary), Ok(imported)) => ImportSummary {
                rrsets: usize::try_from(imported.rrsets).unwrap_or(usize::MAX),
                ..summary
            },
        };
        if !self.offline
            && let Err(e) = self.sync_zones(|z| z == zone).await
        {
            tracing::warn!(error = %e, "imported zone not yet published; the follower will catch up");
        }
        drop(guard);
        Ok(summary)
    }
}
