//! Pure types and rules of ddns, with no I/O: the vocabulary every other crate speaks.
//!
//! - [`name`]: validated domain names;
//! - [`rtype`]: RR types and response codes;
//! - [`rdata`]: RDATA of every type, validated, in wire form, with its presentation form;
//! - [`record`]: record sets;
//! - [`journal`]: one zone's change sets, one serial step each (replay and IXFR);
//! - [`zone_file`]: a streaming RFC 1035 §5 master-file reader and a line writer;
//! - [`snapshot`]: immutable zone snapshots in DNS wire form, the DNS read path's data;
//! - [`zone_text`]: master-file text as record sets, and whole zones written out;
//! - [`serial`]: RFC 1982 serial arithmetic;
//! - [`dns_update`]: RFC 2136 UPDATE messages parsed, prerequisites checked, updates planned;
//! - [`dyndns2`]: the DynDNS2 request and its return codes;
//! - [`scope`]: what a token may change;
//! - [`actor`]: who made a change;
//! - [`token`]: API token format and verification;
//! - [`view`]: split-horizon views chosen by the client's source prefix.

pub mod actor;
pub mod dns_update;
pub mod dyndns2;
pub mod journal;
pub mod name;
pub mod rdata;
pub mod record;
pub mod rtype;
pub mod scope;
pub mod serial;
pub mod snapshot;
pub mod token;
pub mod view;
pub mod zone_file;
pub mod zone_text;

pub use actor::{Actor, Origin};
pub use name::{DomainName, NameError};
pub use rdata::{Rdata, RdataError};
pub use record::{RecordError, RecordSet};
pub use rtype::{CLASS_ANY, CLASS_IN, CLASS_NONE, Rcode, Rtype};
pub use scope::{Restrictions, Scope, ScopeEntry};
pub use serial::Serial;
