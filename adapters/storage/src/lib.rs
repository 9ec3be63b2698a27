//! Ferry's storage back ends: implementations of [`ferry_ports::Storage`].
//!
//! [`LocalStorage`] keeps a home on local disk, jailed by the kernel
//! (`openat2` with `RESOLVE_IN_ROOT`), with positional I/O on open files.

mod local;

pub use local::{LocalFile, LocalStorage, MAX_READ};
