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
