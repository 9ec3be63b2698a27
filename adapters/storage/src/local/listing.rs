//! Directory listings as lazy streams: entries are read from the kernel in
//! chunks (`getdents64` through `rustix::fs::Dir`) as the stream is polled.

use super::attrs;
use super::errors::{Step, at};
use ferry_domain::Result;
use ferry_ports::{DirEntry, DirStream};
use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, Dir};
use rustix::io::Errno;

/// A stream over the directory open on `fd` (opened for reading).
pub(crate) fn stream(fd: OwnedFd) -> Result<DirStream> {
    let dir = Dir::new(fd).map_err(at(Step::Act))?;
    Ok(Box::pin(futures::stream::iter(Entries { dir })))
}

/// The entries of a directory, each with its `lstat`, `.` and `..` left out.
struct Entries {
    dir: Dir,
}

impl Iterator for Entries {
    type Item = Result<DirEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let entry = match self.dir.read()? {
                Ok(entry) => entry,
                Err(errno) => return Some(Err(at(Step::Act)(errno))),
            };
            let name = entry.file_name();
            if name == c"." || name == c".." {
                continue;
            }
            let stat = self
                .dir
                .fd()
                .and_then(|fd| rustix::fs::statat(fd, name, AtFlags::SYMLINK_NOFOLLOW));
            match stat {
                Ok(stat) => {
                    // LIMITATION: a name that is not UTF-8 is listed with
                    // replacement characters and cannot be opened by that name.
                    let name = name.to_string_lossy().into_owned();
                    let metadata = attrs::metadata(&stat);
                    return Some(Ok(DirEntry { name, metadata }));
                }
                // Removed between readdir and lstat: it is simply gone.
                Err(Errno::NOENT) => continue,
                Err(errno) => return Some(Err(at(Step::Act)(errno))),
            }
        }
    }
}
