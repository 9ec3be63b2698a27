//! Quota scans kept in memory: a started scan stays listed until the test
//! ends, so a second start conflicts.

use async_trait::async_trait;
use ferry_domain::{Error, FolderName, QuotaUsage, Result, UsageMode, Username};
use ferry_ports::{QuotaManagement, QuotaScan};
use std::sync::Mutex;

/// The only user the fake knows.
pub const QUOTA_USER: &str = "measured";

#[derive(Default)]
pub struct FakeQuotas {
    scans: Mutex<Vec<QuotaScan>>,
    /// Every usage change applied, in order.
    pub changes: Mutex<Vec<(String, UsageMode, QuotaUsage)>>,
}

fn known(username: &Username) -> Result<()> {
    if username.as_str() == QUOTA_USER {
        Ok(())
    } else {
        Err(Error::not_found(format!(
            "user {username:?} does not exist"
        )))
    }
}

#[async_trait]
impl QuotaManagement for FakeQuotas {
    async fn user_scans(&self) -> Result<Vec<QuotaScan>> {
        Ok(self.scans.lock().unwrap().clone())
    }

    async fn start_user_scan(&self, username: &Username) -> Result<()> {
        known(username)?;
        let mut scans = self.scans.lock().unwrap();
        if scans.iter().any(|s| s.name == username.as_str()) {
            return Err(Error::conflict("a quota scan is already running"));
        }
        scans.push(QuotaScan {
            name: username.to_string(),
            started_at: 1_700_000_000_000,
        });
        Ok(())
    }

    async fn update_user_usage(
        &self,
        username: &Username,
        mode: UsageMode,
        usage: QuotaUsage,
    ) -> Result<()> {
        known(username)?;
        ferry_domain::quota::validate_usage_change(mode, usage)?;
        let change = (username.to_string(), mode, usage);
        self.changes.lock().unwrap().push(change);
        Ok(())
    }

    async fn folder_scans(&self) -> Result<Vec<QuotaScan>> {
        Ok(Vec::new())
    }

    async fn start_folder_scan(&self, name: &FolderName) -> Result<()> {
        Err(Error::not_found(format!("folder {name:?} does not exist")))
    }

    async fn update_folder_usage(
        &self,
        name: &FolderName,
        _mode: UsageMode,
        _usage: QuotaUsage,
    ) -> Result<()> {
        Err(Error::not_found(format!("folder {name:?} does not exist")))
    }
}
