//! moto (PyPI `moto[server]`), the widely used AWS emulator, as a Route 53 endpoint on
//! loopback, with IAM authentication on: every request must carry a valid SigV4 signature
//! (moto recomputes it with botocore) from a known access key whose IAM policy allows the
//! action.
//!
//! One server per test binary ([`Moto::shared`]), set up once: IAM users `ddns` (the three
//! Route 53 actions the provider needs), `readonly` (the two List actions only) and `admin`
//! (everything, for the tests' own checks), and the hosted zones `example.com`,
//! `dyn.example.com` and a private `example.com`. Tests use distinct record names.
//!
//! The Python that runs moto is `$DDNS_MOTO_PYTHON` (scripts/test.sh points it at the virtual
//! environment it installs moto into), else that environment's default place, else `python3`.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::tied::{Tied, free_port};

/// An access key.
#[derive(Clone, Debug)]
pub struct AccessKey {
    /// `AKIA…`.
    pub id: String,
    /// The secret.
    pub secret: String,
}

/// A running moto server.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Allowed ListHostedZonesByName, ListResourceRecordSets, ChangeResourceRecordSets.
    pub ddns: AccessKey,
    /// Allowed the two List actions only.
    pub readonly: AccessKey,
    /// Allowed everything.
    pub admin: AccessKey,
    /// Hosted zone ids by name; the private zone is `"example.com private"`.
    pub zones: HashMap<String, String>,
    python: String,
    _process: Tied,
}

/// Starts moto's server. moto checks a GET's signature as if its query string (or, without
/// one, its headers) were the body, so even boto3's own GETs fail it; AWS hashes the empty body
/// (SigV4 "HashedPayload"). The launcher fixes that one step and leaves the rest of moto's
/// check (botocore recomputing the signature, IAM policies) as it is.
const LAUNCH: &str = r#"
import sys
import moto.iam.access_control as ac
_create = ac.IAMRequestBase._create_aws_request
def _create_aws_request(self):
    if not self._body:
        self._data = {}
    return _create(self)
ac.IAMRequestBase._create_aws_request = _create_aws_request
from moto.server import main
main(sys.argv[1:])
"#;

const SETUP: &str = r#"
import boto3, json, sys, urllib.request
ep = sys.argv[1]
kw = dict(endpoint_url=ep, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **kw)
def user(name, actions):
    iam.create_user(UserName=name)
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    iam.put_user_policy(UserName=name, PolicyName="dns", PolicyDocument=json.dumps(doc))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return {"id": k["AccessKeyId"], "secret": k["SecretAccessKey"]}
out = {
    "admin": user("admin", "*"),
    "ddns": user("ddns", ["route53:ListHostedZonesByName", "route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets"]),
    "readonly": user("readonly", ["route53:ListHostedZonesByName", "route53:ListResourceRecordSets"]),
}
r53 = boto3.client("route53", **kw)
zones = {}
for name, private in [("example.com", False), ("dyn.example.com", False), ("example.com", True)]:
    z = r53.create_hosted_zone(Name=name, CallerReference=name + str(private),
                               HostedZoneConfig={"Comment": "ddns test", "PrivateZone": private})
    zones[name + (" private" if private else "")] = z["HostedZone"]["Id"].split("/")[-1]
out["zones"] = zones
# From here on every request must be signed by a known key and allowed by its policy.
req = urllib.request.Request(ep + "/moto-api/reset-auth", data=b"0", method="POST",
                             headers={"Content-Type": "text/plain"})
urllib.request.urlopen(req).read()
print(json.dumps(out))
"#;

impl Moto {
    /// The server of this test binary, started and set up on first use.
    pub fn shared() -> &'static Self {
        static MOTO: OnceLock<Moto> = OnceLock::new();
        MOTO.get_or_init(Self::start)
    }

    fn start() -> Self {
        // scripts/test.sh exports DDNS_MOTO_PYTHON; a plain `cargo test` after it finds its
        // virtual environment at the default place.
        let python = std::env::var("DDNS_MOTO_PYTHON").unwrap_or_else(|_| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache"))
                });
            cache
                .map(|c| c.join("ddns-test/moto-venv/bin/python"))
                .filter(|p| p.is_file())
                .map_or_else(|| "python3".into(), |p| p.display().to_string())
        });
        let check = Command::new(&python)
            .args(["-c", "import moto.server, flask, boto3"])
            .output();
        assert!(
            check.as_ref().is_ok_and(|o| o.status.success()),
            "moto[server] is not installed for {python}: run scripts/test.sh, which installs it \
             (or set DDNS_MOTO_PYTHON to a Python that has it): {:?}",
            check.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        );
        let port = free_port();
        let dir = tempfile::tempdir().unwrap().keep();
        let log = dir.join("moto.log");
        let process = Tied::spawn(
            std::path::Path::new(&python),
            &["-c", LAUNCH, "-H", "127.0.0.1", "-p", &port.to_string()],
            &log,
            Some(&dir),
        );
        let endpoint = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while !answers(port) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "moto did not start on port {port}; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let out = Command::new(&python)
            .args(["-c", SETUP, &endpoint])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "moto setup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let setup: Value = serde_json::from_slice(&out.stdout).unwrap();
        let key = |name: &str| AccessKey {
            id: setup[name]["id"].as_str().unwrap().to_owned(),
            secret: setup[name]["secret"].as_str().unwrap().to_owned(),
        };
        let zones = setup["zones"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        Self {
            endpoint,
            ddns: key("ddns"),
            readonly: key("readonly"),
            admin: key("admin"),
            zones,
            python,
            _process: process,
        }
    }

    /// The id of the hosted zone `name`.
    pub fn zone(&self, name: &str) -> &str {
        &self.zones[name]
    }

    /// Runs Python with `r53`, a boto3 Route 53 client signed by the admin key; returns stdout.
    pub fn admin(&self, code: &str) -> String {
        let script = format!(
            "import boto3, json\nr53 = boto3.client('route53', endpoint_url={:?}, region_name='us-east-1', aws_access_key_id={:?}, aws_secret_access_key={:?})\n{code}",
            self.endpoint, self.admin.id, self.admin.secret
        );
        let out = Command::new(&self.python)
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "admin script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The record sets named `name` (FQDN without the dot) in zone `zone`, as
    /// `(type, TTL, sorted values)`, sorted by type.
    pub fn record_sets(&self, zone: &str, name: &str) -> Vec<(String, u64, Vec<String>)> {
        let out = self.admin(&format!(
            "sets = r53.list_resource_record_sets(HostedZoneId={:?})['ResourceRecordSets']\n\
             print(json.dumps([[s['Type'], s.get('TTL', 0), sorted(r['Value'] for r in s.get('ResourceRecords', []))] \
             for s in sets if s['Name'].rstrip('.') == {:?}]))",
            self.zone(zone),
            name
        ));
        let sets: Vec<(String, u64, Vec<String>)> = serde_json::from_str(out.trim()).unwrap();
        let mut sets = sets;
        sets.sort();
        sets
    }

    /// Creates or replaces a record set with the admin key.
    pub fn upsert(&self, zone: &str, name: &str, rtype: &str, ttl: u32, values: &[&str]) {
        let records: Vec<String> = values
            .iter()
            .map(|v| format!("{{'Value': {v:?}}}"))
            .collect();
        self.admin(&format!(
            "r53.change_resource_record_sets(HostedZoneId={:?}, ChangeBatch={{'Changes': [{{'Action': 'UPSERT', \
             'ResourceRecordSet': {{'Name': {name:?}, 'Type': {rtype:?}, 'TTL': {ttl}, 'ResourceRecords': [{}]}}}}]}})",
            self.zone(zone),
            records.join(", ")
        ));
    }
}

/// Whether something answers HTTP on the port.
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}
