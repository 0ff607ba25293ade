//! Webhooks: rendering of method, URL, headers and body, and the class of each status.

use std::time::Duration;

use ddns_providers::{FatalKind, Outcome, Provider};
use serde_json::{Value, json};

use crate::fake::{Answer, Fake};
use crate::{HOST, provider, provider_error, update};

async fn hook(answer: Answer, extra: &str) -> (Fake, Box<dyn Provider>) {
    let fake = Fake::serve(answer).await;
    let text = format!(
        "type = \"webhook\"\nurl = \"{}/hook?host={{name}}&ip={{ipv4|url}}&token=hook-SECRET\"\n{extra}",
        fake.base
    );
    (fake, provider(&text, true, true))
}

const JSON_HOOK: &str = r#"
method = "put"
headers = { "Content-Type" = "application/json", "Authorization" = "Bearer hdr-SECRET", "X-Host" = "{name}" }
body = '{{"name": "{name}", "ipv6": "{ipv6|json}", "all": "{ip|url}", "ttl": "{ttl}"}}'
"#;

#[tokio::test]
async fn renders_method_url_headers_and_body() {
    let (fake, p) = hook(Answer::new(204, ""), JSON_HOOK).await;
    let outcome = p.publish(&update(&["192.0.2.1"], &["2001:db8::1"])).await;
    assert_eq!(outcome, Outcome::Published { changed: true });
    let req = fake.only_request();
    assert_eq!(req.method, "PUT");
    assert_eq!(req.path, "/hook");
    assert_eq!(
        req.query.as_deref(),
        Some("host=home.example.com&ip=192.0.2.1&token=hook-SECRET")
    );
    assert_eq!(req.header("authorization"), Some("Bearer hdr-SECRET"));
    assert_eq!(req.header("x-host"), Some(HOST));
    assert_eq!(req.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(
        body,
        json!({"name": HOST, "ipv6": "2001:db8::1", "all": "192.0.2.1%2C2001%3Adb8%3A%3A1", "ttl": ""})
    );
}

#[tokio::test]
async fn get_without_a_body_and_url_encoding_by_default() {
    let fake = Fake::serve(Answer::new(200, "ok")).await;
    let text = format!(
        "type = \"webhook\"\nurl = \"{}/u/{{name}}?ip={{ip}}&raw={{ip|raw}}\"",
        fake.base
    );
    let p = provider(&text, true, true);
    assert!(
        p.publish(&update(&["192.0.2.1"], &["2001:db8::1"]))
            .await
            .is_published()
    );
    let req = fake.only_request();
    assert_eq!(req.method, "GET");
    assert_eq!(req.path, "/u/home.example.com");
    assert_eq!(
        req.query.as_deref(),
        Some("ip=192.0.2.1%2C2001%3Adb8%3A%3A1&raw=192.0.2.1,2001:db8::1")
    );
    assert!(req.body.is_empty());
}

#[tokio::test]
async fn status_classes() {
    for (status, expect) in [
        (200, "published"),
        (201, "published"),
        (400, "config"),
        (401, "auth"),
        (403, "auth"),
        (404, "config"),
        (408, "transient"),
        (429, "transient"),
        (500, "transient"),
        (503, "transient"),
    ] {
        let (_fake, p) = hook(Answer::new(status, "nope"), "").await;
        let outcome = p.publish(&update(&["192.0.2.1"], &[])).await;
        let got = match &outcome {
            Outcome::Published { .. } => "published",
            Outcome::Transient { .. } => "transient",
            Outcome::Fatal {
                kind: FatalKind::Auth,
                ..
            } => "auth",
            Outcome::Fatal {
                kind: FatalKind::Config,
                ..
            } => "config",
            Outcome::Fatal { .. } => "other fatal",
        };
        assert_eq!(got, expect, "HTTP {status}: {outcome:?}");
        assert!(!format!("{outcome:?}").contains("SECRET"), "{outcome:?}");
    }
    let (_fake, p) = hook(Answer::new(429, "").header("Retry-After", "90"), "").await;
    match p.publish(&update(&["192.0.2.1"], &[])).await {
        Outcome::Transient { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(90)));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn templates_are_checked_when_built() {
    let base = "type = \"webhook\"\nurl = \"https://hooks.example.com/x\"\n";
    let err = provider_error(&format!("{base}body = \"{{adress}}\""), true, false);
    assert!(
        err.contains("body template") && err.contains("{adress}"),
        "{err}"
    );
    let err = provider_error(
        "type = \"webhook\"\nurl = \"https://hooks.example.com/{ip|base64}\"",
        true,
        false,
    );
    assert!(
        err.contains("url template") && err.contains("base64"),
        "{err}"
    );
    let err = provider_error(
        &format!("{base}headers = {{ X = \"{{nme}}\" }}"),
        true,
        false,
    );
    assert!(err.contains("headers.X template"), "{err}");
    let err = provider_error(&format!("{base}body = '{{\"a\": 1}}'"), true, false);
    assert!(err.contains("'{{'"), "{err}");
    let err = provider_error(&format!("{base}method = \"GE T\""), true, false);
    assert!(err.contains("GE T"), "{err}");
    let err = provider_error(
        &format!("{base}headers = {{ \"Bad Name\" = \"x\" }}"),
        true,
        false,
    );
    assert!(err.contains("Bad Name"), "{err}");
    let err = provider_error("type = \"webhook\"\nurl = \"{name}/path\"", true, false);
    assert!(err.contains("url is not usable"), "{err}");
}

#[tokio::test]
async fn secrets_stay_out_of_debug() {
    let text = format!(
        "type = \"webhook\"\nurl = \"https://hooks.example.com/bot-SECRET/x?token=q-SECRET\"\n{JSON_HOOK}"
    );
    let spec: ddns_providers::ProviderSpec = toml::from_str(&text).unwrap();
    let debug = format!("{spec:?}");
    assert!(!debug.contains("SECRET"), "{debug}");
    assert!(debug.contains("https://hooks.example.com"), "{debug}");
    let p = provider(&text, true, true);
    let debug = format!("{p:?}");
    assert!(!debug.contains("SECRET"), "{debug}");
}
