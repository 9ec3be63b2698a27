//! The connections endpoints: SFTPGo's `ConnectionStatus` shape, closing,
//! and 404 for an id that is not live.

mod support;

use serde_json::json;
use support::connections::LIVE_CONNECTION;
use support::*;
use warp::http::StatusCode;

#[tokio::test]
async fn connections_are_listed_in_sftpgo_shape() {
    let h = harness();
    let reply = h.call("GET", "/api/v2/connections", "all", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.json,
        json!([{
            "connection_id": LIVE_CONNECTION,
            "username": "alice",
            "client_version": "SSH-2.0-OpenSSH_9.6",
            "remote_address": "127.0.0.1:50000",
            "connection_time": 1_700_000_000_000_i64,
            "command": "",
            "last_activity": 1_700_000_001_000_i64,
            "protocol": "SFTP",
            "active_transfers": [{
                "operation_type": "upload",
                "path": "/big.bin",
                "start_time": 1_700_000_000_500_i64,
                "size": 4096,
            }],
        }])
    );
}

#[tokio::test]
async fn closing_a_connection_and_unknown_ids() {
    let h = harness();
    let path = format!("/api/v2/connections/{LIVE_CONNECTION}");
    let reply = h.call("DELETE", &path, "all", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["message"], json!("Connection closed"));
    let again = h.call("DELETE", &path, "all", None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let unknown = h
        .call("DELETE", "/api/v2/connections/SFTP_nope", "all", None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.json["error"].is_string());
    let list = h.call("GET", "/api/v2/connections", "all", None).await;
    assert_eq!(list.json, json!([]));
}
