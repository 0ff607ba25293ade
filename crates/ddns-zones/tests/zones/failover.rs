//! The write side of `[[zone.failover]]`: the configured start state, `update_failover` as one
//! journaled step by `health`, and a failover name's addresses refused to every other writer.

use std::net::IpAddr;
use std::sync::Arc;

use ddns_core::dns_update::parse_update;
use ddns_core::{Actor, CLASS_IN, Origin, Rcode, Rtype, Scope};
use ddns_store::{Store, StoreOptions};
use ddns_zones::{RrsetIntent, UpdateError, Zones};

use super::{KEEP_ALL, n, principal, zone_config_with};

const FAILOVER: &str = "records = [\"files TXT kept\"]\n[[zone.failover]]\nname = \"files\"\ntargets = [\"192.0.2.1\", \"192.0.2.2\", \"2001:db8::1\"]\nall_down = \"answer_none\"\nttl = 30\n";

fn ips(list: &[&str]) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = list.iter().map(|s| s.parse().unwrap()).collect();
    v.sort();
    v
}

async fn open(dir: &std::path::Path) -> (Arc<Store>, Zones) {
    let store = Arc::new(crate::open_store(dir, &StoreOptions::default()).await);
    let zones = Zones::open(store.clone(), &[zone_config_with(FAILOVER)], KEEP_ALL)
        .await
        .unwrap();
    (store, zones)
}

fn served(zones: &Zones) -> Vec<IpAddr> {
    let mut v = zones.failover_addresses(&n("files.dyn.example"));
    v.sort();
    v
}

async fn journal_len(store: &Store) -> usize {
    store
        .journal_since(&n("dyn.example"), 0, 10_000)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn the_checker_writes_one_step_and_nobody_else_writes_the_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let (store, zones) = open(dir.path()).await;
    let files = n("files.dyn.example");
    assert_eq!(
        served(&zones),
        ips(&["192.0.2.1", "192.0.2.2", "2001:db8::1"])
    );

    let entries = journal_len(&store).await;
    let two: IpAddr = "192.0.2.2".parse().unwrap();
    let applied = zones.update_failover(&files, &[two]).await.unwrap();
    assert_eq!(applied.serials.len(), 1);
    assert_eq!(
        served(&zones),
        vec![two],
        "the AAAA set is removed with its target"
    );
    assert_eq!(
        journal_len(&store).await,
        entries + 1,
        "one step for A and AAAA"
    );
    let rows = zones.history_of(&files, None, 10).await.unwrap();
    let health: Vec<_> = rows.iter().filter(|r| r.actor == "health").collect();
    assert_eq!(health.len(), 2, "{rows:?}");
    assert!(health.iter().all(|r| r.serial == applied.serials[0].1));
    // Unchanged: nothing written.
    let again = zones.update_failover(&files, &[two]).await.unwrap();
    assert!(!again.any_change());
    assert_eq!(journal_len(&store).await, entries + 1);
    // Only targets of a configured failover name.
    let stray: IpAddr = "192.0.2.99".parse().unwrap();
    assert!(matches!(
        zones.update_failover(&files, &[stray]).await,
        Err(UpdateError::Conflict(_))
    ));
    assert!(matches!(
        zones.update_failover(&n("www.dyn.example"), &[two]).await,
        Err(UpdateError::NotServed(_))
    ));

    // Nothing stored (answer_none, all down): still owned by the checker.
    zones.update_failover(&files, &[]).await.unwrap();
    assert_eq!(served(&zones), Vec::<IpAddr>::new());
    let admin = principal(&zones, Scope::Admin).await;
    for rtype in [Rtype::A, Rtype::AAAA, Rtype::CNAME] {
        let value = match rtype {
            Rtype::A => "192.0.2.9",
            Rtype::AAAA => "2001:db8::9",
            _ => "www.dyn.example.",
        };
        let err = zones
            .update_rrsets(
                &admin,
                &[RrsetIntent {
                    name: files.clone(),
                    rtype,
                    values: Some(vec![value.into()]),
                    ttl: None,
                    view: None,
                }],
                None,
                Origin::default(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, UpdateError::Reserved { .. }),
            "{rtype}: {err}"
        );
    }
    // RFC 2136 too.
    let mut msg = vec![0, 1, 5 << 3, 0, 0, 1, 0, 0, 0, 1, 0, 0];
    msg.extend(n("dyn.example").to_wire());
    msg.extend(Rtype::SOA.0.to_be_bytes());
    msg.extend(CLASS_IN.to_be_bytes());
    msg.extend(files.to_wire());
    msg.extend(Rtype::A.0.to_be_bytes());
    msg.extend(CLASS_IN.to_be_bytes());
    msg.extend(60u32.to_be_bytes());
    msg.extend(4u16.to_be_bytes());
    msg.extend([192, 0, 2, 9]);
    let update = parse_update(&msg, msg.len()).unwrap();
    let err = zones
        .dns_update(
            &update,
            &|_, _| true,
            Actor::Rfc2136("t".into()),
            Origin::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.rcode, Rcode::REFUSED);
    assert_eq!(served(&zones), Vec::<IpAddr>::new());
    // Other types at the name are the configuration's or anyone's, as usual.
    let txt = zones.snapshot();
    let node = txt
        .get(&n("dyn.example"))
        .unwrap()
        .node(&files.to_wire())
        .unwrap();
    assert!(node.rrset(Rtype::TXT).is_some());
}

#[tokio::test]
async fn a_restart_keeps_the_stored_set_or_starts_with_every_target() {
    let dir = tempfile::tempdir().unwrap();
    let files = n("files.dyn.example");
    {
        let (store, zones) = open(dir.path()).await;
        zones
            .update_failover(&files, &ips(&["2001:db8::1"]))
            .await
            .unwrap();
        drop(zones);
        store.close().await;
    }
    let (store, zones) = open(dir.path()).await;
    assert_eq!(
        served(&zones),
        ips(&["2001:db8::1"]),
        "kept across a restart"
    );
    zones.update_failover(&files, &[]).await.unwrap();
    drop(zones);
    store.close().await;
    let (_store, zones) = open(dir.path()).await;
    assert_eq!(
        served(&zones),
        ips(&["192.0.2.1", "192.0.2.2", "2001:db8::1"]),
        "nothing stored: every target"
    );
    let rows = zones.history_of(&files, None, 1).await.unwrap();
    assert_eq!(
        rows[0].actor, "config",
        "the start state is the configuration's"
    );
}
