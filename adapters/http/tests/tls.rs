//! The API over HTTPS on a real loopback listener: certificates made at test
//! time with the `openssl` CLI, a rustls client, the real peer address, ALPN,
//! the handshake timeout, shutdown, and clear errors for bad files.

mod support;

use ferry_http::{HttpSettings, TlsConfig, TlsError, TlsFiles, serve_tls};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// A test CA, a server certificate it signed for 127.0.0.1 and localhost,
/// and a key that belongs to neither.
struct Certs {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    stray_key: PathBuf,
}

/// Runs `openssl` with the whitespace-separated `args` in `dir`.
fn openssl(dir: &Path, args: &str) {
    let out = Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .expect("run openssl (install the openssl CLI)");
    assert!(
        out.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The extensions of the server certificate: a leaf for 127.0.0.1 and localhost.
const SERVER_EXTENSIONS: &str = "subjectAltName=IP:127.0.0.1,DNS:localhost
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
";

fn make_pki_in(p: &Path) {
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    openssl(
        p,
        &format!(
            "req -x509 {ec} -keyout ca.key -out ca.pem -days 2 -subj /CN=ferry-test-ca \
             -addext basicConstraints=critical,CA:TRUE \
             -addext keyUsage=critical,keyCertSign,cRLSign"
        ),
    );
    openssl(
        p,
        &format!("req {ec} -keyout server.key -out server.csr -subj /CN=localhost"),
    );
    std::fs::write(p.join("server.ext"), SERVER_EXTENSIONS).expect("write the extensions");
    openssl(
        p,
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
         -extfile server.ext -out server.pem",
    );
    openssl(
        p,
        "genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 -out stray.key",
    );
}

fn make_certs() -> Certs {
    let dir = tempfile::tempdir().unwrap();
    make_pki_in(dir.path());
    let p = dir.path();
    Certs {
        ca: p.join("ca.pem"),
        cert: p.join("server.pem"),
        key: p.join("server.key"),
        stray_key: p.join("stray.key"),
        _dir: dir,
    }
}

struct Running {
    addr: SocketAddr,
    certs: Certs,
    sessions: Arc<FakeSessions>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(handshake_timeout: Duration) -> Running {
    let certs = make_certs();
    let files = TlsFiles {
        certificate: certs.cert.clone(),
        private_key: certs.key.clone(),
    };
    let tls = TlsConfig::load(&files)
        .unwrap()
        .with_handshake_timeout(handshake_timeout);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sessions = Arc::new(FakeSessions::default());
    let users = Arc::new(FakeUsers::default());
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let services = services(&sessions, &users);
    let settings = HttpSettings::default();
    let task = tokio::spawn(serve_tls(listener, services, settings, tls, shutdown));
    Running {
        addr,
        certs,
        sessions,
        stop,
        task,
    }
}

/// A TLS connection trusting only the test CA, offering `alpn`.
async fn connect(server: &Running, alpn: &[&[u8]]) -> TlsStream<TcpStream> {
    let ca = CertificateDer::from_pem_file(&server.certs.ca).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap()
}

/// Writes `request` and reads until the server closes; read errors only end
/// the reply (a peer may close without a TLS close_notify).
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, request: &[u8]) -> String {
    stream.write_all(request).await.unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        reply.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&reply).into_owned()
}

async fn stop(server: Running) {
    server.stop.send(()).unwrap();
    let done = tokio::time::timeout(Duration::from_secs(10), server.task).await;
    done.expect("serve_tls returns after shutdown")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn serves_http1_over_tls_and_the_ports_see_the_real_client() {
    let server = start(Duration::from_secs(10)).await;
    let mut stream = connect(&server, &[b"http/1.1"]).await;
    let local = stream.get_ref().0.local_addr().unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let reply = exchange(
        &mut stream,
        b"GET /api/v2/token HTTP/1.1\r\nHost: x\r\nAuthorization: Basic cm9vdDpzZWNyZXQ=\r\n\
          Connection: close\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("\"access_token\""), "{reply}");
    assert_eq!(*server.sessions.peers.lock().unwrap(), vec![local]);

    let mut stream = connect(&server, &[]).await;
    let reply = exchange(
        &mut stream,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        reply.starts_with("HTTP/1.1 200") && reply.ends_with("ok"),
        "{reply}"
    );
    stop(server).await;
}

#[tokio::test]
async fn alpn_prefers_http2() {
    let server = start(Duration::from_secs(10)).await;
    let stream = connect(&server, &[b"h2", b"http/1.1"]).await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    drop(stream);
    stop(server).await;
}

#[tokio::test]
async fn plain_http_gets_no_http_answer() {
    let server = start(Duration::from_secs(10)).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let reply = exchange(
        &mut tcp,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(!reply.contains("HTTP/1.1"), "{reply:?}");
    stop(server).await;
}

#[tokio::test]
async fn a_silent_client_is_dropped_after_the_handshake_timeout() {
    let server = start(Duration::from_millis(300)).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf)).await;
    let read = read.expect("the server closes a silent connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(started.elapsed() >= Duration::from_millis(250));
    // A handshake in progress does not hold up shutdown beyond its timeout.
    let _silent = TcpStream::connect(server.addr).await.unwrap();
    stop(server).await;
}

#[tokio::test]
async fn shutdown_closes_the_listener() {
    let server = start(Duration::from_secs(10)).await;
    let addr = server.addr;
    stop(server).await;
    assert!(TcpStream::connect(addr).await.is_err());
}

#[test]
fn bad_files_are_clear_errors_naming_the_file() {
    let certs = make_certs();
    let load = |certificate: &Path, private_key: &Path| {
        TlsConfig::load(&TlsFiles {
            certificate: certificate.to_owned(),
            private_key: private_key.to_owned(),
        })
        .unwrap_err()
    };
    let missing = certs.cert.with_file_name("missing.pem");

    let err = load(&missing, &certs.key);
    assert!(matches!(err, TlsError::Certificate { .. }), "{err}");
    assert!(err.to_string().contains("missing.pem"), "{err}");

    let err = load(&certs.key, &certs.key);
    assert!(matches!(err, TlsError::Certificate { .. }), "{err}");
    assert!(err.to_string().contains("no PEM certificate"), "{err}");

    let err = load(&certs.cert, &missing);
    assert!(matches!(err, TlsError::PrivateKey { .. }), "{err}");

    let err = load(&certs.cert, &certs.cert);
    assert!(matches!(err, TlsError::PrivateKey { .. }), "{err}");
    assert!(err.to_string().contains("no PEM private key"), "{err}");

    let err = load(&certs.cert, &certs.stray_key);
    assert!(matches!(err, TlsError::Mismatch(_)), "{err}");
}
