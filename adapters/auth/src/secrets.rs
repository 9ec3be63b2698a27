//! Stored secrets sealed with AES-256-GCM under a key derived from the
//! server's master key.
//!
//! A sealed secret is SFTPGo's `Secret` object with status `AES-256-GCM`,
//! `mode` 1 (sealed under a master key), the context in `additional_data`
//! (authenticated, so a sealed value cannot be moved to another owner), and
//! the payload `base64(nonce || ciphertext || tag)`.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, KeyType, Salt};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ferry_domain::{Error, Result, Secret, SecretStatus};
use ferry_ports::SecretKeeper;
use std::fmt;

/// The shortest master key accepted, in bytes.
pub const MIN_MASTER_KEY_LEN: usize = 32;

/// Separates this use of the master key from any other.
const KEY_INFO: &[u8] = b"ferry stored secrets, AES-256-GCM, v1";

/// `mode` of a secret sealed under a master key, as SFTPGo marks it.
const MASTER_KEY_MODE: i64 = 1;

/// Seals and opens secrets under one master key.
pub struct MasterKeySecrets {
    key: LessSafeKey,
    random: SystemRandom,
}

/// Never shows the key.
impl fmt::Debug for MasterKeySecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKeySecrets(<redacted>)")
    }
}

struct KeyLen;

impl KeyType for KeyLen {
    fn len(&self) -> usize {
        AES_256_GCM.key_len()
    }
}

impl MasterKeySecrets {
    /// A keeper for `master_key`, which must hold at least
    /// [`MIN_MASTER_KEY_LEN`] bytes; the AES key is derived from it with
    /// HKDF-SHA256, so any such string works.
    pub fn new(master_key: &[u8]) -> Result<Self> {
        if master_key.len() < MIN_MASTER_KEY_LEN {
            return Err(Error::invalid(format!(
                "the master key must be at least {MIN_MASTER_KEY_LEN} bytes long"
            )));
        }
        let mut derived = [0u8; 32];
        Salt::new(HKDF_SHA256, &[])
            .extract(master_key)
            .expand(&[KEY_INFO], KeyLen)
            .and_then(|okm| okm.fill(&mut derived))
            .map_err(|_| Error::internal("cannot derive the secrets key"))?;
        let key = UnboundKey::new(&AES_256_GCM, &derived)
            .map_err(|_| Error::internal("cannot load the secrets key"))?;
        Ok(Self {
            key: LessSafeKey::new(key),
            random: SystemRandom::new(),
        })
    }

    /// A fresh random master key, base64 encoded.
    pub fn generate_master_key() -> Result<String> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| Error::internal("no randomness for a master key"))?;
        Ok(STANDARD.encode(bytes))
    }
}

fn unreadable() -> Error {
    Error::invalid("a secret cannot be opened with this server's master key")
}

impl SecretKeeper for MasterKeySecrets {
    fn seal(&self, plain: &str, context: &str) -> Result<Secret> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| Error::internal("no randomness for a nonce"))?;
        let mut sealed = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| Error::internal("cannot seal a secret"))?;
        let mut payload = nonce.to_vec();
        payload.extend_from_slice(&sealed);
        Ok(Secret {
            status: Some(SecretStatus::Aes256Gcm),
            payload: STANDARD.encode(payload),
            key: String::new(),
            additional_data: context.to_owned(),
            mode: MASTER_KEY_MODE,
        })
    }

    fn open(&self, secret: &Secret) -> Result<String> {
        match secret.status {
            Some(SecretStatus::Plain) => return Ok(secret.payload.clone()),
            Some(SecretStatus::Aes256Gcm) => {}
            None => return Ok(String::new()),
            Some(other) => {
                return Err(Error::invalid(format!(
                    "a secret with status {} cannot be opened",
                    other.as_str()
                )));
            }
        }
        let bytes = STANDARD
            .decode(secret.payload.as_bytes())
            .map_err(|_| unreadable())?;
        if bytes.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(unreadable());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| unreadable())?;
        let mut sealed = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(
                nonce,
                Aad::from(secret.additional_data.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| unreadable())?;
        String::from_utf8(plain.to_vec()).map_err(|_| unreadable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_domain::ErrorKind;

    const MASTER: &[u8] = b"0123456789abcdef0123456789abcdef-test";

    #[test]
    fn sealed_secrets_open_with_the_same_key_only() {
        let keeper = MasterKeySecrets::new(MASTER).unwrap();
        let sealed = keeper.seal("s3cr3t", "user:alice").unwrap();
        assert_eq!(sealed.status, Some(SecretStatus::Aes256Gcm));
        assert_eq!(sealed.additional_data, "user:alice");
        assert!(!sealed.payload.contains("s3cr3t"));
        assert_eq!(keeper.open(&sealed).unwrap(), "s3cr3t");
        // Two seals of one value differ (fresh nonce).
        assert_ne!(keeper.seal("s3cr3t", "user:alice").unwrap(), sealed);

        let other = MasterKeySecrets::new(b"another master key, also 32 bytes+").unwrap();
        assert_eq!(
            other.open(&sealed).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn tampering_is_detected() {
        let keeper = MasterKeySecrets::new(MASTER).unwrap();
        let sealed = keeper.seal("s3cr3t", "user:alice").unwrap();
        let moved = Secret {
            additional_data: "user:mallory".into(),
            ..sealed.clone()
        };
        assert!(keeper.open(&moved).is_err());
        let mut bytes = STANDARD.decode(&sealed.payload).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let flipped = Secret {
            payload: STANDARD.encode(&bytes),
            ..sealed.clone()
        };
        assert!(keeper.open(&flipped).is_err());
        for payload in ["", "not base64!", "AAAA"] {
            let damaged = Secret {
                payload: payload.into(),
                ..sealed.clone()
            };
            assert_eq!(
                keeper.open(&damaged).unwrap_err().kind(),
                ErrorKind::InvalidInput
            );
        }
    }

    #[test]
    fn short_master_keys_are_refused() {
        assert!(MasterKeySecrets::new(b"short").is_err());
        let generated = MasterKeySecrets::generate_master_key().unwrap();
        assert!(MasterKeySecrets::new(generated.as_bytes()).is_ok());
        assert!(!format!("{:?}", MasterKeySecrets::new(MASTER).unwrap()).contains("0123"));
    }
}
