//! Authoritative answers, written straight into a wire buffer from a zone snapshot.
//!
//! One function, [`respond`], turns a [`Request`] into a response packet and an [`Outcome`]
//! saying what it did. It is pure (no I/O, no locks, no allocation besides the output buffer
//! growing) so the listeners stay trivial and the behaviour can be tested and fuzzed packet
//! in, packet out.
//!
//! Behaviour follows what BIND and Knot do for an authoritative-only server:
//! - AA on answers from our zones; REFUSED without AA for names outside them (no recursion);
//! - NXDOMAIN vs NODATA told apart exactly (empty non-terminals exist, RFC 8020), both with the
//!   zone's SOA in the authority section at TTL min(SOA TTL, MINIMUM) (RFC 2308 §3);
//! - CNAME chains followed inside the zone (RFC 1034 §4.3.2), RCODE of the last name (RFC 6604);
//! - wildcards synthesised from the closest encloser (RFC 4592 §3.3.1);
//! - referrals with glue below delegations; glue for NS, MX and SRV targets in the zone;
//! - the question echoed as received, answers owned by a pointer to it, so the query's case is
//!   kept (RFC 4343 §4.1);
//! - EDNS(0): OPT echoed with our payload size, BADVERS for versions above 0, DO copied
//!   (RFC 6891, RFC 3225); UDP answers that do not fit are sent empty with TC=1 (RFC 2181 §9);
//! - ANY over UDP answers one RRset (RFC 8482 §4.1); over TCP, all of them; ANY at a CNAME
//!   owner is the CNAME alone (RFC 1034 §4.3.2 step 3a);
//! - split horizon: the data comes from the view the client's source address falls in
//!   ([`ZoneSet::for_client`], a prefix lookup), else from the default.

use ddns_core::snapshot::{Node, Rrset, Zone, ZoneSet};
use ddns_core::{CLASS_IN, Rcode, Rtype};

use crate::query::{self, Edns, HEADER_LEN, OPCODE_QUERY, OPCODE_UPDATE, Query, Rejection};
use crate::request::{Outcome, Request, Transport};

/// Response codes used here.
mod rcode {
    use ddns_core::Rcode;
    pub(super) const NOERROR: Rcode = Rcode::NOERROR;
    pub(super) const FORMERR: Rcode = Rcode::FORMERR;
    pub(super) const NXDOMAIN: Rcode = Rcode::NXDOMAIN;
    pub(super) const NOTIMP: Rcode = Rcode::NOTIMP;
    pub(super) const REFUSED: Rcode = Rcode::REFUSED;
    pub(super) const BADVERS: Rcode = Rcode::BADVERS;
}

const MAX_CNAME_CHAIN: usize = 8;
const OPT_LEN: usize = 11;

/// The answer could not be written within the size limit.
struct Full;

/// Answers one request from `zones` into `out` (cleared first), dispatching on OPCODE and
/// QTYPE: unsigned queries are answered here, without allocating or waiting; signed messages,
/// zone transfers and UPDATE come back as [`Action::Defer`](crate::Action::Defer) for the
/// [`DnsService`](crate::DnsService); NOTIFY gets NOTIMP (ddns is a primary only).
pub fn respond(
    zones: &ZoneSet,
    request: &Request<'_>,
    max_udp_payload: u16,
    out: &mut Vec<u8>,
) -> Outcome {
    out.clear();
    // Split horizon: the client's view, by one prefix lookup (the default without views).
    let zones = zones.for_client(request.peer.ip());
    let packet = request.message;
    let query = match query::parse(packet) {
        Ok(q) => q,
        Err(Rejection::Drop) => return Outcome::dropped(),
        Err(Rejection::FormErr {
            id,
            opcode,
            recursion_desired,
            question_len,
        }) => {
            let question =
                question_len.map_or(&[][..], |len| &packet[HEADER_LEN..HEADER_LEN + len]);
            write_header(out, id, opcode, recursion_desired, false, question);
            out[3] |= rcode::FORMERR.low4();
            return Outcome::reply(opcode, rcode::FORMERR, out, false);
        }
    };
    let limit = match (request.transport, query.edns) {
        (Transport::Tcp, _) => usize::from(u16::MAX),
        (Transport::Udp, None) => 512,
        (Transport::Udp, Some(e)) => usize::from(e.payload.min(max_udp_payload).max(512)),
    };
    let mut r = Response::begin(out, &query, limit);
    let opcode = query.opcode;
    let reply = |r: Response<'_>, code, aa| r.finish(code, aa, &query, max_udp_payload);

    if query.signed || opcode == OPCODE_UPDATE {
        // TSIG, and RFC 2136 updates, are the service's: they allocate and may wait.
        r.out.clear();
        return Outcome::deferred(opcode);
    }
    if opcode != OPCODE_QUERY {
        // NOTIFY is for secondaries; ddns is a primary only.
        return reply(r, rcode::NOTIMP, false);
    }
    if query.edns.is_some_and(|e| e.version > 0) {
        return reply(r, rcode::BADVERS, false);
    }
    match query.qtype {
        Rtype::OPT | Rtype::TSIG => return reply(r, rcode::FORMERR, false),
        Rtype::MAILA | Rtype::MAILB | Rtype::TKEY => return reply(r, rcode::NOTIMP, false),
        _ => {}
    }
    let Some(zone_index) = zones
        .find_index(query.qname())
        .filter(|_| query.qclass == CLASS_IN)
    else {
        return reply(r, rcode::REFUSED, false);
    };
    let zone = &zones.zones()[zone_index];
    if matches!(query.qtype, Rtype::AXFR | Rtype::IXFR) {
        // Zone transfers stream from the service, after its access check.
        r.out.clear();
        return Outcome::deferred(opcode);
    }
    let (code, authoritative) = match answer(zone, &query, request.transport, &mut r) {
        Ok(result) => result,
        Err(Full) => {
            r.truncate();
            (rcode::NOERROR, true)
        }
    };
    reply(r, code, authoritative).in_zone(zone_index)
}

/// How a record's owner name is written.
#[derive(Clone, Copy)]
enum Owner<'a> {
    /// A compression pointer to an offset in the message.
    Ptr(usize),
    /// An uncompressed wire name.
    Name(&'a [u8]),
}

struct Response<'o> {
    out: &'o mut Vec<u8>,
    limit: usize,
    question_end: usize,
    counts: [u16; 3],
    truncated: bool,
    wildcard: bool,
}

const ANSWER: usize = 0;
const AUTHORITY: usize = 1;
const ADDITIONAL: usize = 2;

impl<'o> Response<'o> {
    fn begin(out: &'o mut Vec<u8>, query: &Query<'_>, limit: usize) -> Self {
        write_header(
            out,
            query.id,
            query.opcode,
            query.recursion_desired,
            query.checking_disabled,
            query.question,
        );
        let reserve = if query.edns.is_some() { OPT_LEN } else { 0 };
        Self {
            question_end: out.len(),
            out,
            limit: limit.saturating_sub(reserve),
            counts: [0; 3],
            truncated: false,
            wildcard: false,
        }
    }

    /// Appends every record of `rrset` to `section`; returns where the first record starts.
    fn push(&mut self, section: usize, owner: Owner<'_>, rrset: &Rrset) -> Result<usize, Full> {
        let start = self.out.len();
        for record in rrset.records() {
            write_owner(self.out, owner);
            self.out.extend_from_slice(record);
        }
        if self.out.len() > self.limit {
            self.out.truncate(start);
            return Err(Full);
        }
        self.counts[section] += rrset.count();
        Ok(start)
    }

    /// Adds glue/additional data; silently stops when it does not fit (RFC 2181 §9).
    fn push_additional(&mut self, owner: Owner<'_>, rrset: &Rrset) {
        let _ = self.push(ADDITIONAL, owner, rrset);
    }

    fn truncate(&mut self) {
        self.out.truncate(self.question_end);
        self.counts = [0; 3];
        self.truncated = true;
    }

    fn finish(
        self,
        code: Rcode,
        authoritative: bool,
        query: &Query<'_>,
        max_udp_payload: u16,
    ) -> Outcome {
        let truncated = self.truncated;
        let wildcard = self.wildcard;
        let out = self.finish_with(code, authoritative, query.edns, max_udp_payload);
        let mut outcome = Outcome::reply(query.opcode, code, out, truncated);
        outcome.qtype = Some(query.qtype);
        outcome.wildcard = wildcard;
        outcome
    }

    fn finish_with(
        self,
        code: Rcode,
        authoritative: bool,
        edns: Option<Edns>,
        max_udp_payload: u16,
    ) -> &'o [u8] {
        let out = self.out;
        let mut additional = self.counts[ADDITIONAL];
        if let Some(edns) = edns {
            out.push(0); // root owner
            out.extend_from_slice(&Rtype::OPT.0.to_be_bytes());
            out.extend_from_slice(&max_udp_payload.to_be_bytes());
            out.push(code.high8()); // extended RCODE
            out.push(0); // version
            out.push(if edns.dnssec_ok { 0x80 } else { 0 });
            out.push(0);
            out.extend_from_slice(&0u16.to_be_bytes());
            additional += 1;
        }
        if authoritative {
            out[2] |= 0x04;
        }
        if self.truncated {
            out[2] |= 0x02;
        }
        out[3] |= code.low4();
        out[6..8].copy_from_slice(&self.counts[ANSWER].to_be_bytes());
        out[8..10].copy_from_slice(&self.counts[AUTHORITY].to_be_bytes());
        out[10..12].copy_from_slice(&additional.to_be_bytes());
        out
    }
}

pub(crate) fn write_header(
    out: &mut Vec<u8>,
    id: u16,
    opcode: u8,
    rd: bool,
    cd: bool,
    question: &[u8],
) {
    out.extend_from_slice(&id.to_be_bytes());
    out.push(0x80 | (opcode << 3) | u8::from(rd));
    out.push(if cd { 0x10 } else { 0 });
    let qdcount = u16::from(!question.is_empty());
    out.extend_from_slice(&qdcount.to_be_bytes());
    out.extend_from_slice(&[0; 6]);
    out.extend_from_slice(question);
}

fn write_owner(out: &mut Vec<u8>, owner: Owner<'_>) {
    match owner {
        Owner::Ptr(offset) => {
            let ptr = 0xc000 | (offset as u16 & 0x3fff);
            out.extend_from_slice(&ptr.to_be_bytes());
        }
        Owner::Name(name) => out.extend_from_slice(name),
    }
}

fn owner_len(owner: Owner<'_>) -> usize {
    match owner {
        Owner::Ptr(_) => 2,
        Owner::Name(n) => n.len(),
    }
}

/// A pointer to `offset` when it can be expressed, else the name itself.
fn owner_at(offset: usize, name: &[u8]) -> Owner<'_> {
    if offset < 0x4000 {
        Owner::Ptr(offset)
    } else {
        Owner::Name(name)
    }
}

/// What a name resolves to inside one zone.
enum Found<'z> {
    /// The name exists (possibly as an empty non-terminal).
    Node(&'z Node),
    /// The name does not exist but a wildcard covers it.
    Wildcard(&'z Node),
    /// The name does not exist.
    NxDomain,
}

fn find<'z>(zone: &'z Zone, name: &[u8]) -> Found<'z> {
    if let Some(node) = zone.node(name) {
        return Found::Node(node);
    }
    // RFC 4592 §3.3.1: find the closest encloser, then look for its wildcard child.
    let mut at = 0usize;
    while let Some(&len) = name.get(at) {
        if len == 0 {
            break;
        }
        at += 1 + usize::from(len);
        let ancestor = &name[at..];
        if !zone.contains(ancestor) {
            break;
        }
        if zone.node(ancestor).is_some() {
            let mut wildcard = [0u8; 257];
            wildcard[..2].copy_from_slice(b"\x01*");
            let len = 2 + ancestor.len();
            if len > 255 {
                return Found::NxDomain;
            }
            wildcard[2..len].copy_from_slice(ancestor);
            return match zone.node(&wildcard[..len]) {
                Some(node) => Found::Wildcard(node),
                None => Found::NxDomain,
            };
        }
    }
    Found::NxDomain
}

/// Returns (RCODE, AA).
fn answer(
    zone: &Zone,
    q: &Query<'_>,
    transport: Transport,
    r: &mut Response<'_>,
) -> Result<(Rcode, bool), Full> {
    let qname_ptr = Owner::Ptr(HEADER_LEN);
    let apex_skip = q.label_count() - zone.origin_labels();
    let apex = Owner::Ptr(HEADER_LEN + q.label_start(apex_skip));

    if zone.has_delegations() {
        for skip in (0..apex_skip).rev() {
            let Some(node) = zone.node(q.suffix(skip)) else {
                break;
            };
            if let Some(ns) = node.rrset(Rtype::NS) {
                // The parent side answers DS at the cut (RFC 4035 §3.1.4.1).
                if skip == 0 && q.qtype == Rtype::DS {
                    break;
                }
                let cut = Owner::Ptr(HEADER_LEN + q.label_start(skip));
                let start = r.push(AUTHORITY, cut, ns)?;
                add_target_glue(zone, r, ns, start, cut);
                return Ok((rcode::NOERROR, false));
            }
        }
    }

    let node = match find(zone, q.qname()) {
        Found::Node(node) => node,
        Found::Wildcard(node) => {
            r.wildcard = true;
            node
        }
        Found::NxDomain => {
            r.push(AUTHORITY, apex, zone.negative_soa())?;
            return Ok((rcode::NXDOMAIN, true));
        }
    };

    // RFC 1034 §4.3.2 step 3a: "If the data at the node is a CNAME, and QTYPE doesn't match
    // CNAME, copy the CNAME RR into the answer section ... and go back to step 1." ANY matches
    // CNAME, so ANY at an alias is answered with the CNAME alone, as BIND and Knot do.
    if q.qtype != Rtype::CNAME
        && q.qtype != Rtype::ANY
        && let Some(cname) = node.rrset(Rtype::CNAME)
    {
        return follow_cname(zone, q, r, cname, apex);
    }
    if q.qtype == Rtype::ANY && !node.rrsets().is_empty() {
        for rrset in node.rrsets() {
            r.push(ANSWER, qname_ptr, rrset)?;
            if transport == Transport::Udp {
                break;
            }
        }
        return Ok((rcode::NOERROR, true));
    }
    match node.rrset(q.qtype) {
        Some(rrset) => {
            let start = r.push(ANSWER, qname_ptr, rrset)?;
            add_target_glue(zone, r, rrset, start, qname_ptr);
        }
        None => {
            r.push(AUTHORITY, apex, zone.negative_soa())?;
        }
    }
    Ok((rcode::NOERROR, true))
}

/// Answers with the CNAME and whatever its target chain leads to within the zone.
fn follow_cname(
    zone: &Zone,
    q: &Query<'_>,
    r: &mut Response<'_>,
    first: &Rrset,
    apex: Owner<'_>,
) -> Result<(Rcode, bool), Full> {
    let mut cname = first;
    let mut owner = Owner::Ptr(HEADER_LEN);
    for _ in 0..MAX_CNAME_CHAIN {
        let start = r.push(ANSWER, owner, cname)?;
        let Some(target) = cname.rdatas().next() else {
            return Ok((rcode::NOERROR, true));
        };
        // The target's position in the message, for pointers to it.
        let target_offset = start + owner_len(owner) + 10;
        let target_owner = owner_at(target_offset, target);
        let mut lower = [0u8; 255];
        let Some(lower) = lowercase_name(target, &mut lower) else {
            return Ok((rcode::NOERROR, true));
        };
        if !zone.contains(lower) {
            return Ok((rcode::NOERROR, true));
        }
        let node = match find(zone, lower) {
            Found::Node(node) | Found::Wildcard(node) => node,
            Found::NxDomain => {
                r.push(AUTHORITY, apex, zone.negative_soa())?;
                return Ok((rcode::NXDOMAIN, true));
            }
        };
        if let Some(next) = node.rrset(Rtype::CNAME) {
            cname = next;
            owner = target_owner;
            continue;
        }
        match node.rrset(q.qtype) {
            Some(rrset) => {
                let start = r.push(ANSWER, target_owner, rrset)?;
                add_target_glue(zone, r, rrset, start, target_owner);
            }
            None => {
                r.push(AUTHORITY, apex, zone.negative_soa())?;
            }
        }
        return Ok((rcode::NOERROR, true));
    }
    Ok((rcode::NOERROR, true))
}

/// Adds A/AAAA of in-zone targets of NS, MX and SRV records (glue and additional data).
fn add_target_glue(
    zone: &Zone,
    r: &mut Response<'_>,
    rrset: &Rrset,
    start: usize,
    owner: Owner<'_>,
) {
    let name_at = match rrset.rtype() {
        Rtype::NS => 0,
        Rtype::MX => 2,
        Rtype::SRV => 6,
        _ => return,
    };
    let mut record_start = start;
    for record in rrset.records() {
        let rdata = &record[10..];
        let rdata_offset = record_start + owner_len(owner) + 10;
        record_start += owner_len(owner) + record.len();
        let Some(target) = rdata.get(name_at..) else {
            continue;
        };
        let mut buf = [0u8; 255];
        let Some(lower) = lowercase_name(target, &mut buf) else {
            continue;
        };
        if !zone.contains(lower) {
            continue;
        }
        let Some(node) = zone.node(lower) else {
            continue;
        };
        let glue_owner = owner_at(rdata_offset + name_at, &target[..lower.len()]);
        for t in [Rtype::A, Rtype::AAAA] {
            if let Some(addresses) = node.rrset(t) {
                r.push_additional(glue_owner, addresses);
            }
        }
    }
}

/// Lower-cases an uncompressed wire name at the start of `wire` into `buf`.
fn lowercase_name<'b>(wire: &[u8], buf: &'b mut [u8; 255]) -> Option<&'b [u8]> {
    let mut at = 0usize;
    loop {
        let len = usize::from(*wire.get(at)?);
        if len > 63 || at + 1 + len > 255 {
            return None;
        }
        if len == 0 {
            buf[at] = 0;
            return Some(&buf[..=at]);
        }
        buf[at] = len as u8;
        let label = wire.get(at + 1..at + 1 + len)?;
        for (dst, src) in buf[at + 1..at + 1 + len].iter_mut().zip(label) {
            *dst = src.to_ascii_lowercase();
        }
        at += 1 + len;
    }
}
