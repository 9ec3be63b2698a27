//! The jail: the kernel resolves every path inside the root.
//!
//! Each lookup starts from a descriptor of the root and goes through
//! `openat2` with `RESOLVE_IN_ROOT`, so `..` stops at the root and every
//! symlink, absolute or relative, on disk or made by a client, is resolved as
//! if the root were `/`. Work on the final component then goes through that
//! descriptor or the one of its parent (`*at` calls on a single name), so
//! nothing is looked up twice and no rename in between can redirect it.

use super::errors::{Step, at};
use ferry_domain::{Result, VirtualPath};
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::path::{Path, PathBuf};

/// Magic links (`/proc/self/fd/*`) could point anywhere; they never resolve.
const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// `openat2` answers `EAGAIN` when a concurrent rename made a `..` unsafe to
/// follow; a few retries absorb honest races, an attacker gets an error.
const LOOKUP_ATTEMPTS: usize = 8;

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
        // The root is opened on every call, not cached, so a home that is
        // removed and created again is seen as it is now.
        let root_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let root =
            rustix::fs::open(&self.root, root_flags, Mode::empty()).map_err(at(Step::Resolve))?;
        let relative = relative(path);
        let mut attempt = 1;
        loop {
            let opened =
                rustix::fs::openat2(&root, relative, flags | OFlags::CLOEXEC, mode, RESOLVE);
            match opened {
                Err(Errno::AGAIN | Errno::INTR) if attempt < LOOKUP_ATTEMPTS => attempt += 1,
                other => return other.map_err(at(Step::Resolve)),
            }
        }
    }

    /// Opens `path` as an `O_PATH` descriptor, following a final symlink.
    pub(crate) fn locate(&self, path: &VirtualPath) -> Result<OwnedFd> {
        self.open(path, OFlags::PATH, Mode::empty())
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
