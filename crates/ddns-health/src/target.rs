//! One target's health as the checker sees it: rise/fall hysteresis over check results, and
//! flap damping that decides when a target that recovered may be answered again. Pure: time
//! comes in as an argument, so every rule is tested without sleeping.
//!
//! **Damping rule.** A target leaves the answered set as soon as `fall` checks in a row fail:
//! a dead address is never kept for damping's sake. Each such removal counts as a flap. A
//! recovered target (`rise` successes in a row) joins again at once while it has flapped at
//! most [`FREE_FLAPS`] times; after that it is held out until [`FIRST_HOLD`] has passed since
//! its last removal, doubling with each further flap up to [`MAX_HOLD`]. A target that stays
//! in the set for [`FORGIVE_AFTER`] has its flaps forgotten. So a target flapping forever
//! costs at most two journal entries per [`MAX_HOLD`] once its hold is at the maximum (and
//! `FREE_FLAPS` × 2 + one per doubling before that), however fast it flaps.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use ddns_config::{AllDown, HealthCheck};

/// Removals a target may have before its return is delayed.
pub const FREE_FLAPS: u32 = 2;
/// Hold after the first flap beyond [`FREE_FLAPS`].
pub const FIRST_HOLD: Duration = Duration::from_secs(10);
/// The longest hold.
pub const MAX_HOLD: Duration = Duration::from_secs(600);
/// A target answered this long without a removal has its flaps forgotten.
pub const FORGIVE_AFTER: Duration = Duration::from_secs(600);

/// How long a target with `flaps` removals is held out after the last one.
pub fn hold(flaps: u32) -> Duration {
    if flaps <= FREE_FLAPS {
        return Duration::ZERO;
    }
    let doublings = (flaps - FREE_FLAPS - 1).min(16);
    FIRST_HOLD.saturating_mul(1 << doublings).min(MAX_HOLD)
}

/// One target.
#[derive(Clone, Debug)]
pub struct Target {
    /// The address.
    pub addr: IpAddr,
    /// The hysteresis outcome: `rise` successes or `fall` failures in a row flip it.
    healthy: bool,
    /// Results in a row that disagree with `healthy`.
    streak: u32,
    /// In the answered set.
    admitted: bool,
    /// Removals not yet forgiven.
    flaps: u32,
    removed_at: Option<Instant>,
    admitted_at: Instant,
}

impl Target {
    /// A target that starts answered (`up`) or not.
    pub fn new(addr: IpAddr, up: bool, now: Instant) -> Self {
        Self {
            addr,
            healthy: up,
            streak: 0,
            admitted: up,
            flaps: 0,
            removed_at: None,
            admitted_at: now,
        }
    }

    /// Whether the target is in the answered set.
    pub fn admitted(&self) -> bool {
        self.admitted
    }

    /// Whether the checks say it is healthy (it may still be held out).
    pub fn healthy(&self) -> bool {
        self.healthy
    }

    /// Removals not yet forgiven.
    pub fn flaps(&self) -> u32 {
        self.flaps
    }

    /// Takes one check result (`ok`) at `now`; true when the target joined or left the set.
    pub fn observe(&mut self, ok: bool, check: &HealthCheck, now: Instant) -> bool {
        if ok == self.healthy {
            self.streak = 0;
        } else {
            self.streak += 1;
            let needed = if ok { check.rise } else { check.fall };
            if self.streak >= needed {
                self.healthy = ok;
                self.streak = 0;
            }
        }
        if self.admitted && now.saturating_duration_since(self.admitted_at) >= FORGIVE_AFTER {
            self.flaps = 0;
        }
        if self.admitted && !self.healthy {
            self.admitted = false;
            self.flaps = self.flaps.saturating_add(1);
            self.removed_at = Some(now);
            return true;
        }
        if !self.admitted && self.healthy {
            let held = self
                .removed_at
                .is_some_and(|at| now.saturating_duration_since(at) < hold(self.flaps));
            if !held {
                self.admitted = true;
                self.admitted_at = now;
                return true;
            }
        }
        false
    }
}

/// The addresses to answer: the admitted targets in configuration order, or when there is
/// none, every target (`answer_all`) or nothing (`answer_none`).
pub fn answer(targets: &[Target], all_down: AllDown) -> Vec<IpAddr> {
    let up: Vec<IpAddr> = targets
        .iter()
        .filter(|t| t.admitted)
        .map(|t| t.addr)
        .collect();
    match (up.is_empty(), all_down) {
        (false, _) => up,
        (true, AllDown::AnswerAll) => targets.iter().map(|t| t.addr).collect(),
        (true, AllDown::AnswerNone) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(rise: u32, fall: u32) -> HealthCheck {
        HealthCheck {
            rise,
            fall,
            ..HealthCheck::default()
        }
    }

    fn addr(n: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, n])
    }

    #[test]
    fn fall_failures_remove_and_rise_successes_return() {
        let c = check(2, 2);
        let t0 = Instant::now();
        let mut t = Target::new(addr(1), true, t0);
        assert!(!t.observe(false, &c, t0), "one failure is not enough");
        assert!(!t.observe(true, &c, t0), "a success resets the streak");
        assert!(!t.observe(false, &c, t0));
        assert!(
            t.observe(false, &c, t0),
            "the second failure in a row removes it"
        );
        assert!(!t.admitted() && !t.healthy());
        assert!(!t.observe(true, &c, t0));
        assert!(!t.observe(false, &c, t0));
        assert!(!t.observe(true, &c, t0));
        assert!(
            t.observe(true, &c, t0),
            "two successes in a row bring it back"
        );
        assert!(t.admitted());
        assert_eq!(t.flaps(), 1);
    }

    #[test]
    fn a_target_that_starts_down_needs_rise_successes() {
        let c = check(3, 1);
        let t0 = Instant::now();
        let mut t = Target::new(addr(1), false, t0);
        assert!(!t.observe(true, &c, t0));
        assert!(!t.observe(true, &c, t0));
        assert!(t.observe(true, &c, t0));
        assert_eq!(t.flaps(), 0, "joining is not a flap");
    }

    #[test]
    fn hold_grows_with_flaps_and_is_capped() {
        assert_eq!(hold(0), Duration::ZERO);
        assert_eq!(hold(FREE_FLAPS), Duration::ZERO);
        assert_eq!(hold(FREE_FLAPS + 1), FIRST_HOLD);
        assert_eq!(hold(FREE_FLAPS + 2), FIRST_HOLD * 2);
        assert_eq!(hold(FREE_FLAPS + 3), FIRST_HOLD * 4);
        assert_eq!(hold(FREE_FLAPS + 20), MAX_HOLD);
        assert_eq!(hold(u32::MAX), MAX_HOLD);
    }

    /// A target flapping every check for an hour: without damping 2 changes a check (7,200);
    /// with it a handful per hold period.
    #[test]
    fn a_flapping_target_cannot_flood() {
        let c = check(1, 1);
        let t0 = Instant::now();
        let mut t = Target::new(addr(1), true, t0);
        let mut changes = 0;
        let mut ok = false;
        for second in 0..3600 {
            if t.observe(ok, &c, t0 + Duration::from_secs(second)) {
                changes += 1;
            }
            ok = !ok;
        }
        // Free flaps (2 × 2), then holds 10, 20, …, 320, 600 s: ~10 returns in an hour.
        assert!(
            changes <= 2 * (FREE_FLAPS + 12),
            "{changes} changes in an hour"
        );
        assert!(
            changes >= 2 * FREE_FLAPS,
            "{changes}: free flaps are not damped"
        );
    }

    #[test]
    fn a_held_target_returns_when_its_hold_ends_and_is_forgiven_later() {
        let c = check(1, 1);
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut t = Target::new(addr(1), true, t0);
        let mut s = 0;
        for _ in 0..=FREE_FLAPS {
            assert!(t.observe(false, &c, at(s)));
            assert!(t.observe(true, &c, at(s + 1)) || t.flaps() > FREE_FLAPS);
            s += 2;
        }
        // Third removal at s-2; its return is held for FIRST_HOLD.
        assert_eq!(t.flaps(), FREE_FLAPS + 1);
        assert!(!t.admitted() && t.healthy());
        let removed = s - 2;
        assert!(!t.observe(true, &c, at(removed + FIRST_HOLD.as_secs() - 1)));
        assert!(t.observe(true, &c, at(removed + FIRST_HOLD.as_secs())));
        // Stable for FORGIVE_AFTER: the flaps are forgotten, the next removal is free again.
        let later = removed + FIRST_HOLD.as_secs() + FORGIVE_AFTER.as_secs();
        assert!(!t.observe(true, &c, at(later)));
        assert_eq!(t.flaps(), 0);
        assert!(t.observe(false, &c, at(later + 1)));
        assert!(t.observe(true, &c, at(later + 2)));
    }

    #[test]
    fn all_down_policies() {
        let t0 = Instant::now();
        let c = check(1, 1);
        let mut targets = vec![
            Target::new(addr(1), true, t0),
            Target::new(addr(2), true, t0),
        ];
        assert_eq!(
            answer(&targets, AllDown::AnswerNone),
            vec![addr(1), addr(2)]
        );
        targets[0].observe(false, &c, t0);
        assert_eq!(answer(&targets, AllDown::AnswerAll), vec![addr(2)]);
        targets[1].observe(false, &c, t0);
        assert_eq!(answer(&targets, AllDown::AnswerAll), vec![addr(1), addr(2)]);
        assert_eq!(answer(&targets, AllDown::AnswerNone), Vec::<IpAddr>::new());
    }
}
