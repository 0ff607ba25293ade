//! Detection from local interface addresses, for hosts that hold the public address
//! themselves (PPPoE on the host, IPv6 with SLAAC) and for LAN hosts behind a delegated IPv6
//! prefix ("delegated prefix + fixed interface ID").
//!
//! This module reads the host's interfaces (netdev) and validates the spec; the choosing is
//! in [`crate::address_selection`]. With `interface_id`, the published address is the top
//! `prefix_len` bits of the selected address followed by the low bits of the interface ID.

use std::net::{IpAddr, Ipv6Addr};

use crate::Family;
pub use crate::address_selection::Ipv6Selection;
use crate::address_selection::{
    AddressFlags, InterfaceAddress, NamePattern, select, with_interface_id,
};
use crate::source::{DetectError, SpecError};

/// A validated interface source.
#[derive(Clone, Debug)]
pub struct InterfaceSource {
    pattern: NamePattern,
    selection: Ipv6Selection,
    interface_id: Option<(Ipv6Addr, u8)>,
}

impl InterfaceSource {
    /// Validates the spec's fields for `family`.
    pub fn new(
        name: &str,
        selection: Ipv6Selection,
        interface_id: Option<Ipv6Addr>,
        prefix_len: Option<u8>,
        family: Family,
    ) -> Result<Self, SpecError> {
        let pattern = NamePattern::new(name)?;
        if interface_id.is_some() && family == Family::V4 {
            return Err(SpecError::Family(
                "interface_id applies to IPv6 only; remove it from the IPv4 sources".into(),
            ));
        }
        let interface_id = match (interface_id, prefix_len) {
            (None, Some(_)) => {
                return Err(SpecError::invalid(
                    "prefix_len",
                    "only applies together with interface_id",
                ));
            }
            (None, None) => None,
            (Some(_), Some(len)) if !(1..=127).contains(&len) => {
                return Err(SpecError::invalid(
                    "prefix_len",
                    format!("{len} is out of range; it must be between 1 and 127"),
                ));
            }
            (Some(id), len) => Some((id, len.unwrap_or(64))),
        };
        Ok(Self {
            pattern,
            selection,
            interface_id,
        })
    }

    /// `eth*` or `eth0 (prefix/56 + ::1234)`.
    pub fn describe(&self) -> String {
        match self.interface_id {
            Some((id, len)) => format!("{} (prefix/{len} + {id})", self.pattern.as_str()),
            None => self.pattern.as_str().to_owned(),
        }
    }

    /// Reads the host's interfaces and selects.
    pub async fn detect(&self, family: Family) -> Result<IpAddr, DetectError> {
        let pattern = self.pattern.clone();
        let addresses = tokio::task::spawn_blocking(move || host_addresses(&pattern))
            .await
            .map_err(|e| DetectError::NoAddress(format!("reading interfaces failed: {e}")))?;
        let chosen = select(
            &addresses,
            &self.pattern,
            family,
            &self.selection,
            self.interface_id.is_some(),
        )?;
        Ok(match (chosen, self.interface_id) {
            (IpAddr::V6(prefix), Some((id, len))) => IpAddr::V6(with_interface_id(prefix, id, len)),
            _ => chosen,
        })
    }
}

/// The host's interface addresses. On Windows the interface's `name` is a GUID, so an
/// interface is listed under its friendly name ("Ethernet 2") when that is what matches.
fn host_addresses(pattern: &NamePattern) -> Vec<InterfaceAddress> {
    let mut out = Vec::new();
    for iface in netdev::get_interfaces() {
        let name = match &iface.friendly_name {
            Some(friendly) if !pattern.matches(&iface.name) && pattern.matches(friendly) => {
                friendly.clone()
            }
            _ => iface.name.clone(),
        };
        let up = iface.is_up();
        for net in &iface.ipv4 {
            out.push(InterfaceAddress {
                interface: name.clone(),
                up,
                address: IpAddr::V4(net.addr()),
                prefix_len: net.prefix_len(),
                flags: AddressFlags::default(),
            });
        }
        for (i, net) in iface.ipv6.iter().enumerate() {
            let f = iface.ipv6_addr_flags.get(i).copied().unwrap_or_default();
            out.push(InterfaceAddress {
                interface: name.clone(),
                up,
                address: IpAddr::V6(net.addr()),
                prefix_len: net.prefix_len(),
                flags: AddressFlags {
                    temporary: f.temporary,
                    deprecated: f.deprecated,
                    tentative: f.tentative,
                    duplicated: f.duplicated,
                    permanent: f.permanent,
                },
            });
        }
    }
    out
}

/// The recursive resolvers the system is configured with (`/etc/resolv.conf` on Unix, the
/// adapters' DNS servers on Windows), in order, without duplicates.
pub fn system_resolvers() -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for iface in netdev::get_interfaces() {
        for server in iface.dns_servers {
            if !out.contains(&server) {
                out.push(server);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn spec_validation() {
        let sel = Ipv6Selection::default();
        let id = Some("::1".parse().unwrap());
        let e = InterfaceSource::new("eth0", sel, id, None, Family::V4).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("interface_id applies to IPv6 only"),
            "{e}"
        );
        let e = InterfaceSource::new("eth0", sel, None, Some(64), Family::V6).unwrap_err();
        assert_eq!(
            e.to_string(),
            "prefix_len: only applies together with interface_id"
        );
        let e = InterfaceSource::new("eth0", sel, id, Some(0), Family::V6).unwrap_err();
        assert!(
            e.to_string().starts_with("prefix_len: 0 is out of range"),
            "{e}"
        );
        let e = InterfaceSource::new("eth[01]", sel, None, None, Family::V6).unwrap_err();
        assert!(e.to_string().contains("patterns use only * and ?"), "{e}");
        assert!(InterfaceSource::new(" ", sel, None, None, Family::V6).is_err());
        let s = InterfaceSource::new("eth0", sel, id, Some(56), Family::V6).unwrap();
        assert_eq!(s.describe(), "eth0 (prefix/56 + ::1)");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn real_loopback() {
        let source =
            InterfaceSource::new("lo", Ipv6Selection::default(), None, None, Family::V4).unwrap();
        let got = source.detect(Family::V4).await.unwrap();
        assert_eq!(got.to_string(), "127.0.0.1");
        let e = source.detect(Family::V6).await.unwrap_err();
        assert!(
            e.to_string().contains("::1 is loopback") || e.to_string().contains("no IPv6 address"),
            "{e}"
        );
    }
}
