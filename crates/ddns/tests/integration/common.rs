//! Helpers for the integration tests.

use std::path::Path;

pub(crate) use ddns_testkit::ServerProcess;
pub(crate) use ddns_testkit::dns;
pub(crate) use hickory_proto::rr::RecordType;

pub(crate) fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ddns"))
}

/// A server with the default zone `ddns.test` plus any extra flags.
pub(crate) fn server(extra: &[&str]) -> ServerProcess {
    ServerProcess::start(bin(), extra)
}

/// A server from a config file (written into a temp dir kept with the returned guard).
pub(crate) fn server_with_config(toml: &str) -> (tempfile::TempDir, ServerProcess) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ddns.toml");
    std::fs::write(&path, toml).unwrap();
    let server = ServerProcess::start(bin(), &["--config", path.to_str().unwrap()]);
    (dir, server)
}

pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A client whose connections come from the loopback address `from` (127.0.0.x): the server
/// sees another client address, as it would another host.
pub(crate) fn http_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(from.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// A DynDNS2 update from the loopback address `from`; returns (status, body).
pub(crate) async fn nic_from(
    server: &ServerProcess,
    from: &str,
    token: &str,
    query: &str,
) -> (u16, String) {
    let response = http_from(from)
        .get(format!("{}?{query}", server.url("/nic/update")))
        .basic_auth("user", Some(token))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// GET `url` with a bearer token and decode the JSON reply.
pub(crate) async fn get_json(url: String, token: &str) -> serde_json::Value {
    http()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// GET a DynDNS2 URL with Basic auth (user `user`, password = token); returns (status, body).
pub(crate) async fn nic(server: &ServerProcess, token: Option<&str>, query: &str) -> (u16, String) {
    nic_at(server, "/nic/update", token, query, None).await
}

pub(crate) async fn nic_at(
    server: &ServerProcess,
    path: &str,
    token: Option<&str>,
    query: &str,
    agent: Option<&str>,
) -> (u16, String) {
    let mut request = http().get(format!("{}?{query}", server.url(path)));
    if let Some(t) = token {
        request = request.basic_auth("user", Some(t));
    }
    request = request.header("user-agent", agent.unwrap_or("ddns-tests/1.0"));
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The A (or AAAA) addresses in DNS for `name`, over UDP.
pub(crate) fn lookup(server: &ServerProcess, name: &str, rtype: RecordType) -> Vec<String> {
    let mut answers = dns::answers(&dns::udp(server.dns, name, rtype), rtype);
    answers.sort();
    answers
}

/// The zone's SOA serial as DNS says.
pub(crate) fn serial(server: &ServerProcess) -> u32 {
    dns::soa_serial(&dns::udp(server.dns, "ddns.test.", RecordType::SOA)).unwrap()
}

/// Runs a tool from the test command's packages (dig, kdig, nsupdate…) and returns its stdout;
/// a tool that is missing fails the test instead of skipping it.
pub(crate) fn run_tool(tool: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool} (scripts/test.sh installs it): {e}"));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs an nsupdate script; returns (exit code, stdout + stderr).
pub(crate) fn nsupdate(key: Option<&str>, script: &str) -> (i32, String) {
    let mut cmd = std::process::Command::new("nsupdate");
    if let Some(key) = key {
        cmd.args(["-y", key]);
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run nsupdate (scripts/test.sh installs it): {e}"));
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}
