//! What one token can make the server hold: host quotas on the write path, history kept within
//! its retention by the periodic prune, and authentication and replay on pools of their own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ddns_core::{Origin, Rtype, Scope, ScopeEntry};
use ddns_store::{HistoryRetention, HostFilter, Store, StoreOptions};
use ddns_zones::{UpdateError, WriteLimits, Zones};

use super::{KEEP_ALL, a_in_snapshot, addresses, n, principal, zone_config};

const LIMITS: WriteLimits = WriteLimits {
    max_hosts_per_token: 1000,
    history: HistoryRetention {
        max_age_secs: 365 * 86_400,
        max_rows_per_host: 3,
    },
};

async fn limited(options: &StoreOptions) -> (tempfile::TempDir, Arc<Store>, Zones) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(crate::open_store(dir.path(), options).await);
    let zones = Zones::open(store.clone(), &[zone_config()], KEEP_ALL)
        .await
        .unwrap()
        .with_limits(LIMITS);
    (dir, store, zones)
}

#[tokio::test]
async fn a_subtree_token_gets_1000_hosts_and_not_the_1001st() {
    let (_dir, store, zones) = limited(&StoreOptions::default()).await;
    let lab = principal(
        &zones,
        Scope::Hosts(vec![ScopeEntry::parse("*.lab.dyn.example").unwrap()]),
    )
    .await;
    let names: Vec<String> = (0..1000).map(|i| format!("h{i}.lab.dyn.example")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    zones
        .update_addresses(&lab, &addresses(&refs, "192.0.2.1"), Origin::default())
        .await
        .unwrap();
    let serial = zones.snapshot().get(&n("dyn.example")).unwrap().serial();

    // The 1001st host, alongside a change to an existing one: all of it is refused.
    let err = zones
        .update_addresses(
            &lab,
            &addresses(
                &["h0.lab.dyn.example", "h1000.lab.dyn.example"],
                "192.0.2.7",
            ),
            Origin::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, UpdateError::HostQuota { max: 1000 }),
        "{err:?}"
    );
    assert_eq!(a_in_snapshot(&zones, "h1000.lab.dyn.example"), None);
    assert_eq!(
        a_in_snapshot(&zones, "h0.lab.dyn.example"),
        Some(vec![vec![192, 0, 2, 1]]),
        "nothing changed"
    );
    assert!(
        store
            .host(&n("h1000.lab.dyn.example"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        zones.snapshot().get(&n("dyn.example")).unwrap().serial(),
        serial
    );
    let err = zones
        .update_rrsets(
            &lab,
            &[ddns_zones::RrsetIntent {
                name: n("t.lab.dyn.example"),
                rtype: Rtype::TXT,
                values: Some(vec!["x".into()]),
                ttl: None,
                view: None,
            }],
            None,
            Origin::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, UpdateError::HostQuota { .. }), "{err:?}");
    let err = zones
        .create_host(&lab, &n("empty.lab.dyn.example"))
        .await
        .unwrap_err();
    assert!(matches!(err, UpdateError::HostQuota { .. }), "{err:?}");
    let count = zones
        .hosts(
            &HostFilter::Scope {
                exact: vec![],
                below: vec![n("lab.dyn.example")],
            },
            None,
            5000,
        )
        .await
        .unwrap()
        .len();
    assert_eq!(count, 1000);

    // Existing hosts still update; admin tokens have no quota.
    zones
        .update_addresses(
            &lab,
            &addresses(&["h5.lab.dyn.example"], "192.0.2.8"),
            Origin::default(),
        )
        .await
        .unwrap();
    let admin = principal(&zones, Scope::Admin).await;
    zones
        .update_addresses(
            &admin,
            &addresses(&["h1000.lab.dyn.example"], "192.0.2.9"),
            Origin::default(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn the_periodic_prune_keeps_history_within_its_retention() {
    let (_dir, _store, zones) = limited(&StoreOptions::default()).await;
    let admin = principal(&zones, Scope::Admin).await;
    for i in 1..=6u8 {
        zones
            .update_addresses(
                &admin,
                &addresses(&["h.dyn.example"], &format!("192.0.2.{i}")),
                Origin::default(),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        zones
            .history_of(&n("h.dyn.example"), None, 100)
            .await
            .unwrap()
            .len(),
        6
    );
    zones.prune().await;
    let kept = zones
        .history_of(&n("h.dyn.example"), None, 100)
        .await
        .unwrap();
    assert_eq!(kept.len(), 3);
    let newest: Vec<_> = kept
        .iter()
        .map(|r| r.new.as_ref().unwrap().values())
        .collect();
    assert_eq!(
        newest,
        [["192.0.2.6"], ["192.0.2.5"], ["192.0.2.4"]].map(|v| v.map(String::from).to_vec())
    );
    assert!(
        kept.windows(2).all(|w| w[0].id > w[1].id),
        "the newest rows, newest first"
    );
}

#[tokio::test]
async fn authentication_and_replay_do_not_wait_for_the_request_pool() {
    let options = StoreOptions {
        busy_timeout: Duration::from_millis(100),
        max_connections: 2,
        ..StoreOptions::default()
    };
    let (dir, store, zones) = limited(&options).await;
    let token = zones
        .create_token(
            "router",
            &Scope::Hosts(vec![ScopeEntry::parse("home.dyn.example").unwrap()]),
            &ddns_core::Restrictions::default(),
            ddns_core::Actor::Cli,
            Origin::default(),
        )
        .await
        .unwrap();
    // Another process (the CLI) changes the zone; this server replays it from the journal.
    let other = Arc::new(crate::open_store(dir.path(), &StoreOptions::default()).await);
    let writer = Zones::attach(other).await.unwrap();
    let admin = principal(&writer, Scope::Admin).await;
    writer
        .update_addresses(
            &admin,
            &addresses(&["cli.dyn.example"], "198.51.100.9"),
            Origin::default(),
        )
        .await
        .unwrap();

    // A flood of host listings holds every connection of the request pool.
    let hold = store.hold_request_pool().await.unwrap();
    let listing = tokio::time::timeout(
        Duration::from_millis(500),
        zones.hosts(&HostFilter::All, None, 10),
    )
    .await;
    assert!(listing.is_err(), "the request pool is saturated");

    let started = Instant::now();
    let principal = tokio::time::timeout(
        Duration::from_secs(2),
        zones.authenticate(&token.full, [127, 0, 0, 1].into()),
    )
    .await
    .expect("authentication waited for the request pool")
    .unwrap();
    assert_eq!(principal.label, "router");
    tokio::time::timeout(Duration::from_secs(2), zones.sync())
        .await
        .expect("replay waited for the request pool")
        .unwrap();
    assert_eq!(
        a_in_snapshot(&zones, "cli.dyn.example"),
        Some(vec![vec![198, 51, 100, 9]])
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(hold);
    assert!(zones.hosts(&HostFilter::All, None, 10).await.is_ok());
}
