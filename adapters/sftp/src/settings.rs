//! The SSH server's settings and the russh configuration built from them.

use crate::sftp::SessionLimits;
use russh::keys::{Algorithm, PrivateKey};
use russh::{MethodKind, MethodSet, Preferred, SshId, cipher, compression, mac};
use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// OpenSSH's SFTP packet limit (256 KiB), announced to clients.
const ANNOUNCED_PACKET_LEN: usize = 256 * 1024;
/// OpenSSH's largest read and write: the packet limit less 1 KiB of headers.
const MAX_READ_LEN: u32 = 256 * 1024 - 1024;

/// How the SSH/SFTP server runs. Build it with [`SftpSettings::new`] and
/// change the fields that need it.
#[derive(Clone)]
pub struct SftpSettings {
    /// Host keys, in order of preference; the client picks one it supports.
    pub host_keys: Vec<PrivateKey>,
    /// The software part of the SSH identification (`SSH-2.0-<this>`).
    pub software_version: String,
    /// A connection that sends nothing for this long is closed; `None` never.
    pub idle_timeout: Option<Duration>,
    /// Time a client has to authenticate after connecting.
    pub login_grace_time: Duration,
    /// Every refused authentication attempt takes at least this long.
    // LIMITATION: russh applies it to refused public key queries too, so a
    // client offering several unknown keys waits this long for each.
    pub auth_rejection_time: Duration,
    /// Failed authentication attempts allowed per connection.
    pub max_auth_tries: usize,
    /// Connections served at once; more are closed on accept. 0: no limit.
    pub max_connections: usize,
    /// Session channels one connection may open.
    pub max_channels_per_connection: usize,
    /// SSH receive window per channel, in bytes. OpenSSH's 2 MiB: a larger
    /// window lets OpenSSH's client queue that much per upload in buffers it
    /// compacts with memmove, which costs it more CPU than the window saves.
    pub window_size: u32,
    /// Requests an SFTP session holds at once; more are answered FAILURE
    /// (OpenSSH's client keeps 64 in flight).
    pub max_requests_in_flight: usize,
    /// Payload bytes (write data and requested reads) an SFTP session holds.
    pub max_bytes_in_flight: usize,
    /// File data an SFTP session reads ahead of its replies leaving: further
    /// reads wait (they are not refused) until russh has taken earlier data
    /// within the client's window. At least one read's worth (255 KiB).
    pub max_reply_bytes: usize,
    /// Longest SFTP packet accepted; a longer one closes the session.
    pub max_packet_len: usize,
    /// Handles an SFTP session may keep open (at least 1), announced through
    /// `limits@openssh.com`.
    pub max_open_handles: usize,
    /// On shutdown, time given to connections to close before they are dropped.
    pub shutdown_grace: Duration,
}

impl SftpSettings {
    /// Defaults close to OpenSSH's, serving with `host_keys`.
    pub fn new(host_keys: Vec<PrivateKey>) -> Self {
        Self {
            host_keys,
            software_version: concat!("Ferry_", env!("CARGO_PKG_VERSION")).to_owned(),
            idle_timeout: Some(Duration::from_secs(15 * 60)),
            login_grace_time: Duration::from_secs(120),
            auth_rejection_time: Duration::from_secs(1),
            max_auth_tries: 6,
            max_connections: 0,
            max_channels_per_connection: 10,
            window_size: 2 * 1024 * 1024,
            max_requests_in_flight: 1024,
            max_bytes_in_flight: 64 * 1024 * 1024,
            max_reply_bytes: 2 * MAX_READ_LEN as usize,
            max_packet_len: 512 * 1024,
            max_open_handles: 256,
            shutdown_grace: Duration::from_secs(10),
        }
    }

    pub(crate) fn session_limits(&self) -> SessionLimits {
        SessionLimits {
            max_packet_len: self.max_packet_len,
            announced_packet_len: ANNOUNCED_PACKET_LEN.min(self.max_packet_len),
            max_read_len: MAX_READ_LEN,
            max_requests: self.max_requests_in_flight.max(1),
            max_bytes: self.max_bytes_in_flight.max(MAX_READ_LEN as usize),
            max_reply_bytes: self.max_reply_bytes.max(MAX_READ_LEN as usize),
            max_open_handles: self.max_open_handles.max(1),
        }
    }

    /// The russh server configuration these settings describe.
    pub(crate) fn russh_config(&self) -> russh::server::Config {
        russh::server::Config {
            server_id: SshId::Standard(Cow::Owned(format!("SSH-2.0-{}", self.software_version))),
            methods: auth_methods(),
            auth_rejection_time: self.auth_rejection_time,
            // OpenSSH opens with a "none" probe to learn the methods; it is
            // answered at once, every later refusal takes the full time.
            auth_rejection_time_initial: Some(Duration::ZERO),
            keys: self.host_keys.clone(),
            window_size: self.window_size,
            preferred: preferred_algorithms(),
            max_auth_attempts: self.max_auth_tries,
            inactivity_timeout: self.idle_timeout,
            nodelay: true,
            ..Default::default()
        }
    }
}

impl fmt::Debug for SftpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SftpSettings")
            .field(
                "host_keys",
                &format_args!("<{} keys>", self.host_keys.len()),
            )
            .field("software_version", &self.software_version)
            .field("idle_timeout", &self.idle_timeout)
            .field("login_grace_time", &self.login_grace_time)
            .field("auth_rejection_time", &self.auth_rejection_time)
            .field("max_auth_tries", &self.max_auth_tries)
            .field("max_connections", &self.max_connections)
            .field(
                "max_channels_per_connection",
                &self.max_channels_per_connection,
            )
            .field("window_size", &self.window_size)
            .field("max_requests_in_flight", &self.max_requests_in_flight)
            .field("max_bytes_in_flight", &self.max_bytes_in_flight)
            .field("max_reply_bytes", &self.max_reply_bytes)
            .field("max_packet_len", &self.max_packet_len)
            .field("max_open_handles", &self.max_open_handles)
            .field("shutdown_grace", &self.shutdown_grace)
            .finish()
    }
}

/// The SSH algorithm and authentication method names the server offers,
/// for status reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedAlgorithms {
    /// Key exchange algorithms, most preferred first.
    pub kex: Vec<String>,
    /// Public key signature algorithms.
    pub public_key: Vec<String>,
    /// Ciphers.
    pub ciphers: Vec<String>,
    /// MAC algorithms (used with non-AEAD ciphers only).
    pub macs: Vec<String>,
    /// Authentication methods: `publickey`, `password`.
    pub authentications: Vec<String>,
}

/// What [`serve`](crate::serve) offers clients, by name.
pub fn offered_algorithms() -> OfferedAlgorithms {
    let preferred = preferred_algorithms();
    OfferedAlgorithms {
        kex: names(&preferred.kex),
        public_key: preferred.key.iter().map(ToString::to_string).collect(),
        ciphers: names(&preferred.cipher),
        macs: names(&preferred.mac),
        // Kept in step with `auth_methods`, whose set has no name accessor.
        authentications: names(&["publickey", "password"]),
    }
}

fn names<N: AsRef<str>>(list: &[N]) -> Vec<String> {
    list.iter().map(|n| n.as_ref().to_owned()).collect()
}

pub(crate) fn auth_methods() -> MethodSet {
    MethodSet::from(&[MethodKind::PublicKey, MethodKind::Password][..])
}

/// russh's defaults, plus aes128-gcm, minus SHA-1 RSA signatures,
/// encrypt-and-MAC MACs and compression.
fn preferred_algorithms() -> Preferred {
    let defaults = Preferred::DEFAULT;
    let key = defaults
        .key
        .iter()
        .filter(|algorithm| !is_sha1_rsa(algorithm))
        .cloned()
        .collect::<Vec<_>>();
    let mut ciphers = defaults.cipher.to_vec();
    ciphers.insert(1, cipher::AES_128_GCM);
    Preferred {
        key: Cow::Owned(key),
        cipher: Cow::Owned(ciphers),
        mac: Cow::Borrowed(&[mac::HMAC_SHA512_ETM, mac::HMAC_SHA256_ETM]),
        compression: Cow::Borrowed(&[compression::NONE]),
        ..defaults
    }
}

/// `ssh-rsa`: RSA signed with SHA-1.
pub(crate) fn is_sha1_rsa(algorithm: &Algorithm) -> bool {
    matches!(algorithm, Algorithm::Rsa { hash: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh::keys::HashAlg;

    #[test]
    fn algorithms_follow_the_policy() {
        let preferred = preferred_algorithms();
        assert!(preferred.cipher.contains(&cipher::AES_128_GCM));
        assert!(preferred.cipher.contains(&cipher::CHACHA20_POLY1305));
        assert!(!preferred.key.iter().any(is_sha1_rsa));
        assert!(preferred.key.contains(&Algorithm::Rsa {
            hash: Some(HashAlg::Sha256)
        }));
        assert!(!preferred.mac.contains(&mac::HMAC_SHA256));
        assert_eq!(&preferred.compression[..], &[compression::NONE]);
    }

    #[test]
    fn offered_names_follow_the_policy() {
        let offered = offered_algorithms();
        let gcm = "aes128-gcm@openssh.com";
        assert!(offered.ciphers.iter().any(|c| c == gcm));
        assert!(!offered.public_key.iter().any(|k| k == "ssh-rsa"));
        assert!(offered.public_key.iter().any(|k| k == "rsa-sha2-256"));
        assert!(!offered.kex.is_empty() && !offered.macs.is_empty());
        assert_eq!(offered.authentications, ["publickey", "password"]);
    }
}
