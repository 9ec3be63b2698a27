//! SFTP users (SFTPGo's `users` tag): list, add, get, update, delete.

use crate::AppState;
use crate::call::Call;
use crate::error::{ApiError, json_response, message_response};
use crate::paging::page_from_query;
use crate::wire::user::{UserIn, UserOut};
use ferry_domain::{ErrorKind, UserStatus, Username};
use ferry_ports::AdminContext;
use std::sync::Arc;
use warp::http::StatusCode;
use warp::http::header::{HeaderValue, LOCATION};
use warp::reply::Response;

/// `GET /api/v2/users?offset=&limit=&order=`.
pub(crate) async fn list(state: Arc<AppState>, call: Call) -> Result<Response, ApiError> {
    let page = page_from_query(&call)?;
    let users = state.services.users.list_users(page).await?;
    let body: Vec<UserOut<'_>> = users.iter().map(UserOut::from_domain).collect();
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /api/v2/users`: 201 with the stored user and its `Location`.
pub(crate) async fn create(state: Arc<AppState>, mut call: Call) -> Result<Response, ApiError> {
    let input = call.json::<UserIn>().await?.try_into_domain()?;
    let user = state
        .services
        .users
        .create_user(call.admin()?, input)
        .await?;
    let location = format!("/api/v2/users/{}", user.username);
    let location = HeaderValue::from_str(&location).map_err(ApiError::internal)?;
    let mut response = json_response(StatusCode::CREATED, &UserOut::from_domain(&user));
    response.headers_mut().insert(LOCATION, location);
    Ok(response)
}

/// `GET /api/v2/users/{username}`.
pub(crate) async fn get(state: Arc<AppState>, call: Call) -> Result<Response, ApiError> {
    let username = path_username(&call)?;
    let user = state.services.users.get_user(&username).await?;
    Ok(json_response(StatusCode::OK, &UserOut::from_domain(&user)))
}

/// `PUT /api/v2/users/{username}`: replaces the user; an omitted password
/// keeps the current one. With `disconnect=1` the user's live connections
/// are then closed, so the change applies to them at once; disabling the
/// user closes them too, as a disabled account must not go on working.
pub(crate) async fn update(state: Arc<AppState>, mut call: Call) -> Result<Response, ApiError> {
    let username = path_username(&call)?;
    let disconnect = match call.query("disconnect") {
        None | Some("0") => false,
        Some("1") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "disconnect must be 0 or 1, not {other:?}"
            )));
        }
    };
    let input = call.json::<UserIn>().await?.try_into_update(&username)?;
    let disabled = input.user.status == UserStatus::Disabled;
    let admin = call.admin()?;
    state
        .services
        .users
        .update_user(admin, &username, input)
        .await?;
    if disconnect || disabled {
        close_connections_of(&state, admin, &username).await?;
    }
    Ok(message_response(StatusCode::OK, "User updated"))
}

/// Closes every live connection of `username`; one that ends meanwhile is
/// not an error.
async fn close_connections_of(
    state: &AppState,
    admin: &AdminContext,
    username: &Username,
) -> Result<(), ApiError> {
    let connections = &state.services.connections;
    for live in connections.list_connections().await? {
        if live.username != username.as_str() {
            continue;
        }
        match connections.close_connection(admin, &live.id).await {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    Ok(())
}

/// `DELETE /api/v2/users/{username}`: the user's files stay where they
/// are; the user's live connections are closed.
pub(crate) async fn delete(state: Arc<AppState>, call: Call) -> Result<Response, ApiError> {
    let username = path_username(&call)?;
    let admin = call.admin()?;
    state.services.users.delete_user(admin, &username).await?;
    close_connections_of(&state, admin, &username).await?;
    Ok(message_response(StatusCode::OK, "User deleted"))
}

/// The `{username}` of the path. A name that cannot be valid names no user,
/// so it is a 404 as for any unknown user.
pub(crate) fn path_username(call: &Call) -> Result<Username, ApiError> {
    let raw = call.param("username")?;
    Username::parse(raw).map_err(|_| ApiError::not_found(format!("user {raw:?} does not exist")))
}
