//! Cloud storage settings through the REST API, with the real binary:
//! credentials are sealed at rest and never shown, endpoints and ambient
//! credentials follow the operator's rules, and a dump restores on a server
//! with the same master key only. No object store is contacted here.

mod common;

use common::{Options, Server, all_perms, user_json};
use serde_json::{Value, json};

const SECRET: &str = "s3-secret-value-never-shown-0123";

fn s3_user(name: &str, endpoint: &str, secret: Value) -> Value {
    let mut user = user_json(name, Some("Pass-word-1"), &[], all_perms());
    user["filesystem"] = json!({"provider": 1, "s3config": {
        "bucket": "ferry-test", "region": "us-east-1", "endpoint": endpoint,
        "access_key": "ferry-key", "access_secret": secret, "force_path_style": true,
        "key_prefix": format!("/homes/{name}")}});
    user
}

/// Asserts a 400 whose body names `needle`.
fn assert_refused(resp: &common::Response, needle: &str) {
    resp.assert_error(400, needle);
    assert!(
        resp.body.contains(needle),
        "expected {needle:?} in {resp:?}"
    );
}

fn plain(value: &str) -> Value {
    json!({"status": "Plain", "payload": value})
}

fn with_key(key: &str) -> Options {
    Options {
        env: vec![("FERRY_KMS__MASTER_KEY".into(), key.into())],
        ..Options::default()
    }
}

/// Every byte Ferry keeps in its data dir, as text.
fn data_dir_text(server: &Server) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(&server.data_dir).unwrap().flatten() {
        if entry.path().is_file() {
            text.push_str(&String::from_utf8_lossy(
                &std::fs::read(entry.path()).unwrap(),
            ));
        }
    }
    text
}

#[test]
fn a_cloud_secret_is_sealed_at_rest_and_shown_redacted() {
    let server = Server::start();
    let created = server.create_user(&s3_user("alice", "http://127.0.0.1:9", plain(SECRET)));
    let shown = &created["filesystem"]["s3config"];
    assert_eq!(shown["access_secret"], json!({"status": "Redacted"}));
    assert_eq!(shown["key_prefix"], "homes/alice/");
    assert_eq!(created["filesystem"]["provider"], 1);
    let listed = server.api("GET", "/api/v2/users", None);
    assert!(!listed.body.contains(SECRET));

    // Redacted keeps the stored value: the user still updates and shows it.
    server.update_user("alice", |user| user["description"] = json!("changed"));
    let got = server.get_user("alice");
    assert_eq!(got["description"], "changed");
    assert_eq!(
        got["filesystem"]["s3config"]["access_secret"],
        json!({"status": "Redacted"})
    );

    assert!(
        !data_dir_text(&server).contains(SECRET),
        "the database holds it in clear"
    );
    assert!(!server.log().contains(SECRET), "the log shows it");
    let key_file = server.data_dir.join("kms-master.key");
    assert!(key_file.exists(), "a master key is generated");
    assert!(
        server
            .log()
            .contains("every replica must use this same key")
    );
}

#[test]
fn bad_cloud_settings_answer_400_with_the_reason() {
    let server = Server::start();
    let cases = [
        (
            s3_user("a1", "http://10.0.0.8:9000", plain(SECRET)),
            "allowed endpoints",
        ),
        (
            s3_user("a2", "http://169.254.169.254", plain(SECRET)),
            "allowed endpoints",
        ),
        (
            s3_user("a3", "127.0.0.1:9000", plain(SECRET)),
            "http:// or https://",
        ),
        (
            s3_user("a4", "http://127.0.0.1:9", json!({"status": "Redacted"})),
            "no stored value",
        ),
        (
            s3_user(
                "a5",
                "http://127.0.0.1:9",
                json!({"status": "VaultTransit", "payload": "x"}),
            ),
            "VaultTransit",
        ),
        (
            s3_user(
                "a6",
                "http://127.0.0.1:9",
                json!({"status": "AES-256-GCM",
                "payload": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "additional_data": "user:a6"}),
            ),
            "master key",
        ),
    ];
    for (user, needle) in cases {
        let resp = server.api("POST", "/api/v2/users", Some(&user));
        assert_refused(&resp, needle);
    }
    // No credentials: the test server refuses the environment's.
    let mut ambient = s3_user("a7", "http://127.0.0.1:9", json!({}));
    ambient["filesystem"]["s3config"]["access_key"] = json!("");
    let resp = server.api("POST", "/api/v2/users", Some(&ambient));
    assert_refused(&resp, "allow_ambient_credentials");
    for provider in [4, 5, 6] {
        let mut user = user_json("a8", Some("Pass-word-1"), &[], all_perms());
        user["filesystem"] = json!({"provider": provider});
        let resp = server.api("POST", "/api/v2/users", Some(&user));
        assert_refused(&resp, "not supported");
    }
    let listed = server.api("GET", "/api/v2/users", None).json();
    assert_eq!(listed.as_array().unwrap().len(), 0, "nothing was stored");
}

#[test]
fn a_folder_on_s3_keeps_its_secret_sealed() {
    let server = Server::start();
    let folder = json!({"name": "shared", "mapped_path": "",
        "filesystem": {"provider": 1, "s3config": {"bucket": "ferry-test",
            "endpoint": "http://127.0.0.1:9", "access_key": "k",
            "access_secret": plain(SECRET), "force_path_style": true,
            "key_prefix": "shared"}}});
    let resp = server.api("POST", "/api/v2/folders", Some(&folder));
    assert_eq!(resp.status, 201, "{resp:?}");
    let got = server.api("GET", "/api/v2/folders/shared", None).json();
    assert_eq!(
        got["filesystem"]["s3config"]["access_secret"],
        json!({"status": "Redacted"})
    );
    assert_eq!(got["filesystem"]["s3config"]["key_prefix"], "shared/");
    assert!(!data_dir_text(&server).contains(SECRET));
}

#[test]
fn a_dump_restores_with_the_same_master_key_only() {
    let key = "0123456789abcdef0123456789abcdef-one";
    let server = Server::start_with(with_key(key));
    server.create_user(&s3_user("carol", "http://127.0.0.1:9", plain(SECRET)));
    let dump = server.api("GET", "/api/v2/dumpdata?output-data=1", None);
    assert_eq!(dump.status, 200, "{dump:?}");
    assert!(
        !dump.body.contains(SECRET),
        "a dump never holds the secret in clear"
    );
    let document = dump.json();
    let secret = &document["users"][0]["filesystem"]["s3config"]["access_secret"];
    assert_eq!(secret["status"], "AES-256-GCM");
    assert_eq!(secret["additional_data"], "user:carol");
    assert!(!server.data_dir.join("kms-master.key").exists());

    // The same server (same key) takes its own dump back.
    server.api("DELETE", "/api/v2/users/carol", None);
    let restored = server.api("POST", "/api/v2/loaddata", Some(&document));
    assert_eq!(restored.status, 200, "{restored:?}");
    assert_eq!(
        server.get_user("carol")["filesystem"]["s3config"]["bucket"],
        "ferry-test"
    );

    // A server with another key refuses it, naming the user, and keeps nothing.
    let other = Server::start_with(with_key("another key of at least thirty-two bytes"));
    let refused = other.api("POST", "/api/v2/loaddata", Some(&document));
    assert_refused(&refused, "master key");
    assert!(refused.body.contains(r#"user \"carol\""#), "{refused:?}");
    let users = other.api("GET", "/api/v2/users", None).json();
    assert_eq!(users.as_array().unwrap().len(), 0);
}

#[test]
fn a_short_master_key_stops_the_start() {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"));
    common::clear_ferry_env(&mut cmd);
    let dir = common::scratch_dir();
    let out = cmd
        .arg("serve")
        .current_dir(dir.path())
        .env("FERRY_DATA_DIR", dir.path().join("data"))
        .env("FERRY_SFTPD__BIND", "127.0.0.1:0")
        .env("FERRY_HTTPD__BIND", "127.0.0.1:0")
        .env("FERRY_KMS__MASTER_KEY", "too short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at least 32 bytes"), "{stderr}");
    assert!(!stderr.contains("too short"), "the key is echoed: {stderr}");
}
