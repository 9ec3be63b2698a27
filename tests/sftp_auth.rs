//! Who may log in over SFTP: right credentials of an enabled, unexpired user
//! only, and every refusal looks the same to the client.

mod common;

use common::{Cred, KeyPair, Options, Server, SftpOutput, all_perms, scratch_dir, sftp, user_json};
use serde_json::json;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PASSWORD: &str = "Right-pass-1";
const DAY_MS: i64 = 86_400_000;

fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// Creates `name` with [`PASSWORD`] and `key`; `change` edits the JSON first.
fn create(server: &Server, name: &str, key: &KeyPair, change: impl FnOnce(&mut serde_json::Value)) {
    let mut user = user_json(name, Some(PASSWORD), &[&key.public_line], all_perms());
    change(&mut user);
    server.create_user(&user);
}

fn login(server: &Server, user: &str, cred: Cred<'_>) -> SftpOutput {
    let local = scratch_dir();
    sftp(server, user, cred, local.path(), "pwd\n")
}

/// sftp's complaint with the username taken out, so refusals compare.
fn refusal_text(out: &SftpOutput, user: &str) -> String {
    out.stderr
        .replace(&format!("{user}@127.0.0.1"), "USER@HOST")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_refusal_looks_the_same() {
    let server = Server::start();
    let key = KeyPair::generate();
    let other_key = KeyPair::generate();
    create(&server, "member", &key, |_| {});
    create(&server, "disabled", &key, |u| u["status"] = json!(0));
    create(&server, "expired", &key, |u| {
        u["expiration_date"] = json!(now_ms() - DAY_MS);
    });

    login(&server, "member", Cred::Password(PASSWORD)).assert_ok("the right password");
    login(&server, "member", Cred::Key(&key.private)).assert_ok("the right key");

    let cases = [
        ("wrong password", "member", Cred::Password("Wrong-pass-1")),
        ("wrong key", "member", Cred::Key(&other_key.private)),
        (
            "unknown user, password",
            "stranger",
            Cred::Password(PASSWORD),
        ),
        ("unknown user, key", "stranger", Cred::Key(&key.private)),
        (
            "disabled user, password",
            "disabled",
            Cred::Password(PASSWORD),
        ),
        ("disabled user, key", "disabled", Cred::Key(&key.private)),
        (
            "expired user, password",
            "expired",
            Cred::Password(PASSWORD),
        ),
        ("expired user, key", "expired", Cred::Key(&key.private)),
    ];
    let mut first: Option<(&str, String)> = None;
    for (what, user, cred) in cases {
        let out = login(&server, user, cred);
        out.assert_login_refused(what);
        assert!(
            out.stderr.contains("Permission denied"),
            "{what}: no \"Permission denied\"\n{}",
            out.describe()
        );
        let text = refusal_text(&out, user);
        match &first {
            None => first = Some((what, text)),
            Some((first_what, first_text)) => assert_eq!(
                &text, first_text,
                "the client can tell \"{what}\" from \"{first_what}\""
            ),
        }
    }
}

#[test]
fn a_disabled_user_enabled_again_logs_in() {
    let server = Server::start();
    let key = KeyPair::generate();
    create(&server, "sleeper", &key, |u| u["status"] = json!(0));
    login(&server, "sleeper", Cred::Key(&key.private)).assert_login_refused("disabled");

    server.update_user("sleeper", |u| u["status"] = json!(1));
    login(&server, "sleeper", Cred::Key(&key.private)).assert_ok("enabled again, key");
    login(&server, "sleeper", Cred::Password(PASSWORD)).assert_ok("enabled again, password");

    server.update_user("sleeper", |u| u["status"] = json!(0));
    login(&server, "sleeper", Cred::Password(PASSWORD)).assert_login_refused("disabled again");
}

#[test]
fn an_expired_user_given_a_later_date_logs_in() {
    let server = Server::start();
    let key = KeyPair::generate();
    create(&server, "lapsed", &key, |u| {
        u["expiration_date"] = json!(now_ms() - 60_000);
    });
    login(&server, "lapsed", Cred::Password(PASSWORD)).assert_login_refused("expired");

    server.update_user("lapsed", |u| {
        u["expiration_date"] = json!(now_ms() + DAY_MS)
    });
    login(&server, "lapsed", Cred::Password(PASSWORD)).assert_ok("expiry moved to tomorrow");

    server.update_user("lapsed", |u| u["expiration_date"] = json!(0));
    login(&server, "lapsed", Cred::Key(&key.private)).assert_ok("expiration_date 0 is never");
}

#[test]
fn a_deleted_user_can_no_longer_log_in() {
    let server = Server::start();
    let key = KeyPair::generate();
    create(&server, "leaver", &key, |_| {});
    login(&server, "leaver", Cred::Key(&key.private)).assert_ok("before deletion");
    let resp = server.api("DELETE", "/api/v2/users/leaver", None);
    assert_eq!(resp.status, 200, "{resp:?}");
    login(&server, "leaver", Cred::Key(&key.private)).assert_login_refused("after deletion");
    login(&server, "leaver", Cred::Password(PASSWORD)).assert_login_refused("after deletion");
}

/// Reads until the server closes the connection; `false` if it is still
/// open after `limit`.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    stream
        .set_read_timeout(Some(limit))
        .expect("set a read timeout");
    let mut sink = Vec::new();
    match stream.read_to_end(&mut sink) {
        Ok(_) => true,
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

#[test]
fn a_client_that_never_logs_in_is_cut_at_the_grace_time() {
    let server = Server::start_with(Options {
        env: vec![("FERRY_SFTPD__LOGIN_GRACE_TIME".into(), "2".into())],
        ..Options::default()
    });
    let address = ("127.0.0.1", server.sftp_port);
    let started = Instant::now();
    // One never says a word; the other stops in the middle of the handshake.
    let mut silent = TcpStream::connect(address).expect("connect");
    let mut stalled = TcpStream::connect(address).expect("connect");
    stalled
        .write_all(b"SSH-2.0-Stalled_1.0\r\n")
        .expect("send an identification");

    for (name, stream) in [("silent", &mut silent), ("stalled", &mut stalled)] {
        assert!(
            closed_within(stream, Duration::from_secs(20)),
            "the {name} client is still connected after {:?}",
            started.elapsed()
        );
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500),
        "cut before the grace time: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "cut late: {took:?}");
}
