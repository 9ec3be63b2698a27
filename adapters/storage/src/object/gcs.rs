//! Google Cloud Storage.
//!
//! The client is built from a service-account key given in the settings. It
//! reads no environment variable, no credentials file and no metadata
//! service unless `allow_ambient_credentials` says so and no key is given.
//! A key may carry `gcs_base_url` (a GCS-compatible endpoint) and
//! `disable_oauth` (no token at all), as emulators need.

use super::client::{options, redacted, retry};
use super::{ObjectStorage, TransferOptions};
use ferry_domain::{Error, Result};
use object_store::gcp::GoogleCloudStorageBuilder;
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Fields of a service-account key that hold secrets.
const SECRET_FIELDS: [&str; 2] = ["private_key", "private_key_id"];
/// Fields of a service-account key that name URLs the client may contact.
const URL_FIELDS: [&str; 2] = ["gcs_base_url", "token_uri"];

/// Everything needed to reach one GCS bucket.
#[derive(Clone)]
pub struct GcsSettings {
    pub bucket: String,
    /// A service-account key (JSON). Empty means ambient credentials
    /// (application default credentials, the metadata service), which only
    /// `allow_ambient_credentials` permits.
    pub credentials_json: String,
    /// The prefix every key of this storage starts with.
    pub key_prefix: String,
    pub transfers: TransferOptions,
    pub allow_ambient_credentials: bool,
    /// Retries of a failed request (network errors, 5xx answers).
    pub max_retries: usize,
    /// The longest one request may take.
    pub request_timeout: Duration,
}

impl GcsSettings {
    /// Settings for `bucket` with the defaults for the rest.
    pub fn new(bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            ..Default::default()
        }
    }

    /// Every URL the client would contact that comes from the key:
    /// `gcs_base_url` and `token_uri` where present (Google's own
    /// otherwise). `InvalidInput` when the key is not a JSON object.
    pub fn endpoints(&self) -> Result<Vec<String>> {
        let Some(key) = self.key()? else {
            return Ok(Vec::new());
        };
        let urls = URL_FIELDS
            .iter()
            .filter_map(|field| key.get(*field).and_then(Value::as_str))
            .filter(|url| !url.trim().is_empty())
            .map(str::to_owned)
            .collect();
        Ok(urls)
    }

    /// The key as a JSON object, `None` when none is given.
    fn key(&self) -> Result<Option<Map<String, Value>>> {
        if self.credentials_json.trim().is_empty() {
            return Ok(None);
        }
        // The parser's message could quote the key: it is not kept.
        match serde_json::from_str(&self.credentials_json) {
            Ok(Value::Object(key)) => Ok(Some(key)),
            _ => Err(Error::invalid(
                "GCS credentials must be a service-account key (a JSON object)",
            )),
        }
    }

    /// The key's secret values, to keep out of error details.
    fn secrets(&self) -> Vec<String> {
        let Ok(Some(key)) = self.key() else {
            return Vec::new();
        };
        SECRET_FIELDS
            .iter()
            .filter_map(|field| key.get(*field).and_then(Value::as_str))
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// No bucket or key, no ambient credentials, ten retries and five-minute
/// requests.
impl Default for GcsSettings {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            credentials_json: String::new(),
            key_prefix: String::new(),
            transfers: TransferOptions::default(),
            allow_ambient_credentials: false,
            max_retries: 10,
            request_timeout: Duration::from_secs(300),
        }
    }
}

/// Without the key.
impl fmt::Debug for GcsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = if self.credentials_json.is_empty() {
            ""
        } else {
            "<redacted>"
        };
        f.debug_struct("GcsSettings")
            .field("bucket", &self.bucket)
            .field("credentials_json", &key)
            .field("key_prefix", &self.key_prefix)
            .field("transfers", &self.transfers)
            .field("allow_ambient_credentials", &self.allow_ambient_credentials)
            .field("max_retries", &self.max_retries)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

impl ObjectStorage {
    /// A storage on a GCS bucket. Builds the client only: nothing is sent
    /// until the storage is used.
    pub fn gcs(settings: &GcsSettings) -> Result<Self> {
        let secrets = settings.secrets();
        let hidden: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let store = gcs_builder(settings)?.build().map_err(|e| {
            Error::invalid("invalid GCS settings").with_detail(redacted(e, &hidden))
        })?;
        let endpoints = settings.endpoints()?;
        Self::hiding(
            Arc::new(store),
            &settings.key_prefix,
            endpoints.first().map(String::as_str),
            secrets,
            settings.transfers,
        )
    }
}

fn gcs_builder(settings: &GcsSettings) -> Result<GoogleCloudStorageBuilder> {
    if settings.bucket.is_empty() {
        return Err(Error::invalid("a GCS bucket is required"));
    }
    if settings.request_timeout.is_zero() {
        return Err(Error::invalid("the GCS request timeout must be positive"));
    }
    let endpoints = settings.endpoints()?;
    let builder = match (settings.key()?, settings.allow_ambient_credentials) {
        (None, false) => {
            return Err(Error::invalid(
                "GCS credentials (a service-account key) are required",
            ));
        }
        (None, true) => GoogleCloudStorageBuilder::from_env(),
        (Some(_), _) => GoogleCloudStorageBuilder::new()
            .with_service_account_key(settings.credentials_json.clone()),
    };
    let plain_http = endpoints.iter().any(|url| url.starts_with("http://"));
    Ok(builder
        .with_bucket_name(&settings.bucket)
        .with_client_options(options(plain_http, settings.request_timeout))
        .with_retry(retry(settings.max_retries, settings.request_timeout)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_domain::ErrorKind;

    const KEY: &str = r#"{"gcs_base_url":"http://127.0.0.1:1","disable_oauth":true,
        "client_email":"","private_key":"","private_key_id":""}"#;

    fn settings() -> GcsSettings {
        GcsSettings {
            credentials_json: KEY.into(),
            ..GcsSettings::new("bucket")
        }
    }

    #[test]
    fn a_key_is_required_without_the_ambient_flag() {
        let none = GcsSettings::new("bucket");
        let error = ObjectStorage::gcs(&none).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(ObjectStorage::gcs(&settings()).is_ok());
    }

    #[test]
    fn bad_settings_are_refused() {
        for json in ["[1]", "not json", "\"text\""] {
            let bad = GcsSettings {
                credentials_json: json.into(),
                ..settings()
            };
            let error = ObjectStorage::gcs(&bad).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidInput, "{json}");
            assert_eq!(bad.endpoints().unwrap_err().kind(), ErrorKind::InvalidInput);
        }
        let no_bucket = GcsSettings {
            bucket: String::new(),
            ..settings()
        };
        assert!(ObjectStorage::gcs(&no_bucket).is_err());
        let no_time = GcsSettings {
            request_timeout: Duration::ZERO,
            ..settings()
        };
        assert!(ObjectStorage::gcs(&no_time).is_err());
    }

    #[test]
    fn a_broken_key_is_refused_without_showing_it() {
        let key = r#"{"client_email":"a@b","private_key":"PRIVATE-KEY-TEXT",
            "private_key_id":"id","gcs_base_url":"http://127.0.0.1:1"}"#;
        let broken = GcsSettings {
            credentials_json: key.into(),
            ..settings()
        };
        let error = ObjectStorage::gcs(&broken).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(!error.to_string().contains("PRIVATE-KEY-TEXT"), "{error}");
    }

    #[test]
    fn endpoints_come_from_the_key() {
        assert_eq!(settings().endpoints().unwrap(), ["http://127.0.0.1:1"]);
        let with_token = GcsSettings {
            credentials_json: r#"{"token_uri":"https://t.example/token","private_key":"k"}"#.into(),
            ..settings()
        };
        assert_eq!(with_token.endpoints().unwrap(), ["https://t.example/token"]);
        assert!(GcsSettings::new("b").endpoints().unwrap().is_empty());
    }

    #[test]
    fn debug_hides_the_key() {
        let shown = format!("{:?}", settings());
        assert!(!shown.contains("gcs_base_url"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
