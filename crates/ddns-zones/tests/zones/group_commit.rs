//! Group commit: concurrent writers share transactions, each gets its own exact answer, one
//! that fails is undone alone, and the journal takes one step per group with the net change.

use std::net::Ipv4Addr;
use std::sync::Arc;

use ddns_core::{Actor, Origin, RecordSet, Rtype, Scope};
use ddns_store::{ChangeSet, RrsetWrite, StoreError};
use ddns_zones::{RrsetIntent, UpdateError};

use super::{a_in_snapshot, addresses, n, principal, setup};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_share_commits_and_each_gets_its_own_answer() {
    let (_dir, store, zones) = setup().await;
    let zones = Arc::new(zones);
    let admin = principal(&zones, Scope::Admin).await;
    // Names that already hold an A record: a CNAME there is refused inside the transaction.
    let taken: Vec<String> = (0..40).map(|i| format!("taken{i}.dyn.example")).collect();
    let refs: Vec<&str> = taken.iter().map(String::as_str).collect();
    zones
        .update_addresses(&admin, &addresses(&refs, "192.0.2.1"), Origin::default())
        .await
        .unwrap();
    let start = store
        .zone(&n("dyn.example"))
        .await
        .unwrap()
        .unwrap()
        .journal_seq;

    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let zones = Arc::clone(&zones);
        let admin = admin.clone();
        tasks.push(tokio::spawn(async move {
            if i % 5 == 0 {
                let name = format!("taken{}.dyn.example", i / 5);
                let intent = RrsetIntent {
                    name: n(&name),
                    rtype: Rtype::CNAME,
                    values: Some(vec!["www".into()]),
                    ttl: None,
                    view: None,
                };
                let result = zones
                    .update_rrsets(&admin, &[intent], None, Origin::default())
                    .await;
                (i, name, result.map(|_| Vec::new()))
            } else {
                let name = format!("g{i}.dyn.example");
                let ip = format!("10.0.{}.{}", i / 250, i % 250);
                let result = zones
                    .update_addresses(&admin, &addresses(&[&name], &ip), Origin::default())
                    .await;
                (i, name, result.map(|o| o[0].ipv4.clone()))
            }
        }));
    }
    let mut good = 0;
    for task in tasks {
        let (i, name, result) = task.await.unwrap();
        if i % 5 == 0 {
            match result {
                Err(UpdateError::Conflict(message)) => {
                    assert!(
                        message.contains(&name),
                        "{i}: someone else's error: {message}"
                    )
                }
                other => panic!("{i}: a CNAME beside an A was not refused: {other:?}"),
            }
            assert_eq!(
                a_in_snapshot(&zones, &name),
                Some(vec![vec![192, 0, 2, 1]]),
                "{name} untouched"
            );
        } else {
            let ip: Ipv4Addr = format!("10.0.{}.{}", i / 250, i % 250).parse().unwrap();
            assert_eq!(result.unwrap(), vec![ip], "{i}: its own outcome");
            assert_eq!(
                a_in_snapshot(&zones, &name),
                Some(vec![ip.octets().to_vec()]),
                "{name} visible once answered"
            );
            good += 1;
        }
    }
    assert_eq!(good, 160);

    // Every good change is in the journal exactly once, spread over fewer entries than
    // changes (they were grouped), each entry one serial step.
    let rows = store
        .journal_since(&n("dyn.example"), start, 1_000)
        .await
        .unwrap();
    let mut owners = Vec::new();
    for (k, row) in rows.iter().enumerate() {
        let entry = row.entry.as_ref().unwrap();
        assert_eq!(entry.seq, start + 1 + k as i64);
        assert_eq!(entry.serial_after, entry.serial_before.next());
        owners.extend(entry.deltas.iter().map(|d| d.owner.to_string()));
    }
    owners.sort();
    let mut expected: Vec<String> = (0..200u32)
        .filter(|i| i % 5 != 0)
        .map(|i| format!("g{i}.dyn.example"))
        .collect();
    expected.sort();
    assert_eq!(owners, expected);
    assert!(
        rows.len() < good,
        "{} journal entries for {good} concurrent changes: nothing was grouped",
        rows.len()
    );
    let zone = store.zone(&n("dyn.example")).await.unwrap().unwrap();
    assert_eq!(
        zones.snapshot().get(&n("dyn.example")).unwrap().serial(),
        zone.serial
    );
    // Each history row carries the serial of the step that holds it.
    let steps: Vec<u32> = rows
        .iter()
        .map(|r| r.entry.as_ref().unwrap().serial_after.0)
        .collect();
    for i in [1u32, 99, 199] {
        let history = store
            .history_of(&n(&format!("g{i}.dyn.example")), None, 10)
            .await
            .unwrap();
        assert_eq!(history.len(), 1);
        assert!(steps.contains(&history[0].serial.0), "{history:?}");
    }
}

/// Owner, old and new addresses of a journal delta.
type NetDelta = (String, Option<Vec<Ipv4Addr>>, Option<Vec<Ipv4Addr>>);

fn a_write(name: &str, ip: &str) -> RrsetWrite {
    RrsetWrite::dynamic(
        n("dyn.example"),
        n(name),
        Rtype::A,
        Some(RecordSet::ipv4(60, &[ip.parse().unwrap()]).unwrap()),
    )
}

#[tokio::test]
async fn a_group_is_one_step_holding_the_net_change() {
    let (_dir, store, zones) = setup().await;
    let before = store.zone(&n("dyn.example")).await.unwrap().unwrap();
    let set = |writes| ChangeSet::new(writes, Actor::Cli, Origin::default());
    let mut stale = set(vec![a_write("c.dyn.example", "192.0.2.9")]);
    stale.if_match = vec![(n("a.dyn.example"), 42)];
    let results = store
        .apply_group(&[
            set(vec![a_write("a.dyn.example", "192.0.2.1")]),
            set(vec![a_write("b.dyn.example", "192.0.2.2")]),
            stale,
            set(vec![a_write("a.dyn.example", "192.0.2.3")]),
            // Created and removed within the group: no trace in the journal entry.
            set(vec![a_write("t.dyn.example", "192.0.2.4")]),
            set(vec![RrsetWrite::dynamic(
                n("dyn.example"),
                n("t.dyn.example"),
                Rtype::A,
                None,
            )]),
            // A static name: refused, the rest goes on.
            set(vec![a_write("www.dyn.example", "192.0.2.5")]),
        ])
        .await;
    assert_eq!(results.len(), 7);
    let next = before.serial.next();
    for i in [0, 1, 3, 4, 5] {
        let applied = results[i].as_ref().unwrap();
        assert_eq!(applied.changed, vec![true], "{i}");
        assert_eq!(applied.serials, vec![(n("dyn.example"), next)], "{i}");
    }
    assert!(
        matches!(
            results[2],
            Err(StoreError::VersionMismatch { expected: 42, .. })
        ),
        "{:?}",
        results[2]
    );
    assert!(
        matches!(results[6], Err(StoreError::Conflict(_))),
        "{:?}",
        results[6]
    );
    let version = |i: usize| results[i].as_ref().unwrap().versions[&n("a.dyn.example")];
    assert_eq!(
        version(3),
        version(0) + 1,
        "the second change of a host sees the first"
    );

    let rows = store
        .journal_since(&n("dyn.example"), before.journal_seq, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one step for the whole group");
    let entry = rows[0].entry.as_ref().unwrap();
    assert_eq!(
        (entry.serial_before, entry.serial_after),
        (before.serial, next)
    );
    let net: Vec<NetDelta> = entry
        .deltas
        .iter()
        .map(|d| {
            (
                d.owner.to_string(),
                d.old.as_ref().map(RecordSet::ipv4_addrs),
                d.new.as_ref().map(RecordSet::ipv4_addrs),
            )
        })
        .collect();
    assert_eq!(
        net,
        vec![
            (
                "a.dyn.example".into(),
                None,
                Some(vec!["192.0.2.3".parse().unwrap()])
            ),
            (
                "b.dyn.example".into(),
                None,
                Some(vec!["192.0.2.2".parse().unwrap()])
            ),
        ]
    );
    assert!(store.host(&n("c.dyn.example")).await.unwrap().is_none());
    // History keeps every change, each at the group's serial.
    let history = store
        .history_of(&n("a.dyn.example"), None, 10)
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    assert!(history.iter().all(|h| h.serial == next));
    zones.sync().await.unwrap();
    assert_eq!(
        a_in_snapshot(&zones, "a.dyn.example"),
        Some(vec![vec![192, 0, 2, 3]])
    );
    assert_eq!(a_in_snapshot(&zones, "t.dyn.example"), None);
}
