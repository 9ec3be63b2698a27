//! Persistence of accounts. Implementations map their database errors into
//! [`ErrorKind`](ferry_domain::ErrorKind)s: a lost connection is `Unavailable`,
//! a unique-key violation is `Conflict`.

use async_trait::async_trait;
use ferry_domain::{Admin, QuotaUsage, Result, UsageMode, User, Username};

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

/// Stored SFTP users.
#[async_trait]
pub trait UserRepository: Send + Sync + 'static {
    /// Users ordered by username, one page of them.
    async fn list_users(&self, page: Page) -> Result<Vec<User>>;

    /// MUST return `NotFound` when no user has this name.
    async fn get_user(&self, username: &Username) -> Result<User>;

    /// Stores a new user and returns it with its assigned `id`.
    /// MUST return `Conflict` when the username is taken.
    async fn create_user(&self, user: &User) -> Result<User>;

    /// Replaces the stored user with the same username (the `id` is kept).
    /// MUST return `NotFound` when no user has this name.
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
