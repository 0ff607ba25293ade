//! Authoritative DNS for ddns.
//!
//! - [`request`]: the seam between listeners and the handler: [`Request`] in, [`Outcome`] out;
//! - [`answer`]: request in, response packet out, from an immutable zone snapshot;
//! - [`listener`]: UDP and TCP sockets around it; `udp`: the UDP fast path, a blocking
//!   thread per socket;
//! - [`access`]: per-zone transfer, NOTIFY and update rules;
//! - `service`: what the fast path defers — TSIG-signed messages, AXFR/IXFR, UPDATE;
//! - [`notify`]: NOTIFY to secondaries after each serial change;
//! - [`metrics`]: counters of queries, connections, transfers and NOTIFY, per worker on the
//!   UDP fast path, summed at a scrape;
//! - [`rrl`]: response rate limiting of UDP answers (BIND's and Knot's RRL);
//! - [`tsig`]: TSIG (RFC 8945) signing and verification, pure, for queries, NOTIFY, UPDATE
//!   and zone transfers.
//!
//! **Architecture invariant:** this crate never touches the store. Each query loads the
//! current [`ZoneSet`](ddns_core::snapshot::ZoneSet) from an `ArcSwap` and answers from it; a
//! snapshot being replaced while a query runs is never observed half-way.

pub mod access;
pub mod answer;
pub mod listener;
pub mod metrics;
pub mod notify;
mod query;
pub mod request;
pub mod rrl;
mod service;
pub mod tsig;
mod udp;

pub use answer::respond;
pub use listener::{DnsListeners, DnsServing, DnsSettings};
pub use metrics::DnsMetrics;
pub use request::{Action, Outcome, Request, Transport};
pub use service::{DnsService, MessageSink, UpdateRequest, Updater};
