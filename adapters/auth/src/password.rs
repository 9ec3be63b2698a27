//! Password hashing: argon2id for everything Ferry hashes itself; stored
//! hashes in argon2id or bcrypt form, or in one of the other formats SFTPGo
//! accepts (see [`prehashed`](crate::prehashed)), are kept as they are and
//! verify.

use crate::prehashed;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use ferry_domain::{Error, Result};
use ferry_ports::PasswordHasher;

const BCRYPT_PREFIXES: [&str; 3] = ["$2a$", "$2b$", "$2y$"];
const ARGON2ID_PREFIX: &str = "$argon2id$";

/// Hashes with argon2id at the crate's default cost (m=19456 KiB, t=2, p=1).
#[derive(Debug, Default, Clone)]
pub struct Argon2Hasher {
    argon2: Argon2<'static>,
}

impl Argon2Hasher {
    pub fn new() -> Self {
        Self::default()
    }
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &str) -> Result<String> {
        if prehashed::is_prehashed(password) {
            prehashed::check_format(password)?;
            return Ok(password.to_owned());
        }
        if self.is_hash(password) {
            return Ok(password.to_owned());
        }
        self.argon2
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| Error::internal(format!("argon2 hashing failed: {e}")))
    }

    fn is_hash(&self, value: &str) -> bool {
        value.starts_with(ARGON2ID_PREFIX)
            || BCRYPT_PREFIXES.iter().any(|p| value.starts_with(p))
            || prehashed::is_prehashed(value)
    }

    fn verify(&self, password: &str, stored: &str) -> Result<bool> {
        if stored.starts_with(ARGON2ID_PREFIX) {
            let parsed = PasswordHash::new(stored)
                .map_err(|e| Error::internal(format!("stored argon2 hash is malformed: {e}")))?;
            return Ok(self
                .argon2
                .verify_password(password.as_bytes(), &parsed)
                .is_ok());
        }
        if BCRYPT_PREFIXES.iter().any(|p| stored.starts_with(p)) {
            return bcrypt::verify(password, stored)
                .map_err(|e| Error::internal(format!("stored bcrypt hash is malformed: {e}")));
        }
        if prehashed::is_prehashed(stored) {
            return prehashed::verify(stored, password);
        }
        Err(Error::internal(
            "stored password hash has an unknown format",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_with_argon2id_and_verifies() {
        let hasher = Argon2Hasher::new();
        let hash = hasher.hash("s3cret").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(hasher.verify("s3cret", &hash).unwrap());
        assert!(!hasher.verify("S3cret", &hash).unwrap());
    }

    #[test]
    fn keeps_prehashed_values_and_verifies_them() {
        let hasher = Argon2Hasher::new();
        let bcrypt_hash = bcrypt::hash("pw", 4).unwrap();
        assert_eq!(hasher.hash(&bcrypt_hash).unwrap(), bcrypt_hash);
        assert!(hasher.verify("pw", &bcrypt_hash).unwrap());
        assert!(!hasher.verify("pw2", &bcrypt_hash).unwrap());
        let y_variant = bcrypt_hash.replacen("$2b$", "$2y$", 1);
        assert!(hasher.verify("pw", &y_variant).unwrap());
        let argon = hasher.hash("pw").unwrap();
        assert_eq!(hasher.hash(&argon).unwrap(), argon);
    }

    #[test]
    fn other_prehashed_formats_are_kept_checked_and_verified() {
        let hasher = Argon2Hasher::new();
        // openssl passwd -apr1 -salt Xy7Zq1w2 'correct horse'
        let apr1 = "$apr1$Xy7Zq1w2$amC.CVgItbCFpw7SFTnAA/";
        assert!(hasher.is_hash(apr1));
        assert_eq!(hasher.hash(apr1).unwrap(), apr1);
        assert!(hasher.verify("correct horse", apr1).unwrap());
        assert!(!hasher.verify("correct horsE", apr1).unwrap());
        let err = hasher.hash("$apr1$Xy7Zq1w2$short").unwrap_err();
        assert_eq!(err.kind(), ferry_domain::ErrorKind::InvalidInput);
    }

    #[test]
    fn malformed_hashes_are_errors_not_matches() {
        let hasher = Argon2Hasher::new();
        assert!(hasher.verify("pw", "$argon2id$garbage").is_err());
        assert!(hasher.verify("pw", "$2b$garbage").is_err());
        assert!(hasher.verify("pw", "plain").is_err());
    }
}
