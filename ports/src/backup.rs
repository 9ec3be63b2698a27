//! Backup and restore: the inbound port the REST API and the start-up
//! restore drive, and the outbound port that reads and writes every account
//! at once.

use crate::inbound::AdminContext;
use async_trait::async_trait;
use ferry_domain::{Admin, Folder, Result, User};

/// The objects of a backup document, in the core's types. Users and admins
/// carry their password hashes as stored; a user's mounts name folders of
/// the same document or already stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BackupData {
    pub folders: Vec<Folder>,
    pub users: Vec<BackupUser>,
    pub admins: Vec<BackupAdmin>,
    /// The document's sections Ferry does not restore that held objects, by
    /// their key in the document (`groups`, `shares`, ...), in document order.
    pub skipped_sections: Vec<String>,
    /// The document's format version (SFTPGo's `version`).
    pub version: i64,
}

/// A user as a backup holds it: `user.password_hash` is ignored and
/// `password` carries what the document's `password` field held (a hash to
/// keep as it is, or a plain password to hash), if anything.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupUser {
    pub user: User,
    pub password: Option<String>,
}

/// An admin as a backup holds it, `password` as for [`BackupUser`].
#[derive(Debug, Clone, PartialEq)]
pub struct BackupAdmin {
    pub admin: Admin,
    pub password: Option<String>,
}

/// What a restore does with an object that already exists (SFTPGo's
/// `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestoreMode {
    /// `0`: new objects are added, existing ones are updated.
    #[default]
    AddAndUpdate,
    /// `1`: new objects are added, existing ones are left as they are.
    AddOnly,
    /// `2`: as `0`, and the updated users' live connections are closed so
    /// that they log in again under the new settings.
    AddUpdateAndDisconnect,
}

impl RestoreMode {
    /// SFTPGo's code: 0, 1 or 2. `InvalidInput` for anything else.
    pub fn from_code(code: i64) -> Result<Self> {
        match code {
            0 => Ok(Self::AddAndUpdate),
            1 => Ok(Self::AddOnly),
            2 => Ok(Self::AddUpdateAndDisconnect),
            other => Err(ferry_domain::Error::invalid(format!(
                "invalid mode {other}: must be 0, 1 or 2"
            ))),
        }
    }
}

/// Which restored users get their quota usage recounted from their files
/// (SFTPGo's `scan-quota`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestoreScan {
    /// `0`: no scan; new users start at zero, existing ones keep their usage.
    #[default]
    Never,
    /// `1`: every restored user.
    Always,
    /// `2`: restored users with a quota limit (`quota_size` or
    /// `quota_files` above zero).
    WithLimits,
}

impl RestoreScan {
    /// SFTPGo's code: 0, 1 or 2. `InvalidInput` for anything else.
    pub fn from_code(code: i64) -> Result<Self> {
        match code {
            0 => Ok(Self::Never),
            1 => Ok(Self::Always),
            2 => Ok(Self::WithLimits),
            other => Err(ferry_domain::Error::invalid(format!(
                "invalid scan-quota {other}: must be 0, 1 or 2"
            ))),
        }
    }
}

/// How to restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RestoreOptions {
    pub mode: RestoreMode,
    pub quota_scan: RestoreScan,
}

/// What a restore did, by object name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RestoreReport {
    pub applied: RestoreApplied,
    /// Copied from [`BackupData::skipped_sections`].
    pub skipped_sections: Vec<String>,
}

/// Which objects of one kind were added, updated or left alone, by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Applied {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    /// Existing objects left untouched ([`RestoreMode::AddOnly`]).
    pub kept: Vec<String>,
}

/// What one restore wrote, per kind of object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RestoreApplied {
    pub folders: Applied,
    pub users: Applied,
    pub admins: Applied,
}

/// Backup and restore of the whole account store.
#[async_trait]
pub trait Backups: Send + Sync + 'static {
    /// Every folder, user and admin, as stored, read in one consistent
    /// snapshot.
    async fn dump(&self) -> Result<BackupData>;

    /// Restores `data`: all of it or nothing. Every object is validated
    /// first; the first invalid one fails the restore with `InvalidInput`
    /// whose message names it (`user "alice": ...`), and nothing is
    /// applied. A database failure while applying also applies nothing.
    /// Stored password hashes are kept as they are, never hashed again.
    /// `admin` is who asked (`None` for the start-up restore), for the log.
    async fn restore(
        &self,
        admin: Option<&AdminContext>,
        data: BackupData,
        options: RestoreOptions,
    ) -> Result<RestoreReport>;
}

/// The objects one restore writes, validated and complete.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RestoreBatch {
    pub folders: Vec<Folder>,
    pub users: Vec<User>,
    pub admins: Vec<Admin>,
    /// False leaves existing objects untouched ([`RestoreMode::AddOnly`]).
    pub update_existing: bool,
}

/// Every stored object a backup holds, read at one moment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// With their `users`.
    pub folders: Vec<Folder>,
    /// With their mounts.
    pub users: Vec<User>,
    pub admins: Vec<Admin>,
}

/// Reads and writes every account at once.
#[async_trait]
pub trait BackupRepository: Send + Sync + 'static {
    /// Every folder (by name), user and admin (by username), read in one
    /// transaction so the lists are consistent.
    async fn read_all(&self) -> Result<Snapshot>;

    /// Writes `batch` in one transaction, folders first so that users can
    /// mount them: on any error nothing of it is stored. An object whose
    /// name is new is inserted as given (its `id` is assigned). An existing
    /// one is, with `update_existing`, replaced by the given one except for
    /// what the store owns: its `id` and usage counters (`used_quota_size`,
    /// `used_quota_files`, `last_quota_update`), a folder's mounts, and an
    /// account's `created_at` and `last_login`; without `update_existing` it
    /// is left as it is. A user's mounts are replaced by the given ones and
    /// MUST name stored folders (`InvalidInput` otherwise). Returns which
    /// were added, updated and kept. MUST return `Unavailable` when the
    /// database fails.
    async fn write_batch(&self, batch: &RestoreBatch) -> Result<RestoreApplied>;
}
