//! Accounts to store: a minimal one and one with every field set.

use ferry_domain::{
    Admin, AdminFilters, AdminPermission, FilesystemConfig, Folder, FolderName, Permission, User,
    UserFilters, UserPermissions, UserStatus, Username, VirtualFolder, VirtualPath,
};
use serde_json::json;
use std::collections::BTreeMap;

pub fn name(raw: &str) -> Username {
    Username::parse(raw).expect("test names are valid")
}

/// A user with defaults everywhere.
pub fn user(raw: &str) -> User {
    User {
        id: 0,
        status: UserStatus::Enabled,
        username: name(raw),
        email: String::new(),
        description: String::new(),
        expiration_date: 0,
        password_hash: None,
        public_keys: Vec::new(),
        home_dir: format!("/srv/sftp/{raw}"),
        uid: 0,
        gid: 0,
        max_sessions: 0,
        quota_size: 0,
        quota_files: 0,
        permissions: UserPermissions::full(),
        used_quota_size: 0,
        used_quota_files: 0,
        last_quota_update: 0,
        upload_bandwidth: 0,
        download_bandwidth: 0,
        filters: UserFilters::default(),
        filesystem: FilesystemConfig::local(),
        virtual_folders: Vec::new(),
        additional_info: String::new(),
        created_at: 1_700_000_000_000,
        updated_at: 1_700_000_000_000,
        last_login: 0,
    }
}

const ED25519: &str = "ssh-ed25519 \
    AAAAC3NzaC1lZDI1NTE5AAAAIBM8xSkFHPsYkUQ3kEjMxTREigW92D+JOEGdBdMguQn6 user@host";

/// A user with every field away from its default, structured fields included.
pub fn rich_user(raw: &str) -> User {
    use Permission::*;
    let permissions = BTreeMap::from([
        ("/".to_owned(), vec![List, Download]),
        (
            "/uploads".to_owned(),
            vec![Upload, Overwrite, CreateDirs, Rename],
        ),
        ("/uploads/archive".to_owned(), vec![List]),
        ("/p*".to_owned(), vec![All]),
        (
            "/données été".to_owned(),
            vec![DeleteFiles, RenameDirs, Chtimes],
        ),
    ]);
    let filters: UserFilters = serde_json::from_value(json!({
        "allowed_ip": ["192.168.1.0/24", "10.0.0.1/32"],
        "denied_login_methods": ["password"],
        "denied_protocols": ["FTP", "DAV"],
        "max_upload_file_size": 1_048_576,
        "start_directory": "/uploads",
        "file_patterns": [{"path": "/", "allowed_patterns": ["*.jpg"], "deny_policy": 1}],
        "hooks": {"external_auth_disabled": true, "pre_login_disabled": false},
        "bandwidth_limits": [],
        "tls_username": null,
        "ratio": 0.5,
        "note": "unicode ✓ and \"quotes\" and \\ backslash",
    }))
    .expect("valid filters");
    let filesystem: FilesystemConfig = serde_json::from_value(json!({
        "provider": 0,
        "osconfig": {"read_buffer_size": 2, "write_buffer_size": 4},
        "s3config": {"bucket": "", "region": ""},
    }))
    .expect("valid filesystem");
    User {
        status: UserStatus::Disabled,
        email: format!("{raw}@example.com"),
        description: "a user with \"everything\" set; ünïcødé".into(),
        expiration_date: 4_102_444_800_000,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        public_keys: vec![ED25519.into(), format!("{ED25519}-second")],
        uid: 1000,
        gid: i64::from(u32::MAX),
        max_sessions: 3,
        quota_size: i64::MAX,
        quota_files: 1_000_000,
        permissions: UserPermissions::new(permissions).expect("valid permissions"),
        used_quota_size: 123_456_789_012,
        used_quota_files: 42,
        last_quota_update: 1_700_000_000_123,
        upload_bandwidth: 1024,
        download_bandwidth: 2048,
        filters,
        filesystem,
        additional_info: "x".repeat(100_000),
        created_at: 1_600_000_000_000,
        updated_at: 1_650_000_000_000,
        last_login: 1_690_000_000_000,
        ..user(raw)
    }
}

/// An admin with defaults everywhere.
pub fn admin(raw: &str) -> Admin {
    Admin {
        id: 0,
        status: UserStatus::Enabled,
        username: name(raw),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        email: String::new(),
        description: String::new(),
        permissions: vec![AdminPermission::All],
        filters: AdminFilters::default(),
        additional_info: String::new(),
        created_at: 1_700_000_000_000,
        updated_at: 1_700_000_000_000,
        last_login: 0,
    }
}

/// An admin with every field away from its default.
pub fn rich_admin(raw: &str) -> Admin {
    let filters: AdminFilters = serde_json::from_value(json!({
        "allow_list": ["192.168.0.0/16", "2001:db8::/32"],
        "allow_api_key_auth": true,
        "totp_config": {"enabled": false, "config_name": ""},
        "preferences": {"hide_user_page_sections": 3},
    }))
    .expect("valid admin filters");
    Admin {
        status: UserStatus::Disabled,
        email: format!("{raw}@example.com"),
        description: "operator".into(),
        permissions: vec![
            AdminPermission::AddUsers,
            AdminPermission::EditUsers,
            AdminPermission::ViewUsers,
            AdminPermission::QuotaScans,
        ],
        filters,
        additional_info: "on call".into(),
        created_at: 1_600_000_000_000,
        updated_at: 1_650_000_000_000,
        last_login: 1_690_000_000_000,
        ..admin(raw)
    }
}

pub fn folder_name(raw: &str) -> FolderName {
    FolderName::parse(raw).expect("test folder names are valid")
}

/// A folder with every stored field away from its default.
pub fn folder(raw: &str) -> Folder {
    let filesystem: FilesystemConfig = serde_json::from_value(json!({
        "provider": 1,
        "s3config": {"bucket": "b", "region": "eu-west-1", "access_key": "k",
            "access_secret": {"status": "AES-256-GCM", "payload": "c2VhbGVk",
                "additional_data": format!("folder:{raw}"), "mode": 1},
            "endpoint": "http://127.0.0.1:9000", "force_path_style": true,
            "key_prefix": format!("{raw}/"), "upload_part_size": 8},
    }))
    .expect("valid filesystem");
    Folder {
        mapped_path: format!("/srv/folders/{raw}"),
        description: format!("the {raw} folder, ünïcødé"),
        used_quota_size: 1_234,
        used_quota_files: 5,
        last_quota_update: 1_700_000_000_456,
        filesystem,
        ..Folder::named(folder_name(raw))
    }
}

/// A mount of folder `raw` at `at`.
pub fn mount(raw: &str, at: &str, quota_size: i64, quota_files: i64) -> VirtualFolder {
    VirtualFolder {
        folder: Folder::named(folder_name(raw)),
        virtual_path: VirtualPath::parse(at).expect("a valid virtual path"),
        quota_size,
        quota_files,
    }
}
