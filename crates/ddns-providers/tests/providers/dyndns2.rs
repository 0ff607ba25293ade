//! DynDNS2 services: the request (path, query, Basic auth, User-Agent) and one test per answer.

use std::time::Duration;

use ddns_providers::{FatalKind, Outcome, Provider};

use crate::fake::{Answer, Fake, closed_port};
use crate::{HOST, provider, provider_error, update};

const PASSWORD: &str = "s3cret-pass";
/// base64("me@example.com:s3cret-pass")
const BASIC: &str = "Basic bWVAZXhhbXBsZS5jb206czNjcmV0LXBhc3M=";

fn spec(service: &str, url: &str) -> String {
    format!(
        r#"
        type = "dyndns2"
        service = "{service}"
        url = "{url}"
        username = "me@example.com"
        password = "{PASSWORD}"
        "#
    )
}

/// A `custom` service at the fake, publishing IPv4 only.
async fn custom(answer: Answer) -> (Fake, Box<dyn Provider>) {
    let fake = Fake::serve(answer).await;
    let p = provider(
        &spec("custom", &format!("{}/nic/update", fake.base)),
        true,
        false,
    );
    (fake, p)
}

/// Publishes 192.0.2.1 to a custom service answering `body` with HTTP 200.
async fn answer_to(body: &str) -> Outcome {
    let (_fake, p) = custom(Answer::new(200, body)).await;
    p.publish(&update(&["192.0.2.1"], &[])).await
}

fn assert_fatal(outcome: &Outcome, want: FatalKind, code: &str) {
    match outcome {
        Outcome::Fatal { kind, message } => {
            assert_eq!(*kind, want, "{message}");
            assert!(message.contains(code), "{message}");
            assert!(
                message.contains(HOST) || want == FatalKind::Agent,
                "{message}"
            );
            assert!(!message.contains(PASSWORD), "{message}");
        }
        other => panic!("expected fatal {want:?}, got {other:?}"),
    }
}

fn retry_after(outcome: &Outcome) -> Option<Duration> {
    match outcome {
        Outcome::Transient { retry_after, .. } => *retry_after,
        other => panic!("expected transient, got {other:?}"),
    }
}

#[tokio::test]
async fn good_sends_hostname_myip_basic_auth_and_user_agent() {
    let (fake, p) = custom(Answer::new(200, "good 192.0.2.1\n")).await;
    let outcome = p.publish(&update(&["192.0.2.1"], &[])).await;
    assert_eq!(outcome, Outcome::Published { changed: true });
    let req = fake.only_request();
    assert_eq!(req.method, "GET");
    assert_eq!(req.path, "/nic/update");
    assert_eq!(
        req.query.as_deref(),
        Some("hostname=home.example.com&myip=192.0.2.1")
    );
    assert_eq!(req.header("authorization"), Some(BASIC));
    assert_eq!(
        req.header("user-agent"),
        Some(concat!(
            "ddns/",
            env!("CARGO_PKG_VERSION"),
            " (+https://github.com/ddns-project/ddns)"
        ))
    );
}

#[tokio::test]
async fn nochg_is_published_unchanged() {
    assert_eq!(
        answer_to("nochg 192.0.2.1").await,
        Outcome::Published { changed: false }
    );
}

#[tokio::test]
async fn badauth_is_fatal_auth() {
    assert_fatal(&answer_to("badauth").await, FatalKind::Auth, "badauth");
}

#[tokio::test]
async fn notfqdn_is_fatal_host() {
    assert_fatal(&answer_to("notfqdn").await, FatalKind::Host, "notfqdn");
}

#[tokio::test]
async fn nohost_is_fatal_host() {
    assert_fatal(&answer_to("nohost").await, FatalKind::Host, "nohost");
}

#[tokio::test]
async fn numhost_is_fatal_config() {
    assert_fatal(&answer_to("numhost").await, FatalKind::Config, "numhost");
}

#[tokio::test]
async fn abuse_is_fatal_abuse() {
    assert_fatal(&answer_to("abuse").await, FatalKind::Abuse, "abuse");
}

#[tokio::test]
async fn badagent_is_fatal_agent() {
    assert_fatal(&answer_to("badagent").await, FatalKind::Agent, "badagent");
}

#[tokio::test]
async fn donator_is_fatal_account() {
    assert_fatal(&answer_to("!donator").await, FatalKind::Account, "!donator");
}

#[tokio::test]
async fn yours_active_badsys_are_fatal() {
    assert_fatal(&answer_to("!yours").await, FatalKind::Host, "!yours");
    assert_fatal(&answer_to("!active").await, FatalKind::Account, "!active");
    assert_fatal(&answer_to("badsys").await, FatalKind::Config, "badsys");
}

#[tokio::test]
async fn dnserr_is_transient() {
    let outcome = answer_to("dnserr").await;
    assert_eq!(retry_after(&outcome), None);
    assert!(outcome.to_string().contains("dnserr"), "{outcome}");
}

#[tokio::test]
async fn code_911_waits_at_least_30_minutes() {
    let outcome = answer_to("911").await;
    assert!(retry_after(&outcome).unwrap() >= Duration::from_secs(30 * 60));
    // A shorter Retry-After does not shorten it; a longer one wins.
    let (_f, p) = custom(Answer::new(200, "911").header("Retry-After", "60")).await;
    let outcome = p.publish(&update(&["192.0.2.1"], &[])).await;
    assert_eq!(retry_after(&outcome), Some(Duration::from_secs(1800)));
    let (_f, p) = custom(Answer::new(500, "911").header("Retry-After", "7200")).await;
    let outcome = p.publish(&update(&["192.0.2.1"], &[])).await;
    assert_eq!(retry_after(&outcome), Some(Duration::from_secs(7200)));
}

#[tokio::test]
async fn unknown_garbage_is_transient() {
    let outcome = answer_to("<html>captive portal</html>").await;
    assert_eq!(retry_after(&outcome), None);
    assert!(
        outcome.to_string().contains("unexpected reply"),
        "{outcome}"
    );
    let outcome = answer_to("").await;
    assert!(outcome.to_string().contains("empty reply"), "{outcome}");
}

#[tokio::test]
async fn noip_wait_reply_is_honoured() {
    let outcome = answer_to("w5m").await;
    assert_eq!(retry_after(&outcome), Some(Duration::from_secs(300)));
    assert_eq!(
        retry_after(&answer_to("w2h").await),
        Some(Duration::from_secs(7200))
    );
}

#[tokio::test]
async fn http_429_with_retry_after() {
    let (_f, p) = custom(Answer::new(429, "slow down").header("Retry-After", "120")).await;
    let outcome = p.publish(&update(&["192.0.2.1"], &[])).await;
    assert_eq!(retry_after(&outcome), Some(Duration::from_secs(120)));
}

#[tokio::test]
async fn http_statuses_without_a_code() {
    let (_f, p) = custom(Answer::new(401, "")).await;
    let outcome = p.publish(&update(&["192.0.2.1"], &[])).await;
    assert_fatal(&outcome, FatalKind::Auth, "401");
    let (_f, p) = custom(Answer::new(502, "bad gateway")).await;
    let outcome = p.publish(&update(&["192.0.2.1"], &[])).await;
    assert_eq!(retry_after(&outcome), None);
    let (_f, p) = custom(Answer::new(404, "not here")).await;
    let outcome = p.publish(&update(&["192.0.2.1"], &[])).await;
    assert!(
        matches!(
            outcome,
            Outcome::Fatal {
                kind: FatalKind::Config,
                ..
            }
        ),
        "{outcome:?}"
    );
    let (_f, p) =
        custom(Answer::new(301, "").header("Location", "https://new.example/nic/update")).await;
    let outcome = p.publish(&update(&["192.0.2.1"], &[])).await;
    assert!(
        outcome
            .to_string()
            .contains("https://new.example/nic/update"),
        "{outcome}"
    );
    // A code in a 4xx body wins over the status (deSEC style).
    let (_f, p) = custom(Answer::new(404, "nohost")).await;
    let outcome = p.publish(&update(&["192.0.2.1"], &[])).await;
    assert_fatal(&outcome, FatalKind::Host, "nohost");
}

#[tokio::test]
async fn echoed_address_mismatch_is_transient() {
    let outcome = answer_to("good 198.51.100.9").await;
    assert_eq!(retry_after(&outcome), None);
    let text = outcome.to_string();
    assert!(
        text.contains("198.51.100.9") && text.contains("192.0.2.1"),
        "{text}"
    );
    // Dyn's sign of a blocked client.
    assert_fatal(
        &answer_to("good 127.0.0.1").await,
        FatalKind::Agent,
        "127.0.0.1",
    );
    // No echo, or an echo that is no address, is accepted.
    assert!(answer_to("good").await.is_published());
    assert!(answer_to("good 192.000.002.001").await.is_published());
}

#[tokio::test]
async fn noip_sends_both_families_in_one_myip() {
    let fake = Fake::serve(Answer::new(200, "good 192.0.2.1,2001:db8::1")).await;
    let p = provider(
        &spec("noip", &format!("{}/nic/update", fake.base)),
        true,
        true,
    );
    assert_eq!(p.name(), "noip");
    let outcome = p.publish(&update(&["192.0.2.1"], &["2001:db8::1"])).await;
    assert_eq!(outcome, Outcome::Published { changed: true });
    let req = fake.only_request();
    assert_eq!(
        req.query.as_deref(),
        Some("hostname=home.example.com&myip=192.0.2.1,2001:db8::1")
    );
    let ua = req.header("user-agent").unwrap();
    assert!(ua.starts_with("ddns-project ddns/"), "{ua}");
    assert!(
        ua.ends_with(concat!(
            env!("CARGO_PKG_VERSION"),
            " https://github.com/ddns-project/ddns"
        )),
        "{ua}"
    );
}

#[tokio::test]
async fn dynu_puts_ipv6_in_myipv6_and_suppresses_the_other_family() {
    let fake = Fake::serve(Answer::new(200, "good")).await;
    let p = provider(
        &spec("dynu", &format!("{}/nic/update", fake.base)),
        true,
        true,
    );
    p.publish(&update(&["192.0.2.1"], &["2001:db8::1"])).await;
    p.publish(&update(&[], &["2001:db8::1"])).await;
    p.publish(&update(&["192.0.2.1"], &[])).await;
    let queries: Vec<_> = fake
        .requests()
        .into_iter()
        .map(|r| r.query.unwrap())
        .collect();
    assert_eq!(
        queries,
        [
            "hostname=home.example.com&myip=192.0.2.1&myipv6=2001:db8::1",
            "hostname=home.example.com&myip=no&myipv6=2001:db8::1",
            "hostname=home.example.com&myip=192.0.2.1&myipv6=no",
        ]
    );
}

#[tokio::test]
async fn address_lists_only_where_supported() {
    // Dyn takes several addresses per family.
    let fake = Fake::serve(Answer::new(200, "good 192.0.2.1,192.0.2.7")).await;
    let p = provider(
        &spec("dyn", &format!("{}/v3/update", fake.base)),
        true,
        false,
    );
    assert!(p.capabilities().address_lists);
    let outcome = p.publish(&update(&["192.0.2.1", "192.0.2.7"], &[])).await;
    assert_eq!(outcome, Outcome::Published { changed: true });
    assert_eq!(
        fake.only_request().query.as_deref(),
        Some("hostname=home.example.com&myip=192.0.2.1,192.0.2.7")
    );
    // No-IP does not: refused before anything is sent.
    let fake = Fake::serve(Answer::new(200, "good")).await;
    let p = provider(
        &spec("noip", &format!("{}/nic/update", fake.base)),
        true,
        false,
    );
    let outcome = p.publish(&update(&["192.0.2.1", "192.0.2.7"], &[])).await;
    assert!(
        matches!(
            outcome,
            Outcome::Fatal {
                kind: FatalKind::Config,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn dyn_refuses_to_clear_an_omitted_family() {
    let fake = Fake::serve(Answer::new(200, "good")).await;
    let p = provider(
        &spec("dyn", &format!("{}/v3/update", fake.base)),
        true,
        true,
    );
    let outcome = p.publish(&update(&["192.0.2.1"], &[])).await;
    assert!(outcome.to_string().contains("together"), "{outcome}");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn custom_service_options() {
    let fake = Fake::serve(Answer::new(200, "good")).await;
    let text = format!(
        "{}\nipv6_param = \"myipv6\"\nuser_agent = \"Example Router 1.0\"",
        spec("custom", &format!("{}/update?system=dyndns", fake.base))
    );
    let p = provider(&text, true, true);
    p.publish(&update(&["192.0.2.1"], &["2001:db8::1"])).await;
    let req = fake.only_request();
    assert_eq!(
        req.query.as_deref(),
        Some("system=dyndns&hostname=home.example.com&myip=192.0.2.1&myipv6=2001:db8::1")
    );
    assert_eq!(req.header("user-agent"), Some("Example Router 1.0"));

    let missing_url =
        "type = \"dyndns2\"\nservice = \"custom\"\nusername = \"u\"\npassword = \"p\"";
    assert!(provider_error(missing_url, true, false).contains("url"));
    let preset_option = format!(
        "{}\naddress_lists = true",
        spec("noip", "https://x.example/")
    );
    assert!(provider_error(&preset_option, true, false).contains("address_lists"));
}

#[tokio::test]
async fn network_failures_are_transient() {
    let p = provider(
        &spec("custom", &format!("{}/nic/update", closed_port().await)),
        true,
        false,
    );
    let outcome = p.publish(&update(&["192.0.2.1"], &[])).await;
    assert!(
        outcome.to_string().contains("could not connect"),
        "{outcome}"
    );
    assert_eq!(retry_after(&outcome), None);

    let fake = Fake::silent().await;
    let p = provider(
        &spec("custom", &format!("{}/nic/update", fake.base)),
        true,
        false,
    );
    let outcome = p.publish(&update(&["192.0.2.1"], &[])).await;
    assert!(
        outcome.to_string().contains("did not answer in time"),
        "{outcome}"
    );
}

#[tokio::test]
async fn password_stays_out_of_debug_and_messages() {
    let (_f, p) = custom(Answer::new(200, "badauth")).await;
    let debug = format!("{p:?}");
    assert!(!debug.contains(PASSWORD), "{debug}");
    assert!(debug.contains("me@example.com"), "{debug}");
    let outcome = p.publish(&update(&["192.0.2.1"], &[])).await;
    assert!(!format!("{outcome:?}").contains(PASSWORD));
}
