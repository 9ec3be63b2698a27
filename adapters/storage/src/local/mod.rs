//! Local disk: a user's home is a directory tree on this machine.
//!
//! Every call resolves its path through the [`jail`] and then works on
//! descriptors only. Calls run inline on the async runtime: each is one or a
//! few short system calls on a local file system.

// LIMITATION: the system calls block the runtime thread that makes them, so
// a home on a slow or hung network file system (NFS) stalls that thread's
// other sessions; local disks answer fast enough for this to be the faster
// choice (a blocking-pool hop per request halves throughput).

mod attrs;
mod errors;
mod handle;
mod jail;
mod listing;

pub use handle::{LocalFile, MAX_READ};

use async_trait::async_trait;
use errors::{Step, at, sort_io};
use ferry_domain::{Error, Result, VirtualPath};
use ferry_ports::{
    Capabilities, DirStream, FileHandle, FileKind, Metadata, OpenOptions, SetAttributes, StatVfs,
    Storage,
};
use jail::Jail;
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Mode of a new file when the client gives none, before the umask (as OpenSSH).
const DEFAULT_FILE_MODE: u32 = 0o666;
/// Mode of a new directory when the client gives none, before the umask.
const DEFAULT_DIR_MODE: u32 = 0o777;
/// Mode of a home directory created by [`Storage::ensure_root`].
const ROOT_MODE: u32 = 0o700;

/// A [`Storage`] over a directory tree on local disk, rooted at a user's home.
///
/// Nothing outside the root is reachable: no `..`, no symlink (whether a
/// client made it or it was already on disk, absolute or relative, as the
/// last component or as a parent directory), and no race between a check and
/// its use, because the kernel resolves every path inside the root
/// (`openat2` with `RESOLVE_IN_ROOT`). A symlink's absolute target is read
/// from the root: `/etc/passwd` means `<root>/etc/passwd`.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    jail: Jail,
}

impl LocalStorage {
    /// A storage rooted at `root`, which need not exist yet (see
    /// [`Storage::ensure_root`]).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            jail: Jail::new(root.into()),
        }
    }

    /// The real root directory. For the operator and the logs only: a
    /// client never sees it.
    pub fn root(&self) -> &Path {
        self.jail.root()
    }

    /// Opens a directory of the tree for listing.
    fn open_dir(&self, path: &VirtualPath) -> Result<OwnedFd> {
        // Check the kind on an O_PATH descriptor first: O_DIRECTORY alone
        // cannot tell a missing parent from a final component that is a file.
        let located = self.jail.locate(path)?;
        if attrs::fstat(&located)?.kind != FileKind::Dir {
            return Err(Error::invalid("not a directory"));
        }
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        rustix::fs::openat(&located, ".", flags, Mode::empty()).map_err(at(Step::Act))
    }
}

#[async_trait]
impl Storage for LocalStorage {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            random_writes: true,
            append: true,
            symlinks: true,
            chmod: true,
            chown: true,
            set_times: true,
            atomic_rename: true,
            rename_dirs: true,
            server_side_copy: false,
        }
    }

    async fn ensure_root(&self) -> Result<()> {
        // The root and its parents are the operator's configuration, not a
        // client's path, so a plain recursive create is right here.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(ROOT_MODE)
            .create(self.jail.root())
            .map_err(|e| sort_io(&e, Step::Act))
    }

    async fn resolve(&self, path: &VirtualPath, follow: bool) -> Result<VirtualPath> {
        self.jail.resolve(path, follow)
    }

    async fn stat(&self, path: &VirtualPath) -> Result<Metadata> {
        attrs::fstat(self.jail.locate(path)?)
    }

    async fn lstat(&self, path: &VirtualPath) -> Result<Metadata> {
        match self.jail.parent(path)? {
            Some((dir, name)) => rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW)
                .map(|stat| attrs::metadata(&stat))
                .map_err(at(Step::Act)),
            None => attrs::fstat(self.jail.locate(path)?),
        }
    }

    async fn open(&self, path: &VirtualPath, options: OpenOptions) -> Result<Arc<dyn FileHandle>> {
        let access = Access::of(&options);
        // O_NONBLOCK keeps a FIFO on disk from blocking the open; it is
        // refused below and the flag is cleared for a regular file.
        let fd = self
            .jail
            .open(path, access.flags | OFlags::NONBLOCK, access.mode)?;
        match attrs::fstat(&fd)?.kind {
            FileKind::File => {}
            FileKind::Dir => return Err(Error::invalid("is a directory")),
            _ => return Err(Error::invalid("not a regular file")),
        }
        let flags = rustix::fs::fcntl_getfl(&fd).map_err(at(Step::Act))?;
        rustix::fs::fcntl_setfl(&fd, flags - OFlags::NONBLOCK).map_err(at(Step::Act))?;
        Ok(Arc::new(LocalFile::new(
            fd,
            access.readable,
            access.writable,
        )))
    }

    async fn read_dir(&self, path: &VirtualPath) -> Result<DirStream> {
        listing::stream(self.open_dir(path)?)
    }

    async fn create_dir(&self, path: &VirtualPath, permissions: Option<u32>) -> Result<()> {
        let (dir, name) = self.jail.parent(path)?.ok_or_else(exists)?;
        let mode = new_mode(permissions, DEFAULT_DIR_MODE);
        rustix::fs::mkdirat(&dir, name, mode).map_err(at(Step::Act))
    }

    async fn remove_dir(&self, path: &VirtualPath) -> Result<()> {
        let (dir, name) = self.jail.parent(path)?.ok_or_else(root_fixed)?;
        rustix::fs::unlinkat(&dir, name, AtFlags::REMOVEDIR).map_err(at(Step::RemoveDir))
    }

    async fn remove_file(&self, path: &VirtualPath) -> Result<()> {
        let (dir, name) = self
            .jail
            .parent(path)?
            .ok_or_else(|| Error::invalid("is a directory"))?;
        rustix::fs::unlinkat(&dir, name, AtFlags::empty()).map_err(at(Step::Act))
    }

    async fn rename(&self, from: &VirtualPath, to: &VirtualPath, replace: bool) -> Result<()> {
        let (from_dir, from_name) = self.jail.parent(from)?.ok_or_else(root_fixed)?;
        let (to_dir, to_name) = match self.jail.parent(to)? {
            Some(found) => found,
            None if replace => return Err(root_fixed()),
            None => return Err(exists()),
        };
        let flags = if replace {
            RenameFlags::empty()
        } else {
            RenameFlags::NOREPLACE
        };
        // LIMITATION: a file system without RENAME_NOREPLACE (some network
        // file systems) answers EINVAL, reported as invalid input.
        rustix::fs::renameat_with(&from_dir, from_name, &to_dir, to_name, flags)
            .map_err(at(Step::Act))
    }

    async fn symlink(&self, target: &str, link: &VirtualPath) -> Result<()> {
        if target.is_empty() {
            return Err(Error::invalid("empty symlink target"));
        }
        let (dir, name) = self.jail.parent(link)?.ok_or_else(exists)?;
        rustix::fs::symlinkat(target, &dir, name).map_err(at(Step::Act))
    }

    async fn read_link(&self, path: &VirtualPath) -> Result<String> {
        let not_a_link = || Error::invalid("not a symbolic link");
        let (dir, name) = self.jail.parent(path)?.ok_or_else(not_a_link)?;
        let target = rustix::fs::readlinkat(&dir, name, Vec::new()).map_err(at(Step::Act))?;
        // LIMITATION: a target that is not UTF-8 is returned with replacement characters.
        Ok(target.to_string_lossy().into_owned())
    }

    async fn set_attributes(&self, path: &VirtualPath, attributes: &SetAttributes) -> Result<()> {
        if attributes.size.is_some() {
            // Truncating needs a descriptor open for writing, which then
            // carries the other changes too.
            let flags = OFlags::WRONLY | OFlags::NONBLOCK;
            let fd = self.jail.open(path, flags, Mode::empty())?;
            return attrs::apply_to_open(fd.as_fd(), attributes);
        }
        let located = self.jail.locate(path)?;
        attrs::apply_to_located(located.as_fd(), attributes)
    }

    async fn statvfs(&self, path: &VirtualPath) -> Result<StatVfs> {
        attrs::statvfs(self.jail.locate(path)?)
    }
}

/// How a file is opened, from the SFTP-style options.
struct Access {
    flags: OFlags,
    mode: Mode,
    readable: bool,
    writable: bool,
}

impl Access {
    fn of(options: &OpenOptions) -> Self {
        // Appending or truncating is writing, whatever the write flag says;
        // with neither read nor write the file is opened for reading.
        let writable = options.write || options.append || options.truncate;
        let readable = options.read || !writable;
        let mut flags = match (readable, writable) {
            (true, true) => OFlags::RDWR,
            (false, true) => OFlags::WRONLY,
            _ => OFlags::RDONLY,
        };
        flags.set(OFlags::APPEND, options.append);
        flags.set(OFlags::TRUNC, options.truncate);
        flags.set(OFlags::CREATE, options.create);
        flags.set(OFlags::EXCL, options.create && options.exclusive);
        // openat2 refuses a mode unless it creates the file.
        let mode = if options.create {
            new_mode(options.permissions, DEFAULT_FILE_MODE)
        } else {
            Mode::empty()
        };
        Self {
            flags,
            mode,
            readable,
            writable,
        }
    }
}

/// The mode for a new file or directory: the client's bits or the default;
/// the kernel then applies the process umask, as it does for OpenSSH.
fn new_mode(permissions: Option<u32>, default: u32) -> Mode {
    Mode::from_raw_mode(permissions.unwrap_or(default) & attrs::PERMISSION_BITS)
}

fn exists() -> Error {
    Error::conflict("file exists")
}

fn root_fixed() -> Error {
    Error::permission_denied("the root cannot be removed, renamed or replaced")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_map_to_open_flags() {
        let append = Access::of(&OpenOptions {
            append: true,
            ..Default::default()
        });
        assert!(append.writable && !append.readable);
        assert!(append.flags.contains(OFlags::WRONLY | OFlags::APPEND));
        assert!(append.mode.is_empty());

        let create = OpenOptions {
            read: true,
            write: true,
            create: true,
            exclusive: true,
            permissions: Some(0o100_640),
            ..Default::default()
        };
        let create = Access::of(&create);
        assert!(
            create
                .flags
                .contains(OFlags::RDWR | OFlags::CREATE | OFlags::EXCL)
        );
        assert_eq!(create.mode.as_raw_mode(), 0o640);

        let none = Access::of(&OpenOptions::default());
        assert!(none.readable && !none.writable);
        assert_eq!(none.flags, OFlags::RDONLY);
    }

    #[test]
    fn exclusive_needs_create() {
        let access = Access::of(&OpenOptions {
            write: true,
            exclusive: true,
            ..Default::default()
        });
        assert!(!access.flags.contains(OFlags::EXCL));
    }
}
