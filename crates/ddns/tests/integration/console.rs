//! The web console in a real browser: Debian's chromium, headless, driven through chromedriver
//! (WebDriver) against a real server on loopback. One test, one browser: sign in with the
//! admin password; create a host and a token; a DynDNS2 update with curl; the new address and
//! its history row on the host's page; a rollback, and DNS (dig) answering the old address
//! again; the pages in 简体中文; sign out. Every page is saved as a screenshot in both languages
//! under `$CARGO_TARGET_TMPDIR/console-screenshots/`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use crate::common::{ServerProcess, bin, server};

const PASSWORD: &str = "console test password";

/// chromedriver on a loopback port of its own; killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_driver() -> Driver {
    let port = free_port();
    let child = Command::new("chromedriver")
        .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian chromium-driver) is needed for the console test");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                "--lang=en-US", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-default-apps",
                "--disable-extensions", "--no-proxy-server",
                // Nothing but loopback resolves: the browser cannot reach anything else.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("cannot start a chromium session")
}

fn shots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots_dir().join(format!("{name}.png")), png).unwrap();
}

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn path(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_owned()
}

async fn fill(c: &Client, css: &str, value: &str) {
    let field = c.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

fn dig(server: &ServerProcess, name: &str) -> String {
    let out = Command::new("dig")
        .args([
            &format!("@{}", server.dns.ip()),
            "-p",
            &server.dns.port().to_string(),
            name,
            "A",
            "+short",
            "+norecurse",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn set_password(server: &ServerProcess) {
    use std::io::Write as _;
    let mut child = Command::new(bin())
        .args(["admin", "password", "--data-dir"])
        .arg(&server.data_dir)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until the browser is at `want` (a click's navigation may still be under way).
async fn wait_for_path(c: &Client, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = path(c).await;
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "at {got}, not {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The text of `css` once it contains `want` (a page after a click's navigation).
async fn wait_for_text(c: &Client, css: &str, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = match c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if got.contains(want) {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{css} never showed {want:?}; it shows {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn console_in_chromium() {
    let server = server(&[]);
    set_password(&server);
    let driver = start_driver();
    let c = browser(&driver).await;
    let base = server.url("");
    let result = flow(&c, &server, &base).await;
    let _ = c.close().await;
    result.unwrap();
}

async fn flow(c: &Client, server: &ServerProcess, base: &str) -> Result<(), String> {
    let name = "web.ddns.test";
    // Unauthenticated: the console sends the browser to the sign-in page.
    c.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(path(c).await, "/console/login");
    shot(c, "en-login").await;
    fill(c, "#secret", "not the password").await;
    click(c, "#signin").await;
    wait_for_text(c, ".error", "Wrong password").await;
    fill(c, "#secret", PASSWORD).await;
    click(c, "#signin").await;
    wait_for_path(c, "/console/").await;
    assert!(text(c, "h1").await.contains("Zones"));

    // A host made in the console.
    fill(c, "#new-host", name).await;
    fill(c, "#new-value", "192.0.2.10").await;
    click(c, "#create-host").await;
    wait_for_path(c, &format!("/console/hosts/{name}")).await;
    wait_for_text(c, "#records", "192.0.2.10").await;
    assert_eq!(dig(server, name), "192.0.2.10");

    // A token for it, shown once with its snippets.
    c.goto(&format!("{base}/console/tokens")).await.unwrap();
    fill(c, "#token-label", "router").await;
    fill(c, "#token-hosts", name).await;
    click(c, "#create-token").await;
    let token = wait_for_text(c, "#new-token", "ddns_").await;
    assert!(token.starts_with("ddns_"), "{token}");
    assert!(text(c, "#snippet-ddclient").await.contains(&token));
    assert!(
        text(c, "#snippet-agent")
            .await
            .contains(&format!("name = \"{name}\""))
    );
    shot(c, "en-token-created").await;

    // The router's update, with curl.
    let out = Command::new("curl")
        .args(["-sS", "--noproxy", "*", "-u", &format!("router:{token}")])
        .arg(format!("{base}/nic/update?hostname={name}&myip=192.0.2.20"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "good 192.0.2.20"
    );
    assert_eq!(dig(server, name), "192.0.2.20");

    // The host list and the host's page show it, with the history row of the update.
    c.goto(&format!("{base}/console/?q=web")).await.unwrap();
    let row = text(c, "#hosts tbody").await;
    assert!(
        row.contains("192.0.2.20") && row.contains("token:"),
        "{row}"
    );
    shot(c, "en-hosts").await;
    c.goto(&format!("{base}/console/hosts/{name}"))
        .await
        .unwrap();
    wait_for_text(c, "#records", "192.0.2.20").await;
    let newest = text(c, "#history tbody tr:nth-child(1)").await;
    assert!(
        newest.contains("192.0.2.20") && newest.contains("token:"),
        "{newest}"
    );
    assert!(newest.contains("127.0.0.1"), "where it came from: {newest}");
    shot(c, "en-host").await;

    // One click: back to the state after the console's own change.
    click(c, "#history tbody tr:nth-child(2) button").await;
    wait_for_text(c, "#records", "192.0.2.10").await;
    let newest = text(c, "#history tbody tr:nth-child(1)").await;
    assert!(newest.contains("rollback/console"), "{newest}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while dig(server, name) != "192.0.2.10" {
        assert!(
            Instant::now() < deadline,
            "DNS still answers {}",
            dig(server, name)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shot(c, "en-host-rolled-back").await;

    c.goto(&format!("{base}/console/audit")).await.unwrap();
    assert!(
        text(c, "#audit").await.contains("host.rollback"),
        "the rollback is audited"
    );
    shot(c, "en-audit").await;
    for (page, file) in [("tokens", "en-tokens"), ("settings", "en-settings")] {
        c.goto(&format!("{base}/console/{page}")).await.unwrap();
        shot(c, file).await;
    }
    c.set_window_size(420, 900).await.unwrap();
    c.goto(&format!("{base}/console/")).await.unwrap();
    shot(c, "en-hosts-narrow").await;
    c.set_window_size(1280, 900).await.unwrap();

    // 简体中文 through the switch, kept for the next pages.
    c.goto(&format!("{base}/console/settings")).await.unwrap();
    click(c, "#lang-switch").await;
    wait_for_text(c, "h1", "设置（只读）").await;
    assert_eq!(text(c, "#lang-switch").await, "English");
    shot(c, "zh-settings").await;
    for (page, file) in [
        ("", "zh-hosts"),
        (&format!("hosts/{name}")[..], "zh-host"),
        ("tokens", "zh-tokens"),
        ("audit", "zh-audit"),
    ] {
        c.goto(&format!("{base}/console/{page}")).await.unwrap();
        shot(c, file).await;
    }
    c.goto(&format!("{base}/console/")).await.unwrap();
    assert!(text(c, "header nav").await.contains("令牌"));
    assert!(text(c, "h1").await.contains("区域"));
    c.goto(&format!("{base}/console/tokens")).await.unwrap();
    fill(c, "#token-hosts", "*.lab.ddns.test").await;
    click(c, "#create-token").await;
    wait_for_text(c, "h1", "令牌已创建").await;
    shot(c, "zh-token-created").await;

    // Sign out: the session is gone.
    click(c, "#signout").await;
    wait_for_path(c, "/console/login").await;
    assert!(text(c, "h1").await.contains("登录"));
    shot(c, "zh-login").await;
    c.goto(&format!("{base}/console/tokens")).await.unwrap();
    assert_eq!(path(c).await, "/console/login");
    Ok(())
}
