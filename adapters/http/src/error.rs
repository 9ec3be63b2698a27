//! Error replies: SFTPGo's `ApiResponse` body (`{"message", "error"}`) and the
//! one place where a core [`ErrorKind`] becomes an HTTP status.

use ferry_domain::{Error, ErrorKind};
use serde::Serialize;
use warp::Reply;
use warp::http::header::{HeaderName, HeaderValue, WWW_AUTHENTICATE};
use warp::http::{Response, StatusCode};
use warp::reply::Response as WarpResponse;

/// The message a client sees for any internal failure; the detail is logged.
const INTERNAL_MESSAGE: &str = "internal server error";

/// The challenge sent with a 401 from the token endpoint.
pub(crate) const BASIC_CHALLENGE: &str = "Basic realm=\"Ferry\"";

/// The challenge sent with a 401 from a bearer-protected route.
pub(crate) const BEARER_CHALLENGE: &str = "Bearer realm=\"Ferry\"";

/// SFTPGo's `ApiResponse`. On errors `error` carries the status's reason
/// phrase ("Not Found", "Bad Request", ...) and `message` says what was wrong;
/// on success `error` is left out.
#[derive(Debug, Serialize)]
pub(crate) struct ApiResponse<'a> {
    pub message: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub error: &'a str,
}

/// The HTTP status for each kind of core failure. The only such mapping.
pub(crate) fn status_for(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::NotAuthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::QuotaExceeded => StatusCode::PAYLOAD_TOO_LARGE,
        // SFTPGo answers 400 for what a back end cannot do.
        ErrorKind::Unsupported => StatusCode::BAD_REQUEST,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A failed request, ready to become an `ApiResponse` reply.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    header: Option<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            header: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// A 401 that asks for credentials with `challenge`.
    pub fn unauthorized(message: impl Into<String>, challenge: &'static str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message).with_challenge(challenge)
    }

    /// Adds `WWW-Authenticate: challenge` when this is a 401.
    pub fn with_challenge(self, challenge: &'static str) -> Self {
        if self.status != StatusCode::UNAUTHORIZED {
            return self;
        }
        self.with_header(WWW_AUTHENTICATE, HeaderValue::from_static(challenge))
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.header = Some((name, value));
        self
    }

    /// A 500 whose `detail` goes to the log only.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::from(Error::internal(detail))
    }

    #[cfg(test)]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn into_response(self) -> WarpResponse {
        let error = self.status.canonical_reason().unwrap_or("Error");
        let body = ApiResponse {
            message: &self.message,
            error,
        };
        let mut response = json_response(self.status, &body);
        if let Some((name, value)) = self.header {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let status = status_for(error.kind());
        if status.is_server_error() {
            tracing::warn!(kind = ?error.kind(), detail = error.detail().unwrap_or(""),
                "request failed: {}", error.message());
        }
        let message = match error.kind() {
            ErrorKind::Internal => INTERNAL_MESSAGE.to_owned(),
            _ => error.message().to_owned(),
        };
        Self::new(status, message)
    }
}

/// A JSON reply with `status`.
pub(crate) fn json_response<T: Serialize>(status: StatusCode, body: &T) -> WarpResponse {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = Response::new(bytes.into());
            *response.status_mut() = status;
            response.headers_mut().insert(
                warp::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(e) => {
            tracing::warn!("cannot serialize a response body: {e}");
            warp::reply::with_status(INTERNAL_MESSAGE, StatusCode::INTERNAL_SERVER_ERROR)
                .into_response()
        }
    }
}

/// A success `ApiResponse` carrying only `message`.
pub(crate) fn message_response(status: StatusCode, message: &str) -> WarpResponse {
    json_response(status, &ApiResponse { message, error: "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_status() {
        let expected = [
            (ErrorKind::NotFound, 404),
            (ErrorKind::PermissionDenied, 403),
            (ErrorKind::NotAuthenticated, 401),
            (ErrorKind::InvalidInput, 400),
            (ErrorKind::Conflict, 409),
            (ErrorKind::QuotaExceeded, 413),
            (ErrorKind::Unsupported, 400),
            (ErrorKind::Unavailable, 503),
            (ErrorKind::Internal, 500),
        ];
        for (kind, code) in expected {
            assert_eq!(status_for(kind).as_u16(), code, "{kind:?}");
        }
    }

    #[test]
    fn internal_detail_never_reaches_the_client() {
        let err = ApiError::from(Error::internal("db password is hunter2"));
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(err.message, INTERNAL_MESSAGE);
    }

    #[test]
    fn challenge_only_on_401() {
        let err = ApiError::forbidden("no").with_challenge(BASIC_CHALLENGE);
        assert!(err.header.is_none());
        let err = ApiError::unauthorized("who?", BASIC_CHALLENGE);
        assert_eq!(err.header.map(|(n, _)| n), Some(WWW_AUTHENTICATE));
    }
}
