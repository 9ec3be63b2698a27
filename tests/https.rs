//! The REST API over HTTPS, end to end: the real binary with a certificate
//! made at test time by the `openssl` CLI, driven by curl; settings that
//! cannot serve HTTPS stop it with a clear message; and admin tokens that
//! every process sharing a signing passphrase accepts.

mod common;

use common::{
    Auth, Options, Server, clear_ferry_env, curl, host_key, http, scratch_dir, strip_ansi,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};
use tempfile::TempDir;

const CERT_ENV: &str = "FERRY_HTTPD__CERTIFICATE_PATH";
const KEY_ENV: &str = "FERRY_HTTPD__CERTIFICATE_KEY_PATH";
const PASSPHRASE_ENV: &str = "FERRY_HTTPD__SIGNING_PASSPHRASE";

/// A test CA, a server certificate it signed for 127.0.0.1 and localhost,
/// and a key that belongs to neither.
struct Pki {
    _dir: TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    stray_key: PathBuf,
}

/// Runs `openssl` with the whitespace-separated `args` in `dir`.
fn openssl(dir: &Path, args: &str) {
    let out = Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .expect("run openssl (install the openssl CLI)");
    assert!(
        out.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The extensions of the server certificate: a leaf for 127.0.0.1 and localhost.
const SERVER_EXTENSIONS: &str = "subjectAltName=IP:127.0.0.1,DNS:localhost
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
";

fn make_pki_in(p: &Path) {
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    openssl(
        p,
        &format!(
            "req -x509 {ec} -keyout ca.key -out ca.pem -days 2 -subj /CN=ferry-test-ca \
             -addext basicConstraints=critical,CA:TRUE \
             -addext keyUsage=critical,keyCertSign,cRLSign"
        ),
    );
    openssl(
        p,
        &format!("req {ec} -keyout server.key -out server.csr -subj /CN=localhost"),
    );
    std::fs::write(p.join("server.ext"), SERVER_EXTENSIONS).expect("write the extensions");
    openssl(
        p,
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
         -extfile server.ext -out server.pem",
    );
    openssl(
        p,
        "genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 -out stray.key",
    );
}

fn make_pki() -> Pki {
    let dir = scratch_dir();
    make_pki_in(dir.path());
    let p = dir.path();
    Pki {
        ca: p.join("ca.pem"),
        cert: p.join("server.pem"),
        key: p.join("server.key"),
        stray_key: p.join("stray.key"),
        _dir: dir,
    }
}

fn https_options(pki: &Pki) -> Options {
    Options {
        env: vec![
            (CERT_ENV.to_owned(), pki.cert.display().to_string()),
            (KEY_ENV.to_owned(), pki.key.display().to_string()),
        ],
        https_ca: Some(pki.ca.clone()),
        ..Options::default()
    }
}

/// curl's exit code and `-w` output for `GET url`, body discarded.
fn curl_probe(url: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new("curl")
        .args([
            "-sS",
            "--noproxy",
            "*",
            "--max-time",
            "30",
            "-o",
            "/dev/null",
        ])
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("run curl (install curl)");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Waits up to 10 s for a log line matching `matches`: the harness reads the
/// server's stderr on another thread, so a line can trail the reply.
fn wait_for_log_line(server: &Server, what: &str, matches: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log().lines().any(|l| matches(&strip_ansi(l))) {
        assert!(
            Instant::now() < deadline,
            "no log line for {what}:\n{}",
            server.log()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_api_speaks_https_with_a_certificate_clients_verify() {
    let pki = make_pki();
    let server = Server::start_with(https_options(&pki));
    assert!(server.url("/").starts_with("https://"));
    wait_for_log_line(&server, "HTTPS mode", |l| {
        l.contains("the REST API speaks HTTPS")
    });

    let health = server.call("GET", &server.url("/healthz"), Auth::None, None);
    assert_eq!(
        (health.status, health.body.trim()),
        (200, "ok"),
        "{health:?}"
    );
    let resp = server.api("GET", "/api/v2/version", None);
    assert_eq!(resp.status, 200, "{resp:?}");
    assert!(resp.json()["version"].is_string(), "{resp:?}");
    wait_for_log_line(&server, "a request line with the client address", |l| {
        l.contains("http request") && l.contains("/api/v2/version") && l.contains("127.0.0.1")
    });

    let ca = pki.ca.display().to_string();
    let url = server.url("/healthz");
    for (flag, version) in [("--http2", "2"), ("--http1.1", "1.1")] {
        let probe = curl_probe(
            &url,
            &["--cacert", &ca, flag, "-w", "%{http_version} %{http_code}"],
        );
        assert_eq!(probe, (Some(0), format!("{version} 200")), "curl {flag}");
    }
}

#[test]
fn https_refuses_plain_http_and_unverified_clients() {
    let pki = make_pki();
    let server = Server::start_with(https_options(&pki));
    let plain = format!("http://127.0.0.1:{}/healthz", server.http_port);
    let resp = http("GET", &plain, Auth::None, None);
    assert_ne!(resp.status, 200, "plain HTTP on the HTTPS port: {resp:?}");
    assert!(
        !resp.body.contains("ok"),
        "plain HTTP on the HTTPS port: {resp:?}"
    );

    // 60: curl could not verify the server's certificate.
    let (code, _) = curl_probe(&server.url("/healthz"), &[]);
    assert_eq!(code, Some(60), "curl without the test CA");
    let other = make_pki();
    let wrong_ca = ["--cacert".to_owned(), other.ca.display().to_string()];
    let resp = curl("GET", &server.url("/healthz"), Auth::None, None, &wrong_ca);
    assert_eq!(resp.status, 0, "curl trusting another CA: {resp:?}");
}

/// What a `ferry serve` that was expected to refuse its settings printed.
struct Refusal {
    code: Option<i32>,
    stderr: String,
}

/// Runs `ferry serve` with `env` in a private directory, expecting it to
/// exit; kills it and fails after 60 s.
fn serve_expecting_exit(env: &[(&str, &Path)]) -> Refusal {
    let dir = scratch_dir();
    let err = dir.path().join("stderr");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    clear_ferry_env(&mut cmd);
    cmd.arg("serve")
        .current_dir(dir.path())
        .env("FERRY_DATA_DIR", dir.path().join("data"))
        .env("FERRY_SFTPD__BIND", "127.0.0.1:0")
        .env("FERRY_HTTPD__BIND", "127.0.0.1:0")
        .env("FERRY_SFTPD__HOST_KEYS", host_key(dir.path()))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).expect("create the stderr file"));
    let mut child = cmd.spawn().expect("spawn ferry");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for ferry") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ferry kept running with {env:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::fs::read(&err).unwrap_or_default();
    Refusal {
        code: status.code(),
        stderr: strip_ansi(&String::from_utf8_lossy(&stderr)),
    }
}

/// Certificate settings `ferry serve` must refuse, and what it then says.
struct BadSetting<'a> {
    what: &'a str,
    certificate: Option<&'a Path>,
    key: Option<&'a Path>,
    says: &'a [&'a str],
}

impl BadSetting<'_> {
    fn check(&self) {
        let mut env = Vec::new();
        env.extend(self.certificate.map(|path| (CERT_ENV, path)));
        env.extend(self.key.map(|path| (KEY_ENV, path)));
        let refusal = serve_expecting_exit(&env);
        let what = self.what;
        assert!(
            matches!(refusal.code, Some(c) if c != 0 && c != 101),
            "{what}: expected a clean non-zero exit, got {:?}\n{}",
            refusal.code,
            refusal.stderr
        );
        assert!(
            !refusal.stderr.contains("panicked"),
            "{what}:\n{}",
            refusal.stderr
        );
        for text in self.says {
            assert!(
                refusal.stderr.contains(text),
                "{what}: no {text:?} in\n{}",
                refusal.stderr
            );
        }
    }
}

#[test]
fn unusable_certificate_settings_stop_ferry_naming_the_setting() {
    let pki = make_pki();
    let missing = pki.cert.with_file_name("no-such-cert.pem");
    let cases = [
        BadSetting {
            what: "a missing certificate file",
            certificate: Some(&missing),
            key: Some(&pki.key),
            says: &["httpd.certificate_path", "no-such-cert.pem"],
        },
        BadSetting {
            what: "a key file as the certificate",
            certificate: Some(&pki.key),
            key: Some(&pki.key),
            says: &["httpd.certificate_path", "no PEM certificate"],
        },
        BadSetting {
            what: "a certificate as the key",
            certificate: Some(&pki.cert),
            key: Some(&pki.cert),
            says: &["httpd.certificate_key_path", "no PEM private key"],
        },
        BadSetting {
            what: "a key that is not the certificate's",
            certificate: Some(&pki.cert),
            key: Some(&pki.stray_key),
            says: &["httpd.certificate_key_path", "does not belong"],
        },
        BadSetting {
            what: "a certificate without a key",
            certificate: Some(&pki.cert),
            key: None,
            says: &["httpd.certificate_key_path is empty"],
        },
    ];
    for case in &cases {
        case.check();
    }
}

fn with_passphrase(passphrase: &str) -> Options {
    Options {
        env: vec![(PASSPHRASE_ENV.to_owned(), passphrase.to_owned())],
        ..Options::default()
    }
}

/// `GET /api/v2/users` on `server` with `token`.
fn users_with(server: &Server, token: &str) -> common::Response {
    server.call(
        "GET",
        &server.url("/api/v2/users"),
        Auth::Bearer(token),
        None,
    )
}

#[test]
fn processes_sharing_a_signing_passphrase_accept_each_others_tokens() {
    // Separate data dirs; the same default admin, created by each at start.
    let a = Server::start_with(with_passphrase("shared-Passphrase-1"));
    let b = Server::start_with(with_passphrase("shared-Passphrase-1"));
    let c = Server::start_with(with_passphrase("another-Passphrase-2"));
    let (token_a, token_b, token_c) = (a.new_token(), b.new_token(), c.new_token());

    for (server, token, what) in [(&b, &token_a, "a's token on b"), (&a, &token_b, "b's on a")] {
        let resp = users_with(server, token);
        assert_eq!(resp.status, 200, "{what}: {resp:?}");
    }
    users_with(&c, &token_a).assert_error(401, "a's token on c, another passphrase");
    users_with(&a, &token_c).assert_error(401, "c's token on a, another passphrase");

    let logout = a.call(
        "GET",
        &a.url("/api/v2/logout"),
        Auth::Bearer(&token_a),
        None,
    );
    assert_eq!(logout.status, 200, "{logout:?}");
    users_with(&a, &token_a).assert_error(401, "a's token on a after its logout");
    // Pins the documented LIMITATION of the in-memory revocation list: the
    // logout holds on the process that saw it only.
    assert_eq!(
        users_with(&b, &token_a).status,
        200,
        "a's token on b after logout"
    );
}
