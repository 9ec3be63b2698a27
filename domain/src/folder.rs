//! Virtual folders: directory trees kept outside any home, each mounted into
//! the views of one or more users at a virtual path of their choosing.

use crate::error::{Error, Result};
use crate::filesystem::{FilesystemConfig, FsProvider};
use crate::naming::{FolderName, Username};
use crate::vpath::VirtualPath;

/// A virtual folder as SFTPGo defines it (`BaseVirtualFolder`). Times are
/// Unix milliseconds, 0 for never.
// LIMITATION: used_quota_size, used_quota_files and last_quota_update change
// through quota scans and operators' usage changes only; no transfer updates
// them yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Folder {
    pub id: i64,
    pub name: FolderName,
    /// Absolute path of the folder's root on the server (local disk).
    pub mapped_path: String,
    pub description: String,
    pub used_quota_size: i64,
    pub used_quota_files: i64,
    pub last_quota_update: i64,
    pub filesystem: FilesystemConfig,
    /// The users that mount this folder, by name. Derived from their mounts
    /// when read; never written through a folder.
    pub users: Vec<Username>,
}

impl Folder {
    /// A folder known only by its name, as a user's mount names it before the
    /// stored folder is looked up.
    pub fn named(name: FolderName) -> Self {
        Self {
            id: 0,
            name,
            mapped_path: String::new(),
            description: String::new(),
            used_quota_size: 0,
            used_quota_files: 0,
            last_quota_update: 0,
            filesystem: FilesystemConfig::local(),
            users: Vec::new(),
        }
    }

    /// Checks the filesystem and the mapped path, and normalises the path
    /// (`/srv//a/./b/` becomes `/srv/a/b`).
    pub fn validate(&mut self) -> Result<()> {
        self.filesystem.validate()?;
        if self.filesystem.provider()? == FsProvider::Local {
            self.mapped_path = normalise_mapped_path(&self.mapped_path)?;
        }
        Ok(())
    }
}

/// A local mapped path, absolute and without `.`, `..`, empty components or
/// a trailing slash. `..` is resolved by name, as the operator wrote it.
fn normalise_mapped_path(raw: &str) -> Result<String> {
    if !raw.starts_with('/') {
        return Err(Error::invalid(format!(
            "mapped_path must be an absolute path, actual value: {raw:?}"
        )));
    }
    // Normalised as a client path is: `.` and `..` resolved lexically.
    let path = VirtualPath::parse(raw)
        .map_err(|e| Error::invalid(format!("mapped_path {}", e.message())))?;
    Ok(path.as_str().to_owned())
}

/// One mount of a folder in a user's view (SFTPGo's `VirtualFolder`).
#[derive(Debug, Clone, PartialEq)]
pub struct VirtualFolder {
    /// The mounted folder. As submitted only its name counts; as read from
    /// storage every field is filled in.
    pub folder: Folder,
    /// Where the folder appears in the user's view; never the root.
    pub virtual_path: VirtualPath,
    /// Bytes allowed in the folder: 0 unlimited, -1 counted in the user's quota.
    pub quota_size: i64,
    /// Files allowed in the folder: 0 unlimited, -1 counted in the user's quota.
    pub quota_files: i64,
}

// LIMITATION: the quota_size and quota_files of a mount are validated,
// stored and returned, but nothing enforces them yet.
impl VirtualFolder {
    fn validate(&self) -> Result<()> {
        if self.virtual_path.is_root() {
            return Err(Error::invalid(format!(
                "the virtual folder {:?} cannot be mounted at \"/\"",
                self.folder.name.as_str()
            )));
        }
        for (what, value) in [
            ("quota_size", self.quota_size),
            ("quota_files", self.quota_files),
        ] {
            if value < -1 {
                return Err(Error::invalid(format!(
                    "invalid {what} {value} for the virtual folder {:?}: it must be -1 or more",
                    self.folder.name.as_str()
                )));
            }
        }
        Ok(())
    }
}

/// Checks a user's mounts: each one valid, no folder mounted twice, and no
/// mount at, above or below another one's virtual path.
pub fn validate_mounts(mounts: &[VirtualFolder]) -> Result<()> {
    for (i, mount) in mounts.iter().enumerate() {
        mount.validate()?;
        for other in &mounts[..i] {
            if other.folder.name == mount.folder.name {
                return Err(Error::invalid(format!(
                    "the virtual folder {:?} is mounted more than once",
                    mount.folder.name.as_str()
                )));
            }
            let (a, b) = (&other.virtual_path, &mount.virtual_path);
            if a.starts_with(b) || b.starts_with(a) {
                return Err(Error::invalid(format!(
                    "the virtual paths {a:?} and {b:?} overlap",
                    a = a.as_str(),
                    b = b.as_str()
                )));
            }
        }
    }
    Ok(())
}

/// The index of the mount that owns `path`: the one whose virtual path is
/// `path` or its closest ancestor; `None` when the home owns it. Valid
/// mounts never nest, but should they, the longest virtual path wins.
pub fn owning_mount(mounts: &[VirtualFolder], path: &VirtualPath) -> Option<usize> {
    mounts
        .iter()
        .enumerate()
        .filter(|(_, m)| path.starts_with(&m.virtual_path))
        .max_by_key(|(_, m)| m.virtual_path.as_str().len())
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(name: &str, at: &str) -> VirtualFolder {
        VirtualFolder {
            folder: Folder::named(FolderName::parse(name).unwrap()),
            virtual_path: VirtualPath::parse(at).unwrap(),
            quota_size: -1,
            quota_files: -1,
        }
    }

    fn folder(mapped_path: &str) -> Folder {
        Folder {
            mapped_path: mapped_path.into(),
            ..Folder::named(FolderName::parse("f").unwrap())
        }
    }

    #[test]
    fn mapped_paths_are_absolute_and_normalised() {
        let mut f = folder("/srv//data/./x/../y/");
        f.validate().unwrap();
        assert_eq!(f.mapped_path, "/srv/data/y");
        for bad in ["", "srv/data", "./x", "/a\0b"] {
            assert!(folder(bad).validate().is_err(), "{bad:?}");
        }
        let mut root = folder("/..");
        root.validate().unwrap();
        assert_eq!(root.mapped_path, "/");
    }

    #[test]
    fn other_providers_are_refused() {
        let mut f = folder("/srv");
        f.filesystem.provider = 1;
        assert!(f.validate().is_err());
    }

    #[test]
    fn mounts_cannot_repeat_or_nest() {
        assert!(validate_mounts(&[mount("a", "/a"), mount("b", "/b")]).is_ok());
        assert!(validate_mounts(&[mount("a", "/a"), mount("b", "/ab")]).is_ok());
        assert!(validate_mounts(&[mount("a", "/a"), mount("a", "/b")]).is_err());
        assert!(validate_mounts(&[mount("a", "/a"), mount("b", "/a")]).is_err());
        assert!(validate_mounts(&[mount("a", "/a"), mount("b", "/a/b")]).is_err());
        assert!(validate_mounts(&[mount("a", "/a/b"), mount("b", "/a")]).is_err());
        assert!(validate_mounts(&[mount("a", "/")]).is_err());
        let mut low = mount("a", "/a");
        low.quota_files = -2;
        assert!(validate_mounts(&[low]).is_err());
    }

    #[test]
    fn the_owning_mount_is_found_by_component() {
        let mounts = [mount("a", "/a"), mount("b", "/x/b"), mount("c", "/x/b/c")];
        let at = |p: &str| owning_mount(&mounts, &VirtualPath::parse(p).unwrap());
        assert_eq!(at("/a"), Some(0));
        assert_eq!(at("/a/deep/file"), Some(0));
        assert_eq!(at("/ab"), None);
        assert_eq!(at("/x"), None);
        assert_eq!(at("/x/b/cc"), Some(1));
        assert_eq!(at("/x/b/c/d"), Some(2));
        assert_eq!(at("/"), None);
    }
}
