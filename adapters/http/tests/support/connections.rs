//! One fixed live connection, for the shape of the connections endpoints.

use async_trait::async_trait;
use ferry_domain::{Error, Result};
use ferry_ports::{AdminContext, ConnectionStatus, Connections, TransferKind, TransferStatus};
use std::sync::Mutex;

/// The id of the one connection [`FakeConnections`] shows.
pub const LIVE_CONNECTION: &str = "SFTP_test_1";

/// Shows one connection until it is closed.
pub struct FakeConnections {
    open: Mutex<bool>,
}

impl Default for FakeConnections {
    fn default() -> Self {
        Self {
            open: Mutex::new(true),
        }
    }
}

fn status() -> ConnectionStatus {
    ConnectionStatus {
        id: LIVE_CONNECTION.into(),
        username: "alice".into(),
        protocol: "SFTP".into(),
        client_version: "SSH-2.0-OpenSSH_9.6".into(),
        remote: "127.0.0.1:50000".parse().expect("a valid address"),
        connected_at: 1_700_000_000_000,
        last_activity: 1_700_000_001_000,
        command: String::new(),
        transfers: vec![TransferStatus {
            kind: TransferKind::Upload,
            path: "/big.bin".into(),
            started_at: 1_700_000_000_500,
            bytes: 4096,
        }],
    }
}

#[async_trait]
impl Connections for FakeConnections {
    async fn list_connections(&self) -> Result<Vec<ConnectionStatus>> {
        let open = *self.open.lock().expect("not poisoned");
        Ok(if open { vec![status()] } else { vec![] })
    }

    async fn close_connection(&self, _admin: &AdminContext, id: &str) -> Result<()> {
        let mut open = self.open.lock().expect("not poisoned");
        if id != LIVE_CONNECTION || !*open {
            return Err(Error::not_found("connection not found"));
        }
        *open = false;
        Ok(())
    }
}
