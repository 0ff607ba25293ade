//! A fake of DigitalOcean's DNS API (v2: Domains and Domain Records,
//! docs.digitalocean.com/reference/api/digitalocean/) on loopback: `GET /v2/domains`,
//! `GET|POST /v2/domains/{name}/records` (the `name` filter takes the full name, `type` too),
//! `PATCH|DELETE /v2/domains/{name}/records/{id}`, paginated with `links.pages.next`.
//!
//! Checked as DigitalOcean does: `Authorization: Bearer …` (unknown → 401 `unauthorized`), a
//! domain the account lacks → 404 `not_found`, a TTL under 30 or an address of the wrong
//! family → 422 `unprocessable_entity`. A throttled fake answers 429 `too_many_requests` with
//! `ratelimit-reset` (Unix time, 7 s ahead) and no `Retry-After`, as DigitalOcean does; a
//! token without write scope gets 403 `forbidden` on writes.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::fake_cloud::{
    ApiServer, CloudDns, FakeRecord, Reply, Request, absolute, json_reply, norm, path_of,
    query_params, relative, unix_now, valid_value, zone_of,
};

/// DigitalOcean on 127.0.0.1.
pub struct FakeDigitalocean {
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

impl FakeDigitalocean {
    /// Starts a fake that accepts this token.
    pub fn start(token: &str) -> Self {
        let state = Arc::new(Mutex::new(State {
            token: token.to_owned(),
            zones: Vec::new(),
            records: Vec::new(),
            next_id: 3_352_895,
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

impl CloudDns for FakeDigitalocean {
    fn endpoint(&self) -> String {
        format!("{}v2", self.server.endpoint())
    }

    fn provider_toml(&self, _id: &str, secret: &str) -> String {
        format!(
            "type = \"digitalocean\"\ntoken = \"{secret}\"\nendpoint = \"{}\"\n",
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

fn error(status: u16, id: &str, message: &str) -> Reply {
    json_reply(status, &json!({"id": id, "message": message}))
}

fn not_found() -> Reply {
    error(
        404,
        "not_found",
        "The resource you were accessing could not be found.",
    )
}

fn record_json(r: &FakeRecord) -> Value {
    json!({
        "id": r.id.parse::<u64>().unwrap_or(0), "type": r.rtype,
        "name": relative(&r.name, &r.zone).unwrap_or_default(),
        "data": r.values.first().cloned().unwrap_or_default(), "priority": null, "port": null,
        "ttl": r.ttl, "weight": null, "flags": null, "tag": null,
    })
}

/// One page of `items`, with the links and meta DigitalOcean sends.
fn paged(key: &str, items: Vec<Value>, request: &Request) -> Reply {
    let query = query_params(&request.target);
    let get = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let per_page = get("per_page").unwrap_or(20).clamp(1, 200);
    let page = get("page").unwrap_or(1).max(1);
    let total = items.len();
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut pages = json!({});
    if page * per_page < total {
        pages["next"] = json!(format!(
            "https://api.digitalocean.com{}?page={}&per_page={per_page}",
            path_of(&request.target),
            page + 1
        ));
    }
    json_reply(
        200,
        &json!({ key: slice, "links": {"pages": pages}, "meta": {"total": total} }),
    )
}

fn handle(s: &mut State, request: &Request) -> Reply {
    let token = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "));
    if token.is_none_or(|t| t.trim() != s.token) {
        return error(401, "unauthorized", "Unable to authenticate you.");
    }
    if s.throttle > 0 {
        s.throttle -= 1;
        let mut reply = error(429, "too_many_requests", "API Rate limit exceeded.");
        reply.headers.extend([
            ("ratelimit-limit".into(), "250".into()),
            ("ratelimit-remaining".into(), "0".into()),
            ("ratelimit-reset".into(), (unix_now() + 7).to_string()),
        ]);
        return reply;
    }
    let path = path_of(&request.target);
    let Some(rest) = path.strip_prefix("/v2/domains") else {
        return not_found();
    };
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    let write = request.method != "GET";
    if write && s.deny_writes {
        return error(
            403,
            "forbidden",
            "You do not have access for the attempted action.",
        );
    }
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", [""]) => {
            let mut zones = s.zones.clone();
            zones.sort();
            let list = zones
                .iter()
                .map(|z| json!({"name": z, "ttl": 1800, "zone_file": ""}))
                .collect();
            paged("domains", list, request)
        }
        (method, [zone, "records", rest @ ..]) => {
            let zone = norm(zone);
            if !s.zones.contains(&zone) {
                return not_found();
            }
            match (method, rest) {
                ("GET", []) => {
                    let query = query_params(&request.target);
                    let filter =
                        |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                    let (name, rtype) = (filter("name").map(|n| norm(&n)), filter("type"));
                    let list = s
                        .records
                        .iter()
                        .filter(|r| r.zone == zone)
                        .filter(|r| name.as_ref().is_none_or(|n| *n == r.name))
                        .filter(|r| rtype.as_ref().is_none_or(|t| *t == r.rtype))
                        .map(record_json)
                        .collect();
                    paged("domain_records", list, request)
                }
                ("POST", []) => {
                    let Ok(body) = serde_json::from_str::<Value>(&request.body) else {
                        return error(400, "bad_request", "The request body is not valid JSON.");
                    };
                    let (Some(rtype), Some(name), Some(data)) = (
                        body["type"].as_str(),
                        body["name"].as_str(),
                        body["data"].as_str(),
                    ) else {
                        return error(
                            422,
                            "unprocessable_entity",
                            "type, name and data are required",
                        );
                    };
                    let ttl = body["ttl"].as_u64().unwrap_or(1800);
                    if let Some(reply) = check(rtype, data, ttl) {
                        return reply;
                    }
                    s.next_id += 1;
                    let record = FakeRecord {
                        id: s.next_id.to_string(),
                        zone: zone.clone(),
                        name: absolute(name, &zone),
                        rtype: rtype.to_owned(),
                        values: vec![data.to_owned()],
                        ttl: u32::try_from(ttl).unwrap_or(u32::MAX),
                        line: String::new(),
                    };
                    let reply = json_reply(201, &json!({"domain_record": record_json(&record)}));
                    s.records.push(record);
                    s.writes += 1;
                    reply
                }
                ("PATCH" | "PUT", [id]) => {
                    let Ok(body) = serde_json::from_str::<Value>(&request.body) else {
                        return error(400, "bad_request", "The request body is not valid JSON.");
                    };
                    let Some(at) = s.records.iter().position(|r| r.id == *id && r.zone == zone)
                    else {
                        return not_found();
                    };
                    let rtype = body["type"]
                        .as_str()
                        .map_or_else(|| s.records[at].rtype.clone(), str::to_owned);
                    let data = body["data"]
                        .as_str()
                        .map_or_else(|| s.records[at].values[0].clone(), str::to_owned);
                    let ttl = body["ttl"].as_u64().unwrap_or(u64::from(s.records[at].ttl));
                    if let Some(reply) = check(&rtype, &data, ttl) {
                        return reply;
                    }
                    let r = &mut s.records[at];
                    r.rtype = rtype;
                    r.values = vec![data];
                    r.ttl = u32::try_from(ttl).unwrap_or(u32::MAX);
                    if let Some(name) = body["name"].as_str() {
                        r.name = absolute(name, &zone);
                    }
                    let reply = json_reply(200, &json!({"domain_record": record_json(r)}));
                    s.writes += 1;
                    reply
                }
                ("DELETE", [id]) => {
                    let before = s.records.len();
                    s.records.retain(|r| !(r.id == *id && r.zone == zone));
                    if s.records.len() == before {
                        return not_found();
                    }
                    s.writes += 1;
                    Reply {
                        status: 204,
                        headers: Vec::new(),
                        body: String::new(),
                    }
                }
                _ => not_found(),
            }
        }
        _ => not_found(),
    }
}

fn check(rtype: &str, data: &str, ttl: u64) -> Option<Reply> {
    if ttl < 30 {
        return Some(error(
            422,
            "unprocessable_entity",
            "Ttl must be greater than or equal to 30.",
        ));
    }
    if !valid_value(rtype, data) {
        return Some(error(
            422,
            "unprocessable_entity",
            &format!("Data needs to be a valid {rtype} address."),
        ));
    }
    None
}
