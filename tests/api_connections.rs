//! Live connections through the REST API, with the real binary and OpenSSH's
//! `sftp`: a throttled upload is listed with its growing size, closing the
//! connection drops the client, and the permissions and unknown ids are
//! refused.

mod common;

use common::{
    Auth, Cred, KeyPair, Server, all_perms, scratch_dir, sftp, user_json, write_random_file,
};
use serde_json::{Value, json};
use std::fs;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};
use tempfile::TempDir;

const MIB: usize = 1 << 20;

/// An `sftp -b` client running in the background; killed if the test ends
/// before it does.
struct Background {
    child: Child,
    logs: TempDir,
}

impl Background {
    /// Starts `sftp` as `user` with `batch`, bandwidth limited to `kbit`
    /// Kbit/s, in `cwd`.
    fn start(server: &Server, user: &str, key: &Path, cwd: &Path, batch: &str, kbit: u32) -> Self {
        let logs = scratch_dir();
        let batch_file = logs.path().join("batch");
        fs::write(&batch_file, batch).expect("write the batch file");
        let mut cmd = Command::new("sftp");
        cmd.args(["-F", "/dev/null", "-P", &server.sftp_port.to_string()]);
        for option in [
            "StrictHostKeyChecking=no",
            "UserKnownHostsFile=/dev/null",
            "GlobalKnownHostsFile=/dev/null",
            "UpdateHostKeys=no",
            "LogLevel=ERROR",
            "IdentitiesOnly=yes",
            "PasswordAuthentication=no",
            "KbdInteractiveAuthentication=no",
            "PreferredAuthentications=publickey",
        ] {
            cmd.args(["-o", option]);
        }
        cmd.args(["-l", &kbit.to_string(), "-i"])
            .arg(key)
            .arg("-b")
            .arg(&batch_file)
            .arg(format!("{user}@127.0.0.1"))
            .current_dir(cwd)
            .env_remove("SSH_AUTH_SOCK")
            .stdin(Stdio::null())
            .stdout(fs::File::create(logs.path().join("out")).expect("stdout file"))
            .stderr(fs::File::create(logs.path().join("err")).expect("stderr file"));
        let child = cmd.spawn().expect("run sftp (install openssh-client)");
        Self { child, logs }
    }

    /// The exit status, if the client ends within `limit`.
    fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("wait for sftp") {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn output(&self) -> String {
        let read = |name: &str| fs::read_to_string(self.logs.path().join(name)).unwrap_or_default();
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            read("out"),
            read("err")
        )
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn connections(server: &Server) -> Vec<Value> {
    let resp = server.api("GET", "/api/v2/connections", None);
    assert_eq!(resp.status, 200, "GET /api/v2/connections: {resp:?}");
    match resp.json() {
        Value::Array(list) => list,
        other => panic!("not an array: {other}"),
    }
}

/// Polls the list until `pick` finds something, for at most `limit`.
fn poll<T>(server: &Server, limit: Duration, pick: impl Fn(&[Value]) -> Option<T>) -> Option<T> {
    let started = Instant::now();
    loop {
        if let Some(found) = pick(&connections(server)) {
            return Some(found);
        }
        if started.elapsed() > limit {
            return None;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// The size of `user`'s upload of `path`, once it has moved more than `above`
/// bytes, with its connection.
fn upload_above(list: &[Value], user: &str, path: &str, above: u64) -> Option<(Value, u64)> {
    list.iter()
        .filter(|c| c["username"] == json!(user))
        .find_map(|c| {
            let transfers = c["active_transfers"].as_array()?;
            let upload = transfers
                .iter()
                .find(|t| t["operation_type"] == json!("upload") && t["path"] == json!(path))?;
            let size = upload["size"].as_u64()?;
            (size > above).then(|| (c.clone(), size))
        })
}

#[test]
fn a_live_upload_is_listed_and_closing_its_connection_drops_the_client() {
    let server = Server::start();
    let key = KeyPair::generate();
    server.create_user(&user_json("mover", None, &[&key.public_line], all_perms()));
    let local = scratch_dir();
    let src = local.path().join("big.bin");
    write_random_file(&src, 64 * MIB, 0x5eed_00c0);

    // 4000 Kbit/s: the upload would take over two minutes.
    let mut client = Background::start(
        &server,
        "mover",
        &key.private,
        local.path(),
        "put big.bin big.bin\n",
        4000,
    );
    let limit = Duration::from_secs(30);
    let (conn, first) = poll(&server, limit, |l| upload_above(l, "mover", "/big.bin", 0))
        .unwrap_or_else(|| panic!("no upload listed\n{}", client.output()));
    assert_eq!(conn["protocol"], json!("SFTP"));
    assert_eq!(conn["command"], json!(""));
    let remote = conn["remote_address"].as_str().unwrap_or_default();
    assert!(remote.starts_with("127.0.0.1:"), "{conn}");
    let version = conn["client_version"].as_str().unwrap_or_default();
    assert!(version.starts_with("SSH-2.0-OpenSSH"), "{conn}");
    let connected = conn["connection_time"].as_i64().unwrap_or_default();
    let active = conn["last_activity"].as_i64().unwrap_or_default();
    assert!(connected > 0 && active >= connected, "{conn}");
    let start = conn["active_transfers"][0]["start_time"]
        .as_i64()
        .unwrap_or_default();
    assert!(start >= connected, "{conn}");

    let (conn, second) = poll(&server, limit, |l| {
        upload_above(l, "mover", "/big.bin", first)
    })
    .unwrap_or_else(|| panic!("the upload did not grow past {first}\n{}", client.output()));
    assert!(second < (64 * MIB) as u64, "the upload was not throttled");
    let id = conn["connection_id"]
        .as_str()
        .expect("a connection id")
        .to_owned();

    let closed_at = Instant::now();
    let resp = server.api("DELETE", &format!("/api/v2/connections/{id}"), None);
    assert_eq!(resp.status, 200, "DELETE connection: {resp:?}");
    assert_eq!(resp.json()["message"], json!("Connection closed"));
    let status = client
        .wait_for(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("sftp still runs after the close\n{}", client.output()));
    assert!(!status.success(), "sftp succeeded\n{}", client.output());
    assert!(
        closed_at.elapsed() < Duration::from_secs(5),
        "sftp took {:?} to notice",
        closed_at.elapsed()
    );
    let gone = poll(&server, Duration::from_secs(10), |l| {
        l.iter()
            .all(|c| c["connection_id"] != json!(id))
            .then_some(())
    });
    assert!(gone.is_some(), "the closed connection is still listed");

    assert_interrupted_upload_kept_a_prefix(&server.home_of("mover").join("big.bin"), &src);
    assert_still_serving(&server, &key, local.path());
}

/// Ferry writes local uploads in place (SFTPGo's `upload_mode` 0): an
/// interrupted upload leaves the bytes written so far, in order, and nothing
/// past them.
fn assert_interrupted_upload_kept_a_prefix(partial: &Path, src: &Path) {
    let kept = fs::read(partial).expect("the partial upload is on disk");
    let full = fs::read(src).expect("the source");
    assert!(
        !kept.is_empty() && kept.len() < full.len(),
        "kept {} bytes",
        kept.len()
    );
    assert!(
        kept[..] == full[..kept.len()],
        "the partial upload is not a prefix of the source"
    );
}

fn assert_still_serving(server: &Server, key: &KeyPair, cwd: &Path) {
    write_random_file(&cwd.join("small.bin"), 1000, 7);
    sftp(
        server,
        "mover",
        Cred::Key(&key.private),
        cwd,
        "put small.bin small.bin\n",
    )
    .assert_ok("a new client after the close");
    assert_eq!(
        fs::read(server.home_of("mover").join("small.bin"))
            .map(|d| d.len())
            .ok(),
        Some(1000)
    );
    let empty = poll(server, Duration::from_secs(10), |l| {
        l.is_empty().then_some(())
    });
    assert!(empty.is_some(), "a finished session is still listed");
}

#[test]
fn unknown_ids_are_not_found_and_permissions_are_checked() {
    let server = Server::start();
    server
        .api("DELETE", "/api/v2/connections/SFTP_nope_1", None)
        .assert_error(404, "an unknown connection");
    assert!(connections(&server).is_empty());

    let admin = json!({"username": "viewer", "password": "V1ewer-pass", "status": 1,
        "permissions": ["view_users", "view_conns"]});
    let resp = server.api("POST", "/api/v2/admins", Some(&admin));
    assert_eq!(resp.status, 201, "create admin: {resp:?}");
    let token = server.call(
        "GET",
        &server.url("/api/v2/token"),
        Auth::Basic("viewer", "V1ewer-pass"),
        None,
    );
    let token = token.json()["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let call = |method: &str, path: &str| {
        server.call(method, &server.url(path), Auth::Bearer(&token), None)
    };
    assert_eq!(call("GET", "/api/v2/connections").status, 200);
    call("DELETE", "/api/v2/connections/SFTP_nope_1")
        .assert_error(403, "closing without close_conns");
}

/// Users `names`, each uploading 16 MiB slowly from `local` in the
/// background, returned once every upload is listed: their JSON, keys and
/// clients, in the order of `names`.
fn uploading_users(
    server: &Server,
    local: &Path,
    names: &[&str],
) -> (Vec<(Value, KeyPair)>, Vec<Background>) {
    write_random_file(&local.join("big.bin"), 16 * MIB, 0x5eed_00c1);
    let mut clients = Vec::new();
    let mut users = Vec::new();
    for name in names {
        let key = KeyPair::generate();
        let user = user_json(name, None, &[&key.public_line], all_perms());
        server.create_user(&user);
        let batch = "put big.bin big.bin\n";
        clients.push(Background::start(
            server,
            name,
            &key.private,
            local,
            batch,
            2000,
        ));
        users.push((user, key));
    }
    for (client, name) in clients.iter().zip(names) {
        poll(server, Duration::from_secs(30), |l| {
            upload_above(l, name, "/big.bin", 0)
        })
        .unwrap_or_else(|| panic!("no upload of {name} listed\n{}", client.output()));
    }
    (users, clients)
}

#[test]
fn updating_a_user_with_disconnect_closes_only_that_users_connections() {
    let server = Server::start();
    let local = scratch_dir();
    let (users, mut clients) = uploading_users(&server, local.path(), &["kicked", "bystander"]);

    let path = "/api/v2/users/kicked";
    let resp = server.api("PUT", &format!("{path}?disconnect=yes"), Some(&users[0].0));
    assert_eq!(resp.status, 400, "disconnect=yes: {resp:?}");
    let resp = server.api("PUT", &format!("{path}?disconnect=1"), Some(&users[0].0));
    assert_eq!(resp.status, 200, "disconnect=1: {resp:?}");

    let status = clients[0]
        .wait_for(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("kicked's sftp still runs\n{}", clients[0].output()));
    assert!(!status.success(), "kicked's upload succeeded");
    assert!(
        clients[1].wait_for(Duration::from_millis(500)).is_none(),
        "the bystander was disconnected too\n{}",
        clients[1].output()
    );
    let left = poll(&server, Duration::from_secs(10), |l| {
        l.iter()
            .all(|c| c["username"] != json!("kicked"))
            .then_some(())
    });
    assert!(left.is_some(), "kicked is still listed");
    assert!(
        connections(&server)
            .iter()
            .any(|c| c["username"] == json!("bystander")),
        "the bystander's connection is gone"
    );
    // The interrupted upload has its own log line.
    let log = server.log();
    assert!(
        log.lines().any(|l| l.contains("transfer")
            && l.contains("user=kicked")
            && l.contains("outcome=\"interrupted\"")),
        "no interrupted transfer line in the log:\n{log}"
    );
}

/// A deleted user, and a user an operator disables, lose their live
/// connections at once, without `disconnect=1`: neither may go on working.
#[test]
fn deleting_or_disabling_a_user_closes_its_connections() {
    let server = Server::start();
    let local = scratch_dir();
    let (users, mut clients) = uploading_users(&server, local.path(), &["deleted", "disabled"]);

    let resp = server.api("DELETE", "/api/v2/users/deleted", None);
    assert_eq!(resp.status, 200, "delete: {resp:?}");
    let mut disabled = users[1].0.clone();
    disabled["status"] = json!(0);
    let resp = server.api("PUT", "/api/v2/users/disabled", Some(&disabled));
    assert_eq!(resp.status, 200, "disable: {resp:?}");

    for (client, name) in clients.iter_mut().zip(["deleted", "disabled"]) {
        let status = client
            .wait_for(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("{name}'s sftp still runs\n{}", client.output()));
        assert!(!status.success(), "{name}'s upload succeeded");
    }
    let gone = poll(&server, Duration::from_secs(10), |l| {
        l.is_empty().then_some(())
    });
    assert!(gone.is_some(), "a closed connection is still listed");
}
