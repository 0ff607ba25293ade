//! A fake of GoDaddy's Domains API v1 (developer.godaddy.com/doc/endpoint/domains) on
//! loopback: `GET /v1/domains` (`limit`, `marker`), `GET /v1/domains/{domain}/records`
//! (`offset`, `limit`) and `PUT /v1/domains/{domain}/records/{type}/{name}`, which replaces
//! every record of that type and name with the array it is given.
//!
//! Checked as GoDaddy does: `Authorization: sso-key KEY:SECRET` (wrong → 401
//! `UNABLE_TO_AUTHENTICATE`), a domain the account lacks → 404 `NOT_FOUND`, a TTL under 600 or
//! a bad address → 422 `INVALID_BODY` with the field path, and, for an account the 2024 API
//! restriction applies to (`deny_writes`), 403 `ACCESS_DENIED` on writes. Throttled, it
//! answers 429 `TOO_MANY_REQUESTS` with `retryAfterSec: 7` in the body and no header.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::fake_cloud::{
    ApiServer, CloudDns, FakeRecord, Reply, Request, absolute, json_reply, norm, path_of,
    query_params, relative, same, valid_value, zone_of,
};

/// GoDaddy on 127.0.0.1.
pub struct FakeGodaddy {
    server: ApiServer,
    state: Arc<Mutex<State>>,
}

struct State {
    key: String,
    secret: String,
    zones: Vec<String>,
    records: Vec<FakeRecord>,
    next_id: u64,
    throttle: usize,
    deny_writes: bool,
    writes: usize,
}

impl FakeGodaddy {
    /// Starts a fake that accepts this key and secret.
    pub fn start(key: &str, secret: &str) -> Self {
        let state = Arc::new(Mutex::new(State {
            key: key.to_owned(),
            secret: secret.to_owned(),
            zones: Vec::new(),
            records: Vec::new(),
            next_id: 0,
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

impl CloudDns for FakeGodaddy {
    fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    fn provider_toml(&self, id: &str, secret: &str) -> String {
        format!(
            "type = \"godaddy\"\napi_key = \"{id}\"\napi_secret = \"{secret}\"\nendpoint = \"{}\"\n",
            self.endpoint()
        )
    }

    fn credentials(&self) -> (String, String) {
        let s = self.state.lock().unwrap();
        (s.key.clone(), s.secret.clone())
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
                line: String::new(),
            });
        }
        last
    }

    fn records(&self) -> Vec<FakeRecord> {
        self.state.lock().unwrap().records.clone()
    }

    fn default_line(&self) -> &'static str {
        ""
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

fn error(status: u16, code: &str, message: &str) -> Reply {
    json_reply(status, &json!({"code": code, "message": message}))
}

fn handle(s: &mut State, request: &Request) -> Reply {
    let credentials = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("sso-key "))
        .and_then(|kv| kv.split_once(':'));
    if !credentials.is_some_and(|(k, v)| same(k, &s.key) && same(v.trim(), &s.secret)) {
        return error(401, "UNABLE_TO_AUTHENTICATE", "Unable to authenticate");
    }
    if s.throttle > 0 {
        s.throttle -= 1;
        return json_reply(
            429,
            &json!({"code": "TOO_MANY_REQUESTS", "message": "Too many requests received within interval", "retryAfterSec": 7}),
        );
    }
    let query = query_params(&request.target);
    let number = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let path = path_of(&request.target);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["v1", "domains"]) => {
            let marker = query
                .iter()
                .find(|(n, _)| n == "marker")
                .map(|(_, v)| v.clone());
            let limit = number("limit").unwrap_or(1000).max(1);
            let mut zones = s.zones.clone();
            zones.sort();
            let list: Vec<Value> = zones
                .iter()
                .filter(|z| marker.as_ref().is_none_or(|m| *z > m))
                .take(limit)
                .map(|z| json!({"domain": z, "domainId": 1_000_000, "status": "ACTIVE", "expires": "2027-01-01T00:00:00.000Z", "renewAuto": true, "privacy": false, "locked": true}))
                .collect();
            json_reply(200, &Value::Array(list))
        }
        (method, ["v1", "domains", zone, "records", rest @ ..]) => {
            let zone = norm(zone);
            if !s.zones.contains(&zone) {
                return error(404, "NOT_FOUND", &format!("Domain {zone} not found"));
            }
            match (method, rest) {
                ("GET", []) => {
                    let offset = number("offset").unwrap_or(0);
                    let limit = number("limit").unwrap_or(500).max(1);
                    let list: Vec<Value> = s
                        .records
                        .iter()
                        .filter(|r| r.zone == zone)
                        .skip(offset)
                        .take(limit)
                        .map(|r| json!({"type": r.rtype, "name": relative(&r.name, &r.zone), "data": r.values[0], "ttl": r.ttl}))
                        .collect();
                    json_reply(200, &Value::Array(list))
                }
                ("PUT", [rtype, name]) => {
                    if s.deny_writes {
                        return error(
                            403,
                            "ACCESS_DENIED",
                            "Authenticated user is not allowed access",
                        );
                    }
                    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&request.body)
                    else {
                        return error(
                            422,
                            "INVALID_BODY",
                            "Request body doesn't fulfill schema, see details in `fields`",
                        );
                    };
                    let mut new = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        let data = item["data"].as_str().unwrap_or_default();
                        let ttl = item["ttl"].as_u64().unwrap_or(3600);
                        if ttl < 600 {
                            return json_reply(
                                422,
                                &json!({"code": "INVALID_BODY", "message": "Request body doesn't fulfill schema, see details in `fields`", "fields": [{"path": format!("records[{i}].ttl"), "code": "UNEXPECTED_TYPE", "message": "must be at least 600"}]}),
                            );
                        }
                        if !valid_value(rtype, data) {
                            return json_reply(
                                422,
                                &json!({"code": "INVALID_BODY", "message": "Request body doesn't fulfill schema, see details in `fields`", "fields": [{"path": format!("records[{i}].data"), "code": "UNEXPECTED_TYPE", "message": "is not a valid address"}]}),
                            );
                        }
                        new.push((data.to_owned(), u32::try_from(ttl).unwrap_or(u32::MAX)));
                    }
                    let fqdn = absolute(name, &zone);
                    s.records
                        .retain(|r| !(r.zone == zone && r.name == fqdn && r.rtype == *rtype));
                    for (data, ttl) in new {
                        s.next_id += 1;
                        let id = s.next_id.to_string();
                        s.records.push(FakeRecord {
                            id,
                            zone: zone.clone(),
                            name: fqdn.clone(),
                            rtype: (*rtype).to_owned(),
                            values: vec![data],
                            ttl,
                            line: String::new(),
                        });
                    }
                    s.writes += 1;
                    Reply {
                        status: 200,
                        headers: Vec::new(),
                        body: String::new(),
                    }
                }
                _ => error(404, "NOT_FOUND", "Not found"),
            }
        }
        _ => error(404, "NOT_FOUND", "Not found"),
    }
}
