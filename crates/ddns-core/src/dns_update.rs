//! RFC 2136 DNS UPDATE without sockets: the message parsed into prerequisites and update
//! operations ([`parse_update`], with the §3.4.1 prescan), the prerequisites checked against a
//! zone snapshot ([`check_prerequisites`], §3.2), and the update section turned into the net
//! change of every RRset it touches ([`plan_updates`], §3.4.2).
//!
//! Pure: the caller (the DNS listener, then `ddns-zones`) verifies TSIG, applies its policy,
//! holds the write lock, and commits the planned RRsets in one transaction. Two decisions of
//! ours go beyond the RFC, both because the configuration owns these records:
//!
//! - the SOA is never changed through UPDATE: the server steps the serial itself on every
//!   commit (RFC 2136 §3.6 "the server shall increment it automatically"), so SOA RRs in the
//!   update section are ignored, as §3.4.2.2 already does for a serial that does not move;
//! - the apex NS RRset is never changed through UPDATE (§3.4.2.3 and §3.4.2.4 already keep
//!   it from being deleted); additions to it are ignored too.

use std::collections::BTreeMap;

use crate::name::{DomainName, MAX_WIRE_LEN, wire_to_text};
use crate::rdata::Rdata;
use crate::record::RecordSet;
use crate::rtype::{CLASS_ANY, CLASS_IN, CLASS_NONE, Rcode, Rtype};
use crate::snapshot::Zone;

const HEADER_LEN: usize = 12;
/// RFC 2136 §2.2: "The Opcode value that identifies an UPDATE message is five (5)."
const OPCODE_UPDATE: u16 = 5;
/// Compression pointers followed in one name at most; each must point further back anyway.
const MAX_POINTERS: usize = 127;
/// RFC 2181 §8: a TTL is "an unsigned number, with a minimum value of 0, and a maximum value of
/// 2147483647".
const MAX_WIRE_TTL: u32 = i32::MAX as u32;

/// An UPDATE request, parsed and prescanned: every name is in the zone, every RDATA valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateMessage {
    /// The message ID, to copy into the response.
    pub id: u16,
    /// The zone section's ZNAME.
    pub zone: DomainName,
    /// The prerequisite section: the value-independent ones in message order, then one
    /// [`Prerequisite::RrsetMatches`] per `<NAME,TYPE>` (§3.2.5 checks those last).
    pub prerequisites: Vec<Prerequisite>,
    /// The update section, in message order (§3.4.2: "processed in order").
    pub updates: Vec<UpdateOp>,
}

/// One prerequisite (RFC 2136 §2.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prerequisite {
    /// §2.4.1 "RRset exists (value independent). At least one RR with a specified NAME and
    /// TYPE ... must exist." (CLASS ANY, TYPE the type.)
    RrsetExists {
        /// NAME.
        name: DomainName,
        /// TYPE.
        rtype: Rtype,
    },
    /// §2.4.2 "RRset exists (value dependent). A set of RRs with a specified NAME and TYPE
    /// exists and has the same members with the same RDATAs as the RRset specified here."
    /// (CLASS the zone's; TTL ignored.)
    RrsetMatches {
        /// NAME.
        name: DomainName,
        /// TYPE.
        rtype: Rtype,
        /// The RRset's RDATAs, sorted and without duplicates.
        rdatas: Vec<Rdata>,
    },
    /// §2.4.3 "RRset does not exist." (CLASS NONE, TYPE the type.)
    RrsetAbsent {
        /// NAME.
        name: DomainName,
        /// TYPE.
        rtype: Rtype,
    },
    /// §2.4.4 "Name is in use ... NOT satisfied by empty nonterminals." (CLASS ANY, TYPE ANY.)
    NameInUse {
        /// NAME.
        name: DomainName,
    },
    /// §2.4.5 "Name is not in use ... IS satisfied by empty nonterminals." (CLASS NONE,
    /// TYPE ANY.)
    NameNotInUse {
        /// NAME.
        name: DomainName,
    },
}

impl Prerequisite {
    /// The owner name the prerequisite is about.
    pub fn name(&self) -> &DomainName {
        match self {
            Self::RrsetExists { name, .. }
            | Self::RrsetMatches { name, .. }
            | Self::RrsetAbsent { name, .. }
            | Self::NameInUse { name }
            | Self::NameNotInUse { name } => name,
        }
    }
}

/// One RR of the update section (RFC 2136 §2.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateOp {
    /// §2.5.1 "Add to an RRset" (CLASS the zone's).
    Add {
        /// NAME.
        name: DomainName,
        /// TYPE.
        rtype: Rtype,
        /// TTL.
        ttl: u32,
        /// The RR's RDATA.
        rdata: Rdata,
    },
    /// §2.5.2 "Delete an RRset" (CLASS ANY, TYPE the type).
    DeleteRrset {
        /// NAME.
        name: DomainName,
        /// TYPE.
        rtype: Rtype,
    },
    /// §2.5.3 "Delete all RRsets from a name" (CLASS ANY, TYPE ANY).
    DeleteName {
        /// NAME.
        name: DomainName,
    },
    /// §2.5.4 "Delete an RR from an RRset" (CLASS NONE).
    DeleteRr {
        /// NAME.
        name: DomainName,
        /// TYPE.
        rtype: Rtype,
        /// The RDATA of the RR to delete.
        rdata: Rdata,
    },
}

impl UpdateOp {
    /// The owner name the operation is about.
    pub fn name(&self) -> &DomainName {
        match self {
            Self::Add { name, .. }
            | Self::DeleteRrset { name, .. }
            | Self::DeleteName { name }
            | Self::DeleteRr { name, .. } => name,
        }
    }

    /// The type it is about; [`Rtype::ANY`] for [`UpdateOp::DeleteName`].
    pub fn rtype(&self) -> Rtype {
        match self {
            Self::Add { rtype, .. }
            | Self::DeleteRrset { rtype, .. }
            | Self::DeleteRr { rtype, .. } => *rtype,
            Self::DeleteName { .. } => Rtype::ANY,
        }
    }
}

/// Why an UPDATE message is not processed: the RCODE to answer and what was wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{rcode}: {message}")]
pub struct UpdateParseError {
    /// FORMERR for a malformed message, NOTZONE for a name outside the zone, NOTAUTH for a
    /// zone section no zone of ours can match, REFUSED for names ddns cannot hold.
    pub rcode: Rcode,
    /// What was wrong, for the log.
    pub message: String,
}

impl UpdateParseError {
    fn new(rcode: Rcode, message: impl Into<String>) -> Self {
        Self {
            rcode,
            message: message.into(),
        }
    }

    fn formerr(message: impl Into<String>) -> Self {
        Self::new(Rcode::FORMERR, message)
    }
}

/// Why the planned result of an update cannot be built: the RCODE to answer and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{rcode}: {message}")]
pub struct UpdatePlanError {
    /// REFUSED when the result breaks a limit (an RRset too large to serve), SERVFAIL when
    /// the zone's own data cannot be read.
    pub rcode: Rcode,
    /// What went wrong, for the log.
    pub message: String,
}

/// The net result of an update for one RRset that it changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RrsetResult {
    /// Owner.
    pub name: DomainName,
    /// Type.
    pub rtype: Rtype,
    /// The RRset after the update, or `None` when it is gone.
    pub new: Option<RecordSet>,
}

/// Parses an UPDATE request and prescans it (RFC 2136 §3.1.1, §3.2, §3.4.1).
///
/// `message_len` is where the message ends for us: a TSIG record the caller has verified and
/// cut off lies beyond it, although ARCOUNT still counts it. The additional section is
/// otherwise read and ignored (§2.6 "The server can use or ignore out of zone glue"; OPT is
/// the caller's). Names may be compressed in owners and, for the types RFC 3597 §4 lists, in
/// RDATA: "Receiving servers MUST decompress domain names in RRs of well-known type, and
/// SHOULD also decompress RRs of type RP, AFSDB, RT, SIG, PX, NXT, NAPTR, and SRV".
///
/// Every format error is found before any prerequisite is evaluated, so a malformed message
/// is FORMERR even where §3.2.5's single loop might have answered NXDOMAIN first.
pub fn parse_update(message: &[u8], message_len: usize) -> Result<UpdateMessage, UpdateParseError> {
    let msg = message.get(..message_len).ok_or_else(|| {
        UpdateParseError::formerr("the message is shorter than its stated length")
    })?;
    let header = msg
        .get(..HEADER_LEN)
        .ok_or_else(|| UpdateParseError::formerr("the message is shorter than a DNS header"))?;
    let word = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]);
    let id = word(0);
    let flags = word(2);
    if flags & 0x8000 != 0 {
        return Err(UpdateParseError::formerr(
            "the message is a response, not a request",
        ));
    }
    if (flags >> 11) & 0x0f != OPCODE_UPDATE {
        return Err(UpdateParseError::formerr("the OPCODE is not UPDATE (5)"));
    }
    let (zocount, prcount, upcount, adcount) = (word(4), word(6), word(8), word(10));

    // RFC 2136 §3.1.1: "The Zone Section is checked to see that there is exactly one RR
    // therein and that the RR's ZTYPE is SOA, else signal FORMERR to the requestor. Next, the
    // ZNAME and ZCLASS are checked to see if the zone so named is one of this server's
    // authority zones, else signal NOTAUTH to the requestor."
    if zocount != 1 {
        return Err(UpdateParseError::formerr(format!(
            "the zone section holds {zocount} entries; it must hold exactly one"
        )));
    }
    let mut reader = Reader {
        msg,
        pos: HEADER_LEN,
    };
    let (zone_wire, after) = read_name(msg, reader.pos).map_err(UpdateParseError::formerr)?;
    reader.pos = after;
    let ztype = Rtype(
        reader
            .u16()
            .ok_or_else(|| UpdateParseError::formerr("the zone section is truncated"))?,
    );
    let zclass = reader
        .u16()
        .ok_or_else(|| UpdateParseError::formerr("the zone section is truncated"))?;
    if ztype != Rtype::SOA {
        return Err(UpdateParseError::formerr(format!(
            "the ZTYPE is {ztype}, not SOA"
        )));
    }
    let zone_text = wire_to_text(&zone_wire);
    if zclass != CLASS_IN {
        return Err(UpdateParseError::new(
            Rcode::NOTAUTH,
            format!("zone {zone_text} of class {zclass} is not served here; only IN is"),
        ));
    }
    let zone = DomainName::parse(&zone_text).map_err(|e| {
        UpdateParseError::new(
            Rcode::NOTAUTH,
            format!("zone {zone_text} is not served here: {e}"),
        )
    })?;

    let mut prerequisites = Vec::new();
    let mut matches: Vec<(DomainName, Rtype, Vec<Rdata>)> = Vec::new();
    for _ in 0..prcount {
        let rr = reader.rr()?;
        parse_prerequisite(
            &zone_wire,
            &zone,
            msg,
            &rr,
            &mut prerequisites,
            &mut matches,
        )?;
    }
    prerequisites.extend(matches.into_iter().map(|(name, rtype, mut rdatas)| {
        rdatas.sort_unstable();
        rdatas.dedup();
        Prerequisite::RrsetMatches {
            name,
            rtype,
            rdatas,
        }
    }));

    let mut updates = Vec::new();
    for _ in 0..upcount {
        let rr = reader.rr()?;
        updates.push(prescan_update(&zone_wire, &zone, msg, &rr)?);
    }

    for _ in 0..adcount {
        if reader.pos == msg.len() {
            break; // the rest is the TSIG record the caller removed
        }
        reader.rr()?;
    }
    if reader.pos != msg.len() {
        return Err(UpdateParseError::formerr(format!(
            "{} octets follow the last record",
            msg.len() - reader.pos
        )));
    }
    Ok(UpdateMessage {
        id,
        zone,
        prerequisites,
        updates,
    })
}

/// RFC 2136 §3.2.5, the format half of each prerequisite:
///
/// ```text
/// if (rr.ttl != 0) return (FORMERR)
/// if (zone_of(rr.name) != ZNAME) return (NOTZONE);
/// if (rr.class == ANY) if (rr.rdlength != 0) return (FORMERR) ...
/// if (rr.class == NONE) if (rr.rdlength != 0) return (FORMERR) ...
/// if (rr.class == zclass) temp<rr.name, rr.type> += rr else return (FORMERR)
/// ```
fn parse_prerequisite(
    zone_wire: &[u8],
    zone: &DomainName,
    msg: &[u8],
    rr: &RawRr,
    out: &mut Vec<Prerequisite>,
    matches: &mut Vec<(DomainName, Rtype, Vec<Rdata>)>,
) -> Result<(), UpdateParseError> {
    if rr.ttl != 0 {
        return Err(UpdateParseError::formerr(format!(
            "prerequisite {} {} has TTL {}; it must be 0",
            wire_to_text(&rr.owner),
            rr.rtype,
            rr.ttl
        )));
    }
    let name = name_in_zone(zone_wire, zone, &rr.owner)?;
    match rr.class {
        CLASS_ANY | CLASS_NONE => {
            if rr.rdata_len() != 0 {
                return Err(UpdateParseError::formerr(format!(
                    "prerequisite {name} {} of class ANY or NONE has RDATA",
                    rr.rtype
                )));
            }
            check_not_query_meta(&name, rr.rtype)?;
            out.push(match (rr.class, rr.rtype) {
                (CLASS_ANY, Rtype::ANY) => Prerequisite::NameInUse { name },
                (CLASS_ANY, rtype) => Prerequisite::RrsetExists { name, rtype },
                (_, Rtype::ANY) => Prerequisite::NameNotInUse { name },
                (_, rtype) => Prerequisite::RrsetAbsent { name, rtype },
            });
        }
        CLASS_IN => {
            let rdata = rr_rdata(msg, rr, &name)?;
            match matches
                .iter_mut()
                .find(|(n, t, _)| *n == name && *t == rr.rtype)
            {
                Some((_, _, rdatas)) => rdatas.push(rdata),
                None => matches.push((name, rr.rtype, vec![rdata])),
            }
        }
        class => {
            return Err(UpdateParseError::formerr(format!(
                "prerequisite {name} {} has class {class}; only IN, ANY and NONE are meaningful",
                rr.rtype
            )));
        }
    }
    Ok(())
}

/// RFC 2136 §3.4.1.3, the update section prescan:
///
/// ```text
/// if (zone_of(rr.name) != ZNAME) return (NOTZONE);
/// if (rr.class == zclass) if (rr.type & ANY|AXFR|MAILA|MAILB) return (FORMERR)
/// elsif (rr.class == ANY)
///      if (rr.ttl != 0 || rr.rdlength != 0 || rr.type & AXFR|MAILA|MAILB) return (FORMERR)
/// elsif (rr.class == NONE)
///      if (rr.ttl != 0 || rr.type & ANY|AXFR|MAILA|MAILB) return (FORMERR)
/// else return (FORMERR)
/// ```
///
/// §3.4.1.2 extends the type test to "any other QUERY metatype"; types this server does not
/// know are accepted as RFC 3597 unknown types rather than refused as "unrecognized".
fn prescan_update(
    zone_wire: &[u8],
    zone: &DomainName,
    msg: &[u8],
    rr: &RawRr,
) -> Result<UpdateOp, UpdateParseError> {
    let name = name_in_zone(zone_wire, zone, &rr.owner)?;
    let rtype = rr.rtype;
    let must_be_zero = |what: &str, value: usize| {
        if value == 0 {
            Ok(())
        } else {
            Err(UpdateParseError::formerr(format!(
                "update {name} {rtype} of class ANY or NONE has {what} {value}; it must be 0"
            )))
        }
    };
    match rr.class {
        CLASS_IN => {
            if rtype.is_meta() {
                return Err(UpdateParseError::formerr(format!(
                    "update {name} adds a record of the meta type {rtype}"
                )));
            }
            if rr.ttl > MAX_WIRE_TTL {
                return Err(UpdateParseError::formerr(format!(
                    "update {name} {rtype} has TTL {}; a TTL is below 2^31 (RFC 2181 §8)",
                    rr.ttl
                )));
            }
            let rdata = rr_rdata(msg, rr, &name)?;
            Ok(UpdateOp::Add {
                name,
                rtype,
                ttl: rr.ttl,
                rdata,
            })
        }
        CLASS_ANY => {
            must_be_zero("TTL", rr.ttl as usize)?;
            must_be_zero("RDLENGTH", rr.rdata_len())?;
            check_not_query_meta(&name, rtype)?;
            Ok(if rtype == Rtype::ANY {
                UpdateOp::DeleteName { name }
            } else {
                UpdateOp::DeleteRrset { name, rtype }
            })
        }
        CLASS_NONE => {
            must_be_zero("TTL", rr.ttl as usize)?;
            if rtype.is_meta() {
                return Err(UpdateParseError::formerr(format!(
                    "update {name} deletes a record of the meta type {rtype}"
                )));
            }
            let rdata = rr_rdata(msg, rr, &name)?;
            Ok(UpdateOp::DeleteRr { name, rtype, rdata })
        }
        class => Err(UpdateParseError::formerr(format!(
            "update {name} {rtype} has class {class}; only IN, ANY and NONE are meaningful"
        ))),
    }
}

/// Meta types other than ANY (AXFR, MAILA, MAILB, OPT, TSIG…) mean nothing where the class
/// is ANY or NONE.
fn check_not_query_meta(name: &DomainName, rtype: Rtype) -> Result<(), UpdateParseError> {
    if rtype.is_meta() && rtype != Rtype::ANY {
        return Err(UpdateParseError::formerr(format!(
            "{name} {rtype}: a meta type other than ANY cannot be tested or deleted"
        )));
    }
    Ok(())
}

/// RFC 2136 §3.2 and §3.4.1: "if any RR's NAME is not within the zone specified in the Zone
/// Section, signal NOTZONE to the requestor."
fn name_in_zone(
    zone_wire: &[u8],
    zone: &DomainName,
    owner: &[u8],
) -> Result<DomainName, UpdateParseError> {
    let text = wire_to_text(owner);
    if !wire_is_at_or_below(owner, zone_wire) {
        return Err(UpdateParseError::new(
            Rcode::NOTZONE,
            format!("{text} is not in zone {zone}"),
        ));
    }
    DomainName::parse(&text).map_err(|e| {
        UpdateParseError::new(Rcode::REFUSED, format!("{text} cannot be held here: {e}"))
    })
}

/// True when the uncompressed wire name `name` equals `zone` or lies below it.
fn wire_is_at_or_below(name: &[u8], zone: &[u8]) -> bool {
    if !name.ends_with(zone) {
        return false;
    }
    let boundary = name.len() - zone.len();
    let mut at = 0usize;
    while at < boundary {
        at += 1 + usize::from(name[at]);
    }
    at == boundary
}

/// One RR as it stands in the message: owner decompressed, RDATA still in place.
struct RawRr {
    owner: Vec<u8>,
    rtype: Rtype,
    class: u16,
    ttl: u32,
    rdata_start: usize,
    rdata_end: usize,
}

impl RawRr {
    fn rdata_len(&self) -> usize {
        self.rdata_end - self.rdata_start
    }
}

struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn u16(&mut self) -> Option<u16> {
        let b = self.msg.get(self.pos..self.pos + 2)?;
        self.pos += 2;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.msg.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads one RR (RFC 1035 §4.1.3) and steps over its RDATA.
    fn rr(&mut self) -> Result<RawRr, UpdateParseError> {
        let (owner, after) = read_name(self.msg, self.pos).map_err(UpdateParseError::formerr)?;
        self.pos = after;
        let truncated = || UpdateParseError::formerr("a record is truncated");
        let rtype = Rtype(self.u16().ok_or_else(truncated)?);
        let class = self.u16().ok_or_else(truncated)?;
        let ttl = self.u32().ok_or_else(truncated)?;
        let rdlength = usize::from(self.u16().ok_or_else(truncated)?);
        let rdata_start = self.pos;
        let rdata_end = rdata_start + rdlength;
        if rdata_end > self.msg.len() {
            return Err(UpdateParseError::formerr(format!(
                "the RDATA of {} {rtype} runs past the end of the message",
                wire_to_text(&owner)
            )));
        }
        self.pos = rdata_end;
        Ok(RawRr {
            owner,
            rtype,
            class,
            ttl,
            rdata_start,
            rdata_end,
        })
    }
}

/// Reads the possibly compressed name at `start`: its lower-case uncompressed wire form and
/// the position after it in the message.
///
/// RFC 1035 §4.1.4 pointers are followed only backwards — each one to a point before the
/// part of the name read so far — and at most [`MAX_POINTERS`] times, so no message can make
/// this loop.
fn read_name(msg: &[u8], start: usize) -> Result<(Vec<u8>, usize), String> {
    let mut out = Vec::with_capacity(32);
    let mut pos = start;
    let mut limit = start;
    let mut end = None;
    let mut jumps = 0;
    loop {
        let Some(&len) = msg.get(pos) else {
            return Err("a name runs past the end of the message".to_owned());
        };
        match len & 0xc0 {
            0x00 => {
                let len = usize::from(len);
                let Some(label) = msg.get(pos + 1..pos + 1 + len) else {
                    return Err("a name runs past the end of the message".to_owned());
                };
                out.push(len as u8);
                out.extend(label.iter().map(u8::to_ascii_lowercase));
                if out.len() > MAX_WIRE_LEN {
                    return Err("a name is longer than 255 octets".to_owned());
                }
                pos += 1 + len;
                if len == 0 {
                    return Ok((out, end.unwrap_or(pos)));
                }
            }
            0xc0 => {
                let Some(&low) = msg.get(pos + 1) else {
                    return Err("a compression pointer runs past the end of the message".to_owned());
                };
                let target = (usize::from(len & 0x3f) << 8) | usize::from(low);
                jumps += 1;
                if target >= limit || jumps > MAX_POINTERS {
                    return Err(format!(
                        "a compression pointer at offset {pos} does not point back (to {target})"
                    ));
                }
                end.get_or_insert(pos + 2);
                limit = target;
                pos = target;
            }
            _ => {
                return Err(format!(
                    "a name has the unknown label type 0x{len:02x} (RFC 6891 §5)"
                ));
            }
        }
    }
}

/// One piece of a type's RDATA, for decompression.
#[derive(Clone, Copy)]
enum Part {
    Fixed(usize),
    Name,
    CharString,
    Rest,
}

/// The layout of the types whose RDATA names a sender may compress (RFC 3597 §4: the RFC 1035
/// types, and RP, AFSDB, RT, SIG, PX, NXT, NAPTR and SRV).
fn compressible_layout(rtype: Rtype) -> Option<&'static [Part]> {
    use Part::{CharString, Fixed, Name, Rest};
    Some(match rtype.0 {
        // NS, MD, MF, CNAME, MB, MG, MR, PTR
        2 | 3 | 4 | 5 | 7 | 8 | 9 | 12 => &[Name],
        // SOA: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM
        6 => &[Name, Name, Fixed(20)],
        // MINFO (RMAILBX EMAILBX), RP (mbox-dname txt-dname)
        14 | 17 => &[Name, Name],
        // MX, AFSDB, RT: a 16-bit number and a name
        15 | 18 | 21 => &[Fixed(2), Name],
        // SIG (RFC 2535 §4.1): 18 octets of fields, the signer's name, the signature
        24 => &[Fixed(18), Name, Rest],
        // PX (RFC 2163): PREFERENCE MAP822 MAPX400
        26 => &[Fixed(2), Name, Name],
        // NXT (RFC 2535 §5.2): next name, type bitmap
        30 => &[Name, Rest],
        // SRV: priority weight port target
        33 => &[Fixed(6), Name],
        // NAPTR: order preference flags services regexp replacement
        35 => &[Fixed(4), CharString, CharString, CharString, Name],
        _ => return None,
    })
}

/// The RR's RDATA with its names decompressed (for the types that allow compression), then
/// validated for its type.
fn rr_rdata(msg: &[u8], rr: &RawRr, name: &DomainName) -> Result<Rdata, UpdateParseError> {
    let raw = &msg[rr.rdata_start..rr.rdata_end];
    let bad =
        |problem: String| UpdateParseError::formerr(format!("{name} {}: {problem}", rr.rtype));
    let wire = match compressible_layout(rr.rtype) {
        Some(layout) => decompress(msg, rr.rdata_start, rr.rdata_end, layout).map_err(bad)?,
        None => raw.to_vec(),
    };
    Rdata::from_wire(rr.rtype, &wire).map_err(|e| bad(e.to_string()))
}

fn decompress(msg: &[u8], start: usize, end: usize, layout: &[Part]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(end - start + 32);
    let mut pos = start;
    let short = || "the RDATA ends inside a field".to_owned();
    for part in layout {
        match *part {
            Part::Fixed(n) => {
                let field = msg
                    .get(pos..pos + n)
                    .filter(|_| pos + n <= end)
                    .ok_or_else(short)?;
                out.extend_from_slice(field);
                pos += n;
            }
            Part::CharString => {
                let len = usize::from(*msg.get(pos).filter(|_| pos < end).ok_or_else(short)?);
                let field = msg
                    .get(pos..pos + 1 + len)
                    .filter(|_| pos + 1 + len <= end)
                    .ok_or_else(short)?;
                out.extend_from_slice(field);
                pos += 1 + len;
            }
            Part::Name => {
                if pos >= end {
                    return Err(short());
                }
                let (wire, after) = read_name(&msg[..end], pos)?;
                out.extend_from_slice(&wire);
                pos = after;
            }
            Part::Rest => {
                out.extend_from_slice(&msg[pos..end]);
                pos = end;
            }
        }
    }
    if pos != end {
        return Err(format!("{} octets follow the last field", end - pos));
    }
    Ok(out)
}

/// Checks the prerequisites against the zone as it is (RFC 2136 §3.2), the value-dependent
/// ones last as §3.2.5 does; the first one that fails gives the RCODE.
///
/// - §3.2.1 CLASS ANY: "If TYPE is ANY, test to see that there is at least one RR in the zone
///   whose NAME is the same as that of the Prerequisite RR, else signal NXDOMAIN ... If TYPE
///   is not ANY, ... else signal NXRRSET".
/// - §3.2.2 CLASS NONE: "If the TYPE is ANY, test to see that there are no RRs in the zone
///   whose NAME is the same ..., else signal YXDOMAIN ... If the TYPE is not ANY, ... else
///   signal YXRRSET".
/// - §3.2.3 CLASS zone: "compare each resulting RRset for set equality (same members, no
///   more, no less) with RRsets in the zone. If any Prerequisite RRset is not entirely and
///   exactly matched by a zone RRset, signal NXRRSET". TTLs are not compared (§2.4.2).
///
/// An empty non-terminal owns no RR: it is not "in use" (§2.4.4, §2.4.5).
pub fn check_prerequisites(zone: &Zone, prereqs: &[Prerequisite]) -> Result<(), Rcode> {
    let in_use = |name: &DomainName| {
        zone.node(&name.to_wire())
            .is_some_and(|node| !node.is_empty_non_terminal())
    };
    let has_rrset = |name: &DomainName, rtype: Rtype| {
        zone.node(&name.to_wire())
            .and_then(|node| node.rrset(rtype))
            .is_some()
    };
    let (value_dependent, others): (Vec<&Prerequisite>, Vec<&Prerequisite>) = prereqs
        .iter()
        .partition(|p| matches!(p, Prerequisite::RrsetMatches { .. }));
    for prereq in others.into_iter().chain(value_dependent) {
        let failed = match prereq {
            Prerequisite::NameInUse { name } => (!in_use(name)).then_some(Rcode::NXDOMAIN),
            Prerequisite::NameNotInUse { name } => in_use(name).then_some(Rcode::YXDOMAIN),
            Prerequisite::RrsetExists { name, rtype } => {
                (!has_rrset(name, *rtype)).then_some(Rcode::NXRRSET)
            }
            Prerequisite::RrsetAbsent { name, rtype } => {
                has_rrset(name, *rtype).then_some(Rcode::YXRRSET)
            }
            Prerequisite::RrsetMatches {
                name,
                rtype,
                rdatas,
            } => {
                let key = name.to_wire();
                let matched = zone
                    .node(&key)
                    .and_then(|n| n.rrset(*rtype))
                    .is_some_and(|r| {
                        let mut zone_rdatas: Vec<&[u8]> = r.rdatas().collect();
                        zone_rdatas.sort_unstable();
                        zone_rdatas.dedup();
                        zone_rdatas.len() == rdatas.len()
                            && zone_rdatas
                                .iter()
                                .zip(rdatas)
                                .all(|(z, p)| *z == p.as_wire())
                    });
                (!matched).then_some(Rcode::NXRRSET)
            }
        };
        if let Some(rcode) = failed {
            return Err(rcode);
        }
    }
    Ok(())
}

/// One RRset being worked on: TTL and sorted, distinct RDATAs; no RDATAs means absent.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Working {
    ttl: u32,
    rdatas: Vec<Rdata>,
}

/// One owner's RRsets as the zone has them and as the update has made them so far.
struct NodeWork {
    original: BTreeMap<Rtype, Working>,
    current: BTreeMap<Rtype, Working>,
}

impl NodeWork {
    fn has(&self, rtype: Rtype) -> bool {
        self.current
            .get(&rtype)
            .is_some_and(|w| !w.rdatas.is_empty())
    }

    fn has_other_than(&self, rtype: Rtype) -> bool {
        self.current
            .iter()
            .any(|(t, w)| *t != rtype && !w.rdatas.is_empty())
    }

    fn entry(&mut self, rtype: Rtype) -> &mut Working {
        self.current.entry(rtype).or_insert(Working {
            ttl: 0,
            rdatas: Vec::new(),
        })
    }
}

/// Applies the update section in order to a working copy of the RRsets it touches (RFC 2136
/// §3.4.2) and returns the net new content of every RRset that changed, in the order the
/// update first touched them. Nothing changed means an empty list.
///
/// - §3.4.2.2 "Any Update RR whose CLASS is the same as ZCLASS is added to the zone. In case
///   of duplicate RDATAs ... the Zone RR is replaced by Update RR." An RRset has one TTL here
///   (RFC 2181 §5.2), so an added RR, new or duplicate, sets the TTL of its whole RRset. "In
///   the case of a CNAME Update RR and a non-CNAME Zone RRset or vice versa, ignore the CNAME
///   Update RR, otherwise replace the CNAME Zone RR with the CNAME Update RR." — an added
///   non-CNAME RR at a CNAME is ignored too, as the pseudocode of §3.4.2.7 does.
/// - §3.4.2.3 "For any Update RR whose CLASS is ANY and whose TYPE is ANY, all Zone RRs with
///   the same NAME are deleted, unless the NAME is the same as ZNAME in which case only those
///   RRs whose TYPE is other than SOA or NS are deleted. For any Update RR whose CLASS is ANY
///   and whose TYPE is not ANY all Zone RRs with the same NAME and TYPE are deleted, unless the
///   NAME is the same as ZNAME in which case neither SOA or NS RRs will be deleted."
/// - §3.4.2.4 "For any Update RR whose class is NONE, any Zone RR whose NAME, TYPE, RDATA and
///   RDLENGTH are equal to the Update RR is deleted, unless the NAME is the same as ZNAME and
///   either the TYPE is SOA or the TYPE is NS ..." (here any apex NS RR).
///
/// SOA RRs and the apex NS RRset are left alone whatever the update says (see the module
/// documentation). Policy — who may change what, configuration-owned records — is the
/// caller's.
pub fn plan_updates(zone: &Zone, ops: &[UpdateOp]) -> Result<Vec<RrsetResult>, UpdatePlanError> {
    let apex = zone.origin();
    let mut nodes: BTreeMap<DomainName, NodeWork> = BTreeMap::new();
    let mut order: Vec<(DomainName, Rtype)> = Vec::new();
    let touch = |order: &mut Vec<(DomainName, Rtype)>, name: &DomainName, rtype: Rtype| {
        if !order.iter().any(|(n, t)| n == name && *t == rtype) {
            order.push((name.clone(), rtype));
        }
    };
    for op in ops {
        let name = op.name();
        let rtype = op.rtype();
        let at_apex = name == apex;
        if rtype == Rtype::SOA || (at_apex && rtype == Rtype::NS) {
            continue;
        }
        if !nodes.contains_key(name) {
            nodes.insert(name.clone(), load_node(zone, name)?);
        }
        let Some(node) = nodes.get_mut(name) else {
            continue;
        };
        match op {
            UpdateOp::Add { ttl, rdata, .. } => {
                if rtype == Rtype::CNAME {
                    if node.has_other_than(Rtype::CNAME) {
                        continue;
                    }
                    *node.entry(Rtype::CNAME) = Working {
                        ttl: *ttl,
                        rdatas: vec![rdata.clone()],
                    };
                } else {
                    if node.has(Rtype::CNAME) {
                        continue;
                    }
                    let set = node.entry(rtype);
                    if let Err(at) = set.rdatas.binary_search(rdata) {
                        set.rdatas.insert(at, rdata.clone());
                    }
                    set.ttl = *ttl;
                }
                touch(&mut order, name, rtype);
            }
            UpdateOp::DeleteRrset { .. } => {
                node.entry(rtype).rdatas.clear();
                touch(&mut order, name, rtype);
            }
            UpdateOp::DeleteName { .. } => {
                let types: Vec<Rtype> = node
                    .current
                    .iter()
                    .filter(|(t, w)| {
                        !w.rdatas.is_empty() && **t != Rtype::SOA && !(at_apex && **t == Rtype::NS)
                    })
                    .map(|(t, _)| *t)
                    .collect();
                for t in types {
                    node.entry(t).rdatas.clear();
                    touch(&mut order, name, t);
                }
            }
            UpdateOp::DeleteRr { rdata, .. } => {
                let set = node.entry(rtype);
                if let Ok(at) = set.rdatas.binary_search(rdata) {
                    set.rdatas.remove(at);
                }
                touch(&mut order, name, rtype);
            }
        }
    }
    let mut results = Vec::new();
    for (name, rtype) in order {
        let Some(node) = nodes.get(&name) else {
            continue;
        };
        let absent = Working {
            ttl: 0,
            rdatas: Vec::new(),
        };
        let before = node.original.get(&rtype).unwrap_or(&absent);
        let after = node.current.get(&rtype).unwrap_or(&absent);
        let unchanged = if after.rdatas.is_empty() {
            before.rdatas.is_empty()
        } else {
            before == after
        };
        if unchanged {
            continue;
        }
        let new = if after.rdatas.is_empty() {
            None
        } else {
            Some(
                RecordSet::new(rtype, after.ttl, after.rdatas.clone()).map_err(|e| {
                    UpdatePlanError {
                        rcode: Rcode::REFUSED,
                        message: format!("{name} {rtype}: {e}"),
                    }
                })?,
            )
        };
        results.push(RrsetResult { name, rtype, new });
    }
    Ok(results)
}

/// The owner's RRsets as the zone has them, RDATA validated again (it came from the store
/// through a snapshot; a failure is a server fault).
fn load_node(zone: &Zone, name: &DomainName) -> Result<NodeWork, UpdatePlanError> {
    let mut original = BTreeMap::new();
    if let Some(node) = zone.node(&name.to_wire()) {
        for rrset in node.rrsets() {
            let mut rdatas = rrset
                .rdatas()
                .map(|w| Rdata::from_wire(rrset.rtype(), w))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| UpdatePlanError {
                    rcode: Rcode::SERVFAIL,
                    message: format!("{name} {} in the zone cannot be read: {e}", rrset.rtype()),
                })?;
            rdatas.sort_unstable();
            rdatas.dedup();
            original.insert(
                rrset.rtype(),
                Working {
                    ttl: rrset.ttl(),
                    rdatas,
                },
            );
        }
    }
    Ok(NodeWork {
        current: original.clone(),
        original,
    })
}

#[cfg(test)]
mod tests;
