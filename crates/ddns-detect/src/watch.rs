//! Interface address change events, so the agent re-detects right after a PPPoE reconnect or
//! a new IPv6 prefix instead of at its next timer tick.
//!
//! if-watch does the platform work (an rtnetlink subscription on Linux,
//! `NotifyIpInterfaceChange` on Windows, polling elsewhere). It reports every address already
//! present as "up" when it starts; those are filtered out here against a snapshot taken at
//! [`InterfaceEvents::start`], so [`InterfaceEvents::changed`] means a real change. Nothing is
//! debounced: a reconnect produces a burst of events and the agent decides how long to wait.
//!
//! Only additions and removals are reported. An address whose flags change (tentative to
//! preferred once duplicate address detection ends, preferred to deprecated) raises no event,
//! so the agent keeps a timer as well.

use std::collections::HashSet;
use std::future::poll_fn;
use std::net::IpAddr;

use if_watch::IfEvent;
use if_watch::tokio::IfWatcher;
pub use ipnet::IpNet;

/// An address that appeared or disappeared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressChange {
    /// A new address, with its prefix length.
    Added(IpNet),
    /// An address that is gone.
    Removed(IpNet),
}

/// Why watching interfaces failed.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The OS refused the subscription (no netlink in a container, for example).
    #[error("cannot watch network interfaces: {0}")]
    Start(#[source] std::io::Error),
    /// The subscription broke; start a new one.
    #[error("watching network interfaces failed: {0}")]
    Lost(#[source] std::io::Error),
}

/// A subscription to interface address changes.
#[derive(Debug)]
pub struct InterfaceEvents {
    watcher: IfWatcher,
    present: HashSet<IpAddr>,
}

impl InterfaceEvents {
    /// Subscribes. Must be called inside a tokio runtime.
    pub fn start() -> Result<Self, WatchError> {
        let watcher = IfWatcher::new().map_err(WatchError::Start)?;
        let present = netdev::get_interfaces()
            .into_iter()
            .flat_map(|iface| iface.ip_addrs())
            .collect();
        Ok(Self { watcher, present })
    }

    /// Resolves at the next address added or removed on any interface.
    pub async fn changed(&mut self) -> Result<AddressChange, WatchError> {
        loop {
            let event = poll_fn(|cx| self.watcher.poll_if_event(cx))
                .await
                .map_err(WatchError::Lost)?;
            match event {
                IfEvent::Up(net) => {
                    if self.present.insert(net.addr()) {
                        return Ok(AddressChange::Added(net));
                    }
                }
                IfEvent::Down(net) => {
                    self.present.remove(&net.addr());
                    return Ok(AddressChange::Removed(net));
                }
            }
        }
    }
}

// The test needs Linux network namespaces (`unshare`, `ip`).
#[cfg(test)]
#[cfg(target_os = "linux")]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Duration;

    const IN_NAMESPACE: &str = "DDNS_DETECT_IN_NETNS";

    /// Runs `test` in a fresh network namespace (`unshare -rn`), so adding addresses touches
    /// nothing on the host. Fails where namespaces are unavailable: it never skips silently.
    fn in_namespace(test: &str) -> bool {
        if std::env::var_os(IN_NAMESPACE).is_some() {
            return true;
        }
        let probe = Command::new("unshare").args(["-rn", "true"]).status();
        assert!(
            probe.is_ok_and(|s| s.success()),
            "{test} needs a network namespace (unshare -rn) and could not create one"
        );
        let exe = std::env::current_exe().unwrap();
        let status = Command::new("unshare")
            .arg("-rn")
            .arg(exe)
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(IN_NAMESPACE, "1")
            .status()
            .unwrap();
        assert!(status.success(), "{test} failed inside the namespace");
        false
    }

    fn ip(args: &[&str]) {
        let status = Command::new("ip").args(args).status().unwrap();
        assert!(status.success(), "ip {args:?}");
    }

    #[test]
    fn sees_added_and_removed_addresses() {
        if !in_namespace("watch::tests::sees_added_and_removed_addresses") {
            return;
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // lo stays down, so nothing but these commands changes its addresses.
            ip(&["addr", "add", "192.0.2.1/32", "dev", "lo"]);
            let mut events = InterfaceEvents::start().unwrap();
            // Addresses present at start are not changes.
            let quiet = tokio::time::timeout(Duration::from_millis(300), events.changed()).await;
            assert!(quiet.is_err(), "spurious event {quiet:?}");

            ip(&["addr", "add", "192.0.2.77/32", "dev", "lo"]);
            let change = tokio::time::timeout(Duration::from_secs(5), events.changed())
                .await
                .expect("no event for the added address")
                .unwrap();
            assert_eq!(
                change,
                AddressChange::Added("192.0.2.77/32".parse().unwrap())
            );

            ip(&["addr", "del", "192.0.2.77/32", "dev", "lo"]);
            let change = tokio::time::timeout(Duration::from_secs(5), events.changed())
                .await
                .expect("no event for the removed address")
                .unwrap();
            assert_eq!(
                change,
                AddressChange::Removed("192.0.2.77/32".parse().unwrap())
            );
        });
    }
}
