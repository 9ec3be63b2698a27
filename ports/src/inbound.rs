//! What Ferry's core offers its front ends: SSH logins and file sessions for
//! the SFTP adapter, admin tokens and account and admin management for the
//! REST API.

use crate::repository::Page;
use crate::storage::{DirStream, FileHandle, Metadata, OpenOptions, SetAttributes, StatVfs};
use async_trait::async_trait;
use ferry_domain::{Admin, AdminPermission, Folder, FolderName, Result, User, Username};
use std::net::SocketAddr;
use std::sync::Arc;

/// An SSH public key as offered by a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshKey {
    /// The key's algorithm name, `ssh-ed25519`, `ssh-rsa`, ...
    pub algorithm: String,
    /// The key blob in base64, as in an `authorized_keys` line.
    pub blob_base64: String,
}

/// Who is connecting, for checks and for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    pub remote: SocketAddr,
    /// The client's SSH identification string.
    pub client_version: String,
    /// How the core drops this client's connection (an admin closing it).
    pub disconnect: crate::connections::DisconnectHook,
}

/// SSH authentication of SFTP users.
///
/// Every refusal MUST be `NotAuthenticated` and MUST NOT reveal whether the
/// user exists, the credential was wrong or the account is disabled or expired.
#[async_trait]
pub trait Login: Send + Sync + 'static {
    async fn login_password(
        &self,
        username: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<Arc<dyn FileSession>>;

    /// True when `key` would be accepted for `username` (the SSH "query"
    /// step, before the client proves it holds the private key).
    async fn accepts_public_key(&self, username: &str, key: &SshKey, client: &ClientInfo) -> bool;

    /// Logs in with a key whose signature the SSH layer has verified.
    async fn login_public_key(
        &self,
        username: &str,
        key: &SshKey,
        client: &ClientInfo,
    ) -> Result<Arc<dyn FileSession>>;
}

/// One logged-in user's view of its files. Paths are the client's own
/// strings; the session normalises them, keeps them in the jail and checks the
/// user's permissions before any storage call. `/` is the user's home.
#[async_trait]
pub trait FileSession: Send + Sync {
    fn username(&self) -> &str;

    /// The normalised absolute form of `path`, without touching storage.
    fn realpath(&self, path: &str) -> Result<String>;

    async fn stat(&self, path: &str) -> Result<Metadata>;

    async fn lstat(&self, path: &str) -> Result<Metadata>;

    async fn open(&self, path: &str, options: OpenOptions) -> Result<Arc<dyn FileHandle>>;

    async fn read_dir(&self, path: &str) -> Result<DirStream>;

    async fn mkdir(&self, path: &str, permissions: Option<u32>) -> Result<()>;

    async fn rmdir(&self, path: &str) -> Result<()>;

    async fn remove(&self, path: &str) -> Result<()>;

    /// `replace` asks for POSIX semantics (an existing target is replaced).
    async fn rename(&self, from: &str, to: &str, replace: bool) -> Result<()>;

    async fn symlink(&self, target: &str, link: &str) -> Result<()>;

    async fn readlink(&self, path: &str) -> Result<String>;

    async fn set_attributes(&self, path: &str, attributes: &SetAttributes) -> Result<()>;

    async fn statvfs(&self, path: &str) -> Result<StatVfs>;

    /// The client went away; open handles have been closed or dropped.
    async fn end(&self);
}

/// An authenticated admin, as proved by a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminContext {
    pub username: Username,
    pub permissions: Vec<AdminPermission>,
    pub token_id: String,
    /// Unix seconds.
    pub token_expires_at: i64,
}

impl AdminContext {
    pub fn has_permission(&self, perm: AdminPermission) -> bool {
        self.permissions.contains(&AdminPermission::All) || self.permissions.contains(&perm)
    }
}

/// A freshly issued admin token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub access_token: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Admin tokens for the REST API.
#[async_trait]
pub trait AdminSessions: Send + Sync + 'static {
    /// Trades Basic credentials for a token. MUST return `NotAuthenticated`
    /// for a wrong or unknown credential, a disabled admin, or a client IP
    /// outside the admin's allow list.
    async fn issue_token(
        &self,
        username: &str,
        password: &str,
        client: SocketAddr,
    ) -> Result<IssuedToken>;

    /// Checks a bearer token. MUST return `NotAuthenticated` when it is
    /// malformed, forged, expired or revoked, or its admin is gone or disabled;
    /// `PermissionDenied` when the client IP is outside the admin's allow list.
    async fn authenticate(&self, token: &str, client: SocketAddr) -> Result<AdminContext>;

    /// Revokes the token behind `admin` until it expires.
    async fn revoke(&self, admin: &AdminContext) -> Result<()>;
}

/// A user as submitted through the API: `user.password_hash` is ignored and
/// `password` carries the new plain (or pre-hashed) password, if any. An
/// empty `home_dir` asks for the default home.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub user: User,
    pub password: Option<String>,
}

/// Management of SFTP users. The caller has checked the admin's permission.
#[async_trait]
pub trait UserManagement: Send + Sync + 'static {
    async fn list_users(&self, page: Page) -> Result<Vec<User>>;

    /// `NotFound` for an unknown user.
    async fn get_user(&self, username: &Username) -> Result<User>;

    /// Validates, hashes the password, fills defaults and stores. `Conflict`
    /// for a taken username, `InvalidInput` for anything invalid.
    async fn create_user(&self, admin: &AdminContext, input: UserInput) -> Result<User>;

    /// Replaces the user named `username`, keeping its id, creation time,
    /// usage counters and, without a new one, its password. The username
    /// cannot change.
    async fn update_user(
        &self,
        admin: &AdminContext,
        username: &Username,
        input: UserInput,
    ) -> Result<User>;

    async fn delete_user(&self, admin: &AdminContext, username: &Username) -> Result<()>;
}

/// Management of virtual folders. The caller has checked the admin's
/// permission.
#[async_trait]
pub trait FolderManagement: Send + Sync + 'static {
    /// Folders ordered by name, one page of them, each with its users.
    async fn list_folders(&self, page: Page) -> Result<Vec<Folder>>;

    /// MUST return `NotFound` for an unknown folder.
    async fn get_folder(&self, name: &FolderName) -> Result<Folder>;

    /// Validates and stores a new folder with empty usage. MUST return
    /// `InvalidInput` for an invalid mapped path or filesystem and
    /// `Conflict` for a taken name.
    async fn create_folder(&self, admin: &AdminContext, folder: Folder) -> Result<Folder>;

    /// Replaces the folder named `name` (mapped path, description,
    /// filesystem), keeping its id, usage counters and mounts; the name
    /// cannot change. MUST return `NotFound` for an unknown folder.
    async fn update_folder(
        &self,
        admin: &AdminContext,
        name: &FolderName,
        folder: Folder,
    ) -> Result<Folder>;

    /// Deletes the folder and unmounts it from every user. MUST return
    /// `NotFound` for an unknown folder.
    async fn delete_folder(&self, admin: &AdminContext, name: &FolderName) -> Result<()>;
}

/// An admin as submitted through the API: `admin.password_hash` is ignored
/// and `password` carries the new plain (or pre-hashed) password, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminInput {
    pub admin: Admin,
    pub password: Option<String>,
}

/// What an admin may change about itself through its profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdminProfile {
    pub email: String,
    pub description: String,
    /// SFTPGo's `filters.allow_api_key_auth`: API keys may act as this admin.
    pub allow_api_key_auth: bool,
}

/// Management of REST API administrators. The caller has checked that
/// `admin` may use the operation (`*` for the first five, any admin for the
/// self-service ones); the rules below hold whoever calls.
#[async_trait]
pub trait AdminManagement: Send + Sync + 'static {
    /// Admins ordered by username, one page of them.
    async fn list_admins(&self, page: Page) -> Result<Vec<Admin>>;

    /// MUST return `NotFound` for an unknown admin.
    async fn get_admin(&self, username: &Username) -> Result<Admin>;

    /// Validates, hashes the password and stores. MUST return
    /// `InvalidInput` without a password or for any invalid field, and
    /// `Conflict` for a taken username.
    async fn create_admin(&self, admin: &AdminContext, input: AdminInput) -> Result<Admin>;

    /// Replaces the admin named `username`, keeping its id, creation time,
    /// last login, the filters only their own APIs set (`totp_config`,
    /// `recovery_codes`) and, without a new one, its password. The username
    /// cannot change. MUST return `NotFound` for an unknown admin, and
    /// `InvalidInput` when `admin` updates itself and changes its own
    /// permissions or disables itself.
    async fn update_admin(
        &self,
        admin: &AdminContext,
        username: &Username,
        input: AdminInput,
    ) -> Result<Admin>;

    /// MUST return `InvalidInput` when `admin` names itself, and `NotFound`
    /// for an unknown admin.
    async fn delete_admin(&self, admin: &AdminContext, username: &Username) -> Result<()>;

    /// Changes the calling admin's own password. MUST return `InvalidInput`
    /// when either password is empty, when they are equal or when `current`
    /// does not match the stored password.
    async fn change_password(&self, admin: &AdminContext, current: &str, new: &str) -> Result<()>;

    /// The calling admin's own profile.
    async fn get_profile(&self, admin: &AdminContext) -> Result<AdminProfile>;

    /// Replaces the calling admin's own profile fields, nothing else.
    /// MUST return `InvalidInput` for an invalid email.
    async fn update_profile(&self, admin: &AdminContext, profile: AdminProfile) -> Result<()>;
}

/// The health of the data provider, for the REST API's status report.
#[async_trait]
pub trait ProviderHealth: Send + Sync + 'static {
    /// The driver's name as SFTPGo reports it: `sqlite`, `postgresql`,
    /// `mysql`.
    fn driver(&self) -> &'static str;

    /// One round trip to the database. MUST return `Unavailable` (with a
    /// message safe to show an admin) when the database does not answer.
    async fn ping(&self) -> Result<()>;
}
