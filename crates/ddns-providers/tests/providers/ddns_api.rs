//! Our own server's REST API: the JSON body and bearer token sent, and each answer's class.

use std::time::Duration;

use ddns_providers::{FatalKind, Outcome, Provider};
use serde_json::{Value, json};

use crate::fake::{Answer, Fake, closed_port};
use crate::{HOST, provider, update};

const TOKEN: &str = "ddns_tok_0123456789abcdef";

fn spec(url: &str) -> String {
    format!("type = \"ddns\"\nurl = \"{url}\"\ntoken = \"{TOKEN}\"")
}

async fn server(answer: Answer) -> (Fake, Box<dyn Provider>) {
    let fake = Fake::serve(answer).await;
    let p = provider(&spec(&fake.base), true, true);
    (fake, p)
}

fn error(status: u16, code: &str, message: &str) -> Answer {
    Answer::new(
        status,
        &json!({"status": "error", "code": code, "message": message}).to_string(),
    )
    .header("Content-Type", "application/json")
}

async fn publish_to(answer: Answer) -> Outcome {
    let (_fake, p) = server(answer).await;
    p.publish(&update(&["192.0.2.1"], &[])).await
}

fn fatal(outcome: &Outcome) -> (FatalKind, &str) {
    match outcome {
        Outcome::Fatal { kind, message } => (*kind, message.as_str()),
        other => panic!("expected fatal, got {other:?}"),
    }
}

fn retry_after(outcome: &Outcome) -> Option<Duration> {
    match outcome {
        Outcome::Transient { retry_after, .. } => *retry_after,
        other => panic!("expected transient, got {other:?}"),
    }
}

#[tokio::test]
async fn success_sends_json_and_bearer_token() {
    let reply = json!({"status": "success", "domain": HOST, "ip": "192.0.2.1", "changed": true});
    let (fake, p) = server(Answer::new(200, &reply.to_string())).await;
    let mut u = update(&["192.0.2.1", "192.0.2.7"], &["2001:db8::1"]);
    u.ttl = Some(60);
    assert_eq!(p.publish(&u).await, Outcome::Published { changed: true });
    let req = fake.only_request();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/update")
    );
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(
        body,
        json!({"domain": HOST, "ip": "192.0.2.1,192.0.2.7", "ipv6": "2001:db8::1", "ttl": 60})
    );
}

#[tokio::test]
async fn unchanged_and_families_left_alone_are_omitted() {
    let reply = json!({"status": "success", "domain": HOST, "ip": "2001:db8::1", "changed": false});
    let (fake, p) = server(Answer::new(200, &reply.to_string())).await;
    let outcome = p.publish(&update(&[], &["2001:db8::1"])).await;
    assert_eq!(outcome, Outcome::Published { changed: false });
    let body: Value = serde_json::from_str(&fake.only_request().body).unwrap();
    assert_eq!(body, json!({"domain": HOST, "ipv6": "2001:db8::1"}));
}

#[tokio::test]
async fn base_url_with_a_path_prefix() {
    let fake = Fake::serve(Answer::new(200, r#"{"status":"success","changed":true}"#)).await;
    let p = provider(&spec(&format!("{}/ddns/", fake.base)), true, false);
    assert!(p.publish(&update(&["192.0.2.1"], &[])).await.is_published());
    assert_eq!(fake.only_request().path, "/ddns/update");
}

#[tokio::test]
async fn badauth_401_is_fatal_auth_with_the_servers_message() {
    let outcome = publish_to(error(401, "badauth", "unknown token")).await;
    let (kind, message) = fatal(&outcome);
    assert_eq!(kind, FatalKind::Auth);
    assert!(message.contains("badauth: unknown token"), "{message}");
    assert!(message.contains(HOST), "{message}");
    assert!(!message.contains(TOKEN), "{message}");
}

#[tokio::test]
async fn forbidden_403_is_fatal_auth() {
    let outcome = publish_to(error(403, "forbidden", "not in scope")).await;
    assert_eq!(fatal(&outcome).0, FatalKind::Auth);
}

#[tokio::test]
async fn nohost_404_is_fatal_host_and_a_bare_404_a_wrong_url() {
    let outcome = publish_to(error(404, "nohost", "no zone for home.example.com")).await;
    assert_eq!(fatal(&outcome).0, FatalKind::Host);
    let outcome = publish_to(Answer::new(404, "<h1>Not Found</h1>")).await;
    let (kind, message) = fatal(&outcome);
    assert_eq!(kind, FatalKind::Config);
    assert!(message.contains("check the url"), "{message}");
}

#[tokio::test]
async fn bad_request_400_is_fatal_config() {
    let outcome = publish_to(error(400, "notfqdn", "not a name")).await;
    let (kind, message) = fatal(&outcome);
    assert_eq!(kind, FatalKind::Config);
    assert!(message.contains("notfqdn"), "{message}");
}

#[tokio::test]
async fn conflict_409_is_fatal_config() {
    let outcome = publish_to(error(409, "conflict", "a CNAME exists")).await;
    let (kind, message) = fatal(&outcome);
    assert_eq!(kind, FatalKind::Config);
    assert!(message.contains("a CNAME exists"), "{message}");
}

#[tokio::test]
async fn rate_limited_429_is_transient_with_retry_after() {
    let outcome =
        publish_to(error(429, "rate_limited", "too many updates").header("Retry-After", "30"))
            .await;
    assert_eq!(retry_after(&outcome), Some(Duration::from_secs(30)));
    assert!(outcome.to_string().contains("rate_limited"), "{outcome}");
}

#[tokio::test]
async fn busy_503_is_transient_with_retry_after() {
    let outcome = publish_to(error(503, "busy", "store busy").header("Retry-After", "5")).await;
    assert_eq!(retry_after(&outcome), Some(Duration::from_secs(5)));
}

#[tokio::test]
async fn internal_500_is_transient() {
    let outcome = publish_to(error(500, "internal", "oops")).await;
    assert_eq!(retry_after(&outcome), None);
}

#[tokio::test]
async fn non_json_success_is_transient() {
    let outcome = publish_to(Answer::new(200, "<html>login</html>")).await;
    assert_eq!(retry_after(&outcome), None);
    assert!(
        outcome.to_string().contains("not a ddns reply"),
        "{outcome}"
    );
}

#[tokio::test]
async fn unreachable_server_is_transient() {
    let p = provider(&spec(&closed_port().await), true, false);
    let outcome = p.publish(&update(&["192.0.2.1"], &[])).await;
    assert!(
        outcome.to_string().contains("could not connect"),
        "{outcome}"
    );
}

#[tokio::test]
async fn an_update_without_addresses_is_never_sent() {
    let (fake, p) = server(Answer::new(200, "{}")).await;
    let outcome = p.publish(&update(&[], &[])).await;
    assert_eq!(fatal(&outcome).0, FatalKind::Config);
    assert!(fake.requests().is_empty());
}
