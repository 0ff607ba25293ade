//! The command line: raw arguments as clap parses them. Validation happens when they are
//! turned into configuration (`ddns-config`), so every error names the flag at fault.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// ddns: self-hosted dynamic DNS.
#[derive(Parser, Debug)]
#[command(name = "ddns", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event.
    Json,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    #[cfg(feature = "server")]
    /// Run the authoritative DNS server and the update API in the foreground.
    Server(ServerArgs),
    #[cfg(feature = "server")]
    /// Manage API tokens in a server's data directory.
    #[command(subcommand)]
    Token(TokenCommand),
    #[cfg(feature = "server")]
    /// Manage hosts in a server's data directory.
    #[command(subcommand)]
    Host(HostCommand),
    #[cfg(feature = "server")]
    /// Zone data in and out.
    #[command(subcommand)]
    Zone(ZoneCommand),
    #[cfg(feature = "server")]
    /// The web console's admin sign-in.
    #[command(subcommand)]
    Admin(AdminCommand),
    #[cfg(feature = "server")]
    /// A name's changes, newest first, with the ids `host rollback --to` takes.
    History {
        #[command(flatten)]
        data: DataDir,
        /// The name.
        name: String,
        /// Rows at most (default: all that are kept).
        #[arg(long)]
        limit: Option<u32>,
    },
    #[cfg(feature = "server")]
    /// Record changes and administrative actions, oldest first, merged by time.
    Audit {
        #[command(flatten)]
        data: DataDir,
        /// Only entries since then: an RFC 3339 time or a duration back from now (`90m`, `7d`).
        #[arg(long)]
        since: Option<String>,
        /// Only entries of this actor (`cli`, `token:ID`, `config`, `rfc2136:…`).
        #[arg(long)]
        actor: Option<String>,
    },
    #[cfg(feature = "server")]
    /// Write a consistent copy of the store to FILE, also while the server runs and writes.
    Backup {
        #[command(flatten)]
        data: DataDir,
        /// The copy to write (must not exist).
        file: PathBuf,
    },
    #[cfg(feature = "server")]
    /// Replace the store with a backup after checking it; the replaced store is kept beside it.
    Restore {
        #[command(flatten)]
        data: DataDir,
        /// A file written by `ddns backup`.
        file: PathBuf,
        /// Restore even though a server holds the data directory (it must be restarted at once:
        /// it keeps writing to the replaced store until then).
        #[arg(long)]
        force: bool,
    },
    /// Keep records pointing at this network's public addresses.
    Agent(AgentArgs),
    /// Show what every address detection source answers, and the verdict.
    Ip(IpArgs),
    /// Run the agent or the server as a system service (install, uninstall, start, stop,
    /// status): a Windows service, a systemd unit or a launchd daemon.
    #[command(subcommand)]
    Service(crate::service::ServiceCommand),
    /// Seal secrets for config files (`enc:` values only this machine's service opens).
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Diagnose reaching a Windows/Samba file share from here.
    #[command(subcommand)]
    Smb(SmbCommand),
}

#[derive(Subcommand, Debug)]
pub(crate) enum SecretCommand {
    /// Read a secret on stdin and print the `enc:` value to put in its place in a config file
    /// (Windows: DPAPI, machine scope; elsewhere AES-256-GCM under the key file, created 0600).
    Protect {
        /// Seal under this key file instead (default: $DDNS_SECRET_KEY_FILE, else secret.key
        /// in the data directory; on Windows DPAPI unless this is given).
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
    /// Read an `enc:` value on stdin and print the secret it seals, where it opens.
    Reveal {
        /// The key file of `enc:key:` values (default as for `protect`).
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct AgentArgs {
    /// Agent configuration file (TOML, `version = 1`).
    #[arg(long, env = "DDNS_AGENT_CONFIG", required = true)]
    pub(crate) config: Option<PathBuf>,
    /// Run one round for every record and exit; non-zero when any record failed.
    #[arg(long)]
    pub(crate) once: bool,
    #[command(subcommand)]
    pub(crate) command: Option<AgentCommand>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum AgentCommand {
    /// Validate a configuration file (providers, sources, templates) without running.
    CheckConfig {
        /// The file.
        file: PathBuf,
    },
}

#[derive(Args, Debug)]
pub(crate) struct IpArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Use the detection settings of this agent configuration (default: built-in sources).
    #[arg(long, env = "DDNS_AGENT_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Only this family.
    #[arg(long, value_parser = ["ipv4", "ipv6"])]
    pub(crate) family: Option<String>,
}

#[cfg(feature = "server")]
#[derive(Args, Debug)]
pub(crate) struct ServerArgs {
    /// Configuration file (TOML, `version = 1`); without it the embedded defaults are used.
    #[arg(long, env = "DDNS_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Data directory (SQLite database).
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// The store's database, replacing `[store] url`: `sqlite:///path/ddns.sqlite3` or
    /// `postgres://user@host/db` (several nodes can share one).
    #[arg(long, env = "DDNS_STORE_URL")]
    pub(crate) store_url: Option<String>,
    /// Zone to serve (repeatable); replaces the configured list.
    #[arg(long = "zone")]
    pub(crate) zones: Vec<String>,
    /// DNS address, UDP and TCP (repeatable).
    #[arg(long = "dns-listen")]
    pub(crate) dns_listen: Vec<String>,
    /// HTTP address (repeatable); HTTPS when a certificate is configured.
    #[arg(long = "http-listen")]
    pub(crate) http_listen: Vec<String>,
    /// Serve HTTPS with this certificate chain (PEM, leaf first), re-read when it changes.
    #[arg(long = "tls-cert", value_name = "FILE", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The private key of `--tls-cert` (PEM).
    #[arg(long = "tls-key", value_name = "FILE", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
}

#[cfg(feature = "server")]
#[derive(Args, Debug)]
pub(crate) struct DataDir {
    /// The server's data directory.
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// The store's database when it is not the data directory's SQLite file
    /// (`sqlite:///path/ddns.sqlite3`, `postgres://user@host/db`; the password from
    /// `PGPASSWORD` or `~/.pgpass`).
    #[arg(long, env = "DDNS_STORE_URL")]
    pub(crate) store_url: Option<String>,
}

#[cfg(feature = "server")]
#[derive(Subcommand, Debug)]
pub(crate) enum TokenCommand {
    /// Create a token and print it, alone, on stdout.
    Create {
        #[command(flatten)]
        data: DataDir,
        /// Name the token may update: `home.example.com` or `*.lab.example.com` (repeatable).
        #[arg(long = "host", required_unless_present = "admin")]
        hosts: Vec<String>,
        /// An admin token: manages hosts and tokens through the API.
        #[arg(long, conflicts_with = "hosts")]
        admin: bool,
        /// A label to recognise the token by.
        #[arg(long, default_value = "")]
        label: String,
        /// The server's configuration: its zones are registered in the data directory first
        /// (and its `data_dir` is used when `--data-dir` is not given), so a token can be made
        /// before the server has ever run.
        #[arg(long, env = "DDNS_CONFIG")]
        config: Option<PathBuf>,
        /// A zone to register first, like `ddns server --zone` (repeatable).
        #[arg(long = "zone")]
        zones: Vec<String>,
        /// A record type the token may write, e.g. `A` (repeatable; default: every type).
        #[arg(long = "type")]
        types: Vec<String>,
        /// A client network the token may be used from, e.g. `192.0.2.0/24` (repeatable;
        /// default: anywhere). Matched against the client address after trusted proxies.
        #[arg(long = "subnet")]
        subnets: Vec<String>,
        /// When the token stops working: a duration from now (`90d`) or an RFC 3339 time.
        #[arg(long)]
        expires: Option<String>,
        /// The token may read hosts and history but not change anything.
        #[arg(long)]
        read_only: bool,
    },
    /// Issue a successor with the same scope and print it; the old token keeps working for
    /// the grace period, so clients can be moved over one by one.
    Rotate {
        #[command(flatten)]
        data: DataDir,
        /// Token id (from `ddns token list`).
        id: String,
        /// How long the old token keeps working (`7d`; `0s`: it stops now).
        #[arg(long, default_value = "0s")]
        grace: String,
        /// A new expiry for the successor (default: the old token's).
        #[arg(long)]
        expires: Option<String>,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        data: DataDir,
    },
    /// Revoke a token by id; it stops working at once.
    Revoke {
        #[command(flatten)]
        data: DataDir,
        /// Token id (from `ddns token list`).
        id: String,
    },
}

#[cfg(feature = "server")]
#[derive(Subcommand, Debug)]
pub(crate) enum AdminCommand {
    /// Set the console's admin password (read from stdin, one line; stored as argon2id).
    Password {
        #[command(flatten)]
        data: DataDir,
    },
}

#[cfg(feature = "server")]
#[derive(Subcommand, Debug)]
pub(crate) enum HostCommand {
    /// List hosts and their records.
    List {
        #[command(flatten)]
        data: DataDir,
    },
    /// Delete a host and its records.
    Rm {
        #[command(flatten)]
        data: DataDir,
        /// Host name.
        name: String,
    },
    /// Restore the records a host had right after one of its history rows, as a new change.
    Rollback {
        #[command(flatten)]
        data: DataDir,
        /// Host name.
        name: String,
        /// The history row (an id from `ddns history NAME`).
        #[arg(long)]
        to: i64,
    },
}

#[cfg(feature = "server")]
#[derive(Subcommand, Debug)]
pub(crate) enum ZoneCommand {
    /// Print a zone in RFC 1035 master-file format.
    Export {
        #[command(flatten)]
        data: DataDir,
        /// The server's configuration (for static records and SOA settings).
        #[arg(long, env = "DDNS_CONFIG")]
        config: Option<PathBuf>,
        /// Zone to export (default: every zone).
        #[arg(long)]
        zone: Option<String>,
    },
    /// Load A, AAAA, TXT and CNAME records from a master file as dynamic hosts.
    Import {
        #[command(flatten)]
        data: DataDir,
        /// The zone the file is for (registered in the data directory if new).
        #[arg(long)]
        zone: String,
        /// RFC 1035 master file.
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum SmbCommand {
    /// Resolve, connect and talk SMB2 to TARGET step by step, and say which step fails and
    /// what to do (exit codes in README).
    Check(SmbCheckArgs),
}

#[derive(Args, Debug)]
pub(crate) struct SmbCheckArgs {
    /// `\\host\share`, `//host/share` or `host`.
    pub(crate) target: String,
    /// Ask this DNS server (ADDR:PORT) instead of the system resolver.
    #[arg(long, value_name = "ADDR:PORT")]
    pub(crate) dns: Option<String>,
    /// The TCP port of the file server.
    #[arg(long, default_value_t = 445)]
    pub(crate) port: u16,
    /// The address the name should resolve to (repeatable).
    #[arg(long, value_name = "IP")]
    pub(crate) expect: Vec<std::net::IpAddr>,
    /// Expect the address this agent configuration would publish (runs its detection).
    #[arg(long, value_name = "FILE")]
    pub(crate) agent_config: Option<PathBuf>,
    /// Log on as this user (`user`, `DOMAIN\\user` or `user@domain`) and connect to the share.
    #[arg(long, requires = "password_file")]
    pub(crate) user: Option<String>,
    /// The password, the file's first line.
    #[arg(long, value_name = "FILE", requires = "user")]
    pub(crate) password_file: Option<PathBuf>,
    /// How long each step may take (`1s`, `500ms`).
    #[arg(long, default_value = "5s")]
    pub(crate) timeout: String,
    /// Print one JSON object: every step, its result, the diagnosis.
    #[arg(long)]
    pub(crate) json: bool,
}
