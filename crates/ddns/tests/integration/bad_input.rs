use crate::common::*;

/// The server still answers correctly.
fn still_serving(s: &ServerProcess) {
    let reply = dns::udp(s.dns, "home.ddns.test.", RecordType::A);
    assert_eq!(dns::answers(&reply, RecordType::A), ["192.0.2.1"]);
    let reply = dns::tcp(s.dns, "home.ddns.test.", RecordType::A);
    assert_eq!(dns::answers(&reply, RecordType::A), ["192.0.2.1"]);
}

#[tokio::test]
async fn garbage_dns_packets() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    nic(&s, Some(&token), "hostname=home.ddns.test&myip=192.0.2.1").await;
    let serial0 = serial(&s);
    // Too short: no answer.
    assert_eq!(dns::udp_raw(s.dns, &[1, 2, 3]), None);
    // A header claiming a question that is not there: FORMERR with the same id.
    let reply = dns::udp_raw(s.dns, &[0xab, 0xcd, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0]).unwrap();
    assert_eq!(&reply[..2], &[0xab, 0xcd]);
    assert_eq!(reply[3] & 0x0f, 1, "FORMERR");
    // Label running off the end, compression loop, 64-octet label.
    for bad in [
        vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x3f, b'a'],
        vec![0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1],
        [
            &[0u8, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 64][..],
            &[b'a'; 64],
            &[0, 0, 1, 0, 1],
        ]
        .concat(),
    ] {
        let reply = dns::udp_raw(s.dns, &bad).expect("FORMERR expected");
        assert_eq!(reply[3] & 0x0f, 1);
    }
    // A response sent to us is ignored.
    let mut response = dns::query("home.ddns.test.", RecordType::A, false);
    response[2] |= 0x80;
    assert_eq!(dns::udp_raw(s.dns, &response), None);
    // Oversized: a 4 KiB UDP datagram and a 60 KiB TCP message of junk.
    let mut big = dns::query("home.ddns.test.", RecordType::A, false);
    big.resize(4096, 0x41);
    let reply = dns::udp_raw(s.dns, &big).expect("FORMERR expected");
    assert_eq!(reply[3] & 0x0f, 1);
    let mut huge = dns::query("home.ddns.test.", RecordType::A, false);
    huge.resize(60_000, 0x42);
    let reply = dns::tcp_raw(s.dns, &huge);
    assert_eq!(reply[3] & 0x0f, 1);
    // Random junk, many times.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..2000 {
        let mut packet = dns::query("home.ddns.test.", RecordType::A, true);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let i = (seed as usize) % packet.len();
        packet[i] ^= (seed >> 40) as u8 | 1;
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.send_to(&packet, s.dns).unwrap();
    }
    still_serving(&s);
    assert_eq!(serial(&s), serial0, "nothing changed");
}

#[tokio::test]
async fn garbage_http_requests() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    nic(&s, Some(&token), "hostname=home.ddns.test&myip=192.0.2.1").await;
    let serial0 = serial(&s);
    let long_name = format!("{}.ddns.test", vec!["a".repeat(63); 4].join("."));
    for query in [
        format!("hostname={long_name}&myip=192.0.2.9"),
        "hostname=home.ddns.test&myip=192.0.2.9&myipv6=::ffff:1.2.3.4".into(),
        "hostname=%ff%fe&myip=192.0.2.9".into(),
        "hostname=home.ddns.test&myip=192.0.2.9,,1.2.3".into(),
        "hostname=home..ddns.test&myip=192.0.2.9".into(),
        "hostname=home.ddns.test&myip=::".into(),
    ] {
        let (status, body) = nic(&s, Some(&token), &query).await;
        assert!(status >= 400, "{query} was accepted: {body}");
        assert!(
            ["notfqdn", "dnserr", "nohost"].contains(&body.as_str()),
            "{query}: {body}"
        );
    }
    // A body far over the limit.
    let response = http()
        .post(s.url("/update"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(vec![b' '; 200_000])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let response = http()
        .post(s.url("/update"))
        .bearer_auth(&token)
        .header("content-type", "text/xml")
        .body("<x/>")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);
    still_serving(&s);
    assert_eq!(serial(&s), serial0, "nothing changed");
}
