//! A fake of NameSilo's API (namesilo.com/api-reference) on loopback: `GET /api/{operation}`
//! with `version=1&type=json&key=…`, for `listDomains`, `dnsListRecords`, `dnsAddRecord`,
//! `dnsUpdateRecord` and `dnsDeleteRecord`. Answers are HTTP 200 with `reply.code` 300 on
//! success; numbers come as strings, and a list of one collapses to the object, as NameSilo's
//! XML-derived JSON does.
//!
//! Checked as NameSilo does: the `key` (missing → 109, wrong → 110), `version` and `type`,
//! a domain that is not the account's → 200, a TTL under 3600 or a bad value → 280, a key
//! restricted to other addresses (`deny_writes`) → 113 on every call. NameSilo documents no
//! throttling answer; throttled, this fake answers HTTP 429 with `Retry-After: 7`.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::fake_cloud::{
    ApiServer, CloudDns, FakeRecord, Reply, Request, absolute, json_reply, norm, path_of,
    query_params, same, valid_value, zone_of,
};

/// NameSilo on 127.0.0.1.
pub struct FakeNamesilo {
    server: ApiServer,
    state: Arc<Mutex<State>>,
}

struct State {
    key: String,
    zones: Vec<String>,
    records: Vec<FakeRecord>,
    next_id: u64,
    throttle: usize,
    deny_writes: bool,
    writes: usize,
}

impl FakeNamesilo {
    /// Starts a fake that accepts this API key.
    pub fn start(key: &str) -> Self {
        let state = Arc::new(Mutex::new(State {
            key: key.to_owned(),
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

impl CloudDns for FakeNamesilo {
    fn endpoint(&self) -> String {
        format!("{}api", self.server.endpoint())
    }

    fn provider_toml(&self, _id: &str, secret: &str) -> String {
        format!(
            "type = \"namesilo\"\napi_key = \"{secret}\"\nendpoint = \"{}\"\n",
            self.endpoint()
        )
    }

    fn credentials(&self) -> (String, String) {
        (String::new(), self.state.lock().unwrap().key.clone())
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
            last = format!("{:032x}", s.next_id);
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

fn answer(operation: &str, code: u32, detail: &str, extra: Value) -> Reply {
    let mut reply = json!({"code": code, "detail": detail});
    if let (Value::Object(r), Value::Object(e)) = (&mut reply, extra) {
        r.extend(e);
    }
    json_reply(
        200,
        &json!({"request": {"operation": operation, "ip": "127.0.0.1"}, "reply": reply}),
    )
}

/// NameSilo's JSON of a list: the object itself when there is one.
fn collapse(items: Vec<Value>) -> Value {
    match <[Value; 1]>::try_from(items) {
        Ok([one]) => one,
        Err(items) => Value::Array(items),
    }
}

fn handle(s: &mut State, request: &Request) -> Reply {
    if s.throttle > 0 {
        s.throttle -= 1;
        return Reply {
            status: 429,
            headers: vec![("retry-after".into(), "7".into())],
            body: "Too Many Requests".into(),
        };
    }
    let operation = path_of(&request.target)
        .strip_prefix("/api/")
        .unwrap_or_default()
        .to_owned();
    let query = query_params(&request.target);
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let fail = |code: u32, detail: &str| answer(&operation, code, detail, json!({}));
    if get("version").as_deref() != Some("1") {
        return fail(102, "No version specified");
    }
    if get("type").as_deref() != Some("json") {
        return fail(104, "No type specified");
    }
    match get("key") {
        None => return fail(109, "No API Key"),
        Some(k) if !same(&k, &s.key) => return fail(110, "Invalid API Key"),
        Some(_) => {}
    }
    if s.deny_writes {
        return fail(113, "This API account cannot be accessed from your IP");
    }
    if operation == "listDomains" {
        let mut zones = s.zones.clone();
        zones.sort();
        let list: Vec<Value> = zones.into_iter().map(Value::String).collect();
        return answer(
            &operation,
            300,
            "success",
            json!({"domains": {"domain": collapse(list)}}),
        );
    }
    let zone = get("domain").map(|d| norm(&d)).unwrap_or_default();
    if !s.zones.contains(&zone) {
        return fail(200, "Domain is not active, or does not belong to this user");
    }
    match operation.as_str() {
        "dnsListRecords" => {
            let list: Vec<Value> = s
                .records
                .iter()
                .filter(|r| r.zone == zone)
                .map(|r| json!({"record_id": r.id, "type": r.rtype, "host": r.name, "value": r.values[0], "ttl": r.ttl.to_string(), "distance": 0}))
                .collect();
            answer(
                &operation,
                300,
                "success",
                json!({"resource_record": collapse(list)}),
            )
        }
        "dnsAddRecord" | "dnsUpdateRecord" => {
            let rtype = if operation == "dnsAddRecord" {
                get("rrtype").unwrap_or_default()
            } else {
                let id = get("rrid").unwrap_or_default();
                match s.records.iter().find(|r| r.id == id && r.zone == zone) {
                    Some(r) => r.rtype.clone(),
                    None => return fail(280, "DNS modification error: invalid record id"),
                }
            };
            let value = get("rrvalue").unwrap_or_default();
            let ttl: u32 = get("rrttl").and_then(|t| t.parse().ok()).unwrap_or(7207);
            if ttl < 3600 {
                return fail(280, "DNS modification error: TTL must be at least 3600");
            }
            if !valid_value(&rtype, &value) {
                return fail(280, "DNS modification error: invalid record value");
            }
            let name = absolute(
                &get("rrhost")
                    .filter(|h| !h.is_empty())
                    .unwrap_or_else(|| "@".into()),
                &zone,
            );
            let id = if operation == "dnsAddRecord" {
                s.next_id += 1;
                let id = format!("{:032x}", s.next_id);
                s.records.push(FakeRecord {
                    id: id.clone(),
                    zone,
                    name,
                    rtype,
                    values: vec![value],
                    ttl,
                    line: String::new(),
                });
                id
            } else {
                let id = get("rrid").unwrap_or_default();
                let r = s.records.iter_mut().find(|r| r.id == id).unwrap();
                r.name = name;
                r.values = vec![value];
                r.ttl = ttl;
                id
            };
            s.writes += 1;
            answer(&operation, 300, "success", json!({"record_id": id}))
        }
        "dnsDeleteRecord" => {
            let id = get("rrid").unwrap_or_default();
            let before = s.records.len();
            s.records.retain(|r| !(r.id == id && r.zone == zone));
            if s.records.len() == before {
                return fail(280, "DNS modification error: invalid record id");
            }
            s.writes += 1;
            answer(&operation, 300, "success", json!({}))
        }
        _ => fail(107, "Invalid API operation"),
    }
}
