//! Backup and restore (SFTPGo's `maintenance` tag): `GET /dumpdata`,
//! `GET /loaddata` (from a file in the backups directory) and
//! `POST /loaddata` (from the request body).

use crate::AppState;
use crate::call::Call;
use crate::error::{ApiError, message_response};
use crate::wire::backup;
use ferry_ports::{
    AdminContext, BackupData, RestoreMode, RestoreOptions, RestoreReport, RestoreScan,
};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use warp::http::header::{CONTENT_TYPE, HeaderValue};
use warp::http::{Response as HttpResponse, StatusCode};
use warp::reply::Response;

/// The largest backup `loaddata` reads, from a file or a request body:
/// SFTPGo's limit, 10 MB.
pub const MAX_RESTORE_BYTES: u64 = 10 * 1024 * 1024;

/// The `scopes` of `dumpdata`: SFTPGo's names. Only folders, users and
/// admins hold objects in Ferry; the others select empty sections.
const SCOPES: [&str; 11] = [
    "users", "folders", "groups", "admins", "api_keys", "shares", "actions", "rules", "roles",
    "ip_lists", "configs",
];

/// `GET /api/v2/dumpdata?output-data=1|output-file=NAME&indent=0|1&scopes=`.
pub(crate) async fn dump(state: Arc<AppState>, call: Call) -> Result<Response, ApiError> {
    let indent = zero_or_one(&call, "indent")?;
    let scopes = parse_scopes(call.query("scopes"))?;
    let to_body = call.query("output-data") == Some("1");
    let target = match (to_body, call.query("output-file")) {
        (true, _) => None,
        (false, Some(name)) if !name.is_empty() => {
            Some(inside_backups_dir(&state.settings.backups_dir, name)?)
        }
        (false, _) => {
            return Err(ApiError::bad_request(
                "set output-file to save the backup on the server, or output-data=1 to \
                 receive it",
            ));
        }
    };
    let mut data = state.services.backups.dump().await?;
    limit_to_scopes(&mut data, &scopes);
    let bytes = backup::render(&data, indent)?;
    match target {
        None => Ok(json_bytes(bytes)),
        Some(path) => {
            write_backup(&path, bytes).await?;
            tracing::info!(admin = %call.admin()?.username, path = %path.display(),
                "backup saved");
            Ok(message_response(StatusCode::OK, "Data saved"))
        }
    }
}

/// `GET /api/v2/loaddata?input-file=NAME&mode=&scan-quota=`.
pub(crate) async fn load_file(state: Arc<AppState>, call: Call) -> Result<Response, ApiError> {
    let options = restore_options(&call)?;
    let name = call
        .query("input-file")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("input-file is required"))?;
    let path = inside_backups_dir(&state.settings.backups_dir, name)?;
    let bytes = read_backup(&state.settings.backups_dir, &path).await?;
    restore(&state, call.admin()?, &bytes, options).await
}

/// `POST /api/v2/loaddata?mode=&scan-quota=` with the backup as the body.
pub(crate) async fn load_body(state: Arc<AppState>, mut call: Call) -> Result<Response, ApiError> {
    let options = restore_options(&call)?;
    call.max_body_bytes = MAX_RESTORE_BYTES as usize;
    let bytes = call.bytes().await?;
    restore(&state, call.admin()?, &bytes, options).await
}

async fn restore(
    state: &AppState,
    admin: &AdminContext,
    bytes: &[u8],
    options: RestoreOptions,
) -> Result<Response, ApiError> {
    let data = backup::parse(bytes)?;
    let report = state
        .services
        .backups
        .restore(Some(admin), data, options)
        .await?;
    Ok(message_response(StatusCode::OK, &restore_message(&report)))
}

/// "Data restored", and which sections were skipped, if any.
pub fn restore_message(report: &RestoreReport) -> String {
    if report.skipped_sections.is_empty() {
        return "Data restored".to_owned();
    }
    format!(
        "Data restored; skipped what this server does not support: {}",
        report.skipped_sections.join(", ")
    )
}

fn restore_options(call: &Call) -> Result<RestoreOptions, ApiError> {
    let mode = small_int(call, "mode")?;
    let scan = small_int(call, "scan-quota")?;
    Ok(RestoreOptions {
        mode: RestoreMode::from_code(mode)?,
        quota_scan: RestoreScan::from_code(scan)?,
    })
}

/// An integer query parameter; absent is 0.
fn small_int(call: &Call, name: &str) -> Result<i64, ApiError> {
    match call.query(name) {
        None | Some("") => Ok(0),
        Some(raw) => raw
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid {name} {raw:?}: not an integer"))),
    }
}

fn zero_or_one(call: &Call, name: &str) -> Result<bool, ApiError> {
    match small_int(call, name)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(ApiError::bad_request(format!(
            "invalid {name} {other}: must be 0 or 1"
        ))),
    }
}

fn parse_scopes(raw: Option<&str>) -> Result<Vec<String>, ApiError> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .map(|scope| {
            if SCOPES.contains(&scope) {
                Ok(scope.to_owned())
            } else {
                Err(ApiError::bad_request(format!(
                    "invalid scope {scope:?}: must be one of {}",
                    SCOPES.join(", ")
                )))
            }
        })
        .collect()
}

/// Empties the sections `scopes` leaves out; no scopes means all.
fn limit_to_scopes(data: &mut BackupData, scopes: &[String]) {
    if scopes.is_empty() {
        return;
    }
    if !scopes.iter().any(|s| s == "folders") {
        data.folders.clear();
    }
    if !scopes.iter().any(|s| s == "users") {
        data.users.clear();
    }
    if !scopes.iter().any(|s| s == "admins") {
        data.admins.clear();
    }
}

/// `name` resolved against the backups directory, refused unless it stays
/// inside: relative without `..`, or absolute under the directory.
fn inside_backups_dir(dir: &Path, name: &str) -> Result<PathBuf, ApiError> {
    // No file name can hold a NUL: the system would refuse it later.
    if name.contains('\0') {
        return Err(ApiError::bad_request(
            "invalid backup path: it holds a NUL character",
        ));
    }
    let requested = Path::new(name);
    let relative = if requested.is_absolute() {
        requested.strip_prefix(dir).map_err(|_| outside(name))?
    } else {
        requested
    };
    let plain = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    // A trailing slash names a directory, never a backup file.
    if !plain || relative.as_os_str().is_empty() || name.ends_with('/') {
        return Err(outside(name));
    }
    Ok(dir.join(relative))
}

fn outside(name: &str) -> ApiError {
    ApiError::bad_request(format!(
        "invalid backup path {name:?}: it must name a file inside the backups directory"
    ))
}

/// Writes the backup readable by its owner only (it holds password
/// hashes), through a temporary file so that a reader never sees half of it.
async fn write_backup(path: &Path, bytes: Vec<u8>) -> Result<(), ApiError> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || write_private(&path, &bytes))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| {
            use std::io::ErrorKind::{InvalidFilename, IsADirectory, NotADirectory};
            if matches!(e.kind(), IsADirectory | NotADirectory | InvalidFilename) {
                // The name collides with a directory: the request is at fault.
                return ApiError::bad_request(format!(
                    "cannot write the backup file there: {}",
                    e.kind()
                ));
            }
            tracing::warn!(error = %e, "cannot write the backup file");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot write the backup file: {}", e.kind()),
            )
        })
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let temp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temp, path)
}

/// Reads a backup file of at most [`MAX_RESTORE_BYTES`], refusing one whose
/// real location (symlinks resolved) is outside the backups directory.
async fn read_backup(dir: &Path, path: &Path) -> Result<Vec<u8>, ApiError> {
    let missing = |_| ApiError::bad_request(format!("backup file {:?} not found", path));
    let real = tokio::fs::canonicalize(path).await.map_err(missing)?;
    let real_dir = tokio::fs::canonicalize(dir).await.map_err(missing)?;
    if !real.starts_with(&real_dir) {
        return Err(outside(&path.display().to_string()));
    }
    let meta = tokio::fs::metadata(&real).await.map_err(missing)?;
    if !meta.is_file() {
        return Err(ApiError::bad_request(format!(
            "backup path {path:?} is not a file"
        )));
    }
    if meta.len() > MAX_RESTORE_BYTES {
        return Err(ApiError::bad_request(format!(
            "backup file {path:?} is larger than {MAX_RESTORE_BYTES} bytes"
        )));
    }
    tokio::fs::read(&real)
        .await
        .map_err(|e| ApiError::bad_request(format!("cannot read backup file {path:?}: {e}")))
}

fn json_bytes(bytes: Vec<u8>) -> Response {
    let mut response = HttpResponse::new(bytes.into());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
