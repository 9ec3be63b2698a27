//! Object storage servers for tests, every one on 127.0.0.1 with explicit
//! test credentials, so that no test ever reaches a cloud endpoint:
//!
//! - [`S3Server`]: s3s-fs inside the test process, a fresh directory each;
//! - [`GcsFake`]: a fake of the GCS XML API inside the test process, in memory;
//! - [`Azurite`]: Microsoft's Azure Blob emulator, one process per test
//!   binary, a fresh container per test;
//! - [`Moto`]: a second S3 implementation, one process per test binary, a
//!   fresh bucket per test.
//!
//! Azurite and moto are installed by `scripts/test` into `.tools/` at the
//! workspace root; without them their launchers fail and say so. Their
//! processes end with the test process (the kernel kills them when the
//! thread that started them ends, and that thread lives as long as the
//! process).

mod azurite;
mod gcs;
mod http;
mod moto;
mod process;
mod s3;

pub use azurite::{AZURITE_ACCOUNT, AZURITE_KEY, AzureContainer, Azurite};
pub use gcs::{GcsFake, gcs_service_account_json};
pub use moto::{Moto, MotoBucket};
pub use s3::{S3_ACCESS_KEY, S3_BUCKET, S3_SECRET, S3Server};

/// Where `scripts/test` installs the external servers.
pub fn tools_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools");
    dir.canonicalize().unwrap_or(dir)
}

/// A name no other test of this process, or of another process, uses.
fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{prefix}-{}-{n}-{nanos:x}", std::process::id())
}
