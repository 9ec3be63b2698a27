//! Administrators (SFTPGo's `admins` tag): list, add, get, update and delete
//! admins, and each admin's own password and profile.

use crate::AppState;
use crate::call::Call;
use crate::error::{ApiError, json_response, message_response};
use crate::paging::page_from_query;
use crate::wire::admin::{AdminIn, AdminOut, ProfileWire, PwdChangeIn};
use ferry_domain::Username;
use std::sync::Arc;
use warp::http::StatusCode;
use warp::http::header::{HeaderValue, LOCATION};
use warp::reply::Response;

/// `GET /api/v2/admins?offset=&limit=&order=`.
pub(crate) async fn list(state: Arc<AppState>, call: Call) -> Result<Response, ApiError> {
    let page = page_from_query(&call)?;
    let admins = state.services.admins.list_admins(page).await?;
    let body: Vec<AdminOut<'_>> = admins.iter().map(AdminOut::from_domain).collect();
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /api/v2/admins`: 201 with the stored admin and its `Location`.
pub(crate) async fn create(state: Arc<AppState>, mut call: Call) -> Result<Response, ApiError> {
    let input = call.json::<AdminIn>().await?.try_into_domain()?;
    let admin = state
        .services
        .admins
        .create_admin(call.admin()?, input)
        .await?;
    let location = format!("/api/v2/admins/{}", admin.username);
    let location = HeaderValue::from_str(&location).map_err(ApiError::internal)?;
    let mut response = json_response(StatusCode::CREATED, &AdminOut::from_domain(&admin));
    response.headers_mut().insert(LOCATION, location);
    Ok(response)
}

/// `GET /api/v2/admins/{username}`.
pub(crate) async fn get(state: Arc<AppState>, call: Call) -> Result<Response, ApiError> {
    let username = path_username(&call)?;
    let admin = state.services.admins.get_admin(&username).await?;
    Ok(json_response(
        StatusCode::OK,
        &AdminOut::from_domain(&admin),
    ))
}

/// `PUT /api/v2/admins/{username}`: replaces the admin; an omitted password
/// keeps the current one.
pub(crate) async fn update(state: Arc<AppState>, mut call: Call) -> Result<Response, ApiError> {
    let username = path_username(&call)?;
    let input = call.json::<AdminIn>().await?.try_into_update(&username)?;
    state
        .services
        .admins
        .update_admin(call.admin()?, &username, input)
        .await?;
    Ok(message_response(StatusCode::OK, "Admin updated"))
}

/// `DELETE /api/v2/admins/{username}`.
pub(crate) async fn delete(state: Arc<AppState>, call: Call) -> Result<Response, ApiError> {
    let username = path_username(&call)?;
    state
        .services
        .admins
        .delete_admin(call.admin()?, &username)
        .await?;
    Ok(message_response(StatusCode::OK, "Admin deleted"))
}

/// `PUT /api/v2/admin/changepwd`: changes the caller's own password, then
/// revokes the token it used, as SFTPGo does.
pub(crate) async fn change_password(
    state: Arc<AppState>,
    mut call: Call,
) -> Result<Response, ApiError> {
    let body = call.json::<PwdChangeIn>().await?;
    let admin = call.admin()?;
    state
        .services
        .admins
        .change_password(admin, &body.current_password, &body.new_password)
        .await?;
    if let Err(e) = state.services.sessions.revoke(admin).await {
        tracing::warn!(admin = %admin.username, error = %e,
            "cannot revoke the token after a password change");
    }
    Ok(message_response(StatusCode::OK, "Password updated"))
}

/// `GET /api/v2/admin/profile`: the caller's email, description and
/// `allow_api_key_auth`.
pub(crate) async fn get_profile(state: Arc<AppState>, call: Call) -> Result<Response, ApiError> {
    let profile = state.services.admins.get_profile(call.admin()?).await?;
    Ok(json_response(
        StatusCode::OK,
        &ProfileWire::from_domain(profile),
    ))
}

/// `PUT /api/v2/admin/profile`: replaces those three fields of the caller.
pub(crate) async fn update_profile(
    state: Arc<AppState>,
    mut call: Call,
) -> Result<Response, ApiError> {
    let profile = call.json::<ProfileWire>().await?.into_domain();
    state
        .services
        .admins
        .update_profile(call.admin()?, profile)
        .await?;
    Ok(message_response(StatusCode::OK, "Profile updated"))
}

/// The `{username}` of the path. A name that cannot be valid names no admin,
/// so it is a 404 as for any unknown admin.
fn path_username(call: &Call) -> Result<Username, ApiError> {
    let raw = call.param("username")?;
    Username::parse(raw).map_err(|_| ApiError::not_found(format!("admin {raw:?} does not exist")))
}
