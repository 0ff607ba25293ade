//! A fake of Huawei Cloud DNS (public zones) on loopback: `GET /v2/zones`, the v2.1 record
//! set calls with their documented JSON shapes (names lower-case with a trailing dot, writes
//! answered `202 Accepted`, each zone born with its SOA and NS record sets), the DNS service's
//! `{"code","message"}` errors and the API gateway's `{"error_code","error_msg"}` ones, and
//! SDK-HMAC-SHA256 checked as the gateway does: canonical URI with the appended `/`, sorted
//! query, signed headers as received, body hash, and the 15-minute `X-Sdk-Date` window.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::fake_cloud::{
    ApiServer, CloudDns, FakeRecord, Reply, Request, authorization_params, canonical_headers,
    canonical_query, hex, hmac_sha256, json_reply, norm, param, path_of, query_params, rfc3986,
    same, sha256_hex, unix_now, valid_value, zone_of,
};

/// Huawei Cloud DNS on 127.0.0.1.
pub struct FakeHuaweicloud {
    server: ApiServer,
    state: Arc<Mutex<State>>,
}

struct State {
    access_key: String,
    secret_key: String,
    /// (id, name)
    zones: Vec<(String, String)>,
    records: Vec<FakeRecord>,
    next_id: u64,
    throttle: usize,
    retry_after: Option<u32>,
    deny_writes: bool,
    writes: usize,
}

impl State {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("2c9eb155587228570158{:012x}", self.next_id)
    }
}

impl FakeHuaweicloud {
    /// Starts a fake that accepts this AK/SK.
    pub fn start(access_key: &str, secret_key: &str) -> Self {
        let state = Arc::new(Mutex::new(State {
            access_key: access_key.to_owned(),
            secret_key: secret_key.to_owned(),
            zones: Vec::new(),
            records: Vec::new(),
            next_id: 0x002b_6ac3_0007,
            throttle: 0,
            retry_after: None,
            deny_writes: false,
            writes: 0,
        }));
        let shared = Arc::clone(&state);
        let server = ApiServer::start(Arc::new(move |request: &Request| {
            handle(&mut shared.lock().unwrap(), request)
        }));
        Self { server, state }
    }

    /// Throttling answers also carry `Retry-After: seconds`, as a gateway in front may add.
    pub fn throttle_with_retry_after(&self, n: usize, seconds: u32) {
        let mut s = self.state.lock().unwrap();
        s.throttle = n;
        s.retry_after = Some(seconds);
    }
}

impl CloudDns for FakeHuaweicloud {
    fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    fn provider_toml(&self, id: &str, secret: &str) -> String {
        format!(
            "type = \"huaweicloud\"\naccess_key = \"{id}\"\nsecret_key = \"{secret}\"\nendpoint = \"{}\"\n",
            self.endpoint()
        )
    }

    fn credentials(&self) -> (String, String) {
        let s = self.state.lock().unwrap();
        (s.access_key.clone(), s.secret_key.clone())
    }

    fn add_zone(&self, zone: &str) {
        let mut s = self.state.lock().unwrap();
        let id = s.new_id();
        let zone = norm(zone);
        s.zones.push((id, zone.clone()));
        for (rtype, values) in [
            (
                "SOA",
                vec![format!(
                    "ns1.huaweicloud-dns.com. hostmaster.{zone}. 1 7200 900 1209600 300"
                )],
            ),
            (
                "NS",
                vec![
                    "ns1.huaweicloud-dns.com.".to_owned(),
                    "ns1.huaweicloud-dns.cn.".to_owned(),
                ],
            ),
        ] {
            let id = s.new_id();
            s.records.push(FakeRecord {
                id,
                zone: zone.clone(),
                name: zone.clone(),
                rtype: rtype.into(),
                values,
                ttl: 300,
                line: "default_view".into(),
            });
        }
    }

    fn add_record(&self, name: &str, rtype: &str, values: &[&str], ttl: u32) -> String {
        let mut s = self.state.lock().unwrap();
        let name = norm(name);
        let names: Vec<String> = s.zones.iter().map(|(_, n)| n.clone()).collect();
        let zone = zone_of(&name, &names).cloned().expect("add the zone first");
        let id = s.new_id();
        s.records.push(FakeRecord {
            id: id.clone(),
            zone,
            name,
            rtype: rtype.to_owned(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            ttl,
            line: "default_view".into(),
        });
        id
    }

    fn records(&self) -> Vec<FakeRecord> {
        self.state.lock().unwrap().records.clone()
    }

    fn default_line(&self) -> &'static str {
        "default_view"
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

const REQUEST_ID: &str = "cb141a91c945e68950a14a8eff5d62dc";

fn gateway_error(status: u16, code: &str, message: &str) -> Reply {
    json_reply(
        status,
        &json!({"error_code": code, "error_msg": message, "request_id": REQUEST_ID}),
    )
}

fn dns_error(status: u16, code: &str, message: &str) -> Reply {
    json_reply(status, &json!({"code": code, "message": message}))
}

fn handle(s: &mut State, request: &Request) -> Reply {
    if let Err(reply) = authenticate(s, request) {
        return reply;
    }
    if s.throttle > 0 {
        s.throttle -= 1;
        let mut reply = gateway_error(
            429,
            "APIGW.0308",
            "The throttling threshold has been reached: policy user over ratelimit,limit:20,time:1 second",
        );
        if let Some(seconds) = s.retry_after {
            reply
                .headers
                .push(("Retry-After".into(), seconds.to_string()));
        }
        return reply;
    }
    let params = query_params(&request.target);
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let limit: usize = get("limit").and_then(|l| l.parse().ok()).unwrap_or(500);
    let offset: usize = get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
    if limit > 500 {
        return dns_error(
            400,
            "DNS.0016",
            "Invalid limit; it must be between 0 and 500.",
        );
    }
    let path = path_of(&request.target).to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = request.method.as_str();
    if method != "GET" && s.deny_writes {
        let action = match method {
            "POST" => "create",
            "PUT" => "update",
            _ => "delete",
        };
        return dns_error(
            403,
            "DNS.0030",
            &format!("Policy doesn't allow dns:recordset:{action} to be performed."),
        );
    }
    match (method, segments.as_slice()) {
        ("GET", ["v2", "zones"]) => {
            let mut zones: Vec<&(String, String)> = s
                .zones
                .iter()
                .filter(|_| get("type").is_none_or(|t| t == "public"))
                .filter(|(_, n)| get("name").is_none_or(|q| n.contains(&norm(q))))
                .collect();
            zones.sort_by(|a, b| a.1.cmp(&b.1));
            let list: Vec<Value> = zones
                .iter()
                .skip(offset)
                .take(limit)
                .map(|(id, name)| {
                    json!({"id": id, "name": format!("{name}."), "description": null,
                           "email": format!("hostmaster@{name}"), "ttl": 300, "serial": 1,
                           "zone_type": "public", "status": "ACTIVE", "record_num": 2,
                           "pool_id": "00000000570e54ee01570e9939b20019",
                           "created_at": "2026-01-01T00:00:00.000", "updated_at": null})
                })
                .collect();
            json_reply(
                200,
                &json!({"links": {"self": "https://dns.myhuaweicloud.com/v2/zones"},
                        "zones": list, "metadata": {"total_count": zones.len()}}),
            )
        }
        ("GET", ["v2.1", "zones", zone_id, "recordsets"]) => {
            let Some(zone) = zone_name(s, zone_id) else {
                return dns_error(404, "DNS.0101", "The zone does not exist.");
            };
            let exact = get("search_mode") == Some("equal");
            let matching: Vec<&FakeRecord> = s
                .records
                .iter()
                .filter(|r| r.zone == zone)
                .filter(|r| {
                    get("name").is_none_or(|q| {
                        let q = norm(q);
                        if exact {
                            r.name == q
                        } else {
                            r.name.contains(&q)
                        }
                    })
                })
                .filter(|r| get("type").is_none_or(|t| t == r.rtype))
                .collect();
            let list: Vec<Value> = matching
                .iter()
                .skip(offset)
                .take(limit)
                .map(|r| record_json(r, zone_id, "ACTIVE"))
                .collect();
            json_reply(
                200,
                &json!({"links": {"self": format!("https://dns.myhuaweicloud.com{path}")},
                        "recordsets": list, "metadata": {"total_count": matching.len()}}),
            )
        }
        ("POST", ["v2.1", "zones", zone_id, "recordsets"]) => {
            let Some(zone) = zone_name(s, zone_id) else {
                return dns_error(404, "DNS.0101", "The zone does not exist.");
            };
            let body = match parse_body(request) {
                Ok(b) => b,
                Err(reply) => return reply,
            };
            let (name, rtype, values, ttl, line) = match fields(&body, &zone) {
                Ok(f) => f,
                Err(reply) => return reply,
            };
            let line = line.unwrap_or_else(|| "default_view".into());
            if s.records
                .iter()
                .any(|r| r.name == name && r.rtype == rtype && r.line == line)
            {
                return dns_error(
                    400,
                    "DNS.0312",
                    &format!(
                        "Attribute 'name' conflicts with Record Set '{name}.' type '{rtype}' in line '{line}'."
                    ),
                );
            }
            let id = s.new_id();
            let record = FakeRecord {
                id,
                zone,
                name,
                rtype,
                values,
                ttl: ttl.unwrap_or(300),
                line,
            };
            let reply = record_json(&record, zone_id, "PENDING_CREATE");
            s.records.push(record);
            s.writes += 1;
            json_reply(202, &reply)
        }
        ("PUT", ["v2.1", "zones", zone_id, "recordsets", set_id]) => {
            let Some(zone) = zone_name(s, zone_id) else {
                return dns_error(404, "DNS.0101", "The zone does not exist.");
            };
            let body = match parse_body(request) {
                Ok(b) => b,
                Err(reply) => return reply,
            };
            let (name, rtype, values, ttl, _) = match fields(&body, &zone) {
                Ok(f) => f,
                Err(reply) => return reply,
            };
            let Some(record) = s
                .records
                .iter_mut()
                .find(|r| r.id == *set_id && r.zone == zone)
            else {
                return dns_error(404, "DNS.0004", "The record set does not exist.");
            };
            if record.name != name || record.rtype != rtype {
                return dns_error(
                    400,
                    "DNS.0307",
                    "The name and type of a record set cannot be changed.",
                );
            }
            record.values = values;
            if let Some(ttl) = ttl {
                record.ttl = ttl;
            }
            let reply = record_json(record, zone_id, "PENDING_UPDATE");
            s.writes += 1;
            json_reply(202, &reply)
        }
        ("DELETE", ["v2.1", "zones", zone_id, "recordsets", set_id]) => {
            let Some(zone) = zone_name(s, zone_id) else {
                return dns_error(404, "DNS.0101", "The zone does not exist.");
            };
            let Some(index) = s
                .records
                .iter()
                .position(|r| r.id == *set_id && r.zone == zone)
            else {
                return dns_error(404, "DNS.0004", "The record set does not exist.");
            };
            let record = s.records.remove(index);
            s.writes += 1;
            json_reply(202, &record_json(&record, zone_id, "PENDING_DELETE"))
        }
        _ => gateway_error(
            404,
            "APIGW.0101",
            "The API does not exist or has not been published in the environment",
        ),
    }
}

fn zone_name(s: &State, id: &str) -> Option<String> {
    s.zones
        .iter()
        .find(|(i, _)| i == id)
        .map(|(_, n)| n.clone())
}

fn parse_body(request: &Request) -> Result<Value, Reply> {
    serde_json::from_str(&request.body)
        .map_err(|_| dns_error(400, "DNS.0017", "The request body is not valid JSON."))
}

type Fields = (String, String, Vec<String>, Option<u32>, Option<String>);

fn fields(body: &Value, zone: &str) -> Result<Fields, Reply> {
    let invalid = |m: &str| dns_error(400, "DNS.0303", m);
    let name = body["name"]
        .as_str()
        .map(norm)
        .ok_or_else(|| invalid("The name of the record set is required."))?;
    if crate::fake_cloud::relative(&name, zone).is_none() {
        return Err(invalid("The record set name is not in the zone."));
    }
    let rtype = body["type"]
        .as_str()
        .ok_or_else(|| invalid("The type of the record set is required."))?
        .to_owned();
    let values: Vec<String> = body["records"]
        .as_array()
        .ok_or_else(|| invalid("The records of the record set are required."))?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if values.is_empty() || !values.iter().all(|v| valid_value(&rtype, v)) {
        return Err(dns_error(
            400,
            "DNS.0308",
            "Invalid records of the record set.",
        ));
    }
    let ttl = match body.get("ttl") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64().and_then(|t| u32::try_from(t).ok()) {
            Some(t) if (1..=2_147_483_647).contains(&t) => Some(t),
            _ => return Err(dns_error(400, "DNS.0319", "Invalid TTL of the record set.")),
        },
    };
    let line = body["line"].as_str().map(str::to_owned);
    Ok((name, rtype, values, ttl, line))
}

fn record_json(r: &FakeRecord, zone_id: &str, status: &str) -> Value {
    json!({
        "id": r.id, "name": format!("{}.", r.name), "description": null, "zone_id": zone_id,
        "zone_name": format!("{}.", r.zone), "type": r.rtype, "ttl": r.ttl, "records": r.values,
        "created_at": "2026-01-01T00:00:00.000", "updated_at": null, "status": status,
        "default": matches!(r.rtype.as_str(), "SOA" | "NS") && r.name == r.zone,
        "project_id": "e55c6f3dc4e34c9f86353b664ae0e70c", "line": r.line, "weight": 1,
        "health_check_id": null, "alias_target": null,
        "links": {"self": format!("https://dns.myhuaweicloud.com/v2.1/zones/{zone_id}/recordsets/{}", r.id)},
    })
}

/// SDK-HMAC-SHA256 as Huawei's API gateway checks it.
fn authenticate(s: &State, request: &Request) -> Result<(), Reply> {
    let iam = |detail: &str| {
        gateway_error(
            401,
            "APIGW.0301",
            &format!("Incorrect IAM authentication information: {detail}"),
        )
    };
    let auth = request
        .header("authorization")
        .ok_or_else(|| iam("Authorization header is missing"))?;
    let (algorithm, params) =
        authorization_params(auth).ok_or_else(|| iam("Authorization header is malformed"))?;
    let (Some(access), Some(signed), Some(signature)) = (
        param(&params, "Access"),
        param(&params, "SignedHeaders"),
        param(&params, "Signature"),
    ) else {
        return Err(iam("Access, SignedHeaders and Signature are required"));
    };
    if algorithm != "SDK-HMAC-SHA256" {
        return Err(iam("unsupported signing algorithm"));
    }
    if access != s.access_key {
        // The gateway names the key it does not know (ddns-go #844 quotes such a message).
        return Err(iam(&format!("ak {access} not exist")));
    }
    let date = request
        .header("x-sdk-date")
        .ok_or_else(|| iam("x-sdk-date header is missing"))?;
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let at = time::PrimitiveDateTime::parse(date, format)
        .map(|t| t.assume_utc().unix_timestamp())
        .map_err(|_| iam("x-sdk-date is not in the format YYYYMMDDTHHMMSSZ"))?;
    if (unix_now() - at).abs() > 15 * 60 {
        return Err(iam(
            "x-sdk-date expired, the client time and server time differ by more than 15 minutes",
        ));
    }
    let signed: Vec<&str> = signed.split(';').collect();
    if !signed.contains(&"host") || !signed.contains(&"x-sdk-date") {
        return Err(iam("host and x-sdk-date must be signed"));
    }
    let Some(headers) = canonical_headers(request, &signed, false) else {
        return Err(iam("a signed header is missing"));
    };
    let path = path_of(&request.target);
    let mut uri = path
        .split('/')
        .map(|segment| rfc3986(&crate::fake_cloud::decode_component(segment)))
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    let mut sorted = signed.clone();
    sorted.sort_unstable();
    let payload_hash = if request.header("x-sdk-content-sha256") == Some("UNSIGNED-PAYLOAD") {
        "UNSIGNED-PAYLOAD".to_owned()
    } else {
        sha256_hex(request.body.as_bytes())
    };
    let canonical = format!(
        "{}\n{uri}\n{}\n{headers}\n{}\n{payload_hash}",
        request.method,
        canonical_query(&query_params(&request.target)),
        sorted.join(";"),
    );
    let string_to_sign = format!(
        "SDK-HMAC-SHA256\n{date}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let expected = hex(&hmac_sha256(
        s.secret_key.as_bytes(),
        string_to_sign.as_bytes(),
    ));
    if !same(&expected, signature) {
        return Err(iam("verify aksk signature fail"));
    }
    Ok(())
}
