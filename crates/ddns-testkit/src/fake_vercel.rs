//! A fake of Vercel's domains and DNS REST API (vercel.com/docs/rest-api) on loopback:
//! `GET /v5/domains`, `GET /v4/domains/{domain}/records`, `POST /v2/domains/{domain}/records`,
//! `PATCH /v1/domains/records/{id}` and `DELETE /v2/domains/{domain}/records/{id}`, paginated
//! with `limit`/`until` and `pagination.next`; the apex record's `name` is `""`.
//!
//! Checked as Vercel does: `Authorization: Bearer …` (unknown → 403 `forbidden` with
//! `invalidToken: true`), a domain outside the token's scope → 404 `not_found`, a TTL under 60
//! or a bad address → 400 `bad_request`, a token of another scope (`deny_writes`) → 403
//! `forbidden` on writes. Throttled, it answers 429 `rate_limited` with `X-RateLimit-Reset`
//! (Unix time, 7 s ahead) and no `Retry-After`.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::fake_cloud::{
    ApiServer, CloudDns, FakeRecord, Reply, Request, absolute, json_reply, norm, path_of,
    query_params, relative, same, unix_now, valid_value, zone_of,
};

/// Vercel on 127.0.0.1.
pub struct FakeVercel {
    server: ApiServer,
    state: Arc<Mutex<State>>,
}

struct State {
    token: String,
    zones: Vec<String>,
    records: Vec<FakeRecord>,
    next_id: u64,
    throttle: usize,
    deny_writes: bool,
    writes: usize,
}

impl FakeVercel {
    /// Starts a fake that accepts this token.
    pub fn start(token: &str) -> Self {
        let state = Arc::new(Mutex::new(State {
            token: token.to_owned(),
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

impl CloudDns for FakeVercel {
    fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    fn provider_toml(&self, _id: &str, secret: &str) -> String {
        format!(
            "type = \"vercel\"\ntoken = \"{secret}\"\nendpoint = \"{}\"\n",
            self.endpoint()
        )
    }

    fn credentials(&self) -> (String, String) {
        (String::new(), self.state.lock().unwrap().token.clone())
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
            last = format!("rec_{:024x}", s.next_id);
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
    json_reply(
        status,
        &json!({"error": {"code": code, "message": message}}),
    )
}

fn not_found() -> Reply {
    error(404, "not_found", "The domain was not found.")
}

/// One page of `items` (in order) by `limit` and `until` (an index here; Vercel uses times).
fn page(key: &str, items: Vec<Value>, query: &[(String, String)]) -> Reply {
    let get = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let limit = get("limit").unwrap_or(20).clamp(1, 100);
    let start = get("until").unwrap_or(0);
    let total = items.len();
    let slice: Vec<Value> = items.into_iter().skip(start).take(limit).collect();
    let next = (start + limit < total).then_some(start + limit);
    json_reply(
        200,
        &json!({ key: slice, "pagination": {"count": total, "next": next, "prev": null} }),
    )
}

fn record_json(r: &FakeRecord) -> Value {
    let name = relative(&r.name, &r.zone)
        .filter(|n| n != "@")
        .unwrap_or_default();
    json!({
        "id": r.id, "slug": format!("{}-{}", r.name, r.rtype), "name": name, "type": r.rtype,
        "value": r.values[0], "ttl": r.ttl, "creator": "system", "created": 1_767_225_600_000_i64,
        "updated": 1_767_225_600_000_i64, "createdAt": 1_767_225_600_000_i64, "updatedAt": 1_767_225_600_000_i64,
    })
}

fn handle(s: &mut State, request: &Request) -> Reply {
    let token = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "));
    if !token.is_some_and(|t| same(t.trim(), &s.token)) {
        return json_reply(
            403,
            &json!({"error": {"code": "forbidden", "message": "Not authorized", "invalidToken": true}}),
        );
    }
    if s.throttle > 0 {
        s.throttle -= 1;
        let reset = unix_now() + 7;
        let mut reply = json_reply(
            429,
            &json!({"error": {"code": "rate_limited", "message": "Rate limit exceeded", "limit": {"remaining": 0, "reset": reset, "resetMs": reset * 1000, "total": 100}}}),
        );
        reply.headers.extend([
            ("x-ratelimit-limit".into(), "100".into()),
            ("x-ratelimit-remaining".into(), "0".into()),
            ("x-ratelimit-reset".into(), reset.to_string()),
        ]);
        return reply;
    }
    if request.method != "GET" && s.deny_writes {
        return error(
            403,
            "forbidden",
            "You don't have permission to update the DNS records of this domain.",
        );
    }
    let query = query_params(&request.target);
    let path = path_of(&request.target);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let body = || serde_json::from_str::<Value>(&request.body).unwrap_or(Value::Null);
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["v5", "domains"]) => {
            let mut zones = s.zones.clone();
            zones.sort();
            let list = zones
                .iter()
                .map(|z| json!({"name": z, "serviceType": "zeit.world", "verified": true}))
                .collect();
            page("domains", list, &query)
        }
        ("GET", ["v4", "domains", zone, "records"]) => {
            let zone = norm(zone);
            if !s.zones.contains(&zone) {
                return not_found();
            }
            let list = s
                .records
                .iter()
                .filter(|r| r.zone == zone)
                .map(record_json)
                .collect();
            page("records", list, &query)
        }
        ("POST", ["v2", "domains", zone, "records"]) => {
            let zone = norm(zone);
            if !s.zones.contains(&zone) {
                return not_found();
            }
            let body = body();
            let (Some(name), Some(rtype), Some(value)) = (
                body["name"].as_str(),
                body["type"].as_str(),
                body["value"].as_str(),
            ) else {
                return error(400, "bad_request", "name, type and value are required");
            };
            let ttl = body["ttl"].as_u64().unwrap_or(60);
            if let Some(reply) = check(rtype, value, ttl) {
                return reply;
            }
            s.next_id += 1;
            let id = format!("rec_{:024x}", s.next_id);
            s.records.push(FakeRecord {
                id: id.clone(),
                zone: zone.clone(),
                name: absolute(if name.is_empty() { "@" } else { name }, &zone),
                rtype: rtype.to_owned(),
                values: vec![value.to_owned()],
                ttl: u32::try_from(ttl).unwrap_or(u32::MAX),
                line: String::new(),
            });
            s.writes += 1;
            json_reply(200, &json!({"uid": id, "updated": 1_767_225_600_000_i64}))
        }
        ("PATCH", ["v1", "domains", "records", id]) => {
            let body = body();
            let Some(at) = s.records.iter().position(|r| r.id == *id) else {
                return error(404, "not_found", "The DNS record was not found.");
            };
            let value = body["value"]
                .as_str()
                .map_or_else(|| s.records[at].values[0].clone(), str::to_owned);
            let ttl = body["ttl"].as_u64().unwrap_or(u64::from(s.records[at].ttl));
            let rtype = s.records[at].rtype.clone();
            if let Some(reply) = check(&rtype, &value, ttl) {
                return reply;
            }
            let r = &mut s.records[at];
            r.values = vec![value];
            r.ttl = u32::try_from(ttl).unwrap_or(u32::MAX);
            let reply = json_reply(200, &record_json(r));
            s.writes += 1;
            reply
        }
        ("DELETE", ["v2", "domains", zone, "records", id]) => {
            let zone = norm(zone);
            let before = s.records.len();
            s.records.retain(|r| !(r.id == *id && r.zone == zone));
            if s.records.len() == before {
                return error(404, "not_found", "The DNS record was not found.");
            }
            s.writes += 1;
            json_reply(200, &json!({}))
        }
        _ => error(404, "not_found", "The requested path was not found."),
    }
}

fn check(rtype: &str, value: &str, ttl: u64) -> Option<Reply> {
    if ttl < 60 {
        return Some(error(
            400,
            "bad_request",
            "Invalid request: `ttl` should be >= 60.",
        ));
    }
    if !valid_value(rtype, value) {
        return Some(error(
            400,
            "bad_request",
            &format!("Invalid request: `value` must be a valid {rtype} address."),
        ));
    }
    None
}
