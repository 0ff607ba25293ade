//! RFC 2136 against a real BIND 9 and a real Knot DNS (ddns-testkit starts one of each per
//! test binary as primary of `example.com` on a loopback high port): the update shows in their
//! answers, only the family's RRset changes, equal means no UPDATE, large RRsets go over TCP,
//! and wrong or unauthorised keys are credential errors.

use ddns_providers::{FatalKind, Outcome, Provider};
use ddns_testkit::primaries::{OTHER_KEY, OTHER_SECRET, Primary, UPDATE_KEY, UPDATE_SECRET, ZONE};
use hickory_proto::rr::RecordType;

use crate::{fatal_of, provider_for, update_of};

fn provider(server: &Primary, host: &str, key: &str, secret: &str) -> Box<dyn Provider> {
    provider_for(
        &format!(
            "type = \"rfc2136\"\nserver = \"{}\"\nzone = \"{ZONE}\"\nkey_name = \"{key}\"\nkey_algorithm = \"hmac-sha256\"\nkey_secret = \"{secret}\"",
            server.addr
        ),
        host,
    )
}

fn servers() -> [&'static Primary; 2] {
    [Primary::bind9(), Primary::knot()]
}

#[tokio::test(flavor = "multi_thread")]
async fn create_then_no_op_then_update() {
    for server in servers() {
        let host = format!("new.{ZONE}");
        let p = provider(server, &host, UPDATE_KEY, UPDATE_SECRET);
        let mut u = update_of(&host, &["192.0.2.1"], &["2001:db8::1"]);
        u.ttl = Some(120);
        assert_eq!(
            p.publish(&u).await,
            Outcome::Published { changed: true },
            "{}",
            server.name
        );
        assert_eq!(
            server.values(&host, RecordType::A),
            ["192.0.2.1"],
            "{}:\n{}",
            server.name,
            server.log()
        );
        assert_eq!(
            server.values(&host, RecordType::AAAA),
            ["2001:db8::1"],
            "{}",
            server.name
        );
        assert_eq!(
            server.ttl(&host, RecordType::A),
            Some(120),
            "{}",
            server.name
        );
        let serial = server.serial();
        assert_eq!(
            p.publish(&u).await,
            Outcome::Published { changed: false },
            "{}",
            server.name
        );
        assert_eq!(
            server.serial(),
            serial,
            "{}: no UPDATE when equal",
            server.name
        );
        let mut u = update_of(&host, &["192.0.2.2", "192.0.2.3"], &[]);
        u.ttl = Some(120);
        assert_eq!(
            p.publish(&u).await,
            Outcome::Published { changed: true },
            "{}",
            server.name
        );
        assert_eq!(
            server.values(&host, RecordType::A),
            ["192.0.2.2", "192.0.2.3"],
            "{}",
            server.name
        );
        assert_eq!(
            server.values(&host, RecordType::AAAA),
            ["2001:db8::1"],
            "{}: AAAA untouched",
            server.name
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_family_leaves_the_other_and_other_types_alone() {
    for server in servers() {
        let host = format!("both.{ZONE}");
        let p = provider(server, &host, UPDATE_KEY, UPDATE_SECRET);
        let outcome = p.publish(&update_of(&host, &["192.0.2.11"], &[])).await;
        assert_eq!(
            outcome,
            Outcome::Published { changed: true },
            "{}",
            server.name
        );
        assert_eq!(
            server.values(&host, RecordType::A),
            ["192.0.2.11"],
            "{}",
            server.name
        );
        assert_eq!(
            server.values(&host, RecordType::AAAA),
            ["2001:db8::10"],
            "{}",
            server.name
        );
        assert_eq!(
            server.values(&host, RecordType::TXT),
            ["v=1"],
            "{}",
            server.name
        );
        assert_eq!(
            server.ttl(&host, RecordType::A),
            Some(300),
            "{}: the TTL is kept",
            server.name
        );
        let outcome = p.publish(&update_of(&host, &[], &["2001:db8::11"])).await;
        assert_eq!(
            outcome,
            Outcome::Published { changed: true },
            "{}",
            server.name
        );
        assert_eq!(
            server.values(&host, RecordType::A),
            ["192.0.2.11"],
            "{}",
            server.name
        );
        assert_eq!(
            server.values(&host, RecordType::AAAA),
            ["2001:db8::11"],
            "{}",
            server.name
        );
        assert_eq!(
            server.values(&format!("keep.{ZONE}"), RecordType::A),
            ["192.0.2.100"]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn large_record_sets_go_over_tcp() {
    for server in servers() {
        let host = format!("many.{ZONE}");
        let p = provider(server, &host, UPDATE_KEY, UPDATE_SECRET);
        let addresses: Vec<String> = (1..=40).map(|i| format!("198.51.100.{i}")).collect();
        let refs: Vec<&str> = addresses.iter().map(String::as_str).collect();
        let u = update_of(&host, &refs, &[]);
        assert_eq!(
            p.publish(&u).await,
            Outcome::Published { changed: true },
            "{}",
            server.name
        );
        let m = ddns_testkit::dns::tcp(server.addr, &format!("{host}."), RecordType::A);
        assert_eq!(
            ddns_testkit::dns::answers(&m, RecordType::A).len(),
            40,
            "{}",
            server.name
        );
        // The check before writing reads a truncated UDP answer, then the whole RRset by TCP.
        assert_eq!(
            p.publish(&u).await,
            Outcome::Published { changed: false },
            "{}",
            server.name
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_or_unauthorised_keys_are_credential_errors() {
    let wrong_secret = "d3Jvbmctc2VjcmV0LWZvci10aGUtZGRucy1rZXktMTIz";
    for server in servers() {
        let host = format!("auth.{ZONE}");
        let u = update_of(&host, &["192.0.2.66"], &[]);
        for (key, secret, says) in [
            (UPDATE_KEY, wrong_secret, "BADSIG"),
            ("no-such-key", UPDATE_SECRET, "BADKEY"),
            (OTHER_KEY, OTHER_SECRET, ""),
        ] {
            let outcome = provider(server, &host, key, secret).publish(&u).await;
            let (kind, message) = fatal_of(&outcome);
            assert_eq!(kind, FatalKind::Auth, "{} {key}: {message}", server.name);
            assert!(message.contains(says), "{} {key}: {message}", server.name);
            assert!(message.contains("key"), "{message}");
            assert!(!message.contains(secret), "{message}");
        }
        assert!(
            server.values(&host, RecordType::A).is_empty(),
            "{}",
            server.name
        );
    }
}

#[test]
fn weak_algorithms_and_bad_settings_are_refused_at_start() {
    let spec = |algorithm: &str| {
        format!(
            "type = \"rfc2136\"\nserver = \"127.0.0.1:53\"\nzone = \"example.com\"\nkey_name = \"k\"\nkey_algorithm = \"{algorithm}\"\nkey_secret = \"{UPDATE_SECRET}\""
        )
    };
    for weak in ["hmac-md5", "hmac-sha1", "HMAC-MD5.SIG-ALG.REG.INT"] {
        let err = crate::provider_error(&spec(weak), true, true);
        assert!(
            err.contains("key_algorithm") && err.contains("too weak"),
            "{err}"
        );
    }
    let err = crate::provider_error(
        "type = \"rfc2136\"\nserver = \"127.0.0.1:53\"\nzone = \"example.org\"\nkey_name = \"k\"\nkey_secret = \"c2VjcmV0LXNlY3JldC1zZWNyZXQ=\"",
        true,
        true,
    );
    assert!(err.contains("zone"), "{err}");
    let err = crate::provider_error(
        "type = \"rfc2136\"\nserver = \"127.0.0.1:53\"\nzone = \"example.com\"\nkey_name = \"k\"\nkey_secret = \"not base64!\"",
        true,
        true,
    );
    assert!(
        err.contains("key_secret") && !err.contains("not base64!"),
        "{err}"
    );
    let err = crate::provider_error(
        "type = \"rfc2136\"\nserver = \"127.0.0.1:53\"\nzone = \"example.com\"\nkey_name = \"k\"",
        true,
        true,
    );
    assert!(err.contains("key_secret"), "{err}");
}
