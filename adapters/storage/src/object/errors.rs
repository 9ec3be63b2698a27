//! The one place where `object_store` errors become Ferry's error kinds.
//!
//! Client-facing messages are fixed strings. The store's own text, which
//! names keys and the endpoint's URL, goes into the detail for the log only,
//! with the endpoint and the key prefix replaced by placeholders.

use ferry_domain::Error;
use object_store::Error as StoreError;

/// What the log may not show of a storage: its endpoint, its key prefix,
/// and secrets that can appear in a request's URL (a SAS token).
#[derive(Clone, Default)]
pub(crate) struct Redactions {
    pub(crate) endpoint: Option<String>,
    pub(crate) prefix: String,
    pub(crate) secrets: Vec<String>,
}

impl Redactions {
    pub(crate) fn apply(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in self.secrets.iter().filter(|s| !s.is_empty()) {
            text = text.replace(secret.as_str(), "<redacted>");
        }
        if let Some(endpoint) = self.endpoint.as_deref() {
            let endpoint = endpoint.trim_end_matches('/');
            if !endpoint.is_empty() {
                text = text.replace(endpoint, "<endpoint>");
            }
        }
        let prefix = self.prefix.trim_end_matches('/');
        if !prefix.is_empty() {
            text = text.replace(prefix, "<prefix>");
        }
        text
    }
}

/// Sorts an error of the store into a kind with a safe message.
pub(crate) fn sort(error: StoreError, redactions: &Redactions) -> Error {
    let detail = || redactions.apply(&format!("object storage: {error}"));
    match &error {
        StoreError::NotFound { .. } => Error::not_found("no such file or directory"),
        StoreError::AlreadyExists { .. } => Error::conflict("file exists"),
        StoreError::Precondition { .. } | StoreError::NotModified { .. } => {
            Error::conflict("the object changed meanwhile").with_detail(detail())
        }
        StoreError::NotSupported { .. } | StoreError::NotImplemented { .. } => {
            Error::unsupported("not supported by this object store").with_detail(detail())
        }
        StoreError::PermissionDenied { .. } => {
            Error::permission_denied("the object store denied access").with_detail(detail())
        }
        StoreError::Unauthenticated { .. } => {
            Error::unavailable("the object store refused the credentials").with_detail(detail())
        }
        StoreError::InvalidPath { .. } => Error::invalid("name not allowed on object storage"),
        // Network failures, 5xx answers and throttling, after the client's retries.
        _ => Error::unavailable("object storage unavailable, try again").with_detail(detail()),
    }
}

/// A closure for `map_err`.
pub(crate) fn at(redactions: &Redactions) -> impl Fn(StoreError) -> Error + '_ {
    move |error| sort(error, redactions)
}

/// A background task that could not finish (it panicked or was cancelled).
pub(crate) fn task_failed(error: impl std::fmt::Display) -> Error {
    Error::internal(format_args!("object storage task: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_domain::ErrorKind;

    fn generic(text: &str) -> StoreError {
        StoreError::Generic {
            store: "S3",
            source: text.to_owned().into(),
        }
    }

    #[test]
    fn kinds_follow_the_store() {
        let none = Redactions::default();
        let missing = StoreError::NotFound {
            path: "p/x".into(),
            source: "404".into(),
        };
        assert_eq!(sort(missing, &none).kind(), ErrorKind::NotFound);
        let exists = StoreError::AlreadyExists {
            path: "p/x".into(),
            source: "412".into(),
        };
        assert_eq!(sort(exists, &none).message(), "file exists");
        assert_eq!(sort(generic("reset"), &none).kind(), ErrorKind::Unavailable);
    }

    #[test]
    fn details_hide_the_endpoint_and_prefix() {
        let redactions = Redactions {
            endpoint: Some("http://127.0.0.1:9000/".into()),
            prefix: "homes/alice/".into(),
            secrets: vec!["sig=abc".into()],
        };
        let error = sort(
            generic(
                "error sending request for url (http://127.0.0.1:9000/b/homes/alice/f?sig=abc)",
            ),
            &redactions,
        );
        let text = error.to_string();
        assert!(
            !text.contains("127.0.0.1") && !text.contains("alice"),
            "{text}"
        );
        assert!(
            text.contains("<endpoint>/b/<prefix>/f?<redacted>"),
            "{text}"
        );
        assert_eq!(error.message(), "object storage unavailable, try again");
    }
}
