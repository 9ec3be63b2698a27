//! The REST API v2 as an operator's script uses it: admin tokens, then SFTP
//! users created, read, listed, changed and deleted, with SFTPGo's status codes
//! and error bodies.

mod common;

use common::{
    ADMIN_PASSWORD, ADMIN_USER, Auth, Cred, KeyPair, Options, Server, all_perms, http, scratch_dir,
    sftp, user_json,
};
use serde_json::{Value, json};

/// The usernames of a `GET /api/v2/users` page.
fn list(server: &Server, query: &str) -> Vec<String> {
    let resp = server.api("GET", &format!("/api/v2/users{query}"), None);
    assert_eq!(resp.status, 200, "GET /api/v2/users{query}: {resp:?}");
    let users = resp.json();
    let users = users
        .as_array()
        .unwrap_or_else(|| panic!("not a JSON array: {resp:?}"));
    for user in users {
        assert!(
            user.get("password").is_none(),
            "a listed user shows its password: {user}"
        );
    }
    users
        .iter()
        .map(|u| u["username"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn token_needs_valid_basic_credentials() {
    let server = Server::start();
    let url = server.url("/api/v2/token");

    let resp = http("GET", &url, Auth::Basic(ADMIN_USER, ADMIN_PASSWORD), None);
    assert_eq!(resp.status, 200, "{resp:?}");
    let body = resp.json();
    let token = body["access_token"].as_str().unwrap_or_default();
    assert!(
        token.len() > 16,
        "access_token missing or too short: {body}"
    );
    assert!(
        body["expires_at"].is_string(),
        "expires_at is not a string: {body}"
    );

    // Refusals are answered slowly, an unknown name as late as a wrong password.
    for (user, password, what) in [
        (ADMIN_USER, "wrong-password", "token with a wrong password"),
        ("nobody", ADMIN_PASSWORD, "token for an unknown admin"),
    ] {
        let started = std::time::Instant::now();
        http("GET", &url, Auth::Basic(user, password), None).assert_error(401, what);
        let took = started.elapsed();
        assert!(
            took >= std::time::Duration::from_millis(900),
            "{what} answered in {took:?}"
        );
    }
    http("GET", &url, Auth::None, None).assert_error(401, "token without credentials");
}

#[test]
fn default_admin_is_admin_with_password_password() {
    let server = Server::start_with(Options {
        admin: None,
        ..Options::default()
    });
    let url = server.url("/api/v2/token");
    let resp = http("GET", &url, Auth::Basic("admin", "password"), None);
    assert_eq!(resp.status, 200, "the built-in default admin: {resp:?}");
}

#[test]
fn api_calls_need_a_live_bearer_token() {
    let server = Server::start();
    let users = server.url("/api/v2/users");

    http("GET", &users, Auth::None, None).assert_error(401, "no token");
    http("GET", &users, Auth::Bearer("garbage.not.ajwt"), None).assert_error(401, "garbage");
    http("GET", &users, Auth::Header("Bearer"), None).assert_error(401, "empty bearer");
    http("GET", &users, Auth::Basic(ADMIN_USER, ADMIN_PASSWORD), None)
        .assert_error(401, "Basic credentials instead of a token");

    let token = server.new_token();
    let resp = http("GET", &users, Auth::Bearer(&token), None);
    assert_eq!(resp.status, 200, "a valid token: {resp:?}");

    let logout = http(
        "GET",
        &server.url("/api/v2/logout"),
        Auth::Bearer(&token),
        None,
    );
    assert_eq!(logout.status, 200, "logout: {logout:?}");
    http("GET", &users, Auth::Bearer(&token), None).assert_error(401, "token after logout");

    let fresh = server.new_token();
    let resp = http("GET", &users, Auth::Bearer(&fresh), None);
    assert_eq!(resp.status, 200, "a new token after logout: {resp:?}");
}

#[test]
fn create_read_update_delete_a_user() {
    let server = Server::start();
    let key = KeyPair::generate();
    let perms = json!({"/": ["list", "download"], "/inbox": ["*"]});
    let mut user = user_json(
        "alice",
        Some("Al1ce-pass"),
        &[&key.public_line],
        perms.clone(),
    );
    user["description"] = json!("first");

    // Blank lines and repeats in the key list are dropped.
    user["public_keys"] = json!(["", &key.public_line, format!(" {} ", key.public_line)]);
    let created = server.create_user(&user);
    assert!(
        created.get("password").is_none(),
        "password echoed back: {created}"
    );
    assert_eq!(created["username"], "alice");
    assert_eq!(created["has_password"], true, "{created}");
    assert_eq!(created["status"], 1, "{created}");
    assert_eq!(created["permissions"], perms, "{created}");
    assert_eq!(
        created["public_keys"],
        json!([key.public_line]),
        "{created}"
    );
    assert_eq!(created["description"], "first", "{created}");
    let home = server.home_of("alice");
    assert_eq!(
        created["home_dir"],
        json!(home.to_str()),
        "default home_dir"
    );

    let fetched = server.get_user("alice");
    assert!(
        fetched.get("password").is_none(),
        "password shown by GET: {fetched}"
    );
    for field in [
        "username",
        "home_dir",
        "permissions",
        "public_keys",
        "status",
        "has_password",
    ] {
        assert_eq!(fetched[field], created[field], "GET differs in {field}");
    }

    server.update_user("alice", |u| {
        u["description"] = json!("second");
        u["status"] = json!(0);
        u["permissions"] = json!({"/": ["*"], "/ro": ["list"]});
        u["public_keys"] = json!([]);
    });
    let updated = server.get_user("alice");
    assert_eq!(updated["description"], "second", "{updated}");
    assert_eq!(updated["status"], 0, "{updated}");
    assert_eq!(
        updated["permissions"],
        json!({"/": ["*"], "/ro": ["list"]}),
        "{updated}"
    );
    assert_eq!(
        updated["has_password"], true,
        "PUT without password dropped it: {updated}"
    );
    assert!(
        updated["public_keys"].as_array().is_none_or(Vec::is_empty),
        "{updated}"
    );

    let resp = server.api("DELETE", "/api/v2/users/alice", None);
    assert_eq!(resp.status, 200, "DELETE: {resp:?}");
    server
        .api("GET", "/api/v2/users/alice", None)
        .assert_error(404, "GET after DELETE");
    server
        .api("DELETE", "/api/v2/users/alice", None)
        .assert_error(404, "DELETE twice");
}

#[test]
fn a_taken_username_is_a_conflict() {
    let server = Server::start();
    let user = user_json("dup", Some("Dup-pass-1"), &[], all_perms());
    server.create_user(&user);
    server
        .api("POST", "/api/v2/users", Some(&user))
        .assert_error(409, "the same username twice");
    assert_eq!(list(&server, ""), ["dup"]);
}

#[test]
fn unknown_users_are_not_found() {
    let server = Server::start();
    let body = user_json("ghost", Some("Gh0st-pass"), &[], all_perms());
    server
        .api("GET", "/api/v2/users/ghost", None)
        .assert_error(404, "GET");
    server
        .api("PUT", "/api/v2/users/ghost", Some(&body))
        .assert_error(404, "PUT");
    server
        .api("DELETE", "/api/v2/users/ghost", None)
        .assert_error(404, "DELETE");
}

#[test]
fn invalid_users_are_refused_with_400() {
    let server = Server::start();
    let ok = user_json("valid-name", Some("Val1d-pass"), &[], all_perms());
    let with = |field: &str, value: Value| {
        let mut user = ok.clone();
        user[field] = value;
        user.to_string()
    };
    let mut no_perms = ok.clone();
    if let Some(map) = no_perms.as_object_mut() {
        map.remove("permissions");
    }
    let cases = [
        ("username with a slash", with("username", json!("a/b"))),
        ("username ..", with("username", json!(".."))),
        ("empty username", with("username", json!(""))),
        (
            "permissions without /",
            with("permissions", json!({"/sub": ["*"]})),
        ),
        ("no permissions at all", no_perms.to_string()),
        (
            "unknown permission",
            with("permissions", json!({"/": ["list", "fly"]})),
        ),
        (
            "relative home_dir",
            with("home_dir", json!("relative/home")),
        ),
        ("status 2", with("status", json!(2))),
        (
            "invalid public key",
            with("public_keys", json!(["not a key"])),
        ),
        (
            "truncated public key",
            with(
                "public_keys",
                json!([
                    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE3d+rRRq1oJjdfepzrNRl64h6LPEyyin/nwvKSd"
                ]),
            ),
        ),
        ("S3 filesystem", with("filesystem", json!({"provider": 1}))),
        ("malformed JSON", "{\"username\": \"x\",".to_owned()),
        ("an array for a body", "[]".to_owned()),
        ("a string for a body", "\"alice\"".to_owned()),
    ];
    let token = server.token();
    for (what, body) in cases {
        let resp = http(
            "POST",
            &server.url("/api/v2/users"),
            Auth::Bearer(&token),
            Some(&body),
        );
        resp.assert_error(400, what);
    }
    assert!(list(&server, "").is_empty(), "an invalid user was stored");
}

#[test]
fn listing_pages_and_orders_by_username() {
    let server = Server::start();
    for name in ["page-c", "page-a", "page-e", "page-b", "page-d"] {
        server.create_user(&user_json(name, Some("Page-pass-1"), &[], all_perms()));
    }
    let all = ["page-a", "page-b", "page-c", "page-d", "page-e"];
    assert_eq!(list(&server, ""), all, "default order is ASC");
    assert_eq!(
        list(&server, "?offset=0&limit=2&order=ASC"),
        ["page-a", "page-b"]
    );
    assert_eq!(
        list(&server, "?offset=2&limit=2&order=ASC"),
        ["page-c", "page-d"]
    );
    assert_eq!(list(&server, "?offset=4&limit=2"), ["page-e"]);
    assert!(list(&server, "?offset=10&limit=2").is_empty());
    assert_eq!(list(&server, "?limit=2&order=DESC"), ["page-e", "page-d"]);
    assert_eq!(list(&server, "?offset=3&order=DESC"), ["page-b", "page-a"]);
    assert_eq!(
        list(&server, "?limit=1000"),
        all,
        "limit over 500 is clamped"
    );
    server
        .api("GET", "/api/v2/users?order=SIDEWAYS", None)
        .assert_error(400, "an unknown order");
    server
        .api("GET", "/api/v2/users?limit=abc", None)
        .assert_error(400, "a non-numeric limit");
}

#[test]
fn users_and_admin_password_survive_a_restart() {
    let first = Options::default();
    let server = Server::start_with(first);
    let user = user_json("keeper", Some("Keep3r-pass"), &[], all_perms());
    let before = server.create_user(&user);

    // The default admin is created on the first start only: a different
    // password in the environment later must not replace the stored one.
    let second = Options {
        admin: Some((ADMIN_USER.to_owned(), "another-Passw0rd".to_owned())),
        ..Options::default()
    };
    let server = server.restart(second);
    let url = server.url("/api/v2/token");
    http(
        "GET",
        &url,
        Auth::Basic(ADMIN_USER, "another-Passw0rd"),
        None,
    )
    .assert_error(401, "the new env password after a restart");
    let resp = http("GET", &url, Auth::Basic(ADMIN_USER, ADMIN_PASSWORD), None);
    assert_eq!(
        resp.status, 200,
        "the first admin password after a restart: {resp:?}"
    );
    let token = resp.json()["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let resp = http(
        "GET",
        &server.url("/api/v2/users/keeper"),
        Auth::Bearer(&token),
        None,
    );
    assert_eq!(resp.status, 200, "the user after a restart: {resp:?}");
    let after = resp.json();
    for field in [
        "username",
        "home_dir",
        "permissions",
        "status",
        "has_password",
        "id",
    ] {
        assert_eq!(
            after[field], before[field],
            "{field} changed across the restart"
        );
    }

    let local = scratch_dir();
    sftp(
        &server,
        "keeper",
        Cred::Password("Keep3r-pass"),
        local.path(),
        "pwd\n",
    )
    .assert_ok("the stored password still logs in after a restart");
}
