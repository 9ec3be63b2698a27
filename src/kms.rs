//! The master key that stored cloud credentials are sealed with: from the
//! settings, from a file they name, or generated once into the data dir.

use crate::config::Settings;
use anyhow::{Context, Result, bail};
use ferry_auth::MasterKeySecrets;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The generated key's file, in the data dir.
pub const GENERATED_KEY_FILE: &str = "kms-master.key";

/// Where the master key came from, for the start-up log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Settings,
    File,
    Generated,
    GeneratedEarlier,
}

/// The secret keeper for `settings`, and where its key came from.
pub fn load(settings: &Settings) -> Result<(MasterKeySecrets, KeySource)> {
    let kms = &settings.kms;
    let (key, source) = if !kms.master_key.is_empty() {
        (kms.master_key.clone(), KeySource::Settings)
    } else if !kms.master_key_file.is_empty() {
        let path = settings.resolve(&kms.master_key_file);
        (read_key(&path)?, KeySource::File)
    } else {
        generated(&settings.data_dir.join(GENERATED_KEY_FILE))?
    };
    let keeper = MasterKeySecrets::new(key.as_bytes())
        .map_err(|e| anyhow::anyhow!("kms master key: {}", e.message()))?;
    Ok((keeper, source))
}

fn read_key(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the kms master key file {}", path.display()))?;
    let key = text.trim_end_matches(['\r', '\n']).to_owned();
    if key.is_empty() {
        bail!("the kms master key file {} is empty", path.display());
    }
    Ok(key)
}

/// Reads the generated key, or creates it (mode 0600) when there is none.
fn generated(path: &Path) -> Result<(String, KeySource)> {
    if path.exists() {
        return Ok((read_key(path)?, KeySource::GeneratedEarlier));
    }
    let key = MasterKeySecrets::generate_master_key()
        .map_err(|e| anyhow::anyhow!("generating a kms master key: {}", e.message()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating the kms master key file {}", path.display()))?;
    writeln!(file, "{key}")
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing the kms master key file {}", path.display()))?;
    Ok((key, KeySource::Generated))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_ports::SecretKeeper;
    use std::os::unix::fs::PermissionsExt;

    fn settings(dir: &Path) -> Settings {
        Settings {
            data_dir: dir.to_path_buf(),
            ..Settings::default()
        }
    }

    #[test]
    fn a_generated_key_is_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (first, source) = load(&settings(dir.path())).unwrap();
        assert_eq!(source, KeySource::Generated);
        let file = dir.path().join(GENERATED_KEY_FILE);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let sealed = first.seal("value", "user:a").unwrap();
        let (second, source) = load(&settings(dir.path())).unwrap();
        assert_eq!(source, KeySource::GeneratedEarlier);
        assert_eq!(second.open(&sealed).unwrap(), "value");
    }

    #[test]
    fn configured_keys_win_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(dir.path());
        s.kms.master_key = "k".repeat(40);
        assert_eq!(load(&s).unwrap().1, KeySource::Settings);
        assert!(!dir.path().join(GENERATED_KEY_FILE).exists());
        s.kms.master_key = "short".into();
        assert!(load(&s).is_err());
        s.kms.master_key = String::new();
        s.kms.master_key_file = "missing.key".into();
        assert!(load(&s).is_err());
        std::fs::write(
            dir.path().join("given.key"),
            format!("{}\n", "x".repeat(32)),
        )
        .unwrap();
        s.kms.master_key_file = "given.key".into();
        assert_eq!(load(&s).unwrap().1, KeySource::File);
    }
}
