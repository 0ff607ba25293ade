//! Immutable zone snapshots: what the DNS path answers from.
//!
//! A [`Zone`] holds every RRset of one zone in DNS wire form, keyed by the lower-case wire name
//! of its owner, so answering a query is a hash lookup and a few `memcpy`s. The name table is
//! split into [`SHARDS`] shards behind `Arc`s: publishing a change clones the shard array
//! (cheap pointer copies) and only the shards that the change touches, so an update costs
//! microseconds at 100k or 1M names while readers keep the old snapshot until they finish.
//!
//! Empty non-terminals (names with no records but with names below them, RFC 8020) exist as
//! nodes without RRsets, counted by `children`, so NODATA and NXDOMAIN are told apart exactly.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use crate::name::{DomainName, wire_to_text};
use crate::rdata::Rdata;
use crate::record::RecordSet;
use crate::rtype::{CLASS_IN, Rtype};
use crate::serial::Serial;
use crate::view::ViewMatcher;

/// Number of shards of a zone's name table.
pub const SHARDS: usize = 256;

/// One RRset in wire form: every record as `TYPE CLASS TTL RDLENGTH RDATA` (the owner name is
/// written by the responder, usually as a pointer to the question).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rrset {
    rtype: Rtype,
    ttl: u32,
    count: u16,
    dynamic: bool,
    wire: Box<[u8]>,
}

impl Rrset {
    /// Builds an RRset from the RDATA of its records. RDATA longer than 65535 octets is a bug in
    /// the caller and is cut off rather than panicking.
    pub fn new<'a>(
        rtype: Rtype,
        ttl: u32,
        rdatas: impl IntoIterator<Item = &'a [u8]>,
        dynamic: bool,
    ) -> Self {
        let mut wire = Vec::new();
        let mut count: u16 = 0;
        for rdata in rdatas {
            let len = rdata.len().min(usize::from(u16::MAX));
            wire.extend_from_slice(&rtype.0.to_be_bytes());
            wire.extend_from_slice(&CLASS_IN.to_be_bytes());
            wire.extend_from_slice(&ttl.to_be_bytes());
            wire.extend_from_slice(&(len as u16).to_be_bytes());
            wire.extend_from_slice(&rdata[..len]);
            count = count.saturating_add(1);
        }
        Self {
            rtype,
            ttl,
            count,
            dynamic,
            wire: wire.into_boxed_slice(),
        }
    }

    /// RR TYPE.
    pub fn rtype(&self) -> Rtype {
        self.rtype
    }
    /// TTL of every record.
    pub fn ttl(&self) -> u32 {
        self.ttl
    }
    /// Number of records.
    pub fn count(&self) -> u16 {
        self.count
    }
    /// True for RRsets from the store, false for those from the configuration.
    pub fn is_dynamic(&self) -> bool {
        self.dynamic
    }
    /// All records, each `TYPE CLASS TTL RDLENGTH RDATA`.
    pub fn wire(&self) -> &[u8] {
        &self.wire
    }

    /// The RDATA of each record.
    pub fn rdatas(&self) -> impl Iterator<Item = &[u8]> {
        let wire = &self.wire;
        let mut pos = 0usize;
        std::iter::from_fn(move || {
            let header = wire.get(pos..pos + 10)?;
            let len = usize::from(u16::from_be_bytes([header[8], header[9]]));
            let rdata = wire.get(pos + 10..pos + 10 + len)?;
            pos += 10 + len;
            Some(rdata)
        })
    }

    /// Each record as `(offset of its RDATA within wire(), whole record bytes)`.
    pub fn records(&self) -> impl Iterator<Item = &[u8]> {
        let wire = &self.wire;
        let mut pos = 0usize;
        std::iter::from_fn(move || {
            let header = wire.get(pos..pos + 10)?;
            let len = usize::from(u16::from_be_bytes([header[8], header[9]]));
            let record = wire.get(pos..pos + 10 + len)?;
            pos += 10 + len;
            Some(record)
        })
    }
}

impl Rrset {
    /// The snapshot form of a record set.
    pub fn from_set(set: &RecordSet, dynamic: bool) -> Self {
        Self::new(
            set.rtype(),
            set.ttl(),
            set.rdatas().iter().map(Rdata::as_wire),
            dynamic,
        )
    }
}

/// The RRsets at one owner name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    rrsets: Vec<Rrset>,
    children: u32,
}

impl Node {
    /// The RRset of `rtype`, if any.
    pub fn rrset(&self, rtype: Rtype) -> Option<&Rrset> {
        self.rrsets.iter().find(|r| r.rtype == rtype)
    }
    /// All RRsets, in the order they were added.
    pub fn rrsets(&self) -> &[Rrset] {
        &self.rrsets
    }
    /// True for an empty non-terminal: no records, but names below.
    pub fn is_empty_non_terminal(&self) -> bool {
        self.rrsets.is_empty()
    }
    fn exists(&self) -> bool {
        !self.rrsets.is_empty() || self.children > 0
    }
}

/// SOA fields other than the serial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoaParams {
    /// Primary name server (MNAME).
    pub mname: DomainName,
    /// Responsible mailbox in name form (RNAME).
    pub rname: DomainName,
    /// Secondary refresh interval.
    pub refresh: u32,
    /// Secondary retry interval.
    pub retry: u32,
    /// Secondary expiry.
    pub expire: u32,
    /// Negative-caching TTL (RFC 2308 §4).
    pub minimum: u32,
    /// TTL of the SOA record itself.
    pub ttl: u32,
}

impl SoaParams {
    /// The parameters and serial of SOA RDATA (the inverse of [`Self::rdata`]).
    pub fn from_rdata(rdata: &[u8], ttl: u32) -> Option<(Self, Serial)> {
        let mname_len = wire_name_len(rdata)?;
        let rname_len = wire_name_len(&rdata[mname_len..])?;
        let numbers = rdata.get(mname_len + rname_len..)?;
        if numbers.len() != 20 {
            return None;
        }
        let n = |i: usize| {
            u32::from_be_bytes([numbers[i], numbers[i + 1], numbers[i + 2], numbers[i + 3]])
        };
        let name = |w: &[u8]| DomainName::parse(&wire_to_text(w)).ok();
        Some((
            Self {
                mname: name(&rdata[..mname_len])?,
                rname: name(&rdata[mname_len..mname_len + rname_len])?,
                refresh: n(4),
                retry: n(8),
                expire: n(12),
                minimum: n(16),
                ttl,
            },
            Serial(n(0)),
        ))
    }

    /// SOA RDATA at `serial`.
    pub fn rdata(&self, serial: Serial) -> Vec<u8> {
        let mut out = self.mname.to_wire();
        self.rname.write_wire(&mut out);
        for v in [
            serial.0,
            self.refresh,
            self.retry,
            self.expire,
            self.minimum,
        ] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out
    }
}

/// A change to one RRset: `rrset == None` removes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RrsetChange {
    /// Lower-case wire form of the owner name; must be in the zone.
    pub owner: Box<[u8]>,
    /// RR TYPE.
    pub rtype: Rtype,
    /// The new RRset, or `None` to remove it.
    pub rrset: Option<Rrset>,
}

/// Error applying a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The owner name is not inside this zone.
    #[error("{owner} is not in zone {zone}")]
    OutOfZone {
        /// Owner as text.
        owner: String,
        /// Zone origin.
        zone: String,
    },
    /// The owner name is not valid wire form.
    #[error("malformed owner name")]
    BadOwner,
    /// The RRset type does not match the change's type.
    #[error("RRset type mismatch")]
    TypeMismatch,
}

type Shard = HashMap<Arc<[u8]>, Arc<Node>, foldhash::fast::RandomState>;

/// One zone's complete data at one serial.
#[derive(Clone, Debug)]
pub struct Zone {
    origin: DomainName,
    origin_wire: Box<[u8]>,
    origin_labels: usize,
    soa: SoaParams,
    serial: Serial,
    negative_soa: Rrset,
    shards: Box<[Arc<Shard>]>,
    shard_hasher: foldhash::fast::FixedState,
    names: usize,
    /// RRsets held, kept as they are put so a metrics scrape need not walk the zone.
    rrsets: usize,
    delegations: usize,
}

impl Zone {
    /// A zone holding only its SOA record.
    pub fn new(origin: DomainName, soa: SoaParams, serial: Serial) -> Self {
        let origin_wire = origin.to_wire().into_boxed_slice();
        let origin_labels = origin.label_count();
        let hasher = foldhash::fast::RandomState::default();
        let shards = (0..SHARDS)
            .map(|_| Arc::new(Shard::with_hasher(hasher.clone())))
            .collect();
        let negative_soa = Self::negative_soa_rrset(&soa, serial);
        let mut zone = Self {
            origin,
            origin_wire,
            origin_labels,
            soa,
            serial,
            negative_soa,
            shards,
            shard_hasher: foldhash::fast::FixedState::with_seed(0x6464_6e73),
            names: 0,
            rrsets: 0,
            delegations: 0,
        };
        let apex = zone.origin_wire.clone();
        let soa_rrset = zone.soa_rrset();
        zone.put_rrset(&apex, Rtype::SOA, Some(soa_rrset));
        zone
    }

    fn negative_soa_rrset(soa: &SoaParams, serial: Serial) -> Rrset {
        // RFC 2308 §3: the TTL of the SOA in a negative answer is min(SOA TTL, SOA MINIMUM).
        let rdata = soa.rdata(serial);
        Rrset::new(
            Rtype::SOA,
            soa.ttl.min(soa.minimum),
            [rdata.as_slice()],
            false,
        )
    }

    fn soa_rrset(&self) -> Rrset {
        let rdata = self.soa.rdata(self.serial);
        Rrset::new(Rtype::SOA, self.soa.ttl, [rdata.as_slice()], false)
    }

    /// The apex SOA as one record, `TYPE CLASS TTL RDLENGTH RDATA` (transfers, NOTIFY).
    pub fn soa_record(&self) -> &[u8] {
        self.node(&self.origin_wire)
            .and_then(|n| n.rrset(Rtype::SOA))
            .and_then(|r| r.records().next())
            .unwrap_or_default()
    }

    /// The zone's origin.
    pub fn origin(&self) -> &DomainName {
        &self.origin
    }
    /// Lower-case wire form of the origin.
    pub fn origin_wire(&self) -> &[u8] {
        &self.origin_wire
    }
    /// Labels in the origin (not counting the root).
    pub fn origin_labels(&self) -> usize {
        self.origin_labels
    }
    /// Current serial.
    pub fn serial(&self) -> Serial {
        self.serial
    }
    /// SOA parameters.
    pub fn soa_params(&self) -> &SoaParams {
        &self.soa
    }
    /// The SOA RRset for the authority section of negative answers.
    pub fn negative_soa(&self) -> &Rrset {
        &self.negative_soa
    }
    /// Number of owner names (including empty non-terminals).
    pub fn name_count(&self) -> usize {
        self.names
    }
    /// Number of RRsets (the SOA included).
    pub fn rrset_count(&self) -> usize {
        self.rrsets
    }
    /// True when the zone has NS records below its apex (delegations).
    pub fn has_delegations(&self) -> bool {
        self.delegations > 0
    }

    fn shard_of(&self, key: &[u8]) -> usize {
        let mut h = self.shard_hasher.build_hasher();
        h.write(key);
        (h.finish() as usize) % SHARDS
    }

    /// The node at `key` (lower-case wire name), if the name exists.
    pub fn node(&self, key: &[u8]) -> Option<&Node> {
        self.shards[self.shard_of(key)].get(key).map(AsRef::as_ref)
    }

    /// True when `key` (lower-case wire name) is the origin or below it.
    pub fn contains(&self, key: &[u8]) -> bool {
        key.len() >= self.origin_wire.len()
            && key.ends_with(&self.origin_wire)
            && is_label_boundary(key, key.len() - self.origin_wire.len())
    }

    /// Sets new SOA parameters and serial, and rewrites the SOA records.
    pub fn set_soa(&mut self, soa: SoaParams, serial: Serial) {
        self.soa = soa;
        self.set_serial(serial);
    }

    /// Sets a new serial (after a change) and rewrites the SOA records.
    pub fn set_serial(&mut self, serial: Serial) {
        self.serial = serial;
        self.negative_soa = Self::negative_soa_rrset(&self.soa, serial);
        let apex = self.origin_wire.clone();
        let soa_rrset = self.soa_rrset();
        self.put_rrset(&apex, Rtype::SOA, Some(soa_rrset));
    }

    /// Applies RRset changes. Nodes and empty non-terminals appear and disappear as needed.
    pub fn apply(&mut self, change: RrsetChange) -> Result<(), SnapshotError> {
        if !valid_wire_name(&change.owner) {
            return Err(SnapshotError::BadOwner);
        }
        if !self.contains(&change.owner) {
            return Err(SnapshotError::OutOfZone {
                owner: wire_to_text(&change.owner),
                zone: self.origin.to_fqdn(),
            });
        }
        if let Some(r) = &change.rrset
            && r.rtype != change.rtype
        {
            return Err(SnapshotError::TypeMismatch);
        }
        self.put_rrset(&change.owner, change.rtype, change.rrset);
        Ok(())
    }

    // Nodes are changed in place (`Arc::make_mut`): a node or shard is copied only while a
    // published snapshot still shares it, so building a zone of a million names copies nothing.
    fn put_rrset(&mut self, owner: &[u8], rtype: Rtype, rrset: Option<Rrset>) {
        let shard_index = self.shard_of(owner);
        let is_apex = owner == &*self.origin_wire;
        let rrset = rrset.filter(|r| r.count > 0);
        let shard = Arc::make_mut(&mut self.shards[shard_index]);
        let adds = usize::from(rrset.is_some());
        let (existed, exists, had_ns, has_ns) = match shard.get_mut(owner) {
            Some(node) => {
                let node = Arc::make_mut(node);
                let had_ns = node.rrset(Rtype::NS).is_some();
                let before = node.rrsets.len();
                node.rrsets.retain(|r| r.rtype != rtype);
                self.rrsets -= before - node.rrsets.len();
                self.rrsets += adds;
                node.rrsets.extend(rrset);
                let (exists, has_ns) = (node.exists(), node.rrset(Rtype::NS).is_some());
                if !exists {
                    shard.remove(owner);
                }
                (true, exists, had_ns, has_ns)
            }
            None => match rrset {
                Some(r) => {
                    self.rrsets += 1;
                    let has_ns = r.rtype == Rtype::NS;
                    let node = Node {
                        rrsets: vec![r],
                        children: 0,
                    };
                    shard.insert(Arc::from(owner), Arc::new(node));
                    (false, true, false, has_ns)
                }
                None => (false, false, false, false),
            },
        };
        if !is_apex && had_ns != has_ns {
            if has_ns {
                self.delegations += 1;
            } else {
                self.delegations -= 1;
            }
        }
        if !is_apex && existed != exists {
            if exists {
                self.names += 1;
            } else {
                self.names -= 1;
            }
            self.adjust_parent(owner, exists);
        } else if is_apex && !existed && exists {
            self.names += 1;
        }
    }

    /// A node appeared (`added`) or disappeared below `owner`'s parent: keep its child count and,
    /// transitively, the existence of empty non-terminals right.
    fn adjust_parent(&mut self, owner: &[u8], added: bool) {
        let parent = &owner[1 + usize::from(owner[0])..];
        if !self.contains(parent) {
            return;
        }
        let shard_index = self.shard_of(parent);
        let shard = Arc::make_mut(&mut self.shards[shard_index]);
        let (existed, exists) = match shard.get_mut(parent) {
            Some(node) => {
                let node = Arc::make_mut(node);
                if added {
                    node.children += 1;
                } else {
                    node.children = node.children.saturating_sub(1);
                }
                let exists = node.exists();
                if !exists {
                    shard.remove(parent);
                }
                (true, exists)
            }
            None if added => {
                let node = Node {
                    rrsets: Vec::new(),
                    children: 1,
                };
                shard.insert(Arc::from(parent), Arc::new(node));
                (false, true)
            }
            None => (false, false),
        };
        let is_apex = parent == &*self.origin_wire;
        if !is_apex && existed != exists {
            if exists {
                self.names += 1;
            } else {
                self.names -= 1;
            }
            self.adjust_parent(parent, exists);
        }
    }

    /// Lays a view's own RRsets at `owner` (lower-case wire) over what the zone has there: each
    /// replaces the RRset of its type, and a CNAME stands alone on either side — the view's
    /// CNAME hides every default RRset at the name, and any view RRset hides a default CNAME
    /// (RFC 1034 §3.6.2: a CNAME owner has no other data). SOA and apex NS are never taken
    /// from a view.
    pub fn overlay(&mut self, owner: &[u8], rrsets: &[Rrset]) -> Result<(), SnapshotError> {
        if !valid_wire_name(owner) {
            return Err(SnapshotError::BadOwner);
        }
        if !self.contains(owner) {
            return Err(SnapshotError::OutOfZone {
                owner: wire_to_text(owner),
                zone: self.origin.to_fqdn(),
            });
        }
        let is_apex = owner == &*self.origin_wire;
        let own: Vec<&Rrset> = rrsets
            .iter()
            .filter(|r| r.count > 0)
            .filter(|r| !(r.rtype == Rtype::SOA || (is_apex && r.rtype == Rtype::NS)))
            .collect();
        if own.is_empty() {
            return Ok(());
        }
        let existing: Vec<Rtype> = self
            .node(owner)
            .map(|n| n.rrsets.iter().map(|r| r.rtype).collect())
            .unwrap_or_default();
        let view_cname = own.iter().any(|r| r.rtype == Rtype::CNAME);
        for rtype in existing {
            let hidden = if view_cname {
                rtype != Rtype::CNAME && !(is_apex && matches!(rtype, Rtype::SOA | Rtype::NS))
            } else {
                rtype == Rtype::CNAME
            };
            if hidden {
                self.put_rrset(owner, rtype, None);
            }
        }
        for r in own {
            self.put_rrset(owner, r.rtype, Some(r.clone()));
        }
        Ok(())
    }

    /// Every node with its owner (lower-case wire), in no particular order (zone transfers).
    pub fn nodes(&self) -> impl Iterator<Item = (&[u8], &Node)> {
        self.shards
            .iter()
            .flat_map(|s| s.iter().map(|(k, v)| (&**k, &**v)))
    }

    /// Every node with its owner (lower-case wire), in RFC 4034 §6.1 canonical order.
    pub fn nodes_sorted(&self) -> Vec<(&[u8], &Node)> {
        let mut all: Vec<(&[u8], &Node)> = self
            .shards
            .iter()
            .flat_map(|s| s.iter().map(|(k, v)| (&**k, &**v)))
            .collect();
        all.sort_by(|a, b| canonical_cmp(a.0, b.0));
        all
    }
}

/// The set of zones served, looked up by longest suffix, with the data of every split-horizon
/// view beside the default.
#[derive(Clone, Debug, Default)]
pub struct ZoneSet {
    zones: Vec<Arc<Zone>>,
    views: Arc<Views>,
}

/// The views of a [`ZoneSet`]: how a client is matched to one, and each view's zones.
///
/// A view's zone is the default zone with the view's own RRsets laid over it (see
/// [`Zone::overlay`]); a zone the view changes nothing in is the default's `Arc` itself, so a
/// view costs memory only for the shards its records fall in.
#[derive(Clone, Debug, Default)]
pub struct Views {
    matcher: Arc<ViewMatcher>,
    /// TSIG key names (lower-case wire form) that select a view for transfers, and the view.
    keys: Arc<[(Box<[u8]>, usize)]>,
    /// Per view, in the matcher's view order: the zones, in the default's order (so a zone
    /// index means the same zone in every view).
    sets: Vec<ZoneSet>,
}

impl Views {
    /// Views matched by `matcher` and chosen for transfers by `keys`, with no data of their
    /// own yet (each view serves the default until [`ZoneSet::with_view_zones`] says more).
    pub fn new(matcher: ViewMatcher, keys: Vec<(DomainName, usize)>, count: usize) -> Self {
        Self {
            matcher: Arc::new(matcher),
            keys: keys
                .into_iter()
                .map(|(k, v)| (k.to_wire().into_boxed_slice(), v))
                .collect(),
            sets: vec![ZoneSet::default(); count],
        }
    }
}

impl ZoneSet {
    /// Builds a set; deeper origins are tried first so a child zone wins over its parent.
    pub fn new(mut zones: Vec<Arc<Zone>>) -> Self {
        zones.sort_by_key(|z| std::cmp::Reverse(z.origin_labels));
        Self {
            zones,
            views: Arc::default(),
        }
    }

    /// The same zones with these views (each view's data starts as the default's).
    #[must_use]
    pub fn with_views(&self, views: Views) -> Self {
        let mut views = views;
        for set in &mut views.sets {
            *set = Self::new(self.zones.clone());
        }
        Self {
            zones: self.zones.clone(),
            views: Arc::new(views),
        }
    }

    /// Number of views (the default not counted).
    pub fn view_count(&self) -> usize {
        self.views.sets.len()
    }

    /// The data view `index` serves, or the default for an index out of range.
    pub fn view(&self, index: usize) -> &Self {
        self.views.sets.get(index).unwrap_or(self)
    }

    /// The view a client at `addr` is answered from: the first `[[view]]` whose prefixes
    /// match, else the default. One lookup in compiled tables; no allocation.
    pub fn for_client(&self, addr: std::net::IpAddr) -> &Self {
        match self.views.matcher.lookup(addr) {
            Some(i) => self.view(i),
            None => self,
        }
    }

    /// The index of the view a client at `addr` is answered from; `None`: the default.
    pub fn view_index_for(&self, addr: std::net::IpAddr) -> Option<usize> {
        self.views.matcher.lookup(addr)
    }

    /// The view whose `keys` list `key` (a TSIG key name), if any.
    pub fn view_of_key(&self, key: &DomainName) -> Option<usize> {
        let wire = key.to_wire();
        self.views
            .keys
            .iter()
            .find(|(k, _)| **k == *wire)
            .map(|(_, v)| *v)
    }

    /// The zone with this origin in view `view` (the default's when the view has nothing of
    /// its own there).
    pub fn view_zone(&self, view: usize, origin: &DomainName) -> Option<&Arc<Zone>> {
        self.view(view).get(origin)
    }

    /// A copy with `zone` replacing the default zone of its origin (or added) and
    /// `view_zones[i]` that zone in view `i` (`None`: the view serves the default's).
    #[must_use]
    pub fn with_view_zones(&self, zone: Arc<Zone>, view_zones: Vec<Option<Arc<Zone>>>) -> Self {
        let origin = zone.origin.clone();
        let mut next = self.with_zone(zone);
        let mut views = Views {
            matcher: Arc::clone(&self.views.matcher),
            keys: Arc::clone(&self.views.keys),
            sets: Vec::with_capacity(self.views.sets.len()),
        };
        for (i, old) in self.views.sets.iter().enumerate() {
            let own = view_zones.get(i).cloned().flatten();
            // Zones in the default's order: the same index names the same zone in every view.
            let zones = next
                .zones
                .iter()
                .map(|z| {
                    if z.origin == origin {
                        own.clone().unwrap_or_else(|| Arc::clone(z))
                    } else {
                        old.get(&z.origin).cloned().unwrap_or_else(|| Arc::clone(z))
                    }
                })
                .collect();
            views.sets.push(Self {
                zones,
                views: Arc::default(),
            });
        }
        next.views = Arc::new(views);
        next
    }

    /// The index in [`Self::zones`] of the zone that `qname` (lower-case wire) falls in.
    pub fn find_index(&self, qname: &[u8]) -> Option<usize> {
        self.zones.iter().position(|z| z.contains(qname))
    }

    /// The zone that `qname` (lower-case wire) falls in, if any.
    pub fn find(&self, qname: &[u8]) -> Option<&Arc<Zone>> {
        self.zones.iter().find(|z| z.contains(qname))
    }

    /// The zone with this origin.
    pub fn get(&self, origin: &DomainName) -> Option<&Arc<Zone>> {
        self.zones.iter().find(|z| &z.origin == origin)
    }

    /// All zones.
    pub fn zones(&self) -> &[Arc<Zone>] {
        &self.zones
    }

    /// A copy with `zone` replacing the zone of the same origin (or added); the views keep
    /// what they had (use [`Self::with_view_zones`] to change them too).
    #[must_use]
    pub fn with_zone(&self, zone: Arc<Zone>) -> Self {
        let mut zones: Vec<Arc<Zone>> = self
            .zones
            .iter()
            .filter(|z| z.origin != zone.origin)
            .cloned()
            .collect();
        zones.push(zone);
        let mut next = Self::new(zones);
        next.views = Arc::clone(&self.views);
        next
    }
}

/// True when `pos` is the start of a label in the uncompressed wire name `name`.
fn is_label_boundary(name: &[u8], pos: usize) -> bool {
    let mut at = 0usize;
    while at < name.len() {
        if at == pos {
            return true;
        }
        at += 1 + usize::from(name[at]);
    }
    at == pos
}

/// Length of the uncompressed wire name at the start of `wire`.
fn wire_name_len(wire: &[u8]) -> Option<usize> {
    let mut at = 0usize;
    loop {
        let len = usize::from(*wire.get(at)?);
        if len == 0 {
            return Some(at + 1);
        }
        if len > 63 || at + 1 + len > crate::name::MAX_WIRE_LEN {
            return None;
        }
        at += 1 + len;
    }
}

/// True for a well-formed uncompressed wire name.
pub fn valid_wire_name(name: &[u8]) -> bool {
    if name.is_empty() || name.len() > crate::name::MAX_WIRE_LEN {
        return false;
    }
    let mut at = 0usize;
    loop {
        let Some(&len) = name.get(at) else {
            return false;
        };
        if len == 0 {
            return at + 1 == name.len();
        }
        if len > 63 {
            return false;
        }
        at += 1 + usize::from(len);
    }
}

/// Labels of an uncompressed wire name, leftmost first.
fn wire_labels(name: &[u8]) -> Vec<&[u8]> {
    let mut labels = Vec::new();
    let mut at = 0usize;
    while let Some(&len) = name.get(at) {
        if len == 0 {
            break;
        }
        let end = (at + 1 + usize::from(len)).min(name.len());
        labels.push(&name[at + 1..end]);
        at = end;
    }
    labels
}

/// RFC 4034 §6.1 canonical name order for lower-case wire names: compare labels from the root.
pub fn canonical_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let la = wire_labels(a);
    let lb = wire_labels(b);
    la.iter().rev().cmp(lb.iter().rev())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    fn zone() -> Zone {
        Zone::new(
            name("dyn.example"),
            SoaParams {
                mname: name("ns1.dyn.example"),
                rname: name("hostmaster.dyn.example"),
                refresh: 3600,
                retry: 600,
                expire: 1_209_600,
                minimum: 300,
                ttl: 3600,
            },
            Serial(7),
        )
    }

    fn a(owner: &str, addr: [u8; 4]) -> RrsetChange {
        RrsetChange {
            owner: name(owner).to_wire().into(),
            rtype: Rtype::A,
            rrset: Some(Rrset::new(Rtype::A, 60, [addr.as_slice()], true)),
        }
    }

    fn remove(owner: &str, t: Rtype) -> RrsetChange {
        RrsetChange {
            owner: name(owner).to_wire().into(),
            rtype: t,
            rrset: None,
        }
    }

    #[test]
    fn soa_at_apex_and_negative_ttl() {
        let z = zone();
        let apex = z.node(z.origin_wire()).unwrap();
        let soa = apex.rrset(Rtype::SOA).unwrap();
        assert_eq!(soa.ttl(), 3600);
        assert_eq!(z.negative_soa().ttl(), 300);
        let rdata = soa.rdatas().next().unwrap();
        let serial_at = rdata.len() - 20;
        assert_eq!(&rdata[serial_at..serial_at + 4], &7u32.to_be_bytes());
    }

    #[test]
    fn empty_non_terminals_come_and_go() {
        let mut z = zone();
        z.apply(a("a.b.c.dyn.example", [192, 0, 2, 1])).unwrap();
        let b_c = name("b.c.dyn.example").to_wire();
        let c = name("c.dyn.example").to_wire();
        assert!(z.node(&b_c).unwrap().is_empty_non_terminal());
        assert!(z.node(&c).unwrap().is_empty_non_terminal());
        assert_eq!(z.name_count(), 4); // apex, c, b.c, a.b.c
        assert_eq!(z.rrset_count(), 2); // SOA, A
        z.apply(a("x.c.dyn.example", [192, 0, 2, 2])).unwrap();
        z.apply(a("x.c.dyn.example", [192, 0, 2, 3])).unwrap();
        assert_eq!(z.rrset_count(), 3, "replacing an RRset does not add one");
        z.apply(remove("a.b.c.dyn.example", Rtype::A)).unwrap();
        assert_eq!(z.rrset_count(), 2);
        assert!(z.node(&b_c).is_none());
        assert!(z.node(&c).is_some(), "x.c still below c");
        z.apply(remove("x.c.dyn.example", Rtype::A)).unwrap();
        assert!(z.node(&c).is_none());
        assert_eq!(z.name_count(), 1);
        assert_eq!(z.rrset_count(), 1);
    }

    #[test]
    fn published_copies_do_not_change() {
        let mut z = zone();
        z.apply(a("h.dyn.example", [192, 0, 2, 1])).unwrap();
        let published = z.clone();
        z.apply(a("h.dyn.example", [192, 0, 2, 9])).unwrap();
        let key = name("h.dyn.example").to_wire();
        let old = published.node(&key).unwrap().rrset(Rtype::A).unwrap();
        let new = z.node(&key).unwrap().rrset(Rtype::A).unwrap();
        assert_eq!(old.rdatas().next().unwrap(), &[192, 0, 2, 1]);
        assert_eq!(new.rdatas().next().unwrap(), &[192, 0, 2, 9]);
    }

    #[test]
    fn rejects_out_of_zone() {
        let mut z = zone();
        assert!(matches!(
            z.apply(a("h.other.example", [192, 0, 2, 1])),
            Err(SnapshotError::OutOfZone { .. })
        ));
        assert!(matches!(
            z.apply(a("xdyn.example", [192, 0, 2, 1])),
            Err(SnapshotError::OutOfZone { .. })
        ));
    }

    #[test]
    fn longest_suffix_wins() {
        let parent = Arc::new(zone());
        let child = Arc::new(Zone::new(
            name("sub.dyn.example"),
            parent.soa_params().clone(),
            Serial(1),
        ));
        let set = ZoneSet::new(vec![parent, child]);
        let q = name("h.sub.dyn.example").to_wire();
        assert_eq!(set.find(&q).unwrap().origin().as_str(), "sub.dyn.example");
        let q = name("h.dyn.example").to_wire();
        assert_eq!(set.find(&q).unwrap().origin().as_str(), "dyn.example");
        assert!(set.find(&name("example").to_wire()).is_none());
    }

    #[test]
    fn overlay_replaces_per_type_and_cname_stands_alone() {
        let mut z = zone();
        z.apply(a("files.dyn.example", [203, 0, 113, 10])).unwrap();
        let aaaa = Rrset::new(
            Rtype::AAAA,
            60,
            [[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1].as_slice()],
            true,
        );
        z.apply(RrsetChange {
            owner: name("files.dyn.example").to_wire().into(),
            rtype: Rtype::AAAA,
            rrset: Some(aaaa),
        })
        .unwrap();
        let key = name("files.dyn.example").to_wire();
        let lan_a = Rrset::new(Rtype::A, 60, [[10, 0, 0, 10].as_slice()], true);
        let mut lan = z.clone();
        lan.overlay(&key, std::slice::from_ref(&lan_a)).unwrap();
        let node = lan.node(&key).unwrap();
        assert_eq!(
            node.rrset(Rtype::A).unwrap().rdatas().next().unwrap(),
            &[10, 0, 0, 10]
        );
        assert!(
            node.rrset(Rtype::AAAA).is_some(),
            "types the view does not set show through"
        );
        assert_eq!(
            z.node(&key)
                .unwrap()
                .rrset(Rtype::A)
                .unwrap()
                .rdatas()
                .next()
                .unwrap(),
            &[203, 0, 113, 10],
            "the default is untouched"
        );
        let target = name("nas.dyn.example").to_wire();
        let cname = Rrset::new(Rtype::CNAME, 60, [target.as_slice()], true);
        let mut lan = z.clone();
        lan.overlay(&key, std::slice::from_ref(&cname)).unwrap();
        let types: Vec<Rtype> = lan
            .node(&key)
            .unwrap()
            .rrsets()
            .iter()
            .map(Rrset::rtype)
            .collect();
        assert_eq!(
            types,
            [Rtype::CNAME],
            "a view CNAME hides the default's records"
        );
        assert_eq!(lan.rrset_count(), z.rrset_count() - 1);
        // A view address where the default has a CNAME hides the CNAME.
        let mut z2 = zone();
        z2.apply(RrsetChange {
            owner: key.clone().into(),
            rtype: Rtype::CNAME,
            rrset: Some(cname),
        })
        .unwrap();
        z2.overlay(&key, &[lan_a]).unwrap();
        let types: Vec<Rtype> = z2
            .node(&key)
            .unwrap()
            .rrsets()
            .iter()
            .map(Rrset::rtype)
            .collect();
        assert_eq!(types, [Rtype::A]);
    }

    #[test]
    fn views_pick_their_zones_by_client_and_key() {
        use crate::view::ViewMatcher;
        let base = zone();
        let nets: Vec<ipnet::IpNet> = vec!["127.0.0.2/32".parse().unwrap()];
        let matcher = ViewMatcher::new([nets.as_slice()]);
        let key = name("lan-xfr");
        let set = ZoneSet::new(vec![Arc::new(base.clone())]).with_views(Views::new(
            matcher,
            vec![(key.clone(), 0)],
            1,
        ));
        let mut lan = base.clone();
        lan.apply(a("h.dyn.example", [10, 0, 0, 1])).unwrap();
        let set = set.with_view_zones(Arc::new(base), vec![Some(Arc::new(lan))]);
        let h = name("h.dyn.example").to_wire();
        let lookup = |s: &ZoneSet| s.find(&h).and_then(|z| z.node(&h)).is_some();
        assert!(lookup(set.for_client("127.0.0.2".parse().unwrap())));
        assert!(!lookup(set.for_client("127.0.0.1".parse().unwrap())));
        assert_eq!(set.view_of_key(&key), Some(0));
        assert_eq!(set.view_of_key(&name("xfr")), None);
        // Replacing the default zone alone keeps the view's.
        let next = set.with_zone(Arc::new(zone()));
        assert!(lookup(next.view(0)));
    }

    #[test]
    fn canonical_order() {
        let mut names: Vec<Vec<u8>> = ["z.example", "example", "a.example", "yljkjljk.a.example"]
            .iter()
            .map(|n| name(n).to_wire())
            .collect();
        names.sort_by(|a, b| canonical_cmp(a, b));
        let text: Vec<String> = names.iter().map(|n| wire_to_text(n)).collect();
        assert_eq!(
            text,
            [
                "example.",
                "a.example.",
                "yljkjljk.a.example.",
                "z.example."
            ]
        );
    }
}
