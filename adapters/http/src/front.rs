//! The TCP front of both transports: it accepts connections, runs the TLS
//! handshake when there is one, and serves each connection with hyper-util
//! (HTTP/1.1, or HTTP/2 by ALPN or prior knowledge) through the API's warp
//! filter, with a header-read timeout and a graceful shutdown. A client's
//! malformed request is its connection's failure, logged at debug: hyper
//! answers it with a bare 400 before any handler runs.

use crate::server::{PeerAddr, routes};
use crate::{ApiServices, HttpSettings};
use hyper::body::Incoming;
use hyper::service::{Service, service_fn};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use warp::http::Request;
use warp::reply::Response;

/// How long an HTTP/1 client gets to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after an accept error that is not about one connection (out of
/// file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// The TLS side of a connection: who handshakes, and for how long at most.
#[derive(Clone)]
pub(crate) struct Handshake {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) timeout: Duration,
}

/// Serves the API over plain HTTP on `listener` until `shutdown` resolves,
/// then stops accepting and lets connections in flight finish. Each
/// request's [`PeerAddr`] is the TCP peer. Accept errors are logged and
/// retried, so this only returns once shut down.
pub async fn serve(
    listener: TcpListener,
    services: ApiServices,
    settings: HttpSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    run(listener, services, settings, None, shutdown).await
}

/// Serves the API on `listener` (over TLS with `handshake`) until
/// `shutdown` resolves, then stops accepting and lets connections in
/// flight finish. Each request's [`PeerAddr`] is the TCP peer. Accept
/// errors are logged and retried, so this only returns once shut down.
pub(crate) async fn run(
    listener: TcpListener,
    services: ApiServices,
    settings: HttpSettings,
    handshake: Option<Handshake>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let front = Front {
        handshake,
        service: TowerToHyperService::new(warp::service(routes(services, settings))),
    };
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((tcp, peer)) => {
                tokio::spawn(front.clone().serve(tcp, peer, graceful.watcher()));
            }
            Err(e) if is_per_connection(&e) => {
                tracing::debug!(error = %e, "a connection failed before it was accepted");
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot accept HTTP connections; retrying");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                    () = &mut shutdown => break,
                }
            }
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Errors about one connection that the next accept will not repeat.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    )
}

/// What every connection shares: `service` is the warp filter.
#[derive(Clone)]
struct Front<S> {
    handshake: Option<Handshake>,
    service: S,
}

impl<S> Front<S>
where
    S: Service<Request<Incoming>, Response = Response, Error = Infallible> + Send + Sync + 'static,
    S::Future: Send + 'static,
{
    /// Handshakes when over TLS, then serves requests until the client
    /// leaves or the watcher asks the connection to close.
    async fn serve(self, tcp: TcpStream, peer: SocketAddr, watcher: Watcher) {
        // Nagle would hold back small replies waiting for the client's ACK.
        let _ = tcp.set_nodelay(true);
        let Some(handshake) = self.handshake.clone() else {
            return self.serve_stream(tcp, peer, watcher).await;
        };
        let accepted = handshake.acceptor.accept(tcp);
        match tokio::time::timeout(handshake.timeout, accepted).await {
            Ok(Ok(stream)) => self.serve_stream(stream, peer, watcher).await,
            Ok(Err(e)) => {
                tracing::debug!(client = %peer.ip(), error = %e, "TLS handshake failed");
            }
            Err(_) => {
                tracing::debug!(client = %peer.ip(), "TLS handshake timed out");
            }
        }
    }

    async fn serve_stream<I>(self, stream: I, peer: SocketAddr, watcher: Watcher)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let warp = self.service;
        let service = service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(PeerAddr(peer));
            warp.call(request)
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        builder.http2().timer(TokioTimer::new());
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        if let Err(e) = watcher.watch(connection).await {
            tracing::debug!(client = %peer.ip(), error = %e, "HTTP connection failed");
        }
    }
}
