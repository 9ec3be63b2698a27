//! SFTPGo's `ConnectionStatus` and `Transfer` objects (OpenAPI schemas of
//! the same names), as the API answers them.

use ferry_ports::{ConnectionStatus, TransferKind, TransferStatus};
use serde::Serialize;

/// One live connection.
#[derive(Debug, Serialize)]
pub(crate) struct ConnectionOut<'a> {
    connection_id: &'a str,
    username: &'a str,
    client_version: &'a str,
    remote_address: String,
    connection_time: i64,
    command: &'a str,
    last_activity: i64,
    protocol: &'a str,
    active_transfers: Vec<TransferOut<'a>>,
}

/// One file open for transfer on a connection.
#[derive(Debug, Serialize)]
pub(crate) struct TransferOut<'a> {
    operation_type: &'static str,
    path: &'a str,
    start_time: i64,
    size: u64,
}

impl<'a> ConnectionOut<'a> {
    pub fn from_domain(status: &'a ConnectionStatus) -> Self {
        Self {
            connection_id: &status.id,
            username: &status.username,
            client_version: &status.client_version,
            remote_address: status.remote.to_string(),
            connection_time: status.connected_at,
            command: &status.command,
            last_activity: status.last_activity,
            protocol: &status.protocol,
            active_transfers: status
                .transfers
                .iter()
                .map(TransferOut::from_domain)
                .collect(),
        }
    }
}

impl<'a> TransferOut<'a> {
    fn from_domain(transfer: &'a TransferStatus) -> Self {
        Self {
            operation_type: match transfer.kind {
                TransferKind::Upload => "upload",
                TransferKind::Download => "download",
            },
            path: &transfer.path,
            start_time: transfer.started_at,
            size: transfer.bytes,
        }
    }
}
