//! PostgreSQL (Debian's `postgresql` package) on loopback, as the store's shared database in
//! tests: one cluster per test binary ([`Postgres::shared`]), initialised into a temporary
//! directory and tied to the test process, with a fresh database for each test
//! ([`Postgres::database`]) so tests never see each other's rows. A test that restarts the
//! database starts a cluster of its own ([`Postgres::start`], [`Postgres::restart`]).
//!
//! The cluster's superuser `ddns` logs in over TCP with a password (SCRAM-SHA-256), as a
//! production server would; the tests' connection URLs carry it. PostgreSQL refuses to run as
//! root, so under root (CI) `initdb` and `postgres` run as the `postgres` user the package
//! creates.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::tied::{Tied, free_port};

/// The superuser's name and password.
pub const USER: &str = "ddns";
/// See [`USER`].
pub const PASSWORD: &str = "pg-test-secret";

/// A running cluster.
pub struct Postgres {
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    bin: PathBuf,
    dir: PathBuf,
    as_root: bool,
    databases: AtomicU32,
    process: Option<Tied>,
    /// The shared cluster's directory goes with its shell; an own cluster's with the value.
    shared: bool,
    /// Serves TLS with the certificate and key in its directory.
    tls: bool,
}

impl Postgres {
    /// The cluster of this test binary, started on first use.
    pub fn shared() -> &'static Self {
        static SHARED: OnceLock<Postgres> = OnceLock::new();
        SHARED.get_or_init(|| Self::launch(true, None))
    }

    /// A cluster of the caller's own, removed when dropped.
    pub fn start() -> Self {
        Self::launch(false, None)
    }

    /// A cluster of the caller's own that offers TLS (`ssl = on`) with this certificate chain
    /// and key (PEM); clients may still connect without it.
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> Self {
        Self::launch(false, Some((cert_pem, key_pem)))
    }

    /// Stops the server (fast shutdown: every client connection is cut) and starts it again
    /// on the same port with the same data.
    pub fn restart(&mut self) {
        let output = self.stop("fast").output().expect("run pg_ctl");
        assert!(
            output.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        drop(self.process.take());
        self.process = Some(self.spawn());
        self.wait_ready();
    }

    /// Creates a new, empty database and returns its URL (password included).
    pub fn database(&self) -> String {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            self.databases.fetch_add(1, Ordering::Relaxed)
        );
        let output = Command::new(self.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                USER,
                &name,
            ])
            .env("PGPASSWORD", PASSWORD)
            .output()
            .expect("run createdb");
        assert!(
            output.status.success(),
            "createdb {name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        self.url(&name, Some(PASSWORD))
    }

    /// The URL of database `name`, with or without the password.
    pub fn url(&self, name: &str, password: Option<&str>) -> String {
        match password {
            Some(p) => format!("postgres://{USER}:{p}@127.0.0.1:{}/{name}", self.port),
            None => format!("postgres://{USER}@127.0.0.1:{}/{name}", self.port),
        }
    }

    /// Runs `sql` in database `name` with `psql` (for tests that arrange what the store's API
    /// cannot, such as a lock held by another client); returns its output.
    pub fn psql(&self, name: &str, sql: &str) -> String {
        let mut psql = self.client("psql");
        psql.args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            name,
            "-c",
            sql,
        ]);
        run_client(psql, &format!("psql {sql:?}"))
    }

    /// The rows of database `name` as `pg_dump --data-only` writes them.
    pub fn dump(&self, name: &str) -> String {
        let mut dump = self.client("pg_dump");
        dump.args(["--data-only", name]);
        run_client(dump, &format!("pg_dump {name}"))
    }

    /// A client program of the cluster's, logged in as [`USER`] over TCP.
    fn client(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .env("PGPASSWORD", PASSWORD);
        command
    }

    /// The directory of PostgreSQL's programs.
    pub fn bin() -> PathBuf {
        bin_dir()
    }

    fn launch(shared: bool, tls: Option<(&str, &str)>) -> Self {
        let bin = bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("ddns-pg-")
            .tempdir()
            .expect("temporary directory")
            .keep();
        let data = dir.join("data");
        std::fs::create_dir(&data).expect("data directory");
        let password_file = dir.join("password");
        std::fs::write(&password_file, PASSWORD).expect("password file");
        if let Some((cert, key)) = tls {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::write(dir.join("server.crt"), cert).expect("certificate file");
            let key_file = dir.join("server.key");
            std::fs::write(&key_file, key).expect("key file");
            // PostgreSQL refuses a key that group or others may read.
            std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))
                .expect("key file mode");
        }
        let as_root = std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        if as_root {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("run chown");
            assert!(owned.success(), "chown {} to postgres", dir.display());
        }
        let initdb = [
            bin.join("initdb").display().to_string(),
            "-D".into(),
            data.display().to_string(),
            "-U".into(),
            USER.into(),
            format!("--pwfile={}", password_file.display()),
            "--auth-local=trust".into(),
            "--auth-host=scram-sha-256".into(),
            "-E".into(),
            "UTF8".into(),
            "--no-locale".into(),
            "--no-sync".into(),
        ];
        let output = user_command(as_root, &initdb).output().expect("run initdb");
        assert!(
            output.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut cluster = Self {
            port: free_port(),
            bin,
            dir,
            as_root,
            databases: AtomicU32::new(0),
            process: None,
            shared,
            tls: tls.is_some(),
        };
        cluster.process = Some(cluster.spawn());
        cluster.wait_ready();
        cluster
    }

    /// `pg_ctl stop` in shutdown `mode` (`fast`: client connections are cut; `immediate`: no
    /// checkpoint either), waiting until the server is down.
    fn stop(&self, mode: &str) -> Command {
        let argv = [
            self.bin.join("pg_ctl").display().to_string(),
            "stop".into(),
            "-D".into(),
            self.dir.join("data").display().to_string(),
            "-m".into(),
            mode.into(),
            "-w".into(),
        ];
        user_command(self.as_root, &argv)
    }

    fn log(&self) -> PathBuf {
        std::env::temp_dir().join(format!("ddns-pg-{}.log", self.port))
    }

    fn spawn(&self) -> Tied {
        let postgres = [
            self.bin.join("postgres").display().to_string(),
            "-D".into(),
            self.dir.join("data").display().to_string(),
            "-p".into(),
            self.port.to_string(),
            "-c".into(),
            "listen_addresses=127.0.0.1".into(),
            "-c".into(),
            format!("unix_socket_directories={}", self.dir.display()),
            "-c".into(),
            "max_connections=200".into(),
        ];
        let mut postgres = postgres.to_vec();
        if self.tls {
            for setting in [
                "ssl=on".to_owned(),
                format!("ssl_cert_file={}", self.dir.join("server.crt").display()),
                format!("ssl_key_file={}", self.dir.join("server.key").display()),
            ] {
                postgres.extend(["-c".to_owned(), setting]);
            }
        }
        let (program, args) = user_argv(self.as_root, &postgres);
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let cleanup = self.shared.then_some(self.dir.as_path());
        Tied::spawn(Path::new(&program), &arg_refs, &self.log(), cleanup)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not start: {}",
                std::fs::read_to_string(self.log()).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(process) = self.process.take() {
            let _ = self.stop("immediate").output();
            drop(process);
        }
        if !self.shared {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `argv` as a command, run as `postgres` when this process is root.
fn user_command(as_root: bool, argv: &[String]) -> Command {
    let (program, args) = user_argv(as_root, argv);
    let mut command = Command::new(program);
    command.args(args);
    command
}

fn user_argv(as_root: bool, argv: &[String]) -> (String, Vec<String>) {
    if as_root {
        let mut args: Vec<String> = [
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--reset-env",
        ]
        .map(String::from)
        .to_vec();
        args.extend(argv.iter().cloned());
        ("/usr/bin/setpriv".into(), args)
    } else {
        (argv[0].clone(), argv[1..].to_vec())
    }
}

/// Debian keeps PostgreSQL's programs in `/usr/lib/postgresql/VERSION/bin`; the newest
/// installed version wins, then `PATH`.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    crate::tied::program(
        "initdb",
        "install the postgresql package (scripts/test.sh does)",
    )
    .parent()
    .map(Path::to_path_buf)
    .unwrap_or_default()
}

/// Runs a client command to its end; its output, or a failed test saying `what` failed.
fn run_client(mut command: Command, what: &str) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
