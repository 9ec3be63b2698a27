//! SFTPGo's `Secret` object: a credential that is stored sealed and never
//! shown. A client sends `Plain` to set one and `Redacted` to keep the stored
//! value; replies only ever show `Redacted`.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a secret's payload is held, as SFTPGo names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecretStatus {
    /// The payload is the secret itself: only ever accepted from a client.
    Plain,
    /// Sealed with AES-256-GCM under the server's master key.
    #[serde(rename = "AES-256-GCM")]
    Aes256Gcm,
    Secretbox,
    #[serde(rename = "GCP")]
    Gcp,
    #[serde(rename = "AWS")]
    Aws,
    VaultTransit,
    AzureKeyVault,
    /// Hidden: in a reply, the value exists but is not shown; from a client,
    /// keep the stored value.
    Redacted,
}

impl SecretStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "Plain",
            Self::Aes256Gcm => "AES-256-GCM",
            Self::Secretbox => "Secretbox",
            Self::Gcp => "GCP",
            Self::Aws => "AWS",
            Self::VaultTransit => "VaultTransit",
            Self::AzureKeyVault => "AzureKeyVault",
            Self::Redacted => "Redacted",
        }
    }
}

/// A secret in any of its states. The default is no secret at all.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Secret {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SecretStatus>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub payload: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub additional_data: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mode: i64,
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

impl Secret {
    /// A secret given in clear.
    pub fn plain(value: impl Into<String>) -> Self {
        Self {
            status: Some(SecretStatus::Plain),
            payload: value.into(),
            ..Self::default()
        }
    }

    /// How a stored secret is shown: that it exists, nothing more.
    pub fn redacted() -> Self {
        Self {
            status: Some(SecretStatus::Redacted),
            ..Self::default()
        }
    }

    /// True when no secret is set: no status, or a payload-less status other
    /// than `Redacted`.
    pub fn is_empty(&self) -> bool {
        match self.status {
            None => true,
            Some(SecretStatus::Redacted) => false,
            Some(_) => self.payload.is_empty(),
        }
    }

    /// This secret as a reply shows it.
    pub fn shown(&self) -> Self {
        if self.is_empty() {
            Self::default()
        } else {
            Self::redacted()
        }
    }

    /// Checks the secret can be stored as it is or after sealing.
    pub fn check(&self, field: &str) -> Result<()> {
        match self.status {
            None | Some(SecretStatus::Plain | SecretStatus::Aes256Gcm | SecretStatus::Redacted) => {
                Ok(())
            }
            Some(other) => Err(Error::invalid(format!(
                "{field}: secrets with status {} cannot be read by this server; send the value \
                 with status Plain",
                other.as_str()
            ))),
        }
    }
}

/// Never shows the payload or key.
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("status", &self.status)
            .field("payload", &"<redacted>")
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_and_writes_sftpgo_shapes() {
        let secret: Secret = serde_json::from_value(json!({
            "status": "AES-256-GCM", "payload": "abc", "key": "", "additional_data": "alice",
            "mode": 0
        }))
        .unwrap();
        assert_eq!(secret.status, Some(SecretStatus::Aes256Gcm));
        assert_eq!(
            serde_json::to_value(&secret).unwrap(),
            json!({"status": "AES-256-GCM", "payload": "abc", "additional_data": "alice"})
        );
        let empty: Secret = serde_json::from_value(json!({})).unwrap();
        assert!(empty.is_empty());
        assert_eq!(serde_json::to_value(empty.shown()).unwrap(), json!({}));
        assert!(serde_json::from_value::<Secret>(json!({"status": "Rot13"})).is_err());
    }

    #[test]
    fn replies_never_carry_the_payload() {
        let shown = Secret::plain("hunter2").shown();
        assert_eq!(
            serde_json::to_value(&shown).unwrap(),
            json!({"status": "Redacted"})
        );
        assert!(!format!("{:?}", Secret::plain("hunter2")).contains("hunter2"));
    }

    #[test]
    fn only_readable_statuses_are_accepted() {
        assert!(Secret::plain("x").check("f").is_ok());
        assert!(Secret::redacted().check("f").is_ok());
        let vault = Secret {
            status: Some(SecretStatus::VaultTransit),
            payload: "x".into(),
            ..Secret::default()
        };
        let error = vault.check("s3config.access_secret").unwrap_err();
        assert!(error.message().contains("VaultTransit"), "{error}");
    }
}
