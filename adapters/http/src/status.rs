//! What `GET /api/v2/status` reports beyond what the ports answer: facts
//! about the SSH service gathered once at start-up and handed over as data,
//! so this crate needs no SSH library.

use std::net::SocketAddr;

/// The SSH service as the status report shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshFacts {
    /// The addresses the SSH listener is bound to; none means not active.
    pub bindings: Vec<SocketAddr>,
    /// The host keys the server presents.
    pub host_keys: Vec<HostKeyFacts>,
    /// The SSH authentication methods offered (`publickey`, `password`).
    pub authentications: Vec<String>,
    /// Public key (and host key) signature algorithms offered.
    pub public_key_algorithms: Vec<String>,
    /// MAC algorithms offered.
    pub macs: Vec<String>,
    /// Key exchange algorithms offered.
    pub kex_algorithms: Vec<String>,
    /// Ciphers offered.
    pub ciphers: Vec<String>,
}

/// One SSH host key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostKeyFacts {
    /// The key file, when the key came from one.
    pub path: Option<String>,
    /// `SHA256:<base64>`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// The signature algorithms this key serves (`ssh-ed25519`,
    /// `rsa-sha2-512`, ...).
    pub algorithms: Vec<String>,
}
