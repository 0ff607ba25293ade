//! A fake of Gandi LiveDNS (api.gandi.net/docs/livedns/) on loopback: `GET /v5/livedns/domains`
//! (pages by `page`/`per_page`), `GET /v5/livedns/domains/{fqdn}/records/{name}` (every RRset
//! of the name; an empty list when there is none) and `PUT …/records/{name}/{type}`, which
//! replaces the RRset (`{"rrset_values": […], "rrset_ttl": N}`, 201 "DNS Record Created").
//!
//! Checked as Gandi does: `Authorization: Bearer <personal access token>` (or the deprecated
//! `Apikey`), unknown → 401 `HTTPUnauthorized`; a domain the token does not see → 404
//! `HTTPNotFound`; a TTL under 300 or a bad address → 400; a token without "Manage domain name
//! technical configurations" (`deny_writes`) → 403 `HTTPForbidden` on writes. Throttled, it
//! answers 429 with `Retry-After: 7`.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::fake_cloud::{
    ApiServer, CloudDns, FakeRecord, Reply, Request, absolute, json_reply, norm, path_of,
    query_params, relative, same, valid_value, zone_of,
};

/// Gandi LiveDNS on 127.0.0.1.
pub struct FakeGandi {
    server: ApiServer,
    state: Arc<Mutex<State>>,
}

struct State {
    token: String,
    zones: Vec<String>,
    records: Vec<FakeRecord>,
    throttle: usize,
    deny_writes: bool,
    writes: usize,
}

impl FakeGandi {
    /// Starts a fake that accepts this personal access token.
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

impl CloudDns for FakeGandi {
    fn endpoint(&self) -> String {
        format!("{}v5/livedns", self.server.endpoint())
    }

    fn provider_toml(&self, _id: &str, secret: &str) -> String {
        format!(
            "type = \"gandi\"\ntoken = \"{secret}\"\nendpoint = \"{}\"\n",
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

fn error(code: u16, object: &str, cause: &str, message: &str) -> Reply {
    json_reply(
        code,
        &json!({"code": code, "message": message, "object": object, "cause": cause}),
    )
}

fn not_found() -> Reply {
    error(
        404,
        "HTTPNotFound",
        "Not Found",
        "The resource could not be found.",
    )
}

fn rrset_json(r: &FakeRecord) -> Value {
    let name = relative(&r.name, &r.zone).unwrap_or_default();
    json!({
        "rrset_name": name, "rrset_type": r.rtype, "rrset_ttl": r.ttl, "rrset_values": r.values,
        "rrset_href": format!("https://api.gandi.net/v5/livedns/domains/{}/records/{name}/{}", r.zone, r.rtype),
    })
}

fn handle(s: &mut State, request: &Request) -> Reply {
    let auth = request.header("authorization").unwrap_or_default();
    let token = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("Apikey "));
    if !token.is_some_and(|t| same(t.trim(), &s.token)) {
        return error(
            401,
            "HTTPUnauthorized",
            "Unauthorized",
            "The server could not verify that you authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad api key), or your access token has expired",
        );
    }
    if s.throttle > 0 {
        s.throttle -= 1;
        let mut reply = error(
            429,
            "HTTPTooManyRequests",
            "Too Many Requests",
            "Too many requests, slow down.",
        );
        reply.headers.push(("retry-after".into(), "7".into()));
        return reply;
    }
    let path = path_of(&request.target);
    let Some(rest) = path.strip_prefix("/v5/livedns/domains") else {
        return not_found();
    };
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", [""]) => {
            let query = query_params(&request.target);
            let get = |k: &str| {
                query
                    .iter()
                    .find(|(n, _)| n == k)
                    .and_then(|(_, v)| v.parse::<usize>().ok())
            };
            let per_page = get("per_page").unwrap_or(100).max(1);
            let page = get("page").unwrap_or(1).max(1);
            let mut zones = s.zones.clone();
            zones.sort();
            let list: Vec<Value> = zones
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|z| json!({"fqdn": z, "domain_href": format!("https://api.gandi.net/v5/livedns/domains/{z}"), "domain_records_href": format!("https://api.gandi.net/v5/livedns/domains/{z}/records")}))
                .collect();
            let mut reply = json_reply(200, &Value::Array(list));
            reply
                .headers
                .push(("total-count".into(), zones.len().to_string()));
            reply
        }
        (method, [zone, "records", name, rest @ ..]) => {
            let zone = norm(zone);
            if !s.zones.contains(&zone) {
                return not_found();
            }
            let fqdn = absolute(name, &zone);
            match (method, rest) {
                ("GET", []) => {
                    let list: Vec<Value> = s
                        .records
                        .iter()
                        .filter(|r| r.zone == zone && r.name == fqdn)
                        .map(rrset_json)
                        .collect();
                    json_reply(200, &Value::Array(list))
                }
                ("PUT", [rtype]) => {
                    if s.deny_writes {
                        return error(
                            403,
                            "HTTPForbidden",
                            "Forbidden",
                            "Access was denied to this resource.",
                        );
                    }
                    let Ok(body) = serde_json::from_str::<Value>(&request.body) else {
                        return error(400, "HTTPBadRequest", "Bad Request", "Invalid JSON.");
                    };
                    let values: Vec<String> = body["rrset_values"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default();
                    let ttl = body["rrset_ttl"].as_u64().unwrap_or(10_800);
                    if ttl < 300 {
                        return json_reply(
                            400,
                            &json!({"code": 400, "cause": "Bad Request", "object": "HTTPBadRequest", "message": "Validation error", "errors": [{"location": "body", "name": "rrset_ttl", "description": "Must be greater than or equal to 300."}]}),
                        );
                    }
                    if values.is_empty() || values.iter().any(|v| !valid_value(rtype, v)) {
                        return error(
                            400,
                            "HTTPBadRequest",
                            "Bad Request",
                            "Invalid rrset_values.",
                        );
                    }
                    let ttl = u32::try_from(ttl).unwrap_or(u32::MAX);
                    match s
                        .records
                        .iter_mut()
                        .find(|r| r.zone == zone && r.name == fqdn && r.rtype == *rtype)
                    {
                        Some(r) => {
                            r.values = values;
                            r.ttl = ttl;
                        }
                        None => s.records.push(FakeRecord {
                            id: format!("{fqdn}/{rtype}"),
                            zone,
                            name: fqdn,
                            rtype: (*rtype).to_owned(),
                            values,
                            ttl,
                            line: String::new(),
                        }),
                    }
                    s.writes += 1;
                    json_reply(201, &json!({"message": "DNS Record Created"}))
                }
                _ => not_found(),
            }
        }
        _ => not_found(),
    }
}
