//! What every cloud client shares: timeouts, retries, and secrets kept out
//! of error details.

use object_store::{BackoffConfig, ClientOptions, RetryConfig};
use std::time::Duration;

/// Client options for `timeout`; plain HTTP only where the operator wrote
/// an `http://` endpoint (a local emulator).
pub(crate) fn options(allow_http: bool, timeout: Duration) -> ClientOptions {
    ClientOptions::new()
        .with_allow_http(allow_http)
        .with_timeout(timeout)
        .with_connect_timeout(Duration::from_secs(10))
}

/// Up to `max_retries` retries of a failed request, within `timeout` in all.
pub(crate) fn retry(max_retries: usize, timeout: Duration) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries,
        retry_timeout: timeout,
    }
}

/// `text` with every non-empty secret replaced by a placeholder.
pub(crate) fn redacted(text: impl std::fmt::Display, secrets: &[&str]) -> String {
    let mut text = text.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, "<redacted>");
    }
    text
}
