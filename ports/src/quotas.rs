//! Disk quota management: scans that measure what a user's files take, and
//! changes an operator makes to the stored figures.

use async_trait::async_trait;
use ferry_domain::{FolderName, QuotaUsage, Result, UsageMode, Username};

/// A scan in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaScan {
    /// The user (or folder) being measured.
    pub name: String,
    /// When it started, Unix milliseconds.
    pub started_at: i64,
}

/// Quota scans and usage changes. The caller has checked the admin's
/// permission.
#[async_trait]
pub trait QuotaManagement: Send + Sync + 'static {
    /// The user scans running on this server, oldest first.
    async fn user_scans(&self) -> Result<Vec<QuotaScan>>;

    /// Starts measuring the user's storage in the background and returns;
    /// the result replaces the stored usage when the walk ends. MUST return
    /// `NotFound` for an unknown user, `Conflict` while a scan of the same
    /// user runs, `PermissionDenied` when quota tracking is off.
    async fn start_user_scan(&self, username: &Username) -> Result<()>;

    /// Replaces or adds to the user's stored usage. MUST return `NotFound`
    /// for an unknown user, `Conflict` while a scan of the user runs,
    /// `PermissionDenied` when quota tracking is off, `InvalidInput` for a
    /// negative reset or for adding to an untracked user.
    async fn update_user_usage(
        &self,
        username: &Username,
        mode: UsageMode,
        usage: QuotaUsage,
    ) -> Result<()>;

    /// The folder scans running on this server, oldest first.
    async fn folder_scans(&self) -> Result<Vec<QuotaScan>>;

    /// Starts measuring the folder's storage, as
    /// [`start_user_scan`](Self::start_user_scan) does for a user.
    async fn start_folder_scan(&self, name: &FolderName) -> Result<()>;

    /// Replaces or adds to the folder's stored usage, as
    /// [`update_user_usage`](Self::update_user_usage) does for a user
    /// (folders are tracked whatever their limits unless tracking is off).
    async fn update_folder_usage(
        &self,
        name: &FolderName,
        mode: UsageMode,
        usage: QuotaUsage,
    ) -> Result<()>;
}
