//! SFTP users (SFTPGo's `users` tag): list, add, get, update, delete.

use crate::AppState;
use crate::call::Call;
use crate::error::{ApiError, json_response, message_response};
use crate::paging::page_from_query;
use crate::wire::user::{UserIn, UserOut};
use ferry_domain::Username;
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
/// keeps the current one.
// LIMITATION: SFTPGo's `disconnect=1` query parameter (kick the user's live
// sessions after the update) is accepted and ignored.
pub(crate) async fn update(state: Arc<AppState>, mut call: Call) -> Result<Response, ApiError> {
    let username = path_username(&call)?;
    let input = call.json::<UserIn>().await?.try_into_update(&username)?;
    state
        .services
        .users
        .update_user(call.admin()?, &username, input)
        .await?;
    Ok(message_response(StatusCode::OK, "User updated"))
}

/// `DELETE /api/v2/users/{username}`: the user's files stay where they are.
pub(crate) async fn delete(state: Arc<AppState>, call: Call) -> Result<Response, ApiError> {
    let username = path_username(&call)?;
    state
        .services
        .users
        .delete_user(call.admin()?, &username)
        .await?;
    Ok(message_response(StatusCode::OK, "User deleted"))
}

/// The `{username}` of the path. A name that cannot be valid names no user,
/// so it is a 404 as for any unknown user.
fn path_username(call: &Call) -> Result<Username, ApiError> {
    let raw = call.param("username")?;
    Username::parse(raw).map_err(|_| ApiError::not_found(format!("user {raw:?} does not exist")))
}
