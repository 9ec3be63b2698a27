//! Where a user's or folder's files live.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// SFTPGo's `filesystem.provider` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsProvider {
    #[default]
    Local,
    S3,
    Gcs,
    AzureBlob,
    LocalEncrypted,
    Sftp,
    Http,
}

impl FsProvider {
    pub fn from_code(code: i64) -> Result<Self> {
        Ok(match code {
            0 => Self::Local,
            1 => Self::S3,
            2 => Self::Gcs,
            3 => Self::AzureBlob,
            4 => Self::LocalEncrypted,
            5 => Self::Sftp,
            6 => Self::Http,
            other => {
                return Err(Error::invalid(format!(
                    "invalid filesystem provider: {other}"
                )));
            }
        })
    }

    pub fn code(self) -> i64 {
        match self {
            Self::Local => 0,
            Self::S3 => 1,
            Self::Gcs => 2,
            Self::AzureBlob => 3,
            Self::LocalEncrypted => 4,
            Self::Sftp => 5,
            Self::Http => 6,
        }
    }
}

/// A filesystem configuration as SFTPGo's `filesystem` object: the provider
/// code plus its provider-specific sub-object, kept as given.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FilesystemConfig {
    #[serde(default)]
    pub provider: i64,
    /// The provider-specific sub-objects (`osconfig`, `s3config`, ...).
    #[serde(flatten)]
    pub settings: Map<String, Value>,
}

impl FilesystemConfig {
    /// Local disk with default settings.
    pub fn local() -> Self {
        Self::default()
    }

    pub fn provider(&self) -> Result<FsProvider> {
        FsProvider::from_code(self.provider)
    }

    /// Checks the provider is known and one Ferry can serve.
    pub fn validate(&self) -> Result<()> {
        match self.provider()? {
            FsProvider::Local => Ok(()),
            other => Err(Error::invalid(format!(
                "filesystem provider {} is not supported",
                other.code()
            ))),
        }
    }
}
