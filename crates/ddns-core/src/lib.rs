//! Pure types and rules of ddns, with no I/O: the vocabulary every other crate speaks.
//!
//! - [`name`]: validated domain names;
//! - [`record`]: the dynamic record types and their values;
//! - [`snapshot`]: immutable zone snapshots in DNS wire form, the DNS read path's data;
//! - [`zone_text`]: RFC 1035 master-file text in and out;
//! - [`serial`]: RFC 1982 serial arithmetic;
//! - [`dyndns2`]: the DynDNS2 request and its return codes;
//! - [`scope`]: what a token may change;
//! - [`actor`]: who made a change;
//! - [`token`]: API token format and verification.

pub mod actor;
pub mod dyndns2;
pub mod name;
pub mod record;
pub mod scope;
pub mod serial;
pub mod snapshot;
pub mod token;
pub mod zone_text;

pub use actor::{Actor, Origin};
pub use name::{DomainName, NameError};
pub use record::{RecordData, RecordError, RecordSet, RecordType};
pub use scope::{Scope, ScopeEntry};
pub use serial::Serial;
