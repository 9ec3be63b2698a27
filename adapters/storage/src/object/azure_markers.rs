//! `<dir>/` marker blobs on Azure, which `object_store` cannot name: its
//! Azure client builds a blob's URL from the path's segments and so drops a
//! trailing `/`. These three requests (put, read the time of, delete an
//! empty blob) are made here, signed as the storage's client signs: with the
//! account's shared key, the SAS token, or the bearer token of the ambient
//! credentials.

use super::errors::Redactions;
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ferry_domain::{Error, Result};
use object_store::azure::{AzureCredential, AzureCredentialProvider};
use reqwest::{Method, StatusCode};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use url::Url;

// LIMITATION: on an account with a hierarchical namespace (Data Lake
// Storage), directories are the account's own and a `<dir>/` blob is not
// one; such accounts are read as flat ones, and mkdir there is untested.

/// The Blob service version the requests speak.
const API_VERSION: &str = "2023-11-03";

/// How the requests are authorised.
pub(crate) enum Signer {
    /// The account's shared key, decoded.
    SharedKey(Vec<u8>),
    /// The SAS token's query pairs.
    Sas(Vec<(String, String)>),
    /// Whatever the client's ambient credentials give at the time.
    Ambient(AzureCredentialProvider),
}

/// What one request carries to be let in.
enum Pass {
    Key(Vec<u8>),
    Query(Vec<(String, String)>),
    Bearer(String),
}

/// A container's marker blobs, reached the way the storage's client goes.
pub(crate) struct AzureMarkers {
    http: reqwest::Client,
    /// The account's URL (`https://acct.blob.core.windows.net` or, path
    /// style, `http://127.0.0.1:10000/acct`).
    account_url: Url,
    account: String,
    container: String,
    signer: Signer,
    max_retries: usize,
    redactions: Arc<Redactions>,
}

impl fmt::Debug for AzureMarkers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AzureMarkers")
    }
}

/// What a marker request found.
pub(crate) enum Answer {
    /// The blob is there; its last modification, in seconds since 1970.
    Found(u64),
    Missing,
    Done,
}

impl AzureMarkers {
    pub(crate) fn new(
        account_url: &str,
        account: &str,
        container: &str,
        signer: Signer,
        max_retries: usize,
        timeout: Duration,
        redactions: Arc<Redactions>,
    ) -> Result<Self> {
        let account_url = Url::parse(account_url)
            .map_err(|_| Error::invalid("the Azure endpoint is not a valid URL"))?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .https_only(account_url.scheme() == "https")
            // A redirect could lead past the operator's allowed endpoints.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::invalid("invalid Azure settings").with_detail(e.to_string()))?;
        Ok(Self {
            http,
            account_url,
            account: account.to_owned(),
            container: container.to_owned(),
            signer,
            max_retries,
            redactions,
        })
    }

    /// The marker's last modification, `None` when there is none.
    pub(crate) async fn head(&self, marker: &str) -> Result<Option<u64>> {
        match self.send(Method::HEAD, marker).await? {
            Answer::Found(seconds) => Ok(Some(seconds)),
            _ => Ok(None),
        }
    }

    /// Writes an empty marker blob (replacing one that is there).
    pub(crate) async fn put(&self, marker: &str) -> Result<()> {
        self.send(Method::PUT, marker).await.map(drop)
    }

    /// Deletes the marker; one already gone counts as deleted.
    pub(crate) async fn delete(&self, marker: &str) -> Result<()> {
        self.send(Method::DELETE, marker).await.map(drop)
    }

    /// The blob's URL: every segment of `marker` percent-encoded, and its
    /// trailing `/` kept.
    fn url(&self, marker: &str, pass: &Pass) -> Url {
        let mut url = self.account_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(&self.container);
            segments.extend(marker.split('/'));
        }
        if let Pass::Query(pairs) = pass {
            url.query_pairs_mut().extend_pairs(pairs);
        }
        url
    }

    /// One request, retried on network errors and 5xx answers.
    async fn send(&self, method: Method, marker: &str) -> Result<Answer> {
        let mut attempt = 0;
        loop {
            match self.send_once(method.clone(), marker).await {
                Err(Failure::Transient(_)) if attempt < self.max_retries => {
                    attempt += 1;
                    let backoff = Duration::from_millis(50 << attempt.min(6));
                    tokio::time::sleep(backoff).await;
                }
                Err(failure) => return Err(failure.into_error(&self.redactions)),
                Ok(answer) => return Ok(answer),
            }
        }
    }

    async fn send_once(&self, method: Method, marker: &str) -> Result<Answer, Failure> {
        let pass = self.pass().await?;
        let url = self.url(marker, &pass);
        let date = httpdate::fmt_http_date(SystemTime::now());
        let mut headers = vec![
            ("x-ms-date", date),
            ("x-ms-version", API_VERSION.to_owned()),
        ];
        if method == Method::PUT {
            headers.push(("x-ms-blob-type", "BlockBlob".to_owned()));
        }
        let authorization = match &pass {
            Pass::Key(key) => Some(self.shared_key(key, &method, &url, &headers)),
            Pass::Bearer(token) => Some(format!("Bearer {token}")),
            Pass::Query(_) => None,
        };
        let mut request = self.http.request(method.clone(), url);
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        if method == Method::PUT {
            // Azure wants the length, which an empty body does not send.
            request = request.header("content-length", "0").body(Vec::new());
        }
        let response = request
            .send()
            .await
            .map_err(|e| Failure::Transient(e.without_url().to_string()))?;
        let status = response.status();
        // A HEAD answer has no body: Azure names its error in a header.
        let code = response
            .headers()
            .get("x-ms-error-code")
            .and_then(|value| value.to_str().ok())
            .map(|code| format!(" ({code})"))
            .unwrap_or_default();
        match status {
            // Not for a PUT: there it means the container is gone.
            StatusCode::NOT_FOUND if method != Method::PUT => Ok(Answer::Missing),
            _ if status.is_success() && method == Method::HEAD => {
                let modified = response
                    .headers()
                    .get("last-modified")
                    .and_then(|value| value.to_str().ok())
                    .and_then(|text| httpdate::parse_http_date(text).ok())
                    .and_then(|time| time.duration_since(SystemTime::UNIX_EPOCH).ok());
                Ok(Answer::Found(modified.map_or(0, |d| d.as_secs())))
            }
            _ if status.is_success() => Ok(Answer::Done),
            StatusCode::FORBIDDEN => Err(Failure::Denied),
            StatusCode::UNAUTHORIZED => Err(Failure::Refused),
            _ if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => Err(
                Failure::Transient(format!("the store answered {status}{code}")),
            ),
            _ => Err(Failure::Other(format!("the store answered {status}{code}"))),
        }
    }

    /// The credential for the next request.
    async fn pass(&self) -> Result<Pass, Failure> {
        match &self.signer {
            Signer::SharedKey(key) => Ok(Pass::Key(key.clone())),
            Signer::Sas(pairs) => Ok(Pass::Query(pairs.clone())),
            Signer::Ambient(provider) => {
                let credential = provider
                    .get_credential()
                    .await
                    .map_err(|e| Failure::Transient(e.to_string()))?;
                match credential.as_ref() {
                    AzureCredential::BearerToken(token) => Ok(Pass::Bearer(token.clone())),
                    AzureCredential::SASToken(pairs) => Ok(Pass::Query(pairs.clone())),
                    // The key's bytes are not to be had from the provider;
                    // an ambient key comes from the environment instead.
                    AzureCredential::AccessKey(_) => Err(Failure::Unsupported),
                }
            }
        }
    }

    /// SharedKey authorization over the request's method, `x-ms-` headers,
    /// and resource (`/account` and the URL's path, then its query pairs).
    fn shared_key(
        &self,
        key: &[u8],
        method: &Method,
        url: &Url,
        headers: &[(&str, String)],
    ) -> String {
        let mut canonical_headers: Vec<_> = headers
            .iter()
            .map(|(name, value)| format!("{}:{}\n", name.to_ascii_lowercase(), value.trim()))
            .collect();
        canonical_headers.sort();
        let mut resource = format!("/{}{}", self.account, url.path());
        let mut pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.into_owned()))
            .collect();
        pairs.sort();
        for (name, value) in pairs {
            resource.push_str(&format!("\n{name}:{value}"));
        }
        // Verb, then Content-Encoding, -Language, -Length (empty when 0),
        // -MD5, -Type, Date, If-Modified-Since, If-Match, If-None-Match,
        // If-Unmodified-Since and Range, all empty here.
        let to_sign = format!(
            "{method}\n\n\n\n\n\n\n\n\n\n\n\n{}{resource}",
            canonical_headers.concat()
        );
        let key = hmac::Key::new(hmac::HMAC_SHA256, key);
        let signature = BASE64.encode(hmac::sign(&key, to_sign.as_bytes()).as_ref());
        format!("SharedKey {}:{signature}", self.account)
    }
}

/// Why a request failed, before it becomes Ferry's error.
enum Failure {
    /// Worth another try: the network, a 5xx answer, throttling.
    Transient(String),
    Denied,
    Refused,
    /// Ambient credentials that are not a bearer token.
    Unsupported,
    Other(String),
}

impl Failure {
    fn into_error(self, redactions: &Redactions) -> Error {
        let detail = |text: String| redactions.apply(&format!("object storage: {text}"));
        match self {
            Failure::Transient(text) => Error::unavailable("object storage unavailable, try again")
                .with_detail(detail(text)),
            Failure::Denied => Error::permission_denied("the object store denied access"),
            Failure::Refused => Error::unavailable("the object store refused the credentials"),
            Failure::Unsupported => Error::unsupported(
                "directory markers on Azure need a key, a SAS token or a bearer token",
            ),
            Failure::Other(text) => Error::unavailable("object storage unavailable, try again")
                .with_detail(detail(text)),
        }
    }
}
