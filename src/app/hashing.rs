//! Password work off the async runtime: an argon2 verification costs tens of
//! milliseconds of CPU, too long to hold a runtime thread.

use ferry_domain::{Error, Result};
use ferry_ports::PasswordHasher;
use std::sync::Arc;

/// Verifies `password` against `stored` on the blocking pool. A malformed
/// stored hash is logged and counts as a mismatch.
pub async fn verify<H: PasswordHasher>(hasher: &Arc<H>, password: &str, stored: &str) -> bool {
    let (hasher, password, stored) = (hasher.clone(), password.to_owned(), stored.to_owned());
    match tokio::task::spawn_blocking(move || hasher.verify(&password, &stored)).await {
        Ok(Ok(matched)) => matched,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "stored password hash cannot be verified");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "password verification task failed");
            false
        }
    }
}

/// Hashes `password` on the blocking pool.
pub async fn hash<H: PasswordHasher>(hasher: &Arc<H>, password: &str) -> Result<String> {
    let (hasher, password) = (hasher.clone(), password.to_owned());
    tokio::task::spawn_blocking(move || hasher.hash(&password))
        .await
        .map_err(Error::internal)?
}
