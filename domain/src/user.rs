//! SFTP users: who may log in, where their home is and what they may do there.

use crate::error::{Error, Result};
use crate::filesystem::FilesystemConfig;
use crate::folder::{VirtualFolder, validate_mounts};
use crate::naming::Username;
use crate::permission::UserPermissions;
use crate::public_key::{parse_key_line, validate_public_key};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Whether an account may log in (SFTPGo's `status`: 1 enabled, 0 disabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserStatus {
    #[default]
    Enabled,
    Disabled,
}

impl UserStatus {
    pub fn from_code(code: i64) -> Result<Self> {
        match code {
            1 => Ok(Self::Enabled),
            0 => Ok(Self::Disabled),
            other => Err(Error::invalid(format!(
                "invalid status: {other}, must be 0 or 1"
            ))),
        }
    }

    pub fn code(self) -> i64 {
        match self {
            Self::Enabled => 1,
            Self::Disabled => 0,
        }
    }
}

/// Login methods a user's `filters.denied_login_methods` may name.
pub const LOGIN_METHODS: [&str; 8] = [
    "publickey",
    "password",
    "password-over-SSH",
    "keyboard-interactive",
    "publickey+password",
    "publickey+keyboard-interactive",
    "TLSCertificate",
    "TLSCertificate+password",
];

/// Protocols a user's `filters.denied_protocols` may name.
pub const PROTOCOLS: [&str; 4] = ["SSH", "FTP", "DAV", "HTTP"];

/// SFTPGo's user `filters`. The fields Ferry reads are typed; every other key
/// is kept as given so that it round-trips through the API and backups.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UserFilters {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_ip: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied_ip: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied_login_methods: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied_protocols: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_upload_file_size: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub start_directory: String,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

impl UserFilters {
    pub fn validate(&self) -> Result<()> {
        for cidr in self.allowed_ip.iter().chain(&self.denied_ip) {
            cidr.parse::<ipnet::IpNet>()
                .map_err(|_| Error::invalid(format!("invalid IP network {cidr:?}")))?;
        }
        for method in &self.denied_login_methods {
            if !LOGIN_METHODS.contains(&method.as_str()) {
                return Err(Error::invalid(format!("invalid login method {method:?}")));
            }
        }
        for proto in &self.denied_protocols {
            if !PROTOCOLS.contains(&proto.as_str()) {
                return Err(Error::invalid(format!("invalid protocol {proto:?}")));
            }
        }
        if self.max_upload_file_size < 0 {
            return Err(Error::invalid("max_upload_file_size cannot be negative"));
        }
        if !self.start_directory.is_empty() && !self.start_directory.starts_with('/') {
            return Err(Error::invalid(
                "start_directory must be an absolute virtual path",
            ));
        }
        Ok(())
    }

    /// True when `ip` may log in: not in `denied_ip`, and in `allowed_ip`
    /// when that list is not empty. Unparsable entries (never stored: they
    /// fail validation) match nothing.
    pub fn allows_ip(&self, ip: std::net::IpAddr) -> bool {
        let contains = |list: &[String]| {
            list.iter()
                .filter_map(|n| n.parse::<ipnet::IpNet>().ok())
                .any(|n| n.contains(&ip))
        };
        !contains(&self.denied_ip) && (self.allowed_ip.is_empty() || contains(&self.allowed_ip))
    }

    /// True when `method` (`password`, `publickey`, ...) is refused for SSH.
    pub fn denies_login_method(&self, method: &str) -> bool {
        self.denied_login_methods
            .iter()
            .any(|m| m == method || (method == "password" && m == "password-over-SSH"))
    }
}

/// An SFTP user as Ferry stores it. Times are Unix milliseconds, 0 for never.
// LIMITATION: quota_size, quota_files, max_sessions, upload_bandwidth,
// download_bandwidth, uid, gid and the filters other than allowed_ip,
// denied_ip, denied_login_methods and denied_protocols are validated, stored
// and returned, but nothing acts on them yet.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub status: UserStatus,
    pub username: Username,
    pub email: String,
    pub description: String,
    pub expiration_date: i64,
    /// The stored password hash (PHC or bcrypt string), `None` without a password.
    pub password_hash: Option<String>,
    /// OpenSSH `authorized_keys` lines.
    pub public_keys: Vec<String>,
    /// Absolute path of the home directory on the server.
    pub home_dir: String,
    pub uid: i64,
    pub gid: i64,
    pub max_sessions: i64,
    pub quota_size: i64,
    pub quota_files: i64,
    pub permissions: UserPermissions,
    pub used_quota_size: i64,
    pub used_quota_files: i64,
    pub last_quota_update: i64,
    pub upload_bandwidth: i64,
    pub download_bandwidth: i64,
    pub filters: UserFilters,
    pub filesystem: FilesystemConfig,
    /// The folders mounted into this user's view.
    pub virtual_folders: Vec<VirtualFolder>,
    pub additional_info: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login: i64,
}

impl User {
    /// Checks every rule that does not need I/O: limits, home directory, keys,
    /// filters and filesystem (whose settings are normalised on the way).
    pub fn validate(&mut self) -> Result<()> {
        if !self.home_dir.starts_with('/') {
            return Err(Error::invalid(format!(
                "home_dir must be an absolute path, actual value: {:?}",
                self.home_dir
            )));
        }
        if self.home_dir.contains('\0') {
            return Err(Error::invalid("home_dir contains a NUL byte"));
        }
        if !self.email.is_empty() && !looks_like_email(&self.email) {
            return Err(Error::invalid(format!(
                "email {:?} is not valid",
                self.email
            )));
        }
        for (name, value) in [
            ("expiration_date", self.expiration_date),
            ("uid", self.uid),
            ("gid", self.gid),
            ("max_sessions", self.max_sessions),
            ("quota_size", self.quota_size),
            ("quota_files", self.quota_files),
            ("upload_bandwidth", self.upload_bandwidth),
            ("download_bandwidth", self.download_bandwidth),
        ] {
            if value < 0 {
                return Err(Error::invalid(format!("{name} cannot be negative")));
            }
        }
        if self.uid > i64::from(u32::MAX) || self.gid > i64::from(u32::MAX) {
            return Err(Error::invalid("uid and gid must fit in 32 bits"));
        }
        for (i, key) in self.public_keys.iter().enumerate() {
            validate_public_key(key).map_err(|e| {
                Error::invalid(format!("invalid public key #{}: {}", i + 1, e.message()))
            })?;
        }
        self.filters.validate()?;
        self.filesystem.validate()?;
        validate_mounts(&self.virtual_folders)
    }

    /// True when a disk quota (bytes or files) limits this user.
    pub fn has_quota_limits(&self) -> bool {
        self.quota_size > 0 || self.quota_files > 0
    }

    /// Why this account may not log in at `now_ms`, if it may not.
    pub fn login_refusal(&self, now_ms: i64) -> Option<&'static str> {
        if self.status == UserStatus::Disabled {
            return Some("user is disabled");
        }
        if self.expiration_date > 0 && self.expiration_date <= now_ms {
            return Some("user is expired");
        }
        None
    }

    /// True when one of the user's keys is `algorithm` + `blob_base64`.
    pub fn has_public_key(&self, algorithm: &str, blob_base64: &str) -> bool {
        self.public_keys.iter().any(|line| {
            parse_key_line(line)
                .is_some_and(|(algo, blob)| algo == algorithm && blob == blob_base64)
        })
    }
}

/// Checks an account's email: empty, or of the shape `local@domain`.
pub fn validate_email(email: &str) -> Result<()> {
    if email.is_empty() || looks_like_email(email) {
        Ok(())
    } else {
        Err(Error::invalid(format!("email {email:?} is not valid")))
    }
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_filters_deny_first_then_allow() {
        let filters = UserFilters {
            allowed_ip: vec!["10.0.0.0/8".into()],
            denied_ip: vec!["10.1.0.0/16".into()],
            ..Default::default()
        };
        assert!(filters.allows_ip("10.2.3.4".parse().unwrap()));
        assert!(!filters.allows_ip("10.1.3.4".parse().unwrap()));
        assert!(!filters.allows_ip("192.168.1.1".parse().unwrap()));
        assert!(UserFilters::default().allows_ip("192.168.1.1".parse().unwrap()));
    }

    #[test]
    fn email_shapes() {
        assert!(looks_like_email("a@b.c"));
        assert!(!looks_like_email("a@"));
        assert!(!looks_like_email("ab.c"));
        assert!(!looks_like_email("a b@c"));
        assert!(!looks_like_email("a@b@c"));
        assert!(!looks_like_email("a@.b"));
        assert!(validate_email("").is_ok());
    }
}
