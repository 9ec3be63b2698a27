//! The one place where operating-system errors become Ferry's error kinds.
//!
//! Client-facing messages are fixed strings: they never carry a server path.
//! The OS text goes into the detail, which is for the log only.

use ferry_domain::{Error, ErrorKind};
use rustix::io::Errno;
use std::io;

/// Which step of an operation failed; some errors mean different things for
/// a path lookup and for the act on the final component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Resolving a path inside the jail (`openat2`).
    Resolve,
    /// Acting on the object itself: create, remove, rename, read, write.
    Act,
    /// Removing a directory, where `EEXIST` means "not empty".
    RemoveDir,
}

/// Sorts an errno raised at `step` into an error kind with a safe message.
pub(crate) fn sort(errno: Errno, step: Step) -> Error {
    let conflict = |message| Error::new(ErrorKind::Conflict, message);
    let quota = |message| Error::new(ErrorKind::QuotaExceeded, message);
    match errno {
        Errno::NOENT => Error::not_found("no such file or directory"),
        // A file where a directory was expected on the way is a missing path.
        Errno::NOTDIR if step == Step::Resolve => Error::not_found("no such file or directory"),
        Errno::NOTDIR => Error::invalid("not a directory"),
        Errno::ACCESS | Errno::PERM => Error::permission_denied("permission denied"),
        Errno::ROFS => Error::permission_denied("read-only file system"),
        // ELOOP: a symlink loop or a magic link; EXDEV: the kernel saw an escape.
        Errno::LOOP => Error::permission_denied("too many levels of symbolic links"),
        Errno::XDEV if step == Step::Resolve => Error::permission_denied("path escapes the root"),
        Errno::XDEV => Error::unsupported("cannot move across file systems"),
        Errno::EXIST if step == Step::RemoveDir => conflict("directory not empty"),
        Errno::EXIST => conflict("file exists"),
        Errno::NOTEMPTY => conflict("directory not empty"),
        Errno::BUSY | Errno::TXTBSY => conflict("resource busy"),
        Errno::NOSPC | Errno::DQUOT => quota("no space left"),
        Errno::FBIG => quota("file too large"),
        Errno::ISDIR => Error::invalid("is a directory"),
        Errno::INVAL => Error::invalid("invalid argument"),
        Errno::NAMETOOLONG => Error::invalid("file name too long"),
        Errno::NXIO | Errno::NODEV => Error::invalid("not a regular file"),
        Errno::AGAIN if step == Step::Resolve => {
            Error::unavailable("the path changed during lookup, try again")
        }
        Errno::NOSYS | Errno::OPNOTSUPP => Error::unsupported("not supported by this file system"),
        other => Error::internal(format_args!("local storage ({step:?}): {other}")),
    }
}

/// Sorts a standard I/O error; one without an OS code is internal.
pub(crate) fn sort_io(error: &io::Error, step: Step) -> Error {
    match Errno::from_io_error(error) {
        Some(errno) => sort(errno, step),
        None => Error::internal(format_args!("local storage ({step:?}): {error}")),
    }
}

/// A closure for `map_err` that sorts at `step`.
pub(crate) fn at(step: Step) -> impl Fn(Errno) -> Error {
    move |errno| sort(errno, step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_by_step() {
        let kind = |e, s| sort(e, s).kind();
        assert_eq!(kind(Errno::NOTDIR, Step::Resolve), ErrorKind::NotFound);
        assert_eq!(kind(Errno::NOTDIR, Step::Act), ErrorKind::InvalidInput);
        assert_eq!(
            kind(Errno::XDEV, Step::Resolve),
            ErrorKind::PermissionDenied
        );
        assert_eq!(kind(Errno::XDEV, Step::Act), ErrorKind::Unsupported);
        assert_eq!(
            sort(Errno::EXIST, Step::RemoveDir).message(),
            "directory not empty"
        );
        assert_eq!(sort(Errno::EXIST, Step::Act).message(), "file exists");
        assert_eq!(kind(Errno::DQUOT, Step::Act), ErrorKind::QuotaExceeded);
        assert_eq!(
            kind(Errno::LOOP, Step::Resolve),
            ErrorKind::PermissionDenied
        );
    }

    #[test]
    fn internal_errors_keep_the_os_text_out_of_the_message() {
        let error = sort(Errno::IO, Step::Act);
        assert_eq!(error.kind(), ErrorKind::Internal);
        assert_eq!(error.message(), "internal server error");
        assert!(error.detail().is_some_and(|d| d.contains("Act")));
    }

    #[test]
    fn io_errors_without_a_code_are_internal() {
        let error = sort_io(&io::Error::other("boom"), Step::Act);
        assert_eq!(error.kind(), ErrorKind::Internal);
        let error = sort_io(&io::Error::from_raw_os_error(28), Step::Act);
        assert_eq!(error.kind(), ErrorKind::QuotaExceeded);
    }
}
