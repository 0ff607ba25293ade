//! `ddns agent --once` publishing to cloud DNS APIs: one record at the Cloudflare API fake and
//! one at moto (Route 53, signatures checked). The first run publishes both; a second run
//! sends nothing; a run without the state file reads both providers and writes nothing.

use std::process::Output;

use ddns_testkit::cloudflare::FakeCloudflare;
use ddns_testkit::moto::Moto;

use crate::agent::AgentDir;

const TOKEN: &str = "cf-e2e-token-0123456789abcdefghijklmnop";

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn once_publishes_to_cloudflare_and_route53_then_writes_nothing() {
    let cloudflare = FakeCloudflare::start(TOKEN);
    cloudflare.add_zone("example.com");
    let moto = Moto::shared();
    let dir = AgentDir::new();
    let secret_file = dir.dir.path().join("aws-secret");
    std::fs::write(&secret_file, format!("{}\n", moto.ddns.secret)).unwrap();
    dir.write(&format!(
        r#"[detect.ipv4]
sources = [{{ kind = "fixed", address = "198.51.100.30" }}]
allow = ["documentation"]
[detect.ipv6]
sources = [{{ kind = "fixed", address = "2001:db8::30" }}]
allow = ["documentation"]
[providers.cf]
type = "cloudflare"
api_token = "{TOKEN}"
endpoint = "{}"
[providers.aws]
type = "route53"
access_key_id = "{}"
secret_access_key_file = {:?}
endpoint = "{}"
[[record]]
name = "cf.example.com"
provider = "cf"
families = ["ipv4", "ipv6"]
[[record]]
name = "aws.dyn.example.com"
provider = "aws"
families = ["ipv4", "ipv6"]
ttl = 120
"#,
        cloudflare.url(),
        moto.ddns.id,
        secret_file.display().to_string(),
        moto.endpoint,
    ));
    let first = dir.once();
    assert!(first.status.success(), "{}", stderr(&first));
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        cloudflare.values("cf.example.com"),
        [pair("A", "198.51.100.30"), pair("AAAA", "2001:db8::30")]
    );
    let set = |t: &str, v: &str| (t.to_owned(), 120, vec![v.to_owned()]);
    assert_eq!(
        moto.record_sets("dyn.example.com", "aws.dyn.example.com"),
        [set("A", "198.51.100.30"), set("AAAA", "2001:db8::30")]
    );
    assert_eq!(cloudflare.writes(), 1);
    assert!(
        !stderr(&first).contains(&moto.ddns.secret),
        "the secret never reaches the log"
    );

    let requests = cloudflare.requests().len();
    let second = dir.once();
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(
        cloudflare.requests().len(),
        requests,
        "nothing changed: nothing sent"
    );

    // Without the state file each provider reads what it has and finds it equal.
    std::fs::remove_file(dir.state()).unwrap();
    let third = dir.once();
    let log = stderr(&third);
    assert!(third.status.success(), "{log}");
    assert_eq!(cloudflare.writes(), 1, "no second write: {log}");
    assert_eq!(
        log.matches("already up to date").count(),
        2,
        "both providers read and wrote nothing: {log}"
    );
}
