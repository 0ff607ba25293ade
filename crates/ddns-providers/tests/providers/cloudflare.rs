//! Cloudflare against the stateful API fake of ddns-testkit (documented v4 shapes, tokens
//! checked as Cloudflare does): create, update, no-op, both families, several addresses,
//! proxy and TTL handling, credentials, throttling, zones found by longest suffix across pages.

use std::time::Duration;

use ddns_providers::{FatalKind, Outcome, Provider};
use ddns_testkit::cloudflare::FakeCloudflare;

use crate::{fatal_of, provider_for, update_of};

const TOKEN: &str = "cf-token-0123456789abcdefghijklmnopqrstuv";

fn s(a: &str, b: &str) -> (String, String) {
    (a.to_owned(), b.to_owned())
}

/// A fake with zone `example.com` (and unrelated zones around it).
fn fake() -> (FakeCloudflare, String) {
    let fake = FakeCloudflare::start(TOKEN);
    fake.add_zone("example.net");
    let zone = fake.add_zone("example.com");
    fake.add_zone("other.org");
    (fake, zone)
}

fn provider(fake: &FakeCloudflare, host: &str, extra: &str) -> Box<dyn Provider> {
    provider_for(
        &format!(
            "type = \"cloudflare\"\napi_token = \"{TOKEN}\"\nendpoint = \"{}\"\n{extra}",
            fake.url()
        ),
        host,
    )
}

#[tokio::test]
async fn first_update_creates_the_record_with_the_token_and_user_agent() {
    let (fake, _) = fake();
    let p = provider(&fake, "home.example.com", "");
    let outcome = p
        .publish(&update_of("home.example.com", &["192.0.2.1"], &[]))
        .await;
    assert_eq!(outcome, Outcome::Published { changed: true });
    assert_eq!(fake.values("home.example.com"), [s("A", "192.0.2.1")]);
    let record = &fake.records("home.example.com")[0];
    assert_eq!(
        (record.ttl, record.proxied),
        (1, false),
        "new records: TTL auto, DNS only"
    );
    let requests = fake.requests();
    let lines: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.target.split('?').next().unwrap()))
        .collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert_eq!(lines[0], "GET /client/v4/zones");
    assert!(lines[1].ends_with("/dns_records"), "{lines:#?}");
    assert!(
        lines[2].starts_with("POST ") && lines[2].ends_with("/dns_records/batch"),
        "{lines:#?}"
    );
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert!(r.header("user-agent").unwrap().starts_with("ddns/"));
    }
    assert!(
        requests[1].target.contains("name=home.example.com"),
        "{}",
        requests[1].target
    );
}

#[tokio::test]
async fn changed_address_is_patched_in_place_and_equal_means_no_write() {
    let (fake, zone) = fake();
    let id = fake.add_record(&zone, "A", "home.example.com", "192.0.2.1", 300, false);
    fake.add_record(&zone, "TXT", "home.example.com", "\"keep me\"", 300, false);
    fake.add_record(&zone, "AAAA", "home.example.com", "2001:db8::1", 300, false);
    fake.add_record(&zone, "A", "other.example.com", "192.0.2.1", 300, false);
    let p = provider(&fake, "home.example.com", "");
    let outcome = p
        .publish(&update_of("home.example.com", &["192.0.2.2"], &[]))
        .await;
    assert_eq!(outcome, Outcome::Published { changed: true });
    let records = fake.records("home.example.com");
    let a: Vec<_> = records.iter().filter(|r| r.rtype == "A").collect();
    assert_eq!(a.len(), 1);
    assert_eq!(
        (a[0].id.as_str(), a[0].content.as_str(), a[0].ttl),
        (id.as_str(), "192.0.2.2", 300)
    );
    assert_eq!(
        fake.values("home.example.com"),
        [
            s("A", "192.0.2.2"),
            s("AAAA", "2001:db8::1"),
            s("TXT", "\"keep me\"")
        ],
        "AAAA and TXT are untouched"
    );
    assert_eq!(fake.values("other.example.com"), [s("A", "192.0.2.1")]);
    assert_eq!(fake.writes(), 1);

    // Same addresses again: one read, no write — also for a new provider with no cache.
    let again = p
        .publish(&update_of("home.example.com", &["192.0.2.2"], &[]))
        .await;
    assert_eq!(again, Outcome::Published { changed: false });
    let fresh = provider(&fake, "home.example.com", "");
    let again = fresh
        .publish(&update_of("home.example.com", &["192.0.2.2"], &[]))
        .await;
    assert_eq!(again, Outcome::Published { changed: false });
    assert_eq!(fake.writes(), 1, "no write when equal");
    let zone_lists = fake
        .requests()
        .iter()
        .filter(|r| r.target.starts_with("/client/v4/zones?"))
        .count();
    assert_eq!(zone_lists, 2, "the zone id is cached by each provider");
}

#[tokio::test]
async fn both_families_and_two_addresses_in_one_write() {
    let (fake, _) = fake();
    let p = provider(&fake, "multi.example.com", "");
    let u = update_of(
        "multi.example.com",
        &["192.0.2.1", "192.0.2.2"],
        &["2001:db8::1"],
    );
    assert_eq!(p.publish(&u).await, Outcome::Published { changed: true });
    assert_eq!(
        fake.values("multi.example.com"),
        [
            s("A", "192.0.2.1"),
            s("A", "192.0.2.2"),
            s("AAAA", "2001:db8::1")
        ],
        "one record per address"
    );
    assert_eq!(fake.writes(), 1, "all of it in one batch");
    // Down to one IPv4 address, AAAA unchanged: the stale A record is deleted.
    let u = update_of("multi.example.com", &["192.0.2.2"], &["2001:db8::1"]);
    assert_eq!(p.publish(&u).await, Outcome::Published { changed: true });
    assert_eq!(
        fake.values("multi.example.com"),
        [s("A", "192.0.2.2"), s("AAAA", "2001:db8::1")]
    );
    assert_eq!(fake.writes(), 2);
    assert_eq!(p.publish(&u).await, Outcome::Published { changed: false });
    // IPv6 alone never touches A.
    let u = update_of("multi.example.com", &[], &["2001:db8::2"]);
    assert_eq!(p.publish(&u).await, Outcome::Published { changed: true });
    assert_eq!(
        fake.values("multi.example.com"),
        [s("A", "192.0.2.2"), s("AAAA", "2001:db8::2")]
    );
}

#[tokio::test]
async fn proxied_and_ttl_are_kept_unless_configured() {
    let (fake, zone) = fake();
    fake.add_record(&zone, "A", "web.example.com", "192.0.2.1", 1, true);
    let p = provider(&fake, "web.example.com", "");
    p.publish(&update_of("web.example.com", &["192.0.2.9"], &[]))
        .await;
    let r = &fake.records("web.example.com")[0];
    assert_eq!(
        (r.content.as_str(), r.proxied),
        ("192.0.2.9", true),
        "a proxied record stays proxied"
    );

    let p = provider(&fake, "web.example.com", "proxied = false");
    let mut u = update_of("web.example.com", &["192.0.2.9"], &[]);
    u.ttl = Some(120);
    assert_eq!(p.publish(&u).await, Outcome::Published { changed: true });
    let r = &fake.records("web.example.com")[0];
    assert_eq!((r.proxied, r.ttl), (false, 120));
    assert_eq!(p.publish(&u).await, Outcome::Published { changed: false });

    let mut u = update_of("web.example.com", &["192.0.2.9"], &[]);
    u.ttl = Some(5);
    let outcome = p.publish(&u).await;
    let (kind, message) = fatal_of(&outcome);
    assert_eq!(kind, FatalKind::Config);
    assert!(message.contains("ttl"), "{message}");
}

#[tokio::test]
async fn wrong_credentials_and_missing_permission_are_auth_errors_without_the_secret() {
    let (fake, _) = fake();
    let wrong = "cf-token-wrong-wrong-wrong-wrong-wrong-00";
    let p = provider_for(
        &format!(
            "type = \"cloudflare\"\napi_token = \"{wrong}\"\nendpoint = \"{}\"",
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
        message.contains("api_token") && message.contains("9109"),
        "{message}"
    );
    assert!(
        !message.contains(wrong) && !format!("{p:?}").contains(wrong),
        "{message}"
    );

    let read_only = "cf-token-read-only-read-only-read-only-0";
    fake.add_read_only_token(read_only);
    let p = provider_for(
        &format!(
            "type = \"cloudflare\"\napi_token = \"{read_only}\"\nendpoint = \"{}\"",
            fake.url()
        ),
        "home.example.com",
    );
    let outcome = p
        .publish(&update_of("home.example.com", &["192.0.2.1"], &[]))
        .await;
    let (kind, message) = fatal_of(&outcome);
    assert_eq!(kind, FatalKind::Auth);
    assert!(message.contains("Zone.DNS:Edit"), "{message}");
    assert!(fake.records("home.example.com").is_empty());

    // The legacy global key and e-mail.
    fake.set_global_key("me@example.com", "0123456789abcdef0123456789abcdef01234");
    let legacy = |key: &str| {
        provider_for(
            &format!(
                "type = \"cloudflare\"\napi_key = \"{key}\"\nemail = \"me@example.com\"\nendpoint = \"{}\"",
                fake.url()
            ),
            "legacy.example.com",
        )
    };
    let ok = legacy("0123456789abcdef0123456789abcdef01234")
        .publish(&update_of("legacy.example.com", &["192.0.2.3"], &[]))
        .await;
    assert_eq!(ok, Outcome::Published { changed: true });
    let outcome = legacy("ffffffffffffffffffffffffffffffffffff0")
        .publish(&update_of("legacy.example.com", &["192.0.2.4"], &[]))
        .await;
    let (kind, message) = fatal_of(&outcome);
    assert_eq!(kind, FatalKind::Auth);
    assert!(
        message.contains("api_key") && !message.contains("ffffffff"),
        "{message}"
    );
}

#[tokio::test]
async fn throttling_is_transient_with_the_retry_hint() {
    let (fake, _) = fake();
    fake.throttle(Some(42));
    let p = provider(&fake, "home.example.com", "");
    match p
        .publish(&update_of("home.example.com", &["192.0.2.1"], &[]))
        .await
    {
        Outcome::Transient {
            reason,
            retry_after,
        } => {
            assert_eq!(retry_after, Some(Duration::from_secs(42)));
            assert!(reason.contains("rate limiting"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    fake.throttle(None);
    let outcome = p
        .publish(&update_of("home.example.com", &["192.0.2.1"], &[]))
        .await;
    assert_eq!(outcome, Outcome::Published { changed: true });
}

#[tokio::test]
async fn zone_is_the_longest_suffix_over_several_pages_or_not_found() {
    let fake = FakeCloudflare::start(TOKEN);
    let parent = fake.add_zone("example.com");
    for i in 0..70 {
        fake.add_zone(&format!("zone{i}.example.org"));
    }
    let child = fake.add_zone("dyn.example.com");
    let p = provider(&fake, "h.dyn.example.com", "");
    let outcome = p
        .publish(&update_of("h.dyn.example.com", &["192.0.2.1"], &[]))
        .await;
    assert_eq!(outcome, Outcome::Published { changed: true });
    let record = &fake.records("h.dyn.example.com")[0];
    assert_eq!(record.zone_id, child, "not {parent}");
    let pages = fake
        .requests()
        .iter()
        .filter(|r| r.target.starts_with("/client/v4/zones?"))
        .count();
    assert_eq!(pages, 2, "72 zones at 50 per page");

    let p = provider(&fake, "h.example.net", "");
    let outcome = p
        .publish(&update_of("h.example.net", &["192.0.2.1"], &[]))
        .await;
    let (kind, message) = fatal_of(&outcome);
    assert_eq!(kind, FatalKind::Host);
    assert!(
        message.contains("h.example.net") && message.contains("api_token"),
        "{message}"
    );
}

#[tokio::test]
async fn a_cname_at_the_name_is_a_configuration_error() {
    let (fake, zone) = fake();
    fake.add_record(
        &zone,
        "CNAME",
        "alias.example.com",
        "target.example.net",
        1,
        false,
    );
    let p = provider(&fake, "alias.example.com", "");
    let outcome = p
        .publish(&update_of("alias.example.com", &["192.0.2.1"], &[]))
        .await;
    let (kind, message) = fatal_of(&outcome);
    assert_eq!(kind, FatalKind::Config);
    assert!(message.contains("CNAME"), "{message}");
    assert_eq!(fake.writes(), 0);
}

#[tokio::test]
async fn configuration_errors_name_the_setting() {
    let err = crate::provider_error("type = \"cloudflare\"", true, false);
    assert!(err.contains("api_token"), "{err}");
    let err = crate::provider_error("type = \"cloudflare\"\napi_key = \"k\"", true, false);
    assert!(err.contains("email"), "{err}");
    let err = crate::provider_error(
        "type = \"cloudflare\"\napi_token = \"t\"\napi_key = \"k\"\nemail = \"e\"",
        true,
        false,
    );
    assert!(err.contains("not both"), "{err}");
    let err = crate::provider_error(
        "type = \"cloudflare\"\napi_token = \"t\"\nendpoint = \"ftp://x\"",
        true,
        false,
    );
    assert!(err.contains("endpoint"), "{err}");
}
