//! SFTPGo's `FilesystemConfig` object, shared by users and folders.

use ferry_domain::{Error, FilesystemConfig, FsProvider, Result};
use serde::Serialize;
use serde_json::{Map, Value};

/// The sub-object that holds each provider's settings.
fn settings_key(provider: FsProvider) -> Option<&'static str> {
    match provider {
        FsProvider::Local => Some("osconfig"),
        FsProvider::S3 => Some("s3config"),
        FsProvider::Gcs => Some("gcsconfig"),
        FsProvider::AzureBlob => Some("azblobconfig"),
        _ => None,
    }
}

/// The filesystem a client submitted. Clients such as SFTPGo's web UI send
/// every provider's sub-object; only the chosen provider's is read, and the
/// core checks it.
pub(crate) fn filesystem_from_wire(mut raw: Map<String, Value>) -> Result<FilesystemConfig> {
    raw.retain(|_, value| !value.is_null());
    let provider = match raw.get("provider") {
        None => FsProvider::Local,
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| Error::invalid("invalid filesystem: provider must be an integer"))
            .and_then(FsProvider::from_code)?,
        Some(_) => {
            return Err(Error::invalid(
                "invalid filesystem: provider must be an integer",
            ));
        }
    };
    let keep = settings_key(provider);
    raw.retain(|key, _| key == "provider" || Some(key.as_str()) == keep);
    serde_json::from_value(Value::Object(raw))
        .map_err(|e| Error::invalid(format!("invalid filesystem: {e}")))
}

/// `filesystem` as the API shows it: every secret `Redacted`.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(crate) struct FilesystemOut(FilesystemConfig);

impl FilesystemOut {
    pub fn from_domain(filesystem: &FilesystemConfig) -> Self {
        Self(filesystem.shown())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<FilesystemConfig> {
        filesystem_from_wire(value.as_object().unwrap().clone())
    }

    #[test]
    fn only_the_chosen_providers_settings_are_read() {
        let fs = parse(json!({"provider": 1, "s3config": {"bucket": "b"},
            "gcsconfig": {"bucket": 7}, "osconfig": null}))
        .unwrap();
        assert_eq!(fs.s3config.unwrap().bucket, "b");
        assert!(fs.gcsconfig.is_none());
        assert!(parse(json!({"provider": "1"})).is_err());
        assert!(parse(json!({"provider": 9})).is_err());
        assert!(parse(json!({"provider": 1, "s3config": {"bucket": 7}})).is_err());
    }

    #[test]
    fn secrets_are_shown_redacted() {
        let fs = parse(
            json!({"provider": 1, "s3config": {"bucket": "b", "access_key": "k",
            "access_secret": {"status": "Plain", "payload": "hunter2"}}}),
        )
        .unwrap();
        let shown = serde_json::to_value(FilesystemOut::from_domain(&fs)).unwrap();
        assert_eq!(
            shown["s3config"]["access_secret"],
            json!({"status": "Redacted"})
        );
        assert!(!shown.to_string().contains("hunter2"));
    }
}
