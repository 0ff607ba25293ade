//! The update-URL services (DuckDNS, Hurricane Electric, Namecheap dynamic DNS) against their
//! loopback fakes (`ddns_testkit::fake_update_url`), which check credentials as the services
//! do. They have no read API, so "no write when equal" is the agent's state (tested in
//! ddns-agent's engine tests); here, a repeated address is answered as "already up to date"
//! where the service says so, and one family never touches the other.

use std::time::Duration;

use ddns_providers::{FatalKind, Outcome, Provider};
use ddns_testkit::fake_update_url::{Addresses, FakeUpdateUrl, Service};

use crate::{fatal_of, provider_error, provider_for, update_of};

const TOKEN: &str = "a7c4d0ad-1234-4a5b-9c8d-0123456789ab";
const CHANGED: Outcome = Outcome::Published { changed: true };
const UNCHANGED: Outcome = Outcome::Published { changed: false };

fn both(v4: &str, v6: &str) -> Addresses {
    Addresses {
        ipv4: (!v4.is_empty()).then(|| v4.to_owned()),
        ipv6: (!v6.is_empty()).then(|| v6.to_owned()),
    }
}

fn assert_throttled(outcome: &Outcome) {
    match outcome {
        Outcome::Transient {
            reason,
            retry_after,
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(7)), "{reason}");
            assert!(reason.contains("429"), "{reason}");
        }
        other => panic!("expected a transient outcome, got {other:?}"),
    }
}

mod duckdns {
    use super::*;

    fn setup() -> (FakeUpdateUrl, Box<dyn Provider>) {
        let fake = FakeUpdateUrl::start(Service::Duckdns);
        fake.add_name("home.duckdns.org", TOKEN, Addresses::default());
        let provider = provider_for(
            &format!(
                "type = \"duckdns\"\ntoken = \"{TOKEN}\"\nendpoint = \"{}\"",
                fake.url()
            ),
            "home.duckdns.org",
        );
        (fake, provider)
    }

    #[tokio::test]
    async fn first_create() {
        let (fake, p) = setup();
        let outcome = p
            .publish(&update_of("home.duckdns.org", &["192.0.2.1"], &[]))
            .await;
        assert_eq!(outcome, CHANGED);
        assert_eq!(
            fake.addresses("home.duckdns.org"),
            Some(both("192.0.2.1", ""))
        );
        let requests = fake.requests();
        assert_eq!(requests.len(), 1);
        let target = &requests[0].target;
        assert!(
            target.contains("domains=home&") && target.contains("ip=192.0.2.1"),
            "{target}"
        );
        assert!(
            !target.contains("ipv6="),
            "an absent family is not sent: {target}"
        );
        assert!(
            requests[0]
                .header("user-agent")
                .unwrap()
                .starts_with("ddns/")
        );
    }

    #[tokio::test]
    async fn update_and_no_op() {
        let (fake, p) = setup();
        fake.add_name("home.duckdns.org", TOKEN, both("192.0.2.1", ""));
        let u = update_of("home.duckdns.org", &["192.0.2.9"], &[]);
        assert_eq!(p.publish(&u).await, CHANGED);
        assert_eq!(
            fake.addresses("home.duckdns.org"),
            Some(both("192.0.2.9", ""))
        );
        // The same again: DuckDNS says NOCHANGE, read as already up to date.
        assert_eq!(p.publish(&u).await, UNCHANGED);
        assert_eq!(fake.writes(), 1);
    }

    #[tokio::test]
    async fn a_and_aaaa_together_and_apart() {
        let (fake, p) = setup();
        let u = update_of("home.duckdns.org", &["192.0.2.1"], &["2001:db8::1"]);
        assert_eq!(p.publish(&u).await, CHANGED);
        assert_eq!(fake.requests().len(), 1, "both families in one request");
        assert_eq!(
            fake.addresses("home.duckdns.org"),
            Some(both("192.0.2.1", "2001:db8::1"))
        );
        // IPv6 alone: no blank ip is sent, so DuckDNS does not autodetect IPv4.
        let u = update_of("home.duckdns.org", &[], &["2001:db8::2"]);
        assert_eq!(p.publish(&u).await, CHANGED);
        assert_eq!(
            fake.addresses("home.duckdns.org"),
            Some(both("192.0.2.1", "2001:db8::2"))
        );
        let last = fake.requests().pop().unwrap().target;
        assert!(!last.contains("ip=&") && !last.contains("&ip="), "{last}");
        // IPv4 alone leaves the AAAA record.
        let u = update_of("home.duckdns.org", &["192.0.2.2"], &[]);
        assert_eq!(p.publish(&u).await, CHANGED);
        assert_eq!(
            fake.addresses("home.duckdns.org"),
            Some(both("192.0.2.2", "2001:db8::2"))
        );
    }

    #[tokio::test]
    async fn two_addresses_are_refused_before_sending() {
        let (fake, p) = setup();
        assert!(!p.capabilities().address_lists);
        let outcome = p
            .publish(&update_of(
                "home.duckdns.org",
                &["192.0.2.1", "192.0.2.2"],
                &[],
            ))
            .await;
        let (kind, message) = fatal_of(&outcome);
        assert_eq!(kind, FatalKind::Config);
        assert!(message.contains("one IPv4 address"), "{message}");
        assert!(fake.requests().is_empty());
    }

    #[tokio::test]
    async fn wrong_token() {
        let fake = FakeUpdateUrl::start(Service::Duckdns);
        fake.add_name("home.duckdns.org", TOKEN, Addresses::default());
        let wrong = "ffffffff-0000-4000-8000-000000000000";
        let p = provider_for(
            &format!(
                "type = \"duckdns\"\ntoken = \"{wrong}\"\nendpoint = \"{}\"",
                fake.url()
            ),
            "home.duckdns.org",
        );
        let outcome = p
            .publish(&update_of("home.duckdns.org", &["192.0.2.1"], &[]))
            .await;
        let (kind, message) = fatal_of(&outcome);
        assert_eq!(kind, FatalKind::Auth);
        assert!(
            message.contains("token") && !message.contains(wrong),
            "{message}"
        );
        assert!(!format!("{p:?}").contains(wrong));
        assert_eq!(fake.writes(), 0);
    }

    #[tokio::test]
    async fn throttled() {
        let (fake, p) = setup();
        fake.throttle(1);
        let u = update_of("home.duckdns.org", &["192.0.2.1"], &[]);
        assert_throttled(&p.publish(&u).await);
        assert_eq!(p.publish(&u).await, CHANGED);
    }

    #[tokio::test]
    async fn zone_not_found() {
        // Outside duckdns.org, or deeper than NAME.duckdns.org: refused at build.
        let err = provider_error("type = \"duckdns\"\ntoken = \"t\"", true, false);
        assert!(err.contains("duckdns.org"), "{err}");
        let spec: ddns_providers::ProviderSpec =
            toml::from_str("type = \"duckdns\"\ntoken = \"t\"").unwrap();
        let context = ddns_providers::BuildContext::new(
            ddns_core::DomainName::parse("a.home.duckdns.org").unwrap(),
            true,
            false,
        );
        let err = ddns_providers::build(&spec, &context)
            .unwrap_err()
            .to_string();
        assert!(err.contains("home.duckdns.org"), "{err}");
        // A name the account does not have: KO, named in the message.
        let (fake, _) = setup();
        let p = provider_for(
            &format!(
                "type = \"duckdns\"\ntoken = \"{TOKEN}\"\nendpoint = \"{}\"",
                fake.url()
            ),
            "other.duckdns.org",
        );
        let outcome = p
            .publish(&update_of("other.duckdns.org", &["192.0.2.1"], &[]))
            .await;
        let (kind, message) = fatal_of(&outcome);
        assert_eq!(kind, FatalKind::Auth);
        assert!(message.contains("other"), "{message}");
    }
}

mod he {
    use super::*;

    const KEY: &str = "dDnSkEy0123456789";

    fn setup(host: &str) -> (FakeUpdateUrl, Box<dyn Provider>) {
        let fake = FakeUpdateUrl::start(Service::He);
        fake.add_name(host, KEY, Addresses::default());
        let provider = provider_for(
            &format!(
                "type = \"he\"\npassword = \"{KEY}\"\nendpoint = \"{}\"",
                fake.url()
            ),
            host,
        );
        (fake, provider)
    }

    #[tokio::test]
    async fn first_create_update_and_no_op() {
        let (fake, p) = setup("home.example.com");
        let u = update_of("home.example.com", &["192.0.2.1"], &[]);
        assert_eq!(p.publish(&u).await, CHANGED);
        assert_eq!(
            fake.addresses("home.example.com"),
            Some(both("192.0.2.1", ""))
        );
        let target = fake.requests()[0].target.clone();
        assert!(
            target.starts_with("/nic/update?hostname=home.example.com&")
                && target.contains("myip=192.0.2.1"),
            "{target}"
        );
        let u = update_of("home.example.com", &["192.0.2.9"], &[]);
        assert_eq!(p.publish(&u).await, CHANGED);
        assert_eq!(
            fake.addresses("home.example.com"),
            Some(both("192.0.2.9", ""))
        );
        // nochg: already up to date.
        assert_eq!(p.publish(&u).await, UNCHANGED);
        assert_eq!(fake.writes(), 2);
    }

    #[tokio::test]
    async fn a_and_aaaa_are_one_request_each() {
        let (fake, p) = setup("home.example.com");
        let u = update_of("home.example.com", &["192.0.2.1"], &["2001:db8::1"]);
        assert_eq!(p.publish(&u).await, CHANGED);
        assert_eq!(fake.requests().len(), 2);
        assert_eq!(
            fake.addresses("home.example.com"),
            Some(both("192.0.2.1", "2001:db8::1"))
        );
        let u = update_of("home.example.com", &[], &["2001:db8::2"]);
        assert_eq!(p.publish(&u).await, CHANGED);
        assert_eq!(fake.requests().len(), 3, "IPv6 alone is one request");
        assert_eq!(
            fake.addresses("home.example.com"),
            Some(both("192.0.2.1", "2001:db8::2"))
        );
    }

    #[tokio::test]
    async fn two_addresses_are_refused_before_sending() {
        let (fake, p) = setup("home.example.com");
        let outcome = p
            .publish(&update_of(
                "home.example.com",
                &[],
                &["2001:db8::1", "2001:db8::2"],
            ))
            .await;
        let (kind, message) = fatal_of(&outcome);
        assert_eq!(kind, FatalKind::Config);
        assert!(message.contains("one IPv6 address"), "{message}");
        assert!(fake.requests().is_empty());
    }

    #[tokio::test]
    async fn wrong_key() {
        let fake = FakeUpdateUrl::start(Service::He);
        fake.add_name("home.example.com", KEY, Addresses::default());
        let p = provider_for(
            &format!(
                "type = \"he\"\npassword = \"wrong-KEY-42\"\nendpoint = \"{}\"",
                fake.url()
            ),
            "home.example.com",
        );
        let outcome = p
            .publish(&update_of("home.example.com", &["192.0.2.1"], &[]))
            .await;
        let (kind, message) = fatal_of(&outcome);
        assert_eq!(kind, FatalKind::Auth);
        assert!(
            message.contains("password") && !message.contains("wrong-KEY-42"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn throttled() {
        let (fake, p) = setup("home.example.com");
        fake.throttle(1);
        let u = update_of("home.example.com", &["192.0.2.1"], &[]);
        assert_throttled(&p.publish(&u).await);
        assert_eq!(p.publish(&u).await, CHANGED);
    }

    #[tokio::test]
    async fn zone_not_found_is_nohost() {
        let (_fake, p) = setup("home.example.com");
        let outcome = p
            .publish(&update_of("other.example.com", &["192.0.2.1"], &[]))
            .await;
        let (kind, message) = fatal_of(&outcome);
        assert_eq!(kind, FatalKind::Host);
        assert!(
            message.contains("other.example.com") && message.contains("dynamic dns"),
            "{message}"
        );
    }
}

mod namecheap {
    use super::*;

    const PASSWORD: &str = "0123456789abcdef0123456789abcdef";

    /// Namecheap sets IPv4 only, so its records publish IPv4 only.
    fn ipv4_only(toml_text: &str, host: &str) -> Box<dyn Provider> {
        let spec: ddns_providers::ProviderSpec = toml::from_str(toml_text).unwrap();
        let context = ddns_providers::BuildContext::new(
            ddns_core::DomainName::parse(host).unwrap(),
            true,
            false,
        );
        ddns_providers::build(&spec, &context).unwrap()
    }

    fn setup(host: &str) -> (FakeUpdateUrl, Box<dyn Provider>) {
        let fake = FakeUpdateUrl::start(Service::Namecheap);
        fake.add_name(host, PASSWORD, Addresses::default());
        let spec = format!(
            "type = \"namecheap\"\ndomain = \"example.com\"\npassword = \"{PASSWORD}\"\nendpoint = \"{}\"",
            fake.url()
        );
        let spec: ddns_providers::ProviderSpec = toml::from_str(&spec).unwrap();
        let context = ddns_providers::BuildContext::new(
            ddns_core::DomainName::parse(host).unwrap(),
            true,
            false,
        );
        (fake, ddns_providers::build(&spec, &context).unwrap())
    }

    #[tokio::test]
    async fn first_create_and_update() {
        let (fake, p) = setup("home.example.com");
        let u = update_of("home.example.com", &["192.0.2.1"], &[]);
        assert_eq!(p.publish(&u).await, CHANGED);
        assert_eq!(
            fake.addresses("home.example.com"),
            Some(both("192.0.2.1", ""))
        );
        let target = fake.requests()[0].target.clone();
        assert!(
            target.starts_with("/update?host=home&domain=example.com&")
                && target.contains("ip=192.0.2.1"),
            "{target}"
        );
        let u = update_of("home.example.com", &["192.0.2.9"], &[]);
        assert_eq!(p.publish(&u).await, CHANGED);
        assert_eq!(
            fake.addresses("home.example.com"),
            Some(both("192.0.2.9", ""))
        );
        // The apex is `@`.
        let (fake, p) = setup("example.com");
        assert_eq!(
            p.publish(&update_of("example.com", &["192.0.2.1"], &[]))
                .await,
            CHANGED
        );
        assert!(fake.requests()[0].target.starts_with("/update?host=%40&"));
    }

    #[tokio::test]
    async fn ipv6_and_two_addresses_are_refused() {
        let err = provider_error(
            "type = \"namecheap\"\ndomain = \"example.com\"\npassword = \"p\"",
            true,
            true,
        );
        assert!(err.contains("IPv6"), "{err}");
        let (fake, p) = setup("home.example.com");
        let outcome = p
            .publish(&update_of(
                "home.example.com",
                &["192.0.2.1", "192.0.2.2"],
                &[],
            ))
            .await;
        let (kind, _) = fatal_of(&outcome);
        assert_eq!(kind, FatalKind::Config);
        assert!(fake.requests().is_empty());
    }

    #[tokio::test]
    async fn wrong_password() {
        let fake = FakeUpdateUrl::start(Service::Namecheap);
        fake.add_name("home.example.com", PASSWORD, Addresses::default());
        let p = ipv4_only(
            &format!(
                "type = \"namecheap\"\ndomain = \"example.com\"\npassword = \"wrong-PW-7\"\nendpoint = \"{}\"",
                fake.url()
            ),
            "home.example.com",
        );
        let outcome = p
            .publish(&update_of("home.example.com", &["192.0.2.1"], &[]))
            .await;
        let (kind, message) = fatal_of(&outcome);
        assert_eq!(kind, FatalKind::Auth);
        assert!(
            message.contains("password") && !message.contains("wrong-PW-7"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn throttled() {
        let (fake, p) = setup("home.example.com");
        fake.throttle(1);
        let u = update_of("home.example.com", &["192.0.2.1"], &[]);
        assert_throttled(&p.publish(&u).await);
        assert_eq!(p.publish(&u).await, CHANGED);
    }

    #[tokio::test]
    async fn zone_not_found() {
        // A record outside the configured domain: refused at build.
        let err = provider_error(
            "type = \"namecheap\"\ndomain = \"example.org\"\npassword = \"p\"",
            true,
            false,
        );
        assert!(
            err.contains("domain") && err.contains("example.org"),
            "{err}"
        );
        // A domain Namecheap does not know.
        let fake = FakeUpdateUrl::start(Service::Namecheap);
        fake.add_name("home.example.net", PASSWORD, Addresses::default());
        let toml_for = |fake: &FakeUpdateUrl| {
            format!(
                "type = \"namecheap\"\ndomain = \"example.com\"\npassword = \"{PASSWORD}\"\nendpoint = \"{}\"",
                fake.url()
            )
        };
        let p = ipv4_only(&toml_for(&fake), "home.example.com");
        let outcome = p
            .publish(&update_of("home.example.com", &["192.0.2.1"], &[]))
            .await;
        let (kind, message) = fatal_of(&outcome);
        assert_eq!(kind, FatalKind::Host);
        assert!(message.contains("domain example.com"), "{message}");
        // A domain it knows, without that A + Dynamic DNS record.
        let (fake, _) = setup("home.example.com");
        let p = ipv4_only(&toml_for(&fake), "other.example.com");
        let outcome = p
            .publish(&update_of("other.example.com", &["192.0.2.1"], &[]))
            .await;
        let (kind, message) = fatal_of(&outcome);
        assert_eq!(kind, FatalKind::Host);
        assert!(message.contains("other.example.com"), "{message}");
        assert_eq!(fake.writes(), 0);
    }
}
