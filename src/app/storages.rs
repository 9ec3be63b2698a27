//! A user's storages: the home and one per mounted virtual folder, and which
//! of them owns a virtual path.

use ferry_domain::folder::owning_mount;
use ferry_domain::{ErrorKind, Result, User, VirtualFolder, VirtualPath};
use ferry_ports::{DirEntry, FileKind, Metadata, Storage, StorageFactory};
use std::sync::Arc;

/// Where a virtual path lives.
pub(crate) struct Located {
    pub storage: Arc<dyn Storage>,
    /// The path inside `storage`'s root.
    pub path: VirtualPath,
    /// Which storage owns it: `None` for the home, else the mount's index.
    pub owner: Option<usize>,
    /// The virtual path of `storage`'s root: the mount point, or `/`.
    base: VirtualPath,
}

impl Located {
    /// `inner`, a path inside this storage, as the user's virtual path.
    pub fn virtual_of(&self, inner: &VirtualPath) -> VirtualPath {
        if self.base.is_root() {
            return inner.clone();
        }
        // Joining two valid virtual paths cannot fail (neither holds a NUL).
        self.base
            .join(inner.as_str())
            .unwrap_or_else(|_| self.base.clone())
    }

    /// `path` as the user's virtual path.
    pub fn virtual_path(&self) -> VirtualPath {
        self.virtual_of(&self.path)
    }
}

/// The home and the mounted folders of one session. Each storage is its own
/// jail: a path located in a folder can never reach the home or another
/// folder, whatever `..` or symlink it holds.
#[derive(Clone)]
pub struct Storages {
    home: Arc<dyn Storage>,
    mounts: Vec<VirtualFolder>,
    /// One storage per mount, in the order of `mounts`.
    folders: Vec<Arc<dyn Storage>>,
}

impl Storages {
    /// A home with nothing mounted in it.
    pub fn home_only(home: Arc<dyn Storage>) -> Self {
        Self {
            home,
            mounts: Vec::new(),
            folders: Vec::new(),
        }
    }

    /// The storages of `user`'s home and mounts, each root created when
    /// missing, and the home directories that lead to each mount point too,
    /// so that every mount is reachable by listing.
    pub async fn open(factory: &dyn StorageFactory, user: &User) -> Result<Self> {
        let home = factory.storage_for(&user.home_dir, &user.filesystem)?;
        home.ensure_root().await?;
        let mut folders = Vec::with_capacity(user.virtual_folders.len());
        for mount in &user.virtual_folders {
            let folder = &mount.folder;
            let storage = factory.storage_for(&folder.mapped_path, &folder.filesystem)?;
            storage.ensure_root().await?;
            create_parents(home.as_ref(), &mount.virtual_path).await?;
            folders.push(storage);
        }
        Ok(Self {
            home,
            mounts: user.virtual_folders.clone(),
            folders,
        })
    }

    // LIMITATION: a symlink resolves inside the storage that holds it, so a
    // link in the home whose target lies under a mount point reaches the
    // home's own directory hidden by the mount, not the folder.
    /// The storage that owns `path` and the path inside it: the mount with
    /// the longest virtual path that is `path` or one of its ancestors, else
    /// the home.
    pub(crate) fn locate(&self, path: &VirtualPath) -> Located {
        let Some(i) = owning_mount(&self.mounts, path) else {
            return Located {
                storage: self.home.clone(),
                path: path.clone(),
                owner: None,
                base: VirtualPath::root(),
            };
        };
        let base = self.mounts[i].virtual_path.clone();
        Located {
            storage: self.folders[i].clone(),
            path: path.strip_prefix(&base).unwrap_or_else(VirtualPath::root),
            owner: Some(i),
            base,
        }
    }

    /// True when `path` is a mount point or has one below it: removing or
    /// renaming it would pull a mount out from under the user.
    pub(crate) fn holds_mount(&self, path: &VirtualPath) -> bool {
        self.mounts.iter().any(|m| m.virtual_path.starts_with(path))
    }

    /// True when `path` is exactly a mount point.
    pub(crate) fn is_mount_point(&self, path: &VirtualPath) -> bool {
        self.mounts.iter().any(|m| m.virtual_path == *path)
    }

    /// The entries that the mount points directly inside `dir` add to its
    /// listing, each described by its folder's root.
    pub(crate) async fn mount_entries(&self, dir: &VirtualPath) -> Vec<DirEntry> {
        let mut entries = Vec::new();
        for (mount, storage) in self.mounts.iter().zip(&self.folders) {
            if mount.virtual_path.parent() != *dir {
                continue;
            }
            let Some(name) = mount.virtual_path.file_name() else {
                continue;
            };
            let metadata = match storage.stat(&VirtualPath::root()).await {
                Ok(metadata) => metadata,
                Err(e) => {
                    tracing::warn!(folder = %mount.folder.name, error = %e,
                        "cannot stat a virtual folder's root");
                    PLACEHOLDER_DIR
                }
            };
            entries.push(DirEntry {
                name: name.to_owned(),
                metadata,
            });
        }
        entries
    }
}

/// How a mount point whose root cannot be read is listed: a directory with
/// no permission bits, so clients show it without promising access.
const PLACEHOLDER_DIR: Metadata = Metadata {
    kind: FileKind::Dir,
    size: 0,
    permissions: 0,
    uid: 0,
    gid: 0,
    atime: 0,
    mtime: 0,
};

/// Creates the home directories above mount point `at` that are missing.
async fn create_parents(home: &dyn Storage, at: &VirtualPath) -> Result<()> {
    let mut dir = VirtualPath::root();
    let parents: Vec<&str> = at.components().collect();
    for name in parents.iter().take(parents.len().saturating_sub(1)) {
        dir = dir.join(name)?;
        match home.create_dir(&dir, None).await {
            Err(e) if e.kind() != ErrorKind::Conflict => return Err(e),
            _ => {}
        }
    }
    Ok(())
}
