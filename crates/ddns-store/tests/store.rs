//! The store against a real SQLite file: atomic change sets, history, serials, tokens.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ddns_core::{
    Actor, DomainName, Origin, RecordData, RecordSet, RecordType, Scope, ScopeEntry, Serial,
};
use ddns_store::{ChangeSet, RrsetWrite, Store, StoreError, StoreOptions};

fn n(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

fn a(addr: &str) -> Option<RecordSet> {
    Some(RecordSet::new(60, RecordData::parse(RecordType::A, &[addr]).unwrap()).unwrap())
}

fn write(name: &str, rtype: RecordType, new: Option<RecordSet>) -> RrsetWrite {
    RrsetWrite {
        zone: n("dyn.example"),
        name: n(name),
        rtype,
        new,
    }
}

fn origin() -> Origin {
    Origin {
        source_ip: Some("192.0.2.77".parse().unwrap()),
        user_agent: Some("test/1".into()),
    }
}

async fn store(dir: &tempfile::TempDir) -> Store {
    let store = Store::open_dir(dir.path(), &StoreOptions::default())
        .await
        .unwrap();
    store
        .ensure_zone(&n("dyn.example"), Serial(100))
        .await
        .unwrap();
    store
}

#[tokio::test]
async fn change_then_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let set = ChangeSet::new(
        vec![write("h.dyn.example", RecordType::A, a("192.0.2.1"))],
        Actor::Cli,
        origin(),
    );
    let first = store.apply(&set).await.unwrap();
    assert_eq!(first.changed, vec![true]);
    assert_eq!(first.serials, vec![(n("dyn.example"), Serial(101))]);
    let again = store.apply(&set).await.unwrap();
    assert_eq!(again.changed, vec![false]);
    assert!(again.serials.is_empty(), "a no-op must not bump the serial");
    assert_eq!(
        store.zones().await.unwrap(),
        vec![(n("dyn.example"), Serial(101))]
    );

    let history = store.history_of(&n("h.dyn.example"), 10).await.unwrap();
    assert_eq!(history.len(), 1);
    let row = &history[0];
    assert_eq!((row.old.clone(), row.new.clone()), (None, a("192.0.2.1")));
    assert_eq!(row.serial, Serial(101));
    assert_eq!(row.actor, "cli");
    assert_eq!(row.source_ip, Some("192.0.2.77".parse().unwrap()));
    assert_eq!(row.user_agent.as_deref(), Some("test/1"));
}

#[tokio::test]
async fn one_serial_step_per_change_set_and_history_per_rrset() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let set = ChangeSet::new(
        vec![
            write("a.dyn.example", RecordType::A, a("192.0.2.1")),
            write("b.dyn.example", RecordType::A, a("192.0.2.2")),
        ],
        Actor::Token("t1".into()),
        origin(),
    );
    let applied = store.apply(&set).await.unwrap();
    assert_eq!(applied.serials, vec![(n("dyn.example"), Serial(101))]);
    let rows = store.history_since(0, 100).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r.serial == Serial(101) && r.actor == "token:t1")
    );
    assert_eq!(applied.last_history_id, rows[1].id);
}

#[tokio::test]
async fn conflicts_roll_back_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let cname = RecordSet::new(
        60,
        RecordData::parse(RecordType::Cname, &["target.example."]).unwrap(),
    )
    .unwrap();
    let set = ChangeSet::new(
        vec![
            write("ok.dyn.example", RecordType::A, a("192.0.2.1")),
            write("c.dyn.example", RecordType::A, a("192.0.2.2")),
            write("c.dyn.example", RecordType::Cname, Some(cname)),
        ],
        Actor::Cli,
        origin(),
    );
    assert!(matches!(
        store.apply(&set).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        store.host(&n("ok.dyn.example")).await.unwrap().is_none(),
        "nothing of a failed change set remains"
    );
    assert_eq!(store.last_history_id().await.unwrap(), 0);
    assert_eq!(store.zones().await.unwrap()[0].1, Serial(100));
}

#[tokio::test]
async fn versions_guard_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let set = ChangeSet::new(
        vec![write("h.dyn.example", RecordType::A, a("192.0.2.1"))],
        Actor::Cli,
        origin(),
    );
    let v1 = store.apply(&set).await.unwrap().versions[&n("h.dyn.example")];
    let mut second = ChangeSet::new(
        vec![write("h.dyn.example", RecordType::A, a("192.0.2.2"))],
        Actor::Cli,
        origin(),
    );
    second.if_match = vec![(n("h.dyn.example"), v1)];
    let v2 = store.apply(&second).await.unwrap().versions[&n("h.dyn.example")];
    assert!(v2 > v1);
    let mut stale = ChangeSet::new(
        vec![write("h.dyn.example", RecordType::A, a("192.0.2.3"))],
        Actor::Cli,
        origin(),
    );
    stale.if_match = vec![(n("h.dyn.example"), v1)];
    assert!(matches!(
        store.apply(&stale).await,
        Err(StoreError::VersionMismatch { expected, current, .. }) if expected == v1 && current == v2
    ));
    let host = store.host(&n("h.dyn.example")).await.unwrap().unwrap();
    assert_eq!(host.rrsets, vec![a("192.0.2.2").unwrap()]);
}

#[tokio::test]
async fn delete_host_writes_history_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = store(&dir).await;
        let aaaa = RecordSet::new(
            60,
            RecordData::parse(RecordType::Aaaa, &["2001:db8::1"]).unwrap(),
        )
        .unwrap();
        let set = ChangeSet::new(
            vec![
                write("h.dyn.example", RecordType::A, a("192.0.2.1")),
                write("h.dyn.example", RecordType::Aaaa, Some(aaaa)),
            ],
            Actor::Cli,
            origin(),
        );
        store.apply(&set).await.unwrap();
        let mut del = ChangeSet::new(vec![], Actor::Cli, origin());
        del.delete_hosts = vec![n("h.dyn.example")];
        let applied = store.apply(&del).await.unwrap();
        assert_eq!(applied.serials, vec![(n("dyn.example"), Serial(102))]);
        store.close().await;
    }
    let store = Store::open_dir(dir.path(), &StoreOptions::default())
        .await
        .unwrap();
    assert!(store.host(&n("h.dyn.example")).await.unwrap().is_none());
    let rows = store.history_since(0, 10).await.unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows[2..].iter().all(|r| r.new.is_none() && r.old.is_some()));
    assert!(store.all_rrsets().await.unwrap().is_empty());
}

#[tokio::test]
async fn tokens_store_only_a_hash() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let token = ddns_core::token::generate().unwrap();
    let scope = Scope::Hosts(vec![
        ScopeEntry::parse("*.lab.dyn.example").unwrap(),
        ScopeEntry::parse("h.dyn.example").unwrap(),
    ]);
    store.insert_token(&token, "router", &scope).await.unwrap();
    let stored = store.token(&token.id).await.unwrap().unwrap();
    assert_eq!(stored.scope, scope);
    assert_eq!(stored.secret_sha256, token.secret_hash.to_vec());
    let raw = std::fs::read(dir.path().join(ddns_store::DB_FILE)).unwrap();
    let (_, secret) = ddns_core::token::split(&token.full).unwrap();
    assert!(
        !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "secret must not be on disk"
    );
    store.revoke_token(&token.id).await.unwrap();
    assert!(
        store
            .token(&token.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert!(matches!(
        store.revoke_token(&token.id).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_locked_database_is_busy_not_broken() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        busy_timeout: Duration::from_millis(200),
        ..StoreOptions::default()
    };
    let store = Store::open_dir(dir.path(), &options).await.unwrap();
    store
        .ensure_zone(&n("dyn.example"), Serial(1))
        .await
        .unwrap();
    // Another process holds the write lock.
    use sqlx::Connection as _;
    let url = format!(
        "sqlite://{}",
        dir.path().join(ddns_store::DB_FILE).display()
    );
    let mut holder = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let set = ChangeSet::new(
        vec![write("h.dyn.example", RecordType::A, a("192.0.2.1"))],
        Actor::Cli,
        origin(),
    );
    let err = store.apply(&set).await.unwrap_err();
    assert!(matches!(err, StoreError::Busy), "{err:?}");
    assert!(err.is_transient());
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    assert_eq!(
        store.apply(&set).await.unwrap().changed,
        vec![true],
        "works again once the lock is gone"
    );
}
