//! `GET /api/v2/status` on the real binary: what it says about the SSH
//! service and the database, checked against the host key file and the
//! listener, and the `view_status` permission it needs.

mod common;

use common::{Auth, Server};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// `SHA256:<base64>` of a key file, as `ssh-keygen -lf` prints it.
fn keygen_fingerprint(path: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(path)
        .output()
        .expect("run ssh-keygen");
    assert!(out.status.success(), "ssh-keygen -lf {}", path.display());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let fingerprint = text.split_whitespace().nth(1).unwrap_or_default();
    assert!(fingerprint.starts_with("SHA256:"), "{text}");
    fingerprint.to_owned()
}

fn non_empty_strings(value: &Value, what: &str) {
    let list = value
        .as_array()
        .unwrap_or_else(|| panic!("{what}: {value}"));
    assert!(!list.is_empty(), "{what} is empty");
    assert!(list.iter().all(Value::is_string), "{what}: {value}");
}

#[test]
fn status_reports_the_ssh_service_and_the_database() {
    let server = Server::start();
    let resp = server.api("GET", "/api/v2/status", None);
    assert_eq!(resp.status, 200, "{resp:?}");
    let status = resp.json();

    let ssh = &status["ssh"];
    assert_eq!(ssh["is_active"], true, "{status}");
    assert_eq!(
        ssh["bindings"],
        json!([{"address": "127.0.0.1", "port": server.sftp_port, "apply_proxy_config": false}])
    );
    let key_file = server
        .data_dir
        .parent()
        .expect("a parent")
        .join("host_ed25519");
    assert_eq!(
        ssh["host_keys"],
        json!([{
            "path": key_file.display().to_string(),
            "fingerprint": keygen_fingerprint(&key_file),
            "algorithms": ["ssh-ed25519"],
        }])
    );
    assert_eq!(ssh["authentications"], json!(["publickey", "password"]));
    assert_eq!(ssh["ssh_commands"], json!([]));
    for field in ["public_key_algorithms", "macs", "kex_algorithms", "ciphers"] {
        non_empty_strings(&ssh[field], field);
    }
    let ciphers = ssh["ciphers"].as_array().expect("ciphers");
    assert!(
        ciphers.contains(&json!("aes128-gcm@openssh.com")),
        "{ciphers:?}"
    );

    assert_eq!(
        status["data_provider"],
        json!({"is_active": true, "driver": "sqlite"})
    );
    for service in [
        "ftp",
        "webdav",
        "defender",
        "mfa",
        "allow_list",
        "rate_limiters",
    ] {
        assert_eq!(status[service]["is_active"], false, "{service}: {status}");
    }
}

#[test]
fn status_needs_view_status() {
    let server = Server::start();
    for (name, permissions, expected) in [
        ("no-status", json!(["view_users", "view_conns"]), 403),
        ("with-status", json!(["view_status"]), 200),
    ] {
        let admin = json!({
            "username": name, "password": "St4tus-pass", "status": 1,
            "permissions": permissions,
        });
        let created = server.api("POST", "/api/v2/admins", Some(&admin));
        assert_eq!(created.status, 201, "{created:?}");
        let token = server.call(
            "GET",
            &server.url("/api/v2/token"),
            Auth::Basic(name, "St4tus-pass"),
            None,
        );
        let token = token.json()["access_token"].as_str().map(str::to_owned);
        let token = token.expect("a token");
        let resp = server.call(
            "GET",
            &server.url("/api/v2/status"),
            Auth::Bearer(&token),
            None,
        );
        assert_eq!(resp.status, expected, "{name}: {resp:?}");
    }
}
