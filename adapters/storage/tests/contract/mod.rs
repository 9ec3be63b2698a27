//! The storage contract, written once over `&dyn Storage` and run against
//! every back end: each back end's test file declares `mod contract;` and
//! calls [`suite!`] with an async expression that builds a fresh, empty
//! [`Fixture`]. One `#[tokio::test]` is generated per check, so each runs on
//! its own storage and fails under its own name.
//!
//! Checks adapt to [`Capabilities`]: a back end without symlinks must answer
//! `Unsupported`, not pretend. Every error a check expects is also checked
//! for leaks: its message and log text must not contain any of the
//! fixture's secrets (the real root path, a bucket's endpoint).

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use bytes::Bytes;
use ferry_domain::{Error, ErrorKind, Result, VirtualPath};
use ferry_ports::{FileKind, OpenOptions, SetAttributes, Storage};
use futures::StreamExt;
use std::collections::HashMap;
use std::ops::Deref;

/// A storage under test and the strings no error may reveal.
pub struct Subject<'a> {
    pub storage: &'a dyn Storage,
    pub secrets: Vec<String>,
    /// A faster way to create many empty files than the port, if the back end has one.
    pub seeder: Option<&'a dyn Seeder>,
    /// The same storage with a setting that changes its capabilities
    /// (directory renames on object storage), checked alongside it.
    pub renaming: Option<&'a dyn Storage>,
}

/// Creates many empty files straight in a back end's own store, for checks
/// whose subject is reading them, not writing them.
#[async_trait::async_trait]
pub trait Seeder: Sync {
    /// Creates an empty file at each path; their directories exist already.
    async fn empty_files(&self, paths: &[String]);

    /// Marks `dir` as a directory the way other tools do on object storage
    /// (an empty `<dir>/` key). `false` when the store cannot hold such a key.
    async fn foreign_dir_marker(&self, _dir: &str) -> bool {
        false
    }

    /// Whether the empty `<dir>/` key of `dir` exists; `None` when the store
    /// cannot hold such a key.
    async fn dir_marker_exists(&self, _dir: &str) -> Option<bool> {
        None
    }
}

/// What a back end's test file builds for each check.
pub trait Fixture {
    fn subject(&self) -> Subject<'_>;
}

impl Deref for Subject<'_> {
    type Target = dyn Storage;

    fn deref(&self) -> &Self::Target {
        self.storage
    }
}

impl Subject<'_> {
    /// Asserts that `result` failed with `kind` and leaks no secret.
    #[track_caller]
    pub fn fails<T>(&self, result: Result<T>, kind: ErrorKind) -> Error {
        let error = match result {
            Ok(_) => panic!("expected {kind:?}, got success"),
            Err(error) => error,
        };
        assert_eq!(error.kind(), kind, "unexpected error: {error}");
        self.assert_no_secret(&error);
        error
    }

    /// Asserts that `error` shows none of the secrets, to the client or the log.
    #[track_caller]
    pub fn assert_no_secret(&self, error: &Error) {
        for secret in &self.secrets {
            assert!(
                !error.message().contains(secret.as_str()),
                "message leaks: {error}"
            );
            assert!(
                !error.to_string().contains(secret.as_str()),
                "detail leaks: {error}"
            );
        }
    }
}

/// Generates one test per contract check for a back end.
#[allow(unused_macros)]
macro_rules! suite {
    ($make:expr) => {
        $crate::contract::suite!(@checks $make;
            write_then_read_back, overwrite_truncates_or_patches, append_goes_to_the_end,
            exclusive_create, open_missing, open_directory, read_past_the_end_is_empty,
            out_of_order_writes, concurrent_reads_share_a_handle, closed_handle_refuses_calls,
            handle_metadata_and_attributes, directories, remove_missing, remove_wrong_kind,
            rename_without_replace, rename_with_replace, rename_into_itself, rename_missing,
            symlink_and_read_link, stat_and_lstat_differ_on_links, dangling_symlink,
            absolute_client_symlink_stays_in_root, set_attributes_on_paths,
            read_dir_lists_every_entry_once, read_dir_details, dot_dot_stays_in_root,
            root_is_protected, statvfs_reports, ensure_root_is_idempotent,
            empty_file_is_a_file, overwrite_replaces_a_large_file, ranged_reads_anywhere,
            reordered_writes_within_the_window, writes_beyond_the_window,
            directory_renames, directory_markers,
        );
    };
    (@checks $make:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                let fixture = $make.await;
                $crate::contract::$check(&$crate::contract::Fixture::subject(&fixture)).await;
            }
        )*
    };
}
#[allow(unused_imports)]
pub(crate) use suite;

// ---- helpers -------------------------------------------------------------

/// A virtual path from a literal.
pub fn vp(raw: &str) -> VirtualPath {
    VirtualPath::parse(raw).expect("a valid test path")
}

pub fn create_options() -> OpenOptions {
    OpenOptions {
        write: true,
        create: true,
        truncate: true,
        ..Default::default()
    }
}

pub fn read_options() -> OpenOptions {
    OpenOptions {
        read: true,
        ..Default::default()
    }
}

/// Creates or replaces `path` with `data`.
pub async fn write_file(s: &dyn Storage, path: &str, data: &[u8]) {
    let handle = s
        .open(&vp(path), create_options())
        .await
        .expect("open for writing");
    handle
        .write_at(0, Bytes::copy_from_slice(data))
        .await
        .expect("write");
    handle.close().await.expect("close");
}

/// Reads all of `path`, in small requests to exercise offsets.
pub async fn read_file(s: &dyn Storage, path: &str) -> Result<Vec<u8>> {
    let handle = s.open(&vp(path), read_options()).await?;
    let mut out = Vec::new();
    loop {
        let chunk = handle.read_at(out.len() as u64, 7).await?;
        if chunk.is_empty() {
            break;
        }
        out.extend_from_slice(&chunk);
    }
    handle.close().await?;
    Ok(out)
}

/// The names in a directory, sorted.
pub async fn list(s: &dyn Storage, path: &str) -> Result<Vec<String>> {
    let mut stream = s.read_dir(&vp(path)).await?;
    let mut names = Vec::new();
    while let Some(entry) = stream.next().await {
        names.push(entry?.name);
    }
    names.sort();
    Ok(names)
}

// ---- files ---------------------------------------------------------------

pub async fn write_then_read_back(s: &Subject<'_>) {
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    write_file(s.storage, "/big.bin", &data).await;
    assert_eq!(read_file(s.storage, "/big.bin").await.unwrap(), data);
    let meta = s.stat(&vp("/big.bin")).await.unwrap();
    assert_eq!((meta.kind, meta.size), (FileKind::File, data.len() as u64));
}

pub async fn overwrite_truncates_or_patches(s: &Subject<'_>) {
    write_file(s.storage, "/f", b"hello world").await;
    write_file(s.storage, "/f", b"hi").await;
    assert_eq!(read_file(s.storage, "/f").await.unwrap(), b"hi");

    if !s.capabilities().random_writes {
        return;
    }
    write_file(s.storage, "/g", b"hello world").await;
    let options = OpenOptions {
        write: true,
        ..Default::default()
    };
    let handle = s.open(&vp("/g"), options).await.unwrap();
    handle.write_at(0, Bytes::from_static(b"HE")).await.unwrap();
    handle.close().await.unwrap();
    assert_eq!(read_file(s.storage, "/g").await.unwrap(), b"HEllo world");
}

pub async fn append_goes_to_the_end(s: &Subject<'_>) {
    write_file(s.storage, "/log", b"one\n").await;
    let options = OpenOptions {
        write: true,
        append: true,
        ..Default::default()
    };
    if !s.capabilities().append {
        s.fails(s.open(&vp("/log"), options).await, ErrorKind::Unsupported);
        return;
    }
    let handle = s.open(&vp("/log"), options).await.unwrap();
    // The offset is ignored in append mode: every write lands at the end.
    handle
        .write_at(0, Bytes::from_static(b"two\n"))
        .await
        .unwrap();
    handle
        .write_at(1, Bytes::from_static(b"three\n"))
        .await
        .unwrap();
    handle.close().await.unwrap();
    assert_eq!(
        read_file(s.storage, "/log").await.unwrap(),
        b"one\ntwo\nthree\n"
    );
}

pub async fn exclusive_create(s: &Subject<'_>) {
    let options = OpenOptions {
        exclusive: true,
        ..create_options()
    };
    let handle = s.open(&vp("/new"), options).await.unwrap();
    handle
        .write_at(0, Bytes::from_static(b"first"))
        .await
        .unwrap();
    handle.close().await.unwrap();
    let error = s.fails(s.open(&vp("/new"), options).await, ErrorKind::Conflict);
    assert_eq!(error.message(), "file exists");
    assert_eq!(read_file(s.storage, "/new").await.unwrap(), b"first");
}

pub async fn open_missing(s: &Subject<'_>) {
    s.fails(
        s.open(&vp("/nope"), read_options()).await,
        ErrorKind::NotFound,
    );
    let in_missing_dir = s.open(&vp("/no/such/dir/f"), create_options()).await;
    s.fails(in_missing_dir, ErrorKind::NotFound);
    write_file(s.storage, "/plain", b"x").await;
    // A file used as a directory is a path that does not exist.
    s.fails(
        s.open(&vp("/plain/f"), read_options()).await,
        ErrorKind::NotFound,
    );
    s.fails(s.stat(&vp("/plain/f")).await, ErrorKind::NotFound);
}

pub async fn open_directory(s: &Subject<'_>) {
    s.create_dir(&vp("/d"), None).await.unwrap();
    let options = OpenOptions {
        write: true,
        ..Default::default()
    };
    s.fails(s.open(&vp("/d"), options).await, ErrorKind::InvalidInput);
    s.fails(
        s.open(&vp("/d"), create_options()).await,
        ErrorKind::InvalidInput,
    );
}

pub async fn read_past_the_end_is_empty(s: &Subject<'_>) {
    write_file(s.storage, "/short", b"0123456789").await;
    let handle = s.open(&vp("/short"), read_options()).await.unwrap();
    assert_eq!(&handle.read_at(4, 100).await.unwrap()[..], b"456789");
    assert!(handle.read_at(10, 100).await.unwrap().is_empty());
    assert!(handle.read_at(1 << 40, 100).await.unwrap().is_empty());
    assert_eq!(&handle.read_at(0, 3).await.unwrap()[..], b"012");
}

pub async fn out_of_order_writes(s: &Subject<'_>) {
    let chunk = |byte: u8| Bytes::from(vec![byte; 32 * 1024]);
    let handle = s.open(&vp("/ooo"), create_options()).await.unwrap();
    // As a pipelining client's requests can arrive: 2, 0, 3, 1.
    for index in [2u8, 0, 3, 1] {
        handle
            .write_at(u64::from(index) * 32 * 1024, chunk(b'a' + index))
            .await
            .unwrap();
    }
    handle.close().await.unwrap();
    let data = read_file(s.storage, "/ooo").await.unwrap();
    assert_eq!(data.len(), 4 * 32 * 1024);
    for (index, block) in data.chunks(32 * 1024).enumerate() {
        assert!(
            block.iter().all(|b| *b == b'a' + index as u8),
            "block {index}"
        );
    }

    if !s.capabilities().random_writes {
        return;
    }
    // A write past the end leaves a hole that reads as zeros.
    let handle = s.open(&vp("/sparse"), create_options()).await.unwrap();
    handle.write_at(5, Bytes::from_static(b"x")).await.unwrap();
    handle.close().await.unwrap();
    assert_eq!(
        read_file(s.storage, "/sparse").await.unwrap(),
        b"\0\0\0\0\0x"
    );
}

pub async fn concurrent_reads_share_a_handle(s: &Subject<'_>) {
    let data: Vec<u8> = (0..64 * 1024u32).map(|i| (i % 256) as u8).collect();
    write_file(s.storage, "/shared", &data).await;
    let handle = s.open(&vp("/shared"), read_options()).await.unwrap();
    let reads = (0..8u64).map(|i| handle.read_at(i * 8192, 8192));
    let chunks = futures::future::join_all(reads).await;
    let joined: Vec<u8> = chunks
        .into_iter()
        .flat_map(|c| c.unwrap().to_vec())
        .collect();
    assert_eq!(joined, data);
}

pub async fn closed_handle_refuses_calls(s: &Subject<'_>) {
    let handle = s.open(&vp("/c"), create_options()).await.unwrap();
    handle.close().await.unwrap();
    let error = s.fails(handle.read_at(0, 1).await, ErrorKind::InvalidInput);
    assert_eq!(error.message(), "handle is closed");
    s.fails(
        handle.write_at(0, Bytes::from_static(b"x")).await,
        ErrorKind::InvalidInput,
    );
    s.fails(handle.metadata().await, ErrorKind::InvalidInput);
    let attributes = SetAttributes {
        size: Some(0),
        ..Default::default()
    };
    s.fails(
        handle.set_attributes(&attributes).await,
        ErrorKind::InvalidInput,
    );
    s.fails(handle.close().await, ErrorKind::InvalidInput);
}

pub async fn handle_metadata_and_attributes(s: &Subject<'_>) {
    let handle = s.open(&vp("/h"), create_options()).await.unwrap();
    handle
        .write_at(0, Bytes::from_static(b"0123456789"))
        .await
        .unwrap();
    assert_eq!(handle.metadata().await.unwrap().size, 10);

    let truncate = SetAttributes {
        size: Some(4),
        ..Default::default()
    };
    if s.capabilities().random_writes {
        handle.set_attributes(&truncate).await.unwrap();
        assert_eq!(handle.metadata().await.unwrap().size, 4);
    } else {
        s.fails(
            handle.set_attributes(&truncate).await,
            ErrorKind::Unsupported,
        );
        // The size it already has is no change.
        let same = SetAttributes {
            size: Some(10),
            ..Default::default()
        };
        handle.set_attributes(&same).await.unwrap();
    }
    if s.capabilities().chmod {
        let chmod = SetAttributes {
            permissions: Some(0o600),
            ..Default::default()
        };
        handle.set_attributes(&chmod).await.unwrap();
        assert_eq!(handle.metadata().await.unwrap().permissions, 0o600);
    } else {
        let chmod = SetAttributes {
            permissions: Some(0o600),
            ..Default::default()
        };
        s.fails(handle.set_attributes(&chmod).await, ErrorKind::Unsupported);
    }
    let times = SetAttributes {
        times: Some((1_000_000, 2_000_000)),
        ..Default::default()
    };
    if s.capabilities().set_times {
        handle.set_attributes(&times).await.unwrap();
        let meta = handle.metadata().await.unwrap();
        assert_eq!((meta.atime, meta.mtime), (1_000_000, 2_000_000));
    } else {
        s.fails(handle.set_attributes(&times).await, ErrorKind::Unsupported);
    }
    handle.close().await.unwrap();

    // A handle opened for reading cannot change the size.
    let reader = s.open(&vp("/h"), read_options()).await.unwrap();
    s.fails(
        reader.set_attributes(&truncate).await,
        ErrorKind::InvalidInput,
    );
    s.fails(
        reader.write_at(0, Bytes::from_static(b"x")).await,
        ErrorKind::InvalidInput,
    );
}

// ---- directories and removal --------------------------------------------

pub async fn directories(s: &Subject<'_>) {
    s.create_dir(&vp("/d"), None).await.unwrap();
    assert_eq!(s.stat(&vp("/d")).await.unwrap().kind, FileKind::Dir);
    let again = s.fails(s.create_dir(&vp("/d"), None).await, ErrorKind::Conflict);
    assert_eq!(again.message(), "file exists");
    s.fails(
        s.create_dir(&vp("/missing/d"), None).await,
        ErrorKind::NotFound,
    );

    s.create_dir(&vp("/d/inner"), None).await.unwrap();
    write_file(s.storage, "/d/inner/f", b"x").await;
    let busy = s.fails(s.remove_dir(&vp("/d")).await, ErrorKind::Conflict);
    assert_eq!(busy.message(), "directory not empty");

    s.remove_file(&vp("/d/inner/f")).await.unwrap();
    s.remove_dir(&vp("/d/inner")).await.unwrap();
    s.remove_dir(&vp("/d")).await.unwrap();
    s.fails(s.stat(&vp("/d")).await, ErrorKind::NotFound);
}

pub async fn remove_missing(s: &Subject<'_>) {
    s.fails(s.remove_file(&vp("/ghost")).await, ErrorKind::NotFound);
    s.fails(s.remove_dir(&vp("/ghost")).await, ErrorKind::NotFound);
    s.fails(
        s.remove_file(&vp("/no/dir/ghost")).await,
        ErrorKind::NotFound,
    );
}

pub async fn remove_wrong_kind(s: &Subject<'_>) {
    s.create_dir(&vp("/dir"), None).await.unwrap();
    write_file(s.storage, "/file", b"x").await;
    s.fails(s.remove_file(&vp("/dir")).await, ErrorKind::InvalidInput);
    s.fails(s.remove_dir(&vp("/file")).await, ErrorKind::InvalidInput);
    assert_eq!(s.stat(&vp("/dir")).await.unwrap().kind, FileKind::Dir);
    assert_eq!(read_file(s.storage, "/file").await.unwrap(), b"x");
}

// ---- rename ----------------------------------------------------------------

pub async fn rename_without_replace(s: &Subject<'_>) {
    write_file(s.storage, "/a", b"aaa").await;
    write_file(s.storage, "/b", b"bbb").await;
    let error = s.fails(
        s.rename(&vp("/a"), &vp("/b"), false).await,
        ErrorKind::Conflict,
    );
    assert_eq!(error.message(), "file exists");
    assert_eq!(read_file(s.storage, "/a").await.unwrap(), b"aaa");
    assert_eq!(read_file(s.storage, "/b").await.unwrap(), b"bbb");

    s.create_dir(&vp("/sub"), None).await.unwrap();
    s.rename(&vp("/a"), &vp("/sub/c"), false).await.unwrap();
    s.fails(s.stat(&vp("/a")).await, ErrorKind::NotFound);
    assert_eq!(read_file(s.storage, "/sub/c").await.unwrap(), b"aaa");

    write_file(s.storage, "/sub/inner", b"i").await;
    if s.capabilities().rename_dirs {
        s.rename(&vp("/sub"), &vp("/moved"), false).await.unwrap();
        assert_eq!(list(s.storage, "/moved").await.unwrap(), ["c", "inner"]);
    } else {
        let moved = s.rename(&vp("/sub"), &vp("/moved"), false).await;
        s.fails(moved, ErrorKind::Unsupported);
        assert_eq!(list(s.storage, "/sub").await.unwrap(), ["c", "inner"]);
        s.fails(s.stat(&vp("/moved")).await, ErrorKind::NotFound);
    }
    // An empty directory moves on every back end.
    s.create_dir(&vp("/empty"), None).await.unwrap();
    s.rename(&vp("/empty"), &vp("/emptied"), false)
        .await
        .unwrap();
    s.fails(s.stat(&vp("/empty")).await, ErrorKind::NotFound);
    assert_eq!(s.stat(&vp("/emptied")).await.unwrap().kind, FileKind::Dir);
}

pub async fn rename_with_replace(s: &Subject<'_>) {
    write_file(s.storage, "/a", b"new").await;
    write_file(s.storage, "/b", b"old").await;
    let reader = s.open(&vp("/b"), read_options()).await.unwrap();
    s.rename(&vp("/a"), &vp("/b"), true).await.unwrap();
    assert_eq!(read_file(s.storage, "/b").await.unwrap(), b"new");
    s.fails(s.stat(&vp("/a")).await, ErrorKind::NotFound);
    if s.capabilities().atomic_rename {
        // An atomic replace leaves a reader of the old file undisturbed.
        assert_eq!(&reader.read_at(0, 10).await.unwrap()[..], b"old");
    }

    // A directory is never replaced by a file, nor a non-empty one at all.
    s.create_dir(&vp("/full"), None).await.unwrap();
    write_file(s.storage, "/full/x", b"x").await;
    s.create_dir(&vp("/other"), None).await.unwrap();
    write_file(s.storage, "/other/y", b"y").await;
    s.fails(
        s.rename(&vp("/b"), &vp("/full"), true).await,
        ErrorKind::InvalidInput,
    );
    s.fails(
        s.rename(&vp("/other"), &vp("/full"), true).await,
        ErrorKind::Conflict,
    );
}

pub async fn rename_into_itself(s: &Subject<'_>) {
    s.create_dir(&vp("/d"), None).await.unwrap();
    s.create_dir(&vp("/d/e"), None).await.unwrap();
    s.fails(
        s.rename(&vp("/d"), &vp("/d/e/d"), false).await,
        ErrorKind::InvalidInput,
    );
    s.fails(
        s.rename(&vp("/d"), &vp("/d/inside"), true).await,
        ErrorKind::InvalidInput,
    );
    assert_eq!(s.stat(&vp("/d/e")).await.unwrap().kind, FileKind::Dir);
}

pub async fn rename_missing(s: &Subject<'_>) {
    s.fails(
        s.rename(&vp("/ghost"), &vp("/x"), false).await,
        ErrorKind::NotFound,
    );
    write_file(s.storage, "/real", b"r").await;
    s.fails(
        s.rename(&vp("/real"), &vp("/no/dir/x"), true).await,
        ErrorKind::NotFound,
    );
    assert_eq!(read_file(s.storage, "/real").await.unwrap(), b"r");
}

/// A directory with files, a subdirectory and an empty subdirectory.
async fn directory_tree(s: &dyn Storage, root: &str) {
    s.create_dir(&vp(root), None).await.unwrap();
    s.create_dir(&vp(&format!("{root}/sub")), None)
        .await
        .unwrap();
    s.create_dir(&vp(&format!("{root}/sub/empty")), None)
        .await
        .unwrap();
    write_file(s, &format!("{root}/a"), b"alpha").await;
    write_file(s, &format!("{root}/zero"), b"").await;
    write_file(s, &format!("{root}/sub/b"), b"beta").await;
}

/// Renames a directory with entries on `storage`, or checks that it says
/// it cannot and changes nothing.
async fn rename_a_tree(s: &Subject<'_>, storage: &dyn Storage, base: &str) {
    s.create_dir(&vp(base), None).await.unwrap();
    let (from, to) = (format!("{base}/from"), format!("{base}/to"));
    directory_tree(storage, &from).await;
    let renamed = storage.rename(&vp(&from), &vp(&to), false).await;
    if !storage.capabilities().rename_dirs {
        s.fails(renamed, ErrorKind::Unsupported);
        assert_eq!(list(storage, &from).await.unwrap(), ["a", "sub", "zero"]);
        s.fails(storage.stat(&vp(&to)).await, ErrorKind::NotFound);
        return;
    }
    renamed.unwrap();
    s.fails(storage.stat(&vp(&from)).await, ErrorKind::NotFound);
    assert_eq!(list(storage, base).await.unwrap(), ["to"]);
    assert_eq!(list(storage, &to).await.unwrap(), ["a", "sub", "zero"]);
    assert_eq!(
        list(storage, &format!("{to}/sub")).await.unwrap(),
        ["b", "empty"]
    );
    let empty = storage.stat(&vp(&format!("{to}/sub/empty"))).await.unwrap();
    assert_eq!(empty.kind, FileKind::Dir);
    assert_eq!(
        read_file(storage, &format!("{to}/a")).await.unwrap(),
        b"alpha"
    );
    assert_eq!(
        read_file(storage, &format!("{to}/sub/b")).await.unwrap(),
        b"beta"
    );
    assert_eq!(
        storage.stat(&vp(&format!("{to}/zero"))).await.unwrap().size,
        0
    );

    // Onto an empty directory with replace; never onto one with entries.
    let (empty, full) = (format!("{base}/empty"), format!("{base}/full"));
    storage.create_dir(&vp(&empty), None).await.unwrap();
    storage.rename(&vp(&to), &vp(&empty), true).await.unwrap();
    assert_eq!(list(storage, &empty).await.unwrap(), ["a", "sub", "zero"]);
    directory_tree(storage, &full).await;
    let onto_full = storage.rename(&vp(&empty), &vp(&full), true).await;
    s.fails(onto_full, ErrorKind::Conflict);
    assert_eq!(list(storage, &empty).await.unwrap(), ["a", "sub", "zero"]);
    // The moved directory still works as one.
    write_file(storage, &format!("{empty}/sub/empty/new"), b"n").await;
    assert_eq!(
        list(storage, &format!("{empty}/sub/empty")).await.unwrap(),
        ["new"]
    );
}

pub async fn directory_renames(s: &Subject<'_>) {
    rename_a_tree(s, s.storage, "/plain").await;
    if let Some(renaming) = s.renaming {
        rename_a_tree(s, renaming, "/renaming").await;
    }
}

pub async fn directory_markers(s: &Subject<'_>) {
    let Some(seeder) = s.seeder else { return };
    s.create_dir(&vp("/outer"), None).await.unwrap();
    let Some(written) = seeder.dir_marker_exists("/outer").await else {
        return;
    };
    assert!(written, "a new directory is an empty `outer/` object");

    // One written by another tool is a directory like those made here.
    assert!(seeder.foreign_dir_marker("/outer/theirs").await);
    let theirs = vp("/outer/theirs");
    assert_eq!(s.stat(&theirs).await.unwrap().kind, FileKind::Dir);
    assert_eq!(list(s.storage, "/outer").await.unwrap(), ["theirs"]);
    assert!(list(s.storage, "/outer/theirs").await.unwrap().is_empty());
    s.fails(s.create_dir(&theirs, None).await, ErrorKind::Conflict);
    write_file(s.storage, "/outer/theirs/f", b"inside").await;
    assert_eq!(list(s.storage, "/outer/theirs").await.unwrap(), ["f"]);
    let busy = s.fails(s.remove_dir(&theirs).await, ErrorKind::Conflict);
    assert_eq!(busy.message(), "directory not empty");
    s.remove_file(&vp("/outer/theirs/f")).await.unwrap();
    // The marker keeps it once its last file is gone; it moves and goes.
    assert_eq!(s.stat(&theirs).await.unwrap().kind, FileKind::Dir);
    s.rename(&theirs, &vp("/outer/mine"), false).await.unwrap();
    assert_eq!(seeder.dir_marker_exists("/outer/theirs").await, Some(false));
    assert_eq!(seeder.dir_marker_exists("/outer/mine").await, Some(true));
    s.fails(s.stat(&theirs).await, ErrorKind::NotFound);
    s.remove_dir(&vp("/outer/mine")).await.unwrap();
    assert_eq!(seeder.dir_marker_exists("/outer/mine").await, Some(false));
    s.fails(s.stat(&vp("/outer/mine")).await, ErrorKind::NotFound);

    // A tree moves with the markers inside it, empty directories included.
    let Some(renaming) = s.renaming else { return };
    s.create_dir(&vp("/outer/a"), None).await.unwrap();
    s.create_dir(&vp("/outer/a/empty"), None).await.unwrap();
    write_file(s.storage, "/outer/a/f", b"f").await;
    write_file(s.storage, "/outer/a/nothing", b"").await;
    renaming
        .rename(&vp("/outer"), &vp("/elsewhere"), false)
        .await
        .unwrap();
    assert_eq!(list(s.storage, "/elsewhere").await.unwrap(), ["a"]);
    let moved = list(s.storage, "/elsewhere/a").await.unwrap();
    assert_eq!(moved, ["empty", "f", "nothing"]);
    assert!(
        list(s.storage, "/elsewhere/a/empty")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        read_file(s.storage, "/elsewhere/a/nothing")
            .await
            .unwrap()
            .is_empty()
    );
    for dir in ["/elsewhere", "/elsewhere/a", "/elsewhere/a/empty"] {
        assert_eq!(seeder.dir_marker_exists(dir).await, Some(true), "{dir}");
    }
    for dir in ["/outer", "/outer/a", "/outer/a/empty"] {
        assert_eq!(seeder.dir_marker_exists(dir).await, Some(false), "{dir}");
    }
    s.fails(s.stat(&vp("/outer")).await, ErrorKind::NotFound);
}

// ---- symlinks ----------------------------------------------------------------

/// Creates a symlink, or checks that a back end without them says so.
/// Returns whether the back end has symlinks.
async fn symlink_or_unsupported(s: &Subject<'_>, target: &str, link: &str) -> bool {
    if s.capabilities().symlinks {
        s.symlink(target, &vp(link)).await.expect("symlink");
        true
    } else {
        s.fails(s.symlink(target, &vp(link)).await, ErrorKind::Unsupported);
        false
    }
}

pub async fn symlink_and_read_link(s: &Subject<'_>) {
    s.create_dir(&vp("/data"), None).await.unwrap();
    write_file(s.storage, "/data/f", b"through the link").await;
    if !symlink_or_unsupported(s, "data/f", "/rel").await {
        return;
    }
    // Targets are stored exactly as given; absolute ones start at the root.
    s.symlink("/data/f", &vp("/abs")).await.unwrap();
    s.symlink("../../../data", &vp("/data/up")).await.unwrap();
    assert_eq!(s.read_link(&vp("/rel")).await.unwrap(), "data/f");
    assert_eq!(s.read_link(&vp("/abs")).await.unwrap(), "/data/f");
    assert_eq!(s.read_link(&vp("/data/up")).await.unwrap(), "../../../data");
    for path in ["/rel", "/abs", "/data/up/f"] {
        assert_eq!(
            read_file(s.storage, path).await.unwrap(),
            b"through the link",
            "{path}"
        );
        assert_eq!(s.stat(&vp(path)).await.unwrap().size, 16);
    }
    let taken = s.symlink("elsewhere", &vp("/abs")).await;
    s.fails(taken, ErrorKind::Conflict);
    s.fails(s.read_link(&vp("/data/f")).await, ErrorKind::InvalidInput);
    s.fails(s.read_link(&vp("/ghost")).await, ErrorKind::NotFound);

    // Removing a link never touches what it points to.
    s.remove_file(&vp("/abs")).await.unwrap();
    assert_eq!(
        read_file(s.storage, "/data/f").await.unwrap(),
        b"through the link"
    );
}

pub async fn stat_and_lstat_differ_on_links(s: &Subject<'_>) {
    write_file(s.storage, "/target", b"12345").await;
    if !symlink_or_unsupported(s, "/target", "/link").await {
        return;
    }
    let followed = s.stat(&vp("/link")).await.unwrap();
    assert_eq!((followed.kind, followed.size), (FileKind::File, 5));
    let own = s.lstat(&vp("/link")).await.unwrap();
    assert_eq!(
        (own.kind, own.size),
        (FileKind::Symlink, "/target".len() as u64)
    );
    assert_eq!(s.lstat(&vp("/target")).await.unwrap().kind, FileKind::File);
}

pub async fn dangling_symlink(s: &Subject<'_>) {
    if !symlink_or_unsupported(s, "/nowhere", "/dangling").await {
        return;
    }
    s.fails(s.stat(&vp("/dangling")).await, ErrorKind::NotFound);
    assert_eq!(
        s.lstat(&vp("/dangling")).await.unwrap().kind,
        FileKind::Symlink
    );
    s.fails(
        s.open(&vp("/dangling"), read_options()).await,
        ErrorKind::NotFound,
    );
    s.fails(s.read_dir(&vp("/dangling")).await, ErrorKind::NotFound);
    s.remove_file(&vp("/dangling")).await.unwrap();
}

pub async fn absolute_client_symlink_stays_in_root(s: &Subject<'_>) {
    if !symlink_or_unsupported(s, "/etc/passwd", "/passwd").await {
        return;
    }
    s.symlink("../../../../../../etc", &vp("/etc-up"))
        .await
        .unwrap();
    s.symlink("/", &vp("/slash")).await.unwrap();
    assert_eq!(s.read_link(&vp("/passwd")).await.unwrap(), "/etc/passwd");
    // Both resolve to <root>/etc, which does not exist: not the host's files.
    s.fails(
        s.open(&vp("/passwd"), read_options()).await,
        ErrorKind::NotFound,
    );
    s.fails(s.stat(&vp("/passwd")).await, ErrorKind::NotFound);
    s.fails(
        s.open(&vp("/etc-up/passwd"), read_options()).await,
        ErrorKind::NotFound,
    );
    s.fails(s.read_dir(&vp("/etc-up")).await, ErrorKind::NotFound);
    // "/" is the root itself: it lists the root's own entries.
    assert_eq!(
        list(s.storage, "/slash").await.unwrap(),
        ["etc-up", "passwd", "slash"]
    );

    // Writing through the link creates the file inside the root.
    s.create_dir(&vp("/etc"), None).await.unwrap();
    write_file(s.storage, "/passwd", b"mine").await;
    assert_eq!(read_file(s.storage, "/etc/passwd").await.unwrap(), b"mine");
    assert_eq!(list(s.storage, "/etc-up").await.unwrap(), ["passwd"]);
}

// ---- attributes ------------------------------------------------------------

pub async fn set_attributes_on_paths(s: &Subject<'_>) {
    write_file(s.storage, "/f", b"0123456789").await;
    let path = vp("/f");
    let shrink = SetAttributes {
        size: Some(3),
        ..Default::default()
    };
    let grow = SetAttributes {
        size: Some(5),
        ..Default::default()
    };
    let times = SetAttributes {
        times: Some((1_234_567, 7_654_321)),
        ..Default::default()
    };
    s.fails(
        s.set_attributes(&vp("/ghost"), &times).await,
        ErrorKind::NotFound,
    );
    s.fails(
        s.set_attributes(&vp("/ghost"), &shrink).await,
        ErrorKind::NotFound,
    );
    if !s.capabilities().random_writes {
        s.fails(
            s.set_attributes(&path, &shrink).await,
            ErrorKind::Unsupported,
        );
        assert_eq!(read_file(s.storage, "/f").await.unwrap(), b"0123456789");
    }
    if !s.capabilities().set_times {
        s.fails(
            s.set_attributes(&path, &times).await,
            ErrorKind::Unsupported,
        );
    }
    if !s.capabilities().chmod {
        let chmod = SetAttributes {
            permissions: Some(0o600),
            ..Default::default()
        };
        s.fails(
            s.set_attributes(&path, &chmod).await,
            ErrorKind::Unsupported,
        );
    }
    if !s.capabilities().random_writes || !s.capabilities().set_times {
        return;
    }
    s.set_attributes(&path, &shrink).await.unwrap();
    assert_eq!(read_file(s.storage, "/f").await.unwrap(), b"012");
    s.set_attributes(&path, &grow).await.unwrap();
    assert_eq!(read_file(s.storage, "/f").await.unwrap(), b"012\0\0");

    if s.capabilities().chmod {
        for mode in [0o640, 0o000, 0o755] {
            let chmod = SetAttributes {
                permissions: Some(mode),
                ..Default::default()
            };
            s.set_attributes(&path, &chmod).await.unwrap();
            assert_eq!(s.stat(&path).await.unwrap().permissions, mode);
        }
        s.create_dir(&vp("/d"), Some(0o700)).await.unwrap();
        let chmod = SetAttributes {
            permissions: Some(0o750),
            ..Default::default()
        };
        s.set_attributes(&vp("/d"), &chmod).await.unwrap();
        assert_eq!(s.stat(&vp("/d")).await.unwrap().permissions, 0o750);
    }

    s.set_attributes(&path, &times).await.unwrap();
    let meta = s.stat(&path).await.unwrap();
    assert_eq!((meta.atime, meta.mtime), (1_234_567, 7_654_321));

    // All at once: the size change must not move the times that were set.
    let all = SetAttributes {
        size: Some(1),
        times: Some((10, 20)),
        ..Default::default()
    };
    s.set_attributes(&path, &all).await.unwrap();
    let meta = s.stat(&path).await.unwrap();
    assert_eq!((meta.size, meta.atime, meta.mtime), (1, 10, 20));

    if s.capabilities().symlinks {
        // Through a symlink, the target changes.
        s.symlink("/f", &vp("/l")).await.unwrap();
        s.set_attributes(&vp("/l"), &grow).await.unwrap();
        assert_eq!(s.stat(&path).await.unwrap().size, 5);
    }
}

// ---- listings ------------------------------------------------------------

pub async fn read_dir_lists_every_entry_once(s: &Subject<'_>) {
    const COUNT: usize = 10_000;
    s.create_dir(&vp("/many"), None).await.unwrap();
    let paths: Vec<String> = (0..COUNT).map(|i| format!("/many/f{i:05}")).collect();
    match s.seeder {
        Some(seeder) => seeder.empty_files(&paths).await,
        None => {
            for path in &paths {
                let handle = s.open(&vp(path), create_options()).await.unwrap();
                handle.close().await.unwrap();
            }
        }
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut stream = s.read_dir(&vp("/many")).await.unwrap();
    while let Some(entry) = stream.next().await {
        let entry = entry.unwrap();
        assert_eq!(entry.metadata.kind, FileKind::File);
        *seen.entry(entry.name).or_default() += 1;
    }
    assert_eq!(seen.len(), COUNT);
    assert!(seen.values().all(|n| *n == 1), "an entry was listed twice");
    assert!((0..COUNT).all(|i| seen.contains_key(&format!("f{i:05}"))));
}

pub async fn read_dir_details(s: &Subject<'_>) {
    s.create_dir(&vp("/d"), None).await.unwrap();
    assert!(list(s.storage, "/d").await.unwrap().is_empty());
    write_file(s.storage, "/d/file", b"12345").await;
    s.create_dir(&vp("/d/sub"), None).await.unwrap();
    if s.capabilities().symlinks {
        s.symlink("file", &vp("/d/link")).await.unwrap();
    }
    let mut stream = s.read_dir(&vp("/d")).await.unwrap();
    let mut kinds = HashMap::new();
    while let Some(entry) = stream.next().await {
        let entry = entry.unwrap();
        kinds.insert(
            entry.name.clone(),
            (entry.metadata.kind, entry.metadata.size),
        );
    }
    assert_eq!(kinds.get("file"), Some(&(FileKind::File, 5)));
    assert_eq!(kinds.get("sub").map(|k| k.0), Some(FileKind::Dir));
    if s.capabilities().symlinks {
        // Entries are not followed: a link is listed as a link.
        assert_eq!(kinds.get("link").map(|k| k.0), Some(FileKind::Symlink));
    }
    assert!(!kinds.contains_key(".") && !kinds.contains_key(".."));

    s.fails(s.read_dir(&vp("/ghost")).await, ErrorKind::NotFound);
    s.fails(s.read_dir(&vp("/d/file")).await, ErrorKind::InvalidInput);
}

// ---- the root and the jail --------------------------------------------------

pub async fn dot_dot_stays_in_root(s: &Subject<'_>) {
    write_file(s.storage, "/../../../escape", b"inside").await;
    assert_eq!(list(s.storage, "/").await.unwrap(), ["escape"]);
    assert_eq!(
        read_file(s.storage, "../../escape").await.unwrap(),
        b"inside"
    );
    s.create_dir(&vp("/a"), None).await.unwrap();
    assert_eq!(
        list(s.storage, "/a/../../..").await.unwrap(),
        ["a", "escape"]
    );
    assert_eq!(s.stat(&vp("/..")).await.unwrap().kind, FileKind::Dir);
}

pub async fn root_is_protected(s: &Subject<'_>) {
    let root = VirtualPath::root();
    assert_eq!(s.stat(&root).await.unwrap().kind, FileKind::Dir);
    assert_eq!(s.lstat(&root).await.unwrap().kind, FileKind::Dir);
    s.fails(s.remove_dir(&root).await, ErrorKind::PermissionDenied);
    s.fails(s.remove_file(&root).await, ErrorKind::InvalidInput);
    s.fails(s.create_dir(&root, None).await, ErrorKind::Conflict);
    write_file(s.storage, "/f", b"x").await;
    s.fails(
        s.rename(&root, &vp("/x"), false).await,
        ErrorKind::PermissionDenied,
    );
    s.fails(s.rename(&vp("/f"), &root, false).await, ErrorKind::Conflict);
    s.fails(
        s.rename(&vp("/f"), &root, true).await,
        ErrorKind::PermissionDenied,
    );
    assert_eq!(list(s.storage, "/").await.unwrap(), ["f"]);
}

pub async fn statvfs_reports(s: &Subject<'_>) {
    match s.statvfs(&VirtualPath::root()).await {
        Ok(stats) => assert!(stats.block_size > 0 && stats.blocks > 0, "{stats:?}"),
        Err(error) => return assert_eq!(error.kind(), ErrorKind::Unsupported),
    }
    s.fails(s.statvfs(&vp("/ghost")).await, ErrorKind::NotFound);
}

pub async fn ensure_root_is_idempotent(s: &Subject<'_>) {
    s.ensure_root().await.unwrap();
    write_file(s.storage, "/kept", b"k").await;
    s.ensure_root().await.unwrap();
    assert_eq!(read_file(s.storage, "/kept").await.unwrap(), b"k");
}

// ---- transfers ---------------------------------------------------------------

/// Bytes that do not repeat on any power-of-two period, so a block read
/// from the wrong offset shows.
pub fn pattern(offset: u64, len: usize) -> Vec<u8> {
    (offset..offset + len as u64)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ (i >> 20) as u8)
        .collect()
}

/// Writes `size` bytes of [`pattern`] front to back in `chunk`-sized requests.
pub async fn write_pattern(s: &dyn Storage, path: &str, size: u64, chunk: usize) {
    let handle = s.open(&vp(path), create_options()).await.expect("open");
    let mut offset = 0;
    while offset < size {
        let len = chunk.min((size - offset) as usize);
        let data = Bytes::from(pattern(offset, len));
        handle.write_at(offset, data).await.expect("write");
        offset += len as u64;
    }
    handle.close().await.expect("close");
}

/// Reads `path` whole in `chunk`-sized requests and checks it is
/// [`pattern`] of `size` bytes, without holding the whole file.
pub async fn check_pattern(s: &dyn Storage, path: &str, size: u64, chunk: usize) {
    let handle = s.open(&vp(path), read_options()).await.expect("open");
    let mut offset = 0;
    loop {
        let data = handle.read_at(offset, chunk).await.expect("read");
        if data.is_empty() {
            break;
        }
        assert!(
            data[..] == pattern(offset, data.len())[..],
            "wrong bytes at {offset}"
        );
        offset += data.len() as u64;
    }
    assert_eq!(offset, size, "file size");
    handle.close().await.expect("close");
}

pub async fn empty_file_is_a_file(s: &Subject<'_>) {
    let handle = s.open(&vp("/empty"), create_options()).await.unwrap();
    handle.close().await.unwrap();
    let meta = s.stat(&vp("/empty")).await.unwrap();
    assert_eq!((meta.kind, meta.size), (FileKind::File, 0));
    assert!(read_file(s.storage, "/empty").await.unwrap().is_empty());
    assert_eq!(list(s.storage, "/").await.unwrap(), ["empty"]);
    s.remove_file(&vp("/empty")).await.unwrap();
    assert!(list(s.storage, "/").await.unwrap().is_empty());
}

pub async fn overwrite_replaces_a_large_file(s: &Subject<'_>) {
    // Larger than two 5 MiB parts, with a short last one.
    const SIZE: u64 = 11 * 1024 * 1024 + 7;
    write_pattern(s.storage, "/large", SIZE, 256 * 1024).await;
    assert_eq!(s.stat(&vp("/large")).await.unwrap().size, SIZE);
    check_pattern(s.storage, "/large", SIZE, 256 * 1024).await;

    write_file(s.storage, "/large", b"small now").await;
    assert_eq!(read_file(s.storage, "/large").await.unwrap(), b"small now");
    assert_eq!(s.stat(&vp("/large")).await.unwrap().size, 9);
}

pub async fn ranged_reads_anywhere(s: &Subject<'_>) {
    const MIB: u64 = 1024 * 1024;
    const SIZE: u64 = 9 * MIB + 123;
    write_pattern(s.storage, "/ranges", SIZE, 1024 * 1024).await;
    let handle = s.open(&vp("/ranges"), read_options()).await.unwrap();
    // Backwards and across the likely block boundaries, short and long.
    let reads = [
        (8 * MIB, 1000),
        (100, 1000),
        (4 * MIB - 5, 10),
        (MIB, 6 * MIB as usize),
        (0, 1),
        (SIZE - 3, 100),
        (2 * MIB - 1, 2),
    ];
    for (offset, len) in reads {
        let data = handle.read_at(offset, len).await.unwrap();
        let expected = len.min((SIZE - offset) as usize);
        assert_eq!(data.len(), expected, "read of {len} at {offset}");
        assert!(
            data[..] == pattern(offset, expected)[..],
            "bytes at {offset}"
        );
    }
    assert!(handle.read_at(SIZE, 10).await.unwrap().is_empty());
    handle.close().await.unwrap();
}

pub async fn reordered_writes_within_the_window(s: &Subject<'_>) {
    const CHUNK: usize = 32 * 1024;
    const COUNT: u64 = 48;
    let handle = s.open(&vp("/reordered"), create_options()).await.unwrap();
    // The first chunk arrives last: every other one waits for it.
    for index in (0..COUNT).rev() {
        let offset = index * CHUNK as u64;
        let data = Bytes::from(pattern(offset, CHUNK));
        handle.write_at(offset, data).await.unwrap();
    }
    handle.close().await.unwrap();
    check_pattern(s.storage, "/reordered", COUNT * CHUNK as u64, 100_000).await;
}

pub async fn writes_beyond_the_window(s: &Subject<'_>) {
    const KIB: u64 = 1024;
    let chunk = |index: u64| Bytes::from(pattern(index * KIB, KIB as usize));
    let handle = s.open(&vp("/window"), create_options()).await.unwrap();
    handle.write_at(0, chunk(0)).await.unwrap();
    let far = handle.write_at(KIB + 17 * 1024 * KIB, chunk(0)).await;
    if s.capabilities().random_writes {
        far.unwrap();
        handle.close().await.unwrap();
        let size = s.stat(&vp("/window")).await.unwrap().size;
        assert_eq!(size, 2 * KIB + 17 * 1024 * KIB);
        return;
    }
    s.fails(far, ErrorKind::Unsupported);
    // 64 writes may wait ahead of the end; the 65th is refused.
    for index in 2..=65 {
        handle.write_at(index * KIB, chunk(index)).await.unwrap();
    }
    let one_too_many = handle.write_at(66 * KIB, chunk(66)).await;
    s.fails(one_too_many, ErrorKind::Unsupported);
    // Filling the gap lets them all through; going back is refused.
    handle.write_at(KIB, chunk(1)).await.unwrap();
    let behind = handle.write_at(0, chunk(0)).await;
    s.fails(behind, ErrorKind::Unsupported);
    handle.close().await.unwrap();
    check_pattern(s.storage, "/window", 66 * KIB, 4096).await;
}
