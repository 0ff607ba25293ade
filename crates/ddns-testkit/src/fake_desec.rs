//! A fake of deSEC's REST API (desec.readthedocs.io: domains, rrsets, bulk operations, rate
//! limits) on loopback: `GET /api/v1/domains/`, `GET /api/v1/domains/{name}/rrsets/?subname=`,
//! and bulk `PATCH /api/v1/domains/{name}/rrsets/`, applied atomically; listings of more than
//! 500 items need `cursor` and name the next page in `Link`, as deSEC's do.
//!
//! Checked as deSEC does: `Authorization: Token …` (missing or unknown → 401 `{"detail": …}`),
//! a domain the account does not own → 404, a TTL below the domain's `minimum_ttl` or an
//! address of the wrong family → 400 with one error object per bulk item, an RRset created by
//! PATCH without `ttl` → 400, `records: []` deletes. A throttled fake answers 429 with
//! `Retry-After: 7`; a token whose policy denies writes gets 403 on writes.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::fake_cloud::{
    ApiServer, CloudDns, FakeRecord, Reply, Request, json_reply, norm, path_of, query_params,
    valid_value, zone_of,
};

/// deSEC on 127.0.0.1.
pub struct FakeDesec {
    server: ApiServer,
    state: Arc<Mutex<State>>,
}

struct State {
    token: String,
    /// Zones with their minimum TTL.
    zones: Vec<(String, u32)>,
    records: Vec<FakeRecord>,
    throttle: usize,
    deny_writes: bool,
    writes: usize,
}

/// The minimum TTL deSEC gives new domains.
pub const MINIMUM_TTL: u32 = 3600;
/// Items per page of a listing.
const PAGE: usize = 500;

impl FakeDesec {
    /// Starts a fake that accepts this token.
    pub fn start(token: &str) -> Self {
        let state = Arc::new(Mutex::new(State {
            token: token.to_owned(),
            zones: Vec::new(),
            records: Vec::new(),
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

impl CloudDns for FakeDesec {
    fn endpoint(&self) -> String {
        format!("{}api/v1", self.server.endpoint())
    }

    fn provider_toml(&self, _id: &str, secret: &str) -> String {
        format!(
            "type = \"desec\"\ntoken = \"{secret}\"\nendpoint = \"{}\"\n",
            self.endpoint()
        )
    }

    fn credentials(&self) -> (String, String) {
        (String::new(), self.state.lock().unwrap().token.clone())
    }

    fn add_zone(&self, zone: &str) {
        self.state
            .lock()
            .unwrap()
            .zones
            .push((norm(zone), MINIMUM_TTL));
    }

    fn add_record(&self, name: &str, rtype: &str, values: &[&str], ttl: u32) -> String {
        let mut s = self.state.lock().unwrap();
        let name = norm(name);
        let zones: Vec<String> = s.zones.iter().map(|(z, _)| z.clone()).collect();
        let zone = zone_of(&name, &zones).cloned().expect("add the zone first");
        let id = format!("{name}/{rtype}");
        s.records.push(FakeRecord {
            id: id.clone(),
            zone,
            name,
            rtype: rtype.to_owned(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            ttl,
            line: String::new(),
        });
        id
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

fn detail(status: u16, text: &str) -> Reply {
    json_reply(status, &json!({ "detail": text }))
}

fn rrset_json(r: &FakeRecord) -> Value {
    let subname = crate::fake_cloud::relative(&r.name, &r.zone)
        .filter(|s| s != "@")
        .unwrap_or_default();
    json!({
        "created": "2026-01-01T00:00:00.000000Z", "domain": r.zone, "subname": subname,
        "name": format!("{}.", r.name), "type": r.rtype, "records": r.values, "ttl": r.ttl,
        "touched": "2026-01-01T00:00:00.000000Z",
    })
}

fn handle(s: &mut State, request: &Request) -> Reply {
    let token = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Token "));
    match token {
        None => return detail(401, "Authentication credentials were not provided."),
        Some(t) if t.trim() != s.token => return detail(401, "Invalid token."),
        Some(_) => {}
    }
    if s.throttle > 0 {
        s.throttle -= 1;
        let mut reply = detail(
            429,
            "Request was throttled. Expected available in 7 seconds.",
        );
        reply.headers.push(("retry-after".into(), "7".into()));
        return reply;
    }
    let path = path_of(&request.target);
    let Some(rest) = path.strip_prefix("/api/v1/domains/") else {
        return detail(404, "Not found.");
    };
    let segments: Vec<&str> = rest.split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", [""]) => {
            let mut zones = s.zones.clone();
            zones.sort();
            let query = query_params(&request.target);
            let cursor = query.iter().find(|(k, _)| k == "cursor").map(|(_, v)| v);
            // More than a page needs `cursor` (empty for the first page); the next page is
            // named in `Link`, its cursor opaque to clients (here: `o<offset>`).
            let offset = match cursor {
                None if zones.len() > PAGE => {
                    return detail(
                        400,
                        &format!(
                            "Pagination required. You can query up to 500 items at a time ({} total). Please use the `first` page link (see Link header).",
                            zones.len()
                        ),
                    );
                }
                None => 0,
                Some(c) if c.is_empty() => 0,
                Some(c) => match c.strip_prefix('o').and_then(|o| o.parse::<usize>().ok()) {
                    Some(o) => o,
                    None => return detail(400, "Invalid cursor."),
                },
            };
            let list: Vec<Value> = zones
                .iter()
                .skip(offset)
                .take(PAGE)
                .map(|(name, min)| json!({"created": "2026-01-01T00:00:00Z", "name": name, "minimum_ttl": min, "published": "2026-01-01T00:00:00Z", "touched": "2026-01-01T00:00:00Z"}))
                .collect();
            let mut reply = json_reply(200, &Value::Array(list));
            if cursor.is_some() {
                let mut link =
                    "<https://desec.io/api/v1/domains/?cursor=>; rel=\"first\"".to_owned();
                if offset + PAGE < zones.len() {
                    link.push_str(&format!(
                        ", <https://desec.io/api/v1/domains/?cursor=o{}>; rel=\"next\"",
                        offset + PAGE
                    ));
                }
                reply.headers.push(("link".into(), link));
            }
            reply
        }
        (method, [zone, "rrsets", ""]) => {
            let zone = norm(zone);
            let Some(minimum) = s.zones.iter().find(|(z, _)| *z == zone).map(|(_, m)| *m) else {
                return detail(404, "Not found.");
            };
            match method {
                "GET" => {
                    let query = query_params(&request.target);
                    let subname = query.iter().find(|(k, _)| k == "subname").map(|(_, v)| v);
                    let list: Vec<Value> = s
                        .records
                        .iter()
                        .filter(|r| r.zone == zone)
                        .filter(|r| {
                            subname.is_none_or(|sub| {
                                let name = if sub.is_empty() {
                                    zone.clone()
                                } else {
                                    format!("{sub}.{zone}")
                                };
                                r.name == name
                            })
                        })
                        .map(rrset_json)
                        .collect();
                    json_reply(200, &Value::Array(list))
                }
                "PATCH" => {
                    if s.deny_writes {
                        return detail(403, "You do not have permission to perform this action.");
                    }
                    bulk_patch(s, &zone, minimum, &request.body)
                }
                other => detail(405, &format!("Method \"{other}\" not allowed.")),
            }
        }
        _ => detail(404, "Not found."),
    }
}

/// A bulk PATCH: every item checked first, then all applied (atomic).
fn bulk_patch(s: &mut State, zone: &str, minimum: u32, body: &str) -> Reply {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(body) else {
        return json_reply(
            400,
            &json!({"non_field_errors": ["Expected a list of items but got type \"dict\"."]}),
        );
    };
    let mut records = s.records.clone();
    let mut errors = Vec::new();
    let mut failed = false;
    let mut out = Vec::new();
    for item in &items {
        let subname = item["subname"].as_str().unwrap_or_default();
        let name = if subname.is_empty() {
            zone.to_owned()
        } else {
            format!("{subname}.{zone}")
        };
        let Some(rtype) = item["type"].as_str() else {
            errors.push(json!({"type": ["This field is required."]}));
            failed = true;
            continue;
        };
        let values: Vec<String> = item["records"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let ttl = item["ttl"]
            .as_u64()
            .map(|t| u32::try_from(t).unwrap_or(u32::MAX));
        if ttl.is_some_and(|t| t < minimum) {
            errors.push(json!({"ttl": [format!("Ensure this value is greater than or equal to {minimum}.")]}));
            failed = true;
            continue;
        }
        if let Some(bad) = values.iter().find(|v| !valid_value(rtype, v)) {
            errors.push(
                json!({"records": [format!("Record content for type {rtype} malformed: {bad}")]}),
            );
            failed = true;
            continue;
        }
        let at = records
            .iter()
            .position(|r| r.zone == zone && r.name == name && r.rtype == rtype);
        match (at, values.is_empty()) {
            (Some(at), true) => {
                records.remove(at);
            }
            (None, true) => {}
            (Some(at), false) => {
                let r = &mut records[at];
                r.values = values;
                if let Some(t) = ttl {
                    r.ttl = t;
                }
                out.push(rrset_json(r));
            }
            (None, false) => {
                let Some(ttl) = ttl else {
                    errors.push(json!({"ttl": ["This field is required for new RRsets."]}));
                    failed = true;
                    continue;
                };
                let r = FakeRecord {
                    id: format!("{name}/{rtype}"),
                    zone: zone.to_owned(),
                    name,
                    rtype: rtype.to_owned(),
                    values,
                    ttl,
                    line: String::new(),
                };
                out.push(rrset_json(&r));
                records.push(r);
            }
        }
        errors.push(json!({}));
    }
    if failed {
        return json_reply(400, &Value::Array(errors));
    }
    s.records = records;
    s.writes += 1;
    json_reply(200, &Value::Array(out))
}
