//! Token restrictions on the write path: record types, client subnets, expiry, read-only;
//! rotation with a grace period; last-used times written off the request path. Each is
//! checked for a token held in memory too, and a change by another process (`ddns token
//! rotate` on the data directory) reaches memory through the follower's poll.

use std::net::IpAddr;
use std::sync::Arc;

use ddns_core::token::NewToken;
use ddns_core::{Actor, Origin, Restrictions, Rtype, Scope, ScopeEntry};
use ddns_store::StoreOptions;
use ddns_zones::{AuthError, RrsetIntent, UpdateError, Zones};

use super::{addresses, n, setup};

const HOME: &str = "home.dyn.example";

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn token(zones: &Zones, restrictions: Restrictions) -> NewToken {
    zones
        .create_token(
            "r",
            &Scope::Hosts(vec![ScopeEntry::parse(HOME).unwrap()]),
            &restrictions,
            Actor::Cli,
            Origin::default(),
        )
        .await
        .unwrap()
}

fn refused<T: std::fmt::Debug>(result: Result<T, AuthError>) -> bool {
    matches!(result, Err(AuthError::Invalid))
}

#[tokio::test]
async fn subnets_are_checked_on_every_request() {
    let (_dir, _store, zones) = setup().await;
    let t = token(
        &zones,
        Restrictions {
            subnets: vec!["192.0.2.0/24".parse().unwrap()],
            ..Restrictions::default()
        },
    )
    .await;
    assert!(refused(
        zones.authenticate(&t.full, ip("198.51.100.1")).await
    ));
    zones.authenticate(&t.full, ip("192.0.2.9")).await.unwrap();
    // Now held in memory: another address is still refused.
    assert_eq!(zones.cached_tokens(), 1);
    assert!(refused(
        zones.authenticate(&t.full, ip("198.51.100.1")).await
    ));
    assert!(refused(
        zones.authenticate(&t.full, ip("2001:db8::1")).await
    ));
    zones
        .authenticate(&t.full, ip("::ffff:192.0.2.200"))
        .await
        .unwrap();
}

#[tokio::test]
async fn types_and_read_only_are_refused_on_every_write() {
    let (_dir, _store, zones) = setup().await;
    let aaaa_only = token(
        &zones,
        Restrictions {
            types: vec![Rtype::AAAA],
            ..Restrictions::default()
        },
    )
    .await;
    let p = zones
        .authenticate(&aaaa_only.full, ip("192.0.2.1"))
        .await
        .unwrap();
    let err = zones
        .update_addresses(&p, &addresses(&[HOME], "192.0.2.1"), Origin::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            UpdateError::TypeNotAllowed {
                rtype: Rtype::A,
                ..
            }
        ),
        "{err}"
    );
    let txt = RrsetIntent {
        name: n(HOME),
        rtype: Rtype::TXT,
        values: Some(vec!["x".into()]),
        ttl: None,
        view: None,
    };
    let err = zones
        .update_rrsets(&p, std::slice::from_ref(&txt), None, Origin::default())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        UpdateError::TypeNotAllowed {
            rtype: Rtype::TXT,
            ..
        }
    ));
    let aaaa = RrsetIntent {
        rtype: Rtype::AAAA,
        values: Some(vec!["2001:db8::7".into()]),
        ..txt.clone()
    };
    zones
        .update_rrsets(&p, &[aaaa], None, Origin::default())
        .await
        .unwrap();
    // The host now has only AAAA: this token may delete it. With a TXT beside it, it may not.
    let admin = super::principal(&zones, Scope::Admin).await;
    zones
        .update_rrsets(&admin, &[txt], None, Origin::default())
        .await
        .unwrap();
    let err = zones
        .delete_host(&p, &n(HOME), None, Origin::default())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        UpdateError::TypeNotAllowed {
            rtype: Rtype::TXT,
            ..
        }
    ));

    let reader = token(
        &zones,
        Restrictions {
            read_only: true,
            ..Restrictions::default()
        },
    )
    .await;
    let r = zones
        .authenticate(&reader.full, ip("192.0.2.1"))
        .await
        .unwrap();
    for result in [
        zones
            .update_addresses(&r, &addresses(&[HOME], "192.0.2.1"), Origin::default())
            .await
            .map(|_| ()),
        zones
            .delete_host(&r, &n(HOME), None, Origin::default())
            .await
            .map(|_| ()),
        zones.create_host(&r, &n(HOME)).await,
    ] {
        assert!(matches!(result, Err(UpdateError::ReadOnly)), "{result:?}");
    }
    assert!(zones.host(&n(HOME)).await.unwrap().is_some(), "untouched");
}

#[tokio::test]
async fn an_expired_token_is_refused_also_from_memory() {
    let (_dir, _store, zones) = setup().await;
    let past = token(
        &zones,
        Restrictions {
            expires_at: Some(now() - 1),
            ..Restrictions::default()
        },
    )
    .await;
    assert!(refused(
        zones.authenticate(&past.full, ip("192.0.2.1")).await
    ));
    let soon = token(
        &zones,
        Restrictions {
            expires_at: Some(now() + 2),
            ..Restrictions::default()
        },
    )
    .await;
    zones
        .authenticate(&soon.full, ip("192.0.2.1"))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert!(refused(
        zones.authenticate(&soon.full, ip("192.0.2.1")).await
    ));
}

#[tokio::test]
async fn rotation_keeps_the_scope_and_ends_the_old_token_after_the_grace() {
    let (dir, _store, zones) = setup().await;
    let restrictions = Restrictions {
        types: vec![Rtype::A, Rtype::AAAA],
        subnets: vec!["192.0.2.0/24".parse().unwrap()],
        expires_at: Some(now() + 90 * 86_400),
        read_only: false,
    };
    let old = token(&zones, restrictions.clone()).await;
    zones
        .authenticate(&old.full, ip("192.0.2.1"))
        .await
        .unwrap();

    // Rotated by another process with a grace of one second.
    let cli = {
        let store = crate::open_store(dir.path(), &StoreOptions::default()).await;
        Zones::attach(Arc::new(store)).await.unwrap()
    };
    let (successor, was) = cli
        .rotate_token(&old.id, now() + 1, None, Actor::Cli, Origin::default())
        .await
        .unwrap();
    assert_eq!(was.restrictions, restrictions);
    let record = zones.token(&successor.id).await.unwrap().unwrap();
    assert_eq!(record.restrictions, restrictions, "same restrictions");
    assert_eq!(
        record.scope,
        Scope::Hosts(vec![ScopeEntry::parse(HOME).unwrap()])
    );
    let old_record = zones.token(&old.id).await.unwrap().unwrap();
    assert_eq!(old_record.successor.as_deref(), Some(successor.id.as_str()));
    assert!(old_record.restrictions.expires_at.unwrap() <= now() + 1);

    zones.sync_tokens().await.unwrap();
    zones
        .authenticate(&old.full, ip("192.0.2.1"))
        .await
        .unwrap();
    let p = zones
        .authenticate(&successor.full, ip("192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(p.restrictions, restrictions);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert!(refused(
        zones.authenticate(&old.full, ip("192.0.2.1")).await
    ));
    zones
        .authenticate(&successor.full, ip("192.0.2.1"))
        .await
        .unwrap();
    // A revoked token has no successor to issue.
    zones
        .revoke_token(&successor.id, Actor::Cli, Origin::default())
        .await
        .unwrap();
    assert!(
        zones
            .rotate_token(&successor.id, now(), None, Actor::Cli, Origin::default())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn last_use_is_written_by_the_follower_not_the_request() {
    let (_dir, _store, zones) = setup().await;
    let t = token(&zones, Restrictions::default()).await;
    for _ in 0..50 {
        zones.authenticate(&t.full, ip("192.0.2.1")).await.unwrap();
    }
    assert_eq!(
        zones.token(&t.id).await.unwrap().unwrap().last_used_at,
        None
    );
    zones.flush_last_used().await.unwrap();
    let used = zones
        .token(&t.id)
        .await
        .unwrap()
        .unwrap()
        .last_used_at
        .unwrap();
    assert!((now() - used).abs() <= 2, "{used}");
}
