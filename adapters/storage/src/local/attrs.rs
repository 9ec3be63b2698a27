//! Metadata in and out: `stat` results to the port's types, and attribute
//! changes applied through descriptors only (never through a path that the
//! kernel would resolve again outside the jail).

use super::errors::{Step, at};
use ferry_domain::{Error, Result};
use ferry_ports::{FileKind, Metadata, SetAttributes, StatVfs};
use rustix::fd::{AsFd, AsRawFd, BorrowedFd};
use rustix::fs::{AtFlags, FileType, Gid, Mode, Stat, Timespec, Timestamps, Uid};

/// Permission bits, including set-id and sticky bits, without the file type.
pub(crate) const PERMISSION_BITS: u32 = 0o7777;

/// Converts a `stat` result.
pub(crate) fn metadata(stat: &Stat) -> Metadata {
    let mode = stat.st_mode;
    Metadata {
        kind: kind(FileType::from_raw_mode(mode)),
        size: u64::try_from(stat.st_size).unwrap_or(0),
        permissions: mode & PERMISSION_BITS,
        uid: stat.st_uid,
        gid: stat.st_gid,
        // Times before 1970 are reported as the epoch: SFTP v3 times are unsigned.
        atime: u64::try_from(stat.st_atime).unwrap_or(0),
        mtime: u64::try_from(stat.st_mtime).unwrap_or(0),
    }
}

/// The port's kind for a file type.
pub(crate) fn kind(file_type: FileType) -> FileKind {
    match file_type {
        FileType::RegularFile => FileKind::File,
        FileType::Directory => FileKind::Dir,
        FileType::Symlink => FileKind::Symlink,
        _ => FileKind::Other,
    }
}

/// Metadata of an open descriptor.
pub(crate) fn fstat(fd: impl AsFd) -> Result<Metadata> {
    rustix::fs::fstat(fd)
        .map(|s| metadata(&s))
        .map_err(at(Step::Act))
}

/// File system statistics of the file system holding `fd`.
pub(crate) fn statvfs(fd: impl AsFd) -> Result<StatVfs> {
    let v = rustix::fs::fstatvfs(fd).map_err(at(Step::Act))?;
    Ok(StatVfs {
        block_size: v.f_bsize,
        fragment_size: v.f_frsize,
        blocks: v.f_blocks,
        blocks_free: v.f_bfree,
        blocks_available: v.f_bavail,
        files: v.f_files,
        files_free: v.f_ffree,
        files_available: v.f_favail,
        fs_id: v.f_fsid,
        flags: v.f_flag.bits(),
        name_max: v.f_namemax,
    })
}

/// Applies `attributes` to a descriptor opened for reading or writing (a
/// handle, or a file opened to be truncated). Owner first, so that a chown
/// cannot clear set-id bits the chmod asked for; times last, so the truncate
/// does not move the modification time the client set.
pub(crate) fn apply_to_open(fd: BorrowedFd<'_>, attributes: &SetAttributes) -> Result<()> {
    if let Some(size) = attributes.size {
        rustix::fs::ftruncate(fd, size).map_err(at(Step::Act))?;
    }
    if let Some((uid, gid)) = owner(attributes)? {
        rustix::fs::fchown(fd, uid, gid).map_err(at(Step::Act))?;
    }
    if let Some(permissions) = attributes.permissions {
        rustix::fs::fchmod(fd, mode(permissions)).map_err(at(Step::Act))?;
    }
    if let Some(times) = timestamps(attributes)? {
        rustix::fs::futimens(fd, &times).map_err(at(Step::Act))?;
    }
    Ok(())
}

/// Applies `attributes` except the size to an `O_PATH` descriptor, which
/// the `f*` calls refuse: the `AT_EMPTY_PATH` forms act on the descriptor's
/// own object without any lookup.
pub(crate) fn apply_to_located(fd: BorrowedFd<'_>, attributes: &SetAttributes) -> Result<()> {
    if let Some((uid, gid)) = owner(attributes)? {
        rustix::fs::chownat(fd, "", uid, gid, AtFlags::EMPTY_PATH).map_err(at(Step::Act))?;
    }
    if let Some(permissions) = attributes.permissions {
        chmod_located(fd, mode(permissions))?;
    }
    if let Some(times) = timestamps(attributes)? {
        rustix::fs::utimensat(fd, "", &times, AtFlags::EMPTY_PATH).map_err(at(Step::Act))?;
    }
    Ok(())
}

/// `fchmod` refuses `O_PATH` descriptors and `fchmodat` takes no
/// `AT_EMPTY_PATH` before Linux 6.6 (nor in rustix), so the mode is changed
/// through the descriptor's own entry in `/proc/self/fd`, a magic link to
/// exactly the object already resolved inside the jail.
// LIMITATION: chmod on a path (not on an open handle) needs /proc mounted.
fn chmod_located(fd: BorrowedFd<'_>, mode: Mode) -> Result<()> {
    let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
    rustix::fs::chmod(link.as_str(), mode).map_err(at(Step::Act))
}

fn mode(permissions: u32) -> Mode {
    Mode::from_raw_mode(permissions & PERMISSION_BITS)
}

type Owner = (Option<Uid>, Option<Gid>);

/// The new owner, if any; `u32::MAX` means "unchanged" to the kernel, so
/// it is refused rather than silently ignored.
fn owner(attributes: &SetAttributes) -> Result<Option<Owner>> {
    if attributes.uid.is_none() && attributes.gid.is_none() {
        return Ok(None);
    }
    if attributes.uid == Some(u32::MAX) || attributes.gid == Some(u32::MAX) {
        return Err(Error::invalid("invalid user or group id"));
    }
    Ok(Some((
        attributes.uid.map(Uid::from_raw),
        attributes.gid.map(Gid::from_raw),
    )))
}

fn timestamps(attributes: &SetAttributes) -> Result<Option<Timestamps>> {
    let Some((atime, mtime)) = attributes.times else {
        return Ok(None);
    };
    let at_second = |secs: u64| {
        let tv_sec = i64::try_from(secs).map_err(|_| Error::invalid("time out of range"))?;
        Ok::<_, Error>(Timespec { tv_sec, tv_nsec: 0 })
    };
    Ok(Some(Timestamps {
        last_access: at_second(atime)?,
        last_modification: at_second(mtime)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_unchanged_id_sentinel() {
        let attrs = SetAttributes {
            uid: Some(u32::MAX),
            ..Default::default()
        };
        assert!(owner(&attrs).is_err());
        let attrs = SetAttributes {
            gid: Some(7),
            ..Default::default()
        };
        assert_eq!(owner(&attrs).unwrap(), Some((None, Some(Gid::from_raw(7)))));
        assert_eq!(owner(&SetAttributes::default()).unwrap(), None);
    }

    #[test]
    fn refuses_times_beyond_the_kernel_range() {
        let attrs = SetAttributes {
            times: Some((u64::MAX, 1)),
            ..Default::default()
        };
        assert!(timestamps(&attrs).is_err());
    }

    #[test]
    fn masks_the_file_type_out_of_modes() {
        assert_eq!(mode(0o100_644).as_raw_mode(), 0o644);
        assert_eq!(mode(0o4755).as_raw_mode(), 0o4755);
    }
}
