//! Network namespaces and the processes run in them, for the tests with real Samba
//! (`failover_samba.rs`, `smb_check.rs`): namespaces deleted when dropped, `smbd` in a process
//! group of its own, and a guard that cleans up a lab kept in a `static` (never dropped) when
//! the test binary ends, however it ends.
//!
//! Needs root; nothing leaves the namespaces.

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `program args…`, which must succeed; returns its stdout.
pub(crate) fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Fails the test unless it runs as root.
pub(crate) fn assert_root(what: &str) {
    assert!(
        run("id", &["-u"]).trim() == "0",
        "{what} creates network namespaces and needs root"
    );
}

/// A network namespace, deleted (with its veth ends and its resolv.conf) when dropped.
pub(crate) struct Netns(pub(crate) String);

impl Netns {
    pub(crate) fn new(name: String) -> Self {
        run("ip", &["netns", "add", &name]);
        let ns = Self(name);
        ns.exec_ok("ip", &["link", "set", "lo", "up"]);
        ns
    }

    pub(crate) fn exec(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.0, program]).args(args);
        cmd
    }

    pub(crate) fn exec_ok(&self, program: &str, args: &[&str]) -> String {
        let mut all = vec!["netns", "exec", &self.0, program];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// `/etc/netns/NAME/resolv.conf` (which `ip netns exec` bind-mounts over the system's)
    /// naming `server`.
    pub(crate) fn set_resolver(&self, server: &str) {
        let etc = Path::new("/etc/netns").join(&self.0);
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join("resolv.conf"), format!("nameserver {server}\n")).unwrap();
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(&self.0));
    }
}

/// A veth pair from `a` (address `a_addr`, CIDR) to `b` (`b_addr`), both ends up.
pub(crate) fn link(a: &Netns, a_addr: &str, b: &Netns, b_addr: &str, names: (&str, &str)) {
    run(
        "ip",
        &[
            "link", "add", names.0, "type", "veth", "peer", "name", names.1,
        ],
    );
    run("ip", &["link", "set", names.0, "netns", &a.0]);
    run("ip", &["link", "set", names.1, "netns", &b.0]);
    a.exec_ok("ip", &["addr", "add", a_addr, "dev", names.0]);
    a.exec_ok("ip", &["link", "set", names.0, "up"]);
    b.exec_ok("ip", &["addr", "add", b_addr, "dev", names.1]);
    b.exec_ok("ip", &["link", "set", names.1, "up"]);
}

/// A process in a namespace, in a process group of its own so stopping it stops its
/// children too; killed when dropped.
pub(crate) struct NsChild {
    child: Option<Child>,
}

impl NsChild {
    pub(crate) fn spawn(ns: &Netns, program: &str, args: &[&str]) -> Self {
        use std::os::unix::process::CommandExt as _;
        let child = ns
            .exec(program, args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        Self { child: Some(child) }
    }

    /// SIGTERM to the whole group, then waits.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            let _ = child.wait();
        }
    }
}

impl Drop for NsChild {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

/// Waits until something in `ns` listens on TCP `addr:port`.
pub(crate) fn wait_listening(ns: &Netns, addr: &str, port: u16, what: &str) {
    let started = Instant::now();
    let want = format!("{addr}:{port}");
    while !ns
        .exec_ok("ss", &["-Hltn", &format!("sport = :{port}")])
        .contains(&want)
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what} did not start listening on {want}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One `smbd` in its namespace, listening on `addr` port 445.
pub(crate) struct Smbd(NsChild);

impl Smbd {
    pub(crate) fn start(ns: &Netns, conf: &Path, addr: &str) -> Self {
        let child = NsChild::spawn(
            ns,
            "smbd",
            &[
                "--foreground",
                "--no-process-group",
                "-s",
                conf.to_str().unwrap(),
            ],
        );
        wait_listening(ns, addr, 445, "smbd (Debian package samba)");
        Self(child)
    }

    pub(crate) fn stop(&mut self) {
        self.0.stop();
    }
}

/// Keeps a lab that lives in a `static` from outliving the test binary: when this process
/// ends, however it ends, the pipe to a shell closes, and the shell kills what runs in the
/// namespaces, deletes them and removes `dir`.
pub(crate) struct ExitGuard {
    _child: Child,
    _stdin: ChildStdin,
}

impl ExitGuard {
    pub(crate) fn new(namespaces: &[&Netns], dir: &Path) -> Self {
        let names: Vec<&str> = namespaces.iter().map(|n| n.0.as_str()).collect();
        let script = r#"dir=$1; shift
cat >/dev/null
for ns in "$@"; do
    for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
    rm -rf "/etc/netns/$ns"
done
rm -rf "$dir"
exit 0"#;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(dir)
            .args(&names)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start sh");
        let stdin = child.stdin.take().unwrap();
        Self {
            _child: child,
            _stdin: stdin,
        }
    }
}

/// A script at `dir/ddns-in-netns` that runs the ddns binary inside `ns`, so the test kit can
/// start a server there as it starts the binary itself.
pub(crate) fn ddns_wrapper(dir: &Path, ns: &Netns) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let wrapper = dir.join("ddns-in-netns");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec ip netns exec {} {} \"$@\"\n",
            ns.0,
            crate::common::bin().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    wrapper
}
