//! Route 53 against moto with IAM authentication on (it checks every SigV4 signature and the
//! key's IAM policy), and against a scripted fake for what moto cannot be made to answer
//! (throttling, server errors) and for the exact request shape.

use std::time::Duration;

use ddns_providers::{FatalKind, Outcome, Provider};
use ddns_testkit::moto::{AccessKey, Moto};

use crate::fake::{Answer, Fake};
use crate::{fatal_of, provider_for, update_of};

fn provider(moto: &Moto, key: &AccessKey, host: &str, extra: &str) -> Box<dyn Provider> {
    provider_for(
        &format!(
            "type = \"route53\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\nendpoint = \"{}\"\n{extra}",
            key.id, key.secret, moto.endpoint
        ),
        host,
    )
}

fn set(rtype: &str, ttl: u64, values: &[&str]) -> (String, u64, Vec<String>) {
    (
        rtype.to_owned(),
        ttl,
        values.iter().map(|v| (*v).to_owned()).collect(),
    )
}

#[tokio::test]
async fn create_update_and_no_op_in_the_zone_found_by_name() {
    let moto = Moto::shared();
    moto.upsert(
        "example.com",
        "r53-home.example.com",
        "TXT",
        300,
        &["\"keep me\""],
    );
    let p = provider(moto, &moto.ddns, "r53-home.example.com", "");
    let outcome = p
        .publish(&update_of("r53-home.example.com", &["192.0.2.1"], &[]))
        .await;
    assert_eq!(outcome, Outcome::Published { changed: true });
    assert_eq!(
        moto.record_sets("example.com", "r53-home.example.com"),
        [
            set("A", 60, &["192.0.2.1"]),
            set("TXT", 300, &["\"keep me\""])
        ],
        "created in the public example.com zone; the TXT is untouched"
    );
    let outcome = p
        .publish(&update_of("r53-home.example.com", &["192.0.2.2"], &[]))
        .await;
    assert_eq!(outcome, Outcome::Published { changed: true });
    assert_eq!(
        moto.record_sets("example.com", "r53-home.example.com")[0],
        set("A", 60, &["192.0.2.2"])
    );
    let outcome = p
        .publish(&update_of("r53-home.example.com", &["192.0.2.2"], &[]))
        .await;
    assert_eq!(
        outcome,
        Outcome::Published { changed: false },
        "equal: no write"
    );
    assert!(
        moto.record_sets("example.com private", "r53-home.example.com")
            .is_empty(),
        "the private zone of the same name is never used"
    );
}

#[tokio::test]
async fn both_families_and_several_addresses_are_one_record_set_each() {
    let moto = Moto::shared();
    let host = "r53-multi.example.com";
    let p = provider(moto, &moto.ddns, host, "");
    let mut u = update_of(host, &["192.0.2.2", "192.0.2.1"], &["2001:db8::1"]);
    u.ttl = Some(120);
    assert_eq!(p.publish(&u).await, Outcome::Published { changed: true });
    assert_eq!(
        moto.record_sets("example.com", host),
        [
            set("A", 120, &["192.0.2.1", "192.0.2.2"]),
            set("AAAA", 120, &["2001:db8::1"])
        ]
    );
    assert_eq!(p.publish(&u).await, Outcome::Published { changed: false });
    // IPv6 alone: A untouched, TTL kept from the existing set when none is configured.
    let u = update_of(host, &[], &["2001:db8::2"]);
    assert_eq!(p.publish(&u).await, Outcome::Published { changed: true });
    assert_eq!(
        moto.record_sets("example.com", host),
        [
            set("A", 120, &["192.0.2.1", "192.0.2.2"]),
            set("AAAA", 120, &["2001:db8::2"])
        ]
    );
}

#[tokio::test]
async fn longest_suffix_and_configured_zone() {
    let moto = Moto::shared();
    let host = "r53.dyn.example.com";
    let p = provider(moto, &moto.ddns, host, "");
    assert_eq!(
        p.publish(&update_of(host, &["192.0.2.7"], &[])).await,
        Outcome::Published { changed: true }
    );
    assert_eq!(
        moto.record_sets("dyn.example.com", host),
        [set("A", 60, &["192.0.2.7"])]
    );
    assert!(moto.record_sets("example.com", host).is_empty());

    let host = "r53-fixed.example.com";
    let zone = moto.zone("example.com");
    let p = provider(
        moto,
        &moto.ddns,
        host,
        &format!("hosted_zone_id = \"/hostedzone/{zone}\""),
    );
    assert_eq!(
        p.publish(&update_of(host, &["192.0.2.8"], &[])).await,
        Outcome::Published { changed: true }
    );
    assert_eq!(
        moto.record_sets("example.com", host),
        [set("A", 60, &["192.0.2.8"])]
    );

    let p = provider(moto, &moto.ddns, host, "hosted_zone_id = \"ZNOSUCHZONE\"");
    let outcome = p.publish(&update_of(host, &["192.0.2.9"], &[])).await;
    let (kind, message) = fatal_of(&outcome);
    assert_eq!(kind, FatalKind::Host, "{message}");
    assert!(message.contains("hosted_zone_id"), "{message}");
}

#[tokio::test]
async fn zone_not_found() {
    let moto = Moto::shared();
    let p = provider(moto, &moto.ddns, "r53.example.org", "");
    let outcome = p
        .publish(&update_of("r53.example.org", &["192.0.2.1"], &[]))
        .await;
    let (kind, message) = fatal_of(&outcome);
    assert_eq!(kind, FatalKind::Host);
    assert!(
        message.contains("example.org") && message.contains("hosted_zone_id"),
        "{message}"
    );
}

#[tokio::test]
async fn wrong_keys_and_missing_permissions_are_auth_errors() {
    let moto = Moto::shared();
    let host = "r53-auth.example.com";
    let wrong_secret = AccessKey {
        id: moto.ddns.id.clone(),
        secret: "WRONGwrongWRONGwrongWRONGwrongWRONGwrong".into(),
    };
    let outcome = provider(moto, &wrong_secret, host, "")
        .publish(&update_of(host, &["192.0.2.1"], &[]))
        .await;
    let (kind, message) = fatal_of(&outcome);
    assert_eq!(kind, FatalKind::Auth);
    assert!(message.contains("secret_access_key"), "{message}");
    assert!(!message.contains("WRONGwrong"), "{message}");

    let unknown = AccessKey {
        id: "AKIAIOSFODNN7EXAMPLE".into(),
        secret: moto.ddns.secret.clone(),
    };
    let outcome = provider(moto, &unknown, host, "")
        .publish(&update_of(host, &["192.0.2.1"], &[]))
        .await;
    let (kind, message) = fatal_of(&outcome);
    assert_eq!(kind, FatalKind::Auth);
    assert!(message.contains("access_key_id"), "{message}");

    let outcome = provider(moto, &moto.readonly, host, "")
        .publish(&update_of(host, &["192.0.2.1"], &[]))
        .await;
    let (kind, message) = fatal_of(&outcome);
    assert_eq!(kind, FatalKind::Auth);
    assert!(
        message.contains("route53:ChangeResourceRecordSets"),
        "{message}"
    );
    assert!(moto.record_sets("example.com", host).is_empty());
}

/// An answer of the scripted fake in Route 53's XML error shape.
fn aws_error(status: u16, code: &str, message: &str) -> Answer {
    Answer::new(
        status,
        &format!(
            "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
        ),
    )
    .header("Content-Type", "text/xml")
}

fn scripted(fake: &Fake) -> Box<dyn Provider> {
    provider_for(
        &format!(
            "type = \"route53\"\naccess_key_id = \"AKIDEXAMPLE\"\nsecret_access_key = \"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\"\nhosted_zone_id = \"Z1\"\nendpoint = \"{}\"",
            fake.base
        ),
        "home.example.com",
    )
}

#[tokio::test]
async fn throttling_and_server_errors_are_transient() {
    let fake =
        Fake::serve(aws_error(400, "Throttling", "Rate exceeded").header("Retry-After", "3")).await;
    match scripted(&fake)
        .publish(&update_of("home.example.com", &["192.0.2.1"], &[]))
        .await
    {
        Outcome::Transient {
            reason,
            retry_after,
        } => {
            assert!(reason.contains("throttling"), "{reason}");
            assert_eq!(retry_after, Some(Duration::from_secs(3)));
        }
        other => panic!("{other:?}"),
    }
    let fake = Fake::serve(aws_error(
        400,
        "PriorRequestNotComplete",
        "The request was rejected because Route 53 was still processing a prior request.",
    ))
    .await;
    let outcome = scripted(&fake)
        .publish(&update_of("home.example.com", &["192.0.2.1"], &[]))
        .await;
    assert!(matches!(outcome, Outcome::Transient { .. }), "{outcome:?}");
    let fake = Fake::serve(aws_error(503, "ServiceUnavailable", "busy")).await;
    let outcome = scripted(&fake)
        .publish(&update_of("home.example.com", &["192.0.2.1"], &[]))
        .await;
    assert!(matches!(outcome, Outcome::Transient { .. }), "{outcome:?}");
}

#[tokio::test]
async fn requests_are_signed_with_sigv4_and_carry_a_user_agent() {
    let fake = Fake::serve(aws_error(
        403,
        "AccessDenied",
        "User is not authorized to perform: route53:ListResourceRecordSets",
    ))
    .await;
    let outcome = scripted(&fake)
        .publish(&update_of("home.example.com", &["192.0.2.1"], &[]))
        .await;
    let (kind, message) = fatal_of(&outcome);
    assert_eq!(kind, FatalKind::Auth);
    assert!(
        message.contains("route53:ListResourceRecordSets"),
        "{message}"
    );
    let request = fake.only_request();
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/2013-04-01/hostedzone/Z1/rrset");
    assert_eq!(
        request.query.as_deref(),
        Some("maxitems=100&name=home.example.com.")
    );
    let date = request.header("x-amz-date").unwrap();
    assert_eq!(date.len(), 16, "{date}");
    let auth = request.header("authorization").unwrap();
    assert!(
        auth.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/us-east-1/route53/aws4_request, SignedHeaders=host;x-amz-date, Signature=",
            &date[..8]
        )),
        "{auth}"
    );
    assert!(request.header("user-agent").unwrap().starts_with("ddns/"));
}
