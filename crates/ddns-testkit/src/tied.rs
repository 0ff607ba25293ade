//! Peer processes tied to the test process: they end when the test binary ends, however it
//! ends, so a peer shared by every test of a binary (kept in a `static`, never dropped) does not
//! outlive it.
//!
//! The peer runs under `sh`, which waits on its standard input, a pipe only this process
//! holds; when the pipe closes (drop, exit, crash), `sh` kills the peer, waits for it and
//! removes the peer's directory.

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

/// A running peer; dropping it stops the peer.
pub struct Tied {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Tied {
    /// Starts `program args…` with its standard output and error appended to `log`;
    /// `cleanup` (a directory) is removed once the peer has stopped.
    pub fn spawn(program: &Path, args: &[&str], log: &Path, cleanup: Option<&Path>) -> Self {
        let script = r#"log=$1; dir=$2; shift 2
"$@" >>"$log" 2>&1 </dev/null &
pid=$!
cat >/dev/null
kill "$pid" 2>/dev/null
wait "$pid"
[ -n "$dir" ] && rm -rf "$dir"
exit 0"#;
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(log)
            .arg(cleanup.map(Path::as_os_str).unwrap_or_default())
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let stdin = child.stdin.take();
        Self { child, stdin }
    }

    /// Whether the peer's shell is still running (the peer may have exited already).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Tied {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// The path of an installed program, looked up in the usual system directories and `PATH`.
pub fn program(name: &str, hint: &str) -> PathBuf {
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    for dir in ["/usr/sbin", "/usr/bin", "/sbin"]
        .iter()
        .map(PathBuf::from)
        .chain(path_dirs)
    {
        let path = dir.join(name);
        if path.is_file() {
            return path;
        }
    }
    panic!("{name} is not installed: {hint}");
}

/// A port free for both UDP and TCP on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
