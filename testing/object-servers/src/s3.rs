//! An S3 server inside the test process: s3s-fs on 127.0.0.1:0, a fresh
//! temporary directory per server, SigV4 with test credentials.
//!
//! s3s-fs keeps each key as a file, so a key that is a directory on its disk
//! (`d` while `d/x` exists, or after `d/x` was deleted) makes it fail with a
//! 500 where S3 answers "no such key" or simply stores the object. [`Shim`]
//! gives S3's answers there and passes every other call through.

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use tokio::task::JoinHandle;

/// The bucket every [`S3Server`] has.
pub const S3_BUCKET: &str = "test";
pub const S3_ACCESS_KEY: &str = "ferry-test-key";
pub const S3_SECRET: &str = "ferry-test-secret-0123456789";

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

/// A running s3s-fs server with the bucket [`S3_BUCKET`]; it stops, and a
/// temporary directory of its own goes, when dropped. Runs on the Tokio runtime that started it.
pub struct S3Server {
    /// `http://127.0.0.1:<port>`, for path-style requests.
    pub endpoint: String,
    /// The server's own directory: the bucket and its upload bookkeeping.
    pub root: PathBuf,
    accept: JoinHandle<()>,
    /// The temporary directory [`S3Server::start`] made, removed on drop.
    _dir: Option<TempDir>,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl S3Server {
    /// Starts a server in a fresh temporary directory.
    pub async fn start() -> S3Server {
        let dir = tempfile::tempdir().expect("a temporary directory for s3s-fs");
        let mut server = Self::start_in(dir.path())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        server._dir = Some(dir);
        server
    }

    /// Starts a server over `root`, which must exist and becomes the
    /// server's: it creates the bucket's directory there.
    pub async fn start_in(root: &Path) -> Result<S3Server, String> {
        let root = root.to_owned();
        let bucket_dir = root.join(S3_BUCKET);
        std::fs::create_dir_all(&bucket_dir)
            .map_err(|e| format!("the bucket's directory {}: {e}", bucket_dir.display()))?;
        let fs = s3s_fs::FileSystem::new(&root)
            .map_err(|e| format!("s3s-fs on {}: {e:?}", root.display()))?;
        let mut builder = s3s::service::S3ServiceBuilder::new(Shim { fs, bucket_dir });
        builder.set_auth(s3s::auth::SimpleAuth::from_single(S3_ACCESS_KEY, S3_SECRET));
        let service = builder.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
        let address = listener
            .local_addr()
            .map_err(|e| format!("the listener's address: {e}"))?;
        let accept = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            while let Ok((socket, _)) = listener.accept().await {
                let connection = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(connection);
            }
        });
        Ok(S3Server {
            endpoint: format!("http://{address}"),
            root,
            accept,
            _dir: None,
        })
    }

    /// A client of the bucket itself, for seeding and checks.
    pub fn client(&self) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_bucket_name(S3_BUCKET)
            .with_access_key_id(S3_ACCESS_KEY)
            .with_secret_access_key(S3_SECRET)
            .build()
            .expect("S3 client")
    }

    /// Upload bookkeeping files s3s-fs keeps while a multipart upload is open.
    pub fn open_uploads(&self) -> usize {
        upload_files(&self.root).len()
    }

    /// Deletes the record of every open upload: s3s-fs then refuses their parts.
    pub fn forget_uploads(&self) {
        for path in upload_files(&self.root) {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if name.ends_with(".json") {
                std::fs::remove_file(&path).expect("remove an upload record");
            }
        }
    }
}

fn upload_files(root: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(root)
        .expect("server root")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(".upload"))
        .map(|entry| entry.path())
        .collect()
}
