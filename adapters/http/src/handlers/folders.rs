//! Virtual folders (SFTPGo's `folders` tag): list, add, get, update, delete.

use crate::AppState;
use crate::call::Call;
use crate::error::{ApiError, json_response, message_response};
use crate::paging::page_from_query;
use crate::wire::folder::{FolderIn, FolderOut};
use ferry_domain::FolderName;
use std::sync::Arc;
use warp::http::StatusCode;
use warp::http::header::{HeaderValue, LOCATION};
use warp::reply::Response;

/// `GET /api/v2/folders?offset=&limit=&order=`.
pub(crate) async fn list(state: Arc<AppState>, call: Call) -> Result<Response, ApiError> {
    let page = page_from_query(&call)?;
    let folders = state.services.folders.list_folders(page).await?;
    let body: Vec<FolderOut<'_>> = folders.iter().map(FolderOut::from_domain).collect();
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /api/v2/folders`: 201 with the stored folder and its `Location`.
pub(crate) async fn create(state: Arc<AppState>, mut call: Call) -> Result<Response, ApiError> {
    let folder = call.json::<FolderIn>().await?.try_into_domain()?;
    let folder = state
        .services
        .folders
        .create_folder(call.admin()?, folder)
        .await?;
    let location = format!("/api/v2/folders/{}", folder.name);
    let location = HeaderValue::from_str(&location).map_err(ApiError::internal)?;
    let mut response = json_response(StatusCode::CREATED, &FolderOut::from_domain(&folder));
    response.headers_mut().insert(LOCATION, location);
    Ok(response)
}

/// `GET /api/v2/folders/{name}`.
pub(crate) async fn get(state: Arc<AppState>, call: Call) -> Result<Response, ApiError> {
    let name = path_name(&call)?;
    let folder = state.services.folders.get_folder(&name).await?;
    Ok(json_response(
        StatusCode::OK,
        &FolderOut::from_domain(&folder),
    ))
}

/// `PUT /api/v2/folders/{name}`: replaces the folder's settings.
pub(crate) async fn update(state: Arc<AppState>, mut call: Call) -> Result<Response, ApiError> {
    let name = path_name(&call)?;
    let folder = call.json::<FolderIn>().await?.try_into_update(&name)?;
    state
        .services
        .folders
        .update_folder(call.admin()?, &name, folder)
        .await?;
    Ok(message_response(StatusCode::OK, "Folder updated"))
}

/// `DELETE /api/v2/folders/{name}`: unmounts it from every user; its files
/// stay where they are.
pub(crate) async fn delete(state: Arc<AppState>, call: Call) -> Result<Response, ApiError> {
    let name = path_name(&call)?;
    state
        .services
        .folders
        .delete_folder(call.admin()?, &name)
        .await?;
    Ok(message_response(StatusCode::OK, "Folder deleted"))
}

/// The `{name}` of the path. A name that cannot be valid names no folder,
/// so it is a 404 as for any unknown folder.
pub(crate) fn path_name(call: &Call) -> Result<FolderName, ApiError> {
    let raw = call.param("name")?;
    FolderName::parse(raw)
        .map_err(|_| ApiError::not_found(format!("folder {raw:?} does not exist")))
}
