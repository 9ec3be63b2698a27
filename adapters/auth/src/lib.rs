//! Credentials for Ferry: password hashes (argon2id, with bcrypt hashes from
//! other systems accepted as they are) and signed admin tokens (JWT, HS256).

mod jwt;
mod password;

pub use jwt::JwtSigner;
pub use password::Argon2Hasher;
