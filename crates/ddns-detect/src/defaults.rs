//! The built-in public sources, used when the configuration names none.
//!
//! Only services documented or widely used as plain-text echoes (the body is the address and
//! nothing else) are listed; services that wrap the address in HTML or prose
//! (`myip.ipip.net`, `ddns.oray.com/checkip`) are not, because [`crate::http_echo`] rejects
//! such answers by design. Operators differ per entry, so one outage or one wrong answer cannot
//! reach the default quorum of 2 alone.
//!
//! Several Western services are slow or unreachable from mainland China; `ipw.cn`,
//! `ip.3322.net` and CERNET's `speed.neu6.edu.cn` are hosted there and answer well from
//! Chinese networks, so a Chinese user still has a quorum without any configuration.
//!
//! None of these is ever contacted by the test suite.

use crate::Family;
use crate::dns::DnsService;
use crate::source::SourceSpec;

/// Plain-text IPv4 echo services.
const HTTP_V4: &[&str] = &[
    "https://api.ipify.org",
    "https://ipv4.icanhazip.com",
    "https://v4.ident.me",
    "https://checkip.amazonaws.com",
    "https://api-ipv4.ip.sb/ip",
    // Hosted in mainland China.
    "https://4.ipw.cn",
    "https://ip.3322.net",
];

/// Plain-text IPv6 echo services.
const HTTP_V6: &[&str] = &[
    "https://api6.ipify.org",
    "https://ipv6.icanhazip.com",
    "https://v6.ident.me",
    "https://api-ipv6.ip.sb/ip",
    // Dual-stack; the request is forced onto IPv6, so it answers the IPv6 address.
    "https://ifconfig.co/ip",
    // Hosted in mainland China (ipw.cn; CERNET2 at Northeastern University).
    "https://6.ipw.cn",
    "https://speed.neu6.edu.cn/getIP.php",
];

/// The DNS presets, each asked over the family being detected.
const DNS: [DnsService; 3] = [
    DnsService::OpenDns,
    DnsService::Cloudflare,
    DnsService::Google,
];

/// The default sources for `family`: the HTTP echo services, then the DNS presets.
pub fn sources(family: Family) -> Vec<SourceSpec> {
    let urls = match family {
        Family::V4 => HTTP_V4,
        Family::V6 => HTTP_V6,
    };
    urls.iter()
        .map(|url| SourceSpec::Http {
            url: (*url).to_owned(),
        })
        .chain(DNS.into_iter().map(|service| SourceSpec::Dns {
            service: Some(service),
            name: None,
            qtype: None,
            class: None,
            server: None,
        }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    #[test]
    fn every_default_validates_and_is_distinct() {
        for family in [Family::V4, Family::V6] {
            let specs = sources(family);
            assert!(specs.len() >= 9, "{family}: {}", specs.len());
            let mut labels = Vec::new();
            for spec in &specs {
                let source = Source::from_spec(spec, family).unwrap();
                assert!(!source.is_local());
                labels.push(source.label().to_owned());
            }
            let count = labels.len();
            labels.sort();
            labels.dedup();
            assert_eq!(labels.len(), count, "duplicate defaults for {family}");
            let https = specs
                .iter()
                .filter(|s| matches!(s, SourceSpec::Http { url } if url.starts_with("https://")))
                .count();
            assert!(https >= 6, "{family}: {https} HTTPS echo services");
            let china = specs
                .iter()
                .filter(|s| matches!(s, SourceSpec::Http { url } if url.contains("ipw.cn") || url.contains("3322") || url.contains(".edu.cn")))
                .count();
            assert!(china >= 2, "{family}: {china} sources hosted in China");
        }
    }

    #[test]
    fn dns_presets_use_the_family_servers() {
        let v6 = Source::from_spec(&sources(Family::V6)[HTTP_V6.len()], Family::V6).unwrap();
        assert_eq!(v6.label(), "dns opendns @[2620:119:35::35]:53");
        let v4 = Source::from_spec(&sources(Family::V4)[HTTP_V4.len() + 2], Family::V4).unwrap();
        assert_eq!(v4.label(), "dns google @216.239.32.10:53");
    }
}
