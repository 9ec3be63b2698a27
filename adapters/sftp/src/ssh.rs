//! The SSH side of a connection (RFC 4252 authentication, RFC 4254 session
//! channels): logins go through the `Login` port, the `sftp` subsystem is
//! served, every other channel request is refused.

use crate::settings::{auth_methods, is_sha1_rsa};
use crate::sftp::{self, SessionLimits};
use ferry_domain::{Error, ErrorKind};
use ferry_ports::{ClientInfo, Disconnect, DisconnectHook, FileSession, Login, SshKey};
use russh::keys::PublicKey;
use russh::server::VerifiedPublicKey;
use russh::server::{Auth, ChannelOpenHandle, Handler, Msg, PublicKeyOffer, Session};
use russh::{Channel, ChannelId, ChannelOpenFailure, Pty};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tokio::sync::{Notify, mpsc};
use tracing::{debug, info, warn};

/// What every connection of one server shares.
pub(crate) struct ServerContext {
    pub login: Arc<dyn Login>,
    pub limits: SessionLimits,
    pub max_channels: usize,
}

/// What a connection's handler shares with the task that drives it.
pub(crate) struct Connection {
    pub remote: SocketAddr,
    /// The client's identification line, recorded as it is read.
    pub client_version: Arc<OnceLock<String>>,
    /// The logged-in user's session, once authentication succeeded.
    pub file_session: OnceLock<Arc<dyn FileSession>>,
    pub authenticated: Notify,
    /// Notified when the core asks to drop the connection.
    pub kick: Arc<Notify>,
}

/// The core's way to drop a connection: the connection's supervisor
/// disconnects the client when notified (a notification that comes before
/// it waits is kept).
struct Kick(Arc<Notify>);

impl Disconnect for Kick {
    fn disconnect(&self) {
        self.0.notify_one();
    }
}

/// russh's per-connection handler.
pub(crate) struct SshHandler {
    ctx: Arc<ServerContext>,
    conn: Arc<Connection>,
    /// Cloned into every SFTP session; the connection's end waits until
    /// each has finished its work.
    channel_guard: mpsc::Sender<()>,
    /// Open session channels, and the SFTP session each serves once the
    /// client asked for the subsystem.
    channels: HashMap<ChannelId, Option<sftp::Session>>,
}

impl SshHandler {
    pub fn new(
        ctx: Arc<ServerContext>,
        conn: Arc<Connection>,
        channel_guard: mpsc::Sender<()>,
    ) -> Self {
        Self {
            ctx,
            conn,
            channel_guard,
            channels: HashMap::new(),
        }
    }

    fn client_info(&self) -> ClientInfo {
        ClientInfo {
            remote: self.conn.remote,
            client_version: self.conn.client_version.get().cloned().unwrap_or_default(),
            disconnect: DisconnectHook(Arc::new(Kick(self.conn.kick.clone()))),
        }
    }

    /// Turns a login's outcome into russh's answer. Every refusal is the
    /// same refusal, with both methods still on offer.
    fn conclude(
        &mut self,
        user: &str,
        method: &'static str,
        outcome: ferry_domain::Result<Arc<dyn FileSession>>,
    ) -> Auth {
        match outcome {
            Ok(session) => {
                info!(
                    user = session.username(),
                    remote = %self.conn.remote,
                    method,
                    "SFTP session started"
                );
                let _ = self.conn.file_session.set(session);
                self.conn.authenticated.notify_one();
                Auth::Accept
            }
            Err(error) => {
                log_refusal(user, self.conn.remote, method, &error);
                refusal()
            }
        }
    }

    fn refuse_request(&self, channel: ChannelId, what: &str, session: &mut Session) {
        debug!(remote = %self.conn.remote, request = what, "refusing a channel request");
        let _ = session.channel_failure(channel);
    }
}

fn refusal() -> Auth {
    Auth::Reject {
        proceed_with_methods: Some(auth_methods()),
        partial_success: false,
    }
}

fn log_refusal(user: &str, remote: SocketAddr, method: &str, error: &Error) {
    match error.kind() {
        ErrorKind::Unavailable | ErrorKind::Internal => {
            warn!(user = ?user, %remote, method, %error, "SSH login failed on the server side");
        }
        _ => info!(user = ?user, %remote, method, "SSH login refused"),
    }
}

/// The key as an `authorized_keys` line spells it.
fn ssh_key(key: &PublicKey) -> Option<SshKey> {
    let line = key.to_openssh().ok()?;
    let mut parts = line.split_whitespace();
    Some(SshKey {
        algorithm: parts.next()?.to_owned(),
        blob_base64: parts.next()?.to_owned(),
    })
}

impl Handler for SshHandler {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        let client = self.client_info();
        let outcome = self.ctx.login.login_password(user, password, &client).await;
        Ok(self.conclude(user, "password", outcome))
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        let Some(key) = ssh_key(offer.public_key).filter(|_| !is_sha1_rsa(offer.algorithm)) else {
            return Ok(refusal());
        };
        let client = self.client_info();
        if self.ctx.login.accepts_public_key(user, &key, &client).await {
            return Ok(Auth::Accept);
        }
        debug!(user = ?user, remote = %self.conn.remote, "public key not accepted");
        Ok(refusal())
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let Some(ssh_key) = ssh_key(key.public_key).filter(|_| !is_sha1_rsa(key.algorithm)) else {
            return Ok(refusal());
        };
        let client = self.client_info();
        let outcome = self
            .ctx
            .login
            .login_public_key(user, &ssh_key, &client)
            .await;
        Ok(self.conclude(user, "publickey", outcome))
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let logged_in = self.conn.file_session.get().is_some();
        if !logged_in || self.channels.len() >= self.ctx.max_channels {
            reply.reject(ChannelOpenFailure::ResourceShortage).await;
            return Ok(());
        }
        // What the client sends comes through `data` below; russh's
        // per-channel queue is not read, so the channel object goes.
        self.channels.insert(channel.id(), None);
        drop(channel);
        reply.accept().await;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let file_session = self.conn.file_session.get().cloned();
        match (self.channels.get_mut(&channel), file_session) {
            (Some(slot @ None), Some(file_session)) if name == "sftp" => {
                *slot = Some(sftp::start(
                    file_session,
                    session.handle(),
                    channel,
                    self.ctx.limits,
                    self.channel_guard.clone(),
                ));
                session.channel_success(channel)?;
            }
            _ => self.refuse_request(channel, "subsystem", session),
        }
        Ok(())
    }

    // LIMITATION: commands (and so scp, rsync and SSH commands such as
    // md5sum) are refused; only the sftp subsystem is served.
    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _command: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse_request(channel, "exec", session);
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse_request(channel, "shell", session);
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse_request(channel, "pty-req", session);
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        _variable_name: &str,
        _variable_value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse_request(channel, "env", session);
        Ok(())
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single_connection: bool,
        _x11_auth_protocol: &str,
        _x11_auth_cookie: &str,
        _x11_screen_number: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse_request(channel, "x11-req", session);
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Data on a channel that serves nothing yet is dropped, as a
        // program that does not read its input would.
        if let Some(Some(sftp)) = self.channels.get_mut(&channel) {
            sftp.data(data);
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(Some(sftp)) = self.channels.get_mut(&channel) {
            sftp.eof();
        }
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.remove(&channel);
        Ok(())
    }
}
