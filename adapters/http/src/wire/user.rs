//! SFTPGo's `User` object (OpenAPI schema `User`): what clients send to create
//! or update a user, and what the API answers.

use super::filesystem::{FilesystemOut, filesystem_from_wire};
use super::folder::{VirtualFolderIn, VirtualFolderOut};
use super::nullable;
use ferry_domain::{
    Error, Permission, Result, User, UserFilters, UserPermissions, UserStatus, Username,
};
use ferry_ports::UserInput;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `filters` keys that only their own APIs may set (SFTPGo: "TOTP
/// configuration and recovery codes cannot be set using this API"). They are
/// dropped from input and never shown, as they hold secrets.
const PRIVATE_FILTER_KEYS: [&str; 2] = ["totp_config", "recovery_codes"];

/// A user as a client submits it. Fields the server manages (`id`,
/// `used_quota_*`, `last_quota_update`, `created_at`, `updated_at`,
/// `last_login`, `has_password`) and fields Ferry does not support yet
/// (`groups`, `role`, data-transfer limits, ...) are not read: serde skips
/// unknown fields.
// LIMITATION: `groups` is accepted and ignored, so a client that sends it
// gets a user without groups and no error.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UserIn {
    /// SFTPGo has no default for `status`: omitted means 0, disabled.
    #[serde(deserialize_with = "nullable")]
    status: i64,
    #[serde(deserialize_with = "nullable")]
    username: String,
    #[serde(deserialize_with = "nullable")]
    email: String,
    #[serde(deserialize_with = "nullable")]
    description: String,
    #[serde(deserialize_with = "nullable")]
    expiration_date: i64,
    /// Write-only. Empty means none (create) or keep the current one (update).
    #[serde(deserialize_with = "nullable")]
    password: String,
    #[serde(deserialize_with = "nullable")]
    public_keys: Vec<String>,
    /// Empty asks the core for the default home.
    #[serde(deserialize_with = "nullable")]
    home_dir: String,
    #[serde(deserialize_with = "nullable")]
    uid: i64,
    #[serde(deserialize_with = "nullable")]
    gid: i64,
    #[serde(deserialize_with = "nullable")]
    max_sessions: i64,
    #[serde(deserialize_with = "nullable")]
    quota_size: i64,
    #[serde(deserialize_with = "nullable")]
    quota_files: i64,
    #[serde(deserialize_with = "nullable")]
    permissions: BTreeMap<String, Vec<String>>,
    #[serde(deserialize_with = "nullable")]
    upload_bandwidth: i64,
    #[serde(deserialize_with = "nullable")]
    download_bandwidth: i64,
    #[serde(deserialize_with = "nullable")]
    filters: Map<String, Value>,
    #[serde(deserialize_with = "nullable")]
    filesystem: Map<String, Value>,
    #[serde(deserialize_with = "nullable")]
    virtual_folders: Vec<VirtualFolderIn>,
    #[serde(deserialize_with = "nullable")]
    additional_info: String,
}

impl UserIn {
    /// The user for `POST /users`. Checks names, status, permissions and the
    /// filesystem provider; the core checks the rest.
    pub fn try_into_domain(self) -> Result<UserInput> {
        let username = Username::parse(&self.username)?;
        let user = User {
            id: 0,
            status: UserStatus::from_code(self.status)?,
            username,
            email: self.email,
            description: self.description,
            expiration_date: self.expiration_date,
            password_hash: None,
            public_keys: ferry_domain::tidy_public_keys(self.public_keys),
            home_dir: self.home_dir,
            uid: self.uid,
            gid: self.gid,
            max_sessions: self.max_sessions,
            quota_size: self.quota_size,
            quota_files: self.quota_files,
            permissions: permissions_from_wire(self.permissions)?,
            used_quota_size: 0,
            used_quota_files: 0,
            last_quota_update: 0,
            upload_bandwidth: self.upload_bandwidth,
            download_bandwidth: self.download_bandwidth,
            filters: filters_from_wire(self.filters)?,
            filesystem: filesystem_from_wire(self.filesystem)?,
            virtual_folders: self
                .virtual_folders
                .into_iter()
                .map(VirtualFolderIn::try_into_domain)
                .collect::<Result<_>>()?,
            additional_info: self.additional_info,
            created_at: 0,
            updated_at: 0,
            last_login: 0,
        };
        let password = Some(self.password).filter(|p| !p.is_empty());
        Ok(UserInput { user, password })
    }

    /// The user for `PUT /users/{username}`; usernames cannot change.
    pub fn try_into_update(mut self, username: &Username) -> Result<UserInput> {
        // As SFTPGo does, the path names the user: a username in the body is
        // ignored, so a rename cannot happen by accident.
        self.username = username.as_str().to_owned();
        self.try_into_domain()
    }
}

fn permissions_from_wire(raw: BTreeMap<String, Vec<String>>) -> Result<UserPermissions> {
    let mut parsed = BTreeMap::new();
    for (dir, names) in raw {
        let perms = names
            .iter()
            .map(|name| name.parse::<Permission>())
            .collect::<Result<Vec<_>>>()
            .map_err(|e| Error::invalid(format!("{} for the directory {dir:?}", e.message())))?;
        parsed.insert(dir, perms);
    }
    UserPermissions::new(parsed)
}

fn filters_from_wire(mut raw: Map<String, Value>) -> Result<UserFilters> {
    raw.retain(|key, value| !value.is_null() && !PRIVATE_FILTER_KEYS.contains(&key.as_str()));
    serde_json::from_value(Value::Object(raw))
        .map_err(|e| Error::invalid(format!("invalid filters: {e}")))
}

/// A user as the API shows it. The password is never shown, only whether
/// one is set.
#[derive(Debug, Serialize)]
pub(crate) struct UserOut<'a> {
    id: i64,
    status: i64,
    username: &'a str,
    email: &'a str,
    description: &'a str,
    expiration_date: i64,
    has_password: bool,
    public_keys: &'a [String],
    home_dir: &'a str,
    uid: i64,
    gid: i64,
    max_sessions: i64,
    quota_size: i64,
    quota_files: i64,
    permissions: &'a UserPermissions,
    used_quota_size: i64,
    used_quota_files: i64,
    last_quota_update: i64,
    upload_bandwidth: i64,
    download_bandwidth: i64,
    filters: UserFilters,
    filesystem: FilesystemOut,
    virtual_folders: Vec<VirtualFolderOut<'a>>,
    additional_info: &'a str,
    created_at: i64,
    updated_at: i64,
    last_login: i64,
}

impl<'a> UserOut<'a> {
    pub fn from_domain(user: &'a User) -> Self {
        let mut filters = user.filters.clone();
        filters
            .other
            .retain(|key, _| !PRIVATE_FILTER_KEYS.contains(&key.as_str()));
        Self {
            id: user.id,
            status: user.status.code(),
            username: user.username.as_str(),
            email: &user.email,
            description: &user.description,
            expiration_date: user.expiration_date,
            has_password: user.password_hash.as_ref().is_some_and(|h| !h.is_empty()),
            public_keys: &user.public_keys,
            home_dir: &user.home_dir,
            uid: user.uid,
            gid: user.gid,
            max_sessions: user.max_sessions,
            quota_size: user.quota_size,
            quota_files: user.quota_files,
            permissions: &user.permissions,
            used_quota_size: user.used_quota_size,
            used_quota_files: user.used_quota_files,
            last_quota_update: user.last_quota_update,
            upload_bandwidth: user.upload_bandwidth,
            download_bandwidth: user.download_bandwidth,
            filters,
            filesystem: FilesystemOut::from_domain(&user.filesystem),
            virtual_folders: user
                .virtual_folders
                .iter()
                .map(VirtualFolderOut::from_domain)
                .collect(),
            additional_info: &user.additional_info,
            created_at: user.created_at,
            updated_at: user.updated_at,
            last_login: user.last_login,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_domain::{ErrorKind, FilesystemConfig};
    use serde_json::json;

    fn parse(body: Value) -> Result<UserInput> {
        serde_json::from_value::<UserIn>(body)
            .map_err(|e| Error::invalid(e.to_string()))?
            .try_into_domain()
    }

    fn minimal() -> Value {
        json!({"username": "alice", "permissions": {"/": ["*"]}})
    }

    #[test]
    fn omitted_fields_take_sftpgo_defaults() {
        let input = parse(minimal()).unwrap();
        assert_eq!(input.user.status, UserStatus::Disabled);
        assert_eq!(input.user.home_dir, "");
        assert_eq!(input.user.filesystem, FilesystemConfig::local());
        assert_eq!(input.password, None);
    }

    #[test]
    fn nulls_server_fields_and_unknown_fields_are_accepted() {
        let input = parse(json!({
            "username": "alice", "status": 1, "permissions": {"/": ["list", "download"]},
            "public_keys": null, "email": null, "filters": {"allowed_ip": null,
            "totp_config": {"secret": "x"}, "web_client": ["write-disabled"]},
            "id": 7, "used_quota_size": 99, "created_at": "junk", "has_password": true,
            "virtual_folders": null, "groups": [], "password": "secret",
        }))
        .unwrap();
        assert_eq!(input.user.status, UserStatus::Enabled);
        assert_eq!(input.user.id, 0);
        assert_eq!(input.user.used_quota_size, 0);
        assert_eq!(input.password.as_deref(), Some("secret"));
        assert!(input.user.filters.other.contains_key("web_client"));
        assert!(!input.user.filters.other.contains_key("totp_config"));
    }

    #[test]
    fn invalid_values_are_refused_with_their_name() {
        let cases = [
            (json!({"username": "a b"}), "username"),
            (json!({"status": 2}), "status"),
            (json!({"permissions": {"/": ["fly"]}}), "fly"),
            (json!({"permissions": {"/x": ["*"]}}), "root"),
            (json!({"filesystem": {"provider": 7}}), "provider"),
            (json!({"filters": {"denied_ip": 3}}), "filters"),
        ];
        for (patch, needle) in cases {
            let mut body = minimal();
            for (key, value) in patch.as_object().unwrap() {
                body[key] = value.clone();
            }
            let err = parse(body).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            let message = err.message();
            assert!(message.contains(needle), "{needle}: {message}");
        }
    }

    #[test]
    fn mounts_are_read_by_name_and_path() {
        let mut body = minimal();
        body["virtual_folders"] = json!([{"name": "shared", "virtual_path": "/a//b/",
            "quota_size": -1, "quota_files": 10, "mapped_path": "/ignored"}]);
        let mounts = parse(body).unwrap().user.virtual_folders;
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].folder.name.as_str(), "shared");
        assert_eq!(mounts[0].folder.mapped_path, "");
        assert_eq!(mounts[0].virtual_path.as_str(), "/a/b");
        assert_eq!((mounts[0].quota_size, mounts[0].quota_files), (-1, 10));
        for (mount, needle) in [
            (json!({"name": "f", "virtual_path": "rel"}), "absolute"),
            (json!({"name": "f"}), "absolute"),
            (json!({"name": "", "virtual_path": "/x"}), "folder name"),
            (json!({"name": "a/b", "virtual_path": "/x"}), "folder name"),
        ] {
            let mut body = minimal();
            body["virtual_folders"] = json!([mount]);
            let err = parse(body).unwrap_err();
            assert!(
                err.message().contains(needle),
                "{needle}: {}",
                err.message()
            );
        }
    }

    #[test]
    fn other_providers_settings_are_dropped() {
        let mut body = minimal();
        body["filesystem"] = json!({"provider": 0, "osconfig": {"read_buffer_size": 1},
            "s3config": {"access_secret": {"payload": "k"}}});
        let fs = parse(body).unwrap().user.filesystem;
        assert!(fs.osconfig.is_some());
        assert!(fs.s3config.is_none());
    }

    #[test]
    fn update_keeps_the_path_username() {
        let alice = Username::parse("alice").unwrap();
        let body = json!({"permissions": {"/": ["*"]}});
        let input = serde_json::from_value::<UserIn>(body).unwrap();
        assert_eq!(input.try_into_update(&alice).unwrap().user.username, alice);
        let body = json!({"username": "bob", "permissions": {"/": ["*"]}});
        let input = serde_json::from_value::<UserIn>(body).unwrap();
        assert_eq!(input.try_into_update(&alice).unwrap().user.username, alice);
    }

    #[test]
    fn output_hides_the_password_and_private_filters() {
        let mut user = parse(minimal()).unwrap().user;
        user.password_hash = Some("$argon2id$v=19$...".into());
        user.filters
            .other
            .insert("recovery_codes".into(), json!([{"secret": "s"}]));
        let out = serde_json::to_value(UserOut::from_domain(&user)).unwrap();
        assert_eq!(out["has_password"], json!(true));
        assert!(out.get("password").is_none());
        let text = out.to_string();
        assert!(!text.contains("argon2"), "{text}");
        assert!(!text.contains("recovery_codes"), "{text}");
        assert_eq!(out["permissions"], json!({"/": ["*"]}));
        assert_eq!(out["filesystem"], json!({"provider": 0}));
    }
}
