//! Object storage: a user's home is every key under a prefix of a bucket.
//!
//! Files are objects; directories are key prefixes. `create_dir` writes an
//! empty `<dir>/` object, the marker other tools write for a folder, so
//! that an empty directory exists; a prefix with objects under it is a
//! directory too, marker or not. Files are written once,
//! front to back (see [`writer`]), and read with ranged requests and
//! read-ahead (see [`reader`]). Symlinks, modes, owners and times do not
//! exist on object stores and are refused as unsupported.

mod azure;
mod azure_markers;
mod bucket;
mod client;
mod errors;
mod gcs;
mod handle;
mod keys;
mod listing;
mod reader;
mod s3;
mod writer;

pub use azure::AzureSettings;
pub use bucket::ObjectBackend;
pub use gcs::GcsSettings;
pub use handle::ObjectFile;
pub use reader::MAX_READ as OBJECT_MAX_READ;
pub use s3::S3Settings;
pub use writer::{REORDER_BYTES, REORDER_REQUESTS};

use async_trait::async_trait;
use bucket::{Bucket, seconds};
use errors::Redactions;
use ferry_domain::{Error, ErrorKind, Result, VirtualPath};
use ferry_ports::{
    Capabilities, DirStream, FileHandle, Metadata, OpenOptions, SetAttributes, StatVfs, Storage,
};
use futures::StreamExt;
use handle::{file_metadata, refuse_changes};
use keys::Keys;
use listing::dir_metadata;
use object_store::ObjectMeta;
use object_store::path::Path;
use reader::{ReadShape, Reader};
use std::fmt;
use std::sync::Arc;
use writer::{UploadShape, Writer};

/// The smallest part S3 accepts (every part but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// The largest part S3 accepts.
pub const MAX_PART_SIZE: usize = 5 * 1024 * 1024 * 1024;
/// The most parts of one upload in flight at once.
pub const MAX_UPLOAD_CONCURRENCY: usize = 64;

/// How transfers are shaped; memory per transfer follows from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferOptions {
    /// Bytes per part of a multipart upload ([`MIN_PART_SIZE`] at least).
    pub upload_part_size: usize,
    /// Parts of one upload sent at once.
    pub upload_concurrency: usize,
    /// Bytes per ranged read.
    pub download_block_size: usize,
    /// Blocks fetched ahead of a sequential reader.
    pub download_read_ahead: usize,
}

impl Default for TransferOptions {
    fn default() -> Self {
        Self {
            upload_part_size: MIN_PART_SIZE,
            upload_concurrency: 2,
            download_block_size: 4 * 1024 * 1024,
            download_read_ahead: 2,
        }
    }
}

impl TransferOptions {
    fn validate(&self) -> Result<()> {
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&self.upload_part_size) {
            return Err(Error::invalid(
                "upload part size must be between 5 MiB and 5 GiB",
            ));
        }
        if !(1..=MAX_UPLOAD_CONCURRENCY).contains(&self.upload_concurrency) {
            return Err(Error::invalid(
                "upload concurrency must be between 1 and 64",
            ));
        }
        if !(64 * 1024..=64 * 1024 * 1024).contains(&self.download_block_size) {
            return Err(Error::invalid(
                "download block size must be between 64 KiB and 64 MiB",
            ));
        }
        if self.download_read_ahead > 16 {
            return Err(Error::invalid(
                "download read-ahead must be at most 16 blocks",
            ));
        }
        Ok(())
    }
}

/// A [`Storage`] over the keys under a prefix of an object store bucket.
///
/// The prefix is the jail: every key is the prefix followed by a normalised
/// virtual path, so no path names a key outside it.
#[derive(Clone)]
pub struct ObjectStorage {
    bucket: Bucket,
    keys: Keys,
    options: TransferOptions,
    /// Whether a directory with entries may be renamed by copying them all.
    rename_dirs: bool,
}

impl fmt::Debug for ObjectStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStorage")
            .field("options", &self.options)
            .field("rename_dirs", &self.rename_dirs)
            .finish_non_exhaustive()
    }
}

impl ObjectStorage {
    /// A storage over `store` rooted at `key_prefix` (empty for the whole
    /// bucket). `endpoint` is only kept out of error details.
    pub fn new(
        store: Arc<dyn ObjectBackend>,
        key_prefix: &str,
        endpoint: Option<&str>,
        options: TransferOptions,
    ) -> Result<Self> {
        Self::hiding(store, key_prefix, endpoint, Vec::new(), options)
    }

    /// As [`new`](Self::new), also keeping `secrets` out of error details.
    pub(crate) fn hiding(
        store: Arc<dyn ObjectBackend>,
        key_prefix: &str,
        endpoint: Option<&str>,
        secrets: Vec<String>,
        options: TransferOptions,
    ) -> Result<Self> {
        options.validate()?;
        let keys = Keys::new(key_prefix)?;
        let redactions = Redactions {
            endpoint: endpoint.map(str::to_owned),
            prefix: keys.prefix().to_owned(),
            secrets,
        };
        Ok(Self {
            bucket: Bucket::new(store, redactions),
            keys,
            options,
            rename_dirs: false,
        })
    }

    /// Lets a directory with entries be renamed (SFTPGo's `rename_mode` 1):
    /// every object under it is copied to the new name, then the originals
    /// are deleted. Off by default, when such a rename is `Unsupported`.
    pub fn with_directory_renames(mut self, on: bool) -> Self {
        self.rename_dirs = on;
        self
    }

    /// What `path` is: a file (with its object), a directory, or nothing.
    async fn find(&self, path: &VirtualPath) -> Result<Found> {
        if path.is_root() {
            return Ok(Found::Dir(dir_metadata(0)));
        }
        if let Some(meta) = self.bucket.head(&self.keys.object(path)?).await? {
            return Ok(Found::File(meta));
        }
        if let Some(mtime) = self.bucket.head_marker(&self.keys.marker(path)?).await? {
            return Ok(Found::Dir(dir_metadata(mtime)));
        }
        let prefix = self.keys.dir_prefix(path)?;
        let page = self.bucket.list_page(&prefix, false, Some(1), None).await?;
        if page.result.objects.is_empty() {
            Ok(Found::Nothing)
        } else {
            Ok(Found::Dir(dir_metadata(0)))
        }
    }

    /// Metadata of an existing path, `NotFound` otherwise.
    async fn existing(&self, path: &VirtualPath) -> Result<Metadata> {
        match self.find(path).await? {
            Found::File(meta) => Ok(file_metadata(meta.size, seconds(&meta))),
            Found::Dir(metadata) => Ok(metadata),
            Found::Nothing => Err(missing()),
        }
    }

    /// Checks that `path`'s parent is a directory: `NotFound` otherwise, as
    /// for a missing directory on the way on local disk.
    async fn parent_is_dir(&self, path: &VirtualPath) -> Result<()> {
        match self.find(&path.parent()).await? {
            Found::Dir(_) => Ok(()),
            _ => Err(missing()),
        }
    }

    /// Whether the directory at `path` holds anything besides its marker.
    async fn has_entries(&self, path: &VirtualPath) -> Result<bool> {
        let prefix = self.keys.dir_prefix(path)?;
        // The marker is listed without its `/` by stores that list it at all.
        let page = self.bucket.list_page(&prefix, false, Some(2), None).await?;
        let own = prefix.trim_end_matches('/');
        Ok(page
            .result
            .objects
            .iter()
            .any(|o| o.location.as_ref() != own))
    }

    fn open_reader(&self, key: Path, meta: &ObjectMeta) -> Arc<dyn FileHandle> {
        let shape = ReadShape {
            block_size: self.options.download_block_size as u64,
            ahead: self.options.download_read_ahead as u64,
        };
        let reader = Reader::new(self.bucket.clone(), key, meta.size, shape);
        let metadata = file_metadata(meta.size, seconds(meta));
        Arc::new(ObjectFile::reader(reader, metadata))
    }

    fn open_writer(&self, key: Path, create_only: bool) -> Arc<dyn FileHandle> {
        let shape = UploadShape {
            part_size: self.options.upload_part_size,
            concurrency: self.options.upload_concurrency,
        };
        let writer = Writer::new(self.bucket.clone(), key, shape, create_only);
        Arc::new(ObjectFile::writer(writer))
    }

    /// Opens a new or existing file for writing, from its first byte.
    async fn open_for_writing(
        &self,
        path: &VirtualPath,
        options: OpenOptions,
    ) -> Result<Arc<dyn FileHandle>> {
        if options.append {
            return Err(Error::unsupported("object storage cannot append to a file"));
        }
        let key = self.keys.object(path)?;
        match self.find(path).await? {
            Found::Dir(_) => return Err(is_a_directory()),
            Found::File(_) if options.create && options.exclusive => return Err(exists()),
            Found::File(_) if !options.truncate => {
                return Err(Error::unsupported(
                    "object storage rewrites a file whole: open it with truncate",
                ));
            }
            Found::File(_) => {}
            Found::Nothing if !options.create => return Err(missing()),
            Found::Nothing => self.parent_is_dir(path).await?,
        }
        // LIMITATION: an exclusive create is checked when the file is opened
        // and, for a file smaller than one part, again by a conditional PUT
        // on close; a larger file written by two clients at once ends as
        // the last one to close.
        Ok(self.open_writer(key, options.create && options.exclusive))
    }

    async fn rename_dir(&self, from: &VirtualPath, to: &VirtualPath) -> Result<()> {
        let (from_marker, to_marker) = (self.keys.marker(from)?, self.keys.marker(to)?);
        if self.has_entries(from).await? {
            if !self.rename_dirs {
                return Err(Error::unsupported(
                    "renaming a directory that has entries is turned off for this storage",
                ));
            }
            return self.move_tree(from, to).await;
        }
        self.bucket.put_marker(&to_marker).await?;
        self.bucket.delete_marker(&from_marker).await
    }

    /// Moves every object under `from` to `to`: all are copied first, then
    /// the originals deleted. When a copy fails, the copies made so far are
    /// deleted and the source is left as it was.
    // LIMITATION: a directory is moved object by object, not atomically:
    // while it moves, clients can see both names, and a delete failing after
    // every copy succeeded leaves the rest of the source in place (the
    // rename then reports the failure).
    async fn move_tree(&self, from: &VirtualPath, to: &VirtualPath) -> Result<()> {
        let from_prefix = self.keys.dir_prefix(from)?;
        let to_prefix = self.keys.dir_prefix(to)?;
        let (from_marker, to_marker) = (self.keys.marker(from)?, self.keys.marker(to)?);
        if let Err(error) = self.copy_tree(&from_prefix, &to_prefix).await {
            // The target was missing or empty: its own marker stays as it was.
            if let Err(undo) = self.delete_tree(&to_prefix).await {
                tracing::warn!(%undo, "object storage: undoing a directory copy failed");
            }
            return Err(error);
        }
        if self.bucket.head_marker(&from_marker).await?.is_some() {
            self.bucket.put_marker(&to_marker).await?;
        }
        self.delete_tree(&from_prefix).await?;
        self.bucket.delete_marker(&from_marker).await
    }

    async fn copy_tree(&self, from_prefix: &str, to_prefix: &str) -> Result<()> {
        let mut token = None;
        loop {
            let page = self
                .bucket
                .list_page(from_prefix, false, None, token)
                .await?;
            let mut pairs = Vec::with_capacity(page.result.objects.len());
            for object in &page.result.objects {
                let source = object.location.as_ref();
                let Some(rest) = source.strip_prefix(from_prefix) else {
                    continue;
                };
                let target = Path::parse(format!("{to_prefix}{rest}"))
                    .map_err(|_| Error::invalid("name not allowed on object storage"))?;
                pairs.push((object.location.clone(), target));
            }
            let copies = pairs.into_iter().map(|(source, target)| {
                let bucket = self.bucket.clone();
                async move {
                    match bucket.copy(&source, &target).await {
                        // Listed but not there under its name: a `<dir>/`
                        // marker, listed without its `/`.
                        Err(error) if error.kind() == ErrorKind::NotFound => {
                            bucket.put_marker(&Keys::marker_of(&target)).await
                        }
                        done => done,
                    }
                }
            });
            let mut copies = futures::stream::iter(copies).buffer_unordered(TREE_CONCURRENCY);
            while let Some(copied) = copies.next().await {
                copied?;
            }
            match page.page_token {
                Some(next) => token = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Deletes every object under `prefix` (not the marker of `prefix`
    /// itself, which is not under it).
    async fn delete_tree(&self, prefix: &str) -> Result<()> {
        let mut token = None;
        loop {
            let page = self.bucket.list_page(prefix, false, None, token).await?;
            let doomed: Vec<ObjectMeta> = page
                .result
                .objects
                .into_iter()
                .filter(|object| object.location.as_ref().starts_with(prefix))
                .collect();
            let deletes = doomed.into_iter().map(|object| {
                let bucket = self.bucket.clone();
                async move {
                    bucket.delete(&object.location).await?;
                    // An empty object may be a `<dir>/` marker, listed
                    // without its `/`: deleting the file of that name
                    // then did nothing.
                    if object.size == 0 {
                        bucket
                            .delete_marker(&Keys::marker_of(&object.location))
                            .await?;
                    }
                    Ok(())
                }
            });
            let mut deletes = futures::stream::iter(deletes).buffer_unordered(TREE_CONCURRENCY);
            while let Some(deleted) = deletes.next().await {
                deleted?;
            }
            match page.page_token {
                Some(next) => token = Some(next),
                None => return Ok(()),
            }
        }
    }
}

/// Copies or deletes in flight at once while a directory moves.
const TREE_CONCURRENCY: usize = 16;

/// What a path names.
enum Found {
    File(ObjectMeta),
    Dir(Metadata),
    Nothing,
}

#[async_trait]
impl Storage for ObjectStorage {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            random_writes: false,
            append: false,
            symlinks: false,
            chmod: false,
            chown: false,
            set_times: false,
            atomic_rename: false,
            rename_dirs: self.rename_dirs,
            server_side_copy: true,
        }
    }

    async fn ensure_root(&self) -> Result<()> {
        let root = VirtualPath::root();
        if self.keys.prefix().is_empty() {
            return Ok(());
        }
        let marker = self.keys.marker(&root)?;
        if self.bucket.head_marker(&marker).await?.is_none() {
            self.bucket.put_marker(&marker).await?;
        }
        Ok(())
    }

    async fn resolve(&self, path: &VirtualPath, _follow: bool) -> Result<VirtualPath> {
        Ok(path.clone())
    }

    async fn stat(&self, path: &VirtualPath) -> Result<Metadata> {
        self.existing(path).await
    }

    async fn lstat(&self, path: &VirtualPath) -> Result<Metadata> {
        self.existing(path).await
    }

    async fn open(&self, path: &VirtualPath, options: OpenOptions) -> Result<Arc<dyn FileHandle>> {
        if path.is_root() {
            return Err(is_a_directory());
        }
        if options.write || options.append || options.truncate {
            return self.open_for_writing(path, options).await;
        }
        match self.find(path).await? {
            Found::File(meta) => Ok(self.open_reader(self.keys.object(path)?, &meta)),
            Found::Dir(_) => Err(is_a_directory()),
            Found::Nothing => Err(missing()),
        }
    }

    async fn read_dir(&self, path: &VirtualPath) -> Result<DirStream> {
        match self.find(path).await? {
            Found::Dir(_) => Ok(listing::stream(
                self.bucket.clone(),
                self.keys.dir_prefix(path)?,
            )),
            Found::File(_) => Err(Error::invalid("not a directory")),
            Found::Nothing => Err(missing()),
        }
    }

    async fn create_dir(&self, path: &VirtualPath, _permissions: Option<u32>) -> Result<()> {
        if !matches!(self.find(path).await?, Found::Nothing) {
            return Err(exists());
        }
        self.parent_is_dir(path).await?;
        self.bucket.put_marker(&self.keys.marker(path)?).await
    }

    async fn remove_dir(&self, path: &VirtualPath) -> Result<()> {
        if path.is_root() {
            return Err(root_fixed());
        }
        match self.find(path).await? {
            Found::Dir(_) => {}
            Found::File(_) => return Err(Error::invalid("not a directory")),
            Found::Nothing => return Err(missing()),
        }
        if self.has_entries(path).await? {
            return Err(Error::conflict("directory not empty"));
        }
        self.bucket.delete_marker(&self.keys.marker(path)?).await
    }

    async fn remove_file(&self, path: &VirtualPath) -> Result<()> {
        if path.is_root() {
            return Err(is_a_directory());
        }
        match self.find(path).await? {
            Found::File(_) => self.bucket.delete(&self.keys.object(path)?).await,
            Found::Dir(_) => Err(is_a_directory()),
            Found::Nothing => Err(missing()),
        }
    }

    async fn rename(&self, from: &VirtualPath, to: &VirtualPath, replace: bool) -> Result<()> {
        if from.is_root() {
            return Err(root_fixed());
        }
        if to.is_root() {
            return Err(if replace { root_fixed() } else { exists() });
        }
        if to != from && to.starts_with(from) {
            return Err(Error::invalid("cannot move a directory into itself"));
        }
        let source = self.find(from).await?;
        if matches!(source, Found::Nothing) {
            return Err(missing());
        }
        if to == from {
            return Ok(());
        }
        let source_is_dir = matches!(source, Found::Dir(_));
        match self.find(to).await? {
            Found::Nothing => self.parent_is_dir(to).await?,
            _ if !replace => return Err(exists()),
            Found::Dir(_) if !source_is_dir => return Err(is_a_directory()),
            Found::File(_) if source_is_dir => return Err(Error::invalid("not a directory")),
            Found::Dir(_) => {
                if self.has_entries(to).await? {
                    return Err(Error::conflict("directory not empty"));
                }
            }
            Found::File(_) => {}
        }
        if source_is_dir {
            return self.rename_dir(from, to).await;
        }
        // LIMITATION: a file is renamed by a server-side copy and a delete,
        // not atomically; a reader of the old name may see it vanish.
        let (from_key, to_key) = (self.keys.object(from)?, self.keys.object(to)?);
        self.bucket.copy(&from_key, &to_key).await?;
        self.bucket.delete(&from_key).await
    }

    async fn symlink(&self, _target: &str, _link: &VirtualPath) -> Result<()> {
        Err(no_links())
    }

    async fn read_link(&self, _path: &VirtualPath) -> Result<String> {
        Err(no_links())
    }

    async fn set_attributes(&self, path: &VirtualPath, attributes: &SetAttributes) -> Result<()> {
        let metadata = self.existing(path).await?;
        refuse_changes(attributes, metadata.size)
    }

    async fn statvfs(&self, _path: &VirtualPath) -> Result<StatVfs> {
        Err(Error::unsupported(
            "object storage has no file system statistics",
        ))
    }
}

fn missing() -> Error {
    Error::not_found("no such file or directory")
}

fn exists() -> Error {
    Error::conflict("file exists")
}

fn is_a_directory() -> Error {
    Error::invalid("is a directory")
}

fn no_links() -> Error {
    Error::unsupported("object storage has no symbolic links")
}

fn root_fixed() -> Error {
    Error::permission_denied("the root cannot be removed, renamed or replaced")
}
