//! Test helpers shared by the integration tests: a real `ddns server` process on loopback
//! ephemeral ports with a temporary data directory, a small blocking DNS client, scripted HTTP
//! services, fakes of cloud DNS APIs that check signatures as the vendors do (`fake_cloud` and
//! one module per vendor; a stateful Cloudflare API fake, [`cloudflare`]), and peers tied to
//! the test process ([`tied`]): BIND and Knot as RFC 2136 primaries ([`primaries`]), moto as
//! Route 53 ([`moto`]), PostgreSQL as the store's shared database ([`postgres`]).
//!
//! Helpers panic with a clear message instead of returning errors: they run only in tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod cloudflare;
pub mod dns;
pub mod fake_alidns;
pub mod fake_cloud;
pub mod fake_desec;
pub mod fake_digitalocean;
pub mod fake_dnspod;
pub mod fake_dynv6;
pub mod fake_gandi;
pub mod fake_godaddy;
pub mod fake_http;
pub mod fake_huaweicloud;
pub mod fake_namesilo;
pub mod fake_porkbun;
pub mod fake_update_url;
pub mod fake_vercel;
pub mod handler_http;
pub mod moto;
pub mod postgres;
pub mod primaries;
mod server;
pub mod tied;

pub use server::ServerProcess;

/// Runs `program` with `args`, panicking with its stderr when it fails; returns stdout.
pub fn run_ok(program: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        output.status.success(),
        "{} {:?} failed ({}):\n{}",
        program.display(),
        args,
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// True when `program` is on PATH.
pub fn have(program: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}
