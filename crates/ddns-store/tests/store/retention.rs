//! History retention (by age and by count per name) and host quotas, in the store.

use super::{Db, a, n, origin, store, write};
use ddns_core::{Actor, Rtype};
use ddns_store::{ChangeSet, HistoryRetention, HostFilter, HostQuota, StoreError};

on_both!(
    history_is_pruned_by_count_per_name_keeping_the_newest,
    history_is_pruned_by_age_in_batches,
    a_host_quota_refuses_a_new_host_and_changes_nothing,
);

/// Backdates every history row of `name` (every row when `None`) as another process would.
async fn backdate(db: &Db, name: Option<&str>) {
    let mut conn = db.client().await;
    sqlx::query("UPDATE history SET at = '2001-01-01T00:00:00Z' WHERE $1 IS NULL OR name = $1")
        .bind(name)
        .execute(&mut conn)
        .await
        .unwrap();
}

async fn serial_of(store: &ddns_store::Store) -> ddns_core::Serial {
    store.zones().await.unwrap()[0].serial
}

const KEEP: HistoryRetention = HistoryRetention {
    max_age_secs: 30 * 86_400,
    max_rows_per_host: 10,
};

async fn history_is_pruned_by_count_per_name_keeping_the_newest(db: Db) {
    let store = store(&db).await;
    for i in 0..25 {
        let set = ChangeSet::new(
            vec![write(
                "busy.dyn.example",
                Rtype::A,
                a(&format!("192.0.2.{i}")),
            )],
            Actor::Cli,
            origin(),
        );
        store.apply(&set).await.unwrap();
    }
    for i in 0..4 {
        let set = ChangeSet::new(
            vec![write(
                "calm.dyn.example",
                Rtype::A,
                a(&format!("192.0.2.{i}")),
            )],
            Actor::Cli,
            origin(),
        );
        store.apply(&set).await.unwrap();
    }
    let before = store
        .history_of(&n("busy.dyn.example"), None, 100)
        .await
        .unwrap();
    assert_eq!(before.len(), 25);

    assert_eq!(store.prune_history(KEEP).await.unwrap(), 15);
    let after = store
        .history_of(&n("busy.dyn.example"), None, 100)
        .await
        .unwrap();
    assert_eq!(
        after.iter().map(|r| r.id).collect::<Vec<_>>(),
        before[..10].iter().map(|r| r.id).collect::<Vec<_>>(),
        "the ten newest rows stay"
    );
    let calm = store
        .history_of(&n("calm.dyn.example"), None, 100)
        .await
        .unwrap();
    assert_eq!(calm.len(), 4, "a name under its count keeps everything");
    assert_eq!(store.prune_history(KEEP).await.unwrap(), 0, "idempotent");
}

async fn history_is_pruned_by_age_in_batches(db: Db) {
    let store = store(&db).await;
    // 1,200 old rows: more than two prune batches.
    for round in 0..3 {
        let writes = (0..400)
            .map(|i| {
                write(
                    &format!("h{round}-{i}.dyn.example"),
                    Rtype::A,
                    a("192.0.2.1"),
                )
            })
            .collect();
        store
            .apply(&ChangeSet::new(writes, Actor::Cli, origin()))
            .await
            .unwrap();
    }
    backdate(&db, None).await;
    let fresh = ChangeSet::new(
        vec![write("h0-0.dyn.example", Rtype::A, a("192.0.2.2"))],
        Actor::Cli,
        origin(),
    );
    store.apply(&fresh).await.unwrap();

    assert_eq!(store.prune_history(KEEP).await.unwrap(), 1200);
    let left = store
        .history_of(&n("h0-0.dyn.example"), None, 100)
        .await
        .unwrap();
    assert_eq!(left.len(), 1, "the recent row stays");
    assert_eq!(left[0].new, a("192.0.2.2"));
    assert!(
        store
            .history_of(&n("h2-399.dyn.example"), None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    // The records themselves are untouched: only their history goes.
    assert!(
        store
            .host(&n("h2-399.dyn.example"))
            .await
            .unwrap()
            .is_some()
    );
}

async fn a_host_quota_refuses_a_new_host_and_changes_nothing(db: Db) {
    let store = store(&db).await;
    let quota = HostQuota {
        filter: HostFilter::Scope {
            exact: vec![],
            below: vec![n("lab.dyn.example")],
        },
        max_hosts: 3,
    };
    for i in 0..3 {
        let mut set = ChangeSet::new(
            vec![write(
                &format!("h{i}.lab.dyn.example"),
                Rtype::A,
                a("192.0.2.1"),
            )],
            Actor::Cli,
            origin(),
        );
        set.host_quota = Some(quota.clone());
        store.apply(&set).await.unwrap();
    }
    // Hosts outside the filter do not count.
    let outside = ChangeSet::new(
        vec![write("other.dyn.example", Rtype::A, a("192.0.2.1"))],
        Actor::Cli,
        origin(),
    );
    store.apply(&outside).await.unwrap();
    let serial = serial_of(&store).await;

    let mut fourth = ChangeSet::new(
        vec![
            write("h0.lab.dyn.example", Rtype::A, a("192.0.2.9")),
            write("h3.lab.dyn.example", Rtype::A, a("192.0.2.1")),
        ],
        Actor::Cli,
        origin(),
    );
    fourth.host_quota = Some(quota.clone());
    let err = store.apply(&fourth).await.unwrap_err();
    assert!(matches!(err, StoreError::HostQuota { max: 3 }), "{err:?}");
    assert!(
        store
            .host(&n("h3.lab.dyn.example"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .host(&n("h0.lab.dyn.example"))
            .await
            .unwrap()
            .unwrap()
            .rrsets[0],
        a("192.0.2.1").unwrap(),
        "nothing of the refused change set was written"
    );
    assert_eq!(serial_of(&store).await, serial, "no serial step");

    // Changing an existing host is not limited.
    let mut update = ChangeSet::new(
        vec![write("h1.lab.dyn.example", Rtype::A, a("192.0.2.5"))],
        Actor::Cli,
        origin(),
    );
    update.host_quota = Some(quota.clone());
    store.apply(&update).await.unwrap();
    // Nor is registering a host that already exists.
    let mut again = ChangeSet::new(vec![], Actor::Cli, origin());
    again.register = vec![(n("dyn.example"), n("h2.lab.dyn.example"))];
    again.host_quota = Some(quota.clone());
    store.apply(&again).await.unwrap();
    // A new registration is.
    let mut register = ChangeSet::new(vec![], Actor::Cli, origin());
    register.register = vec![(n("dyn.example"), n("new.lab.dyn.example"))];
    register.host_quota = Some(quota);
    assert!(matches!(
        store.apply(&register).await,
        Err(StoreError::HostQuota { .. })
    ));
    assert!(
        store
            .host(&n("new.lab.dyn.example"))
            .await
            .unwrap()
            .is_none()
    );
}
