//! The storage contract suite, run against `LocalStorage` in a temporary directory.

mod contract;

use contract::{Fixture, Subject};
use ferry_storage::LocalStorage;
use tempfile::TempDir;

/// A fresh, empty home in its own temporary directory.
struct Local {
    _dir: TempDir,
    storage: LocalStorage,
    secrets: Vec<String>,
}

impl Fixture for Local {
    fn subject(&self) -> Subject<'_> {
        Subject {
            storage: &self.storage,
            secrets: self.secrets.clone(),
            seeder: None,
            renaming: None,
        }
    }
}

async fn local() -> Local {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path().join("home");
    let storage = LocalStorage::new(&root);
    ferry_ports::Storage::ensure_root(&storage)
        .await
        .expect("ensure_root");
    // Errors must not reveal where the home really is.
    let secrets = vec![dir.path().display().to_string(), root.display().to_string()];
    Local {
        _dir: dir,
        storage,
        secrets,
    }
}

contract::suite!(local());
