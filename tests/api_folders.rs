//! Virtual folders over the REST API v2 as an operator's script uses them:
//! folders created, listed, read, changed and deleted, mounted into users,
//! with SFTPGo's status codes and error bodies.

mod common;

use common::{Auth, Server, all_perms, user_json};
use serde_json::{Value, json};

fn folder_json(name: &str, mapped_path: &str) -> Value {
    json!({"name": name, "mapped_path": mapped_path, "description": format!("{name} files")})
}

fn create_folder(server: &Server, folder: &Value) -> Value {
    let resp = server.api("POST", "/api/v2/folders", Some(folder));
    assert_eq!(resp.status, 201, "POST /api/v2/folders {folder}: {resp:?}");
    resp.json()
}

fn get_folder(server: &Server, name: &str) -> Value {
    let resp = server.api("GET", &format!("/api/v2/folders/{name}"), None);
    assert_eq!(resp.status, 200, "GET folder {name}: {resp:?}");
    resp.json()
}

/// The names of a `GET /api/v2/folders` page.
fn list(server: &Server, query: &str) -> Vec<String> {
    let resp = server.api("GET", &format!("/api/v2/folders{query}"), None);
    assert_eq!(resp.status, 200, "GET /api/v2/folders{query}: {resp:?}");
    let folders = resp.json();
    let folders = folders.as_array().expect("a JSON array of folders");
    folders
        .iter()
        .map(|f| f["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A user with full rights and these mounts.
fn user_with_mounts(username: &str, mounts: Value) -> Value {
    let mut user = user_json(username, Some("Pa55-word-x"), &[], all_perms());
    user["virtual_folders"] = mounts;
    user
}

#[test]
fn create_read_list_update_and_delete_a_folder() {
    let server = Server::start();
    let created = create_folder(&server, &folder_json("shared", "/srv/ferry//shared/"));
    assert!(created["id"].as_i64().is_some_and(|id| id > 0), "{created}");
    assert_eq!(created["name"], "shared");
    assert_eq!(
        created["mapped_path"], "/srv/ferry/shared",
        "normalised: {created}"
    );
    assert_eq!(created["description"], "shared files");
    assert_eq!(created["used_quota_size"], 0);
    assert_eq!(created["used_quota_files"], 0);
    assert_eq!(created["filesystem"]["provider"], 0);
    assert_eq!(created["users"], json!([]), "{created}");
    assert_eq!(get_folder(&server, "shared"), created);

    for name in ["b", "a", "c"] {
        create_folder(&server, &folder_json(name, &format!("/srv/{name}")));
    }
    assert_eq!(list(&server, ""), ["a", "b", "c", "shared"]);
    assert_eq!(list(&server, "?order=DESC&limit=2"), ["shared", "c"]);
    assert_eq!(list(&server, "?offset=1&limit=2"), ["b", "c"]);
    server
        .api("GET", "/api/v2/folders?limit=0", None)
        .assert_error(400, "limit 0");
    server
        .api("GET", "/api/v2/folders?order=UP", None)
        .assert_error(400, "order UP");

    let change = json!({"name": "renamed", "mapped_path": "/srv/moved", "description": "new"});
    let resp = server.api("PUT", "/api/v2/folders/shared", Some(&change));
    assert_eq!(resp.status, 200, "PUT: {resp:?}");
    assert_eq!(resp.json()["message"], "Folder updated");
    let updated = get_folder(&server, "shared");
    assert_eq!(updated["mapped_path"], "/srv/moved", "{updated}");
    assert_eq!(updated["description"], "new", "{updated}");
    assert_eq!(updated["id"], created["id"], "{updated}");
    server
        .api("GET", "/api/v2/folders/renamed", None)
        .assert_error(404, "the body's name does not rename");

    let resp = server.api("DELETE", "/api/v2/folders/shared", None);
    assert_eq!(resp.status, 200, "DELETE: {resp:?}");
    server
        .api("GET", "/api/v2/folders/shared", None)
        .assert_error(404, "GET after DELETE");
    assert_eq!(list(&server, ""), ["a", "b", "c"]);
}

#[test]
fn bad_folders_are_refused_with_sftpgo_status_codes() {
    let server = Server::start();
    create_folder(&server, &folder_json("taken", "/srv/taken"));
    server
        .api(
            "POST",
            "/api/v2/folders",
            Some(&folder_json("taken", "/srv/other")),
        )
        .assert_error(409, "a taken name");
    assert_eq!(get_folder(&server, "taken")["mapped_path"], "/srv/taken");

    let bad = [
        (json!({"mapped_path": "/srv/x"}), "no name"),
        (folder_json("a b", "/srv/x"), "a space in the name"),
        (folder_json("../up", "/srv/x"), "a slash in the name"),
        (folder_json("rel", "srv/x"), "a relative mapped_path"),
        (folder_json("empty", ""), "an empty mapped_path"),
        (
            json!({"name": "s3", "mapped_path": "/srv/x", "filesystem": {"provider": 1}}),
            "an S3 folder",
        ),
        (
            json!({"name": "junk", "mapped_path": "/srv/x", "filesystem": {"provider": 9}}),
            "an unknown provider",
        ),
        (json!({"name": 5}), "a number as name"),
    ];
    for (body, what) in bad {
        server
            .api("POST", "/api/v2/folders", Some(&body))
            .assert_error(400, what);
    }
    let not_json = server.call(
        "POST",
        &server.url("/api/v2/folders"),
        Auth::Bearer(&server.token()),
        Some("{not json"),
    );
    not_json.assert_error(400, "a body that is not JSON");
    let relative = json!({"mapped_path": "relative"});
    server
        .api("PUT", "/api/v2/folders/taken", Some(&relative))
        .assert_error(400, "an update to a relative mapped_path");
    assert_eq!(list(&server, ""), ["taken"]);

    let body = folder_json("ghost", "/srv/ghost");
    for (method, body) in [("GET", None), ("PUT", Some(&body)), ("DELETE", None)] {
        server
            .api(method, "/api/v2/folders/ghost", body)
            .assert_error(404, &format!("{method} an unknown folder"));
    }
    server
        .api("GET", "/api/v2/folders/a%20b", None)
        .assert_error(404, "a name that cannot exist");
}

#[test]
fn folders_need_the_manage_folders_permission() {
    let server = Server::start();
    let admin = |name: &str, perms: Value| {
        let body = json!({"username": name, "password": "Adm1n-pass-x", "status": 1,
            "permissions": perms});
        let resp = server.api("POST", "/api/v2/admins", Some(&body));
        assert_eq!(resp.status, 201, "create admin {name}: {resp:?}");
        let token = server.call(
            "GET",
            &server.url("/api/v2/token"),
            Auth::Basic(name, "Adm1n-pass-x"),
            None,
        );
        token.json()["access_token"]
            .as_str()
            .expect("a token")
            .to_owned()
    };
    let viewer = admin("viewer", json!(["view_users", "add_users"]));
    let keeper = admin("keeper", json!(["manage_folders"]));
    let body = folder_json("f", "/srv/f").to_string();
    let call = |method: &str, path: &str, token: &str, body: Option<&str>| {
        server.call(method, &server.url(path), Auth::Bearer(token), body)
    };
    call("GET", "/api/v2/folders", &viewer, None).assert_error(403, "list without permission");
    call("POST", "/api/v2/folders", &viewer, Some(&body)).assert_error(403, "add without it");
    let resp = call("POST", "/api/v2/folders", &keeper, Some(&body));
    assert_eq!(resp.status, 201, "add with manage_folders: {resp:?}");
    call("GET", "/api/v2/folders/f", &viewer, None).assert_error(403, "get without it");
    call("DELETE", "/api/v2/folders/f", &viewer, None).assert_error(403, "delete without it");
    let resp = call("DELETE", "/api/v2/folders/f", &keeper, None);
    assert_eq!(resp.status, 200, "delete with manage_folders: {resp:?}");
    server
        .call("GET", &server.url("/api/v2/folders"), Auth::None, None)
        .assert_error(401, "no token");
}

#[test]
fn users_mount_folders_and_a_deleted_folder_leaves_them() {
    let server = Server::start();
    let docs = create_folder(&server, &folder_json("docs", "/srv/docs"));
    create_folder(&server, &folder_json("media", "/srv/media"));

    let mounts = json!([
        {"name": "docs", "virtual_path": "/work/docs/", "quota_size": -1, "quota_files": -1},
        {"name": "media", "virtual_path": "/media", "quota_size": 1048576, "quota_files": 10,
            "mapped_path": "/ignored/in/a/mount"},
    ]);
    let created = server.create_user(&user_with_mounts("alice", mounts));
    let shown = &created["virtual_folders"];
    assert_eq!(shown.as_array().map(Vec::len), Some(2), "{created}");
    assert_eq!(shown[0]["name"], "docs");
    assert_eq!(shown[0]["virtual_path"], "/work/docs");
    assert_eq!(shown[0]["mapped_path"], "/srv/docs");
    assert_eq!(shown[0]["id"], docs["id"]);
    assert_eq!(shown[0]["quota_size"], -1);
    assert_eq!(
        shown[1]["mapped_path"], "/srv/media",
        "the folder's own path wins"
    );
    assert_eq!(shown[1]["quota_files"], 10);
    assert_eq!(shown[1]["filesystem"]["provider"], 0);
    let fetched = server.get_user("alice");
    assert_eq!(fetched["virtual_folders"], *shown);

    let bob = json!([{"name": "docs", "virtual_path": "/docs"}]);
    server.create_user(&user_with_mounts("bob", bob));
    assert_eq!(
        get_folder(&server, "docs")["users"],
        json!(["alice", "bob"])
    );
    assert_eq!(get_folder(&server, "media")["users"], json!(["alice"]));

    // A folder's new mapped path shows through every mount of it.
    let change = json!({"mapped_path": "/srv/docs2"});
    let resp = server.api("PUT", "/api/v2/folders/docs", Some(&change));
    assert_eq!(resp.status, 200, "{resp:?}");
    let bob = server.get_user("bob");
    assert_eq!(bob["virtual_folders"][0]["mapped_path"], "/srv/docs2");

    let resp = server.api("DELETE", "/api/v2/folders/docs", None);
    assert_eq!(resp.status, 200, "{resp:?}");
    let alice = server.get_user("alice");
    let names: Vec<&str> = alice["virtual_folders"]
        .as_array()
        .expect("virtual_folders")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(names, ["media"], "{alice}");
    let bob = server.get_user("bob");
    assert_eq!(bob["virtual_folders"], json!([]), "{bob}");

    server.update_user("alice", |u| u["virtual_folders"] = json!([]));
    assert_eq!(get_folder(&server, "media")["users"], json!([]));
    let resp = server.api("DELETE", "/api/v2/users/alice", None);
    assert_eq!(resp.status, 200, "{resp:?}");
}

#[test]
fn bad_mounts_are_refused_with_400() {
    let server = Server::start();
    create_folder(&server, &folder_json("a", "/srv/a"));
    create_folder(&server, &folder_json("b", "/srv/b"));
    let mount = |name: &str, at: &str| json!({"name": name, "virtual_path": at});
    let bad = [
        (
            json!([mount("ghost", "/ghost")]),
            "a folder that does not exist",
        ),
        (json!([mount("a", "/")]), "a mount at the root"),
        (
            json!([mount("a", "/x/..")]),
            "a mount that normalises to the root",
        ),
        (json!([mount("a", "relative")]), "a relative virtual path"),
        (json!([{"name": "a"}]), "no virtual path"),
        (
            json!([mount("a", "/x"), mount("a", "/y")]),
            "one folder twice",
        ),
        (
            json!([mount("a", "/x"), mount("b", "/x")]),
            "two folders at one path",
        ),
        (
            json!([mount("a", "/x"), mount("b", "/x/y")]),
            "nested mounts",
        ),
        (
            json!([mount("a", "/x/y"), mount("b", "/x")]),
            "nested mounts, reversed",
        ),
        (
            json!([{"name": "a", "virtual_path": "/x", "quota_size": -2}]),
            "a quota below -1",
        ),
        (json!([mount("", "/x")]), "no folder name"),
    ];
    for (mounts, what) in bad {
        server
            .api(
                "POST",
                "/api/v2/users",
                Some(&user_with_mounts("carol", mounts)),
            )
            .assert_error(400, what);
    }
    server
        .api("GET", "/api/v2/users/carol", None)
        .assert_error(404, "no user was created");

    let ok = json!([mount("a", "/x"), mount("b", "/xy")]);
    server.create_user(&user_with_mounts("carol", ok));
    let mut ghost = server.get_user("carol");
    ghost["virtual_folders"] = json!([mount("ghost", "/g")]);
    server
        .api("PUT", "/api/v2/users/carol", Some(&ghost))
        .assert_error(400, "an update that mounts a missing folder");
    let stored = server.get_user("carol");
    assert_eq!(stored["virtual_folders"].as_array().map(Vec::len), Some(2));
}
