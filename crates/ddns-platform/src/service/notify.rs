//! Telling the service manager how the process is doing: [`ready`] once the server's listeners
//! are bound or the agent's first round starts, [`stopping`] when it begins to stop, and
//! [`watchdog`] pings while it runs.
//!
//! Under systemd (`Type=notify`) these are `sd_notify(3)` datagrams — `READY=1`, `STOPPING=1`,
//! `WATCHDOG=1` — to the unix socket in `$NOTIFY_SOCKET` (a path, or `@name` in the abstract
//! namespace), at half of `$WATCHDOG_USEC` when `$WATCHDOG_PID` is unset or ours. Under the
//! Windows SCM, `ready` reports SERVICE_RUNNING. Without either, they do nothing.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::Duration;

/// Where `$NOTIFY_SOCKET` points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyTarget {
    /// A socket file.
    Path(PathBuf),
    /// A name in Linux's abstract namespace (`@name`; the leading NUL is implied).
    Abstract(Vec<u8>),
}

/// `$NOTIFY_SOCKET`'s value as a target; `None` for an empty or relative value (systemd only
/// ever sets absolute paths and `@` names).
pub fn notify_target(value: &OsStr) -> Option<NotifyTarget> {
    let bytes = value.as_encoded_bytes();
    match bytes.first() {
        Some(b'@') if bytes.len() > 1 => Some(NotifyTarget::Abstract(bytes[1..].to_vec())),
        Some(b'/') => Some(NotifyTarget::Path(PathBuf::from(value))),
        _ => None,
    }
}

/// How often to ping: half of `$WATCHDOG_USEC`, when it is set, positive, and meant for us
/// (`$WATCHDOG_PID` unset or equal to `pid`).
pub fn watchdog_interval(
    usec: Option<&str>,
    watchdog_pid: Option<&str>,
    pid: u32,
) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    if let Some(p) = watchdog_pid
        && p.trim().parse::<u32>().ok() != Some(pid)
    {
        return None;
    }
    Some(Duration::from_micros(usec / 2))
}

/// Sends one `sd_notify` message to `target`.
#[cfg(unix)]
pub fn send(target: &NotifyTarget, message: &str) -> std::io::Result<()> {
    use std::os::unix::net::UnixDatagram;
    let socket = UnixDatagram::unbound()?;
    match target {
        NotifyTarget::Path(p) => socket.send_to(message.as_bytes(), p).map(drop),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        NotifyTarget::Abstract(name) => {
            #[cfg(target_os = "android")]
            use std::os::android::net::SocketAddrExt as _;
            #[cfg(target_os = "linux")]
            use std::os::linux::net::SocketAddrExt as _;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(message.as_bytes(), &addr).map(drop)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        NotifyTarget::Abstract(_) => Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "abstract unix sockets are Linux's",
        )),
    }
}

#[cfg(unix)]
fn sd_notify(message: &str) {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET").and_then(|v| notify_target(&v)) else {
        return;
    };
    if let Err(e) = send(&target, message) {
        // Not fatal: systemd will say the start timed out, which names the cause better.
        eprintln!("warning: cannot notify the service manager ({message}): {e}");
    }
}

#[cfg(not(unix))]
fn sd_notify(_message: &str) {}

/// The process is up: the server's listeners are bound, the agent's first round begins.
pub fn ready() {
    sd_notify("READY=1");
    #[cfg(windows)]
    super::windows::report_running();
}

/// The process has begun to stop.
pub fn stopping() {
    sd_notify("STOPPING=1");
}

/// Pings the systemd watchdog at the interval it asked for, for as long as the runtime runs
/// it; returns at once when no watchdog is configured. Spawn it beside the role's work: a
/// runtime too stuck to run it gets the process restarted.
pub async fn watchdog() {
    let interval = watchdog_interval(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    );
    let Some(interval) = interval else {
        return;
    };
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        sd_notify("WATCHDOG=1");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_socket_values() {
        assert_eq!(
            notify_target(OsStr::new("/run/systemd/notify")),
            Some(NotifyTarget::Path("/run/systemd/notify".into()))
        );
        assert_eq!(
            notify_target(OsStr::new("@/org/freedesktop/systemd1/notify/123")),
            Some(NotifyTarget::Abstract(
                b"/org/freedesktop/systemd1/notify/123".to_vec()
            ))
        );
        assert_eq!(notify_target(OsStr::new("")), None);
        assert_eq!(notify_target(OsStr::new("@")), None);
        assert_eq!(notify_target(OsStr::new("relative")), None);
    }

    #[test]
    fn watchdog_at_half_the_timeout_and_only_for_us() {
        assert_eq!(
            watchdog_interval(Some("30000000"), None, 7),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            watchdog_interval(Some("30000000"), Some("7"), 7),
            Some(Duration::from_secs(15))
        );
        assert_eq!(watchdog_interval(Some("30000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval(Some("x"), None, 7), None);
        assert_eq!(watchdog_interval(None, None, 7), None);
    }

    #[cfg(unix)]
    #[test]
    fn datagrams_reach_a_path_socket() {
        use std::os::unix::net::UnixDatagram;
        let dir = std::env::temp_dir().join(format!("ddns-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).unwrap();
        send(&NotifyTarget::Path(path.clone()), "READY=1").unwrap();
        let mut buf = [0u8; 64];
        let n = socket.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn datagrams_reach_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt as _;
        use std::os::unix::net::{SocketAddr, UnixDatagram};
        let name = format!("ddns-notify-test-{}", std::process::id());
        let socket =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        let target = notify_target(OsStr::new(&format!("@{name}"))).unwrap();
        send(&target, "WATCHDOG=1").unwrap();
        let mut buf = [0u8; 64];
        let n = socket.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1");
    }
}
