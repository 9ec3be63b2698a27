//! The storage back ends a user's or folder's filesystem configuration
//! names: local disk, or a bucket on S3, Google Cloud Storage or Azure Blob,
//! with the operator's rules on credentials and endpoints.

use ferry_domain::{
    AzBlobConfig, Error, FilesystemConfig, FsProvider, GcsConfig, Result, S3Config, Secret,
};
use ferry_ports::{SecretKeeper, Storage, StorageFactory};
use ferry_storage::{
    AzureSettings, GcsSettings, LocalStorage, ObjectStorage, S3Settings, TransferOptions,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Object storages kept for reuse (each holds a client with its connection
/// pool); the cache is emptied when it reaches this size.
const CACHE_LIMIT: usize = 256;

/// The longest one object storage request may take when the configuration
/// does not say.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

const MIB: usize = 1024 * 1024;

/// The operator's rules for users' storage configurations.
#[derive(Debug, Clone, Default)]
pub struct BackendRules {
    /// Cloud configurations without credentials use the environment's.
    pub allow_ambient_credentials: bool,
    /// Hosts (optionally `host:port`) an endpoint may name; empty: any.
    pub allowed_endpoints: Vec<String>,
    /// Non-empty directories on object storage may be renamed.
    pub rename_dirs: bool,
}

/// Builds storages for filesystem configurations.
pub struct Backends {
    secrets: Arc<dyn SecretKeeper>,
    rules: BackendRules,
    /// Object storages by configuration, so that sessions share clients.
    cache: Mutex<HashMap<String, Arc<dyn Storage>>>,
}

impl Backends {
    pub fn new(secrets: Arc<dyn SecretKeeper>, rules: BackendRules) -> Self {
        Self {
            secrets,
            rules,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn open(&self, field: &str, secret: &Secret) -> Result<String> {
        self.secrets
            .open(secret)
            .map_err(|e| Error::invalid(format!("{field}: {}", e.message())))
    }

    fn object_storage(&self, filesystem: &FilesystemConfig) -> Result<ObjectStorage> {
        let storage = self.object_storage_plain(filesystem)?;
        Ok(storage.with_directory_renames(self.rules.rename_dirs))
    }

    fn object_storage_plain(&self, filesystem: &FilesystemConfig) -> Result<ObjectStorage> {
        match filesystem.provider()? {
            FsProvider::S3 => {
                let settings = self.s3_settings(present(&filesystem.s3config, "s3config")?)?;
                self.check_endpoints("s3config.endpoint", settings.endpoints())?;
                ObjectStorage::s3(&settings)
            }
            FsProvider::Gcs => {
                let settings = self.gcs_settings(present(&filesystem.gcsconfig, "gcsconfig")?)?;
                self.check_endpoints("gcsconfig.credentials", settings.endpoints()?)?;
                ObjectStorage::gcs(&settings)
            }
            FsProvider::AzureBlob => {
                let config = present(&filesystem.azblobconfig, "azblobconfig")?;
                let settings = self.azure_settings(config)?;
                self.check_endpoints("azblobconfig.endpoint", settings.endpoints())?;
                ObjectStorage::azure(&settings)
            }
            other => Err(Error::unsupported(format!(
                "filesystem provider {} is not supported",
                other.code()
            ))),
        }
    }

    fn s3_settings(&self, config: &S3Config) -> Result<S3Settings> {
        let access_secret = self.open("s3config.access_secret", &config.access_secret)?;
        self.check_credentials("s3config", config.access_key.is_empty())?;
        Ok(S3Settings {
            bucket: config.bucket.clone(),
            region: config.region.clone(),
            access_key: config.access_key.clone(),
            access_secret,
            session_token: config.session_token.clone(),
            endpoint: config.endpoint.clone(),
            force_path_style: config.force_path_style,
            key_prefix: config.key_prefix.clone(),
            transfers: transfers(
                config.upload_part_size,
                config.upload_concurrency,
                config.download_part_size,
                config.download_concurrency,
            ),
            allow_ambient_credentials: self.rules.allow_ambient_credentials,
            request_timeout: request_timeout(&[
                config.upload_part_max_time,
                config.download_part_max_time,
            ]),
            ..S3Settings::default()
        })
    }

    fn gcs_settings(&self, config: &GcsConfig) -> Result<GcsSettings> {
        let credentials_json = self.open("gcsconfig.credentials", &config.credentials)?;
        self.check_credentials("gcsconfig", credentials_json.trim().is_empty())?;
        Ok(GcsSettings {
            bucket: config.bucket.clone(),
            credentials_json,
            key_prefix: config.key_prefix.clone(),
            transfers: transfers(config.upload_part_size, 0, 0, 0),
            allow_ambient_credentials: self.rules.allow_ambient_credentials,
            request_timeout: request_timeout(&[config.upload_part_max_time]),
            ..GcsSettings::default()
        })
    }

    fn azure_settings(&self, config: &AzBlobConfig) -> Result<AzureSettings> {
        let account_key = self.open("azblobconfig.account_key", &config.account_key)?;
        let sas_url = self.open("azblobconfig.sas_url", &config.sas_url)?;
        self.check_credentials("azblobconfig", account_key.is_empty() && sas_url.is_empty())?;
        Ok(AzureSettings {
            container: config.container.clone(),
            account_name: config.account_name.clone(),
            account_key,
            sas_url,
            endpoint: config.endpoint.clone(),
            use_emulator: config.use_emulator,
            key_prefix: config.key_prefix.clone(),
            transfers: transfers(
                config.upload_part_size,
                config.upload_concurrency,
                config.download_part_size,
                config.download_concurrency,
            ),
            allow_ambient_credentials: self.rules.allow_ambient_credentials,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            ..AzureSettings::default()
        })
    }

    fn check_credentials(&self, object: &str, none_given: bool) -> Result<()> {
        if none_given && !self.rules.allow_ambient_credentials {
            return Err(Error::invalid(format!(
                "{object} has no credentials, and this server does not use the environment's \
                 (storage.allow_ambient_credentials is false)"
            )));
        }
        Ok(())
    }

    fn check_endpoints(&self, field: &str, urls: Vec<String>) -> Result<()> {
        urls.iter()
            .try_for_each(|url| self.check_endpoint(field, url))
    }

    /// Refuses an endpoint URL whose host the operator did not allow.
    fn check_endpoint(&self, field: &str, url: &str) -> Result<()> {
        let allowed = &self.rules.allowed_endpoints;
        if allowed.is_empty() {
            return Ok(());
        }
        let authority = authority(url);
        let host = host_of(authority);
        let ok = allowed.iter().any(|entry| {
            let entry = entry.trim();
            entry.eq_ignore_ascii_case(authority)
                || (host_of(entry) == entry && entry.eq_ignore_ascii_case(host))
        });
        if !ok {
            return Err(Error::invalid(format!(
                "{field}: the host {authority:?} is not among this server's allowed endpoints"
            )));
        }
        Ok(())
    }

    /// The cache; a panic elsewhere while it was held leaves it usable,
    /// since every entry is complete when inserted.
    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<dyn Storage>>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cache_key(root: &str, filesystem: &FilesystemConfig) -> Result<String> {
        let config = serde_json::to_string(filesystem)
            .map_err(|e| Error::internal("cannot encode a filesystem").with_detail(e))?;
        Ok(format!("{root}\n{config}"))
    }
}

impl StorageFactory for Backends {
    fn storage_for(&self, root: &str, filesystem: &FilesystemConfig) -> Result<Arc<dyn Storage>> {
        if filesystem.provider()? == FsProvider::Local {
            return Ok(Arc::new(LocalStorage::new(root)));
        }
        let key = Self::cache_key(root, filesystem)?;
        if let Some(found) = self.cache().get(&key) {
            return Ok(found.clone());
        }
        let storage: Arc<dyn Storage> = Arc::new(self.object_storage(filesystem)?);
        let mut cache = self.cache();
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, storage.clone());
        Ok(storage)
    }

    fn check(&self, _root: &str, filesystem: &FilesystemConfig) -> Result<()> {
        if filesystem.provider()? == FsProvider::Local {
            return Ok(());
        }
        self.object_storage(filesystem).map(drop)
    }
}

/// The provider's sub-object, which validation made sure is there.
fn present<'a, T>(config: &'a Option<T>, name: &str) -> Result<&'a T> {
    config
        .as_ref()
        .ok_or_else(|| Error::invalid(format!("filesystem.{name} is required")))
}

/// Transfer sizes from SFTPGo's MB fields; 0 keeps Ferry's default.
fn transfers(
    upload_part_mb: i64,
    upload_concurrency: i64,
    download_part_mb: i64,
    download_concurrency: i64,
) -> TransferOptions {
    let mut options = TransferOptions::default();
    let positive = |value: i64| usize::try_from(value).ok().filter(|v| *v > 0);
    if let Some(mb) = positive(upload_part_mb) {
        options.upload_part_size = mb.saturating_mul(MIB);
    }
    if let Some(n) = positive(upload_concurrency) {
        options.upload_concurrency = n;
    }
    if let Some(mb) = positive(download_part_mb) {
        options.download_block_size = mb.saturating_mul(MIB);
    }
    if let Some(n) = positive(download_concurrency) {
        options.download_read_ahead = n;
    }
    options
}

/// The longest of the configured per-part times, else the default.
fn request_timeout(seconds: &[i64]) -> Duration {
    seconds
        .iter()
        .filter_map(|s| u64::try_from(*s).ok().filter(|s| *s > 0))
        .max()
        .map_or(DEFAULT_REQUEST_TIMEOUT, Duration::from_secs)
}

/// `host[:port]` of a URL.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

/// The host of `host[:port]` (an IPv6 address keeps its brackets).
fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_auth::MasterKeySecrets;
    use ferry_domain::ErrorKind;
    use serde_json::json;

    fn keeper() -> Arc<MasterKeySecrets> {
        Arc::new(MasterKeySecrets::new(&[7u8; 32]).unwrap())
    }

    fn backends(rules: BackendRules) -> Backends {
        Backends::new(keeper(), rules)
    }

    fn s3(endpoint: &str, with_keys: bool) -> FilesystemConfig {
        let mut config = json!({"bucket": "b", "endpoint": endpoint, "force_path_style": true});
        if with_keys {
            config["access_key"] = json!("key");
            config["access_secret"] = json!({"status": "Plain", "payload": "secret"});
        }
        let mut fs: FilesystemConfig =
            serde_json::from_value(json!({"provider": 1, "s3config": config})).unwrap();
        fs.validate().unwrap();
        fs
    }

    #[test]
    fn endpoints_must_be_allowed() {
        let rules = BackendRules {
            allowed_endpoints: vec!["127.0.0.1".into(), "minio.internal:9000".into()],
            ..BackendRules::default()
        };
        let b = backends(rules);
        for ok in [
            "http://127.0.0.1:9000",
            "http://127.0.0.1",
            "https://minio.internal:9000/",
            "",
        ] {
            b.check("/h", &s3(ok, true)).unwrap();
        }
        for bad in [
            "http://169.254.169.254",
            "http://minio.internal:9001",
            "http://minio.internal",
            "http://user@10.0.0.1:80",
            "http://127.0.0.1.evil.example",
        ] {
            let error = b.check("/h", &s3(bad, true)).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidInput, "{bad}");
            assert!(error.message().contains("allowed endpoints"), "{bad}");
        }
        backends(BackendRules::default())
            .check("/h", &s3("http://10.1.2.3:9000", true))
            .unwrap();
    }

    #[test]
    fn ambient_credentials_need_the_operators_consent() {
        let off = backends(BackendRules::default());
        let error = off
            .check("/h", &s3("http://127.0.0.1:1", false))
            .unwrap_err();
        assert!(
            error.message().contains("allow_ambient_credentials"),
            "{error}"
        );
        let on = backends(BackendRules {
            allow_ambient_credentials: true,
            ..BackendRules::default()
        });
        on.check("/h", &s3("http://127.0.0.1:1", false)).unwrap();
    }

    #[test]
    fn sealed_secrets_are_opened_and_foreign_ones_refused() {
        let mut fs = s3("http://127.0.0.1:1", true);
        let k = keeper();
        let sealed = k.seal("secret", "user:a").unwrap();
        fs.s3config.as_mut().unwrap().access_secret = sealed;
        let b = Backends::new(k, BackendRules::default());
        b.check("/h", &fs).unwrap();
        let first = b.storage_for("/h", &fs).unwrap();
        let second = b.storage_for("/h", &fs).unwrap();
        assert!(Arc::ptr_eq(&first, &second), "the client is reused");

        let foreign = Arc::new(MasterKeySecrets::new(&[8u8; 32]).unwrap());
        let other = Backends::new(foreign, BackendRules::default());
        let error = other.check("/h", &fs).unwrap_err();
        assert!(
            error.message().contains("s3config.access_secret"),
            "{error}"
        );
    }

    #[test]
    fn sizes_and_times_map_from_sftpgo_units() {
        let t = transfers(8, 3, 2, 4);
        assert_eq!(t.upload_part_size, 8 * MIB);
        assert_eq!(t.upload_concurrency, 3);
        assert_eq!(t.download_block_size, 2 * MIB);
        assert_eq!(t.download_read_ahead, 4);
        assert_eq!(transfers(0, 0, 0, 0), TransferOptions::default());
        assert_eq!(request_timeout(&[0, 0]), DEFAULT_REQUEST_TIMEOUT);
        assert_eq!(request_timeout(&[30, 90]), Duration::from_secs(90));
    }
}
