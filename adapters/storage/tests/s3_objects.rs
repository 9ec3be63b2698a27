//! What only object storage does: directories as key prefixes and markers,
//! uploads that stay invisible until closed, the key prefix as the jail,
//! and how the store's refusals reach a client.

mod contract;
mod objects;

use bytes::Bytes;
use contract::{Fixture, check_pattern, list, pattern, read_options, vp, write_file};
use ferry_domain::ErrorKind;
use ferry_ports::{FileKind, OpenOptions, Storage};
use ferry_storage::{ObjectStorage, S3Settings, TransferOptions};
use futures::stream::BoxStream;
use object_store::list::{PaginatedListOptions, PaginatedListResult, PaginatedListStore};
use object_store::path::Path as Key;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use objects::{MarkerKeys, PREFIX, S3Fixture, moto_fixture, s3_fixture, s3_fixture_with};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn key(path: &str) -> Key {
    Key::from(format!("{PREFIX}{path}"))
}

async fn seed(fixture: &S3Fixture, path: &str, data: &'static [u8]) {
    let key = key(path);
    let put = fixture.client.put(&key, PutPayload::from_static(data));
    put.await.expect("seed an object");
}

#[tokio::test]
async fn prefixes_without_markers_are_directories() {
    let fixture = s3_fixture().await;
    let s = fixture.subject();
    seed(&fixture, "/a/b/c.txt", b"deep").await;

    for dir in ["/a", "/a/b"] {
        assert_eq!(s.stat(&vp(dir)).await.unwrap().kind, FileKind::Dir, "{dir}");
    }
    assert_eq!(list(s.storage, "/").await.unwrap(), ["a"]);
    assert_eq!(list(s.storage, "/a").await.unwrap(), ["b"]);
    let mut entries = s.read_dir(&vp("/a")).await.unwrap();
    let entry = futures::StreamExt::next(&mut entries)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (entry.metadata.kind, entry.metadata.mtime),
        (FileKind::Dir, 0)
    );
    let busy = s.fails(s.remove_dir(&vp("/a")).await, ErrorKind::Conflict);
    assert_eq!(busy.message(), "directory not empty");

    // Without a marker, a directory lasts as long as something is under it.
    s.remove_file(&vp("/a/b/c.txt")).await.unwrap();
    s.fails(s.stat(&vp("/a")).await, ErrorKind::NotFound);
    assert!(list(s.storage, "/").await.unwrap().is_empty());
}

/// Whether the `<dir>/` marker of `dir` is in moto's bucket.
async fn has_marker(bucket: &ferry_test_servers::MotoBucket, dir: &str) -> bool {
    let exists = bucket.marker_exists(&format!("{PREFIX}{dir}/")).await;
    exists.expect("moto holds markers")
}

// On moto: s3s-fs keeps keys as files, and a `<dir>/` key as a directory
// that its listings leave out.
#[tokio::test]
async fn created_directories_have_markers() {
    let fixture = moto_fixture().await;
    let s = fixture.subject();
    s.create_dir(&vp("/m"), None).await.unwrap();
    assert!(has_marker(&fixture.server, "/m").await);
    assert!(list(s.storage, "/m").await.unwrap().is_empty());
    assert!(s.stat(&vp("/m")).await.unwrap().mtime > 0);

    // The marker keeps the directory when its last file goes.
    write_file(s.storage, "/m/f", b"x").await;
    s.remove_file(&vp("/m/f")).await.unwrap();
    assert_eq!(s.stat(&vp("/m")).await.unwrap().kind, FileKind::Dir);
    s.remove_dir(&vp("/m")).await.unwrap();
    assert!(!has_marker(&fixture.server, "/m").await);
    s.fails(s.stat(&vp("/m")).await, ErrorKind::NotFound);

    // Other names are only names: nothing in a directory is reserved.
    s.create_dir(&vp("/n"), None).await.unwrap();
    write_file(s.storage, "/n/.ferry-dir", b"mine").await;
    assert_eq!(list(s.storage, "/n").await.unwrap(), [".ferry-dir"]);
}

#[tokio::test]
async fn nothing_is_visible_until_close() {
    let fixture = s3_fixture().await;
    let s = fixture.subject();
    let handle = s
        .open(&vp("/pending"), contract::create_options())
        .await
        .unwrap();
    let size = 6 * 1024 * 1024 + 1;
    handle
        .write_at(0, Bytes::from(pattern(0, size)))
        .await
        .unwrap();
    assert_eq!(handle.metadata().await.unwrap().size, size as u64);
    s.fails(s.stat(&vp("/pending")).await, ErrorKind::NotFound);
    assert!(list(s.storage, "/").await.unwrap().is_empty());

    handle.close().await.unwrap();
    check_pattern(s.storage, "/pending", size as u64, 1 << 20).await;
    assert_eq!(fixture.server.open_uploads(), 0);
}

#[tokio::test]
async fn a_dropped_handle_leaves_nothing() {
    let fixture = s3_fixture().await;
    let s = fixture.subject();

    // Smaller than a part: nothing was sent at all.
    let small = s
        .open(&vp("/small"), contract::create_options())
        .await
        .unwrap();
    small
        .write_at(0, Bytes::from_static(b"never"))
        .await
        .unwrap();
    drop(small);
    s.fails(s.stat(&vp("/small")).await, ErrorKind::NotFound);

    // Larger: a multipart upload was under way and is aborted.
    let large = s
        .open(&vp("/large"), contract::create_options())
        .await
        .unwrap();
    let size = 12 * 1024 * 1024;
    large
        .write_at(0, Bytes::from(pattern(0, size)))
        .await
        .unwrap();
    assert!(fixture.server.open_uploads() > 0, "no upload started");
    drop(large);
    let deadline = Instant::now() + Duration::from_secs(10);
    while fixture.server.open_uploads() > 0 {
        assert!(Instant::now() < deadline, "the upload was not aborted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.fails(s.stat(&vp("/large")).await, ErrorKind::NotFound);
    assert!(list(s.storage, "/").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_gap_left_at_close_writes_nothing() {
    let fixture = s3_fixture().await;
    let s = fixture.subject();
    let handle = s
        .open(&vp("/gap"), contract::create_options())
        .await
        .unwrap();
    handle
        .write_at(0, Bytes::from(pattern(0, 1024)))
        .await
        .unwrap();
    handle
        .write_at(4096, Bytes::from(pattern(4096, 1024)))
        .await
        .unwrap();
    s.fails(handle.close().await, ErrorKind::Unsupported);
    s.fails(s.stat(&vp("/gap")).await, ErrorKind::NotFound);
}

#[tokio::test]
async fn a_failed_part_fails_the_whole_file() {
    let transfers = TransferOptions {
        upload_concurrency: 1,
        ..TransferOptions::default()
    };
    let fixture = s3_fixture_with(transfers).await;
    let s = fixture.subject();
    let part = 5 * 1024 * 1024;
    let handle = s
        .open(&vp("/broken"), contract::create_options())
        .await
        .unwrap();
    handle
        .write_at(0, Bytes::from(pattern(0, part)))
        .await
        .unwrap();
    // The store forgets the upload, as when it expires: its parts now fail.
    fixture.server.forget_uploads();

    let mut offset = part as u64;
    let mut failed = None;
    for _ in 0..4 {
        let data = Bytes::from(pattern(offset, part));
        if let Err(error) = handle.write_at(offset, data).await {
            failed = Some(error);
            break;
        }
        offset += part as u64;
    }
    let failed = failed.expect("a failed part is reported by a later write");
    s.assert_no_secret(&failed);
    // Nothing more is accepted, and no file with a hole appears.
    let again = handle.write_at(offset, Bytes::from_static(b"x")).await;
    assert_eq!(again.unwrap_err().kind(), failed.kind());
    assert!(handle.close().await.is_err());
    s.fails(s.stat(&vp("/broken")).await, ErrorKind::NotFound);
}

#[tokio::test]
async fn existing_files_are_only_replaced() {
    let fixture = s3_fixture().await;
    let s = fixture.subject();
    write_file(s.storage, "/f", b"kept").await;
    let patch = OpenOptions {
        write: true,
        ..Default::default()
    };
    s.fails(s.open(&vp("/f"), patch).await, ErrorKind::Unsupported);
    let append = OpenOptions {
        write: true,
        append: true,
        create: true,
        ..Default::default()
    };
    s.fails(s.open(&vp("/new"), append).await, ErrorKind::Unsupported);
    let missing = s.open(&vp("/ghost"), patch).await;
    s.fails(missing, ErrorKind::NotFound);
    assert_eq!(contract::read_file(s.storage, "/f").await.unwrap(), b"kept");

    // Symlinks do not exist; resolving changes nothing.
    s.fails(s.read_link(&vp("/f")).await, ErrorKind::Unsupported);
    assert_eq!(s.resolve(&vp("/a/../f"), true).await.unwrap(), vp("/f"));
}

#[tokio::test]
async fn a_wrong_secret_is_refused_without_leaks() {
    let fixture = s3_fixture().await;
    let settings = S3Settings {
        access_secret: "not-the-secret".into(),
        ..fixture.settings(PREFIX)
    };
    let storage = ObjectStorage::s3(&settings).unwrap();
    let error = storage.stat(&vp("/anything")).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error}");
    let text = error.to_string();
    for secret in ["not-the-secret", fixture.server.endpoint.as_str(), PREFIX] {
        assert!(!text.contains(secret), "leaks {secret}: {text}");
    }
}

#[tokio::test]
async fn an_unreachable_store_is_unavailable() {
    // Port 1 on loopback: nothing listens there.
    let settings = S3Settings {
        endpoint: "http://127.0.0.1:1".into(),
        access_key: "key".into(),
        access_secret: "secret-value".into(),
        force_path_style: true,
        max_retries: 0,
        ..S3Settings::new("bucket")
    };
    let storage = ObjectStorage::s3(&settings).unwrap();
    let error = storage.stat(&vp("/f")).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
    assert!(!error.to_string().contains("127.0.0.1:1"), "{error}");
}

/// A store in front of S3 that counts the GETs of object data passed
/// through, and fails every copy once a number of them succeeded.
#[derive(Debug)]
struct CountingGets {
    inner: object_store::aws::AmazonS3,
    gets: AtomicUsize,
    unranged: AtomicUsize,
    copies_left: AtomicUsize,
}

impl CountingGets {
    fn new(inner: object_store::aws::AmazonS3) -> Self {
        Self {
            inner,
            gets: AtomicUsize::new(0),
            unranged: AtomicUsize::new(0),
            copies_left: AtomicUsize::new(usize::MAX),
        }
    }
}

impl std::fmt::Display for CountingGets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CountingGets({})", self.inner)
    }
}

#[async_trait::async_trait]
impl ObjectStore for CountingGets {
    async fn put_opts(
        &self,
        location: &Key,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Key,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Key,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        if !options.head {
            self.gets.fetch_add(1, Ordering::SeqCst);
            if options.range.is_none() {
                self.unranged.fetch_add(1, Ordering::SeqCst);
            }
        }
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Key>>,
    ) -> BoxStream<'static, object_store::Result<Key>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Key>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Key>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Key,
        to: &Key,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        let left = self
            .copies_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if left.is_err() {
            return Err(object_store::Error::Generic {
                store: "S3",
                source: "injected copy failure".into(),
            });
        }
        self.inner.copy_opts(from, to, options).await
    }
}

#[async_trait::async_trait]
impl PaginatedListStore for CountingGets {
    async fn list_paginated(
        &self,
        prefix: Option<&str>,
        opts: PaginatedListOptions,
    ) -> object_store::Result<PaginatedListResult> {
        self.inner.list_paginated(prefix, opts).await
    }
}

#[tokio::test]
async fn reads_are_ranged_blocks_fetched_ahead() {
    let fixture = s3_fixture().await;
    let counting = Arc::new(CountingGets::new(fixture.server.client()));
    // Any object_store client fits behind the same type.
    let storage = ObjectStorage::new(
        counting.clone(),
        PREFIX,
        Some(&fixture.server.endpoint),
        TransferOptions::default(),
    )
    .unwrap();
    let size = 10 * 1024 * 1024;
    contract::write_pattern(&storage, "/seq", size, 1 << 20).await;

    let gets = || counting.gets.load(Ordering::SeqCst);
    let blocks = size.div_ceil(TransferOptions::default().download_block_size as u64) as usize;
    assert_eq!(blocks, 3);

    // The first read fetches its block and starts the next two.
    let handle = storage.open(&vp("/seq"), read_options()).await.unwrap();
    handle.read_at(0, 32 * 1024).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while gets() < blocks {
        assert!(Instant::now() < deadline, "no read-ahead: {} GETs", gets());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(handle);

    // 320 requests of 32 KiB, as an SFTP client sends them: one GET per block.
    check_pattern(&storage, "/seq", size, 32 * 1024).await;
    assert_eq!(gets(), 2 * blocks);
    assert_eq!(counting.unranged.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_failed_copy_leaves_a_directory_where_it_was() {
    let fixture = moto_fixture().await;
    let store = Arc::new(CountingGets::new(fixture.server.client()));
    let storage = ObjectStorage::new(
        store.clone(),
        PREFIX,
        Some(&fixture.server.endpoint),
        TransferOptions::default(),
    )
    .unwrap()
    .with_directory_renames(true);
    assert!(storage.capabilities().rename_dirs);
    storage.create_dir(&vp("/d"), None).await.unwrap();
    storage.create_dir(&vp("/d/sub"), None).await.unwrap();
    let names = ["a", "b", "c", "e", "f", "sub"];
    for name in &names[..5] {
        write_file(&storage, &format!("/d/{name}"), name.as_bytes()).await;
    }
    write_file(&storage, "/d/sub/g", b"g").await;

    // Three of the seven copies (five files, `sub/` and `sub/g`) succeed,
    // then the store fails.
    store.copies_left.store(3, Ordering::SeqCst);
    let error = storage.rename(&vp("/d"), &vp("/moved"), false).await;
    let error = error.expect_err("a failed copy fails the rename");
    fixture.subject().assert_no_secret(&error);
    assert_eq!(list(&storage, "/d").await.unwrap(), names);
    assert_eq!(list(&storage, "/d/sub").await.unwrap(), ["g"]);
    assert_eq!(contract::read_file(&storage, "/d/e").await.unwrap(), b"e");
    assert_eq!(
        storage.stat(&vp("/moved")).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    for copied in ["/moved/a", "/moved/sub/g"] {
        let left = fixture.client.head(&key(copied)).await;
        let gone = matches!(left, Err(object_store::Error::NotFound { .. }));
        assert!(gone, "{copied} was left behind");
    }
    for dir in ["/moved", "/moved/sub"] {
        assert!(
            !has_marker(&fixture.server, dir).await,
            "{dir}/ was left behind"
        );
    }

    // Once the store works again, the same rename goes through.
    store.copies_left.store(usize::MAX, Ordering::SeqCst);
    storage
        .rename(&vp("/d"), &vp("/moved"), false)
        .await
        .unwrap();
    assert_eq!(list(&storage, "/moved").await.unwrap(), names);
    assert_eq!(
        contract::read_file(&storage, "/moved/sub/g").await.unwrap(),
        b"g"
    );
    assert_eq!(
        storage.stat(&vp("/d")).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    for (dir, present) in [
        ("/moved", true),
        ("/moved/sub", true),
        ("/d", false),
        ("/d/sub", false),
    ] {
        assert_eq!(has_marker(&fixture.server, dir).await, present, "{dir}/");
    }
}
