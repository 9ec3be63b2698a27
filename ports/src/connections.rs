//! Live connections (an inbound port for the REST API) and the hook a
//! protocol front end gives the core so that the core can drop one of its
//! connections.

use crate::inbound::AdminContext;
use async_trait::async_trait;
use ferry_domain::Result;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

/// Implemented by a protocol front end for each of its connections.
pub trait Disconnect: Send + Sync {
    /// Asks the front end to drop the connection. MUST return at once (the
    /// drop happens in the background) and MUST be harmless when the
    /// connection is already gone or called twice. Open files are abandoned
    /// as on any interrupted session: an upload in flight is not committed.
    fn disconnect(&self);
}

/// A front end's [`Disconnect`] hook, carried in
/// [`ClientInfo`](crate::ClientInfo). Two hooks are equal when they are the
/// same object.
#[derive(Clone)]
pub struct DisconnectHook(pub Arc<dyn Disconnect>);

impl DisconnectHook {
    /// A hook that does nothing, for callers that cannot drop their client.
    pub fn none() -> Self {
        struct Nothing;
        impl Disconnect for Nothing {
            fn disconnect(&self) {}
        }
        Self(Arc::new(Nothing))
    }

    /// Asks the front end to drop the connection.
    pub fn disconnect(&self) {
        self.0.disconnect();
    }
}

impl fmt::Debug for DisconnectHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DisconnectHook")
    }
}

impl PartialEq for DisconnectHook {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for DisconnectHook {}

/// Which way a transfer moves bytes, from the client's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferKind {
    /// The client writes a file.
    Upload,
    /// The client reads a file.
    Download,
}

/// A file open for transfer on a live connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferStatus {
    pub kind: TransferKind,
    /// The virtual path, as the user sees it.
    pub path: String,
    /// Unix milliseconds.
    pub started_at: i64,
    /// Bytes moved so far.
    pub bytes: u64,
}

/// One live client connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionStatus {
    /// Unique among this server's live connections.
    pub id: String,
    pub username: String,
    /// `SFTP`, `SCP`, `SSH`, ... as SFTPGo names protocols.
    pub protocol: String,
    /// The client's SSH identification string.
    pub client_version: String,
    pub remote: SocketAddr,
    /// Unix milliseconds.
    pub connected_at: i64,
    /// Unix milliseconds of the latest request.
    pub last_activity: i64,
    /// The last SSH command run, empty for SFTP.
    pub command: String,
    pub transfers: Vec<TransferStatus>,
}

/// The live connections of this server. The caller has checked the admin's
/// permission.
#[async_trait]
pub trait Connections: Send + Sync + 'static {
    /// Every live connection of this server, oldest first.
    async fn list_connections(&self) -> Result<Vec<ConnectionStatus>>;

    /// Drops the connection `id`; returns once the drop is asked for, not
    /// when it is done. MUST return `NotFound` for an id that is not live.
    async fn close_connection(&self, admin: &AdminContext, id: &str) -> Result<()>;
}
