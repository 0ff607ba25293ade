//! The write path end to end against a real store: authorisation, commit, snapshot. On
//! SQLite in a temporary directory, or with `DDNS_TEST_STORE=postgres` (scripts/test.sh runs
//! both) on a database of the test binary's PostgreSQL cluster, one per directory.

#![allow(clippy::unwrap_used)]

#[path = "zones/console.rs"]
mod console;
#[path = "zones/failover.rs"]
mod failover;
#[path = "zones/group_commit.rs"]
mod group_commit;
#[path = "zones/limits.rs"]
mod limits;
#[path = "zones/restrictions.rs"]
mod restrictions;
#[path = "zones/rfc2136.rs"]
mod rfc2136;
#[path = "zones/tokens.rs"]
mod tokens;

use std::sync::Arc;

use ddns_config::{ServerConfig, ZoneConfig};
use ddns_core::{Actor, DomainName, Origin, RecordSet, Rtype, Scope, ScopeEntry};
use ddns_store::{ChangeSet, JournalRetention, RrsetWrite, Store, StoreOptions};
use ddns_zones::{AddressUpdate, Principal, RrsetIntent, UpdateError, Zones};

/// The store a test's directory stands for: its SQLite file, or its PostgreSQL database (the
/// same one each time the directory is opened again, as by a second process).
async fn open_store(dir: &std::path::Path, options: &StoreOptions) -> Store {
    if std::env::var("DDNS_TEST_STORE").as_deref() != Ok("postgres") {
        return Store::open_dir(dir, options).await.unwrap();
    }
    static DATABASES: std::sync::Mutex<Vec<(std::path::PathBuf, String)>> =
        std::sync::Mutex::new(Vec::new());
    let url = {
        let mut known = DATABASES.lock().unwrap();
        match known.iter().find(|(d, _)| d == dir) {
            Some((_, url)) => url.clone(),
            None => {
                let url = ddns_testkit::postgres::Postgres::shared().database();
                known.push((dir.to_owned(), url.clone()));
                url
            }
        }
    };
    Store::open_url(&url, None, options).await.unwrap()
}

fn n(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

const RECORDS: &str =
    r#"records = ["www A 192.0.2.80", "sub NS ns.elsewhere.example.", "alias CNAME www"]"#;

fn zone_config() -> ZoneConfig {
    zone_config_with(RECORDS)
}

fn zone_config_with(records: &str) -> ZoneConfig {
    let text = format!("version = 1\n[[zone]]\nname = \"dyn.example\"\n{records}\n");
    ServerConfig::from_toml(&text, "/unused".into())
        .unwrap()
        .zones
        .remove(0)
}

const KEEP_ALL: JournalRetention = JournalRetention {
    max_entries: 1000,
    max_age_secs: 86_400,
};

async fn setup() -> (tempfile::TempDir, Arc<Store>, Zones) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open_store(dir.path(), &StoreOptions::default()).await);
    let zones = Zones::open(store.clone(), &[zone_config()], KEEP_ALL)
        .await
        .unwrap();
    (dir, store, zones)
}

async fn principal(zones: &Zones, scope: Scope) -> Principal {
    let token = zones
        .create_token(
            "test",
            &scope,
            &Default::default(),
            Actor::Cli,
            Origin::default(),
        )
        .await
        .unwrap();
    zones
        .authenticate(&token.full, [127, 0, 0, 1].into())
        .await
        .unwrap()
}

fn a_in_snapshot(zones: &Zones, name: &str) -> Option<Vec<Vec<u8>>> {
    let set = zones.snapshot();
    let zone = set.get(&n("dyn.example")).unwrap();
    zone.node(&n(name).to_wire())
        .and_then(|node| node.rrset(Rtype::A))
        .map(|r| r.rdatas().map(<[u8]>::to_vec).collect())
}

fn addresses(names: &[&str], v4: &str) -> AddressUpdate {
    AddressUpdate {
        names: names.iter().map(|s| n(s)).collect(),
        ipv4: Some(vec![v4.parse().unwrap()]),
        ipv6: None,
        offline: false,
        ttl: None,
        views: Vec::new(),
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
    assert!(
        store
            .history_of(&n("home.dyn.example"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let _ = store;
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
        rtype: Rtype::CNAME,
        values: Some(vec!["www".into()]),
        ttl: None,
        view: None,
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
    let other = open_store(dir.path(), &StoreOptions::default()).await;
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
    let store = Arc::new(open_store(dir.path(), &StoreOptions::default()).await);
    let zones = Zones::open(store, &[zone_config()], KEEP_ALL)
        .await
        .unwrap();
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
    let (_dir, _store, zones) = setup().await;
    let token = zones
        .create_token(
            "t",
            &Scope::Admin,
            &Default::default(),
            Actor::Cli,
            Origin::default(),
        )
        .await
        .unwrap();
    assert!(
        zones
            .authenticate(&token.full, [127, 0, 0, 1].into())
            .await
            .is_ok()
    );
    let mut wrong = token.full.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    assert!(
        zones
            .authenticate(&wrong, [127, 0, 0, 1].into())
            .await
            .is_err()
    );
    assert!(
        zones
            .authenticate("not-a-token", [127, 0, 0, 1].into())
            .await
            .is_err()
    );
    zones
        .revoke_token(&token.id, Actor::Cli, Origin::default())
        .await
        .unwrap();
    assert!(
        zones
            .authenticate(&token.full, [127, 0, 0, 1].into())
            .await
            .is_err()
    );
}

fn serial(zones: &Zones) -> ddns_core::Serial {
    zones.snapshot().get(&n("dyn.example")).unwrap().serial()
}

#[tokio::test]
async fn every_record_type_through_the_write_path() {
    let (_dir, _store, zones) = setup().await;
    let admin = principal(&zones, Scope::Admin).await;
    let intents: Vec<RrsetIntent> = [
        ("mail.dyn.example", Rtype::MX, "10 mx.example.net."),
        ("_sip._tcp.dyn.example", Rtype::SRV, "0 5 5060 host"),
        ("ptr.dyn.example", Rtype::PTR, "host.example."),
        ("caa.dyn.example", Rtype::CAA, "0 issue \"ca.example\""),
        (
            "ssh.dyn.example",
            Rtype::SSHFP,
            "1 1 0123456789abcdef0123456789abcdef01234567",
        ),
        ("svc.dyn.example", Rtype::HTTPS, "1 . alpn=h2 port=8443"),
        ("deleg.dyn.example", Rtype::NS, "ns.elsewhere.example."),
        ("raw.dyn.example", Rtype(65280), "\\# 3 010203"),
    ]
    .into_iter()
    .map(|(name, rtype, value)| RrsetIntent {
        name: n(name),
        rtype,
        values: Some(vec![value.to_owned()]),
        ttl: Some(300),
        view: None,
    })
    .collect();
    let before = serial(&zones);
    zones
        .update_rrsets(&admin, &intents, None, Origin::default())
        .await
        .unwrap();
    assert_eq!(
        serial(&zones),
        before.next(),
        "one serial step for one change set"
    );
    let text = zones.export(&n("dyn.example")).unwrap();
    for line in [
        "mail.dyn.example.\t300\tIN\tMX\t10 mx.example.net.",
        "_sip._tcp.dyn.example.\t300\tIN\tSRV\t0 5 5060 host.dyn.example.",
        "caa.dyn.example.\t300\tIN\tCAA\t0 issue \"ca.example\"",
        "deleg.dyn.example.\t300\tIN\tNS\tns.elsewhere.example.",
        "raw.dyn.example.\t300\tIN\tTYPE65280\t\\# 3 010203",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    for (rtype, value, why) in [
        (Rtype::SOA, "a. b. 1 2 3 4 5", "SOA"),
        (Rtype::MX, "ten mx.example.", "MX preference"),
        (Rtype::RRSIG, "\\# 0", "RRSIG"),
    ] {
        let err = zones
            .update_rrsets(
                &admin,
                &[RrsetIntent {
                    name: n("bad.dyn.example"),
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
        assert!(err.to_string().contains(why), "{err}");
    }
    assert_eq!(
        serial(&zones),
        before.next(),
        "refused changes change nothing"
    );
}

#[tokio::test]
async fn the_journal_holds_one_entry_per_change_set_in_order() {
    let (_dir, store, zones) = setup().await;
    let admin = principal(&zones, Scope::Admin).await;
    let start = store
        .zone(&n("dyn.example"))
        .await
        .unwrap()
        .unwrap()
        .journal_seq;
    for (i, ip) in ["198.51.100.1", "198.51.100.2"].iter().enumerate() {
        zones
            .update_addresses(
                &admin,
                &addresses(&["a.dyn.example", "b.dyn.example"], ip),
                Origin::default(),
            )
            .await
            .unwrap();
        let rows = store
            .journal_since(&n("dyn.example"), start + i as i64, 10)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        let entry = rows[0].entry.as_ref().unwrap();
        assert_eq!(entry.seq, start + 1 + i as i64);
        assert_eq!(entry.serial_after, entry.serial_before.next());
        assert_eq!(entry.deltas.len(), 2, "both hosts in one entry");
        assert!(entry.soa_before.rdata != entry.soa_after.rdata);
        let new = entry.deltas[0].new.as_ref().unwrap();
        assert_eq!(
            new.ipv4_addrs(),
            vec![ip.parse::<std::net::Ipv4Addr>().unwrap()]
        );
        if i == 1 {
            assert!(
                entry.deltas[0].old.is_some(),
                "the second change knows what it replaced"
            );
        }
    }
}

#[tokio::test]
async fn static_records_changed_in_the_config_are_a_journaled_serial_step() {
    let (dir, store, zones) = setup().await;
    let admin = principal(&zones, Scope::Admin).await;
    // A dynamic A at a name the next configuration makes a static CNAME.
    zones
        .update_addresses(
            &admin,
            &addresses(&["files.dyn.example"], "198.51.100.7"),
            Origin::default(),
        )
        .await
        .unwrap();
    let before = serial(&zones);
    drop(zones);
    // Same configuration: nothing written.
    let same = Zones::open(store.clone(), &[zone_config()], KEEP_ALL)
        .await
        .unwrap();
    assert_eq!(serial(&same), before);
    drop(same);
    let changed =
        zone_config_with(r#"records = ["www A 192.0.2.81", "files CNAME www", "alias CNAME www"]"#);
    let zones = Zones::open(store.clone(), &[changed], KEEP_ALL)
        .await
        .unwrap();
    assert_eq!(serial(&zones), before.next());
    assert_eq!(
        a_in_snapshot(&zones, "www.dyn.example"),
        Some(vec![vec![192, 0, 2, 81]])
    );
    assert_eq!(
        a_in_snapshot(&zones, "files.dyn.example"),
        None,
        "static CNAME wins"
    );
    let zone = zones.snapshot();
    let zone = zone.get(&n("dyn.example")).unwrap();
    assert!(
        zone.node(&n("sub.dyn.example").to_wire()).is_none(),
        "removed delegation"
    );
    let seq = store
        .zone(&n("dyn.example"))
        .await
        .unwrap()
        .unwrap()
        .journal_seq;
    let entry = store
        .journal_since(&n("dyn.example"), seq - 1, 1)
        .await
        .unwrap();
    let entry = entry[0].entry.as_ref().unwrap();
    let owners: Vec<String> = entry
        .deltas
        .iter()
        .map(|d| format!("{} {}", d.owner, d.rtype))
        .collect();
    for expected in [
        "www.dyn.example A",
        "sub.dyn.example NS",
        "files.dyn.example CNAME",
        "files.dyn.example A",
    ] {
        assert!(
            owners.contains(&expected.to_owned()),
            "{expected} not in {owners:?}"
        );
    }
    let history = store
        .history_of(&n("files.dyn.example"), None, 10)
        .await
        .unwrap();
    assert_eq!(history[0].actor, "config");
    drop(dir);
}

#[tokio::test]
async fn a_follower_that_missed_pruned_entries_rebuilds() {
    let (dir, store, zones) = setup().await;
    let admin = principal(&zones, Scope::Admin).await;
    let other = Arc::new(open_store(dir.path(), &StoreOptions::default()).await);
    let writer = Zones::attach(other.clone()).await.unwrap();
    for i in 1..=5u8 {
        writer
            .update_addresses(
                &admin,
                &addresses(&["p.dyn.example"], &format!("198.51.100.{i}")),
                Origin::default(),
            )
            .await
            .unwrap();
    }
    other
        .prune_journal(
            &n("dyn.example"),
            JournalRetention {
                max_entries: 1,
                max_age_secs: 86_400,
            },
        )
        .await
        .unwrap();
    assert_eq!(a_in_snapshot(&zones, "p.dyn.example"), None);
    zones.sync().await.unwrap();
    assert_eq!(
        a_in_snapshot(&zones, "p.dyn.example"),
        Some(vec![vec![198, 51, 100, 5]])
    );
    assert_eq!(serial(&zones), serial(&writer));
    let _ = store;
}

#[tokio::test]
async fn an_import_is_one_transaction_or_nothing() {
    let (_dir, store, zones) = setup().await;
    let before = serial(&zones);
    let good = "$ORIGIN dyn.example.\n@ 3600 IN NS ignored.example.\nh1 60 A 192.0.2.1\nh1 60 A 192.0.2.2\n\
                m MX 10 h1\nt TXT \"a\" \"b\"\n";
    let summary = zones
        .import_zone(&n("dyn.example"), good.as_bytes(), 300, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(
        (summary.rrsets, summary.records, summary.skipped_apex),
        (3, 5, 1)
    );
    assert_eq!(serial(&zones), before.next());
    assert_eq!(
        a_in_snapshot(&zones, "h1.dyn.example"),
        Some(vec![vec![192, 0, 2, 1], vec![192, 0, 2, 2]])
    );
    // A record at a static name fails the whole import.
    let bad = "h2 A 192.0.2.9\nwww A 192.0.2.10\n";
    let err = zones
        .import_zone(&n("dyn.example"), bad.as_bytes(), 300, Actor::Cli)
        .await
        .unwrap_err();
    assert!(matches!(err, UpdateError::Reserved { .. }), "{err:?}");
    let broken = "h3 A 192.0.2.9\nh4 A 1234\n";
    let err = zones
        .import_zone(&n("dyn.example"), broken.as_bytes(), 300, Actor::Cli)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
    assert_eq!(a_in_snapshot(&zones, "h2.dyn.example"), None);
    assert_eq!(a_in_snapshot(&zones, "h3.dyn.example"), None);
    assert_eq!(serial(&zones), before.next());
    let _ = store;
}

/// A file of `hosts` A records, more than one import batch (5,000 RRsets) when large.
fn many_hosts(hosts: usize) -> String {
    let mut text = String::from("$ORIGIN dyn.example.\n$TTL 60\n");
    for i in 0..hosts {
        text.push_str(&format!("bulk{i} A 10.0.{}.{}\n", i / 250, 1 + i % 250));
    }
    text
}

#[tokio::test]
async fn an_import_failing_in_the_middle_leaves_the_zone_untouched() {
    let (_dir, store, zones) = setup().await;
    zones
        .import_zone(
            &n("dyn.example"),
            "keep A 192.0.2.1\n".as_bytes(),
            300,
            Actor::Cli,
        )
        .await
        .unwrap();
    let before = serial(&zones);
    let keep_version = store.host(&n("keep.dyn.example")).await.unwrap().unwrap();
    // Three batches go to the store before the bad line; the first half replaces `keep`.
    let mut text = String::from("keep A 192.0.2.99\n");
    text.push_str(&many_hosts(12_000));
    text.push_str("broken A 1234\n");
    text.push_str(&many_hosts(3_000).replace("bulk", "late"));
    let bad_line = text.lines().position(|l| l.starts_with("broken")).unwrap() + 1;
    let err = zones
        .import_zone(
            &n("dyn.example"),
            std::io::Cursor::new(text),
            300,
            Actor::Cli,
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(&format!("line {bad_line}")),
        "{err}"
    );
    assert_eq!(serial(&zones), before);
    assert_eq!(
        a_in_snapshot(&zones, "keep.dyn.example"),
        Some(vec![vec![192, 0, 2, 1]])
    );
    assert_eq!(a_in_snapshot(&zones, "bulk1.dyn.example"), None);
    // And in the store itself, not only in this snapshot.
    assert!(store.host(&n("bulk1.dyn.example")).await.unwrap().is_none());
    assert_eq!(
        store.host(&n("keep.dyn.example")).await.unwrap().unwrap(),
        keep_version
    );
    assert_eq!(
        store.zone(&n("dyn.example")).await.unwrap().unwrap().serial,
        before
    );

    // The same file without the bad line imports, in one serial step.
    let summary = zones
        .import_zone(
            &n("dyn.example"),
            std::io::Cursor::new(many_hosts(12_000)),
            300,
            Actor::Cli,
        )
        .await
        .unwrap();
    assert_eq!((summary.rrsets, summary.records), (12_000, 12_000));
    assert_eq!(serial(&zones), before.next());
    assert_eq!(
        a_in_snapshot(&zones, "bulk11999.dyn.example"),
        Some(vec![vec![10, 0, 47, 250]])
    );
}

#[tokio::test]
async fn an_import_merges_an_owner_and_type_repeated_later_in_the_file() {
    let (_dir, store, zones) = setup().await;
    // `rep` comes back after more than a batch of other names, with a lower TTL and one record
    // it already had.
    let mut text = String::from("$ORIGIN dyn.example.\nrep 300 A 192.0.2.1\nrep 300 A 192.0.2.2\n");
    text.push_str("rep TXT \"first\"\n");
    text.push_str(&many_hosts(6_000));
    text.push_str(
        "rep 120 A 192.0.2.3\nrep 120 A 192.0.2.1\nother 60 A 192.0.2.7\nrep TXT \"second\"\n",
    );
    let summary = zones
        .import_zone(
            &n("dyn.example"),
            std::io::Cursor::new(text),
            300,
            Actor::Cli,
        )
        .await
        .unwrap();
    assert_eq!(summary.rrsets, 6_000 + 3);
    assert_eq!(summary.records, 6_000 + 7);
    assert_eq!(
        a_in_snapshot(&zones, "rep.dyn.example"),
        Some(vec![
            vec![192, 0, 2, 1],
            vec![192, 0, 2, 2],
            vec![192, 0, 2, 3]
        ])
    );
    let host = store.host(&n("rep.dyn.example")).await.unwrap().unwrap();
    let a = host.rrsets.iter().find(|s| s.rtype() == Rtype::A).unwrap();
    assert_eq!(a.ttl(), 120);
    let txt = host
        .rrsets
        .iter()
        .find(|s| s.rtype() == Rtype::TXT)
        .unwrap();
    assert_eq!(txt.values().len(), 2, "{txt}");

    // One summary history row at the apex, none per host.
    assert!(
        zones
            .history_of(&n("rep.dyn.example"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let rows = zones.history_of(&n("dyn.example"), None, 10).await.unwrap();
    let note = rows[0].note.as_deref().unwrap_or_default();
    assert!(note.contains("6003 record sets"), "{rows:?}");

    // A repeated CNAME makes two targets: refused, naming both lines, nothing written.
    let before = serial(&zones);
    let err = zones
        .import_zone(
            &n("dyn.example"),
            "c CNAME a\nd A 192.0.2.4\nc CNAME b\n".as_bytes(),
            300,
            Actor::Cli,
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("line 3") && text.contains("line 1"), "{text}");
    assert_eq!(serial(&zones), before);
    assert!(store.host(&n("d.dyn.example")).await.unwrap().is_none());

    // Importing the same content again changes no host's version.
    let version = store
        .host(&n("other.dyn.example"))
        .await
        .unwrap()
        .unwrap()
        .version;
    zones
        .import_zone(
            &n("dyn.example"),
            "other 60 A 192.0.2.7\nnew A 192.0.2.8\n".as_bytes(),
            300,
            Actor::Cli,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .host(&n("other.dyn.example"))
            .await
            .unwrap()
            .unwrap()
            .version,
        version
    );
}

/// Two nodes on one PostgreSQL database (always: the shortcut below exists only there), with
/// no follower running, so node A's snapshot stays behind node B's commit.
#[tokio::test]
async fn a_node_behind_another_nodes_commit_does_not_answer_nochg_from_its_snapshot() {
    let url = ddns_testkit::postgres::Postgres::shared().database();
    let open = || async {
        let store = Arc::new(
            Store::open_url(&url, None, &StoreOptions::default())
                .await
                .unwrap(),
        );
        Zones::open(store, &[zone_config()], KEEP_ALL)
            .await
            .unwrap()
    };
    let (a, b) = (open().await, open().await);
    let scope = Scope::Hosts(vec![ScopeEntry::parse("m.dyn.example").unwrap()]);
    let on_a = principal(&a, scope.clone()).await;
    let on_b = principal(&b, scope).await;
    async fn update(zones: &Zones, p: &Principal, ip: &str) -> bool {
        let update = addresses(&["m.dyn.example"], ip);
        zones
            .update_addresses(p, &update, Origin::default())
            .await
            .unwrap()[0]
            .changed
    }
    assert!(update(&a, &on_a, "198.51.100.1").await);
    assert!(update(&b, &on_b, "198.51.100.2").await);
    // Node A has not replayed B's change: its snapshot still shows .1.
    assert_eq!(
        a_in_snapshot(&a, "m.dyn.example"),
        Some(vec![vec![198, 51, 100, 1]])
    );
    assert!(
        update(&a, &on_a, "198.51.100.1").await,
        "moving back to .1 through node A is a change, not nochg"
    );
    assert_eq!(
        a_in_snapshot(&a, "m.dyn.example"),
        Some(vec![vec![198, 51, 100, 1]])
    );
    b.sync().await.unwrap();
    assert_eq!(
        a_in_snapshot(&b, "m.dyn.example"),
        Some(vec![vec![198, 51, 100, 1]]),
        "the store holds what node A was told"
    );
    // And a true repeat through node A is still nochg.
    assert!(!update(&a, &on_a, "198.51.100.1").await);
}
