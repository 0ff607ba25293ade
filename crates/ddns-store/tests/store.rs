//! The store against a real SQLite file and a real PostgreSQL server: atomic change sets,
//! history, serials, tokens.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ddns_core::snapshot::SoaParams;
use ddns_core::{Actor, DomainName, Origin, RecordSet, Rtype, Scope, ScopeEntry, Serial};
use ddns_store::{ChangeSet, HostFilter, RrsetWrite, Store, StoreError, StoreOptions};

/// The audit row token writes carry in these tests.
fn by_cli() -> ddns_store::AdminAction {
    ddns_store::AdminAction::new(Actor::Cli, "token.create", "test")
}

fn n(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

fn a(addr: &str) -> Option<RecordSet> {
    Some(RecordSet::ipv4(60, &[addr.parse().unwrap()]).unwrap())
}

fn set(rtype: Rtype, value: &str) -> RecordSet {
    RecordSet::from_values(rtype, 60, &[value], &n("dyn.example").to_wire()).unwrap()
}

fn write(name: &str, rtype: Rtype, new: Option<RecordSet>) -> RrsetWrite {
    RrsetWrite::dynamic(n("dyn.example"), n(name), rtype, new)
}

fn soa() -> SoaParams {
    SoaParams {
        mname: n("ns1.dyn.example"),
        rname: n("hostmaster.dyn.example"),
        refresh: 3600,
        retry: 600,
        expire: 1_209_600,
        minimum: 60,
        ttl: 3600,
    }
}

fn origin() -> Origin {
    Origin {
        source_ip: Some("192.0.2.77".parse().unwrap()),
        user_agent: Some("test/1".into()),
    }
}

/// Where a test's store lives: a temporary SQLite file, or a fresh database on the test
/// binary's PostgreSQL cluster. Every test that is not about one engine runs on both.
pub(crate) enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Db {
    fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().unwrap())
    }

    fn postgres() -> Self {
        Self::Postgres(ddns_testkit::postgres::Postgres::shared().database())
    }

    /// Opens the store, as a server or another node would.
    pub(crate) async fn open(&self, options: &StoreOptions) -> Store {
        match self {
            Self::Sqlite(dir) => Store::open_dir(dir.path(), options).await.unwrap(),
            Self::Postgres(url) => Store::open_url(url, None, options).await.unwrap(),
        }
    }

    /// A connection of another client (another process, another node).
    pub(crate) async fn client(&self) -> sqlx::AnyConnection {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let url = match self {
            Self::Sqlite(dir) => format!(
                "sqlite://{}",
                dir.path().join(ddns_store::DB_FILE).display()
            ),
            Self::Postgres(url) => url.clone(),
        };
        sqlx::AnyConnection::connect(&url).await.unwrap()
    }

    /// Everything the database keeps at rest: the file, or a dump of the database.
    fn at_rest(&self) -> Vec<u8> {
        match self {
            Self::Sqlite(dir) => std::fs::read(dir.path().join(ddns_store::DB_FILE)).unwrap(),
            Self::Postgres(url) => {
                let name = url.rsplit('/').next().unwrap();
                ddns_testkit::postgres::Postgres::shared()
                    .dump(name)
                    .into_bytes()
            }
        }
    }
}

/// Runs each named test (an `async fn(Db)`) once on SQLite and once on PostgreSQL.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Db::sqlite()).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Db::postgres()).await
            })*
        }
    };
}

async fn store(db: &Db) -> Store {
    let store = db.open(&StoreOptions::default()).await;
    store
        .ensure_zone(&n("dyn.example"), Serial(100), &soa())
        .await
        .unwrap();
    store
}

async fn change_then_no_change(db: Db) {
    let store = store(&db).await;
    let set = ChangeSet::new(
        vec![write("h.dyn.example", Rtype::A, a("192.0.2.1"))],
        Actor::Cli,
        origin(),
    );
    let first = store.apply(&set).await.unwrap();
    assert_eq!(first.changed, vec![true]);
    assert_eq!(first.serials, vec![(n("dyn.example"), Serial(101))]);
    let again = store.apply(&set).await.unwrap();
    assert_eq!(again.changed, vec![false]);
    assert!(again.serials.is_empty(), "a no-op must not bump the serial");
    let zones = store.zones().await.unwrap();
    assert_eq!((zones[0].serial, zones[0].journal_seq), (Serial(101), 1));
    assert_eq!(zones[0].soa, Some(soa()));

    let history = store
        .history_of(&n("h.dyn.example"), None, 10)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    let row = &history[0];
    assert_eq!((row.old.clone(), row.new.clone()), (None, a("192.0.2.1")));
    assert_eq!(row.serial, Serial(101));
    assert_eq!(row.actor, "cli");
    assert_eq!(row.source_ip, Some("192.0.2.77".parse().unwrap()));
    assert_eq!(row.user_agent.as_deref(), Some("test/1"));
}

async fn one_serial_step_per_change_set_and_history_per_rrset(db: Db) {
    let store = store(&db).await;
    let set = ChangeSet::new(
        vec![
            write("a.dyn.example", Rtype::A, a("192.0.2.1")),
            write("b.dyn.example", Rtype::A, a("192.0.2.2")),
        ],
        Actor::Token("t1".into()),
        origin(),
    );
    let applied = store.apply(&set).await.unwrap();
    assert_eq!(applied.serials, vec![(n("dyn.example"), Serial(101))]);
    let mut rows = store
        .history_of(&n("a.dyn.example"), None, 100)
        .await
        .unwrap();
    rows.extend(
        store
            .history_of(&n("b.dyn.example"), None, 100)
            .await
            .unwrap(),
    );
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r.serial == Serial(101) && r.actor == "token:t1")
    );
    let journal = store.journal_since(&n("dyn.example"), 0, 10).await.unwrap();
    assert_eq!(journal.len(), 1, "one journal entry for the change set");
    assert_eq!(journal[0].entry.as_ref().unwrap().deltas.len(), 2);
}

async fn conflicts_roll_back_everything(db: Db) {
    let store = store(&db).await;
    let cname = set(Rtype::CNAME, "target.example.");
    let set = ChangeSet::new(
        vec![
            write("ok.dyn.example", Rtype::A, a("192.0.2.1")),
            write("c.dyn.example", Rtype::A, a("192.0.2.2")),
            write("c.dyn.example", Rtype::CNAME, Some(cname)),
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
    assert!(
        store
            .journal_since(&n("dyn.example"), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.zones().await.unwrap()[0].serial, Serial(100));
}

async fn versions_guard_concurrent_writers(db: Db) {
    let store = store(&db).await;
    let set = ChangeSet::new(
        vec![write("h.dyn.example", Rtype::A, a("192.0.2.1"))],
        Actor::Cli,
        origin(),
    );
    let v1 = store.apply(&set).await.unwrap().versions[&n("h.dyn.example")];
    let mut second = ChangeSet::new(
        vec![write("h.dyn.example", Rtype::A, a("192.0.2.2"))],
        Actor::Cli,
        origin(),
    );
    second.if_match = vec![(n("h.dyn.example"), v1)];
    let v2 = store.apply(&second).await.unwrap().versions[&n("h.dyn.example")];
    assert!(v2 > v1);
    let mut stale = ChangeSet::new(
        vec![write("h.dyn.example", Rtype::A, a("192.0.2.3"))],
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

async fn a_zone_guard_refuses_a_plan_another_writer_overtook(db: Db) {
    let store = store(&db).await;
    let zone = n("dyn.example");
    async fn position(store: &Store) -> i64 {
        let rows = store
            .journal_since(&n("dyn.example"), 0, 1000)
            .await
            .unwrap();
        rows.last().map_or(0, |r| r.seq)
    }
    let at = position(&store).await;
    let mut planned = ChangeSet::new(
        vec![write("g.dyn.example", Rtype::A, a("192.0.2.1"))],
        Actor::Cli,
        origin(),
    );
    planned.zone_at = vec![(zone.clone(), at)];
    store.apply(&planned).await.unwrap();
    let now = position(&store).await;
    assert!(now > at);
    // Planned on the old position again (what another node had committed is not seen).
    let mut stale = ChangeSet::new(
        vec![write("g.dyn.example", Rtype::A, a("192.0.2.2"))],
        Actor::Cli,
        origin(),
    );
    stale.zone_at = vec![(zone.clone(), at)];
    let err = store.apply(&stale).await.unwrap_err();
    assert!(
        matches!(err, StoreError::ZoneMoved { expected, current, .. } if expected == at && current == now),
        "{err:?}"
    );
    assert_eq!(position(&store).await, now, "nothing written");
    let host = store.host(&n("g.dyn.example")).await.unwrap().unwrap();
    assert_eq!(host.rrsets, vec![a("192.0.2.1").unwrap()]);
}

async fn delete_host_writes_history_and_survives_reopen(db: Db) {
    {
        let store = store(&db).await;
        let aaaa = set(Rtype::AAAA, "2001:db8::1");
        let set = ChangeSet::new(
            vec![
                write("h.dyn.example", Rtype::A, a("192.0.2.1")),
                write("h.dyn.example", Rtype::AAAA, Some(aaaa)),
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
    let store = db.open(&StoreOptions::default()).await;
    assert!(store.host(&n("h.dyn.example")).await.unwrap().is_none());
    let rows = store
        .history_of(&n("h.dyn.example"), None, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    assert!(
        rows[..2].iter().all(|r| r.new.is_none() && r.old.is_some()),
        "newest first"
    );
    assert!(
        store
            .zone_rrsets(&n("dyn.example"))
            .await
            .unwrap()
            .rrsets
            .is_empty()
    );
    let journal = store.journal_since(&n("dyn.example"), 1, 10).await.unwrap();
    assert_eq!(journal[0].entry.as_ref().unwrap().deltas.len(), 2);
}

async fn tokens_store_only_a_hash(db: Db) {
    let store = store(&db).await;
    let token = ddns_core::token::generate().unwrap();
    let scope = Scope::Hosts(vec![
        ScopeEntry::parse("*.lab.dyn.example").unwrap(),
        ScopeEntry::parse("h.dyn.example").unwrap(),
    ]);
    store
        .insert_token(&token, "router", &scope, &Default::default(), &by_cli())
        .await
        .unwrap();
    let stored = store.token(&token.id).await.unwrap().unwrap();
    assert_eq!(stored.scope, scope);
    assert_eq!(stored.secret_sha256, token.secret_hash.to_vec());
    let raw = db.at_rest();
    let (_, secret) = ddns_core::token::split(&token.full).unwrap();
    assert!(
        !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "secret must not be on disk"
    );
    store.revoke_token(&token.id, &by_cli()).await.unwrap();
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
        store.revoke_token(&token.id, &by_cli()).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn token_changes_name_what_changed_since_a_position(db: Db) {
    let store = store(&db).await;
    let start = store.token_changes(None, 10).await.unwrap();
    assert_eq!(start.ids, None, "no position: cannot tell");
    let here = |seq, ids: &[&str]| ddns_store::TokenChanges {
        seq,
        ids: Some(ids.iter().map(|s| (*s).to_owned()).collect()),
    };
    assert_eq!(
        store.token_changes(Some(start.seq), 10).await.unwrap(),
        here(start.seq, &[])
    );

    let a = ddns_core::token::generate().unwrap();
    let b = ddns_core::token::generate().unwrap();
    store
        .insert_token(&a, "a", &Scope::Admin, &Default::default(), &by_cli())
        .await
        .unwrap();
    let after_a = store.token_changes(Some(start.seq), 10).await.unwrap();
    assert_eq!(after_a, here(start.seq + 1, &[&a.id]));
    store
        .insert_token(&b, "b", &Scope::Admin, &Default::default(), &by_cli())
        .await
        .unwrap();
    store.revoke_token(&a.id, &by_cli()).await.unwrap();
    let mut both = store.token_changes(Some(after_a.seq), 10).await.unwrap();
    both.ids.as_mut().unwrap().sort();
    let mut expected = [a.id.as_str(), b.id.as_str()];
    expected.sort_unstable();
    assert_eq!(both, here(start.seq + 3, &expected));
    assert_eq!(
        store
            .token_changes(Some(after_a.seq + 1), 10)
            .await
            .unwrap(),
        here(start.seq + 3, &[&a.id]),
        "only the revoke is after the second insert"
    );

    // More changes than asked for, or a position the counter never reached: cannot tell.
    assert_eq!(
        store.token_changes(Some(start.seq), 1).await.unwrap().ids,
        None
    );
    assert_eq!(
        store
            .token_changes(Some(start.seq + 99), 10)
            .await
            .unwrap()
            .ids,
        None
    );
    // A refused revoke (nothing active) changes no token.
    assert!(store.revoke_token(&a.id, &by_cli()).await.is_err());
    let refused = store.token_changes(Some(both.seq), 10).await.unwrap();
    assert_eq!(refused.ids, Some(Vec::new()));

    // Another process on the same database sees the same counter.
    let other = db.open(&StoreOptions::default()).await;
    assert_eq!(
        other.token_changes(None, 10).await.unwrap().seq,
        refused.seq
    );
}

async fn a_locked_database_is_busy_not_broken(db: Db) {
    let options = StoreOptions {
        busy_timeout: Duration::from_millis(200),
        ..StoreOptions::default()
    };
    let store = db.open(&options).await;
    store
        .ensure_zone(&n("dyn.example"), Serial(1), &soa())
        .await
        .unwrap();
    // Another process (another node) holds the write lock.
    let mut holder = db.client().await;
    let lock = match db {
        Db::Sqlite(_) => "BEGIN IMMEDIATE".to_owned(),
        Db::Postgres(_) => format!(
            "BEGIN; SELECT pg_advisory_xact_lock({})",
            ddns_store::PG_WRITE_LOCK
        ),
    };
    sqlx::raw_sql(sqlx::AssertSqlSafe(lock))
        .execute(&mut holder)
        .await
        .unwrap();
    let set = ChangeSet::new(
        vec![write("h.dyn.example", Rtype::A, a("192.0.2.1"))],
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

async fn hosts_are_filtered_and_paged_in_sql(db: Db) {
    let store = store(&db).await;
    let names = [
        "a.dyn.example",
        "b.x.dyn.example",
        "c.x.dyn.example",
        "d.dyn.example",
    ];
    let writes = names
        .iter()
        .map(|h| write(h, Rtype::A, a("192.0.2.1")))
        .collect();
    store
        .apply(&ChangeSet::new(writes, Actor::Cli, origin()))
        .await
        .unwrap();
    let scope = HostFilter::Scope {
        exact: vec![n("d.dyn.example")],
        below: vec![n("x.dyn.example")],
    };
    let page = store.hosts(&scope, None, 2).await.unwrap();
    let got: Vec<&str> = page.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(got, ["b.x.dyn.example", "c.x.dyn.example"]);
    assert_eq!(page[0].rrsets, vec![a("192.0.2.1").unwrap()]);
    let next = store.hosts(&scope, Some(&page[1].name), 2).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].name.as_str(), "d.dyn.example");
    assert_eq!(
        store.hosts(&HostFilter::All, None, 10).await.unwrap().len(),
        4
    );
    let nothing = HostFilter::Scope {
        exact: vec![],
        below: vec![],
    };
    assert!(store.hosts(&nothing, None, 10).await.unwrap().is_empty());
}

async fn static_rrsets_are_not_overwritten_by_updates(db: Db) {
    let store = store(&db).await;
    let mut stat = write("www.dyn.example", Rtype::A, a("192.0.2.80"));
    stat.is_static = true;
    store
        .apply(&ChangeSet::new(vec![stat], Actor::Config, origin()))
        .await
        .unwrap();
    let err = store
        .apply(&ChangeSet::new(
            vec![write("www.dyn.example", Rtype::A, a("192.0.2.1"))],
            Actor::Cli,
            origin(),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let rrsets = store.zone_rrsets(&n("dyn.example")).await.unwrap().rrsets;
    assert_eq!(rrsets.len(), 1);
    assert!(rrsets[0].is_static);
}

/// A database written by the first schema (values as JSON text) is converted when opened.
#[tokio::test]
async fn first_schema_data_is_converted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(ddns_store::DB_FILE);
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        migrator.migrations = std::borrow::Cow::Owned(migrator.migrations[..1].to_vec());
        migrator.run(&pool).await.unwrap();
        for sql in [
            "INSERT INTO zones (id, name, serial, created_at) VALUES (1, 'dyn.example', 7, 'x')",
            "INSERT INTO hosts (id, zone_id, name, version, created_at, updated_at) VALUES (1, 1, 'h.dyn.example', 3, 'x', 'x')",
            "INSERT INTO rrsets (host_id, rtype, ttl, rdata, updated_at) VALUES (1, 'A', 60, '[\"192.0.2.5\",\"192.0.2.4\"]', 'x')",
            "INSERT INTO rrsets (host_id, rtype, ttl, rdata, updated_at) VALUES (1, 'TXT', 60, '[\"hello\"]', 'x')",
            "INSERT INTO history (at, zone, name, rtype, old_ttl, old_rdata, new_ttl, new_rdata, serial, actor) \
             VALUES ('x', 'dyn.example', 'h.dyn.example', 'A', NULL, NULL, 60, '[\"192.0.2.4\"]', 7, 'cli')",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    let store = Store::open(&path, &StoreOptions::default()).await.unwrap();
    let host = store.host(&n("h.dyn.example")).await.unwrap().unwrap();
    assert_eq!(host.version, 3);
    assert_eq!(host.rrsets.len(), 2);
    assert_eq!(host.rrsets[0].values(), ["192.0.2.4", "192.0.2.5"]);
    assert_eq!(host.rrsets[1].values(), ["hello"]);
    let history = store
        .history_of(&n("h.dyn.example"), None, 10)
        .await
        .unwrap();
    assert_eq!(history[0].new, a("192.0.2.4"));
    // Opening again finds nothing left to convert.
    store.close().await;
    let store = Store::open(&path, &StoreOptions::default()).await.unwrap();
    assert_eq!(
        store
            .host(&n("h.dyn.example"))
            .await
            .unwrap()
            .unwrap()
            .rrsets
            .len(),
        2
    );
}

#[path = "store/retention.rs"]
mod retention;

on_both!(
    change_then_no_change,
    a_zone_guard_refuses_a_plan_another_writer_overtook,
    one_serial_step_per_change_set_and_history_per_rrset,
    conflicts_roll_back_everything,
    versions_guard_concurrent_writers,
    delete_host_writes_history_and_survives_reopen,
    tokens_store_only_a_hash,
    token_changes_name_what_changed_since_a_position,
    a_locked_database_is_busy_not_broken,
    hosts_are_filtered_and_paged_in_sql,
    static_rrsets_are_not_overwritten_by_updates,
);
