//! The cloud DNS providers against loopback fakes that follow each vendor's documented
//! requests, answers and error codes and check credentials as the vendor does
//! (`ddns_testkit::fake_*`): the signed APIs (Alibaba Cloud DNS, DNSPod, Huawei Cloud DNS),
//! whose fakes verify signatures, and the token APIs (deSEC, DigitalOcean, Porkbun, Gandi,
//! GoDaddy, Vercel, dynv6, NameSilo), whose fakes check keys and tokens where the vendor
//! takes them. Every behaviour is checked for each of them; what one vendor does beyond that
//! is in `token_apis.rs`.

use std::time::Duration;

use ddns_core::DomainName;
use ddns_providers::{
    BuildContext, FatalKind, HttpOptions, Outcome, Provider, ProviderSpec, Update, build,
};
use ddns_testkit::fake_alidns::FakeAlidns;
use ddns_testkit::fake_cloud::CloudDns;
use ddns_testkit::fake_desec::FakeDesec;
use ddns_testkit::fake_digitalocean::FakeDigitalocean;
use ddns_testkit::fake_dnspod::FakeDnspod;
use ddns_testkit::fake_dynv6::FakeDynv6;
use ddns_testkit::fake_gandi::FakeGandi;
use ddns_testkit::fake_godaddy::FakeGodaddy;
use ddns_testkit::fake_huaweicloud::FakeHuaweicloud;
use ddns_testkit::fake_namesilo::FakeNamesilo;
use ddns_testkit::fake_porkbun::FakePorkbun;
use ddns_testkit::fake_vercel::FakeVercel;

use crate::{v4, v6};

#[derive(Clone, Copy, Debug)]
pub(crate) enum Vendor {
    Alidns,
    Dnspod,
    Huaweicloud,
    Desec,
    Digitalocean,
    Porkbun,
    Gandi,
    Godaddy,
    Vercel,
    Dynv6,
    Namesilo,
}

const ID: &str = "LTAI5tFAKEid0123456789";
pub(crate) const SECRET: &str = "s3cr3t-FAKE-9f8e7d6c5b4a";

impl Vendor {
    fn start(self) -> Box<dyn CloudDns> {
        match self {
            Self::Alidns => Box::new(FakeAlidns::start(ID, SECRET)),
            Self::Dnspod => Box::new(FakeDnspod::start(ID, SECRET)),
            Self::Huaweicloud => Box::new(FakeHuaweicloud::start(ID, SECRET)),
            Self::Desec => Box::new(FakeDesec::start(SECRET)),
            Self::Digitalocean => Box::new(FakeDigitalocean::start(SECRET)),
            Self::Porkbun => Box::new(FakePorkbun::start(ID, SECRET)),
            Self::Gandi => Box::new(FakeGandi::start(SECRET)),
            Self::Godaddy => Box::new(FakeGodaddy::start(ID, SECRET)),
            Self::Vercel => Box::new(FakeVercel::start(SECRET)),
            Self::Dynv6 => Box::new(FakeDynv6::start(SECRET)),
            Self::Namesilo => Box::new(FakeNamesilo::start(SECRET)),
        }
    }

    /// The settings that hold the id (for vendors with one) and the secret, as the user
    /// writes them.
    fn settings(self) -> (Option<&'static str>, &'static str) {
        match self {
            Self::Alidns => (Some("access_key_id"), "access_key_secret"),
            Self::Dnspod => (Some("secret_id"), "secret_key"),
            Self::Huaweicloud => (Some("access_key"), "secret_key"),
            Self::Desec | Self::Digitalocean | Self::Gandi | Self::Vercel | Self::Dynv6 => {
                (None, "token")
            }
            Self::Porkbun => (Some("api_key"), "secret_api_key"),
            Self::Namesilo => (None, "api_key"),
            Self::Godaddy => (Some("api_key"), "api_secret"),
        }
    }

    /// The `Authorization` header of a token API; `None` for signed APIs, which never send
    /// the secret.
    fn authorization(self) -> Option<String> {
        match self {
            // Porkbun carries its keys in the body and sends no Authorization header.
            // NameSilo takes its key in the query string.
            Self::Alidns | Self::Dnspod | Self::Huaweicloud | Self::Porkbun | Self::Namesilo => {
                None
            }
            Self::Desec => Some(format!("Token {SECRET}")),
            Self::Digitalocean | Self::Gandi | Self::Vercel | Self::Dynv6 => {
                Some(format!("Bearer {SECRET}"))
            }
            Self::Godaddy => Some(format!("sso-key {ID}:{SECRET}")),
        }
    }

    /// Whether the vendor takes one write per family (else all families in one request).
    fn write_per_family(self) -> bool {
        !matches!(self, Self::Desec)
    }

    /// How many records two addresses of a family are at this vendor.
    fn records_for_two_addresses(self) -> usize {
        match self {
            // One record set holds every value.
            Self::Huaweicloud | Self::Desec | Self::Gandi => 1,
            Self::Alidns
            | Self::Dnspod
            | Self::Digitalocean
            | Self::Porkbun
            | Self::Godaddy
            | Self::Vercel
            | Self::Dynv6
            | Self::Namesilo => 2,
        }
    }

    /// The `Retry-After` the fake sends with its throttling answer, if any.
    fn retry_hint(self) -> Option<Duration> {
        match self {
            // Porkbun's gateway answers 503 without a hint.
            Self::Alidns | Self::Dnspod | Self::Huaweicloud | Self::Porkbun => None,
            // DigitalOcean sends the reset time (ratelimit-reset), not Retry-After.
            // GoDaddy puts it in the body (retryAfterSec).
            // Vercel sends the reset time (X-RateLimit-Reset).
            Self::Desec
            | Self::Digitalocean
            | Self::Gandi
            | Self::Godaddy
            | Self::Vercel
            | Self::Dynv6
            | Self::Namesilo => Some(Duration::from_secs(7)),
        }
    }

    /// Whether the vendor lets clients set a TTL (dynv6 does not).
    fn has_ttl(self) -> bool {
        !matches!(self, Self::Dynv6)
    }

    /// Two TTLs the vendor accepts (its minimum differs).
    fn ttls(self) -> (u32, u32) {
        match self {
            Self::Desec | Self::Namesilo => (3600, 7200),
            Self::Alidns
            | Self::Dnspod
            | Self::Huaweicloud
            | Self::Digitalocean
            | Self::Porkbun
            | Self::Gandi
            | Self::Godaddy
            | Self::Vercel
            | Self::Dynv6 => (900, 1200),
        }
    }

    fn permission(self) -> &'static str {
        match self {
            Self::Alidns => "AliyunDNSFullAccess",
            Self::Dnspod => "QcloudDNSPodFullAccess",
            Self::Huaweicloud => "DNS FullAccess",
            Self::Desec => "perm_write",
            Self::Digitalocean => "domain:create",
            Self::Porkbun => "API ACCESS",
            Self::Gandi => "Manage domain name technical configurations",
            Self::Godaddy => "to manage DNS",
            Self::Vercel => "for the scope",
            Self::Dynv6 => "for the zone",
            Self::Namesilo => "from this IP address",
        }
    }
}

fn name(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

pub(crate) fn provider_for(toml_text: &str, host: &str) -> Box<dyn Provider> {
    let spec: ProviderSpec = toml::from_str(toml_text).unwrap();
    let mut context = BuildContext::new(name(host), true, true);
    context.http = HttpOptions {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
    };
    build(&spec, &context).unwrap()
}

struct Setup {
    fake: Box<dyn CloudDns>,
    provider: Box<dyn Provider>,
}

/// A fake holding `example.com`, and a provider for `host` with the right credentials.
fn setup(vendor: Vendor, host: &str) -> Setup {
    let fake = vendor.start();
    fake.add_zone("example.com");
    let provider = provider_for(&fake.provider_toml(ID, SECRET), host);
    Setup { fake, provider }
}

pub(crate) fn update(host: &str, ipv4: &[&str], ipv6: &[&str]) -> Update {
    Update::new(
        name(host),
        (!ipv4.is_empty()).then(|| ipv4.iter().map(|a| v4(a)).collect()),
        (!ipv6.is_empty()).then(|| ipv6.iter().map(|a| v6(a)).collect()),
    )
}

pub(crate) fn fatal(outcome: &Outcome) -> (FatalKind, String) {
    match outcome {
        Outcome::Fatal { kind, message } => (*kind, message.clone()),
        other => panic!("expected a fatal outcome, got {other:?}"),
    }
}

pub(crate) const CHANGED: Outcome = Outcome::Published { changed: true };
const UNCHANGED: Outcome = Outcome::Published { changed: false };

pub(crate) async fn first_create(vendor: Vendor) {
    let Setup { fake, provider } = setup(vendor, "home.example.com");
    let outcome = provider
        .publish(&update("home.example.com", &["192.0.2.1"], &[]))
        .await;
    assert_eq!(outcome, CHANGED, "{vendor:?}");
    assert_eq!(fake.values("home.example.com", "A"), ["192.0.2.1"]);
    assert_eq!(fake.writes(), 1, "{vendor:?}: one write");
    let requests = fake.requests();
    for request in &requests {
        let agent = request.header("user-agent").unwrap_or_default();
        assert!(
            agent.starts_with("ddns/"),
            "{vendor:?}: User-Agent {agent:?}"
        );
        let auth = request.header("authorization").unwrap_or_default();
        match vendor.authorization() {
            Some(expected) => assert_eq!(auth, expected, "{vendor:?}"),
            None => assert!(
                !auth.contains(SECRET),
                "{vendor:?}: the secret is never sent"
            ),
        }
    }
    // A zone list, the name's records, one create.
    assert_eq!(requests.len(), 3, "{vendor:?}: {requests:#?}");
}

pub(crate) async fn update_changes_the_record_in_place(vendor: Vendor) {
    let Setup { fake, provider } = setup(vendor, "home.example.com");
    // A TTL the vendor accepts, made in its console.
    let console_ttl = vendor.ttls().0;
    fake.add_record("home.example.com", "A", &["192.0.2.1"], console_ttl);
    let outcome = provider
        .publish(&update("home.example.com", &["192.0.2.9"], &[]))
        .await;
    assert_eq!(outcome, CHANGED, "{vendor:?}");
    assert_eq!(fake.values("home.example.com", "A"), ["192.0.2.9"]);
    assert_eq!(fake.record_count("home.example.com", "A"), 1, "{vendor:?}");
    assert_eq!(
        fake.writes(),
        1,
        "{vendor:?}: one update, no delete and create"
    );
    let record = fake
        .records()
        .into_iter()
        .find(|r| r.name == "home.example.com" && r.rtype == "A")
        .unwrap();
    assert_eq!(
        record.ttl, console_ttl,
        "{vendor:?}: an update keeps the TTL"
    );
}

pub(crate) async fn equal_records_are_not_written(vendor: Vendor) {
    let Setup { fake, provider } = setup(vendor, "home.example.com");
    fake.add_record("home.example.com", "A", &["192.0.2.1"], 600);
    fake.add_record("home.example.com", "AAAA", &["2001:db8::1"], 600);
    let u = update("home.example.com", &["192.0.2.1"], &["2001:DB8:0::1"]);
    assert_eq!(provider.publish(&u).await, UNCHANGED, "{vendor:?}");
    assert_eq!(provider.publish(&u).await, UNCHANGED, "{vendor:?}");
    assert_eq!(fake.writes(), 0, "{vendor:?}");
    // The zone is cached: the second publish reads the records only.
    assert_eq!(fake.requests().len(), 3, "{vendor:?}");
}

pub(crate) async fn a_and_aaaa_together_and_apart(vendor: Vendor) {
    let Setup { fake, provider } = setup(vendor, "home.example.com");
    fake.add_record("home.example.com", "TXT", &["\"keep me\""], 600);
    fake.add_record("other.example.com", "A", &["198.51.100.1"], 600);
    let outcome = provider
        .publish(&update(
            "home.example.com",
            &["192.0.2.1"],
            &["2001:db8::1"],
        ))
        .await;
    assert_eq!(outcome, CHANGED, "{vendor:?}");
    assert_eq!(fake.values("home.example.com", "A"), ["192.0.2.1"]);
    assert_eq!(fake.values("home.example.com", "AAAA"), ["2001:db8::1"]);
    let both = if vendor.write_per_family() { 2 } else { 1 };
    assert_eq!(fake.writes(), both, "{vendor:?}");
    // Only IPv6 changes: A is neither read into a write nor touched.
    let outcome = provider
        .publish(&update("home.example.com", &[], &["2001:db8::2"]))
        .await;
    assert_eq!(outcome, CHANGED, "{vendor:?}");
    assert_eq!(fake.values("home.example.com", "A"), ["192.0.2.1"]);
    assert_eq!(fake.values("home.example.com", "AAAA"), ["2001:db8::2"]);
    assert_eq!(fake.writes(), both + 1, "{vendor:?}");
    // And the reverse.
    let outcome = provider
        .publish(&update("home.example.com", &["192.0.2.2"], &[]))
        .await;
    assert_eq!(outcome, CHANGED, "{vendor:?}");
    assert_eq!(fake.values("home.example.com", "AAAA"), ["2001:db8::2"]);
    assert_eq!(fake.values("home.example.com", "A"), ["192.0.2.2"]);
    assert_eq!(fake.writes(), both + 2, "{vendor:?}");
    // Other types and other names are left alone.
    assert_eq!(fake.values("home.example.com", "TXT"), ["\"keep me\""]);
    assert_eq!(fake.values("other.example.com", "A"), ["198.51.100.1"]);
}

pub(crate) async fn two_addresses(vendor: Vendor) {
    let Setup { fake, provider } = setup(vendor, "home.example.com");
    let outcome = provider
        .publish(&update(
            "home.example.com",
            &["192.0.2.1", "192.0.2.2"],
            &[],
        ))
        .await;
    assert_eq!(outcome, CHANGED, "{vendor:?}");
    assert_eq!(
        fake.values("home.example.com", "A"),
        ["192.0.2.1", "192.0.2.2"]
    );
    assert_eq!(
        fake.record_count("home.example.com", "A"),
        vendor.records_for_two_addresses(),
        "{vendor:?}"
    );
    let writes = fake.writes();
    // The same two in another order: nothing to do.
    let outcome = provider
        .publish(&update(
            "home.example.com",
            &["192.0.2.2", "192.0.2.1"],
            &[],
        ))
        .await;
    assert_eq!(outcome, UNCHANGED, "{vendor:?}");
    assert_eq!(fake.writes(), writes, "{vendor:?}");
    // One line goes down: its record goes, the other stays.
    let outcome = provider
        .publish(&update("home.example.com", &["192.0.2.2"], &[]))
        .await;
    assert_eq!(outcome, CHANGED, "{vendor:?}");
    assert_eq!(fake.values("home.example.com", "A"), ["192.0.2.2"]);
    assert_eq!(fake.writes(), writes + 1, "{vendor:?}");
}

pub(crate) async fn wrong_credentials(vendor: Vendor) {
    let fake = vendor.start();
    fake.add_zone("example.com");
    let (id_setting, secret_setting) = vendor.settings();
    // A wrong secret: the signature does not verify.
    let provider = provider_for(
        &fake.provider_toml(ID, "wrong-SECRET-000"),
        "home.example.com",
    );
    let debug = format!("{provider:?}");
    assert!(
        !debug.contains("wrong-SECRET-000") && !debug.contains(ID),
        "{debug}"
    );
    let outcome = provider
        .publish(&update("home.example.com", &["192.0.2.1"], &[]))
        .await;
    let (kind, message) = fatal(&outcome);
    assert_eq!(kind, FatalKind::Auth, "{vendor:?}: {message}");
    assert!(message.contains(secret_setting), "{vendor:?}: {message}");
    assert!(
        !message.contains("wrong-SECRET-000"),
        "{vendor:?}: {message}"
    );
    // An unknown id.
    let Some(id_setting) = id_setting else {
        assert_eq!(fake.writes(), 0);
        return;
    };
    let provider = provider_for(
        &fake.provider_toml("LTAIunknownKEY42", SECRET),
        "home.example.com",
    );
    let outcome = provider
        .publish(&update("home.example.com", &["192.0.2.1"], &[]))
        .await;
    let (kind, message) = fatal(&outcome);
    assert_eq!(kind, FatalKind::Auth, "{vendor:?}: {message}");
    assert!(message.contains(id_setting), "{vendor:?}: {message}");
    assert!(
        !message.contains("LTAIunknownKEY42") && !message.contains(SECRET),
        "{vendor:?}: {message}"
    );
    assert_eq!(fake.writes(), 0);
}

pub(crate) async fn missing_permission(vendor: Vendor) {
    let Setup { fake, provider } = setup(vendor, "home.example.com");
    fake.deny_writes();
    let outcome = provider
        .publish(&update("home.example.com", &["192.0.2.1"], &[]))
        .await;
    let (kind, message) = fatal(&outcome);
    assert_eq!(kind, FatalKind::Auth, "{vendor:?}: {message}");
    assert!(
        message.contains(&format!("has no permission {}", vendor.permission())),
        "{vendor:?}: {message}"
    );
    assert_eq!(fake.writes(), 0);
}

pub(crate) async fn throttled(vendor: Vendor) {
    let Setup { fake, provider } = setup(vendor, "home.example.com");
    fake.throttle(1);
    let u = update("home.example.com", &["192.0.2.1"], &[]);
    let outcome = provider.publish(&u).await;
    assert!(
        matches!(&outcome, Outcome::Transient { reason, .. } if reason.contains("slow down")),
        "{vendor:?}: {outcome:?}"
    );
    if let Some(hint) = vendor.retry_hint() {
        assert!(
            // A reset time is read against the clock, so it may come out a second short.
            matches!(&outcome, Outcome::Transient { retry_after: Some(d), .. }
                if *d <= hint && *d + Duration::from_secs(2) >= hint),
            "{vendor:?}: the Retry-After is honoured: {outcome:?}"
        );
    }
    assert_eq!(fake.writes(), 0);
    // The throttle passes; the next attempt publishes.
    assert_eq!(provider.publish(&u).await, CHANGED, "{vendor:?}");
    assert_eq!(fake.values("home.example.com", "A"), ["192.0.2.1"]);
}

pub(crate) async fn zone_not_found(vendor: Vendor) {
    let fake = vendor.start();
    fake.add_zone("example.org");
    fake.add_zone("xample.com");
    let provider = provider_for(&fake.provider_toml(ID, SECRET), "home.example.com");
    let outcome = provider
        .publish(&update("home.example.com", &["192.0.2.1"], &[]))
        .await;
    let (kind, message) = fatal(&outcome);
    assert_eq!(kind, FatalKind::Host, "{vendor:?}: {message}");
    assert!(
        message.contains("(example.org, xample.com) holds home.example.com"),
        "{vendor:?}: {message}"
    );
    assert_eq!(fake.writes(), 0);
    // An account without any zone says so.
    let empty = vendor.start();
    let provider = provider_for(&empty.provider_toml(ID, SECRET), "home.example.com");
    let (kind, message) = fatal(
        &provider
            .publish(&update("home.example.com", &["192.0.2.1"], &[]))
            .await,
    );
    assert_eq!(kind, FatalKind::Host);
    assert!(message.contains("lists no domain"), "{vendor:?}: {message}");
}

pub(crate) async fn the_longest_zone_holds_the_record(vendor: Vendor) {
    let Setup { fake, provider } = setup(vendor, "a.dyn.example.com");
    fake.add_zone("dyn.example.com");
    let outcome = provider
        .publish(&update("a.dyn.example.com", &["192.0.2.1"], &[]))
        .await;
    assert_eq!(outcome, CHANGED, "{vendor:?}");
    let record = fake
        .records()
        .into_iter()
        .find(|r| r.name == "a.dyn.example.com")
        .unwrap();
    assert_eq!(record.zone, "dyn.example.com", "{vendor:?}");
}

pub(crate) async fn apex_and_ttl(vendor: Vendor) {
    let Setup { fake, provider } = setup(vendor, "example.com");
    let (first_ttl, second_ttl) = vendor.ttls();
    let mut u = update("example.com", &["192.0.2.1"], &[]);
    u.ttl = Some(first_ttl);
    assert_eq!(provider.publish(&u).await, CHANGED, "{vendor:?}");
    if !vendor.has_ttl() {
        // The apex alone: its address is written once, then equal.
        assert_eq!(fake.values("example.com", "A"), ["192.0.2.1"]);
        assert_eq!(provider.publish(&u).await, UNCHANGED, "{vendor:?}");
        let u6 = update("example.com", &[], &["2001:db8::7"]);
        assert_eq!(provider.publish(&u6).await, CHANGED, "{vendor:?}");
        assert_eq!(fake.values("example.com", "A"), ["192.0.2.1"]);
        assert_eq!(fake.values("example.com", "AAAA"), ["2001:db8::7"]);
        assert_eq!(fake.writes(), 2, "{vendor:?}");
        return;
    }
    let record = fake
        .records()
        .into_iter()
        .find(|r| r.name == "example.com" && r.rtype == "A")
        .unwrap();
    assert_eq!(
        (record.values, record.ttl),
        (vec!["192.0.2.1".to_owned()], first_ttl)
    );
    // The TTL alone changes: one write keeps the address.
    u.ttl = Some(second_ttl);
    assert_eq!(provider.publish(&u).await, CHANGED, "{vendor:?}");
    assert_eq!(fake.writes(), 2);
    assert_eq!(provider.publish(&u).await, UNCHANGED, "{vendor:?}");
    assert_eq!(fake.writes(), 2);
}

macro_rules! vendor_tests {
    ($module:ident, $vendor:expr) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn first_create() {
                super::first_create($vendor).await;
            }
            #[tokio::test]
            async fn update() {
                update_changes_the_record_in_place($vendor).await;
            }
            #[tokio::test]
            async fn no_op() {
                equal_records_are_not_written($vendor).await;
            }
            #[tokio::test]
            async fn a_and_aaaa() {
                a_and_aaaa_together_and_apart($vendor).await;
            }
            #[tokio::test]
            async fn two_addresses() {
                super::two_addresses($vendor).await;
            }
            #[tokio::test]
            async fn wrong_credentials() {
                super::wrong_credentials($vendor).await;
            }
            #[tokio::test]
            async fn missing_permission() {
                super::missing_permission($vendor).await;
            }
            #[tokio::test]
            async fn throttled() {
                super::throttled($vendor).await;
            }
            #[tokio::test]
            async fn zone_not_found() {
                super::zone_not_found($vendor).await;
            }
            #[tokio::test]
            async fn longest_zone() {
                the_longest_zone_holds_the_record($vendor).await;
            }
            #[tokio::test]
            async fn apex_and_ttl() {
                super::apex_and_ttl($vendor).await;
            }
        }
    };
}

vendor_tests!(alidns, Vendor::Alidns);
vendor_tests!(dnspod, Vendor::Dnspod);
vendor_tests!(huaweicloud, Vendor::Huaweicloud);
vendor_tests!(desec, Vendor::Desec);
vendor_tests!(digitalocean, Vendor::Digitalocean);
vendor_tests!(porkbun, Vendor::Porkbun);
vendor_tests!(gandi, Vendor::Gandi);
vendor_tests!(godaddy, Vendor::Godaddy);
vendor_tests!(vercel, Vendor::Vercel);
vendor_tests!(dynv6, Vendor::Dynv6);
vendor_tests!(namesilo, Vendor::Namesilo);

#[tokio::test]
async fn a_retry_hint_is_honoured() {
    let fake = FakeHuaweicloud::start(ID, SECRET);
    fake.add_zone("example.com");
    fake.throttle_with_retry_after(1, 7);
    let provider = provider_for(&fake.provider_toml(ID, SECRET), "home.example.com");
    let outcome = provider
        .publish(&update("home.example.com", &["192.0.2.1"], &[]))
        .await;
    assert!(
        matches!(outcome, Outcome::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(7)),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn other_lines_are_left_alone() {
    // DNSPod: a record on the 电信 line is not the default line's record.
    let fake = FakeDnspod::start(ID, SECRET);
    fake.add_zone("example.com");
    let provider = provider_for(
        &format!("{}line = \"电信\"\n", fake.provider_toml(ID, SECRET)),
        "home.example.com",
    );
    fake.add_record("home.example.com", "A", &["192.0.2.1"], 600);
    let outcome = provider
        .publish(&update("home.example.com", &["192.0.2.7"], &[]))
        .await;
    assert_eq!(outcome, CHANGED);
    assert_eq!(fake.values("home.example.com", "A"), ["192.0.2.1"]);
    let telecom: Vec<_> = fake
        .records()
        .into_iter()
        .filter(|r| r.line == "电信")
        .map(|r| r.values)
        .collect();
    assert_eq!(telecom, [vec!["192.0.2.7".to_owned()]]);
}

#[test]
fn settings_are_checked_at_build() {
    let build_err = |text: &str| {
        let spec: ProviderSpec = toml::from_str(text).unwrap();
        build(
            &spec,
            &BuildContext::new(name("home.example.com"), true, true),
        )
        .unwrap_err()
        .to_string()
    };
    let err = build_err("type = \"alidns\"\naccess_key_id = \"id\"\naccess_key_secret = \" \"\n");
    assert!(err.contains("access_key_secret"), "{err}");
    let err = build_err(
        "type = \"dnspod\"\nsecret_id = \"id\"\nsecret_key = \"k\"\nendpoint = \"ftp://x\"\n",
    );
    assert!(err.contains("endpoint"), "{err}");
    let err = build_err(
        "type = \"huaweicloud\"\naccess_key = \"a\"\nsecret_key = \"s\"\nregion = \"cn-north-4.evil.com/\"\n",
    );
    assert!(err.contains("region"), "{err}");
    let err = build_err(
        "type = \"alidns\"\naccess_key_id = \"id\"\naccess_key_secret = \"s\"\nline = \"\"\n",
    );
    assert!(err.contains("line"), "{err}");
    let unknown = toml::from_str::<ProviderSpec>(
        "type = \"dnspod\"\nsecret_id = \"id\"\nsecret_key = \"k\"\nsecretkey = \"k\"\n",
    )
    .unwrap_err();
    assert!(unknown.to_string().contains("secretkey"), "{unknown}");
}
