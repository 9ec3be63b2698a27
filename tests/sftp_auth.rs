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

/// Hashes of "correct horse" in the formats SFTPGo accepts pre-hashed, each
/// made with a standard tool:
/// - pbkdf2: python3 `base64.b64encode(hashlib.pbkdf2_hmac(DIGEST,
///   b'correct horse', b'FerrySalt1', 10000))`; the b64salt one with the
///   salt bytes `[0, 1, 2, 250, 251, 252, 36, 36]` and 5000 iterations;
/// - crypt: `openssl passwd -1 -salt saltsalt`, `-apr1 -salt Xy7Zq1w2`,
///   `-5 -salt ferrysalt16chars`, `-6 -salt ferrysalt`;
/// - digests: python3 `hashlib.md5(...).hexdigest()`, and the base64 of
///   `hashlib.sha256(...).digest()`.
const PREHASHED: [(&str, &str); 10] = [
    (
        "pbkdf2sha1",
        "$pbkdf2-sha1$10000$FerrySalt1$P4R+pePDk5DC8qcfOviu+dUkd2w=",
    ),
    (
        "pbkdf2sha256",
        "$pbkdf2-sha256$10000$FerrySalt1$/wBT2/7LOl4Zjsqh/QRezRgPTW5MRL57zH5eOO5MBuM=",
    ),
    (
        "pbkdf2sha512",
        "$pbkdf2-sha512$10000$FerrySalt1$uATljaNYENyLkNZPiJFgExElJdtW/+mqGgZ7QnM1jtQowXOAxl/\
         6nuGjliW4C8r2/3WV0vnQo0EZ6m4naiyxDg==",
    ),
    (
        "pbkdf2b64salt",
        "$pbkdf2-b64salt-sha256$5000$AAEC+vv8JCQ=$zOK3SAXbLtDJUvM9k6POi7OiJWjzWob+0l4Oqf0Uzlk=",
    ),
    ("md5crypt", "$1$saltsalt$NuzA7WTAelpl95xgBGWN60"),
    ("apr1", "$apr1$Xy7Zq1w2$amC.CVgItbCFpw7SFTnAA/"),
    (
        "sha256crypt",
        "$5$ferrysalt16chars$ynYZLc1l/Z3SDVm.g1ZQsQwHkGgCJv2JR2B7tzLknV0",
    ),
    (
        "sha512crypt",
        "$6$ferrysalt$XEO/G4dsdRuPITyJ7LBfQu5pPY9XNULj6kkNIFEUXKzCONxIkH3BDiHxq/xibw.qH.\
         btgkgnI2HKowwVUh/Re/",
    ),
    ("md5digest", "{MD5}3cb4e732631f47e6eb961f34554b7cde"),
    (
        "sha256digest",
        "{SHA256}QQTTb42iwlQ0n4WDZ5Pr4CngyVcGOjTJHC6SAxh7VjE=",
    ),
];

#[test]
fn users_created_with_prehashed_passwords_log_in_with_the_password() {
    let server = Server::start();
    for (name, hash) in PREHASHED {
        let user = user_json(name, Some(hash), &[], all_perms());
        let created = server.create_user(&user);
        assert_eq!(created["has_password"], json!(true), "{name}");
        assert!(!created.to_string().contains(hash), "{name}: hash shown");
    }
    for (name, _) in PREHASHED {
        login(&server, name, Cred::Password("correct horse")).assert_ok(name);
        login(&server, name, Cred::Password("correct horsE")).assert_login_refused(name);
        // The stored value is a hash, not a password: it does not log in.
        let (_, hash) = PREHASHED.iter().find(|(n, _)| *n == name).unwrap();
        login(&server, name, Cred::Password(hash)).assert_login_refused(name);
    }
}

#[test]
fn a_malformed_prehashed_password_is_refused_with_400() {
    let server = Server::start();
    for (name, hash) in [
        ("badpbkdf2", "$pbkdf2-sha256$lots$salt$key"),
        ("badmd5crypt", "$1$saltsalt$tooshort"),
        ("badsha512crypt", "$6$salt$!!!"),
    ] {
        let user = user_json(name, Some(hash), &[], all_perms());
        let resp = server.api("POST", "/api/v2/users", Some(&user));
        resp.assert_error(400, name);
        assert!(resp.body.contains("malformed"), "{name}: {resp:?}");
        let resp = server.api("GET", &format!("/api/v2/users/{name}"), None);
        assert_eq!(resp.status, 404, "{name} was stored: {resp:?}");
    }
}
