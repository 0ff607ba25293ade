use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::*;

/// A throw-away certificate authority and the leaves it signs (for 127.0.0.1 and localhost).
pub(crate) struct TestCa {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    /// The CA certificate (PEM), what clients trust.
    pub(crate) pem: String,
}

/// A leaf certificate and its key, as PEM, and the certificate as DER.
pub(crate) struct Leaf {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
    pub(crate) der: Vec<u8>,
}

impl TestCa {
    pub(crate) fn new() -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "ddns test CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A leaf for `names` (DNS names or IP addresses).
    pub(crate) fn leaf(&self, names: &[&str]) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = rcgen::CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "ddns test server");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }
}

/// Writes a leaf's files into `dir` (replacing them by rename, as certbot and ACME clients do).
pub(crate) fn install(dir: &Path, leaf: &Leaf) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    for (path, text) in [(&key, &leaf.key_pem), (&cert, &leaf.cert_pem)] {
        let temp = path.with_extension("new");
        std::fs::write(&temp, text).unwrap();
        std::fs::rename(&temp, path).unwrap();
    }
    (cert, key)
}

/// An HTTPS client trusting only `ca_pem`, reporting the server's certificate.
pub(crate) fn https_client(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
        .tls_info(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The certificate the server presents on a new connection (a new client each time, so no
/// pooled connection is reused).
async fn served_certificate(ca_pem: &str, url: &str) -> Vec<u8> {
    let response = https_client(ca_pem).get(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("no peer certificate")
        .to_vec()
}

/// A server on HTTPS with a fresh leaf for 127.0.0.1 in `dir`.
fn https_server(dir: &Path, ca: &TestCa) -> (ServerProcess, Leaf) {
    let leaf = ca.leaf(&["127.0.0.1", "localhost"]);
    let (cert, key) = install(dir, &leaf);
    let s = server(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(s.https, "the banner shows an HTTPS listener:\n{}", s.banner);
    (s, leaf)
}

#[tokio::test]
async fn dyndns2_and_rest_over_https_with_http2() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = https_server(dir.path(), &ca);
    let token = s.token(&["tls.ddns.test"]);
    let client = https_client(&ca.pem);
    let nic = client
        .get(s.url("/nic/update?hostname=tls.ddns.test&myip=198.51.100.7"))
        .basic_auth("user", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(
        nic.version(),
        reqwest::Version::HTTP_2,
        "ALPN offers h2 and the client takes it"
    );
    assert_eq!(nic.text().await.unwrap(), "good 198.51.100.7");
    let rest: serde_json::Value = client
        .post(s.url("/update"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"domain": "tls.ddns.test", "ipv6": "2001:db8::7"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["status"], "success", "{rest}");
    assert_eq!(
        lookup(&s, "tls.ddns.test.", RecordType::A),
        ["198.51.100.7"]
    );
    assert_eq!(
        lookup(&s, "tls.ddns.test.", RecordType::AAAA),
        ["2001:db8::7"]
    );
    // HTTP/1.1 over TLS as well.
    let h1 = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap()])
        .http1_only()
        .build()
        .unwrap()
        .get(s.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(h1.version(), reqwest::Version::HTTP_11);
    assert_eq!(h1.text().await.unwrap(), "ok");
    // Plain HTTP on the HTTPS port gets no answer.
    let plain = http()
        .get(format!("http://{}/healthz", s.http))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    if let Ok(response) = plain {
        assert!(
            !response.status().is_success(),
            "plain HTTP must not be served on the HTTPS listener"
        );
    }
}

/// A TLS 1.1 ClientHello (no `supported_versions` extension, so nothing newer is offered).
fn tls11_client_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x02]; // client_version TLS 1.1
    body.extend([0x42; 32]); // random
    body.push(0); // session id
    // Suites the server has (ECDHE-ECDSA/RSA-AES128-GCM-SHA256) and TLS 1.1's RSA-AES128-SHA, so
    // only the version can be what is refused.
    body.extend([0x00, 0x06, 0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x2f]);
    body.extend([0x01, 0x00]); // compression: null
    let mut handshake = vec![0x01, 0x00];
    handshake.extend(u16::try_from(body.len()).unwrap().to_be_bytes());
    handshake.extend(body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend(u16::try_from(handshake.len()).unwrap().to_be_bytes());
    record.extend(handshake);
    record
}

#[tokio::test]
async fn tls_1_1_is_refused() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = https_server(dir.path(), &ca);
    let mut stream = TcpStream::connect(s.http).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(&tls11_client_hello()).unwrap();
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).unwrap();
    // RFC 5246 §7.2: an alert record (21), fatal (2); rustls answers a hello without TLS 1.2 or
    // 1.3 with handshake_failure (40) or protocol_version (70), never with a ServerHello (22).
    assert_eq!(reply[0], 21, "an alert, not a ServerHello: {reply:?}");
    assert_eq!(reply[5], 2, "a fatal alert: {reply:?}");
    assert!([40, 70].contains(&reply[6]), "refused: {reply:?}");
    // The server keeps serving TLS 1.2+.
    let ok = https_client(&ca.pem)
        .get(s.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn replaced_certificate_is_served_on_the_next_connection_and_a_broken_one_is_not() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let first = ca.leaf(&["127.0.0.1"]);
    let (cert, key) = install(dir.path(), &first);
    let data = tempfile::tempdir().unwrap();
    let s = ServerProcess::start_logging(
        bin(),
        data.path(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        Some((&log, "info")),
    );
    let url = s.url("/healthz");
    assert_eq!(served_certificate(&ca.pem, &url).await, first.der);

    let second = ca.leaf(&["127.0.0.1"]);
    install(dir.path(), &second);
    assert_eq!(
        served_certificate(&ca.pem, &url).await,
        second.der,
        "the next connection gets the replaced certificate"
    );

    // A key that is not the certificate's: the pair in service stays.
    let third = ca.leaf(&["127.0.0.1"]);
    std::fs::write(&cert, &third.cert_pem).unwrap();
    assert_eq!(served_certificate(&ca.pem, &url).await, second.der);
    // A certificate file cut short: still the pair in service.
    std::fs::write(&cert, &third.cert_pem[..third.cert_pem.len() / 2]).unwrap();
    std::fs::write(&key, &third.key_pem).unwrap();
    assert_eq!(served_certificate(&ca.pem, &url).await, second.der);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("new TLS certificate not used"),
        "the broken pair is logged:\n{logged}"
    );
    assert!(
        !logged.contains("PRIVATE KEY"),
        "key material is never logged"
    );
    // Completed, the pair is taken.
    std::fs::write(&cert, &third.cert_pem).unwrap();
    assert_eq!(served_certificate(&ca.pem, &url).await, third.der);
}

#[tokio::test]
async fn broken_certificate_at_start_is_a_precise_error() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, "not a certificate\n").unwrap();
    std::fs::write(&key, "not a key\n").unwrap();
    let output = Command::new(bin())
        .args(["server", "--data-dir"])
        .arg(dir.path().join("data"))
        .args([
            "--http-listen",
            "127.0.0.1:0",
            "--dns-listen",
            "127.0.0.1:0",
        ])
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cert.pem") && stderr.contains("no PEM certificate"),
        "{stderr}"
    );
    let output = Command::new(bin())
        .args(["server", "--tls-cert"])
        .arg(&cert)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--tls-key"),
        "--tls-cert needs --tls-key"
    );
}

#[tokio::test]
async fn redirect_listener_answers_308_to_https() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = install(dir.path(), &ca.leaf(&["127.0.0.1"]));
    let (_config, s) = server_with_config(&format!(
        "version = 1\n[http]\ntls = {{ cert_file = {:?}, key_file = {:?} }}\nredirect_listen = [\"127.0.0.1:0\"]\n",
        cert.display().to_string(),
        key.display().to_string()
    ));
    let redirect: std::net::SocketAddr = s
        .banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("redirect"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|url| url.trim_start_matches("http://").parse().ok())
        .unwrap_or_else(|| panic!("no redirect line in the banner:\n{}", s.banner));
    let token = s.token(&["r.ddns.test"]);
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .get(format!(
            "http://{redirect}/nic/update?hostname=r.ddns.test&myip=198.51.100.9"
        ))
        .basic_auth("user", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 308);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        format!(
            "https://127.0.0.1:{}/nic/update?hostname=r.ddns.test&myip=198.51.100.9",
            s.http.port()
        )
    );
    assert!(
        lookup(&s, "r.ddns.test.", RecordType::A).is_empty(),
        "the redirect listener changes nothing"
    );
    // Following it over HTTPS does the update.
    let followed = https_client(&ca.pem)
        .get(&location)
        .basic_auth("user", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(followed.text().await.unwrap(), "good 198.51.100.9");
}

#[tokio::test]
async fn ddclient_over_https() {
    assert!(
        ddns_testkit::have("ddclient"),
        "ddclient must be installed (apt-get install ddclient; .ci/run does it)"
    );
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = https_server(dir.path(), &ca);
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let token = s.token(&["nas.ddns.test"]);
    let conf = dir.path().join("ddclient.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon=0\nssl=yes\nssl_ca_file={}\nprotocol=dyndns2\nserver={}\nlogin=nas.ddns.test\npassword='{token}'\nusev4=ipv4, ipv4=198.51.100.23\nnas.ddns.test\n",
            ca_file.display(),
            s.http
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&conf).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
    std::fs::set_permissions(&conf, perms).unwrap();
    let output = Command::new("ddclient")
        .args(["-daemon=0", "-foreground", "-verbose", "-noquiet", "-file"])
        .arg(&conf)
        .arg("-cache")
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("using SSL"), "ddclient used HTTPS:\n{log}");
    assert!(
        log.contains("good 198.51.100.23") && log.contains("SUCCESS"),
        "ddclient did not succeed over HTTPS:\n{log}"
    );
    assert_eq!(
        lookup(&s, "nas.ddns.test.", RecordType::A),
        ["198.51.100.23"]
    );
}

#[tokio::test]
async fn inadyn_over_https() {
    assert!(
        ddns_testkit::have("inadyn"),
        "inadyn must be installed (apt-get install inadyn; scripts/test.sh does it)"
    );
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = https_server(dir.path(), &ca);
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let token = s.token(&["inadyn.ddns.test"]);
    let conf = dir.path().join("inadyn.conf");
    std::fs::write(
        &conf,
        format!(
            "period = 60\nsecure-ssl = true\nca-trust-file = \"{}\"\ncustom ours {{\n  ssl = true\n  username = inadyn.ddns.test\n  password = \"{token}\"\n  checkip-command = \"/bin/echo 198.51.100.88\"\n  ddns-server = \"{}\"\n  ddns-path = \"/nic/update?hostname=%h&myip=%i\"\n  hostname = inadyn.ddns.test\n}}\n",
            ca_file.display(),
            s.http
        ),
    )
    .unwrap();
    let output = Command::new("inadyn")
        .args([
            "--once",
            "--foreground",
            "--no-pidfile",
            "-l",
            "debug",
            "--cache-dir",
        ])
        .arg(dir.path().join("cache"))
        .arg("-f")
        .arg(&conf)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("good 198.51.100.88") && log.contains("Successful alias table update"),
        "inadyn did not succeed over HTTPS:\n{log}"
    );
    assert_eq!(
        lookup(&s, "inadyn.ddns.test.", RecordType::A),
        ["198.51.100.88"]
    );
}

#[tokio::test]
async fn plain_listen_serves_the_api_beside_https() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = install(dir.path(), &ca.leaf(&["127.0.0.1"]));
    let (_config, s) = server_with_config(&format!(
        "version = 1\n[http]\ntls = {{ cert_file = {:?}, key_file = {:?} }}\nplain_listen = [\"127.0.0.1:0\"]\n",
        cert.display().to_string(),
        key.display().to_string()
    ));
    assert!(s.https, "{}", s.banner);
    let plain = s
        .banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("HTTP "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no plain HTTP line in the banner:\n{}", s.banner))
        .to_owned();
    let token = s.token(&["router.ddns.test"]);
    let answer = http()
        .get(format!(
            "{plain}/nic/update?hostname=router.ddns.test&myip=198.51.100.66"
        ))
        .basic_auth("user", Some(&token))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(answer, "good 198.51.100.66");
    assert_eq!(
        lookup(&s, "router.ddns.test.", RecordType::A),
        ["198.51.100.66"]
    );
}
