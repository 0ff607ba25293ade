//! The ddns agent: keeps DNS records pointing at this machine's (or this network's) public
//! addresses, and tells the user clearly when it cannot.
//!
//! - [`config`]: the TOML file, secrets from the environment or files, validation;
//! - [`plan`]: every decision as a pure function (lines, change, backoff, fatal parking);
//! - [`state`]: what was published and what is owed, in an atomically replaced JSON file;
//! - [`fingerprint`]: keyed fingerprints of record configurations, so the state file does not
//!   allow guessing secrets offline;
//! - [`engine`]: the loop (polling with jitter, interface events, retries, reload) and `--once`;
//! - [`verify`]: checking published records against their authoritative servers;
//! - `notify`: webhooks on change, failure and recovery.
//!
//! Address detection is `ddns-detect`'s and publishing is `ddns-providers`'; this crate only
//! decides when and what.

pub mod config;
pub mod engine;
pub mod fingerprint;
mod notify;
pub mod plan;
pub mod state;
pub mod verify;

pub use config::AgentConfig;
pub use engine::{AgentError, Failure, run, run_once};
