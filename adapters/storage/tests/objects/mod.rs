//! Object storages on every kind of server the tests have, each fresh and
//! empty: s3s-fs and the GCS fake inside the test process, a container of
//! the shared Azurite, a bucket of the shared moto (see
//! `ferry-test-servers`). Clients get few retries, so a failure shows at once.
//!
//! s3s-fs keeps keys as files and a `<dir>/` key as a directory, which its
//! listings leave out: checks that make directories run on moto, the
//! others on s3s-fs, which also shows its open uploads.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use crate::contract::{Fixture, Seeder, Subject};
use ferry_storage::{AzureSettings, GcsSettings, ObjectStorage, S3Settings, TransferOptions};
use ferry_test_servers::{
    AzureContainer, Azurite, GcsFake, Moto, MotoBucket, S3_ACCESS_KEY, S3_BUCKET, S3_SECRET,
    S3Server,
};
use futures::StreamExt;
use object_store::path::{Path as Key, PathPart};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::sync::Arc;
use std::time::Duration;

/// Where the home under test lives in its bucket.
pub const PREFIX: &str = "homes/alice";

/// One storage on a fresh bucket, the same storage with directory renames
/// turned on, and a client of the bucket around Ferry.
pub struct ObjectFixture<S> {
    pub server: S,
    pub storage: ObjectStorage,
    pub renaming: ObjectStorage,
    pub client: Arc<dyn ObjectStore>,
    pub secrets: Vec<String>,
}

/// Reaches `<dir>/` keys on a server, which not every server can hold.
#[async_trait::async_trait]
pub trait MarkerKeys: Sync {
    /// Writes an empty `key` (ending in `/`); `false` when the server
    /// cannot hold it.
    async fn put_marker(&self, _key: &str) -> bool {
        false
    }

    /// Whether an object is stored under exactly `key`; `None` when the
    /// server cannot hold it.
    async fn marker_exists(&self, _key: &str) -> Option<bool> {
        None
    }
}

/// s3s-fs keeps keys as files: a `<dir>/` key is a directory there, which
/// its listings leave out.
impl MarkerKeys for S3Server {}

#[async_trait::async_trait]
impl MarkerKeys for GcsFake {
    async fn put_marker(&self, key: &str) -> bool {
        self.insert_raw(key, b"");
        true
    }

    async fn marker_exists(&self, key: &str) -> Option<bool> {
        Some(self.contains(key))
    }
}

#[async_trait::async_trait]
impl MarkerKeys for AzureContainer {
    async fn put_marker(&self, key: &str) -> bool {
        self.put_raw_empty(key);
        true
    }

    async fn marker_exists(&self, key: &str) -> Option<bool> {
        Some(self.has_blob(key))
    }
}

#[async_trait::async_trait]
impl MarkerKeys for MotoBucket {
    async fn put_marker(&self, key: &str) -> bool {
        let put = self.client().put(&raw_key(key), PutPayload::new()).await;
        put.expect("put a marker");
        true
    }

    async fn marker_exists(&self, key: &str) -> Option<bool> {
        match self.client().head(&raw_key(key)).await {
            Ok(_) => Some(true),
            Err(object_store::Error::NotFound { .. }) => Some(false),
            Err(error) => panic!("head {key}: {error}"),
        }
    }
}

/// `key` as object_store names it, its trailing `/` kept.
fn raw_key(key: &str) -> Key {
    match key.strip_suffix('/') {
        Some(dir) => Key::parse(dir).expect("a key").join(PathPart::default()),
        None => Key::parse(key).expect("a key"),
    }
}

pub type S3Fixture = ObjectFixture<S3Server>;

impl<S: MarkerKeys> Fixture for ObjectFixture<S> {
    fn subject(&self) -> Subject<'_> {
        Subject {
            storage: &self.storage,
            secrets: self.secrets.clone(),
            seeder: Some(self),
            renaming: Some(&self.renaming),
        }
    }
}

#[async_trait::async_trait]
impl<S: MarkerKeys> Seeder for ObjectFixture<S> {
    async fn empty_files(&self, paths: &[String]) {
        let keys: Vec<Key> = paths
            .iter()
            .map(|path| Key::from(format!("{PREFIX}{path}")))
            .collect();
        let puts = keys.into_iter().map(|key| {
            let client = Arc::clone(&self.client);
            async move { client.put(&key, PutPayload::new()).await.map(drop) }
        });
        let mut puts = futures::stream::iter(puts).buffer_unordered(32);
        while let Some(done) = puts.next().await {
            done.expect("seed an object");
        }
    }

    async fn foreign_dir_marker(&self, dir: &str) -> bool {
        self.server.put_marker(&format!("{PREFIX}{dir}/")).await
    }

    async fn dir_marker_exists(&self, dir: &str) -> Option<bool> {
        self.server.marker_exists(&format!("{PREFIX}{dir}/")).await
    }
}

impl<S> ObjectFixture<S> {
    fn new(
        server: S,
        storage: ObjectStorage,
        client: Arc<dyn ObjectStore>,
        secrets: Vec<String>,
    ) -> Self {
        let renaming = storage.clone().with_directory_renames(true);
        ObjectFixture {
            server,
            storage,
            renaming,
            client,
            secrets,
        }
    }

    async fn ready(self) -> Self {
        ferry_ports::Storage::ensure_root(&self.storage)
            .await
            .expect("ensure_root");
        self
    }
}

// ---- S3 on s3s-fs ------------------------------------------------------------

/// Settings for a storage at `key_prefix` of `server`'s bucket.
pub fn s3_settings(server: &S3Server, key_prefix: &str) -> S3Settings {
    S3Settings {
        region: "us-east-1".into(),
        access_key: S3_ACCESS_KEY.into(),
        access_secret: S3_SECRET.into(),
        endpoint: server.endpoint.clone(),
        force_path_style: true,
        key_prefix: key_prefix.into(),
        transfers: TransferOptions::default(),
        max_retries: 1,
        request_timeout: Duration::from_secs(30),
        ..S3Settings::new(S3_BUCKET)
    }
}

impl S3Fixture {
    pub fn settings(&self, key_prefix: &str) -> S3Settings {
        s3_settings(&self.server, key_prefix)
    }
}

pub async fn s3_fixture() -> S3Fixture {
    s3_fixture_with(TransferOptions::default()).await
}

pub async fn s3_fixture_with(transfers: TransferOptions) -> S3Fixture {
    let server = S3Server::start().await;
    let settings = S3Settings {
        transfers,
        ..s3_settings(&server, PREFIX)
    };
    let storage = ObjectStorage::s3(&settings).expect("S3 storage");
    // Errors must reveal neither the endpoint, the secret, the server's
    // directory nor where in the bucket the home is.
    let secrets = vec![
        server.endpoint.clone(),
        S3_SECRET.to_owned(),
        server.root.display().to_string(),
        PREFIX.to_owned(),
    ];
    let client = Arc::new(server.client());
    // Not `ready()`: the root's `<dir>/` marker would be a directory of
    // s3s-fs, which answers for it without an ETag. The home's root is a
    // prefix like any other here.
    ObjectFixture::new(server, storage, client, secrets)
}

// ---- GCS on the fake ---------------------------------------------------------

pub fn gcs_settings(server: &GcsFake, key_prefix: &str) -> GcsSettings {
    GcsSettings {
        credentials_json: server.service_account_json(),
        key_prefix: key_prefix.into(),
        max_retries: 1,
        request_timeout: Duration::from_secs(30),
        ..GcsSettings::new(server.bucket.clone())
    }
}

pub async fn gcs_fixture() -> ObjectFixture<GcsFake> {
    let server = GcsFake::start().await;
    let storage = ObjectStorage::gcs(&gcs_settings(&server, PREFIX)).expect("GCS storage");
    let secrets = vec![server.base_url.clone(), PREFIX.to_owned()];
    let client = Arc::new(server.client());
    ObjectFixture::new(server, storage, client, secrets)
        .ready()
        .await
}

// ---- Azure on Azurite ----------------------------------------------------------

pub fn azure_settings(container: &AzureContainer, key_prefix: &str) -> AzureSettings {
    AzureSettings {
        account_key: container.key.clone(),
        endpoint: container.endpoint.clone(),
        use_emulator: true,
        key_prefix: key_prefix.into(),
        max_retries: 1,
        request_timeout: Duration::from_secs(30),
        ..AzureSettings::new(container.account.clone(), container.container.clone())
    }
}

pub async fn azure_fixture() -> ObjectFixture<AzureContainer> {
    let container = Azurite::shared().container();
    let storage = ObjectStorage::azure(&azure_settings(&container, PREFIX)).expect("Azure storage");
    let secrets = vec![
        container.endpoint.clone(),
        container.key.clone(),
        PREFIX.to_owned(),
    ];
    let client = Arc::new(container.client());
    ObjectFixture::new(container, storage, client, secrets)
        .ready()
        .await
}

// ---- S3 on moto ------------------------------------------------------------------

pub fn moto_settings(bucket: &MotoBucket, key_prefix: &str) -> S3Settings {
    S3Settings {
        access_key: bucket.access_key.clone(),
        access_secret: bucket.secret.clone(),
        endpoint: bucket.endpoint.clone(),
        force_path_style: true,
        key_prefix: key_prefix.into(),
        max_retries: 1,
        request_timeout: Duration::from_secs(30),
        ..S3Settings::new(bucket.bucket.clone())
    }
}

pub async fn moto_fixture() -> ObjectFixture<MotoBucket> {
    let bucket = Moto::shared().bucket();
    let storage = ObjectStorage::s3(&moto_settings(&bucket, PREFIX)).expect("S3 storage");
    let secrets = vec![
        bucket.endpoint.clone(),
        bucket.secret.clone(),
        PREFIX.to_owned(),
    ];
    let client = Arc::new(bucket.client());
    ObjectFixture::new(bucket, storage, client, secrets)
        .ready()
        .await
}
