//! The requests the fast path defers: TSIG-signed messages, zone transfers (AXFR, IXFR) and
//! RFC 2136 UPDATE. These may allocate, stream many messages and wait for a commit.
//!
//! Every request is first checked for a TSIG (RFC 8945): an unknown key, a bad MAC or a time
//! outside the fudge is answered with NOTAUTH and the TSIG error, and nothing else is done.
//! A verified request is handled without its TSIG record and its answer, or each message of
//! a transfer, is signed with the same key.
//!
//! - AXFR (RFC 5936) over TCP only, as many messages as the zone needs, each with the
//!   question, owners compressed against it, SOA first and last; allowed by the zone's
//!   `allow_transfer` list, REFUSED otherwise.
//! - IXFR (RFC 1995) from the [`ZoneHistory`]: the single current SOA when the client is up to
//!   date, the difference sequences when its serial is known, the whole zone (AXFR form)
//!   otherwise. Over UDP an answer that does not fit in one message is sent empty with TC=1.
//! - UPDATE (RFC 2136): the zone's `[[zone.update]]` rule chosen by key and source, then the
//!   [`Updater`] (the write path) checks prerequisites and commits; the answer is sent after
//!   the commit.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use ddns_core::journal::{JournalEntry, ZoneHistory};
use ddns_core::snapshot::{Rrset, Zone, ZoneSet};
use ddns_core::{CLASS_IN, DomainName, Rcode, RecordSet, Rtype, Serial};

use crate::access::{UpdateRule, ZoneAccess, requester};
use crate::answer::{respond, write_header};
use crate::metrics::DnsMetrics;
use crate::query::{self, HEADER_LEN, OPCODE_QUERY, OPCODE_UPDATE, Query, Rejection};
use crate::request::{Outcome, Request, Transport};
use crate::tsig::{self, KeyRing, StreamSigner, Verified};

/// Fudge of the TSIGs we sign, seconds (RFC 8945 §10 recommends 300).
const FUDGE: u16 = 300;
/// A transfer message is sent once it is this large (BIND and Knot use 16–64 KiB).
const XFR_MESSAGE: usize = 16 * 1024;
/// Room kept for the OPT record a message still gets.
const OPT_ROOM: usize = 11;
/// Room kept for a TSIG record: owner and algorithm names, fixed fields, a 64-octet MAC.
const TSIG_ROOM: usize = 255 + 13 + 16 + 64;

/// Where the messages of one answer go: a UDP datagram, or length-prefixed TCP frames.
pub trait MessageSink: Send {
    /// Sends one complete DNS message.
    fn send(&mut self, message: &[u8]) -> impl Future<Output = io::Result<()>> + Send;
}

/// One RFC 2136 request the service has authorised, for the write path.
#[derive(Debug)]
pub struct UpdateRequest<'a> {
    /// The message, without the TSIG record it was signed with.
    pub message: &'a [u8],
    /// The rule that lets the requester in: only names and types it permits may change.
    pub rule: &'a UpdateRule,
    /// Who asked, for the history (`key:NAME` or `subnet:ADDRESS`).
    pub requester: String,
    /// From where.
    pub peer: SocketAddr,
}

/// The write path as the DNS listeners see it: checks prerequisites, applies an UPDATE in one
/// transaction and returns the RCODE to answer once it is durable.
pub trait Updater: Send + Sync {
    /// Applies one update.
    fn update<'a>(
        &'a self,
        request: UpdateRequest<'a>,
    ) -> Pin<Box<dyn Future<Output = Rcode> + Send + 'a>>;
}

/// What the listeners hand deferred requests to.
pub struct DnsService {
    keys: KeyRing,
    zones: Vec<(DomainName, ZoneAccess)>,
    history: Arc<dyn ZoneHistory>,
    updater: Option<Arc<dyn Updater>>,
    metrics: Option<Arc<DnsMetrics>>,
}

impl std::fmt::Debug for DnsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsService")
            .field("keys", &self.keys)
            .field("zones", &self.zones)
            .field("updates", &self.updater.is_some())
            .finish_non_exhaustive()
    }
}

impl DnsService {
    /// A service with these keys and per-zone rules; IXFR answers from `history`, UPDATE goes
    /// to `updater` (without one, UPDATE is NOTIMP).
    pub fn new(
        keys: KeyRing,
        zones: Vec<(DomainName, ZoneAccess)>,
        history: Arc<dyn ZoneHistory>,
        updater: Option<Arc<dyn Updater>>,
    ) -> Self {
        Self {
            keys,
            zones,
            history,
            updater,
            metrics: None,
        }
    }

    /// The same service counting transfers and NOTIFY in `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Arc<DnsMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Where transfers and NOTIFY are counted, when metrics are on.
    pub fn metrics(&self) -> Option<&Arc<DnsMetrics>> {
        self.metrics.as_ref()
    }

    /// A service that knows no keys and allows nothing beyond queries.
    pub fn queries_only() -> Self {
        Self::new(
            KeyRing::new(),
            Vec::new(),
            Arc::new(ddns_core::journal::NoHistory),
            None,
        )
    }

    /// The keys, for NOTIFY.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// The configured zones and their rules.
    pub fn zone_access(&self) -> &[(DomainName, ZoneAccess)] {
        &self.zones
    }

    fn access(&self, origin: &DomainName) -> Option<&ZoneAccess> {
        self.zones.iter().find(|(o, _)| o == origin).map(|(_, a)| a)
    }

    /// Handles a request [`respond`] deferred, sending its answer (or answers) to `sink`.
    pub async fn handle<S: MessageSink>(
        &self,
        zones: &ZoneSet,
        request: &Request<'_>,
        max_udp_payload: u16,
        sink: &mut S,
    ) -> io::Result<Outcome> {
        let now = unix_now();
        let message = request.message;
        let signed = match tsig::verify_request(&self.keys, message, now) {
            Verified::Unsigned => None,
            Verified::Valid(signed) => Some(signed),
            Verified::Failed(failure) => {
                tracing::debug!(peer = %request.peer, error = %failure.error, "TSIG check failed");
                let mut out = error_header(message, failure.rcode);
                if let Err(e) = failure.append_error_tsig(&mut out, now) {
                    tracing::debug!(error = %e, "cannot sign the TSIG error answer");
                }
                sink.send(&out).await?;
                return Ok(Outcome::reply(
                    opcode_of(message),
                    failure.rcode,
                    &out,
                    false,
                ));
            }
        };
        let stripped;
        let body: &[u8] = match &signed {
            Some(s) => {
                stripped = without_tsig(message, s.message_len);
                &stripped
            }
            None => message,
        };
        let mut ctx = Answering {
            signer: signed.as_ref().map(|s| StreamSigner::new(s.key, &s.mac)),
            now,
        };
        let query = match query::parse(body) {
            Ok(q) => q,
            Err(Rejection::Drop) => return Ok(Outcome::dropped()),
            Err(Rejection::FormErr { .. }) => {
                let mut out = error_header(body, Rcode::FORMERR);
                ctx.sign(&mut out);
                sink.send(&out).await?;
                return Ok(Outcome::reply(opcode_of(body), Rcode::FORMERR, &out, false));
            }
        };
        let key_name = signed.as_ref().map(|s| s.key.domain().clone());
        // Split horizon: a view's TSIG key picks that view (a secondary of the view), else the
        // source address does, as for queries. UPDATE always writes the default data.
        let view = key_name
            .as_ref()
            .and_then(|k| zones.view_of_key(k))
            .or_else(|| zones.view_index_for(request.peer.ip()));
        let default_zones = zones;
        let zones = view.map_or(zones, |v| zones.view(v));
        if query.opcode == OPCODE_UPDATE {
            let code = self
                .update(default_zones, request, body, &query, key_name.as_ref())
                .await;
            if let Some(m) = &self.metrics {
                m.update_answered(code);
            }
            let mut out = Vec::with_capacity(HEADER_LEN + query.question.len() + 128);
            write_header(
                &mut out,
                query.id,
                query.opcode,
                false,
                false,
                query.question,
            );
            out[3] |= code.low4();
            ctx.sign(&mut out);
            sink.send(&out).await?;
            return Ok(Outcome::reply(query.opcode, code, &out, false));
        }
        if query.opcode == OPCODE_QUERY && matches!(query.qtype, Rtype::AXFR | Rtype::IXFR) {
            return self
                .transfer(
                    zones,
                    view.is_some(),
                    request,
                    body,
                    &query,
                    key_name.as_ref(),
                    &mut ctx,
                    max_udp_payload,
                    sink,
                )
                .await;
        }
        // Any other signed message: the ordinary answer, signed.
        let plain = Request {
            message: body,
            ..*request
        };
        let mut out = Vec::with_capacity(1500);
        let outcome = respond(
            zones,
            &plain,
            max_udp_payload.saturating_sub(200).max(512),
            &mut out,
        );
        if !outcome.replies() {
            return Ok(outcome);
        }
        ctx.sign(&mut out);
        sink.send(&out).await?;
        Ok(Outcome {
            len: out.len(),
            ..outcome
        })
    }

    async fn update(
        &self,
        zones: &ZoneSet,
        request: &Request<'_>,
        body: &[u8],
        query: &Query<'_>,
        key: Option<&DomainName>,
    ) -> Rcode {
        // RFC 2136 §3.1.1: the zone section names the zone; not ours → NOTAUTH.
        let Some(zone) = zones
            .find(query.qname())
            .filter(|z| z.origin_wire() == query.qname() && query.qclass == CLASS_IN)
        else {
            return Rcode::NOTAUTH;
        };
        let (Some(updater), Some(access)) = (&self.updater, self.access(zone.origin())) else {
            return Rcode::REFUSED;
        };
        let Some(rule) = access.update_rule(request.peer.ip(), key) else {
            tracing::info!(peer = %request.peer, key = ?key.map(DomainName::as_str), zone = %zone.origin(), "UPDATE refused: no [[zone.update]] rule matches");
            return Rcode::REFUSED;
        };
        let update = UpdateRequest {
            message: body,
            rule,
            requester: requester(request.peer.ip(), key),
            peer: request.peer,
        };
        updater.update(update).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn transfer<S: MessageSink>(
        &self,
        zones: &ZoneSet,
        in_view: bool,
        request: &Request<'_>,
        body: &[u8],
        query: &Query<'_>,
        key: Option<&DomainName>,
        ctx: &mut Answering<'_>,
        max_udp_payload: u16,
        sink: &mut S,
    ) -> io::Result<Outcome> {
        let refuse = |code: Rcode, ctx: &mut Answering<'_>| {
            let mut out = Vec::with_capacity(HEADER_LEN + query.question.len() + 128);
            write_header(
                &mut out,
                query.id,
                query.opcode,
                query.recursion_desired,
                false,
                query.question,
            );
            out[3] |= code.low4();
            ctx.sign(&mut out);
            out
        };
        let zone_index = zones.find_index(query.qname()).filter(|&i| {
            zones.zones()[i].origin_wire() == query.qname() && query.qclass == CLASS_IN
        });
        let allowed = zone_index.and_then(|i| {
            let zone = &zones.zones()[i];
            self.access(zone.origin())
                .filter(|a| a.may_transfer(request.peer.ip(), key))
                .map(|_| i)
        });
        let Some(zone_index) = allowed else {
            // Not the apex of a zone of ours, or not allowed: REFUSED, as Knot and BIND do.
            tracing::info!(peer = %request.peer, key = ?key.map(DomainName::as_str), qtype = %query.qtype, "zone transfer refused");
            let out = refuse(Rcode::REFUSED, ctx);
            sink.send(&out).await?;
            return Ok(Outcome::reply(query.opcode, Rcode::REFUSED, &out, false));
        };
        let zone = &zones.zones()[zone_index];
        let plan =
            if query.qtype == Rtype::AXFR {
                if request.transport == Transport::Udp {
                    // RFC 5936 §4.2: AXFR is not defined over UDP.
                    let out = refuse(Rcode::NOTIMP, ctx);
                    sink.send(&out).await?;
                    return Ok(Outcome::reply(query.opcode, Rcode::NOTIMP, &out, false)
                        .in_zone(zone_index));
                }
                Plan::Full
            } else {
                let Some(client) = query::ixfr_serial(body, query) else {
                    // RFC 1995 §3: the authority section holds the client's SOA.
                    let out = refuse(Rcode::FORMERR, ctx);
                    sink.send(&out).await?;
                    return Ok(Outcome::reply(query.opcode, Rcode::FORMERR, &out, false)
                        .in_zone(zone_index));
                };
                let client = Serial(client);
                if !zone.serial().is_greater_than(client) {
                    Plan::UpToDate
                } else if in_view {
                    // The journal holds the default's deltas and each view's own, not the net
                    // change of a view's content: a view is sent whole (RFC 1995 §4 allows
                    // answering IXFR with the full zone).
                    Plan::Full
                } else {
                    match self.history.steps(zone.origin(), client, zone.serial()) {
                        Some(steps) => Plan::Steps(steps),
                        None => Plan::Full,
                    }
                }
            };
        let limit = match request.transport {
            Transport::Tcp => usize::from(u16::MAX),
            Transport::Udp => {
                let payload = query
                    .edns
                    .map_or(512, |e| e.payload.min(max_udp_payload).max(512));
                usize::from(payload)
            }
        };
        let trailer =
            query.edns.map_or(0, |_| OPT_ROOM) + ctx.signer.as_ref().map_or(0, |_| TSIG_ROOM);
        let full = matches!(plan, Plan::Full);
        let mut writer = XfrWriter::new(query, request.transport, limit.saturating_sub(trailer));
        let sent = writer.stream(zone, &plan, ctx, sink).await?;
        if let Some(m) = &self.metrics {
            m.transfer_served(full);
        }
        Ok(Outcome {
            qtype: Some(query.qtype),
            ..Outcome::reply(query.opcode, Rcode::NOERROR, &[], sent.truncated)
                .with_len(sent.bytes)
                .in_zone(zone_index)
        })
    }
}

/// What a transfer sends.
enum Plan {
    /// The client has the current serial: one SOA.
    UpToDate,
    /// The whole zone.
    Full,
    /// The difference sequences of these steps.
    Steps(Vec<Arc<JournalEntry>>),
}

/// Signing state of one answer: the first message is signed as a response to the request
/// (its MAC digested), the next ones as a stream (RFC 8945 §5.3.1).
struct Answering<'k> {
    signer: Option<StreamSigner<'k>>,
    now: u64,
}

impl Answering<'_> {
    /// Signs the next message of the answer, if the request was signed.
    fn sign(&mut self, message: &mut Vec<u8>) {
        if let Some(signer) = &mut self.signer
            && let Err(e) = signer.sign(message, self.now, FUDGE)
        {
            tracing::warn!(error = %e, "cannot sign the answer");
        }
    }
}

/// Totals of a sent transfer.
struct Sent {
    bytes: usize,
    truncated: bool,
}

/// Writes transfer messages: header and question, records with owners compressed against the
/// question (every owner is at or below the zone apex, which the question names).
struct XfrWriter<'q> {
    query: &'q Query<'q>,
    transport: Transport,
    limit: usize,
    out: Vec<u8>,
    count: u16,
    sent: Sent,
}

impl<'q> XfrWriter<'q> {
    fn new(query: &'q Query<'q>, transport: Transport, limit: usize) -> Self {
        let mut writer = Self {
            query,
            transport,
            limit,
            out: Vec::with_capacity(XFR_MESSAGE + 1024),
            count: 0,
            sent: Sent {
                bytes: 0,
                truncated: false,
            },
        };
        writer.begin();
        writer
    }

    fn begin(&mut self) {
        self.out.clear();
        write_header(
            &mut self.out,
            self.query.id,
            self.query.opcode,
            self.query.recursion_desired,
            false,
            self.query.question,
        );
        self.out[2] |= 0x04; // AA
        self.count = 0;
    }

    async fn stream<S: MessageSink>(
        &mut self,
        zone: &Zone,
        plan: &Plan,
        ctx: &mut Answering<'_>,
        sink: &mut S,
    ) -> io::Result<Sent> {
        let origin = zone.origin_wire();
        let soa = zone.soa_record();
        let fits = match plan {
            Plan::UpToDate => self.record(origin, origin, soa, ctx, sink).await?,
            Plan::Full => {
                let mut ok = self.record(origin, origin, soa, ctx, sink).await?;
                for (owner, node) in zone.nodes() {
                    for rrset in node.rrsets() {
                        if owner == origin && rrset.rtype() == Rtype::SOA {
                            continue;
                        }
                        for record in rrset.records() {
                            ok = ok && self.record(origin, owner, record, ctx, sink).await?;
                        }
                    }
                }
                ok && self.record(origin, origin, soa, ctx, sink).await?
            }
            Plan::Steps(steps) => {
                let mut ok = self.record(origin, origin, soa, ctx, sink).await?;
                for step in steps {
                    let before = record(Rtype::SOA, step.soa_before.ttl, &step.soa_before.rdata);
                    let after = record(Rtype::SOA, step.soa_after.ttl, &step.soa_after.rdata);
                    let (removed, added) = differences(step);
                    ok = ok && self.record(origin, origin, &before, ctx, sink).await?;
                    for (owner, record) in &removed {
                        ok = ok && self.record(origin, owner, record, ctx, sink).await?;
                    }
                    ok = ok && self.record(origin, origin, &after, ctx, sink).await?;
                    for (owner, record) in &added {
                        ok = ok && self.record(origin, owner, record, ctx, sink).await?;
                    }
                }
                ok && self.record(origin, origin, soa, ctx, sink).await?
            }
        };
        if !fits {
            // UDP: RFC 1995 §2 — the answer does not fit, the client retries over TCP.
            self.begin();
            self.out[2] |= 0x02;
            self.sent.truncated = true;
        }
        self.flush(ctx, sink).await?;
        Ok(Sent {
            bytes: self.sent.bytes,
            truncated: self.sent.truncated,
        })
    }

    /// Adds one record (`TYPE CLASS TTL RDLENGTH RDATA`) owned by `owner`; false when a UDP
    /// answer overflowed.
    async fn record<S: MessageSink>(
        &mut self,
        origin: &[u8],
        owner: &[u8],
        record: &[u8],
        ctx: &mut Answering<'_>,
        sink: &mut S,
    ) -> io::Result<bool> {
        let prefix = &owner[..owner.len().saturating_sub(origin.len())];
        let size = prefix.len() + 2 + record.len();
        if self.out.len() + size > self.limit {
            if self.transport == Transport::Udp {
                return Ok(false);
            }
            self.flush(ctx, sink).await?;
        }
        self.out.extend_from_slice(prefix);
        self.out
            .extend_from_slice(&(0xc000u16 | HEADER_LEN as u16).to_be_bytes());
        self.out.extend_from_slice(record);
        self.count += 1;
        if self.transport == Transport::Tcp && self.out.len() >= XFR_MESSAGE {
            self.flush(ctx, sink).await?;
        }
        Ok(true)
    }

    async fn flush<S: MessageSink>(
        &mut self,
        ctx: &mut Answering<'_>,
        sink: &mut S,
    ) -> io::Result<()> {
        if self.count == 0 && !self.sent.truncated && self.sent.bytes > 0 {
            return Ok(());
        }
        self.out[6..8].copy_from_slice(&self.count.to_be_bytes());
        if let Some(edns) = self.query.edns {
            // RFC 6891 §7: a request with OPT gets OPT in the response.
            self.out.extend_from_slice(&[0, 0, 41]);
            self.out.extend_from_slice(&1232u16.to_be_bytes());
            self.out
                .extend_from_slice(&[0, 0, if edns.dnssec_ok { 0x80 } else { 0 }, 0, 0, 0]);
            self.out[10..12].copy_from_slice(&1u16.to_be_bytes());
        }
        ctx.sign(&mut self.out);
        sink.send(&self.out).await?;
        self.sent.bytes += self.out.len();
        self.begin();
        Ok(())
    }
}

/// One record, `TYPE CLASS TTL RDLENGTH RDATA`, encoded as the snapshot encodes its RRsets.
fn record(rtype: Rtype, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    Rrset::new(rtype, ttl, [rdata], false).wire().to_vec()
}

/// A record with its owner: (owner wire, `TYPE CLASS TTL RDLENGTH RDATA`).
type OwnedRecord = (Vec<u8>, Vec<u8>);

/// The records one step removed and added, each as (owner wire, record).
///
/// An RRset whose TTL changed is removed and added whole, since IXFR carries TTLs per record.
fn differences(step: &JournalEntry) -> (Vec<OwnedRecord>, Vec<OwnedRecord>) {
    let mut removed = Vec::new();
    let mut added = Vec::new();
    // Deltas of views are not the default's content (a view's transfer is always whole).
    for delta in step.deltas.iter().filter(|d| d.view.is_none()) {
        let owner = delta.owner.to_wire();
        let same_ttl = matches!((&delta.old, &delta.new), (Some(o), Some(n)) if o.ttl() == n.ttl());
        let keep = |set: &RecordSet, other: Option<&RecordSet>| -> Vec<Vec<u8>> {
            set.rdatas()
                .iter()
                .filter(|r| !(same_ttl && other.is_some_and(|o| o.rdatas().contains(r))))
                .map(|r| record(set.rtype(), set.ttl(), r.as_wire()))
                .collect()
        };
        if let Some(old) = &delta.old {
            removed.extend(
                keep(old, delta.new.as_ref())
                    .into_iter()
                    .map(|r| (owner.clone(), r)),
            );
        }
        if let Some(new) = &delta.new {
            added.extend(
                keep(new, delta.old.as_ref())
                    .into_iter()
                    .map(|r| (owner.clone(), r)),
            );
        }
    }
    (removed, added)
}

/// The message without its TSIG record, ARCOUNT lowered to match.
fn without_tsig(message: &[u8], message_len: usize) -> Vec<u8> {
    let mut body = message[..message_len.min(message.len())].to_vec();
    if body.len() >= HEADER_LEN {
        let arcount = u16::from_be_bytes([body[10], body[11]]).saturating_sub(1);
        body[10..12].copy_from_slice(&arcount.to_be_bytes());
    }
    body
}

/// A bare answer to `message` with `code`: the header and, when it can be read, the question.
fn error_header(message: &[u8], code: Rcode) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 300);
    let id = message
        .get(..2)
        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    let opcode = opcode_of(message);
    let rd = message.get(2).is_some_and(|f| f & 1 != 0);
    let question = query::question_of(message).unwrap_or(&[]);
    write_header(&mut out, id, opcode, rd, false, question);
    out[3] |= code.low4();
    out
}

fn opcode_of(message: &[u8]) -> u8 {
    message.get(2).map_or(0, |f| (f >> 3) & 0x0f)
}

/// Seconds since the epoch, for TSIG times.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
