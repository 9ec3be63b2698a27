//! Ferry's core: the entities, value objects and rules shared by every front end
//! and back end. Nothing here performs I/O, spawns tasks or knows a framework.

pub mod admin;
pub mod error;
pub mod filesystem;
pub mod folder;
pub mod naming;
pub mod permission;
pub mod public_key;
pub mod quota;
pub mod secret;
pub mod user;
pub mod vpath;

pub use admin::{Admin, AdminFilters, AdminPermission};
pub use error::{Error, ErrorKind, Result};
pub use filesystem::{AzBlobConfig, FilesystemConfig, FsProvider, GcsConfig, S3Config};
pub use folder::{Folder, VirtualFolder};
pub use naming::{FolderName, Username};
pub use permission::{Permission, UserPermissions};
pub use public_key::{tidy_public_keys, validate_public_key};
pub use quota::{QuotaTracking, QuotaUsage, UsageMode};
pub use secret::{Secret, SecretStatus};
pub use user::{User, UserFilters, UserStatus};
pub use vpath::VirtualPath;
