//! Health-checked record sets (`[[zone.failover]]`): each target of a failover name is checked
//! every `interval` (TCP connect, optionally SMB2 NEGOTIATE through `ddns-smb`), `rise`/`fall` hysteresis and
//! flap damping decide which targets are answered (`target.rs`), and every change of the
//! answered set is committed through `Zones::update_failover` (actor `health`): a serial step,
//! a journal entry (IXFR, NOTIFY) and history rows, like any other change.
//!
//! **Architecture invariant:** the checker never touches the store or the snapshot itself; it
//! reads the served addresses and writes through `ddns-zones` only.

mod monitor;
pub mod probe;
pub mod target;

pub use monitor::run;
