//! The API's own documentation, public as SFTPGo's: the OpenAPI document and
//! Swagger UI rendering it. Swagger UI's files are compiled into the binary,
//! so nothing is fetched at run time.

use crate::AppState;
use crate::call::Call;
use crate::error::ApiError;
use bytes::Bytes;
use std::sync::{Arc, OnceLock};
use utoipa_swagger_ui::Config;
use warp::http::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderValue};
use warp::http::{Response as HttpResponse, StatusCode};
use warp::reply::Response;

/// The OpenAPI 3 document describing every route of [`crate::route_table`];
/// a test keeps the two in step.
pub(crate) const OPENAPI_DOCUMENT: &str = include_str!("../../openapi/openapi.json");

/// Where the document is served.
const OPENAPI_PATH: &str = "/api/v2/openapi.json";

/// Swagger UI's page links its files relatively; served at `/openapi`
/// (no trailing slash) they must resolve under `/openapi/`.
// LIMITATION: the base is absolute, so behind a proxy that serves the API
// under a path prefix the page loads but its files are looked up outside it.
const UI_BASE: &str = "<base href=\"/openapi/\">";

/// `GET /api/v2/openapi.json`.
pub(crate) async fn openapi_json(_state: Arc<AppState>, _call: Call) -> Result<Response, ApiError> {
    Ok(bytes_response(
        Bytes::from_static(OPENAPI_DOCUMENT.as_bytes()),
        "application/json",
        false,
    ))
}

/// `GET /openapi` (or `/openapi/`): Swagger UI's page.
pub(crate) async fn ui_page(_state: Arc<AppState>, _call: Call) -> Result<Response, ApiError> {
    let file = ui_file("index.html")?;
    let page =
        String::from_utf8_lossy(&file.bytes).replacen("<head>", &format!("<head>{UI_BASE}"), 1);
    Ok(bytes_response(
        Bytes::from(page),
        &file.content_type,
        file.gzpipped,
    ))
}

/// `GET /openapi/{file}`: one of Swagger UI's files.
pub(crate) async fn ui_asset(_state: Arc<AppState>, call: Call) -> Result<Response, ApiError> {
    let file = ui_file(call.param("file")?)?;
    let bytes = Bytes::from(file.bytes.into_owned());
    Ok(bytes_response(bytes, &file.content_type, file.gzpipped))
}

/// Swagger UI's file `name`, its initializer pointed at this API's document.
fn ui_file(name: &str) -> Result<utoipa_swagger_ui::SwaggerFile<'static>, ApiError> {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| Arc::new(Config::new([OPENAPI_PATH])));
    match utoipa_swagger_ui::serve(name, config.clone()) {
        Ok(Some(file)) => Ok(file),
        Ok(None) => Err(ApiError::not_found(format!("no such file: {name}"))),
        Err(e) => Err(ApiError::internal(format!("swagger ui file {name}: {e}"))),
    }
}

fn bytes_response(body: Bytes, content_type: &str, gzipped: bool) -> Response {
    let mut response = HttpResponse::new(body.into());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert(CONTENT_TYPE, value);
    }
    if gzipped {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}
