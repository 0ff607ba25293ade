//! AWS Signature Version 4: the `Authorization` header of a request to an AWS API (Route 53).
//!
//! ```text
//! CanonicalRequest = Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
//!                    SignedHeaders \n hex(SHA256(body))
//! StringToSign     = "AWS4-HMAC-SHA256" \n X-Amz-Date \n yyyymmdd/region/service/aws4_request \n
//!                    hex(SHA256(CanonicalRequest))
//! kSigning         = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, yyyymmdd), region), service),
//!                    "aws4_request")
//! Authorization    = AWS4-HMAC-SHA256 Credential=AKID/scope, SignedHeaders=…, Signature=hex
//! ```
//! (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html)
//!
//! Pure: the caller passes the time, so the published examples are reproducible. Paths and
//! query values are given unencoded and encoded here once, the same way for the request line
//! and the canonical request, so the two cannot disagree.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// What is signed: method, path, query, the headers to sign, and the body.
#[derive(Clone, Debug)]
pub(crate) struct SignedRequest<'a> {
    pub(crate) method: &'a str,
    /// The absolute path, unencoded (`/2013-04-01/hostedzone/Z1/rrset`).
    pub(crate) path: &'a str,
    /// Query parameters, unencoded, in any order.
    pub(crate) query: &'a [(&'a str, &'a str)],
    /// Headers to sign besides `x-amz-date` (always signed): at least `host`.
    pub(crate) headers: &'a [(&'a str, &'a str)],
    pub(crate) body: &'a [u8],
}

/// Who signs, where: the key pair, region and service of the credential scope.
#[derive(Clone, Copy)]
pub(crate) struct Signer<'a> {
    pub(crate) access_key_id: &'a str,
    pub(crate) secret_access_key: &'a str,
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
}

impl Signer<'_> {
    /// The `Authorization` header value for `request` at `amz_date` (`20150830T123600Z`).
    pub(crate) fn authorization(&self, request: &SignedRequest<'_>, amz_date: &str) -> String {
        let date = amz_date.get(..8).unwrap_or(amz_date);
        let scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
        let (canonical, signed_headers) = canonical_request(request, amz_date);
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let key = [
            date.as_bytes(),
            self.region.as_bytes(),
            self.service.as_bytes(),
            b"aws4_request",
        ]
        .iter()
        .fold(
            format!("AWS4{}", self.secret_access_key).into_bytes(),
            |key, part| hmac(&key, part),
        );
        let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            self.access_key_id
        )
    }
}

/// `YYYYMMDDTHHMMSSZ` for a Unix time.
pub(crate) fn amz_date(unix: u64) -> String {
    let when = i64::try_from(unix)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        when.year(),
        u8::from(when.month()),
        when.day(),
        when.hour(),
        when.minute(),
        when.second()
    )
}

/// The path and query as they go on the request line, encoded like the canonical request.
pub(crate) fn request_target(path: &str, query: &[(&str, &str)]) -> String {
    let query = canonical_query(query);
    let path = canonical_path(path);
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

/// The canonical request and the signed-headers list.
fn canonical_request(request: &SignedRequest<'_>, amz_date: &str) -> (String, String) {
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), normalise_value(v)))
        .chain(std::iter::once((
            "x-amz-date".to_owned(),
            amz_date.to_owned(),
        )))
        .collect();
    headers.sort();
    let mut canonical_headers = String::new();
    for (name, value) in &headers {
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(value);
        canonical_headers.push('\n');
    }
    let signed: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    let signed = signed.join(";");
    let canonical = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed}\n{}",
        request.method,
        canonical_path(request.path),
        canonical_query(request.query),
        hex(&Sha256::digest(request.body))
    );
    (canonical, signed)
}

/// "Trim any leading or trailing spaces, and convert sequential spaces to a single space."
fn normalise_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Each segment URI-encoded; an empty path is `/`. Route 53 paths hold only unreserved
/// characters, so encoding once (as S3 does) and twice (as other services do) agree.
fn canonical_path(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    path.split('/')
        .map(uri_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// Keys and values encoded, then sorted by key (then value) in byte order.
fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// "URI encode every byte except the unreserved characters: 'A'-'Z', 'a'-'z', '0'-'9', '-',
/// '.', '_', and '~'" — space is `%20`, never `+`; hex digits upper case.
fn uri_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const DATE: &str = "20150830T123600Z";

    fn signer(service: &'static str) -> Signer<'static> {
        Signer {
            access_key_id: AKID,
            secret_access_key: SECRET,
            region: "us-east-1",
            service,
        }
    }

    /// AWS's own worked example, IAM `ListUsers`: canonical request, its hash
    /// `f536975d…`, signing key `c4afb1cc…` and signature `5d672d79…`.
    /// Source: AWS General Reference, "Create a canonical request", "Create a string to sign"
    /// and "Calculate the signature" for Signature Version 4
    /// (https://docs.aws.amazon.com/general/latest/gr/sigv4-create-canonical-request.html,
    /// https://docs.aws.amazon.com/general/latest/gr/sigv4-calculate-signature.html).
    #[test]
    fn aws_general_reference_iam_list_users() {
        let request = SignedRequest {
            method: "GET",
            path: "/",
            query: &[("Version", "2010-05-08"), ("Action", "ListUsers")],
            headers: &[
                (
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                ),
                ("Host", "iam.amazonaws.com"),
            ],
            body: b"",
        };
        let (canonical, signed) = canonical_request(&request, DATE);
        assert_eq!(
            canonical,
            "GET\n/\nAction=ListUsers&Version=2010-05-08\n\
             content-type:application/x-www-form-urlencoded; charset=utf-8\n\
             host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
             content-type;host;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(signed, "content-type;host;x-amz-date");
        assert_eq!(
            hex(&Sha256::digest(canonical.as_bytes())),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        assert_eq!(
            signer("iam").authorization(&request, DATE),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    /// The AWS SigV4 test suite as vendored in awslabs/aws-c-auth,
    /// `tests/aws-signing-test-suite/v4/{get-vanilla,post-vanilla,
    /// get-vanilla-query-order-key-case}/header-signed-request.txt`
    /// (https://github.com/awslabs/aws-c-auth/tree/main/tests/aws-signing-test-suite/v4).
    #[test]
    fn aws_signing_test_suite() {
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: [Case<'_>; 3] = [
            (
                "GET",
                "get-vanilla",
                &[],
                "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            ),
            (
                "POST",
                "post-vanilla",
                &[],
                "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
            ),
            (
                "GET",
                "get-vanilla-query-order-key-case",
                &[("Param2", "value2"), ("Param1", "value1")],
                "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            ),
        ];
        for (method, name, query, signature) in cases {
            let request = SignedRequest {
                method,
                path: "/",
                query,
                headers: &[("Host", "example.amazonaws.com")],
                body: b"",
            };
            assert_eq!(
                signer("service").authorization(&request, DATE),
                format!(
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                     SignedHeaders=host;x-amz-date, Signature={signature}"
                ),
                "{name}"
            );
        }
    }

    #[test]
    fn encoding_and_dates() {
        assert_eq!(uri_encode("a b+c/~é"), "a%20b%2Bc%2F~%C3%A9");
        assert_eq!(
            request_target(
                "/2013-04-01/hostedzone/Z1/rrset",
                &[("type", "A"), ("name", "h.example.com.")]
            ),
            "/2013-04-01/hostedzone/Z1/rrset?name=h.example.com.&type=A"
        );
        assert_eq!(normalise_value("  a   b  "), "a b");
        assert_eq!(amz_date(1_440_938_160), DATE);
    }
}
