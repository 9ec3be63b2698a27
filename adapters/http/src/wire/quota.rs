//! Quota scans and usage changes (SFTPGo's `QuotaScan` and `QuotaUsage`).

use ferry_domain::QuotaUsage;
use ferry_ports::QuotaScan;
use serde::{Deserialize, Serialize};

/// A running user scan.
#[derive(Serialize)]
pub(crate) struct UserScanOut<'a> {
    username: &'a str,
    /// Unix milliseconds.
    start_time: i64,
}

impl<'a> UserScanOut<'a> {
    pub(crate) fn from_domain(scan: &'a QuotaScan) -> Self {
        Self {
            username: &scan.name,
            start_time: scan.started_at,
        }
    }
}

/// A running folder scan.
#[derive(Serialize)]
pub(crate) struct FolderScanOut<'a> {
    name: &'a str,
    /// Unix milliseconds.
    start_time: i64,
}

impl<'a> FolderScanOut<'a> {
    pub(crate) fn from_domain(scan: &'a QuotaScan) -> Self {
        Self {
            name: &scan.name,
            start_time: scan.started_at,
        }
    }
}

/// A usage change; a missing field is 0 (so `add` leaves it as it is and
/// `reset` clears it).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct UsageIn {
    used_quota_size: i64,
    used_quota_files: i64,
}

impl UsageIn {
    pub(crate) fn into_domain(self) -> QuotaUsage {
        QuotaUsage {
            size: self.used_quota_size,
            files: self.used_quota_files,
        }
    }
}
