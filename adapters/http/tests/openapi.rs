//! The OpenAPI document against the code: every route of the table is
//! documented with its method, security and permission, and nothing else is;
//! every field the handlers send is a property of the documented schema.
//! Also: the document and Swagger UI are served without credentials.

mod support;

use ferry_domain::AdminPermission;
use ferry_http::{
    Access, ApiServices, HostKeyFacts, HttpSettings, RouteInfo, SshFacts, route_table,
};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use support::*;

/// The document as the API serves it.
async fn document() -> Value {
    let h = harness();
    let reply = h.send(h.request("GET", "/api/v2/openapi.json")).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_eq!(reply.headers["content-type"], "application/json");
    reply.json
}

fn operation<'d>(doc: &'d Value, route: &RouteInfo) -> &'d Value {
    let method = route.method.as_str().to_ascii_lowercase();
    let op = &doc["paths"][route.pattern][method.as_str()];
    assert!(
        op.is_object(),
        "{} {} is not documented",
        route.method,
        route.pattern
    );
    op
}

#[tokio::test]
async fn the_document_is_openapi_3() {
    let doc = document().await;
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "openapi: {version:?}");
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["BasicAuth"]["scheme"], "basic");
    assert_eq!(schemes["BearerAuth"]["scheme"], "bearer");
}

#[tokio::test]
async fn every_route_is_documented_and_nothing_else() {
    let doc = document().await;
    let routes: BTreeSet<(String, String)> = route_table()
        .iter()
        .map(|r| (r.pattern.to_owned(), r.method.as_str().to_ascii_lowercase()))
        .collect();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            if method != "parameters" {
                documented.insert((path.clone(), method.clone()));
            }
        }
    }
    let missing: Vec<_> = routes.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routes).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );
    assert!(extra.is_empty(), "documented routes Ferry lacks: {extra:?}");
}

#[tokio::test]
async fn security_and_permissions_match_the_route_table() {
    let doc = document().await;
    for route in route_table() {
        let op = operation(&doc, &route);
        let what = format!("{} {}", route.method, route.pattern);
        let (security, permission) = match route.access {
            Access::Public => (json!([]), None),
            Access::AdminCredentials => (json!([{"BasicAuth": []}]), None),
            Access::AnyAdmin => (json!([{"BearerAuth": []}]), None),
            Access::Permission(p) => (json!([{"BearerAuth": []}]), Some(p.as_str())),
        };
        assert_eq!(op["security"], security, "{what}");
        assert_eq!(op["x-ferry-permission"].as_str(), permission, "{what}");
    }
}

#[tokio::test]
async fn path_parameters_are_documented() {
    let doc = document().await;
    for route in route_table() {
        let op = operation(&doc, &route);
        let documented: BTreeSet<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str())
            .collect();
        let in_pattern: BTreeSet<&str> = route
            .pattern
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        assert_eq!(documented, in_pattern, "{} {}", route.method, route.pattern);
    }
}

/// Follows a local `$ref`.
fn resolve<'d>(doc: &'d Value, schema: &'d Value) -> &'d Value {
    match schema["$ref"].as_str() {
        Some(target) => {
            let pointer = target.strip_prefix('#').expect("a local $ref");
            resolve(doc, doc.pointer(pointer).expect("the $ref target exists"))
        }
        None => schema,
    }
}

/// Asserts that `value` fits `schema`: every key of every object is a
/// documented property, and documented types match.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(doc, schema);
    if value.is_null() {
        assert_eq!(schema["nullable"], true, "{at} is null but not nullable");
        return;
    }
    let type_ok = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    assert!(type_ok, "{at}: {value} is not a {}", schema["type"]);
    if let Some(allowed) = schema["enum"].as_array() {
        assert!(
            allowed.contains(value),
            "{at}: {value} is not in {allowed:?}"
        );
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, item) in list.iter().enumerate() {
            conforms(doc, items, item, &format!("{at}[{i}]"));
        }
    }
    let Some(object) = value.as_object() else {
        return;
    };
    let properties = &schema["properties"];
    for (key, field) in object {
        let at = format!("{at}.{key}");
        match (properties.get(key), schema.get("additionalProperties")) {
            (Some(property), _) => conforms(doc, property, field, &at),
            (None, Some(extra)) => conforms(doc, extra, field, &at),
            (None, None) => panic!("{at} is not in the documented schema"),
        }
    }
}

/// The documented schema of `method path`'s response with `status`.
fn response_schema<'d>(doc: &'d Value, method: &str, path: &str, status: u16) -> &'d Value {
    let response = &doc["paths"][path][method]["responses"][status.to_string()];
    let response = resolve(doc, response);
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} documents no {status} JSON body"
    );
    schema
}

fn ssh_facts() -> SshFacts {
    let key = |path: Option<&str>| HostKeyFacts {
        path: path.map(str::to_owned),
        fingerprint: "SHA256:abc".into(),
        algorithms: vec!["rsa-sha2-512".into()],
    };
    let names = |n: &str| vec![n.to_owned()];
    SshFacts {
        bindings: vec!["127.0.0.1:2022".parse().unwrap()],
        host_keys: vec![key(Some("/keys/rsa")), key(None)],
        authentications: vec!["publickey".into(), "password".into()],
        public_key_algorithms: names("ssh-ed25519"),
        macs: names("hmac-sha2-256-etm@openssh.com"),
        kex_algorithms: names("curve25519-sha256"),
        ciphers: names("aes128-gcm@openssh.com"),
    }
}

/// A user with every field Ferry sends set, so none is skipped.
fn full_user(name: &str) -> Value {
    json!({
        "username": name, "status": 1, "email": "a@example.com", "description": "d",
        "expiration_date": 1, "password": "Pa55-word", "public_keys": [],
        "home_dir": format!("/srv/ferry/{name}"), "uid": 1, "gid": 1, "max_sessions": 1,
        "quota_size": 1, "quota_files": 1, "permissions": {"/": ["*"], "/in": ["list"]},
        "upload_bandwidth": 1, "download_bandwidth": 1,
        "filters": {"allowed_ip": ["10.0.0.0/8"], "denied_ip": ["10.1.0.0/16"],
            "denied_login_methods": ["password"], "denied_protocols": ["FTP"],
            "max_upload_file_size": 5, "start_directory": "/in"},
        "filesystem": {"provider": 0, "osconfig": {"read_buffer_size": 1}},
        "additional_info": "i",
    })
}

#[tokio::test]
async fn every_reply_fits_its_documented_schema() {
    let doc = document().await;
    let sessions = Arc::new(FakeSessions::default());
    let users = Arc::new(FakeUsers::default());
    let health = Arc::new(FakeHealth::default());
    sessions.grant("all", vec![AdminPermission::All]);
    let services = ApiServices {
        sessions: sessions.clone(),
        users: users.clone(),
        folders: Arc::new(FakeFolders::default()),
        admins: Arc::new(FakeAdmins::default()),
        health: health.clone(),
        connections: Arc::new(FakeConnections::default()),
        quotas: Arc::new(FakeQuotas::default()),
        backups: Arc::new(FakeBackups::default()),
    };
    let settings = HttpSettings {
        features: vec!["+sqlite".into()],
        ssh: ssh_facts(),
        ..HttpSettings::default()
    };
    let h = Harness {
        api: ferry_http::routes(services, settings),
        sessions,
        users,
        peer: "127.0.0.1:40000".parse().unwrap(),
    };
    let admin = json!({"username": "other", "password": "Pa55-word", "status": 1,
        "email": "o@example.com", "description": "d", "permissions": ["view_users"],
        "filters": {"allow_list": ["10.0.0.0/8"]}, "additional_info": "i"});
    let folder = json!({"name": "shared", "mapped_path": "/srv/shared", "description": "d",
        "filesystem": {"provider": 0, "osconfig": {"read_buffer_size": 1}}});
    let calls: Vec<(&str, &str, Option<Value>, u16)> = vec![
        ("POST", "/api/v2/users", Some(full_user("alice")), 201),
        ("GET", "/api/v2/users", None, 200),
        ("GET", "/api/v2/users/alice", None, 200),
        ("PUT", "/api/v2/users/alice", Some(full_user("alice")), 200),
        ("POST", "/api/v2/admins", Some(admin.clone()), 201),
        ("GET", "/api/v2/admins", None, 200),
        ("GET", "/api/v2/admins/other", None, 200),
        ("PUT", "/api/v2/admins/other", Some(admin), 200),
        ("GET", "/api/v2/admin/profile", None, 200),
        ("GET", "/api/v2/version", None, 200),
        ("GET", "/api/v2/status", None, 200),
        ("GET", "/api/v2/connections", None, 200),
        ("POST", "/api/v2/quotas/users/measured/scan", None, 202),
        ("POST", "/api/v2/quotas/users/measured/scan", None, 409),
        ("GET", "/api/v2/quotas/users/scans", None, 200),
        (
            "PUT",
            "/api/v2/quotas/users/measured/usage?mode=add",
            Some(json!({"used_quota_size": 10})),
            200,
        ),
        (
            "PUT",
            "/api/v2/quotas/users/measured/usage?mode=x",
            Some(json!({})),
            400,
        ),
        ("GET", "/api/v2/quotas/folders/scans", None, 200),
        ("GET", "/api/v2/users/nobody", None, 404),
        ("DELETE", "/api/v2/users/alice", None, 200),
        ("POST", "/api/v2/folders", Some(folder.clone()), 201),
        ("GET", "/api/v2/folders", None, 200),
        ("GET", "/api/v2/folders/shared", None, 200),
        ("PUT", "/api/v2/folders/shared", Some(folder), 200),
        ("GET", "/api/v2/folders/nobody", None, 404),
        ("DELETE", "/api/v2/folders/shared", None, 200),
    ];
    for (method, path, body, status) in calls {
        let reply = h.call(method, path, "all", body).await;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{method} {path}: {}",
            reply.text
        );
        let pattern = path
            .replace("/alice", "/{username}")
            .replace("/other", "/{username}");
        let pattern = pattern
            .replace("/nobody", "/{username}")
            .replace("/measured", "/{username}");
        let pattern = pattern.split('?').next().unwrap_or_default();
        let pattern = if pattern.starts_with("/api/v2/folders/") {
            "/api/v2/folders/{name}"
        } else {
            pattern
        };
        let method = method.to_ascii_lowercase();
        let schema = response_schema(&doc, &method, pattern, status);
        conforms(&doc, schema, &reply.json, &format!("{method} {path}"));
    }

    health.fail();
    let reply = h.call("GET", "/api/v2/status", "all", None).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_eq!(reply.json["data_provider"]["is_active"], false);
    assert_eq!(
        reply.json["data_provider"]["error"],
        "database is unavailable"
    );
    let schema = response_schema(&doc, "get", "/api/v2/status", 200);
    conforms(&doc, schema, &reply.json, "status with a dead database");

    let token = h
        .send(
            h.request("GET", "/api/v2/token")
                .header("authorization", "Basic cm9vdDpzZWNyZXQ="),
        )
        .await;
    assert_eq!(token.status.as_u16(), 200, "{}", token.text);
    conforms(
        &doc,
        response_schema(&doc, "get", "/api/v2/token", 200),
        &token.json,
        "token",
    );
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let h = harness();
    let page = h.send(h.request("GET", "/openapi")).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.text.contains("<base href=\"/openapi/\">"),
        "{}",
        page.text
    );
    assert!(page.text.contains("swagger-ui-bundle.js"), "{}", page.text);

    for (file, kind) in [
        ("swagger-ui-bundle.js", "javascript"),
        ("swagger-ui.css", "text/css"),
        ("swagger-initializer.js", "javascript"),
    ] {
        let reply = h.send(h.request("GET", &format!("/openapi/{file}"))).await;
        assert_eq!(reply.status.as_u16(), 200, "{file}");
        let content_type = reply.headers["content-type"].to_str().unwrap();
        assert!(content_type.contains(kind), "{file}: {content_type}");
        assert!(!reply.text.is_empty(), "{file} is empty");
    }
    let init = h
        .send(h.request("GET", "/openapi/swagger-initializer.js"))
        .await;
    assert!(init.text.contains("/api/v2/openapi.json"), "{}", init.text);

    let missing = h.send(h.request("GET", "/openapi/nope.js")).await;
    assert_eq!(missing.status.as_u16(), 404);

    // With a trailing slash, as a browser completes it, the same page.
    let slashed = h.send(h.request("GET", "/openapi/")).await;
    assert_eq!(slashed.status.as_u16(), 200);
    assert_eq!(slashed.text, page.text);
}

#[tokio::test]
async fn backup_replies_fit_their_schemas() {
    let doc = document().await;
    let h = harness();
    let mut user = full_user("alice");
    user["password"] = json!("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW");
    user["created_at"] = json!(1_600_000_000_000i64);
    let admin = json!({"username": "root", "password": "$1$saltsalt$NuzA7WTAelpl95xgBGWN60",
        "status": 1, "permissions": ["*"], "filters": {"allow_list": ["10.0.0.0/8"]}});
    let backup = json!({"users": [user], "admins": [admin], "groups": [{"name": "g"}],
        "version": 17});

    let reply = h
        .call("POST", "/api/v2/loaddata", "all", Some(backup))
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_eq!(
        reply.json["message"],
        "Data restored; skipped what this server does not support: groups"
    );
    let schema = response_schema(&doc, "post", "/api/v2/loaddata", 200);
    conforms(&doc, schema, &reply.json, "loaddata");

    let reply = h
        .call("GET", "/api/v2/dumpdata?output-data=1", "all", None)
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    let backup_schema = json!({"$ref": "#/components/schemas/BackupData"});
    conforms(&doc, &backup_schema, &reply.json, "dumpdata");
    assert_eq!(
        reply.json["users"][0]["password"].as_str().unwrap().len(),
        60
    );
    assert_eq!(reply.json["admins"][0]["username"], "root");
}
