//! A fake of dynv6's REST API (v2, dynv6.github.io/api-spec) on loopback: `GET /api/v2/zones`,
//! `GET|PATCH /api/v2/zones/{id}` (the zone's own `ipv4address` and `ipv6prefix`, its apex A
//! and AAAA), `GET|POST /api/v2/zones/{id}/records` and `PATCH|DELETE
//! /api/v2/zones/{id}/records/{recordID}`.
//!
//! Checked as dynv6 does: `Authorization: Bearer …` (unknown → 401), a zone id of another
//! account → 404, a value of the wrong family → 422 `ValidationError` with the field, and a
//! token restricted to another zone (`deny_writes`) → 403 on writes. dynv6 documents no
//! throttling answer; throttled, this fake answers 429 with `Retry-After: 7`, which is what
//! the provider must honour whatever the gateway in front of dynv6 sends.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::fake_cloud::{
    ApiServer, CloudDns, FakeRecord, Reply, Request, absolute, json_reply, norm, path_of, relative,
    same, valid_value, zone_of,
};

/// dynv6 on 127.0.0.1.
pub struct FakeDynv6 {
    server: ApiServer,
    state: Arc<Mutex<State>>,
}

struct ZoneEntry {
    id: u64,
    name: String,
    ipv4: Option<String>,
    ipv6: Option<String>,
}

struct State {
    token: String,
    zones: Vec<ZoneEntry>,
    records: Vec<FakeRecord>,
    next_id: u64,
    throttle: usize,
    deny_writes: bool,
    writes: usize,
}

impl FakeDynv6 {
    /// Starts a fake that accepts this token.
    pub fn start(token: &str) -> Self {
        let state = Arc::new(Mutex::new(State {
            token: token.to_owned(),
            zones: Vec::new(),
            records: Vec::new(),
            next_id: 100,
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

impl CloudDns for FakeDynv6 {
    fn endpoint(&self) -> String {
        format!("{}api/v2", self.server.endpoint())
    }

    fn provider_toml(&self, _id: &str, secret: &str) -> String {
        format!(
            "type = \"dynv6\"\ntoken = \"{secret}\"\nendpoint = \"{}\"\n",
            self.endpoint()
        )
    }

    fn credentials(&self) -> (String, String) {
        (String::new(), self.state.lock().unwrap().token.clone())
    }

    fn add_zone(&self, zone: &str) {
        let mut s = self.state.lock().unwrap();
        let id = 1 + s.zones.len() as u64;
        s.zones.push(ZoneEntry {
            id,
            name: norm(zone),
            ipv4: None,
            ipv6: None,
        });
    }

    fn add_record(&self, name: &str, rtype: &str, values: &[&str], ttl: u32) -> String {
        let mut s = self.state.lock().unwrap();
        let name = norm(name);
        let names: Vec<String> = s.zones.iter().map(|z| z.name.clone()).collect();
        let zone = zone_of(&name, &names).cloned().expect("add the zone first");
        if name == zone {
            let entry = s.zones.iter_mut().find(|z| z.name == zone).unwrap();
            let value = values.first().map(|v| (*v).to_owned());
            match rtype {
                "A" => entry.ipv4 = value,
                "AAAA" => entry.ipv6 = value,
                other => panic!("dynv6 zones hold A and AAAA only, not {other}"),
            }
            return entry.id.to_string();
        }
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

    /// The records, with each zone's own addresses as apex A/AAAA records (TTL 0: dynv6 has
    /// no TTL setting).
    fn records(&self) -> Vec<FakeRecord> {
        let s = self.state.lock().unwrap();
        let mut out = s.records.clone();
        for z in &s.zones {
            for (rtype, value) in [("A", &z.ipv4), ("AAAA", &z.ipv6)] {
                if let Some(v) = value {
                    out.push(FakeRecord {
                        id: z.id.to_string(),
                        zone: z.name.clone(),
                        name: z.name.clone(),
                        rtype: rtype.into(),
                        values: vec![v.clone()],
                        ttl: 0,
                        line: String::new(),
                    });
                }
            }
        }
        out
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

fn error(status: u16, name: &str, message: &str) -> Reply {
    json_reply(
        status,
        &json!({"error": {"name": name, "message": message}}),
    )
}

fn invalid(field: &str, message: &str) -> Reply {
    json_reply(
        422,
        &json!({"error": {"name": "ValidationError", "message": "Field value validation failed", "fields": [{"name": field, "message": message}]}}),
    )
}

fn zone_json(z: &ZoneEntry) -> Value {
    json!({
        "id": z.id, "name": z.name, "ipv4address": z.ipv4.clone().unwrap_or_default(),
        "ipv6prefix": z.ipv6.clone().unwrap_or_default(),
        "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
    })
}

fn handle(s: &mut State, request: &Request) -> Reply {
    let token = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "));
    if !token.is_some_and(|t| same(t.trim(), &s.token)) {
        return error(401, "Unauthorized", "Unauthorized");
    }
    if s.throttle > 0 {
        s.throttle -= 1;
        let mut reply = error(429, "TooManyRequests", "Too many requests");
        reply.headers.push(("retry-after".into(), "7".into()));
        return reply;
    }
    if request.method != "GET" && s.deny_writes {
        return error(403, "Forbidden", "Forbidden");
    }
    let path = path_of(&request.target);
    let Some(rest) = path.strip_prefix("/api/v2/zones") else {
        return error(404, "NotFound", "Not found");
    };
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    let body = || serde_json::from_str::<Value>(&request.body).unwrap_or(Value::Null);
    if segments.as_slice() == [""] {
        if request.method != "GET" {
            return error(405, "MethodNotAllowed", "Method not allowed");
        }
        let list: Vec<Value> = s.zones.iter().map(zone_json).collect();
        return json_reply(200, &Value::Array(list));
    }
    let Some(at) = segments
        .first()
        .and_then(|id| id.parse::<u64>().ok())
        .and_then(|id| s.zones.iter().position(|z| z.id == id))
    else {
        return error(404, "NotFound", "Zone not found");
    };
    let zone = s.zones[at].name.clone();
    match (request.method.as_str(), &segments[1..]) {
        ("GET", []) => json_reply(200, &zone_json(&s.zones[at])),
        ("PATCH", []) => {
            let body = body();
            for (field, rtype) in [("ipv4address", "A"), ("ipv6prefix", "AAAA")] {
                if let Some(v) = body[field].as_str()
                    && !valid_value(rtype, v.split('/').next().unwrap_or(v))
                {
                    return invalid(field, "is not a valid address");
                }
            }
            if let Some(v) = body["ipv4address"].as_str() {
                s.zones[at].ipv4 = Some(v.to_owned());
            }
            if let Some(v) = body["ipv6prefix"].as_str() {
                s.zones[at].ipv6 = Some(v.to_owned());
            }
            s.writes += 1;
            json_reply(200, &zone_json(&s.zones[at]))
        }
        ("GET", ["records"]) => {
            let list: Vec<Value> = s
                .records
                .iter()
                .filter(|r| r.zone == zone)
                .map(|r| record_json(r, s.zones[at].id))
                .collect();
            json_reply(200, &Value::Array(list))
        }
        ("POST", ["records"]) => {
            let body = body();
            let (Some(rtype), Some(name), Some(data)) = (
                body["type"].as_str(),
                body["name"].as_str(),
                body["data"].as_str(),
            ) else {
                return invalid("data", "name, type and data are required");
            };
            if !valid_value(rtype, data) {
                return invalid("data", "is not a valid address");
            }
            s.next_id += 1;
            let record = FakeRecord {
                id: s.next_id.to_string(),
                zone: zone.clone(),
                name: absolute(name, &zone),
                rtype: rtype.to_owned(),
                values: vec![data.to_owned()],
                ttl: 0,
                line: String::new(),
            };
            let reply = json_reply(200, &record_json(&record, s.zones[at].id));
            s.records.push(record);
            s.writes += 1;
            reply
        }
        ("PATCH", ["records", id]) => {
            let body = body();
            let Some(r) = s.records.iter_mut().find(|r| r.id == *id && r.zone == zone) else {
                return error(404, "NotFound", "Record not found");
            };
            if let Some(data) = body["data"].as_str() {
                if !valid_value(&r.rtype, data) {
                    return invalid("data", "is not a valid address");
                }
                r.values = vec![data.to_owned()];
            }
            let reply = json_reply(200, &record_json(r, 0));
            s.writes += 1;
            reply
        }
        ("DELETE", ["records", id]) => {
            let before = s.records.len();
            s.records.retain(|r| !(r.id == *id && r.zone == zone));
            if s.records.len() == before {
                return error(404, "NotFound", "Record not found");
            }
            s.writes += 1;
            Reply {
                status: 204,
                headers: Vec::new(),
                body: String::new(),
            }
        }
        _ => error(404, "NotFound", "Not found"),
    }
}

fn record_json(r: &FakeRecord, zone_id: u64) -> Value {
    json!({
        "id": r.id.parse::<u64>().unwrap_or(0), "zoneID": zone_id, "type": r.rtype,
        "name": relative(&r.name, &r.zone).unwrap_or_default(), "data": r.values[0],
        "priority": null, "expandedData": r.values[0],
    })
}
