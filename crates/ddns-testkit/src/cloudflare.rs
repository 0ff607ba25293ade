//! A fake of Cloudflare's API v4 on loopback, with state: zones, DNS records, and the few
//! calls the `cloudflare` provider makes, in the documented request and response shapes
//! (developers.cloudflare.com/api: the v4 envelope `success`/`errors`/`messages`/`result`,
//! `result_info` page numbers; `GET /zones`, `GET /zones/{id}/dns_records`,
//! `POST /zones/{id}/dns_records/batch`).
//!
//! Credentials are checked as Cloudflare does: `Authorization: Bearer` tokens (unknown →
//! 403 code 9109 "Invalid access token"; a token that may read but not edit → 403 code 10000
//! "Authentication error" on writes), or the legacy `X-Auth-Email` + `X-Auth-Key` pair
//! (wrong → 403 code 9103). A throttled fake answers 429 with `Retry-After`, as Cloudflare does
//! after 1200 requests in 5 minutes. Unknown zone ids answer code 7003. Batches are checked
//! whole before any of it is applied (one transaction), in Cloudflare's order: deletes,
//! patches, posts.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::fake_http::{Reply, Request};

/// A DNS record as the fake holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Record id.
    pub id: String,
    /// Zone id.
    pub zone_id: String,
    /// `A`, `AAAA`, `TXT`, `CNAME`…
    pub rtype: String,
    /// FQDN without the trailing dot.
    pub name: String,
    /// The value.
    pub content: String,
    /// TTL, 1 = automatic.
    pub ttl: u32,
    /// Proxied through Cloudflare.
    pub proxied: bool,
}

#[derive(Default)]
struct State {
    tokens: HashMap<String, bool>,
    global_key: Option<(String, String)>,
    zones: Vec<(String, String)>,
    records: Vec<Record>,
    throttle: Option<u64>,
    requests: Vec<Request>,
    next_id: u64,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeCloudflare {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl FakeCloudflare {
    /// Starts a fake that accepts the API token `token` (allowed to edit DNS).
    pub fn start(token: &str) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        state.lock().unwrap().tokens.insert(token.to_owned(), true);
        let shared = Arc::clone(&state);
        let addr = crate::handler_http::serve(move |request| handle(&shared, request));
        Self { addr, state }
    }

    /// The API base URL, to put in `endpoint`.
    pub fn url(&self) -> String {
        format!("http://{}/client/v4", self.addr)
    }

    /// Also accepts `token`, allowed to read zones and records but not to edit them.
    pub fn add_read_only_token(&self, token: &str) {
        self.state
            .lock()
            .unwrap()
            .tokens
            .insert(token.to_owned(), false);
    }

    /// Also accepts the legacy global key of `email`.
    pub fn set_global_key(&self, email: &str, key: &str) {
        self.state.lock().unwrap().global_key = Some((email.to_owned(), key.to_owned()));
    }

    /// Adds a zone; returns its id.
    pub fn add_zone(&self, name: &str) -> String {
        let mut s = self.state.lock().unwrap();
        let id = format!("{:032x}", 0x2000 + s.zones.len());
        s.zones.push((id.clone(), name.to_owned()));
        id
    }

    /// Adds a record to the zone with id `zone_id`; returns its id.
    pub fn add_record(
        &self,
        zone_id: &str,
        rtype: &str,
        name: &str,
        content: &str,
        ttl: u32,
        proxied: bool,
    ) -> String {
        let mut s = self.state.lock().unwrap();
        let id = next_id(&mut s);
        s.records.push(Record {
            id: id.clone(),
            zone_id: zone_id.to_owned(),
            rtype: rtype.to_owned(),
            name: name.to_owned(),
            content: content.to_owned(),
            ttl,
            proxied,
        });
        id
    }

    /// The records named `name`, sorted by type and content.
    pub fn records(&self, name: &str) -> Vec<Record> {
        let mut found: Vec<Record> = self
            .state
            .lock()
            .unwrap()
            .records
            .iter()
            .filter(|r| r.name == name)
            .cloned()
            .collect();
        found.sort_by(|a, b| (&a.rtype, &a.content).cmp(&(&b.rtype, &b.content)));
        found
    }

    /// `(type, content)` of the records named `name`, sorted.
    pub fn values(&self, name: &str) -> Vec<(String, String)> {
        self.records(name)
            .into_iter()
            .map(|r| (r.rtype, r.content))
            .collect()
    }

    /// Answers every request with 429 and this `Retry-After` (`None`: serve again).
    pub fn throttle(&self, retry_after: Option<u64>) {
        self.state.lock().unwrap().throttle = retry_after;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// How many requests changed something (anything but GET).
    pub fn writes(&self) -> usize {
        self.requests().iter().filter(|r| r.method != "GET").count()
    }
}

fn next_id(s: &mut State) -> String {
    s.next_id += 1;
    format!("{:032x}", 0x1000_0000 + s.next_id)
}

fn envelope(status: u16, result: Value, info: Option<Value>) -> Reply {
    let mut body = json!({"success": true, "errors": [], "messages": [], "result": result});
    if let Some(info) = info {
        body["result_info"] = info;
    }
    json_reply(status, &body)
}

fn error(status: u16, code: u32, message: &str) -> Reply {
    json_reply(
        status,
        &json!({"success": false, "errors": [{"code": code, "message": message}], "messages": [], "result": null}),
    )
}

fn json_reply(status: u16, body: &Value) -> Reply {
    Reply {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string(),
    }
}

fn record_json(r: &Record, zone_name: &str) -> Value {
    json!({
        "id": r.id, "zone_id": r.zone_id, "zone_name": zone_name, "name": r.name,
        "type": r.rtype, "content": r.content, "proxiable": matches!(r.rtype.as_str(), "A" | "AAAA" | "CNAME"),
        "proxied": r.proxied, "ttl": r.ttl, "settings": {}, "meta": {}, "comment": null, "tags": [],
        "created_on": "2026-01-01T00:00:00.000000Z", "modified_on": "2026-01-01T00:00:00.000000Z"
    })
}

/// May the request read (`Some(false)`) or also edit (`Some(true)`)? `Err` is the refusal.
fn authorise(s: &State, request: &Request) -> Result<bool, Reply> {
    if let Some(auth) = request.header("authorization") {
        let Some(token) = auth.strip_prefix("Bearer ") else {
            return Err(error(400, 6111, "Invalid format for Authorization header"));
        };
        return s
            .tokens
            .get(token.trim())
            .copied()
            .ok_or_else(|| error(403, 9109, "Invalid access token"));
    }
    match (
        request.header("x-auth-email"),
        request.header("x-auth-key"),
        &s.global_key,
    ) {
        (Some(email), Some(key), Some((e, k))) if email == e && key == k => Ok(true),
        (Some(_), Some(_), _) => Err(error(403, 9103, "Unknown X-Auth-Key or X-Auth-Email")),
        _ => Err(error(400, 10000, "Authentication error")),
    }
}

fn page_of<T: Clone>(
    items: &[T],
    query: &HashMap<String, String>,
    max_per_page: usize,
    default: usize,
) -> (Vec<T>, Value) {
    let per_page = query
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(default)
        .clamp(1, max_per_page);
    let page = query
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let total_pages = items.len().div_ceil(per_page).max(1);
    let slice: Vec<T> = items
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .cloned()
        .collect();
    let info = json!({"page": page, "per_page": per_page, "count": slice.len(), "total_count": items.len(), "total_pages": total_pages});
    (slice, info)
}

fn handle(state: &Mutex<State>, request: &Request) -> Reply {
    let mut s = state.lock().unwrap();
    s.requests.push(request.clone());
    if let Some(wait) = s.throttle {
        let mut reply = error(
            429,
            971,
            "Please wait and consider throttling your request speed",
        );
        reply.headers.push(("retry-after".into(), wait.to_string()));
        return reply;
    }
    let can_edit = match authorise(&s, request) {
        Ok(can_edit) => can_edit,
        Err(reply) => return reply,
    };
    let (path, query) = match request.target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (request.target.as_str(), ""),
    };
    let query: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let Some(path) = path.strip_prefix("/client/v4/") else {
        return error(404, 7000, "No route for that URI");
    };
    let segments: Vec<&str> = path.split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["zones"]) => {
            let mut zones = s.zones.clone();
            if let Some(name) = query.get("name") {
                zones.retain(|(_, n)| n == name);
            }
            let (page, info) = page_of(&zones, &query, 50, 20);
            let result: Vec<Value> = page
                .iter()
                .map(|(id, name)| json!({"id": id, "name": name, "status": "active", "paused": false, "type": "full"}))
                .collect();
            envelope(200, Value::Array(result), Some(info))
        }
        ("GET", ["zones", zone, "dns_records"]) => {
            let Some(zone_name) = s
                .zones
                .iter()
                .find(|(id, _)| id == zone)
                .map(|(_, n)| n.clone())
            else {
                return zone_missing(zone);
            };
            let mut records: Vec<Record> = s
                .records
                .iter()
                .filter(|r| r.zone_id == *zone)
                .cloned()
                .collect();
            if let Some(name) = query.get("name") {
                records.retain(|r| r.name.eq_ignore_ascii_case(name));
            }
            if let Some(rtype) = query.get("type") {
                records.retain(|r| r.rtype == *rtype);
            }
            let (page, info) = page_of(&records, &query, 5_000_000, 100);
            let result: Vec<Value> = page.iter().map(|r| record_json(r, &zone_name)).collect();
            envelope(200, Value::Array(result), Some(info))
        }
        ("POST", ["zones", zone, "dns_records", "batch"]) => {
            let Some(zone_name) = s
                .zones
                .iter()
                .find(|(id, _)| id == zone)
                .map(|(_, n)| n.clone())
            else {
                return zone_missing(zone);
            };
            if !can_edit {
                return error(403, 10000, "Authentication error");
            }
            let Ok(body) = serde_json::from_str::<Value>(&request.body) else {
                return error(400, 9207, "Request body is invalid.");
            };
            batch(&mut s, zone, &zone_name, &body)
        }
        _ => error(404, 7000, "No route for that URI"),
    }
}

fn zone_missing(zone: &str) -> Reply {
    error(
        400,
        7003,
        &format!(
            "Could not route to /zones/{zone}/dns_records, perhaps your object identifier is invalid?"
        ),
    )
}

/// Checks one record of a post or patch: type, content for the type, TTL, name in the zone.
fn check(op: &Value, zone_name: &str) -> Result<(String, String, String, u32, bool), Reply> {
    let rtype = op["type"].as_str().unwrap_or_default().to_owned();
    let name = op["name"].as_str().unwrap_or_default().to_ascii_lowercase();
    let content = op["content"].as_str().unwrap_or_default().to_owned();
    let ttl = op["ttl"].as_u64().unwrap_or(1);
    let proxied = op["proxied"].as_bool().unwrap_or(false);
    let family_ok = match (rtype.as_str(), content.parse::<IpAddr>()) {
        ("A", Ok(IpAddr::V4(_))) | ("AAAA", Ok(IpAddr::V6(_))) => true,
        ("A" | "AAAA", _) => false,
        _ => true,
    };
    if !family_ok {
        return Err(error(
            400,
            9005,
            "Content for A record must be a valid IPv4 address.",
        ));
    }
    if ttl != 1 && !(60..=86_400).contains(&ttl) {
        return Err(error(
            400,
            9021,
            "TTL must be between 60 and 86400 seconds, or 1 for Automatic.",
        ));
    }
    if !(name == zone_name || name.ends_with(&format!(".{zone_name}"))) {
        return Err(error(400, 9000, "DNS name is invalid."));
    }
    let ttl = u32::try_from(ttl).unwrap_or(1);
    // Cloudflare answers TTL 1 for proxied records.
    Ok((rtype, name, content, if proxied { 1 } else { ttl }, proxied))
}

fn batch(s: &mut State, zone: &str, zone_name: &str, body: &Value) -> Reply {
    let list = |key: &str| body[key].as_array().cloned().unwrap_or_default();
    let (deletes, patches, posts) = (list("deletes"), list("patches"), list("posts"));
    // Validate everything first: a batch is all or nothing.
    let mut records = s.records.clone();
    let mut out_deletes = Vec::new();
    for op in &deletes {
        let id = op["id"].as_str().unwrap_or_default();
        let Some(at) = records.iter().position(|r| r.id == id && r.zone_id == zone) else {
            return error(404, 81044, "Record does not exist.");
        };
        out_deletes.push(record_json(&records.remove(at), zone_name));
    }
    let mut out_patches = Vec::new();
    for op in &patches {
        let id = op["id"].as_str().unwrap_or_default();
        let Some(at) = records.iter().position(|r| r.id == id && r.zone_id == zone) else {
            return error(404, 81044, "Record does not exist.");
        };
        let (rtype, name, content, ttl, proxied) = match check(op, zone_name) {
            Ok(fields) => fields,
            Err(reply) => return reply,
        };
        let r = &mut records[at];
        (r.rtype, r.name, r.content, r.ttl, r.proxied) = (rtype, name, content, ttl, proxied);
        out_patches.push(record_json(r, zone_name));
    }
    let mut out_posts = Vec::new();
    for op in &posts {
        let (rtype, name, content, ttl, proxied) = match check(op, zone_name) {
            Ok(fields) => fields,
            Err(reply) => return reply,
        };
        if records
            .iter()
            .any(|r| r.name == name && (r.rtype == "CNAME") != (rtype == "CNAME"))
        {
            return error(
                400,
                81053,
                "An A, AAAA, or CNAME record with that host already exists.",
            );
        }
        if records
            .iter()
            .any(|r| r.name == name && r.rtype == rtype && r.content == content)
        {
            return error(400, 81058, "An identical record already exists.");
        }
        let id = next_id(s);
        let record = Record {
            id,
            zone_id: zone.to_owned(),
            rtype,
            name,
            content,
            ttl,
            proxied,
        };
        out_posts.push(record_json(&record, zone_name));
        records.push(record);
    }
    s.records = records;
    envelope(
        200,
        json!({"deletes": out_deletes, "patches": out_patches, "puts": [], "posts": out_posts}),
        None,
    )
}
