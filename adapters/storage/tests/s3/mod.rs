//! An S3 server inside the test process (s3s-fs on 127.0.0.1:0, a fresh
//! directory per test, SigV4 with test credentials) and an
//! [`ObjectStorage`] on it.
//!
//! s3s-fs keeps each key as a file, so a key that is a directory on its disk
//! (`d` while `d/x` exists, or after `d/x` was deleted) makes it fail with a
//! 500 where S3 answers "no such key" or simply stores the object. [`Shim`]
//! gives S3's answers there and passes every other call through.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use crate::contract::{Fixture, Seeder, Subject};
use ferry_storage::{ObjectStorage, S3Settings, TransferOptions};
use futures::StreamExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStoreExt, PutPayload};
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::task::JoinHandle;

pub const BUCKET: &str = "test";
pub const ACCESS_KEY: &str = "ferry-test-key";
pub const SECRET: &str = "ferry-test-secret-0123456789";
pub const PREFIX: &str = "homes/alice";

/// s3s-fs with S3's answers where a key is a directory on its disk.
struct Shim {
    fs: s3s_fs::FileSystem,
    bucket_dir: PathBuf,
}

impl Shim {
    fn is_dir(&self, key: &str) -> bool {
        self.bucket_dir.join(key).is_dir()
    }

    /// Removes an empty directory left where an object is about to be stored.
    fn clear(&self, key: &str) {
        if self.is_dir(key) {
            let _ = std::fs::remove_dir(self.bucket_dir.join(key));
        }
    }
}

#[async_trait::async_trait]
impl S3 for Shim {
    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        if self.is_dir(&req.input.key) {
            return Err(s3_error!(NoSuchKey));
        }
        self.fs.head_object(req).await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        if self.is_dir(&req.input.key) {
            return Err(s3_error!(NoSuchKey));
        }
        self.fs.get_object(req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.clear(&req.input.key);
        self.fs.put_object(req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        self.clear(&req.input.key);
        self.fs.copy_object(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.clear(&req.input.key);
        self.fs.complete_multipart_upload(req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.fs.delete_objects(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.fs.list_objects_v2(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.fs.create_multipart_upload(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.fs.upload_part(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.fs.abort_multipart_upload(req).await
    }
}

/// A running server; stopped when dropped.
pub struct Server {
    pub endpoint: String,
    /// The server's own directory: the bucket and its upload bookkeeping.
    pub root: PathBuf,
    accept: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Server {
    pub async fn start(root: &Path) -> Server {
        let bucket_dir = root.join(BUCKET);
        std::fs::create_dir_all(&bucket_dir).expect("bucket directory");
        let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs");
        let mut builder = s3s::service::S3ServiceBuilder::new(Shim { fs, bucket_dir });
        builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET));
        let service = builder.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let accept = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            while let Ok((socket, _)) = listener.accept().await {
                let connection = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(connection);
            }
        });
        Server {
            endpoint,
            root: root.to_owned(),
            accept,
        }
    }

    /// Settings for a storage on this server: path style, explicit
    /// credentials, and few retries so that a failure shows at once.
    pub fn settings(&self, key_prefix: &str) -> S3Settings {
        S3Settings {
            region: "us-east-1".into(),
            access_key: ACCESS_KEY.into(),
            access_secret: SECRET.into(),
            endpoint: self.endpoint.clone(),
            force_path_style: true,
            key_prefix: key_prefix.into(),
            transfers: TransferOptions::default(),
            max_retries: 1,
            request_timeout: Duration::from_secs(30),
            ..S3Settings::new(BUCKET)
        }
    }

    /// A client of the bucket itself, around Ferry, for seeding and checks.
    pub fn client(&self) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_bucket_name(BUCKET)
            .with_access_key_id(ACCESS_KEY)
            .with_secret_access_key(SECRET)
            .build()
            .expect("S3 client")
    }

    /// Upload bookkeeping files s3s-fs keeps while a multipart upload is open.
    pub fn open_uploads(&self) -> usize {
        self.upload_files().len()
    }

    /// Deletes the record of every open upload: s3s-fs then refuses their parts.
    pub fn forget_uploads(&self) {
        for path in self.upload_files() {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if name.ends_with(".json") {
                std::fs::remove_file(&path).expect("remove an upload record");
            }
        }
    }

    fn upload_files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.root)
            .expect("server root")
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_name().to_string_lossy().starts_with(".upload"))
            .map(|entry| entry.path())
            .collect()
    }
}

/// A fresh server and a storage at [`PREFIX`] of its bucket.
pub struct S3Fixture {
    pub server: Server,
    pub storage: ObjectStorage,
    pub client: Arc<AmazonS3>,
    secrets: Vec<String>,
    _dir: TempDir,
}

impl Fixture for S3Fixture {
    fn subject(&self) -> Subject<'_> {
        Subject {
            storage: &self.storage,
            secrets: self.secrets.clone(),
            seeder: Some(self),
        }
    }
}

#[async_trait::async_trait]
impl Seeder for S3Fixture {
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
}

pub async fn s3_fixture() -> S3Fixture {
    s3_fixture_with(TransferOptions::default()).await
}

pub async fn s3_fixture_with(transfers: TransferOptions) -> S3Fixture {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Server::start(dir.path()).await;
    let settings = S3Settings {
        transfers,
        ..server.settings(PREFIX)
    };
    let storage = ObjectStorage::s3(&settings).expect("S3 storage");
    ferry_ports::Storage::ensure_root(&storage)
        .await
        .expect("ensure_root");
    // Errors must reveal neither the endpoint, the secret, the server's
    // directory nor where in the bucket the home is.
    let secrets = vec![
        server.endpoint.clone(),
        SECRET.to_owned(),
        dir.path().display().to_string(),
        PREFIX.to_owned(),
    ];
    S3Fixture {
        client: Arc::new(server.client()),
        server,
        storage,
        secrets,
        _dir: dir,
    }
}
