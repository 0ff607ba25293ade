//! Configuration files of ddns: versioned TOML specs turned into validated runtime settings.
//!
//! Unknown keys and bad values are errors that name the file, line and key ([`ConfigError`]);
//! nothing downstream ever sees an unchecked value.

mod dns_access;
pub mod duration;
mod error;
pub mod failover;
mod sealed;
pub mod server;
pub mod store;
pub mod tls;
pub mod versions;
pub mod views;
pub mod when;

pub use error::ConfigError;
pub use failover::{AllDown, FailoverConfig, HealthCheck};
pub use sealed::open_sealed;
pub use server::{
    AuditConfig, AuditWebhook, ServerConfig, ServerOverrides, SyslogTarget, ZoneConfig,
};
pub use store::StoreLocation;
pub use views::ViewConfig;
