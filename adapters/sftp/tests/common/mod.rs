//! Test support: a fake `Login` and a `FileSession` over a temporary
//! directory (plain std::fs, test-only), a server on 127.0.0.1:0, and
//! OpenSSH's `sftp`/`ssh` driven with a deadline.

#![allow(dead_code)]

use async_trait::async_trait;
use bytes::Bytes;
use ferry_domain::{Error, Result};
use ferry_ports::{
    ClientInfo, DirEntry, DirStream, FileHandle, FileKind, FileSession, Login, Metadata,
    OpenOptions, SetAttributes, SshKey, StatVfs,
};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub const USER: &str = "alice";
pub const PASSWORD: &str = "correct horse";

/// What the fakes saw, for assertions.
#[derive(Default)]
pub struct Record {
    pub client_versions: Mutex<Vec<String>>,
    pub sessions_ended: AtomicUsize,
    pub handles_closed: AtomicUsize,
    pub handles_dropped_unclosed: AtomicUsize,
    /// File bytes handed out by `read_at`, all handles together.
    pub bytes_read: AtomicUsize,
}

pub struct FakeLogin {
    root: PathBuf,
    key: SshKey,
    pub record: Arc<Record>,
}

impl FakeLogin {
    fn session(&self, client: &ClientInfo) -> Arc<dyn FileSession> {
        self.record
            .client_versions
            .lock()
            .unwrap()
            .push(client.client_version.clone());
        Arc::new(DiskSession {
            root: self.root.clone(),
            record: self.record.clone(),
        })
    }
}

#[async_trait]
impl Login for FakeLogin {
    async fn login_password(
        &self,
        username: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<Arc<dyn FileSession>> {
        if username == USER && password == PASSWORD {
            return Ok(self.session(client));
        }
        Err(Error::not_authenticated("authentication failed"))
    }

    async fn accepts_public_key(&self, username: &str, key: &SshKey, _: &ClientInfo) -> bool {
        username == USER && *key == self.key
    }

    async fn login_public_key(
        &self,
        username: &str,
        key: &SshKey,
        client: &ClientInfo,
    ) -> Result<Arc<dyn FileSession>> {
        if username == USER && *key == self.key {
            return Ok(self.session(client));
        }
        Err(Error::not_authenticated("authentication failed"))
    }
}

/// A user's files in a directory. Paths are normalised and kept inside the
/// root; `/forbidden` and everything below it are refused.
pub struct DiskSession {
    root: PathBuf,
    record: Arc<Record>,
}

fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

fn io_error(e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::NotFound => Error::not_found("no such file or directory"),
        io::ErrorKind::PermissionDenied => Error::permission_denied("permission denied"),
        io::ErrorKind::AlreadyExists => Error::conflict("file exists"),
        io::ErrorKind::DirectoryNotEmpty => Error::conflict("directory not empty"),
        io::ErrorKind::IsADirectory | io::ErrorKind::NotADirectory => {
            Error::invalid("wrong kind of file")
        }
        _ => Error::internal(e),
    }
}

fn metadata(meta: &fs::Metadata) -> Metadata {
    let kind = if meta.file_type().is_symlink() {
        FileKind::Symlink
    } else if meta.is_dir() {
        FileKind::Dir
    } else if meta.is_file() {
        FileKind::File
    } else {
        FileKind::Other
    };
    Metadata {
        kind,
        size: meta.len(),
        permissions: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        atime: meta.atime().max(0) as u64,
        mtime: meta.mtime().max(0) as u64,
    }
}

impl DiskSession {
    fn real(&self, path: &str) -> Result<PathBuf> {
        let virtual_path = normalise(path);
        if virtual_path == "/forbidden" || virtual_path.starts_with("/forbidden/") {
            return Err(Error::permission_denied("access to /forbidden is denied"));
        }
        Ok(self.root.join(virtual_path.trim_start_matches('/')))
    }
}

fn apply_attributes(path: &Path, attrs: &SetAttributes) -> io::Result<()> {
    if let Some(size) = attrs.size {
        fs::OpenOptions::new()
            .write(true)
            .open(path)?
            .set_len(size)?;
    }
    if let Some(mode) = attrs.permissions {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    if let Some((atime, mtime)) = attrs.times {
        let times = fs::FileTimes::new()
            .set_accessed(UNIX_EPOCH + Duration::from_secs(atime))
            .set_modified(UNIX_EPOCH + Duration::from_secs(mtime));
        fs::File::open(path)?.set_times(times)?;
    }
    Ok(())
}

#[async_trait]
impl FileSession for DiskSession {
    fn username(&self) -> &str {
        USER
    }

    fn realpath(&self, path: &str) -> Result<String> {
        Ok(normalise(path))
    }

    async fn stat(&self, path: &str) -> Result<Metadata> {
        Ok(metadata(&fs::metadata(self.real(path)?).map_err(io_error)?))
    }

    async fn lstat(&self, path: &str) -> Result<Metadata> {
        Ok(metadata(
            &fs::symlink_metadata(self.real(path)?).map_err(io_error)?,
        ))
    }

    async fn open(&self, path: &str, options: OpenOptions) -> Result<Arc<dyn FileHandle>> {
        let real = self.real(path)?;
        if options.write && real.is_dir() {
            return Err(Error::invalid("is a directory"));
        }
        let mut open = fs::OpenOptions::new();
        open.read(options.read)
            .write(options.write || options.append)
            .append(options.append)
            .truncate(options.truncate);
        if options.create && options.exclusive {
            open.create_new(true);
        } else {
            open.create(options.create);
        }
        let file = open.open(&real).map_err(io_error)?;
        Ok(Arc::new(DiskFile {
            file,
            append: options.append,
            closed: std::sync::atomic::AtomicBool::new(false),
            record: self.record.clone(),
        }))
    }

    async fn read_dir(&self, path: &str) -> Result<DirStream> {
        let real = self.real(path)?;
        let mut entries = Vec::new();
        for entry in fs::read_dir(real).map_err(io_error)? {
            let entry = entry.map_err(io_error)?;
            let meta = entry.path().symlink_metadata().map_err(io_error)?;
            entries.push(Ok(DirEntry {
                name: entry.file_name().to_string_lossy().into_owned(),
                metadata: metadata(&meta),
            }));
        }
        Ok(Box::pin(futures::stream::iter(entries)))
    }

    async fn mkdir(&self, path: &str, permissions: Option<u32>) -> Result<()> {
        let real = self.real(path)?;
        fs::create_dir(&real).map_err(io_error)?;
        if let Some(mode) = permissions {
            fs::set_permissions(real, fs::Permissions::from_mode(mode)).map_err(io_error)?;
        }
        Ok(())
    }

    async fn rmdir(&self, path: &str) -> Result<()> {
        fs::remove_dir(self.real(path)?).map_err(io_error)
    }

    async fn remove(&self, path: &str) -> Result<()> {
        fs::remove_file(self.real(path)?).map_err(io_error)
    }

    async fn rename(&self, from: &str, to: &str, replace: bool) -> Result<()> {
        let (from, to) = (self.real(from)?, self.real(to)?);
        if !replace && to.symlink_metadata().is_ok() {
            return Err(Error::conflict("the target exists"));
        }
        fs::rename(from, to).map_err(io_error)
    }

    async fn symlink(&self, target: &str, link: &str) -> Result<()> {
        std::os::unix::fs::symlink(target, self.real(link)?).map_err(io_error)
    }

    async fn readlink(&self, path: &str) -> Result<String> {
        let target = fs::read_link(self.real(path)?).map_err(io_error)?;
        Ok(target.to_string_lossy().into_owned())
    }

    async fn set_attributes(&self, path: &str, attributes: &SetAttributes) -> Result<()> {
        apply_attributes(&self.real(path)?, attributes).map_err(io_error)
    }

    async fn statvfs(&self, _path: &str) -> Result<StatVfs> {
        Ok(StatVfs {
            block_size: 4096,
            fragment_size: 4096,
            blocks: 1_000_000,
            blocks_free: 500_000,
            blocks_available: 400_000,
            files: 1000,
            files_free: 900,
            files_available: 800,
            fs_id: 7,
            flags: 0,
            name_max: 255,
        })
    }

    async fn end(&self) {
        self.record.sessions_ended.fetch_add(1, Ordering::SeqCst);
    }
}

struct DiskFile {
    file: fs::File,
    append: bool,
    closed: std::sync::atomic::AtomicBool,
    record: Arc<Record>,
}

impl Drop for DiskFile {
    fn drop(&mut self) {
        if !self.closed.load(Ordering::SeqCst) {
            self.record
                .handles_dropped_unclosed
                .fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[async_trait]
impl FileHandle for DiskFile {
    async fn read_at(&self, offset: u64, len: usize) -> Result<Bytes> {
        let mut buf = vec![0; len];
        let mut filled = 0;
        while filled < len {
            let n = self
                .file
                .read_at(&mut buf[filled..], offset + filled as u64)
                .map_err(io_error)?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        buf.truncate(filled);
        self.record.bytes_read.fetch_add(filled, Ordering::SeqCst);
        Ok(Bytes::from(buf))
    }

    async fn write_at(&self, offset: u64, data: Bytes) -> Result<()> {
        if self.append {
            return (&self.file).write_all(&data).map_err(io_error);
        }
        self.file.write_all_at(&data, offset).map_err(io_error)
    }

    async fn metadata(&self) -> Result<Metadata> {
        Ok(metadata(&self.file.metadata().map_err(io_error)?))
    }

    async fn set_attributes(&self, attributes: &SetAttributes) -> Result<()> {
        if let Some(size) = attributes.size {
            self.file.set_len(size).map_err(io_error)?;
        }
        if let Some(mode) = attributes.permissions {
            let perms = fs::Permissions::from_mode(mode);
            self.file.set_permissions(perms).map_err(io_error)?;
        }
        if let Some((atime, mtime)) = attributes.times {
            let times = fs::FileTimes::new()
                .set_accessed(UNIX_EPOCH + Duration::from_secs(atime))
                .set_modified(UNIX_EPOCH + Duration::from_secs(mtime));
            self.file.set_times(times).map_err(io_error)?;
        }
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        self.closed.store(true, Ordering::SeqCst);
        self.record.handles_closed.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A running server and the client's key material.
pub struct TestServer {
    pub port: u16,
    /// The user's home as stored on disk.
    pub home: TempDir,
    /// Client key, batch files and local copies.
    pub work: TempDir,
    pub record: Arc<Record>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<io::Result<()>>>,
}

fn keygen(path: &Path) {
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen failed");
}

fn read_public_key(path: &Path) -> SshKey {
    let text = fs::read_to_string(path.with_extension("pub")).expect("public key");
    let mut parts = text.split_whitespace();
    SshKey {
        algorithm: parts.next().unwrap().to_owned(),
        blob_base64: parts.next().unwrap().to_owned(),
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server whose settings `adjust` may change.
    pub async fn start_with(adjust: impl FnOnce(&mut ferry_sftp::SftpSettings)) -> Self {
        // RUST_LOG=ferry_sftp=debug shows the server's side of a failing test.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let home = tempfile::tempdir().unwrap();
        let work = tempfile::tempdir().unwrap();
        keygen(&work.path().join("id"));
        keygen(&work.path().join("host"));
        let host_keys = ferry_sftp::host_keys::load(&[work.path().join("host")]).unwrap();
        let record = Arc::new(Record::default());
        let login = Arc::new(FakeLogin {
            root: home.path().to_owned(),
            key: read_public_key(&work.path().join("id")),
            record: record.clone(),
        });
        let mut settings = ferry_sftp::SftpSettings::new(host_keys);
        settings.auth_rejection_time = Duration::from_millis(100);
        adjust(&mut settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(ferry_sftp::serve(listener, login, settings, shutdown));
        Self {
            port,
            home,
            work,
            record,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server and waits for it to return.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let result = tokio::time::timeout(Duration::from_secs(20), task).await;
            result
                .expect("server stops")
                .expect("task")
                .expect("serve ok");
        }
    }

    pub fn local(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    pub fn remote(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    fn common_options(&self) -> Vec<String> {
        let key = self.work.path().join("id");
        [
            "-F",
            "/dev/null",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "LogLevel=ERROR",
            "-i",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([key.display().to_string()])
        .collect()
    }

    /// Runs `sftp -b` with `batch` and extra options, killed after `limit`.
    pub async fn sftp(&self, batch: &str, extra: &[&str], limit: Duration) -> Output {
        let batch_path = self.work.path().join("batch");
        fs::write(&batch_path, batch).unwrap();
        let mut cmd = tokio::process::Command::new("sftp");
        cmd.arg("-b").arg(&batch_path);
        cmd.args(self.common_options());
        cmd.args(extra);
        cmd.args(["-P", &self.port.to_string(), &format!("{USER}@127.0.0.1")]);
        cmd.current_dir(self.work.path());
        run(cmd, limit).await
    }

    /// Runs `ssh` with `args` after the connection options.
    pub fn ssh_command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("ssh");
        cmd.args(self.common_options());
        cmd.args(["-o", "BatchMode=yes", "-p", &self.port.to_string()]);
        cmd.args(args);
        cmd
    }
}

/// Runs a command with piped output; kills it if it outlives `limit`.
pub async fn run(mut cmd: tokio::process::Command, limit: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().expect("client starts");
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(output) => output.expect("client output"),
        Err(_) => panic!("client did not finish within {limit:?}"),
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Deterministic pseudo-random bytes (xorshift), cheap to make in bulk.
pub fn random_file(path: &Path, len: usize, seed: u64) {
    let mut state = seed | 1;
    let mut out = io::BufWriter::new(fs::File::create(path).unwrap());
    let mut block = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for chunk in block.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let bytes = state.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        let n = left.min(block.len());
        out.write_all(&block[..n]).unwrap();
        left -= n;
    }
    out.flush().unwrap();
}

/// True when both files hold the same bytes.
pub fn same_contents(a: &Path, b: &Path) -> bool {
    use std::io::Read;
    let (mut fa, mut fb) = (fs::File::open(a).unwrap(), fs::File::open(b).unwrap());
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let na = read_full(&mut fa, &mut ba);
        let nb = read_full(&mut fb, &mut bb);
        if na != nb || ba[..na] != bb[..nb] {
            return false;
        }
        if na == 0 {
            return true;
        }
    }

    fn read_full(f: &mut fs::File, buf: &mut [u8]) -> usize {
        let mut filled = 0;
        while filled < buf.len() {
            match f.read(&mut buf[filled..]).unwrap() {
                0 => break,
                n => filled += n,
            }
        }
        filled
    }
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A raw SFTP conversation over `ssh -s ... sftp`: the test writes packets
/// and reads replies itself.
pub struct RawSftp {
    child: tokio::process::Child,
    stdin: Option<tokio::process::ChildStdin>,
    stdout: tokio::process::ChildStdout,
}

/// SFTP packet kinds and status codes the raw tests use.
pub mod fxp {
    pub const INIT: u8 = 1;
    pub const VERSION: u8 = 2;
    pub const OPEN: u8 = 3;
    pub const CLOSE: u8 = 4;
    pub const READ: u8 = 5;
    pub const WRITE: u8 = 6;
    pub const OPENDIR: u8 = 11;
    pub const READDIR: u8 = 12;
    pub const STAT: u8 = 17;
    pub const RENAME: u8 = 18;
    pub const READLINK: u8 = 19;
    pub const SYMLINK: u8 = 20;
    pub const STATUS: u8 = 101;
    pub const HANDLE: u8 = 102;
    pub const DATA: u8 = 103;
    pub const NAME: u8 = 104;
    pub const ATTRS: u8 = 105;
    pub const EXTENDED: u8 = 200;
    pub const EXTENDED_REPLY: u8 = 201;

    pub const OK: u32 = 0;
    pub const EOF: u32 = 1;
    pub const NO_SUCH_FILE: u32 = 2;
    pub const PERMISSION_DENIED: u32 = 3;
    pub const FAILURE: u32 = 4;
    pub const BAD_MESSAGE: u32 = 5;
    pub const OP_UNSUPPORTED: u32 = 8;

    pub const READ_FLAG: u32 = 1;
    pub const WRITE_FLAG: u32 = 2;
    pub const CREATE_FLAG: u32 = 8;
    pub const TRUNCATE_FLAG: u32 = 0x10;
}

/// Builds a packet body (type byte onward).
pub struct Packet(Vec<u8>);

impl Packet {
    pub fn new(kind: u8) -> Self {
        Self(vec![kind])
    }
    pub fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn str(mut self, s: impl AsRef<[u8]>) -> Self {
        let s = s.as_ref();
        self = self.u32(s.len() as u32);
        self.0.extend_from_slice(s);
        self
    }
    pub fn body(self) -> Vec<u8> {
        self.0
    }
}

/// Reads fields of a reply.
pub struct Fields<'a>(pub &'a [u8]);

impl Fields<'_> {
    pub fn u8(&mut self) -> u8 {
        let v = self.0[0];
        self.0 = &self.0[1..];
        v
    }
    pub fn u32(&mut self) -> u32 {
        let v = u32::from_be_bytes(self.0[..4].try_into().unwrap());
        self.0 = &self.0[4..];
        v
    }
    pub fn u64(&mut self) -> u64 {
        let v = u64::from_be_bytes(self.0[..8].try_into().unwrap());
        self.0 = &self.0[8..];
        v
    }
    pub fn bytes(&mut self) -> Vec<u8> {
        let len = self.u32() as usize;
        let v = self.0[..len].to_vec();
        self.0 = &self.0[len..];
        v
    }
    pub fn string(&mut self) -> String {
        String::from_utf8(self.bytes()).unwrap()
    }
}

/// A packet body with its length in front, as it goes on the wire.
pub fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// A STATUS reply: id, code, message.
pub fn status(reply: &[u8]) -> (u32, u32, String) {
    let mut f = Fields(reply);
    assert_eq!(f.u8(), fxp::STATUS, "expected a status, got {reply:?}");
    (f.u32(), f.u32(), f.string())
}

impl RawSftp {
    /// Connects and exchanges INIT/VERSION; returns the announced extensions.
    pub async fn connect(server: &TestServer) -> (Self, Vec<(String, String)>) {
        let mut raw = Self::connect_uninitialised(server).await;
        raw.send(&Packet::new(fxp::INIT).u32(3).body()).await;
        let version = raw.recv().await.expect("a VERSION reply");
        let mut f = Fields(&version);
        assert_eq!(f.u8(), fxp::VERSION);
        assert_eq!(f.u32(), 3);
        let mut extensions = Vec::new();
        while !f.0.is_empty() {
            extensions.push((f.string(), f.string()));
        }
        (raw, extensions)
    }

    /// Opens the `sftp` subsystem and sends nothing yet.
    pub async fn connect_uninitialised(server: &TestServer) -> Self {
        let mut cmd = server.ssh_command(&["-s", &format!("{USER}@127.0.0.1"), "sftp"]);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("ssh starts");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        Self {
            child,
            stdin,
            stdout,
        }
    }

    /// Sends one packet, framed with its length.
    pub async fn send(&mut self, body: &[u8]) {
        self.send_raw(&framed(body)).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).await.expect("write to ssh");
        stdin.flush().await.expect("flush to ssh");
    }

    /// The next reply body, or `None` once the server closed the session.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        use tokio::io::AsyncReadExt;
        let read = async {
            let mut len = [0u8; 4];
            self.stdout.read_exact(&mut len).await.ok()?;
            let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
            self.stdout.read_exact(&mut body).await.ok()?;
            Some(body)
        };
        tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .expect("a reply within 30 s")
    }

    /// Sends a request and returns its reply.
    pub async fn call(&mut self, body: &[u8]) -> Vec<u8> {
        self.send(body).await;
        self.recv().await.expect("a reply")
    }

    /// Opens `path` and returns the handle.
    pub async fn open(&mut self, id: u32, path: &str, flags: u32) -> Vec<u8> {
        let open = Packet::new(fxp::OPEN).u32(id).str(path).u32(flags).u32(0);
        let reply = self.call(&open.body()).await;
        let mut f = Fields(&reply);
        assert_eq!(
            f.u8(),
            fxp::HANDLE,
            "open {path} failed: {:?}",
            status(&reply)
        );
        assert_eq!(f.u32(), id);
        f.bytes()
    }

    /// Ends the client abruptly: the server sees the connection drop.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }

    /// Closes stdin (channel EOF), reads what the server still sends until
    /// it closes the channel, and returns those replies with the client's
    /// exit code (the server's exit status).
    pub async fn drain_after_eof(mut self) -> (Vec<Vec<u8>>, Option<i32>) {
        self.stdin.take();
        let mut replies = Vec::new();
        while let Some(reply) = self.recv().await {
            replies.push(reply);
        }
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("ssh exits")
            .expect("ssh's status");
        (replies, status.code())
    }

    /// Closes stdin (channel EOF) and waits for the client to exit.
    pub async fn finish(mut self) {
        self.stdin.take();
        let _ = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("ssh exits");
    }
}

/// Polls `check` until it holds, for up to ten seconds.
pub async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}
