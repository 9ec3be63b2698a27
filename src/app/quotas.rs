//! Quota scans and usage changes: a scan walks a user's storage in the
//! background and replaces the stored usage with what it found.

use async_trait::async_trait;
use ferry_domain::{
    Error, FolderName, QuotaTracking, QuotaUsage, Result, UsageMode, User, Username, VirtualPath,
    quota::validate_usage_change,
};
use ferry_ports::{
    Clock, FileKind, FolderRepository, QuotaManagement, QuotaScan, Storage, StorageFactory,
    UserRepository,
};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

// LIMITATION: used quota changes through scans and operator changes only;
// uploads and deletes over SFTP do not update it yet, and limits are not
// enforced on transfers.
/// The quota use cases.
pub struct Quotas<R> {
    repo: Arc<R>,
    storage: Arc<dyn StorageFactory>,
    clock: Arc<dyn Clock>,
    tracking: QuotaTracking,
    /// Users being scanned, with the scan's start time (Unix ms).
    // LIMITATION: scans are known to the replica that runs them only: another
    // replica lists none and can start a second scan of the same user.
    user_scans: Arc<Scans>,
    /// Folders being scanned, likewise.
    folder_scans: Arc<Scans>,
}

impl<R: UserRepository + FolderRepository> Quotas<R> {
    pub fn new(
        repo: Arc<R>,
        storage: Arc<dyn StorageFactory>,
        clock: Arc<dyn Clock>,
        tracking: QuotaTracking,
    ) -> Self {
        Self {
            repo,
            storage,
            clock,
            tracking,
            user_scans: Arc::new(Scans::default()),
            folder_scans: Arc::new(Scans::default()),
        }
    }

    fn require_tracking(&self) -> Result<()> {
        if self.tracking == QuotaTracking::Off {
            return Err(Error::permission_denied("quota tracking is disabled"));
        }
        Ok(())
    }

    /// The storages a user's usage is measured over: the home and the
    /// mounted folders counted in the user's quota (both limits -1).
    fn user_roots(&self, user: &User) -> Result<Vec<Arc<dyn Storage>>> {
        let mut roots = vec![self.storage.storage_for(&user.home_dir, &user.filesystem)?];
        for mount in &user.virtual_folders {
            if mount.quota_size == -1 && mount.quota_files == -1 {
                let folder = &mount.folder;
                roots.push(
                    self.storage
                        .storage_for(&folder.mapped_path, &folder.filesystem)?,
                );
            }
        }
        Ok(roots)
    }
}

/// Names being scanned, with their start times.
#[derive(Default)]
struct Scans(Mutex<BTreeMap<String, i64>>);

impl Scans {
    /// Marks `name` as scanned from `now`; `Conflict` if it already is.
    fn begin(&self, name: &str, now: i64) -> Result<()> {
        let mut scans = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if scans.contains_key(name) {
            return Err(Error::conflict(format!(
                "a quota scan of {name:?} is already running"
            )));
        }
        scans.insert(name.to_owned(), now);
        Ok(())
    }

    fn end(&self, name: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }

    fn running(&self, name: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(name)
    }

    fn list(&self) -> Vec<QuotaScan> {
        let scans = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut list: Vec<QuotaScan> = scans
            .iter()
            .map(|(name, &started_at)| QuotaScan {
                name: name.clone(),
                started_at,
            })
            .collect();
        list.sort_by_key(|scan| scan.started_at);
        list
    }
}

/// Walks every directory of `storage` and adds up its regular files.
/// Symlinks are not followed, so nothing is counted twice or outside.
pub async fn measure(storage: &dyn Storage) -> Result<QuotaUsage> {
    let mut usage = QuotaUsage::default();
    let mut pending = vec![VirtualPath::root()];
    while let Some(dir) = pending.pop() {
        let mut entries = storage.read_dir(&dir).await?;
        while let Some(entry) = entries.next().await {
            let entry = entry?;
            match entry.metadata.kind {
                FileKind::File => {
                    usage.files += 1;
                    usage.size += i64::try_from(entry.metadata.size).unwrap_or(i64::MAX);
                }
                FileKind::Dir => pending.push(dir.join(&entry.name)?),
                FileKind::Symlink | FileKind::Other => {}
            }
        }
    }
    Ok(usage)
}

#[async_trait]
impl<R: UserRepository + FolderRepository> QuotaManagement for Quotas<R> {
    async fn user_scans(&self) -> Result<Vec<QuotaScan>> {
        Ok(self.user_scans.list())
    }

    async fn start_user_scan(&self, username: &Username) -> Result<()> {
        self.require_tracking()?;
        let user = self.repo.get_user(username).await?;
        let roots = self.user_roots(&user)?;
        self.user_scans
            .begin(username.as_str(), self.clock.now_ms())?;
        let (repo, clock, scans) = (
            self.repo.clone(),
            self.clock.clone(),
            self.user_scans.clone(),
        );
        let username = username.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let result = scan_user(&*repo, &*clock, &username, &roots).await;
            scans.end(username.as_str());
            log_scan("user", username.as_str(), &result, started);
        });
        Ok(())
    }

    async fn update_user_usage(
        &self,
        username: &Username,
        mode: UsageMode,
        usage: QuotaUsage,
    ) -> Result<()> {
        self.require_tracking()?;
        validate_usage_change(mode, usage)?;
        let user = self.repo.get_user(username).await?;
        if mode == UsageMode::Add
            && self.tracking == QuotaTracking::LimitedOnly
            && !user.has_quota_limits()
        {
            return Err(Error::invalid(
                "this user has no quota limits, so its usage is not tracked and cannot be \
                 added to",
            ));
        }
        if self.user_scans.running(username.as_str()) {
            return Err(Error::conflict(format!(
                "a quota scan of {username:?} is running"
            )));
        }
        self.repo
            .update_user_usage(username, mode, usage, self.clock.now_ms())
            .await
    }

    async fn folder_scans(&self) -> Result<Vec<QuotaScan>> {
        Ok(self.folder_scans.list())
    }

    async fn start_folder_scan(&self, name: &FolderName) -> Result<()> {
        self.require_tracking()?;
        let folder = self.repo.get_folder(name).await?;
        let root = self
            .storage
            .storage_for(&folder.mapped_path, &folder.filesystem)?;
        self.folder_scans
            .begin(name.as_str(), self.clock.now_ms())?;
        let (repo, clock, scans) = (
            self.repo.clone(),
            self.clock.clone(),
            self.folder_scans.clone(),
        );
        let name = name.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let result = match measure_root(&*root).await {
                Ok(usage) => repo
                    .update_folder_usage(&name, UsageMode::Reset, usage, clock.now_ms())
                    .await
                    .map(|()| usage),
                Err(e) => Err(e),
            };
            scans.end(name.as_str());
            log_scan("folder", name.as_str(), &result, started);
        });
        Ok(())
    }

    async fn update_folder_usage(
        &self,
        name: &FolderName,
        mode: UsageMode,
        usage: QuotaUsage,
    ) -> Result<()> {
        self.require_tracking()?;
        validate_usage_change(mode, usage)?;
        self.repo.get_folder(name).await?;
        if self.folder_scans.running(name.as_str()) {
            return Err(Error::conflict(format!(
                "a quota scan of folder {name:?} is running"
            )));
        }
        self.repo
            .update_folder_usage(name, mode, usage, self.clock.now_ms())
            .await
    }
}

/// One info line per finished scan, a warning per failed one.
fn log_scan(kind: &str, name: &str, result: &Result<QuotaUsage>, started: Instant) {
    let duration_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(usage) => tracing::info!(
            kind,
            name,
            size = usage.size,
            files = usage.files,
            duration_ms,
            "quota scan finished"
        ),
        Err(e) => tracing::warn!(kind, name, error = %e, duration_ms,
            "quota scan failed: the stored usage is unchanged"),
    }
}

/// [`measure`], with a root that does not exist yet counting as empty.
async fn measure_root(root: &dyn Storage) -> Result<QuotaUsage> {
    match measure(root).await {
        Err(e) if e.kind() == ferry_domain::ErrorKind::NotFound => Ok(QuotaUsage::default()),
        other => other,
    }
}

/// Measures every root and stores the total as the user's usage.
async fn scan_user<R: UserRepository>(
    repo: &R,
    clock: &dyn Clock,
    username: &Username,
    roots: &[Arc<dyn Storage>],
) -> Result<QuotaUsage> {
    let mut total = QuotaUsage::default();
    for root in roots {
        // A home that was never logged into holds nothing yet.
        let usage = measure_root(&**root).await?;
        total.size = total.size.saturating_add(usage.size);
        total.files = total.files.saturating_add(usage.files);
    }
    repo.update_user_usage(username, UsageMode::Reset, total, clock.now_ms())
        .await?;
    Ok(total)
}
