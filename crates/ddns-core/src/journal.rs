//! The change journal: what one committed change set did to one zone, as one serial step.
//!
//! Every change to a zone's data (an HTTP update, a CLI command, a changed static record in the
//! configuration, later RFC 2136 and health checks) is one [`JournalEntry`]: the SOA before and
//! after, and each RRset that changed with its old and new content. Entries are kept per zone in
//! commit order (`seq`), never by a global row id, so several writers of one database agree on
//! the order. Followers replay entries into their snapshots; IXFR (RFC 1995) derives its
//! difference sequences from them. An entry marked `reload` carries no deltas: the zone was
//! rewritten wholesale (an import), so followers rebuild it and IXFR answers with the full zone.
//!
//! The encoding is private to this module and versioned by its first octet.

use crate::name::{DomainName, wire_to_text};
use crate::record::{RecordError, RecordSet};
use crate::rtype::Rtype;
use crate::serial::Serial;

const FORMAT: u8 = 1;
/// Format 2 adds the view flag; entries without a view delta are still written as format 1,
/// so an older binary reads every entry it could read before views existed.
const FORMAT_VIEWS: u8 = 2;
const FLAG_STATIC: u8 = 1;
const FLAG_OLD: u8 = 2;
const FLAG_NEW: u8 = 4;
const FLAG_VIEW: u8 = 8;

/// One RRset's change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RrsetDelta {
    /// Owner.
    pub owner: DomainName,
    /// Type.
    pub rtype: Rtype,
    /// Before (`None`: did not exist).
    pub old: Option<RecordSet>,
    /// After (`None`: removed).
    pub new: Option<RecordSet>,
    /// The RRset comes from the configuration (static), not from updates.
    pub is_static: bool,
    /// The split-horizon view whose own RRset this is (`[[view]] name`); `None`: the default
    /// data, which every view shows where it has nothing of its own.
    pub view: Option<String>,
}

/// An SOA record: TTL and RDATA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoaRecord {
    /// TTL.
    pub ttl: u32,
    /// RDATA (serial included).
    pub rdata: Vec<u8>,
}

/// One serial step of one zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    /// Position in the zone's journal (1, 2, …).
    pub seq: i64,
    /// Serial before the change.
    pub serial_before: Serial,
    /// Serial after it.
    pub serial_after: Serial,
    /// SOA before.
    pub soa_before: SoaRecord,
    /// SOA after.
    pub soa_after: SoaRecord,
    /// The zone was rewritten wholesale; `deltas` is empty.
    pub reload: bool,
    /// Changed RRsets.
    pub deltas: Vec<RrsetDelta>,
}

/// The recent serial steps of the served zones, as IXFR (RFC 1995) answers from them.
///
/// Implemented by the write path, which sees every entry it replays; read by the DNS
/// listeners, which must not touch the store.
pub trait ZoneHistory: Send + Sync {
    /// The consecutive steps of zone `origin` that lead from serial `from` to serial `to`, in
    /// order; `None` when they are not all known (pruned, or a reload lies between), so the
    /// caller answers with the whole zone.
    fn steps(
        &self,
        origin: &DomainName,
        from: Serial,
        to: Serial,
    ) -> Option<Vec<std::sync::Arc<JournalEntry>>>;
}

/// A history that knows nothing: every IXFR is answered with the whole zone.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHistory;

impl ZoneHistory for NoHistory {
    fn steps(
        &self,
        _origin: &DomainName,
        _from: Serial,
        _to: Serial,
    ) -> Option<Vec<std::sync::Arc<JournalEntry>>> {
        None
    }
}

/// A stored journal entry that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    /// Cut short or of an unknown format.
    #[error("journal entry is malformed: {0}")]
    Malformed(&'static str),
    /// A record set inside does not validate.
    #[error("journal entry holds an invalid record set: {0}")]
    Record(#[from] RecordError),
}

impl JournalEntry {
    /// The body for storage: flags, both SOAs and the deltas (serials and seq are columns).
    pub fn encode_body(&self) -> Vec<u8> {
        let format = if self.deltas.iter().any(|d| d.view.is_some()) {
            FORMAT_VIEWS
        } else {
            FORMAT
        };
        let mut out = vec![format, u8::from(self.reload)];
        for soa in [&self.soa_before, &self.soa_after] {
            out.extend_from_slice(&soa.ttl.to_be_bytes());
            put_blob(&mut out, &soa.rdata);
        }
        out.extend_from_slice(&(self.deltas.len() as u32).to_be_bytes());
        for d in &self.deltas {
            d.owner.write_wire(&mut out);
            out.extend_from_slice(&d.rtype.0.to_be_bytes());
            let mut flags = 0;
            if d.is_static {
                flags |= FLAG_STATIC;
            }
            if d.old.is_some() {
                flags |= FLAG_OLD;
            }
            if d.new.is_some() {
                flags |= FLAG_NEW;
            }
            if d.view.is_some() {
                flags |= FLAG_VIEW;
            }
            out.push(flags);
            if let Some(view) = &d.view {
                put_blob(&mut out, view.as_bytes());
            }
            for set in [&d.old, &d.new].into_iter().flatten() {
                out.extend_from_slice(&set.ttl().to_be_bytes());
                put_blob(&mut out, &set.encode_rdatas());
            }
        }
        out
    }

    /// The inverse of [`Self::encode_body`].
    pub fn decode(
        seq: i64,
        serial_before: Serial,
        serial_after: Serial,
        body: &[u8],
    ) -> Result<Self, JournalError> {
        let mut r = Reader { buf: body, pos: 0 };
        let format = r.u8()?;
        if format != FORMAT && format != FORMAT_VIEWS {
            return Err(JournalError::Malformed("unknown format"));
        }
        let reload = r.u8()? != 0;
        let mut soa = || -> Result<SoaRecord, JournalError> {
            let ttl = r.u32()?;
            Ok(SoaRecord {
                ttl,
                rdata: r.blob()?.to_vec(),
            })
        };
        let soa_before = soa()?;
        let soa_after = soa()?;
        let count = r.u32()?;
        let mut deltas = Vec::with_capacity(count.min(4096) as usize);
        for _ in 0..count {
            let owner = r.name()?;
            let rtype = Rtype(r.u16()?);
            let flags = r.u8()?;
            if flags & FLAG_VIEW != 0 && format != FORMAT_VIEWS {
                return Err(JournalError::Malformed("view flag in a format 1 entry"));
            }
            let view = if flags & FLAG_VIEW != 0 {
                let bytes = r.blob()?;
                Some(
                    std::str::from_utf8(bytes)
                        .map_err(|_| JournalError::Malformed("view name is not UTF-8"))?
                        .to_owned(),
                )
            } else {
                None
            };
            let mut set = |present: bool| -> Result<Option<RecordSet>, JournalError> {
                if !present {
                    return Ok(None);
                }
                let ttl = r.u32()?;
                Ok(Some(RecordSet::decode(rtype, ttl, r.blob()?)?))
            };
            let old = set(flags & FLAG_OLD != 0)?;
            let new = set(flags & FLAG_NEW != 0)?;
            deltas.push(RrsetDelta {
                owner,
                rtype,
                old,
                new,
                is_static: flags & FLAG_STATIC != 0,
                view,
            });
        }
        if r.pos != body.len() {
            return Err(JournalError::Malformed("trailing data"));
        }
        Ok(Self {
            seq,
            serial_before,
            serial_after,
            soa_before,
            soa_after,
            reload,
            deltas,
        })
    }
}

fn put_blob(out: &mut Vec<u8>, blob: &[u8]) {
    out.extend_from_slice(&(blob.len() as u32).to_be_bytes());
    out.extend_from_slice(blob);
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], JournalError> {
        let out = self
            .buf
            .get(self.pos..self.pos + n)
            .ok_or(JournalError::Malformed("cut short"))?;
        self.pos += n;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, JournalError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, JournalError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, JournalError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn blob(&mut self) -> Result<&'a [u8], JournalError> {
        let len = self.u32()? as usize;
        self.take(len)
    }
    fn name(&mut self) -> Result<DomainName, JournalError> {
        let start = self.pos;
        loop {
            let len = usize::from(self.u8()?);
            if len == 0 {
                break;
            }
            self.take(len)?;
        }
        let text = wire_to_text(&self.buf[start..self.pos]);
        DomainName::parse(&text).map_err(|_| JournalError::Malformed("bad owner name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let origin = b"\x03dyn\x07example\x00";
        let a = |v: &str| RecordSet::from_values(Rtype::A, 60, &[v], origin).unwrap();
        let entry = JournalEntry {
            seq: 7,
            serial_before: Serial(1),
            serial_after: Serial(2),
            soa_before: SoaRecord {
                ttl: 3600,
                rdata: vec![0, 0, 1, 2, 3],
            },
            soa_after: SoaRecord {
                ttl: 3600,
                rdata: vec![0, 0, 4],
            },
            reload: false,
            deltas: vec![
                RrsetDelta {
                    owner: DomainName::parse("h.dyn.example").unwrap(),
                    rtype: Rtype::A,
                    old: Some(a("192.0.2.1")),
                    new: Some(a("192.0.2.2")),
                    is_static: false,
                    view: None,
                },
                RrsetDelta {
                    owner: DomainName::parse("h.dyn.example").unwrap(),
                    rtype: Rtype::A,
                    old: None,
                    new: Some(a("10.0.0.2")),
                    is_static: false,
                    view: Some("lan".into()),
                },
                RrsetDelta {
                    owner: DomainName::parse("*.w.dyn.example").unwrap(),
                    rtype: Rtype::A,
                    old: None,
                    new: Some(a("192.0.2.3")),
                    is_static: true,
                    view: None,
                },
            ],
        };
        let body = entry.encode_body();
        let back = JournalEntry::decode(7, Serial(1), Serial(2), &body).unwrap();
        assert_eq!(back, entry);
        assert_eq!(body[0], FORMAT_VIEWS);
        for cut in 0..body.len() {
            assert!(JournalEntry::decode(7, Serial(1), Serial(2), &body[..cut]).is_err());
        }
        let mut plain = entry.clone();
        plain.deltas.retain(|d| d.view.is_none());
        let body = plain.encode_body();
        assert_eq!(
            body[0], FORMAT,
            "no view delta: readable by binaries without views"
        );
        assert_eq!(
            JournalEntry::decode(7, Serial(1), Serial(2), &body).unwrap(),
            plain
        );
    }
}
