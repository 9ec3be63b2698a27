//! Health check, admin tokens, version and services status (SFTPGo's
//! `healthcheck`, `token` and `maintenance` tags).

use crate::AppState;
use crate::auth::basic_credentials;
use crate::call::Call;
use crate::error::{ApiError, BASIC_CHALLENGE, json_response, message_response};
use crate::time::rfc3339_utc;
use crate::wire::status::{DataProviderStatus, ServicesStatus};
use serde::Serialize;
use std::sync::Arc;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

/// `GET /healthz`: plain `ok` while the process serves requests.
pub(crate) async fn healthz(_state: Arc<AppState>, _call: Call) -> Result<Response, ApiError> {
    Ok(warp::reply::with_status("ok", StatusCode::OK).into_response())
}

/// SFTPGo's `Token`.
#[derive(Serialize)]
struct TokenOut {
    access_token: String,
    /// RFC 3339, UTC.
    expires_at: String,
}

/// `GET /api/v2/token`: trades HTTP Basic admin credentials for a token.
pub(crate) async fn token(state: Arc<AppState>, call: Call) -> Result<Response, ApiError> {
    let credentials = basic_credentials(&call.headers).ok_or_else(|| {
        ApiError::unauthorized("HTTP Basic admin credentials are required", BASIC_CHALLENGE)
    })?;
    let issued = state
        .services
        .sessions
        .issue_token(&credentials.username, &credentials.password, call.peer()?)
        .await
        .map_err(|e| ApiError::from(e).with_challenge(BASIC_CHALLENGE))?;
    let body = TokenOut {
        access_token: issued.access_token,
        expires_at: rfc3339_utc(issued.expires_at),
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /api/v2/logout`: revokes the bearer token of the request.
pub(crate) async fn logout(state: Arc<AppState>, call: Call) -> Result<Response, ApiError> {
    state.services.sessions.revoke(call.admin()?).await?;
    Ok(message_response(
        StatusCode::OK,
        "Your token has been revoked",
    ))
}

/// SFTPGo's `VersionInfo`.
#[derive(Serialize)]
struct VersionOut<'a> {
    version: &'a str,
    build_date: &'a str,
    commit_hash: &'a str,
    features: &'a [String],
}

/// `GET /api/v2/version`.
pub(crate) async fn version(state: Arc<AppState>, _call: Call) -> Result<Response, ApiError> {
    let settings = &state.settings;
    let body = VersionOut {
        version: &settings.version,
        build_date: &settings.build_date,
        commit_hash: &settings.commit_hash,
        features: &settings.features,
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /api/v2/status`: the SSH facts from start-up and a live check of the
/// data provider. A database that does not answer is reported, not failed.
pub(crate) async fn status(state: Arc<AppState>, _call: Call) -> Result<Response, ApiError> {
    let health = &state.services.health;
    let failure = health.ping().await.err();
    if let Some(e) = &failure {
        tracing::warn!(error = %e, "the data provider does not answer");
    }
    let data_provider = DataProviderStatus {
        is_active: failure.is_none(),
        driver: health.driver(),
        error: failure.as_ref().map_or("", |e| e.message()),
    };
    let body = ServicesStatus::new(&state.settings.ssh, data_provider);
    Ok(json_response(StatusCode::OK, &body))
}
