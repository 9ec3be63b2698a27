//! The harness shared by Ferry's end-to-end tests: start the real `ferry`
//! binary on loopback ports in a private temporary directory, talk to its REST
//! API with `curl` and to its SFTP service with OpenSSH's `sftp`, the clients
//! users have.
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The admin the harness configures through `FERRY_DEFAULT_ADMIN__*`.
pub const ADMIN_USER: &str = "admin";
/// Its password.
pub const ADMIN_PASSWORD: &str = "Adm1n-test-secret";

/// How long the binary may take from spawn to a healthy `/healthz`. Generous
/// because a debug build on a busy 2-core machine can be slow to start.
const START_DEADLINE: Duration = Duration::from_secs(60);
/// How long one `sftp` session may run before it is killed.
pub const SFTP_TIMEOUT: Duration = Duration::from_secs(120);

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Options {
    /// `Some((user, password))` sets `FERRY_DEFAULT_ADMIN__*`; `None` leaves
    /// them unset so the built-in default applies.
    pub admin: Option<(String, String)>,
    /// Extra environment variables for the child.
    pub env: Vec<(String, String)>,
    /// `Some(ca)`: the API speaks HTTPS (its certificate settings go in
    /// `env`), so URLs are `https://` and curl trusts the CA file `ca`.
    pub https_ca: Option<PathBuf>,
    /// Leaves `FERRY_DATA_DIR` unset, so Ferry uses its default,
    /// `./ferry-data` in the directory it starts in, and creates it.
    pub default_data_dir: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            admin: Some((ADMIN_USER.to_owned(), ADMIN_PASSWORD.to_owned())),
            env: Vec::new(),
            https_ca: None,
            default_data_dir: false,
        }
    }
}

/// A running `ferry serve` in its own temporary directory. Dropping it kills
/// the process; if the test is failing, its log is printed.
pub struct Server {
    child: Option<Child>,
    dirs: Option<TempDir>,
    /// `FERRY_DATA_DIR` of this server.
    pub data_dir: PathBuf,
    pub sftp_port: u16,
    pub http_port: u16,
    pub admin_user: String,
    pub admin_password: String,
    /// The CA curl trusts when the API speaks HTTPS.
    pub https_ca: Option<PathBuf>,
    log: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    token: Mutex<Option<String>>,
}

impl Server {
    /// Starts a server with the default options in a fresh temporary directory.
    pub fn start() -> Server {
        Self::start_with(Options::default())
    }

    /// Starts a server with `options` in a fresh temporary directory.
    pub fn start_with(options: Options) -> Server {
        let dirs = tempfile::Builder::new()
            .prefix("ferry-e2e-")
            .tempdir()
            .expect("create the test directory");
        Self::start_in(dirs, options)
    }

    /// Stops this server gracefully (SIGTERM, then SIGKILL after 15 s) and
    /// starts a new one on the same data directory and host key.
    pub fn restart(mut self, options: Options) -> Server {
        self.stop();
        let dirs = self.dirs.take().expect("the server owns its directory");
        Self::start_in(dirs, options)
    }

    fn start_in(dirs: TempDir, options: Options) -> Server {
        let data_dir = if options.default_data_dir {
            dirs.path().join("ferry-data")
        } else {
            let data_dir = dirs.path().join("data");
            fs::create_dir_all(&data_dir).expect("create the data dir");
            data_dir
        };
        let host_key = host_key(dirs.path());
        let log = Arc::new(Mutex::new(String::new()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
        clear_ferry_env(&mut cmd);
        // A private working directory, so no ./ferry.toml of the checkout applies.
        cmd.arg("serve")
            .current_dir(dirs.path())
            .env("FERRY_SFTPD__BIND", "127.0.0.1:0")
            .env("FERRY_HTTPD__BIND", "127.0.0.1:0")
            .env("FERRY_SFTPD__HOST_KEYS", &host_key)
            // Cloud storage may reach loopback only, never with ambient credentials.
            .env("FERRY_STORAGE__ALLOW_AMBIENT_CREDENTIALS", "false")
            .env("FERRY_STORAGE__ALLOWED_ENDPOINTS", "127.0.0.1")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (admin_user, admin_password) = match &options.admin {
            Some((user, password)) => {
                cmd.env("FERRY_DEFAULT_ADMIN__USERNAME", user)
                    .env("FERRY_DEFAULT_ADMIN__PASSWORD", password);
                (user.clone(), password.clone())
            }
            None => ("admin".to_owned(), "password".to_owned()),
        };
        if !options.default_data_dir {
            cmd.env("FERRY_DATA_DIR", &data_dir);
        }
        for (k, v) in &options.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn the ferry binary");
        let (tx, rx) = mpsc::channel();
        let readers = vec![
            pump(child.stderr.take(), "", Arc::clone(&log), tx.clone()),
            pump(child.stdout.take(), "[stdout] ", Arc::clone(&log), tx),
        ];
        let mut server = Server {
            child: Some(child),
            dirs: Some(dirs),
            data_dir,
            sftp_port: 0,
            http_port: 0,
            admin_user,
            admin_password,
            https_ca: options.https_ca.clone(),
            log,
            readers,
            token: Mutex::new(None),
        };
        server.wait_for_listeners(&rx);
        server.wait_healthy();
        server
    }

    /// Reads log lines until both listeners announced their address.
    fn wait_for_listeners(&mut self, rx: &Receiver<String>) {
        let deadline = Instant::now() + START_DEADLINE;
        let (mut sftp, mut http): (Option<SocketAddr>, Option<SocketAddr>) = (None, None);
        loop {
            if let (Some(sftp), Some(http)) = (sftp, http) {
                assert!(sftp.ip().is_loopback() && http.ip().is_loopback());
                self.sftp_port = sftp.port();
                self.http_port = http.port();
                return;
            }
            if Instant::now() > deadline {
                panic!("ferry did not log both `listening` lines within {START_DEADLINE:?}");
            }
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    if let Some((service, addr)) = parse_listening(&line) {
                        match service.as_str() {
                            "sftp" => sftp = Some(addr),
                            "http" => http = Some(addr),
                            _ => {}
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => self.fail_if_exited(),
                Err(RecvTimeoutError::Disconnected) => {
                    self.fail_if_exited();
                    thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    fn fail_if_exited(&mut self) {
        if let Some(child) = self.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            panic!("ferry exited before it was ready: {status}");
        }
    }

    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            let resp = self.call("GET", &self.url("/healthz"), Auth::None, None);
            if resp.status == 200 && resp.body.trim() == "ok" {
                return;
            }
            if Instant::now() > deadline {
                panic!("GET /healthz never answered `ok`; last answer: {resp:?}");
            }
            self.fail_if_exited();
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends SIGTERM, waits up to 15 s, then kills. Returns the exit status.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        self.stop_with("TERM")
    }

    /// Sends `signal` (`TERM`, `INT`) to the server's PID, waits up to 15 s,
    /// then kills it. Returns the exit status.
    pub fn stop_with(&mut self, signal: &str) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
                _ => {
                    let _ = child.kill();
                    break child.wait().ok();
                }
            }
        };
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        status
    }

    /// Everything the server wrote so far (stderr, and stdout lines marked).
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// `http://127.0.0.1:PORT` + `path` (`https://` with [`Options::https_ca`]).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.https_ca.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://127.0.0.1:{}{}", self.http_port, path)
    }

    /// [`http`], trusting this server's CA when it speaks HTTPS.
    pub fn call(&self, method: &str, url: &str, auth: Auth<'_>, body: Option<&str>) -> Response {
        let ca: Vec<String> = match &self.https_ca {
            Some(ca) => vec!["--cacert".into(), ca.display().to_string()],
            None => Vec::new(),
        };
        curl(method, url, auth, body, &ca)
    }

    /// Where Ferry puts `username`'s home by default.
    pub fn home_of(&self, username: &str) -> PathBuf {
        self.data_dir.join("users").join(username)
    }

    /// A fresh admin token (asserts success).
    pub fn new_token(&self) -> String {
        let resp = self.call(
            "GET",
            &self.url("/api/v2/token"),
            Auth::Basic(&self.admin_user, &self.admin_password),
            None,
        );
        assert_eq!(resp.status, 200, "GET /api/v2/token: {resp:?}");
        let token = resp.json()["access_token"].as_str().map(str::to_owned);
        token.unwrap_or_else(|| panic!("no access_token in {resp:?}"))
    }

    /// The admin token this server's helpers use, fetched once.
    pub fn token(&self) -> String {
        let mut cached = self.token.lock().expect("token lock");
        cached.get_or_insert_with(|| self.new_token()).clone()
    }

    /// The Ferry process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A `/proc/<pid>/status` figure of the Ferry process, in bytes
    /// (`VmRSS:`, `VmHWM:`).
    pub fn memory(&self, field: &str) -> u64 {
        let pid = self.pid().expect("ferry is running");
        let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("read its status");
        let line = status
            .lines()
            .find(|l| l.starts_with(field))
            .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
        let kib: u64 = line[field.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .expect("a number of kB");
        kib * 1024
    }

    /// An authenticated REST call with the cached admin token.
    pub fn api(&self, method: &str, path: &str, body: Option<&Value>) -> Response {
        let token = self.token();
        let body = body.map(Value::to_string);
        self.call(
            method,
            &self.url(path),
            Auth::Bearer(&token),
            body.as_deref(),
        )
    }

    /// Creates a user from a JSON object; asserts 201 and returns the answer.
    pub fn create_user(&self, user: &Value) -> Value {
        let resp = self.api("POST", "/api/v2/users", Some(user));
        assert_eq!(resp.status, 201, "POST /api/v2/users {user}: {resp:?}");
        resp.json()
    }

    /// Reads a user; asserts 200.
    pub fn get_user(&self, username: &str) -> Value {
        let resp = self.api("GET", &format!("/api/v2/users/{username}"), None);
        assert_eq!(resp.status, 200, "GET user {username}: {resp:?}");
        resp.json()
    }

    /// Reads a user, lets `change` edit it and PUTs it back; asserts 200.
    pub fn update_user(&self, username: &str, change: impl FnOnce(&mut Value)) {
        let mut user = self.get_user(username);
        change(&mut user);
        let resp = self.api("PUT", &format!("/api/v2/users/{username}"), Some(&user));
        assert_eq!(resp.status, 200, "PUT user {username} {user}: {resp:?}");
    }

    /// Logs `username` in once (so Ferry creates the home) and returns the
    /// home's path on disk.
    pub fn first_login(&self, username: &str, cred: Cred<'_>) -> PathBuf {
        let scratch = scratch_dir();
        sftp(self, username, cred, scratch.path(), "pwd\n").assert_ok("first login");
        let home = self.home_of(username);
        assert!(home.is_dir(), "home {} missing after login", home.display());
        home
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        if thread::panicking() {
            eprintln!(
                "----- ferry log -----\n{}----- end of log -----",
                self.log()
            );
        }
    }
}

/// Removes every inherited `FERRY_*` variable so the caller's shell cannot
/// change what a test configures.
pub fn clear_ferry_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("FERRY_") {
            cmd.env_remove(key);
        }
    }
}

/// Reads `stream` line by line into `log` (prefixing each line) and forwards
/// the lines, so the child never blocks on a full pipe.
fn pump<R: Read + Send + 'static>(
    stream: Option<R>,
    prefix: &'static str,
    log: Arc<Mutex<String>>,
    tx: Sender<String>,
) -> JoinHandle<()> {
    thread::spawn(move || {
        let Some(stream) = stream else { return };
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        while matches!(reader.read_until(b'\n', &mut buf), Ok(n) if n > 0) {
            let line = String::from_utf8_lossy(&buf).into_owned();
            if let Ok(mut log) = log.lock() {
                log.push_str(prefix);
                log.push_str(&line);
            }
            let _ = tx.send(line);
            buf.clear();
        }
    })
}

/// Removes ANSI escape sequences (`ESC [ ... letter`).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `Some((service, address))` for a listener's `listening` line.
pub fn parse_listening(line: &str) -> Option<(String, SocketAddr)> {
    let line = strip_ansi(line);
    if !line.contains("listening") {
        return None;
    }
    let service = field(&line, "service=")?;
    let addr = field(&line, "address=")?.parse().ok()?;
    Some((service, addr))
}

/// The value after `key` up to whitespace, without surrounding quotes.
fn field(line: &str, key: &str) -> Option<String> {
    let start = line.find(key)? + key.len();
    let value = line[start..].split_whitespace().next()?;
    Some(value.trim_matches(|c| c == '"' || c == '\'').to_owned())
}

/// Generates (once per directory) an ed25519 host key; returns its path.
pub fn host_key(dir: &Path) -> PathBuf {
    let path = dir.join("host_ed25519");
    if !path.exists() {
        keygen(&path);
    }
    path
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "ferry-test", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("run ssh-keygen (install openssh-client)");
    assert!(status.success(), "ssh-keygen failed for {}", path.display());
}

/// A client key pair in its own temporary directory.
pub struct KeyPair {
    _dir: TempDir,
    /// The private key file, for `sftp -i`.
    pub private: PathBuf,
    /// The `authorized_keys` line, for the user's `public_keys`.
    pub public_line: String,
}

impl KeyPair {
    pub fn generate() -> KeyPair {
        let dir = scratch_dir();
        let private = dir.path().join("id_ed25519");
        keygen(&private);
        let public_line = fs::read_to_string(dir.path().join("id_ed25519.pub"))
            .expect("read the public key")
            .trim()
            .to_owned();
        KeyPair {
            _dir: dir,
            private,
            public_line,
        }
    }
}

/// A new temporary directory for a test's local files.
pub fn scratch_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("ferry-e2e-local-")
        .tempdir()
        .expect("create a scratch directory")
}

// ---------------------------------------------------------------- HTTP

/// Credentials for one HTTP call.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
    Bearer(&'a str),
    /// A raw `Authorization` header value.
    Header(&'a str),
}

/// An HTTP answer; `status` 0 means curl could not connect.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

impl Response {
    /// The body as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {self:?}"))
    }

    /// Asserts `status` and an SFTPGo error body `{"message", "error"}`.
    pub fn assert_error(&self, status: u16, what: &str) {
        assert_eq!(self.status, status, "{what}: {self:?}");
        let body = self.json();
        assert!(
            body.get("message").is_some_and(Value::is_string)
                && body.get("error").is_some_and(Value::is_string),
            "{what}: the error body lacks string `message` and `error`: {self:?}"
        );
    }
}

/// One HTTP call with `curl`, as a user would make it.
pub fn http(method: &str, url: &str, auth: Auth<'_>, body: Option<&str>) -> Response {
    curl(method, url, auth, body, &[])
}

/// [`http`] with `extra` curl options (`--cacert`, `--http2`, ...).
pub fn curl(
    method: &str,
    url: &str,
    auth: Auth<'_>,
    body: Option<&str>,
    extra: &[String],
) -> Response {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--noproxy", "*", "--max-time", "30"])
        .args(["-w", "\n%{http_code}", "-X", method])
        .args(extra);
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
        stdin
            .write_all(body.unwrap_or("").as_bytes())
            .expect("write the request body to curl");
    }
    let out = child.wait_with_output().expect("wait for curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
    Response {
        status: code.trim().parse().unwrap_or(0),
        body: body.to_owned(),
    }
}

/// A user object in SFTPGo's shape: enabled, with the given permissions.
pub fn user_json(
    username: &str,
    password: Option<&str>,
    public_keys: &[&str],
    permissions: Value,
) -> Value {
    let mut user = json!({
        "username": username,
        "status": 1,
        "public_keys": public_keys,
        "permissions": permissions,
    });
    if let Some(password) = password {
        user["password"] = json!(password);
    }
    user
}

/// Full permissions: `{"/": ["*"]}`.
pub fn all_perms() -> Value {
    json!({"/": ["*"]})
}

// ---------------------------------------------------------------- SFTP

/// How an SFTP client proves who it is.
#[derive(Debug, Clone, Copy)]
pub enum Cred<'a> {
    Key(&'a Path),
    Password(&'a str),
}

/// What one `sftp -b` run did.
#[derive(Debug, Clone)]
pub struct SftpOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl SftpOutput {
    /// Asserts the whole batch succeeded.
    pub fn assert_ok(&self, what: &str) -> &Self {
        assert!(self.success, "{what}: sftp failed\n{}", self.describe());
        self
    }

    /// Asserts the batch stopped with an error at its last command, `command`
    /// (so every earlier command of the batch succeeded).
    pub fn assert_failed_at(&self, command: &str) -> &Self {
        assert!(
            !self.success,
            "`{command}` was expected to fail but the batch succeeded\n{}",
            self.describe()
        );
        let last = self
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("sftp> "))
            .next_back();
        assert_eq!(
            last.map(str::trim),
            Some(command.trim()),
            "the batch did not stop at `{command}`\n{}",
            self.describe()
        );
        self
    }

    /// Asserts the last command failed with `Permission denied`.
    pub fn assert_denied_at(&self, command: &str) -> &Self {
        self.assert_failed_at(command);
        assert!(
            self.stderr.contains("Permission denied"),
            "`{command}` failed, but not with \"Permission denied\"\n{}",
            self.describe()
        );
        self
    }

    /// Asserts the login itself was refused.
    pub fn assert_login_refused(&self, what: &str) -> &Self {
        assert!(
            !self.success,
            "{what}: login succeeded\n{}",
            self.describe()
        );
        assert!(
            !self.stdout.contains("sftp> "),
            "{what}: a command ran, so the login was accepted\n{}",
            self.describe()
        );
        self
    }

    pub fn describe(&self) -> String {
        format!(
            "--- sftp stdout ---\n{}\n--- sftp stderr ---\n{}\n--- ({:?}, success {})",
            self.stdout, self.stderr, self.elapsed, self.success
        )
    }
}

/// Runs `batch` with `sftp -b` as `user`, in local directory `cwd`.
pub fn sftp(server: &Server, user: &str, cred: Cred<'_>, cwd: &Path, batch: &str) -> SftpOutput {
    sftp_with(server, user, cred, cwd, batch, &[], SFTP_TIMEOUT)
}

/// [`sftp`] with extra `sftp` options (placed before `-b`) and a timeout
/// after which the client is killed and the test fails.
pub fn sftp_with(
    server: &Server,
    user: &str,
    cred: Cred<'_>,
    cwd: &Path,
    batch: &str,
    extra: &[&str],
    timeout: Duration,
) -> SftpOutput {
    let scratch = scratch_dir();
    let batch_file = scratch.path().join("batch");
    fs::write(&batch_file, batch).expect("write the batch file");
    let mut cmd = Command::new("sftp");
    cmd.args(["-F", "/dev/null"])
        .args(ssh_options())
        .args(["-P", &server.sftp_port.to_string()])
        .args(extra);
    match cred {
        Cred::Key(key) => {
            cmd.args([
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "PasswordAuthentication=no",
            ])
            .args(["-o", "KbdInteractiveAuthentication=no"])
            .args(["-o", "PreferredAuthentications=publickey", "-i"])
            .arg(key);
        }
        Cred::Password(password) => {
            cmd.args(["-o", "BatchMode=no", "-o", "PubkeyAuthentication=no"])
                .args(["-o", "PreferredAuthentications=password"])
                .args(["-o", "NumberOfPasswordPrompts=1"])
                .env("SSH_ASKPASS", askpass())
                .env("SSH_ASKPASS_REQUIRE", "force")
                .env("DISPLAY", ":0")
                .env("FERRY_TEST_PASSWORD", password);
        }
    }
    cmd.arg("-b")
        .arg(&batch_file)
        .arg(format!("{user}@127.0.0.1"));
    run_with_timeout(cmd, cwd, scratch.path(), timeout)
}

/// Runs OpenSSH's `scp` with `args` (paths, flags) as a key user, in `cwd`;
/// remote paths are written `REMOTE:path` and become `user@127.0.0.1:path`.
pub fn scp(server: &Server, user: &str, key: &Path, cwd: &Path, args: &[&str]) -> SftpOutput {
    let scratch = scratch_dir();
    let remote = format!("{user}@127.0.0.1:");
    let mut cmd = Command::new("scp");
    cmd.args(["-F", "/dev/null", "-B"])
        .args(ssh_options())
        .args(["-P", &server.sftp_port.to_string()])
        .args(["-o", "IdentitiesOnly=yes", "-i"])
        .arg(key)
        .args(args.iter().map(|a| a.replace("REMOTE:", &remote)));
    run_with_timeout(cmd, cwd, scratch.path(), SFTP_TIMEOUT)
}

pub fn ssh_options() -> Vec<&'static str> {
    [
        "StrictHostKeyChecking=no",
        "UserKnownHostsFile=/dev/null",
        "GlobalKnownHostsFile=/dev/null",
        "UpdateHostKeys=no",
        "LogLevel=ERROR",
        "ConnectTimeout=30",
    ]
    .iter()
    .flat_map(|o| ["-o", o])
    .collect()
}

fn run_with_timeout(mut cmd: Command, cwd: &Path, scratch: &Path, timeout: Duration) -> SftpOutput {
    let out_path = scratch.join("stdout");
    let err_path = scratch.join("stderr");
    let out = fs::File::create(&out_path).expect("create stdout file");
    let err = fs::File::create(&err_path).expect("create stderr file");
    cmd.current_dir(cwd)
        .env_remove("SSH_AUTH_SOCK")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    let started = Instant::now();
    let mut child = cmd.spawn().expect("run sftp (install openssh-client)");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for sftp") {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "sftp did not finish within {timeout:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                fs::read_to_string(&out_path).unwrap_or_default(),
                fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    SftpOutput {
        success: status.success(),
        stdout: String::from_utf8_lossy(&fs::read(&out_path).unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&fs::read(&err_path).unwrap_or_default()).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// A script for `SSH_ASKPASS` that prints `$FERRY_TEST_PASSWORD`. It is
/// written once per build directory and renamed into place, never rewritten,
/// so no process ever executes it while it is open for writing.
fn askpass() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("ferry-test-askpass.sh");
    if path.exists() {
        return path;
    }
    fs::create_dir_all(&dir).expect("create CARGO_TARGET_TMPDIR");
    let tmp = dir.join(format!(
        "askpass-{}-{:?}.tmp",
        std::process::id(),
        thread::current().id()
    ));
    fs::write(&tmp, "#!/bin/sh\nprintf '%s\\n' \"$FERRY_TEST_PASSWORD\"\n").expect("write askpass");
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755)).expect("chmod askpass");
    fs::rename(&tmp, &path).expect("install askpass");
    path
}

// ---------------------------------------------------------------- files

/// Writes `len` pseudo-random bytes (xorshift, seeded) to `path`.
pub fn write_random_file(path: &Path, len: usize, seed: u64) {
    let mut file = fs::File::create(path).expect("create a random file");
    let mut state = seed | 1;
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for word in chunk.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let bytes = state.to_le_bytes();
            word.copy_from_slice(&bytes[..word.len()]);
        }
        let n = left.min(chunk.len());
        file.write_all(&chunk[..n]).expect("write a random file");
        left -= n;
    }
}

/// Asserts two files hold the same bytes, reading both in chunks.
pub fn assert_same_file(a: &Path, b: &Path) {
    let (ma, mb) = (meta(a), meta(b));
    assert_eq!(
        ma.len(),
        mb.len(),
        "sizes differ: {} vs {}",
        a.display(),
        b.display()
    );
    let mut ra = BufReader::new(fs::File::open(a).expect("open a"));
    let mut rb = BufReader::new(fs::File::open(b).expect("open b"));
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    let mut offset = 0usize;
    loop {
        let n = read_full(&mut ra, &mut ba);
        let m = read_full(&mut rb, &mut bb);
        assert_eq!(
            n,
            m,
            "lengths differ at {offset}: {} vs {}",
            a.display(),
            b.display()
        );
        if n == 0 {
            return;
        }
        if ba[..n] != bb[..n] {
            let at = ba[..n].iter().zip(&bb[..n]).position(|(x, y)| x != y);
            panic!(
                "{} and {} differ at byte {}",
                a.display(),
                b.display(),
                offset + at.unwrap_or(0)
            );
        }
        offset += n;
    }
}

fn meta(p: &Path) -> fs::Metadata {
    fs::metadata(p).unwrap_or_else(|e| panic!("stat {}: {e}", p.display()))
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    filled
}

/// One entry of a directory tree, for comparing trees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir,
    File(u64),
    Symlink(PathBuf),
}

/// Every entry below `root`, by relative path (symlinks not followed).
pub fn tree(root: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let rel = path.strip_prefix(root).expect("below root").to_path_buf();
        let ft = fs::symlink_metadata(&path).expect("lstat").file_type();
        if ft.is_symlink() {
            out.insert(rel, Entry::Symlink(fs::read_link(&path).expect("readlink")));
        } else if ft.is_dir() {
            out.insert(rel, Entry::Dir);
            walk(root, &path, out);
        } else {
            out.insert(rel, Entry::File(meta(&path).len()));
        }
    }
}

/// Asserts two trees have the same entries and every file the same bytes.
pub fn assert_same_tree(a: &Path, b: &Path) {
    let (ta, tb) = (tree(a), tree(b));
    assert_eq!(ta, tb, "trees differ: {} vs {}", a.display(), b.display());
    for (rel, entry) in &ta {
        if let Entry::File(_) = entry {
            assert_same_file(&a.join(rel), &b.join(rel));
        }
    }
}

/// The permission bits of `path`.
pub fn mode_of(path: &Path) -> u32 {
    meta(path).permissions().mode() & 0o7777
}

/// The SHA-256 of a local file, in hex, by `sha256sum`.
pub fn sha256_of(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("run sha256sum");
    assert!(out.status.success(), "sha256sum {}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}
