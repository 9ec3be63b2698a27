//! Azure Blob Storage.
//!
//! The client is built from explicit settings only: an account key or a
//! SAS URL, and the endpoint they belong to. It never uses the emulator
//! switch or environment variables of `object_store` (so storages on
//! different emulators can live in one process), and it asks for ambient
//! credentials (managed identity, the Azure CLI) only when
//! `allow_ambient_credentials` says so and neither key nor SAS is given.
//!
//! Endpoints follow SFTPGo: by default `https://{account}.blob.core.windows.net`;
//! an endpoint without a scheme replaces `blob.core.windows.net`
//! (`https://{account}.{endpoint}`), or, with `use_emulator`, is an
//! emulator's address (`http://{endpoint}/{account}`); an endpoint with a
//! scheme is used as written, the account as the first path segment
//! (`{endpoint}/{account}`), as emulators address accounts.

use super::azure_markers::{AzureMarkers, Signer};
use super::client::{options, redacted, retry};
use super::{ObjectStorage, TransferOptions};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ferry_domain::{Error, Result};
use object_store::azure::MicrosoftAzureBuilder;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Azure's public blob endpoint, after the account name.
const PUBLIC_ENDPOINT: &str = "blob.core.windows.net";

/// Everything needed to reach one Azure Blob container.
#[derive(Clone)]
pub struct AzureSettings {
    pub container: String,
    pub account_name: String,
    /// The account's shared key (base64).
    pub account_key: String,
    /// A container URL with a SAS token as its query, instead of a key.
    pub sas_url: String,
    /// See the module's documentation; empty for Azure's public endpoint.
    pub endpoint: String,
    /// The endpoint is an emulator's `host:port` (plain HTTP, path style).
    pub use_emulator: bool,
    /// The prefix every key of this storage starts with.
    pub key_prefix: String,
    pub transfers: TransferOptions,
    pub allow_ambient_credentials: bool,
    /// Retries of a failed request (network errors, 5xx answers).
    pub max_retries: usize,
    /// The longest one request may take.
    pub request_timeout: Duration,
}

/// Where the client goes and how it signs.
struct Target {
    /// The account's URL: `https://acct.blob.core.windows.net` or
    /// `http://127.0.0.1:10000/acct`.
    account_url: String,
    account: String,
    container: String,
    /// SAS query pairs, when the SAS URL is the credential.
    sas: Option<Vec<(String, String)>>,
}

impl AzureSettings {
    /// Settings for `container` of `account_name` with the defaults for the rest.
    pub fn new(account_name: impl Into<String>, container: impl Into<String>) -> Self {
        Self {
            account_name: account_name.into(),
            container: container.into(),
            ..Default::default()
        }
    }

    /// Every URL the client would contact that the settings name: the
    /// endpoint (as resolved, scheme included) when one is set, and the
    /// SAS URL's origin when one is set.
    pub fn endpoints(&self) -> Vec<String> {
        let mut urls = Vec::new();
        if !self.endpoint.trim().is_empty()
            && let Ok(url) = self.account_url(self.account_name.trim())
        {
            urls.push(url);
        }
        if let Ok(url) = Url::parse(self.sas_url.trim()) {
            urls.push(url.origin().ascii_serialization());
        }
        urls
    }

    /// The account's URL from the endpoint settings.
    fn account_url(&self, account: &str) -> Result<String> {
        let endpoint = self.endpoint.trim().trim_end_matches('/');
        let url = if endpoint.contains("://") {
            format!("{endpoint}/{account}")
        } else if self.use_emulator {
            if endpoint.is_empty() {
                return Err(Error::invalid(
                    "the Azure emulator's endpoint (host:port) is required",
                ));
            }
            format!("http://{endpoint}/{account}")
        } else {
            let suffix = if endpoint.is_empty() {
                PUBLIC_ENDPOINT
            } else {
                endpoint
            };
            format!("https://{account}.{suffix}")
        };
        match Url::parse(&url) {
            Ok(parsed) if parsed.has_host() => Ok(url),
            _ => Err(Error::invalid("the Azure endpoint is not a valid URL")),
        }
    }

    fn target(&self) -> Result<Target> {
        if self.sas_url.trim().is_empty() {
            let account = self.account_name.trim();
            if account.is_empty() {
                return Err(Error::invalid("an Azure account name is required"));
            }
            if self.container.is_empty() {
                return Err(Error::invalid("an Azure container is required"));
            }
            return Ok(Target {
                account_url: self.account_url(account)?,
                account: account.to_owned(),
                container: self.container.clone(),
                sas: None,
            });
        }
        self.sas_target()
    }

    /// The target a SAS URL names: `https://acct.host/container?sas` or,
    /// path style, `http://host:port/acct/container?sas`.
    fn sas_target(&self) -> Result<Target> {
        let invalid = || Error::invalid("the Azure SAS URL is not a container URL with a token");
        let url = Url::parse(self.sas_url.trim()).map_err(|_| invalid())?;
        let host = url.host_str().ok_or_else(invalid)?;
        let segments: Vec<&str> = url
            .path_segments()
            .map(|s| s.filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        let origin = url.origin().ascii_serialization();
        let (account_url, account, container) = match segments.as_slice() {
            [account, container] => (format!("{origin}/{account}"), *account, *container),
            [container] => {
                let account = host.split('.').next().unwrap_or_default();
                (origin, account, *container)
            }
            [] => {
                let account = host.split('.').next().unwrap_or_default();
                (origin, account, self.container.as_str())
            }
            _ => return Err(invalid()),
        };
        if account.is_empty() || container.is_empty() {
            return Err(invalid());
        }
        if !self.container.is_empty() && self.container != container {
            return Err(Error::invalid(
                "the Azure container differs from the SAS URL's container",
            ));
        }
        let sas: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        if sas.is_empty() {
            return Err(invalid());
        }
        Ok(Target {
            account_url,
            account: account.to_owned(),
            container: container.to_owned(),
            sas: Some(sas),
        })
    }

    /// What must not appear in error details: the key, the SAS token
    /// (whole, and its signature as given and as encoded in a URL).
    fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.account_key.clone()];
        if let Ok(url) = Url::parse(self.sas_url.trim()) {
            secrets.extend(url.query().map(str::to_owned));
            for (name, value) in url.query_pairs() {
                if name == "sig" {
                    let encoded = url::form_urlencoded::byte_serialize(value.as_bytes());
                    secrets.push(encoded.collect());
                    secrets.push(value.into_owned());
                }
            }
        }
        secrets.retain(|s| !s.is_empty());
        secrets
    }
}

/// No container, account or credentials, the public endpoint, no ambient
/// credentials, ten retries and five-minute requests.
impl Default for AzureSettings {
    fn default() -> Self {
        Self {
            container: String::new(),
            account_name: String::new(),
            account_key: String::new(),
            sas_url: String::new(),
            endpoint: String::new(),
            use_emulator: false,
            key_prefix: String::new(),
            transfers: TransferOptions::default(),
            allow_ambient_credentials: false,
            max_retries: 10,
            request_timeout: Duration::from_secs(300),
        }
    }
}

/// Without the key and the SAS token.
impl fmt::Debug for AzureSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |value: &str| if value.is_empty() { "" } else { "<redacted>" };
        f.debug_struct("AzureSettings")
            .field("container", &self.container)
            .field("account_name", &self.account_name)
            .field("account_key", &hidden(&self.account_key))
            .field("sas_url", &hidden(&self.sas_url))
            .field("endpoint", &self.endpoint)
            .field("use_emulator", &self.use_emulator)
            .field("key_prefix", &self.key_prefix)
            .field("transfers", &self.transfers)
            .field("allow_ambient_credentials", &self.allow_ambient_credentials)
            .field("max_retries", &self.max_retries)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

impl ObjectStorage {
    /// A storage on an Azure Blob container. Builds the client only:
    /// nothing is sent until the storage is used.
    pub fn azure(settings: &AzureSettings) -> Result<Self> {
        if settings.request_timeout.is_zero() {
            return Err(Error::invalid("the Azure request timeout must be positive"));
        }
        let target = settings.target()?;
        let secrets = settings.secrets();
        let hidden: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let has_key = !settings.account_key.is_empty();
        let builder = match (has_key, &target.sas, settings.allow_ambient_credentials) {
            (true, _, _) => MicrosoftAzureBuilder::new().with_access_key(&settings.account_key),
            (false, Some(sas), _) => {
                MicrosoftAzureBuilder::new().with_sas_authorization(sas.clone())
            }
            (false, None, true) => MicrosoftAzureBuilder::from_env(),
            (false, None, false) => {
                return Err(Error::invalid(
                    "an Azure account key or SAS URL is required",
                ));
            }
        };
        let plain_http = target.account_url.starts_with("http://");
        let store = builder
            .with_account(&target.account)
            .with_container_name(&target.container)
            .with_endpoint(target.account_url.clone())
            .with_client_options(options(plain_http, settings.request_timeout))
            .with_retry(retry(settings.max_retries, settings.request_timeout))
            .build()
            .map_err(|e| {
                Error::invalid("invalid Azure settings").with_detail(redacted(e, &hidden))
            })?;
        let signer = match (has_key, target.sas) {
            (true, _) => Signer::SharedKey(decoded_key(&settings.account_key)?),
            (false, Some(sas)) => Signer::Sas(sas),
            (false, None) => match ambient_key() {
                Some(key) => Signer::SharedKey(decoded_key(&key)?),
                None => Signer::Ambient(Arc::clone(store.credentials())),
            },
        };
        let mut storage = Self::hiding(
            Arc::new(store),
            &settings.key_prefix,
            Some(&target.account_url),
            secrets,
            settings.transfers,
        )?;
        let markers = AzureMarkers::new(
            &target.account_url,
            &target.account,
            &target.container,
            signer,
            settings.max_retries,
            settings.request_timeout,
            storage.bucket.redactions(),
        )?;
        storage.bucket = storage.bucket.with_markers(markers);
        Ok(storage)
    }
}

fn decoded_key(key: &str) -> Result<Vec<u8>> {
    BASE64
        .decode(key.trim())
        .map_err(|_| Error::invalid("the Azure account key is not base64"))
}

/// The account key the ambient configuration names, as `object_store`
/// reads it from the environment: its provider does not hand it out.
fn ambient_key() -> Option<String> {
    ["AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_ACCESS_KEY"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|key| !key.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_domain::ErrorKind;

    const KEY: &str = "a2V5LWJ5dGVzLWZvci10ZXN0cw==";

    fn settings() -> AzureSettings {
        AzureSettings {
            account_key: KEY.into(),
            endpoint: "http://127.0.0.1:1".into(),
            ..AzureSettings::new("acct", "box")
        }
    }

    fn url_of(settings: &AzureSettings) -> String {
        settings.target().unwrap().account_url
    }

    #[test]
    fn endpoints_follow_sftpgo() {
        let public = AzureSettings::new("acct", "box");
        assert_eq!(url_of(&public), "https://acct.blob.core.windows.net");
        let sovereign = AzureSettings {
            endpoint: "blob.core.chinacloudapi.cn".into(),
            ..public.clone()
        };
        assert_eq!(
            url_of(&sovereign),
            "https://acct.blob.core.chinacloudapi.cn"
        );
        let emulator = AzureSettings {
            endpoint: "127.0.0.1:10000".into(),
            use_emulator: true,
            ..public.clone()
        };
        assert_eq!(url_of(&emulator), "http://127.0.0.1:10000/acct");
        let with_scheme = AzureSettings {
            endpoint: "http://127.0.0.1:10000/".into(),
            use_emulator: true,
            ..public.clone()
        };
        assert_eq!(url_of(&with_scheme), "http://127.0.0.1:10000/acct");
        assert_eq!(with_scheme.endpoints(), ["http://127.0.0.1:10000/acct"]);
        assert!(public.endpoints().is_empty());
    }

    #[test]
    fn sas_urls_name_account_and_container() {
        let sas = AzureSettings {
            sas_url: "https://acct.blob.core.windows.net/box?sv=2022&sig=c2VjcmV0".into(),
            ..AzureSettings::default()
        };
        let target = sas.target().unwrap();
        assert_eq!(target.account_url, "https://acct.blob.core.windows.net");
        assert_eq!(
            (target.account.as_str(), target.container.as_str()),
            ("acct", "box")
        );
        assert_eq!(target.sas.unwrap().len(), 2);
        assert_eq!(sas.endpoints(), ["https://acct.blob.core.windows.net"]);
        assert!(ObjectStorage::azure(&sas).is_ok());

        let path_style = AzureSettings {
            sas_url: "http://127.0.0.1:10000/devstoreaccount1/box?sig=x".into(),
            ..AzureSettings::default()
        };
        let target = path_style.target().unwrap();
        assert_eq!(
            target.account_url,
            "http://127.0.0.1:10000/devstoreaccount1"
        );
        assert_eq!(target.container, "box");

        for bad in [
            "not a url",
            "https://acct.blob.core.windows.net/box",
            "https://h/a/b/c?sig=x",
        ] {
            let bad = AzureSettings {
                sas_url: bad.into(),
                ..AzureSettings::default()
            };
            assert_eq!(
                bad.target().err().map(|e| e.kind()),
                Some(ErrorKind::InvalidInput)
            );
        }
        let other_container = AzureSettings {
            container: "other".into(),
            ..sas
        };
        assert!(other_container.target().is_err());
    }

    #[test]
    fn credentials_are_required_without_the_ambient_flag() {
        let none = AzureSettings {
            account_key: String::new(),
            ..settings()
        };
        let error = ObjectStorage::azure(&none).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(ObjectStorage::azure(&settings()).is_ok());
    }

    #[test]
    fn bad_settings_are_refused() {
        let no_account = AzureSettings {
            account_name: String::new(),
            ..settings()
        };
        assert!(ObjectStorage::azure(&no_account).is_err());
        let no_container = AzureSettings {
            container: String::new(),
            ..settings()
        };
        assert!(ObjectStorage::azure(&no_container).is_err());
        let emulator_without_endpoint = AzureSettings {
            endpoint: String::new(),
            use_emulator: true,
            ..settings()
        };
        assert!(ObjectStorage::azure(&emulator_without_endpoint).is_err());
        let bad_key = AzureSettings {
            account_key: "not base64 at all!".into(),
            ..settings()
        };
        let error = ObjectStorage::azure(&bad_key).unwrap_err();
        assert!(!error.to_string().contains("not base64 at all!"), "{error}");
        let no_time = AzureSettings {
            request_timeout: Duration::ZERO,
            ..settings()
        };
        assert!(ObjectStorage::azure(&no_time).is_err());
    }

    #[test]
    fn debug_hides_the_key_and_token() {
        let sas = AzureSettings {
            sas_url: "https://a.blob.core.windows.net/c?sig=t0ken".into(),
            ..settings()
        };
        let shown = format!("{sas:?}");
        assert!(!shown.contains(KEY) && !shown.contains("t0ken"), "{shown}");
    }
}
