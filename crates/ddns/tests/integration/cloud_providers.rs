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
