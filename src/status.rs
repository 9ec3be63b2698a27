//! What the REST API's status report needs from the composition root: the
//! data provider's health and the SSH service's facts, gathered here because
//! only the root knows both the SQL and the SSH adapters.

use crate::config::Settings;
use async_trait::async_trait;
use ferry_http::{HostKeyFacts, SshFacts};
use ferry_ports::ProviderHealth;
use ferry_sftp::host_keys::HostKey;
use ferry_sql::SqlRepository;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// The data provider's health: a ping through the SQL adapter.
pub struct DbHealth(pub Arc<SqlRepository>);

#[async_trait]
impl ProviderHealth for DbHealth {
    fn driver(&self) -> &'static str {
        // SFTPGo's driver names; the adapter's `postgres` is SFTPGo's
        // `postgresql`.
        match self.0.backend() {
            "postgres" => "postgresql",
            other => other,
        }
    }

    async fn ping(&self) -> ferry_domain::Result<()> {
        self.0.ping().await
    }
}

/// The SSH facts of the status report: the listener's address, the host
/// keys with their files, and what the SSH adapter offers.
pub fn ssh_facts(settings: &Settings, keys: &[HostKey], bound: SocketAddr) -> SshFacts {
    let offered = ferry_sftp::offered_algorithms();
    let fingerprints = ferry_sftp::host_keys::fingerprints(keys);
    let paths = host_key_paths(settings);
    let host_keys = keys
        .iter()
        .zip(fingerprints)
        .enumerate()
        .map(|(i, (key, fingerprint))| HostKeyFacts {
            path: paths.get(i).map(|p| p.display().to_string()),
            // `fingerprints` prefixes the algorithm; SFTPGo reports the hash.
            fingerprint: fingerprint
                .rsplit(' ')
                .next()
                .unwrap_or_default()
                .to_owned(),
            algorithms: ferry_sftp::host_keys::signature_algorithms(key),
        })
        .collect();
    SshFacts {
        bindings: vec![bound],
        host_keys,
        authentications: offered.authentications,
        public_key_algorithms: offered.public_key,
        macs: offered.macs,
        kex_algorithms: offered.kex,
        ciphers: offered.ciphers,
    }
}

/// The host key files in the order the keys were loaded.
fn host_key_paths(settings: &Settings) -> Vec<PathBuf> {
    if settings.sftpd.host_keys.is_empty() {
        ferry_sftp::host_keys::generated_paths(&settings.data_dir)
    } else {
        settings
            .sftpd
            .host_keys
            .iter()
            .map(|p| settings.resolve(p))
            .collect()
    }
}
