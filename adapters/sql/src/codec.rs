//! Between domain accounts and rows. Encoding writes the structured fields as
//! JSON documents; decoding goes back through the domain's validating
//! constructors, so a row edited behind Ferry's back (or written by a buggy
//! version) is reported as an `Internal` error naming the row and the field,
//! never trusted and never a panic.
//!
//! Whole-account rules (`User::validate`: home directory, keys, filters,
//! filesystem) are checked by the use cases before a write, and not again on
//! read, so that a rule tightened in a later version cannot make stored
//! accounts unreadable; filters and filesystem settings are still type-checked
//! by their deserializers.

use crate::entity::{admins, folders, users, users_folders};
use ferry_domain::{
    Admin, AdminFilters, AdminPermission, Error, FilesystemConfig, Folder, FolderName, Permission,
    Result, User, UserFilters, UserPermissions, UserStatus, Username, VirtualFolder, VirtualPath,
};
use sea_orm::ActiveValue::{NotSet, Set};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::fmt::Display;

/// The row for `user`, without its id: the database assigns ids on insert and
/// an update never changes them.
pub fn user_to_row(user: &User) -> Result<users::ActiveModel> {
    let enc = Encoder::new("user", user.username.as_str());
    Ok(users::ActiveModel {
        id: NotSet,
        username: Set(user.username.as_str().to_owned()),
        status: Set(status_code(user.status)),
        email: Set(user.email.clone()),
        description: Set(user.description.clone()),
        expiration_date: Set(user.expiration_date),
        password_hash: Set(user.password_hash.clone()),
        public_keys: Set(enc.json("public_keys", &user.public_keys)?),
        home_dir: Set(user.home_dir.clone()),
        uid: Set(user.uid),
        gid: Set(user.gid),
        max_sessions: Set(user.max_sessions),
        quota_size: Set(user.quota_size),
        quota_files: Set(user.quota_files),
        permissions: Set(enc.json("permissions", &user.permissions)?),
        used_quota_size: Set(user.used_quota_size),
        used_quota_files: Set(user.used_quota_files),
        last_quota_update: Set(user.last_quota_update),
        upload_bandwidth: Set(user.upload_bandwidth),
        download_bandwidth: Set(user.download_bandwidth),
        filters: Set(enc.json("filters", &user.filters)?),
        filesystem: Set(enc.json("filesystem", &user.filesystem)?),
        additional_info: Set(user.additional_info.clone()),
        created_at: Set(user.created_at),
        updated_at: Set(user.updated_at),
        last_login: Set(user.last_login),
    })
}

/// The user stored in `row`, validated.
pub fn user_from_row(row: users::Model) -> Result<User> {
    let ctx = Row::new("users", row.id);
    let permissions: BTreeMap<String, Vec<Permission>> =
        ctx.json("permissions", &row.permissions)?;
    Ok(User {
        id: row.id,
        status: ctx.check("status", UserStatus::from_code(row.status.into()))?,
        username: ctx.check("username", Username::parse(&row.username))?,
        email: row.email,
        description: row.description,
        expiration_date: row.expiration_date,
        password_hash: row.password_hash,
        public_keys: ctx.json("public_keys", &row.public_keys)?,
        home_dir: row.home_dir,
        uid: row.uid,
        gid: row.gid,
        max_sessions: row.max_sessions,
        quota_size: row.quota_size,
        quota_files: row.quota_files,
        permissions: ctx.check("permissions", UserPermissions::new(permissions))?,
        used_quota_size: row.used_quota_size,
        used_quota_files: row.used_quota_files,
        last_quota_update: row.last_quota_update,
        upload_bandwidth: row.upload_bandwidth,
        download_bandwidth: row.download_bandwidth,
        filters: ctx.json::<UserFilters>("filters", &row.filters)?,
        filesystem: ctx.json::<FilesystemConfig>("filesystem", &row.filesystem)?,
        // Mounts live in their own table; the repository adds them.
        virtual_folders: Vec::new(),
        additional_info: row.additional_info,
        created_at: row.created_at,
        updated_at: row.updated_at,
        last_login: row.last_login,
    })
}

/// The row for `folder`, without its id.
pub fn folder_to_row(folder: &Folder) -> Result<folders::ActiveModel> {
    let enc = Encoder::new("folder", folder.name.as_str());
    Ok(folders::ActiveModel {
        id: NotSet,
        name: Set(folder.name.as_str().to_owned()),
        mapped_path: Set(folder.mapped_path.clone()),
        description: Set(folder.description.clone()),
        used_quota_size: Set(folder.used_quota_size),
        used_quota_files: Set(folder.used_quota_files),
        last_quota_update: Set(folder.last_quota_update),
        filesystem: Set(enc.json("filesystem", &folder.filesystem)?),
    })
}

/// The folder stored in `row`, validated, with no users yet.
pub fn folder_from_row(row: folders::Model) -> Result<Folder> {
    let ctx = Row::new("folders", row.id);
    Ok(Folder {
        id: row.id,
        name: ctx.check("name", FolderName::parse(&row.name))?,
        mapped_path: row.mapped_path,
        description: row.description,
        used_quota_size: row.used_quota_size,
        used_quota_files: row.used_quota_files,
        last_quota_update: row.last_quota_update,
        filesystem: ctx.json::<FilesystemConfig>("filesystem", &row.filesystem)?,
        users: Vec::new(),
    })
}

/// The row for `mount` of folder `folder_id` in user `user_id`'s view.
pub fn mount_to_row(
    user_id: i64,
    folder_id: i64,
    mount: &VirtualFolder,
) -> users_folders::ActiveModel {
    users_folders::ActiveModel {
        id: NotSet,
        user_id: Set(user_id),
        folder_id: Set(folder_id),
        virtual_path: Set(mount.virtual_path.as_str().to_owned()),
        quota_size: Set(mount.quota_size),
        quota_files: Set(mount.quota_files),
    }
}

/// The mount stored in `row`, of `folder`. A stored virtual path is always
/// absolute and normalised; anything else is corrupt.
pub fn mount_from_row(row: users_folders::Model, folder: Folder) -> Result<VirtualFolder> {
    let ctx = Row::new("users_folders", row.id);
    let virtual_path = ctx.check("virtual_path", VirtualPath::parse(&row.virtual_path))?;
    if virtual_path.as_str() != row.virtual_path || virtual_path.is_root() {
        return Err(ctx.corrupt("virtual_path", "not a normalised path below the root"));
    }
    Ok(VirtualFolder {
        folder,
        virtual_path,
        quota_size: row.quota_size,
        quota_files: row.quota_files,
    })
}

/// The row for `admin`, without its id.
pub fn admin_to_row(admin: &Admin) -> Result<admins::ActiveModel> {
    let enc = Encoder::new("admin", admin.username.as_str());
    Ok(admins::ActiveModel {
        id: NotSet,
        username: Set(admin.username.as_str().to_owned()),
        status: Set(status_code(admin.status)),
        password_hash: Set(admin.password_hash.clone()),
        email: Set(admin.email.clone()),
        description: Set(admin.description.clone()),
        permissions: Set(enc.json("permissions", &admin.permissions)?),
        filters: Set(enc.json("filters", &admin.filters)?),
        additional_info: Set(admin.additional_info.clone()),
        created_at: Set(admin.created_at),
        updated_at: Set(admin.updated_at),
        last_login: Set(admin.last_login),
    })
}

/// The admin stored in `row`, validated.
pub fn admin_from_row(row: admins::Model) -> Result<Admin> {
    let ctx = Row::new("admins", row.id);
    let names: Vec<String> = ctx.json("permissions", &row.permissions)?;
    let permissions = names
        .iter()
        .map(|name| ctx.check("permissions", name.parse::<AdminPermission>()))
        .collect::<Result<Vec<_>>>()?;
    Ok(Admin {
        id: row.id,
        status: ctx.check("status", UserStatus::from_code(row.status.into()))?,
        username: ctx.check("username", Username::parse(&row.username))?,
        password_hash: row.password_hash,
        email: row.email,
        description: row.description,
        permissions,
        filters: ctx.json::<AdminFilters>("filters", &row.filters)?,
        additional_info: row.additional_info,
        created_at: row.created_at,
        updated_at: row.updated_at,
        last_login: row.last_login,
    })
}

/// The status column: the domain's code, which is 0 or 1 and so always fits.
fn status_code(status: UserStatus) -> i32 {
    if status == UserStatus::Enabled { 1 } else { 0 }
}

/// Whose fields are being encoded, for the error that reports a failure.
struct Encoder<'a> {
    kind: &'static str,
    name: &'a str,
}

impl<'a> Encoder<'a> {
    fn new(kind: &'static str, name: &'a str) -> Self {
        Self { kind, name }
    }

    fn json<T: Serialize>(&self, field: &str, value: &T) -> Result<String> {
        serde_json::to_string(value).map_err(|e| {
            let (kind, name) = (self.kind, self.name);
            Error::internal(format!("cannot encode {field} of {kind} \"{name}\": {e}"))
        })
    }
}

/// Where a stored value came from, for the error that reports it corrupt.
struct Row {
    table: &'static str,
    id: i64,
}

impl Row {
    fn new(table: &'static str, id: i64) -> Self {
        Self { table, id }
    }

    fn corrupt(&self, field: &str, why: impl Display) -> Error {
        Error::internal(format!(
            "stored row {} of table {} has an invalid {field}: {why}",
            self.id, self.table
        ))
    }

    fn check<T>(&self, field: &str, value: Result<T>) -> Result<T> {
        value.map_err(|e| self.corrupt(field, e))
    }

    fn json<T: DeserializeOwned>(&self, field: &str, text: &str) -> Result<T> {
        serde_json::from_str(text).map_err(|e| self.corrupt(field, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_domain::ErrorKind;

    fn row() -> users::Model {
        users::Model {
            id: 7,
            username: "alice".into(),
            status: 1,
            email: String::new(),
            description: String::new(),
            expiration_date: 0,
            password_hash: None,
            public_keys: "[]".into(),
            home_dir: "/srv/alice".into(),
            uid: 0,
            gid: 0,
            max_sessions: 0,
            quota_size: 0,
            quota_files: 0,
            permissions: r#"{"/":["*"]}"#.into(),
            used_quota_size: 0,
            used_quota_files: 0,
            last_quota_update: 0,
            upload_bandwidth: 0,
            download_bandwidth: 0,
            filters: "{}".into(),
            filesystem: r#"{"provider":0}"#.into(),
            additional_info: String::new(),
            created_at: 1,
            updated_at: 2,
            last_login: 0,
        }
    }

    #[test]
    fn a_valid_row_decodes() {
        let user = user_from_row(row()).unwrap();
        assert_eq!(user.username.as_str(), "alice");
        assert_eq!(user.permissions, UserPermissions::full());
    }

    #[test]
    fn corrupt_rows_are_internal_errors_naming_the_field() {
        type Spoil = fn(&mut users::Model);
        let cases: [(&str, Spoil); 6] = [
            ("username", |r| r.username = "../etc".into()),
            ("status", |r| r.status = 7),
            ("permissions", |r| r.permissions = r#"{"rel":["*"]}"#.into()),
            ("permissions", |r| r.permissions = r#"{"/":["fly"]}"#.into()),
            ("filters", |r| r.filters = "not json".into()),
            ("public_keys", |r| r.public_keys = "{}".into()),
        ];
        for (field, spoil) in cases {
            let mut bad = row();
            spoil(&mut bad);
            let err = user_from_row(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Internal, "{field}");
            assert_eq!(err.message(), "internal server error");
            let detail = err.detail().unwrap_or_default();
            assert!(
                detail.contains(field) && detail.contains("row 7"),
                "{detail}"
            );
        }
    }

    #[test]
    fn users_round_trip_through_rows() {
        let user = user_from_row(row()).unwrap();
        let active = user_to_row(&user).unwrap();
        let mut model = row();
        model.permissions = active.permissions.clone().unwrap();
        model.filters = active.filters.clone().unwrap();
        model.filesystem = active.filesystem.clone().unwrap();
        model.public_keys = active.public_keys.clone().unwrap();
        assert_eq!(user_from_row(model).unwrap(), user);
    }

    #[test]
    fn unknown_admin_permissions_are_refused() {
        let bad = admins::Model {
            id: 3,
            username: "root".into(),
            status: 1,
            password_hash: "x".into(),
            email: String::new(),
            description: String::new(),
            permissions: r#"["*","fly"]"#.into(),
            filters: "{}".into(),
            additional_info: String::new(),
            created_at: 0,
            updated_at: 0,
            last_login: 0,
        };
        let err = admin_from_row(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Internal);
        assert!(err.detail().unwrap_or_default().contains("permissions"));
    }
}
