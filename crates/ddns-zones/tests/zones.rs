//! The write path end to end against a real store: authorisation, commit, snapshot.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use ddns_config::{ServerConfig, ZoneConfig};
use ddns_core::snapshot::rtype;
use ddns_core::{Actor, DomainName, Origin, RecordData, RecordType, Scope, ScopeEntry};
use ddns_store::{ChangeSet, RrsetWrite, Store, StoreOptions};
use ddns_zones::{AddressUpdate, Principal, RrsetIntent, UpdateError, Zones};

fn n(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

fn zone_config() -> ZoneConfig {
    let text = r#"version = 1
[[zone]]
name = "dyn.example"
records = ["www A 192.0.2.80", "sub NS ns.elsewhere.example.", "alias CNAME www"]
"#;
    ServerConfig::from_toml(text, "/unused".into())
        .unwrap()
        .zones
        .remove(0)
}

async fn setup() -> (tempfile::TempDir, Arc<Store>, Zones) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Store::open_dir(dir.path(), &StoreOptions::default())
            .await
            .unwrap(),
    );
    let zones = Zones::open(store.clone(), vec![zone_config()])
        .await
        .unwrap();
    (dir, store, zones)
}

async fn principal(zones: &Zones, scope: Scope) -> Principal {
    let token = ddns_core::token::generate().unwrap();
    zones
        .store()
        .insert_token(&token, "test", &scope)
        .await
        .unwrap();
    zones.authenticate(&token.full).await.unwrap()
}

fn a_in_snapshot(zones: &Zones, name: &str) -> Option<Vec<Vec<u8>>> {
    let set = zones.snapshot();
    let zone = set.get(&n("dyn.example")).unwrap();
    zone.node(&n(name).to_wire())
        .and_then(|node| node.rrset(rtype::A))
        .map(|r| r.rdatas().map(<[u8]>::to_vec).collect())
}

fn addresses(names: &[&str], v4: &str) -> AddressUpdate {
    AddressUpdate {
        names: names.iter().map(|s| n(s)).collect(),
        ipv4: Some(vec![v4.parse().unwrap()]),
        ipv6: None,
        offline: false,
        ttl: None,
    }
}

#[tokio::test]
async fn update_is_visible_when_it_returns() {
    let (_dir, _store, zones) = setup().await;
    let p = principal(
        &zones,
        Scope::Hosts(vec![ScopeEntry::parse("home.dyn.example").unwrap()]),
    )
    .await;
    let serial0 = zones.snapshot().get(&n("dyn.example")).unwrap().serial();
    let out = zones
        .update_addresses(
            &p,
            &addresses(&["home.dyn.example"], "198.51.100.4"),
            Origin::default(),
        )
        .await
        .unwrap();
    assert!(out[0].changed);
    assert_eq!(
        a_in_snapshot(&zones, "home.dyn.example"),
        Some(vec![vec![198, 51, 100, 4]])
    );
    let serial1 = zones.snapshot().get(&n("dyn.example")).unwrap().serial();
    assert!(serial1.is_greater_than(serial0));
    let again = zones
        .update_addresses(
            &p,
            &addresses(&["home.dyn.example"], "198.51.100.4"),
            Origin::default(),
        )
        .await
        .unwrap();
    assert!(!again[0].changed);
    assert_eq!(
        zones.snapshot().get(&n("dyn.example")).unwrap().serial(),
        serial1
    );
}

#[tokio::test]
async fn every_name_must_be_permitted() {
    let (_dir, store, zones) = setup().await;
    let p = principal(
        &zones,
        Scope::Hosts(vec![ScopeEntry::parse("home.dyn.example").unwrap()]),
    )
    .await;
    let err = zones
        .update_addresses(
            &p,
            &addresses(&["home.dyn.example", "victim.dyn.example"], "198.51.100.4"),
            Origin::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, UpdateError::OutOfScope(ref name) if name.as_str() == "victim.dyn.example")
    );
    assert_eq!(
        a_in_snapshot(&zones, "home.dyn.example"),
        None,
        "nothing changes when one name is refused"
    );
    assert_eq!(store.last_history_id().await.unwrap(), 0);
    let err = zones
        .update_addresses(
            &p,
            &addresses(&["home.other.example"], "198.51.100.4"),
            Origin::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, UpdateError::NotServed(_)));
}

#[tokio::test]
async fn static_records_are_not_for_updates() {
    let (_dir, _store, zones) = setup().await;
    let admin = principal(&zones, Scope::Admin).await;
    for name in [
        "www.dyn.example",
        "alias.dyn.example",
        "x.sub.dyn.example",
        "sub.dyn.example",
    ] {
        let err = zones
            .update_addresses(
                &admin,
                &addresses(&[name], "198.51.100.4"),
                Origin::default(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, UpdateError::Reserved { .. }),
            "{name}: {err:?}"
        );
    }
    // AAAA beside a static A is fine.
    let mut v6 = addresses(&["www.dyn.example"], "198.51.100.4");
    v6.ipv4 = None;
    v6.ipv6 = Some(vec!["2001:db8::80".parse().unwrap()]);
    assert!(
        zones
            .update_addresses(&admin, &v6, Origin::default())
            .await
            .unwrap()[0]
            .changed
    );
}

#[tokio::test]
async fn cname_conflicts_are_refused() {
    let (_dir, _store, zones) = setup().await;
    let admin = principal(&zones, Scope::Admin).await;
    zones
        .update_addresses(
            &admin,
            &addresses(&["h.dyn.example"], "198.51.100.4"),
            Origin::default(),
        )
        .await
        .unwrap();
    let intent = RrsetIntent {
        name: n("h.dyn.example"),
        rtype: RecordType::Cname,
        data: Some(RecordData::parse(RecordType::Cname, &["www.dyn.example"]).unwrap()),
        ttl: None,
    };
    let err = zones
        .update_rrsets(&admin, &[intent], None, Origin::default())
        .await
        .unwrap_err();
    assert!(matches!(err, UpdateError::Conflict(_)), "{err:?}");
}

#[tokio::test]
async fn changes_by_other_processes_are_replayed() {
    let (dir, _store, zones) = setup().await;
    // A second process (the CLI) writes to the same database.
    let other = Store::open_dir(dir.path(), &StoreOptions::default())
        .await
        .unwrap();
    let set = ChangeSet::new(
        vec![RrsetWrite {
            zone: n("dyn.example"),
            name: n("cli.dyn.example"),
            rtype: RecordType::A,
            new: Some(
                ddns_core::RecordSet::new(
                    60,
                    RecordData::parse(RecordType::A, &["203.0.113.5"]).unwrap(),
                )
                .unwrap(),
            ),
        }],
        Actor::Cli,
        Origin::default(),
    );
    let applied = other.apply(&set).await.unwrap();
    assert_eq!(a_in_snapshot(&zones, "cli.dyn.example"), None);
    zones.sync().await.unwrap();
    assert_eq!(
        a_in_snapshot(&zones, "cli.dyn.example"),
        Some(vec![vec![203, 0, 113, 5]])
    );
    assert_eq!(
        zones.snapshot().get(&n("dyn.example")).unwrap().serial(),
        applied.serials[0].1
    );
}

#[tokio::test]
async fn reopening_restores_everything() {
    let (dir, store, zones) = setup().await;
    let admin = principal(&zones, Scope::Admin).await;
    zones
        .update_addresses(
            &admin,
            &addresses(&["h.dyn.example"], "198.51.100.9"),
            Origin::default(),
        )
        .await
        .unwrap();
    let serial = zones.snapshot().get(&n("dyn.example")).unwrap().serial();
    drop(zones);
    store.close().await;
    let store = Arc::new(
        Store::open_dir(dir.path(), &StoreOptions::default())
            .await
            .unwrap(),
    );
    let zones = Zones::open(store, vec![zone_config()]).await.unwrap();
    assert_eq!(
        a_in_snapshot(&zones, "h.dyn.example"),
        Some(vec![vec![198, 51, 100, 9]])
    );
    assert_eq!(
        zones.snapshot().get(&n("dyn.example")).unwrap().serial(),
        serial
    );
}

#[tokio::test]
async fn revoked_and_wrong_tokens_fail() {
    let (_dir, store, zones) = setup().await;
    let token = ddns_core::token::generate().unwrap();
    store
        .insert_token(&token, "t", &Scope::Admin)
        .await
        .unwrap();
    assert!(zones.authenticate(&token.full).await.is_ok());
    let mut wrong = token.full.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    assert!(zones.authenticate(&wrong).await.is_err());
    assert!(zones.authenticate("not-a-token").await.is_err());
    store.revoke_token(&token.id).await.unwrap();
    assert!(zones.authenticate(&token.full).await.is_err());
}
