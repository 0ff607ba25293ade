use std::process::Command;

use hickory_proto::op::{Message, ResponseCode};

use crate::common::*;

fn flags(m: &Message) -> Vec<&'static str> {
    let h = &m.metadata;
    let mut f = vec!["qr"];
    if h.authoritative {
        f.push("aa");
    }
    if h.truncation {
        f.push("tc");
    }
    if h.recursion_desired {
        f.push("rd");
    }
    if h.recursion_available {
        f.push("ra");
    }
    f
}

fn render(m: &Message) -> (Vec<String>, Vec<String>) {
    let row = |r: &hickory_proto::rr::Record| {
        format!("{} {} IN {} {}", r.name, r.ttl, r.record_type(), r.data)
    };
    (
        m.answers.iter().map(row).collect(),
        m.authorities.iter().map(row).collect(),
    )
}

#[tokio::test]
async fn answers_over_udp_and_tcp_after_an_update() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    let serial0 = serial(&s);
    nic(
        &s,
        Some(&token),
        "hostname=home.ddns.test&myip=192.0.2.7,2001:db8::7",
    )
    .await;
    for reply in [
        dns::udp(s.dns, "home.ddns.test.", RecordType::A),
        dns::tcp(s.dns, "home.ddns.test.", RecordType::A),
    ] {
        assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
        assert_eq!(flags(&reply), ["qr", "aa"]);
        assert_eq!(
            render(&reply),
            (vec!["home.ddns.test. 60 IN A 192.0.2.7".to_owned()], vec![])
        );
        assert_eq!(reply.edns.as_ref().map(|e| e.max_payload()), Some(1232));
    }
    let nx = dns::udp(s.dns, "nobody.ddns.test.", RecordType::A);
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(flags(&nx), ["qr", "aa"]);
    let serial1 = dns::soa_serial(&nx).unwrap();
    assert_eq!(
        serial1,
        serial0.wrapping_add(1),
        "one change set, one serial step"
    );
    assert_eq!(
        nx.authorities[0].ttl, 60,
        "negative TTL = min(SOA TTL, MINIMUM)"
    );
    let nodata = dns::tcp(s.dns, "home.ddns.test.", RecordType::MX);
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
    assert_eq!(nodata.authorities.len(), 1);
    let refused = dns::udp(s.dns, "example.com.", RecordType::A);
    assert_eq!(refused.metadata.response_code, ResponseCode::Refused);
    assert_eq!(flags(&refused), ["qr"]);
}

#[tokio::test]
async fn acme_txt_and_cname_through_the_api() {
    let s = server(&[]);
    let token = s.token(&[
        "_acme-challenge.home.ddns.test",
        "www.ddns.test",
        "home.ddns.test",
    ]);
    nic(&s, Some(&token), "hostname=home.ddns.test&myip=192.0.2.8").await;
    let response = http()
        .post(s.url("/update"))
        .bearer_auth(&token)
        .form(&[
            ("domain", "_acme-challenge.home.ddns.test"),
            ("txt", "gfj9Xq-KwZPpsKa7C1wQ2TjK6WkC0sCSV9ZQX5aNc0w"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let txt = dns::udp(s.dns, "_acme-challenge.home.ddns.test.", RecordType::TXT);
    assert_eq!(
        dns::answers(&txt, RecordType::TXT),
        ["gfj9Xq-KwZPpsKa7C1wQ2TjK6WkC0sCSV9ZQX5aNc0w"]
    );
    let put = http()
        .put(s.url("/api/v1/hosts/www.ddns.test/records/CNAME"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"values": ["home.ddns.test."]}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 200);
    let chain = dns::udp(s.dns, "www.ddns.test.", RecordType::A);
    assert_eq!(dns::answers(&chain, RecordType::CNAME), ["home.ddns.test."]);
    assert_eq!(dns::answers(&chain, RecordType::A), ["192.0.2.8"]);
}

/// Runs dig or kdig and returns (status, flags, answer lines, authority lines).
fn external(
    tool: &str,
    s: &ServerProcess,
    name: &str,
    rtype: &str,
    tcp: bool,
) -> (String, Vec<String>, Vec<String>, Vec<String>) {
    let port = s.dns.port().to_string();
    let server = format!("@{}", s.dns.ip());
    let mut args = vec![
        server.as_str(),
        "-p",
        port.as_str(),
        "+norecurse",
        name,
        rtype,
    ];
    if tool == "dig" {
        args.push("+nocookie");
    }
    if tcp {
        args.push("+tcp");
    }
    let output = Command::new(tool).args(&args).output().unwrap_or_else(|e| {
        panic!("{tool} must be installed (bind9-dnsutils / knot-dnsutils): {e}")
    });
    assert!(
        output.status.success(),
        "{tool} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let status = text
        .split("status: ")
        .nth(1)
        .and_then(|s| s.split([',', ';']).next())
        .unwrap_or_else(|| panic!("no status in {tool} output:\n{text}"))
        .to_owned();
    let flags_line = text
        .lines()
        .find(|l| l.starts_with(";; flags:") || l.starts_with(";; Flags:"))
        .unwrap_or_else(|| panic!("no flags in {tool} output:\n{text}"));
    let flags: Vec<String> = flags_line
        .split_once(": ")
        .map(|(_, rest)| rest)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let section = |title: &str| -> Vec<String> {
        let mut lines = Vec::new();
        let mut inside = false;
        for line in text.lines() {
            if line.starts_with(";;") && line.contains(title) {
                inside = true;
                continue;
            }
            if inside {
                if line.trim().is_empty() || line.starts_with(";;") {
                    break;
                }
                let fields: Vec<&str> = line.split_whitespace().collect();
                lines.push(fields.join(" ").to_lowercase());
            }
        }
        lines
    };
    (
        status,
        flags,
        section("ANSWER SECTION"),
        section("AUTHORITY SECTION"),
    )
}

#[tokio::test]
async fn dig_and_kdig_agree_with_the_rust_client() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    nic(&s, Some(&token), "hostname=home.ddns.test&myip=192.0.2.9").await;
    let cases = [
        ("home.ddns.test.", RecordType::A),
        ("nobody.ddns.test.", RecordType::A),
        ("home.ddns.test.", RecordType::TXT),
        ("ddns.test.", RecordType::SOA),
    ];
    for tool in ["dig", "kdig"] {
        for (name, rtype) in cases {
            for tcp in [false, true] {
                let ours = if tcp {
                    dns::tcp(s.dns, name, rtype)
                } else {
                    dns::udp(s.dns, name, rtype)
                };
                let (status, theirs_flags, answer, authority) =
                    external(tool, &s, name, &rtype.to_string(), tcp);
                let our_status = match ours.metadata.response_code {
                    ResponseCode::NoError => "NOERROR",
                    ResponseCode::NXDomain => "NXDOMAIN",
                    other => panic!("unexpected {other:?}"),
                };
                assert_eq!(status, our_status, "{tool} {name} {rtype} tcp={tcp}");
                assert_eq!(
                    theirs_flags,
                    flags(&ours),
                    "{tool} flags for {name} {rtype}"
                );
                let (our_answer, our_authority) = render(&ours);
                let lower = |v: Vec<String>| -> Vec<String> {
                    v.into_iter()
                        .map(|l| {
                            l.split_whitespace()
                                .collect::<Vec<_>>()
                                .join(" ")
                                .to_lowercase()
                        })
                        .collect()
                };
                assert_eq!(
                    answer,
                    lower(our_answer),
                    "{tool} answer for {name} {rtype}"
                );
                assert_eq!(
                    authority,
                    lower(our_authority),
                    "{tool} authority for {name} {rtype}"
                );
            }
        }
    }
}
