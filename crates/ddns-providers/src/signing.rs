//! The HMAC request-signing schemes of the Chinese cloud DNS APIs, on one canonical request.
//!
//! Alibaba Cloud's ACS3-HMAC-SHA256, Tencent Cloud's TC3-HMAC-SHA256 and Huawei Cloud's
//! SDK-HMAC-SHA256 all follow one skeleton (providers.md §0.2):
//!
//! ```text
//! CanonicalRequest = METHOD \n URI \n QUERY \n HEADERS \n SIGNED-HEADERS \n hex(sha256(body))
//! StringToSign     = ALGORITHM \n [date \n scope \n] hex(sha256(CanonicalRequest))
//! Signature        = hex(HMAC-SHA256(key, StringToSign))
//! ```
//! and differ only in the string to sign and the key: Alibaba and Huawei sign with the raw
//! secret, Tencent derives a key per day and service. [`CanonicalRequest`] builds the common
//! part; one function per scheme does the rest.
//!
//! Only SHA-256 lives here. Alibaba's older RPC signature (V2, HMAC-SHA1 over a query string)
//! is not implemented: the vendor's "V3 request structure and signature" page tells V2 users
//! to switch to V3, which covers every Alibaba Cloud DNS action, so an HMAC-SHA1 helper would
//! have no caller. AWS SigV4 lives in its own module.
//!
//! Every scheme is checked against the vendor's published worked example in the tests below.

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// SHA-256 of `data` in lower-case hex: the payload hash every scheme signs.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// HMAC-SHA256 of `data` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail.
    let mut mac = <Hmac<Sha256>>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Percent-encodes `text` as RFC 3986 asks of URI components, which all three vendors require:
///
/// ```text
/// unreserved  = ALPHA / DIGIT / "-" / "." / "_" / "~"             (RFC 3986 §2.3)
/// ```
/// Every other byte of the UTF-8 form becomes `%XX` with upper-case hex, so a space is `%20`
/// (never `+`) and `*` is `%2A`.
pub(crate) fn percent_encode(text: &str) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(DIGITS[usize::from(b >> 4)]));
            out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// The canonical query string: names and values percent-encoded, pairs sorted by name (then
/// value) in byte order, joined with `&`. The same text is sent as the request's query, so
/// what the server decodes and re-encodes is exactly what was signed.
pub(crate) fn canonical_query<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (percent_encode(k.as_ref()), percent_encode(v.as_ref())))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The part of a request every scheme signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CanonicalRequest {
    method: String,
    uri: String,
    query: String,
    /// Lower-case names, trimmed values, sorted by name.
    headers: Vec<(String, String)>,
    payload_hash: String,
}

impl CanonicalRequest {
    /// `query` is already canonical ([`canonical_query`]); `headers` are the ones to sign, in
    /// any order and case; `payload_hash` is [`sha256_hex`] of the body.
    pub(crate) fn new(
        method: &str,
        uri: &str,
        query: &str,
        headers: &[(&str, &str)],
        payload_hash: &str,
    ) -> Self {
        let mut headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        headers.sort();
        Self {
            method: method.to_owned(),
            uri: uri.to_owned(),
            query: query.to_owned(),
            headers,
            payload_hash: payload_hash.to_owned(),
        }
    }

    /// The signed header names, `;`-separated.
    pub(crate) fn signed_headers(&self) -> String {
        self.headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(";")
    }

    /// The canonical request text.
    pub(crate) fn text(&self) -> String {
        let mut out = format!("{}\n{}\n{}\n", self.method, self.uri, self.query);
        for (name, value) in &self.headers {
            out.push_str(name);
            out.push(':');
            out.push_str(value);
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.signed_headers());
        out.push('\n');
        out.push_str(&self.payload_hash);
        out
    }

    /// hex(sha256(canonical request)).
    pub(crate) fn hash(&self) -> String {
        sha256_hex(self.text().as_bytes())
    }
}

/// Alibaba Cloud ACS3-HMAC-SHA256 ("signature method V3"): the `Authorization` header.
///
/// ```text
/// StringToSign = SignatureAlgorithm + "\n" + HashedCanonicalRequest
/// Signature    = HexEncode(HMAC-SHA256(AccessKeySecret, StringToSign))
/// Authorization: ACS3-HMAC-SHA256 Credential=AccessKeyId,SignedHeaders=…,Signature=…
/// ```
/// (Alibaba Cloud SDK, "Request syntax and signature method V3"). No spaces after the commas.
pub(crate) fn acs3_authorization(
    access_key_id: &str,
    access_key_secret: &str,
    request: &CanonicalRequest,
) -> String {
    let string_to_sign = format!("ACS3-HMAC-SHA256\n{}", request.hash());
    let signature = hex(&hmac_sha256(
        access_key_secret.as_bytes(),
        string_to_sign.as_bytes(),
    ));
    format!(
        "ACS3-HMAC-SHA256 Credential={access_key_id},SignedHeaders={},Signature={signature}",
        request.signed_headers()
    )
}

/// Tencent Cloud TC3-HMAC-SHA256 ("Signature v3"): the `Authorization` header.
///
/// ```text
/// CredentialScope = Date/service/tc3_request        (Date: UTC yyyy-mm-dd of the timestamp)
/// StringToSign    = TC3-HMAC-SHA256\n{timestamp}\n{CredentialScope}\n{HashedCanonicalRequest}
/// SecretDate = HMAC("TC3" + SecretKey, Date); SecretService = HMAC(SecretDate, service)
/// SecretSigning = HMAC(SecretService, "tc3_request")
/// Authorization: TC3-HMAC-SHA256 Credential=SecretId/CredentialScope, SignedHeaders=…, Signature=…
/// ```
/// Tencent lower-cases header *values* too; the caller passes them that way.
pub(crate) fn tc3_authorization(
    secret_id: &str,
    secret_key: &str,
    service: &str,
    timestamp: i64,
    request: &CanonicalRequest,
) -> String {
    let date = utc_date(timestamp);
    let scope = format!("{date}/{service}/tc3_request");
    let string_to_sign = format!("TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{}", request.hash());
    let k_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac_sha256(&k_date, service.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"tc3_request");
    let signature = hex(&hmac_sha256(&k_signing, string_to_sign.as_bytes()));
    format!(
        "TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders={}, Signature={signature}",
        request.signed_headers()
    )
}

/// Huawei Cloud SDK-HMAC-SHA256 (API Gateway AK/SK signing): the `Authorization` header.
///
/// ```text
/// StringToSign = Algorithm \n RequestDateTime \n HashedCanonicalRequest
/// signature    = HexEncode(HMAC(Secret Access Key, string to sign))
/// Authorization: SDK-HMAC-SHA256 Access=AK, SignedHeaders=…, Signature=…
/// ```
/// `sdk_date` is the `X-Sdk-Date` value (`YYYYMMDDTHHMMSSZ`). The canonical URI must end in
/// `/` although the request path does not; see [`huawei_canonical_uri`].
pub(crate) fn sdk_hmac_sha256_authorization(
    access_key: &str,
    secret_key: &str,
    sdk_date: &str,
    request: &CanonicalRequest,
) -> String {
    let string_to_sign = format!("SDK-HMAC-SHA256\n{sdk_date}\n{}", request.hash());
    let signature = hex(&hmac_sha256(
        secret_key.as_bytes(),
        string_to_sign.as_bytes(),
    ));
    format!(
        "SDK-HMAC-SHA256 Access={access_key}, SignedHeaders={}, Signature={signature}",
        request.signed_headers()
    )
}

/// Huawei's canonical URI: every path segment percent-encoded, and a `/` appended even though
/// the request path has none (the signing guide's "construct a canonical request" step; its
/// worked example signs `/v1/…/vpcs/` for a request to `/v1/…/vpcs`).
pub(crate) fn huawei_canonical_uri(path: &str) -> String {
    let mut uri = path
        .split('/')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// `yyyy-mm-dd` in UTC of a Unix timestamp (TC3's credential scope date).
fn utc_date(timestamp: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(timestamp)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}",
        at.year(),
        u8::from(at.month()),
        at.day()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn encodings() {
        assert_eq!(hex(&[0x00, 0x7f, 0xff]), "007fff");
        assert_eq!(sha256_hex(b""), EMPTY_SHA256);
        assert_eq!(percent_encode("a-Z_0.~"), "a-Z_0.~");
        assert_eq!(percent_encode("a b*c+/=&:"), "a%20b%2Ac%2B%2F%3D%26%3A");
        assert_eq!(percent_encode("默认"), "%E9%BB%98%E8%AE%A4");
        assert_eq!(
            canonical_query(&[("b", "2"), ("a", "x y"), ("A", "1"), ("a", "*")]),
            "A=1&a=%2A&a=x%20y&b=2"
        );
        assert_eq!(canonical_query::<&str, &str>(&[]), "");
        assert_eq!(
            huawei_canonical_uri("/v2/zones/a b"),
            "/v2/zones/a%20b/",
            "segments are encoded and a slash is appended"
        );
        assert_eq!(huawei_canonical_uri("/"), "/");
        assert_eq!(utc_date(1_551_113_065), "2019-02-25");
        // 2019-02-25 23:59:59 UTC and a second later: the date is UTC's, not local time's.
        assert_eq!(utc_date(1_551_139_199), "2019-02-25");
        assert_eq!(utc_date(1_551_139_200), "2019-02-26");
    }

    /// Alibaba Cloud's fixed-parameter example of signature method V3.
    ///
    /// Source: Alibaba Cloud SDK, "Request syntax and signature method V3", section "Fixed
    /// parameter example": https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature
    /// (Chinese: https://help.aliyun.com/document_detail/2593177.html). Only the
    /// `2023-10-26T10:22:32Z` / `3156853299…` inputs of the worked example produce the
    /// published signature; the header table beside it prints other date and nonce values.
    #[test]
    fn acs3_matches_alibaba_worked_example() {
        let query = canonical_query(&[
            (
                "ImageId",
                "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
            ),
            ("RegionId", "cn-shanghai"),
        ]);
        let request = CanonicalRequest::new(
            "POST",
            "/",
            &query,
            &[
                ("host", "ecs.cn-shanghai.aliyuncs.com"),
                ("x-acs-action", "RunInstances"),
                ("x-acs-version", "2014-05-26"),
                ("x-acs-date", "2023-10-26T10:22:32Z"),
                ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
                ("x-acs-content-sha256", EMPTY_SHA256),
            ],
            &sha256_hex(b""),
        );
        assert_eq!(
            request.text(),
            format!(
                "POST\n/\nImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n\
                 host:ecs.cn-shanghai.aliyuncs.com\nx-acs-action:RunInstances\n\
                 x-acs-content-sha256:{EMPTY_SHA256}\nx-acs-date:2023-10-26T10:22:32Z\n\
                 x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\nx-acs-version:2014-05-26\n\n\
                 host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n\
                 {EMPTY_SHA256}"
            )
        );
        assert_eq!(
            request.hash(),
            "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        assert_eq!(
            acs3_authorization("YourAccessKeyId", "YourAccessKeySecret", &request),
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,\
             SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,\
             Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
    }

    /// Tencent Cloud's worked example of TC3-HMAC-SHA256.
    ///
    /// Source: Tencent Cloud API "Signature v3", https://www.tencentcloud.com/document/api/1157/49029
    /// (DNSPod's copy: https://cloud.tencent.com/document/api/1427/56189). The body is the
    /// page's pseudocode/Java payload with literal `\u` escapes; its Python demo builds another.
    #[test]
    fn tc3_matches_tencent_worked_example() {
        let body = r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        let payload_hash = sha256_hex(body.as_bytes());
        assert_eq!(
            payload_hash,
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        let request = CanonicalRequest::new(
            "POST",
            "/",
            "",
            &[
                ("Content-Type", "application/json; charset=utf-8"),
                ("Host", "cvm.tencentcloudapi.com"),
            ],
            &payload_hash,
        );
        assert_eq!(
            request.hash(),
            "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        assert_eq!(
            tc3_authorization(
                "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
                "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
                "cvm",
                1_551_113_065,
                &request
            ),
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, \
             SignedHeaders=content-type;host, \
             Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    /// Huawei Cloud's worked example of AK/SK signing (SDK-HMAC-SHA256).
    ///
    /// Source: Huawei Cloud API Request Signing Guide, "AK/SK Signing and Authentication
    /// Algorithm Details" (构造规范请求 … 添加签名信息到请求头):
    /// https://support.huaweicloud.com/devg-apisign/api-sign-algorithm-002.html to -005.html
    /// (PDF: https://support.huaweicloud.com/devg-apisign/apisign-devg-pdf.pdf).
    #[test]
    fn sdk_hmac_sha256_matches_huawei_worked_example() {
        let uri = huawei_canonical_uri("/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs");
        assert_eq!(uri, "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/");
        let query = canonical_query(&[
            ("marker", "13551d6b-755d-4757-b956-536f674975c0"),
            ("limit", "2"),
        ]);
        let request = CanonicalRequest::new(
            "GET",
            &uri,
            &query,
            &[
                ("Content-Type", "application/json"),
                ("X-Sdk-Date", "20191115T033655Z"),
                ("Host", "service.region.example.com"),
            ],
            &sha256_hex(b""),
        );
        assert_eq!(
            request.text(),
            format!(
                "GET\n/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\n\
                 limit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n\
                 content-type:application/json\nhost:service.region.example.com\n\
                 x-sdk-date:20191115T033655Z\n\ncontent-type;host;x-sdk-date\n{EMPTY_SHA256}"
            )
        );
        assert_eq!(
            request.hash(),
            "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
        );
        assert_eq!(
            sdk_hmac_sha256_authorization(
                "QTWAOYTTINDUT2QVKYUC",
                "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc",
                "20191115T033655Z",
                &request
            ),
            "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, \
             SignedHeaders=content-type;host;x-sdk-date, \
             Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
        );
    }

    #[test]
    fn a_changed_byte_changes_every_signature() {
        let base = CanonicalRequest::new("POST", "/", "a=1", &[("host", "h")], EMPTY_SHA256);
        let other = CanonicalRequest::new("POST", "/", "a=2", &[("host", "h")], EMPTY_SHA256);
        assert_ne!(
            acs3_authorization("id", "s", &base),
            acs3_authorization("id", "s", &other)
        );
        assert_ne!(
            tc3_authorization("id", "s", "dnspod", 1, &base),
            tc3_authorization("id", "t", "dnspod", 1, &base)
        );
        assert_ne!(
            sdk_hmac_sha256_authorization("ak", "sk", "20200101T000000Z", &base),
            sdk_hmac_sha256_authorization("ak", "sk", "20200101T000001Z", &base)
        );
    }
}
