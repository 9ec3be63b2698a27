//! Backup and restore of every account: users and admins, as SFTPGo's
//! `dumpdata` and `loaddata` do, except that a restore is all or nothing.

use super::accounts::Accounts;
use super::admins::Admins;
use super::connections::ConnectionRegistry;
use super::folders::Folders;
use async_trait::async_trait;
use ferry_domain::{Admin, Error, Folder, FolderName, Result, User};
use ferry_ports::{
    AdminContext, AdminRepository, BackupAdmin, BackupData, BackupRepository, BackupUser, Backups,
    Clock, FolderRepository, PasswordHasher, QuotaManagement, RestoreApplied, RestoreBatch,
    RestoreMode, RestoreOptions, RestoreReport, RestoreScan, UserRepository,
};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::Arc;

/// The backup use cases over the account store.
pub struct BackupService<R, H> {
    repo: Arc<R>,
    accounts: Arc<Accounts<R, H>>,
    folders: Arc<Folders<R>>,
    admins: Arc<Admins<R, H>>,
    quotas: Arc<dyn QuotaManagement>,
    clock: Arc<dyn Clock>,
    connections: Arc<ConnectionRegistry>,
}

impl<R, H> BackupService<R, H>
where
    R: BackupRepository + UserRepository + FolderRepository + AdminRepository,
    H: PasswordHasher,
{
    pub fn new(
        repo: Arc<R>,
        accounts: Arc<Accounts<R, H>>,
        folders: Arc<Folders<R>>,
        admins: Arc<Admins<R, H>>,
        quotas: Arc<dyn QuotaManagement>,
        clock: Arc<dyn Clock>,
        connections: Arc<ConnectionRegistry>,
    ) -> Self {
        Self {
            repo,
            accounts,
            folders,
            admins,
            quotas,
            clock,
            connections,
        }
    }

    /// Every object of `data` made complete and checked, or the first one
    /// at fault named in the error.
    async fn prepare(&self, data: BackupData, update_existing: bool) -> Result<RestoreBatch> {
        check_unique("folder", data.folders.iter().map(|f| f.name.as_str()))?;
        check_unique("user", data.users.iter().map(|u| u.user.username.as_str()))?;
        check_unique(
            "admin",
            data.admins.iter().map(|a| a.admin.username.as_str()),
        )?;
        let mut folders = Vec::with_capacity(data.folders.len());
        for folder in data.folders {
            let what = format!("folder {:?}", folder.name.as_str());
            let folder = self
                .prepare_folder(folder)
                .await
                .map_err(|e| about(&what, e))?;
            folders.push(folder);
        }
        let mut users = Vec::with_capacity(data.users.len());
        for entry in data.users {
            let what = format!("user {:?}", entry.user.username.as_str());
            let user = self
                .prepare_user(entry)
                .await
                .map_err(|e| about(&what, e))?;
            users.push(user);
        }
        self.check_mounts(&folders, &users).await?;
        let mut admins = Vec::with_capacity(data.admins.len());
        for entry in data.admins {
            let what = format!("admin {:?}", entry.admin.username.as_str());
            let admin = self
                .prepare_admin(entry)
                .await
                .map_err(|e| about(&what, e))?;
            admins.push(admin);
        }
        Ok(RestoreBatch {
            folders,
            users,
            admins,
            update_existing,
        })
    }

    /// A folder of the backup, checked, with no usage of its own yet (the
    /// store keeps an existing folder's).
    async fn prepare_folder(&self, mut folder: Folder) -> Result<Folder> {
        folder.id = 0;
        folder.used_quota_size = 0;
        folder.used_quota_files = 0;
        folder.last_quota_update = 0;
        folder.users = Vec::new();
        self.folders.prepare(folder).await
    }

    async fn prepare_user(&self, entry: BackupUser) -> Result<User> {
        let mut user = entry.user;
        check_secrets("filters", &user.filters.other)?;
        user.id = 0;
        user.password_hash = None;
        // A new user starts with no usage (the store keeps an existing
        // user's); a quota scan, when asked for, counts it afterwards.
        user.used_quota_size = 0;
        user.used_quota_files = 0;
        user.last_quota_update = 0;
        if user.created_at <= 0 {
            user.created_at = self.clock.now_ms();
        }
        self.accounts.prepare_alone(user, entry.password).await
    }

    /// Every mount names a folder of the backup or a stored one.
    async fn check_mounts(&self, folders: &[Folder], users: &[User]) -> Result<()> {
        let mounted: Vec<FolderName> = users
            .iter()
            .flat_map(|u| u.virtual_folders.iter().map(|m| m.folder.name.clone()))
            .filter(|name| !folders.iter().any(|f| &f.name == name))
            .collect();
        let stored = self.repo.folders_named(&mounted).await?;
        for user in users {
            for mount in &user.virtual_folders {
                let name = &mount.folder.name;
                let known = folders.iter().chain(&stored).any(|f| &f.name == name);
                if !known {
                    return Err(Error::invalid(format!(
                        "user {:?}: virtual folder {:?} is neither in the backup nor stored",
                        user.username.as_str(),
                        name.as_str()
                    )));
                }
            }
        }
        Ok(())
    }

    async fn prepare_admin(&self, entry: BackupAdmin) -> Result<Admin> {
        let mut admin = entry.admin;
        check_secrets("filters", &admin.filters.other)?;
        admin.id = 0;
        admin.password_hash = String::new();
        if admin.created_at <= 0 {
            admin.created_at = self.clock.now_ms();
        }
        self.admins.prepare(admin, entry.password).await
    }

    /// Closes the live connections of the users a restore changed.
    fn disconnect(&self, updated: &[String]) {
        for username in updated {
            let closed = self.connections.disconnect_user(username);
            if closed > 0 {
                tracing::info!(user = %username, closed, "restore: closed the user's connections");
            }
        }
    }

    /// Starts a quota scan of each restored user `scan` selects; one that
    /// cannot start (tracking off, a scan running) is logged and skipped.
    async fn start_scans(&self, users: &[User], applied: &RestoreApplied, scan: RestoreScan) {
        let restored: HashSet<&str> = applied
            .users
            .added
            .iter()
            .chain(&applied.users.updated)
            .map(String::as_str)
            .collect();
        for user in users {
            let wanted = match scan {
                RestoreScan::Never => false,
                RestoreScan::Always => true,
                RestoreScan::WithLimits => user.has_quota_limits(),
            };
            if wanted
                && restored.contains(user.username.as_str())
                && let Err(e) = self.quotas.start_user_scan(&user.username).await
            {
                tracing::warn!(user = %user.username, error = %e,
                    "restore: cannot start the quota scan");
            }
        }
    }

    /// Starts a quota scan of each restored folder `scan` selects: every
    /// one, or (with limits only) those a restored user mounts with a
    /// folder-wide limit.
    async fn start_folder_scans(
        &self,
        batch: &RestoreBatch,
        applied: &RestoreApplied,
        scan: RestoreScan,
    ) {
        let limited = |name: &str| {
            batch
                .users
                .iter()
                .flat_map(|u| &u.virtual_folders)
                .any(|m| m.folder.name.as_str() == name && (m.quota_size > 0 || m.quota_files > 0))
        };
        let restored = applied.folders.added.iter().chain(&applied.folders.updated);
        for name in restored {
            let wanted = match scan {
                RestoreScan::Never => false,
                RestoreScan::Always => true,
                RestoreScan::WithLimits => limited(name),
            };
            let Ok(folder) = FolderName::parse(name) else {
                continue;
            };
            if wanted && let Err(e) = self.quotas.start_folder_scan(&folder).await {
                tracing::warn!(folder = %name, error = %e, "restore: cannot start the quota scan");
            }
        }
    }
}

#[async_trait]
impl<R, H> Backups for BackupService<R, H>
where
    R: BackupRepository + UserRepository + FolderRepository + AdminRepository,
    H: PasswordHasher,
{
    async fn dump(&self) -> Result<BackupData> {
        let snapshot = self.repo.read_all().await?;
        Ok(BackupData {
            folders: snapshot.folders,
            users: snapshot
                .users
                .into_iter()
                .map(|user| BackupUser {
                    password: user.password_hash.clone(),
                    user,
                })
                .collect(),
            admins: snapshot
                .admins
                .into_iter()
                .map(|admin| BackupAdmin {
                    password: Some(admin.password_hash.clone()),
                    admin,
                })
                .collect(),
            skipped_sections: Vec::new(),
            version: 0,
        })
    }

    async fn restore(
        &self,
        admin: Option<&AdminContext>,
        data: BackupData,
        options: RestoreOptions,
    ) -> Result<RestoreReport> {
        let skipped_sections = data.skipped_sections.clone();
        let update_existing = options.mode != RestoreMode::AddOnly;
        let batch = self.prepare(data, update_existing).await?;
        let applied = self.repo.write_batch(&batch).await?;
        let by = admin.map_or("start-up", |a| a.username.as_str());
        tracing::info!(by, folders_added = applied.folders.added.len(),
            folders_updated = applied.folders.updated.len(),
            users_added = applied.users.added.len(),
            users_updated = applied.users.updated.len(), users_kept = applied.users.kept.len(),
            admins_added = applied.admins.added.len(),
            admins_updated = applied.admins.updated.len(), skipped = ?skipped_sections,
            "backup restored");
        if options.mode == RestoreMode::AddUpdateAndDisconnect {
            self.disconnect(&applied.users.updated);
        }
        self.start_scans(&batch.users, &applied, options.quota_scan)
            .await;
        self.start_folder_scans(&batch, &applied, options.quota_scan)
            .await;
        Ok(RestoreReport {
            applied,
            skipped_sections,
        })
    }
}

/// Refuses a backup that holds two objects of one kind with the same name:
/// which one should win is not for the server to guess.
fn check_unique<'a>(kind: &str, names: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut seen = HashSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(Error::invalid(format!(
                "{kind} {name:?} appears twice in the backup"
            )));
        }
    }
    Ok(())
}

/// The same error kind, with the object at fault named first.
fn about(what: &str, e: Error) -> Error {
    let named = Error::new(e.kind(), format!("{what}: {}", e.message()));
    match e.detail() {
        Some(detail) => named.with_detail(detail),
        None => named,
    }
}

/// SFTPGo's secret statuses that mean "encrypted": Ferry holds no key to
/// read them.
const ENCRYPTED_STATUSES: [&str; 6] = [
    "AES-256-GCM",
    "Secretbox",
    "GCP",
    "AWS",
    "VaultTransit",
    "AzureKeyVault",
];

/// Refuses a secret (an object with `status` and `payload`) that is not in
/// plain text anywhere inside `value`: an encrypted one cannot be read
/// without its key, and a redacted one has lost its value.
// LIMITATION: a secret in `filters` (a TOTP seed restored in plain text) is
// stored as given, not sealed, and a dump shows it in plain text; only
// filesystem secrets are sealed.
fn check_secrets(path: &str, map: &Map<String, Value>) -> Result<()> {
    for (key, value) in map {
        check_secret_value(&format!("{path}.{key}"), value)?;
    }
    Ok(())
}

fn check_secret_value(path: &str, value: &Value) -> Result<()> {
    match value {
        Value::Object(map) => {
            if let (Some(Value::String(status)), true) =
                (map.get("status"), map.contains_key("payload"))
            {
                return check_secret_status(path, status);
            }
            check_secrets(path, map)
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| check_secret_value(&format!("{path}[{i}]"), item)),
        _ => Ok(()),
    }
}

fn check_secret_status(path: &str, status: &str) -> Result<()> {
    if status == "Plain" || status.is_empty() {
        return Ok(());
    }
    let why = if ENCRYPTED_STATUSES.contains(&status) {
        "is encrypted"
    } else {
        "has no usable value"
    };
    Err(Error::invalid(format!(
        "the secret {path} {why} (status {status:?}): only secrets with status \"Plain\" \
         can be restored"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_domain::ErrorKind;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn plain_and_empty_secrets_pass_and_others_are_named() {
        let plain = map(
            json!({"totp_config": {"secret": {"status": "Plain", "payload": "x"}},
            "recovery_codes": [{"secret": {"status": "", "payload": ""}, "used": false}]}),
        );
        check_secrets("filters", &plain).unwrap();

        let encrypted = map(json!({"recovery_codes": [{"used": false},
            {"secret": {"status": "Secretbox", "payload": "x", "key": "k"}}]}));
        let err = check_secrets("filters", &encrypted).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(
            err.message()
                .contains("filters.recovery_codes[1].secret is encrypted (status \"Secretbox\")"),
            "{}",
            err.message()
        );

        let redacted = map(json!({"s3config": {"access_secret": {"status": "Redacted",
            "payload": ""}}}));
        let err = check_secrets("filesystem", &redacted).unwrap_err();
        assert!(
            err.message().contains("has no usable value"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn errors_name_their_object_and_keep_their_kind() {
        let err = about(
            "user \"bob\"",
            Error::unavailable("database down").with_detail("x"),
        );
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(err.message(), "user \"bob\": database down");
        assert_eq!(err.detail(), Some("x"));
    }
}
