//! One SFTP-level contract, run on every storage back end: local disk, S3
//! (moto, which holds `<dir>/` markers as S3 does), Google Cloud Storage (a
//! fake of its XML API inside this test process) and Azure Blob (Azurite).
//! The real binary serves each home; OpenSSH's `sftp` is the client.

mod common;

use common::{Cred, KeyPair, Server, all_perms, scratch_dir, sftp, sftp_with, user_json};
use ferry_test_servers::{AzureContainer, Azurite, GcsFake, Moto, MotoBucket};
use futures::StreamExt;
use object_store::path::{Path as Key, PathPart};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde_json::{Value, json};
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Entries of the big listing, seeded straight into the store.
const MANY: usize = 10_000;

enum Store {
    Local,
    S3(MotoBucket),
    Gcs(GcsFake),
    Azure(AzureContainer),
}

/// A back end and the runtime its in-process server runs on.
struct Backend {
    store: Store,
    runtime: tokio::runtime::Runtime,
}

impl Backend {
    fn start(kind: &str) -> Backend {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the storage servers");
        let store = match kind {
            "local" => Store::Local,
            "s3" => Store::S3(Moto::shared().bucket()),
            "gcs" => Store::Gcs(runtime.block_on(GcsFake::start())),
            "azure" => Store::Azure(Azurite::shared().container()),
            other => panic!("unknown back end {other}"),
        };
        Backend { store, runtime }
    }

    /// The user's `filesystem` object, homes under `prefix`.
    fn filesystem(&self, prefix: &str) -> Value {
        match &self.store {
            Store::Local => json!({"provider": 0}),
            Store::S3(s3) => json!({"provider": 1, "s3config": {"bucket": s3.bucket,
                "region": "us-east-1", "endpoint": s3.endpoint, "access_key": s3.access_key,
                "access_secret": {"status": "Plain", "payload": s3.secret},
                "force_path_style": true, "key_prefix": prefix}}),
            Store::Gcs(gcs) => json!({"provider": 2, "gcsconfig": {"bucket": gcs.bucket,
                "credentials": {"status": "Plain", "payload": gcs.service_account_json()},
                "key_prefix": prefix}}),
            Store::Azure(azure) => json!({"provider": 3, "azblobconfig": {
                "container": azure.container, "account_name": azure.account,
                "account_key": {"status": "Plain", "payload": azure.key},
                "endpoint": azure.endpoint, "use_emulator": true, "key_prefix": prefix}}),
        }
    }

    fn client(&self) -> Option<Arc<dyn ObjectStore>> {
        match &self.store {
            Store::Local => None,
            Store::S3(s3) => Some(Arc::new(s3.client())),
            Store::Gcs(gcs) => Some(Arc::new(gcs.client())),
            Store::Azure(azure) => Some(Arc::new(azure.client())),
        }
    }

    /// Writes `names` (empty) under `dir`: straight into the bucket under
    /// `prefix`, or into `home` on local disk.
    fn seed(&self, home: &Path, prefix: &str, dir: &str, names: &[String]) {
        let Some(client) = self.client() else {
            let dir = home.join(dir);
            fs::create_dir_all(&dir).unwrap();
            for name in names {
                fs::write(dir.join(name), b"").unwrap();
            }
            return;
        };
        self.runtime.block_on(async {
            let puts = names.iter().map(|name| {
                let client = client.clone();
                let key = Key::from(format!("{prefix}{dir}/{name}"));
                async move { client.put(&key, PutPayload::from_static(b"")).await }
            });
            let results: Vec<_> = futures::stream::iter(puts)
                .buffer_unordered(32)
                .collect()
                .await;
            for result in results {
                result.expect("seed an object");
            }
        });
    }

    /// Whether the bucket (or the home) holds `key`; a key ending in `/`
    /// is a directory's marker.
    fn holds(&self, home: &Path, prefix: &str, key: &str) -> bool {
        let full = format!("{prefix}{key}");
        if let Store::Azure(azure) = &self.store {
            // object_store's Azure client cannot name a key ending in `/`.
            return azure.has_blob(&full);
        }
        let Some(client) = self.client() else {
            return home.join(key).exists();
        };
        let key = match full.strip_suffix('/') {
            Some(dir) => Key::parse(dir).unwrap().join(PathPart::default()),
            None => Key::parse(&full).unwrap(),
        };
        match self.runtime.block_on(client.head(&key)) {
            Ok(_) => true,
            Err(object_store::Error::NotFound { .. }) => false,
            Err(error) => panic!("head {key}: {error}"),
        }
    }

    /// The secrets the user's storage was given.
    fn secret(&self) -> Option<&str> {
        match &self.store {
            Store::Local => None,
            Store::S3(s3) => Some(&s3.secret),
            Store::Gcs(_) => None,
            Store::Azure(azure) => Some(&azure.key),
        }
    }
}

/// The contract: what a user does with `sftp`, and what the store then holds.
fn contract(kind: &str) {
    let backend = Backend::start(kind);
    let server = Server::start();
    let key = KeyPair::generate();
    let prefix = format!("homes/{kind}-user/");
    let name = format!("{kind}-user");
    let mut user = user_json(&name, None, &[&key.public_line], all_perms());
    user["filesystem"] = backend.filesystem(&prefix);
    server.create_user(&user);
    let home = server.home_of(&name);
    let run = |cwd: &Path, batch: &str| {
        sftp_with(
            &server,
            &name,
            Cred::Key(&key.private),
            cwd,
            batch,
            &[],
            Duration::from_secs(300),
        )
    };

    let local = scratch_dir();
    let l = local.path();
    fs::write(l.join("small.txt"), b"first version\n").unwrap();
    fs::write(l.join("zero"), b"").unwrap();
    common::write_random_file(&l.join("big.bin"), 9 * 1024 * 1024 + 3, 11);
    run(
        l,
        "mkdir d\nput small.txt d/small.txt\nput zero d/zero\nput big.bin d/big.bin\n",
    )
    .assert_ok("put, mkdir, 0-byte file");
    assert!(
        backend.holds(&home, &prefix, "d/small.txt"),
        "{kind}: d/small.txt stored"
    );
    assert!(
        backend.holds(&home, &prefix, "d/zero"),
        "{kind}: the 0-byte file stored"
    );

    // Overwrite with a shorter file: the old tail must not survive.
    fs::write(l.join("small.txt"), b"v2\n").unwrap();
    run(l, "put small.txt d/small.txt\n").assert_ok("overwrite");

    let back = scratch_dir();
    let b = back.path();
    run(b, "get d/small.txt\nget d/zero\nget d/big.bin\n").assert_ok("get");
    assert_eq!(fs::read(b.join("small.txt")).unwrap(), b"v2\n", "{kind}");
    assert_eq!(fs::read(b.join("zero")).unwrap(), b"", "{kind}");
    assert_eq!(
        common::sha256_of(&b.join("big.bin")),
        common::sha256_of(&l.join("big.bin")),
        "{kind}"
    );

    // A ranged read: resume a download cut at an odd offset.
    let whole = fs::read(l.join("big.bin")).unwrap();
    fs::write(b.join("partial.bin"), &whole[..4_000_001]).unwrap();
    run(b, "reget d/big.bin partial.bin\n").assert_ok("reget");
    assert_eq!(
        common::sha256_of(&b.join("partial.bin")),
        common::sha256_of(&l.join("big.bin")),
        "{kind}: reget"
    );

    // Rename and delete; a missing file answers an error.
    run(b, "rename d/small.txt d/renamed.txt\nrm d/zero\n").assert_ok("rename, rm");
    assert!(
        !backend.holds(&home, &prefix, "d/small.txt"),
        "{kind}: renamed away"
    );
    assert!(
        backend.holds(&home, &prefix, "d/renamed.txt"),
        "{kind}: renamed to"
    );
    assert!(!backend.holds(&home, &prefix, "d/zero"), "{kind}: removed");
    run(b, "rm d/zero\n").assert_failed_at("rm d/zero");

    // Directories: a non-empty one stays, an empty one goes.
    run(b, "mkdir e\nmkdir e/f\n").assert_ok("mkdir");
    for dir in ["e/", "e/f/"] {
        assert!(backend.holds(&home, &prefix, dir), "{kind}: {dir} made");
    }
    run(b, "rmdir e\n").assert_failed_at("rmdir e");
    run(b, "rmdir e/f\nrmdir e\n").assert_ok("rmdir of empty directories");
    for dir in ["e/", "e/f/"] {
        assert!(!backend.holds(&home, &prefix, dir), "{kind}: {dir} removed");
    }
    let listing = run(b, "ls -1a\n");
    listing.assert_ok("ls");
    assert!(
        !listing.stdout.lines().any(|l| l.trim() == "e"),
        "{kind}: {}",
        listing.stdout
    );

    // A listing of 10,000 entries seeded straight into the store, one
    // directory of them without any marker.
    let names: Vec<String> = (0..MANY).map(|i| format!("n{i:05}")).collect();
    backend.seed(&home, &prefix, "many", &names);
    let listing = run(b, "ls -1 many\n");
    listing.assert_ok("ls of many");
    let listed: Vec<&str> = listing
        .stdout
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("many/n") || l.starts_with('n'))
        .collect();
    assert_eq!(listed.len(), MANY, "{kind}: entries listed");

    let listing = sftp(&server, &name, Cred::Key(&key.private), b, "ls -l d\n");
    listing.assert_ok("ls -l");
    assert!(
        listing.stdout.contains("renamed.txt"),
        "{kind}: {}",
        listing.stdout
    );
    if let Some(secret) = backend.secret() {
        assert!(
            !server.log().contains(secret),
            "{kind}: a secret is in the log"
        );
    }
}

#[test]
fn the_contract_holds_on_local_disk() {
    contract("local");
}

#[test]
fn the_contract_holds_on_s3() {
    contract("s3");
}

#[test]
fn the_contract_holds_on_gcs() {
    contract("gcs");
}

#[test]
fn the_contract_holds_on_azure_blob() {
    contract("azure");
}
