//! The storage port: one trait for every back end (local disk now, object
//! storage later). Paths are [`VirtualPath`]s relative to the back end's own
//! root; a back end MUST NOT let any path, `..` or symlink reach outside it.
//!
//! Errors use the core's kinds: a missing path is `NotFound`, an existing
//! target or a non-empty directory `Conflict`, an operation the back end
//! cannot do `Unsupported`, a full disk `QuotaExceeded`.

use async_trait::async_trait;
use bytes::Bytes;
use ferry_domain::{Result, VirtualPath};
use futures_core::Stream;
use std::pin::Pin;
use std::sync::Arc;

/// What kind of object a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    Other,
}

/// What `stat` reports. Times are Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metadata {
    pub kind: FileKind,
    pub size: u64,
    /// Permission bits only (`0o7777` mask), without the file type.
    pub permissions: u32,
    pub uid: u32,
    pub gid: u32,
    pub atime: u64,
    pub mtime: u64,
}

/// One directory entry; a symlink is reported as a symlink, not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub metadata: Metadata,
}

/// A directory listing, produced lazily: a back end never collects a whole
/// directory before the first entry is used.
pub type DirStream = Pin<Box<dyn Stream<Item = Result<DirEntry>> + Send>>;

/// How to open a file, as SFTP's pflags say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenOptions {
    pub read: bool,
    pub write: bool,
    /// Every write goes to the end of the file, whatever its offset.
    pub append: bool,
    pub create: bool,
    pub truncate: bool,
    /// With `create`: fail with `Conflict` if the file exists.
    pub exclusive: bool,
    /// Permission bits for a newly created file.
    pub permissions: Option<u32>,
}

/// Attributes to change; `None` leaves one as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetAttributes {
    pub size: Option<u64>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub permissions: Option<u32>,
    /// Access and modification time, Unix seconds; set together.
    pub times: Option<(u64, u64)>,
}

impl SetAttributes {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// File system statistics, as `statvfs(3)` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatVfs {
    pub block_size: u64,
    pub fragment_size: u64,
    pub blocks: u64,
    pub blocks_free: u64,
    pub blocks_available: u64,
    pub files: u64,
    pub files_free: u64,
    pub files_available: u64,
    pub fs_id: u64,
    pub flags: u64,
    pub name_max: u64,
}

/// What a back end can do; the core refuses the rest with `Unsupported`
/// before it asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Writes at any offset, and size changes (truncation) of a file; without
    /// it a file is written once, front to back, within the reorder window.
    pub random_writes: bool,
    pub append: bool,
    pub symlinks: bool,
    pub chmod: bool,
    pub chown: bool,
    /// Access and modification times can be set.
    pub set_times: bool,
    pub atomic_rename: bool,
    /// A directory with entries can be renamed.
    pub rename_dirs: bool,
    pub server_side_copy: bool,
}

/// A file tree rooted somewhere: a home directory, a virtual folder.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    fn capabilities(&self) -> Capabilities;

    /// Creates the root itself if it is missing (a home on first login).
    async fn ensure_root(&self) -> Result<()>;

    /// Where `path` really leads inside the root: every symlink on the way
    /// resolved, and the last component too when `follow` and it is one.
    /// The last component need not exist; a missing directory on the way is
    /// `NotFound`; a loop of links is `PermissionDenied`. A back end without
    /// symlinks returns `path` as it is. The core judges permissions on this
    /// path, so a link cannot carry a client where its permissions close.
    async fn resolve(&self, path: &VirtualPath, follow: bool) -> Result<VirtualPath>;

    /// Metadata, following a final symlink (inside the root only).
    async fn stat(&self, path: &VirtualPath) -> Result<Metadata>;

    /// Metadata of the path itself, not following a final symlink.
    async fn lstat(&self, path: &VirtualPath) -> Result<Metadata>;

    /// Opens a file. Opening a directory for writing is `InvalidInput`.
    async fn open(&self, path: &VirtualPath, options: OpenOptions) -> Result<Arc<dyn FileHandle>>;

    /// Lists a directory, without `.` and `..`. `NotFound` when it is missing,
    /// `InvalidInput` when it is not a directory.
    async fn read_dir(&self, path: &VirtualPath) -> Result<DirStream>;

    async fn create_dir(&self, path: &VirtualPath, permissions: Option<u32>) -> Result<()>;

    /// Removes an empty directory; `Conflict` when it is not empty.
    async fn remove_dir(&self, path: &VirtualPath) -> Result<()>;

    /// Removes a file or a symlink (never what it points to); a directory is
    /// `InvalidInput`.
    async fn remove_file(&self, path: &VirtualPath) -> Result<()>;

    /// Renames `from` to `to`. Without `replace` an existing target is
    /// `Conflict`; with it, an existing file is replaced atomically where the
    /// back end can.
    async fn rename(&self, from: &VirtualPath, to: &VirtualPath, replace: bool) -> Result<()>;

    /// Creates `link` pointing at `target`, which is stored as given. Targets
    /// are resolved inside the root: an absolute target means a path from it.
    async fn symlink(&self, target: &str, link: &VirtualPath) -> Result<()>;

    async fn read_link(&self, path: &VirtualPath) -> Result<String>;

    /// Changes attributes of a path, following a final symlink.
    async fn set_attributes(&self, path: &VirtualPath, attributes: &SetAttributes) -> Result<()>;

    async fn statvfs(&self, path: &VirtualPath) -> Result<StatVfs>;
}

/// An open file. Handles are shared by requests in flight, so every method
/// takes `&self`; after [`close`](Self::close) every call fails.
#[async_trait]
pub trait FileHandle: Send + Sync {
    /// Up to `len` bytes from `offset`; an empty result means end of file.
    async fn read_at(&self, offset: u64, len: usize) -> Result<Bytes>;

    /// Writes all of `data` at `offset` (at the end in append mode).
    async fn write_at(&self, offset: u64, data: Bytes) -> Result<()>;

    async fn metadata(&self) -> Result<Metadata>;

    async fn set_attributes(&self, attributes: &SetAttributes) -> Result<()>;

    /// Commits what was written and releases the handle. Dropping a handle
    /// without closing it MUST release it too.
    async fn close(&self) -> Result<()>;
}

/// Builds the back end that a filesystem configuration names, rooted at
/// `root` (a local path, or a key prefix on object storage).
pub trait StorageFactory: Send + Sync + 'static {
    /// `Unsupported` for a provider this build cannot serve. Sealed secrets
    /// in `filesystem` are opened here.
    fn storage_for(
        &self,
        root: &str,
        filesystem: &ferry_domain::FilesystemConfig,
    ) -> Result<Arc<dyn Storage>>;

    /// Checks that `filesystem` can be served, as it is about to be stored:
    /// its secrets open, its endpoints are allowed and its settings make a
    /// client. MUST NOT contact the storage.
    fn check(&self, root: &str, filesystem: &ferry_domain::FilesystemConfig) -> Result<()>;
}
