//! SSH host keys: loading the operator's OpenSSH key files, or generating
//! Ferry's own once in the data directory.

use rand::SeedableRng;
use rand::rngs::{StdRng, SysRng};
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::{KeypairData, RsaKeypair};
use russh::keys::{Algorithm, EcdsaCurve, HashAlg, PrivateKey};
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A host key, as [`load`] and [`load_or_generate`] return it.
pub type HostKey = PrivateKey;

/// The keys [`load_or_generate`] keeps, in the order it returns them.
const GENERATED: [(&str, KeyType); 3] = [
    ("ssh_host_ed25519_key", KeyType::Ed25519),
    ("ssh_host_ecdsa_key", KeyType::EcdsaP256),
    ("ssh_host_rsa_key", KeyType::Rsa3072),
];

const RSA_BITS: usize = 3072;

#[derive(Debug, Clone, Copy)]
enum KeyType {
    Ed25519,
    EcdsaP256,
    Rsa3072,
}

/// A host key could not be read, generated or stored.
#[derive(Debug, thiserror::Error)]
pub enum HostKeyError {
    /// The file could not be read.
    #[error("cannot read host key {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not an unencrypted OpenSSH private key.
    #[error("host key {path} is not a usable OpenSSH private key: {reason}")]
    Invalid { path: PathBuf, reason: String },
    /// Key generation failed (no randomness from the system, for instance).
    #[error("cannot generate a host key: {0}")]
    Generate(String),
    /// The directory or the new key file could not be written.
    #[error("cannot store host key {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// [`load`] was given no path.
    #[error("no host key given")]
    Empty,
}

/// Reads OpenSSH private key files (paths given by the operator).
/// Encrypted keys are refused: the server has no one to ask for a passphrase.
pub fn load(paths: &[PathBuf]) -> Result<Vec<PrivateKey>, HostKeyError> {
    if paths.is_empty() {
        return Err(HostKeyError::Empty);
    }
    paths.iter().map(|path| read_key(path)).collect()
}

/// Loads `ssh_host_ed25519_key`, `ssh_host_ecdsa_key` (P-256) and
/// `ssh_host_rsa_key` (3072 bits) from `dir`, generating the missing ones
/// once (OpenSSH format, mode 0600); returns them in that order.
pub fn load_or_generate(dir: &Path) -> Result<Vec<PrivateKey>, HostKeyError> {
    fs::create_dir_all(dir).map_err(|source| HostKeyError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let mut keys = Vec::with_capacity(GENERATED.len());
    for (name, kind) in GENERATED {
        let path = dir.join(name);
        if !path.exists() {
            generate_into(&path, kind)?;
        }
        keys.push(read_key(&path)?);
    }
    Ok(keys)
}

/// SHA256 fingerprints for logging and status, as `ssh-keygen -l` prints
/// them: `<algorithm> SHA256:<base64>`.
pub fn fingerprints(keys: &[PrivateKey]) -> Vec<String> {
    keys.iter()
        .map(|key| format!("{} {}", key.algorithm(), key.fingerprint(HashAlg::Sha256)))
        .collect()
}

/// The files [`load_or_generate`] reads in `dir`, in the order it returns
/// their keys.
pub fn generated_paths(dir: &Path) -> Vec<PathBuf> {
    GENERATED.iter().map(|(name, _)| dir.join(name)).collect()
}

/// The signature algorithms a host key serves, as SSH names them. An RSA
/// key serves the SHA-2 variants only: SHA-1 signatures are not offered.
pub fn signature_algorithms(key: &PrivateKey) -> Vec<String> {
    match key.algorithm() {
        Algorithm::Rsa { .. } => [HashAlg::Sha512, HashAlg::Sha256]
            .into_iter()
            .map(|hash| Algorithm::Rsa { hash: Some(hash) }.to_string())
            .collect(),
        other => vec![other.to_string()],
    }
}

fn read_key(path: &Path) -> Result<PrivateKey, HostKeyError> {
    let text = fs::read_to_string(path).map_err(|source| HostKeyError::Read {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |reason: String| HostKeyError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let key = PrivateKey::from_openssh(text).map_err(|e| invalid(e.to_string()))?;
    if key.is_encrypted() {
        return Err(invalid("the key is encrypted".to_owned()));
    }
    Ok(key)
}

/// Writes a new key to `path` without ever replacing one: the key goes to a
/// private temporary file that is then hard-linked into place, so a reader
/// never sees half a key and two servers starting together keep one key.
fn generate_into(path: &Path, kind: KeyType) -> Result<(), HostKeyError> {
    let key = generate(kind)?;
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| HostKeyError::Generate(e.to_string()))?;
    let temp = temp_path(path);
    let write_error = |source| HostKeyError::Write {
        path: path.to_owned(),
        source,
    };
    write_private(&temp, text.as_bytes()).map_err(write_error)?;
    let linked = fs::hard_link(&temp, path);
    let _ = fs::remove_file(&temp);
    match linked {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(write_error(e)),
        _ => Ok(()),
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

fn generate(kind: KeyType) -> Result<PrivateKey, HostKeyError> {
    let failed = |e: &dyn std::fmt::Display| HostKeyError::Generate(e.to_string());
    let mut rng = StdRng::try_from_rng(&mut SysRng).map_err(|e| failed(&e))?;
    let mut key = match kind {
        KeyType::Ed25519 => PrivateKey::random(&mut rng, Algorithm::Ed25519),
        KeyType::EcdsaP256 => PrivateKey::random(
            &mut rng,
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256,
            },
        ),
        KeyType::Rsa3072 => RsaKeypair::random(&mut rng, RSA_BITS)
            .and_then(|pair| PrivateKey::new(KeypairData::from(pair), "")),
    }
    .map_err(|e| failed(&e))?;
    key.set_comment("ferry host key");
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_kept_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_generate(dir.path()).unwrap();
        let algorithms: Vec<_> = first.iter().map(|k| k.algorithm().to_string()).collect();
        assert_eq!(
            algorithms,
            ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"]
        );
        let second = load_or_generate(dir.path()).unwrap();
        assert_eq!(fingerprints(&first), fingerprints(&second));
        let mode = fs::metadata(dir.path().join("ssh_host_rsa_key"))
            .unwrap()
            .permissions();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o777, 0o600);
        assert!(fingerprints(&first)[0].starts_with("ssh-ed25519 SHA256:"));
    }

    #[test]
    fn load_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        fs::write(&path, "not a key").unwrap();
        assert!(matches!(load(&[path]), Err(HostKeyError::Invalid { .. })));
        assert!(matches!(load(&[]), Err(HostKeyError::Empty)));
    }
}
