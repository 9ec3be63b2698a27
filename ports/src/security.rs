//! Credentials and time: password hashing, token signing and revocation,
//! the clock.

use async_trait::async_trait;
use ferry_domain::Result;

/// Hashes and verifies passwords.
pub trait PasswordHasher: Send + Sync + 'static {
    /// Hashes a plain password for storage. A value that already is a hash
    /// this hasher can verify (see [`is_hash`](Self::is_hash)) MUST be
    /// returned unchanged.
    fn hash(&self, password: &str) -> Result<String>;

    /// True when `value` is a stored hash format this hasher verifies.
    fn is_hash(&self, value: &str) -> bool;

    /// True when `password` matches `stored`. A malformed `stored` value is an
    /// error, never a match.
    fn verify(&self, password: &str, stored: &str) -> Result<bool>;
}

/// What a signed admin token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// The admin's username.
    pub subject: String,
    /// A unique id, used to revoke this token alone.
    pub token_id: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Signs and checks admin tokens.
pub trait TokenSigner: Send + Sync + 'static {
    fn sign(&self, claims: &TokenClaims) -> Result<String>;

    /// Checks signature and expiry at `now` (Unix seconds). MUST return
    /// `NotAuthenticated` for anything malformed, forged or expired.
    fn verify(&self, token: &str, now: i64) -> Result<TokenClaims>;
}

/// Admin tokens revoked before their expiry (a logout). A signed token cannot
/// be taken back, so every check of a valid signature also asks this list.
///
/// Where the list lives decides where a revocation holds: a store shared by
/// every replica makes a logout effective on all of them, one kept in memory
/// covers only its own process.
#[async_trait]
pub trait TokenRevocations: Send + Sync + 'static {
    /// Records `token_id` as revoked. The entry MUST be kept at least until
    /// `expires_at` (Unix seconds): after that the signer refuses the token
    /// as expired, so the entry MAY be forgotten. Revoking a token twice is
    /// not an error. MUST return `Unavailable` when the store cannot record.
    async fn revoke(&self, token_id: &str, expires_at: i64) -> Result<()>;

    /// True when `token_id` was revoked and its expiry is after `now` (Unix
    /// seconds). MUST return `Unavailable`, never `false`, when the store
    /// cannot answer, so a revoked token is never let through by a failure.
    async fn is_revoked(&self, token_id: &str, now: i64) -> Result<bool>;
}

/// The time, injectable for tests.
pub trait Clock: Send + Sync + 'static {
    /// Unix milliseconds.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// Seals the secrets that configurations carry (cloud credentials) under
/// the server's master key, and opens them again when they are needed.
pub trait SecretKeeper: Send + Sync + 'static {
    /// Seals `plain`. The result's status names the method, and its
    /// `additional_data` holds `context`, which is bound to the sealed value:
    /// opening with another context fails.
    fn seal(&self, plain: &str, context: &str) -> Result<ferry_domain::Secret>;

    /// The clear value of a secret this keeper sealed, or of a `Plain` one.
    /// MUST return `InvalidInput` for a secret it cannot open (another key,
    /// another method, a damaged payload), and never a wrong value.
    fn open(&self, secret: &ferry_domain::Secret) -> Result<String>;
}
