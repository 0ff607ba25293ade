//! The console's sign-in password and host pages.

use ddns_core::{Actor, Origin, Rtype, Scope, ScopeEntry};
use ddns_store::{AuditQuery, HostFilter, HostSearch};
use ddns_zones::{PasswordError, Principal, RrsetIntent};

use super::{n, setup};

#[tokio::test]
async fn the_admin_password_is_kept_as_argon2id_and_checked() {
    let (_dir, store, zones) = setup().await;
    assert!(!zones.has_console_password().await.unwrap());
    assert!(
        !zones
            .verify_console_password("anything at all")
            .await
            .unwrap()
    );
    assert!(matches!(
        zones
            .set_console_password("short", Actor::Cli, Origin::default())
            .await,
        Err(PasswordError::TooShort)
    ));
    assert!(
        !zones.has_console_password().await.unwrap(),
        "nothing was set"
    );
    zones
        .set_console_password("a long enough secret", Actor::Cli, Origin::default())
        .await
        .unwrap();
    let hash = store.console_password().await.unwrap().unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("a long enough secret"));
    assert!(
        zones
            .verify_console_password("a long enough secret")
            .await
            .unwrap()
    );
    assert!(
        !zones
            .verify_console_password("a long enough secreT")
            .await
            .unwrap()
    );
    assert!(!zones.verify_console_password("").await.unwrap());
    let audit = zones
        .audit(&AuditQuery {
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert!(
        audit.iter().any(
            |e| matches!(e, ddns_store::AuditEntry::Admin(a) if a.action == "console.password")
        ),
        "the change is audited"
    );
}

#[tokio::test]
async fn host_pages_are_keyset_searches_with_their_last_change() {
    let (_dir, _store, zones) = setup().await;
    let console = Principal::console_admin();
    assert_eq!(console.actor(), Actor::Console);
    for i in 0..30 {
        let intent = RrsetIntent {
            name: n(&format!("h{i:02}.dyn.example")),
            rtype: Rtype::A,
            values: Some(vec![format!("192.0.2.{i}")]),
            ttl: None,
            view: None,
        };
        zones
            .update_rrsets(&console, &[intent], None, Origin::default())
            .await
            .unwrap();
    }
    let search = |contains: Option<&str>, after: Option<&str>, limit| HostSearch {
        filter: HostFilter::All,
        zone: None,
        contains: contains.map(str::to_owned),
        after: after.map(n),
        limit,
    };
    let page = zones.search_hosts(&search(None, None, 10)).await.unwrap();
    assert_eq!(page.len(), 10);
    assert_eq!(page[0].name, n("h00.dyn.example"));
    let next = zones
        .search_hosts(&search(None, Some("h09.dyn.example"), 10))
        .await
        .unwrap();
    assert_eq!(next[0].name, n("h10.dyn.example"));
    let found = zones
        .search_hosts(&search(Some("h2"), None, 100))
        .await
        .unwrap();
    assert_eq!(found.len(), 10, "h20..h29");
    // `_` and `%` are literal, not patterns.
    assert!(
        zones
            .search_hosts(&search(Some("h_"), None, 100))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        zones
            .search_hosts(&search(Some("%"), None, 100))
            .await
            .unwrap()
            .is_empty()
    );
    let scoped = HostSearch {
        filter: ddns_zones::host_filter(&Scope::Hosts(vec![
            ScopeEntry::parse("h05.dyn.example").unwrap(),
        ])),
        ..search(None, None, 100)
    };
    assert_eq!(zones.search_hosts(&scoped).await.unwrap().len(), 1);
    let names: Vec<_> = page.iter().map(|h| &h.name).collect();
    let last = zones.last_changes(&names).await.unwrap();
    assert_eq!(last.len(), 10);
    assert_eq!(last[&n("h03.dyn.example")].actor, "console");
    assert_eq!(zones.host_count().await.unwrap(), 30);
}
