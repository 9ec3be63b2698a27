//! A backup service that holds one document in memory.

use async_trait::async_trait;
use ferry_domain::Result;
use ferry_ports::{AdminContext, BackupData, Backups, RestoreOptions, RestoreReport};
use std::sync::Mutex;

/// Dumps what was last restored (nothing at first); a restore replaces it.
#[derive(Default)]
pub struct FakeBackups {
    held: Mutex<BackupData>,
}

#[async_trait]
impl Backups for FakeBackups {
    async fn dump(&self) -> Result<BackupData> {
        Ok(self.held.lock().unwrap().clone())
    }

    async fn restore(
        &self,
        _admin: Option<&AdminContext>,
        data: BackupData,
        _options: RestoreOptions,
    ) -> Result<RestoreReport> {
        let skipped_sections = data.skipped_sections.clone();
        *self.held.lock().unwrap() = data;
        Ok(RestoreReport {
            skipped_sections,
            ..RestoreReport::default()
        })
    }
}
