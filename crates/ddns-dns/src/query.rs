//! Reading a DNS query off the wire, strictly.
//!
//! Only what an authoritative server needs is decoded: the header, the single question (name
//! lower-cased for lookup, the original bytes kept so the reply can echo the query's case), and
//! the OPT record of the additional section. Everything else is walked over to check that the
//! message is well formed. Nothing here allocates.
//!
//! ```text
//! RFC 1035 §4.1.1: QDCOUNT an unsigned 16 bit integer specifying the number of entries in the
//! question section.
//! RFC 6891 §6.1.1: If a query message with more than one OPT RR is received, a FORMERR
//! (RCODE=1) MUST be returned.
//! ```

/// Header length.
pub(crate) const HEADER_LEN: usize = 12;
const MAX_NAME: usize = 255;
const MAX_LABELS: usize = 128;

use ddns_core::Rtype;

/// OPCODE of a standard query (RFC 1035 §4.1.1).
pub(crate) const OPCODE_QUERY: u8 = 0;
/// OPCODE of NOTIFY (RFC 1996).
pub(crate) const OPCODE_NOTIFY: u8 = 4;
/// OPCODE of UPDATE (RFC 2136).
pub(crate) const OPCODE_UPDATE: u8 = 5;

/// EDNS(0) parameters of a query (RFC 6891 §6.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Edns {
    /// Requestor's UDP payload size.
    pub(crate) payload: u16,
    /// EDNS version.
    pub(crate) version: u8,
    /// DNSSEC OK bit (RFC 3225), copied into the reply.
    pub(crate) dnssec_ok: bool,
}

/// A well-formed query.
#[derive(Debug)]
pub(crate) struct Query<'a> {
    pub(crate) id: u16,
    pub(crate) opcode: u8,
    pub(crate) recursion_desired: bool,
    pub(crate) checking_disabled: bool,
    /// The question as received (name, type, class), echoed verbatim.
    pub(crate) question: &'a [u8],
    /// Lower-case wire form of QNAME.
    lower: [u8; MAX_NAME],
    lower_len: usize,
    /// Start offset of each label within QNAME, leftmost first.
    label_starts: [u8; MAX_LABELS],
    label_count: usize,
    pub(crate) qtype: Rtype,
    pub(crate) qclass: u16,
    pub(crate) edns: Option<Edns>,
    /// A TSIG record was present (we cannot verify it yet).
    pub(crate) signed: bool,
}

impl Query<'_> {
    /// Lower-case wire QNAME.
    pub(crate) fn qname(&self) -> &[u8] {
        &self.lower[..self.lower_len]
    }
    /// Number of labels in QNAME (not counting the root).
    pub(crate) fn label_count(&self) -> usize {
        self.label_count
    }
    /// Offset within QNAME where label `index` starts (`label_count` = the root label).
    pub(crate) fn label_start(&self, index: usize) -> usize {
        if index >= self.label_count {
            self.lower_len - 1
        } else {
            usize::from(self.label_starts[index])
        }
    }
    /// QNAME without its first `skip` labels, lower-case wire.
    pub(crate) fn suffix(&self, skip: usize) -> &[u8] {
        &self.qname()[self.label_start(skip)..]
    }
}

/// What to do with a message that is not a well-formed query.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// Not worth an answer: shorter than a header, or a response (QR=1).
    Drop,
    /// Answer with FORMERR; `question` is the echo-able question when it could be read.
    FormErr {
        id: u16,
        opcode: u8,
        recursion_desired: bool,
        question_len: Option<usize>,
    },
}

/// Parses a query.
pub(crate) fn parse(packet: &[u8]) -> Result<Query<'_>, Rejection> {
    if packet.len() < HEADER_LEN {
        return Err(Rejection::Drop);
    }
    let id = u16::from_be_bytes([packet[0], packet[1]]);
    let flags = packet[2];
    if flags & 0x80 != 0 {
        return Err(Rejection::Drop);
    }
    let opcode = (flags >> 3) & 0x0f;
    let recursion_desired = flags & 0x01 != 0;
    let checking_disabled = packet[3] & 0x10 != 0;
    let count = |at: usize| u16::from_be_bytes([packet[at], packet[at + 1]]);
    let (qdcount, ancount, nscount, arcount) = (count(4), count(6), count(8), count(10));
    let formerr = |question_len| Rejection::FormErr {
        id,
        opcode,
        recursion_desired,
        question_len,
    };
    if qdcount != 1 {
        return Err(formerr(None));
    }

    let mut lower = [0u8; MAX_NAME];
    let mut label_starts = [0u8; MAX_LABELS];
    let mut label_count = 0usize;
    let mut pos = HEADER_LEN;
    let mut name_len = 0usize;
    loop {
        let Some(&len) = packet.get(pos) else {
            return Err(formerr(None));
        };
        // Compression pointers (and the reserved 01/10 label types) have no place in a
        // question that starts right after the header.
        if len & 0xc0 != 0 {
            return Err(formerr(None));
        }
        let len = usize::from(len);
        if name_len + 1 + len > MAX_NAME {
            return Err(formerr(None));
        }
        if len == 0 {
            lower[name_len] = 0;
            name_len += 1;
            pos += 1;
            break;
        }
        if label_count == MAX_LABELS {
            return Err(formerr(None));
        }
        let Some(label) = packet.get(pos + 1..pos + 1 + len) else {
            return Err(formerr(None));
        };
        label_starts[label_count] = name_len as u8;
        label_count += 1;
        lower[name_len] = len as u8;
        for (dst, src) in lower[name_len + 1..name_len + 1 + len]
            .iter_mut()
            .zip(label)
        {
            *dst = src.to_ascii_lowercase();
        }
        name_len += 1 + len;
        pos += 1 + len;
    }
    let Some(tail) = packet.get(pos..pos + 4) else {
        return Err(formerr(None));
    };
    let qtype = u16::from_be_bytes([tail[0], tail[1]]);
    let qclass = u16::from_be_bytes([tail[2], tail[3]]);
    pos += 4;
    let question_len = pos - HEADER_LEN;
    let formerr_q = || formerr(Some(question_len));

    for _ in 0..(usize::from(ancount) + usize::from(nscount)) {
        pos = skip_record(packet, pos).ok_or_else(formerr_q)?.0;
    }
    let mut edns = None;
    let mut signed = false;
    for index in 0..arcount {
        let owner_start = pos;
        let (next, rtype) = skip_record(packet, pos).ok_or_else(formerr_q)?;
        let fixed = skip_name(packet, owner_start).ok_or_else(formerr_q)?;
        if rtype == Rtype::OPT.0 {
            // RFC 6891 §6.1.2: the OPT owner is the root; one OPT per message.
            if edns.is_some() || packet[owner_start] != 0 {
                return Err(formerr_q());
            }
            let class = u16::from_be_bytes([packet[fixed + 2], packet[fixed + 3]]);
            let version = packet[fixed + 5];
            let flags = u16::from_be_bytes([packet[fixed + 6], packet[fixed + 7]]);
            check_options(&packet[fixed + 10..next]).ok_or_else(formerr_q)?;
            edns = Some(Edns {
                payload: class,
                version,
                dnssec_ok: flags & 0x8000 != 0,
            });
        } else if rtype == Rtype::TSIG.0 {
            // RFC 8945 §5.1: TSIG is the last record of the additional section.
            if index + 1 != arcount {
                return Err(formerr_q());
            }
            signed = true;
        }
        pos = next;
    }
    if pos != packet.len() {
        return Err(formerr_q());
    }
    Ok(Query {
        id,
        opcode,
        recursion_desired,
        checking_disabled,
        question: &packet[HEADER_LEN..HEADER_LEN + question_len],
        lower,
        lower_len: name_len,
        label_starts,
        label_count,
        qtype: Rtype(qtype),
        qclass,
        edns,
        signed,
    })
}

/// The serial of the SOA record an IXFR query carries in its authority section (RFC 1995 §3).
pub(crate) fn ixfr_serial(packet: &[u8], query: &Query<'_>) -> Option<u32> {
    let ancount = u16::from_be_bytes([*packet.get(6)?, *packet.get(7)?]);
    let nscount = u16::from_be_bytes([*packet.get(8)?, *packet.get(9)?]);
    let mut pos = HEADER_LEN + query.question.len();
    for _ in 0..ancount {
        pos = skip_record(packet, pos)?.0;
    }
    for _ in 0..nscount {
        let fixed = skip_name(packet, pos)?;
        let (next, rtype) = skip_record(packet, pos)?;
        if rtype == Rtype::SOA.0 {
            let rdata = fixed + 10;
            let after_mname = skip_name(packet, rdata)?;
            let after_rname = skip_name(packet, after_mname)?;
            let serial = packet.get(after_rname..after_rname + 4)?;
            if after_rname + 20 > next {
                return None;
            }
            return Some(u32::from_be_bytes([
                serial[0], serial[1], serial[2], serial[3],
            ]));
        }
        pos = next;
    }
    None
}

/// The question of a message with QDCOUNT 1, as received (for error answers to messages that
/// are not well-formed queries).
pub(crate) fn question_of(message: &[u8]) -> Option<&[u8]> {
    if message.get(4..6)? != [0, 1] || message.get(HEADER_LEN)? & 0xc0 != 0 {
        return None;
    }
    let end = skip_name(message, HEADER_LEN)?;
    message.get(HEADER_LEN..end + 4)
}

/// Skips a (possibly compressed) name; returns the offset after it.
fn skip_name(packet: &[u8], mut pos: usize) -> Option<usize> {
    let mut total = 0usize;
    loop {
        let len = *packet.get(pos)?;
        match len & 0xc0 {
            0xc0 => {
                packet.get(pos + 1)?;
                return Some(pos + 2);
            }
            0x00 => {
                if len == 0 {
                    return Some(pos + 1);
                }
                total += 1 + usize::from(len);
                if total > MAX_NAME {
                    return None;
                }
                pos += 1 + usize::from(len);
            }
            _ => return None,
        }
    }
}

/// Skips a whole resource record; returns (offset after it, its TYPE).
fn skip_record(packet: &[u8], pos: usize) -> Option<(usize, u16)> {
    let fixed = skip_name(packet, pos)?;
    let header = packet.get(fixed..fixed + 10)?;
    let rtype = u16::from_be_bytes([header[0], header[1]]);
    let rdlen = usize::from(u16::from_be_bytes([header[8], header[9]]));
    let end = fixed + 10 + rdlen;
    if end > packet.len() {
        return None;
    }
    Some((end, rtype))
}

/// Checks that EDNS options tile the RDATA exactly (RFC 6891 §6.1.2).
fn check_options(mut rdata: &[u8]) -> Option<()> {
    while !rdata.is_empty() {
        let header = rdata.get(..4)?;
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        rdata = rdata.get(4 + len..)?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &[u8], qtype: u16, extra: &[u8], arcount: u16) -> Vec<u8> {
        let mut p = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0];
        p.extend_from_slice(&arcount.to_be_bytes());
        p.extend_from_slice(name);
        p.extend_from_slice(&qtype.to_be_bytes());
        p.extend_from_slice(&1u16.to_be_bytes());
        p.extend_from_slice(extra);
        p
    }

    const OPT: &[u8] = &[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0];

    #[test]
    fn lowercases_and_keeps_the_question() {
        let p = query(b"\x04HoSt\x03DYN\x07example\x00", 1, OPT, 1);
        let q = parse(&p).unwrap();
        assert_eq!(q.qname(), b"\x04host\x03dyn\x07example\x00");
        assert_eq!(&q.question[..5], b"\x04HoSt");
        assert_eq!(q.label_count(), 3);
        assert_eq!(q.suffix(1), b"\x03dyn\x07example\x00");
        assert_eq!(q.suffix(3), b"\x00");
        assert!(q.recursion_desired);
        assert_eq!(
            q.edns,
            Some(Edns {
                payload: 1232,
                version: 0,
                dnssec_ok: true
            })
        );
    }

    #[test]
    fn malformed_queries() {
        assert!(matches!(parse(&[0; 11]), Err(Rejection::Drop)));
        let mut response = query(b"\x00", 1, &[], 0);
        response[2] |= 0x80;
        assert!(matches!(parse(&response), Err(Rejection::Drop)));
        let two_opts = [OPT, OPT].concat();
        assert!(matches!(
            parse(&query(b"\x01a\x00", 1, &two_opts, 2)),
            Err(Rejection::FormErr {
                question_len: Some(7),
                ..
            })
        ));
        // Label longer than the packet, a pointer in the question, trailing garbage.
        assert!(matches!(
            parse(&query(b"\x3fa", 1, &[], 0)),
            Err(Rejection::FormErr { .. })
        ));
        assert!(matches!(
            parse(&query(b"\xc0\x0c", 1, &[], 0)),
            Err(Rejection::FormErr { .. })
        ));
        assert!(matches!(
            parse(&query(b"\x01a\x00", 1, &[1, 2, 3], 0)),
            Err(Rejection::FormErr { .. })
        ));
        // Name over 255 octets.
        let mut long = Vec::new();
        for _ in 0..5 {
            long.push(60);
            long.extend_from_slice(&[b'a'; 60]);
        }
        long.push(0);
        assert!(matches!(
            parse(&query(&long, 1, &[], 0)),
            Err(Rejection::FormErr { .. })
        ));
        // OPT whose options overrun their RDATA.
        let bad_opt = [0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 4, 0, 10, 0, 9];
        assert!(matches!(
            parse(&query(b"\x00", 1, &bad_opt, 1)),
            Err(Rejection::FormErr { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = parse(&bytes);
        }
    }
}
