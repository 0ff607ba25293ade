//! Running ddns as a system service: `ddns service install|uninstall|start|stop|status`.
//!
//! - [`plan`]: names, paths, command lines, account, start type, recovery, the data
//!   directory's ACL, the scheduled-task line: every decision, as pure functions of the OS;
//! - [`systemd`] and [`launchd`]: the unit file and the property list;
//! - [`steps`]: each action as a list of steps (printed by `--dry-run`), and their executor;
//! - [`notify`]: readiness, stopping and watchdog pings to systemd or the SCM;
//! - `windows` (Windows only): the SCM dispatcher and control handler, service registration,
//!   the ACL, the Event Log; it carries out what the modules above decided.

pub mod launchd;
pub mod notify;
pub mod plan;
pub mod steps;
pub mod systemd;
// The only unsafe code of the workspace: windows-service's dispatcher glue, and the Event
// Log and ACL calls, which have no safe wrapper in our dependencies.
#[cfg(windows)]
#[allow(unsafe_code)]
mod windows;

pub use plan::{Layout, Role, ServiceSpec};
pub use steps::{Action, ServiceError, ServiceState, Step};

/// Runs `body` as the service `role`: under the Windows SCM, through the service dispatcher
/// (Stop and Shutdown become [`crate::request_stop`], a failure is written to the Event Log);
/// elsewhere `body` simply runs. `body`'s error is the text the Event Log gets.
pub fn run_service(
    role: Role,
    body: Box<dyn FnOnce() -> Result<(), String> + Send>,
) -> Result<(), ServiceError> {
    #[cfg(windows)]
    {
        windows::run(role, body)
    }
    #[cfg(not(windows))]
    {
        let _ = role;
        body().map_err(ServiceError::Manager)
    }
}
