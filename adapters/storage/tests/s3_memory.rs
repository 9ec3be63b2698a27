//! Memory per transfer does not grow with the file: a 64 MiB object is
//! written and read back through the storage port, in 32 KiB requests as an
//! SFTP client sends them, and the process's peak resident memory may grow
//! by less than the file's size.
//!
//! Method: the kernel's peak resident set size of this process (`VmHWM` in
//! `/proc/self/status`) is reset to the current size by writing `5` to
//! `/proc/self/clear_refs` once the server and the storage are up; after
//! the transfers, the peak minus the resident size before them is the
//! growth. The test is alone in its binary, so no other test's memory is
//! counted; the S3 server runs in this process, so its buffers are counted
//! too.

mod contract;
mod objects;

use bytes::Bytes;
use contract::{create_options, pattern, read_options, vp};
use ferry_storage::TransferOptions;

const SIZE: u64 = 64 * 1024 * 1024;
const REQUEST: usize = 32 * 1024;
const LIMIT: u64 = 64 * 1024 * 1024;

/// A field of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a number of kB");
    kib * 1024
}

fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak resident size");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_transfer_uses_bounded_memory() {
    let transfers = TransferOptions::default();
    let fixture = objects::s3_fixture_with(transfers).await;
    let storage = &fixture.storage;
    let path = vp("/big.bin");

    // Warm the client and the server up: connection pools, TLS-free HTTP
    // buffers and lazily built tables are not a transfer's memory.
    contract::write_file(storage, "/warm", b"warm").await;
    reset_peak();
    let before = status_bytes("VmRSS:");

    let handle = ferry_ports::Storage::open(storage, &path, create_options())
        .await
        .unwrap();
    let mut offset = 0;
    while offset < SIZE {
        let data = Bytes::from(pattern(offset, REQUEST));
        handle.write_at(offset, data).await.unwrap();
        offset += REQUEST as u64;
    }
    handle.close().await.unwrap();

    let handle = ferry_ports::Storage::open(storage, &path, read_options())
        .await
        .unwrap();
    let mut offset = 0;
    loop {
        let data = handle.read_at(offset, REQUEST).await.unwrap();
        if data.is_empty() {
            break;
        }
        assert!(
            data[..] == pattern(offset, data.len())[..],
            "bytes at {offset}"
        );
        offset += data.len() as u64;
    }
    assert_eq!(offset, SIZE);
    handle.close().await.unwrap();

    let growth = status_bytes("VmHWM:").saturating_sub(before);
    eprintln!("peak resident growth: {} MiB", growth >> 20);
    assert!(
        growth < LIMIT,
        "peak resident memory grew by {} MiB for a {} MiB file",
        growth >> 20,
        SIZE >> 20
    );
}
