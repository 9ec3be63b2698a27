//! HTTPS for the REST API: TLS 1.3 (RFC 8446) and 1.2 (RFC 5246) through
//! rustls. warp 0.4 cannot terminate TLS: the handshake runs in the TCP
//! front ([`front`](crate::front)) with tokio-rustls, then each connection
//! is served as plain HTTP's are (HTTP/1.1 or HTTP/2, as ALPN agreed).

use crate::front::{self, Handshake};
use crate::{ApiServices, HttpSettings};
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// How long a client gets to finish the TLS handshake, so a silent one
/// cannot hold a task (and a graceful shutdown) for ever.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the server's certificate chain and private key are, both PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, the server's own certificate first.
    pub certificate: PathBuf,
    /// The private key of that certificate: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    pub private_key: PathBuf,
}

/// Why a certificate and key cannot serve HTTPS. The messages name the file
/// and never quote its content.
#[derive(Debug)]
pub enum TlsError {
    /// The certificate file cannot be read or holds no PEM certificate.
    Certificate { path: PathBuf, reason: String },
    /// The key file cannot be read or holds no PEM private key.
    PrivateKey { path: PathBuf, reason: String },
    /// The key is not the certificate's, or rustls refuses the pair.
    Mismatch(String),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Certificate { path, reason } => {
                write!(f, "certificate file {}: {reason}", path.display())
            }
            Self::PrivateKey { path, reason } => {
                write!(f, "private key file {}: {reason}", path.display())
            }
            Self::Mismatch(reason) => write!(f, "certificate and private key: {reason}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// A certificate and key, loaded and checked, ready to serve HTTPS.
// LIMITATION: the files are read once, at start-up; a renewed certificate
// takes effect only after a restart.
#[derive(Clone)]
pub struct TlsConfig {
    server: Arc<ServerConfig>,
    handshake_timeout: Duration,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("alpn", &["h2", "http/1.1"])
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Reads and checks `files`: at least one certificate, a private key,
    /// and a key that belongs to the first certificate. Uses the process's
    /// default rustls crypto provider, aws-lc-rs when none is installed.
    pub fn load(files: &TlsFiles) -> Result<Self, TlsError> {
        let chain = read_chain(&files.certificate)?;
        let key = read_key(&files.private_key)?;
        let provider = CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Mismatch(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Mismatch(describe_pair_error(e)))?;
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            server: Arc::new(server),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        })
    }

    /// Replaces [`DEFAULT_HANDSHAKE_TIMEOUT`].
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let failed = |reason: String| TlsError::Certificate {
        path: path.to_owned(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| failed(describe_pem_error(e)))?;
    if chain.is_empty() {
        return Err(failed(
            "no PEM certificate (BEGIN CERTIFICATE) in it".into(),
        ));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::PrivateKey {
        path: path.to_owned(),
        reason: match e {
            pem::Error::NoItemsFound => {
                "no PEM private key (PKCS#8, RSA or EC PRIVATE KEY) in it".into()
            }
            other => describe_pem_error(other),
        },
    })
}

fn describe_pair_error(error: rustls::Error) -> String {
    match error {
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
            "the private key does not belong to the certificate".into()
        }
        other => other.to_string(),
    }
}

/// A PEM error in words that quote nothing from the file, which may be a key.
fn describe_pem_error(error: pem::Error) -> String {
    match error {
        pem::Error::Io(e) => e.to_string(),
        pem::Error::NoItemsFound => "nothing usable in it".into(),
        _ => "it is not valid PEM".into(),
    }
}

/// Serves the API over HTTPS on `listener` until `shutdown` resolves, then
/// stops accepting and lets connections in flight finish. Each request's
/// [`PeerAddr`](crate::PeerAddr) is the TCP peer. Accept errors are logged
/// and retried, so this only returns once shut down.
pub async fn serve_tls(
    listener: TcpListener,
    services: ApiServices,
    settings: HttpSettings,
    tls: TlsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let handshake = Handshake {
        acceptor: TlsAcceptor::from(tls.server),
        timeout: tls.handshake_timeout,
    };
    front::run(listener, services, settings, Some(handshake), shutdown).await
}
