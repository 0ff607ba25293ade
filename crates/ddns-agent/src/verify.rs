//! Checking published records against what their authoritative servers answer, to catch
//! drift (a provider that lost the change, a manual edit in a web console) and publish again.
//!
//! The servers are the record's `verify_servers`, or the zone's NS found through the resolver
//! (`[agent] resolver`, else the system's). Queries are non-recursive and only answers with
//! the AA bit count, so a cache can never report a stale value as drift or hide one.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ddns_detect::Family;

use crate::config::{AgentConfig, RecordConfig};
use crate::state::Addresses;

const TIMEOUT: Duration = Duration::from_secs(3);

/// What a check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verification {
    /// Every published family matches.
    Matches,
    /// A family differs: (family, what the server answers).
    Drift(Family, Vec<IpAddr>),
    /// No server could be asked or none answered authoritatively.
    Unknown(String),
}

/// Compares `published` with the authoritative answers for `record`.
pub async fn verify(
    config: &AgentConfig,
    record: &RecordConfig,
    published: &Addresses,
) -> Verification {
    let servers = match servers_for(config, record).await {
        Ok(servers) => servers,
        Err(why) => return Verification::Unknown(why),
    };
    let name = record.name.to_fqdn();
    for (family, expected) in published {
        let mut answered = None;
        let mut last_error = String::new();
        for server in &servers {
            match ddns_detect::query_addresses(*server, &name, *family, TIMEOUT).await {
                Ok(found) => {
                    answered = Some(found);
                    break;
                }
                Err(e) => last_error = format!("{server}: {e}"),
            }
        }
        let Some(mut found) = answered else {
            return Verification::Unknown(last_error);
        };
        found.sort_unstable();
        let mut expected = expected.clone();
        expected.sort_unstable();
        if found != expected {
            return Verification::Drift(*family, found);
        }
    }
    Verification::Matches
}

async fn servers_for(
    config: &AgentConfig,
    record: &RecordConfig,
) -> Result<Vec<SocketAddr>, String> {
    if !record.verify_servers.is_empty() {
        return Ok(record.verify_servers.clone());
    }
    let resolver = match config.resolver {
        Some(r) => r,
        None => ddns_detect::system_resolvers()
            .into_iter()
            .next()
            .map(|ip| SocketAddr::new(ip, 53))
            .ok_or("no resolver is configured or known to the system")?,
    };
    ddns_detect::authoritative_servers(resolver, &record.name.to_fqdn(), TIMEOUT)
        .await
        .map_err(|e| e.to_string())
}
