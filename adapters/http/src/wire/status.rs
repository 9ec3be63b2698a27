//! SFTPGo's `ServicesStatus` and its parts. Ferry serves SSH only, so FTP,
//! WebDAV, the defender, MFA, the allow list and rate limiters are reported
//! as not active.

use crate::status::{HostKeyFacts, SshFacts};
use serde::Serialize;

/// SFTPGo's `ServicesStatus`.
#[derive(Debug, Serialize)]
pub(crate) struct ServicesStatus<'a> {
    pub ssh: SshServiceStatus<'a>,
    pub ftp: InactiveBound,
    pub webdav: InactiveBound,
    pub data_provider: DataProviderStatus<'a>,
    pub defender: Inactive,
    pub mfa: MfaStatus,
    pub allow_list: Inactive,
    pub rate_limiters: RateLimiters,
}

/// SFTPGo's `SSHServiceStatus`.
#[derive(Debug, Serialize)]
pub(crate) struct SshServiceStatus<'a> {
    is_active: bool,
    bindings: Vec<SshBinding>,
    host_keys: Vec<SshHostKey<'a>>,
    ssh_commands: [&'static str; 0],
    authentications: &'a [String],
    public_key_algorithms: &'a [String],
    macs: &'a [String],
    kex_algorithms: &'a [String],
    ciphers: &'a [String],
}

/// SFTPGo's `SSHBinding`.
#[derive(Debug, Serialize)]
struct SshBinding {
    address: String,
    port: u16,
    apply_proxy_config: bool,
}

/// SFTPGo's `SSHHostKey`.
#[derive(Debug, Serialize)]
struct SshHostKey<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    fingerprint: &'a str,
    algorithms: &'a [String],
}

impl<'a> SshServiceStatus<'a> {
    pub fn from_facts(facts: &'a SshFacts) -> Self {
        Self {
            is_active: !facts.bindings.is_empty(),
            bindings: facts
                .bindings
                .iter()
                .map(|addr| SshBinding {
                    address: addr.ip().to_string(),
                    port: addr.port(),
                    apply_proxy_config: false,
                })
                .collect(),
            host_keys: facts.host_keys.iter().map(SshHostKey::from_facts).collect(),
            ssh_commands: [],
            authentications: &facts.authentications,
            public_key_algorithms: &facts.public_key_algorithms,
            macs: &facts.macs,
            kex_algorithms: &facts.kex_algorithms,
            ciphers: &facts.ciphers,
        }
    }
}

impl<'a> SshHostKey<'a> {
    fn from_facts(key: &'a HostKeyFacts) -> Self {
        Self {
            path: key.path.as_deref(),
            fingerprint: &key.fingerprint,
            algorithms: &key.algorithms,
        }
    }
}

/// A service Ferry does not run (FTP, WebDAV): not active, no bindings.
#[derive(Debug, Default, Serialize)]
pub(crate) struct InactiveBound {
    is_active: bool,
    bindings: Option<[(); 0]>,
}

/// A feature Ferry does not have (defender, allow list).
#[derive(Debug, Default, Serialize)]
pub(crate) struct Inactive {
    is_active: bool,
}

/// SFTPGo's `MFAStatus`: no TOTP configurations.
#[derive(Debug, Default, Serialize)]
pub(crate) struct MfaStatus {
    is_active: bool,
    totp_configs: [(); 0],
}

/// SFTPGo's rate limiters status: none configured.
#[derive(Debug, Default, Serialize)]
pub(crate) struct RateLimiters {
    is_active: bool,
    protocols: [&'static str; 0],
}

/// SFTPGo's `DataProviderStatus`.
#[derive(Debug, Serialize)]
pub(crate) struct DataProviderStatus<'a> {
    pub is_active: bool,
    pub driver: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub error: &'a str,
}

impl<'a> ServicesStatus<'a> {
    /// The report for `ssh` facts and the data provider's state.
    pub fn new(ssh: &'a SshFacts, data_provider: DataProviderStatus<'a>) -> Self {
        Self {
            ssh: SshServiceStatus::from_facts(ssh),
            ftp: InactiveBound::default(),
            webdav: InactiveBound::default(),
            data_provider,
            defender: Inactive::default(),
            mfa: MfaStatus::default(),
            allow_list: Inactive::default(),
            rate_limiters: RateLimiters::default(),
        }
    }
}
