//! Amazon S3 and S3-compatible stores.
//!
//! The client is built from explicit settings only. It reads no environment
//! variable, no credentials file and no instance or container metadata
//! service unless `allow_ambient_credentials` says so: with the flag off, an
//! access key and secret are required, and `object_store` then uses them
//! as static credentials and never asks a metadata address.

use super::client::{options, redacted, retry};
use super::{ObjectStorage, TransferOptions};
use ferry_domain::{Error, Result};
use object_store::aws::AmazonS3Builder;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Everything needed to reach one S3 bucket.
#[derive(Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// Defaults to `us-east-1` when empty.
    pub region: String,
    pub access_key: String,
    pub access_secret: String,
    /// A temporary credential's session token, with the key and secret.
    pub session_token: String,
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`); empty for AWS.
    pub endpoint: String,
    /// Address buckets as `endpoint/bucket` instead of `bucket.endpoint`.
    pub force_path_style: bool,
    /// The prefix every key of this storage starts with.
    pub key_prefix: String,
    pub transfers: TransferOptions,
    /// Lets the client take credentials from the environment, profile files
    /// or the instance metadata service when none are given here.
    pub allow_ambient_credentials: bool,
    /// Retries of a failed request (network errors, 5xx answers).
    pub max_retries: usize,
    /// The longest one request may take.
    pub request_timeout: Duration,
}

impl S3Settings {
    /// Settings for `bucket` with the defaults for the rest.
    pub fn new(bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            ..Default::default()
        }
    }

    /// Every URL the client would contact that the settings name: the
    /// endpoint when one is set (AWS's own otherwise).
    pub fn endpoints(&self) -> Vec<String> {
        match self.endpoint.trim() {
            "" => Vec::new(),
            endpoint => vec![endpoint.to_owned()],
        }
    }
}

/// No bucket or credentials, no ambient credentials, ten retries and
/// five-minute requests.
impl Default for S3Settings {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            region: String::new(),
            access_key: String::new(),
            access_secret: String::new(),
            session_token: String::new(),
            endpoint: String::new(),
            force_path_style: false,
            key_prefix: String::new(),
            transfers: TransferOptions::default(),
            allow_ambient_credentials: false,
            max_retries: 10,
            request_timeout: Duration::from_secs(300),
        }
    }
}

/// Without the secret.
impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("access_secret", &"<redacted>")
            .field("endpoint", &self.endpoint)
            .field("force_path_style", &self.force_path_style)
            .field("key_prefix", &self.key_prefix)
            .field("transfers", &self.transfers)
            .field("allow_ambient_credentials", &self.allow_ambient_credentials)
            .finish_non_exhaustive()
    }
}

impl ObjectStorage {
    /// A storage on an S3 bucket. Builds the client only: nothing is sent
    /// until the storage is used.
    pub fn s3(settings: &S3Settings) -> Result<Self> {
        let store = s3_builder(settings)?.build().map_err(|e| {
            let detail = redacted(e, &[&settings.access_secret]);
            Error::invalid("invalid S3 settings").with_detail(detail)
        })?;
        let endpoint = (!settings.endpoint.is_empty()).then_some(settings.endpoint.as_str());
        Self::new(
            Arc::new(store),
            &settings.key_prefix,
            endpoint,
            settings.transfers,
        )
    }
}

fn s3_builder(settings: &S3Settings) -> Result<AmazonS3Builder> {
    if settings.bucket.is_empty() {
        return Err(Error::invalid("an S3 bucket is required"));
    }
    if settings.request_timeout.is_zero() {
        return Err(Error::invalid("the S3 request timeout must be positive"));
    }
    let has_keys = !settings.access_key.is_empty() && !settings.access_secret.is_empty();
    let mut builder = match (has_keys, settings.allow_ambient_credentials) {
        (false, false) => {
            return Err(Error::invalid("an S3 access key and secret are required"));
        }
        (false, true) => AmazonS3Builder::from_env(),
        (true, _) => {
            let builder = AmazonS3Builder::new()
                .with_access_key_id(&settings.access_key)
                .with_secret_access_key(&settings.access_secret);
            match settings.session_token.as_str() {
                "" => builder,
                token => builder.with_token(token),
            }
        }
    };
    let region = match settings.region.as_str() {
        "" => "us-east-1",
        region => region,
    };
    // Plain HTTP only where the operator wrote it, for a local endpoint.
    let plain_http = settings.endpoint.starts_with("http://");
    builder = builder
        .with_bucket_name(&settings.bucket)
        .with_region(region)
        .with_virtual_hosted_style_request(!settings.force_path_style)
        .with_client_options(options(plain_http, settings.request_timeout))
        // Over TLS the body is protected in transit, so it is not hashed into
        // the signature (`UNSIGNED-PAYLOAD`, as S3 allows over HTTPS): the
        // SHA-256 took 0.6 s of CPU per GiB uploaded, about half of what the
        // whole upload costs the client. Over plain HTTP the signature still
        // covers the body.
        .with_unsigned_payload(!plain_http)
        .with_retry(retry(settings.max_retries, settings.request_timeout));
    if !settings.endpoint.is_empty() {
        builder = builder.with_endpoint(&settings.endpoint);
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_domain::ErrorKind;
    use object_store::aws::AmazonS3ConfigKey;

    fn settings() -> S3Settings {
        S3Settings {
            access_key: "key".into(),
            access_secret: "s3cr3t-value".into(),
            endpoint: "http://127.0.0.1:1".into(),
            force_path_style: true,
            ..S3Settings::new("bucket")
        }
    }

    #[test]
    fn credentials_are_required_without_the_ambient_flag() {
        for (key, secret) in [("", ""), ("key", ""), ("", "secret")] {
            let settings = S3Settings {
                access_key: key.into(),
                access_secret: secret.into(),
                ..settings()
            };
            let error = ObjectStorage::s3(&settings).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidInput);
        }
        assert!(ObjectStorage::s3(&settings()).is_ok());
    }

    #[test]
    fn bad_settings_are_refused() {
        let no_bucket = S3Settings {
            bucket: String::new(),
            ..settings()
        };
        assert!(ObjectStorage::s3(&no_bucket).is_err());
        let mut small_parts = settings();
        small_parts.transfers.upload_part_size = 1024;
        assert!(ObjectStorage::s3(&small_parts).is_err());
        let mut no_concurrency = settings();
        no_concurrency.transfers.upload_concurrency = 0;
        assert!(ObjectStorage::s3(&no_concurrency).is_err());
        let no_time = S3Settings {
            request_timeout: Duration::ZERO,
            ..settings()
        };
        assert!(ObjectStorage::s3(&no_time).is_err());
        let escaping = S3Settings {
            key_prefix: "homes/../other".into(),
            ..settings()
        };
        assert!(ObjectStorage::s3(&escaping).is_err());
    }

    #[test]
    fn bodies_are_signed_only_without_tls() {
        let unsigned = |endpoint: &str| {
            let settings = S3Settings {
                endpoint: endpoint.into(),
                ..settings()
            };
            let builder = s3_builder(&settings).unwrap();
            builder.get_config_value(&AmazonS3ConfigKey::UnsignedPayload)
        };
        assert_eq!(unsigned("http://127.0.0.1:9000").as_deref(), Some("false"));
        assert_eq!(unsigned("https://s3.example.test").as_deref(), Some("true"));
        assert_eq!(unsigned("").as_deref(), Some("true"));
    }

    #[test]
    fn endpoints_name_what_is_contacted() {
        assert_eq!(settings().endpoints(), ["http://127.0.0.1:1"]);
        assert!(S3Settings::new("b").endpoints().is_empty());
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", settings());
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
