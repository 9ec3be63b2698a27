//! The accept loop and the life of one connection: SSH transport set-up,
//! the login grace time, shutdown, and the end of the user's session once
//! every channel is done.

use crate::settings::SftpSettings;
use crate::shards::Shards;
use crate::ssh::{Connection, ServerContext, SshHandler};
use ferry_ports::Login;
use russh::Disconnect;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

/// Pause after an accept error that is not about one connection (out of
/// file descriptors, for instance), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

// LIMITATION: there is no per-address connection rate limit or cap on
// unauthenticated connections (OpenSSH's MaxStartups); `max_connections`
// and the login grace time are the only bounds.
/// Serves SSH/SFTP on `listener` until `shutdown` resolves, then disconnects
/// every client (waiting up to `settings.shutdown_grace`) and returns.
/// Logs nothing about the bind: the caller does.
pub async fn serve(
    listener: TcpListener,
    login: Arc<dyn Login>,
    settings: SftpSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let config = Arc::new(settings.russh_config());
    let ctx = Arc::new(ServerContext {
        login,
        limits: settings.session_limits(),
        max_channels: settings.max_channels_per_connection,
    });
    let slots =
        (settings.max_connections > 0).then(|| Arc::new(Semaphore::new(settings.max_connections)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let shards = Shards::start(cpus)?;
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let Some((stream, remote)) = accepted_or_backoff(accepted).await? else {
                    continue;
                };
                let Some(permit) = take_slot(slots.as_ref(), remote) else {
                    continue;
                };
                let run = ConnectionRun {
                    config: config.clone(),
                    ctx: ctx.clone(),
                    settings: ConnectionSettings::from(&settings),
                    stop: stop_rx.clone(),
                    _permit: permit,
                };
                // The shard's reactor takes the socket over.
                let stream = match stream.into_std() {
                    Ok(stream) => stream,
                    Err(e) => {
                        debug!(%remote, error = %e, "cannot hand the connection over");
                        continue;
                    }
                };
                shards.spawn(&mut connections, run.run(stream, remote));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let _ = stop_tx.send(true);
    drain(&mut connections, settings.shutdown_grace).await;
    Ok(())
}

/// Sorts accept errors: a failed connection is skipped, a resource shortage
/// waits a little, a listener that cannot accept at all is an error.
async fn accepted_or_backoff(
    accepted: io::Result<(TcpStream, SocketAddr)>,
) -> io::Result<Option<(TcpStream, SocketAddr)>> {
    match accepted {
        Ok(pair) => Ok(Some(pair)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::NotConnected
            ) =>
        {
            Err(e)
        }
        Err(e) if is_connection_error(&e) => {
            debug!(error = %e, "accept failed for one connection");
            Ok(None)
        }
        Err(e) => {
            warn!(error = %e, "accept failed; pausing");
            tokio::time::sleep(ACCEPT_BACKOFF).await;
            Ok(None)
        }
    }
}

fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// A connection slot, or `None` (and the connection dropped) when the
/// server is full. Without a limit every connection gets a slot.
fn take_slot(
    slots: Option<&Arc<Semaphore>>,
    remote: SocketAddr,
) -> Option<Option<OwnedSemaphorePermit>> {
    let Some(slots) = slots else {
        return Some(None);
    };
    match slots.clone().try_acquire_owned() {
        Ok(permit) => Some(Some(permit)),
        Err(_) => {
            info!(%remote, "refusing a connection: too many connections");
            None
        }
    }
}

/// Waits for connections to end after the stop signal, then drops the rest.
async fn drain(connections: &mut JoinSet<()>, grace: Duration) {
    let all_done = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, all_done).await.is_err() {
        warn!(
            left = connections.len(),
            "connections still open after the shutdown grace time"
        );
        connections.abort_all();
    }
}

/// The per-connection part of the settings.
#[derive(Clone, Copy)]
struct ConnectionSettings {
    login_grace_time: Duration,
}

impl From<&SftpSettings> for ConnectionSettings {
    fn from(settings: &SftpSettings) -> Self {
        Self {
            login_grace_time: settings.login_grace_time,
        }
    }
}

/// Everything one connection's task needs.
struct ConnectionRun {
    config: Arc<russh::server::Config>,
    ctx: Arc<ServerContext>,
    settings: ConnectionSettings,
    stop: watch::Receiver<bool>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl ConnectionRun {
    async fn run(mut self, stream: std::net::TcpStream, remote: SocketAddr) {
        let stream = match TcpStream::from_std(stream) {
            Ok(stream) => stream,
            Err(e) => {
                debug!(%remote, error = %e, "cannot register the connection");
                return;
            }
        };
        // Without it, small SFTP replies wait for Nagle's timer.
        if let Err(e) = stream.set_nodelay(true) {
            debug!(error = %e, "cannot set TCP_NODELAY");
        }
        // A second descriptor of the socket, to cut it under russh's feet:
        // its session task owns the stream and cannot be aborted from here.
        let socket = match stream.as_fd().try_clone_to_owned() {
            Ok(fd) => Some(std::net::TcpStream::from(fd)),
            Err(e) => {
                debug!(error = %e, "cannot duplicate the socket");
                None
            }
        };
        // The grace time runs from the accept, through the handshake, so a
        // client that never speaks is gone in time too.
        let deadline = tokio::time::Instant::now() + self.settings.login_grace_time;
        let client_version = Arc::new(OnceLock::new());
        let stream = ClientStream::new(stream, client_version.clone());
        let conn = Arc::new(Connection {
            remote,
            client_version,
            file_session: OnceLock::new(),
            authenticated: Notify::new(),
            kick: Arc::new(Notify::new()),
        });
        let (guard, mut channels_done) = mpsc::channel::<()>(1);
        let handler = SshHandler::new(self.ctx.clone(), conn.clone(), guard);
        let started = Instant::now();
        let session = tokio::select! {
            session = russh::server::run_stream(self.config.clone(), stream, handler) => session,
            () = stopped(&mut self.stop) => return,
            () = tokio::time::sleep_until(deadline) => {
                debug!(%remote, "login grace time exceeded before the SSH identification");
                return;
            }
        };
        match session {
            Ok(session) => {
                let cut = Cut { socket, deadline };
                self.supervise(session, &conn, cut).await;
            }
            Err(e) => debug!(%remote, error = %e, "SSH connection set-up failed"),
        }
        // Every SFTP session ends with the transport; then no handle is left.
        while channels_done.recv().await.is_some() {}
        if let Some(file_session) = conn.file_session.get() {
            file_session.end().await;
            info!(
                user = file_session.username(),
                %remote,
                duration_ms = started.elapsed().as_millis() as u64,
                "SFTP session ended"
            );
        }
    }

    /// Waits for the transport to end, disconnecting a client that does not
    /// log in within the grace time, when the server stops or when the core
    /// asks (an admin closing the connection). A client that does not go
    /// within [`CUT_AFTER`] of the disconnect message has its socket cut.
    async fn supervise(
        &mut self,
        session: russh::server::RunningSession<SshHandler>,
        conn: &Connection,
        cut: Cut,
    ) {
        let ssh = session.handle();
        let grace = tokio::time::sleep_until(cut.deadline);
        let cutoff = tokio::time::sleep(Duration::MAX);
        tokio::pin!(session, grace, cutoff);
        let mut logged_in = false;
        let mut stopping = false;
        loop {
            let reason = tokio::select! {
                result = &mut session => {
                    if let Err(e) = result {
                        let remote = conn.remote;
                        debug!(%remote, error = %e, "SSH connection ended with an error");
                    }
                    return;
                }
                () = conn.authenticated.notified(), if !logged_in => {
                    logged_in = true;
                    continue;
                }
                () = &mut grace, if !logged_in => {
                    debug!(remote = %conn.remote, "login grace time exceeded");
                    logged_in = true;
                    "login grace time exceeded"
                }
                () = stopped(&mut self.stop), if !stopping => "server shutting down",
                () = conn.kick.notified(), if !stopping => {
                    info!(remote = %conn.remote, "disconnecting a client: connection closed");
                    "connection closed"
                }
                () = &mut cutoff => {
                    debug!(remote = %conn.remote, "cutting a client that did not leave");
                    cut.now();
                    cutoff.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(3600));
                    continue;
                }
            };
            stopping = true;
            disconnect(&ssh, Disconnect::ByApplication, reason).await;
            cutoff
                .as_mut()
                .reset(tokio::time::Instant::now() + CUT_AFTER);
        }
    }
}

/// How long a client told to leave may take to close its side.
const CUT_AFTER: Duration = Duration::from_millis(500);

/// What cutting a connection short needs.
struct Cut {
    /// A duplicate of the connection's socket; `None` if it could not be made.
    socket: Option<std::net::TcpStream>,
    /// The end of the login grace time.
    deadline: tokio::time::Instant,
}

impl Cut {
    /// Shuts the socket down both ways: russh's next read sees the end of
    /// the stream and its session ends, whatever state the handshake is in.
    fn now(&self) {
        if let Some(socket) = &self.socket {
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// Resolves once the server is stopping (or its stop sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

async fn disconnect(ssh: &russh::server::Handle, reason: Disconnect, text: &str) {
    let sent = ssh.disconnect(reason, text.to_owned(), String::new());
    let _ = tokio::time::timeout(Duration::from_secs(5), sent).await;
}

/// Passes a TCP stream through, recording the client's SSH identification
/// line (RFC 4253 section 4.2: the first line a client sends) for the
/// `Login` port, which russh reads but does not hand to the auth callbacks,
/// and acknowledging the handshake's packets at once.
///
/// OpenSSH's client leaves Nagle's algorithm on outside interactive
/// sessions, so it holds its key exchange packet until the server has
/// acknowledged its KEXINIT; the server has nothing to send then, and
/// Linux delays that acknowledgement by 40 ms. Every login waited for it:
/// `sftp` with only `bye` took 60 ms instead of 15.
struct ClientStream {
    inner: TcpStream,
    line: Option<Vec<u8>>,
    slot: Arc<OnceLock<String>>,
    /// Bytes still to be acknowledged at once (`TCP_QUICKACK`).
    quick_acks: usize,
}

/// RFC 4253: the identification line is at most 255 bytes.
const MAX_ID_LEN: usize = 255;

/// The first bytes a client sends, acknowledged as they are read: more than
/// a login takes (key exchange and authentication are a few KiB).
const QUICK_ACK_BYTES: usize = 64 * 1024;

impl ClientStream {
    fn new(inner: TcpStream, slot: Arc<OnceLock<String>>) -> Self {
        Self {
            inner,
            line: Some(Vec::with_capacity(64)),
            slot,
            quick_acks: QUICK_ACK_BYTES,
        }
    }

    /// Sends the acknowledgement of what was just read now, not after the
    /// delayed-ACK timer (the flag is not sticky: Linux may clear it).
    fn acknowledge(&mut self, read: usize) {
        if self.quick_acks == 0 || read == 0 {
            return;
        }
        self.quick_acks = self.quick_acks.saturating_sub(read);
        if let Err(e) = rustix::net::sockopt::set_tcp_quickack(&self.inner, true) {
            debug!(error = %e, "cannot set TCP_QUICKACK");
            self.quick_acks = 0;
        }
    }

    fn record(&mut self, bytes: &[u8]) {
        let Some(line) = self.line.as_mut() else {
            return;
        };
        for &byte in bytes {
            if byte == b'\n' || line.len() >= MAX_ID_LEN {
                let text = String::from_utf8_lossy(line)
                    .trim_end_matches('\r')
                    .to_owned();
                let _ = self.slot.set(text);
                self.line = None;
                return;
            }
            line.push(byte);
        }
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled {
            let fresh = buf.filled().get(before..).unwrap_or_default();
            if self.line.is_some() {
                self.record(fresh);
            }
            self.acknowledge(fresh.len());
        }
        polled
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const ROUNDS: usize = 10;

    /// A client that leaves Nagle's algorithm on, as OpenSSH's does, sends
    /// two small packets in a row and waits for an answer: its second packet
    /// must not wait for the delayed acknowledgement of its first.
    #[tokio::test]
    async fn a_client_with_nagle_on_is_acknowledged_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut socket = std::net::TcpStream::connect(addr).unwrap();
            let mut answer = [0u8; 1];
            for _ in 0..ROUNDS {
                socket.write_all(&[1; 100]).unwrap();
                socket.write_all(&[2; 100]).unwrap();
                socket.read_exact(&mut answer).unwrap();
            }
        });
        let (stream, _) = listener.accept().await.unwrap();
        let mut stream = ClientStream::new(stream, Arc::new(OnceLock::new()));
        let mut waits = Vec::new();
        for _ in 0..ROUNDS {
            let mut first = [0u8; 100];
            stream.read_exact(&mut first).await.unwrap();
            let start = Instant::now();
            let mut second = [0u8; 100];
            stream.read_exact(&mut second).await.unwrap();
            waits.push(start.elapsed());
            assert_eq!((first, second), ([1; 100], [2; 100]));
            stream.write_all(&[3]).await.unwrap();
        }
        client.join().unwrap();
        waits.sort();
        // Linux delays an acknowledgement by at least 40 ms.
        let median = waits[ROUNDS / 2];
        assert!(median < Duration::from_millis(20), "{waits:?}");
    }
}
