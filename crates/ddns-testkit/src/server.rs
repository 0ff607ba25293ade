//! A `ddns server` child process for tests.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running server; killed when dropped.
pub struct ServerProcess {
    child: Option<Child>,
    bin: PathBuf,
    /// DNS address (UDP and TCP).
    pub dns: SocketAddr,
    /// HTTP address (the first `HTTP` or `HTTPS` line of the banner).
    pub http: SocketAddr,
    /// Whether `http` speaks HTTPS.
    pub https: bool,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Everything the server printed on stdout before it was ready.
    pub banner: String,
    _temp: Option<tempfile::TempDir>,
}

impl ServerProcess {
    /// Starts `bin server` on 127.0.0.1 ephemeral ports with a fresh data directory.
    pub fn start(bin: &Path, extra: &[&str]) -> Self {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_path_buf();
        let mut server = Self::start_in(bin, &dir, extra);
        server._temp = Some(temp);
        server
    }

    /// Starts `bin server` on 127.0.0.1 ephemeral ports with `data_dir` (kept after exit).
    pub fn start_in(bin: &Path, data_dir: &Path, extra: &[&str]) -> Self {
        Self::start_logging(bin, data_dir, extra, None)
    }

    /// The same, with the server's log (stderr) written to a file at a filter level (e.g.
    /// `(path, "debug")`) instead of the test's output at `RUST_LOG` (default `warn`).
    pub fn start_logging(
        bin: &Path,
        data_dir: &Path,
        extra: &[&str],
        log: Option<(&Path, &str)>,
    ) -> Self {
        Self::start_with_env(bin, data_dir, extra, log, &[])
    }

    /// The same, with extra environment variables for the child (e.g. `NOTIFY_SOCKET`).
    pub fn start_with_env(
        bin: &Path,
        data_dir: &Path,
        extra: &[&str],
        log: Option<(&Path, &str)>,
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Self {
        let (stderr, level) = match log {
            Some((path, level)) => (
                Stdio::from(std::fs::File::create(path).unwrap()),
                level.to_owned(),
            ),
            None => (
                Stdio::inherit(),
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            ),
        };
        let mut args = vec![
            "server".to_owned(),
            "--data-dir".to_owned(),
            data_dir.display().to_string(),
        ];
        if !extra.contains(&"--dns-listen") {
            args.extend(["--dns-listen".to_owned(), "127.0.0.1:0".to_owned()]);
        }
        if !extra.contains(&"--http-listen") {
            args.extend(["--http-listen".to_owned(), "127.0.0.1:0".to_owned()]);
        }
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let mut child = Command::new(bin)
            .args(&args)
            .env("RUST_LOG", level)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = String::new();
        let (mut dns, mut http) = (None, None);
        let mut https = false;
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| {
                    panic!("server did not report ready; printed so far:\n{banner}")
                });
            banner.push_str(&line);
            banner.push('\n');
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["DNS", addr, ..] if dns.is_none() => dns = addr.parse().ok(),
                ["HTTP", url, ..] if http.is_none() => {
                    http = url.trim_start_matches("http://").parse().ok()
                }
                ["HTTPS", url, ..] if http.is_none() => {
                    http = url.trim_start_matches("https://").parse().ok();
                    https = true;
                }
                ["ready"] => break,
                _ => {}
            }
        }
        Self {
            child: Some(child),
            bin: bin.to_path_buf(),
            dns: dns.expect("no DNS line in the banner"),
            http: http.expect("no HTTP line in the banner"),
            https,
            data_dir: data_dir.to_path_buf(),
            banner,
            _temp: None,
        }
    }

    /// `http://ADDR{path}` (`https://` when the server speaks HTTPS).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.http)
    }

    /// Creates a token for `hosts` with `ddns token create`.
    pub fn token(&self, hosts: &[&str]) -> String {
        let dir = self.data_dir.display().to_string();
        let mut args = vec!["token", "create", "--data-dir", &dir];
        for h in hosts {
            args.extend(["--host", h]);
        }
        crate::run_ok(&self.bin, &args).trim().to_owned()
    }

    /// Creates an admin token.
    pub fn admin_token(&self) -> String {
        let dir = self.data_dir.display().to_string();
        crate::run_ok(
            &self.bin,
            &["token", "create", "--data-dir", &dir, "--admin"],
        )
        .trim()
        .to_owned()
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Stops with SIGTERM and waits; returns whether it exited successfully.
    pub fn stop(mut self) -> bool {
        let mut child = self.child.take().unwrap();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        // A clean stop takes about 150 ms; the budget is wide because a test binary running
        // ninety servers, Samba and a crash loop on two cores can starve one for seconds.
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(status)) = child.try_wait() {
                if started.elapsed() > Duration::from_secs(2) {
                    eprintln!("testkit: the server took {:?} to stop", started.elapsed());
                }
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        eprintln!("testkit: the server did not stop within 20 s of SIGTERM; killed");
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Kills with SIGKILL (a crash) and waits.
    pub fn kill(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
