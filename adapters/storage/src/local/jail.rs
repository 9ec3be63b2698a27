//! The jail: the kernel resolves every path inside the root.
//!
//! Each lookup starts from a descriptor of the root and goes through
//! `openat2` with `RESOLVE_IN_ROOT`, so `..` stops at the root and every
//! symlink, absolute or relative, on disk or made by a client, is resolved as
//! if the root were `/`. Work on the final component then goes through that
//! descriptor or the one of its parent (`*at` calls on a single name), so
//! nothing is looked up twice and no rename in between can redirect it.

use super::errors::{Step, at, sort_io};
use ferry_domain::{Error, Result, VirtualPath};
use rustix::fd::{AsRawFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::path::{Path, PathBuf};

/// Magic links (`/proc/self/fd/*`) could point anywhere; they never resolve.
const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// `openat2` answers `EAGAIN` when a concurrent rename made a `..` unsafe to
/// follow; a few retries absorb honest races, an attacker gets an error.
const LOOKUP_ATTEMPTS: usize = 8;

/// Symlinks followed in one resolution before it gives up, the kernel's limit.
const MAX_LINK_HOPS: usize = 40;

/// A directory tree that paths cannot leave.
#[derive(Debug, Clone)]
pub(crate) struct Jail {
    root: PathBuf,
}

impl Jail {
    pub(crate) fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// The real root directory, for the operator's side only (never shown to a client).
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Opens `path` inside the root, following symlinks as if the root were `/`.
    /// `mode` must be empty unless `flags` create a file.
    pub(crate) fn open(&self, path: &VirtualPath, flags: OFlags, mode: Mode) -> Result<OwnedFd> {
        self.open_resolving(path, flags, mode, RESOLVE)
            .map_err(at(Step::Resolve))
    }

    fn open_resolving(
        &self,
        path: &VirtualPath,
        flags: OFlags,
        mode: Mode,
        resolve: ResolveFlags,
    ) -> std::result::Result<OwnedFd, Errno> {
        // The root is opened on every call, not cached, so a home that is
        // removed and created again is seen as it is now.
        let root_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let root = rustix::fs::open(&self.root, root_flags, Mode::empty())?;
        let relative = relative(path);
        let mut attempt = 1;
        loop {
            let opened =
                rustix::fs::openat2(&root, relative, flags | OFlags::CLOEXEC, mode, resolve);
            match opened {
                Err(Errno::AGAIN | Errno::INTR) if attempt < LOOKUP_ATTEMPTS => attempt += 1,
                other => return other,
            }
        }
    }

    /// Opens `path` as an `O_PATH` descriptor, following a final symlink.
    pub(crate) fn locate(&self, path: &VirtualPath) -> Result<OwnedFd> {
        self.open(path, OFlags::PATH, Mode::empty())
    }

    /// Where `path` really is inside the root: the directories on the way
    /// with every symlink resolved, and the last component as well when
    /// `follow` and it is a symlink. The last component need not exist.
    pub(crate) fn resolve(&self, path: &VirtualPath, follow: bool) -> Result<VirtualPath> {
        let mut path = path.clone();
        for _ in 0..MAX_LINK_HOPS {
            let Some(name) = path.file_name() else {
                return Ok(VirtualPath::root());
            };
            let parent = path.parent();
            let (dir, dir_path) = match self.plain_dir(&parent)? {
                Some(dir) => (dir, parent),
                None => {
                    let dir =
                        self.open(&parent, OFlags::PATH | OFlags::DIRECTORY, Mode::empty())?;
                    let root = self.open(&VirtualPath::root(), OFlags::PATH, Mode::empty())?;
                    let dir_path = inside(&self.real_path_of(&root)?, &self.real_path_of(&dir)?)?;
                    (dir, dir_path)
                }
            };
            let here = dir_path.join(name)?;
            if !follow {
                return Ok(here);
            }
            match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink => {
                    let target =
                        rustix::fs::readlinkat(&dir, name, Vec::new()).map_err(at(Step::Act))?;
                    let target = target.to_string_lossy();
                    path = if target.starts_with('/') {
                        VirtualPath::parse(&target)?
                    } else {
                        dir_path.join(&target)?
                    };
                }
                Ok(_) | Err(Errno::NOENT) => return Ok(here),
                Err(errno) => return Err(at(Step::Act)(errno)),
            }
        }
        Err(at(Step::Resolve)(Errno::LOOP))
    }

    /// Opens the directory `dir` when no symlink lies on the way to it, so
    /// that its real path is `dir` itself and need not be read back from
    /// the kernel (two `/proc` lookups per resolution otherwise); `None`
    /// when there is one.
    fn plain_dir(&self, dir: &VirtualPath) -> Result<Option<OwnedFd>> {
        let flags = OFlags::PATH | OFlags::DIRECTORY;
        let strict = RESOLVE.union(ResolveFlags::NO_SYMLINKS);
        match self.open_resolving(dir, flags, Mode::empty(), strict) {
            Ok(fd) => Ok(Some(fd)),
            Err(Errno::LOOP) => Ok(None),
            Err(errno) => Err(at(Step::Resolve)(errno)),
        }
    }

    /// The host path an open descriptor names now, as the kernel reports it.
    fn real_path_of(&self, fd: &OwnedFd) -> Result<PathBuf> {
        std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .map_err(|e| sort_io(&e, Step::Resolve))
    }

    /// Opens the directory holding `path`'s last component, for the `*at`
    /// calls that act on that component itself and never follow it. `None`
    /// for the root, which has no parent inside the jail.
    pub(crate) fn parent<'p>(&self, path: &'p VirtualPath) -> Result<Option<(OwnedFd, &'p str)>> {
        let Some(name) = path.file_name() else {
            return Ok(None);
        };
        let flags = OFlags::PATH | OFlags::DIRECTORY;
        let dir = self.open(&path.parent(), flags, Mode::empty())?;
        Ok(Some((dir, name)))
    }
}

/// `real`, a host path at or below the host path `root`, as a path of the tree.
fn inside(root: &Path, real: &Path) -> Result<VirtualPath> {
    // Every descriptor was opened below the root, so only a root that was
    // moved or removed meanwhile can land outside it: that path is gone.
    let rest = real
        .strip_prefix(root)
        .map_err(|_| Error::not_found("no such file or directory"))?;
    let rest = rest
        .to_str()
        .ok_or_else(|| Error::invalid("a name on the way is not UTF-8"))?;
    VirtualPath::parse(rest)
}

/// The path relative to the root; `.` for the root itself.
fn relative(path: &VirtualPath) -> &str {
    match path.as_str().trim_start_matches('/') {
        "" => ".",
        rest => rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_relative_to_the_root() {
        let vp = |raw| VirtualPath::parse(raw).unwrap();
        assert_eq!(relative(&VirtualPath::root()), ".");
        assert_eq!(relative(&vp("/a/b")), "a/b");
        assert_eq!(relative(&vp("../../etc")), "etc");
    }
}
