//! SFTPGo's `FilesystemConfig` object, shared by users and folders.

use ferry_domain::{Error, FilesystemConfig, Result};
use serde::Serialize;
use serde_json::{Map, Value};

/// The `filesystem` sub-object of the only provider Ferry serves (local disk).
const LOCAL_SETTINGS_KEY: &str = "osconfig";

/// The filesystem a client submitted, checked. Only the local settings are
/// kept.
pub(crate) fn filesystem_from_wire(mut raw: Map<String, Value>) -> Result<FilesystemConfig> {
    raw.retain(|_, value| !value.is_null());
    let mut filesystem: FilesystemConfig = serde_json::from_value(Value::Object(raw))
        .map_err(|e| Error::invalid(format!("invalid filesystem: {e}")))?;
    filesystem.validate()?;
    // Clients such as SFTPGo's web UI send every provider's sub-object; only
    // the local one means anything, and the others may carry credentials.
    filesystem
        .settings
        .retain(|key, _| key == LOCAL_SETTINGS_KEY);
    Ok(filesystem)
}

/// `filesystem` as shown: the provider and the local settings only. Only
/// local disk is served today; other providers' sub-objects hold secrets
/// that must be redacted before they may be shown.
#[derive(Debug, Serialize)]
pub(crate) struct FilesystemOut<'a> {
    provider: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    osconfig: Option<&'a Value>,
}

impl<'a> FilesystemOut<'a> {
    pub fn from_domain(filesystem: &'a FilesystemConfig) -> Self {
        Self {
            provider: filesystem.provider,
            osconfig: filesystem.settings.get(LOCAL_SETTINGS_KEY),
        }
    }
}
