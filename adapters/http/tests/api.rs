//! The REST API through `warp::test`, over in-memory fakes of the ports.

mod support;

use ferry_domain::AdminPermission;
use ferry_http::{Access, route_table};
use serde_json::{Value, json};
use support::*;
use warp::http::StatusCode;

const BASIC_ROOT: &str = "Basic cm9vdDpzZWNyZXQ="; // root:secret
const BASIC_WRONG: &str = "Basic cm9vdDp3cm9uZw=="; // root:wrong

fn assert_api_error(reply: &Reply, status: u16) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
    let reason = reply.status.canonical_reason().unwrap();
    assert_eq!(reply.json["error"], json!(reason), "{}", reply.text);
    assert!(
        reply.json["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    let content_type = reply.headers.get("content-type").unwrap();
    assert_eq!(content_type, "application/json");
}

#[tokio::test]
async fn healthz_needs_no_credentials() {
    let h = harness();
    let reply = h.send(h.request("GET", "/healthz")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text, "ok");
}

#[tokio::test]
async fn token_is_issued_for_good_basic_credentials() {
    let h = harness();
    let reply = h
        .send(
            h.request("GET", "/api/v2/token")
                .header("authorization", BASIC_ROOT),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["expires_at"], json!("2023-11-14T22:13:20Z"));
    let token = reply.json["access_token"].as_str().unwrap();
    let version = h.call("GET", "/api/v2/version", token, None).await;
    assert_eq!(version.status, StatusCode::OK);
    assert_eq!(h.sessions.peers.lock().unwrap()[0], h.peer);
}

#[tokio::test]
async fn token_refuses_bad_or_missing_basic_credentials() {
    let h = harness();
    for header in [
        Some(BASIC_WRONG),
        None,
        Some("Basic %%%"),
        Some("Bearer all"),
    ] {
        let mut request = h.request("GET", "/api/v2/token");
        if let Some(value) = header {
            request = request.header("authorization", value);
        }
        let reply = h.send(request).await;
        assert_api_error(&reply, 401);
        let challenge = reply.headers.get("www-authenticate").unwrap();
        assert_eq!(challenge, "Basic realm=\"Ferry\"");
    }
}

#[tokio::test]
async fn bearer_routes_refuse_missing_or_garbage_tokens() {
    let h = harness();
    let missing = h.send(h.request("GET", "/api/v2/users")).await;
    assert_api_error(&missing, 401);
    let basic = h
        .send(
            h.request("GET", "/api/v2/users")
                .header("authorization", BASIC_ROOT),
        )
        .await;
    assert_api_error(&basic, 401);
    let garbage = h.call("GET", "/api/v2/users", "garbage", None).await;
    assert_api_error(&garbage, 401);
    assert!(garbage.headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn logout_revokes_the_token() {
    let h = harness();
    let reply = h
        .send(
            h.request("GET", "/api/v2/token")
                .header("authorization", BASIC_ROOT),
        )
        .await;
    let token = reply.json["access_token"].as_str().unwrap().to_owned();
    let logout = h.call("GET", "/api/v2/logout", &token, None).await;
    assert_eq!(logout.status, StatusCode::OK);
    assert!(logout.json["message"].is_string());
    assert!(logout.json.get("error").is_none());
    let reuse = h.call("GET", "/api/v2/users", &token, None).await;
    assert_api_error(&reuse, 401);
}

#[tokio::test]
async fn a_client_outside_the_allow_list_is_forbidden() {
    let h = harness();
    let reply = h.call("GET", "/api/v2/version", IP_BOUND_TOKEN, None).await;
    assert_api_error(&reply, 403);
}

/// The route table's permissions, applied: an admin holding every permission
/// but the one a route needs is refused, one holding only that is let in.
#[tokio::test]
async fn every_route_checks_its_permission() {
    let h = harness();
    let mut checked = 0;
    for route in route_table() {
        let path = route.pattern.replace("{username}", "nobody");
        let method = route.method.as_str();
        match route.access {
            Access::Permission(needed) => {
                let others: Vec<_> = AdminPermission::ALL
                    .into_iter()
                    .filter(|p| *p != needed && *p != AdminPermission::All)
                    .collect();
                h.sessions.grant("lacking", others);
                let reply = h.call(method, &path, "lacking", Some(json!({}))).await;
                assert_api_error(&reply, 403);
                h.sessions.grant("only", vec![needed]);
                let reply = h.call(method, &path, "only", Some(json!({}))).await;
                assert!(![401, 403].contains(&reply.status.as_u16()), "{route:?}");
                checked += 1;
            }
            Access::AnyAdmin => {
                // A fresh token each time: one of these routes is logout.
                let token = format!("nothing-{}", route.pattern);
                h.sessions.grant(&token, vec![]);
                let reply = h.call(method, &path, &token, None).await;
                // Let in, whatever the handler then makes of the empty body.
                let status = reply.status.as_u16();
                assert!(![401, 403].contains(&status), "{route:?}: {}", reply.text);
            }
            Access::Public | Access::AdminCredentials => {}
        }
    }
    assert!(checked >= 5);
}

#[tokio::test]
async fn version_reports_the_settings() {
    let h = harness();
    let reply = h.call("GET", "/api/v2/version", "all", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["version"], json!("9.9.9"));
    assert_eq!(reply.json["features"], json!(["+sqlite"]));
    assert!(reply.json["build_date"].is_string());
    assert!(reply.json["commit_hash"].is_string());
}

#[tokio::test]
async fn create_answers_201_with_location_and_no_password() {
    let h = harness();
    let reply = h
        .call("POST", "/api/v2/users", "all", Some(new_user("alice")))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(
        reply.headers.get("location").unwrap(),
        "/api/v2/users/alice"
    );
    assert_eq!(reply.json["username"], json!("alice"));
    assert_eq!(reply.json["has_password"], json!(true));
    assert_eq!(reply.json["home_dir"], json!("/srv/ferry/alice"));
    assert_eq!(reply.json["permissions"], json!({"/": ["*"]}));
    assert!(reply.json.get("password").is_none());
    assert!(!reply.text.contains("pw-of-alice"));
    assert!(h.users.stored("alice").unwrap().password_hash.is_some());

    let got = h.call("GET", "/api/v2/users/alice", "all", None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json["has_password"], json!(true));
    assert!(got.json.get("password").is_none());
    assert!(!got.text.contains("$fake$"));
}

#[tokio::test]
async fn duplicate_username_is_a_conflict() {
    let h = harness();
    let first = h
        .call("POST", "/api/v2/users", "all", Some(new_user("bob")))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = h
        .call("POST", "/api/v2/users", "all", Some(new_user("bob")))
        .await;
    assert_api_error(&again, 409);
}

#[tokio::test]
async fn invalid_bodies_are_400_with_a_json_reason() {
    let h = harness();
    let cases: Vec<(&str, &str)> = vec![
        ("{not json", "not valid JSON"),
        ("", "not valid JSON"),
        (r#"{"username": "x", "status": "on"}"#, "invalid value"),
        (r#"{"username": "x", "quota_size": 1.5}"#, "invalid value"),
        (r#"["a"]"#, "must be a JSON object"),
        ("[]", "must be a JSON object"),
        (
            r#"{"username": "a b", "permissions": {"/": ["*"]}}"#,
            "username",
        ),
        (
            r#"{"username": "x", "permissions": {"/": ["teleport"]}}"#,
            "teleport",
        ),
        (
            r#"{"username": "x", "permissions": {"/": ["*"]}, "home_dir": "rel"}"#,
            "home_dir",
        ),
        (
            r#"{"username": "x", "permissions": {"/": ["*"]}, "filesystem": {"provider": 1}}"#,
            "s3config is required",
        ),
        (
            r#"{"username": "x", "permissions": {"/": ["*"]}, "filesystem": {"provider": 5}}"#,
            "not supported",
        ),
    ];
    for (body, needle) in cases {
        let request = h
            .request("POST", "/api/v2/users")
            .header("authorization", "Bearer all")
            .body(body);
        let reply = h.send(request).await;
        assert_api_error(&reply, 400);
        let message = reply.json["message"].as_str().unwrap();
        assert!(message.contains(needle), "{body}: {message}");
    }
}

#[tokio::test]
async fn bodies_over_one_mib_are_413() {
    let h = harness();
    let mut big = new_user("carol");
    big["description"] = json!("x".repeat(1024 * 1024));
    let reply = h.call("POST", "/api/v2/users", "all", Some(big)).await;
    assert_api_error(&reply, 413);

    let mut fits = new_user("carol");
    fits["description"] = json!("x".repeat(1024 * 1024 - 200));
    let reply = h.call("POST", "/api/v2/users", "all", Some(fits)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", &reply.text[..200]);
}

#[tokio::test]
async fn unknown_user_is_404_not_found() {
    let h = harness();
    for path in ["/api/v2/users/ghost", "/api/v2/users/no%20such"] {
        let reply = h.call("GET", path, "all", None).await;
        assert_api_error(&reply, 404);
        assert_eq!(reply.json["error"], json!("Not Found"));
    }
    let put = h
        .call("PUT", "/api/v2/users/ghost", "all", Some(new_user("ghost")))
        .await;
    assert_api_error(&put, 404);
    let delete = h.call("DELETE", "/api/v2/users/ghost", "all", None).await;
    assert_api_error(&delete, 404);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let h = harness();
    let reply = h.call("GET", "/api/v2/nothing-here", "all", None).await;
    assert_api_error(&reply, 404);
    assert_eq!(reply.json["error"], json!("Not Found"));
    let reply = h.send(h.request("GET", "/favicon.ico")).await;
    assert_api_error(&reply, 404);
    let reply = h.call("PATCH", "/api/v2/users/alice", "all", None).await;
    assert_api_error(&reply, 405);
    assert_eq!(reply.headers.get("allow").unwrap(), "GET, PUT, DELETE");
}

#[tokio::test]
async fn update_and_delete() {
    let h = harness();
    h.call("POST", "/api/v2/users", "all", Some(new_user("dave")))
        .await;
    let mut changed = new_user("dave");
    changed.as_object_mut().unwrap().remove("password");
    changed["description"] = json!("changed");
    let reply = h
        .call("PUT", "/api/v2/users/dave", "all", Some(changed.clone()))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json, json!({"message": "User updated"}));
    let stored = h.users.stored("dave").unwrap();
    assert_eq!(stored.description, "changed");
    assert_eq!(stored.password_hash.as_deref(), Some("$fake$pw-of-dave"));

    changed["username"] = json!("eve");
    let renamed = h
        .call("PUT", "/api/v2/users/dave", "all", Some(changed))
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "the path names the user");
    assert!(h.users.stored("dave").is_some());
    assert!(h.users.stored("eve").is_none());

    let reply = h.call("DELETE", "/api/v2/users/dave", "all", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json, json!({"message": "User deleted"}));
    let gone = h.call("GET", "/api/v2/users/dave", "all", None).await;
    assert_api_error(&gone, 404);
}

async fn usernames<F>(h: &Harness<F>, query: &str) -> (u16, Vec<String>, Value)
where
    F: warp::Filter<Extract = (warp::reply::Response,), Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
{
    let reply = h
        .call("GET", &format!("/api/v2/users{query}"), "all", None)
        .await;
    let names = reply
        .json
        .as_array()
        .map(|users| {
            users
                .iter()
                .map(|u| u["username"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (reply.status.as_u16(), names, reply.json)
}

#[tokio::test]
async fn listing_pages_orders_and_validates() {
    let h = harness();
    for name in ["u1", "u2", "u3", "u4", "u5"] {
        h.call("POST", "/api/v2/users", "all", Some(new_user(name)))
            .await;
    }
    let (status, names, _) = usernames(&h, "").await;
    assert_eq!((status, names.len()), (200, 5));
    let page = h.users.last_page.lock().unwrap().unwrap();
    assert_eq!((page.offset, page.limit), (0, 100));

    let (_, names, _) = usernames(&h, "?offset=1&limit=2").await;
    assert_eq!(names, ["u2", "u3"]);
    let (_, names, _) = usernames(&h, "?order=DESC&limit=2").await;
    assert_eq!(names, ["u5", "u4"]);

    let (status, _, _) = usernames(&h, "?limit=501").await;
    assert_eq!(status, 200);
    assert_eq!(h.users.last_page.lock().unwrap().unwrap().limit, 500);

    for bad in [
        "?limit=0",
        "?limit=-1",
        "?limit=ten",
        "?limit=",
        "?offset=-1",
        "?offset=x",
        "?order=desc",
        "?order=",
    ] {
        let (status, _, body) = usernames(&h, bad).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(body["error"], json!("Bad Request"));
    }
}

#[tokio::test]
async fn internal_failures_stay_generic() {
    let h = harness();
    let reply = h
        .call("GET", &format!("/api/v2/users/{BROKEN_USER}"), "all", None)
        .await;
    assert_api_error(&reply, 500);
    assert!(!reply.text.contains(SECRET_DETAIL));
}

/// A backup may be larger than other JSON bodies (1 MiB), up to SFTPGo's
/// 10 MB restore limit.
#[tokio::test]
async fn loaddata_takes_bodies_up_to_ten_megabytes() {
    let h = harness();
    let padding = "x".repeat(2 * 1024 * 1024);
    let big = json!({"users": [], "configs": {"note": padding}, "version": 17});
    let reply = h.call("POST", "/api/v2/loaddata", "all", Some(big)).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_eq!(
        reply.json["message"],
        "Data restored; skipped what this server does not support: configs"
    );

    let padding = "x".repeat(10 * 1024 * 1024);
    let too_big = json!({"configs": {"note": padding}});
    let reply = h
        .call("POST", "/api/v2/loaddata", "all", Some(too_big))
        .await;
    assert_eq!(reply.status.as_u16(), 413, "{}", reply.text);
}
