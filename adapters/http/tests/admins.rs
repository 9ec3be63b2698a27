//! The admin endpoints and the client address behind a proxy, through
//! `warp::test` over in-memory fakes of the ports.

mod support;

use ferry_domain::AdminPermission;
use ferry_http::{Access, ApiServices, HttpSettings, ProxyAllowed, route_table};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use support::*;
use warp::Filter;
use warp::http::StatusCode;
use warp::reply::Response;

/// The harness with a [`FakeAdmins`] the test can inspect and `proxies` as
/// `proxy_allowed`.
fn admin_harness(
    proxies: &[&str],
) -> (
    Harness<impl Filter<Extract = (Response,), Error = Infallible> + Clone>,
    Arc<FakeAdmins>,
) {
    let sessions = Arc::new(FakeSessions::default());
    let users = Arc::new(FakeUsers::default());
    let admins = Arc::new(FakeAdmins::default());
    sessions.grant("all", vec![AdminPermission::All]);
    sessions.grant("viewer", vec![AdminPermission::ViewUsers]);
    let services = ApiServices {
        sessions: sessions.clone(),
        users: users.clone(),
        folders: Arc::new(FakeFolders::default()),
        admins: admins.clone(),
        health: Arc::new(FakeHealth::default()),
        connections: Arc::new(FakeConnections::default()),
        quotas: Arc::new(FakeQuotas::default()),
        backups: Arc::new(FakeBackups::default()),
    };
    let settings = HttpSettings {
        proxy_allowed: ProxyAllowed::parse(proxies).unwrap(),
        ..HttpSettings::default()
    };
    let harness = Harness {
        api: ferry_http::routes(services, settings),
        sessions,
        users,
        peer: SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 40_000),
    };
    (harness, admins)
}

fn new_admin(name: &str) -> Value {
    json!({"username": name, "status": 1, "password": "Pw-of-admin-1",
        "permissions": ["view_users", "add_users"], "email": "ops@example.org",
        "filters": {"allow_list": ["192.0.2.0/24"], "allow_api_key_auth": true}})
}

#[test]
fn the_route_table_lists_the_admin_endpoints() {
    let table = route_table();
    let access = |method: &str, pattern: &str| {
        table
            .iter()
            .find(|r| r.method.as_str() == method && r.pattern == pattern)
            .map(|r| r.access)
    };
    let star = Some(Access::Permission(AdminPermission::All));
    assert_eq!(access("GET", "/api/v2/admins"), star);
    assert_eq!(access("POST", "/api/v2/admins"), star);
    for method in ["GET", "PUT", "DELETE"] {
        assert_eq!(access(method, "/api/v2/admins/{username}"), star);
    }
    assert_eq!(
        access("PUT", "/api/v2/admin/changepwd"),
        Some(Access::AnyAdmin)
    );
    assert_eq!(
        access("GET", "/api/v2/admin/profile"),
        Some(Access::AnyAdmin)
    );
    assert_eq!(
        access("PUT", "/api/v2/admin/profile"),
        Some(Access::AnyAdmin)
    );
}

#[tokio::test]
async fn admins_are_created_read_updated_and_deleted() {
    let (h, admins) = admin_harness(&[]);
    let created = h
        .call("POST", "/api/v2/admins", "all", Some(new_admin("ops")))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.headers["location"], "/api/v2/admins/ops");
    assert!(created.json.get("password").is_none(), "{}", created.text);
    assert!(!created.text.contains("$fake$"), "{}", created.text);
    assert_eq!(
        created.json["permissions"],
        json!(["view_users", "add_users"])
    );
    assert_eq!(
        created.json["filters"]["allow_list"],
        json!(["192.0.2.0/24"])
    );
    assert_eq!(created.json["filters"]["allow_api_key_auth"], json!(true));
    let stored = admins.stored("ops").unwrap();
    assert_eq!(stored.password_hash, "$fake$Pw-of-admin-1");

    let got = h.call("GET", "/api/v2/admins/ops", "all", None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json["email"], json!("ops@example.org"));
    let listed = h.call("GET", "/api/v2/admins?limit=1", "all", None).await;
    assert_eq!(
        listed.json.as_array().map(Vec::len),
        Some(1),
        "{}",
        listed.text
    );

    let mut change = new_admin("renamed");
    change.as_object_mut().unwrap().remove("password");
    change["description"] = json!("on call");
    let updated = h
        .call("PUT", "/api/v2/admins/ops", "all", Some(change))
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.json, json!({"message": "Admin updated"}));
    let stored = admins.stored("ops").unwrap();
    assert_eq!(stored.description, "on call");
    assert_eq!(stored.password_hash, "$fake$Pw-of-admin-1");

    let deleted = h.call("DELETE", "/api/v2/admins/ops", "all", None).await;
    assert_eq!(deleted.json, json!({"message": "Admin deleted"}));
    let gone = h.call("GET", "/api/v2/admins/ops", "all", None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let bad_name = h.call("GET", "/api/v2/admins/a%20b", "all", None).await;
    assert_eq!(bad_name.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn invalid_admins_are_bad_requests() {
    let (h, admins) = admin_harness(&[]);
    let with = |key: &str, value: Value| {
        let mut admin = new_admin("bad");
        admin[key] = value;
        admin
    };
    for body in [
        with("permissions", json!(["manage_system"])),
        with("filters", json!({"allow_list": ["not-a-network"]})),
        with("status", json!(7)),
        with("username", json!("../x")),
        with("permissions", json!("*")),
    ] {
        let reply = h
            .call("POST", "/api/v2/admins", "all", Some(body.clone()))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text
        );
    }
    assert!(admins.stored("bad").is_none());
}

#[tokio::test]
async fn admin_routes_need_the_star_permission() {
    let (h, _) = admin_harness(&[]);
    let reply = h.call("GET", "/api/v2/admins", "viewer", None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let profile = h.call("GET", "/api/v2/admin/profile", "viewer", None).await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.text);
}

#[tokio::test]
async fn a_password_change_revokes_the_token_it_used() {
    let (h, admins) = admin_harness(&[]);
    let body = json!({"current_password": "wrong", "new_password": "N3w-password"});
    let refused = h
        .call("PUT", "/api/v2/admin/changepwd", "all", Some(body))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    let still = h.call("GET", "/api/v2/admin/profile", "all", None).await;
    assert_eq!(
        still.status,
        StatusCode::OK,
        "a refused change keeps the token"
    );

    let body = json!({"current_password": "secret", "new_password": "N3w-password"});
    let changed = h
        .call("PUT", "/api/v2/admin/changepwd", "all", Some(body))
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.json, json!({"message": "Password updated"}));
    let changes = admins.password_changes.lock().unwrap().clone();
    assert_eq!(
        changes,
        [("root".into(), "secret".into(), "N3w-password".into())]
    );
    let after = h.call("GET", "/api/v2/admin/profile", "all", None).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_profile_round_trips() {
    let (h, _) = admin_harness(&[]);
    let empty = h.call("GET", "/api/v2/admin/profile", "all", None).await;
    let cleared = json!({"email": "", "description": "", "allow_api_key_auth": false});
    assert_eq!(empty.json, cleared);
    let profile = json!({"email": "me@example.org", "description": "me",
        "allow_api_key_auth": true});
    let put = h
        .call("PUT", "/api/v2/admin/profile", "all", Some(profile.clone()))
        .await;
    assert_eq!(put.json, json!({"message": "Profile updated"}));
    let got = h.call("GET", "/api/v2/admin/profile", "all", None).await;
    assert_eq!(got.json, profile);
    let garbage = h
        .call(
            "PUT",
            "/api/v2/admin/profile",
            "all",
            Some(json!({"email": 3})),
        )
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
}

/// The client address each harness hands the ports for one request that
/// says it was forwarded for 10.0.0.1.
#[tokio::test]
async fn proxy_headers_count_only_from_allowed_proxies() {
    let socket: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let named: SocketAddr = "10.0.0.1:0".parse().unwrap();
    for (proxies, expected) in [
        (&["127.0.0.1/32"][..], named),
        (&["127.0.0.0/8", "10.0.0.0/8"][..], named),
        (&[][..], socket),
        (&["192.0.2.0/24"][..], socket),
    ] {
        let (h, _) = admin_harness(proxies);
        let request = h
            .request("GET", "/api/v2/version")
            .header("authorization", "Bearer all")
            .header("x-forwarded-for", "10.0.0.1");
        let reply = h.send(request).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let seen = h.sessions.peers.lock().unwrap().clone();
        assert_eq!(seen, [expected], "proxy_allowed {proxies:?}");
    }
}
