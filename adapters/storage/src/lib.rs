//! Ferry's storage back ends: implementations of [`ferry_ports::Storage`].
//!
//! [`LocalStorage`] keeps a home on local disk, jailed by the kernel
//! (`openat2` with `RESOLVE_IN_ROOT`), with positional I/O on open files.
//! [`ObjectStorage`] keeps a home under a key prefix of an object store
//! bucket (Amazon S3 and S3-compatible stores, Google Cloud Storage, Azure
//! Blob Storage), with multipart uploads and ranged reads.

mod local;
mod object;

pub use local::{LocalFile, LocalStorage, MAX_READ};
pub use object::{
    AzureSettings, GcsSettings, MAX_PART_SIZE, MAX_UPLOAD_CONCURRENCY, MIN_PART_SIZE,
    OBJECT_MAX_READ, ObjectBackend, ObjectFile, ObjectStorage, REORDER_BYTES, REORDER_REQUESTS,
    S3Settings, TransferOptions,
};
