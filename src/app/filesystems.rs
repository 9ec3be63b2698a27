//! What every stored filesystem configuration goes through: its secrets
//! sealed (or kept, or checked), then the storage factory's own checks.

use ferry_domain::{Error, ErrorKind, FilesystemConfig, Result, SecretStatus};
use ferry_ports::{SecretKeeper, StorageFactory};
use std::sync::Arc;

/// Seals and checks filesystem configurations before they are stored.
#[derive(Clone)]
pub struct FilesystemRules {
    secrets: Arc<dyn SecretKeeper>,
    storage: Arc<dyn StorageFactory>,
}

impl FilesystemRules {
    pub fn new(secrets: Arc<dyn SecretKeeper>, storage: Arc<dyn StorageFactory>) -> Self {
        Self { secrets, storage }
    }

    pub fn storage(&self) -> &Arc<dyn StorageFactory> {
        &self.storage
    }

    /// Makes `filesystem` (already validated) ready to store for the owner
    /// named `context` (`user:alice`, `folder:docs`), replacing what is
    /// `stored`: `Plain` secrets are sealed, `Redacted` ones keep the stored
    /// value, sealed ones must be this server's and this owner's. Then the
    /// storage factory checks the result without contacting the storage.
    pub fn settle(
        &self,
        filesystem: &mut FilesystemConfig,
        stored: Option<&FilesystemConfig>,
        context: &str,
        root: &str,
    ) -> Result<()> {
        for (field, secret) in filesystem.secrets_mut() {
            match secret.status {
                None => {}
                Some(SecretStatus::Plain) if secret.payload.is_empty() => {
                    *secret = Default::default();
                }
                Some(SecretStatus::Plain) => {
                    *secret = self.secrets.seal(&secret.payload, context)?;
                }
                Some(SecretStatus::Redacted) => {
                    let kept = stored
                        .and_then(|s| s.secret(field))
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| {
                            Error::invalid(format!(
                                "{field} is Redacted but there is no stored value to keep: \
                                 send it with status Plain"
                            ))
                        })?;
                    *secret = kept.clone();
                }
                Some(SecretStatus::Aes256Gcm) => {
                    if secret.additional_data != context {
                        return Err(Error::invalid(format!(
                            "{field} was sealed for another account: send it with status Plain"
                        )));
                    }
                    self.secrets
                        .open(secret)
                        .map_err(|e| Error::invalid(format!("{field}: {}", e.message())))?;
                }
                Some(other) => {
                    return Err(Error::invalid(format!(
                        "{field}: secrets with status {} cannot be stored",
                        other.as_str()
                    )));
                }
            }
        }
        self.storage
            .check(root, filesystem)
            .map_err(|e| match e.kind() {
                ErrorKind::Internal => e,
                _ => Error::new(e.kind(), format!("invalid filesystem: {}", e.message())),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_auth::MasterKeySecrets;
    use ferry_domain::Secret;
    use ferry_ports::Storage;
    use serde_json::json;

    /// Accepts every configuration.
    struct AnyStorage;

    impl StorageFactory for AnyStorage {
        fn storage_for(&self, _: &str, _: &FilesystemConfig) -> Result<Arc<dyn Storage>> {
            Err(Error::unsupported("not in these tests"))
        }

        fn check(&self, _: &str, _: &FilesystemConfig) -> Result<()> {
            Ok(())
        }
    }

    fn rules() -> (FilesystemRules, Arc<MasterKeySecrets>) {
        let keeper = Arc::new(MasterKeySecrets::new(&[3u8; 32]).unwrap());
        (
            FilesystemRules::new(keeper.clone(), Arc::new(AnyStorage)),
            keeper,
        )
    }

    fn s3(secret: serde_json::Value) -> FilesystemConfig {
        let mut fs: FilesystemConfig = serde_json::from_value(json!({"provider": 1,
            "s3config": {"bucket": "b", "access_key": "k", "access_secret": secret}}))
        .unwrap();
        fs.validate().unwrap();
        fs
    }

    fn access_secret(fs: &FilesystemConfig) -> &Secret {
        &fs.s3config.as_ref().unwrap().access_secret
    }

    #[test]
    fn plain_secrets_are_sealed_for_their_owner() {
        let (rules, keeper) = rules();
        let mut fs = s3(json!({"status": "Plain", "payload": "hunter2"}));
        rules.settle(&mut fs, None, "user:alice", "/h").unwrap();
        let sealed = access_secret(&fs);
        assert_eq!(sealed.status, Some(SecretStatus::Aes256Gcm));
        assert!(!serde_json::to_string(&fs).unwrap().contains("hunter2"));
        assert_eq!(keeper.open(sealed).unwrap(), "hunter2");

        // The sealed form comes back (a restored backup) for the same owner only.
        let mut again = fs.clone();
        rules.settle(&mut again, None, "user:alice", "/h").unwrap();
        assert_eq!(again, fs);
        let mut moved = fs.clone();
        let error = rules
            .settle(&mut moved, None, "user:bob", "/h")
            .unwrap_err();
        assert!(error.message().contains("another account"), "{error}");
    }

    #[test]
    fn redacted_keeps_the_stored_value_or_is_refused() {
        let (rules, _) = rules();
        let mut stored = s3(json!({"status": "Plain", "payload": "hunter2"}));
        rules.settle(&mut stored, None, "user:alice", "/h").unwrap();
        let mut update = s3(json!({"status": "Redacted"}));
        rules
            .settle(&mut update, Some(&stored), "user:alice", "/h")
            .unwrap();
        assert_eq!(access_secret(&update), access_secret(&stored));

        let mut fresh = s3(json!({"status": "Redacted"}));
        let error = rules
            .settle(&mut fresh, None, "user:alice", "/h")
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn foreign_sealed_secrets_are_refused() {
        let (rules, _) = rules();
        let other = MasterKeySecrets::new(&[4u8; 32]).unwrap();
        let sealed = other.seal("x", "user:alice").unwrap();
        let mut fs = s3(serde_json::to_value(&sealed).unwrap());
        let error = rules.settle(&mut fs, None, "user:alice", "/h").unwrap_err();
        assert!(error.message().contains("master key"), "{error}");
    }
}
