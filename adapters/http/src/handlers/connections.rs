//! Live connections (SFTPGo's `connections` tag): list and close.

use crate::AppState;
use crate::call::Call;
use crate::error::{ApiError, json_response, message_response};
use crate::wire::connection::ConnectionOut;
use std::sync::Arc;
use warp::http::StatusCode;
use warp::reply::Response;

/// `GET /api/v2/connections`: every live connection of this server.
// LIMITATION: only this replica's connections are listed; SFTPGo lists
// every node's when it runs as a cluster.
pub(crate) async fn list(state: Arc<AppState>, _call: Call) -> Result<Response, ApiError> {
    let connections = state.services.connections.list_connections().await?;
    let body: Vec<ConnectionOut<'_>> = connections.iter().map(ConnectionOut::from_domain).collect();
    Ok(json_response(StatusCode::OK, &body))
}

/// `DELETE /api/v2/connections/{connectionID}`: drops the connection; 404
/// for an id that is not live.
pub(crate) async fn close(state: Arc<AppState>, call: Call) -> Result<Response, ApiError> {
    let id = call.param("connectionID")?;
    state
        .services
        .connections
        .close_connection(call.admin()?, id)
        .await?;
    Ok(message_response(StatusCode::OK, "Connection closed"))
}
