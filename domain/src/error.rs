//! The one vocabulary of failures. Every layer reports a [`Kind`](ErrorKind)
//! plus a message safe to show to a client; each inbound adapter maps kinds to
//! its protocol in exactly one place.

use std::fmt;

/// What went wrong, in terms a client can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The object does not exist. SFTP `NO_SUCH_FILE`, HTTP 404.
    NotFound,
    /// Refused by permissions, patterns or the jail. SFTP `PERMISSION_DENIED`, HTTP 403.
    PermissionDenied,
    /// Missing or wrong credentials. SFTP: authentication fails; HTTP 401.
    NotAuthenticated,
    /// The request is malformed or a value is out of range. SFTP `BAD_MESSAGE` or
    /// `FAILURE` with the reason; HTTP 400.
    InvalidInput,
    /// The object exists already, a directory is not empty, or a job is running.
    /// SFTP `FAILURE` with the reason; HTTP 409.
    Conflict,
    /// A quota or a size limit would be exceeded. SFTP `FAILURE`; HTTP 413.
    QuotaExceeded,
    /// The back end cannot do this. SFTP `OP_UNSUPPORTED`; HTTP 400 as SFTPGo.
    Unsupported,
    /// A dependency (database, storage) is down; retrying may help. SFTP `FAILURE`;
    /// HTTP 503.
    Unavailable,
    /// Anything else. The message stays generic; the detail goes to the log only.
    /// SFTP `FAILURE`; HTTP 500.
    Internal,
}

/// A failure: its kind, a message for the client and, for the log, a detail
/// that must never be shown to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    detail: Option<String>,
}

/// The result type used across Ferry's core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A failure of `kind` with a message safe to show to a client.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            detail: None,
        }
    }

    /// Attaches a detail for the log (an OS or database error text).
    pub fn with_detail(mut self, detail: impl fmt::Display) -> Self {
        self.detail = Some(detail.to_string());
        self
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PermissionDenied, message)
    }

    pub fn not_authenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotAuthenticated, message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// An internal failure: the client sees a generic message, the log sees `detail`.
    pub fn internal(detail: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Internal, "internal server error").with_detail(detail)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message a client may see.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The detail meant for the log only.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(detail) => write!(f, "{}: {}", self.message, detail),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}
