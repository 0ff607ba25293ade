//! A fake of Alibaba Cloud DNS (API 2015-01-09) on loopback: the RPC actions the agent uses,
//! their documented JSON shapes and error codes, and ACS3-HMAC-SHA256 checked the way the
//! gateway does — from the received query, headers and body, with the 15-minute clock window
//! and single-use nonces.
//!
//! Actions: `DescribeDomains`, `DescribeSubDomainRecords`, `AddDomainRecord`,
//! `UpdateDomainRecord` (refusing an update that changes nothing with `DomainRecordDuplicate`,
//! as Alibaba does), `DeleteDomainRecord`.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::fake_cloud::{
    ApiServer, CloudDns, FakeRecord, Reply, Request, absolute, authorization_params,
    canonical_headers, canonical_query, hex, hmac_sha256, json_reply, norm, param, path_of,
    query_params, relative, same, sha256_hex, unix_now, valid_value, zone_of,
};

/// Alibaba Cloud DNS on 127.0.0.1.
pub struct FakeAlidns {
    server: ApiServer,
    state: Arc<Mutex<State>>,
}

struct State {
    key_id: String,
    key_secret: String,
    zones: Vec<String>,
    records: Vec<FakeRecord>,
    next_id: u64,
    nonces: HashSet<String>,
    throttle: usize,
    deny_writes: bool,
    writes: usize,
}

impl FakeAlidns {
    /// Starts a fake that accepts this AccessKey.
    pub fn start(key_id: &str, key_secret: &str) -> Self {
        let state = Arc::new(Mutex::new(State {
            key_id: key_id.to_owned(),
            key_secret: key_secret.to_owned(),
            zones: Vec::new(),
            records: Vec::new(),
            next_id: 9_999_985,
            nonces: HashSet::new(),
            throttle: 0,
            deny_writes: false,
            writes: 0,
        }));
        let shared = Arc::clone(&state);
        let server = ApiServer::start(Arc::new(move |request: &Request| {
            handle(&mut shared.lock().unwrap(), request)
        }));
        Self { server, state }
    }
}

impl CloudDns for FakeAlidns {
    fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    fn provider_toml(&self, id: &str, secret: &str) -> String {
        format!(
            "type = \"alidns\"\naccess_key_id = \"{id}\"\naccess_key_secret = \"{secret}\"\nendpoint = \"{}\"\n",
            self.endpoint()
        )
    }

    fn credentials(&self) -> (String, String) {
        let s = self.state.lock().unwrap();
        (s.key_id.clone(), s.key_secret.clone())
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
                line: "default".into(),
            });
        }
        last
    }

    fn records(&self) -> Vec<FakeRecord> {
        self.state.lock().unwrap().records.clone()
    }

    fn default_line(&self) -> &'static str {
        "default"
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

const REQUEST_ID: &str = "536E9CAD-DB30-4647-AC87-AA5CC38C5382";

fn error(status: u16, code: &str, message: &str) -> Reply {
    json_reply(
        status,
        &json!({
            "RequestId": REQUEST_ID,
            "HostId": "alidns.aliyuncs.com",
            "Code": code,
            "Message": message,
            "Recommend": format!("https://api.aliyun.com/troubleshoot?q={code}"),
        }),
    )
}

fn handle(s: &mut State, request: &Request) -> Reply {
    if let Err(reply) = authenticate(s, request) {
        return reply;
    }
    if s.throttle > 0 {
        s.throttle -= 1;
        return error(
            400,
            "Throttling.User",
            "Request was denied due to user flow control.",
        );
    }
    let params: BTreeMap<String, String> = query_params(&request.target).into_iter().collect();
    let get = |k: &str| params.get(k).map(String::as_str);
    let action = request.header("x-acs-action").unwrap_or_default();
    let write = matches!(
        action,
        "AddDomainRecord" | "UpdateDomainRecord" | "DeleteDomainRecord"
    );
    if write && s.deny_writes {
        return error(
            403,
            "Forbidden.RAM",
            "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
        );
    }
    let page = get("PageNumber")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1usize)
        .max(1);
    let size = get("PageSize")
        .and_then(|p| p.parse().ok())
        .unwrap_or(20usize);
    if size > 100 {
        return error(400, "InvalidPageSize", "PageSize is at most 100.");
    }
    match action {
        "DescribeDomains" => {
            let mut zones = s.zones.clone();
            zones.sort();
            let list: Vec<Value> = zones
                .iter()
                .skip((page - 1) * size)
                .take(size)
                .map(|z| json!({"DomainName": z, "PunyCode": z, "DomainId": format!("id-{z}")}))
                .collect();
            json_reply(
                200,
                &json!({"TotalCount": zones.len(), "PageNumber": page, "PageSize": size,
                        "Domains": {"Domain": list}, "RequestId": REQUEST_ID}),
            )
        }
        "DescribeSubDomainRecords" => {
            let Some(sub) = get("SubDomain").map(norm) else {
                return error(
                    400,
                    "MissingSubDomain",
                    "SubDomain is mandatory for this action.",
                );
            };
            let zone = match get("DomainName").map(norm) {
                Some(z) if s.zones.contains(&z) => z,
                Some(_) => {
                    return error(
                        400,
                        "IncorrectDomainUser",
                        "The domain name does not belong to this user.",
                    );
                }
                None => match zone_of(&sub, &s.zones) {
                    Some(z) => z.clone(),
                    None => {
                        return error(
                            400,
                            "IncorrectDomainUser",
                            "The domain name does not belong to this user.",
                        );
                    }
                },
            };
            let Some(rr) = relative(&sub, &zone) else {
                return error(
                    400,
                    "InvalidSubDomain",
                    "The SubDomain is not in the domain.",
                );
            };
            let matching: Vec<&FakeRecord> = s
                .records
                .iter()
                .filter(|r| r.zone == zone && r.name == sub)
                .filter(|r| get("Type").is_none_or(|t| t.eq_ignore_ascii_case(&r.rtype)))
                .filter(|r| get("Line").is_none_or(|l| l == r.line))
                .collect();
            let list: Vec<Value> = matching
                .iter()
                .skip((page - 1) * size)
                .take(size)
                .map(|r| record_json(r, &rr))
                .collect();
            json_reply(
                200,
                &json!({"TotalCount": matching.len(), "PageNumber": page, "PageSize": list.len(),
                        "DomainRecords": {"Record": list}, "RequestId": REQUEST_ID}),
            )
        }
        "AddDomainRecord" => {
            let (Some(zone), Some(rr), Some(rtype), Some(value)) = (
                get("DomainName").map(norm),
                get("RR"),
                get("Type"),
                get("Value"),
            ) else {
                return error(
                    400,
                    "MissingParameter",
                    "DomainName, RR, Type and Value are mandatory.",
                );
            };
            if !s.zones.contains(&zone) {
                return error(
                    400,
                    "InvalidDomainName.NoExist",
                    "The specified domain name does not exist. Refresh the page and try again.",
                );
            }
            if !valid_value(rtype, value) {
                return error(400, "InvalidValue", "The record value is invalid.");
            }
            let name = absolute(rr, &zone);
            let line = get("Line").unwrap_or("default").to_owned();
            if s.records.iter().any(|r| {
                r.name == name && r.rtype == rtype && r.values == [value] && r.line == line
            }) {
                return error(
                    400,
                    "DomainRecordDuplicate",
                    "The DNS record already exists.",
                );
            }
            s.next_id += 1;
            let id = s.next_id.to_string();
            s.records.push(FakeRecord {
                id: id.clone(),
                zone,
                name,
                rtype: rtype.to_owned(),
                values: vec![value.to_owned()],
                ttl: get("TTL").and_then(|t| t.parse().ok()).unwrap_or(600),
                line,
            });
            s.writes += 1;
            json_reply(200, &json!({"RequestId": REQUEST_ID, "RecordId": id}))
        }
        "UpdateDomainRecord" => {
            let (Some(id), Some(rr), Some(rtype), Some(value)) =
                (get("RecordId"), get("RR"), get("Type"), get("Value"))
            else {
                return error(
                    400,
                    "MissingParameter",
                    "RecordId, RR, Type and Value are mandatory.",
                );
            };
            if !valid_value(rtype, value) {
                return error(400, "InvalidValue", "The record value is invalid.");
            }
            let Some(index) = s.records.iter().position(|r| r.id == id) else {
                return error(
                    400,
                    "DomainRecordNotBelongToUser",
                    "The DNS record does not belong to you.",
                );
            };
            let zone = s.records[index].zone.clone();
            let name = absolute(rr, &zone);
            let ttl = get("TTL")
                .and_then(|t| t.parse().ok())
                .unwrap_or(s.records[index].ttl);
            let line = get("Line").unwrap_or("default").to_owned();
            let record = &mut s.records[index];
            if record.name == name
                && record.rtype == rtype
                && record.values == [value]
                && record.ttl == ttl
                && record.line == line
            {
                return error(
                    400,
                    "DomainRecordDuplicate",
                    "The DNS record already exists.",
                );
            }
            record.name = name;
            record.rtype = rtype.to_owned();
            record.values = vec![value.to_owned()];
            record.ttl = ttl;
            record.line = line;
            s.writes += 1;
            json_reply(200, &json!({"RequestId": REQUEST_ID, "RecordId": id}))
        }
        "DeleteDomainRecord" => {
            let Some(id) = get("RecordId") else {
                return error(
                    400,
                    "MissingRecordId",
                    "RecordId is mandatory for this action.",
                );
            };
            let before = s.records.len();
            s.records.retain(|r| r.id != id);
            if s.records.len() == before {
                return error(
                    400,
                    "DomainRecordNotBelongToUser",
                    "The DNS record does not belong to you.",
                );
            }
            s.writes += 1;
            json_reply(200, &json!({"RequestId": REQUEST_ID, "RecordId": id}))
        }
        _ => error(
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        ),
    }
}

fn record_json(r: &FakeRecord, rr: &str) -> Value {
    json!({
        "DomainName": r.zone, "RecordId": r.id, "RR": rr, "Type": r.rtype,
        "Value": r.values.first().cloned().unwrap_or_default(), "TTL": r.ttl, "Line": r.line,
        "Status": "ENABLE", "Locked": false, "Weight": 1,
    })
}

/// ACS3-HMAC-SHA256 as the gateway checks it.
fn authenticate(s: &mut State, request: &Request) -> Result<(), Reply> {
    let incomplete = |m: &str| error(400, "IncompleteSignature", m);
    let auth = request
        .header("authorization")
        .ok_or_else(|| incomplete("The request signature does not conform to Aliyun standards."))?;
    let (algorithm, params) = authorization_params(auth)
        .ok_or_else(|| incomplete("The Authorization header is malformed."))?;
    if algorithm != "ACS3-HMAC-SHA256" {
        return Err(incomplete("The signature algorithm is not supported."));
    }
    let (Some(credential), Some(signed), Some(signature)) = (
        param(&params, "Credential"),
        param(&params, "SignedHeaders"),
        param(&params, "Signature"),
    ) else {
        return Err(incomplete(
            "Credential, SignedHeaders and Signature are required.",
        ));
    };
    if credential != s.key_id {
        return Err(error(
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        ));
    }
    let signed: Vec<&str> = signed.split(';').collect();
    // Every x-acs-* header sent, and host, must be signed.
    let unsigned = request
        .headers
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| n.starts_with("x-acs-") || *n == "host")
        .find(|n| !signed.contains(n));
    if let Some(name) = unsigned {
        return Err(incomplete(&format!("The header {name} is not signed.")));
    }
    for required in [
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
    ] {
        if request.header(required).is_none() {
            return Err(error(
                400,
                "MissingParameter",
                &format!("{required} is mandatory."),
            ));
        }
    }
    let payload_hash = sha256_hex(request.body.as_bytes());
    if request.header("x-acs-content-sha256") != Some(payload_hash.as_str()) {
        return Err(error(
            400,
            "ContentSHA256NotMatched",
            "x-acs-content-sha256 does not match the body.",
        ));
    }
    let Some(headers) = canonical_headers(request, &signed, false) else {
        return Err(incomplete("A signed header is missing from the request."));
    };
    let mut sorted = signed.clone();
    sorted.sort_unstable();
    let canonical = format!(
        "{}\n{}\n{}\n{headers}\n{}\n{payload_hash}",
        request.method,
        path_of(&request.target),
        canonical_query(&query_params(&request.target)),
        sorted.join(";"),
    );
    let string_to_sign = format!("ACS3-HMAC-SHA256\n{}", sha256_hex(canonical.as_bytes()));
    let expected = hex(&hmac_sha256(
        s.key_secret.as_bytes(),
        string_to_sign.as_bytes(),
    ));
    if !same(&expected, signature) {
        return Err(error(
            400,
            "SignatureDoesNotMatch",
            &format!(
                "Specified signature does not match our calculation. server string to sign is:{string_to_sign}"
            ),
        ));
    }
    let date = request.header("x-acs-date").unwrap_or_default();
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let at = time::PrimitiveDateTime::parse(date, format)
        .map(|t| t.assume_utc().unix_timestamp())
        .map_err(|_| {
            error(
                400,
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted.",
            )
        })?;
    if (unix_now() - at).abs() > 15 * 60 {
        return Err(error(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    let nonce = request.header("x-acs-signature-nonce").unwrap_or_default();
    if !s.nonces.insert(nonce.to_owned()) {
        return Err(error(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    if request.header("x-acs-version") != Some("2015-01-09") {
        return Err(error(
            400,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        ));
    }
    Ok(())
}
