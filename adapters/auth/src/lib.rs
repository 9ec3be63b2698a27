//! Credentials for Ferry: password hashes (argon2id, with bcrypt, PBKDF2,
//! crypt(3) and digest hashes from other systems accepted as they are), signed admin tokens (JWT, HS256) and
//! the list of tokens revoked before their expiry, and the sealing of stored
//! secrets (AES-256-GCM under a master key).

mod jwt;
mod password;
mod prehashed;
mod revocations;
mod secrets;

pub use jwt::JwtSigner;
pub use password::Argon2Hasher;
pub use revocations::MemoryRevocations;
pub use secrets::MasterKeySecrets;
