//! Persistence of accounts. Implementations map their database errors into
//! [`ErrorKind`](ferry_domain::ErrorKind)s: a lost connection is `Unavailable`,
//! a unique-key violation is `Conflict`.

use async_trait::async_trait;
use ferry_domain::{Admin, Folder, FolderName, QuotaUsage, Result, UsageMode, User, Username};

/// Sort order of a listing, by username.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

/// One page of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: u64,
    pub limit: u64,
    pub order: SortOrder,
}

/// Stored SFTP users. A user's `virtual_folders` are stored with it: only
/// each mount's folder name, virtual path and quotas are written, and every
/// user read back has its mounts in the stored order with their folders
/// filled in (`users` of those folders left empty).
#[async_trait]
pub trait UserRepository: Send + Sync + 'static {
    /// Users ordered by username, one page of them.
    async fn list_users(&self, page: Page) -> Result<Vec<User>>;

    /// MUST return `NotFound` when no user has this name.
    async fn get_user(&self, username: &Username) -> Result<User>;

    /// Stores a new user with its mounts, all or nothing, and returns it with
    /// its assigned `id` and its mounts' folders filled in. MUST return
    /// `Conflict` when the username is taken and `InvalidInput` when a mount
    /// names a folder that does not exist.
    async fn create_user(&self, user: &User) -> Result<User>;

    /// Replaces the stored user with the same username (the `id` is kept),
    /// mounts included, all or nothing. MUST return `NotFound` when no user
    /// has this name and `InvalidInput` when a mount names a folder that does
    /// not exist.
    async fn update_user(&self, user: &User) -> Result<()>;

    /// MUST return `NotFound` when no user has this name.
    async fn delete_user(&self, username: &Username) -> Result<()>;

    /// Records a successful login time (Unix ms). A missing user is not an error.
    async fn set_user_last_login(&self, username: &Username, at_ms: i64) -> Result<()>;

    /// Replaces or adds to the user's used quota and sets
    /// `last_quota_update` to `at_ms`, in one statement: concurrent
    /// additions all count, and a figure never drops below zero.
    /// MUST return `NotFound` when no user has this name.
    async fn update_user_usage(
        &self,
        username: &Username,
        mode: UsageMode,
        usage: QuotaUsage,
        at_ms: i64,
    ) -> Result<()>;
}

/// Stored REST API administrators.
#[async_trait]
pub trait AdminRepository: Send + Sync + 'static {
    async fn list_admins(&self, page: Page) -> Result<Vec<Admin>>;

    /// MUST return `NotFound` when no admin has this name.
    async fn get_admin(&self, username: &Username) -> Result<Admin>;

    /// MUST return `Conflict` when the username is taken.
    async fn create_admin(&self, admin: &Admin) -> Result<Admin>;

    /// MUST return `NotFound` when no admin has this name.
    async fn update_admin(&self, admin: &Admin) -> Result<()>;

    /// MUST return `NotFound` when no admin has this name.
    async fn delete_admin(&self, username: &Username) -> Result<()>;

    /// How many admins exist.
    async fn count_admins(&self) -> Result<u64>;

    /// Records a successful login time (Unix ms). A missing admin is not an error.
    async fn set_admin_last_login(&self, username: &Username, at_ms: i64) -> Result<()>;
}

/// Stored virtual folders. Every folder read back has `users` filled in with
/// the names of the users that mount it, in name order.
#[async_trait]
pub trait FolderRepository: Send + Sync + 'static {
    /// Folders ordered by name, one page of them.
    async fn list_folders(&self, page: Page) -> Result<Vec<Folder>>;

    /// MUST return `NotFound` when no folder has this name.
    async fn get_folder(&self, name: &FolderName) -> Result<Folder>;

    /// The stored folders among `names`, in name order; names that match no
    /// folder are left out. Lets a use case check a user's mounts.
    async fn folders_named(&self, names: &[FolderName]) -> Result<Vec<Folder>>;

    /// Stores a new folder (its `users` are ignored) and returns it with its
    /// assigned `id`. MUST return `Conflict` when the name is taken.
    async fn create_folder(&self, folder: &Folder) -> Result<Folder>;

    /// Replaces the stored folder with the same name, keeping its `id` and
    /// its mounts. MUST return `NotFound` when no folder has this name.
    async fn update_folder(&self, folder: &Folder) -> Result<()>;

    /// Deletes the folder and every user's mount of it, all or nothing (its
    /// files stay where they are). MUST return `NotFound` when no folder has
    /// this name.
    async fn delete_folder(&self, name: &FolderName) -> Result<()>;

    /// Replaces or adds to the folder's used quota, as
    /// [`UserRepository::update_user_usage`] does for a user.
    /// MUST return `NotFound` when no folder has this name.
    async fn update_folder_usage(
        &self,
        name: &FolderName,
        mode: UsageMode,
        usage: QuotaUsage,
        at_ms: i64,
    ) -> Result<()>;
}
