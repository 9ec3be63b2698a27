//! The live connections of this process: registered when a file session
//! opens, gone when it ends, listed and closed through the [`Connections`]
//! port. Transfers count their bytes in atomics the listing reads, so the
//! hot path of a transfer takes no lock.

use async_trait::async_trait;
use ferry_domain::{Error, Result};
use ferry_ports::{
    AdminContext, ClientInfo, Clock, ConnectionStatus, Connections, DisconnectHook, TransferKind,
    TransferStatus,
};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Every live connection of this process, by id.
pub struct ConnectionRegistry {
    clock: Arc<dyn Clock>,
    /// Random per process, so that an id is not reused after a restart.
    prefix: String,
    next: AtomicU64,
    live: Mutex<HashMap<String, Arc<LiveConnection>>>,
}

impl ConnectionRegistry {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            prefix: format!("{:08x}", rand::random::<u32>()),
            next: AtomicU64::new(0),
            live: Mutex::new(HashMap::new()),
        }
    }

    fn live(&self) -> MutexGuard<'_, HashMap<String, Arc<LiveConnection>>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a logged-in SFTP client. The registration lasts until the
    /// returned value is dropped or [`Registration::end`] is called.
    pub fn register(self: &Arc<Self>, username: &str, client: &ClientInfo) -> Registration {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let now = self.clock.now_ms();
        let conn = Arc::new(LiveConnection {
            id: format!("SFTP_{}_{n}", self.prefix),
            username: username.to_owned(),
            client_version: client.client_version.clone(),
            remote: client.remote,
            connected_at: now,
            last_activity: AtomicI64::new(now),
            disconnect: client.disconnect.clone(),
            transfers: Mutex::new(Vec::new()),
            clock: self.clock.clone(),
        });
        self.live().insert(conn.id.clone(), conn.clone());
        Registration {
            registry: self.clone(),
            conn,
        }
    }

    /// Asks the front end to drop every live connection of `username`;
    /// returns how many there were.
    pub fn disconnect_user(&self, username: &str) -> usize {
        let conns: Vec<_> = self
            .live()
            .values()
            .filter(|c| c.username == username)
            .cloned()
            .collect();
        for conn in &conns {
            conn.disconnect.disconnect();
        }
        conns.len()
    }
}

#[async_trait]
impl Connections for ConnectionRegistry {
    async fn list_connections(&self) -> Result<Vec<ConnectionStatus>> {
        let mut list: Vec<ConnectionStatus> = self.live().values().map(|c| c.status()).collect();
        list.sort_by(|a, b| (a.connected_at, &a.id).cmp(&(b.connected_at, &b.id)));
        Ok(list)
    }

    async fn close_connection(&self, admin: &AdminContext, id: &str) -> Result<()> {
        let conn = self.live().get(id).cloned();
        let Some(conn) = conn else {
            return Err(Error::not_found(format!("connection {id:?} not found")));
        };
        tracing::info!(admin = %admin.username, connection = id, user = %conn.username,
            remote = %conn.remote, "closing a connection");
        conn.disconnect.disconnect();
        Ok(())
    }
}

/// What the registry knows of one connection.
pub struct LiveConnection {
    id: String,
    username: String,
    client_version: String,
    remote: SocketAddr,
    connected_at: i64,
    last_activity: AtomicI64,
    disconnect: DisconnectHook,
    transfers: Mutex<Vec<Arc<LiveTransfer>>>,
    clock: Arc<dyn Clock>,
}

impl LiveConnection {
    /// Records activity now: one clock read and one atomic store.
    pub fn touch(&self) {
        self.last_activity
            .store(self.clock.now_ms(), Ordering::Relaxed);
    }

    fn transfers(&self) -> MutexGuard<'_, Vec<Arc<LiveTransfer>>> {
        self.transfers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts showing a transfer; it shows until [`Self::end_transfer`].
    pub fn start_transfer(&self, kind: TransferKind, path: String) -> Arc<LiveTransfer> {
        let transfer = Arc::new(LiveTransfer {
            kind,
            path,
            started_at: self.clock.now_ms(),
            read: AtomicU64::new(0),
            written: AtomicU64::new(0),
        });
        self.transfers().push(transfer.clone());
        transfer
    }

    pub fn end_transfer(&self, transfer: &Arc<LiveTransfer>) {
        self.transfers().retain(|t| !Arc::ptr_eq(t, transfer));
    }

    fn status(&self) -> ConnectionStatus {
        let transfers = self.transfers().iter().map(|t| t.status()).collect();
        ConnectionStatus {
            id: self.id.clone(),
            username: self.username.clone(),
            protocol: "SFTP".to_owned(),
            client_version: self.client_version.clone(),
            remote: self.remote,
            connected_at: self.connected_at,
            last_activity: self.last_activity.load(Ordering::Relaxed),
            command: String::new(),
            transfers,
        }
    }
}

/// One open file's transfer: what it moves is counted as it moves.
pub struct LiveTransfer {
    kind: TransferKind,
    path: String,
    started_at: i64,
    read: AtomicU64,
    written: AtomicU64,
}

impl LiveTransfer {
    pub fn add_read(&self, bytes: u64) {
        self.read.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_written(&self, bytes: u64) {
        self.written.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Bytes read and written so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.read.load(Ordering::Relaxed),
            self.written.load(Ordering::Relaxed),
        )
    }

    fn status(&self) -> TransferStatus {
        let (read, written) = self.counts();
        TransferStatus {
            kind: self.kind,
            path: self.path.clone(),
            started_at: self.started_at,
            bytes: match self.kind {
                TransferKind::Upload => written,
                TransferKind::Download => read,
            },
        }
    }
}

/// A connection's place in the registry; dropping it (or ending it) takes
/// the connection out, so a session that ends abnormally does not leak.
pub struct Registration {
    registry: Arc<ConnectionRegistry>,
    conn: Arc<LiveConnection>,
}

impl Registration {
    /// A connection known to no registry, for sessions built outside a
    /// login (tests).
    pub fn detached(username: &str, clock: Arc<dyn Clock>) -> Self {
        let client = ClientInfo {
            remote: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            client_version: String::new(),
            disconnect: DisconnectHook::none(),
        };
        let registry = Arc::new(ConnectionRegistry::new(clock));
        let registration = registry.register(username, &client);
        registration.end();
        registration
    }

    pub fn connection(&self) -> &Arc<LiveConnection> {
        &self.conn
    }

    /// Takes the connection out of the registry; later calls do nothing
    /// (ids are never reused).
    pub fn end(&self) {
        self.registry.live().remove(&self.conn.id);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_domain::{AdminPermission, ErrorKind, Username};
    use std::sync::atomic::AtomicBool;

    struct Flag(AtomicBool);

    impl ferry_ports::Disconnect for Flag {
        fn disconnect(&self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    struct FixedClock;

    impl Clock for FixedClock {
        fn now_ms(&self) -> i64 {
            1_000
        }
    }

    fn admin() -> AdminContext {
        AdminContext {
            username: Username::parse("admin").unwrap(),
            permissions: vec![AdminPermission::All],
            token_id: String::new(),
            token_expires_at: 0,
        }
    }

    fn client(flag: &Arc<Flag>) -> ClientInfo {
        ClientInfo {
            remote: "127.0.0.1:4000".parse().unwrap(),
            client_version: "SSH-2.0-test".into(),
            disconnect: DisconnectHook(flag.clone()),
        }
    }

    #[tokio::test]
    async fn connections_show_while_registered_with_their_transfers() {
        let registry = Arc::new(ConnectionRegistry::new(Arc::new(FixedClock)));
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let registration = registry.register("alice", &client(&flag));
        let transfer = registration
            .connection()
            .start_transfer(TransferKind::Upload, "/f".into());
        transfer.add_written(42);
        let list = registry.list_connections().await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].username, "alice");
        assert_eq!(list[0].client_version, "SSH-2.0-test");
        assert_eq!(list[0].transfers[0].bytes, 42);
        assert_eq!(list[0].transfers[0].kind, TransferKind::Upload);
        registration.connection().end_transfer(&transfer);
        let list = registry.list_connections().await.unwrap();
        assert!(list[0].transfers.is_empty());
        drop(registration);
        assert!(registry.list_connections().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn closing_asks_the_front_end_and_unknown_ids_are_not_found() {
        let registry = Arc::new(ConnectionRegistry::new(Arc::new(FixedClock)));
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let registration = registry.register("bob", &client(&flag));
        let id = registry.list_connections().await.unwrap()[0].id.clone();
        registry.close_connection(&admin(), &id).await.unwrap();
        assert!(flag.0.load(Ordering::SeqCst));
        let missing = registry.close_connection(&admin(), "SFTP_nope").await;
        assert_eq!(missing.err().map(|e| e.kind()), Some(ErrorKind::NotFound));
        registration.end();
        let gone = registry.close_connection(&admin(), &id).await;
        assert_eq!(gone.err().map(|e| e.kind()), Some(ErrorKind::NotFound));
    }
}
