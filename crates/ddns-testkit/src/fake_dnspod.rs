//! A fake of Tencent Cloud DNSPod (API 3.0, 2021-03-23) on loopback: JSON bodies posted to
//! `/`, answers always HTTP 200 with `Response` (and `Response.Error` on failure), and
//! TC3-HMAC-SHA256 checked as Tencent does — the SecretId, the 5-minute timestamp window, the
//! credential scope's UTC date and service, and the signature over the received headers
//! (values lower-cased) and body.
//!
//! Actions: `DescribeDomainList`, `DescribeRecordList` (an empty result is the error
//! `ResourceNotFound.NoDataOfRecord`), `CreateRecord`, `ModifyRecord`, `DeleteRecord`.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::fake_cloud::{
    ApiServer, CloudDns, FakeRecord, Request, absolute, authorization_params, canonical_headers,
    hex, hmac_sha256, json_reply, norm, param, path_of, same, sha256_hex, unix_now, valid_value,
    zone_of,
};

/// DNSPod on 127.0.0.1.
pub struct FakeDnspod {
    server: ApiServer,
    state: Arc<Mutex<State>>,
}

struct State {
    secret_id: String,
    secret_key: String,
    zones: Vec<String>,
    records: Vec<FakeRecord>,
    next_id: u64,
    throttle: usize,
    deny_writes: bool,
    writes: usize,
}

const LINES: [&str; 5] = ["默认", "电信", "联通", "移动", "境外"];

impl FakeDnspod {
    /// Starts a fake that accepts this API key.
    pub fn start(secret_id: &str, secret_key: &str) -> Self {
        let state = Arc::new(Mutex::new(State {
            secret_id: secret_id.to_owned(),
            secret_key: secret_key.to_owned(),
            zones: Vec::new(),
            records: Vec::new(),
            next_id: 161,
            throttle: 0,
            deny_writes: false,
            writes: 0,
        }));
        let shared = Arc::clone(&state);
        let server = ApiServer::start(Arc::new(move |request: &Request| {
            let mut s = shared.lock().unwrap();
            let response = match handle(&mut s, request) {
                Ok(mut value) => {
                    value["RequestId"] = json!(REQUEST_ID);
                    value
                }
                Err((code, message)) => json!({
                    "Error": {"Code": code, "Message": message},
                    "RequestId": REQUEST_ID,
                }),
            };
            json_reply(200, &json!({ "Response": response }))
        }));
        Self { server, state }
    }
}

impl CloudDns for FakeDnspod {
    fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    fn provider_toml(&self, id: &str, secret: &str) -> String {
        format!(
            "type = \"dnspod\"\nsecret_id = \"{id}\"\nsecret_key = \"{secret}\"\nendpoint = \"{}\"\n",
            self.endpoint()
        )
    }

    fn credentials(&self) -> (String, String) {
        let s = self.state.lock().unwrap();
        (s.secret_id.clone(), s.secret_key.clone())
    }

    fn add_zone(&self, zone: &str) {
        self.state.lock().unwrap().zones.push(norm(zone));
    }

    fn add_record(&self, name: &str, rtype: &str, values: &[&str], ttl: u32) -> String {
        let mut s = self.state.lock().unwrap();
        let name = norm(name);
        let zone = zone_of(&name, &s.zones)
            .cloned()
            .expect("add the zone first");
        let mut last = String::new();
        for value in values {
            s.next_id += 1;
            last = s.next_id.to_string();
            s.records.push(FakeRecord {
                id: last.clone(),
                zone: zone.clone(),
                name: name.clone(),
                rtype: rtype.to_owned(),
                values: vec![(*value).to_owned()],
                ttl,
                line: "默认".into(),
            });
        }
        last
    }

    fn records(&self) -> Vec<FakeRecord> {
        self.state.lock().unwrap().records.clone()
    }

    fn default_line(&self) -> &'static str {
        "默认"
    }

    fn writes(&self) -> usize {
        self.state.lock().unwrap().writes
    }

    fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }

    fn throttle(&self, n: usize) {
        self.state.lock().unwrap().throttle = n;
    }

    fn deny_writes(&self) {
        self.state.lock().unwrap().deny_writes = true;
    }
}

const REQUEST_ID: &str = "ab4f1426-ea15-4ed8-8a8d-7a4e1e3b5a5c";

type Answer = Result<Value, (&'static str, String)>;

fn fail(code: &'static str, message: &str) -> Answer {
    Err((code, message.to_owned()))
}

fn handle(s: &mut State, request: &Request) -> Answer {
    authenticate(s, request)?;
    if s.throttle > 0 {
        s.throttle -= 1;
        return fail(
            "RequestLimitExceeded",
            "请求的次数超过了频率限制。The number of requests exceeds the frequency limit.",
        );
    }
    let body: Value = serde_json::from_str(&request.body).map_err(|_| {
        (
            "InvalidParameter",
            "The request body is not valid JSON.".to_owned(),
        )
    })?;
    let action = request.header("x-tc-action").unwrap_or_default();
    let write = matches!(action, "CreateRecord" | "ModifyRecord" | "DeleteRecord");
    if write && s.deny_writes {
        return fail(
            "AuthFailure.UnauthorizedOperation",
            "请求未授权。The request is not authorized (CAM).",
        );
    }
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let number = |k: &str| body.get(k).and_then(Value::as_u64);
    let offset = usize::try_from(number("Offset").unwrap_or(0)).unwrap_or(0);
    let limit = usize::try_from(number("Limit").unwrap_or(100)).unwrap_or(100);
    let zone_named = |s: &State| -> Result<String, (&'static str, String)> {
        let zone = text("Domain").map(|d| norm(&d)).unwrap_or_default();
        if s.zones.contains(&zone) {
            Ok(zone)
        } else {
            Err((
                "InvalidParameterValue.DomainNotExists",
                "当前域名有误，请返回重新操作。The domain does not exist.".to_owned(),
            ))
        }
    };
    match action {
        "DescribeDomainList" => {
            if s.zones.is_empty() {
                return fail("ResourceNotFound.NoDataOfDomain", "列表为空。No domains.");
            }
            let mut zones = s.zones.clone();
            zones.sort();
            let list: Vec<Value> = zones
                .iter()
                .enumerate()
                .skip(offset)
                .take(limit)
                .map(|(i, z)| json!({"DomainId": 1000 + i, "Name": z, "Punycode": z, "Status": "ENABLE", "Grade": "DP_FREE"}))
                .collect();
            Ok(json!({
                "DomainCountInfo": {"AllTotal": zones.len(), "DomainTotal": zones.len(), "MineTotal": zones.len()},
                "DomainList": list,
            }))
        }
        "DescribeRecordList" => {
            let zone = zone_named(s)?;
            let sub = text("Subdomain");
            let matching: Vec<&FakeRecord> = s
                .records
                .iter()
                .filter(|r| r.zone == zone)
                .filter(|r| {
                    sub.as_deref()
                        .is_none_or(|sub| r.name == absolute(sub, &zone))
                })
                .filter(|r| text("RecordType").is_none_or(|t| t == r.rtype))
                .filter(|r| text("RecordLine").is_none_or(|l| l == r.line))
                .collect();
            if matching.is_empty() {
                return fail(
                    "ResourceNotFound.NoDataOfRecord",
                    "记录列表为空。No records.",
                );
            }
            let list: Vec<Value> = matching
                .iter()
                .skip(offset)
                .take(limit)
                .map(|r| record_json(r))
                .collect();
            Ok(json!({
                "RecordCountInfo": {"SubdomainCount": matching.len(), "TotalCount": matching.len(), "ListCount": list.len()},
                "RecordList": list,
            }))
        }
        "CreateRecord" | "ModifyRecord" => {
            let zone = zone_named(s)?;
            let rr = text("SubDomain").unwrap_or_else(|| "@".into());
            let (Some(rtype), Some(value), Some(line)) =
                (text("RecordType"), text("Value"), text("RecordLine"))
            else {
                return fail(
                    "MissingParameter",
                    "RecordType, Value and RecordLine are required.",
                );
            };
            if !LINES.contains(&line.as_str()) {
                return fail(
                    "InvalidParameter.RecordLineInvalid",
                    "记录线路不正确。The record line is invalid.",
                );
            }
            if !valid_value(&rtype, &value) {
                return fail("InvalidParameter.RecordValueInvalid", "记录值不正确。");
            }
            let ttl = number("TTL").map(|t| u32::try_from(t).unwrap_or(u32::MAX));
            if ttl.is_some_and(|t| t < 600) {
                return fail(
                    "LimitExceeded.RecordTtlLimit",
                    "记录的TTL值超出了限制。The TTL is below the plan's minimum (600).",
                );
            }
            let name = absolute(&rr, &zone);
            let id = number("RecordId").map(|i| i.to_string());
            let duplicate = s.records.iter().any(|r| {
                Some(&r.id) != id.as_ref()
                    && r.name == name
                    && r.rtype == rtype
                    && r.values == [value.clone()]
                    && r.line == line
            });
            if duplicate {
                return fail(
                    "InvalidParameter.DomainRecordExist",
                    "记录已经存在，无需再次添加。",
                );
            }
            let new_id = if action == "CreateRecord" {
                s.next_id += 1;
                let id = s.next_id.to_string();
                s.records.push(FakeRecord {
                    id: id.clone(),
                    zone,
                    name,
                    rtype,
                    values: vec![value],
                    ttl: ttl.unwrap_or(600),
                    line,
                });
                id
            } else {
                let Some(id) = id else {
                    return fail("MissingParameter", "RecordId is required.");
                };
                let Some(record) = s.records.iter_mut().find(|r| r.id == id && r.zone == zone)
                else {
                    return fail("InvalidParameter.RecordIdInvalid", "记录编号错误。");
                };
                record.name = name;
                record.rtype = rtype;
                record.values = vec![value];
                record.line = line;
                if let Some(ttl) = ttl {
                    record.ttl = ttl;
                }
                id
            };
            s.writes += 1;
            Ok(json!({"RecordId": new_id.parse::<u64>().unwrap_or(0)}))
        }
        "DeleteRecord" => {
            let zone = zone_named(s)?;
            let id = number("RecordId")
                .map(|i| i.to_string())
                .unwrap_or_default();
            let before = s.records.len();
            s.records.retain(|r| !(r.id == id && r.zone == zone));
            if s.records.len() == before {
                return fail("InvalidParameter.RecordIdInvalid", "记录编号错误。");
            }
            s.writes += 1;
            Ok(json!({}))
        }
        _ => fail(
            "InvalidAction",
            "The action does not exist or is not supported.",
        ),
    }
}

fn record_json(r: &FakeRecord) -> Value {
    let rr = crate::fake_cloud::relative(&r.name, &r.zone).unwrap_or_default();
    json!({
        "RecordId": r.id.parse::<u64>().unwrap_or(0), "Name": rr, "Type": r.rtype,
        "Value": r.values.first().cloned().unwrap_or_default(), "Line": r.line, "LineId": "0",
        "TTL": r.ttl, "Status": "ENABLE", "MX": 0, "Weight": null, "Remark": "",
        "UpdatedOn": "2026-01-01 00:00:00", "MonitorStatus": "",
    })
}

/// TC3-HMAC-SHA256 as Tencent's gateway checks it.
fn authenticate(s: &State, request: &Request) -> Result<(), (&'static str, String)> {
    let bad = |code: &'static str, m: &str| (code, m.to_owned());
    let auth = request.header("authorization").ok_or_else(|| {
        bad(
            "AuthFailure.SignatureFailure",
            "The Authorization header is missing.",
        )
    })?;
    let (algorithm, params) = authorization_params(auth).ok_or_else(|| {
        bad(
            "AuthFailure.InvalidAuthorization",
            "The Authorization header is malformed.",
        )
    })?;
    let (Some(credential), Some(signed), Some(signature)) = (
        param(&params, "Credential"),
        param(&params, "SignedHeaders"),
        param(&params, "Signature"),
    ) else {
        return Err(bad(
            "AuthFailure.InvalidAuthorization",
            "Credential, SignedHeaders and Signature are required.",
        ));
    };
    if algorithm != "TC3-HMAC-SHA256" {
        return Err(bad(
            "AuthFailure.InvalidAuthorization",
            "Unsupported algorithm.",
        ));
    }
    let parts: Vec<&str> = credential.split('/').collect();
    let [id, date, service, "tc3_request"] = parts.as_slice() else {
        return Err(bad(
            "AuthFailure.InvalidAuthorization",
            "The Credential is malformed.",
        ));
    };
    if *id != s.secret_id {
        return Err(bad(
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found.",
        ));
    }
    let timestamp: i64 = request
        .header("x-tc-timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| bad("MissingParameter", "X-TC-Timestamp is required."))?;
    if (unix_now() - timestamp).abs() > 300 {
        return Err(bad(
            "AuthFailure.SignatureExpire",
            "签名过期。The signature expired; the timestamp and server time differ by more than 5 minutes.",
        ));
    }
    let utc = time::OffsetDateTime::from_unix_timestamp(timestamp).unwrap();
    let expected_date = format!(
        "{:04}-{:02}-{:02}",
        utc.year(),
        u8::from(utc.month()),
        utc.day()
    );
    if *date != expected_date || *service != "dnspod" {
        return Err(bad(
            "AuthFailure.SignatureFailure",
            "The credential scope's date or service is wrong.",
        ));
    }
    if request.header("x-tc-version") != Some("2021-03-23") {
        return Err(bad(
            "InvalidParameterValue",
            "X-TC-Version must be 2021-03-23.",
        ));
    }
    let signed: Vec<&str> = signed.split(';').collect();
    if !signed.contains(&"content-type") || !signed.contains(&"host") {
        return Err(bad(
            "AuthFailure.SignatureFailure",
            "content-type and host must be signed.",
        ));
    }
    let Some(headers) = canonical_headers(request, &signed, true) else {
        return Err(bad(
            "AuthFailure.SignatureFailure",
            "A signed header is missing.",
        ));
    };
    let mut sorted = signed.clone();
    sorted.sort_unstable();
    let canonical = format!(
        "{}\n{}\n\n{headers}\n{}\n{}",
        request.method,
        path_of(&request.target),
        sorted.join(";"),
        sha256_hex(request.body.as_bytes())
    );
    let scope = format!("{date}/dnspod/tc3_request");
    let string_to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let k_date = hmac_sha256(format!("TC3{}", s.secret_key).as_bytes(), date.as_bytes());
    let k_service = hmac_sha256(&k_date, b"dnspod");
    let k_signing = hmac_sha256(&k_service, b"tc3_request");
    let expected = hex(&hmac_sha256(&k_signing, string_to_sign.as_bytes()));
    if !same(&expected, signature) {
        return Err(bad(
            "AuthFailure.SignatureFailure",
            "请求签名验证失败，请检查您的签名计算是否正确。The provided credentials could not be validated.",
        ));
    }
    Ok(())
}
