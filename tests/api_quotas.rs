//! Disk quotas through the REST API with the real binary: a scan measures
//! what is on disk and is listed while it runs, and operators reset or add
//! to the stored usage.

mod common;

use common::{Options, Server, all_perms, user_json};
use serde_json::{Value, json};
use std::fs;
use std::os::unix::fs::symlink;
use std::thread;
use std::time::{Duration, Instant};

/// Files the scan test plants: enough that a debug build takes a while.
const DIRS: usize = 40;
const FILES_PER_DIR: usize = 1000;

fn usage(server: &Server, name: &str) -> (i64, i64, i64) {
    let user = server
        .api("GET", &format!("/api/v2/users/{name}"), None)
        .json();
    let field = |f: &str| user[f].as_i64().unwrap_or(-1);
    (
        field("used_quota_size"),
        field("used_quota_files"),
        field("last_quota_update"),
    )
}

fn scans(server: &Server) -> Vec<Value> {
    let resp = server.api("GET", "/api/v2/quotas/users/scans", None);
    assert_eq!(resp.status, 200, "{resp:?}");
    resp.json().as_array().cloned().unwrap_or_default()
}

#[test]
fn a_scan_measures_the_home_and_is_listed_while_it_runs() {
    let server = Server::start();
    server.create_user(&user_json("measured", Some("Measured-1"), &[], all_perms()));
    let home = server.home_of("measured");
    let mut expected_size = 0i64;
    for d in 0..DIRS {
        let dir = home.join(format!("d{d:02}/inner"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..FILES_PER_DIR {
            let body = vec![b'x'; f % 7];
            expected_size += body.len() as i64;
            fs::write(dir.join(format!("f{f:04}")), body).unwrap();
        }
    }
    // Neither a link nor what it points to outside the home counts.
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("big"), vec![0u8; 1 << 20]).unwrap();
    symlink(outside.path().join("big"), home.join("link-out")).unwrap();
    let expected_files = (DIRS * FILES_PER_DIR) as i64;

    let before = Instant::now();
    let resp = server.api("POST", "/api/v2/quotas/users/measured/scan", None);
    assert_eq!(resp.status, 202, "{resp:?}");
    assert_eq!(resp.json()["message"], "Scan started");
    let listed = scans(&server);
    let again = server.api("POST", "/api/v2/quotas/users/measured/scan", None);
    let took = before.elapsed();
    assert!(
        listed
            .iter()
            .any(|s| s["username"] == "measured" && s["start_time"].as_i64() > Some(0)),
        "the running scan is not listed ({took:?} after the start): {listed:?}"
    );
    again.assert_error(409, "a second scan while one runs");
    // Usage changes wait for the scan.
    let body = json!({"used_quota_size": 1, "used_quota_files": 1});
    server
        .api("PUT", "/api/v2/quotas/users/measured/usage", Some(&body))
        .assert_error(409, "a usage change during a scan");

    let deadline = Instant::now() + Duration::from_secs(120);
    while !scans(&server).is_empty() {
        assert!(Instant::now() < deadline, "the scan never ended");
        thread::sleep(Duration::from_millis(100));
    }
    let (size, files, updated) = usage(&server, "measured");
    assert_eq!((size, files), (expected_size, expected_files));
    assert!(updated > 0, "last_quota_update not set");
}

#[test]
fn usage_is_reset_or_added_to_and_bad_changes_are_refused() {
    let server = Server::start();
    let mut limited = user_json("limited", Some("Limited-1"), &[], all_perms());
    limited["quota_size"] = json!(1_000_000);
    server.create_user(&limited);
    server.create_user(&user_json("free", Some("Free-1"), &[], all_perms()));
    let put = |name: &str, query: &str, body: Value| {
        let path = format!("/api/v2/quotas/users/{name}/usage{query}");
        server.api("PUT", &path, Some(&body))
    };

    let resp = put(
        "limited",
        "",
        json!({"used_quota_size": 500, "used_quota_files": 5}),
    );
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.json()["message"], "Quota updated");
    let (size, files, _) = usage(&server, "limited");
    assert_eq!((size, files), (500, 5));
    let resp = put("limited", "?mode=add", json!({"used_quota_size": 20}));
    assert_eq!(resp.status, 200, "{resp:?}");
    let (size, files, updated) = usage(&server, "limited");
    assert_eq!(
        (size, files),
        (520, 5),
        "add leaves a missing field as it is"
    );
    assert!(updated > 0);
    let resp = put("limited", "?mode=reset", json!({"used_quota_files": 3}));
    assert_eq!(resp.status, 200, "{resp:?}");
    let (size, files, _) = usage(&server, "limited");
    assert_eq!((size, files), (0, 3), "reset clears a missing field");
    let resp = put("limited", "?mode=add", json!({"used_quota_files": -9999}));
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(
        usage(&server, "limited").1,
        0,
        "usage never drops below zero"
    );

    put("limited", "?mode=replace", json!({})).assert_error(400, "unknown mode");
    put("limited", "", json!({"used_quota_size": -1})).assert_error(400, "negative reset");
    put("limited", "", json!({"used_quota_size": "big"})).assert_error(400, "a string");
    put("nobody", "", json!({})).assert_error(404, "unknown user");
    put("free", "?mode=add", json!({"used_quota_size": 1}))
        .assert_error(400, "adding to a user whose usage is not tracked");
    let resp = put("free", "", json!({"used_quota_size": 7}));
    assert_eq!(resp.status, 200, "a reset works for every user: {resp:?}");
    server
        .api("POST", "/api/v2/quotas/users/nobody/scan", None)
        .assert_error(404, "scan of an unknown user");
}

#[test]
fn a_home_never_logged_into_scans_as_empty() {
    let server = Server::start();
    server.create_user(&user_json("newbie", Some("Newbie-1"), &[], all_perms()));
    let body = json!({"used_quota_size": 99, "used_quota_files": 9});
    let resp = server.api("PUT", "/api/v2/quotas/users/newbie/usage", Some(&body));
    assert_eq!(resp.status, 200, "{resp:?}");
    let resp = server.api("POST", "/api/v2/quotas/users/newbie/scan", None);
    assert_eq!(resp.status, 202, "{resp:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while usage(&server, "newbie").1 != 0 {
        assert!(
            Instant::now() < deadline,
            "the scan never stored its result"
        );
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(usage(&server, "newbie").0, 0);
}

#[test]
fn with_tracking_off_scans_and_changes_are_forbidden() {
    let server = Server::start_with(Options {
        env: vec![("FERRY_DATA_PROVIDER__TRACK_QUOTA".into(), "0".into())],
        ..Options::default()
    });
    server.create_user(&user_json(
        "untracked",
        Some("Untracked-1"),
        &[],
        all_perms(),
    ));
    server
        .api("POST", "/api/v2/quotas/users/untracked/scan", None)
        .assert_error(403, "scan with tracking off");
    server
        .api(
            "PUT",
            "/api/v2/quotas/users/untracked/usage",
            Some(&json!({})),
        )
        .assert_error(403, "usage change with tracking off");
}

#[test]
fn a_scan_counts_the_folders_inside_the_user_quota_only() {
    let server = Server::start();
    let outside = tempfile::tempdir().unwrap();
    let (inside, separate) = (
        outside.path().join("inside"),
        outside.path().join("separate"),
    );
    for (dir, files) in [(&inside, 3), (&separate, 5)] {
        fs::create_dir_all(dir.join("sub")).unwrap();
        for i in 0..files {
            fs::write(dir.join(format!("sub/f{i}")), b"12345").unwrap();
        }
    }
    for (name, path) in [("inside", &inside), ("separate", &separate)] {
        let folder = json!({"name": name, "mapped_path": path.to_str().unwrap()});
        let resp = server.api("POST", "/api/v2/folders", Some(&folder));
        assert_eq!(resp.status, 201, "{resp:?}");
    }
    let mut user = user_json("mounter", Some("Mounter-1"), &[], all_perms());
    user["virtual_folders"] = json!([
        {"name": "inside", "virtual_path": "/in", "quota_size": -1, "quota_files": -1},
        {"name": "separate", "virtual_path": "/sep", "quota_size": 0, "quota_files": 0},
    ]);
    server.create_user(&user);
    fs::create_dir_all(server.home_of("mounter")).unwrap();
    fs::write(server.home_of("mounter").join("own"), b"1234567").unwrap();

    let resp = server.api("POST", "/api/v2/quotas/users/mounter/scan", None);
    assert_eq!(resp.status, 202, "{resp:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while usage(&server, "mounter").2 <= 0 {
        assert!(
            Instant::now() < deadline,
            "the scan never stored its result"
        );
        thread::sleep(Duration::from_millis(50));
    }
    let (size, files, _) = usage(&server, "mounter");
    assert_eq!(
        (size, files),
        (7 + 3 * 5, 1 + 3),
        "home plus the -1 folder only"
    );
}

#[test]
fn a_folder_scan_measures_its_mapped_path_and_usage_can_be_changed() {
    let server = Server::start();
    let mapped = tempfile::tempdir().unwrap();
    fs::create_dir_all(mapped.path().join("a/b")).unwrap();
    fs::write(mapped.path().join("a/b/one"), b"123").unwrap();
    fs::write(mapped.path().join("two"), b"45").unwrap();
    let folder = json!({"name": "shared", "mapped_path": mapped.path().to_str().unwrap()});
    let resp = server.api("POST", "/api/v2/folders", Some(&folder));
    assert_eq!(resp.status, 201, "{resp:?}");
    let folder_usage = || {
        let f = server.api("GET", "/api/v2/folders/shared", None).json();
        let field = |k: &str| f[k].as_i64().unwrap_or(-1);
        (
            field("used_quota_size"),
            field("used_quota_files"),
            field("last_quota_update"),
        )
    };

    let resp = server.api("POST", "/api/v2/quotas/folders/shared/scan", None);
    assert_eq!(resp.status, 202, "{resp:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while folder_usage().2 <= 0 {
        assert!(
            Instant::now() < deadline,
            "the folder scan never stored its result"
        );
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(&[folder_usage().0, folder_usage().1], &[5, 2]);
    let resp = server.api("GET", "/api/v2/quotas/folders/scans", None);
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(
        resp.json(),
        json!([]),
        "a finished scan is no longer listed"
    );

    let put = |query: &str, body: Value| {
        let path = format!("/api/v2/quotas/folders/shared/usage{query}");
        server.api("PUT", &path, Some(&body))
    };
    let resp = put(
        "?mode=add",
        json!({"used_quota_size": 10, "used_quota_files": 1}),
    );
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(&[folder_usage().0, folder_usage().1], &[15, 3]);
    let resp = put("", json!({"used_quota_size": 1}));
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(&[folder_usage().0, folder_usage().1], &[1, 0]);
    put("?mode=x", json!({})).assert_error(400, "unknown mode");
    server
        .api(
            "PUT",
            "/api/v2/quotas/folders/nowhere/usage",
            Some(&json!({})),
        )
        .assert_error(404, "unknown folder");
    server
        .api("POST", "/api/v2/quotas/folders/nowhere/scan", None)
        .assert_error(404, "scan of an unknown folder");
}
