//! Where a user's or folder's files live.

use crate::error::{Error, Result};
use crate::secret::Secret;
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
/// code and the sub-object of that provider. Sub-objects of other providers
/// are dropped when the configuration is checked.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FilesystemConfig {
    #[serde(default)]
    pub provider: i64,
    /// Local disk settings, kept as given (buffer sizes Ferry does not use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osconfig: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3config: Option<S3Config>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcsconfig: Option<GcsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azblobconfig: Option<AzBlobConfig>,
}

/// SFTPGo's `s3config`. Sizes are in MB and times in seconds, 0 meaning the
/// default.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Config {
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    pub access_secret: Secret,
    pub sse_customer_key: Secret,
    pub role_arn: String,
    pub session_token: String,
    pub endpoint: String,
    pub storage_class: String,
    pub acl: String,
    pub upload_part_size: i64,
    pub upload_concurrency: i64,
    pub upload_part_max_time: i64,
    pub download_part_size: i64,
    pub download_concurrency: i64,
    pub download_part_max_time: i64,
    pub force_path_style: bool,
    pub key_prefix: String,
}

/// SFTPGo's `gcsconfig`. `credentials` holds a service account's JSON key.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GcsConfig {
    pub bucket: String,
    pub credentials: Secret,
    /// 1: the environment's default credentials instead of `credentials`.
    pub automatic_credentials: i64,
    pub storage_class: String,
    pub acl: String,
    pub key_prefix: String,
    pub upload_part_size: i64,
    pub upload_part_max_time: i64,
}

/// SFTPGo's `azblobconfig`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AzBlobConfig {
    pub container: String,
    pub account_name: String,
    pub account_key: Secret,
    pub sas_url: Secret,
    /// A host (`blob.core.windows.net` when empty) or, with `use_emulator`
    /// or a scheme, a base URL.
    pub endpoint: String,
    pub upload_part_size: i64,
    pub upload_concurrency: i64,
    pub download_part_size: i64,
    pub download_concurrency: i64,
    pub access_tier: String,
    pub key_prefix: String,
    pub use_emulator: bool,
}

/// The largest multipart part, in MB (S3's limit).
const MAX_PART_MB: i64 = 5 * 1024;
/// The smallest multipart part, in MB (S3's limit).
const MIN_PART_MB: i64 = 5;
/// The largest ranged read, in MB.
const MAX_DOWNLOAD_PART_MB: i64 = 64;
/// Parts sent, or blocks read ahead, at once.
const MAX_CONCURRENCY: i64 = 64;

impl FilesystemConfig {
    /// Local disk with default settings.
    pub fn local() -> Self {
        Self::default()
    }

    pub fn provider(&self) -> Result<FsProvider> {
        FsProvider::from_code(self.provider)
    }

    /// True for the providers whose root is a key prefix, not a local path.
    pub fn is_object_storage(&self) -> bool {
        matches!(
            self.provider(),
            Ok(FsProvider::S3 | FsProvider::Gcs | FsProvider::AzureBlob)
        )
    }

    /// Checks the provider is one Ferry serves and its settings are usable,
    /// keeps only that provider's sub-object, and normalises its key prefix
    /// (no leading `/`, one trailing `/`).
    pub fn validate(&mut self) -> Result<()> {
        let provider = self.provider()?;
        let osconfig = self.osconfig.take();
        let s3 = self.s3config.take();
        let gcs = self.gcsconfig.take();
        let azure = self.azblobconfig.take();
        match provider {
            FsProvider::Local => self.osconfig = osconfig,
            FsProvider::S3 => {
                let mut config = s3.ok_or_else(|| missing("s3config"))?;
                config.validate()?;
                self.s3config = Some(config);
            }
            FsProvider::Gcs => {
                let mut config = gcs.ok_or_else(|| missing("gcsconfig"))?;
                config.validate()?;
                self.gcsconfig = Some(config);
            }
            FsProvider::AzureBlob => {
                let mut config = azure.ok_or_else(|| missing("azblobconfig"))?;
                config.validate()?;
                self.azblobconfig = Some(config);
            }
            other => {
                return Err(Error::invalid(format!(
                    "filesystem provider {} is not supported",
                    other.code()
                )));
            }
        }
        Ok(())
    }

    /// The secrets of the configured provider, by field path.
    pub fn secrets_mut(&mut self) -> Vec<(&'static str, &mut Secret)> {
        let mut secrets: Vec<(&'static str, &mut Secret)> = Vec::new();
        if let Some(s3) = &mut self.s3config {
            secrets.push(("s3config.access_secret", &mut s3.access_secret));
            secrets.push(("s3config.sse_customer_key", &mut s3.sse_customer_key));
        }
        if let Some(gcs) = &mut self.gcsconfig {
            secrets.push(("gcsconfig.credentials", &mut gcs.credentials));
        }
        if let Some(azure) = &mut self.azblobconfig {
            secrets.push(("azblobconfig.account_key", &mut azure.account_key));
            secrets.push(("azblobconfig.sas_url", &mut azure.sas_url));
        }
        secrets
    }

    /// The secret stored at `field` (a path from [`secrets_mut`](Self::secrets_mut)).
    pub fn secret(&self, field: &str) -> Option<&Secret> {
        let s3 = self.s3config.as_ref();
        let gcs = self.gcsconfig.as_ref();
        let azure = self.azblobconfig.as_ref();
        match field {
            "s3config.access_secret" => s3.map(|c| &c.access_secret),
            "s3config.sse_customer_key" => s3.map(|c| &c.sse_customer_key),
            "gcsconfig.credentials" => gcs.map(|c| &c.credentials),
            "azblobconfig.account_key" => azure.map(|c| &c.account_key),
            "azblobconfig.sas_url" => azure.map(|c| &c.sas_url),
            _ => None,
        }
    }

    /// This configuration as a reply shows it: every secret redacted.
    pub fn shown(&self) -> Self {
        let mut shown = self.clone();
        for (_, secret) in shown.secrets_mut() {
            *secret = secret.shown();
        }
        shown
    }
}

fn missing(object: &str) -> Error {
    Error::invalid(format!("filesystem.{object} is required for this provider"))
}

impl S3Config {
    fn validate(&mut self) -> Result<()> {
        required("s3config.bucket", &self.bucket)?;
        name_chars("s3config.bucket", &self.bucket, "._-")?;
        name_chars("s3config.region", &self.region, "-")?;
        self.key_prefix = normalize_key_prefix("s3config.key_prefix", &self.key_prefix)?;
        check_endpoint("s3config.endpoint", &self.endpoint)?;
        if self.access_key.is_empty() != self.access_secret.is_empty() {
            return Err(Error::invalid(
                "s3config.access_key and s3config.access_secret must be given together",
            ));
        }
        self.access_secret.check("s3config.access_secret")?;
        // LIMITATION: SSE-C, assumed roles, storage classes and canned ACLs
        // are refused: object_store cannot apply them as SFTPGo does.
        unsupported(
            "s3config.sse_customer_key",
            !self.sse_customer_key.is_empty(),
        )?;
        unsupported("s3config.role_arn", !self.role_arn.is_empty())?;
        unsupported("s3config.storage_class", !self.storage_class.is_empty())?;
        unsupported("s3config.acl", !self.acl.is_empty())?;
        part_size("s3config.upload_part_size", self.upload_part_size)?;
        in_range(
            "s3config.upload_concurrency",
            self.upload_concurrency,
            0,
            MAX_CONCURRENCY,
        )?;
        in_range(
            "s3config.upload_part_max_time",
            self.upload_part_max_time,
            0,
            i64::MAX,
        )?;
        in_range(
            "s3config.download_part_size",
            self.download_part_size,
            0,
            MAX_DOWNLOAD_PART_MB,
        )?;
        in_range(
            "s3config.download_concurrency",
            self.download_concurrency,
            0,
            16,
        )?;
        in_range(
            "s3config.download_part_max_time",
            self.download_part_max_time,
            0,
            i64::MAX,
        )
    }
}

impl GcsConfig {
    fn validate(&mut self) -> Result<()> {
        required("gcsconfig.bucket", &self.bucket)?;
        name_chars("gcsconfig.bucket", &self.bucket, "._-")?;
        self.key_prefix = normalize_key_prefix("gcsconfig.key_prefix", &self.key_prefix)?;
        in_range(
            "gcsconfig.automatic_credentials",
            self.automatic_credentials,
            0,
            1,
        )?;
        if self.automatic_credentials == 0 && self.credentials.is_empty() {
            return Err(Error::invalid(
                "gcsconfig.credentials are required unless automatic_credentials is 1",
            ));
        }
        self.credentials.check("gcsconfig.credentials")?;
        // LIMITATION: GCS storage classes and ACLs are refused: object_store
        // cannot set them per object.
        unsupported("gcsconfig.storage_class", !self.storage_class.is_empty())?;
        unsupported("gcsconfig.acl", !self.acl.is_empty())?;
        part_size("gcsconfig.upload_part_size", self.upload_part_size)?;
        in_range(
            "gcsconfig.upload_part_max_time",
            self.upload_part_max_time,
            0,
            i64::MAX,
        )
    }
}

impl AzBlobConfig {
    fn validate(&mut self) -> Result<()> {
        required("azblobconfig.container", &self.container)?;
        name_chars("azblobconfig.container", &self.container, "-$")?;
        name_chars("azblobconfig.account_name", &self.account_name, "")?;
        self.key_prefix = normalize_key_prefix("azblobconfig.key_prefix", &self.key_prefix)?;
        if self.sas_url.is_empty() && self.account_name.is_empty() {
            return Err(Error::invalid(
                "azblobconfig needs an account_name or a sas_url",
            ));
        }
        if self.use_emulator || self.endpoint.contains("://") {
            check_endpoint("azblobconfig.endpoint", &self.endpoint)?;
        } else if self.endpoint.contains('/') {
            return Err(Error::invalid(
                "azblobconfig.endpoint must be a host name, or a URL with its scheme",
            ));
        }
        self.account_key.check("azblobconfig.account_key")?;
        self.sas_url.check("azblobconfig.sas_url")?;
        // LIMITATION: access tiers are refused: object_store cannot set them.
        unsupported("azblobconfig.access_tier", !self.access_tier.is_empty())?;
        if self.upload_part_size != 0 {
            in_range(
                "azblobconfig.upload_part_size",
                self.upload_part_size,
                1,
                4000,
            )?;
        }
        in_range(
            "azblobconfig.upload_concurrency",
            self.upload_concurrency,
            0,
            MAX_CONCURRENCY,
        )?;
        in_range(
            "azblobconfig.download_part_size",
            self.download_part_size,
            0,
            MAX_DOWNLOAD_PART_MB,
        )?;
        in_range(
            "azblobconfig.download_concurrency",
            self.download_concurrency,
            0,
            16,
        )
    }
}

fn required(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(format!("{field} is required")));
    }
    Ok(())
}

/// Bucket, region and account names end up in host names and paths, so
/// they hold letters, digits and a few punctuation marks only.
fn name_chars(field: &str, value: &str, punctuation: &str) -> Result<()> {
    if let Some(bad) = value
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !punctuation.contains(*c))
    {
        return Err(Error::invalid(format!("{field} cannot hold {bad:?}")));
    }
    Ok(())
}

fn unsupported(field: &str, set: bool) -> Result<()> {
    if set {
        return Err(Error::unsupported(format!("{field} is not supported")));
    }
    Ok(())
}

fn in_range(field: &str, value: i64, min: i64, max: i64) -> Result<()> {
    if !(min..=max).contains(&value) {
        return Err(Error::invalid(format!(
            "{field} must be between {min} and {max}"
        )));
    }
    Ok(())
}

fn part_size(field: &str, value: i64) -> Result<()> {
    if value != 0 {
        in_range(field, value, MIN_PART_MB, MAX_PART_MB)?;
    }
    Ok(())
}

/// An endpoint is empty (the provider's own) or an http(s) URL.
fn check_endpoint(field: &str, endpoint: &str) -> Result<()> {
    if endpoint.is_empty() {
        return Ok(());
    }
    let rest = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(()),
        _ => Err(Error::invalid(format!(
            "{field} must be an http:// or https:// URL"
        ))),
    }
}

/// SFTPGo's key prefix rule: a leading `/` is dropped and one trailing `/`
/// added; `.`, `..` and empty segments are refused, as is a non-empty
/// prefix that names the bucket's root.
pub fn normalize_key_prefix(field: &str, prefix: &str) -> Result<String> {
    if prefix.is_empty() {
        return Ok(String::new());
    }
    let trimmed = prefix.trim_start_matches('/').trim_end_matches('/');
    if trimmed.is_empty() {
        return Err(Error::invalid(format!(
            "{field} must not name the root of the bucket; leave it empty instead"
        )));
    }
    for segment in trimmed.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." || segment.contains('\0') {
            return Err(Error::invalid(format!(
                "{field} has an invalid segment: {segment:?}"
            )));
        }
    }
    Ok(format!("{trimmed}/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretStatus;
    use serde_json::json;

    fn parse(value: Value) -> Result<FilesystemConfig> {
        let mut config: FilesystemConfig =
            serde_json::from_value(value).map_err(|e| Error::invalid(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn s3(extra: Value) -> Value {
        let mut s3 = json!({"bucket": "b", "access_key": "k",
            "access_secret": {"status": "Plain", "payload": "s"}});
        for (key, value) in extra.as_object().unwrap() {
            s3[key] = value.clone();
        }
        json!({"provider": 1, "s3config": s3, "osconfig": {"read_buffer_size": 1},
            "gcsconfig": {"bucket": "other"}})
    }

    #[test]
    fn only_the_providers_own_settings_are_kept() {
        let config = parse(s3(json!({}))).unwrap();
        assert!(config.osconfig.is_none() && config.gcsconfig.is_none());
        assert_eq!(config.s3config.unwrap().bucket, "b");
        let local = parse(json!({"provider": 0, "osconfig": {"read_buffer_size": 1},
            "s3config": {"bucket": "x"}}))
        .unwrap();
        assert!(local.s3config.is_none());
        assert!(local.osconfig.is_some());
    }

    #[test]
    fn key_prefixes_are_normalised_or_refused() {
        let prefix =
            |p: &str| parse(s3(json!({"key_prefix": p}))).map(|c| c.s3config.unwrap().key_prefix);
        assert_eq!(prefix("").unwrap(), "");
        assert_eq!(prefix("/homes/alice").unwrap(), "homes/alice/");
        assert_eq!(prefix("homes/alice/").unwrap(), "homes/alice/");
        for bad in ["/", "a/../b", "a//b", "./a", ".."] {
            assert!(prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_cloud_settings_are_refused() {
        let bad = [
            json!({"provider": 1}),
            json!({"provider": 1, "s3config": {"bucket": ""}}),
            s3(json!({"access_secret": {}})),
            s3(json!({"endpoint": "127.0.0.1:9000"})),
            s3(json!({"upload_part_size": 4})),
            s3(json!({"upload_concurrency": 65})),
            s3(json!({"storage_class": "GLACIER"})),
            s3(json!({"bucket": "b/../x"})),
            s3(json!({"region": "x.internal/"})),
            s3(json!({"access_secret": {"status": "VaultTransit", "payload": "x"}})),
            json!({"provider": 2, "gcsconfig": {"bucket": "b"}}),
            json!({"provider": 2, "gcsconfig": {"bucket": "b", "automatic_credentials": 2}}),
            json!({"provider": 3, "azblobconfig": {"container": "c"}}),
            json!({"provider": 3, "azblobconfig": {"container": "c", "account_name": "a",
                "access_tier": "Hot"}}),
            json!({"provider": 3, "azblobconfig": {"container": "c", "account_name": "a",
                "endpoint": "example.com/path"}}),
            json!({"provider": 4}),
        ];
        for value in bad {
            assert!(parse(value.clone()).is_err(), "{value}");
        }
        assert!(
            parse(json!({"provider": 2, "gcsconfig": {"bucket": "b",
            "automatic_credentials": 1}}))
            .is_ok()
        );
        assert!(
            parse(json!({"provider": 3, "azblobconfig": {"container": "c",
            "account_name": "devstoreaccount1", "use_emulator": true,
            "endpoint": "http://127.0.0.1:10000"}}))
            .is_ok()
        );
    }

    #[test]
    fn replies_show_secrets_redacted() {
        let config = parse(s3(json!({}))).unwrap();
        let shown = config.shown().s3config.unwrap();
        assert_eq!(shown.access_secret.status, Some(SecretStatus::Redacted));
        assert!(shown.access_secret.payload.is_empty());
        assert!(shown.sse_customer_key.is_empty());
    }

    #[test]
    fn secrets_are_found_by_field() {
        let mut config = parse(s3(json!({}))).unwrap();
        let fields: Vec<&str> = config.secrets_mut().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            ["s3config.access_secret", "s3config.sse_customer_key"]
        );
        assert_eq!(
            config.secret("s3config.access_secret").unwrap().payload,
            "s"
        );
        assert!(config.secret("gcsconfig.credentials").is_none());
    }
}
