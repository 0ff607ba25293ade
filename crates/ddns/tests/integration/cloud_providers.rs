//! `ddns agent --once` publishing to the Chinese cloud DNS providers — Alibaba Cloud DNS,
//! DNSPod and Huawei Cloud DNS — each a loopback fake that checks signatures as the vendor
//! does. The first run creates the records, a second run sends nothing, and even without the
//! state file a run finds the records equal and writes nothing.

use ddns_testkit::fake_alidns::FakeAlidns;
use ddns_testkit::fake_cloud::CloudDns;
use ddns_testkit::fake_dnspod::FakeDnspod;
use ddns_testkit::fake_huaweicloud::FakeHuaweicloud;

use crate::agent::AgentDir;

const SECRET: &str = "cl0ud-SECRET-e2e-7f3a";

#[tokio::test]
async fn one_record_at_each_provider_publishes_once() {
    let ali = FakeAlidns::start("LTAI5tE2EkeyID", SECRET);
    let pod = FakeDnspod::start("AKIDe2eSecretId", SECRET);
    let hw = FakeHuaweicloud::start("HWE2EACCESSKEY", SECRET);
    let fakes: [(&str, &dyn CloudDns); 3] = [("ali", &ali), ("pod", &pod), ("hw", &hw)];
    for (_, fake) in fakes {
        fake.add_zone("example.com");
        fake.add_record("example.com", "TXT", &["\"v=spf1 -all\""], 600);
    }
    let dir = AgentDir::new();
    let secret_file = dir.dir.path().join("cloud-secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let secret_file = format!("{:?}", secret_file.display().to_string());
    let config = format!(
        "[detect.ipv4]\nsources = [{{ kind = \"fixed\", address = \"198.51.100.21\" }}]\nallow = [\"documentation\"]\n\
         [detect.ipv6]\nsources = [{{ kind = \"fixed\", address = \"2001:db8::21\" }}]\nallow = [\"documentation\"]\n\
         [providers.ali]\ntype = \"alidns\"\naccess_key_id = \"LTAI5tE2EkeyID\"\naccess_key_secret_file = {secret_file}\nendpoint = \"{}\"\n\
         [providers.pod]\ntype = \"dnspod\"\nsecret_id = \"AKIDe2eSecretId\"\nsecret_key_file = {secret_file}\nendpoint = \"{}\"\n\
         [providers.hw]\ntype = \"huaweicloud\"\naccess_key = \"HWE2EACCESSKEY\"\nsecret_key_file = {secret_file}\nregion = \"cn-north-4\"\nendpoint = \"{}\"\n\
         [[record]]\nname = \"ali.example.com\"\nprovider = \"ali\"\nfamilies = [\"ipv4\", \"ipv6\"]\n\
         [[record]]\nname = \"pod.example.com\"\nprovider = \"pod\"\nfamilies = [\"ipv4\", \"ipv6\"]\n\
         [[record]]\nname = \"hw.example.com\"\nprovider = \"hw\"\nfamilies = [\"ipv4\", \"ipv6\"]\nttl = 600\n",
        ali.endpoint(),
        pod.endpoint(),
        hw.endpoint()
    );
    dir.write(&config);

    let first = dir.once();
    let log = String::from_utf8_lossy(&first.stderr).into_owned();
    assert!(first.status.success(), "{log}");
    for (name, fake) in fakes {
        let host = format!("{name}.example.com");
        assert_eq!(fake.values(&host, "A"), ["198.51.100.21"], "{name}: {log}");
        assert_eq!(
            fake.values(&host, "AAAA"),
            ["2001:db8::21"],
            "{name}: {log}"
        );
        assert_eq!(fake.writes(), 2, "{name}: one create per family");
        assert_eq!(
            fake.values("example.com", "TXT"),
            ["\"v=spf1 -all\""],
            "{name}: other records are left alone"
        );
    }
    assert!(!log.contains(SECRET), "a secret reached the log: {log}");

    let requests: Vec<usize> = fakes.iter().map(|(_, f)| f.requests().len()).collect();
    let second = dir.once();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    for ((name, fake), before) in fakes.iter().zip(&requests) {
        assert_eq!(fake.writes(), 2, "{name}: the second run writes nothing");
        assert_eq!(fake.requests().len(), *before, "{name}: nor asks anything");
    }

    // Without the state file the agent publishes again; each provider reads, finds the
    // records equal and writes nothing.
    std::fs::remove_file(dir.state()).unwrap();
    let third = dir.once();
    let log = String::from_utf8_lossy(&third.stderr).into_owned();
    assert!(third.status.success(), "{log}");
    for ((name, fake), before) in fakes.iter().zip(&requests) {
        assert_eq!(
            fake.writes(),
            2,
            "{name}: equal records are not written: {log}"
        );
        assert!(
            fake.requests().len() > *before,
            "{name}: the records were read"
        );
    }
    assert!(!log.contains(SECRET), "a secret reached the log: {log}");
}

/// The token APIs of issue #7 item 7 — deSEC, DigitalOcean, Porkbun, Gandi LiveDNS, GoDaddy,
/// Vercel, dynv6 and NameSilo — each a loopback fake that checks credentials as the vendor
/// does, every secret read from a file: the first run publishes both families, a second run
/// sends nothing, and without the state file a run reads, finds the records equal and writes
/// nothing. No secret reaches the log.
#[tokio::test]
async fn one_record_at_each_token_api_publishes_once() {
    use ddns_testkit::fake_desec::FakeDesec;
    use ddns_testkit::fake_digitalocean::FakeDigitalocean;
    use ddns_testkit::fake_dynv6::FakeDynv6;
    use ddns_testkit::fake_gandi::FakeGandi;
    use ddns_testkit::fake_godaddy::FakeGodaddy;
    use ddns_testkit::fake_namesilo::FakeNamesilo;
    use ddns_testkit::fake_porkbun::FakePorkbun;
    use ddns_testkit::fake_vercel::FakeVercel;

    const KEY_ID: &str = "e2e-key-id-0123";
    let fakes: Vec<(&str, Box<dyn CloudDns>)> = vec![
        ("desec", Box::new(FakeDesec::start(SECRET))),
        ("digitalocean", Box::new(FakeDigitalocean::start(SECRET))),
        ("porkbun", Box::new(FakePorkbun::start(KEY_ID, SECRET))),
        ("gandi", Box::new(FakeGandi::start(SECRET))),
        ("godaddy", Box::new(FakeGodaddy::start(KEY_ID, SECRET))),
        ("vercel", Box::new(FakeVercel::start(SECRET))),
        ("dynv6", Box::new(FakeDynv6::start(SECRET))),
        ("namesilo", Box::new(FakeNamesilo::start(SECRET))),
    ];
    let dir = AgentDir::new();
    let secret_file = dir.dir.path().join("token");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let secret_file = format!("{:?}", secret_file.display().to_string());
    let mut config = String::from(
        "[detect.ipv4]\nsources = [{ kind = \"fixed\", address = \"198.51.100.21\" }]\nallow = [\"documentation\"]\n\
         [detect.ipv6]\nsources = [{ kind = \"fixed\", address = \"2001:db8::21\" }]\nallow = [\"documentation\"]\n",
    );
    for (name, fake) in &fakes {
        fake.add_zone("example.com");
        fake.add_record("other.example.com", "A", &["192.0.2.99"], 3600);
        let (secret_key, id) = match *name {
            "porkbun" => ("secret_api_key", Some(("api_key", KEY_ID))),
            "godaddy" => ("api_secret", Some(("api_key", KEY_ID))),
            "namesilo" => ("api_key", None),
            _ => ("token", None),
        };
        config.push_str(&format!(
            "[providers.{name}]\ntype = \"{name}\"\n{secret_key}_file = {secret_file}\nendpoint = \"{}\"\n",
            fake.endpoint()
        ));
        if let Some((key, value)) = id {
            config.push_str(&format!("{key} = \"{value}\"\n"));
        }
        config.push_str(&format!(
            "[[record]]\nname = \"{name}.example.com\"\nprovider = \"{name}\"\nfamilies = [\"ipv4\", \"ipv6\"]\n"
        ));
    }
    dir.write(&config);

    let first = dir.once();
    let log = String::from_utf8_lossy(&first.stderr).into_owned();
    assert!(first.status.success(), "{log}");
    let mut writes = Vec::new();
    let mut requests = Vec::new();
    for (name, fake) in &fakes {
        let host = format!("{name}.example.com");
        assert_eq!(fake.values(&host, "A"), ["198.51.100.21"], "{name}: {log}");
        assert_eq!(
            fake.values(&host, "AAAA"),
            ["2001:db8::21"],
            "{name}: {log}"
        );
        assert_eq!(
            fake.values("other.example.com", "A"),
            ["192.0.2.99"],
            "{name}: other records are left alone"
        );
        assert!(fake.writes() > 0, "{name}");
        writes.push(fake.writes());
        requests.push(fake.requests().len());
    }
    assert!(!log.contains(SECRET), "a secret reached the log: {log}");

    let second = dir.once();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    for (((name, fake), w), r) in fakes.iter().zip(&writes).zip(&requests) {
        assert_eq!(fake.writes(), *w, "{name}: the second run writes nothing");
        assert_eq!(fake.requests().len(), *r, "{name}: nor asks anything");
    }

    std::fs::remove_file(dir.state()).unwrap();
    let third = dir.once();
    let log = String::from_utf8_lossy(&third.stderr).into_owned();
    assert!(third.status.success(), "{log}");
    for (((name, fake), w), r) in fakes.iter().zip(&writes).zip(&requests) {
        assert_eq!(
            fake.writes(),
            *w,
            "{name}: equal records are not written: {log}"
        );
        assert!(fake.requests().len() > *r, "{name}: the records were read");
    }
    assert!(!log.contains(SECRET), "a secret reached the log: {log}");
}
