//! SFTPGo's `BaseVirtualFolder` (a folder on its own) and `VirtualFolder`
//! (a folder mounted in a user's view).

use super::filesystem::{FilesystemOut, filesystem_from_wire};
use super::nullable;
use ferry_domain::{Error, Folder, FolderName, Result, Username, VirtualFolder, VirtualPath};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A folder as a client submits it. Fields the server manages (`id`,
/// `used_quota_*`, `last_quota_update`, `users`) are not read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct FolderIn {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    mapped_path: String,
    #[serde(deserialize_with = "nullable")]
    description: String,
    #[serde(deserialize_with = "nullable")]
    filesystem: Map<String, Value>,
}

impl FolderIn {
    /// The folder for `POST /folders`; the core checks the mapped path.
    pub fn try_into_domain(self) -> Result<Folder> {
        Ok(Folder {
            mapped_path: self.mapped_path,
            description: self.description,
            filesystem: filesystem_from_wire(self.filesystem)?,
            ..Folder::named(FolderName::parse(&self.name)?)
        })
    }

    /// The folder for `PUT /folders/{name}`: the path names the folder and a
    /// name in the body is ignored, so a rename cannot happen by accident.
    pub fn try_into_update(mut self, name: &FolderName) -> Result<Folder> {
        self.name = name.as_str().to_owned();
        self.try_into_domain()
    }
}

/// A folder as the API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct FolderOut<'a> {
    id: i64,
    name: &'a str,
    mapped_path: &'a str,
    description: &'a str,
    used_quota_size: i64,
    used_quota_files: i64,
    last_quota_update: i64,
    /// Shown on the folder endpoints, left out inside a user's mounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    users: Option<&'a [Username]>,
    filesystem: FilesystemOut,
}

impl<'a> FolderOut<'a> {
    /// The folder with its users, for the folder endpoints.
    pub fn from_domain(folder: &'a Folder) -> Self {
        Self {
            users: Some(&folder.users),
            ..Self::without_users(folder)
        }
    }

    fn without_users(folder: &'a Folder) -> Self {
        Self {
            id: folder.id,
            name: folder.name.as_str(),
            mapped_path: &folder.mapped_path,
            description: &folder.description,
            used_quota_size: folder.used_quota_size,
            used_quota_files: folder.used_quota_files,
            last_quota_update: folder.last_quota_update,
            users: None,
            filesystem: FilesystemOut::from_domain(&folder.filesystem),
        }
    }
}

/// A mount as a client submits it inside a user: the folder is named, and
/// anything else about the folder (`mapped_path`, ...) is not read.
// LIMITATION: SFTPGo's `subpath` (mount only a sub-tree of the folder, not
// yet in a SFTPGo release) is not read, so the whole folder is mounted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct VirtualFolderIn {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    virtual_path: String,
    #[serde(deserialize_with = "nullable")]
    quota_size: i64,
    #[serde(deserialize_with = "nullable")]
    quota_files: i64,
}

impl VirtualFolderIn {
    /// The mount, with an absolute virtual path normalised; the core checks
    /// the rest (not `/`, no overlap, the folder exists).
    pub fn try_into_domain(self) -> Result<VirtualFolder> {
        let name = FolderName::parse(&self.name)?;
        if !self.virtual_path.starts_with('/') {
            return Err(Error::invalid(format!(
                "the virtual_path of the virtual folder {:?} must be an absolute path, \
                 actual value: {:?}",
                self.name, self.virtual_path
            )));
        }
        Ok(VirtualFolder {
            folder: Folder::named(name),
            virtual_path: VirtualPath::parse(&self.virtual_path)?,
            quota_size: self.quota_size,
            quota_files: self.quota_files,
        })
    }
}

/// A mount as the API shows it inside a user: the folder's own fields and
/// the mount's.
#[derive(Debug, Serialize)]
pub(crate) struct VirtualFolderOut<'a> {
    #[serde(flatten)]
    folder: FolderOut<'a>,
    virtual_path: &'a str,
    quota_size: i64,
    quota_files: i64,
}

impl<'a> VirtualFolderOut<'a> {
    pub fn from_domain(mount: &'a VirtualFolder) -> Self {
        Self {
            folder: FolderOut::without_users(&mount.folder),
            virtual_path: mount.virtual_path.as_str(),
            quota_size: mount.quota_size,
            quota_files: mount.quota_files,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<Folder> {
        serde_json::from_value::<FolderIn>(body)
            .map_err(|e| Error::invalid(e.to_string()))?
            .try_into_domain()
    }

    #[test]
    fn a_folder_is_read_and_shown_with_sftpgo_names() {
        let mut folder = parse(json!({"name": "shared", "mapped_path": "/srv/shared",
            "description": "d", "id": 9, "used_quota_size": 5, "users": ["x"],
            "filesystem": {"provider": 0, "s3config": {"bucket": "b"}}}))
        .unwrap();
        assert_eq!(folder.id, 0);
        assert_eq!(folder.used_quota_size, 0);
        assert!(folder.users.is_empty());
        folder.users = vec![Username::parse("alice").unwrap()];
        let out = serde_json::to_value(FolderOut::from_domain(&folder)).unwrap();
        assert_eq!(
            out,
            json!({"id": 0, "name": "shared", "mapped_path": "/srv/shared", "description": "d",
                "used_quota_size": 0, "used_quota_files": 0, "last_quota_update": 0,
                "users": ["alice"], "filesystem": {"provider": 0}})
        );
    }

    #[test]
    fn bad_names_and_providers_are_refused() {
        for (body, needle) in [
            (json!({"mapped_path": "/x"}), "mandatory"),
            (json!({"name": "a b", "mapped_path": "/x"}), "not valid"),
            (
                json!({"name": "f", "filesystem": {"provider": "s3"}}),
                "provider must be an integer",
            ),
        ] {
            let err = parse(body).unwrap_err();
            assert!(
                err.message().contains(needle),
                "{needle}: {}",
                err.message()
            );
        }
    }

    #[test]
    fn a_mount_shows_its_folder_and_its_place() {
        let mount = VirtualFolderIn {
            name: "f".into(),
            virtual_path: "/in/".into(),
            quota_size: -1,
            quota_files: 0,
        }
        .try_into_domain()
        .unwrap();
        let out = serde_json::to_value(VirtualFolderOut::from_domain(&mount)).unwrap();
        assert_eq!(out["name"], "f");
        assert_eq!(out["virtual_path"], "/in");
        assert_eq!(out["quota_size"], -1);
        assert!(out.get("users").is_none(), "{out}");
    }
}
