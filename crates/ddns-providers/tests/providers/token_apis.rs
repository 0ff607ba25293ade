//! What the token APIs do beyond the cases every cloud provider shares (`cloud.rs`): deSEC's
//! paged domain listing and minimum TTL, dynv6's one address per family at the apex, Gandi's
//! legacy API key, Vercel's team, and the settings each checks when it is built.

use ddns_core::DomainName;
use ddns_providers::{BuildContext, FatalKind, ProviderSpec, build};
use ddns_testkit::fake_cloud::CloudDns;
use ddns_testkit::fake_desec::FakeDesec;
use ddns_testkit::fake_dynv6::FakeDynv6;
use ddns_testkit::fake_gandi::FakeGandi;
use ddns_testkit::fake_vercel::FakeVercel;

use crate::cloud::{CHANGED, SECRET, fatal, provider_for, update};

fn name(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

#[tokio::test]
async fn desec_domains_are_listed_across_pages() {
    let fake = FakeDesec::start(SECRET);
    for i in 0..520 {
        fake.add_zone(&format!("zone{i:03}.example.org"));
    }
    // Sorted last, so on the second page.
    fake.add_zone("zzz.example.net");
    let provider = provider_for(&fake.provider_toml("", SECRET), "home.zzz.example.net");
    let outcome = provider
        .publish(&update("home.zzz.example.net", &["192.0.2.1"], &[]))
        .await;
    assert_eq!(outcome, CHANGED);
    let listings: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r.target.clone())
        .filter(|t| t.starts_with("/api/v1/domains/?"))
        .collect();
    assert_eq!(
        listings,
        ["/api/v1/domains/?cursor=", "/api/v1/domains/?cursor=o500"]
    );
}

#[tokio::test]
async fn desec_ttl_below_the_domain_minimum_names_the_setting() {
    let fake = FakeDesec::start(SECRET);
    fake.add_zone("example.com");
    let provider = provider_for(
        &format!("{}ttl = 60\n", fake.provider_toml("", SECRET)),
        "home.example.com",
    );
    let (kind, message) = fatal(
        &provider
            .publish(&update("home.example.com", &["192.0.2.1"], &[]))
            .await,
    );
    assert_eq!(kind, FatalKind::Config);
    assert!(
        message.contains("ttl") && message.contains("3600"),
        "{message}"
    );
    assert_eq!(fake.writes(), 0);
    // Without a TTL, a new RRset gets the domain's minimum.
    let provider = provider_for(&fake.provider_toml("", SECRET), "home.example.com");
    let outcome = provider
        .publish(&update("home.example.com", &["192.0.2.1"], &[]))
        .await;
    assert_eq!(outcome, CHANGED);
    assert_eq!(fake.records()[0].ttl, 3600);
}

#[tokio::test]
async fn dynv6_apex_holds_one_address_per_family() {
    let fake = FakeDynv6::start(SECRET);
    fake.add_zone("example.com");
    let provider = provider_for(&fake.provider_toml("", SECRET), "example.com");
    let (kind, message) = fatal(
        &provider
            .publish(&update("example.com", &["192.0.2.1", "192.0.2.2"], &[]))
            .await,
    );
    assert_eq!(kind, FatalKind::Config);
    assert!(message.contains("one A address"), "{message}");
    assert_eq!(fake.writes(), 0);
}

#[test]
fn token_api_settings_are_checked_at_build() {
    let build_err = |text: &str| {
        let spec: ProviderSpec = toml::from_str(text).unwrap();
        build(
            &spec,
            &BuildContext::new(name("home.example.com"), true, true),
        )
        .unwrap_err()
        .to_string()
    };
    for (text, field) in [
        ("type = \"desec\"\ntoken = \" \"\n", "token"),
        ("type = \"digitalocean\"\ntoken = \"\"\n", "token"),
        (
            "type = \"porkbun\"\napi_key = \"pk1\"\nsecret_api_key = \"\"\n",
            "secret_api_key",
        ),
        ("type = \"gandi\"\n", "token"),
        (
            "type = \"gandi\"\ntoken = \"t\"\napi_key = \"k\"\n",
            "not both",
        ),
        (
            "type = \"godaddy\"\napi_key = \"\"\napi_secret = \"s\"\n",
            "api_key",
        ),
        (
            "type = \"vercel\"\ntoken = \"t\"\nteam_id = \" \"\n",
            "team_id",
        ),
        (
            "type = \"vercel\"\ntoken = \"t\"\nteam_id = \"team/../x\"\n",
            "team_id",
        ),
        (
            "type = \"dynv6\"\ntoken = \"t\"\nendpoint = \"ftp://x\"\n",
            "endpoint",
        ),
        ("type = \"namesilo\"\napi_key = \"\"\n", "api_key"),
    ] {
        let err = build_err(text);
        assert!(err.contains(field), "{text}: {err}");
    }
    let unknown = toml::from_str::<ProviderSpec>("type = \"desec\"\ntoken = \"t\"\ntokn = \"t\"\n")
        .unwrap_err();
    assert!(unknown.to_string().contains("tokn"), "{unknown}");
}

#[tokio::test]
async fn gandi_takes_the_deprecated_api_key_as_apikey() {
    let fake = FakeGandi::start(SECRET);
    fake.add_zone("example.com");
    let provider = provider_for(
        &format!(
            "type = \"gandi\"\napi_key = \"{SECRET}\"\nendpoint = \"{}\"\n",
            fake.endpoint()
        ),
        "home.example.com",
    );
    let outcome = provider
        .publish(&update("home.example.com", &["192.0.2.1"], &[]))
        .await;
    assert_eq!(outcome, CHANGED);
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("Apikey {SECRET}")))
    );
}

#[tokio::test]
async fn vercel_sends_the_team_id_on_every_call() {
    let fake = FakeVercel::start(SECRET);
    fake.add_zone("example.com");
    let provider = provider_for(
        &format!(
            "{}team_id = \"team_abc123\"\n",
            fake.provider_toml("", SECRET)
        ),
        "home.example.com",
    );
    let outcome = provider
        .publish(&update("home.example.com", &["192.0.2.1"], &[]))
        .await;
    assert_eq!(outcome, CHANGED);
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    assert!(
        requests
            .iter()
            .all(|r| r.target.contains("teamId=team_abc123")),
        "{requests:#?}"
    );
}
