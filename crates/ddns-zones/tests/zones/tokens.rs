//! Tokens held in memory: accepted without a store read, refused at once when revoked here,
//! after the follower's poll when revoked by another process, and bounded whatever is presented.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ddns_core::token::NewToken;
use ddns_core::{Actor, Origin, Scope, ScopeEntry};
use ddns_store::StoreOptions;
use ddns_zones::{AuthError, Zones};
use tokio_util::sync::CancellationToken;

use super::setup;

async fn token(zones: &Zones, host: &str) -> NewToken {
    zones
        .create_token(
            host,
            &Scope::Hosts(vec![ScopeEntry::parse(host).unwrap()]),
            &ddns_core::Restrictions::default(),
            Actor::Cli,
            Origin::default(),
        )
        .await
        .unwrap()
}

fn refused(result: Result<ddns_zones::Principal, AuthError>) -> bool {
    matches!(result, Err(AuthError::Invalid))
}

/// The same database opened again, as `ddns token revoke` on the data directory opens it.
async fn other_process(dir: &tempfile::TempDir) -> Zones {
    let store = crate::open_store(dir.path(), &StoreOptions::default()).await;
    Zones::attach(Arc::new(store)).await.unwrap()
}

fn with_wrong_secret(token: &NewToken) -> String {
    let mut wrong = token.full.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    wrong
}

#[tokio::test]
async fn a_revoke_here_is_refused_at_once() {
    let (_dir, _store, zones) = setup().await;
    let t = token(&zones, "home.dyn.example").await;
    assert_eq!(
        zones
            .authenticate(&t.full, [127, 0, 0, 1].into())
            .await
            .unwrap()
            .token_id,
        t.id
    );
    assert_eq!(zones.cached_tokens(), 1);
    zones
        .revoke_token(&t.id, Actor::Cli, Origin::default())
        .await
        .unwrap();
    assert!(refused(
        zones.authenticate(&t.full, [127, 0, 0, 1].into()).await
    ));
    assert_eq!(zones.cached_tokens(), 0, "a revoked token is not held");
}

#[tokio::test]
async fn a_revoke_by_another_process_is_refused_after_a_poll() {
    let (dir, _store, zones) = setup().await;
    let revoked = token(&zones, "a.dyn.example").await;
    let kept = token(&zones, "b.dyn.example").await;
    zones.sync_tokens().await.unwrap();
    for t in [&revoked, &kept] {
        zones
            .authenticate(&t.full, [127, 0, 0, 1].into())
            .await
            .unwrap();
    }
    other_process(&dir)
        .await
        .revoke_token(&revoked.id, Actor::Cli, Origin::default())
        .await
        .unwrap();
    // Until the poll this process answers from memory: the poll is what refuses it.
    assert!(
        zones
            .authenticate(&revoked.full, [127, 0, 0, 1].into())
            .await
            .is_ok()
    );
    zones.sync_tokens().await.unwrap();
    assert!(refused(
        zones
            .authenticate(&revoked.full, [127, 0, 0, 1].into())
            .await
    ));
    assert_eq!(
        zones.cached_tokens(),
        1,
        "only the changed token was dropped"
    );
    assert_eq!(
        zones
            .authenticate(&kept.full, [127, 0, 0, 1].into())
            .await
            .unwrap()
            .label,
        "b.dyn.example"
    );
}

#[tokio::test]
async fn the_follower_drops_tokens_revoked_elsewhere() {
    let (dir, _store, zones) = setup().await;
    let zones = Arc::new(zones);
    let t = token(&zones, "home.dyn.example").await;
    zones
        .authenticate(&t.full, [127, 0, 0, 1].into())
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let follower = {
        let zones = Arc::clone(&zones);
        let stop = stop.clone();
        tokio::spawn(async move { zones.follow(Duration::from_millis(20), stop).await })
    };
    // Let the follower take its first position before the revoke.
    tokio::time::sleep(Duration::from_millis(100)).await;
    other_process(&dir)
        .await
        .revoke_token(&t.id, Actor::Cli, Origin::default())
        .await
        .unwrap();
    let started = Instant::now();
    while zones
        .authenticate(&t.full, [127, 0, 0, 1].into())
        .await
        .is_ok()
    {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "still accepted after the follower's polls"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.cancel();
    follower.await.unwrap();
}

#[tokio::test]
async fn a_wrong_secret_for_a_held_id_is_refused() {
    let (_dir, _store, zones) = setup().await;
    let t = token(&zones, "home.dyn.example").await;
    zones
        .authenticate(&t.full, [127, 0, 0, 1].into())
        .await
        .unwrap();
    assert!(refused(
        zones
            .authenticate(&with_wrong_secret(&t), [127, 0, 0, 1].into())
            .await
    ));
    assert!(
        zones
            .authenticate(&t.full, [127, 0, 0, 1].into())
            .await
            .is_ok(),
        "still held"
    );
}

#[tokio::test]
async fn a_token_created_elsewhere_works_at_once() {
    let (dir, _store, zones) = setup().await;
    let other = other_process(&dir).await;
    let fresh = ddns_core::token::generate().unwrap();
    assert!(refused(
        zones.authenticate(&fresh.full, [127, 0, 0, 1].into()).await
    ));
    // Nothing was remembered of the refusal, so no poll is needed for the new token.
    assert_eq!(zones.cached_tokens(), 0);
    let t = token(&other, "home.dyn.example").await;
    assert_eq!(
        zones
            .authenticate(&t.full, [127, 0, 0, 1].into())
            .await
            .unwrap()
            .token_id,
        t.id
    );
}

#[tokio::test]
async fn random_ids_are_not_held() {
    let (_dir, _store, zones) = setup().await;
    let t = token(&zones, "home.dyn.example").await;
    zones
        .authenticate(&t.full, [127, 0, 0, 1].into())
        .await
        .unwrap();
    for _ in 0..3_000 {
        let random = ddns_core::token::generate().unwrap();
        assert!(refused(
            zones
                .authenticate(&random.full, [127, 0, 0, 1].into())
                .await
        ));
    }
    assert_eq!(zones.cached_tokens(), 1);
    assert!(
        zones
            .authenticate(&t.full, [127, 0, 0, 1].into())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_held_token_needs_no_store_read() {
    let (_dir, store, zones) = setup().await;
    let held = token(&zones, "a.dyn.example").await;
    let unheld = token(&zones, "b.dyn.example").await;
    zones
        .authenticate(&held.full, [127, 0, 0, 1].into())
        .await
        .unwrap();

    let hold = store.hold_auth_pool().await.unwrap();
    let principal = tokio::time::timeout(
        Duration::from_secs(1),
        zones.authenticate(&held.full, [127, 0, 0, 1].into()),
    )
    .await
    .expect("a held token waited for the store")
    .unwrap();
    assert_eq!(principal.token_id, held.id);
    // The hold is real: a token not in memory, and any refusal, wait for the store.
    let waits = |presented: String| {
        let zones = &zones;
        async move {
            tokio::time::timeout(
                Duration::from_millis(300),
                zones.authenticate(&presented, [127, 0, 0, 1].into()),
            )
            .await
            .is_err()
        }
    };
    assert!(waits(unheld.full.clone()).await);
    assert!(waits(with_wrong_secret(&held)).await);
    drop(hold);
    assert!(
        zones
            .authenticate(&unheld.full, [127, 0, 0, 1].into())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn an_unreadable_store_drops_every_token() {
    let (_dir, store, zones) = setup().await;
    let t = token(&zones, "home.dyn.example").await;
    zones
        .authenticate(&t.full, [127, 0, 0, 1].into())
        .await
        .unwrap();
    store.close().await;
    assert!(zones.sync_tokens().await.is_err());
    assert_eq!(zones.cached_tokens(), 0);
    assert!(matches!(
        zones.authenticate(&t.full, [127, 0, 0, 1].into()).await,
        Err(AuthError::Store(_))
    ));
}
