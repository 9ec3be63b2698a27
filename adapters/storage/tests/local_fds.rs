//! Handles and listings release their descriptors. Alone in its test binary
//! so that no other test opens descriptors while this one counts them.

mod contract;

use contract::{create_options, read_options, vp, write_file};
use ferry_ports::Storage;
use ferry_storage::LocalStorage;
use futures::StreamExt;

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

#[tokio::test]
async fn descriptors_are_released_by_close_drop_and_listing_end() {
    let tmp = tempfile::tempdir().unwrap();
    let storage = LocalStorage::new(tmp.path());
    write_file(&storage, "/f", b"data").await;
    let before = open_descriptors();

    let closed: Vec<_> = futures::future::join_all((0..50).map(|_| {
        let storage = &storage;
        async move { storage.open(&vp("/f"), read_options()).await.unwrap() }
    }))
    .await;
    assert_eq!(open_descriptors(), before + 50);
    for handle in &closed {
        handle.close().await.unwrap();
    }
    assert_eq!(open_descriptors(), before, "close must release");

    let mut dropped = Vec::new();
    for i in 0..50 {
        dropped.push(
            storage
                .open(&vp(&format!("/g{i}")), create_options())
                .await
                .unwrap(),
        );
    }
    drop(dropped);
    assert_eq!(open_descriptors(), before, "drop must release");

    let mut listing = storage.read_dir(&vp("/")).await.unwrap();
    assert!(listing.next().await.is_some());
    drop(listing);
    assert_eq!(open_descriptors(), before, "a dropped listing must release");

    // Failed calls leave nothing open either.
    for _ in 0..20 {
        let _ = storage.open(&vp("/missing/x"), read_options()).await;
        let _ = storage.rename(&vp("/f"), &vp("/g0"), false).await;
        let _ = storage.read_dir(&vp("/f")).await;
    }
    assert_eq!(open_descriptors(), before, "failures must release");
}
