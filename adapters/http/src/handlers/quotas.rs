//! Disk quotas (SFTPGo's `quota` tag): user and folder scans and usage
//! changes.

use crate::AppState;
use crate::call::Call;
use crate::error::{ApiError, json_response, message_response};
use crate::handlers::folders::path_name;
use crate::handlers::users::path_username;
use crate::wire::quota::{FolderScanOut, UsageIn, UserScanOut};
use ferry_domain::{QuotaUsage, UsageMode};
use std::sync::Arc;
use warp::http::StatusCode;
use warp::reply::Response;

/// `GET /api/v2/quotas/users/scans`: the user scans running here.
pub(crate) async fn user_scans(state: Arc<AppState>, _call: Call) -> Result<Response, ApiError> {
    let scans = state.services.quotas.user_scans().await?;
    let body: Vec<UserScanOut<'_>> = scans.iter().map(UserScanOut::from_domain).collect();
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /api/v2/quotas/users/{username}/scan`: 202 once the scan runs;
/// 409 while one of the same user runs.
pub(crate) async fn start_user_scan(
    state: Arc<AppState>,
    call: Call,
) -> Result<Response, ApiError> {
    let username = path_username(&call)?;
    state.services.quotas.start_user_scan(&username).await?;
    Ok(message_response(StatusCode::ACCEPTED, "Scan started"))
}

/// `PUT /api/v2/quotas/users/{username}/usage?mode=reset|add`.
pub(crate) async fn update_user_usage(
    state: Arc<AppState>,
    mut call: Call,
) -> Result<Response, ApiError> {
    let username = path_username(&call)?;
    let (mode, usage) = usage_change(&mut call).await?;
    state
        .services
        .quotas
        .update_user_usage(&username, mode, usage)
        .await?;
    Ok(message_response(StatusCode::OK, "Quota updated"))
}

/// `GET /api/v2/quotas/folders/scans`: the folder scans running here.
pub(crate) async fn folder_scans(state: Arc<AppState>, _call: Call) -> Result<Response, ApiError> {
    let scans = state.services.quotas.folder_scans().await?;
    let body: Vec<FolderScanOut<'_>> = scans.iter().map(FolderScanOut::from_domain).collect();
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /api/v2/quotas/folders/{name}/scan`: 202 once the scan runs; 409
/// while one of the same folder runs.
pub(crate) async fn start_folder_scan(
    state: Arc<AppState>,
    call: Call,
) -> Result<Response, ApiError> {
    let name = path_name(&call)?;
    state.services.quotas.start_folder_scan(&name).await?;
    Ok(message_response(StatusCode::ACCEPTED, "Scan started"))
}

/// `PUT /api/v2/quotas/folders/{name}/usage?mode=reset|add`.
pub(crate) async fn update_folder_usage(
    state: Arc<AppState>,
    mut call: Call,
) -> Result<Response, ApiError> {
    let name = path_name(&call)?;
    let (mode, usage) = usage_change(&mut call).await?;
    state
        .services
        .quotas
        .update_folder_usage(&name, mode, usage)
        .await?;
    Ok(message_response(StatusCode::OK, "Quota updated"))
}

/// The `mode` query parameter (default `reset`) and the `QuotaUsage` body.
async fn usage_change(call: &mut Call) -> Result<(UsageMode, QuotaUsage), ApiError> {
    let mode = UsageMode::parse(call.query("mode").unwrap_or("reset"))?;
    let usage = call.json::<UsageIn>().await?.into_domain();
    Ok((mode, usage))
}
