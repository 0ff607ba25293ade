use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn post_update_form_and_json() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    let form = http()
        .post(s.url("/update"))
        .bearer_auth(&token)
        .form(&[("domain", "home.ddns.test"), ("ip", "192.0.2.50")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 200);
    let body: Value = form.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "success", "domain": "home.ddns.test", "ip": "192.0.2.50", "changed": true})
    );
    let again: Value = http()
        .post(s.url("/update"))
        .bearer_auth(&token)
        .json(&json!({"domain": "home.ddns.test", "ip": "192.0.2.50"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["changed"], false);
    let v6: Value = http()
        .post(s.url("/update"))
        .bearer_auth(&token)
        .json(&json!({"domain": "home.ddns.test", "ipv6": "2001:db8::50"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v6["ip"], "2001:db8::50");
    assert_eq!(
        lookup(&s, "home.ddns.test.", RecordType::A),
        ["192.0.2.50"],
        "an IPv6-only update keeps A"
    );
    // Nothing given: the connection's address.
    let auto: Value = http()
        .post(s.url("/update"))
        .bearer_auth(&token)
        .form(&[("domain", "home.ddns.test")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(auto["ip"], "127.0.0.1");
}

#[tokio::test]
async fn post_update_errors_are_json_with_codes() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    let cases: Vec<(Option<&str>, Value, u16, &str)> = vec![
        (
            None,
            json!({"domain": "home.ddns.test", "ip": "192.0.2.1"}),
            401,
            "badauth",
        ),
        (
            Some(&token),
            json!({"domain": "bad name", "ip": "192.0.2.1"}),
            400,
            "notfqdn",
        ),
        (
            Some(&token),
            json!({"domain": "home.ddns.test", "ip": "1234"}),
            400,
            "bad_address",
        ),
        (
            Some(&token),
            json!({"domain": "other.ddns.test", "ip": "192.0.2.1"}),
            403,
            "forbidden",
        ),
        (
            Some(&token),
            json!({"domain": "home.example.org", "ip": "192.0.2.1"}),
            404,
            "nohost",
        ),
        (
            Some(&token),
            json!({"domain": "home.ddns.test", "ip": "192.0.2.1", "extra": 1}),
            400,
            "bad_request",
        ),
    ];
    for (auth, body, status, code) in cases {
        let mut request = http().post(s.url("/update")).json(&body);
        if let Some(t) = auth {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{body}");
        let reply: Value = response.json().await.unwrap();
        assert_eq!(reply["status"], "error");
        assert_eq!(reply["code"], code, "{body}");
        assert!(reply["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert!(lookup(&s, "home.ddns.test.", RecordType::A).is_empty());
}

#[tokio::test]
async fn etags_stop_lost_updates() {
    let s = server(&[]);
    let token = s.token(&["home.ddns.test"]);
    nic(&s, Some(&token), "hostname=home.ddns.test&myip=192.0.2.1").await;
    let get = http()
        .get(s.url("/api/v1/hosts/home.ddns.test"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 200);
    let etag = get.headers()["etag"].to_str().unwrap().to_owned();
    let host: Value = get.json().await.unwrap();
    assert_eq!(
        host["records"],
        json!([{"type": "A", "ttl": 60, "values": ["192.0.2.1"]}])
    );

    // Writer 1 changes the record with the ETag it read.
    let put = |value: &'static str, tag: String| {
        let token = token.clone();
        let url = s.url("/api/v1/hosts/home.ddns.test/records/A");
        async move {
            http()
                .put(url)
                .bearer_auth(token)
                .header("if-match", tag)
                .json(&json!({"ttl": 120, "values": [value]}))
                .send()
                .await
                .unwrap()
        }
    };
    let first = put("192.0.2.2", etag.clone()).await;
    assert_eq!(first.status().as_u16(), 200);
    let new_etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    // Writer 2 still holds the old ETag: refused, nothing overwritten.
    let second = put("192.0.2.3", etag).await;
    assert_eq!(second.status().as_u16(), 412);
    let reply: Value = second.json().await.unwrap();
    assert_eq!(reply["code"], "stale_version");
    assert_eq!(lookup(&s, "home.ddns.test.", RecordType::A), ["192.0.2.2"]);
    // A DynDNS2 update also moves the version.
    nic(&s, Some(&token), "hostname=home.ddns.test&myip=192.0.2.4").await;
    assert_eq!(put("192.0.2.5", new_etag).await.status().as_u16(), 412);
    let ttl = dns::udp(s.dns, "home.ddns.test.", RecordType::A).answers[0].ttl;
    assert_eq!(ttl, 120, "an address update keeps the TTL someone set");

    let history: Value = get_json(s.url("/api/v1/hosts/home.ddns.test/history"), &token).await;
    let rows = history.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["new"]["values"], json!(["192.0.2.4"]));
    assert_eq!(rows[0]["old"]["values"], json!(["192.0.2.2"]));
    assert_eq!(rows[2]["old"], Value::Null);
    assert_eq!(rows[0]["source_ip"], "127.0.0.1");

    let delete = http()
        .delete(s.url("/api/v1/hosts/home.ddns.test"))
        .bearer_auth(&token)
        .header("if-match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status().as_u16(), 412);
    let delete = http()
        .delete(s.url("/api/v1/hosts/home.ddns.test"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status().as_u16(), 204);
    assert!(lookup(&s, "home.ddns.test.", RecordType::A).is_empty());
}

#[tokio::test]
async fn admin_tokens_manage_tokens_and_hosts() {
    let s = server(&[]);
    let admin = s.admin_token();
    let created = http()
        .post(s.url("/api/v1/tokens"))
        .bearer_auth(&admin)
        .json(&json!({"label": "router", "hosts": ["nas.ddns.test"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let created: Value = created.json().await.unwrap();
    let host_token = created["token"].as_str().unwrap().to_owned();
    assert_eq!(created["hosts"], json!(["nas.ddns.test"]));
    assert_eq!(
        nic(
            &s,
            Some(&host_token),
            "hostname=nas.ddns.test&myip=192.0.2.60"
        )
        .await
        .1,
        "good 192.0.2.60"
    );
    // Host tokens cannot manage tokens.
    let denied = http()
        .get(s.url("/api/v1/tokens"))
        .bearer_auth(&host_token)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status().as_u16(), 403);
    let list: Value = get_json(s.url("/api/v1/tokens"), &admin).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(
        list.to_string().find(&host_token[5..]).is_none(),
        "secrets are never listed"
    );
    let hosts: Value = get_json(s.url("/api/v1/hosts"), &host_token).await;
    assert_eq!(hosts.as_array().unwrap().len(), 1);
    let id = created["id"].as_str().unwrap();
    let revoked = http()
        .delete(s.url(&format!("/api/v1/tokens/{id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 204);
    assert_eq!(
        nic(
            &s,
            Some(&host_token),
            "hostname=nas.ddns.test&myip=192.0.2.61"
        )
        .await,
        (401, "badauth".into())
    );
    let export = http()
        .get(s.url("/api/v1/zones/ddns.test/export"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        export.contains("nas.ddns.test.\t60\tIN\tA\t192.0.2.60"),
        "{export}"
    );
}

#[tokio::test]
async fn openapi_describes_every_route() {
    let s = server(&[]);
    let doc: Value = http()
        .get(s.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/nic/update", &["get"][..]),
        ("/v3/update", &["get"]),
        ("/update", &["get", "post"]),
        ("/api/v1/openapi.json", &["get"]),
        ("/api/v1/zones", &["get"]),
        ("/api/v1/zones/{zone}/export", &["get"]),
        ("/api/v1/hosts", &["get", "post"]),
        ("/api/v1/hosts/{name}", &["get", "delete"]),
        ("/api/v1/hosts/{name}/history", &["get"]),
        ("/api/v1/hosts/{name}/rollback", &["post"]),
        ("/api/v1/audit", &["get"]),
        ("/api/v1/hosts/{name}/records/{rtype}", &["put", "delete"]),
        ("/api/v1/tokens", &["get", "post"]),
        ("/api/v1/tokens/{id}", &["delete"]),
    ] {
        for method in methods {
            assert!(
                paths.get(path).and_then(|p| p.get(*method)).is_some(),
                "{method} {path} undocumented"
            );
        }
    }
    // Every $ref resolves.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "dangling $ref {name}"
        );
    }
}
