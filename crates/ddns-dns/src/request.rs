//! The request seam: what a listener hands the handler, and what the handler tells it back.
//!
//! Listeners know sockets; the handler knows DNS. A [`Request`] carries the message with where
//! and how it came (peer address, transport), so access lists, transfers, updates and rate
//! limits can decide on it; an [`Outcome`] says what was done (OPCODE, RCODE, the zone, size,
//! truncation), so metrics, logs and rate limiting read it without decoding the answer again.
//! Both are plain values: the query path stays allocation-free.

use std::net::SocketAddr;

use ddns_core::{Rcode, Rtype};

/// How the message arrived: it decides the size limit, the ANY policy and what may be served
/// (zone transfers only over TCP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// UDP: 512 octets, or the EDNS payload size.
    Udp,
    /// TCP: up to 65535 octets per message.
    Tcp,
}

/// One DNS message received.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The message as received.
    pub message: &'a [u8],
    /// Who sent it.
    pub peer: SocketAddr,
    /// How.
    pub transport: Transport,
}

/// What the listener does with the handler's work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send the response that was written.
    Reply,
    /// Send nothing (not a query, or too short to answer).
    Drop,
    /// The fast path does not answer this one (signed, a transfer, an UPDATE): hand it to
    /// [`DnsService::handle`](crate::DnsService::handle).
    Defer,
}

/// What the handler did with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Send or drop.
    pub action: Action,
    /// OPCODE of the request.
    pub opcode: u8,
    /// RCODE answered (extended codes included).
    pub rcode: Rcode,
    /// QTYPE, when a question could be read.
    pub qtype: Option<Rtype>,
    /// Index in the served [`ZoneSet`](ddns_core::snapshot::ZoneSet) of the zone that
    /// answered, if any.
    pub zone: Option<usize>,
    /// Size of the response.
    pub len: usize,
    /// The response was cut short (TC=1).
    pub truncated: bool,
    /// The answer was synthesised from a wildcard (RFC 4592), so rate limiting counts it
    /// for the wildcard, not for the name asked.
    pub wildcard: bool,
}

impl Outcome {
    /// Nothing to send.
    pub(crate) fn dropped() -> Self {
        Self {
            action: Action::Drop,
            opcode: 0,
            rcode: Rcode::NOERROR,
            qtype: None,
            zone: None,
            len: 0,
            truncated: false,
            wildcard: false,
        }
    }

    /// Left for the service.
    pub(crate) fn deferred(opcode: u8) -> Self {
        Self {
            action: Action::Defer,
            opcode,
            ..Self::dropped()
        }
    }

    /// A response written to `out`.
    pub(crate) fn reply(opcode: u8, rcode: Rcode, out: &[u8], truncated: bool) -> Self {
        Self {
            action: Action::Reply,
            opcode,
            rcode,
            qtype: None,
            zone: None,
            len: out.len(),
            truncated,
            wildcard: false,
        }
    }

    /// The same outcome with `len` octets sent in all (multi-message answers).
    #[must_use]
    pub(crate) fn with_len(mut self, len: usize) -> Self {
        self.len = len;
        self
    }

    /// The same outcome, answered by zone `index`.
    #[must_use]
    pub(crate) fn in_zone(mut self, index: usize) -> Self {
        self.zone = Some(index);
        self
    }

    /// True when there is a response to send.
    pub fn replies(&self) -> bool {
        self.action == Action::Reply
    }

    /// True when the service must handle the request.
    pub fn deferred_to_service(&self) -> bool {
        self.action == Action::Defer
    }
}
