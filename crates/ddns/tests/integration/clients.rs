use std::process::Command;

use crate::common::*;

#[tokio::test]
async fn ddclient_updates_a_host() {
    assert!(
        ddns_testkit::have("ddclient"),
        "ddclient must be installed (apt-get install ddclient; .ci/run does it)"
    );
    let s = server(&[]);
    let token = s.token(&["nas.ddns.test"]);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("ddclient.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon=0\nssl=no\nprotocol=dyndns2\nserver={}\nlogin=nas.ddns.test\npassword='{token}'\nusev4=ipv4, ipv4=198.51.100.23\nnas.ddns.test\n",
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
    assert!(
        log.contains("good 198.51.100.23"),
        "ddclient did not get `good`:\n{log}"
    );
    assert!(
        log.contains("SUCCESS"),
        "ddclient did not report success:\n{log}"
    );
    assert_eq!(
        lookup(&s, "nas.ddns.test.", RecordType::A),
        ["198.51.100.23"]
    );
}

#[tokio::test]
async fn inadyn_updates_a_host() {
    assert!(
        ddns_testkit::have("inadyn"),
        "inadyn must be installed (apt-get install inadyn; scripts/test.sh does it)"
    );
    let s = server(&[]);
    let token = s.token(&["inadyn.ddns.test"]);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("inadyn.conf");
    std::fs::write(
        &conf,
        format!(
            "period = 60\ncustom ours {{\n  ssl = false\n  username = inadyn.ddns.test\n  password = \"{token}\"\n  checkip-command = \"/bin/echo 198.51.100.88\"\n  ddns-server = \"{}\"\n  ddns-path = \"/nic/update?hostname=%h&myip=%i\"\n  hostname = inadyn.ddns.test\n}}\n",
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
        log.contains("good 198.51.100.88"),
        "inadyn did not get `good`:\n{log}"
    );
    assert!(
        log.contains("Successful alias table update"),
        "inadyn did not report success:\n{log}"
    );
    assert_eq!(
        lookup(&s, "inadyn.ddns.test.", RecordType::A),
        ["198.51.100.88"]
    );
}

/// Request shapes routers send, as their documentation and captures show them.
#[tokio::test]
async fn router_dialects() {
    let s = server(&[]);
    let token = s.token(&["*.ddns.test"]);
    // FRITZ!Box: `myip=<ipaddr>,<ip6addr>`, the IPv6 slot empty on a line without IPv6;
    // credentials only after the server asks for them.
    let url = s.url("/nic/update?hostname=fritz.ddns.test&myip=198.51.100.90,");
    let challenge = http()
        .get(&url)
        .header("user-agent", "Fritz!Box DDNS/1.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(challenge.status().as_u16(), 401);
    assert!(
        challenge.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let answer = http()
        .get(&url)
        .basic_auth("fritz.ddns.test", Some(&token))
        .header("user-agent", "Fritz!Box DDNS/1.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), "good 198.51.100.90");
    // …and with IPv6 on the line.
    let (_, body) = nic(
        &s,
        Some(&token),
        "hostname=fritz.ddns.test&myip=198.51.100.90,2001:db8::90",
    )
    .await;
    assert_eq!(body, "good 198.51.100.90,2001:db8::90");
    // Synology / Hikvision / ddclient's dyndns2: extra Dyn parameters are accepted and ignored.
    let (status, body) = nic(
        &s,
        Some(&token),
        "system=dyndns&hostname=nas.ddns.test&myip=198.51.100.91&wildcard=NOCHG&mx=NOCHG&backmx=NOCHG&offline=NO",
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "good 198.51.100.91"));
    // OpenWrt ddns-scripts: the same URL again (nochg), then the hostname as the user name.
    assert_eq!(
        nic(
            &s,
            Some(&token),
            "hostname=nas.ddns.test&myip=198.51.100.91"
        )
        .await
        .1,
        "nochg 198.51.100.91"
    );
    let by_user = http()
        .get(s.url("/nic/update?myip=198.51.100.92"))
        .basic_auth("owrt.ddns.test", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(by_user.text().await.unwrap(), "good 198.51.100.92");
    assert_eq!(
        lookup(&s, "owrt.ddns.test.", RecordType::A),
        ["198.51.100.92"]
    );
    assert_eq!(
        lookup(&s, "fritz.ddns.test.", RecordType::AAAA),
        ["2001:db8::90"]
    );
}
