//! `detect` over real sources: fakes on loopback, fixed addresses and commands.

use std::net::SocketAddr;
use std::time::Duration;

use ddns_detect::{
    AddressClass, AllowedClasses, DetectError, FailReason, Family, Policy, Source, SourceSpec,
    Verdict, detect,
};

use crate::fakes::{Reply, http, http_server, source};

fn fixed(address: &str) -> SourceSpec {
    SourceSpec::Fixed {
        address: address.parse().unwrap(),
    }
}

fn policy(quorum: usize, allow: &[AddressClass]) -> Policy {
    Policy {
        quorum,
        timeout: Duration::from_millis(500),
        allow: AllowedClasses::new(allow.iter().copied()),
    }
}

async fn echo_server(body: &'static str, delay: Duration) -> SocketAddr {
    http_server("127.0.0.1:0", move |_| Reply {
        delay,
        ..Reply::ok(body)
    })
    .await
    .0
}

fn sources(specs: Vec<SourceSpec>, family: Family) -> Vec<Source> {
    specs.into_iter().map(|s| source(s, family)).collect()
}

#[cfg(unix)]
#[tokio::test]
async fn agreement_across_kinds() {
    let a = echo_server("8.8.4.4\n", Duration::ZERO).await;
    let b = echo_server("8.8.4.4", Duration::ZERO).await;
    let list = sources(
        vec![
            http(format!("http://{a}/")),
            http(format!("http://{b}/")),
            SourceSpec::Command {
                program: "/bin/echo".into(),
                args: vec!["9.9.9.9".into()],
                env: vec![],
            },
        ],
        Family::V4,
    );
    let report = detect(&list, Family::V4, &Policy::default()).await;
    assert_eq!(report.address(), Some("8.8.4.4".parse().unwrap()));
    assert_eq!(
        report.verdict,
        Verdict::Agreed {
            address: "8.8.4.4".parse().unwrap(),
            votes: 2
        }
    );
    assert_eq!(report.observations.len(), 3);
    assert_eq!(report.observations[0].source, format!("http http://{a}/"));
    assert_eq!(report.observations[2].source, "command /bin/echo 9.9.9.9");
    assert!(
        report
            .to_string()
            .ends_with("IPv4 8.8.4.4 (2 of 3 sources agree, quorum 2)")
    );
}

#[tokio::test]
async fn disagreement_publishes_nothing() {
    let a = echo_server("8.8.4.4", Duration::ZERO).await;
    let list = sources(
        vec![http(format!("http://{a}/")), fixed("9.9.9.9")],
        Family::V4,
    );
    let report = detect(&list, Family::V4, &Policy::default()).await;
    assert_eq!(report.address(), None);
    let Verdict::Failed {
        reason: FailReason::Disagreement { tallies },
    } = &report.verdict
    else {
        panic!("{report}");
    };
    assert_eq!(tallies.len(), 2);
}

#[tokio::test]
async fn quorum_not_reached() {
    let list = sources(
        vec![fixed("8.8.4.4"), fixed("8.8.4.4"), fixed("9.9.9.9")],
        Family::V4,
    );
    let report = detect(&list, Family::V4, &policy(3, &[])).await;
    assert_eq!(
        report.summary(),
        "IPv4 failed: only 2 votes for 8.8.4.4; 3 must agree"
    );
    let report = detect(&list, Family::V4, &policy(2, &[])).await;
    assert_eq!(report.address(), Some("8.8.4.4".parse().unwrap()));
}

#[tokio::test]
async fn bogons_are_rejected_unless_allowed() {
    let list = sources(
        vec![fixed("10.0.0.1"), fixed("100.64.1.1"), fixed("203.0.113.9")],
        Family::V4,
    );
    let report = detect(&list, Family::V4, &policy(1, &[])).await;
    assert_eq!(report.summary(), "IPv4 failed: all 3 sources failed");
    for (o, class) in report.observations.iter().zip([
        AddressClass::Private,
        AddressClass::Cgnat,
        AddressClass::Documentation,
    ]) {
        assert!(
            matches!(o.result, Err(DetectError::Rejected { class: c, .. }) if c == class),
            "{o:?}"
        );
    }
    let report = detect(&list[..1], Family::V4, &policy(1, &[AddressClass::Private])).await;
    assert_eq!(report.address(), Some("10.0.0.1".parse().unwrap()));
    let report = detect(&list[1..2], Family::V4, &policy(1, &[AddressClass::Cgnat])).await;
    assert_eq!(report.address(), Some("100.64.1.1".parse().unwrap()));
    // A rejected answer is no vote: the documentation address alone makes the quorum of 1.
    let report = detect(
        &list,
        Family::V4,
        &policy(1, &[AddressClass::Documentation]),
    )
    .await;
    assert_eq!(report.address(), Some("203.0.113.9".parse().unwrap()));
}

#[cfg(unix)]
#[tokio::test]
async fn timeouts_and_empty_answers_count_as_failures() {
    let slow = echo_server("8.8.4.4", Duration::from_secs(30)).await;
    let empty = echo_server("", Duration::ZERO).await;
    let list = sources(
        vec![
            http(format!("http://{slow}/")),
            http(format!("http://{empty}/")),
            fixed("8.8.4.4"),
            SourceSpec::Command {
                program: "/bin/sleep".into(),
                args: vec!["30".into()],
                env: vec![],
            },
        ],
        Family::V4,
    );
    let started = std::time::Instant::now();
    let report = detect(&list, Family::V4, &policy(2, &[])).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "all sources run at once: {took:?}"
    );
    assert_eq!(
        report.observations[0].result,
        Err(DetectError::Timeout(Duration::from_millis(500)))
    );
    assert!(report.observations[0].latency >= Duration::from_millis(500));
    assert!(matches!(
        report.observations[1].result,
        Err(DetectError::BadAnswer(_))
    ));
    assert_eq!(
        report.observations[3].result,
        Err(DetectError::Timeout(Duration::from_millis(500)))
    );
    assert_eq!(
        report.summary(),
        "IPv4 failed: only 1 vote for 8.8.4.4; 2 must agree"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["observations"][1]["error_kind"], "bad_answer");
    assert_eq!(json["verdict"]["reason"]["kind"], "no_quorum");
}

#[tokio::test]
async fn ipv6_detection() {
    let v6 = http_server("[::1]:0", |_| Reply::ok("2606:4700:4700::1111"))
        .await
        .0;
    let list = sources(
        vec![
            http(format!("http://[::1]:{}/", v6.port())),
            fixed("2606:4700:4700::1111"),
        ],
        Family::V6,
    );
    let report = detect(&list, Family::V6, &Policy::default()).await;
    assert_eq!(
        report.address(),
        Some("2606:4700:4700::1111".parse().unwrap()),
        "{report}"
    );
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn real_loopback_interface_with_loopback_allowed() {
    let lo = SourceSpec::Interface {
        name: "lo".into(),
        ipv6: Default::default(),
        interface_id: None,
        prefix_len: None,
    };
    let list = sources(vec![lo], Family::V4);
    assert!(list[0].is_local());
    let report = detect(&list, Family::V4, &Policy::for_sources(1)).await;
    assert!(matches!(
        report.observations[0].result,
        Err(DetectError::Rejected {
            class: AddressClass::Loopback,
            ..
        })
    ));
    let report = detect(&list, Family::V4, &policy(1, &[AddressClass::Loopback])).await;
    assert_eq!(report.address(), Some("127.0.0.1".parse().unwrap()));
}
