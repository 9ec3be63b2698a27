//! One user's file session: every client path is normalised, located in the
//! home or in the virtual folder mounted there, checked against the user's
//! permissions for the virtual directory it touches, then handed to the
//! storage that owns it, each storage its own jail.

use super::connections::{LiveTransfer, Registration};
use super::moving::move_across;
use super::storages::{Located, Storages};
use async_trait::async_trait;
use bytes::Bytes;
use ferry_domain::{Error, ErrorKind, Permission, Result, User, VirtualPath};
use ferry_ports::{
    Capabilities, DirStream, FileHandle, FileKind, FileSession, Metadata, OpenOptions,
    SetAttributes, StatVfs, SystemClock, TransferKind,
};
use futures::StreamExt;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// A logged-in user's view of its home and mounted folders. Cheap to clone:
/// open handles keep a copy to judge attribute changes.
#[derive(Clone)]
pub struct UserFileSession {
    user: Arc<User>,
    storages: Storages,
    setstat: SetstatMode,
    /// The session's entry among the live connections; the last clone to
    /// go (the session or a handle it left open) takes it out.
    live: Arc<Registration>,
}

fn denied() -> Error {
    Error::permission_denied("permission denied")
}

impl UserFileSession {
    /// A session listed among no live connections.
    pub fn new(user: User, storages: Storages) -> Self {
        let live = Registration::detached(user.username.as_str(), Arc::new(SystemClock));
        Self::registered(user, storages, live)
    }

    /// A session shown as the live connection `live`.
    pub fn registered(user: User, storages: Storages, live: Registration) -> Self {
        Self {
            user: Arc::new(user),
            storages,
            setstat: SetstatMode::default(),
            live: Arc::new(live),
        }
    }

    /// The same session, handling attribute changes as `mode` says.
    pub fn with_setstat_mode(mut self, mode: SetstatMode) -> Self {
        self.setstat = mode;
        self
    }

    fn touch(&self) {
        self.live.connection().touch();
    }

    fn require(&self, dir: &VirtualPath, perm: Permission) -> Result<()> {
        if self.user.permissions.allows(dir, perm) {
            Ok(())
        } else {
            tracing::debug!(user = %self.user.username, dir = %dir, perm = %perm, "denied");
            Err(denied())
        }
    }

    /// Checks `check` against `path` as the client named it and, when
    /// symlinks make it lead elsewhere, against where it leads (see
    /// [`ferry_ports::Storage::resolve`]), both as virtual paths; returns the
    /// storage that owns `path` and the resolved path inside it, the path to
    /// act on, so the storage follows no link the check did not see. A link
    /// resolves inside the storage that holds it, never into another one.
    // LIMITATION: a user who may create symlinks can still race a link swap
    // between this check and the act; the jail holds regardless, only the
    // per-directory permissions inside the user's own tree are at stake.
    async fn reach(
        &self,
        path: &VirtualPath,
        follow: bool,
        check: impl Fn(&VirtualPath) -> Result<()>,
    ) -> Result<Located> {
        check(path)?;
        let mut at = self.storages.locate(path);
        let real = at.storage.resolve(&at.path, follow).await?;
        if real != at.path {
            check(&at.virtual_of(&real))?;
            at.path = real;
        }
        Ok(at)
    }

    /// Listing an entry needs `list` on its directory; the root is always seen.
    fn require_listed(&self, path: &VirtualPath) -> Result<()> {
        if path.is_root() {
            Ok(())
        } else {
            self.require(&path.parent(), Permission::List)
        }
    }

    /// `reach` for an operation on an entry, judged by its parent's `perm`.
    async fn reach_entry(
        &self,
        path: &VirtualPath,
        follow: bool,
        perm: Permission,
    ) -> Result<Located> {
        self.reach(path, follow, |p| self.require(&p.parent(), perm))
            .await
    }

    /// Refuses to remove or rename `path` when it is a mount point or holds
    /// one: that would pull a folder out from under the user.
    fn refuse_mounts(&self, path: &VirtualPath) -> Result<()> {
        if path.is_root() || self.storages.holds_mount(path) {
            return Err(denied());
        }
        Ok(())
    }

    /// Where attribute changes are judged: a directory by its own
    /// permissions, anything else by its parent's.
    async fn attributes_dir(&self, path: &VirtualPath) -> VirtualPath {
        let at = self.storages.locate(path);
        match at.storage.stat(&at.path).await {
            Ok(meta) if meta.kind == FileKind::Dir => path.clone(),
            _ => path.parent(),
        }
    }

    fn require_attributes(&self, dir: &VirtualPath, attrs: &SetAttributes) -> Result<()> {
        if attrs.size.is_some() {
            self.require(dir, Permission::Overwrite)?;
        }
        if attrs.permissions.is_some() {
            self.require(dir, Permission::Chmod)?;
        }
        if attrs.uid.is_some() || attrs.gid.is_some() {
            self.require(dir, Permission::Chown)?;
        }
        if attrs.times.is_some() {
            self.require(dir, Permission::Chtimes)?;
        }
        Ok(())
    }

    /// The permission that a write open needs: `upload` for a new file,
    /// `upload` and `overwrite` to change an existing one.
    async fn require_write(&self, at: &Located, options: &OpenOptions) -> Result<()> {
        let dir = at.virtual_path().parent();
        self.require(&dir, Permission::Upload)?;
        match at.storage.stat(&at.path).await {
            Ok(meta) if meta.kind == FileKind::Dir => Err(Error::invalid("is a directory")),
            Ok(_) if options.create && options.exclusive => Err(Error::conflict("file exists")),
            Ok(_) => self.require(&dir, Permission::Overwrite),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// What happens to a client's request to change a file's mode, owner or
/// times (SFTPGo's `setstat_mode`). A size change (truncation) is always
/// carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetstatMode {
    /// Carried out, or answered unsupported where the storage cannot.
    #[default]
    Normal,
    /// Ignored everywhere: the request succeeds and changes nothing.
    Ignore,
    /// Ignored where the storage cannot carry it out (object storage),
    /// carried out elsewhere.
    IgnoreUnsupported,
}

impl SetstatMode {
    /// From SFTPGo's code: 0, 1 or 2.
    pub fn from_code(code: i64) -> Result<Self> {
        match code {
            0 => Ok(Self::Normal),
            1 => Ok(Self::Ignore),
            2 => Ok(Self::IgnoreUnsupported),
            other => Err(Error::invalid(format!(
                "setstat_mode must be 0, 1 or 2, not {other}"
            ))),
        }
    }

    /// The part of `attributes` to carry out on a storage that can do
    /// `caps`, with client modes cleaned.
    fn keep(self, attributes: &SetAttributes, caps: Capabilities) -> SetAttributes {
        let mut kept = client_attributes(attributes);
        let (chmod, chown, times) = match self {
            Self::Normal => return kept,
            Self::Ignore => (false, false, false),
            Self::IgnoreUnsupported => (caps.chmod, caps.chown, caps.set_times),
        };
        if !chmod {
            kept.permissions = None;
        }
        if !chown {
            kept.uid = None;
            kept.gid = None;
        }
        if !times {
            kept.times = None;
        }
        kept
    }
}

/// Mode bits a client may set: the permission bits only. Set-user-ID,
/// set-group-ID and sticky bits on files the server's account owns would
/// hand that account's rights to whoever runs them.
fn client_mode(mode: u32) -> u32 {
    mode & 0o777
}

fn client_attributes(attributes: &SetAttributes) -> SetAttributes {
    SetAttributes {
        permissions: attributes.permissions.map(client_mode),
        ..*attributes
    }
}

#[async_trait]
impl FileSession for UserFileSession {
    fn username(&self) -> &str {
        self.user.username.as_str()
    }

    fn realpath(&self, path: &str) -> Result<String> {
        self.touch();
        Ok(VirtualPath::parse(path)?.as_str().to_owned())
    }

    async fn stat(&self, path: &str) -> Result<Metadata> {
        self.touch();
        let path = VirtualPath::parse(path)?;
        let at = self.reach(&path, true, |p| self.require_listed(p)).await?;
        at.storage.stat(&at.path).await
    }

    async fn lstat(&self, path: &str) -> Result<Metadata> {
        self.touch();
        let path = VirtualPath::parse(path)?;
        let at = self.reach(&path, false, |p| self.require_listed(p)).await?;
        at.storage.lstat(&at.path).await
    }

    async fn open(&self, path: &str, options: OpenOptions) -> Result<Arc<dyn FileHandle>> {
        self.touch();
        let vpath = VirtualPath::parse(path)?;
        if vpath.is_root() || self.storages.is_mount_point(&vpath) {
            return Err(Error::invalid("is a directory"));
        }
        let writing = options.write || options.append || options.truncate;
        let check = |p: &VirtualPath| {
            if options.read {
                self.require(&p.parent(), Permission::Download)?;
            }
            if writing {
                self.require(&p.parent(), Permission::Upload)?;
            }
            Ok(())
        };
        let at = self.reach(&vpath, true, check).await?;
        if writing {
            self.require_write(&at, &options).await?;
        }
        let options = OpenOptions {
            permissions: options.permissions.map(client_mode),
            ..options
        };
        let inner = at.storage.open(&at.path, options).await?;
        let real = at.virtual_path();
        let kind = if writing {
            TransferKind::Upload
        } else {
            TransferKind::Download
        };
        let transfer = self
            .live
            .connection()
            .start_transfer(kind, vpath.as_str().to_owned());
        Ok(Arc::new(TrackedHandle {
            caps: at.storage.capabilities(),
            inner,
            user: self.user.username.to_string(),
            path: vpath,
            real,
            started: Instant::now(),
            transfer,
            session: self.clone(),
            closed: AtomicBool::new(false),
        }))
    }

    /// The directory's own entries, with the folders mounted in it listed
    /// first: a mount point shows as its folder's root, whether or not the
    /// home has an entry of that name (which it hides).
    async fn read_dir(&self, path: &str) -> Result<DirStream> {
        self.touch();
        let path = VirtualPath::parse(path)?;
        let at = self
            .reach(&path, true, |p| self.require(p, Permission::List))
            .await?;
        let own = at.storage.read_dir(&at.path).await?;
        let mounted = self.storages.mount_entries(&path).await;
        if mounted.is_empty() {
            return Ok(own);
        }
        let hidden: HashSet<String> = mounted.iter().map(|e| e.name.clone()).collect();
        let own = own.filter(move |entry| {
            let shown = !matches!(entry, Ok(e) if hidden.contains(&e.name));
            futures::future::ready(shown)
        });
        Ok(Box::pin(
            futures::stream::iter(mounted.into_iter().map(Ok)).chain(own),
        ))
    }

    async fn mkdir(&self, path: &str, permissions: Option<u32>) -> Result<()> {
        self.touch();
        let path = VirtualPath::parse(path)?;
        if path.is_root() || self.storages.is_mount_point(&path) {
            return Err(Error::conflict("file exists"));
        }
        let at = self
            .reach_entry(&path, false, Permission::CreateDirs)
            .await?;
        at.storage
            .create_dir(&at.path, permissions.map(client_mode))
            .await
    }

    async fn rmdir(&self, path: &str) -> Result<()> {
        self.touch();
        let path = VirtualPath::parse(path)?;
        self.refuse_mounts(&path)?;
        let at = self
            .reach_entry(&path, false, Permission::DeleteDirs)
            .await?;
        at.storage.remove_dir(&at.path).await
    }

    async fn remove(&self, path: &str) -> Result<()> {
        self.touch();
        let path = VirtualPath::parse(path)?;
        self.refuse_mounts(&path)?;
        let at = self
            .reach_entry(&path, false, Permission::DeleteFiles)
            .await?;
        at.storage.remove_file(&at.path).await
    }

    /// Within one storage a rename; between the home and a folder, or two
    /// folders, a copy followed by the removal of the source.
    async fn rename(&self, from: &str, to: &str, replace: bool) -> Result<()> {
        self.touch();
        let from = VirtualPath::parse(from)?;
        let to = VirtualPath::parse(to)?;
        self.refuse_mounts(&from)?;
        self.refuse_mounts(&to)?;
        let source = self.storages.locate(&from);
        let resolved = source.storage.resolve(&source.path, false).await?;
        let perm = match source.storage.lstat(&resolved).await?.kind {
            FileKind::Dir => Permission::RenameDirs,
            _ => Permission::RenameFiles,
        };
        let from = self.reach_entry(&from, false, perm).await?;
        let to = self.reach_entry(&to, false, perm).await?;
        let same_storage = from.owner == to.owner;
        if same_storage && to.path.starts_with(&from.path) && to.path != from.path {
            return Err(Error::invalid("cannot move a directory into itself"));
        }
        if replace && to.storage.lstat(&to.path).await.is_ok() {
            self.require(&to.virtual_path().parent(), Permission::Overwrite)?;
        }
        if same_storage {
            from.storage.rename(&from.path, &to.path, replace).await
        } else {
            move_across(&from, &to, replace).await
        }
    }

    async fn symlink(&self, target: &str, link: &str) -> Result<()> {
        self.touch();
        let link = VirtualPath::parse(link)?;
        if link.is_root() || target.is_empty() || target.contains('\0') {
            return Err(Error::invalid("invalid symlink"));
        }
        let at = self
            .reach_entry(&link, false, Permission::CreateSymlinks)
            .await?;
        at.storage.symlink(target, &at.path).await
    }

    async fn readlink(&self, path: &str) -> Result<String> {
        self.touch();
        let path = VirtualPath::parse(path)?;
        let at = self.reach_entry(&path, false, Permission::List).await?;
        at.storage.read_link(&at.path).await
    }

    async fn set_attributes(&self, path: &str, attributes: &SetAttributes) -> Result<()> {
        self.touch();
        let path = VirtualPath::parse(path)?;
        let at = self.storages.locate(&path);
        let real = at.storage.resolve(&at.path, true).await?;
        if attributes.is_empty() {
            return at.storage.lstat(&real).await.map(drop);
        }
        let kept = self.setstat.keep(attributes, at.storage.capabilities());
        // Judged where the client named it and where it leads.
        for judged in [path, at.virtual_of(&real)] {
            let dir = self.attributes_dir(&judged).await;
            self.require_attributes(&dir, &kept)?;
        }
        if kept.is_empty() {
            return at.storage.lstat(&real).await.map(drop);
        }
        at.storage.set_attributes(&real, &kept).await
    }

    async fn statvfs(&self, path: &str) -> Result<StatVfs> {
        self.touch();
        let path = VirtualPath::parse(path)?;
        let at = self.storages.locate(&path);
        at.storage.statvfs(&at.path).await
    }

    async fn end(&self) {
        self.live.end();
        tracing::debug!(user = %self.user.username, "file session ended");
    }
}

/// A storage handle that counts what moves, shows among its connection's
/// transfers while open and logs the transfer when closed, or when dropped
/// unclosed (an interrupted transfer).
struct TrackedHandle {
    inner: Arc<dyn FileHandle>,
    /// What the handle's storage can change.
    caps: Capabilities,
    user: String,
    /// The path as the client named it, for the logs and the API.
    path: VirtualPath,
    /// Where it leads, as a virtual path: where attribute changes are judged.
    real: VirtualPath,
    started: Instant,
    transfer: Arc<LiveTransfer>,
    session: UserFileSession,
    closed: AtomicBool,
}

impl TrackedHandle {
    /// One info line per transfer that moved bytes.
    fn log(&self, outcome: &str) {
        let (read, written) = self.transfer.counts();
        if read > 0 || written > 0 {
            tracing::info!(user = %self.user, path = %self.path, bytes_read = read,
                bytes_written = written, duration_ms = self.started.elapsed().as_millis() as u64,
                outcome, "transfer");
        }
    }
}

// LIMITATION: local disk writes in place (SFTPGo's `upload_mode` 0), so an
// upload whose handle is dropped unclosed (the client went away, or an admin
// closed its connection) leaves the bytes written so far under its name.
impl Drop for TrackedHandle {
    fn drop(&mut self) {
        if !self.closed.load(Ordering::Acquire) {
            self.log("interrupted");
        }
        self.session.live.connection().end_transfer(&self.transfer);
    }
}

#[async_trait]
impl FileHandle for TrackedHandle {
    async fn read_at(&self, offset: u64, len: usize) -> Result<Bytes> {
        self.session.touch();
        let data = self.inner.read_at(offset, len).await?;
        self.transfer.add_read(data.len() as u64);
        Ok(data)
    }

    async fn write_at(&self, offset: u64, data: Bytes) -> Result<()> {
        self.session.touch();
        let len = data.len() as u64;
        self.inner.write_at(offset, data).await?;
        self.transfer.add_written(len);
        Ok(())
    }

    async fn metadata(&self) -> Result<Metadata> {
        self.inner.metadata().await
    }

    async fn set_attributes(&self, attributes: &SetAttributes) -> Result<()> {
        let kept = self.session.setstat.keep(attributes, self.caps);
        for judged in [&self.path, &self.real] {
            self.session.require_attributes(&judged.parent(), &kept)?;
        }
        if kept.is_empty() {
            return Ok(());
        }
        self.inner.set_attributes(&kept).await
    }

    async fn close(&self) -> Result<()> {
        let result = self.inner.close().await;
        if !self.closed.swap(true, Ordering::AcqRel) {
            self.log(if result.is_ok() { "ok" } else { "failed" });
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;
    use ferry_domain::{FilesystemConfig, UserFilters, UserPermissions, UserStatus, Username};
    use ferry_storage::LocalStorage;
    use std::collections::BTreeMap;

    fn user(perms: &[(&str, &[Permission])]) -> User {
        let map: BTreeMap<String, Vec<Permission>> = perms
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect();
        User {
            id: 1,
            status: UserStatus::Enabled,
            username: Username::parse("u").unwrap(),
            email: String::new(),
            description: String::new(),
            expiration_date: 0,
            password_hash: None,
            public_keys: vec![],
            home_dir: "/unused".into(),
            uid: 0,
            gid: 0,
            max_sessions: 0,
            quota_size: 0,
            quota_files: 0,
            permissions: UserPermissions::new(map).unwrap(),
            used_quota_size: 0,
            used_quota_files: 0,
            last_quota_update: 0,
            upload_bandwidth: 0,
            download_bandwidth: 0,
            filters: UserFilters::default(),
            filesystem: FilesystemConfig::local(),
            virtual_folders: Vec::new(),
            additional_info: String::new(),
            created_at: 0,
            updated_at: 0,
            last_login: 0,
        }
    }

    fn session(dir: &std::path::Path, perms: &[(&str, &[Permission])]) -> UserFileSession {
        let home = Storages::home_only(Arc::new(LocalStorage::new(dir)));
        UserFileSession::new(user(perms), home)
    }

    const CREATE: OpenOptions = OpenOptions {
        read: false,
        write: true,
        append: false,
        create: true,
        truncate: true,
        exclusive: false,
        permissions: None,
    };

    async fn put(s: &UserFileSession, path: &str, data: &'static [u8]) -> Result<()> {
        let handle = s.open(path, CREATE).await?;
        handle.write_at(0, Bytes::from_static(data)).await?;
        handle.close().await
    }

    fn kind<T>(r: Result<T>) -> Option<ErrorKind> {
        r.err().map(|e| e.kind())
    }

    #[tokio::test]
    async fn upload_needs_upload_and_replacing_needs_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let only_upload = session(dir.path(), &[("/", &[Upload, List])]);
        put(&only_upload, "/a", b"one").await.unwrap();
        let again = put(&only_upload, "/a", b"two").await;
        assert_eq!(kind(again), Some(ErrorKind::PermissionDenied));
        let both = session(dir.path(), &[("/", &[Upload, Overwrite])]);
        put(&both, "/a", b"two").await.unwrap();
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"two");
        let none = session(dir.path(), &[("/", &[List])]);
        assert_eq!(
            kind(put(&none, "/b", b"x").await),
            Some(ErrorKind::PermissionDenied)
        );
        assert!(!dir.path().join("b").exists());
    }

    #[tokio::test]
    async fn the_closest_configured_directory_decides() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ro/deep")).unwrap();
        std::fs::write(dir.path().join("ro/deep/f"), b"x").unwrap();
        let s = session(dir.path(), &[("/", &[All]), ("/ro", &[List, Download])]);
        assert_eq!(
            kind(put(&s, "/ro/deep/new", b"x").await),
            Some(ErrorKind::PermissionDenied)
        );
        assert_eq!(
            kind(s.remove("/ro/deep/f").await),
            Some(ErrorKind::PermissionDenied)
        );
        assert_eq!(
            kind(s.mkdir("/ro/x", None).await),
            Some(ErrorKind::PermissionDenied)
        );
        let read = OpenOptions {
            read: true,
            ..Default::default()
        };
        let handle = s.open("/ro/deep/f", read).await.unwrap();
        assert_eq!(&handle.read_at(0, 10).await.unwrap()[..], b"x");
        put(&s, "/elsewhere", b"y").await.unwrap();
    }

    #[tokio::test]
    async fn split_delete_and_rename_permissions() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("f"), b"x").unwrap();
        let files_only = session(dir.path(), &[("/", &[DeleteFiles, RenameFiles])]);
        assert_eq!(
            kind(files_only.rmdir("/d").await),
            Some(ErrorKind::PermissionDenied)
        );
        assert_eq!(
            kind(files_only.rename("/d", "/d2", false).await),
            Some(ErrorKind::PermissionDenied)
        );
        files_only.rename("/f", "/g", false).await.unwrap();
        files_only.remove("/g").await.unwrap();
        let dirs_only = session(dir.path(), &[("/", &[DeleteDirs, RenameDirs])]);
        dirs_only.rename("/d", "/d2", false).await.unwrap();
        dirs_only.rmdir("/d2").await.unwrap();
    }

    #[tokio::test]
    async fn attribute_changes_need_their_own_permissions() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"x").unwrap();
        let s = session(dir.path(), &[("/", &[List, Chtimes])]);
        let chmod = SetAttributes {
            permissions: Some(0o600),
            ..Default::default()
        };
        assert_eq!(
            kind(s.set_attributes("/f", &chmod).await),
            Some(ErrorKind::PermissionDenied)
        );
        let times = SetAttributes {
            times: Some((1, 2)),
            ..Default::default()
        };
        s.set_attributes("/f", &times).await.unwrap();
        let truncate = SetAttributes {
            size: Some(0),
            ..Default::default()
        };
        assert_eq!(
            kind(s.set_attributes("/f", &truncate).await),
            Some(ErrorKind::PermissionDenied)
        );
        assert_eq!(s.stat("/f").await.unwrap().mtime, 2);
    }

    #[tokio::test]
    async fn open_files_show_as_transfers_until_dropped_and_sessions_until_gone() {
        use crate::app::ConnectionRegistry;
        use ferry_ports::{ClientInfo, Connections, DisconnectHook, SystemClock};
        let dir = tempfile::tempdir().unwrap();
        let registry = Arc::new(ConnectionRegistry::new(Arc::new(SystemClock)));
        let client = ClientInfo {
            remote: "127.0.0.1:5000".parse().unwrap(),
            client_version: "SSH-2.0-test".into(),
            disconnect: DisconnectHook::none(),
        };
        let live = registry.register("u", &client);
        let s = UserFileSession::registered(
            user(&[("/", &[All])]),
            Storages::home_only(Arc::new(LocalStorage::new(dir.path()))),
            live,
        );
        let handle = s.open("/up", CREATE).await.unwrap();
        handle
            .write_at(0, Bytes::from_static(b"12345"))
            .await
            .unwrap();
        let list = registry.list_connections().await.unwrap();
        let transfer = &list[0].transfers[0];
        assert_eq!(
            (transfer.kind, transfer.path.as_str()),
            (TransferKind::Upload, "/up")
        );
        assert_eq!(transfer.bytes, 5);
        drop(handle);
        let list = registry.list_connections().await.unwrap();
        assert!(list[0].transfers.is_empty());
        let handle = s
            .open(
                "/up",
                OpenOptions {
                    read: true,
                    ..Default::default()
                },
            )
            .await;
        drop(s);
        assert_eq!(
            registry.list_connections().await.unwrap().len(),
            1,
            "a handle keeps it"
        );
        drop(handle);
        assert!(registry.list_connections().await.unwrap().is_empty());
    }

    /// A home where `/up` is open to everything and `/other` only listable,
    /// with links from inside `/up` to `/other`, relative and absolute, and
    /// one that stays inside `/up`.
    fn linked_home() -> (tempfile::TempDir, UserFileSession) {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["up/deep", "up/sub", "other"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("other/kept"), b"kept").unwrap();
        symlink("/other", root.join("up/abs")).unwrap();
        symlink("../../other", root.join("up/deep/rel")).unwrap();
        symlink("/other/kept", root.join("up/kept-link")).unwrap();
        symlink("sub", root.join("up/same")).unwrap();
        let s = session(root, &[("/", &[List]), ("/up", &[All])]);
        (dir, s)
    }

    #[tokio::test]
    async fn a_symlink_is_judged_where_it_leads() {
        let (dir, s) = linked_home();
        let denied = Some(ErrorKind::PermissionDenied);
        for path in ["/up/abs/new", "/up/deep/rel/new", "/up/abs/kept"] {
            assert_eq!(kind(put(&s, path, b"x").await), denied, "{path}");
        }
        assert_eq!(kind(put(&s, "/up/kept-link", b"x").await), denied);
        assert_eq!(kind(s.remove("/up/abs/kept").await), denied);
        assert_eq!(kind(s.mkdir("/up/abs/d", None).await), denied);
        assert_eq!(kind(s.rename("/up/abs/kept", "/up/k", false).await), denied);
        assert_eq!(kind(s.symlink("/x", "/up/deep/rel/l").await), denied);
        let chmod = SetAttributes {
            permissions: Some(0o600),
            ..Default::default()
        };
        assert_eq!(
            kind(s.set_attributes("/up/kept-link", &chmod).await),
            denied
        );
        assert_eq!(
            std::fs::read(dir.path().join("other/kept")).unwrap(),
            b"kept"
        );
        assert!(!dir.path().join("other/new").exists());

        // What `/other` allows still works through a link, and the link itself
        // is an entry of `/up`, so it can be removed.
        assert_eq!(s.stat("/up/abs/kept").await.unwrap().size, 4);
        assert!(s.read_dir("/up/deep/rel").await.is_ok());
        s.remove("/up/kept-link").await.unwrap();
        // A link that stays where the permissions allow leads there.
        put(&s, "/up/same/f", b"y").await.unwrap();
        assert_eq!(std::fs::read(dir.path().join("up/sub/f")).unwrap(), b"y");
    }

    #[tokio::test]
    async fn special_mode_bits_never_reach_the_disk() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let s = session(dir.path(), &[("/", &[All])]);
        let mode = |name: &str| {
            let meta = std::fs::metadata(dir.path().join(name)).unwrap();
            meta.permissions().mode() & 0o7777
        };
        let setuid = OpenOptions {
            permissions: Some(0o104_755),
            ..CREATE
        };
        s.open("/f", setuid).await.unwrap().close().await.unwrap();
        assert_eq!(mode("f") & 0o7000, 0, "open kept special bits");
        s.mkdir("/d", Some(0o3777)).await.unwrap();
        assert_eq!(mode("d") & 0o7000, 0, "mkdir kept special bits");
        let chmod = SetAttributes {
            permissions: Some(0o6755),
            ..Default::default()
        };
        s.set_attributes("/f", &chmod).await.unwrap();
        assert_eq!(mode("f"), 0o755);
        let handle = s.open("/f", CREATE).await.unwrap();
        let sticky = SetAttributes {
            permissions: Some(0o1700),
            ..Default::default()
        };
        handle.set_attributes(&sticky).await.unwrap();
        handle.close().await.unwrap();
        assert_eq!(mode("f"), 0o700);
    }

    #[tokio::test]
    async fn setstat_mode_decides_what_attribute_changes_do() {
        use std::os::unix::fs::PermissionsExt;
        let chmod = SetAttributes {
            permissions: Some(0o600),
            ..Default::default()
        };
        let mode_of =
            |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        for (mode, expected) in [
            (SetstatMode::Normal, 0o600),
            (SetstatMode::Ignore, 0o644),
            (SetstatMode::IgnoreUnsupported, 0o600),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let s = session(dir.path(), &[("/", &[All])]).with_setstat_mode(mode);
            let file = dir.path().join("f");
            std::fs::write(&file, b"x").unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            s.set_attributes("/f", &chmod).await.unwrap();
            assert_eq!(mode_of(&file), expected, "{mode:?}");
            let truncate = SetAttributes {
                size: Some(0),
                ..Default::default()
            };
            s.set_attributes("/f", &truncate).await.unwrap();
            assert_eq!(std::fs::metadata(&file).unwrap().len(), 0, "{mode:?}");
        }
        let cloud = Capabilities {
            random_writes: false,
            append: false,
            symlinks: false,
            chmod: false,
            chown: false,
            set_times: false,
            atomic_rename: false,
            rename_dirs: false,
            server_side_copy: true,
        };
        let times = SetAttributes {
            times: Some((1, 2)),
            uid: Some(5),
            ..Default::default()
        };
        assert!(
            SetstatMode::IgnoreUnsupported
                .keep(&times, cloud)
                .is_empty()
        );
        assert_eq!(SetstatMode::Normal.keep(&times, cloud), times);
        assert!(SetstatMode::from_code(3).is_err());
    }

    /// Local disk wherever a storage is asked for.
    struct LocalDisk;

    impl ferry_ports::StorageFactory for LocalDisk {
        fn storage_for(
            &self,
            root: &str,
            _: &FilesystemConfig,
        ) -> Result<Arc<dyn ferry_ports::Storage>> {
            Ok(Arc::new(LocalStorage::new(root)))
        }

        fn check(&self, _: &str, _: &FilesystemConfig) -> Result<()> {
            Ok(())
        }
    }

    /// A home and a folder mounted at `/m/f`, with full rights.
    async fn mounted() -> (tempfile::TempDir, tempfile::TempDir, UserFileSession) {
        use ferry_domain::{Folder, FolderName, VirtualFolder};
        let (home, folder) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut u = user(&[("/", &[All])]);
        u.home_dir = home.path().to_str().unwrap().to_owned();
        u.virtual_folders = vec![VirtualFolder {
            folder: Folder {
                mapped_path: folder.path().to_str().unwrap().to_owned(),
                ..Folder::named(FolderName::parse("f").unwrap())
            },
            virtual_path: VirtualPath::parse("/m/f").unwrap(),
            quota_size: 0,
            quota_files: 0,
        }];
        let storages = Storages::open(&LocalDisk, &u).await.unwrap();
        (home, folder, UserFileSession::new(u, storages))
    }

    async fn names(s: &UserFileSession, dir: &str) -> Vec<String> {
        let mut listed: Vec<String> = s
            .read_dir(dir)
            .await
            .unwrap()
            .map(|e| e.unwrap().name)
            .collect()
            .await;
        listed.sort();
        listed
    }

    #[tokio::test]
    async fn a_mounted_folder_is_listed_and_reached_by_its_virtual_path() {
        let (home, folder, s) = mounted().await;
        assert!(home.path().join("m").is_dir(), "the mount's parent is made");
        std::fs::create_dir(home.path().join("m/f")).unwrap();
        std::fs::write(home.path().join("m/f/hidden"), b"shadowed").unwrap();
        std::fs::write(home.path().join("m/other"), b"home").unwrap();
        put(&s, "/m/f/in-folder", b"folder").await.unwrap();
        assert_eq!(
            std::fs::read(folder.path().join("in-folder")).unwrap(),
            b"folder"
        );
        assert_eq!(names(&s, "/m").await, ["f", "other"]);
        assert_eq!(names(&s, "/m/f").await, ["in-folder"]);
        assert_eq!(s.stat("/m/f").await.unwrap().kind, FileKind::Dir);
        assert_eq!(
            kind(s.rmdir("/m/f").await),
            Some(ErrorKind::PermissionDenied)
        );
        assert_eq!(kind(s.rmdir("/m").await), Some(ErrorKind::PermissionDenied));
        let moved = s.rename("/m", "/n", false).await;
        assert_eq!(kind(moved), Some(ErrorKind::PermissionDenied));
        assert_eq!(kind(s.mkdir("/m/f", None).await), Some(ErrorKind::Conflict));
    }

    #[tokio::test]
    async fn a_rename_across_the_boundary_moves_the_bytes() {
        let (home, folder, s) = mounted().await;
        std::fs::create_dir_all(home.path().join("t/sub")).unwrap();
        std::fs::write(home.path().join("t/sub/a"), vec![7u8; 600_000]).unwrap();
        std::os::unix::fs::symlink("sub/a", home.path().join("t/link")).unwrap();
        s.rename("/t", "/m/f/t", false).await.unwrap();
        assert!(!home.path().join("t").exists());
        let copied = std::fs::read(folder.path().join("t/sub/a")).unwrap();
        assert_eq!(copied, vec![7u8; 600_000]);
        let link = std::fs::read_link(folder.path().join("t/link")).unwrap();
        assert_eq!(link, std::path::Path::new("sub/a"));

        put(&s, "/taken", b"x").await.unwrap();
        let clash = s.rename("/m/f/t", "/taken", false).await;
        assert_eq!(kind(clash), Some(ErrorKind::Conflict));
        assert!(folder.path().join("t/sub/a").exists());
        s.rename("/m/f/t/sub/a", "/taken", true).await.unwrap();
        assert_eq!(
            std::fs::read(home.path().join("taken")).unwrap().len(),
            600_000
        );
        assert!(!folder.path().join("t/sub/a").exists());
    }

    #[tokio::test]
    async fn the_root_cannot_be_removed_or_renamed() {
        let dir = tempfile::tempdir().unwrap();
        let s = session(dir.path(), &[("/", &[All])]);
        assert_eq!(kind(s.rmdir("/").await), Some(ErrorKind::PermissionDenied));
        assert_eq!(
            kind(s.rmdir("/..").await),
            Some(ErrorKind::PermissionDenied)
        );
        assert_eq!(
            kind(s.rename("/", "/x", false).await),
            Some(ErrorKind::PermissionDenied)
        );
        assert_eq!(s.realpath("../../etc/..").unwrap(), "/");
    }
}
