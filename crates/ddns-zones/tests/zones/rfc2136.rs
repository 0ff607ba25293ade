//! RFC 2136 UPDATE through the write path: prerequisites, policy, configuration-owned
//! records, the journal and history, and atomicity under concurrent updates.

use std::sync::Arc;

use ddns_core::dns_update::{UpdateMessage, parse_update};
use ddns_core::{
    Actor, CLASS_ANY, CLASS_IN, CLASS_NONE, DomainName, Origin, Rcode, RecordSet, Rtype,
};
use ddns_store::{ChangeSet, RrsetWrite, Store, StoreOptions};
use ddns_zones::{DnsUpdateError, DnsUpdateOutcome, Zones};

use super::{a_in_snapshot, n, serial, setup};

/// One RR: owner (text), type, class, TTL, RDATA.
type Rr<'a> = (&'a str, Rtype, u16, u32, &'a [u8]);

fn message(zone: &str, prereqs: &[Rr<'_>], updates: &[Rr<'_>]) -> UpdateMessage {
    let mut out = vec![0xab, 0xcd, 5 << 3, 0, 0, 1];
    out.extend((prereqs.len() as u16).to_be_bytes());
    out.extend((updates.len() as u16).to_be_bytes());
    out.extend([0, 0]);
    out.extend(n(zone).to_wire());
    out.extend(Rtype::SOA.0.to_be_bytes());
    out.extend(CLASS_IN.to_be_bytes());
    for (owner, rtype, class, ttl, rdata) in prereqs.iter().chain(updates) {
        out.extend(n(owner).to_wire());
        out.extend(rtype.0.to_be_bytes());
        out.extend(class.to_be_bytes());
        out.extend(ttl.to_be_bytes());
        out.extend((rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(rdata);
    }
    parse_update(&out, out.len()).unwrap()
}

fn update(prereqs: &[Rr<'_>], updates: &[Rr<'_>]) -> UpdateMessage {
    message("dyn.example", prereqs, updates)
}

fn anything(_: &DomainName, _: Rtype) -> bool {
    true
}

fn key() -> Actor {
    Actor::Token("tsig-key".into())
}

async fn apply(zones: &Zones, msg: &UpdateMessage) -> Result<DnsUpdateOutcome, DnsUpdateError> {
    zones
        .dns_update(msg, &anything, key(), Origin::default())
        .await
}

async fn journal_len(store: &Store) -> usize {
    store
        .journal_since(&n("dyn.example"), 0, 10_000)
        .await
        .unwrap()
        .len()
}

const IP1: &[u8] = &[198, 51, 100, 1];
const IP2: &[u8] = &[198, 51, 100, 2];

#[tokio::test]
async fn add_replace_and_delete() {
    let (_dir, _store, zones) = setup().await;
    let s0 = serial(&zones);
    let out = apply(
        &zones,
        &update(&[], &[("h.dyn.example", Rtype::A, CLASS_IN, 300, IP1)]),
    )
    .await
    .unwrap();
    assert_eq!(out.changed, 1);
    assert_eq!(out.serial, s0.next());
    assert_eq!(serial(&zones), out.serial, "published before the answer");
    assert_eq!(
        a_in_snapshot(&zones, "h.dyn.example"),
        Some(vec![IP1.to_vec()])
    );

    // Replace: delete the RRset, add the new value, in one message.
    let out = apply(
        &zones,
        &update(
            &[],
            &[
                ("h.dyn.example", Rtype::A, CLASS_ANY, 0, &[]),
                ("h.dyn.example", Rtype::A, CLASS_IN, 300, IP2),
            ],
        ),
    )
    .await
    .unwrap();
    assert_eq!(out.changed, 1);
    assert_eq!(
        a_in_snapshot(&zones, "h.dyn.example"),
        Some(vec![IP2.to_vec()])
    );

    // Add beside it, then delete one RR, then the name.
    apply(
        &zones,
        &update(&[], &[("h.dyn.example", Rtype::A, CLASS_IN, 300, IP1)]),
    )
    .await
    .unwrap();
    assert_eq!(
        a_in_snapshot(&zones, "h.dyn.example"),
        Some(vec![IP1.to_vec(), IP2.to_vec()])
    );
    apply(
        &zones,
        &update(&[], &[("h.dyn.example", Rtype::A, CLASS_NONE, 0, IP1)]),
    )
    .await
    .unwrap();
    assert_eq!(
        a_in_snapshot(&zones, "h.dyn.example"),
        Some(vec![IP2.to_vec()])
    );
    let out = apply(
        &zones,
        &update(&[], &[("h.dyn.example", Rtype::ANY, CLASS_ANY, 0, &[])]),
    )
    .await
    .unwrap();
    assert_eq!(out.changed, 1);
    assert_eq!(a_in_snapshot(&zones, "h.dyn.example"), None);
    assert_eq!(serial(&zones), s0.next().next().next().next().next());
}

#[tokio::test]
async fn a_failed_prerequisite_changes_nothing() {
    let (_dir, store, zones) = setup().await;
    apply(
        &zones,
        &update(&[], &[("h.dyn.example", Rtype::A, CLASS_IN, 60, IP1)]),
    )
    .await
    .unwrap();
    let (before, entries) = (serial(&zones), journal_len(&store).await);
    let cases: [(Rr<'_>, Rcode); 4] = [
        (
            ("h.dyn.example", Rtype::ANY, CLASS_NONE, 0, &[]),
            Rcode::YXDOMAIN,
        ),
        (
            ("h.dyn.example", Rtype::A, CLASS_NONE, 0, &[]),
            Rcode::YXRRSET,
        ),
        (
            ("h.dyn.example", Rtype::AAAA, CLASS_ANY, 0, &[]),
            Rcode::NXRRSET,
        ),
        (
            ("h.dyn.example", Rtype::A, CLASS_IN, 0, IP2),
            Rcode::NXRRSET,
        ),
    ];
    for (prereq, rcode) in cases {
        let msg = update(&[prereq], &[("h.dyn.example", Rtype::A, CLASS_IN, 60, IP2)]);
        let err = apply(&zones, &msg).await.unwrap_err();
        assert_eq!(err.rcode, rcode, "{err}");
    }
    let msg = update(
        &[("gone.dyn.example", Rtype::ANY, CLASS_ANY, 0, &[])],
        &[("h.dyn.example", Rtype::A, CLASS_ANY, 0, &[])],
    );
    assert_eq!(
        apply(&zones, &msg).await.unwrap_err().rcode,
        Rcode::NXDOMAIN
    );
    assert_eq!(serial(&zones), before);
    assert_eq!(journal_len(&store).await, entries);
    assert_eq!(
        a_in_snapshot(&zones, "h.dyn.example"),
        Some(vec![IP1.to_vec()])
    );

    // And when they hold, the update goes through.
    let msg = update(
        &[("h.dyn.example", Rtype::A, CLASS_IN, 0, IP1)],
        &[("h.dyn.example", Rtype::A, CLASS_IN, 60, IP2)],
    );
    assert_eq!(apply(&zones, &msg).await.unwrap().changed, 1);
}

#[tokio::test]
async fn a_no_op_answers_success_and_writes_nothing() {
    let (_dir, store, zones) = setup().await;
    let (before, entries) = (serial(&zones), journal_len(&store).await);
    let msg = update(
        &[("free.dyn.example", Rtype::ANY, CLASS_NONE, 0, &[])],
        &[("free.dyn.example", Rtype::ANY, CLASS_ANY, 0, &[])],
    );
    let out = apply(&zones, &msg).await.unwrap();
    assert_eq!(
        out,
        DnsUpdateOutcome {
            changed: 0,
            serial: before
        }
    );
    assert_eq!(journal_len(&store).await, entries);
}

#[tokio::test]
async fn the_policy_is_asked_for_every_name_and_type() {
    let (_dir, store, zones) = setup().await;
    let entries = journal_len(&store).await;
    let only_a = |_: &DomainName, t: Rtype| t == Rtype::A;
    let msg = update(
        &[],
        &[
            ("h.dyn.example", Rtype::A, CLASS_IN, 60, IP1),
            ("h.dyn.example", Rtype::TXT, CLASS_IN, 60, b"\x02hi"),
        ],
    );
    let err = zones
        .dns_update(&msg, &only_a, key(), Origin::default())
        .await
        .unwrap_err();
    assert_eq!(err.rcode, Rcode::REFUSED);
    assert_eq!(
        a_in_snapshot(&zones, "h.dyn.example"),
        None,
        "all or nothing"
    );
    assert_eq!(journal_len(&store).await, entries);

    // A delete-all is judged by the types it removes.
    apply(&zones, &msg).await.unwrap();
    let delete_all = update(&[], &[("h.dyn.example", Rtype::ANY, CLASS_ANY, 0, &[])]);
    let err = zones
        .dns_update(&delete_all, &only_a, key(), Origin::default())
        .await
        .unwrap_err();
    assert_eq!(err.rcode, Rcode::REFUSED);
    let only_h = |name: &DomainName, _: Rtype| name.as_str() == "h.dyn.example";
    let out = zones
        .dns_update(&delete_all, &only_h, key(), Origin::default())
        .await
        .unwrap();
    assert_eq!(out.changed, 2);
}

#[tokio::test]
async fn configuration_records_are_refused() {
    let (_dir, store, zones) = setup().await;
    let entries = journal_len(&store).await;
    let ns = n("ns9.example").to_wire();
    let www = n("www.dyn.example").to_wire();
    let cases: [Rr<'_>; 7] = [
        // A static A, a static CNAME, a delegation and a name below it, the apex NS.
        ("www.dyn.example", Rtype::A, CLASS_IN, 60, IP1),
        ("www.dyn.example", Rtype::ANY, CLASS_ANY, 0, &[]),
        ("alias.dyn.example", Rtype::TXT, CLASS_IN, 60, b"\x02hi"),
        ("sub.dyn.example", Rtype::A, CLASS_IN, 60, IP1),
        ("x.sub.dyn.example", Rtype::A, CLASS_IN, 60, IP1),
        ("dyn.example", Rtype::NS, CLASS_IN, 60, &ns),
        ("dyn.example", Rtype::NS, CLASS_ANY, 0, &[]),
    ];
    for case in cases {
        let err = apply(&zones, &update(&[], &[case])).await.unwrap_err();
        assert_eq!(err.rcode, Rcode::REFUSED, "{case:?}: {err}");
    }
    // A CNAME beside static data is refused too (the planner alone would ignore it).
    let err = apply(
        &zones,
        &update(
            &[],
            &[("www.dyn.example", Rtype::CNAME, CLASS_IN, 60, &www)],
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(err.rcode, Rcode::REFUSED);
    // SOA changes are ignored, not refused: the server owns the serial.
    let mut soa = n("ns1.dyn.example").to_wire();
    soa.extend(n("hostmaster.dyn.example").to_wire());
    soa.extend([0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
    let out = apply(
        &zones,
        &update(&[], &[("dyn.example", Rtype::SOA, CLASS_IN, 60, &soa)]),
    )
    .await
    .unwrap();
    assert_eq!(out.changed, 0);
    // DNSSEC records and over-long TTLs are not for updates.
    let rrsig = [0u8; 20];
    assert_eq!(
        apply(
            &zones,
            &update(
                &[],
                &[("h.dyn.example", Rtype::RRSIG, CLASS_IN, 60, &rrsig)]
            )
        )
        .await
        .unwrap_err()
        .rcode,
        Rcode::REFUSED
    );
    assert_eq!(
        apply(
            &zones,
            &update(&[], &[("h.dyn.example", Rtype::A, CLASS_IN, 604_801, IP1)])
        )
        .await
        .unwrap_err()
        .rcode,
        Rcode::REFUSED
    );
    assert_eq!(journal_len(&store).await, entries);
}

#[tokio::test]
async fn zones_not_served_and_names_of_other_zones() {
    let (_dir, _store, zones) = setup().await;
    let msg = message(
        "other.example",
        &[],
        &[("h.other.example", Rtype::A, CLASS_IN, 60, IP1)],
    );
    assert_eq!(apply(&zones, &msg).await.unwrap_err().rcode, Rcode::NOTAUTH);
    // A zone below a served zone but not itself served.
    let msg = message(
        "sub.dyn.example",
        &[],
        &[("h.sub.dyn.example", Rtype::A, CLASS_IN, 60, IP1)],
    );
    assert_eq!(apply(&zones, &msg).await.unwrap_err().rcode, Rcode::NOTAUTH);
}

#[tokio::test]
async fn one_journal_entry_and_history_by_the_actor() {
    let (_dir, store, zones) = setup().await;
    let entries = journal_len(&store).await;
    let msg = update(
        &[("h.dyn.example", Rtype::ANY, CLASS_NONE, 0, &[])],
        &[
            ("h.dyn.example", Rtype::A, CLASS_IN, 60, IP1),
            ("h.dyn.example", Rtype::TXT, CLASS_IN, 60, b"\x02hi"),
            ("k.dyn.example", Rtype::A, CLASS_IN, 60, IP2),
        ],
    );
    let origin = Origin {
        source_ip: Some("192.0.2.53".parse().unwrap()),
        user_agent: None,
    };
    let out = zones
        .dns_update(&msg, &anything, key(), origin)
        .await
        .unwrap();
    assert_eq!(out.changed, 3);
    let rows = store
        .journal_since(&n("dyn.example"), 0, 10_000)
        .await
        .unwrap();
    assert_eq!(rows.len(), entries + 1, "one entry for the whole message");
    let entry = rows.last().unwrap().entry.as_ref().unwrap();
    assert_eq!(entry.serial_after, out.serial);
    assert_eq!(entry.deltas.len(), 3);
    for name in ["h.dyn.example", "k.dyn.example"] {
        let history = zones.history_of(&n(name), None, 10).await.unwrap();
        assert!(!history.is_empty());
        for row in history {
            assert_eq!(row.actor, "token:tsig-key");
            assert_eq!(row.serial, out.serial);
            assert_eq!(row.source_ip, Some("192.0.2.53".parse().unwrap()));
        }
    }
}

#[tokio::test]
async fn prerequisites_see_changes_of_other_processes() {
    let (dir, _store, zones) = setup().await;
    let other = crate::open_store(dir.path(), &StoreOptions::default()).await;
    let set = ChangeSet::new(
        vec![RrsetWrite::dynamic(
            n("dyn.example"),
            n("cli.dyn.example"),
            Rtype::A,
            Some(RecordSet::ipv4(60, &["203.0.113.5".parse().unwrap()]).unwrap()),
        )],
        Actor::Cli,
        Origin::default(),
    );
    other.apply(&set).await.unwrap();
    // Not yet polled; the update brings the zone up to the store before checking.
    let msg = update(
        &[("cli.dyn.example", Rtype::A, CLASS_IN, 0, &[203, 0, 113, 5])],
        &[("cli.dyn.example", Rtype::A, CLASS_ANY, 0, &[])],
    );
    assert_eq!(apply(&zones, &msg).await.unwrap().changed, 1);
    assert_eq!(a_in_snapshot(&zones, "cli.dyn.example"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_are_serialised() {
    let (_dir, store, zones) = setup().await;
    let zones = Arc::new(zones);
    let entries = journal_len(&store).await;
    // Sixteen clients each claim the same name if it is free: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..16u8 {
        let zones = Arc::clone(&zones);
        tasks.push(tokio::spawn(async move {
            let msg = update(
                &[("claim.dyn.example", Rtype::ANY, CLASS_NONE, 0, &[])],
                &[(
                    "claim.dyn.example",
                    Rtype::A,
                    CLASS_IN,
                    60,
                    &[198, 51, 100, i + 1],
                )],
            );
            apply(&zones, &msg).await.map_err(|e| e.rcode)
        }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(out) => {
                assert_eq!(out.changed, 1);
                won += 1;
            }
            Err(rcode) => assert_eq!(rcode, Rcode::YXDOMAIN),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(journal_len(&store).await, entries + 1);
    assert_eq!(
        a_in_snapshot(&zones, "claim.dyn.example").map(|v| v.len()),
        Some(1)
    );
}
