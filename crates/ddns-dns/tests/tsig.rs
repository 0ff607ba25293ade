//! TSIG (RFC 8945): round trips, every failure a server must classify, multi-message streams,
//! and interoperability with dnspython, an independent implementation, through
//! `tests/tsig_peer.py`.
//!
//! The dnspython tests fail (they do not skip) when no python3 with dnspython is found; set
//! `DDNS_TEST_PYTHON` to choose the interpreter.

#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use ddns_core::{DomainName, Rcode};
use ddns_dns::tsig::{
    Algorithm, Failure, Key, KeyRing, SignedRequest, StreamSigner, StreamVerifier, TsigError,
    Verified, sign_request, sign_response, verify_request, verify_response,
};

/// base64 of "interop-secret-0123456789".
const SECRET: &str = "aW50ZXJvcC1zZWNyZXQtMDEyMzQ1Njc4OQ==";
const KEY_NAME: &str = "xfr.example.";
const FUDGE: u16 = 300;
const T0: u64 = 1_700_000_000;

fn key(algorithm: Algorithm) -> Key {
    Key::new(&DomainName::parse(KEY_NAME).unwrap(), algorithm, SECRET).unwrap()
}

fn ring(algorithm: Algorithm) -> KeyRing {
    let mut ring = KeyRing::new();
    ring.insert(key(algorithm)).unwrap();
    ring
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A query for www.example./A, header and question only.
fn query(id: u16) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    q.extend_from_slice(b"\x03www\x07example\x00\x00\x01\x00\x01");
    q
}

/// A response to `request` (header and question in `request[..len]`, no other records but the
/// TSIG) with one A record 192.0.2.`n`.
fn response_to(request: &[u8], len: usize, n: u8) -> Vec<u8> {
    let mut m = request[..len].to_vec();
    m[2] |= 0x84;
    m[6..8].copy_from_slice(&1u16.to_be_bytes());
    m[10..12].copy_from_slice(&0u16.to_be_bytes());
    m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, n]);
    m
}

fn valid<'k>(verified: Verified<'k>) -> SignedRequest<'k> {
    match verified {
        Verified::Valid(request) => request,
        other => panic!("expected a valid signature, got {other:?}"),
    }
}

fn failed<'k>(verified: Verified<'k>) -> Failure<'k> {
    match verified {
        Verified::Failed(failure) => failure,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn signed_query(algorithm: Algorithm, time: u64) -> (Vec<u8>, Vec<u8>) {
    let mut q = query(0x1234);
    let mac = sign_request(&key(algorithm), &mut q, time, FUDGE).unwrap();
    (q, mac)
}

/// Rebuilds the TSIG RR at `tsig_start` of a message we signed, with another MAC.
fn replace_mac(message: &[u8], tsig_start: usize, algorithm: Algorithm, mac: &[u8]) -> Vec<u8> {
    let owner = DomainName::parse(KEY_NAME).unwrap().to_wire().len();
    let rdata = tsig_start + owner + 10;
    let mac_size_at = rdata + algorithm.wire_name().len() + 8;
    let old = usize::from(u16::from_be_bytes([
        message[mac_size_at],
        message[mac_size_at + 1],
    ]));
    let mut out = message[..mac_size_at].to_vec();
    out.extend_from_slice(&(mac.len() as u16).to_be_bytes());
    out.extend_from_slice(mac);
    out.extend_from_slice(&message[mac_size_at + 2 + old..]);
    let rdlen =
        u16::from_be_bytes([message[rdata - 2], message[rdata - 1]]) as usize + mac.len() - old;
    out[rdata - 2..rdata].copy_from_slice(&(rdlen as u16).to_be_bytes());
    out
}

#[test]
fn round_trip_every_algorithm() {
    for algorithm in Algorithm::ALL {
        let ring = ring(algorithm);
        let (q, mac) = signed_query(algorithm, T0);
        assert_eq!(mac.len(), algorithm.mac_len());
        let request = valid(verify_request(&ring, &q, T0 + 10));
        assert_eq!(request.key.name(), b"\x03xfr\x07example\x00");
        assert_eq!(request.mac, mac);
        assert_eq!((request.time_signed, request.fudge), (T0, FUDGE));
        assert_eq!(request.original_id, 0x1234);
        assert_eq!(request.message_len, query(0x1234).len());

        let mut r = response_to(&q, request.message_len, 1);
        let unsigned_len = r.len();
        sign_response(
            request.key,
            &mut r,
            Some(&request.mac),
            T0 + 11,
            FUDGE,
            Rcode::NOERROR,
            &[],
        )
        .unwrap();
        assert_eq!(&r[10..12], &[0, 1], "ARCOUNT counts the TSIG");
        assert_eq!(
            verify_response(request.key, &r, &mac, T0 + 12),
            Ok(unsigned_len)
        );
        // A response is bound to its request's MAC.
        let mut other_mac = mac.clone();
        other_mac[0] ^= 1;
        assert_eq!(
            verify_response(request.key, &r, &other_mac, T0 + 12),
            Err(TsigError::BadMac)
        );
        assert!(matches!(
            verify_request(&ring, &query(1), T0),
            Verified::Unsigned
        ));
    }
}

#[test]
fn tampering_gives_badsig() {
    let ring = ring(Algorithm::HmacSha256);
    let (q, _) = signed_query(Algorithm::HmacSha256, T0);
    let unsigned_len = query(0).len();
    // Every octet of the signed part (after the ID) and of the MAC.
    let mac_start = q.len() - 6 - 32;
    for at in (2..unsigned_len).chain(mac_start..mac_start + 32) {
        if (4..=12).contains(&at) || at == 16 || at == 24 {
            continue; // Counts and label lengths: changing them is a format error.
        }
        let mut bad = q.clone();
        bad[at] ^= 0x20;
        let failure = failed(verify_request(&ring, &bad, T0));
        assert_eq!(failure.tsig_error, Some(Rcode::BADSIG), "octet {at}");
        assert_eq!(failure.rcode, Rcode::NOTAUTH);
    }
    // The header ID is not covered: Original ID stands in for it (RFC 8945 §4.3.2).
    let mut forwarded = q.clone();
    forwarded[0] = 0x99;
    assert_eq!(
        valid(verify_request(&ring, &forwarded, T0)).original_id,
        0x1234
    );
    // Another secret.
    let mut other = KeyRing::new();
    other
        .insert(
            Key::new(
                &DomainName::parse(KEY_NAME).unwrap(),
                Algorithm::HmacSha256,
                "b3RoZXItc2VjcmV0LTAxMjM0NTY3ODk=",
            )
            .unwrap(),
        )
        .unwrap();
    assert_eq!(
        failed(verify_request(&other, &q, T0)).error,
        TsigError::BadMac
    );
}

#[test]
fn unknown_key_or_algorithm_gives_badkey() {
    let (q, _) = signed_query(Algorithm::HmacSha256, T0);
    let mut elsewhere = KeyRing::new();
    elsewhere
        .insert(
            Key::new(
                &DomainName::parse("other.example.").unwrap(),
                Algorithm::HmacSha256,
                SECRET,
            )
            .unwrap(),
        )
        .unwrap();
    let failure = failed(verify_request(&elsewhere, &q, T0));
    assert_eq!(failure.rcode, Rcode::NOTAUTH);
    assert_eq!(failure.tsig_error, Some(Rcode::BADKEY));
    assert_eq!(failure.error.to_string(), "unknown TSIG key xfr.example.");
    let sha512 = ring(Algorithm::HmacSha512);
    let failure = failed(verify_request(&sha512, &q, T0));
    assert_eq!(failure.tsig_error, Some(Rcode::BADKEY));

    // The answer carries an unsigned TSIG: MAC Size 0, Error BADKEY.
    let mut r = response_to(&q, query(0).len(), 1);
    failure.append_error_tsig(&mut r, T0).unwrap();
    assert_eq!(&r[r.len() - 6..], &[0x12, 0x34, 0, 17, 0, 0]);
    assert_eq!(&r[r.len() - 8..r.len() - 6], &[0, 0], "MAC Size 0");
}

#[test]
fn time_outside_fudge_gives_badtime_after_the_mac() {
    let ring = ring(Algorithm::HmacSha256);
    let (q, mac) = signed_query(Algorithm::HmacSha256, T0);
    assert!(matches!(
        verify_request(&ring, &q, T0 + u64::from(FUDGE)),
        Verified::Valid(_)
    ));
    assert!(matches!(
        verify_request(&ring, &q, T0 - u64::from(FUDGE)),
        Verified::Valid(_)
    ));
    let late = T0 + u64::from(FUDGE) + 1;
    let failure = failed(verify_request(&ring, &q, late));
    assert_eq!(failure.tsig_error, Some(Rcode::BADTIME));
    assert_eq!(failure.rcode, Rcode::NOTAUTH);
    // MAC first (RFC 8945 §5.2.3): a forged request out of time is BADSIG, not BADTIME.
    let mut forged = q.clone();
    forged[14] ^= 1;
    assert_eq!(
        failed(verify_request(&ring, &forged, late)).tsig_error,
        Some(Rcode::BADSIG)
    );

    // The BADTIME answer is signed and carries our time in Other Data.
    let mut r = response_to(&q, query(0).len(), 1);
    failure.append_error_tsig(&mut r, late).unwrap();
    let mut other = vec![0, 6];
    other.extend_from_slice(&late.to_be_bytes()[2..]);
    assert_eq!(&r[r.len() - 8..], &other[..]);
    assert_eq!(
        verify_response(&key(Algorithm::HmacSha256), &r, &mac, T0),
        Err(TsigError::PeerRejected {
            error: Rcode::BADTIME
        })
    );
}

#[test]
fn misplaced_or_malformed_tsig_is_formerr() {
    let ring = ring(Algorithm::HmacSha256);
    let (q, _) = signed_query(Algorithm::HmacSha256, T0);
    // An OPT after the TSIG.
    let mut not_last = q.clone();
    not_last.extend_from_slice(&[0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]);
    not_last[11] = 2;
    let failure = failed(verify_request(&ring, &not_last, T0));
    assert_eq!(failure.error, TsigError::NotLast);
    assert_eq!((failure.rcode, failure.tsig_error), (Rcode::FORMERR, None));
    // Two TSIGs.
    let tsig = q[query(0).len()..].to_vec();
    let mut twice = q.clone();
    twice.extend_from_slice(&tsig);
    twice[11] = 2;
    assert_eq!(
        failed(verify_request(&ring, &twice, T0)).error,
        TsigError::MultipleTsig
    );
    // A TSIG in the answer section.
    let mut in_answer = q.clone();
    in_answer[7] = 1;
    in_answer[11] = 0;
    assert_eq!(
        failed(verify_request(&ring, &in_answer, T0)).error,
        TsigError::NotLast
    );
    // Class IN instead of ANY.
    let class_at = query(0).len() + 13 + 2;
    let mut class_in = q.clone();
    class_in[class_at..class_at + 2].copy_from_slice(&[0, 1]);
    assert_eq!(
        failed(verify_request(&ring, &class_in, T0)).error,
        TsigError::WrongClass { class: 1 }
    );
    // Cut short, and trailing octets.
    for bad in [&q[..q.len() - 1], &[&q[..], &[0]].concat()[..]] {
        let failure = failed(verify_request(&ring, bad, T0));
        assert_eq!(failure.rcode, Rcode::FORMERR, "{:?}", failure.error);
        let mut r = response_to(&q, query(0).len(), 1);
        let before = r.len();
        failure.append_error_tsig(&mut r, T0).unwrap();
        assert_eq!(r.len(), before, "no TSIG on a FORMERR answer");
    }
}

#[test]
fn truncated_macs() {
    let ring = ring(Algorithm::HmacSha256);
    let (q, mac) = signed_query(Algorithm::HmacSha256, T0);
    let start = query(0).len();
    // Truncated to the minimum (16 of 32): accepted, and the truncated MAC is the request MAC.
    let at_min = replace_mac(&q, start, Algorithm::HmacSha256, &mac[..16]);
    assert_eq!(valid(verify_request(&ring, &at_min, T0)).mac, &mac[..16]);
    // Below it, and empty: FORMERR (RFC 8945 §5.2.2.1, case 2).
    for size in [15, 10, 0] {
        let short = replace_mac(&q, start, Algorithm::HmacSha256, &mac[..size]);
        let failure = failed(verify_request(&ring, &short, T0));
        assert_eq!(failure.tsig_error, None, "size {size}");
        assert_eq!(failure.rcode, Rcode::FORMERR, "size {size}");
        assert!(matches!(failure.error, TsigError::MacTooShort { .. }));
    }
    // Longer than the hash: FORMERR (RFC 8945 §5.2.2.1, case 1).
    let long = replace_mac(
        &q,
        start,
        Algorithm::HmacSha256,
        &[mac.clone(), vec![0]].concat(),
    );
    let failure = failed(verify_request(&ring, &long, T0));
    assert_eq!((failure.rcode, failure.tsig_error), (Rcode::FORMERR, None));
}

#[test]
fn streams_chain_every_message() {
    for algorithm in Algorithm::ALL {
        let key = key(algorithm);
        let (q, request_mac) = signed_query(algorithm, T0);
        let len = query(0).len();
        let mut signer = StreamSigner::new(&key, &request_mac);
        let messages: Vec<Vec<u8>> = (1..=4)
            .map(|n| {
                let mut m = response_to(&q, len, n);
                signer.sign(&mut m, T0 + u64::from(n), FUDGE).unwrap();
                m
            })
            .collect();
        let mut verifier = StreamVerifier::new(&key, &request_mac);
        for m in &messages {
            assert!(verifier.verify(m, T0 + 5).unwrap().signed);
        }
        verifier.finish().unwrap();

        // Out of order, or a message altered: the chain breaks there and stays broken.
        let mut verifier = StreamVerifier::new(&key, &request_mac);
        verifier.verify(&messages[0], T0).unwrap();
        assert_eq!(verifier.verify(&messages[2], T0), Err(TsigError::BadMac));
        assert!(verifier.verify(&messages[1], T0).is_err());
        assert!(verifier.finish().is_err());
        // A later message alone does not verify as a first message.
        assert_eq!(
            StreamVerifier::new(&key, &request_mac).verify(&messages[1], T0),
            Err(TsigError::BadMac)
        );
        // An unsigned first message, or an unsigned last one.
        let plain = response_to(&q, len, 9);
        assert_eq!(
            StreamVerifier::new(&key, &request_mac).verify(&plain, T0),
            Err(TsigError::Unsigned)
        );
        let mut verifier = StreamVerifier::new(&key, &request_mac);
        verifier.verify(&messages[0], T0).unwrap();
        assert!(!verifier.verify(&plain, T0).unwrap().signed);
        assert!(verifier.finish().is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// dnspython.

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tsig_peer.py");

/// A python3 that can import dnspython, or a panic that says what to install.
fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let candidates: Vec<String> = std::env::var("DDNS_TEST_PYTHON")
            .into_iter()
            .chain(["python3".to_owned(), "/usr/bin/python3".to_owned()])
            .collect();
        candidates
            .iter()
            .find(|python| {
                Command::new(python)
                    .args(["-c", "import dns.tsig, dns.message"])
                    .output()
                    .is_ok_and(|out| out.status.success())
            })
            .cloned()
            .unwrap_or_else(|| {
                panic!(
                    "the TSIG interoperability tests need python3 with dnspython \
                     (Debian: apt-get install python3-dnspython); tried {candidates:?}; \
                     set DDNS_TEST_PYTHON to an interpreter that has it"
                )
            })
    })
}

/// Runs the dnspython peer; `Ok(stdout)` on success, `Err(stdout)` when it rejected a message.
fn peer(algorithm: Algorithm, args: &[&str]) -> Result<String, String> {
    let out = Command::new(python())
        .arg(SCRIPT)
        .args([algorithm.name(), KEY_NAME, SECRET])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    match out.status.code() {
        Some(0) => Ok(stdout),
        Some(1) if !stdout.is_empty() => Err(stdout),
        _ => panic!(
            "tsig_peer.py {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// A query signed by dnspython (its key name compressed against the question) and its MAC.
fn dnspython_query(algorithm: Algorithm) -> (Vec<u8>, Vec<u8>) {
    let out = peer(algorithm, &["sign-query"]).unwrap();
    let (wire, mac) = out.split_once(' ').unwrap();
    (unhex(wire), unhex(mac))
}

#[test]
fn dnspython_request_verified_and_answered_by_us() {
    for algorithm in Algorithm::ALL {
        let ring = ring(algorithm);
        let (q, mac) = dnspython_query(algorithm);
        let request = valid(verify_request(&ring, &q, now()));
        assert_eq!(request.mac, mac);
        assert_eq!(request.key.name_text(), KEY_NAME);

        let mut r = response_to(&q, request.message_len, 1);
        sign_response(
            request.key,
            &mut r,
            Some(&request.mac),
            now(),
            FUDGE,
            Rcode::NOERROR,
            &[],
        )
        .unwrap();
        assert_eq!(
            peer(algorithm, &["verify-response", &hex(&mac), &hex(&r)]),
            Ok("ok".to_owned())
        );
        // dnspython rejects it once altered.
        let mut altered = r.clone();
        altered[request.message_len + 15] ^= 1;
        assert_eq!(
            peer(algorithm, &["verify-response", &hex(&mac), &hex(&altered)]),
            Err("BadSignature".to_owned())
        );
        // And we reject its request once altered.
        let mut forged = q.clone();
        forged[13] ^= 1;
        assert_eq!(
            failed(verify_request(&ring, &forged, now())).tsig_error,
            Some(Rcode::BADSIG)
        );
    }
}

#[test]
fn our_request_verified_and_answered_by_dnspython() {
    for algorithm in Algorithm::ALL {
        let key = key(algorithm);
        let (q, mac) = signed_query(algorithm, now());
        assert_eq!(
            peer(algorithm, &["verify-query", &hex(&q)]),
            Ok("ok".to_owned())
        );
        let r = unhex(&peer(algorithm, &["respond", &hex(&q)]).unwrap());
        assert!(verify_response(&key, &r, &mac, now()).is_ok());
        let mut altered = r.clone();
        altered[r.len() - 20] ^= 1;
        assert_eq!(
            verify_response(&key, &altered, &mac, now()),
            Err(TsigError::BadMac)
        );
    }
}

#[test]
fn our_error_answers_understood_by_dnspython() {
    let algorithm = Algorithm::HmacSha256;
    let (q, mac) = dnspython_query(algorithm);
    let len = query(0).len();
    let answer = |failure: &Failure<'_>, now: u64| {
        let mut r = response_to(&q, len, 1);
        r[3] = (r[3] & 0xf0) | failure.rcode.low4();
        failure.append_error_tsig(&mut r, now).unwrap();
        peer(algorithm, &["verify-response", &hex(&mac), &hex(&r)])
    };
    let mut forged = q.clone();
    forged[13] ^= 1;
    let ring = ring(algorithm);
    let failure = failed(verify_request(&ring, &forged, now()));
    assert_eq!(answer(&failure, now()), Err("PeerBadSignature".to_owned()));
    let empty = KeyRing::new();
    let failure = failed(verify_request(&empty, &q, now()));
    assert_eq!(answer(&failure, now()), Err("PeerBadKey".to_owned()));
    let late = now() + 3600;
    let failure = failed(verify_request(&ring, &q, late));
    assert_eq!(failure.tsig_error, Some(Rcode::BADTIME));
    assert_eq!(answer(&failure, late), Err("PeerBadTime".to_owned()));
}

#[test]
fn dnspython_stream_verified_by_us() {
    for algorithm in Algorithm::ALL {
        let key = key(algorithm);
        let (q, mac) = signed_query(algorithm, now());
        // Every message signed, then one unsigned in the middle (RFC 8945 §5.3.1 allows it).
        for args in [vec!["4"], vec!["4", "2"]] {
            let out = peer(
                algorithm,
                &[&["sign-stream", &hex(&q)][..], &args[..]].concat(),
            )
            .unwrap();
            let messages: Vec<Vec<u8>> = out.lines().map(unhex).collect();
            assert_eq!(messages.len(), 4);
            let mut verifier = StreamVerifier::new(&key, &mac);
            let signed: Vec<bool> = messages
                .iter()
                .map(|m| verifier.verify(m, now()).unwrap().signed)
                .collect();
            verifier.finish().unwrap();
            assert_eq!(signed, [true, true, args.len() == 1, true], "{args:?}");

            // Drop a message: the next MAC no longer verifies.
            let mut verifier = StreamVerifier::new(&key, &mac);
            verifier.verify(&messages[0], now()).unwrap();
            assert_eq!(verifier.verify(&messages[3], now()), Err(TsigError::BadMac));
        }
    }
}

#[test]
fn our_stream_verified_by_dnspython() {
    for algorithm in Algorithm::ALL {
        let ring = ring(algorithm);
        let (q, mac) = dnspython_query(algorithm);
        let request = valid(verify_request(&ring, &q, now()));
        let mut signer = StreamSigner::new(request.key, &request.mac);
        let messages: Vec<String> = (1..=5)
            .map(|n| {
                let mut m = response_to(&q, request.message_len, n);
                signer.sign(&mut m, now(), FUDGE).unwrap();
                hex(&m)
            })
            .collect();
        let mut args = vec!["verify-stream".to_owned(), hex(&mac)];
        args.extend(messages.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(peer(algorithm, &args), Ok("ok 5".to_owned()));

        // Swapped messages are refused by dnspython too.
        let mut swapped = args.clone();
        swapped.swap(3, 4);
        assert_eq!(peer(algorithm, &swapped), Err("BadSignature".to_owned()));
    }
}

// ---------------------------------------------------------------------------------------------
// BIND's dig and Knot's kdig, as transfer clients of a one-connection TCP server on loopback.

/// Serves one query over TCP on `listener`: an AXFR of `example.` in three messages (SOA; A;
/// SOA), or, for any other type, one message with the SOA; each signed by a [`StreamSigner`].
/// With `corrupt`, the MAC of the last message but one (or of the only one) is altered.
fn serve_axfr(listener: std::net::TcpListener, ring: KeyRing, corrupt: bool) {
    use std::io::{Read, Write};
    let (mut stream, _) = listener.accept().unwrap();
    let mut len = [0u8; 2];
    if stream.read_exact(&mut len).is_err() {
        return; // The client never asked (see `transfer_with`).
    }
    let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut q).unwrap();
    let request = valid(verify_request(&ring, &q, now()));
    // Header and question ("example." AXFR IN) only.
    let question_end = 12 + 9 + 4;
    let soa: &[u8] = &[
        0xc0, 0x0c, 0, 6, 0, 1, 0, 0, 0x0e, 0x10, 0, 32, 2, b'n', b's', 0xc0, 0x0c, 4, b'h', b'o',
        b's', b't', 0xc0, 0x0c, 0, 0, 0, 1, 0, 0, 0x0e, 0x10, 0, 0, 0x03, 0x84, 0, 0x09, 0x3a,
        0x80, 0, 0, 0x0e, 0x10,
    ];
    let a: &[u8] = &[
        3, b'w', b'w', b'w', 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 2,
    ];
    let axfr = q[question_end - 4..question_end - 2] == [0, 252];
    let records = if axfr { vec![soa, a, soa] } else { vec![soa] };
    let bad = records.len().saturating_sub(2);
    let mut signer = StreamSigner::new(request.key, &request.mac);
    for (index, record) in records.into_iter().enumerate() {
        let mut m = q[..question_end].to_vec();
        m[2] |= 0x84;
        m[6..8].copy_from_slice(&1u16.to_be_bytes());
        m[10..12].copy_from_slice(&0u16.to_be_bytes());
        m.extend_from_slice(record);
        signer.sign(&mut m, now(), FUDGE).unwrap();
        if corrupt && index == bad {
            let at = m.len() - 10;
            m[at] ^= 1;
        }
        let framed = [&(m.len() as u16).to_be_bytes()[..], &m].concat();
        if stream.write_all(&framed).is_err() {
            return; // The client hung up, as it may after a bad MAC.
        }
    }
}

/// Runs `tool` (dig or kdig) for `qtype` over TCP against a fresh server; returns (success,
/// output).
fn transfer_with(tool: &str, qtype: &str, algorithm: Algorithm, corrupt: bool) -> (bool, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || serve_axfr(listener, ring(algorithm), corrupt));
    let name = algorithm.name().trim_end_matches('.');
    let out = Command::new(tool)
        .args([
            "-y",
            &format!("{name}:xfr.example:{SECRET}"),
            "@127.0.0.1",
            "-p",
            &port.to_string(),
            "+time=5",
            if tool == "dig" {
                "+tries=1"
            } else {
                "+retry=0"
            },
            "+tcp",
            "+norecurse",
            "example.",
            qtype,
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "the TSIG interoperability tests need {tool} \
                 (Debian: apt-get install bind9-dnsutils knot-dnsutils): {e}"
            )
        });
    // Unblocks `accept` when the client gave up before connecting.
    let _ = std::net::TcpStream::connect(("127.0.0.1", port));
    server.join().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Whether a tool's output carries a warning or error. Base64 MACs are dropped first: a random
/// MAC such as `…PUBAdA` spells "bad" often enough to make the check flaky.
fn suspicious(text: &str) -> bool {
    let words: String = text
        .split_whitespace()
        .filter(|word| !is_base64_blob(word))
        .collect::<Vec<_>>()
        .join(" ");
    let lower = words.to_ascii_lowercase().replace("noerror", "");
    ["fail", "warning", "error", "bad"]
        .iter()
        .any(|word| lower.contains(word))
}

fn is_base64_blob(word: &str) -> bool {
    word.len() >= 20
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

#[test]
fn dig_and_kdig_verify_our_responses() {
    for tool in ["dig", "kdig"] {
        for algorithm in Algorithm::ALL {
            let (ok, text) = transfer_with(tool, "SOA", algorithm, false);
            assert!(ok && !suspicious(&text), "{tool} {algorithm}: {text}");
            assert!(text.contains("host.example."), "{tool} {algorithm}: {text}");
        }
        let (ok, text) = transfer_with(tool, "SOA", Algorithm::HmacSha256, true);
        assert!(
            !ok || suspicious(&text),
            "{tool} accepted a corrupted MAC: {text}"
        );
    }
}

/// kdig 3.2 does not check TSIG on the messages of a transfer (a corrupted MAC passes), so
/// only dig proves the chaining there; kdig still has to accept the stream.
#[test]
fn dig_and_kdig_accept_our_transfer_stream() {
    for tool in ["dig", "kdig"] {
        for algorithm in Algorithm::ALL {
            let (ok, text) = transfer_with(tool, "AXFR", algorithm, false);
            assert!(ok, "{tool} {algorithm}: {text}");
            assert!(text.contains("192.0.2.2"), "{tool} {algorithm}: {text}");
            assert!(!suspicious(&text), "{tool} {algorithm}: {text}");
        }
    }
    let (ok, text) = transfer_with("dig", "AXFR", Algorithm::HmacSha256, true);
    assert!(
        !ok || suspicious(&text),
        "dig accepted a corrupted MAC: {text}"
    );
}
