//! The checking loop of one failover name: a round of checks of every target each
//! `interval`, the outcome fed to each [`Target`], and the answered set written when it
//! changed.
//!
//! At start each target is taken to be as the published snapshot shows it: answered targets
//! start healthy (they need `fall` failures to leave), the others unhealthy (they need `rise`
//! successes to join). At open the zones serve the stored set, or every target when none of
//! it is stored (`ddns-zones`' `failover.rs`), so a restart neither forgets a dead target
//! nor writes anything unless the checks disagree. Each round compares the wanted set with
//! what the snapshot serves, so the name converges on the checks' verdict whatever else
//! happened to it.
//!
//! With a lease the targets change while the loop runs: each round starts from the configured
//! targets and the addresses nodes published within the lease (`Zones::failover_targets`); a
//! new one starts as the snapshot shows it (so, unanswered, it joins after `rise` checks),
//! one whose lease ran out leaves at once.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use ddns_config::{FailoverConfig, HealthCheck};
use ddns_zones::Zones;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::probe::probe;
use crate::target::{Target, answer};

/// Checks every failover name of the served zones until `stop` fires.
pub async fn run(zones: Arc<Zones>, stop: CancellationToken) {
    let mut tasks = JoinSet::new();
    for policy in zones.policies() {
        for failover in &policy.failover {
            tasks.spawn(watch(Arc::clone(&zones), failover.clone(), stop.clone()));
        }
    }
    while tasks.join_next().await.is_some() {}
}

fn sorted(mut addrs: Vec<IpAddr>) -> Vec<IpAddr> {
    addrs.sort_unstable();
    addrs
}

async fn watch(zones: Arc<Zones>, config: FailoverConfig, stop: CancellationToken) {
    let served = zones.failover_addresses(&config.name);
    let now = Instant::now();
    let mut targets: Vec<Target> = config
        .targets
        .iter()
        .map(|&addr| Target::new(addr, served.contains(&addr), now))
        .collect();
    tracing::info!(name = %config.name, targets = config.targets.len(), port = config.check.port, "health checks started");
    let mut ticker = tokio::time::interval(config.check.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if config.lease.is_some() {
            match zones.failover_targets(&config.name).await {
                Ok(addrs) => {
                    let served = zones.failover_addresses(&config.name);
                    follow_targets(&mut targets, &addrs, &served, Instant::now());
                }
                // The targets of the last round are checked again; the next round retries.
                Err(e) => {
                    tracing::warn!(name = %config.name, error = %e, "could not read the published targets")
                }
            }
        }
        let addrs: Vec<IpAddr> = targets.iter().map(|t| t.addr).collect();
        let results = check_all(&config.check, &addrs).await;
        let now = Instant::now();
        for (target, result) in targets.iter_mut().zip(results) {
            let ok = result.is_ok();
            if target.observe(ok, &config.check, now) {
                match &result {
                    Ok(()) => {
                        tracing::info!(name = %config.name, target = %target.addr, "target answers again")
                    }
                    Err(e) => {
                        tracing::warn!(name = %config.name, target = %target.addr, error = %e, "target down")
                    }
                }
            } else if let Err(e) = &result {
                tracing::debug!(name = %config.name, target = %target.addr, error = %e, "check failed");
            }
        }
        // Compared with what DNS serves, not with what was last written: a write that failed,
        // or records someone else put at the name, are set right at the next round.
        let wanted = answer(&targets, config.all_down);
        if sorted(wanted.clone()) == sorted(zones.failover_addresses(&config.name)) {
            continue;
        }
        match zones.update_failover(&config.name, &wanted).await {
            Ok(applied) if applied.any_change() => {
                let serial = applied.serials.first().map(|(_, s)| s.0);
                let answered: Vec<String> = wanted.iter().map(ToString::to_string).collect();
                tracing::info!(name = %config.name, answered = %answered.join(","), serial, "failover set changed");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(name = %config.name, error = %e, "could not write the failover set")
            }
        }
    }
}

/// Makes `targets` hold exactly `addrs`, in that order: a kept target keeps its state, a new
/// one starts answered if the snapshot serves it (`served`), else unanswered.
fn follow_targets(targets: &mut Vec<Target>, addrs: &[IpAddr], served: &[IpAddr], now: Instant) {
    let mut old = std::mem::take(targets);
    for addr in addrs {
        match old.iter().position(|t| t.addr == *addr) {
            Some(i) => targets.push(old.swap_remove(i)),
            None => targets.push(Target::new(*addr, served.contains(addr), now)),
        }
    }
}

/// One round: every target checked concurrently, results in target order.
async fn check_all(
    check: &HealthCheck,
    addrs: &[IpAddr],
) -> Vec<Result<(), crate::probe::ProbeError>> {
    let mut set = JoinSet::new();
    for (i, addr) in addrs.iter().enumerate() {
        let check = *check;
        let addr = SocketAddr::new(*addr, check.port);
        set.spawn(async move { (i, probe(addr, &check).await) });
    }
    let mut results: Vec<Option<Result<(), crate::probe::ProbeError>>> =
        (0..addrs.len()).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        if let Ok((i, result)) = joined {
            results[i] = Some(result);
        }
    }
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or(Err(crate::probe::ProbeError::Timeout(
                check.timeout.as_millis(),
            )))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn targets_follow_the_published_set() {
        let now = Instant::now();
        let mut targets = vec![Target::new(ip("192.0.2.1"), true, now)];
        // A node published 192.0.2.2, not served yet: it starts unanswered.
        follow_targets(
            &mut targets,
            &[ip("192.0.2.1"), ip("192.0.2.2")],
            &[ip("192.0.2.1")],
            now,
        );
        let state: Vec<(IpAddr, bool)> = targets.iter().map(|t| (t.addr, t.admitted())).collect();
        assert_eq!(
            state,
            vec![(ip("192.0.2.1"), true), (ip("192.0.2.2"), false)]
        );
        // 192.0.2.1's lease ran out: it leaves, the other keeps its state.
        follow_targets(&mut targets, &[ip("192.0.2.2")], &[ip("192.0.2.1")], now);
        let state: Vec<(IpAddr, bool)> = targets.iter().map(|t| (t.addr, t.admitted())).collect();
        assert_eq!(state, vec![(ip("192.0.2.2"), false)]);
    }
}
