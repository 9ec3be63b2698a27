//! Disk quota usage: what a user's (or a folder's) files take, how an
//! operator changes the stored figures, and which accounts are tracked.

use crate::error::{Error, Result};

/// Used disk space: bytes and files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuotaUsage {
    pub size: i64,
    pub files: i64,
}

/// How a change applies to the stored usage (SFTPGo's `mode` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UsageMode {
    /// Replace the stored figures.
    #[default]
    Reset,
    /// Add to them (negative values subtract; the result never drops below 0).
    Add,
}

impl UsageMode {
    /// `reset` or `add`.
    pub fn parse(raw: &str) -> Result<Self> {
        match raw {
            "reset" => Ok(Self::Reset),
            "add" => Ok(Self::Add),
            other => Err(Error::invalid(format!(
                "mode must be \"reset\" or \"add\", not {other:?}"
            ))),
        }
    }
}

/// Checks a usage change: stored figures are never negative.
pub fn validate_usage_change(mode: UsageMode, usage: QuotaUsage) -> Result<()> {
    if mode == UsageMode::Reset && (usage.size < 0 || usage.files < 0) {
        return Err(Error::invalid(
            "used_quota_size and used_quota_files cannot be negative",
        ));
    }
    Ok(())
}

/// Which accounts have their usage tracked (SFTPGo's
/// `data_provider.track_quota`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaTracking {
    /// 0: nobody; scans and usage changes are refused.
    Off,
    /// 1: every user.
    All,
    /// 2: users with a quota limit only (scans still work for the others).
    LimitedOnly,
}

impl QuotaTracking {
    /// From SFTPGo's number, 0, 1 or 2.
    pub fn from_code(code: i64) -> Result<Self> {
        match code {
            0 => Ok(Self::Off),
            1 => Ok(Self::All),
            2 => Ok(Self::LimitedOnly),
            other => Err(Error::invalid(format!(
                "track_quota must be 0, 1 or 2, not {other}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_resets_stay_positive() {
        assert_eq!(UsageMode::parse("add").unwrap(), UsageMode::Add);
        assert_eq!(UsageMode::parse("reset").unwrap(), UsageMode::Reset);
        assert!(UsageMode::parse("Reset").is_err());
        let minus = QuotaUsage { size: -1, files: 0 };
        assert!(validate_usage_change(UsageMode::Reset, minus).is_err());
        assert!(validate_usage_change(UsageMode::Add, minus).is_ok());
        assert_eq!(
            QuotaTracking::from_code(2).unwrap(),
            QuotaTracking::LimitedOnly
        );
        assert!(QuotaTracking::from_code(3).is_err());
    }
}
