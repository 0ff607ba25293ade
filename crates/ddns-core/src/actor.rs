//! Who made a change: recorded in every history row.
//!
//! One type for every kind of writer (API tokens, the command line, the configuration, RFC 2136
//! requesters, the health checker), so the history and audit code never needs to know where a change came from.

use std::fmt;

/// The author of a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// An API or DynDNS2 token, by its public id.
    Token(String),
    /// The `ddns` command line run by an operator on the server's data directory.
    Cli,
    /// The server's configuration file: its static records and SOA, applied at start.
    Config,
    /// An RFC 2136 UPDATE, by who sent it: `key:NAME` when TSIG-signed, else
    /// `subnet:ADDRESS`.
    Rfc2136(String),
    /// A rollback to an earlier state (`ddns host rollback`, the API's rollback), by whoever
    /// asked for it: its history rows say `rollback/<actor>`.
    Rollback(Box<Self>),
    /// The server's own ACME client: DNS-01 challenge records for its certificate.
    Acme,
    /// The server's health checker: the answered addresses of a `[[zone.failover]]` name.
    Health,
    /// The web console, signed in with the admin password (signed in with a token, the
    /// console acts as that token).
    Console,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(id) => write!(f, "token:{id}"),
            Self::Cli => f.write_str("cli"),
            Self::Config => f.write_str("config"),
            Self::Rfc2136(who) => write!(f, "rfc2136:{who}"),
            Self::Rollback(by) => write!(f, "rollback/{by}"),
            Self::Acme => f.write_str("acme"),
            Self::Health => f.write_str("health"),
            Self::Console => f.write_str("console"),
        }
    }
}

/// Where a change came from, for the history row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// Client address (after trusted-proxy resolution).
    pub source_ip: Option<std::net::IpAddr>,
    /// HTTP User-Agent, if any.
    pub user_agent: Option<String>,
}
