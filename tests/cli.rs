//! The command line: what `ferry` says about itself, and how it refuses a
//! configuration it cannot use.

mod common;

use common::{Server, clear_ferry_env, scratch_dir, strip_ansi};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a short-lived `ferry` run printed.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "exit code {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// Asserts a clean refusal: a non-zero exit that is not a panic.
    fn assert_refused(&self, what: &str) {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "{what}: expected a non-zero exit\n{}",
            self.describe()
        );
        assert!(
            self.code != Some(101) && !self.stderr.contains("panicked"),
            "{what}: ferry panicked instead of reporting an error\n{}",
            self.describe()
        );
    }
}

/// Runs `ferry args` with `env` in a private data dir, loopback binds and a
/// host key; kills it and fails after 30 s (it was expected to exit).
fn run_ferry(args: &[&str], env: &[(&str, &str)]) -> Run {
    let dir = scratch_dir();
    let host_key = common::host_key(dir.path());
    let out = dir.path().join("stdout");
    let err = dir.path().join("stderr");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    clear_ferry_env(&mut cmd);
    cmd.args(args)
        .current_dir(dir.path())
        .env("FERRY_DATA_DIR", dir.path().join("data"))
        .env("FERRY_SFTPD__BIND", "127.0.0.1:0")
        .env("FERRY_HTTPD__BIND", "127.0.0.1:0")
        .env("FERRY_SFTPD__HOST_KEYS", &host_key)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn ferry");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for ferry") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`ferry {}` was still running after 30 s\n{}",
                args.join(" "),
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: read_lossy(&out),
        stderr: strip_ansi(&read_lossy(&err)),
    }
}

fn read_lossy(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
}

#[test]
fn version_prints_the_package_version() {
    let run = run_ferry(&["--version"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.stdout.contains(env!("CARGO_PKG_VERSION")),
        "`ferry --version` does not print {}\n{}",
        env!("CARGO_PKG_VERSION"),
        run.describe()
    );
}

#[test]
fn help_mentions_the_serve_command() {
    let run = run_ferry(&["--help"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(run.stdout.contains("serve"), "{}", run.describe());
}

#[test]
fn malformed_config_file_is_refused_with_its_name() {
    let dir = scratch_dir();
    let config = dir.path().join("broken-ferry.toml");
    std::fs::write(&config, "[sftpd\nbind = \"127.0.0.1:0\n").expect("write config");
    let path = config.to_str().expect("utf-8 path");
    // `--config` may be a global flag or a flag of `serve`: accept either.
    let mut run = run_ferry(&["--config", path, "serve"], &[]);
    if run.stderr.contains("unexpected argument") {
        run = run_ferry(&["serve", "--config", path], &[]);
    }
    run.assert_refused("a malformed config file");
    assert!(
        !run.stderr.contains("unexpected argument"),
        "`--config` is not accepted\n{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("broken-ferry.toml"),
        "the error does not name the config file\n{}",
        run.describe()
    );
}

#[test]
fn unparseable_bind_addresses_are_refused_clearly() {
    for var in ["FERRY_SFTPD__BIND", "FERRY_HTTPD__BIND"] {
        let bad = "not-an-address:22x";
        let run = run_ferry(&["serve"], &[(var, bad)]);
        run.assert_refused(var);
        let said = run.stderr.to_lowercase();
        assert!(
            said.contains(bad) || said.contains("bind"),
            "{var}={bad}: the error names neither the value nor the setting\n{}",
            run.describe()
        );
        assert!(
            !said.contains("listening"),
            "{var}={bad}: a listener started anyway\n{}",
            run.describe()
        );
    }
}

#[test]
fn logs_go_to_stderr_without_colors() {
    let server = Server::start();
    let log = server.log();
    let listening: Vec<&str> = log.lines().filter(|l| l.contains("listening")).collect();
    assert!(listening.len() >= 2, "no `listening` lines in:\n{log}");
    for line in listening {
        assert!(
            !line.starts_with("[stdout] "),
            "a log line went to stdout: {line}"
        );
        assert!(
            !line.contains('\u{1b}'),
            "ANSI colors in a non-terminal log: {line:?}"
        );
    }
}

#[test]
fn sigterm_and_sigint_stop_the_server_cleanly() {
    for signal in ["TERM", "INT"] {
        let mut server = Server::start();
        let status = server.stop_with(signal);
        assert!(
            status.is_some_and(|s| s.success()),
            "SIG{signal}: ferry did not exit cleanly within 15 s: {status:?}\n{}",
            server.log()
        );
    }
}

#[test]
fn a_bad_backup_at_start_up_stops_ferry_and_names_the_object() {
    let dir = scratch_dir();
    let backup = dir.path().join("bad-backup.json");
    let bad = r#"{"users": [{"username": "ok", "status": 1, "home_dir": "/srv/ok",
        "permissions": {"/": ["*"]}}, {"username": "oops", "status": 1,
        "home_dir": "/srv/oops", "permissions": {"/": ["teleport"]}}], "version": 17}"#;
    std::fs::write(&backup, bad).expect("write the backup");
    let path = backup.to_str().expect("utf-8 path");
    let run = run_ferry(
        &["serve", "--loaddata-from", path, "--loaddata-mode", "0"],
        &[],
    );
    run.assert_refused("a backup with a bad user");
    assert!(
        run.stderr.contains("user \"oops\"") && run.stderr.contains("bad-backup.json"),
        "the error does not name the file and the user\n{}",
        run.describe()
    );
    assert!(!run.stderr.contains("listening"), "{}", run.describe());
    assert!(backup.exists(), "a failed restore must not delete its file");

    let run = run_ferry(
        &["serve"],
        &[("FERRY_LOADDATA_FROM", path), ("FERRY_LOADDATA_MODE", "7")],
    );
    run.assert_refused("an invalid mode");
    assert!(run.stderr.contains("--loaddata-mode"), "{}", run.describe());
}

/// A second server on a data dir whose database another one serves stops
/// at once, saying why; the first goes on, and once it has stopped the
/// database can be served again.
#[test]
fn a_second_server_on_the_same_database_is_refused() {
    let mut server = Server::start();
    let data_dir = server.data_dir.to_string_lossy().into_owned();
    let second = run_ferry(&["serve"], &[("FERRY_DATA_DIR", &data_dir)]);
    second.assert_refused("a second server on the same database");
    assert!(
        second
            .stderr
            .contains("another Ferry is already serving the database"),
        "{}",
        second.describe()
    );
    let health = server.call("GET", &server.url("/healthz"), common::Auth::None, None);
    assert_eq!(health.status, 200, "the first server stopped serving");

    let status = server.stop_with("TERM");
    assert!(status.is_some_and(|s| s.success()), "{}", server.log());
    let data_dir = server.data_dir.to_string_lossy().into_owned();
    // The same data dir, served again: it runs until killed after 30 s is
    // too long to wait for, so a bad backup stops it right after the lock.
    let backup = scratch_dir();
    let file = backup.path().join("empty.json");
    std::fs::write(&file, "not json").unwrap();
    let again = run_ferry(
        &["serve", "--loaddata-from", &file.to_string_lossy()],
        &[("FERRY_DATA_DIR", &data_dir)],
    );
    again.assert_refused("a bad backup");
    assert!(
        !again.stderr.contains("another Ferry"),
        "the lock outlived its server\n{}",
        again.describe()
    );
}

#[test]
fn a_database_server_that_does_not_answer_stops_ferry_clearly() {
    // A port that nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let secret = "do-not-print-me";
    let started = Instant::now();
    let run = run_ferry(
        &["serve"],
        &[
            ("FERRY_DATA_PROVIDER__DRIVER", "postgresql"),
            ("FERRY_DATA_PROVIDER__HOST", "127.0.0.1"),
            ("FERRY_DATA_PROVIDER__PORT", &port),
            ("FERRY_DATA_PROVIDER__USERNAME", "postgres"),
            ("FERRY_DATA_PROVIDER__PASSWORD", secret),
            ("FERRY_DATA_PROVIDER__NAME", "ferry"),
        ],
    );
    run.assert_refused("a database server that does not answer");
    let place = format!("postgresql://127.0.0.1:{port}/ferry");
    assert!(
        run.stderr.contains("opening the database") && run.stderr.contains(&place),
        "{}",
        run.describe()
    );
    assert!(
        !run.stderr.contains(secret),
        "the password was printed: {}",
        run.describe()
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}
