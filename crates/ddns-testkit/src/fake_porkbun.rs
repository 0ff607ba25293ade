//! A fake of Porkbun's API v3 (porkbun.com/api/json/v3/documentation) on loopback: JSON
//! `POST`s to `/api/json/v3/domain/listAll`, `dns/retrieve/{domain}`, `dns/create/{domain}`,
//! `dns/edit/{domain}/{id}` and `dns/delete/{domain}/{id}`, numbers sent as strings.
//!
//! Checked as Porkbun does: both `apikey` and `secretapikey` in every body (wrong → 400
//! `{"status":"ERROR","message":"Invalid API key. (002)"}`), a domain not in the account →
//! `Invalid domain.`, a TTL under 600 refused, a domain without API access (`deny_writes`) →
//! `Domain is not opted in to API access.` on every DNS call. Throttled, it answers as
//! Porkbun's gateway does: HTTP 503 with an HTML page and no retry hint.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::fake_cloud::{
    ApiServer, CloudDns, FakeRecord, Reply, Request, absolute, json_reply, norm, path_of, same,
    valid_value, zone_of,
};

/// Porkbun on 127.0.0.1.
pub struct FakePorkbun {
    server: ApiServer,
    state: Arc<Mutex<State>>,
}

struct State {
    api_key: String,
    secret_api_key: String,
    zones: Vec<String>,
    records: Vec<FakeRecord>,
    next_id: u64,
    throttle: usize,
    deny_writes: bool,
    writes: usize,
}

impl FakePorkbun {
    /// Starts a fake that accepts these keys.
    pub fn start(api_key: &str, secret_api_key: &str) -> Self {
        let state = Arc::new(Mutex::new(State {
            api_key: api_key.to_owned(),
            secret_api_key: secret_api_key.to_owned(),
            zones: Vec::new(),
            records: Vec::new(),
            next_id: 106_926_658,
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

impl CloudDns for FakePorkbun {
    fn endpoint(&self) -> String {
        format!("{}api/json/v3", self.server.endpoint())
    }

    fn provider_toml(&self, id: &str, secret: &str) -> String {
        format!(
            "type = \"porkbun\"\napi_key = \"{id}\"\nsecret_api_key = \"{secret}\"\nendpoint = \"{}\"\n",
            self.endpoint()
        )
    }

    fn credentials(&self) -> (String, String) {
        let s = self.state.lock().unwrap();
        (s.api_key.clone(), s.secret_api_key.clone())
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

fn error(message: &str) -> Reply {
    json_reply(400, &json!({"status": "ERROR", "message": message}))
}

fn success(mut body: Value) -> Reply {
    body["status"] = json!("SUCCESS");
    json_reply(200, &body)
}

fn handle(s: &mut State, request: &Request) -> Reply {
    if s.throttle > 0 {
        s.throttle -= 1;
        return Reply {
            status: 503,
            headers: vec![("content-type".into(), "text/html".into())],
            body: "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>openresty</center>\r\n</body>\r\n</html>\r\n".into(),
        };
    }
    if request.method != "POST" {
        return error("Invalid method.");
    }
    let Ok(body) = serde_json::from_str::<Value>(&request.body) else {
        return error("Invalid JSON.");
    };
    let key = body["apikey"].as_str().unwrap_or_default();
    let secret = body["secretapikey"].as_str().unwrap_or_default();
    if !same(key, &s.api_key) || !same(secret, &s.secret_api_key) {
        return error("Invalid API key. (002)");
    }
    let path = path_of(&request.target);
    let Some(rest) = path.strip_prefix("/api/json/v3/") else {
        return error("Invalid endpoint.");
    };
    let segments: Vec<&str> = rest.split('/').collect();
    if segments.as_slice() == ["domain", "listAll"] {
        let start: usize = body["start"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut zones = s.zones.clone();
        zones.sort();
        let list: Vec<Value> = zones
            .iter()
            .skip(start)
            .take(1000)
            .map(|z| json!({"domain": z, "status": "ACTIVE", "tld": z.rsplit('.').next(), "createDate": "2026-01-01 00:00:00", "expireDate": "2027-01-01 00:00:00", "securityLock": "1", "whoisPrivacy": "1", "autoRenew": 0, "notLocal": 0}))
            .collect();
        return success(json!({ "domains": list }));
    }
    let (["dns", action, domain] | ["dns", action, domain, _]) = segments.as_slice() else {
        return error("Invalid endpoint.");
    };
    let zone = norm(domain);
    if !s.zones.contains(&zone) {
        return error("Invalid domain.");
    }
    if s.deny_writes {
        return error("Domain is not opted in to API access.");
    }
    let id = segments.get(3).map(|i| (*i).to_owned());
    match (*action, id) {
        ("retrieve", None) => {
            let list: Vec<Value> = s
                .records
                .iter()
                .filter(|r| r.zone == zone)
                .map(|r| json!({"id": r.id, "name": r.name, "type": r.rtype, "content": r.values[0], "ttl": r.ttl.to_string(), "prio": "0", "notes": ""}))
                .collect();
            success(json!({ "records": list }))
        }
        ("create", None) | ("edit", Some(_)) => {
            let (Some(rtype), Some(content)) = (body["type"].as_str(), body["content"].as_str())
            else {
                return error("Type and content are required.");
            };
            let ttl: u32 = body["ttl"]
                .as_str()
                .and_then(|t| t.parse().ok())
                .unwrap_or(600);
            if ttl < 600 {
                return error("TTL must be at least 600 seconds.");
            }
            if !valid_value(rtype, content) {
                return error("Invalid record content.");
            }
            let name = absolute(body["name"].as_str().unwrap_or_default(), &zone);
            let id = if *action == "create" {
                s.next_id += 1;
                let id = s.next_id.to_string();
                s.records.push(FakeRecord {
                    id: id.clone(),
                    zone,
                    name,
                    rtype: rtype.to_owned(),
                    values: vec![content.to_owned()],
                    ttl,
                    line: String::new(),
                });
                id
            } else {
                let id = segments[3];
                let Some(r) = s.records.iter_mut().find(|r| r.id == id && r.zone == zone) else {
                    return error("Edit error: Invalid record ID.");
                };
                r.name = name;
                r.rtype = rtype.to_owned();
                r.values = vec![content.to_owned()];
                r.ttl = ttl;
                id.to_owned()
            };
            s.writes += 1;
            success(json!({ "id": id.parse::<u64>().unwrap_or(0) }))
        }
        ("delete", Some(id)) => {
            let before = s.records.len();
            s.records.retain(|r| !(r.id == id && r.zone == zone));
            if s.records.len() == before {
                return error("Delete error: Invalid record ID.");
            }
            s.writes += 1;
            success(json!({}))
        }
        _ => error("Invalid endpoint."),
    }
}
