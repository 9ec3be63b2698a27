//! Administrators over the REST API v2, as an operator's script uses them:
//! created, read, listed, changed and deleted with SFTPGo's status codes; the
//! rules that keep an admin from locking itself out; passwords and profiles;
//! every route's permission; and the allow list behind a reverse proxy.

mod common;

use common::{ADMIN_PASSWORD, ADMIN_USER, Auth, Options, Response, Server, http, scratch_dir};
use ferry_domain::AdminPermission;
use ferry_http::{Access, route_table};
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};

/// An HTTP answer with its header block.
struct Full {
    response: Response,
    headers: String,
}

/// One call with `curl`, with extra request headers, keeping the answer's
/// headers.
fn curl(method: &str, url: &str, auth: Auth<'_>, body: Option<&Value>, extra: &[&str]) -> Full {
    let scratch = scratch_dir();
    let header_file = scratch.path().join("headers");
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--noproxy", "*", "--max-time", "30"])
        .args(["-w", "\n%{http_code}", "-X", method, "-D"])
        .arg(&header_file);
    match auth {
        Auth::None => {}
        Auth::Basic(user, password) => {
            cmd.arg("-u").arg(format!("{user}:{password}"));
        }
        Auth::Bearer(token) => {
            cmd.arg("-H").arg(format!("Authorization: Bearer {token}"));
        }
        Auth::Header(value) => {
            cmd.arg("-H").arg(format!("Authorization: {value}"));
        }
    }
    for header in extra {
        cmd.arg("-H").arg(header);
    }
    if body.is_some() {
        cmd.args([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "@-",
        ]);
    }
    cmd.arg(url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run curl (install curl)");
    if let Some(mut stdin) = child.stdin.take() {
        let text = body.map(Value::to_string).unwrap_or_default();
        stdin
            .write_all(text.as_bytes())
            .expect("write the body to curl");
    }
    let out = child.wait_with_output().expect("wait for curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
    Full {
        response: Response {
            status: code.trim().parse().unwrap_or(0),
            body: body.to_owned(),
        },
        headers: std::fs::read_to_string(&header_file).unwrap_or_default(),
    }
}

/// An admin object in SFTPGo's shape, enabled.
fn admin_json(username: &str, password: &str, permissions: &[&str]) -> Value {
    json!({"username": username, "status": 1, "password": password,
        "permissions": permissions})
}

/// Creates an admin with the server's own admin token; asserts 201.
fn create_admin(server: &Server, admin: &Value) -> Value {
    let resp = server.api("POST", "/api/v2/admins", Some(admin));
    assert_eq!(resp.status, 201, "POST /api/v2/admins {admin}: {resp:?}");
    resp.json()
}

fn get_admin(server: &Server, username: &str) -> Value {
    let resp = server.api("GET", &format!("/api/v2/admins/{username}"), None);
    assert_eq!(resp.status, 200, "GET admin {username}: {resp:?}");
    resp.json()
}

/// The token for `user`/`password`, or the failed answer.
fn token_for(server: &Server, user: &str, password: &str, extra: &[&str]) -> Result<String, u16> {
    let url = server.url("/api/v2/token");
    let full = curl("GET", &url, Auth::Basic(user, password), None, extra);
    match full.response.status {
        200 => Ok(full.response.json()["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned()),
        status => Err(status),
    }
}

/// `method path` with `token`, and `{}` as the body of PUT and POST.
fn call(server: &Server, method: &str, path: &str, token: &str, extra: &[&str]) -> Response {
    let body = matches!(method, "PUT" | "POST").then(|| json!({}));
    curl(
        method,
        &server.url(path),
        Auth::Bearer(token),
        body.as_ref(),
        extra,
    )
    .response
}

fn usernames(list: &Value) -> Vec<&str> {
    let admins = list.as_array().expect("a JSON array of admins");
    admins
        .iter()
        .filter_map(|a| a["username"].as_str())
        .collect()
}

#[test]
fn create_read_update_delete_an_admin() {
    let server = Server::start();
    let mut admin = admin_json("ops", "0ps-first-pass", &["view_users", "add_users"]);
    admin["email"] = json!("ops@example.org");
    admin["description"] = json!("first");
    admin["additional_info"] = json!("pager 42");
    admin["filters"] = json!({"allow_list": ["127.0.0.0/8", "192.0.2.0/24"],
        "allow_api_key_auth": true, "preferences": {"hide_user_page_sections": 3}});

    let url = server.url("/api/v2/admins");
    let created = curl(
        "POST",
        &url,
        Auth::Bearer(&server.token()),
        Some(&admin),
        &[],
    );
    assert_eq!(created.response.status, 201, "{:?}", created.response);
    let location = created.headers.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("location")
            .then(|| value.trim().to_owned())
    });
    assert_eq!(
        location.as_deref(),
        Some("/api/v2/admins/ops"),
        "{}",
        created.headers
    );
    let created = created.response.json();
    assert!(
        created.get("password").is_none(),
        "password echoed: {created}"
    );
    assert!(
        !created.to_string().contains("argon2"),
        "hash shown: {created}"
    );
    for field in [
        "username",
        "email",
        "description",
        "additional_info",
        "permissions",
    ] {
        assert_eq!(created[field], admin[field], "{field}: {created}");
    }
    assert_eq!(created["filters"], admin["filters"], "{created}");
    assert_eq!(created["status"], 1);
    assert!(created["id"].as_i64().is_some_and(|id| id > 0), "{created}");
    assert!(
        created["created_at"].as_i64().is_some_and(|t| t > 0),
        "{created}"
    );

    let fetched = get_admin(&server, "ops");
    assert_eq!(fetched, created, "GET differs from the POST answer");
    let listed = server.api("GET", "/api/v2/admins", None).json();
    assert_eq!(usernames(&listed), [ADMIN_USER, "ops"]);
    assert!(!listed.to_string().contains("password"), "{listed}");
    let desc = server
        .api("GET", "/api/v2/admins?order=DESC&limit=1", None)
        .json();
    assert_eq!(usernames(&desc), ["ops"]);
    assert!(token_for(&server, "ops", "0ps-first-pass", &[]).is_ok());

    // PUT without a password keeps it; the username in the body is ignored.
    let mut change = fetched.clone();
    change["username"] = json!("someone-else");
    change["description"] = json!("second");
    change["permissions"] = json!(["view_users"]);
    let resp = server.api("PUT", "/api/v2/admins/ops", Some(&change));
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.json()["message"], "Admin updated");
    let updated = get_admin(&server, "ops");
    assert_eq!(updated["description"], "second");
    assert_eq!(updated["permissions"], json!(["view_users"]));
    assert_eq!(updated["created_at"], created["created_at"]);
    assert!(token_for(&server, "ops", "0ps-first-pass", &[]).is_ok());
    server
        .api("GET", "/api/v2/admins/someone-else", None)
        .assert_error(404, "a rename through the body");

    // PUT with a password replaces it.
    change["password"] = json!("0ps-second-pass");
    assert_eq!(
        server
            .api("PUT", "/api/v2/admins/ops", Some(&change))
            .status,
        200
    );
    assert_eq!(token_for(&server, "ops", "0ps-first-pass", &[]), Err(401));
    assert!(token_for(&server, "ops", "0ps-second-pass", &[]).is_ok());

    let resp = server.api("DELETE", "/api/v2/admins/ops", None);
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.json()["message"], "Admin deleted");
    server
        .api("GET", "/api/v2/admins/ops", None)
        .assert_error(404, "GET after DELETE");
    server
        .api("DELETE", "/api/v2/admins/ops", None)
        .assert_error(404, "DELETE twice");
    server
        .api("PUT", "/api/v2/admins/ops", Some(&change))
        .assert_error(404, "PUT of a deleted admin");
    assert_eq!(token_for(&server, "ops", "0ps-second-pass", &[]), Err(401));
}

#[test]
fn a_pre_hashed_password_is_kept_as_it_is() {
    let server = Server::start();
    // A bcrypt test vector of OpenBSD's: the hash of "U*U".
    let hash = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
    create_admin(&server, &admin_json("migrated", hash, &["view_users"]));
    assert!(token_for(&server, "migrated", "U*U", &[]).is_ok());
    assert_eq!(token_for(&server, "migrated", hash, &[]), Err(401));
}

#[test]
fn a_taken_username_is_a_conflict() {
    let server = Server::start();
    let admin = admin_json("twin", "Tw1n-pass", &["view_users"]);
    create_admin(&server, &admin);
    server
        .api("POST", "/api/v2/admins", Some(&admin))
        .assert_error(409, "the same admin twice");
    let mut default_again = admin;
    default_again["username"] = json!(ADMIN_USER);
    server
        .api("POST", "/api/v2/admins", Some(&default_again))
        .assert_error(409, "the default admin's name");
}

#[test]
fn invalid_admins_are_refused_with_400() {
    let server = Server::start();
    let ok = admin_json("valid-admin", "Val1d-pass", &["view_users"]);
    let with = |field: &str, value: Value| {
        let mut admin = ok.clone();
        admin[field] = value;
        admin
    };
    let mut no_password = ok.clone();
    if let Some(fields) = no_password.as_object_mut() {
        fields.remove("password");
    }
    let cases = [
        (
            "an unknown permission",
            with("permissions", json!(["view_users", "fly"])),
        ),
        (
            "a permission SFTPGo retired",
            with("permissions", json!(["manage_admins"])),
        ),
        ("no permission", with("permissions", json!([]))),
        ("no password", no_password),
        ("an empty password", with("password", json!(""))),
        (
            "an allow list entry without mask",
            with("filters", json!({"allow_list": ["10.0.0.1"]})),
        ),
        (
            "an allow list entry that is no IP",
            with("filters", json!({"allow_list": ["x/8"]})),
        ),
        (
            "a mask too long",
            with("filters", json!({"allow_list": ["10.0.0.0/33"]})),
        ),
        ("a username with a slash", with("username", json!("a/b"))),
        ("an empty username", with("username", json!(""))),
        ("status 2", with("status", json!(2))),
        ("an invalid email", with("email", json!("not an email"))),
    ];
    for (what, body) in cases {
        server
            .api("POST", "/api/v2/admins", Some(&body))
            .assert_error(400, what);
    }
    let malformed = http(
        "POST",
        &server.url("/api/v2/admins"),
        Auth::Bearer(&server.token()),
        Some("{\"username\": "),
    );
    malformed.assert_error(400, "malformed JSON");
    let listed = server.api("GET", "/api/v2/admins", None).json();
    assert_eq!(
        usernames(&listed),
        [ADMIN_USER],
        "an invalid admin was stored"
    );
}

#[test]
fn every_sftpgo_permission_is_stored_and_star_stands_alone() {
    let server = Server::start();
    let all: Vec<&str> = AdminPermission::ALL
        .iter()
        .map(|p| p.as_str())
        .filter(|p| *p != "*")
        .collect();
    let created = create_admin(&server, &admin_json("many", "M4ny-pass", &all));
    assert_eq!(created["permissions"], json!(all));
    let star = create_admin(
        &server,
        &admin_json("star", "St4r-pass", &["view_users", "*"]),
    );
    assert_eq!(star["permissions"], json!(["*"]));
}

#[test]
fn an_admin_cannot_delete_demote_or_disable_itself() {
    let server = Server::start();
    let me = format!("/api/v2/admins/{ADMIN_USER}");
    server
        .api("DELETE", &me, None)
        .assert_error(400, "deleting itself");

    let own = get_admin(&server, ADMIN_USER);
    let mut demoted = own.clone();
    demoted["permissions"] = json!(["view_users", "add_users"]);
    server
        .api("PUT", &me, Some(&demoted))
        .assert_error(400, "changing its permissions");
    let mut disabled = own.clone();
    disabled["status"] = json!(0);
    server
        .api("PUT", &me, Some(&disabled))
        .assert_error(400, "disabling itself");
    assert_eq!(
        get_admin(&server, ADMIN_USER),
        own,
        "a refused update changed something"
    );

    // Other changes to itself are fine, and so are all of these on another admin.
    let mut described = own.clone();
    described["description"] = json!("still in charge");
    assert_eq!(server.api("PUT", &me, Some(&described)).status, 200);
    assert!(token_for(&server, ADMIN_USER, ADMIN_PASSWORD, &[]).is_ok());

    let other = create_admin(&server, &admin_json("deputy", "D3puty-pass", &["*"]));
    let mut demoted = other.clone();
    demoted["permissions"] = json!(["view_users"]);
    demoted["status"] = json!(0);
    let resp = server.api("PUT", "/api/v2/admins/deputy", Some(&demoted));
    assert_eq!(
        resp.status, 200,
        "demoting and disabling another admin: {resp:?}"
    );
    assert_eq!(
        token_for(&server, "deputy", "D3puty-pass", &[]),
        Err(401),
        "disabled"
    );
    assert_eq!(
        server.api("DELETE", "/api/v2/admins/deputy", None).status,
        200
    );
}

#[test]
fn an_admin_changes_its_own_password() {
    let server = Server::start();
    create_admin(&server, &admin_json("pw", "Old-pass-1", &["view_users"]));
    let token = token_for(&server, "pw", "Old-pass-1", &[]).expect("a token");
    let url = server.url("/api/v2/admin/changepwd");
    let change = |token: &str, current: &str, new: &str| {
        let body = json!({"current_password": current, "new_password": new});
        curl("PUT", &url, Auth::Bearer(token), Some(&body), &[]).response
    };

    change(&token, "wrong-pass", "New-pass-2").assert_error(400, "a wrong current password");
    change(&token, "", "New-pass-2").assert_error(400, "no current password");
    change(&token, "Old-pass-1", "").assert_error(400, "no new password");
    change(&token, "Old-pass-1", "Old-pass-1").assert_error(400, "the same password");
    assert!(
        token_for(&server, "pw", "Old-pass-1", &[]).is_ok(),
        "refusals changed it"
    );

    let resp = change(&token, "Old-pass-1", "New-pass-2");
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.json()["message"], "Password updated");
    assert_eq!(token_for(&server, "pw", "Old-pass-1", &[]), Err(401));
    let fresh = token_for(&server, "pw", "New-pass-2", &[]).expect("the new password");
    // As SFTPGo does, the token that changed the password is revoked.
    call(&server, "GET", "/api/v2/admin/profile", &token, &[])
        .assert_error(401, "the token used for the change");
    let resp = call(&server, "GET", "/api/v2/admin/profile", &fresh, &[]);
    assert_eq!(resp.status, 200, "{resp:?}");
    call(&server, "PUT", "/api/v2/admin/changepwd", &fresh, &[]).assert_error(400, "an empty body");
}

#[test]
fn an_admin_reads_and_updates_its_profile() {
    let server = Server::start();
    let mut admin = admin_json("prof", "Pr0f-pass", &["view_users", "edit_users"]);
    admin["description"] = json!("before");
    admin["filters"] = json!({"allow_list": ["127.0.0.1/32"], "preferences": {"x": 1}});
    create_admin(&server, &admin);
    let token = token_for(&server, "prof", "Pr0f-pass", &[]).expect("a token");
    let url = server.url("/api/v2/admin/profile");

    let resp = curl("GET", &url, Auth::Bearer(&token), None, &[]).response;
    assert_eq!(resp.status, 200, "{resp:?}");
    let expected = json!({"email": "", "description": "before", "allow_api_key_auth": false});
    assert_eq!(resp.json(), expected);

    let profile = json!({"email": "prof@example.org", "description": "after",
        "allow_api_key_auth": true});
    let resp = curl("PUT", &url, Auth::Bearer(&token), Some(&profile), &[]).response;
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.json()["message"], "Profile updated");
    let resp = curl("GET", &url, Auth::Bearer(&token), None, &[]).response;
    assert_eq!(resp.json(), profile);

    let stored = get_admin(&server, "prof");
    assert_eq!(stored["email"], "prof@example.org");
    assert_eq!(
        stored["permissions"], admin["permissions"],
        "the profile touched more"
    );
    assert_eq!(stored["filters"]["allow_list"], json!(["127.0.0.1/32"]));
    assert_eq!(stored["filters"]["preferences"], json!({"x": 1}));
    assert_eq!(stored["filters"]["allow_api_key_auth"], json!(true));

    let bad = json!({"email": "nope"});
    curl("PUT", &url, Auth::Bearer(&token), Some(&bad), &[])
        .response
        .assert_error(400, "an invalid email");
}

/// Every route that needs a permission, walked with an admin holding all the
/// others (and not `*`): each answers 403.
#[test]
fn every_route_refuses_an_admin_without_its_permission() {
    let server = Server::start();
    // `{param}`s name objects that exist, so a 403 cannot be a 404 in disguise.
    let target = "walk-target";
    let user = common::user_json(target, Some("Walk-pass-1"), &[], common::all_perms());
    server.create_user(&user);
    create_admin(&server, &admin_json(target, "Walk-pass-1", &["view_users"]));
    let mapped = server.data_dir.join("walk-folder");
    let folder = json!({"name": target, "mapped_path": mapped.to_str().unwrap()});
    let resp = server.api("POST", "/api/v2/folders", Some(&folder));
    assert_eq!(resp.status, 201, "the walk's folder: {resp:?}");

    let mut walked = 0;
    for route in route_table() {
        let Access::Permission(needed) = route.access else {
            continue;
        };
        let others: Vec<&str> = AdminPermission::ALL
            .into_iter()
            .filter(|p| *p != needed && *p != AdminPermission::All)
            .map(AdminPermission::as_str)
            .collect();
        let name = format!("lacks-{}", needed.as_str().replace('*', "star"));
        if server
            .api("GET", &format!("/api/v2/admins/{name}"), None)
            .status
            == 404
        {
            create_admin(&server, &admin_json(&name, "Lack1ng-pass", &others));
        }
        let token = token_for(&server, &name, "Lack1ng-pass", &[]).expect("a token");
        let path = substitute(route.pattern, target);
        let method = route.method.as_str();
        call(&server, method, &path, &token, &[])
            .assert_error(403, &format!("{method} {path} without {}", needed.as_str()));
        let version = call(&server, "GET", "/api/v2/version", &token, &[]);
        assert_eq!(
            version.status, 200,
            "{name}'s token itself works: {version:?}"
        );
        walked += 1;
    }
    assert!(walked >= 10, "only {walked} routes need a permission");
    // Nothing was changed by the refused calls.
    assert_eq!(server.get_user(target)["username"], target);
    assert_eq!(
        get_admin(&server, target)["permissions"],
        json!(["view_users"])
    );
}

/// `pattern` with every `{param}` replaced by `value`.
fn substitute(pattern: &str, value: &str) -> String {
    pattern
        .split('/')
        .map(|part| {
            if part.starts_with('{') && part.ends_with('}') {
                value
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn fenced_admin(server: &Server) {
    let mut admin = admin_json("fenced", "F3nced-pass", &["view_users"]);
    admin["filters"] = json!({"allow_list": ["10.0.0.0/8"]});
    create_admin(server, &admin);
}

#[test]
fn the_allow_list_ignores_proxy_headers_from_untrusted_peers() {
    let server = Server::start();
    fenced_admin(&server);
    assert_eq!(token_for(&server, "fenced", "F3nced-pass", &[]), Err(401));
    for header in ["X-Forwarded-For: 10.1.2.3", "X-Real-IP: 10.1.2.3"] {
        let refused = token_for(&server, "fenced", "F3nced-pass", &[header]);
        assert_eq!(refused, Err(401), "{header} believed without proxy_allowed");
    }
}

#[test]
fn the_allow_list_sees_the_client_behind_an_allowed_proxy() {
    let server = Server::start_with(Options {
        env: vec![("FERRY_HTTPD__PROXY_ALLOWED".into(), "127.0.0.1/32".into())],
        ..Options::default()
    });
    fenced_admin(&server);
    let inside = "X-Forwarded-For: 10.1.2.3";
    assert_eq!(token_for(&server, "fenced", "F3nced-pass", &[]), Err(401));
    let outside = ["X-Forwarded-For: 192.0.2.1"];
    assert_eq!(
        token_for(&server, "fenced", "F3nced-pass", &outside),
        Err(401)
    );
    let token = token_for(&server, "fenced", "F3nced-pass", &[inside]).expect("a token");

    let resp = call(&server, "GET", "/api/v2/users", &token, &[inside]);
    assert_eq!(resp.status, 200, "from inside the allow list: {resp:?}");
    call(&server, "GET", "/api/v2/users", &token, &[]).assert_error(403, "without the header");
    call(
        &server,
        "GET",
        "/api/v2/users",
        &token,
        &["X-Forwarded-For: 192.0.2.1"],
    )
    .assert_error(403, "from outside the allow list");
    // The right-most address is the one the proxy saw; anything left of it
    // is what the client claims.
    call(
        &server,
        "GET",
        "/api/v2/users",
        &token,
        &["X-Forwarded-For: 10.1.2.3, 192.0.2.1"],
    )
    .assert_error(403, "a claimed address left of the real one");
    let resp = call(
        &server,
        "GET",
        "/api/v2/users",
        &token,
        &["X-Real-IP: 10.9.9.9"],
    );
    assert_eq!(
        resp.status, 200,
        "X-Real-IP from an allowed proxy: {resp:?}"
    );
}
